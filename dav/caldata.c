/*
 * caldata.c - what a REPORT returns as CALDAV:calendar-data (RFC 4791 9.6)
 * and CARDDAV:address-data (RFC 6352 10.4): the object as stored, or
 *
 *   - expanded (9.6.5): one component per instance overlapping the range,
 *     in UTC, with RECURRENCE-ID and without RRULE, RDATE, EXDATE or
 *     VTIMEZONE;
 *   - limited (9.6.6, 9.6.7): the master and only the overrides, or only the
 *     FREEBUSY periods, that overlap a range;
 *   - pruned (9.6.1-9.6.4): only the components and properties named by
 *     CALDAV:comp / CALDAV:prop (address-data: CARDDAV:prop).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"
#include "meshgate/dav.h"

/* ---- parsing the request --------------------------------------------------------------- */

static int is_ns(xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp(dav_xml_ns(n), ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

static void calcomp_release(struct dav_calcomp *c)
{
    free(c->name);
    for (size_t i = 0; i < c->nprops; i++)
        free(c->props[i]);
    free(c->props);
    for (size_t i = 0; i < c->ncomps; i++)
        calcomp_release(&c->comps[i]);
    free(c->comps);
}

void dav_caldata_release(struct dav_caldata *cd)
{
    if (!cd)
        return;
    if (cd->comp) {
        calcomp_release(cd->comp);
        free(cd->comp);
    }
    memset(cd, 0, sizeof(*cd));
}

static char *name_of(xmlNode *n)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)"name");
    char *s = v && v[0] ? mg_strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static int add_name(char ***v, size_t *n, char *s)
{
    char **nv;
    if (!s)
        return MG_EINVAL;
    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv) {
        free(s);
        return MG_ENOMEM;
    }
    *v = nv;
    nv[(*n)++] = s;
    return 0;
}

/* RFC 4791 9.6.1. A comp without any prop (or allprop) keeps every property
 * and one without any comp (or allcomp) every component: that is what the
 * examples of RFC 4791 7.8 return (an empty <C:comp name="VTIMEZONE"/> comes
 * back whole), and a pruned VTIMEZONE would leave TZIDs undefined. */
static int parse_comp(xmlNode *n, struct dav_calcomp *c)
{
    int rc = 0, props = 0, comps = 0;
    memset(c, 0, sizeof(*c));
    c->name = name_of(n);
    if (!c->name)
        return MG_EINVAL;
    for (xmlNode *k = dav_xml_first_elem(n); k; k = dav_xml_next_elem(k)) {
        props |= is_ns(k, DAV_NS_CALDAV, "prop") || is_ns(k, DAV_NS_CALDAV, "allprop");
        comps |= is_ns(k, DAV_NS_CALDAV, "comp") || is_ns(k, DAV_NS_CALDAV, "allcomp");
    }
    c->allprop = !props;
    c->allcomp = !comps;
    for (xmlNode *k = dav_xml_first_elem(n); k && !rc; k = dav_xml_next_elem(k)) {
        if (is_ns(k, DAV_NS_CALDAV, "allprop")) {
            c->allprop = 1;
        } else if (is_ns(k, DAV_NS_CALDAV, "allcomp")) {
            c->allcomp = 1;
        } else if (is_ns(k, DAV_NS_CALDAV, "prop")) {
            rc = add_name(&c->props, &c->nprops, name_of(k));
        } else if (is_ns(k, DAV_NS_CALDAV, "comp")) {
            struct dav_calcomp *v = realloc(c->comps, (c->ncomps + 1) * sizeof(*v));
            if (!v)
                return MG_ENOMEM;
            c->comps = v;
            rc = parse_comp(k, &v[c->ncomps]);
            c->ncomps++;
        }
    }
    return rc;
}

int dav_caldata_parse(xmlNode *node, struct dav_caldata *out)
{
    xmlChar *ct = xmlGetProp(node, (const xmlChar *)"content-type");
    xmlChar *ver = xmlGetProp(node, (const xmlChar *)"version");
    int rc = 0;

    memset(out, 0, sizeof(*out));
    /* RFC 4791 9.6: text/calendar 2.0 is the only media type served */
    if ((ct && strcasecmp((const char *)ct, "text/calendar") != 0) ||
        (ver && strcmp((const char *)ver, "2.0") != 0))
        rc = MG_EDENIED;
    xmlFree(ct);
    xmlFree(ver);
    for (xmlNode *k = dav_xml_first_elem(node); k && !rc; k = dav_xml_next_elem(k)) {
        if (is_ns(k, DAV_NS_CALDAV, "comp")) {
            if (out->comp) {
                rc = MG_EINVAL;
                break;
            }
            out->comp = calloc(1, sizeof(*out->comp));
            rc = out->comp ? parse_comp(k, out->comp) : MG_ENOMEM;
        } else if (is_ns(k, DAV_NS_CALDAV, "expand")) {
            out->expand = 1;
            rc = dav_time_range_parse(k, &out->expand_start, &out->expand_end);
        } else if (is_ns(k, DAV_NS_CALDAV, "limit-recurrence-set")) {
            out->limit_rs = 1;
            rc = dav_time_range_parse(k, &out->lrs_start, &out->lrs_end);
        } else if (is_ns(k, DAV_NS_CALDAV, "limit-freebusy-set")) {
            out->limit_fb = 1;
            rc = dav_time_range_parse(k, &out->lfb_start, &out->lfb_end);
        }
    }
    if (!rc && out->expand && out->limit_rs)
        rc = MG_EINVAL; /* RFC 4791 9.6: one or the other */
    if (rc)
        dav_caldata_release(out);
    return rc;
}

