/*
 * jcard.c - vCard text (RFC 6350, and 3.0 of RFC 2426) to jCard (RFC 7095)
 * and back, over the vCard parser and content-line writer of dav/vcard.c.
 *
 *   ["vcard", [["version", {}, "text", "4.0"],
 *              ["n", {}, "text", ["Doe", "Jane", "", "", ["M.D.", "Ph.D."]]],
 *              ["email", {"group": "item1", "type": ["work", "pref"]}, "text", "j@x"]]]
 *
 * The type of a property is its VALUE parameter, else its default type
 * (RFC 6350 6; "unknown" for properties this table does not know, whose value
 * is then kept as the text it was, RFC 7095 5). Going back, VALUE is written
 * only when the type is not the default, so text -> jCard -> text keeps what
 * a client wrote. Dates and times of a 4.0 vCard are converted between basic
 * and extended form (RFC 7095 3.5); a 3.0 vCard keeps its own forms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_private.h"
#include "jconv.h"

#define JCARD_PROPS_MAX 10000

/* RFC 6350 6 (and RFC 6474, RFC 6715, RFC 2426): default value types. */
static const struct {
    const char *name;
    const char *type;
} card_types[] = {
    {"ADR", "text"},
    {"ANNIVERSARY", "date-and-or-time"},
    {"BDAY", "date-and-or-time"},
    {"BIRTHPLACE", "text"},
    {"CALADRURI", "uri"},
    {"CALURI", "uri"},
    {"CATEGORIES", "text"},
    {"CLASS", "text"},
    {"CLIENTPIDMAP", "text"},
    {"DEATHDATE", "date-and-or-time"},
    {"DEATHPLACE", "text"},
    {"EMAIL", "text"},
    {"EXPERTISE", "text"},
    {"FBURL", "uri"},
    {"FN", "text"},
    {"GENDER", "text"},
    {"GEO", "uri"},
    {"HOBBY", "text"},
    {"IMPP", "uri"},
    {"INTEREST", "text"},
    {"KEY", "uri"},
    {"KIND", "text"},
    {"LABEL", "text"},
    {"LANG", "language-tag"},
    {"LOGO", "uri"},
    {"MAILER", "text"},
    {"MEMBER", "uri"},
    {"N", "text"},
    {"NAME", "text"},
    {"NICKNAME", "text"},
    {"NOTE", "text"},
    {"ORG", "text"},
    {"ORG-DIRECTORY", "uri"},
    {"PHOTO", "uri"},
    {"PRODID", "text"},
    {"PROFILE", "text"},
    {"RELATED", "uri"},
    {"REV", "timestamp"},
    {"ROLE", "text"},
    {"SORT-STRING", "text"},
    {"SOUND", "uri"},
    {"SOURCE", "uri"},
    {"TEL", "text"},
    {"TITLE", "text"},
    {"TZ", "text"},
    {"UID", "uri"},
    {"URL", "uri"},
    {"VERSION", "text"},
    {"XML", "text"},
};

static const char *default_type(const char *name)
{
    for (size_t i = 0; i < sizeof(card_types) / sizeof(card_types[0]); i++)
        if (strcasecmp(card_types[i].name, name) == 0)
            return card_types[i].type;
    return "unknown";
}

static int name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcasecmp(name, *list) == 0)
            return 1;
    return 0;
}

/* RFC 7095 3.3.1.3: structured values (components split at ';'), and those
 * whose components are lists themselves (split at ','). */
static const char *const structured[] = {"N", "ADR", "ORG", "GENDER", "CLIENTPIDMAP", NULL};
static const char *const listed_components[] = {"N", "ADR", NULL};
/* RFC 7095 3.3.1.2: multi-valued properties (values split at ','). */
static const char *const multi_valued[] = {"CATEGORIES", "NICKNAME", NULL};

static int is_datetime_type(const char *type)
{
    static const char *const t[] = {"date", "date-time", "date-and-or-time", "timestamp", NULL};
    return name_in(type, t);
}

static int is_time_type(const char *type)
{
    return strcmp(type, "time") == 0 || strcmp(type, "utc-offset") == 0;
}

/* ---- vCard to jCard ------------------------------------------------------------------------- */

