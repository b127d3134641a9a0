/*
 * wolfssl-peer: wolfSSL as a peer for tlsmachine's interop tests (tests/interop/test_wolfssl.py
 * compiles it at test time: gcc -O1 -Wall -Werror -o DIR/wolfssl-peer peer.c -lwolfssl).
 *
 *   wolfssl-peer server [options]   listen on 127.0.0.1:0, serve --connections connections one
 *                                   after the other (echoing until the client's close_notify)
 *   wolfssl-peer client [options]   make --connections connections to 127.0.0.1:--port, each
 *                                   resuming the session of the one before, sending --message
 *                                   (repeated to --size bytes) in chunks, reading each chunk's
 *                                   echo, then closing with close_notify
 *   wolfssl-peer features           print the "features" line only
 *
 * Options: --min/--max 1.2|1.3, --ciphers LIST (wolfSSL_CTX_set_cipher_list), --groups LIST
 * (IANA names, comma-separated: wolfSSL_CTX_set_groups), --key-shares LIST|none (client:
 * wolfSSL_NoKeyShares + wolfSSL_UseKeyShare), --cert/--key/--ca (PEM), --verify (server: a
 * client certificate is required), --verify-optional (server: asked for, verified if given),
 * --alpn LIST, --alpn-continue (server: no alert when nothing matches), --sni NAME (client,
 * also the name verified), --connections N, --message TEXT, --size N, --exporter LABEL,
 * --context HEX (also export with this context), --max-fragment (client: ask for 512-byte
 * records, RFC 6066 §4), --key-update (TLS 1.3: wolfSSL_update_keys after the handshake),
 * --renegotiate (wolfSSL_Rehandshake after the first echo), --tickets (client: TLS 1.2
 * session tickets), --no-tickets (server), --no-cache (server: no session-ID cache),
 * --no-ems (wolfSSL_CTX_DisableExtendedMasterSecret: a 5.5.4 server answers EMS anyway),
 * --hrr-cookie (server: a cookie in every HelloRetryRequest, wolfSSL_send_hrr_cookie),
 * --post-handshake-auth (TLS 1.3, RFC 8446 §4.6.2; client: wolfSSL_allow_post_handshake_auth;
 * server: wolfSSL_request_certificate after the first echo), --timeout SECONDS.
 *
 * It prints one JSON object per line: {"event":"listening","port":N} when a server listens,
 * {"event":"features",...} at start-up (version and what this build of wolfSSL offers), then
 * {"event":"connection",...} per connection: version, cipher (wolfSSL's and IANA names), curve,
 * resumed, alpn, exporter (32 bytes hex), peer certificate, received bytes, clean_close, or
 * stage/error/error_code/alert_rx/alert_tx. Every socket has SO_RCVTIMEO and SO_SNDTIMEO, so
 * nothing waits for ever; SIGTERM ends the program.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CHUNK 65536
#define MAX_HEX_RECEIVED 65536

struct options {
    int server;
    int port;
    const char *min, *max, *ciphers, *groups, *key_shares, *cert, *key, *ca, *alpn, *sni;
    const char *message, *exporter, *context;
    int verify, verify_optional, alpn_continue, connections, size, key_update, renegotiate;
    int tickets, no_tickets, no_cache, no_ems, hrr_cookie, max_fragment, pha, timeout;
};

/* -- output ---------------------------------------------------------------------------------- */

static char line[1 << 18];
static size_t used;

static void add(const char *format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line + used, sizeof line - used, format, args);
    va_end(args);
    if (n > 0)
        used += (size_t)n < sizeof line - used ? (size_t)n : sizeof line - used - 1;
}

static void add_string(const char *key, const char *value) {
    add(",\"%s\":\"", key);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p == '"' || *p == '\\')
            add("\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            add("\\u%04x", *p);
        else
            add("%c", *p);
    }
    add("\"");
}

static void add_hex(const char *key, const unsigned char *data, size_t len) {
    add(",\"%s\":\"", key);
    for (size_t i = 0; i < len; i++)
        add("%02x", data[i]);
    add("\"");
}

