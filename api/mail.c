/*
 * mail.c - the mail routes: mailboxes, listing and search, reading (JSON,
 * raw .eml, attachments), flags, move, delete, composing and sending.
 *
 * Storage (see seal.c for the envelope):
 *   mbox/<user>             the user's own mailboxes: row = name, {"created": s}
 *   mbox/<user>/<mailbox>   messages: row = message id, value = sealed envelope
 * Inbox, Sent, Drafts, Trash and Archive always exist and have no row.
 * Mail is for local users (<user>@meshgate, the same on every node): sending
 * seals one copy to each recipient's public key into their Inbox, and one to
 * the sender's into Sent, with the per-recipient delivery status inside the
 * sealed metadata. Delivery is a write to the recipient's partition, so it is
 * replicated like any write: nothing is lost when the recipient is offline.
 *
 * Everything a listing shows (sender, subject) is sealed, so listing and
 * search decrypt each message's metadata with the session's key on the server;
 * a request scans at most MAIL_SCAN_BUDGET messages and returns a cursor to go
 * on from (a page may then hold fewer items than asked, even none).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_private.h"

#define MAIL_SCAN_BUDGET 2000
#define MAIL_RECIPIENTS_MAX 100
#define MAIL_ATTACHMENTS_MAX 100
#define MAIL_SUBJECT_MAX 2000
#define MAIL_USER_MAILBOXES_MAX 1000
#define MAIL_SNIPPET_CHARS 160
#define MAIL_ADDRESS_MAX 254

/* ---- helpers --------------------------------------------------------------------------- */

static int mail_store_error(struct api_call *c, int rc, const char *what)
{
    return api_problem(c->req, 503, "store-unavailable", "cannot %s: %s", what, mg_strerror(rc));
}

/* 1 when the user has the mailbox; *hash gets its index row hash (user boxes). */
static int mail_box_exists(struct api_call *c, const char *name, uint8_t *hash, int *err)
{
    *err = 0;
    if (api_mailbox_is_system(name))
        return 1;
    struct buf pkey;
    buf_init(&pkey);
    if (api_mailbox_index_pkey(&pkey, api_user(c))) {
        *err = MG_ENOMEM;
        return 0;
    }
    struct dht_row row;
    int rc = dht_get(c->m->d, pkey.data, name, &row);
    buf_release(&pkey);
    if (rc == 0) {
        if (hash)
            memcpy(hash, row.hash, DHT_HASH_LEN);
        dht_row_release(&row);
        return 1;
    }
    if (rc != MG_ENOTFOUND)
        *err = rc;
    return 0;
}

/* Checks the {mailbox} parameter; returns 0 or a status after responding. */
static int mail_box_param(struct api_call *c, const char *name)
{
    int err;
    if (!api_mailbox_valid(name) || !mail_box_exists(c, name, NULL, &err)) {
        if (err)
            return mail_store_error(c, err, "read the mailboxes");
        return api_problem(c->req, 404, "no-such-mailbox", "you have no mailbox named %s", name);
    }
    return 0;
}

/* A loaded message: its row, parsed envelope and partition key. */
struct mail_msg {
    struct buf pkey;
    struct dht_row row;
    struct api_envelope env;
    int loaded;
};

static void mail_msg_release(struct mail_msg *m)
{
    buf_release(&m->pkey);
    if (m->loaded) {
        dht_row_release(&m->row);
        api_envelope_release(&m->env);
    }
    m->loaded = 0;
}

/* Loads {mailbox}/{id} of the caller. Returns 0 or a status after responding. */
static int mail_load(struct api_call *c, const char *mailbox, const char *id, struct mail_msg *m)
{
    buf_init(&m->pkey);
    m->loaded = 0;
    int st = mail_box_param(c, mailbox);
    if (st)
        return st;
    if (!api_msgid_valid(id))
        return api_problem(c->req, 404, "no-such-message", "no message %s in %s", id, mailbox);
    if (api_mailbox_pkey(&m->pkey, api_user(c), mailbox))
        return api_problem(c->req, 500, NULL, "out of memory");
    int rc = dht_get(c->m->d, m->pkey.data, id, &m->row);
    if (rc == MG_ENOTFOUND)
        return api_problem(c->req, 404, "no-such-message", "no message %s in %s", id, mailbox);
    if (rc)
        return mail_store_error(c, rc, "read the message");
    if (api_envelope_parse(m->row.value, m->row.value_len, &m->env)) {
        dht_row_release(&m->row);
        log_err("message %s/%s of %s is not an envelope", mailbox, id, api_user(c));
        return api_problem(c->req, 500, "corrupt-message", "the stored message is damaged");
    }
    m->loaded = 1;
    return 0;
}

static json_t *mail_flags_json(const struct api_flags *f)
{
    return json_pack("{s:b, s:b, s:b}", "seen", f->seen, "flagged", f->flagged, "answered",
                     f->answered);
}

static json_t *mail_time_json(uint64_t ms)
{
    char t[32];
    mg_iso8601((int64_t)(ms / 1000u), t, sizeof(t));
    return json_string(t);
}

/* The listing item of a message: plaintext facts plus its opened metadata. */
static json_t *mail_summary(const char *mailbox, const char *id, const struct api_envelope *e,
                            const json_t *meta, const uint8_t hash[DHT_HASH_LEN])
{
    char etag[API_ETAG_LEN];
    api_etag(hash, etag);
    json_t *v =
        json_pack("{s:s, s:s, s:o, s:I, s:o, s:s, s:b}", "id", id, "mailbox", mailbox, "flags",
                  mail_flags_json(&e->flags), "size", (json_int_t)e->size, "received_at",
                  mail_time_json(e->received_ms), "etag", etag, "readable", meta != NULL);
    if (v && meta) {
        static const char *const keys[] = {"from",     "to",         "cc",      "subject",
                                           "date",     "message_id", "snippet", "attachments",
                                           "delivery", "bcc",        NULL};
        for (size_t i = 0; keys[i]; i++) {
            json_t *x = json_object_get(meta, keys[i]);
            if (x)
                json_object_set(v, keys[i], x);
        }
    }
    return v;
}

