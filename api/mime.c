/*
 * mime.c - RFC 5322 messages with MIME (RFC 2045-2047, 2183, 2231): built from
 * what a user composes, and parsed back for the JSON view and attachments.
 *
 * The parser is for messages from anywhere (imports are raw message/rfc822):
 * it never reads past its input, bounds nesting (API_MIME_DEPTH_MAX), headers
 * and parts, and returns only valid UTF-8 (invalid bytes become U+FFFD;
 * ISO-8859-1 and windows-1252 text is converted, other charsets are passed
 * through as far as they are valid UTF-8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api_private.h"

#define MIME_HEADERS_MAX 1000
#define MIME_PARTS_MAX 1000
#define MIME_PARAMS_MAX 64
#define MIME_LINE_MAX 998  /* RFC 5322 2.1.1 */
#define MIME_B64_LINE 76   /* RFC 2045 6.8 */
#define MIME_WORD_BYTES 45 /* bytes per encoded-word: 60 base64 chars + 12 <= 75 */

/* ---- building ---------------------------------------------------------------------------- */

/* RFC 5322 3.3 date-time, always in UTC. */
static int mime_put_date(struct buf *b, int64_t t)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    return buf_printf(b, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                      months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Length of the UTF-8 sequence starting with byte c (1 for invalid bytes). */
static size_t mime_u8len(unsigned char c)
{
    if (c >= 0xf0)
        return 4;
    if (c >= 0xe0)
        return 3;
    if (c >= 0xc0)
        return 2;
    return 1;
}

/* An unstructured header value (RFC 5322 3.2.5): control characters become
 * spaces (no header injection); plain ASCII is written as is, anything else
 * as RFC 2047 encoded-words, folded, never splitting a UTF-8 character. */
static int mime_put_unstructured(struct buf *b, const char *value)
{
    struct buf clean;
    buf_init(&clean);
    int rc = api_utf8_append(&clean, value, strlen(value));
    int ascii = 1;
    for (size_t i = 0; !rc && i < clean.len; i++) {
        unsigned char ch = (unsigned char)clean.data[i];
        if (ch < 0x20 || ch == 0x7f)
            clean.data[i] = ' ';
        else if (ch >= 0x80)
            ascii = 0;
    }
    if (!rc && ascii && clean.len <= 900 && !strstr(clean.data, "=?")) {
        rc = buf_append(b, clean.data, clean.len);
    } else if (!rc) {
        size_t i = 0;
        while (i < clean.len && !rc) {
            size_t n = 0;
            while (i + n < clean.len) {
                size_t l = mime_u8len((unsigned char)clean.data[i + n]);
                if (n + l > MIME_WORD_BYTES)
                    break;
                n += l;
            }
            if (n == 0)
                n = 1;
            if (i + n > clean.len)
                n = clean.len - i;
            char *enc = api_b64_encode(clean.data + i, n);
            if (!enc) {
                rc = MG_ENOMEM;
                break;
            }
            rc = buf_printf(b, "%s=?UTF-8?B?%s?=", i ? "\r\n " : "", enc);
            free(enc);
            i += n;
        }
    }
    buf_release(&clean);
    return rc;
}

/* An address list, folded after commas so no line grows long. */
static int mime_put_addresses(struct buf *b, const char *name, const char *const *addr, size_t n)
{
    int rc = buf_printf(b, "%s: ", name);
    size_t line = strlen(name) + 2;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t len = strlen(addr[i]);
        if (i) {
            rc = buf_puts(b, line + len > 76 ? ",\r\n " : ", ");
            line = line + len > 76 ? 1 : line + 2;
        }
        if (!rc)
            rc = buf_append(b, addr[i], len);
        line += len;
    }
    return rc ? rc : buf_puts(b, "\r\n");
}

/* 1 when s is a sane type/subtype (RFC 2045 5.1 tokens). */
static int mime_ctype_ok(const char *s)
{
    int slash = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (ch == '/') {
            if (slash || n == 0)
                return 0;
            slash = 1;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || strchr("!#$&-^_.+", ch))) {
            return 0;
        }
    }
    return slash && n < 128 && s[n - 1] != '/';
}

