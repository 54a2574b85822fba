/*
 * swim.c - membership by gossip: SWIM (Das, Gupta, Motivala, 2002) with
 * Lifeguard's local health (Dadgar et al., 2018), over UDP on the port
 * number of the node's HTTP server, every packet sealed like any peer
 * message (seal.h).
 *
 * Each protocol period the node probes one member (round robin over a
 * shuffled list): PING, and when no ACK comes within the probe timeout,
 * PING-REQ through SWIM_INDIRECT other members, which ping the target and
 * forward its ACK. No ACK by the end of the period: the member is
 * suspected. A suspected member that does not refute (by gossiping a
 * higher incarnation) within the suspicion timeout is declared dead.
 * Membership updates ride on every packet (piggy-backing, SWIM 4.4), each
 * sent about 3 log2(n) times.
 *
 * Lifeguard: a node whose own probes keep failing is probably the slow one
 * (CPU starved, paused): its local health multiplier grows and stretches
 * its probe timeouts and period, so it does not accuse healthy members.
 * Suspicion timeouts start long and shrink as independent suspicions arrive.
 * Dead members are still probed now and then, and told they are dead, so
 * that one that comes back (a healed partition) refutes and is welcomed back.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "cluster.h"
#include "wire.h"

#define SWIM_PACKET_MAX 1400 /* stays below a common path MTU */
#define SWIM_INDIRECT 3      /* members asked to probe indirectly */
#define SWIM_LHM_MAX 8
#define SWIM_BCAST_LAMBDA 3 /* each update is sent lambda * log2(n+1) times */
#define SWIM_FORWARDS 16
#define SWIM_SUSPECT_K 3 /* confirmations that shrink a suspicion to its minimum */
#define SWIM_DRAIN_MAX 256   /* packets read per loop turn */
#define SWIM_STALL_MIN_MS 100 /* a loop turn this much late is a stall of this node */

struct bcast {
    uint64_t id;
    int sent;
};

struct forward {
    uint32_t seq;     /* our seq to the target */
    uint32_t req_seq; /* the requester's seq */
    struct sockaddr_storage to;
    socklen_t tolen;
    uint64_t expires_ms;
};

struct swim {
    struct cluster *c;
    int fd;
    pthread_t thread;
    int started;
    atomic_int lhm;

    pthread_mutex_t lock; /* queue */
    struct bcast queue[CLUSTER_MAX_MEMBERS];
    size_t nqueue;

    /* probe state (swim thread only) */
    uint32_t seq;
    uint64_t order[CLUSTER_MAX_MEMBERS];
    size_t norder, next;
    uint64_t target;
    uint32_t target_inc;
    enum member_state target_state;
    uint32_t probe_seq;
    int probing, acked, indirect_sent;
    uint64_t probe_start, period_end;
    struct forward fwd[SWIM_FORWARDS];
};

int swim_health(const struct swim *s)
{
    return atomic_load(&((struct swim *)s)->lhm);
}

static void lhm_add(struct swim *s, int delta)
{
    int v = atomic_load(&s->lhm) + delta;
    atomic_store(&s->lhm, v < 0 ? 0 : v > SWIM_LHM_MAX ? SWIM_LHM_MAX : v);
}

void swim_broadcast(struct swim *s, uint64_t id)
{
    pthread_mutex_lock(&s->lock);
    size_t i;
    for (i = 0; i < s->nqueue; i++)
        if (s->queue[i].id == id)
            break;
    if (i == s->nqueue && s->nqueue < CLUSTER_MAX_MEMBERS)
        s->nqueue++;
    if (i < s->nqueue) {
        s->queue[i].id = id;
        s->queue[i].sent = 0;
    }
    pthread_mutex_unlock(&s->lock);
}

static int resolve(const char *addr, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[CLUSTER_ADDR_MAX];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host))
        return MG_EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0 || !res)
        return MG_ENOTFOUND;
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int ceil_log2(size_t n)
{
    int k = 0;
    while (((size_t)1 << k) < n)
        k++;
    return k ? k : 1;
}

/* Appends one member's current state as an update. c->lock held. */
static int put_update(struct buf *b, const struct member *m)
{
    int rc = wire_u64(b, m->id);
    if (!rc)
        rc = wire_str(b, m->addr);
    if (!rc)
        rc = wire_str(b, m->zone);
    if (!rc)
        rc = wire_u32(b, m->incarnation);
    if (!rc)
        rc = wire_u8(b, (uint8_t)m->state);
    return rc;
}

