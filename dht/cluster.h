/*
 * cluster.h - the replication layer's shared state (private to dht/).
 *
 * A store whose data directory holds cluster state (cluster.json) is one
 * member of a masterless cluster: dht_get() and friends are coordinated by
 * dht/coord.c over the preference list of the partition (dht/ring.c), peers
 * talk over sealed messages (dht/seal.c) sent by dht/peer.c and answered by
 * dht/peer_server.c, membership is gossiped by dht/swim.c, missed writes are
 * kept as hints (dht/hints.c) and replicas converge by anti-entropy
 * (dht/antientropy.c). This file names what they share; dht/cluster.c owns
 * the lifecycle and the member table.
 *
 * Locking: c->lock guards the member table and the ring. Nothing blocking
 * (network, store) happens under it: callers copy what they need out.
 */
#ifndef MESHGATE_DHT_CLUSTER_H
#define MESHGATE_DHT_CLUSTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "meshgate/common.h"
#include "meshgate/dht.h"
#include "ring.h"
#include "seal.h"

struct cluster;

#define CLUSTER_MAX_MEMBERS 64
#define CLUSTER_ADDR_MAX 128
#define CLUSTER_MAX_REPLICAS 7
#define CLUSTER_FALLBACK_EXTRA 2 /* nodes past the preference list a read may ask */
#define CLUSTER_STATE_FILE "cluster.json"
/* Partition keys starting with this are node-local bookkeeping (hints):
 * never replicated, never compared by anti-entropy. */
#define CLUSTER_LOCAL_PREFIX '~'

/* Peer message types: the header's type byte. Replies set PEER_REPLY_BIT. */
enum peer_type {
    PEER_PING = 1,
    PEER_JOIN = 2,
    PEER_MEMBERS = 3,
    PEER_GET = 4,
    PEER_APPLY = 5,
    PEER_SCAN = 6,
    PEER_CHANGES = 7,
    PEER_DIGEST = 8,
    PEER_AE_BUCKETS = 9,
    PEER_AE_SYNC = 10,
    PEER_STATUS = 11,
    PEER_REMOVE = 12,
    PEER_LEAVE = 13,
    PEER_APPLY_BASED = 14, /* APPLY whose entries each end with their base version */
    PEER_HTTP_MAX = 14,
    /* gossip over UDP */
    SWIM_PING = 0x40,
    SWIM_ACK = 0x41,
    SWIM_PING_REQ = 0x42,
    /* LAN discovery over multicast (discovery.c) */
    DISCO_BEACON = 0x48,
    DISCO_SOLICIT = 0x49,
    PEER_REPLY_BIT = 0x80
};

/* PEER_APPLY_BASED: bytes of the base (hlc, node) after each entry's row. */
#define PEER_BASE_LEN 16
/* First byte of a SCAN/CHANGES answer. PURGED (CHANGES): the replica purged
 * tombstones newer than the `since` asked (its purge floor is above it);
 * coordinators from before it ignore the bit. */
#define PEER_PAGE_MORE 0x01
#define PEER_PAGE_PURGED 0x02

/* The name of an HTTP peer message type in /.mesh/v1/<name>, or NULL. */
const char *peer_type_name(int type);

enum member_state { MEMBER_ALIVE = 0, MEMBER_SUSPECT, MEMBER_DEAD, MEMBER_LEFT };

const char *member_state_name(enum member_state s);

struct member {
    uint64_t id;
    char addr[CLUSTER_ADDR_MAX]; /* host:port of its HTTP server; gossip on the same port */
    char zone[RING_ZONE_MAX];
    uint32_t incarnation;
    enum member_state state;
    uint64_t state_ms;          /* monotonic ms of the last state change (SUSPECT: the
                                 * suspicion timer's start, moved on by swim.c while
                                 * this node itself was stalled) */
    int confirmations;          /* SUSPECT: other members that suspect it too (Lifeguard) */
    uint64_t confirmers;        /* SUSPECT: those members, one bit per members[] index */
    struct sockaddr_storage sa; /* resolved gossip address (family 0: not yet) */
    socklen_t salen;
};

/* One replica of a partition as the coordinator sees it. */
struct replica {
    uint64_t id;
    char addr[CLUSTER_ADDR_MAX];
    enum member_state state;
    int self;
};