/* A file name param: plain quoted ASCII, or RFC 2231 extended UTF-8. */
static int mime_put_filename_param(struct buf *b, const char *param, const char *name)
{
    struct buf clean;
    buf_init(&clean);
    int rc = api_utf8_append(&clean, name, strlen(name) > 200 ? 200 : strlen(name));
    int ascii = 1;
    for (size_t i = 0; !rc && i < clean.len; i++) {
        unsigned char ch = (unsigned char)clean.data[i];
        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' || ch == '/')
            clean.data[i] = '_';
        else if (ch >= 0x80)
            ascii = 0;
    }
    if (!rc && clean.len == 0)
        rc = buf_puts(&clean, "attachment");
    if (!rc && ascii) {
        rc = buf_printf(b, "; %s=\"%s\"", param, clean.data);
    } else if (!rc) {
        rc = buf_printf(b, ";\r\n %s*=UTF-8''", param);
        for (size_t i = 0; !rc && i < clean.len; i++) {
            unsigned char ch = (unsigned char)clean.data[i];
            if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                strchr("-._~", ch))
                rc = buf_putc(b, (char)ch);
            else
                rc = buf_printf(b, "%%%02X", ch);
        }
    }
    buf_release(&clean);
    return rc;
}

static int mime_put_base64_lines(struct buf *b, const void *data, size_t len)
{
    char *enc = api_b64_encode(data, len);
    if (!enc)
        return MG_ENOMEM;
    size_t n = strlen(enc);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += MIME_B64_LINE) {
        size_t l = n - i < MIME_B64_LINE ? n - i : MIME_B64_LINE;
        rc = buf_append(b, enc + i, l) || buf_puts(b, "\r\n") ? MG_ENOMEM : 0;
    }
    free(enc);
    return rc;
}

/* The text part: line ends made CRLF; 7bit, 8bit, or base64 when a line is
 * too long for SMTP (RFC 5322 2.1.1) or there is a NUL. */
static int mime_put_text_part(struct buf *b, const char *text)
{
    struct buf norm;
    buf_init(&norm);
    int rc = buf_append(&norm, "", 0);
    size_t n = strlen(text);
    size_t line = 0, longest = 0;
    int ascii = 1;
    for (size_t i = 0; i < n && !rc; i++) {
        char ch = text[i];
        if (ch == '\r' || ch == '\n') {
            if (ch == '\r' && i + 1 < n && text[i + 1] == '\n')
                i++;
            rc = buf_puts(&norm, "\r\n");
            line = 0;
            continue;
        }
        if ((unsigned char)ch >= 0x80)
            ascii = 0;
        rc = buf_putc(&norm, ch);
        if (++line > longest)
            longest = line;
    }
    if (!rc && (norm.len < 2 || memcmp(norm.data + norm.len - 2, "\r\n", 2) != 0))
        rc = buf_puts(&norm, "\r\n");
    if (!rc) {
        rc = buf_puts(b, "Content-Type: text/plain; charset=utf-8\r\n");
        if (!rc && longest > MIME_LINE_MAX) {
            rc = buf_puts(b, "Content-Transfer-Encoding: base64\r\n\r\n");
            if (!rc)
                rc = mime_put_base64_lines(b, norm.data, norm.len);
        } else if (!rc) {
            rc = buf_printf(b, "Content-Transfer-Encoding: %s\r\n\r\n", ascii ? "7bit" : "8bit");
            if (!rc)
                rc = buf_append(b, norm.data, norm.len);
        }
    }
    buf_release(&norm);
    return rc;
}

/* A message id or reference, kept to what may stand between < and >. */
static int mime_put_msgid(struct buf *b, const char *name, const char *id)
{
    int rc = buf_printf(b, "%s: <", name);
    for (size_t i = 0; id[i] && i < 250 && !rc; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (ch > 0x20 && ch < 0x7f && ch != '<' && ch != '>')
            rc = buf_putc(b, (char)ch);
    }
    return rc ? rc : buf_puts(b, ">\r\n");
}