/* The parts of s split at sep where it is not escaped, each still escaped. */
static json_t *split_raw(const char *s, char sep)
{
    json_t *parts = json_array();
    const char *start = s;
    for (const char *p = s; parts; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == sep || !*p) {
            if (json_array_append_new(parts, json_stringn(start, (size_t)(p - start)))) {
                json_decref(parts);
                return NULL;
            }
            if (!*p)
                break;
            start = p + 1;
        }
    }
    return parts;
}

static json_t *unescaped(const char *s)
{
    char *u = dav_vcard_unescape(s);
    json_t *v = u ? json_string(u) : NULL;
    free(u);
    return v;
}

/* A list of escaped parts as unescaped strings: an array, or one string when
 * single is set and there is one part. */
static json_t *unescape_all(const json_t *parts, int single)
{
    if (single && json_array_size(parts) == 1)
        return unescaped(json_string_value(json_array_get(parts, 0)));
    json_t *a = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(parts, i, x)
    {
        if (!a || json_array_append_new(a, unescaped(json_string_value(x)))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Appends the value(s) of a text property to jp. */
static int text_values(const struct dav_vcard_prop *p, json_t *jp)
{
    json_t *parts, *v = NULL;
    int rc = 0;

    if (name_in(p->name, structured)) {
        /* one value: an array of components, each maybe a list */
        parts = split_raw(p->value, ';');
        if (parts && json_array_size(parts) == 1 && !name_in(p->name, listed_components)) {
            v = unescaped(p->value); /* "ORG:Acme" stays a string */
            json_decref(parts);
            return !v || json_array_append_new(jp, v) ? MG_ENOMEM : 0;
        }
        v = json_array();
        for (size_t i = 0; parts && v && i < json_array_size(parts) && !rc; i++) {
            const char *c = json_string_value(json_array_get(parts, i));
            json_t *comp;
            if (name_in(p->name, listed_components)) {
                json_t *sub = split_raw(c, ',');
                comp = sub ? unescape_all(sub, 1) : NULL;
                json_decref(sub);
            } else {
                comp = unescaped(c);
            }
            if (!comp || json_array_append_new(v, comp))
                rc = MG_ENOMEM;
        }
        json_decref(parts);
        if (!parts || !v || rc || json_array_append_new(jp, v))
            return MG_ENOMEM;
        return 0;
    }
    if (name_in(p->name, multi_valued)) {
        parts = split_raw(p->value, ',');
        v = parts ? unescape_all(parts, 0) : NULL;
        json_decref(parts);
        if (!v || json_array_extend(jp, v))
            rc = MG_ENOMEM;
        json_decref(v);
        return rc;
    }
    return json_array_append_new(jp, unescaped(p->value)) ? MG_ENOMEM : 0;
}

/* The JSON value of a scalar type, or NULL when the text is not one (then
 * the caller keeps the text). */
static json_t *scalar_value(const char *type, const char *s)
{
    char *end;
    if (strcmp(type, "integer") == 0) {
        long long n = strtoll(s, &end, 10);
        return *s && !*end ? json_integer(n) : NULL;
    }
    if (strcmp(type, "float") == 0) {
        double d = strtod(s, &end);
        return *s && !*end ? json_real(d) : NULL;
    }
    if (strcmp(type, "boolean") == 0 && (!strcasecmp(s, "TRUE") || !strcasecmp(s, "FALSE")))
        return json_boolean(strcasecmp(s, "TRUE") == 0);
    return NULL;
}

/* Converts one property; v4: dates in basic form are turned extended. */
static json_t *prop_json(const struct dav_vcard_prop *p, int v4)
{
    const char *vt = dav_vcard_param(p, "VALUE");
    char *type = mg_strdup(vt ? vt : default_type(p->name));
    char *name = mg_strdup(p->name);
    json_t *params = api_jconv_params_json(p->params, p->nparams, p->group);
    json_t *jp = NULL, *scalar = NULL;
    struct buf b;
    int rc = 0;

    buf_init(&b);
    /* a VALUE that names no type (junk a lenient parser kept) reads as unknown */
    if (type && !api_jconv_type_ok(api_jconv_lower(type))) {
        free(type);
        type = mg_strdup("unknown");
    }
    if (type && name && params)
        jp = json_pack("[s, O, s]", api_jconv_lower(name), params, type);
    if (!jp)
        goto out;
    /* quoted-printable was decoded by the parser: the value is plain now */
    if (dav_vcard_param(p, "ENCODING") &&
        strcasecmp(dav_vcard_param(p, "ENCODING"), "QUOTED-PRINTABLE") == 0)
        json_object_del(params, "encoding");
    if (strcmp(type, "text") == 0) {
        rc = text_values(p, jp);
    } else if (v4 && (is_datetime_type(type) || is_time_type(type))) {
        rc = api_jconv_to_extended(&b, p->value, is_time_type(type)) ||
                     json_array_append_new(jp, json_string(b.data))
                 ? MG_ENOMEM
                 : 0;
    } else if ((scalar = scalar_value(type, p->value))) {
        rc = json_array_append_new(jp, scalar) ? MG_ENOMEM : 0;
    } else {
        /* uri, language-tag, unknown and the rest: the text as it is */
        rc = json_array_append_new(jp, json_string(p->value)) ? MG_ENOMEM : 0;
    }
out:
    if (rc) {
        json_decref(jp);
        jp = NULL;
    }
    json_decref(params);
    buf_release(&b);
    free(type);
    free(name);
    return jp;
}

int api_jcard_from_vcard(const char *text, size_t len, json_t **out, char *err, size_t cap)
{
    struct dav_vcard *c = NULL;
    const struct dav_vcard_prop *ver;
    json_t *props;
    int rc = dav_vcard_parse(text, len, &c, err, cap);

    *out = NULL;
    if (rc)
        return rc;
    ver = dav_vcard_get(c, "VERSION");
    props = json_array();
    for (size_t i = 0; props && i < c->nprops; i++) {
        /* a stray BEGIN or END line inside the card (the DAV parser keeps
         * it as a property) has no jCard form: jCard is one card */
        if (strcmp(c->props[i].name, "BEGIN") == 0 || strcmp(c->props[i].name, "END") == 0)
            continue;
        json_t *jp = prop_json(&c->props[i], !ver || strcmp(ver->value, "3.0") != 0);
        if (!jp || json_array_append_new(props, jp)) {
            json_decref(props);
            props = NULL;
        }
    }
    dav_vcard_free(c);
    *out = props ? json_pack("[s, o]", "vcard", props) : NULL;
    return *out ? 0 : MG_ENOMEM;
}

/* ---- jCard to vCard ------------------------------------------------------------------------- */

static int put_value(struct buf *out, const char *type, const json_t *v, int v4, int depth);

/* Appends the elements of an array joined by sep. */
static int put_joined(struct buf *out, const char *type, const json_t *a, char sep, int v4,
                      int depth)
{
    int rc = 0;
    for (size_t i = 0; i < json_array_size(a) && !rc; i++) {
        if (i)
            rc = buf_putc(out, sep);
        if (!rc)
            rc = put_value(out, type, json_array_get(a, i), v4, depth + 1);
    }
    return rc;
}

/* Appends one value: a string by its type, a number or boolean as text, an
 * array as a structured value (components joined by ';', lists by ','). */
static int put_value(struct buf *out, const char *type, const json_t *v, int v4, int depth)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(type, "text") == 0)
            return api_jconv_escape(out, s);
        if (v4 && (is_datetime_type(type) || is_time_type(type)))
            return api_jconv_to_basic(out, s);
        return buf_puts(out, s);
    }
    if (json_is_array(v) && depth < 2)
        return put_joined(out, type, v, depth == 0 ? ';' : ',', v4, depth);
    return api_jconv_scalar(out, v);
}

