/*
 * record.c - the binary record kept for each DAV resource.
 *
 * Layout (all integers little-endian):
 *   "MGR1"                  magic and format version
 *   u8  type                1 file, 2 folder
 *   u8  coll                what a folder is (enum dav_coll); 0 for files
 *   u64 size                content bytes
 *   i64 mtime_ms, ctime_ms  last modified, created
 *   32  hash                content hash (the strong ETag)
 *   u16 len + bytes         content type
 *   u32 len + bytes         manifest (dht_manifest_encode)
 *   u32 nprops, then per property:
 *       u16 len + bytes     namespace URI
 *       u16 len + bytes     local name
 *       u32 len + bytes     the property element, serialised
 *   optional: u32 len + bytes   the object index (dav_objidx_encode), present
 *                               only when not empty (older records lack it)
 *
 * Decoding never reads past the end and refuses anything inconsistent, so a
 * corrupt or hostile row gives MG_EINVAL rather than a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

static const char record_magic[4] = {'M', 'G', 'R', '1'};

void dav_record_init(struct dav_record *r)
{
    memset(r, 0, sizeof(*r));
}

void dav_record_release(struct dav_record *r)
{
    if (!r)
        return;
    free(r->props);
    r->props = NULL;
    r->nprops = 0;
    r->props_cap = 0;
}

static int put_u16(struct buf *b, uint16_t v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    return buf_append(b, x, 2);
}

static int put_u32(struct buf *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    return buf_append(b, x, 4);
}

static int put_u64(struct buf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    return buf_append(b, x, 8);
}

static int put_str16(struct buf *b, const struct dav_bytes *s)
{
    if (s->n > UINT16_MAX)
        return MG_ETOOBIG;
    if (put_u16(b, (uint16_t)s->n))
        return MG_ENOMEM;
    return s->n ? buf_append(b, s->p, s->n) : 0;
}

static int put_str32(struct buf *b, const struct dav_bytes *s)
{
    if (s->n > UINT32_MAX)
        return MG_ETOOBIG;
    if (put_u32(b, (uint32_t)s->n))
        return MG_ENOMEM;
    return s->n ? buf_append(b, s->p, s->n) : 0;
}

int dav_record_encode(const struct dav_record *r, struct buf *out)
{
    int rc;
    unsigned char hdr[2] = {(unsigned char)r->type, (unsigned char)r->coll};

    if (r->nprops > UINT32_MAX)
        return MG_ETOOBIG;
    rc = buf_append(out, record_magic, sizeof(record_magic));
    if (!rc)
        rc = buf_append(out, hdr, 2);
    if (!rc)
        rc = put_u64(out, r->size);
    if (!rc)
        rc = put_u64(out, (uint64_t)r->mtime_ms);
    if (!rc)
        rc = put_u64(out, (uint64_t)r->ctime_ms);
    if (!rc)
        rc = buf_append(out, r->hash, DHT_HASH_LEN);
    if (!rc)
        rc = put_str16(out, &r->ctype);
    if (!rc)
        rc = put_str32(out, &r->manifest);
    if (!rc)
        rc = put_u32(out, (uint32_t)r->nprops);
    for (size_t i = 0; !rc && i < r->nprops; i++) {
        rc = put_str16(out, &r->props[i].ns);
        if (!rc)
            rc = put_str16(out, &r->props[i].name);
        if (!rc)
            rc = put_str32(out, &r->props[i].xml);
    }
    if (!rc && r->index.n)
        rc = put_str32(out, &r->index);
    return rc;
}

/* A bounded reader over the encoded bytes. */
struct reader {
    const unsigned char *p;
    size_t left;
};

static int get_bytes(struct reader *rd, size_t n, const unsigned char **out)
{
    if (n > rd->left)
        return MG_EINVAL;
    *out = rd->p;
    rd->p += n;
    rd->left -= n;
    return 0;
}

static int get_uint(struct reader *rd, size_t n, uint64_t *out)
{
    const unsigned char *p;
    uint64_t v = 0;
    if (get_bytes(rd, n, &p))
        return MG_EINVAL;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    *out = v;
    return 0;
}

static int get_str(struct reader *rd, size_t lenbytes, struct dav_bytes *s)
{
    uint64_t n;
    const unsigned char *p;
    if (get_uint(rd, lenbytes, &n) || get_bytes(rd, (size_t)n, &p))
        return MG_EINVAL;
    s->p = (const char *)p;
    s->n = (size_t)n;
    return 0;
}

