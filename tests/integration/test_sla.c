/*
 * SLA rules with targets of a few seconds against the real daemon: when a deadline breach is
 * published (never before the deadline, within a second after it), no breach when the stop
 * stage comes in time, a backfilled start stage breaching on arrival, the reported clock's
 * verdict, deadlines that pass while the daemon is down, pending verdicts, and incidentctl's
 * breaches, show and watch.
 */
#include <signal.h>
#include <unistd.h>

#include "checks.h"

/*
 * The defaults plus:
 *  - quick: detected -> notified, received clock, 2 s for category 1 only;
 *  - reported: the same on the reported clock, 2 s for category 4 only;
 *  - long, ack and major_only: category 2 only, an hour each; ack starts at notified,
 *    major_only applies to major incidents.
 * Category 5 (the harness's warm-up incidents) has only the default 1-day rule.
 */
static const char s_rules[] = "\n[sla quick]\n"
			      "start = detected\n"
			      "stop = notified\n"
			      "stop_clock = received\n"
			      "category.1 = 2s\n"
			      "\n[sla reported]\n"
			      "start = detected\n"
			      "stop = notified\n"
			      "stop_clock = reported\n"
			      "category.4 = 2s\n"
			      "\n[sla long]\n"
			      "start = detected\n"
			      "stop = acknowledged\n"
			      "category.2 = 1h\n"
			      "\n[sla ack]\n"
			      "start = notified\n"
			      "stop = acknowledged\n"
			      "category.2 = 1h\n"
			      "\n[sla major_only]\n"
			      "start = detected\n"
			      "stop = acknowledged\n"
			      "major = true\n"
			      "category.2 = 1h\n";

#define TARGET_MS 2000

static int setup_sla(void **state)
{
	char conf[8192];
	snprintf(conf, sizeof conf, "%s%s", h_default_config, s_rules);
	return setup_daemon_with(state, conf);
}

#define SLA_TEST(f) cmocka_unit_test_setup_teardown(f, setup_sla, teardown_daemon)

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* A detection opening incident ref of category; at is the reported time or NULL (now). */
static json_t *s_detected(const char *eid, const char *ref, int category, const char *at)
{
	json_t *ev = h_event("acme", eid, ref, "detected");
	json_object_set_new(ev, "category", json_integer(category));
	json_object_set_new(ev, "title", json_string(ref));
	if (at != NULL)
		json_object_set_new(ev, "at", json_string(at));
	return ev;
}

/* The time member key of obj in ms; fails the test when it is not a daemon time. */
#define TIME_OF(obj, key) time_of_((obj), (key), __FILE__, __LINE__)
static int64_t time_of_(const json_t *obj, const char *key, const char *file, int line)
{
	int64_t ms = h_parse_utc_ms(json_string_value(json_object_get(obj, key)));
	if (ms < 0) {
		char what[128];
		snprintf(what, sizeof what, "expected \"%s\" to be a time like 2021-01-12T03:14:00.000Z",
			 key);
		check_fail_(file, line, obj, what);
	}
	return ms;
}

/* The integer member key of obj; fails the test when it is not an integer. */
#define INT_OF(obj, key) int_of_((obj), (key), __FILE__, __LINE__)
static long long int_of_(const json_t *obj, const char *key, const char *file, int line)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v)) {
		char what[128];
		snprintf(what, sizeof what, "expected \"%s\" to be an integer", key);
		check_fail_(file, line, obj, what);
	}
	return json_integer_value(v);
}

/* The breaches op's list for rule sla and incident (NULL: all incidents); new reference. */
static json_t *s_breaches(h_daemon_t *d, const char *sla, const char *incident)
{
	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "sla", sla);
	CHECK_OK(r);
	CHECK_ARRAY(r, "breaches");
	json_t *all = json_object_get(r, "breaches"), *list = json_array();
	size_t i;
	json_t *b;
	json_array_foreach(all, i, b)
	{
		const char *inc = json_string_value(json_object_get(b, "incident"));
		CHECK_STR(b, "sla", sla);
		if (incident == NULL || (inc != NULL && strcmp(inc, incident) == 0))
			json_array_append(list, b);
	}
	json_decref(r);
	return list;
}

