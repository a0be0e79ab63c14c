/*
 * incident: the ops "get" (one incident, named by id or by its provider's ref, with its
 * timeline, breaches and verdicts) and "list" (incident summaries, newest or oldest first, a
 * page at a time).
 */
#include "daemon/ops/handlers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/core/rule.h"
#include "daemon/store/breaches.h"
#include "daemon/store/incidents.h"
#include "daemon/store/page.h"
#include "proto/ids.h"

/* Adds "key": time, or null for INT64_MIN. */
static void s_set_time_or_null(json_t *obj, const char *key, int64_t ms)
{
	if (ms == INT64_MIN)
		json_object_set_new(obj, key, json_null());
	else
		wire_set_time(obj, key, ms);
}

/* One rule's verdict as the wire shows it: verdict, due, stopped_at, late_by_ms, remaining_ms. */
static json_t *s_verdict_wire(rule_verdict_t v)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "verdict", json_string(rule_verdict_name(v.kind)));
	if (v.kind != VERDICT_NOT_STARTED)
		wire_set_time(o, "due", v.due);
	if (v.kind == VERDICT_MET || v.kind == VERDICT_BREACHED)
		s_set_time_or_null(o, "stopped_at", v.stopped_at);
	if (v.kind == VERDICT_BREACHED)
		json_object_set_new(o, "late_by_ms", json_integer(v.late_by_ms));
	if (v.kind == VERDICT_PENDING)
		json_object_set_new(o, "remaining_ms", json_integer(v.remaining_ms));
	return o;
}

/* The verdicts of every rule that applies to inc at now_ms: {"RULE": {...}}. */
static json_t *s_verdicts(const config_t *cfg, const incident_t *inc, int64_t now_ms)
{
	json_t *all = json_object();
	for (size_t i = 0; all && i < cfg->n_rules; i++) {
		const config_rule_t *rule = &cfg->rules[i];
		if (rule_applies(rule, inc))
			json_object_set_new(all, rule->name,
					    s_verdict_wire(rule_verdict(cfg, rule, inc, now_ms)));
	}
	return all;
}

/*
 * The incident a get names: "incident" (an INC id), or "provider" and "ref" (the provider's
 * reference), into *id, and its name for a not_found message into name. Returns 0, 1 when
 * the request is refused (res->err set), or a negative code: MDB_NOTFOUND for a provider's ref
 * that names no incident.
 */
static int s_get_target(store_txn_t *txn, const json_t *req, uint64_t *id, char *name,
			size_t name_len, batch_result_t *res)
{
	const char *provider = NULL, *ref = NULL;
	bool by_id = false;
	if (wire_get_id(req, "incident", false, ID_INCIDENT, id, &by_id, &res->err) < 0)
		return 1;
	if (by_id) {
		id_format(ID_INCIDENT, *id, name);
		return 0;
	}
	if (!json_object_get(req, "provider") && !json_object_get(req, "ref")) {
		wire_error_set(&res->err, WIRE_BAD_REQUEST,
			       "incident: missing (or provider and ref)");
		return 1;
	}
	if (wire_get_string(req, "provider", true, WIRE_PROVIDER_MAX, &provider, NULL, &res->err) < 0 ||
	    wire_get_string(req, "ref", true, WIRE_REF_MAX, &ref, NULL, &res->err) < 0)
		return 1;
	snprintf(name, name_len, "%s/%s", provider, ref);
	return incidents_find_ref(txn, provider, ref, id);
}

int op_get(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res)
{
	uint64_t n = 0;
	char name[WIRE_PROVIDER_MAX + 1 + WIRE_REF_MAX + 1];
	incident_t *inc = NULL;
	int rc = s_get_target(txn, req, &n, name, sizeof name, res);
	if (rc == 1)
		return batch_refuse(res);
	if (rc == 0)
		rc = incidents_load(txn, ctx->cfg, n, &inc);
	/* Another provider's incident is, to a provider key, no incident at all. */
	if (rc == 0 && !op_caller_sees(ctx->caller, inc->provider)) {
		incident_destroy(&inc);
		rc = MDB_NOTFOUND;
	}
	if (rc == MDB_NOTFOUND) {
		wire_error_set(&res->err, WIRE_NOT_FOUND, "incident: %s not found", name);
		return batch_refuse(res);
	}
	if (rc != 0)
		return rc;
	json_t *wire = incident_to_wire(inc, ctx->cfg);
	if (wire) {
		json_object_set_new(wire, "breaches", breaches_of_incident(txn, inc, ctx->now_ms));
		json_object_set_new(wire, "verdicts", s_verdicts(ctx->cfg, inc, ctx->now_ms));
	}
	incident_destroy(&inc);
	if (!wire || !(res->fields = json_pack("{so}", "incident", wire)))
		return -ENOMEM;
	return 0;
}

