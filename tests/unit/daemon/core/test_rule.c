/*
 * Tests of daemon/core/rule.c: which rules apply, due and stop times of both kinds of rule, and
 * verdicts.
 *
 * Every expectation is a UTC instant; the calendar is Europe/London's (on GMT in January).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/core/calendar.h"
#include "daemon/core/rule.h"
#include "proto/rfc3339.h"

#define MINUTE_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)

#define MON_FRI 0x3eu /* bits 1 (Monday) .. 5 (Friday) */

/* mon-fri, 08:00-18:00, Europe/London, no holidays. */
static config_calendar_t s_cal = {
	.days = MON_FRI,
	.start_minute = 8 * 60,
	.end_minute = 18 * 60,
	.timezone = "Europe/London",
};

/* An RFC 3339 literal as ms. */
static int64_t T(const char *text)
{
	int64_t ms = 0;
	if (rfc3339_parse(text, &ms) != 0)
		fail_msg("bad time literal %s", text);
	return ms;
}

static config_duration_t s_clock(int64_t ms)
{
	return (config_duration_t){ .kind = DURATION_CLOCK, .value = ms };
}

/* --- rules and verdicts -------------------------------------------------------------------- */

enum { DETECTED, NOTIFIED, ACKNOWLEDGED, MAJOR_DECLARED, RESOLVED, CLOSED, N_STAGES };

static char *s_stage_names[] = { "detected", "notified", "acknowledged", "major_declared",
				 "resolved", "closed" };

static config_t s_config(void)
{
	config_t cfg = { 0 };
	for (int i = 0; i < N_STAGES; i++)
		cfg.stages[i] = s_stage_names[i];
	cfg.n_stages = N_STAGES;
	cfg.resolved_stage = RESOLVED;
	cfg.notified_stage = NOTIFIED;
	cfg.closed_stage = CLOSED;
	cfg.major_stage = MAJOR_DECLARED;
	cfg.calendar = s_cal;
	return cfg;
}

/* detected -> notified, category 2 within 30 minutes on the clock, stop clock received. */
static config_rule_t s_rule(void)
{
	config_rule_t rule = { .name = "provider_notification", .kind = RULE_SLA,
			       .start_sources = WIRE_ALL_SOURCES, .stop_sources = WIRE_ALL_SOURCES,
			       .start = DETECTED, .stop = NOTIFIED };
	rule.has_target[1] = rule.has_target[2] = true;
	rule.target[1] = s_clock(30 * MINUTE_MS);
	rule.target[2] = s_clock(30 * MINUTE_MS);
	return rule;
}

static wire_event_t s_event(const char *event_id, const char *stage, int category)
{
	return (wire_event_t){
		.provider = "csp-north",
		.event_id = event_id,
		.ref = "R-1",
		.stage = stage,
		.category = category,
		.title = "Comms hubs offline",
		.source = SOURCE_PROVIDER,
	};
}

static incident_t *s_incident(int category)
{
	wire_event_t ev = s_event("E1", "detected", category);
	incident_t *inc = incident_new(1, &ev);
	assert_non_null(inc);
	return inc;
}

/* Records stage reported at at_ms and received at received_ms. */
static void s_record(incident_t *inc, const config_t *cfg, int stage, int64_t at_ms,
		     int64_t received_ms)
{
	char id[16];
	snprintf(id, sizeof id, "E%d", stage + 1);
	wire_event_t ev = s_event(id, s_stage_names[stage], inc->category);
	assert_non_null(incident_apply_event(inc, cfg, stage, &ev, at_ms, received_ms, NULL));
}

/* Records source's report of stage, reported at at_ms and received at received_ms. */
static void s_record_from(incident_t *inc, const config_t *cfg, int stage, wire_source_t source,
			  int64_t at_ms, int64_t received_ms)
{
	char id[32];
	snprintf(id, sizeof id, "E%d-%s", stage + 1, wire_source_name(source));
	wire_event_t ev = s_event(id, s_stage_names[stage], inc->category);
	ev.source = source;
	assert_non_null(incident_apply_event(inc, cfg, stage, &ev, at_ms, received_ms, NULL));
}

