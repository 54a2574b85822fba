/*
 * account.c - sign-up, login and logout, the account (/me), and what
 * administrators set: the sign-up policy and invite codes.
 *
 * Sign-up policy lives in the store, so it is the same on every node of the
 * cluster: partition "node/settings", row "", {"signup": "closed" | "invite" |
 * "open", "token_ttl": seconds}. Without the row: closed, 12 hours. Accounts
 * on a closed node are made by an administrator (`meshgate user add`).
 *
 * Invite codes: partition "node/invites", one row per code, keyed by the hex
 * BLAKE2b-128 of the code (its "id"), so that reading the store does not
 * reveal usable codes: {"created": s, "expires": s (0 = never), "uses": left,
 * "by": admin, "note": text}. The code itself is shown once, when made.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_private.h"

#define API_INVITES_PKEY "node/invites"
#define API_INVITE_ID_LEN 16   /* bytes of BLAKE2b of a code */
#define API_INVITE_CODE_LEN 16 /* random bytes of a code */
#define API_INVITE_USES_MAX 1000
#define API_INVITE_TTL_DEFAULT (7 * 86400)
#define API_PASSWORD_MIN 8  /* characters of a password chosen through the API */
#define API_TOKEN_TTL_MIN 1 /* seconds: a client may ask for a token this short */
#define API_SETTINGS_TTL_MIN 60

/* ---- settings ------------------------------------------------------------------------- */

static json_t *api_settings_defaults(void)
{
    return json_pack("{s:s, s:I}", "signup", API_SIGNUP_DEFAULT, "token_ttl",
                     (json_int_t)API_TOKEN_TTL_DEFAULT);
}

static char *api_settings_text(const json_t *s)
{
    return json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
}

int api_settings_load(struct dht *d, json_t **out, uint8_t hash[DHT_HASH_LEN], int *exists)
{
    json_t *s = api_settings_defaults();
    if (!s)
        return MG_ENOMEM;
    struct dht_row row;
    int rc = dht_get(d, API_SETTINGS_PKEY, "", &row);
    if (rc == 0) {
        json_t *stored = json_loadb(row.value, row.value_len, 0, NULL);
        if (json_is_object(stored))
            json_object_update(s, stored); /* stored values over defaults */
        else
            log_err("node settings row is corrupt: using defaults");
        json_decref(stored);
        if (hash)
            memcpy(hash, row.hash, DHT_HASH_LEN);
        dht_row_release(&row);
    } else if (rc == MG_ENOTFOUND) {
        /* the defaults get the ETag they would have once stored */
        char *text = api_settings_text(s);
        if (!text) {
            json_decref(s);
            return MG_ENOMEM;
        }
        if (hash)
            crypto_generichash(hash, DHT_HASH_LEN, (const uint8_t *)text, strlen(text), NULL, 0);
        free(text);
    } else {
        json_decref(s);
        return rc;
    }
    if (exists)
        *exists = rc == 0;
    *out = s;
    return 0;
}

static const char *api_settings_signup(const json_t *s)
{
    const char *v = json_string_value(json_object_get(s, "signup"));
    return v ? v : API_SIGNUP_DEFAULT;
}

static uint64_t api_settings_ttl(const json_t *s)
{
    json_t *v = json_object_get(s, "token_ttl");
    if (!json_is_integer(v) || json_integer_value(v) < API_SETTINGS_TTL_MIN ||
        json_integer_value(v) > API_TOKEN_TTL_MAX)
        return API_TOKEN_TTL_DEFAULT;
    return (uint64_t)json_integer_value(v);
}

int api_settings_get(struct api_call *c)
{
    json_t *s = NULL;
    uint8_t hash[DHT_HASH_LEN];
    int rc = api_settings_load(c->m->d, &s, hash, NULL);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "cannot read the settings: %s",
                           mg_strerror(rc));
    api_set_etag(c->req, hash);
    if (api_if_none_match(c->req, hash)) {
        json_decref(s);
        return srv_respond(c->req, 304, NULL, NULL, 0);
    }
    return api_send_json(c->req, 200, s);
}

