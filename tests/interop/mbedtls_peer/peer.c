/*
 * An Mbed TLS 2.28 peer for the interop tests (test_mbedtls.py), built at test time by
 * mbedtls_peer.py with `gcc -O1 -Wall -Werror peer.c -lmbedtls -lmbedx509 -lmbedcrypto`
 * against the system's Mbed TLS (Debian's libmbedtls-dev).
 *
 * It prints one JSON object per line on stdout:
 *
 *   {"event": "listening", "port": N}   once a server listens (on 127.0.0.1, port 0);
 *   {"event": "connection", ...}        per connection: what Mbed TLS negotiated (version,
 *                                       suite, resumption, ALPN, the peer certificate's
 *                                       SHA-256, 32 bytes of RFC 5705 keying material), the
 *                                       bytes it received, whether the peer closed with
 *                                       close_notify, or the error;
 *   {"event": "setup", "error": ...}    when the configuration is refused (exit status 2).
 *
 * `server` serves --connections connections one after the other (echoing until the client's
 * close_notify, replying with its own) and exits; `client` makes --connections connections,
 * each offering the session of the one before (session ID or RFC 5077 ticket), sends
 * --message (--repeat times), reads its echo and closes with a close_notify exchange.
 *
 * Every wait is bounded: reads through mbedtls_net_recv_timeout (mbedtls_ssl_conf_read_timeout),
 * writes with SO_SNDTIMEO, accept with mbedtls_net_poll. SIGTERM ends the program.
 */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <mbedtls/config.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#define TIMEOUT_MS 10000     /* any single wait: a read, a write, an accept */
#define RENEGOTIATE_WAIT_MS 1000 /* client: how long to watch the answer to its renegotiation */
#define MAX_LIST 64

/* Every connection reports 32 bytes of keying material for this label (RFC 5705 §4, no
 * context), computed from the master secret Mbed TLS hands to its export-keys callback. */
static const char EXPORTER_LABEL[] = "EXPORTER-tlsmachine-interop";

/* -- options ---------------------------------------------------------------------------- */

struct options {
    int server;
    const char *port;
    const char *cert, *key, *ca;
    int no_verify;
    int min_minor, max_minor;
    const char *ciphers, *groups, *sig_hashes;
    const char *alpn[MAX_LIST + 1];
    int n_alpn;
    const char *server_name;
    int connections;
    int client_auth;
    const char *dh_prime;
    int dh_generator;
    int session_cache, tickets, no_tickets, no_ems, renegotiation, renegotiate;
    const char *message;
    long repeat;
};

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
        unsigned char *p = realloc(b->p, cap);
        if (p == NULL) {
            fputs("out of memory\n", stderr);
            exit(3);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_printf(buf_t *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t) n < sizeof tmp ? (size_t) n : sizeof tmp - 1);
}

static void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

typedef struct {
    buf_t text;
} record_t;

static void rec_begin(record_t *r, const char *event)
{
    memset(r, 0, sizeof *r);
    buf_printf(&r->text, "{\"event\": \"%s\"", event);
}

static void rec_key(record_t *r, const char *key)
{
    buf_printf(&r->text, ", \"%s\": ", key);
}

static void rec_str(record_t *r, const char *key, const char *value)
{
    rec_key(r, key);
    if (value == NULL) {
        buf_add(&r->text, "null", 4);
        return;
    }
    buf_add(&r->text, "\"", 1);
    for (const unsigned char *c = (const unsigned char *) value; *c; c++) {
        if (*c == '"' || *c == '\\')
            buf_printf(&r->text, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f)
            buf_printf(&r->text, "\\u%04x", *c);
        else
            buf_add(&r->text, c, 1);
    }
    buf_add(&r->text, "\"", 1);
}

static void rec_int(record_t *r, const char *key, long value)
{
    rec_key(r, key);
    buf_printf(&r->text, "%ld", value);
}

static void rec_bool(record_t *r, const char *key, int value)
{
    rec_key(r, key);
    buf_printf(&r->text, "%s", value ? "true" : "false");
}

static void rec_hex(record_t *r, const char *key, const unsigned char *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    rec_key(r, key);
    buf_add(&r->text, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        char pair[2] = {digits[data[i] >> 4], digits[data[i] & 15]};
        buf_add(&r->text, pair, 2);
    }
    buf_add(&r->text, "\"", 1);
}

