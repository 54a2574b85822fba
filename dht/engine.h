/*
 * engine.h - private entry points of the local SQLite engine, for the blob
 * code and the (future) replication layer. Nothing outside dht/ uses these.
 */
#ifndef MESHGATE_DHT_ENGINE_H
#define MESHGATE_DHT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/dht.h"

struct hlc;

/* The store's hybrid logical clock (borrowed, valid until dht_close). The
 * peer protocol merges received timestamps into it with hlc_update(). */
struct hlc *dht_engine_clock(struct dht *d);

/* Like dht_put, but with the value's BLAKE2b-256 already computed by the
 * caller (the blob writer hashes each chunk to name it). hash must be the
 * hash of value; it is trusted. Replicated like dht_put when clustered. */
int dht_engine_put_hashed(struct dht *d, const char *pkey, const char *rkey, const void *value,
                          size_t len, const uint8_t hash[DHT_HASH_LEN], const struct dht_cond *cond,
                          struct dht_version *out_version);

/* Stores a row received from a replica with its own version, only if that
 * version is newer than the stored one (last writer wins by (hlc, node)).
 * row->tombstone rows must have an empty value; other rows must carry the
 * hash of their value (checked). *applied (may be NULL) is set to 1 when the
 * row was written, 0 when the stored version was newer or equal. Returns 0,
 * MG_EINVAL for an inconsistent row, MG_ETOOBIG, or MG_EIO. */
int dht_engine_apply(struct dht *d, const char *pkey, const char *rkey, const struct dht_row *row,
                     int *applied);

/* One row of a batch for dht_engine_apply_batch. Keys and row are borrowed.
 *
 * A conditional write carries its base: the version its coordinator read
 * and checked (DESIGN.md, "Conditional writes"; {0, 0} when it read none).
 * A replica that meets two writes of one row where one did not see the
 * other keeps the loser's bytes as a conflict copy (dht_conflict_keys),
 * the same row on every replica that makes it: when the incoming row wins
 * over a stored live row newer than its base, the stored row is copied;
 * when it loses to a stored row whose own base is older than it, it is.
 * Rows without a base (plain replication, hints, repairs, anti-entropy)
 * are only ordered by version. */
struct dht_apply_item {
    const char *pkey;
    const char *rkey;
    struct dht_row row;
    int has_base;
    struct dht_version base;
    int applied; /* set: 1 when the row was written */
};

/* Applies rows like dht_engine_apply, many per transaction: a replica that
 * takes a batch of hints, a handoff or an anti-entropy push pays one commit
 * per few hundred rows, not one per row. Every row is checked first: an
 * inconsistent one (MG_EINVAL, MG_ETOOBIG) fails the batch with nothing
 * written. Returns 0 or an mg_err code (MG_EIO: rows before the failing
 * transaction stay written, their `applied` set). */
int dht_engine_apply_batch(struct dht *d, struct dht_apply_item *items, size_t n);

/* Reads one row like dht_get, but returns tombstones too (tombstone set,
 * value empty). Returns 0 or MG_ENOTFOUND when no row exists at all. */
int dht_engine_get_any(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out);

/* ---- the local engine behind the public API --------------------------------
 * When the store is clustered, dht_get() and friends coordinate replicas
 * (dht/coord.c); these always act on this node's own copy only. Same
 * contracts as the public functions of the same name. */
int dht_local_get(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out);
int dht_local_put(struct dht *d, const char *pkey, const char *rkey, const void *value, size_t len,
                  const struct dht_cond *cond, struct dht_version *out_version,
                  uint8_t out_hash[DHT_HASH_LEN]);
int dht_local_put_hashed(struct dht *d, const char *pkey, const char *rkey, const void *value,
                         size_t len, const uint8_t hash[DHT_HASH_LEN], const struct dht_cond *cond,
                         struct dht_version *out_version);
int dht_local_delete(struct dht *d, const char *pkey, const char *rkey,
                     const struct dht_cond *cond);
int dht_local_scan(struct dht *d, const char *pkey, const char *after, size_t limit, dht_row_fn fn,
                   void *ctx);
int dht_local_changes_since(struct dht *d, const char *pkey, uint64_t since_hlc, dht_row_fn fn,
                            void *ctx);
int dht_local_partition_hlc(struct dht *d, const char *pkey, uint64_t *out);

/* Returned by dht_local_scan_any when it stopped at live_limit with rows left. */
#define DHT_SCAN_MORE 1

