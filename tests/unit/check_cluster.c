/* check_cluster.c - unit tests of the replication layer's pure parts: ring
 * placement, sealed messages and replay refusal, the wire codec, hint
 * persistence, membership precedence (SWIM), quorum clamping, and the
 * admission checks of dht_peer_handle. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../../dht/cluster.h"
#include "../../dht/engine.h"
#include "../../dht/hlc.h"
#include "../../dht/ring.h"
#include "../../dht/seal.h"
#include "../../dht/wire.h"
#include "meshgate/common.h"
#include "meshgate/dht.h"
#include "test_tmpdir.h"

static char tmp_root[64];
static char data_dir[128];

static void setup(void)
{
    log_set_level(MG_LOG_ERR);
    ck_assert_int_ge(sodium_init(), 0);
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/check_cluster.XXXXXX");
    ck_assert_msg(mkdtemp(tmp_root) != NULL, "mkdtemp failed");
    snprintf(data_dir, sizeof(data_dir), "%s/node", tmp_root);
}

static void teardown(void)
{
    test_tmpdir_remove(tmp_root);
}

/* ---- ring -------------------------------------------------------------------- */

static void build(struct ring *r, size_t n, const char *const *zones)
{
    uint64_t ids[16];
    for (size_t i = 0; i < n; i++)
        ids[i] = 0x1000 + i * 7919;
    ring_init(r);
    ck_assert_int_eq(ring_build(r, ids, zones, n, RING_VNODES), 0);
}

START_TEST(test_ring_preference)
{
    struct ring r;
    uint32_t pref[8];
    build(&r, 5, NULL);
    char key[32];
    for (int k = 0; k < 500; k++) {
        snprintf(key, sizeof(key), "coll/u%d/files", k);
        size_t got = ring_preference(&r, ring_key_token(key), 3, pref);
        ck_assert_uint_eq(got, 3);
        ck_assert_msg(pref[0] != pref[1] && pref[1] != pref[2] && pref[0] != pref[2],
                      "preference list of %s repeats a node", key);
        /* Deterministic: the same key, the same list. */
        uint32_t again[8];
        ring_preference(&r, ring_key_token(key), 3, again);
        ck_assert_mem_eq(pref, again, 3 * sizeof(uint32_t));
    }
    /* Asking for more than there are members gives every member once. */
    ck_assert_uint_eq(ring_preference(&r, 42, 8, pref), 5);
    double share[5];
    double sum = 0;
    ring_ownership(&r, 3, share);
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(share[i] > 0.35 && share[i] < 0.85, "node %d owns %.2f of the ring", i,
                      share[i]);
        sum += share[i];
    }
    ck_assert_msg(sum > 2.99 && sum < 3.01, "ownership adds up to %.3f, not 3", sum);
    ring_release(&r);
}
END_TEST

START_TEST(test_ring_minimal_movement)
{
    /* Adding a sixth node moves only about 1/6 of the primary replicas, and
     * only to the new node (consistent hashing's point). */
    struct ring a, b;
    build(&a, 5, NULL);
    build(&b, 6, NULL);
    int moved = 0, moved_elsewhere = 0;
    char key[32];
    for (int k = 0; k < 3000; k++) {
        snprintf(key, sizeof(key), "p%d", k);
        uint32_t pa, pb;
        ring_preference(&a, ring_key_token(key), 1, &pa);
        ring_preference(&b, ring_key_token(key), 1, &pb);
        if (a.ids[pa] != b.ids[pb]) {
            moved++;
            moved_elsewhere += pb != 5;
        }
    }
    ck_assert_msg(moved > 300 && moved < 800, "%d of 3000 keys moved", moved);
    ck_assert_int_eq(moved_elsewhere, 0);
    ring_release(&a);
    ring_release(&b);
}
END_TEST

START_TEST(test_ring_zones)
{
    /* Six nodes in three zones, two each: every list of three spans all zones. */
    const char *zones[] = {"a", "a", "b", "b", "c", "c"};
    struct ring r;
    build(&r, 6, zones);
    char key[32];
    for (int k = 0; k < 500; k++) {
        uint32_t pref[3];
        snprintf(key, sizeof(key), "k%d", k);
        ck_assert_uint_eq(ring_preference(&r, ring_key_token(key), 3, pref), 3);
        ck_assert_msg(strcmp(r.zones[pref[0]], r.zones[pref[1]]) &&
                          strcmp(r.zones[pref[1]], r.zones[pref[2]]) &&
                          strcmp(r.zones[pref[0]], r.zones[pref[2]]),
                      "replicas of %s share a zone", key);
    }
    ring_release(&r);
}
END_TEST

