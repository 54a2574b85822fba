/*
 * auth.c - the authentication front: a cache of verified credentials so DAV
 * clients that send Basic auth on every request stay fast, a bound on
 * concurrent argon2id verifications (each needs ~19 MiB), and lock-out of
 * accounts and addresses after repeated failures.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshgate/accounts.h"
#include "meshgate/common.h"

#define AUTH_CACHE_SLOTS 4096
#define AUTH_FAIL_SLOTS 4096
#define AUTH_MAX_VERIFYING 2
#define AUTH_RECHECK_MS 2000 /* how often a cached entry re-reads the account row */

struct auth_cache_entry {
    uint8_t key[32]; /* keyed BLAKE2b of user \0 password; all zero = empty */
    char user[ACCT_NAME_MAX + 1];
    uint8_t record_hash[DHT_HASH_LEN];
    int is_admin;
    uint64_t checked_ms; /* last time the account row was seen unchanged */
    uint64_t verified_ms;
};

struct auth_fail_entry {
    uint8_t key[16]; /* hash of "u:<user>" or "a:<address>" */
    unsigned count;
    uint64_t window_start_ms;
    uint64_t locked_until_ms;
};

struct srv_auth {
    struct dht *dht;
    const struct mg_config *cfg;
    uint8_t secret[crypto_generichash_KEYBYTES];
    pthread_mutex_t lock;
    pthread_cond_t verify_cv;
    int verifying;
    struct auth_cache_entry *cache;
    struct auth_fail_entry *fails;
};

struct srv_auth *auth_new(struct dht *d, const struct mg_config *cfg)
{
    struct srv_auth *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cache = calloc(AUTH_CACHE_SLOTS, sizeof(*a->cache));
    a->fails = calloc(AUTH_FAIL_SLOTS, sizeof(*a->fails));
    if (!a->cache || !a->fails) {
        free(a->cache);
        free(a->fails);
        free(a);
        return NULL;
    }
    a->dht = d;
    a->cfg = cfg;
    randombytes_buf(a->secret, sizeof(a->secret));
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->verify_cv, NULL);
    return a;
}

void auth_free(struct srv_auth *a)
{
    if (!a)
        return;
    sodium_memzero(a->cache, AUTH_CACHE_SLOTS * sizeof(*a->cache));
    sodium_memzero(a->secret, sizeof(a->secret));
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->verify_cv);
    free(a->cache);
    free(a->fails);
    free(a);
}

static void auth_cred_key(const struct srv_auth *a, const char *user, const char *pass,
                          uint8_t out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, a->secret, sizeof(a->secret), 32);
    crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
    crypto_generichash_update(&st, (const unsigned char *)pass, strlen(pass));
    crypto_generichash_final(&st, out, 32);
}

static struct auth_fail_entry *auth_fail_slot(struct srv_auth *a, char kind, const char *what,
                                              uint8_t key[16])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, a->secret, sizeof(a->secret), 16);
    crypto_generichash_update(&st, (const unsigned char *)&kind, 1);
    crypto_generichash_update(&st, (const unsigned char *)what, strlen(what));
    crypto_generichash_final(&st, key, 16);
    uint32_t idx;
    memcpy(&idx, key, sizeof(idx));
    return &a->fails[idx % AUTH_FAIL_SLOTS];
}

/* Returns 1 when this user or address is locked out now (lock held). */
static int auth_locked(struct srv_auth *a, const char *user, const char *peer, uint64_t now)
{
    uint8_t key[16];
    struct auth_fail_entry *e = auth_fail_slot(a, 'u', user, key);
    if (memcmp(e->key, key, 16) == 0 && e->locked_until_ms > now)
        return 1;
    e = auth_fail_slot(a, 'a', peer, key);
    return memcmp(e->key, key, 16) == 0 && e->locked_until_ms > now;
}

/* Counts a failure for key; locks it out once the threshold is reached (lock held). */
static void auth_count_failure(struct srv_auth *a, char kind, const char *what, uint64_t now)
{
    uint8_t key[16];
    struct auth_fail_entry *e = auth_fail_slot(a, kind, what, key);
    uint64_t window = (uint64_t)a->cfg->login_lockout * 1000u;
    if (memcmp(e->key, key, 16) != 0 || now - e->window_start_ms > window) {
        memcpy(e->key, key, 16);
        e->count = 0;
        e->window_start_ms = now;
    }
    e->count++;
    if (a->cfg->login_max_failures > 0 && e->count >= (unsigned)a->cfg->login_max_failures) {
        e->locked_until_ms = now + window;
        log_warn("login lock-out %s=%s failures=%u seconds=%d", kind == 'u' ? "user" : "peer",
                 what, e->count, a->cfg->login_lockout);
    }
}

