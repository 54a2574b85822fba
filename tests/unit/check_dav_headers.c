/* check_dav_headers.c - the request headers DAV reads: Depth, Overwrite,
 * Destination, Timeout, Range, ETag lists, HTTP dates, content types. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../dav/dav_private.h"

/* ---- Depth / Overwrite ---- */

START_TEST(test_depth)
{
    int d = -1;
    ck_assert_int_eq(dav_parse_depth(NULL, DAV_DEPTH_INFINITY, &d), 0);
    ck_assert_int_eq(d, DAV_DEPTH_INFINITY);
    ck_assert_int_eq(dav_parse_depth("0", DAV_DEPTH_INFINITY, &d), 0);
    ck_assert_int_eq(d, DAV_DEPTH_0);
    ck_assert_int_eq(dav_parse_depth(" 1 ", DAV_DEPTH_0, &d), 0);
    ck_assert_int_eq(d, DAV_DEPTH_1);
    ck_assert_int_eq(dav_parse_depth("Infinity", DAV_DEPTH_0, &d), 0);
    ck_assert_int_eq(d, DAV_DEPTH_INFINITY);
    ck_assert_int_eq(dav_parse_depth("2", DAV_DEPTH_0, &d), MG_EINVAL);
    ck_assert_int_eq(dav_parse_depth("", DAV_DEPTH_0, &d), MG_EINVAL);
    ck_assert_int_eq(dav_parse_depth("01", DAV_DEPTH_0, &d), MG_EINVAL);
    ck_assert_int_eq(dav_parse_depth("infinityx", DAV_DEPTH_0, &d), MG_EINVAL);
}
END_TEST

START_TEST(test_overwrite)
{
    int o = -1;
    ck_assert_int_eq(dav_parse_overwrite(NULL, &o), 0);
    ck_assert_int_eq(o, 1);
    ck_assert_int_eq(dav_parse_overwrite("T", &o), 0);
    ck_assert_int_eq(o, 1);
    ck_assert_int_eq(dav_parse_overwrite(" f", &o), 0);
    ck_assert_int_eq(o, 0);
    ck_assert_int_eq(dav_parse_overwrite("yes", &o), MG_EINVAL);
    ck_assert_int_eq(dav_parse_overwrite("", &o), MG_EINVAL);
}
END_TEST

/* ---- Destination ---- */

START_TEST(test_destination)
{
    char *p = NULL;
    ck_assert_int_eq(dav_parse_uri("http://127.0.0.1:8080/dav/files/a/x%20y", "127.0.0.1:8080", &p),
                     0);
    ck_assert_str_eq(p, "/dav/files/a/x y");
    free(p);
    ck_assert_int_eq(dav_parse_uri("/dav/files/a/b/", NULL, &p), 0);
    ck_assert_str_eq(p, "/dav/files/a/b/");
    free(p);
    /* host comparison ignores case and default ports */
    ck_assert_int_eq(dav_parse_uri("HTTP://Example.ORG:80/x", "example.org", &p), 0);
    ck_assert_str_eq(p, "/x");
    free(p);
    ck_assert_int_eq(dav_parse_uri("https://example.org/x", "example.org:443", &p), 0);
    free(p);
    ck_assert_int_eq(dav_parse_uri("http://user@host:1/x", "host:1", &p), 0);
    free(p);
    ck_assert_int_eq(dav_parse_uri("http://host:1", "host:1", &p), 0);
    ck_assert_str_eq(p, "/");
    free(p);
    /* other servers */
    ck_assert_int_eq(dav_parse_uri("http://other:8080/dav/", "127.0.0.1:8080", &p), MG_EDENIED);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(dav_parse_uri("http://127.0.0.1:8081/dav/", "127.0.0.1:8080", &p), MG_EDENIED);
    /* malformed and hostile */
    ck_assert_int_eq(dav_parse_uri("", NULL, &p), MG_EINVAL);
    ck_assert_int_eq(dav_parse_uri(NULL, NULL, &p), MG_EINVAL);
    ck_assert_int_eq(dav_parse_uri("dav/files", NULL, &p), MG_EINVAL);
    ck_assert_int_eq(dav_parse_uri("ftp://host/x", NULL, &p), MG_EINVAL);
    ck_assert_int_eq(dav_parse_uri("http:///x", NULL, &p), MG_EINVAL);
    ck_assert_int_eq(dav_parse_uri("/dav/files/a/../b", NULL, &p), MG_EINVAL);
    ck_assert_int_eq(dav_parse_uri("/dav/files/a/%2e%2e/b", NULL, &p), MG_EINVAL);
    ck_assert_int_eq(dav_parse_uri("/dav/files/a/%00", NULL, &p), MG_EINVAL);
    ck_assert_int_eq(dav_parse_uri("/dav/%zz", NULL, &p), MG_EINVAL);
    ck_assert_ptr_null(p);
}
END_TEST

/* ---- Timeout ---- */

