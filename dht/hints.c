/*
 * hints.c - hinted handoff (Dynamo 4.6): a write that a replica did not
 * acknowledge is kept in this node's own store, in the node-local partition
 * "~hints/<target node id>", and replayed once the target answers again.
 *
 * Keeping hints in the store (not in memory) means a coordinator restart
 * loses none, and the CLI, which coordinates writes in its own process,
 * leaves its hints where the running node of the same data directory finds
 * them. A hint's row key is the write's version, so hints replay in write
 * order and a repeated hint for the same write overwrites itself.
 * Value: pkey, rkey, row (wire.h encoding).
 *
 * Replay runs on the maintenance thread, in batches that the target stores
 * in a few transactions (dht_engine_apply_batch), for as long as the target
 * acknowledges them and the caller's time budget lasts. A target that fails
 * a batch is retried with a growing back-off, reset as soon as the failure
 * detector sees it come back (a new incarnation). A hint for a node that no
 * longer owns the partition (the ring changed since the write, or the node
 * left) is not given to it, where it would only wait for a handoff: it is
 * re-coordinated to the partition's current owners.
 */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "engine.h"
#include "wire.h"

#define HINT_PREFIX "~hints/"
#define HINT_RKEY_MAX 48
#define HINT_BATCH_ROWS 512
#define HINT_BATCH_BYTES (1u << 20)
#define HINT_BACKOFF_MIN_MS 500
#define HINT_BACKOFF_MAX_MS 8000

static void hint_pkey(uint64_t target, char out[32])
{
    snprintf(out, 32, HINT_PREFIX "%016llx", (unsigned long long)target);
}

int hint_store(struct cluster *c, uint64_t target, const char *pkey, const char *rkey,
               const struct dht_row *row)
{
    char hp[32], hr[HINT_RKEY_MAX];
    struct buf v;
    hint_pkey(target, hp);
    /* The row's version plus a hash of the key: unique per write and target. */
    snprintf(hr, sizeof(hr), "%016llx%016llx%08x", (unsigned long long)row->version.hlc,
             (unsigned long long)row->version.node,
             (unsigned)(ring_key_token(pkey) ^ ring_key_token(rkey)));
    buf_init(&v);
    int rc = wire_str(&v, pkey);
    if (!rc)
        rc = wire_str(&v, rkey);
    if (!rc)
        rc = wire_row(&v, row);
    if (!rc)
        rc = dht_local_put(c->d, hp, hr, v.data, v.len, NULL, NULL, NULL);
    buf_release(&v);
    if (rc)
        log_err("cannot keep hint target=%016llx pkey=%s err=%s", (unsigned long long)target, pkey,
                mg_strerror(rc));
    else
        log_debug("hint kept target=%016llx pkey=%s", (unsigned long long)target, pkey);
    return rc;
}

/* One batch of a target's hints, copied out of the store (no network call
 * runs while a store reader is held). */
struct batch {
    struct cluster *c;
    uint64_t target;
    struct buf payload; /* APPLY body for the rows the target still owns */
    uint32_t count;     /* rows in payload */
    size_t bytes;
    size_t n; /* hints in this batch, sent or rerouted */
    char (*keys)[HINT_RKEY_MAX];
    struct dht_version *versions;
    struct buf moved; /* hint values whose partition the target no longer owns */
    uint32_t nmoved;
    char last[HINT_RKEY_MAX];
    int err;
};

/* 1 when target is in the preference list of pkey (this node's view). */
static int owns(struct cluster *c, uint64_t target, const char *pkey)
{
    struct replica_set rs;
    if (cluster_replicas(c, pkey, 0, &rs))
        return 1; /* no ring: keep the hint for its target */
    for (size_t k = 0; k < rs.npref; k++)
        if (rs.r_[k].id == target)
            return 1;
    return 0;
}