#define SRC(s) (1u << (s))

static void test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(rule_verdict_name(VERDICT_NOT_STARTED), "not_started");
	assert_string_equal(rule_verdict_name(VERDICT_PENDING), "pending");
	assert_string_equal(rule_verdict_name(VERDICT_MET), "met");
	assert_string_equal(rule_verdict_name(VERDICT_BREACHED), "breached");
}

static void test_rule_applies(void **state)
{
	(void)state;
	config_rule_t rule = s_rule();
	incident_t *inc = s_incident(2);
	assert_true(rule_applies(&rule, inc));
	inc->category = 3; /* no target for category 3 */
	assert_false(rule_applies(&rule, inc));
	inc->category = 1;
	rule.major_only = true;
	assert_false(rule_applies(&rule, inc));
	inc->major = true;
	assert_true(rule_applies(&rule, inc));
	incident_destroy(&inc);
}

static void test_verdict_not_started(void **state)
{
	(void)state;
	config_t cfg = s_config();
	config_rule_t rule = s_rule();
	incident_t *inc = s_incident(2);
	int64_t t = T("2021-01-12T03:14:00Z");
	rule_verdict_t v = rule_verdict(&cfg, &rule, inc, t);
	assert_int_equal(v.kind, VERDICT_NOT_STARTED);
	/* A stop stage alone does not start the clock. */
	s_record(inc, &cfg, NOTIFIED, t, t);
	v = rule_verdict(&cfg, &rule, inc, t + DAY_MS);
	assert_int_equal(v.kind, VERDICT_NOT_STARTED);
	incident_destroy(&inc);
}

static void test_verdict_pending_then_breached_unstopped(void **state)
{
	(void)state;
	config_t cfg = s_config();
	config_rule_t rule = s_rule();
	incident_t *inc = s_incident(2);
	int64_t t = T("2021-01-12T03:14:00Z");
	s_record(inc, &cfg, DETECTED, t, t + MINUTE_MS);

	rule_verdict_t v = rule_verdict(&cfg, &rule, inc, t + 10 * MINUTE_MS);
	assert_int_equal(v.kind, VERDICT_PENDING);
	assert_int_equal(v.due, t + 30 * MINUTE_MS); /* from the reported time */
	assert_int_equal(v.remaining_ms, 20 * MINUTE_MS);
	assert_true(v.stopped_at == INT64_MIN);

	v = rule_verdict(&cfg, &rule, inc, t + 30 * MINUTE_MS); /* at the deadline: still in time */
	assert_int_equal(v.kind, VERDICT_PENDING);
	assert_int_equal(v.remaining_ms, 0);

	v = rule_verdict(&cfg, &rule, inc, t + 50 * MINUTE_MS);
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.late_by_ms, 20 * MINUTE_MS);
	assert_true(v.stopped_at == INT64_MIN);
	incident_destroy(&inc);
}

static void test_verdict_met_at_due_breached_one_ms_later(void **state)
{
	(void)state;
	config_t cfg = s_config();
	config_rule_t rule = s_rule();
	int64_t t = T("2021-01-12T03:14:00Z");
	int64_t due = t + 30 * MINUTE_MS;

	incident_t *inc = s_incident(2);
	s_record(inc, &cfg, DETECTED, t, t);
	s_record(inc, &cfg, NOTIFIED, due - MINUTE_MS, due); /* received exactly at due */
	rule_verdict_t v = rule_verdict(&cfg, &rule, inc, due + DAY_MS);
	assert_int_equal(v.kind, VERDICT_MET);
	assert_int_equal(v.due, due);
	assert_int_equal(v.stopped_at, due);
	incident_destroy(&inc);

	inc = s_incident(2);
	s_record(inc, &cfg, DETECTED, t, t);
	s_record(inc, &cfg, NOTIFIED, due - MINUTE_MS, due + 1);
	v = rule_verdict(&cfg, &rule, inc, due + DAY_MS);
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.stopped_at, due + 1);
	assert_int_equal(v.late_by_ms, 1);
	/* Stopped: the verdict no longer depends on now. */
	v = rule_verdict(&cfg, &rule, inc, t);
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.late_by_ms, 1);
	incident_destroy(&inc);
}

