/*
 * status: the op "status": version, uptime and counts. A provider key's counts are its
 * providers' alone: their incidents (by status), the breaches of those incidents, the problems
 * linked to them and the events they reported; counted from the provider's refs, so the walk
 * is as long as the provider's history, not the store's (and runs on the thread pool:
 * OP_WALKS_SCOPED).
 */
#include "daemon/ops/handlers.h"

#include <errno.h>
#include <stdlib.h>

#include "daemon/store/incidents.h"

/* What status counts. */
typedef struct {
	size_t incidents, open, resolved, closed, breaches, events;
	uint64_t *problems;   /* the problems linked to the incidents counted, with repeats */
	size_t n_problems, cap_problems;
	store_txn_t *txn;
	const config_t *cfg;
} status_counts_t;

static json_t *s_fields(const op_context_t *ctx, const status_counts_t *c, size_t problems)
{
	return json_pack("{sssIsIsIsIsIsIsIsI}", "version", INCIDENTD_VERSION,
			 "uptime_s", (json_int_t)ctx->uptime_s,
			 "incidents", (json_int_t)c->incidents, "open", (json_int_t)c->open,
			 "resolved", (json_int_t)c->resolved, "closed", (json_int_t)c->closed,
			 "problems", (json_int_t)problems, "breaches", (json_int_t)c->breaches,
			 "events", (json_int_t)c->events);
}

/* Counts incident id (of a provider the caller speaks for). */
static int s_count_incident(uint64_t id, void *arg)
{
	status_counts_t *c = arg;
	incident_t *inc;
	int rc = incidents_load(c->txn, c->cfg, id, &inc);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	c->incidents++;
	incident_status_t st = incident_status(inc, c->cfg);
	c->open += st == INCIDENT_OPEN;
	c->resolved += st == INCIDENT_RESOLVED;
	c->closed += st == INCIDENT_CLOSED;
	c->breaches += json_array_size(inc->extra ? json_object_get(inc->extra, "breaches") : NULL);
	if (inc->problem && c->n_problems == c->cap_problems) {
		size_t cap = c->cap_problems ? 2 * c->cap_problems : 64;
		uint64_t *grown = realloc(c->problems, cap * sizeof *grown);
		if (!grown)
			rc = -ENOMEM;
		else
			c->problems = grown, c->cap_problems = cap;
	}
	if (rc == 0 && inc->problem)
		c->problems[c->n_problems++] = inc->problem;
	incident_destroy(&inc);
	return rc;
}

static int s_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The distinct problems among c->problems. */
static size_t s_distinct_problems(status_counts_t *c)
{
	size_t n = 0;
	if (c->n_problems == 0)
		return 0;
	qsort(c->problems, c->n_problems, sizeof *c->problems, s_cmp_u64);
	for (size_t i = 0; i < c->n_problems; i++)
		n += i == 0 || c->problems[i] != c->problems[i - 1];
	return n;
}

/* The counts of a provider key: its providers' incidents, breaches, problems and events. */
static int s_status_scoped(store_txn_t *txn, const op_context_t *ctx, batch_result_t *res)
{
	status_counts_t c = { .txn = txn, .cfg = ctx->cfg };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ctx->caller->n_providers; i++) {
		const char *provider = ctx->caller->providers[i];
		size_t events = 0;
		rc = incidents_of_provider(txn, provider, s_count_incident, &c);
		if (rc == 0)
			rc = incidents_count_events(txn, provider, &events);
		c.events += events;
	}
	if (rc == 0 && !(res->fields = s_fields(ctx, &c, s_distinct_problems(&c))))
		rc = -ENOMEM;
	free(c.problems);
	return rc;
}

/*
 * Cluster mode: {"node", "leader", "applied", "last", "digest"}; applied and digest come from
 * the same transaction as the counts, so they describe the state the counts were read from.
 */
static int s_cluster(store_txn_t *txn, const op_context_t *ctx, batch_result_t *res)
{
	uint64_t applied = 0;
	char digest[65];
	int rc = store_meta_get_u64(txn, "cluster_applied", &applied);
	if (rc == 0)
		rc = store_digest_hex(txn, digest);
	if (rc != 0)
		return rc;
	const op_cluster_t *cl = ctx->cluster;
	json_t *obj = json_pack("{s:s, s:o, s:I, s:I, s:s}", "node", cl->node, "leader",
				cl->leader[0] ? json_string(cl->leader) : json_null(), "applied",
				(json_int_t)applied, "last",
				(json_int_t)(cl->last > applied ? cl->last : applied), "digest", digest);
	if (!obj || json_object_set_new(res->fields, "cluster", obj) != 0)
		return -ENOMEM;
	return 0;
}

static int s_status(store_txn_t *txn, const op_context_t *ctx, batch_result_t *res)
{
	if (ctx->caller->role == ROLE_PROVIDER)
		return s_status_scoped(txn, ctx, res);
	status_counts_t c = {
		.incidents = store_count(txn, STORE_INCIDENTS),
		.open = store_count(txn, STORE_OPEN),
		.resolved = store_count(txn, STORE_RESOLVED),
		.closed = store_count(txn, STORE_CLOSED),
		.breaches = store_count(txn, STORE_BREACHES),
		.events = store_count(txn, STORE_DEDUP),
	};
	res->fields = s_fields(ctx, &c, store_count(txn, STORE_PROBLEMS));
	return res->fields ? 0 : -ENOMEM;
}

int op_status(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res)
{
	(void)req;
	int rc = s_status(txn, ctx, res);
	if (rc == 0 && res->fields && ctx->cluster)
		rc = s_cluster(txn, ctx, res);
	return rc;
}
