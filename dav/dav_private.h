/*
 * dav_private.h - what the files of dav/ share: the module, the per-request
 * context, the URL space and its mapping to store keys, the resource record,
 * XML helpers, request-header parsers, the If header and lock store.
 *
 * Nothing here is public API; the unit tests in tests/unit/check_dav_*.c
 * include this header to test the pure parts (parsers, encoders).
 */
#ifndef MESHGATE_DAV_PRIVATE_H
#define MESHGATE_DAV_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "meshgate/common.h"
#include "meshgate/config.h"
#include "meshgate/dav.h"
#include "meshgate/dav_files.h"
#include "meshgate/dav_objects.h"
#include "meshgate/dht.h"
#include "meshgate/http.h"

#define DAV_USER_MAX 64
#define DAV_NAME_MAX 255                 /* bytes in one path segment */
#define DAV_MULTISTATUS_MAX (256u << 20) /* bytes of one PROPFIND response */
#define DAV_PROPS_BYTES_MAX (1u << 20)   /* bytes of dead properties on one resource */
#define DAV_LOCK_TIMEOUT_DEFAULT 3600    /* seconds when the client names none */
#define DAV_LOCK_TIMEOUT_MAX 604800      /* "Infinite" and anything longer is capped to a week */
#define DAV_NS "DAV:"
#define DAV_NS_CALDAV "urn:ietf:params:xml:ns:caldav"
#define DAV_NS_CARDDAV "urn:ietf:params:xml:ns:carddav"
#define DAV_NS_CS "http://calendarserver.org/ns/"
#define DAV_NS_APPLE "http://apple.com/ns/ical/"
#define DAV_ETAG_BYTES 16       /* bytes of the content hash in an ETag */
#define DAV_OBJ_MAX (10u << 20) /* bytes of one calendar or vCard object (max-resource-size) */
#define DAV_SYNC_PREFIX "http://meshgate/sync/" /* sync tokens: this + decimal HLC */

/* ---- the module ------------------------------------------------------------ */

struct dav_module {
    struct dht *d;
    const struct mg_config *cfg;
};

/* ---- URL space (resource.c) -------------------------------------------------- */

/* The kinds of collection trees a user has. Each maps to "coll/<user>/<kind>". */
enum dav_kind { DAV_KIND_FILES = 0, DAV_KIND_CALENDARS, DAV_KIND_ADDRESSBOOKS, DAV_KIND_COUNT };

/* Which part of the URL space a path names. */
enum dav_area {
    DAV_AREA_NONE = 0,   /* not ours: 404 */
    DAV_AREA_ROOT,       /* /dav/ */
    DAV_AREA_KIND_HOME,  /* /dav/files/ (kind set) */
    DAV_AREA_PRINCIPALS, /* /dav/principals/ */
    DAV_AREA_PRINCIPAL,  /* /dav/principals/<user>/ (user set) */
    DAV_AREA_TREE,       /* /dav/files/<user>/<rel> (kind, user, rel set) */
    DAV_AREA_SITE_ROOT   /* / (PROPFIND for discovery; set by dav.c, not by the parser) */
};

/* A parsed request path. rel has no leading or trailing '/', "" is the root of
 * the user's tree. Caller-owned storage: dav_path_release(). */
struct dav_path {
    enum dav_area area;
    enum dav_kind kind;
    char user[DAV_USER_MAX + 1];
    char *rel;
    int slash; /* the path ended with '/' */
};

/* "files", "calendars", "addressbooks". */
const char *dav_kind_name(enum dav_kind kind);
/* Parses a decoded path (mg_path_decode output). Returns 0 (area may be
 * DAV_AREA_NONE for paths outside /dav/), MG_EINVAL for a path that can never
 * name a resource (bad user name, over-long segment or key), MG_ENOMEM. */
int dav_path_parse(const char *path, struct dav_path *out);
void dav_path_release(struct dav_path *p);

/* Appends the partition key of the folder rel in the user's kind tree:
 * "coll/<user>/<kind>" for the root, "coll/<user>/<kind>/<rel>" below it. */
int dav_folder_pkey(struct buf *out, const char *user, enum dav_kind kind, const char *rel);
/* Where the record of rel lives: the parent folder's partition (appended to
 * pkey) and the row name (a pointer into rel, or "" for the root, whose
 * record is the row "" of its own partition). Returns 0 or MG_ENOMEM. */
int dav_record_keys(struct buf *pkey, const char *user, enum dav_kind kind, const char *rel,
                    const char **rkey);
/* The parent of rel as a new string ("" for top-level names); NULL on ENOMEM.
 * Must not be called for the root. */
char *dav_rel_parent(const char *rel);
/* The last segment of rel (a pointer into rel). */
const char *dav_rel_name(const char *rel);
/* The lock-store row key of rel: "<kind>/<rel>". */
int dav_lock_key(struct buf *out, enum dav_kind kind, const char *rel);
/* Appends the decoded URL path of rel ("/dav/files/alice/a/b", plus '/' for folders). */
int dav_tree_path(struct buf *out, const char *user, enum dav_kind kind, const char *rel,
                  int folder);