/* Polls the breaches op until rule sla has at least n breaches or timeout_ms pass. */
static json_t *s_wait_breaches(h_daemon_t *d, const char *sla, size_t n, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	for (;;) {
		json_t *list = s_breaches(d, sla, NULL);
		if (json_array_size(list) >= n || h_mono_ms() >= deadline)
			return list;
		json_decref(list);
		s_sleep_ms(50);
	}
}

/* The verdict object of rule in get's incident.verdicts (new reference), or NULL if absent. */
static json_t *s_verdict(h_daemon_t *d, const char *incident, const char *rule)
{
	json_t *inc = GET_INCIDENT(d, incident);
	CHECK_OBJECT(inc, "verdicts");
	json_t *v = json_incref(json_object_get(json_object_get(inc, "verdicts"), rule));
	json_decref(inc);
	return v;
}

/* The reported time of stage in get's timeline, in ms. */
static int64_t s_stage_at(h_daemon_t *d, const char *incident, const char *stage)
{
	json_t *inc = GET_INCIDENT(d, incident);
	size_t i;
	json_t *e;
	int64_t at = -1;
	json_array_foreach(json_object_get(inc, "timeline"), i, e)
	{
		const char *s = json_string_value(json_object_get(e, "stage"));
		if (s != NULL && strcmp(s, stage) == 0)
			at = TIME_OF(e, "at");
	}
	if (at < 0)
		check_fail_(__FILE__, __LINE__, inc, "the timeline should hold the stage");
	json_decref(inc);
	return at;
}

/* Every member a breach object carries, with the values this test knows. */
static void s_check_breach_shape(const json_t *b, const char *incident, const char *sla,
				 const char *detected)
{
	CHECK_STR(b, "incident", incident);
	CHECK_STR(b, "sla", sla);
	CHECK_STR(b, "provider", "acme");
	CHECK_STR(b, "detected", detected);
	const char *id = json_string_value(json_object_get(b, "breach"));
	if (id == NULL || strlen(id) != 15 || strncmp(id, "BRE", 3) != 0 ||
	    strspn(id + 3, "0123456789") != 12)
		check_fail_(__FILE__, __LINE__, b, "the breach id should be BRE + 12 digits");
	(void)TIME_OF(b, "due");
	(void)TIME_OF(b, "detected_at");
	(void)INT_OF(b, "late_by_ms");
	if (json_object_get(b, "stopped_at") == NULL)
		check_fail_(__FILE__, __LINE__, b, "stopped_at should be present (null or a time)");
}

/*
 * A 2 s target with no notification: the breach is published on breach.quick no earlier than
 * its due time and within a second after it; a late notification raises no second breach but
 * sets stopped_at, and the verdict is breached.
 */
