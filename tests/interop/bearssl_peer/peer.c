/*
 * A BearSSL peer for the interop tests (test_bearssl.py), built at test time by bearssl_peer.py
 * with `gcc -O1 -Wall -Werror peer.c -lbearssl` against the system's BearSSL 0.6 (Debian's
 * libbearssl-dev). BearSSL speaks TLS 1.0 to 1.2 only.
 *
 * It prints one JSON object per line on stdout:
 *
 *   {"event": "listening", "port": N}   once a server listens (on 127.0.0.1, port 0);
 *   {"event": "connection", ...}        per connection: what BearSSL negotiated (version,
 *                                       suite, curve, ALPN, SNI, resumption, the session ID,
 *                                       the ServerHello random, the peer certificate's
 *                                       SHA-256, 32 bytes of RFC 5705 keying material), what
 *                                       it received and whether the close was clean, or the
 *                                       BearSSL error code with the alert received or sent;
 *   {"event": "setup", "error": ...}    when the configuration is refused (exit status 2).
 *
 * `server` serves --connections connections one after the other (echoing until the client's
 * close_notify, which BearSSL answers with its own) and exits, keeping sessions in an LRU
 * cache with --session-cache; `client` makes --connections connections, each after the first
 * offering the session of the one before (br_ssl_client_reset(..., 1)), sends --message
 * (--repeat times) in steps of at most 16 KiB, reading each step's echo before the next, and
 * closes with a close_notify exchange (br_sslio_close).
 *
 * Every wait is bounded: SO_RCVTIMEO/SO_SNDTIMEO on the sockets, poll() before accept.
 */

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <bearssl.h>

#define TIMEOUT_S 10
#define MAX_LIST 16
#define MAX_OBJECTS 8
#define FULL_RECEIVED 65536 /* up to this many bytes, "received" is printed in full */
#define STEP 16384

static const char EXPORTER_LABEL[] = "EXPORTER-tlsmachine-interop";

/* -- growing buffers and JSON records ------------------------------------------------------ */

typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((b->p = realloc(b->p, cap)) == NULL) {
            fputs("out of memory\n", stderr);
            exit(3);
        }
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_printf(buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t) n < sizeof tmp ? (size_t) n : sizeof tmp - 1);
}

static void buf_append(void *ctx, const void *data, size_t n) /* a BearSSL sink */
{
    buf_add(ctx, data, n);
}

static void rec_begin(buf_t *r, const char *event)
{
    r->len = 0;
    buf_printf(r, "{\"event\": \"%s\"", event);
}

static void rec_str(buf_t *r, const char *key, const char *value)
{
    buf_printf(r, ", \"%s\": ", key);
    if (value == NULL) {
        buf_add(r, "null", 4);
        return;
    }
    buf_add(r, "\"", 1);
    for (const unsigned char *c = (const unsigned char *) value; *c; c++) {
        if (*c == '"' || *c == '\\')
            buf_printf(r, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f)
            buf_printf(r, "\\u%04x", *c);
        else
            buf_add(r, c, 1);
    }
    buf_add(r, "\"", 1);
}

static void rec_int(buf_t *r, const char *key, long value)
{
    buf_printf(r, ", \"%s\": %ld", key, value);
}

static void rec_bool(buf_t *r, const char *key, int value)
{
    buf_printf(r, ", \"%s\": %s", key, value ? "true" : "false");
}

static void rec_hex(buf_t *r, const char *key, const void *data, size_t len)
{
    const unsigned char *d = data;
    buf_printf(r, ", \"%s\": \"", key);
    for (size_t i = 0; i < len; i++)
        buf_printf(r, "%02x", d[i]);
    buf_add(r, "\"", 1);
}

static void rec_emit(buf_t *r)
{
    buf_add(r, "}\n", 2);
    fwrite(r->p, 1, r->len, stdout);
    fflush(stdout);
}

static void setup_failure(const char *fmt, ...)
{
    char message[512];
    buf_t r = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    rec_begin(&r, "setup");
    rec_str(&r, "error", message);
    rec_emit(&r);
    exit(2);
}

