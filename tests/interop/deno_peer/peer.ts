// A Deno (rustls) TLS peer for the interop tests (see ../deno_peer.py and ../test_deno.py).
//
// Deno's TLS (Deno.connectTls, Deno.listenTls) is rustls. This script uses Deno built-ins only
// (no imports), so it runs without a network:
//
//   deno run --no-config --no-lock --allow-net --allow-read peer.ts server|client|fetch [flags]
//
// and prints one JSON object per line on stdout:
//
//   {"event":"listening","port":N}       a server listens on 127.0.0.1, port 0 (chosen by the OS)
//   {"event":"connection",...}           per connection: the ALPN protocol rustls selected, the
//                                        SNI name a server saw, the bytes received (hex up to
//                                        64 KiB, always their length and SHA-256), how the
//                                        connection ended, or the error text
//   {"event":"done"}                     all connections finished
//
// Flags: --cert FILE --key FILE (PEM: the server's chain and key, or the client's certificate
// for mutual TLS), --ca FILE (client: the CA to verify with), --alpn P (repeatable),
// --connections N, --message TEXT, --repeat N (client: send the message N times),
// --port N (client), --server-name NAME (client: SNI and the name verified, default
// "localhost"; the TCP connection always goes to 127.0.0.1), --timeout SECONDS (every wait),
// --sni-hook (server: report the client's SNI name through Deno's SNI resolver hook; with it,
// every handshake gets its own rustls config, so nothing resumes).
//
// server: echo each connection until the client's close_notify, answer with ours, and exit
// after --connections. client: Deno.connectTls, send the message, read its echo, close with
// close_notify and wait for the server's. fetch: HTTPS GETs through one Deno.createHttpClient
// (one rustls ClientConfig, so later connections resume; see runFetch).
//
// rustls chooses versions, suites and groups itself; Deno does not say which it negotiated
// (TlsConn.handshake() resolves to {alpnProtocol} only), so the other end reports them.

type Record = { [key: string]: unknown };

interface Options {
  role: string;
  port: number;
  cert?: string;
  key?: string;
  ca?: string;
  alpn: string[];
  connections: number;
  message: string;
  repeat: number;
  serverName: string;
  timeout: number;
  sniHook: boolean;
}

const HEX_LIMIT = 65536;

function emit(record: Record): void {
  console.log(JSON.stringify(record));
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    role: argv[0] ?? "",
    port: 0,
    alpn: [],
    connections: 1,
    message: "hello",
    repeat: 1,
    serverName: "localhost",
    timeout: 10,
    sniHook: false,
  };
  for (let i = 1; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--sni-hook") {
      options.sniHook = true;
      i -= 1;
      continue;
    }
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case "--port":
        options.port = Number(value);
        break;
      case "--cert":
        options.cert = value;
        break;
      case "--key":
        options.key = value;
        break;
      case "--ca":
        options.ca = value;
        break;
      case "--alpn":
        options.alpn.push(value);
        break;
      case "--connections":
        options.connections = Number(value);
        break;
      case "--message":
        options.message = value;
        break;
      case "--repeat":
        options.repeat = Number(value);
        break;
      case "--server-name":
        options.serverName = value;
        break;
      case "--timeout":
        options.timeout = Number(value);
        break;
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  if (!["server", "client", "fetch"].includes(options.role)) {
    throw new Error("usage: peer.ts server|client|fetch [flags]");
  }
  return options;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** ``promise``, or a rejection after ``seconds`` (the caller then closes the connection). */
function bounded<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class Received {
  chunks: Uint8Array[];
  length: number;

  constructor(chunks: Uint8Array[] = []) {
    this.chunks = chunks;
    this.length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  add(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const all = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    return all;
  }

  async describe(record: Record): Promise<void> {
    const all = this.bytes();
    record.received_len = all.length;
    record.received_sha256 = await sha256(all);
    if (all.length <= HEX_LIMIT) record.received = hex(all);
  }
}

/** One read (bounded): the bytes, or null at the end of the stream. */
async function readOnce(conn: Deno.TlsConn, buf: Uint8Array, timeout: number) {
  const n = await bounded(conn.read(buf), timeout, "read");
  return n === null ? null : buf.slice(0, n);
}

async function writeAll(conn: Deno.TlsConn, data: Uint8Array, timeout: number): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += await bounded(conn.write(data.subarray(offset)), timeout, "write");
  }
}

