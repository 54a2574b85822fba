/*
 * cluster.c - the cluster layer's lifecycle and member table: cluster state
 * on disk (<data_dir>/cluster.json, mode 0600: cluster key, N/W/R, members),
 * join tokens, joining, the ring, admission of sealed messages, membership
 * messages, the background threads (maintenance: membership exchange,
 * hints, repairs, state file; anti-entropy: rounds and handoffs), and the
 * operator's view.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cluster.h"
#include "discovery.h"
#include "engine.h"
#include "hlc.h"
#include "identity.h"
#include "wire.h"

#define TOKEN_PREFIX "mgc1."
#define CLUSTER_KEY_LEN 32
#define REPLAY_CAPACITY 65536
#define REPLAY_WINDOW_MS HLC_MAX_DRIFT_MS
#define JOIN_RETRY_MS 30000
#define HINT_REPLAY_EVERY_MS 1000
#define HINT_REPLAY_BUDGET_MS 2000 /* one replay pass, then the other duties */
#define MAINT_TICK_MS 200
#define BULK_TIMEOUT_FACTOR 4
#define BULK_TIMEOUT_MIN_MS 5000
#define MEMBER_SYNC_EVERY_MS 2000
#define SELF_WAIT_MS 60000  /* how long a starting member waits for its own HTTP server */
#define RING_SETTLE_MS 1500 /* after a ring change, wait this long before moving data */

static const struct cluster_params default_params = {
    .n = 3,
    .w = 2,
    .r = 2,
    .gossip_ms = 1000,
    .suspect_ms = 5000,
    .ae_ms = 30000,
    .timeout_ms = 3000,
};

const char *member_state_name(enum member_state s)
{
    switch (s) {
    case MEMBER_ALIVE:
        return "alive";
    case MEMBER_SUSPECT:
        return "suspect";
    case MEMBER_DEAD:
        return "dead";
    case MEMBER_LEFT:
        return "left";
    }
    return "?";
}

static int state_from_name(const char *s, enum member_state *out)
{
    for (int i = MEMBER_ALIVE; i <= MEMBER_LEFT; i++) {
        if (s && strcmp(s, member_state_name((enum member_state)i)) == 0) {
            *out = (enum member_state)i;
            return 0;
        }
    }
    return MG_EINVAL;
}

static void params_clamp(struct cluster_params *p)
{
    if (p->n < 1)
        p->n = default_params.n;
    if (p->n > CLUSTER_MAX_REPLICAS)
        p->n = CLUSTER_MAX_REPLICAS;
    if (p->w < 1 || p->w > p->n)
        p->w = p->w < 1 ? (p->n >= 2 ? 2 : 1) : p->n;
    if (p->r < 1 || p->r > p->n)
        p->r = p->r < 1 ? (p->n >= 2 ? 2 : 1) : p->n;
    if (p->gossip_ms < 50)
        p->gossip_ms = p->gossip_ms <= 0 ? default_params.gossip_ms : 50;
    if (p->suspect_ms <= 0)
        p->suspect_ms = 5 * p->gossip_ms;
    if (p->ae_ms < 200)
        p->ae_ms = p->ae_ms <= 0 ? default_params.ae_ms : 200;
    if (p->timeout_ms < 100)
        p->timeout_ms = p->timeout_ms <= 0 ? default_params.timeout_ms : 100;
}

/* ---- tokens ------------------------------------------------------------------- */

static int token_make(const uint8_t key[CLUSTER_KEY_LEN], const char *addr, char **out)
{
    size_t alen = addr ? strlen(addr) : 0;
    if (alen >= CLUSTER_ADDR_MAX)
        return MG_EINVAL;
    uint8_t raw[CLUSTER_KEY_LEN + CLUSTER_ADDR_MAX];
    memcpy(raw, key, CLUSTER_KEY_LEN);
    if (alen)
        memcpy(raw + CLUSTER_KEY_LEN, addr, alen);
    size_t rlen = CLUSTER_KEY_LEN + alen;
    size_t b64 = sodium_base64_ENCODED_LEN(rlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *t = malloc(sizeof(TOKEN_PREFIX) + b64);
    if (!t) {
        sodium_memzero(raw, sizeof(raw));
        return MG_ENOMEM;
    }
    memcpy(t, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
    sodium_bin2base64(t + sizeof(TOKEN_PREFIX) - 1, b64, raw, rlen,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    *out = t;
    return 0;
}

/* Decodes a join token into key and (optional) address. */
static int token_parse(const char *token, uint8_t key[CLUSTER_KEY_LEN], char addr[CLUSTER_ADDR_MAX])
{
    uint8_t raw[CLUSTER_KEY_LEN + CLUSTER_ADDR_MAX];
    size_t rlen = 0;
    addr[0] = '\0';
    if (!token || strncmp(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1) != 0)
        return MG_EINVAL;
    const char *b = token + sizeof(TOKEN_PREFIX) - 1;
    if (sodium_base642bin(raw, sizeof(raw), b, strlen(b), NULL, &rlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        rlen < CLUSTER_KEY_LEN || rlen >= sizeof(raw)) {
        sodium_memzero(raw, sizeof(raw));
        return MG_EINVAL;
    }
    memcpy(key, raw, CLUSTER_KEY_LEN);
    memcpy(addr, raw + CLUSTER_KEY_LEN, rlen - CLUSTER_KEY_LEN);
    addr[rlen - CLUSTER_KEY_LEN] = '\0';
    sodium_memzero(raw, sizeof(raw));
    for (const char *p = addr; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return MG_EINVAL;
    return 0;
}

/* The numeric host of "host:port" (IPv6 in brackets) into out, "" when it
 * is a name or the unspecified address (nothing to bind to). */
static void source_ip_of(const char *addr, char out[CLUSTER_ADDR_MAX])
{
    char host[CLUSTER_ADDR_MAX];
    unsigned char bin[sizeof(struct in6_addr)];
    static const unsigned char zero[sizeof(struct in6_addr)];
    out[0] = '\0';
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host))
        return;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *h = host;
    size_t len = strlen(h);
    if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
        h[len - 1] = '\0';
        h++;
    }
    if (inet_pton(AF_INET, h, bin) == 1) {
        if (memcmp(bin, zero, 4) != 0)
            snprintf(out, CLUSTER_ADDR_MAX, "%s", h);
    } else if (inet_pton(AF_INET6, h, bin) == 1) {
        if (memcmp(bin, zero, sizeof(bin)) != 0)
            snprintf(out, CLUSTER_ADDR_MAX, "%s", h);
    }
}

/* ---- state file ------------------------------------------------------------- */

static char *state_path_of(const char *dir)
{
    struct buf b;
    buf_init(&b);
    if (buf_printf(&b, "%s/%s", dir, CLUSTER_STATE_FILE))
        return NULL;
    return buf_detach(&b, NULL);
}

/* Writes text to path atomically (temporary file, fsync, rename), mode 0600. */
static int write_private_file(const char *path, const char *text)
{
    int rc = MG_EIO;
    struct buf tmp;
    buf_init(&tmp);
    if (buf_printf(&tmp, "%s.%ld.tmp", path, (long)getpid()))
        return MG_ENOMEM;
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_err("cannot write cluster state path=%s err=%s", tmp.data, strerror(errno));
        goto out;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    int ok = off == len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp.data, path) != 0) {
        log_err("cannot write cluster state path=%s err=%s", path, strerror(errno));
        unlink(tmp.data);
        goto out;
    }
    rc = 0;
out:
    buf_release(&tmp);
    return rc;
}

