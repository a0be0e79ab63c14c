/*
 * list and show: incident summaries as a table (newest or oldest first), one incident (by INC
 * id or PROVIDER/REF) with timeline and verdicts.
 */
#include <stdbool.h>
#include <string.h>

#include "client/args.h"
#include "client/commands.h"
#include "client/render.h"
#include "proto/op.h"
#include "proto/rfc3339.h"

/* Titles longer than this are cut in the list so that the table stays readable. */
#define LIST_TITLE_MAX 48

static void s_render_list(const json_t *reply, void *arg)
{
	(void)arg;
	static const char *const headers[] = {"ID",     "PROVIDER", "REF",        "CAT",        "MAJOR",
					      "STATUS", "OPENED",   "LAST_STAGE", "USER_FIRST", "TITLE"};
	static const char *const fields[] = {"id",     "provider",  "ref",        "category",   "major",
					     "status", "opened_at", "last_stage", "user_first", "title"};
	enum { N = sizeof headers / sizeof headers[0] };
	const json_t *list = json_object_get(reply, "incidents");
	table_t *table = table_new(N, headers);
	if (json_array_size(list) == 0 || table == NULL)
		puts("no incidents");
	size_t i;
	const json_t *inc;
	json_array_foreach(list, i, inc) {
		char bufs[N][RENDER_BUFSZ], title[4 * LIST_TITLE_MAX + 4];
		const char *cells[N];
		for (size_t c = 0; c < N; c++)
			cells[c] = render_value(inc, fields[c], bufs[c]);
		cells[N - 1] = render_truncate(cells[N - 1], LIST_TITLE_MAX, title);
		if (table != NULL)
			table_add(table, cells);
	}
	if (table != NULL && table_rows(table) > 0)
		table_print(table, stdout, 0);
	table_destroy(&table);
	render_next_page(reply);
}

int cmd_list(cli_t *cli, int argc, char **argv)
{
	static const char *oldest; /* --oldest: aged incidents first */
	static const arg_spec_t flags[] = {
		{"--status", ARG_CHOICE, "status", false, NULL, 0, 0, CLI_LIST_STATUSES},
		{"--provider", ARG_STRING, "provider", false, NULL, 0, 0, NULL},
		{"--category", ARG_INT, "category", false, NULL, 1, CLI_CATEGORY_MAX, NULL},
		{"--major", ARG_TRUE, "major", false, NULL, 0, 0, NULL},
		{"--breached", ARG_TRUE, "breached", false, NULL, 0, 0, NULL},
		{"--user-first", ARG_TRUE, "user_first", false, NULL, 0, 0, NULL},
		{"--problem", ARG_STRING, "problem", false, NULL, 0, 0, NULL},
		{"--limit", ARG_INT, "limit", false, NULL, 1, CLI_LIST_LIMIT_MAX, NULL},
		{"--cursor", ARG_STRING, "cursor", false, NULL, 0, 0, NULL},
		{"--oldest", ARG_TRUE, NULL, false, &oldest, 0, 0, NULL},
		{0},
	};
	static const args_def_t def = {.flags = flags};
	json_t *req = json_pack("{s:s}", "op", OP_LIST);
	json_t *reply = NULL;
	int status, npos;
	oldest = NULL;
	if (!args_parse(cli, argc, argv, &def, req, NULL, &npos, &status)) {
		json_decref(req);
		return status;
	}
	if (oldest != NULL)
		json_object_set_new(req, "sort", json_string("oldest"));
	status = cli_request(cli, req, &reply);
	if (reply != NULL && !cli->json)
		s_render_list(reply, NULL);
	json_decref(reply);
	return status;
}

/* The identity and state of an incident as aligned "key  value" lines. */
static void s_render_header(const json_t *inc)
{
	static const struct {
		const char *key, *field;
		bool always; /* false: left out when the daemon sent nothing (or null) */
	} lines[] = {
		{"incident", "id", true},      {"provider", "provider", true},
		{"ref", "ref", true},          {"category", "category", true},
		{"major", "major", true},      {"status", "status", true},
		{"user first", "user_first", false},
		{"opened", "opened_at", false}, {"title", "title", true},
		{"service", "service", false}, {"problem", "problem", true},
		{"description", "description", false},
	};
	enum { N = sizeof lines / sizeof lines[0] };
	char bufs[N][RENDER_BUFSZ];
	const char *keys[N], *values[N];
	size_t n = 0;
	for (size_t i = 0; i < N; i++) {
		const json_t *v = json_object_get(inc, lines[i].field);
		if (!lines[i].always && (v == NULL || json_is_null(v)))
			continue;
		keys[n] = lines[i].key;
		values[n] = render_value(inc, lines[i].field, bufs[n]);
		n++;
	}
	render_pairs(stdout, n, keys, values);
}

/*
 * The difference later - earlier of two RFC 3339 members as a signed duration, or "-" when
 * either is missing or unreadable.
 */
static const char *s_time_diff(const json_t *later_obj, const char *later_key,
			       const json_t *earlier_obj, const char *earlier_key, int plus,
			       char buf[RENDER_BUFSZ])
{
	const char *later = json_string_value(json_object_get(later_obj, later_key));
	const char *earlier = json_string_value(json_object_get(earlier_obj, earlier_key));
	int64_t a, b;
	if (later == NULL || earlier == NULL || rfc3339_parse(later, &a) != 0
	    || rfc3339_parse(earlier, &b) != 0)
		return "-";
	return render_duration(a - b, plus, buf);
}

/*
 * The timeline, one row per recorded stage: how late each report reached the daemon (DELAY)
 * and how long after the previous stage it happened (SINCE PREV).
 */