/* ---- sealing ------------------------------------------------------------------ */

START_TEST(test_seal_roundtrip_and_tamper)
{
    uint8_t ck[32], key[SEAL_KEY_LEN], other[SEAL_KEY_LEN], nonce[SEAL_NONCE_LEN];
    randombytes_buf(ck, sizeof(ck));
    seal_derive_key(ck, key);
    ck[0] ^= 1;
    seal_derive_key(ck, other);
    struct buf msg, out;
    struct seal_header h;
    buf_init(&msg);
    buf_init(&out);
    ck_assert_int_eq(seal_message(key, PEER_GET, 0x1234, 99, NULL, 0, "hello", 5, &msg, nonce), 0);
    ck_assert_uint_eq(msg.len, SEAL_OVERHEAD + 5);
    ck_assert_int_eq(seal_open(key, msg.data, msg.len, NULL, 0, &h, &out), 0);
    ck_assert_uint_eq(out.len, 5);
    ck_assert_mem_eq(out.data, "hello", 5);
    ck_assert_uint_eq(h.sender, 0x1234);
    ck_assert_uint_eq(h.hlc, 99);
    ck_assert_int_eq(h.type, PEER_GET);
    ck_assert_mem_eq(h.nonce, nonce, SEAL_NONCE_LEN);
    /* Another cluster's key. */
    buf_reset(&out);
    ck_assert_int_eq(seal_open(other, msg.data, msg.len, NULL, 0, &h, &out), MG_EDENIED);
    /* Every single flipped bit, header or ciphertext, is caught. */
    for (size_t i = 4; i < msg.len; i += 3) {
        msg.data[i] ^= 0x10;
        ck_assert_int_eq(seal_open(key, msg.data, msg.len, NULL, 0, &h, &out), MG_EDENIED);
        msg.data[i] ^= 0x10;
    }
    /* A reply bound to a request nonce does not open with another. */
    struct buf reply;
    buf_init(&reply);
    uint8_t other_nonce[SEAL_NONCE_LEN] = {1};
    ck_assert_int_eq(seal_message(key, PEER_GET | PEER_REPLY_BIT, 7, 1, nonce, sizeof(nonce), "x",
                                  1, &reply, NULL),
                     0);
    ck_assert_int_eq(seal_open(key, reply.data, reply.len, nonce, sizeof(nonce), &h, &out), 0);
    ck_assert_int_eq(
        seal_open(key, reply.data, reply.len, other_nonce, sizeof(other_nonce), &h, &out),
        MG_EDENIED);
    /* Unknown version and truncation are malformed, not "bad key". */
    msg.data[2] = SEAL_VERSION + 1;
    ck_assert_int_eq(seal_open(key, msg.data, msg.len, NULL, 0, &h, &out), MG_EINVAL);
    ck_assert_int_eq(h.version, SEAL_VERSION + 1);
    ck_assert_int_eq(seal_open(key, msg.data, 10, NULL, 0, &h, &out), MG_EINVAL);
    buf_release(&msg);
    buf_release(&out);
    buf_release(&reply);
}
END_TEST

START_TEST(test_replay_window)
{
    struct replay_window *w = replay_new(64, 60000);
    ck_assert_ptr_nonnull(w);
    uint64_t now = 10000000;
    uint8_t n[SEAL_NONCE_LEN];
    randombytes_buf(n, sizeof(n));
    ck_assert_int_eq(replay_check(w, n, now, now), 0);
    ck_assert_int_eq(replay_check(w, n, now, now), MG_EEXIST);
    ck_assert_int_eq(replay_check(w, n, now + 5, now + 10), MG_EEXIST);
    /* Older than the window: refused even with a fresh nonce. */
    n[0] ^= 1;
    ck_assert_int_eq(replay_check(w, n, now - 60001, now), MG_EINVAL);
    /* Fill far beyond capacity: every nonce still remembered is refused,
     * and a message older than the forgotten ones cannot slip through. */
    uint8_t seen[200][SEAL_NONCE_LEN];
    for (int i = 0; i < 200; i++) {
        randombytes_buf(seen[i], SEAL_NONCE_LEN);
        ck_assert_int_eq(replay_check(w, seen[i], now + (uint64_t)i, now + (uint64_t)i), 0);
    }
    for (int i = 140; i < 200; i++)
        ck_assert_int_eq(replay_check(w, seen[i], now + (uint64_t)i, now + 200), MG_EEXIST);
    /* seen[0] was forgotten early: its timestamp is at or below the floor. */
    ck_assert_int_eq(replay_check(w, seen[0], now, now + 200), MG_EINVAL);
    replay_free(w);
}
END_TEST

