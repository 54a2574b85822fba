/*
 * jconv.c - what jCard (RFC 7095) and jCal (RFC 7265) share: a property is
 * [name, params, type, value...] in both (RFC 7095 3.3, RFC 7265 3.4), with
 * parameters as a JSON object (RFC 7095 3.4, RFC 7265 3.5) and date and time
 * values in ISO 8601 extended form (RFC 7095 3.5, RFC 7265 3.6).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "jconv.h"

#define JCONV_PARAMS_MAX 100
#define JCONV_PARAM_VALUES_MAX 100

char *api_jconv_lower(char *s)
{
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

char *api_jconv_upper(char *s)
{
    for (char *p = s; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return s;
}

int api_jconv_put_upper(struct buf *out, const char *s)
{
    int rc = 0;
    for (; *s && !rc; s++)
        rc = buf_putc(out, (char)toupper((unsigned char)*s));
    return rc;
}

int api_jconv_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > API_JCONV_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

int api_jconv_type_ok(const char *s)
{
    if (!*s || strlen(s) > API_JCONV_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
            return 0;
    return 1;
}

/* 1 when a JSON string is text a content line can carry: valid UTF-8, no NUL,
 * no control characters but tab and newline (escaped when written). */
static int text_ok(const json_t *s)
{
    const char *v = json_string_value(s);
    size_t n = json_string_length(s);
    if (strlen(v) != n || !api_utf8_valid(v, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return 0;
    }
    return 1;
}

int api_jprop_read(const json_t *v, const char *where, struct api_jprop *p, char *err, size_t cap)
{
    if (!json_is_array(v) || json_array_size(v) < 4) {
        snprintf(err, cap, "%s must be an array [name, {parameters}, type, value...]", where);
        return MG_EINVAL;
    }
    p->prop = v;
    p->name = json_string_value(json_array_get(v, 0));
    p->params = json_array_get(v, 1);
    p->type = json_string_value(json_array_get(v, 2));
    if (!p->name || !api_jconv_name_ok(p->name)) {
        snprintf(err, cap, "%s: the name must be letters, digits, '-' and '_'", where);
        return MG_EINVAL;
    }
    if (!json_is_object(p->params)) {
        snprintf(err, cap, "%s (%s): the parameters must be an object", where, p->name);
        return MG_EINVAL;
    }
    if (!p->type || !api_jconv_type_ok(p->type)) {
        snprintf(err, cap, "%s (%s): the type must be a lower-case value type name", where,
                 p->name);
        return MG_EINVAL;
    }
    for (size_t i = 3; i < json_array_size(v); i++) {
        const json_t *x = json_array_get(v, i);
        if (json_is_string(x) && !text_ok(x)) {
            snprintf(err, cap, "%s (%s): a value holds control characters or invalid UTF-8", where,
                     p->name);
            return MG_EINVAL;
        }
    }
    return 0;
}

/* ---- parameters ----------------------------------------------------------------------------- */

/* Adds the values of v (a string or an array of strings) to pm. */
static int param_values(const json_t *v, struct dav_vcard_param *pm)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (n == 0 || n > JCONV_PARAM_VALUES_MAX)
        return MG_EINVAL;
    pm->values = calloc(n, sizeof(*pm->values));
    if (!pm->values)
        return MG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(s) || !text_ok(s))
            return MG_EINVAL;
        pm->values[i] = mg_strdup(json_string_value(s));
        if (!pm->values[i])
            return MG_ENOMEM;
        pm->nvalues++;
    }
    return 0;
}

