/*
 * peer_server.c - the server side of the peer protocol: one pure function,
 * dht_peer_handle(), that the HTTP glue calls for POST /.mesh/v1/<type>
 * with the buffered body. dht/ never sees HTTP itself (DESIGN.md: layers).
 *
 * Data messages act on this node's own replica only; coordination happens
 * on the sending side.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cluster.h"
#include "engine.h"
#include "hlc.h"
#include "wire.h"

#define PEER_PATH_PREFIX "/.mesh/v1/"
#define PEER_SCAN_PAGE_MAX 4096
#define PEER_GET_META 0x01 /* GET flag: version and hash only, no value */

static const char *const type_names[PEER_HTTP_MAX + 1] = {
    [PEER_PING] = "ping",
    [PEER_JOIN] = "join",
    [PEER_MEMBERS] = "members",
    [PEER_GET] = "get",
    [PEER_APPLY] = "apply",
    [PEER_SCAN] = "scan",
    [PEER_CHANGES] = "changes",
    [PEER_DIGEST] = "digest",
    [PEER_AE_BUCKETS] = "ae-buckets",
    [PEER_AE_SYNC] = "ae-sync",
    [PEER_STATUS] = "status",
    [PEER_REMOVE] = "remove",
    [PEER_LEAVE] = "leave",
    [PEER_APPLY_BASED] = "apply-based",
};

const char *peer_type_name(int type)
{
    if (type <= 0 || type > PEER_HTTP_MAX)
        return NULL;
    return type_names[type];
}

/* ---- partition digests --------------------------------------------------- */

struct digest_ctx {
    crypto_generichash_state st;
    uint64_t max_hlc;
    uint32_t rows;
};

static int digest_row(void *ctx, const char *pkey, const char *rkey, const struct dht_version *v,
                      int tomb, const uint8_t hash[DHT_HASH_LEN])
{
    (void)pkey;
    struct digest_ctx *dc = ctx;
    uint8_t meta[8 + 8 + 1];
    for (int i = 0; i < 8; i++) {
        meta[i] = (uint8_t)(v->hlc >> (56 - 8 * i));
        meta[8 + i] = (uint8_t)(v->node >> (56 - 8 * i));
    }
    meta[16] = (uint8_t)(tomb != 0);
    /* rkey with its NUL: no two (rkey, meta) sequences encode alike. */
    crypto_generichash_update(&dc->st, (const unsigned char *)rkey, strlen(rkey) + 1);
    crypto_generichash_update(&dc->st, meta, sizeof(meta));
    crypto_generichash_update(&dc->st, hash, DHT_HASH_LEN);
    if (v->hlc > dc->max_hlc)
        dc->max_hlc = v->hlc;
    dc->rows++;
    return 0;
}

int peer_partition_digest(struct dht *d, const char *pkey, uint8_t out[32], uint64_t *max_hlc,
                          uint32_t *rows)
{
    struct digest_ctx dc;
    memset(&dc, 0, sizeof(dc));
    crypto_generichash_init(&dc.st, NULL, 0, 32);
    int rc = dht_local_meta(d, pkey, digest_row, &dc);
    crypto_generichash_final(&dc.st, out, 32);
    if (max_hlc)
        *max_hlc = dc.max_hlc;
    if (rows)
        *rows = dc.rows;
    return rc;
}

/* ---- data messages ------------------------------------------------------- */

static int handle_get(struct cluster *c, struct wire_reader *r, struct buf *out)
{
    char pkey[DHT_KEY_MAX + 1], rkey[DHT_KEY_MAX + 1];
    wire_get_str(r, pkey, sizeof(pkey));
    wire_get_str(r, rkey, sizeof(rkey));
    uint8_t flags = wire_get_u8(r);
    if (wire_end(r))
        return 400;
    struct dht_row row;
    int rc = dht_engine_get_any(c->d, pkey, rkey, &row);
    if (rc == MG_ENOTFOUND)
        return wire_u8(out, 0) ? 500 : 200;
    if (rc)
        return 500;
    if (flags & PEER_GET_META)
        row.value_len = 0; /* wire_row sends the hash; the value stays here */
    rc = wire_u8(out, 1);
    if (!rc)
        rc = wire_row(out, &row);
    dht_row_release(&row);
    return rc ? 500 : 200;
}

/* Minimum wire size of one APPLY entry: two empty strings and a row. */
#define APPLY_ENTRY_MIN (2 + 2 + 8 + 8 + 1 + DHT_HASH_LEN + 4)