START_TEST(test_wire)
{
    struct buf b;
    buf_init(&b);
    struct dht_row row = {.version = {77, 88}, .tombstone = 0, .value = "abc", .value_len = 3};
    crypto_generichash(row.hash, DHT_HASH_LEN, (const unsigned char *)"abc", 3, NULL, 0);
    ck_assert_int_eq(wire_u32(&b, 0xdeadbeef), 0);
    ck_assert_int_eq(wire_str(&b, "pkey"), 0);
    ck_assert_int_eq(wire_row(&b, &row), 0);
    struct wire_reader r;
    char s[16];
    struct dht_row got;
    wire_reader_init(&r, b.data, b.len);
    ck_assert_uint_eq(wire_get_u32(&r), 0xdeadbeef);
    wire_get_str(&r, s, sizeof(s));
    ck_assert_str_eq(s, "pkey");
    wire_get_row(&r, &got);
    ck_assert_int_eq(wire_end(&r), 0);
    ck_assert_uint_eq(got.version.hlc, 77);
    ck_assert_uint_eq(got.value_len, 3);
    ck_assert_mem_eq(got.value, "abc", 3);
    /* Every truncation is an error, never a read past the end. */
    for (size_t cut = 0; cut < b.len; cut++) {
        wire_reader_init(&r, b.data, cut);
        wire_get_u32(&r);
        wire_get_str(&r, s, sizeof(s));
        wire_get_row(&r, &got);
        ck_assert_int_ne(wire_end(&r), 0);
    }
    /* A string longer than the caller's buffer is refused. */
    wire_reader_init(&r, b.data + 4, b.len - 4);
    wire_get_str(&r, s, 3);
    ck_assert_int_ne(r.err, 0);
    buf_release(&b);
}
END_TEST

/* ---- a client-mode cluster (no network) for the stateful parts --------------- */

static struct dht *open_clustered(int n, int w, int r)
{
    struct dht_cluster_params p = {.replicas = n, .write_quorum = w, .read_quorum = r};
    char *token = NULL;
    ck_assert_int_eq(dht_cluster_init(data_dir, &p, "127.0.0.9:1", &token), 0);
    ck_assert_ptr_nonnull(token);
    ck_assert_int_eq(strncmp(token, "mgc1.", 5), 0);
    free(token);
    struct dht_options o = {.data_dir = data_dir, .readers = 2};
    struct dht *d = NULL;
    ck_assert_int_eq(dht_open(&o, &d), 0);
    ck_assert(dht_is_clustered(d));
    return d;
}

START_TEST(test_cluster_state_file)
{
    struct dht *d = open_clustered(3, 2, 2);
    struct stat st;
    char path[256];
    snprintf(path, sizeof(path), "%s/cluster.json", data_dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0); /* the cluster key is a secret */
    /* init refuses a directory that already has a cluster */
    char *token = NULL;
    ck_assert_int_eq(dht_cluster_init(data_dir, NULL, NULL, &token), MG_EEXIST);
    /* W > N is refused */
    char other[256];
    snprintf(other, sizeof(other), "%s/other", tmp_root);
    struct dht_cluster_params bad = {.replicas = 2, .write_quorum = 3};
    ck_assert_int_eq(dht_cluster_init(other, &bad, NULL, &token), MG_EINVAL);
    dht_close(d);
}
END_TEST

