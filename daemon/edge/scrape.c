/*
 * scrape: the text of GET /metrics. See scrape.h.
 */
#include "daemon/edge/scrape.h"

#include <string.h>

int scrape_gauges(store_t *store, metrics_gauges_t *gauges)
{
	store_txn_t txn;
	memset(gauges, 0, sizeof *gauges);
	int rc = store_txn_begin(store, false, &txn);
	if (rc != 0)
		return rc;
	gauges->incidents_open = store_count(&txn, STORE_OPEN);
	gauges->incidents_resolved = store_count(&txn, STORE_RESOLVED);
	gauges->incidents_closed = store_count(&txn, STORE_CLOSED);
	gauges->deadlines_pending = store_count(&txn, STORE_DEADLINES);
	store_txn_abort(&txn);
	gauges->store_map_bytes = store_map_size(store);
	gauges->store_used_bytes = store_used_bytes(store);
	gauges->store_read = true;
	return 0;
}

char *scrape_render(store_t *store, size_t *len)
{
	metrics_gauges_t gauges;
	if (scrape_gauges(store, &gauges) != 0)
		return NULL;
	return metrics_render(&gauges, len);
}
