/*
 * cardfilter.c - CARDDAV:filter (RFC 6352 10.5):
 *
 *   <!ELEMENT filter (prop-filter*)>         test="anyof" (default) | "allof"
 *   <!ELEMENT prop-filter (is-not-defined | (text-match*, param-filter*))>
 *                                            name, test="anyof" | "allof"
 *   <!ELEMENT param-filter (is-not-defined | text-match)?>
 *
 * A filter without prop-filters matches every vCard. A prop-filter matches
 * when some property of its name passes its tests (any or all of them); a
 * property name without a group matches the name in any group. Text is
 * compared with vCard escapes removed; the default collation is
 * i;unicode-casemap (RFC 6352 10.5.4).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"
#include "meshgate/dav.h"

struct cparam {
    char *name;
    int not_defined;
    int has_tm;
    struct dav_textmatch tm;
};

struct cprop {
    char *group; /* NULL: any group */
    char *name;
    int allof;
    int not_defined;
    struct dav_textmatch *tms;
    size_t ntms;
    struct cparam *params;
    size_t nparams;
};

struct dav_cardfilter {
    int allof;
    struct cprop *props;
    size_t nprops;
};

void dav_cardfilter_free(struct dav_cardfilter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nprops; i++) {
        struct cprop *p = &f->props[i];
        free(p->group);
        free(p->name);
        for (size_t k = 0; k < p->ntms; k++)
            dav_textmatch_release(&p->tms[k]);
        free(p->tms);
        for (size_t k = 0; k < p->nparams; k++) {
            free(p->params[k].name);
            dav_textmatch_release(&p->params[k].tm);
        }
        free(p->params);
    }
    free(f->props);
    free(f);
}

static int is_card(xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp(dav_xml_ns(n), DAV_NS_CARDDAV) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* Reads test="anyof|allof" into *allof. Returns 0 or MG_EINVAL. */
static int parse_test(xmlNode *n, int *allof)
{
    xmlChar *t = xmlGetProp(n, (const xmlChar *)"test");
    int rc = 0;
    *allof = 0;
    if (t) {
        if (strcmp((const char *)t, "allof") == 0)
            *allof = 1;
        else if (strcmp((const char *)t, "anyof") != 0)
            rc = MG_EINVAL;
    }
    xmlFree(t);
    return rc;
}

static char *get_name(xmlNode *n)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)"name");
    char *s = v && v[0] ? mg_strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static int parse_tm(xmlNode *n, struct dav_textmatch *tm, char *err, size_t cap)
{
    int rc = dav_textmatch_parse(n, DAV_COLLATION_UNICODE, tm);
    if (rc == MG_EDENIED)
        dav_set_err(err, cap,
                    "unsupported collation (use i;unicode-casemap, i;ascii-casemap or i;octet)");
    else if (rc == MG_EINVAL)
        dav_set_err(err, cap,
                    "malformed text-match (match-type: equals, contains, starts-with, "
                    "ends-with)");
    return rc;
}

static int parse_prop(xmlNode *n, struct cprop *p, char *err, size_t cap)
{
    char *name = get_name(n), *dot;
    int rc;

    memset(p, 0, sizeof(*p));
    if (!name) {
        dav_set_err(err, cap, "prop-filter needs a name");
        return MG_EINVAL;
    }
    dot = strchr(name, '.');
    if (dot) {
        *dot = '\0';
        p->group = mg_strdup(name);
        p->name = mg_strdup(dot + 1);
        free(name);
        if (!p->group || !p->name)
            return MG_ENOMEM;
    } else {
        p->name = name;
    }
    if (parse_test(n, &p->allof)) {
        dav_set_err(err, cap, "test must be anyof or allof");
        return MG_EINVAL;
    }
    for (xmlNode *c = dav_xml_first_elem(n); c; c = dav_xml_next_elem(c)) {
        if (is_card(c, "is-not-defined")) {
            p->not_defined = 1;
        } else if (is_card(c, "text-match")) {
            struct dav_textmatch *v = realloc(p->tms, (p->ntms + 1) * sizeof(*v));
            if (!v)
                return MG_ENOMEM;
            p->tms = v;
            rc = parse_tm(c, &v[p->ntms], err, cap);
            if (rc)
                return rc;
            p->ntms++;
        } else if (is_card(c, "param-filter")) {
            struct cparam *v = realloc(p->params, (p->nparams + 1) * sizeof(*v));
            xmlNode *k;
            if (!v)
                return MG_ENOMEM;
            p->params = v;
            memset(&v[p->nparams], 0, sizeof(*v));
            v[p->nparams].name = get_name(c);
            p->nparams++;
            if (!v[p->nparams - 1].name) {
                dav_set_err(err, cap, "param-filter needs a name");
                return MG_EINVAL;
            }
            k = dav_xml_first_elem(c);
            if (k && is_card(k, "is-not-defined")) {
                v[p->nparams - 1].not_defined = 1;
            } else if (k && is_card(k, "text-match")) {
                rc = parse_tm(k, &v[p->nparams - 1].tm, err, cap);
                if (rc)
                    return rc;
                v[p->nparams - 1].has_tm = 1;
            } else if (k) {
                dav_set_err(err, cap, "unexpected element %s in param-filter",
                            (const char *)k->name);
                return MG_EINVAL;
            }
        } else {
            dav_set_err(err, cap, "unexpected element %s in prop-filter", (const char *)c->name);
            return MG_EINVAL;
        }
    }
    if (p->not_defined && (p->ntms || p->nparams)) {
        dav_set_err(err, cap, "is-not-defined stands alone in a prop-filter");
        return MG_EINVAL;
    }
    return 0;
}