int api_mime_build(const struct api_compose *m, struct buf *out)
{
    int rc = buf_puts(out, "Date: ");
    rc = rc ? rc : mime_put_date(out, m->date);
    rc = rc ? rc : buf_printf(out, "\r\nFrom: %s\r\n", m->from);
    if (!rc && m->nto)
        rc = mime_put_addresses(out, "To", m->to, m->nto);
    if (!rc && m->ncc)
        rc = mime_put_addresses(out, "Cc", m->cc, m->ncc);
    rc = rc ? rc : buf_puts(out, "Subject: ");
    rc = rc ? rc : mime_put_unstructured(out, m->subject ? m->subject : "");
    rc = rc ? rc : buf_puts(out, "\r\n");
    rc = rc ? rc : mime_put_msgid(out, "Message-ID", m->message_id);
    if (!rc && m->in_reply_to && m->in_reply_to[0])
        rc = mime_put_msgid(out, "In-Reply-To", m->in_reply_to);
    rc = rc ? rc : buf_puts(out, "MIME-Version: 1.0\r\n");
    if (rc)
        return rc;
    if (m->natt == 0)
        return mime_put_text_part(out, m->text ? m->text : "");

    uint8_t rnd[12];
    char boundary[40] = "=_mg_";
    randombytes_buf(rnd, sizeof(rnd));
    mg_hex_encode(rnd, sizeof(rnd), boundary + 5);
    rc = buf_printf(out,
                    "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                    "This is a message in MIME format.\r\n--%s\r\n",
                    boundary, boundary);
    rc = rc ? rc : mime_put_text_part(out, m->text ? m->text : "");
    for (size_t i = 0; i < m->natt && !rc; i++) {
        const struct api_attachment_in *a = &m->att[i];
        const char *ctype = a->content_type && mime_ctype_ok(a->content_type)
                                ? a->content_type
                                : "application/octet-stream";
        rc = buf_printf(out, "\r\n--%s\r\nContent-Type: %s", boundary, ctype);
        rc = rc ? rc : mime_put_filename_param(out, "name", a->filename ? a->filename : "");
        rc = rc ? rc : buf_puts(out, "\r\nContent-Disposition: attachment");
        rc = rc ? rc : mime_put_filename_param(out, "filename", a->filename ? a->filename : "");
        rc = rc ? rc : buf_puts(out, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        rc = rc ? rc : mime_put_base64_lines(out, a->data, a->len);
    }
    return rc ? rc : buf_printf(out, "\r\n--%s--\r\n", boundary);
}

/* ---- parsing: headers ----------------------------------------------------------------------- */

struct mime_header {
    char *name;  /* as written */
    char *value; /* unfolded, raw bytes */
};

struct mime_headers {
    struct mime_header *v;
    size_t n;
};

static void mime_headers_release(struct mime_headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].name);
        free(h->v[i].value);
    }
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

static const char *mime_header(const struct mime_headers *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) == 0)
            return h->v[i].value;
    return NULL;
}

/* Copies n bytes of raw text (not NUL-terminated: it may end the buffer) up
 * to the first NUL into a new string. Unlike strndup, never looks past n. */
static char *mime_copy(const char *p, size_t n)
{
    const char *nul = memchr(p, '\0', n);
    if (nul)
        n = (size_t)(nul - p);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Splits an entity into headers and body. Returns 0, MG_EINVAL (no header at
 * all) or MG_ENOMEM. */
static int mime_split(const char *raw, size_t len, struct mime_headers *h, const char **body,
                      size_t *body_len)
{
    h->v = NULL;
    h->n = 0;
    size_t i = 0;
    size_t cap = 0;
    int rc = 0;
    while (i < len) {
        /* the end of this line */
        size_t e = i;
        while (e < len && raw[e] != '\n')
            e++;
        size_t line_end = e > i && raw[e - 1] == '\r' ? e - 1 : e;
        if (line_end == i) { /* empty line: the body follows */
            i = e < len ? e + 1 : len;
            break;
        }
        if ((raw[i] == ' ' || raw[i] == '\t') && h->n) {
            /* folded continuation (RFC 5322 2.2.3) */
            struct mime_header *last = &h->v[h->n - 1];
            size_t old = strlen(last->value);
            char *v = realloc(last->value, old + (line_end - i) + 1);
            if (!v) {
                rc = MG_ENOMEM;
                break;
            }
            memcpy(v + old, raw + i, line_end - i);
            v[old + (line_end - i)] = '\0';
            last->value = v;
        } else {
            const char *colon = memchr(raw + i, ':', line_end - i);
            if (colon && colon > raw + i && h->n < MIME_HEADERS_MAX) {
                if (h->n == cap) {
                    cap = cap ? 2 * cap : 16;
                    struct mime_header *nv = realloc(h->v, cap * sizeof(*nv));
                    if (!nv) {
                        rc = MG_ENOMEM;
                        break;
                    }
                    h->v = nv;
                }
                const char *v = colon + 1;
                while (v < raw + line_end && (*v == ' ' || *v == '\t'))
                    v++;
                h->v[h->n].name = mime_copy(raw + i, (size_t)(colon - (raw + i)));
                h->v[h->n].value = mime_copy(v, (size_t)(raw + line_end - v));
                if (!h->v[h->n].name || !h->v[h->n].value) {
                    free(h->v[h->n].name);
                    free(h->v[h->n].value);
                    rc = MG_ENOMEM;
                    break;
                }
                /* NUL bytes inside a header end it: mime_copy stopped there */
                h->n++;
            } else if (h->n == 0) {
                rc = MG_EINVAL; /* the first line is no header: not a message */
                break;
            }
        }
        i = e < len ? e + 1 : len;
    }
    if (rc) {
        mime_headers_release(h);
        return rc;
    }
    *body = raw + i;
    *body_len = len - i;
    return 0;
}

/* ---- parsing: charsets, encoded words, parameters -----------------------------------------------
 */

static int mime_is_latin1(const char *charset)
{
    return charset &&
           (strcasecmp(charset, "iso-8859-1") == 0 || strcasecmp(charset, "latin1") == 0 ||
            strcasecmp(charset, "iso-8859-15") == 0 || strcasecmp(charset, "windows-1252") == 0 ||
            strcasecmp(charset, "us-ascii") == 0);
}

/* Appends text in charset as UTF-8 (latin-1 family converted; anything else
 * is taken as UTF-8 and made valid). */
static int mime_charset_append(struct buf *b, const char *charset, const char *s, size_t n)
{
    if (!mime_is_latin1(charset))
        return api_utf8_append(b, s, n);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == 0)
            rc = buf_puts(b, "\xef\xbf\xbd");
        else if (ch < 0x80)
            rc = buf_putc(b, (char)ch);
        else
            rc = buf_putc(b, (char)(0xc0 | (ch >> 6))) || buf_putc(b, (char)(0x80 | (ch & 0x3f)))
                     ? MG_ENOMEM
                     : 0;
    }
    return rc;
}

