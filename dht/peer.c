/*
 * peer.c - the client side of the peer protocol: sealed requests over
 * HTTP/1.1 with libcurl.
 *
 * Parallel fan-out uses one curl multi handle per calling thread; handles
 * are pooled (a multi handle is not thread-safe, and a pooled one keeps its
 * connections alive between requests, so a replica write costs no TCP
 * handshake). Each pooled client keeps one easy handle per peer address,
 * reused so curl reuses the connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "cluster.h"
#include "engine.h"
#include "hlc.h"

#define PEER_CONNS_MAX 32          /* peers one pooled client keeps connections to */
#define PEER_POOL_MAX 64           /* pooled clients (threads coordinating at once) */
#define PEER_REPLY_MAX (64u << 20) /* bytes of a reply body */
#define PEER_CONNECT_TIMEOUT_MS 1000

struct peer_conn {
    char addr[CLUSTER_ADDR_MAX];
    CURL *easy;
    uint64_t used_ms;
};

struct peer_client {
    CURLM *multi;
    struct peer_conn conns[PEER_CONNS_MAX];
    size_t nconns;
    struct curl_slist *headers;
    struct peer_client *next;
};

struct peer_pool {
    pthread_mutex_t lock;
    struct peer_client *idle;
    size_t total;
};

/* Per transfer state while a fan-out runs. */
struct transfer {
    struct peer_req *req;
    struct peer_conn *conn;
    struct buf body; /* sealed request */
    struct buf in;   /* raw reply */
    uint8_t nonce[SEAL_NONCE_LEN];
    int running;
    int retried;
    char url[CLUSTER_ADDR_MAX + 64];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    /* Not thread-safe itself, hence once; nothing else in the process calls it. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int peer_pool_new(struct peer_pool **out)
{
    pthread_once(&curl_once, curl_init_once);
    struct peer_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return MG_ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return 0;
}

static void client_free(struct peer_client *cl)
{
    if (!cl)
        return;
    for (size_t i = 0; i < cl->nconns; i++)
        curl_easy_cleanup(cl->conns[i].easy);
    curl_multi_cleanup(cl->multi);
    curl_slist_free_all(cl->headers);
    free(cl);
}

void peer_pool_free(struct peer_pool *p)
{
    if (!p)
        return;
    while (p->idle) {
        struct peer_client *cl = p->idle;
        p->idle = cl->next;
        client_free(cl);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static struct peer_client *client_acquire(struct peer_pool *p)
{
    pthread_mutex_lock(&p->lock);
    struct peer_client *cl = p->idle;
    if (cl) {
        p->idle = cl->next;
        pthread_mutex_unlock(&p->lock);
        return cl;
    }
    p->total++;
    pthread_mutex_unlock(&p->lock);
    cl = calloc(1, sizeof(*cl));
    if (!cl)
        goto fail;
    cl->multi = curl_multi_init();
    /* No "Expect: 100-continue": a peer answers at once, the extra round
     * trip would only add latency to every replica write. */
    cl->headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    struct curl_slist *h = cl->headers ? curl_slist_append(cl->headers, "Expect:") : NULL;
    if (!cl->multi || !h) {
        client_free(cl);
        goto fail;
    }
    cl->headers = h;
    curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, (long)PEER_CONNS_MAX);
    return cl;
fail:
    pthread_mutex_lock(&p->lock);
    p->total--;
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void client_release(struct peer_pool *p, struct peer_client *cl)
{
    pthread_mutex_lock(&p->lock);
    if (p->total > PEER_POOL_MAX) {
        p->total--;
        pthread_mutex_unlock(&p->lock);
        client_free(cl);
        return;
    }
    cl->next = p->idle;
    p->idle = cl;
    pthread_mutex_unlock(&p->lock);
}

/* The kept-alive easy handle for addr, made (or taken over from the least
 * recently used peer) when missing. */
static struct peer_conn *client_conn(struct peer_client *cl, const char *addr)
{
    struct peer_conn *lru = NULL;
    for (size_t i = 0; i < cl->nconns; i++) {
        if (strcmp(cl->conns[i].addr, addr) == 0)
            return &cl->conns[i];
        if (!lru || cl->conns[i].used_ms < lru->used_ms)
            lru = &cl->conns[i];
    }
    struct peer_conn *c;
    if (cl->nconns < PEER_CONNS_MAX) {
        c = &cl->conns[cl->nconns];
        c->easy = curl_easy_init();
        if (!c->easy)
            return NULL;
        cl->nconns++;
    } else {
        c = lru;
        curl_easy_reset(c->easy);
    }
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    return c;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    if (t->in.len + n > PEER_REPLY_MAX || buf_append(&t->in, ptr, n))
        return 0; /* makes curl fail the transfer */
    return n;
}

