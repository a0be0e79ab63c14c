/*
 * status: the op "status": version, uptime and counts.
 */
#include "daemon/ops/handlers.h"

#include <errno.h>

int op_status(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res)
{
	(void)req;
	res->fields = json_pack("{sssIsIsIsIsIsIsIsI}", "version", INCIDENTD_VERSION,
				"uptime_s", (json_int_t)ctx->uptime_s,
				"incidents", (json_int_t)store_count(txn, STORE_INCIDENTS),
				"open", (json_int_t)store_count(txn, STORE_OPEN),
				"resolved", (json_int_t)store_count(txn, STORE_RESOLVED),
				"closed", (json_int_t)store_count(txn, STORE_CLOSED),
				"problems", (json_int_t)store_count(txn, STORE_PROBLEMS),
				"breaches", (json_int_t)store_count(txn, STORE_BREACHES),
				"events", (json_int_t)store_count(txn, STORE_DEDUP));
	return res->fields ? 0 : -ENOMEM;
}
