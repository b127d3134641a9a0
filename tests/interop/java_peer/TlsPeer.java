/*
 * A Java TLS peer for tlsmachine's interop tests, with one of two providers:
 *
 * - --provider jsse (the default): the JDK's own TLS, SunJSSE; JDK only;
 * - --provider bc: Bouncy Castle's BCJSSE provider over BC's own TLS protocol code, with the BC
 *   provider for its crypto. Both are loaded by reflection, so this file compiles with the JDK
 *   alone; a BC run needs the jars (bcprov, bctls, bcutil) on the classpath.
 *
 * It is compiled at test time by tests/interop/java_peer.py and run as
 *
 *   java -cp DIR TlsPeer server --cert CHAIN.pem --key KEY.pem [options]
 *   java -cp DIR:bcprov.jar:bctls.jar:bcutil.jar TlsPeer client --provider bc --port N [options]
 *
 * It prints one JSON object per line on stdout:
 *
 *   {"event": "listening", "port": N}    a server listens on 127.0.0.1 (port 0 at bind time)
 *   {"event": "connection", ...}         per connection: what the provider negotiated (protocol,
 *                                        suite, ALPN, session id, resumed, peer certificate;
 *                                        with BC the SNI names the server was asked for), what
 *                                        it received, whether the peer closed with
 *                                        close_notify, or the error it ran into ("error"; with
 *                                        BC also "alert_sent" / "alert_received": the TLS alert
 *                                        BC sent or received, by its RFC name)
 *   {"event": "done"}                    at the end
 *
 * A server serves --connections connections one after the other, echoing until the client's
 * close_notify, then closes with its own. A client makes --connections connections to each
 * port with one SSLContext (so the provider offers the session of the previous one: with JSSE a
 * TLS 1.3 ticket, a TLS 1.2 session ID or ticket; with BCJSSE a TLS 1.2 session ID), sends
 * --message (or --size bytes) from a writer thread while it reads the echo, then closes. JSSE
 * half-closes (close_notify) and reads to the peer's close_notify; BCJSSE has no half-close
 * (its shutdownOutput() closes TCP without a close_notify), so close() sends close_notify and
 * closes. Neither has isResumed(): "resumed" is true when the session was created before the
 * handshake began (a resumed session keeps the creation time of the one it resumes). BCJSSE
 * 1.72 exports no keying material after the handshake (it clears the secrets when the
 * handshake completes), and JSSE 17 has no exporter API, so there is no exporter here.
 *
 * Options:
 *   --provider jsse|bc    the TLS provider (default jsse)
 *   --cert PEM --key PEM  a certificate chain and its PKCS#8 key (repeatable: several chains)
 *   --ca PEM              trust anchors; a client verifies the server's name --host (HTTPS
 *                         identification), a server verifies client certificates
 *   --protocols A,B       SSLParameters.setProtocols (TLSv1.3, TLSv1.2)
 *   --suites A,B          SSLParameters.setCipherSuites (IANA names); a client may take
 *                         several, one list per round of connections (see runClient)
 *   --groups A,B          the jdk.tls.namedGroups system property: JSSE reads it once, when
 *                         its classes load (it is set before); BCJSSE when an SSLContext is
 *                         initialised, so a BC client may take several, one per round (a new
 *                         SSLContext for each)
 *   --alpn A,B            SSLParameters.setApplicationProtocols
 *   --client-auth need|want|none
 *   --connections N       (default 1)
 *   --message TEXT        what a client sends (default "hello")
 *   --size N              a client sends N bytes of (i % 251) instead
 *   --key-limit N         JSSE: jdk.tls.keyLimits: JSSE sends a KeyUpdate after N bytes per key
 *   --host NAME           client: SNI and the name to verify (default localhost)
 *   --no-sni              client: send no server_name extension (still verify --host)
 *   --lockstep            client: write 16 KiB, read its echo, and so on, in one thread
 *   --renegotiate         JSSE client: startHandshake() again after the echo, then "again"
 *   --fresh               client: a new SSLContext per connection (no resumption)
 *   --no-tickets          JSSE: jdk.tls.server/client.enableSessionTicketExtension=false
 *   --timeout MS          socket timeout (default 10000)
 */

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
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

public final class TlsPeer {
    private static final List<String> FLAGS =
            List.of("--no-tickets", "--fresh", "--lockstep", "--renegotiate", "--no-sni");

    private final Map<String, List<String>> opts = new HashMap<>();
    private int timeout = 10000;