static json_t *params_json(const struct cluster_params *p, json_t *o)
{
    json_object_set_new(o, "replicas", json_integer(p->n));
    json_object_set_new(o, "write_quorum", json_integer(p->w));
    json_object_set_new(o, "read_quorum", json_integer(p->r));
    json_object_set_new(o, "gossip_ms", json_integer(p->gossip_ms));
    json_object_set_new(o, "suspect_ms", json_integer(p->suspect_ms));
    json_object_set_new(o, "anti_entropy_ms", json_integer(p->ae_ms));
    json_object_set_new(o, "timeout_ms", json_integer(p->timeout_ms));
    return o;
}

static void params_from_json(json_t *o, struct cluster_params *p)
{
    *p = default_params;
    p->n = (int)json_integer_value(json_object_get(o, "replicas"));
    p->w = (int)json_integer_value(json_object_get(o, "write_quorum"));
    p->r = (int)json_integer_value(json_object_get(o, "read_quorum"));
    p->gossip_ms = (int)json_integer_value(json_object_get(o, "gossip_ms"));
    p->suspect_ms = (int)json_integer_value(json_object_get(o, "suspect_ms"));
    p->ae_ms = (int)json_integer_value(json_object_get(o, "anti_entropy_ms"));
    p->timeout_ms = (int)json_integer_value(json_object_get(o, "timeout_ms"));
    params_clamp(p);
}

/* Saves key, parameters and members. Caller holds no lock; takes c->lock. */
static int state_save(struct cluster *c)
{
    char hex[2 * CLUSTER_KEY_LEN + 1];
    char idhex[17];
    json_t *o = json_object();
    json_t *ms = json_array();
    if (!o || !ms) {
        json_decref(o);
        json_decref(ms);
        return MG_ENOMEM;
    }
    mg_hex_encode(c->cluster_key, CLUSTER_KEY_LEN, hex);
    json_object_set_new(o, "version", json_integer(1));
    json_object_set_new(o, "cluster_key", json_string(hex));
    sodium_memzero(hex, sizeof(hex));
    params_json(&c->params, o);
    pthread_mutex_lock(&c->lock);
    json_object_set_new(o, "self_addr", json_string(c->self_addr));
    json_object_set_new(o, "incarnation", json_integer(c->incarnation));
    for (size_t i = 0; i < c->nmembers; i++) {
        const struct member *m = &c->members[i];
        snprintf(idhex, sizeof(idhex), "%016llx", (unsigned long long)m->id);
        json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", idhex, "addr", m->addr, "zone",
                              m->zone, "incarnation", (json_int_t)m->incarnation, "state",
                              member_state_name(m->state));
        if (j)
            json_array_append_new(ms, j);
    }
    c->dirty = 0;
    pthread_mutex_unlock(&c->lock);
    json_object_set_new(o, "members", ms);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (!text)
        return MG_ENOMEM;
    int rc = write_private_file(c->state_path, text);
    sodium_memzero(text, strlen(text));
    free(text);
    return rc;
}

void cluster_save_if_dirty(struct cluster *c)
{
    pthread_mutex_lock(&c->lock);
    int dirty = c->dirty;
    pthread_mutex_unlock(&c->lock);
    if (dirty)
        state_save(c);
}

/* ---- member table --------------------------------------------------------- */

static struct member *member_find(struct cluster *c, uint64_t id)
{
    for (size_t i = 0; i < c->nmembers; i++)
        if (c->members[i].id == id)
            return &c->members[i];
    return NULL;
}

/* Rebuilds the ring from members not LEFT when that set changed. c->lock held. */
static void ring_refresh(struct cluster *c)
{
    uint64_t ids[CLUSTER_MAX_MEMBERS];
    const char *zones[CLUSTER_MAX_MEMBERS];
    size_t idx[CLUSTER_MAX_MEMBERS];
    size_t n = 0;
    for (size_t i = 0; i < c->nmembers; i++) {
        if (c->members[i].state == MEMBER_LEFT)
            continue;
        ids[n] = c->members[i].id;
        zones[n] = c->members[i].zone;
        idx[n++] = i;
    }
    int same = n == c->ring.nmembers;
    for (size_t i = 0; same && i < n; i++)
        same = c->ring.ids[i] == ids[i] && strcmp(c->ring.zones[i], zones[i]) == 0 &&
               c->ring_index[i] == idx[i];
    if (same)
        return;
    if (ring_build(&c->ring, ids, zones, n, RING_VNODES) == 0) {
        memcpy(c->ring_index, idx, n * sizeof(idx[0]));
        atomic_fetch_add(&c->ring_version, 1);
        log_info("ring rebuilt members=%zu", n);
    }
}

static struct member *member_add(struct cluster *c, uint64_t id, const char *addr, const char *zone)
{
    if (c->nmembers >= CLUSTER_MAX_MEMBERS)
        return NULL;
    struct member *m = &c->members[c->nmembers++];
    memset(m, 0, sizeof(*m));
    m->id = id;
    snprintf(m->addr, sizeof(m->addr), "%s", addr ? addr : "");
    snprintf(m->zone, sizeof(m->zone), "%s", zone ? zone : "");
    m->state_ms = mg_mono_ms();
    return m;
}

/* SWIM 4.2 and 5: which of two claims about a member wins. LEFT is an
 * operator's decision (leave, remove), not a failure detector's guess: it
 * wins whatever the incarnation. The node that computed it (the one asked to
 * remove) may not have seen the member's latest refutation, and a LEFT that
 * lost to it somewhere would leave the ring different on that node forever. */
static int update_wins(const struct member *m, uint32_t inc, enum member_state st)
{
    if (st == MEMBER_LEFT)
        return m->state != MEMBER_LEFT;
    if (m->state == MEMBER_LEFT)
        return 0;
    switch (st) {
    case MEMBER_ALIVE:
        return inc > m->incarnation;
    case MEMBER_SUSPECT:
        return (m->state == MEMBER_ALIVE && inc >= m->incarnation) || inc > m->incarnation;
    case MEMBER_DEAD:
        return (m->state != MEMBER_DEAD && inc >= m->incarnation) || inc > m->incarnation;
    case MEMBER_LEFT:
        break;
    }
    return 0;
}

static void member_set(struct cluster *c, struct member *m, uint32_t inc, enum member_state st)
{
    if (m->state != st)
        log_info("member %s node=%016llx addr=%s incarnation=%u", member_state_name(st),
                 (unsigned long long)m->id, m->addr, (unsigned)inc);
    if (st == MEMBER_SUSPECT && m->state != MEMBER_SUSPECT) {
        m->confirmations = 0;
        m->confirmers = 0;
    }
    m->incarnation = inc;
    m->state = st;
    m->state_ms = mg_mono_ms();
    c->dirty = 1;
}

