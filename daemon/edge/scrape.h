/*
 * scrape: the text of GET /metrics. The registry's counters and histograms
 * (daemon/sys/metrics.h) with the gauges read from the store at that moment, in one short
 * read transaction of O(1) reads: the entry counts of the status and deadline databases
 * (mdb_stat) and the map's size and last page (mdb_env_info). Nothing is walked, whatever the
 * store holds.
 */
#ifndef INCIDENTD_DAEMON_EDGE_SCRAPE_H
#define INCIDENTD_DAEMON_EDGE_SCRAPE_H

#include <stddef.h>

#include "daemon/store/store.h"
#include "daemon/sys/metrics.h"

/*
 * Reads the store's gauges into *gauges (gauges->store_read false when the read transaction
 * could not begin). Any thread. Returns 0 or the store's negative code.
 */
int scrape_gauges(store_t *store, metrics_gauges_t *gauges);

/*
 * The whole Prometheus exposition text (text format 0.0.4, Content-Type
 * "text/plain; version=0.0.4; charset=utf-8"): the registry and store's gauges. Any thread;
 * store must be open. Returns a NUL-terminated string the caller frees, its length in *len, or
 * NULL when out of memory or the store cannot be read.
 */
char *scrape_render(store_t *store, size_t *len);

#endif
