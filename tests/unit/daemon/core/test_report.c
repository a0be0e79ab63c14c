/*
 * Tests of daemon/report.c: month parsing, the monthly counts (opened, resolved, open at the
 * month's start and end, the ids still open), a past month reported as it stood then, rule
 * figures (met in the stop's month, breached in the due's month, pending and not-started not
 * counted, per category), problem rules, which providers are listed, and the provider filter.
 *
 * Incidents are built with incident_new() and incident_apply_event() at explicit times; the
 * expected replies are JSON texts compared with json_equal().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/core/report.h"
#include "daemon/core/calendar.h"
#include "proto/rfc3339.h"

#define MINUTE_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)

enum {
	DETECTED, NOTIFIED, ACKNOWLEDGED, MAJOR_DECLARED, PARTIES_NOTIFIED, WORKAROUND, RESOLVED,
	CLOSED, N_STAGES
};

static char *s_stage_names[] = { "detected", "notified", "acknowledged", "major_declared",
				 "parties_notified", "workaround", "resolved", "closed" };

static config_rule_t s_rules[2];
static config_t s_cfg;

/* A zero rule figure, as every configured rule shows when nothing counted. */
/* A category that counted nothing, and the categories each rule covers with nothing counted. */
#define Z "{\"met\": 0, \"breached\": 0, \"percent_met\": null}"
#define ZERO_FIGURES "\"met\": 0, \"breached\": 0, \"percent_met\": null"
#define NO_SLA                                                                            \
	"{\"provider_notification\": {" ZERO_FIGURES ", \"categories\": {"                  \
	"\"1\": " Z ", \"2\": " Z ", \"3\": " Z "}}}"
/* Measures, with none configured: an empty object for every provider. */
#define NO_MEASURES "\"measures\": {}"
#define NO_PROBLEM                                                                        \
	"{\"major_problem\": {" ZERO_FIGURES ", \"categories\": {"                          \
	"\"1\": " Z ", \"2\": " Z ", \"3\": " Z ", \"4\": " Z ", \"5\": " Z "}}}"

/*
 * The default stage order; provider_notification (detected -> notified, received clock:
 * categories 1 and 2 within 30 minutes, 3 within 2 hours, no target for 4 and 5); one problem
 * rule, major_problem (major incidents, from resolved, within 2 days on the clock).
 */
static void s_config_init(void)
{
	for (int i = 0; i < N_STAGES; i++)
		s_cfg.stages[i] = s_stage_names[i];
	s_cfg.n_stages = N_STAGES;
	s_cfg.resolved_stage = RESOLVED;
	s_cfg.notified_stage = NOTIFIED;
	s_cfg.closed_stage = CLOSED;
	s_cfg.major_stage = MAJOR_DECLARED;
	s_cfg.calendar = (config_calendar_t){
		.days = 0x3eu, /* Monday .. Friday */
		.start_minute = 8 * 60,
		.end_minute = 18 * 60,
		.timezone = "Europe/London",
	};
	config_rule_t *rule = &s_rules[0];
	*rule = (config_rule_t){
		.name = "provider_notification", .kind = RULE_SLA, .start_sources = WIRE_ALL_SOURCES,
		.stop_sources = WIRE_ALL_SOURCES, .start = DETECTED, .stop = NOTIFIED
	};
	rule->has_target[1] = rule->has_target[2] = rule->has_target[3] = true;
	rule->target[1] = rule->target[2] = (config_duration_t){ DURATION_CLOCK, 30 * MINUTE_MS };
	rule->target[3] = (config_duration_t){ DURATION_CLOCK, 2 * HOUR_MS };
	/* A problem rule as the parser leaves it: applies = major, within 2 days on the clock. */
	rule = &s_rules[1];
	*rule = (config_rule_t){
		.name = "major_problem", .kind = RULE_PROBLEM, .start_sources = WIRE_ALL_SOURCES,
		.start = RESOLVED, .stop = -1,
		.major_only = true, .applies = APPLIES_MAJOR,
		.within = { DURATION_CLOCK, 2 * DAY_MS },
	};
	for (int c = 1; c <= CONFIG_MAX_CATEGORY; c++) {
		rule->has_target[c] = true;
		rule->target[c] = rule->within;
	}
	s_cfg.rules = s_rules;
	s_cfg.n_rules = 2;
}

/* An RFC 3339 literal as ms. */
static int64_t T(const char *text)
{
	int64_t ms = 0;
	if (rfc3339_parse(text, &ms) != 0)
		fail_msg("bad time literal %s", text);
	return ms;
}

/* --- incidents ----------------------------------------------------------------------------- */

#define MAX_INCIDENTS 1500

/* The incidents of one test, destroyed after it by s_teardown(). */
static incident_t *s_incs[MAX_INCIDENTS];
static size_t s_n_incs;

static void s_free_all(void)
{
	for (size_t i = 0; i < s_n_incs; i++)
		incident_destroy(&s_incs[i]);
	s_n_incs = 0;
}

/* Runs after every test, failed ones too, so that no test sees another's incidents. */
static int s_teardown(void **state)
{
	(void)state;
	s_free_all();
	return 0;
}

static wire_event_t s_event(const char *provider, int stage, int category, bool major)
{
	return (wire_event_t){
		.provider = provider,
		.event_id = s_stage_names[stage],
		.ref = "R-1",
		.stage = s_stage_names[stage],
		.category = category,
		.title = "Comms hubs offline",
		.has_major = major,
		.major = major,
	};
}

/* A new incident with nothing recorded yet, kept until the test ends. */
static incident_t *s_new(uint64_t id, const char *provider, int category, bool major)
{
	wire_event_t ev = s_event(provider, DETECTED, category, major);
	incident_t *inc = incident_new(id, &ev);
	assert_non_null(inc);
	assert_true(s_n_incs < MAX_INCIDENTS);
	s_incs[s_n_incs++] = inc;
	return inc;
}

/* Records stage reported at `at` and received at `received` (NULL: at `at`). */
static void s_stage_rx(incident_t *inc, int stage, const char *at, const char *received)
{
	wire_event_t ev = s_event(inc->provider, stage, inc->category, false);
	assert_non_null(incident_apply_event(inc, &s_cfg, stage, &ev, T(at),
					      T(received ? received : at), NULL));
}

static void s_stage(incident_t *inc, int stage, const char *at)
{
	s_stage_rx(inc, stage, at, NULL);
}

/* --- reports ------------------------------------------------------------------------------- */

/* The report of month at now over every incident of the test (provider: the filter). */
static json_t *s_report(const char *month, const char *now, const char *provider)
{
	int64_t start = 0, end = 0;
	assert_int_equal(report_month_parse(month, &start, &end), 0);
	report_t *report = report_new(&s_cfg, start, end, T(now), provider);
	assert_non_null(report);
	for (size_t i = 0; i < s_n_incs; i++)
		assert_int_equal(report_add(report, s_incs[i]), 0);
	json_t *json = report_to_json(report, month);
	assert_non_null(json);
	report_destroy(&report);
	assert_null(report);
	return json;
}

