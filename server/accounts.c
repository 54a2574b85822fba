/* accounts.c - account records in the store, argon2id password hashes, and the
 * account's mail key pair (X25519, secret key wrapped under the password). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "meshgate/accounts.h"
#include "meshgate/common.h"
#include "meshgate/dht.h"

#define ACCT_INDEX "index/users"

/* argon2id cost: OWASP's recommendation (t=2, m=19 MiB). Verification results
 * are cached by server/auth.c, so the cost is paid once per credential. */
#define ACCT_OPSLIMIT 2
#define ACCT_MEMLIMIT (19u << 20)

/* Key wrapping uses the same cost; stored with each wrap so it can change.
 * Bounds for parsing: a tampered record must not make us allocate gigabytes. */
#define ACCT_WRAP_PREFIX "mgkw1$"
#define ACCT_WRAP_AD "meshgate-account-key-v1:"
#define ACCT_WRAP_OPS_MAX 16u
#define ACCT_WRAP_MEM_MAX (1u << 30)
#define ACCT_WRAP_CT_LEN (ACCT_KEY_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define ACCT_LOAD_RETRIES 3

int acct_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > ACCT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

static void acct_pkey(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "acct/%s", name);
}

/* Hashes password into out (crypto_pwhash_STRBYTES). */
static int acct_hash_password(const char *password, char out[crypto_pwhash_STRBYTES])
{
    size_t len = strlen(password);
    if (len == 0 || len > ACCT_PASSWORD_MAX)
        return MG_EINVAL;
    if (crypto_pwhash_str(out, password, len, ACCT_OPSLIMIT, ACCT_MEMLIMIT) != 0)
        return MG_ENOMEM;
    return 0;
}

/* Loads the record as JSON; *row receives its hash. Returns 0 or MG_ENOTFOUND... */
static int acct_load(struct dht *d, const char *name, json_t **out, uint8_t hash[DHT_HASH_LEN])
{
    char pkey[ACCT_NAME_MAX + 8];
    acct_pkey(name, pkey, sizeof(pkey));
    struct dht_row row;
    int rc = dht_get(d, pkey, "", &row);
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *rec = json_loadb(row.value, row.value_len, 0, &jerr);
    if (hash)
        memcpy(hash, row.hash, DHT_HASH_LEN);
    dht_row_release(&row);
    if (!rec || !json_is_object(rec)) {
        json_decref(rec);
        log_err("account record of %s is corrupt: %s", name, jerr.text);
        return MG_EIO;
    }
    *out = rec;
    return 0;
}

/* Stores rec; with expect non-NULL only if the row still has that hash. */
static int acct_store(struct dht *d, const char *name, json_t *rec, const struct dht_cond *cond)
{
    char pkey[ACCT_NAME_MAX + 8];
    acct_pkey(name, pkey, sizeof(pkey));
    char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return MG_ENOMEM;
    int rc = dht_put(d, pkey, "", text, strlen(text), cond, NULL, NULL);
    sodium_memzero(text, strlen(text));
    free(text);
    return rc;
}

/* Marks every session (REST token) issued up to now as over: set on every
 * password change or reset, checked by the REST API on each request. */
static int acct_end_sessions(json_t *rec)
{
    return json_object_set_new(rec, "sessions_before", json_integer((json_int_t)mg_now_ms()))
               ? MG_ENOMEM
               : 0;
}

/* ---- the mail key pair ---------------------------------------------------- */