/* Notified "at 03:20" (within target) but the message arrived at 04:00 (after it). */
static void test_verdict_received_vs_reported_clock(void **state)
{
	(void)state;
	config_t cfg = s_config();
	config_rule_t received = s_rule();
	config_rule_t reported = s_rule();
	reported.stop_clock_reported = true;
	incident_t *inc = s_incident(2);
	s_record(inc, &cfg, DETECTED, T("2021-01-12T03:14:00Z"), T("2021-01-12T03:15:00Z"));
	s_record(inc, &cfg, NOTIFIED, T("2021-01-12T03:20:00Z"), T("2021-01-12T04:00:00Z"));

	assert_int_equal(rule_stop(&received, inc), T("2021-01-12T04:00:00Z"));
	assert_int_equal(rule_stop(&reported, inc), T("2021-01-12T03:20:00Z"));

	rule_verdict_t v = rule_verdict(&cfg, &received, inc, T("2021-01-12T05:00:00Z"));
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.due, T("2021-01-12T03:44:00Z"));
	assert_int_equal(v.late_by_ms, 16 * MINUTE_MS);

	v = rule_verdict(&cfg, &reported, inc, T("2021-01-12T05:00:00Z"));
	assert_int_equal(v.kind, VERDICT_MET);
	assert_int_equal(v.stopped_at, T("2021-01-12T03:20:00Z"));
	incident_destroy(&inc);
}

static void test_stop_time_unrecorded(void **state)
{
	(void)state;
	config_rule_t rule = s_rule();
	incident_t *inc = s_incident(2);
	assert_true(rule_stop(&rule, inc) == INT64_MIN);
	incident_destroy(&inc);
}

/* A working-calendar rule takes its calendar from the config and its target per category. */
static void test_verdict_working_calendar(void **state)
{
	(void)state;
	config_t cfg = s_config();
	config_rule_t rule = s_rule();
	rule.working_calendar = true;
	rule.has_target[4] = true;
	rule.target[4] = s_clock(2 * HOUR_MS);
	incident_t *inc = s_incident(4);
	s_record(inc, &cfg, DETECTED, T("2021-01-15T17:00:00Z"), T("2021-01-15T17:00:00Z"));

	rule_verdict_t v = rule_verdict(&cfg, &rule, inc, T("2021-01-16T12:00:00Z"));
	assert_int_equal(v.kind, VERDICT_PENDING);
	assert_int_equal(v.due, T("2021-01-18T09:00:00Z"));
	assert_int_equal(v.remaining_ms, T("2021-01-18T09:00:00Z") - T("2021-01-16T12:00:00Z"));

	/* The same rule on the clock would have been breached by Saturday. */
	rule.working_calendar = false;
	v = rule_verdict(&cfg, &rule, inc, T("2021-01-16T12:00:00Z"));
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.due, T("2021-01-15T19:00:00Z"));
	incident_destroy(&inc);
}