/* Builds the content line of one jCard property into prop. */
static int prop_from_json(const json_t *v, size_t index, int v4, struct dav_vcard_prop *prop,
                          char *err, size_t cap)
{
    struct api_jprop jp;
    const char *group = NULL;
    char where[40];
    struct buf val;
    int rc;

    snprintf(where, sizeof(where), "property %zu", index);
    rc = api_jprop_read(v, where, &jp, err, cap);
    if (rc)
        return rc;
    if (!strcasecmp(jp.name, "begin") || !strcasecmp(jp.name, "end")) {
        snprintf(err, cap, "%s: BEGIN and END are not properties", where);
        return MG_EINVAL;
    }
    rc = api_jconv_params(&jp, prop, &group, err, cap);
    if (rc)
        return rc;
    prop->name = mg_strdup(jp.name);
    prop->group = group ? mg_strdup(group) : NULL;
    if (!prop->name || (group && !prop->group))
        return MG_ENOMEM;
    api_jconv_upper(prop->name);
    /* RFC 7095 3.4: VALUE only when the type is not the property's default */
    if (strcmp(jp.type, "unknown") != 0 && strcasecmp(jp.type, default_type(jp.name)) != 0) {
        rc = api_jconv_add_param(prop, "VALUE", jp.type);
        if (rc)
            return rc;
    }
    buf_init(&val);
    rc = buf_append(&val, "", 0);
    for (size_t i = 3; i < json_array_size(jp.prop) && !rc; i++) {
        if (i > 3)
            rc = buf_putc(&val, ',');
        if (!rc)
            rc = put_value(&val, jp.type, json_array_get(jp.prop, i), v4, 0);
    }
    if (rc == MG_EINVAL)
        snprintf(err, cap, "%s (%s): values are strings, numbers, booleans or arrays of them",
                 where, jp.name);
    prop->value = rc ? NULL : val.data;
    if (rc)
        buf_release(&val);
    return rc;
}

