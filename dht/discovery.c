/*
 * discovery.c - zero-config LAN discovery by multicast beacon: the group
 * socket, sealed beacons and solicitations, the discovery thread of a
 * member, and the wait of a node that has the cluster key but no seed.
 * What it does and why it is safe: discovery.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "discovery.h"
#include "wire.h"

#define DISCO_FIRST_INTERVAL_MS 1000 /* beacons: now, +1 s, +2 s, +4 s, ... */
#define DISCO_INTERVAL_MS 5000       /* ... then every 5 s */
#define DISCO_MIN_GAP_MS 1000        /* never two beacons closer than this */
#define DISCO_ANSWER_JITTER_MS 200   /* a solicited beacon goes within this */
#define DISCO_CONTACT_RETRY_MS 10000 /* join attempts through one node, at most */
#define DISCO_CONTACTS 16
#define DISCO_DRAIN_MAX 32 /* datagrams read per loop turn */
#define DISCO_POLL_MS 100

struct disco_contact {
    uint64_t id; /* 0: free */
    uint64_t at_ms;
};

struct disco {
    struct cluster *c;
    int fd;
    struct sockaddr_in group;
    char group_text[CLUSTER_ADDR_MAX];
    pthread_t thread;
    int started;
    int refusal_logged;

    /* beacon schedule and join attempts (discovery thread only) */
    uint64_t next_beacon_ms, last_beacon_ms;
    unsigned interval_ms;
    struct disco_contact contacts[DISCO_CONTACTS];

    atomic_uint_fast64_t sent, accepted, refused, contacted;
};

int disco_parse_group(const char *text, struct sockaddr_in *out)
{
    char host[INET_ADDRSTRLEN];
    uint64_t port;
    if (!text)
        text = DISCO_DEFAULT_GROUP;
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof(host))
        return MG_EINVAL;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1 ||
        !IN_MULTICAST(ntohl(out->sin_addr.s_addr)) || mg_parse_u64(colon + 1, &port) || port < 1 ||
        port > 65535)
        return MG_EINVAL;
    out->sin_port = htons((uint16_t)port);
    return 0;
}

/* ---- messages ------------------------------------------------------------------ */

int disco_seal(struct cluster *c, uint8_t type, struct buf *out)
{
    struct buf p;
    buf_init(&p);
    pthread_mutex_lock(&c->lock);
    uint32_t inc = c->incarnation;
    pthread_mutex_unlock(&c->lock);
    int rc = wire_u64(&p, c->self_id);
    if (!rc && type == DISCO_BEACON) {
        rc = wire_str(&p, c->self_addr);
        if (!rc)
            rc = wire_str(&p, c->self_zone);
        if (!rc)
            rc = wire_u32(&p, inc);
    }
    if (!rc)
        rc = cluster_seal(c, type, NULL, 0, p.data, p.len, out, NULL);
    buf_release(&p);
    return rc;
}

int disco_open(struct cluster *c, const void *pkt, size_t len, struct disco_msg *m,
               const char **why)
{
    struct seal_header h;
    struct buf payload;
    struct wire_reader r;
    memset(m, 0, sizeof(*m));
    memset(&h, 0, sizeof(h));
    *why = NULL;
    /* Our own, looped back to us (IP_MULTICAST_LOOP): not news, not a
     * refusal. Decided before the tag is checked: a forged datagram that
     * claims to be ours is only ignored. */
    if (seal_parse_header(pkt, len, &h) == 0 && h.sender == c->self_id)
        return 1;
    buf_init(&payload);
    int rc = cluster_check(c, pkt, len, "multicast", &h, &payload, why);
    if (rc)
        goto out;
    wire_reader_init(&r, payload.data, payload.len);
    m->type = h.type;
    m->id = wire_get_u64(&r);
    if (h.type == DISCO_BEACON) {
        wire_get_str(&r, m->addr, sizeof(m->addr));
        wire_get_str(&r, m->zone, sizeof(m->zone));
        m->incarnation = wire_get_u32(&r);
    }
    if (h.type != DISCO_BEACON && h.type != DISCO_SOLICIT) {
        *why = "not a discovery message";
        rc = MG_EINVAL;
    } else if (wire_end(&r) || m->id != h.sender || (h.type == DISCO_BEACON && !m->addr[0])) {
        *why = "malformed";
        rc = MG_EINVAL;
    }
out:
    buf_release(&payload);
    return rc;
}