int cluster_apply_update(struct cluster *c, uint64_t id, const char *addr, const char *zone,
                         uint32_t incarnation, enum member_state state)
{
    return cluster_apply_update_from(c, 0, id, addr, zone, incarnation, state);
}

/* Bit of member `from` in a suspicion's confirmations, 0 when it cannot
 * count (unknown, ourselves, the suspect). c->lock held. */
static uint64_t confirmer_bit(struct cluster *c, uint64_t from, uint64_t suspect)
{
    if (!from || from == c->self_id || from == suspect)
        return 0;
    for (size_t i = 0; i < c->nmembers && i < 64; i++)
        if (c->members[i].id == from)
            return (uint64_t)1 << i;
    return 0;
}

int cluster_apply_update_from(struct cluster *c, uint64_t from, uint64_t id, const char *addr,
                              const char *zone, uint32_t incarnation, enum member_state state)
{
    int changed = 0;
    pthread_mutex_lock(&c->lock);
    if (id == c->self_id) {
        /* Someone suspects us or thinks us dead: refute with a higher
         * incarnation (SWIM 4.2). A LEFT we did not announce is refuted too,
         * unless we did leave. */
        struct member *me = member_find(c, id);
        if (me && me->state != MEMBER_LEFT && state != MEMBER_ALIVE &&
            incarnation >= c->incarnation) {
            c->incarnation = incarnation + 1;
            me->incarnation = c->incarnation;
            c->dirty = 1;
            changed = 1;
            log_info("refuting %s about this node incarnation=%u", member_state_name(state),
                     (unsigned)c->incarnation);
        }
        pthread_mutex_unlock(&c->lock);
        if (changed && c->swim)
            swim_broadcast(c->swim, id);
        return changed;
    }
    struct member *m = member_find(c, id);
    if (!m) {
        if (state == MEMBER_LEFT || !addr || !*addr)
            goto out;
        m = member_add(c, id, addr, zone);
        if (!m)
            goto out;
        m->incarnation = incarnation;
        m->state = state;
        c->dirty = 1;
        changed = 1;
        log_info("member joined node=%016llx addr=%s zone=%s state=%s", (unsigned long long)id,
                 m->addr, m->zone, member_state_name(state));
    } else if (update_wins(m, incarnation, state)) {
        /* A restarted node may come back on a new address. */
        if (addr && *addr && strcmp(m->addr, addr) != 0) {
            snprintf(m->addr, sizeof(m->addr), "%s", addr);
            m->salen = 0;
            memset(&m->sa, 0, sizeof(m->sa));
        }
        if (zone && strcmp(m->zone, zone) != 0)
            snprintf(m->zone, sizeof(m->zone), "%s", zone);
        member_set(c, m, incarnation, state);
        if (state == MEMBER_SUSPECT) {
            /* The member that told us is the accuser, not a confirmation. */
            m->confirmers = confirmer_bit(c, from, id);
            m->confirmations = 0;
        }
        changed = 1;
    } else if (m->state == MEMBER_SUSPECT && state == MEMBER_SUSPECT &&
               incarnation == m->incarnation) {
        /* Lifeguard: suspicions from other members shorten the timeout.
         * Each member counts once: the same news gossiped again (every
         * update is sent several times) is no new evidence. */
        uint64_t bit = confirmer_bit(c, from, id);
        if (bit && !(m->confirmers & bit)) {
            m->confirmers |= bit;
            m->confirmations++;
        }
    }
    if (changed)
        ring_refresh(c);
out:
    pthread_mutex_unlock(&c->lock);
    if (changed && c->swim)
        swim_broadcast(c->swim, id);
    if (changed) {
        if (state == MEMBER_ALIVE)
            atomic_store(&c->hints_wanted, 1);
        cluster_wake(c);
    }
    return changed;
}

void cluster_set_state(struct cluster *c, uint64_t id, enum member_state state,
                       uint32_t incarnation)
{
    cluster_apply_update(c, id, NULL, NULL, incarnation, state);
}

