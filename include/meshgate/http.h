/*
 * http.h - the HTTP server glue (server/http.c) as protocol handlers see it.
 *
 * Handlers are registered by path prefix in server/main.c. For each request
 * the glue authenticates (per the route's auth mode), then calls
 *   begin(req)  once, when the request line and headers are complete, and
 *   end(req)    once, when the whole body has arrived.
 * begin may answer at once (return an HTTP status after setting a response,
 * e.g. 401/412/413 before any body is read), may install a body sink to
 * stream the body itself, or return 0 to let the glue buffer the body (up to
 * limits.max_body, else 413) and continue with end().
 * Handlers return an HTTP status; only the glue maps it to libmicrohttpd.
 * If a handler returns a status without queueing a response, the glue sends
 * a plain-text body naming the status.
 */
#ifndef MESHGATE_HTTP_H
#define MESHGATE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/common.h"
#include "meshgate/config.h"

struct srv_request;
struct srv_server;

enum srv_auth_mode {
    SRV_AUTH_NONE = 0, /* public route */
    SRV_AUTH_BASIC,    /* HTTP Basic required (401 + WWW-Authenticate otherwise) */
    SRV_AUTH_OPTIONAL  /* authenticate if credentials are present; never 401 by itself */
};

struct srv_route {
    const char *prefix; /* matched against the raw URL path: "/dav/" */
    enum srv_auth_mode auth;
    int (*begin)(struct srv_request *req, void *ctx);
    int (*end)(struct srv_request *req, void *ctx);
    void *ctx;
    /* NULL: every method. Otherwise a comma-separated list ("PROPFIND,OPTIONS");
     * among routes with the same prefix, one naming the method wins over one
     * for every method, so "/" can serve portal files and answer PROPFIND. */
    const char *methods;
};

/* Body sink installed by begin(): receives the body in pieces. Returns 0 to
 * continue or an HTTP status to stop reading (the handler must then have set
 * a response, or the glue answers with that status). */
typedef int (*srv_body_fn)(struct srv_request *req, const char *data, size_t len, void *ctx);

/* Streaming response reader: fill up to max bytes at pos into buf, return the
 * count, 0 at the end, or -1 on error (the connection is closed). */
typedef long (*srv_read_fn)(void *ctx, uint64_t pos, char *buf, size_t max);

/* ---- the request ------------------------------------------------------- */

const char *srv_req_method(const struct srv_request *req);
/* The raw (still percent-encoded) path, without the query string. */
const char *srv_req_raw_path(const struct srv_request *req);
/* The decoded, normalised path (mg_path_decode); never NULL in a handler:
 * requests whose path fails to decode get 400 from the glue. */
const char *srv_req_path(const struct srv_request *req);
/* A request header (case-insensitive name) or NULL. */
const char *srv_req_header(const struct srv_request *req, const char *name);
/* A query-string argument or NULL. */
const char *srv_req_query(const struct srv_request *req, const char *name);
/* A query-string argument with its percent escapes not decoded (libmicrohttpd
 * has turned '+' into a space already), or NULL; for values that must be
 * decoded by mg_path_decode's rules. Do not also ask srv_req_query for the
 * same name: it decodes in place. */
const char *srv_req_query_raw(const struct srv_request *req, const char *name);
/* The authenticated user name, or NULL. */
const char *srv_req_user(const struct srv_request *req);
/* 1 when the authenticated user has the admin role. */
int srv_req_is_admin(const struct srv_request *req);
/* Short unique id of this request (also on every log line of the request). */
const char *srv_req_id(const struct srv_request *req);
/* The client's address as text. */
const char *srv_req_peer(const struct srv_request *req);
/* The buffered body (NUL-terminated) and its length; empty when streamed. */
const char *srv_req_body(const struct srv_request *req, size_t *len);
/* The request's Content-Length, or -1 when absent (chunked). */
int64_t srv_req_content_length(const struct srv_request *req);
/* The server's configuration. */
const struct mg_config *srv_req_config(const struct srv_request *req);

/* Per-request handler state, freed with free_fn when the request completes. */
void srv_req_set_state(struct srv_request *req, void *state, void (*free_fn)(void *));
void *srv_req_state(const struct srv_request *req);
/* Installs a body sink (only from begin). */
void srv_req_set_body_sink(struct srv_request *req, srv_body_fn fn, void *ctx);

/* ---- the response -------------------------------------------------------- */

/* Adds a response header; may be called before or after choosing the body.
 * Returns 0 or MG_ENOMEM. */
int srv_resp_header(struct srv_request *req, const char *name, const char *value);
/* Sets a response whose body is copied from data. ctype may be NULL.
 * Returns status for convenience: `return srv_respond(req, 404, ...)`. */
int srv_respond(struct srv_request *req, int status, const char *ctype, const void *data,
                size_t len);
/* Like srv_respond, taking ownership of b's storage (b is left empty). */
int srv_respond_buf(struct srv_request *req, int status, const char *ctype, struct buf *b);
/* A body produced by fn in pieces; size may be UINT64_MAX when unknown
 * (chunked). free_fn(ctx) is called when the response is done. */
int srv_respond_stream(struct srv_request *req, int status, const char *ctype, uint64_t size,
                       srv_read_fn fn, void *ctx, void (*free_fn)(void *));
/* A response with a short plain-text message body ("404 not found: /x"). */
int srv_respond_text(struct srv_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks the response as a HEAD response: headers (incl. Content-Length) without body.
 * The glue does this for HEAD automatically. */

/* ---- the server ---------------------------------------------------------- */

/* Hooks the glue uses for authentication (implemented by server/auth.c). */
struct srv_auth_ops {
    /* Returns 0 when user/password are valid; MG_EDENIED when wrong; MG_ETOOBIG when
     * rate-limited. *is_admin receives the admin role. */
    int (*check_basic)(void *ctx, const char *user, const char *pass, const char *peer,
                       int *is_admin);
    /* Optional: bearer tokens (REST). Fills user (cap bytes). */
    int (*check_bearer)(void *ctx, const char *token, char *user, size_t cap, int *is_admin);
    void *ctx;
};

/* Creates the server (not yet listening). cfg is borrowed and must outlive it. */
int srv_new(const struct mg_config *cfg, const struct srv_auth_ops *auth,
            struct srv_server **out);
/* Registers a route; longest prefix wins. route is copied. */
int srv_add_route(struct srv_server *s, const struct srv_route *route);
/* Starts listening. Returns 0 or MG_EIO with a logged reason. */
int srv_start(struct srv_server *s);
/* Stops accepting, lets in-flight requests finish, frees everything. NULL-safe. */
void srv_free(struct srv_server *s);
/* The port actually bound (useful with port 0). */
int srv_port(const struct srv_server *s);

#endif