int api_settings_put(struct api_call *c)
{
    static const char *const allowed[] = {"signup", "token_ttl", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    const char *signup = API_SIGNUP_DEFAULT;
    uint64_t ttl = API_TOKEN_TTL_DEFAULT;
    int rc = api_json_get_str(c->json, "signup", &signup);
    if (rc == MG_EINVAL || (rc == 0 && strcmp(signup, "closed") != 0 &&
                            strcmp(signup, "invite") != 0 && strcmp(signup, "open") != 0))
        return api_problem(c->req, 400, "bad-field",
                           "signup must be \"closed\", \"invite\" or \"open\"");
    rc = api_json_get_uint(c->json, "token_ttl", &ttl);
    if (rc == MG_EINVAL || ttl < API_SETTINGS_TTL_MIN || ttl > API_TOKEN_TTL_MAX)
        return api_problem(c->req, 400, "bad-field",
                           "token_ttl must be a whole number of seconds from %d to %d",
                           API_SETTINGS_TTL_MIN, API_TOKEN_TTL_MAX);

    json_t *cur = NULL;
    int exists = 0;
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    rc = api_settings_load(c->m->d, &cur, cond.hash, &exists);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "cannot read the settings: %s",
                           mg_strerror(rc));
    json_decref(cur);
    if (!api_if_match_ok(c->req, cond.hash))
        return api_problem(c->req, 412, "etag-mismatch",
                           "the settings changed since you read them (If-Match)");
    if (!exists)
        cond.kind = DHT_COND_ABSENT;
    json_t *s = json_pack("{s:s, s:I}", "signup", signup, "token_ttl", (json_int_t)ttl);
    char *text = s ? api_settings_text(s) : NULL;
    uint8_t hash[DHT_HASH_LEN];
    rc = text ? dht_put(c->m->d, API_SETTINGS_PKEY, "", text, strlen(text), &cond, NULL, hash)
              : MG_ENOMEM;
    free(text);
    if (rc) {
        json_decref(s);
        if (rc == MG_EPRECOND)
            return api_problem(c->req, 412, "etag-mismatch",
                               "the settings changed meanwhile; read them again");
        return api_problem(c->req, 503, "store-unavailable", "cannot store the settings: %s",
                           mg_strerror(rc));
    }
    log_info("node settings changed by %s: signup=%s token_ttl=%llu", api_user(c), signup,
             (unsigned long long)ttl);
    api_set_etag(c->req, hash);
    return api_send_json(c->req, 200, s);
}

/* ---- tokens --------------------------------------------------------------------------- */

/* Issues a token for user carrying sk and responds with it. requested_ttl 0
 * means the node's default; it is capped by the node's token_ttl. */
/* Sets (ttl > 0) or clears (token NULL) the portal's session cookie: HttpOnly
 * (no script reads it), SameSite=Strict (no other site's request carries it),
 * scoped to the API, Secure when this node serves HTTPS. */
static int api_set_session_cookie(struct api_call *c, const char *token, uint64_t ttl)
{
    const struct mg_config *cfg = c->m->cfg;
    int tls = cfg && cfg->tls_cert && cfg->tls_cert[0];
    struct buf h;
    buf_init(&h);
    int rc = buf_printf(&h, "%s=%s; Path=" API_BASE "/; Max-Age=%llu; HttpOnly; SameSite=Strict%s",
                        API_SESSION_COOKIE, token ? token : "", token ? (unsigned long long)ttl : 0ull,
                        tls ? "; Secure" : "");
    if (!rc)
        srv_resp_header(c->req, "Set-Cookie", h.data);
    sodium_memzero(h.data, h.len);
    buf_release(&h);
    return rc;
}