/* Appends the percent-encoded, XML-safe href of a decoded path. */
int dav_put_href(struct buf *out, const char *path);
/* Appends "<kind>/<rel>" joined by '/' ("a" + "b" = "a/b", "" + "b" = "b"). */
int dav_rel_join(struct buf *out, const char *rel, const char *name);

/* ---- resource records (record.c) --------------------------------------------- */

/* A byte string that is not necessarily NUL-terminated; borrowed. */
struct dav_bytes {
    const char *p;
    size_t n;
};

/* A dead property: namespace URI ("" for none), local name and the whole
 * property element as the client sent it, serialised with every namespace it
 * uses declared on it (so it can be emitted verbatim). */
struct dav_prop {
    struct dav_bytes ns;
    struct dav_bytes name;
    struct dav_bytes xml;
};

enum dav_rtype { DAV_RT_FILE = 1, DAV_RT_FOLDER = 2 };

/* What a folder is (kept in the record's second byte). */
enum dav_coll {
    DAV_COLL_PLAIN = 0,
    DAV_COLL_CALENDAR = 1,    /* RFC 4791 4.2 */
    DAV_COLL_ADDRESSBOOK = 2, /* RFC 6352 5.2 */
    DAV_COLL_INBOX = 3,       /* RFC 6638 2.2 schedule inbox */
    DAV_COLL_OUTBOX = 4       /* RFC 6638 2.1 schedule outbox */
};

/* The record kept for every resource (a row in its parent's partition; the
 * root folder's record is the row "" of its own partition). The byte strings
 * point into whatever buffer the record was decoded from, or wherever its
 * builder put them; only the props array is owned (dav_record_release). */
struct dav_record {
    int type;                   /* enum dav_rtype */
    int coll;                   /* enum dav_coll (folders) */
    uint64_t size;              /* content bytes (files) */
    int64_t mtime_ms;           /* last modified */
    int64_t ctime_ms;           /* created */
    uint8_t hash[DHT_HASH_LEN]; /* content hash = strong ETag (files) */
    struct dav_bytes ctype;     /* content type (files) */
    struct dav_bytes manifest;  /* dht_manifest_encode output (files) */
    struct dav_prop *props;
    size_t nprops;
    size_t props_cap;
    struct dav_bytes index; /* dav_objidx_encode output, or empty */
};

void dav_record_init(struct dav_record *r);
void dav_record_release(struct dav_record *r);
/* Appends the binary encoding of r. Returns 0, MG_ENOMEM or MG_ETOOBIG. */
int dav_record_encode(const struct dav_record *r, struct buf *out);
/* Decodes data into r (whose byte strings then point into data). Never reads
 * past len. Returns 0 or MG_EINVAL for anything not made by dav_record_encode. */
int dav_record_decode(const void *data, size_t len, struct dav_record *r);
/* Index of the dead property {ns}name, or -1. */
long dav_record_find_prop(const struct dav_record *r, const char *ns, const char *name);
/* Sets (replacing) or appends a dead property; the bytes stay borrowed. */
int dav_record_set_prop(struct dav_record *r, const struct dav_prop *p);
/* Removes {ns}name if present. */
void dav_record_remove_prop(struct dav_record *r, const char *ns, const char *name);
/* The quoted strong ETag of a file record into out (>= 2*DAV_ETAG_BYTES+3 bytes). */
void dav_record_etag(const struct dav_record *r, char *out, size_t cap);

/* What the index of a record describes. */
enum dav_objkind { DAV_OBJ_NONE = 0, DAV_OBJ_ICAL = 1, DAV_OBJ_VCARD = 2, DAV_OBJ_COLL = 3 };

/* Index data kept in a record so that queries can skip most objects without
 * parsing them: a calendar object's UID, component type and time bounds; a
 * vCard's UID; a calendar collection's supported component set (comps). */
struct dav_objidx {
    int kind;       /* enum dav_objkind */
    unsigned comps; /* DAV_COMP_* bits */
    int64_t lo, hi; /* UTC seconds bounding every instance; INT64_MIN/MAX: open */
    struct dav_bytes uid;
};

/* Appends the encoding of x. Returns 0, MG_ETOOBIG (UID over 64 KiB) or MG_ENOMEM. */
int dav_objidx_encode(const struct dav_objidx *x, struct buf *out);
/* Decodes b into x (x->uid points into b). Returns 0 or MG_EINVAL. */
int dav_objidx_decode(const struct dav_bytes *b, struct dav_objidx *x);
/* The whole content of a file record (inline or from its chunks), at most max
 * bytes. Appends to out. Returns 0, MG_ETOOBIG, MG_EIO or MG_ENOMEM. */
int dav_record_content(struct dav_module *m, const struct dav_record *rec, uint64_t max,
                       struct buf *out);

/* ---- resources in the store (resource.c) ---------------------------------------- */

/* A resource loaded from the store. */
struct dav_res {
    int exists;
    struct dht_row row;    /* the record's row (owned) */
    struct dav_record rec; /* view into row.value */
    struct buf pkey;       /* partition of the record */
    const char *rkey;      /* row of the record (points into rel or "") */
};