/* The metadata sealed with a message: what its listing shows. */
static int mail_meta_from_raw(const char *raw, size_t len, json_t **meta)
{
    json_t *parsed = NULL;
    int rc = api_mime_parse(raw, len, &parsed);
    if (rc)
        return rc;
    const char *text = json_string_value(json_object_get(parsed, "text"));
    size_t n = 0, chars = 0;
    while (text && text[n] && chars < MAIL_SNIPPET_CHARS) {
        n++;
        while (((unsigned char)text[n] & 0xc0) == 0x80)
            n++;
        chars++;
    }
    json_object_set_new(parsed, "snippet", json_stringn(text ? text : "", n));
    json_object_del(parsed, "text");
    json_object_del(parsed, "html");
    /* attachments: names, types and sizes only */
    *meta = parsed;
    return 0;
}

/* Seals raw for owner (public key pk) and stores it in their mailbox with a
 * new id (written to id). Returns 0 or an mg_err. */
static int mail_deliver(struct api_call *c, const char *owner, const uint8_t pk[ACCT_KEY_LEN],
                        const char *mailbox, const char *raw, size_t len, const json_t *meta,
                        const struct api_flags *flags, char id[API_MSGID_LEN + 1],
                        uint8_t hash[DHT_HASH_LEN])
{
    struct buf pkey, env;
    buf_init(&pkey);
    buf_init(&env);
    int rc = api_mailbox_pkey(&pkey, owner, mailbox);
    for (int attempt = 0; attempt < 3 && !rc; attempt++) {
        api_msgid_new(id);
        buf_reset(&env);
        rc = api_mail_seal(c->m->d, pk, id, raw, len, meta, flags, mg_now_ms(), &env);
        if (rc)
            break;
        struct dht_cond absent = {.kind = DHT_COND_ABSENT};
        rc = dht_put(c->m->d, pkey.data, id, env.data, env.len, &absent, NULL, hash);
        if (rc != MG_EPRECOND)
            break; /* else: an id collision; take another */
        rc = 0;
        if (attempt == 2)
            rc = MG_EEXIST;
    }
    buf_release(&pkey);
    buf_release(&env);
    return rc;
}

static void mail_location(struct api_call *c, const char *mailbox, const char *id)
{
    struct buf loc;
    buf_init(&loc);
    if (!buf_puts(&loc, API_BASE "/mail/mailboxes/") && !mg_path_encode(&loc, mailbox) &&
        !buf_printf(&loc, "/messages/%s", id))
        srv_resp_header(c->req, "Location", loc.data);
    buf_release(&loc);
}

/* ---- mailboxes ------------------------------------------------------------------------------ */

struct count_ctx {
    size_t total;
    size_t unread;
    uint64_t bytes;
};

static int mail_count_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    (void)rkey;
    struct count_ctx *cc = ctx;
    struct api_envelope e;
    if (api_envelope_parse(row->value, row->value_len, &e))
        return 0;
    cc->total++;
    cc->unread += !e.flags.seen;
    cc->bytes += e.size;
    api_envelope_release(&e);
    return 0;
}

static json_t *mail_box_json(struct api_call *c, const char *name, int *err)
{
    struct buf pkey;
    buf_init(&pkey);
    struct count_ctx cc = {0, 0, 0};
    *err = api_mailbox_pkey(&pkey, api_user(c), name);
    if (!*err)
        *err = dht_scan(c->m->d, pkey.data, "", 0, mail_count_row, &cc);
    buf_release(&pkey);
    if (*err)
        return NULL;
    return json_pack("{s:s, s:b, s:I, s:I, s:I}", "name", name, "system",
                     api_mailbox_is_system(name), "total", (json_int_t)cc.total, "unread",
                     (json_int_t)cc.unread, "size", (json_int_t)cc.bytes);
}

struct names_ctx {
    json_t *names;
};

static int mail_name_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    (void)row;
    struct names_ctx *nc = ctx;
    if (json_array_size(nc->names) >= MAIL_USER_MAILBOXES_MAX)
        return 1;
    return json_array_append_new(nc->names, json_string(rkey)) ? MG_ENOMEM : 0;
}

/* All the user's mailbox names: the system ones, then their own in order. */
static int mail_box_names(struct api_call *c, json_t **out)
{
    struct names_ctx nc = {json_array()};
    if (!nc.names)
        return MG_ENOMEM;
    for (size_t i = 0; api_system_mailboxes[i]; i++)
        json_array_append_new(nc.names, json_string(api_system_mailboxes[i]));
    struct buf pkey;
    buf_init(&pkey);
    int rc = api_mailbox_index_pkey(&pkey, api_user(c));
    if (!rc)
        rc = dht_scan(c->m->d, pkey.data, "", 0, mail_name_row, &nc);
    buf_release(&pkey);
    if (rc < 0) {
        json_decref(nc.names);
        return rc;
    }
    *out = nc.names;
    return 0;
}

int api_mailboxes_list(struct api_call *c)
{
    json_t *names = NULL;
    int rc = mail_box_names(c, &names);
    if (rc)
        return mail_store_error(c, rc, "list the mailboxes");
    json_t *items = json_array();
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        json_t *box = mail_box_json(c, json_string_value(name), &rc);
        if (!box) {
            json_decref(items);
            json_decref(names);
            return mail_store_error(c, rc ? rc : MG_ENOMEM, "count the messages");
        }
        json_array_append_new(items, box);
    }
    json_decref(names);
    return api_send_json(c->req, 200, json_pack("{s:o, s:n}", "items", items, "next"));
}

int api_mailbox_get(struct api_call *c)
{
    const char *name = c->params[0];
    uint8_t hash[DHT_HASH_LEN];
    int err;
    if (!api_mailbox_valid(name) || !mail_box_exists(c, name, hash, &err)) {
        if (err)
            return mail_store_error(c, err, "read the mailboxes");
        return api_problem(c->req, 404, "no-such-mailbox", "you have no mailbox named %s", name);
    }
    json_t *box = mail_box_json(c, name, &err);
    if (!box)
        return mail_store_error(c, err ? err : MG_ENOMEM, "count the messages");
    if (!api_mailbox_is_system(name))
        api_set_etag(c->req, hash);
    return api_send_json(c->req, 200, box);
}