static int mime_hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Quoted-printable (RFC 2045 6.7); q_words: RFC 2047 "Q" ('_' is a space). */
static int mime_qp_decode(const char *s, size_t n, int q_words, struct buf *out)
{
    int rc = buf_append(out, "", 0);
    for (size_t i = 0; i < n && !rc; i++) {
        char ch = s[i];
        if (ch == '=' && i + 2 < n && mime_hexval(s[i + 1]) >= 0 && mime_hexval(s[i + 2]) >= 0) {
            rc = buf_putc(out, (char)(mime_hexval(s[i + 1]) << 4 | mime_hexval(s[i + 2])));
            i += 2;
        } else if (ch == '=' && !q_words) {
            /* soft line break "=\r\n" (or a stray '=' kept as is) */
            if (i + 1 < n && s[i + 1] == '\n')
                i += 1;
            else if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n')
                i += 2;
            else
                rc = buf_putc(out, ch);
        } else if (ch == '_' && q_words) {
            rc = buf_putc(out, ' ');
        } else {
            rc = buf_putc(out, ch);
        }
    }
    return rc;
}

/* Decodes one encoded-word "=?charset?B|Q?text?=" at p into raw; returns the
 * position after it, or NULL when p does not start a valid word. */
static const char *mime_decode_word(const char *p, struct buf *raw, int *rc)
{
    if (p[0] != '=' || p[1] != '?')
        return NULL;
    const char *cs = p + 2;
    const char *q1 = strchr(cs, '?');
    if (!q1 || q1 - cs >= 40 || !q1[1] || q1[2] != '?')
        return NULL;
    const char *text = q1 + 3;
    const char *end = strstr(text, "?=");
    if (!end)
        return NULL;
    char charset[40];
    memcpy(charset, cs, (size_t)(q1 - cs));
    charset[q1 - cs] = '\0';
    char *star = strchr(charset, '*'); /* RFC 2231 5: language suffix */
    if (star)
        *star = '\0';
    struct buf dec;
    buf_init(&dec);
    int ok;
    if (q1[1] == 'B' || q1[1] == 'b')
        ok = api_b64_decode(text, (size_t)(end - text), 0, &dec) == 0;
    else if (q1[1] == 'Q' || q1[1] == 'q')
        ok = mime_qp_decode(text, (size_t)(end - text), 1, &dec) == 0;
    else
        ok = 0;
    if (ok)
        *rc = mime_charset_append(raw, charset, dec.data ? dec.data : "", dec.len);
    buf_release(&dec);
    return ok ? end + 2 : NULL;
}

