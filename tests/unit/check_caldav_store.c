/* check_caldav_store.c - the CalDAV/CardDAV parts that live in the store,
 * against a real store in a temporary directory: records carrying a
 * collection type and an object index, the default collections of a new
 * home, the UID index (claims, conflicts, stale entries, purge, rebuild),
 * sync tokens, and the changes a sync token sees (tombstones included). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dav/dav_private.h"
#include "test_tmpdir.h"

static char tmp_dir[64];
static struct dht *store;
static struct mg_config cfg;
static struct dav_module mod;

static void setup(void)
{
    struct dht_options o;
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/check_caldav_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
    memset(&o, 0, sizeof(o));
    o.data_dir = tmp_dir;
    ck_assert_int_eq(dht_open(&o, &store), 0);
    cfg_defaults(&cfg);
    mod.d = store;
    mod.cfg = &cfg;
}

static void teardown(void)
{
    dht_close(store);
    store = NULL;
    cfg_release(&cfg);
    test_tmpdir_remove(tmp_dir);
}

START_TEST(test_record_coll_and_index)
{
    struct dav_record r, d;
    struct dav_objidx x, y;
    struct buf b, idx;
    buf_init(&b);
    buf_init(&idx);
    memset(&x, 0, sizeof(x));
    x.kind = DAV_OBJ_ICAL;
    x.comps = DAV_COMP_VTODO;
    x.lo = -5;
    x.hi = INT64_MAX;
    x.uid.p = "uid-1";
    x.uid.n = 5;
    ck_assert_int_eq(dav_objidx_encode(&x, &idx), 0);
    dav_record_init(&r);
    r.type = DAV_RT_FILE;
    r.index.p = idx.data;
    r.index.n = idx.len;
    ck_assert_int_eq(dav_record_encode(&r, &b), 0);
    ck_assert_int_eq(dav_record_decode(b.data, b.len, &d), 0);
    ck_assert_uint_eq(d.index.n, idx.len);
    ck_assert_int_eq(dav_objidx_decode(&d.index, &y), 0);
    ck_assert_int_eq(y.kind, DAV_OBJ_ICAL);
    ck_assert_uint_eq(y.comps, DAV_COMP_VTODO);
    ck_assert_int_eq(y.lo, -5);
    ck_assert_int_eq(y.hi, INT64_MAX);
    ck_assert_int_eq((int)y.uid.n, 5);
    dav_record_release(&d);
    /* a folder's collection type travels in the second byte */
    buf_reset(&b);
    dav_record_init(&r);
    r.type = DAV_RT_FOLDER;
    r.coll = DAV_COLL_ADDRESSBOOK;
    ck_assert_int_eq(dav_record_encode(&r, &b), 0);
    ck_assert_int_eq(dav_record_decode(b.data, b.len, &d), 0);
    ck_assert_int_eq(d.coll, DAV_COLL_ADDRESSBOOK);
    ck_assert_uint_eq(d.index.n, 0);
    /* an unknown collection type, an empty or cut index: refused */
    b.data[5] = 9;
    ck_assert_int_eq(dav_record_decode(b.data, b.len, &d), MG_EINVAL);
    b.data[5] = DAV_COLL_PLAIN;
    buf_append(&b, "\0\0\0\0", 4);
    ck_assert_int_eq(dav_record_decode(b.data, b.len, &d), MG_EINVAL);
    b.len -= 4;
    buf_append(&b, "\x09\0\0\0ab", 6);
    ck_assert_int_eq(dav_record_decode(b.data, b.len, &d), MG_EINVAL);
    buf_release(&b);
    buf_release(&idx);
}
END_TEST

