/* fuzz.h - what every fuzz target shares. */
#ifndef MESHGATE_FUZZ_H
#define MESHGATE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant a target checks; unlike assert() it holds in release builds too. */
#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
