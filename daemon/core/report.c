/*
 * report: the monthly report. See report.h.
 *
 * The caller may feed a million incidents, so each report_add() does work bounded by the
 * number of stages and rules: providers live in an open-addressing hash table (linear
 * probing, never deleted from) over a growable array of per-provider tallies, and the ids
 * open at the month's end are appended in arrival order and sorted only in report_to_json().
 *
 * Which providers are listed: the header's rule (an incident open at some moment of the month)
 * plus any provider that counted a rule figure in the month. Figures can fall in a month in
 * which the incident was no longer open (an incident resolved on 30 November and linked to a
 * problem on 1 December meets its problem rule in December; a rule whose start stage was
 * recorded but whose stop stage never came is breached when its due time passes, possibly
 * after the resolution). Dropping those figures, or counting them under a provider that is
 * not shown, would make the figures disagree with the incidents' own verdicts.
 *
 * Measures need each provider's figures for the REPORT_MONTHS months ending with the report's
 * month, not only its own: they are counted in the same pass. A rule counts the verdicts of
 * the categories some measure of it covers over that whole window (month by month,
 * report->month_starts), and its other categories, like the rules no measure uses, in the
 * month alone, as before: verdicts nobody asked for cost nothing (a working-time deadline goes
 * through the time-zone database, and the window is most of a long history). A
 * provider whose only figures are in the earlier months is tallied but not listed: which
 * providers are listed does not depend on the measures.
 */
#include "daemon/core/report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/core/rule.h"
#include "proto/ids.h"
#include "proto/rfc3339.h"

/* met and breached of one rule: [0] the whole rule, [1..5] per category. */
typedef struct {
	int64_t met[CONFIG_MAX_CATEGORY + 1];
	int64_t breached[CONFIG_MAX_CATEGORY + 1];
} report_figures_t;

/* met and breached of one measure in one month of the window. */
typedef struct {
	int64_t met;
	int64_t breached;
} report_month_t;

typedef struct {
	char *name;
	bool listed;           /* open in the month, or counted a rule figure in it */
	int64_t opened;
	int64_t user_first; /* of those opened: a user's report came before the notification */
	int64_t resolved;
	int64_t open_at_start;
	int64_t open_at_end;
	uint64_t *open_ids; /* unsorted */
	size_t n_open;
	size_t cap_open;
	report_figures_t *figures; /* one per rule, indexed like cfg->rules */
	report_month_t *history;   /* per measure, REPORT_MONTHS months oldest first */
} report_provider_t;

/* The months a measure looks back over: the report's month and the 23 before it. */
#define REPORT_MONTHS 24
/* The report's own month, in the window. */
#define REPORT_THIS_MONTH (REPORT_MONTHS - 1)

struct report {
	const config_t *cfg;
	int64_t start;
	int64_t end;
	int64_t now;
	char *only;            /* the provider filter, or NULL */
	size_t n_rules;
	report_provider_t *providers;
	size_t n_providers;
	size_t cap_providers;
	size_t *slots;         /* indexes into providers, SIZE_MAX when empty */
	size_t n_slots;        /* a power of two, more than twice n_providers */
	unsigned char *outcome; /* per rule, for the incident being added: REPORT_* below */
	unsigned char *outcome_month; /* per rule: the month of the window it counted in */
	size_t n_measures;
	int64_t *count_from;   /* per rule and category (COUNT_FROM()): where it starts counting */
	int64_t month_starts[REPORT_MONTHS + 1]; /* the window's months; [REPORT_MONTHS] is end */
};

enum { REPORT_UNCOUNTED = 0, REPORT_MET, REPORT_BREACHED };

/* What one incident contributes, before its provider is looked up. */
typedef struct {
	bool opened, resolved, open_at_start, open_at_end;
	bool counts;           /* open at some moment of the month: the provider is listed */
} report_share_t;

#define REPORT_FIRST_SLOTS 64

/* --- month ------------------------------------------------------------------------------- */

static bool s_digits(const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (text[i] < '0' || text[i] > '9')
			return false;
	return true;
}

