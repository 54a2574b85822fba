/*
 * api.c - the REST module: its route table, matching of requests to routes,
 * and the life cycle of a request: route (404/405), bearer authentication
 * (401/403), content type (415) and size (413) checked in begin() before any
 * body is read, the body collected by a sink with a hard cap, JSON parsed with
 * a depth limit (400), then the handler. Uploads (API_BODY_STREAM) instead
 * run their handler in begin() and get the body streamed, uncapped here.
 *
 * Every error is an RFC 9457 problem (json.c). Handlers return HTTP statuses.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_private.h"
#include "meshgate/dav.h"


/* The route table. Keep api/openapi.json in step: tests/unit/check_api.c
 * fails when a route is missing from the document or the other way round. */
const struct api_route api_routes[] = {
    {"GET", API_BASE "/node", API_PUBLIC, API_BODY_NONE, 0, api_node_get},
    {"GET", API_BASE "/openapi.json", API_PUBLIC, API_BODY_NONE, 0, api_openapi_get},
    {"POST", API_BASE "/signup", API_PUBLIC, API_BODY_JSON, 0, api_signup},
    {"POST", API_BASE "/login", API_PUBLIC, API_BODY_JSON, 0, api_login},
    {"POST", API_BASE "/logout", API_USER, API_BODY_NONE, 0, api_logout},
    {"GET", API_BASE "/me", API_USER, API_BODY_NONE, 0, api_me_get},
    {"DELETE", API_BASE "/me", API_USER, API_BODY_JSON, 0, api_me_delete},
    {"POST", API_BASE "/me/password", API_USER, API_BODY_JSON, 0, api_me_password},
    {"GET", API_BASE "/cluster", API_ADMIN, API_BODY_NONE, 0, api_cluster_get},
    {"GET", API_BASE "/admin/settings", API_ADMIN, API_BODY_NONE, 0, api_settings_get},
    {"PUT", API_BASE "/admin/settings", API_ADMIN, API_BODY_JSON, 0, api_settings_put},
    {"GET", API_BASE "/admin/invites", API_ADMIN, API_BODY_NONE, 0, api_invites_list},
    {"POST", API_BASE "/admin/invites", API_ADMIN, API_BODY_JSON_OPT, 0, api_invites_create},
    {"DELETE", API_BASE "/admin/invites/{invite}", API_ADMIN, API_BODY_NONE, 0, api_invite_delete},
    {"GET", API_BASE "/mail/mailboxes", API_USER, API_BODY_NONE, 0, api_mailboxes_list},
    {"POST", API_BASE "/mail/mailboxes", API_USER, API_BODY_JSON, 0, api_mailbox_create},
    {"GET", API_BASE "/mail/mailboxes/{mailbox}", API_USER, API_BODY_NONE, 0, api_mailbox_get},
    {"DELETE", API_BASE "/mail/mailboxes/{mailbox}", API_USER, API_BODY_NONE, 0,
     api_mailbox_delete},
    {"GET", API_BASE "/mail/mailboxes/{mailbox}/messages", API_USER, API_BODY_NONE, 1,
     api_messages_list},
    {"POST", API_BASE "/mail/mailboxes/{mailbox}/messages", API_USER, API_BODY_JSON_OR_MAIL, 1,
     api_message_append},
    {"GET", API_BASE "/mail/mailboxes/{mailbox}/messages/{id}", API_USER, API_BODY_NONE, 1,
     api_message_get},
    {"PATCH", API_BASE "/mail/mailboxes/{mailbox}/messages/{id}", API_USER, API_BODY_JSON, 0,
     api_message_patch},
    {"DELETE", API_BASE "/mail/mailboxes/{mailbox}/messages/{id}", API_USER, API_BODY_NONE, 0,
     api_message_delete},
    {"GET", API_BASE "/mail/mailboxes/{mailbox}/messages/{id}/raw", API_USER, API_BODY_NONE, 1,
     api_message_raw},
    {"GET", API_BASE "/mail/mailboxes/{mailbox}/messages/{id}/attachments/{index}", API_USER,
     API_BODY_NONE, 1, api_message_attachment},
    {"POST", API_BASE "/mail/mailboxes/{mailbox}/messages/{id}/move", API_USER, API_BODY_JSON, 0,
     api_message_move},
    {"POST", API_BASE "/mail/send", API_USER, API_BODY_JSON, 1, api_mail_send},
    {"GET", API_BASE "/mail/search", API_USER, API_BODY_NONE, 1, api_mail_search},
    {"GET", API_BASE "/addressbooks", API_USER, API_BODY_NONE, 0, api_addressbooks_list},
    {"GET", API_BASE "/addressbooks/{book}/contacts", API_USER, API_BODY_NONE, 0,
     api_contacts_list},
    {"POST", API_BASE "/addressbooks/{book}/contacts", API_USER, API_BODY_JSON_DOC, 0,
     api_contact_create},
    {"GET", API_BASE "/addressbooks/{book}/contacts/{id}", API_USER, API_BODY_NONE, 0,
     api_contact_get},
    {"PUT", API_BASE "/addressbooks/{book}/contacts/{id}", API_USER, API_BODY_JSON_DOC, 0,
     api_contact_put},
    {"DELETE", API_BASE "/addressbooks/{book}/contacts/{id}", API_USER, API_BODY_NONE, 0,
     api_contact_delete},
    {"GET", API_BASE "/calendars", API_USER, API_BODY_NONE, 0, api_calendars_list},
    {"GET", API_BASE "/calendars/{calendar}/events", API_USER, API_BODY_NONE, 0, api_events_list},
    {"POST", API_BASE "/calendars/{calendar}/events", API_USER, API_BODY_JSON_DOC, 0,
     api_event_create},
    {"GET", API_BASE "/calendars/{calendar}/events/{id}", API_USER, API_BODY_NONE, 0,
     api_event_get},
    {"PUT", API_BASE "/calendars/{calendar}/events/{id}", API_USER, API_BODY_JSON_DOC, 0,
     api_event_put},
    {"DELETE", API_BASE "/calendars/{calendar}/events/{id}", API_USER, API_BODY_NONE, 0,
     api_event_delete},
    {"GET", API_BASE "/files", API_USER, API_BODY_NONE, 0, api_files_get},
    {"DELETE", API_BASE "/files", API_USER, API_BODY_NONE, 0, api_files_delete},
    {"GET", API_BASE "/files/content", API_USER, API_BODY_NONE, 0, api_file_download},
    {"PUT", API_BASE "/files/content", API_USER, API_BODY_STREAM, 0, api_file_upload},
    {"POST", API_BASE "/files/move", API_USER, API_BODY_JSON, 0, api_files_move},
    {"POST", API_BASE "/files/folders", API_USER, API_BODY_JSON, 0, api_folder_create},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

/* ---- the module ------------------------------------------------------------------------- */

struct api_module *api_new(struct dht *d, const struct mg_config *cfg)
{
    struct api_module *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->d = d;
    m->cfg = cfg;
    int rc = api_tokens_open(d, &m->tokens);
    if (rc) {
        log_err("api: cannot load the cluster token key: %s", mg_strerror(rc));
        api_free(m);
        return NULL;
    }
    m->own_auth = auth_new(d, cfg);
    if (!m->own_auth) {
        api_free(m);
        return NULL;
    }
    m->auth = m->own_auth;
    m->dav = dav_new(d, cfg);
    if (!m->dav) {
        api_free(m);
        return NULL;
    }
    return m;
}

void api_free(struct api_module *m)
{
    if (!m)
        return;
    api_tokens_free(m->tokens);
    auth_free(m->own_auth);
    dav_free(m->dav);
    free(m);
}

void api_use_auth(struct api_module *m, struct srv_auth *auth)
{
    m->auth = auth ? auth : m->own_auth;
}

void api_kdf_enter(struct api_module *m)
{
    auth_kdf_enter(m->auth);
}

void api_kdf_leave(struct api_module *m)
{
    auth_kdf_leave(m->auth);
}

int api_check_bearer(void *ctx, const char *token, char *user, size_t cap, int *is_admin)
{
    struct api_module *m = ctx;
    struct api_token tok;
    while (*token == ' ')
        token++;
    enum api_token_status st = api_token_verify(m->tokens, token, mg_now_ms(), &tok);
    int rc = MG_EDENIED;
    if (st == API_TOKEN_OK && strlen(tok.user) < cap) {
        memcpy(user, tok.user, strlen(tok.user) + 1);
        *is_admin = tok.admin;
        rc = 0;
    }
    sodium_memzero(&tok, sizeof(tok));
    return rc;
}

/* ---- matching -------------------------------------------------------------------------------- */

int api_match(const char *pattern, const char *path, char **params, size_t *nparams, char **copy)
{
    *nparams = 0;
    *copy = NULL;
    size_t len = strlen(path);
    /* "/api/v1/me/" is "/api/v1/me" */
    if (len > 1 && path[len - 1] == '/')
        len--;
    char *p = strndup(path, len);
    if (!p)
        return 0;
    const char *pat = pattern;
    char *s = p;
    size_t n = 0;
    char *ends[API_MAX_PARAMS];
    while (*pat || *s) {
        if (*pat != '/' || *s != '/')
            goto nomatch;
        pat++;
        s++;
        size_t pn = strcspn(pat, "/");
        size_t sn = strcspn(s, "/");
        if (pat[0] == '{') {
            if (sn == 0 || n == API_MAX_PARAMS)
                goto nomatch;
            params[n] = s;
            ends[n] = s + sn;
            n++;
        } else if (pn != sn || strncmp(pat, s, pn) != 0) {
            goto nomatch;
        }
        pat += pn;
        s += sn;
    }
    for (size_t i = 0; i < n; i++)
        *ends[i] = '\0';
    *nparams = n;
    *copy = p;
    return 1;
nomatch:
    free(p);
    return 0;
}

/* ---- the request life cycle ---------------------------------------------------------------- */

static void api_call_free(void *state)
{
    struct api_call *c = state;
    if (!c)
        return;
    free(c->path_copy);
    sodium_free(c->sk);
    sodium_memzero(&c->token, sizeof(c->token));
    if (c->body.data)
        sodium_memzero(c->body.data, c->body.cap);
    buf_release(&c->body);
    json_decref(c->json);
    if (c->stream_free)
        c->stream_free(c->stream);
    free(c);
}

/* The methods allowed on path, for Allow (RFC 9110 10.2.1). */
static int api_allow(const char *path, struct buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < api_nroutes && !rc; i++) {
        char *params[API_MAX_PARAMS];
        size_t n;
        char *copy;
        if (!api_match(api_routes[i].pattern, path, params, &n, &copy))
            continue;
        free(copy);
        rc = buf_printf(out, "%s%s", out->len ? ", " : "", api_routes[i].method);
        if (!rc && strcmp(api_routes[i].method, "GET") == 0)
            rc = buf_puts(out, ", HEAD");
    }
    if (!rc && out->len)
        rc = buf_puts(out, ", OPTIONS");
    return rc;
}