int api_mailbox_create(struct api_call *c)
{
    static const char *const allowed[] = {"name", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    const char *name;
    int rc = api_json_get_str(c->json, "name", &name);
    if (rc || !api_mailbox_valid(name))
        return api_problem(c->req, 400, "bad-mailbox-name",
                           "\"name\" must be 1-%d bytes of UTF-8 without control characters "
                           "or '/', and not start or end with a space",
                           API_MAILBOX_MAX);
    for (size_t i = 0; api_system_mailboxes[i]; i++)
        if (strcasecmp(name, api_system_mailboxes[i]) == 0)
            return api_problem(c->req, 409, "mailbox-exists", "%s is a system mailbox",
                               api_system_mailboxes[i]);
    json_t *names = NULL;
    rc = mail_box_names(c, &names);
    if (rc)
        return mail_store_error(c, rc, "list the mailboxes");
    size_t count = json_array_size(names);
    json_decref(names);
    if (count >= MAIL_USER_MAILBOXES_MAX + 5)
        return api_problem(c->req, 409, "too-many-mailboxes", "you have %d mailboxes already",
                           MAIL_USER_MAILBOXES_MAX);
    struct buf pkey;
    buf_init(&pkey);
    char value[48];
    snprintf(value, sizeof(value), "{\"created\":%llu}", (unsigned long long)(mg_now_ms() / 1000));
    struct dht_cond absent = {.kind = DHT_COND_ABSENT};
    uint8_t hash[DHT_HASH_LEN];
    rc = api_mailbox_index_pkey(&pkey, api_user(c));
    if (!rc)
        rc = dht_put(c->m->d, pkey.data, name, value, strlen(value), &absent, NULL, hash);
    buf_release(&pkey);
    if (rc == MG_EPRECOND)
        return api_problem(c->req, 409, "mailbox-exists", "you have a mailbox named %s already",
                           name);
    if (rc)
        return mail_store_error(c, rc, "create the mailbox");
    struct buf loc;
    buf_init(&loc);
    if (!buf_puts(&loc, API_BASE "/mail/mailboxes/") && !mg_path_encode(&loc, name))
        srv_resp_header(c->req, "Location", loc.data);
    buf_release(&loc);
    api_set_etag(c->req, hash);
    return api_send_json(c->req, 201,
                         json_pack("{s:s, s:b, s:i, s:i, s:i}", "name", name, "system", 0, "total",
                                   0, "unread", 0, "size", 0));
}

int api_mailbox_delete(struct api_call *c)
{
    const char *name = c->params[0];
    uint8_t hash[DHT_HASH_LEN];
    int err;
    if (!api_mailbox_valid(name) || !mail_box_exists(c, name, hash, &err)) {
        if (err)
            return mail_store_error(c, err, "read the mailboxes");
        return api_problem(c->req, 404, "no-such-mailbox", "you have no mailbox named %s", name);
    }
    if (api_mailbox_is_system(name))
        return api_problem(c->req, 409, "system-mailbox", "%s is a system mailbox and stays", name);
    if (!api_if_match_ok(c->req, hash))
        return api_problem(c->req, 412, "etag-mismatch", "the mailbox changed (If-Match)");
    json_t *box = mail_box_json(c, name, &err);
    if (!box)
        return mail_store_error(c, err ? err : MG_ENOMEM, "count the messages");
    json_int_t total = json_integer_value(json_object_get(box, "total"));
    json_decref(box);
    if (total > 0)
        return api_problem(c->req, 409, "mailbox-not-empty",
                           "%s holds %lld messages: move or delete them first", name,
                           (long long)total);
    struct buf pkey;
    buf_init(&pkey);
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    memcpy(cond.hash, hash, DHT_HASH_LEN);
    int rc = api_mailbox_index_pkey(&pkey, api_user(c));
    if (!rc)
        rc = dht_delete(c->m->d, pkey.data, name, &cond);
    buf_release(&pkey);
    if (rc == MG_EPRECOND)
        return api_problem(c->req, 412, "etag-mismatch", "the mailbox changed meanwhile");
    if (rc && rc != MG_ENOTFOUND)
        return mail_store_error(c, rc, "delete the mailbox");
    return srv_respond(c->req, 204, NULL, NULL, 0);
}

/* ---- listing and search -------------------------------------------------------------------------
 */

struct list_ctx {
    struct api_call *c;
    const char *mailbox;
    const char *from;    /* filter, or NULL */
    const char *subject; /* filter, or NULL */
    json_t *items;
    size_t limit;
    size_t scanned;
    char last[API_MSGID_LEN + 1];
    int stopped; /* the page is full or the budget spent, with rows left */
};

/* 1 when a string or any string of an array contains needle. */
static int mail_meta_contains(const json_t *v, const char *needle)
{
    if (json_is_string(v))
        return api_icontains(json_string_value(v), needle);
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) if (json_is_string(x) &&
                                    api_icontains(json_string_value(x), needle)) return 1;
    return 0;
}

static int mail_list_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct list_ctx *lc = ctx;
    if (json_array_size(lc->items) == lc->limit || lc->scanned == MAIL_SCAN_BUDGET) {
        lc->stopped = 1;
        return 1;
    }
    lc->scanned++;
    snprintf(lc->last, sizeof(lc->last), "%s", rkey);
    struct api_envelope e;
    if (!api_msgid_valid(rkey) || api_envelope_parse(row->value, row->value_len, &e))
        return 0;
    json_t *meta = NULL;
    int rc = api_mail_open_meta(&e, rkey, lc->c->pk, lc->c->sk, &meta);
    int match = 1;
    if (lc->from)
        match = meta && mail_meta_contains(json_object_get(meta, "from"), lc->from);
    if (match && lc->subject)
        match = meta && mail_meta_contains(json_object_get(meta, "subject"), lc->subject);
    if (match) {
        json_t *item = mail_summary(lc->mailbox, rkey, &e, rc ? NULL : meta, row->hash);
        if (item)
            json_array_append_new(lc->items, item);
    }
    json_decref(meta);
    api_envelope_release(&e);
    return 0;
}

