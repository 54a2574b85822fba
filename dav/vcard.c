/*
 * vcard.c - a vCard parser (RFC 6350 3.3, RFC 2426 2.4; vCard 2.1 bare
 * parameters and quoted-printable values too) and content-line writer.
 *
 *   contentline = [group "."] name *(";" param) ":" value CRLF
 *   param       = param-name "=" param-value *("," param-value)
 *
 * Lines are unfolded (CRLF or LF followed by a space or tab); a
 * quoted-printable line ending in "=" continues on the next line (a soft
 * line break). Values keep their vCard escapes (dav_vcard_unescape removes
 * them); parameter values are unquoted and their RFC 6868 ^-escapes decoded.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"
#include "meshgate/dav.h"

#define VCARD_MAX_PROPS 10000
#define VCARD_MAX_PARAMS 100
#define VCARD_NAME_MAX 128 /* bytes of a group, property or parameter name */
#define VCARD_MAX_VALUES 100
#define VCARD_FOLD 75

void dav_vcard_prop_release(struct dav_vcard_prop *p)
{
    free(p->group);
    free(p->name);
    for (size_t i = 0; i < p->nparams; i++) {
        free(p->params[i].name);
        for (size_t k = 0; k < p->params[i].nvalues; k++)
            free(p->params[i].values[k]);
        free(p->params[i].values);
    }
    free(p->params);
    free(p->value);
}

void dav_vcard_free(struct dav_vcard *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nprops; i++)
        dav_vcard_prop_release(&c->props[i]);
    free(c->props);
    free(c);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void upcase(char *s)
{
    for (; *s; s++) {
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 32);
    }
}

static int name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* RFC 6868: ^n is a newline, ^^ a caret, ^' a double quote. */
static char *param_unescape(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    size_t k = 0;
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '^' && i + 1 < n && (s[i + 1] == 'n' || s[i + 1] == '^' || s[i + 1] == '\'')) {
            d[k++] = s[i + 1] == 'n' ? '\n' : s[i + 1] == '^' ? '^' : '"';
            i++;
        } else {
            d[k++] = s[i];
        }
    }
    d[k] = '\0';
    return d;
}

