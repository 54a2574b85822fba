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
#include "meshgate/dht.h"
#include "meshgate/http.h"

#define DAV_USER_MAX 64
#define DAV_NAME_MAX 255                 /* bytes in one path segment */
#define DAV_MULTISTATUS_MAX (256u << 20) /* bytes of one PROPFIND response */
#define DAV_PROPS_BYTES_MAX (1u << 20)   /* bytes of dead properties on one resource */
#define DAV_LOCK_TIMEOUT_DEFAULT 3600    /* seconds when the client names none */
#define DAV_LOCK_TIMEOUT_MAX 604800      /* "Infinite" and anything longer is capped to a week */
#define DAV_NS "DAV:"
#define DAV_ETAG_BYTES 16 /* bytes of the content hash in an ETag */

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
    DAV_AREA_TREE        /* /dav/files/<user>/<rel> (kind, user, rel set) */
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

/* The record kept for every resource (a row in its parent's partition; the
 * root folder's record is the row "" of its own partition). The byte strings
 * point into whatever buffer the record was decoded from, or wherever its
 * builder put them; only the props array is owned (dav_record_release). */
struct dav_record {
    int type;                   /* enum dav_rtype */
    uint64_t size;              /* content bytes (files) */
    int64_t mtime_ms;           /* last modified */
    int64_t ctime_ms;           /* created */
    uint8_t hash[DHT_HASH_LEN]; /* content hash = strong ETag (files) */
    struct dav_bytes ctype;     /* content type (files) */
    struct dav_bytes manifest;  /* dht_manifest_encode output (files) */
    struct dav_prop *props;
    size_t nprops;
    size_t props_cap;
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
};

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

/* Method handlers. Each returns an HTTP status after setting the response. */
int dav_options(struct dav_req *r);
int dav_get(struct dav_req *r, int head);
int dav_put_begin(struct dav_req *r);
int dav_put_end(struct dav_req *r);
void dav_put_state_free(struct dav_put_state *s);
int dav_delete(struct dav_req *r);
int dav_mkcol(struct dav_req *r);
int dav_copymove(struct dav_req *r, int move);
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
    DAV_V_PRINCIPAL   /* /dav/principals/<user>/ */
};

struct dav_pres {
    enum dav_vkind vkind;
    const char *path;             /* decoded URL path (with trailing '/' for folders) */
    const char *name;             /* default displayname */
    const struct dav_record *rec; /* DAV_V_TREE */
    const char *lock_key;         /* DAV_V_TREE: lock-store key */
};

/* Live properties this module computes. */
struct dav_live {
    const char *name; /* in DAV: */
    int in_allprop;
    int protected_;
};
/* The live property {ns}name, or NULL. */
const struct dav_live *dav_live_find(const char *ns, const char *name);
/* Appends the whole element of live property lp for res, or returns 404 when
 * it does not apply to res. Returns 200, 404 or an mg_err (< 0). */
int dav_live_emit(struct dav_req *r, const struct dav_pres *res, const struct dav_live *lp,
                  struct buf *out);
/* PROPFIND on /dav/, /dav/<kind>/, /dav/principals/ and a principal (principal.c). */
int dav_propfind_virtual(struct dav_req *r, const struct dav_propfind *pf, int depth);
/* Appends a <D:response> for res as pf asks. */
int dav_propfind_response(struct dav_req *r, const struct dav_pres *res,
                          const struct dav_propfind *pf, struct buf *out);

#endif