/* ---- the group socket ------------------------------------------------------------ */

/* A socket bound to the group, member of it on the interface of iface_ip
 * (numeric IPv4; anything else: the kernel's choice by route), sending to
 * it with TTL 1 and loopback on. Returns the descriptor or MG_EIO (logged). */
static int group_socket(const struct sockaddr_in *group, const char *group_text,
                        const char *iface_ip)
{
    struct in_addr iface = {htonl(INADDR_ANY)};
    if (!iface_ip || inet_pton(AF_INET, iface_ip, &iface) != 1)
        iface.s_addr = htonl(INADDR_ANY);
    int one = 1, zero = 0;
    unsigned char ttl = 1, loop = 1;
    struct ip_mreq mreq = {group->sin_addr, iface};
    const struct {
        int level, name;
        const void *val;
        socklen_t len;
        const char *what;
    } opts[] = {
        /* Only this group's datagrams, not every group joined on the host. */
        {IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero), "restrict to the group"},
        {IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq), "join the group"},
        {IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl), "set TTL 1"},
        {IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop), "enable loopback"},
        {IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof(iface), "choose the interface"},
    };
    const char *what = "open a socket";
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        goto fail;
    /* Several nodes on one host share the port; bound to the group
     * address, the socket never receives unicast sent to the port. */
    what = "bind";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)group, sizeof(*group)) != 0)
        goto fail;
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        what = opts[i].what;
        if (opts[i].name == IP_MULTICAST_IF && iface.s_addr == htonl(INADDR_ANY))
            continue;
        if (setsockopt(fd, opts[i].level, opts[i].name, opts[i].val, opts[i].len) != 0)
            goto fail;
    }
    return fd;
fail:;
    int err = errno;
    char ifname[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &iface, ifname, sizeof(ifname));
    log_err("discovery: cannot %s group=%s interface=%s err=%s (multicast needs a route: listen "
            "on the LAN interface's address, or route 224.0.0.0/4 to it)",
            what, group_text, ifname, strerror(err));
    if (fd >= 0)
        close(fd);
    return MG_EIO;
}

static void disco_free(struct disco *dc)
{
    if (!dc)
        return;
    if (dc->fd >= 0)
        close(dc->fd);
    free(dc);
}

static int disco_new(struct cluster *c, const char *group, struct disco **out)
{
    *out = NULL;
    struct disco *dc = calloc(1, sizeof(*dc));
    if (!dc)
        return MG_ENOMEM;
    dc->c = c;
    dc->fd = -1;
    dc->interval_ms = DISCO_FIRST_INTERVAL_MS;
    snprintf(dc->group_text, sizeof(dc->group_text), "%s", group ? group : DISCO_DEFAULT_GROUP);
    if (disco_parse_group(group, &dc->group)) {
        log_err("discovery group must be an IPv4 multicast HOST:PORT (224.0.0.0/4), got %s",
                dc->group_text);
        disco_free(dc);
        return MG_EINVAL;
    }
    dc->fd = group_socket(&dc->group, dc->group_text, c->source_ip);
    if (dc->fd < 0) {
        disco_free(dc);
        return MG_EIO;
    }
    *out = dc;
    return 0;
}

/* Sends this node's beacon or solicitation to the group. */
static void send_sealed(struct disco *dc, uint8_t type)
{
    struct buf pkt;
    buf_init(&pkt);
    if (disco_seal(dc->c, type, &pkt) == 0 &&
        sendto(dc->fd, pkt.data, pkt.len, MSG_DONTWAIT, (const struct sockaddr *)&dc->group,
               sizeof(dc->group)) >= 0)
        atomic_fetch_add(&dc->sent, 1);
    else
        log_debug("discovery: not sent group=%s err=%s", dc->group_text, strerror(errno));
    buf_release(&pkt);
}

/* Reads one datagram. Returns 1 with *m for an accepted discovery message,
 * 0 for one to skip (our own; refused: counted, logged once at info, then at
 * debug), -1 when none is queued. */