/* "what: -0xNNNN description" and the code, as Mbed TLS defines it (negative) */
static void rec_error(record_t *r, const char *what, int ret)
{
    char description[200], message[400];
    mbedtls_strerror(ret, description, sizeof description);
    snprintf(message, sizeof message, "%s: -0x%04X %s", what, (unsigned) -ret, description);
    rec_str(r, "error", message);
    rec_int(r, "mbedtls_error", ret);
}

/* an error that is not an Mbed TLS error code (e.g. TCP EOF without close_notify) */
static void rec_failure(record_t *r, const char *message)
{
    rec_str(r, "error", message);
    rec_key(r, "mbedtls_error");
    buf_add(&r->text, "null", 4);
}

static void rec_emit(record_t *r)
{
    buf_add(&r->text, "}\n", 2);
    fwrite(r->text.p, 1, r->text.len, stdout);
    fflush(stdout);
    buf_free(&r->text);
}

static void setup_failure(const char *what, int ret)
{
    record_t r;
    rec_begin(&r, "setup");
    if (ret != 0)
        rec_error(&r, what, ret);
    else
        rec_failure(&r, what);
    rec_emit(&r);
    exit(2);
}

/* -- the keys of each handshake, for the RFC 5705 exporter --------------------------------- */

static struct {
    int have;
    unsigned char master[48];
    unsigned char randoms[64]; /* client_random + server_random */
    mbedtls_tls_prf_types prf;
} keys;

static int export_keys(void *p_expkey, const unsigned char *ms, const unsigned char *kb,
                       size_t maclen, size_t keylen, size_t ivlen,
                       const unsigned char client_random[32],
                       const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
    (void) p_expkey, (void) kb, (void) maclen, (void) keylen, (void) ivlen;
    memcpy(keys.master, ms, 48);
    memcpy(keys.randoms, client_random, 32);
    memcpy(keys.randoms + 32, server_random, 32);
    keys.prf = prf;
    keys.have = 1;
    return 0;
}

/* RFC 5246 §5: P_hash(secret, label + seed), out_len bytes */
static int p_hash(mbedtls_md_type_t type, const unsigned char *secret, size_t secret_len,
                  const char *label, const unsigned char *seed, size_t seed_len,
                  unsigned char *out, size_t out_len)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(type);
    unsigned char label_seed[256], a[MBEDTLS_MD_MAX_SIZE], next[MBEDTLS_MD_MAX_SIZE];
    unsigned char input[MBEDTLS_MD_MAX_SIZE + sizeof label_seed], block[MBEDTLS_MD_MAX_SIZE];
    size_t label_len = strlen(label), hlen, ls_len = label_len + seed_len;
    int ret;
    if (md == NULL || ls_len > sizeof label_seed)
        return MBEDTLS_ERR_MD_BAD_INPUT_DATA;
    hlen = mbedtls_md_get_size(md);
    memcpy(label_seed, label, label_len);
    memcpy(label_seed + label_len, seed, seed_len);
    /* A(1) = HMAC(secret, label + seed) */
    if ((ret = mbedtls_md_hmac(md, secret, secret_len, label_seed, ls_len, a)) != 0)
        return ret;
    for (size_t done = 0; done < out_len; done += hlen) {
        memcpy(input, a, hlen);
        memcpy(input + hlen, label_seed, ls_len);
        if ((ret = mbedtls_md_hmac(md, secret, secret_len, input, hlen + ls_len, block)) != 0)
            return ret;
        memcpy(out + done, block, out_len - done < hlen ? out_len - done : hlen);
        if ((ret = mbedtls_md_hmac(md, secret, secret_len, a, hlen, next)) != 0)
            return ret;
        memcpy(a, next, hlen);
    }
    return 0;
}

static void rec_exporter(record_t *r)
{
    unsigned char out[32];
    mbedtls_md_type_t md = keys.prf == MBEDTLS_SSL_TLS_PRF_SHA256   ? MBEDTLS_MD_SHA256
                           : keys.prf == MBEDTLS_SSL_TLS_PRF_SHA384 ? MBEDTLS_MD_SHA384
                                                                    : MBEDTLS_MD_NONE;
    if (!keys.have || md == MBEDTLS_MD_NONE
        || p_hash(md, keys.master, 48, EXPORTER_LABEL, keys.randoms, 64, out, 32) != 0) {
        rec_str(r, "exporter", NULL); /* no TLS 1.2 PRF: not computed */
        return;
    }
    rec_hex(r, "exporter", out, sizeof out);
}

