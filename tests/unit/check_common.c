/* check_common.c - buffers, hex, integers, dates and URL path normalisation. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "meshgate/common.h"

/* ---- buffers ---- */

START_TEST(test_buf_append_and_detach)
{
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(buf_puts(&b, "hello"), 0);
    ck_assert_int_eq(buf_printf(&b, " %d %s", 42, "world"), 0);
    ck_assert_str_eq(b.data, "hello 42 world");
    ck_assert_uint_eq(b.len, 14);
    size_t len;
    char *s = buf_detach(&b, &len);
    ck_assert_str_eq(s, "hello 42 world");
    ck_assert_uint_eq(len, 14);
    ck_assert_ptr_null(b.data);
    free(s);
    s = buf_detach(&b, &len);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(len, 0);
    free(s);
}
END_TEST

START_TEST(test_buf_grows_large)
{
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 100000; i++)
        ck_assert_int_eq(buf_putc(&b, (char)('a' + i % 26)), 0);
    ck_assert_uint_eq(b.len, 100000);
    ck_assert_int_eq(b.data[26], 'a');
    ck_assert_int_eq(b.data[b.len], '\0');
    buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    buf_release(&b);
    buf_release(NULL);
}
END_TEST

START_TEST(test_buf_xml_escape)
{
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(buf_put_xml_escaped(&b, "a<b>&\"c'd"), 0);
    ck_assert_str_eq(b.data, "a&lt;b&gt;&amp;&quot;c&apos;d");
    buf_release(&b);
}
END_TEST

/* ---- hex, integers, dates ---- */

START_TEST(test_hex_roundtrip)
{
    const unsigned char in[4] = {0x00, 0xab, 0x10, 0xff};
    char hex[9];
    mg_hex_encode(in, 4, hex);
    ck_assert_str_eq(hex, "00ab10ff");
    unsigned char out[4];
    ck_assert_int_eq(mg_hex_decode("00AB10ff", out, 4), 0);
    ck_assert_mem_eq(in, out, 4);
    ck_assert_int_eq(mg_hex_decode("00ab10f", out, 4), MG_EINVAL);
    ck_assert_int_eq(mg_hex_decode("00ab10fg", out, 4), MG_EINVAL);
    ck_assert_int_eq(mg_hex_decode("00ab10ff00", out, 4), MG_EINVAL);
}
END_TEST

START_TEST(test_parse_u64)
{
    uint64_t v;
    ck_assert_int_eq(mg_parse_u64("0", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(mg_parse_u64("18446744073709551615", &v), 0);
    ck_assert(v == UINT64_MAX);
    ck_assert_int_eq(mg_parse_u64("18446744073709551616", &v), MG_EINVAL);
    ck_assert_int_eq(mg_parse_u64("-1", &v), MG_EINVAL);
    ck_assert_int_eq(mg_parse_u64("12a", &v), MG_EINVAL);
    ck_assert_int_eq(mg_parse_u64("", &v), MG_EINVAL);
    ck_assert_int_eq(mg_parse_u64(NULL, &v), MG_EINVAL);
}
END_TEST

START_TEST(test_dates)
{
    char out[40];
    mg_http_date(784111777, out, sizeof(out));
    ck_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT"); /* RFC 7231 7.1.1.1 example */
    mg_iso8601(784111777, out, sizeof(out));
    ck_assert_str_eq(out, "1994-11-06T08:49:37Z");
}
END_TEST

/* ---- paths ---- */

static void expect_path(const char *raw, const char *want)
{
    char *out = NULL;
    int rc = mg_path_decode(raw, &out);
    ck_assert_msg(rc == 0, "mg_path_decode(%s) failed: %d", raw, rc);
    ck_assert_msg(strcmp(out, want) == 0, "mg_path_decode(%s) = %s, want %s", raw, out, want);
    free(out);
}

static void expect_bad_path(const char *raw)
{
    char *out = NULL;
    int rc = mg_path_decode(raw, &out);
    ck_assert_msg(rc == MG_EINVAL, "mg_path_decode(%s) should fail, gave %s", raw,
                  out ? out : "(null)");
    ck_assert_ptr_null(out);
}

START_TEST(test_path_decode_normal)
{
    expect_path("/", "/");
    expect_path("/dav/files/alice/", "/dav/files/alice/");
    expect_path("/dav/files/alice/a%20b.txt", "/dav/files/alice/a b.txt");
    expect_path("/dav//files///alice", "/dav/files/alice");
    expect_path("/dav/files/alice/%C3%BC", "/dav/files/alice/\xc3\xbc");
    expect_path("/x?query=1", "/x");
    expect_path("/a/.hidden/..more", "/a/.hidden/..more");
    expect_path("/a/%25", "/a/%");
}
END_TEST

START_TEST(test_path_decode_hostile)
{
    expect_bad_path("/dav/files/alice/../bob/x");
    expect_bad_path("/dav/files/alice/%2e%2e/bob");
    expect_bad_path("/dav/files/alice/%2E%2E%2Fbob");
    expect_bad_path("/dav/files/alice/..%2fbob");
    expect_bad_path("/dav/files/alice/./x");
    expect_bad_path("/dav/files/alice/x%00.txt");
    expect_bad_path("/dav/files/alice/%zz");
    expect_bad_path("/dav/files/alice/%4");
    expect_bad_path("/dav/files/alice/%");
    expect_bad_path("/a/%0a");
    expect_bad_path("/a/%c3");         /* truncated UTF-8 */
    expect_bad_path("/a/%c0%af");      /* overlong '/' */
    expect_bad_path("/a/%ed%a0%80");   /* surrogate */
    expect_bad_path("relative/path");
    expect_bad_path("");
    expect_bad_path(NULL);
}
END_TEST

START_TEST(test_path_encode)
{
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(mg_path_encode(&b, "/dav/files/alice/a b/\xc3\xbc&<x>%.txt"), 0);
    ck_assert_str_eq(b.data, "/dav/files/alice/a%20b/%C3%BC%26%3Cx%3E%25.txt");
    /* encode then decode is the identity */
    char *back = NULL;
    ck_assert_int_eq(mg_path_decode(b.data, &back), 0);
    ck_assert_str_eq(back, "/dav/files/alice/a b/\xc3\xbc&<x>%.txt");
    free(back);
    buf_release(&b);
}
END_TEST

START_TEST(test_strerror)
{
    ck_assert_str_eq(mg_strerror(MG_ENOTFOUND), "not found");
    ck_assert_str_eq(mg_strerror(12345), "unknown error");
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, test_buf_append_and_detach);
    tcase_add_test(tc, test_buf_grows_large);
    tcase_add_test(tc, test_buf_xml_escape);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hex_roundtrip);
    tcase_add_test(tc, test_parse_u64);
    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_strerror);
    suite_add_tcase(s, tc);
    tc = tcase_create("paths");
    tcase_add_test(tc, test_path_decode_normal);
    tcase_add_test(tc, test_path_decode_hostile);
    tcase_add_test(tc, test_path_encode);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(common_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
