/* fuzz_manifest.c - blob manifest decoding from hostile bytes (a replica's
 * row may come from anywhere): never crashes or over-reads, and what decodes
 * re-encodes to the same bytes. */
#include "fuzz.h"
#include <string.h>

#include "meshgate/dht.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dht_manifest m;
    dht_manifest_init(&m);
    if (dht_manifest_decode(data, size, &m) == 0) {
        struct buf b;
        buf_init(&b);
        FUZZ_CHECK(dht_manifest_encode(&m, &b) == 0);
        struct dht_manifest m2;
        dht_manifest_init(&m2);
        FUZZ_CHECK(dht_manifest_decode(b.data, b.len, &m2) == 0);
        FUZZ_CHECK(m2.size == m.size && m2.nchunks == m.nchunks);
        FUZZ_CHECK(memcmp(m2.content_hash, m.content_hash, DHT_HASH_LEN) == 0);
        dht_manifest_release(&m2);
        buf_release(&b);
    }
    dht_manifest_release(&m);
    return 0;
}