/* -- one connection ------------------------------------------------------------------------ */

struct conn {
    mbedtls_net_context net;
    buf_t *wire_log; /* what was received from the network, while set */
};

static int conn_send(void *ctx, const unsigned char *buf, size_t len)
{
    return mbedtls_net_send(&((struct conn *) ctx)->net, buf, len);
}

static int conn_recv(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
    struct conn *c = ctx;
    int ret = mbedtls_net_recv_timeout(&c->net, buf, len, timeout);
    if (ret > 0 && c->wire_log != NULL)
        buf_add(c->wire_log, buf, (size_t) ret);
    return ret;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bound_writes(int fd)
{
    struct timeval tv = {TIMEOUT_MS / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* The handshake, step by step: an abbreviated one (RFC 5246 §7.3) never reaches the state in
 * which the server's Certificate is written or read. */
static int handshake(mbedtls_ssl_context *ssl, int *resumed)
{
    int saw_certificate = 0, ret;
    double deadline = now() + TIMEOUT_MS / 1000.0;
    while (ssl->state != MBEDTLS_SSL_HANDSHAKE_OVER) {
        ret = mbedtls_ssl_handshake_step(ssl);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (now() > deadline)
                return MBEDTLS_ERR_SSL_TIMEOUT;
            continue;
        }
        if (ret != 0)
            return ret;
        if (ssl->state == MBEDTLS_SSL_SERVER_CERTIFICATE)
            saw_certificate = 1;
    }
    *resumed = !saw_certificate;
    return 0;
}

/* Application data (> 0 bytes), MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY, 0 on a TCP EOF without
 * close_notify, or an error. */
static int read_some(mbedtls_ssl_context *ssl, unsigned char *out, size_t size)
{
    double deadline = now() + TIMEOUT_MS / 1000.0;
    for (;;) {
        int ret = mbedtls_ssl_read(ssl, out, size);
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            return ret;
        /* e.g. after a HelloRequest it refused: "call mbedtls_ssl_read() again" */
        if (now() > deadline)
            return MBEDTLS_ERR_SSL_TIMEOUT;
    }
}

static int write_all(mbedtls_ssl_context *ssl, const unsigned char *data, size_t len)
{
    double deadline = now() + TIMEOUT_MS / 1000.0;
    size_t done = 0;
    while (done < len) {
        int ret = mbedtls_ssl_write(ssl, data + done, len - done);
        if (ret > 0) {
            done += (size_t) ret;
        } else if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (now() > deadline)
                return MBEDTLS_ERR_SSL_TIMEOUT;
        } else {
            return ret;
        }
    }
    return 0;
}

static void describe(record_t *r, mbedtls_ssl_context *ssl, int resumed)
{
    char suite[128];
    const char *name = mbedtls_ssl_get_ciphersuite(ssl);
    const mbedtls_x509_crt *cert = mbedtls_ssl_get_peer_cert(ssl);
    char protocol_version[8];
    rec_str(r, "version", mbedtls_ssl_get_version(ssl));
    snprintf(protocol_version, sizeof protocol_version, "0x%02x%02x", ssl->major_ver & 0xff,
             ssl->minor_ver & 0xff);
    rec_str(r, "protocol_version", protocol_version);
    if (name != NULL) {
        snprintf(suite, sizeof suite, "%s", name);
        for (char *c = suite; *c; c++)
            if (*c == '-')
                *c = '_';
    }
    rec_str(r, "cipher_suite", name ? suite : NULL);
    rec_bool(r, "resumed", resumed);
    rec_str(r, "alpn", mbedtls_ssl_get_alpn_protocol(ssl));
    if (cert != NULL) {
        unsigned char digest[32];
        mbedtls_sha256_ret(cert->raw.p, cert->raw.len, digest, 0);
        rec_hex(r, "peer_cert_sha256", digest, sizeof digest);
    } else {
        rec_str(r, "peer_cert_sha256", NULL);
    }
    rec_exporter(r);
}

/* [content type, length] of each TLS record in data (RFC 5246 §6.2.1) */
static void rec_record_headers(record_t *r, const char *key, const buf_t *data)
{
    size_t at = 0;
    int first = 1;
    rec_key(r, key);
    buf_add(&r->text, "[", 1);
    while (data->len >= at + 5) {
        unsigned length = (unsigned) data->p[at + 3] << 8 | data->p[at + 4];
        buf_printf(&r->text, "%s[%u, %u]", first ? "" : ", ", data->p[at], length);
        first = 0;
        at += 5 + length;
    }
    buf_add(&r->text, "]", 1);
}

/* -- configuration --------------------------------------------------------------------------- */

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_ssl_config conf;
static mbedtls_x509_crt own_chain, trusted;
static mbedtls_pk_context own_key;
static mbedtls_ssl_cache_context cache;
static mbedtls_ssl_ticket_context ticket;
static int ciphersuites[MAX_LIST + 1];
static mbedtls_ecp_group_id curves[MAX_LIST + 1];
static int sig_hashes[MAX_LIST + 1];
static const char *alpn[MAX_LIST + 1];

/* Split a comma-separated list in place (at most MAX_LIST items). */
static int split(char *list, char **items)
{
    int n = 0;
    for (char *item = strtok(list, ","); item != NULL; item = strtok(NULL, ",")) {
        if (n == MAX_LIST)
            setup_failure("too many items in a list", 0);
        items[n++] = item;
    }
    return n;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void configure(const struct options *o)
{
    char *items[MAX_LIST];
    char message[300];
    int ret, n;

    mbedtls_ssl_config_init(&conf);
    ret = mbedtls_ssl_config_defaults(&conf,
                                      o->server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0)
        setup_failure("mbedtls_ssl_config_defaults", ret);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_read_timeout(&conf, TIMEOUT_MS);
    mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, o->min_minor);
    mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, o->max_minor);

    if (o->cert != NULL) {
        if ((ret = mbedtls_x509_crt_parse_file(&own_chain, o->cert)) != 0)
            setup_failure("mbedtls_x509_crt_parse_file (--cert)", ret);
        if ((ret = mbedtls_pk_parse_keyfile(&own_key, o->key ? o->key : "", NULL)) != 0)
            setup_failure("mbedtls_pk_parse_keyfile (--key)", ret);
        if ((ret = mbedtls_ssl_conf_own_cert(&conf, &own_chain, &own_key)) != 0)
            setup_failure("mbedtls_ssl_conf_own_cert", ret);
    }
    if (o->ca != NULL) {
        if ((ret = mbedtls_x509_crt_parse_file(&trusted, o->ca)) != 0)
            setup_failure("mbedtls_x509_crt_parse_file (--ca)", ret);
        mbedtls_ssl_conf_ca_chain(&conf, &trusted, NULL);
    }
    if (o->server)
        mbedtls_ssl_conf_authmode(&conf, o->client_auth);
    else
        mbedtls_ssl_conf_authmode(&conf, o->no_verify ? MBEDTLS_SSL_VERIFY_OPTIONAL
                                                      : MBEDTLS_SSL_VERIFY_REQUIRED);

    if (o->ciphers != NULL) {
        char *list = strdup(o->ciphers);
        n = split(list, items);
        for (int i = 0; i < n; i++) {
            ciphersuites[i] = mbedtls_ssl_get_ciphersuite_id(items[i]);
            if (ciphersuites[i] == 0) {
                snprintf(message, sizeof message, "Mbed TLS knows no cipher suite %s", items[i]);
                setup_failure(message, 0);
            }
        }
        ciphersuites[n] = 0;
        mbedtls_ssl_conf_ciphersuites(&conf, ciphersuites);
    }
    if (o->groups != NULL) {
        char *list = strdup(o->groups);
        n = split(list, items);
        for (int i = 0; i < n; i++) {
            const mbedtls_ecp_curve_info *info = mbedtls_ecp_curve_info_from_name(items[i]);
            if (info == NULL) {
                snprintf(message, sizeof message, "Mbed TLS knows no curve %s", items[i]);
                setup_failure(message, 0);
            }
            curves[i] = info->grp_id;
        }
        curves[n] = MBEDTLS_ECP_DP_NONE;
        mbedtls_ssl_conf_curves(&conf, curves);
    }
    if (o->sig_hashes != NULL) {
        char *list = strdup(o->sig_hashes);
        n = split(list, items);
        for (int i = 0; i < n; i++) {
            const mbedtls_md_info_t *md = mbedtls_md_info_from_string(items[i]);
            if (md == NULL) {
                snprintf(message, sizeof message, "Mbed TLS knows no hash %s", items[i]);
                setup_failure(message, 0);
            }
            sig_hashes[i] = mbedtls_md_get_type(md);
        }
        sig_hashes[n] = MBEDTLS_MD_NONE;
        mbedtls_ssl_conf_sig_hashes(&conf, sig_hashes);
    }
    if (o->n_alpn > 0) {
        memcpy(alpn, o->alpn, sizeof alpn);
        if ((ret = mbedtls_ssl_conf_alpn_protocols(&conf, alpn)) != 0)
            setup_failure("mbedtls_ssl_conf_alpn_protocols", ret);
    }
    if (o->no_ems)
        mbedtls_ssl_conf_extended_master_secret(&conf, MBEDTLS_SSL_EXTENDED_MS_DISABLED);
    if (o->renegotiation)
        mbedtls_ssl_conf_renegotiation(&conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
    mbedtls_ssl_conf_export_keys_ext_cb(&conf, export_keys, NULL);

    if (o->server) {
        if (o->dh_prime != NULL) {
            size_t digits = strlen(o->dh_prime), len = (digits + 1) / 2;
            unsigned char *prime = calloc(len ? len : 1, 1);
            unsigned char generator = (unsigned char) o->dh_generator;
            for (size_t i = 0; i < digits; i++) {
                int v = hex_value(o->dh_prime[digits - 1 - i]);
                if (v < 0)
                    setup_failure("--dh-prime is not hexadecimal", 0);
                prime[len - 1 - i / 2] |= (unsigned char) (i % 2 ? v << 4 : v);
            }
            if ((ret = mbedtls_ssl_conf_dh_param_bin(&conf, prime, len, &generator, 1)) != 0)
                setup_failure("mbedtls_ssl_conf_dh_param_bin", ret);
        }
        if (o->session_cache) {
            mbedtls_ssl_cache_init(&cache);
            mbedtls_ssl_conf_session_cache(&conf, &cache, mbedtls_ssl_cache_get,
                                           mbedtls_ssl_cache_set);
        }
        if (o->tickets) {
            mbedtls_ssl_ticket_init(&ticket);
            ret = mbedtls_ssl_ticket_setup(&ticket, mbedtls_ctr_drbg_random, &drbg,
                                           MBEDTLS_CIPHER_AES_256_GCM, 3600);
            if (ret != 0)
                setup_failure("mbedtls_ssl_ticket_setup", ret);
            mbedtls_ssl_conf_session_tickets_cb(&conf, mbedtls_ssl_ticket_write,
                                                mbedtls_ssl_ticket_parse, &ticket);
        }
    } else if (o->no_tickets) {
        mbedtls_ssl_conf_session_tickets(&conf, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    }
}

/* -- server ---------------------------------------------------------------------------------- */

static void serve_one(const struct options *o, struct conn *c)
{
    mbedtls_ssl_context ssl;
    record_t r;
    buf_t received = {0};
    unsigned char data[1 << 14];
    int ret, resumed = 0, renegotiation_asked = 0;

    rec_begin(&r, "connection");
    keys.have = 0;
    mbedtls_ssl_init(&ssl);
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0) {
        rec_error(&r, "mbedtls_ssl_setup", ret);
        goto done;
    }
    mbedtls_ssl_set_bio(&ssl, c, conn_send, NULL, conn_recv);
    if ((ret = handshake(&ssl, &resumed)) != 0) {
        rec_error(&r, "mbedtls_ssl_handshake", ret);
        goto done;
    }
    describe(&r, &ssl, resumed);
    for (;;) { /* echo until the client's close_notify */
        ret = read_some(&ssl, data, sizeof data);
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            break;
        if (ret == 0) {
            rec_failure(&r, "mbedtls_ssl_read: TCP EOF without close_notify");
            goto done;
        }
        if (ret < 0) {
            rec_error(&r, "mbedtls_ssl_read", ret);
            goto done;
        }
        buf_add(&received, data, (size_t) ret);
        if ((ret = write_all(&ssl, data, (size_t) ret)) != 0) {
            rec_error(&r, "mbedtls_ssl_write", ret);
            goto done;
        }
        if (o->renegotiate && !renegotiation_asked) { /* a HelloRequest */
            renegotiation_asked = 1;
            rec_int(&r, "renegotiate", mbedtls_ssl_renegotiate(&ssl));
        }
    }
    rec_hex(&r, "received", received.p, received.len);
    rec_bool(&r, "clean_close", 1);
    if ((ret = mbedtls_ssl_close_notify(&ssl)) != 0)
        rec_error(&r, "mbedtls_ssl_close_notify", ret);
done:
    mbedtls_ssl_free(&ssl);
    buf_free(&received);
    rec_emit(&r);
}

static int serve(const struct options *o)
{
    mbedtls_net_context listener;
    struct sockaddr_in address;
    socklen_t address_len = sizeof address;
    record_t r;
    int ret;

    mbedtls_net_init(&listener);
    if ((ret = mbedtls_net_bind(&listener, "127.0.0.1", "0", MBEDTLS_NET_PROTO_TCP)) != 0)
        setup_failure("mbedtls_net_bind", ret);
    if (getsockname(listener.fd, (struct sockaddr *) &address, &address_len) != 0)
        setup_failure("getsockname failed", 0);
    rec_begin(&r, "listening");
    rec_int(&r, "port", ntohs(address.sin_port));
    rec_emit(&r);
    for (int i = 0; i < o->connections; i++) {
        struct conn c = {.wire_log = NULL};
        ret = mbedtls_net_poll(&listener, MBEDTLS_NET_POLL_READ, TIMEOUT_MS);
        if (ret == 0)
            setup_failure("accept: timed out", 0);
        if (ret < 0)
            setup_failure("mbedtls_net_poll", ret);
        mbedtls_net_init(&c.net);
        if ((ret = mbedtls_net_accept(&listener, &c.net, NULL, 0, NULL)) != 0)
            setup_failure("mbedtls_net_accept", ret);
        bound_writes(c.net.fd);
        serve_one(o, &c);
        mbedtls_net_free(&c.net);
    }
    mbedtls_net_free(&listener);
    return 0;
}

/* -- client ---------------------------------------------------------------------------------- */

static mbedtls_ssl_session sessions[2];
static int have_session, current_session;

static void connect_one(const struct options *o, const unsigned char *message, size_t size)
{
    mbedtls_ssl_context ssl;
    struct conn c = {.wire_log = NULL};
    record_t r;
    buf_t received = {0}, wire_log = {0};
    unsigned char data[1 << 14];
    int ret, resumed = 0;

    rec_begin(&r, "connection");
    keys.have = 0;
    mbedtls_net_init(&c.net);
    mbedtls_ssl_init(&ssl);
    if ((ret = mbedtls_net_connect(&c.net, "127.0.0.1", o->port, MBEDTLS_NET_PROTO_TCP)) != 0)
        setup_failure("mbedtls_net_connect", ret);
    bound_writes(c.net.fd);
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0) {
        rec_error(&r, "mbedtls_ssl_setup", ret);
        goto done;
    }
    if ((ret = mbedtls_ssl_set_hostname(&ssl, o->server_name)) != 0) {
        rec_error(&r, "mbedtls_ssl_set_hostname", ret);
        goto done;
    }
    mbedtls_ssl_set_bio(&ssl, &c, conn_send, NULL, conn_recv);
    if (have_session && (ret = mbedtls_ssl_set_session(&ssl, &sessions[current_session])) != 0) {
        rec_error(&r, "mbedtls_ssl_set_session", ret);
        goto done;
    }
    if ((ret = handshake(&ssl, &resumed)) != 0) {
        rec_error(&r, "mbedtls_ssl_handshake", ret);
        goto done;
    }
    describe(&r, &ssl, resumed);
    if ((ret = write_all(&ssl, message, size)) != 0) {
        rec_error(&r, "mbedtls_ssl_write", ret);
        goto done;
    }
    double deadline = now() + TIMEOUT_MS / 1000.0;
    while (received.len < size && now() < deadline) {
        ret = read_some(&ssl, data, sizeof data);
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            break;
        if (ret == 0) {
            rec_failure(&r, "mbedtls_ssl_read: TCP EOF without close_notify");
            goto done;
        }
        if (ret < 0) {
            rec_error(&r, "mbedtls_ssl_read", ret);
            goto done;
        }
        buf_add(&received, data, (size_t) ret);
    }
    if (o->renegotiate) { /* a new ClientHello, then whatever the server answers */
        c.wire_log = &wire_log;
        mbedtls_ssl_conf_read_timeout(&conf, RENEGOTIATE_WAIT_MS);
        rec_int(&r, "renegotiate", mbedtls_ssl_renegotiate(&ssl));
        ret = read_some(&ssl, data, sizeof data);
        if (ret < 0 && ret != MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            char description[200], message_[300];
            mbedtls_strerror(ret, description, sizeof description);
            snprintf(message_, sizeof message_, "mbedtls_ssl_read: -0x%04X %s", (unsigned) -ret,
                     description);
            rec_str(&r, "after_renegotiate", message_);
        } else if (ret == 0) {
            rec_str(&r, "after_renegotiate", "mbedtls_ssl_read: TCP EOF without close_notify");
        }
        mbedtls_ssl_conf_read_timeout(&conf, TIMEOUT_MS);
        rec_record_headers(&r, "records_after_renegotiate", &wire_log);
    }
    rec_hex(&r, "received", received.p, received.len);
    {
        mbedtls_ssl_session *next = &sessions[!current_session];
        mbedtls_ssl_session_free(next);
        mbedtls_ssl_session_init(next);
        if (mbedtls_ssl_get_session(&ssl, next) == 0) {
            current_session = !current_session;
            have_session = 1;
        }
    }
    if (!o->renegotiate) {
        if ((ret = mbedtls_ssl_close_notify(&ssl)) != 0) {
            rec_error(&r, "mbedtls_ssl_close_notify", ret);
            goto done;
        }
        shutdown(c.net.fd, SHUT_WR);
        ret = read_some(&ssl, data, sizeof data); /* the server's close_notify */
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0)
            rec_bool(&r, "clean_close", ret != 0);
        else if (ret < 0)
            rec_error(&r, "mbedtls_ssl_read (awaiting close_notify)", ret);
        else
            rec_failure(&r, "application data after our close_notify");
    }