static void begin(const char *event) {
    used = 0;
    add("{\"event\":\"%s\"", event);
}

static void emit(void) {
    add("}");
    puts(line);
    fflush(stdout);
}

static void die(const char *format, ...) {
    va_list args;
    fputs("wolfssl-peer: ", stderr);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    exit(2);
}

static void on_sigterm(int signum) {
    (void)signum;
    _exit(143);
}

/* -- configuration --------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int id;
} group_names[] = {
    {"secp256r1", WOLFSSL_ECC_SECP256R1}, {"secp384r1", WOLFSSL_ECC_SECP384R1},
    {"secp521r1", WOLFSSL_ECC_SECP521R1}, {"x25519", WOLFSSL_ECC_X25519},
    {"x448", WOLFSSL_ECC_X448},           {"ffdhe2048", WOLFSSL_FFDHE_2048},
    {"ffdhe3072", WOLFSSL_FFDHE_3072},
};

static int group_id(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof group_names / sizeof group_names[0]; i++)
        if (strlen(group_names[i].name) == len && strncmp(group_names[i].name, name, len) == 0)
            return group_names[i].id;
    die("unknown group %.*s", (int)len, name);
    return 0;
}

/* Parse a comma-separated list of group names into ids; returns the count. */
static int parse_groups(const char *list, int *ids, int max) {
    int n = 0;
    while (*list) {
        const char *end = strchr(list, ',');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        if (n == max)
            die("too many groups");
        ids[n++] = group_id(list, len);
        list += len + (end ? 1 : 0);
    }
    return n;
}

static int version_number(const char *v) {
    if (strcmp(v, "1.2") == 0)
        return WOLFSSL_TLSV1_2;
    if (strcmp(v, "1.3") == 0)
        return WOLFSSL_TLSV1_3;
    die("versions are 1.2 or 1.3, not %s", v);
    return 0;
}