START_TEST(test_default_collections)
{
    struct dav_res res;
    dav_res_init(&res);
    /* first use of the calendar home makes Personal, inbox and outbox */
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_CALENDARS, "", &res), 0);
    ck_assert_int_eq(res.exists, 1);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_CALENDARS, "personal", &res), 0);
    ck_assert_int_eq(res.exists, 1);
    ck_assert_int_eq(res.rec.coll, DAV_COLL_CALENDAR);
    ck_assert_uint_eq(dav_coll_comps(&res.rec),
                      DAV_COMP_VEVENT | DAV_COMP_VTODO | DAV_COMP_VJOURNAL);
    ck_assert_int_ge(dav_record_find_prop(&res.rec, DAV_NS, "displayname"), 0);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_CALENDARS, "inbox", &res), 0);
    ck_assert_int_eq(res.rec.coll, DAV_COLL_INBOX);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_CALENDARS, "outbox", &res), 0);
    ck_assert_int_eq(res.rec.coll, DAV_COLL_OUTBOX);
    /* a user who deleted Personal does not get it back */
    ck_assert_int_eq(
        dav_tree_delete(&mod, "alice", DAV_KIND_CALENDARS, "personal", DAV_RT_FOLDER, 1), 0);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_CALENDARS, "", &res), 0);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_CALENDARS, "personal", &res), 0);
    ck_assert_int_eq(res.exists, 0);
    /* going straight to the address book makes the home and Contacts */
    ck_assert_int_eq(dav_res_load(&mod, "bob", DAV_KIND_ADDRESSBOOKS, "contacts", &res), 0);
    ck_assert_int_eq(res.exists, 1);
    ck_assert_int_eq(res.rec.coll, DAV_COLL_ADDRESSBOOK);
    /* files trees get nothing */
    ck_assert_int_eq(dav_res_load(&mod, "bob", DAV_KIND_FILES, "contacts", &res), 0);
    ck_assert_int_eq(res.exists, 0);
    dav_res_release(&res);
}
END_TEST

/* Stores an object named name in collection crel carrying uid in its index. */
static void put_obj(const char *crel, const char *name, const char *uid)
{
    struct dav_res res;
    struct dav_record rec;
    struct dav_objidx x;
    struct buf rel, idx;
    buf_init(&rel);
    buf_init(&idx);
    dav_rel_join(&rel, crel, name);
    memset(&x, 0, sizeof(x));
    x.kind = DAV_OBJ_ICAL;
    x.comps = DAV_COMP_VEVENT;
    x.uid.p = uid;
    x.uid.n = strlen(uid);
    ck_assert_int_eq(dav_objidx_encode(&x, &idx), 0);
    dav_res_init(&res);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_CALENDARS, rel.data, &res), 0);
    dav_record_init(&rec);
    rec.type = DAV_RT_FILE;
    rec.index.p = idx.data;
    rec.index.n = idx.len;
    ck_assert_int_eq(dav_res_store(&mod, &res, &rec), 0);
    dav_res_release(&res);
    buf_release(&rel);
    buf_release(&idx);
}

