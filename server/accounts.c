/* accounts.c - account records in the store, argon2id password hashes. */
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

int acct_create(struct dht *d, const char *name, const char *password, int admin)
{
    if (!acct_valid_name(name) || !password)
        return MG_EINVAL;
    char hash[crypto_pwhash_STRBYTES];
    int rc = acct_hash_password(password, hash);
    if (rc)
        return rc;
    json_t *rec = json_pack("{s:s, s:s, s:b, s:I, s:I}", "name", name, "hash", hash, "admin",
                            admin, "created", (json_int_t)time(NULL), "quota", (json_int_t)0);
    sodium_memzero(hash, sizeof(hash));
    if (!rec)
        return MG_ENOMEM;
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
    if (!rc)
        rc = acct_store(d, name, rec, &cond);
out:
    sodium_memzero(hash, sizeof(hash));
    json_decref(rec);
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
        if (crypto_pwhash_str(dummy, password, strlen(password), ACCT_OPSLIMIT,
                              ACCT_MEMLIMIT) == 0)
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
