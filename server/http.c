/*
 * http.c - the libmicrohttpd glue: routing by path prefix, authentication,
 * request bodies (buffered or streamed to a handler's sink), responses,
 * access logging, graceful shutdown.
 *
 * Handlers never see libmicrohttpd: they get a struct srv_request and return
 * an HTTP status; this file maps it to MHD (lwan's rule).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "meshgate/common.h"
#include "meshgate/http.h"
#include "metrics.h"

#define SRV_MAX_ROUTES 32
#define SRV_REALM "meshgate"
#define SRV_DROP_MAX (1u << 20) /* a body up to this is read and dropped to answer an early error after it */

struct srv_server {
    const struct mg_config *cfg;
    struct srv_auth_ops auth;
    struct MHD_Daemon *daemon;
    struct srv_route routes[SRV_MAX_ROUTES];
    size_t nroutes;
    atomic_long active;     /* requests between first callback and completion */
    atomic_ulong next_id;   /* request id counter */
    unsigned id_prefix;     /* random per process, so ids differ across restarts */
    char *tls_cert_pem;
    char *tls_key_pem;
    int port;
};

struct srv_header {
    char *name;
    char *value;
};

struct srv_request {
    struct srv_server *srv;
    struct MHD_Connection *conn;
    const struct srv_route *route;
    const char *method;
    char *raw_path;
    char *path;
    char id[24];
    char peer[64];
    char user[128];
    int has_user;
    int is_admin;
    uint64_t started_ms;
    int64_t content_length;

    /* body */
    struct buf body;
    srv_body_fn sink;
    void *sink_ctx;
    int body_status; /* non-zero: stop consuming, answer with this status */
    int began;       /* begin() was called */
    int queued;      /* a response was queued with MHD */

    /* response */
    int status;
    struct MHD_Response *resp;
    struct srv_header *headers;
    size_t nheaders;
    uint64_t resp_bytes;

    /* handler state */
    void *state;
    void (*state_free)(void *);
};

/* ---- request accessors --------------------------------------------------- */

const char *srv_req_method(const struct srv_request *req)
{
    return req->method;
}

const char *srv_req_raw_path(const struct srv_request *req)
{
    return req->raw_path;
}

const char *srv_req_path(const struct srv_request *req)
{
    return req->path;
}

const char *srv_req_header(const struct srv_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *srv_req_query(const struct srv_request *req, const char *name)
{
    /* The unescape callback is the identity (raw URLs reach us), so decode
     * the value here; MHD lets us unescape the stored argument in place. */
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v)
        return NULL;
    char *w = (char *)v;
    for (char *p = w; *p; p++)
        if (*p == '+')
            *p = ' ';
    MHD_http_unescape(w);
    return w;
}

