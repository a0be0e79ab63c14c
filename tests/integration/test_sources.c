/*
 * Reports from several sources, against the real daemon on its built-in (shipped) policy:
 * each source's report of a stage kept side by side, order checked within a source, a user's
 * call before the provider's notification (user_first, the before_user breach, once, across a
 * restart), the operator's acknowledgement clock starting at the notification's arrival, an
 * operator's record made "now" not blocking the provider's earlier one, max_clock_skew, and a
 * store written by 0.1.0 opened and migrated.
 *
 * Times are relative to now (the daemon refuses times in the future); arrivals are the order
 * of the pushes.
 */
#include "checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIN_MS INT64_C(60000)

/* An event of stage from source, reported at `at` (ms). */
static json_t *s_report(const char *provider, const char *event_id, const char *ref,
			const char *stage, const char *source, int64_t at)
{
	char text[32];
	utc_ms_format(at, text);
	json_t *ev = h_event(provider, event_id, ref, stage);
	json_object_set_new(ev, "source", json_string(source));
	json_object_set_new(ev, "at", json_string(text));
	return ev;
}

/* The same, opening the incident: category 2, a title. */
static json_t *s_opening(const char *provider, const char *event_id, const char *ref,
			 const char *stage, const char *source, int64_t at)
{
	json_t *ev = s_report(provider, event_id, ref, stage, source, at);
	json_object_set_new(ev, "category", json_integer(2));
	json_object_set_new(ev, "title", json_string("Broadband down in the north"));
	return ev;
}

/* The breaches op's list for the incident (new reference). */
static json_t *s_breaches_of(h_daemon_t *d, const char *incident)
{
	json_t *r = h_requestf(d, "{s:s}", "op", "breaches");
	CHECK_OK(r);
	json_t *out = json_array();
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(r, "breaches"), i, b)
		if (strcmp(json_string_value(json_object_get(b, "incident")), incident) == 0)
			json_array_append(out, b);
	json_decref(r);
	return out;
}

/* The verdict object of rule in a get record. */
static const json_t *s_verdict(const json_t *inc, const char *rule)
{
	const json_t *v = json_object_get(json_object_get(inc, "verdicts"), rule);
	if (!json_is_object(v))
		fail_msg("no verdict for %s in %s", rule, h_dump(inc));
	return v;
}

/* The ids of a list reply with the given filter value of user_first. */
static bool s_listed(h_daemon_t *d, const char *incident, bool user_first)
{
	json_t *r = h_requestf(d, "{s:s, s:s, s:b}", "op", "list", "status", "all", "user_first",
			       user_first);
	CHECK_OK(r);
	bool found = false;
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(r, "incidents"), i, row) {
		if (json_is_true(json_object_get(row, "user_first")) != user_first)
			fail_msg("list user_first=%d gave %s", user_first, h_dump(row));
		found = found || strcmp(json_string_value(json_object_get(row, "id")), incident) == 0;
	}
	json_decref(r);
	return found;
}

/*
 * The seed's incident: a service user calls the operator first (detected, source user); the
 * provider's monitoring had detected it 40 minutes earlier, reported after the call; the
 * provider's notification comes late. On record: all three reports; user_first; one
 * provider_notification breach, "user_first", due at the call's arrival, stopped by the
 * notification; its verdict breached; the report counts the incident as user-first. Nothing
 * more after a restart, nor from a second user report.
 */
