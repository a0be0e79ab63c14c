/*
 * report --html: the monthly report as one self-contained HTML file for review meetings and
 * for print: inline CSS and SVG, no script, no external asset. Per provider, the last twelve
 * months' counts as grouped bars and each performance measure's percent met as a line with
 * its target and minimum, then the month's figures as tables; then each major incident open
 * during the month as a timeline of every source's reports (reported and arrival times) with
 * its breaches (client/svg_timeline.c draws those).
 *
 * What it asks the daemon: one `report` per month of the twelve (each reply already holds its
 * month's measures, so nothing more is needed for the lines); the month before the report's
 * own month tells which incidents were open at its start; `list` of major incidents, oldest
 * first, up to the month's end; a `get` of each major incident open during the month.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/chart.h"
#include "client/commands.h"
#include "client/html.h"
#include "client/render.h"
#include "client/svg_timeline.h"
#include "client/tz.h"
#include "proto/op.h"
#include "proto/rfc3339.h"

/* Months in the charts, ending with the month of the report. */
#define S_MONTHS 12
/* The month of the report and the one before it, in s_report_t.months. */
#define S_THIS (S_MONTHS - 1)
#define S_PREV (S_MONTHS - 2)
/* list page size (the contract's maximum). */
#define S_LIST_LIMIT 1000
/* Drawing width of every chart, in SVG units (scaled down to the page). */
#define S_WIDTH 1000

typedef struct {
	char label[16]; /* "2020-12" */
	int64_t start_ms; /* the month's first moment, UTC */
	int64_t end_ms;   /* the next month's first moment */
	json_t *reply;    /* the report reply, or NULL for a month before 1970 */
} s_month_t;

typedef struct {
	const cli_t *cli;
	const char *provider; /* --provider, or NULL */
	s_month_t months[S_MONTHS];
	json_t *majors; /* the "incident" objects of get, oldest first */
	FILE *out;
	int svg_ids; /* for ids unique within the document */
} s_report_t;

/* --- gathering ------------------------------------------------------------------------------ */

/* Sends req (stolen) and stores the ok reply. Returns the exit status (cli_request()). */
static int s_ask(const s_report_t *r, json_t *req, json_t **reply_out)
{
	if (r->provider != NULL)
		json_object_set_new(req, "provider", json_string(r->provider));
	return cli_request(r->cli, req, reply_out);
}

/* Fills the months' labels and bounds, the last one being month ("YYYY-MM", checked). */
static void s_months_init(s_report_t *r, const char *month)
{
	int year = atoi(month), mon = atoi(month + 5);
	for (int i = S_MONTHS - 1; i >= 0; i--) {
		s_month_t *m = &r->months[i];
		snprintf(m->label, sizeof m->label, "%04d-%02d", year, mon);
		m->start_ms = rfc3339_days_from_civil(year, (unsigned)mon, 1) * 86400000;
		m->end_ms = mon == 12 ? rfc3339_days_from_civil(year + 1, 1, 1) * 86400000
				      : rfc3339_days_from_civil(year, (unsigned)mon + 1, 1) * 86400000;
		if (--mon == 0) {
			mon = 12;
			year--;
		}
	}
}

/* One report request per month (the months before 1970 have none). Returns the exit status. */
static int s_fetch_months(s_report_t *r)
{
	for (int i = 0; i < S_MONTHS; i++) {
		s_month_t *m = &r->months[i];
		if (atoi(m->label) < 1970)
			continue;
		json_t *req = json_pack("{s:s, s:s}", "op", OP_REPORT, "month", m->label);
		int status = s_ask(r, req, &m->reply);
		if (status != CLI_EXIT_OK)
			return status;
	}
	return CLI_EXIT_OK;
}

