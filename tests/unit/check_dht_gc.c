/* check_dht_gc.c - unit tests of the store's garbage and conflict handling:
 * tombstone purge (grace period, purge floor, sync tokens that can no
 * longer be answered, anti-entropy's confirmation by every owner) and the
 * conflict copies kept when two conditional writes race (engine.h,
 * dht_apply_item). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../dht/cluster.h"
#include "../../dht/engine.h"
#include "../../dht/hlc.h"
#include "../../dht/ring.h"
#include "../../dht/wire.h"
#include "meshgate/common.h"
#include "meshgate/dht.h"
#include "test_tmpdir.h"

#define GRACE_MS 150

static char tmp_root[64];

static void setup(void)
{
    log_set_level(MG_LOG_ERR);
    ck_assert_int_ge(sodium_init(), 0);
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/check_dht_gc.XXXXXX");
    ck_assert_msg(mkdtemp(tmp_root) != NULL, "mkdtemp failed");
}

static void teardown(void)
{
    test_tmpdir_remove(tmp_root);
}

static void dir_of(const char *name, char out[128])
{
    snprintf(out, 128, "%s/%s", tmp_root, name);
}

/* A store of one; serving (it purges on its own) with a short grace period. */
static struct dht *open_named(const char *name, int serving, uint64_t grace_ms)
{
    char dir[128];
    dir_of(name, dir);
    struct dht_options o = {.data_dir = dir,
                            .readers = 2,
                            .listen_addr = serving ? "127.0.0.9:1" : NULL,
                            .tombstone_grace_ms = grace_ms};
    struct dht *d = NULL;
    int rc = dht_open(&o, &d);
    ck_assert_msg(rc == 0, "dht_open(%s): %s", dir, mg_strerror(rc));
    return d;
}