START_TEST(test_timeout)
{
    ck_assert_int_eq(dav_parse_timeout(NULL), DAV_LOCK_TIMEOUT_DEFAULT);
    ck_assert_int_eq(dav_parse_timeout("Second-3600"), 3600);
    ck_assert_int_eq(dav_parse_timeout("second-10"), 10);
    ck_assert_int_eq(dav_parse_timeout("Infinite"), DAV_LOCK_TIMEOUT_MAX);
    ck_assert_int_eq(dav_parse_timeout("Infinite, Second-4100000000"), DAV_LOCK_TIMEOUT_MAX);
    ck_assert_int_eq(dav_parse_timeout("Second-4100000000"), DAV_LOCK_TIMEOUT_MAX);
    ck_assert_int_eq(dav_parse_timeout("Second-99999999999999999999999999"), DAV_LOCK_TIMEOUT_MAX);
    ck_assert_int_eq(dav_parse_timeout("Bogus, Second-20"), 20);
    ck_assert_int_eq(dav_parse_timeout("Second-"), DAV_LOCK_TIMEOUT_DEFAULT);
    ck_assert_int_eq(dav_parse_timeout("Second-12x"), DAV_LOCK_TIMEOUT_DEFAULT);
    ck_assert_int_eq(dav_parse_timeout("Second-0"), 1);
    ck_assert_int_eq(dav_parse_timeout(",,,"), DAV_LOCK_TIMEOUT_DEFAULT);
    ck_assert_int_eq(dav_parse_timeout("Infinitely"), DAV_LOCK_TIMEOUT_DEFAULT);
}
END_TEST

/* ---- Range ---- */

START_TEST(test_range)
{
    struct dav_range r;
    ck_assert_int_eq(dav_parse_range(NULL, 100, &r), 0);
    ck_assert_int_eq(dav_parse_range("bytes=0-9", 100, &r), 1);
    ck_assert_uint_eq(r.first, 0);
    ck_assert_uint_eq(r.last, 9);
    ck_assert_int_eq(dav_parse_range("bytes=90-", 100, &r), 1);
    ck_assert_uint_eq(r.first, 90);
    ck_assert_uint_eq(r.last, 99);
    ck_assert_int_eq(dav_parse_range("bytes=50-1000", 100, &r), 1);
    ck_assert_uint_eq(r.last, 99);
    ck_assert_int_eq(dav_parse_range("bytes=-10", 100, &r), 1);
    ck_assert_uint_eq(r.first, 90);
    ck_assert_uint_eq(r.last, 99);
    ck_assert_int_eq(dav_parse_range("bytes=-1000", 100, &r), 1);
    ck_assert_uint_eq(r.first, 0);
    /* unsatisfiable */
    ck_assert_int_eq(dav_parse_range("bytes=100-", 100, &r), -1);
    ck_assert_int_eq(dav_parse_range("bytes=-0", 100, &r), -1);
    ck_assert_int_eq(dav_parse_range("bytes=0-", 0, &r), -1);
    /* ignored */
    ck_assert_int_eq(dav_parse_range("bytes=0-1,5-6", 100, &r), 0);
    ck_assert_int_eq(dav_parse_range("bytes=9-1", 100, &r), 0);
    ck_assert_int_eq(dav_parse_range("items=0-1", 100, &r), 0);
    ck_assert_int_eq(dav_parse_range("bytes=a-b", 100, &r), 0);
    ck_assert_int_eq(dav_parse_range("bytes=-", 100, &r), 0);
    ck_assert_int_eq(dav_parse_range("bytes=99999999999999999999999-", 100, &r), 0);
}
END_TEST

/* ---- ETag lists, dates, content types ---- */

START_TEST(test_etag_lists)
{
    ck_assert_int_eq(dav_etag_list_match("*", "\"a\"", 0), 1);
    ck_assert_int_eq(dav_etag_list_match("*", NULL, 0), 0);
    ck_assert_int_eq(dav_etag_list_match("\"a\"", "\"a\"", 0), 1);
    ck_assert_int_eq(dav_etag_list_match("\"b\", \"a\"", "\"a\"", 0), 1);
    ck_assert_int_eq(dav_etag_list_match("\"b\"", "\"a\"", 0), 0);
    ck_assert_int_eq(dav_etag_list_match("W/\"a\"", "\"a\"", 0), 0);
    ck_assert_int_eq(dav_etag_list_match("W/\"a\"", "\"a\"", 1), 1);
    ck_assert_int_eq(dav_etag_list_match("\"a", "\"a\"", 1), 0);
    ck_assert_int_eq(dav_etag_list_match("\"a\"", NULL, 1), 0);
    ck_assert_int_eq(dav_etag_list_match("\"x,y\", \"a\"", "\"a\"", 0), 1);
}
END_TEST

START_TEST(test_http_dates)
{
    ck_assert_int_eq(dav_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    ck_assert_int_eq(dav_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    ck_assert_int_eq(dav_parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    ck_assert_int_eq(dav_parse_http_date("yesterday"), -1);
    ck_assert_int_eq(dav_parse_http_date(""), -1);
    ck_assert_int_eq(dav_parse_http_date(NULL), -1);
}
END_TEST

START_TEST(test_ctypes)
{
    ck_assert_str_eq(dav_guess_ctype("a.TXT"), "text/plain");
    ck_assert_str_eq(dav_guess_ctype("x.ics"), "text/calendar");
    ck_assert_str_eq(dav_guess_ctype("noext"), "application/octet-stream");
    ck_assert_str_eq(dav_guess_ctype("dot."), "application/octet-stream");
    ck_assert_str_eq(dav_guess_ctype(NULL), "application/octet-stream");
}
END_TEST

static Suite *headers_suite(void)
{
    Suite *s = suite_create("dav_headers");
    TCase *tc = tcase_create("headers");
    tcase_add_test(tc, test_depth);
    tcase_add_test(tc, test_overwrite);
    tcase_add_test(tc, test_destination);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_range);
    tcase_add_test(tc, test_etag_lists);
    tcase_add_test(tc, test_http_dates);
    tcase_add_test(tc, test_ctypes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(headers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