/* 1 when the media type of ctype (parameters ignored) is want. */
static int api_media_is(const char *ctype, const char *want)
{
    while (*ctype == ' ')
        ctype++;
    size_t n = strcspn(ctype, "; \t");
    return n == strlen(want) && strncasecmp(ctype, want, n) == 0;
}

/* RFC 9110 9.2.1: methods that change nothing need no CSRF token. */
static int api_safe_method(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

static int api_authenticate(struct api_call *c)
{
    struct srv_request *req = c->req;
    const char *authz = srv_req_header(req, "Authorization");
    char cookie[API_TOKEN_MAX + 1];
    const char *text = NULL;
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
        text = authz + 7;
        while (*text == ' ')
            text++;
    } else if (!authz && api_cookie_value(srv_req_header(req, "Cookie"), API_SESSION_COOKIE,
                                          cookie, sizeof(cookie)) == 0) {
        text = cookie;
        c->by_cookie = 1;
    }
    if (!text) {
        srv_resp_header(req, "WWW-Authenticate", "Bearer realm=\"meshgate\"");
        return api_problem(req, 401, "unauthenticated",
                           "this resource needs a bearer token (POST " API_BASE
                           "/login, then send Authorization: Bearer <token>)");
    }
    enum api_token_status st = api_token_verify(c->m->tokens, text, mg_now_ms(), &c->token);
    if (st != API_TOKEN_OK) {
        struct buf h;
        buf_init(&h);
        /* RFC 6750 3: error and error_description */
        buf_printf(&h,
                   "Bearer realm=\"meshgate\", error=\"invalid_token\", "
                   "error_description=\"%s\"",
                   api_token_status_text(st));
        srv_resp_header(req, "WWW-Authenticate", h.data ? h.data : "Bearer");
        buf_release(&h);
        return api_problem(req, 401, "invalid-token", "%s; log in again",
                           api_token_status_text(st));
    }
    c->has_token = 1;
    /* Tokens are checked without the store; the account and its role are
     * authoritative in the store (a CLI deletion or a role change count at once). */
    struct acct_info info;
    int rc = acct_get_info(c->m->d, c->token.user, &info);
    if (rc == MG_ENOTFOUND) {
        srv_resp_header(req, "WWW-Authenticate",
                        "Bearer realm=\"meshgate\", error=\"invalid_token\"");
        return api_problem(req, 401, "invalid-token", "the account no longer exists");
    }
    if (rc)
        return api_problem(req, 503, "store-unavailable", "cannot read the account: %s",
                           mg_strerror(rc));
    if (c->token.iat_ms <= info.sessions_before_ms) {
        /* the password was changed or reset since (also from the command line) */
        srv_resp_header(req, "WWW-Authenticate",
                        "Bearer realm=\"meshgate\", error=\"invalid_token\"");
        return api_problem(req, 401, "invalid-token", "%s; log in again",
                           api_token_status_text(API_TOKEN_REVOKED));
    }
    c->token.admin = info.admin;
    if (c->by_cookie && !api_safe_method(srv_req_method(req))) {
        /* a cookie rides along on any request to this origin, even one
         * another site makes the browser send: only the page's own scripts
         * know the CSRF token to go with it */
        char want[API_CSRF_LEN + 1];
        const char *got = srv_req_header(req, API_CSRF_HEADER);
        api_token_csrf(c->m->tokens, &c->token, want);
        if (!got || strlen(got) != API_CSRF_LEN || sodium_memcmp(got, want, API_CSRF_LEN) != 0)
            return api_problem(req, 403, "csrf-token",
                               "a request with the session cookie must send the " API_CSRF_HEADER
                               " header given at login (or by GET " API_BASE "/me)");
    }
    if (c->route->access == API_ADMIN && !info.admin)
        return api_problem(req, 403, "admin-only", "this resource is for administrators");
    return 0;
}