/* The entry of provider in a month's report, or NULL when it is not listed that month. */
static const json_t *s_provider_in(const s_month_t *m, const char *provider)
{
	size_t i;
	const json_t *p;
	json_array_foreach(json_object_get(m->reply, "providers"), i, p) {
		const char *name = json_string_value(json_object_get(p, "provider"));
		if (name != NULL && strcmp(name, provider) == 0)
			return p;
	}
	return NULL;
}

/* True when id was open at the end of the month before the report's (so at its start). */
static bool s_open_at_start(const s_report_t *r, const char *id)
{
	size_t i, j;
	const json_t *p, *v;
	json_array_foreach(json_object_get(r->months[S_PREV].reply, "providers"), i, p)
		json_array_foreach(json_object_get(p, "open"), j, v)
			if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
				return true;
	return false;
}

/* A time member of obj in ms; -1 when absent or unreadable. */
static int64_t s_time(const json_t *obj, const char *key)
{
	int64_t ms;
	const char *text = json_string_value(json_object_get(obj, key));
	return text != NULL && rfc3339_parse(text, &ms) == 0 ? ms : -1;
}

/* Gets the incident of a summary and appends it to r->majors. Returns the exit status. */
static int s_fetch_major(s_report_t *r, const json_t *summary)
{
	const char *id = json_string_value(json_object_get(summary, "id"));
	json_t *reply = NULL;
	if (id == NULL)
		return CLI_EXIT_OK;
	int status = cli_request(r->cli, json_pack("{s:s, s:s}", "op", OP_GET, "incident", id),
				 &reply);
	if (status == CLI_EXIT_OK)
		json_array_append(r->majors, json_object_get(reply, "incident"));
	json_decref(reply);
	return status;
}

/*
 * The major incidents open at some moment of the month: opened in it, or open at its start
 * (the previous month's report lists those open at its end). Pages through the major
 * incidents oldest first and stops at the first opened after the month.
 */
static int s_fetch_majors(s_report_t *r)
{
	const s_month_t *m = &r->months[S_THIS];
	char *cursor = NULL;
	int status = CLI_EXIT_OK;
	bool done = false;
	while (!done && status == CLI_EXIT_OK) {
		json_t *req = json_pack("{s:s, s:b, s:s, s:s, s:i}", "op", OP_LIST, "major", 1,
					"status", "all", "sort", "oldest", "limit", S_LIST_LIMIT);
		json_t *reply = NULL;
		if (cursor != NULL)
			json_object_set_new(req, "cursor", json_string(cursor));
		free(cursor);
		cursor = NULL;
		status = s_ask(r, req, &reply);
		size_t i;
		const json_t *s;
		json_array_foreach(json_object_get(reply, "incidents"), i, s) {
			int64_t opened = s_time(s, "opened_at");
			const char *id = json_string_value(json_object_get(s, "id"));
			if (status != CLI_EXIT_OK || opened >= m->end_ms) {
				done = true;
				break;
			}
			if (opened >= m->start_ms || (id != NULL && s_open_at_start(r, id)))
				status = s_fetch_major(r, s);
		}
		const char *next = json_string_value(json_object_get(reply, "next"));
		if (next == NULL)
			done = true;
		else
			cursor = strdup(next);
		json_decref(reply);
	}
	free(cursor);
	return status;
}

/* --- page ------------------------------------------------------------------------------------ */

static const char s_css[] =
	"body{font:14px/1.4 'DejaVu Sans',Arial,sans-serif;color:#000;background:#fff;"
	"margin:24px;max-width:1040px}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:19px;border-bottom:2px solid #000;"
	"margin-top:32px}h3{font-size:16px;margin:20px 0 4px}\n"
	".meta{color:#333;margin:0 0 12px}\n"
	"svg{display:block;width:100%;height:auto;margin:8px 0}\n"
	"svg text{font-family:'DejaVu Sans',Arial,sans-serif;fill:#000}\n"
	"table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}\n"
	"th,td{border:1px solid #999;padding:2px 8px;text-align:left;vertical-align:top}\n"
	"td{white-space:nowrap}\n"
	"th{background:#eee}td.n{text-align:right}\n"
	".below_target{font-weight:bold}.below_minimum{font-weight:bold;text-decoration:underline}\n"
	".ids{font-family:'DejaVu Sans Mono',monospace;font-size:12px}\n"
	"section.provider,section.major{break-inside:avoid-page}\n"
	"@media print{body{margin:0;max-width:none;font-size:11pt}"
	"section.provider~section.provider{break-before:page;page-break-before:always}"
	"section.majors{break-before:page;page-break-before:always}"
	"svg,table{break-inside:avoid;page-break-inside:avoid}"
	"th{background:#fff}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

