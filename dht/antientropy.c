/*
 * antientropy.c - replicas converge even when hints are lost (Dynamo 4.7),
 * and ranges move to their new owners when the ring changes.
 *
 * A round compares, with each live co-replica, a two-level hash tree of
 * the partitions the two share: 256 buckets (by the top byte of the
 * partition's ring token), each the XOR of BLAKE2b(pkey, partition digest)
 * over its partitions; then, in the buckets that differ, the partition
 * digests; then, in the partitions that differ, the row versions. Only rows
 * whose versions differ travel, in both directions, and are stored with
 * dht_engine_apply (last writer wins), so a round is idempotent.
 *
 * Rebalancing is the same exchange: a partition this node holds but no
 * longer owns (the ring changed) is synced to every owner, and dropped here
 * only once all of them acknowledged it (DESIGN.md, "Rebalancing").
 * While that runs, reads that find nothing on the owners fall back to the
 * next nodes on the ring (coord.c), so nothing disappears mid-move.
 *
 * Both sides judge ownership by their own view of the ring: a replica syncs
 * only partitions it owns together with the peer, and answers a sync (or
 * takes a handoff) only for a partition it owns, else 409. While a ring
 * change spreads the views differ for a moment; without that check a node
 * would take copies it does not own (for its next handoff to drop again),
 * and a handoff could count as delivered to a node that does not keep it.
 * Background transfers use the long bulk timeout (cluster_bulk_timeout).
 *
 * Tombstones are purged here (DESIGN.md, "Deletes"): one older than the
 * grace period, seen when the round started, goes once this round showed
 * every other owner of its partition holding it or something newer: their
 * bucket or partition digests equalled ours, or a sync of the partition
 * with them completed (after which they hold at least our versions, or
 * nothing for a key whose tombstone they purged already). An owner that is
 * down, or a sync that failed, keeps the tombstones of its partitions.
 * Digests include tombstones until they are purged; a replica that purged
 * first differs from the others for a round or two, and drops the purged
 * tombstone when it is offered again (engine.c, purge floor), so purging
 * converges instead of copying tombstones back and forth.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cluster.h"
#include "engine.h"
#include "wire.h"

#define AE_BUCKETS 256
#define AE_SYNC_REPLY_MAX (4u << 20) /* bytes of rows in one sync answer */
#define AE_SYNC_ROUNDS 256           /* sync exchanges per partition per round */
#define AE_PUSH_BATCH_BYTES (1u << 20)
#define AE_PURGE_MAX 16384 /* purge candidates gathered per round */

struct part {
    char *pkey;
    uint8_t digest[32];
};

/* A tombstone old enough to purge, as the round's snapshot saw it. */
struct purge_cand {
    size_t part; /* index in parts.v */
    char *rkey;
    struct dht_version v;
};

struct parts {
    struct part *v;
    size_t n, cap;
    /* streaming state */
    crypto_generichash_state st;
    int open;
    int err;
    /* purge candidates: tombstones below horizon (0: none gathered) */
    uint64_t horizon;
    struct purge_cand *cands;
    size_t ncands;
    uint64_t next_tomb; /* the oldest tombstone at or above horizon (UINT64_MAX: none) */
};

/* The last scan (its digests, and candidates below its horizon), kept while
 * the store does not change: an idle cluster would otherwise rehash every
 * row each round, and again for every peer that asks for bucket digests. It
 * answers a scan with horizon h when the store's change count is the one read
 * before the scan began and no tombstone lies between the scan's horizon and
 * h (h <= next_tomb): the candidates below h are then those it has. */
struct ae_cache {
    pthread_mutex_t lock;
    int valid;
    uint64_t changes; /* dht_engine_changes before the scan */
    struct parts p;
};

static void parts_release(struct parts *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].pkey);
    free(p->v);
    for (size_t i = 0; i < p->ncands; i++)
        free(p->cands[i].rkey);
    free(p->cands);
    memset(p, 0, sizeof(*p));
}