/* CURLOPT_SOCKOPTFUNCTION: a new peer connection leaves from this node's
 * own address (c->source_ip). IP_BIND_ADDRESS_NO_PORT leaves the port to
 * connect(), so bound sockets share the ephemeral ports like unbound ones
 * (no exhaustion under connection churn). An address that is not this
 * host's (an advertised public address behind NAT, say) is given up once:
 * later connections go unbound. */
static int bind_source(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    struct cluster *c = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN || !c->source_ip[0] || atomic_load(&c->source_unusable))
        return CURL_SOCKOPT_OK;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int family = 0;
    socklen_t flen = sizeof(family);
    memset(&ss, 0, sizeof(ss));
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &flen) != 0)
        return CURL_SOCKOPT_OK;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        if (inet_pton(AF_INET, c->source_ip, &in->sin_addr) != 1)
            return CURL_SOCKOPT_OK;
        in->sin_family = AF_INET;
        len = sizeof(*in);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET6, c->source_ip, &in6->sin6_addr) != 1)
            return CURL_SOCKOPT_OK;
        in6->sin6_family = AF_INET6;
        len = sizeof(*in6);
    } else {
        return CURL_SOCKOPT_OK;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 && errno == EADDRNOTAVAIL &&
        !atomic_exchange(&c->source_unusable, 1))
        log_warn("peer requests cannot leave from %s (not an address of this host): "
                 "they go unbound",
                 c->source_ip);
    return CURL_SOCKOPT_OK;
}

static int transfer_start(struct cluster *c, struct peer_client *cl, struct transfer *t,
                          int timeout_ms)
{
    struct peer_req *req = t->req;
    const char *name = peer_type_name(req->type);
    if (!name)
        return MG_EINVAL;
    if (!t->body.len && req->raw) {
        /* Already sealed by the caller (diagnostics): send as it is. */
        struct seal_header h;
        if (seal_parse_header(req->payload, req->len, &h) ||
            buf_append(&t->body, req->payload, req->len))
            return MG_EINVAL;
        memcpy(t->nonce, h.nonce, SEAL_NONCE_LEN);
    } else if (!t->body.len) {
        int rc = cluster_seal(c, req->type, NULL, 0, req->payload, req->len, &t->body, t->nonce);
        if (rc)
            return rc;
    }
    t->conn = client_conn(cl, req->addr);
    if (!t->conn)
        return MG_ENOMEM;
    snprintf(t->url, sizeof(t->url), "http://%s/.mesh/v1/%s", req->addr, name);
    buf_reset(&t->in);
    CURL *e = t->conn->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, cl->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(
        e, CURLOPT_CONNECTTIMEOUT_MS,
        (long)(timeout_ms < PEER_CONNECT_TIMEOUT_MS ? timeout_ms : PEER_CONNECT_TIMEOUT_MS));
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, bind_source);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, c);
    if (curl_multi_add_handle(cl->multi, e) != CURLM_OK)
        return MG_EIO;
    t->running = 1;
    t->conn->used_ms = mg_mono_ms();
    return 0;
}

/* Verifies a 200 reply: sealed by a member for this very request. */
static void transfer_finish(struct cluster *c, struct transfer *t, long code)
{
    struct peer_req *req = t->req;
    struct seal_header h;
    req->status = (int)code;
    if (code != 200)
        return;
    buf_reset(&req->reply);
    int rc =
        seal_open(c->peer_key, t->in.data, t->in.len, t->nonce, SEAL_NONCE_LEN, &h, &req->reply);
    if (!rc && h.type != (req->type | PEER_REPLY_BIT))
        rc = MG_EINVAL;
    if (!rc && req->expect_id && h.sender != req->expect_id)
        rc = MG_EDENIED;
    if (!rc)
        rc = hlc_update(dht_engine_clock(c->d), h.hlc, NULL);
    if (rc) {
        log_warn("peer reply refused addr=%s type=%s err=%s", req->addr, peer_type_name(req->type),
                 mg_strerror(rc));
        req->status = -1;
    }
}