static void s_page_head(s_report_t *r)
{
	const s_month_t *m = &r->months[S_THIS];
	char off[TZ_OFFSET_BUFSZ];
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", r->out);
	fputs("<title>Incident report ", r->out);
	html_escape(r->out, m->label);
	fprintf(r->out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>Incident report ",
		s_css);
	html_escape(r->out, m->label);
	fputs("</h1>\n<p class=\"meta\">", r->out);
	if (r->provider != NULL) {
		fputs("Provider ", r->out);
		html_escape(r->out, r->provider);
		fputs(". ", r->out);
	}
	fputs("Months are UTC calendar months of reported times. Times are shown in ", r->out);
	html_escape(r->out, r->cli->zone);
	fputs(" (UTC", r->out);
	tz_offset(m->end_ms - 1, off);
	html_escape(r->out, off);
	fputs(" at the month&#39;s end).</p>\n", r->out);
}

/* --- charts ---------------------------------------------------------------------------------- */

/* A measure of a month's entry: the counts chart's bars. */
static const struct {
	const char *key;
	const char *label;
	const char *fill; /* distinct in grey too: dark, hatched, white */
} s_bars[] = {
	{"opened", "opened", "#1f3b73"},
	{"resolved", "resolved", "url(#hatch)"},
	{"open_at_end", "open at month end", "#ffffff"},
};
enum { S_NBARS = sizeof s_bars / sizeof s_bars[0] };

/* Geometry of a chart with a value axis on the left and the months along the bottom. */
typedef struct {
	double left, right, top, bottom; /* the plot area, in SVG units */
	chart_axis_t axis;
} s_plot_t;

static double s_y(const s_plot_t *p, double v)
{
	return chart_scale(v, 0, p->axis.max, p->bottom, p->top);
}

static double s_month_x(const s_plot_t *p, int i)
{
	return p->left + (p->right - p->left) * (i + 0.5) / S_MONTHS;
}

/* The value axis (ticks, grid lines, labels with suffix) and the month labels. */
static void s_axes(FILE *out, const s_plot_t *p, const char *suffix, const char *title)
{
	for (double v = 0; v <= p->axis.max + 1e-9; v += p->axis.step) {
		double y = s_y(p, v);
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">%g%s</text>\n",
			p->left, y, p->right, y, p->left - 6, y + 4, v, suffix);
	}
	fprintf(out,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>"
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n",
		p->left, p->top, p->left, p->bottom, p->left, p->bottom, p->right, p->bottom);
	fprintf(out,
		"<text x=\"14\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 14 %.1f)\">",
		(p->top + p->bottom) / 2, (p->top + p->bottom) / 2);
	html_escape(out, title);
	fputs("</text>\n", out);
}

static void s_month_labels(FILE *out, const s_plot_t *p, const s_report_t *r)
{
	for (int i = 0; i < S_MONTHS; i++) {
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\"%s>",
			s_month_x(p, i), p->bottom + 18, i == S_THIS ? " font-weight=\"bold\"" : "");
		html_escape(out, r->months[i].label);
		fputs("</text>\n", out);
	}
}

/* A count of a provider's month entry; 0 when the provider is not listed that month. */
static long long s_count(const json_t *entry, const char *key)
{
	return (long long)json_integer_value(json_object_get(entry, key));
}

