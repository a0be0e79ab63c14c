/*
 * SLA deadlines: a breach is recorded and published within a second of its deadline, at
 * start-up for deadlines that passed while the daemon was down, and once per incident and rule.
 */
#include "checks.h"

/* The defaults plus a rule with a 2-second target for category 1 only. */
static int setup_quick_rule(void **state)
{
	char conf[4096];
	snprintf(conf, sizeof conf,
		 "%s\n[sla quick]\nstart = detected\nstop = notified\ncategory.1 = 2s\n",
		 h_default_config);
	return setup_daemon_with(state, conf);
}

#define QUICK_TEST(f) cmocka_unit_test_setup_teardown(f, setup_quick_rule, teardown_daemon)

static void s_open(h_daemon_t *d, const char *eid, const char *ref, int category, char id[32])
{
	json_t *ev = h_event("acme", eid, ref, "detected");
	json_object_set_new(ev, "category", json_integer(category));
	json_object_set_new(ev, "title", json_string(ref));
	PUSH_OK(d, ev, id);
}

/* The breaches of rule "quick" (new reference to the array). */
static json_t *s_quick_breaches(h_daemon_t *d)
{
	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "sla", "quick");
	CHECK_OK(r);
	CHECK_ARRAY(r, "breaches");
	json_t *list = json_incref(json_object_get(r, "breaches"));
	json_decref(r);
	return list;
}

/* Polls the breaches op until rule quick has n breaches or timeout_ms pass. */
static json_t *s_wait_quick_breaches(h_daemon_t *d, size_t n, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	for (;;) {
		json_t *list = s_quick_breaches(d);
		if (json_array_size(list) >= n || h_mono_ms() >= deadline)
			return list;
		json_decref(list);
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/*
 * Detection with no notification: the breach is published on breach.quick within a second
 * of the 2 s deadline, listed by breaches; an incident of a category the rule has no target
 * for gets none; a late notification adds no second breach.
 */
static void test_deadline_breach_published(void **state)
{
	h_daemon_t *d = *state;
	void *sub = h_sub(d);
	assert_non_null(sub);
	/* Let the subscription reach the publisher: wait for the first message of a warm-up. */
	char warm[32];
	bool subscribed = false;
	for (int i = 0; i < 40 && !subscribed; i++) {
		char eid[16];
		snprintf(eid, sizeof eid, "w%d", i);
		s_open(d, eid, eid, 5, warm);
		char *topic;
		json_t *body;
		if (h_sub_recv(sub, 250, &topic, &body) == 0) {
			subscribed = true;
			free(topic);
			json_decref(body);
		}
	}
	assert_true(subscribed);

	char id1[32], id3[32];
	int64_t opened = h_now_ms();
	s_open(d, "q1", "Q1", 1, id1);
	s_open(d, "q3", "Q3", 3, id3);
	int64_t due = opened + 2000;

	json_t *body = NULL;
	int64_t limit = h_mono_ms() + 4500;
	while (body == NULL && h_mono_ms() < limit) {
		char *topic;
		json_t *b;
		if (h_sub_recv(sub, 100, &topic, &b) != 0)
			continue;
		if (strcmp(topic, "breach.quick") == 0)
			body = b;
		else
			json_decref(b);
		free(topic);
	}
	int64_t seen_at = h_now_ms();
	if (body == NULL)
		fail_msg("no breach.quick message within 4.5 s of a detection with a 2 s target");
	CHECK_STR(body, "incident", id1);
	CHECK_STR(body, "sla", "quick");
	CHECK_STR(body, "detected", "deadline");
	CHECK_STR(body, "provider", "acme");
	CHECK_INT(body, "category", 1);
	int64_t body_due = h_parse_utc_ms(json_string_value(json_object_get(body, "due")));
	if (body_due < due - 1000 || body_due > due + 1000)
		check_fail_(__FILE__, __LINE__, body, "due must be detection + 2 s");
	if (seen_at > body_due + 1500)
		fail_msg("breach published %lld ms after its deadline", (long long)(seen_at - body_due));
	json_decref(body);

	/* Wait one more second: the category-3 incident, with no target, breaches nothing. */
	struct timespec ts = {1, 0};
	nanosleep(&ts, NULL);
	json_t *list = s_quick_breaches(d);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "exactly one quick breach (category 1 only)");
	json_t *b = json_array_get(list, 0);
	CHECK_STR(b, "incident", id1);
	CHECK_STR(b, "detected", "deadline");
	CHECK_NULL(b, "stopped_at");
	json_decref(list);

	/* The late notification stops the clock but raises no second breach. */
	json_t *r = PUSH(d, h_event("acme", "q1-n", "Q1", "notified"));
	CHECK_OK(r);
	json_decref(r);
	list = s_quick_breaches(d);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "still one breach after the late stop");
	b = json_array_get(list, 0);
	if (h_parse_utc_ms(json_string_value(json_object_get(b, "stopped_at"))) < 0)
		check_fail_(__FILE__, __LINE__, b, "stopped_at is the stop time once stopped");
	json_decref(list);
	h_close(d, sub);
	h_pass(d);
}