static int api_respond_token(struct api_call *c, int status, const char *user, int admin,
                             const uint8_t *sk, uint64_t requested_ttl, int cookie)
{
    json_t *settings = NULL;
    int rc = api_settings_load(c->m->d, &settings, NULL, NULL);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "cannot read the settings: %s",
                           mg_strerror(rc));
    uint64_t ttl = api_settings_ttl(settings);
    json_decref(settings);
    if (requested_ttl && requested_ttl < ttl)
        ttl = requested_ttl;
    char *token = NULL;
    struct api_token info;
    rc = api_token_issue(c->m->tokens, user, admin, mg_now_ms(), ttl * 1000u, sk, &token, &info);
    if (rc)
        return api_problem(c->req, 500, NULL, "cannot issue a token: %s", mg_strerror(rc));
    char expires[32];
    mg_iso8601((int64_t)(info.exp_ms / 1000u), expires, sizeof(expires));
    json_t *v;
    if (cookie) {
        char csrf[API_CSRF_LEN + 1];
        api_token_csrf(c->m->tokens, &info, csrf);
        rc = api_set_session_cookie(c, token, ttl);
        v = json_pack("{s:s, s:s, s:I, s:s, s:s}", "token_type", "cookie", "csrf_token", csrf,
                      "expires_in", (json_int_t)ttl, "expires_at", expires, "user", user);
    } else {
        v = json_pack("{s:s, s:s, s:I, s:s, s:s}", "token", token, "token_type", "Bearer",
                      "expires_in", (json_int_t)ttl, "expires_at", expires, "user", user);
    }
    sodium_memzero(token, strlen(token));
    free(token);
    sodium_memzero(&info, sizeof(info));
    if (rc) {
        json_decref(v);
        return api_problem(c->req, 500, NULL, "out of memory");
    }
    return api_send_json(c->req, status, v);
}

/* Verifies a password through the authenticator (lock-out after failures).
 * Returns 0, or a status after responding. status_wrong is what a wrong
 * password gets (401 at login, 403 when confirming inside a session). */
static int api_check_password(struct api_call *c, const char *user, const char *password,
                              int status_wrong, int *admin)
{
    int is_admin = 0;
    int rc = strlen(password) > ACCT_PASSWORD_MAX
                 ? MG_EDENIED
                 : auth_check_basic(c->m->auth, user, password, srv_req_peer(c->req), &is_admin);
    if (rc == MG_ETOOBIG) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%d", c->m->cfg->login_lockout);
        srv_resp_header(c->req, "Retry-After", secs);
        return api_problem(c->req, 429, "too-many-failures",
                           "too many failed logins for this account or address; try again in "
                           "%d seconds",
                           c->m->cfg->login_lockout);
    }
    if (rc && rc != MG_EDENIED) {
        srv_resp_header(c->req, "Retry-After", "5");
        return api_problem(c->req, 503, "unavailable",
                           "accounts cannot be read right now (%s); try again shortly",
                           mg_strerror(rc));
    }
    if (rc) {
        if (status_wrong == 401)
            srv_resp_header(c->req, "WWW-Authenticate", "Bearer realm=\"meshgate\"");
        return api_problem(c->req, status_wrong, "wrong-password",
                           status_wrong == 401 ? "wrong user name or password"
                                               : "the password is wrong");
    }
    if (admin)
        *admin = is_admin;
    return 0;
}

/* Reads a required string field; returns 0 or a 400 after responding. */
static int api_need_str(struct api_call *c, const char *key, const char **out)
{
    int rc = api_json_get_str(c->json, key, out);
    if (rc == MG_ENOTFOUND)
        return api_problem(c->req, 400, "missing-field", "the field \"%s\" is required", key);
    if (rc)
        return api_problem(c->req, 400, "bad-field", "\"%s\" must be a string", key);
    return 0;
}

/* The session options of login and sign-up: "ttl" (seconds, optional) and
 * "session": "bearer" (the default: the token is in the answer) or "cookie"
 * (the portal: the token is set as an HttpOnly cookie, the answer carries
 * the CSRF token instead; see API_SESSION_COOKIE). */
static int api_session_options(struct api_call *c, uint64_t *ttl, int *cookie)
{
    *ttl = 0;
    *cookie = 0;
    int rc = api_json_get_uint(c->json, "ttl", ttl);
    if (rc == MG_EINVAL || (rc == 0 && (*ttl < API_TOKEN_TTL_MIN || *ttl > API_TOKEN_TTL_MAX)))
        return api_problem(c->req, 400, "bad-field",
                           "ttl must be a whole number of seconds from %d to %d", API_TOKEN_TTL_MIN,
                           API_TOKEN_TTL_MAX);
    json_t *session = json_object_get(c->json, "session");
    if (session) {
        const char *kind = json_string_value(session);
        if (!kind || (strcmp(kind, "bearer") != 0 && strcmp(kind, "cookie") != 0))
            return api_problem(c->req, 400, "bad-field",
                               "session must be \"bearer\" (the default) or \"cookie\"");
        *cookie = strcmp(kind, "cookie") == 0;
    }
    return 0;
}