/* A clustered store (the CLI's view: no network started) with a short grace. */
static struct dht *open_cluster_member(const char *name)
{
    char dir[128];
    char *token = NULL;
    dir_of(name, dir);
    struct dht_cluster_params p = {.replicas = 3, .write_quorum = 2, .read_quorum = 2};
    ck_assert_int_eq(dht_cluster_init(dir, &p, "127.0.0.9:1", &token), 0);
    free(token);
    struct dht_options o = {.data_dir = dir, .readers = 2, .tombstone_grace_ms = GRACE_MS};
    struct dht *d = NULL;
    ck_assert_int_eq(dht_open(&o, &d), 0);
    ck_assert(dht_is_clustered(d));
    return d;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct dht_row make_row(uint64_t hlc, uint64_t node, const char *v)
{
    struct dht_row r = {.version = {hlc, node}, .value = (void *)v, .value_len = strlen(v)};
    crypto_generichash(r.hash, DHT_HASH_LEN, (const unsigned char *)v, r.value_len, NULL, 0);
    return r;
}

static int has_row(struct dht *d, const char *pkey, const char *rkey)
{
    struct dht_row row;
    int rc = dht_engine_get_any(d, pkey, rkey, &row);
    if (rc == 0)
        dht_row_release(&row);
    return rc == 0;
}

static int count_rows(void *ctx, const char *rkey, const struct dht_row *row)
{
    (void)rkey;
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static struct dht_engine_stats stats_of(struct dht *d)
{
    struct dht_engine_stats s;
    dht_engine_stats(d, &s);
    return s;
}

/* ---- purge in a cluster of one ------------------------------------------------ */

START_TEST(test_purge_after_grace)
{
    struct dht *d = open_named("one", 1, GRACE_MS);
    ck_assert_int_eq(dht_put(d, "p", "a", "1", 1, NULL, NULL, NULL), 0);
    ck_assert_int_eq(dht_put(d, "p", "b", "2", 1, NULL, NULL, NULL), 0);
    ck_assert_int_eq(dht_delete(d, "p", "a", NULL), 0);
    struct dht_row t;
    ck_assert_int_eq(dht_engine_get_any(d, "p", "a", &t), 0);
    ck_assert(t.tombstone);
    uint64_t before;
    ck_assert_int_eq(dht_partition_hlc(d, "p", &before), 0);
    ck_assert_uint_eq(before, t.version.hlc);

    /* Younger than the grace period: kept. */
    size_t n = 99;
    ck_assert_int_eq(dht_local_purge_expired(d, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(has_row(d, "p", "a"));

    sleep_ms(GRACE_MS + 100);
    ck_assert_int_eq(dht_local_purge_expired(d, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_msg(!has_row(d, "p", "a"), "the old tombstone is still there");
    ck_assert(has_row(d, "p", "b"));
    ck_assert_uint_eq(stats_of(d).tombstones_purged, 1);

    /* The partition remembers it: the floor is the purged version, and the
     * partition's hlc (a ctag) does not go back to before the deletion. */
    uint64_t floor, after;
    ck_assert_int_eq(dht_local_purge_floor(d, "p", &floor), 0);
    ck_assert_uint_eq(floor, t.version.hlc);
    ck_assert_int_eq(dht_partition_hlc(d, "p", &after), 0);
    ck_assert_uint_eq(after, before);

    /* A later write purges on its own once a tombstone is old enough. */
    ck_assert_int_eq(dht_delete(d, "p", "b", NULL), 0);
    sleep_ms(GRACE_MS + 150);
    ck_assert_int_eq(dht_put(d, "p", "c", "3", 1, NULL, NULL, NULL), 0);
    ck_assert_msg(!has_row(d, "p", "b"), "a write after the grace period did not purge");
    ck_assert(has_row(d, "p", "c"));
    dht_row_release(&t);
    dht_close(d);
}
END_TEST

START_TEST(test_cli_does_not_purge)
{
    /* A store opened by a CLI command does not know the configured grace
     * period: it leaves tombstones to the serving process. */
    struct dht *d = open_named("cli", 0, GRACE_MS);
    ck_assert_int_eq(dht_put(d, "p", "a", "1", 1, NULL, NULL, NULL), 0);
    ck_assert_int_eq(dht_delete(d, "p", "a", NULL), 0);
    sleep_ms(GRACE_MS + 150);
    ck_assert_int_eq(dht_put(d, "p", "b", "2", 1, NULL, NULL, NULL), 0);
    ck_assert(has_row(d, "p", "a"));
    dht_close(d);
    d = open_named("cli", 0, GRACE_MS);
    ck_assert(has_row(d, "p", "a"));
    dht_close(d);
    /* The serving process purges at start. */
    d = open_named("cli", 1, GRACE_MS);
    ck_assert(!has_row(d, "p", "a"));
    dht_close(d);
}
END_TEST

START_TEST(test_floor_drops_stale_copies)
{
    struct dht *d = open_named("floor", 1, GRACE_MS);
    ck_assert_int_eq(dht_put(d, "p", "k", "old", 3, NULL, NULL, NULL), 0);
    struct dht_row live;
    ck_assert_int_eq(dht_engine_get_any(d, "p", "k", &live), 0);
    ck_assert_int_eq(dht_delete(d, "p", "k", NULL), 0);
    struct dht_row t;
    ck_assert_int_eq(dht_engine_get_any(d, "p", "k", &t), 0);
    sleep_ms(GRACE_MS + 100);
    ck_assert_int_eq(dht_local_purge_expired(d, NULL), 0);
    ck_assert(!has_row(d, "p", "k"));

    /* The deleted row, offered again by a replica that missed the delete
     * (or a stale hint), does not come back; nor does the tombstone. */
    int applied = -1;
    ck_assert_int_eq(dht_engine_apply(d, "p", "k", &live, &applied), 0);
    ck_assert_int_eq(applied, 0);
    ck_assert_int_eq(dht_engine_apply(d, "p", "k", &t, &applied), 0);
    ck_assert_int_eq(applied, 0);
    ck_assert(!has_row(d, "p", "k"));
    ck_assert_uint_eq(stats_of(d).stale_rows_dropped, 2);

    /* Another partition has its own floor; a newer write is a new row. */
    ck_assert_int_eq(dht_engine_apply(d, "q", "k", &live, &applied), 0);
    ck_assert_int_eq(applied, 1);
    struct dht_row fresh = make_row(t.version.hlc + 1, 3, "again");
    ck_assert_int_eq(dht_engine_apply(d, "p", "k", &fresh, &applied), 0);
    ck_assert_int_eq(applied, 1);
    ck_assert_int_eq(dht_put(d, "p", "k2", "x", 1, NULL, NULL, NULL), 0);
    ck_assert(has_row(d, "p", "k2"));

    /* A partition handed off and dropped forgets its floor: owning it again,
     * this node must take every row the other owners give it. */
    ck_assert_int_eq(dht_local_forget_floor(d, "p"), 0);
    ck_assert_int_eq(dht_engine_apply(d, "p", "k3", &live, &applied), 0);
    ck_assert_int_eq(applied, 1);
    dht_row_release(&live);
    dht_row_release(&t);
    dht_close(d);
}
END_TEST

START_TEST(test_sync_from_before_the_floor)
{
    struct dht *d = open_named("sync", 1, GRACE_MS);
    ck_assert_int_eq(dht_put(d, "p", "a", "1", 1, NULL, NULL, NULL), 0);
    uint64_t token;
    ck_assert_int_eq(dht_partition_hlc(d, "p", &token), 0);
    ck_assert_int_eq(dht_delete(d, "p", "a", NULL), 0);
    ck_assert_int_eq(dht_put(d, "p", "b", "2", 1, NULL, NULL, NULL), 0);

    /* Before the purge the deletion is reported from the old token. */
    int n = 0;
    ck_assert_int_eq(dht_changes_since_complete(d, "p", token, count_rows, &n), 0);
    ck_assert_int_eq(n, 2);

    sleep_ms(GRACE_MS + 100);
    ck_assert_int_eq(dht_local_purge_expired(d, NULL), 0);
    /* After it, the old token cannot be answered in full: the caller hears so
     * (a DAV client gets valid-sync-token and syncs again from scratch). */
    n = 0;
    ck_assert_int_eq(dht_changes_since_complete(d, "p", token, count_rows, &n), MG_ECONFLICT);
    ck_assert_int_eq(n, 0);
    /* Readers that do not need deletions are unaffected. */
    ck_assert_int_eq(dht_changes_since(d, "p", token, count_rows, &n), 0);
    ck_assert_int_eq(n, 1);
    /* A token taken now resumes. */
    uint64_t now_token;
    ck_assert_int_eq(dht_partition_hlc(d, "p", &now_token), 0);
    n = 0;
    ck_assert_int_eq(dht_changes_since_complete(d, "p", now_token, count_rows, &n), 0);
    ck_assert_int_eq(n, 0);
    dht_close(d);
}
END_TEST

/* ---- purge in a cluster: anti-entropy must confirm every owner ---------------------- */

START_TEST(test_cluster_purge_waits_for_every_owner)
{
    struct dht *d = open_cluster_member("member");
    struct cluster *c = dht_engine_cluster(d);
    struct dht_row t = {.version = {dht_clock_now(d), 0x42}, .tombstone = 1, .value = ""};
    ck_assert_int_eq(dht_engine_apply(d, "coll/x", "gone", &t, NULL), 0);
    sleep_ms(GRACE_MS + 100);

    /* Another owner that is alive but does not answer: not confirmed. */
    const uint64_t other = 0xbeef;
    ck_assert_int_eq(cluster_apply_update(c, other, "127.0.0.9:2", "", 1, MEMBER_ALIVE), 1);
    ae_round(c);
    ck_assert_msg(has_row(d, "coll/x", "gone"), "purged without the other owner's word");
    /* Dead: it keeps its place on the ring, and the tombstone stays. */
    cluster_set_state(c, other, MEMBER_DEAD, 1);
    ae_round(c);
    ck_assert(has_row(d, "coll/x", "gone"));
    ck_assert_uint_eq(stats_of(d).tombstones_purged, 0);

    /* Removed for good: this node is the only owner, nothing to wait for. */
    ck_assert_int_eq(cluster_apply_update(c, other, NULL, NULL, 2, MEMBER_LEFT), 1);
    ae_round(c);
    ck_assert_msg(!has_row(d, "coll/x", "gone"), "the only owner did not purge");
    ck_assert_uint_eq(stats_of(d).tombstones_purged, 1);
    dht_close(d);
}
END_TEST

/* The first byte of a PEER_CHANGES answer from this node to itself. */
static uint8_t changes_flags(struct cluster *c, const char *pkey, uint64_t since)
{
    struct buf p, out;
    buf_init(&p);
    buf_init(&out);
    ck_assert_int_eq(wire_str(&p, pkey) || wire_u64(&p, since), 0);
    ck_assert_int_eq(peer_local_answer(c, PEER_CHANGES, p.data, p.len, &out), 200);
    uint8_t flags = (uint8_t)out.data[0];
    buf_release(&p);
    buf_release(&out);
    return flags;
}

START_TEST(test_cluster_floor_reaches_coordinators)
{
    struct dht *d = open_cluster_member("coord");
    struct cluster *c = dht_engine_cluster(d);
    ck_assert_int_eq(dht_put(d, "coll/s", "a", "1", 1, NULL, NULL, NULL), 0);
    uint64_t token;
    ck_assert_int_eq(dht_partition_hlc(d, "coll/s", &token), 0);
    ck_assert_int_eq(dht_delete(d, "coll/s", "a", NULL), 0);
    struct dht_row t;
    ck_assert_int_eq(dht_engine_get_any(d, "coll/s", "a", &t), 0);
    ck_assert_uint_eq(changes_flags(c, "coll/s", token) & PEER_PAGE_PURGED, 0);
    sleep_ms(GRACE_MS + 100);
    ae_round(c);
    ck_assert(!has_row(d, "coll/s", "a"));

    /* A replica tells a coordinator that a change-set from the old token
     * would miss the purged deletion; older coordinators ignore the bit. */
    ck_assert_uint_ne(changes_flags(c, "coll/s", token) & PEER_PAGE_PURGED, 0);
    ck_assert_uint_eq(changes_flags(c, "coll/s", t.version.hlc) & PEER_PAGE_PURGED, 0);
    int n = 0;
    ck_assert_int_eq(dht_changes_since_complete(d, "coll/s", token, count_rows, &n), MG_ECONFLICT);
    /* The partition's hlc stays a reorder window above the floor, so a token
     * taken from it (a full sync's) resumes with its look-back. */
    uint64_t h;
    ck_assert_int_eq(dht_partition_hlc(d, "coll/s", &h), 0);
    ck_assert_uint_eq(h, t.version.hlc + hlc_make(DHT_CLUSTER_REORDER_MS, 0));
    uint64_t from = h - hlc_make(DHT_CLUSTER_REORDER_MS, 0);
    ck_assert_int_eq(dht_changes_since_complete(d, "coll/s", from, count_rows, &n), 0);
    dht_row_release(&t);
    dht_close(d);
}
END_TEST

/* ---- conflict copies ------------------------------------------------------------ */

/* Applies row to pkey/r with base (NULL: none). Returns `applied`. */
static int apply_based(struct dht *d, const char *pkey, const struct dht_row *row,
                       const struct dht_version *base)
{
    struct dht_apply_item it = {.pkey = pkey, .rkey = "r", .row = *row};
    if (base) {
        it.has_base = 1;
        it.base = *base;
    }
    ck_assert_int_eq(dht_engine_apply_batch(d, &it, 1), 0);
    return it.applied;
}

/* 1 when d holds the conflict copy of pkey/r at row's version with its value. */
static int has_copy(struct dht *d, const char *pkey, const struct dht_row *row)
{
    struct buf cp, cr;
    struct dht_row got;
    buf_init(&cp);
    buf_init(&cr);
    ck_assert_int_eq(dht_conflict_keys(pkey, "r", &row->version, &cp, &cr), 0);
    int ok = dht_engine_get_any(d, cp.data, cr.data, &got) == 0;
    if (ok) {
        ok = !got.tombstone && dht_version_cmp(&got.version, &row->version) == 0 &&
             got.value_len == row->value_len && memcmp(got.value, row->value, got.value_len) == 0;
        dht_row_release(&got);
    }
    buf_release(&cp);
    buf_release(&cr);
    return ok;
}

static int copies(struct dht *d, const char *pkey)
{
    char cp[64];
    int n = 0;
    snprintf(cp, sizeof(cp), "%s%s", DHT_CONFLICT_PREFIX, pkey);
    ck_assert_int_eq(dht_scan(d, cp, NULL, 0, count_rows, &n), 0);
    return n;
}

START_TEST(test_racing_writes_keep_the_loser)
{
    /* Two replicas get two writes based on the same version v0, in opposite
     * orders: both keep the same loser, the same way. */
    struct dht *a = open_named("ra", 0, 0);
    struct dht *b = open_named("rb", 0, 0);
    uint64_t h = hlc_make(mg_now_ms(), 0);
    struct dht_row v0 = make_row(h, 1, "base");
    struct dht_row x = make_row(h + 10, 2, "from node two");
    struct dht_row y = make_row(h + 20, 3, "from node three");
    ck_assert_int_eq(apply_based(a, "p", &v0, NULL), 1);
    ck_assert_int_eq(apply_based(b, "p", &v0, NULL), 1);

    ck_assert_int_eq(apply_based(a, "p", &x, &v0.version), 1);
    ck_assert_int_eq(copies(a, "p"), 0);
    ck_assert_int_eq(apply_based(a, "p", &y, &v0.version), 1); /* wins, did not see x */
    ck_assert_msg(has_copy(a, "p", &x), "the overwritten racing write was dropped");

    ck_assert_int_eq(apply_based(b, "p", &y, &v0.version), 1);
    ck_assert_int_eq(apply_based(b, "p", &x, &v0.version), 0); /* loses, y did not see it */
    ck_assert_msg(has_copy(b, "p", &x), "the late racing write was dropped");

    ck_assert_int_eq(copies(a, "p"), 1);
    ck_assert_int_eq(copies(b, "p"), 1);
    uint8_t da[32], db[32];
    ck_assert_int_eq(peer_partition_digest(a, "conflict/p", da, NULL, NULL), 0);
    ck_assert_int_eq(peer_partition_digest(b, "conflict/p", db, NULL, NULL), 0);
    ck_assert_mem_eq(da, db, 32);
    ck_assert_int_eq(peer_partition_digest(a, "p", da, NULL, NULL), 0);
    ck_assert_int_eq(peer_partition_digest(b, "p", db, NULL, NULL), 0);
    ck_assert_mem_eq(da, db, 32);
    ck_assert_uint_eq(stats_of(a).conflict_copies, 1);

    /* Offered again (anti-entropy, a hint): nothing new. */
    ck_assert_int_eq(apply_based(a, "p", &x, NULL), 0);
    ck_assert_int_eq(copies(a, "p"), 1);
    dht_close(a);
    dht_close(b);
}
END_TEST

START_TEST(test_sequential_writes_keep_nothing)
{
    struct dht *d = open_named("seq", 0, 0);
    uint64_t h = hlc_make(mg_now_ms(), 0);
    struct dht_row v0 = make_row(h, 1, "zero");
    struct dht_row v1 = make_row(h + 10, 2, "one");
    struct dht_row v2 = make_row(h + 20, 3, "two");
    ck_assert_int_eq(apply_based(d, "p", &v0, NULL), 1);
    /* Each write based on the one before. */
    ck_assert_int_eq(apply_based(d, "p", &v1, &v0.version), 1);
    ck_assert_int_eq(apply_based(d, "p", &v2, &v1.version), 1);
    ck_assert_int_eq(copies(d, "p"), 0);

    /* A replica that missed v1 gets v2 (based on v1) over v0: v0 was seen by
     * v1's writer, not lost. Then v1 arrives late: v2 saw it. */
    struct dht *s = open_named("stale", 0, 0);
    ck_assert_int_eq(apply_based(s, "p", &v0, NULL), 1);
    ck_assert_int_eq(apply_based(s, "p", &v2, &v1.version), 1);
    ck_assert_int_eq(apply_based(s, "p", &v1, &v0.version), 0);
    ck_assert_int_eq(copies(s, "p"), 0);

    /* Racing writes with the same bytes lose nothing. */
    struct dht_row same = make_row(h + 30, 4, "two");
    struct dht_row same2 = make_row(h + 31, 5, "two");
    ck_assert_int_eq(apply_based(d, "p", &same, &v2.version), 1);
    ck_assert_int_eq(apply_based(d, "p", &same2, &v2.version), 1);
    ck_assert_int_eq(copies(d, "p"), 0);

    /* Unconditional writes are last-writer-wins: no base, no judgement. */
    struct dht_row blind = make_row(h + 40, 6, "blind");
    ck_assert_int_eq(apply_based(d, "p", &blind, NULL), 1);
    ck_assert_int_eq(copies(d, "p"), 0);
    dht_close(d);
    dht_close(s);
}
END_TEST

START_TEST(test_delete_racing_an_edit)
{
    struct dht *d = open_named("del", 0, 0);
    uint64_t h = hlc_make(mg_now_ms(), 0);
    struct dht_row v0 = make_row(h, 1, "zero");
    struct dht_row edit = make_row(h + 10, 2, "edited");
    struct dht_row del = {.version = {h + 20, 3}, .tombstone = 1, .value = ""};
    ck_assert_int_eq(apply_based(d, "p", &v0, NULL), 1);
    ck_assert_int_eq(apply_based(d, "p", &edit, &v0.version), 1);
    /* The delete read v0 and did not see the edit: the edit's bytes stay. */
    ck_assert_int_eq(apply_based(d, "p", &del, &v0.version), 1);
    ck_assert(has_copy(d, "p", &edit));

    /* The other order: a late edit loses to a delete that did not see it. */
    struct dht *e = open_named("del2", 0, 0);
    ck_assert_int_eq(apply_based(e, "p", &v0, NULL), 1);
    ck_assert_int_eq(apply_based(e, "p", &del, &v0.version), 1);
    ck_assert_int_eq(apply_based(e, "p", &edit, &v0.version), 0);
    ck_assert(has_copy(e, "p", &edit));

    /* A tombstone losing keeps nothing: there are no bytes to keep. */
    struct dht_row v9 = make_row(h + 30, 4, "nine");
    struct dht_row del2 = {.version = {h + 25, 5}, .tombstone = 1, .value = ""};
    ck_assert_int_eq(apply_based(e, "p", &v9, &edit.version), 1);
    ck_assert_int_eq(apply_based(e, "p", &del2, &v0.version), 0);
    ck_assert_int_eq(copies(e, "p"), 1);
    dht_close(d);
    dht_close(e);
}
END_TEST

START_TEST(test_conflict_keys)
{
    struct buf cp, cr;
    buf_init(&cp);
    buf_init(&cr);
    /* 2024-05-01T10:15:00Z */
    struct dht_version v = {hlc_make(UINT64_C(1714558500000), 7), 0x1a2b};
    ck_assert_int_eq(dht_conflict_keys("coll/alice/files/docs", "notes.txt", &v, &cp, &cr), 0);
    ck_assert_str_eq(cp.data, "conflict/coll/alice/files/docs");
    char want[128];
    snprintf(want, sizeof(want), "notes.txt.sync-conflict-20240501-101500-0000000000001a2b-%016llx",
             (unsigned long long)v.hlc);
    ck_assert_str_eq(cr.data, want);
    /* The copies of a partition live where the partition does. */
    ck_assert_uint_eq(ring_key_token(cp.data), ring_key_token("coll/alice/files/docs"));

    /* A long row key is shortened to fit. */
    char *longk = malloc(DHT_KEY_MAX + 1);
    memset(longk, 'k', DHT_KEY_MAX);
    longk[DHT_KEY_MAX] = '\0';
    buf_reset(&cp);
    buf_reset(&cr);
    ck_assert_int_eq(dht_conflict_keys("p", longk, &v, &cp, &cr), 0);
    ck_assert_uint_eq(cr.len, DHT_KEY_MAX);
    /* A partition key with no room for the prefix is refused. */
    buf_reset(&cp);
    buf_reset(&cr);
    ck_assert_int_eq(dht_conflict_keys(longk, "r", &v, &cp, &cr), MG_ETOOBIG);
    free(longk);
    buf_release(&cp);
    buf_release(&cr);
}
END_TEST

START_TEST(test_coordinated_conditional_write)
{
    /* Through the coordinator (a cluster whose only owner is this node):
     * a conditional write carries its base, a sequential one keeps nothing. */
    struct dht *d = open_cluster_member("cw");
    uint8_t h0[DHT_HASH_LEN];
    ck_assert_int_eq(dht_put(d, "coll/c", "r", "one", 3, NULL, NULL, h0), 0);
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    memcpy(cond.hash, h0, DHT_HASH_LEN);
    ck_assert_int_eq(dht_put(d, "coll/c", "r", "two", 3, &cond, NULL, NULL), 0);
    ck_assert_int_eq(dht_put(d, "coll/c", "r", "three", 5, &cond, NULL, NULL), MG_EPRECOND);
    ck_assert_int_eq(copies(d, "coll/c"), 0);
    dht_close(d);
}
END_TEST

/* ---- schema -------------------------------------------------------------------- */

START_TEST(test_schema_1_store_opens)
{
    /* A store written before rows carried a base opens, keeps its rows, and
     * takes based writes. */
    char dir[128], path[160];
    dir_of("v1", dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/store.db", dir);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(db,
                     "CREATE TABLE rows (pkey TEXT NOT NULL, rkey TEXT NOT NULL,"
                     " hlc INTEGER NOT NULL, node INTEGER NOT NULL, tomb INTEGER NOT NULL,"
                     " hash BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (pkey, rkey))"
                     " WITHOUT ROWID;"
                     "INSERT INTO rows VALUES ('p', 'old', 5, 1, 1, zeroblob(32), x'');"
                     "PRAGMA user_version = 1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    struct dht *d = open_named("v1", 0, 0);
    ck_assert(has_row(d, "p", "old"));
    uint64_t h = hlc_make(mg_now_ms(), 0);
    struct dht_row v0 = make_row(h, 1, "a");
    struct dht_row x = make_row(h + 1, 2, "b");
    struct dht_row y = make_row(h + 2, 3, "c");
    ck_assert_int_eq(apply_based(d, "p", &v0, NULL), 1);
    ck_assert_int_eq(apply_based(d, "p", &x, &v0.version), 1);
    ck_assert_int_eq(apply_based(d, "p", &y, &v0.version), 1);
    ck_assert(has_copy(d, "p", &x));
    dht_close(d);
}
END_TEST

static Suite *gc_suite(void)
{
    Suite *s = suite_create("dht_gc");
    TCase *purge = tcase_create("purge");
    tcase_add_checked_fixture(purge, setup, teardown);
    tcase_add_test(purge, test_purge_after_grace);
    tcase_add_test(purge, test_cli_does_not_purge);
    tcase_add_test(purge, test_floor_drops_stale_copies);
    tcase_add_test(purge, test_sync_from_before_the_floor);
    tcase_add_test(purge, test_cluster_purge_waits_for_every_owner);
    tcase_add_test(purge, test_cluster_floor_reaches_coordinators);
    suite_add_tcase(s, purge);
    TCase *conflict = tcase_create("conflict");
    tcase_add_checked_fixture(conflict, setup, teardown);
    tcase_add_test(conflict, test_racing_writes_keep_the_loser);
    tcase_add_test(conflict, test_sequential_writes_keep_nothing);
    tcase_add_test(conflict, test_delete_racing_an_edit);
    tcase_add_test(conflict, test_conflict_keys);
    tcase_add_test(conflict, test_coordinated_conditional_write);
    tcase_add_test(conflict, test_schema_1_store_opens);
    suite_add_tcase(s, conflict);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
