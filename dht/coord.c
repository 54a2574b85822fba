/*
 * coord.c - the coordinator: any node that receives a request runs it
 * against the replicas of the partition (Dynamo 4.5).
 *
 * Writes go to the N replicas of the preference list in parallel and
 * succeed after W acknowledgements; a replica that did not acknowledge gets
 * a hint (hints.c). Reads ask R replicas (this node first when it is one),
 * more when some do not answer, and the whole preference list plus a few
 * further nodes before saying "not found" (data may still sit on an old
 * owner while a range moves). The newest version wins; replicas that
 * answered with an older one are repaired in the background.
 *
 * Conditional writes check the precondition against a quorum read of the
 * versions only, then write a version newer than the one read
 * (DESIGN.md, "Conditional writes"). The version read travels with the
 * write as its base (PEER_APPLY_BASED), so that a replica meeting two racing
 * writes keeps the loser as a conflict copy (engine.h, dht_apply_item).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cluster.h"
#include "engine.h"
#include "hlc.h"
#include "wire.h"

#define COORD_GRACE_MS 30   /* after W acks, how long the other replicas may still ack */
#define COORD_SCAN_PAGE 512 /* live rows per replica per scan page */
#define COORD_REPAIR_MAX 4096
#define COORD_BIG_VALUE (64u << 10)
#define COORD_BIG_TIMEOUT_FACTOR 4
#define PEER_GET_META 0x01

struct ask {
    int asked;
    int ok;
    struct buf reply;
};

static void asks_release(struct ask *asks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_release(&asks[i].reply);
}

/* The order in which replicas are asked: this node, then live members in
 * preference order, then suspected ones. Dead members are left out: the
 * failure detector already knows they will not answer. */
static size_t ask_order(const struct replica_set *rs, size_t from, size_t to, size_t *order)
{
    size_t n = 0;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = from; i < to; i++) {
            const struct replica *r = &rs->r_[i];
            int take = pass == 0   ? r->self
                       : pass == 1 ? !r->self && r->state == MEMBER_ALIVE
                                   : !r->self && r->state == MEMBER_SUSPECT;
            if (take)
                order[n++] = i;
        }
    }
    return n;
}

/* Asks candidates order[*next..] in batches until `want` of asks[] hold
 * a 200 answer or candidates run out. Returns the number answered. */