/* Derives the wrapping key of name's secret key from password and salt. */
static int acct_wrap_key(const char *password, const uint8_t salt[crypto_pwhash_SALTBYTES],
                         unsigned long long ops, size_t mem,
                         uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
    if (crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, password, strlen(password),
                      salt, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return MG_ENOMEM;
    return 0;
}

/* The associated data binding a wrapped key to its account. */
static int acct_wrap_ad(const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", ACCT_WRAP_AD, name);
    return n < 0 || (size_t)n >= cap ? MG_EINVAL : 0;
}

int acct_key_wrap(const char *name, const char *password, const uint8_t sk[ACCT_KEY_LEN],
                  char **out)
{
    size_t plen = password ? strlen(password) : 0;
    if (plen == 0 || plen > ACCT_PASSWORD_MAX || !name)
        return MG_EINVAL;
    char ad[sizeof(ACCT_WRAP_AD) + ACCT_NAME_MAX + 1];
    if (acct_wrap_ad(name, ad, sizeof(ad)))
        return MG_EINVAL;
    uint8_t salt[crypto_pwhash_SALTBYTES];
    uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    uint8_t ct[ACCT_WRAP_CT_LEN];
    uint8_t *key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    if (!key)
        return MG_ENOMEM;
    randombytes_buf(salt, sizeof(salt));
    randombytes_buf(nonce, sizeof(nonce));
    int rc = acct_wrap_key(password, salt, ACCT_OPSLIMIT, ACCT_MEMLIMIT, key);
    if (rc)
        goto out;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, sk, ACCT_KEY_LEN, (const uint8_t *)ad,
                                               strlen(ad), NULL, nonce, key);
    char salt_hex[2 * sizeof(salt) + 1], nonce_hex[2 * sizeof(nonce) + 1],
        ct_hex[2 * sizeof(ct) + 1];
    mg_hex_encode(salt, sizeof(salt), salt_hex);
    mg_hex_encode(nonce, sizeof(nonce), nonce_hex);
    mg_hex_encode(ct, sizeof(ct), ct_hex);
    struct buf b;
    buf_init(&b);
    rc = buf_printf(&b, "%s%u$%u$%s$%s$%s", ACCT_WRAP_PREFIX, (unsigned)ACCT_OPSLIMIT,
                    (unsigned)ACCT_MEMLIMIT, salt_hex, nonce_hex, ct_hex);
    if (!rc) {
        *out = buf_detach(&b, NULL);
        rc = *out ? 0 : MG_ENOMEM;
    }
    buf_release(&b);
out:
    sodium_free(key);
    return rc;
}

/* Copies the '$'-terminated field at *p into out (cap bytes) and advances *p
 * past the '$' (or to the end for the last field). */
static int acct_wrap_field(const char **p, char *out, size_t cap, int last)
{
    const char *end = last ? *p + strlen(*p) : strchr(*p, '$');
    if (!end || (size_t)(end - *p) >= cap)
        return MG_EINVAL;
    memcpy(out, *p, (size_t)(end - *p));
    out[end - *p] = '\0';
    *p = last ? end : end + 1;
    return 0;
}

int acct_key_unwrap(const char *name, const char *password, const char *wrapped,
                    uint8_t sk[ACCT_KEY_LEN])
{
    if (!wrapped || strncmp(wrapped, ACCT_WRAP_PREFIX, strlen(ACCT_WRAP_PREFIX)) != 0)
        return MG_EINVAL;
    if (!password || !name || strlen(password) > ACCT_PASSWORD_MAX)
        return MG_EDENIED;
    char ad[sizeof(ACCT_WRAP_AD) + ACCT_NAME_MAX + 1];
    if (acct_wrap_ad(name, ad, sizeof(ad)))
        return MG_EDENIED;
    const char *p = wrapped + strlen(ACCT_WRAP_PREFIX);
    char ops_s[24], mem_s[24];
    char salt_hex[2 * crypto_pwhash_SALTBYTES + 1];
    char nonce_hex[2 * crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + 1];
    char ct_hex[2 * ACCT_WRAP_CT_LEN + 1];
    uint64_t ops, mem;
    uint8_t salt[crypto_pwhash_SALTBYTES];
    uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    uint8_t ct[ACCT_WRAP_CT_LEN];
    if (acct_wrap_field(&p, ops_s, sizeof(ops_s), 0) ||
        acct_wrap_field(&p, mem_s, sizeof(mem_s), 0) ||
        acct_wrap_field(&p, salt_hex, sizeof(salt_hex), 0) ||
        acct_wrap_field(&p, nonce_hex, sizeof(nonce_hex), 0) ||
        acct_wrap_field(&p, ct_hex, sizeof(ct_hex), 1) || mg_parse_u64(ops_s, &ops) ||
        mg_parse_u64(mem_s, &mem) || ops < crypto_pwhash_OPSLIMIT_MIN || ops > ACCT_WRAP_OPS_MAX ||
        mem < crypto_pwhash_MEMLIMIT_MIN || mem > ACCT_WRAP_MEM_MAX ||
        mg_hex_decode(salt_hex, salt, sizeof(salt)) ||
        mg_hex_decode(nonce_hex, nonce, sizeof(nonce)) || mg_hex_decode(ct_hex, ct, sizeof(ct)))
        return MG_EINVAL;
    uint8_t *key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    if (!key)
        return MG_ENOMEM;
    int rc = acct_wrap_key(password, salt, (unsigned long long)ops, (size_t)mem, key);
    if (!rc && crypto_aead_xchacha20poly1305_ietf_decrypt(sk, NULL, NULL, ct, sizeof(ct),
                                                          (const uint8_t *)ad, strlen(ad), nonce,
                                                          key) != 0)
        rc = MG_EDENIED;
    sodium_free(key);
    return rc;
}

