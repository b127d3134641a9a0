/*
 * A Bouncy Castle TLS peer (the BCJSSE provider over BC's own TLS protocol code, with the BC
 * provider for its crypto) for tlsmachine's interop tests. It is compiled at test time by
 * tests/interop/bc_peer.py with the Debian jars (bcprov, bctls, bcutil) on the classpath and run
 * as
 *
 *   java -cp DIR:bcprov.jar:bctls.jar:bcutil.jar BcPeer server --cert CHAIN.pem --key KEY.pem ...
 *   java -cp DIR:bcprov.jar:bctls.jar:bcutil.jar BcPeer client --port N[,N...] [options]
 *
 * It prints one JSON object per line on stdout:
 *
 *   {"event": "listening", "port": N}    a server listens on 127.0.0.1 (port 0 at bind time)
 *   {"event": "connection", ...}         per connection: what BCJSSE negotiated (protocol,
 *                                        suite, ALPN, session id, resumed, the SNI names the
 *                                        server was asked for, the peer's certificate), what it
 *                                        received, whether the peer closed with close_notify,
 *                                        or the error it ran into
 *                                        ("error", with "alert_sent" / "alert_received": the
 *                                        TLS alert BC sent or received, by its RFC name)
 *   {"event": "done"}                    at the end
 *
 * A server serves --connections connections one after the other, echoing until the client's
 * close_notify, then closes with its own. A client makes --connections connections to each
 * port with one SSLContext (BCJSSE offers the session of the previous one: a TLS 1.2 session
 * ID), sends --message (or --size bytes) from a writer thread while it reads the echo, then
 * closes: BCJSSE has no half-close (its shutdownOutput() closes TCP without a close_notify), so
 * close() sends close_notify and closes. "resumed" is true when the session was created before
 * the handshake began (a resumed session keeps the creation time of the one it resumes).
 * BCJSSE 1.72 exports no keying material after the handshake (it clears the secrets when the
 * handshake completes), so there is no exporter here.
 *
 * Options:
 *   --cert PEM --key PEM  a certificate chain and its PKCS#8 key (repeatable: several chains)
 *   --ca PEM              trust anchors; a client verifies the server's name --host (HTTPS
 *                         identification), a server verifies client certificates
 *   --protocols A,B       SSLParameters.setProtocols (TLSv1.3, TLSv1.2)
 *   --suites A,B          SSLParameters.setCipherSuites (IANA names); a client may take
 *                         several, one list per round of connections (see runClient)
 *   --groups A,B          the jdk.tls.namedGroups system property, which BCJSSE reads when an
 *                         SSLContext is initialised; a client may take several, one per round
 *                         (a new SSLContext for each)
 *   --alpn A,B            SSLParameters.setApplicationProtocols
 *   --client-auth need|want|none
 *   --connections N       (default 1)
 *   --message TEXT        what a client sends (default "hello")
 *   --size N              a client sends N bytes of (i % 251) instead
 *   --host NAME           client: SNI and the name to verify (default localhost)
 *   --no-sni              client: send no server_name extension (still verify --host)
 *   --lockstep            client: write 16 KiB, read its echo, and so on, in one thread
 *   --fresh               client: a new SSLContext per connection (no resumption)
 *   --timeout MS          socket timeout (default 10000)
 */

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIMatcher;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.StandardConstants;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;

public final class BcPeer {
    private static final Provider BC = new BouncyCastleProvider();
    private static final Provider BCJSSE = new BouncyCastleJsseProvider(BC);

