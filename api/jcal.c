/*
 * jcal.c - iCalendar (RFC 5545) to jCal (RFC 7265) and back.
 *
 *   ["vcalendar", [["version", {}, "text", "2.0"], ...],
 *                 [["vevent", [["dtstart", {"tzid": "Europe/Berlin"}, "date-time",
 *                               "2026-01-02T10:00:00"],
 *                              ["rrule", {}, "recur", {"freq": "WEEKLY", "count": 10}]],
 *                   [["valarm", [...], []]]]]]
 *
 * From text: libical parses (dav_ical_parse, as for CalDAV) and this file
 * walks its components and properties; each value is written in the JSON
 * form of its type (RFC 7265 3.6). Properties libical does not know keep
 * their text with the type "unknown" (RFC 7265 5). libical 3 itself drops
 * the names of X- components, all but the first value of a multi-valued
 * parameter (MEMBER, DELEGATED-TO) and splits multi-valued properties
 * (CATEGORIES:a,b becomes two properties): the meaning survives, not the
 * exact text.
 *
 * To text: the content lines are written here (a VALUE parameter only when
 * the type is not the property's default, RFC 7265 3.5.1) and the result is
 * then checked by the same parser as a CalDAV PUT (objects.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_private.h"
#include "jconv.h"

#define JCAL_DEPTH_MAX 8 /* components nested in components */

/* ---- value types ---------------------------------------------------------------------------- */

/* The RFC 5545 3.3 name of a libical value kind, or NULL for libical's own
 * kinds (enumerations, ATTACH, TRIGGER, ...). */
static const char *rfc_type(icalvalue_kind k)
{
    switch (k) {
    case ICAL_BINARY_VALUE:
    case ICAL_BOOLEAN_VALUE:
    case ICAL_CALADDRESS_VALUE:
    case ICAL_DATE_VALUE:
    case ICAL_DATETIME_VALUE:
    case ICAL_DURATION_VALUE:
    case ICAL_FLOAT_VALUE:
    case ICAL_INTEGER_VALUE:
    case ICAL_PERIOD_VALUE:
    case ICAL_RECUR_VALUE:
    case ICAL_TEXT_VALUE:
    case ICAL_URI_VALUE:
    case ICAL_UTCOFFSET_VALUE:
        return icalvalue_kind_to_string(k);
    default:
        return NULL;
    }
}

/* The jCal type of a libical value kind before looking at the value. */
static const char *kind_type(icalvalue_kind k)
{
    switch (k) {
    case ICAL_X_VALUE:
    case ICAL_NO_VALUE:
        return "unknown";
    case ICAL_DATETIMEPERIOD_VALUE:
        return "DATE-TIME";
    case ICAL_TRIGGER_VALUE:
        return "DURATION";
    case ICAL_ATTACH_VALUE:
        return "URI";
    case ICAL_GEO_VALUE:
        return "FLOAT";
    default:
        return rfc_type(k) ? rfc_type(k) : "TEXT"; /* enumerations, REQUEST-STATUS */
    }
}

/* The default type of property name (RFC 5545 3.7, 3.8; "unknown" for X-
 * and unknown properties), as libical knows it. */
static const char *default_type(const char *name)
{
    icalproperty_kind pk = icalproperty_string_to_kind(name);
    if (pk == ICAL_NO_PROPERTY || pk == ICAL_X_PROPERTY)
        return "unknown";
    return kind_type(icalproperty_kind_to_value_kind(pk));
}

/* The jCal type of a parsed value (lower case, static or in buf). */
static const char *value_type(icalvalue *v, char *buf, size_t cap)
{
    const char *t;
    switch (icalvalue_isa(v)) {
    case ICAL_DATETIMEPERIOD_VALUE: {
        struct icaldatetimeperiodtype dp = icalvalue_get_datetimeperiod(v);
        t = icaltime_is_null_time(dp.time) ? "period" : dp.time.is_date ? "date" : "date-time";
        break;
    }
    case ICAL_DATETIME_VALUE:
        t = icalvalue_get_datetime(v).is_date ? "date" : "date-time";
        break;
    case ICAL_TRIGGER_VALUE:
        t = icaltime_is_null_time(icalvalue_get_trigger(v).time) ? "duration" : "date-time";
        break;
    case ICAL_ATTACH_VALUE:
        t = icalattach_get_is_url(icalvalue_get_attach(v)) ? "uri" : "binary";
        break;
    default:
        t = kind_type(icalvalue_isa(v));
    }
    snprintf(buf, cap, "%s", t);
    return api_jconv_lower(buf);
}

