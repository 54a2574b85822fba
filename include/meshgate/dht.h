/*
 * dht.h - the replicated store: partitions of rows, versions, tombstones,
 * content-addressed blobs.
 *
 * A partition key (e.g. "coll/alice/files/docs") decides where data lives; a
 * row key orders rows inside the partition. Every row carries its value bytes,
 * a version (hybrid logical clock + writer node id, a total order), a tombstone
 * flag and a BLAKE2b-256 hash of the value.
 *
 * This API is what DAV and REST code use. Today it is served by the local
 * SQLite engine (a cluster of one); the cluster layer keeps the same API.
 * Nothing here knows about HTTP, DAV or accounts.
 *
 * Thread safety: every function may be called from any thread concurrently.
 */
#ifndef MESHGATE_DHT_H
#define MESHGATE_DHT_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/common.h"

#define DHT_HASH_LEN 32
#define DHT_KEY_MAX 1024            /* bytes in a partition or row key */
#define DHT_VALUE_MAX (4u << 20)    /* bytes in one row value */
#define DHT_CHUNK_SIZE (1u << 20)   /* bytes in one blob chunk */
#define DHT_INLINE_MAX (16u << 10)  /* files up to this size live in their manifest */
/* How long a tombstone is kept at least (dht_options.tombstone_grace_ms). */
#define DHT_TOMBSTONE_GRACE_DEFAULT_MS (UINT64_C(7) * 24 * 3600 * 1000)
/* In a cluster, writes through two coordinators may become visible out of
 * version order by up to this much: the HLC's tolerated drift (60 s), the
 * peer write timeout and a margin. A reader that resumes from a version
 * (a sync token) looks back this far. */
#define DHT_CLUSTER_REORDER_MS 65000u

struct dht;

/* A version: hybrid logical clock timestamp (48 bits ms, 16 bits counter)
 * and the writer's node id. Versions are totally ordered by (hlc, node). */
struct dht_version {
    uint64_t hlc;
    uint64_t node;
};

/* Returns <0, 0, >0 as a is older than, equal to, newer than b. */
int dht_version_cmp(const struct dht_version *a, const struct dht_version *b);

/* One row as read from the store. value is owned by the row:
 * release with dht_row_release(). */
struct dht_row {
    struct dht_version version;
    int tombstone;
    uint8_t hash[DHT_HASH_LEN]; /* BLAKE2b-256 of value; all zero for tombstones */
    void *value;
    size_t value_len;
};

void dht_row_release(struct dht_row *row);

struct dht_options {
    const char *data_dir; /* created if missing; holds store.db and node.key */
    int readers;          /* SQLite reader connections (0 = default 8) */

    /* Cluster (all optional). A data directory without cluster state
     * (cluster.json) opened without join_token is a cluster of one: no
     * network, replication clamped to 1, exactly the local engine. */
    const char *listen_addr;    /* "host:port" of this node's HTTP server. Set by
                                 * `serve`: the store becomes a full member (gossip
                                 * on UDP, same port; repair threads). NULL: a
                                 * client of the cluster (the CLI), which
                                 * coordinates its own requests only. */
    const char *advertise_addr; /* address other nodes use (default listen_addr) */
    const char *zone;           /* failure zone of this node (rack, house); may be NULL */
    const char *join_addr;      /* "host:port" of a member to join through */
    const char *join_token;     /* from `meshgate cluster init`: cluster key (+ address) */
    int discover;               /* a member beacons on, and listens to, a LAN multicast
                                 * group; a fresh node without a seed joins through the
                                 * first member it hears (dht/discovery.h) */
    const char *discovery_group; /* "a.b.c.d:port" (IPv4 multicast); NULL: 239.255.77.77:7477 */
    uint64_t tombstone_grace_ms; /* keep tombstones at least this long (0 = default);
                                  * set the same on every node of a cluster. A
                                  * cluster of one purges only when listen_addr
                                  * is set (the serving process) */
};

/* Opens (creating if needed) the store in opts->data_dir, and joins or
 * rejoins its cluster when it has one (see struct dht_options).
 * Returns 0 and a handle in *out, or an mg_err code. */
int dht_open(const struct dht_options *opts, struct dht **out);
/* Flushes and closes the store. NULL-safe. */
void dht_close(struct dht *d);

/* This node's 64-bit id (derived from its public key). */
uint64_t dht_node_id(const struct dht *d);
/* Ticks the hybrid logical clock and returns the new timestamp. */
uint64_t dht_clock_now(struct dht *d);
/* Milliseconds since the epoch encoded in an HLC timestamp. */
uint64_t dht_hlc_ms(uint64_t hlc);

/* Reads one row. Returns 0 and fills *out (caller releases), MG_ENOTFOUND when
 * the row does not exist or is a tombstone, or another mg_err code. */
int dht_get(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out);

