/* check_dav_resource.c - the DAV URL space, path -> store key mapping, the
 * resource record encoding (garbage included), lock rows, and the tree
 * operations against a real store in a temporary directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dav/dav_private.h"
#include "test_tmpdir.h"

/* ---- URL space ---- */

START_TEST(test_path_areas)
{
    struct dav_path p;
    ck_assert_int_eq(dav_path_parse("/dav/", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_ROOT);
    ck_assert_int_eq(dav_path_parse("/dav", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_ROOT);
    ck_assert_int_eq(dav_path_parse("/davx/", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_NONE);
    ck_assert_int_eq(dav_path_parse("/api/", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_NONE);
    ck_assert_int_eq(dav_path_parse("/dav/unknown/x", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_NONE);
    ck_assert_int_eq(dav_path_parse("/dav/files/", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_KIND_HOME);
    ck_assert_int_eq(p.kind, DAV_KIND_FILES);
    ck_assert_int_eq(dav_path_parse("/dav/calendars/", &p), 0);
    ck_assert_int_eq(p.kind, DAV_KIND_CALENDARS);
    ck_assert_int_eq(dav_path_parse("/dav/principals/", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_PRINCIPALS);
    ck_assert_int_eq(dav_path_parse("/dav/principals/alice/", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_PRINCIPAL);
    ck_assert_str_eq(p.user, "alice");
    ck_assert_int_eq(dav_path_parse("/dav/principals/alice/x", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_NONE);
    ck_assert_int_eq(dav_path_parse("/dav/principals/Alice!/", &p), MG_EINVAL);
}
END_TEST

START_TEST(test_path_tree)
{
    struct dav_path p;
    ck_assert_int_eq(dav_path_parse("/dav/files/alice", &p), 0);
    ck_assert_int_eq(p.area, DAV_AREA_TREE);
    ck_assert_str_eq(p.user, "alice");
    ck_assert_str_eq(p.rel, "");
    ck_assert_int_eq(p.slash, 0);
    dav_path_release(&p);
    ck_assert_int_eq(dav_path_parse("/dav/files/alice/a b/\xc3\xbc/", &p), 0);
    ck_assert_str_eq(p.rel, "a b/\xc3\xbc");
    ck_assert_int_eq(p.slash, 1);
    dav_path_release(&p);
    ck_assert_int_eq(dav_path_parse("/dav/addressbooks/bob/c", &p), 0);
    ck_assert_int_eq(p.kind, DAV_KIND_ADDRESSBOOKS);
    ck_assert_str_eq(p.rel, "c");
    dav_path_release(&p);
    /* bad users, segments and lengths */
    ck_assert_int_eq(dav_path_parse("/dav/files/Bad!/", &p), MG_EINVAL);
    ck_assert_int_eq(dav_path_parse("/dav/files/.x/", &p), MG_EINVAL);
    char longuser[100];
    memset(longuser, 'a', sizeof(longuser));
    longuser[99] = '\0';
    char path[2048];
    snprintf(path, sizeof(path), "/dav/files/%s/x", longuser);
    ck_assert_int_eq(dav_path_parse(path, &p), MG_EINVAL);
    char seg[300];
    memset(seg, 's', sizeof(seg));
    seg[299] = '\0';
    snprintf(path, sizeof(path), "/dav/files/alice/%s", seg);
    ck_assert_int_eq(dav_path_parse(path, &p), MG_EINVAL);
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "/dav/files/alice");
    for (int i = 0; i < 20; i++)
        buf_puts(&b, "/0123456789012345678901234567890123456789012345678901234567890123");
    ck_assert_int_eq(dav_path_parse(b.data, &p), MG_ETOOBIG);
    buf_release(&b);
}
END_TEST

START_TEST(test_keys)
{
    struct buf b;
    const char *rkey;
    buf_init(&b);
    ck_assert_int_eq(dav_record_keys(&b, "alice", DAV_KIND_FILES, "", &rkey), 0);
    ck_assert_str_eq(b.data, "coll/alice/files");
    ck_assert_str_eq(rkey, "");
    buf_reset(&b);
    ck_assert_int_eq(dav_record_keys(&b, "alice", DAV_KIND_FILES, "a", &rkey), 0);
    ck_assert_str_eq(b.data, "coll/alice/files");
    ck_assert_str_eq(rkey, "a");
    buf_reset(&b);
    ck_assert_int_eq(dav_record_keys(&b, "alice", DAV_KIND_CALENDARS, "a/b/c d", &rkey), 0);
    ck_assert_str_eq(b.data, "coll/alice/calendars/a/b");
    ck_assert_str_eq(rkey, "c d");
    buf_reset(&b);
    ck_assert_int_eq(dav_folder_pkey(&b, "alice", DAV_KIND_FILES, "a/b"), 0);
    ck_assert_str_eq(b.data, "coll/alice/files/a/b");
    buf_reset(&b);
    ck_assert_int_eq(dav_folder_pkey(&b, "alice", DAV_KIND_FILES, ""), 0);
    ck_assert_str_eq(b.data, "coll/alice/files");
    buf_reset(&b);
    ck_assert_int_eq(dav_lock_key(&b, DAV_KIND_FILES, ""), 0);
    ck_assert_str_eq(b.data, "files/");
    buf_reset(&b);
    ck_assert_int_eq(dav_lock_key(&b, DAV_KIND_FILES, "a/b"), 0);
    ck_assert_str_eq(b.data, "files/a/b");
    buf_reset(&b);
    ck_assert_int_eq(dav_tree_path(&b, "alice", DAV_KIND_FILES, "a/b", 1), 0);
    ck_assert_str_eq(b.data, "/dav/files/alice/a/b/");
    buf_reset(&b);
    ck_assert_int_eq(dav_tree_path(&b, "alice", DAV_KIND_FILES, "", 1), 0);
    ck_assert_str_eq(b.data, "/dav/files/alice/");
    buf_reset(&b);
    ck_assert_int_eq(dav_put_href(&b, "/dav/files/alice/\xc3\xbc x&<\".txt"), 0);
    ck_assert_str_eq(b.data, "/dav/files/alice/%C3%BC%20x%26%3C%22.txt");
    buf_reset(&b);
    ck_assert_int_eq(dav_rel_join(&b, "", "x"), 0);
    ck_assert_str_eq(b.data, "x");
    buf_reset(&b);
    ck_assert_int_eq(dav_rel_join(&b, "a/b", "x"), 0);
    ck_assert_str_eq(b.data, "a/b/x");
    buf_release(&b);
    char *p = dav_rel_parent("a/b/c");
    ck_assert_str_eq(p, "a/b");
    free(p);
    p = dav_rel_parent("a");
    ck_assert_str_eq(p, "");
    free(p);
    ck_assert_str_eq(dav_rel_name("a/b/c"), "c");
    ck_assert_str_eq(dav_rel_name("c"), "c");
}
END_TEST

/* ---- records ---- */

static struct dav_bytes bytes(const char *s)
{
    struct dav_bytes b = {s, strlen(s)};
    return b;
}

static void sample_record(struct dav_record *r)
{
    struct dav_prop props[2];
    props[0].ns = bytes("http://example.com/");
    props[0].name = bytes("p1");
    props[0].xml = bytes("<x:p1 xmlns:x=\"http://example.com/\">v</x:p1>");
    props[1].ns = bytes("");
    props[1].name = bytes("plain");
    props[1].xml = bytes("<plain>\xf0\x90\x80\x80</plain>");
    dav_record_init(r);
    r->type = DAV_RT_FILE;
    r->size = 1234567;
    r->mtime_ms = 1700000000123;
    r->ctime_ms = 1600000000456;
    for (int i = 0; i < DHT_HASH_LEN; i++)
        r->hash[i] = (uint8_t)i;
    r->ctype = bytes("text/plain");
    r->manifest = bytes("MANIFEST");
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(dav_record_set_prop(r, &props[i]), 0);
}

START_TEST(test_record_roundtrip)
{
    struct dav_record r, d;
    struct buf b;
    char etag[64];
    sample_record(&r);
    buf_init(&b);
    ck_assert_int_eq(dav_record_encode(&r, &b), 0);
    ck_assert_int_eq(dav_record_decode(b.data, b.len, &d), 0);
    ck_assert_int_eq(d.type, DAV_RT_FILE);
    ck_assert_uint_eq(d.size, 1234567);
    ck_assert_int_eq(d.mtime_ms, 1700000000123);
    ck_assert_int_eq(d.ctime_ms, 1600000000456);
    ck_assert_mem_eq(d.hash, r.hash, DHT_HASH_LEN);
    ck_assert_uint_eq(d.ctype.n, 10);
    ck_assert_mem_eq(d.ctype.p, "text/plain", 10);
    ck_assert_mem_eq(d.manifest.p, "MANIFEST", 8);
    ck_assert_uint_eq(d.nprops, 2);
    ck_assert_int_eq(dav_record_find_prop(&d, "http://example.com/", "p1"), 0);
    ck_assert_int_eq(dav_record_find_prop(&d, "", "plain"), 1);
    ck_assert_int_eq(dav_record_find_prop(&d, "", "p1"), -1);
    ck_assert_mem_eq(d.props[1].xml.p, "<plain>\xf0\x90\x80\x80</plain>", 19);
    dav_record_etag(&d, etag, sizeof(etag));
    ck_assert_str_eq(etag, "\"000102030405060708090a0b0c0d0e0f\"");
    /* replace and remove */
    struct dav_prop np = {{"", 0}, {"plain", 5}, {"<plain/>", 8}};
    ck_assert_int_eq(dav_record_set_prop(&d, &np), 0);
    ck_assert_uint_eq(d.nprops, 2);
    ck_assert_mem_eq(d.props[1].xml.p, "<plain/>", 8);
    dav_record_remove_prop(&d, "http://example.com/", "p1");
    ck_assert_uint_eq(d.nprops, 1);
    ck_assert_int_eq(dav_record_find_prop(&d, "", "plain"), 0);
    dav_record_remove_prop(&d, "urn:none", "x");
    ck_assert_uint_eq(d.nprops, 1);
    dav_record_release(&d);
    dav_record_release(&r);
    buf_release(&b);
}
END_TEST

START_TEST(test_record_garbage)
{
    struct dav_record r, d;
    struct buf b;
    unsigned seed = 7;
    sample_record(&r);
    buf_init(&b);
    ck_assert_int_eq(dav_record_encode(&r, &b), 0);
    /* every truncation and every trailing byte is refused */
    for (size_t n = 0; n < b.len; n++)
        ck_assert_int_eq(dav_record_decode(b.data, n, &d), MG_EINVAL);
    char *longer = malloc(b.len + 1);
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    ck_assert_int_eq(dav_record_decode(longer, b.len + 1, &d), MG_EINVAL);
    free(longer);
    /* random single-byte corruption never crashes */
    for (int round = 0; round < 5000; round++) {
        char *c = malloc(b.len);
        memcpy(c, b.data, b.len);
        for (int k = 0; k < 1 + round % 4; k++)
            c[rand_r(&seed) % b.len] = (char)rand_r(&seed);
        if (dav_record_decode(c, b.len, &d) == 0) {
            ck_assert(d.ctype.n <= b.len && d.manifest.n <= b.len);
            dav_record_release(&d);
        }
        free(c);
    }
    /* pure noise */
    for (int round = 0; round < 2000; round++) {
        unsigned char noise[200];
        size_t n = (size_t)(rand_r(&seed) % sizeof(noise));
        for (size_t i = 0; i < n; i++)
            noise[i] = (unsigned char)rand_r(&seed);
        if (n >= 4 && round % 2)
            memcpy(noise, "MGR1", 4);
        if (dav_record_decode(noise, n, &d) == 0)
            dav_record_release(&d);
    }
    /* a property count the data cannot hold */
    static const unsigned char huge[] = "MGR1\x01\x00"
                                        "\0\0\0\0\0\0\0\0"
                                        "\0\0\0\0\0\0\0\0"
                                        "\0\0\0\0\0\0\0\0"
                                        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                                        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                                        "\0\0"
                                        "\0\0\0\0"
                                        "\xff\xff\xff\xff";
    ck_assert_int_eq(dav_record_decode(huge, sizeof(huge) - 1, &d), MG_EINVAL);
    ck_assert_int_eq(dav_record_decode(NULL, 0, &d), MG_EINVAL);
    dav_record_release(&r);
    buf_release(&b);
}
END_TEST

/* ---- lock rows ---- */

START_TEST(test_lock_keys)
{
    struct dav_lock l;
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(dav_key_is_below("files/a/b", "files/a"), 1);
    ck_assert_int_eq(dav_key_is_below("files/ab", "files/a"), 0);
    ck_assert_int_eq(dav_key_is_below("files/a", "files/a"), 0);
    ck_assert_int_eq(dav_key_is_below("files/a", "files/"), 1);
    ck_assert_int_eq(dav_key_is_below("files/", "files/"), 0);
    ck_assert_int_eq(dav_key_is_below("calendars/a", "files/"), 0);
    l.key = "files/a";
    l.infinity = 0;
    ck_assert_int_eq(dav_lock_covers(&l, "files/a"), 1);
    ck_assert_int_eq(dav_lock_covers(&l, "files/a/b"), 0);
    l.infinity = 1;
    ck_assert_int_eq(dav_lock_covers(&l, "files/a/b"), 1);
    ck_assert_int_eq(dav_lock_covers(&l, "files/b"), 0);
    char tok[80];
    dav_lock_new_token(tok, sizeof(tok));
    ck_assert_int_eq(strncmp(tok, "opaquelocktoken:", 16), 0);
    ck_assert_uint_eq(strlen(tok), 16 + 36);
    ck_assert_int_eq(tok[16 + 14], '4');
}
END_TEST

START_TEST(test_lock_rows)
{
    struct dav_lock v[2];
    struct dav_lockset s;
    struct buf b;
    memset(v, 0, sizeof(v));
    v[0].token = "opaquelocktoken:1";
    v[0].owner = "<D:owner xmlns:D=\"DAV:\">me</D:owner>";
    v[0].principal = "alice";
    v[0].exclusive = 1;
    v[0].infinity = 1;
    v[0].folder = 1;
    v[0].timeout = 60;
    v[0].expires_ms = 123456789;
    v[1].token = "opaquelocktoken:2";
    v[1].principal = "alice";
    buf_init(&b);
    ck_assert_int_eq(dav_lockrow_encode(v, 2, &b), 0);
    ck_assert_int_eq(dav_lockrow_decode("files/x", b.data, b.len, &s), 0);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_str_eq(s.v[0].key, "files/x");
    ck_assert_str_eq(s.v[0].token, "opaquelocktoken:1");
    ck_assert_str_eq(s.v[0].owner, v[0].owner);
    ck_assert_int_eq(s.v[0].exclusive, 1);
    ck_assert_int_eq(s.v[0].infinity, 1);
    ck_assert_int_eq(s.v[0].folder, 1);
    ck_assert_int_eq(s.v[0].timeout, 60);
    ck_assert_uint_eq(s.v[0].expires_ms, 123456789);
    ck_assert_ptr_null(s.v[1].owner);
    ck_assert_int_eq(s.v[1].exclusive, 0);
    /* the activelock element */
    buf_reset(&b);
    ck_assert_int_eq(dav_lock_xml(&b, &s.v[0], "/dav/files/u/x y/", 123456789 - 30000), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "<D:exclusive/>"));
    ck_assert_ptr_nonnull(strstr(b.data, "<D:depth>infinity</D:depth>"));
    ck_assert_ptr_nonnull(strstr(b.data, "<D:timeout>Second-30</D:timeout>"));
    ck_assert_ptr_nonnull(strstr(b.data, "<D:href>/dav/files/u/x%20y/</D:href>"));
    ck_assert_ptr_nonnull(strstr(b.data, "me</D:owner>"));
    dav_lockset_release(&s);
    /* garbage */
    static const char *const bad[] = {"",
                                      "{}",
                                      "[1]",
                                      "[{}]",
                                      "[{\"token\":1}]",
                                      "nonsense",
                                      "[{\"token\":\"t\",\"scope\":\"shared\",\"depth\":\"0\"}]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(dav_lockrow_decode("k", bad[i], strlen(bad[i]), &s), MG_EINVAL);
        ck_assert_uint_eq(s.n, 0);
    }
    buf_release(&b);
}
END_TEST

/* ---- against a store ---- */

static char tmp_dir[64];
static struct dht *store;
static struct mg_config cfg;
static struct dav_module mod;

static void store_setup(void)
{
    struct dht_options o;
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/check_dav_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
    memset(&o, 0, sizeof(o));
    o.data_dir = tmp_dir;
    ck_assert_int_eq(dht_open(&o, &store), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.limits.max_body = 1 << 20;
    cfg.limits.max_xml_depth = 64;
    cfg.limits.max_xml_elements = 1000;
    mod.d = store;
    mod.cfg = &cfg;
}

static void store_teardown(void)
{
    dht_close(store);
    store = NULL;
    test_tmpdir_remove(tmp_dir);
}

static void put_file(const char *rel, const char *content)
{
    struct dav_res res;
    struct dav_record rec;
    dav_res_init(&res);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_FILES, rel, &res), 0);
    dav_record_init(&rec);
    rec.type = DAV_RT_FILE;
    rec.size = strlen(content);
    rec.manifest.p = content;
    rec.manifest.n = strlen(content);
    ck_assert_int_eq(dav_res_store(&mod, &res, &rec), 0);
    dav_res_release(&res);
}

static void mkdir_rel(const char *rel)
{
    struct dav_record rec;
    dav_record_init(&rec);
    rec.type = DAV_RT_FOLDER;
    ck_assert_int_eq(dav_folder_create(&mod, "alice", DAV_KIND_FILES, rel, &rec), 0);
}

/* Returns the type of rel, or 0 when it does not exist. */
static int type_of(const char *rel)
{
    struct dav_res res;
    int t;
    dav_res_init(&res);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_FILES, rel, &res), 0);
    t = res.exists ? res.rec.type : 0;
    dav_res_release(&res);
    return t;
}

START_TEST(test_store_root_created)
{
    struct dht_row row;
    ck_assert_int_eq(dht_get(store, "coll/alice/files", "", &row), MG_ENOTFOUND);
    ck_assert_int_eq(type_of(""), DAV_RT_FOLDER);
    ck_assert_int_eq(dht_get(store, "coll/alice/files", "", &row), 0);
    dht_row_release(&row);
    ck_assert_int_eq(type_of("missing"), 0);
}
END_TEST

START_TEST(test_store_tree_ops)
{
    struct dav_res res;
    mkdir_rel("a");
    mkdir_rel("a/b");
    put_file("a/f1", "one");
    put_file("a/b/f2", "two");
    ck_assert_int_eq(type_of("a"), DAV_RT_FOLDER);
    ck_assert_int_eq(type_of("a/b/f2"), DAV_RT_FILE);
    /* creating an existing folder fails */
    struct dav_record rec;
    dav_record_init(&rec);
    rec.type = DAV_RT_FOLDER;
    ck_assert_int_eq(dav_folder_create(&mod, "alice", DAV_KIND_FILES, "a", &rec), MG_EEXIST);
    /* copy the tree */
    dav_res_init(&res);
    ck_assert_int_eq(dav_res_load(&mod, "alice", DAV_KIND_FILES, "a", &res), 0);
    ck_assert_int_eq(dav_tree_copy(&mod, "alice", DAV_KIND_FILES, "a", &res.rec, "c", 0, 0), 0);
    ck_assert_int_eq(type_of("c/b/f2"), DAV_RT_FILE);
    ck_assert_int_eq(type_of("c/f1"), DAV_RT_FILE);
    /* shallow copy */
    ck_assert_int_eq(dav_tree_copy(&mod, "alice", DAV_KIND_FILES, "a", &res.rec, "d", 1, 0), 0);
    ck_assert_int_eq(type_of("d"), DAV_RT_FOLDER);
    ck_assert_int_eq(type_of("d/f1"), 0);
    dav_res_release(&res);
    /* delete recursively */
    ck_assert_int_eq(dav_tree_delete(&mod, "alice", DAV_KIND_FILES, "a", DAV_RT_FOLDER, 1), 0);
    ck_assert_int_eq(type_of("a"), 0);
    ck_assert_int_eq(type_of("a/b/f2"), 0);
    ck_assert_int_eq(type_of("c/b/f2"), DAV_RT_FILE);
    /* a folder recreated at the same place starts empty */
    mkdir_rel("a");
    ck_assert_int_eq(type_of("a/f1"), 0);
}
END_TEST

START_TEST(test_store_leftovers_purged)
{
    /* rows left in a folder's partition by an interrupted delete */
    ck_assert_int_eq(dht_put(store, "coll/alice/files/z", "stale", "x", 1, NULL, NULL, NULL), 0);
    mkdir_rel("z");
    ck_assert_int_eq(type_of("z/stale"), 0);
}
END_TEST

START_TEST(test_store_locks)
{
    struct dav_lock l;
    struct dav_lockset s;
    memset(&l, 0, sizeof(l));
    l.key = "files/a";
    l.token = "opaquelocktoken:A";
    l.principal = "alice";
    l.exclusive = 1;
    l.timeout = 60;
    l.expires_ms = mg_now_ms() + 60000;
    ck_assert_int_eq(dav_lock_add(&mod, "alice", &l), 0);
    l.token = "opaquelocktoken:B";
    l.exclusive = 0;
    ck_assert_int_eq(dav_lock_add(&mod, "alice", &l), 0);
    l.key = "files/a/b";
    l.token = "opaquelocktoken:C";
    ck_assert_int_eq(dav_lock_add(&mod, "alice", &l), 0);
    /* an expired lock is ignored and purged */
    l.key = "files/old";
    l.token = "opaquelocktoken:D";
    l.expires_ms = mg_now_ms() - 1;
    ck_assert_int_eq(dav_lock_add(&mod, "alice", &l), 0);
    ck_assert_int_eq(dav_locks_load(&mod, "alice", &s), 0);
    ck_assert_uint_eq(s.n, 3);
    dav_lockset_release(&s);
    struct dht_row row;
    ck_assert_int_eq(dht_get(store, "lock/alice", "files/old", &row), MG_ENOTFOUND);
    /* refresh, remove */
    ck_assert_int_eq(
        dav_lock_refresh(&mod, "alice", "files/a", "opaquelocktoken:A", 99, mg_now_ms() + 99000),
        0);
    ck_assert_int_eq(dav_lock_refresh(&mod, "alice", "files/a", "opaquelocktoken:Z", 99, 1),
                     MG_ENOTFOUND);
    ck_assert_int_eq(dav_lock_remove(&mod, "alice", "files/a", "opaquelocktoken:B"), 0);
    ck_assert_int_eq(dav_lock_remove(&mod, "alice", "files/a", "opaquelocktoken:B"), MG_ENOTFOUND);
    ck_assert_int_eq(dav_locks_load(&mod, "alice", &s), 0);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_int_eq(s.v[0].timeout, 99);
    dav_lockset_release(&s);
    /* other users' locks are separate */
    ck_assert_int_eq(dav_locks_load(&mod, "bob", &s), 0);
    ck_assert_uint_eq(s.n, 0);
    /* removing a tree removes the locks below it */
    ck_assert_int_eq(dav_locks_remove_tree(&mod, "alice", "files/a"), 0);
    ck_assert_int_eq(dav_locks_load(&mod, "alice", &s), 0);
    ck_assert_uint_eq(s.n, 0);
    /* a corrupt row does not break loading */
    ck_assert_int_eq(dht_put(store, "lock/alice", "files/q", "junk", 4, NULL, NULL, NULL), 0);
    ck_assert_int_eq(dav_locks_load(&mod, "alice", &s), 0);
    ck_assert_uint_eq(s.n, 0);
}
END_TEST

static Suite *resource_suite(void)
{
    Suite *s = suite_create("dav_resource");
    TCase *tc = tcase_create("paths");
    tcase_add_test(tc, test_path_areas);
    tcase_add_test(tc, test_path_tree);
    tcase_add_test(tc, test_keys);
    suite_add_tcase(s, tc);
    tc = tcase_create("records");
    tcase_add_test(tc, test_record_roundtrip);
    tcase_add_test(tc, test_record_garbage);
    tcase_add_test(tc, test_lock_keys);
    tcase_add_test(tc, test_lock_rows);
    suite_add_tcase(s, tc);
    tc = tcase_create("store");
    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_add_test(tc, test_store_root_created);
    tcase_add_test(tc, test_store_tree_ops);
    tcase_add_test(tc, test_store_leftovers_purged);
    tcase_add_test(tc, test_store_locks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(resource_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
