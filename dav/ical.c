/*
 * ical.c - iCalendar (RFC 5545) through libical: parsing and checking
 * calendar object resources (RFC 4791 4.1), the data kept in their index
 * (UID, component type, time bounds), recurrence expansion bounded by a time
 * range, and the time-range tests of RFC 4791 9.9.
 *
 * Expansion walks DTSTART, each RRULE (started a whole number of periods
 * later, just before the range, when the rule has no COUNT), RDATEs, minus
 * EXDATEs and the instances that components with a RECURRENCE-ID override.
 * Instance ends keep the nominal duration in the event's own zone, so a
 * weekly 10:00-11:00 meeting stays one hour across DST changes.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"
#include "meshgate/dav.h"

/* Recurrence iterations one dav_ical_instances call may spend: far more than
 * any real calendar needs in one range, small enough to bound a hostile rule. */
#define ICAL_ITER_BUDGET 2000000L
/* What one request may spend in all (dav_ical_budget_reset): a calendar of
 * many hostile rules costs a bounded amount of CPU per request. */
static _Thread_local long request_budget = -1;

void dav_ical_budget_reset(long iterations)
{
    request_budget = iterations;
}

/* Iterations spent finding the last instance of a COUNT rule at PUT time;
 * beyond it the object is indexed as open-ended (still correct, just slower). */
#define ICAL_BOUND_BUDGET 20000L
/* Floating times and dates may sit anywhere between UTC-12 and UTC+14. */
#define ICAL_TZ_SLACK (15 * 3600)
#define DAY_SECS 86400

void dav_set_err(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (!err || !cap)
        return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

int dav_text_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* ---- parsing ----------------------------------------------------------------------- */

/* The first X-LIC-ERROR libical left in c or below it, or NULL. */
static const char *first_error(icalcomponent *c)
{
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
        const char *e = icalproperty_get_xlicerror(p);
        return e ? e : "unknown error";
    }
    for (icalcomponent *k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
        const char *e = first_error(k);
        if (e)
            return e;
    }
    return NULL;
}

int dav_ical_parse(const char *data, size_t len, icalcomponent **out, char *err, size_t cap)
{
    icalcomponent *c;
    const char *e;
    char *s;

    *out = NULL;
    if (!data || len == 0) {
        dav_set_err(err, cap, "empty body: expected iCalendar data");
        return MG_EINVAL;
    }
    if (!dav_text_valid(data, len)) {
        dav_set_err(err, cap, "not iCalendar text: invalid UTF-8 or control characters");
        return MG_EINVAL;
    }
    s = malloc(len + 1);
    if (!s)
        return MG_ENOMEM;
    memcpy(s, data, len);
    s[len] = '\0';
    c = icalparser_parse_string(s);
    free(s);
    if (!c) {
        dav_set_err(err, cap, "not iCalendar: no complete BEGIN:VCALENDAR ... END:VCALENDAR");
        return MG_EINVAL;
    }
    if (icalcomponent_isa(c) != ICAL_VCALENDAR_COMPONENT) {
        dav_set_err(err, cap, "expected exactly one VCALENDAR, found %s",
                    icalcomponent_isa(c) == ICAL_XROOT_COMPONENT
                        ? "several top-level components"
                        : icalcomponent_kind_to_string(icalcomponent_isa(c)));
        icalcomponent_free(c);
        return MG_EINVAL;
    }
    e = first_error(c);
    if (e) {
        dav_set_err(err, cap, "malformed iCalendar: %s", e);
        icalcomponent_free(c);
        return MG_EINVAL;
    }
    *out = c;
    return 0;
}

void dav_ical_prefer_builtin_zones(icalcomponent *cal)
{
    icalcomponent **drop = NULL;
    size_t n = 0;
    icalcompiter it = icalcomponent_begin_component(cal, ICAL_VTIMEZONE_COMPONENT);

    for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
        icalproperty *p = icalcomponent_get_first_property(c, ICAL_TZID_PROPERTY);
        const char *tzid = p ? icalproperty_get_tzid(p) : NULL;
        icaltimezone *z = NULL;
        if (tzid)
            z = tzid[0] == '/' ? icaltimezone_get_builtin_timezone_from_tzid(tzid)
                               : icaltimezone_get_builtin_timezone(tzid);
        if (!z)
            continue; /* a zone only the object defines (Outlook names): keep it */
        if (dav_ical_drop_add(&drop, &n, c))
            break;
    }
    dav_ical_drop_apply(cal, drop, n);
}

int dav_ical_drop_add(icalcomponent ***drop, size_t *n, icalcomponent *c)
{
    icalcomponent **v = realloc(*drop, (*n + 1) * sizeof(*v));

    if (!v)
        return MG_ENOMEM;
    *drop = v;
    v[(*n)++] = c;
    return 0;
}