/* Decodes RFC 2047 encoded-words in a header value into valid UTF-8. */
static int mime_decode_header(const char *value, struct buf *out)
{
    struct buf raw;
    buf_init(&raw);
    int rc = buf_append(&raw, "", 0);
    const char *p = value;
    const char *ws = NULL; /* a run of white space not written yet */
    size_t ws_len = 0;
    int prev_word = 0;
    while (*p && !rc) {
        struct buf word;
        buf_init(&word);
        const char *next = mime_decode_word(p, &word, &rc);
        if (next) {
            /* RFC 2047 6.2: white space between two encoded words is dropped */
            if (ws && !prev_word)
                rc = buf_append(&raw, ws, ws_len);
            if (!rc && word.len)
                rc = buf_append(&raw, word.data, word.len);
            buf_release(&word);
            ws = NULL;
            prev_word = 1;
            p = next;
            continue;
        }
        buf_release(&word);
        if (*p == ' ' || *p == '\t') {
            ws = p;
            while (*p == ' ' || *p == '\t')
                p++;
            ws_len = (size_t)(p - ws);
            continue;
        }
        if (ws)
            rc = buf_append(&raw, ws, ws_len);
        ws = NULL;
        if (!rc)
            rc = buf_putc(&raw, *p);
        prev_word = 0;
        p++;
    }
    if (!rc && ws)
        rc = buf_append(&raw, ws, ws_len);
    if (!rc)
        rc = api_utf8_append(out, raw.data, raw.len);
    buf_release(&raw);
    return rc;
}

struct mime_param {
    char name[64]; /* lower case */
    char *value;   /* unquoted, raw */
};

struct mime_ctype {
    char type[128]; /* lower case "type/subtype" */
    struct mime_param p[MIME_PARAMS_MAX];
    size_t np;
};

static void mime_ctype_release(struct mime_ctype *ct)
{
    for (size_t i = 0; i < ct->np; i++)
        free(ct->p[i].value);
    ct->np = 0;
}

/* Parses "type/subtype; a=b; c=\"d\"" (also Content-Disposition, whose
 * "type" is then e.g. "attachment"). Never fails: junk is skipped. */
static void mime_parse_ctype(const char *value, struct mime_ctype *ct)
{
    memset(ct, 0, sizeof(*ct));
    const char *p = value ? value : "";
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t' && n < sizeof(ct->type) - 1) {
        ct->type[n] = (char)((p[n] >= 'A' && p[n] <= 'Z') ? p[n] + 32 : p[n]);
        n++;
    }
    ct->type[n] = '\0';
    p = strchr(p, ';');
    while (p && *p == ';' && ct->np < MIME_PARAMS_MAX) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        struct mime_param *mp = &ct->p[ct->np];
        size_t k = 0;
        for (; *p && *p != '=' && *p != ';'; p++)
            if (k < sizeof(mp->name) - 1)
                mp->name[k++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        while (k && (mp->name[k - 1] == ' ' || mp->name[k - 1] == '\t'))
            k--;
        mp->name[k] = '\0';
        if (*p != '=')
            continue; /* a parameter without a value: skipped */
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        struct buf v;
        buf_init(&v);
        int rc = buf_append(&v, "", 0);
        if (*p == '"') {
            for (p++; *p && *p != '"' && !rc; p++) {
                if (*p == '\\' && p[1])
                    p++;
                rc = buf_putc(&v, *p);
            }
        } else {
            for (; *p && *p != ';' && *p != ' ' && *p != '\t' && !rc; p++)
                rc = buf_putc(&v, *p);
        }
        mp->value = rc ? NULL : buf_detach(&v, NULL);
        buf_release(&v);
        if (mp->value && mp->name[0])
            ct->np++;
        else
            free(mp->value);
        p = strchr(p, ';');
    }
}

/* Percent-decodes an RFC 2231 extended value's text part. */
static int mime_pct_decode(const char *s, struct buf *out)
{
    int rc = 0;
    for (; *s && !rc; s++) {
        if (*s == '%' && mime_hexval(s[1]) >= 0 && mime_hexval(s[2]) >= 0) {
            rc = buf_putc(out, (char)(mime_hexval(s[1]) << 4 | mime_hexval(s[2])));
            s += 2;
        } else {
            rc = buf_putc(out, *s);
        }
    }
    return rc;
}

/* A parameter's value as UTF-8 (malloc'd), handling RFC 2231 extended values
 * and continuations (name*=, name*0=, name*0*=, ...) and RFC 2047 words that
 * some mailers put in quoted values. NULL when absent. */