/* ---- iCalendar to jCal ---------------------------------------------------------------------- */

/* RFC 7265 3.6.4, 3.6.5: "2026-01-02", "2026-01-02T10:00:00Z". */
static json_t *time_json(struct icaltimetype t)
{
    char s[40];
    if (t.is_date)
        snprintf(s, sizeof(s), "%04d-%02d-%02d", t.year, t.month, t.day);
    else
        snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d%s", t.year, t.month, t.day, t.hour,
                 t.minute, t.second, icaltime_is_utc(t) ? "Z" : "");
    return json_string(s);
}

/* RFC 7265 3.6.9: [start, end] or [start, duration]. */
static json_t *period_json(struct icalperiodtype p)
{
    json_t *end = icaltime_is_null_time(p.end)
                      ? json_string(icaldurationtype_as_ical_string(p.duration))
                      : time_json(p.end);
    return json_pack("[o, o]", time_json(p.start), end);
}

/* RFC 7265 3.6.14: "-05:00", "+05:30:20". */
static json_t *offset_json(int secs)
{
    char s[16];
    int a = secs < 0 ? -secs : secs;
    if (a % 60)
        snprintf(s, sizeof(s), "%c%02d:%02d:%02d", secs < 0 ? '-' : '+', a / 3600, a / 60 % 60,
                 a % 60);
    else
        snprintf(s, sizeof(s), "%c%02d:%02d", secs < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    return json_string(s);
}

/* 1 for recurrence rule parts whose values are integers (RFC 7265 3.6.10). */
static int recur_numeric(const char *key)
{
    static const char *const keys[] = {"count",   "interval",   "bysecond",  "byminute",
                                       "byhour",  "bymonthday", "byyearday", "byweekno",
                                       "bymonth", "bysetpos",   NULL};
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

/* One value of a rule part: a number where it is one, UNTIL in extended form. */
static json_t *recur_part_value(const char *key, const char *v)
{
    if (recur_numeric(key)) {
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*v && !*end)
            return json_integer(n);
    }
    if (strcmp(key, "until") == 0) {
        struct buf b;
        json_t *j;
        buf_init(&b);
        j = api_jconv_to_extended(&b, v, 0) ? NULL : json_string(b.data);
        buf_release(&b);
        return j;
    }
    return json_string(v);
}

/* RFC 7265 3.6.10: "FREQ=WEEKLY;BYDAY=MO,WE" as {"freq": "WEEKLY", "byday": ["MO", "WE"]}. */
static json_t *recur_json(const char *rule)
{
    json_t *o = json_object();
    char *copy = mg_strdup(rule), *save = NULL;
    for (char *part = copy ? strtok_r(copy, ";", &save) : NULL; part && o;
         part = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(part, '=');
        if (!eq)
            continue;
        *eq = '\0';
        api_jconv_lower(part);
        json_t *vals = json_array();
        char *vsave = NULL;
        for (char *v = strtok_r(eq + 1, ",", &vsave); v && vals; v = strtok_r(NULL, ",", &vsave)) {
            if (json_array_append_new(vals, recur_part_value(part, v))) {
                json_decref(vals);
                vals = NULL;
            }
        }
        /* one value stands alone, several make an array */
        json_t *val = json_incref(json_array_size(vals) == 1 ? json_array_get(vals, 0) : vals);
        json_decref(vals);
        if (!val || json_object_set_new(o, part, val)) {
            json_decref(o);
            o = NULL;
        }
    }
    free(copy);
    return o;
}

/* Appends the JSON value(s) of v (its libical kind decides the form). */
static int value_json(icalvalue *v, json_t *jp)
{
    json_t *x;
    switch (icalvalue_isa(v)) {
    case ICAL_TEXT_VALUE:
        x = json_string(icalvalue_get_text(v));
        break;
    case ICAL_DATE_VALUE:
    case ICAL_DATETIME_VALUE:
        x = time_json(icalvalue_get_datetime(v));
        break;
    case ICAL_DATETIMEPERIOD_VALUE: {
        struct icaldatetimeperiodtype dp = icalvalue_get_datetimeperiod(v);
        x = icaltime_is_null_time(dp.time) ? period_json(dp.period) : time_json(dp.time);
        break;
    }
    case ICAL_PERIOD_VALUE:
        x = period_json(icalvalue_get_period(v));
        break;
    case ICAL_DURATION_VALUE:
        x = json_string(icaldurationtype_as_ical_string(icalvalue_get_duration(v)));
        break;
    case ICAL_TRIGGER_VALUE: {
        struct icaltriggertype t = icalvalue_get_trigger(v);
        x = icaltime_is_null_time(t.time) ? json_string(icaldurationtype_as_ical_string(t.duration))
                                          : time_json(t.time);
        break;
    }
    case ICAL_RECUR_VALUE:
        x = recur_json(icalvalue_as_ical_string(v));
        break;
    case ICAL_UTCOFFSET_VALUE:
        x = offset_json(icalvalue_get_utcoffset(v));
        break;
    case ICAL_INTEGER_VALUE:
        x = json_integer(icalvalue_get_integer(v));
        break;
    case ICAL_FLOAT_VALUE:
        x = json_real(icalvalue_get_float(v));
        break;
    case ICAL_BOOLEAN_VALUE:
        x = json_boolean(icalvalue_get_boolean(v));
        break;
    case ICAL_GEO_VALUE: /* RFC 7265 3.4.1.3: a structured value */
        x = json_pack("[f, f]", icalvalue_get_geo(v).lat, icalvalue_get_geo(v).lon);
        break;
    case ICAL_REQUESTSTATUS_VALUE: {
        /* a structured text: code;description[;data] */
        const char *s = icalvalue_as_ical_string(v);
        x = json_array();
        for (const char *p = s; x && p;) {
            const char *semi = strchr(p, ';');
            json_array_append_new(x, json_stringn(p, semi ? (size_t)(semi - p) : strlen(p)));
            p = semi ? semi + 1 : NULL;
        }
        break;
    }
    case ICAL_ATTACH_VALUE: {
        icalattach *a = icalvalue_get_attach(v);
        x = json_string(icalattach_get_is_url(a) ? icalattach_get_url(a)
                                                 : (const char *)icalattach_get_data(a));
        break;
    }
    default: /* URI, CAL-ADDRESS, BINARY, enumerations, and X- values as text */
        x = json_string(icalvalue_as_ical_string(v));
    }
    return !x || json_array_append_new(jp, x) ? MG_ENOMEM : 0;
}

/* The name and value of a parameter into (malloc'd) name and value. */
static int param_text(icalparameter *par, char **name, char **value)
{
    icalparameter_kind k = icalparameter_isa(par);
    const char *n = k == ICAL_X_PARAMETER      ? icalparameter_get_xname(par)
                    : k == ICAL_IANA_PARAMETER ? icalparameter_get_iana_name(par)
                                               : icalparameter_kind_to_string(k);
    const char *v = k == ICAL_IANA_PARAMETER ? icalparameter_get_iana_value(par)
                                             : icalparameter_get_xvalue(par);
    *name = mg_strdup(n ? n : "X-UNKNOWN");
    if (v) {
        *value = mg_strdup(v);
    } else {
        /* an enumerated parameter: "PARTSTAT=ACCEPTED" */
        const char *s = icalparameter_as_ical_string(par);
        const char *eq = s ? strchr(s, '=') : NULL;
        *value = mg_strdup(eq ? eq + 1 : "");
    }
    return *name && *value ? 0 : MG_ENOMEM;
}

/* The params object of a property (VALUE left out: the type says it). */
static json_t *params_json(icalproperty *p)
{
    struct dav_vcard_param pm[64];
    char *one[64];
    size_t n = 0;
    json_t *o = NULL;
    int rc = 0;

    for (icalparameter *par = icalproperty_get_first_parameter(p, ICAL_ANY_PARAMETER);
         par && n < 64 && !rc; par = icalproperty_get_next_parameter(p, ICAL_ANY_PARAMETER)) {
        if (icalparameter_isa(par) == ICAL_VALUE_PARAMETER)
            continue;
        rc = param_text(par, &pm[n].name, &one[n]);
        if (!rc && !api_jconv_name_ok(pm[n].name)) {
            /* a name libical let through that jCal cannot carry back */
            free(pm[n].name);
            free(one[n]);
            continue;
        }
        pm[n].values = &one[n];
        pm[n].nvalues = 1;
        n++;
    }
    if (!rc)
        o = api_jconv_params_json(pm, n, NULL);
    for (size_t i = 0; i < n; i++) {
        free(pm[i].name);
        free(one[i]);
    }
    return o;
}

static json_t *prop_json(icalproperty *p)
{
    icalvalue *v = icalproperty_get_value(p);
    char *name = mg_strdup(icalproperty_get_property_name(p));
    char type[32];
    json_t *params = params_json(p);
    json_t *jp = NULL;

    if (name && params && v)
        jp = json_pack("[s, O, s]", api_jconv_lower(name), params,
                       value_type(v, type, sizeof(type)));
    if (jp && value_json(v, jp)) {
        json_decref(jp);
        jp = NULL;
    }
    json_decref(params);
    free(name);
    return jp;
}

static json_t *comp_json(icalcomponent *c)
{
    icalcomponent_kind k = icalcomponent_isa(c);
    char *name = mg_strdup(icalcomponent_kind_to_string(k));
    json_t *props = json_array(), *comps = json_array();
    json_t *jc = NULL;
    int ok = name && props && comps;

    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p && ok;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
        /* libical takes X- names of any characters; jCal names are
         * letters, digits, '-' and '_' (they could not be written back) */
        const char *pn = icalproperty_get_property_name(p);
        if (pn && api_jconv_name_ok(pn))
            ok = json_array_append_new(props, prop_json(p)) == 0;
    }
    for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s && ok;
         s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
        /* libical 3 keeps no name for an X- component: it cannot be given back */
        if (icalcomponent_isa(s) != ICAL_X_COMPONENT)
            ok = json_array_append_new(comps, comp_json(s)) == 0;
    }
    if (ok)
        jc = json_pack("[s, O, O]", api_jconv_lower(name), props, comps);
    json_decref(props);
    json_decref(comps);
    free(name);
    return jc;
}