static int receive(struct disco *dc, struct disco_msg *m)
{
    uint8_t pkt[DISCO_PACKET_MAX];
    struct sockaddr_in from;
    socklen_t fromlen = sizeof(from);
    memset(&from, 0, sizeof(from));
    ssize_t got = recvfrom(dc->fd, pkt, sizeof(pkt), MSG_DONTWAIT | MSG_TRUNC,
                           (struct sockaddr *)&from, &fromlen);
    if (got < 0)
        return -1;
    const char *why = "oversized";
    int rc = (size_t)got > sizeof(pkt) ? MG_EINVAL : disco_open(dc->c, pkt, (size_t)got, m, &why);
    if (rc == 1)
        return 0;
    if (rc == 0) {
        atomic_fetch_add(&dc->accepted, 1);
        return 1;
    }
    atomic_fetch_add(&dc->refused, 1);
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
    if (!dc->refusal_logged) {
        dc->refusal_logged = 1;
        log_info("discovery: datagram refused from=%s group=%s reason=\"%s\" (further refusals "
                 "are logged at debug)",
                 ip, dc->group_text, why ? why : "?");
    } else {
        log_debug("discovery: datagram refused from=%s reason=\"%s\"", ip, why ? why : "?");
    }
    return 0;
}

/* ---- a member's discovery thread ------------------------------------------------- */

static void beacon_send(struct disco *dc, uint64_t now)
{
    send_sealed(dc, DISCO_BEACON);
    unsigned base = dc->interval_ms;
    uint64_t next = now + base * 4 / 5 + randombytes_uniform(base * 2 / 5 + 1);
    dc->last_beacon_ms = now;
    dc->next_beacon_ms = next > now + DISCO_MIN_GAP_MS ? next : now + DISCO_MIN_GAP_MS;
    dc->interval_ms = base * 2 < DISCO_INTERVAL_MS ? base * 2 : DISCO_INTERVAL_MS;
}

/* 1 when a join through node id may be tried now (and notes the try). */
static int contact_due(struct disco *dc, uint64_t id, uint64_t now)
{
    struct disco_contact *slot = &dc->contacts[0];
    for (size_t i = 0; i < DISCO_CONTACTS; i++) {
        struct disco_contact *e = &dc->contacts[i];
        if (e->id == id) {
            if (now < e->at_ms + DISCO_CONTACT_RETRY_MS)
                return 0;
            slot = e;
            break;
        }
        if (e->at_ms < slot->at_ms)
            slot = e;
    }
    slot->id = id;
    slot->at_ms = now;
    return 1;
}

enum disco_heard disco_heard(struct cluster *c, const struct disco_msg *m)
{
    char known[CLUSTER_ADDR_MAX];
    if (cluster_member_addr(c, m->id, known, NULL) != 0)
        return DISCO_UNKNOWN;
    /* SWIM's rules: only alive at a higher incarnation is news, and only
     * news moves a member to another address. */
    return cluster_apply_update(c, m->id, m->addr, m->zone, m->incarnation, MEMBER_ALIVE)
               ? DISCO_UPDATED
               : DISCO_KNOWN;
}

static void on_beacon(struct disco *dc, const struct disco_msg *m)
{
    if (disco_heard(dc->c, m) != DISCO_UNKNOWN || !contact_due(dc, m->id, mg_mono_ms()))
        return;
    log_info("discovery: heard node=%016llx addr=%s, unknown here: joining through it",
             (unsigned long long)m->id, m->addr);
    atomic_fetch_add(&dc->contacted, 1);
    int rc = cluster_contact(dc->c, m->addr);
    if (rc)
        log_warn("discovery: cannot join through node=%016llx addr=%s: %s",
                 (unsigned long long)m->id, m->addr, mg_strerror(rc));
}

/* Reads what is queued; acts on it once this node takes requests. */
static void drain(struct disco *dc, int act)
{
    struct disco_msg m;
    for (int k = 0; k < DISCO_DRAIN_MAX; k++) {
        int got = receive(dc, &m);
        if (got < 0)
            break;
        if (!got || !act)
            continue;
        if (m.type == DISCO_BEACON) {
            on_beacon(dc, &m);
            continue;
        }
        /* A solicitation: a beacon soon, but never two within the gap. */
        uint64_t soon = mg_mono_ms() + randombytes_uniform(DISCO_ANSWER_JITTER_MS);
        if (soon < dc->last_beacon_ms + DISCO_MIN_GAP_MS)
            soon = dc->last_beacon_ms + DISCO_MIN_GAP_MS;
        if (soon < dc->next_beacon_ms)
            dc->next_beacon_ms = soon;
    }
}

