/* check_api.c - the REST module's pure parts: bearer tokens (format, tampering,
 * expiry, revocation), JSON and paging helpers, route matching, the account
 * key wrapping, sealed mail, MIME, and that api/openapi.json documents exactly
 * the routes of the code. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../api/api_private.h"

static char g_dir[256];
static struct dht *g_d;

static void tmpdir_setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    snprintf(g_dir, sizeof(g_dir), "/tmp/check_api.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    struct dht_options o = {.data_dir = g_dir, .readers = 2};
    ck_assert_int_eq(dht_open(&o, &g_d), 0);
}

static void tmpdir_teardown(void)
{
    dht_close(g_d);
    g_d = NULL;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void plain_setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
}

/* ---- tokens ---- */

static const uint8_t KEY1[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t KEY2[32] = {9};

START_TEST(test_token_roundtrip_and_key)
{
    struct api_tokens *t;
    ck_assert_int_eq(api_tokens_open_key(KEY1, &t), 0);
    uint8_t sk[ACCT_KEY_LEN], got[ACCT_KEY_LEN];
    randombytes_buf(sk, sizeof(sk));
    char *tok;
    struct api_token info, v;
    uint64_t now = 1700000000000ull;
    ck_assert_int_eq(api_token_issue(t, "alice", 1, now, 60000, sk, &tok, &info), 0);
    ck_assert(strncmp(tok, "mg1.", 4) == 0);
    ck_assert_uint_le(strlen(tok), API_TOKEN_MAX);
    ck_assert_int_eq(api_token_verify(t, tok, now + 1000, &v), API_TOKEN_OK);
    ck_assert_str_eq(v.user, "alice");
    ck_assert_int_eq(v.admin, 1);
    ck_assert(v.iat_ms == now && v.exp_ms == now + 60000);
    ck_assert_mem_eq(v.id, info.id, API_TOKEN_ID_LEN);
    ck_assert_int_eq(api_token_secret_key(t, &v, got), 0);
    ck_assert_mem_eq(got, sk, sizeof(sk));
    /* the key box is bound to its token: moved into another, it does not open */
    struct api_token other = v;
    other.exp_ms++;
    ck_assert_int_eq(api_token_secret_key(t, &other, got), MG_EIO);
    /* the secret key is not in the token in the clear */
    struct buf bin;
    buf_init(&bin);
    ck_assert_int_eq(api_b64_decode(tok + 4, strlen(tok) - 4, 1, &bin), 0);
    ck_assert_ptr_null(memmem(bin.data, bin.len, sk, sizeof(sk)));
    buf_release(&bin);
    free(tok);
    /* a token without a key */
    ck_assert_int_eq(api_token_issue(t, "bob", 0, now, 60000, NULL, &tok, NULL), 0);
    ck_assert_int_eq(api_token_verify(t, tok, now, &v), API_TOKEN_OK);
    ck_assert_int_eq(v.admin, 0);
    ck_assert_int_eq(api_token_secret_key(t, &v, got), MG_ENOTFOUND);
    free(tok);
    /* bad names are refused at issue */
    ck_assert_int_eq(api_token_issue(t, "Bad Name", 0, now, 1000, NULL, &tok, NULL), MG_EINVAL);
    api_tokens_free(t);
}
END_TEST

START_TEST(test_token_tamper)
{
    struct api_tokens *t, *t2;
    ck_assert_int_eq(api_tokens_open_key(KEY1, &t), 0);
    ck_assert_int_eq(api_tokens_open_key(KEY2, &t2), 0);
    char *tok;
    struct api_token v;
    uint64_t now = 1700000000000ull;
    ck_assert_int_eq(api_token_issue(t, "alice", 0, now, 60000, NULL, &tok, NULL), 0);
    /* every single-character change in the payload is caught */
    size_t n = strlen(tok);
    for (size_t i = 4; i < n; i++) {
        char saved = tok[i];
        tok[i] = saved == 'A' ? 'B' : 'A';
        ck_assert_int_eq(api_token_verify(t, tok, now, &v), API_TOKEN_MALFORMED);
        tok[i] = saved;
    }
    ck_assert_int_eq(api_token_verify(t, tok, now, &v), API_TOKEN_OK);
    /* another cluster's key */
    ck_assert_int_eq(api_token_verify(t2, tok, now, &v), API_TOKEN_MALFORMED);
    /* truncated, extended, garbage */
    tok[n - 1] = '\0';
    ck_assert_int_eq(api_token_verify(t, tok, now, &v), API_TOKEN_MALFORMED);
    free(tok);
    ck_assert_int_eq(api_token_verify(t, "", now, &v), API_TOKEN_MALFORMED);
    ck_assert_int_eq(api_token_verify(t, "mg1.", now, &v), API_TOKEN_MALFORMED);
    ck_assert_int_eq(api_token_verify(t, "mg1.!!!!", now, &v), API_TOKEN_MALFORMED);
    ck_assert_int_eq(api_token_verify(t, "Basic abc", now, &v), API_TOKEN_MALFORMED);
    char long_tok[API_TOKEN_MAX + 10];
    memset(long_tok, 'A', sizeof(long_tok) - 1);
    memcpy(long_tok, "mg1.", 4);
    long_tok[sizeof(long_tok) - 1] = '\0';
    ck_assert_int_eq(api_token_verify(t, long_tok, now, &v), API_TOKEN_MALFORMED);
    api_tokens_free(t);
    api_tokens_free(t2);
}
END_TEST

START_TEST(test_csrf_and_cookie)
{
    struct api_tokens *t, *t2;
    ck_assert_int_eq(api_tokens_open_key(KEY1, &t), 0);
    ck_assert_int_eq(api_tokens_open_key(KEY2, &t2), 0);
    uint64_t now = 1700000000000ull;
    char *a, *b;
    struct api_token ta, tb, va;
    ck_assert_int_eq(api_token_issue(t, "alice", 0, now, 60000, NULL, &a, &ta), 0);
    ck_assert_int_eq(api_token_issue(t, "alice", 0, now, 60000, NULL, &b, &tb), 0);
    char c1[API_CSRF_LEN + 1], c2[API_CSRF_LEN + 1], c3[API_CSRF_LEN + 1];
    /* what login gave is what any node computes from the verified token */
    ck_assert_int_eq(api_token_verify(t, a, now, &va), API_TOKEN_OK);
    api_token_csrf(t, &ta, c1);
    api_token_csrf(t, &va, c2);
    ck_assert_str_eq(c1, c2);
    ck_assert_uint_eq(strlen(c1), API_CSRF_LEN);
    /* another session of the same user, or another cluster: another token */
    api_token_csrf(t, &tb, c2);
    ck_assert_str_ne(c1, c2);
    api_token_csrf(t2, &ta, c3);
    ck_assert_str_ne(c1, c3);
    free(a);
    free(b);
    api_tokens_free(t);
    api_tokens_free(t2);

    char v[16];
    ck_assert_int_eq(api_cookie_value("mg_session=abc", "mg_session", v, sizeof(v)), 0);
    ck_assert_str_eq(v, "abc");
    ck_assert_int_eq(api_cookie_value("a=1; mg_session=x.y; b=2", "mg_session", v, sizeof(v)), 0);
    ck_assert_str_eq(v, "x.y");
    ck_assert_int_eq(api_cookie_value("a=1;mg_session=\"q\" ", "mg_session", v, sizeof(v)), 0);
    ck_assert_str_eq(v, "q");
    /* a longer name that starts the same is another cookie */
    ck_assert_int_eq(api_cookie_value("mg_session_old=1", "mg_session", v, sizeof(v)),
                     MG_ENOTFOUND);
    ck_assert_int_eq(api_cookie_value("xmg_session=1", "mg_session", v, sizeof(v)), MG_ENOTFOUND);
    ck_assert_int_eq(api_cookie_value(NULL, "mg_session", v, sizeof(v)), MG_ENOTFOUND);
    ck_assert_int_eq(api_cookie_value("", "mg_session", v, sizeof(v)), MG_ENOTFOUND);
    ck_assert_int_eq(api_cookie_value("mg_session=", "mg_session", v, sizeof(v)), MG_EINVAL);
    ck_assert_int_eq(api_cookie_value("mg_session=0123456789abcdefXYZ", "mg_session", v, sizeof(v)),
                     MG_EINVAL);
}
END_TEST

START_TEST(test_token_expiry)
{
    struct api_tokens *t;
    ck_assert_int_eq(api_tokens_open_key(KEY1, &t), 0);
    char *tok;
    struct api_token v;
    uint64_t now = 1700000000000ull;
    ck_assert_int_eq(api_token_issue(t, "alice", 0, now, 5000, NULL, &tok, NULL), 0);
    ck_assert_int_eq(api_token_verify(t, tok, now + 4999, &v), API_TOKEN_OK);
    ck_assert_int_eq(api_token_verify(t, tok, now + 5000, &v), API_TOKEN_EXPIRED);
    ck_assert_int_eq(api_token_verify(t, tok, now + 86400000, &v), API_TOKEN_EXPIRED);
    /* issued far in the future (a node with a wild clock): refused */
    ck_assert_int_eq(api_token_verify(t, tok, now - 3600000, &v), API_TOKEN_MALFORMED);
    ck_assert_str_eq(api_token_status_text(API_TOKEN_EXPIRED), "the token has expired");
    free(tok);
    api_tokens_free(t);
}
END_TEST

START_TEST(test_token_revocation_shared_by_store)
{
    struct api_tokens *t1, *t2;
    ck_assert_int_eq(api_tokens_open(g_d, &t1), 0);
    char *a, *b;
    struct api_token ia, ib, v;
    uint64_t now = mg_now_ms();
    ck_assert_int_eq(api_token_issue(t1, "alice", 0, now, 600000, NULL, &a, &ia), 0);
    ck_assert_int_eq(api_token_issue(t1, "alice", 0, now, 600000, NULL, &b, &ib), 0);
    /* a second node of the same store shares the cluster key */
    ck_assert_int_eq(api_tokens_open(g_d, &t2), 0);
    ck_assert_int_eq(api_token_verify(t2, a, now, &v), API_TOKEN_OK);
    /* logout of one token: that one only */
    ck_assert_int_eq(api_token_revoke(t1, &ia), 0);
    ck_assert_int_eq(api_token_verify(t1, a, now, &v), API_TOKEN_REVOKED);
    ck_assert_int_eq(api_token_verify(t1, b, now, &v), API_TOKEN_OK);
    /* a node that starts later reads the revocation from the store */
    struct api_tokens *t3;
    ck_assert_int_eq(api_tokens_open(g_d, &t3), 0);
    ck_assert_int_eq(api_token_verify(t3, a, now, &v), API_TOKEN_REVOKED);
    ck_assert_int_eq(api_token_verify(t3, b, now, &v), API_TOKEN_OK);
    /* every token of the user; one issued afterwards works */
    ck_assert_int_eq(api_token_revoke_user(t1, "alice", NULL), 0);
    ck_assert_int_eq(api_token_verify(t1, b, now, &v), API_TOKEN_REVOKED);
    char *c;
    ck_assert_int_eq(api_token_issue(t1, "alice", 0, mg_now_ms(), 600000, NULL, &c, NULL), 0);
    ck_assert_int_eq(api_token_verify(t1, c, mg_now_ms(), &v), API_TOKEN_OK);
    api_tokens_free(t3);
    ck_assert_int_eq(api_tokens_open(g_d, &t3), 0);
    ck_assert_int_eq(api_token_verify(t3, b, now, &v), API_TOKEN_REVOKED);
    ck_assert_int_eq(api_token_verify(t3, c, mg_now_ms(), &v), API_TOKEN_OK);
    free(a);
    free(b);
    free(c);
    api_tokens_free(t1);
    api_tokens_free(t2);
    api_tokens_free(t3);
}
END_TEST

START_TEST(test_token_many_revocations)
{
    struct api_tokens *t;
    ck_assert_int_eq(api_tokens_open_key(KEY1, &t), 0);
    uint64_t now = mg_now_ms();
    char *toks[300];
    struct api_token info[300], v;
    for (int i = 0; i < 300; i++) {
        ck_assert_int_eq(api_token_issue(t, "bob", 0, now, 600000, NULL, &toks[i], &info[i]), 0);
        if (i % 2)
            ck_assert_int_eq(api_token_revoke(t, &info[i]), 0);
    }
    for (int i = 0; i < 300; i++) {
        ck_assert_int_eq(api_token_verify(t, toks[i], now, &v),
                         i % 2 ? API_TOKEN_REVOKED : API_TOKEN_OK);
        free(toks[i]);
    }
    api_tokens_free(t);
}
END_TEST

/* ---- JSON, cursors, base64, UTF-8 ---- */

START_TEST(test_json_depth)
{
    ck_assert(api_json_depth_ok("{}", 2, 1));
    ck_assert(api_json_depth_ok("{\"a\":[1]}", 9, 2));
    ck_assert(!api_json_depth_ok("{\"a\":[1]}", 9, 1));
    /* brackets inside strings do not count, escaped quotes do not end them */
    const char *s = "{\"a\":\"[[[[\\\"[[[\"}";
    ck_assert(api_json_depth_ok(s, strlen(s), 1));
    char deep[4001];
    for (int i = 0; i < 2000; i++) {
        deep[i] = '[';
        deep[3999 - i] = ']';
    }
    deep[4000] = '\0';
    ck_assert(!api_json_depth_ok(deep, 4000, 32));
    json_t *v;
    char err[200];
    ck_assert_int_eq(api_json_parse(deep, 4000, 32, &v, err, sizeof(err)), MG_ETOOBIG);
    ck_assert(strstr(err, "deeper") != NULL);
}
END_TEST

START_TEST(test_json_parse_and_fields)
{
    json_t *v;
    char err[200];
    const char *bad[] = {"", "{", "[1,2]", "\"x\"", "{\"a\":1,\"a\":2}", "{\"a\":1} x", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_int_eq(api_json_parse(bad[i], strlen(bad[i]), 32, &v, err, sizeof(err)),
                         MG_EINVAL);
    /* jansson refuses \u0000 in strings by itself */
    const char *nul = "{\"nul\":\"a\\u0000b\"}";
    ck_assert_int_eq(api_json_parse(nul, strlen(nul), 32, &v, err, sizeof(err)), MG_EINVAL);
    const char *ok = "{\"s\":\"x\",\"n\":5,\"neg\":-1,\"b\":true,\"z\":null,\"nul\":1}";
    ck_assert_int_eq(api_json_parse(ok, strlen(ok), 32, &v, err, sizeof(err)), 0);
    const char *s;
    uint64_t u;
    int b;
    ck_assert_int_eq(api_json_get_str(v, "s", &s), 0);
    ck_assert_str_eq(s, "x");
    ck_assert_int_eq(api_json_get_str(v, "n", &s), MG_EINVAL);
    ck_assert_int_eq(api_json_get_str(v, "z", &s), MG_ENOTFOUND);
    ck_assert_int_eq(api_json_get_str(v, "missing", &s), MG_ENOTFOUND);
    ck_assert_int_eq(api_json_get_uint(v, "n", &u), 0);
    ck_assert_uint_eq(u, 5);
    ck_assert_int_eq(api_json_get_uint(v, "neg", &u), MG_EINVAL);
    ck_assert_int_eq(api_json_get_bool(v, "b", &b), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(api_json_get_bool(v, "s", &b), MG_EINVAL);
    static const char *const allowed[] = {"s", "n", "neg", "b", "z", NULL};
    ck_assert_str_eq(api_json_unknown_key(v, allowed), "nul");
    static const char *const all[] = {"s", "n", "neg", "b", "z", "nul", NULL};
    ck_assert_ptr_null(api_json_unknown_key(v, all));
    json_decref(v);
}
END_TEST

START_TEST(test_cursor)
{
    const char *parts[2] = {"Inbox", "ffff0000aaaa12345678"};
    char *c;
    ck_assert_int_eq(api_cursor_encode(parts, 2, &c), 0);
    ck_assert(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              strlen(c));
    char *out[2];
    ck_assert_int_eq(api_cursor_decode(c, out, 2), 0);
    ck_assert_str_eq(out[0], "Inbox");
    ck_assert_str_eq(out[1], "ffff0000aaaa12345678");
    free(out[0]);
    free(out[1]);
    /* wrong arity, garbage, not ours */
    ck_assert_int_eq(api_cursor_decode(c, out, 1), MG_EINVAL);
    char *out3[3];
    ck_assert_int_eq(api_cursor_decode(c, out3, 3), MG_EINVAL);
    free(c);
    ck_assert_int_eq(api_cursor_decode("", out, 1), MG_EINVAL);
    ck_assert_int_eq(api_cursor_decode("!!", out, 1), MG_EINVAL);
    ck_assert_int_eq(api_cursor_decode("aGVsbG8", out, 1), MG_EINVAL); /* "hello" */
    const char *nl[1] = {"a\nb"};
    ck_assert_int_eq(api_cursor_encode(nl, 1, &c), MG_EINVAL);
    const char *empty[1] = {""};
    ck_assert_int_eq(api_cursor_encode(empty, 1, &c), 0);
    ck_assert_int_eq(api_cursor_decode(c, out, 1), 0);
    ck_assert_str_eq(out[0], "");
    free(out[0]);
    free(c);
}
END_TEST

START_TEST(test_base64_and_utf8)
{
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(api_b64_decode("aGVs\r\nbG8=", 10, 1, &b), 0);
    ck_assert_str_eq(b.data, "hello");
    buf_reset(&b);
    ck_assert_int_eq(api_b64_decode("aGVsbG8", 7, 1, &b), 0); /* padding optional */
    ck_assert_str_eq(b.data, "hello");
    buf_reset(&b);
    ck_assert_int_eq(api_b64_decode("aGV*sbG8", 8, 1, &b), MG_EINVAL);
    buf_reset(&b);
    ck_assert_int_eq(api_b64_decode("aGV*sbG8", 8, 0, &b), 0); /* lenient for mail */
    ck_assert_str_eq(b.data, "hello");
    buf_reset(&b);
    ck_assert_int_eq(api_b64_decode("a", 1, 1, &b), MG_EINVAL);
    buf_reset(&b);
    ck_assert_int_eq(api_b64_decode("", 0, 1, &b), 0);
    ck_assert_ptr_nonnull(b.data);
    ck_assert_uint_eq(b.len, 0);
    char *e = api_b64_encode("\xff\xfe", 2);
    ck_assert_str_eq(e, "//4=");
    free(e);
    buf_release(&b);

    ck_assert(api_utf8_valid("Gr\xc3\xbc\xc3\x9f"
                             "e",
                             7));
    ck_assert(!api_utf8_valid("\xc3", 1));
    ck_assert(!api_utf8_valid("\xc0\xaf", 2));     /* overlong '/' */
    ck_assert(!api_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    ck_assert(!api_utf8_valid("a\0b", 3));
    buf_init(&b);
    ck_assert_int_eq(api_utf8_append(&b,
                                     "a\xff"
                                     "b\0c",
                                     5),
                     0);
    ck_assert_str_eq(b.data, "a\xef\xbf\xbd"
                             "b\xef\xbf\xbd"
                             "c");
    buf_release(&b);
    ck_assert(api_icontains("Alice <alice@meshgate>", "ALICE@"));
    ck_assert(!api_icontains("bob", "alice"));
    ck_assert(api_icontains("x", ""));
}
END_TEST

START_TEST(test_route_match)
{
    char *p[API_MAX_PARAMS];
    size_t n;
    char *copy;
    ck_assert(api_match("/api/v1/me", "/api/v1/me", p, &n, &copy));
    ck_assert_uint_eq(n, 0);
    free(copy);
    ck_assert(api_match("/api/v1/me", "/api/v1/me/", p, &n, &copy));
    free(copy);
    ck_assert(!api_match("/api/v1/me", "/api/v1/me/password", p, &n, &copy));
    ck_assert(!api_match("/api/v1/me/password", "/api/v1/me", p, &n, &copy));
    ck_assert(!api_match("/api/v1/me", "/api/v1/mex", p, &n, &copy));
    ck_assert(api_match("/api/v1/mail/mailboxes/{mailbox}/messages/{id}",
                        "/api/v1/mail/mailboxes/My Box/messages/abc", p, &n, &copy));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(p[0], "My Box");
    ck_assert_str_eq(p[1], "abc");
    free(copy);
    ck_assert(
        !api_match("/api/v1/mail/mailboxes/{mailbox}", "/api/v1/mail/mailboxes/", p, &n, &copy));
    ck_assert(
        !api_match("/api/v1/mail/mailboxes/{mailbox}", "/api/v1/mail/mailboxes//x", p, &n, &copy));
}
END_TEST

/* ---- key wrapping ---- */

START_TEST(test_key_wrap)
{
    uint8_t sk[ACCT_KEY_LEN], out[ACCT_KEY_LEN];
    randombytes_buf(sk, sizeof(sk));
    char *w;
    ck_assert_int_eq(acct_key_wrap("alice", "correct horse", sk, &w), 0);
    ck_assert(strncmp(w, "mgkw1$", 6) == 0);
    char hex[2 * ACCT_KEY_LEN + 1];
    mg_hex_encode(sk, sizeof(sk), hex);
    ck_assert_ptr_null(strstr(w, hex));
    ck_assert_int_eq(acct_key_unwrap("alice", "correct horse", w, out), 0);
    ck_assert_mem_eq(out, sk, sizeof(sk));
    /* a wrong password (or another account's name) cannot open it */
    ck_assert_int_eq(acct_key_unwrap("alice", "correct horsE", w, out), MG_EDENIED);
    ck_assert_int_eq(acct_key_unwrap("alice", "", w, out), MG_EDENIED);
    ck_assert_int_eq(acct_key_unwrap("bob", "correct horse", w, out), MG_EDENIED);
    /* a changed byte of the ciphertext */
    size_t n = strlen(w);
    w[n - 1] = w[n - 1] == '0' ? '1' : '0';
    ck_assert_int_eq(acct_key_unwrap("alice", "correct horse", w, out), MG_EDENIED);
    free(w);
    /* malformed, and a cost no store should be able to make us pay */
    ck_assert_int_eq(acct_key_unwrap("alice", "x", "nonsense", out), MG_EINVAL);
    ck_assert_int_eq(acct_key_unwrap("alice", "x", "mgkw1$2$19922944$00$00$00", out), MG_EINVAL);
    ck_assert_int_eq(
        acct_key_unwrap("alice", "x",
                        "mgkw1$2$99999999999$00000000000000000000000000000000$"
                        "000000000000000000000000000000000000000000000000$"
                        "000000000000000000000000000000000000000000000000000000000000000000000000"
                        "000000000000000000000000",
                        out),
        MG_EINVAL);
    ck_assert_int_eq(acct_key_wrap("alice", "", sk, &w), MG_EINVAL);
}
END_TEST

START_TEST(test_account_keys)
{
    uint8_t sk[ACCT_KEY_LEN], pk[ACCT_KEY_LEN], sk2[ACCT_KEY_LEN], pk2[ACCT_KEY_LEN];
    ck_assert_int_eq(acct_create(g_d, "alice", "pw-one-111", 0), 0);
    struct acct_info info;
    ck_assert_int_eq(acct_get_info(g_d, "alice", &info), 0);
    ck_assert(info.has_key);
    ck_assert_int_eq(acct_open_key(g_d, "alice", "pw-one-111", sk, pk), 0);
    ck_assert_mem_eq(pk, info.public_key, ACCT_KEY_LEN);
    ck_assert_int_eq(acct_open_key(g_d, "alice", "wrong", sk2, pk2), MG_EDENIED);
    ck_assert_int_eq(acct_open_key(g_d, "nobody", "pw", sk2, pk2), MG_EDENIED);
    /* the stored record holds no secret key in the clear */
    struct dht_row row;
    char hex[2 * ACCT_KEY_LEN + 1];
    mg_hex_encode(sk, sizeof(sk), hex);
    ck_assert_int_eq(dht_get(g_d, "acct/alice", "", &row), 0);
    ck_assert_ptr_null(memmem(row.value, row.value_len, hex, strlen(hex)));
    ck_assert_ptr_null(memmem(row.value, row.value_len, sk, sizeof(sk)));
    dht_row_release(&row);
    /* a change keeps the pair; the old password no longer opens it */
    ck_assert_int_eq(acct_change_password(g_d, "alice", "wrong", "pw-two-222", NULL), MG_EDENIED);
    uint8_t stale[DHT_HASH_LEN] = {0};
    ck_assert_int_eq(acct_change_password(g_d, "alice", "pw-one-111", "pw-two-222", stale),
                     MG_EPRECOND);
    ck_assert_int_eq(
        acct_change_password(g_d, "alice", "pw-one-111", "pw-two-222", info.record_hash), 0);
    ck_assert_int_eq(acct_open_key(g_d, "alice", "pw-two-222", sk2, pk2), 0);
    ck_assert_mem_eq(sk2, sk, ACCT_KEY_LEN);
    ck_assert_int_eq(acct_open_key(g_d, "alice", "pw-one-111", sk2, pk2), MG_EDENIED);
    ck_assert_int_eq(acct_verify(g_d, "alice", "pw-two-222", NULL, NULL), 0);
    /* an administrator's reset cannot unwrap the old key: a new pair */
    ck_assert_int_eq(acct_set_password(g_d, "alice", "pw-three-333"), 0);
    ck_assert_int_eq(acct_open_key(g_d, "alice", "pw-three-333", sk2, pk2), 0);
    ck_assert(memcmp(pk2, pk, ACCT_KEY_LEN) != 0);
    /* an account from before key pairs gets one on first open */
    const char *legacy = "{\"name\":\"old\",\"admin\":false,\"created\":1,\"quota\":0,"
                         "\"hash\":\"HASH\"}";
    char hash[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(crypto_pwhash_str(hash, "legacy-pw", 9, 2, 19u << 20), 0);
    struct buf rec;
    buf_init(&rec);
    const char *h = strstr(legacy, "HASH");
    buf_append(&rec, legacy, (size_t)(h - legacy));
    buf_puts(&rec, hash);
    buf_puts(&rec, h + 4);
    ck_assert_int_eq(dht_put(g_d, "acct/old", "", rec.data, rec.len, NULL, NULL, NULL), 0);
    buf_release(&rec);
    ck_assert_int_eq(acct_get_info(g_d, "old", &info), 0);
    ck_assert(!info.has_key);
    ck_assert_int_eq(acct_open_key(g_d, "old", "wrong", sk2, pk2), MG_EDENIED);
    ck_assert_int_eq(acct_open_key(g_d, "old", "legacy-pw", sk2, pk2), 0);
    ck_assert_int_eq(acct_get_info(g_d, "old", &info), 0);
    ck_assert(info.has_key);
    ck_assert_mem_eq(info.public_key, pk2, ACCT_KEY_LEN);
}
END_TEST

/* ---- sealed mail ---- */

START_TEST(test_seal_roundtrip)
{
    uint8_t pk[ACCT_KEY_LEN], sk[ACCT_KEY_LEN], pk2[ACCT_KEY_LEN], sk2[ACCT_KEY_LEN];
    crypto_box_keypair(pk, sk);
    crypto_box_keypair(pk2, sk2);
    const char *raw = "From: a@meshgate\r\nSubject: secret plans\r\n\r\nmeet at the old mill\r\n";
    json_t *meta = json_pack("{s:s}", "subject", "secret plans");
    struct api_flags flags = {0, 1, 0};
    char id[API_MSGID_LEN + 1];
    api_msgid_new(id);
    ck_assert(api_msgid_valid(id));
    struct buf env;
    buf_init(&env);
    ck_assert_int_eq(api_mail_seal(g_d, pk, id, raw, strlen(raw), meta, &flags, 1234, &env), 0);
    ck_assert_ptr_null(strstr(env.data, "secret"));
    ck_assert_ptr_null(strstr(env.data, "mill"));
    struct api_envelope e;
    ck_assert_int_eq(api_envelope_parse(env.data, env.len, &e), 0);
    ck_assert_uint_eq(e.received_ms, 1234);
    ck_assert_uint_eq(e.size, strlen(raw));
    ck_assert_int_eq(e.flags.flagged, 1);
    ck_assert_int_eq(e.flags.seen, 0);
    json_t *m2 = NULL;
    ck_assert_int_eq(api_mail_open_meta(&e, id, pk, sk, &m2), 0);
    ck_assert_str_eq(json_string_value(json_object_get(m2, "subject")), "secret plans");
    json_decref(m2);
    struct buf body;
    buf_init(&body);
    ck_assert_int_eq(api_mail_open_body(g_d, &e, id, pk, sk, &body), 0);
    ck_assert_str_eq(body.data, raw);
    buf_release(&body);
    /* another key, or another message id (a copy moved between rows), cannot open it */
    ck_assert_int_eq(api_mail_open_meta(&e, id, pk2, sk2, &m2), MG_EDENIED);
    ck_assert_int_eq(api_mail_open_body(g_d, &e, id, pk2, sk2, &body), MG_EDENIED);
    char other[API_MSGID_LEN + 1];
    api_msgid_new(other);
    ck_assert_int_eq(api_mail_open_meta(&e, other, pk, sk, &m2), MG_EDENIED);
    /* flags change without touching the sealed parts */
    e.flags.seen = 1;
    struct buf env2;
    buf_init(&env2);
    ck_assert_int_eq(api_envelope_encode(&e, &env2), 0);
    struct api_envelope e2;
    ck_assert_int_eq(api_envelope_parse(env2.data, env2.len, &e2), 0);
    ck_assert_int_eq(e2.flags.seen, 1);
    ck_assert_int_eq(api_mail_open_meta(&e2, id, pk, sk, &m2), 0);
    json_decref(m2);
    api_envelope_release(&e2);
    buf_release(&env2);
    api_envelope_release(&e);
    ck_assert_int_eq(api_envelope_parse("{\"v\":2}", 7, &e), MG_EINVAL);
    ck_assert_int_eq(api_envelope_parse("nope", 4, &e), MG_EINVAL);
    json_decref(meta);
    buf_release(&env);
}
END_TEST

START_TEST(test_seal_large_body_chunks)
{
    uint8_t pk[ACCT_KEY_LEN], sk[ACCT_KEY_LEN];
    crypto_box_keypair(pk, sk);
    size_t n = 3 * DHT_CHUNK_SIZE + 77;
    char *raw = malloc(n);
    ck_assert_ptr_nonnull(raw);
    for (size_t i = 0; i < n; i++)
        raw[i] = (char)('a' + i % 23);
    json_t *meta = json_object();
    struct api_flags flags = {0, 0, 0};
    char id[API_MSGID_LEN + 1];
    api_msgid_new(id);
    struct buf env, body;
    buf_init(&env);
    buf_init(&body);
    ck_assert_int_eq(api_mail_seal(g_d, pk, id, raw, n, meta, &flags, 1, &env), 0);
    ck_assert_uint_lt(env.len, 4096); /* the body is in chunks, not in the row */
    struct api_envelope e;
    ck_assert_int_eq(api_envelope_parse(env.data, env.len, &e), 0);
    ck_assert_int_eq(api_mail_open_body(g_d, &e, id, pk, sk, &body), 0);
    ck_assert_uint_eq(body.len, n);
    ck_assert(memcmp(body.data, raw, n) == 0);
    /* the chunks hold ciphertext only, and deleting the message's chunks removes them */
    struct buf bin;
    buf_init(&bin);
    const char *b64 = json_string_value(json_object_get(e.root, "body"));
    ck_assert_int_eq(api_b64_decode(b64, strlen(b64), 1, &bin), 0);
    struct dht_manifest man;
    ck_assert_int_eq(dht_manifest_decode(bin.data, bin.len, &man), 0);
    ck_assert_uint_eq(man.nchunks, 4);
    char pkey[5 + 2 * DHT_HASH_LEN + 1] = "blob/";
    mg_hex_encode(man.chunks[0], DHT_HASH_LEN, pkey + 5);
    struct dht_row row;
    ck_assert_int_eq(dht_get(g_d, pkey, "", &row), 0);
    ck_assert_ptr_null(memmem(row.value, row.value_len, raw, 64));
    dht_row_release(&row);
    ck_assert_int_eq(api_mail_delete_chunks(g_d, &e), 0);
    for (size_t i = 0; i < man.nchunks; i++) {
        mg_hex_encode(man.chunks[i], DHT_HASH_LEN, pkey + 5);
        ck_assert_int_eq(dht_get(g_d, pkey, "", &row), MG_ENOTFOUND);
    }
    dht_manifest_release(&man);
    buf_release(&bin);
    api_envelope_release(&e);
    buf_release(&body);
    buf_release(&env);
    json_decref(meta);
    free(raw);
}
END_TEST

START_TEST(test_msgid_and_mailbox_names)
{
    char a[API_MSGID_LEN + 1], b[API_MSGID_LEN + 1];
    api_msgid_new(a);
    usleep(3000);
    api_msgid_new(b);
    ck_assert(strcmp(b, a) < 0); /* newer sorts first */
    ck_assert(!api_msgid_valid("0123"));
    ck_assert(!api_msgid_valid("0123456789ABCDEF0123"));
    ck_assert(!api_msgid_valid("../../../acct/alice0"));
    ck_assert(api_mailbox_valid("Inbox"));
    ck_assert(api_mailbox_valid("Reisen 2025 \xc3\xa9t\xc3\xa9"));
    ck_assert(!api_mailbox_valid(""));
    ck_assert(!api_mailbox_valid("a/b"));
    ck_assert(!api_mailbox_valid(" Inbox"));
    ck_assert(!api_mailbox_valid("x\ty"));
    ck_assert(!api_mailbox_valid("\xff"));
    ck_assert(api_mailbox_is_system("Trash"));
    ck_assert(!api_mailbox_is_system("trash"));
}
END_TEST

/* ---- MIME ---- */

START_TEST(test_mime_build_parse)
{
    const char *to[] = {"bob@meshgate", "carol@meshgate"};
    const char *cc[] = {"dave@meshgate"};
    struct api_attachment_in att[2] = {
        {"notes.txt", "text/plain", "line one\nline two\n", 18},
        {"\xc3\xa9t\xc3\xa9 \"quoted\"/x.bin", "application/octet-stream", "\x00\x01\xff", 3}};
    struct api_compose m = {"alice@meshgate",
                            to,
                            2,
                            cc,
                            1,
                            "Gr\xc3\xbc\xc3\x9f"
                            "e \xe2\x80\x94 a long subject that goes on and "
                            "on and needs several encoded words to fit in lines",
                            "Hello Bob,\nsee attached.\n",
                            att,
                            2,
                            "abc@meshgate",
                            "prev@meshgate",
                            1700000000};
    struct buf raw;
    buf_init(&raw);
    ck_assert_int_eq(api_mime_build(&m, &raw), 0);
    /* every line fits SMTP's limit, headers are ASCII */
    const char *p = raw.data;
    const char *hdr_end = strstr(raw.data, "\r\n\r\n");
    for (const char *q = raw.data; q < hdr_end; q++)
        ck_assert((unsigned char)*q < 0x80);
    while (*p) {
        const char *nl = strstr(p, "\r\n");
        ck_assert_ptr_nonnull(nl);
        ck_assert_int_le(nl - p, 998);
        p = nl + 2;
    }
    ck_assert(strstr(raw.data, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n") != NULL);
    json_t *v;
    ck_assert_int_eq(api_mime_parse(raw.data, raw.len, &v), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "from")), "alice@meshgate");
    ck_assert_str_eq(json_string_value(json_object_get(v, "subject")), m.subject);
    ck_assert_uint_eq(json_array_size(json_object_get(v, "to")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "to"), 1)),
                     "carol@meshgate");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "cc"), 0)),
                     "dave@meshgate");
    ck_assert_str_eq(json_string_value(json_object_get(v, "text")), "Hello Bob,\nsee attached.\n");
    ck_assert_str_eq(json_string_value(json_object_get(v, "message_id")), "<abc@meshgate>");
    ck_assert_str_eq(json_string_value(json_object_get(v, "in_reply_to")), "<prev@meshgate>");
    json_t *atts = json_object_get(v, "attachments");
    ck_assert_uint_eq(json_array_size(atts), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(atts, 0), "filename")),
                     "notes.txt");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(atts, 0), "size")), 18);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(atts, 1), "filename")),
                     "\xc3\xa9t\xc3\xa9 _quoted__x.bin");
    json_decref(v);
    struct buf data;
    buf_init(&data);
    char *ctype, *fname;
    ck_assert_int_eq(api_mime_attachment(raw.data, raw.len, 1, &data, &ctype, &fname), 0);
    ck_assert_uint_eq(data.len, 3);
    ck_assert(memcmp(data.data, "\x00\x01\xff", 3) == 0);
    ck_assert_str_eq(ctype, "application/octet-stream");
    free(ctype);
    free(fname);
    buf_release(&data);
    ck_assert_int_eq(api_mime_attachment(raw.data, raw.len, 2, &data, &ctype, &fname),
                     MG_ENOTFOUND);
    /* every prefix of the message parses without reading past it */
    for (size_t n = 0; n < raw.len; n += 7) {
        char *cut = malloc(n ? n : 1);
        memcpy(cut, raw.data, n);
        if (api_mime_parse(cut, n, &v) == 0)
            json_decref(v);
        free(cut);
    }
    buf_release(&raw);
}
END_TEST

