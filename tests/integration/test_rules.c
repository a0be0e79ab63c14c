/*
 * Retries, conflicts and stage rules: what the daemon refuses and what it answers again.
 */
#include "checks.h"

#define I1 "INC000000000001"

static json_t *s_event_at(const char *provider, const char *event_id, const char *ref,
			  const char *stage, int64_t at_ms)
{
	char at[32];
	json_t *ev = h_event(provider, event_id, ref, stage);
	utc_ms_format(at_ms, at);
	json_object_set_new(ev, "at", json_string(at));
	json_object_set_new(ev, "category", json_integer(3));
	json_object_set_new(ev, "title", json_string("router flaps"));
	return ev;
}

/* The number of timeline entries of an incident. */
static size_t s_timeline_size(h_daemon_t *d, const char *id)
{
	json_t *inc = GET_INCIDENT(d, id);
	size_t n = json_array_size(json_object_get(inc, "timeline"));
	json_decref(inc);
	return n;
}

/*
 * A retry with the same provider, event_id and content is answered again with "duplicate":
 * true and the same incident, whatever its "id"; nothing new is stored.
 */
static void test_duplicate_retry(void **state)
{
	h_daemon_t *d = *state;
	int64_t t = h_now_ms() - 60000;
	json_t *ev = s_event_at("acme", "e-1", "R1", "detected", t);
	json_object_set_new(ev, "id", json_string("first"));
	json_t *r = PUSH(d, json_deep_copy(ev));
	CHECK_OK(r);
	CHECK_STR(r, "incident", I1);
	CHECK_FALSE(r, "duplicate");
	json_decref(r);
	assert_int_equal(STATUS_COUNT(d, "events"), 1);

	r = PUSH(d, json_deep_copy(ev));
	CHECK_OK(r);
	CHECK_STR(r, "incident", I1);
	CHECK_TRUE(r, "duplicate");
	CHECK_STR(r, "id", "first");
	CHECK_STR(r, "status", "open");
	json_decref(r);

	/* Another request id is not part of the content: still the same event. */
	json_object_set_new(ev, "id", json_pack("{s:i}", "retry", 2));
	r = PUSH(d, json_deep_copy(ev));
	CHECK_OK(r);
	CHECK_TRUE(r, "duplicate");
	CHECK_STR(r, "incident", I1);
	json_decref(r);
	json_object_del(ev, "id");
	r = PUSH(d, json_deep_copy(ev));
	CHECK_OK(r);
	CHECK_TRUE(r, "duplicate");
	json_decref(r);

	/* A later stage retried after the incident moved on is a duplicate too. */
	PUSH_OK(d, s_event_at("acme", "e-2", "R1", "notified", t + 1000), NULL);
	r = PUSH(d, s_event_at("acme", "e-2", "R1", "notified", t + 1000));
	CHECK_OK(r);
	CHECK_TRUE(r, "duplicate");
	json_decref(r);

	assert_int_equal(STATUS_COUNT(d, "events"), 2);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 1);
	assert_int_equal(s_timeline_size(d, I1), 2);
	json_decref(ev);
	h_pass(d);
}

/* The same event_id with other content is a conflict and changes nothing. */
static void test_same_event_id_other_content_conflicts(void **state)
{
	h_daemon_t *d = *state;
	int64_t t = h_now_ms() - 60000;
	PUSH_OK(d, s_event_at("acme", "e-1", "R1", "detected", t), NULL);
	json_t *ev = s_event_at("acme", "e-1", "R1", "detected", t);
	json_object_set_new(ev, "title", json_string("another title"));
	json_t *r = PUSH(d, ev);
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	/* Same id, other stage and ref: still the provider's event e-1, so a conflict. */
	r = PUSH(d, s_event_at("acme", "e-1", "R2", "notified", t + 5));
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	assert_int_equal(STATUS_COUNT(d, "events"), 1);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 1);
	json_t *inc = GET_INCIDENT(d, I1);
	CHECK_STR(inc, "title", "router flaps");
	json_decref(inc);

	/* event_id is unique per provider: another provider may reuse it. */
	json_t *r2 = PUSH(d, s_event_at("globex", "e-1", "R1", "detected", t));
	CHECK_OK(r2);
	CHECK_FALSE(r2, "duplicate");
	CHECK_STR(r2, "incident", "INC000000000002");
	json_decref(r2);
	h_pass(d);
}

/* A stage is recorded once: a repeat under another event_id is a conflict; the first wins. */
static void test_repeated_stage_conflicts(void **state)
{
	h_daemon_t *d = *state;
	int64_t t = h_now_ms() - 60000;
	PUSH_OK(d, s_event_at("acme", "e-1", "R1", "detected", t), NULL);
	PUSH_OK(d, s_event_at("acme", "e-2", "R1", "notified", t + 1000), NULL);
	json_t *r = PUSH(d, s_event_at("acme", "e-3", "R1", "notified", t + 2000));
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	r = PUSH(d, s_event_at("acme", "e-4", "R1", "detected", t));
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	json_t *inc = GET_INCIDENT(d, I1);
	json_t *tl = json_object_get(inc, "timeline");
	assert_int_equal(json_array_size(tl), 2);
	size_t i;
	json_t *e;
	json_array_foreach(tl, i, e)
	{
		const char *stage = json_string_value(json_object_get(e, "stage"));
		assert_non_null(stage);
		CHECK_STR(e, "event_id", strcmp(stage, "detected") == 0 ? "e-1" : "e-2");
	}
	json_decref(inc);
	assert_int_equal(STATUS_COUNT(d, "events"), 2);
	h_pass(d);
}