/* True when inc passes every filter of list, and caller may see it. */
static bool s_list_match(const wire_list_t *list, const op_caller_t *caller, const config_t *cfg,
			 const incident_t *inc)
{
	if (list->provider && strcmp(list->provider, inc->provider) != 0)
		return false;
	if (!op_caller_sees(caller, inc->provider))
		return false;
	if (list->category && list->category != inc->category)
		return false;
	if (list->major >= 0 && list->major != (int)inc->major)
		return false;
	if (list->problem && list->problem != inc->problem)
		return false;
	if (list->user_first >= 0 && list->user_first != (int)incident_user_first(inc, cfg))
		return false;
	if (list->breached >= 0) {
		json_t *b = inc->extra ? json_object_get(inc->extra, "breaches") : NULL;
		if ((json_array_size(b) > 0) != (list->breached == 1))
			return false;
	}
	return true;
}

/* The status indexes, by wire_list_status_t: LIST_ALL walks every incident. */
static const store_db_t s_status_dbs[] = { STORE_OPEN, STORE_RESOLVED, STORE_CLOSED,
					   STORE_INCIDENTS };

typedef struct {
	const config_t *cfg;
	const wire_list_t *list;
	const op_caller_t *caller;
} list_args_t;

/* A row of list: the summary of incident id when it passes the filters. */
static int s_list_row(store_txn_t *txn, uint64_t id, const MDB_val *value, void *arg,
		      json_t **row_out)
{
	(void)value;
	const list_args_t *a = arg;
	incident_t *inc;
	int rc = incidents_load(txn, a->cfg, id, &inc);
	if (rc == MDB_NOTFOUND)
		return 0; /* an index entry without its record: nothing to show */
	if (rc != 0)
		return rc;
	if (s_list_match(a->list, a->caller, a->cfg, inc) && !(*row_out = incident_summary(inc, a->cfg)))
		rc = -ENOMEM;
	incident_destroy(&inc);
	return rc;
}

/*
 * A row of list sorted oldest first, which walks the opened-time index of every incident: the
 * status index says, without loading the record, whether the incident has the status asked.
 */
static int s_list_opened_row(store_txn_t *txn, uint64_t id, const MDB_val *value, void *arg,
			     json_t **row_out)
{
	const list_args_t *a = arg;
	if (a->list->status != LIST_ALL) {
		unsigned char key[8];
		MDB_val v;
		store_u64_encode(id, key);
		int rc = store_get(txn, s_status_dbs[a->list->status], key, sizeof key, &v);
		if (rc != 0)
			return rc == MDB_NOTFOUND ? 0 : rc;
	}
	return s_list_row(txn, id, value, arg, row_out);
}

/*
 * Checks that the problem a list filters on exists: 0 when it does, 1 when it does not (the
 * request is refused: not_found in err), or a negative code.
 */
static int s_problem_check(store_txn_t *txn, uint64_t problem, wire_error_t *err)
{
	unsigned char key[8];
	MDB_val v;
	char id[ID_BUFSZ];
	store_u64_encode(problem, key);
	int rc = store_get(txn, STORE_PROBLEMS, key, sizeof key, &v);
	if (rc != MDB_NOTFOUND)
		return rc;
	wire_error_set(err, WIRE_NOT_FOUND, "problem: %s not found",
		       id_format(ID_PROBLEM, problem, id));
	return 1;
}

int op_list(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res)
{
	wire_list_t list;
	int rc;
	if (wire_list_decode(req, &list, &res->err) < 0)
		return batch_refuse(res);
	/* A filter that names nothing is a mistake to say, not an empty answer. */
	if (list.problem && (rc = s_problem_check(txn, list.problem, &res->err)) != 0)
		return rc == 1 ? batch_refuse(res) : rc;
	list_args_t args = { ctx->cfg, &list, ctx->caller };
	if (list.sort == LIST_OLDEST)
		return page_walk_timed(txn, STORE_OPENED, list.cursor_at, list.cursor, list.limit,
				       s_list_opened_row, &args, "incidents", &res->fields);
	return page_walk(txn, s_status_dbs[list.status], true, list.cursor, list.limit, s_list_row,
			 &args, "incidents", &res->fields);
}