/* Unwraps the account's key with password and issues a token. */
static int api_open_and_issue(struct api_call *c, int status, const char *user,
                              const char *password, int admin, uint64_t ttl, int cookie)
{
    uint8_t pk[ACCT_KEY_LEN];
    uint8_t *sk = sodium_malloc(ACCT_KEY_LEN);
    if (!sk)
        return api_problem(c->req, 500, NULL, "out of memory");
    api_kdf_enter(c->m);
    int rc = acct_open_key(c->m->d, user, password, sk, pk);
    api_kdf_leave(c->m);
    int st;
    if (rc == MG_EDENIED) {
        srv_resp_header(c->req, "WWW-Authenticate", "Bearer realm=\"meshgate\"");
        st = api_problem(c->req, 401, "wrong-password", "wrong user name or password");
    } else if (rc) {
        st = api_problem(c->req, 503, "store-unavailable", "cannot open the account's key: %s",
                         mg_strerror(rc));
    } else {
        st = api_respond_token(c, status, user, admin, sk, ttl, cookie);
    }
    sodium_free(sk);
    return st;
}

int api_login(struct api_call *c)
{
    static const char *const allowed[] = {"user", "password", "ttl", "session", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    const char *user, *password;
    uint64_t ttl;
    int cookie;
    int st = api_need_str(c, "user", &user);
    if (!st)
        st = api_need_str(c, "password", &password);
    if (!st)
        st = api_session_options(c, &ttl, &cookie);
    if (st)
        return st;
    int admin = 0;
    st = api_check_password(c, user, password, 401, &admin);
    if (st)
        return st;
    st = api_open_and_issue(c, 200, user, password, admin, ttl, cookie);
    if (st == 200)
        log_info("login user=%s peer=%s", user, srv_req_peer(c->req));
    return st;
}

int api_logout(struct api_call *c)
{
    int rc = api_token_revoke(c->m->tokens, &c->token);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "cannot record the logout: %s",
                           mg_strerror(rc));
    if (c->by_cookie && api_set_session_cookie(c, NULL, 0))
        return api_problem(c->req, 500, NULL, "out of memory");
    return srv_respond(c->req, 204, NULL, NULL, 0);
}

/* ---- invites ----------------------------------------------------------------------------- */

static void api_invite_id(const char *code, char out[2 * API_INVITE_ID_LEN + 1])
{
    uint8_t h[API_INVITE_ID_LEN];
    crypto_generichash(h, sizeof(h), (const uint8_t *)code, strlen(code), NULL, 0);
    mg_hex_encode(h, sizeof(h), out);
}

/* Reads the invite of code. Returns 0 (and its row's hash in cond), MG_ENOTFOUND
 * (unknown, used up or expired) or an mg_err. *left receives the uses left. */
static int api_invite_read(struct dht *d, const char *code, struct dht_cond *cond, json_int_t *left,
                           json_t **inv_out)
{
    char id[2 * API_INVITE_ID_LEN + 1];
    if (strlen(code) > 128)
        return MG_ENOTFOUND;
    api_invite_id(code, id);
    struct dht_row row;
    int rc = dht_get(d, API_INVITES_PKEY, id, &row);
    if (rc)
        return rc;
    cond->kind = DHT_COND_MATCH;
    memcpy(cond->hash, row.hash, DHT_HASH_LEN);
    json_t *inv = json_loadb(row.value, row.value_len, 0, NULL);
    dht_row_release(&row);
    json_t *uses = json_object_get(inv, "uses");
    json_t *exp = json_object_get(inv, "expires");
    *left = json_is_integer(uses) ? json_integer_value(uses) : 0;
    json_int_t expires = json_is_integer(exp) ? json_integer_value(exp) : 0;
    if (*left <= 0 || (expires && expires <= (json_int_t)time(NULL))) {
        json_decref(inv);
        return MG_ENOTFOUND;
    }
    if (inv_out)
        *inv_out = inv;
    else
        json_decref(inv);
    return 0;
}