int api_jconv_params(const struct api_jprop *p, struct dav_vcard_prop *prop, const char **group,
                     char *err, size_t cap)
{
    const char *key;
    json_t *v;
    size_t n = json_object_size(p->params);

    if (group)
        *group = NULL;
    if (n > JCONV_PARAMS_MAX) {
        snprintf(err, cap, "%s: more than %d parameters", p->name, JCONV_PARAMS_MAX);
        return MG_EINVAL;
    }
    prop->params = calloc(n + 1, sizeof(*prop->params)); /* room for a VALUE */
    if (!prop->params)
        return MG_ENOMEM;
    json_object_foreach((json_t *)p->params, key, v)
    {
        if (!api_jconv_name_ok(key)) {
            snprintf(err, cap, "%s: parameter names are letters, digits, '-' and '_'", p->name);
            return MG_EINVAL;
        }
        if (strcasecmp(key, "value") == 0)
            continue; /* RFC 7265 3.5.1, RFC 7095 3.4: the type element says it */
        if (group && strcasecmp(key, "group") == 0) {
            *group = json_string_value(v);
            if (!*group || !api_jconv_name_ok(*group)) {
                snprintf(err, cap, "%s: \"group\" must be letters, digits, '-' and '_'", p->name);
                return MG_EINVAL;
            }
            continue;
        }
        struct dav_vcard_param *pm = &prop->params[prop->nparams++];
        pm->name = mg_strdup(key);
        if (!pm->name)
            return MG_ENOMEM;
        api_jconv_upper(pm->name);
        int rc = param_values(v, pm);
        if (rc == MG_EINVAL)
            snprintf(err, cap, "%s: parameter \"%s\" must be text or an array of at most %d texts",
                     p->name, key, JCONV_PARAM_VALUES_MAX);
        if (rc)
            return rc;
    }
    return 0;
}

int api_jconv_add_param(struct dav_vcard_prop *prop, const char *name, const char *value)
{
    struct dav_vcard_param *pm = &prop->params[prop->nparams];
    memset(pm, 0, sizeof(*pm));
    pm->name = mg_strdup(name);
    pm->values = malloc(sizeof(*pm->values));
    if (pm->values)
        pm->values[0] = mg_strdup(value);
    if (!pm->name || !pm->values || !pm->values[0]) {
        free(pm->name);
        if (pm->values)
            free(pm->values[0]);
        free(pm->values);
        return MG_ENOMEM;
    }
    pm->nvalues = 1;
    prop->nparams++;
    return 0;
}