/* A problem rule is evaluated like any rule; its clock stops at the first link of a problem. */
static void test_problem_rule_stops_at_link(void **state)
{
	(void)state;
	config_t cfg = s_config();
	config_rule_t rule = { .name = "needs_problem", .kind = RULE_PROBLEM, .start_sources = WIRE_ALL_SOURCES, .start = RESOLVED,
			       .stop = -1, .major_only = true };
	for (int c = 1; c <= 5; c++) {
		rule.has_target[c] = true;
		rule.target[c] = s_clock(DAY_MS);
	}
	incident_t *inc = s_incident(3);
	assert_false(rule_applies(&rule, inc)); /* not major */
	inc->major = true;
	assert_true(rule_applies(&rule, inc));
	int64_t t = T("2021-01-12T03:14:00Z");
	s_record(inc, &cfg, DETECTED, t, t);
	assert_int_equal(rule_verdict(&cfg, &rule, inc, t).kind, VERDICT_NOT_STARTED);
	s_record(inc, &cfg, RESOLVED, t + HOUR_MS, t + HOUR_MS);
	/* Recording the stage that would stop an SLA rule does nothing to it. */
	s_record(inc, &cfg, CLOSED, t + 2 * HOUR_MS, t + 2 * HOUR_MS);
	rule_verdict_t v = rule_verdict(&cfg, &rule, inc, t + 2 * DAY_MS);
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.due, t + HOUR_MS + DAY_MS);
	assert_true(rule_stop(&rule, inc) == INT64_MIN);
	assert_int_equal(incident_note_first_link(inc, t + 3 * HOUR_MS), 0);
	assert_int_equal(rule_stop(&rule, inc), t + 3 * HOUR_MS);
	v = rule_verdict(&cfg, &rule, inc, t + 2 * DAY_MS);
	assert_int_equal(v.kind, VERDICT_MET);
	assert_int_equal(v.stopped_at, t + 3 * HOUR_MS);
	incident_destroy(&inc);
}

static void test_rule_find(void **state)
{
	(void)state;
	config_rule_t rules[2] = { { .name = "a" }, { .name = "bb" } };
	config_t cfg = { .rules = rules, .n_rules = 2 };
	assert_int_equal(rule_find(&cfg, "bb", 2), 1);
	assert_int_equal(rule_find(&cfg, "bbx", 2), 1);
	assert_int_equal(rule_find(&cfg, "b", 1), -1);
	assert_int_equal(rule_find(&cfg, "a", 1), 0);
}

/*
 * A rule counts only its sources: a user's detection does not start a provider rule; the
 * earliest report among the start sources starts it, by its reported time or its arrival
 * (start_clock); a user's notified does not stop it, the provider's does.
 */
static void test_start_and_stop_sources_and_clocks(void **state)
{
	(void)state;
	config_t cfg = s_config();
	config_rule_t rule = s_rule();
	rule.start_sources = SRC(SOURCE_PROVIDER) | SRC(SOURCE_MONITORING);
	rule.stop_sources = SRC(SOURCE_PROVIDER);
	incident_t *inc = s_incident(2);
	int64_t t0 = T("2021-01-12T03:00:00Z");

	s_record_from(inc, &cfg, DETECTED, SOURCE_USER, t0, t0 + MINUTE_MS);
	assert_int_equal(rule_start(&rule, inc), INT64_MIN);
	assert_int_equal(rule_verdict(&cfg, &rule, inc, t0 + DAY_MS).kind, VERDICT_NOT_STARTED);
	/* A stage's time for everything else: the earliest report of any source. */
	assert_int_equal(incident_stage_time(inc, DETECTED, WIRE_ALL_SOURCES, false), t0);

	s_record_from(inc, &cfg, DETECTED, SOURCE_PROVIDER, t0 + 20 * MINUTE_MS, t0 + 40 * MINUTE_MS);
	s_record_from(inc, &cfg, DETECTED, SOURCE_MONITORING, t0 - 10 * MINUTE_MS, t0 + 30 * MINUTE_MS);
	assert_int_equal(rule_start(&rule, inc), t0 - 10 * MINUTE_MS);
	assert_int_equal(rule_due(&cfg, &rule, inc), t0 + 20 * MINUTE_MS);
	rule.start_clock_received = true; /* the earliest arrival: the monitoring's */
	assert_int_equal(rule_start(&rule, inc), t0 + 30 * MINUTE_MS);
	assert_int_equal(rule_due(&cfg, &rule, inc), t0 + 60 * MINUTE_MS);

	s_record_from(inc, &cfg, NOTIFIED, SOURCE_USER, t0 + 5 * MINUTE_MS, t0 + 6 * MINUTE_MS);
	assert_int_equal(rule_stop(&rule, inc), INT64_MIN);
	s_record_from(inc, &cfg, NOTIFIED, SOURCE_PROVIDER, t0 + 45 * MINUTE_MS, t0 + 50 * MINUTE_MS);
	assert_int_equal(rule_stop(&rule, inc), t0 + 50 * MINUTE_MS);
	assert_int_equal(rule_stop_arrival(&rule, inc), t0 + 50 * MINUTE_MS);
	rule.stop_clock_reported = true;
	assert_int_equal(rule_stop(&rule, inc), t0 + 45 * MINUTE_MS);
	rule_verdict_t v = rule_verdict(&cfg, &rule, inc, t0 + DAY_MS);
	assert_int_equal(v.kind, VERDICT_MET);
	incident_destroy(&inc);
}

