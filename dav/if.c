/*
 * if.c - the If request header (RFC 4918 10.4): parser and evaluator.
 *
 *   If = "If" ":" ( 1*No-tag-list | 1*Tagged-list )
 *   No-tag-list = List
 *   Tagged-list = Resource-Tag 1*List
 *   List = "(" 1*Condition ")"
 *   Condition = ["Not"] (State-token | "[" entity-tag "]")
 *   State-token = Coded-URL
 *   Resource-Tag = "<" Simple-ref ">"
 *
 * What a state token or entity tag means for a resource is asked through
 * struct dav_if_ops, so the parser and the evaluation logic are testable
 * without a store.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"

#define IF_MAX_LISTS 64
#define IF_MAX_CONDS 64

static const char *skip_lws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return s;
}

static char *dup_span(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void dav_if_release(struct dav_if *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nlists; i++) {
        struct dav_if_list *l = &h->lists[i];
        for (size_t j = 0; j < l->nconds; j++)
            free(l->conds[j].value);
        free(l->conds);
        free(l->tag);
    }
    free(h->lists);
    h->lists = NULL;
    h->nlists = 0;
}

/* Parses one List starting after "(" into l; *pp is left after ")". */
static int parse_list(const char **pp, struct dav_if_list *l)
{
    const char *p = *pp;

    for (;;) {
        struct dav_if_cond c = {0, 0, NULL};
        p = skip_lws(p);
        if (*p == ')') {
            p++;
            break;
        }
        if (strncasecmp(p, "Not", 3) == 0) {
            c.negate = 1;
            p = skip_lws(p + 3);
        }
        if (*p == '<') {
            const char *e = strchr(p + 1, '>');
            if (!e || e == p + 1)
                return MG_EINVAL;
            c.value = dup_span(p + 1, (size_t)(e - p - 1));
            p = e + 1;
        } else if (*p == '[') {
            /* entity-tag = [ "W/" ] quoted-string */
            const char *s = skip_lws(p + 1);
            const char *q = s;
            if (q[0] == 'W' && q[1] == '/')
                q += 2;
            if (*q != '"')
                return MG_EINVAL;
            q = strchr(q + 1, '"');
            if (!q)
                return MG_EINVAL;
            const char *e = skip_lws(q + 1);
            if (*e != ']')
                return MG_EINVAL;
            c.is_etag = 1;
            c.value = dup_span(s, (size_t)(q + 1 - s));
            p = e + 1;
        } else {
            return MG_EINVAL;
        }
        if (!c.value)
            return MG_ENOMEM;
        if (l->nconds >= IF_MAX_CONDS) {
            free(c.value);
            return MG_EINVAL;
        }
        struct dav_if_cond *v = realloc(l->conds, (l->nconds + 1) * sizeof(*v));
        if (!v) {
            free(c.value);
            return MG_ENOMEM;
        }
        l->conds = v;
        l->conds[l->nconds++] = c;
    }
    if (l->nconds == 0)
        return MG_EINVAL;
    *pp = p;
    return 0;
}

int dav_if_parse(const char *value, struct dav_if *out)
{
    const char *p = value;
    char *tag = NULL;
    int tag_used = 1; /* a resource tag must be followed by a list */
    int tagged = -1;  /* all lists tagged, or none */
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!value)
        return MG_EINVAL;
    for (;;) {
        p = skip_lws(p);
        if (!*p)
            break;
        if (*p == '<') {
            const char *e = strchr(p + 1, '>');
            if (!tag_used || !e || e == p + 1 || tagged == 0) {
                rc = MG_EINVAL;
                goto out;
            }
            free(tag);
            tag = dup_span(p + 1, (size_t)(e - p - 1));
            if (!tag) {
                rc = MG_ENOMEM;
                goto out;
            }
            tagged = 1;
            tag_used = 0;
            p = e + 1;
        } else if (*p == '(') {
            struct dav_if_list l = {NULL, NULL, 0};
            if (tagged == -1)
                tagged = 0;
            if (out->nlists >= IF_MAX_LISTS) {
                rc = MG_EINVAL;
                goto out;
            }
            p++;
            rc = parse_list(&p, &l);
            if (!rc && tag) {
                l.tag = mg_strdup(tag);
                if (!l.tag)
                    rc = MG_ENOMEM;
            }
            struct dav_if_list *v = rc ? NULL : realloc(out->lists, (out->nlists + 1) * sizeof(*v));
            if (!v) {
                for (size_t j = 0; j < l.nconds; j++)
                    free(l.conds[j].value);
                free(l.conds);
                free(l.tag);
                if (!rc)
                    rc = MG_ENOMEM;
                goto out;
            }
            out->lists = v;
            out->lists[out->nlists++] = l;
            tag_used = 1;
        } else {
            rc = MG_EINVAL;
            goto out;
        }
    }
    if (!tag_used || out->nlists == 0)
        rc = MG_EINVAL;
out:
    free(tag);
    if (rc)
        dav_if_release(out);
    return rc;
}

int dav_if_eval(const struct dav_if *h, const struct dav_if_ops *ops, void *ctx)
{
    for (size_t i = 0; i < h->nlists; i++) {
        const struct dav_if_list *l = &h->lists[i];
        int all = 1;
        for (size_t j = 0; j < l->nconds && all; j++) {
            const struct dav_if_cond *c = &l->conds[j];
            int v = c->is_etag ? ops->etag_is(ctx, l->tag, c->value)
                               : ops->has_token(ctx, l->tag, c->value);
            if (c->negate)
                v = !v;
            all = v;
        }
        if (all)
            return 1;
    }
    return 0;
}

int dav_if_submits(const struct dav_if *h, const char *token)
{
    for (size_t i = 0; i < h->nlists; i++) {
        const struct dav_if_list *l = &h->lists[i];
        for (size_t j = 0; j < l->nconds; j++) {
            const struct dav_if_cond *c = &l->conds[j];
            if (!c->negate && !c->is_etag && strcmp(c->value, token) == 0)
                return 1;
        }
    }
    return 0;
}