static char *mime_param(const struct mime_ctype *ct, const char *name)
{
    size_t nlen = strlen(name);
    struct buf raw;
    buf_init(&raw);
    char charset[40] = "";
    int found = 0, extended_any = 0;
    for (int idx = -1; idx < MIME_PARAMS_MAX; idx++) {
        int hit = 0;
        for (size_t i = 0; i < ct->np; i++) {
            const char *pn = ct->p[i].name;
            if (strncmp(pn, name, nlen) != 0)
                continue;
            const char *rest = pn + nlen;
            int ext = 0;
            if (idx < 0) {
                if (strcmp(rest, "") == 0)
                    ext = 0;
                else if (strcmp(rest, "*") == 0)
                    ext = 1;
                else
                    continue;
            } else {
                char want[16];
                snprintf(want, sizeof(want), "*%d", idx);
                size_t wl = strlen(want);
                if (strncmp(rest, want, wl) != 0 || (rest[wl] && strcmp(rest + wl, "*") != 0))
                    continue;
                ext = rest[wl] == '*';
            }
            const char *v = ct->p[i].value;
            if (ext) {
                extended_any = 1;
                if (idx <= 0) { /* charset'language'text */
                    const char *q1 = strchr(v, '\'');
                    const char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
                    if (q1 && q2 && (size_t)(q1 - v) < sizeof(charset)) {
                        memcpy(charset, v, (size_t)(q1 - v));
                        charset[q1 - v] = '\0';
                        v = q2 + 1;
                    }
                }
                mime_pct_decode(v, &raw);
            } else {
                buf_puts(&raw, v);
            }
            hit = 1;
            break;
        }
        if (idx < 0 && hit) {
            found = 1;
            break; /* a plain or single extended value: no continuations */
        }
        if (idx >= 0 && !hit)
            break;
        if (hit)
            found = 1;
    }
    if (!found) {
        buf_release(&raw);
        return NULL;
    }
    struct buf out;
    buf_init(&out);
    if (extended_any)
        mime_charset_append(&out, charset, raw.data ? raw.data : "", raw.len);
    else
        mime_decode_header(raw.data ? raw.data : "", &out);
    buf_append(&out, "", 0);
    buf_release(&raw);
    return buf_detach(&out, NULL);
}

/* ---- parsing: entities ------------------------------------------------------------------------
 */

struct mime_leaf {
    char ctype[128];
    char *charset;
    char *filename;
    char encoding[32];
    int attachment;
    const char *body;
    size_t body_len;
};

struct mime_tree {
    struct mime_leaf *v;
    size_t n;
    size_t cap;
};

static void mime_tree_release(struct mime_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].charset);
        free(t->v[i].filename);
    }
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* Position of the next delimiter line "--boundary" at or after from, or len. */
static size_t mime_find_delim(const char *s, size_t len, const char *boundary, size_t blen,
                              size_t from)
{
    for (size_t i = from; i + 2 + blen <= len; i++) {
        if ((i == 0 || s[i - 1] == '\n') && s[i] == '-' && s[i + 1] == '-' &&
            memcmp(s + i + 2, boundary, blen) == 0)
            return i;
        const char *nl = memchr(s + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - s); /* the loop's i++ moves past the '\n' */
    }
    return len;
}

static int mime_walk(const char *raw, size_t len, int depth, struct mime_tree *t,
                     struct mime_headers *top);

/* Splits a multipart body and walks each part. */
static int mime_walk_multipart(const char *body, size_t len, const char *boundary, int depth,
                               struct mime_tree *t)
{
    size_t blen = strlen(boundary);
    if (blen == 0 || blen > 200)
        return 0;
    size_t pos = mime_find_delim(body, len, boundary, blen, 0);
    while (pos < len) {
        size_t after = pos + 2 + blen;
        if (after + 2 <= len && body[after] == '-' && body[after + 1] == '-')
            break; /* close delimiter */
        /* skip the rest of the delimiter line */
        const char *nl = memchr(body + after, '\n', len - after);
        if (!nl)
            break;
        size_t start = (size_t)(nl - body) + 1;
        size_t next = mime_find_delim(body, len, boundary, blen, start);
        size_t end = next;
        /* the CRLF before the delimiter belongs to it (RFC 2046 5.1.1) */
        if (end > start && body[end - 1] == '\n')
            end--;
        if (end > start && body[end - 1] == '\r')
            end--;
        int rc = mime_walk(body + start, end - start, depth + 1, t, NULL);
        if (rc)
            return rc;
        pos = next;
    }
    return 0;
}