static void test_deadline_breach_on_time(void **state)
{
	h_daemon_t *d = *state;
	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);

	char id[32];
	int64_t before = h_now_ms();
	PUSH_OK(d, s_detected("q1", "Q1", 1, NULL), id);
	int64_t after = h_now_ms();

	int64_t seen_at;
	json_t *body = h_sub_wait(sub, "breach.quick", id, 5000, &seen_at);
	if (body == NULL)
		fail_msg("no breach.quick message within 5 s of a detection with a 2 s target");
	s_check_breach_shape(body, id, "quick", "deadline");
	CHECK_INT(body, "category", 1);
	CHECK_NULL(body, "stopped_at");
	if (!json_is_integer(json_object_get(body, "seq")))
		check_fail_(__FILE__, __LINE__, body, "a published body carries seq");
	int64_t due = TIME_OF(body, "due");
	/* Omitted "at" means the arrival time, which lies between before and after. */
	if (due < before + TARGET_MS || due > after + TARGET_MS)
		check_fail_(__FILE__, __LINE__, body, "due should be the arrival time + 2 s");
	if (seen_at < due)
		fail_msg("breach published %lld ms before its due time", (long long)(due - seen_at));
	if (seen_at > due + 1000)
		fail_msg("breach published %lld ms after its due time (at most 1000)",
			 (long long)(seen_at - due));
	int64_t detected_at = TIME_OF(body, "detected_at");
	if (detected_at < due || detected_at > seen_at)
		check_fail_(__FILE__, __LINE__, body, "detected_at should lie between due and receipt");
	char breach_id[32];
	snprintf(breach_id, sizeof breach_id, "%s",
		 json_string_value(json_object_get(body, "breach")));
	json_decref(body);

	/* The late notification: accepted, no new breach in its reply, none published. */
	int64_t notified_before = h_now_ms();
	json_t *r = PUSH(d, h_event("acme", "q1-n", "Q1", "notified"));
	CHECK_OK(r);
	CHECK_ARRAY(r, "breaches");
	if (json_array_size(json_object_get(r, "breaches")) != 0)
		check_fail_(__FILE__, __LINE__, r, "a stop after a deadline breach raises no other");
	json_decref(r);
	int64_t notified_after = h_now_ms();
	body = h_sub_wait(sub, "breach.quick", id, 500, NULL);
	if (body != NULL)
		check_fail_(__FILE__, __LINE__, body, "a second breach.quick for the same incident");

	json_t *list = s_breaches(d, "quick", id);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "exactly one quick breach for the incident");
	json_t *b = json_array_get(list, 0);
	CHECK_STR(b, "breach", breach_id);
	int64_t stopped = TIME_OF(b, "stopped_at");
	if (stopped < notified_before || stopped > notified_after)
		check_fail_(__FILE__, __LINE__, b,
			    "stopped_at should be the notification's arrival (received clock)");
	long long late = INT_OF(b, "late_by_ms");
	if (late != stopped - due)
		check_fail_(__FILE__, __LINE__, b, "late_by_ms should be stopped_at - due");
	json_decref(list);

	/* get shows the same breach and a breached verdict. */
	json_t *inc = GET_INCIDENT(d, id);
	json_t *brs = json_object_get(inc, "breaches");
	if (json_array_size(brs) != 1)
		check_fail_(__FILE__, __LINE__, inc, "get lists the incident's one quick breach");
	CHECK_STR(json_array_get(brs, 0), "breach", breach_id);
	json_decref(inc);
	json_t *v = s_verdict(d, id, "quick");
	if (v == NULL)
		fail_msg("get has no verdict for rule quick");
	CHECK_STR(v, "verdict", "breached");
	if (INT_OF(v, "late_by_ms") <= 0)
		check_fail_(__FILE__, __LINE__, v, "late_by_ms should be positive");
	json_decref(v);
	h_close(d, sub);
	h_pass(d);
}

/* The notification within half a second: nothing is raised, even a second past the due time. */
static void test_stop_in_time_no_breach(void **state)
{
	h_daemon_t *d = *state;
	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);

	char id[32];
	int64_t t0 = h_now_ms();
	PUSH_OK(d, s_detected("q1", "Q1", 1, NULL), id);
	s_sleep_ms(300);
	json_t *r = PUSH(d, h_event("acme", "q1-n", "Q1", "notified"));
	CHECK_OK(r);
	if (json_array_size(json_object_get(r, "breaches")) != 0)
		check_fail_(__FILE__, __LINE__, r, "a stop in time raises no breach");
	json_decref(r);
	if (h_now_ms() - t0 > 1500)
		skip(); /* the machine is too slow for the notification to be in time */

	/* Watch the publisher until a second past the due time. */
	int64_t due = s_stage_at(d, id, "detected") + TARGET_MS;
	json_t *body = h_sub_wait(sub, "breach.quick", NULL, (int)(due + 1000 - h_now_ms()), NULL);
	if (body != NULL)
		check_fail_(__FILE__, __LINE__, body, "no breach.quick for a stop in time");

	json_t *list = s_breaches(d, "quick", NULL);
	if (json_array_size(list) != 0)
		check_fail_(__FILE__, __LINE__, list, "the breaches op lists no quick breach");
	json_decref(list);
	json_t *inc = GET_INCIDENT(d, id);
	if (json_array_size(json_object_get(inc, "breaches")) != 0)
		check_fail_(__FILE__, __LINE__, inc, "get lists no breach");
	json_decref(inc);
	json_t *v = s_verdict(d, id, "quick");
	if (v == NULL)
		fail_msg("get has no verdict for rule quick");
	CHECK_STR(v, "verdict", "met");
	json_decref(v);
	h_close(d, sub);
	h_pass(d);
}

