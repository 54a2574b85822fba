/*
 * calfilter.c - CALDAV:filter (RFC 4791 9.7): comp-filter, prop-filter,
 * param-filter, text-match, time-range and is-not-defined, parsed once per
 * REPORT and evaluated on each candidate object.
 *
 *   <!ELEMENT filter (comp-filter)>
 *   <!ELEMENT comp-filter (is-not-defined | (time-range?, prop-filter*, comp-filter*))>
 *   <!ELEMENT prop-filter (is-not-defined | ((time-range | text-match)?, param-filter*))>
 *   <!ELEMENT param-filter (is-not-defined | text-match?)>
 *
 * A comp-filter matches a component when its time-range, every prop-filter
 * and every nested comp-filter match; a nested comp-filter matches when any
 * child component of its name does (RFC 4791 9.7.1). A time-range on a
 * recurring component is tested against its instances (RFC 4791 9.9).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"
#include "meshgate/dav.h"

struct trange {
    int has;
    int64_t s, e;
};

struct paramf {
    char *name;
    int not_defined;
    int has_tm;
    struct dav_textmatch tm;
};

struct propf {
    char *name;
    int not_defined;
    struct trange tr;
    int has_tm;
    struct dav_textmatch tm;
    struct paramf *params;
    size_t nparams;
};

struct compf {
    char *name;
    int not_defined;
    struct trange tr;
    struct propf *props;
    size_t nprops;
    struct compf *comps;
    size_t ncomps;
};

struct dav_calfilter {
    struct compf root;
};

/* ---- freeing ---------------------------------------------------------------------------- */

static void propf_release(struct propf *p)
{
    free(p->name);
    dav_textmatch_release(&p->tm);
    for (size_t i = 0; i < p->nparams; i++) {
        free(p->params[i].name);
        dav_textmatch_release(&p->params[i].tm);
    }
    free(p->params);
}

static void compf_release(struct compf *c)
{
    free(c->name);
    for (size_t i = 0; i < c->nprops; i++)
        propf_release(&c->props[i]);
    free(c->props);
    for (size_t i = 0; i < c->ncomps; i++)
        compf_release(&c->comps[i]);
    free(c->comps);
}

void dav_calfilter_free(struct dav_calfilter *f)
{
    if (!f)
        return;
    compf_release(&f->root);
    free(f);
}

/* ---- parsing ------------------------------------------------------------------------------- */

static int is_cal(xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp(dav_xml_ns(n), DAV_NS_CALDAV) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* The name attribute, upper-cased (iCalendar names are case-insensitive). */
static char *name_attr(xmlNode *n)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)"name");
    char *s;
    if (!v || !v[0]) {
        xmlFree(v);
        return NULL;
    }
    s = mg_strdup((const char *)v);
    xmlFree(v);
    for (char *p = s; p && *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    }
    return s;
}

int dav_time_range_parse(xmlNode *n, int64_t *s, int64_t *e)
{
    xmlChar *a = xmlGetProp(n, (const xmlChar *)"start");
    xmlChar *b = xmlGetProp(n, (const xmlChar *)"end");
    int rc = 0;

    /* RFC 4791 9.9: at least one of start and end; a missing one is open */
    *s = INT64_MIN;
    *e = INT64_MAX;
    if (!a && !b)
        rc = MG_EINVAL;
    if (!rc && a && dav_ical_parse_utc((const char *)a, s))
        rc = MG_EINVAL;
    if (!rc && b && dav_ical_parse_utc((const char *)b, e))
        rc = MG_EINVAL;
    xmlFree(a);
    xmlFree(b);
    return rc;
}

static int parse_tm(xmlNode *n, struct dav_textmatch *tm, char *err, size_t cap)
{
    int rc = dav_textmatch_parse(n, DAV_COLLATION_ASCII, tm);
    if (rc == MG_EDENIED)
        dav_set_err(err, cap,
                    "unsupported collation (use i;ascii-casemap, i;unicode-casemap or i;octet)");
    else if (rc == MG_EINVAL)
        dav_set_err(err, cap, "malformed text-match");
    return rc;
}

