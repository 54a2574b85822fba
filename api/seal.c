/*
 * seal.c - sealed mail envelopes, message ids and mailbox names.
 *
 * Every stored copy of a message (each recipient's, the sender's) is sealed
 * to its owner's X25519 public key: a fresh random content key is sealed with
 * crypto_box_seal (anonymous sender, so the store does not learn who wrote to
 * whom), and the message and its metadata are encrypted under that key with
 * XChaCha20-Poly1305, the message id bound as associated data. Two parts so
 * that a listing opens only the small metadata (sender, subject, date,
 * attachment names), not every body. Bodies go through the blob writer:
 * inline in the row up to DHT_INLINE_MAX, as chunks of ciphertext beyond.
 * Readable without the owner's secret key: flags, received time and size,
 * which the server needs for unread counts and ordering.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"

#define SEAL_VERSION 1
#define SEAL_KEY_BOX_LEN (crypto_aead_xchacha20poly1305_ietf_KEYBYTES + crypto_box_SEALBYTES)
#define SEAL_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_AD_META "meshgate-mail-v1:meta:"
#define SEAL_AD_BODY "meshgate-mail-v1:body:"
#define SEAL_BODY_MAX (256u << 20) /* refuse to load a sealed body claiming more */

const char *const api_system_mailboxes[] = {"Inbox", "Sent", "Drafts", "Trash", "Archive", NULL};

/* ---- names -------------------------------------------------------------------------- */

void api_msgid_new(char out[API_MSGID_LEN + 1])
{
    uint64_t inv = ((uint64_t)1 << 48) - 1 - (mg_now_ms() & (((uint64_t)1 << 48) - 1));
    uint8_t rnd[4];
    randombytes_buf(rnd, sizeof(rnd));
    snprintf(out, API_MSGID_LEN + 1, "%012llx%02x%02x%02x%02x", (unsigned long long)inv, rnd[0],
             rnd[1], rnd[2], rnd[3]);
}

int api_msgid_valid(const char *id)
{
    size_t n = strlen(id);
    if (n != API_MSGID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

int api_mailbox_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > API_MAILBOX_MAX || !api_utf8_valid(name, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch == 0x7f || ch == '/')
            return 0;
    }
    /* no leading or trailing blanks: "Inbox " would look like "Inbox" */
    return name[0] != ' ' && name[n - 1] != ' ';
}

int api_mailbox_is_system(const char *name)
{
    for (size_t i = 0; api_system_mailboxes[i]; i++)
        if (strcmp(name, api_system_mailboxes[i]) == 0)
            return 1;
    return 0;
}

int api_mailbox_pkey(struct buf *out, const char *user, const char *mailbox)
{
    return buf_printf(out, "mbox/%s/%s", user, mailbox);
}

int api_mailbox_index_pkey(struct buf *out, const char *user)
{
    return buf_printf(out, "mbox/%s", user);
}

/* ---- envelopes ----------------------------------------------------------------------- */

/* Makes room for extra more bytes (plus the NUL) so that a cipher can write
 * straight into b->data + b->len: one allocation instead of a copy. */
static int seal_reserve(struct buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return MG_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    char *p = realloc(b->data, need);
    if (!p)
        return MG_ENOMEM;
    b->data = p;
    b->cap = need;
    return 0;
}

static int seal_ad(struct buf *ad, const char *prefix, const char *msgid)
{
    buf_init(ad);
    return buf_printf(ad, "%s%s", prefix, msgid);
}

/* nonce | ciphertext of data under key, with ad. */
static int seal_encrypt(const uint8_t *key, const struct buf *ad, const void *data, size_t len,
                        struct buf *out)
{
    if (len > SIZE_MAX - SEAL_NONCE_LEN - SEAL_ABYTES)
        return MG_ETOOBIG;
    buf_init(out);
    if (seal_reserve(out, SEAL_NONCE_LEN + len + SEAL_ABYTES))
        return MG_ENOMEM;
    uint8_t *p = (uint8_t *)out->data;
    randombytes_buf(p, SEAL_NONCE_LEN);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(p + SEAL_NONCE_LEN, &clen, data, len,
                                               (const uint8_t *)ad->data, ad->len, NULL, p, key);
    out->len = SEAL_NONCE_LEN + (size_t)clen;
    out->data[out->len] = '\0';
    return 0;
}

static int seal_decrypt(const uint8_t *key, const struct buf *ad, const void *data, size_t len,
                        struct buf *out)
{
    if (len < SEAL_NONCE_LEN + SEAL_ABYTES)
        return MG_EINVAL;
    const uint8_t *p = data;
    size_t mlen = len - SEAL_NONCE_LEN - SEAL_ABYTES;
    if (out->len || seal_reserve(out, mlen))
        return out->len ? MG_EINVAL : MG_ENOMEM;
    unsigned long long got = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out->data, &got, NULL,
                                                   p + SEAL_NONCE_LEN, len - SEAL_NONCE_LEN,
                                                   (const uint8_t *)ad->data, ad->len, p, key) != 0)
        return MG_EDENIED;
    out->len = (size_t)got;
    out->data[out->len] = '\0';
    return 0;
}

