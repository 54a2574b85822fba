/* check_dht.c - unit tests of the local store engine, clock, identity and blobs. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "../../dht/engine.h"
#include "../../dht/hlc.h"
#include "../../dht/identity.h"
#include "meshgate/common.h"
#include "meshgate/dht.h"
#include "test_tmpdir.h"

/* ---- fixture: one temporary data directory per test ------------------------ */

static char tmp_root[64];
static char data_dir[128];

static void setup(void)
{
    log_set_level(MG_LOG_WARN);
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/check_dht.XXXXXX");
    ck_assert_msg(mkdtemp(tmp_root) != NULL, "mkdtemp failed");
    /* A nested path that does not exist yet: dht_open must create it. */
    snprintf(data_dir, sizeof(data_dir), "%s/data/store", tmp_root);
}

static void teardown(void)
{
    test_tmpdir_remove(tmp_root);
}

static struct dht *open_dir(const char *dir, int readers)
{
    struct dht_options o = {.data_dir = dir, .readers = readers};
    struct dht *d = NULL;
    int rc = dht_open(&o, &d);
    ck_assert_msg(rc == 0, "dht_open(%s) failed: %s", dir, mg_strerror(rc));
    ck_assert_ptr_nonnull(d);
    return d;
}

static struct dht *open_store(void)
{
    return open_dir(data_dir, 0);
}

static int put_str(struct dht *d, const char *p, const char *r, const char *v,
                   const struct dht_cond *cond)
{
    return dht_put(d, p, r, v, strlen(v), cond, NULL, NULL);
}

/* Asserts that (p, r) holds exactly the string v. */
static void assert_value(struct dht *d, const char *p, const char *r, const char *v)
{
    struct dht_row row;
    int rc = dht_get(d, p, r, &row);
    ck_assert_msg(rc == 0, "get %s/%s: %s", p, r, mg_strerror(rc));
    ck_assert_uint_eq(row.value_len, strlen(v));
    ck_assert_msg(memcmp(row.value, v, row.value_len) == 0, "get %s/%s: wrong value", p, r);
    ck_assert_msg(((char *)row.value)[row.value_len] == '\0', "value not NUL-terminated");
    dht_row_release(&row);
}

static void hash_of(const void *data, size_t len, uint8_t out[DHT_HASH_LEN])
{
    crypto_generichash(out, DHT_HASH_LEN, data, len, NULL, 0);
}

/* Collects rows visited by scans. */
#define MAX_SEEN 64
struct seen {
    int n;
    char keys[MAX_SEEN][32];
    struct dht_row rows[MAX_SEEN];
    int stop_after; /* return 42 after this many rows, 0 = never */
};

static int collect(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct seen *s = ctx;
    ck_assert_int_lt(s->n, MAX_SEEN);
    snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", rkey);
    s->rows[s->n] = *row;
    s->rows[s->n].value = NULL; /* valid only during the call */
    s->n++;
    if (s->stop_after && s->n == s->stop_after)
        return 42;
    return 0;
}

/* ---- rows ------------------------------------------------------------------- */

START_TEST(test_put_get_delete)
{
    struct dht *d = open_store();
    struct dht_version v1, v2;
    uint8_t h[DHT_HASH_LEN], want[DHT_HASH_LEN];

    ck_assert_int_eq(dht_put(d, "coll/a", "x.ics", "hello", 5, NULL, &v1, h), 0);
    hash_of("hello", 5, want);
    ck_assert_msg(memcmp(h, want, DHT_HASH_LEN) == 0, "put hash is not BLAKE2b-256 of value");
    ck_assert_uint_eq(v1.node, dht_node_id(d));
    ck_assert_uint_gt(v1.hlc, 0);
    assert_value(d, "coll/a", "x.ics", "hello");

    struct dht_row row;
    ck_assert_int_eq(dht_get(d, "coll/a", "x.ics", &row), 0);
    ck_assert_msg(dht_version_cmp(&row.version, &v1) == 0, "get returns another version");
    ck_assert_msg(memcmp(row.hash, want, DHT_HASH_LEN) == 0, "get returns another hash");
    ck_assert_int_eq(row.tombstone, 0);
    dht_row_release(&row);
    ck_assert_ptr_null(row.value);

    /* Overwrite: newer version, new value. */
    ck_assert_int_eq(dht_put(d, "coll/a", "x.ics", "world!", 6, NULL, &v2, NULL), 0);
    ck_assert_int_gt(dht_version_cmp(&v2, &v1), 0);
    assert_value(d, "coll/a", "x.ics", "world!");

    /* Same row key in another partition is another row. */
    ck_assert_int_eq(dht_get(d, "coll/b", "x.ics", &row), MG_ENOTFOUND);
    ck_assert_int_eq(dht_get(d, "coll/a", "y.ics", &row), MG_ENOTFOUND);

    /* Empty values and the empty row key are fine. */
    ck_assert_int_eq(dht_put(d, "coll/a", "", NULL, 0, NULL, NULL, h), 0);
    hash_of("", 0, want);
    ck_assert_msg(memcmp(h, want, DHT_HASH_LEN) == 0, "hash of empty value");
    assert_value(d, "coll/a", "", "");

    /* Binary values with NUL bytes survive. */
    const char bin[] = {'a', 0, 'b', 0};
    ck_assert_int_eq(dht_put(d, "coll/a", "bin", bin, sizeof(bin), NULL, NULL, NULL), 0);
    ck_assert_int_eq(dht_get(d, "coll/a", "bin", &row), 0);
    ck_assert_uint_eq(row.value_len, sizeof(bin));
    ck_assert_int_eq(memcmp(row.value, bin, sizeof(bin)), 0);
    dht_row_release(&row);

    ck_assert_int_eq(dht_delete(d, "coll/a", "x.ics", NULL), 0);
    ck_assert_int_eq(dht_get(d, "coll/a", "x.ics", &row), MG_ENOTFOUND);
    ck_assert_int_eq(dht_delete(d, "coll/a", "x.ics", NULL), MG_ENOTFOUND);
    ck_assert_int_eq(dht_delete(d, "coll/a", "never", NULL), MG_ENOTFOUND);

    /* Data survives a reopen. */
    dht_close(d);
    d = open_store();
    assert_value(d, "coll/a", "", "");
    ck_assert_int_eq(dht_get(d, "coll/a", "bin", &row), 0);
    ck_assert_uint_eq(row.value_len, sizeof(bin));
    dht_row_release(&row);
    ck_assert_int_eq(dht_get(d, "coll/a", "x.ics", &row), MG_ENOTFOUND);
    dht_close(d);
    dht_close(NULL);
}
END_TEST

START_TEST(test_invalid_args)
{
    struct dht *d = NULL;
    struct dht_options o = {.data_dir = NULL};
    ck_assert_int_eq(dht_open(&o, &d), MG_EINVAL);
    ck_assert_ptr_null(d);
    o.data_dir = "";
    ck_assert_int_eq(dht_open(&o, &d), MG_EINVAL);

    d = open_store();
    struct dht_row row;
    ck_assert_int_eq(dht_get(d, NULL, "x", &row), MG_EINVAL);
    ck_assert_int_eq(dht_put(d, "p", NULL, "x", 1, NULL, NULL, NULL), MG_EINVAL);
    ck_assert_int_eq(dht_put(d, "p", "r", NULL, 3, NULL, NULL, NULL), MG_EINVAL);
    ck_assert_int_eq(dht_scan(d, "p", NULL, 0, NULL, NULL), MG_EINVAL);
    dht_close(d);
}
END_TEST