/* The legend's swatch and text at x, y; returns the x after it. */
static double s_legend_item(FILE *out, double x, double y, const char *fill, const char *text)
{
	fprintf(out,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\" "
		"stroke=\"#000\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"13\">",
		x, y - 11, fill, x + 20, y);
	html_escape(out, text);
	fputs("</text>\n", out);
	return x + 30 + 8.0 * (double)strlen(text);
}

static void s_svg_open(s_report_t *r, int height, const char *label)
{
	fprintf(r->out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"",
		S_WIDTH, height);
	html_escape(r->out, label);
	fputs("\">\n", r->out);
}

/* Opened, resolved and open at month end of the twelve months, as grouped bars. */
static void s_counts_chart(s_report_t *r, const char *provider)
{
	const json_t *entries[S_MONTHS];
	double max = 0;
	for (int i = 0; i < S_MONTHS; i++) {
		entries[i] = s_provider_in(&r->months[i], provider);
		for (int b = 0; b < S_NBARS; b++)
			if (s_count(entries[i], s_bars[b].key) > max)
				max = (double)s_count(entries[i], s_bars[b].key);
	}
	s_plot_t p = {60, S_WIDTH - 10, 40, 260, chart_axis(max, 5, true)};
	s_svg_open(r, 290, "incidents opened, resolved and open at month end, by month");
	fputs("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#fff\"/>"
	      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#000\" stroke-width=\"3\"/>"
	      "</pattern></defs>\n",
	      r->out);
	double lx = p.left;
	for (int b = 0; b < S_NBARS; b++)
		lx = s_legend_item(r->out, lx, 18, s_bars[b].fill, s_bars[b].label);
	s_axes(r->out, &p, "", "incidents");
	double group = (p.right - p.left) / S_MONTHS, bw = group * 0.25;
	for (int i = 0; i < S_MONTHS; i++)
		for (int b = 0; b < S_NBARS; b++) {
			long long v = s_count(entries[i], s_bars[b].key);
			double x = s_month_x(&p, i) + (b - 1.5) * bw, y = s_y(&p, (double)v);
			fprintf(r->out,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				"fill=\"%s\" stroke=\"#000\"><title>%s %s: %lld</title></rect>"
				"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
				"text-anchor=\"middle\">%lld</text>\n",
				x, y, bw, p.bottom - y, s_bars[b].fill, r->months[i].label,
				s_bars[b].label, v, x + bw / 2, y - 3, v);
		}
	s_month_labels(r->out, &p, r);
	fputs("</svg>\n", r->out);
}

/* A horizontal level line (target, minimum) across the plot with its label at the right. */
static void s_level_line(FILE *out, const s_plot_t *p, double level, const char *dash,
			 const char *label, bool below)
{
	double y = s_y(p, level);
	/* The target's label sits above its line, the minimum's below, so that they never meet. */
	double ty = below ? y + 13 : y - 4;
	fprintf(out,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"%s\"/>"
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">%s %g%%</text>\n",
		p->left, y, p->right, y, dash, p->right - 4, ty, label, level);
}

/* The measure's percent_met of month i, or -1 when nothing was counted (a gap). */
static double s_percent_of(const s_report_t *r, int i, const char *provider, const char *name)
{
	const json_t *entry = s_provider_in(&r->months[i], provider);
	const json_t *m = json_object_get(json_object_get(entry, "measures"), name);
	const json_t *v = json_object_get(m, "percent_met");
	return json_is_number(v) ? json_number_value(v) : -1;
}