static size_t ask_until(struct cluster *c, const struct replica_set *rs, const size_t *order,
                        size_t ncand, size_t *next, size_t want, uint8_t type,
                        const struct buf *payload, struct ask *asks)
{
    size_t answered = 0;
    for (size_t i = 0; i < rs->n; i++)
        answered += asks[i].ok;
    while (answered < want && *next < ncand) {
        struct peer_req reqs[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
        size_t map[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
        size_t nreq = 0;
        memset(reqs, 0, sizeof(reqs));
        size_t batch = want - answered;
        for (; batch && *next < ncand; batch--, (*next)++) {
            size_t i = order[*next];
            const struct replica *r = &rs->r_[i];
            asks[i].asked = 1;
            if (r->self) {
                buf_reset(&asks[i].reply);
                int st = peer_local_answer(c, type, payload->data, payload->len, &asks[i].reply);
                asks[i].ok = st == 200;
                answered += asks[i].ok;
                continue;
            }
            snprintf(reqs[nreq].addr, sizeof(reqs[nreq].addr), "%s", r->addr);
            reqs[nreq].expect_id = r->id;
            reqs[nreq].type = type;
            reqs[nreq].payload = payload->data;
            reqs[nreq].len = payload->len;
            map[nreq++] = i;
        }
        if (!nreq)
            continue;
        peer_call_all(c, reqs, nreq, nreq, c->params.timeout_ms, -1);
        for (size_t k = 0; k < nreq; k++) {
            struct ask *a = &asks[map[k]];
            if (reqs[k].status == 200) {
                a->ok = 1;
                answered++;
                buf_release(&a->reply);
                a->reply = reqs[k].reply;
                buf_init(&reqs[k].reply);
            }
        }
        peer_req_release(reqs, nreq);
    }
    return answered;
}

static int copy_row(struct dht_row *dst, const struct dht_row *src)
{
    *dst = *src;
    dst->value = malloc(src->value_len + 1);
    if (!dst->value)
        return MG_ENOMEM;
    if (src->value_len)
        memcpy(dst->value, src->value, src->value_len);
    ((char *)dst->value)[src->value_len] = '\0';
    return 0;
}

/* Parses a GET answer. *found: 1 with row pointing into the reply. */
static int parse_get(const struct buf *reply, int meta, int *found, struct dht_row *row)
{
    struct wire_reader r;
    wire_reader_init(&r, reply->data, reply->len);
    *found = wire_get_u8(&r);
    if (*found)
        wire_get_row(&r, row);
    if (wire_end(&r))
        return MG_EINVAL;
    if (*found && !meta && !row->tombstone) {
        uint8_t h[DHT_HASH_LEN];
        crypto_generichash(h, sizeof(h), row->value, row->value_len, NULL, 0);
        if (sodium_memcmp(h, row->hash, DHT_HASH_LEN) != 0)
            return MG_EINVAL;
    }
    return 0;
}

/* Quorum read of one row. *have is 1 when some replica holds a version (a
 * tombstone counts); best then holds the newest (value malloc'd unless meta).
 * Returns 0, MG_EUNAVAIL when fewer than R replicas answered, or an error. */
static int read_row(struct cluster *c, const char *pkey, const char *rkey, int meta,
                    struct dht_row *best, int *have)
{
    struct replica_set rs;
    struct ask asks[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    size_t order[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    struct buf payload;
    *have = 0;
    memset(best, 0, sizeof(*best));
    int rc = cluster_replicas(c, pkey, CLUSTER_FALLBACK_EXTRA, &rs);
    if (rc)
        return rc;
    memset(asks, 0, sizeof(asks));
    buf_init(&payload);
    if (wire_str(&payload, pkey) || wire_str(&payload, rkey) ||
        wire_u8(&payload, meta ? PEER_GET_META : 0)) {
        rc = MG_ENOMEM;
        goto out;
    }
    size_t next = 0;
    size_t ncand = ask_order(&rs, 0, rs.npref, order);
    size_t answered =
        ask_until(c, &rs, order, ncand, &next, (size_t)rs.r, PEER_GET, &payload, asks);
    if (answered < (size_t)rs.r) {
        rc = MG_EUNAVAIL;
        goto out;
    }
    int any = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < rs.n; i++) {
            int found = 0;
            struct dht_row row;
            if (!asks[i].ok)
                continue;
            if (parse_get(&asks[i].reply, meta, &found, &row)) {
                log_warn("bad get answer from replica node=%016llx pkey=%s",
                         (unsigned long long)rs.r_[i].id, pkey);
                asks[i].ok = 0;
                continue;
            }
            if (!found)
                continue;
            any = 1;
            if (!*have || dht_version_cmp(&row.version, &best->version) > 0) {
                dht_row_release(best);
                if (copy_row(best, &row)) {
                    rc = MG_ENOMEM;
                    goto out;
                }
                *have = 1;
            }
        }
        if (any || pass == 1)
            break;
        /* Nobody of R has it: before a 404, ask the rest of the preference
         * list and the next nodes on the ring (an old owner during a move). */
        size_t rest[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
        size_t nrest = 0;
        size_t all = ask_order(&rs, 0, rs.n, order);
        for (size_t k = 0; k < all; k++)
            if (!asks[order[k]].asked)
                rest[nrest++] = order[k];
        if (!nrest)
            break;
        size_t n2 = 0;
        ask_until(c, &rs, rest, nrest, &n2, answered + nrest, PEER_GET, &payload, asks);
    }
    /* Read repair (Dynamo 4.8.1): replicas that answered with something
     * older than the winner get the winner. Meta reads carry no value. */
    if (*have && !meta && c->serving) {
        for (size_t i = 0; i < rs.npref; i++) {
            int found = 0;
            struct dht_row row;
            if (!asks[i].ok || parse_get(&asks[i].reply, 1, &found, &row))
                continue;
            if (!found || dht_version_cmp(&row.version, &best->version) < 0)
                repair_enqueue(c, rs.r_[i].id, pkey, rkey, best);
        }
    }
out:
    if (rc) {
        dht_row_release(best);
        *have = 0;
    }
    asks_release(asks, rs.n);
    buf_release(&payload);
    return rc;
}

int coord_get(struct cluster *c, const char *pkey, const char *rkey, struct dht_row *out)
{
    int have;
    memset(out, 0, sizeof(*out));
    if (!pkey || !rkey)
        return MG_EINVAL;
    if (strlen(pkey) > DHT_KEY_MAX || strlen(rkey) > DHT_KEY_MAX)
        return MG_ETOOBIG;
    int rc = read_row(c, pkey, rkey, 0, out, &have);
    if (rc)
        return rc;
    if (!have || out->tombstone) {
        dht_row_release(out);
        return MG_ENOTFOUND;
    }
    return 0;
}

/* RFC 7232 3.1/3.2 against the newest version a quorum holds. */
static int check_cond(const struct dht_cond *cond, int have, const struct dht_row *cur)
{
    int live = have && !cur->tombstone;
    switch (cond->kind) {
    case DHT_COND_NONE:
        return 0;
    case DHT_COND_ABSENT:
        return live ? MG_EPRECOND : 0;
    case DHT_COND_PRESENT:
        return live ? 0 : MG_EPRECOND;
    case DHT_COND_MATCH:
        if (!live || sodium_memcmp(cur->hash, cond->hash, DHT_HASH_LEN) != 0)
            return MG_EPRECOND;
        return 0;
    }
    return MG_EINVAL;
}

/* Sends to replicas that answered 404 to PEER_APPLY_BASED (a node from
 * before it) the same write as a plain PEER_APPLY: the payload without its
 * base. They store the row, without judging conflicts. */
static void apply_unbased(struct cluster *c, struct peer_req *reqs, size_t nreq, size_t need,
                          int timeout)
{
    struct peer_req old[CLUSTER_MAX_REPLICAS];
    size_t map[CLUSTER_MAX_REPLICAS], n = 0;
    memset(old, 0, sizeof(old));
    for (size_t k = 0; k < nreq; k++) {
        if (reqs[k].status != 404 || reqs[k].type != PEER_APPLY_BASED)
            continue;
        old[n] = reqs[k];
        buf_init(&old[n].reply);
        old[n].type = PEER_APPLY;
        old[n].len -= PEER_BASE_LEN;
        map[n++] = k;
    }
    if (!n)
        return;
    peer_call_all(c, old, n, need, timeout, COORD_GRACE_MS);
    for (size_t k = 0; k < n; k++)
        reqs[map[k]].status = old[k].status;
    peer_req_release(old, n);
}

/* coord_replicate, for a write based on version base (NULL: unconditional). */
static int replicate(struct cluster *c, const char *pkey, const char *rkey,
                     const struct dht_row *row, const struct dht_version *base)
{
    struct replica_set rs;
    struct peer_req reqs[CLUSTER_MAX_REPLICAS];
    uint64_t ids[CLUSTER_MAX_REPLICAS];
    struct buf payload;
    size_t nreq = 0, acks = 0;
    int rc = cluster_replicas(c, pkey, 0, &rs);
    if (rc)
        return rc;
    buf_init(&payload);
    memset(reqs, 0, sizeof(reqs));
    rc = wire_u32(&payload, 1);
    if (!rc)
        rc = wire_str(&payload, pkey);
    if (!rc)
        rc = wire_str(&payload, rkey);
    if (!rc)
        rc = wire_row(&payload, row);
    /* The base comes last: without it the payload is a plain APPLY. */
    if (!rc && base)
        rc = wire_u64(&payload, base->hlc);
    if (!rc && base)
        rc = wire_u64(&payload, base->node);
    if (rc)
        goto out;
    for (size_t i = 0; i < rs.npref; i++) {
        const struct replica *r = &rs.r_[i];
        if (r->self) {
            struct dht_apply_item it = {.pkey = pkey, .rkey = rkey, .row = *row};
            if (base) {
                it.has_base = 1;
                it.base = *base;
            }
            if (dht_engine_apply_batch(c->d, &it, 1) == 0)
                acks++;
            else
                log_err("local replica write failed pkey=%s", pkey);
            continue;
        }
        if (r->state == MEMBER_DEAD) {
            hint_store(c, r->id, pkey, rkey, row);
            continue;
        }
        snprintf(reqs[nreq].addr, sizeof(reqs[nreq].addr), "%s", r->addr);
        reqs[nreq].expect_id = r->id;
        reqs[nreq].type = base ? PEER_APPLY_BASED : PEER_APPLY;
        reqs[nreq].payload = payload.data;
        reqs[nreq].len = payload.len;
        ids[nreq++] = r->id;
    }
    if (nreq) {
        size_t need = (size_t)rs.w > acks ? (size_t)rs.w - acks : 0;
        /* A big value (a blob chunk) may meet a replica busy checkpointing
         * its write-ahead log for a second or two; failing the upload for
         * that would be worse than waiting. Small writes keep the timeout. */
        int timeout = c->params.timeout_ms;
        if (row->value_len > COORD_BIG_VALUE)
            timeout *= COORD_BIG_TIMEOUT_FACTOR;
        peer_call_all(c, reqs, nreq, need, timeout, COORD_GRACE_MS);
        if (base)
            apply_unbased(c, reqs, nreq, need, timeout);
        for (size_t k = 0; k < nreq; k++) {
            if (reqs[k].status == 200)
                acks++;
            else
                hint_store(c, ids[k], pkey, rkey, row);
        }
    }
    if (acks < (size_t)rs.w) {
        log_warn("write quorum not reached pkey=%s acks=%zu w=%d", pkey, acks, rs.w);
        rc = MG_EUNAVAIL;
    }
out:
    peer_req_release(reqs, nreq);
    buf_release(&payload);
    return rc;
}

int coord_replicate(struct cluster *c, const char *pkey, const char *rkey,
                    const struct dht_row *row)
{
    return replicate(c, pkey, rkey, row, NULL);
}

int coord_put(struct cluster *c, const char *pkey, const char *rkey, const void *value, size_t len,
              const uint8_t hash[DHT_HASH_LEN], const struct dht_cond *cond,
              struct dht_version *out_version)
{
    if (!pkey || !rkey || (!value && len))
        return MG_EINVAL;
    if (strlen(pkey) > DHT_KEY_MAX || strlen(rkey) > DHT_KEY_MAX || len > DHT_VALUE_MAX)
        return MG_ETOOBIG;
    if (pkey[0] == CLUSTER_LOCAL_PREFIX)
        return MG_EINVAL;
    struct hlc *clock = dht_engine_clock(c->d);
    struct dht_version base = {0, 0};
    int based = cond && cond->kind != DHT_COND_NONE;
    if (based) {
        struct dht_row cur;
        int have;
        int rc = read_row(c, pkey, rkey, 1, &cur, &have);
        if (rc)
            return rc;
        rc = check_cond(cond, have, &cur);
        if (have)
            base = cur.version;
        dht_row_release(&cur);
        if (rc)
            return rc;
    }
    struct dht_row row;
    memset(&row, 0, sizeof(row));
    row.version.hlc = hlc_now_above(clock, base.hlc);
    row.version.node = c->self_id;
    memcpy(row.hash, hash, DHT_HASH_LEN);
    row.value = (void *)(value ? value : "");
    row.value_len = len;
    int rc = replicate(c, pkey, rkey, &row, based ? &base : NULL);
    if (!rc && out_version)
        *out_version = row.version;
    return rc;
}

int coord_delete(struct cluster *c, const char *pkey, const char *rkey, const struct dht_cond *cond)
{
    struct dht_row cur;
    int have;
    if (!pkey || !rkey)
        return MG_EINVAL;
    if (strlen(pkey) > DHT_KEY_MAX || strlen(rkey) > DHT_KEY_MAX)
        return MG_ETOOBIG;
    int rc = read_row(c, pkey, rkey, 1, &cur, &have);
    if (rc)
        return rc;
    if (cond)
        rc = check_cond(cond, have, &cur);
    if (!rc && (!have || cur.tombstone))
        rc = MG_ENOTFOUND;
    /* A delete always read what it deletes: based on it, so that a write
     * racing it is kept as a conflict copy rather than deleted unseen. */
    struct dht_version base = cur.version;
    dht_row_release(&cur);
    if (rc)
        return rc;
    struct dht_row t;
    memset(&t, 0, sizeof(t));
    t.version.hlc = hlc_now_above(dht_engine_clock(c->d), base.hlc);
    t.version.node = c->self_id;
    t.tombstone = 1;
    t.value = "";
    return replicate(c, pkey, rkey, &t, &base);
}

/* ---- partition reads ---------------------------------------------------------- */

struct prow {
    char *rkey;
    struct dht_row row; /* value malloc'd */
};

struct page {
    struct prow *rows;
    size_t n, cap;
    int more;
    int purged; /* CHANGES: the replica purged tombstones newer than `since` */
};

static void page_release(struct page *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->rows[i].rkey);
        dht_row_release(&p->rows[i].row);
    }
    free(p->rows);
    memset(p, 0, sizeof(*p));
}

static int page_push(struct page *p, const char *rkey, const struct dht_row *row)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        void *n = realloc(p->rows, cap * sizeof(*p->rows));
        if (!n)
            return MG_ENOMEM;
        p->rows = n;
        p->cap = cap;
    }
    struct prow *pr = &p->rows[p->n];
    pr->rkey = strdup(rkey);
    if (!pr->rkey)
        return MG_ENOMEM;
    if (copy_row(&pr->row, row)) {
        free(pr->rkey);
        return MG_ENOMEM;
    }
    p->n++;
    return 0;
}