/* Uses one use of an invite code (conditional on the row it read, retried
 * when another sign-up used one meanwhile). Returns 0, MG_ENOTFOUND (unknown,
 * used up or expired) or an mg_err. */
static int api_invite_consume(struct dht *d, const char *code)
{
    char id[2 * API_INVITE_ID_LEN + 1];
    api_invite_id(code, id);
    for (int attempt = 0; attempt < 5; attempt++) {
        struct dht_cond cond;
        json_int_t left;
        json_t *inv = NULL;
        int rc = api_invite_read(d, code, &cond, &left, &inv);
        if (rc)
            return rc;
        if (left == 1) {
            rc = dht_delete(d, API_INVITES_PKEY, id, &cond);
        } else {
            json_object_set_new(inv, "uses", json_integer(left - 1));
            char *text = json_dumps(inv, JSON_COMPACT | JSON_SORT_KEYS);
            rc = text ? dht_put(d, API_INVITES_PKEY, id, text, strlen(text), &cond, NULL, NULL)
                      : MG_ENOMEM;
            free(text);
        }
        json_decref(inv);
        if (rc != MG_EPRECOND)
            return rc;
    }
    return MG_EUNAVAIL;
}

static json_t *api_invite_json(const char *id, const json_t *inv)
{
    char created[32], expires[32];
    json_int_t c = json_integer_value(json_object_get(inv, "created"));
    json_int_t e = json_integer_value(json_object_get(inv, "expires"));
    mg_iso8601(c, created, sizeof(created));
    mg_iso8601(e, expires, sizeof(expires));
    const char *by = json_string_value(json_object_get(inv, "by"));
    const char *note = json_string_value(json_object_get(inv, "note"));
    return json_pack("{s:s, s:I, s:s, s:o, s:s, s:s}", "id", id, "uses",
                     json_integer_value(json_object_get(inv, "uses")), "created_at", created,
                     "expires_at", e ? json_string(expires) : json_null(), "created_by",
                     by ? by : "", "note", note ? note : "");
}

int api_invites_create(struct api_call *c)
{
    static const char *const allowed[] = {"uses", "expires_in", "note", NULL};
    uint64_t uses = 1, ttl = API_INVITE_TTL_DEFAULT;
    const char *note = "";
    if (c->json) {
        const char *bad = api_json_unknown_key(c->json, allowed);
        if (bad)
            return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
        int rc = api_json_get_uint(c->json, "uses", &uses);
        if (rc == MG_EINVAL || uses == 0 || uses > API_INVITE_USES_MAX)
            return api_problem(c->req, 400, "bad-field", "uses must be from 1 to %d",
                               API_INVITE_USES_MAX);
        rc = api_json_get_uint(c->json, "expires_in", &ttl);
        if (rc == MG_EINVAL || ttl > 365u * 86400u)
            return api_problem(c->req, 400, "bad-field",
                               "expires_in must be seconds up to a year (0 = never)");
        rc = api_json_get_str(c->json, "note", &note);
        if (rc == MG_EINVAL || strlen(note) > 200)
            return api_problem(c->req, 400, "bad-field",
                               "note must be a string of at most "
                               "200 bytes");
    }
    uint8_t raw[API_INVITE_CODE_LEN];
    char code[4 + 2 * API_INVITE_CODE_LEN + 1] = "inv-";
    randombytes_buf(raw, sizeof(raw));
    mg_hex_encode(raw, sizeof(raw), code + 4);
    char id[2 * API_INVITE_ID_LEN + 1];
    api_invite_id(code, id);
    json_int_t now = (json_int_t)time(NULL);
    json_t *inv = json_pack("{s:I, s:I, s:I, s:s, s:s}", "created", now, "expires",
                            ttl ? now + (json_int_t)ttl : (json_int_t)0, "uses", (json_int_t)uses,
                            "by", api_user(c), "note", note);
    char *text = inv ? json_dumps(inv, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct dht_cond absent = {.kind = DHT_COND_ABSENT};
    uint8_t hash[DHT_HASH_LEN];
    int rc = text ? dht_put(c->m->d, API_INVITES_PKEY, id, text, strlen(text), &absent, NULL, hash)
                  : MG_ENOMEM;
    free(text);
    if (rc) {
        json_decref(inv);
        return api_problem(c->req, 503, "store-unavailable", "cannot store the invite: %s",
                           mg_strerror(rc));
    }
    json_t *out = api_invite_json(id, inv);
    json_decref(inv);
    if (out)
        json_object_set_new(out, "code", json_string(code));
    struct buf loc;
    buf_init(&loc);
    buf_printf(&loc, API_BASE "/admin/invites/%s", id);
    srv_resp_header(c->req, "Location", loc.data ? loc.data : API_BASE "/admin/invites");
    buf_release(&loc);
    api_set_etag(c->req, hash);
    log_info("invite %s made by %s uses=%llu", id, api_user(c), (unsigned long long)uses);
    return api_send_json(c->req, 201, out);
}

struct invite_list_ctx {
    json_t *items;
    size_t limit;
    char *last;
    int more;
};

static int api_invite_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct invite_list_ctx *lc = ctx;
    if (json_array_size(lc->items) == lc->limit) {
        lc->more = 1;
        return 1;
    }
    json_t *inv = json_loadb(row->value, row->value_len, 0, NULL);
    json_t *item = inv ? api_invite_json(rkey, inv) : NULL;
    json_decref(inv);
    if (item)
        json_array_append_new(lc->items, item);
    free(lc->last);
    lc->last = strdup(rkey);
    return lc->last ? 0 : MG_ENOMEM;
}