/* Keeps an old tombstone of the current partition as a purge candidate. */
static int parts_candidate(struct parts *p, const char *rkey, const struct dht_version *v)
{
    if (p->ncands >= AE_PURGE_MAX)
        return 0; /* the rest in a later round */
    if (!p->cands) {
        p->cands = calloc(AE_PURGE_MAX, sizeof(*p->cands));
        if (!p->cands)
            return MG_ENOMEM;
    }
    struct purge_cand *pc = &p->cands[p->ncands];
    pc->rkey = strdup(rkey);
    if (!pc->rkey)
        return MG_ENOMEM;
    pc->part = p->n - 1;
    pc->v = *v;
    p->ncands++;
    return 0;
}

static void parts_close_current(struct parts *p)
{
    if (p->open) {
        crypto_generichash_final(&p->st, p->v[p->n - 1].digest, 32);
        p->open = 0;
    }
}

/* Same digest as peer_partition_digest, computed in one pass over the store. */
static int parts_row(void *ctx, const char *pkey, const char *rkey, const struct dht_version *v,
                     int tomb, const uint8_t hash[DHT_HASH_LEN])
{
    struct parts *p = ctx;
    if (pkey[0] == CLUSTER_LOCAL_PREFIX)
        return 0;
    if (!p->open || strcmp(p->v[p->n - 1].pkey, pkey) != 0) {
        parts_close_current(p);
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 256;
            void *nv = realloc(p->v, cap * sizeof(*p->v));
            if (!nv)
                return MG_ENOMEM;
            p->v = nv;
            p->cap = cap;
        }
        p->v[p->n].pkey = strdup(pkey);
        if (!p->v[p->n].pkey)
            return MG_ENOMEM;
        p->n++;
        crypto_generichash_init(&p->st, NULL, 0, 32);
        p->open = 1;
    }
    uint8_t meta[17];
    for (int i = 0; i < 8; i++) {
        meta[i] = (uint8_t)(v->hlc >> (56 - 8 * i));
        meta[8 + i] = (uint8_t)(v->node >> (56 - 8 * i));
    }
    meta[16] = (uint8_t)(tomb != 0);
    crypto_generichash_update(&p->st, (const unsigned char *)rkey, strlen(rkey) + 1);
    crypto_generichash_update(&p->st, meta, sizeof(meta));
    crypto_generichash_update(&p->st, hash, DHT_HASH_LEN);
    if (tomb && v->hlc < p->horizon)
        return parts_candidate(p, rkey, v);
    if (tomb && v->hlc < p->next_tomb)
        p->next_tomb = v->hlc;
    return 0;
}

/* Copies src into dst (released by the caller), keeping of src's purge
 * candidates those below horizon. */
static int parts_copy(const struct parts *src, uint64_t horizon, struct parts *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->horizon = horizon;
    dst->next_tomb = src->next_tomb;
    dst->v = calloc(src->n ? src->n : 1, sizeof(*dst->v));
    if (!dst->v)
        return MG_ENOMEM;
    dst->cap = src->n ? src->n : 1;
    for (; dst->n < src->n; dst->n++) {
        dst->v[dst->n].pkey = strdup(src->v[dst->n].pkey);
        if (!dst->v[dst->n].pkey)
            goto fail;
        memcpy(dst->v[dst->n].digest, src->v[dst->n].digest, 32);
    }
    /* a copy is only read: room for src's candidates is enough */
    if (src->ncands && !(dst->cands = calloc(src->ncands, sizeof(*dst->cands))))
        goto fail;
    for (size_t i = 0; i < src->ncands; i++) {
        const struct purge_cand *pc = &src->cands[i];
        if (pc->v.hlc >= horizon)
            continue;
        dst->cands[dst->ncands].rkey = strdup(pc->rkey);
        if (!dst->cands[dst->ncands].rkey)
            goto fail;
        dst->cands[dst->ncands].part = pc->part;
        dst->cands[dst->ncands].v = pc->v;
        dst->ncands++;
    }
    return 0;
fail:
    parts_release(dst);
    return MG_ENOMEM;
}

int ae_cache_new(struct ae_cache **out)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return MG_ENOMEM;
    pthread_mutex_init(&(*out)->lock, NULL);
    return 0;
}