int cluster_member_addr(struct cluster *c, uint64_t id, char addr[CLUSTER_ADDR_MAX],
                        enum member_state *state)
{
    int rc = MG_ENOTFOUND;
    pthread_mutex_lock(&c->lock);
    struct member *m = member_find(c, id);
    if (m) {
        snprintf(addr, CLUSTER_ADDR_MAX, "%s", m->addr);
        if (state)
            *state = m->state;
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int cluster_replicas(struct cluster *c, const char *pkey, size_t extra, struct replica_set *rs)
{
    uint32_t pref[CLUSTER_MAX_REPLICAS + CLUSTER_FALLBACK_EXTRA];
    uint64_t token = ring_key_token(pkey);
    memset(rs, 0, sizeof(*rs));
    if (extra > CLUSTER_FALLBACK_EXTRA)
        extra = CLUSTER_FALLBACK_EXTRA;
    pthread_mutex_lock(&c->lock);
    size_t n = (size_t)c->params.n;
    if (n > c->ring.nmembers)
        n = c->ring.nmembers;
    size_t got = ring_preference(&c->ring, token, n + extra, pref);
    for (size_t i = 0; i < got; i++) {
        const struct member *m = &c->members[c->ring_index[pref[i]]];
        struct replica *r = &rs->r_[i];
        r->id = m->id;
        snprintf(r->addr, sizeof(r->addr), "%s", m->addr);
        r->state = m->state;
        r->self = m->id == c->self_id;
    }
    pthread_mutex_unlock(&c->lock);
    rs->n = got;
    rs->npref = got < n ? got : n;
    if (!rs->npref)
        return MG_EUNAVAIL;
    /* N, W and R are clamped to the cluster's size: a cluster of two
     * with N=3 writes both nodes and needs both... or W of them. */
    rs->w = c->params.w < (int)rs->npref ? c->params.w : (int)rs->npref;
    rs->r = c->params.r < (int)rs->npref ? c->params.r : (int)rs->npref;
    return 0;
}

int cluster_encode_members(struct cluster *c, struct buf *out)
{
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    rc = wire_u16(out, (uint16_t)c->nmembers);
    for (size_t i = 0; !rc && i < c->nmembers; i++) {
        const struct member *m = &c->members[i];
        rc = wire_u64(out, m->id);
        if (!rc)
            rc = wire_str(out, m->addr);
        if (!rc)
            rc = wire_str(out, m->zone);
        if (!rc)
            rc = wire_u32(out, m->incarnation);
        if (!rc)
            rc = wire_u8(out, (uint8_t)m->state);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Applies a member list received from a peer. */
static int decode_members(struct cluster *c, struct wire_reader *r)
{
    uint16_t n = wire_get_u16(r);
    for (uint16_t i = 0; i < n && !r->err; i++) {
        char addr[CLUSTER_ADDR_MAX], zone[RING_ZONE_MAX];
        uint64_t id = wire_get_u64(r);
        wire_get_str(r, addr, sizeof(addr));
        wire_get_str(r, zone, sizeof(zone));
        uint32_t inc = wire_get_u32(r);
        uint8_t st = wire_get_u8(r);
        if (r->err || st > MEMBER_LEFT)
            return MG_EINVAL;
        cluster_apply_update(c, id, addr, zone, inc, (enum member_state)st);
    }
    return r->err;
}

/* ---- sealing and admission -------------------------------------------------- */

int cluster_seal(struct cluster *c, uint8_t type, const void *bind, size_t bind_len,
                 const void *payload, size_t len, struct buf *out,
                 uint8_t nonce_out[SEAL_NONCE_LEN])
{
    uint64_t hlc = hlc_now(dht_engine_clock(c->d));
    return seal_message(c->peer_key, type, c->self_id, hlc, bind, bind_len, payload ? payload : "",
                        len, out, nonce_out);
}

int cluster_check(struct cluster *c, const void *msg, size_t len, const char *via,
                  struct seal_header *h, struct buf *out, const char **why_out)
{
    const char *why = NULL;
    int rc = seal_open(c->peer_key, msg, len, NULL, 0, h, out);
    if (rc == MG_EDENIED)
        why = "bad seal (wrong cluster key or tampered)";
    else if (rc == MG_EINVAL)
        why = h->version > SEAL_VERSION ? "unsupported protocol version" : "malformed";
    else if (rc)
        why = "no memory";
    if (!rc && (h->type & PEER_REPLY_BIT)) {
        why = "a reply where a request was expected";
        rc = MG_EINVAL;
    }
    if (!rc && h->sender == c->self_id && c->serving && strcmp(via, "udp") == 0) {
        why = "own message looped back";
        rc = MG_EINVAL;
    }
    if (!rc) {
        uint64_t ms = dht_hlc_ms(h->hlc);
        uint64_t now = mg_now_ms();
        if (ms > now + HLC_MAX_DRIFT_MS) {
            why = "clock too far ahead";
            rc = MG_EINVAL;
        } else {
            rc = replay_check(c->replay, h->nonce, ms, now);
            if (rc == MG_EEXIST)
                why = "replayed";
            else if (rc)
                why = "too old";
        }
    }
    if (!rc && hlc_update(dht_engine_clock(c->d), h->hlc, NULL) != 0) {
        why = "clock too far ahead";
        rc = MG_EINVAL;
    }
    if (rc)
        buf_reset(out);
    *why_out = why;
    return rc;
}

int cluster_admit(struct cluster *c, const void *msg, size_t len, const char *via,
                  struct seal_header *h, struct buf *out)
{
    const char *why = NULL;
    int rc = cluster_check(c, msg, len, via, h, out, &why);
    if (rc) {
        atomic_fetch_add(&c->refused, 1);
        log_warn("peer message refused via=%s sender=%016llx type=%u reason=\"%s\"", via,
                 (unsigned long long)h->sender, (unsigned)h->type, why);
    }
    return rc;
}

/* ---- membership messages ----------------------------------------------------- */

static int encode_params(struct buf *out, const struct cluster_params *p)
{
    int v[7] = {p->n, p->w, p->r, p->gossip_ms, p->suspect_ms, p->ae_ms, p->timeout_ms};
    int rc = 0;
    for (int i = 0; i < 7 && !rc; i++)
        rc = wire_u32(out, (uint32_t)v[i]);
    return rc;
}

static void decode_params(struct wire_reader *r, struct cluster_params *p)
{
    p->n = (int)wire_get_u32(r);
    p->w = (int)wire_get_u32(r);
    p->r = (int)wire_get_u32(r);
    p->gossip_ms = (int)wire_get_u32(r);
    p->suspect_ms = (int)wire_get_u32(r);
    p->ae_ms = (int)wire_get_u32(r);
    p->timeout_ms = (int)wire_get_u32(r);
    params_clamp(p);
}

int cluster_handle(struct cluster *c, const struct seal_header *h, struct wire_reader *r,
                   struct buf *out)
{
    switch (h->type) {
    case PEER_PING:
        if (wire_end(r))
            return 400;
        return wire_u64(out, c->self_id) ? 500 : 200;
    case PEER_JOIN: {
        char addr[CLUSTER_ADDR_MAX], zone[RING_ZONE_MAX];
        uint64_t id = wire_get_u64(r);
        wire_get_str(r, addr, sizeof(addr));
        wire_get_str(r, zone, sizeof(zone));
        uint32_t inc = wire_get_u32(r);
        if (wire_end(r) || id != h->sender || !addr[0])
            return 400;
        cluster_apply_update(c, id, addr, zone, inc, MEMBER_ALIVE);
        log_info("join request node=%016llx addr=%s", (unsigned long long)id, addr);
        if (encode_params(out, &c->params) || cluster_encode_members(c, out))
            return 500;
        return 200;
    }
    case PEER_MEMBERS:
        /* Push-pull (as memberlist does over TCP): the sender's table,
         * if any, is merged, and ours goes back. Gossip alone can miss a
         * member for a while when its few transmissions go to dead nodes. */
        if (r->left && (decode_members(c, r) || wire_end(r)))
            return 400;
        if (encode_params(out, &c->params) || cluster_encode_members(c, out))
            return 500;
        return 200;
    case PEER_STATUS: {
        if (wire_end(r))
            return 400;
        return dht_cluster_status(c->d, out) ? 500 : 200;
    }
    case PEER_REMOVE: {
        uint64_t id = wire_get_u64(r);
        if (wire_end(r))
            return 400;
        uint32_t inc = 0;
        pthread_mutex_lock(&c->lock);
        struct member *m = member_find(c, id);
        if (m)
            inc = m->incarnation + 1;
        pthread_mutex_unlock(&c->lock);
        if (!m || id == c->self_id)
            return 404;
        log_info("removing member node=%016llx", (unsigned long long)id);
        cluster_apply_update(c, id, NULL, NULL, inc, MEMBER_LEFT);
        return 200;
    }
    case PEER_LEAVE: {
        if (wire_end(r))
            return 400;
        pthread_mutex_lock(&c->lock);
        struct member *me = member_find(c, c->self_id);
        if (me) {
            c->incarnation++;
            member_set(c, me, c->incarnation, MEMBER_LEFT);
            ring_refresh(c);
        }
        pthread_mutex_unlock(&c->lock);
        log_info("leaving the cluster: handing data to the remaining members");
        if (c->swim)
            swim_broadcast(c->swim, c->self_id);
        cluster_wake(c);
        return 200;
    }
    default:
        return 404;
    }
}

/* ---- joining ---------------------------------------------------------------- */

/* PEER_JOIN: sends our address to addr (which adds us to the cluster);
 * PEER_MEMBERS: only asks. Either way adopts the members it returns, and
 * with adopt_params the cluster's parameters. */
static int join_through(struct cluster *c, const char *addr, uint8_t type, int adopt_params)
{
    struct buf p, reply;
    buf_init(&p);
    buf_init(&reply);
    uint32_t inc;
    pthread_mutex_lock(&c->lock);
    inc = c->incarnation;
    pthread_mutex_unlock(&c->lock);
    int rc = 0;
    if (type == PEER_JOIN) {
        rc = wire_u64(&p, c->self_id);
        if (!rc)
            rc = wire_str(&p, c->self_addr);
        if (!rc)
            rc = wire_str(&p, c->self_zone);
        if (!rc)
            rc = wire_u32(&p, inc);
    }
    if (rc)
        goto out;
    int st = peer_call(c, addr, type, p.data, p.len, &reply, c->params.timeout_ms);
    if (st != 200) {
        rc = st == 401 ? MG_EDENIED : MG_EUNAVAIL;
        goto out;
    }
    struct wire_reader r;
    struct cluster_params params;
    wire_reader_init(&r, reply.data, reply.len);
    decode_params(&r, &params);
    if (!r.err && adopt_params)
        c->params = params;
    rc = decode_members(c, &r);
    if (!rc)
        rc = wire_end(&r);
out:
    buf_release(&p);
    buf_release(&reply);
    return rc;
}

int cluster_contact(struct cluster *c, const char *addr)
{
    return join_through(c, addr, PEER_JOIN, 0);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Talks to seed (first start: `type` PEER_MEMBERS to learn the cluster,
 * then PEER_JOIN to enter it), retrying while it does not answer, or
 * announces a restart to the known members (seed NULL) so they stop
 * hinting and start replaying at once. */
static int cluster_join(struct cluster *c, const char *seed, uint8_t type)
{
    if (seed && *seed) {
        uint64_t deadline = mg_mono_ms() + JOIN_RETRY_MS;
        unsigned wait = 200;
        for (;;) {
            /* Parameters are adopted once, before any thread reads them. */
            int rc = join_through(c, seed, type, type == PEER_MEMBERS);
            if (rc == 0) {
                log_info("%s the cluster through %s", type == PEER_JOIN ? "joined" : "learned",
                         seed);
                return 0;
            }
            if (rc == MG_EDENIED) {
                log_err("join refused by %s: the token's cluster key is not this cluster's", seed);
                return rc;
            }
            if (mg_mono_ms() + wait > deadline) {
                log_err("cannot join through %s: no answer", seed);
                return MG_EUNAVAIL;
            }
            sleep_ms(wait);
            wait = wait < 2000 ? wait * 2 : 2000;
        }
    }
    char addrs[CLUSTER_MAX_MEMBERS][CLUSTER_ADDR_MAX];
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++)
        if (c->members[i].id != c->self_id && c->members[i].state != MEMBER_LEFT)
            snprintf(addrs[n++], CLUSTER_ADDR_MAX, "%s", c->members[i].addr);
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        if (join_through(c, addrs[i], PEER_JOIN, 0) == 0)
            log_info("rejoined the cluster through %s", addrs[i]);
    return 0;
}

/* Enters the cluster once this node's own HTTP server answers peer
 * messages: a member that others write to must be able to take the write
 * (with two members and W=2, a refused write is a failed write). The store
 * opens before the HTTP server starts, so this runs on the maintenance
 * thread. Returns 0, or the join's error (logged). */
static int cluster_enter(struct cluster *c)
{
    uint64_t deadline = mg_mono_ms() + SELF_WAIT_MS;
    while (!atomic_load(&c->stop) && mg_mono_ms() < deadline) {
        if (peer_call(c, c->self_addr, PEER_PING, NULL, 0, NULL, c->params.timeout_ms) == 200)
            break;
        sleep_ms(50);
    }
    if (mg_mono_ms() >= deadline)
        log_warn("this node does not answer on %s: joining anyway", c->self_addr);
    atomic_store(&c->ready, 1);
    int rc = cluster_join(c, c->fresh ? c->seed : NULL, PEER_JOIN);
    c->fresh = 0;
    state_save(c);
    log_info("cluster member ready node=%016llx addr=%s", (unsigned long long)c->self_id,
             c->self_addr);
    return rc;
}

/* Exchanges member tables with one random live member. */
static void members_push_pull(struct cluster *c)
{
    char addrs[CLUSTER_MAX_MEMBERS][CLUSTER_ADDR_MAX];
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++)
        if (c->members[i].id != c->self_id && c->members[i].state == MEMBER_ALIVE)
            snprintf(addrs[n++], CLUSTER_ADDR_MAX, "%s", c->members[i].addr);
    pthread_mutex_unlock(&c->lock);
    if (!n)
        return;
    struct buf p, reply;
    buf_init(&p);
    buf_init(&reply);
    const char *to = addrs[randombytes_uniform((uint32_t)n)];
    if (cluster_encode_members(c, &p) == 0 &&
        peer_call(c, to, PEER_MEMBERS, p.data, p.len, &reply, c->params.timeout_ms) == 200) {
        struct wire_reader r;
        struct cluster_params ignored;
        wire_reader_init(&r, reply.data, reply.len);
        decode_params(&r, &ignored);
        decode_members(c, &r);
    }
    buf_release(&p);
    buf_release(&reply);
}

/* ---- maintenance thread ---------------------------------------------------- */

void cluster_wake(struct cluster *c)
{
    pthread_mutex_lock(&c->wake_lock);
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->wake_lock);
}

int cluster_bulk_timeout(const struct cluster *c)
{
    int t = BULK_TIMEOUT_FACTOR * c->params.timeout_ms;
    return t > BULK_TIMEOUT_MIN_MS ? t : BULK_TIMEOUT_MIN_MS;
}

/* Sleeps until cluster_wake or ms milliseconds. */
static void wait_wake(struct cluster *c, unsigned ms)
{
    pthread_mutex_lock(&c->wake_lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    if (!atomic_load(&c->stop))
        pthread_cond_timedwait(&c->wake, &c->wake_lock, &ts);
    pthread_mutex_unlock(&c->wake_lock);
}

/* The maintenance thread: membership exchange, hints, read repairs and the
 * state file. Everything here is short or time-boxed, so that a member
 * coming back gets its hints at once and the saved member table stays
 * current; anti-entropy, which may take long, has its own thread. */
static void *maint_main(void *arg)
{
    struct cluster *c = arg;
    cluster_enter(c);
    uint64_t next_hints = 0, next_sync = 0;
    int hints_more = 0;
    while (!atomic_load(&c->stop)) {
        if (!hints_more)
            wait_wake(c, MAINT_TICK_MS);
        if (atomic_load(&c->stop))
            break;
        repair_drain(c);
        uint64_t now = mg_mono_ms();
        if (now >= next_sync) {
            members_push_pull(c);
            next_sync = now + MEMBER_SYNC_EVERY_MS;
        }
        cluster_save_if_dirty(c);
        /* Always try when woken: a member that came back is replayed to at
         * once; failing targets are backed off inside hint_replay. */
        if (hints_more || now >= next_hints || atomic_exchange(&c->hints_wanted, 0)) {
            hint_replay(c, HINT_REPLAY_BUDGET_MS, &hints_more);
            next_hints = mg_mono_ms() + HINT_REPLAY_EVERY_MS;
        }
    }
    return NULL;
}

/* The anti-entropy thread: a round every ae_ms, and one soon after the ring
 * changed (a join, leave or removal moves ranges), once the news spread. */
static void *ae_main(void *arg)
{
    struct cluster *c = arg;
    while (!atomic_load(&c->stop) && !atomic_load(&c->ready))
        wait_wake(c, MAINT_TICK_MS);
    uint64_t next_ae = mg_mono_ms() + (uint64_t)c->params.ae_ms;
    uint64_t seen_ring = atomic_load(&c->ring_version), ring_changed_ms = 0;
    while (!atomic_load(&c->stop)) {
        wait_wake(c, MAINT_TICK_MS);
        if (atomic_load(&c->stop))
            break;
        uint64_t now = mg_mono_ms();
        uint64_t rv = atomic_load(&c->ring_version);
        if (rv != seen_ring) {
            seen_ring = rv;
            ring_changed_ms = now;
        }
        if (ring_changed_ms && now >= ring_changed_ms + RING_SETTLE_MS) {
            ring_changed_ms = 0;
            next_ae = now;
        }
        if (now >= next_ae) {
            ae_round(c);
            next_ae = mg_mono_ms() + (uint64_t)c->params.ae_ms;
        }
    }
    return NULL;
}

/* ---- open / close --------------------------------------------------------- */

static int load_state(struct cluster *c, json_t *o)
{
    const char *hex = json_string_value(json_object_get(o, "cluster_key"));
    if (!hex || strlen(hex) != 2 * CLUSTER_KEY_LEN ||
        mg_hex_decode(hex, c->cluster_key, CLUSTER_KEY_LEN)) {
        log_err("cluster state has no valid cluster_key path=%s", c->state_path);
        return MG_EINVAL;
    }
    params_from_json(o, &c->params);
    c->incarnation = (uint32_t)json_integer_value(json_object_get(o, "incarnation"));
    const char *self = json_string_value(json_object_get(o, "self_addr"));
    if (self && !c->self_addr[0])
        snprintf(c->self_addr, sizeof(c->self_addr), "%s", self);
    json_t *ms = json_object_get(o, "members");
    size_t i;
    json_t *j;
    json_array_foreach(ms, i, j)
    {
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *addr = json_string_value(json_object_get(j, "addr"));
        const char *zone = json_string_value(json_object_get(j, "zone"));
        enum member_state st = MEMBER_ALIVE;
        uint8_t raw[8];
        if (!id || strlen(id) != 16 || mg_hex_decode(id, raw, 8) || !addr ||
            state_from_name(json_string_value(json_object_get(j, "state")), &st))
            continue;
        uint64_t nid = 0;
        for (int k = 0; k < 8; k++)
            nid = nid << 8 | raw[k];
        struct member *m = member_find(c, nid);
        if (!m)
            m = member_add(c, nid, addr, zone);
        if (!m)
            break;
        m->incarnation = (uint32_t)json_integer_value(json_object_get(j, "incarnation"));
        m->state = st;
    }
    return 0;
}

int cluster_open(struct dht *d, const struct dht_options *opts, struct cluster **out)
{
    int rc = 0;
    *out = NULL;
    char *path = state_path_of(dht_engine_data_dir(d));
    if (!path)
        return MG_ENOMEM;
    json_error_t jerr;
    json_t *state = NULL;
    if (access(path, F_OK) == 0) {
        state = json_load_file(path, 0, &jerr);
        if (!state) {
            log_err("cannot read cluster state path=%s err=%s", path, jerr.text);
            free(path);
            return MG_EINVAL;
        }
    } else if (!opts->join_token) {
        if (opts->discover && opts->listen_addr)
            log_warn("discovery is on but this node is in no cluster: give --token to join one");
        free(path);
        return 0; /* a cluster of one */
    }
    struct cluster *c = calloc(1, sizeof(*c));
    if (!c) {
        free(path);
        json_decref(state);
        return MG_ENOMEM;
    }
    c->d = d;
    c->state_path = path;
    c->self_id = dht_node_id(d);
    c->serving = opts->listen_addr != NULL;
    c->params = default_params;
    ring_init(&c->ring);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->wake_lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    c->cluster_key = sodium_malloc(CLUSTER_KEY_LEN);
    c->peer_key = sodium_malloc(SEAL_KEY_LEN);
    c->replay = replay_new(REPLAY_CAPACITY, REPLAY_WINDOW_MS);
    if (!c->cluster_key || !c->peer_key || !c->replay || peer_pool_new(&c->pool) ||
        repair_queue_new(&c->repairs) || ae_cache_new(&c->ae_cache)) {
        rc = MG_ENOMEM;
        goto out;
    }
    const char *adv = opts->advertise_addr ? opts->advertise_addr : opts->listen_addr;
    if (adv)
        snprintf(c->self_addr, sizeof(c->self_addr), "%s", adv);
    if (opts->zone)
        snprintf(c->self_zone, sizeof(c->self_zone), "%s", opts->zone);

    char seed[CLUSTER_ADDR_MAX] = "";
    int fresh = state == NULL;
    if (state) {
        rc = load_state(c, state);
        if (rc)
            goto out;
    }
    if (opts->join_token) {
        uint8_t key[CLUSTER_KEY_LEN];
        rc = token_parse(opts->join_token, key, seed);
        if (rc) {
            log_err("invalid join token");
            goto out;
        }
        if (!fresh && sodium_memcmp(key, c->cluster_key, CLUSTER_KEY_LEN) != 0) {
            log_err("join token is for another cluster than the one in %s", path);
            sodium_memzero(key, sizeof(key));
            rc = MG_EINVAL;
            goto out;
        }
        memcpy(c->cluster_key, key, CLUSTER_KEY_LEN);
        sodium_memzero(key, sizeof(key));
    }
    if (opts->join_addr)
        snprintf(seed, sizeof(seed), "%s", opts->join_addr);
    source_ip_of(c->serving ? opts->listen_addr : c->self_addr, c->source_ip);
    seal_derive_key(c->cluster_key, c->peer_key);
    sodium_mprotect_readonly(c->cluster_key);
    sodium_mprotect_readonly(c->peer_key);

    /* This node is always a member of its own table. */
    struct member *me = member_find(c, c->self_id);
    if (!me)
        me = member_add(c, c->self_id, c->self_addr, c->self_zone);
    if (!me) {
        rc = MG_ETOOBIG;
        goto out;
    }
    if (c->serving) {
        const char *port = strrchr(c->self_addr, ':');
        if (!port || strcmp(port, ":0") == 0 || port[1] == '\0') {
            log_err("a cluster member needs a fixed listen port, got %s", c->self_addr);
            rc = MG_EINVAL;
            goto out;
        }
        /* A restart is a new incarnation: it overrides whatever others
         * concluded while we were away (SWIM 4.2). */
        c->incarnation++;
        snprintf(me->addr, sizeof(me->addr), "%s", c->self_addr);
        snprintf(me->zone, sizeof(me->zone), "%s", c->self_zone);
        me->incarnation = c->incarnation;
        me->state = MEMBER_ALIVE;
    }
    pthread_mutex_lock(&c->lock);
    ring_refresh(c);
    pthread_mutex_unlock(&c->lock);

    if (c->serving) {
        if (fresh && !seed[0] && opts->discover) {
            rc = disco_find_seed(c, opts->discovery_group, DISCO_SEED_WAIT_MS, seed);
            if (rc)
                goto out;
        }
        if (fresh && !seed[0]) {
            log_err("the join token carries no address: give --join HOST:PORT or --discover");
            rc = MG_EINVAL;
            goto out;
        }
        /* A fresh node learns the cluster (parameters, members) now, so it
         * coordinates correctly from its first request, and enters it once
         * it can answer (cluster_enter). A wrong key fails here, at once. */
        if (fresh) {
            rc = cluster_join(c, seed, PEER_MEMBERS);
            if (rc)
                goto out;
            snprintf(c->seed, sizeof(c->seed), "%s", seed);
            c->fresh = 1;
        }
        state_save(c);
        rc = swim_start(c, &c->swim);
        if (!rc && opts->discover)
            rc = disco_start(c, opts->discovery_group, &c->disco);
        if (rc)
            goto out;
        if (pthread_create(&c->maint, NULL, maint_main, c) != 0) {
            rc = MG_ENOMEM;
            goto out;
        }
        c->maint_started = 1;
        if (pthread_create(&c->ae, NULL, ae_main, c) != 0) {
            rc = MG_ENOMEM;
            goto out;
        }
        c->ae_started = 1;
        log_info("cluster member node=%016llx addr=%s zone=%s n=%d w=%d r=%d",
                 (unsigned long long)c->self_id, c->self_addr, c->self_zone, c->params.n,
                 c->params.w, c->params.r);
    } else if (fresh) {
        log_err("no cluster state in the data directory: run `meshgate serve --join` first");
        rc = MG_EINVAL;
        goto out;
    }
    *out = c;
out:
    json_decref(state);
    if (rc)
        cluster_close(c);
    return rc;
}

void cluster_close(struct cluster *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, 1);
    cluster_wake(c);
    if (c->maint_started)
        pthread_join(c->maint, NULL);
    if (c->ae_started)
        pthread_join(c->ae, NULL);
    disco_stop(c->disco);
    swim_stop(c->swim);
    if (c->serving && c->cluster_key && c->dirty)
        state_save(c);
    peer_pool_free(c->pool);
    repair_queue_free(c->repairs);
    ae_cache_free(c->ae_cache);
    replay_free(c->replay);
    ring_release(&c->ring);
    sodium_free(c->cluster_key);
    sodium_free(c->peer_key);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->wake_lock);
    pthread_mutex_destroy(&c->lock);
    free(c->state_path);
    free(c);
}

/* ---- public cluster functions ------------------------------------------------ */

int dht_cluster_init(const char *data_dir, const struct dht_cluster_params *params,
                     const char *advertise, char **token)
{
    int rc;
    *token = NULL;
    if (sodium_init() < 0)
        return MG_EIO;
    struct dht *d = NULL;
    struct dht_options o = {.data_dir = data_dir, .readers = 1};
    /* Opening creates the directory and the node key. */
    rc = dht_open(&o, &d);
    if (rc)
        return rc;
    if (dht_engine_cluster(d)) {
        dht_close(d);
        return MG_EEXIST;
    }
    struct cluster c;
    memset(&c, 0, sizeof(c));
    c.d = d;
    c.self_id = dht_node_id(d);
    pthread_mutex_init(&c.lock, NULL);
    c.state_path = state_path_of(data_dir);
    c.cluster_key = sodium_malloc(CLUSTER_KEY_LEN);
    if (!c.state_path || !c.cluster_key) {
        rc = MG_ENOMEM;
        goto out;
    }
    randombytes_buf(c.cluster_key, CLUSTER_KEY_LEN);
    c.params = default_params;
    if (params) {
        c.params.n = params->replicas ? params->replicas : c.params.n;
        c.params.w = params->write_quorum ? params->write_quorum : c.params.w;
        c.params.r = params->read_quorum ? params->read_quorum : c.params.r;
        c.params.gossip_ms = params->gossip_ms ? params->gossip_ms : c.params.gossip_ms;
        c.params.suspect_ms = params->suspect_ms ? params->suspect_ms : 5 * c.params.gossip_ms;
        c.params.ae_ms = params->ae_ms ? params->ae_ms : c.params.ae_ms;
        c.params.timeout_ms = params->timeout_ms ? params->timeout_ms : c.params.timeout_ms;
    }
    if (c.params.w > c.params.n || c.params.r > c.params.n) {
        rc = MG_EINVAL;
        goto out;
    }
    params_clamp(&c.params);
    if (advertise)
        snprintf(c.self_addr, sizeof(c.self_addr), "%s", advertise);
    member_add(&c, c.self_id, c.self_addr, "");
    rc = state_save(&c);
    if (!rc)
        rc = token_make(c.cluster_key, advertise, token);
out:
    sodium_free(c.cluster_key);
    free(c.state_path);
    pthread_mutex_destroy(&c.lock);
    dht_close(d);
    return rc;
}

int dht_cluster_token(struct dht *d, const char *advertise, char **token)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return MG_ENOTFOUND;
    return token_make(c->cluster_key, advertise ? advertise : c->self_addr, token);
}

