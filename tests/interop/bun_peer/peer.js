'use strict';
// A BoringSSL interop peer for tlsmachine's tests, run by Bun (whose node:tls is BoringSSL).
//
//   bun run --no-install peer.js '<json config>'
//
// Built-ins only (node:tls, node:fs, node:crypto). Prints one JSON object per line:
//   {"event":"versions", ...process.versions}          first, always (mode "versions": only it)
//   {"event":"listening","port":N}                     a server, bound to 127.0.0.1 port 0
//   {"event":"connection", ...}                        one per connection, when it ends
//   {"event":"done"}                                   before a clean exit (status 0)
// Every wait is bounded: a per-connection timer and a global watchdog (cfg.timeoutMs).
//
// Config (all optional unless said): mode "server"|"client"; key, cert, ca (file paths);
// minVersion, maxVersion ("TLSv1.2"/"TLSv1.3"); ciphers (OpenSSL-style TLS 1.2 list);
// ecdhCurve (colon list, e.g. "X25519:P-256"); alpn (array); requestCert, rejectUnauthorized;
// noTickets (server: no RFC 5077/8446 tickets; Bun 1.4.5 has no server session-ID cache and
// emits no newSession/resumeSession events, so such a server never resumes);
// exporter {label, length, context (hex or null)}; connections (count); timeoutMs.
// Client only: port, servername, message (utf-8) or size (bytes of a fixed pattern), resume
// (offer the previous connection's session), renegotiate (ask for a TLS 1.2 renegotiation).
// Server: echoes what it receives until the client ends; client: sends, waits for the echo
// (cfg.expect bytes, default all it sent), then ends.

const tls = require('node:tls');
const fs = require('node:fs');
const crypto = require('node:crypto');

const cfg = JSON.parse(process.argv[2] || '{}');
const timeoutMs = cfg.timeoutMs || 10000;
const connections = cfg.connections || 1;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function fail(message) {
  out({ event: 'fatal', message: String(message) });
  process.exit(2);
}

const watchdog = setTimeout(() => fail(`watchdog: not done after ${timeoutMs * (connections + 1)} ms`),
  timeoutMs * (connections + 1));

out({ event: 'versions', ...process.versions });

function read(path) {
  return path ? fs.readFileSync(path) : undefined;
}

function pattern(size) {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = i % 251;
  return buf;
}

function tryCall(fn) {
  try {
    return fn();
  } catch (e) {
    return { error: String(e && e.message || e) };
  }
}

function peerCertSha256(socket) {
  const cert = tryCall(() => socket.getPeerCertificate(false));
  if (!cert || cert.error || !cert.raw) return null;
  return crypto.createHash('sha256').update(cert.raw).digest('hex');
}

// What this end negotiated, read while the connection is up.
function describe(socket) {
  const cipher = tryCall(() => socket.getCipher()) || {};
  const key = tryCall(() => socket.getEphemeralKeyInfo()) || {};
  const info = {
    version: tryCall(() => socket.getProtocol()),
    cipher: cipher.standardName || cipher.name || null,
    cipherName: cipher.name || null,
    group: key.name || null,
    keyType: key.type || null,
    resumed: tryCall(() => socket.isSessionReused()),
    alpn: socket.alpnProtocol || null,
    servername: socket.servername || null,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
    peerCertSha256: peerCertSha256(socket),
    ticket: (() => {
      const t = tryCall(() => socket.getTLSTicket());
      return Buffer.isBuffer(t) ? t.length > 0 : false;
    })(),
  };
  if (cfg.exporter) {
    const e = cfg.exporter;
    const context = e.context == null ? undefined : Buffer.from(e.context, 'hex');
    const material = tryCall(() => socket.exportKeyingMaterial(e.length, e.label, context));
    info.exporter = Buffer.isBuffer(material) ? material.toString('hex') : material;
  }
  return info;
}

function summary(buf) {
  return {
    receivedLength: buf.length,
    received: buf.length <= 4096 ? buf.toString('hex') : null,
    receivedSha256: crypto.createHash('sha256').update(buf).digest('hex'),
  };
}

function errorInfo(err) {
  if (!err) return null;
  return { message: String(err.message || err), code: err.code || null, reason: err.reason || null };
}

