// Command gopeer is Go's crypto/tls as a peer for tlsmachine's interop tests
// (tests/interop/test_go.py builds it at test time with the standard library only).
//
//	gopeer server [flags]   listen on 127.0.0.1:0, serve -n connections one after the other
//	                        (echoing until the client's close_notify), then exit
//	gopeer client [flags]   make -n connections to 127.0.0.1:-port, sharing one session cache
//	                        (so the second one resumes), each sending -message (repeated to
//	                        -size bytes), reading its echo and closing with close_notify
//
// It prints one JSON object per line on stdout: {"event": "listening", "port": N} once a
// server listens, then {"event": "connection", ...} per connection with what crypto/tls
// negotiated (version, cipher suite, DidResume, ALPN, SNI, 32 bytes exported with -label and
// no context, and also with -context if given, the peer's certificate), what it received,
// whether the peer closed with close_notify, or the error and the stage it happened in. Every
// socket operation has a deadline (-timeout).
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

var versions = map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

var versionNames = map[uint16]string{
	tls.VersionTLS10: "TLSv1",
	tls.VersionTLS11: "TLSv1.1",
	tls.VersionTLS12: "TLSv1.2",
	tls.VersionTLS13: "TLSv1.3",
}

// curves uses the IANA group names, as tlsmachine does.
var curves = map[string]tls.CurveID{
	"x25519":    tls.X25519,
	"secp256r1": tls.CurveP256,
	"secp384r1": tls.CurveP384,
	"secp521r1": tls.CurveP521,
}

var clientAuths = map[string]tls.ClientAuthType{
	"none":               tls.NoClientCert,
	"request":            tls.RequestClientCert,
	"require-any":        tls.RequireAnyClientCert,
	"verify-if-given":    tls.VerifyClientCertIfGiven,
	"require-and-verify": tls.RequireAndVerifyClientCert,
}

type options struct {
	role       string
	port       int
	minVersion string
	maxVersion string
	ciphers    string
	curves     string
	alpn       string
	cert       string
	key        string
	ca         string
	clientAuth string
	serverName string
	n          int
	noTickets  bool
	noCache    bool
	message    string
	size       int
	label      string
	context    *string
	timeout    time.Duration
}

func emit(record map[string]any) {
	line, err := json.Marshal(record)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(line))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gopeer: "+format+"\n", args...)
	os.Exit(2)
}

func split(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

func cipherID(name string) uint16 {
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if s.Name == name {
			return s.ID
		}
	}
	fail("unknown cipher suite %q", name)
	return 0
}

