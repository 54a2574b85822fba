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
 */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "engine.h"
#include "wire.h"

#define HINT_PREFIX "~hints/"
#define HINT_BATCH_ROWS 64
#define HINT_BATCH_BYTES (4u << 20)

static void hint_pkey(uint64_t target, char out[32])
{
    snprintf(out, 32, HINT_PREFIX "%016llx", (unsigned long long)target);
}

int hint_store(struct cluster *c, uint64_t target, const char *pkey, const char *rkey,
               const struct dht_row *row)
{
    char hp[32], hr[48];
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

struct batch {
    struct buf payload; /* APPLY body being built */
    uint32_t count;
    char (*keys)[48]; /* hint row keys in this batch */
    struct dht_version *versions;
    size_t bytes;
    char last[48];
};

static int collect(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct batch *b = ctx;
    if (b->count >= HINT_BATCH_ROWS || (b->count && b->bytes + row->value_len > HINT_BATCH_BYTES))
        return 1;
    if (strlen(rkey) >= 48)
        return 0;
    /* The stored value is already pkey, rkey, row: exactly an APPLY entry. */
    if (wire_raw(&b->payload, row->value, row->value_len))
        return MG_ENOMEM;
    snprintf(b->keys[b->count], 48, "%s", rkey);
    b->versions[b->count] = row->version;
    b->count++;
    b->bytes += row->value_len;
    snprintf(b->last, sizeof(b->last), "%s", rkey);
    return 0;
}

/* Sends target's hints in batches while it acknowledges them. */
static size_t replay_one(struct cluster *c, uint64_t target, const char *addr)
{
    char hp[32];
    size_t sent = 0;
    struct batch b;
    hint_pkey(target, hp);
    memset(&b, 0, sizeof(b));
    b.keys = calloc(HINT_BATCH_ROWS, sizeof(*b.keys));
    b.versions = calloc(HINT_BATCH_ROWS, sizeof(*b.versions));
    if (!b.keys || !b.versions)
        goto out;
    for (int round = 0; round < 1000 && !atomic_load(&c->stop); round++) {
        buf_init(&b.payload);
        b.count = 0;
        b.bytes = 0;
        /* Placeholder count, patched below. */
        wire_u32(&b.payload, 0);
        int rc = dht_local_scan(c->d, hp, round ? b.last : NULL, 0, collect, &b);
        if (rc < 0 || b.count == 0) {
            buf_release(&b.payload);
            break;
        }
        for (int i = 0; i < 4; i++)
            b.payload.data[i] = (char)(b.count >> (24 - 8 * i));
        struct buf reply;
        buf_init(&reply);
        int st = peer_call(c, addr, PEER_APPLY, b.payload.data, b.payload.len, &reply,
                           c->params.timeout_ms);
        buf_release(&reply);
        buf_release(&b.payload);
        if (st != 200)
            break;
        for (uint32_t i = 0; i < b.count; i++)
            dht_local_purge(c->d, hp, b.keys[i], &b.versions[i]);
        sent += b.count;
        if (rc == 0)
            break; /* the scan reached the end */
    }
out:
    free(b.keys);
    free(b.versions);
    return sent;
}

size_t hint_replay(struct cluster *c)
{
    uint64_t ids[CLUSTER_MAX_MEMBERS];
    char addrs[CLUSTER_MAX_MEMBERS][CLUSTER_ADDR_MAX];
    size_t n = 0, sent = 0;
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
    for (size_t i = 0; i < n; i++) {
        size_t k = replay_one(c, ids[i], addrs[i]);
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
