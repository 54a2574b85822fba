/*
 * resource.c - the DAV URL space and how it maps onto the store.
 *
 *   /dav/files/alice/a/b/      folder: partition "coll/alice/files/a/b", row ""
 *                              holds its folder record; its own record (type,
 *                              times, dead properties) is row "b" of its parent
 *                              "coll/alice/files/a"
 *   /dav/files/alice/a/b/c.txt row "c.txt" of "coll/alice/files/a/b"
 *   /dav/files/alice/          the root: partition "coll/alice/files", whose
 *                              row "" is also its record (created on first use)
 *
 * Listing a folder (PROPFIND Depth 1) is one scan of its partition, and the
 * records it returns carry everything PROPFIND needs, dead properties too.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"
#include "meshgate/accounts.h"

static const char *const kind_names[DAV_KIND_COUNT] = {"files", "calendars", "addressbooks"};

const char *dav_kind_name(enum dav_kind kind)
{
    return (unsigned)kind < DAV_KIND_COUNT ? kind_names[kind] : "files";
}

void dav_path_release(struct dav_path *p)
{
    if (!p)
        return;
    free(p->rel);
    p->rel = NULL;
}

/* Length of the segment starting at s (up to '/' or the end). */
static size_t seg_len(const char *s)
{
    return strcspn(s, "/");
}

static int seg_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(s, name, n) == 0;
}

/* Copies the user segment at *pp into user (DAV_USER_MAX + 1 bytes) and moves *pp past it
 * and the slashes after it. Returns 0, or MG_EINVAL for a name too long or not valid. */
static int take_user(const char **pp, char *user)
{
    const char *p = *pp;
    size_t n = seg_len(p);

    if (n > DAV_USER_MAX)
        return MG_EINVAL;
    memcpy(user, p, n);
    user[n] = '\0';
    if (!acct_valid_name(user))
        return MG_EINVAL;
    p += n;
    while (*p == '/')
        p++;
    *pp = p;
    return 0;
}

int dav_path_parse(const char *path, struct dav_path *out)
{
    const char *p;
    size_t n;

    memset(out, 0, sizeof(*out));
    out->area = DAV_AREA_NONE;
    if (!path || strncmp(path, "/dav", 4) != 0 || (path[4] != '/' && path[4] != '\0'))
        return 0;
    n = strlen(path);
    out->slash = n > 0 && path[n - 1] == '/';
    p = path + 4;
    while (*p == '/')
        p++;
    if (!*p) {
        out->area = DAV_AREA_ROOT;
        return 0;
    }
    n = seg_len(p);
    if (seg_is(p, n, "principals")) {
        p += n;
        while (*p == '/')
            p++;
        if (!*p) {
            out->area = DAV_AREA_PRINCIPALS;
            return 0;
        }
        if (take_user(&p, out->user))
            return MG_EINVAL;
        if (*p)
            return 0; /* nothing below a principal: area NONE, 404 */
        out->area = DAV_AREA_PRINCIPAL;
        return 0;
    }
    for (int k = 0; k < DAV_KIND_COUNT; k++) {
        if (seg_is(p, n, kind_names[k])) {
            out->kind = (enum dav_kind)k;
            break;
        }
        if (k == DAV_KIND_COUNT - 1)
            return 0; /* unknown: NONE */
    }
    p += n;
    while (*p == '/')
        p++;
    if (!*p) {
        out->area = DAV_AREA_KIND_HOME;
        return 0;
    }
    if (take_user(&p, out->user))
        return MG_EINVAL;
    /* rel: the rest without the trailing slash; segments bounded */
    n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        n--;
    for (size_t i = 0; i < n;) {
        size_t sl = 0;
        while (i + sl < n && p[i + sl] != '/')
            sl++;
        if (sl == 0 || sl > DAV_NAME_MAX)
            return MG_EINVAL;
        i += sl + 1;
    }
    /* "coll/" user "/" kind "/" rel must fit a partition key */
    if (5 + strlen(out->user) + 1 + strlen(kind_names[out->kind]) + 1 + n > DHT_KEY_MAX)
        return MG_ETOOBIG;
    out->rel = malloc(n + 1);
    if (!out->rel)
        return MG_ENOMEM;
    memcpy(out->rel, p, n);
    out->rel[n] = '\0';
    out->area = DAV_AREA_TREE;
    return 0;
}