static WOLFSSL_CTX *make_context(const struct options *o) {
    int min = version_number(o->min), max = version_number(o->max);
    WOLFSSL_METHOD *method;
    if (max == WOLFSSL_TLSV1_2)
        method = o->server ? wolfTLSv1_2_server_method() : wolfTLSv1_2_client_method();
    else if (min == WOLFSSL_TLSV1_3)
        method = o->server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method();
    else
        method = o->server ? wolfSSLv23_server_method() : wolfSSLv23_client_method();
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(method);
    if (ctx == NULL)
        die("wolfSSL_CTX_new failed");
    if (min > max)
        die("--min above --max");
    if (wolfSSL_CTX_SetMinVersion(ctx, min) != WOLFSSL_SUCCESS)
        die("wolfSSL_CTX_SetMinVersion failed");
    if (o->ciphers && wolfSSL_CTX_set_cipher_list(ctx, o->ciphers) != WOLFSSL_SUCCESS)
        die("wolfSSL_CTX_set_cipher_list(%s) failed", o->ciphers);
    if (o->groups) {
        int ids[WOLFSSL_MAX_GROUP_COUNT];
        int n = parse_groups(o->groups, ids, WOLFSSL_MAX_GROUP_COUNT);
        if (wolfSSL_CTX_set_groups(ctx, ids, n) != WOLFSSL_SUCCESS)
            die("wolfSSL_CTX_set_groups(%s) failed", o->groups);
    }
    if (o->cert) {
        if (wolfSSL_CTX_use_certificate_chain_file(ctx, o->cert) != WOLFSSL_SUCCESS)
            die("loading the certificate chain %s failed", o->cert);
        if (wolfSSL_CTX_use_PrivateKey_file(ctx, o->key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
            die("loading the private key %s failed", o->key ? o->key : "(none)");
    }
    if (o->ca && wolfSSL_CTX_load_verify_locations(ctx, o->ca, NULL) != WOLFSSL_SUCCESS)
        die("loading the CA file %s failed", o->ca);
    int mode = WOLFSSL_VERIFY_NONE;
    if (!o->server)
        mode = WOLFSSL_VERIFY_PEER;
    else if (o->verify)
        mode = WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (o->verify_optional)
        mode = WOLFSSL_VERIFY_PEER;
    else if (o->pha)  // nothing asked in the handshake: wolfSSL_request_certificate later
        mode = WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT |
               WOLFSSL_VERIFY_POST_HANDSHAKE;
    wolfSSL_CTX_set_verify(ctx, mode, NULL);
    if (o->server && o->no_tickets) {
        wolfSSL_CTX_NoTicketTLSv12(ctx);
        wolfSSL_CTX_no_ticket_TLSv13(ctx);
    }
    if (o->server && o->no_cache)
        wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
    if (!o->server && o->tickets && wolfSSL_CTX_UseSessionTicket(ctx) != WOLFSSL_SUCCESS)
        die("wolfSSL_CTX_UseSessionTicket failed");
    if (o->no_ems && wolfSSL_CTX_DisableExtendedMasterSecret(ctx) != WOLFSSL_SUCCESS)
        die("wolfSSL_CTX_DisableExtendedMasterSecret failed");
    return ctx;
}

static WOLFSSL *make_ssl(WOLFSSL_CTX *ctx, const struct options *o, int fd) {
    WOLFSSL *ssl = wolfSSL_new(ctx);
    if (ssl == NULL)
        die("wolfSSL_new failed");
    if (wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS)
        die("wolfSSL_set_fd failed");
    if (o->alpn) {
        char list[256];
        snprintf(list, sizeof list, "%s", o->alpn);
        int mode = o->alpn_continue ? WOLFSSL_ALPN_CONTINUE_ON_MISMATCH
                                    : WOLFSSL_ALPN_FAILED_ON_MISMATCH;
        if (wolfSSL_UseALPN(ssl, list, (unsigned int)strlen(list), mode) != WOLFSSL_SUCCESS)
            die("wolfSSL_UseALPN(%s) failed", o->alpn);
    }
    if (!o->server && o->sni) {
        if (wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, o->sni, (unsigned short)strlen(o->sni)) !=
            WOLFSSL_SUCCESS)
            die("wolfSSL_UseSNI failed");
        if (wolfSSL_check_domain_name(ssl, o->sni) != WOLFSSL_SUCCESS)
            die("wolfSSL_check_domain_name failed");
    }
    if (!o->server && o->pha && wolfSSL_allow_post_handshake_auth(ssl) != 0)
        die("wolfSSL_allow_post_handshake_auth failed");
    if (!o->server && o->max_fragment &&
        wolfSSL_UseMaxFragment(ssl, WOLFSSL_MFL_2_9) != WOLFSSL_SUCCESS)
        die("wolfSSL_UseMaxFragment failed");
    if (o->server && o->hrr_cookie && wolfSSL_send_hrr_cookie(ssl, NULL, 0) != WOLFSSL_SUCCESS)
        die("wolfSSL_send_hrr_cookie failed");
    if (!o->server && o->key_shares) {
        if (wolfSSL_NoKeyShares(ssl) != WOLFSSL_SUCCESS)
            die("wolfSSL_NoKeyShares failed");
        if (strcmp(o->key_shares, "none") != 0) {
            int ids[WOLFSSL_MAX_GROUP_COUNT];
            int n = parse_groups(o->key_shares, ids, WOLFSSL_MAX_GROUP_COUNT);
            for (int i = 0; i < n; i++)
                if (wolfSSL_UseKeyShare(ssl, (word16)ids[i]) != WOLFSSL_SUCCESS)
                    die("wolfSSL_UseKeyShare(%d) failed", ids[i]);
        }
    }
    return ssl;
}

static void set_timeouts(int fd, int seconds) {
    struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        die("setsockopt: %s", strerror(errno));
}

/* -- per-connection records ------------------------------------------------------------------ */

static void failed(WOLFSSL *ssl, const char *stage, int ret) {
    char text[WOLFSSL_MAX_ERROR_SZ];
    int err = ssl ? wolfSSL_get_error(ssl, ret) : ret;
    add_string("stage", stage);
    add(",\"error_code\":%d", err);
    add_string("error", wolfSSL_ERR_error_string((unsigned long)err, text));
    if (ssl) {
        WOLFSSL_ALERT_HISTORY history;
        if (wolfSSL_get_alert_history(ssl, &history) == WOLFSSL_SUCCESS)
            add(",\"alert_rx\":%d,\"alert_tx\":%d", history.last_rx.code, history.last_tx.code);
    }
}

/* The SHA-256 of the peer's leaf as received (SESSION_CERTS; also where wolfSSL keeps no
 * X509, as for Ed25519), under ``key``; the chain, or NULL if the peer sent none. */
static WOLFSSL_X509_CHAIN *add_peer_chain(WOLFSSL *ssl, const char *key) {
    WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain(ssl);
    if (chain == NULL || wolfSSL_get_chain_count(chain) <= 0)
        return NULL;
    unsigned char digest[32];
    const unsigned char *der = wolfSSL_get_chain_cert(chain, 0);
    int der_len = wolfSSL_get_chain_length(chain, 0);
    if (der && der_len > 0 && wc_Sha256Hash(der, (word32)der_len, digest) == 0)
        add_hex(key, digest, sizeof digest);
    return chain;
}

static void describe(WOLFSSL *ssl, const struct options *o) {
    add_string("version", wolfSSL_get_version(ssl));
    add_string("cipher", wolfSSL_get_cipher_name(ssl));
    int suite = wolfSSL_get_current_cipher_suite(ssl);
    const char *iana = wolfSSL_get_cipher_name_iana_from_suite((byte)(suite >> 8), (byte)suite);
    if (iana)
        add_string("cipher_iana", iana);
    const char *curve = wolfSSL_get_curve_name(ssl);
    if (curve)
        add_string("curve", curve);
    add(",\"resumed\":%s", wolfSSL_session_reused(ssl) ? "true" : "false");
    char *protocol = NULL;
    unsigned short protocol_len = 0;
    if (wolfSSL_ALPN_GetProtocol(ssl, &protocol, &protocol_len) == WOLFSSL_SUCCESS && protocol) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)protocol_len, protocol);
        add_string("alpn", name);
    }
    if (o->exporter) {
        unsigned char out[32];
        int ret = wolfSSL_export_keying_material(ssl, out, sizeof out, o->exporter,
                                                 strlen(o->exporter), NULL, 0, 0);
        if (ret == WOLFSSL_SUCCESS)
            add_hex("exporter", out, sizeof out);
        else
            add(",\"exporter_error\":%d", ret);
    }
    if (o->exporter && o->context) {  // hex; "" is the empty context (RFC 5705 §4)
        unsigned char out[32], context[256];
        size_t len = strlen(o->context) / 2;
        if (len > sizeof context || strlen(o->context) % 2)
            die("--context: at most 256 bytes, in hex");
        for (size_t i = 0; i < len; i++) {
            unsigned int byte;
            if (sscanf(o->context + 2 * i, "%2x", &byte) != 1)
                die("--context: not hex");
            context[i] = (unsigned char)byte;
        }
        int ret = wolfSSL_export_keying_material(ssl, out, sizeof out, o->exporter,
                                                 strlen(o->exporter), context, len, 1);
        if (ret == WOLFSSL_SUCCESS)
            add_hex("exporter_context", out, sizeof out);
        else
            add(",\"exporter_context_error\":%d", ret);
    }
    int have_subject = 0;
    WOLFSSL_X509 *peer = wolfSSL_get_peer_certificate(ssl);
    if (peer) {
        char subject[512];
        if (wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(peer), subject,
                                      sizeof subject)) {
            add_string("peer_subject", subject);
            have_subject = 1;
        }
        wolfSSL_X509_free(peer);
    }
    WOLFSSL_X509_CHAIN *chain = add_peer_chain(ssl, "peer_cert_sha256");
    if (chain) {
        add(",\"peer_chain_length\":%d", wolfSSL_get_chain_count(chain));
        WOLFSSL_X509 *leaf = have_subject ? NULL : wolfSSL_get_chain_X509(chain, 0);
        if (leaf) {
            char subject[512];
            if (wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(leaf), subject,
                                          sizeof subject))
                add_string("peer_subject", subject);
            wolfSSL_X509_free(leaf);
        }
    }
}