/*
 * A detection reported 10 minutes ago under a 2 s rule breaches on arrival: the event's reply
 * lists it, and it is published on breach.quick with the same content.
 */
static void test_backfilled_start_breaches_on_arrival(void **state)
{
	h_daemon_t *d = *state;
	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);

	int64_t at = h_now_ms() - 10 * 60 * 1000;
	char at_text[32];
	utc_ms_format(at, at_text);
	json_t *r = PUSH(d, s_detected("old", "OLD", 1, at_text));
	int64_t arrived = h_now_ms();
	CHECK_OK(r);
	CHECK_ARRAY(r, "breaches");
	json_t *brs = json_object_get(r, "breaches");
	if (json_array_size(brs) != 1)
		check_fail_(__FILE__, __LINE__, r, "the reply lists the one breach it revealed");
	char id[32];
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "incident")));
	json_t *b = json_array_get(brs, 0);
	s_check_breach_shape(b, id, "quick", "on_arrival");
	CHECK_NULL(b, "stopped_at");
	if (TIME_OF(b, "due") != at + TARGET_MS)
		check_fail_(__FILE__, __LINE__, b, "due should be the reported detection + 2 s");
	long long late = INT_OF(b, "late_by_ms");
	if (late < 10 * 60 * 1000 - TARGET_MS - 100 || late > arrived - (at + TARGET_MS))
		check_fail_(__FILE__, __LINE__, b, "late_by_ms should be about 10 min - 2 s");
	json_t *from_reply = json_deep_copy(b);
	json_decref(r);

	json_t *body = h_sub_wait(sub, "breach.quick", id, 3000, NULL);
	if (body == NULL)
		fail_msg("no breach.quick message for a breach on arrival");
	CHECK_STR(body, "breach", json_string_value(json_object_get(from_reply, "breach")));
	CHECK_STR(body, "due", json_string_value(json_object_get(from_reply, "due")));
	CHECK_STR(body, "detected", "on_arrival");
	CHECK_INT(body, "category", 1);
	json_decref(body);
	json_decref(from_reply);

	json_t *v = s_verdict(d, id, "quick");
	if (v == NULL)
		fail_msg("get has no verdict for rule quick");
	CHECK_STR(v, "verdict", "breached");
	json_decref(v);
	h_close(d, sub);
	h_pass(d);
}

/*
 * Reported clock: the deadline breach fires, then a notification arrives late but reports a
 * time within target. The breach stays (raised once) and records that stop time, and the
 * verdict is met.
 */
