/*
 * svg_timeline: the timeline of an incident as SVG. See svg_timeline.h.
 *
 * Rows are sources, in a fixed order; x is time. A report is a line from its reported time (an
 * open circle) to its arrival (a filled square), so that the delay between what a source says
 * and what the operator knew is its length. Breaches get a row of their own and a dashed line
 * at their due time across every row.
 */
#include "client/svg_timeline.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "client/chart.h"
#include "client/html.h"
#include "client/tz.h"
#include "proto/rfc3339.h"

/* The sources, in the order of the timeline's rows. */
static const char *const s_sources[] = {"provider", "monitoring", "user", "operator"};
enum { S_NSOURCES = sizeof s_sources / sizeof s_sources[0] };

/* A time member of obj in ms; -1 when absent or unreadable. */
static int64_t s_time(const json_t *obj, const char *key)
{
	int64_t ms;
	const char *text = json_string_value(json_object_get(obj, key));
	return text != NULL && rfc3339_parse(text, &ms) == 0 ? ms : -1;
}

/* The span of a timeline: every reported, arrival, due and stop time. */
static void s_span(const json_t *inc, int64_t *lo, int64_t *hi)
{
	static const char *const tkeys[] = {"at", "received_at"};
	static const char *const bkeys[] = {"due", "stopped_at", "detected_at"};
	size_t i;
	const json_t *e;
	*lo = INT64_MAX;
	*hi = INT64_MIN;
	json_array_foreach(json_object_get(inc, "timeline"), i, e)
		for (size_t k = 0; k < 2; k++) {
			int64_t t = s_time(e, tkeys[k]);
			if (t >= 0 && t < *lo)
				*lo = t;
			if (t > *hi)
				*hi = t;
		}
	json_array_foreach(json_object_get(inc, "breaches"), i, e)
		for (size_t k = 0; k < 3; k++) {
			int64_t t = s_time(e, bkeys[k]);
			if (t >= 0 && t < *lo)
				*lo = t;
			if (t > *hi)
				*hi = t;
		}
	if (*lo > *hi)
		*lo = *hi = 0;
	/* Room at both ends for the markers and their labels. */
	int64_t pad = (*hi - *lo) / 12 + 300000;
	*lo -= pad;
	*hi += pad;
}

/* The rows of a timeline: the sources that reported, in s_sources order; returns how many. */
static int s_rows(const json_t *inc, int row_of[S_NSOURCES])
{
	int n = 0;
	for (int s = 0; s < S_NSOURCES; s++) {
		size_t i;
		const json_t *e;
		row_of[s] = -1;
		json_array_foreach(json_object_get(inc, "timeline"), i, e) {
			const char *src = json_string_value(json_object_get(e, "source"));
			if (src != NULL && strcmp(src, s_sources[s]) == 0) {
				row_of[s] = n++;
				break;
			}
		}
	}
	return n;
}

typedef struct {
	int64_t lo, hi;
	double left, right, top;
	double row_h;
	int nrows; /* source rows, then the breaches row */
} s_tl_t;

static double s_tx(const s_tl_t *g, int64_t t)
{
	return chart_scale((double)t, (double)g->lo, (double)g->hi, g->left, g->right);
}

/* "12-05 11:00" of a time in the zone, into out. */
static const char *s_tick_text(int64_t ms, char out[TZ_BUFSZ])
{
	char full[TZ_BUFSZ];
	tz_format(ms, full);
	snprintf(out, TZ_BUFSZ, "%.5s %.5s", full + 5, full + 11);
	return out;
}

static void s_time_axis(FILE *out, const s_tl_t *g, const char *zone)
{
	double bottom = g->top + g->row_h * g->nrows;
	int64_t step = chart_time_step(g->hi - g->lo, 7);
	int64_t t = chart_time_first_tick(g->lo, step, tz_offset(g->lo, NULL));
	char text[TZ_BUFSZ], off[TZ_OFFSET_BUFSZ];
	fprintf(out,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n",
		g->left, bottom, g->right, bottom);
	for (; t <= g->hi; t += step) {
		double x = s_tx(g, t);
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
			x, g->top, x, bottom + 4, x, bottom + 17, s_tick_text(t, text));
	}
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">time (",
		g->right, bottom + 34);
	html_escape(out, zone);
	tz_offset(g->lo, off);
	fprintf(out, ", UTC%s)</text>\n", off);
}