/* Parses a SCAN/CHANGES answer into p. */
static int parse_page(const struct buf *reply, struct page *p)
{
    struct wire_reader r;
    char rkey[DHT_KEY_MAX + 1];
    wire_reader_init(&r, reply->data, reply->len);
    uint8_t flags = wire_get_u8(&r);
    p->more = (flags & PEER_PAGE_MORE) != 0;
    p->purged = (flags & PEER_PAGE_PURGED) != 0;
    uint32_t n = wire_get_u32(&r);
    for (uint32_t i = 0; i < n && !r.err; i++) {
        struct dht_row row;
        wire_get_str(&r, rkey, sizeof(rkey));
        wire_get_row(&r, &row);
        if (!r.err && page_push(p, rkey, &row))
            return MG_ENOMEM;
    }
    return wire_end(&r);
}

struct digest_answer {
    uint8_t digest[32];
    uint64_t max_hlc;
};

/* Asks R replicas for the partition's digest. Fills asks (ok = answered)
 * and *agree (every answer equal). Returns 0 or MG_EUNAVAIL. */
static int quorum_digests(struct cluster *c, const char *pkey, struct replica_set *rs,
                          struct ask *asks, struct digest_answer *ans, int *agree,
                          uint64_t *max_hlc)
{
    size_t order[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    struct buf payload;
    buf_init(&payload);
    int rc = cluster_replicas(c, pkey, 0, rs);
    if (rc)
        return rc;
    if (wire_str(&payload, pkey)) {
        buf_release(&payload);
        return MG_ENOMEM;
    }
    size_t next = 0;
    size_t ncand = ask_order(rs, 0, rs->npref, order);
    ask_until(c, rs, order, ncand, &next, (size_t)rs->r, PEER_DIGEST, &payload, asks);
    buf_release(&payload);
    size_t answered = 0;
    int first = -1;
    *agree = 1;
    *max_hlc = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (!asks[i].ok)
            continue;
        struct wire_reader r;
        wire_reader_init(&r, asks[i].reply.data, asks[i].reply.len);
        wire_get_raw(&r, ans[i].digest, 32);
        ans[i].max_hlc = wire_get_u64(&r);
        wire_get_u32(&r);
        if (wire_end(&r)) {
            asks[i].ok = 0;
            continue;
        }
        answered++;
        if (ans[i].max_hlc > *max_hlc)
            *max_hlc = ans[i].max_hlc;
        if (first < 0)
            first = (int)i;
        else if (memcmp(ans[i].digest, ans[first].digest, 32) != 0)
            *agree = 0;
    }
    return answered < (size_t)rs->r ? MG_EUNAVAIL : 0;
}

