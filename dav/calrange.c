/*
 * calrange.c - the time-range tests of RFC 4791 9.9 on whole components:
 * events, to-dos and journals through their instances (ical.c), free-busy
 * components through their periods, alarms through their trigger times
 * (relative to each instance of the component they belong to), and
 * date-time properties; plus the zone of a calendar's calendar-timezone.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"
#include "meshgate/dav.h"

#define DAY_SECS 86400

struct hit {
    int64_t qs, qe;
    int hit;
};

static int on_instance(void *ctx, const struct dav_ical_instance *in)
{
    struct hit *h = ctx;
    if (dav_ical_instance_overlaps(in, h->qs, h->qe)) {
        h->hit = 1;
        return 1;
    }
    return 0;
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* RFC 4791 9.9, VFREEBUSY */
static int freebusy_in_range(icalcomponent *fb, int64_t qs, int64_t qe, const icaltimezone *fl)
{
    icalproperty *p = icalcomponent_get_first_property(fb, ICAL_FREEBUSY_PROPERTY);
    if (p) {
        for (; p; p = icalcomponent_get_next_property(fb, ICAL_FREEBUSY_PROPERTY)) {
            struct icalperiodtype per = icalproperty_get_freebusy(p);
            int64_t s = dav_ical_utc(per.start, fl);
            int64_t e = icaltime_is_null_time(per.end) ? s + icaldurationtype_as_int(per.duration)
                                                       : dav_ical_utc(per.end, fl);
            if (qs < e && qe > s)
                return 1;
        }
        return 0;
    }
    icalproperty *ps = icalcomponent_get_first_property(fb, ICAL_DTSTART_PROPERTY);
    icalproperty *pe = icalcomponent_get_first_property(fb, ICAL_DTEND_PROPERTY);
    if (!ps || !pe)
        return 0;
    int64_t s = dav_ical_utc(icalproperty_get_datetime_with_component(ps, fb), fl);
    int64_t e = dav_ical_utc(icalproperty_get_datetime_with_component(pe, fb), fl);
    return qs <= e && qe > s;
}

/* An alarm's triggers relative to one instance of its component. */
struct alarm_ctx {
    int64_t qs, qe;
    int64_t offset;   /* trigger offset in seconds */
    int related_end;  /* RELATED=END */
    int repeat;       /* REPEAT count */
    int64_t interval; /* DURATION between repeats */
    int hit;
};

static int trigger_hits(const struct alarm_ctx *a, int64_t t)
{
    for (int i = 0; i <= a->repeat; i++) {
        int64_t x = t + (int64_t)i * a->interval;
        if (a->qs <= x && a->qe > x)
            return 1;
    }
    return 0;
}

static int on_alarm_instance(void *ctx, const struct dav_ical_instance *in)
{
    struct alarm_ctx *a = ctx;
    int64_t base;
    if (a->related_end)
        base = in->has_end ? in->end : in->start;
    else
        base = in->has_start ? in->start : in->end;
    if (!in->has_start && !in->has_end)
        return 0;
    if (trigger_hits(a, base + a->offset)) {
        a->hit = 1;
        return 1;
    }
    return 0;
}