int dav_folder_pkey(struct buf *out, const char *user, enum dav_kind kind, const char *rel)
{
    if (rel[0])
        return buf_printf(out, "coll/%s/%s/%s", user, dav_kind_name(kind), rel);
    return buf_printf(out, "coll/%s/%s", user, dav_kind_name(kind));
}

int dav_record_keys(struct buf *pkey, const char *user, enum dav_kind kind, const char *rel,
                    const char **rkey)
{
    const char *slash = strrchr(rel, '/');

    if (!rel[0]) {
        *rkey = "";
        return dav_folder_pkey(pkey, user, kind, "");
    }
    *rkey = slash ? slash + 1 : rel;
    if (buf_printf(pkey, "coll/%s/%s", user, dav_kind_name(kind)))
        return MG_ENOMEM;
    if (slash) {
        if (buf_putc(pkey, '/') || buf_append(pkey, rel, (size_t)(slash - rel)))
            return MG_ENOMEM;
    }
    return 0;
}

char *dav_rel_parent(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    size_t n = slash ? (size_t)(slash - rel) : 0;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, rel, n);
    s[n] = '\0';
    return s;
}

const char *dav_rel_name(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return slash ? slash + 1 : rel;
}

int dav_lock_key(struct buf *out, enum dav_kind kind, const char *rel)
{
    return buf_printf(out, "%s/%s", dav_kind_name(kind), rel);
}

int dav_tree_path(struct buf *out, const char *user, enum dav_kind kind, const char *rel,
                  int folder)
{
    if (buf_printf(out, "/dav/%s/%s/", dav_kind_name(kind), user))
        return MG_ENOMEM;
    if (rel[0]) {
        if (buf_puts(out, rel))
            return MG_ENOMEM;
        if (folder && buf_putc(out, '/'))
            return MG_ENOMEM;
    }
    return 0;
}

int dav_put_href(struct buf *out, const char *path)
{
    /* mg_path_encode leaves only unreserved characters, '/' and %XX: XML-safe */
    return mg_path_encode(out, path);
}

int dav_rel_join(struct buf *out, const char *rel, const char *name)
{
    if (rel[0] && (buf_puts(out, rel) || buf_putc(out, '/')))
        return MG_ENOMEM;
    return buf_puts(out, name);
}

/* ---- loading and storing ------------------------------------------------------ */

void dav_res_init(struct dav_res *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->pkey);
    dav_record_init(&r->rec);
    r->rkey = "";
}

void dav_res_release(struct dav_res *r)
{
    if (!r)
        return;
    dav_record_release(&r->rec);
    dht_row_release(&r->row);
    buf_release(&r->pkey);
    memset(&r->row, 0, sizeof(r->row));
    r->exists = 0;
}

static void folder_record(struct dav_record *rec, int64_t now_ms)
{
    dav_record_init(rec);
    rec->type = DAV_RT_FOLDER;
    rec->mtime_ms = now_ms;
    rec->ctime_ms = now_ms;
}

/* Creates the root record of a user's tree when missing and loads it into r;
 * *created tells whether this call made it. */
static int load_root(struct dav_module *m, struct dav_res *r, int *created)
{
    struct dav_record rec;
    struct buf val;
    int rc;

    buf_init(&val);
    folder_record(&rec, (int64_t)mg_now_ms());
    rc = dav_record_encode(&rec, &val);
    if (rc)
        goto out;
    struct dht_cond cond = {.kind = DHT_COND_ABSENT};
    rc = dht_put(m->d, r->pkey.data, "", val.data, val.len, &cond, NULL, NULL);
    if (rc && rc != MG_EPRECOND)
        goto out;
    *created = rc == 0;
    rc = dht_get(m->d, r->pkey.data, "", &r->row);
out:
    buf_release(&val);
    return rc;
}