static void test_seed_story(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	char inc[32];

	int64_t call_arrival = h_now_ms();
	json_t *r = PUSH(d, s_opening("csp-north", "op-call-1", "N-1", "detected", "user",
				      now - 20 * MIN_MS));
	CHECK_OK(r);
	snprintf(inc, sizeof inc, "%s", json_string_value(json_object_get(r, "incident")));
	json_t *b = json_array_get(json_object_get(r, "breaches"), 0);
	if (json_array_size(json_object_get(r, "breaches")) != 1)
		fail_msg("the user's call should breach provider_notification: %s", h_dump(r));
	CHECK_STR(b, "sla", "provider_notification");
	CHECK_STR(b, "detected", "user_first");
	CHECK_NULL(b, "stopped_at");
	char due_text[32];
	snprintf(due_text, sizeof due_text, "%s", json_string_value(json_object_get(b, "due")));
	int64_t due = h_parse_utc_ms(due_text);
	assert_true(due >= call_arrival - 1000 && due <= h_now_ms());
	json_decref(r);

	/* The provider's monitoring saw it first; its report arrives after the call. */
	r = PUSH(d, s_report("csp-north", "mon-1", "N-1", "detected", "monitoring",
			     now - 60 * MIN_MS));
	CHECK_OK(r);
	assert_int_equal(json_array_size(json_object_get(r, "breaches")), 0);
	json_decref(r);
	/* Its notification, 55 minutes after its detection. */
	int64_t told_arrival = h_now_ms();
	r = PUSH(d, s_report("csp-north", "n-1", "N-1", "notified", "provider", now - 5 * MIN_MS));
	CHECK_OK(r);
	assert_int_equal(json_array_size(json_object_get(r, "breaches")), 0);
	json_decref(r);

	json_t *got = GET_INCIDENT(d, inc);
	CHECK_TRUE(got, "user_first");
	json_t *timeline = json_object_get(got, "timeline");
	assert_int_equal(json_array_size(timeline), 3);
	/* Stage order, then reported time: monitoring's detection, the user's, the notification. */
	CHECK_STR(json_array_get(timeline, 0), "source", "monitoring");
	CHECK_STR(json_array_get(timeline, 1), "source", "user");
	CHECK_STR(json_array_get(timeline, 2), "stage", "notified");
	/* opened_at is the earliest report of any source: the monitoring's. */
	char opened[32];
	utc_ms_format(now - 60 * MIN_MS, opened);
	CHECK_STR(got, "opened_at", opened);
	const json_t *v = s_verdict(got, "provider_notification");
	CHECK_STR(v, "verdict", "breached");
	CHECK_STR(v, "due", due_text);
	/* The acknowledgement clock starts at the notification's arrival: 15 minutes from then. */
	v = s_verdict(got, "operator_acknowledgement");
	CHECK_STR(v, "verdict", "pending");
	int64_t ack_due = h_parse_utc_ms(json_string_value(json_object_get(v, "due")));
	assert_true(ack_due >= told_arrival + 15 * MIN_MS - 1000 &&
		    ack_due <= h_now_ms() + 15 * MIN_MS);
	json_decref(got);

	/* Pending deadlines: not the breached rule's; the acknowledgement's and resolution's. */
	r = h_requestf(d, "{s:s, s:s}", "op", "deadlines", "provider", "csp-north");
	CHECK_OK(r);
	size_t i;
	json_t *row;
	bool ack = false, resolution = false;
	json_array_foreach(json_object_get(r, "deadlines"), i, row) {
		const char *sla = json_string_value(json_object_get(row, "sla"));
		if (strcmp(sla, "provider_notification") == 0)
			fail_msg("a breached rule has no pending deadline: %s", h_dump(r));
		ack = ack || strcmp(sla, "operator_acknowledgement") == 0;
		resolution = resolution || strcmp(sla, "resolution") == 0;
	}
	assert_true(ack && resolution);
	json_decref(r);

	json_t *mine = s_breaches_of(d, inc);
	assert_int_equal(json_array_size(mine), 1);
	b = json_array_get(mine, 0);
	CHECK_STR(b, "detected", "user_first");
	int64_t stopped = h_parse_utc_ms(json_string_value(json_object_get(b, "stopped_at")));
	assert_true(stopped >= told_arrival - 1000 && stopped <= h_now_ms());
	json_decref(mine);

	assert_true(s_listed(d, inc, true));
	assert_false(s_listed(d, inc, false));

	/*
	 * The report: opened (and user-first) in the month of the first report, breached in the
	 * month of the call (its due time): the same month, unless the test runs in the first hour
	 * of one.
	 */
	char month[8], due_month[8];
	snprintf(month, sizeof month, "%.7s", opened);
	utc_ms_format(due, opened);
	snprintf(due_month, sizeof due_month, "%.7s", opened);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "report", "month", month, "provider",
		       "csp-north");
	CHECK_OK(r);
	json_t *prov = json_array_get(json_object_get(r, "providers"), 0);
	CHECK_INT(prov, "user_first", 1);
	json_t *pn = json_object_get(json_object_get(prov, "sla"), "provider_notification");
	CHECK_INT(pn, "breached", strcmp(month, due_month) == 0 ? 1 : 0);
	CHECK_INT(pn, "met", 0);
	json_decref(r);
	h_run_t run;
	CTL(d, &run, "report", "--month", month, "--provider", "csp-north");
	CHECK_EXIT(&run, 0);
	expect_in(run.out, "USER_FIRST", "the report's header");
	expect_in(run.out, "csp-north  1       1", "the report's row: opened 1, user-first 1");
	h_run_clear(&run);

	/* incidentctl shows it: show's header, list --user-first. */
	CTL(d, &run, "show", "csp-north/N-1");
	CHECK_EXIT(&run, 0);
	expect_in(run.out, "user first  yes", "show");
	expect_in(run.out, "user_first", "show's breach row");
	h_run_clear(&run);
	CTL(d, &run, "list", "--user-first", "--status", "all");
	CHECK_EXIT(&run, 0);
	expect_in(run.out, inc, "list --user-first");
	expect_in(run.out, "USER_FIRST", "list's header");
	h_run_clear(&run);

	/* Once per incident and rule: not again after a restart, nor for another user report. */
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	r = PUSH(d, s_report("csp-north", "op-call-2", "N-1", "workaround", "user", h_now_ms()));
	CHECK_OK(r);
	assert_int_equal(json_array_size(json_object_get(r, "breaches")), 0);
	json_decref(r);
	mine = s_breaches_of(d, inc);
	assert_int_equal(json_array_size(mine), 1);
	json_decref(mine);
	h_pass(d);
}