START_TEST(test_uid_index)
{
    char *holder = NULL;
    ck_assert_int_eq(
        dav_coll_create(&mod, "alice", DAV_KIND_CALENDARS, "c", DAV_COLL_CALENDAR, 0, NULL, 0), 0);
    ck_assert_int_eq(
        dav_coll_create(&mod, "alice", DAV_KIND_CALENDARS, "c", DAV_COLL_CALENDAR, 0, NULL, 0),
        MG_EEXIST);
    /* a claim, a repeated claim by the same name, a conflicting claim */
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u1", "a.ics", &holder),
                     0);
    put_obj("c", "a.ics", "u1");
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u1", "a.ics", &holder),
                     0);
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u1", "b.ics", &holder),
                     MG_EEXIST);
    ck_assert_str_eq(holder, "a.ics");
    free(holder);
    holder = NULL;
    /* another collection has its own UIDs */
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "d", "u1", "x.ics", &holder),
                     0);
    /* a stale entry (its object is gone or has another UID) is taken over */
    ck_assert_int_eq(
        dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u2", "gone.ics", &holder), 0);
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u2", "b.ics", &holder),
                     0);
    put_obj("c", "c.ics", "other");
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u3", "c.ics", &holder),
                     0);
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u3", "d.ics", &holder),
                     0);
    /* release only drops the entry of the named resource; long UIDs work */
    ck_assert_int_eq(dav_uid_release(&mod, "alice", DAV_KIND_CALENDARS, "c", "u1", "zzz.ics"), 0);
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u1", "b.ics", &holder),
                     MG_EEXIST);
    free(holder);
    holder = NULL;
    char longuid[3000];
    memset(longuid, 'u', sizeof(longuid) - 1);
    longuid[sizeof(longuid) - 1] = '\0';
    ck_assert_int_eq(
        dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", longuid, "long.ics", &holder), 0);
    /* rebuild: from the members only (u1 at a.ics, other at c.ics) */
    ck_assert_int_eq(dav_uid_rebuild(&mod, "alice", DAV_KIND_CALENDARS, "c"), 0);
    ck_assert_int_eq(
        dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "other", "e.ics", &holder),
        MG_EEXIST);
    ck_assert_str_eq(holder, "c.ics");
    free(holder);
    holder = NULL;
    ck_assert_int_eq(dav_uid_purge(&mod, "alice", DAV_KIND_CALENDARS, "c"), 0);
    /* after a purge the first claim of a live UID verifies and conflicts again
     * only through a new entry: a.ics still holds u1, unindexed */
    ck_assert_int_eq(dav_uid_claim(&mod, "alice", DAV_KIND_CALENDARS, "c", "u1", "a.ics", &holder),
                     0);
}
END_TEST

struct seen {
    int live, dead;
};

static int count_change(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct seen *s = ctx;
    if (!rkey[0])
        return 0;
    if (row->tombstone)
        s->dead++;
    else
        s->live++;
    return 0;
}

START_TEST(test_sync_tokens)
{
    char tok[96];
    uint64_t hlc = 0, cur = 0;
    struct seen s = {0, 0};
    dav_sync_token(123456789, tok, sizeof(tok));
    ck_assert_str_eq(tok, DAV_SYNC_PREFIX "123456789");
    ck_assert_int_eq(dav_sync_token_parse(tok, &hlc), 0);
    ck_assert_uint_eq(hlc, 123456789);
    static const char *const bad[] = {"",
                                      "http://meshgate/sync/",
                                      "http://meshgate/sync/-1",
                                      "http://meshgate/sync/1x",
                                      "urn:x",
                                      "http://meshgate/sync/99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(dav_sync_token_parse(bad[i], &hlc) == MG_EINVAL, "accepted %s", bad[i]);
    /* what a token sees: changes and deletions newer than it */
    ck_assert_int_eq(
        dav_coll_create(&mod, "alice", DAV_KIND_CALENDARS, "s", DAV_COLL_CALENDAR, 0, NULL, 0), 0);
    put_obj("s", "1.ics", "one");
    put_obj("s", "2.ics", "two");
    ck_assert_int_eq(dht_partition_hlc(store, "coll/alice/calendars/s", &cur), 0);
    put_obj("s", "3.ics", "three");
    ck_assert_int_eq(dht_delete(store, "coll/alice/calendars/s", "1.ics", NULL), 0);
    ck_assert_int_eq(dht_changes_since(store, "coll/alice/calendars/s", cur, count_change, &s), 0);
    ck_assert_int_eq(s.live, 1);
    ck_assert_int_eq(s.dead, 1);
    uint64_t now = 0;
    ck_assert_int_eq(dht_partition_hlc(store, "coll/alice/calendars/s", &now), 0);
    ck_assert_uint_gt(now, cur);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("caldav_store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_record_coll_and_index);
    tcase_add_test(tc, test_default_collections);
    tcase_add_test(tc, test_uid_index);
    tcase_add_test(tc, test_sync_tokens);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
