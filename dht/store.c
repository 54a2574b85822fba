/*
 * store.c - the public read/write API: the local engine for a cluster of
 * one, the coordinator (coord.c) for a clustered store. Keeping the choice
 * in one place is what lets DAV and REST code stay unaware of replication.
 */
#include <string.h>

#include <sodium.h>

#include "cluster.h"
#include "engine.h"
#include "meshgate/dht.h"

int dht_get(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out)
{
    struct cluster *c = dht_engine_cluster(d);
    return c ? coord_get(c, pkey, rkey, out) : dht_local_get(d, pkey, rkey, out);
}

int dht_engine_put_hashed(struct dht *d, const char *pkey, const char *rkey, const void *value,
                          size_t len, const uint8_t hash[DHT_HASH_LEN], const struct dht_cond *cond,
                          struct dht_version *out_version)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return dht_local_put_hashed(d, pkey, rkey, value, len, hash, cond, out_version);
    return coord_put(c, pkey, rkey, value, len, hash, cond, out_version);
}

int dht_put(struct dht *d, const char *pkey, const char *rkey, const void *value, size_t len,
            const struct dht_cond *cond, struct dht_version *out_version,
            uint8_t out_hash[DHT_HASH_LEN])
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return dht_local_put(d, pkey, rkey, value, len, cond, out_version, out_hash);
    uint8_t hash[DHT_HASH_LEN];
    if (len > DHT_VALUE_MAX)
        return MG_ETOOBIG;
    if (!value && len)
        return MG_EINVAL;
    crypto_generichash(hash, sizeof(hash), value, len, NULL, 0);
    int rc = coord_put(c, pkey, rkey, value, len, hash, cond, out_version);
    if (!rc && out_hash)
        memcpy(out_hash, hash, DHT_HASH_LEN);
    return rc;
}

int dht_delete(struct dht *d, const char *pkey, const char *rkey, const struct dht_cond *cond)
{
    struct cluster *c = dht_engine_cluster(d);
    return c ? coord_delete(c, pkey, rkey, cond) : dht_local_delete(d, pkey, rkey, cond);
}

int dht_scan(struct dht *d, const char *pkey, const char *after, size_t limit, dht_row_fn fn,
             void *ctx)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return dht_local_scan(d, pkey, after, limit, fn, ctx);
    return coord_scan(c, pkey, after, limit, fn, ctx);
}

int dht_changes_since(struct dht *d, const char *pkey, uint64_t since_hlc, dht_row_fn fn, void *ctx)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return dht_local_changes_since(d, pkey, since_hlc, fn, ctx);
    return coord_changes_since(c, pkey, since_hlc, 0, fn, ctx);
}

int dht_changes_since_complete(struct dht *d, const char *pkey, uint64_t since_hlc, dht_row_fn fn,
                               void *ctx)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return dht_local_changes_complete(d, pkey, since_hlc, fn, ctx);
    return coord_changes_since(c, pkey, since_hlc, 1, fn, ctx);
}

int dht_partition_hlc(struct dht *d, const char *pkey, uint64_t *out)
{
    struct cluster *c = dht_engine_cluster(d);
    return c ? coord_partition_hlc(c, pkey, out) : dht_local_partition_hlc(d, pkey, out);
}

int dht_get_replica(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out)
{
    return dht_engine_get_any(d, pkey, rkey, out);
}

int dht_scan_replica(struct dht *d, const char *pkey, const char *after, size_t limit,
                     dht_row_fn fn, void *ctx)
{
    return dht_local_scan(d, pkey, after, limit, fn, ctx);
}

int dht_is_clustered(const struct dht *d)
{
    return dht_engine_cluster(d) != NULL;
}