/*
 * A stage once per incident and source: the same source again is conflict, another source is
 * its own report. Order is checked within a source only.
 */
static void test_one_report_per_stage_and_source(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	char inc[32];
	PUSH_OK(d, s_opening("acme", "a-1", "A-1", "detected", "provider", now - 30 * MIN_MS), inc);
	json_t *r = PUSH(d, s_report("acme", "a-2", "A-1", "detected", "provider", now - 40 * MIN_MS));
	CHECK_ERROR(r, "conflict", "stage");
	expect_in(h_error_message(r), "detected from provider", "the conflict's message");
	json_decref(r);
	r = PUSH(d, s_report("acme", "a-3", "A-1", "detected", "operator", now - 40 * MIN_MS));
	CHECK_OK(r);
	json_decref(r);
	/* The provider's notified before its own detection: invalid_transition naming both. */
	r = PUSH(d, s_report("acme", "a-4", "A-1", "notified", "provider", now - 35 * MIN_MS));
	CHECK_ERROR(r, "invalid_transition", "at");
	expect_in(h_error_message(r), "detected", "the transition's message");
	json_decref(r);
	/* The operator's detection (40 minutes ago) does not constrain the provider's own times. */
	r = PUSH(d, s_report("acme", "a-5", "A-1", "notified", "provider", now - 25 * MIN_MS));
	CHECK_OK(r);
	json_decref(r);
	json_t *got = GET_INCIDENT(d, inc);
	json_t *timeline = json_object_get(got, "timeline");
	assert_int_equal(json_array_size(timeline), 3);
	CHECK_STR(json_array_get(timeline, 0), "source", "operator");
	CHECK_STR(json_array_get(timeline, 0), "event_id", "a-3");
	CHECK_STR(json_array_get(timeline, 1), "event_id", "a-1");
	CHECK_NULL(json_array_get(timeline, 1), "by");
	CHECK_FALSE(got, "user_first");
	json_decref(got);
	assert_int_equal(STATUS_COUNT(d, "events"), 3);
	h_pass(d);
}

/*
 * The trial's finding: an operator's stage recorded without --at (now) made the provider's
 * real, earlier resolution invalid_transition. Now each source is ordered on its own, and the
 * incident resolves at the earliest report.
 */
static void test_operator_now_does_not_block_provider(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	char inc[32];
	PUSH_OK(d, s_opening("acme", "b-1", "B-1", "detected", "provider", now - 90 * MIN_MS), inc);
	json_t *ev = h_event("acme", "b-2", "B-1", "resolved");
	json_object_set_new(ev, "source", json_string("operator"));
	json_t *r = PUSH(d, ev);
	CHECK_OK(r);
	CHECK_STR(r, "status", "resolved");
	json_decref(r);
	r = PUSH(d, s_report("acme", "b-3", "B-1", "resolved", "provider", now - 60 * MIN_MS));
	CHECK_OK(r);
	json_decref(r);
	json_t *got = GET_INCIDENT(d, inc);
	const json_t *v = s_verdict(got, "resolution");
	CHECK_STR(v, "verdict", "met");
	char at[32];
	utc_ms_format(now - 60 * MIN_MS, at);
	CHECK_STR(v, "stopped_at", at);
	json_decref(got);
	h_pass(d);
}