void dav_res_init(struct dav_res *r);
void dav_res_release(struct dav_res *r);
/* Loads the resource rel of the user's kind tree. The root always exists (its
 * record is created on first access). Returns 0 (r->exists tells whether it
 * exists), or an mg_err code for store failures and corrupt records (MG_EIO). */
int dav_res_load(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                 struct dav_res *r);
/* Writes rec as the record of rel (keys from r). When r->exists, the write is
 * conditional on the row being unchanged since it was loaded, else on it
 * being absent. Returns 0, MG_EPRECOND (someone else wrote), or an mg_err. */
int dav_res_store(struct dav_module *m, struct dav_res *r, const struct dav_record *rec);

/* Deletes rel and (for folders) everything below it, and with drop_locks the
 * locks rooted there or below. Returns 0 or an mg_err code. */
int dav_tree_delete(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                    int type, int drop_locks);
/* Prepares the partition of a new folder (purges leftovers, writes its row "")
 * and then writes its record in the parent (cond: absent). Returns 0, MG_EEXIST
 * when something appeared there meanwhile, or an mg_err code. */
int dav_folder_create(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                      const struct dav_record *rec);
/* Copies src (record srec) to dst, which must not exist; recursive for folders
 * unless shallow. Dead properties are copied, locks are not. keep_times keeps
 * the creation and modification times (MOVE). Returns 0 or an mg_err code. */
int dav_tree_copy(struct dav_module *m, const char *user, enum dav_kind kind, const char *src,
                  const struct dav_record *srec, const char *dst, int shallow, int keep_times);

/* ---- XML (xml.c) ----------------------------------------------------------------- */

/* Parses a request body safely: no network, no DTD (any DOCTYPE is refused),
 * no entity expansion, namespace well-formedness required, depth and element
 * count limited by lim. Returns 0 and a document in *out (xmlFreeDoc), or an
 * HTTP status: 400 (malformed or hostile), 413 (over the limits). */
int dav_xml_parse(const char *data, size_t len, const struct mg_limits *lim, xmlDoc **out);
/* 1 when node is the element {DAV:}name. */
int dav_xml_is(const xmlNode *node, const char *name);
/* The namespace URI of an element ("" when none). */
const char *dav_xml_ns(const xmlNode *node);
/* The first child element, or the next sibling element, or NULL. */
xmlNode *dav_xml_first_elem(xmlNode *node);
xmlNode *dav_xml_next_elem(xmlNode *node);
/* Serialises node (an element) standing alone: a copy in a fresh document with
 * every namespace it uses declared on it. Appends to out. Returns 0 or an mg_err. */
int dav_xml_serialize(xmlNode *node, struct buf *out);

/* "HTTP/1.1 404 Not Found" */
const char *dav_status_line(int status);
/* The XML declaration and <D:multistatus xmlns:D="DAV:">. */
int dav_ms_begin(struct buf *b);
int dav_ms_end(struct buf *b);
/* <D:response><D:href>path</D:href><D:status>..</D:status></D:response> */
int dav_ms_status(struct buf *b, const char *path, int status);
/* Appends an empty element naming {ns}name: <D:name/>, <name xmlns=""/> or
 * <X:name xmlns:X="ns"/>. */
int dav_put_prop_name(struct buf *b, const char *ns, size_t nslen, const char *name,
                      size_t namelen);
/* Responds with status and a DAV:error body holding the precondition element
 * cond (e.g. "lock-token-submitted"), or a plain-text body when cond is NULL.
 * href (may be NULL) is put inside the precondition element. Returns status. */
int dav_respond_error(struct srv_request *req, int status, const char *cond, const char *href,
                      const char *message);
/* The same with the precondition element in namespace ns (CalDAV, CardDAV). */
int dav_respond_error_ns(struct srv_request *req, int status, const char *ns, const char *cond,
                         const char *href, const char *message);

/* ---- request headers (headers.c) ----------------------------------------------------- */

enum { DAV_DEPTH_0 = 0, DAV_DEPTH_1 = 1, DAV_DEPTH_INFINITY = 2 };
/* Parses a Depth header (RFC 4918 10.2). NULL gives dflt. Returns 0 or MG_EINVAL. */
int dav_parse_depth(const char *value, int dflt, int *out);
/* Parses Overwrite (RFC 4918 10.6): "T" or "F"; NULL is T. Returns 0 or MG_EINVAL. */
int dav_parse_overwrite(const char *value, int *out);
/* Parses a Destination header or an If resource tag: an absolute URI or an
 * absolute path. When it names a host, it is compared (case-insensitively)
 * with host (the request's Host header; NULL skips the check). On success the
 * decoded path is returned in *path (malloc'd). Returns 0, MG_EINVAL (malformed),
 * or MG_EDENIED (another server). */
int dav_parse_uri(const char *value, const char *host, char **path);
/* Parses Timeout (RFC 4918 10.7) into seconds, capped at DAV_LOCK_TIMEOUT_MAX;
 * NULL or nothing understood gives DAV_LOCK_TIMEOUT_DEFAULT. */
long dav_parse_timeout(const char *value);
/* A single byte range (RFC 7233). */
struct dav_range {
    uint64_t first;
    uint64_t last; /* inclusive */
};
/* Parses a Range header for a body of size bytes. Returns 1 and fills r for one
 * satisfiable range, 0 when the header should be ignored (absent, malformed,
 * several ranges), -1 when unsatisfiable (416). */