/* The line of a measure: segments between months that counted, points with their values. */
static void s_measure_line(s_report_t *r, const s_plot_t *p, const char *provider,
			   const char *name)
{
	bool open = false;
	for (int i = 0; i < S_MONTHS; i++) {
		double v = s_percent_of(r, i, provider, name);
		if (v < 0 && open)
			fputs("\"/>\n", r->out);
		if (v >= 0 && !open)
			fputs("<polyline fill=\"none\" stroke=\"#1f3b73\" stroke-width=\"2.5\" "
			      "points=\"",
			      r->out);
		if (v >= 0)
			fprintf(r->out, "%.1f,%.1f ", s_month_x(p, i), s_y(p, v));
		open = v >= 0;
	}
	if (open)
		fputs("\"/>\n", r->out);
	for (int i = 0; i < S_MONTHS; i++) {
		double v = s_percent_of(r, i, provider, name), x = s_month_x(p, i);
		if (v < 0) {
			fprintf(r->out,
				"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#555\" "
				"text-anchor=\"middle\">no data</text>\n",
				x, p->bottom - 6);
			continue;
		}
		fprintf(r->out,
			"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"#1f3b73\" stroke=\"#fff\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%.1f%%"
			"</text>\n",
			x, s_y(p, v), x, s_y(p, v) - 8, v);
	}
}

/* One measure's percent met by month, with its target and minimum. */
static void s_measure_chart(s_report_t *r, const char *provider, const char *name,
			    const json_t *measure)
{
	s_plot_t p = {60, S_WIDTH - 10, 40, 250, {100, 20}};
	const json_t *target = json_object_get(measure, "target");
	const json_t *minimum = json_object_get(measure, "minimum");
	fputs("<h3>Measure ", r->out);
	html_escape(r->out, name);
	fputs(": percent met by month</h3>\n", r->out);
	s_svg_open(r, 280, "percent met by month with target and minimum");
	double lx = s_legend_item(r->out, p.left, 18, "#1f3b73", "percent met");
	fprintf(r->out,
		"<line x1=\"%.1f\" y1=\"12\" x2=\"%.1f\" y2=\"12\" stroke=\"#000\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"8 4\"/><text x=\"%.1f\" y=\"18\" "
		"font-size=\"13\">target</text>\n",
		lx, lx + 30, lx + 36);
	lx += 100;
	fprintf(r->out,
		"<line x1=\"%.1f\" y1=\"12\" x2=\"%.1f\" y2=\"12\" stroke=\"#000\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/><text x=\"%.1f\" y=\"18\" "
		"font-size=\"13\">minimum</text>\n",
		lx, lx + 30, lx + 36);
	s_axes(r->out, &p, "%", "percent met");
	if (json_is_number(target))
		s_level_line(r->out, &p, json_number_value(target), "8 4", "target", false);
	if (json_is_number(minimum))
		s_level_line(r->out, &p, json_number_value(minimum), "2 3", "minimum", true);
	s_measure_line(r, &p, provider, name);
	s_month_labels(r->out, &p, r);
	fputs("</svg>\n", r->out);
}

/* --- tables ---------------------------------------------------------------------------------- */

/* A table cell with the text escaped; numeric cells right-aligned. */
static void s_cell(FILE *out, const char *text, bool numeric)
{
	fputs(numeric ? "<td class=\"n\">" : "<td>", out);
	html_escape(out, text != NULL ? text : "-");
	fputs("</td>", out);
}

/* A header row from a NULL-terminated list of column names. */
static void s_header_row(FILE *out, const char *const *names)
{
	fputs("<tr>", out);
	for (; *names != NULL; names++) {
		fputs("<th>", out);
		html_escape(out, *names);
		fputs("</th>", out);
	}
	fputs("</tr>\n", out);
}