/* The view of this process; a client asks its node first. */
static int status_local(struct cluster *c, struct buf *out, int running)
{
    json_t *o = json_object();
    json_t *ms = json_array();
    char idhex[17];
    char when[32] = "";
    if (!o || !ms) {
        json_decref(o);
        json_decref(ms);
        return MG_ENOMEM;
    }
    snprintf(idhex, sizeof(idhex), "%016llx", (unsigned long long)c->self_id);
    json_object_set_new(o, "node", json_string(idhex));
    json_object_set_new(o, "addr", json_string(c->self_addr));
    json_object_set_new(o, "zone", json_string(c->self_zone));
    json_object_set_new(o, "running", json_boolean(running));
    params_json(&c->params, o);
    uint64_t last = atomic_load(&c->last_ae_ms);
    if (last)
        mg_iso8601((int64_t)(last / 1000), when, sizeof(when));
    json_object_set_new(o, "last_anti_entropy", last ? json_string(when) : json_null());
    json_object_set_new(o, "anti_entropy_rounds", json_integer((json_int_t)c->ae_rounds));
    json_object_set_new(o, "anti_entropy_rows", json_integer((json_int_t)c->ae_rows));
    json_object_set_new(o, "anti_entropy_scans", json_integer((json_int_t)c->ae_scans));
    json_object_set_new(o, "handoff_rows", json_integer((json_int_t)c->handoff_rows));
    json_object_set_new(o, "hints_replayed", json_integer((json_int_t)c->hints_replayed));
    json_object_set_new(o, "refused_messages", json_integer((json_int_t)c->refused));
    struct dht_engine_stats es;
    dht_engine_stats(c->d, &es);
    json_object_set_new(o, "tombstones_purged", json_integer((json_int_t)es.tombstones_purged));
    json_object_set_new(o, "stale_rows_dropped", json_integer((json_int_t)es.stale_rows_dropped));
    json_object_set_new(o, "conflict_copies", json_integer((json_int_t)es.conflict_copies));
    json_object_set_new(o, "local_health", json_integer(c->swim ? swim_health(c->swim) : 0));
    disco_status_json(c->disco, o);

    struct {
        uint64_t id;
        char addr[CLUSTER_ADDR_MAX];
        char zone[RING_ZONE_MAX];
        enum member_state st;
        uint32_t inc;
        double share;
    } rows[CLUSTER_MAX_MEMBERS];
    double share[CLUSTER_MAX_MEMBERS];
    size_t n = 0, live = 0;
    pthread_mutex_lock(&c->lock);
    ring_ownership(&c->ring, (size_t)c->params.n, share);
    for (size_t i = 0; i < c->nmembers; i++) {
        const struct member *m = &c->members[i];
        rows[n].id = m->id;
        snprintf(rows[n].addr, CLUSTER_ADDR_MAX, "%s", m->addr);
        snprintf(rows[n].zone, RING_ZONE_MAX, "%s", m->zone);
        rows[n].st = m->state;
        rows[n].inc = m->incarnation;
        rows[n].share = 0;
        for (size_t k = 0; k < c->ring.nmembers; k++)
            if (c->ring_index[k] == i)
                rows[n].share = share[k];
        live += m->state == MEMBER_ALIVE || m->state == MEMBER_SUSPECT;
        n++;
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        snprintf(idhex, sizeof(idhex), "%016llx", (unsigned long long)rows[i].id);
        json_t *j =
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:I, s:b}", "id", idhex, "addr", rows[i].addr,
                      "zone", rows[i].zone, "state", member_state_name(rows[i].st), "incarnation",
                      (json_int_t)rows[i].inc, "ownership", rows[i].share, "hints",
                      (json_int_t)hint_backlog(c, rows[i].id), "self", rows[i].id == c->self_id);
        if (j)
            json_array_append_new(ms, j);
    }
    json_object_set_new(o, "members", ms);
    /* Every member gossips with every other, so the view is the network;
     * members known dead are not counted. */
    json_object_set_new(o, "network_size_estimate", json_integer((json_int_t)live));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (!text)
        return MG_ENOMEM;
    int rc = buf_puts(out, text);
    if (!rc)
        rc = buf_putc(out, '\n');
    free(text);
    return rc;
}

