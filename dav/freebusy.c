/*
 * freebusy.c - the free-busy-query REPORT (RFC 4791 7.10): the busy time of
 * a calendar in a range, as one VFREEBUSY (200 text/calendar).
 *
 * Busy time comes from every instance of every opaque VEVENT (TRANSP not
 * TRANSPARENT) that is not CANCELLED (FBTYPE=BUSY, or BUSY-TENTATIVE for
 * STATUS:TENTATIVE), and from the FREEBUSY periods of VFREEBUSY components
 * (their FBTYPE, FREE left out). Periods are clipped to the range and merged
 * per type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

enum { FB_BUSY = 0, FB_TENTATIVE, FB_UNAVAILABLE, FB_TYPES };

static const char *const fb_names[FB_TYPES] = {"BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"};

struct period {
    int64_t s, e;
};

struct fb {
    struct dav_req *r;
    int64_t qs, qe;
    const icaltimezone *zone;
    struct period *v[FB_TYPES];
    size_t n[FB_TYPES], cap[FB_TYPES];
    int type; /* of the event being expanded */
    const char *crel;
    int err;
};

static int add_period(struct fb *f, int type, int64_t s, int64_t e)
{
    if (s < f->qs)
        s = f->qs;
    if (e > f->qe)
        e = f->qe;
    if (e <= s)
        return 0;
    if (f->n[type] == f->cap[type]) {
        size_t cap = f->cap[type] ? f->cap[type] * 2 : 16;
        struct period *v = realloc(f->v[type], cap * sizeof(*v));
        if (!v)
            return MG_ENOMEM;
        f->v[type] = v;
        f->cap[type] = cap;
    }
    f->v[type][f->n[type]].s = s;
    f->v[type][f->n[type]].e = e;
    f->n[type]++;
    return 0;
}

static int on_instance(void *ctx, const struct dav_ical_instance *in)
{
    struct fb *f = ctx;
    if (in->end <= in->start || !dav_ical_instance_overlaps(in, f->qs, f->qe))
        return 0; /* zero-length events take no time */
    if (add_period(f, f->type, in->start, in->end)) {
        f->err = MG_ENOMEM;
        return 1;
    }
    return 0;
}

static int fbtype_of(icalproperty *p)
{
    icalparameter *t = icalproperty_get_first_parameter(p, ICAL_FBTYPE_PARAMETER);
    if (!t)
        return FB_BUSY;
    switch (icalparameter_get_fbtype(t)) {
    case ICAL_FBTYPE_FREE:
        return -1;
    case ICAL_FBTYPE_BUSYTENTATIVE:
        return FB_TENTATIVE;
    case ICAL_FBTYPE_BUSYUNAVAILABLE:
        return FB_UNAVAILABLE;
    default:
        return FB_BUSY;
    }
}

static int add_object(struct fb *f, icalcomponent *cal)
{
    icalcompiter it = icalcomponent_begin_component(cal, ICAL_ANY_COMPONENT);
    for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
        icalcomponent_kind k = icalcomponent_isa(c);
        if (k == ICAL_VEVENT_COMPONENT) {
            icalproperty *tr = icalcomponent_get_first_property(c, ICAL_TRANSP_PROPERTY);
            icalproperty *st = icalcomponent_get_first_property(c, ICAL_STATUS_PROPERTY);
            if (tr && icalproperty_get_transp(tr) == ICAL_TRANSP_TRANSPARENT)
                continue;
            if (st && icalproperty_get_status(st) == ICAL_STATUS_CANCELLED)
                continue;
            f->type =
                st && icalproperty_get_status(st) == ICAL_STATUS_TENTATIVE ? FB_TENTATIVE : FB_BUSY;
            int rc = dav_ical_instances(c, f->qs, f->qe, f->zone, on_instance, f);
            if (f->err)
                return f->err;
            if (rc == MG_ETOOBIG)
                log_warn("dav: free-busy expansion over budget uid=%s",
                         icalcomponent_get_uid(c) ? icalcomponent_get_uid(c) : "");
        } else if (k == ICAL_VFREEBUSY_COMPONENT) {
            for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_FREEBUSY_PROPERTY); p;
                 p = icalcomponent_get_next_property(c, ICAL_FREEBUSY_PROPERTY)) {
                struct icalperiodtype per = icalproperty_get_freebusy(p);
                int type = fbtype_of(p);
                int64_t s = dav_ical_utc(per.start, f->zone);
                int64_t e = icaltime_is_null_time(per.end)
                                ? s + icaldurationtype_as_int(per.duration)
                                : dav_ical_utc(per.end, f->zone);
                if (type >= 0 && add_period(f, type, s, e))
                    return MG_ENOMEM;
            }
        }
    }
    return 0;
}

static int fb_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct fb *f = ctx;
    struct dav_record rec;
    struct dav_objidx x;
    struct buf content;
    icalcomponent *cal = NULL;
    char err[64];
    int rc = 0;

    if (!rkey[0] || dav_record_decode(row->value, row->value_len, &rec))
        return 0;
    buf_init(&content);
    if (rec.type != DAV_RT_FILE)
        goto out;
    if (dav_objidx_decode(&rec.index, &x) == 0 &&
        (!(x.comps & (DAV_COMP_VEVENT | DAV_COMP_VFREEBUSY)) || x.hi < f->qs || x.lo > f->qe))
        goto out;
    if (dav_record_content(f->r->m, &rec, dav_obj_max(f->r->m), &content) ||
        dav_ical_parse(content.data, content.len, &cal, err, sizeof(err)))
        goto out;
    dav_ical_prefer_builtin_zones(cal);
    rc = add_object(f, cal);
    icalcomponent_free(cal);