static void s_counts_table(FILE *out, const json_t *entry)
{
	static const char *const keys[] = {"opened", "user_first", "resolved", "open_at_start",
					   "open_at_end"};
	static const char *const head[] = {"opened", "user first", "resolved", "open at start",
					   "open at end", NULL};
	char buf[RENDER_BUFSZ];
	fputs("<table>\n", out);
	s_header_row(out, head);
	fputs("<tr>", out);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		s_cell(out, render_value(entry, keys[i], buf), true);
	fputs("</tr>\n</table>\n", out);
	const json_t *open = json_object_get(entry, "open");
	if (json_array_size(open) == 0)
		return;
	fputs("<p>Open at the end of the month: <span class=\"ids\">", out);
	size_t i;
	const json_t *id;
	json_array_foreach(open, i, id) {
		html_escape(out, i > 0 ? " " : "");
		html_escape(out, json_string_value(id));
	}
	fputs("</span></p>\n", out);
}

/* The rows of a provider's rules (rules: an object keyed by rule name). */
static void s_rule_rows(FILE *out, const char *kind, const json_t *rules)
{
	const char *name;
	const json_t *fig;
	json_object_foreach((json_t *)rules, name, fig) {
		char bufs[3][RENDER_BUFSZ];
		fputs("<tr>", out);
		s_cell(out, kind, false);
		s_cell(out, name, false);
		s_cell(out, render_value(fig, "met", bufs[0]), true);
		s_cell(out, render_value(fig, "breached", bufs[1]), true);
		const json_t *pm = json_object_get(fig, "percent_met");
		if (json_is_number(pm))
			snprintf(bufs[2], RENDER_BUFSZ, "%.2f%%", json_number_value(pm));
		s_cell(out, json_is_number(pm) ? bufs[2] : NULL, true);
		fputs("</tr>\n", out);
	}
}

static void s_rules_table(FILE *out, const json_t *entry)
{
	static const char *const head[] = {"kind", "rule", "met", "breached", "percent met", NULL};
	if (json_object_size(json_object_get(entry, "sla")) +
		    json_object_size(json_object_get(entry, "problem_rules")) == 0)
		return;
	fputs("<table>\n", out);
	s_header_row(out, head);
	s_rule_rows(out, "sla", json_object_get(entry, "sla"));
	s_rule_rows(out, "problem", json_object_get(entry, "problem_rules"));
	fputs("</table>\n", out);
}

/* The level in words, so that it does not rest on typography alone. */
static const char *s_level_words(const json_t *measure)
{
	const char *level = json_string_value(json_object_get(measure, "level"));
	if (level == NULL)
		return "no data";
	if (strcmp(level, "below_minimum") == 0)
		return "BELOW MINIMUM";
	if (strcmp(level, "below_target") == 0)
		return "below target";
	return strcmp(level, "target") == 0 ? "at target" : level;
}

static void s_measure_row(FILE *out, const char *name, const json_t *m)
{
	char bufs[6][RENDER_BUFSZ];
	const json_t *pm = json_object_get(m, "percent_met");
	const json_t *min = json_object_get(m, "minimum");
	snprintf(bufs[0], RENDER_BUFSZ, "%.2f%%", json_number_value(pm));
	double target = json_number_value(json_object_get(m, "target"));
	if (json_is_number(min))
		snprintf(bufs[1], RENDER_BUFSZ, "%g%% / %g%%", target, json_number_value(min));
	else
		snprintf(bufs[1], RENDER_BUFSZ, "%g%% / -", target);
	/* The class is one of ours, never the daemon's text: attributes hold nothing it sent. */
	const char *level = json_string_value(json_object_get(m, "level"));
	const char *cls = level == NULL                           ? "none"
			  : strcmp(level, "below_minimum") == 0 ? "below_minimum"
			  : strcmp(level, "below_target") == 0  ? "below_target"
								: "target";
	fputs("<tr>", out);
	s_cell(out, name, false);
	s_cell(out, render_value(m, "rule", bufs[2]), false);
	s_cell(out, render_value(m, "met", bufs[3]), true);
	s_cell(out, render_value(m, "breached", bufs[4]), true);
	s_cell(out, json_is_number(pm) ? bufs[0] : NULL, true);
	s_cell(out, bufs[1], true);
	fprintf(out, "<td class=\"%s\">", cls);
	html_escape(out, s_level_words(m));
	fputs("</td>", out);
	s_cell(out, render_value(m, "months_below_target", bufs[5]), true);
	s_cell(out, render_value(m, "below_target_in_24", bufs[2]), true);
	fputs("</tr>\n", out);
}