int api_jcal_from_component(icalcomponent *cal, json_t **out, char *err, size_t cap)
{
    *out = comp_json(cal);
    if (!*out)
        snprintf(err, cap, "out of memory");
    return *out ? 0 : MG_ENOMEM;
}

int api_jcal_from_ical(const char *text, size_t len, json_t **out, char *err, size_t cap)
{
    icalcomponent *cal = NULL;
    int rc = dav_ical_parse(text, len, &cal, err, cap);

    *out = NULL;
    if (rc)
        return rc;
    rc = api_jcal_from_component(cal, out, err, cap);
    icalcomponent_free(cal);
    return rc;
}

/* ---- jCal to iCalendar ---------------------------------------------------------------------- */

static int put_value(struct buf *out, const char *type, const json_t *v, int depth);

/* Appends one value of a rule part: UNTIL in basic form, other texts as they
 * are if they cannot break the rule's syntax, numbers. */
static int put_recur_value(struct buf *out, const char *key, const json_t *x)
{
    if (json_is_string(x) && strcasecmp(key, "until") == 0)
        return api_jconv_to_basic(out, json_string_value(x));
    if (json_is_string(x))
        return strpbrk(json_string_value(x), ";,=\n\r") ? MG_EINVAL
                                                        : buf_puts(out, json_string_value(x));
    return api_jconv_scalar(out, x);
}