/*
 * before_user: the first user report, arriving while the rule had no stop and was not past
 * due, is the breach (due at its arrival, late until the stop or now); otherwise there is none
 * and the verdict is the rule's own.
 */
static void test_user_first_breach(void **state)
{
	(void)state;
	config_t cfg = s_config();
	config_rule_t rule = s_rule();
	rule.start_sources = SRC(SOURCE_PROVIDER) | SRC(SOURCE_MONITORING);
	rule.stop_sources = SRC(SOURCE_PROVIDER);
	int64_t t0 = T("2021-01-12T03:00:00Z");

	/* The seed: the user calls first, the monitoring's earlier detection comes later. */
	incident_t *inc = s_incident(2);
	s_record_from(inc, &cfg, DETECTED, SOURCE_USER, t0, t0 + MINUTE_MS);
	assert_int_equal(rule_user_first_due(&cfg, &rule, inc), INT64_MIN); /* not before_user */
	rule.before_user = true;
	assert_int_equal(rule_user_first_due(&cfg, &rule, inc), t0 + MINUTE_MS);
	rule_verdict_t v = rule_verdict(&cfg, &rule, inc, t0 + 11 * MINUTE_MS);
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.due, t0 + MINUTE_MS);
	assert_int_equal(v.late_by_ms, 10 * MINUTE_MS);
	assert_int_equal(v.stopped_at, INT64_MIN);
	s_record_from(inc, &cfg, DETECTED, SOURCE_MONITORING, t0 - 40 * MINUTE_MS, t0 + 2 * MINUTE_MS);
	s_record_from(inc, &cfg, NOTIFIED, SOURCE_PROVIDER, t0 + 2 * MINUTE_MS, t0 + 3 * MINUTE_MS);
	v = rule_verdict(&cfg, &rule, inc, t0 + DAY_MS);
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.due, t0 + MINUTE_MS);
	assert_int_equal(v.stopped_at, t0 + 3 * MINUTE_MS);
	assert_int_equal(v.late_by_ms, 2 * MINUTE_MS);
	assert_true(incident_user_first(inc, &cfg));
	incident_destroy(&inc);

	/* The provider notified first: no user-first breach, a met verdict; not user-first. */
	inc = s_incident(2);
	s_record_from(inc, &cfg, DETECTED, SOURCE_PROVIDER, t0, t0);
	s_record_from(inc, &cfg, NOTIFIED, SOURCE_PROVIDER, t0 + 5 * MINUTE_MS, t0 + 5 * MINUTE_MS);
	s_record_from(inc, &cfg, DETECTED, SOURCE_USER, t0 + 6 * MINUTE_MS, t0 + 6 * MINUTE_MS);
	assert_int_equal(rule_user_first_due(&cfg, &rule, inc), INT64_MIN);
	assert_int_equal(rule_verdict(&cfg, &rule, inc, t0 + DAY_MS).kind, VERDICT_MET);
	assert_false(incident_user_first(inc, &cfg));
	incident_destroy(&inc);

	/* Past due before the user called: the deadline is the breach, not the call. */
	inc = s_incident(2);
	s_record_from(inc, &cfg, DETECTED, SOURCE_PROVIDER, t0, t0);
	s_record_from(inc, &cfg, DETECTED, SOURCE_USER, t0 + 31 * MINUTE_MS, t0 + 31 * MINUTE_MS);
	assert_int_equal(rule_user_first_due(&cfg, &rule, inc), INT64_MIN);
	v = rule_verdict(&cfg, &rule, inc, t0 + 40 * MINUTE_MS);
	assert_int_equal(v.kind, VERDICT_BREACHED);
	assert_int_equal(v.due, t0 + 30 * MINUTE_MS);
	incident_destroy(&inc);

	/*
	 * A start reported far back but arriving after the call does not undo the call's breach:
	 * what counts is what had arrived when the user called.
	 */
	inc = s_incident(2);
	s_record_from(inc, &cfg, DETECTED, SOURCE_USER, t0, t0 + 10 * MINUTE_MS);
	s_record_from(inc, &cfg, DETECTED, SOURCE_MONITORING, t0 - 3 * HOUR_MS, t0 + 20 * MINUTE_MS);
	assert_int_equal(rule_user_first_due(&cfg, &rule, inc), t0 + 10 * MINUTE_MS);
	incident_destroy(&inc);

	/* A user's notified does not count as the provider telling: still user-first. */
	inc = s_incident(2);
	s_record_from(inc, &cfg, NOTIFIED, SOURCE_USER, t0, t0);
	assert_true(incident_user_first(inc, &cfg));
	cfg.notified_stage = -1; /* no notified stage configured: any user report */
	assert_true(incident_user_first(inc, &cfg));
	incident_destroy(&inc);
}

