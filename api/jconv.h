/*
 * jconv.h - JSON forms of contacts and calendar objects: jCard (RFC 7095)
 * from and to vCard text (jcard.c), jCal (RFC 7265) from and to iCalendar
 * text (jcal.c), and what both share (jconv.c): reading a property array
 * [name, params, type, value...], parameters, text escaping, and dates
 * between the basic form of the text formats ("20260102T100000Z") and the
 * extended form of the JSON ones ("2026-01-02T10:00:00Z").
 *
 * The stored form stays vCard or iCalendar text; the REST API converts on
 * the fly. A property the converter does not know keeps its value as text
 * with the type "unknown" (RFC 7095 5, RFC 7265 5), so a round trip loses
 * nothing a client put there. Errors are MG_EINVAL with a message for a
 * person in err (cap bytes), or MG_ENOMEM.
 */
#ifndef MESHGATE_API_JCONV_H
#define MESHGATE_API_JCONV_H

#include <stddef.h>

#include <jansson.h>

#include "meshgate/common.h"
#include "meshgate/dav.h"

#define API_JCONV_NAME_MAX 128 /* bytes of a property or parameter name */

/* ---- vCard (jcard.c) --------------------------------------------------------------------- */

/* Converts one vCard (3.0 or 4.0 text) into a jCard ["vcard", [...]]. */
int api_jcard_from_vcard(const char *text, size_t len, json_t **out, char *err, size_t cap);
/* Appends the vCard text of a jCard (CRLF line ends, folded). */
int api_jcard_to_vcard(const json_t *jcard, struct buf *out, char *err, size_t cap);
/* The text of the jCard's UID property, or NULL (also for malformed jCards). */
const char *api_jcard_uid(const json_t *jcard);
/* Adds ["uid", {}, "uri", uid] to a jCard that has no UID. Returns 0,
 * MG_EINVAL (not a jCard: the conversion says why) or MG_ENOMEM. */
int api_jcard_set_uid(json_t *jcard, const char *uid);

/* ---- iCalendar (jcal.c) ---------------------------------------------------------------------- */

/* Converts an iCalendar object (one VCALENDAR) into jCal ["vcalendar", [...], [...]]. */
int api_jcal_from_ical(const char *text, size_t len, json_t **out, char *err, size_t cap);
/* Converts a parsed VCALENDAR (borrowed). */
int api_jcal_from_component(icalcomponent *cal, json_t **out, char *err, size_t cap);
/* Appends the iCalendar text of a jCal object. */
int api_jcal_to_ical(const json_t *jcal, struct buf *out, char *err, size_t cap);
/* The UID of the first component of the jCal object that carries one, or NULL. */
const char *api_jcal_uid(const json_t *jcal);
/* Adds ["uid", {}, "text", uid] to every component of the jCal object that
 * needs one (VEVENT, VTODO, VJOURNAL, VFREEBUSY) and lacks it. Same returns
 * as api_jcard_set_uid. */
int api_jcal_set_uid(json_t *jcal, const char *uid);

/* ---- shared (jconv.c) --------------------------------------------------------------------------
 */

/* A property array [name, params, type, value...] after its shape was checked. */
struct api_jprop {
    const char *name;     /* as sent: letters, digits, '-' and '_' */
    const json_t *params; /* an object */
    const char *type;     /* lower case letters, digits and '-' */
    const json_t *prop;   /* the array; values from index 3 */
};

/* Checks the shape of a property array. where names it in messages ("property 3"). */
int api_jprop_read(const json_t *v, const char *where, struct api_jprop *p, char *err, size_t cap);
/* 1 when s is a name of a property, parameter or component: 1 to
 * API_JCONV_NAME_MAX letters, digits, '-' and '_' (what the DAV parsers take). */
int api_jconv_name_ok(const char *s);
/* 1 when s looks like a value type: 1 to API_JCONV_NAME_MAX lower-case
 * letters, digits and '-'. */
int api_jconv_type_ok(const char *s);
/* Fills the parameters of prop from a jCal/jCard params object: names upper
 * case; values strings or arrays of strings; "value" (the type says it) and,
 * when group is not NULL, "group" (returned there) left out. prop->params is
 * malloc'd with room for one more parameter (dav_vcard_prop_release). */
int api_jconv_params(const struct api_jprop *p, struct dav_vcard_prop *prop, const char **group,
                     char *err, size_t cap);
/* Adds a parameter (a name and one value) to prop, whose params have room
 * for it (api_jconv_params leaves room for one). Returns 0 or MG_ENOMEM. */
int api_jconv_add_param(struct dav_vcard_prop *prop, const char *name, const char *value);
/* The params object of a parsed property: names lower case, one value a
 * string, several an array; VALUE left out, and group (may be NULL) added. */
json_t *api_jconv_params_json(const struct dav_vcard_param *params, size_t n, const char *group);
/* Appends s with \\, \, \; and newlines escaped (RFC 5545 3.3.11, RFC 6350 3.4). */
int api_jconv_escape(struct buf *out, const char *s);
/* Appends the value of a date, time, date-time, date-and-or-time, timestamp or
 * utc-offset in the basic form of the text formats: '-' and ':' separators
 * out, but the leading "--" / "---" of a reduced date and its "YYYY-MM". */
int api_jconv_to_basic(struct buf *out, const char *v);
/* The other way (vCard text to jCard): appends the extended form of a basic
 * date, date-time, date-and-or-time or timestamp, or with is_time of a time
 * or UTC offset; values already extended are copied. */
int api_jconv_to_extended(struct buf *out, const char *v, int is_time);
/* Appends a JSON number or boolean value as text (integers without a
 * fraction, booleans TRUE/FALSE). Returns 0, MG_EINVAL (not one) or MG_ENOMEM. */
int api_jconv_scalar(struct buf *out, const json_t *v);
/* Lower- or upper-cases s in place (ASCII) and returns it. */
char *api_jconv_lower(char *s);
char *api_jconv_upper(char *s);
/* Appends s upper-cased. Returns 0 or MG_ENOMEM. */
int api_jconv_put_upper(struct buf *out, const char *s);

#endif
