/*
 * report: the monthly report per provider. On a terminal it is two tables (incident counts,
 * then rule figures), the ids of the incidents open at the month's end, then the measures;
 * with --csv it is one flat CSV table, a row per provider, rule and category, then per
 * provider and measure, for spreadsheets; with --html it is one self-contained HTML page with
 * charts of the last twelve months and the month's major incidents (cmd_report_html.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/args.h"
#include "client/commands.h"
#include "client/render.h"
#include "proto/op.h"

/* The provider columns, shared by the counts table and the CSV. */
static const char *const s_prov_fields[] = {"provider",      "opened",     "user_first",
					    "resolved",      "open_at_start", "open_at_end"};
enum { PROV_N = sizeof s_prov_fields / sizeof s_prov_fields[0], FIG_N = 6, MAX_COLS = PROV_N + FIG_N };
/* The CSV's columns after the figures', filled on measure rows only. */
enum { MEASURE_CSV_N = 6, CSV_COLS = MAX_COLS + MEASURE_CSV_N, MEASURE_N = 11 };

/* Ids of open incidents per line, after the provider's name: 5 of 15 characters fit in 100. */
#define REPORT_IDS_PER_LINE 5

/* Adds one row of figures (met, breached, percent) after the first nprefix cells. */
static void s_add_figures(table_t *t, const char **cells, size_t nprefix, const char *kind,
			  const char *rule, const char *category, const json_t *fig)
{
	char bufs[3][RENDER_BUFSZ];
	cells[nprefix] = kind;
	cells[nprefix + 1] = rule;
	cells[nprefix + 2] = category;
	cells[nprefix + 3] = render_value(fig, "met", bufs[0]);
	cells[nprefix + 4] = render_value(fig, "breached", bufs[1]);
	/* null when nothing was counted: a missing cell rather than a made-up number. */
	cells[nprefix + 5] = json_is_number(json_object_get(fig, "percent_met"))
				     ? render_value(fig, "percent_met", bufs[2])
				     : NULL;
	table_add(t, cells);
}

/*
 * Adds the rows of every rule in rules (an object keyed by rule name, or an array of objects
 * naming their rule): the rule's total, then each of its categories.
 */
/* True when a figure counted something (a category row worth a line on a terminal). */
static bool s_counted(const json_t *fig)
{
	return json_integer_value(json_object_get(fig, "met")) +
		       json_integer_value(json_object_get(fig, "breached")) > 0;
}

/*
 * The rows of a provider's rules: each rule's total, then its categories. On a terminal the
 * categories that counted nothing are left out to keep the table short; the CSV has them all.
 */
static void s_add_rules(table_t *t, const char **cells, size_t nprefix, const char *kind,
			const json_t *rules, bool all_categories)
{
	const char *name;
	const json_t *fig;
	size_t i;
	json_object_foreach((json_t *)rules, name, fig) {
		s_add_figures(t, cells, nprefix, kind, name, "all", fig);
		const char *cat;
		const json_t *catfig;
		json_object_foreach(json_object_get(fig, "categories"), cat, catfig)
			if (all_categories || s_counted(catfig))
				s_add_figures(t, cells, nprefix, kind, name, cat, catfig);
	}
	json_array_foreach(rules, i, fig) {
		const char *rule = json_string_value(json_object_get(fig, "rule"));
		if (rule == NULL)
			rule = json_string_value(json_object_get(fig, "name"));
		s_add_figures(t, cells, nprefix, kind, rule, "all", fig);
	}
}

/*
 * --- measures ----------------------------------------------------------------------------------
 *
 * The performance measures: on a terminal a table of their own after the rule figures, a line
 * per provider and measure with the level marked so that it stands out; in CSV a row per
 * provider and measure after its rule rows, kind "measure", filling the columns after
 * percent_met that rule rows leave empty (the CSV stays one flat table).
 */

/*
 * A level as the table shows it, marked so that it stands out: "target", "below target !",
 * "BELOW MINIMUM !!"; "-" when nothing was counted.
 */
static const char *s_level_text(const json_t *measure)
{
	const char *level = json_string_value(json_object_get(measure, "level"));
	if (level == NULL)
		return "-";
	if (strcmp(level, "below_minimum") == 0)
		return "BELOW MINIMUM !!";
	if (strcmp(level, "below_target") == 0)
		return "below target !";
	return level;
}

/* Room for a percentage as s_percent() writes it ("99.95%"; 0 to 100). */
#define PERCENT_BUFSZ 24

/* A percentage member (0 to 100) as "95%" or "99.5%" into buf; NULL when not a number. */
static const char *s_percent(const json_t *obj, const char *key, char buf[PERCENT_BUFSZ])
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_number(v))
		return NULL;
	snprintf(buf, PERCENT_BUFSZ, "%.6g%%", json_number_value(v));
	return buf;
}