const char *srv_req_query_raw(const struct srv_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *srv_req_user(const struct srv_request *req)
{
    return req->has_user ? req->user : NULL;
}

int srv_req_is_admin(const struct srv_request *req)
{
    return req->has_user && req->is_admin;
}

const char *srv_req_id(const struct srv_request *req)
{
    return req->id;
}

const char *srv_req_peer(const struct srv_request *req)
{
    return req->peer;
}

const char *srv_req_body(const struct srv_request *req, size_t *len)
{
    if (len)
        *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

int64_t srv_req_content_length(const struct srv_request *req)
{
    return req->content_length;
}

const struct mg_config *srv_req_config(const struct srv_request *req)
{
    return req->srv->cfg;
}

void srv_req_set_state(struct srv_request *req, void *state, void (*free_fn)(void *))
{
    if (req->state && req->state_free && req->state != state)
        req->state_free(req->state);
    req->state = state;
    req->state_free = free_fn;
}

void *srv_req_state(const struct srv_request *req)
{
    return req->state;
}

void srv_req_set_body_sink(struct srv_request *req, srv_body_fn fn, void *ctx)
{
    req->sink = fn;
    req->sink_ctx = ctx;
}

/* ---- responses ----------------------------------------------------------- */

int srv_resp_header(struct srv_request *req, const char *name, const char *value)
{
    struct srv_header *h = realloc(req->headers, (req->nheaders + 1) * sizeof(*h));
    if (!h)
        return MG_ENOMEM;
    req->headers = h;
    h[req->nheaders].name = strdup(name);
    h[req->nheaders].value = strdup(value);
    if (!h[req->nheaders].name || !h[req->nheaders].value) {
        free(h[req->nheaders].name);
        free(h[req->nheaders].value);
        return MG_ENOMEM;
    }
    req->nheaders++;
    return 0;
}

/* Replaces any response already chosen. */
static void srv_set_response(struct srv_request *req, int status, struct MHD_Response *resp,
                             const char *ctype)
{
    if (req->resp)
        MHD_destroy_response(req->resp);
    req->resp = resp;
    req->status = status;
    if (resp && ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
}

int srv_respond(struct srv_request *req, int status, const char *ctype, const void *data,
                size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    srv_set_response(req, status, r, ctype);
    req->resp_bytes = len;
    return status;
}

int srv_respond_buf(struct srv_request *req, int status, const char *ctype, struct buf *b)
{
    size_t len;
    char *data = buf_detach(b, &len);
    if (!data)
        return srv_respond(req, 500, NULL, NULL, 0);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(data);
    srv_set_response(req, status, r, ctype);
    req->resp_bytes = len;
    return status;
}

struct srv_stream {
    srv_read_fn fn;
    void *ctx;
    void (*free_fn)(void *);
};

static ssize_t srv_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct srv_stream *st = cls;
    long n = st->fn(st->ctx, pos, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void srv_stream_free(void *cls)
{
    struct srv_stream *st = cls;
    if (st->free_fn)
        st->free_fn(st->ctx);
    free(st);
}

int srv_respond_stream(struct srv_request *req, int status, const char *ctype, uint64_t size,
                       srv_read_fn fn, void *ctx, void (*free_fn)(void *))
{
    struct srv_stream *st = malloc(sizeof(*st));
    if (!st) {
        if (free_fn)
            free_fn(ctx);
        return srv_respond(req, 500, NULL, NULL, 0);
    }
    st->fn = fn;
    st->ctx = ctx;
    st->free_fn = free_fn;
    uint64_t mhd_size = size == UINT64_MAX ? MHD_SIZE_UNKNOWN : size;
    /* 64 KiB blocks: few callbacks per chunk, bounded memory per connection */
    struct MHD_Response *r = MHD_create_response_from_callback(mhd_size, 64 * 1024,
                                                               srv_stream_read, st,
                                                               srv_stream_free);
    if (!r) {
        srv_stream_free(st);
        return srv_respond(req, 500, NULL, NULL, 0);
    }
    srv_set_response(req, status, r, ctype);
    req->resp_bytes = size == UINT64_MAX ? 0 : size;
    return status;
}

static const char *srv_status_text(int status)
{
    switch (status) {
    case 200: return "ok";
    case 201: return "created";
    case 204: return "no content";
    case 207: return "multi-status";
    case 301: return "moved permanently";
    case 304: return "not modified";
    case 400: return "bad request";
    case 401: return "authentication required";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 409: return "conflict";
    case 412: return "precondition failed";
    case 413: return "request body too large";
    case 415: return "unsupported media type";
    case 416: return "range not satisfiable";
    case 423: return "locked";
    case 429: return "too many requests";
    case 431: return "request header fields too large";
    case 500: return "internal server error";
    case 501: return "not implemented";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 507: return "insufficient storage";
    default: return "error";
    }
}

int srv_respond_text(struct srv_request *req, int status, const char *fmt, ...)
{
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "%d %s: ", status, srv_status_text(status));
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_putc(&b, '\n');
    return srv_respond_buf(req, status, "text/plain; charset=utf-8", &b);
}

/* Queues the chosen response (or a default one for status) with MHD. */
static enum MHD_Result srv_queue(struct srv_request *req, int status)
{
    if (status < 100 || status > 599) {
        log_err("handler returned invalid status %d", status);
        status = 500;
    }
    if (!req->resp || req->status != status) {
        if (req->resp && req->status != status)
            log_debug("handler status %d overrides response %d", status, req->status);
        if (!req->resp)
            srv_respond_text(req, status, "%s", req->path ? req->path : "request");
        req->status = status;
    }
    if (!req->resp)
        return MHD_NO;
    for (size_t i = 0; i < req->nheaders; i++)
        MHD_add_response_header(req->resp, req->headers[i].name, req->headers[i].value);
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status, req->resp);
    MHD_destroy_response(req->resp);
    req->resp = NULL;
    req->queued = 1;
    return rc;
}

/* ---- routing and authentication ------------------------------------------ */

/* 1 when method is in the comma-separated list (NULL = every method). */
static int srv_method_listed(const char *list, const char *method)
{
    if (!list)
        return 1;
    size_t mlen = strlen(method);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == mlen && strncmp(p, method, n) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static const struct srv_route *srv_match(const struct srv_server *s, const char *path,
                                         const char *method)
{
    const struct srv_route *best = NULL;
    size_t best_len = 0;
    size_t plen = strlen(path);
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct srv_route *r = &s->routes[i];
        size_t len = strlen(r->prefix);
        int hit = strncmp(path, r->prefix, len) == 0;
        /* "/dav" matches the route "/dav/" */
        if (!hit && len > 1 && r->prefix[len - 1] == '/' && plen == len - 1 &&
            strncmp(path, r->prefix, len - 1) == 0)
            hit = 1;
        if (!hit || !srv_method_listed(r->methods, method))
            continue;
        /* longer prefix wins; at equal length a method-specific route wins */
        if (!best || len > best_len || (len == best_len && r->methods && !best->methods)) {
            best = r;
            best_len = len;
        }
    }
    return best;
}

/* Returns 0 when the request may proceed, else the HTTP status already set. */
static int srv_authenticate(struct srv_request *req)
{
    struct srv_server *s = req->srv;
    enum srv_auth_mode mode = req->route->auth;
    if (mode == SRV_AUTH_NONE)
        return 0;

    const char *authz = srv_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0 && s->auth.check_bearer) {
        int admin = 0;
        if (s->auth.check_bearer(s->auth.ctx, authz + 7, req->user, sizeof(req->user),
                                 &admin) == 0) {
            req->has_user = 1;
            req->is_admin = admin;
            return 0;
        }
        if (mode == SRV_AUTH_OPTIONAL)
            return 0;
        srv_resp_header(req, "WWW-Authenticate", "Bearer realm=\"" SRV_REALM "\"");
        return srv_respond_text(req, 401, "invalid or expired token");
    }

    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(req->conn, &pass);
    int rc = 0;
    if (user && pass && s->auth.check_basic) {
        int admin = 0;
        int arc = s->auth.check_basic(s->auth.ctx, user, pass, req->peer, &admin);
        if (arc == 0 && strlen(user) < sizeof(req->user)) {
            memcpy(req->user, user, strlen(user) + 1);
            req->has_user = 1;
            req->is_admin = admin;
        } else if (arc == MG_ETOOBIG) {
            srv_resp_header(req, "Retry-After", "60");
            rc = srv_respond_text(req, 429, "too many failed logins, try again later");
        } else if (arc != MG_EDENIED) {
            srv_resp_header(req, "Retry-After", "5");
            rc = srv_respond_text(req, 503, "accounts are unavailable right now: %s",
                                  mg_strerror(arc));
        } else if (mode == SRV_AUTH_BASIC) {
            log_info("auth failed user=%s peer=%s", user, req->peer);
            srv_resp_header(req, "WWW-Authenticate",
                            "Basic realm=\"" SRV_REALM "\", charset=\"UTF-8\"");
            rc = srv_respond_text(req, 401, "wrong user name or password");
        }
    } else if (mode == SRV_AUTH_BASIC) {
        srv_resp_header(req, "WWW-Authenticate",
                        "Basic realm=\"" SRV_REALM "\", charset=\"UTF-8\"");
        rc = srv_respond_text(req, 401, "credentials required");
    }
    if (pass) {
        sodium_memzero(pass, strlen(pass));
        MHD_free(pass);
    }
    if (user)
        MHD_free(user);
    return rc;
}

/* ---- MHD callbacks ------------------------------------------------------- */

static void srv_peer_text(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

/* First callback of a request: set up state, route, authenticate, begin(). */
static enum MHD_Result srv_first_call(struct srv_server *s, struct MHD_Connection *conn,
                                      const char *url, const char *method, void **con_cls)
{
    struct srv_request *req = calloc(1, sizeof(*req));
    if (!req)
        return MHD_NO;
    *con_cls = req;
    atomic_fetch_add(&s->active, 1);
    req->srv = s;
    req->conn = conn;
    req->method = method;
    req->started_ms = mg_mono_ms();
    buf_init(&req->body);
    snprintf(req->id, sizeof(req->id), "%04x%06lx", s->id_prefix & 0xffff,
             (unsigned long)(atomic_fetch_add(&s->next_id, 1) & 0xffffff));
    log_set_request_id(req->id);
    srv_peer_text(conn, req->peer, sizeof(req->peer));
    req->raw_path = strdup(url);
    if (!req->raw_path)
        return MHD_NO;

    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t clen;
    req->content_length = (cl && mg_parse_u64(cl, &clen) == 0) ? (int64_t)clen : -1;

    int status;
    if (mg_path_decode(url, &req->path) != 0) {
        status = srv_respond_text(req, 400, "malformed request path");
        goto answer;
    }
    req->route = srv_match(s, req->path, method);
    if (!req->route) {
        status = srv_respond_text(req, 404, "no such resource: %s", req->path);
        goto answer;
    }
    status = srv_authenticate(req);
    if (status)
        goto answer;
    req->began = 1;
    status = req->route->begin ? req->route->begin(req, req->route->ctx) : 0;
    if (status)
        goto answer;
    if (!req->sink && req->content_length > 0 &&
        (uint64_t)req->content_length > s->cfg->limits.max_body) {
        status = srv_respond_text(req, 413, "body larger than %llu bytes",
                                  (unsigned long long)s->cfg->limits.max_body);
        goto answer;
    }
    log_set_request_id(NULL);
    return MHD_YES;

answer:
    req->body_status = status;
    if (req->content_length <= 0 &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        /* No body: answer on the next callback. Queueing on the first one
         * makes MHD close the connection, which costs keep-alive clients
         * (every DAV client) a reconnect per 401/404. */
        log_set_request_id(NULL);
        return MHD_YES;
    }
    /* A body follows. A client that waits for 100 Continue, or one sending
     * more than SRV_DROP_MAX or of no announced size, is answered now: MHD
     * never sends 100 Continue and closes the connection after the answer,
     * so an early 401/412/413 costs no upload. A small body that is already
     * on its way is read and dropped first (srv_on_request) and the answer
     * comes after it: closing a socket with unread bytes resets the
     * connection, and the client would see the reset instead of the answer. */
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    int waits = expect && strcasecmp(expect, "100-continue") == 0;
    if (!waits && req->content_length > 0 && (uint64_t)req->content_length <= SRV_DROP_MAX) {
        log_set_request_id(NULL);
        return MHD_YES;
    }
    {
        enum MHD_Result r = srv_queue(req, status);
        log_set_request_id(NULL);
        return r;
    }
}

static enum MHD_Result srv_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    struct srv_server *s = cls;
    struct srv_request *req = *con_cls;
    if (!req)
        return srv_first_call(s, conn, url, method, con_cls);
    if (req->queued) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    log_set_request_id(req->id);

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->body_status) {
            /* already failed: discard the rest */
        } else if (req->sink) {
            int st = req->sink(req, upload_data, n, req->sink_ctx);
            if (st)
                req->body_status = st;
        } else if (req->body.len + n > s->cfg->limits.max_body) {
            buf_release(&req->body);
            req->body_status = srv_respond_text(req, 413, "body larger than %llu bytes",
                                                (unsigned long long)s->cfg->limits.max_body);
        } else if (buf_append(&req->body, upload_data, n)) {
            req->body_status = srv_respond_text(req, 500, "out of memory");
        }
        log_set_request_id(NULL);
        return MHD_YES;
    }

    int status = req->body_status;
    if (!status)
        status = req->route->end ? req->route->end(req, req->route->ctx) : 500;
    enum MHD_Result r = srv_queue(req, status);
    log_set_request_id(NULL);
    return r;
}

