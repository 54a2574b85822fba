/*
 * api_private.h - what the files of api/ share: the module, the route table,
 * the per-request call, JSON and HTTP helpers, bearer tokens, MIME, sealed mail.
 *
 * Nothing here is public API; tests/unit/check_api.c includes this header to
 * test the pure parts (token format, JSON helpers, MIME, sealing).
 *
 * Files: api.c (module, routing, request life cycle), json.c (problem details,
 * JSON, ETags, cursors, base64, UTF-8), token.c (bearer tokens, revocation),
 * account.c (sign-up, login, the account, administration), purge.c (deleting
 * an account's data), node.c (node information, the OpenAPI document),
 * mime.c (RFC 5322/MIME building and parsing), seal.c (sealed mail envelopes),
 * mail.c (mail routes), files.c (file routes over the WebDAV tree).
 */
#ifndef MESHGATE_API_PRIVATE_H
#define MESHGATE_API_PRIVATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include "meshgate/accounts.h"
#include "meshgate/api.h"
#include "meshgate/common.h"
#include "meshgate/config.h"
#include "meshgate/dht.h"
#include "meshgate/http.h"

#define API_BASE "/api/v1"
#define API_MAX_PARAMS 4
#define API_PAGE_DEFAULT 50
#define API_PAGE_MAX 200
#define API_MAIL_DOMAIN "meshgate"          /* addresses are <user>@meshgate, cluster-wide */
#define API_ETAG_LEN (2 * DHT_HASH_LEN + 3) /* quoted hex and NUL */

/* ---- the module (api.c) ------------------------------------------------------ */

struct api_tokens;
struct dav_module;

struct api_module {
    struct dht *d;
    struct dav_module *dav; /* the WebDAV file tree (files.c) */
    const struct mg_config *cfg;
    struct srv_auth *auth;     /* lock-out and the argon2id bound: the server's, or own_auth */
    struct srv_auth *own_auth; /* made by api_new, used until api_use_auth */
    struct api_tokens *tokens;
};

/* Bounds concurrent argon2id work (login, sign-up, password change) together
 * with the server's Basic checks (auth_kdf_enter). */
void api_kdf_enter(struct api_module *m);
void api_kdf_leave(struct api_module *m);

/* ---- bearer tokens (token.c) --------------------------------------------------- */

