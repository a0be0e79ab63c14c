/*
 * list paging: limit, opaque cursors, every incident exactly once, newest first.
 */
#include "checks.h"

#define N_INCIDENTS 25

static void s_open_incidents(h_daemon_t *d, int first, int count)
{
	for (int i = first; i < first + count; i++) {
		char eid[32], ref[32];
		snprintf(eid, sizeof eid, "e-%d", i);
		snprintf(ref, sizeof ref, "R-%02d", i);
		json_t *ev = h_event("acme", eid, ref, "detected");
		json_object_set_new(ev, "category", json_integer(1 + i % 5));
		json_object_set_new(ev, "title", json_string(ref));
		char id[32], want[32];
		PUSH_OK(d, ev, id);
		snprintf(want, sizeof want, "INC%012d", i);
		assert_string_equal(id, want);
	}
}

/* One page: appends the numbers of its ids to nums, returns the reply (caller decrefs). */
static json_t *s_page(h_daemon_t *d, int limit, const json_t *cursor, int *nums, int *n)
{
	json_t *req = json_pack("{s:s, s:i}", "op", "list", "limit", limit);
	if (cursor != NULL)
		json_object_set(req, "cursor", (json_t *)cursor);
	json_t *r = PUSH(d, req);
	CHECK_OK(r);
	CHECK_ARRAY(r, "incidents");
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(r, "incidents"), i, s)
	{
		const char *id = json_string_value(json_object_get(s, "id"));
		assert_non_null(id);
		assert_true(strlen(id) == 15 && strncmp(id, "INC", 3) == 0);
		assert_true(*n < 4 * N_INCIDENTS);
		nums[(*n)++] = atoi(id + 3);
	}
	if (json_array_size(json_object_get(r, "incidents")) > (size_t)limit)
		check_fail_(__FILE__, __LINE__, r, "a page longer than its limit");
	if (json_array_size(json_object_get(r, "incidents")) < (size_t)limit)
		CHECK_NULL(r, "next"); /* a short page is the last one */
	return r;
}

/* Following the cursors from the first page yields all 25 exactly once, newest first. */
static void test_follow_cursors(void **state)
{
	h_daemon_t *d = *state;
	s_open_incidents(d, 1, N_INCIDENTS);
	int nums[4 * N_INCIDENTS], n = 0;

	json_t *r = s_page(d, 10, NULL, nums, &n);
	assert_int_equal(n, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(nums[i], N_INCIDENTS - i);
	json_t *next = json_incref(json_object_get(r, "next"));
	if (!json_is_string(next))
		check_fail_(__FILE__, __LINE__, r, "a first page of 10 out of 25 needs a next cursor");
	json_decref(r);

	int pages = 1;
	while (json_is_string(next)) {
		assert_true(++pages <= 5);
		r = s_page(d, 10, next, nums, &n);
		json_decref(next);
		next = json_incref(json_object_get(r, "next"));
		if (!json_is_string(next) && !json_is_null(next))
			check_fail_(__FILE__, __LINE__, r, "next must be a cursor string or null");
		json_decref(r);
	}
	json_decref(next);
	assert_int_equal(n, N_INCIDENTS);
	for (int i = 0; i < N_INCIDENTS; i++)
		assert_int_equal(nums[i], N_INCIDENTS - i);
	h_pass(d);
}

/* A page that holds everything has next == null; limit 1 pages one by one. */
static void test_limits(void **state)
{
	h_daemon_t *d = *state;
	s_open_incidents(d, 1, 5);
	int nums[4 * N_INCIDENTS], n = 0;
	json_t *r = s_page(d, 1000, NULL, nums, &n);
	assert_int_equal(n, 5);
	CHECK_NULL(r, "next");
	json_decref(r);

	/* The default limit (100) holds all five too. */
	r = h_requestf(d, "{s:s}", "op", "list");
	CHECK_OK(r);
	assert_int_equal(json_array_size(json_object_get(r, "incidents")), 5);
	CHECK_NULL(r, "next");
	json_decref(r);

	n = 0;
	json_t *cursor = NULL;
	for (int page = 0; page < 5; page++) {
		r = s_page(d, 1, cursor, nums, &n);
		json_decref(cursor);
		cursor = json_incref(json_object_get(r, "next"));
		json_decref(r);
		assert_int_equal(n, page + 1);
		assert_int_equal(nums[page], 5 - page);
		if (page < 4 && !json_is_string(cursor))
			fail_msg("page %d of 5 with limit 1 has no next cursor", page + 1);
	}
	/* After the last incident, either next was null or the page after it is empty. */
	if (json_is_string(cursor)) {
		r = s_page(d, 1, cursor, nums, &n);
		assert_int_equal(n, 5);
		CHECK_NULL(r, "next");
		json_decref(r);
	}
	json_decref(cursor);
	h_pass(d);
}

/* Incidents opened while a client pages do not make it see any incident twice. */
static void test_cursor_stable_under_inserts(void **state)
{
	h_daemon_t *d = *state;
	s_open_incidents(d, 1, 12);
	int nums[4 * N_INCIDENTS], n = 0;
	json_t *r = s_page(d, 5, NULL, nums, &n);
	json_t *next = json_incref(json_object_get(r, "next"));
	json_decref(r);
	assert_true(json_is_string(next));
	s_open_incidents(d, 13, 3);
	while (json_is_string(next)) {
		r = s_page(d, 5, next, nums, &n);
		json_decref(next);
		next = json_incref(json_object_get(r, "next"));
		json_decref(r);
		assert_true(n <= 12);
	}
	json_decref(next);
	assert_int_equal(n, 12);
	for (int i = 0; i < 12; i++)
		assert_int_equal(nums[i], 12 - i);
	h_pass(d);
}

/* limit out of 1..1000 or mistyped, and a cursor the daemon never made: bad_request naming them. */
static void test_bad_limit_and_cursor(void **state)
{
	h_daemon_t *d = *state;
	s_open_incidents(d, 1, 2);
	json_t *bad_limits[] = {json_integer(0), json_integer(1001), json_integer(-5),
				json_string("10"), json_real(2.5)};
	for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
		json_t *req = json_pack("{s:s}", "op", "list");
		json_object_set_new(req, "limit", bad_limits[i]);
		json_t *r = PUSH(d, req);
		CHECK_ERROR(r, "bad_request", "limit");
		json_decref(r);
	}
	const char *bad_cursors[] = {"garbage!!", "", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"};
	for (size_t i = 0; i < sizeof bad_cursors / sizeof bad_cursors[0]; i++) {
		json_t *r = h_requestf(d, "{s:s, s:s}", "op", "list", "cursor", bad_cursors[i]);
		CHECK_ERROR(r, "bad_request", "cursor");
		json_decref(r);
	}
	json_t *r = h_requestf(d, "{s:s, s:i}", "op", "list", "cursor", 7);
	CHECK_ERROR(r, "bad_request", "cursor");
	json_decref(r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_follow_cursors),
		DAEMON_TEST(test_limits),
		DAEMON_TEST(test_cursor_stable_under_inserts),
		DAEMON_TEST(test_bad_limit_and_cursor),
	};
	return cmocka_run_group_tests_name("integration/paging", tests, NULL, NULL);
}
