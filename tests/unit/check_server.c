/* check_server.c - configuration, accounts and the authentication front. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "meshgate/accounts.h"
#include "meshgate/config.h"
#include "meshgate/dht.h"

static char g_dir[256];

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void tmpdir_setup(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/check_server.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void tmpdir_teardown(void)
{
    rm_rf(g_dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* ---- config ---- */

START_TEST(test_config_defaults_valid)
{
    struct mg_config c;
    char err[256];
    cfg_defaults(&c);
    ck_assert_str_eq(c.listen_host, "127.0.0.1");
    ck_assert_int_eq(c.listen_port, 8080);
    ck_assert_int_eq(cfg_validate(&c, err, sizeof(err)), 0);
    cfg_release(&c);
}
END_TEST

START_TEST(test_config_file_overrides)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/c.json", g_dir);
    write_file(path, "{\"listen\": \"127.0.0.5:9000\", \"threads\": 4,"
                     " \"limits\": {\"max_body\": 4096, \"max_xml_depth\": 10}}");
    struct mg_config c;
    char err[256];
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof(err)), 0);
    ck_assert_str_eq(c.listen_host, "127.0.0.5");
    ck_assert_int_eq(c.listen_port, 9000);
    ck_assert_int_eq(c.threads, 4);
    ck_assert_uint_eq(c.limits.max_body, 4096);
    ck_assert_int_eq(c.limits.max_xml_depth, 10);
    ck_assert_int_eq(cfg_validate(&c, err, sizeof(err)), 0);
    cfg_release(&c);
}
END_TEST

START_TEST(test_config_file_errors)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/c.json", g_dir);
    struct mg_config c;
    char err[256];
    cfg_defaults(&c);

    write_file(path, "{\"no_such_key\": 1}");
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof(err)), MG_EINVAL);
    ck_assert_msg(strstr(err, "no_such_key") != NULL, "error names the key: %s", err);

    write_file(path, "{\"threads\": \"four\"}");
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof(err)), MG_EINVAL);

    write_file(path, "{\"listen\": \"nowhere\"}");
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof(err)), MG_EINVAL);

    write_file(path, "{not json");
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof(err)), MG_EINVAL);

    write_file(path, "[1,2]");
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof(err)), MG_EINVAL);

    c.threads = 1000;
    ck_assert_int_eq(cfg_validate(&c, err, sizeof(err)), MG_EINVAL);
    cfg_release(&c);
}
END_TEST

START_TEST(test_config_discovery)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/c.json", g_dir);
    struct mg_config c;
    char err[256];
    cfg_defaults(&c);
    ck_assert_int_eq(c.discovery, 0); /* off by default */
    write_file(path, "{\"discovery\": true, \"discovery_group\": \"239.1.2.3:4000\"}");
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof(err)), 0);
    ck_assert_int_eq(c.discovery, 1);
    ck_assert_str_eq(c.discovery_group, "239.1.2.3:4000");
    ck_assert_int_eq(cfg_validate(&c, err, sizeof(err)), 0);
    write_file(path, "{\"discovery\": 1}");
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof(err)), MG_EINVAL);
    ck_assert_msg(strstr(err, "true or false") != NULL, "error says what is wanted: %s", err);
    /* Only an IPv4 multicast group with a port will do. */
    const char *bad[] = {"10.0.0.1:4000", "239.1.2.3", "239.1.2.3:0", "[ff02::1]:4000", "x:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        free(c.discovery_group);
        c.discovery_group = strdup(bad[i]);
        ck_assert_msg(cfg_validate(&c, err, sizeof(err)) == MG_EINVAL, "accepted %s", bad[i]);
        ck_assert_msg(strstr(err, "discovery_group") != NULL, "error names the key: %s", err);
    }
    cfg_release(&c);
}
END_TEST