START_TEST(test_tombstones)
{
    struct dht *d = open_store();
    struct dht_version v1, v2;
    ck_assert_int_eq(put_str(d, "p", "a", "1", NULL), 0);
    ck_assert_int_eq(dht_put(d, "p", "b", "2", 1, NULL, &v1, NULL), 0);
    ck_assert_int_eq(dht_delete(d, "p", "b", NULL), 0);

    /* dht_get hides the tombstone, the engine's raw read shows it. */
    struct dht_row row;
    ck_assert_int_eq(dht_get(d, "p", "b", &row), MG_ENOTFOUND);
    ck_assert_int_eq(dht_engine_get_any(d, "p", "b", &row), 0);
    ck_assert_int_eq(row.tombstone, 1);
    ck_assert_uint_eq(row.value_len, 0);
    static const uint8_t zero[DHT_HASH_LEN];
    ck_assert_msg(memcmp(row.hash, zero, DHT_HASH_LEN) == 0, "tombstone hash not zero");
    ck_assert_int_gt(dht_version_cmp(&row.version, &v1), 0);
    struct dht_version tomb_v = row.version;
    dht_row_release(&row);
    ck_assert_int_eq(dht_engine_get_any(d, "p", "zz", &row), MG_ENOTFOUND);

    /* Scans skip it. */
    struct seen s = {0};
    ck_assert_int_eq(dht_scan(d, "p", NULL, 0, collect, &s), 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.keys[0], "a");

    /* A tombstone counts as absent for conditions, and can be written over. */
    struct dht_cond present = {.kind = DHT_COND_PRESENT};
    ck_assert_int_eq(put_str(d, "p", "b", "x", &present), MG_EPRECOND);
    struct dht_cond absent = {.kind = DHT_COND_ABSENT};
    ck_assert_int_eq(dht_put(d, "p", "b", "3", 1, &absent, &v2, NULL), 0);
    ck_assert_int_gt(dht_version_cmp(&v2, &tomb_v), 0);
    assert_value(d, "p", "b", "3");
    dht_close(d);
}
END_TEST

START_TEST(test_conditional)
{
    struct dht *d = open_store();
    struct dht_cond absent = {.kind = DHT_COND_ABSENT};
    struct dht_cond present = {.kind = DHT_COND_PRESENT};
    struct dht_cond match = {.kind = DHT_COND_MATCH};
    struct dht_cond none = {.kind = DHT_COND_NONE};
    uint8_t h1[DHT_HASH_LEN], h2[DHT_HASH_LEN];

    ck_assert_int_eq(put_str(d, "p", "r", "x", &present), MG_EPRECOND);
    hash_of("x", 1, match.hash);
    ck_assert_int_eq(put_str(d, "p", "r", "x", &match), MG_EPRECOND);
    struct dht_row row;
    ck_assert_int_eq(dht_get(d, "p", "r", &row), MG_ENOTFOUND);

    ck_assert_int_eq(dht_put(d, "p", "r", "one", 3, &absent, NULL, h1), 0);
    ck_assert_int_eq(put_str(d, "p", "r", "two", &absent), MG_EPRECOND);
    assert_value(d, "p", "r", "one");

    ck_assert_int_eq(put_str(d, "p", "r", "two", &present), 0);
    assert_value(d, "p", "r", "two");

    /* If-Match with a stale hash fails and changes nothing. */
    memcpy(match.hash, h1, DHT_HASH_LEN);
    ck_assert_int_eq(put_str(d, "p", "r", "three", &match), MG_EPRECOND);
    assert_value(d, "p", "r", "two");
    hash_of("two", 3, match.hash);
    ck_assert_int_eq(dht_put(d, "p", "r", "three", 5, &match, NULL, h2), 0);
    assert_value(d, "p", "r", "three");
    ck_assert_int_eq(put_str(d, "p", "r", "four", &none), 0);

    /* Conditional deletes. */
    memcpy(match.hash, h2, DHT_HASH_LEN);
    ck_assert_int_eq(dht_delete(d, "p", "r", &match), MG_EPRECOND);
    ck_assert_int_eq(dht_delete(d, "p", "r", &absent), MG_EPRECOND);
    hash_of("four", 4, match.hash);
    ck_assert_int_eq(dht_delete(d, "p", "r", &match), 0);
    ck_assert_int_eq(dht_delete(d, "p", "r", &present), MG_EPRECOND);
    ck_assert_int_eq(dht_delete(d, "p", "r", &match), MG_EPRECOND);
    /* The precondition holds, but there is nothing to delete. */
    ck_assert_int_eq(dht_delete(d, "p", "r", &absent), MG_ENOTFOUND);
    dht_close(d);
}
END_TEST

