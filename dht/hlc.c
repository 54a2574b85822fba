/* hlc.c - hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014). */
#include "hlc.h"

#include "meshgate/common.h"
#include "meshgate/dht.h"

uint64_t dht_hlc_ms(uint64_t hlc)
{
    return hlc >> HLC_COUNTER_BITS;
}

void hlc_init(struct hlc *c, uint64_t floor)
{
    atomic_init(&c->last, floor);
}

/* The next timestamp after both last and floor: the wall clock when it is
 * ahead, otherwise a logical tick (a full counter carries into the ms bits,
 * which keeps the order and only borrows a millisecond from the future). */
static uint64_t hlc_next(uint64_t last, uint64_t floor, uint64_t wall)
{
    uint64_t base = last > floor ? last : floor;
    return wall > base ? wall : base + 1;
}

uint64_t hlc_now_above(struct hlc *c, uint64_t floor)
{
    uint64_t wall = hlc_make(mg_now_ms(), 0);
    uint64_t last = atomic_load(&c->last);
    uint64_t next;
    do {
        next = hlc_next(last, floor, wall);
    } while (!atomic_compare_exchange_weak(&c->last, &last, next));
    return next;
}

uint64_t hlc_now(struct hlc *c)
{
    return hlc_now_above(c, 0);
}

int hlc_update(struct hlc *c, uint64_t remote, uint64_t *out)
{
    uint64_t now_ms = mg_now_ms();
    if (dht_hlc_ms(remote) > now_ms + HLC_MAX_DRIFT_MS)
        return MG_EINVAL;
    uint64_t next = hlc_now_above(c, remote);
    if (out)
        *out = next;
    return 0;
}
