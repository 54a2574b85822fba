/*
 * dav.h - WebDAV (RFC 4918 class 1 and 2), CalDAV (RFC 4791), CardDAV
 * (RFC 6352), collection sync (RFC 6578), principals (RFC 5397) and
 * well-known redirects (RFC 6764); plus the iCalendar and vCard code that
 * other modules (the REST API) share.
 *
 * URL space: /dav/files/<user>/...          the user's file tree
 *            /dav/calendars/<user>/<cal>/    calendar collections (calendar home)
 *            /dav/addressbooks/<user>/<ab>/  address book collections
 *            /dav/principals/<user>/         the user's principal
 *            /.well-known/caldav|carddav     redirects
 *            PROPFIND /                      discovery (current-user-principal)
 */
#ifndef MESHGATE_DAV_H
#define MESHGATE_DAV_H

#include <stddef.h>
#include <stdint.h>

#include <libical/ical.h>

#include "meshgate/common.h"
#include "meshgate/config.h"
#include "meshgate/dht.h"
#include "meshgate/http.h"

struct dav_module;

/* Creates the module. d and cfg are borrowed and must outlive it. NULL on ENOMEM. */
struct dav_module *dav_new(struct dht *d, const struct mg_config *cfg);
/* NULL-safe. */
void dav_free(struct dav_module *m);
/* Registers the module's routes with the server. Returns 0 or an mg_err code. */
int dav_register_routes(struct dav_module *m, struct srv_server *s);

/* ---- iCalendar (dav/ical.c, RFC 5545 via libical) ---------------------------------- */

/* Component types of a calendar object resource, as bits. */
enum dav_comp {
    DAV_COMP_VEVENT = 1,
    DAV_COMP_VTODO = 2,
    DAV_COMP_VJOURNAL = 4,
    DAV_COMP_VFREEBUSY = 8
};

/* Parses iCalendar text (UTF-8, CRLF or LF line ends) into one VCALENDAR.
 * Refuses invalid UTF-8, control characters, several top-level components and
 * anything libical reports as malformed (X-LIC-ERROR). Returns 0 and the
 * component in *out (free with icalcomponent_free), MG_EINVAL with a message
 * for a person in err (cap bytes), or MG_ENOMEM. */
int dav_ical_parse(const char *data, size_t len, icalcomponent **out, char *err, size_t cap);

/* What a calendar object resource holds. */
struct dav_ical_info {
    char *uid;      /* malloc'd */
    unsigned comp;  /* its one component type (a DAV_COMP_* bit) */
    int64_t lo, hi; /* UTC seconds: every instance lies within [lo, hi];
                     * INT64_MIN / INT64_MAX when open (endless recurrence,
                     * or a to-do without dates) */
};

/* RFC 4791 4.1: checks that cal (from dav_ical_parse) is a calendar object
 * resource: a VCALENDAR with VERSION:2.0 and no METHOD, holding components
 * of one type (VEVENT, VTODO, VJOURNAL or VFREEBUSY, plus VTIMEZONEs) that
 * all carry the same UID, a VEVENT with a DTSTART, at most one component
 * without RECURRENCE-ID. Fills info (dav_ical_info_release). Returns 0,
 * MG_EINVAL with a message in err, or MG_ENOMEM. */
int dav_ical_check_object(icalcomponent *cal, struct dav_ical_info *info, char *err, size_t cap);
void dav_ical_info_release(struct dav_ical_info *info);

/* One instance of a component (RFC 5545 3.8.5: DTSTART, RRULE, RDATE and
 * EXDATE, minus the instances overridden by components with a RECURRENCE-ID). */
struct dav_ical_instance {
    icalcomponent *comp;          /* the component whose properties apply */
    struct icaltimetype start_tt; /* start as written (DTSTART's zone), or null time */
    struct icaltimetype rid;      /* the original start (RECURRENCE-ID), or null time */
    int64_t start, end;           /* UTC seconds; end == start when zero-length */
    int has_start, has_end;       /* a VTODO may lack either */
    int end_is_due;               /* VTODO: end is a DUE (not DTSTART + DURATION) */
    int recurring;                /* part of a recurrence set */
};