START_TEST(test_scan)
{
    struct dht *d = open_store();
    /* Inserted out of order; byte order is the scan order. */
    const char *keys[] = {"c", "aa", "", "b", "a", "a\xc3\xa9", "B"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_int_eq(put_str(d, "coll/u/files/x", keys[i], keys[i], NULL), 0);
    ck_assert_int_eq(put_str(d, "coll/u/files/x2", "a0", "other", NULL), 0);
    ck_assert_int_eq(put_str(d, "coll/u/files", "a1", "other", NULL), 0);
    ck_assert_int_eq(put_str(d, "coll/u/files/x", "gone", "x", NULL), 0);
    ck_assert_int_eq(dht_delete(d, "coll/u/files/x", "gone", NULL), 0);

    const char *order[] = {"", "B", "a", "aa", "a\xc3\xa9", "b", "c"};
    struct seen s = {0};
    ck_assert_int_eq(dht_scan(d, "coll/u/files/x", NULL, 0, collect, &s), 0);
    ck_assert_int_eq(s.n, 7);
    for (int i = 0; i < 7; i++)
        ck_assert_str_eq(s.keys[i], order[i]);
    for (int i = 0; i < 7; i++) {
        ck_assert_uint_eq(s.rows[i].value_len, strlen(order[i]));
        ck_assert_int_eq(s.rows[i].tombstone, 0);
    }

    /* after "" excludes the row "" itself. */
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(dht_scan(d, "coll/u/files/x", "", 0, collect, &s), 0);
    ck_assert_int_eq(s.n, 6);
    ck_assert_str_eq(s.keys[0], "B");

    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(dht_scan(d, "coll/u/files/x", "a", 2, collect, &s), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.keys[0], "aa");
    ck_assert_str_eq(s.keys[1], "a\xc3\xa9");

    /* after a key that is not stored. */
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(dht_scan(d, "coll/u/files/x", "ab", 0, collect, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.keys[0], "a\xc3\xa9");

    /* Paging with after + limit visits everything once, in order. */
    memset(&s, 0, sizeof(s));
    char last[32] = "";
    int first = 1;
    for (;;) {
        int before = s.n;
        ck_assert_int_eq(dht_scan(d, "coll/u/files/x", first ? NULL : last, 3, collect, &s), 0);
        first = 0;
        if (s.n == before)
            break;
        snprintf(last, sizeof(last), "%s", s.keys[s.n - 1]);
    }
    ck_assert_int_eq(s.n, 7);
    for (int i = 0; i < 7; i++)
        ck_assert_str_eq(s.keys[i], order[i]);

    /* A callback stops the scan and its value is returned. */
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    ck_assert_int_eq(dht_scan(d, "coll/u/files/x", NULL, 0, collect, &s), 42);
    ck_assert_int_eq(s.n, 2);

    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(dht_scan(d, "nothing/here", NULL, 0, collect, &s), 0);
    ck_assert_int_eq(s.n, 0);
    dht_close(d);
}
END_TEST

START_TEST(test_changes_since)
{
    struct dht *d = open_store();
    struct dht_version va, vb, vc;
    ck_assert_int_eq(dht_put(d, "p", "a", "1", 1, NULL, &va, NULL), 0);
    ck_assert_int_eq(dht_put(d, "p", "b", "2", 1, NULL, &vb, NULL), 0);
    ck_assert_int_eq(dht_put(d, "p", "c", "3", 1, NULL, &vc, NULL), 0);
    ck_assert_int_eq(put_str(d, "q", "z", "other partition", NULL), 0);

    struct seen s = {0};
    ck_assert_int_eq(dht_changes_since(d, "p", 0, collect, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.keys[0], "a");
    ck_assert_str_eq(s.keys[1], "b");
    ck_assert_str_eq(s.keys[2], "c");
    ck_assert_uint_eq(s.rows[2].version.hlc, vc.hlc);

    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(dht_changes_since(d, "p", vb.hlc, collect, &s), 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.keys[0], "c");

    /* Deletions and updates are changes, reported in version order. */
    ck_assert_int_eq(dht_delete(d, "p", "a", NULL), 0);
    ck_assert_int_eq(put_str(d, "p", "b", "2b", NULL), 0);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(dht_changes_since(d, "p", vb.hlc, collect, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.keys[0], "c");
    ck_assert_str_eq(s.keys[1], "a");
    ck_assert_int_eq(s.rows[1].tombstone, 1);
    ck_assert_uint_eq(s.rows[1].value_len, 0);
    ck_assert_str_eq(s.keys[2], "b");
    ck_assert_int_eq(s.rows[2].tombstone, 0);
    for (int i = 1; i < s.n; i++)
        ck_assert_int_gt(dht_version_cmp(&s.rows[i].version, &s.rows[i - 1].version), 0);

    uint64_t newest = s.rows[2].version.hlc;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(dht_changes_since(d, "p", newest, collect, &s), 0);
    ck_assert_int_eq(s.n, 0);
    ck_assert_int_eq(dht_changes_since(d, "p", UINT64_MAX, collect, &s), 0);
    (void)va;
    dht_close(d);
}
END_TEST

START_TEST(test_partition_hlc)
{
    struct dht *d = open_store();
    uint64_t h = 1;
    ck_assert_int_eq(dht_partition_hlc(d, "p", &h), 0);
    ck_assert_uint_eq(h, 0);

    struct dht_version v1, v2;
    ck_assert_int_eq(dht_put(d, "p", "a", "1", 1, NULL, &v1, NULL), 0);
    ck_assert_int_eq(dht_put(d, "p", "b", "2", 1, NULL, &v2, NULL), 0);
    ck_assert_int_eq(dht_partition_hlc(d, "p", &h), 0);
    ck_assert_uint_eq(h, v2.hlc);

    ck_assert_int_eq(dht_delete(d, "p", "a", NULL), 0);
    struct dht_row row;
    ck_assert_int_eq(dht_engine_get_any(d, "p", "a", &row), 0);
    ck_assert_int_eq(dht_partition_hlc(d, "p", &h), 0);
    ck_assert_uint_eq(h, row.version.hlc);
    ck_assert_uint_gt(h, v2.hlc);
    dht_row_release(&row);

    ck_assert_int_eq(dht_partition_hlc(d, "p2", &h), 0);
    ck_assert_uint_eq(h, 0);

    /* A local write to any row lands above the partition's highest hlc, even
     * one from a faster clock, so a sync token never hides a later write. */
    uint64_t ahead = hlc_make(mg_now_ms() + 30000, 0);
    struct dht_row r = {.version = {ahead, 1}, .value = "z", .value_len = 1};
    hash_of("z", 1, r.hash);
    ck_assert_int_eq(dht_engine_apply(d, "p", "z", &r, NULL), 0);
    ck_assert_int_eq(dht_partition_hlc(d, "p", &h), 0);
    ck_assert_uint_eq(h, ahead);
    struct dht_version v3;
    ck_assert_int_eq(dht_put(d, "p", "c", "3", 1, NULL, &v3, NULL), 0);
    ck_assert_uint_gt(v3.hlc, ahead);
    struct seen s = {0};
    ck_assert_int_eq(dht_changes_since(d, "p", ahead, collect, &s), 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.keys[0], "c");
    dht_close(d);
}
END_TEST

/* ---- clock ------------------------------------------------------------------ */

#define CLOCK_THREADS 4
#define CLOCK_TICKS 20000

struct clock_job {
    struct dht *d;
    uint64_t *out;
};

static void *clock_thread(void *arg)
{
    struct clock_job *j = arg;
    for (int i = 0; i < CLOCK_TICKS; i++)
        j->out[i] = dht_clock_now(j->d);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_hlc_monotonic)
{
    struct dht *d = open_store();
    uint64_t prev = dht_clock_now(d);
    uint64_t now = mg_now_ms();
    ck_assert_msg(dht_hlc_ms(prev) + 1000 > now && dht_hlc_ms(prev) <= now + 1000,
                  "hlc ms %llu far from wall clock %llu", (unsigned long long)dht_hlc_ms(prev),
                  (unsigned long long)now);
    for (int i = 0; i < 100000; i++) {
        uint64_t t = dht_clock_now(d);
        ck_assert_msg(t > prev, "clock went backwards at tick %d", i);
        prev = t;
    }

    /* Threads never see the same timestamp twice. */
    uint64_t *all = malloc(sizeof(uint64_t) * CLOCK_THREADS * CLOCK_TICKS);
    ck_assert_ptr_nonnull(all);
    pthread_t th[CLOCK_THREADS];
    struct clock_job jobs[CLOCK_THREADS];
    for (int i = 0; i < CLOCK_THREADS; i++) {
        jobs[i].d = d;
        jobs[i].out = all + (size_t)i * CLOCK_TICKS;
        ck_assert_int_eq(pthread_create(&th[i], NULL, clock_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < CLOCK_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < CLOCK_THREADS; i++)
        for (int k = 1; k < CLOCK_TICKS; k++)
            ck_assert_uint_gt(jobs[i].out[k], jobs[i].out[k - 1]);
    qsort(all, CLOCK_THREADS * CLOCK_TICKS, sizeof(uint64_t), cmp_u64);
    for (int i = 1; i < CLOCK_THREADS * CLOCK_TICKS; i++)
        ck_assert_msg(all[i] != all[i - 1], "duplicate timestamp across threads");
    free(all);
    dht_close(d);
}
END_TEST

START_TEST(test_hlc_restart)
{
    /* A version from an hour ahead (as if the wall clock was then set back):
     * after a restart the clock must still continue above it. */
    struct dht *d = open_store();
    uint64_t future = hlc_make(mg_now_ms() + 3600 * 1000, 7);
    struct dht_row row = {.version = {future, 12345}, .value = "v", .value_len = 1};
    hash_of("v", 1, row.hash);
    int applied = 0;
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &row, &applied), 0);
    ck_assert_int_eq(applied, 1);
    dht_close(d);

    d = open_store();
    ck_assert_uint_gt(dht_clock_now(d), future);
    dht_close(d);

    /* And without stored rows from the future, a reopen starts above the last version. */
    test_tmpdir_remove(data_dir);
    d = open_store();
    struct dht_version v;
    ck_assert_int_eq(put_str(d, "p", "r", "x", NULL), 0);
    ck_assert_int_eq(dht_put(d, "p", "s", "x", 1, NULL, &v, NULL), 0);
    dht_close(d);
    d = open_store();
    ck_assert_uint_gt(dht_clock_now(d), v.hlc);
    dht_close(d);
}
END_TEST

START_TEST(test_hlc_update)
{
    struct hlc c;
    hlc_init(&c, 0);
    uint64_t t0 = hlc_now(&c);

    /* A peer two minutes ahead is refused and does not move the clock. */
    uint64_t far = hlc_make(mg_now_ms() + 2 * HLC_MAX_DRIFT_MS, 0);
    uint64_t out = 0;
    ck_assert_int_eq(hlc_update(&c, far, &out), MG_EINVAL);
    ck_assert_uint_lt(hlc_now(&c), far);

    /* Ten seconds ahead is within the bound: the clock moves past it. */
    uint64_t near = hlc_make(mg_now_ms() + 10000, 3);
    ck_assert_int_eq(hlc_update(&c, near, &out), 0);
    ck_assert_uint_gt(out, near);
    ck_assert_uint_gt(hlc_now(&c), out);

    /* An old remote timestamp still ticks the clock forward. */
    uint64_t before = hlc_now(&c);
    ck_assert_int_eq(hlc_update(&c, t0, &out), 0);
    ck_assert_uint_gt(out, before);
    ck_assert_int_eq(hlc_update(&c, t0, NULL), 0);

    ck_assert_uint_eq(dht_hlc_ms(hlc_make(123456, 65535)), 123456);
    /* A full counter carries into the milliseconds without going backwards. */
    uint64_t ahead_ms = mg_now_ms() + 5000;
    hlc_init(&c, hlc_make(ahead_ms, 65535));
    uint64_t t = hlc_now(&c);
    ck_assert_uint_eq(t, hlc_make(ahead_ms + 1, 0));
}
END_TEST

/* ---- last-writer-wins apply --------------------------------------------------- */

static struct dht_row make_row(uint64_t hlc, uint64_t node, const char *v)
{
    struct dht_row r = {.version = {hlc, node}, .value = (void *)v, .value_len = strlen(v)};
    hash_of(v, r.value_len, r.hash);
    return r;
}

START_TEST(test_apply_lww)
{
    struct dht *d = open_store();
    uint64_t base = hlc_make(mg_now_ms(), 0);
    int applied = -1;

    struct dht_row r = make_row(base + 100, 5, "first");
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), 0);
    ck_assert_int_eq(applied, 1);
    assert_value(d, "p", "r", "first");

    r = make_row(base + 50, 9, "older");
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), 0);
    ck_assert_int_eq(applied, 0);
    assert_value(d, "p", "r", "first");

    /* Same hlc: the node id breaks the tie; the same version is not re-applied. */
    r = make_row(base + 100, 4, "lower node");
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), 0);
    ck_assert_int_eq(applied, 0);
    r = make_row(base + 100, 5, "same version");
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), 0);
    ck_assert_int_eq(applied, 0);
    r = make_row(base + 100, 6, "higher node");
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), 0);
    ck_assert_int_eq(applied, 1);
    assert_value(d, "p", "r", "higher node");

    /* Node ids above 2^63 still order as unsigned numbers. */
    r = make_row(base + 100, UINT64_MAX, "top node");
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), 0);
    ck_assert_int_eq(applied, 1);
    r = make_row(base + 100, UINT64_C(1) << 63, "mid node");
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), 0);
    ck_assert_int_eq(applied, 0);
    struct dht_row got;
    ck_assert_int_eq(dht_get(d, "p", "r", &got), 0);
    ck_assert_uint_eq(got.version.node, UINT64_MAX);
    ck_assert_uint_eq(got.version.hlc, base + 100);
    dht_row_release(&got);

    /* A newer tombstone deletes. */
    struct dht_row t = {.version = {base + 200, 1}, .tombstone = 1};
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &t, &applied), 0);
    ck_assert_int_eq(applied, 1);
    ck_assert_int_eq(dht_get(d, "p", "r", &got), MG_ENOTFOUND);

    /* Inconsistent rows are refused. */
    r = make_row(base + 300, 1, "x");
    r.hash[0] ^= 1;
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), MG_EINVAL);
    t.value = "x";
    t.value_len = 1;
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &t, &applied), MG_EINVAL);
    r = make_row(UINT64_MAX, 1, "x");
    ck_assert_int_eq(dht_engine_apply(d, "p", "r", &r, &applied), MG_EINVAL);

    /* A local write supersedes an applied version from a faster clock. */
    r = make_row(hlc_make(mg_now_ms() + 30000, 0), 1, "future");
    ck_assert_int_eq(dht_engine_apply(d, "p", "f", &r, &applied), 0);
    struct dht_version v;
    ck_assert_int_eq(dht_put(d, "p", "f", "local", 5, NULL, &v, NULL), 0);
    ck_assert_int_gt(dht_version_cmp(&v, &r.version), 0);
    assert_value(d, "p", "f", "local");

    /* An applied row shows up in changes and in the partition hlc. */
    uint64_t h;
    ck_assert_int_eq(dht_partition_hlc(d, "p", &h), 0);
    ck_assert_uint_eq(h, v.hlc);
    dht_close(d);
}
END_TEST