/* Preconditions for conditional writes (RFC 7232 If-Match / If-None-Match: *). */
enum dht_cond_kind {
    DHT_COND_NONE = 0, /* unconditional */
    DHT_COND_ABSENT,   /* the row must not exist (or be a tombstone) */
    DHT_COND_PRESENT,  /* the row must exist */
    DHT_COND_MATCH     /* the row must exist with this value hash */
};
struct dht_cond {
    enum dht_cond_kind kind;
    uint8_t hash[DHT_HASH_LEN];
};

/* Writes a row with a fresh version. cond may be NULL (unconditional).
 * Returns 0 (and the new version/hash in out_version/out_hash when not NULL),
 * MG_EPRECOND when cond failed, MG_ETOOBIG for an oversized key or value,
 * or another mg_err code. */
int dht_put(struct dht *d, const char *pkey, const char *rkey, const void *value, size_t len,
            const struct dht_cond *cond, struct dht_version *out_version,
            uint8_t out_hash[DHT_HASH_LEN]);

/* Deletes a row by writing a tombstone. Returns 0, MG_ENOTFOUND when the row
 * did not exist, MG_EPRECOND when cond failed, or another mg_err code. */
int dht_delete(struct dht *d, const char *pkey, const char *rkey, const struct dht_cond *cond);

/* Called once per row by scans, in row-key order (dht_scan) or version order
 * (dht_changes_since). The row and its value are valid only during the call.
 * Return 0 to continue, non-zero to stop the scan (the scan then returns that value). */
typedef int (*dht_row_fn)(void *ctx, const char *rkey, const struct dht_row *row);

/* Visits the live rows of a partition in row-key order, starting after
 * `after` (exclusive; NULL or "" starts at the beginning, but note that the
 * row "" itself is only visited when after is NULL), at most `limit` rows
 * (0 = no limit). Returns 0, the callback's non-zero value, or an mg_err code. */
int dht_scan(struct dht *d, const char *pkey, const char *after, size_t limit, dht_row_fn fn,
             void *ctx);

/* Visits every row of a partition, tombstones included, whose version hlc is
 * greater than since_hlc, in version order. Used for sync tokens. */
int dht_changes_since(struct dht *d, const char *pkey, uint64_t since_hlc, dht_row_fn fn,
                      void *ctx);

/* Like dht_changes_since, for a reader that must learn every deletion (RFC
 * 6578 sync tokens): returns MG_ECONFLICT, visiting nothing, when tombstones
 * newer than since_hlc may have been purged (the partition's purge floor is
 * above it). The reader then starts over from a full listing. */
int dht_changes_since_complete(struct dht *d, const char *pkey, uint64_t since_hlc,
                               dht_row_fn fn, void *ctx);

/* Highest version hlc of any row (tombstones included) in a partition, 0 when empty,
 * and never below its purge floor (in a cluster, the floor plus
 * DHT_CLUSTER_REORDER_MS), so that it does not go back when tombstones are
 * purged and a token taken from it can resume with dht_changes_since_complete.
 * Used for collection ctags and sync tokens. */
int dht_partition_hlc(struct dht *d, const char *pkey, uint64_t *out);

/* ---- conflict copies ----------------------------------------------------- */

/* Two conditional writes of one row racing through two coordinators can
 * both pass their check; the version that loses (last writer wins) is kept
 * as a conflict copy rather than dropped (DESIGN.md, "Conditional writes"):
 * in partition DHT_CONFLICT_PREFIX + pkey (placed on the same nodes as pkey,
 * and never listed with it), row "<rkey>.sync-conflict-<UTC date>-<time>-
 * <writer node>-<hlc>", with the loser's value, hash and version. */
#define DHT_CONFLICT_PREFIX "conflict/"

/* The keys of the conflict copy of (pkey, rkey) at version v, appended to
 * cpkey and crkey (a long rkey is shortened to fit DHT_KEY_MAX). Returns 0,
 * MG_ETOOBIG when pkey is too long for a prefix, or MG_ENOMEM. */
int dht_conflict_keys(const char *pkey, const char *rkey, const struct dht_version *v,
                      struct buf *cpkey, struct buf *crkey);

/* ---- content-addressed blobs (large files) ------------------------------ */

/* A file's manifest: its size, the BLAKE2b-256 of its whole content (its
 * strong ETag), and either the content inline (size <= DHT_INLINE_MAX) or the
 * list of chunk hashes, each chunk DHT_CHUNK_SIZE bytes but the last.
 * Chunks live in partitions "blob/<hex hash>", row "", stored once however
 * many files share them. */
struct dht_manifest {
    uint64_t size;
    uint8_t content_hash[DHT_HASH_LEN];
    void *inline_data; /* owned; NULL when chunked */
    size_t nchunks;
    uint8_t (*chunks)[DHT_HASH_LEN]; /* owned */
};