/*
 * Reported times must not decrease along the stage order: notified reported before
 * detected is invalid_transition naming both stages, whichever arrives first.
 */
static void test_time_going_backwards_is_invalid_transition(void **state)
{
	h_daemon_t *d = *state;
	int64_t t = h_now_ms() - 3600000;
	PUSH_OK(d, s_event_at("acme", "e-1", "R1", "detected", t), NULL);
	json_t *r = PUSH(d, s_event_at("acme", "e-2", "R1", "notified", t - 600000));
	CHECK_ERROR(r, "invalid_transition", "detected");
	CHECK_ERROR(r, "invalid_transition", "notified");
	json_decref(r);

	/* The other way round: notified arrives first, then a detection reported after it. */
	PUSH_OK(d, s_event_at("acme", "f-1", "R2", "notified", t), NULL);
	r = PUSH(d, s_event_at("acme", "f-2", "R2", "detected", t + 600000));
	CHECK_ERROR(r, "invalid_transition", "detected");
	CHECK_ERROR(r, "invalid_transition", "notified");
	json_decref(r);

	/* A resolution reported before a later stage already recorded. */
	PUSH_OK(d, s_event_at("acme", "e-3", "R1", "workaround", t + 60000), NULL);
	r = PUSH(d, s_event_at("acme", "e-4", "R1", "resolved", t + 30000));
	CHECK_ERROR(r, "invalid_transition", "resolved");
	CHECK_ERROR(r, "invalid_transition", "workaround");
	json_decref(r);

	assert_int_equal(STATUS_COUNT(d, "events"), 3);
	assert_int_equal(s_timeline_size(d, I1), 2);
	json_t *inc = GET_INCIDENT(d, I1);
	CHECK_STR(inc, "status", "open");
	json_decref(inc);
	h_pass(d);
}

/* Stages may arrive in any order when their reported times agree with the order. */
static void test_out_of_order_arrival_accepted(void **state)
{
	h_daemon_t *d = *state;
	int64_t t = h_now_ms() - 3600000;
	char id[32];
	PUSH_OK(d, s_event_at("acme", "e-3", "R1", "resolved", t + 30000), id);
	assert_string_equal(id, I1);
	PUSH_OK(d, s_event_at("acme", "e-2", "R1", "notified", t + 10000), id);
	assert_string_equal(id, I1);
	PUSH_OK(d, s_event_at("acme", "e-1", "R1", "detected", t), id);
	assert_string_equal(id, I1);
	/* Equal times are allowed: "must not decrease". */
	PUSH_OK(d, s_event_at("acme", "e-4", "R1", "acknowledged", t + 10000), id);
	assert_string_equal(id, I1);
	json_t *inc = GET_INCIDENT(d, I1);
	assert_int_equal(json_array_size(json_object_get(inc, "timeline")), 4);
	CHECK_STR(inc, "status", "resolved");
	json_decref(inc);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 1);
	h_pass(d);
}

/* An unknown stage name is bad_request naming "stage". */
static void test_unknown_stage(void **state)
{
	h_daemon_t *d = *state;
	json_t *r = PUSH(d, s_event_at("acme", "e-1", "R1", "exploded", h_now_ms()));
	CHECK_ERROR(r, "bad_request", "stage");
	json_decref(r);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 0);
	h_pass(d);
}

/*
 * An event that opens an incident needs a category 1-5 and a title: otherwise bad_request
 * naming the field, and nothing is stored.
 */
static void test_opening_needs_category_and_title(void **state)
{
	h_daemon_t *d = *state;
	json_t *ev = s_event_at("acme", "e-1", "R1", "detected", h_now_ms());
	json_object_del(ev, "category");
	json_t *r = PUSH(d, ev);
	CHECK_ERROR(r, "bad_request", "category");
	json_decref(r);

	ev = s_event_at("acme", "e-1", "R1", "detected", h_now_ms());
	json_object_del(ev, "title");
	r = PUSH(d, ev);
	CHECK_ERROR(r, "bad_request", "title");
	json_decref(r);

	json_t *bad[] = {json_integer(0), json_integer(6), json_string("3"), json_real(2.0),
			 json_integer(-1)};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ev = s_event_at("acme", "e-1", "R1", "detected", h_now_ms());
		json_object_set_new(ev, "category", bad[i]);
		r = PUSH(d, ev);
		CHECK_ERROR(r, "bad_request", "category");
		json_decref(r);
	}
	ev = s_event_at("acme", "e-1", "R1", "detected", h_now_ms());
	json_object_set_new(ev, "title", json_string(""));
	r = PUSH(d, ev);
	CHECK_ERROR(r, "bad_request", "title");
	json_decref(r);

	assert_int_equal(STATUS_COUNT(d, "incidents"), 0);
	assert_int_equal(STATUS_COUNT(d, "events"), 0);
	/* The refused event_id was not consumed: the corrected event is accepted, not conflict. */
	r = PUSH(d, s_event_at("acme", "e-1", "R1", "detected", h_now_ms()));
	CHECK_OK(r);
	CHECK_FALSE(r, "duplicate");
	CHECK_STR(r, "incident", I1);
	json_decref(r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_duplicate_retry),
		DAEMON_TEST(test_same_event_id_other_content_conflicts),
		DAEMON_TEST(test_repeated_stage_conflicts),
		DAEMON_TEST(test_time_going_backwards_is_invalid_transition),
		DAEMON_TEST(test_out_of_order_arrival_accepted),
		DAEMON_TEST(test_unknown_stage),
		DAEMON_TEST(test_opening_needs_category_and_title),
	};
	return cmocka_run_group_tests_name("integration/rules", tests, NULL, NULL);
}