/* APPLY: count, count * (pkey, rkey, row); APPLY_BASED (based): each entry
 * followed by its base version (hlc, node). All rows are stored in a few
 * transactions (dht_engine_apply_batch), so a batch of hints or a handoff
 * costs the replica little more than one write. */
static int handle_apply(struct cluster *c, struct wire_reader *r, struct buf *out, int based)
{
    uint32_t n = wire_get_u32(r);
    if (r->err || n > r->left / APPLY_ENTRY_MIN)
        return 400;
    /* Every key is at most its wire bytes (a u16 length, then the key):
     * one block of the payload's size holds them all, NUL-terminated. */
    size_t cap = r->left + 1, used = 0;
    struct dht_apply_item *items = calloc(n ? n : 1, sizeof(*items));
    char *keys = malloc(cap);
    char key[DHT_KEY_MAX + 1];
    int status = 400;
    if (!items || !keys) {
        status = 500;
        goto out;
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        for (int k = 0; k < 2 && !r->err; k++) {
            wire_get_str(r, key, sizeof(key));
            size_t len = strlen(key);
            if (!r->err && used + len + 1 > cap)
                r->err = MG_EINVAL; /* cannot happen: keys are smaller than their encoding */
            if (r->err)
                break;
            memcpy(keys + used, key, len + 1);
            if (k == 0)
                items[i].pkey = keys + used;
            else
                items[i].rkey = keys + used;
            used += len + 1;
        }
        wire_get_row(r, &items[i].row);
        if (based) {
            items[i].has_base = 1;
            items[i].base.hlc = wire_get_u64(r);
            items[i].base.node = wire_get_u64(r);
        }
        if (!r->err && items[i].pkey[0] == CLUSTER_LOCAL_PREFIX)
            goto out;
    }
    if (wire_end(r))
        goto out;
    int rc = dht_engine_apply_batch(c->d, items, n);
    if (rc == MG_EINVAL || rc == MG_ETOOBIG)
        goto out;
    status = 500;
    if (rc)
        goto out;
    uint32_t applied = 0;
    for (uint32_t i = 0; i < n; i++)
        applied += (uint32_t)items[i].applied;
    status = wire_u32(out, applied) ? 500 : 200;
out:
    free(items);
    free(keys);
    return status;
}

struct scan_out {
    struct buf *out;
    uint32_t count;
    int err;
};

static int scan_emit(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct scan_out *so = ctx;
    if (wire_str(so->out, rkey) || wire_row(so->out, row)) {
        so->err = MG_ENOMEM;
        return MG_ENOMEM;
    }
    so->count++;
    return 0;
}

/* Reply: u8 more, u32 count, count * (rkey, row). The count is patched in
 * after the rows, so the rows stream straight into the buffer. */
static int handle_scan(struct cluster *c, struct wire_reader *r, struct buf *out, int changes)
{
    char pkey[DHT_KEY_MAX + 1], after[DHT_KEY_MAX + 1];
    uint8_t has_after = 0;
    uint32_t limit = 0;
    uint64_t since = 0;
    wire_get_str(r, pkey, sizeof(pkey));
    if (changes) {
        since = wire_get_u64(r);
    } else {
        has_after = wire_get_u8(r);
        wire_get_str(r, after, sizeof(after));
        limit = wire_get_u32(r);
    }
    if (wire_end(r))
        return 400;
    if (!changes && (limit == 0 || limit > PEER_SCAN_PAGE_MAX))
        limit = PEER_SCAN_PAGE_MAX;
    size_t head = out->len;
    uint64_t floor = 0;
    if (wire_u8(out, 0) || wire_u32(out, 0))
        return 500;
    struct scan_out so = {out, 0, 0};
    int rc = changes
                 ? dht_local_changes_since(c->d, pkey, since, scan_emit, &so)
                 : dht_local_scan_any(c->d, pkey, has_after ? after : NULL, limit, scan_emit, &so);
    if (rc < 0 || so.err || (changes && dht_local_purge_floor(c->d, pkey, &floor)))
        return 500;
    out->data[head] =
        (char)((rc == DHT_SCAN_MORE ? PEER_PAGE_MORE : 0) | (floor > since ? PEER_PAGE_PURGED : 0));
    for (int i = 0; i < 4; i++)
        out->data[head + 1 + (size_t)i] = (char)(so.count >> (24 - 8 * i));
    return 200;
}