/* Fails, printing both, unless actual equals the JSON text expected. */
#define assert_json(actual, expected) s_assert_json((actual), (expected), __LINE__)
static void s_assert_json(const json_t *actual, const char *expected, int line)
{
	json_error_t error;
	json_t *want = json_loads(expected, 0, &error);
	if (!want)
		fail_msg("line %d: bad expected JSON: %s", line, error.text);
	if (!json_equal(actual, want)) {
		char *got = json_dumps(actual, JSON_COMPACT | JSON_ENCODE_ANY);
		char *exp = json_dumps(want, JSON_COMPACT);
		print_error("line %d:\n got      %s\n expected %s\n", line, got, exp);
		free(got);
		free(exp);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

/* The entry of provider in a report, or NULL. */
static const json_t *s_entry(const json_t *report, const char *provider)
{
	size_t i;
	const json_t *entry;
	json_array_foreach(json_object_get(report, "providers"), i, entry)
		if (strcmp(json_string_value(json_object_get(entry, "provider")), provider) == 0)
			return entry;
	return NULL;
}

static int64_t s_int(const json_t *entry, const char *key)
{
	const json_t *v = json_object_get(entry, key);
	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

/* --- month parsing ------------------------------------------------------------------------- */

static void test_month_parse(void **state)
{
	(void)state;
	int64_t start = 0, end = 0;
	assert_int_equal(report_month_parse("2020-11", &start, &end), 0);
	assert_int_equal(start, T("2020-11-01T00:00:00Z"));
	assert_int_equal(end, T("2020-12-01T00:00:00Z"));
	assert_int_equal(report_month_parse("2020-12", &start, &end), 0);
	assert_int_equal(start, T("2020-12-01T00:00:00Z"));
	assert_int_equal(end, T("2021-01-01T00:00:00Z")); /* December rolls to January */
	assert_int_equal(report_month_parse("2020-02", &start, &end), 0);
	assert_int_equal(end - start, 29 * DAY_MS); /* leap year */
	assert_int_equal(report_month_parse("1970-01", &start, &end), 0);
	assert_int_equal(start, 0);
	assert_int_equal(report_month_parse("9999-12", &start, &end), 0);
	assert_int_equal(start, T("9999-12-01T00:00:00Z"));
	assert_int_equal(end, T("9999-12-31T00:00:00Z") + DAY_MS);

	const char *bad[] = { "2020-13", "2020-00", "2020-1", "20-12", "2020-12-01", "", "abcd-ef",
			      "1969-12", "2020/12", " 2020-12", "2020-12 ", "+020-12", "2020--1",
			      "202012" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (report_month_parse(bad[i], &start, &end) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
}

/* --- the December 2020 ------------------------------------------------------------- */

/* One recorded stage of the scenario: incident id (category cat), stage, reported, received. */
typedef struct {
	uint64_t id;
	int cat;
	int stage;
	const char *at;
	const char *received; /* NULL: at `at` */
} s_step_t;

/*
 * rdp-1's incidents. 1-6 opened in November and were still open when December began (1 is
 * resolved at the very first instant of December, 4 closed without a resolved stage, 5 never
 * resolved, 6 only in January); 16 and 17 opened and were resolved in November, 19 in
 * October; 7-15 opened in December (13 and 14 resolved in January, 15 in the last
 * millisecond of December and still open); 18 opened in January.
 *
 * Rule figures: 1-5 and 16 notified within 30 minutes in November (met); 6 notified after its
 * due of 30 November 23:30 (breached in November); 17 never notified (breached in November);
 * 7 met and 8 breached in December; the rest are category 4, which has no target.
 */
static const s_step_t s_scenario[] = {
	{ 19, 4, DETECTED, "2020-10-05T09:00:00Z", NULL },
	{ 19, 4, RESOLVED, "2020-10-06T09:00:00Z", NULL },
	{ 1, 1, DETECTED, "2020-11-02T09:00:00Z", NULL },
	{ 1, 1, NOTIFIED, "2020-11-02T09:05:00Z", "2020-11-02T09:10:00Z" },
	{ 16, 1, DETECTED, "2020-11-03T09:00:00Z", NULL },
	{ 16, 1, NOTIFIED, "2020-11-03T09:10:00Z", NULL },
	{ 16, 1, RESOLVED, "2020-11-04T09:00:00Z", NULL },
	{ 16, 1, CLOSED, "2020-11-06T09:00:00Z", NULL },
	{ 2, 1, DETECTED, "2020-11-10T09:00:00Z", NULL },
	{ 2, 1, NOTIFIED, "2020-11-10T09:10:00Z", NULL },
	{ 17, 2, DETECTED, "2020-11-12T09:00:00Z", NULL },
	{ 17, 2, RESOLVED, "2020-11-13T09:00:00Z", NULL },
	{ 3, 1, DETECTED, "2020-11-15T09:00:00Z", NULL },
	{ 3, 1, NOTIFIED, "2020-11-15T09:10:00Z", NULL },
	{ 4, 1, DETECTED, "2020-11-20T09:00:00Z", NULL },
	{ 4, 1, NOTIFIED, "2020-11-20T09:10:00Z", NULL },
	{ 5, 1, DETECTED, "2020-11-25T09:00:00Z", NULL },
	{ 5, 1, NOTIFIED, "2020-11-25T09:10:00Z", NULL },
	{ 6, 1, DETECTED, "2020-11-30T23:00:00Z", NULL },
	/* Everything below happened in December or later. */
	{ 1, 1, RESOLVED, "2020-12-01T00:00:00Z", NULL },
	{ 6, 1, NOTIFIED, "2020-12-01T00:05:00Z", "2020-12-01T00:10:00Z" },
	{ 7, 1, DETECTED, "2020-12-02T10:00:00Z", NULL },
	{ 7, 1, NOTIFIED, "2020-12-02T10:05:00Z", NULL },
	{ 7, 1, RESOLVED, "2020-12-03T10:00:00Z", NULL },
	{ 8, 2, DETECTED, "2020-12-04T10:00:00Z", NULL },
	{ 8, 2, RESOLVED, "2020-12-05T10:00:00Z", NULL },
	{ 2, 1, RESOLVED, "2020-12-07T10:00:00Z", NULL },
	{ 9, 4, DETECTED, "2020-12-08T10:00:00Z", NULL },
	{ 10, 4, DETECTED, "2020-12-09T10:00:00Z", NULL },
	{ 11, 4, DETECTED, "2020-12-10T10:00:00Z", NULL },
	{ 12, 4, DETECTED, "2020-12-11T10:00:00Z", NULL },
	{ 13, 4, DETECTED, "2020-12-12T10:00:00Z", NULL },
	{ 14, 4, DETECTED, "2020-12-14T10:00:00Z", NULL },
	{ 3, 1, RESOLVED, "2020-12-15T10:00:00Z", NULL },
	{ 9, 4, RESOLVED, "2020-12-16T10:00:00Z", NULL },
	{ 10, 4, RESOLVED, "2020-12-17T10:00:00Z", NULL },
	{ 11, 4, RESOLVED, "2020-12-18T10:00:00Z", NULL },
	{ 4, 1, CLOSED, "2020-12-20T10:00:00Z", NULL },
	{ 12, 4, RESOLVED, "2020-12-31T23:59:59.999Z", NULL },
	{ 15, 4, DETECTED, "2020-12-31T23:59:59.999Z", NULL },
	{ 18, 4, DETECTED, "2021-01-01T00:00:00Z", NULL },
	{ 13, 4, RESOLVED, "2021-01-04T10:00:00Z", NULL },
	{ 6, 1, RESOLVED, "2021-01-05T10:00:00Z", NULL },
	{ 14, 4, RESOLVED, "2021-01-06T10:00:00Z", NULL },
};

#define N_SCENARIO (sizeof s_scenario / sizeof s_scenario[0])

/* The incident id of the test, created on its first step. */
static incident_t *s_by_id(uint64_t id, int cat)
{
	for (size_t i = 0; i < s_n_incs; i++)
		if (s_incs[i]->id == id)
			return s_incs[i];
	return s_new(id, "rdp-1", cat, false);
}

/* Applies the scenario's steps reported before `before` not applied yet (from *next on). */
static void s_play(size_t *next, const char *before)
{
	for (; *next < N_SCENARIO && T(s_scenario[*next].at) < T(before); (*next)++) {
		const s_step_t *st = &s_scenario[*next];
		s_stage_rx(s_by_id(st->id, st->cat), st->stage, st->at, st->received);
	}
}

static const char s_november[] =
	"{\"month\": \"2020-11\", \"providers\": [{\"provider\": \"rdp-1\", \"opened\": 8, \"user_first\": 0,"
	" \"resolved\": 2, \"open_at_start\": 0, \"open_at_end\": 6,"
	" \"open\": [\"INC000000000001\", \"INC000000000002\", \"INC000000000003\","
	"            \"INC000000000004\", \"INC000000000005\", \"INC000000000006\"],"
	" \"sla\": {\"provider_notification\": {\"met\": 6, \"breached\": 2, \"percent_met\": 75.0,"
	"   \"categories\": {\"1\": {\"met\": 6, \"breached\": 1, \"percent_met\": 85.71},"
	"                    \"2\": {\"met\": 0, \"breached\": 1, \"percent_met\": 0.0},"
	"                    \"3\": " Z "}}},"
	" \"problem_rules\": " NO_PROBLEM ", " NO_MEASURES "}]}";

static void test_december_2020(void **state)
{
	(void)state;
	size_t next = 0;
	s_play(&next, "2020-12-01T00:00:00Z");
	/* November as it stood at its end, before any of December's events. */
	json_t *november_then = s_report("2020-11", "2020-12-01T00:00:00Z", NULL);
	assert_json(november_then, s_november);

	s_play(&next, "2099-01-01T00:00:00Z");
	assert_int_equal(next, N_SCENARIO);
	json_t *december = s_report("2020-12", "2021-02-01T00:00:00Z", NULL);
	assert_json(december,
		    "{\"month\": \"2020-12\", \"providers\": [{\"provider\": \"rdp-1\","
		    " \"opened\": 9, \"user_first\": 0, \"resolved\": 10, \"open_at_start\": 6, \"open_at_end\": 5,"
		    " \"open\": [\"INC000000000005\", \"INC000000000006\", \"INC000000000013\","
		    "            \"INC000000000014\", \"INC000000000015\"],"
		    " \"sla\": {\"provider_notification\": {\"met\": 1, \"breached\": 1,"
		    "   \"percent_met\": 50.0, \"categories\": {"
		    "     \"1\": {\"met\": 1, \"breached\": 0, \"percent_met\": 100.0},"
		    "     \"2\": {\"met\": 0, \"breached\": 1, \"percent_met\": 0.0},"
		    "     \"3\": " Z "}}},"
		    " \"problem_rules\": " NO_PROBLEM ", " NO_MEASURES "}]}");

	/* November again, with every later event recorded: unchanged. */
	json_t *november_now = s_report("2020-11", "2021-02-01T00:00:00Z", NULL);
	assert_json(november_now, s_november);
	assert_true(json_equal(november_then, november_now));

	json_t *january = s_report("2021-01", "2021-02-01T00:00:00Z", NULL);
	const json_t *jan = s_entry(january, "rdp-1");
	assert_non_null(jan);
	assert_int_equal(s_int(jan, "opened"), 1);        /* 18 */
	assert_int_equal(s_int(jan, "resolved"), 3);      /* 6, 13, 14 */
	assert_int_equal(s_int(jan, "open_at_start"), 5);
	assert_int_equal(s_int(jan, "open_at_end"), 3);
	assert_json(json_object_get(jan, "open"),
		    "[\"INC000000000005\", \"INC000000000015\", \"INC000000000018\"]");

	json_t *october = s_report("2020-10", "2021-02-01T00:00:00Z", NULL);
	const json_t *oct = s_entry(october, "rdp-1");
	assert_non_null(oct); /* 19 was open for a day */
	assert_int_equal(s_int(oct, "opened"), 1);
	assert_int_equal(s_int(oct, "resolved"), 1);
	assert_int_equal(s_int(oct, "open_at_end"), 0);

	json_decref(november_then);
	json_decref(november_now);
	json_decref(december);
	json_decref(january);
	json_decref(october);
}

/* The ids come sorted whatever the order of report_add(). */
static void test_open_ids_sorted(void **state)
{
	(void)state;
	const uint64_t ids[] = { 999999999999ULL, 7, 4294967296ULL, 42, 1 };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		s_stage(s_new(ids[i], "rdp-1", 4, false), DETECTED, "2020-12-10T10:00:00Z");
	json_t *report = s_report("2020-12", "2020-12-20T00:00:00Z", NULL);
	assert_json(json_object_get(s_entry(report, "rdp-1"), "open"),
		    "[\"INC000000000001\", \"INC000000000007\", \"INC000000000042\","
		    " \"INC004294967296\", \"INC999999999999\"]");
	json_decref(report);
}

/* --- incidents across months -------------------------------------------------------------- */

static void test_incidents_across_months(void **state)
{
	(void)state;
	incident_t *a = s_new(41, "span", 4, false); /* October to January */
	s_stage(a, DETECTED, "2020-10-20T10:00:00Z");
	s_stage(a, RESOLVED, "2021-01-10T10:00:00Z");
	incident_t *b = s_new(42, "span", 4, false); /* closed in December, never resolved */
	s_stage(b, DETECTED, "2020-11-05T10:00:00Z");
	s_stage(b, CLOSED, "2020-12-02T10:00:00Z");
	incident_t *d = s_new(43, "span", 4, false); /* detection backfilled into November */
	s_stage(d, NOTIFIED, "2020-12-01T10:00:00Z");
	s_stage(d, DETECTED, "2020-11-30T10:00:00Z");
	incident_t *c = s_new(44, "gone", 4, false); /* resolved in November, closed in December */
	s_stage(c, DETECTED, "2020-11-05T10:00:00Z");
	s_stage(c, RESOLVED, "2020-11-20T10:00:00Z");
	s_stage(c, CLOSED, "2020-12-10T10:00:00Z");
	s_new(45, "empty", 4, false); /* nothing recorded: no time to count it at */

	const char *now = "2021-02-01T00:00:00Z";
	json_t *sep = s_report("2020-09", now, NULL);
	assert_json(sep, "{\"month\": \"2020-09\", \"providers\": []}");

	json_t *oct = s_report("2020-10", now, NULL);
	assert_json(oct,
		    "{\"month\": \"2020-10\", \"providers\": [{\"provider\": \"span\","
		    " \"opened\": 1, \"user_first\": 0, \"resolved\": 0, \"open_at_start\": 0, \"open_at_end\": 1,"
		    " \"open\": [\"INC000000000041\"], \"sla\": " NO_SLA ","
		    " \"problem_rules\": " NO_PROBLEM ", " NO_MEASURES "}]}");

	json_t *nov = s_report("2020-11", now, NULL);
	assert_json(nov,
		    "{\"month\": \"2020-11\", \"providers\": ["
		    " {\"provider\": \"gone\", \"opened\": 1, \"user_first\": 0, \"resolved\": 1,"
		    "  \"open_at_start\": 0, \"open_at_end\": 0, \"open\": [], \"sla\": " NO_SLA ","
		    "  \"problem_rules\": " NO_PROBLEM ", " NO_MEASURES "},"
		    " {\"provider\": \"span\", \"opened\": 2, \"user_first\": 0, \"resolved\": 0,"
		    "  \"open_at_start\": 1, \"open_at_end\": 3,"
		    "  \"open\": [\"INC000000000041\", \"INC000000000042\", \"INC000000000043\"],"
		    "  \"sla\": " NO_SLA ", \"problem_rules\": " NO_PROBLEM ", " NO_MEASURES "}]}");

	/* "gone" was resolved before December: closing it then does not resolve it again. */
	json_t *dec = s_report("2020-12", now, NULL);
	assert_json(dec,
		    "{\"month\": \"2020-12\", \"providers\": [{\"provider\": \"span\","
		    " \"opened\": 0, \"user_first\": 0, \"resolved\": 1, \"open_at_start\": 3, \"open_at_end\": 2,"
		    " \"open\": [\"INC000000000041\", \"INC000000000043\"], \"sla\": " NO_SLA ","
		    " \"problem_rules\": " NO_PROBLEM ", " NO_MEASURES "}]}");

	json_t *jan = s_report("2021-01", now, NULL);
	assert_json(jan,
		    "{\"month\": \"2021-01\", \"providers\": [{\"provider\": \"span\","
		    " \"opened\": 0, \"user_first\": 0, \"resolved\": 1, \"open_at_start\": 2, \"open_at_end\": 1,"
		    " \"open\": [\"INC000000000043\"], \"sla\": " NO_SLA ","
		    " \"problem_rules\": " NO_PROBLEM ", " NO_MEASURES "}]}");

	json_decref(sep);
	json_decref(oct);
	json_decref(nov);
	json_decref(dec);
	json_decref(jan);
}

/* --- rule figures -------------------------------------------------------------------------- */

/* The incidents of the rule tests, all of provider "rules" but one. */
static void s_rule_incidents(void)
{
	incident_t *inc = s_new(21, "rules", 1, false); /* met, December */
	s_stage(inc, DETECTED, "2020-12-10T10:00:00Z");
	s_stage_rx(inc, NOTIFIED, "2020-12-10T10:15:00Z", "2020-12-10T10:20:00Z");
	inc = s_new(22, "rules", 1, false); /* met exactly at the due */
	s_stage(inc, DETECTED, "2020-12-11T10:00:00Z");
	s_stage_rx(inc, NOTIFIED, "2020-12-11T10:10:00Z", "2020-12-11T10:30:00Z");
	inc = s_new(23, "rules", 2, false); /* started in November, met in December */
	s_stage(inc, DETECTED, "2020-11-30T23:45:00Z");
	s_stage_rx(inc, NOTIFIED, "2020-12-01T00:05:00Z", "2020-12-01T00:10:00Z");
	inc = s_new(35, "rules", 2, false); /* met in November, due in December */
	s_stage(inc, DETECTED, "2020-11-30T23:45:00Z");
	s_stage(inc, NOTIFIED, "2020-11-30T23:55:00Z");
	inc = s_new(24, "rules", 2, false); /* reported in time, received late: breached */
	s_stage(inc, DETECTED, "2020-12-05T10:00:00Z");
	s_stage_rx(inc, NOTIFIED, "2020-12-05T10:10:00Z", "2020-12-05T11:00:00Z");
	inc = s_new(25, "rules", 2, false); /* never notified: breached at its due */
	s_stage(inc, DETECTED, "2020-12-06T10:00:00Z");
	inc = s_new(26, "rules", 3, false); /* due 20 December 12:00, stopped in January */
	s_stage(inc, DETECTED, "2020-12-20T10:00:00Z");
	s_stage(inc, NOTIFIED, "2021-01-02T09:00:00Z");
	inc = s_new(27, "rules", 4, false); /* no target for category 4 */
	s_stage(inc, DETECTED, "2020-12-10T10:00:00Z");
	inc = s_new(28, "rules", 1, false); /* not started: no detected stage */
	s_stage(inc, NOTIFIED, "2020-12-10T10:00:00Z");
	inc = s_new(29, "rules", 1, false); /* due 1 January 00:20: a January breach */
	s_stage(inc, DETECTED, "2020-12-31T23:50:00Z");

	inc = s_new(30, "rules", 4, true); /* major, linked a day after resolution: met */
	s_stage(inc, DETECTED, "2020-12-01T10:00:00Z");
	s_stage(inc, RESOLVED, "2020-12-10T10:00:00Z");
	assert_int_equal(incident_note_first_link(inc, T("2020-12-11T10:00:00Z")), 0);
	inc = s_new(31, "rules", 4, false); /* declared major, never linked: breached 17 Dec */
	s_stage(inc, DETECTED, "2020-12-01T10:00:00Z");
	s_stage(inc, MAJOR_DECLARED, "2020-12-01T11:00:00Z");
	s_stage(inc, RESOLVED, "2020-12-15T10:00:00Z");
	inc = s_new(32, "rules", 4, false); /* not major: the problem rule does not apply */
	s_stage(inc, DETECTED, "2020-12-01T10:00:00Z");
	s_stage(inc, RESOLVED, "2020-12-10T10:00:00Z");
	inc = s_new(33, "rules", 4, true); /* due 1 January 10:00 */
	s_stage(inc, DETECTED, "2020-12-29T10:00:00Z");
	s_stage(inc, RESOLVED, "2020-12-30T10:00:00Z");
	inc = s_new(34, "late-link", 4, true); /* resolved in November, linked in December */
	s_stage(inc, DETECTED, "2020-11-29T10:00:00Z");
	s_stage(inc, RESOLVED, "2020-11-30T10:00:00Z");
	assert_int_equal(incident_note_first_link(inc, T("2020-12-01T09:00:00Z")), 0);
}

static void test_rule_figures(void **state)
{
	(void)state;
	s_rule_incidents();
	json_t *dec = s_report("2020-12", "2021-01-15T00:00:00Z", NULL);
	const json_t *rules = s_entry(dec, "rules");
	assert_non_null(rules);
	/* Met: 21, 22, 23. Breached: 24, 25, 26. 29 breaches in January; 27 and 28 never. */
	assert_json(json_object_get(rules, "sla"),
		    "{\"provider_notification\": {"
		    " \"met\": 3, \"breached\": 3, \"percent_met\": 50.0,"
		    " \"categories\": {"
		    "  \"1\": {\"met\": 2, \"breached\": 0, \"percent_met\": 100.0},"
		    "  \"2\": {\"met\": 1, \"breached\": 2, \"percent_met\": 33.33},"
		    "  \"3\": {\"met\": 0, \"breached\": 1, \"percent_met\": 0.0}}}}");
	/* Met: 30. Breached: 31. 32 is not major; 33 breaches in January. */
	assert_json(json_object_get(rules, "problem_rules"),
		    "{\"major_problem\": {\"met\": 1, \"breached\": 1, \"percent_met\": 50.0,"
		    " \"categories\": {"
		    "  \"1\": " Z ", \"2\": " Z ", \"3\": " Z ", \"5\": " Z ","
		    "  \"4\": {\"met\": 1, \"breached\": 1, \"percent_met\": 50.0}}}}");
	/*
	 * late-link had nothing open in December, but its problem rule was met then: listed, so
	 * that the figure is not lost.
	 */
	assert_json(s_entry(dec, "late-link"),
		    "{\"provider\": \"late-link\", \"opened\": 0, \"user_first\": 0, \"resolved\": 0,"
		    " \"open_at_start\": 0, \"open_at_end\": 0, \"open\": [], \"sla\": " NO_SLA ","
		    " \"problem_rules\": {\"major_problem\": {\"met\": 1, \"breached\": 0,"
		    "  \"percent_met\": 100.0, \"categories\": {"
		    "   \"1\": " Z ", \"2\": " Z ", \"3\": " Z ", \"5\": " Z ","
		    "   \"4\": {\"met\": 1, \"breached\": 0, \"percent_met\": 100.0}}}},"
		    " " NO_MEASURES "}");

	/*
	 * November: 35 met then (its due, 1 December 00:15, does not matter); 23 started then but
	 * counts where it stopped; 34 was linked in December.
	 */
	json_t *nov = s_report("2020-11", "2021-01-15T00:00:00Z", NULL);
	assert_json(json_object_get(s_entry(nov, "rules"), "sla"),
		    "{\"provider_notification\": {"
		    " \"met\": 1, \"breached\": 0, \"percent_met\": 100.0, \"categories\": {"
		    "  \"1\": " Z ", \"3\": " Z ","
		    "  \"2\": {\"met\": 1, \"breached\": 0, \"percent_met\": 100.0}}}}");
	assert_json(json_object_get(s_entry(nov, "late-link"), "problem_rules"), NO_PROBLEM);

	/* January: 29 and 33 breached (26 stopped in January but was due in December). */
	json_t *jan = s_report("2021-01", "2021-01-15T00:00:00Z", NULL);
	assert_json(json_object_get(s_entry(jan, "rules"), "sla"),
		    "{\"provider_notification\": {"
		    " \"met\": 0, \"breached\": 1, \"percent_met\": 0.0, \"categories\": {"
		    "  \"2\": " Z ", \"3\": " Z ","
		    "  \"1\": {\"met\": 0, \"breached\": 1, \"percent_met\": 0.0}}}}");
	assert_json(json_object_get(s_entry(jan, "rules"), "problem_rules"),
		    "{\"major_problem\": {\"met\": 0, \"breached\": 1, \"percent_met\": 0.0,"
		    " \"categories\": {"
		    "  \"1\": " Z ", \"2\": " Z ", \"3\": " Z ", \"5\": " Z ","
		    "  \"4\": {\"met\": 0, \"breached\": 1, \"percent_met\": 0.0}}}}");

	/* Early on 1 January both are still pending: not counted. */
	json_t *jan_early = s_report("2021-01", "2021-01-01T00:10:00Z", NULL);
	assert_json(json_object_get(s_entry(jan_early, "rules"), "sla"), NO_SLA);
	assert_json(json_object_get(s_entry(jan_early, "rules"), "problem_rules"), NO_PROBLEM);

	json_decref(dec);
	json_decref(nov);
	json_decref(jan);
	json_decref(jan_early);
}

/* Two met out of three: the percentage is rounded to hundredths. */
static void test_percent_rounding(void **state)
{
	(void)state;
	const char *received[] = { "2020-12-10T10:10:00Z", "2020-12-10T10:20:00Z",
				   "2020-12-10T11:00:00Z" };
	for (uint64_t i = 0; i < 3; i++) {
		incident_t *inc = s_new(i + 1, "rdp-1", 1, false);
		s_stage(inc, DETECTED, "2020-12-10T10:00:00Z");
		s_stage(inc, NOTIFIED, received[i]);
	}
	json_t *dec = s_report("2020-12", "2021-01-15T00:00:00Z", NULL);
	const json_t *sla = json_object_get(s_entry(dec, "rdp-1"), "sla");
	const json_t *figures = json_object_get(sla, "provider_notification");
	assert_true(json_is_real(json_object_get(figures, "percent_met")));
	assert_true(json_real_value(json_object_get(figures, "percent_met")) == 66.67);
	json_decref(dec);
}

/* --- providers ------------------------------------------------------------------------------ */

static void test_provider_filter(void **state)
{
	(void)state;
	s_stage(s_new(1, "rdp-2", 4, false), DETECTED, "2020-12-10T10:00:00Z");
	s_stage(s_new(2, "csp-north", 4, false), DETECTED, "2020-12-11T10:00:00Z");
	s_stage(s_new(3, "rdp-10", 4, false), DETECTED, "2020-12-12T10:00:00Z");
	s_stage(s_new(4, "rdp-2", 4, false), DETECTED, "2020-12-13T10:00:00Z");
	const char *now = "2020-12-20T00:00:00Z";

	json_t *all = s_report("2020-12", now, NULL);
	const json_t *list = json_object_get(all, "providers");
	assert_int_equal(json_array_size(list), 3);
	const char *order[] = { "csp-north", "rdp-10", "rdp-2" };
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(list, i),
								      "provider")),
				    order[i]);
	assert_int_equal(s_int(s_entry(all, "rdp-2"), "opened"), 2);

	json_t *one = s_report("2020-12", now, "rdp-2");
	assert_json(one,
		    "{\"month\": \"2020-12\", \"providers\": [{\"provider\": \"rdp-2\","
		    " \"opened\": 2, \"user_first\": 0, \"resolved\": 0, \"open_at_start\": 0, \"open_at_end\": 2,"
		    " \"open\": [\"INC000000000001\", \"INC000000000004\"], \"sla\": " NO_SLA ","
		    " \"problem_rules\": " NO_PROBLEM ", " NO_MEASURES "}]}");

	json_t *none = s_report("2020-12", now, "rdp-9");
	assert_json(none, "{\"month\": \"2020-12\", \"providers\": []}");

	json_decref(all);
	json_decref(one);
	json_decref(none);
}

/* Hundreds of providers, their incidents interleaved: each counted apart, listed by name. */
static void test_many_providers(void **state)
{
	(void)state;
	enum { N_PROVIDERS = 250 };
	char names[N_PROVIDERS][16];
	for (int i = 0; i < N_PROVIDERS; i++)
		snprintf(names[i], sizeof names[i], "p%03d", i);
	uint64_t id = 1;
	for (int round = 0; round < 2; round++)
		for (int i = N_PROVIDERS - 1; i >= 0; i--) {
			/* names[(i * 7) % N] is every provider once; odd i open one more. */
			if (round == 0 && i % 2 == 0)
				continue;
			s_stage(s_new(id++, names[(i * 7) % N_PROVIDERS], 4, false), DETECTED,
				"2020-12-10T10:00:00Z");
		}
	json_t *dec = s_report("2020-12", "2020-12-20T00:00:00Z", NULL);
	const json_t *list = json_object_get(dec, "providers");
	assert_int_equal(json_array_size(list), N_PROVIDERS);
	int64_t total = 0;
	for (size_t i = 0; i < N_PROVIDERS; i++) {
		const json_t *entry = json_array_get(list, i);
		const char *name = json_string_value(json_object_get(entry, "provider"));
		assert_string_equal(name, names[i]);
		int64_t opened = s_int(entry, "opened");
		assert_int_equal(json_array_size(json_object_get(entry, "open")), opened);
		total += opened;
	}
	assert_int_equal(total, (int64_t)id - 1);
	/* p007 is names[1 * 7]: round 0 (1 is odd) and round 1. p000 is names[0]: round 1 only. */
	assert_int_equal(s_int(s_entry(dec, "p007"), "opened"), 2);
	assert_int_equal(s_int(s_entry(dec, "p000"), "opened"), 1);
	json_decref(dec);
}

static void test_report_wants(void **state)
{
	(void)state;
	int64_t start = 0, end = 0;
	assert_int_equal(report_month_parse("2020-12", &start, &end), 0);
	report_t *report = report_new(&s_cfg, start, end, end, NULL);
	assert_non_null(report);
	assert_true(report_wants(report, T("2020-11-01T00:00:00Z")));
	assert_true(report_wants(report, T("2020-12-31T23:59:59.999Z")));
	assert_false(report_wants(report, T("2021-01-01T00:00:00Z")));
	assert_false(report_wants(report, T("2021-03-01T00:00:00Z")));
	report_destroy(&report);
	assert_null(report);
	report_destroy(&report); /* accepts NULL */
	report_destroy(NULL);
}

/* --- measures ------------------------------------------------------------------------------ */

/*
 * The measures of the tests: PM_notify over provider_notification (every category it covers:
 * 1, 2, 3), target 95%, minimum 90%; PM_cat1 over its category 1 alone, target 95%, no minimum.
 */
static config_measure_t s_measures[] = {
	{ .name = "PM_notify", .rule_name = "provider_notification", .rule = 0,
	  .categories = (1u << 1) | (1u << 2) | (1u << 3), .target = 9500, .minimum = 9000,
	  .has_minimum = true },
	{ .name = "PM_cat1", .rule_name = "provider_notification", .rule = 0,
	  .categories = 1u << 1, .target = 9500 },
};

/* Runs after every measure test: the other tests see a config without measures. */
static int s_measures_teardown(void **state)
{
	s_cfg.measures = NULL;
	s_cfg.n_measures = 0;
	return s_teardown(state);
}

static void s_use_measures(void)
{
	s_cfg.measures = s_measures;
	s_cfg.n_measures = sizeof s_measures / sizeof s_measures[0];
}

/*
 * An incident of provider opened on the 10th of month (year, mon) at 10:00, category cat,
 * notified 10 minutes later (met) or 3 hours later (breached), resolved the next day: it
 * counts in that month alone (every target is at most 2 hours) and is open in no other.
 */
static void s_notified(const char *provider, int year, int mon, int cat, bool met)
{
	char detected[32], notified[32], resolved[32];
	snprintf(detected, sizeof detected, "%04d-%02d-10T10:00:00Z", year, mon);
	snprintf(notified, sizeof notified, "%04d-%02d-10T%s:00Z", year, mon,
		 met ? "10:10" : "13:00");
	snprintf(resolved, sizeof resolved, "%04d-%02d-11T10:00:00Z", year, mon);
	incident_t *inc = s_new(s_n_incs + 1, provider, cat, false);
	s_stage(inc, DETECTED, detected);
	s_stage(inc, NOTIFIED, notified);
	s_stage(inc, RESOLVED, resolved);
}

/* The measure name of provider's entry in report. */
static const json_t *s_measure(const json_t *report, const char *provider, const char *name)
{
	const json_t *entry = s_entry(report, provider);
	assert_non_null(entry);
	const json_t *m = json_object_get(json_object_get(entry, "measures"), name);
	assert_non_null(m);
	return m;
}

/*
 * The seed's "below Target Service Level for the last 17 months; the 23rd instance in 24
 * months". December 2020 looks back to January 2019: January to June 2019 below target, July
 * 2019 at target, August 2019 to December 2020 (17 months) below. December 2018 (below) and
 * January 2021 (below) are outside the window.
 */
static void test_measure_17_of_23(void **state)
{
	(void)state;
	s_use_measures();
	s_notified("pm", 2018, 12, 1, false);
	for (int k = 0; k < 24; k++) {
		int year = 2019 + k / 12, mon = k % 12 + 1;
		s_notified("pm", year, mon, 1, k == 6); /* July 2019: 100% */
		if (k == 23)
			s_notified("pm", year, mon, 2, true); /* December 2020: 1 of 2, 50% */
	}
	s_notified("pm", 2021, 1, 1, false);
	json_t *dec = s_report("2020-12", "2021-03-01T00:00:00Z", NULL);
	assert_json(s_measure(dec, "pm", "PM_notify"),
		    "{\"rule\": \"provider_notification\", \"categories\": [1, 2, 3],"
		    " \"target\": 95.0, \"minimum\": 90.0, \"met\": 1, \"breached\": 1,"
		    " \"percent_met\": 50.0, \"level\": \"below_minimum\","
		    " \"months_below_target\": 17, \"below_target_in_24\": 23}");
	/* Category 1 alone: December is 0 of 1; no minimum, so only below target. */
	assert_json(s_measure(dec, "pm", "PM_cat1"),
		    "{\"rule\": \"provider_notification\", \"categories\": [1],"
		    " \"target\": 95.0, \"minimum\": null, \"met\": 0, \"breached\": 1,"
		    " \"percent_met\": 0.0, \"level\": \"below_target\","
		    " \"months_below_target\": 17, \"below_target_in_24\": 23}");
	/* The rule's own figures are the month's, as without measures. */
	assert_json(json_object_get(json_object_get(s_entry(dec, "pm"), "sla"),
				    "provider_notification"),
		    "{\"met\": 1, \"breached\": 1, \"percent_met\": 50.0, \"categories\": {"
		    " \"1\": {\"met\": 0, \"breached\": 1, \"percent_met\": 0.0},"
		    " \"2\": {\"met\": 1, \"breached\": 0, \"percent_met\": 100.0},"
		    " \"3\": " Z "}}");

	/* November 2020 looks back to December 2018: 1 + 6 + 16 below, the run 16. */
	json_t *nov = s_report("2020-11", "2021-03-01T00:00:00Z", NULL);
	const json_t *m = s_measure(nov, "pm", "PM_notify");
	assert_int_equal(s_int(m, "months_below_target"), 16);
	assert_int_equal(s_int(m, "below_target_in_24"), 23);
	/* July 2019: at target, so no run; below in December 2018 and January to June 2019. */
	json_t *jul = s_report("2019-07", "2021-03-01T00:00:00Z", NULL);
	assert_json(s_measure(jul, "pm", "PM_notify"),
		    "{\"rule\": \"provider_notification\", \"categories\": [1, 2, 3],"
		    " \"target\": 95.0, \"minimum\": 90.0, \"met\": 1, \"breached\": 0,"
		    " \"percent_met\": 100.0, \"level\": \"target\","
		    " \"months_below_target\": 0, \"below_target_in_24\": 7}");
	json_decref(dec);
	json_decref(nov);
	json_decref(jul);
}

/*
 * Months that counted nothing are skipped: they neither extend nor break a run. When the
 * report's own month counted nothing, the run is the one ending with the latest month that
 * counted, and the level is null.
 */
static void test_measure_gaps(void **state)
{
	(void)state;
	s_use_measures();
	s_notified("gaps", 2020, 6, 1, true);   /* at target */
	s_notified("gaps", 2020, 7, 1, false);  /* below */
	/* August: nothing */
	s_notified("gaps", 2020, 9, 2, false);  /* below */
	s_notified("gaps", 2020, 10, 4, false); /* category 4: no target, counts nothing */
	s_notified("gaps", 2020, 11, 3, false); /* below */
	/* December: only an incident of category 4, open, so that the provider is listed. */
	s_stage(s_new(100, "gaps", 4, false), DETECTED, "2020-12-05T10:00:00Z");
	/* A provider whose only figures are in earlier months is not listed. */
	s_notified("old", 2020, 6, 1, false);

	json_t *dec = s_report("2020-12", "2021-03-01T00:00:00Z", NULL);
	assert_null(s_entry(dec, "old"));
	assert_json(s_measure(dec, "gaps", "PM_notify"),
		    "{\"rule\": \"provider_notification\", \"categories\": [1, 2, 3],"
		    " \"target\": 95.0, \"minimum\": 90.0, \"met\": 0, \"breached\": 0,"
		    " \"percent_met\": null, \"level\": null,"
		    " \"months_below_target\": 3, \"below_target_in_24\": 3}");
	/* Category 1 alone: July below, June at target; the rest counted nothing. */
	const json_t *cat1 = s_measure(dec, "gaps", "PM_cat1");
	assert_int_equal(s_int(cat1, "months_below_target"), 1);
	assert_int_equal(s_int(cat1, "below_target_in_24"), 1);
	assert_true(json_is_null(json_object_get(cat1, "level")));

	/* October counted nothing either: the run ends with September. */
	json_t *oct = s_report("2020-10", "2021-03-01T00:00:00Z", NULL);
	assert_int_equal(s_int(s_measure(oct, "gaps", "PM_notify"), "months_below_target"), 2);
	assert_null(s_entry(oct, "old"));
	/* June: "old" is listed, its one incident breached. */
	json_t *jun = s_report("2020-06", "2021-03-01T00:00:00Z", NULL);
	assert_json(s_measure(jun, "old", "PM_notify"),
		    "{\"rule\": \"provider_notification\", \"categories\": [1, 2, 3],"
		    " \"target\": 95.0, \"minimum\": 90.0, \"met\": 0, \"breached\": 1,"
		    " \"percent_met\": 0.0, \"level\": \"below_minimum\","
		    " \"months_below_target\": 1, \"below_target_in_24\": 1}");
	json_decref(dec);
	json_decref(oct);
	json_decref(jun);
}

/* n incidents of provider in December 2020, met of them within target. */
static void s_month_figures(const char *provider, int n, int met)
{
	for (int i = 0; i < n; i++)
		s_notified(provider, 2020, 12, 1, i < met);
}

/*
 * Levels at their boundaries: exactly the target is at target; exactly the minimum is below
 * target, not below the minimum.
 */
static void test_measure_levels(void **state)
{
	(void)state;
	s_use_measures();
	s_month_figures("at-target", 20, 19);   /* 95% */
	s_month_figures("at-minimum", 20, 18);  /* 90% */
	s_month_figures("below-minimum", 20, 17); /* 85% */
	/* The level compares percent_met as shown, rounded to hundredths. */
	s_month_figures("just-below", 339, 322);   /* 94.985...%: shown as 94.99 */
	s_month_figures("rounds-to-target", 1019, 968); /* 94.995...%: shown as 95.0 */
	json_t *dec = s_report("2020-12", "2021-03-01T00:00:00Z", NULL);
	struct {
		const char *provider, *level, *level_cat1;
		int64_t months;
	} want[] = {
		{ "at-target", "target", "target", 0 },
		{ "at-minimum", "below_target", "below_target", 1 },
		{ "below-minimum", "below_minimum", "below_target", 1 },
		{ "just-below", "below_target", "below_target", 1 },
		{ "rounds-to-target", "target", "target", 0 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const json_t *m = s_measure(dec, want[i].provider, "PM_notify");
		assert_string_equal(json_string_value(json_object_get(m, "level")), want[i].level);
		assert_int_equal(s_int(m, "months_below_target"), want[i].months);
		assert_int_equal(s_int(m, "below_target_in_24"), want[i].months);
		m = s_measure(dec, want[i].provider, "PM_cat1");
		assert_string_equal(json_string_value(json_object_get(m, "level")),
				    want[i].level_cat1);
	}
	assert_true(json_real_value(json_object_get(s_measure(dec, "at-minimum", "PM_notify"),
						    "percent_met")) == 90.0);
	assert_true(json_real_value(json_object_get(s_measure(dec, "just-below", "PM_notify"),
						    "percent_met")) == 94.99);
	const json_t *rounded = s_measure(dec, "rounds-to-target", "PM_notify");
	assert_true(json_real_value(json_object_get(rounded, "percent_met")) == 95.0);
	json_decref(dec);
}

/* A measure's categories restrict what it counts; the rule's figures count every category. */
static void test_measure_categories(void **state)
{
	(void)state;
	s_use_measures();
	s_notified("cats", 2020, 12, 1, true);
	s_notified("cats", 2020, 12, 2, false);
	s_notified("cats", 2020, 12, 3, false);
	s_notified("cats", 2020, 12, 4, false); /* no target: counted by neither */
	json_t *dec = s_report("2020-12", "2021-03-01T00:00:00Z", NULL);
	const json_t *all = s_measure(dec, "cats", "PM_notify");
	assert_int_equal(s_int(all, "met"), 1);
	assert_int_equal(s_int(all, "breached"), 2);
	assert_string_equal(json_string_value(json_object_get(all, "level")), "below_minimum");
	assert_json(s_measure(dec, "cats", "PM_cat1"),
		    "{\"rule\": \"provider_notification\", \"categories\": [1],"
		    " \"target\": 95.0, \"minimum\": null, \"met\": 1, \"breached\": 0,"
		    " \"percent_met\": 100.0, \"level\": \"target\","
		    " \"months_below_target\": 0, \"below_target_in_24\": 0}");
	/* A provider filter keeps the measures of that provider. */
	json_t *one = s_report("2020-12", "2021-03-01T00:00:00Z", "cats");
	assert_true(json_equal(json_object_get(s_entry(one, "cats"), "measures"),
			       json_object_get(s_entry(dec, "cats"), "measures")));
	json_decref(dec);
	json_decref(one);
}

/*
 * user_first counts the user-first incidents opened in the month: a user's report arrived
 * before any other source's notified. Opened the month before, or told first: not counted.
 */
static void test_user_first_count(void **state)
{
	(void)state;
	incident_t *told_late = s_new(1, "rdp-1", 2, false);
	wire_event_t ev = s_event("rdp-1", DETECTED, 2, false);
	ev.source = SOURCE_USER;
	assert_non_null(incident_apply_event(told_late, &s_cfg, DETECTED, &ev,
					     T("2020-12-03T10:00:00Z"), T("2020-12-03T10:01:00Z"), NULL));
	s_stage_rx(told_late, NOTIFIED, "2020-12-03T10:30:00Z", "2020-12-03T10:40:00Z");
	incident_t *told_first = s_new(2, "rdp-1", 2, false);
	s_stage(told_first, DETECTED, "2020-12-04T10:00:00Z");
	s_stage(told_first, NOTIFIED, "2020-12-04T10:05:00Z");
	assert_non_null(incident_apply_event(told_first, &s_cfg, RESOLVED, &ev,
					     T("2020-12-04T11:00:00Z"), T("2020-12-04T11:00:00Z"), NULL));
	incident_t *november = s_new(3, "rdp-1", 2, false);
	assert_non_null(incident_apply_event(november, &s_cfg, DETECTED, &ev,
					     T("2020-11-30T10:00:00Z"), T("2020-11-30T10:00:00Z"), NULL));
	json_t *r = s_report("2020-12", "2021-01-10T00:00:00Z", NULL);
	json_t *p = json_array_get(json_object_get(r, "providers"), 0);
	assert_int_equal(json_integer_value(json_object_get(p, "opened")), 2);
	assert_int_equal(json_integer_value(json_object_get(p, "user_first")), 1);
	json_decref(r);
	r = s_report("2020-11", "2021-01-10T00:00:00Z", NULL);
	p = json_array_get(json_object_get(r, "providers"), 0);
	assert_int_equal(json_integer_value(json_object_get(p, "user_first")), 1);
	json_decref(r);
}

/*
 * A user-first breach is counted in the month of the user's report even when the rule's stop,
 * on a reported clock, is dated in an earlier month: the provider said in November that it
 * had notified, but its notification arrived in December, after a user's call.
 */
static void test_user_first_breach_after_a_reported_stop(void **state)
{
	(void)state;
	config_rule_t saved = s_rules[0];
	s_rules[0].before_user = true;
	s_rules[0].stop_clock_reported = true;
	incident_t *inc = s_new(1, "rdp-1", 2, false);
	s_stage_rx(inc, DETECTED, "2020-11-30T23:50:00Z", "2020-11-30T23:50:00Z"); /* due 00:20 */
	wire_event_t ev = s_event("rdp-1", DETECTED, 2, false);
	ev.source = SOURCE_USER;
	assert_non_null(incident_apply_event(inc, &s_cfg, DETECTED, &ev, T("2020-12-01T00:05:00Z"),
					     T("2020-12-01T00:05:00Z"), NULL));
	s_stage_rx(inc, NOTIFIED, "2020-11-30T23:55:00Z", "2020-12-01T00:10:00Z");
	json_t *r = s_report("2020-12", "2021-01-10T00:00:00Z", NULL);
	s_rules[0] = saved;
	json_t *p = json_array_get(json_object_get(r, "providers"), 0);
	json_t *pn = json_object_get(json_object_get(p, "sla"), "provider_notification");
	assert_int_equal(json_integer_value(json_object_get(pn, "breached")), 1);
	assert_int_equal(json_integer_value(json_object_get(pn, "met")), 0);
	json_decref(r);
}

int main(void)
{
	s_config_init();
	/* The calendar's zone is the process's, as the daemon sets it at start-up. */
	setenv("TZ", s_cfg.calendar.timezone, 1);
	tzset();
	calendar_zone_changed();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_month_parse, s_teardown),
		cmocka_unit_test_teardown(test_december_2020, s_teardown),
		cmocka_unit_test_teardown(test_open_ids_sorted, s_teardown),
		cmocka_unit_test_teardown(test_incidents_across_months, s_teardown),
		cmocka_unit_test_teardown(test_rule_figures, s_teardown),
		cmocka_unit_test_teardown(test_percent_rounding, s_teardown),
		cmocka_unit_test_teardown(test_provider_filter, s_teardown),
		cmocka_unit_test_teardown(test_many_providers, s_teardown),
		cmocka_unit_test_teardown(test_report_wants, s_teardown),
		cmocka_unit_test_teardown(test_user_first_count, s_teardown),
		cmocka_unit_test_teardown(test_user_first_breach_after_a_reported_stop, s_teardown),
		cmocka_unit_test_teardown(test_measure_17_of_23, s_measures_teardown),
		cmocka_unit_test_teardown(test_measure_gaps, s_measures_teardown),
		cmocka_unit_test_teardown(test_measure_levels, s_measures_teardown),
		cmocka_unit_test_teardown(test_measure_categories, s_measures_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