void dav_ical_drop_apply(icalcomponent *parent, icalcomponent **drop, size_t n)
{
    /* removed after the walk: removing while iterating would skip siblings */
    for (size_t i = 0; i < n; i++) {
        icalcomponent_remove_component(parent, drop[i]);
        icalcomponent_free(drop[i]);
    }
    free(drop);
}

/* ---- times ----------------------------------------------------------------------------- */

int64_t dav_ical_utc(struct icaltimetype t, const icaltimezone *floating)
{
    icaltimezone *utc = icaltimezone_get_utc_timezone();
    const icaltimezone *z;

    if (icaltime_is_null_time(t))
        return 0;
    if (t.is_date) {
        t.hour = t.minute = t.second = 0;
        t.is_date = 0;
    }
    if (icaltime_is_utc(t))
        z = utc;
    else if (t.zone)
        z = t.zone;
    else
        z = floating ? floating : utc;
    return (int64_t)icaltime_as_timet_with_zone(t, (icaltimezone *)z);
}

int dav_ical_parse_utc(const char *s, int64_t *out)
{
    struct icaltimetype t;
    size_t n;

    if (!s)
        return MG_EINVAL;
    n = strlen(s);
    /* "YYYYMMDD", "YYYYMMDDTHHMMSS" or with a final Z; nothing else */
    if (n != 8 && n != 15 && n != 16)
        return MG_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int digit = s[i] >= '0' && s[i] <= '9';
        if ((i == 8 && s[i] != 'T') || (i == 15 && s[i] != 'Z') || (i != 8 && i != 15 && !digit))
            return MG_EINVAL;
    }
    t = icaltime_from_string(s);
    if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t) || t.month < 1 || t.month > 12 ||
        t.day < 1 || t.day > icaltime_days_in_month(t.month, t.year) || t.hour > 23 ||
        t.minute > 59 || t.second > 60)
        return MG_EINVAL;
    t.zone = icaltimezone_get_utc_timezone();
    *out = dav_ical_utc(t, NULL);
    return 0;
}

/* Seconds of t's wall clock (its fields read as if UTC): differences of two
 * of these are nominal durations. */
static int64_t wall(struct icaltimetype t)
{
    t.zone = NULL;
    if (t.is_date) {
        t.hour = t.minute = t.second = 0;
        t.is_date = 0;
    }
    return (int64_t)icaltime_as_timet(t);
}

static int same_zone(struct icaltimetype a, struct icaltimetype b)
{
    if (icaltime_is_utc(a) || icaltime_is_utc(b))
        return icaltime_is_utc(a) && icaltime_is_utc(b);
    return a.zone == b.zone;
}

static struct icaltimetype prop_time(icalcomponent *comp, icalproperty_kind kind)
{
    icalproperty *p = icalcomponent_get_first_property(comp, kind);
    if (!p)
        return icaltime_null_time();
    return icalproperty_get_datetime_with_component(p, comp);
}

/* How an instance's end follows from its start. */
enum span_kind { SPAN_ZERO = 0, SPAN_NOMINAL, SPAN_EXACT, SPAN_OPEN };

struct span {
    enum span_kind kind;
    struct icaldurationtype dur; /* SPAN_NOMINAL */
    int64_t secs;                /* SPAN_EXACT */
    int end_is_due;
};

/* The start and span of a VEVENT, VTODO or VJOURNAL (RFC 4791 9.9 tables). */
static void comp_span(icalcomponent *comp, struct icaltimetype *start, struct span *sp)
{
    icalcomponent_kind kind = icalcomponent_isa(comp);
    icalproperty *dur = icalcomponent_get_first_property(comp, ICAL_DURATION_PROPERTY);
    struct icaltimetype end;

    memset(sp, 0, sizeof(*sp));
    *start = prop_time(comp, ICAL_DTSTART_PROPERTY);
    if (kind == ICAL_VTODO_COMPONENT) {
        end = prop_time(comp, ICAL_DUE_PROPERTY);
        sp->end_is_due = !icaltime_is_null_time(end);
    } else if (kind == ICAL_VEVENT_COMPONENT) {
        end = prop_time(comp, ICAL_DTEND_PROPERTY);
    } else {
        end = icaltime_null_time();
        dur = NULL;
    }
    if (!icaltime_is_null_time(end)) {
        if (icaltime_is_null_time(*start)) {
            sp->kind = SPAN_OPEN; /* VTODO with DUE only */
        } else if (start->is_date || same_zone(*start, end)) {
            sp->kind = SPAN_NOMINAL;
            sp->dur = icaldurationtype_from_int((int)(wall(end) - wall(*start)));
        } else {
            sp->kind = SPAN_EXACT;
            sp->secs = dav_ical_utc(end, NULL) - dav_ical_utc(*start, NULL);
        }
    } else if (dur && !icaltime_is_null_time(*start)) {
        sp->kind = SPAN_NOMINAL;
        sp->dur = icalproperty_get_duration(dur);
    } else if (start->is_date && kind != ICAL_VTODO_COMPONENT) {
        /* RFC 4791 9.9: a DATE start without end lasts one day */
        sp->kind = SPAN_NOMINAL;
        sp->dur = icaldurationtype_from_int(DAY_SECS);
    } else {
        sp->kind = SPAN_ZERO;
    }
}