int api_invites_list(struct api_call *c)
{
    size_t limit;
    int st = api_page_limit(c, &limit);
    if (st)
        return st;
    char *after = NULL;
    const char *cursor = srv_req_query(c->req, "cursor");
    if (cursor && api_cursor_decode(cursor, &after, 1))
        return api_problem(c->req, 400, "bad-cursor", "the cursor is not one this API made");
    struct invite_list_ctx lc = {json_array(), limit, NULL, 0};
    int rc =
        dht_scan(c->m->d, API_INVITES_PKEY, after ? after : "", limit + 1, api_invite_row, &lc);
    free(after);
    if (rc < 0) {
        json_decref(lc.items);
        free(lc.last);
        return api_problem(c->req, 503, "store-unavailable", "cannot list invites: %s",
                           mg_strerror(rc));
    }
    char *next = NULL;
    if (lc.more && lc.last) {
        const char *parts[1] = {lc.last};
        api_cursor_encode(parts, 1, &next);
    }
    free(lc.last);
    json_t *v =
        json_pack("{s:o, s:o}", "items", lc.items, "next", next ? json_string(next) : json_null());
    free(next);
    return api_send_json(c->req, 200, v);
}

int api_invite_delete(struct api_call *c)
{
    const char *id = c->params[0];
    uint8_t raw[API_INVITE_ID_LEN];
    if (mg_hex_decode(id, raw, sizeof(raw)))
        return api_problem(c->req, 404, "no-such-invite", "no invite with id %s", id);
    struct dht_row row;
    int rc = dht_get(c->m->d, API_INVITES_PKEY, id, &row);
    if (rc == MG_ENOTFOUND)
        return api_problem(c->req, 404, "no-such-invite", "no invite with id %s", id);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "%s", mg_strerror(rc));
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    memcpy(cond.hash, row.hash, DHT_HASH_LEN);
    dht_row_release(&row);
    if (!api_if_match_ok(c->req, cond.hash))
        return api_problem(c->req, 412, "etag-mismatch", "the invite changed (If-Match)");
    rc = dht_delete(c->m->d, API_INVITES_PKEY, id, &cond);
    if (rc == MG_EPRECOND)
        return api_problem(c->req, 412, "etag-mismatch", "the invite changed meanwhile");
    if (rc == MG_ENOTFOUND)
        return api_problem(c->req, 404, "no-such-invite", "no invite with id %s", id);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "%s", mg_strerror(rc));
    return srv_respond(c->req, 204, NULL, NULL, 0);
}

/* ---- sign-up -------------------------------------------------------------------------------- */