/* "95%/90%" (target/minimum), or "95%" without a minimum. */
static const char *s_levels_text(const json_t *measure, char buf[RENDER_BUFSZ])
{
	char target[PERCENT_BUFSZ], minimum[PERCENT_BUFSZ];
	const char *t = s_percent(measure, "target", target);
	const char *m = s_percent(measure, "minimum", minimum);
	snprintf(buf, RENDER_BUFSZ, "%s%s%s", t ? t : "-", m ? "/" : "", m ? m : "");
	return buf;
}

/* The measure's categories "1 2 3" into buf (a space between: one CSV field, unquoted). */
static const char *s_categories_text(const json_t *measure, char buf[RENDER_BUFSZ])
{
	size_t i, used = 0;
	const json_t *c;
	buf[0] = '\0';
	json_array_foreach(json_object_get(measure, "categories"), i, c)
		if (used + 24 < RENDER_BUFSZ)
			used += (size_t)snprintf(buf + used, RENDER_BUFSZ - used,
						 "%s%" JSON_INTEGER_FORMAT, used ? " " : "",
						 json_integer_value(c));
	return buf;
}

/*
 * percent_met with two decimals (the level compares it at that precision: 94.99 is below a
 * 95% target); NULL when nothing was counted.
 */
static const char *s_percent_met(const json_t *measure, char buf[RENDER_BUFSZ])
{
	const json_t *v = json_object_get(measure, "percent_met");
	if (!json_is_number(v))
		return NULL;
	snprintf(buf, RENDER_BUFSZ, "%.2f", json_number_value(v));
	return buf;
}

/* The terminal's measures table: TARGET is target/minimum; BELOW_RUN months_below_target. */
static const char *const s_measures_h[MEASURE_N] = {
	"PROVIDER", "MEASURE", "RULE", "CAT", "MET", "BREACHED", "PERCENT_MET", "TARGET/MIN",
	"LEVEL", "MONTHS_BELOW", "BELOW_IN_24"};

/* The terminal's rows: one per measure of a provider. */
static void s_add_measures(table_t *t, const char *provider, const json_t *measures)
{
	const char *name;
	const json_t *m;
	json_object_foreach((json_t *)measures, name, m) {
		char bufs[8][RENDER_BUFSZ];
		const char *cells[MEASURE_N] = {
			provider,
			name,
			render_value(m, "rule", bufs[0]),
			s_categories_text(m, bufs[1]),
			render_value(m, "met", bufs[2]),
			render_value(m, "breached", bufs[3]),
			s_percent_met(m, bufs[4]),
			s_levels_text(m, bufs[5]),
			s_level_text(m),
			render_value(m, "months_below_target", bufs[6]),
			render_value(m, "below_target_in_24", bufs[7]),
		};
		table_add(t, cells);
	}
}

/*
 * The CSV's rows: one per measure of a provider, after the provider's counts (cells[0 ..
 * PROV_N - 1], set by the caller): kind "measure", its rule, categories, figures, then the
 * measure's own columns; the level as the daemon names it.
 */
static void s_add_measures_csv(table_t *t, const char **cells, const json_t *measures)
{
	const char *name;
	const json_t *m;
	json_object_foreach((json_t *)measures, name, m) {
		char bufs[9][RENDER_BUFSZ];
		const char **c = cells + PROV_N;
		c[0] = "measure";
		c[1] = render_value(m, "rule", bufs[0]);
		c[2] = s_categories_text(m, bufs[1]);
		c[3] = render_value(m, "met", bufs[2]);
		c[4] = render_value(m, "breached", bufs[3]);
		c[5] = s_percent_met(m, bufs[4]);
		c[6] = name;
		c[7] = s_percent(m, "target", bufs[5]);
		c[8] = s_percent(m, "minimum", bufs[6]);
		c[9] = json_string_value(json_object_get(m, "level"));
		c[10] = render_value(m, "months_below_target", bufs[7]);
		c[11] = render_value(m, "below_target_in_24", bufs[8]);
		table_add(t, cells);
	}
}

/* The terminal's measures table, after the figures; nothing when no measure is configured. */
static void s_print_measures(const table_t *measures)
{
	if (measures == NULL || table_rows(measures) == 0)
		return;
	putchar('\n');
	table_print(measures, stdout, 0);
}

/* Fills the tables from one provider's entry (in CSV, figures holds the measures too). */
static void s_add_provider(table_t *counts, table_t *figures, table_t *measures,
			   const json_t *prov, int csv)
{
	char bufs[PROV_N][RENDER_BUFSZ];
	const char *cells[CSV_COLS] = {NULL};
	for (size_t c = 0; c < PROV_N; c++)
		cells[c] = render_value(prov, s_prov_fields[c], bufs[c]);
	if (!csv)
		table_add(counts, cells);
	/* In CSV every figures row repeats the counts; on a terminal only the provider. */
	size_t nprefix = csv ? PROV_N : 1;
	s_add_rules(figures, cells, nprefix, "sla", json_object_get(prov, "sla"), csv);
	s_add_rules(figures, cells, nprefix, "problem", json_object_get(prov, "problem_rules"), csv);
	if (csv)
		s_add_measures_csv(figures, cells, json_object_get(prov, "measures"));
	else
		s_add_measures(measures, cells[0], json_object_get(prov, "measures"));
}