/* A deadline that passes while the daemon is down is recorded at start-up, once. */
static void test_deadline_passed_while_down(void **state)
{
	h_daemon_t *d = *state;
	char id[32];
	s_open(d, "q1", "Q1", 1, id);
	assert_int_equal(h_stop(d), 0);
	/* Stay down past the 2 s deadline: that is the situation under test. */
	struct timespec ts = {2, 500 * 1000000L};
	nanosleep(&ts, NULL);
	assert_int_equal(h_start(d), 0);
	json_t *list = s_wait_quick_breaches(d, 1, 2000);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "one breach recorded at start-up");
	json_t *b = json_array_get(list, 0);
	CHECK_STR(b, "incident", id);
	CHECK_STR(b, "detected", "deadline");
	json_t *first = json_deep_copy(b);
	json_decref(list);

	/* Another restart does not raise it again. */
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	struct timespec settle = {1, 0};
	nanosleep(&settle, NULL);
	list = s_quick_breaches(d);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "still one breach after another restart");
	CHECK_STR(json_array_get(list, 0), "breach",
		  json_string_value(json_object_get(first, "breach")));
	json_decref(list);
	json_decref(first);
	h_pass(d);
}

/*
 * The breaches op pages like list: 7 on-arrival breaches read 3 at a time come back once each,
 * oldest first, and the last page says there is no next one.
 */
static void test_breaches_paging(void **state)
{
	h_daemon_t *d = *state;
	char id[32], ids[7][32];
	for (int i = 0; i < 7; i++) {
		char eid[16], ref[16];
		snprintf(eid, sizeof eid, "old-%d", i);
		snprintf(ref, sizeof ref, "OLD-%d", i);
		json_t *ev = h_event("acme", eid, ref, "detected");
		json_object_set_new(ev, "category", json_integer(1));
		json_object_set_new(ev, "title", json_string(ref));
		json_object_set_new(ev, "at", json_string("2021-01-12T03:14:00Z"));
		PUSH_OK(d, ev, id);
		snprintf(ids[i], sizeof ids[i], "%s", id);
	}
	char cursor[64] = "";
	int seen = 0, pages = 0;
	do {
		json_t *r = cursor[0]
			? h_requestf(d, "{s:s, s:s, s:i, s:s}", "op", "breaches", "sla", "quick", "limit", 3, "cursor", cursor)
			: h_requestf(d, "{s:s, s:s, s:i}", "op", "breaches", "sla", "quick", "limit", 3);
		CHECK_OK(r);
		json_t *list = json_object_get(r, "breaches");
		assert_true(json_array_size(list) <= 3);
		size_t i;
		json_t *b;
		json_array_foreach(list, i, b) {
			assert_true(seen < 7);
			CHECK_STR(b, "incident", ids[seen]);
			seen++;
		}
		const json_t *next = json_object_get(r, "next");
		cursor[0] = '\0';
		if (json_is_string(next))
			snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
		else
			assert_true(json_is_null(next));
		json_decref(r);
		pages++;
	} while (cursor[0] && pages < 10);
	assert_int_equal(seen, 7);
	assert_int_equal(pages, 3);

	json_t *r = h_requestf(d, "{s:s, s:i}", "op", "breaches", "limit", 0);
	CHECK_ERROR(r, "bad_request", "limit");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "cursor", "nonsense");
	CHECK_ERROR(r, "bad_request", "cursor");
	json_decref(r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		QUICK_TEST(test_deadline_breach_published),
		QUICK_TEST(test_deadline_passed_while_down),
		QUICK_TEST(test_breaches_paging),
	};
	return cmocka_run_group_tests_name("integration/breaches", tests, NULL, NULL);
}