int report_month_parse(const char *text, int64_t *start_out, int64_t *end_out)
{
	if (!text || strlen(text) != 7 || text[4] != '-' || !s_digits(text, 4)
	    || !s_digits(text + 5, 2))
		return -EINVAL;
	int64_t year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10
		       + (text[3] - '0');
	unsigned month = (unsigned)((text[5] - '0') * 10 + (text[6] - '0'));
	if (year < 1970 || month < 1 || month > 12)
		return -EINVAL;
	int64_t next_year = month == 12 ? year + 1 : year;
	unsigned next_month = month == 12 ? 1 : month + 1;
	*start_out = rfc3339_days_from_civil(year, month, 1) * INT64_C(86400000);
	*end_out = rfc3339_days_from_civil(next_year, next_month, 1) * INT64_C(86400000);
	return 0;
}

/* --- the provider table ------------------------------------------------------------------ */

/* FNV-1a: provider names are short strings chosen by the providers. */
static size_t s_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 32));
}

/* The slot holding name, or the empty slot where it would go. */
static size_t s_find_slot(const report_t *r, const char *name)
{
	size_t mask = r->n_slots - 1;
	size_t i = s_hash(name) & mask;
	while (r->slots[i] != SIZE_MAX && strcmp(r->providers[r->slots[i]].name, name) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Doubles the slot table and re-inserts every provider. 0 or -ENOMEM. */
static int s_grow_slots(report_t *r)
{
	size_t n = r->n_slots * 2;
	size_t *slots = malloc(n * sizeof *slots);
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		slots[i] = SIZE_MAX;
	free(r->slots);
	r->slots = slots;
	r->n_slots = n;
	for (size_t p = 0; p < r->n_providers; p++)
		r->slots[s_find_slot(r, r->providers[p].name)] = p;
	return 0;
}

/* The tallies of provider name, created empty when new; NULL on allocation failure. */
static report_provider_t *s_provider(report_t *r, const char *name)
{
	size_t slot = s_find_slot(r, name);
	if (r->slots[slot] != SIZE_MAX)
		return &r->providers[r->slots[slot]];
	if (2 * (r->n_providers + 1) >= r->n_slots) {
		if (s_grow_slots(r) != 0)
			return NULL;
		slot = s_find_slot(r, name);
	}
	if (r->n_providers == r->cap_providers) {
		size_t cap = r->cap_providers ? 2 * r->cap_providers : 16;
		report_provider_t *grown = realloc(r->providers, cap * sizeof *grown);
		if (!grown)
			return NULL;
		r->providers = grown;
		r->cap_providers = cap;
	}
	report_provider_t *p = &r->providers[r->n_providers];
	*p = (report_provider_t){ .name = strdup(name) };
	p->figures = calloc(r->n_rules ? r->n_rules : 1, sizeof *p->figures);
	p->history = calloc(r->n_measures ? r->n_measures * REPORT_MONTHS : 1, sizeof *p->history);
	if (!p->name || !p->figures || !p->history) {
		free(p->name);
		free(p->figures);
		free(p->history);
		return NULL;
	}
	r->slots[slot] = r->n_providers++;
	return p;
}

static int s_push_open_id(report_provider_t *p, uint64_t id)
{
	if (p->n_open == p->cap_open) {
		size_t cap = p->cap_open ? 2 * p->cap_open : 16;
		uint64_t *grown = realloc(p->open_ids, cap * sizeof *grown);
		if (!grown)
			return -ENOMEM;
		p->open_ids = grown;
		p->cap_open = cap;
	}
	p->open_ids[p->n_open++] = id;
	return 0;
}

/* --- counting ---------------------------------------------------------------------------- */

/*
 * The first instants of the REPORT_MONTHS months ending with the one that starts at start, and
 * end after them.
 */
static void s_window_init(report_t *r)
{
	int64_t year;
	unsigned month, day;
	rfc3339_civil_from_days(r->start / INT64_C(86400000), &year, &month, &day);
	int64_t first = year * 12 + (month - 1) - REPORT_THIS_MONTH; /* months since year 0 */
	for (int64_t k = 0; k < REPORT_MONTHS; k++) {
		int64_t m = first + k;
		r->month_starts[k] = rfc3339_days_from_civil(m / 12, (unsigned)(m % 12) + 1, 1)
				     * INT64_C(86400000);
	}
	r->month_starts[REPORT_MONTHS] = r->end;
}

/* Where rule i starts counting incidents of category c (1..5) in report r. */
#define COUNT_FROM(r, i, c) ((r)->count_from[(i) * (CONFIG_MAX_CATEGORY + 1) + (size_t)(c)])

/* Every rule counts from the month's start; in a measure's categories from the window's. */
static void s_count_from_init(report_t *r)
{
	for (size_t i = 0; i < r->n_rules; i++)
		for (int c = 0; c <= CONFIG_MAX_CATEGORY; c++)
			COUNT_FROM(r, i, c) = r->start;
	for (size_t m = 0; m < r->n_measures; m++) {
		const config_measure_t *measure = &r->cfg->measures[m];
		for (int c = 1; c <= CONFIG_MAX_CATEGORY; c++)
			if ((measure->categories & (1u << c)) != 0)
				COUNT_FROM(r, (size_t)measure->rule, c) = r->month_starts[0];
	}
}

report_t *report_new(const config_t *cfg, int64_t start, int64_t end, int64_t now,
		     const char *provider)
{
	report_t *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->cfg = cfg;
	r->start = start;
	r->end = end;
	r->now = now;
	r->n_rules = cfg->n_rules;
	r->n_slots = REPORT_FIRST_SLOTS;
	r->slots = malloc(r->n_slots * sizeof *r->slots);
	r->outcome = calloc(r->n_rules ? r->n_rules : 1, sizeof *r->outcome);
	r->outcome_month = calloc(r->n_rules ? r->n_rules : 1, sizeof *r->outcome_month);
	r->count_from = calloc((r->n_rules ? r->n_rules : 1) * (CONFIG_MAX_CATEGORY + 1),
			       sizeof *r->count_from);
	r->n_measures = cfg->n_measures;
	r->only = provider ? strdup(provider) : NULL;
	if (!r->slots || !r->outcome || !r->outcome_month || !r->count_from ||
	    (provider && !r->only)) {
		report_destroy(&r);
		return NULL;
	}
	s_window_init(r);
	s_count_from_init(r);
	for (size_t i = 0; i < r->n_slots; i++)
		r->slots[i] = SIZE_MAX;
	return r;
}

bool report_wants(const report_t *report, int64_t opened_at)
{
	return opened_at < report->end;
}

static bool s_in_month(const report_t *r, int64_t t)
{
	return t != INT64_MIN && t >= r->start && t < r->end;
}

/* The month of the window holding t, which is in [month_starts[0], end). */
static unsigned char s_window_month(const report_t *r, int64_t t)
{
	unsigned lo = 0, hi = REPORT_MONTHS - 1;
	while (lo < hi) {
		unsigned mid = (lo + hi + 1) / 2;
		if (t >= r->month_starts[mid])
			lo = mid;
		else
			hi = mid - 1;
	}
	return (unsigned char)lo;
}

/*
 * How rule i counts inc: REPORT_MET, REPORT_BREACHED or REPORT_UNCOUNTED, and in which month of
 * the window (*month). Outside the categories its measures cover, a rule counts in the
 * report's month alone.
 */
static unsigned char s_rule_outcome(const report_t *r, size_t i, const incident_t *inc,
				    unsigned char *month)
{
	const config_rule_t *rule = &r->cfg->rules[i];
	if (!rule_applies(rule, inc))
		return REPORT_UNCOUNTED;
	int64_t from = COUNT_FROM(r, i, inc->category); /* rule_applies(): category 1..5 */
	/*
	 * A stop before the window settles the verdict before it too: met at the stop, or
	 * breached at a due earlier still. Skipping those spares the deadline computation (working
	 * time goes through the time-zone database) for the bulk of a long history. A user-first
	 * breach is due at a user report that came before the stop's arrival, which a reported
	 * stop clock may put after the stop itself: then the arrival decides.
	 */
	int64_t stop = rule_stop(rule, inc);
	if (stop != INT64_MIN && stop < from &&
	    (!rule->before_user || rule_stop_arrival(rule, inc) < from))
		return REPORT_UNCOUNTED;
	rule_verdict_t v = rule_verdict(r->cfg, rule, inc, r->now);
	int64_t at = v.kind == VERDICT_MET ? v.stopped_at
		     : v.kind == VERDICT_BREACHED ? v.due : INT64_MIN;
	if (at == INT64_MIN || at < from || at >= r->end)
		return REPORT_UNCOUNTED; /* pending, not started, or counted in another month */
	*month = s_window_month(r, at);
	return v.kind == VERDICT_MET ? REPORT_MET : REPORT_BREACHED;
}

/* What s_rule_outcomes() found for an incident. */
enum { REPORT_IN_MONTH = 1, REPORT_IN_WINDOW = 2 };

/*
 * Fills report->outcome and outcome_month for inc; says whether any rule counts it in the
 * report's month (REPORT_IN_MONTH) or in an earlier month of the window (REPORT_IN_WINDOW).
 */
static unsigned s_rule_outcomes(report_t *r, const incident_t *inc)
{
	unsigned found = 0;
	for (size_t i = 0; i < r->n_rules; i++) {
		r->outcome[i] = s_rule_outcome(r, i, inc, &r->outcome_month[i]);
		if (r->outcome[i] != REPORT_UNCOUNTED)
			found |= r->outcome_month[i] == REPORT_THIS_MONTH ? REPORT_IN_MONTH
									  : REPORT_IN_WINDOW;
	}
	return found;
}

/* Adds the outcomes s_rule_outcomes() left to p's figures. */
static void s_add_figures(const report_t *r, const incident_t *inc, report_provider_t *p)
{
	int cat = inc->category >= 1 && inc->category <= CONFIG_MAX_CATEGORY ? inc->category : 0;
	for (size_t i = 0; i < r->n_rules; i++) {
		if (r->outcome[i] == REPORT_UNCOUNTED || r->outcome_month[i] != REPORT_THIS_MONTH)
			continue;
		int64_t *tally = r->outcome[i] == REPORT_MET ? p->figures[i].met
							     : p->figures[i].breached;
		tally[0]++;
		if (cat)
			tally[cat]++; /* a problem rule may apply to any category */
	}
}

/* Adds the outcomes s_rule_outcomes() left to the months of p's measures that count them. */
static void s_add_history(const report_t *r, const incident_t *inc, report_provider_t *p)
{
	unsigned cat_bit = inc->category >= 1 && inc->category <= CONFIG_MAX_CATEGORY
				   ? 1u << inc->category : 0;
	for (size_t m = 0; m < r->n_measures; m++) {
		const config_measure_t *measure = &r->cfg->measures[m];
		size_t i = (size_t)measure->rule;
		if (r->outcome[i] == REPORT_UNCOUNTED || (measure->categories & cat_bit) == 0)
			continue;
		report_month_t *month = &p->history[m * REPORT_MONTHS + r->outcome_month[i]];
		if (r->outcome[i] == REPORT_MET)
			month->met++;
		else
			month->breached++;
	}
}

/* The incident counts of inc in the month (not its rule figures). */
static report_share_t s_share(const report_t *r, int64_t opened, int64_t resolved)
{
	bool resolved_before_start = resolved != INT64_MIN && resolved < r->start;
	bool resolved_before_end = resolved != INT64_MIN && resolved < r->end;
	report_share_t s = {
		.opened = s_in_month(r, opened),
		.resolved = s_in_month(r, resolved),
		.open_at_start = opened < r->start && !resolved_before_start,
		.open_at_end = opened < r->end && !resolved_before_end,
	};
	s.counts = opened < r->end && !resolved_before_start;
	return s;
}

int report_add(report_t *report, const incident_t *inc)
{
	const config_t *cfg = report->cfg;
	if (!inc->provider || (report->only && strcmp(report->only, inc->provider) != 0))
		return 0;
	int64_t opened = incident_opened_at(inc, cfg);
	if (opened == INT64_MIN || !report_wants(report, opened))
		return 0;
	report_share_t s = s_share(report, opened, incident_resolved_at(inc, cfg));
	unsigned found = s_rule_outcomes(report, inc);
	if (!found && !s.counts)
		return 0;
	report_provider_t *p = s_provider(report, inc->provider);
	if (!p)
		return -ENOMEM;
	p->listed = p->listed || s.counts || (found & REPORT_IN_MONTH);
	if (s.open_at_end && s_push_open_id(p, inc->id) != 0)
		return -ENOMEM;
	p->opened += s.opened;
	p->user_first += s.opened && incident_user_first(inc, cfg);
	p->resolved += s.resolved;
	p->open_at_start += s.open_at_start;
	p->open_at_end += s.open_at_end;
	s_add_figures(report, inc, p);
	s_add_history(report, inc, p);
	return 0;
}

/* --- output ------------------------------------------------------------------------------ */

/*
 * percent_met in hundredths of a percent, rounded half up, in integers: no libm, no drift.
 * total must not be 0.
 */
static int64_t s_hundredths(int64_t met, int64_t total)
{
	return (met * 20000 + total) / (2 * total);
}

/* met, breached and percent_met (rounded to hundredths; null when nothing counted). */
static json_t *s_figures_json(int64_t met, int64_t breached)
{
	json_t *percent = json_null();
	int64_t total = met + breached;
	if (total > 0)
		percent = json_real((double)s_hundredths(met, total) / 100.0);
	return json_pack("{s:I, s:I, s:o}", "met", (json_int_t)met, "breached",
			 (json_int_t)breached, "percent_met", percent);
}

/*
 * One rule's figures: the whole rule, and under "categories" every category the rule covers
 * (zeros and a null percentage when nothing counted), so that a month's table always has the
 * same rows.
 */
static json_t *s_rule_json(const report_t *r, size_t i, const report_figures_t *f)
{
	json_t *cats = json_object();
	for (int c = 1; cats && c <= CONFIG_MAX_CATEGORY; c++) {
		if (!r->cfg->rules[i].has_target[c] && f->met[c] + f->breached[c] == 0)
			continue;
		char key[2] = { (char)('0' + c), '\0' };
		if (json_object_set_new(cats, key, s_figures_json(f->met[c], f->breached[c])) != 0)
			json_decref(cats), cats = NULL;
	}
	json_t *obj = s_figures_json(f->met[0], f->breached[0]);
	if (!cats || !obj || json_object_set_new(obj, "categories", cats) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int s_cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The ids open at the month's end, ascending. */
static json_t *s_open_json(const report_provider_t *p)
{
	uint64_t *ids = malloc((p->n_open ? p->n_open : 1) * sizeof *ids);
	json_t *arr = json_array();
	if (!ids || !arr)
		goto fail;
	if (p->n_open)
		memcpy(ids, p->open_ids, p->n_open * sizeof *ids);
	qsort(ids, p->n_open, sizeof *ids, s_cmp_id);
	for (size_t i = 0; i < p->n_open; i++) {
		char buf[ID_BUFSZ];
		json_t *id = json_string(id_format(ID_INCIDENT, ids[i], buf));
		if (json_array_append_new(arr, id) != 0)
			goto fail;
	}
	free(ids);
	return arr;
fail:
	free(ids);
	json_decref(arr);
	return NULL;
}

/* The rules' figures for p, grouped by kind: {"sla": {RULE: ...}, "problem_rules": {...}}. */
static int s_rules_json(const report_t *r, const report_provider_t *p, json_t *obj)
{
	json_t *groups[RULE_N_KINDS];
	int rc = 0;
	for (int k = 0; k < RULE_N_KINDS; k++)
		if (!(groups[k] = json_object()) ||
		    json_object_set_new(obj, config_rule_kinds[k].report_key, groups[k]) != 0)
			return -ENOMEM;
	for (size_t i = 0; i < r->n_rules && rc == 0; i++) {
		const config_rule_t *rule = &r->cfg->rules[i];
		if (json_object_set_new(groups[rule->kind], rule->name,
					s_rule_json(r, i, &p->figures[i])) != 0)
			rc = -ENOMEM;
	}
	return rc;
}

/*
 * True when a month's percent_met, as the report shows it (rounded to hundredths), is below
 * level (hundredths of a percent): a reader can check a level against the figures beside it.
 * The month must have counted something.
 */
static bool s_below(const report_month_t *month, int level)
{
	return s_hundredths(month->met, month->met + month->breached) < level;
}

/* "target", "below_target", "below_minimum" for a month that counted something. */
static const char *s_level_name(const config_measure_t *measure, const report_month_t *month)
{
	if (!s_below(month, measure->target))
		return "target";
	return measure->has_minimum && s_below(month, measure->minimum) ? "below_minimum"
									: "below_target";
}

/*
 * months_below_target and below_target_in_24 of a measure's window (oldest month first): the
 * run of months below target ending with the latest month that counted something (months that
 * counted nothing are skipped, the report's own month included), and how many of the window's
 * months were below target. Both look back over the window alone, so the run is at most
 * REPORT_MONTHS.
 */
static void s_below_counts(const config_measure_t *measure, const report_month_t *window,
			   int64_t *run, int64_t *in_window)
{
	bool run_open = true;
	*run = *in_window = 0;
	for (int k = REPORT_THIS_MONTH; k >= 0; k--) {
		if (window[k].met + window[k].breached == 0)
			continue;
		bool below = s_below(&window[k], measure->target);
		*in_window += below;
		run_open = run_open && below;
		*run += run_open;
	}
}

/* A level in hundredths of a percent as a JSON number: 9950 -> 99.5. */
static json_t *s_level_json(int level)
{
	return json_real((double)level / 100.0);
}

/* The categories of a measure, ascending: [1, 2]. */
static json_t *s_categories_json(unsigned categories)
{
	json_t *arr = json_array();
	for (int c = 1; arr && c <= CONFIG_MAX_CATEGORY; c++)
		if ((categories & (1u << c)) != 0 &&
		    json_array_append_new(arr, json_integer(c)) != 0)
			json_decref(arr), arr = NULL;
	return arr;
}

/*
 * One measure of p: the report month's figures and level, the months below target, and what
 * the measure is (rule, categories, target, minimum) so that a reader needs no config.
 */
static json_t *s_measure_json(const report_t *r, size_t m, const report_provider_t *p)
{
	const config_measure_t *measure = &r->cfg->measures[m];
	const report_month_t *window = &p->history[m * REPORT_MONTHS];
	const report_month_t *month = &window[REPORT_THIS_MONTH];
	int64_t run, in_window;
	s_below_counts(measure, window, &run, &in_window);
	bool counted = month->met + month->breached > 0;
	json_t *minimum = measure->has_minimum ? s_level_json(measure->minimum) : json_null();
	json_t *obj = json_pack("{s:s, s:o, s:o, s:o}", "rule", r->cfg->rules[measure->rule].name,
				"categories", s_categories_json(measure->categories), "target",
				s_level_json(measure->target), "minimum", minimum);
	json_t *figures = s_figures_json(month->met, month->breached);
	json_t *below = json_pack("{s:o, s:I, s:I}", "level",
				  counted ? json_string(s_level_name(measure, month)) : json_null(),
				  "months_below_target", (json_int_t)run, "below_target_in_24",
				  (json_int_t)in_window);
	if (!obj || !figures || !below || json_object_update(obj, figures) != 0 ||
	    json_object_update(obj, below) != 0)
		json_decref(obj), obj = NULL;
	json_decref(figures);
	json_decref(below);
	return obj;
}

/* p's measures: {"PM_notify": {...}, ...}, every configured measure. */
static json_t *s_measures_json(const report_t *r, const report_provider_t *p)
{
	json_t *obj = json_object();
	for (size_t m = 0; obj && m < r->n_measures; m++)
		if (json_object_set_new(obj, r->cfg->measures[m].name,
					s_measure_json(r, m, p)) != 0)
			json_decref(obj), obj = NULL;
	return obj;
}

static json_t *s_provider_json(const report_t *r, const report_provider_t *p)
{
	json_t *obj = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "provider", p->name, "opened",
				(json_int_t)p->opened, "user_first", (json_int_t)p->user_first,
				"resolved", (json_int_t)p->resolved,
				"open_at_start", (json_int_t)p->open_at_start, "open_at_end",
				(json_int_t)p->open_at_end, "open", s_open_json(p));
	if (obj && (s_rules_json(r, p, obj) != 0 ||
		    json_object_set_new(obj, "measures", s_measures_json(r, p)) != 0))
		json_decref(obj), obj = NULL;
	return obj;
}

static int s_cmp_provider(const void *a, const void *b)
{
	const report_provider_t *x = *(const report_provider_t *const *)a;
	const report_provider_t *y = *(const report_provider_t *const *)b;
	return strcmp(x->name, y->name);
}

json_t *report_to_json(const report_t *report, const char *month_text)
{
	size_t n = report->n_providers;
	const report_provider_t **order = malloc((n ? n : 1) * sizeof *order);
	json_t *list = json_array();
	json_t *obj = json_pack("{s:s}", "month", month_text);
	if (!order || !list || !obj)
		goto fail;
	n = 0; /* the listed ones: see the top of this file */
	for (size_t i = 0; i < report->n_providers; i++)
		if (report->providers[i].listed)
			order[n++] = &report->providers[i];
	qsort(order, n, sizeof *order, s_cmp_provider);
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(list, s_provider_json(report, order[i])) != 0)
			goto fail;
	free(order);
	if (json_object_set_new(obj, "providers", list) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
fail:
	free(order);
	json_decref(list);
	json_decref(obj);
	return NULL;
}

void report_destroy(report_t **report_p)
{
	if (!report_p || !*report_p)
		return;
	report_t *r = *report_p;
	for (size_t i = 0; i < r->n_providers; i++) {
		free(r->providers[i].name);
		free(r->providers[i].open_ids);
		free(r->providers[i].figures);
		free(r->providers[i].history);
	}
	free(r->providers);
	free(r->slots);
	free(r->outcome);
	free(r->outcome_month);
	free(r->count_from);
	free(r->only);
	free(r);
	*report_p = NULL;
}