static void *disco_main(void *arg)
{
    struct disco *dc = arg;
    struct cluster *c = dc->c;
    while (!atomic_load(&c->stop)) {
        /* Silent until this node answers peers (as swim.c): nobody should
         * join through a node that cannot take the request yet. */
        int ready = atomic_load(&c->ready);
        uint64_t now = mg_mono_ms();
        if (ready && now >= dc->next_beacon_ms) {
            beacon_send(dc, now);
            now = mg_mono_ms();
        }
        uint64_t wait = ready && dc->next_beacon_ms > now ? dc->next_beacon_ms - now : 0;
        if (!ready || wait > DISCO_POLL_MS)
            wait = DISCO_POLL_MS;
        struct pollfd pfd = {dc->fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)wait) > 0)
            drain(dc, ready);
    }
    return NULL;
}

int disco_start(struct cluster *c, const char *group, struct disco **out)
{
    struct disco *dc;
    int rc = disco_new(c, group, &dc);
    if (rc)
        return rc;
    if (pthread_create(&dc->thread, NULL, disco_main, dc) != 0) {
        disco_free(dc);
        return MG_ENOMEM;
    }
    dc->started = 1;
    log_info("discovery: beacons on group=%s", dc->group_text);
    *out = dc;
    return 0;
}

void disco_stop(struct disco *dc)
{
    if (!dc)
        return;
    if (dc->started)
        pthread_join(dc->thread, NULL);
    disco_free(dc);
}

/* ---- a node without a seed ------------------------------------------------------- */

int disco_find_seed(struct cluster *c, const char *group, unsigned wait_ms,
                    char seed[CLUSTER_ADDR_MAX])
{
    struct disco *dc;
    int rc = disco_new(c, group, &dc);
    if (rc)
        return rc;
    log_info("discovery: no seed address: asking group=%s for members for up to %u s",
             dc->group_text, wait_ms / 1000);
    uint64_t now = mg_mono_ms(), deadline = now + wait_ms, next_ask = now;
    unsigned gap = DISCO_MIN_GAP_MS;
    rc = MG_EUNAVAIL;
    while (rc && now < deadline && !atomic_load(&c->stop)) {
        if (now >= next_ask) {
            send_sealed(dc, DISCO_SOLICIT);
            next_ask = now + gap;
            gap = gap * 2 < DISCO_INTERVAL_MS ? gap * 2 : DISCO_INTERVAL_MS;
        }
        struct pollfd pfd = {dc->fd, POLLIN, 0};
        uint64_t wait = next_ask > now ? next_ask - now : 0;
        poll(&pfd, 1, (int)(wait < DISCO_POLL_MS ? wait : DISCO_POLL_MS));
        struct disco_msg m;
        for (int k = 0; rc && k < DISCO_DRAIN_MAX; k++) {
            int got = receive(dc, &m);
            if (got < 0)
                break;
            if (got && m.type == DISCO_BEACON) {
                snprintf(seed, CLUSTER_ADDR_MAX, "%s", m.addr);
                log_info("discovery: found the cluster through node=%016llx addr=%s",
                         (unsigned long long)m.id, m.addr);
                rc = 0;
            }
        }
        now = mg_mono_ms();
    }
    if (rc)
        log_err("discovery: no member of this cluster answered on group=%s within %u s "
                "(%llu datagrams refused: another cluster's key?): give --join HOST:PORT",
                dc->group_text, wait_ms / 1000, (unsigned long long)atomic_load(&dc->refused));
    disco_free(dc);
    return rc;
}

void disco_status_json(struct disco *dc, json_t *o)
{
    json_t *j = NULL;
    if (dc)
        j = json_pack("{s:s, s:I, s:I, s:I, s:I}", "group", dc->group_text, "sent",
                      (json_int_t)atomic_load(&dc->sent), "accepted",
                      (json_int_t)atomic_load(&dc->accepted), "refused",
                      (json_int_t)atomic_load(&dc->refused), "contacted",
                      (json_int_t)atomic_load(&dc->contacted));
    json_object_set_new(o, "discovery", j ? j : json_null());
}