static int seal_put_b64(json_t *obj, const char *key, const void *data, size_t len)
{
    char *s = api_b64_encode(data, len);
    if (!s)
        return MG_ENOMEM;
    int rc = json_object_set_new(obj, key, json_string(s)) ? MG_ENOMEM : 0;
    free(s);
    return rc;
}

static int seal_get_b64(const json_t *obj, const char *key, struct buf *out)
{
    const char *s = json_string_value(json_object_get(obj, key));
    buf_init(out);
    if (!s)
        return MG_EINVAL;
    int rc = api_b64_decode(s, strlen(s), 1, out);
    if (rc)
        buf_release(out);
    return rc;
}

static json_t *seal_flags_json(const struct api_flags *f)
{
    return json_pack("{s:b, s:b, s:b}", "seen", f->seen, "flagged", f->flagged, "answered",
                     f->answered);
}

int api_mail_seal(struct dht *d, const uint8_t owner_pk[ACCT_KEY_LEN], const char *msgid,
                  const char *raw, size_t len, const json_t *meta, const struct api_flags *flags,
                  uint64_t received_ms, struct buf *out)
{
    struct buf ad, meta_ct, body_ct, manifest_bin;
    buf_init(&ad);
    buf_init(&meta_ct);
    buf_init(&body_ct);
    buf_init(&manifest_bin);
    struct dht_manifest manifest;
    dht_manifest_init(&manifest);
    struct dht_blob_writer *w = NULL;
    char *meta_text = NULL;
    json_t *env = NULL;
    uint8_t key_box[SEAL_KEY_BOX_LEN];
    uint8_t *key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    int rc = MG_ENOMEM;
    if (!key)
        goto out;
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    if (crypto_box_seal(key_box, key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, owner_pk) != 0)
        goto out;

    meta_text = json_dumps(meta, JSON_COMPACT);
    if (!meta_text)
        goto out;
    rc = seal_ad(&ad, SEAL_AD_META, msgid);
    if (!rc)
        rc = seal_encrypt(key, &ad, meta_text, strlen(meta_text), &meta_ct);
    buf_release(&ad);
    if (!rc)
        rc = seal_ad(&ad, SEAL_AD_BODY, msgid);
    if (!rc)
        rc = seal_encrypt(key, &ad, raw, len, &body_ct);
    if (!rc)
        rc = dht_blob_writer_new(d, 0, &w);
    if (!rc)
        rc = dht_blob_write(w, body_ct.data, body_ct.len);
    if (!rc)
        rc = dht_blob_finish(w, &manifest);
    if (!rc)
        rc = dht_manifest_encode(&manifest, &manifest_bin);
    if (rc)
        goto out;

    rc = MG_ENOMEM;
    env = json_pack("{s:i, s:I, s:I, s:o}", "v", SEAL_VERSION, "received", (json_int_t)received_ms,
                    "size", (json_int_t)len, "flags", seal_flags_json(flags));
    if (!env || seal_put_b64(env, "key", key_box, sizeof(key_box)) ||
        seal_put_b64(env, "meta", meta_ct.data, meta_ct.len) ||
        seal_put_b64(env, "body", manifest_bin.data, manifest_bin.len))
        goto out;
    char *text = json_dumps(env, JSON_COMPACT);
    if (!text)
        goto out;
    rc = buf_puts(out, text);
    free(text);
out:
    sodium_free(key);
    if (meta_text) {
        sodium_memzero(meta_text, strlen(meta_text));
        free(meta_text);
    }
    buf_release(&ad);
    buf_release(&meta_ct);
    buf_release(&body_ct);
    buf_release(&manifest_bin);
    dht_manifest_release(&manifest);
    dht_blob_writer_free(w);
    json_decref(env);
    return rc;
}

int api_envelope_parse(const void *data, size_t len, struct api_envelope *out)
{
    memset(out, 0, sizeof(*out));
    json_t *env = json_loadb(data, len, 0, NULL);
    json_t *v = json_object_get(env, "v");
    json_t *flags = json_object_get(env, "flags");
    if (!json_is_object(env) || !json_is_integer(v) || json_integer_value(v) != SEAL_VERSION ||
        !json_is_object(flags) || !json_is_string(json_object_get(env, "key")) ||
        !json_is_string(json_object_get(env, "meta")) ||
        !json_is_string(json_object_get(env, "body"))) {
        json_decref(env);
        return MG_EINVAL;
    }
    json_int_t received = json_integer_value(json_object_get(env, "received"));
    json_int_t size = json_integer_value(json_object_get(env, "size"));
    out->received_ms = received > 0 ? (uint64_t)received : 0;
    out->size = size > 0 ? (uint64_t)size : 0;
    out->flags.seen = json_is_true(json_object_get(flags, "seen"));
    out->flags.flagged = json_is_true(json_object_get(flags, "flagged"));
    out->flags.answered = json_is_true(json_object_get(flags, "answered"));
    out->root = env;
    return 0;
}