/* Appends "KEY=v1,v2" of one rule part (v a value or an array of values). */
static int put_recur_part(struct buf *out, const char *key, const json_t *v)
{
    const json_t *list = json_is_array(v) ? v : NULL;
    size_t n = list ? json_array_size(list) : 1;
    int rc = api_jconv_name_ok(key) && n ? 0 : MG_EINVAL;

    rc = rc ? rc : api_jconv_put_upper(out, key);
    rc = rc ? rc : buf_putc(out, '=');
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_putc(out, ',');
        if (!rc)
            rc = put_recur_value(out, key, list ? json_array_get(list, i) : v);
    }
    return rc;
}

/* RFC 7265 3.6.10: the rule parts of a recur object, FREQ first. */
static int put_recur(struct buf *out, const json_t *o)
{
    const json_t *freq = json_object_get(o, "freq");
    const char *key;
    json_t *v;
    int rc = freq ? put_recur_part(out, "freq", freq) : MG_EINVAL;

    json_object_foreach((json_t *)o, key, v)
    {
        if (rc || strcasecmp(key, "freq") == 0)
            continue;
        rc = buf_putc(out, ';');
        if (!rc)
            rc = put_recur_part(out, key, v);
    }
    return rc;
}

/* RFC 7265 3.6.9: a period [start, end or duration]. */
static int put_period(struct buf *out, const json_t *a)
{
    const char *s = json_string_value(json_array_get(a, 0));
    const char *e = json_string_value(json_array_get(a, 1));
    if (json_array_size(a) != 2 || !s || !e)
        return MG_EINVAL;
    int rc = api_jconv_to_basic(out, s);
    if (!rc)
        rc = buf_putc(out, '/');
    if (!rc)
        rc = strchr(e, 'P') ? buf_puts(out, e) : api_jconv_to_basic(out, e);
    return rc;
}