/* Visits the rows of a partition in row-key order, tombstones included,
 * after `after` (exclusive; NULL = from the start), until live_limit live
 * rows were visited (0 = no limit). Returns 0 at the end of the partition,
 * DHT_SCAN_MORE when rows remain, fn's non-zero value, or an mg_err code. */
int dht_local_scan_any(struct dht *d, const char *pkey, const char *after, size_t live_limit,
                       dht_row_fn fn, void *ctx);

/* Called with each row's version, without its value. */
typedef int (*dht_meta_fn)(void *ctx, const char *pkey, const char *rkey,
                           const struct dht_version *v, int tombstone,
                           const uint8_t hash[DHT_HASH_LEN]);

/* Visits the versions of every row of one partition (pkey) or, with pkey
 * NULL, of the whole store, in (pkey, rkey) order. Returns 0, fn's non-zero
 * value, or an mg_err code. */
int dht_local_meta(struct dht *d, const char *pkey, dht_meta_fn fn, void *ctx);

/* Removes a row for good (no tombstone) if its version is still v: for
 * delivered hints and purged tombstones. Returns 0 (also when the row has
 * changed or is gone) or MG_EIO. */
int dht_local_purge(struct dht *d, const char *pkey, const char *rkey, const struct dht_version *v);

/* dht_local_purge for n rows of one partition, many per transaction.
 * Returns 0 or MG_EIO / MG_EINVAL. */
int dht_local_purge_many(struct dht *d, const char *pkey, char *const *rkeys,
                         const struct dht_version *versions, size_t n);

/* ---- tombstone purge (DESIGN.md, "Deletes") --------------------------------
 * A tombstone older than the grace period (dht_options.tombstone_grace_ms)
 * may be removed once every replica of its partition holds it: at once in
 * a cluster of one, after anti-entropy confirmed every co-replica in a
 * cluster (antientropy.c). Each partition remembers the highest purged
 * version, its purge floor: a row at or below it for a key this replica
 * does not hold is a copy from before the purge (a deleted row coming back
 * from a stale replica, or the purged tombstone itself) and is dropped when
 * applied; sync tokens below it cannot list every deletion any more. */

/* The hlc below which tombstones are old enough to purge (0: none yet). */
uint64_t dht_engine_purge_horizon(struct dht *d);
/* A count that grows after every write to the store (commits and
 * rollbacks alike): equal values before a scan and later mean nothing
 * changed since the scan began (anti-entropy reuses its digests then). */
uint64_t dht_engine_changes(struct dht *d);

/* The purge floor of pkey in *out (0 when nothing was purged). Returns 0 or
 * an mg_err code. */
int dht_local_purge_floor(struct dht *d, const char *pkey, uint64_t *out);

/* Removes the tombstones rkeys[i] of pkey that still have version
 * versions[i] (live rows and newer versions stay), and raises the
 * partition's purge floor to the highest one removed. *purged (may be NULL)
 * receives the count. Returns 0 or an mg_err code. */
int dht_local_purge_tombstones(struct dht *d, const char *pkey, char *const *rkeys,
                               const struct dht_version *versions, size_t n, size_t *purged);

/* Forgets the purge floor of pkey: for a partition this node handed off
 * and dropped, whose rows it no longer all holds (should it own the
 * partition again, the floor would drop rows it never saw purged).
 * Returns 0 or an mg_err code. */
int dht_local_forget_floor(struct dht *d, const char *pkey);

/* A cluster of one: purges every tombstone below the horizon (nothing to
 * wait for). *purged (may be NULL) receives the count. Returns 0 or an
 * mg_err code. */
int dht_local_purge_expired(struct dht *d, size_t *purged);

/* Like dht_local_changes_since, but MG_ECONFLICT (nothing visited) when the
 * partition's purge floor is above since_hlc (dht_changes_since_complete). */
int dht_local_changes_complete(struct dht *d, const char *pkey, uint64_t since_hlc, dht_row_fn fn,
                               void *ctx);

/* What the engine did on its own, since it was opened. */
struct dht_engine_stats {
    uint64_t tombstones_purged;
    uint64_t stale_rows_dropped; /* at or below a purge floor, for an absent key */
    uint64_t conflict_copies;
};
void dht_engine_stats(struct dht *d, struct dht_engine_stats *out);

/* The cluster layer of a store, NULL for a cluster of one. */
struct cluster *dht_engine_cluster(const struct dht *d);
/* The data directory (borrowed, valid until dht_close). */
const char *dht_engine_data_dir(const struct dht *d);

#endif