/* -- names ----------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint16_t id;
} SUITES[] = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
     BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
     BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CCM", BR_TLS_ECDHE_ECDSA_WITH_AES_128_CCM},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", BR_TLS_RSA_WITH_AES_128_GCM_SHA256},
};

static const struct {
    const char *name;
    int id;
} CURVES[] = {
    {"x25519", BR_EC_curve25519},
    {"secp256r1", BR_EC_secp256r1},
    {"secp384r1", BR_EC_secp384r1},
    {"secp521r1", BR_EC_secp521r1},
};

static const char *suite_name(unsigned id)
{
    for (size_t i = 0; i < sizeof SUITES / sizeof SUITES[0]; i++)
        if (SUITES[i].id == id)
            return SUITES[i].name;
    return NULL;
}

static const char *curve_name(int id)
{
    for (size_t i = 0; i < sizeof CURVES / sizeof CURVES[0]; i++)
        if (CURVES[i].id == id)
            return CURVES[i].name;
    return NULL;
}

static const char *version_name(unsigned v)
{
    return v == BR_TLS12 ? "TLSv1.2" : v == BR_TLS11 ? "TLSv1.1" : v == BR_TLS10 ? "TLSv1" : NULL;
}

static unsigned version_value(const char *name)
{
    if (strcmp(name, "tls1.0") == 0)
        return BR_TLS10;
    if (strcmp(name, "tls1.1") == 0)
        return BR_TLS11;
    if (strcmp(name, "tls1.2") == 0)
        return BR_TLS12;
    setup_failure("%s: BearSSL supports tls1.0, tls1.1 and tls1.2 only", name);
    return 0;
}

/* -- options --------------------------------------------------------------------------------- */

static struct {
    int server;
    const char *port, *cert, *key, *ca, *server_name, *message, *suites, *curves;
    const char *alpn[MAX_LIST];
    int n_alpn, alpn_strict, connections, session_cache, prefer_server, renegotiate;
    const char *client_auth;
    unsigned min_version, max_version;
    long repeat;
} opt;

/* -- PEM files, keys, trust anchors ---------------------------------------------------------- */

typedef struct {
    char name[128];
    buf_t der;
} pem_object;

static int read_pem(const char *path, pem_object *objects)
{
    FILE *f = fopen(path, "rb");
    buf_t text = {0};
    char chunk[4096];
    size_t n, at = 0;
    int count = 0, inside = 0;
    br_pem_decoder_context pc;

    if (f == NULL)
        setup_failure("%s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&text, chunk, n);
    fclose(f);
    buf_add(&text, "\n", 1); /* the decoder wants the END line terminated */
    br_pem_decoder_init(&pc);
    while (at < text.len) {
        at += br_pem_decoder_push(&pc, text.p + at, text.len - at);
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            if (count == MAX_OBJECTS)
                setup_failure("%s: too many PEM objects", path);
            snprintf(objects[count].name, sizeof objects[count].name, "%s",
                     br_pem_decoder_name(&pc));
            memset(&objects[count].der, 0, sizeof objects[count].der);
            br_pem_decoder_setdest(&pc, buf_append, &objects[count].der);
            inside = 1;
            break;
        case BR_PEM_END_OBJ:
            if (inside)
                count++;
            inside = 0;
            break;
        case BR_PEM_ERROR:
            setup_failure("%s: invalid PEM", path);
        }
    }
    free(text.p);
    if (count == 0)
        setup_failure("%s: no PEM object", path);
    return count;
}

static br_x509_certificate chain[MAX_OBJECTS];
static size_t chain_len;
static br_skey_decoder_context skey; /* holds the decoded private key */
static br_x509_trust_anchor anchors[MAX_OBJECTS];
static size_t n_anchors;

static void load_chain(const char *path)
{
    pem_object objects[MAX_OBJECTS];
    int n = read_pem(path, objects);
    for (int i = 0; i < n; i++) {
        if (strcmp(objects[i].name, "CERTIFICATE") != 0)
            continue;
        chain[chain_len].data = objects[i].der.p;
        chain[chain_len++].data_len = objects[i].der.len;
    }
    if (chain_len == 0)
        setup_failure("%s: no certificate", path);
}