START_TEST(test_mime_header_injection)
{
    const char *to[] = {"bob@meshgate"};
    struct api_compose m = {"alice@meshgate",
                            to,
                            1,
                            NULL,
                            0,
                            "hi\r\nBcc: eve@evil\r\n\r\nbody",
                            "text",
                            NULL,
                            0,
                            "x@meshgate",
                            "a>\r\nX-Evil: 1",
                            0};
    struct buf raw;
    buf_init(&raw);
    ck_assert_int_eq(api_mime_build(&m, &raw), 0);
    ck_assert_ptr_null(strstr(raw.data, "\r\nBcc:"));
    ck_assert_ptr_null(strstr(raw.data, "\r\nX-Evil"));
    json_t *v;
    ck_assert_int_eq(api_mime_parse(raw.data, raw.len, &v), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "text")), "text\n");
    ck_assert(strstr(json_string_value(json_object_get(v, "subject")), "Bcc") != NULL);
    json_decref(v);
    buf_release(&raw);
    /* a long line goes base64 and comes back intact */
    char *longtext = malloc(3001);
    memset(longtext, 'x', 3000);
    longtext[3000] = '\0';
    m.subject = "s";
    m.text = longtext;
    m.in_reply_to = NULL;
    buf_init(&raw);
    ck_assert_int_eq(api_mime_build(&m, &raw), 0);
    ck_assert(strstr(raw.data, "Content-Transfer-Encoding: base64") != NULL);
    ck_assert_int_eq(api_mime_parse(raw.data, raw.len, &v), 0);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(v, "text"))), 3001);
    json_decref(v);
    buf_release(&raw);
    free(longtext);
}
END_TEST