int dav_parse_range(const char *value, uint64_t size, struct dav_range *r);
/* Matches an If-Match / If-None-Match list against etag ("*" matches any
 * existing resource; etag NULL = no resource). weak: weak comparison. */
int dav_etag_list_match(const char *list, const char *etag, int weak);
/* Parses an IMF-fixdate (or RFC 850 / asctime) into seconds; -1 when invalid. */
int64_t dav_parse_http_date(const char *s);
/* Guesses a content type from a file name's extension. */
const char *dav_guess_ctype(const char *name);

/* ---- If header (if.c, RFC 4918 10.4) ---------------------------------------------------- */

struct dav_if_cond {
    int negate;
    int is_etag;
    char *value; /* a state token (Coded-URL without <>) or an entity tag with its quotes */
};

struct dav_if_list {
    char *tag; /* resource tag as sent (without <>), NULL for untagged lists */
    struct dav_if_cond *conds;
    size_t nconds;
};

struct dav_if {
    struct dav_if_list *lists;
    size_t nlists;
};

/* What the evaluator asks about resources. path is the request path (untagged
 * lists) or the tag as sent. Each returns 1 (true), 0 (false). */
struct dav_if_ops {
    int (*has_token)(void *ctx, const char *tag, const char *token);
    int (*etag_is)(void *ctx, const char *tag, const char *etag);
};

/* Parses the If header. Returns 0, MG_EINVAL (malformed: 400) or MG_ENOMEM. */
int dav_if_parse(const char *value, struct dav_if *out);
void dav_if_release(struct dav_if *h);
/* Evaluates: true when any list has all its conditions true (RFC 4918 10.4.3).
 * Returns 1 or 0. tag NULL is passed for untagged lists. */
int dav_if_eval(const struct dav_if *h, const struct dav_if_ops *ops, void *ctx);
/* 1 when token appears in h as a non-negated state token. */
int dav_if_submits(const struct dav_if *h, const char *token);

/* ---- locks (lockstore.c) --------------------------------------------------------------- */

struct dav_lock {
    char *key;   /* lock-store row: "<kind>/<rel>" of the lock root */
    char *token; /* "opaquelocktoken:<uuid>" */
    char *owner; /* serialised DAV:owner element or NULL */
    char *principal;
    int exclusive;
    int infinity;
    int folder;          /* the lock root is a folder (href ends in '/') */
    long timeout;        /* seconds granted */
    uint64_t expires_ms; /* wall clock */
};

struct dav_lockset {
    struct dav_lock *v;
    size_t n;
};

void dav_lock_release(struct dav_lock *l);
void dav_lockset_release(struct dav_lockset *s);
/* Loads the live (unexpired) locks of a user; purges expired ones. Returns 0 or an mg_err. */
int dav_locks_load(struct dav_module *m, const char *user, struct dav_lockset *out);
/* 1 when lock l applies to the resource key (its root, or below an infinity root). */
int dav_lock_covers(const struct dav_lock *l, const char *key);
/* 1 when key is below (strictly) the lock-store key anc. */
int dav_key_is_below(const char *key, const char *anc);
/* Adds a lock (the row of l->key). Returns 0 or an mg_err. */
int dav_lock_add(struct dav_module *m, const char *user, const struct dav_lock *l);
/* Replaces the timeout of the lock token at key. Returns 0, MG_ENOTFOUND, or an mg_err. */
int dav_lock_refresh(struct dav_module *m, const char *user, const char *key, const char *token,
                     long timeout, uint64_t expires_ms);
/* Removes the lock token from row key. Returns 0, MG_ENOTFOUND or an mg_err. */
int dav_lock_remove(struct dav_module *m, const char *user, const char *key, const char *token);
/* Removes every lock rooted at key or below it. */
int dav_locks_remove_tree(struct dav_module *m, const char *user, const char *key);
/* Encodes / decodes one lock-store row (a JSON array of locks). decode fills
 * locks with key set to key. Return 0 or MG_EINVAL / MG_ENOMEM. */
int dav_lockrow_encode(const struct dav_lock *v, size_t n, struct buf *out);
int dav_lockrow_decode(const char *key, const void *data, size_t len, struct dav_lockset *out);
/* Appends <D:activelock> for l (href: the lock root's decoded URL path). */
int dav_lock_xml(struct buf *b, const struct dav_lock *l, const char *root_path, uint64_t now_ms);
/* A fresh "opaquelocktoken:<uuid v4>" into out (>= 64 bytes). */
void dav_lock_new_token(char *out, size_t cap);

/* ---- per-request context (dav.c) -------------------------------------------------------- */

struct dav_put_state;
struct dav_caldata;
struct dav_carddata;