done:
    mbedtls_ssl_free(&ssl);
    mbedtls_net_free(&c.net);
    buf_free(&received);
    buf_free(&wire_log);
    rec_emit(&r);
}

static int run_client(const struct options *o)
{
    size_t unit = strlen(o->message), size = unit * (size_t) o->repeat;
    unsigned char *message = malloc(size ? size : 1);
    for (long i = 0; i < o->repeat; i++)
        memcpy(message + unit * (size_t) i, o->message, unit);
    mbedtls_ssl_session_init(&sessions[0]);
    mbedtls_ssl_session_init(&sessions[1]);
    for (int i = 0; i < o->connections; i++)
        connect_one(o, message, size);
    free(message);
    return 0;
}

/* -- command line ---------------------------------------------------------------------------- */

static void usage(const char *problem)
{
    fprintf(stderr,
            "%s\nusage: peer {server,client} [--port N] [--cert PEM --key PEM] [--ca PEM]\n"
            "  [--no-verify] [--min-version V] [--max-version V] (tls1.0 tls1.1 tls1.2)\n"
            "  [--ciphers A,B] [--groups x25519,secp256r1] [--sig-hashes SHA256,SHA384]\n"
            "  [--alpn P]... [--server-name NAME] [--connections N]\n"
            "  [--client-auth none|optional|required] [--dh-prime HEX] [--dh-generator G]\n"
            "  [--session-cache] [--tickets] [--no-tickets] [--no-ems] [--renegotiation]\n"
            "  [--renegotiate] [--message TEXT] [--repeat N]\n",
            problem);
    exit(64);
}

