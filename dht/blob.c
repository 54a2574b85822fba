/*
 * blob.c - large files as content-addressed chunks plus a manifest.
 *
 * A chunk is stored as partition "blob/<hex BLAKE2b-256 of the chunk>", row "",
 * so identical chunks (the same file uploaded twice, copies) are stored once,
 * and in a cluster the chunks of one file spread over the whole ring.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunk_cache.h"
#include "engine.h"
#include "meshgate/dht.h"

#define BLOB_PKEY_PREFIX "blob/"
#define BLOB_PKEY_LEN (sizeof(BLOB_PKEY_PREFIX) - 1 + 2 * DHT_HASH_LEN)

/* Manifest encoding, version 1 (all integers big-endian):
 *   "MG" 0x4d 0x46 | version (1) | flags (bit 0: inline) | size (8)
 *   | content hash (32) | inline: size bytes of content
 *                       | chunked: chunk count (4), count * 32 bytes of chunk hashes */
#define MANIFEST_MAGIC0 'M'
#define MANIFEST_MAGIC1 'F'
#define MANIFEST_VERSION 1
#define MANIFEST_FLAG_INLINE 0x01
#define MANIFEST_HEADER_LEN (2 + 1 + 1 + 8 + DHT_HASH_LEN)

struct dht_blob_writer {
    struct dht *d;
    uint64_t max_size;
    uint64_t size;                    /* bytes accepted so far */
    crypto_generichash_state content; /* over the whole content */
    unsigned char *chunk;             /* DHT_CHUNK_SIZE bytes being filled */
    size_t fill;
    uint8_t (*chunks)[DHT_HASH_LEN];
    size_t nchunks;
    size_t cap;
    int failed; /* a write failed: the content is incomplete, finish refuses */
    int finished;
};

static void blob_pkey(const uint8_t hash[DHT_HASH_LEN], char out[BLOB_PKEY_LEN + 1])
{
    memcpy(out, BLOB_PKEY_PREFIX, sizeof(BLOB_PKEY_PREFIX) - 1);
    mg_hex_encode(hash, DHT_HASH_LEN, out + sizeof(BLOB_PKEY_PREFIX) - 1);
}

static uint64_t chunk_count(uint64_t size)
{
    return size / DHT_CHUNK_SIZE + (size % DHT_CHUNK_SIZE != 0);
}

/* ---- manifest --------------------------------------------------------------- */

void dht_manifest_init(struct dht_manifest *m)
{
    memset(m, 0, sizeof(*m));
}