static void s_measures_table(FILE *out, const json_t *measures)
{
	static const char *const head[] = {"measure", "rule", "met", "breached", "percent met",
					   "target / minimum", "level", "months below target",
					   "below target in 24", NULL};
	const char *name;
	const json_t *m;
	if (json_object_size(measures) == 0)
		return;
	fputs("<table>\n", out);
	s_header_row(out, head);
	json_object_foreach((json_t *)measures, name, m)
		s_measure_row(out, name, m);
	fputs("</table>\n", out);
}

/* One provider's section: the charts, then the month's tables. */
static void s_provider_section(s_report_t *r, const json_t *entry)
{
	const char *provider = json_string_value(json_object_get(entry, "provider"));
	if (provider == NULL)
		return;
	fputs("<section class=\"provider\">\n<h2>Provider ", r->out);
	html_escape(r->out, provider);
	fputs("</h2>\n<h3>Incidents by month</h3>\n", r->out);
	s_counts_chart(r, provider);
	const json_t *measures = json_object_get(entry, "measures");
	const char *name;
	const json_t *m;
	json_object_foreach((json_t *)measures, name, m)
		s_measure_chart(r, provider, name, m);
	fputs("<h3>", r->out);
	html_escape(r->out, r->months[S_THIS].label);
	fputs("</h3>\n", r->out);
	s_counts_table(r->out, entry);
	s_rules_table(r->out, entry);
	s_measures_table(r->out, measures);
	fputs("</section>\n", r->out);
}

/* --- major incidents ------------------------------------------------------------------------- */