/* ---- identity --------------------------------------------------------------- */

START_TEST(test_identity)
{
    struct dht *d = open_store();
    uint64_t id = dht_node_id(d);
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    memcpy(pk, dht_identity(d)->public_key, sizeof(pk));
    ck_assert_uint_eq(id, dht_identity_node_id(pk));
    ck_assert_uint_ne(id, 0);

    /* The secret key signs for the public key. */
    unsigned char sig[crypto_sign_BYTES];
    const unsigned char msg[] = "hello";
    ck_assert_int_eq(crypto_sign_detached(sig, NULL, msg, sizeof(msg), dht_identity(d)->secret_key),
                     0);
    ck_assert_int_eq(crypto_sign_verify_detached(sig, msg, sizeof(msg), pk), 0);
    dht_close(d);

    char path[256];
    snprintf(path, sizeof(path), "%s/node.key", data_dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(st.st_size, crypto_sign_SECRETKEYBYTES);
    snprintf(path, sizeof(path), "%s", data_dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);

    d = open_store();
    ck_assert_uint_eq(dht_node_id(d), id);
    ck_assert_int_eq(memcmp(dht_identity(d)->public_key, pk, sizeof(pk)), 0);
    dht_close(d);

    /* Another data directory is another node. */
    char other[160];
    snprintf(other, sizeof(other), "%s/other", tmp_root);
    d = open_dir(other, 1);
    ck_assert_uint_ne(dht_node_id(d), id);
    dht_close(d);

    /* A damaged key file is an error, not a silently new identity. */
    snprintf(path, sizeof(path), "%s/node.key", other);
    ck_assert_int_eq(truncate(path, 10), 0);
    struct dht_options o = {.data_dir = other};
    ck_assert_int_eq(dht_open(&o, &d), MG_EINVAL);
    ck_assert_ptr_null(d);
}
END_TEST

/* ---- limits ----------------------------------------------------------------- */

START_TEST(test_oversize)
{
    struct dht *d = open_store();
    char *big = malloc(DHT_KEY_MAX + 2);
    ck_assert_ptr_nonnull(big);
    memset(big, 'k', DHT_KEY_MAX + 1);
    big[DHT_KEY_MAX + 1] = '\0';
    struct dht_row row;
    struct seen s = {0};
    uint64_t h;
    ck_assert_int_eq(put_str(d, big, "r", "v", NULL), MG_ETOOBIG);
    ck_assert_int_eq(put_str(d, "p", big, "v", NULL), MG_ETOOBIG);
    ck_assert_int_eq(dht_get(d, "p", big, &row), MG_ETOOBIG);
    ck_assert_int_eq(dht_delete(d, big, "r", NULL), MG_ETOOBIG);
    ck_assert_int_eq(dht_scan(d, big, NULL, 0, collect, &s), MG_ETOOBIG);
    ck_assert_int_eq(dht_scan(d, "p", big, 0, collect, &s), MG_ETOOBIG);
    ck_assert_int_eq(dht_changes_since(d, big, 0, collect, &s), MG_ETOOBIG);
    ck_assert_int_eq(dht_partition_hlc(d, big, &h), MG_ETOOBIG);

    big[DHT_KEY_MAX] = '\0';
    ck_assert_int_eq(put_str(d, big, big, "v", NULL), 0);
    assert_value(d, big, big, "v");

    unsigned char *val = calloc(1, DHT_VALUE_MAX + 1);
    ck_assert_ptr_nonnull(val);
    ck_assert_int_eq(dht_put(d, "p", "big", val, DHT_VALUE_MAX + 1, NULL, NULL, NULL), MG_ETOOBIG);
    ck_assert_int_eq(dht_get(d, "p", "big", &row), MG_ENOTFOUND);
    val[DHT_VALUE_MAX - 1] = 7;
    ck_assert_int_eq(dht_put(d, "p", "big", val, DHT_VALUE_MAX, NULL, NULL, NULL), 0);
    ck_assert_int_eq(dht_get(d, "p", "big", &row), 0);
    ck_assert_uint_eq(row.value_len, DHT_VALUE_MAX);
    ck_assert_int_eq(memcmp(row.value, val, DHT_VALUE_MAX), 0);
    dht_row_release(&row);
    free(val);
    free(big);
    dht_close(d);
}
END_TEST

/* ---- blobs ------------------------------------------------------------------ */

/* Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
static void fill_random(unsigned char *p, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

/* Writes content in pieces of step bytes and finishes into *m. */
static void write_blob(struct dht *d, const unsigned char *data, size_t len, size_t step,
                       struct dht_manifest *m)
{
    struct dht_blob_writer *w = NULL;
    ck_assert_int_eq(dht_blob_writer_new(d, 0, &w), 0);
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        int rc = dht_blob_write(w, data + off, n);
        ck_assert_msg(rc == 0, "blob write at %zu: %s", off, mg_strerror(rc));
    }
    int rc = dht_blob_finish(w, m);
    ck_assert_msg(rc == 0, "blob finish: %s", mg_strerror(rc));
    dht_blob_writer_free(w);
}