int dav_record_decode(const void *data, size_t len, struct dav_record *r)
{
    struct reader rd = {data, len};
    const unsigned char *p;
    uint64_t v, nprops;

    dav_record_init(r);
    if (!data || get_bytes(&rd, sizeof(record_magic), &p) ||
        memcmp(p, record_magic, sizeof(record_magic)) != 0)
        return MG_EINVAL;
    if (get_bytes(&rd, 2, &p))
        return MG_EINVAL;
    if (p[0] != DAV_RT_FILE && p[0] != DAV_RT_FOLDER)
        return MG_EINVAL;
    if (p[1] > DAV_COLL_OUTBOX)
        return MG_EINVAL;
    r->type = p[0];
    r->coll = p[1];
    if (get_uint(&rd, 8, &r->size) || get_uint(&rd, 8, &v))
        return MG_EINVAL;
    r->mtime_ms = (int64_t)v;
    if (get_uint(&rd, 8, &v))
        return MG_EINVAL;
    r->ctime_ms = (int64_t)v;
    if (get_bytes(&rd, DHT_HASH_LEN, &p))
        return MG_EINVAL;
    memcpy(r->hash, p, DHT_HASH_LEN);
    if (get_str(&rd, 2, &r->ctype) || get_str(&rd, 4, &r->manifest) || get_uint(&rd, 4, &nprops))
        return MG_EINVAL;
    /* each property takes at least 8 bytes: refuse counts the data cannot hold */
    if (nprops > rd.left / 8)
        return MG_EINVAL;
    if (nprops) {
        r->props = calloc((size_t)nprops, sizeof(*r->props));
        if (!r->props)
            return MG_ENOMEM;
        r->props_cap = (size_t)nprops;
    }
    for (uint64_t i = 0; i < nprops; i++) {
        struct dav_prop *dp = &r->props[i];
        if (get_str(&rd, 2, &dp->ns) || get_str(&rd, 2, &dp->name) || get_str(&rd, 4, &dp->xml) ||
            dp->name.n == 0) {
            dav_record_release(r);
            return MG_EINVAL;
        }
        r->nprops++;
    }
    if (rd.left != 0 && (get_str(&rd, 4, &r->index) || r->index.n == 0)) {
        dav_record_release(r);
        return MG_EINVAL;
    }
    if (rd.left != 0) {
        dav_record_release(r);
        return MG_EINVAL;
    }
    return 0;
}

static int bytes_eq(const struct dav_bytes *b, const char *s)
{
    size_t n = strlen(s);
    return b->n == n && (n == 0 || memcmp(b->p, s, n) == 0);
}

long dav_record_find_prop(const struct dav_record *r, const char *ns, const char *name)
{
    for (size_t i = 0; i < r->nprops; i++) {
        if (bytes_eq(&r->props[i].name, name) && bytes_eq(&r->props[i].ns, ns))
            return (long)i;
    }
    return -1;
}

int dav_record_set_prop(struct dav_record *r, const struct dav_prop *p)
{
    for (size_t i = 0; i < r->nprops; i++) {
        struct dav_prop *q = &r->props[i];
        if (q->name.n == p->name.n && q->ns.n == p->ns.n &&
            memcmp(q->name.p, p->name.p, p->name.n) == 0 &&
            (p->ns.n == 0 || memcmp(q->ns.p, p->ns.p, p->ns.n) == 0)) {
            *q = *p;
            return 0;
        }
    }
    if (r->nprops == r->props_cap) {
        size_t cap = r->props_cap ? r->props_cap * 2 : 8;
        struct dav_prop *v = realloc(r->props, cap * sizeof(*v));
        if (!v)
            return MG_ENOMEM;
        r->props = v;
        r->props_cap = cap;
    }
    r->props[r->nprops++] = *p;
    return 0;
}

void dav_record_remove_prop(struct dav_record *r, const char *ns, const char *name)
{
    long i = dav_record_find_prop(r, ns, name);
    if (i < 0)
        return;
    memmove(&r->props[i], &r->props[i + 1], (r->nprops - (size_t)i - 1) * sizeof(*r->props));
    r->nprops--;
}

/* The ETag is the quoted hex of the first DAV_ETAG_BYTES of the content hash:
 * identical on every replica, unchanged by PROPPATCH. 128 bits keep it short
 * enough for clients that build If headers in fixed buffers (litmus
 * complex_cond_put puts two ETags and a lock token in 200 bytes). */
void dav_record_etag(const struct dav_record *r, char *out, size_t cap)
{
    char hex[2 * DAV_ETAG_BYTES + 1];
    if (cap < sizeof(hex) + 2) {
        if (cap)
            out[0] = '\0';
        return;
    }
    mg_hex_encode(r->hash, DAV_ETAG_BYTES, hex);
    out[0] = '"';
    memcpy(out + 1, hex, 2 * DAV_ETAG_BYTES);
    out[2 * DAV_ETAG_BYTES + 1] = '"';
    out[2 * DAV_ETAG_BYTES + 2] = '\0';
}

/* ---- object index ------------------------------------------------------------
 *
 *   "X1"         magic and version
 *   u8  kind     enum dav_objkind
 *   u8  comps    DAV_COMP_* bits
 *   i64 lo, hi   UTC seconds bounding every instance (INT64_MIN / INT64_MAX: open)
 *   u16 len + bytes  UID
 */

int dav_objidx_encode(const struct dav_objidx *x, struct buf *out)
{
    unsigned char hdr[4] = {'X', '1', (unsigned char)x->kind, (unsigned char)x->comps};
    int rc;

    if (x->uid.n > UINT16_MAX)
        return MG_ETOOBIG;
    rc = buf_append(out, hdr, sizeof(hdr));
    if (!rc)
        rc = put_u64(out, (uint64_t)x->lo);
    if (!rc)
        rc = put_u64(out, (uint64_t)x->hi);
    if (!rc)
        rc = put_str16(out, &x->uid);
    return rc;
}

int dav_objidx_decode(const struct dav_bytes *b, struct dav_objidx *x)
{
    struct reader rd = {(const unsigned char *)b->p, b->n};
    const unsigned char *p;
    uint64_t v;

    memset(x, 0, sizeof(*x));
    if (!b->p || get_bytes(&rd, 4, &p) || p[0] != 'X' || p[1] != '1')
        return MG_EINVAL;
    x->kind = p[2];
    x->comps = p[3];
    if (get_uint(&rd, 8, &v))
        return MG_EINVAL;
    x->lo = (int64_t)v;
    if (get_uint(&rd, 8, &v))
        return MG_EINVAL;
    x->hi = (int64_t)v;
    if (get_str(&rd, 2, &x->uid) || rd.left != 0)
        return MG_EINVAL;
    return 0;
}