func config(o *options) *tls.Config {
	cfg := &tls.Config{
		MinVersion:             versions[o.minVersion],
		MaxVersion:             versions[o.maxVersion],
		NextProtos:             split(o.alpn),
		ServerName:             o.serverName,
		SessionTicketsDisabled: o.noTickets,
	}
	if cfg.MinVersion == 0 || cfg.MaxVersion == 0 {
		fail("versions are 1.2 or 1.3")
	}
	for _, name := range split(o.ciphers) {
		cfg.CipherSuites = append(cfg.CipherSuites, cipherID(name))
	}
	for _, name := range split(o.curves) {
		id, ok := curves[name]
		if !ok {
			fail("unknown curve %q", name)
		}
		cfg.CurvePreferences = append(cfg.CurvePreferences, id)
	}
	if o.cert != "" {
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			fail("loading %s / %s: %v", o.cert, o.key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			fail("reading %s: %v", o.ca, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail("no certificates in %s", o.ca)
		}
		cfg.RootCAs, cfg.ClientCAs = pool, pool
	}
	auth, ok := clientAuths[o.clientAuth]
	if !ok {
		fail("unknown client auth mode %q", o.clientAuth)
	}
	cfg.ClientAuth = auth
	if o.role == "client" && !o.noCache {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(16)
	}
	return cfg
}

// describe records what crypto/tls negotiated on a connection whose handshake completed.
func describe(record map[string]any, conn *tls.Conn, o *options) {
	state := conn.ConnectionState()
	record["version"] = versionNames[state.Version]
	record["cipher_suite"] = tls.CipherSuiteName(state.CipherSuite)
	record["did_resume"] = state.DidResume
	record["alpn"] = state.NegotiatedProtocol
	record["server_name"] = state.ServerName
	if ekm, err := state.ExportKeyingMaterial(o.label, nil, 32); err == nil {
		record["exporter"] = hex.EncodeToString(ekm)
	} else {
		record["exporter_error"] = err.Error()
	}
	if o.context != nil {
		context, err := hex.DecodeString(*o.context)
		if err != nil {
			fail("-context: %v", err)
		}
		if ekm, err := state.ExportKeyingMaterial(o.label, context, 32); err == nil {
			record["exporter_context"] = hex.EncodeToString(ekm)
		} else {
			record["exporter_error"] = err.Error()
		}
	}
	if len(state.PeerCertificates) > 0 {
		leaf := state.PeerCertificates[0]
		digest := sha256.Sum256(leaf.Raw)
		record["peer_subject"] = leaf.Subject.String()
		record["peer_cert_sha256"] = hex.EncodeToString(digest[:])
		record["peer_chain_length"] = len(state.PeerCertificates)
	}
}

func received(record map[string]any, data []byte) {
	digest := sha256.Sum256(data)
	record["received_len"] = len(data)
	record["received_sha256"] = hex.EncodeToString(digest[:])
	if len(data) <= 65536 {
		record["received"] = hex.EncodeToString(data)
	}
}

func failed(record map[string]any, stage string, err error) {
	record["stage"] = stage
	record["error"] = err.Error()
}

// -- server ---------------------------------------------------------------------------------

func serve(o *options) {
	cfg := config(o)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	defer listener.Close()
	emit(map[string]any{"event": "listening", "port": listener.Addr().(*net.TCPAddr).Port})
	for i := 0; i < o.n; i++ {
		if err := listener.(*net.TCPListener).SetDeadline(time.Now().Add(o.timeout)); err != nil {
			fail("deadline: %v", err)
		}
		raw, err := listener.Accept()
		if err != nil {
			emit(map[string]any{"event": "connection", "index": i, "stage": "accept", "error": err.Error()})
			os.Exit(1)
		}
		emit(serveOne(raw, cfg, o, i))
	}
}

func serveOne(raw net.Conn, cfg *tls.Config, o *options, index int) map[string]any {
	record := map[string]any{"event": "connection", "index": index}
	defer raw.Close()
	if err := raw.SetDeadline(time.Now().Add(o.timeout)); err != nil {
		failed(record, "deadline", err)
		return record
	}
	conn := tls.Server(raw, cfg)
	if err := conn.Handshake(); err != nil {
		failed(record, "handshake", err)
		return record
	}
	describe(record, conn, o)
	var data []byte
	buf := make([]byte, 65536)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			data = append(data, buf[:n]...)
			if _, werr := conn.Write(buf[:n]); werr != nil {
				failed(record, "write", werr)
				break
			}
		}
		if errors.Is(err, io.EOF) {
			record["clean_close"] = true // the client's close_notify
			if cerr := conn.Close(); cerr != nil {
				failed(record, "close", cerr)
			}
			break
		}
		if err != nil {
			record["clean_close"] = false
			failed(record, "read", err)
			break
		}
	}
	received(record, data)
	return record
}

// -- client ---------------------------------------------------------------------------------

func message(o *options) []byte {
	if o.size <= 0 {
		return []byte(o.message)
	}
	if o.message == "" {
		fail("-size needs a -message to repeat")
	}
	return bytes.Repeat([]byte(o.message), o.size/len(o.message)+1)[:o.size]
}

func runClient(o *options) {
	cfg := config(o)
	payload := message(o)
	for i := 0; i < o.n; i++ {
		emit(clientOne(cfg, o, payload, i))
	}
}