    private final Map<String, List<String>> opts = new HashMap<>();
    private int timeout = 10000;

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: BcPeer server|client [options]");
            System.exit(2);
        }
        Security.insertProviderAt(BC, 1);
        Security.insertProviderAt(BCJSSE, 2);
        BcPeer peer = new BcPeer();
        int status;
        try {
            peer.parse(args);
            status = args[0].equals("server") ? peer.serve() : peer.runClient();
        } catch (Exception e) {
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("event", "fatal");
            record.put("error", describe(e));
            emit(record);
            status = 1;
        }
        emit(Map.of("event", "done"));
        System.out.flush();
        System.exit(status);
    }

    // -- options -----------------------------------------------------------------------------

    private static final List<String> FLAGS = List.of("--fresh", "--lockstep", "--no-sni");

    private void parse(String[] args) {
        for (int i = 1; i < args.length; i++) {
            String name = args[i];
            if (!name.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + name);
            }
            String value = "true";
            if (!FLAGS.contains(name)) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                value = args[++i];
            }
            opts.computeIfAbsent(name.substring(2), k -> new ArrayList<>()).add(value);
        }
        timeout = Integer.parseInt(opt("timeout", "10000"));
    }

    private String opt(String name, String fallback) {
        List<String> values = opts.get(name);
        return values == null ? fallback : values.get(values.size() - 1);
    }

    private List<String> all(String name) {
        return opts.getOrDefault(name, List.of());
    }

    private static String[] split(String list) {
        return Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .toArray(String[]::new);
    }

    // -- keys and trust ----------------------------------------------------------------------

    private static List<byte[]> pemBlocks(String path, String kind) throws Exception {
        String text = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.US_ASCII);
        List<byte[]> blocks = new ArrayList<>();
        String begin = "-----BEGIN " + kind + "-----";
        String end = "-----END " + kind + "-----";
        int at = 0;
        while ((at = text.indexOf(begin, at)) >= 0) {
            int stop = text.indexOf(end, at);
            String body = text.substring(at + begin.length(), stop).replaceAll("\\s", "");
            blocks.add(Base64.getDecoder().decode(body));
            at = stop + end.length();
        }
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException("no " + kind + " in " + path);
        }
        return blocks;
    }

    private static PrivateKey loadKey(String path) throws Exception {
        byte[] der = pemBlocks(path, "PRIVATE KEY").get(0);
        Exception last = null;
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm, BC)
                        .generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (Exception e) {
                last = e;
            }
        }
        throw new IllegalArgumentException("cannot load the key " + path, last);
    }

    private static Certificate[] loadCerts(String path) throws Exception {
        CertificateFactory factory = CertificateFactory.getInstance("X.509", BC);
        try (InputStream in = Files.newInputStream(Paths.get(path))) {
            Collection<? extends Certificate> certs = factory.generateCertificates(in);
            return certs.toArray(new Certificate[0]);
        }
    }

    /** A BCJSSE context; ``groups`` (if any) becomes jdk.tls.namedGroups first. */
    private SSLContext context(String groups) throws Exception {
        if (groups != null) {
            System.setProperty("jdk.tls.namedGroups", groups);
        }
        KeyManagerFactory kmf = null;
        List<String> certs = all("cert");
        List<String> keys = all("key");
        if (certs.size() != keys.size()) {
            throw new IllegalArgumentException("--cert and --key must come in pairs");
        }
        if (!certs.isEmpty()) {
            KeyStore store = KeyStore.getInstance("PKCS12", BC);
            store.load(null, null);
            char[] password = "interop".toCharArray();
            for (int i = 0; i < certs.size(); i++) {
                store.setKeyEntry("key" + i, loadKey(keys.get(i)), password, loadCerts(certs.get(i)));
            }
            kmf = KeyManagerFactory.getInstance("PKIX", BCJSSE);
            kmf.init(store, password);
        }
        TrustManagerFactory tmf = null;
        String ca = opt("ca", null);
        if (ca != null) {
            KeyStore trust = KeyStore.getInstance("PKCS12", BC);
            trust.load(null, null);
            Certificate[] anchors = loadCerts(ca);
            for (int i = 0; i < anchors.length; i++) {
                trust.setCertificateEntry("ca" + i, anchors[i]);
            }
            tmf = TrustManagerFactory.getInstance("PKIX", BCJSSE);
            tmf.init(trust);
        }
        SSLContext ctx = SSLContext.getInstance("TLS", BCJSSE);
        ctx.init(kmf == null ? null : kmf.getKeyManagers(),
                tmf == null ? null : tmf.getTrustManagers(), null);
        return ctx;
    }

    /** What the last ClientHello's server_name asked for (the server's SNI matcher). */
    private final List<String> requestedNames = new ArrayList<>();

    /** Accepts any host name, noting it for the connection's record. */
    private final class NotingMatcher extends SNIMatcher {
        NotingMatcher() {
            super(StandardConstants.SNI_HOST_NAME);
        }

        @Override
        public boolean matches(SNIServerName name) {
            synchronized (requestedNames) {
                requestedNames.add(name instanceof SNIHostName
                        ? ((SNIHostName) name).getAsciiName() : name.toString());
            }
            return true;
        }
    }

    private void applyParameters(SSLParameters params, boolean server) {
        String protocols = opt("protocols", null);
        if (protocols != null) {
            params.setProtocols(split(protocols));
        }
        String suites = opt("suites", null);
        if (suites != null) {
            params.setCipherSuites(split(suites));
        }
        String alpn = opt("alpn", null);
        if (alpn != null) {
            params.setApplicationProtocols(split(alpn));
        }
        if (server) {
            String auth = opt("client-auth", "none");
            params.setSNIMatchers(List.of(new NotingMatcher()));
            params.setNeedClientAuth(auth.equals("need"));
            if (auth.equals("want")) {
                params.setWantClientAuth(true);
            }
        } else {
            params.setEndpointIdentificationAlgorithm("HTTPS");
            if (opts.containsKey("no-sni")) {
                params.setServerNames(List.of());
            } else {
                params.setServerNames(List.of(new SNIHostName(opt("host", "localhost"))));
            }
        }
    }

    // -- records -----------------------------------------------------------------------------

    static synchronized void emit(Map<String, ?> record) {
        StringBuilder out = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, ?> entry : record.entrySet()) {
            if (!first) {
                out.append(", ");
            }
            first = false;
            out.append(json(entry.getKey())).append(": ").append(json(entry.getValue()));
        }
        System.out.println(out.append('}'));
        System.out.flush();
    }

    private static String json(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Number || value instanceof Boolean) {
            return value.toString();
        }
        if (value instanceof List) {
            StringBuilder out = new StringBuilder("[");
            for (Object item : (List<?>) value) {
                if (out.length() > 1) {
                    out.append(", ");
                }
                out.append(json(item));
            }
            return out.append(']').toString();
        }
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toString().toCharArray()) {
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20 || c > 0x7e) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"').toString();
    }

    static String describe(Throwable e) {
        e.printStackTrace();  // stderr: the whole trace, for a failing test's output
        StringBuilder out = new StringBuilder(e.toString());
        for (Throwable cause = e.getCause(); cause != null && cause != cause.getCause();
                cause = cause.getCause()) {
            out.append(" / caused by ").append(cause);
        }
        return out.toString();
    }

    /** The error, and the TLS alert BC sent or received with it (its RFC name), if any. */
    static void putError(Map<String, Object> record, Throwable e) {
        record.put("error", describe(e));
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof TlsFatalAlertReceived) {
                short alert = ((TlsFatalAlertReceived) cause).getAlertDescription();
                record.putIfAbsent("alert_received", AlertDescription.getName(alert));
            } else if (cause instanceof TlsFatalAlert) {
                short alert = ((TlsFatalAlert) cause).getAlertDescription();
                record.putIfAbsent("alert_sent", AlertDescription.getName(alert));
            }
            if (cause == cause.getCause()) {
                break;
            }
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            out.append(String.format("%02x", b & 0xff));
        }
        return out.toString();
    }

    private static String sha256(byte[] data) throws Exception {
        return hex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    /** What BCJSSE negotiated on this socket's session. */
    private Map<String, Object> describe(SSLSocket socket, int index, long started)
            throws Exception {
        SSLSession session = socket.getSession();
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("event", "connection");
        record.put("index", index);
        record.put("protocol", session.getProtocol());
        record.put("cipher_suite", session.getCipherSuite());
        String alpn = socket.getApplicationProtocol();
        record.put("alpn", alpn == null || alpn.isEmpty() ? null : alpn);
        record.put("session_id", hex(session.getId()));
        record.put("creation_time", session.getCreationTime());
        // no isResumed(): a resumed session is the cached one, created before this handshake
        record.put("resumed", session.getCreationTime() < started);
        if (socket.getUseClientMode()) {
            record.put("sni", null);
        } else {
            // BCJSSE's established session has no getRequestedServerNames() (it throws
            // UnsupportedOperationException): the server's SNI matcher noted the names
            synchronized (requestedNames) {
                record.put("sni", new ArrayList<>(requestedNames));
                requestedNames.clear();
            }
        }
        try {
            Certificate[] peer = session.getPeerCertificates();
            X509Certificate leaf = (X509Certificate) peer[0];
            record.put("peer_subject", leaf.getSubjectX500Principal().getName());
            record.put("peer_cert_sha256", sha256(leaf.getEncoded()));
            record.put("peer_chain_length", peer.length);
        } catch (SSLPeerUnverifiedException e) {
            record.put("peer_subject", null);
        }
        Certificate[] local = session.getLocalCertificates();
        record.put("local_cert_sha256", local == null ? null : sha256(local[0].getEncoded()));
        return record;
    }

    private static void putReceived(Map<String, Object> record, byte[] data) throws Exception {
        record.put("received_length", data.length);
        record.put("received_sha256", sha256(data));
        if (data.length <= 512) {
            record.put("received", new String(data, StandardCharsets.ISO_8859_1));
        }
    }

    // -- server ------------------------------------------------------------------------------

    private int serve() throws Exception {
        SSLContext ctx = context(opt("groups", null));
        int connections = Integer.parseInt(opt("connections", "1"));
        try (SSLServerSocket listener = (SSLServerSocket) ctx.getServerSocketFactory()
                .createServerSocket()) {
            SSLParameters params = listener.getSSLParameters();
            applyParameters(params, true);
            listener.setSSLParameters(params);
            listener.setSoTimeout(timeout);
            listener.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            Map<String, Object> listening = new LinkedHashMap<>();
            listening.put("event", "listening");
            listening.put("port", listener.getLocalPort());
            emit(listening);
            for (int i = 0; i < connections; i++) {
                Map<String, Object> record = new LinkedHashMap<>();
                record.put("event", "connection");
                record.put("index", i);
                ByteArrayOutputStream received = new ByteArrayOutputStream();
                SSLSocket accepted;
                try {
                    accepted = (SSLSocket) listener.accept();
                } catch (java.net.SocketTimeoutException e) {
                    putError(record, e);
                    emit(record);
                    return 1;  // nobody came: no point waiting for the others
                }
                try (SSLSocket socket = accepted) {
                    socket.setSoTimeout(timeout);
                    synchronized (requestedNames) {
                        requestedNames.clear();
                    }
                    try {
                        long started = System.currentTimeMillis();
                        socket.startHandshake();
                        record = describe(socket, i, started);
                        InputStream in = socket.getInputStream();
                        OutputStream out = socket.getOutputStream();
                        byte[] buf = new byte[65536];
                        int n;
                        while ((n = in.read(buf)) >= 0) {
                            received.write(buf, 0, n);
                            out.write(buf, 0, n);
                            out.flush();
                        }
                        record.put("clean_close", true);  // read() == -1: close_notify
                    } catch (Exception e) {
                        putError(record, e);
                    }
                    putReceived(record, received.toByteArray());
                } catch (Exception e) {
                    putError(record, e);
                }
                emit(record);
            }
        }
        return 0;
    }

    // -- client ------------------------------------------------------------------------------

    private byte[] payload() {
        String size = opt("size", null);
        if (size == null) {
            return opt("message", "hello").getBytes(StandardCharsets.ISO_8859_1);
        }
        byte[] data = new byte[Integer.parseInt(size)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i % 251);
        }
        return data;
    }

    /**
     * The plan: --port (comma-separated), --suites and --groups (both repeatable) are zipped,
     * the shorter lists cycling, over the longest list's rounds; each round makes --connections
     * connections one after the other with one SSLContext (the later ones resume the earlier
     * session), a new context per round when --groups has several values.
     */
    private int runClient() throws Exception {
        String host = opt("host", "localhost");
        int connections = Integer.parseInt(opt("connections", "1"));
        boolean fresh = opts.containsKey("fresh");
        byte[] message = payload();
        String[] ports = split(opt("port", "0"));
        List<String> suitesList = all("suites").isEmpty() ? Arrays.asList((String) null)
                : all("suites");
        List<String> groupsList = all("groups").isEmpty() ? Arrays.asList((String) null)
                : all("groups");
        int rounds = Math.max(ports.length, Math.max(suitesList.size(), groupsList.size()));
        SSLContext ctx = context(groupsList.get(0));
        int index = 0;
        for (int r = 0; r < rounds; r++) {
            int port = Integer.parseInt(ports[r % ports.length]);
            String suites = suitesList.get(r % suitesList.size());
            if (groupsList.size() > 1 && r > 0) {
                ctx = context(groupsList.get(r % groupsList.size()));
            }
            for (int k = 0; k < connections; k++, index++) {
                if (fresh && index > 0) {
                    ctx = context(groupsList.get(r % groupsList.size()));  // no session to offer
                }
                emit(connect(ctx.getSocketFactory(), host, port, suites, message, index));
            }
        }
        return 0;
    }

    private Map<String, Object> connect(SSLSocketFactory factory, String host, int port,
            String suites, byte[] message, int index) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("event", "connection");
        record.put("index", index);
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        try (Socket raw = new Socket()) {
            raw.setSoTimeout(timeout);
            raw.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), timeout);
            // layered over a TCP socket to 127.0.0.1, named host (SNI, verification and the
            // session cache key: resumption needs the same host and port)
            try (SSLSocket socket = (SSLSocket) factory.createSocket(raw, host, port, true)) {
                SSLParameters params = socket.getSSLParameters();
                applyParameters(params, false);
                if (suites != null) {
                    params.setCipherSuites(split(suites));
                }
                socket.setSSLParameters(params);
                socket.setSoTimeout(timeout);
                try {
                    long started = System.currentTimeMillis();
                    socket.startHandshake();
                    record = describe(socket, index, started);
                    exchange(socket, message, received);
                } catch (Exception e) {
                    putError(record, e);
                }
                putReceived(record, received.toByteArray());
            }  // close(): BCJSSE sends close_notify
        } catch (Exception e) {
            putError(record, e);
        }
        record.put("port", port);
        return record;
    }

    /** Write ``message`` from a thread while reading its echo (or in lockstep, one thread). */
    private void exchange(SSLSocket socket, byte[] message, ByteArrayOutputStream received)
            throws Exception {
        OutputStream out = socket.getOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[65536];
        if (opts.containsKey("lockstep")) {
            for (int at = 0; at < message.length; at += 16384) {
                int size = Math.min(16384, message.length - at);
                out.write(message, at, size);
                out.flush();
                int want = received.size() + size;
                while (received.size() < want) {
                    int n = in.read(buf);
                    if (n < 0) {
                        throw new java.io.EOFException("closed after " + received.size());
                    }
                    received.write(buf, 0, n);
                }
            }
            return;
        }
        Throwable[] writeError = new Throwable[1];
        Thread writer = new Thread(() -> {
            try {
                for (int at = 0; at < message.length; at += 16384) {
                    out.write(message, at, Math.min(16384, message.length - at));
                }
                out.flush();
            } catch (Throwable e) {
                writeError[0] = e;
            }
        });
        writer.setDaemon(true);
        writer.start();
        while (received.size() < message.length) {
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            received.write(buf, 0, n);
        }
        writer.join(timeout);
        if (writeError[0] != null) {
            throw new Exception("write failed: " + describe(writeError[0]), writeError[0]);
        }
    }
}