void dav_carddata_release(struct dav_carddata *cd)
{
    if (!cd)
        return;
    for (size_t i = 0; i < cd->nprops; i++)
        free(cd->props[i]);
    free(cd->props);
    memset(cd, 0, sizeof(*cd));
}

int dav_carddata_parse(xmlNode *node, struct dav_carddata *out)
{
    xmlChar *ct = xmlGetProp(node, (const xmlChar *)"content-type");
    xmlChar *ver = xmlGetProp(node, (const xmlChar *)"version");
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->all = 1;
    /* RFC 6352 10.4: text/vcard 3.0 or 4.0 (objects are returned as stored) */
    if ((ct && strcasecmp((const char *)ct, "text/vcard") != 0) ||
        (ver && strcmp((const char *)ver, "3.0") != 0 && strcmp((const char *)ver, "4.0") != 0))
        rc = MG_EDENIED;
    xmlFree(ct);
    xmlFree(ver);
    for (xmlNode *k = dav_xml_first_elem(node); k && !rc; k = dav_xml_next_elem(k)) {
        if (is_ns(k, DAV_NS_CARDDAV, "allprop")) {
            out->all = 1;
            break;
        }
        if (is_ns(k, DAV_NS_CARDDAV, "prop")) {
            out->all = 0;
            rc = add_name(&out->props, &out->nprops, name_of(k));
        }
    }
    if (rc)
        dav_carddata_release(out);
    return rc;
}

/* ---- rendering calendar data ----------------------------------------------------------- */

static int is_recurring_kind(icalcomponent *c)
{
    icalcomponent_kind k = icalcomponent_isa(c);
    return k == ICAL_VEVENT_COMPONENT || k == ICAL_VTODO_COMPONENT || k == ICAL_VJOURNAL_COMPONENT;
}

static void remove_props(icalcomponent *c, icalproperty_kind kind)
{
    icalproperty *p;
    while ((p = icalcomponent_get_first_property(c, kind)) != NULL) {
        icalcomponent_remove_property(c, p);
        icalproperty_free(p);
    }
}

/* A time in UTC, or the date itself for DATE values. */
static struct icaltimetype utc_time(int64_t t, struct icaltimetype like)
{
    if (like.is_date)
        return like;
    return icaltime_from_timet_with_zone((time_t)t, 0, icaltimezone_get_utc_timezone());
}

static void set_time(icalcomponent *c, icalproperty_kind kind, struct icaltimetype t)
{
    remove_props(c, kind);
    icalproperty *p = icalproperty_new(kind);
    if (!p)
        return;
    if (t.is_date)
        icalproperty_set_value(p, icalvalue_new_date(t));
    else
        icalproperty_set_value(p, icalvalue_new_datetime(t));
    icalcomponent_add_property(c, p);
}

struct inst_list {
    struct dav_ical_instance *v;
    size_t n, cap;
    int64_t qs, qe;
    int err;
};

static int collect(void *ctx, const struct dav_ical_instance *in)
{
    struct inst_list *l = ctx;
    if (!dav_ical_instance_overlaps(in, l->qs, l->qe))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct dav_ical_instance *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->err = MG_ENOMEM;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *in;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const struct dav_ical_instance *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return 0;
}