int dav_cardfilter_parse(xmlNode *filter, struct dav_cardfilter **out, char *err, size_t cap)
{
    struct dav_cardfilter *f = calloc(1, sizeof(*f));
    int rc = 0;

    *out = NULL;
    if (!f)
        return MG_ENOMEM;
    if (parse_test(filter, &f->allof)) {
        dav_set_err(err, cap, "test must be anyof or allof");
        rc = MG_EINVAL;
    }
    for (xmlNode *c = dav_xml_first_elem(filter); c && !rc; c = dav_xml_next_elem(c)) {
        if (!is_card(c, "prop-filter")) {
            dav_set_err(err, cap, "unexpected element %s in filter", (const char *)c->name);
            rc = MG_EINVAL;
            break;
        }
        struct cprop *v = realloc(f->props, (f->nprops + 1) * sizeof(*v));
        if (!v) {
            rc = MG_ENOMEM;
            break;
        }
        f->props = v;
        rc = parse_prop(c, &v[f->nprops], err, cap);
        f->nprops++;
    }
    if (rc) {
        dav_cardfilter_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int param_test(const struct cparam *pf, const struct dav_vcard_prop *p)
{
    for (size_t i = 0; i < p->nparams; i++) {
        const struct dav_vcard_param *pm = &p->params[i];
        if (strcasecmp(pm->name, pf->name) != 0)
            continue;
        if (pf->not_defined)
            return 0;
        if (!pf->has_tm)
            return 1;
        for (size_t k = 0; k < pm->nvalues; k++) {
            if (dav_textmatch_test(&pf->tm, pm->values[k]))
                return 1;
        }
        return 0;
    }
    return pf->not_defined;
}

static int name_matches(const struct cprop *pf, const struct dav_vcard_prop *p)
{
    if (strcasecmp(pf->name, p->name) != 0)
        return 0;
    return !pf->group || (p->group && strcasecmp(pf->group, p->group) == 0);
}

static int prop_test(const struct cprop *pf, const struct dav_vcard *c)
{
    int found = 0;
    for (size_t i = 0; i < c->nprops; i++) {
        const struct dav_vcard_prop *p = &c->props[i];
        size_t ntests = pf->ntms + pf->nparams;
        int any = 0, all = 1;
        char *text;
        if (!name_matches(pf, p))
            continue;
        found = 1;
        if (pf->not_defined)
            return 0;
        if (ntests == 0)
            return 1;
        text = pf->ntms ? dav_vcard_unescape(p->value) : NULL;
        for (size_t k = 0; k < pf->ntms; k++) {
            int r = text && dav_textmatch_test(&pf->tms[k], text);
            any |= r;
            all &= r;
        }
        free(text);
        for (size_t k = 0; k < pf->nparams; k++) {
            int r = param_test(&pf->params[k], p);
            any |= r;
            all &= r;
        }
        if (pf->allof ? all : any)
            return 1;
    }
    return pf->not_defined && !found;
}

int dav_cardfilter_match(const struct dav_cardfilter *f, const struct dav_vcard *c)
{
    if (f->nprops == 0)
        return 1;
    for (size_t i = 0; i < f->nprops; i++) {
        int r = prop_test(&f->props[i], c);
        if (r && !f->allof)
            return 1;
        if (!r && f->allof)
            return 0;
    }
    return f->allof;
}