int dht_cluster_status(struct dht *d, struct buf *out)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return MG_ENOTFOUND;
    if (c->serving)
        return status_local(c, out, 1);
    struct buf reply;
    buf_init(&reply);
    /* An operator's command, not a replica call: a busy node gets time to
     * answer before the saved (possibly stale) view is shown instead. */
    int st = c->self_addr[0]
                 ? peer_call(c, c->self_addr, PEER_STATUS, NULL, 0, &reply, cluster_bulk_timeout(c))
                 : 0;
    int rc;
    if (st == 200)
        rc = buf_append(out, reply.data ? reply.data : "", reply.len);
    else
        rc = status_local(c, out, 0);
    buf_release(&reply);
    return rc;
}

int dht_cluster_leave(struct dht *d)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return MG_ENOTFOUND;
    int st = peer_call(c, c->self_addr, PEER_LEAVE, NULL, 0, NULL, cluster_bulk_timeout(c));
    return st == 200 ? 0 : MG_EUNAVAIL;
}

int dht_cluster_remove(struct dht *d, uint64_t node_id)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return MG_ENOTFOUND;
    struct buf p;
    buf_init(&p);
    if (wire_u64(&p, node_id))
        return MG_ENOMEM;
    int st = peer_call(c, c->self_addr, PEER_REMOVE, p.data, p.len, NULL, cluster_bulk_timeout(c));
    buf_release(&p);
    return st == 200 ? 0 : st == 404 ? MG_ENOTFOUND : MG_EUNAVAIL;
}