/* Upper bound of an instance's length in seconds (for jumping into a range). */
static int64_t span_max(const struct span *sp)
{
    switch (sp->kind) {
    case SPAN_NOMINAL: {
        int64_t s = (int64_t)icaldurationtype_as_int(sp->dur);
        return (s < 0 ? -s : s) + 2 * 3600; /* DST shifts */
    }
    case SPAN_EXACT:
        return sp->secs < 0 ? -sp->secs : sp->secs;
    default:
        return 0;
    }
}

/* ---- instances ----------------------------------------------------------------------- */

struct walk {
    icalcomponent *comp;
    const icaltimezone *floating;
    int64_t from, to;
    struct span sp;
    int64_t *skip; /* EXDATEs and overridden RECURRENCE-IDs, UTC */
    size_t nskip, skipcap;
    long budget;
    dav_ical_instance_fn fn;
    void *ctx;
};

static int add_skip(struct walk *w, int64_t t)
{
    if (w->nskip == w->skipcap) {
        size_t cap = w->skipcap ? w->skipcap * 2 : 16;
        int64_t *v = realloc(w->skip, cap * sizeof(*v));
        if (!v)
            return MG_ENOMEM;
        w->skip = v;
        w->skipcap = cap;
    }
    w->skip[w->nskip++] = t;
    return 0;
}

static int skipped(const struct walk *w, int64_t t)
{
    for (size_t i = 0; i < w->nskip; i++) {
        if (w->skip[i] == t)
            return 1;
    }
    return 0;
}

/* Visits one instance starting at st (local, with zone). */
static int emit(struct walk *w, struct icaltimetype st, int recurring, int check_skip)
{
    struct dav_ical_instance in;

    memset(&in, 0, sizeof(in));
    in.comp = w->comp;
    in.start_tt = st;
    in.rid = recurring ? st : icaltime_null_time();
    in.recurring = recurring;
    in.has_start = 1;
    in.start = dav_ical_utc(st, w->floating);
    if (check_skip && skipped(w, in.start))
        return 0;
    switch (w->sp.kind) {
    case SPAN_NOMINAL:
        in.end = dav_ical_utc(icaltime_add(st, w->sp.dur), w->floating);
        in.has_end = 1;
        break;
    case SPAN_EXACT:
        in.end = in.start + w->sp.secs;
        in.has_end = 1;
        break;
    default:
        in.end = in.start;
        in.has_end = icalcomponent_isa(w->comp) != ICAL_VTODO_COMPONENT;
        break;
    }
    in.end_is_due = w->sp.end_is_due;
    if (in.end < in.start)
        in.end = in.start;
    if (in.start > w->to || in.end < w->from)
        return 0;
    return w->fn(w->ctx, &in);
}

/* Collects EXDATEs of the master and the RECURRENCE-IDs of its overrides. */
static int collect_skips(struct walk *w)
{
    icalcomponent *cal = icalcomponent_get_parent(w->comp);
    icalcomponent_kind kind = icalcomponent_isa(w->comp);
    const char *uid = icalcomponent_get_uid(w->comp);

    for (icalproperty *p = icalcomponent_get_first_property(w->comp, ICAL_EXDATE_PROPERTY); p;
         p = icalcomponent_get_next_property(w->comp, ICAL_EXDATE_PROPERTY)) {
        struct icaltimetype t = icalproperty_get_datetime_with_component(p, w->comp);
        if (!icaltime_is_null_time(t) && add_skip(w, dav_ical_utc(t, w->floating)))
            return MG_ENOMEM;
    }
    if (!cal || !uid)
        return 0;
    /* a component iterator of cal may be in use by our caller: walk the
     * children through an explicit iterator instead */
    icalcompiter it = icalcomponent_begin_component(cal, kind);
    for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
        const char *u;
        icalproperty *rid;
        if (c == w->comp)
            continue;
        rid = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY);
        u = icalcomponent_get_uid(c);
        if (!rid || !u || strcmp(u, uid) != 0)
            continue;
        if (add_skip(w,
                     dav_ical_utc(icalproperty_get_datetime_with_component(rid, c), w->floating)))
            return MG_ENOMEM;
    }
    return 0;
}

