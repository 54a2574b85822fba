/*
 * token.c - bearer tokens that any node verifies without a store round trip,
 * and their revocation.
 *
 * Format: "mg1." + base64url (no padding) of
 *   version (1) | flags (1: bit 0 admin, bit 1 carries a key) | iat ms (8, BE) |
 *   exp ms (8, BE) | id (16 random bytes) | user length (1) | user |
 *   [key box: nonce (24) | XChaCha20-Poly1305(secret key) (48)] |
 *   MAC (32: HMAC-SHA-512-256 of everything before it)
 * The MAC key and the key-box key are derived (crypto_kdf) from one 32-byte
 * cluster key kept in the store (partition "cluster/secrets", row "token"),
 * created by whichever node needs it first (conditional put: absent), so every
 * node of the cluster shares it.
 *
 * Why the token carries the account's secret key (encrypted): mail is sealed
 * to the account's X25519 key, and the server must open it for a logged-in
 * user. The secret key is stored only wrapped under the password, so it is
 * unwrapped once at login. Keeping it only in the memory of the node that did
 * the login would tie the session to that node, against "any node serves any
 * user" (and lose every session on restart). So the token holds it encrypted
 * under a key derived from the cluster key, bound to the token (the token's
 * header is the associated data); any node decrypts it per request into
 * sodium_malloc'd memory and wipes it afterwards. Nothing of it is stored.
 * The cost: someone holding both a token and the cluster key (i.e. the store
 * of some node) can recover the account's secret key, for good, where with a
 * per-node session table they could only use the token until it expires or is
 * revoked. Operators of nodes can read mail of users they serve anyway (the
 * server decrypts for them); a stolen token alone (without the cluster key)
 * gives no key. Tokens are short-lived (node/settings token_ttl, 12 h by
 * default) and must travel over HTTPS outside loopback.
 *
 * Revocation: logout stores the token id ("t/<hex id>" = expiry ms) and a
 * password change or account deletion stores a cut-off for the user
 * ("u/<user>" = ms; tokens issued at or before it are void) in the partition
 * "auth/revoked". Each node keeps the list in memory and refreshes it from
 * the store's change feed at most once a second, so a logout on one node is
 * honoured everywhere within about a second plus replication delay; on the
 * node that did it, at once. Entries are dropped once no token they name can
 * still be valid.
 */
#include <stdlib.h>
#include <string.h>

#include "api_private.h"

#define TOKEN_PREFIX "mg1."
#define TOKEN_VERSION 1
#define TOKEN_FLAG_ADMIN 1
#define TOKEN_FLAG_KEY 2
#define TOKEN_HEAD_LEN 35 /* version .. user length */
#define TOKEN_MAC_LEN crypto_auth_BYTES
#define TOKEN_BIN_MAX (TOKEN_HEAD_LEN + ACCT_NAME_MAX + API_TOKEN_BOX_LEN + TOKEN_MAC_LEN)
#define TOKEN_SKEW_MS (5u * 60u * 1000u) /* clock difference tolerated between nodes */
#define TOKEN_SECRETS_PKEY "cluster/secrets"
#define TOKEN_SECRETS_ROW "token"
#define TOKEN_REVOKED_PKEY "auth/revoked"
#define TOKEN_REFRESH_MS 1000
/* Writes from several coordinators can land out of HLC order: re-read a margin. */
#define TOKEN_HLC_MARGIN ((uint64_t)10000 << 16)

struct token_revoked {
    uint8_t id[API_TOKEN_ID_LEN];
    uint64_t exp_ms; /* 0 = empty slot */
};

struct token_user_cut {
    char user[ACCT_NAME_MAX + 1];
    uint64_t before_ms;
};

struct api_tokens {
    struct dht *d;    /* NULL: keys only (unit tests) */
    uint8_t *mac_key; /* sodium_malloc'd */
    uint8_t *box_key; /* sodium_malloc'd */
    pthread_mutex_t lock;
    struct token_revoked *ids; /* open addressing, power-of-two size */
    size_t ids_cap;
    size_t ids_used;
    struct token_user_cut *cuts;
    size_t ncuts;
    size_t cuts_cap;
    uint64_t last_hlc;
    uint64_t last_refresh_ms; /* monotonic */
};