struct replica_set {
    size_t n;     /* entries in r: the preference list, then fallback nodes */
    size_t npref; /* the first npref entries are the preference list */
    int w, r;     /* quorums clamped to npref */
    struct replica r_[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
};

/* Tunables, kept in cluster.json and handed to joining nodes. */
struct cluster_params {
    int n, w, r;
    int gossip_ms;  /* SWIM protocol period */
    int suspect_ms; /* minimum suspicion time before a member is declared dead */
    int ae_ms;      /* anti-entropy round interval */
    int timeout_ms; /* peer request timeout */
};

struct swim;
struct peer_pool;
struct repair_queue;

/* Hint replay back-off per target (hints.c; maintenance thread only). */
struct hint_backoff {
    uint64_t id;       /* 0: free */
    uint64_t state_ms; /* the member's state_ms at the last failure */
    uint64_t next_ms;  /* no retry before (unless its state changed) */
    unsigned fails;
};

struct cluster {
    struct dht *d;
    uint64_t self_id;
    int serving; /* a full member (gossip, background work); 0: a client (the CLI) */
    char self_addr[CLUSTER_ADDR_MAX];
    char self_zone[RING_ZONE_MAX];
    /* Peer requests leave from this address (numeric; "" = the kernel's
     * choice): a member's listen address, the CLI's node's address, so that
     * a multi-homed host talks to its peers from the address they know it
     * by, as its gossip socket does (peer.c, bind_source). source_unusable:
     * binding it failed (not an address of this host), requests go unbound. */
    char source_ip[CLUSTER_ADDR_MAX];
    atomic_int source_unusable;
    char *state_path;
    uint8_t *cluster_key; /* 32 bytes, sodium_malloc */
    uint8_t *peer_key;    /* SEAL_KEY_LEN, sodium_malloc */
    struct cluster_params params;

    pthread_mutex_t lock; /* members, nmembers, ring, incarnation, dirty */
    struct member members[CLUSTER_MAX_MEMBERS];
    size_t nmembers;
    struct ring ring;
    size_t ring_index[CLUSTER_MAX_MEMBERS]; /* ring member i -> members[] index */
    atomic_uint_fast64_t ring_version;      /* bumped whenever ring membership changes */
    uint32_t incarnation;                   /* ours */
    int dirty;                              /* member table changed since last save */

    struct replay_window *replay;
    struct peer_pool *pool;
    struct swim *swim;
    struct disco *disco; /* LAN discovery (discovery.h); NULL when off */
    struct repair_queue *repairs;

    pthread_t maint; /* membership push-pull, hints, read repairs, state file */
    int maint_started;
    pthread_t ae; /* anti-entropy rounds and handoffs, which may take long */
    struct ae_cache *ae_cache; /* antientropy.c */
    int ae_started;
    struct hint_backoff hint_backoff[CLUSTER_MAX_MEMBERS];
    atomic_int ready; /* the HTTP server answers: gossip and join may start */
    atomic_int hints_wanted; /* a member came (back) to life: replay hints now */
    int fresh;        /* first start: still to announce ourselves to seed */
    char seed[CLUSTER_ADDR_MAX];
    atomic_int stop;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;