START_TEST(test_mime_foreign_messages)
{
    const char *msg = "Received: from somewhere\r\n"
                      "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\r\n"
                      "To: \"Doe, John\" <john@example.org>, jane@example.org\r\n"
                      "Subject: =?utf-8?B?SGVsbG8=?= =?utf-8?Q?_W=C3=B6rld?= and\r\n"
                      " more\r\n"
                      "MIME-Version: 1.0\r\n"
                      "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
                      "\r\n"
                      "preamble\r\n"
                      "--outer\r\n"
                      "Content-Type: multipart/alternative; boundary=inner\r\n"
                      "\r\n"
                      "--inner\r\n"
                      "Content-Type: text/plain; charset=iso-8859-1\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n"
                      "\r\n"
                      "Caf=E9 au lait, a soft=\r\n"
                      " break.\r\n"
                      "--inner\r\n"
                      "Content-Type: text/html; charset=utf-8\r\n"
                      "\r\n"
                      "<p>Caf\xc3\xa9</p>\r\n"
                      "--inner--\r\n"
                      "--outer\r\n"
                      "Content-Type: application/pdf\r\n"
                      "Content-Disposition: attachment;\r\n"
                      " filename*0*=UTF-8''R%C3%A9sum;\r\n"
                      " filename*1=\"e.pdf\"\r\n"
                      "Content-Transfer-Encoding: base64\r\n"
                      "\r\n"
                      "JVBERi0=\r\n"
                      "--outer--\r\n"
                      "epilogue\r\n";
    json_t *v;
    ck_assert_int_eq(api_mime_parse(msg, strlen(msg), &v), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "from")),
                     "Andr\xc3\xa9 <andre@example.org>");
    ck_assert_str_eq(json_string_value(json_object_get(v, "subject")),
                     "Hello W\xc3\xb6rld and more");
    json_t *to = json_object_get(v, "to");
    ck_assert_uint_eq(json_array_size(to), 2);
    ck_assert_str_eq(json_string_value(json_array_get(to, 0)), "\"Doe, John\" <john@example.org>");
    ck_assert_str_eq(json_string_value(json_object_get(v, "text")),
                     "Caf\xc3\xa9 au lait, a soft break.");
    ck_assert_str_eq(json_string_value(json_object_get(v, "html")), "<p>Caf\xc3\xa9</p>");
    json_t *atts = json_object_get(v, "attachments");
    ck_assert_uint_eq(json_array_size(atts), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(atts, 0), "filename")),
                     "R\xc3\xa9sume.pdf");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(atts, 0), "size")), 5);
    json_decref(v);

    /* not a message at all; binary junk; absurd nesting */
    ck_assert_int_eq(api_mime_parse("hello world", 11, &v), MG_EINVAL);
    const char junk[] = "Subject: \xff\xfe\x00zz\r\n\r\n\xff\x00\xc3";
    ck_assert_int_eq(api_mime_parse(junk, sizeof(junk) - 1, &v), 0);
    ck_assert(api_utf8_valid(json_string_value(json_object_get(v, "subject")),
                             strlen(json_string_value(json_object_get(v, "subject")))));
    json_decref(v);
    struct buf deep;
    buf_init(&deep);
    buf_puts(&deep, "Subject: deep\r\n");
    for (int i = 0; i < 200; i++)
        buf_printf(&deep, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
    buf_puts(&deep, "Content-Type: text/plain\r\n\r\nbottom\r\n");
    ck_assert_int_eq(api_mime_parse(deep.data, deep.len, &v), 0);
    json_decref(v);
    buf_release(&deep);
}
END_TEST