int api_signup(struct api_call *c)
{
    static const char *const allowed[] = {"user", "password", "invite", "ttl", "session", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    json_t *settings = NULL;
    int rc = api_settings_load(c->m->d, &settings, NULL, NULL);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "cannot read the settings: %s",
                           mg_strerror(rc));
    char policy[16];
    snprintf(policy, sizeof(policy), "%s", api_settings_signup(settings));
    json_decref(settings);
    /* The policy is checked before anything else, so a closed node says
     * nothing about which names exist. */
    if (strcmp(policy, "open") != 0 && strcmp(policy, "invite") != 0)
        return api_problem(c->req, 403, "signup-closed",
                           "sign-up is closed on this node; ask an administrator for an account");
    const char *user, *password, *invite = NULL;
    uint64_t ttl;
    int cookie;
    int st = api_need_str(c, "user", &user);
    if (!st)
        st = api_need_str(c, "password", &password);
    if (!st)
        st = api_session_options(c, &ttl, &cookie);
    if (st)
        return st;
    rc = api_json_get_str(c->json, "invite", &invite);
    if (rc == MG_EINVAL)
        return api_problem(c->req, 400, "bad-field", "\"invite\" must be a string");
    if (!acct_valid_name(user))
        return api_problem(c->req, 400, "bad-user-name",
                           "a user name is 1-64 characters of a-z 0-9 . _ -, starting with a "
                           "letter or digit");
    size_t plen = strlen(password);
    if (plen < API_PASSWORD_MIN || plen > ACCT_PASSWORD_MAX)
        return api_problem(c->req, 400, "weak-password",
                           "the password must have %d to %d characters", API_PASSWORD_MIN,
                           ACCT_PASSWORD_MAX);
    /* By invitation: check the code, make the account, then use the code up;
     * if another sign-up took its last use meanwhile, the new (still empty)
     * account goes again. */
    int by_invite = strcmp(policy, "invite") == 0;
    if (by_invite) {
        struct dht_cond cond;
        json_int_t left;
        if (!invite)
            return api_problem(c->req, 403, "invite-required",
                               "this node signs up by invitation: send \"invite\"");
        rc = api_invite_read(c->m->d, invite, &cond, &left, NULL);
        if (rc == MG_ENOTFOUND)
            return api_problem(c->req, 403, "bad-invite",
                               "the invite code is unknown, used up or expired");
        if (rc)
            return api_problem(c->req, 503, "store-unavailable", "cannot check the invite: %s",
                               mg_strerror(rc));
    }
    api_kdf_enter(c->m);
    rc = acct_create(c->m->d, user, password, 0);
    api_kdf_leave(c->m);
    if (!rc && by_invite) {
        rc = api_invite_consume(c->m->d, invite);
        if (rc) {
            acct_delete(c->m->d, user);
            if (rc == MG_ENOTFOUND)
                return api_problem(c->req, 403, "bad-invite",
                                   "the invite code was used up meanwhile");
        }
    }
    if (rc) {
        if (rc == MG_EEXIST)
            return api_problem(c->req, 409, "user-exists", "the user name %s is taken", user);
        return api_problem(c->req, 503, "store-unavailable", "cannot create the account: %s",
                           mg_strerror(rc));
    }
    log_info("signup user=%s policy=%s peer=%s", user, policy, srv_req_peer(c->req));
    srv_resp_header(c->req, "Location", API_BASE "/me");
    return api_open_and_issue(c, 201, user, password, 0, ttl, cookie);
}

/* ---- the account -------------------------------------------------------------------------------
 */

