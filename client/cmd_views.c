/*
 * due and overdue: the operator's views of the clock. due lists the pending deadlines, soonest
 * first (the deadlines op); overdue lists the breaches still running on open incidents, latest
 * due first (the breaches op with running and status, every page of it).
 */
#include <stdlib.h>
#include <string.h>

#include "client/args.h"
#include "client/commands.h"
#include "client/render.h"
#include "proto/duration.h"
#include "proto/op.h"

/* The deadlines op's bound on limit. */
#define DUE_LIMIT_MAX 10000

/* The breaches op's largest page: overdue asks for pages this big. */
#define OVERDUE_PAGE 10000

static void s_render_due(const json_t *reply)
{
	static const char *const headers[] = {"DUE", "REMAINING", "INCIDENT", "PROVIDER", "REF",
					      "RULE"};
	static const char *const fields[] = {"due",      "remaining_ms", "incident",
					     "provider", "ref",          "sla"};
	render_objects(sizeof headers / sizeof headers[0], headers, fields,
		       json_object_get(reply, "deadlines"), "no pending deadlines");
	if (json_is_true(json_object_get(reply, "more")))
		puts("more deadlines than shown: raise --limit or narrow with --within, --provider "
		     "or --sla");
}

/* Sets the request's within_ms and limit from their option texts (NULL: not given). */
static int s_due_numbers(json_t *req, const char *within, const char *limit)
{
	int64_t ms;
	long n;
	if (within != NULL && duration_parse_ms(within, &ms) != 0)
		return cli_usage_error("--within: bad duration '%s' (a whole number and a unit: "
				       "ms, s, m, h or d, as in 30m)",
				       within);
	if (limit != NULL && cli_parse_long("--limit", limit, 1, DUE_LIMIT_MAX, &n) != 0)
		return CLI_EXIT_USAGE;
	if (within != NULL)
		json_object_set_new(req, "within_ms", json_integer(ms));
	if (limit != NULL)
		json_object_set_new(req, "limit", json_integer(n));
	return CLI_EXIT_OK;
}

int cmd_due(cli_t *cli, int argc, char **argv)
{
	static const char *within, *limit;
	static const arg_spec_t flags[] = {
		{"--within", ARG_STRING, NULL, false, &within, 0, 0, NULL},
		{"--provider", ARG_STRING, "provider", false, NULL, 0, 0, NULL},
		{"--sla", ARG_STRING, "sla", false, NULL, 0, 0, NULL},
		{"--limit", ARG_STRING, NULL, false, &limit, 0, 0, NULL},
		{0},
	};
	static const args_def_t def = {.flags = flags};
	json_t *req = json_pack("{s:s}", "op", OP_DEADLINES);
	json_t *reply = NULL;
	int status, npos;
	within = limit = NULL;
	if (!args_parse(cli, argc, argv, &def, req, NULL, &npos, &status) ||
	    (status = s_due_numbers(req, within, limit)) != CLI_EXIT_OK) {
		json_decref(req);
		return status;
	}
	status = cli_request(cli, req, &reply);
	if (reply != NULL && !cli->json)
		s_render_due(reply);
	json_decref(reply);
	return status;
}

/*
 * Latest due first, then the later breach first. Both are fixed-width texts (UTC times with
 * milliseconds, BRE ids), whose byte order is their order.
 */
static int s_latest_first(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	const char *dx = json_string_value(json_object_get(x, "due"));
	const char *dy = json_string_value(json_object_get(y, "due"));
	int c = strcmp(dy != NULL ? dy : "", dx != NULL ? dx : "");
	if (c != 0)
		return c;
	const char *bx = json_string_value(json_object_get(x, "breach"));
	const char *by = json_string_value(json_object_get(y, "breach"));
	return strcmp(by != NULL ? by : "", bx != NULL ? bx : "");
}

static void s_render_overdue(const json_t *rows)
{
	static const char *const headers[] = {"INCIDENT", "PROVIDER", "REF", "RULE", "DUE",
					      "LATE_BY"};
	static const char *const fields[] = {"incident", "provider", "ref", "sla", "due",
					     "late_by_ms"};
	size_t n = json_array_size(rows);
	const json_t **sorted = malloc((n ? n : 1) * sizeof *sorted);
	json_t *list = json_array();
	if (sorted != NULL && list != NULL) {
		for (size_t i = 0; i < n; i++)
			sorted[i] = json_array_get(rows, i);
		qsort(sorted, n, sizeof *sorted, s_latest_first);
		for (size_t i = 0; i < n; i++)
			json_array_append(list, (json_t *)sorted[i]);
	}
	render_objects(sizeof headers / sizeof headers[0], headers, fields, list,
		       "no overdue incidents");
	json_decref(list);
	free(sorted);
}

/*
 * Requests every page of the running breaches of open incidents (of provider, when not NULL)
 * into rows. Returns the exit status of the first request that failed, or CLI_EXIT_OK.
 */
static int s_overdue_fetch(cli_t *cli, const char *provider, json_t *rows)
{
	char *cursor = NULL;
	int status;
	do {
		json_t *reply = NULL;
		json_t *req = json_pack("{s:s, s:b, s:s, s:i}", "op", OP_BREACHES, "running", 1,
					"status", "open", "limit", OVERDUE_PAGE);
		if (provider != NULL)
			json_object_set_new(req, "provider", json_string(provider));
		if (cursor != NULL)
			json_object_set_new(req, "cursor", json_string(cursor));
		free(cursor);
		cursor = NULL;
		status = cli_request(cli, req, &reply);
		if (reply != NULL) {
			json_array_extend(rows, json_object_get(reply, "breaches"));
			const char *next = json_string_value(json_object_get(reply, "next"));
			cursor = next != NULL ? strdup(next) : NULL;
		}
		json_decref(reply);
	} while (status == CLI_EXIT_OK && cursor != NULL);
	free(cursor);
	return status;
}

int cmd_overdue(cli_t *cli, int argc, char **argv)
{
	static const char *provider;
	static const arg_spec_t flags[] = {
		{"--provider", ARG_STRING, NULL, false, &provider, 0, 0, NULL},
		{0},
	};
	static const args_def_t def = {.flags = flags};
	int status, npos;
	provider = NULL;
	if (!args_parse(cli, argc, argv, &def, NULL, NULL, &npos, &status))
		return status;
	json_t *rows = json_array();
	status = s_overdue_fetch(cli, provider, rows);
	if (status == CLI_EXIT_OK && !cli->json)
		s_render_overdue(rows);
	json_decref(rows);
	return status;
}