/* Lists mailboxes[first..] starting after `after` in the first one. */
static int mail_list(struct api_call *c, json_t *mailboxes, size_t first, const char *after,
                     const char *from, const char *subject, int with_mailbox_in_cursor)
{
    size_t limit;
    int st = api_page_limit(c, &limit);
    if (st)
        return st;
    json_t *items = json_array();
    char *next = NULL;
    struct buf pkey;
    buf_init(&pkey);
    int rc = items ? 0 : MG_ENOMEM;
    size_t scanned = 0;
    for (size_t i = first; i < json_array_size(mailboxes) && !rc; i++) {
        const char *box = json_string_value(json_array_get(mailboxes, i));
        struct list_ctx lc = {c, box, from, subject, items, limit, scanned, "", 0};
        buf_reset(&pkey);
        rc = api_mailbox_pkey(&pkey, api_user(c), box);
        if (!rc)
            rc = dht_scan(c->m->d, pkey.data, i == first && after ? after : "", 0, mail_list_row,
                          &lc);
        if (rc > 0)
            rc = 0; /* stopped by the callback */
        scanned = lc.scanned;
        if (!rc && lc.stopped) {
            /* resume after the last row looked at (or before this box's first) */
            const char *parts[2] = {box, lc.last[0] ? lc.last : (i == first && after ? after : "")};
            if (with_mailbox_in_cursor || parts[1][0])
                rc = api_cursor_encode(parts, 2, &next);
            break;
        }
    }
    buf_release(&pkey);
    if (rc) {
        json_decref(items);
        free(next);
        return mail_store_error(c, rc, "list the messages");
    }
    json_t *v =
        json_pack("{s:o, s:o}", "items", items, "next", next ? json_string(next) : json_null());
    if (next) {
        /* RFC 8288: the next page, with the request's other parameters */
        static const char *const keep[] = {"limit", "from", "subject", "mailbox", NULL};
        api_link_next(c, keep, next);
    }
    free(next);
    return api_send_json(c->req, 200, v);
}

/* Reads the optional from/subject filters; returns 0 or 400 after responding. */
static int mail_filters(struct api_call *c, const char **from, const char **subject)
{
    *from = srv_req_query(c->req, "from");
    *subject = srv_req_query(c->req, "subject");
    if ((*from && (strlen(*from) > 200 || !api_utf8_valid(*from, strlen(*from)))) ||
        (*subject && (strlen(*subject) > 200 || !api_utf8_valid(*subject, strlen(*subject)))))
        return api_problem(c->req, 400, "bad-parameter",
                           "from and subject must be UTF-8 text of at most 200 bytes");
    if (*from && !**from)
        *from = NULL;
    if (*subject && !**subject)
        *subject = NULL;
    return 0;
}

int api_messages_list(struct api_call *c)
{
    const char *mailbox = c->params[0];
    int st = mail_box_param(c, mailbox);
    if (st)
        return st;
    const char *from, *subject;
    st = mail_filters(c, &from, &subject);
    if (st)
        return st;
    char *parts[2] = {NULL, NULL};
    const char *cursor = srv_req_query(c->req, "cursor");
    if (cursor && (api_cursor_decode(cursor, parts, 2) || strcmp(parts[0], mailbox) != 0 ||
                   (parts[1][0] && !api_msgid_valid(parts[1])))) {
        free(parts[0]);
        free(parts[1]);
        return api_problem(c->req, 400, "bad-cursor",
                           "the cursor was not made by this listing of %s", mailbox);
    }
    json_t *boxes = json_pack("[s]", mailbox);
    st = boxes ? mail_list(c, boxes, 0, parts[1], from, subject, 0)
               : api_problem(c->req, 500, NULL, "out of memory");
    json_decref(boxes);
    free(parts[0]);
    free(parts[1]);
    return st;
}

int api_mail_search(struct api_call *c)
{
    const char *from, *subject;
    int st = mail_filters(c, &from, &subject);
    if (st)
        return st;
    if (!from && !subject)
        return api_problem(c->req, 400, "bad-parameter",
                           "search by from=, subject= or both (substrings, any case)");
    json_t *boxes = NULL;
    int rc = mail_box_names(c, &boxes);
    if (rc)
        return mail_store_error(c, rc, "list the mailboxes");
    const char *only = srv_req_query(c->req, "mailbox");
    if (only) {
        int err;
        if (!api_mailbox_valid(only) || !mail_box_exists(c, only, NULL, &err)) {
            json_decref(boxes);
            return api_problem(c->req, 404, "no-such-mailbox", "you have no mailbox named %s",
                               only);
        }
        json_decref(boxes);
        boxes = json_pack("[s]", only);
    }
    size_t first = 0;
    char *parts[2] = {NULL, NULL};
    const char *cursor = srv_req_query(c->req, "cursor");
    if (cursor) {
        int ok =
            api_cursor_decode(cursor, parts, 2) == 0 && (!parts[1][0] || api_msgid_valid(parts[1]));
        for (first = 0; ok && first < json_array_size(boxes); first++)
            if (strcmp(json_string_value(json_array_get(boxes, first)), parts[0]) == 0)
                break;
        if (!ok || first == json_array_size(boxes)) {
            free(parts[0]);
            free(parts[1]);
            json_decref(boxes);
            return api_problem(c->req, 400, "bad-cursor", "the cursor was not made by a search");
        }
    }
    st = mail_list(c, boxes, first, parts[1] && parts[1][0] ? parts[1] : NULL, from, subject, 1);
    free(parts[0]);
    free(parts[1]);
    json_decref(boxes);
    return st;
}

/* ---- reading ------------------------------------------------------------------------------------
 */

/* Opens the message of m into raw; returns 0 or a status after responding. */
static int mail_open(struct api_call *c, struct mail_msg *m, const char *id, struct buf *raw)
{
    int rc = api_mail_open_body(c->m->d, &m->env, id, c->pk, c->sk, raw);
    if (rc == MG_EDENIED)
        return api_problem(c->req, 409, "unreadable",
                           "this message was sealed to another key of the account (the password "
                           "was reset); it cannot be opened");
    if (rc)
        return mail_store_error(c, rc, "open the message");
    return 0;
}

