/*
 * hlc.h - hybrid logical clock (private to dht/).
 *
 * A timestamp is 48 bits of wall-clock milliseconds followed by a 16-bit
 * logical counter, so plain integer comparison orders timestamps. The clock
 * never goes backwards within a process, even when the wall clock does, and
 * it is merged with the timestamps other nodes send (hlc_update) so that a
 * node whose wall clock lags cannot write versions older than ones it has seen.
 */
#ifndef MESHGATE_DHT_HLC_H
#define MESHGATE_DHT_HLC_H

#include <stdatomic.h>
#include <stdint.h>

#define HLC_COUNTER_BITS 16
/* Remote timestamps further ahead of our wall clock than this are refused:
 * accepting them would drag every later local write into the future. */
#define HLC_MAX_DRIFT_MS 60000u

struct hlc {
    _Atomic uint64_t last; /* highest timestamp handed out or merged */
};

/* Starts the clock so that every timestamp it returns is greater than floor
 * (the highest version already stored, so versions survive a restart with
 * a wall clock that went backwards). */
void hlc_init(struct hlc *c, uint64_t floor);

/* Ticks and returns a timestamp greater than every earlier one. Thread-safe. */
uint64_t hlc_now(struct hlc *c);

/* Like hlc_now, but the result is also greater than floor (and the clock
 * moves past it). Used so a write always supersedes the version it replaces,
 * even one written by another process or node with a faster clock. */
uint64_t hlc_now_above(struct hlc *c, uint64_t floor);

/* Merges a timestamp received from a peer (HLC receive rule). Returns 0 and
 * the new local timestamp in *out (may be NULL), or MG_EINVAL when remote is
 * more than HLC_MAX_DRIFT_MS ahead of our wall clock; the clock is unchanged then. */
int hlc_update(struct hlc *c, uint64_t remote, uint64_t *out);

/* Builds a timestamp from milliseconds and a counter. */
static inline uint64_t hlc_make(uint64_t ms, uint16_t counter)
{
    return ms << HLC_COUNTER_BITS | counter;
}

#endif
