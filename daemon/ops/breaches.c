/*
 * breaches: the op "breaches": every breach raised, in the order they were raised, filtered by
 * provider, rule and since (detected_at), a page of `limit` at a time (default 1000).
 */
#include "daemon/ops/handlers.h"

#include <string.h>

#include "daemon/store/breaches.h"
#include "daemon/store/page.h"

/* A page of the breaches op: limit's default and maximum. */
#define BREACHES_PAGE_DEFAULT 1000
#define BREACHES_PAGE_MAX 10000

/* The filters of the breaches op. */
typedef struct {
	const char *provider;
	const char *sla;
	int64_t since;
	int64_t now_ms;
	const op_caller_t *caller; /* a provider key sees its providers' breaches only */
} breach_filter_t;

static int64_t s_json_ms(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
}

/* True when a stored breach passes the filters. */
static bool s_match(const json_t *record, const breach_filter_t *f)
{
	const char *p = json_string_value(json_object_get(record, "provider"));
	const char *r = json_string_value(json_object_get(record, "sla"));
	return (!f->provider || (p && strcmp(f->provider, p) == 0)) && op_caller_sees(f->caller, p) &&
	       (!f->sla || (r && strcmp(f->sla, r) == 0)) && s_json_ms(record, "detected_at") >= f->since;
}

/* A row of breaches: the stored breach as the wire shows it, when it passes the filters. */
static int s_row(store_txn_t *txn, uint64_t id, const MDB_val *value, void *arg, json_t **row_out)
{
	(void)txn;
	(void)id;
	const breach_filter_t *f = arg;
	json_t *record = json_loadb(value->mv_data, value->mv_size, 0, NULL);
	if (record && s_match(record, f))
		*row_out = breaches_wire(record, f->now_ms);
	json_decref(record);
	return 0;
}

int op_breaches(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res)
{
	breach_filter_t f = { NULL, NULL, INT64_MIN, ctx->now_ms, ctx->caller };
	unsigned limit;
	uint64_t after;
	if (wire_get_string(req, "provider", false, WIRE_PROVIDER_MAX, &f.provider, NULL, &res->err) < 0 ||
	    wire_get_string(req, "sla", false, CONFIG_NAME_MAX, &f.sla, NULL, &res->err) < 0 ||
	    wire_get_time(req, "since", false, &f.since, NULL, &res->err) < 0 ||
	    wire_get_page(req, BREACHES_PAGE_DEFAULT, BREACHES_PAGE_MAX, &limit, &after, &res->err) < 0)
		return batch_refuse(res);
	return page_walk(txn, STORE_BREACHES, false, after, limit, s_row, &f, "breaches",
			 &res->fields);
}