int api_message_get(struct api_call *c)
{
    const char *mailbox = c->params[0], *id = c->params[1];
    struct mail_msg m;
    int st = mail_load(c, mailbox, id, &m);
    if (st) {
        mail_msg_release(&m);
        return st;
    }
    api_set_etag(c->req, m.row.hash);
    if (api_if_none_match(c->req, m.row.hash)) {
        mail_msg_release(&m);
        return srv_respond(c->req, 304, NULL, NULL, 0);
    }
    struct buf raw;
    buf_init(&raw);
    json_t *v = NULL, *meta = NULL;
    st = mail_open(c, &m, id, &raw);
    if (!st && api_mime_parse(raw.data, raw.len, &v))
        st = api_problem(c->req, 500, "corrupt-message", "the message cannot be parsed");
    if (!st) {
        json_object_set_new(v, "id", json_string(id));
        json_object_set_new(v, "mailbox", json_string(mailbox));
        json_object_set_new(v, "flags", mail_flags_json(&m.env.flags));
        json_object_set_new(v, "size", json_integer((json_int_t)m.env.size));
        json_object_set_new(v, "received_at", mail_time_json(m.env.received_ms));
        if (api_mail_open_meta(&m.env, id, c->pk, c->sk, &meta) == 0) {
            static const char *const extra[] = {"delivery", "bcc", NULL};
            for (size_t i = 0; extra[i]; i++)
                if (json_object_get(meta, extra[i]))
                    json_object_set(v, extra[i], json_object_get(meta, extra[i]));
        }
        json_decref(meta);
        st = api_send_json(c->req, 200, v);
    }
    if (raw.data)
        sodium_memzero(raw.data, raw.len);
    buf_release(&raw);
    mail_msg_release(&m);
    return st;
}

int api_message_raw(struct api_call *c)
{
    const char *mailbox = c->params[0], *id = c->params[1];
    struct mail_msg m;
    int st = mail_load(c, mailbox, id, &m);
    if (st) {
        mail_msg_release(&m);
        return st;
    }
    struct buf raw;
    buf_init(&raw);
    st = mail_open(c, &m, id, &raw);
    if (!st) {
        char disp[64];
        snprintf(disp, sizeof(disp), "attachment; filename=\"%s.eml\"", id);
        srv_resp_header(c->req, "Content-Disposition", disp);
        api_set_etag(c->req, m.row.hash);
        st = srv_respond(c->req, 200, "message/rfc822", raw.data, raw.len);
    }
    if (raw.data)
        sodium_memzero(raw.data, raw.len);
    buf_release(&raw);
    mail_msg_release(&m);
    return st;
}

int api_message_attachment(struct api_call *c)
{
    const char *mailbox = c->params[0], *id = c->params[1];
    uint64_t index;
    if (mg_parse_u64(c->params[2], &index))
        return api_problem(c->req, 404, "no-such-attachment", "no attachment %s", c->params[2]);
    struct mail_msg m;
    int st = mail_load(c, mailbox, id, &m);
    if (st) {
        mail_msg_release(&m);
        return st;
    }
    struct buf raw, data;
    buf_init(&raw);
    buf_init(&data);
    char *ctype = NULL, *filename = NULL;
    st = mail_open(c, &m, id, &raw);
    if (!st) {
        int rc = api_mime_attachment(raw.data, raw.len, (size_t)index, &data, &ctype, &filename);
        if (rc == MG_ENOTFOUND)
            st = api_problem(c->req, 404, "no-such-attachment", "message %s has no attachment %llu",
                             id, (unsigned long long)index);
        else if (rc)
            st = api_problem(c->req, 500, "corrupt-message", "the message cannot be parsed");
    }
    if (!st) {
        /* Never rendered in the portal's origin: a download, not sniffed */
        struct buf disp;
        buf_init(&disp);
        buf_puts(&disp, "attachment; filename*=UTF-8''");
        mg_path_encode(&disp, filename);
        srv_resp_header(c->req, "Content-Disposition", disp.data ? disp.data : "attachment");
        buf_release(&disp);
        srv_resp_header(c->req, "X-Content-Type-Options", "nosniff");
        srv_resp_header(c->req, "Content-Security-Policy", "sandbox");
        st = srv_respond(c->req, 200, ctype, data.data ? data.data : "", data.len);
    }
    free(ctype);
    free(filename);
    buf_release(&data);
    if (raw.data)
        sodium_memzero(raw.data, raw.len);
    buf_release(&raw);
    mail_msg_release(&m);
    return st;
}

/* ---- changing
 * ------------------------------------------------------------------------------------ */

int api_message_patch(struct api_call *c)
{
    static const char *const allowed[] = {"flags", NULL};
    static const char *const flag_names[] = {"seen", "flagged", "answered", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    json_t *flags = json_object_get(c->json, "flags");
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    if (!json_is_object(flags))
        return api_problem(c->req, 400, "missing-field",
                           "send {\"flags\": {\"seen\": true, ...}} (seen, flagged, answered)");
    bad = api_json_unknown_key(flags, flag_names);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown flag \"%s\"", bad);
    const char *mailbox = c->params[0], *id = c->params[1];
    struct mail_msg m;
    int st = mail_load(c, mailbox, id, &m);
    if (st) {
        mail_msg_release(&m);
        return st;
    }
    if (!api_if_match_ok(c->req, m.row.hash)) {
        mail_msg_release(&m);
        return api_problem(c->req, 412, "etag-mismatch", "the message changed (If-Match)");
    }
    int *fields[] = {&m.env.flags.seen, &m.env.flags.flagged, &m.env.flags.answered};
    for (size_t i = 0; flag_names[i]; i++) {
        int rc = api_json_get_bool(flags, flag_names[i], fields[i]);
        if (rc == MG_EINVAL) {
            mail_msg_release(&m);
            return api_problem(c->req, 400, "bad-field", "flag \"%s\" must be true or false",
                               flag_names[i]);
        }
    }
    struct buf env;
    buf_init(&env);
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    memcpy(cond.hash, m.row.hash, DHT_HASH_LEN);
    uint8_t hash[DHT_HASH_LEN];
    int rc = api_envelope_encode(&m.env, &env);
    if (!rc)
        rc = dht_put(c->m->d, m.pkey.data, id, env.data, env.len, &cond, NULL, hash);
    buf_release(&env);
    if (rc) {
        mail_msg_release(&m);
        if (rc == MG_EPRECOND)
            return api_problem(c->req, 412, "etag-mismatch", "the message changed meanwhile");
        return mail_store_error(c, rc, "store the flags");
    }
    api_set_etag(c->req, hash);
    json_t *v = json_pack("{s:s, s:s, s:o}", "id", id, "mailbox", mailbox, "flags",
                          mail_flags_json(&m.env.flags));
    mail_msg_release(&m);
    return api_send_json(c->req, 200, v);
}

