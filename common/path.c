/* path.c - URL path decoding, normalisation and encoding.
 *
 * Every request path passes mg_path_decode before a handler sees it, so that
 * traversal ("..", "%2e%2e"), NUL bytes ("%00") and malformed escapes are
 * refused in one place. */
#include <stdlib.h>
#include <string.h>

#include "meshgate/common.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Returns 1 when s[0..len) is valid UTF-8 without C0 controls or DEL. */
static int valid_utf8_text(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        /* overlong forms, surrogates, beyond Unicode */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        i += n + 1;
    }
    return 1;
}

int mg_path_decode(const char *raw, char **out)
{
    *out = NULL;
    if (!raw || raw[0] != '/')
        return MG_EINVAL;
    size_t rawlen = strcspn(raw, "?#");
    char *dec = malloc(rawlen + 1);
    if (!dec)
        return MG_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < rawlen; i++) {
        int c = (unsigned char)raw[i];
        if (c == '%') {
            int hi = i + 2 < rawlen ? hexval((unsigned char)raw[i + 1]) : -1;
            int lo = hi >= 0 ? hexval((unsigned char)raw[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                goto bad;
            c = hi << 4 | lo;
            i += 2;
            if (c == 0)
                goto bad;
        }
        dec[n++] = (char)c;
    }
    dec[n] = '\0';
    if (!valid_utf8_text((const unsigned char *)dec, n))
        goto bad;

    /* Collapse "//" and refuse "." and ".." segments. */
    char *res = malloc(n + 2);
    if (!res)
        goto nomem;
    size_t r = 0;
    const char *p = dec;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *seg = p;
        while (*p && *p != '/')
            p++;
        size_t sl = (size_t)(p - seg);
        if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.')) {
            free(res);
            goto bad;
        }
        res[r++] = '/';
        memcpy(res + r, seg, sl);
        r += sl;
    }
    if (r == 0 || dec[n - 1] == '/')
        res[r++] = '/';
    res[r] = '\0';
    free(dec);
    *out = res;
    return 0;
bad:
    free(dec);
    return MG_EINVAL;
nomem:
    free(dec);
    return MG_ENOMEM;
}

int mg_path_encode(struct buf *b, const char *path)
{
    static const char digits[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        unsigned char c = *p;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
        if (keep) {
            if (buf_putc(b, (char)c))
                return MG_ENOMEM;
        } else {
            char esc[3] = {'%', digits[c >> 4], digits[c & 15]};
            if (buf_append(b, esc, 3))
                return MG_ENOMEM;
        }
    }
    return 0;
}
