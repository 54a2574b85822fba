/*
 * chunk_cache.h - a few recently read blob chunks, shared by all threads of
 * one store (private to dht/).
 *
 * Why: a download streams a file in buffers much smaller than a chunk, and
 * SQLite cannot read part of a value (incremental blob I/O needs rowid
 * tables), so without a cache every small read would load a whole 1 MiB
 * chunk again. Chunks are immutable (content-addressed), so entries never
 * go stale. Memory is bounded by DHT_CHUNK_CACHE_SLOTS chunks.
 */
#ifndef MESHGATE_DHT_CHUNK_CACHE_H
#define MESHGATE_DHT_CHUNK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/dht.h"

#define DHT_CHUNK_CACHE_SLOTS 8

struct dht_chunk_cache;

/* Returns a new, empty cache or NULL on ENOMEM. Free with dht_chunk_cache_free(). */
struct dht_chunk_cache *dht_chunk_cache_new(void);
/* NULL-safe. No entry may be in use. */
void dht_chunk_cache_free(struct dht_chunk_cache *c);

/* Copies up to len bytes at offset of the cached chunk with this hash into
 * buf. Returns 0 and *got (and the chunk's length in *chunk_len), or
 * MG_ENOTFOUND when the chunk is not cached. */
int dht_chunk_cache_read(struct dht_chunk_cache *c, const uint8_t hash[DHT_HASH_LEN], size_t offset,
                         void *buf, size_t len, size_t *got, size_t *chunk_len);

/* Offers a verified chunk to the cache, which takes ownership of data (a
 * malloc'd block of len bytes) in every case: kept, or freed. */
void dht_chunk_cache_put(struct dht_chunk_cache *c, const uint8_t hash[DHT_HASH_LEN], void *data,
                         size_t len);

/* The cache of a store (borrowed, valid until dht_close). Defined in engine.c. */
struct dht_chunk_cache *dht_engine_chunk_cache(struct dht *d);

#endif