static void add_received(const unsigned char *data, size_t len) {
    unsigned char digest[32];
    add(",\"received_len\":%zu", len);
    if (wc_Sha256Hash(data, (word32)len, digest) == 0)
        add_hex("received_sha256", digest, sizeof digest);
    if (len <= MAX_HEX_RECEIVED)
        add_hex("received", data, len);
}

static int key_update(WOLFSSL *ssl) {
    int ret = wolfSSL_update_keys(ssl);
    add(",\"key_update\":%d", ret);
    return ret == WOLFSSL_SUCCESS;
}

/* Try to renegotiate (TLS 1.2); what wolfSSL_Rehandshake returned is recorded, and the
 * connection goes on either way. */
static void renegotiate(WOLFSSL *ssl) {
    char text[WOLFSSL_MAX_ERROR_SZ];
    int ret = wolfSSL_Rehandshake(ssl);
    add(",\"renegotiate\":%d", ret);
    if (ret != WOLFSSL_SUCCESS)
        add_string("renegotiate_error", wolfSSL_ERR_error_string((unsigned long)ret, text));
}

/* -- server ---------------------------------------------------------------------------------- */

static void serve_one(WOLFSSL_CTX *ctx, const struct options *o, int fd, int index) {
    static unsigned char data[1 << 21];
    unsigned char buf[CHUNK];
    size_t len = 0;
    int renegotiated = 0, requested = 0;
    begin("connection");
    add(",\"index\":%d", index);
    set_timeouts(fd, o->timeout);
    WOLFSSL *ssl = make_ssl(ctx, o, fd);
    int ret = wolfSSL_accept(ssl);
    if (ret != WOLFSSL_SUCCESS) {
        failed(ssl, "handshake", ret);
        goto done;
    }
    describe(ssl, o);
    if (o->key_update && !key_update(ssl))
        goto done;
    for (;;) {
        int n = wolfSSL_read(ssl, buf, sizeof buf);
        if (n > 0) {
            size_t keep = (size_t)n < sizeof data - len ? (size_t)n : sizeof data - len;
            memcpy(data + len, buf, keep);
            len += keep;
            int w = wolfSSL_write(ssl, buf, n);
            if (w != n) {
                failed(ssl, "write", w);
                break;
            }
            if (o->renegotiate && !renegotiated) {
                renegotiated = 1;
                renegotiate(ssl);
            }
            if (o->pha && !requested) {  // TLS 1.3 post-handshake CertificateRequest
                requested = 1;
                add(",\"pha_request\":%d", wolfSSL_request_certificate(ssl));
            }
            continue;
        }
        if (wolfSSL_get_error(ssl, n) == WOLFSSL_ERROR_ZERO_RETURN) {
            add(",\"clean_close\":true");  // the client's close_notify: answer with ours
            wolfSSL_shutdown(ssl);
        } else {
            add(",\"clean_close\":false");
            failed(ssl, "read", n);
        }
        break;
    }
    if (o->pha)
        add_peer_chain(ssl, "pha_peer_cert_sha256");
    add_received(data, len);
done:
    wolfSSL_free(ssl);
    close(fd);
    emit();
}