/* ---- keys ------------------------------------------------------------------------- */

static int tokens_alloc(struct api_tokens **out)
{
    struct api_tokens *t = calloc(1, sizeof(*t));
    if (!t)
        return MG_ENOMEM;
    t->mac_key = sodium_malloc(crypto_auth_KEYBYTES);
    t->box_key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    t->ids_cap = 64;
    t->ids = calloc(t->ids_cap, sizeof(*t->ids));
    if (!t->mac_key || !t->box_key || !t->ids) {
        sodium_free(t->mac_key);
        sodium_free(t->box_key);
        free(t->ids);
        free(t);
        return MG_ENOMEM;
    }
    pthread_mutex_init(&t->lock, NULL);
    *out = t;
    return 0;
}

static void tokens_derive(struct api_tokens *t, const uint8_t master[32])
{
    crypto_kdf_derive_from_key(t->mac_key, crypto_auth_KEYBYTES, 1, "mgtoken_", master);
    crypto_kdf_derive_from_key(t->box_key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, 2,
                               "mgtoken_", master);
}

int api_tokens_open_key(const uint8_t key[32], struct api_tokens **out)
{
    int rc = tokens_alloc(out);
    if (!rc)
        tokens_derive(*out, key);
    return rc;
}

/* Reads the cluster key, making it when no node has yet. */
static int tokens_cluster_key(struct dht *d, uint8_t *master)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        struct dht_row row;
        int rc = dht_get(d, TOKEN_SECRETS_PKEY, TOKEN_SECRETS_ROW, &row);
        if (rc == 0) {
            char hex[65];
            int ok = row.value_len == 64;
            if (ok) {
                memcpy(hex, row.value, 64);
                hex[64] = '\0';
                ok = mg_hex_decode(hex, master, 32) == 0;
            }
            sodium_memzero(hex, sizeof(hex));
            dht_row_release(&row);
            if (!ok) {
                log_err("the cluster token key in %s is corrupt", TOKEN_SECRETS_PKEY);
                return MG_EIO;
            }
            return 0;
        }
        if (rc != MG_ENOTFOUND)
            return rc;
        char hex[65];
        crypto_kdf_keygen(master);
        mg_hex_encode(master, 32, hex);
        struct dht_cond absent = {.kind = DHT_COND_ABSENT};
        rc = dht_put(d, TOKEN_SECRETS_PKEY, TOKEN_SECRETS_ROW, hex, 64, &absent, NULL, NULL);
        sodium_memzero(hex, sizeof(hex));
        if (rc == 0) {
            log_info("made the cluster token key");
            return 0;
        }
        if (rc != MG_EPRECOND)
            return rc;
        /* another node made it first: read theirs */
    }
    return MG_EIO;
}

/* ---- revocation list (lock held) ---------------------------------------------------------- */

static size_t revoked_slot(const struct api_tokens *t, const uint8_t id[API_TOKEN_ID_LEN])
{
    uint64_t h;
    memcpy(&h, id, sizeof(h)); /* ids are random: any 8 bytes hash well */
    return (size_t)(h & (t->ids_cap - 1));
}

static int revoked_has(const struct api_tokens *t, const uint8_t id[API_TOKEN_ID_LEN])
{
    for (size_t i = revoked_slot(t, id), n = 0; n < t->ids_cap;
         i = (i + 1) & (t->ids_cap - 1), n++) {
        if (!t->ids[i].exp_ms)
            return 0;
        if (memcmp(t->ids[i].id, id, API_TOKEN_ID_LEN) == 0)
            return 1;
    }
    return 0;
}

static void revoked_put_slot(struct api_tokens *t, const uint8_t id[API_TOKEN_ID_LEN],
                             uint64_t exp_ms)
{
    size_t i = revoked_slot(t, id);
    while (t->ids[i].exp_ms && memcmp(t->ids[i].id, id, API_TOKEN_ID_LEN) != 0)
        i = (i + 1) & (t->ids_cap - 1);
    if (!t->ids[i].exp_ms)
        t->ids_used++;
    memcpy(t->ids[i].id, id, API_TOKEN_ID_LEN);
    t->ids[i].exp_ms = exp_ms;
}

