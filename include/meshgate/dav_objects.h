/*
 * dav_objects.h - calendar and address objects for modules other than DAV
 * (the REST API): the calendars and address books at the top of a user's
 * homes, and the objects in them, read and written by the code CalDAV and
 * CardDAV use (dav/objects.c): the same validation, UID index, locks, ETags
 * and time-range matching. An object written through one protocol is the
 * same object, with the same ETag, through the other.
 *
 * Objects stay iCalendar or vCard text as stored. An object's id is its DAV
 * resource name; its ETag is the one DAV gives: the quoted hex of 16 bytes
 * of the content hash.
 */
#ifndef MESHGATE_DAV_OBJECTS_H
#define MESHGATE_DAV_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/common.h"
#include "meshgate/config.h"
#include "meshgate/dht.h"

#define DAV_OBJ_ETAG_LEN 35 /* a quote, 32 hex digits, a quote and NUL */
#define DAV_OBJ_ERR_LEN 256

enum dav_obj_home { DAV_OBJ_CALENDARS = 1, DAV_OBJ_ADDRESSBOOKS = 2 };

/* Whose objects, in which home. Everything is borrowed. */
struct dav_obj_scope {
    struct dht *d;
    const struct mg_config *cfg;
    const char *user; /* authenticated: a scope never reaches another user's tree */
    enum dav_obj_home home;
};

/* A calendar or address book. Strings are malloc'd (dav_obj_coll_release). */
struct dav_obj_coll {
    char *name;          /* its resource name ("personal") */
    char *displayname;   /* DAV:displayname set by a client or at creation, or NULL */
    char *description;   /* calendar-description / addressbook-description, or NULL */
    char *color;         /* calendars: Apple's calendar-color, or NULL */
    unsigned comps;      /* calendars: the DAV_COMP_* bits it takes */
    uint64_t version;    /* highest version (HLC) of its members: the ctag */
    char sync_token[64]; /* its RFC 6578 sync token now, as sync-collection gives it */
};

void dav_obj_coll_release(struct dav_obj_coll *c);
void dav_obj_colls_free(struct dav_obj_coll *v, size_t n);
/* The calendars (or address books) at the top of the user's home, in name
 * order; the home and its default collections are made on first use, as for
 * a DAV client. *out is malloc'd (dav_obj_colls_free). Returns 0 or an mg_err. */
int dav_objects_collections(const struct dav_obj_scope *s, struct dav_obj_coll **out, size_t *n);
/* One of them by name. Returns 0, MG_ENOTFOUND (no calendar, or address
 * book, of that name) or an mg_err. */
int dav_objects_collection(const struct dav_obj_scope *s, const char *name,
                           struct dav_obj_coll *out);

/* An object as a listing hands it over; valid during the callback only. */
struct dav_obj {
    const char *name;
    const char *etag;
    const char *data; /* the stored text, not NUL-terminated */
    size_t len;
};
typedef int (*dav_obj_fn)(void *ctx, const struct dav_obj *o);

struct dav_obj_query {
    const char *after;  /* go on after this name (NULL: from the first) */
    size_t limit;       /* objects handed to fn, at most (0: no limit) */
    size_t budget;      /* objects looked at, at most (0: no limit) */
    int has_range;      /* calendars: only objects with an instance in [start, end) */
    int64_t start, end; /* UTC seconds; INT64_MIN / INT64_MAX leave a side open */
};

/* Hands the objects of collection coll to fn in name order. A time range is
 * the RFC 4791 9.9 test CALDAV:calendar-query makes (recurrences expanded, the
 * calendar's calendar-timezone for floating times). When it stops with objects
 * left (limit or budget reached), *resume receives the name to go on after
 * (malloc'd), else NULL. Returns 0, MG_ENOTFOUND (no such collection), fn's
 * non-zero value, or an mg_err. */
int dav_objects_list(const struct dav_obj_scope *s, const char *coll, const struct dav_obj_query *q,
                     dav_obj_fn fn, void *ctx, char **resume);

/* Reads object name of collection coll: its text is appended to data, its
 * ETag written to etag, and its UID (malloc'd; may be NULL) to *uid when uid
 * is not NULL. Returns 0, MG_ENOTFOUND or an mg_err. */
int dav_objects_get(const struct dav_obj_scope *s, const char *coll, const char *name,
                    struct buf *data, char etag[DAV_OBJ_ETAG_LEN], char **uid);

/* Why a write was refused (the caller maps it to its protocol). */
enum dav_obj_refusal {
    DAV_OBJ_OK = 0,
    DAV_OBJ_BAD_NAME,         /* not a name a resource can have */
    DAV_OBJ_NO_COLLECTION,    /* the parent does not exist */
    DAV_OBJ_WRONG_COLLECTION, /* the parent is not a calendar (address book) */
    DAV_OBJ_IS_COLLECTION,    /* a collection has the name */
    DAV_OBJ_TOO_BIG,          /* over max-resource-size */
    DAV_OBJ_BAD_DATA,         /* not iCalendar / vCard text (err says why) */
    DAV_OBJ_BAD_OBJECT,       /* parses, but is no calendar object resource (err) */
    DAV_OBJ_BAD_COMPONENT,    /* a component type the calendar does not take */
    DAV_OBJ_UID_CONFLICT,     /* another object of the collection has the UID (holder) */
    DAV_OBJ_PRECONDITION,     /* If-Match / If-None-Match failed */
    DAV_OBJ_LOCKED            /* a WebDAV lock protects it */
};

/* A write's preconditions (borrowed) and its outcome. */
struct dav_obj_put_op {
    const char *if_match;      /* RFC 9110 13.1.1 header value, or NULL */
    const char *if_none_match; /* RFC 9110 13.1.2 header value ("*": create only), or NULL */
    enum dav_obj_refusal refusal;
    char err[DAV_OBJ_ERR_LEN];
    char *holder; /* DAV_OBJ_UID_CONFLICT: the name of the object holding the UID (malloc'd) */
    char etag[DAV_OBJ_ETAG_LEN];
    int created;
};

void dav_obj_put_op_release(struct dav_obj_put_op *p);
/* Stores data (iCalendar or vCard text, kept byte for byte) as object name of
 * collection coll, as a CalDAV or CardDAV PUT would: validated, its UID
 * unique in the collection, no lock protecting it. Returns 0 (p->etag,
 * p->created), MG_EINVAL when refused (p->refusal, p->err, p->holder), or an
 * mg_err of the store. */
int dav_objects_put(const struct dav_obj_scope *s, const char *coll, const char *name,
                    const char *data, size_t len, struct dav_obj_put_op *p);
/* Deletes object name of collection coll when if_match (may be NULL) lets
 * it and no lock protects it; its UID is free again. Returns 0, MG_ENOTFOUND,
 * MG_EINVAL (refused: *refusal is DAV_OBJ_PRECONDITION or DAV_OBJ_LOCKED) or
 * an mg_err. */
int dav_objects_delete(const struct dav_obj_scope *s, const char *coll, const char *name,
                       const char *if_match, enum dav_obj_refusal *refusal);

#endif