/* Makes a fresh key pair for name, wraps it under password and sets
 * "public_key" and "secret_key" in rec. sk_out/pk_out (may be NULL) receive it. */
static int acct_new_keys(json_t *rec, const char *name, const char *password, uint8_t *sk_out,
                         uint8_t *pk_out)
{
    uint8_t pk[ACCT_KEY_LEN];
    char pk_hex[2 * ACCT_KEY_LEN + 1];
    char *wrapped = NULL;
    uint8_t *sk = sodium_malloc(ACCT_KEY_LEN);
    if (!sk)
        return MG_ENOMEM;
    crypto_box_keypair(pk, sk);
    int rc = acct_key_wrap(name, password, sk, &wrapped);
    if (rc)
        goto out;
    mg_hex_encode(pk, sizeof(pk), pk_hex);
    if (json_object_set_new(rec, "public_key", json_string(pk_hex)) ||
        json_object_set_new(rec, "secret_key", json_string(wrapped))) {
        rc = MG_ENOMEM;
        goto out;
    }
    if (sk_out)
        memcpy(sk_out, sk, ACCT_KEY_LEN);
    if (pk_out)
        memcpy(pk_out, pk, ACCT_KEY_LEN);
out:
    free(wrapped);
    sodium_free(sk);
    return rc;
}

int acct_create(struct dht *d, const char *name, const char *password, int admin)
{
    if (!acct_valid_name(name) || !password)
        return MG_EINVAL;
    char hash[crypto_pwhash_STRBYTES];
    int rc = acct_hash_password(password, hash);
    if (rc)
        return rc;
    json_t *rec = json_pack("{s:s, s:s, s:b, s:I, s:I}", "name", name, "hash", hash, "admin", admin,
                            "created", (json_int_t)time(NULL), "quota", (json_int_t)0);
    sodium_memzero(hash, sizeof(hash));
    if (!rec)
        return MG_ENOMEM;
    rc = acct_new_keys(rec, name, password, NULL, NULL);
    if (rc) {
        json_decref(rec);
        return rc;
    }
    struct dht_cond absent = {.kind = DHT_COND_ABSENT};
    rc = acct_store(d, name, rec, &absent);
    json_decref(rec);
    if (rc == MG_EPRECOND)
        return MG_EEXIST;
    if (rc)
        return rc;
    const char *role = admin ? "{\"admin\":true}" : "{\"admin\":false}";
    return dht_put(d, ACCT_INDEX, name, role, strlen(role), NULL, NULL, NULL);
}

int acct_set_password(struct dht *d, const char *name, const char *password)
{
    if (!acct_valid_name(name) || !password)
        return MG_EINVAL;
    char hash[crypto_pwhash_STRBYTES];
    int rc = acct_hash_password(password, hash);
    if (rc)
        return rc;
    json_t *rec = NULL;
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    rc = acct_load(d, name, &rec, cond.hash);
    if (rc)
        goto out;
    rc = json_object_set_new(rec, "hash", json_string(hash)) ? MG_ENOMEM : 0;
    /* A reset cannot unwrap the old secret key: the account gets a new pair. */
    if (!rc)
        rc = acct_new_keys(rec, name, password, NULL, NULL);
    if (!rc)
        rc = acct_end_sessions(rec);
    if (!rc)
        rc = acct_store(d, name, rec, &cond);
out:
    sodium_memzero(hash, sizeof(hash));
    json_decref(rec);
    return rc;
}