void peer_call_all(struct cluster *c, struct peer_req *reqs, size_t n, size_t need, int timeout_ms,
                   int grace_ms)
{
    struct transfer *ts = calloc(n ? n : 1, sizeof(*ts));
    struct peer_client *cl = ts ? client_acquire(c->pool) : NULL;
    for (size_t i = 0; i < n; i++) {
        reqs[i].status = 0;
        buf_reset(&reqs[i].reply);
    }
    if (!cl) {
        free(ts);
        return;
    }
    uint64_t deadline = mg_mono_ms() + (uint64_t)timeout_ms;
    uint64_t grace_end = 0;
    size_t running = 0, ok = 0;
    if (need == 0 && grace_ms >= 0)
        grace_end = mg_mono_ms() + (uint64_t)grace_ms;
    for (size_t i = 0; i < n; i++) {
        ts[i].req = &reqs[i];
        buf_init(&ts[i].body);
        buf_init(&ts[i].in);
        if (transfer_start(c, cl, &ts[i], timeout_ms) == 0)
            running++;
    }
    while (running) {
        int still = 0;
        curl_multi_perform(cl->multi, &still);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(cl->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct transfer *t = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            CURLcode res = m->data.result;
            long code = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(cl->multi, m->easy_handle);
            t->running = 0;
            running--;
            /* A kept-alive connection the peer closed meanwhile fails at
             * once; one fresh attempt is not a retry storm. */
            int stale =
                res == CURLE_SEND_ERROR || res == CURLE_RECV_ERROR || res == CURLE_GOT_NOTHING;
            uint64_t now = mg_mono_ms();
            if (res != CURLE_OK && stale && !t->retried && now + 50 < deadline) {
                t->retried = 1;
                if (transfer_start(c, cl, t, (int)(deadline - now)) == 0) {
                    running++;
                    continue;
                }
            }
            if (res != CURLE_OK) {
                log_debug("peer request failed addr=%s type=%s err=%s", t->req->addr,
                          peer_type_name(t->req->type), curl_easy_strerror(res));
                t->req->status = 0;
                continue;
            }
            transfer_finish(c, t, code);
            if (t->req->status == 200 && ++ok == need && grace_ms >= 0)
                grace_end = now + (uint64_t)grace_ms;
        }
        uint64_t now = mg_mono_ms();
        /* A closing store does not wait out a long background transfer. */
        if (!running || now >= deadline || (grace_end && now >= grace_end) ||
            atomic_load(&c->stop))
            break;
        uint64_t until = grace_end && grace_end < deadline ? grace_end : deadline;
        int wait = (int)(until - now);
        curl_multi_poll(cl->multi, NULL, 0, wait > 100 ? 100 : wait, NULL);
    }
    /* Whatever still runs has run out of time: abandon it (its connection
     * closes; the caller keeps a hint or asks elsewhere). */
    for (size_t i = 0; i < n; i++) {
        if (ts[i].running) {
            curl_multi_remove_handle(cl->multi, ts[i].conn->easy);
            ts[i].req->status = 0;
        }
        buf_release(&ts[i].body);
        buf_release(&ts[i].in);
    }
    client_release(c->pool, cl);
    free(ts);
}

int peer_call(struct cluster *c, const char *addr, uint8_t type, const void *payload, size_t len,
              struct buf *reply, int timeout_ms)
{
    struct peer_req req;
    memset(&req, 0, sizeof(req));
    snprintf(req.addr, sizeof(req.addr), "%s", addr);
    req.type = type;
    req.payload = payload;
    req.len = len;
    buf_init(&req.reply);
    peer_call_all(c, &req, 1, 1, timeout_ms, 0);
    if (reply && req.status == 200) {
        buf_reset(reply);
        buf_append(reply, req.reply.data ? req.reply.data : "", req.reply.len);
    }
    buf_release(&req.reply);
    return req.status;
}

int peer_call_raw(struct cluster *c, const char *addr, uint8_t type, const void *sealed, size_t len,
                  int timeout_ms)
{
    struct peer_req req;
    memset(&req, 0, sizeof(req));
    snprintf(req.addr, sizeof(req.addr), "%s", addr);
    req.type = type;
    req.payload = sealed;
    req.len = len;
    req.raw = 1;
    peer_call_all(c, &req, 1, 1, timeout_ms, 0);
    buf_release(&req.reply);
    return req.status;
}

void peer_req_release(struct peer_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_release(&reqs[i].reply);
}