int dav_res_load(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                 struct dav_res *r)
{
    int rc;

    dav_res_release(r);
    dav_res_init(r);
    rc = dav_record_keys(&r->pkey, user, kind, rel, &r->rkey);
    if (rc)
        return rc;
    rc = dht_get(m->d, r->pkey.data, r->rkey, &r->row);
    if (rc == MG_ENOTFOUND && rel[0] && kind != DAV_KIND_FILES && !strchr(rel, '/')) {
        /* a top-level collection of a home that was never used: its first
         * use (a client going straight to .../contacts/) makes the defaults */
        struct dav_res root;
        dav_res_init(&root);
        if (dht_get(m->d, r->pkey.data, "", &root.row) == MG_ENOTFOUND) {
            int created = 0;
            root.pkey = r->pkey; /* borrowed for load_root */
            if (load_root(m, &root, &created) == 0 && created) {
                if (dav_home_defaults(m, user, kind) == 0)
                    rc = dht_get(m->d, r->pkey.data, r->rkey, &r->row);
            }
            buf_init(&root.pkey);
        }
        dav_res_release(&root);
    }
    if (rc == MG_ENOTFOUND && !rel[0]) {
        int created = 0;
        rc = load_root(m, r, &created);
        /* a new calendar or address book home gets its default collections
         * (only when this call made it, so a user may delete them for good) */
        if (!rc && created && kind != DAV_KIND_FILES) {
            int d = dav_home_defaults(m, user, kind);
            if (d)
                log_warn("dav: default collections of user=%s kind=%s failed: %s", user,
                         dav_kind_name(kind), mg_strerror(d));
        }
    }
    if (rc == MG_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    rc = dav_record_decode(r->row.value, r->row.value_len, &r->rec);
    if (rc) {
        log_err("dav: corrupt record pkey=%s row=%s", r->pkey.data, r->rkey);
        dht_row_release(&r->row);
        memset(&r->row, 0, sizeof(r->row));
        return rc == MG_ENOMEM ? rc : MG_EIO;
    }
    r->exists = 1;
    return 0;
}

int dav_res_store(struct dav_module *m, struct dav_res *r, const struct dav_record *rec)
{
    struct buf val;
    struct dht_cond cond;
    int rc;

    buf_init(&val);
    rc = dav_record_encode(rec, &val);
    if (rc)
        goto out;
    if (val.len > DHT_VALUE_MAX) {
        rc = MG_ETOOBIG;
        goto out;
    }
    memset(&cond, 0, sizeof(cond));
    if (r->exists) {
        cond.kind = DHT_COND_MATCH;
        memcpy(cond.hash, r->row.hash, DHT_HASH_LEN);
    } else {
        cond.kind = DHT_COND_ABSENT;
    }
    rc = dht_put(m->d, r->pkey.data, r->rkey, val.data, val.len, &cond, NULL, NULL);
out:
    buf_release(&val);
    return rc;
}

/* ---- whole trees ---------------------------------------------------------------- */

/* The members of a folder, collected by one scan. */
struct member {
    char *name;
    struct buf value; /* the encoded record */
    int type;
    uint64_t hlc; /* version of the row */
};

struct members {
    struct member *v;
    size_t n, cap;
    int err;
};

static void members_release(struct members *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->v[i].name);
        buf_release(&ms->v[i].value);
    }
    free(ms->v);
    memset(ms, 0, sizeof(*ms));
}

static int collect_member(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct members *ms = ctx;
    struct dav_record rec;
    struct member *mb;

    if (!rkey[0])
        return 0; /* the folder's own row */
    if (ms->n == ms->cap) {
        size_t cap = ms->cap ? ms->cap * 2 : 16;
        struct member *v = realloc(ms->v, cap * sizeof(*v));
        if (!v) {
            ms->err = MG_ENOMEM;
            return 1;
        }
        ms->v = v;
        ms->cap = cap;
    }
    mb = &ms->v[ms->n];
    memset(mb, 0, sizeof(*mb));
    buf_init(&mb->value);
    mb->name = mg_strdup(rkey);
    if (!mb->name || buf_append(&mb->value, row->value, row->value_len)) {
        free(mb->name);
        buf_release(&mb->value);
        ms->err = MG_ENOMEM;
        return 1;
    }
    /* an undecodable record is still removed by deletes; copies skip it */
    mb->type = 0;
    mb->hlc = row->version.hlc;
    if (dav_record_decode(row->value, row->value_len, &rec) == 0)
        mb->type = rec.type;
    dav_record_release(&rec);
    ms->n++;
    return 0;
}