/*
 * The ids open at the month's end ("open" of each provider), a provider a paragraph:
 * "rdp  INC000000000003 INC000000000004 ..." wrapped under the first id. Nothing when none is.
 */
static void s_print_open(const json_t *providers)
{
	size_t width = 0, i, j;
	const json_t *prov, *id;
	json_array_foreach(providers, i, prov) {
		const char *name = json_string_value(json_object_get(prov, "provider"));
		if (json_array_size(json_object_get(prov, "open")) > 0 && name != NULL &&
		    strlen(name) > width)
			width = strlen(name);
	}
	if (width == 0)
		return;
	puts("\nopen at the end of the month:");
	json_array_foreach(providers, i, prov) {
		const char *name = json_string_value(json_object_get(prov, "provider"));
		const json_t *open = json_object_get(prov, "open");
		if (name == NULL || json_array_size(open) == 0)
			continue;
		printf("%-*s", (int)width, name);
		json_array_foreach(open, j, id) {
			if (j > 0 && j % REPORT_IDS_PER_LINE == 0)
				printf("\n%-*s", (int)width, "");
			printf("  %s", json_is_string(id) ? json_string_value(id) : "?");
		}
		putchar('\n');
	}
}

static void s_render(const json_t *reply, void *arg)
{
	bool csv = *(const char **)arg != NULL; /* --csv given */
	static const char *const counts_h[] = {"PROVIDER", "OPENED",        "USER_FIRST",
					       "RESOLVED", "OPEN_AT_START", "OPEN_AT_END"};
	static const char *const figures_h[] = {"PROVIDER", "KIND", "RULE", "CAT",
						"MET",      "BREACHED", "PERCENT_MET"};
	static const char *const csv_h[] = {"provider", "opened",   "user_first", "resolved", "open_at_start",
					    "open_at_end", "kind",   "rule",     "category",
					    "met",      "breached", "percent_met", "measure",
					    "target", "minimum", "level", "months_below_target",
					    "below_target_in_24"};
	table_t *counts = table_new(PROV_N, counts_h);
	table_t *figures = csv ? table_new(CSV_COLS, csv_h) : table_new(1 + FIG_N, figures_h);
	table_t *measures = table_new(MEASURE_N, s_measures_h);
	const json_t *providers = json_object_get(reply, "providers");
	size_t i;
	const json_t *prov;
	if (counts != NULL && figures != NULL && measures != NULL)
		json_array_foreach(providers, i, prov)
			s_add_provider(counts, figures, measures, prov, csv);
	if (csv && figures != NULL) {
		table_print(figures, stdout, 1);
	} else if (counts != NULL && figures != NULL) {
		char month[RENDER_BUFSZ];
		printf("month  %s\n\n", render_value(reply, "month", month));
		if (table_rows(counts) == 0)
			puts("no providers");
		else
			table_print(counts, stdout, 0);
		s_print_open(providers);
		if (table_rows(figures) > 0) {
			putchar('\n');
			table_print(figures, stdout, 0);
		}
		s_print_measures(measures);
	}
	table_destroy(&counts);
	table_destroy(&figures);
	table_destroy(&measures);
}

int cmd_report(cli_t *cli, int argc, char **argv)
{
	const char *csv = NULL, *html = NULL, *path = NULL, *month = NULL, *provider = NULL;
	const arg_spec_t flags[] = {
		{"--month", ARG_MONTH, "month", true, &month, 0, 0, NULL},
		{"--provider", ARG_STRING, "provider", false, &provider, 0, 0, NULL},
		{"--csv", ARG_TRUE, NULL, false, &csv, 0, 0, NULL},
		{"--html", ARG_TRUE, NULL, false, &html, 0, 0, NULL},
		{"-o", ARG_STRING, NULL, false, &path, 0, 0, NULL},
		{0},
	};
	const args_def_t def = {.flags = flags};
	json_t *req = json_pack("{s:s}", "op", OP_REPORT);
	int status, npos;
	if (!args_parse(cli, argc, argv, &def, req, NULL, &npos, &status)) {
		json_decref(req);
		return status;
	}
	/* Both print the report, each its own way: one of them would be silently ignored. */
	if (csv != NULL && cli->json) {
		json_decref(req);
		return cli_usage_error("report: --csv and --json cannot be combined");
	}
	/* --html is a page of its own: it cannot also be CSV or the daemon's JSON. */
	if (html != NULL && (csv != NULL || cli->json)) {
		json_decref(req);
		return cli_usage_error("report: --html cannot be combined with %s",
				       csv != NULL ? "--csv" : "--json");
	}
	if (path != NULL && html == NULL) {
		json_decref(req);
		return cli_usage_error("report: -o FILE is for --html");
	}
	if (html != NULL) {
		json_decref(req);
		return cmd_report_html(cli, month, provider, path);
	}
	return args_send(cli, req, s_render, &csv);
}