void ae_cache_free(struct ae_cache *cache)
{
    if (!cache)
        return;
    parts_release(&cache->p);
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

/* The digest of every partition this node holds; with horizon set, also
 * the tombstones older than it (purge candidates). From the cache while the
 * store is unchanged, else by a scan that then becomes the cache. */
static int collect_parts(struct cluster *c, uint64_t horizon, struct parts *p)
{
    struct ae_cache *cache = c->ae_cache;
    uint64_t changes = dht_engine_changes(c->d);
    int rc;
    pthread_mutex_lock(&cache->lock);
    if (cache->valid && cache->changes == changes && horizon <= cache->p.next_tomb) {
        rc = parts_copy(&cache->p, horizon, p);
        pthread_mutex_unlock(&cache->lock);
        return rc;
    }
    pthread_mutex_unlock(&cache->lock);

    memset(p, 0, sizeof(*p));
    p->horizon = horizon;
    p->next_tomb = UINT64_MAX;
    atomic_fetch_add(&c->ae_scans, 1);
    rc = dht_local_meta(c->d, NULL, parts_row, p);
    parts_close_current(p);
    if (rc) {
        parts_release(p);
        return rc;
    }
    struct parts keep;
    if (parts_copy(p, UINT64_MAX, &keep) == 0) {
        pthread_mutex_lock(&cache->lock);
        parts_release(&cache->p);
        cache->p = keep;
        cache->p.horizon = horizon;
        cache->changes = changes;
        cache->valid = 1;
        pthread_mutex_unlock(&cache->lock);
    }
    return 0;
}

static unsigned bucket_of(const char *pkey)
{
    return (unsigned)(ring_key_token(pkey) >> 56);
}

/* Adds BLAKE2b(pkey, digest) into a bucket digest (XOR: order-free). */
static void bucket_add(uint8_t bucket[32], const char *pkey, const uint8_t digest[32])
{
    crypto_generichash_state st;
    uint8_t h[32];
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)pkey, strlen(pkey) + 1);
    crypto_generichash_update(&st, digest, 32);
    crypto_generichash_final(&st, h, 32);
    for (int i = 0; i < 32; i++)
        bucket[i] ^= h[i];
}

/* 1 when the preference list of pkey (this node's view) holds a, and b
 * unless b is 0. */
static int owners_hold(struct cluster *c, const char *pkey, uint64_t a, uint64_t b)
{
    struct replica_set rs;
    int ha = 0, hb = b == 0;
    if (cluster_replicas(c, pkey, 0, &rs))
        return 0;
    for (size_t k = 0; k < rs.npref; k++) {
        ha |= rs.r_[k].id == a;
        hb |= rs.r_[k].id == b;
    }
    return ha && hb;
}

/* Marks in shared[] the partitions whose preference list holds both a and b. */
static void mark_shared(struct cluster *c, const struct parts *p, uint64_t a, uint64_t b,
                        char *shared)
{
    for (size_t i = 0; i < p->n; i++) {
        struct replica_set rs;
        int ha = 0, hb = 0;
        shared[i] = 0;
        if (cluster_replicas(c, p->v[i].pkey, 0, &rs))
            continue;
        for (size_t k = 0; k < rs.npref; k++) {
            ha |= rs.r_[k].id == a;
            hb |= rs.r_[k].id == b;
        }
        shared[i] = (char)(ha && hb);
    }
}

/* ---- partition sync ---------------------------------------------------------- */

struct ver_list {
    struct buf *out;
    uint32_t count;
    int err;
};

static int put_version(void *ctx, const char *pkey, const char *rkey, const struct dht_version *v,
                       int tomb, const uint8_t hash[DHT_HASH_LEN])
{
    (void)pkey;
    (void)tomb;
    (void)hash;
    struct ver_list *vl = ctx;
    if (wire_str(vl->out, rkey) || wire_u64(vl->out, v->hlc) || wire_u64(vl->out, v->node))
        return MG_ENOMEM;
    vl->count++;
    return 0;
}

static void patch_u32(struct buf *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->data[at + (size_t)i] = (char)(v >> (24 - 8 * i));
}

