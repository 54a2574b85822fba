/*
 * uidindex.c - which resource of a calendar or address book holds a UID, so
 * that PUT, COPY and MOVE can enforce CALDAV:no-uid-conflict (RFC 4791
 * 5.3.2.1) and CARDDAV:no-uid-conflict (RFC 6352 6.3.2.1) with one read
 * instead of a scan of the collection.
 *
 * Partition "cuid/<user>/<kind>/<collection rel>", row = hex of a 16-byte
 * BLAKE2b of the UID (UIDs may be longer than a row key), value = the name
 * of the resource. An entry is claimed with a conditional write, so of two
 * clients racing to store one UID under two names only one wins. Entries are
 * checked against the resource they name before they are believed: one left
 * behind by an interrupted write never blocks a client.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dav_private.h"

#define UID_KEY_BYTES 16
#define UID_CLAIM_RETRIES 4

static int index_pkey(struct buf *out, const char *user, enum dav_kind kind, const char *crel)
{
    if (crel[0])
        return buf_printf(out, "cuid/%s/%s/%s", user, dav_kind_name(kind), crel);
    return buf_printf(out, "cuid/%s/%s", user, dav_kind_name(kind));
}

static void uid_key(const char *uid, char out[2 * UID_KEY_BYTES + 1])
{
    unsigned char h[UID_KEY_BYTES];
    crypto_generichash(h, sizeof(h), (const unsigned char *)uid, strlen(uid), NULL, 0);
    mg_hex_encode(h, sizeof(h), out);
}

/* 1 when the resource name of collection crel exists and carries uid. */
static int holds_uid(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel,
                     const char *name, const char *uid)
{
    struct dav_res res;
    struct dav_objidx x;
    struct buf rel;
    int holds = 0;

    dav_res_init(&res);
    buf_init(&rel);
    if (dav_rel_join(&rel, crel, name) == 0 && dav_res_load(m, user, kind, rel.data, &res) == 0 &&
        res.exists && res.rec.type == DAV_RT_FILE && dav_objidx_decode(&res.rec.index, &x) == 0)
        holds = x.uid.n == strlen(uid) && memcmp(x.uid.p, uid, x.uid.n) == 0;
    dav_res_release(&res);
    buf_release(&rel);
    return holds;
}

int dav_uid_claim(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel,
                  const char *uid, const char *name, char **holder)
{
    char key[2 * UID_KEY_BYTES + 1];
    struct buf pkey;
    int rc = MG_EPRECOND;

    *holder = NULL;
    buf_init(&pkey);
    if (index_pkey(&pkey, user, kind, crel)) {
        buf_release(&pkey);
        return MG_ENOMEM;
    }
    uid_key(uid, key);
    for (int attempt = 0; attempt < UID_CLAIM_RETRIES && rc == MG_EPRECOND; attempt++) {
        struct dht_row row;
        struct dht_cond cond;
        memset(&row, 0, sizeof(row));
        memset(&cond, 0, sizeof(cond));
        rc = dht_get(m->d, pkey.data, key, &row);
        if (rc == MG_ENOTFOUND) {
            cond.kind = DHT_COND_ABSENT;
        } else if (rc) {
            break;
        } else {
            size_t nlen = strlen(name);
            if (row.value_len == nlen && memcmp(row.value, name, nlen) == 0) {
                dht_row_release(&row);
                rc = 0;
                break;
            }
            char *other = malloc(row.value_len + 1);
            if (!other) {
                dht_row_release(&row);
                rc = MG_ENOMEM;
                break;
            }
            memcpy(other, row.value, row.value_len);
            other[row.value_len] = '\0';
            if (holds_uid(m, user, kind, crel, other, uid)) {
                dht_row_release(&row);
                *holder = other;
                rc = MG_EEXIST;
                break;
            }
            free(other);
            /* a stale entry: take it over, unless it changes meanwhile */
            cond.kind = DHT_COND_MATCH;
            memcpy(cond.hash, row.hash, DHT_HASH_LEN);
            dht_row_release(&row);
        }
        rc = dht_put(m->d, pkey.data, key, name, strlen(name), &cond, NULL, NULL);
    }
    buf_release(&pkey);
    return rc;
}