function commonOptions() {
  const o = {};
  if (cfg.key) o.key = read(cfg.key);
  if (cfg.cert) o.cert = read(cfg.cert);
  if (cfg.ca) o.ca = read(cfg.ca);
  if (cfg.minVersion) o.minVersion = cfg.minVersion;
  if (cfg.maxVersion) o.maxVersion = cfg.maxVersion;
  if (cfg.ciphers) o.ciphers = cfg.ciphers;
  if (cfg.ecdhCurve) o.ecdhCurve = cfg.ecdhCurve;
  if (cfg.alpn) o.ALPNProtocols = cfg.alpn;
  return o;
}

// -- server ---------------------------------------------------------------------------------

function server() {
  const options = commonOptions();
  options.requestCert = !!cfg.requestCert;
  options.rejectUnauthorized = !!cfg.rejectUnauthorized;
  if (cfg.noTickets) options.secureOptions = require('node:constants').SSL_OP_NO_TICKET || 0x4000;
  let done = 0;
  const finish = (record) => {
    out({ event: 'connection', index: done, ...record });
    done += 1;
    if (done >= connections) {
      srv.close();
      clearTimeout(watchdog);
      out({ event: 'done' });
      setTimeout(() => process.exit(0), 50);
    }
  };
  const srv = tls.createServer(options, (socket) => {
    let got = Buffer.alloc(0);
    let info = describe(socket);
    let error = null;
    let ended = false;
    const timer = setTimeout(() => {
      error = { message: 'timeout' };
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      socket.write(d);
    });
    socket.on('end', () => {
      ended = true;
      socket.end();
    });
    socket.on('error', (e) => {
      error = errorInfo(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      finish({ ...info, ...summary(got), clientEnded: ended, error });
    });
  });
  srv.on('tlsClientError', (e) => finish({ error: errorInfo(e) }));
  srv.on('error', (e) => fail(`server error: ${e.message}`));
  srv.listen(0, '127.0.0.1', () => out({ event: 'listening', port: srv.address().port }));
}

// -- client ---------------------------------------------------------------------------------

function client() {
  let session = undefined;
  const payload = cfg.size != null ? pattern(cfg.size) : Buffer.from(cfg.message ?? 'hello boringssl', 'utf8');
  const expect = cfg.expect != null ? cfg.expect : payload.length;

  const one = (index) => new Promise((resolve) => {
    const options = commonOptions();
    options.host = '127.0.0.1';
    options.port = cfg.port;
    const name = cfg.servername ?? 'localhost';
    // an IP address goes in no SNI (RFC 6066 §3); Node then checks the IP against the certificate
    if (require('node:net').isIP(name)) options.host = name;
    else options.servername = name;
    options.rejectUnauthorized = cfg.rejectUnauthorized !== false;
    if (cfg.resume && session) options.session = session;
    let got = Buffer.alloc(0);
    let info = null;
    let error = null;
    let tickets = 0;
    let renegotiated = null;
    let socket;
    try {
      socket = tls.connect(options, onConnect);
    } catch (e) {
      out({ event: 'connection', index, error: errorInfo(e) });
      resolve();
      return;
    }
    function onConnect() {
      info = describe(socket);
      let sent = false;
      const send = () => {
        if (sent) return;
        sent = true;
        if (payload.length) socket.write(payload);
        if (expect === 0) socket.end();
      };
      if (cfg.renegotiate) {
        const r = tryCall(() => socket.renegotiate({}, (err) => {
          renegotiated = err ? { error: errorInfo(err) } : { ok: true };
          send();
        }));
        if (r !== true && r !== undefined) renegotiated = { returned: r };
        if (r === false || (r && r.error)) send();
      } else {
        send();
      }
    }
    const timer = setTimeout(() => {
      error = { message: 'timeout' };
      socket.destroy();
    }, timeoutMs);
    socket.on('session', (s) => {
      tickets += 1;
      session = s;
    });
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= expect) socket.end();
    });
    socket.on('error', (e) => {
      error = errorInfo(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      out({ event: 'connection', index, ...(info || {}), ...summary(got), tickets, renegotiated, error });
      resolve();
    });
  });

  (async () => {
    for (let i = 0; i < connections; i++) await one(i);
    clearTimeout(watchdog);
    out({ event: 'done' });
    setTimeout(() => process.exit(0), 50);
  })();
}

if (cfg.mode === 'versions') {
  clearTimeout(watchdog);
  out({ event: 'done' });
} else if (cfg.mode === 'server') server();
else if (cfg.mode === 'client') client();
else fail(`unknown mode ${cfg.mode}`);