static int version(const char *name)
{
    if (strcmp(name, "tls1.0") == 0)
        return MBEDTLS_SSL_MINOR_VERSION_1;
    if (strcmp(name, "tls1.1") == 0)
        return MBEDTLS_SSL_MINOR_VERSION_2;
    if (strcmp(name, "tls1.2") == 0)
        return MBEDTLS_SSL_MINOR_VERSION_3;
    if (strcmp(name, "tls1.3") == 0) {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3_EXPERIMENTAL)
        return MBEDTLS_SSL_MINOR_VERSION_4;
#else
        setup_failure("tls1.3: this Mbed TLS is built without TLS 1.3 "
                      "(MBEDTLS_SSL_PROTO_TLS1_3_EXPERIMENTAL)",
                      0);
#endif
    }
    usage("unknown version");
    return 0;
}

static void parse(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->port = "0";
    o->min_minor = o->max_minor = MBEDTLS_SSL_MINOR_VERSION_3;
    o->server_name = "localhost";
    o->connections = 1;
    o->client_auth = MBEDTLS_SSL_VERIFY_NONE;
    o->dh_generator = 2;
    o->message = "hello";
    o->repeat = 1;
    if (argc < 2)
        usage("no role");
    if (strcmp(argv[1], "server") == 0)
        o->server = 1;
    else if (strcmp(argv[1], "client") != 0)
        usage("the role is server or client");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
#define FLAG(name) (strcmp(a, name) == 0)
#define VALUE() (i + 1 < argc ? argv[++i] : (usage("a value is missing"), ""))
        if (FLAG("--port"))
            o->port = VALUE();
        else if (FLAG("--cert"))
            o->cert = VALUE();
        else if (FLAG("--key"))
            o->key = VALUE();
        else if (FLAG("--ca"))
            o->ca = VALUE();
        else if (FLAG("--no-verify"))
            o->no_verify = 1;
        else if (FLAG("--min-version"))
            o->min_minor = version(VALUE());
        else if (FLAG("--max-version"))
            o->max_minor = version(VALUE());
        else if (FLAG("--ciphers"))
            o->ciphers = VALUE();
        else if (FLAG("--groups"))
            o->groups = VALUE();
        else if (FLAG("--sig-hashes"))
            o->sig_hashes = VALUE();
        else if (FLAG("--alpn")) {
            if (o->n_alpn == MAX_LIST)
                usage("too many --alpn");
            o->alpn[o->n_alpn++] = VALUE();
        } else if (FLAG("--server-name"))
            o->server_name = VALUE();
        else if (FLAG("--connections"))
            o->connections = atoi(VALUE());
        else if (FLAG("--client-auth")) {
            const char *mode = VALUE();
            if (strcmp(mode, "none") == 0)
                o->client_auth = MBEDTLS_SSL_VERIFY_NONE;
            else if (strcmp(mode, "optional") == 0)
                o->client_auth = MBEDTLS_SSL_VERIFY_OPTIONAL;
            else if (strcmp(mode, "required") == 0)
                o->client_auth = MBEDTLS_SSL_VERIFY_REQUIRED;
            else
                usage("--client-auth is none, optional or required");
        } else if (FLAG("--dh-prime"))
            o->dh_prime = VALUE();
        else if (FLAG("--dh-generator"))
            o->dh_generator = atoi(VALUE());
        else if (FLAG("--session-cache"))
            o->session_cache = 1;
        else if (FLAG("--tickets"))
            o->tickets = 1;
        else if (FLAG("--no-tickets"))
            o->no_tickets = 1;
        else if (FLAG("--no-ems"))
            o->no_ems = 1;
        else if (FLAG("--renegotiation"))
            o->renegotiation = 1;
        else if (FLAG("--renegotiate"))
            o->renegotiate = 1;
        else if (FLAG("--message"))
            o->message = VALUE();
        else if (FLAG("--repeat"))
            o->repeat = atol(VALUE());
        else
            usage(a);
#undef FLAG
#undef VALUE
    }
    o->alpn[o->n_alpn] = NULL;
    if (o->repeat < 0 || o->connections < 0)
        usage("negative count");
}

static void on_sigterm(int sig)
{
    _exit(128 + sig);
}

int main(int argc, char **argv)
{
    struct options o;
    struct sigaction term = {.sa_handler = on_sigterm};
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    int ret;

    sigaction(SIGTERM, &term, NULL);
    sigaction(SIGPIPE, &ignore, NULL); /* a write to a closed socket is an error, not death */
    parse(argc, argv, &o);

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&own_chain);
    mbedtls_x509_crt_init(&trusted);
    mbedtls_pk_init(&own_key);
    ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                (const unsigned char *) "tlsmachine", 10);
    if (ret != 0)
        setup_failure("mbedtls_ctr_drbg_seed", ret);
    configure(&o);
    return o.server ? serve(&o) : run_client(&o);
}