/* Sends rows (by key, read now from this store) to addr in APPLY batches. */
static int push_rows(struct cluster *c, const char *addr, const char *pkey, char **rkeys, size_t n,
                     size_t *pushed)
{
    size_t i = 0;
    while (i < n) {
        struct buf p;
        buf_init(&p);
        uint32_t count = 0;
        if (wire_u32(&p, 0))
            return MG_ENOMEM;
        for (; i < n && p.len < AE_PUSH_BATCH_BYTES; i++) {
            struct dht_row row;
            if (dht_engine_get_any(c->d, pkey, rkeys[i], &row))
                continue;
            int rc = wire_str(&p, pkey);
            if (!rc)
                rc = wire_str(&p, rkeys[i]);
            if (!rc)
                rc = wire_row(&p, &row);
            dht_row_release(&row);
            if (rc) {
                buf_release(&p);
                return rc;
            }
            count++;
        }
        patch_u32(&p, 0, count);
        int st =
            count ? peer_call(c, addr, PEER_APPLY, p.data, p.len, NULL, cluster_bulk_timeout(c))
                  : 200;
        buf_release(&p);
        if (st != 200)
            return MG_EUNAVAIL;
        *pushed += count;
    }
    return 0;
}

/* AE_SYNC request flag: the requester only gives (a handoff): the answer
 * carries no rows, only the keys the peer wants. A handoff that also took
 * rows would take back what it is about to drop, forever. */
#define AE_SYNC_PUSH_ONLY 0x01

/* Makes addr's copy of pkey and ours equal: both directions, or only ours
 * to theirs (push_only). Returns 0 when done, MG_EUNAVAIL when the peer did
 * not answer or AE_SYNC_ROUNDS exchanges did not finish. *copied counts
 * rows copied. */
static int sync_partition(struct cluster *c, const char *addr, const char *pkey, int push_only,
                          size_t *copied)
{
    for (int round = 0; round < AE_SYNC_ROUNDS; round++) {
        struct buf p, reply;
        struct ver_list vl;
        buf_init(&p);
        buf_init(&reply);
        vl.out = &p;
        vl.count = 0;
        vl.err = 0;
        int rc = wire_str(&p, pkey);
        if (!rc)
            rc = wire_u8(&p, push_only ? AE_SYNC_PUSH_ONLY : 0);
        size_t at = p.len;
        if (!rc)
            rc = wire_u32(&p, 0);
        if (!rc)
            rc = dht_local_meta(c->d, pkey, put_version, &vl);
        if (rc) {
            buf_release(&p);
            return rc;
        }
        patch_u32(&p, at, vl.count);
        int st = peer_call(c, addr, PEER_AE_SYNC, p.data, p.len, &reply, cluster_bulk_timeout(c));
        buf_release(&p);
        if (st != 200) {
            buf_release(&reply);
            return MG_EUNAVAIL;
        }
        struct wire_reader r;
        char rkey[DHT_KEY_MAX + 1];
        wire_reader_init(&r, reply.data, reply.len);
        uint8_t more = wire_get_u8(&r);
        uint32_t n = wire_get_u32(&r);
        for (uint32_t i = 0; i < n && !r.err; i++) {
            struct dht_row row;
            int applied = 0;
            wire_get_str(&r, rkey, sizeof(rkey));
            wire_get_row(&r, &row);
            if (!r.err && dht_engine_apply(c->d, pkey, rkey, &row, &applied) == 0 && applied)
                (*copied)++;
        }
        uint32_t nwant = wire_get_u32(&r);
        char **want = calloc(nwant ? nwant : 1, sizeof(*want));
        size_t nw = 0;
        for (uint32_t i = 0; want && i < nwant && !r.err; i++) {
            wire_get_str(&r, rkey, sizeof(rkey));
            if (!r.err && (want[nw] = strdup(rkey)) != NULL)
                nw++;
        }
        rc = wire_end(&r);
        buf_release(&reply);
        if (!rc && nw)
            rc = push_rows(c, addr, pkey, want, nw, copied);
        for (size_t i = 0; i < nw; i++)
            free(want[i]);
        free(want);
        if (rc)
            return rc;
        if (!more)
            return 0;
    }
    return MG_EUNAVAIL; /* not done: the rest in the next round */
}

/* The answering side of a partition sync. Request: pkey, count, count *
 * (rkey, hlc, node) in rkey order. Answer: more, rows newer here (or
 * missing there), then the row keys the requester should send us. */
struct theirs {
    char **rkeys;
    struct dht_version *v;
    size_t n;
    size_t pos;
    struct buf *rows;
    uint32_t nrows;
    struct buf want;
    uint32_t nwant;
    int more;
    int push_only;
    struct cluster *c;
    const char *pkey;
    int err;
};