/* Reads [off, off+len) through as many dht_blob_read calls as it takes. */
static void read_range(struct dht *d, const struct dht_manifest *m, uint64_t off,
                       unsigned char *out, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t got = 0;
        int rc = dht_blob_read(d, m, off + done, out + done, len - done, &got);
        ck_assert_msg(rc == 0, "blob read at %llu: %s", (unsigned long long)(off + done),
                      mg_strerror(rc));
        ck_assert_msg(got > 0, "blob read at %llu returned nothing",
                      (unsigned long long)(off + done));
        /* Reads at most one chunk. */
        ck_assert_uint_le(got, DHT_CHUNK_SIZE - (off + done) % DHT_CHUNK_SIZE);
        done += got;
    }
}

static void chunk_pkey(const uint8_t hash[DHT_HASH_LEN], char out[5 + 2 * DHT_HASH_LEN + 1])
{
    memcpy(out, "blob/", 5);
    mg_hex_encode(hash, DHT_HASH_LEN, out + 5);
}

static void assert_manifest_roundtrip(const struct dht_manifest *m)
{
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(dht_manifest_encode(m, &b), 0);
    struct dht_manifest m2;
    ck_assert_int_eq(dht_manifest_decode(b.data, b.len, &m2), 0);
    ck_assert_uint_eq(m2.size, m->size);
    ck_assert_int_eq(memcmp(m2.content_hash, m->content_hash, DHT_HASH_LEN), 0);
    ck_assert_uint_eq(m2.nchunks, m->nchunks);
    ck_assert_int_eq(m2.inline_data != NULL, m->inline_data != NULL);
    if (m->inline_data)
        ck_assert_int_eq(memcmp(m2.inline_data, m->inline_data, (size_t)m->size), 0);
    if (m->nchunks)
        ck_assert_int_eq(memcmp(m2.chunks, m->chunks, m->nchunks * DHT_HASH_LEN), 0);
    dht_manifest_release(&m2);
    buf_release(&b);
}

START_TEST(test_blob_inline)
{
    struct dht *d = open_store();
    unsigned char data[DHT_INLINE_MAX];
    fill_random(data, sizeof(data), 1);

    struct dht_manifest m;
    write_blob(d, data, 100, 7, &m);
    ck_assert_uint_eq(m.size, 100);
    ck_assert_ptr_nonnull(m.inline_data);
    ck_assert_uint_eq(m.nchunks, 0);
    uint8_t h[DHT_HASH_LEN];
    hash_of(data, 100, h);
    ck_assert_msg(memcmp(m.content_hash, h, DHT_HASH_LEN) == 0, "content hash mismatch");
    ck_assert_int_eq(memcmp(m.inline_data, data, 100), 0);

    /* No chunk was stored. */
    char pkey[5 + 2 * DHT_HASH_LEN + 1];
    chunk_pkey(h, pkey);
    struct dht_row row;
    ck_assert_int_eq(dht_engine_get_any(d, pkey, "", &row), MG_ENOTFOUND);

    unsigned char out[200];
    size_t got;
    ck_assert_int_eq(dht_blob_read(d, &m, 10, out, 20, &got), 0);
    ck_assert_uint_eq(got, 20);
    ck_assert_int_eq(memcmp(out, data + 10, 20), 0);
    ck_assert_int_eq(dht_blob_read(d, &m, 90, out, 200, &got), 0);
    ck_assert_uint_eq(got, 10);
    ck_assert_int_eq(dht_blob_read(d, &m, 100, out, 200, &got), 0);
    ck_assert_uint_eq(got, 0);
    assert_manifest_roundtrip(&m);
    dht_manifest_release(&m);

    /* Exactly DHT_INLINE_MAX is inline; one more byte is chunked. */
    write_blob(d, data, DHT_INLINE_MAX, 4096, &m);
    ck_assert_ptr_nonnull(m.inline_data);
    assert_manifest_roundtrip(&m);
    dht_manifest_release(&m);
    unsigned char *more = malloc(DHT_INLINE_MAX + 1);
    fill_random(more, DHT_INLINE_MAX + 1, 2);
    write_blob(d, more, DHT_INLINE_MAX + 1, 5000, &m);
    ck_assert_ptr_null(m.inline_data);
    ck_assert_uint_eq(m.nchunks, 1);
    unsigned char *back = malloc(DHT_INLINE_MAX + 1);
    read_range(d, &m, 0, back, DHT_INLINE_MAX + 1);
    ck_assert_int_eq(memcmp(back, more, DHT_INLINE_MAX + 1), 0);
    assert_manifest_roundtrip(&m);
    dht_manifest_release(&m);
    free(more);
    free(back);

    /* The empty file. */
    write_blob(d, data, 0, 1, &m);
    ck_assert_uint_eq(m.size, 0);
    ck_assert_ptr_nonnull(m.inline_data);
    hash_of("", 0, h);
    ck_assert_int_eq(memcmp(m.content_hash, h, DHT_HASH_LEN), 0);
    ck_assert_int_eq(dht_blob_read(d, &m, 0, out, sizeof(out), &got), 0);
    ck_assert_uint_eq(got, 0);
    assert_manifest_roundtrip(&m);
    dht_manifest_release(&m);
    dht_close(d);
}
END_TEST