int dav_uid_release(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel,
                    const char *uid, const char *name)
{
    char key[2 * UID_KEY_BYTES + 1];
    struct buf pkey;
    struct dht_row row;
    int rc;

    buf_init(&pkey);
    memset(&row, 0, sizeof(row));
    if (index_pkey(&pkey, user, kind, crel)) {
        buf_release(&pkey);
        return MG_ENOMEM;
    }
    uid_key(uid, key);
    rc = dht_get(m->d, pkey.data, key, &row);
    if (!rc) {
        size_t nlen = strlen(name);
        if (row.value_len == nlen && memcmp(row.value, name, nlen) == 0) {
            struct dht_cond cond = {.kind = DHT_COND_MATCH};
            memcpy(cond.hash, row.hash, DHT_HASH_LEN);
            rc = dht_delete(m->d, pkey.data, key, &cond);
        }
        dht_row_release(&row);
    }
    buf_release(&pkey);
    /* gone already, or re-claimed by someone else: nothing to release */
    return rc == MG_ENOTFOUND || rc == MG_EPRECOND ? 0 : rc;
}

struct keys {
    char **v;
    size_t n;
    int err;
};

static int collect_key(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct keys *k = ctx;
    char **v;
    (void)row;
    v = realloc(k->v, (k->n + 1) * sizeof(*v));
    if (!v || !(v[k->n] = mg_strdup(rkey))) {
        if (v)
            k->v = v;
        k->err = MG_ENOMEM;
        return 1;
    }
    k->v = v;
    k->n++;
    return 0;
}

int dav_uid_purge(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel)
{
    struct buf pkey;
    struct keys k = {NULL, 0, 0};
    int rc;

    buf_init(&pkey);
    rc = index_pkey(&pkey, user, kind, crel);
    if (!rc)
        rc = dht_scan(m->d, pkey.data, NULL, 0, collect_key, &k);
    if (k.err)
        rc = k.err;
    for (size_t i = 0; i < k.n; i++) {
        if (!rc || rc > 0) {
            int d = dht_delete(m->d, pkey.data, k.v[i], NULL);
            if (d && d != MG_ENOTFOUND)
                rc = d;
        }
        free(k.v[i]);
    }
    free(k.v);
    buf_release(&pkey);
    return rc < 0 ? rc : 0;
}

struct pair {
    char *name;
    char *uid;
};

struct pairs {
    struct pair *v;
    size_t n;
    int err;
};

static int rebuild_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct pairs *ps = ctx;
    struct dav_record rec;
    struct dav_objidx x;
    struct pair *v;
    int rc;

    if (!rkey[0] || dav_record_decode(row->value, row->value_len, &rec))
        return 0;
    rc = rec.type == DAV_RT_FILE ? dav_objidx_decode(&rec.index, &x) : MG_EINVAL;
    if (rc || x.uid.n == 0) {
        dav_record_release(&rec);
        return 0;
    }
    v = realloc(ps->v, (ps->n + 1) * sizeof(*v));
    if (v) {
        ps->v = v;
        v[ps->n].name = mg_strdup(rkey);
        v[ps->n].uid = malloc(x.uid.n + 1);
        if (v[ps->n].uid) {
            memcpy(v[ps->n].uid, x.uid.p, x.uid.n);
            v[ps->n].uid[x.uid.n] = '\0';
        }
        ps->n++;
    }
    dav_record_release(&rec);
    if (!v || !v[ps->n - 1].name || !v[ps->n - 1].uid) {
        ps->err = MG_ENOMEM;
        return 1;
    }
    return 0;
}

int dav_uid_rebuild(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel)
{
    struct pairs ps = {NULL, 0, 0};
    struct buf pkey;
    int rc;

    buf_init(&pkey);
    rc = dav_uid_purge(m, user, kind, crel);
    if (!rc)
        rc = dav_folder_pkey(&pkey, user, kind, crel);
    /* collected first: claims read and write the store */
    if (!rc)
        rc = dht_scan(m->d, pkey.data, NULL, 0, rebuild_row, &ps);
    if (ps.err)
        rc = ps.err;
    for (size_t i = 0; i < ps.n; i++) {
        char *holder = NULL;
        if (!rc) {
            /* a duplicate (copied in from elsewhere) keeps the first holder */
            int c = dav_uid_claim(m, user, kind, crel, ps.v[i].uid, ps.v[i].name, &holder);
            if (c && c != MG_EEXIST)
                rc = c;
        }
        free(holder);
        free(ps.v[i].name);
        free(ps.v[i].uid);
    }
    free(ps.v);
    buf_release(&pkey);
    return rc < 0 ? rc : 0;
}