static int want_key(struct theirs *t, const char *rkey)
{
    if (wire_str(&t->want, rkey))
        return MG_ENOMEM;
    t->nwant++;
    return 0;
}

static int send_row(struct theirs *t, const char *rkey)
{
    if (t->push_only)
        return 0;
    if (t->rows->len > AE_SYNC_REPLY_MAX) {
        t->more = 1;
        return 0;
    }
    struct dht_row row;
    if (dht_engine_get_any(t->c->d, t->pkey, rkey, &row))
        return 0;
    int rc = wire_str(t->rows, rkey);
    if (!rc)
        rc = wire_row(t->rows, &row);
    dht_row_release(&row);
    if (!rc)
        t->nrows++;
    return rc;
}

static int sync_row(void *ctx, const char *pkey, const char *rkey, const struct dht_version *v,
                    int tomb, const uint8_t hash[DHT_HASH_LEN])
{
    (void)pkey;
    (void)tomb;
    (void)hash;
    struct theirs *t = ctx;
    /* Merge two sorted key lists. */
    while (t->pos < t->n && strcmp(t->rkeys[t->pos], rkey) < 0) {
        if (want_key(t, t->rkeys[t->pos]))
            return MG_ENOMEM;
        t->pos++;
    }
    if (t->pos < t->n && strcmp(t->rkeys[t->pos], rkey) == 0) {
        int cmp = dht_version_cmp(v, &t->v[t->pos]);
        t->pos++;
        if (cmp > 0)
            return send_row(t, rkey);
        if (cmp < 0)
            return want_key(t, rkey);
        return 0;
    }
    return send_row(t, rkey);
}

int ae_answer_sync(struct cluster *c, uint64_t from, const void *payload, size_t len,
                   struct buf *reply)
{
    struct wire_reader r;
    char pkey[DHT_KEY_MAX + 1];
    char rkey[DHT_KEY_MAX + 1];
    struct theirs t;
    int status = 500;
    memset(&t, 0, sizeof(t));
    buf_init(&t.want);
    wire_reader_init(&r, payload, len);
    wire_get_str(&r, pkey, sizeof(pkey));
    t.push_only = (wire_get_u8(&r) & AE_SYNC_PUSH_ONLY) != 0;
    uint32_t n = wire_get_u32(&r);
    if (r.err || pkey[0] == CLUSTER_LOCAL_PREFIX || n > len / 18 + 1)
        return 400;
    /* Replicas sync what both own; a handoff gives to an owner. Refused
     * (409) when this node's view of the ring disagrees: a handoff must not
     * count a node that does not keep the rows as having taken them. The
     * sender retries once the views agree. */
    if (!owners_hold(c, pkey, c->self_id, t.push_only ? 0 : from))
        return 409;
    t.rkeys = calloc(n ? n : 1, sizeof(*t.rkeys));
    t.v = calloc(n ? n : 1, sizeof(*t.v));
    if (!t.rkeys || !t.v)
        goto out;
    for (uint32_t i = 0; i < n && !r.err; i++) {
        wire_get_str(&r, rkey, sizeof(rkey));
        t.v[i].hlc = wire_get_u64(&r);
        t.v[i].node = wire_get_u64(&r);
        if (r.err)
            break;
        if ((t.rkeys[i] = strdup(rkey)) == NULL)
            goto out;
        t.n++;
        if (i && strcmp(t.rkeys[i - 1], t.rkeys[i]) >= 0)
            r.err = MG_EINVAL; /* must be sorted and distinct */
    }
    if (wire_end(&r)) {
        status = 400;
        goto out;
    }
    size_t head = reply->len;
    if (wire_u8(reply, 0) || wire_u32(reply, 0))
        goto out;
    t.rows = reply;
    t.c = c;
    t.pkey = pkey;
    if (dht_local_meta(c->d, pkey, sync_row, &t))
        goto out;
    for (; t.pos < t.n; t.pos++)
        if (want_key(&t, t.rkeys[t.pos]))
            goto out;
    reply->data[head] = (char)t.more;
    patch_u32(reply, head + 1, t.nrows);
    if (wire_u32(reply, t.nwant) || wire_raw(reply, t.want.data, t.want.len))
        goto out;
    status = 200;
out:
    for (size_t i = 0; i < t.n; i++)
        free(t.rkeys[i]);
    free(t.rkeys);
    free(t.v);
    buf_release(&t.want);
    return status;
}

