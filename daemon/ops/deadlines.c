/*
 * deadlines: the op "deadlines": every pending deadline (a rule whose clock started, has not
 * stopped and has not breached), soonest first, filtered by how soon it falls due (within_ms),
 * provider and rule; at most `limit` of them (default 1000), and "more" says whether others
 * matched.
 *
 * There is no cursor: the set changes every second (deadlines start, stop and breach), so a
 * second page would not continue the first. A caller that wants fewer rows narrows the
 * filters; the soonest ones, which matter most, always come first.
 */
#include "daemon/ops/handlers.h"

#include <errno.h>
#include <string.h>

#include "daemon/core/rule.h"
#include "daemon/store/breaches.h"
#include "daemon/store/incidents.h"
#include "proto/ids.h"

/* limit's default and maximum. */
#define DEADLINES_DEFAULT 1000
#define DEADLINES_MAX 10000

/* The request's filters and the rows found so far. */
typedef struct {
	store_txn_t *txn;
	const op_context_t *ctx;
	const char *provider; /* NULL: any */
	int rule;             /* index in cfg->rules; -1: any */
	int64_t horizon;      /* the latest due time asked for; INT64_MAX: any */
	size_t limit;
	json_t *rows;
	bool more;            /* a deadline past the limit matched */
} deadlines_walk_t;

/* The row of deadline d of inc: incident, provider, ref, sla, due, remaining_ms. */
static json_t *s_row(const deadline_t *d, const incident_t *inc, const config_t *cfg,
		     int64_t now_ms)
{
	char id[ID_BUFSZ];
	json_t *row = json_object();
	if (!row)
		return NULL;
	wire_set_string(row, "incident", id_format(ID_INCIDENT, d->incident, id));
	wire_set_string(row, "provider", inc->provider);
	wire_set_string(row, "ref", inc->ref);
	wire_set_string(row, "sla", cfg->rules[d->rule].name);
	wire_set_time(row, "due", d->due);
	json_object_set_new(row, "remaining_ms", json_integer(d->due - now_ms));
	return row;
}

/* breaches_walk_deadlines()' callback: adds d when it passes; 1 ends the walk. */
static int s_visit(const deadline_t *d, void *arg)
{
	deadlines_walk_t *w = arg;
	const config_t *cfg = w->ctx->cfg;
	if (d->due > w->horizon)
		return 1; /* soonest first: every later one is further off */
	if (w->rule >= 0 && d->rule != w->rule)
		return 0;
	incident_t *inc;
	int rc = incidents_load(w->txn, cfg, d->incident, &inc);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	bool pass = (!w->provider || strcmp(w->provider, inc->provider) == 0) &&
		    op_caller_sees(w->ctx->caller, inc->provider) &&
		    rule_stop(&cfg->rules[d->rule], inc) == INT64_MIN;
	if (pass && json_array_size(w->rows) == w->limit) {
		w->more = true;
		rc = 1;
	} else if (pass) {
		rc = json_array_append_new(w->rows, s_row(d, inc, cfg, w->ctx->now_ms)) ? -ENOMEM : 0;
	}
	incident_destroy(&inc);
	return rc;
}

/* Decodes the request into w; -1 with res->err set when it is refused. */
static int s_decode(const json_t *req, const config_t *cfg, int64_t now_ms, deadlines_walk_t *w,
		    batch_result_t *res)
{
	int64_t within = 0, limit = DEADLINES_DEFAULT;
	bool has_within = false;
	const char *sla = NULL;
	if (wire_get_int(req, "within_ms", false, 0, INT64_MAX, &within, &has_within, &res->err) < 0 ||
	    wire_get_string(req, "provider", false, WIRE_PROVIDER_MAX, &w->provider, NULL, &res->err) < 0 ||
	    wire_get_string(req, "sla", false, CONFIG_NAME_MAX, &sla, NULL, &res->err) < 0 ||
	    wire_get_int(req, "limit", false, 1, DEADLINES_MAX, &limit, NULL, &res->err) < 0)
		return -1;
	if (sla && (w->rule = rule_find(cfg, sla, strlen(sla))) < 0)
		return wire_error_set(&res->err, WIRE_BAD_REQUEST, "sla: no such rule");
	w->horizon = has_within && within <= INT64_MAX - now_ms ? now_ms + within : INT64_MAX;
	w->limit = (size_t)limit;
	return 0;
}

int op_deadlines(store_txn_t *txn, const op_context_t *ctx, const json_t *req,
		 batch_result_t *res)
{
	deadlines_walk_t w = { txn, ctx, NULL, -1, INT64_MAX, 0, NULL, false };
	if (s_decode(req, ctx->cfg, ctx->now_ms, &w, res) < 0)
		return batch_refuse(res);
	if (!(w.rows = json_array()))
		return -ENOMEM;
	int rc = breaches_walk_deadlines(txn, ctx->cfg, s_visit, &w);
	if (rc < 0) {
		json_decref(w.rows);
		return rc;
	}
	res->fields = json_pack("{sosb}", "deadlines", w.rows, "more", w.more);
	return res->fields ? 0 : -ENOMEM;
}
