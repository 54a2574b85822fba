/*
 * lockstore.c - WebDAV write locks kept in the replicated store, so that every
 * node of a cluster sees the same locks.
 *
 * Partition "lock/<user>", one row per locked resource, keyed by the resource's
 * lock key "<kind>/<rel>" ("files/" is the root of the file tree). The value is
 * a JSON array of the locks rooted there (several when shared):
 *   [{"token": "opaquelocktoken:...", "scope": "exclusive"|"shared",
 *     "depth": "0"|"infinity", "folder": bool, "owner": "<D:owner>..</D:owner>",
 *     "principal": "alice", "timeout": 3600, "expires": <unix ms>}]
 * Expired locks are ignored when read and purged when met.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "dav_private.h"

#define LOCK_UPDATE_RETRIES 8

void dav_lock_release(struct dav_lock *l)
{
    if (!l)
        return;
    free(l->key);
    free(l->token);
    free(l->owner);
    free(l->principal);
    memset(l, 0, sizeof(*l));
}

void dav_lockset_release(struct dav_lockset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        dav_lock_release(&s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int dav_key_is_below(const char *key, const char *anc)
{
    size_t n = strlen(anc);
    if (strncmp(key, anc, n) != 0)
        return 0;
    if (n > 0 && anc[n - 1] == '/')
        return key[n] != '\0';
    return key[n] == '/' && key[n + 1] != '\0';
}

int dav_lock_covers(const struct dav_lock *l, const char *key)
{
    return strcmp(l->key, key) == 0 || (l->infinity && dav_key_is_below(key, l->key));
}

void dav_lock_new_token(char *out, size_t cap)
{
    unsigned char u[16];
    char hex[33];

    randombytes_buf(u, sizeof(u));
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* variant 10 */
    mg_hex_encode(u, sizeof(u), hex);
    snprintf(out, cap, "opaquelocktoken:%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
}

int dav_lockrow_encode(const struct dav_lock *v, size_t n, struct buf *out)
{
    json_t *arr = json_array();
    char *s = NULL;
    int rc = MG_ENOMEM;

    if (!arr)
        return MG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct dav_lock *l = &v[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:I, s:I}", "token", l->token, "scope",
                              l->exclusive ? "exclusive" : "shared", "depth",
                              l->infinity ? "infinity" : "0", "folder", l->folder, "principal",
                              l->principal ? l->principal : "", "timeout", (json_int_t)l->timeout,
                              "expires", (json_int_t)l->expires_ms);
        if (!o)
            goto out;
        if (l->owner && json_object_set_new(o, "owner", json_string(l->owner))) {
            json_decref(o);
            goto out;
        }
        if (json_array_append_new(arr, o))
            goto out;
    }
    s = json_dumps(arr, JSON_COMPACT);
    if (!s)
        goto out;
    rc = buf_puts(out, s);
out:
    free(s);
    json_decref(arr);
    return rc;
}

static char *json_dup(json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s ? mg_strdup(s) : NULL;
}

int dav_lockrow_decode(const char *key, const void *data, size_t len, struct dav_lockset *out)
{
    json_t *arr;
    size_t i;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    arr = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    if (!arr || !json_is_array(arr) || json_array_size(arr) > 10000) {
        json_decref(arr);
        return MG_EINVAL;
    }
    out->v = calloc(json_array_size(arr) + 1, sizeof(*out->v));
    if (!out->v) {
        json_decref(arr);
        return MG_ENOMEM;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        struct dav_lock *l = &out->v[out->n];
        const char *scope = json_string_value(json_object_get(o, "scope"));
        const char *depth = json_string_value(json_object_get(o, "depth"));
        json_t *timeout = json_object_get(o, "timeout");
        json_t *expires = json_object_get(o, "expires");
        if (!json_is_object(o) || !scope || !depth || !json_is_integer(timeout) ||
            !json_is_integer(expires) || !json_is_string(json_object_get(o, "token")) ||
            !json_is_string(json_object_get(o, "principal"))) {
            rc = MG_EINVAL;
            break;
        }
        l->key = mg_strdup(key);
        l->token = json_dup(o, "token");
        l->principal = json_dup(o, "principal");
        l->owner = json_dup(o, "owner");
        l->exclusive = strcmp(scope, "exclusive") == 0;
        l->infinity = strcmp(depth, "infinity") == 0;
        l->folder = json_is_true(json_object_get(o, "folder"));
        l->timeout = (long)json_integer_value(timeout);
        l->expires_ms = (uint64_t)json_integer_value(expires);
        if (!l->key || !l->token || !l->principal) {
            dav_lock_release(l);
            rc = MG_ENOMEM;
            break;
        }
        out->n++;
    }
    json_decref(arr);
    if (rc)
        dav_lockset_release(out);
    return rc;
}