void dht_manifest_release(struct dht_manifest *m)
{
    if (!m)
        return;
    free(m->inline_data);
    free(m->chunks);
    dht_manifest_init(m);
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int dht_manifest_encode(const struct dht_manifest *m, struct buf *out)
{
    unsigned char hdr[MANIFEST_HEADER_LEN];
    int is_inline = m->inline_data != NULL;
    if (is_inline ? (m->size > DHT_INLINE_MAX || m->nchunks != 0)
                  : (m->size == 0 || m->nchunks != chunk_count(m->size) || !m->chunks ||
                     m->nchunks > UINT32_MAX))
        return MG_EINVAL;
    hdr[0] = MANIFEST_MAGIC0;
    hdr[1] = MANIFEST_MAGIC1;
    hdr[2] = MANIFEST_VERSION;
    hdr[3] = is_inline ? MANIFEST_FLAG_INLINE : 0;
    put_be(hdr + 4, m->size, 8);
    memcpy(hdr + 12, m->content_hash, DHT_HASH_LEN);

    size_t start = out->len;
    int rc = buf_append(out, hdr, sizeof(hdr));
    if (!rc && is_inline) {
        rc = buf_append(out, m->inline_data, (size_t)m->size);
    } else if (!rc) {
        unsigned char n[4];
        put_be(n, m->nchunks, 4);
        rc = buf_append(out, n, sizeof(n));
        if (!rc)
            rc = buf_append(out, m->chunks, m->nchunks * DHT_HASH_LEN);
    }
    if (rc) {
        /* Leave out as it was. */
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}

int dht_manifest_decode(const void *data, size_t len, struct dht_manifest *out)
{
    const unsigned char *p = data;
    dht_manifest_init(out);
    if (!p || len < MANIFEST_HEADER_LEN || p[0] != MANIFEST_MAGIC0 || p[1] != MANIFEST_MAGIC1 ||
        p[2] != MANIFEST_VERSION || (p[3] & ~MANIFEST_FLAG_INLINE) != 0)
        return MG_EINVAL;
    uint64_t size = get_be(p + 4, 8);
    size_t rest = len - MANIFEST_HEADER_LEN;
    const unsigned char *body = p + MANIFEST_HEADER_LEN;

    if (p[3] & MANIFEST_FLAG_INLINE) {
        if (size > DHT_INLINE_MAX || rest != size)
            return MG_EINVAL;
        out->inline_data = malloc(rest + 1);
        if (!out->inline_data)
            return MG_ENOMEM;
        if (rest)
            memcpy(out->inline_data, body, rest);
        ((char *)out->inline_data)[rest] = '\0';
    } else {
        if (size == 0 || rest < 4)
            return MG_EINVAL;
        uint64_t n = get_be(body, 4);
        /* Length first: it bounds the allocation by the input's own size. */
        if ((rest - 4) % DHT_HASH_LEN != 0 || (rest - 4) / DHT_HASH_LEN != n ||
            n != chunk_count(size))
            return MG_EINVAL;
        out->chunks = malloc((size_t)n * DHT_HASH_LEN);
        if (!out->chunks)
            return MG_ENOMEM;
        memcpy(out->chunks, body + 4, (size_t)n * DHT_HASH_LEN);
        out->nchunks = (size_t)n;
    }
    out->size = size;
    memcpy(out->content_hash, p + 12, DHT_HASH_LEN);
    return 0;
}

/* ---- writer ----------------------------------------------------------------- */

int dht_blob_writer_new(struct dht *d, uint64_t max_size, struct dht_blob_writer **out)
{
    *out = NULL;
    struct dht_blob_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return MG_ENOMEM;
    w->chunk = malloc(DHT_CHUNK_SIZE);
    if (!w->chunk) {
        free(w);
        return MG_ENOMEM;
    }
    w->d = d;
    w->max_size = max_size;
    crypto_generichash_init(&w->content, NULL, 0, DHT_HASH_LEN);
    *out = w;
    return 0;
}

void dht_blob_writer_free(struct dht_blob_writer *w)
{
    if (!w)
        return;
    free(w->chunk);
    free(w->chunks);
    free(w);
}

/* Stores the buffered bytes as one chunk (unless an identical chunk is
 * stored already) and appends its hash to the list. */
static int store_chunk(struct dht_blob_writer *w)
{
    if (w->nchunks == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        void *p = realloc(w->chunks, cap * DHT_HASH_LEN);
        if (!p)
            return MG_ENOMEM;
        w->chunks = p;
        w->cap = cap;
    }
    uint8_t hash[DHT_HASH_LEN];
    char pkey[BLOB_PKEY_LEN + 1];
    crypto_generichash(hash, sizeof(hash), w->chunk, w->fill, NULL, 0);
    blob_pkey(hash, pkey);
    /* If-None-Match: * — an existing chunk (same hash, same bytes) is kept
     * as it is, written once however many files share it. */
    struct dht_cond absent = {.kind = DHT_COND_ABSENT};
    int rc = dht_engine_put_hashed(w->d, pkey, "", w->chunk, w->fill, hash, &absent, NULL);
    if (rc && rc != MG_EPRECOND)
        return rc;
    memcpy(w->chunks[w->nchunks++], hash, DHT_HASH_LEN);
    w->fill = 0;
    return 0;
}

int dht_blob_write(struct dht_blob_writer *w, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (w->failed || w->finished)
        return MG_EINVAL;
    if (!len)
        return 0;
    if (w->max_size && (len > w->max_size || w->size > w->max_size - len)) {
        w->failed = 1;
        return MG_ETOOBIG;
    }
    crypto_generichash_update(&w->content, p, len);
    w->size += len;
    while (len) {
        size_t n = DHT_CHUNK_SIZE - w->fill;
        if (n > len)
            n = len;
        memcpy(w->chunk + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
        /* Store a full chunk at once so memory stays one chunk; it can never
         * have been inline (DHT_CHUNK_SIZE > DHT_INLINE_MAX). */
        if (w->fill == DHT_CHUNK_SIZE) {
            int rc = store_chunk(w);
            if (rc) {
                w->failed = 1;
                return rc;
            }
        }
    }
    return 0;
}

int dht_blob_finish(struct dht_blob_writer *w, struct dht_manifest *out)
{
    int rc = 0;
    dht_manifest_init(out);
    if (w->failed || w->finished)
        return MG_EINVAL;
    w->finished = 1;
    if (w->nchunks == 0 && w->size <= DHT_INLINE_MAX) {
        out->inline_data = malloc(w->fill + 1);
        if (!out->inline_data)
            return MG_ENOMEM;
        if (w->fill)
            memcpy(out->inline_data, w->chunk, w->fill);
        ((char *)out->inline_data)[w->fill] = '\0';
    } else {
        if (w->fill) {
            rc = store_chunk(w);
            if (rc)
                return rc;
        }
        out->chunks = malloc(w->nchunks * DHT_HASH_LEN);
        if (!out->chunks)
            return MG_ENOMEM;
        memcpy(out->chunks, w->chunks, w->nchunks * DHT_HASH_LEN);
        out->nchunks = w->nchunks;
    }
    out->size = w->size;
    crypto_generichash_final(&w->content, out->content_hash, DHT_HASH_LEN);
    return 0;
}

/* ---- reader ----------------------------------------------------------------- */

/* Loads chunk idx of m from the store, checks it (length, and BLAKE2b of the
 * bytes: a chunk is its own checksum) and returns its bytes in *out (malloc'd). */
static int load_chunk(struct dht *d, const struct dht_manifest *m, size_t idx, size_t expect,
                      void **out)
{
    char pkey[BLOB_PKEY_LEN + 1];
    uint8_t h[DHT_HASH_LEN];
    struct dht_row row;
    *out = NULL;
    blob_pkey(m->chunks[idx], pkey);
    int rc = dht_get(d, pkey, "", &row);
    if (rc == MG_ENOTFOUND) {
        log_err("blob chunk missing chunk=%s", pkey);
        return MG_EIO;
    }
    if (rc)
        return rc;
    int ok = row.value_len == expect;
    if (ok) {
        crypto_generichash(h, sizeof(h), row.value, row.value_len, NULL, 0);
        ok = sodium_memcmp(h, m->chunks[idx], DHT_HASH_LEN) == 0;
    }
    if (!ok) {
        log_err("blob chunk corrupt chunk=%s len=%zu want=%zu", pkey, row.value_len, expect);
        dht_row_release(&row);
        return MG_EIO;
    }
    *out = row.value;
    return 0;
}

int dht_blob_read(struct dht *d, const struct dht_manifest *m, uint64_t offset, void *buf,
                  size_t len, size_t *got)
{
    *got = 0;
    if (offset >= m->size || len == 0)
        return 0;
    uint64_t left = m->size - offset;
    if (len > left)
        len = (size_t)left;
    if (m->inline_data) {
        memcpy(buf, (const char *)m->inline_data + offset, len);
        *got = len;
        return 0;
    }
    uint64_t idx = offset / DHT_CHUNK_SIZE;
    if (idx >= m->nchunks)
        return MG_EINVAL;
    size_t in_chunk = (size_t)(offset % DHT_CHUNK_SIZE);
    /* Every chunk but the last is full; the last holds the remainder. */
    size_t expect =
        idx + 1 < m->nchunks ? DHT_CHUNK_SIZE : (size_t)(m->size - idx * DHT_CHUNK_SIZE);
    if (in_chunk >= expect)
        return MG_EINVAL;
    if (len > expect - in_chunk)
        len = expect - in_chunk;

    struct dht_chunk_cache *cache = dht_engine_chunk_cache(d);
    size_t cached_len = 0;
    int rc = dht_chunk_cache_read(cache, m->chunks[idx], in_chunk, buf, len, got, &cached_len);
    if (rc == 0 && cached_len == expect)
        return 0;
    if (rc == 0) {
        /* The manifest disagrees with the chunk its hash names. */
        log_err("blob chunk has the wrong length len=%zu want=%zu", cached_len, expect);
        *got = 0;
        return MG_EIO;
    }
    void *data;
    rc = load_chunk(d, m, (size_t)idx, expect, &data);
    if (rc)
        return rc;
    memcpy(buf, (const char *)data + in_chunk, len);
    *got = len;
    dht_chunk_cache_put(cache, m->chunks[idx], data, expect);
    return 0;
}