static int load_key(const char *path)
{
    pem_object objects[MAX_OBJECTS];
    read_pem(path, objects);
    br_skey_decoder_init(&skey);
    br_skey_decoder_push(&skey, objects[0].der.p, objects[0].der.len);
    if (br_skey_decoder_last_error(&skey) != 0)
        setup_failure("%s: BearSSL cannot decode this key (error %d)", path,
                      br_skey_decoder_last_error(&skey));
    return br_skey_decoder_key_type(&skey); /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
}

static unsigned char *copy(const void *data, size_t len)
{
    unsigned char *p = malloc(len ? len : 1);
    memcpy(p, data, len);
    return p;
}

static void load_anchors(const char *path)
{
    pem_object objects[MAX_OBJECTS];
    int n = read_pem(path, objects);
    for (int i = 0; i < n; i++) {
        br_x509_decoder_context dc;
        buf_t dn = {0};
        br_x509_trust_anchor *ta = &anchors[n_anchors];
        br_x509_decoder_init(&dc, buf_append, &dn);
        br_x509_decoder_push(&dc, objects[i].der.p, objects[i].der.len);
        br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
        if (pk == NULL)
            setup_failure("%s: BearSSL cannot decode the certificate (error %d)", path,
                          br_x509_decoder_last_error(&dc));
        ta->dn.data = dn.p;
        ta->dn.len = dn.len;
        ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
        ta->pkey.key_type = pk->key_type;
        if (pk->key_type == BR_KEYTYPE_RSA) {
            ta->pkey.key.rsa.n = copy(pk->key.rsa.n, pk->key.rsa.nlen);
            ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
            ta->pkey.key.rsa.e = copy(pk->key.rsa.e, pk->key.rsa.elen);
            ta->pkey.key.rsa.elen = pk->key.rsa.elen;
        } else {
            ta->pkey.key.ec.curve = pk->key.ec.curve;
            ta->pkey.key.ec.q = copy(pk->key.ec.q, pk->key.ec.qlen);
            ta->pkey.key.ec.qlen = pk->key.ec.qlen;
        }
        n_anchors++;
    }
}

/* -- an X.509 engine that wraps the "minimal" one, noting the peer's chain ------------------- */

typedef struct {
    const br_x509_class *vtable;
    br_x509_minimal_context *inner;
    int chains, certs; /* start_chain calls (one per full handshake), certificates seen */
    br_sha256_context sha;
    unsigned char leaf_sha256[32];
    unsigned result; /* what the minimal engine's end_chain returned */
} x509_watch;

#define INNER(ctx) (&((x509_watch *) (ctx))->inner->vtable)

static void xw_start_chain(const br_x509_class **ctx, const char *server_name)
{
    x509_watch *w = (x509_watch *) ctx;
    w->chains++;
    w->certs = 0;
    w->result = 0;
    (*INNER(ctx))->start_chain(INNER(ctx), server_name);
}

static void xw_start_cert(const br_x509_class **ctx, uint32_t length)
{
    x509_watch *w = (x509_watch *) ctx;
    if (w->certs == 0)
        br_sha256_init(&w->sha);
    (*INNER(ctx))->start_cert(INNER(ctx), length);
}

static void xw_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    x509_watch *w = (x509_watch *) ctx;
    if (w->certs == 0)
        br_sha256_update(&w->sha, buf, len);
    (*INNER(ctx))->append(INNER(ctx), buf, len);
}

static void xw_end_cert(const br_x509_class **ctx)
{
    x509_watch *w = (x509_watch *) ctx;
    if (w->certs++ == 0)
        br_sha256_out(&w->sha, w->leaf_sha256);
    (*INNER(ctx))->end_cert(INNER(ctx));
}

static unsigned xw_end_chain(const br_x509_class **ctx)
{
    x509_watch *w = (x509_watch *) ctx;
    return w->result = (*INNER(ctx))->end_chain(INNER(ctx));
}

static const br_x509_pkey *xw_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    const br_x509_class *const *inner = (const br_x509_class *const *) INNER(ctx);
    return (*inner)->get_pkey(inner, usages);
}

static const br_x509_class x509_watch_vtable = {
    sizeof(x509_watch), xw_start_chain, xw_start_cert, xw_append,
    xw_end_cert,        xw_end_chain,   xw_get_pkey,
};

/* -- a session cache that wraps the LRU one, noting lookups -------------------------------- */