static void srv_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                             enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct srv_server *s = cls;
    struct srv_request *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;
    uint64_t ms = mg_mono_ms() - req->started_ms;
    log_set_request_id(req->id);
    int status = req->queued ? req->status : 0;
    log_info("%s %s status=%d bytes=%llu ms=%llu user=%s peer=%s%s", req->method,
             req->raw_path ? req->raw_path : "-", status, (unsigned long long)req->resp_bytes,
             (unsigned long long)ms, req->has_user ? req->user : "-", req->peer,
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    metrics_observe_request(req->method, status, ms);
    log_set_request_id(NULL);
    if (req->state && req->state_free)
        req->state_free(req->state);
    if (req->resp)
        MHD_destroy_response(req->resp);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->headers);
    buf_release(&req->body);
    free(req->raw_path);
    free(req->path);
    free(req);
    atomic_fetch_sub(&s->active, 1);
}

/* Raw URLs reach the handler: decoding happens once, in mg_path_decode, which
 * refuses %00 and encoded traversal that MHD's own unescaping would let by. */
static size_t srv_unescape_identity(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void srv_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_warn("libmicrohttpd: %s", line);
}

/* ---- server lifecycle ---------------------------------------------------- */

static char *srv_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    return buf_detach(&b, NULL);
}