/* A DTSTART from which rule yields, at and after target, exactly the
 * instances it yields from dtstart: dtstart moved forward by whole periods
 * (FREQ x INTERVAL) in its own wall time, so the weekday, day of month, month
 * and time of day the rule takes from DTSTART stay the same. One period more
 * is kept behind target, so instances of the first period that fall before
 * the new start (and any spurious instance at it) lie before target too.
 * (libical's icalrecur_iterator_set_start loses the phase of INTERVAL > 1.)
 * Returns 0 and *out, or -1 when there is nothing to gain or no safe start. */
static int aligned_start(struct icalrecurrencetype rule, struct icaltimetype dtstart,
                         int64_t target, const icaltimezone *fl, struct icaltimetype *out)
{
    icaltimezone *utc = icaltimezone_get_utc_timezone();
    const icaltimezone *z = icaltime_is_utc(dtstart) ? utc
                            : dtstart.zone           ? dtstart.zone
                            : fl                     ? fl
                                                     : utc;
    struct icaltimetype t = icaltime_from_timet_with_zone((time_t)target, 0, (icaltimezone *)z);
    int64_t interval = rule.interval > 0 ? rule.interval : 1;
    int64_t step = 0, k;
    struct icaltimetype v = dtstart;

    if (rule.count > 0)
        return -1; /* COUNT numbers instances from DTSTART */
    /* hourly and finer in a zone with DST: libical shifts the phase at the
     * gaps, so only its own walk from DTSTART is right */
    if (rule.freq < ICAL_DAILY_RECURRENCE && z != utc && dtstart.zone)
        return -1;
    switch (rule.freq) {
    case ICAL_SECONDLY_RECURRENCE:
        step = interval;
        break;
    case ICAL_MINUTELY_RECURRENCE:
        step = 60 * interval;
        break;
    case ICAL_HOURLY_RECURRENCE:
        step = 3600 * interval;
        break;
    case ICAL_DAILY_RECURRENCE:
        step = DAY_SECS * interval;
        break;
    case ICAL_WEEKLY_RECURRENCE:
        step = 7 * DAY_SECS * interval;
        break;
    case ICAL_MONTHLY_RECURRENCE:
    case ICAL_YEARLY_RECURRENCE: {
        int64_t months = rule.freq == ICAL_YEARLY_RECURRENCE ? 12 * interval : interval;
        int64_t between = ((int64_t)t.year - dtstart.year) * 12 + (t.month - dtstart.month);
        /* back until the day exists in that month (the 31st, February 29th) */
        for (k = between / months - 1; k >= 1; k--) {
            int64_t m = (int64_t)dtstart.month - 1 + k * months;
            int year = dtstart.year + (int)(m / 12), month = (int)(m % 12) + 1;
            if (dtstart.day <= icaltime_days_in_month(month, year)) {
                v.year = year;
                v.month = month;
                *out = v;
                return 0;
            }
            if (dtstart.month - 1 + (k - 12) * months < 0)
                break;
        }
        return -1;
    }
    default:
        return -1;
    }
    k = (wall(t) - wall(dtstart)) / step - 1;
    if (k < 1)
        return -1;
    v = icaltime_from_timet_with_zone((time_t)(wall(dtstart) + k * step), 0, utc);
    v.zone = dtstart.zone;
    v.is_date = dtstart.is_date;
    if (icaltime_is_utc(dtstart))
        v.zone = utc;
    *out = v;
    return 0;
}

static int walk_rrule(struct walk *w, struct icalrecurrencetype rule, struct icaltimetype dtstart,
                      int64_t start_utc)
{
    int64_t back = span_max(&w->sp) + DAY_SECS;
    /* an open start (INT64_MIN) stays open: no overflow below it */
    int64_t from = w->from < INT64_MIN + back ? INT64_MIN : w->from - back;
    struct icaltimetype first;
    icalrecur_iterator *it;
    int rc = 0;

    if (!icaltime_is_null_time(rule.until) && dav_ical_utc(rule.until, w->floating) < from)
        return 0;
    /* jump close to the range: only the instances in it are iterated */
    if (from <= start_utc || aligned_start(rule, dtstart, from, w->floating, &first))
        first = dtstart;
    it = icalrecur_iterator_new(rule, first);
    if (!it)
        return 0; /* a rule libical cannot iterate: DTSTART alone stands */
    for (;;) {
        struct icaltimetype n = icalrecur_iterator_next(it);
        if (icaltime_is_null_time(n))
            break;
        if (--w->budget < 0 || (request_budget >= 0 && --request_budget < 0)) {
            request_budget = 0;
            rc = MG_ETOOBIG;
            break;
        }
        if (icaltime_compare(n, dtstart) == 0)
            continue; /* DTSTART was visited first */
        if (dav_ical_utc(n, w->floating) > w->to)
            break;
        rc = emit(w, n, 1, 1);
        if (rc)
            break;
    }
    icalrecur_iterator_free(it);
    return rc;
}