/* One component for one instance (RFC 4791 9.6.5). */
static icalcomponent *instance_comp(const struct dav_ical_instance *in, const icaltimezone *fl)
{
    icalcomponent *c = icalcomponent_new_clone(in->comp);
    icalcomponent_kind kind = icalcomponent_isa(c);
    struct icaltimetype st = in->start_tt;

    if (!c)
        return NULL;
    remove_props(c, ICAL_RRULE_PROPERTY);
    remove_props(c, ICAL_RDATE_PROPERTY);
    remove_props(c, ICAL_EXDATE_PROPERTY);
    remove_props(c, ICAL_EXRULE_PROPERTY);
    if (in->has_start && !icaltime_is_null_time(st))
        set_time(c, ICAL_DTSTART_PROPERTY, utc_time(in->start, st));
    if (in->has_end && icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY) == NULL) {
        icalproperty_kind ek =
            kind == ICAL_VTODO_COMPONENT ? ICAL_DUE_PROPERTY : ICAL_DTEND_PROPERTY;
        if (icalcomponent_get_first_property(c, ek)) {
            struct icaltimetype like = st;
            if (st.is_date) {
                /* a date end: the start date plus the nominal days */
                like = icaltime_add(st, icaldurationtype_from_int((int)(in->end - in->start)));
                like.is_date = 1;
            }
            set_time(c, ek, utc_time(in->end, like));
        }
    }
    if (in->recurring && !icaltime_is_null_time(in->rid)) {
        struct icaltimetype rid = in->rid;
        set_time(c, ICAL_RECURRENCEID_PROPERTY,
                 rid.is_date ? rid : utc_time(dav_ical_utc(rid, fl), rid));
    }
    return c;
}

static int expand(icalcomponent *cal, int64_t qs, int64_t qe, const icaltimezone *fl,
                  icalcomponent **out)
{
    icalcomponent *res = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
    struct inst_list l;
    int rc = 0;

    *out = NULL;
    if (!res)
        return MG_ENOMEM;
    memset(&l, 0, sizeof(l));
    l.qs = qs;
    l.qe = qe;
    for (icalproperty *p = icalcomponent_get_first_property(cal, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(cal, ICAL_ANY_PROPERTY))
        icalcomponent_add_property(res, icalproperty_new_clone(p));
    icalcompiter it = icalcomponent_begin_component(cal, ICAL_ANY_COMPONENT);
    for (icalcomponent *c = icalcompiter_deref(&it); c && !rc; c = icalcompiter_next(&it)) {
        if (icalcomponent_isa(c) == ICAL_VTIMEZONE_COMPONENT)
            continue; /* everything comes out in UTC */
        if (!is_recurring_kind(c)) {
            icalcomponent_add_component(res, icalcomponent_new_clone(c));
            continue;
        }
        rc = dav_ical_instances(c, qs, qe, fl, collect, &l);
        if (!rc && l.err)
            rc = l.err;
    }
    if (!rc && l.n) {
        qsort(l.v, l.n, sizeof(*l.v), by_start);
        for (size_t i = 0; i < l.n && !rc; i++) {
            icalcomponent *ic = instance_comp(&l.v[i], fl);
            if (!ic)
                rc = MG_ENOMEM;
            else
                icalcomponent_add_component(res, ic);
        }
    }
    free(l.v);
    if (rc) {
        icalcomponent_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* Appends p to the list *drop of *n properties; returns 0, or MG_ENOMEM with the list
 * unchanged. The property twin of dav_ical_drop_add(). */
static int prop_drop_add(icalproperty ***drop, size_t *n, icalproperty *p)
{
    icalproperty **v = realloc(*drop, (*n + 1) * sizeof(*v));

    if (!v)
        return MG_ENOMEM;
    *drop = v;
    v[(*n)++] = p;
    return 0;
}

/* Removes the n properties of drop from c and frees them, then frees drop. */
static void prop_drop_apply(icalcomponent *c, icalproperty **drop, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        icalcomponent_remove_property(c, drop[i]);
        icalproperty_free(drop[i]);
    }
    free(drop);
}

/* RFC 4791 9.6.6: the masters, and the overrides that overlap the range. */
static void limit_recurrence(icalcomponent *cal, int64_t qs, int64_t qe, const icaltimezone *fl)
{
    icalcomponent **drop = NULL;
    size_t n = 0;
    icalcompiter it = icalcomponent_begin_component(cal, ICAL_ANY_COMPONENT);
    for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
        icalproperty *rid = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY);
        if (!rid || !is_recurring_kind(c))
            continue;
        icalparameter *range = icalproperty_get_first_parameter(rid, ICAL_RANGE_PARAMETER);
        if (range && dav_ical_utc(icalproperty_get_datetime_with_component(rid, c), fl) < qe)
            continue; /* THISANDFUTURE overrides reaching into the range stay */
        if (dav_ical_comp_in_range(c, qs, qe, fl))
            continue;
        if (dav_ical_drop_add(&drop, &n, c))
            break;
    }
    dav_ical_drop_apply(cal, drop, n);
}

