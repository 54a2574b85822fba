/* fuzz_ical.c - iCalendar from hostile bytes (dav/ical.c, caldata.c): the
 * parser, the checks of a calendar object resource, recurrence expansion
 * over a range and expanded calendar-data never crash, never loop without
 * bound, and what is accepted has a UID and sane index bounds. */
#include "fuzz.h"
#include <string.h>

#include "../../dav/dav_private.h"

static int count_instance(void *ctx, const struct dav_ical_instance *in)
{
    long *n = ctx;
    FUZZ_CHECK(in->end >= in->start || !in->has_start);
    return ++*n > 10000; /* enough to exercise the walk */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    icalcomponent *cal = NULL;
    struct dav_ical_info info;
    char err[256];

    if (size > (1u << 16))
        return 0;
    /* what one request may spend, smaller: every input stays quick */
    dav_ical_budget_reset(200000);
    if (dav_ical_parse((const char *)data, size, &cal, err, sizeof(err)) != 0) {
        FUZZ_CHECK(cal == NULL);
        return 0;
    }
    if (dav_ical_check_object(cal, &info, err, sizeof(err)) == 0) {
        FUZZ_CHECK(info.uid && info.uid[0]);
        FUZZ_CHECK(info.comp != 0);
        dav_ical_info_release(&info);
    }
    /* 2024 and a span of years far off */
    int64_t from = 1704067200, to = 1706745600;
    for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
        long n = 0;
        (void)dav_ical_instances(c, from, to, NULL, count_instance, &n);
        (void)dav_ical_comp_in_range(c, 4102444800, 4133980800, NULL);
    }
    struct dav_caldata cd;
    memset(&cd, 0, sizeof(cd));
    cd.expand = 1;
    cd.expand_start = from;
    cd.expand_end = to;
    struct buf out;
    buf_init(&out);
    (void)dav_caldata_render(&cd, (const char *)data, size, cal, NULL, &out);
    buf_release(&out);
    icalcomponent_free(cal);
    return 0;
}