function closeQuietly(conn: Deno.TlsConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

// -- server ---------------------------------------------------------------------------------------

async function serve(options: Options): Promise<void> {
  if (!options.cert || !options.key) throw new Error("server: --cert and --key are needed");
  const cert = Deno.readTextFileSync(options.cert);
  const key = Deno.readTextFileSync(options.key);
  const serverNames: string[] = [];
  // the SNI resolver (Deno's own hook, used by node:tls) shows which name each client sent
  const resolver = Symbol.for("unstableSniResolver");
  const listenOptions = {
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    alpnProtocols: options.alpn.length ? options.alpn : undefined,
  };
  if (options.sniHook) {
    Object.assign(listenOptions, {
      [resolver]: (name: string) => {
        serverNames.push(name);
        return { cert, key };
      },
    });
  }
  const listener = Deno.listenTls(listenOptions);
  emit({ event: "listening", port: (listener.addr as Deno.NetAddr).port });
  const buf = new Uint8Array(65536);
  for (let i = 0; i < options.connections; i++) {
    const conn = await bounded(listener.accept(), options.timeout, "accept");
    const record: Record = { event: "connection" };
    const received = new Received();
    serverNames.length = 0;
    try {
      const info = await bounded(conn.handshake(), options.timeout, "handshake");
      record.alpn = info.alpnProtocol;
      record.server_name = serverNames[0] ?? null;
      while (true) {
        const chunk = await readOnce(conn, buf, options.timeout);
        if (chunk === null) break; // the client's close_notify (rustls: a bare EOF is an error)
        received.add(chunk);
        await writeAll(conn, chunk, options.timeout);
      }
      record.clean_close = true;
      await bounded(conn.closeWrite(), options.timeout, "closeWrite"); // our close_notify
    } catch (error) {
      record.error = errorText(error);
      record.server_name ??= serverNames[0] ?? null;
    } finally {
      closeQuietly(conn);
    }
    await received.describe(record);
    emit(record);
  }
  listener.close();
}

// -- client ---------------------------------------------------------------------------------------

async function runClient(options: Options): Promise<void> {
  const caCerts = options.ca ? [Deno.readTextFileSync(options.ca)] : [];
  const keyPair = options.cert && options.key
    ? { cert: Deno.readTextFileSync(options.cert), key: Deno.readTextFileSync(options.key) }
    : {};
  const message = new TextEncoder().encode(options.message.repeat(options.repeat));
  const buf = new Uint8Array(65536);
  for (let i = 0; i < options.connections; i++) {
    const record: Record = { event: "connection" };
    const received = new Received();
    let conn: Deno.TlsConn | undefined;
    try {
      // TCP to 127.0.0.1 while the SNI name and the name verified are --server-name (Deno's
      // hook for node:tls's servername; the documented API would resolve the name instead)
      const connectOptions = {
        hostname: "127.0.0.1",
        port: options.port,
        caCerts,
        alpnProtocols: options.alpn.length ? options.alpn : undefined,
        autoSelectFamily: false,
        ...keyPair,
        [Symbol.for("unstableServerName")]: options.serverName,
      };
      conn = await bounded(Deno.connectTls(connectOptions), options.timeout, "connect");
      const info = await bounded(conn.handshake(), options.timeout, "handshake");
      record.alpn = info.alpnProtocol;
      // send and read the echo at the same time (a large message would fill both windows)
      const sending = writeAll(conn, message, options.timeout);
      while (received.length < message.length) {
        const chunk = await readOnce(conn, buf, options.timeout);
        if (chunk === null) break;
        received.add(chunk);
      }
      await sending;
      await bounded(conn.closeWrite(), options.timeout, "closeWrite"); // our close_notify
      // the server's close_notify ends the stream; a bare EOF or anything else is an error
      const rest = await readOnce(conn, buf, options.timeout);
      if (rest !== null) {
        received.add(rest);
        record.error = "data after the echo";
      } else {
        record.clean_close = true;
      }
    } catch (error) {
      record.error = errorText(error);
    } finally {
      if (conn) closeQuietly(conn);
    }
    await received.describe(record);
    emit(record);
  }
}

// -- fetch: one rustls ClientConfig for every connection ------------------------------------------

async function runFetch(options: Options): Promise<void> {
  // Deno.connectTls builds a new rustls ClientConfig (and so a new session store) for each
  // connection, so its connections never resume. An HttpClient keeps one ClientConfig: with
  // no idle connections kept, each fetch makes a new connection that can resume the session
  // of the one before. The URL's host is 127.0.0.1 (verified against the certificate's IP
  // address; rustls sends no SNI for an IP address). Deno's "tcp" proxy, which would let the
  // URL name "localhost", sends the request in plaintext.
  const caCerts = options.ca ? [Deno.readTextFileSync(options.ca)] : [];
  const keyPair = options.cert && options.key
    ? { cert: Deno.readTextFileSync(options.cert), key: Deno.readTextFileSync(options.key) }
    : {};
  const client = Deno.createHttpClient({
    caCerts,
    ...keyPair,
    http2: false,
    poolMaxIdlePerHost: 0,
  });
  try {
    for (let i = 0; i < options.connections; i++) {
      const record: Record = { event: "connection" };
      const url = `https://127.0.0.1:${options.port}/fetch-${i}`;
      try {
        const signal = AbortSignal.timeout(options.timeout * 1000);
        const response = await fetch(url, { client, signal });
        record.status = response.status;
        const body = new Uint8Array(await response.arrayBuffer());
        await new Received([body]).describe(record);
      } catch (error) {
        record.error = errorText(error);
      }
      emit(record);
    }
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const options = parseArgs(Deno.args);
  // a watchdog: whatever happens, the process ends (every wait is bounded by --timeout too)
  const limit = options.timeout * (options.connections + 2) * 1000;
  const watchdog = setTimeout(() => {
    emit({ event: "error", error: `watchdog: still running after ${limit} ms` });
    Deno.exit(3);
  }, limit);
  try {
    if (options.role === "server") await serve(options);
    else if (options.role === "fetch") await runFetch(options);
    else await runClient(options);
    emit({ event: "done" });
  } catch (error) {
    emit({ event: "error", error: errorText(error) });
    Deno.exit(2);
  } finally {
    clearTimeout(watchdog);
  }
}

await main();
