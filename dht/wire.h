/*
 * wire.h - the binary encoding of peer message payloads (private to dht/).
 *
 * Integers are big-endian; a string is a 16-bit length and its bytes, a byte
 * string a 32-bit length and its bytes. Readers never trust a length: every
 * read checks what is left, and a failed read sets a sticky error, so a
 * parser can read a whole message and test once at the end (like SQLite's
 * record decoder tests its cursor once per record).
 */
#ifndef MESHGATE_DHT_WIRE_H
#define MESHGATE_DHT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/common.h"
#include "meshgate/dht.h"

/* Appenders: each returns 0 or MG_ENOMEM. */
int wire_u8(struct buf *b, uint8_t v);
int wire_u16(struct buf *b, uint16_t v);
int wire_u32(struct buf *b, uint32_t v);
int wire_u64(struct buf *b, uint64_t v);
int wire_raw(struct buf *b, const void *p, size_t len);
/* A string up to 65535 bytes (MG_ETOOBIG beyond). */
int wire_str(struct buf *b, const char *s);
int wire_bytes(struct buf *b, const void *p, size_t len);
/* A row: version, tombstone flag, hash, value. */
int wire_row(struct buf *b, const struct dht_row *row);

struct wire_reader {
    const uint8_t *p;
    size_t left;
    int err; /* sticky: MG_EINVAL after any short or malformed read */
};

void wire_reader_init(struct wire_reader *r, const void *data, size_t len);
uint8_t wire_get_u8(struct wire_reader *r);
uint16_t wire_get_u16(struct wire_reader *r);
uint32_t wire_get_u32(struct wire_reader *r);
uint64_t wire_get_u64(struct wire_reader *r);
/* Copies len raw bytes into out (zeroes on error). */
void wire_get_raw(struct wire_reader *r, void *out, size_t len);
/* Copies a string into out (cap bytes, NUL-terminated). A string that does
 * not fit, or holds a NUL byte, is an error. */
void wire_get_str(struct wire_reader *r, char *out, size_t cap);
/* Points *p into the message at a byte string of *len bytes (no copy). */
void wire_get_bytes(struct wire_reader *r, const void **p, size_t *len);
/* Reads a row whose value points into the message (do not release it).
 * Checks the value size and that tombstones carry no value. */
void wire_get_row(struct wire_reader *r, struct dht_row *row);
/* 0 when everything read so far was well formed and nothing is left over. */
int wire_end(const struct wire_reader *r);

#endif