static int walk_rdate(struct walk *w, icalproperty *p)
{
    struct icaldatetimeperiodtype dp = icalproperty_get_rdate(p);
    icalparameter *tzp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    icaltimezone *z = NULL;
    struct icaltimetype st;

    if (tzp) {
        icalcomponent *cal = icalcomponent_get_parent(w->comp);
        const char *tzid = icalparameter_get_tzid(tzp);
        z = cal ? icalcomponent_get_timezone(cal, tzid) : NULL;
        if (!z)
            z = icaltimezone_get_builtin_timezone(tzid);
    }
    if (!icaltime_is_null_time(dp.time)) {
        st = dp.time;
    } else if (!icaltime_is_null_time(dp.period.start)) {
        st = dp.period.start;
    } else {
        return 0;
    }
    if (z && !icaltime_is_utc(st))
        st.zone = z;
    if (skipped(w, dav_ical_utc(st, w->floating)))
        return 0;
    if (icaltime_is_null_time(dp.time)) {
        /* a PERIOD carries its own end */
        struct walk one = *w;
        struct icaltimetype pe = dp.period.end;
        if (icaltime_is_null_time(pe)) {
            one.sp.kind = SPAN_NOMINAL;
            one.sp.dur = dp.period.duration;
        } else {
            if (z && !icaltime_is_utc(pe))
                pe.zone = z;
            one.sp.kind = SPAN_EXACT;
            one.sp.secs = dav_ical_utc(pe, w->floating) - dav_ical_utc(st, w->floating);
        }
        return emit(&one, st, 1, 0);
    }
    return emit(w, st, 1, 0);
}

/* Walks every RRULE and RDATE of comp. The properties are collected first:
 * the callbacks may iterate comp's properties themselves (libical keeps one
 * iterator per component). */
static int walk_rules(struct walk *w, icalcomponent *comp, struct icaltimetype dtstart)
{
    int64_t start_utc = dav_ical_utc(dtstart, w->floating);
    icalproperty **v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    for (icalproperty *p = icalcomponent_get_first_property(comp, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_ANY_PROPERTY)) {
        icalproperty_kind k = icalproperty_isa(p);
        if (k != ICAL_RRULE_PROPERTY && k != ICAL_RDATE_PROPERTY)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            icalproperty **nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                free(v);
                return MG_ENOMEM;
            }
            v = nv;
            cap = nc;
        }
        v[n++] = p;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if (icalproperty_isa(v[i]) == ICAL_RRULE_PROPERTY)
            rc = walk_rrule(w, icalproperty_get_rrule(v[i]), dtstart, start_utc);
        else
            rc = walk_rdate(w, v[i]);
    }
    free(v);
    return rc;
}