/* ---- the OpenAPI document matches the routes ---- */

static json_t *load_openapi(void)
{
    size_t len = (size_t)(api_openapi_json_end - api_openapi_json);
    json_error_t err;
    json_t *doc = json_loadb(api_openapi_json, len, 0, &err);
    ck_assert_msg(doc != NULL, "embedded api/openapi.json is not JSON: %s (line %d)", err.text,
                  err.line);
    return doc;
}

START_TEST(test_openapi_embedded_is_current)
{
    /* the source file next to the test (CMake passes absolute paths) */
    char path[1024];
    snprintf(path, sizeof(path), "%s", __FILE__);
    char *slash = strrchr(path, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash, sizeof(path) - (size_t)(slash - path), "/../../api/openapi.json");
    FILE *f = fopen(path, "rb");
    if (!f)
        return; /* built from a copy without the sources: nothing to compare */
    struct buf b;
    buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    size_t len = (size_t)(api_openapi_json_end - api_openapi_json);
    ck_assert_msg(b.len == len && memcmp(b.data, api_openapi_json, len) == 0,
                  "the binary embeds an old api/openapi.json: touch api/node.c and rebuild");
    buf_release(&b);
}
END_TEST

static void lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

START_TEST(test_openapi_documents_every_route)
{
    json_t *doc = load_openapi();
    ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < api_nroutes; i++) {
        const struct api_route *r = &api_routes[i];
        char m[16];
        lower(r->method, m, sizeof(m));
        json_t *op = json_object_get(json_object_get(paths, r->pattern), m);
        ck_assert_msg(op != NULL, "route %s %s is not in api/openapi.json", r->method, r->pattern);
        /* public routes have no security; the others need the bearer token */
        json_t *sec = json_object_get(op, "security");
        ck_assert_msg(json_is_array(sec), "%s %s: no security", r->method, r->pattern);
        ck_assert_msg((json_array_size(sec) == 0) == (r->access == API_PUBLIC),
                      "%s %s: security does not match the route's access", r->method, r->pattern);
        /* a request body is documented exactly when the route reads one */
        json_t *rb = json_object_get(op, "requestBody");
        ck_assert_msg((rb != NULL) == (r->body != API_BODY_NONE),
                      "%s %s: requestBody does not match the route", r->method, r->pattern);
        if (rb)
            ck_assert_msg(json_is_true(json_object_get(rb, "required")) ==
                              (r->body != API_BODY_JSON_OPT),
                          "%s %s: requestBody.required does not match", r->method, r->pattern);
        /* bodies and tokens: documented 413/415 and 401 (a streamed upload
         * takes any media type: no 415) */
        json_t *resp = json_object_get(op, "responses");
        if (r->body != API_BODY_NONE) {
            ck_assert_msg(json_object_get(resp, "413") && json_object_get(resp, "400") &&
                              (json_object_get(resp, "415") != NULL) ==
                                  (r->body != API_BODY_STREAM),
                          "%s %s: 400/413/415 not documented as the route reads its body",
                          r->method, r->pattern);
        }
        if (r->access != API_PUBLIC)
            ck_assert_msg(json_object_get(resp, "401") != NULL, "%s %s: 401 not documented",
                          r->method, r->pattern);
    }
    json_decref(doc);
}
END_TEST

