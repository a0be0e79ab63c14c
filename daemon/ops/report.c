/*
 * report: the op "report", the monthly report (core/report.h), fed from the opened-time index
 * of the store: the incidents in the order they opened, from the first ever up to the month's
 * end (those opened later cannot count). The walk starts at the first incident, not at the
 * month's start or the measures' 24-month window: an incident opened long before may still
 * stop or fall due in either.
 */
#include "daemon/ops/handlers.h"

#include <errno.h>

#include "daemon/core/report.h"
#include "daemon/store/incidents.h"

/*
 * Adds the incident of one opened-index entry to report: from its digest, or from its full
 * record when the digest is missing or was made under another stage order.
 */
static int s_report_add(store_txn_t *txn, const op_context_t *ctx, report_t *report,
			const MDB_val *k, const MDB_val *v)
{
	incident_digest_t digest;
	incident_t *inc;
	/* A provider key's report holds its providers' incidents alone. */
	if (incident_digest_decode(v->mv_data, v->mv_size, ctx->cfg, &digest) == 0)
		return op_caller_sees(ctx->caller, digest.inc.provider)
			       ? report_add(report, &digest.inc)
			       : 0;
	if (incidents_load(txn, ctx->cfg, store_u64_decode((unsigned char *)k->mv_data + 8), &inc) != 0)
		return 0;
	int rc = op_caller_sees(ctx->caller, inc->provider) ? report_add(report, inc) : 0;
	incident_destroy(&inc);
	return rc;
}

/* Feeds report every incident that opened before its month's end. */
static int s_report_walk(store_txn_t *txn, const op_context_t *ctx, report_t *report)
{
	MDB_cursor *cursor;
	MDB_val k, v;
	int rc = store_cursor_open(txn, STORE_OPENED, &cursor);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || !report_wants(report, store_i64_decode(k.mv_data)))
			break;
		if ((rc = s_report_add(txn, ctx, report, &k, &v)) != 0)
			break;
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int op_report(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res)
{
	const char *month, *provider = NULL;
	int64_t start, end;
	if (wire_get_string(req, "month", true, 16, &month, NULL, &res->err) < 0 ||
	    wire_get_string(req, "provider", false, WIRE_PROVIDER_MAX, &provider, NULL, &res->err) < 0)
		return batch_refuse(res);
	if (report_month_parse(month, &start, &end) < 0) {
		wire_error_set(&res->err, WIRE_BAD_REQUEST, "month: must be YYYY-MM");
		return batch_refuse(res);
	}
	report_t *report = report_new(ctx->cfg, start, end, ctx->now_ms, provider);
	int rc = report ? s_report_walk(txn, ctx, report) : -ENOMEM;
	if (rc == 0 && !(res->fields = report_to_json(report, month)))
		rc = -ENOMEM;
	report_destroy(&report);
	return rc;
}
