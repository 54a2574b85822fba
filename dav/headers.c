/*
 * headers.c - parsers for the request headers DAV handlers read: Depth,
 * Overwrite, Destination, Timeout, Range, If-Match/If-None-Match, dates.
 * Pure functions of their input; unit-tested in tests/unit/check_dav_headers.c.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dav_private.h"

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* 1 when s (trimmed of spaces) equals word, ignoring case. */
static int trimmed_eq(const char *s, const char *word)
{
    size_t n = strlen(word);
    s = skip_ws(s);
    if (strncasecmp(s, word, n) != 0)
        return 0;
    return *skip_ws(s + n) == '\0';
}

/* RFC 4918 10.2: Depth = "0" | "1" | "infinity" */
int dav_parse_depth(const char *value, int dflt, int *out)
{
    if (!value) {
        *out = dflt;
        return 0;
    }
    if (trimmed_eq(value, "0"))
        *out = DAV_DEPTH_0;
    else if (trimmed_eq(value, "1"))
        *out = DAV_DEPTH_1;
    else if (trimmed_eq(value, "infinity"))
        *out = DAV_DEPTH_INFINITY;
    else
        return MG_EINVAL;
    return 0;
}

/* RFC 4918 10.6: Overwrite = "T" | "F"; absent means T */
int dav_parse_overwrite(const char *value, int *out)
{
    if (!value || trimmed_eq(value, "T")) {
        *out = 1;
        return 0;
    }
    if (trimmed_eq(value, "F")) {
        *out = 0;
        return 0;
    }
    return MG_EINVAL;
}

/* Compares two authorities, ignoring case and a default port on either side. */
static int authority_eq(const char *a, size_t alen, const char *b, int https)
{
    size_t blen = strlen(b);
    const char *dflt = https ? ":443" : ":80";
    size_t dl = strlen(dflt);

    if (alen == blen && strncasecmp(a, b, alen) == 0)
        return 1;
    if (alen == blen + dl && strncasecmp(a, b, blen) == 0 && strncmp(a + blen, dflt, dl) == 0)
        return 1;
    if (blen == alen + dl && strncasecmp(a, b, alen) == 0 && strncmp(b + alen, dflt, dl) == 0)
        return 1;
    return 0;
}

/* RFC 4918 10.3: Destination = Simple-ref (an absolute URI or an absolute path) */
int dav_parse_uri(const char *value, const char *host, char **path)
{
    const char *p;
    int https = 0;
    size_t vlen;
    char *tmp;
    int rc;

    *path = NULL;
    if (!value)
        return MG_EINVAL;
    value = skip_ws(value);
    vlen = strlen(value);
    while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
        vlen--;
    if (vlen == 0)
        return MG_EINVAL;
    if (strncasecmp(value, "http://", 7) == 0 || strncasecmp(value, "https://", 8) == 0) {
        https = tolower((unsigned char)value[4]) == 's';
        const char *auth = value + (https ? 8 : 7);
        const char *end = value + vlen;
        p = auth;
        while (p < end && *p != '/' && *p != '?' && *p != '#')
            p++;
        const char *at = memchr(auth, '@', (size_t)(p - auth));
        if (at)
            auth = at + 1; /* userinfo is not part of the server's name */
        if (p == auth)
            return MG_EINVAL;
        if (host && !authority_eq(auth, (size_t)(p - auth), host, https))
            return MG_EDENIED;
        if (p == end || *p != '/') {
            *path = mg_strdup("/");
            return *path ? 0 : MG_ENOMEM;
        }
        vlen -= (size_t)(p - value);
        value = p;
    } else if (value[0] != '/') {
        return MG_EINVAL;
    }
    tmp = malloc(vlen + 1);
    if (!tmp)
        return MG_ENOMEM;
    memcpy(tmp, value, vlen);
    tmp[vlen] = '\0';
    rc = mg_path_decode(tmp, path);
    free(tmp);
    return rc == MG_ENOMEM ? MG_ENOMEM : (rc ? MG_EINVAL : 0);
}

