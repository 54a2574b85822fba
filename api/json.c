/*
 * json.c - the REST conventions in one place: RFC 9457 problem details, JSON
 * bodies (depth-limited parsing, typed field getters), ETags and conditional
 * requests (RFC 9110 13.1), opaque cursors, base64 and UTF-8 helpers.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_private.h"

/* ---- problem details (RFC 9457) ------------------------------------------------ */

static const char *api_status_title(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Error";
    }
}

int api_problem(struct srv_request *req, int status, const char *slug, const char *fmt, ...)
{
    struct buf detail;
    buf_init(&detail);
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(&detail, fmt, ap);
    va_end(ap);
    struct buf type;
    buf_init(&type);
    if (slug)
        rc = rc ? rc : buf_printf(&type, "urn:meshgate:problem:%s", slug);
    else
        rc = rc ? rc : buf_puts(&type, "about:blank");
    json_t *p = NULL;
    if (!rc) {
        /* detail may quote client input: make sure it is valid UTF-8 */
        struct buf clean;
        buf_init(&clean);
        api_utf8_append(&clean, detail.data ? detail.data : "", detail.len);
        p = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", type.data, "title",
                      api_status_title(status), "status", status, "detail",
                      clean.data ? clean.data : "", "instance", srv_req_path(req), "request_id",
                      srv_req_id(req));
        buf_release(&clean);
    }
    buf_release(&detail);
    buf_release(&type);
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!text)
        return srv_respond_text(req, status, "out of memory");
    srv_respond(req, status, "application/problem+json", text, strlen(text));
    free(text);
    return status;
}

int api_send_json(struct srv_request *req, int status, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text)
        return api_problem(req, 500, NULL, "out of memory");
    srv_respond(req, status, "application/json", text, strlen(text));
    free(text);
    return status;
}

/* ---- JSON bodies ------------------------------------------------------------------ */

int api_json_depth_ok(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_string) {
            if (ch == '\\')
                i++; /* skip the escaped character */
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max_depth)
                return 0;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return 1;
}

int api_json_parse_doc(const char *text, size_t len, int max_depth, json_t **out, char *err,
                       size_t cap)
{
    *out = NULL;
    if (!api_json_depth_ok(text, len, max_depth)) {
        snprintf(err, cap, "JSON nested deeper than %d levels", max_depth);
        return MG_ETOOBIG;
    }
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        snprintf(err, cap, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return MG_EINVAL;
    }
    if (!json_is_object(v) && !json_is_array(v)) {
        json_decref(v);
        snprintf(err, cap, "the body must be a JSON array or object");
        return MG_EINVAL;
    }
    *out = v;
    return 0;
}

int api_json_parse(const char *text, size_t len, int max_depth, json_t **out, char *err, size_t cap)
{
    int rc = api_json_parse_doc(text, len, max_depth, out, err, cap);
    if (!rc && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        snprintf(err, cap, "the body must be a JSON object");
        return MG_EINVAL;
    }
    return rc;
}

int api_json_get_str(const json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return MG_ENOTFOUND;
    if (!json_is_string(v))
        return MG_EINVAL;
    *out = json_string_value(v);
    /* jansson accepts \u0000 escapes; no field of ours may contain NUL */
    if (strlen(*out) != json_string_length(v))
        return MG_EINVAL;
    return 0;
}

int api_json_get_bool(const json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return MG_ENOTFOUND;
    if (!json_is_boolean(v))
        return MG_EINVAL;
    *out = json_is_true(v);
    return 0;
}

int api_json_get_uint(const json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return MG_ENOTFOUND;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return MG_EINVAL;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

const char *api_json_unknown_key(const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i])
            return key;
    }
    return NULL;
}

/* ---- ETags and conditional requests ------------------------------------------------- */

void api_etag(const uint8_t hash[DHT_HASH_LEN], char out[API_ETAG_LEN])
{
    out[0] = '"';
    mg_hex_encode(hash, DHT_HASH_LEN, out + 1);
    out[API_ETAG_LEN - 2] = '"';
    out[API_ETAG_LEN - 1] = '\0';
}

void api_set_etag(struct srv_request *req, const uint8_t hash[DHT_HASH_LEN])
{
    char etag[API_ETAG_LEN];
    api_etag(hash, etag);
    srv_resp_header(req, "ETag", etag);
}

/* 1 when the comma-separated entity-tag list matches etag (strong comparison,
 * RFC 9110 8.8.3.2: weak tags never match); "*" matches when etag is not NULL. */
static int api_etag_list_match(const char *list, const char *etag)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*') {
            if (etag)
                return 1;
            p++;
            continue;
        }
        int weak = strncmp(p, "W/", 2) == 0;
        if (weak)
            p += 2;
        if (*p != '"')
            return 0; /* malformed: match nothing */
        const char *end = strchr(p + 1, '"');
        if (!end)
            return 0;
        size_t n = (size_t)(end - p) + 1;
        if (!weak && etag && strlen(etag) == n && memcmp(p, etag, n) == 0)
            return 1;
        p = end + 1;
    }
    return 0;
}

int api_if_match_ok(struct srv_request *req, const uint8_t *hash)
{
    const char *im = srv_req_header(req, "If-Match");
    if (!im)
        return 1;
    char etag[API_ETAG_LEN];
    if (hash)
        api_etag(hash, etag);
    return api_etag_list_match(im, hash ? etag : NULL);
}

