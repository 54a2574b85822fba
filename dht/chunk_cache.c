/* chunk_cache.c - a small LRU of blob chunks with reference counts, so a
 * reader copies out of an entry without holding the lock. */
#include "chunk_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct chunk_entry {
    uint8_t hash[DHT_HASH_LEN];
    unsigned char *data; /* NULL: empty slot */
    size_t len;
    int refs;          /* readers copying out right now */
    uint64_t last_use; /* for LRU eviction */
};

struct dht_chunk_cache {
    pthread_mutex_t lock;
    uint64_t tick;
    struct chunk_entry slots[DHT_CHUNK_CACHE_SLOTS];
};

struct dht_chunk_cache *dht_chunk_cache_new(void)
{
    struct dht_chunk_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void dht_chunk_cache_free(struct dht_chunk_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < DHT_CHUNK_CACHE_SLOTS; i++)
        free(c->slots[i].data);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static struct chunk_entry *find(struct dht_chunk_cache *c, const uint8_t hash[DHT_HASH_LEN])
{
    for (int i = 0; i < DHT_CHUNK_CACHE_SLOTS; i++)
        if (c->slots[i].data && memcmp(c->slots[i].hash, hash, DHT_HASH_LEN) == 0)
            return &c->slots[i];
    return NULL;
}

int dht_chunk_cache_read(struct dht_chunk_cache *c, const uint8_t hash[DHT_HASH_LEN], size_t offset,
                         void *buf, size_t len, size_t *got, size_t *chunk_len)
{
    *got = 0;
    pthread_mutex_lock(&c->lock);
    struct chunk_entry *e = find(c, hash);
    if (!e) {
        pthread_mutex_unlock(&c->lock);
        return MG_ENOTFOUND;
    }
    e->refs++;
    e->last_use = ++c->tick;
    pthread_mutex_unlock(&c->lock);

    /* The entry cannot be evicted while refs > 0. */
    if (offset < e->len) {
        size_t n = e->len - offset;
        *got = n < len ? n : len;
        memcpy(buf, e->data + offset, *got);
    }
    *chunk_len = e->len;

    pthread_mutex_lock(&c->lock);
    e->refs--;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void dht_chunk_cache_put(struct dht_chunk_cache *c, const uint8_t hash[DHT_HASH_LEN], void *data,
                         size_t len)
{
    void *old = data;
    pthread_mutex_lock(&c->lock);
    /* Another thread may have loaded the same chunk meanwhile. */
    if (!find(c, hash)) {
        struct chunk_entry *victim = NULL;
        for (int i = 0; i < DHT_CHUNK_CACHE_SLOTS; i++) {
            struct chunk_entry *e = &c->slots[i];
            if (e->refs)
                continue;
            if (!e->data) {
                victim = e;
                break;
            }
            if (!victim || e->last_use < victim->last_use)
                victim = e;
        }
        if (victim) {
            old = victim->data;
            memcpy(victim->hash, hash, DHT_HASH_LEN);
            victim->data = data;
            victim->len = len;
            victim->last_use = ++c->tick;
        }
    }
    pthread_mutex_unlock(&c->lock);
    free(old);
}