START_TEST(test_blob_chunked)
{
    struct dht *d = open_store();
    size_t len = 3 * DHT_CHUNK_SIZE + DHT_CHUNK_SIZE / 2;
    unsigned char *data = malloc(len);
    unsigned char *back = malloc(len);
    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_nonnull(back);
    fill_random(data, len, 42);

    struct dht_manifest m;
    write_blob(d, data, len, 77777, &m);
    ck_assert_uint_eq(m.size, len);
    ck_assert_ptr_null(m.inline_data);
    ck_assert_uint_eq(m.nchunks, 4);
    uint8_t h[DHT_HASH_LEN];
    hash_of(data, len, h);
    ck_assert_msg(memcmp(m.content_hash, h, DHT_HASH_LEN) == 0, "content hash mismatch");
    for (size_t i = 0; i < 4; i++) {
        size_t clen = i < 3 ? DHT_CHUNK_SIZE : DHT_CHUNK_SIZE / 2;
        hash_of(data + i * DHT_CHUNK_SIZE, clen, h);
        ck_assert_msg(memcmp(m.chunks[i], h, DHT_HASH_LEN) == 0, "chunk %zu hash", i);
        char pkey[5 + 2 * DHT_HASH_LEN + 1];
        chunk_pkey(h, pkey);
        struct dht_row row;
        ck_assert_int_eq(dht_get(d, pkey, "", &row), 0);
        ck_assert_uint_eq(row.value_len, clen);
        dht_row_release(&row);
    }

    /* Whole content. */
    memset(back, 0, len);
    read_range(d, &m, 0, back, len);
    ck_assert_msg(memcmp(back, data, len) == 0, "whole content differs");

    /* Ranges crossing chunk boundaries and at odd offsets. */
    struct {
        uint64_t off;
        size_t len;
    } ranges[] = {
        {0, 1},
        {DHT_CHUNK_SIZE - 1, 2},
        {DHT_CHUNK_SIZE - 100, 2 * DHT_CHUNK_SIZE + 200},
        {2 * DHT_CHUNK_SIZE, DHT_CHUNK_SIZE},
        {12345, 3 * DHT_CHUNK_SIZE},
        {len - 1, 1},
        {3 * DHT_CHUNK_SIZE + 1, DHT_CHUNK_SIZE / 2 - 1},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        memset(back, 0, ranges[i].len);
        read_range(d, &m, ranges[i].off, back, ranges[i].len);
        ck_assert_msg(memcmp(back, data + ranges[i].off, ranges[i].len) == 0, "range %zu differs",
                      i);
    }

    /* One call stops at the chunk boundary; a call past the end gives 0. */
    size_t got;
    ck_assert_int_eq(dht_blob_read(d, &m, DHT_CHUNK_SIZE - 10, back, 100, &got), 0);
    ck_assert_uint_eq(got, 10);
    ck_assert_int_eq(dht_blob_read(d, &m, len - 5, back, 100, &got), 0);
    ck_assert_uint_eq(got, 5);
    ck_assert_int_eq(dht_blob_read(d, &m, len, back, 100, &got), 0);
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(dht_blob_read(d, &m, UINT64_MAX, back, 100, &got), 0);
    ck_assert_uint_eq(got, 0);

    assert_manifest_roundtrip(&m);

    /* A fresh handle has an empty chunk cache: now the store is read. */
    dht_close(d);
    d = open_store();
    read_range(d, &m, DHT_CHUNK_SIZE / 2, back, 2 * DHT_CHUNK_SIZE);
    ck_assert_int_eq(memcmp(back, data + DHT_CHUNK_SIZE / 2, 2 * DHT_CHUNK_SIZE), 0);
    dht_close(d);
    d = open_store();

    /* A chunk whose bytes do not match its name is an I/O error. */
    char pkey[5 + 2 * DHT_HASH_LEN + 1];
    chunk_pkey(m.chunks[2], pkey);
    struct dht_row bad = {.version = {dht_clock_now(d), 1}};
    bad.value = calloc(1, DHT_CHUNK_SIZE);
    bad.value_len = DHT_CHUNK_SIZE;
    hash_of(bad.value, DHT_CHUNK_SIZE, bad.hash);
    int applied = 0;
    ck_assert_int_eq(dht_engine_apply(d, pkey, "", &bad, &applied), 0);
    ck_assert_int_eq(applied, 1);
    free(bad.value);
    ck_assert_int_eq(dht_blob_read(d, &m, 2 * DHT_CHUNK_SIZE + 5, back, 10, &got), MG_EIO);
    ck_assert_uint_eq(got, 0);

    /* A missing chunk is an I/O error, not a short file. */
    chunk_pkey(m.chunks[1], pkey);
    ck_assert_int_eq(dht_delete(d, pkey, "", NULL), 0);
    ck_assert_int_eq(dht_blob_read(d, &m, DHT_CHUNK_SIZE + 5, back, 10, &got), MG_EIO);
    ck_assert_uint_eq(got, 0);
    /* A manifest naming the wrong chunk is caught by its hash. */
    memcpy(m.chunks[1], m.chunks[0], DHT_HASH_LEN);
    ck_assert_int_eq(dht_blob_read(d, &m, 3 * DHT_CHUNK_SIZE + 5, back, 10, &got), 0);
    memcpy(m.chunks[3], m.chunks[0], DHT_HASH_LEN);
    ck_assert_int_eq(dht_blob_read(d, &m, 3 * DHT_CHUNK_SIZE + 5, back, 10, &got), MG_EIO);

    dht_manifest_release(&m);
    free(data);
    free(back);
    dht_close(d);
}
END_TEST

START_TEST(test_blob_dedup)
{
    struct dht *d = open_store();
    /* Two identical chunks and a distinct tail. */
    size_t len = 2 * DHT_CHUNK_SIZE + 1000;
    unsigned char *data = malloc(len);
    fill_random(data, DHT_CHUNK_SIZE, 7);
    memcpy(data + DHT_CHUNK_SIZE, data, DHT_CHUNK_SIZE);
    fill_random(data + 2 * DHT_CHUNK_SIZE, 1000, 8);

    struct dht_manifest m;
    write_blob(d, data, len, DHT_CHUNK_SIZE, &m);
    ck_assert_uint_eq(m.nchunks, 3);
    ck_assert_int_eq(memcmp(m.chunks[0], m.chunks[1], DHT_HASH_LEN), 0);
    ck_assert_int_ne(memcmp(m.chunks[0], m.chunks[2], DHT_HASH_LEN), 0);

    char pkey[5 + 2 * DHT_HASH_LEN + 1];
    chunk_pkey(m.chunks[0], pkey);
    struct dht_row first, again;
    ck_assert_int_eq(dht_get(d, pkey, "", &first), 0);
    uint64_t phlc;
    ck_assert_int_eq(dht_partition_hlc(d, pkey, &phlc), 0);
    ck_assert_uint_eq(phlc, first.version.hlc);

    /* The same file again: no chunk is rewritten. */
    struct dht_manifest m2;
    write_blob(d, data, len, 65536, &m2);
    ck_assert_int_eq(memcmp(m2.content_hash, m.content_hash, DHT_HASH_LEN), 0);
    ck_assert_int_eq(memcmp(m2.chunks, m.chunks, 3 * DHT_HASH_LEN), 0);
    ck_assert_int_eq(dht_get(d, pkey, "", &again), 0);
    ck_assert_msg(dht_version_cmp(&first.version, &again.version) == 0,
                  "identical chunk was written again");
    chunk_pkey(m.chunks[2], pkey);
    ck_assert_int_eq(dht_partition_hlc(d, pkey, &phlc), 0);
    dht_row_release(&again);
    ck_assert_int_eq(dht_get(d, pkey, "", &again), 0);
    ck_assert_uint_eq(phlc, again.version.hlc);

    unsigned char *back = malloc(len);
    read_range(d, &m2, 0, back, len);
    ck_assert_int_eq(memcmp(back, data, len), 0);

    dht_row_release(&first);
    dht_row_release(&again);
    dht_manifest_release(&m);
    dht_manifest_release(&m2);
    free(back);
    free(data);
    dht_close(d);
}
END_TEST