int acct_change_password(struct dht *d, const char *name, const char *old_password,
                         const char *new_password, const uint8_t expect[DHT_HASH_LEN])
{
    if (!acct_valid_name(name) || !old_password || !new_password)
        return MG_EDENIED;
    size_t nlen = strlen(new_password);
    if (nlen == 0 || nlen > ACCT_PASSWORD_MAX)
        return MG_EINVAL;
    json_t *rec = NULL;
    char *wrapped = NULL;
    char hash[crypto_pwhash_STRBYTES];
    uint8_t *sk = sodium_malloc(ACCT_KEY_LEN);
    if (!sk)
        return MG_ENOMEM;
    struct dht_cond cond = {.kind = DHT_COND_MATCH};
    int rc = acct_load(d, name, &rec, cond.hash);
    if (rc == MG_ENOTFOUND)
        rc = MG_EDENIED;
    if (rc)
        goto out;
    if (expect && memcmp(expect, cond.hash, DHT_HASH_LEN) != 0) {
        rc = MG_EPRECOND;
        goto out;
    }
    const char *old_hash = json_string_value(json_object_get(rec, "hash"));
    if (!old_hash || strlen(old_password) > ACCT_PASSWORD_MAX ||
        crypto_pwhash_str_verify(old_hash, old_password, strlen(old_password)) != 0) {
        rc = MG_EDENIED;
        goto out;
    }
    const char *old_wrapped = json_string_value(json_object_get(rec, "secret_key"));
    if (old_wrapped) {
        rc = acct_key_unwrap(name, old_password, old_wrapped, sk);
        if (rc == 0)
            rc = acct_key_wrap(name, new_password, sk, &wrapped);
        if (rc == 0)
            rc = json_object_set_new(rec, "secret_key", json_string(wrapped)) ? MG_ENOMEM : 0;
    } else {
        rc = acct_new_keys(rec, name, new_password, NULL, NULL);
    }
    if (rc == MG_EDENIED) {
        log_err("account %s: the secret key does not open with the account password", name);
        rc = MG_EIO;
    }
    if (!rc)
        rc = acct_hash_password(new_password, hash);
    if (!rc)
        rc = json_object_set_new(rec, "hash", json_string(hash)) ? MG_ENOMEM : 0;
    if (!rc)
        rc = acct_end_sessions(rec);
    if (!rc)
        rc = acct_store(d, name, rec, &cond);
out:
    sodium_memzero(hash, sizeof(hash));
    sodium_free(sk);
    free(wrapped);
    json_decref(rec);
    return rc;
}

