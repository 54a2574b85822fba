/* fuzz_vcard.c - vCard from hostile bytes (dav/vcard.c): the parser never
 * crashes or over-reads, and whatever it accepts is written back as content
 * lines of at most 75 octets that parse again to the same properties. */
#include "fuzz.h"
#include <string.h>

#include "../../dav/dav_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dav_vcard *c = NULL, *d = NULL;
    char err[256];
    struct buf out;

    if (size > (1u << 16))
        return 0;
    if (dav_vcard_parse((const char *)data, size, &c, err, sizeof(err)) != 0) {
        FUZZ_CHECK(c == NULL);
        return 0;
    }
    (void)dav_vcard_check_object(c, err, sizeof(err));
    buf_init(&out);
    FUZZ_CHECK(buf_puts(&out, "BEGIN:VCARD\r\n") == 0);
    for (size_t i = 0; i < c->nprops; i++) {
        char *u = dav_vcard_unescape(c->props[i].value);
        FUZZ_CHECK(u != NULL);
        free(u);
        FUZZ_CHECK(dav_vcard_write_prop(&out, &c->props[i]) == 0);
    }
    FUZZ_CHECK(buf_puts(&out, "END:VCARD\r\n") == 0);
    for (const char *l = out.data; *l;) {
        const char *e = strstr(l, "\r\n");
        FUZZ_CHECK(e != NULL && e - l <= 75);
        l = e + 2;
    }
    if (dav_vcard_parse(out.data, out.len, &d, err, sizeof(err)) == 0) {
        FUZZ_CHECK(d->nprops == c->nprops);
        for (size_t i = 0; i < c->nprops; i++)
            FUZZ_CHECK(strcmp(d->props[i].name, c->props[i].name) == 0);
        dav_vcard_free(d);
    }
    buf_release(&out);
    dav_vcard_free(c);
    return 0;
}