/* Piggy-backs: ourselves, `about` (a member we tell its own state, or 0),
 * then queued updates, least sent first, while the packet has room. spend:
 * count this as a transmission of each update (not for a packet to a member
 * we believe dead: it most likely goes nowhere). */
static int put_piggyback(struct swim *s, struct buf *b, uint64_t about, int spend)
{
    struct cluster *c = s->c;
    size_t count_at = b->len;
    uint8_t count = 0;
    int rc = wire_u8(b, 0);
    pthread_mutex_lock(&s->lock);
    pthread_mutex_lock(&c->lock);
    size_t n = c->nmembers;
    int limit = SWIM_BCAST_LAMBDA * ceil_log2(n + 1);
    for (size_t i = 0; !rc && i < c->nmembers; i++) {
        const struct member *m = &c->members[i];
        if (m->id == c->self_id || (about && m->id == about)) {
            rc = put_update(b, m);
            count++;
        }
    }
    for (int round = 0; !rc && round < limit; round++) {
        for (size_t q = 0; !rc && q < s->nqueue; q++) {
            struct bcast *bc = &s->queue[q];
            if (bc->sent != round || bc->id == c->self_id || bc->id == about)
                continue;
            const struct member *m = NULL;
            for (size_t i = 0; i < c->nmembers; i++)
                if (c->members[i].id == bc->id)
                    m = &c->members[i];
            if (!m ||
                b->len + 8 + 2 + strlen(m->addr) + 2 + strlen(m->zone) + 5 + SEAL_OVERHEAD >
                    SWIM_PACKET_MAX ||
                count == 255)
                continue;
            rc = put_update(b, m);
            count++;
            bc->sent += spend;
        }
    }
    /* Drop updates sent often enough. */
    for (size_t q = 0; q < s->nqueue;) {
        if (s->queue[q].sent >= limit)
            s->queue[q] = s->queue[--s->nqueue];
        else
            q++;
    }
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&s->lock);
    b->data[count_at] = (char)count;
    return rc;
}

/* Applies the updates a packet from member `from` carries. */
static void read_piggyback(struct swim *s, uint64_t from, struct wire_reader *r)
{
    uint8_t n = wire_get_u8(r);
    for (uint8_t i = 0; i < n && !r->err; i++) {
        char addr[CLUSTER_ADDR_MAX], zone[RING_ZONE_MAX];
        uint64_t id = wire_get_u64(r);
        wire_get_str(r, addr, sizeof(addr));
        wire_get_str(r, zone, sizeof(zone));
        uint32_t inc = wire_get_u32(r);
        uint8_t st = wire_get_u8(r);
        if (r->err || st > MEMBER_LEFT)
            return;
        int changed = cluster_apply_update_from(s->c, from, id, addr, zone, inc,
                                                (enum member_state)st);
        /* Lifeguard: being suspected is a sign that we are the slow one
         * (we did not answer in time): be slower to accuse others. */
        if (changed && id == s->c->self_id && st != MEMBER_ALIVE)
            lhm_add(s, 1);
    }
}

static void send_to(struct swim *s, const struct sockaddr_storage *sa, socklen_t salen,
                    uint8_t type, const struct buf *payload)
{
    struct buf pkt;
    buf_init(&pkt);
    if (cluster_seal(s->c, type, NULL, 0, payload->data, payload->len, &pkt, NULL) == 0)
        sendto(s->fd, pkt.data, pkt.len, MSG_DONTWAIT, (const struct sockaddr *)sa, salen);
    buf_release(&pkt);
}