static int add_value(struct dav_vcard_param *pm, char *v)
{
    char **nv;
    if (!v)
        return MG_ENOMEM;
    if (pm->nvalues >= VCARD_MAX_VALUES) {
        free(v);
        return MG_EINVAL;
    }
    nv = realloc(pm->values, (pm->nvalues + 1) * sizeof(*nv));
    if (!nv) {
        free(v);
        return MG_ENOMEM;
    }
    pm->values = nv;
    nv[pm->nvalues++] = v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes quoted-printable (RFC 2045 6.7) in place. */
static void qp_decode(char *s)
{
    char *d = s;
    while (*s) {
        if (*s == '=' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *d++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 3;
        } else if (*s == '=' && s[1] == '\0') {
            s++; /* a soft break left at the very end */
        } else {
            *d++ = *s++;
        }
    }
    *d = '\0';
}

static int is_qp(const struct dav_vcard_prop *p)
{
    for (size_t i = 0; i < p->nparams; i++) {
        const struct dav_vcard_param *pm = &p->params[i];
        for (size_t k = 0; k < pm->nvalues; k++) {
            if ((strcmp(pm->name, "ENCODING") == 0 || strcmp(pm->name, "TYPE") == 0) &&
                strcasecmp(pm->values[k], "QUOTED-PRINTABLE") == 0)
                return 1;
        }
    }
    return 0;
}

/* Parses one unfolded content line into p. Returns 0, MG_EINVAL or MG_ENOMEM. */
static int parse_line(const char *line, struct dav_vcard_prop *p, char *err, size_t cap, long no)
{
    const char *s = line, *e;
    int rc;

    memset(p, 0, sizeof(*p));
    e = s;
    while (name_char(*e))
        e++;
    if (e - s > VCARD_NAME_MAX) {
        dav_set_err(err, cap, "line %ld: a name longer than %d characters", no, VCARD_NAME_MAX);
        return MG_EINVAL;
    }
    if (*e == '.') {
        if (e == s) {
            dav_set_err(err, cap, "line %ld: empty group name", no);
            return MG_EINVAL;
        }
        p->group = dup_n(s, (size_t)(e - s));
        if (!p->group)
            return MG_ENOMEM;
        s = e + 1;
        e = s;
        while (name_char(*e))
            e++;
        if (e - s > VCARD_NAME_MAX) {
            dav_set_err(err, cap, "line %ld: a name longer than %d characters", no, VCARD_NAME_MAX);
            return MG_EINVAL;
        }
    }
    if (e == s || (*e != ';' && *e != ':')) {
        dav_set_err(err, cap, "line %ld: expected NAME:value or NAME;PARAM=...:value", no);
        return MG_EINVAL;
    }
    p->name = dup_n(s, (size_t)(e - s));
    if (!p->name)
        return MG_ENOMEM;
    upcase(p->name);
    s = e;
    while (*s == ';') {
        struct dav_vcard_param *pm, *np;
        s++;
        e = s;
        while (name_char(*e))
            e++;
        if (e == s || e - s > VCARD_NAME_MAX) {
            dav_set_err(err, cap, "line %ld: %s parameter name in %s", no,
                        e == s ? "an empty" : "a too long", p->name);
            return MG_EINVAL;
        }
        if (p->nparams >= VCARD_MAX_PARAMS) {
            dav_set_err(err, cap, "line %ld: too many parameters", no);
            return MG_EINVAL;
        }
        np = realloc(p->params, (p->nparams + 1) * sizeof(*np));
        if (!np)
            return MG_ENOMEM;
        p->params = np;
        pm = &np[p->nparams++];
        memset(pm, 0, sizeof(*pm));
        if (*e != '=') {
            /* vCard 2.1: a bare parameter is a TYPE (or an encoding) */
            pm->name = mg_strdup("TYPE");
            rc = pm->name ? add_value(pm, dup_n(s, (size_t)(e - s))) : MG_ENOMEM;
            if (rc)
                return rc;
            s = e;
            continue;
        }
        pm->name = dup_n(s, (size_t)(e - s));
        if (!pm->name)
            return MG_ENOMEM;
        upcase(pm->name);
        s = e + 1;
        for (;;) {
            if (*s == '"') {
                e = strchr(s + 1, '"');
                if (!e) {
                    dav_set_err(err, cap, "line %ld: unterminated quoted parameter value", no);
                    return MG_EINVAL;
                }
                if (strcmp(pm->name, "TYPE") == 0) {
                    /* RFC 6350 5.6 writes TYPE="voice,home": a quoted list */
                    const char *q = s + 1;
                    rc = 0;
                    while (!rc && q <= e) {
                        const char *c = memchr(q, ',', (size_t)(e - q));
                        if (!c)
                            c = e;
                        rc = add_value(pm, param_unescape(q, (size_t)(c - q)));
                        q = c + 1;
                    }
                } else {
                    rc = add_value(pm, param_unescape(s + 1, (size_t)(e - s - 1)));
                }
                s = e + 1;
            } else {
                e = s + strcspn(s, ",;:\"");
                rc = add_value(pm, param_unescape(s, (size_t)(e - s)));
                s = e;
            }
            if (rc) {
                if (rc == MG_EINVAL)
                    dav_set_err(err, cap, "line %ld: too many parameter values", no);
                return rc;
            }
            if (*s != ',')
                break;
            s++;
        }
        if (*s != ';' && *s != ':') {
            dav_set_err(err, cap, "line %ld: malformed parameter %s", no, pm->name);
            return MG_EINVAL;
        }
    }
    if (*s != ':') {
        dav_set_err(err, cap, "line %ld: missing ':' after %s", no, p->name);
        return MG_EINVAL;
    }
    p->value = mg_strdup(s + 1);
    if (!p->value)
        return MG_ENOMEM;
    if (is_qp(p)) {
        qp_decode(p->value);
        if (!dav_text_valid(p->value, strlen(p->value))) {
            dav_set_err(err, cap, "line %ld: quoted-printable value of %s is not UTF-8 text", no,
                        p->name);
            return MG_EINVAL;
        }
    }
    return 0;
}

/* 1 when the parameters of the logical line so far say quoted-printable and
 * the line ends in '=' (a soft line break). */
static int qp_continues(const struct buf *cur)
{
    const char *colon;
    char *head;
    int qp = 0;
    if (cur->len == 0 || cur->data[cur->len - 1] != '=')
        return 0;
    colon = memchr(cur->data, ':', cur->len);
    if (!colon)
        return 0;
    head = dup_n(cur->data, (size_t)(colon - cur->data));
    if (!head)
        return 0;
    upcase(head);
    qp = strstr(head, "QUOTED-PRINTABLE") != NULL;
    free(head);
    return qp;
}

static int is_blank(const char *s)
{
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t')
            return 0;
    }
    return 1;
}