out:
    buf_release(&content);
    dav_record_release(&rec);
    if (rc) {
        f->err = rc;
        return 1;
    }
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const struct period *x = a, *y = b;
    return x->s < y->s ? -1 : x->s > y->s ? 1 : 0;
}

static void fmt_utc(int64_t t, char *out, size_t cap)
{
    struct icaltimetype tt =
        icaltime_from_timet_with_zone((time_t)t, 0, icaltimezone_get_utc_timezone());
    char *s = icaltime_as_ical_string_r(tt);
    snprintf(out, cap, "%s", s ? s : "");
    free(s);
}

static int render(struct fb *f, struct buf *out)
{
    char a[32], b[32], now[32];
    int rc;

    fmt_utc(f->qs, a, sizeof(a));
    fmt_utc(f->qe, b, sizeof(b));
    fmt_utc((int64_t)(mg_now_ms() / 1000), now, sizeof(now));
    rc = buf_printf(out,
                    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//meshgate//CalDAV//EN\r\n"
                    "BEGIN:VFREEBUSY\r\nDTSTAMP:%s\r\nDTSTART:%s\r\nDTEND:%s\r\n",
                    now, a, b);
    for (int t = 0; !rc && t < FB_TYPES; t++) {
        struct period *v = f->v[t];
        size_t n = f->n[t], k = 0;
        if (!n)
            continue;
        qsort(v, n, sizeof(*v), by_start);
        /* merge overlapping and touching periods */
        for (size_t i = 1; i < n; i++) {
            if (v[i].s <= v[k].e) {
                if (v[i].e > v[k].e)
                    v[k].e = v[i].e;
            } else {
                v[++k] = v[i];
            }
        }
        for (size_t i = 0; !rc && i <= k; i++) {
            fmt_utc(v[i].s, a, sizeof(a));
            fmt_utc(v[i].e, b, sizeof(b));
            rc = buf_printf(out, "FREEBUSY;FBTYPE=%s:%s/%s\r\n", fb_names[t], a, b);
        }
    }
    if (!rc)
        rc = buf_puts(out, "END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    return rc;
}

int dav_freebusy_query(struct dav_req *r, xmlNode *root)
{
    struct dav_res res;
    struct fb f;
    struct buf out, pkey;
    icaltimezone *zone = NULL;
    xmlNode *tr = NULL;
    int depth, rc;

    memset(&f, 0, sizeof(f));
    dav_res_init(&res);
    buf_init(&out);
    buf_init(&pkey);
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (strcmp(dav_xml_ns(c), DAV_NS_CALDAV) == 0 &&
            strcmp((const char *)c->name, "time-range") == 0)
            tr = c;
    }
    /* RFC 4791 7.10: the time-range is required */
    if (!tr || dav_time_range_parse(tr, &f.qs, &f.qe) || f.qs == INT64_MIN || f.qe == INT64_MAX ||
        f.qe <= f.qs) {
        rc = srv_respond_text(r->req, 400,
                              "free-busy-query needs a CALDAV:time-range with "
                              "start and end in UTC");
        goto out;
    }
    if (dav_parse_depth(srv_req_header(r->req, "Depth"), DAV_DEPTH_1, &depth)) {
        rc = srv_respond_text(r->req, 400, "Depth must be 0, 1 or infinity");
        goto out;
    }
    if (dav_load_target(r, &res, &rc))
        goto out;
    f.r = r;
    if (res.rec.coll == DAV_COLL_CALENDAR) {
        zone = dav_coll_zone(&res.rec);
        f.zone = zone;
        if (depth != DAV_DEPTH_0) {
            rc = dav_folder_pkey(&pkey, r->path.user, r->path.kind, r->path.rel);
            if (!rc)
                rc = dht_scan(r->m->d, pkey.data, NULL, 0, fb_row, &f);
            if (f.err)
                rc = f.err;
        }
    } else if (res.rec.type == DAV_RT_FILE) {
        struct dht_row row;
        memset(&row, 0, sizeof(row));
        rc = dht_get(r->m->d, res.pkey.data, res.rkey, &row);
        if (!rc) {
            fb_row(&f, res.rkey, &row);
            rc = f.err;
        }
        dht_row_release(&row);
    } else {
        rc = dav_respond_error(r->req, 403, "supported-report", NULL,
                               "free-busy-query applies to calendars and their objects");
        goto out;
    }
    if (rc < 0) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (render(&f, &out)) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    rc = srv_respond_buf(r->req, 200, "text/calendar; charset=utf-8", &out);
out:
    for (int t = 0; t < FB_TYPES; t++)
        free(f.v[t]);
    if (zone)
        icaltimezone_free(zone, 1);
    dav_res_release(&res);
    buf_release(&out);
    buf_release(&pkey);
    return rc;
}