static void test_reported_clock_met_after_breach(void **state)
{
	h_daemon_t *d = *state;
	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);

	char id[32];
	PUSH_OK(d, s_detected("r1", "R1", 4, NULL), id);
	int64_t detected = s_stage_at(d, id, "detected");
	json_t *body = h_sub_wait(sub, "breach.reported", id, 5000, NULL);
	if (body == NULL)
		fail_msg("no breach.reported message within 5 s of a detection with a 2 s target");
	CHECK_STR(body, "detected", "deadline");
	char breach_id[32];
	snprintf(breach_id, sizeof breach_id, "%s",
		 json_string_value(json_object_get(body, "breach")));
	json_decref(body);
	/* Make sure the notification arrives well after the due time. */
	while (h_now_ms() < detected + TARGET_MS + 500)
		s_sleep_ms(50);

	char at_text[32];
	utc_ms_format(detected + 1000, at_text);
	json_t *ev = h_event("acme", "r1-n", "R1", "notified");
	json_object_set_new(ev, "at", json_string(at_text));
	json_t *r = PUSH(d, ev);
	CHECK_OK(r);
	if (json_array_size(json_object_get(r, "breaches")) != 0)
		check_fail_(__FILE__, __LINE__, r, "no second breach for the same rule");
	json_decref(r);

	json_t *list = s_breaches(d, "reported", id);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "the breach raised at the deadline stays, once");
	json_t *b = json_array_get(list, 0);
	CHECK_STR(b, "breach", breach_id);
	CHECK_STR(b, "detected", "deadline");
	CHECK_STR(b, "stopped_at", at_text);
	if (INT_OF(b, "late_by_ms") != -1000)
		check_fail_(__FILE__, __LINE__, b, "late_by_ms is stopped_at - due, here -1000");
	json_decref(list);

	json_t *v = s_verdict(d, id, "reported");
	if (v == NULL)
		fail_msg("get has no verdict for rule reported");
	CHECK_STR(v, "verdict", "met");
	json_decref(v);
	h_close(d, sub);
	h_pass(d);
}

/*
 * Three 2 s deadlines pass while the daemon is stopped: each is flagged once at start-up (due
 * = the detection + 2 s, not the restart time), and never again after two more restarts.
 */
static void test_deadlines_pending_across_stop(void **state)
{
	h_daemon_t *d = *state;
	char ids[3][32];
	int64_t due[3];
	for (int i = 0; i < 3; i++) {
		char eid[16], ref[16];
		snprintf(eid, sizeof eid, "p%d", i);
		snprintf(ref, sizeof ref, "P%d", i);
		PUSH_OK(d, s_detected(eid, ref, 1, NULL), ids[i]);
		due[i] = s_stage_at(d, ids[i], "detected") + TARGET_MS;
	}
	assert_int_equal(h_stop(d), 0);
	/* Nothing may have fired yet: the test is about deadlines that pass while down. */
	if (h_now_ms() >= due[0])
		skip();
	s_sleep_ms(3000);
	int64_t restart = h_now_ms();
	assert_int_equal(h_start(d), 0);
	json_t *list = s_wait_breaches(d, "quick", 3, 1000);
	if (json_array_size(list) != 3)
		check_fail_(__FILE__, __LINE__, list, "three breaches within 1 s of start-up");
	char breach_ids[3][32] = {{0}};
	for (int i = 0; i < 3; i++) {
		json_t *b = NULL, *x;
		size_t k;
		json_array_foreach(list, k, x)
		{
			const char *inc = json_string_value(json_object_get(x, "incident"));
			if (inc != NULL && strcmp(inc, ids[i]) == 0)
				b = x;
		}
		if (b == NULL)
			check_fail_(__FILE__, __LINE__, list, "each incident has its breach");
		s_check_breach_shape(b, ids[i], "quick", "deadline");
		CHECK_NULL(b, "stopped_at");
		if (TIME_OF(b, "due") != due[i])
			check_fail_(__FILE__, __LINE__, b,
				    "due is the detection + 2 s, not the restart time");
		if (TIME_OF(b, "detected_at") < restart)
			check_fail_(__FILE__, __LINE__, b, "detected at start-up");
		snprintf(breach_ids[i], sizeof breach_ids[i], "%s",
			 json_string_value(json_object_get(b, "breach")));
	}
	json_decref(list);

	for (int run = 0; run < 2; run++) {
		assert_int_equal(h_stop(d), 0);
		assert_int_equal(h_start(d), 0);
		s_sleep_ms(700);
		list = s_breaches(d, "quick", NULL);
		if (json_array_size(list) != 3)
			check_fail_(__FILE__, __LINE__, list, "still exactly three after a restart");
		size_t k;
		json_t *x;
		json_array_foreach(list, k, x)
		{
			const char *bid = json_string_value(json_object_get(x, "breach"));
			bool known = false;
			for (int i = 0; i < 3; i++)
				known = known || (bid != NULL && strcmp(bid, breach_ids[i]) == 0);
			if (!known)
				check_fail_(__FILE__, __LINE__, x, "the same breaches, not new ones");
		}
		json_decref(list);
	}
	assert_int_equal(STATUS_COUNT(d, "breaches"), 3);
	h_pass(d);
}