int dav_vcard_parse(const char *data, size_t len, struct dav_vcard **out, char *err, size_t cap)
{
    struct dav_vcard *c = NULL;
    struct buf cur;
    char *text = NULL, **lines = NULL;
    size_t nlines = 0;
    int state = 0; /* 0 before BEGIN, 1 inside, 2 after END */
    int rc = MG_EINVAL;

    *out = NULL;
    buf_init(&cur);
    if (!data || len == 0) {
        dav_set_err(err, cap, "empty body: expected a vCard");
        return MG_EINVAL;
    }
    if (!dav_text_valid(data, len)) {
        dav_set_err(err, cap, "not vCard text: invalid UTF-8 or control characters");
        return MG_EINVAL;
    }
    text = dup_n(data, len);
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n' || data[i] == '\r')
            nlines++;
    }
    lines = malloc((nlines + 2) * sizeof(*lines));
    nlines = 0;
    c = calloc(1, sizeof(*c));
    if (!text || !lines || !c) {
        rc = MG_ENOMEM;
        goto out;
    }
    /* physical lines, CRLF or LF (a lone CR counts as LF) */
    for (char *p = text; *p;) {
        char *e = p + strcspn(p, "\r\n");
        lines[nlines++] = p;
        if (*e == '\r' && e[1] == '\n') {
            *e = '\0';
            p = e + 2;
        } else if (*e) {
            *e = '\0';
            p = e + 1;
        } else {
            p = e;
        }
    }
    for (size_t i = 0; i < nlines; i++) {
        struct dav_vcard_prop prop;
        buf_reset(&cur);
        if (buf_puts(&cur, lines[i])) {
            rc = MG_ENOMEM;
            goto out;
        }
        while (i + 1 < nlines) {
            const char *nx = lines[i + 1];
            /* a quoted-printable soft break takes the next line whole */
            if (qp_continues(&cur)) {
                cur.data[--cur.len] = '\0';
                if (buf_puts(&cur, nx)) {
                    rc = MG_ENOMEM;
                    goto out;
                }
                i++;
            } else if (nx[0] == ' ' || nx[0] == '\t') {
                if (buf_puts(&cur, nx + 1)) {
                    rc = MG_ENOMEM;
                    goto out;
                }
                i++;
            } else {
                break;
            }
        }
        if (is_blank(cur.data ? cur.data : ""))
            continue;
        rc = parse_line(cur.data, &prop, err, cap, (long)i + 1);
        if (rc) {
            dav_vcard_prop_release(&prop);
            goto out;
        }
        rc = MG_EINVAL;
        if (strcmp(prop.name, "BEGIN") == 0 && strcasecmp(prop.value, "VCARD") == 0) {
            dav_vcard_prop_release(&prop);
            if (state != 0) {
                dav_set_err(err, cap, "line %zu: %s", i + 1,
                            state == 1 ? "nested BEGIN:VCARD" : "more than one vCard");
                goto out;
            }
            state = 1;
            continue;
        }
        if (strcmp(prop.name, "END") == 0 && strcasecmp(prop.value, "VCARD") == 0) {
            dav_vcard_prop_release(&prop);
            if (state != 1) {
                dav_set_err(err, cap, "line %zu: END:VCARD without BEGIN:VCARD", i + 1);
                goto out;
            }
            state = 2;
            continue;
        }
        if (state != 1) {
            dav_set_err(err, cap, "line %zu: %s outside BEGIN:VCARD ... END:VCARD", i + 1,
                        prop.name);
            dav_vcard_prop_release(&prop);
            goto out;
        }
        if (c->nprops >= VCARD_MAX_PROPS) {
            dav_set_err(err, cap, "too many properties (more than %d)", VCARD_MAX_PROPS);
            dav_vcard_prop_release(&prop);
            goto out;
        }
        struct dav_vcard_prop *np = realloc(c->props, (c->nprops + 1) * sizeof(*np));
        if (!np) {
            dav_vcard_prop_release(&prop);
            rc = MG_ENOMEM;
            goto out;
        }
        c->props = np;
        np[c->nprops++] = prop;
    }
    if (state != 2) {
        dav_set_err(err, cap, state == 0 ? "no BEGIN:VCARD" : "missing END:VCARD");
        goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    dav_vcard_free(c);
    buf_release(&cur);
    free(lines);
    free(text);
    return rc;
}