/* A user's report after the provider's notification: not user-first, no before_user breach. */
static void test_user_after_notification(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	char inc[32];
	PUSH_OK(d, s_opening("acme", "c-1", "C-1", "detected", "monitoring", now - 10 * MIN_MS), inc);
	json_t *r = PUSH(d, s_report("acme", "c-2", "C-1", "notified", "provider", now - 5 * MIN_MS));
	CHECK_OK(r);
	json_decref(r);
	r = PUSH(d, s_report("acme", "c-3", "C-1", "detected", "user", now - 2 * MIN_MS));
	CHECK_OK(r);
	assert_int_equal(json_array_size(json_object_get(r, "breaches")), 0);
	json_decref(r);
	json_t *got = GET_INCIDENT(d, inc);
	CHECK_FALSE(got, "user_first");
	CHECK_STR(s_verdict(got, "provider_notification"), "verdict", "met");
	json_decref(got);
	json_t *mine = s_breaches_of(d, inc);
	assert_int_equal(json_array_size(mine), 0);
	json_decref(mine);
	assert_false(s_listed(d, inc, true));
	assert_true(s_listed(d, inc, false));
	h_pass(d);
}

/*
 * A user's report of an incident whose provider deadline had already passed: the breach is the
 * deadline's (on arrival here), not a user_first one; still one breach.
 */
static void test_user_after_deadline_passed(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	char inc[32];
	json_t *r = PUSH(d, s_opening("acme", "e-1", "E-1", "detected", "provider", now - 45 * MIN_MS));
	CHECK_OK(r);
	snprintf(inc, sizeof inc, "%s", json_string_value(json_object_get(r, "incident")));
	json_t *b = json_array_get(json_object_get(r, "breaches"), 0);
	CHECK_STR(b, "sla", "provider_notification");
	CHECK_STR(b, "detected", "on_arrival");
	json_decref(r);
	r = PUSH(d, s_report("acme", "e-2", "E-1", "detected", "user", now - 1 * MIN_MS));
	CHECK_OK(r);
	assert_int_equal(json_array_size(json_object_get(r, "breaches")), 0);
	json_decref(r);
	json_t *mine = s_breaches_of(d, inc);
	assert_int_equal(json_array_size(mine), 1);
	json_decref(mine);
	json_t *got = GET_INCIDENT(d, inc);
	CHECK_TRUE(got, "user_first"); /* still: the user told the operator before the provider */
	json_decref(got);
	h_pass(d);
}

/* incidentctl push says what a user-first breach is, not "late by 0s". */
static void test_push_says_user_first(void **state)
{
	h_daemon_t *d = *state;
	h_run_t run;
	CTL(d, &run, "push", "--provider", "acme", "--event-id", "desk-1", "--ref", "U-1", "--stage",
	    "detected", "--source", "user", "--category", "2", "--title", "Down");
	CHECK_EXIT(&run, 0);
	expect_in(run.out, "breach provider_notification: a user reported it first", "push");
	h_run_clear(&run);
	h_pass(d);
}

/* An `at` further in the future than max_clock_skew (5m by default) is bad_request. */
static void test_times_in_the_future_refused(void **state)
{
	h_daemon_t *d = *state;
	json_t *r = PUSH(d, s_opening("acme", "f-1", "F-1", "detected", "provider",
				      h_now_ms() + 10 * MIN_MS));
	CHECK_ERROR(r, "bad_request", "at");
	expect_in(h_error_message(r), "in the future", "the message");
	json_decref(r);
	r = PUSH(d, s_opening("acme", "f-1", "F-1", "detected", "provider",
			      h_now_ms() + 4 * 365 * 24 * 60 * MIN_MS));
	CHECK_ERROR(r, "bad_request", "at");
	json_decref(r);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 0);
	/* A minute ahead is a clock's skew, accepted. */
	r = PUSH(d, s_opening("acme", "f-2", "F-2", "detected", "provider", h_now_ms() + MIN_MS));
	CHECK_OK(r);
	json_decref(r);
	h_pass(d);
}

