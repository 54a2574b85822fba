/* fuzz_dav_xml.c - DAV request bodies from hostile bytes (dav/xml.c and the
 * parsers built on it): the safe XML parse (no DTD, no entities, bounded
 * depth and size), then every body parser a request may reach: PROPFIND,
 * CALDAV:filter, CARDDAV:filter, calendar-data and address-data. Nothing
 * crashes; a filter that parses can be evaluated. */
#include "fuzz.h"
#include <string.h>

#include "../../dav/dav_private.h"

static const char sample_ics[] =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\n"
    "DURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:x\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\n"
    "TRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
static const char sample_vcf[] = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:A B\r\n"
                                 "EMAIL;TYPE=work:a@b\r\nEND:VCARD\r\n";

/* Runs every parser that accepts node. */
static void try_node(xmlNode *n)
{
    char err[256];
    struct dav_calfilter *cf = NULL;
    struct dav_cardfilter *af = NULL;
    struct dav_caldata cd;
    struct dav_carddata ad;

    if (dav_calfilter_parse(n, &cf, err, sizeof(err)) == 0) {
        icalcomponent *cal = NULL;
        if (dav_ical_parse(sample_ics, sizeof(sample_ics) - 1, &cal, err, sizeof(err)) == 0) {
            (void)dav_calfilter_match(cf, cal, NULL);
            icalcomponent_free(cal);
        }
        dav_calfilter_free(cf);
    }
    if (dav_cardfilter_parse(n, &af, err, sizeof(err)) == 0) {
        struct dav_vcard *c = NULL;
        if (dav_vcard_parse(sample_vcf, sizeof(sample_vcf) - 1, &c, err, sizeof(err)) == 0) {
            (void)dav_cardfilter_match(af, c);
            dav_vcard_free(c);
        }
        dav_cardfilter_free(af);
    }
    if (dav_caldata_parse(n, &cd) == 0) {
        struct buf out;
        buf_init(&out);
        (void)dav_caldata_render(&cd, sample_ics, sizeof(sample_ics) - 1, NULL, NULL, &out);
        buf_release(&out);
        dav_caldata_release(&cd);
    }
    if (dav_carddata_parse(n, &ad) == 0) {
        struct buf out;
        buf_init(&out);
        (void)dav_carddata_render(&ad, sample_vcf, sizeof(sample_vcf) - 1, &out);
        buf_release(&out);
        dav_carddata_release(&ad);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mg_limits lim;
    struct dav_propfind pf;
    xmlDoc *doc = NULL;

    if (size > (1u << 16))
        return 0;
    memset(&lim, 0, sizeof(lim));
    lim.max_body = 1u << 20;
    lim.max_xml_depth = 64;
    lim.max_xml_elements = 10000;
    if (dav_propfind_parse((const char *)data, size, &lim, &pf) == 0)
        dav_propfind_release(&pf);
    if (dav_xml_parse((const char *)data, size, &lim, &doc) != 0) {
        FUZZ_CHECK(doc == NULL);
        return 0;
    }
    FUZZ_CHECK(doc->intSubset == NULL && doc->extSubset == NULL);
    xmlNode *root = xmlDocGetRootElement(doc);
    try_node(root);
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c))
        try_node(c);
    xmlFreeDoc(doc);
    return 0;
}