START_TEST(test_membership_precedence)
{
    struct dht *d = open_clustered(3, 2, 2);
    struct cluster *c = dht_engine_cluster(d);
    const uint64_t x = 0xabc;
    struct replica_set rs;
    /* One member (ourselves): N=3 clamps to 1, and so do W and R. */
    ck_assert_int_eq(cluster_replicas(c, "p", 0, &rs), 0);
    ck_assert_uint_eq(rs.npref, 1);
    ck_assert_int_eq(rs.w, 1);
    ck_assert_int_eq(rs.r, 1);

    ck_assert_int_eq(cluster_apply_update(c, x, "127.0.0.9:2", "", 1, MEMBER_ALIVE), 1);
    ck_assert_int_eq(cluster_replicas(c, "p", 0, &rs), 0);
    ck_assert_uint_eq(rs.npref, 2);
    ck_assert_int_eq(rs.w, 2);
    /* SWIM 4.2: suspect(i) beats alive(i); alive(i) does not beat suspect(i);
     * alive(i+1) does; dead(i) beats suspect(i); only a higher incarnation
     * brings a dead member back; left is final. */
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 1, MEMBER_SUSPECT), 1);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 1, MEMBER_ALIVE), 0);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 0, MEMBER_DEAD), 0);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 2, MEMBER_ALIVE), 1);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 2, MEMBER_DEAD), 1);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 2, MEMBER_ALIVE), 0);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 2, MEMBER_SUSPECT), 0);
    /* Dead members stay in the ring (their writes are hinted, not moved). */
    ck_assert_int_eq(cluster_replicas(c, "p", 0, &rs), 0);
    ck_assert_uint_eq(rs.npref, 2);
    ck_assert_int_eq(cluster_apply_update(c, x, "127.0.0.9:2", "", 3, MEMBER_ALIVE), 1);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 3, MEMBER_LEFT), 1);
    ck_assert_int_eq(cluster_apply_update(c, x, "127.0.0.9:2", "", 9, MEMBER_ALIVE), 0);
    ck_assert_int_eq(cluster_replicas(c, "p", 0, &rs), 0);
    ck_assert_uint_eq(rs.npref, 1);

    /* A suspicion about ourselves is refuted with a higher incarnation. */
    uint32_t before = c->incarnation;
    ck_assert_int_eq(cluster_apply_update(c, c->self_id, NULL, NULL, before, MEMBER_SUSPECT), 1);
    ck_assert_uint_gt(c->incarnation, before);
    ck_assert_int_eq(cluster_apply_update(c, c->self_id, NULL, NULL, 0, MEMBER_DEAD), 0);
    dht_close(d);
}
END_TEST

START_TEST(test_left_is_final)
{
    struct dht *d = open_clustered(3, 2, 2);
    struct cluster *c = dht_engine_cluster(d);
    const uint64_t x = 0xabc, y = 0xdef;
    ck_assert_int_eq(cluster_apply_update(c, x, "127.0.0.9:2", "", 5, MEMBER_ALIVE), 1);
    /* A removal computed by a node that missed the member's last
     * refutations (a lower incarnation) still takes it out of the ring. */
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 2, MEMBER_LEFT), 1);
    ck_assert_int_eq(cluster_apply_update(c, x, "127.0.0.9:2", "", 9, MEMBER_ALIVE), 0);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 9, MEMBER_SUSPECT), 0);
    struct replica_set rs;
    ck_assert_int_eq(cluster_replicas(c, "p", 0, &rs), 0);
    ck_assert_uint_eq(rs.npref, 1);
    /* Lifeguard: a suspicion is confirmed once per member that reports it,
     * however often the same news is gossiped again. */
    ck_assert_int_eq(cluster_apply_update(c, y, "127.0.0.9:3", "", 1, MEMBER_ALIVE), 1);
    const uint64_t a = 0x111, b = 0x222;
    ck_assert_int_eq(cluster_apply_update(c, a, "127.0.0.9:4", "", 1, MEMBER_ALIVE), 1);
    ck_assert_int_eq(cluster_apply_update(c, b, "127.0.0.9:5", "", 1, MEMBER_ALIVE), 1);
    ck_assert_int_eq(cluster_apply_update_from(c, a, y, NULL, NULL, 1, MEMBER_SUSPECT), 1);
    for (int i = 0; i < 5; i++)
        cluster_apply_update_from(c, a, y, NULL, NULL, 1, MEMBER_SUSPECT);
    int conf = -1;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++)
        if (c->members[i].id == y)
            conf = c->members[i].confirmations;
    pthread_mutex_unlock(&c->lock);
    ck_assert_int_eq(conf, 0); /* the accuser itself is no confirmation */
    cluster_apply_update_from(c, b, y, NULL, NULL, 1, MEMBER_SUSPECT);
    cluster_apply_update_from(c, b, y, NULL, NULL, 1, MEMBER_SUSPECT);
    cluster_apply_update_from(c, y, y, NULL, NULL, 1, MEMBER_SUSPECT); /* not about itself */
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++)
        if (c->members[i].id == y)
            conf = c->members[i].confirmations;
    pthread_mutex_unlock(&c->lock);
    ck_assert_int_eq(conf, 1);
    dht_close(d);
}
END_TEST