/* max_clock_skew = 1ms: nothing after its arrival. */
static const char s_no_skew_conf[] = "[daemon]\nmax_clock_skew = 1ms\n"
				     "[sla notify]\nstart = detected\nstop = notified\n"
				     "category.2 = 30m\n";

static void test_max_clock_skew_configured(void **state)
{
	h_daemon_t *d = *state;
	json_t *r = PUSH(d, s_opening("acme", "g-1", "G-1", "detected", "provider",
				      h_now_ms() + 30000));
	CHECK_ERROR(r, "bad_request", "at");
	json_decref(r);
	r = PUSH(d, s_opening("acme", "g-2", "G-2", "detected", "provider", h_now_ms() - 1000));
	CHECK_OK(r);
	json_decref(r);
	h_pass(d);
}

static int s_setup_no_skew(void **state)
{
	return setup_daemon_with(state, s_no_skew_conf);
}

/* Copies the fixture file into dir (mode 0600). Returns 0 or -1. */
static int s_copy(const char *from, const char *dir, const char *name)
{
	char to[H_PATH_MAX + 32];
	snprintf(to, sizeof to, "%s/%s", dir, name);
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char buf[65536];
	size_t n;
	int rc = in && out ? 0 : -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
		rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

/*
 * A store written by 0.1.0 (tests/fixtures/store-v2, see its make.sh): the daemon migrates it
 * at start-up (logged), keeps every incident and breach, reports its month from the rewritten
 * digests, and takes the provider's own detection of the incident a user reported, which 0.1.0
 * refused as a conflict.
 */
static void test_upgrade_from_0_1_0(void **state)
{
	(void)state;
	h_daemon_t *d = h_new(NULL);
	assert_non_null(d);
	assert_int_equal(mkdir(d->data_dir, 0700), 0);
	assert_int_equal(s_copy(INCIDENTD_FIXTURES "/store-v2/data.mdb", d->data_dir, "data.mdb"), 0);
	assert_int_equal(h_start(d), 0);
	assert_true(h_log_count(d, "store: schema 2 -> 3: rewrote 3 incident digests") == 1);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 3);
	assert_int_equal(STATUS_COUNT(d, "breaches"), 8);

	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "report", "month", "2026-11");
	CHECK_OK(r);
	json_t *providers = json_object_get(r, "providers");
	assert_int_equal(json_array_size(providers), 2);
	json_t *acme = json_array_get(providers, 0), *beta = json_array_get(providers, 1);
	CHECK_STR(acme, "provider", "acme");
	CHECK_INT(acme, "opened", 2);
	CHECK_INT(acme, "resolved", 1);
	CHECK_INT(acme, "user_first", 0);
	CHECK_STR(beta, "provider", "beta");
	CHECK_INT(beta, "user_first", 1);
	json_decref(r);

	json_t *got = GET_INCIDENT(d, "INC000000000002");
	CHECK_TRUE(got, "user_first");
	CHECK_STR(json_array_get(json_object_get(got, "timeline"), 0), "source", "user");
	json_decref(got);
	r = PUSH(d, s_report("beta", "b3", "B-7", "detected", "monitoring",
			     h_parse_utc_ms("2026-11-03T09:50:00.000Z")));
	CHECK_OK(r);
	json_decref(r);
	got = GET_INCIDENT(d, "INC000000000002");
	assert_int_equal(json_array_size(json_object_get(got, "timeline")), 3);
	CHECK_STR(got, "opened_at", "2026-11-03T09:50:00.000Z");
	json_decref(got);

	/* Once migrated, a restart has nothing more to do. */
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	assert_true(h_log_count(d, "schema 2 -> 3") == 1);
	h_pass(d);
	h_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_seed_story),
		DAEMON_TEST(test_one_report_per_stage_and_source),
		DAEMON_TEST(test_operator_now_does_not_block_provider),
		DAEMON_TEST(test_user_after_notification),
		DAEMON_TEST(test_user_after_deadline_passed),
		DAEMON_TEST(test_times_in_the_future_refused),
		DAEMON_TEST(test_push_says_user_first),
		cmocka_unit_test_setup_teardown(test_max_clock_skew_configured, s_setup_no_skew,
						teardown_daemon),
		cmocka_unit_test(test_upgrade_from_0_1_0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