int dht_cluster_ping(struct dht *d, const char *addr, int64_t clock_offset_ms, struct buf *save)
{
    struct cluster *c = dht_engine_cluster(d);
    if (!c)
        return MG_ENOTFOUND;
    if (!clock_offset_ms && !save)
        return peer_call(c, addr, PEER_PING, NULL, 0, NULL, c->params.timeout_ms);
    /* Built by hand: a shifted clock, and the bytes kept for a replay check. */
    struct buf msg;
    buf_init(&msg);
    uint64_t hlc = hlc_now(dht_engine_clock(d));
    hlc = (uint64_t)((int64_t)hlc + clock_offset_ms * (int64_t)(1 << HLC_COUNTER_BITS));
    if (seal_message(c->peer_key, PEER_PING, c->self_id, hlc, NULL, 0, "", 0, &msg, NULL))
        return MG_ENOMEM;
    if (save)
        buf_append(save, msg.data, msg.len);
    /* Sent raw: peer_call would seal again. */
    int st = peer_call_raw(c, addr, PEER_PING, msg.data, msg.len, c->params.timeout_ms);
    buf_release(&msg);
    return st;
}

/* ---- per-partition digests for operators and tests -------------------------------- */

struct pk_list {
    char **keys;
    size_t n, cap;
};