    /** --provider bc: the BC provider (crypto) and BCJSSE over it; both null for JSSE. */
    private Provider bc;
    private Provider bcjsse;
    /** --provider bc: BC's TlsFatalAlertReceived and TlsFatalAlert, AlertDescription.getName. */
    private Class<?> alertReceived;
    private Class<?> alertSent;
    private Method alertName;

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: TlsPeer server|client [--provider jsse|bc] [options]");
            System.exit(2);
        }
        TlsPeer peer = new TlsPeer();
        int status;
        try {
            peer.parse(args);
            peer.loadProvider();
            peer.configureProperties();
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

    // -- options and the provider ------------------------------------------------------------

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

    /** --provider bc: BC's classes, by reflection (JSSE runs need no BC jar), first in line. */
    private void loadProvider() throws Exception {
        String provider = opt("provider", "jsse");
        if (provider.equals("jsse")) {
            return;
        }
        if (!provider.equals("bc")) {
            throw new IllegalArgumentException("--provider jsse|bc, not " + provider);
        }
        bc = (Provider) Class.forName("org.bouncycastle.jce.provider.BouncyCastleProvider")
                .getConstructor().newInstance();
        bcjsse = (Provider) Class.forName("org.bouncycastle.jsse.provider.BouncyCastleJsseProvider")
                .getConstructor(Provider.class).newInstance(bc);
        Security.insertProviderAt(bc, 1);
        Security.insertProviderAt(bcjsse, 2);
        alertReceived = Class.forName("org.bouncycastle.tls.TlsFatalAlertReceived");
        alertSent = Class.forName("org.bouncycastle.tls.TlsFatalAlert");
        alertName = Class.forName("org.bouncycastle.tls.AlertDescription")
                .getMethod("getName", short.class);
    }

    /** System and security properties JSSE reads once, when its classes load: set them first. */
    private void configureProperties() {
        if (bc != null) {
            return;  // BCJSSE reads jdk.tls.namedGroups per SSLContext (see context)
        }
        String groups = opt("groups", null);
        if (groups != null) {
            System.setProperty("jdk.tls.namedGroups", groups);
        }
        if (opts.containsKey("no-tickets")) {
            System.setProperty("jdk.tls.server.enableSessionTicketExtension", "false");
            System.setProperty("jdk.tls.client.enableSessionTicketExtension", "false");
        }
        String limit = opt("key-limit", null);
        if (limit != null) {
            Security.setProperty("jdk.tls.keyLimits", "AES/GCM/NoPadding KeyUpdate " + limit
                    + ", ChaCha20-Poly1305 KeyUpdate " + limit);
        }
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

    private PrivateKey loadKey(String path) throws Exception {
        byte[] der = pemBlocks(path, "PRIVATE KEY").get(0);
        String[] algorithms = bc == null ? new String[] {"RSA", "EC", "EdDSA", "RSASSA-PSS"}
                : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"};
        Exception last = null;
        for (String algorithm : algorithms) {
            try {
                KeyFactory factory = bc == null ? KeyFactory.getInstance(algorithm)
                        : KeyFactory.getInstance(algorithm, bc);
                return factory.generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (Exception e) {
                last = e;
            }
        }
        throw new IllegalArgumentException("cannot load the key " + path, last);
    }

    private Certificate[] loadCerts(String path) throws Exception {
        CertificateFactory factory = bc == null ? CertificateFactory.getInstance("X.509")
                : CertificateFactory.getInstance("X.509", bc);
        try (InputStream in = Files.newInputStream(Paths.get(path))) {
            Collection<? extends Certificate> certs = factory.generateCertificates(in);
            return certs.toArray(new Certificate[0]);
        }
    }

    /** An empty PKCS#12 store (the BC provider's, with BC). */
    private KeyStore emptyStore() throws Exception {
        KeyStore store = bc == null ? KeyStore.getInstance("PKCS12")
                : KeyStore.getInstance("PKCS12", bc);
        store.load(null, null);
        return store;
    }

    /** A context of the provider; with BC, ``groups`` (if any) becomes jdk.tls.namedGroups
     * first (JSSE has read it once already: see configureProperties). */
    private SSLContext context(String groups) throws Exception {
        if (bc != null && groups != null) {
            System.setProperty("jdk.tls.namedGroups", groups);
        }
        KeyManagerFactory kmf = null;
        List<String> certs = all("cert");
        List<String> keys = all("key");
        if (certs.size() != keys.size()) {
            throw new IllegalArgumentException("--cert and --key must come in pairs");
        }
        if (!certs.isEmpty()) {
            KeyStore store = emptyStore();
            char[] password = "interop".toCharArray();
            for (int i = 0; i < certs.size(); i++) {
                store.setKeyEntry("key" + i, loadKey(keys.get(i)), password, loadCerts(certs.get(i)));
            }
            kmf = bcjsse == null ? KeyManagerFactory.getInstance("PKIX")
                    : KeyManagerFactory.getInstance("PKIX", bcjsse);
            kmf.init(store, password);
        }
        TrustManagerFactory tmf = null;
        String ca = opt("ca", null);
        if (ca != null) {
            KeyStore trust = emptyStore();
            Certificate[] anchors = loadCerts(ca);
            for (int i = 0; i < anchors.length; i++) {
                trust.setCertificateEntry("ca" + i, anchors[i]);
            }
            tmf = bcjsse == null ? TrustManagerFactory.getInstance("PKIX")
                    : TrustManagerFactory.getInstance("PKIX", bcjsse);
            tmf.init(trust);
        }
        SSLContext ctx = bcjsse == null ? SSLContext.getInstance("TLS")
                : SSLContext.getInstance("TLS", bcjsse);
        ctx.init(kmf == null ? null : kmf.getKeyManagers(),
                tmf == null ? null : tmf.getTrustManagers(), null);
        return ctx;
    }

    /** BC: what the last ClientHello's server_name asked for (the server's SNI matcher). */
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
            params.setNeedClientAuth(auth.equals("need"));
            if (auth.equals("want")) {
                params.setWantClientAuth(true);
            }
            if (bc != null) {
                params.setSNIMatchers(List.of(new NotingMatcher()));
            }
        } else {
            params.setEndpointIdentificationAlgorithm("HTTPS");
            if (opts.containsKey("no-sni")) {
                params.setServerNames(List.of());
            } else {
                // JSSE sends SNI by itself only for names with a dot: not for "localhost"
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

    /** The error, and with BC the TLS alert it sent or received with it (its RFC name). */
    private void putError(Map<String, Object> record, Throwable e) {
        record.put("error", describe(e));
        if (bc == null) {
            return;
        }
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            String key = alertReceived.isInstance(cause) ? "alert_received"
                    : alertSent.isInstance(cause) ? "alert_sent" : null;
            if (key != null) {
                try {
                    Object alert = cause.getClass().getMethod("getAlertDescription").invoke(cause);
                    record.putIfAbsent(key, alertName.invoke(null, alert));
                } catch (ReflectiveOperationException failure) {
                    record.putIfAbsent(key, describe(failure));
                }
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

    /** What the provider negotiated on this socket's session. */
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
        // no isResumed(): a full handshake makes a new session, created during the handshake;
        // a resumed one keeps the creation time of the session it resumes (a TLS 1.2 cached
        // session or ticket; JSSE's TLS 1.3 copies it from the ticket's session), which is
        // older than the start of this handshake
        record.put("resumed", session.getCreationTime() < started);
        if (bc != null) {
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
                    synchronized (requestedNames) {
                        requestedNames.clear();
                    }
                    socket.setSoTimeout(timeout);
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
     * session), a new context per round when --groups has several values (BC only: see
     * --groups).
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
                    exchange(socket, message, received, record);
                } catch (Exception e) {
                    putError(record, e);
                }
                putReceived(record, received.toByteArray());
            }  // close(): BCJSSE sends close_notify here (JSSE has sent it in exchange)
        } catch (Exception e) {
            putError(record, e);
        }
        record.put("port", port);
        return record;
    }

    /**
     * Write ``message`` from a thread while reading its echo (or in lockstep, one thread); then
     * with JSSE half-close and read to EOF (BCJSSE closes in connect: it has no half-close).
     */
    private void exchange(SSLSocket socket, byte[] message, ByteArrayOutputStream received,
            Map<String, Object> record) throws Exception {
        OutputStream out = socket.getOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[65536];
        if (opts.containsKey("lockstep")) {
            // one thread: each 16 KiB chunk, then its echo (JSSE 17 is not safe with a writer
            // thread while the reader thread answers a KeyUpdate: see test_java.py)
            for (int at = 0; at < message.length; at += 16384) {
                int size = Math.min(16384, message.length - at);
                out.write(message, at, size);
                out.flush();
                int want = received.size() + size;
                while (received.size() < want) {
                    int n = in.read(buf);
                    if (n < 0) {
                        if (bc != null) {
                            throw new EOFException("closed after " + received.size());
                        }
                        break;
                    }
                    received.write(buf, 0, n);
                }
            }
        } else {
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
        if (bc != null) {
            return;
        }
        if (opts.containsKey("renegotiate")) {
            // a second startHandshake(): TLS 1.2 renegotiation (a new ClientHello), TLS 1.3 a
            // KeyUpdate; then one more round trip on the connection
            try {
                socket.startHandshake();
                byte[] again = "again".getBytes(StandardCharsets.US_ASCII);
                out.write(again);
                out.flush();
                ByteArrayOutputStream echo = new ByteArrayOutputStream();
                while (echo.size() < again.length) {
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    echo.write(buf, 0, n);
                }
                record.put("renegotiate", echo.toString(StandardCharsets.ISO_8859_1));
            } catch (Exception e) {
                record.put("renegotiate_error", describe(e));
                return;
            }
        }
        // close_notify, then the peer's: TLS 1.3 half-close (RFC 8446 §6.1); in TLS 1.2 JSSE
        // closes both directions, so the read that follows may fail: that is not an error here
        socket.shutdownOutput();
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                received.write(buf, 0, n);
            }
            record.put("clean_close", true);
        } catch (Exception e) {
            record.put("clean_close", false);
            record.put("close_error", describe(e));
        }
    }
}