/* Appends the locks of set that are still alive at now to dst (moving them). */
static int take_live(struct dav_lockset *dst, struct dav_lockset *src, uint64_t now, int *dropped)
{
    for (size_t i = 0; i < src->n; i++) {
        if (src->v[i].expires_ms <= now) {
            (*dropped)++;
            continue;
        }
        struct dav_lock *v = realloc(dst->v, (dst->n + 1) * sizeof(*v));
        if (!v)
            return MG_ENOMEM;
        dst->v = v;
        dst->v[dst->n++] = src->v[i];
        memset(&src->v[i], 0, sizeof(src->v[i]));
    }
    return 0;
}

struct load_ctx {
    struct dav_lockset *out;
    uint64_t now;
    char **stale; /* rows holding expired or corrupt locks */
    size_t nstale;
    int err;
};

static int load_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct load_ctx *lc = ctx;
    struct dav_lockset rowset;
    int dropped = 0;
    int rc = dav_lockrow_decode(rkey, row->value, row->value_len, &rowset);

    if (rc == MG_ENOMEM) {
        lc->err = rc;
        return 1;
    }
    if (rc == 0)
        rc = take_live(lc->out, &rowset, lc->now, &dropped);
    dav_lockset_release(&rowset);
    if (rc == MG_ENOMEM) {
        lc->err = rc;
        return 1;
    }
    if (rc || dropped) {
        char **v = realloc(lc->stale, (lc->nstale + 1) * sizeof(*v));
        if (v) {
            lc->stale = v;
            lc->stale[lc->nstale] = mg_strdup(rkey);
            if (lc->stale[lc->nstale])
                lc->nstale++;
        }
    }
    return 0;
}

static void lock_pkey(char *out, size_t cap, const char *user)
{
    snprintf(out, cap, "lock/%s", user);
}

/* Read-modify-write of one lock row: fn edits the live locks of the row;
 * returns 0, or an mg_err that aborts the update. An empty result deletes
 * the row. Retries when another writer got there first. */
static int update_row(struct dav_module *m, const char *user, const char *key,
                      int (*fn)(struct dav_lockset *s, void *arg), void *arg)
{
    char pkey[DAV_USER_MAX + 8];
    int rc = MG_EPRECOND;

    lock_pkey(pkey, sizeof(pkey), user);
    for (int attempt = 0; attempt < LOCK_UPDATE_RETRIES && rc == MG_EPRECOND; attempt++) {
        struct dht_row row;
        struct dav_lockset cur, live;
        struct dht_cond cond;
        struct buf val;
        int dropped = 0;

        memset(&row, 0, sizeof(row));
        memset(&cur, 0, sizeof(cur));
        memset(&live, 0, sizeof(live));
        memset(&cond, 0, sizeof(cond));
        buf_init(&val);
        rc = dht_get(m->d, pkey, key, &row);
        if (rc == MG_ENOTFOUND) {
            cond.kind = DHT_COND_ABSENT;
            rc = 0;
        } else if (rc == 0) {
            cond.kind = DHT_COND_MATCH;
            memcpy(cond.hash, row.hash, DHT_HASH_LEN);
            /* a corrupt row is replaced */
            if (dav_lockrow_decode(key, row.value, row.value_len, &cur) == MG_ENOMEM)
                rc = MG_ENOMEM;
        }
        if (!rc)
            rc = take_live(&live, &cur, mg_now_ms(), &dropped);
        if (!rc)
            rc = fn(&live, arg);
        if (!rc) {
            if (live.n == 0) {
                rc = cond.kind == DHT_COND_ABSENT ? 0 : dht_delete(m->d, pkey, key, &cond);
                if (rc == MG_ENOTFOUND)
                    rc = 0;
            } else {
                rc = dav_lockrow_encode(live.v, live.n, &val);
                if (!rc)
                    rc = dht_put(m->d, pkey, key, val.data, val.len, &cond, NULL, NULL);
            }
        }
        buf_release(&val);
        dav_lockset_release(&cur);
        dav_lockset_release(&live);
        dht_row_release(&row);
    }
    return rc;
}

/* update_row drops expired locks by itself: keeping the rest purges the row. */
static int keep_live(struct dav_lockset *s, void *arg)
{
    (void)s;
    (void)arg;
    return 0;
}

int dav_locks_load(struct dav_module *m, const char *user, struct dav_lockset *out)
{
    char pkey[DAV_USER_MAX + 8];
    struct load_ctx lc;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&lc, 0, sizeof(lc));
    lc.out = out;
    lc.now = mg_now_ms();
    lock_pkey(pkey, sizeof(pkey), user);
    rc = dht_scan(m->d, pkey, NULL, 0, load_row, &lc);
    if (lc.err)
        rc = lc.err;
    else if (rc > 0)
        rc = 0;
    /* purge expired locks (best effort: a failure only leaves them for later) */
    for (size_t i = 0; i < lc.nstale; i++) {
        if (!rc)
            (void)update_row(m, user, lc.stale[i], keep_live, NULL);
        free(lc.stale[i]);
    }
    free(lc.stale);
    if (rc)
        dav_lockset_release(out);
    return rc;
}