void dht_manifest_init(struct dht_manifest *m);
void dht_manifest_release(struct dht_manifest *m);
/* Appends a compact binary encoding of m to out. */
int dht_manifest_encode(const struct dht_manifest *m, struct buf *out);
/* Decodes an encoding made by dht_manifest_encode; returns 0 or MG_EINVAL. */
int dht_manifest_decode(const void *data, size_t len, struct dht_manifest *out);

/* Streams content into chunks. Memory stays bounded by one chunk. */
struct dht_blob_writer;

/* max_size: reject (MG_ETOOBIG from write) beyond this many bytes; 0 = no limit. */
int dht_blob_writer_new(struct dht *d, uint64_t max_size, struct dht_blob_writer **out);
int dht_blob_write(struct dht_blob_writer *w, const void *data, size_t len);
/* Stores the last chunk and fills *out (caller releases). The writer stays
 * owned by the caller: free it with dht_blob_writer_free() afterwards. */
int dht_blob_finish(struct dht_blob_writer *w, struct dht_manifest *out);
/* Frees the writer. Chunks already stored stay (they are content-addressed). NULL-safe. */
void dht_blob_writer_free(struct dht_blob_writer *w);

/* Copies up to len bytes of the content starting at offset into buf;
 * *got receives the count (0 at end). Reads at most one chunk from the store. */
int dht_blob_read(struct dht *d, const struct dht_manifest *m, uint64_t offset, void *buf,
                  size_t len, size_t *got);

/* ---- cluster ------------------------------------------------------------ */

/* Replication settings for dht_cluster_init (0 = default). */
struct dht_cluster_params {
    int replicas;     /* N, default 3 */
    int write_quorum; /* W, default 2 */
    int read_quorum;  /* R, default 2 */
    int gossip_ms;    /* SWIM protocol period, default 1000 */
    int suspect_ms;   /* least time a member stays suspected, default 5 * gossip_ms */
    int ae_ms;        /* anti-entropy interval, default 30000 */
    int timeout_ms;   /* peer request timeout, default 3000 */
};

/* Creates cluster state (a fresh 32-byte cluster key, the parameters) in
 * data_dir, which must not have any yet (MG_EEXIST). advertise (may be NULL)
 * is put into the join token as the address to join through. *token receives
 * a malloc'd join token. Returns 0 or an mg_err code. */
int dht_cluster_init(const char *data_dir, const struct dht_cluster_params *params,
                     const char *advertise, char **token);
/* The join token of the cluster d belongs to (malloc'd), MG_ENOTFOUND when
 * it is not clustered. */
int dht_cluster_token(struct dht *d, const char *advertise, char **token);
/* 1 when d is a member or client of a cluster, 0 for a cluster of one. */
int dht_is_clustered(const struct dht *d);

/* The operator's view as JSON: this node, the parameters, and each member
 * with state, zone, address, ring ownership, hint backlog, last anti-entropy
 * round, and the estimated network size. A client (the CLI) asks the running
 * node of its data directory and falls back to the saved member list.
 * Appends to out. Returns 0 or an mg_err code. */
int dht_cluster_status(struct dht *d, struct buf *out);

/* Graceful leave (a running member is asked through the peer protocol):
 * the node hands its data to the new owners and is removed from the ring. */
int dht_cluster_leave(struct dht *d);
/* Removes member node_id (dead for good) from the ring; its data is
 * re-replicated from the remaining replicas. */
int dht_cluster_remove(struct dht *d, uint64_t node_id);
/* Sends a sealed ping to addr and returns the HTTP status of the answer
 * (200, 401 refused, 0 no answer). save (may be NULL) receives the sealed
 * request bytes; clock_offset_ms shifts the sender clock (diagnostics: an
 * operator checks that a far-future clock is refused). */
int dht_cluster_ping(struct dht *d, const char *addr, int64_t clock_offset_ms, struct buf *save);

/* Reads this node's own replica of a row, tombstones included (tombstone
 * set), without asking any other node. Returns 0 or MG_ENOTFOUND. */
int dht_get_replica(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out);
/* Visits this node's own live rows of a partition (like dht_scan, local). */
int dht_scan_replica(struct dht *d, const char *pkey, const char *after, size_t limit,
                     dht_row_fn fn, void *ctx);
/* Calls fn(ctx, pkey, digest_hex, rows) for every partition this node holds
 * (node-local bookkeeping excluded), in pkey order. Replicas holding the
 * same versions of a partition print the same digest. */
int dht_replica_digests(struct dht *d,
                        int (*fn)(void *ctx, const char *pkey, const char *digest_hex,
                                  uint32_t rows),
                        void *ctx);

/* Answers one peer protocol request: path is the request path under
 * "/.mesh/v1/", body the sealed request. Appends the sealed reply to reply.
 * Returns the HTTP status: 200, 400 malformed or unknown version, 401 not
 * sealed with the cluster key / replayed / clock out of bounds (logged),
 * 404 unknown message, 503 when d is not a serving cluster member. */
int dht_peer_handle(struct dht *d, const char *path, const void *body, size_t len,
                    struct buf *reply);

#endif