int coord_partition_hlc(struct cluster *c, const char *pkey, uint64_t *out)
{
    struct replica_set rs;
    struct ask asks[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    struct digest_answer ans[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    int agree;
    *out = 0;
    memset(asks, 0, sizeof(asks));
    memset(&rs, 0, sizeof(rs));
    int rc = quorum_digests(c, pkey, &rs, asks, ans, &agree, out);
    asks_release(asks, rs.n);
    return rc;
}

/* Fetches one page of a partition from each replica in `use` (tombstones
 * included), starting after cursor. */
static int fetch_pages(struct cluster *c, const struct replica_set *rs, const int *use,
                       const char *pkey, const char *cursor, int changes, uint64_t since,
                       struct page *pages)
{
    struct peer_req reqs[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    size_t map[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    size_t nreq = 0;
    struct buf payload;
    int rc;
    buf_init(&payload);
    memset(reqs, 0, sizeof(reqs));
    rc = wire_str(&payload, pkey);
    if (changes) {
        if (!rc)
            rc = wire_u64(&payload, since);
    } else {
        if (!rc)
            rc = wire_u8(&payload, cursor != NULL);
        if (!rc)
            rc = wire_str(&payload, cursor ? cursor : "");
        if (!rc)
            rc = wire_u32(&payload, COORD_SCAN_PAGE);
    }
    if (rc)
        goto out;
    uint8_t type = changes ? PEER_CHANGES : PEER_SCAN;
    for (size_t i = 0; i < rs->n; i++) {
        if (!use[i])
            continue;
        if (rs->r_[i].self) {
            struct buf b;
            buf_init(&b);
            int st = peer_local_answer(c, type, payload.data, payload.len, &b);
            rc = st == 200 ? parse_page(&b, &pages[i]) : MG_EIO;
            buf_release(&b);
            if (rc)
                goto out;
            continue;
        }
        snprintf(reqs[nreq].addr, sizeof(reqs[nreq].addr), "%s", rs->r_[i].addr);
        reqs[nreq].expect_id = rs->r_[i].id;
        reqs[nreq].type = type;
        reqs[nreq].payload = payload.data;
        reqs[nreq].len = payload.len;
        map[nreq++] = i;
    }
    if (nreq)
        peer_call_all(c, reqs, nreq, nreq, c->params.timeout_ms, -1);
    for (size_t k = 0; k < nreq && !rc; k++) {
        if (reqs[k].status != 200)
            rc = MG_EUNAVAIL;
        else
            rc = parse_page(&reqs[k].reply, &pages[map[k]]);
    }
out:
    peer_req_release(reqs, nreq);
    buf_release(&payload);
    return rc;
}

static int prow_cmp_version(const void *a, const void *b)
{
    const struct prow *x = *(const struct prow *const *)a;
    const struct prow *y = *(const struct prow *const *)b;
    return dht_version_cmp(&x->row.version, &y->row.version);
}

/* Picks which replicas serve a partition read: one when the quorum's
 * digests agree (this node if it is one), else every replica that answered
 * (merged, newest version per row). */
static int choose_sources(struct cluster *c, const char *pkey, struct replica_set *rs, int *use,
                          int *only_self)
{
    struct ask asks[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    struct digest_answer ans[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    int agree;
    uint64_t max_hlc;
    memset(asks, 0, sizeof(asks));
    memset(rs, 0, sizeof(*rs));
    int rc = quorum_digests(c, pkey, rs, asks, ans, &agree, &max_hlc);
    *only_self = 0;
    if (!rc) {
        int picked = -1;
        for (size_t i = 0; i < rs->n; i++) {
            use[i] = asks[i].ok && !agree;
            if (asks[i].ok && agree && (picked < 0 || rs->r_[i].self))
                picked = (int)i;
        }
        if (agree && picked >= 0) {
            use[picked] = 1;
            *only_self = rs->r_[picked].self;
        }
    }
    asks_release(asks, rs->n);
    return rc;
}

int coord_scan(struct cluster *c, const char *pkey, const char *after, size_t limit, dht_row_fn fn,
               void *ctx)
{
    struct replica_set rs;
    int use[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    int only_self;
    if (!pkey || !fn)
        return MG_EINVAL;
    int rc = choose_sources(c, pkey, &rs, use, &only_self);
    if (rc)
        return rc;
    if (only_self)
        return dht_local_scan(c->d, pkey, after, limit, fn, ctx);

    char *cursor = after ? strdup(after) : NULL;
    if (after && !cursor)
        return MG_ENOMEM;
    size_t emitted = 0;
    for (;;) {
        struct page pages[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
        memset(pages, 0, sizeof(pages));
        rc = fetch_pages(c, &rs, use, pkey, cursor, 0, 0, pages);
        /* Rows up to the smallest last key of a replica with more to send
         * are complete on every replica; beyond it, wait for the next page. */
        const char *bound = NULL;
        for (size_t i = 0; !rc && i < rs.n; i++)
            if (use[i] && pages[i].more && pages[i].n &&
                (!bound || strcmp(pages[i].rows[pages[i].n - 1].rkey, bound) < 0))
                bound = pages[i].rows[pages[i].n - 1].rkey;
        size_t pos[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA] = {0};
        char *next_cursor = NULL;
        while (!rc) {
            /* The smallest next rkey among the replicas; the newest version of it. */
            const struct prow *win = NULL;
            const char *key = NULL;
            for (size_t i = 0; i < rs.n; i++)
                if (use[i] && pos[i] < pages[i].n &&
                    (!key || strcmp(pages[i].rows[pos[i]].rkey, key) < 0))
                    key = pages[i].rows[pos[i]].rkey;
            if (!key || (bound && strcmp(key, bound) > 0))
                break;
            for (size_t i = 0; i < rs.n; i++) {
                if (!use[i] || pos[i] >= pages[i].n || strcmp(pages[i].rows[pos[i]].rkey, key))
                    continue;
                const struct prow *pr = &pages[i].rows[pos[i]];
                if (!win || dht_version_cmp(&pr->row.version, &win->row.version) > 0)
                    win = pr;
            }
            free(next_cursor);
            next_cursor = strdup(key);
            if (!next_cursor) {
                rc = MG_ENOMEM;
                break;
            }
            if (!win->row.tombstone) {
                rc = fn(ctx, win->rkey, &win->row);
                if (!rc && limit && ++emitted >= limit)
                    rc = 1; /* done: not an error */
            }
            for (size_t i = 0; i < rs.n; i++)
                if (use[i] && pos[i] < pages[i].n && !strcmp(pages[i].rows[pos[i]].rkey, key))
                    pos[i]++;
        }
        int last = !bound;
        for (size_t i = 0; i < rs.n; i++)
            page_release(&pages[i]);
        if (rc || last || !next_cursor) {
            free(next_cursor);
            break;
        }
        free(cursor);
        cursor = next_cursor;
    }
    free(cursor);
    if (rc == 1 && limit && emitted >= limit)
        rc = 0;
    return rc;
}

int coord_changes_since(struct cluster *c, const char *pkey, uint64_t since, int complete,
                        dht_row_fn fn, void *ctx)
{
    struct replica_set rs;
    int use[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    int only_self;
    if (!pkey || !fn)
        return MG_EINVAL;
    int rc = choose_sources(c, pkey, &rs, use, &only_self);
    if (rc)
        return rc;
    if (only_self && complete)
        return dht_local_changes_complete(c->d, pkey, since, fn, ctx);
    if (only_self)
        return dht_local_changes_since(c->d, pkey, since, fn, ctx);
    struct page pages[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    memset(pages, 0, sizeof(pages));
    rc = fetch_pages(c, &rs, use, pkey, NULL, 1, since, pages);
    for (size_t i = 0; !rc && complete && i < rs.n; i++)
        if (use[i] && pages[i].purged)
            rc = MG_ECONFLICT;
    struct prow **all = NULL;
    size_t n = 0, total = 0;
    for (size_t i = 0; i < rs.n; i++)
        total += pages[i].n;
    if (!rc && total) {
        all = calloc(total, sizeof(*all));
        if (!all)
            rc = MG_ENOMEM;
    }
    /* Newest version per row key, then in version order. */
    for (size_t i = 0; !rc && i < rs.n; i++) {
        for (size_t k = 0; k < pages[i].n; k++) {
            struct prow *pr = &pages[i].rows[k];
            size_t j;
            for (j = 0; j < n; j++)
                if (strcmp(all[j]->rkey, pr->rkey) == 0)
                    break;
            if (j == n)
                all[n++] = pr;
            else if (dht_version_cmp(&pr->row.version, &all[j]->row.version) > 0)
                all[j] = pr;
        }
    }
    if (!rc && n)
        qsort(all, n, sizeof(*all), prow_cmp_version);
    for (size_t j = 0; !rc && j < n; j++)
        rc = fn(ctx, all[j]->rkey, &all[j]->row);
    free(all);
    for (size_t i = 0; i < rs.n; i++)
        page_release(&pages[i]);
    return rc;
}

/* ---- read repair queue ------------------------------------------------------- */

struct repair_item {
    uint64_t target;
    char *pkey;
    char *rkey;
    struct dht_row row;
};

struct repair_queue {
    pthread_mutex_t lock;
    struct repair_item *items;
    size_t n;
};

int repair_queue_new(struct repair_queue **out)
{
    struct repair_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return MG_ENOMEM;
    q->items = calloc(COORD_REPAIR_MAX, sizeof(*q->items));
    if (!q->items) {
        free(q);
        return MG_ENOMEM;
    }
    pthread_mutex_init(&q->lock, NULL);
    *out = q;
    return 0;
}

static void item_release(struct repair_item *it)
{
    free(it->pkey);
    free(it->rkey);
    dht_row_release(&it->row);
}

void repair_queue_free(struct repair_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        item_release(&q->items[i]);
    pthread_mutex_destroy(&q->lock);
    free(q->items);
    free(q);
}

void repair_enqueue(struct cluster *c, uint64_t target, const char *pkey, const char *rkey,
                    const struct dht_row *row)
{
    struct repair_queue *q = c->repairs;
    if (!q)
        return;
    struct repair_item it;
    memset(&it, 0, sizeof(it));
    it.target = target;
    it.pkey = strdup(pkey);
    it.rkey = strdup(rkey);
    if (!it.pkey || !it.rkey || copy_row(&it.row, row)) {
        item_release(&it);
        return;
    }
    pthread_mutex_lock(&q->lock);
    /* A full queue drops the repair: anti-entropy will find the difference. */
    if (q->n < COORD_REPAIR_MAX) {
        q->items[q->n++] = it;
        it.pkey = it.rkey = NULL;
        it.row.value = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    item_release(&it);
    cluster_wake(c);
}

void repair_drain(struct cluster *c)
{
    struct repair_queue *q = c->repairs;
    for (;;) {
        struct repair_item it;
        pthread_mutex_lock(&q->lock);
        if (!q->n) {
            pthread_mutex_unlock(&q->lock);
            return;
        }
        it = q->items[--q->n];
        pthread_mutex_unlock(&q->lock);
        if (it.target == c->self_id) {
            dht_engine_apply(c->d, it.pkey, it.rkey, &it.row, NULL);
        } else {
            char addr[CLUSTER_ADDR_MAX];
            enum member_state st;
            struct buf p;
            buf_init(&p);
            if (cluster_member_addr(c, it.target, addr, &st) == 0 && st != MEMBER_DEAD &&
                !wire_u32(&p, 1) && !wire_str(&p, it.pkey) && !wire_str(&p, it.rkey) &&
                !wire_row(&p, &it.row))
                peer_call(c, addr, PEER_APPLY, p.data, p.len, NULL, c->params.timeout_ms);
            buf_release(&p);
        }
        item_release(&it);
    }
}