static int collect(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct batch *b = ctx;
    if (b->n >= HINT_BATCH_ROWS || (b->n && b->bytes + row->value_len > HINT_BATCH_BYTES))
        return 1;
    if (strlen(rkey) >= HINT_RKEY_MAX)
        return 0;
    struct wire_reader r;
    char pkey[DHT_KEY_MAX + 1], hkey[DHT_KEY_MAX + 1];
    struct dht_row hinted;
    wire_reader_init(&r, row->value, row->value_len);
    wire_get_str(&r, pkey, sizeof(pkey));
    wire_get_str(&r, hkey, sizeof(hkey));
    wire_get_row(&r, &hinted);
    int rc = 0;
    if (wire_end(&r)) {
        /* Unreadable (cannot happen unless the store was damaged): it would
         * fail every batch it is in, so it is dropped with the batch. */
        log_warn("dropping an unreadable hint target=%016llx key=%s",
                 (unsigned long long)b->target, rkey);
    } else if (!owns(b->c, b->target, pkey)) {
        rc = wire_bytes(&b->moved, row->value, row->value_len);
        b->nmoved++;
    } else {
        /* The stored value is already pkey, rkey, row: exactly an APPLY entry. */
        rc = wire_raw(&b->payload, row->value, row->value_len);
        b->count++;
    }
    if (rc)
        return MG_ENOMEM;
    snprintf(b->keys[b->n], HINT_RKEY_MAX, "%s", rkey);
    b->versions[b->n] = row->version;
    b->n++;
    b->bytes += row->value_len;
    snprintf(b->last, sizeof(b->last), "%s", rkey);
    return 0;
}

/* Re-coordinates the moved hints of a batch to the current owners of their
 * partitions. Returns 0 when every one reached a write quorum. */
static int reroute(struct cluster *c, const struct batch *b)
{
    struct wire_reader r;
    int rc = 0;
    wire_reader_init(&r, b->moved.data, b->moved.len);
    for (uint32_t i = 0; i < b->nmoved && !rc; i++) {
        const void *v;
        size_t vlen;
        wire_get_bytes(&r, &v, &vlen);
        if (r.err)
            return MG_EINVAL;
        struct wire_reader e;
        char pkey[DHT_KEY_MAX + 1], rkey[DHT_KEY_MAX + 1];
        struct dht_row row;
        wire_reader_init(&e, v, vlen);
        wire_get_str(&e, pkey, sizeof(pkey));
        wire_get_str(&e, rkey, sizeof(rkey));
        wire_get_row(&e, &row);
        if (wire_end(&e))
            continue; /* unreadable: nothing to deliver */
        rc = coord_replicate(c, pkey, rkey, &row);
    }
    return rc;
}

/* Sends one batch of target's hints after `after` (NULL: from the start).
 * Returns the number of hints delivered (and purged), sets *more when the
 * backlog has more, and returns -1 when the target did not take the batch. */
static long replay_batch(struct cluster *c, uint64_t target, const char *addr, char *after,
                         int *more)
{
    char hp[32];
    struct batch b;
    long delivered = -1;
    hint_pkey(target, hp);
    memset(&b, 0, sizeof(b));
    b.c = c;
    b.target = target;
    buf_init(&b.payload);
    buf_init(&b.moved);
    b.keys = calloc(HINT_BATCH_ROWS, sizeof(*b.keys));
    b.versions = calloc(HINT_BATCH_ROWS, sizeof(*b.versions));
    *more = 0;
    if (!b.keys || !b.versions || wire_u32(&b.payload, 0))
        goto out;
    int rc = dht_local_scan(c->d, hp, after[0] ? after : NULL, 0, collect, &b);
    if (rc < 0)
        goto out;
    if (b.n == 0) {
        delivered = 0;
        goto out;
    }
    for (int i = 0; i < 4; i++)
        b.payload.data[i] = (char)(b.count >> (24 - 8 * i));
    int st = 200;
    if (b.count)
        st = peer_call(c, addr, PEER_APPLY, b.payload.data, b.payload.len, NULL,
                       cluster_bulk_timeout(c));
    if (st != 200) {
        log_debug("hint replay failed target=%016llx status=%d", (unsigned long long)target, st);
        goto out;
    }
    if (b.nmoved && reroute(c, &b))
        goto out;
    char **keys = malloc(b.n * sizeof(*keys));
    if (!keys)
        goto out;
    for (size_t i = 0; i < b.n; i++)
        keys[i] = b.keys[i];
    dht_local_purge_many(c->d, hp, keys, b.versions, b.n);
    free(keys);
    delivered = (long)b.n;
    *more = rc != 0; /* the scan stopped at a full batch */
    snprintf(after, HINT_RKEY_MAX, "%s", b.last);
out:
    buf_release(&b.payload);
    buf_release(&b.moved);
    free(b.keys);
    free(b.versions);
    return delivered;
}