static int put_joined(struct buf *out, const char *type, const json_t *a, char sep, int depth)
{
    int rc = 0;
    for (size_t i = 0; i < json_array_size(a) && !rc; i++) {
        if (i)
            rc = buf_putc(out, sep);
        if (!rc)
            rc = put_value(out, type, json_array_get(a, i), depth + 1);
    }
    return rc;
}

/* Appends one value in its text form. */
static int put_value(struct buf *out, const char *type, const json_t *v, int depth)
{
    static const char *const datetimes[] = {"date", "date-time", "time", "utc-offset", NULL};
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(type, "text") == 0)
            return api_jconv_escape(out, s);
        for (size_t i = 0; datetimes[i]; i++)
            if (strcmp(type, datetimes[i]) == 0)
                return api_jconv_to_basic(out, s);
        return buf_puts(out, s);
    }
    if (json_is_object(v) && strcmp(type, "recur") == 0 && depth == 0)
        return put_recur(out, v);
    if (json_is_array(v) && strcmp(type, "period") == 0 && depth == 0)
        return put_period(out, v);
    if (json_is_array(v) && depth < 2)
        return put_joined(out, type, v, depth == 0 ? ';' : ',', depth);
    return api_jconv_scalar(out, v);
}

/* Writes one jCal property as a content line. */
static int put_prop(struct buf *out, const json_t *v, const char *where, char *err, size_t cap)
{
    struct dav_vcard_prop prop;
    struct api_jprop jp;
    struct buf val;
    char type[API_JCONV_NAME_MAX + 1];
    int rc = api_jprop_read(v, where, &jp, err, cap);

    if (rc)
        return rc;
    if (!strcasecmp(jp.name, "begin") || !strcasecmp(jp.name, "end")) {
        snprintf(err, cap, "%s: BEGIN and END are not properties (components are arrays)", where);
        return MG_EINVAL;
    }
    memset(&prop, 0, sizeof(prop));
    buf_init(&val);
    rc = api_jconv_params(&jp, &prop, NULL, err, cap);
    prop.name = rc ? NULL : mg_strdup(jp.name);
    if (!rc && !prop.name)
        rc = MG_ENOMEM;
    if (prop.name)
        api_jconv_upper(prop.name);
    snprintf(type, sizeof(type), "%s", jp.type);
    /* RFC 7265 3.5.1: VALUE only when the type is not the property's default */
    if (!rc && strcmp(type, "unknown") != 0 && strcasecmp(type, default_type(prop.name)) != 0) {
        rc = api_jconv_add_param(&prop, "VALUE", api_jconv_upper(type));
        api_jconv_lower(type);
    }
    rc = rc ? rc : buf_append(&val, "", 0);
    for (size_t i = 3; i < json_array_size(jp.prop) && !rc; i++) {
        if (i > 3)
            rc = buf_putc(&val, ',');
        if (!rc)
            rc = put_value(&val, type, json_array_get(jp.prop, i), 0);
    }
    if (rc == MG_EINVAL)
        snprintf(err, cap, "%s (%s): a value does not fit the type \"%s\" (RFC 7265 3.6)", where,
                 jp.name, jp.type);
    if (!rc) {
        prop.value = val.data;
        val.data = NULL;
        rc = dav_vcard_write_prop(out, &prop); /* the content-line syntax is the vCard one */
    }
    buf_release(&val);
    dav_vcard_prop_release(&prop);
    return rc;
}