static int serve(const struct options *o) {
    WOLFSSL_CTX *ctx = make_context(o);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, 16) != 0)
        die("listen: %s", strerror(errno));
    set_timeouts(listener, o->timeout);  // accept() gives up after SO_RCVTIMEO
    socklen_t addr_len = sizeof addr;
    if (getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0)
        die("getsockname: %s", strerror(errno));
    begin("listening");
    add(",\"port\":%d", ntohs(addr.sin_port));
    emit();
    for (int i = 0; i < o->connections; i++) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            begin("connection");
            add(",\"index\":%d", i);
            add_string("stage", "accept");
            add_string("error", strerror(errno));
            emit();
            return 1;
        }
        serve_one(ctx, o, fd, i);
    }
    close(listener);
    wolfSSL_CTX_free(ctx);
    return 0;
}

/* -- client ---------------------------------------------------------------------------------- */

static unsigned char *payload(const struct options *o, size_t *len) {
    size_t m = strlen(o->message);
    *len = o->size > 0 ? (size_t)o->size : m;
    if (m == 0)
        die("--message must not be empty");
    unsigned char *p = malloc(*len);
    if (p == NULL)
        die("out of memory");
    for (size_t i = 0; i < *len; i++)
        p[i] = (unsigned char)o->message[i % m];
    return p;
}