START_TEST(test_blob_limits)
{
    struct dht *d = open_store();
    struct dht_blob_writer *w = NULL;
    struct dht_manifest m;
    ck_assert_int_eq(dht_blob_writer_new(d, 10, &w), 0);
    ck_assert_int_eq(dht_blob_write(w, "12345", 5), 0);
    ck_assert_int_eq(dht_blob_write(w, "12345", 5), 0);
    ck_assert_int_eq(dht_blob_write(w, "", 0), 0);
    ck_assert_int_eq(dht_blob_write(w, "1", 1), MG_ETOOBIG);
    ck_assert_int_eq(dht_blob_write(w, "1", 1), MG_EINVAL);
    ck_assert_int_eq(dht_blob_finish(w, &m), MG_EINVAL);
    dht_manifest_release(&m);
    dht_blob_writer_free(w);

    ck_assert_int_eq(dht_blob_writer_new(d, 10, &w), 0);
    ck_assert_int_eq(dht_blob_write(w, "0123456789", 10), 0);
    ck_assert_int_eq(dht_blob_finish(w, &m), 0);
    ck_assert_uint_eq(m.size, 10);
    /* A finished writer takes no more. */
    ck_assert_int_eq(dht_blob_write(w, "x", 1), MG_EINVAL);
    dht_manifest_release(&m);
    dht_blob_writer_free(w);
    dht_blob_writer_free(NULL);

    /* An abandoned writer frees cleanly. */
    ck_assert_int_eq(dht_blob_writer_new(d, 0, &w), 0);
    unsigned char *data = malloc(DHT_CHUNK_SIZE + 10);
    fill_random(data, DHT_CHUNK_SIZE + 10, 3);
    ck_assert_int_eq(dht_blob_write(w, data, DHT_CHUNK_SIZE + 10), 0);
    dht_blob_writer_free(w);
    free(data);
    dht_close(d);
}
END_TEST

START_TEST(test_manifest_decode_hostile)
{
    struct dht_manifest m, inl, out;
    struct buf enc, enc_inline;
    buf_init(&enc);
    buf_init(&enc_inline);

    dht_manifest_init(&m);
    m.size = 2 * DHT_CHUNK_SIZE + 1;
    m.nchunks = 3;
    m.chunks = calloc(3, DHT_HASH_LEN);
    for (int i = 0; i < 3; i++)
        memset(m.chunks[i], 0x10 + i, DHT_HASH_LEN);
    memset(m.content_hash, 0xab, DHT_HASH_LEN);
    ck_assert_int_eq(dht_manifest_encode(&m, &enc), 0);

    dht_manifest_init(&inl);
    inl.size = 5;
    inl.inline_data = strdup("hello");
    ck_assert_int_eq(dht_manifest_encode(&inl, &enc_inline), 0);

    /* Inconsistent manifests are not encoded. */
    struct buf junk;
    buf_init(&junk);
    m.nchunks = 2;
    ck_assert_int_eq(dht_manifest_encode(&m, &junk), MG_EINVAL);
    m.nchunks = 3;
    inl.size = DHT_INLINE_MAX + 1;
    ck_assert_int_eq(dht_manifest_encode(&inl, &junk), MG_EINVAL);
    inl.size = 5;
    ck_assert_uint_eq(junk.len, 0);
    buf_release(&junk);

    ck_assert_int_eq(dht_manifest_decode(NULL, 0, &out), MG_EINVAL);
    ck_assert_int_eq(dht_manifest_decode("", 0, &out), MG_EINVAL);
    ck_assert_int_eq(dht_manifest_decode("garbage that is not a manifest at all, really", 45, &out),
                     MG_EINVAL);

    /* Every truncation, and one byte too many, is refused. Copies on the heap
     * so ASan catches any overread. */
    struct buf *encs[] = {&enc, &enc_inline};
    for (int e = 0; e < 2; e++) {
        for (size_t n = 0; n < encs[e]->len; n++) {
            unsigned char *p = malloc(n ? n : 1);
            memcpy(p, encs[e]->data, n);
            ck_assert_msg(dht_manifest_decode(p, n, &out) == MG_EINVAL,
                          "truncation to %zu accepted", n);
            ck_assert_ptr_null(out.chunks);
            ck_assert_ptr_null(out.inline_data);
            free(p);
        }
        unsigned char *p = malloc(encs[e]->len + 1);
        memcpy(p, encs[e]->data, encs[e]->len);
        p[encs[e]->len] = 0;
        ck_assert_int_eq(dht_manifest_decode(p, encs[e]->len + 1, &out), MG_EINVAL);
        ck_assert_int_eq(dht_manifest_decode(p, encs[e]->len, &out), 0);
        dht_manifest_release(&out);
        free(p);
    }

    /* Targeted corruptions of the header. */
    unsigned char *p = malloc(enc.len);
    size_t bad_bytes[] = {0, 1, 2, 3};
    for (size_t i = 0; i < 4; i++) {
        memcpy(p, enc.data, enc.len);
        p[bad_bytes[i]] ^= 0x40;
        ck_assert_msg(dht_manifest_decode(p, enc.len, &out) == MG_EINVAL, "byte %zu", bad_bytes[i]);
    }
    /* A size that disagrees with the chunk count. */
    memcpy(p, enc.data, enc.len);
    p[4] = 0x7f;
    ck_assert_int_eq(dht_manifest_decode(p, enc.len, &out), MG_EINVAL);
    memcpy(p, enc.data, enc.len);
    memset(p + 4, 0, 8);
    ck_assert_int_eq(dht_manifest_decode(p, enc.len, &out), MG_EINVAL);
    /* A huge chunk count with little data must not allocate or read it. */
    memcpy(p, enc.data, enc.len);
    memset(p + 4, 0xff, 8);
    memset(p + 44, 0xff, 4);
    ck_assert_int_eq(dht_manifest_decode(p, enc.len, &out), MG_EINVAL);
    free(p);

    /* Inline with a size above DHT_INLINE_MAX or not matching its data. */
    p = malloc(enc_inline.len);
    memcpy(p, enc_inline.data, enc_inline.len);
    p[11] = 6;
    ck_assert_int_eq(dht_manifest_decode(p, enc_inline.len, &out), MG_EINVAL);
    free(p);

    /* Random mutations never crash and never leak (ASan). */
    uint64_t x = 88172645463325252ull;
    p = malloc(enc.len);
    for (int it = 0; it < 20000; it++) {
        const struct buf *src = encs[it & 1];
        memcpy(p, src->data, src->len);
        for (int k = 0; k < 1 + it % 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p[x % src->len] = (unsigned char)(x >> 32);
        }
        size_t n = (x >> 8) % (src->len + 1);
        if (dht_manifest_decode(p, n, &out) == 0) {
            ck_assert_uint_le(out.nchunks * DHT_HASH_LEN, n);
            dht_manifest_release(&out);
        }
    }
    free(p);

    dht_manifest_release(&m);
    dht_manifest_release(&inl);
    buf_release(&enc);
    buf_release(&enc_inline);
}
END_TEST