/* One report: a line from its reported time (open circle) to its arrival (filled square). */
static void s_report_marker(FILE *out, const s_tl_t *g, const json_t *e, int row, int nth)
{
	int64_t at = s_time(e, "at"), rec = s_time(e, "received_at");
	if (at < 0)
		return; /* not a time: the table below still lists the report */
	if (rec < 0)
		rec = at;
	double y = g->top + g->row_h * (row + 0.62);
	double xa = s_tx(g, at), xr = s_tx(g, rec);
	char ta[TZ_BUFSZ], tr[TZ_BUFSZ];
	fputs("<g><title>", out);
	html_escapef(out, "%s from %s: reported %s, received %s",
		     json_string_value(json_object_get(e, "stage")),
		     json_string_value(json_object_get(e, "source")), tz_format(at, ta),
		     tz_format(rec, tr));
	fprintf(out,
		"</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
		"stroke-width=\"2\"/>"
		"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#fff\" stroke=\"#000\" "
		"stroke-width=\"2\"/>"
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\" fill=\"#000\"/>",
		xa, y, xr, y, xa, y, xr - 4.5, y - 4.5);
	/* Labels alternate between two heights so that neighbours do not overwrite each other. */
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">", xa,
		y - 9 - (nth % 2) * 13);
	html_escape(out, json_string_value(json_object_get(e, "stage")));
	fputs("</text></g>\n", out);
}

/* A breach: a dashed line at its due time across every row, its marker and label. */
static void s_breach_marker(FILE *out, const s_tl_t *g, const json_t *b, int nth)
{
	int64_t due = s_time(b, "due"), stop = s_time(b, "stopped_at");
	if (due < 0)
		return;
	double x = s_tx(g, due), y = g->top + g->row_h * (g->nrows - 1 + 0.62);
	fprintf(out,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#b00\" "
		"stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>",
		x, g->top, x, y);
	if (stop >= 0)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#b00\" "
			"stroke-width=\"4\"/>",
			x, y, s_tx(g, stop), y);
	fprintf(out,
		"<path d=\"M%.1f %.1f l-7 12 h14 z\" fill=\"#b00\" stroke=\"#000\"/>"
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">",
		x, y - 6, x, y + 20 + (nth % 2) * 13);
	html_escapef(out, "%s (%s)", json_string_value(json_object_get(b, "sla")),
		     json_string_value(json_object_get(b, "detected")));
	fputs("</text>\n", out);
}

static void s_row_labels(FILE *out, const s_tl_t *g, const int row_of[S_NSOURCES], bool breaches)
{
	for (int s = 0; s < S_NSOURCES; s++)
		if (row_of[s] >= 0)
			fprintf(out,
				"<text x=\"8\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\">%s"
				"</text><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				"stroke=\"#eee\"/>\n",
				g->top + g->row_h * (row_of[s] + 0.62) + 4, s_sources[s], g->left,
				g->top + g->row_h * (row_of[s] + 0.62), g->right,
				g->top + g->row_h * (row_of[s] + 0.62));
	if (breaches)
		fprintf(out,
			"<text x=\"8\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\" "
			"fill=\"#b00\">breaches</text>\n",
			g->top + g->row_h * (g->nrows - 1 + 0.62) + 4);
}

static void s_timeline_legend(FILE *out, double y)
{
	fprintf(out,
		"<g font-size=\"12\"><circle cx=\"116\" cy=\"%.1f\" r=\"5\" fill=\"#fff\" "
		"stroke=\"#000\" stroke-width=\"2\"/><text x=\"126\" y=\"%.1f\">reported time"
		"</text><line x1=\"236\" y1=\"%.1f\" x2=\"266\" y2=\"%.1f\" stroke=\"#000\" "
		"stroke-width=\"2\"/><rect x=\"262\" y=\"%.1f\" width=\"9\" height=\"9\"/>"
		"<text x=\"278\" y=\"%.1f\">received by the operator (the line is the delay)</text>"
		"<path d=\"M116 %.1f l-7 12 h14 z\" fill=\"#b00\" stroke=\"#000\"/>"
		"<text x=\"128\" y=\"%.1f\">breach: due time (dashed line), a thick line to its "
		"stop; labelled rule (how it was detected)</text></g>\n",
		y - 4, y, y - 4, y - 4, y - 8.5, y, y + 7, y + 18);
}

void svg_timeline_write(FILE *out, const json_t *inc, const char *zone, int width)
{
	int row_of[S_NSOURCES];
	int nsrc = s_rows(inc, row_of);
	bool breaches = json_array_size(json_object_get(inc, "breaches")) > 0;
	s_tl_t g = {0, 0, 110, width - 20, 48, 62, nsrc + (breaches ? 1 : 0)};
	s_span(inc, &g.lo, &g.hi);
	int height = (int)(g.top + g.row_h * g.nrows + 45);
	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"timeline of the incident&#39;s reports by source, and its breaches\">\n",
		width, height);
	s_timeline_legend(out, 16);
	s_row_labels(out, &g, row_of, breaches);
	s_time_axis(out, &g, zone);
	size_t i;
	const json_t *e;
	int nth[S_NSOURCES] = {0};
	json_array_foreach(json_object_get(inc, "timeline"), i, e) {
		const char *src = json_string_value(json_object_get(e, "source"));
		for (int s = 0; src != NULL && s < S_NSOURCES; s++)
			if (strcmp(src, s_sources[s]) == 0)
				s_report_marker(out, &g, e, row_of[s], nth[s]++);
	}
	json_array_foreach(json_object_get(inc, "breaches"), i, e)
		s_breach_marker(out, &g, e, (int)i);
	fputs("</svg>\n", out);
}
