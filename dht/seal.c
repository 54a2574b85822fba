/* seal.c - sealed peer messages and the replay window (see seal.h). */
#include "seal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_MAGIC0 'M'
#define SEAL_MAGIC1 'P'
#define SEAL_KDF_CONTEXT "mgpeer01"
#define SEAL_KDF_SUBKEY 1

void seal_derive_key(const uint8_t cluster_key[32], uint8_t out[SEAL_KEY_LEN])
{
    crypto_kdf_derive_from_key(out, SEAL_KEY_LEN, SEAL_KDF_SUBKEY, SEAL_KDF_CONTEXT, cluster_key);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The associated data: the header, then the bound bytes. Both are short
 * (44 + a nonce), so one stack buffer holds them. */
#define SEAL_AD_MAX (SEAL_HEADER_LEN + 64)

static int build_ad(const uint8_t *hdr, const void *bind, size_t bind_len, uint8_t *ad,
                    size_t *ad_len)
{
    if (bind_len > SEAL_AD_MAX - SEAL_HEADER_LEN)
        return MG_EINVAL;
    memcpy(ad, hdr, SEAL_HEADER_LEN);
    if (bind_len)
        memcpy(ad + SEAL_HEADER_LEN, bind, bind_len);
    *ad_len = SEAL_HEADER_LEN + bind_len;
    return 0;
}

int seal_message(const uint8_t key[SEAL_KEY_LEN], uint8_t type, uint64_t sender, uint64_t hlc,
                 const void *bind, size_t bind_len, const void *payload, size_t len,
                 struct buf *out, uint8_t nonce_out[SEAL_NONCE_LEN])
{
    uint8_t hdr[SEAL_HEADER_LEN];
    uint8_t ad[SEAL_AD_MAX];
    size_t ad_len;
    hdr[0] = SEAL_MAGIC0;
    hdr[1] = SEAL_MAGIC1;
    hdr[2] = SEAL_VERSION;
    hdr[3] = type;
    put_u64(hdr + 4, sender);
    put_u64(hdr + 12, hlc);
    randombytes_buf(hdr + 20, SEAL_NONCE_LEN);
    if (build_ad(hdr, bind, bind_len, ad, &ad_len))
        return MG_EINVAL;
    size_t clen_max = len + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    unsigned char *ct = malloc(clen_max);
    if (!ct)
        return MG_ENOMEM;
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, payload, (unsigned long long)len, ad,
                                               ad_len, NULL, hdr + 20, key);
    size_t start = out->len;
    int rc = buf_append(out, hdr, SEAL_HEADER_LEN);
    if (!rc)
        rc = buf_append(out, ct, (size_t)clen);
    free(ct);
    if (rc) {
        out->len = start;
        return MG_ENOMEM;
    }
    if (nonce_out)
        memcpy(nonce_out, hdr + 20, SEAL_NONCE_LEN);
    return 0;
}

int seal_parse_header(const void *msg, size_t len, struct seal_header *h)
{
    const uint8_t *p = msg;
    memset(h, 0, sizeof(*h));
    if (!p || len < SEAL_HEADER_LEN || p[0] != SEAL_MAGIC0 || p[1] != SEAL_MAGIC1)
        return MG_EINVAL;
    h->version = p[2];
    h->type = p[3];
    h->sender = get_u64(p + 4);
    h->hlc = get_u64(p + 12);
    memcpy(h->nonce, p + 20, SEAL_NONCE_LEN);
    return 0;
}

int seal_open(const uint8_t key[SEAL_KEY_LEN], const void *msg, size_t len, const void *bind,
              size_t bind_len, struct seal_header *h, struct buf *out)
{
    uint8_t ad[SEAL_AD_MAX];
    size_t ad_len;
    int rc = seal_parse_header(msg, len, h);
    if (rc)
        return rc;
    /* Unknown versions are refused before any work; a newer node talking
     * to us falls back to the version we answer with. */
    if (h->version == 0 || h->version > SEAL_VERSION)
        return MG_EINVAL;
    if (len < SEAL_OVERHEAD)
        return MG_EINVAL;
    if (build_ad(msg, bind, bind_len, ad, &ad_len))
        return MG_EINVAL;
    size_t clen = len - SEAL_HEADER_LEN;
    size_t plen = clen - crypto_aead_xchacha20poly1305_ietf_ABYTES;
    size_t start = out->len;
    unsigned char *tmp = malloc(plen + 1);
    if (!tmp)
        return MG_ENOMEM;
    unsigned long long got = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(tmp, &got, NULL,
                                                   (const unsigned char *)msg + SEAL_HEADER_LEN,
                                                   clen, ad, ad_len, h->nonce, key) != 0) {
        free(tmp);
        return MG_EDENIED;
    }
    rc = buf_append(out, tmp, (size_t)got);
    if (!rc && !out->data)
        rc = buf_puts(out, "");
    sodium_memzero(tmp, plen);
    free(tmp);
    if (rc)
        out->len = start;
    return rc;
}

