/* wire.c - peer message payload encoding (see wire.h). */
#include "wire.h"

#include <string.h>

static int put_be(struct buf *b, uint64_t v, int n)
{
    unsigned char t[8];
    for (int i = n - 1; i >= 0; i--) {
        t[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    return buf_append(b, t, (size_t)n);
}

int wire_u8(struct buf *b, uint8_t v)
{
    return put_be(b, v, 1);
}

int wire_u16(struct buf *b, uint16_t v)
{
    return put_be(b, v, 2);
}

int wire_u32(struct buf *b, uint32_t v)
{
    return put_be(b, v, 4);
}

int wire_u64(struct buf *b, uint64_t v)
{
    return put_be(b, v, 8);
}

int wire_raw(struct buf *b, const void *p, size_t len)
{
    return len ? buf_append(b, p, len) : 0;
}

int wire_str(struct buf *b, const char *s)
{
    size_t len = strlen(s);
    if (len > UINT16_MAX)
        return MG_ETOOBIG;
    int rc = wire_u16(b, (uint16_t)len);
    return rc ? rc : wire_raw(b, s, len);
}

int wire_bytes(struct buf *b, const void *p, size_t len)
{
    if (len > UINT32_MAX)
        return MG_ETOOBIG;
    int rc = wire_u32(b, (uint32_t)len);
    return rc ? rc : wire_raw(b, p, len);
}

int wire_row(struct buf *b, const struct dht_row *row)
{
    int rc = wire_u64(b, row->version.hlc);
    if (!rc)
        rc = wire_u64(b, row->version.node);
    if (!rc)
        rc = wire_u8(b, row->tombstone ? 1 : 0);
    if (!rc)
        rc = wire_raw(b, row->hash, DHT_HASH_LEN);
    if (!rc)
        rc = wire_bytes(b, row->value, row->tombstone ? 0 : row->value_len);
    return rc;
}

void wire_reader_init(struct wire_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->left = data ? len : 0;
    r->err = 0;
}

static int take(struct wire_reader *r, size_t n, const uint8_t **out)
{
    if (r->err || r->left < n) {
        r->err = MG_EINVAL;
        return MG_EINVAL;
    }
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

static uint64_t get_be(struct wire_reader *r, int n)
{
    const uint8_t *p;
    if (take(r, (size_t)n, &p))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

uint8_t wire_get_u8(struct wire_reader *r)
{
    return (uint8_t)get_be(r, 1);
}

uint16_t wire_get_u16(struct wire_reader *r)
{
    return (uint16_t)get_be(r, 2);
}

uint32_t wire_get_u32(struct wire_reader *r)
{
    return (uint32_t)get_be(r, 4);
}

uint64_t wire_get_u64(struct wire_reader *r)
{
    return get_be(r, 8);
}

void wire_get_raw(struct wire_reader *r, void *out, size_t len)
{
    const uint8_t *p;
    if (take(r, len, &p)) {
        memset(out, 0, len);
        return;
    }
    memcpy(out, p, len);
}

void wire_get_str(struct wire_reader *r, char *out, size_t cap)
{
    const uint8_t *p;
    size_t len = wire_get_u16(r);
    out[0] = '\0';
    if (r->err)
        return;
    if (len >= cap) {
        r->err = MG_EINVAL;
        return;
    }
    if (take(r, len, &p))
        return;
    if (memchr(p, '\0', len)) {
        r->err = MG_EINVAL;
        return;
    }
    memcpy(out, p, len);
    out[len] = '\0';
}

void wire_get_bytes(struct wire_reader *r, const void **out, size_t *len)
{
    const uint8_t *p = NULL;
    size_t n = wire_get_u32(r);
    *out = "";
    *len = 0;
    if (r->err || take(r, n, &p))
        return;
    *out = p;
    *len = n;
}

void wire_get_row(struct wire_reader *r, struct dht_row *row)
{
    const void *v;
    memset(row, 0, sizeof(*row));
    row->version.hlc = wire_get_u64(r);
    row->version.node = wire_get_u64(r);
    row->tombstone = wire_get_u8(r) != 0;
    wire_get_raw(r, row->hash, DHT_HASH_LEN);
    wire_get_bytes(r, &v, &row->value_len);
    row->value = (void *)v;
    if (row->value_len > DHT_VALUE_MAX || (row->tombstone && row->value_len))
        r->err = MG_EINVAL;
}

int wire_end(const struct wire_reader *r)
{
    if (r->err)
        return r->err;
    return r->left ? MG_EINVAL : 0;
}
