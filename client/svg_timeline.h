/*
 * svg_timeline: an incident's timeline as inline SVG for the HTML report: a row per source
 * (provider, monitoring, user, operator) with each report drawn from its reported time to its
 * arrival and labelled with its stage, a row of breaches (each at its due time, labelled with
 * its rule and how it was detected), a time axis in the zone in use (client/tz.h) and a legend.
 */
#ifndef INCIDENTD_CLIENT_SVG_TIMELINE_H
#define INCIDENTD_CLIENT_SVG_TIMELINE_H

#include <stdio.h>

#include <jansson.h>

/*
 * Writes one <svg> element to out, width units wide (its height follows from the rows): the
 * timeline of incident, a `get` reply's "incident" object (borrowed; its "timeline" and
 * "breaches"). zone names the zone of the axis's caption, as tz_use() was given it. Every
 * string of incident is escaped (client/html.h); reports or breaches without a readable time
 * are left out.
 */
void svg_timeline_write(FILE *out, const json_t *incident, const char *zone, int width);

#endif