START_TEST(test_openapi_routes_exist)
{
    json_t *doc = load_openapi();
    json_t *paths = json_object_get(doc, "paths");
    const char *path;
    json_t *item;
    size_t ops = 0;
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            size_t i = 0;
            for (; i < api_nroutes; i++) {
                char m[16];
                lower(api_routes[i].method, m, sizeof(m));
                if (strcmp(api_routes[i].pattern, path) == 0 && strcmp(m, method) == 0)
                    break;
            }
            ck_assert_msg(i < api_nroutes,
                          "api/openapi.json documents %s %s, which no route serves", method, path);
            ck_assert_msg(json_is_string(json_object_get(op, "operationId")),
                          "%s %s has no operationId", method, path);
            ops++;
        }
    }
    ck_assert_uint_eq(ops, api_nroutes);
    json_decref(doc);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("tokens");
    tcase_add_checked_fixture(tc, plain_setup, NULL);
    tcase_add_test(tc, test_token_roundtrip_and_key);
    tcase_add_test(tc, test_token_tamper);
    tcase_add_test(tc, test_token_expiry);
    tcase_add_test(tc, test_token_many_revocations);
    tcase_add_test(tc, test_csrf_and_cookie);
    suite_add_tcase(s, tc);

    tc = tcase_create("tokens-store");
    tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_add_test(tc, test_token_revocation_shared_by_store);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_checked_fixture(tc, plain_setup, NULL);
    tcase_add_test(tc, test_json_depth);
    tcase_add_test(tc, test_json_parse_and_fields);
    tcase_add_test(tc, test_cursor);
    tcase_add_test(tc, test_base64_and_utf8);
    tcase_add_test(tc, test_route_match);
    suite_add_tcase(s, tc);

    tc = tcase_create("keys");
    tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_key_wrap);
    tcase_add_test(tc, test_account_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("seal");
    tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_add_test(tc, test_seal_roundtrip);
    tcase_add_test(tc, test_seal_large_body_chunks);
    tcase_add_test(tc, test_msgid_and_mailbox_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("mime");
    tcase_add_checked_fixture(tc, plain_setup, NULL);
    tcase_add_test(tc, test_mime_build_parse);
    tcase_add_test(tc, test_mime_header_injection);
    tcase_add_test(tc, test_mime_foreign_messages);
    suite_add_tcase(s, tc);

    tc = tcase_create("openapi");
    tcase_add_test(tc, test_openapi_embedded_is_current);
    tcase_add_test(tc, test_openapi_documents_every_route);
    tcase_add_test(tc, test_openapi_routes_exist);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