const struct dav_vcard_prop *dav_vcard_get(const struct dav_vcard *c, const char *name)
{
    for (size_t i = 0; c && i < c->nprops; i++) {
        if (strcasecmp(c->props[i].name, name) == 0)
            return &c->props[i];
    }
    return NULL;
}

const char *dav_vcard_param(const struct dav_vcard_prop *p, const char *name)
{
    for (size_t i = 0; p && i < p->nparams; i++) {
        if (strcasecmp(p->params[i].name, name) == 0 && p->params[i].nvalues)
            return p->params[i].values[0];
    }
    return NULL;
}

char *dav_vcard_unescape(const char *value)
{
    size_t n = strlen(value);
    char *d = malloc(n + 1);
    size_t k = 0;
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (value[i] == '\\' && i + 1 < n) {
            char x = value[++i];
            d[k++] = (x == 'n' || x == 'N') ? '\n' : x;
        } else {
            d[k++] = value[i];
        }
    }
    d[k] = '\0';
    return d;
}

/* Appends s to the line, folding before VCARD_FOLD octets (never inside a
 * UTF-8 sequence). *col is the current column. */
static int put_folded(struct buf *out, const char *s, size_t n, size_t *col)
{
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xf0)
            len = 4;
        else if (c >= 0xe0)
            len = 3;
        else if (c >= 0xc0)
            len = 2;
        if (i + len > n)
            len = n - i;
        if (*col + len > VCARD_FOLD) {
            if (buf_puts(out, "\r\n "))
                return MG_ENOMEM;
            *col = 1;
        }
        if (buf_append(out, s + i, len))
            return MG_ENOMEM;
        *col += len;
        i += len;
    }
    return 0;
}

int dav_vcard_write_prop(struct buf *out, const struct dav_vcard_prop *p)
{
    struct buf line;
    size_t col = 0;
    int rc = 0;

    buf_init(&line);
    if (p->group)
        rc = buf_printf(&line, "%s.", p->group);
    if (!rc)
        rc = buf_puts(&line, p->name);
    for (size_t i = 0; !rc && i < p->nparams; i++) {
        const struct dav_vcard_param *pm = &p->params[i];
        rc = buf_printf(&line, ";%s=", pm->name);
        for (size_t k = 0; !rc && k < pm->nvalues; k++) {
            const char *v = pm->values[k];
            int quote = strpbrk(v, ":;,") != NULL;
            if (k)
                rc = buf_putc(&line, ',');
            if (!rc && quote)
                rc = buf_putc(&line, '"');
            for (const char *q = v; !rc && *q; q++) {
                /* RFC 6868 */
                if (*q == '\n')
                    rc = buf_puts(&line, "^n");
                else if (*q == '^')
                    rc = buf_puts(&line, "^^");
                else if (*q == '"')
                    rc = buf_puts(&line, "^'");
                else if (*q != '\r')
                    rc = buf_putc(&line, *q);
            }
            if (!rc && quote)
                rc = buf_putc(&line, '"');
        }
    }
    if (!rc)
        rc = buf_putc(&line, ':');
    for (const char *q = p->value; !rc && *q; q++) {
        if (*q == '\n')
            rc = buf_puts(&line, "\\n");
        else if (*q != '\r')
            rc = buf_putc(&line, *q);
    }
    if (!rc)
        rc = put_folded(out, line.data, line.len, &col);
    if (!rc)
        rc = buf_puts(out, "\r\n");
    buf_release(&line);
    return rc;
}

int dav_vcard_check_object(const struct dav_vcard *c, char *err, size_t cap)
{
    const struct dav_vcard_prop *v = dav_vcard_get(c, "VERSION");
    const struct dav_vcard_prop *uid = dav_vcard_get(c, "UID");

    if (!v) {
        dav_set_err(err, cap, "vCard without VERSION (RFC 6350 6.7.9)");
        return MG_EINVAL;
    }
    if (strcmp(v->value, "3.0") != 0 && strcmp(v->value, "4.0") != 0) {
        dav_set_err(err, cap, "vCard VERSION %.20s is not supported: use 3.0 or 4.0", v->value);
        return MG_EINVAL;
    }
    if (!dav_vcard_get(c, "FN")) {
        dav_set_err(err, cap, "vCard without FN (RFC 6350 6.2.1)");
        return MG_EINVAL;
    }
    if (!uid || !uid->value[0]) {
        dav_set_err(err, cap, "vCard without UID: an address book needs one (RFC 6352 6.3.2.1)");
        return MG_EINVAL;
    }
    return 0;
}