static int copy_lock(struct dav_lock *dst, const struct dav_lock *src)
{
    *dst = *src;
    dst->key = mg_strdup(src->key);
    dst->token = mg_strdup(src->token);
    dst->owner = mg_strdup(src->owner);
    dst->principal = mg_strdup(src->principal);
    if (!dst->key || !dst->token || (src->owner && !dst->owner) ||
        (src->principal && !dst->principal)) {
        dav_lock_release(dst);
        return MG_ENOMEM;
    }
    return 0;
}

static int add_one(struct dav_lockset *s, void *arg)
{
    const struct dav_lock *l = arg;
    struct dav_lock *v = realloc(s->v, (s->n + 1) * sizeof(*v));
    if (!v)
        return MG_ENOMEM;
    s->v = v;
    if (copy_lock(&s->v[s->n], l))
        return MG_ENOMEM;
    s->n++;
    return 0;
}

int dav_lock_add(struct dav_module *m, const char *user, const struct dav_lock *l)
{
    return update_row(m, user, l->key, add_one, (void *)l);
}

struct refresh_arg {
    const char *token;
    long timeout;
    uint64_t expires_ms;
    int found;
};

static int refresh_one(struct dav_lockset *s, void *arg)
{
    struct refresh_arg *ra = arg;
    ra->found = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].token, ra->token) == 0) {
            s->v[i].timeout = ra->timeout;
            s->v[i].expires_ms = ra->expires_ms;
            ra->found = 1;
        }
    }
    return ra->found ? 0 : MG_ENOTFOUND;
}

int dav_lock_refresh(struct dav_module *m, const char *user, const char *key, const char *token,
                     long timeout, uint64_t expires_ms)
{
    struct refresh_arg ra = {token, timeout, expires_ms, 0};
    return update_row(m, user, key, refresh_one, &ra);
}

static int remove_one(struct dav_lockset *s, void *arg)
{
    const char *token = arg;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].token, token) == 0) {
            dav_lock_release(&s->v[i]);
            memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
            s->n--;
            return 0;
        }
    }
    return MG_ENOTFOUND;
}

int dav_lock_remove(struct dav_module *m, const char *user, const char *key, const char *token)
{
    return update_row(m, user, key, remove_one, (void *)token);
}

struct tree_ctx {
    const char *key;
    char **keys;
    size_t n;
    int err;
};

static int collect_tree(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct tree_ctx *tc = ctx;
    (void)row;
    if (strcmp(rkey, tc->key) != 0 && !dav_key_is_below(rkey, tc->key))
        return 0;
    char **v = realloc(tc->keys, (tc->n + 1) * sizeof(*v));
    if (!v) {
        tc->err = MG_ENOMEM;
        return 1;
    }
    tc->keys = v;
    tc->keys[tc->n] = mg_strdup(rkey);
    if (!tc->keys[tc->n]) {
        tc->err = MG_ENOMEM;
        return 1;
    }
    tc->n++;
    return 0;
}

int dav_locks_remove_tree(struct dav_module *m, const char *user, const char *key)
{
    char pkey[DAV_USER_MAX + 8];
    struct tree_ctx tc = {key, NULL, 0, 0};
    int rc;

    lock_pkey(pkey, sizeof(pkey), user);
    /* rows are ordered by key: start at the key itself */
    rc = dht_scan(m->d, pkey, NULL, 0, collect_tree, &tc);
    if (tc.err)
        rc = tc.err;
    else if (rc > 0)
        rc = 0;
    for (size_t i = 0; i < tc.n; i++) {
        if (!rc) {
            rc = dht_delete(m->d, pkey, tc.keys[i], NULL);
            if (rc == MG_ENOTFOUND)
                rc = 0;
        }
        free(tc.keys[i]);
    }
    free(tc.keys);
    return rc;
}

int dav_lock_xml(struct buf *b, const struct dav_lock *l, const char *root_path, uint64_t now_ms)
{
    long left = l->expires_ms > now_ms ? (long)((l->expires_ms - now_ms + 999) / 1000) : 0;
    int rc;

    rc = buf_printf(b,
                    "<D:activelock><D:locktype><D:write/></D:locktype>"
                    "<D:lockscope><D:%s/></D:lockscope><D:depth>%s</D:depth>",
                    l->exclusive ? "exclusive" : "shared", l->infinity ? "infinity" : "0");
    if (!rc && l->owner)
        rc = buf_puts(b, l->owner);
    if (!rc)
        rc = buf_printf(b, "<D:timeout>Second-%ld</D:timeout><D:locktoken><D:href>", left);
    if (!rc)
        rc = buf_put_xml_escaped(b, l->token);
    if (!rc)
        rc = buf_puts(b, "</D:href></D:locktoken><D:lockroot><D:href>");
    if (!rc)
        rc = dav_put_href(b, root_path);
    if (!rc)
        rc = buf_puts(b, "</D:href></D:lockroot></D:activelock>");
    return rc;
}