int dav_ical_instances(icalcomponent *comp, int64_t from, int64_t to, const icaltimezone *floating,
                       dav_ical_instance_fn fn, void *ctx)
{
    icalcomponent_kind kind = icalcomponent_isa(comp);
    struct icaltimetype dtstart;
    struct walk w;
    icalproperty *rid;
    int recurring, rc = 0;

    if (kind != ICAL_VEVENT_COMPONENT && kind != ICAL_VTODO_COMPONENT &&
        kind != ICAL_VJOURNAL_COMPONENT)
        return 0;
    memset(&w, 0, sizeof(w));
    w.comp = comp;
    w.floating = floating;
    w.from = from;
    w.to = to;
    w.budget = ICAL_ITER_BUDGET;
    w.fn = fn;
    w.ctx = ctx;
    comp_span(comp, &dtstart, &w.sp);
    rid = icalcomponent_get_first_property(comp, ICAL_RECURRENCEID_PROPERTY);
    if (icaltime_is_null_time(dtstart)) {
        struct dav_ical_instance in;
        if (kind != ICAL_VTODO_COMPONENT)
            return 0; /* RFC 4791 9.9: a VJOURNAL without DTSTART matches no range */
        /* a to-do without DTSTART is one instance, tested on DUE or its dates */
        memset(&in, 0, sizeof(in));
        in.comp = comp;
        in.start_tt = icaltime_null_time();
        in.rid = rid ? icalproperty_get_datetime_with_component(rid, comp) : icaltime_null_time();
        in.recurring = rid != NULL;
        if (w.sp.kind == SPAN_OPEN) {
            in.has_end = 1;
            in.end_is_due = 1;
            in.end = in.start = dav_ical_utc(prop_time(comp, ICAL_DUE_PROPERTY), floating);
        }
        return fn(ctx, &in);
    }
    if (rid) {
        /* an override: one instance, whose original start is the RECURRENCE-ID */
        int64_t s = dav_ical_utc(dtstart, floating);
        struct dav_ical_instance in;
        memset(&in, 0, sizeof(in));
        if (s > to)
            return 0;
        in.comp = comp;
        in.start_tt = dtstart;
        in.rid = icalproperty_get_datetime_with_component(rid, comp);
        in.recurring = 1;
        in.has_start = 1;
        in.start = s;
        in.end_is_due = w.sp.end_is_due;
        switch (w.sp.kind) {
        case SPAN_NOMINAL:
            in.end = dav_ical_utc(icaltime_add(dtstart, w.sp.dur), floating);
            in.has_end = 1;
            break;
        case SPAN_EXACT:
            in.end = s + w.sp.secs;
            in.has_end = 1;
            break;
        default:
            in.end = s;
            in.has_end = kind != ICAL_VTODO_COMPONENT;
            break;
        }
        if (in.end < in.start)
            in.end = in.start;
        if (in.end < from)
            return 0;
        return fn(ctx, &in);
    }
    recurring = icalcomponent_get_first_property(comp, ICAL_RRULE_PROPERTY) != NULL ||
                icalcomponent_get_first_property(comp, ICAL_RDATE_PROPERTY) != NULL;
    rc = collect_skips(&w);
    if (rc)
        goto out;
    /* RFC 5545 3.8.5.3: DTSTART is always the first instance */
    rc = emit(&w, dtstart, recurring, 1);
    if (rc || !recurring)
        goto out;
    rc = walk_rules(&w, comp, dtstart);
out:
    free(w.skip);
    return rc;
}

/* ---- RFC 4791 9.9 ----------------------------------------------------------------------- */

int dav_ical_instance_overlaps(const struct dav_ical_instance *in, int64_t qs, int64_t qe)
{
    icalcomponent_kind kind = icalcomponent_isa(in->comp);

    if (kind == ICAL_VTODO_COMPONENT) {
        int64_t s = in->start, e = in->end;
        if (in->has_start && in->has_end && !in->end_is_due) /* DTSTART + DURATION */
            return qs <= e && (qe > s || qe >= e);
        if (in->has_start && in->has_end) /* DTSTART + DUE */
            return (qs < e || qs <= s) && (qe > s || qe >= e);
        if (in->has_start) /* DTSTART only */
            return qs <= s && qe > s;
        if (in->has_end) /* DUE only */
            return qs < e && qe >= e;
        struct icaltimetype completed = prop_time(in->comp, ICAL_COMPLETED_PROPERTY);
        struct icaltimetype created = prop_time(in->comp, ICAL_CREATED_PROPERTY);
        int64_t co = dav_ical_utc(completed, NULL), cr = dav_ical_utc(created, NULL);
        int hco = !icaltime_is_null_time(completed), hcr = !icaltime_is_null_time(created);
        if (hco && hcr)
            return (qs <= cr || qs <= co) && (qe >= cr || qe >= co);
        if (hco)
            return qs <= co && qe >= co;
        if (hcr)
            return qe > cr;
        return 1;
    }
    /* VEVENT and VJOURNAL: a positive span overlaps; a zero-length one must
     * start inside the range */
    if (in->end > in->start)
        return qs < in->end && qe > in->start;
    return qs <= in->start && qe > in->start;
}

/* ---- checking an object ---------------------------------------------------------------- */

static unsigned comp_bit(icalcomponent_kind kind)
{
    switch (kind) {
    case ICAL_VEVENT_COMPONENT:
        return DAV_COMP_VEVENT;
    case ICAL_VTODO_COMPONENT:
        return DAV_COMP_VTODO;
    case ICAL_VJOURNAL_COMPONENT:
        return DAV_COMP_VJOURNAL;
    case ICAL_VFREEBUSY_COMPONENT:
        return DAV_COMP_VFREEBUSY;
    default:
        return 0;
    }
}