typedef struct {
    const br_ssl_session_cache_class *vtable;
    br_ssl_session_cache_lru lru;
    int lookups, hits;
    unsigned char master[48]; /* of the last hit */
} cache_watch;

static void cw_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                    const br_ssl_session_parameters *params)
{
    cache_watch *w = (cache_watch *) ctx;
    w->lru.vtable->save(&w->lru.vtable, sc, params);
}

static int cw_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                   br_ssl_session_parameters *params)
{
    cache_watch *w = (cache_watch *) ctx;
    int found = w->lru.vtable->load(&w->lru.vtable, sc, params);
    w->lookups++;
    if (found) {
        w->hits++;
        memcpy(w->master, params->master_secret, 48);
    }
    return found;
}

static const br_ssl_session_cache_class cache_watch_vtable = {sizeof(cache_watch), cw_save,
                                                              cw_load};

/* -- sockets ----------------------------------------------------------------------------------- */

static int sent_alert = -1; /* the last plaintext alert written (before encryption is on) */

static int sock_read(void *ctx, unsigned char *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(*(int *) ctx, buf, len);
        if (n > 0)
            return (int) n;
        if (n < 0 && errno == EINTR)
            continue;
        return -1; /* EOF, error or SO_RCVTIMEO */
    }
}

static int sock_write(void *ctx, const unsigned char *buf, size_t len)
{
    if (len >= 7 && buf[0] == 21 && buf[3] == 0 && buf[4] == 2)
        sent_alert = buf[6];
    for (;;) {
        ssize_t n = write(*(int *) ctx, buf, len);
        if (n > 0)
            return (int) n;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static void bound(int fd)
{
    struct timeval tv = {TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* A close that the other end sees as a FIN, not a reset: BearSSL stops reading when it fails
 * (it sends no alert for most failures), so what the other end sent after is drained first. */
static void close_gently(int fd)
{
    char sink[4096];
    struct timeval tv = {2, 0};
    shutdown(fd, SHUT_WR);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (read(fd, sink, sizeof sink) > 0)
        ;
    close(fd);
}

/* -- configuration shared by both roles ------------------------------------------------------ */

static br_ec_impl ec_impl; /* the default one, offering only --curves */
static uint16_t suites[MAX_LIST];
static br_x509_minimal_context minimal;
static x509_watch watch = {&x509_watch_vtable, &minimal};
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

static int split(const char *list, char **items)
{
    char *copy_ = strdup(list);
    int n = 0;
    for (char *item = strtok(copy_, ","); item != NULL; item = strtok(NULL, ",")) {
        if (n == MAX_LIST)
            setup_failure("too many items in %s", list);
        items[n++] = item;
    }
    return n;
}

static void configure(br_ssl_engine_context *eng)
{
    char *items[MAX_LIST];
    br_ssl_engine_set_versions(eng, opt.min_version, opt.max_version);
    if (opt.suites != NULL) {
        int n = split(opt.suites, items);
        for (int i = 0; i < n; i++) {
            size_t k = 0;
            while (k < sizeof SUITES / sizeof SUITES[0] && strcmp(SUITES[k].name, items[i]) != 0)
                k++;
            if (k == sizeof SUITES / sizeof SUITES[0])
                setup_failure("unknown suite %s", items[i]);
            suites[i] = SUITES[k].id;
        }
        br_ssl_engine_set_suites(eng, suites, (size_t) n);
    }
    ec_impl = *br_ec_get_default();
    if (opt.curves != NULL) {
        uint32_t mask = 0;
        int n = split(opt.curves, items);
        for (int i = 0; i < n; i++) {
            size_t k = 0;
            while (k < sizeof CURVES / sizeof CURVES[0] && strcmp(CURVES[k].name, items[i]) != 0)
                k++;
            if (k == sizeof CURVES / sizeof CURVES[0])
                setup_failure("unknown curve %s", items[i]);
            mask |= (uint32_t) 1 << CURVES[k].id;
        }
        ec_impl.supported_curves &= mask;
    }
    br_ssl_engine_set_ec(eng, &ec_impl); /* signing and verifying keep the default one */
    if (opt.n_alpn > 0)
        br_ssl_engine_set_protocol_names(eng, opt.alpn, (size_t) opt.n_alpn);
    if (opt.alpn_strict)
        br_ssl_engine_add_flags(eng, BR_OPT_FAIL_ON_ALPN_MISMATCH);
    if (!opt.renegotiate)
        br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
    br_ssl_engine_set_buffer(eng, iobuf, sizeof iobuf, 1);
}

static void init_minimal(void)
{
    br_x509_minimal_init(&minimal, &br_sha256_vtable, anchors, n_anchors);
    br_x509_minimal_set_hash(&minimal, br_sha1_ID, &br_sha1_vtable);
    br_x509_minimal_set_hash(&minimal, br_sha224_ID, &br_sha224_vtable);
    br_x509_minimal_set_hash(&minimal, br_sha256_ID, &br_sha256_vtable);
    br_x509_minimal_set_hash(&minimal, br_sha384_ID, &br_sha384_vtable);
    br_x509_minimal_set_hash(&minimal, br_sha512_ID, &br_sha512_vtable);
    br_x509_minimal_set_rsa(&minimal, br_rsa_pkcs1_vrfy_get_default());
    br_x509_minimal_set_ecdsa(&minimal, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
}

/* -- what a connection negotiated, or how it failed ----------------------------------------- */

static void describe(buf_t *r, br_ssl_engine_context *eng, int resumed)
{
    br_ssl_session_parameters params;
    char exported[32];
    const char *server_name = br_ssl_engine_get_server_name(eng);
    br_ssl_engine_get_session_parameters(eng, &params);
    rec_str(r, "version", version_name(br_ssl_engine_get_version(eng)));
    rec_str(r, "cipher_suite", suite_name(params.cipher_suite));
    rec_int(r, "cipher_suite_id", params.cipher_suite);
    /* ecdhe_curve is kept from the full handshake that made the session */
    rec_str(r, "curve", resumed ? NULL : curve_name(br_ssl_engine_get_ecdhe_curve(eng)));
    rec_str(r, "alpn", br_ssl_engine_get_selected_protocol(eng));
    rec_str(r, "server_name", server_name[0] ? server_name : NULL);
    rec_bool(r, "resumed", resumed);
    rec_hex(r, "session_id", params.session_id, params.session_id_len);
    rec_hex(r, "server_random", eng->server_random, 32);
    if (watch.chains > 0 && watch.certs > 0)
        rec_hex(r, "peer_cert_sha256", watch.leaf_sha256, 32);
    else
        rec_str(r, "peer_cert_sha256", NULL);
    if (br_ssl_key_export(eng, exported, sizeof exported, EXPORTER_LABEL, NULL, 0))
        rec_hex(r, "exporter", exported, sizeof exported);
    else
        rec_str(r, "exporter", NULL);
}

static void rec_error(buf_t *r, const char *stage, br_ssl_engine_context *eng)
{
    int err = br_ssl_engine_last_error(eng);
    rec_str(r, "error", stage);
    rec_int(r, "bearssl_error", err);
    if (err >= BR_ERR_SEND_FATAL_ALERT)
        sent_alert = err - BR_ERR_SEND_FATAL_ALERT;
    if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT)
        rec_int(r, "received_alert", err - BR_ERR_RECV_FATAL_ALERT);
    else
        rec_str(r, "received_alert", NULL);
    if (sent_alert >= 0)
        rec_int(r, "sent_alert", sent_alert);
    else
        rec_str(r, "sent_alert", NULL);
    if (watch.chains > 0 && watch.result != 0)
        rec_int(r, "x509_error", (long) watch.result);
}

static void rec_received(buf_t *r, const buf_t *received)
{
    unsigned char digest[32];
    br_sha256_context sha;
    br_sha256_init(&sha);
    br_sha256_update(&sha, received->p, received->len);
    br_sha256_out(&sha, digest);
    rec_int(r, "received_len", (long) received->len);
    rec_hex(r, "received_sha256", digest, 32);
    if (received->len <= FULL_RECEIVED)
        rec_hex(r, "received", received->p, received->len);
}

/* -- server ---------------------------------------------------------------------------------- */

static br_ssl_server_context sc;
static cache_watch cache = {&cache_watch_vtable};
static unsigned char cache_store[100 * 16];

static void serve_one(int fd)
{
    br_sslio_context io;
    buf_t r = {0}, received = {0};
    unsigned char data[STEP];
    int lookups = cache.lookups, hits = cache.hits, n, asked = 0;

    rec_begin(&r, "connection");
    sent_alert = -1;
    watch.chains = 0;
    if (!br_ssl_server_reset(&sc)) {
        rec_error(&r, "br_ssl_server_reset", &sc.eng);
        goto done;
    }
    br_sslio_init(&io, &sc.eng, sock_read, &fd, sock_write, &fd);
    if (br_sslio_flush(&io) != 0) {
        rec_error(&r, "handshake", &sc.eng);
        goto done;
    }
    {
        br_ssl_session_parameters params;
        br_ssl_engine_get_session_parameters(&sc.eng, &params);
        int resumed = cache.hits > hits && memcmp(params.master_secret, cache.master, 48) == 0;
        describe(&r, &sc.eng, resumed);
        rec_bool(&r, "cache_lookup", cache.lookups > lookups);
        rec_bool(&r, "cache_hit", cache.hits > hits);
    }
    while ((n = br_sslio_read(&io, data, sizeof data)) > 0) { /* echo until close_notify */
        buf_add(&received, data, (size_t) n);
        if (br_sslio_write_all(&io, data, (size_t) n) != 0 || br_sslio_flush(&io) != 0)
            break;
        if (opt.renegotiate && !asked++) /* a HelloRequest after the first echo */
            rec_int(&r, "renegotiate", br_ssl_engine_renegotiate(&sc.eng));
    }
    rec_received(&r, &received);
    if (br_ssl_engine_last_error(&sc.eng) != BR_ERR_OK) {
        rec_error(&r, "echo", &sc.eng); /* e.g. BR_ERR_IO: TCP EOF without close_notify */
        goto done;
    }
    rec_bool(&r, "clean_close", 1); /* the client's close_notify, answered with ours */
done:
    rec_emit(&r);
    free(r.p);
    free(received.p);
}

static int serve(void)
{
    struct sockaddr_in address = {.sin_family = AF_INET};
    socklen_t address_len = sizeof address;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    buf_t r = {0};

    if (opt.key == NULL || opt.cert == NULL)
        setup_failure("a server needs --cert and --key");
    load_chain(opt.cert);
    if (load_key(opt.key) == BR_KEYTYPE_RSA)
        br_ssl_server_init_full_rsa(&sc, chain, chain_len, br_skey_decoder_get_rsa(&skey));
    else
        br_ssl_server_init_full_ec(&sc, chain, chain_len, BR_KEYTYPE_EC,
                                   br_skey_decoder_get_ec(&skey));
    configure(&sc.eng);
    if (opt.prefer_server)
        br_ssl_engine_add_flags(&sc.eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
    if (opt.session_cache) {
        br_ssl_session_cache_lru_init(&cache.lru, cache_store, sizeof cache_store);
        br_ssl_server_set_cache(&sc, &cache.vtable);
    }
    if (strcmp(opt.client_auth, "none") != 0) {
        if (opt.ca == NULL)
            setup_failure("--client-auth needs --ca");
        load_anchors(opt.ca);
        init_minimal();
        br_ssl_engine_set_x509(&sc.eng, &watch.vtable);
        br_ssl_engine_set_default_rsavrfy(&sc.eng); /* for the client's CertificateVerify */
        br_ssl_engine_set_default_ecdsa(&sc.eng);
        br_ssl_server_set_trust_anchor_names_alt(&sc, anchors, n_anchors);
        if (strcmp(opt.client_auth, "optional") == 0)
            br_ssl_engine_add_flags(&sc.eng, BR_OPT_TOLERATE_NO_CLIENT_AUTH);
    }

    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *) &address, sizeof address) != 0
        || listen(listener, 8) != 0
        || getsockname(listener, (struct sockaddr *) &address, &address_len) != 0)
        setup_failure("listening on 127.0.0.1: %s", strerror(errno));
    rec_begin(&r, "listening");
    rec_int(&r, "port", ntohs(address.sin_port));
    rec_emit(&r);
    for (int i = 0; i < opt.connections; i++) {
        struct pollfd p = {listener, POLLIN, 0};
        if (poll(&p, 1, TIMEOUT_S * 1000) != 1)
            setup_failure("accept: timed out");
        int fd = accept(listener, NULL, NULL);
        if (fd < 0)
            setup_failure("accept: %s", strerror(errno));
        bound(fd);
        serve_one(fd);
        close_gently(fd);
    }
    close(listener);
    return 0;
}

/* -- client ---------------------------------------------------------------------------------- */

static br_ssl_client_context cc;

static void connect_one(const unsigned char *message, size_t size, int resume)
{
    br_sslio_context io;
    br_ssl_session_parameters before, after;
    struct sockaddr_in address = {.sin_family = AF_INET};
    buf_t r = {0}, received = {0};
    unsigned char data[STEP];
    int fd = socket(AF_INET, SOCK_STREAM, 0), resumed;

    rec_begin(&r, "connection");
    sent_alert = -1;
    watch.chains = 0;
    address.sin_port = htons((uint16_t) atoi(opt.port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *) &address, sizeof address) != 0)
        setup_failure("connect to 127.0.0.1:%s: %s", opt.port, strerror(errno));
    bound(fd);
    br_ssl_engine_get_session_parameters(&cc.eng, &before);
    if (!br_ssl_client_reset(&cc, opt.server_name[0] ? opt.server_name : NULL, resume)) {
        rec_error(&r, "br_ssl_client_reset", &cc.eng);
        goto done;
    }
    rec_bool(&r, "offered_session", resume && before.session_id_len > 0);
    br_sslio_init(&io, &cc.eng, sock_read, &fd, sock_write, &fd);
    if (br_sslio_flush(&io) != 0) {
        rec_error(&r, "handshake", &cc.eng);
        goto done;
    }
    br_ssl_engine_get_session_parameters(&cc.eng, &after);
    resumed = resume && before.session_id_len > 0 && watch.chains == 0
              && after.session_id_len == before.session_id_len
              && memcmp(after.session_id, before.session_id, before.session_id_len) == 0
              && memcmp(after.master_secret, before.master_secret, 48) == 0;
    describe(&r, &cc.eng, resumed);
    for (int round = 0; round < 1 + opt.renegotiate; round++) {
        size_t base = received.len;
        if (round == 1) /* a new ClientHello after the first echo, then the message again */
            rec_int(&r, "renegotiate", br_ssl_engine_renegotiate(&cc.eng));
        for (size_t sent = 0; sent < size;) { /* a step, then its echo */
            size_t step = size - sent < STEP ? size - sent : STEP;
            if (br_sslio_write_all(&io, message + sent, step) != 0 || br_sslio_flush(&io) != 0)
                break;
            sent += step;
            while (received.len - base < sent) {
                int n = br_sslio_read(&io, data, sizeof data);
                if (n <= 0)
                    break;
                buf_add(&received, data, (size_t) n);
            }
            if (received.len - base < sent)
                break;
        }
    }
    rec_received(&r, &received);
    if (received.len < size * (size_t) (1 + opt.renegotiate)) {
        rec_error(&r, "echo", &cc.eng);
        goto done;
    }
    /* our close_notify, then the server's (br_sslio_close returns 1 on success in 0.6,
     * although its documentation says 0: the engine's error code is what counts) */
    br_sslio_close(&io);
    if (br_ssl_engine_last_error(&cc.eng) != BR_ERR_OK) {
        rec_error(&r, "close", &cc.eng);
        goto done;
    }
    rec_bool(&r, "clean_close", 1);
done:
    close_gently(fd);
    rec_emit(&r);
    free(r.p);
    free(received.p);
}

static int run_client(void)
{
    size_t unit = strlen(opt.message), size = unit * (size_t) opt.repeat;
    unsigned char *message = malloc(size ? size : 1);
    for (long i = 0; i < opt.repeat; i++)
        memcpy(message + unit * (size_t) i, opt.message, unit);
    if (opt.ca == NULL)
        setup_failure("a client needs --ca");
    load_anchors(opt.ca);
    br_ssl_client_init_full(&cc, &minimal, anchors, n_anchors);
    br_ssl_engine_set_x509(&cc.eng, &watch.vtable);
    configure(&cc.eng);
    if (opt.cert != NULL && opt.key != NULL) {
        load_chain(opt.cert);
        if (load_key(opt.key) == BR_KEYTYPE_RSA)
            br_ssl_client_set_single_rsa(&cc, chain, chain_len, br_skey_decoder_get_rsa(&skey),
                                         br_rsa_pkcs1_sign_get_default());
        else
            br_ssl_client_set_single_ec(&cc, chain, chain_len, br_skey_decoder_get_ec(&skey),
                                        BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(),
                                        br_ecdsa_sign_asn1_get_default());
    }
    for (int i = 0; i < opt.connections; i++)
        connect_one(message, size, i > 0);
    free(message);
    return 0;
}

/* -- command line ---------------------------------------------------------------------------- */

static void usage(const char *problem)
{
    fprintf(stderr,
            "%s\nusage: peer {server,client} [--port N] [--cert PEM --key PEM] [--ca PEM]\n"
            "  [--min-version V] [--max-version V] (tls1.0 tls1.1 tls1.2)\n"
            "  [--suites IANA,...] [--curves x25519,secp256r1,secp384r1,secp521r1]\n"
            "  [--alpn P]... [--alpn-strict] [--server-name NAME ('' for no SNI)]\n"
            "  [--connections N] [--session-cache] [--prefer-server] [--renegotiate]\n"
            "  [--client-auth none|optional|required] [--message TEXT] [--repeat N]\n",
            problem);
    exit(64);
}

static void on_sigterm(int sig)
{
    _exit(128 + sig);
}

int main(int argc, char **argv)
{
    struct sigaction term = {.sa_handler = on_sigterm}, ignore = {.sa_handler = SIG_IGN};
    sigaction(SIGTERM, &term, NULL);
    sigaction(SIGPIPE, &ignore, NULL); /* a write to a closed socket is an error, not death */

    opt.port = "0";
    opt.server_name = "localhost";
    opt.message = "hello";
    opt.repeat = opt.connections = 1;
    opt.client_auth = "none";
    opt.min_version = opt.max_version = BR_TLS12;
    if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0))
        usage("the role is server or client");
    opt.server = strcmp(argv[1], "server") == 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