func clientOne(cfg *tls.Config, o *options, payload []byte, index int) map[string]any {
	record := map[string]any{"event": "connection", "index": index}
	raw, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", o.port), o.timeout)
	if err != nil {
		failed(record, "connect", err)
		return record
	}
	defer raw.Close()
	if err := raw.SetDeadline(time.Now().Add(o.timeout)); err != nil {
		failed(record, "deadline", err)
		return record
	}
	conn := tls.Client(raw, cfg)
	if err := conn.Handshake(); err != nil {
		failed(record, "handshake", err)
		return record
	}
	describe(record, conn, o)
	// write in the background while reading the echo, so large messages cannot deadlock
	written := make(chan error, 1)
	go func() {
		_, err := conn.Write(payload)
		written <- err
	}()
	data := make([]byte, 0, len(payload))
	buf := make([]byte, 65536)
	var readErr error
	for len(data) < len(payload) {
		n, err := conn.Read(buf)
		data = append(data, buf[:n]...)
		if err != nil {
			readErr = err
			break
		}
	}
	received(record, data)
	if werr := <-written; werr != nil {
		failed(record, "write", werr)
		return record
	}
	if readErr != nil {
		failed(record, "read", readErr)
		return record
	}
	// DidResume and the session cache see the tickets that came before the echo
	record["did_resume"] = conn.ConnectionState().DidResume
	if err := conn.CloseWrite(); err != nil { // our close_notify
		failed(record, "close", err)
		return record
	}
	n, err := conn.Read(buf)
	if n > 0 {
		record["extra_bytes"] = n
	}
	switch {
	case errors.Is(err, io.EOF):
		record["clean_close"] = true // the server's close_notify
	case err != nil:
		record["clean_close"] = false
		failed(record, "close", err)
	}
	return record
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "server" && os.Args[1] != "client") {
		fail("usage: gopeer server|client [flags]")
	}
	o := &options{role: os.Args[1]}
	flags := flag.NewFlagSet(o.role, flag.ExitOnError)
	flags.IntVar(&o.port, "port", 0, "client: the server's port on 127.0.0.1")
	flags.StringVar(&o.minVersion, "min", "1.2", "minimum version: 1.2 or 1.3")
	flags.StringVar(&o.maxVersion, "max", "1.3", "maximum version: 1.2 or 1.3")
	flags.StringVar(&o.ciphers, "ciphers", "", "TLS 1.2 cipher suites (IANA names), comma-separated")
	flags.StringVar(&o.curves, "curves", "", "CurvePreferences (x25519,secp256r1,...); a client sends a key share for the first")
	flags.StringVar(&o.alpn, "alpn", "", "ALPN protocols, comma-separated")
	flags.StringVar(&o.cert, "cert", "", "certificate chain (PEM)")
	flags.StringVar(&o.key, "key", "", "private key (PEM)")
	flags.StringVar(&o.ca, "ca", "", "trust anchors (PEM): RootCAs and ClientCAs")
	flags.StringVar(&o.clientAuth, "client-auth", "none", "server: none, request, require-any, verify-if-given, require-and-verify")
	flags.StringVar(&o.serverName, "server-name", "localhost", "client: SNI and the name to verify")
	flags.IntVar(&o.n, "n", 1, "connections (a client shares one session cache among them)")
	flags.BoolVar(&o.noTickets, "no-tickets", false, "SessionTicketsDisabled")
	flags.BoolVar(&o.noCache, "no-cache", false, "client: no ClientSessionCache")
	flags.StringVar(&o.message, "message", "hello", "client: what to send")
	flags.IntVar(&o.size, "size", 0, "client: repeat -message to this many bytes")
	flags.StringVar(&o.label, "label", "EXPORTER-tlsmachine-interop", "exporter label (32 bytes, no context)")
	flags.Func("context", "also export with this context (hex; -context= for the empty one)", func(v string) error {
		o.context = &v
		return nil
	})
	flags.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline for each connection")
	if err := flags.Parse(os.Args[2:]); err != nil {
		fail("%v", err)
	}
	if o.role == "server" {
		serve(o)
	} else {
		if o.port == 0 {
			fail("client: -port is required")
		}
		runClient(o)
	}
}