    /* operator's view */
    atomic_uint_fast64_t last_ae_ms; /* wall ms of the last completed anti-entropy round */
    atomic_uint_fast64_t ae_rounds;
    atomic_uint_fast64_t ae_scans; /* full scans of the store (the rest came from ae_cache) */
    atomic_uint_fast64_t ae_rows; /* rows copied by anti-entropy */
    atomic_uint_fast64_t hints_replayed;
    atomic_uint_fast64_t refused;      /* peer messages refused */
    atomic_uint_fast64_t handoff_rows; /* rows streamed to new owners */
};

/* ---- cluster.c -------------------------------------------------------------- */

/* Opens the cluster layer of d from its data directory. *out is NULL (and 0
 * returned) when there is no cluster state and opts asks to join none. */
int cluster_open(struct dht *d, const struct dht_options *opts, struct cluster **out);
/* Stops the background threads and frees. NULL-safe. */
void cluster_close(struct cluster *c);

/* Fills rs with the preference list of pkey (N clamped to the ring) and up
 * to `extra` further distinct members. Returns 0 or MG_EUNAVAIL (empty ring). */
int cluster_replicas(struct cluster *c, const char *pkey, size_t extra, struct replica_set *rs);
/* Copies the address and state of member id. Returns 0 or MG_ENOTFOUND. */
int cluster_member_addr(struct cluster *c, uint64_t id, char addr[CLUSTER_ADDR_MAX],
                        enum member_state *state);

/* Applies a membership update (SWIM precedence rules, SWIM paper 4.2/5).
 * Returns 1 when it changed our view (the caller gossips it on), else 0. */
int cluster_apply_update(struct cluster *c, uint64_t id, const char *addr, const char *zone,
                         uint32_t incarnation, enum member_state state);
/* cluster_apply_update for news that member `from` gave us (0: unknown):
 * a suspicion counts as confirmed once per member that reports it. */
int cluster_apply_update_from(struct cluster *c, uint64_t from, uint64_t id, const char *addr,
                              const char *zone, uint32_t incarnation, enum member_state state);
/* Marks member id with state at its current incarnation (failure detector). */
void cluster_set_state(struct cluster *c, uint64_t id, enum member_state state,
                       uint32_t incarnation);
/* Wakes the background threads (new hints, a member back, ring change). */
void cluster_wake(struct cluster *c);
/* The timeout for background bulk transfers (hint batches, anti-entropy,
 * handoffs): no client waits for them, and giving up on a busy peer only
 * means sending the same batch again later. */
int cluster_bulk_timeout(const struct cluster *c);

/* Checks a sealed message received over HTTP or UDP: envelope, tag, clock
 * drift, replay. Appends the payload to out. via names the transport for the
 * log. Returns 0, MG_EINVAL (malformed/unknown version/clock), MG_EDENIED
 * (bad tag), MG_EEXIST (replayed) — refusals are logged and counted. */
int cluster_admit(struct cluster *c, const void *msg, size_t len, const char *via,
                  struct seal_header *h, struct buf *out);
/* cluster_admit's checks without counting or logging: *why names the
 * refusal. For callers that account for refusals themselves (discovery:
 * another cluster's beacons on the LAN are not an attack on this one). */
int cluster_check(struct cluster *c, const void *msg, size_t len, const char *via,
                  struct seal_header *h, struct buf *out, const char **why);
/* Seals a message from this node with the current clock. */
int cluster_seal(struct cluster *c, uint8_t type, const void *bind, size_t bind_len,
                 const void *payload, size_t len, struct buf *out,
                 uint8_t nonce_out[SEAL_NONCE_LEN]);

/* Joins through the member at addr (PEER_JOIN): it learns this node, this
 * node adopts its member table. Returns 0, MG_EDENIED or MG_EUNAVAIL. */
int cluster_contact(struct cluster *c, const char *addr);
/* Encodes the member table (id, addr, zone, incarnation, state). */
int cluster_encode_members(struct cluster *c, struct buf *out);
/* Persists the member table if it changed. */
void cluster_save_if_dirty(struct cluster *c);

/* ---- peer.c: the client side ------------------------------------------------ */

struct peer_req {
    char addr[CLUSTER_ADDR_MAX];
    uint64_t expect_id; /* the replica's node id, checked in the reply (0: any) */
    uint8_t type;
    const void *payload; /* borrowed until peer_call_all returns */
    size_t len;
    int raw; /* payload is an already sealed message */
    /* results */
    int status;       /* HTTP status; 0: no answer in time, -1: a reply that failed checks */
    struct buf reply; /* the reply's payload (verified); release with buf_release */
};

int peer_pool_new(struct peer_pool **out);
void peer_pool_free(struct peer_pool *p);

/* Sends every request in parallel over kept-alive connections. Returns when
 * all have answered, or once `need` have answered 200 and grace_ms more have
 * passed, or after timeout_ms. Each req gets its status and reply. */
void peer_call_all(struct cluster *c, struct peer_req *reqs, size_t n, size_t need, int timeout_ms,
                   int grace_ms);
/* One request; returns the HTTP status (0: no answer). reply receives the payload. */
int peer_call(struct cluster *c, const char *addr, uint8_t type, const void *payload, size_t len,
              struct buf *reply, int timeout_ms);
void peer_req_release(struct peer_req *reqs, size_t n);
/* Sends an already sealed message; returns the HTTP status (reply unchecked). */
int peer_call_raw(struct cluster *c, const char *addr, uint8_t type, const void *sealed, size_t len,
                  int timeout_ms);

/* ---- peer_server.c ------------------------------------------------------------ */

struct wire_reader;

/* Answers a message from this node to itself, as a peer would (the
 * coordinator treats its own replica like any other). Returns the status. */
int peer_local_answer(struct cluster *c, uint8_t type, const void *payload, size_t len,
                      struct buf *out);
/* Membership messages (cluster.c): join, members, status, ping, remove, leave. */
int cluster_handle(struct cluster *c, const struct seal_header *h, struct wire_reader *r,
                   struct buf *out);

/* Partition digest: BLAKE2b-256 over (rkey, version, tombstone, hash) of every
 * row in rkey order; equal on two replicas iff they hold the same versions. */
int peer_partition_digest(struct dht *d, const char *pkey, uint8_t out[32], uint64_t *max_hlc,
                          uint32_t *rows);

/* ---- coord.c ---------------------------------------------------------------- */

int coord_get(struct cluster *c, const char *pkey, const char *rkey, struct dht_row *out);
int coord_put(struct cluster *c, const char *pkey, const char *rkey, const void *value, size_t len,
              const uint8_t hash[DHT_HASH_LEN], const struct dht_cond *cond,
              struct dht_version *out_version);
int coord_delete(struct cluster *c, const char *pkey, const char *rkey,
                 const struct dht_cond *cond);
int coord_scan(struct cluster *c, const char *pkey, const char *after, size_t limit, dht_row_fn fn,
               void *ctx);
/* complete: MG_ECONFLICT when a replica read purged tombstones newer than
 * since (dht_changes_since_complete). */
int coord_changes_since(struct cluster *c, const char *pkey, uint64_t since, int complete,
                        dht_row_fn fn, void *ctx);
int coord_partition_hlc(struct cluster *c, const char *pkey, uint64_t *out);
/* Writes row (with its own version) to the replicas of pkey: W acks needed,
 * hints kept for the others. Returns 0 or MG_EUNAVAIL. */
int coord_replicate(struct cluster *c, const char *pkey, const char *rkey,
                    const struct dht_row *row);

/* Read repair: queued, sent by the maintenance thread. */
int repair_queue_new(struct repair_queue **out);
void repair_queue_free(struct repair_queue *q);
void repair_enqueue(struct cluster *c, uint64_t target, const char *pkey, const char *rkey,
                    const struct dht_row *row);
void repair_drain(struct cluster *c);

/* ---- hints.c ---------------------------------------------------------------- */

/* Keeps a row that replica `target` did not acknowledge, in this node's store. */
int hint_store(struct cluster *c, uint64_t target, const char *pkey, const char *rkey,
               const struct dht_row *row);
/* Sends the hints of every live member (not backed off after a failure),
 * for about budget_ms; *more is set when hints were left for lack of time.
 * Returns how many were delivered. Maintenance thread only. */
size_t hint_replay(struct cluster *c, uint64_t budget_ms, int *more);
/* Number of hints kept for target. */
size_t hint_backlog(struct cluster *c, uint64_t target);

/* ---- antientropy.c ------------------------------------------------------------ */

struct ae_cache;
/* The digests of the last scan of the store, reused while it is unchanged
 * (a round and every peer's request would otherwise rehash every row). */
int ae_cache_new(struct ae_cache **out);
void ae_cache_free(struct ae_cache *cache);
/* One anti-entropy round with every live co-replica, then hands off
 * partitions this node no longer owns. Returns rows copied. */
size_t ae_round(struct cluster *c);
/* Answers a peer's bucket digests (PEER_AE_BUCKETS). */
int ae_answer_buckets(struct cluster *c, uint64_t from, const void *payload, size_t len,
                      struct buf *reply);
/* Answers a peer's partition versions (PEER_AE_SYNC); 409 when the
 * partition is not shared (or, for a handoff, not ours) in this node's view. */
int ae_answer_sync(struct cluster *c, uint64_t from, const void *payload, size_t len,
                   struct buf *reply);

/* ---- swim.c ----------------------------------------------------------------- */

int swim_start(struct cluster *c, struct swim **out);
void swim_stop(struct swim *s);
/* Queues a membership update to piggy-back on gossip. */
void swim_broadcast(struct swim *s, uint64_t id);
/* Lifeguard's local health multiplier (0 = healthy). */
int swim_health(const struct swim *s);

#endif