int api_me_get(struct api_call *c)
{
    struct acct_info info;
    int rc = acct_get_info(c->m->d, api_user(c), &info);
    if (rc == MG_ENOTFOUND)
        return api_problem(c->req, 404, "no-such-account", "the account no longer exists");
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "%s", mg_strerror(rc));
    api_set_etag(c->req, info.record_hash);
    if (api_if_none_match(c->req, info.record_hash))
        return srv_respond(c->req, 304, NULL, NULL, 0);
    char created[32], iat[32], exp[32], pk[2 * ACCT_KEY_LEN + 1];
    mg_iso8601(info.created, created, sizeof(created));
    mg_iso8601((int64_t)(c->token.iat_ms / 1000u), iat, sizeof(iat));
    mg_iso8601((int64_t)(c->token.exp_ms / 1000u), exp, sizeof(exp));
    mg_hex_encode(info.public_key, ACCT_KEY_LEN, pk);
    struct buf addr;
    buf_init(&addr);
    buf_printf(&addr, "%s@%s", api_user(c), API_MAIL_DOMAIN);
    json_t *v =
        json_pack("{s:s, s:b, s:s, s:I, s:o, s:s, s:{s:s, s:s}}", "user", api_user(c), "admin",
                  info.admin, "created_at", created, "quota", (json_int_t)info.quota, "public_key",
                  info.has_key ? json_string(pk) : json_null(), "mail_address",
                  addr.data ? addr.data : "", "session", "issued_at", iat, "expires_at", exp);
    buf_release(&addr);
    if (v && c->by_cookie) {
        char csrf[API_CSRF_LEN + 1];
        api_token_csrf(c->m->tokens, &c->token, csrf);
        json_object_set_new(json_object_get(v, "session"), "csrf_token", json_string(csrf));
    }
    return api_send_json(c->req, 200, v);
}

int api_me_password(struct api_call *c)
{
    static const char *const allowed[] = {"current_password", "new_password", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    const char *cur, *next;
    int st = api_need_str(c, "current_password", &cur);
    if (!st)
        st = api_need_str(c, "new_password", &next);
    if (st)
        return st;
    size_t nlen = strlen(next);
    if (nlen < API_PASSWORD_MIN || nlen > ACCT_PASSWORD_MAX)
        return api_problem(c->req, 400, "weak-password",
                           "the new password must have %d to %d characters", API_PASSWORD_MIN,
                           ACCT_PASSWORD_MAX);
    const char *user = api_user(c);
    struct acct_info info;
    int rc = acct_get_info(c->m->d, user, &info);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "%s", mg_strerror(rc));
    if (!api_if_match_ok(c->req, info.record_hash))
        return api_problem(c->req, 412, "etag-mismatch", "the account changed (If-Match)");
    st = api_check_password(c, user, cur, 403, NULL);
    if (st)
        return st;
    api_kdf_enter(c->m);
    rc = acct_change_password(c->m->d, user, cur, next, info.record_hash);
    api_kdf_leave(c->m);
    if (rc == MG_EPRECOND)
        return api_problem(c->req, 412, "etag-mismatch", "the account changed meanwhile");
    if (rc == MG_EDENIED)
        return api_problem(c->req, 403, "wrong-password", "the password is wrong");
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "cannot change the password: %s",
                           mg_strerror(rc));
    /* Every session of the account ends; this one continues with a new token. */
    rc = api_token_revoke_user(c->m->tokens, user, NULL);
    if (rc)
        log_warn("password of %s changed but its sessions were not revoked: %s", user,
                 mg_strerror(rc));
    log_info("password changed user=%s", user);
    return api_open_and_issue(c, 200, user, next, info.admin, 0, c->by_cookie);
}

int api_me_delete(struct api_call *c)
{
    static const char *const allowed[] = {"password", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    const char *password;
    int st = api_need_str(c, "password", &password);
    if (st)
        return st;
    const char *user = api_user(c);
    struct acct_info info;
    int rc = acct_get_info(c->m->d, user, &info);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "%s", mg_strerror(rc));
    if (!api_if_match_ok(c->req, info.record_hash))
        return api_problem(c->req, 412, "etag-mismatch", "the account changed (If-Match)");
    st = api_check_password(c, user, password, 403, NULL);
    if (st)
        return st;
    rc = api_token_revoke_user(c->m->tokens, user, NULL);
    if (rc)
        return api_problem(c->req, 503, "store-unavailable", "cannot end the sessions: %s",
                           mg_strerror(rc));
    rc = api_purge_user(c->m->d, user);
    if (rc)
        log_warn("deleting the data of %s: %s (the account is deleted anyway)", user,
                 mg_strerror(rc));
    rc = acct_delete(c->m->d, user);
    if (rc && rc != MG_ENOTFOUND)
        return api_problem(c->req, 503, "store-unavailable", "cannot delete the account: %s",
                           mg_strerror(rc));
    log_info("account deleted user=%s", user);
    return srv_respond(c->req, 204, NULL, NULL, 0);
}