/* Adds an id; rebuilds (dropping expired entries, growing if needed) at half load. */
static int revoked_add(struct api_tokens *t, const uint8_t id[API_TOKEN_ID_LEN], uint64_t exp_ms,
                       uint64_t now_ms)
{
    if (exp_ms <= now_ms || revoked_has(t, id))
        return 0;
    if ((t->ids_used + 1) * 2 > t->ids_cap) {
        size_t live = 0;
        for (size_t i = 0; i < t->ids_cap; i++)
            live += t->ids[i].exp_ms > now_ms;
        size_t cap = 64;
        while (cap < (live + 1) * 4)
            cap *= 2;
        struct token_revoked *old = t->ids;
        size_t old_cap = t->ids_cap;
        struct token_revoked *ids = calloc(cap, sizeof(*ids));
        if (!ids)
            return MG_ENOMEM;
        t->ids = ids;
        t->ids_cap = cap;
        t->ids_used = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].exp_ms > now_ms)
                revoked_put_slot(t, old[i].id, old[i].exp_ms);
        free(old);
    }
    revoked_put_slot(t, id, exp_ms);
    return 0;
}

static uint64_t cut_of(const struct api_tokens *t, const char *user)
{
    for (size_t i = 0; i < t->ncuts; i++)
        if (strcmp(t->cuts[i].user, user) == 0)
            return t->cuts[i].before_ms;
    return 0;
}

static int cut_set(struct api_tokens *t, const char *user, uint64_t before_ms)
{
    for (size_t i = 0; i < t->ncuts; i++) {
        if (strcmp(t->cuts[i].user, user) == 0) {
            if (before_ms > t->cuts[i].before_ms)
                t->cuts[i].before_ms = before_ms;
            return 0;
        }
    }
    if (strlen(user) > ACCT_NAME_MAX)
        return MG_EINVAL;
    if (t->ncuts == t->cuts_cap) {
        size_t cap = t->cuts_cap ? 2 * t->cuts_cap : 16;
        struct token_user_cut *c = realloc(t->cuts, cap * sizeof(*c));
        if (!c)
            return MG_ENOMEM;
        t->cuts = c;
        t->cuts_cap = cap;
    }
    snprintf(t->cuts[t->ncuts].user, sizeof(t->cuts[t->ncuts].user), "%s", user);
    t->cuts[t->ncuts].before_ms = before_ms;
    t->ncuts++;
    return 0;
}

struct refresh_ctx {
    struct api_tokens *t;
    uint64_t now_ms;
    uint64_t max_hlc;
};

static int refresh_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct refresh_ctx *rc = ctx;
    if (row->version.hlc > rc->max_hlc)
        rc->max_hlc = row->version.hlc;
    if (row->tombstone || row->value_len == 0 || row->value_len > 20)
        return 0;
    char num[21];
    memcpy(num, row->value, row->value_len);
    num[row->value_len] = '\0';
    uint64_t v;
    if (mg_parse_u64(num, &v))
        return 0;
    if (strncmp(rkey, "t/", 2) == 0) {
        uint8_t id[API_TOKEN_ID_LEN];
        if (mg_hex_decode(rkey + 2, id, sizeof(id)) == 0)
            revoked_add(rc->t, id, v, rc->now_ms);
    } else if (strncmp(rkey, "u/", 2) == 0 && acct_valid_name(rkey + 2)) {
        cut_set(rc->t, rkey + 2, v);
    }
    return 0;
}

/* Reads new revocations from the store (lock held); at most once a second
 * unless force. A failed read keeps the old list and is retried next time. */
static void tokens_refresh(struct api_tokens *t, int force)
{
    if (!t->d)
        return;
    uint64_t mono = mg_mono_ms();
    if (!force && t->last_refresh_ms && mono - t->last_refresh_ms < TOKEN_REFRESH_MS)
        return;
    t->last_refresh_ms = mono;
    struct refresh_ctx ctx = {t, mg_now_ms(), t->last_hlc};
    uint64_t since = t->last_hlc > TOKEN_HLC_MARGIN ? t->last_hlc - TOKEN_HLC_MARGIN : 0;
    int rc = dht_changes_since(t->d, TOKEN_REVOKED_PKEY, since, refresh_row, &ctx);
    if (rc)
        log_warn("cannot read the token revocation list: %s", mg_strerror(rc));
    else
        t->last_hlc = ctx.max_hlc;
}