int api_message_delete(struct api_call *c)
{
    const char *mailbox = c->params[0], *id = c->params[1];
    struct mail_msg m;
    int st = mail_load(c, mailbox, id, &m);
    if (st) {
        mail_msg_release(&m);
        return st;
    }
    if (!api_if_match_ok(c->req, m.row.hash)) {
        mail_msg_release(&m);
        return api_problem(c->req, 412, "etag-mismatch", "the message changed (If-Match)");
    }
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    memcpy(cond.hash, m.row.hash, DHT_HASH_LEN);
    int rc = dht_delete(c->m->d, m.pkey.data, id, &cond);
    if (rc == 0)
        api_mail_delete_chunks(c->m->d, &m.env);
    mail_msg_release(&m);
    if (rc == MG_EPRECOND)
        return api_problem(c->req, 412, "etag-mismatch", "the message changed meanwhile");
    if (rc == MG_ENOTFOUND)
        return api_problem(c->req, 404, "no-such-message", "no message %s in %s", id, mailbox);
    if (rc)
        return mail_store_error(c, rc, "delete the message");
    return srv_respond(c->req, 204, NULL, NULL, 0);
}

int api_message_move(struct api_call *c)
{
    static const char *const allowed[] = {"mailbox", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    const char *target;
    if (api_json_get_str(c->json, "mailbox", &target))
        return api_problem(c->req, 400, "missing-field", "send {\"mailbox\": \"<target>\"}");
    const char *mailbox = c->params[0], *id = c->params[1];
    int err;
    if (!api_mailbox_valid(target) || !mail_box_exists(c, target, NULL, &err)) {
        if (err)
            return mail_store_error(c, err, "read the mailboxes");
        return api_problem(c->req, 422, "no-such-mailbox", "you have no mailbox named %s", target);
    }
    struct mail_msg m;
    int st = mail_load(c, mailbox, id, &m);
    if (st) {
        mail_msg_release(&m);
        return st;
    }
    if (!api_if_match_ok(c->req, m.row.hash)) {
        mail_msg_release(&m);
        return api_problem(c->req, 412, "etag-mismatch", "the message changed (If-Match)");
    }
    if (strcmp(target, mailbox) == 0) {
        mail_msg_release(&m);
        return api_problem(c->req, 409, "same-mailbox", "the message is in %s already", target);
    }
    struct buf dst;
    buf_init(&dst);
    struct dht_cond absent = {.kind = DHT_COND_ABSENT};
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    memcpy(cond.hash, m.row.hash, DHT_HASH_LEN);
    uint8_t hash[DHT_HASH_LEN];
    /* copy, then delete the source only if it is still what we copied */
    int rc = api_mailbox_pkey(&dst, api_user(c), target);
    if (!rc)
        rc = dht_put(c->m->d, dst.data, id, m.row.value, m.row.value_len, &absent, NULL, hash);
    if (!rc) {
        rc = dht_delete(c->m->d, m.pkey.data, id, &cond);
        if (rc)
            dht_delete(c->m->d, dst.data, id, NULL);
    }
    buf_release(&dst);
    if (rc) {
        mail_msg_release(&m);
        if (rc == MG_EPRECOND)
            return api_problem(c->req, 412, "etag-mismatch", "the message changed meanwhile");
        return mail_store_error(c, rc, "move the message");
    }
    mail_location(c, target, id);
    api_set_etag(c->req, hash);
    json_t *v = json_pack("{s:s, s:s, s:o}", "id", id, "mailbox", target, "flags",
                          mail_flags_json(&m.env.flags));
    mail_msg_release(&m);
    return api_send_json(c->req, 200, v);
}

/* ---- composing
 * -------------------------------------------------------------------------------------- */

struct mail_draft {
    json_t *to, *cc, *bcc; /* arrays of user names (send) or addresses (append) */
    const char *subject;
    const char *text;
    const char *in_reply_to;
    struct api_attachment_in *att;
    struct buf *att_data;
    size_t natt;
};

static void mail_draft_release(struct mail_draft *d)
{
    json_decref(d->to);
    json_decref(d->cc);
    json_decref(d->bcc);
    for (size_t i = 0; i < d->natt; i++)
        buf_release(&d->att_data[i]);
    free(d->att);
    free(d->att_data);
    memset(d, 0, sizeof(*d));
}

/* Normalises one address. local: must be a local user; out receives the user
 * name (local) or the address with @meshgate added when it has no domain. */
static int mail_address(const char *in, int local, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n == 0 || n > MAIL_ADDRESS_MAX)
        return MG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)in[i] <= 0x20 || in[i] == 0x7f || strchr("<>,;\"()[]\\", in[i]))
            return MG_EINVAL;
    const char *at = strchr(in, '@');
    if (local) {
        if (at && strcasecmp(at + 1, API_MAIL_DOMAIN) != 0)
            return MG_EINVAL;
        size_t ulen = at ? (size_t)(at - in) : n;
        if (ulen == 0 || ulen >= cap)
            return MG_EINVAL;
        memcpy(out, in, ulen);
        out[ulen] = '\0';
        return acct_valid_name(out) ? 0 : MG_EINVAL;
    }
    int w = snprintf(out, cap, "%s%s%s", in, at ? "" : "@", at ? "" : API_MAIL_DOMAIN);
    return w < 0 || (size_t)w >= cap ? MG_EINVAL : 0;
}