int srv_new(const struct mg_config *cfg, const struct srv_auth_ops *auth,
            struct srv_server **out)
{
    struct srv_server *s = calloc(1, sizeof(*s));
    if (!s)
        return MG_ENOMEM;
    s->cfg = cfg;
    if (auth)
        s->auth = *auth;
    s->id_prefix = randombytes_random();
    atomic_init(&s->active, 0);
    atomic_init(&s->next_id, 1);
    *out = s;
    return 0;
}

int srv_add_route(struct srv_server *s, const struct srv_route *route)
{
    if (s->nroutes >= SRV_MAX_ROUTES)
        return MG_ETOOBIG;
    s->routes[s->nroutes++] = *route;
    return 0;
}

int srv_start(struct srv_server *s)
{
    const struct mg_config *cfg = s->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sslen;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->listen_host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)cfg->listen_port);
        sslen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, cfg->listen_host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)cfg->listen_port);
        sslen = sizeof(*sin6);
        flags |= MHD_USE_IPv6;
    } else if (strcmp(cfg->listen_host, "localhost") == 0) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)cfg->listen_port);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sslen = sizeof(*sin);
    } else {
        log_err("listen address must be a numeric IPv4/IPv6 address, got %s", cfg->listen_host);
        return MG_EINVAL;
    }
    (void)sslen;

    if (cfg->threads == 0)
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    else
        flags |= MHD_USE_EPOLL;
    if (cfg->tls_cert) {
        s->tls_cert_pem = srv_read_file(cfg->tls_cert);
        s->tls_key_pem = srv_read_file(cfg->tls_key);
        if (!s->tls_cert_pem || !s->tls_key_pem) {
            log_err("cannot read tls_cert %s or tls_key %s", cfg->tls_cert, cfg->tls_key);
            return MG_EIO;
        }
        flags |= MHD_USE_TLS;
    }

    /* The memory limit bounds the request line and headers (431 beyond it)
     * plus MHD's read buffer; keep room for the read buffer on top. */
    size_t memlimit = cfg->limits.max_header + 16 * 1024;
    struct MHD_OptionItem opts[16];
    int n = 0;
    /* the logger first, so that MHD's messages about later options reach it */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)srv_mhd_log, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                        (intptr_t)srv_on_completed, s};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK,
                                        (intptr_t)srv_unescape_identity, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)memlimit,
                                        NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                        cfg->limits.max_connections, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                        cfg->limits.max_connections_per_ip, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        cfg->limits.connection_timeout, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
    if (cfg->threads > 0)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL};
    if (s->tls_cert_pem) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    s->daemon = MHD_start_daemon(flags, (uint16_t)cfg->listen_port, NULL, NULL, srv_on_request,
                                 s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!s->daemon) {
        if (s->tls_cert_pem)
            log_err("cannot serve HTTPS on %s:%d: check that tls_cert %s and tls_key %s are a "
                    "PEM certificate and its private key (or the address is in use)",
                    cfg->listen_host, cfg->listen_port, cfg->tls_cert, cfg->tls_key);
        else
            log_err("cannot listen on %s:%d (address in use or not available?)",
                    cfg->listen_host, cfg->listen_port);
        return MG_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->listen_port;
    return 0;
}

int srv_port(const struct srv_server *s)
{
    return s->port;
}

void srv_free(struct srv_server *s)
{
    if (!s)
        return;
    if (s->daemon) {
        /* Stop accepting, then give in-flight requests up to 10 s to finish. */
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
        uint64_t deadline = mg_mono_ms() + 10000;
        while (atomic_load(&s->active) > 0 && mg_mono_ms() < deadline) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&s->active) > 0)
            log_warn("shutdown: %ld requests still running after 10 s",
                     (long)atomic_load(&s->active));
        MHD_stop_daemon(s->daemon);
    }
    free(s->tls_cert_pem);
    if (s->tls_key_pem) {
        sodium_memzero(s->tls_key_pem, strlen(s->tls_key_pem));
        free(s->tls_key_pem);
    }
    free(s);
}