unsigned dav_ical_comp_bit(const char *name)
{
    if (!name)
        return 0;
    if (strcasecmp(name, "VEVENT") == 0)
        return DAV_COMP_VEVENT;
    if (strcasecmp(name, "VTODO") == 0)
        return DAV_COMP_VTODO;
    if (strcasecmp(name, "VJOURNAL") == 0)
        return DAV_COMP_VJOURNAL;
    if (strcasecmp(name, "VFREEBUSY") == 0)
        return DAV_COMP_VFREEBUSY;
    return 0;
}

const char *dav_ical_comp_name(unsigned bit)
{
    switch (bit) {
    case DAV_COMP_VEVENT:
        return "VEVENT";
    case DAV_COMP_VTODO:
        return "VTODO";
    case DAV_COMP_VJOURNAL:
        return "VJOURNAL";
    case DAV_COMP_VFREEBUSY:
        return "VFREEBUSY";
    default:
        return "";
    }
}

struct bounds {
    int64_t lo, hi;
};

static void widen(struct bounds *b, int64_t lo, int64_t hi)
{
    if (lo < b->lo)
        b->lo = lo;
    if (hi > b->hi)
        b->hi = hi;
}

/* Widens b by time t (and its span), with slack for floating values. */
static void widen_time(struct bounds *b, struct icaltimetype t, int64_t extra)
{
    int64_t u;
    if (icaltime_is_null_time(t))
        return;
    u = dav_ical_utc(t, NULL);
    if (t.is_date || (!t.zone && !icaltime_is_utc(t)))
        widen(b, u - ICAL_TZ_SLACK, u + extra + ICAL_TZ_SLACK + (t.is_date ? DAY_SECS : 0));
    else
        widen(b, u, u + extra);
}

/* The time bounds of one component, per the tests of RFC 4791 9.9. */
static void comp_bounds(icalcomponent *c, struct bounds *b)
{
    icalcomponent_kind kind = icalcomponent_isa(c);
    struct icaltimetype st;
    struct span sp;
    int64_t extra;

    if (kind == ICAL_VFREEBUSY_COMPONENT) {
        widen_time(b, prop_time(c, ICAL_DTSTART_PROPERTY), 0);
        widen_time(b, prop_time(c, ICAL_DTEND_PROPERTY), 0);
        for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_FREEBUSY_PROPERTY); p;
             p = icalcomponent_get_next_property(c, ICAL_FREEBUSY_PROPERTY)) {
            struct icalperiodtype per = icalproperty_get_freebusy(p);
            widen_time(b, per.start, 0);
            if (!icaltime_is_null_time(per.end))
                widen_time(b, per.end, 0);
            else
                widen_time(b, per.start, icaldurationtype_as_int(per.duration));
        }
        return;
    }
    comp_span(c, &st, &sp);
    if (kind == ICAL_VTODO_COMPONENT) {
        struct icaltimetype due = prop_time(c, ICAL_DUE_PROPERTY);
        struct icaltimetype co = prop_time(c, ICAL_COMPLETED_PROPERTY);
        struct icaltimetype cr = prop_time(c, ICAL_CREATED_PROPERTY);
        if (icaltime_is_null_time(st) && icaltime_is_null_time(due)) {
            if (icaltime_is_null_time(co) && icaltime_is_null_time(cr)) {
                widen(b, INT64_MIN, INT64_MAX); /* matches every range */
                return;
            }
            if (icaltime_is_null_time(co)) {
                widen(b, INT64_MIN, INT64_MAX); /* CREATED only: any range ending later */
                return;
            }
            widen_time(b, co, 0);
            widen_time(b, cr, 0);
            return;
        }
        widen_time(b, due, 0);
    }
    if (icaltime_is_null_time(st))
        return;
    extra = span_max(&sp);
    widen_time(b, st, extra);
    if (icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY)) {
        widen_time(b, prop_time(c, ICAL_RECURRENCEID_PROPERTY), extra);
        return;
    }
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_RDATE_PROPERTY)) {
        struct icaldatetimeperiodtype dp = icalproperty_get_rdate(p);
        struct icaltimetype t = icaltime_is_null_time(dp.time) ? dp.period.start : dp.time;
        int64_t e = extra;
        if (icaltime_is_null_time(dp.time)) {
            e = icaltime_is_null_time(dp.period.end)
                    ? icaldurationtype_as_int(dp.period.duration)
                    : dav_ical_utc(dp.period.end, NULL) - dav_ical_utc(t, NULL);
            if (e < 0)
                e = 0;
        }
        /* an RDATE's TZID may differ from DTSTART's: a day of slack covers it */
        widen(b, dav_ical_utc(t, NULL) - DAY_SECS, dav_ical_utc(t, NULL) + e + DAY_SECS);
    }
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_RRULE_PROPERTY)) {
        struct icalrecurrencetype r = icalproperty_get_rrule(p);
        if (!icaltime_is_null_time(r.until)) {
            widen_time(b, r.until, extra + DAY_SECS);
        } else if (r.count > 0) {
            /* the last of COUNT instances, if it can be found cheaply */
            icalrecur_iterator *it = icalrecur_iterator_new(r, st);
            long n = 0;
            struct icaltimetype t, lt = icaltime_null_time();
            if (!it) {
                continue;
            }
            while (!icaltime_is_null_time(t = icalrecur_iterator_next(it))) {
                lt = t;
                if (++n > ICAL_BOUND_BUDGET)
                    break;
            }
            icalrecur_iterator_free(it);
            if (n > ICAL_BOUND_BUDGET)
                widen(b, b->lo, INT64_MAX);
            else
                widen_time(b, lt, extra);
        } else {
            widen(b, b->lo, INT64_MAX); /* endless */
        }
    }
}