/* RFC 4918 10.7: Timeout = 1#TimeType; TimeType = ("Second-" DAV-delta-seconds | "Infinite") */
long dav_parse_timeout(const char *value)
{
    const char *p = value;

    while (p && *p) {
        p = skip_ws(p);
        size_t n = strcspn(p, ",");
        size_t t = n; /* the token without trailing spaces */
        while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        if (t == 8 && strncasecmp(p, "Infinite", 8) == 0)
            return DAV_LOCK_TIMEOUT_MAX;
        if (t > 7 && strncasecmp(p, "Second-", 7) == 0) {
            long v = 0;
            size_t i = 7;
            while (i < t && isdigit((unsigned char)p[i])) {
                if (v < DAV_LOCK_TIMEOUT_MAX)
                    v = v * 10 + (p[i] - '0');
                i++;
            }
            if (i == t) {
                if (v > DAV_LOCK_TIMEOUT_MAX)
                    v = DAV_LOCK_TIMEOUT_MAX;
                return v > 0 ? v : 1;
            }
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return DAV_LOCK_TIMEOUT_DEFAULT;
}

/* Parses digits [s, e) into *v; 0 or -1 (empty, junk, overflow). */
static int parse_u64_span(const char *s, const char *e, uint64_t *v)
{
    uint64_t x = 0;
    if (s == e)
        return -1;
    for (; s < e; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        if (x > (UINT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return 0;
}

/* RFC 7233 2.1 and 4.4 */
int dav_parse_range(const char *value, uint64_t size, struct dav_range *r)
{
    const char *p, *dash, *end;
    uint64_t a, b;

    if (!value)
        return 0;
    p = skip_ws(value);
    if (strncasecmp(p, "bytes", 5) != 0)
        return 0;
    p = skip_ws(p + 5);
    if (*p != '=')
        return 0;
    p = skip_ws(p + 1);
    if (strchr(p, ','))
        return 0; /* several ranges: serve the whole body */
    end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    dash = memchr(p, '-', (size_t)(end - p));
    if (!dash)
        return 0;
    if (dash == p) {
        /* suffix range: the last N bytes */
        if (parse_u64_span(dash + 1, end, &b))
            return 0;
        if (b == 0 || size == 0)
            return -1;
        r->first = b >= size ? 0 : size - b;
        r->last = size - 1;
        return 1;
    }
    if (parse_u64_span(p, dash, &a))
        return 0;
    if (dash + 1 == end) {
        b = UINT64_MAX;
    } else {
        if (parse_u64_span(dash + 1, end, &b))
            return 0;
        if (b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    r->first = a;
    r->last = b >= size ? size - 1 : b;
    return 1;
}

/* Compares two entity tags; weak comparison ignores "W/" (RFC 7232 2.3.2). */
static int etag_eq(const char *a, size_t alen, const char *b, int weak)
{
    size_t blen = strlen(b);
    int aw = alen >= 2 && a[0] == 'W' && a[1] == '/';
    int bw = blen >= 2 && b[0] == 'W' && b[1] == '/';
    if (!weak && (aw || bw))
        return 0;
    if (aw) {
        a += 2;
        alen -= 2;
    }
    if (bw) {
        b += 2;
        blen -= 2;
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

int dav_etag_list_match(const char *list, const char *etag, int weak)
{
    const char *p = list;

    if (!list)
        return 0;
    if (trimmed_eq(list, "*"))
        return etag != NULL;
    if (!etag)
        return 0;
    while (*p) {
        p = skip_ws(p);
        const char *s = p;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q)
                return 0;
            p = q + 1;
        } else {
            p += strcspn(p, ", \t");
        }
        if (etag_eq(s, (size_t)(p - s), etag, weak))
            return 1;
        p = skip_ws(p);
        if (*p == ',')
            p++;
        else if (*p)
            return 0;
    }
    return 0;
}

/* RFC 7231 7.1.1.1: IMF-fixdate, and the obsolete RFC 850 and asctime forms */
int64_t dav_parse_http_date(const char *s)
{
    static const char *const formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                          "%a %b %e %H:%M:%S %Y"};
    if (!s)
        return -1;
    s = skip_ws(s);
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(s, formats[i], &tm);
        if (end && *skip_ws(end) == '\0')
            return (int64_t)timegm(&tm);
    }
    return -1;
}

const char *dav_guess_ctype(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {"txt", "text/plain"},        {"html", "text/html"},
        {"htm", "text/html"},         {"css", "text/css"},
        {"js", "text/javascript"},    {"json", "application/json"},
        {"xml", "application/xml"},   {"pdf", "application/pdf"},
        {"png", "image/png"},         {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},       {"gif", "image/gif"},
        {"svg", "image/svg+xml"},     {"webp", "image/webp"},
        {"ics", "text/calendar"},     {"vcf", "text/vcard"},
        {"md", "text/markdown"},      {"csv", "text/csv"},
        {"zip", "application/zip"},   {"gz", "application/gzip"},
        {"tar", "application/x-tar"}, {"mp3", "audio/mpeg"},
        {"ogg", "audio/ogg"},         {"mp4", "video/mp4"},
        {"webm", "video/webm"},       {"odt", "application/vnd.oasis.opendocument.text"},
        {"wasm", "application/wasm"},
    };
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (dot && dot[1]) {
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}