static int mime_walk(const char *raw, size_t len, int depth, struct mime_tree *t,
                     struct mime_headers *top)
{
    struct mime_headers h;
    const char *body;
    size_t body_len;
    int rc = mime_split(raw, len, &h, &body, &body_len);
    if (rc == MG_EINVAL && depth > 0) {
        /* a part without headers is text/plain (RFC 2045 5.2) */
        h.v = NULL;
        h.n = 0;
        body = raw;
        body_len = len;
        if (len && (raw[0] == '\n' || (raw[0] == '\r' && len > 1 && raw[1] == '\n'))) {
            body += raw[0] == '\n' ? 1 : 2;
            body_len -= raw[0] == '\n' ? 1 : 2;
        }
        rc = 0;
    }
    if (rc)
        return rc;
    struct mime_ctype ct;
    mime_parse_ctype(mime_header(&h, "Content-Type"), &ct);
    if (!ct.type[0] || !strchr(ct.type, '/'))
        snprintf(ct.type, sizeof(ct.type), "text/plain");
    if (strncmp(ct.type, "multipart/", 10) == 0 && depth < API_MIME_DEPTH_MAX) {
        char *boundary = mime_param(&ct, "boundary");
        rc = boundary ? mime_walk_multipart(body, body_len, boundary, depth, t) : 0;
        free(boundary);
    } else if (t->n < MIME_PARTS_MAX) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 8;
            struct mime_leaf *v = realloc(t->v, cap * sizeof(*v));
            if (!v) {
                rc = MG_ENOMEM;
                goto out;
            }
            t->v = v;
            t->cap = cap;
        }
        struct mime_leaf *l = &t->v[t->n];
        memset(l, 0, sizeof(*l));
        snprintf(l->ctype, sizeof(l->ctype), "%s", ct.type);
        l->charset = mime_param(&ct, "charset");
        struct mime_ctype disp;
        mime_parse_ctype(mime_header(&h, "Content-Disposition"), &disp);
        l->filename = mime_param(&disp, "filename");
        if (!l->filename)
            l->filename = mime_param(&ct, "name");
        const char *cte = mime_header(&h, "Content-Transfer-Encoding");
        size_t k = 0;
        while (cte && cte[k] && cte[k] != ' ' && cte[k] != ';' && k < sizeof(l->encoding) - 1) {
            l->encoding[k] = (char)((cte[k] >= 'A' && cte[k] <= 'Z') ? cte[k] + 32 : cte[k]);
            k++;
        }
        l->encoding[k] = '\0';
        int is_text = strcmp(ct.type, "text/plain") == 0 || strcmp(ct.type, "text/html") == 0;
        l->attachment =
            strcmp(disp.type, "attachment") == 0 || (l->filename && l->filename[0]) || !is_text;
        l->body = body;
        l->body_len = body_len;
        mime_ctype_release(&disp);
        t->n++;
    }
out:
    mime_ctype_release(&ct);
    if (top && !rc)
        *top = h;
    else
        mime_headers_release(&h);
    return rc;
}

/* Decodes a leaf's body by its transfer encoding (raw bytes). */
static int mime_leaf_decode(const struct mime_leaf *l, struct buf *out)
{
    if (strcmp(l->encoding, "base64") == 0)
        return api_b64_decode(l->body, l->body_len, 0, out);
    if (strcmp(l->encoding, "quoted-printable") == 0)
        return mime_qp_decode(l->body, l->body_len, 0, out);
    return buf_append(out, l->body, l->body_len);
}

/* Splits an address list at commas outside quotes, comments and <>. */
static json_t *mime_addresses(const char *value)
{
    json_t *arr = json_array();
    if (!arr || !value)
        return arr;
    struct buf dec;
    buf_init(&dec);
    if (mime_decode_header(value, &dec)) {
        buf_release(&dec);
        return arr;
    }
    const char *s = dec.data ? dec.data : "";
    int quote = 0, angle = 0, paren = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == '"' && (p == s || p[-1] != '\\'))
            quote = !quote;
        else if (!quote && *p == '<')
            angle++;
        else if (!quote && *p == '>' && angle)
            angle--;
        else if (!quote && *p == '(')
            paren++;
        else if (!quote && *p == ')' && paren)
            paren--;
        if (*p == '\0' || (*p == ',' && !quote && !angle && !paren)) {
            const char *a = start, *b = p;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (b > a && json_array_size(arr) < 1000)
                json_array_append_new(arr, json_stringn(a, (size_t)(b - a)));
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    buf_release(&dec);
    return arr;
}

static json_t *mime_header_json(const struct mime_headers *h, const char *name)
{
    const char *v = mime_header(h, name);
    struct buf dec;
    buf_init(&dec);
    if (mime_decode_header(v ? v : "", &dec)) {
        buf_release(&dec);
        return json_string("");
    }
    /* trim */
    size_t a = 0, b = dec.len;
    while (a < b && (dec.data[a] == ' ' || dec.data[a] == '\t'))
        a++;
    while (b > a && (dec.data[b - 1] == ' ' || dec.data[b - 1] == '\t'))
        b--;
    json_t *s = json_stringn(dec.data ? dec.data + a : "", b - a);
    buf_release(&dec);
    return s;
}