/* Address of member id (resolved once and cached). */
static int member_sockaddr(struct swim *s, uint64_t id, struct sockaddr_storage *sa, socklen_t *len,
                           char addr[CLUSTER_ADDR_MAX])
{
    struct cluster *c = s->c;
    int rc = MG_ENOTFOUND, cached = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++) {
        if (c->members[i].id != id)
            continue;
        snprintf(addr, CLUSTER_ADDR_MAX, "%s", c->members[i].addr);
        if (c->members[i].salen) {
            *sa = c->members[i].sa;
            *len = c->members[i].salen;
            cached = 1;
        }
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    if (rc || cached)
        return rc;
    rc = resolve(addr, sa, len);
    if (rc)
        return rc;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++) {
        if (c->members[i].id == id && strcmp(c->members[i].addr, addr) == 0) {
            c->members[i].sa = *sa;
            c->members[i].salen = *len;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static void send_ping(struct swim *s, uint64_t target, uint32_t seq,
                      const struct sockaddr_storage *sa, socklen_t salen, int spend)
{
    struct buf p;
    buf_init(&p);
    if (!wire_u32(&p, seq) && !wire_u64(&p, target) && !put_piggyback(s, &p, target, spend))
        send_to(s, sa, salen, SWIM_PING, &p);
    buf_release(&p);
}

static void send_ack(struct swim *s, uint32_t seq, const struct sockaddr_storage *sa,
                     socklen_t salen)
{
    struct buf p;
    buf_init(&p);
    if (!wire_u32(&p, seq) && !wire_u64(&p, s->c->self_id) && !put_piggyback(s, &p, 0, 1))
        send_to(s, sa, salen, SWIM_ACK, &p);
    buf_release(&p);
}

/* Forwards a target's ACK to the member that asked us to probe it. */
static void send_ack_for(struct swim *s, const struct forward *f, uint64_t target)
{
    struct buf p;
    buf_init(&p);
    if (!wire_u32(&p, f->req_seq) && !wire_u64(&p, target) && !put_piggyback(s, &p, 0, 1))
        send_to(s, &f->to, f->tolen, SWIM_ACK, &p);
    buf_release(&p);
}

static void handle_packet(struct swim *s, const void *data, size_t len,
                          const struct sockaddr_storage *from, socklen_t fromlen)
{
    struct seal_header h;
    struct buf payload;
    struct wire_reader r;
    buf_init(&payload);
    if (cluster_admit(s->c, data, len, "udp", &h, &payload))
        goto out;
    wire_reader_init(&r, payload.data, payload.len);
    uint32_t seq = wire_get_u32(&r);
    uint64_t id = wire_get_u64(&r);
    if (h.type == SWIM_PING) {
        read_piggyback(s, h.sender, &r);
        if (!r.err && id == s->c->self_id)
            send_ack(s, seq, from, fromlen);
    } else if (h.type == SWIM_ACK) {
        read_piggyback(s, h.sender, &r);
        if (r.err)
            goto out;
        if (s->probing && seq == s->probe_seq && id == s->target) {
            s->acked = 1;
            goto out;
        }
        /* An ACK for a probe we made for someone else: forward it. */
        for (int i = 0; i < SWIM_FORWARDS; i++) {
            struct forward *f = &s->fwd[i];
            if (f->expires_ms && f->seq == seq) {
                send_ack_for(s, f, id);
                f->expires_ms = 0;
            }
        }
    } else if (h.type == SWIM_PING_REQ) {
        char addr[CLUSTER_ADDR_MAX];
        wire_get_str(&r, addr, sizeof(addr));
        read_piggyback(s, h.sender, &r);
        struct sockaddr_storage sa;
        socklen_t salen;
        if (r.err || resolve(addr, &sa, &salen))
            goto out;
        int slot = 0;
        for (int i = 0; i < SWIM_FORWARDS; i++)
            if (s->fwd[i].expires_ms < s->fwd[slot].expires_ms)
                slot = i;
        struct forward *f = &s->fwd[slot];
        f->seq = ++s->seq;
        f->req_seq = seq;
        f->to = *from;
        f->tolen = fromlen;
        f->expires_ms = mg_mono_ms() + (uint64_t)s->c->params.gossip_ms * 2;
        send_ping(s, id, f->seq, &sa, salen, 1);
    }
out:
    buf_release(&payload);
}

/* ---- probing ------------------------------------------------------------------ */

static void shuffle_members(struct swim *s)
{
    struct cluster *c = s->c;
    s->norder = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++)
        if (c->members[i].id != c->self_id && c->members[i].state != MEMBER_LEFT)
            s->order[s->norder++] = c->members[i].id;
    pthread_mutex_unlock(&c->lock);
    /* Fisher-Yates: a random order each round bounds the time to the first
     * probe of a failed member (SWIM 4.3). */
    for (size_t i = s->norder; i > 1; i--) {
        size_t j = randombytes_uniform((uint32_t)i);
        uint64_t t = s->order[i - 1];
        s->order[i - 1] = s->order[j];
        s->order[j] = t;
    }
    s->next = 0;
}

static int member_view(struct cluster *c, uint64_t id, enum member_state *st, uint32_t *inc)
{
    int found = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++) {
        if (c->members[i].id == id) {
            *st = c->members[i].state;
            *inc = c->members[i].incarnation;
            found = 1;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

static void probe_start(struct swim *s, uint64_t now)
{
    struct cluster *c = s->c;
    int scale = 1 + atomic_load(&s->lhm);
    s->period_end = now + (uint64_t)c->params.gossip_ms * (uint64_t)scale;
    if (s->next >= s->norder)
        shuffle_members(s);
    if (s->next >= s->norder)
        return;
    uint64_t target = s->order[s->next++];
    struct sockaddr_storage sa;
    socklen_t salen;
    char addr[CLUSTER_ADDR_MAX];
    if (!member_view(c, target, &s->target_state, &s->target_inc) ||
        s->target_state == MEMBER_LEFT || member_sockaddr(s, target, &sa, &salen, addr))
        return;
    s->target = target;
    s->probe_seq = ++s->seq;
    s->probing = 1;
    s->acked = 0;
    s->indirect_sent = 0;
    s->probe_start = now;
    send_ping(s, target, s->probe_seq, &sa, salen, s->target_state != MEMBER_DEAD);
}

/* PING-REQ to up to SWIM_INDIRECT live members other than the target. */
static void probe_indirect(struct swim *s)
{
    struct cluster *c = s->c;
    uint64_t ids[CLUSTER_MAX_MEMBERS];
    size_t n = 0;
    char taddr[CLUSTER_ADDR_MAX] = "";
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++) {
        const struct member *m = &c->members[i];
        if (m->id == s->target)
            snprintf(taddr, sizeof(taddr), "%s", m->addr);
        else if (m->id != c->self_id && m->state == MEMBER_ALIVE)
            ids[n++] = m->id;
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t k = 0; k < SWIM_INDIRECT && n; k++) {
        size_t j = randombytes_uniform((uint32_t)n);
        uint64_t via = ids[j];
        ids[j] = ids[--n];
        struct sockaddr_storage sa;
        socklen_t salen;
        char addr[CLUSTER_ADDR_MAX];
        struct buf p;
        if (member_sockaddr(s, via, &sa, &salen, addr))
            continue;
        buf_init(&p);
        if (!wire_u32(&p, s->probe_seq) && !wire_u64(&p, s->target) && !wire_str(&p, taddr) &&
            !put_piggyback(s, &p, 0, 1))
            send_to(s, &sa, salen, SWIM_PING_REQ, &p);
        buf_release(&p);
    }
    s->indirect_sent = 1;
}

static void probe_end(struct swim *s)
{
    struct cluster *c = s->c;
    s->probing = 0;
    if (s->acked) {
        lhm_add(s, -1);
        /* Heard from a member we had given up on: it is alive again only
         * once it refutes with a higher incarnation, which its ACK carries. */
        return;
    }
    if (s->target_state == MEMBER_ALIVE) {
        lhm_add(s, 1);
        log_info("member suspected node=%016llx (no ack, direct or indirect)",
                 (unsigned long long)s->target);
        cluster_set_state(c, s->target, MEMBER_SUSPECT, s->target_inc);
    }
}

/* Declares dead the suspects whose (Lifeguard-shrunk) timeout ran out. The
 * timeout stretches with our own local health: a node that is itself slow
 * waits longer before it calls anyone dead. */
static void check_suspects(struct swim *s, uint64_t now)
{
    struct cluster *c = s->c;
    uint64_t dead[CLUSTER_MAX_MEMBERS];
    uint32_t inc[CLUSTER_MAX_MEMBERS];
    size_t n = 0;
    double min = c->params.suspect_ms, max = 3.0 * c->params.suspect_ms;
    double scale = 1 + atomic_load(&s->lhm);
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++) {
        struct member *m = &c->members[i];
        if (m->state != MEMBER_SUSPECT)
            continue;
        /* Lifeguard: log(C+1)/log(K+1) for K = 3, without libm. */
        static const double frac_of[SWIM_SUSPECT_K + 1] = {0.0, 0.5, 0.7925, 1.0};
        int conf = m->confirmations > SWIM_SUSPECT_K ? SWIM_SUSPECT_K : m->confirmations;
        double t = (max - (max - min) * frac_of[conf]) * scale;
        if (now >= m->state_ms + (uint64_t)t) {
            dead[n] = m->id;
            inc[n++] = m->incarnation;
        }
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        log_info("member declared dead node=%016llx", (unsigned long long)dead[i]);
        cluster_set_state(c, dead[i], MEMBER_DEAD, inc[i]);
    }
}

/* This node did not run for lag ms (CPU starved, stopped, swapping): the
 * silence was ours, not the members'. Local health goes up (Lifeguard), and
 * the probe under way and every suspicion timer move on by the lag, so
 * that nobody is suspected or declared dead for time this node itself did
 * not see: an ACK or a refutation that came meanwhile still counts. */
static void on_stall(struct swim *s, uint64_t lag)
{
    struct cluster *c = s->c;
    lhm_add(s, 1);
    if (s->probing) {
        s->probe_start += lag;
        s->period_end += lag;
    }
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nmembers; i++)
        if (c->members[i].state == MEMBER_SUSPECT)
            c->members[i].state_ms += lag;
    pthread_mutex_unlock(&c->lock);
    log_info("gossip stalled ms=%llu local_health=%d", (unsigned long long)lag,
             atomic_load(&s->lhm));
}

