/* ring.c - consistent hashing with virtual nodes (see ring.h). */
#include "ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshgate/common.h"
#include "meshgate/dht.h"

static uint64_t first_u64(const uint8_t *h)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return v;
}

uint64_t ring_key_token(const char *pkey)
{
    uint8_t h[32];
    /* A partition's conflict copies live on the nodes of the partition: the
     * replica that keeps one writes it in the same transaction (engine.c). */
    size_t cl = strlen(DHT_CONFLICT_PREFIX);
    if (strncmp(pkey, DHT_CONFLICT_PREFIX, cl) == 0)
        pkey += cl;
    crypto_generichash(h, sizeof(h), (const unsigned char *)pkey, strlen(pkey), NULL, 0);
    return first_u64(h);
}

uint64_t ring_vnode_token(uint64_t id, uint32_t i)
{
    uint8_t in[12];
    uint8_t h[32];
    for (int k = 0; k < 8; k++)
        in[k] = (uint8_t)(id >> (56 - 8 * k));
    for (int k = 0; k < 4; k++)
        in[8 + k] = (uint8_t)(i >> (24 - 8 * k));
    crypto_generichash(h, sizeof(h), in, sizeof(in), NULL, 0);
    return first_u64(h);
}

void ring_init(struct ring *r)
{
    memset(r, 0, sizeof(*r));
}

void ring_release(struct ring *r)
{
    free(r->tokens);
    free(r->ids);
    free(r->zones);
    ring_init(r);
}

static int token_cmp(const void *a, const void *b)
{
    const struct ring_token *x = a, *y = b;
    if (x->token != y->token)
        return x->token < y->token ? -1 : 1;
    /* Equal tokens (practically never): order by member for determinism. */
    return x->member < y->member ? -1 : x->member > y->member;
}

int ring_build(struct ring *r, const uint64_t *ids, const char *const *zones, size_t n, int vnodes)
{
    struct ring nr;
    ring_init(&nr);
    if (vnodes <= 0 || n > UINT32_MAX / (size_t)vnodes)
        return MG_EINVAL;
    nr.ntokens = n * (size_t)vnodes;
    nr.nmembers = n;
    nr.tokens = calloc(nr.ntokens ? nr.ntokens : 1, sizeof(*nr.tokens));
    nr.ids = calloc(n ? n : 1, sizeof(*nr.ids));
    nr.zones = calloc(n ? n : 1, sizeof(*nr.zones));
    if (!nr.tokens || !nr.ids || !nr.zones) {
        ring_release(&nr);
        return MG_ENOMEM;
    }
    for (size_t m = 0; m < n; m++) {
        nr.ids[m] = ids[m];
        const char *z = zones ? zones[m] : NULL;
        if (z && *z) {
            snprintf(nr.zones[m], RING_ZONE_MAX, "%s", z);
            nr.zoned = 1;
        }
        for (int i = 0; i < vnodes; i++) {
            struct ring_token *t = &nr.tokens[m * (size_t)vnodes + (size_t)i];
            t->token = ring_vnode_token(ids[m], (uint32_t)i);
            t->member = (uint32_t)m;
        }
    }
    qsort(nr.tokens, nr.ntokens, sizeof(*nr.tokens), token_cmp);
    ring_release(r);
    *r = nr;
    return 0;
}

/* Index of the first token >= token (wrapping to 0). */
static size_t successor(const struct ring *r, uint64_t token)
{
    size_t lo = 0, hi = r->ntokens;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->tokens[mid].token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == r->ntokens ? 0 : lo;
}

static int in_list(const uint32_t *list, size_t n, uint32_t m)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == m)
            return 1;
    return 0;
}

static int zone_taken(const struct ring *r, const uint32_t *list, size_t n, uint32_t m)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r->zones[list[i]], r->zones[m]) == 0)
            return 1;
    return 0;
}

size_t ring_preference(const struct ring *r, uint64_t token, size_t want, uint32_t *out)
{
    size_t got = 0;
    if (!r->ntokens || !want)
        return 0;
    if (want > r->nmembers)
        want = r->nmembers;
    size_t start = successor(r, token);
    /* Pass 1 (zones only): distinct members from distinct zones. */
    if (r->zoned) {
        for (size_t k = 0; k < r->ntokens && got < want; k++) {
            uint32_t m = r->tokens[(start + k) % r->ntokens].member;
            if (!in_list(out, got, m) && !zone_taken(r, out, got, m))
                out[got++] = m;
        }
    }
    /* Pass 2: fill with the next distinct members in ring order. */
    for (size_t k = 0; k < r->ntokens && got < want; k++) {
        uint32_t m = r->tokens[(start + k) % r->ntokens].member;
        if (!in_list(out, got, m))
            out[got++] = m;
    }
    return got;
}

void ring_ownership(const struct ring *r, size_t n, double *share)
{
    for (size_t i = 0; i < r->nmembers; i++)
        share[i] = 0;
    if (!r->ntokens || !n)
        return;
    uint32_t *pref = calloc(n, sizeof(*pref));
    if (!pref)
        return;
    const double full = 18446744073709551616.0; /* 2^64 */
    for (size_t i = 0; i < r->ntokens; i++) {
        /* The arc (previous token, this token] maps to this token's list. */
        uint64_t prev = r->tokens[(i + r->ntokens - 1) % r->ntokens].token;
        uint64_t arc = r->tokens[i].token - prev; /* wraps correctly mod 2^64 */
        double frac = r->ntokens == 1 ? 1.0 : (double)arc / full;
        size_t got = ring_preference(r, r->tokens[i].token, n, pref);
        for (size_t k = 0; k < got; k++)
            share[pref[k]] += frac;
    }
    free(pref);
}