static int parse_param(xmlNode *n, struct paramf *pf, char *err, size_t cap)
{
    xmlNode *c = dav_xml_first_elem(n);
    memset(pf, 0, sizeof(*pf));
    pf->name = name_attr(n);
    if (!pf->name) {
        dav_set_err(err, cap, "param-filter needs a name");
        return MG_EINVAL;
    }
    if (!c)
        return 0;
    if (is_cal(c, "is-not-defined")) {
        pf->not_defined = 1;
    } else if (is_cal(c, "text-match")) {
        int rc = parse_tm(c, &pf->tm, err, cap);
        if (rc)
            return rc;
        pf->has_tm = 1;
    } else {
        dav_set_err(err, cap, "unexpected element %s in param-filter", (const char *)c->name);
        return MG_EINVAL;
    }
    if (dav_xml_next_elem(c)) {
        dav_set_err(err, cap, "param-filter takes one is-not-defined or text-match");
        return MG_EINVAL;
    }
    return 0;
}

static int parse_prop(xmlNode *n, struct propf *pf, char *err, size_t cap)
{
    xmlNode *c = dav_xml_first_elem(n);
    int rc;

    memset(pf, 0, sizeof(*pf));
    pf->name = name_attr(n);
    if (!pf->name) {
        dav_set_err(err, cap, "prop-filter needs a name");
        return MG_EINVAL;
    }
    if (c && is_cal(c, "is-not-defined")) {
        pf->not_defined = 1;
        if (dav_xml_next_elem(c)) {
            dav_set_err(err, cap, "is-not-defined stands alone in a prop-filter");
            return MG_EINVAL;
        }
        return 0;
    }
    for (; c; c = dav_xml_next_elem(c)) {
        if (is_cal(c, "time-range") && !pf->tr.has && !pf->has_tm) {
            if (dav_time_range_parse(c, &pf->tr.s, &pf->tr.e)) {
                dav_set_err(err, cap, "time-range needs start and/or end in UTC (RFC 4791 9.9)");
                return MG_EINVAL;
            }
            pf->tr.has = 1;
            continue;
        }
        if (is_cal(c, "text-match") && !pf->tr.has && !pf->has_tm) {
            rc = parse_tm(c, &pf->tm, err, cap);
            if (rc)
                return rc;
            pf->has_tm = 1;
            continue;
        }
        if (!is_cal(c, "param-filter")) {
            dav_set_err(err, cap, "unexpected element %s in prop-filter", (const char *)c->name);
            return MG_EINVAL;
        }
        struct paramf *v = realloc(pf->params, (pf->nparams + 1) * sizeof(*v));
        if (!v)
            return MG_ENOMEM;
        pf->params = v;
        rc = parse_param(c, &v[pf->nparams], err, cap);
        pf->nparams++;
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_comp(xmlNode *n, struct compf *cf, char *err, size_t cap)
{
    xmlNode *c = dav_xml_first_elem(n);
    int rc;

    memset(cf, 0, sizeof(*cf));
    cf->name = name_attr(n);
    if (!cf->name) {
        dav_set_err(err, cap, "comp-filter needs a name");
        return MG_EINVAL;
    }
    if (c && is_cal(c, "is-not-defined")) {
        cf->not_defined = 1;
        if (dav_xml_next_elem(c)) {
            dav_set_err(err, cap, "is-not-defined stands alone in a comp-filter");
            return MG_EINVAL;
        }
        return 0;
    }
    /* the DTD puts time-range first; clients (python caldav) put it last */
    for (; c; c = dav_xml_next_elem(c)) {
        if (is_cal(c, "time-range") && !cf->tr.has) {
            if (dav_time_range_parse(c, &cf->tr.s, &cf->tr.e)) {
                dav_set_err(err, cap, "time-range needs start and/or end in UTC (RFC 4791 9.9)");
                return MG_EINVAL;
            }
            cf->tr.has = 1;
            rc = 0;
        } else if (is_cal(c, "prop-filter")) {
            struct propf *v = realloc(cf->props, (cf->nprops + 1) * sizeof(*v));
            if (!v)
                return MG_ENOMEM;
            cf->props = v;
            rc = parse_prop(c, &v[cf->nprops], err, cap);
            cf->nprops++;
        } else if (is_cal(c, "comp-filter")) {
            struct compf *v = realloc(cf->comps, (cf->ncomps + 1) * sizeof(*v));
            if (!v)
                return MG_ENOMEM;
            cf->comps = v;
            rc = parse_comp(c, &v[cf->ncomps], err, cap);
            cf->ncomps++;
        } else {
            dav_set_err(err, cap, "unexpected element %s in comp-filter", (const char *)c->name);
            rc = MG_EINVAL;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int dav_calfilter_parse(xmlNode *filter, struct dav_calfilter **out, char *err, size_t cap)
{
    struct dav_calfilter *f;
    xmlNode *c = dav_xml_first_elem(filter);
    int rc;

    *out = NULL;
    if (!c || !is_cal(c, "comp-filter") || dav_xml_next_elem(c)) {
        dav_set_err(err, cap, "a filter holds exactly one comp-filter (RFC 4791 9.7)");
        return MG_EINVAL;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        return MG_ENOMEM;
    rc = parse_comp(c, &f->root, err, cap);
    if (!rc && strcmp(f->root.name, "VCALENDAR") != 0) {
        dav_set_err(err, cap, "the outer comp-filter must name VCALENDAR");
        rc = MG_EINVAL;
    }
    if (rc) {
        dav_calfilter_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* ---- matching ------------------------------------------------------------------------------ */

/* libical 3.0 keeps no public name for X- components: they match nothing */
static const char *comp_name(icalcomponent *c)
{
    return icalcomponent_kind_to_string(icalcomponent_isa(c));
}

/* The value of p as text (TEXT values unescaped). Returns malloc'd or NULL. */
static char *prop_text(icalproperty *p)
{
    icalvalue *v = icalproperty_get_value(p);
    if (v && icalvalue_isa(v) == ICAL_TEXT_VALUE && icalvalue_get_text(v))
        return mg_strdup(icalvalue_get_text(v));
    return icalproperty_get_value_as_string_r(p);
}

/* The value of parameter name of p, or NULL (malloc'd). */
static char *param_value(icalproperty *p, const char *name)
{
    for (icalparameter *q = icalproperty_get_first_parameter(p, ICAL_ANY_PARAMETER); q;
         q = icalproperty_get_next_parameter(p, ICAL_ANY_PARAMETER)) {
        icalparameter_kind k = icalparameter_isa(q);
        const char *pn = k == ICAL_X_PARAMETER || k == ICAL_IANA_PARAMETER
                             ? icalparameter_get_xname(q)
                             : icalparameter_kind_to_string(k);
        if (!pn || strcasecmp(pn, name) != 0)
            continue;
        if (k == ICAL_X_PARAMETER || k == ICAL_IANA_PARAMETER)
            return mg_strdup(icalparameter_get_xvalue(q) ? icalparameter_get_xvalue(q) : "");
        char *s = icalparameter_as_ical_string_r(q);
        char *eq = s ? strchr(s, '=') : NULL;
        char *v = NULL;
        if (eq) {
            char *val = eq + 1;
            size_t n = strlen(val);
            if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
                val[n - 1] = '\0';
                val++;
            }
            v = mg_strdup(val);
        }
        free(s);
        return v ? v : mg_strdup("");
    }
    return NULL;
}

static int param_matches(const struct paramf *pf, icalproperty *p)
{
    char *v = param_value(p, pf->name);
    int ok;
    if (pf->not_defined)
        ok = v == NULL;
    else if (!v)
        ok = 0;
    else
        ok = !pf->has_tm || dav_textmatch_test(&pf->tm, v);
    free(v);
    return ok;
}

static int name_is(icalproperty *p, const char *name)
{
    const char *pn = icalproperty_get_property_name(p);
    return pn && strcasecmp(pn, name) == 0;
}

static int prop_matches(const struct propf *pf, icalcomponent *comp, const icaltimezone *fl)
{
    int found = 0;
    /* the properties are collected first: the tests below may iterate comp */
    icalproperty **v = NULL;
    size_t n = 0;
    int ok = 0;

    for (icalproperty *p = icalcomponent_get_first_property(comp, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_ANY_PROPERTY)) {
        if (!name_is(p, pf->name))
            continue;
        found = 1;
        icalproperty **nv = realloc(v, (n + 1) * sizeof(*nv));
        if (!nv)
            break;
        v = nv;
        v[n++] = p;
    }
    if (pf->not_defined) {
        free(v);
        return !found;
    }
    for (size_t i = 0; i < n && !ok; i++) {
        icalproperty *p = v[i];
        int m = 1;
        if (pf->tr.has)
            m = dav_ical_prop_in_range(p, comp, pf->tr.s, pf->tr.e, fl);
        if (m && pf->has_tm) {
            char *t = prop_text(p);
            m = t && dav_textmatch_test(&pf->tm, t);
            free(t);
        }
        for (size_t k = 0; m && k < pf->nparams; k++)
            m = param_matches(&pf->params[k], p);
        ok = m;
    }
    free(v);
    return ok;
}

static int comp_matches(const struct compf *cf, icalcomponent *comp, const icaltimezone *fl);

/* A nested comp-filter: any child of parent with its name matches. */
static int children_match(const struct compf *cf, icalcomponent *parent, const icaltimezone *fl)
{
    icalcompiter it = icalcomponent_begin_component(parent, ICAL_ANY_COMPONENT);
    int exists = 0;

    for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
        if (strcasecmp(comp_name(c), cf->name) != 0)
            continue;
        exists = 1;
        if (cf->not_defined)
            break;
        if (comp_matches(cf, c, fl))
            return 1;
    }
    return cf->not_defined ? !exists : 0;
}

static int comp_matches(const struct compf *cf, icalcomponent *comp, const icaltimezone *fl)
{
    if (cf->tr.has && !dav_ical_comp_in_range(comp, cf->tr.s, cf->tr.e, fl))
        return 0;
    for (size_t i = 0; i < cf->nprops; i++) {
        if (!prop_matches(&cf->props[i], comp, fl))
            return 0;
    }
    for (size_t i = 0; i < cf->ncomps; i++) {
        if (!children_match(&cf->comps[i], comp, fl))
            return 0;
    }
    return 1;
}

int dav_calfilter_match(const struct dav_calfilter *f, icalcomponent *cal,
                        const icaltimezone *floating)
{
    if (f->root.not_defined)
        return 0; /* every object is a VCALENDAR */
    return comp_matches(&f->root, cal, floating);
}

int dav_calfilter_may_match(const struct dav_calfilter *f, const struct dav_objidx *x)
{
    if (x->kind != DAV_OBJ_ICAL)
        return 1;
    if (f->root.not_defined)
        return 0;
    for (size_t i = 0; i < f->root.ncomps; i++) {
        const struct compf *cf = &f->root.comps[i];
        unsigned bit = dav_ical_comp_bit(cf->name);
        if (cf->not_defined || !bit)
            continue; /* VTIMEZONE, X- components: unknown to the index */
        if (!(x->comps & bit))
            return 0;
        /* the bounds cover every instance and every date a 9.9 test reads */
        if (cf->tr.has && (x->hi < cf->tr.s || x->lo > cf->tr.e))
            return 0;
    }
    return 1;
}