static WOLFSSL_SESSION *client_one(WOLFSSL_CTX *ctx, const struct options *o,
                                   WOLFSSL_SESSION *session, int index) {
    size_t len;
    unsigned char *out = payload(o, &len);
    unsigned char *in = malloc(len + CHUNK);
    size_t got = 0;
    WOLFSSL_SESSION *next = NULL;
    WOLFSSL *ssl = NULL;
    begin("connection");
    add(",\"index\":%d", index);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || in == NULL)
        die("socket: %s", strerror(errno));
    set_timeouts(fd, o->timeout);  // Linux: connect() honours SO_SNDTIMEO
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        add_string("stage", "connect");
        add_string("error", strerror(errno));
        goto done;
    }
    ssl = make_ssl(ctx, o, fd);
    if (session && wolfSSL_set_session(ssl, session) != WOLFSSL_SUCCESS)
        add(",\"set_session_failed\":true");
    int ret = wolfSSL_connect(ssl);
    if (ret != WOLFSSL_SUCCESS) {
        failed(ssl, "handshake", ret);
        goto done;
    }
    describe(ssl, o);
    if (o->key_update && !key_update(ssl))
        goto done;
    for (size_t sent = 0; sent < len;) {  // each chunk, then its echo: no buffer fills up
        int n = (int)(len - sent < CHUNK ? len - sent : CHUNK);
        int w = wolfSSL_write(ssl, out + sent, n);
        if (w != n) {
            failed(ssl, "write", w);
            goto received;
        }
        sent += (size_t)n;
        while (got < sent) {
            int r = wolfSSL_read(ssl, in + got, (int)(len + CHUNK - got));
            if (r <= 0) {
                failed(ssl, "read", r);
                goto received;
            }
            got += (size_t)r;
        }
        if (o->renegotiate && sent == (size_t)n)
            renegotiate(ssl);
    }
    add(",\"resumed_after_echo\":%s", wolfSSL_session_reused(ssl) ? "true" : "false");
    next = wolfSSL_get1_session(ssl);  // TLS 1.3: the tickets that came before the echo
    ret = wolfSSL_shutdown(ssl);        // our close_notify ...
    if (ret == WOLFSSL_SHUTDOWN_NOT_DONE)
        ret = wolfSSL_shutdown(ssl);  // ... and the server's
    if (ret == WOLFSSL_SUCCESS) {
        add(",\"clean_close\":true");
    } else {
        add(",\"clean_close\":false");
        failed(ssl, "close", ret);
    }
received:
    add_received(in, got);
done:
    if (ssl)
        wolfSSL_free(ssl);
    close(fd);
    free(out);
    free(in);
    emit();
    return next;
}

static int run_client(const struct options *o) {
    WOLFSSL_CTX *ctx = make_context(o);
    WOLFSSL_SESSION *session = NULL;
    for (int i = 0; i < o->connections; i++) {
        WOLFSSL_SESSION *next = client_one(ctx, o, session, i);
        if (next) {
            if (session)
                wolfSSL_SESSION_free(session);
            session = next;
        }
    }
    if (session)
        wolfSSL_SESSION_free(session);
    wolfSSL_CTX_free(ctx);
    return 0;
}

/* -- main ------------------------------------------------------------------------------------ */