struct dav_req {
    struct dav_module *m;
    struct srv_request *req;
    const char *user; /* authenticated user */
    struct dav_path path;
    struct dav_if ifh; /* parsed If header */
    int have_if;
    struct dav_lockset locks;
    int locks_loaded;
    struct dav_put_state *put;
    /* REPORT: how calendar-data / address-data are returned (NULL: as stored) */
    const struct dav_caldata *caldata;
    const struct dav_carddata *carddata;
    const icaltimezone *floating; /* zone of floating times (a calendar's calendar-timezone) */
    /* Set by files.c for callers of dav_files.h: failures are recorded here
     * (dav_fail) instead of answered, and messages name the path shown. */
    struct dav_files_error *fail;
    const char *shown;
};

/* Frees what r holds (not r itself). */
void dav_req_release(struct dav_req *r);
/* The path messages name: r->shown, or the request's path. */
const char *dav_req_shown(const struct dav_req *r);
/* Answers a failure with a plain-text message, or with a DAV:error body
 * holding the precondition element cond (href inside it) when cond is not
 * NULL; when r->fail is set, records status, reason and message there
 * instead and answers nothing. reason is a short slug for callers of
 * dav_files.h (NULL: none). Returns status. */
int dav_fail(struct dav_req *r, int status, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int dav_fail_cond(struct dav_req *r, int status, const char *reason, const char *cond,
                  const char *href, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Loads the user's locks once per request. Returns 0 or an mg_err. */
int dav_req_locks(struct dav_req *r);

/* Flags for dav_check_write. */
enum {
    DAV_W_SELF = 1,    /* the resource itself changes (locks covering it) */
    DAV_W_MEMBERS = 2, /* members below it change (locks rooted below it) */
    DAV_W_PARENT = 4   /* the parent's membership changes (locks on the parent) */
};
/* RFC 4918 7 and 10.4: evaluates the If header against rel (412 when false)
 * and checks that the locks protecting what the request changes had their
 * tokens submitted (423 with DAV:lock-token-submitted otherwise). Returns 0
 * or the status after setting the response. */
int dav_check_if(struct dav_req *r, const char *rel);
int dav_check_locks(struct dav_req *r, const char *rel, int flags);

/* Returns 0 when the parent folder of rel exists, else responds 409 (RFC 4918
 * 9.3.1, 9.7.1, 9.8.5) and returns the status. */
int dav_check_parent(struct dav_req *r, const char *rel);

/* RFC 7232 3.1-3.4 for a state-changing method: If-Match, If-None-Match and
 * If-Unmodified-Since against res (which may not exist). Returns 0, or 412
 * after setting the response. */
int dav_check_http_conditions(struct dav_req *r, const struct dav_res *res);

/* Maps an mg_err from the store to an HTTP status and responds. */
int dav_respond_store_error(struct dav_req *r, int err);
/* Loads the request's target into res (initialised by the caller). Returns 0 with *status 0
 * when it exists; otherwise has responded (a store error, or 404 when it does not exist) and
 * returns nonzero with *status set to the HTTP status the handler returns. */
int dav_load_target(struct dav_req *r, struct dav_res *res, int *status);

/* Method handlers. Each returns an HTTP status after setting the response. */
int dav_options(struct dav_req *r);
int dav_get(struct dav_req *r, int head);
int dav_put_begin(struct dav_req *r);
/* The checks of dav_put_begin and the blob writer, without installing the body
 * sink: the caller feeds the body to dav_put_write. */
int dav_put_prepare(struct dav_req *r);
int dav_put_write(struct dav_req *r, const char *data, size_t len);
int dav_put_end(struct dav_req *r);
void dav_put_state_free(struct dav_put_state *s);
int dav_delete(struct dav_req *r);
int dav_mkcol(struct dav_req *r);
/* MKCOL without a body: an empty plain folder at the request's rel. */
int dav_mkcol_plain(struct dav_req *r);
int dav_copymove(struct dav_req *r, int move);
/* COPY or MOVE of the request's rel to dst (a rel of the same tree) once the
 * Destination, Depth and Overwrite headers are parsed. */
int dav_copymove_rel(struct dav_req *r, const char *dst, int depth, int overwrite, int move);
/* GET of a file whose record is rec (get.c). */
int dav_get_file(struct dav_req *r, const struct dav_record *rec);
int dav_propfind(struct dav_req *r);
int dav_proppatch(struct dav_req *r);
int dav_lock(struct dav_req *r);
int dav_unlock(struct dav_req *r);

/* ---- properties (props.c) ----------------------------------------------------------------- */

/* What a PROPFIND asks for. */
enum dav_pf_mode { DAV_PF_ALLPROP = 0, DAV_PF_PROPNAME, DAV_PF_PROP };

struct dav_pname {
    char *ns;
    char *name;
};

struct dav_propfind {
    enum dav_pf_mode mode;
    struct dav_pname *props; /* DAV_PF_PROP: asked; DAV_PF_ALLPROP: include */
    size_t n;
};

/* Parses a PROPFIND body (empty = allprop, RFC 4918 9.1). Returns 0 or an HTTP status. */
int dav_propfind_parse(const char *body, size_t len, const struct mg_limits *lim,
                       struct dav_propfind *out);
void dav_propfind_release(struct dav_propfind *pf);

/* One resource being described by PROPFIND. */
enum dav_vkind {
    DAV_V_TREE = 0,   /* a file or folder in a user's tree (rec set) */
    DAV_V_ROOT,       /* /dav/ */
    DAV_V_KIND_HOME,  /* /dav/files/ */
    DAV_V_PRINCIPALS, /* /dav/principals/ */
    DAV_V_PRINCIPAL,  /* /dav/principals/<user>/ */
    DAV_V_SITE_ROOT   /* / (discovery only) */
};

struct dav_pres {
    enum dav_vkind vkind;
    const char *path;             /* decoded URL path (with trailing '/' for folders) */
    const char *name;             /* default displayname */
    const struct dav_record *rec; /* DAV_V_TREE */
    const char *lock_key;         /* DAV_V_TREE: lock-store key */
    const char *rel;              /* DAV_V_TREE: the resource's rel */
    const char *body;             /* the content when the caller has it, else NULL */
    size_t body_len;
    icalcomponent *cal; /* the content parsed, when the caller has it */
};

/* Live properties this module computes. */
struct dav_live {
    const char *ns;
    const char *name;
    int in_allprop;
    int protected_;
};
/* The live property {ns}name, or NULL. */
const struct dav_live *dav_live_find(const char *ns, const char *name);
/* Appends the whole element of live property lp for res, or returns 404 when
 * it does not apply to res. Returns 200, 404 or an mg_err (< 0). */
int dav_live_emit(struct dav_req *r, const struct dav_pres *res, const struct dav_live *lp,
                  struct buf *out);
/* PROPFIND of pf on the request's tree resource to depth (propfind.c). */
int dav_propfind_tree(struct dav_req *r, const struct dav_propfind *pf, int depth);
/* PROPFIND on /dav/, /dav/<kind>/, /dav/principals/ and a principal (principal.c). */
int dav_propfind_virtual(struct dav_req *r, const struct dav_propfind *pf, int depth);
/* Appends a <D:response> for res as pf asks. */
int dav_propfind_response(struct dav_req *r, const struct dav_pres *res,
                          const struct dav_propfind *pf, struct buf *out);
/* Appends the <D:response> of rel, a member named name of the request's tree with record rec,
 * as pf asks; builds its URL path in path and its lock key in lkey (both appended to, so
 * callers reset them). Returns 0 or an mg_err (propfind.c). */
int dav_propfind_member(struct dav_req *r, const char *rel, const char *name,
                        const struct dav_record *rec, struct buf *path, struct buf *lkey,
                        const struct dav_propfind *pf, struct buf *out);

/* ---- CalDAV and CardDAV ---------------------------------------------------------------- */

/* 1 when s (n bytes) is UTF-8 text without NUL or control characters other
 * than tab, CR and LF (ical.c). */
int dav_text_valid(const char *s, size_t n);
/* Formats a message for a parser's caller into err (cap bytes, truncated to fit); does
 * nothing when err is NULL or cap 0 (ical.c). */
void dav_set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Drops the VTIMEZONEs of cal whose TZID names a zone of the system's tz
 * database, so that times resolve through libical's shared, cached zones:
 * expanding an object's own VTIMEZONE costs milliseconds per object, which
 * would dominate every query. The TZID is trusted to mean the zone it names
 * (clients generate these VTIMEZONEs from the same database); zones only
 * the object defines are kept. Only for evaluation: the stored bytes keep
 * their VTIMEZONEs (ical.c). */
void dav_ical_prefer_builtin_zones(icalcomponent *cal);
/* Appends c to the list *drop of *n components; returns 0, or MG_ENOMEM with the list
 * unchanged (ical.c). */
int dav_ical_drop_add(icalcomponent ***drop, size_t *n, icalcomponent *c);
/* Removes the n components of drop from parent and frees them, then frees drop (ical.c). */
void dav_ical_drop_apply(icalcomponent *parent, icalcomponent **drop, size_t n);
/* Sets how many recurrence iterations the calling thread may still spend
 * (the current request; -1: no limit beyond the per-call one). Past it,
 * expansion gives MG_ETOOBIG, which queries count as a match (ical.c). */
void dav_ical_budget_reset(long iterations);
#define DAV_REQUEST_ITER_BUDGET 20000000L
/* RFC 4791 9.9: 1 when the instance overlaps [qs, qe) (ical.c). */
int dav_ical_instance_overlaps(const struct dav_ical_instance *in, int64_t qs, int64_t qe);
/* DAV_COMP_* bit of a component name ("VEVENT"), 0 for others; and back. */
unsigned dav_ical_comp_bit(const char *name);
const char *dav_ical_comp_name(unsigned bit);
/* RFC 4791 9.9: 1 when comp (VEVENT, VTODO, VJOURNAL, VFREEBUSY or VALARM)
 * overlaps [qs, qe); a recurring master is tested instance by instance. An
 * expansion over budget counts as a match: a query never drops an object
 * silently (calrange.c). */
int dav_ical_comp_in_range(icalcomponent *comp, int64_t qs, int64_t qe,
                           const icaltimezone *floating);
/* RFC 4791 9.9: 1 when the date-time property p of comp lies in [qs, qe). */
int dav_ical_prop_in_range(icalproperty *p, icalcomponent *comp, int64_t qs, int64_t qe,
                           const icaltimezone *floating);
/* A zone from calendar-timezone text: a VCALENDAR with one VTIMEZONE.
 * Returns 0 and *out (icaltimezone_free(z, 1)) or MG_EINVAL (calrange.c). */
int dav_ical_zone_from_text(const char *text, size_t len, icaltimezone **out);

/* text-match (textmatch.c, RFC 4790, RFC 5051, RFC 4791 9.7.5, RFC 6352 10.5.4) */
enum dav_collation { DAV_COLLATION_OCTET = 0, DAV_COLLATION_ASCII, DAV_COLLATION_UNICODE };
enum dav_match_type { DAV_MATCH_CONTAINS = 0, DAV_MATCH_EQUALS, DAV_MATCH_STARTS, DAV_MATCH_ENDS };

struct dav_textmatch {
    char *text;
    int collation; /* enum dav_collation */
    int match;     /* enum dav_match_type */
    int negate;
};

/* Parses a text-match element (CalDAV or CardDAV); dflt is the collation when
 * none is named (CalDAV: i;ascii-casemap, CardDAV: i;unicode-casemap).
 * Returns 0, MG_EINVAL (malformed: 400 / valid-filter), MG_EDENIED
 * (unsupported collation: supported-collation) or MG_ENOMEM. */
int dav_textmatch_parse(xmlNode *node, int dflt, struct dav_textmatch *tm);
void dav_textmatch_release(struct dav_textmatch *tm);
/* 1 when value matches (negate-condition applied), else 0. */
int dav_textmatch_test(const struct dav_textmatch *tm, const char *value);

/* Parses a CALDAV:time-range element (start and/or end, UTC) into [*s, *e);
 * a missing bound is INT64_MIN / INT64_MAX. Returns 0 or MG_EINVAL. */
int dav_time_range_parse(xmlNode *n, int64_t *s, int64_t *e);

/* CalDAV filters (calfilter.c, RFC 4791 9.7) */
struct dav_calfilter;
/* Parses a CALDAV:filter element. Returns 0, MG_EINVAL (CALDAV:valid-filter,
 * err says why), MG_EDENIED (CALDAV:supported-collation) or MG_ENOMEM. */
int dav_calfilter_parse(xmlNode *filter, struct dav_calfilter **out, char *err, size_t cap);
void dav_calfilter_free(struct dav_calfilter *f);
/* 1 when the VCALENDAR cal matches. */
int dav_calfilter_match(const struct dav_calfilter *f, icalcomponent *cal,
                        const icaltimezone *floating);
/* 0 when an object with index x cannot match (wrong component type, or its
 * time bounds miss the filter's range); 1 when it may. */
int dav_calfilter_may_match(const struct dav_calfilter *f, const struct dav_objidx *x);

/* CardDAV filters (cardfilter.c, RFC 6352 10.5) */
struct dav_cardfilter;
int dav_cardfilter_parse(xmlNode *filter, struct dav_cardfilter **out, char *err, size_t cap);
void dav_cardfilter_free(struct dav_cardfilter *f);
int dav_cardfilter_match(const struct dav_cardfilter *f, const struct dav_vcard *c);

/* calendar-data and address-data in REPORTs (caldata.c, RFC 4791 9.6, RFC 6352 10.4) */
struct dav_calcomp {
    char *name;
    int allprop, allcomp;
    char **props;
    size_t nprops;
    struct dav_calcomp *comps;
    size_t ncomps;
};

struct dav_caldata {
    struct dav_calcomp *comp; /* NULL: everything */
    int expand;
    int64_t expand_start, expand_end;
    int limit_rs;
    int64_t lrs_start, lrs_end;
    int limit_fb;
    int64_t lfb_start, lfb_end;
};

struct dav_carddata {
    char **props; /* NULL with nprops 0 and all set: the whole vCard */
    size_t nprops;
    int all;
};

/* Parse a calendar-data / address-data request element. Return 0 or
 * MG_EINVAL (400) / MG_ENOMEM. */
int dav_caldata_parse(xmlNode *node, struct dav_caldata *out);
void dav_caldata_release(struct dav_caldata *cd);
int dav_carddata_parse(xmlNode *node, struct dav_carddata *out);
void dav_carddata_release(struct dav_carddata *cd);
/* Appends the iCalendar text to return for one object: data as stored when
 * spec asks for nothing else, else the object parsed (cal, or data when cal
 * is NULL) and expanded / limited / pruned. Returns 0, MG_EINVAL (stored data
 * unparsable), MG_ETOOBIG (expansion over budget) or MG_ENOMEM. */
int dav_caldata_render(const struct dav_caldata *spec, const char *data, size_t len,
                       icalcomponent *cal, const icaltimezone *floating, struct buf *out);
int dav_carddata_render(const struct dav_carddata *spec, const char *data, size_t len,
                        struct buf *out);

/* UID index (uidindex.c): partition "cuid/<user>/<kind>/<collection rel>",
 * one row per UID (hex of its hash) naming the resource that holds it.
 * Entries are verified against the named resource before they are believed,
 * so a stale entry (an interrupted write) never blocks a client. */
/* Claims uid for the resource name in collection crel. Returns 0, MG_EEXIST
 * (another resource holds it: its name in *holder, malloc'd) or an mg_err. */
int dav_uid_claim(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel,
                  const char *uid, const char *name, char **holder);
/* Drops the entry of uid when it names name. Returns 0 or an mg_err. */
int dav_uid_release(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel,
                    const char *uid, const char *name);
/* Empties the index of a collection. */
int dav_uid_purge(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel);
/* Rebuilds the index of a collection from its members (after COPY/MOVE). */
int dav_uid_rebuild(struct dav_module *m, const char *user, enum dav_kind kind, const char *crel);

/* Calendar homes (home.c) */
/* Called when the root of a user's calendar or address book tree was just
 * created: makes the default calendar ("Personal"), address book
 * ("Contacts") and the schedule inbox and outbox. Returns 0 or an mg_err. */
int dav_home_defaults(struct dav_module *m, const char *user, enum dav_kind kind);
/* Creates the collection rel of type coll (enum dav_coll) with comps (a
 * calendar's supported components; 0: VEVENT, VTODO, VJOURNAL) and dead
 * properties props (borrowed). Returns 0, MG_EEXIST or an mg_err. */
int dav_coll_create(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                    int coll, unsigned comps, const struct dav_prop *props, size_t nprops);
/* Makes sure both homes of user exist (and so their defaults). */
int dav_home_ensure(struct dav_module *m, const char *user);
/* Loads the parent folder of rel into *parent (dav_res_init'ed by the
 * caller; the root for top-level names). Returns 0 or an mg_err. */
int dav_parent_load(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                    struct dav_res *parent);
/* The sync token URI of hlc into out; and back (0 or MG_EINVAL). */
void dav_sync_token(uint64_t hlc, char *out, size_t cap);
int dav_sync_token_parse(const char *s, uint64_t *hlc);
/* The zone of a calendar collection's calendar-timezone property, or NULL. */
icaltimezone *dav_coll_zone(const struct dav_record *coll);
/* The supported components (DAV_COMP_* bits) of a calendar collection record. */
unsigned dav_coll_comps(const struct dav_record *coll);

/* max-resource-size of calendar and address objects: DAV_OBJ_MAX within limits.max_body. */
uint64_t dav_obj_max(const struct dav_module *m);
/* The UID the stored record of res carries (malloc'd, the caller frees it), or NULL when res
 * does not exist, has no UID in its index or memory runs out (objects.c). */
char *dav_obj_stored_uid(const struct dav_res *res);
/* Frees the UID index entry of the object rel (loaded into res) after it was deleted; best
 * effort (objects.c). */
void dav_obj_uid_forget(struct dav_module *m, const char *user, enum dav_kind kind,
                        const char *rel, const struct dav_res *res);
/* RFC 9110 13.1.1 and 13.1.2 for a method that changes a resource: NULL when If-Match im and
 * If-None-Match inm (either NULL when absent) let the change go ahead on a resource that
 * exists (or not) with strong ETag etag (NULL: none, e.g. a collection); else why not
 * (objects.c). */
const char *dav_etag_preconditions(const char *im, const char *inm, int exists, const char *etag);
/* The character data of dead property {ns}name of r (malloc'd), or NULL (home.c). */
char *dav_record_prop_text(const struct dav_record *r, const char *ns, const char *name);

/* One write of a calendar or address object (objects.c): what CalDAV/CardDAV
 * PUT and the REST API share. */
struct dav_obj_write {
    /* what to write (borrowed) */
    const char *user;
    enum dav_kind kind;
    const char *rel;
    const char *body;
    size_t len;
    int conditional; /* the request has preconditions: a concurrent change fails the
                      * write (MG_EPRECOND) instead of being overwritten */
    /* Called once the target (res, which may not exist) and its collection are
     * loaded and fit: the caller's own checks (conditions, locks, media type).
     * Returns 0 to go on, else a value that dav_obj_write returns as is (an HTTP
     * status after responding, say). */
    int (*check)(void *ctx, const struct dav_res *res);
    void *ctx;
    /* the outcome */
    enum dav_obj_refusal refusal;
    char err[DAV_OBJ_ERR_LEN];
    char *holder; /* DAV_OBJ_UID_CONFLICT: the member holding the UID (dav_obj_write_release) */
    char etag[2 * DAV_ETAG_BYTES + 3];
    int created;
};
/* Validates and stores w->body as w->rel (see objects.c). Returns 0 (w->etag, w->created),
 * MG_EINVAL (refused: w->refusal, w->err, w->holder), what w->check returned, or an mg_err
 * of the store (MG_EPRECOND: changed meanwhile under a conditional write). */
int dav_obj_write(struct dav_module *m, struct dav_obj_write *w);
void dav_obj_write_release(struct dav_obj_write *w);

/* Handlers (each returns an HTTP status after setting the response) */
int dav_report(struct dav_req *r);
/* REPORT bodies already parsed by dav_report. */
/* MKCALENDAR (RFC 4791 5.3.1) and MKCOL with a body (RFC 5689). */
int dav_mkcalendar(struct dav_req *r, int extended);
int dav_obj_put(struct dav_req *r);
int dav_sync_collection(struct dav_req *r, xmlNode *root);
int dav_freebusy_query(struct dav_req *r, xmlNode *root);

#endif