START_TEST(test_apply_batch)
{
    struct dht *d = open_clustered(3, 2, 2);
    struct dht_apply_item it[3];
    memset(it, 0, sizeof(it));
    const char *vals[3] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        it[i].pkey = "coll/a";
        it[i].rkey = i == 2 ? "r0" : (i ? "r1" : "r0");
        it[i].row.version.hlc = 100 + (uint64_t)i;
        it[i].row.version.node = 7;
        it[i].row.value = (void *)vals[i];
        it[i].row.value_len = strlen(vals[i]);
        crypto_generichash(it[i].row.hash, DHT_HASH_LEN, (const unsigned char *)vals[i],
                           strlen(vals[i]), NULL, 0);
    }
    /* r0 twice: the newer version (item 2) wins, in one batch. */
    ck_assert_int_eq(dht_engine_apply_batch(d, it, 3), 0);
    ck_assert_int_eq(it[0].applied + it[1].applied + it[2].applied, 3);
    struct dht_row row;
    ck_assert_int_eq(dht_get_replica(d, "coll/a", "r0", &row), 0);
    ck_assert_uint_eq(row.value_len, 5);
    dht_row_release(&row);
    /* Again: nothing newer, nothing written. */
    ck_assert_int_eq(dht_engine_apply_batch(d, it, 3), 0);
    ck_assert_int_eq(it[0].applied + it[1].applied + it[2].applied, 0);
    /* One row whose hash does not match its value fails the whole batch
     * before anything is written. */
    it[0].rkey = "r9";
    it[0].row.version.hlc = 500;
    it[1].row.version.hlc = 501;
    it[1].row.hash[0] ^= 1;
    ck_assert_int_eq(dht_engine_apply_batch(d, it, 2), MG_EINVAL);
    ck_assert_int_eq(dht_get_replica(d, "coll/a", "r9", &row), MG_ENOTFOUND);
    dht_close(d);
}
END_TEST

START_TEST(test_hints_of_a_left_member_reach_the_owners)
{
    struct dht *d = open_clustered(3, 2, 2);
    struct cluster *c = dht_engine_cluster(d);
    const uint64_t x = 0xabc;
    struct dht_row row = {.version = {dht_clock_now(d), x}, .value = "v", .value_len = 1};
    crypto_generichash(row.hash, DHT_HASH_LEN, (const unsigned char *)"v", 1, NULL, 0);
    ck_assert_int_eq(cluster_apply_update(c, x, "127.0.0.9:2", "", 1, MEMBER_ALIVE), 1);
    ck_assert_int_eq(hint_store(c, x, "coll/h", "r1", &row), 0);
    /* x is removed: its hints are not sent to it (nobody would answer)
     * but re-coordinated to the partition's owners, here this node only. */
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 2, MEMBER_LEFT), 1);
    int more = 0;
    ck_assert_uint_eq(hint_replay(c, 1000, &more), 1);
    ck_assert_int_eq(more, 0);
    ck_assert_uint_eq(hint_backlog(c, x), 0);
    struct dht_row got;
    ck_assert_int_eq(dht_get_replica(d, "coll/h", "r1", &got), 0);
    ck_assert_uint_eq(got.version.hlc, row.version.hlc);
    dht_row_release(&got);
    dht_close(d);
}
END_TEST

START_TEST(test_hint_persistence)
{
    struct dht *d = open_clustered(3, 2, 2);
    struct cluster *c = dht_engine_cluster(d);
    struct dht_row row = {.version = {1000, 5}, .value = "v", .value_len = 1};
    crypto_generichash(row.hash, DHT_HASH_LEN, (const unsigned char *)"v", 1, NULL, 0);
    ck_assert_int_eq(hint_store(c, 0x77, "coll/a", "r1", &row), 0);
    row.version.hlc++;
    ck_assert_int_eq(hint_store(c, 0x77, "coll/a", "r2", &row), 0);
    ck_assert_int_eq(hint_store(c, 0x78, "coll/b", "r1", &row), 0);
    /* The same write hinted twice is one hint. */
    ck_assert_int_eq(hint_store(c, 0x78, "coll/b", "r1", &row), 0);
    ck_assert_uint_eq(hint_backlog(c, 0x77), 2);
    ck_assert_uint_eq(hint_backlog(c, 0x78), 1);
    dht_close(d);
    /* Hints live in the store: a restart keeps them. */
    struct dht_options o = {.data_dir = data_dir, .readers = 2};
    ck_assert_int_eq(dht_open(&o, &d), 0);
    c = dht_engine_cluster(d);
    ck_assert_uint_eq(hint_backlog(c, 0x77), 2);
    /* Node-local bookkeeping is not data: no partition digest lists it. */
    ck_assert_int_eq(dht_replica_digests(d, NULL, NULL), 0);
    dht_close(d);
}
END_TEST