/* ---- buckets ------------------------------------------------------------------- */

static void bucket_digests(const struct parts *p, const char *shared, uint8_t (*b)[32])
{
    memset(b, 0, AE_BUCKETS * 32);
    for (size_t i = 0; i < p->n; i++)
        if (shared[i])
            bucket_add(b[bucket_of(p->v[i].pkey)], p->v[i].pkey, p->v[i].digest);
}

int ae_answer_buckets(struct cluster *c, uint64_t from, const void *payload, size_t len,
                      struct buf *reply)
{
    struct wire_reader r;
    uint8_t(*theirs)[32] = calloc(AE_BUCKETS, 32);
    uint8_t(*mine)[32] = calloc(AE_BUCKETS, 32);
    struct parts p;
    char *shared = NULL;
    int status = 500;
    memset(&p, 0, sizeof(p));
    if (!theirs || !mine)
        goto out;
    wire_reader_init(&r, payload, len);
    if (wire_get_u16(&r) != AE_BUCKETS) {
        status = 400;
        goto out;
    }
    for (int i = 0; i < AE_BUCKETS; i++)
        wire_get_raw(&r, theirs[i], 32);
    if (wire_end(&r)) {
        status = 400;
        goto out;
    }
    if (collect_parts(c, 0, &p))
        goto out;
    shared = calloc(p.n ? p.n : 1, 1);
    if (!shared)
        goto out;
    mark_shared(c, &p, c->self_id, from, shared);
    bucket_digests(&p, shared, mine);
    /* Answer: the differing buckets, then our partitions in them. */
    size_t head = reply->len;
    uint32_t nb = 0, np = 0;
    if (wire_u32(reply, 0))
        goto out;
    for (int i = 0; i < AE_BUCKETS; i++) {
        if (memcmp(mine[i], theirs[i], 32) == 0)
            continue;
        if (wire_u16(reply, (uint16_t)i))
            goto out;
        nb++;
    }
    patch_u32(reply, head, nb);
    head = reply->len;
    if (wire_u32(reply, 0))
        goto out;
    for (size_t i = 0; i < p.n; i++) {
        unsigned b = bucket_of(p.v[i].pkey);
        if (!shared[i] || memcmp(mine[b], theirs[b], 32) == 0)
            continue;
        if (wire_str(reply, p.v[i].pkey) || wire_raw(reply, p.v[i].digest, 32))
            goto out;
        np++;
    }
    patch_u32(reply, head, np);
    status = 200;
out:
    free(theirs);
    free(mine);
    free(shared);
    parts_release(&p);
    return status;
}