/* ---- replay window ------------------------------------------------------- */

struct replay_entry {
    uint8_t nonce[SEAL_NONCE_LEN];
    uint64_t ts_ms;
};

#define REPLAY_EMPTY UINT32_MAX

struct replay_window {
    pthread_mutex_t lock;
    uint64_t window_ms;
    uint64_t floor_ms;            /* newest timestamp forgotten early */
    struct replay_entry *entries; /* FIFO ring of remembered nonces */
    size_t cap, head, count;      /* head: oldest entry */
    uint32_t *table;              /* open addressing: index into entries */
    size_t tcap;                  /* 2 * cap: load stays at most 1/2 */
};

struct replay_window *replay_new(size_t capacity, uint64_t window_ms)
{
    size_t cap = 16;
    while (cap < capacity && cap < ((size_t)1 << 24))
        cap <<= 1;
    struct replay_window *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->entries = calloc(cap, sizeof(*w->entries));
    w->table = malloc(2 * cap * sizeof(*w->table));
    if (!w->entries || !w->table) {
        replay_free(w);
        return NULL;
    }
    for (size_t i = 0; i < 2 * cap; i++)
        w->table[i] = REPLAY_EMPTY;
    w->cap = cap;
    w->tcap = 2 * cap;
    w->window_ms = window_ms;
    pthread_mutex_init(&w->lock, NULL);
    return w;
}

void replay_free(struct replay_window *w)
{
    if (!w)
        return;
    if (w->table && w->entries)
        pthread_mutex_destroy(&w->lock);
    free(w->entries);
    free(w->table);
    free(w);
}

/* Nonces are uniformly random: their first bytes are a good hash. */
static size_t slot_of(const struct replay_window *w, const uint8_t *nonce)
{
    uint64_t h;
    memcpy(&h, nonce, sizeof(h));
    return (size_t)(h & (w->tcap - 1));
}

/* Removes the table slot pointing at entry idx (backward-shift deletion
 * keeps linear probing correct without tombstones, Knuth 6.4 Algorithm R). */
static void table_remove(struct replay_window *w, uint32_t idx)
{
    size_t mask = w->tcap - 1;
    size_t i = slot_of(w, w->entries[idx].nonce);
    while (w->table[i] != idx) {
        if (w->table[i] == REPLAY_EMPTY)
            return;
        i = (i + 1) & mask;
    }
    size_t j = i;
    for (;;) {
        w->table[i] = REPLAY_EMPTY;
        for (;;) {
            j = (j + 1) & mask;
            if (w->table[j] == REPLAY_EMPTY)
                return;
            size_t k = slot_of(w, w->entries[w->table[j]].nonce);
            /* Move j back to i unless its home k lies cyclically in (i, j]. */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        w->table[i] = w->table[j];
        i = j;
    }
}

int replay_check(struct replay_window *w, const uint8_t nonce[SEAL_NONCE_LEN], uint64_t ts_ms,
                 uint64_t now_ms)
{
    int rc = 0;
    pthread_mutex_lock(&w->lock);
    if (ts_ms + w->window_ms < now_ms || ts_ms <= w->floor_ms) {
        rc = MG_EINVAL;
        goto out;
    }
    size_t mask = w->tcap - 1;
    size_t i = slot_of(w, nonce);
    while (w->table[i] != REPLAY_EMPTY) {
        if (sodium_memcmp(w->entries[w->table[i]].nonce, nonce, SEAL_NONCE_LEN) == 0) {
            rc = MG_EEXIST;
            goto out;
        }
        i = (i + 1) & mask;
    }
    /* Forget the oldest entry when full; remember what may now pass unseen. */
    while (w->count == w->cap || (w->count && w->entries[w->head].ts_ms + w->window_ms < now_ms)) {
        struct replay_entry *old = &w->entries[w->head];
        if (w->count == w->cap && old->ts_ms + w->window_ms >= now_ms && old->ts_ms > w->floor_ms)
            w->floor_ms = old->ts_ms;
        table_remove(w, (uint32_t)w->head);
        w->head = (w->head + 1) & (w->cap - 1);
        w->count--;
    }
    /* The free slot may have moved while deleting: probe again. */
    i = slot_of(w, nonce);
    while (w->table[i] != REPLAY_EMPTY)
        i = (i + 1) & mask;
    size_t idx = (w->head + w->count) & (w->cap - 1);
    memcpy(w->entries[idx].nonce, nonce, SEAL_NONCE_LEN);
    w->entries[idx].ts_ms = ts_ms;
    w->table[i] = (uint32_t)idx;
    w->count++;
out:
    pthread_mutex_unlock(&w->lock);
    return rc;
}