#define API_TOKEN_ID_LEN 16
#define API_TOKEN_BOX_LEN                                                                          \
    (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + ACCT_KEY_LEN +                                 \
     crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define API_TOKEN_MAX 512         /* characters of a token */
#define API_TOKEN_TTL_MAX 2592000 /* seconds: 30 days */

/* A verified (or freshly issued) token. key_box holds the account's secret
 * key encrypted under a key derived from the cluster key, so that any node
 * can serve mail for the session; see token.c for why. */
struct api_token {
    char user[ACCT_NAME_MAX + 1];
    int admin;
    uint64_t iat_ms; /* issued at, wall clock */
    uint64_t exp_ms; /* expires at */
    uint8_t id[API_TOKEN_ID_LEN];
    uint8_t key_box[API_TOKEN_BOX_LEN];
};

/* Loads the cluster token key from the store (partition "cluster/secrets",
 * row "token"), creating it when absent, and the revocation list. */
int api_tokens_open(struct dht *d, struct api_tokens **out);
/* A token store with a given key and no store behind it (unit tests). */
int api_tokens_open_key(const uint8_t key[32], struct api_tokens **out);
void api_tokens_free(struct api_tokens *t);

/* Issues a token for user valid ttl_ms from now_ms, carrying sk (may be NULL:
 * no mail key). The issue time is made later than any revocation of the user.
 * Returns 0 and a malloc'd token in *out (and its fields in info, may be NULL). */
int api_token_issue(struct api_tokens *t, const char *user, int admin, uint64_t now_ms,
                    uint64_t ttl_ms, const uint8_t *sk, char **out, struct api_token *info);

enum api_token_status {
    API_TOKEN_OK = 0,
    API_TOKEN_MALFORMED = -1, /* not a token, or tampered with */
    API_TOKEN_EXPIRED = -2,
    API_TOKEN_REVOKED = -3
};
/* Verifies text at now_ms: format, MAC, expiry, revocation. Fills out. */
enum api_token_status api_token_verify(struct api_tokens *t, const char *text, uint64_t now_ms,
                                       struct api_token *out);
/* A short reason for a status, for problem details and WWW-Authenticate. */
const char *api_token_status_text(enum api_token_status st);
/* Decrypts the secret key a verified token carries into sk. Returns 0,
 * MG_ENOTFOUND (the token carries none) or MG_EIO. */
int api_token_secret_key(struct api_tokens *t, const struct api_token *tok, uint8_t *sk);
/* Revokes one token (logout) in memory and in the store. */
int api_token_revoke(struct api_tokens *t, const struct api_token *tok);
/* The portal's session (DESIGN.md: HttpOnly SameSite cookie + CSRF token).
 * POST /login with "session": "cookie" sets the token as the HttpOnly cookie
 * API_SESSION_COOKIE instead of returning it; a request authenticated by that
 * cookie alone must carry, on any method but GET/HEAD/OPTIONS, the header
 * API_CSRF_HEADER with api_token_csrf of its token: a keyed hash of the token
 * id that any node computes, that scripts of this origin read from the login
 * answer or GET /me, and that another site cannot learn or make. */
#define API_SESSION_COOKIE "mg_session"
#define API_CSRF_HEADER "X-CSRF-Token"
#define API_CSRF_LEN 32 /* hex characters */
void api_token_csrf(struct api_tokens *t, const struct api_token *tok, char out[API_CSRF_LEN + 1]);
/* The value of cookie name in a Cookie header (RFC 6265 5.4) into out.
 * Returns 0, MG_ENOTFOUND, or MG_EINVAL (empty or longer than cap - 1). */
int api_cookie_value(const char *header, const char *name, char *out, size_t cap);
/* Revokes every token of user issued up to now (password change, deletion).
 * *before_ms receives the cut-off. */
int api_token_revoke_user(struct api_tokens *t, const char *user, uint64_t *before_ms);

/* ---- routes (api.c) -------------------------------------------------------------- */

enum api_access { API_PUBLIC = 0, API_USER, API_ADMIN };
enum api_body {
    API_BODY_NONE = 0,     /* a body, if any, is ignored */
    API_BODY_JSON,         /* application/json required */
    API_BODY_JSON_OPT,     /* application/json, or no body at all */
    API_BODY_JSON_OR_MAIL, /* application/json or message/rfc822 */
    API_BODY_STREAM,       /* any type, any size: the handler streams it (uploads) */
    API_BODY_JSON_DOC      /* a JSON array or object (jCard, jCal): application/json,
                            * application/vcard+json or application/calendar+json */
};

struct api_call;

struct api_route {
    const char *method;
    const char *pattern; /* OpenAPI path template: "/api/v1/mail/mailboxes/{mailbox}" */
    enum api_access access;
    enum api_body body;
    int needs_key; /* the handler needs the session's secret key */
    int (*fn)(struct api_call *c);
};

extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* Matches a decoded path against a pattern; on success returns 1 and the
 * captured segments (pointers into a copy owned by the caller via *copy). */
int api_match(const char *pattern, const char *path, char **params, size_t *nparams, char **copy);

/* The state of one request, from begin to completion. */
struct api_call {
    struct api_module *m;
    struct srv_request *req;
    const struct api_route *route;
    char *params[API_MAX_PARAMS];
    size_t nparams;
    char *path_copy;
    int has_token;
    struct api_token token;
    uint8_t *sk; /* sodium_malloc'd session secret key (route->needs_key) */
    uint8_t pk[ACCT_KEY_LEN];
    struct buf body;
    json_t *json;     /* the parsed JSON body, or NULL */
    int body_is_mail; /* the body is message/rfc822 */
    int by_cookie;    /* authenticated by the portal's session cookie (see API_SESSION_COOKIE) */
    /* API_BODY_STREAM: the route's handler runs once the headers are in,
     * before any body byte, and returns 0 to take the body (or a status after
     * responding). It sets body_write, which gets the body piece by piece
     * (0, or a status after responding: the rest is discarded), and body_end,
     * which answers once the body is complete; stream is its state, freed
     * with stream_free with the call. */
    int (*body_write)(struct api_call *c, const char *data, size_t len);
    int (*body_end)(struct api_call *c);
    void *stream;
    void (*stream_free)(void *stream);
};

/* The authenticated user of a call (NULL on public routes). */
static inline const char *api_user(const struct api_call *c)
{
    return c->has_token ? c->token.user : NULL;
}

/* The OpenAPI document (api/openapi.json, embedded by node.c), not
 * NUL-terminated at api_openapi_json_end (a NUL follows it, though). */
extern const char api_openapi_json[];
extern const char api_openapi_json_end[];

/* Route handlers, by file. */
int api_node_get(struct api_call *c);
int api_openapi_get(struct api_call *c);
int api_signup(struct api_call *c);
int api_login(struct api_call *c);
int api_logout(struct api_call *c);
int api_me_get(struct api_call *c);
int api_me_delete(struct api_call *c);
int api_me_password(struct api_call *c);
int api_settings_get(struct api_call *c);
/* GET /cluster (admin): the operator's view of the cluster (dht_cluster_status). */
int api_cluster_get(struct api_call *c);
int api_settings_put(struct api_call *c);
int api_invites_list(struct api_call *c);
int api_invites_create(struct api_call *c);
int api_invite_delete(struct api_call *c);
int api_mailboxes_list(struct api_call *c);
int api_mailbox_create(struct api_call *c);
int api_mailbox_get(struct api_call *c);
int api_mailbox_delete(struct api_call *c);
int api_messages_list(struct api_call *c);
int api_message_append(struct api_call *c);
int api_message_get(struct api_call *c);
int api_message_patch(struct api_call *c);
int api_message_delete(struct api_call *c);
int api_message_raw(struct api_call *c);
int api_message_attachment(struct api_call *c);
int api_message_move(struct api_call *c);
int api_mail_send(struct api_call *c);
int api_mail_search(struct api_call *c);
/* Contacts and calendars (pim.c): address books and calendars, and the
 * contacts (jCard) and calendar objects (jCal) in them. */
int api_addressbooks_list(struct api_call *c);
int api_contacts_list(struct api_call *c);
int api_contact_create(struct api_call *c);
int api_contact_get(struct api_call *c);
int api_contact_put(struct api_call *c);
int api_contact_delete(struct api_call *c);
int api_calendars_list(struct api_call *c);
int api_events_list(struct api_call *c);
int api_event_create(struct api_call *c);
int api_event_get(struct api_call *c);
int api_event_put(struct api_call *c);
int api_event_delete(struct api_call *c);
int api_files_get(struct api_call *c);
int api_files_delete(struct api_call *c);
int api_file_download(struct api_call *c);
int api_file_upload(struct api_call *c); /* API_BODY_STREAM */
int api_files_move(struct api_call *c);
int api_folder_create(struct api_call *c);

/* ---- node settings (account.c) ----------------------------------------------------- */

/* Cluster-wide settings, partition "node/settings", row "":
 * {"signup": "closed"|"invite"|"open", "token_ttl": seconds}. Absent = defaults. */
#define API_SETTINGS_PKEY "node/settings"
#define API_SIGNUP_DEFAULT "closed"
#define API_TOKEN_TTL_DEFAULT 43200 /* 12 hours */

/* Loads the settings with defaults filled in; hash (may be NULL) receives the
 * row's hash, all zero when the row does not exist yet. */
int api_settings_load(struct dht *d, json_t **out, uint8_t hash[DHT_HASH_LEN], int *exists);

/* ---- deleting an account's data (purge.c) ----------------------------------------------- */

/* Deletes every row of every partition the user owns: mailboxes (and the
 * chunks of their sealed messages), the DAV trees coll/<user>/<kind>/...,
 * home/<user>, locks/<user>. Returns 0 or the first mg_err met (it goes on
 * past errors so that one bad row does not keep the rest). */
int api_purge_user(struct dht *d, const char *user);

/* ---- JSON and HTTP helpers (json.c) ---------------------------------------------------- */

/* Responds with an RFC 9457 problem: type "urn:meshgate:problem:<slug>"
 * ("about:blank" when slug is NULL), title from the status, detail from fmt,
 * instance = request path. Returns status. */
int api_problem(struct srv_request *req, int status, const char *slug, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Responds with v serialised (v is released). Returns status (500 on failure). */
int api_send_json(struct srv_request *req, int status, json_t *v);
/* 1 when the nesting of arrays and objects in text never exceeds max_depth. */
int api_json_depth_ok(const char *text, size_t len, int max_depth);
/* Parses a request body: valid JSON, no duplicate keys, depth limited.
 * Returns 0 and *out, MG_ETOOBIG (too deep) or MG_EINVAL with a message in err. */
int api_json_parse(const char *text, size_t len, int max_depth, json_t **out, char *err,
                   size_t cap);
/* The same for a body that may be an array as well as an object (jCard, jCal). */
int api_json_parse_doc(const char *text, size_t len, int max_depth, json_t **out, char *err,
                       size_t cap);
/* Field getters that tell a missing field from a wrong type. Each returns 0,
 * MG_ENOTFOUND (absent or null) or MG_EINVAL (wrong type). */
int api_json_get_str(const json_t *obj, const char *key, const char **out);
int api_json_get_bool(const json_t *obj, const char *key, int *out);
int api_json_get_uint(const json_t *obj, const char *key, uint64_t *out);
/* Rejects members of obj not in the NULL-terminated list allowed: returns the
 * first unknown key or NULL. */
const char *api_json_unknown_key(const json_t *obj, const char *const *allowed);

/* "\"<hex>\"" of a row hash. */
void api_etag(const uint8_t hash[DHT_HASH_LEN], char out[API_ETAG_LEN]);
/* RFC 9110 13.1.1: 1 when the request's If-Match (if any) lets a change of the
 * resource with this hash (NULL = no resource) go ahead. */
int api_if_match_ok(struct srv_request *req, const uint8_t *hash);
/* RFC 9110 13.1.2: 1 when If-None-Match matches hash (answer 304 to a GET). */
int api_if_none_match(struct srv_request *req, const uint8_t hash[DHT_HASH_LEN]);
/* The same for a strong ETag given as its quoted text (DAV objects). */
int api_if_none_match_etag(struct srv_request *req, const char *etag);
/* Sets the ETag header. */
void api_set_etag(struct srv_request *req, const uint8_t hash[DHT_HASH_LEN]);

/* Opaque cursors: base64url of the parts joined by '\n' (parts never hold '\n').
 * Returns 0 and a malloc'd string. */
int api_cursor_encode(const char *const *parts, size_t n, char **out);
/* Decodes into n malloc'd parts (caller frees each). Returns 0 or MG_EINVAL. */
int api_cursor_decode(const char *cursor, char **parts, size_t n);
/* RFC 8288: sets Link to the next page, the request's path with the query
 * parameters named in keep (NULL-terminated) and cursor=next. */
void api_link_next(struct api_call *c, const char *const *keep, const char *next);
/* Reads ?limit= (default API_PAGE_DEFAULT, at most API_PAGE_MAX). Returns 0 or
 * 400 after responding. */
int api_page_limit(struct api_call *c, size_t *limit);

/* Standard base64 with padding; malloc'd, NULL on ENOMEM. */
char *api_b64_encode(const void *data, size_t len);
/* Decodes standard or url-safe base64, skipping white space, padding optional.
 * strict: any other character is an error. Returns 0 or MG_EINVAL/MG_ENOMEM. */
int api_b64_decode(const char *s, size_t len, int strict, struct buf *out);

/* 1 when s[0..n) is valid UTF-8 without NUL. */
int api_utf8_valid(const char *s, size_t n);
/* Appends s[0..n) to b as valid UTF-8: invalid sequences and NUL become U+FFFD. */
int api_utf8_append(struct buf *b, const char *s, size_t n);
/* 1 when needle occurs in hay, ignoring ASCII case. */
int api_icontains(const char *hay, const char *needle);

/* ---- MIME (mime.c) --------------------------------------------------------------------- */

#define API_MIME_DEPTH_MAX 16

/* What the sender composes (strings borrowed, UTF-8). */
struct api_attachment_in {
    const char *filename;
    const char *content_type;
    const void *data;
    size_t len;
};
struct api_compose {
    const char *from;      /* address */
    const char *const *to; /* addresses */
    size_t nto;
    const char *const *cc;
    size_t ncc;
    const char *subject;
    const char *text;
    const struct api_attachment_in *att;
    size_t natt;
    const char *message_id;  /* without <> */
    const char *in_reply_to; /* without <>, may be NULL */
    int64_t date;            /* unix seconds */
};
/* Builds an RFC 5322 message (MIME multipart/mixed when there are
 * attachments), CRLF line ends, header values encoded per RFC 2047/2231.
 * Returns 0 or MG_ENOMEM. */
int api_mime_build(const struct api_compose *m, struct buf *out);

/* Parses a message into JSON:
 *   {"from": s, "to": [s], "cc": [s], "subject": s, "date": s, "message_id": s,
 *    "in_reply_to": s, "text": s, "html": s (when there is one),
 *    "attachments": [{"index": n, "filename": s, "content_type": s, "size": n}]}
 * Every string is valid UTF-8. Returns 0, MG_EINVAL (not a message), MG_ENOMEM. */
int api_mime_parse(const char *raw, size_t len, json_t **out);
/* Decodes attachment index of raw into out; ctype/filename receive malloc'd
 * copies. Returns 0, MG_ENOTFOUND or an mg_err. */
int api_mime_attachment(const char *raw, size_t len, size_t index, struct buf *out, char **ctype,
                        char **filename);

/* ---- sealed mail (seal.c) ----------------------------------------------------------------- */

/* A message row: partition "mbox/<user>/<mailbox>", row = message id, value =
 * the envelope JSON:
 *   {"v": 1, "received": <ms>, "size": <bytes of the message>,
 *    "flags": {"seen": b, "flagged": b, "answered": b},
 *    "key":  <base64 crypto_box_seal(content key, owner's public key)>,
 *    "meta": <base64 nonce | XChaCha20-Poly1305(meta JSON)>,
 *    "body": <base64 dht manifest of nonce | XChaCha20-Poly1305(message)>}
 * Only the flags, times and size are readable without the owner's secret key. */
struct api_flags {
    int seen;
    int flagged;
    int answered;
};

struct api_envelope {
    uint64_t received_ms;
    uint64_t size;
    struct api_flags flags;
    json_t *root; /* owned */
};

#define API_MAILBOX_MAX 64 /* bytes of a mailbox name */
#define API_MSGID_LEN 20   /* hex characters of a message id */

/* A new message id: 12 hex digits of (2^48-1 - now ms), so that row order is
 * newest first, and 8 random hex digits. out holds API_MSGID_LEN + 1 bytes. */
void api_msgid_new(char out[API_MSGID_LEN + 1]);
/* 1 when id looks like one made by api_msgid_new. */
int api_msgid_valid(const char *id);

/* Seals raw (the message) and meta (a JSON object) for the owner's public
 * key: a fresh content key sealed with crypto_box_seal, meta and body
 * encrypted under it with msgid bound as associated data; the body's
 * ciphertext goes through the blob writer (chunks for large messages).
 * Appends the envelope JSON to out. Returns 0 or an mg_err. */
int api_mail_seal(struct dht *d, const uint8_t owner_pk[ACCT_KEY_LEN], const char *msgid,
                  const char *raw, size_t len, const json_t *meta, const struct api_flags *flags,
                  uint64_t received_ms, struct buf *out);
/* Parses an envelope row. Returns 0 or MG_EINVAL. */
int api_envelope_parse(const void *data, size_t len, struct api_envelope *out);
void api_envelope_release(struct api_envelope *e);
/* Encodes e (with its current flags) again into out. */
int api_envelope_encode(const struct api_envelope *e, struct buf *out);
/* Opens the metadata. Returns 0, MG_EDENIED (not sealed to this key pair or
 * tampered with) or MG_EINVAL. */
int api_mail_open_meta(const struct api_envelope *e, const char *msgid,
                       const uint8_t pk[ACCT_KEY_LEN], const uint8_t *sk, json_t **meta);
/* Opens the message itself into out (NUL-terminated). Same returns. */
int api_mail_open_body(struct dht *d, const struct api_envelope *e, const char *msgid,
                       const uint8_t pk[ACCT_KEY_LEN], const uint8_t *sk, struct buf *out);
/* Deletes the body's chunk partitions (each sealed copy has its own). */
int api_mail_delete_chunks(struct dht *d, const struct api_envelope *e);

/* Mailbox names: 1-64 bytes of UTF-8 without control characters or '/'. */
int api_mailbox_valid(const char *name);
/* 1 for Inbox, Sent, Drafts, Trash, Archive. */
int api_mailbox_is_system(const char *name);
extern const char *const api_system_mailboxes[];
/* Appends "mbox/<user>/<mailbox>". */
int api_mailbox_pkey(struct buf *out, const char *user, const char *mailbox);
/* The partition listing a user's own mailboxes: "mbox/<user>". */
int api_mailbox_index_pkey(struct buf *out, const char *user);

#endif
