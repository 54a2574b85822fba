/* fuzz_path.c - URL path decoding: never crashes, and whatever it accepts
 * has no "." or ".." segment, no NUL and survives an encode/decode round trip. */
#include "fuzz.h"
#include <stdlib.h>
#include <string.h>

#include "meshgate/common.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    char *out = NULL;
    if (mg_path_decode(in, &out) == 0) {
        FUZZ_CHECK(out[0] == '/');
        FUZZ_CHECK(strstr(out, "/../") == NULL && strstr(out, "/./") == NULL);
        size_t n = strlen(out);
        FUZZ_CHECK(!(n >= 3 && strcmp(out + n - 3, "/..") == 0));
        struct buf b;
        buf_init(&b);
        if (mg_path_encode(&b, out) == 0) {
            char *back = NULL;
            FUZZ_CHECK(mg_path_decode(b.data, &back) == 0);
            FUZZ_CHECK(strcmp(back, out) == 0);
            free(back);
        }
        buf_release(&b);
        free(out);
    }
    free(in);
    return 0;
}