#define FLAG(name) (strcmp(a, name) == 0)
#define VALUE() (i + 1 < argc ? argv[++i] : (usage("a value is missing"), ""))
        if (FLAG("--port"))
            opt.port = VALUE();
        else if (FLAG("--cert"))
            opt.cert = VALUE();
        else if (FLAG("--key"))
            opt.key = VALUE();
        else if (FLAG("--ca"))
            opt.ca = VALUE();
        else if (FLAG("--min-version"))
            opt.min_version = version_value(VALUE());
        else if (FLAG("--max-version"))
            opt.max_version = version_value(VALUE());
        else if (FLAG("--suites"))
            opt.suites = VALUE();
        else if (FLAG("--curves"))
            opt.curves = VALUE();
        else if (FLAG("--alpn")) {
            if (opt.n_alpn == MAX_LIST)
                usage("too many --alpn");
            opt.alpn[opt.n_alpn++] = VALUE();
        } else if (FLAG("--alpn-strict"))
            opt.alpn_strict = 1;
        else if (FLAG("--server-name"))
            opt.server_name = VALUE();
        else if (FLAG("--connections"))
            opt.connections = atoi(VALUE());
        else if (FLAG("--session-cache"))
            opt.session_cache = 1;
        else if (FLAG("--prefer-server"))
            opt.prefer_server = 1;
        else if (FLAG("--renegotiate"))
            opt.renegotiate = 1;
        else if (FLAG("--client-auth"))
            opt.client_auth = VALUE();
        else if (FLAG("--message"))
            opt.message = VALUE();
        else if (FLAG("--repeat"))
            opt.repeat = atol(VALUE());
        else
            usage(a);
#undef FLAG
#undef VALUE
    }
    if (opt.repeat < 0 || opt.connections < 0)
        usage("negative count");
    if (strcmp(opt.client_auth, "none") != 0 && strcmp(opt.client_auth, "optional") != 0
        && strcmp(opt.client_auth, "required") != 0)
        usage("--client-auth is none, optional or required");
    if (opt.min_version > opt.max_version)
        setup_failure("--min-version is above --max-version");
    return opt.server ? serve() : run_client();
}