void api_envelope_release(struct api_envelope *e)
{
    json_decref(e->root);
    e->root = NULL;
}

int api_envelope_encode(const struct api_envelope *e, struct buf *out)
{
    if (json_object_set_new(e->root, "flags", seal_flags_json(&e->flags)))
        return MG_ENOMEM;
    char *text = json_dumps(e->root, JSON_COMPACT);
    if (!text)
        return MG_ENOMEM;
    int rc = buf_puts(out, text);
    free(text);
    return rc;
}

/* Opens the content key of e into key (the caller wipes it after use). */
static int seal_open_key(const struct api_envelope *e, const uint8_t pk[ACCT_KEY_LEN],
                         const uint8_t *sk, uint8_t *key)
{
    struct buf box;
    int rc = seal_get_b64(e->root, "key", &box);
    if (rc)
        return MG_EINVAL;
    if (box.len != SEAL_KEY_BOX_LEN)
        rc = MG_EINVAL;
    else if (crypto_box_seal_open(key, (const uint8_t *)box.data, box.len, pk, sk) != 0)
        rc = MG_EDENIED;
    buf_release(&box);
    return rc;
}

int api_mail_open_meta(const struct api_envelope *e, const char *msgid,
                       const uint8_t pk[ACCT_KEY_LEN], const uint8_t *sk, json_t **meta)
{
    struct buf ct, ad, plain;
    buf_init(&plain);
    buf_init(&ad);
    /* A listing opens one of these per message: the content key lives on the
     * stack and is wiped, not in a guarded sodium_malloc page (mmap, mprotect,
     * mlock and munmap per message were a quarter of a listing's time). */
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    int rc = seal_open_key(e, pk, sk, key);
    if (!rc)
        rc = seal_get_b64(e->root, "meta", &ct);
    if (!rc) {
        rc = seal_ad(&ad, SEAL_AD_META, msgid);
        if (!rc)
            rc = seal_decrypt(key, &ad, ct.data, ct.len, &plain);
        buf_release(&ct);
    }
    sodium_memzero(key, sizeof(key));
    if (!rc) {
        *meta = json_loadb(plain.data, plain.len, 0, NULL);
        if (!json_is_object(*meta)) {
            json_decref(*meta);
            *meta = NULL;
            rc = MG_EINVAL;
        }
    }
    if (plain.data)
        sodium_memzero(plain.data, plain.len);
    buf_release(&plain);
    buf_release(&ad);
    return rc;
}

static int seal_manifest(const struct api_envelope *e, struct dht_manifest *m)
{
    struct buf bin;
    dht_manifest_init(m);
    int rc = seal_get_b64(e->root, "body", &bin);
    if (rc)
        return MG_EINVAL;
    rc = dht_manifest_decode(bin.data, bin.len, m);
    buf_release(&bin);
    return rc;
}

int api_mail_open_body(struct dht *d, const struct api_envelope *e, const char *msgid,
                       const uint8_t pk[ACCT_KEY_LEN], const uint8_t *sk, struct buf *out)
{
    struct dht_manifest m;
    struct buf ct, ad;
    buf_init(&ct);
    buf_init(&ad);
    uint8_t *key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    if (!key)
        return MG_ENOMEM;
    int rc = seal_open_key(e, pk, sk, key);
    if (rc) {
        sodium_free(key);
        return rc;
    }
    rc = seal_manifest(e, &m);
    if (!rc && m.size > SEAL_BODY_MAX)
        rc = MG_ETOOBIG;
    if (!rc)
        rc = seal_reserve(&ct, (size_t)m.size);
    while (!rc && ct.len < m.size) {
        size_t got = 0;
        rc = dht_blob_read(d, &m, ct.len, ct.data + ct.len, (size_t)m.size - ct.len, &got);
        if (!rc && got == 0)
            rc = MG_EIO;
        ct.len += got;
    }
    if (!rc)
        rc = seal_ad(&ad, SEAL_AD_BODY, msgid);
    if (!rc)
        rc = seal_decrypt(key, &ad, ct.data, ct.len, out);
    sodium_free(key);
    dht_manifest_release(&m);
    buf_release(&ct);
    buf_release(&ad);
    return rc;
}

int api_mail_delete_chunks(struct dht *d, const struct api_envelope *e)
{
    struct dht_manifest m;
    if (seal_manifest(e, &m))
        return 0;
    int first_err = 0;
    for (size_t i = 0; i < m.nchunks; i++) {
        char pkey[5 + 2 * DHT_HASH_LEN + 1] = "blob/";
        mg_hex_encode(m.chunks[i], DHT_HASH_LEN, pkey + 5);
        int rc = dht_delete(d, pkey, "", NULL);
        if (rc && rc != MG_ENOTFOUND && !first_err)
            first_err = rc;
    }
    dht_manifest_release(&m);
    return first_err;
}