void auth_kdf_enter(struct srv_auth *a)
{
    pthread_mutex_lock(&a->lock);
    while (a->verifying >= AUTH_MAX_VERIFYING)
        pthread_cond_wait(&a->verify_cv, &a->lock);
    a->verifying++;
    pthread_mutex_unlock(&a->lock);
}

void auth_kdf_leave(struct srv_auth *a)
{
    pthread_mutex_lock(&a->lock);
    a->verifying--;
    pthread_cond_signal(&a->verify_cv);
    pthread_mutex_unlock(&a->lock);
}

int auth_check_basic(struct srv_auth *a, const char *user, const char *pass, const char *peer,
                     int *is_admin)
{
    uint8_t key[32];
    auth_cred_key(a, user, pass, key);
    uint32_t idx;
    memcpy(&idx, key, sizeof(idx));
    struct auth_cache_entry *slot = &a->cache[idx % AUTH_CACHE_SLOTS];
    uint64_t now = mg_mono_ms();
    uint64_t ttl = (uint64_t)a->cfg->auth_cache_ttl * 1000u;

    /* 1. Cache: credentials verified before are accepted without argon2id;
     * the account row is re-read every few seconds so a password change or
     * deletion takes effect quickly. A cached credential is honoured even
     * during a lock-out, so an attacker cannot lock the owner out. */
    pthread_mutex_lock(&a->lock);
    int hit = sodium_memcmp(slot->key, key, 32) == 0 && now - slot->verified_ms < ttl;
    struct auth_cache_entry copy = *slot;
    pthread_mutex_unlock(&a->lock);
    if (hit) {
        if (now - copy.checked_ms < AUTH_RECHECK_MS) {
            *is_admin = copy.is_admin;
            return 0;
        }
        uint8_t h[DHT_HASH_LEN];
        int admin = copy.is_admin;
        int hrc = acct_record_hash(a->dht, user, h, &admin);
        /* When the account row cannot be read (replicas unreachable), a
         * credential verified within the TTL stays good: availability over
         * a few seconds' delay in seeing a password change. */
        if (hrc == MG_EUNAVAIL || hrc == MG_EIO) {
            *is_admin = copy.is_admin;
            return 0;
        }
        if (hrc == 0 && memcmp(h, copy.record_hash, DHT_HASH_LEN) == 0) {
            pthread_mutex_lock(&a->lock);
            if (sodium_memcmp(slot->key, key, 32) == 0)
                slot->checked_ms = now;
            pthread_mutex_unlock(&a->lock);
            *is_admin = admin;
            return 0;
        }
    }

    /* 2. Lock-out, then an argon2id verification (a bounded number at once). */
    pthread_mutex_lock(&a->lock);
    if (auth_locked(a, user, peer, now)) {
        pthread_mutex_unlock(&a->lock);
        return MG_ETOOBIG;
    }
    pthread_mutex_unlock(&a->lock);

    int admin = 0;
    uint8_t rec_hash[DHT_HASH_LEN];
    auth_kdf_enter(a);
    int rc = acct_verify(a->dht, user, pass, &admin, rec_hash);
    auth_kdf_leave(a);

    pthread_mutex_lock(&a->lock);
    now = mg_mono_ms();
    if (rc == 0) {
        memcpy(slot->key, key, 32);
        snprintf(slot->user, sizeof(slot->user), "%s", user);
        memcpy(slot->record_hash, rec_hash, DHT_HASH_LEN);
        slot->is_admin = admin;
        slot->checked_ms = now;
        slot->verified_ms = now;
        *is_admin = admin;
    } else if (rc == MG_EDENIED) {
        auth_count_failure(a, 'u', user, now);
        auth_count_failure(a, 'a', peer, now);
    } else {
        /* the store could not answer: not the client's fault, not a failure */
        log_warn("auth: cannot read account user=%s: %s", user, mg_strerror(rc));
    }
    pthread_mutex_unlock(&a->lock);
    sodium_memzero(key, sizeof(key));
    return rc;
}
