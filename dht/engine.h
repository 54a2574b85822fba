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
 * hash of value; it is trusted. */
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

/* Reads one row like dht_get, but returns tombstones too (tombstone set,
 * value empty). Returns 0 or MG_ENOTFOUND when no row exists at all. */
int dht_engine_get_any(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out);

#endif