/* The props array of a jCard, or NULL with a message. */
static const json_t *jcard_props(const json_t *jcard, char *err, size_t cap)
{
    const json_t *props = json_array_get(jcard, 1);
    if (!json_is_array(jcard) || json_array_size(jcard) != 2 ||
        !json_is_string(json_array_get(jcard, 0)) ||
        strcasecmp(json_string_value(json_array_get(jcard, 0)), "vcard") != 0 ||
        !json_is_array(props)) {
        snprintf(err, cap, "a jCard is [\"vcard\", [properties]] (RFC 7095 3.2)");
        return NULL;
    }
    if (json_array_size(props) > JCARD_PROPS_MAX) {
        snprintf(err, cap, "more than %d properties", JCARD_PROPS_MAX);
        return NULL;
    }
    return props;
}

/* The first property called name, or NULL. */
static const json_t *find_prop(const json_t *props, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(props, i, p)
    {
        const char *n = json_string_value(json_array_get(p, 0));
        if (n && strcasecmp(n, name) == 0)
            return p;
    }
    return NULL;
}

/* The text value of the first property called name, or NULL. */
static const char *prop_text(const json_t *props, const char *name)
{
    return json_string_value(json_array_get(find_prop(props, name), 3));
}

int api_jcard_to_vcard(const json_t *jcard, struct buf *out, char *err, size_t cap)
{
    const json_t *props = jcard_props(jcard, err, cap);
    const char *ver;
    int rc, v4;

    if (!props)
        return MG_EINVAL;
    ver = prop_text(props, "version");
    v4 = !ver || strcmp(ver, "3.0") != 0;
    rc = buf_puts(out, "BEGIN:VCARD\r\n");
    /* RFC 6350 6.7.9: VERSION comes first */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (size_t i = 0; i < json_array_size(props) && !rc; i++) {
            const json_t *p = json_array_get(props, i);
            const char *n = json_string_value(json_array_get(p, 0));
            int is_version = n && strcasecmp(n, "version") == 0;
            struct dav_vcard_prop prop;
            if (is_version != (pass == 0))
                continue;
            memset(&prop, 0, sizeof(prop));
            rc = prop_from_json(p, i, v4, &prop, err, cap);
            if (!rc)
                rc = dav_vcard_write_prop(out, &prop);
            dav_vcard_prop_release(&prop);
        }
    }
    if (!rc)
        rc = buf_puts(out, "END:VCARD\r\n");
    return rc;
}

const char *api_jcard_uid(const json_t *jcard)
{
    char err[8];
    const json_t *props = jcard_props(jcard, err, sizeof(err));
    return props ? prop_text(props, "uid") : NULL;
}

int api_jcard_set_uid(json_t *jcard, const char *uid)
{
    char err[8];
    json_t *props = (json_t *)jcard_props(jcard, err, sizeof(err));
    if (!props)
        return MG_EINVAL;
    if (find_prop(props, "uid"))
        return 0; /* one is there (if it is no text, the conversion says so) */
    return json_array_append_new(props, json_pack("[s, {}, s, s]", "uid", "uri", uid)) ? MG_ENOMEM
                                                                                       : 0;
}