struct purge_ctx {
    uint64_t now_ms;
    char **keys;
    size_t n;
    size_t cap;
};

static int purge_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct purge_ctx *pc = ctx;
    char num[21];
    uint64_t v;
    if (row->value_len == 0 || row->value_len > 20)
        return 0;
    memcpy(num, row->value, row->value_len);
    num[row->value_len] = '\0';
    if (mg_parse_u64(num, &v))
        return 0;
    /* ids matter until their token expires, cut-offs until any token issued
     * before them would have expired */
    uint64_t dead = strncmp(rkey, "u/", 2) == 0 ? v + (uint64_t)API_TOKEN_TTL_MAX * 1000u : v;
    if (dead + TOKEN_SKEW_MS >= pc->now_ms)
        return 0;
    if (pc->n == pc->cap) {
        size_t cap = pc->cap ? 2 * pc->cap : 64;
        char **k = realloc(pc->keys, cap * sizeof(*k));
        if (!k)
            return MG_ENOMEM;
        pc->keys = k;
        pc->cap = cap;
    }
    pc->keys[pc->n] = strdup(rkey);
    if (!pc->keys[pc->n])
        return MG_ENOMEM;
    pc->n++;
    return 0;
}

/* Deletes revocation entries that can no longer matter (at start-up). */
static void tokens_purge(struct dht *d)
{
    struct purge_ctx pc = {mg_now_ms(), NULL, 0, 0};
    dht_scan(d, TOKEN_REVOKED_PKEY, "", 0, purge_row, &pc);
    for (size_t i = 0; i < pc.n; i++) {
        dht_delete(d, TOKEN_REVOKED_PKEY, pc.keys[i], NULL);
        free(pc.keys[i]);
    }
    if (pc.n)
        log_info("dropped %zu stale token revocations", pc.n);
    free(pc.keys);
}

int api_tokens_open(struct dht *d, struct api_tokens **out)
{
    uint8_t *master = sodium_malloc(32);
    if (!master)
        return MG_ENOMEM;
    int rc = tokens_cluster_key(d, master);
    if (!rc)
        rc = api_tokens_open_key(master, out);
    sodium_free(master);
    if (rc)
        return rc;
    (*out)->d = d;
    tokens_purge(d);
    pthread_mutex_lock(&(*out)->lock);
    tokens_refresh(*out, 1);
    pthread_mutex_unlock(&(*out)->lock);
    return 0;
}

void api_tokens_free(struct api_tokens *t)
{
    if (!t)
        return;
    sodium_free(t->mac_key);
    sodium_free(t->box_key);
    pthread_mutex_destroy(&t->lock);
    free(t->ids);
    free(t->cuts);
    free(t);
}

/* ---- encoding ------------------------------------------------------------------------------- */

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
        v = (v << 8) | p[i];
    return v;
}