static int list_members(struct dav_module *m, const char *pkey, struct members *ms)
{
    int rc;
    memset(ms, 0, sizeof(*ms));
    rc = dht_scan(m->d, pkey, NULL, 0, collect_member, ms);
    if (ms->err)
        return ms->err;
    return rc < 0 ? rc : 0;
}

/* Empties the partition of folder rel (members first, recursively). With
 * before_hlc, only rows older than that version go: those are leftovers of an
 * earlier folder, whereas newer rows were written into the new one. */
static int purge_folder(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                        int drop_self, uint64_t before_hlc)
{
    struct buf pkey, child;
    struct members ms;
    int rc;

    buf_init(&pkey);
    buf_init(&child);
    memset(&ms, 0, sizeof(ms));
    rc = dav_folder_pkey(&pkey, user, kind, rel);
    if (rc)
        goto out;
    rc = list_members(m, pkey.data, &ms);
    if (rc)
        goto out;
    for (size_t i = 0; i < ms.n; i++) {
        if (before_hlc && ms.v[i].hlc >= before_hlc)
            continue;
        if (ms.v[i].type != DAV_RT_FILE) {
            /* folders, and undecodable rows that might be folders */
            buf_reset(&child);
            rc = dav_rel_join(&child, rel, ms.v[i].name);
            if (rc)
                goto out;
            rc = purge_folder(m, user, kind, child.data, 1, 0);
            if (rc)
                goto out;
        }
        rc = dht_delete(m->d, pkey.data, ms.v[i].name, NULL);
        if (rc && rc != MG_ENOTFOUND)
            goto out;
        rc = 0;
    }
    if (drop_self) {
        rc = dht_delete(m->d, pkey.data, "", NULL);
        if (rc == MG_ENOTFOUND)
            rc = 0;
        /* a calendar's or address book's UID index goes with it */
        if (!rc && kind != DAV_KIND_FILES)
            rc = dav_uid_purge(m, user, kind, rel);
    }
out:
    members_release(&ms);
    buf_release(&pkey);
    buf_release(&child);
    return rc;
}

int dav_tree_delete(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                    int type, int drop_locks)
{
    struct buf pkey, lkey;
    const char *rkey;
    int rc = 0;

    buf_init(&pkey);
    buf_init(&lkey);
    /* The record goes first, so the resource vanishes at once; the members
     * follow. Leftovers of an interrupted delete are purged when a folder of
     * the same name is created again (dav_folder_create). */
    if (rel[0]) {
        rc = dav_record_keys(&pkey, user, kind, rel, &rkey);
        if (rc)
            goto out;
        rc = dht_delete(m->d, pkey.data, rkey, NULL);
        if (rc && rc != MG_ENOTFOUND)
            goto out;
    }
    if (type == DAV_RT_FOLDER) {
        rc = purge_folder(m, user, kind, rel, rel[0] != '\0', 0);
        if (rc)
            goto out;
    }
    if (drop_locks) {
        rc = dav_lock_key(&lkey, kind, rel);
        if (!rc)
            rc = dav_locks_remove_tree(m, user, lkey.data);
    }
out:
    buf_release(&pkey);
    buf_release(&lkey);
    return rc;
}

int dav_folder_create(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                      const struct dav_record *rec)
{
    struct buf pkey, val;
    struct dav_record own;
    struct dht_version claimed;
    const char *rkey;
    int rc;

    buf_init(&pkey);
    buf_init(&val);
    /* First claim the name in the parent (only one creator wins), then clear
     * what an interrupted delete may have left in the partition: rows older
     * than the claim. Rows written after it belong to the new folder. */
    rc = dav_record_keys(&pkey, user, kind, rel, &rkey);
    if (!rc)
        rc = dav_record_encode(rec, &val);
    if (rc)
        goto out;
    struct dht_cond cond = {.kind = DHT_COND_ABSENT};
    rc = dht_put(m->d, pkey.data, rkey, val.data, val.len, &cond, &claimed, NULL);
    if (rc == MG_EPRECOND)
        rc = MG_EEXIST;
    if (rc)
        goto out;
    rc = purge_folder(m, user, kind, rel, 0, claimed.hlc);
    if (rc)
        goto out;
    /* the folder's own row "": its creation time (and the partition's ctag) */
    buf_reset(&pkey);
    buf_reset(&val);
    folder_record(&own, rec->ctime_ms);
    rc = dav_folder_pkey(&pkey, user, kind, rel);
    if (!rc)
        rc = dav_record_encode(&own, &val);
    if (!rc)
        rc = dht_put(m->d, pkey.data, "", val.data, val.len, NULL, NULL, NULL);
out:
    buf_release(&pkey);
    buf_release(&val);
    return rc;
}

