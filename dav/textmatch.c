/*
 * textmatch.c - the text-match element of CalDAV (RFC 4791 9.7.5) and
 * CardDAV (RFC 6352 10.5.4) filters, with the collations i;octet,
 * i;ascii-casemap (RFC 4790 9.2, 9.3) and i;unicode-casemap (RFC 5051).
 *
 * i;unicode-casemap folds each character through the C.UTF-8 locale's
 * towupper (the titlecase of RFC 5051 for every letter but a few digraphs);
 * the NFKD step is not done, so a precomposed and a decomposed accent do not
 * match each other.
 */
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include <libxml/tree.h>

#include "dav_private.h"

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale = (locale_t)0;

static void utf8_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

void dav_textmatch_release(struct dav_textmatch *tm)
{
    if (!tm)
        return;
    free(tm->text);
    tm->text = NULL;
}

int dav_textmatch_parse(xmlNode *node, int dflt, struct dav_textmatch *tm)
{
    xmlChar *coll, *mt, *neg, *text;
    int rc = 0;

    memset(tm, 0, sizeof(*tm));
    tm->collation = dflt;
    coll = xmlGetProp(node, (const xmlChar *)"collation");
    mt = xmlGetProp(node, (const xmlChar *)"match-type");
    neg = xmlGetProp(node, (const xmlChar *)"negate-condition");
    if (coll) {
        if (strcmp((const char *)coll, "i;octet") == 0)
            tm->collation = DAV_COLLATION_OCTET;
        else if (strcmp((const char *)coll, "i;ascii-casemap") == 0)
            tm->collation = DAV_COLLATION_ASCII;
        else if (strcmp((const char *)coll, "i;unicode-casemap") == 0)
            tm->collation = DAV_COLLATION_UNICODE;
        else
            rc = MG_EDENIED;
    }
    if (!rc && mt) {
        if (strcmp((const char *)mt, "contains") == 0)
            tm->match = DAV_MATCH_CONTAINS;
        else if (strcmp((const char *)mt, "equals") == 0)
            tm->match = DAV_MATCH_EQUALS;
        else if (strcmp((const char *)mt, "starts-with") == 0)
            tm->match = DAV_MATCH_STARTS;
        else if (strcmp((const char *)mt, "ends-with") == 0)
            tm->match = DAV_MATCH_ENDS;
        else
            rc = MG_EINVAL;
    }
    if (!rc && neg) {
        if (strcmp((const char *)neg, "yes") == 0)
            tm->negate = 1;
        else if (strcmp((const char *)neg, "no") != 0)
            rc = MG_EINVAL;
    }
    xmlFree(coll);
    xmlFree(mt);
    xmlFree(neg);
    if (rc)
        return rc;
    text = xmlNodeGetContent(node);
    tm->text = mg_strdup(text ? (const char *)text : "");
    xmlFree(text);
    return tm->text ? 0 : MG_ENOMEM;
}

/* Decodes one UTF-8 character at *p (bytes are validated elsewhere; a stray
 * byte stands for itself). */
static uint32_t next_cp(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    size_t len = 1;
    if (c >= 0xc0 && c <= 0xdf && (s[1] & 0xc0) == 0x80) {
        c = ((c & 0x1f) << 6) | (s[1] & 0x3f);
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
        c = ((c & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
        len = 3;
    } else if (c >= 0xf0 && c <= 0xf4 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
               (s[3] & 0xc0) == 0x80) {
        c = ((c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) | ((uint32_t)(s[2] & 0x3f) << 6) |
            (s[3] & 0x3f);
        len = 4;
    }
    *p = s + len;
    return c;
}

static uint32_t fold(uint32_t c, int collation)
{
    if (collation == DAV_COLLATION_OCTET)
        return c;
    if (c < 0x80 || collation == DAV_COLLATION_ASCII)
        return c >= 'a' && c <= 'z' ? c - 32 : c;
    if (utf8_locale != (locale_t)0)
        return (uint32_t)towupper_l((wint_t)c, utf8_locale);
    return c;
}

/* The folded characters of s (octets for i;octet); malloc'd, count in *n. */
static uint32_t *folded(const char *s, int collation, size_t *n)
{
    size_t len = strlen(s);
    uint32_t *v = malloc((len + 1) * sizeof(*v));
    const unsigned char *p = (const unsigned char *)s;
    size_t k = 0;

    if (!v)
        return NULL;
    while (*p) {
        if (collation == DAV_COLLATION_OCTET)
            v[k++] = *p++;
        else
            v[k++] = fold(next_cp(&p), collation);
    }
    *n = k;
    return v;
}

static int at(const uint32_t *h, const uint32_t *n, size_t nn)
{
    return memcmp(h, n, nn * sizeof(*h)) == 0;
}

int dav_textmatch_test(const struct dav_textmatch *tm, const char *value)
{
    uint32_t *h, *n;
    size_t hn = 0, nn = 0;
    int hit = 0;

    pthread_once(&utf8_once, utf8_init);
    h = folded(value ? value : "", tm->collation, &hn);
    n = folded(tm->text ? tm->text : "", tm->collation, &nn);
    if (h && n) {
        switch (tm->match) {
        case DAV_MATCH_EQUALS:
            hit = hn == nn && at(h, n, nn);
            break;
        case DAV_MATCH_STARTS:
            hit = hn >= nn && at(h, n, nn);
            break;
        case DAV_MATCH_ENDS:
            hit = hn >= nn && at(h + hn - nn, n, nn);
            break;
        default:
            for (size_t i = 0; i + nn <= hn && !hit; i++)
                hit = at(h + i, n, nn);
            break;
        }
    }
    free(h);
    free(n);
    return tm->negate ? !hit : hit;
}