static int pk_collect(void *ctx, const char *pkey, const char *rkey, const struct dht_version *v,
                      int tomb, const uint8_t hash[DHT_HASH_LEN])
{
    (void)rkey;
    (void)v;
    (void)tomb;
    (void)hash;
    struct pk_list *l = ctx;
    if (pkey[0] == CLUSTER_LOCAL_PREFIX || (l->n && strcmp(l->keys[l->n - 1], pkey) == 0))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **k = realloc(l->keys, cap * sizeof(*k));
        if (!k)
            return MG_ENOMEM;
        l->keys = k;
        l->cap = cap;
    }
    l->keys[l->n] = strdup(pkey);
    if (!l->keys[l->n])
        return MG_ENOMEM;
    l->n++;
    return 0;
}

int dht_replica_digests(struct dht *d,
                        int (*fn)(void *ctx, const char *pkey, const char *digest_hex,
                                  uint32_t rows),
                        void *ctx)
{
    struct pk_list l = {0};
    int rc = dht_local_meta(d, NULL, pk_collect, &l);
    for (size_t i = 0; !rc && i < l.n; i++) {
        uint8_t dg[32];
        char hex[65];
        uint32_t rows;
        rc = peer_partition_digest(d, l.keys[i], dg, NULL, &rows);
        if (!rc) {
            mg_hex_encode(dg, sizeof(dg), hex);
            rc = fn(ctx, l.keys[i], hex, rows);
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.keys[i]);
    free(l.keys);
    return rc;
}