static void s_render_timeline(const json_t *timeline)
{
	static const char *const headers[] = {"STAGE",      "REPORTED", "RECEIVED", "DELAY",
					      "SINCE PREV", "SOURCE",   "EVENT",    "BY"};
	enum { N = sizeof headers / sizeof headers[0] };
	table_t *table = table_new(N, headers);
	if (table == NULL)
		return;
	size_t i;
	const json_t *row, *prev = NULL;
	json_array_foreach(timeline, i, row) {
		char bufs[N][RENDER_BUFSZ];
		const char *cells[N] = {
			render_value(row, "stage", bufs[0]),
			render_value(row, "at", bufs[1]),
			render_value(row, "received_at", bufs[2]),
			s_time_diff(row, "received_at", row, "at", 1, bufs[3]),
			prev != NULL ? s_time_diff(row, "at", prev, "at", 1, bufs[4]) : "-",
			render_value(row, "source", bufs[5]),
			render_value(row, "event_id", bufs[6]),
			render_value(row, "by", bufs[7]),
		};
		table_add(table, cells);
		prev = row;
	}
	table_print(table, stdout, 0);
	table_destroy(&table);
}

/* What a verdict's numbers mean in words: "late by 1h5m", "3m20s left", "due T". */
static const char *s_verdict_detail(const json_t *v, char *buf, size_t size)
{
	char dur[RENDER_BUFSZ], due_buf[RENDER_BUFSZ];
	const json_t *late = json_object_get(v, "late_by_ms");
	const json_t *left = json_object_get(v, "remaining_ms");
	const char *due = json_is_string(json_object_get(v, "due"))
				  ? render_value(v, "due", due_buf)
				  : NULL;
	size_t len = 0;
	buf[0] = '\0';
	if (json_is_integer(late))
		len += (size_t)snprintf(buf + len, size - len, "late by %s",
					render_duration(json_integer_value(late), 0, dur));
	else if (json_is_integer(left))
		len += (size_t)snprintf(buf + len, size - len, "%s left",
					render_duration(json_integer_value(left), 0, dur));
	if (due != NULL && len < size)
		snprintf(buf + len, size - len, "%sdue %s", len > 0 ? ", " : "", due);
	return buf[0] != '\0' ? buf : "-";
}

/* The per-rule verdicts, an object keyed by rule name. */
static void s_render_verdicts(const json_t *verdicts)
{
	static const char *const headers[] = {"RULE", "VERDICT", "DETAIL"};
	table_t *table = table_new(3, headers);
	if (table == NULL)
		return;
	const char *rule;
	const json_t *v;
	json_object_foreach((json_t *)verdicts, rule, v) {
		char verdict[RENDER_BUFSZ], detail[2 * RENDER_BUFSZ + 32];
		const char *cells[] = {rule, render_value(v, "verdict", verdict),
				       s_verdict_detail(v, detail, sizeof detail)};
		table_add(table, cells);
	}
	table_print(table, stdout, 0);
	table_destroy(&table);
}

/* The breaches raised for the incident (alerts, as opposed to the verdicts' outcomes). */
static void s_render_breaches(const json_t *breaches)
{
	static const char *const headers[] = {"BREACH",  "SLA",      "DUE",        "STOPPED",
					      "LATE_BY", "DETECTED", "DETECTED_AT"};
	static const char *const fields[] = {"breach",     "sla",      "due",        "stopped_at",
					     "late_by_ms", "detected", "detected_at"};
	render_objects(sizeof headers / sizeof headers[0], headers, fields, breaches, NULL);
}

static void s_render_incident(const json_t *reply)
{
	const json_t *inc = json_object_get(reply, "incident");
	s_render_header(inc);
	const json_t *timeline = json_object_get(inc, "timeline");
	if (json_array_size(timeline) > 0) {
		putchar('\n');
		s_render_timeline(timeline);
	}
	const json_t *verdicts = json_object_get(inc, "verdicts");
	if (json_object_size(verdicts) > 0) {
		putchar('\n');
		s_render_verdicts(verdicts);
	}
	const json_t *breaches = json_object_get(inc, "breaches");
	if (json_array_size(breaches) > 0) {
		putchar('\n');
		s_render_breaches(breaches);
	}
}

/*
 * Names the incident of show in req: an INC id, or PROVIDER/REF (split at the first '/', since
 * refs are more likely than provider names to hold one). Returns 0 or a usage error's status.
 */
static int s_show_target(const char *arg, json_t *req)
{
	const char *slash = strchr(arg, '/');
	if (slash == NULL) {
		json_object_set_new(req, "incident", json_string(arg));
		return CLI_EXIT_OK;
	}
	if (slash == arg || slash[1] == '\0')
		return cli_usage_error("show: '%s' is neither INC nor PROVIDER/REF", arg);
	json_object_set_new(req, "provider", json_stringn(arg, (size_t)(slash - arg)));
	json_object_set_new(req, "ref", json_string(slash + 1));
	return CLI_EXIT_OK;
}

int cmd_show(cli_t *cli, int argc, char **argv)
{
	static const char *const positional[] = {"INC|PROVIDER/REF", NULL};
	static const args_def_t def = {.positional = positional};
	json_t *req = json_pack("{s:s}", "op", OP_GET);
	json_t *reply = NULL;
	char *pos[1];
	int status, npos;
	if (!args_parse(cli, argc, argv, &def, req, pos, &npos, &status) ||
	    (status = s_show_target(pos[0], req)) != CLI_EXIT_OK) {
		json_decref(req);
		return status;
	}
	status = cli_request(cli, req, &reply);
	if (reply != NULL && !cli->json)
		s_render_incident(reply);
	json_decref(reply);
	return status;
}