json_t *api_jconv_params_json(const struct dav_vcard_param *params, size_t n, const char *group)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        const struct dav_vcard_param *pm = &params[i];
        if (strcasecmp(pm->name, "VALUE") == 0 || pm->nvalues == 0)
            continue;
        char *key = mg_strdup(pm->name);
        json_t *had = key ? json_object_get(o, api_jconv_lower(key)) : NULL;
        json_t *v = pm->nvalues == 1 && !had ? json_string(pm->values[0]) : json_array();
        /* TYPE=work;TYPE=voice is TYPE=work,voice (RFC 6350 5) */
        if (had && json_is_array(had))
            json_array_extend(v, had);
        else if (had)
            json_array_append(v, had);
        for (size_t k = 0; json_is_array(v) && k < pm->nvalues; k++)
            json_array_append_new(v, json_string(pm->values[k]));
        if (!key || !v || json_object_set_new(o, key, v)) {
            free(key);
            json_decref(o);
            return NULL;
        }
        free(key);
    }
    if (o && group && json_object_set_new(o, "group", json_string(group))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- values --------------------------------------------------------------------------------- */

int api_jconv_escape(struct buf *out, const char *s)
{
    int rc = buf_append(out, "", 0);
    for (; *s && !rc; s++) {
        switch (*s) {
        case '\\':
        case ',':
        case ';':
            rc = buf_putc(out, '\\') || buf_putc(out, *s) ? MG_ENOMEM : 0;
            break;
        case '\n':
            rc = buf_puts(out, "\\n");
            break;
        case '\r':
            break;
        default:
            rc = buf_putc(out, *s);
        }
    }
    return rc;
}

int api_jconv_scalar(struct buf *out, const json_t *v)
{
    if (json_is_integer(v))
        return buf_printf(out, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return buf_printf(out, "%.15g", json_real_value(v));
    if (json_is_boolean(v))
        return buf_puts(out, json_is_true(v) ? "TRUE" : "FALSE");
    return MG_EINVAL;
}

/* Length of the leading run of c in s. */
static size_t run_of(const char *s, char c)
{
    size_t n = 0;
    while (s[n] == c)
        n++;
    return n;
}

/* Appends s[0..n) without the character c. */
static int put_without(struct buf *out, const char *s, size_t n, char c)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (s[i] != c)
            rc = buf_putc(out, s[i]);
    return rc;
}

int api_jconv_to_basic(struct buf *out, const char *v)
{
    const char *t = strchr(v, 'T');
    const char *time = t ? t + 1 : NULL;
    size_t dlen = t ? (size_t)(t - v) : strlen(v);
    int rc = buf_append(out, "", 0);

    if (!t && strchr(v, ':')) {
        time = v; /* a time alone ("10:22", "-22:00") or a UTC offset ("+05:30") */
        dlen = 0;
    }
    if (dlen == 7 && v[4] == '-' && v[0] != '-') {
        rc = buf_append(out, v, dlen); /* "YYYY-MM" has no basic form */
    } else if (!rc) {
        /* a reduced date keeps its leading "--" or "---" */
        size_t lead = run_of(v, '-');
        lead = lead < dlen ? lead : dlen;
        rc = buf_append(out, v, lead);
        if (!rc)
            rc = put_without(out, v + lead, dlen - lead, '-');
    }
    if (!rc && t)
        rc = buf_putc(out, 'T');
    /* a time: ':' out; a leading '-' (hour left out) and the zone's sign stay */
    if (!rc && time)
        rc = put_without(out, time, strlen(time), ':');
    return rc;
}

/* Appends the digits at *s in pairs joined by ':' and moves *s past them. */
static int put_pairs(struct buf *out, const char **s)
{
    int rc = 0;
    size_t i = 0;
    for (; isdigit((unsigned char)(*s)[i]) && !rc; i++) {
        if (i && i % 2 == 0)
            rc = buf_putc(out, ':');
        if (!rc)
            rc = buf_putc(out, (*s)[i]);
    }
    *s += i;
    return rc;
}

/* Appends the extended form of a basic time ("102200-0800", "-2200", "+0530"). */
static int time_extended(struct buf *out, const char *s)
{
    size_t lead = run_of(s, '-');
    int rc = buf_append(out, s, lead);
    s += lead;
    if (!rc)
        rc = put_pairs(out, &s);
    if (!rc && (*s == '+' || *s == '-')) {
        rc = buf_putc(out, *s++);
        if (!rc)
            rc = put_pairs(out, &s);
    }
    return rc ? rc : buf_puts(out, s); /* "Z", or whatever was not understood */
}

/* Appends the extended form of a basic date ("19850412", "--0412"). */
static int date_extended(struct buf *out, const char *s, size_t n)
{
    if (n == 8 && s[0] != '-')
        return buf_printf(out, "%.4s-%.2s-%.2s", s, s + 4, s + 6);
    if (n == 6 && strncmp(s, "--", 2) == 0 && s[2] != '-')
        return buf_printf(out, "--%.2s-%.2s", s + 2, s + 4);
    return buf_append(out, s, n);
}

int api_jconv_to_extended(struct buf *out, const char *v, int is_time)
{
    const char *t = strchr(v, 'T');
    int rc;

    if (strchr(v, ':') || (v[0] && strchr(v + 1, '-') && !is_time && !t && v[0] != '-'))
        return buf_puts(out, v); /* extended already */
    if (is_time)
        return time_extended(out, v);
    rc = date_extended(out, v, t ? (size_t)(t - v) : strlen(v));
    if (!rc && t)
        rc = buf_putc(out, 'T') ? MG_ENOMEM : time_extended(out, t + 1);
    return rc;
}
