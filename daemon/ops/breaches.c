/*
 * breaches: the op "breaches": every breach raised, in the order they were raised, filtered by
 * provider, rule, since (detected_at), whether it still runs (no stop yet) and its incident's
 * current status, a page of `limit` at a time (default 1000). Each row carries its incident's
 * ref besides the breach's own members.
 */
#include "daemon/ops/handlers.h"

#include <string.h>

#include "daemon/core/rule.h"
#include "daemon/store/breaches.h"
#include "daemon/store/incidents.h"
#include "daemon/store/page.h"

/* A page of the breaches op: limit's default and maximum. */
#define BREACHES_PAGE_DEFAULT 1000
#define BREACHES_PAGE_MAX 10000

/* The filters of the breaches op. */
typedef struct {
	const char *provider;
	const char *sla;
	int64_t since;
	int running;               /* -1 any, 1 not stopped yet, 0 stopped */
	wire_list_status_t status; /* of the incident; LIST_ALL: any */
	int64_t now_ms;
	const config_t *cfg;
	const op_caller_t *caller; /* a provider key sees its providers' breaches only */
} breach_filter_t;

static int64_t s_json_ms(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
}

/* True when a stored breach passes the filters on its own members. */
static bool s_match(const json_t *record, const breach_filter_t *f)
{
	const char *p = json_string_value(json_object_get(record, "provider"));
	const char *r = json_string_value(json_object_get(record, "sla"));
	bool stopped = json_is_integer(json_object_get(record, "stopped_at"));
	return (!f->provider || (p && strcmp(f->provider, p) == 0)) && op_caller_sees(f->caller, p) &&
	       (!f->sla || (r && strcmp(f->sla, r) == 0)) && s_json_ms(record, "detected_at") >= f->since &&
	       (f->running < 0 || f->running == !stopped);
}

/*
 * The ref of the breach's incident when the incident has the status asked for: 0 with *inc_out
 * the incident (caller destroys), or with *inc_out NULL when it does not pass (or is gone), or
 * a negative code. The status index answers before the record is parsed.
 */
static int s_incident_of(store_txn_t *txn, const breach_filter_t *f, uint64_t id,
			 incident_t **inc_out)
{
	static const store_db_t status_dbs[] = { STORE_OPEN, STORE_RESOLVED, STORE_CLOSED };
	unsigned char key[8];
	MDB_val v;
	*inc_out = NULL;
	store_u64_encode(id, key);
	int rc = 0;
	if (f->status != LIST_ALL)
		rc = store_get(txn, status_dbs[f->status], key, sizeof key, &v);
	if (rc == 0)
		rc = incidents_load(txn, f->cfg, id, inc_out);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* A row of breaches: the stored breach as the wire shows it, when it passes the filters. */
static int s_row(store_txn_t *txn, uint64_t id, const MDB_val *value, void *arg, json_t **row_out)
{
	(void)id;
	const breach_filter_t *f = arg;
	incident_t *inc = NULL;
	int rc = 0;
	json_t *record = json_loadb(value->mv_data, value->mv_size, 0, NULL);
	if (record && s_match(record, f))
		rc = s_incident_of(txn, f, (uint64_t)s_json_ms(record, "incident"), &inc);
	if (inc && (*row_out = breaches_wire(record, f->now_ms)))
		wire_set_string(*row_out, "ref", inc->ref);
	incident_destroy(&inc);
	json_decref(record);
	return rc;
}

int op_breaches(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res)
{
	breach_filter_t f = { NULL, NULL, INT64_MIN, -1, LIST_ALL, ctx->now_ms, ctx->cfg,
			      ctx->caller };
	unsigned limit;
	uint64_t after;
	bool running, has_running;
	if (wire_get_string(req, "provider", false, WIRE_PROVIDER_MAX, &f.provider, NULL, &res->err) < 0 ||
	    wire_get_string(req, "sla", false, CONFIG_NAME_MAX, &f.sla, NULL, &res->err) < 0 ||
	    wire_get_time(req, "since", false, &f.since, NULL, &res->err) < 0 ||
	    wire_get_bool(req, "running", false, &running, &has_running, &res->err) < 0 ||
	    wire_get_status(req, "status", &f.status, &res->err) < 0 ||
	    wire_get_page(req, BREACHES_PAGE_DEFAULT, BREACHES_PAGE_MAX, &limit, &after, &res->err) < 0)
		return batch_refuse(res);
	/* A rule that is not configured is a mistake to say, not an empty answer. */
	if (f.sla && rule_find(ctx->cfg, f.sla, strlen(f.sla)) < 0) {
		wire_error_set(&res->err, WIRE_BAD_REQUEST, "sla: no such rule");
		return batch_refuse(res);
	}
	f.running = has_running ? running : -1;
	return page_walk(txn, STORE_BREACHES, false, after, limit, s_row, &f, "breaches",
			 &res->fields);
}