int acct_open_key(struct dht *d, const char *name, const char *password, uint8_t sk[ACCT_KEY_LEN],
                  uint8_t pk[ACCT_KEY_LEN])
{
    if (!acct_valid_name(name) || !password || strlen(password) > ACCT_PASSWORD_MAX)
        return MG_EDENIED;
    int rc = MG_EPRECOND;
    for (int attempt = 0; attempt < ACCT_LOAD_RETRIES && rc == MG_EPRECOND; attempt++) {
        json_t *rec = NULL;
        struct dht_cond cond = {.kind = DHT_COND_MATCH};
        rc = acct_load(d, name, &rec, cond.hash);
        if (rc == MG_ENOTFOUND)
            rc = MG_EDENIED;
        if (rc)
            return rc;
        const char *wrapped = json_string_value(json_object_get(rec, "secret_key"));
        if (wrapped) {
            rc = acct_key_unwrap(name, password, wrapped, sk);
            if (rc == MG_EINVAL) {
                log_err("account %s: malformed secret_key", name);
                rc = MG_EIO;
            }
            if (!rc)
                crypto_scalarmult_base(pk, sk);
        } else {
            /* An account from before key pairs: check the password, then make one. */
            const char *hash = json_string_value(json_object_get(rec, "hash"));
            if (!hash || crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
                rc = MG_EDENIED;
            else
                rc = acct_new_keys(rec, name, password, sk, pk);
            if (!rc)
                rc = acct_store(d, name, rec, &cond);
            if (!rc)
                log_info("account %s: made its mail key pair", name);
        }
        json_decref(rec);
    }
    if (rc)
        sodium_memzero(sk, ACCT_KEY_LEN);
    return rc;
}

int acct_delete(struct dht *d, const char *name)
{
    if (!acct_valid_name(name))
        return MG_EINVAL;
    char pkey[ACCT_NAME_MAX + 8];
    acct_pkey(name, pkey, sizeof(pkey));
    int rc = dht_delete(d, pkey, "", NULL);
    int rc2 = dht_delete(d, ACCT_INDEX, name, NULL);
    if (rc == 0 || rc2 == 0)
        return 0;
    return rc;
}

struct acct_list_ctx {
    int (*fn)(void *ctx, const char *name, int admin);
    void *ctx;
};

static int acct_list_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct acct_list_ctx *lc = ctx;
    json_t *role = json_loadb(row->value, row->value_len, 0, NULL);
    int admin = json_is_true(json_object_get(role, "admin"));
    json_decref(role);
    return lc->fn(lc->ctx, rkey, admin);
}

int acct_list(struct dht *d, int (*fn)(void *ctx, const char *name, int admin), void *ctx)
{
    struct acct_list_ctx lc = {fn, ctx};
    return dht_scan(d, ACCT_INDEX, NULL, 0, acct_list_row, &lc);
}

int acct_record_hash(struct dht *d, const char *name, uint8_t out[DHT_HASH_LEN], int *is_admin)
{
    if (!acct_valid_name(name))
        return MG_ENOTFOUND;
    json_t *rec = NULL;
    int rc = acct_load(d, name, &rec, out);
    if (rc)
        return rc;
    if (is_admin)
        *is_admin = json_is_true(json_object_get(rec, "admin"));
    json_decref(rec);
    return 0;
}

int acct_get_info(struct dht *d, const char *name, struct acct_info *out)
{
    if (!acct_valid_name(name))
        return MG_ENOTFOUND;
    json_t *rec = NULL;
    memset(out, 0, sizeof(*out));
    int rc = acct_load(d, name, &rec, out->record_hash);
    if (rc)
        return rc;
    out->admin = json_is_true(json_object_get(rec, "admin"));
    json_t *v = json_object_get(rec, "created");
    out->created = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
    v = json_object_get(rec, "quota");
    out->quota =
        json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    v = json_object_get(rec, "sessions_before");
    out->sessions_before_ms =
        json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    const char *pk = json_string_value(json_object_get(rec, "public_key"));
    out->has_key = pk && mg_hex_decode(pk, out->public_key, ACCT_KEY_LEN) == 0;
    json_decref(rec);
    return 0;
}

int acct_verify(struct dht *d, const char *name, const char *password, int *is_admin,
                uint8_t record_hash[DHT_HASH_LEN])
{
    if (!acct_valid_name(name) || !password || strlen(password) > ACCT_PASSWORD_MAX)
        return MG_EDENIED;
    json_t *rec = NULL;
    uint8_t h[DHT_HASH_LEN];
    int rc = acct_load(d, name, &rec, h);
    if (rc == MG_ENOTFOUND) {
        /* Spend comparable time so timing does not reveal which names exist. */
        char dummy[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str(dummy, password, strlen(password), ACCT_OPSLIMIT, ACCT_MEMLIMIT) == 0)
            sodium_memzero(dummy, sizeof(dummy));
        return MG_EDENIED;
    }
    if (rc)
        return rc;
    const char *hash = json_string_value(json_object_get(rec, "hash"));
    rc = MG_EDENIED;
    if (hash && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0) {
        rc = 0;
        if (is_admin)
            *is_admin = json_is_true(json_object_get(rec, "admin"));
        if (record_hash)
            memcpy(record_hash, h, DHT_HASH_LEN);
    }
    json_decref(rec);
    return rc;
}