/* RFC 4791 9.9, VALARM: the trigger times of the alarm (with repeats). */
static int alarm_in_range(icalcomponent *alarm, int64_t qs, int64_t qe, const icaltimezone *fl)
{
    icalcomponent *parent = icalcomponent_get_parent(alarm);
    icalproperty *tp = icalcomponent_get_first_property(alarm, ICAL_TRIGGER_PROPERTY);
    icalproperty *rp = icalcomponent_get_first_property(alarm, ICAL_REPEAT_PROPERTY);
    icalproperty *dp = icalcomponent_get_first_property(alarm, ICAL_DURATION_PROPERTY);
    struct icaltriggertype trig;
    struct alarm_ctx a;
    int64_t reach;
    int rc;

    if (!tp)
        return 0;
    memset(&a, 0, sizeof(a));
    a.qs = qs;
    a.qe = qe;
    if (rp && dp) {
        a.repeat = icalproperty_get_repeat(rp);
        if (a.repeat < 0 || a.repeat > 1000)
            a.repeat = a.repeat < 0 ? 0 : 1000;
        a.interval = icaldurationtype_as_int(icalproperty_get_duration(dp));
    }
    trig = icalproperty_get_trigger(tp);
    if (!icaltime_is_null_time(trig.time)) {
        /* an absolute trigger (always UTC, RFC 5545 3.8.6.3) */
        return trigger_hits(&a, dav_ical_utc(trig.time, fl));
    }
    if (!parent)
        return 0;
    a.offset = icaldurationtype_as_int(trig.duration);
    icalparameter *rel = icalproperty_get_first_parameter(tp, ICAL_RELATED_PARAMETER);
    a.related_end = rel && icalparameter_get_related(rel) == ICAL_RELATED_END;
    /* instances whose trigger could fall in the range: widen by the offset,
     * the repeats and a long event's span (RELATED=END) */
    reach = abs64(a.offset) + (int64_t)a.repeat * abs64(a.interval) + 366 * DAY_SECS;
    rc = dav_ical_instances(parent, qs - reach, qe + reach, fl, on_alarm_instance, &a);
    if (rc == MG_ETOOBIG)
        return 1;
    return a.hit;
}

int dav_ical_comp_in_range(icalcomponent *comp, int64_t qs, int64_t qe,
                           const icaltimezone *floating)
{
    struct hit h = {qs, qe, 0};
    int rc;

    switch (icalcomponent_isa(comp)) {
    case ICAL_VEVENT_COMPONENT:
    case ICAL_VTODO_COMPONENT:
    case ICAL_VJOURNAL_COMPONENT:
        rc = dav_ical_instances(comp, qs, qe, floating, on_instance, &h);
        if (rc == MG_ETOOBIG) {
            /* never drop an object silently: an over-budget rule matches */
            log_warn("dav: recurrence expansion over budget uid=%s; counted as a match",
                     icalcomponent_get_uid(comp) ? icalcomponent_get_uid(comp) : "");
            return 1;
        }
        return h.hit;
    case ICAL_VFREEBUSY_COMPONENT:
        return freebusy_in_range(comp, qs, qe, floating);
    case ICAL_VALARM_COMPONENT:
        return alarm_in_range(comp, qs, qe, floating);
    default:
        return 0;
    }
}

int dav_ical_prop_in_range(icalproperty *p, icalcomponent *comp, int64_t qs, int64_t qe,
                           const icaltimezone *floating)
{
    icalvalue *v = icalproperty_get_value(p);
    icalvalue_kind k = v ? icalvalue_isa(v) : ICAL_NO_VALUE;
    struct icaltimetype t;
    int64_t u;

    if (k != ICAL_DATETIME_VALUE && k != ICAL_DATE_VALUE)
        return 0;
    t = icalproperty_get_datetime_with_component(p, comp);
    if (icaltime_is_null_time(t))
        return 0;
    u = dav_ical_utc(t, floating);
    return qs <= u && qe > u;
}

int dav_ical_zone_from_text(const char *text, size_t len, icaltimezone **out)
{
    icalcomponent *cal = NULL, *vtz;
    icaltimezone *z;
    char err[128];

    *out = NULL;
    if (dav_ical_parse(text, len, &cal, err, sizeof(err)))
        return MG_EINVAL;
    vtz = icalcomponent_get_first_component(cal, ICAL_VTIMEZONE_COMPONENT);
    if (!vtz || icalcomponent_get_next_component(cal, ICAL_VTIMEZONE_COMPONENT) ||
        !icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY)) {
        icalcomponent_free(cal);
        return MG_EINVAL;
    }
    z = icaltimezone_new();
    if (!z) {
        icalcomponent_free(cal);
        return MG_ENOMEM;
    }
    icalcomponent_remove_component(cal, vtz);
    icalcomponent_free(cal);
    if (!icaltimezone_set_component(z, vtz)) {
        icalcomponent_free(vtz);
        icaltimezone_free(z, 1);
        return MG_EINVAL;
    }
    *out = z;
    return 0;
}