/* The back-off entry of target, made when missing. Maintenance thread only. */
static struct hint_backoff *backoff_of(struct cluster *c, uint64_t target)
{
    struct hint_backoff *free_slot = NULL;
    for (size_t i = 0; i < CLUSTER_MAX_MEMBERS; i++) {
        if (c->hint_backoff[i].id == target)
            return &c->hint_backoff[i];
        if (!c->hint_backoff[i].id && !free_slot)
            free_slot = &c->hint_backoff[i];
    }
    if (free_slot) {
        memset(free_slot, 0, sizeof(*free_slot));
        free_slot->id = target;
    }
    return free_slot;
}

size_t hint_replay(struct cluster *c, uint64_t budget_ms, int *more)
{
    uint64_t ids[CLUSTER_MAX_MEMBERS];
    uint64_t since[CLUSTER_MAX_MEMBERS];
    char addrs[CLUSTER_MAX_MEMBERS][CLUSTER_ADDR_MAX];
    size_t n = 0, sent = 0;
    uint64_t start = mg_mono_ms();
    *more = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++) {
        const struct member *m = &c->members[i];
        /* A member that left owns nothing any more: its hints all go to
         * the current owners (reroute), without asking it. */
        if (m->id == c->self_id || (m->state != MEMBER_ALIVE && m->state != MEMBER_LEFT))
            continue;
        ids[n] = m->id;
        since[n] = m->state_ms;
        snprintf(addrs[n], CLUSTER_ADDR_MAX, "%s", m->addr);
        n++;
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n && !atomic_load(&c->stop); i++) {
        struct hint_backoff *bo = backoff_of(c, ids[i]);
        uint64_t now = mg_mono_ms();
        /* A member that changed state since its last failure (it restarted,
         * refuted a suspicion) is tried at once. */
        if (bo && bo->fails && bo->state_ms == since[i] && now < bo->next_ms)
            continue;
        char after[HINT_RKEY_MAX] = "";
        size_t k = 0;
        int again = 1;
        while (again && !atomic_load(&c->stop)) {
            long got = replay_batch(c, ids[i], addrs[i], after, &again);
            if (got < 0) {
                if (bo) {
                    uint64_t wait = HINT_BACKOFF_MIN_MS << (bo->fails < 4 ? bo->fails : 4);
                    bo->fails++;
                    bo->state_ms = since[i];
                    bo->next_ms = mg_mono_ms() +
                                  (wait < HINT_BACKOFF_MAX_MS ? wait : HINT_BACKOFF_MAX_MS);
                }
                break;
            }
            if (bo)
                bo->fails = 0;
            k += (size_t)got;
            if (again && mg_mono_ms() >= start + budget_ms) {
                *more = 1; /* the rest on the next call */
                break;
            }
        }
        if (k)
            log_info("hints replayed target=%016llx rows=%zu", (unsigned long long)ids[i], k);
        sent += k;
    }
    atomic_fetch_add(&c->hints_replayed, sent);
    return sent;
}

static int count_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    (void)rkey;
    (void)row;
    (*(size_t *)ctx)++;
    return 0;
}

size_t hint_backlog(struct cluster *c, uint64_t target)
{
    char hp[32];
    size_t n = 0;
    hint_pkey(target, hp);
    dht_local_scan(c->d, hp, NULL, 0, count_row, &n);
    return n;
}