static struct part *find_part(struct parts *p, const char *pkey)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(p->v[mid].pkey, pkey);
        if (cmp == 0)
            return &p->v[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* One exchange with peer (id, addr) over the partitions we share. Sets bit
 * in covered[i] for each partition i the peer was shown to hold our
 * versions of (equal digests, or a completed sync). */
static size_t ae_with(struct cluster *c, uint64_t id, const char *addr, struct parts *p,
                      uint64_t bit, uint64_t *covered)
{
    size_t copied = 0;
    char *shared = calloc(p->n ? p->n : 1, 1);
    uint8_t(*mine)[32] = calloc(AE_BUCKETS, 32);
    char *diff = calloc(AE_BUCKETS, 1);
    char *seen = calloc(p->n ? p->n : 1, 1);
    struct buf req, reply;
    buf_init(&req);
    buf_init(&reply);
    if (!shared || !mine || !diff || !seen)
        goto out;
    mark_shared(c, p, c->self_id, id, shared);
    bucket_digests(p, shared, mine);
    if (wire_u16(&req, AE_BUCKETS) || wire_raw(&req, mine, AE_BUCKETS * 32))
        goto out;
    if (peer_call(c, addr, PEER_AE_BUCKETS, req.data, req.len, &reply, cluster_bulk_timeout(c)) !=
        200)
        goto out;
    struct wire_reader r;
    char pkey[DHT_KEY_MAX + 1];
    uint8_t dg[32];
    wire_reader_init(&r, reply.data, reply.len);
    uint32_t nb = wire_get_u32(&r);
    for (uint32_t i = 0; i < nb && !r.err; i++) {
        uint16_t b = wire_get_u16(&r);
        if (b < AE_BUCKETS)
            diff[b] = 1;
    }
    for (size_t i = 0; !r.err && i < p->n; i++)
        if (shared[i] && !diff[bucket_of(p->v[i].pkey)])
            covered[i] |= bit;
    uint32_t np = wire_get_u32(&r);
    for (uint32_t i = 0; i < np && !r.err && !atomic_load(&c->stop); i++) {
        wire_get_str(&r, pkey, sizeof(pkey));
        wire_get_raw(&r, dg, 32);
        if (r.err)
            break;
        struct part *mp = find_part(p, pkey);
        if (mp)
            seen[mp - p->v] = 1;
        if (mp && memcmp(mp->digest, dg, 32) == 0) {
            if (shared[mp - p->v])
                covered[mp - p->v] |= bit;
            continue;
        }
        /* Only what both own in our view too: while views of the ring
         * differ (a join spreading), taking a partition we do not own would
         * only make a copy for the next handoff to drop. */
        if (mp ? !shared[mp - p->v] : !owners_hold(c, pkey, c->self_id, id))
            continue;
        if (sync_partition(c, addr, pkey, 0, &copied) == 0 && mp)
            covered[mp - p->v] |= bit;
    }
    /* Ours in differing buckets that the peer does not have at all. */
    for (size_t i = 0; !r.err && i < p->n && !atomic_load(&c->stop); i++)
        if (shared[i] && !seen[i] && diff[bucket_of(p->v[i].pkey)] &&
            sync_partition(c, addr, p->v[i].pkey, 0, &copied) == 0)
            covered[i] |= bit;
out:
    free(shared);
    free(mine);
    free(diff);
    free(seen);
    buf_release(&req);
    buf_release(&reply);
    return copied;
}

/* The versions of a partition's rows at one moment. */
struct snap {
    char **rkeys;
    struct dht_version *v;
    size_t n, cap;
};

static void snap_release(struct snap *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->rkeys[i]);
    free(s->rkeys);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int snap_row(void *ctx, const char *pkey, const char *rkey, const struct dht_version *v,
                    int tomb, const uint8_t hash[DHT_HASH_LEN])
{
    (void)pkey;
    (void)tomb;
    (void)hash;
    struct snap *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **k = realloc(s->rkeys, cap * sizeof(*k));
        if (!k)
            return MG_ENOMEM;
        s->rkeys = k;
        struct dht_version *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return MG_ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->rkeys[s->n] = strdup(rkey);
    if (!s->rkeys[s->n])
        return MG_ENOMEM;
    s->v[s->n++] = *v;
    return 0;
}

static int snap_take(struct dht *d, const char *pkey, struct snap *s)
{
    memset(s, 0, sizeof(*s));
    int rc = dht_local_meta(d, pkey, snap_row, s);
    if (rc)
        snap_release(s);
    return rc;
}

/* Partitions we hold but do not own: give them to every owner, then drop. */
static size_t handoff(struct cluster *c, struct parts *p)
{
    size_t moved = 0;
    for (size_t i = 0; i < p->n && !atomic_load(&c->stop); i++) {
        struct replica_set rs;
        if (cluster_replicas(c, p->v[i].pkey, 0, &rs))
            continue;
        int mine = 0, all_ok = 1;
        for (size_t k = 0; k < rs.npref; k++)
            mine |= rs.r_[k].self;
        if (mine)
            continue;
        struct snap snap;
        if (snap_take(c->d, p->v[i].pkey, &snap))
            continue;
        for (size_t k = 0; k < rs.npref; k++) {
            size_t copied = 0;
            if (rs.r_[k].state != MEMBER_ALIVE ||
                sync_partition(c, rs.r_[k].addr, p->v[i].pkey, 1, &copied))
                all_ok = 0;
            if (copied)
                log_debug("handoff pkey=%s to=%s rows=%zu", p->v[i].pkey, rs.r_[k].addr, copied);
            moved += copied;
        }
        /* Every owner acknowledged a full sync of at least what the snapshot
         * holds: those versions may go. A row written here since (a
         * coordinator with an older ring) stays until the next round. */
        if (all_ok && dht_local_purge_many(c->d, p->v[i].pkey, snap.rkeys, snap.v, snap.n) == 0 &&
            dht_local_forget_floor(c->d, p->v[i].pkey) == 0)
            log_debug("handed off partition pkey=%s rows=%zu", p->v[i].pkey, snap.n);
        snap_release(&snap);
    }
    return moved;
}

/* 1 when this node owns partition part and every other owner is one of
 * the round's peers ids[] whose bit is set in covered. */
static int all_owners_covered(struct cluster *c, const char *pkey, const uint64_t *ids, size_t n,
                              uint64_t covered)
{
    struct replica_set rs;
    int mine = 0;
    if (cluster_replicas(c, pkey, 0, &rs))
        return 0;
    for (size_t k = 0; k < rs.npref; k++) {
        if (rs.r_[k].self) {
            mine = 1;
            continue;
        }
        size_t i = 0;
        while (i < n && ids[i] != rs.r_[k].id)
            i++;
        if (i == n || !(covered & (UINT64_C(1) << i)))
            return 0;
    }
    return mine;
}

/* Purges the round's candidates of every partition all of whose owners
 * were covered. Returns the number of tombstones purged. */
static size_t purge_confirmed(struct cluster *c, const struct parts *p, const uint64_t *ids,
                              size_t n, const uint64_t *covered)
{
    size_t total = 0;
    char **rkeys = calloc(p->ncands ? p->ncands : 1, sizeof(*rkeys));
    struct dht_version *vs = calloc(p->ncands ? p->ncands : 1, sizeof(*vs));
    for (size_t i = 0; rkeys && vs && i < p->ncands && !atomic_load(&c->stop);) {
        size_t part = p->cands[i].part, k = 0;
        /* Candidates come in partition order: one partition's run at a time. */
        for (; i < p->ncands && p->cands[i].part == part; i++, k++) {
            rkeys[k] = p->cands[i].rkey;
            vs[k] = p->cands[i].v;
        }
        size_t got = 0;
        if (all_owners_covered(c, p->v[part].pkey, ids, n, covered[part]) &&
            dht_local_purge_tombstones(c->d, p->v[part].pkey, rkeys, vs, k, &got) == 0)
            total += got;
    }
    free(rkeys);
    free(vs);
    return total;
}

size_t ae_round(struct cluster *c)
{
    struct parts p;
    uint64_t ids[CLUSTER_MAX_MEMBERS];
    char addrs[CLUSTER_MAX_MEMBERS][CLUSTER_ADDR_MAX];
    size_t n = 0, copied = 0;
    uint64_t t0 = mg_mono_ms();
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++) {
        const struct member *m = &c->members[i];
        if (m->id == c->self_id || m->state != MEMBER_ALIVE)
            continue;
        ids[n] = m->id;
        snprintf(addrs[n], CLUSTER_ADDR_MAX, "%s", m->addr);
        n++;
    }
    pthread_mutex_unlock(&c->lock);
    if (collect_parts(c, dht_engine_purge_horizon(c->d), &p))
        return 0;
    uint64_t *covered = calloc(p.n ? p.n : 1, sizeof(*covered));
    for (size_t i = 0; covered && i < n && !atomic_load(&c->stop); i++)
        copied += ae_with(c, ids[i], addrs[i], &p, UINT64_C(1) << i, covered);
    size_t purged = covered ? purge_confirmed(c, &p, ids, n, covered) : 0;
    free(covered);
    size_t moved = handoff(c, &p);
    parts_release(&p);
    atomic_fetch_add(&c->ae_rounds, 1);
    atomic_fetch_add(&c->ae_rows, copied);
    atomic_fetch_add(&c->handoff_rows, moved);
    atomic_store(&c->last_ae_ms, mg_now_ms());
    if (copied || moved || purged)
        log_info("anti-entropy round peers=%zu rows_copied=%zu rows_handed_off=%zu "
                 "tombstones_purged=%zu ms=%llu",
                 n, copied, moved, purged, (unsigned long long)(mg_mono_ms() - t0));
    return copied + moved;
}