int api_token_issue(struct api_tokens *t, const char *user, int admin, uint64_t now_ms,
                    uint64_t ttl_ms, const uint8_t *sk, char **out, struct api_token *info)
{
    size_t ulen = strlen(user);
    if (!acct_valid_name(user) || ttl_ms == 0)
        return MG_EINVAL;
    struct api_token tok;
    memset(&tok, 0, sizeof(tok));
    memcpy(tok.user, user, ulen + 1);
    tok.admin = admin;
    pthread_mutex_lock(&t->lock);
    uint64_t cut = cut_of(t, user);
    pthread_mutex_unlock(&t->lock);
    tok.iat_ms = now_ms > cut ? now_ms : cut + 1;
    tok.exp_ms = tok.iat_ms + ttl_ms;
    randombytes_buf(tok.id, sizeof(tok.id));

    uint8_t bin[TOKEN_BIN_MAX];
    size_t n = 0;
    bin[n++] = TOKEN_VERSION;
    bin[n++] = (uint8_t)((admin ? TOKEN_FLAG_ADMIN : 0) | (sk ? TOKEN_FLAG_KEY : 0));
    put_u64(bin + n, tok.iat_ms);
    n += 8;
    put_u64(bin + n, tok.exp_ms);
    n += 8;
    memcpy(bin + n, tok.id, sizeof(tok.id));
    n += sizeof(tok.id);
    bin[n++] = (uint8_t)ulen;
    memcpy(bin + n, user, ulen);
    n += ulen;
    if (sk) {
        /* the header so far is the associated data: the box opens only in this token */
        uint8_t *nonce = tok.key_box;
        randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            tok.key_box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, sk, ACCT_KEY_LEN, bin,
            n, NULL, nonce, t->box_key);
        memcpy(bin + n, tok.key_box, API_TOKEN_BOX_LEN);
        n += API_TOKEN_BOX_LEN;
    }
    crypto_auth(bin + n, bin, n, t->mac_key);
    n += TOKEN_MAC_LEN;

    size_t cap = strlen(TOKEN_PREFIX) +
                 sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(cap);
    if (!s)
        return MG_ENOMEM;
    memcpy(s, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
    sodium_bin2base64(s + strlen(TOKEN_PREFIX), cap - strlen(TOKEN_PREFIX), bin, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *out = s;
    if (info)
        *info = tok;
    sodium_memzero(&tok, sizeof(tok));
    return 0;
}

enum api_token_status api_token_verify(struct api_tokens *t, const char *text, uint64_t now_ms,
                                       struct api_token *out)
{
    memset(out, 0, sizeof(*out));
    size_t plen = strlen(TOKEN_PREFIX);
    size_t tlen = strlen(text);
    if (tlen <= plen || tlen > API_TOKEN_MAX || strncmp(text, TOKEN_PREFIX, plen) != 0)
        return API_TOKEN_MALFORMED;
    uint8_t bin[TOKEN_BIN_MAX];
    size_t n = 0;
    if (sodium_base642bin(bin, sizeof(bin), text + plen, tlen - plen, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return API_TOKEN_MALFORMED;
    if (n < TOKEN_HEAD_LEN + 1 + TOKEN_MAC_LEN)
        return API_TOKEN_MALFORMED;
    size_t body = n - TOKEN_MAC_LEN;
    if (crypto_auth_verify(bin + body, bin, body, t->mac_key) != 0)
        return API_TOKEN_MALFORMED;
    /* authentic from here on: the fields were written by a node of ours */
    size_t ulen = bin[TOKEN_HEAD_LEN - 1];
    int flags = bin[1];
    size_t want = TOKEN_HEAD_LEN + ulen + ((flags & TOKEN_FLAG_KEY) ? API_TOKEN_BOX_LEN : 0);
    if (bin[0] != TOKEN_VERSION || ulen == 0 || ulen > ACCT_NAME_MAX || want != body)
        return API_TOKEN_MALFORMED;
    memcpy(out->user, bin + TOKEN_HEAD_LEN, ulen);
    out->user[ulen] = '\0';
    if (!acct_valid_name(out->user))
        return API_TOKEN_MALFORMED;
    out->admin = (flags & TOKEN_FLAG_ADMIN) != 0;
    out->iat_ms = get_u64(bin + 2);
    out->exp_ms = get_u64(bin + 10);
    memcpy(out->id, bin + 18, API_TOKEN_ID_LEN);
    if (flags & TOKEN_FLAG_KEY)
        memcpy(out->key_box, bin + TOKEN_HEAD_LEN + ulen, API_TOKEN_BOX_LEN);
    if (now_ms >= out->exp_ms)
        return API_TOKEN_EXPIRED;
    if (out->iat_ms > now_ms + TOKEN_SKEW_MS)
        return API_TOKEN_MALFORMED;
    pthread_mutex_lock(&t->lock);
    tokens_refresh(t, 0);
    int revoked = revoked_has(t, out->id) || out->iat_ms <= cut_of(t, out->user);
    pthread_mutex_unlock(&t->lock);
    return revoked ? API_TOKEN_REVOKED : API_TOKEN_OK;
}

const char *api_token_status_text(enum api_token_status st)
{
    switch (st) {
    case API_TOKEN_OK:
        return "valid";
    case API_TOKEN_EXPIRED:
        return "the token has expired";
    case API_TOKEN_REVOKED:
        return "the token was revoked (logged out)";
    case API_TOKEN_MALFORMED:
        break;
    }
    return "the token is malformed or was not issued by this cluster";
}

int api_token_secret_key(struct api_tokens *t, const struct api_token *tok, uint8_t *sk)
{
    static const uint8_t zero[API_TOKEN_BOX_LEN];
    if (sodium_memcmp(tok->key_box, zero, sizeof(zero)) == 0)
        return MG_ENOTFOUND;
    /* rebuild the associated data: the token header */
    uint8_t head[TOKEN_HEAD_LEN + ACCT_NAME_MAX];
    size_t ulen = strlen(tok->user);
    size_t n = 0;
    head[n++] = TOKEN_VERSION;
    head[n++] = (uint8_t)((tok->admin ? TOKEN_FLAG_ADMIN : 0) | TOKEN_FLAG_KEY);
    put_u64(head + n, tok->iat_ms);
    n += 8;
    put_u64(head + n, tok->exp_ms);
    n += 8;
    memcpy(head + n, tok->id, API_TOKEN_ID_LEN);
    n += API_TOKEN_ID_LEN;
    head[n++] = (uint8_t)ulen;
    memcpy(head + n, tok->user, ulen);
    n += ulen;
    const uint8_t *nonce = tok->key_box;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            sk, NULL, NULL, tok->key_box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            ACCT_KEY_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES, head, n, nonce,
            t->box_key) != 0)
        return MG_EIO;
    return 0;
}

/* ---- revocation ------------------------------------------------------------------------------ */

int api_token_revoke(struct api_tokens *t, const struct api_token *tok)
{
    int rc = 0;
    if (t->d) {
        char rkey[2 + 2 * API_TOKEN_ID_LEN + 1] = "t/";
        char val[24];
        mg_hex_encode(tok->id, API_TOKEN_ID_LEN, rkey + 2);
        snprintf(val, sizeof(val), "%llu", (unsigned long long)tok->exp_ms);
        rc = dht_put(t->d, TOKEN_REVOKED_PKEY, rkey, val, strlen(val), NULL, NULL, NULL);
    }
    pthread_mutex_lock(&t->lock);
    int rc2 = revoked_add(t, tok->id, tok->exp_ms, mg_now_ms());
    pthread_mutex_unlock(&t->lock);
    return rc ? rc : rc2;
}

int api_token_revoke_user(struct api_tokens *t, const char *user, uint64_t *before_ms)
{
    if (!acct_valid_name(user))
        return MG_EINVAL;
    uint64_t now = mg_now_ms();
    pthread_mutex_lock(&t->lock);
    uint64_t cut = cut_of(t, user);
    pthread_mutex_unlock(&t->lock);
    if (now <= cut)
        now = cut + 1;
    int rc = 0;
    if (t->d) {
        char rkey[2 + ACCT_NAME_MAX + 1];
        char val[24];
        snprintf(rkey, sizeof(rkey), "u/%s", user);
        snprintf(val, sizeof(val), "%llu", (unsigned long long)now);
        rc = dht_put(t->d, TOKEN_REVOKED_PKEY, rkey, val, strlen(val), NULL, NULL, NULL);
    }
    pthread_mutex_lock(&t->lock);
    int rc2 = cut_set(t, user, now);
    pthread_mutex_unlock(&t->lock);
    if (before_ms)
        *before_ms = now;
    return rc ? rc : rc2;
}

/* ---- the portal's cookie session ------------------------------------------------------------ */

void api_token_csrf(struct api_tokens *t, const struct api_token *tok,
                    char out[API_CSRF_LEN + 1])
{
    uint8_t h[API_CSRF_LEN / 2];
    crypto_generichash_state st;
    crypto_generichash_init(&st, t->mac_key, crypto_auth_KEYBYTES, sizeof(h));
    crypto_generichash_update(&st, (const uint8_t *)"csrf", 4);
    crypto_generichash_update(&st, tok->id, sizeof(tok->id));
    crypto_generichash_final(&st, h, sizeof(h));
    mg_hex_encode(h, sizeof(h), out);
}

int api_cookie_value(const char *header, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = len - nlen - 1;
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            if (!vlen || vlen >= cap)
                return MG_EINVAL;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = end;
    }
    return MG_ENOTFOUND;
}