/* Reads every queued packet (bounded), so that timers are judged on
 * everything that arrived. */
static void drain(struct swim *s, uint8_t *pkt, size_t cap)
{
    for (int k = 0; k < SWIM_DRAIN_MAX; k++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof(from);
        ssize_t got =
            recvfrom(s->fd, pkt, cap, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
        if (got <= 0)
            break;
        handle_packet(s, pkt, (size_t)got, &from, fromlen);
    }
}

static void *swim_main(void *arg)
{
    struct swim *s = arg;
    struct cluster *c = s->c;
    uint8_t pkt[65536];
    uint64_t next_probe = mg_mono_ms();
    /* A loop turn normally ends within its poll wait (at most 100 ms) plus
     * a little work; anything much later is this node stalling. */
    uint64_t stall_ms = (uint64_t)c->params.gossip_ms / 2;
    if (stall_ms < SWIM_STALL_MIN_MS)
        stall_ms = SWIM_STALL_MIN_MS;
    uint64_t last = mg_mono_ms();
    while (!atomic_load(&c->stop)) {
        if (!atomic_load(&c->ready)) {
            /* Not answering peers yet (see cluster_enter): stay silent, so
             * that nobody routes writes here before we can take them. */
            struct pollfd pfd = {s->fd, POLLIN, 0};
            if (poll(&pfd, 1, 50) > 0)
                recv(s->fd, pkt, sizeof(pkt), MSG_DONTWAIT);
            next_probe = last = mg_mono_ms();
            continue;
        }
        uint64_t now = mg_mono_ms();
        uint64_t until = s->probing ? s->period_end : next_probe;
        if (s->probing && !s->acked && !s->indirect_sent) {
            uint64_t t = s->probe_start + (uint64_t)c->params.gossip_ms *
                                              (uint64_t)(1 + atomic_load(&s->lhm)) * 2 / 5;
            if (t < until)
                until = t;
        }
        int wait = until > now ? (int)(until - now) : 0;
        if (wait > 100)
            wait = 100;
        struct pollfd pfd = {s->fd, POLLIN, 0};
        int ready = poll(&pfd, 1, wait);
        now = mg_mono_ms();
        if (now > last + (uint64_t)wait + stall_ms)
            on_stall(s, now - last - (uint64_t)wait);
        if (ready > 0 && (pfd.revents & POLLIN)) {
            uint64_t t0 = now;
            drain(s, pkt, sizeof(pkt));
            now = mg_mono_ms();
            if (now > t0 + stall_ms)
                on_stall(s, now - t0);
        }
        if (s->probing && !s->acked && !s->indirect_sent && s->target_state != MEMBER_DEAD &&
            now >= s->probe_start +
                       (uint64_t)c->params.gossip_ms * (uint64_t)(1 + atomic_load(&s->lhm)) * 2 / 5)
            probe_indirect(s);
        if (s->probing && (s->acked || now >= s->period_end)) {
            probe_end(s);
            next_probe = s->period_end;
        }
        if (!s->probing && now >= next_probe) {
            probe_start(s, now);
            next_probe = s->period_end;
        }
        check_suspects(s, now);
        last = mg_mono_ms();
    }
    return NULL;
}

int swim_start(struct cluster *c, struct swim **out)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    *out = NULL;
    if (resolve(c->self_addr, &sa, &salen)) {
        log_err("cannot resolve gossip address %s", c->self_addr);
        return MG_EINVAL;
    }
    struct swim *s = calloc(1, sizeof(*s));
    if (!s)
        return MG_ENOMEM;
    s->c = c;
    pthread_mutex_init(&s->lock, NULL);
    s->fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s->fd >= 0)
        setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, salen) != 0) {
        log_err("cannot bind gossip socket udp=%s err=%s", c->self_addr, strerror(errno));
        swim_stop(s);
        return MG_EIO;
    }
    if (pthread_create(&s->thread, NULL, swim_main, s) != 0) {
        swim_stop(s);
        return MG_ENOMEM;
    }
    s->started = 1;
    /* Our own (new) incarnation goes out first. */
    swim_broadcast(s, c->self_id);
    *out = s;
    return 0;
}

void swim_stop(struct swim *s)
{
    if (!s)
        return;
    /* c->stop is set by cluster_close before this. */
    if (s->started)
        pthread_join(s->thread, NULL);
    if (s->fd >= 0)
        close(s->fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