/* ---- concurrency -------------------------------------------------------------- */

#define CONC_THREADS 8
#define CONC_ROWS 200
#define CONC_INCREMENTS 50

struct conc_job {
    struct dht *d;
    int id;
    int failures;
};

static int count_rows(void *ctx, const char *rkey, const struct dht_row *row)
{
    (void)rkey;
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

/* Compare-and-swap increment of a shared counter with If-Match. */
static int increment(struct dht *d)
{
    for (;;) {
        struct dht_row row;
        int rc = dht_get(d, "shared", "counter", &row);
        if (rc)
            return rc;
        long v = strtol(row.value, NULL, 10);
        struct dht_cond c = {.kind = DHT_COND_MATCH};
        memcpy(c.hash, row.hash, DHT_HASH_LEN);
        dht_row_release(&row);
        char s[32];
        int n = snprintf(s, sizeof(s), "%ld", v + 1);
        rc = dht_put(d, "shared", "counter", s, (size_t)n, &c, NULL, NULL);
        if (rc != MG_EPRECOND)
            return rc;
    }
}

static void *conc_thread(void *arg)
{
    struct conc_job *j = arg;
    char pkey[32], rkey[32], val[64];
    snprintf(pkey, sizeof(pkey), "conc/%d", j->id);
    for (int i = 0; i < CONC_ROWS; i++) {
        snprintf(rkey, sizeof(rkey), "r%04d", i);
        int n = snprintf(val, sizeof(val), "thread %d row %d", j->id, i);
        if (dht_put(j->d, pkey, rkey, val, (size_t)n, NULL, NULL, NULL))
            j->failures++;
        struct dht_row row;
        if (dht_get(j->d, pkey, rkey, &row) || row.value_len != (size_t)n ||
            memcmp(row.value, val, (size_t)n) != 0)
            j->failures++;
        dht_row_release(&row);
        /* Reads of another thread's partition run beside its writes. */
        snprintf(rkey, sizeof(rkey), "conc/%d", (j->id + 1) % CONC_THREADS);
        int count = 0;
        if (dht_scan(j->d, rkey, NULL, 0, count_rows, &count))
            j->failures++;
        if (i % 4 == 0 && i / 4 < CONC_INCREMENTS && increment(j->d))
            j->failures++;
    }
    return NULL;
}

START_TEST(test_concurrency)
{
    /* Fewer readers than threads, so the pool is contended. */
    struct dht *d = open_dir(data_dir, 3);
    ck_assert_int_eq(put_str(d, "shared", "counter", "0", NULL), 0);
    pthread_t th[CONC_THREADS];
    struct conc_job jobs[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        jobs[i] = (struct conc_job){.d = d, .id = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, conc_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(jobs[i].failures == 0, "thread %d had %d failures", i, jobs[i].failures);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        char pkey[32];
        snprintf(pkey, sizeof(pkey), "conc/%d", i);
        int count = 0;
        ck_assert_int_eq(dht_scan(d, pkey, NULL, 0, count_rows, &count), 0);
        ck_assert_int_eq(count, CONC_ROWS);
    }
    /* No lost update: each If-Match increment was atomic. */
    char want[32];
    snprintf(want, sizeof(want), "%d", CONC_THREADS * CONC_INCREMENTS);
    assert_value(d, "shared", "counter", want);
    dht_close(d);
}
END_TEST

struct nested {
    struct dht *d;
    int inner;
};

static int nested_scan_cb(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct nested *n = ctx;
    (void)row;
    struct dht_row r;
    int rc = dht_get(n->d, "n", rkey, &r);
    ck_assert_int_eq(rc, 0);
    dht_row_release(&r);
    int count = 0;
    ck_assert_int_eq(dht_scan(n->d, "n", NULL, 0, count_rows, &count), 0);
    n->inner += count;
    /* Writing from inside a scan works too. */
    ck_assert_int_eq(put_str(n->d, "n2", rkey, "copy", NULL), 0);
    return 0;
}

START_TEST(test_nested_calls)
{
    /* One reader: a scan callback that reads again must not wait for itself. */
    struct dht *d = open_dir(data_dir, 1);
    ck_assert_int_eq(put_str(d, "n", "a", "1", NULL), 0);
    ck_assert_int_eq(put_str(d, "n", "b", "2", NULL), 0);
    struct nested n = {.d = d};
    ck_assert_int_eq(dht_scan(d, "n", NULL, 0, nested_scan_cb, &n), 0);
    ck_assert_int_eq(n.inner, 4);
    assert_value(d, "n2", "b", "copy");
    dht_close(d);
}
END_TEST

START_TEST(test_second_process)
{
    /* The CLI opens the store while the server has it open: both write. */
    struct dht *d = open_store();
    ck_assert_int_eq(put_str(d, "p", "server", "1", NULL), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct dht_options o = {.data_dir = data_dir};
        struct dht *c = NULL;
        int bad = dht_open(&o, &c) != 0;
        for (int i = 0; !bad && i < 200; i++) {
            char k[16];
            snprintf(k, sizeof(k), "c%03d", i);
            bad |= put_str(c, "p", k, "child", NULL) != 0;
        }
        if (!bad) {
            struct dht_row row;
            bad |= dht_get(c, "p", "server", &row) != 0;
            dht_row_release(&row);
            bad |= dht_node_id(c) != dht_node_id(d);
        }
        dht_close(c);
        _exit(bad);
    }
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof(k), "s%03d", i);
        ck_assert_int_eq(put_str(d, "p", k, "parent", NULL), 0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child process failed");
    int count = 0;
    ck_assert_int_eq(dht_scan(d, "p", NULL, 0, count_rows, &count), 0);
    ck_assert_int_eq(count, 401);
    assert_value(d, "p", "c199", "child");

    /* Versions written after the child's stay newer than the child's. */
    struct dht_row row;
    ck_assert_int_eq(dht_get(d, "p", "c199", &row), 0);
    struct dht_version v;
    ck_assert_int_eq(dht_put(d, "p", "c199", "x", 1, NULL, &v, NULL), 0);
    ck_assert_int_gt(dht_version_cmp(&v, &row.version), 0);
    dht_row_release(&row);
    dht_close(d);
}
END_TEST

static Suite *dht_suite(void)
{
    Suite *s = suite_create("dht");
    struct {
        const char *name;
        const TTest *tests[8];
    } cases[] = {
        {"rows", {test_put_get_delete, test_invalid_args, test_tombstones, test_oversize}},
        {"conditional", {test_conditional}},
        {"scan", {test_scan, test_changes_since, test_partition_hlc}},
        {"clock", {test_hlc_monotonic, test_hlc_restart, test_hlc_update}},
        {"replication", {test_apply_lww}},
        {"identity", {test_identity}},
        {"blobs",
         {test_blob_inline, test_blob_chunked, test_blob_dedup, test_blob_limits,
          test_manifest_decode_hostile}},
        {"concurrency", {test_concurrency, test_nested_calls, test_second_process}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        for (size_t k = 0; k < 8 && cases[i].tests[k]; k++)
            tcase_add_test(tc, cases[i].tests[k]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dht_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
