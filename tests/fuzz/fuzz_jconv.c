/* fuzz_jconv.c - the REST API's jCard/jCal converters (api/jcard.c,
 * api/jcal.c) from hostile bytes. The first byte picks the direction:
 *   'v' vCard text -> jCard -> vCard text -> jCard again
 *   'i' iCalendar text -> jCal -> iCalendar text -> jCal again
 *   anything else: JSON (a jCard or a jCal object) -> text -> JSON again
 * No input may crash or over-read. For vCard, what the reader produced from
 * text the writer must take, and the text it writes must read again (a GET's
 * body can be PUT back). Not asked of iCalendar: libical reads more than it
 * lets through again (it takes "DTSTAMP:20060008" but not the explicit
 * "DTSTAMP;VALUE=DATE:20060008" that becomes, or a bare CR inside a value),
 * so such a stored object's jCal is refused with 400 if PUT back unchanged.
 * Text written from arbitrary JSON may be refused by the parsers' checks too
 * (a PUT answers 400). */
#include "fuzz.h"
#include <string.h>

#include "../../api/jconv.h"

#define JSON_DEPTH_MAX 64

/* Text back into JSON; must: it has to succeed (see above). */
static void text_back(int vcard, const struct buf *text, int must)
{
    json_t *again = NULL;
    char err[256];
    int rc = vcard ? api_jcard_from_vcard(text->data, text->len, &again, err, sizeof(err))
                   : api_jcal_from_ical(text->data, text->len, &again, err, sizeof(err));
    if (rc != 0 && must)
        fprintf(stderr, "did not take back what it wrote: %s\n---\n%s---\n", err, text->data);
    FUZZ_CHECK(!must || (rc == 0 && again != NULL));
    json_decref(again);
}

/* JSON back into text: must succeed (it came from text). */
static void json_back(int vcard, const json_t *j)
{
    struct buf text;
    char err[256];
    buf_init(&text);
    int rc = vcard ? api_jcard_to_vcard(j, &text, err, sizeof(err))
                   : api_jcal_to_ical(j, &text, err, sizeof(err));
    if (rc != 0 && vcard) {
        char *dump = json_dumps(j, JSON_COMPACT);
        fprintf(stderr, "did not write back what it read: %s\n---\n%s\n", err, dump ? dump : "");
        free(dump);
    }
    FUZZ_CHECK(rc == 0 || !vcard);
    if (rc == 0)
        text_back(vcard, &text, vcard);
    buf_release(&text);
}

static void from_text(int vcard, const char *data, size_t size)
{
    json_t *j = NULL;
    char err[256];
    int rc = vcard ? api_jcard_from_vcard(data, size, &j, err, sizeof(err))
                   : api_jcal_from_ical(data, size, &j, err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(j == NULL);
        return;
    }
    json_back(vcard, j);
    json_decref(j);
}

static void from_json(const char *data, size_t size)
{
    json_error_t jerr;
    json_t *j = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return;
    const char *kind = json_is_array(j) ? json_string_value(json_array_get(j, 0)) : NULL;
    if (kind && (strcmp(kind, "vcard") == 0 || strcmp(kind, "vcalendar") == 0)) {
        int vcard = kind[1] == 'c';
        struct buf text;
        char err[256];
        buf_init(&text);
        int rc = vcard ? api_jcard_to_vcard(j, &text, err, sizeof(err))
                       : api_jcal_to_ical(j, &text, err, sizeof(err));
        if (rc == 0)
            text_back(vcard, &text, 0);
        buf_release(&text);
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 16))
        return 0;
    /* the API parses bodies with a depth limit; deeper input never gets here */
    size_t depth = 0, max = 0;
    for (size_t i = 1; i < size; i++) {
        if (data[i] == '[' || data[i] == '{')
            max = ++depth > max ? depth : max;
        else if ((data[i] == ']' || data[i] == '}') && depth)
            depth--;
    }
    const char *text = (const char *)data + 1;
    if (data[0] == 'v')
        from_text(1, text, size - 1);
    else if (data[0] == 'i')
        from_text(0, text, size - 1);
    else if (max <= JSON_DEPTH_MAX)
        from_json(text, size - 1);
    return 0;
}