/* The reports as a table, each time in full with its offset. */
static void s_reports_table(FILE *out, const json_t *inc)
{
	static const char *const head[] = {"stage",  "source", "reported", "received",
					   "delay", "event",  "by",       NULL};
	size_t i;
	const json_t *e;
	fputs("<table>\n", out);
	s_header_row(out, head);
	json_array_foreach(json_object_get(inc, "timeline"), i, e) {
		char bufs[4][RENDER_BUFSZ];
		int64_t at = s_time(e, "at"), rec = s_time(e, "received_at");
		fputs("<tr>", out);
		s_cell(out, render_value(e, "stage", bufs[0]), false);
		s_cell(out, render_value(e, "source", bufs[0]), false);
		s_cell(out, render_value(e, "at", bufs[1]), false);
		s_cell(out, render_value(e, "received_at", bufs[2]), false);
		s_cell(out, at >= 0 && rec >= 0 ? render_duration(rec - at, 1, bufs[3]) : NULL, true);
		s_cell(out, render_value(e, "event_id", bufs[0]), false);
		s_cell(out, render_value(e, "by", bufs[0]), false);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void s_breaches_table(FILE *out, const json_t *inc)
{
	static const char *const head[] = {"breach", "rule",    "due",     "detected",
					   "at",     "stopped", "late by", NULL};
	static const char *const keys[] = {"breach", "sla",         "due",       "detected",
					   "detected_at", "stopped_at", "late_by_ms"};
	size_t i;
	const json_t *b;
	if (json_array_size(json_object_get(inc, "breaches")) == 0)
		return;
	fputs("<table>\n", out);
	s_header_row(out, head);
	json_array_foreach(json_object_get(inc, "breaches"), i, b) {
		char buf[RENDER_BUFSZ];
		fputs("<tr>", out);
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			s_cell(out, render_value(b, keys[k], buf), k == 6);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void s_major_section(s_report_t *r, const json_t *inc)
{
	static const char *const keys[] = {"id", "provider", "ref", "category", "status",
					   "opened_at", "problem"};
	fputs("<section class=\"major\">\n<h3>", r->out);
	html_escapef(r->out, "%s %s/%s: ", json_string_value(json_object_get(inc, "id")),
		     json_string_value(json_object_get(inc, "provider")),
		     json_string_value(json_object_get(inc, "ref")));
	html_escape(r->out, json_string_value(json_object_get(inc, "title")));
	fputs("</h3>\n<p class=\"meta\">", r->out);
	for (size_t k = 1; k < sizeof keys / sizeof keys[0]; k++) {
		char buf[RENDER_BUFSZ];
		html_escapef(r->out, "%s%s %s", k > 1 ? "; " : "", keys[k],
			     render_value(inc, keys[k], buf));
	}
	html_escapef(r->out, "; user first %s", json_is_true(json_object_get(inc, "user_first"))
							 ? "yes" : "no");
	fputs("</p>\n", r->out);
	svg_timeline_write(r->out, inc, r->cli->zone, S_WIDTH);
	s_reports_table(r->out, inc);
	s_breaches_table(r->out, inc);
	fputs("</section>\n", r->out);
}

static void s_majors(s_report_t *r)
{
	fputs("<section class=\"majors\">\n<h2>Major incidents open during ", r->out);
	html_escape(r->out, r->months[S_THIS].label);
	fputs("</h2>\n", r->out);
	if (json_array_size(r->majors) == 0)
		fputs("<p>None.</p>\n", r->out);
	size_t i;
	const json_t *inc;
	json_array_foreach(r->majors, i, inc)
		s_major_section(r, inc);
	fputs("</section>\n", r->out);
}

/* --- entry ----------------------------------------------------------------------------------- */

/* The whole page into r->out. */
static void s_page(s_report_t *r)
{
	s_page_head(r);
	const json_t *providers = json_object_get(r->months[S_THIS].reply, "providers");
	if (json_array_size(providers) == 0)
		fputs("<p>No provider had an incident open during the month.</p>\n", r->out);
	size_t i;
	const json_t *entry;
	json_array_foreach(providers, i, entry)
		s_provider_section(r, entry);
	s_majors(r);
	fputs("</body>\n</html>\n", r->out);
}

/* Writes len bytes of text to path, or to stdout when path is NULL. Returns the exit status. */
static int s_write(const char *path, const char *text, size_t len)
{
	FILE *f = path != NULL ? fopen(path, "w") : stdout;
	if (f == NULL) {
		fprintf(stderr, "incidentctl: %s: %s\n", path, strerror(errno));
		return CLI_EXIT_REFUSED;
	}
	bool ok = fwrite(text, 1, len, f) == len;
	ok = (path != NULL ? fclose(f) : fflush(f)) == 0 && ok;
	if (!ok) {
		fprintf(stderr, "incidentctl: %s: %s\n", path != NULL ? path : "stdout",
			strerror(errno));
		return CLI_EXIT_REFUSED;
	}
	return CLI_EXIT_OK;
}

int cmd_report_html(cli_t *cli, const char *month, const char *provider, const char *path)
{
	s_report_t r = {.cli = cli, .provider = provider, .majors = json_array()};
	char *text = NULL;
	size_t len = 0;
	s_months_init(&r, month);
	int status = s_fetch_months(&r);
	if (status == CLI_EXIT_OK)
		status = s_fetch_majors(&r);
	/* The page is made in memory and written once: a failed request leaves no half file. */
	if (status == CLI_EXIT_OK) {
		r.out = open_memstream(&text, &len);
		if (r.out == NULL) {
			fprintf(stderr, "incidentctl: %s\n", strerror(errno));
			status = CLI_EXIT_REFUSED;
		} else {
			s_page(&r);
			fclose(r.out);
			status = s_write(path, text, len);
		}
	}
	free(text);
	for (int i = 0; i < S_MONTHS; i++)
		json_decref(r.months[i].reply);
	json_decref(r.majors);
	return status;
}