/*
 * Verdicts of an incident under hour-long targets: pending with the time left, not_started
 * before the start stage; a rule without a target for the category, or for major incidents
 * only, is absent.
 */
static void test_pending_verdict(void **state)
{
	h_daemon_t *d = *state;
	char id[32];
	PUSH_OK(d, s_detected("l1", "L1", 2, NULL), id);
	int64_t detected = s_stage_at(d, id, "detected");
	int64_t before = h_now_ms();
	json_t *inc = GET_INCIDENT(d, id);
	int64_t after = h_now_ms();
	json_t *verdicts = json_object_get(inc, "verdicts");
	json_t *v = json_object_get(verdicts, "long");
	if (v == NULL)
		check_fail_(__FILE__, __LINE__, inc, "a verdict for rule long");
	CHECK_STR(v, "verdict", "pending");
	long long left = INT_OF(v, "remaining_ms");
	if (left <= 0 || left > 3600000 || left < detected + 3600000 - after ||
	    left > detected + 3600000 - before)
		check_fail_(__FILE__, __LINE__, v, "remaining_ms should be due - now, under an hour");
	if (json_object_get(v, "due") != NULL && TIME_OF(v, "due") != detected + 3600000)
		check_fail_(__FILE__, __LINE__, v, "due should be the detection + 1 h");
	v = json_object_get(verdicts, "ack");
	if (v == NULL)
		check_fail_(__FILE__, __LINE__, inc, "a verdict for rule ack");
	CHECK_STR(v, "verdict", "not_started");
	if (json_object_get(verdicts, "quick") != NULL)
		check_fail_(__FILE__, __LINE__, inc, "quick has no target for category 2: absent");
	if (json_object_get(verdicts, "major_only") != NULL)
		check_fail_(__FILE__, __LINE__, inc, "major_only does not apply to a non-major one");
	json_decref(inc);

	/* Once the incident is major, major_only applies and is pending too. */
	json_t *ev = h_event("acme", "l1-m", "L1", "notified");
	json_object_set_new(ev, "major", json_true());
	PUSH_OK(d, ev, NULL);
	inc = GET_INCIDENT(d, id);
	verdicts = json_object_get(inc, "verdicts");
	v = json_object_get(verdicts, "major_only");
	if (v == NULL)
		check_fail_(__FILE__, __LINE__, inc, "a verdict for major_only once major");
	CHECK_STR(v, "verdict", "pending");
	v = json_object_get(verdicts, "ack");
	CHECK_STR(v, "verdict", "pending");
	json_decref(inc);
	h_pass(d);
}

/*
 * incidentctl: breaches (table and --json), show with the verdict word, and watch printing a
 * deadline breach as it fires.
 */