typedef int (*dav_ical_instance_fn)(void *ctx, const struct dav_ical_instance *in);

/* Calls fn for every instance of comp (a VEVENT, VTODO or VJOURNAL inside its
 * VCALENDAR) that starts before `to` and ends at or after `from` (UTC
 * seconds), in no particular order; a component with a RECURRENCE-ID is one
 * instance. floating is the zone of floating times and dates (NULL: UTC).
 * Expansion is bounded by the range, not by an instance count; a rule that
 * needs more than a large iteration budget gives MG_ETOOBIG. Returns 0,
 * fn's non-zero value (which stops the walk), MG_ETOOBIG or MG_ENOMEM. */
int dav_ical_instances(icalcomponent *comp, int64_t from, int64_t to, const icaltimezone *floating,
                       dav_ical_instance_fn fn, void *ctx);

/* UTC seconds of t: UTC, in its own zone, or floating in `floating` (NULL:
 * UTC); dates count from midnight. */
int64_t dav_ical_utc(struct icaltimetype t, const icaltimezone *floating);

/* Parses an RFC 4791 time-range value ("20060104T000000Z", UTC only) into
 * UTC seconds. Returns 0 or MG_EINVAL. */
int dav_ical_parse_utc(const char *s, int64_t *out);

/* ---- vCard (dav/vcard.c, RFC 6350 and RFC 2426) ---------------------------------------- */

struct dav_vcard_param {
    char *name;    /* upper case; "TYPE" for vCard 2.1 bare parameters */
    char **values; /* unquoted, RFC 6868 ^-escapes decoded */
    size_t nvalues;
};

struct dav_vcard_prop {
    char *group; /* NULL or the group ("item1" of "item1.EMAIL") */
    char *name;  /* upper case */
    struct dav_vcard_param *params;
    size_t nparams;
    char *value; /* unfolded; quoted-printable decoded; vCard escapes kept */
};

struct dav_vcard {
    struct dav_vcard_prop *props; /* in order, BEGIN and END excluded */
    size_t nprops;
};

/* Parses exactly one vCard (BEGIN:VCARD ... END:VCARD): folded lines,
 * groups, parameters (quoted values, value lists, 2.1 bare types) and
 * quoted-printable values (with soft line breaks). Returns 0 and *out
 * (dav_vcard_free), MG_EINVAL with a message in err, or MG_ENOMEM. */
int dav_vcard_parse(const char *data, size_t len, struct dav_vcard **out, char *err, size_t cap);
/* NULL-safe. */
void dav_vcard_free(struct dav_vcard *c);
/* Frees what a property holds (its group, name, parameters and value), not p itself. */
void dav_vcard_prop_release(struct dav_vcard_prop *p);
/* The first property called name (case-insensitive), or NULL. */
const struct dav_vcard_prop *dav_vcard_get(const struct dav_vcard *c, const char *name);
/* The first value of parameter name of p (case-insensitive), or NULL. */
const char *dav_vcard_param(const struct dav_vcard_prop *p, const char *name);
/* The text of a value with vCard escapes (\n \N \, \; \\) decoded; malloc'd or NULL. */
char *dav_vcard_unescape(const char *value);
/* Appends p as one content line (folded at 75 octets, CRLF). Returns 0 or MG_ENOMEM. */
int dav_vcard_write_prop(struct buf *out, const struct dav_vcard_prop *p);
/* RFC 6352 5.1 / RFC 6350 6.7.9: a vCard an address book may store: VERSION
 * 3.0 or 4.0, an FN and a UID. Returns 0 or MG_EINVAL with a message in err. */
int dav_vcard_check_object(const struct dav_vcard *c, char *err, size_t cap);

#endif