/* Reads a recipient field (a string or an array of strings) into *out. */
static int mail_recipients(struct api_call *c, const char *key, int local, json_t **out,
                           size_t *total)
{
    json_t *v = json_object_get(c->json, key);
    *out = json_array();
    if (!*out)
        return api_problem(c->req, 500, NULL, "out of memory");
    if (!v || json_is_null(v))
        return 0;
    json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
    if (!json_is_array(list)) {
        json_decref(list);
        return api_problem(c->req, 400, "bad-field",
                           "\"%s\" must be an address or an array of addresses", key);
    }
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        char addr[MAIL_ADDRESS_MAX + 16];
        const char *s = json_string_value(x);
        if (!s || mail_address(s, local, addr, sizeof(addr))) {
            json_decref(list);
            return api_problem(c->req, 400, "bad-address", "\"%s\" holds %s%s%s: %s", key,
                               s ? "\"" : "", s ? s : "a non-string", s ? "\"" : "",
                               local ? "mail goes to local users: <user> or <user>@" API_MAIL_DOMAIN
                                     : "not an address");
        }
        if (++*total > MAIL_RECIPIENTS_MAX) {
            json_decref(list);
            return api_problem(c->req, 400, "too-many-recipients",
                               "at most %d recipients per message", MAIL_RECIPIENTS_MAX);
        }
        json_array_append_new(*out, json_string(addr));
    }
    json_decref(list);
    return 0;
}

/* Reads the composed message from the JSON body. local: addresses are local
 * user names (sending). Returns 0 or a status after responding. */
static int mail_read_draft(struct api_call *c, int local, struct mail_draft *d)
{
    static const char *const allowed[] = {"to",   "cc",          "bcc",         "subject",
                                          "text", "attachments", "in_reply_to", NULL};
    memset(d, 0, sizeof(*d));
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    size_t total = 0;
    int st = mail_recipients(c, "to", local, &d->to, &total);
    if (!st)
        st = mail_recipients(c, "cc", local, &d->cc, &total);
    if (!st)
        st = mail_recipients(c, "bcc", local, &d->bcc, &total);
    if (st)
        return st;
    d->subject = "";
    d->text = "";
    if (api_json_get_str(c->json, "subject", &d->subject) == MG_EINVAL ||
        strlen(d->subject) > MAIL_SUBJECT_MAX)
        return api_problem(c->req, 400, "bad-field",
                           "\"subject\" must be a string of at most %d bytes", MAIL_SUBJECT_MAX);
    if (api_json_get_str(c->json, "text", &d->text) == MG_EINVAL)
        return api_problem(c->req, 400, "bad-field", "\"text\" must be a string");
    if (api_json_get_str(c->json, "in_reply_to", &d->in_reply_to) == MG_EINVAL)
        return api_problem(c->req, 400, "bad-field", "\"in_reply_to\" must be a string");
    json_t *atts = json_object_get(c->json, "attachments");
    if (atts && !json_is_null(atts)) {
        if (!json_is_array(atts) || json_array_size(atts) > MAIL_ATTACHMENTS_MAX)
            return api_problem(c->req, 400, "bad-field",
                               "\"attachments\" must be an array of at most %d objects",
                               MAIL_ATTACHMENTS_MAX);
        size_t n = json_array_size(atts);
        d->att = calloc(n ? n : 1, sizeof(*d->att));
        d->att_data = calloc(n ? n : 1, sizeof(*d->att_data));
        if (!d->att || !d->att_data)
            return api_problem(c->req, 500, NULL, "out of memory");
        for (size_t i = 0; i < n; i++) {
            json_t *a = json_array_get(atts, i);
            static const char *const akeys[] = {"filename", "content_type", "data", NULL};
            const char *data = NULL;
            buf_init(&d->att_data[i]);
            d->natt = i + 1;
            d->att[i].filename = "attachment";
            d->att[i].content_type = "application/octet-stream";
            if (!json_is_object(a) || api_json_unknown_key(a, akeys) ||
                api_json_get_str(a, "data", &data) ||
                api_json_get_str(a, "filename", &d->att[i].filename) == MG_EINVAL ||
                api_json_get_str(a, "content_type", &d->att[i].content_type) == MG_EINVAL)
                return api_problem(c->req, 400, "bad-attachment",
                                   "attachment %zu must be {\"filename\": s, \"content_type\": "
                                   "s, \"data\": base64}",
                                   i);
            if (api_b64_decode(data, strlen(data), 1, &d->att_data[i]))
                return api_problem(c->req, 400, "bad-attachment",
                                   "attachment %zu: \"data\" is not valid base64", i);
            d->att[i].data = d->att_data[i].data;
            d->att[i].len = d->att_data[i].len;
        }
    }
    return 0;
}

/* Builds the RFC 5322 text of a draft from the caller. */
static int mail_build(struct api_call *c, const struct mail_draft *d, int local, struct buf *raw,
                      char *message_id, size_t cap)
{
    char from[ACCT_NAME_MAX + sizeof(API_MAIL_DOMAIN) + 2];
    snprintf(from, sizeof(from), "%s@%s", api_user(c), API_MAIL_DOMAIN);
    uint8_t rnd[16];
    char hex[33];
    randombytes_buf(rnd, sizeof(rnd));
    mg_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(message_id, cap, "%s@%s", hex, API_MAIL_DOMAIN);
    size_t nto = json_array_size(d->to), ncc = json_array_size(d->cc);
    const char **to = calloc(nto + ncc + 1, sizeof(*to));
    struct buf *names = calloc(nto + ncc + 1, sizeof(*names));
    int rc = to && names ? 0 : MG_ENOMEM;
    for (size_t i = 0; i < nto + ncc && !rc; i++) {
        const char *s =
            json_string_value(json_array_get(i < nto ? d->to : d->cc, i < nto ? i : i - nto));
        buf_init(&names[i]);
        rc = local ? buf_printf(&names[i], "%s@%s", s, API_MAIL_DOMAIN) : buf_puts(&names[i], s);
        to[i] = names[i].data;
    }
    if (!rc) {
        struct api_compose m = {from,
                                to,
                                nto,
                                to + nto,
                                ncc,
                                d->subject,
                                d->text,
                                d->att,
                                d->natt,
                                message_id,
                                d->in_reply_to,
                                (int64_t)(mg_now_ms() / 1000)};
        rc = api_mime_build(&m, raw);
    }
    for (size_t i = 0; names && i < nto + ncc; i++)
        buf_release(&names[i]);
    free(names);
    free(to);
    return rc;
}