static int api_body_sink(struct srv_request *req, const char *data, size_t len, void *ctx)
{
    struct api_call *c = ctx;
    if (c->route->body == API_BODY_STREAM)
        return c->body_write(c, data, len);
    if (c->route->body == API_BODY_NONE)
        return 0; /* ignored */
    uint64_t max = srv_req_config(req)->limits.max_body;
    if (c->body.len + len > max) {
        buf_release(&c->body);
        return api_problem(req, 413, "body-too-large", "the body is larger than %llu bytes",
                           (unsigned long long)max);
    }
    if (buf_append(&c->body, data, len))
        return api_problem(req, 500, NULL, "out of memory");
    return 0;
}

static int api_begin(struct srv_request *req, void *ctx)
{
    struct api_module *m = ctx;
    struct api_call *c = calloc(1, sizeof(*c));
    if (!c)
        return srv_respond_text(req, 500, "out of memory");
    c->m = m;
    c->req = req;
    buf_init(&c->body);
    srv_req_set_state(req, c, api_call_free);
    /* answers carry tokens, mail and account data: never cached */
    srv_resp_header(req, "Cache-Control", "no-store");

    const char *method = srv_req_method(req);
    const char *path = srv_req_path(req);
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    int known = 0;
    for (size_t i = 0; i < api_nroutes && !c->route; i++) {
        char *copy;
        if (!api_match(api_routes[i].pattern, path, c->params, &c->nparams, &copy))
            continue;
        known = 1;
        if (strcmp(api_routes[i].method, want) == 0) {
            c->route = &api_routes[i];
            c->path_copy = copy;
        } else {
            free(copy);
        }
    }
    if (!c->route) {
        c->nparams = 0;
        if (!known)
            return api_problem(req, 404, "no-such-resource",
                               "no API resource at %s (see " API_BASE "/openapi.json)", path);
        struct buf allow;
        buf_init(&allow);
        if (api_allow(path, &allow)) {
            buf_release(&allow);
            return api_problem(req, 500, NULL, "out of memory");
        }
        srv_resp_header(req, "Allow", allow.data);
        int status;
        if (strcmp(method, "OPTIONS") == 0)
            status = srv_respond(req, 204, NULL, NULL, 0);
        else
            status = api_problem(req, 405, "method-not-allowed", "%s is not allowed on %s; use %s",
                                 method, path, allow.data);
        buf_release(&allow);
        return status;
    }

    if (c->route->access != API_PUBLIC) {
        int st = api_authenticate(c);
        if (st)
            return st;
    }
    if (c->route->body == API_BODY_STREAM) {
        /* the handler refuses what it must before any byte is read */
        int st = c->route->fn(c);
        if (!st)
            srv_req_set_body_sink(req, api_body_sink, c);
        return st;
    }

    int64_t clen = srv_req_content_length(req);
    uint64_t max = m->cfg->limits.max_body;
    int has_body = clen > 0 || (clen < 0 && srv_req_header(req, "Transfer-Encoding"));
    if (clen > 0 && (uint64_t)clen > max)
        return api_problem(req, 413, "body-too-large", "the body is larger than %llu bytes",
                           (unsigned long long)max);
    if (has_body && c->route->body != API_BODY_NONE) {
        const char *ctype = srv_req_header(req, "Content-Type");
        int json = ctype && (api_media_is(ctype, "application/json") ||
                             api_media_is(ctype, "application/merge-patch+json") ||
                             (c->route->body == API_BODY_JSON_DOC &&
                              (api_media_is(ctype, "application/vcard+json") ||
                               api_media_is(ctype, "application/calendar+json"))));
        int mail = ctype && c->route->body == API_BODY_JSON_OR_MAIL &&
                   api_media_is(ctype, "message/rfc822");
        if (!json && !mail)
            return api_problem(req, 415, "unsupported-media-type",
                               "send the body as application/json%s (got %s)",
                               c->route->body == API_BODY_JSON_OR_MAIL ? " or message/rfc822"
                               : c->route->body == API_BODY_JSON_DOC
                                   ? " (or application/vcard+json, application/calendar+json)"
                                   : "",
                               ctype ? ctype : "no Content-Type");
        c->body_is_mail = mail;
    }
    srv_req_set_body_sink(req, api_body_sink, c);
    return 0;
}