/* Which reports concern a rule: its start and stop sources, becoming major, a user's report. */
static void test_rule_concerns(void **state)
{
	(void)state;
	config_rule_t rule = s_rule();
	rule.start_sources = SRC(SOURCE_PROVIDER) | SRC(SOURCE_MONITORING);
	rule.stop_sources = SRC(SOURCE_PROVIDER);
	assert_true(rule_concerns(&rule, DETECTED, SOURCE_MONITORING, false));
	assert_false(rule_concerns(&rule, DETECTED, SOURCE_USER, false));
	assert_false(rule_concerns(&rule, NOTIFIED, SOURCE_OPERATOR, false));
	assert_false(rule_concerns(&rule, RESOLVED, SOURCE_PROVIDER, false));
	rule.before_user = true;
	assert_true(rule_concerns(&rule, RESOLVED, SOURCE_USER, false));
	rule.major_only = true;
	assert_true(rule_concerns(&rule, RESOLVED, SOURCE_PROVIDER, false));
	assert_false(rule_concerns(&rule, RESOLVED, SOURCE_PROVIDER, true));
}

int main(void)
{
	setenv("TZ", s_cal.timezone, 1);
	tzset();
	calendar_zone_changed();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_rule_applies),
		cmocka_unit_test(test_verdict_not_started),
		cmocka_unit_test(test_verdict_pending_then_breached_unstopped),
		cmocka_unit_test(test_verdict_met_at_due_breached_one_ms_later),
		cmocka_unit_test(test_verdict_received_vs_reported_clock),
		cmocka_unit_test(test_stop_time_unrecorded),
		cmocka_unit_test(test_verdict_working_calendar),
		cmocka_unit_test(test_problem_rule_stops_at_link),
		cmocka_unit_test(test_rule_find),
		cmocka_unit_test(test_start_and_stop_sources_and_clocks),
		cmocka_unit_test(test_user_first_breach),
		cmocka_unit_test(test_rule_concerns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