void dav_ical_info_release(struct dav_ical_info *info)
{
    if (!info)
        return;
    free(info->uid);
    info->uid = NULL;
}

int dav_ical_check_object(icalcomponent *cal, struct dav_ical_info *info, char *err, size_t cap)
{
    icalproperty *ver;
    struct bounds b = {INT64_MAX, INT64_MIN};
    const char *uid = NULL;
    unsigned comp = 0;
    int masters = 0;

    memset(info, 0, sizeof(*info));
    if (icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
        dav_set_err(err, cap, "not a VCALENDAR");
        return MG_EINVAL;
    }
    ver = icalcomponent_get_first_property(cal, ICAL_VERSION_PROPERTY);
    if (!ver || !icalproperty_get_version(ver) ||
        strcmp(icalproperty_get_version(ver), "2.0") != 0) {
        dav_set_err(err, cap, "VCALENDAR needs VERSION:2.0 (RFC 5545 3.7.4)");
        return MG_EINVAL;
    }
    /* RFC 4791 4.1: no METHOD in a calendar collection */
    if (icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY)) {
        dav_set_err(err, cap, "calendar object resources must not carry METHOD (RFC 4791 4.1)");
        return MG_EINVAL;
    }
    for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
        icalcomponent_kind kind = icalcomponent_isa(c);
        unsigned bit = comp_bit(kind);
        const char *u;
        if (kind == ICAL_VTIMEZONE_COMPONENT) {
            if (!icalcomponent_get_first_property(c, ICAL_TZID_PROPERTY)) {
                dav_set_err(err, cap, "VTIMEZONE without TZID");
                return MG_EINVAL;
            }
            continue;
        }
        if (kind == ICAL_X_COMPONENT)
            continue;
        if (!bit) {
            dav_set_err(err, cap, "%s cannot stand in a calendar object (RFC 4791 4.1)",
                        icalcomponent_kind_to_string(kind));
            return MG_EINVAL;
        }
        if (comp && comp != bit) {
            dav_set_err(err, cap,
                        "a calendar object holds one type of component, found %s and %s "
                        "(RFC 4791 4.1)",
                        dav_ical_comp_name(comp), dav_ical_comp_name(bit));
            return MG_EINVAL;
        }
        comp = bit;
        u = icalcomponent_get_uid(c);
        if (!u || !u[0]) {
            dav_set_err(err, cap, "%s without UID (RFC 5545 3.8.4.7)", dav_ical_comp_name(bit));
            return MG_EINVAL;
        }
        if (uid && strcmp(uid, u) != 0) {
            dav_set_err(err, cap, "components with different UIDs in one object (RFC 4791 4.1)");
            return MG_EINVAL;
        }
        uid = u;
        if (!icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY) && ++masters > 1) {
            dav_set_err(err, cap, "two %s components with UID %s and no RECURRENCE-ID",
                        dav_ical_comp_name(bit), u);
            return MG_EINVAL;
        }
        if (kind == ICAL_VEVENT_COMPONENT &&
            icaltime_is_null_time(prop_time(c, ICAL_DTSTART_PROPERTY))) {
            dav_set_err(err, cap, "VEVENT without DTSTART (RFC 5545 3.6.1)");
            return MG_EINVAL;
        }
        comp_bounds(c, &b);
    }
    if (!comp) {
        dav_set_err(err, cap, "no VEVENT, VTODO, VJOURNAL or VFREEBUSY in the VCALENDAR");
        return MG_EINVAL;
    }
    info->uid = mg_strdup(uid);
    if (!info->uid)
        return MG_ENOMEM;
    info->comp = comp;
    info->lo = b.lo;
    info->hi = b.hi;
    return 0;
}