int api_if_none_match(struct srv_request *req, const uint8_t hash[DHT_HASH_LEN])
{
    char etag[API_ETAG_LEN];
    api_etag(hash, etag);
    return api_if_none_match_etag(req, etag);
}

int api_if_none_match_etag(struct srv_request *req, const char *etag)
{
    const char *inm = srv_req_header(req, "If-None-Match");
    if (!inm)
        return 0;
    /* RFC 9110 13.1.2: weak comparison; our tags are all strong, so strip W/ */
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            return 0;
        const char *end = strchr(p + 1, '"');
        if (!end)
            return 0;
        size_t n = (size_t)(end - p) + 1;
        if (strlen(etag) == n && memcmp(p, etag, n) == 0)
            return 1;
        p = end + 1;
    }
    return 0;
}

/* ---- cursors and paging ----------------------------------------------------------------- */

int api_cursor_encode(const char *const *parts, size_t n, char **out)
{
    struct buf raw;
    buf_init(&raw);
    int rc = buf_puts(&raw, "c1");
    for (size_t i = 0; i < n && !rc; i++) {
        if (strchr(parts[i], '\n'))
            rc = MG_EINVAL;
        else
            rc = buf_putc(&raw, '\n') || buf_puts(&raw, parts[i]) ? MG_ENOMEM : 0;
    }
    if (rc) {
        buf_release(&raw);
        return rc;
    }
    size_t cap = sodium_base64_ENCODED_LEN(raw.len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(cap);
    if (s)
        sodium_bin2base64(s, cap, (const unsigned char *)raw.data, raw.len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    buf_release(&raw);
    *out = s;
    return s ? 0 : MG_ENOMEM;
}

int api_cursor_decode(const char *cursor, char **parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        parts[i] = NULL;
    size_t clen = strlen(cursor);
    if (clen == 0 || clen > 4 * DHT_KEY_MAX)
        return MG_EINVAL;
    struct buf raw;
    buf_init(&raw);
    int rc = api_b64_decode(cursor, clen, 1, &raw);
    if (rc || raw.len < 2 || memcmp(raw.data, "c1", 2) != 0 || memchr(raw.data, 0, raw.len)) {
        buf_release(&raw);
        return MG_EINVAL;
    }
    const char *p = raw.data + 2;
    for (size_t i = 0; i < n; i++) {
        if (*p != '\n') {
            rc = MG_EINVAL;
            break;
        }
        p++;
        size_t len = strcspn(p, "\n");
        parts[i] = strndup(p, len);
        if (!parts[i]) {
            rc = MG_ENOMEM;
            break;
        }
        p += len;
    }
    if (!rc && *p)
        rc = MG_EINVAL;
    buf_release(&raw);
    if (rc) {
        for (size_t i = 0; i < n; i++) {
            free(parts[i]);
            parts[i] = NULL;
        }
    }
    return rc;
}

void api_link_next(struct api_call *c, const char *const *keep, const char *next)
{
    struct buf link;
    buf_init(&link);
    int rc = buf_printf(&link, "<%s?", srv_req_raw_path(c->req));
    for (size_t i = 0; keep[i] && !rc; i++) {
        const char *val = srv_req_query(c->req, keep[i]);
        if (val)
            rc = buf_printf(&link, "%s=", keep[i]) || mg_path_encode(&link, val) ||
                 buf_putc(&link, '&');
    }
    if (!rc)
        rc = buf_printf(&link, "cursor=%s>; rel=\"next\"", next);
    if (!rc)
        srv_resp_header(c->req, "Link", link.data);
    buf_release(&link);
}

int api_page_limit(struct api_call *c, size_t *limit)
{
    const char *s = srv_req_query(c->req, "limit");
    uint64_t v = API_PAGE_DEFAULT;
    if (s && (mg_parse_u64(s, &v) || v == 0 || v > API_PAGE_MAX))
        return api_problem(c->req, 400, "bad-parameter",
                           "limit must be a whole number from 1 to %d", API_PAGE_MAX);
    *limit = (size_t)v;
    return 0;
}

/* ---- base64 ------------------------------------------------------------------------------ */

char *api_b64_encode(const void *data, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(cap);
    if (s)
        sodium_bin2base64(s, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

static int api_b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

int api_b64_decode(const char *s, size_t len, int strict, struct buf *out)
{
    uint32_t acc = 0;
    int bits = 0;
    int padding = 0;
    if (buf_append(out, "", 0)) /* an empty result is still a string */
        return MG_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (ch == '=') {
            padding = 1;
            continue;
        }
        int v = api_b64_value(ch);
        if (v < 0 || padding) {
            if (strict)
                return MG_EINVAL;
            continue;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (buf_putc(out, (char)((acc >> bits) & 0xff)))
                return MG_ENOMEM;
        }
    }
    /* 6 leftover bits cannot come from whole bytes */
    if (strict && bits >= 6)
        return MG_EINVAL;
    return 0;
}

/* ---- UTF-8 -------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when invalid. */
static size_t api_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int api_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = api_utf8_seq(p + i, n - i);
        if (!len)
            return 0;
        i += len;
    }
    return 1;
}

int api_utf8_append(struct buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int rc = buf_append(b, "", 0);
    while (i < n && !rc) {
        size_t len = api_utf8_seq(p + i, n - i);
        if (len) {
            rc = buf_append(b, s + i, len);
            i += len;
        } else {
            rc = buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
            i++;
        }
    }
    return rc;
}

int api_icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return 1;
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return 1;
    return 0;
}