int api_message_append(struct api_call *c)
{
    const char *mailbox = c->params[0];
    int st = mail_box_param(c, mailbox);
    if (st)
        return st;
    struct buf raw;
    buf_init(&raw);
    struct mail_draft d;
    memset(&d, 0, sizeof(d));
    struct api_flags flags = {0, 0, 0};
    char message_id[80];
    if (c->body_is_mail) {
        /* an imported message, kept byte for byte */
        if (buf_append(&raw, c->body.data, c->body.len))
            return api_problem(c->req, 500, NULL, "out of memory");
    } else {
        st = mail_read_draft(c, 0, &d);
        if (!st && mail_build(c, &d, 0, &raw, message_id, sizeof(message_id)))
            st = api_problem(c->req, 500, NULL, "out of memory");
        flags.seen = 1; /* what one writes oneself is not unread */
        if (st) {
            mail_draft_release(&d);
            buf_release(&raw);
            return st;
        }
    }
    json_t *meta = NULL;
    char id[API_MSGID_LEN + 1];
    uint8_t hash[DHT_HASH_LEN];
    int rc = mail_meta_from_raw(raw.data, raw.len, &meta);
    if (rc == MG_EINVAL)
        st = api_problem(c->req, 400, "not-a-message",
                         "the body is not an RFC 5322 message (it must start with headers)");
    else if (rc)
        st = api_problem(c->req, 500, NULL, "out of memory");
    if (!st && json_array_size(d.bcc))
        json_object_set(meta, "bcc", d.bcc);
    if (!st) {
        rc =
            mail_deliver(c, api_user(c), c->pk, mailbox, raw.data, raw.len, meta, &flags, id, hash);
        if (rc)
            st = mail_store_error(c, rc, "store the message");
    }
    if (!st) {
        struct api_envelope e = {mg_now_ms(), raw.len, flags, NULL};
        json_t *v = mail_summary(mailbox, id, &e, meta, hash);
        mail_location(c, mailbox, id);
        api_set_etag(c->req, hash);
        st = api_send_json(c->req, 201, v);
    }
    json_decref(meta);
    mail_draft_release(&d);
    sodium_memzero(raw.data, raw.len);
    buf_release(&raw);
    return st;
}

/* Delivers to one local user; fills the status object. */
static void mail_send_one(struct api_call *c, const char *user, const char *raw, size_t len,
                          const json_t *meta, json_t *status)
{
    struct acct_info info;
    int rc = acct_get_info(c->m->d, user, &info);
    const char *reason = NULL;
    if (rc == MG_ENOTFOUND) {
        reason = "no such user";
    } else if (rc) {
        reason = mg_strerror(rc);
    } else if (!info.has_key) {
        reason = "the recipient has no mail key yet (they have to log in once)";
    } else {
        char id[API_MSGID_LEN + 1];
        struct api_flags unread = {0, 0, 0};
        rc = mail_deliver(c, user, info.public_key, "Inbox", raw, len, meta, &unread, id, NULL);
        if (rc)
            reason = mg_strerror(rc);
    }
    json_object_set_new(status, "status", json_string(reason ? "failed" : "delivered"));
    if (reason)
        json_object_set_new(status, "reason", json_string(reason));
    /* nothing about who writes to whom goes to the log: the store keeps the
     * sender sealed, the log must not undo that */
}

int api_mail_send(struct api_call *c)
{
    struct mail_draft d;
    int st = mail_read_draft(c, 1, &d);
    if (st) {
        mail_draft_release(&d);
        return st;
    }
    if (!json_array_size(d.to) && !json_array_size(d.cc) && !json_array_size(d.bcc)) {
        mail_draft_release(&d);
        return api_problem(c->req, 400, "no-recipients", "name at least one recipient in \"to\"");
    }
    struct buf raw;
    buf_init(&raw);
    char message_id[80];
    json_t *meta = NULL, *delivery = json_array(), *seen = json_object();
    char id[API_MSGID_LEN + 1];
    uint8_t hash[DHT_HASH_LEN];
    int rc = mail_build(c, &d, 1, &raw, message_id, sizeof(message_id));
    if (!rc)
        rc = mail_meta_from_raw(raw.data, raw.len, &meta);
    if (rc || !delivery || !seen) {
        st = api_problem(c->req, 500, NULL, "cannot build the message: %s", mg_strerror(rc));
        goto out;
    }
    /* one sealed copy per distinct recipient; Bcc recipients are in no header */
    json_t *lists[] = {d.to, d.cc, d.bcc};
    for (size_t l = 0; l < 3; l++) {
        size_t i;
        json_t *x;
        json_array_foreach(lists[l], i, x)
        {
            const char *user = json_string_value(x);
            if (json_object_get(seen, user))
                continue;
            json_object_set_new(seen, user, json_true());
            char addr[ACCT_NAME_MAX + sizeof(API_MAIL_DOMAIN) + 2];
            snprintf(addr, sizeof(addr), "%s@%s", user, API_MAIL_DOMAIN);
            json_t *status = json_pack("{s:s}", "to", addr);
            if (!status)
                continue;
            mail_send_one(c, user, raw.data, raw.len, meta, status);
            json_array_append_new(delivery, status);
        }
    }
    /* the sender's copy keeps the statuses and the Bcc list, sealed */
    json_object_set(meta, "delivery", delivery);
    if (json_array_size(d.bcc)) {
        json_t *bcc = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(d.bcc, i, x)
        {
            char addr[ACCT_NAME_MAX + sizeof(API_MAIL_DOMAIN) + 2];
            snprintf(addr, sizeof(addr), "%s@%s", json_string_value(x), API_MAIL_DOMAIN);
            json_array_append_new(bcc, json_string(addr));
        }
        json_object_set_new(meta, "bcc", bcc);
    }
    struct api_flags flags = {1, 0, 0};
    rc = mail_deliver(c, api_user(c), c->pk, "Sent", raw.data, raw.len, meta, &flags, id, hash);
    if (rc) {
        st = mail_store_error(c, rc, "store the sent copy");
        goto out;
    }
    mail_location(c, "Sent", id);
    api_set_etag(c->req, hash);
    char mid[90];
    snprintf(mid, sizeof(mid), "<%s>", message_id);
    st = api_send_json(c->req, 201,
                       json_pack("{s:s, s:s, s:s, s:O}", "id", id, "mailbox", "Sent", "message_id",
                                 mid, "delivery", delivery));
out:
    json_decref(meta);
    json_decref(delivery);
    json_decref(seen);
    mail_draft_release(&d);
    if (raw.data)
        sodium_memzero(raw.data, raw.len);
    buf_release(&raw);
    return st;
}