static void features(void) {
    begin("features");
    add_string("library", wolfSSL_lib_version());
    int tls13 = 0, keying_material = 0, secure_renegotiation = 0, secret_callback = 0;
#ifdef WOLFSSL_TLS13
    tls13 = 1;
#endif
#ifdef HAVE_KEYING_MATERIAL
    keying_material = 1;
#endif
#ifdef HAVE_SECURE_RENEGOTIATION
    secure_renegotiation = 1;
#endif
#ifdef HAVE_SECRET_CALLBACK
    secret_callback = 1;
#endif
    add(",\"tls13\":%d,\"keying_material\":%d", tls13, keying_material);
    add(",\"secure_renegotiation\":%d,\"secret_callback\":%d", secure_renegotiation,
        secret_callback);
    emit();
}

int main(int argc, char **argv) {
    struct options o = {.min = "1.2", .max = "1.3", .connections = 1, .message = "hello",
                        .sni = "localhost", .timeout = 10};
    if (argc == 2 && strcmp(argv[1], "features") == 0) {
        features();
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0))
        die("usage: wolfssl-peer server|client [options], or wolfssl-peer features");
    o.server = strcmp(argv[1], "server") == 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **str = NULL;
        int *num = NULL, *flag = NULL;
        if (!strcmp(a, "--port")) num = &o.port;
        else if (!strcmp(a, "--min")) str = &o.min;
        else if (!strcmp(a, "--max")) str = &o.max;
        else if (!strcmp(a, "--ciphers")) str = &o.ciphers;
        else if (!strcmp(a, "--groups")) str = &o.groups;
        else if (!strcmp(a, "--key-shares")) str = &o.key_shares;
        else if (!strcmp(a, "--cert")) str = &o.cert;
        else if (!strcmp(a, "--key")) str = &o.key;
        else if (!strcmp(a, "--ca")) str = &o.ca;
        else if (!strcmp(a, "--alpn")) str = &o.alpn;
        else if (!strcmp(a, "--sni")) str = &o.sni;
        else if (!strcmp(a, "--message")) str = &o.message;
        else if (!strcmp(a, "--exporter")) str = &o.exporter;
        else if (!strcmp(a, "--context")) str = &o.context;
        else if (!strcmp(a, "--connections")) num = &o.connections;
        else if (!strcmp(a, "--size")) num = &o.size;
        else if (!strcmp(a, "--timeout")) num = &o.timeout;
        else if (!strcmp(a, "--verify")) flag = &o.verify;
        else if (!strcmp(a, "--verify-optional")) flag = &o.verify_optional;
        else if (!strcmp(a, "--alpn-continue")) flag = &o.alpn_continue;
        else if (!strcmp(a, "--key-update")) flag = &o.key_update;
        else if (!strcmp(a, "--renegotiate")) flag = &o.renegotiate;
        else if (!strcmp(a, "--tickets")) flag = &o.tickets;
        else if (!strcmp(a, "--no-tickets")) flag = &o.no_tickets;
        else if (!strcmp(a, "--no-cache")) flag = &o.no_cache;
        else if (!strcmp(a, "--no-ems")) flag = &o.no_ems;
        else if (!strcmp(a, "--hrr-cookie")) flag = &o.hrr_cookie;
        else if (!strcmp(a, "--max-fragment")) flag = &o.max_fragment;
        else if (!strcmp(a, "--post-handshake-auth")) flag = &o.pha;
        else die("unknown option %s", a);
        if (flag) {
            *flag = 1;
            continue;
        }
        if (++i == argc)
            die("%s needs a value", a);
        if (str)
            *str = argv[i];
        else
            *num = atoi(argv[i]);
    }
    if (o.size < 0 || o.size > (1 << 21))
        die("--size is at most 2 MiB");
    if (o.timeout <= 0 || o.connections <= 0)
        die("--timeout and --connections must be positive");
    if (!o.server && o.port <= 0)
        die("client: --port is required");
    signal(SIGTERM, on_sigterm);
    signal(SIGPIPE, SIG_IGN);
    if (wolfSSL_Init() != WOLFSSL_SUCCESS)
        die("wolfSSL_Init failed");
    features();
    int status = o.server ? serve(&o) : run_client(&o);
    wolfSSL_Cleanup();
    return status;
}