/* RFC 4791 9.6.7: only the FREEBUSY periods that overlap the range. */
static void limit_freebusy(icalcomponent *cal, int64_t qs, int64_t qe, const icaltimezone *fl)
{
    icalcompiter it = icalcomponent_begin_component(cal, ICAL_VFREEBUSY_COMPONENT);
    for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
        icalproperty **drop = NULL;
        size_t n = 0;
        for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_FREEBUSY_PROPERTY); p;
             p = icalcomponent_get_next_property(c, ICAL_FREEBUSY_PROPERTY)) {
            struct icalperiodtype per = icalproperty_get_freebusy(p);
            int64_t s = dav_ical_utc(per.start, fl);
            int64_t e = icaltime_is_null_time(per.end) ? s + icaldurationtype_as_int(per.duration)
                                                       : dav_ical_utc(per.end, fl);
            if (qs < e && qe > s)
                continue;
            if (prop_drop_add(&drop, &n, p))
                break;
        }
        prop_drop_apply(c, drop, n);
    }
}

static const char *kind_name(icalcomponent *c)
{
    return icalcomponent_kind_to_string(icalcomponent_isa(c));
}

/* RFC 4791 9.6.1: keeps only what spec names. */
static void prune(icalcomponent *c, const struct dav_calcomp *spec)
{
    if (!spec->allprop) {
        icalproperty **drop = NULL;
        size_t n = 0;
        for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
             p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
            const char *pn = icalproperty_get_property_name(p);
            int keep = 0;
            for (size_t i = 0; i < spec->nprops && !keep; i++)
                keep = pn && strcasecmp(pn, spec->props[i]) == 0;
            if (keep)
                continue;
            if (prop_drop_add(&drop, &n, p))
                break;
        }
        prop_drop_apply(c, drop, n);
    }
    if (spec->allcomp)
        return;
    icalcomponent **drop = NULL;
    size_t n = 0;
    icalcompiter it = icalcomponent_begin_component(c, ICAL_ANY_COMPONENT);
    for (icalcomponent *k = icalcompiter_deref(&it); k; k = icalcompiter_next(&it)) {
        const struct dav_calcomp *sub = NULL;
        for (size_t i = 0; i < spec->ncomps && !sub; i++) {
            if (strcasecmp(spec->comps[i].name, kind_name(k)) == 0)
                sub = &spec->comps[i];
        }
        if (sub) {
            prune(k, sub);
            continue;
        }
        if (dav_ical_drop_add(&drop, &n, k))
            break;
    }
    dav_ical_drop_apply(c, drop, n);
}

int dav_caldata_render(const struct dav_caldata *spec, const char *data, size_t len,
                       icalcomponent *cal, const icaltimezone *floating, struct buf *out)
{
    icalcomponent *parsed = NULL, *work = NULL;
    char err[64];
    char *text;
    int rc;

    if (!spec || (!spec->comp && !spec->expand && !spec->limit_rs && !spec->limit_fb))
        return buf_append(out, data, len);
    if (!cal) {
        rc = dav_ical_parse(data, len, &parsed, err, sizeof(err));
        if (rc)
            return rc;
        cal = parsed;
    }
    if (spec->expand) {
        /* expanded output is in UTC: the object's own VTIMEZONEs are not needed */
        if (parsed)
            dav_ical_prefer_builtin_zones(parsed);
        rc = expand(cal, spec->expand_start, spec->expand_end, floating, &work);
        if (rc)
            goto out;
    } else {
        work = icalcomponent_new_clone(cal);
        if (!work) {
            rc = MG_ENOMEM;
            goto out;
        }
        if (spec->limit_rs)
            limit_recurrence(work, spec->lrs_start, spec->lrs_end, floating);
    }
    if (spec->limit_fb)
        limit_freebusy(work, spec->lfb_start, spec->lfb_end, floating);
    if (spec->comp && strcasecmp(spec->comp->name, "VCALENDAR") == 0)
        prune(work, spec->comp);
    text = icalcomponent_as_ical_string_r(work);
    rc = text ? buf_puts(out, text) : MG_ENOMEM;
    free(text);
out:
    if (work)
        icalcomponent_free(work);
    if (parsed)
        icalcomponent_free(parsed);
    return rc;
}

int dav_carddata_render(const struct dav_carddata *spec, const char *data, size_t len,
                        struct buf *out)
{
    struct dav_vcard *c = NULL;
    char err[64];
    int rc;

    if (!spec || spec->all)
        return buf_append(out, data, len);
    rc = dav_vcard_parse(data, len, &c, err, sizeof(err));
    if (rc)
        return rc;
    /* RFC 6352 10.4.2: only the named properties (VERSION keeps the card valid) */
    rc = buf_puts(out, "BEGIN:VCARD\r\n");
    for (size_t i = 0; !rc && i < c->nprops; i++) {
        const struct dav_vcard_prop *p = &c->props[i];
        int keep = strcmp(p->name, "VERSION") == 0;
        for (size_t k = 0; k < spec->nprops && !keep; k++)
            keep = strcasecmp(spec->props[k], p->name) == 0;
        if (keep)
            rc = dav_vcard_write_prop(out, p);
    }
    if (!rc)
        rc = buf_puts(out, "END:VCARD\r\n");
    dav_vcard_free(c);
    return rc;
}