static int api_end(struct srv_request *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = srv_req_state(req);
    if (!c || !c->route)
        return api_problem(req, 500, NULL, "request state lost");
    const struct mg_config *cfg = c->m->cfg;
    if (c->route->body == API_BODY_STREAM)
        return c->body_end(c);
    if (c->route->body != API_BODY_NONE && !c->body_is_mail) {
        if (c->body.len == 0) {
            if (c->route->body != API_BODY_JSON_OPT)
                return api_problem(req, 400, "body-required",
                                   "this request needs a JSON object as its body");
        } else {
            char err[200];
            int rc = (c->route->body == API_BODY_JSON_DOC ? api_json_parse_doc : api_json_parse)(
                c->body.data, c->body.len, cfg->limits.max_json_depth, &c->json, err, sizeof(err));
            if (rc)
                return api_problem(req, 400, "malformed-json", "%s", err);
        }
    } else if (c->body_is_mail && c->body.len == 0) {
        return api_problem(req, 400, "body-required", "the message is empty");
    }
    if (c->route->needs_key) {
        c->sk = sodium_malloc(ACCT_KEY_LEN);
        if (!c->sk)
            return api_problem(req, 500, NULL, "out of memory");
        int rc = api_token_secret_key(c->m->tokens, &c->token, c->sk);
        if (rc) {
            srv_resp_header(req, "WWW-Authenticate",
                            "Bearer realm=\"meshgate\", error=\"invalid_token\"");
            return api_problem(req, 401, "no-mail-key",
                               "this session carries no mail key; log in again");
        }
        crypto_scalarmult_base(c->pk, c->sk);
    }
    return c->route->fn(c);
}

int api_register_routes(struct api_module *m, struct srv_server *s)
{
    struct srv_route r = {API_BASE "/", SRV_AUTH_NONE, api_begin, api_end, m, NULL};
    return srv_add_route(s, &r);
}