START_TEST(test_single_node_unchanged)
{
    /* No cluster state: the store is the local engine, writes need no peer. */
    struct dht_options o = {.data_dir = data_dir, .readers = 2};
    struct dht *d = NULL;
    ck_assert_int_eq(dht_open(&o, &d), 0);
    ck_assert(!dht_is_clustered(d));
    ck_assert_int_eq(dht_put(d, "p", "r", "v", 1, NULL, NULL, NULL), 0);
    struct dht_row row;
    ck_assert_int_eq(dht_get(d, "p", "r", &row), 0);
    dht_row_release(&row);
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(dht_cluster_status(d, &b), MG_ENOTFOUND);
    ck_assert_int_eq(dht_peer_handle(d, "/.mesh/v1/ping", "x", 1, &b), 503);
    buf_release(&b);
    dht_close(d);
}
END_TEST

START_TEST(test_peer_admission)
{
    struct dht *d = open_clustered(3, 2, 2);
    struct cluster *c = dht_engine_cluster(d);
    c->serving = 1; /* answer as a member would, without starting the network */
    struct buf msg, reply;
    buf_init(&msg);
    buf_init(&reply);
    ck_assert_int_eq(cluster_seal(c, PEER_PING, NULL, 0, NULL, 0, &msg, NULL), 0);
    ck_assert_int_eq(dht_peer_handle(d, "/.mesh/v1/ping", msg.data, msg.len, &reply), 200);
    buf_reset(&reply);
    ck_assert_int_eq(dht_peer_handle(d, "/.mesh/v1/ping", msg.data, msg.len, &reply), 401);
    /* A sealed message to the wrong path is not accepted as another type. */
    buf_reset(&msg);
    buf_reset(&reply);
    ck_assert_int_eq(cluster_seal(c, PEER_PING, NULL, 0, NULL, 0, &msg, NULL), 0);
    ck_assert_int_eq(dht_peer_handle(d, "/.mesh/v1/apply", msg.data, msg.len, &reply), 404);
    /* Far-future clock. */
    uint8_t key[SEAL_KEY_LEN];
    memcpy(key, c->peer_key, SEAL_KEY_LEN);
    uint64_t future = hlc_make(mg_now_ms() + HLC_MAX_DRIFT_MS + 60000, 0);
    buf_reset(&msg);
    buf_reset(&reply);
    ck_assert_int_eq(seal_message(key, PEER_PING, 5, future, NULL, 0, "", 0, &msg, NULL), 0);
    ck_assert_int_eq(dht_peer_handle(d, "/.mesh/v1/ping", msg.data, msg.len, &reply), 401);
    /* The refused message did not move our clock into the future. */
    ck_assert_uint_lt(dht_hlc_ms(dht_clock_now(d)), mg_now_ms() + 1000);
    ck_assert_uint_ge(atomic_load(&c->refused), 2);
    c->serving = 0;
    buf_release(&msg);
    buf_release(&reply);
    dht_close(d);
}
END_TEST

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    struct {
        const char *name;
        const TTest *tests[8];
    } cases[] = {
        {"ring", {test_ring_preference, test_ring_minimal_movement, test_ring_zones}},
        {"seal", {test_seal_roundtrip_and_tamper, test_replay_window, test_wire}},
        {"state",
         {test_cluster_state_file, test_membership_precedence, test_left_is_final,
          test_hint_persistence, test_hints_of_a_left_member_reach_the_owners,
          test_single_node_unchanged, test_peer_admission}},
        {"engine", {test_apply_batch}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        for (size_t k = 0; k < 8 && cases[i].tests[k]; k++)
            tcase_add_test(tc, cases[i].tests[k]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cluster_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