static void test_incidentctl_breaches_show_watch(void **state)
{
	h_daemon_t *d = *state;
	char at_text[32];
	utc_ms_format(h_now_ms() - 60 * 1000, at_text);
	json_t *r = PUSH(d, s_detected("c1", "C1", 1, at_text));
	CHECK_OK(r);
	char id[32], breach_id[32];
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "incident")));
	json_t *b = json_array_get(json_object_get(r, "breaches"), 0);
	if (b == NULL)
		check_fail_(__FILE__, __LINE__, r, "a breach on arrival");
	snprintf(breach_id, sizeof breach_id, "%s", json_string_value(json_object_get(b, "breach")));
	json_decref(r);

	h_run_t run;
	CTL(d, &run, "breaches");
	CHECK_EXIT(&run, 0);
	expect_in(run.out, "quick", "breaches' stdout");
	expect_in(run.out, id, "breaches' stdout");
	expect_in(run.out, breach_id, "breaches' stdout");
	h_run_clear(&run);

	CTL(d, &run, "--json", "breaches", "--sla", "quick");
	CHECK_EXIT(&run, 0);
	json_t *j = json_loads(run.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json breaches should print JSON; stdout: %s", run.out);
	CHECK_TRUE(j, "ok");
	json_t *list = json_object_get(j, "breaches");
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, j, "--sla quick lists the one quick breach");
	CHECK_STR(json_array_get(list, 0), "breach", breach_id);
	CHECK_STR(json_array_get(list, 0), "incident", id);
	json_decref(j);
	h_run_clear(&run);

	/* --sla filters: a rule with no breach lists none. */
	CTL(d, &run, "--json", "breaches", "--sla", "long");
	CHECK_EXIT(&run, 0);
	j = json_loads(run.out, 0, NULL);
	if (j == NULL || json_array_size(json_object_get(j, "breaches")) != 0)
		fail_msg("--sla long should list no breach; stdout: %s", run.out);
	json_decref(j);
	h_run_clear(&run);

	CTL(d, &run, "show", id);
	CHECK_EXIT(&run, 0);
	expect_in(run.out, "quick", "show's stdout");
	expect_in(run.out, "breached", "show's stdout");
	h_run_clear(&run);

	/* watch: started first, it prints the deadline breach of a detection made afterwards. */
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"watch", (char *)"--publish", d->pub,
			(char *)"breach.", NULL};
	h_child_t c;
	assert_int_equal(h_child_start(&c, d->dir, argv), 0);
	/* Its subscription is in place once it prints a breach on arrival (bounded). */
	bool ready = false;
	for (int i = 0; i < 30 && !ready; i++) {
		char eid[16], ref[16];
		snprintf(eid, sizeof eid, "w%d", i);
		snprintf(ref, sizeof ref, "W%d", i);
		char wid[32];
		PUSH_OK(d, s_detected(eid, ref, 1, at_text), wid);
		ready = h_child_wait_line(&c, "breach.quick", wid, 300) != NULL;
	}
	if (!ready) {
		h_child_stop(&c);
		fail_msg("watch printed no breach on arrival within 9 s; stdout: %s", c.out);
	}
	char live[32];
	PUSH_OK(d, s_detected("live", "LIVE", 1, NULL), live);
	const char *line = h_child_wait_line(&c, "breach.quick", live, 3500);
	if (line == NULL) {
		h_child_stop(&c);
		fail_msg("watch printed no breach.quick line for %s within 3.5 s; stdout: %s", live,
			 c.out);
	}
	if (h_child_wait_line(&c, live, "deadline", 0) == NULL)
		fail_msg("watch's breach line should say it was detected at the deadline: %s", c.out);
	int st = h_child_stop(&c);
	if (st != 0)
		fail_msg("watch exited with %d after SIGTERM, expected 0", st);
	/* Only breach. topics were asked for. */
	if (strstr(c.out, "incident.") != NULL)
		fail_msg("watch breach. printed other topics: %s", c.out);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SLA_TEST(test_deadline_breach_on_time),
		SLA_TEST(test_stop_in_time_no_breach),
		SLA_TEST(test_backfilled_start_breaches_on_arrival),
		SLA_TEST(test_reported_clock_met_after_breach),
		SLA_TEST(test_deadlines_pending_across_stop),
		SLA_TEST(test_pending_verdict),
		SLA_TEST(test_incidentctl_breaches_show_watch),
	};
	return cmocka_run_group_tests_name("integration/sla", tests, NULL, NULL);
}