START_TEST(test_config_parse_listen)
{
    char *host = NULL;
    int port = 0;
    ck_assert_int_eq(cfg_parse_listen("127.0.0.1:8080", &host, &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 8080);
    ck_assert_int_eq(cfg_parse_listen("[::1]:443", &host, &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 443);
    ck_assert_int_eq(cfg_parse_listen("host:99999", &host, &port), MG_EINVAL);
    ck_assert_int_eq(cfg_parse_listen(":80", &host, &port), MG_EINVAL);
    ck_assert_int_eq(cfg_parse_listen("127.0.0.1", &host, &port), MG_EINVAL);
    free(host);
}
END_TEST

/* ---- accounts ---- */

static struct dht *open_store(void)
{
    struct dht *d = NULL;
    struct dht_options o = {.data_dir = g_dir, .readers = 2};
    ck_assert_int_eq(dht_open(&o, &d), 0);
    return d;
}

START_TEST(test_account_names)
{
    ck_assert(acct_valid_name("alice"));
    ck_assert(acct_valid_name("a.b-c_d9"));
    ck_assert(acct_valid_name("9lives"));
    ck_assert(!acct_valid_name(""));
    ck_assert(!acct_valid_name(NULL));
    ck_assert(!acct_valid_name("Alice"));
    ck_assert(!acct_valid_name(".hidden"));
    ck_assert(!acct_valid_name("a/b"));
    ck_assert(!acct_valid_name("a b"));
    ck_assert(!acct_valid_name(".."));
    ck_assert(!acct_valid_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

static int count_users(void *ctx, const char *name, int admin)
{
    (void)name;
    int *n = ctx;
    *n += admin ? 100 : 1;
    return 0;
}

START_TEST(test_account_lifecycle)
{
    struct dht *d = open_store();
    int admin = -1;
    ck_assert_int_eq(acct_create(d, "alice", "s3cret", 0), 0);
    ck_assert_int_eq(acct_create(d, "alice", "other", 0), MG_EEXIST);
    ck_assert_int_eq(acct_create(d, "root", "pw", 1), 0);
    ck_assert_int_eq(acct_create(d, "Bad Name", "pw", 0), MG_EINVAL);
    ck_assert_int_eq(acct_create(d, "empty", "", 0), MG_EINVAL);

    ck_assert_int_eq(acct_verify(d, "alice", "s3cret", &admin, NULL), 0);
    ck_assert_int_eq(admin, 0);
    ck_assert_int_eq(acct_verify(d, "root", "pw", &admin, NULL), 0);
    ck_assert_int_eq(admin, 1);
    ck_assert_int_eq(acct_verify(d, "alice", "wrong", &admin, NULL), MG_EDENIED);
    ck_assert_int_eq(acct_verify(d, "nobody", "s3cret", &admin, NULL), MG_EDENIED);

    int n = 0;
    ck_assert_int_eq(acct_list(d, count_users, &n), 0);
    ck_assert_int_eq(n, 101);

    uint8_t h1[DHT_HASH_LEN], h2[DHT_HASH_LEN];
    ck_assert_int_eq(acct_record_hash(d, "alice", h1, NULL), 0);
    ck_assert_int_eq(acct_set_password(d, "alice", "n3w"), 0);
    ck_assert_int_eq(acct_record_hash(d, "alice", h2, NULL), 0);
    ck_assert_int_ne(memcmp(h1, h2, DHT_HASH_LEN), 0);
    ck_assert_int_eq(acct_verify(d, "alice", "s3cret", NULL, NULL), MG_EDENIED);
    ck_assert_int_eq(acct_verify(d, "alice", "n3w", NULL, NULL), 0);
    ck_assert_int_eq(acct_set_password(d, "nobody", "x"), MG_ENOTFOUND);

    ck_assert_int_eq(acct_delete(d, "alice"), 0);
    ck_assert_int_eq(acct_verify(d, "alice", "n3w", NULL, NULL), MG_EDENIED);
    ck_assert_int_eq(acct_delete(d, "alice"), MG_ENOTFOUND);
    n = 0;
    ck_assert_int_eq(acct_list(d, count_users, &n), 0);
    ck_assert_int_eq(n, 100);
    dht_close(d);
}
END_TEST

START_TEST(test_account_hash_not_plaintext)
{
    struct dht *d = open_store();
    ck_assert_int_eq(acct_create(d, "carol", "very-secret-pw", 0), 0);
    struct dht_row row;
    ck_assert_int_eq(dht_get(d, "acct/carol", "", &row), 0);
    ck_assert_ptr_null(memmem(row.value, row.value_len, "very-secret-pw", 14));
    ck_assert_ptr_nonnull(memmem(row.value, row.value_len, "$argon2id$", 10));
    dht_row_release(&row);
    dht_close(d);
}
END_TEST

/* ---- auth front ---- */

START_TEST(test_auth_cache_and_password_change)
{
    struct dht *d = open_store();
    struct mg_config c;
    cfg_defaults(&c);
    ck_assert_int_eq(acct_create(d, "dave", "pw1", 0), 0);
    struct srv_auth *a = auth_new(d, &c);
    ck_assert_ptr_nonnull(a);
    int admin;
    ck_assert_int_eq(auth_check_basic(a, "dave", "pw1", "127.0.0.1", &admin), 0);

    /* a cache hit costs far less than an argon2id verification */
    uint64_t t0 = mg_mono_ms();
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(auth_check_basic(a, "dave", "pw1", "127.0.0.1", &admin), 0);
    ck_assert_msg(mg_mono_ms() - t0 < 2000, "200 cached checks took %llu ms",
                  (unsigned long long)(mg_mono_ms() - t0));

    ck_assert_int_eq(auth_check_basic(a, "dave", "bad", "127.0.0.1", &admin), MG_EDENIED);
    /* after a password change the old cached credential stops working once the
     * cache re-reads the account (every 2 s) */
    ck_assert_int_eq(acct_set_password(d, "dave", "pw2"), 0);
    sleep(3);
    ck_assert_int_eq(auth_check_basic(a, "dave", "pw1", "127.0.0.1", &admin), MG_EDENIED);
    ck_assert_int_eq(auth_check_basic(a, "dave", "pw2", "127.0.0.1", &admin), 0);
    auth_free(a);
    cfg_release(&c);
    dht_close(d);
}
END_TEST

START_TEST(test_auth_lockout)
{
    struct dht *d = open_store();
    struct mg_config c;
    cfg_defaults(&c);
    c.login_max_failures = 3;
    c.login_lockout = 60;
    ck_assert_int_eq(acct_create(d, "erin", "right", 0), 0);
    struct srv_auth *a = auth_new(d, &c);
    int admin;
    /* a credential verified before the attack keeps working during it */
    ck_assert_int_eq(auth_check_basic(a, "erin", "right", "10.0.0.1", &admin), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(auth_check_basic(a, "erin", "guess", "10.0.0.2", &admin), MG_EDENIED);
    ck_assert_int_eq(auth_check_basic(a, "erin", "guess", "10.0.0.2", &admin), MG_ETOOBIG);
    /* the account is locked for unverified credentials, from any address */
    ck_assert_int_eq(auth_check_basic(a, "erin", "guess2", "10.0.0.3", &admin), MG_ETOOBIG);
    ck_assert_int_eq(auth_check_basic(a, "erin", "right", "10.0.0.1", &admin), 0);
    auth_free(a);
    cfg_release(&c);
    dht_close(d);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_add_test(tc, test_config_defaults_valid);
    tcase_add_test(tc, test_config_file_overrides);
    tcase_add_test(tc, test_config_file_errors);
    tcase_add_test(tc, test_config_parse_listen);
    tcase_add_test(tc, test_config_discovery);
    suite_add_tcase(s, tc);
    tc = tcase_create("accounts");
    tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_account_names);
    tcase_add_test(tc, test_account_lifecycle);
    tcase_add_test(tc, test_account_hash_not_plaintext);
    suite_add_tcase(s, tc);
    tc = tcase_create("auth");
    tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_auth_cache_and_password_change);
    tcase_add_test(tc, test_auth_lockout);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    SRunner *sr = srunner_create(server_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