static int put_comp(struct buf *out, const json_t *c, const char *where, int depth, char *err,
                    size_t cap)
{
    const char *name = json_string_value(json_array_get(c, 0));
    const json_t *props = json_array_get(c, 1), *comps = json_array_get(c, 2);
    char sub[64];
    int rc;

    if (!json_is_array(c) || json_array_size(c) != 3 || !name || !api_jconv_name_ok(name) ||
        !json_is_array(props) || !json_is_array(comps)) {
        snprintf(err, cap, "%s must be [name, [properties], [components]] (RFC 7265 3.3)", where);
        return MG_EINVAL;
    }
    if (depth > JCAL_DEPTH_MAX) {
        snprintf(err, cap, "components nested deeper than %d", JCAL_DEPTH_MAX);
        return MG_EINVAL;
    }
    rc = buf_puts(out, "BEGIN:");
    rc = rc ? rc : api_jconv_put_upper(out, name);
    rc = rc ? rc : buf_puts(out, "\r\n");
    for (size_t i = 0; i < json_array_size(props) && !rc; i++) {
        snprintf(sub, sizeof(sub), "%s property %zu", name, i);
        rc = put_prop(out, json_array_get(props, i), sub, err, cap);
    }
    for (size_t i = 0; i < json_array_size(comps) && !rc; i++) {
        snprintf(sub, sizeof(sub), "%s component %zu", name, i);
        rc = put_comp(out, json_array_get(comps, i), sub, depth + 1, err, cap);
    }
    rc = rc ? rc : buf_puts(out, "END:");
    rc = rc ? rc : api_jconv_put_upper(out, name);
    return rc ? rc : buf_puts(out, "\r\n");
}

int api_jcal_to_ical(const json_t *jcal, struct buf *out, char *err, size_t cap)
{
    const char *name = json_string_value(json_array_get(jcal, 0));
    if (!json_is_array(jcal) || !name || strcasecmp(name, "vcalendar") != 0) {
        snprintf(err, cap,
                 "a jCal object is [\"vcalendar\", [properties], [components]] "
                 "(RFC 7265 3.2)");
        return MG_EINVAL;
    }
    return put_comp(out, jcal, "the vcalendar", 0, err, cap);
}

/* ---- UIDs ----------------------------------------------------------------------------------- */

/* The uid property of a component array, or NULL. */
static const json_t *comp_uid(const json_t *comp)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_array_get(comp, 1), i, p)
    {
        const char *n = json_string_value(json_array_get(p, 0));
        if (n && strcasecmp(n, "uid") == 0)
            return p;
    }
    return NULL;
}

static int needs_uid(const json_t *comp)
{
    static const char *const kinds[] = {"vevent", "vtodo", "vjournal", "vfreebusy", NULL};
    const char *n = json_string_value(json_array_get(comp, 0));
    for (size_t i = 0; n && kinds[i]; i++)
        if (strcasecmp(n, kinds[i]) == 0)
            return 1;
    return 0;
}

const char *api_jcal_uid(const json_t *jcal)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_array_get(jcal, 2), i, c)
    {
        const json_t *p = needs_uid(c) ? comp_uid(c) : NULL;
        if (p && json_string_value(json_array_get(p, 3)))
            return json_string_value(json_array_get(p, 3));
    }
    return NULL;
}

int api_jcal_set_uid(json_t *jcal, const char *uid)
{
    json_t *comps = json_array_get(jcal, 2);
    size_t i;
    json_t *c;

    if (!json_is_array(jcal) || !json_is_array(comps))
        return MG_EINVAL;
    json_array_foreach(comps, i, c)
    {
        json_t *props = json_array_get(c, 1);
        if (!needs_uid(c) || !json_is_array(props) || comp_uid(c))
            continue;
        if (json_array_append_new(props, json_pack("[s, {}, s, s]", "uid", "text", uid)))
            return MG_ENOMEM;
    }
    return 0;
}