static int mime_parse_all(const char *raw, size_t len, struct mime_tree *t,
                          struct mime_headers *top)
{
    memset(t, 0, sizeof(*t));
    int rc = mime_walk(raw, len, 0, t, top);
    if (rc)
        mime_tree_release(t);
    return rc;
}

int api_mime_parse(const char *raw, size_t len, json_t **out)
{
    struct mime_tree t;
    struct mime_headers h = {NULL, 0};
    int rc = mime_parse_all(raw, len, &t, &h);
    if (rc)
        return rc;
    json_t *v = json_object();
    json_t *atts = json_array();
    struct buf text, html;
    buf_init(&text);
    buf_init(&html);
    int have_html = 0;
    if (!v || !atts) {
        rc = MG_ENOMEM;
        goto out;
    }
    json_object_set_new(v, "from", mime_header_json(&h, "From"));
    json_object_set_new(v, "to", mime_addresses(mime_header(&h, "To")));
    json_object_set_new(v, "cc", mime_addresses(mime_header(&h, "Cc")));
    json_object_set_new(v, "subject", mime_header_json(&h, "Subject"));
    json_object_set_new(v, "date", mime_header_json(&h, "Date"));
    json_object_set_new(v, "message_id", mime_header_json(&h, "Message-ID"));
    json_object_set_new(v, "in_reply_to", mime_header_json(&h, "In-Reply-To"));
    buf_append(&text, "", 0);
    size_t index = 0;
    for (size_t i = 0; i < t.n; i++) {
        struct mime_leaf *l = &t.v[i];
        struct buf dec;
        buf_init(&dec);
        rc = mime_leaf_decode(l, &dec);
        if (rc) {
            buf_release(&dec);
            goto out;
        }
        if (!l->attachment && strcmp(l->ctype, "text/plain") == 0) {
            if (text.len)
                buf_puts(&text, "\n");
            rc = mime_charset_append(&text, l->charset, dec.data ? dec.data : "", dec.len);
        } else if (!l->attachment && strcmp(l->ctype, "text/html") == 0 && !have_html) {
            have_html = 1;
            rc = mime_charset_append(&html, l->charset, dec.data ? dec.data : "", dec.len);
        } else {
            json_t *a = json_pack("{s:I, s:s, s:s, s:I}", "index", (json_int_t)index++, "filename",
                                  l->filename && l->filename[0] ? l->filename : "attachment",
                                  "content_type", l->ctype, "size", (json_int_t)dec.len);
            if (a)
                json_array_append_new(atts, a);
        }
        buf_release(&dec);
        if (rc)
            goto out;
    }
    /* CRLF line ends are a transport detail: the JSON view uses \n */
    struct buf lf;
    buf_init(&lf);
    buf_append(&lf, "", 0);
    for (size_t i = 0; i < text.len; i++)
        if (!(text.data[i] == '\r' && i + 1 < text.len && text.data[i + 1] == '\n'))
            buf_putc(&lf, text.data[i]);
    json_object_set_new(v, "text", json_stringn(lf.data, lf.len));
    buf_release(&lf);
    if (have_html)
        json_object_set_new(v, "html", json_stringn(html.data ? html.data : "", html.len));
    json_object_set_new(v, "attachments", atts);
    atts = NULL;
    *out = v;
    v = NULL;
out:
    json_decref(v);
    json_decref(atts);
    buf_release(&text);
    buf_release(&html);
    mime_headers_release(&h);
    mime_tree_release(&t);
    return rc;
}

int api_mime_attachment(const char *raw, size_t len, size_t index, struct buf *out, char **ctype,
                        char **filename)
{
    struct mime_tree t;
    struct mime_headers h = {NULL, 0};
    int rc = mime_parse_all(raw, len, &t, &h);
    if (rc)
        return rc;
    mime_headers_release(&h);
    rc = MG_ENOTFOUND;
    size_t seen = 0;
    int have_html = 0;
    for (size_t i = 0; i < t.n; i++) {
        struct mime_leaf *l = &t.v[i];
        /* the same classification as api_mime_parse */
        if (!l->attachment && strcmp(l->ctype, "text/plain") == 0)
            continue;
        if (!l->attachment && strcmp(l->ctype, "text/html") == 0 && !have_html) {
            have_html = 1;
            continue;
        }
        if (seen++ != index)
            continue;
        rc = mime_leaf_decode(l, out);
        if (!rc) {
            *ctype = strdup(l->ctype);
            *filename = strdup(l->filename && l->filename[0] ? l->filename : "attachment");
            if (!*ctype || !*filename) {
                free(*ctype);
                free(*filename);
                rc = MG_ENOMEM;
            }
        }
        break;
    }
    mime_tree_release(&t);
    return rc;
}