static int handle_digest(struct cluster *c, struct wire_reader *r, struct buf *out)
{
    char pkey[DHT_KEY_MAX + 1];
    uint8_t dg[32];
    uint64_t max_hlc;
    uint32_t rows;
    wire_get_str(r, pkey, sizeof(pkey));
    if (wire_end(r))
        return 400;
    uint64_t floor;
    if (peer_partition_digest(c->d, pkey, dg, &max_hlc, &rows) ||
        dht_local_purge_floor(c->d, pkey, &floor))
        return 500;
    /* dht_partition_hlc: a token taken from it resumes with a look-back of
     * the reorder window and must still be above the floor then. */
    if (floor && floor + hlc_make(DHT_CLUSTER_REORDER_MS, 0) > max_hlc)
        max_hlc = floor + hlc_make(DHT_CLUSTER_REORDER_MS, 0);
    int rc = wire_raw(out, dg, sizeof(dg));
    if (!rc)
        rc = wire_u64(out, max_hlc);
    if (!rc)
        rc = wire_u32(out, rows);
    return rc ? 500 : 200;
}

static int dispatch(struct cluster *c, const struct seal_header *h, const struct buf *payload,
                    struct buf *out)
{
    struct wire_reader r;
    wire_reader_init(&r, payload->data, payload->len);
    switch (h->type) {
    case PEER_GET:
        return handle_get(c, &r, out);
    case PEER_APPLY:
    case PEER_APPLY_BASED:
        return handle_apply(c, &r, out, h->type == PEER_APPLY_BASED);
    case PEER_SCAN:
        return handle_scan(c, &r, out, 0);
    case PEER_CHANGES:
        return handle_scan(c, &r, out, 1);
    case PEER_DIGEST:
        return handle_digest(c, &r, out);
    case PEER_AE_BUCKETS:
        return ae_answer_buckets(c, h->sender, payload->data, payload->len, out);
    case PEER_AE_SYNC:
        return ae_answer_sync(c, h->sender, payload->data, payload->len, out);
    default:
        return cluster_handle(c, h, &r, out);
    }
}

int peer_local_answer(struct cluster *c, uint8_t type, const void *payload, size_t len,
                      struct buf *out)
{
    struct seal_header h;
    struct buf p;
    memset(&h, 0, sizeof(h));
    h.version = SEAL_VERSION;
    h.type = type;
    h.sender = c->self_id;
    /* dispatch reads a struct buf; this one only borrows payload. */
    p.data = (char *)(payload ? payload : "");
    p.len = len;
    p.cap = 0;
    return dispatch(c, &h, &p, out);
}

int dht_peer_handle(struct dht *d, const char *path, const void *body, size_t len,
                    struct buf *reply)
{
    struct cluster *c = dht_engine_cluster(d);
    struct seal_header h;
    struct buf payload, out;
    int status;
    if (!c || !c->serving)
        return buf_puts(reply, "this node is not a cluster member\n") ? 500 : 503;
    if (strncmp(path, PEER_PATH_PREFIX, strlen(PEER_PATH_PREFIX)) == 0)
        path += strlen(PEER_PATH_PREFIX);
    buf_init(&payload);
    buf_init(&out);
    int rc = cluster_admit(c, body, len, "http", &h, &payload);
    if (rc == MG_EINVAL && h.version != 0 && h.version != SEAL_VERSION) {
        buf_printf(reply, "unsupported peer protocol version %u (this node speaks %d)\n",
                   (unsigned)h.version, SEAL_VERSION);
        status = 400;
        goto out;
    }
    if (rc) {
        buf_puts(reply, "peer message refused\n");
        status = 401;
        goto out;
    }
    const char *name = peer_type_name(h.type);
    if (!name || strcmp(name, path) != 0) {
        buf_printf(reply, "no such peer message: %s\n", path);
        status = 404;
        goto out;
    }
    status = dispatch(c, &h, &payload, &out);
    if (status == 200 && cluster_seal(c, (uint8_t)(h.type | PEER_REPLY_BIT), h.nonce,
                                      SEAL_NONCE_LEN, out.data, out.len, reply, NULL))
        status = 500;
    if (status != 200 && reply->len == 0)
        buf_printf(reply, "peer message %s failed\n", name);
out:
    buf_release(&payload);
    buf_release(&out);
    return status;
}