/* Writes rec as the record of dst (which must not exist). */
static int put_record(struct dav_module *m, const char *user, enum dav_kind kind, const char *dst,
                      const struct dav_record *rec)
{
    struct buf pkey, val;
    const char *rkey;
    int rc;

    buf_init(&pkey);
    buf_init(&val);
    rc = dav_record_keys(&pkey, user, kind, dst, &rkey);
    if (!rc)
        rc = dav_record_encode(rec, &val);
    if (!rc) {
        struct dht_cond cond = {.kind = DHT_COND_ABSENT};
        /* the root record may exist already: overwrite it */
        rc = dht_put(m->d, pkey.data, rkey, val.data, val.len, dst[0] ? &cond : NULL, NULL, NULL);
        if (rc == MG_EPRECOND)
            rc = MG_EEXIST;
    }
    buf_release(&pkey);
    buf_release(&val);
    return rc;
}

int dav_tree_copy(struct dav_module *m, const char *user, enum dav_kind kind, const char *src,
                  const struct dav_record *srec, const char *dst, int shallow, int keep_times)
{
    struct dav_record rec = *srec;
    struct buf spkey, schild, dchild;
    struct members ms;
    int64_t now = (int64_t)mg_now_ms();
    int rc;

    rec.props = NULL;
    rec.nprops = 0;
    rec.props_cap = 0;
    buf_init(&spkey);
    buf_init(&schild);
    buf_init(&dchild);
    memset(&ms, 0, sizeof(ms));
    /* the copy shares the property array of the source: the bytes are borrowed */
    rec.props = srec->props;
    rec.nprops = srec->nprops;
    if (!keep_times) {
        rec.ctime_ms = now;
        if (srec->type == DAV_RT_FOLDER)
            rec.mtime_ms = now;
    }
    if (srec->type != DAV_RT_FOLDER) {
        /* chunks are content-addressed: the manifest is the whole copy */
        rc = put_record(m, user, kind, dst, &rec);
        goto out;
    }
    rc =
        dst[0] ? dav_folder_create(m, user, kind, dst, &rec) : put_record(m, user, kind, dst, &rec);
    if (rc || shallow)
        goto out;
    rc = dav_folder_pkey(&spkey, user, kind, src);
    if (!rc)
        rc = list_members(m, spkey.data, &ms);
    if (rc)
        goto out;
    for (size_t i = 0; i < ms.n; i++) {
        struct dav_record crec;
        if (dav_record_decode(ms.v[i].value.data, ms.v[i].value.len, &crec)) {
            log_warn("dav: skipping corrupt record in copy pkey=%s row=%s", spkey.data,
                     ms.v[i].name);
            continue;
        }
        buf_reset(&schild);
        buf_reset(&dchild);
        rc = dav_rel_join(&schild, src, ms.v[i].name);
        if (!rc)
            rc = dav_rel_join(&dchild, dst, ms.v[i].name);
        if (!rc)
            rc = dav_tree_copy(m, user, kind, schild.data, &crec, dchild.data, 0, keep_times);
        dav_record_release(&crec);
        if (rc)
            goto out;
    }
    /* the copied objects' UIDs, in the copy's own index */
    if (srec->coll == DAV_COLL_CALENDAR || srec->coll == DAV_COLL_ADDRESSBOOK)
        rc = dav_uid_rebuild(m, user, kind, dst);
out:
    members_release(&ms);
    buf_release(&spkey);
    buf_release(&schild);
    buf_release(&dchild);
    return rc;
}
