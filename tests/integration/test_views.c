/*
 * Operator views: the deadlines op (soonest first, its filters and errors, a deadline gone
 * once stopped or breached, a provider key's own deadlines only), breaches' running and
 * status filters and the ref on each row, list sorted oldest first with its cursor, filters
 * that name nothing (an unknown problem or rule), get by provider and ref, and incidentctl's
 * due, overdue, list --oldest and show PROVIDER/REF.
 */
#include <time.h>

#include "checks.h"

/*
 * The defaults (provider_notification: detected -> notified, 30m for categories 1 and 2, 2h
 * for 3, 1d for 4 and 5) plus:
 *  - ack: notified -> acknowledged, 1h for category 2;
 *  - quick: detected -> notified, 2s for category 4 (a deadline that breaches during a test).
 */
static const char s_rules[] = "\n[sla ack]\n"
			      "start = notified\n"
			      "stop = acknowledged\n"
			      "category.2 = 1h\n"
			      "\n[sla quick]\n"
			      "start = detected\n"
			      "stop = notified\n"
			      "category.4 = 2s\n";

#define MINUTE_MS (60 * 1000)

static int setup_views(void **state)
{
	char conf[8192];
	snprintf(conf, sizeof conf, "%s%s", h_default_config, s_rules);
	return setup_daemon_with(state, conf);
}

#define VIEWS_TEST(f) cmocka_unit_test_setup_teardown(f, setup_views, teardown_daemon)

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* An event of provider's ref at stage, reported at at_ms; eid is its event id. */
static json_t *s_event(const char *provider, const char *eid, const char *ref, const char *stage,
		       int64_t at_ms)
{
	char at[32];
	utc_ms_format(at_ms, at);
	json_t *ev = h_event(provider, eid, ref, stage);
	json_object_set_new(ev, "at", json_string(at));
	return ev;
}

/* Opens provider's ref (category, detected at at_ms) and returns its id in id_out. */
#define OPEN(d, provider, eid, ref, category, at_ms, id_out)                                 \
	do {                                                                                 \
		json_t *ev_ = s_event((provider), (eid), (ref), "detected", (at_ms));        \
		json_object_set_new(ev_, "category", json_integer(category));                \
		json_object_set_new(ev_, "title", json_string(ref));                         \
		PUSH_OK((d), ev_, (id_out));                                                 \
	} while (0)

/* Records stage of provider's ref at at_ms. */
#define STAGE(d, provider, eid, ref, stage, at_ms)                                           \
	PUSH_OK((d), s_event((provider), (eid), (ref), (stage), (at_ms)), NULL)

/*
 * The members key of the rows of a listing reply, joined by spaces ("INC...1 INC...2 "), into
 * out; fails the test when the reply is not ok or has no array under list.
 */
#define COLUMN(r, list, key, out) column_((r), (list), (key), (out), sizeof(out), __FILE__, __LINE__)
static void column_(const json_t *r, const char *list, const char *key, char *out, size_t len,
		    const char *file, int line)
{
	check_ok_(r, file, line);
	const json_t *rows = json_object_get(r, list);
	if (!json_is_array(rows))
		check_fail_(file, line, r, "expected a list of rows");
	size_t i;
	const json_t *row;
	out[0] = '\0';
	json_array_foreach(rows, i, row) {
		const char *v = json_string_value(json_object_get(row, key));
		strncat(out, v ? v : "?", len - strlen(out) - 2);
		strncat(out, " ", len - strlen(out) - 1);
	}
}

/* "INC" followed by the 12 digits of n, then a space: a COLUMN() word. */
static const char *s_inc(int n)
{
	static char buf[8][24];
	static int next;
	char *b = buf[next++ % 8];
	snprintf(b, 24, "INC%012d ", n);
	return b;
}

/* The reply to req (stolen) with "op": "deadlines" added. */
static json_t *s_deadlines(h_daemon_t *d, json_t *req)
{
	json_object_set_new(req, "op", json_string("deadlines"));
	json_t *r = h_request(d, req);
	json_decref(req);
	return r;
}

/* deadlines: every pending deadline, soonest first, each with what names it and the time left. */
static void test_deadlines_soonest_first(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	char a[32], b[32], c[32];
	OPEN(d, "acme", "a1", "A-1", 2, now - 10 * MINUTE_MS, a); /* due in 20m */
	OPEN(d, "acme", "b1", "B/1", 3, now - 30 * MINUTE_MS, b); /* due in 90m */
	OPEN(d, "beta", "c1", "C-1", 1, now - 25 * MINUTE_MS, c); /* due in 5m */
	/* Started and stopped in time: not pending. */
	OPEN(d, "beta", "e1", "E-1", 1, now - 5 * MINUTE_MS, NULL);
	STAGE(d, "beta", "e2", "E-1", "notified", now - 4 * MINUTE_MS);
	/* Breached on arrival: not pending either. */
	OPEN(d, "beta", "f1", "F-1", 1, now - 60 * MINUTE_MS, NULL);

	int64_t asked = h_now_ms();
	json_t *r = s_deadlines(d, json_object());
	char ids[256];
	COLUMN(r, "deadlines", "incident", ids);
	char want[256];
	snprintf(want, sizeof want, "%s%s%s", s_inc(3), s_inc(1), s_inc(2));
	assert_string_equal(ids, want);
	CHECK_FALSE(r, "more");
	const json_t *row = json_array_get(json_object_get(r, "deadlines"), 1);
	CHECK_STR(row, "incident", "INC000000000001");
	CHECK_STR(row, "provider", "acme");
	CHECK_STR(row, "ref", "A-1");
	CHECK_STR(row, "sla", "provider_notification");
	char due[32];
	utc_ms_format(now + 20 * MINUTE_MS, due);
	CHECK_STR(row, "due", due);
	long long left = json_integer_value(json_object_get(row, "remaining_ms"));
	int64_t expect = now + 20 * MINUTE_MS - asked;
	assert_true(left <= expect && left > expect - 5000);
	row = json_array_get(json_object_get(r, "deadlines"), 2);
	CHECK_STR(row, "ref", "B/1");
	utc_ms_format(now + 90 * MINUTE_MS, due);
	CHECK_STR(row, "due", due);
	json_decref(r);
	h_pass(d);
}

/* deadlines' filters: within_ms, provider, sla, limit (with "more"). */
static void test_deadlines_filters(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	OPEN(d, "acme", "a1", "A-1", 2, now - 10 * MINUTE_MS, NULL);
	STAGE(d, "acme", "a2", "A-1", "notified", now - 5 * MINUTE_MS); /* pn met; ack due in 55m */
	OPEN(d, "acme", "b1", "B-1", 3, now - 30 * MINUTE_MS, NULL);   /* pn due in 90m */
	OPEN(d, "beta", "c1", "C-1", 1, now - 25 * MINUTE_MS, NULL);   /* pn due in 5m */
	char ids[256], rules[256], want[256];

	json_t *r = s_deadlines(d, json_pack("{s:I}", "within_ms", (json_int_t)(30 * MINUTE_MS)));
	COLUMN(r, "deadlines", "incident", ids);
	assert_string_equal(ids, "INC000000000003 ");
	json_decref(r);
	r = s_deadlines(d, json_pack("{s:I}", "within_ms", (json_int_t)(60 * MINUTE_MS)));
	COLUMN(r, "deadlines", "sla", rules);
	assert_string_equal(rules, "provider_notification ack ");
	json_decref(r);
	r = s_deadlines(d, json_pack("{s:i}", "within_ms", 0));
	COLUMN(r, "deadlines", "incident", ids);
	assert_string_equal(ids, "");
	json_decref(r);

	r = s_deadlines(d, json_pack("{s:s}", "provider", "acme"));
	COLUMN(r, "deadlines", "sla", rules);
	assert_string_equal(rules, "ack provider_notification ");
	json_decref(r);
	r = s_deadlines(d, json_pack("{s:s}", "provider", "nobody"));
	COLUMN(r, "deadlines", "incident", ids);
	assert_string_equal(ids, "");
	json_decref(r);
	r = s_deadlines(d, json_pack("{s:s}", "sla", "ack"));
	COLUMN(r, "deadlines", "incident", ids);
	assert_string_equal(ids, "INC000000000001 ");
	json_decref(r);

	r = s_deadlines(d, json_pack("{s:i}", "limit", 2));
	COLUMN(r, "deadlines", "incident", ids);
	snprintf(want, sizeof want, "%s%s", s_inc(3), s_inc(1));
	assert_string_equal(ids, want);
	CHECK_TRUE(r, "more");
	json_decref(r);
	r = s_deadlines(d, json_pack("{s:i}", "limit", 3)); /* exactly all of them */
	CHECK_FALSE(r, "more");
	json_decref(r);
	h_pass(d);
}

/* deadlines' refusals: each names its field. */
static void test_deadlines_errors(void **state)
{
	h_daemon_t *d = *state;
	OPEN(d, "acme", "a1", "A-1", 2, h_now_ms(), NULL);
	static const struct {
		const char *json, *code, *mention;
	} cases[] = {
		{"{\"limit\":0}", "bad_request", "limit"},
		{"{\"limit\":10001}", "bad_request", "limit"},
		{"{\"limit\":\"5\"}", "bad_request", "limit"},
		{"{\"within_ms\":-1}", "bad_request", "within_ms"},
		{"{\"within_ms\":\"1h\"}", "bad_request", "within_ms"},
		{"{\"provider\":\"\"}", "bad_request", "provider"},
		{"{\"sla\":\"nope\"}", "bad_request", "sla: no such rule"},
		{"{\"sla\":7}", "bad_request", "sla"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *r = s_deadlines(d, json_loads(cases[i].json, 0, NULL));
		CHECK_ERROR(r, cases[i].code, cases[i].mention);
		json_decref(r);
	}
	json_t *r = s_deadlines(d, json_pack("{s:i, s:i}", "limit", 10000, "within_ms", 0));
	CHECK_OK(r);
	json_decref(r);
	h_pass(d);
}

/* A deadline leaves the list when its stop stage arrives, and when it breaches. */
static void test_deadlines_gone_when_stopped_or_breached(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	OPEN(d, "acme", "a1", "A-1", 2, now - MINUTE_MS, NULL);
	char rules[256];
	json_t *r = s_deadlines(d, json_pack("{s:s}", "provider", "acme"));
	COLUMN(r, "deadlines", "sla", rules);
	assert_string_equal(rules, "provider_notification ");
	json_decref(r);
	/* Notified in time: provider_notification stopped, ack started. */
	STAGE(d, "acme", "a2", "A-1", "notified", h_now_ms());
	r = s_deadlines(d, json_pack("{s:s}", "provider", "acme"));
	COLUMN(r, "deadlines", "sla", rules);
	assert_string_equal(rules, "ack ");
	json_decref(r);

	/* quick (2 s, category 4) breaches at its deadline and leaves the list. */
	OPEN(d, "beta", "q1", "Q-1", 4, h_now_ms(), NULL);
	r = s_deadlines(d, json_pack("{s:s}", "sla", "quick"));
	COLUMN(r, "deadlines", "ref", rules);
	assert_string_equal(rules, "Q-1 ");
	json_decref(r);
	int64_t until = h_mono_ms() + 8000;
	do {
		s_sleep_ms(100);
		r = s_deadlines(d, json_pack("{s:s}", "sla", "quick"));
		COLUMN(r, "deadlines", "ref", rules);
		json_decref(r);
	} while (rules[0] != '\0' && h_mono_ms() < until);
	assert_string_equal(rules, "");
	r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "sla", "quick");
	COLUMN(r, "breaches", "ref", rules);
	assert_string_equal(rules, "Q-1 ");
	json_decref(r);
	/* Its other rule (provider_notification, 1 day) is still pending. */
	r = s_deadlines(d, json_pack("{s:s}", "provider", "beta"));
	COLUMN(r, "deadlines", "sla", rules);
	assert_string_equal(rules, "provider_notification ");
	json_decref(r);
	h_pass(d);
}

/*
 * Breaches of provider_notification, category 1 (30m):
 *  INC1 acme R-1 detected 2h ago, never notified: running, due 90m ago;
 *  INC2 acme R-2 detected 2h ago, notified 1h ago: stopped;
 *  INC3 beta R-3 detected 1h ago: running, due 30m ago;
 *  INC4 acme R-4 detected 3h ago, resolved 1h ago without notification: running, resolved.
 */
static void s_breach_cast(h_daemon_t *d, int64_t now)
{
	OPEN(d, "acme", "1a", "R-1", 1, now - 120 * MINUTE_MS, NULL);
	OPEN(d, "acme", "2a", "R-2", 1, now - 120 * MINUTE_MS, NULL);
	STAGE(d, "acme", "2b", "R-2", "notified", now - 60 * MINUTE_MS);
	OPEN(d, "beta", "3a", "R-3", 1, now - 60 * MINUTE_MS, NULL);
	OPEN(d, "acme", "4a", "R-4", 1, now - 180 * MINUTE_MS, NULL);
	STAGE(d, "acme", "4b", "R-4", "resolved", now - 60 * MINUTE_MS);
}

/* breaches: running true/false, status of the incident, ref on every row, an unknown sla. */
static void test_breaches_running_and_status(void **state)
{
	h_daemon_t *d = *state;
	s_breach_cast(d, h_now_ms());
	char ids[256], refs[256];
	json_t *r = h_requestf(d, "{s:s}", "op", "breaches");
	COLUMN(r, "breaches", "ref", refs);
	assert_string_equal(refs, "R-1 R-2 R-3 R-4 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:b}", "op", "breaches", "running", 1);
	COLUMN(r, "breaches", "incident", ids);
	assert_string_equal(ids, "INC000000000001 INC000000000003 INC000000000004 ");
	CHECK_NULL(json_array_get(json_object_get(r, "breaches"), 0), "stopped_at");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:b}", "op", "breaches", "running", 0);
	COLUMN(r, "breaches", "incident", ids);
	assert_string_equal(ids, "INC000000000002 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:b, s:s}", "op", "breaches", "running", 1, "status", "open");
	COLUMN(r, "breaches", "ref", refs);
	assert_string_equal(refs, "R-1 R-3 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "status", "resolved");
	COLUMN(r, "breaches", "ref", refs);
	assert_string_equal(refs, "R-4 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:b, s:s, s:s}", "op", "breaches", "running", 1, "status", "open",
		       "provider", "acme");
	COLUMN(r, "breaches", "ref", refs);
	assert_string_equal(refs, "R-1 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "sla", "provider_notification");
	COLUMN(r, "breaches", "ref", refs);
	assert_string_equal(refs, "R-1 R-2 R-3 R-4 ");
	json_decref(r);

	r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "sla", "nope");
	CHECK_ERROR(r, "bad_request", "sla: no such rule");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "running", "yes");
	CHECK_ERROR(r, "bad_request", "running");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "status", "stopped");
	CHECK_ERROR(r, "bad_request", "status");
	json_decref(r);
	h_pass(d);
}

/*
 * Opens three incidents whose opening times are not in id order: INC1 an hour ago, INC2 three
 * hours ago, INC3 two hours ago; INC4 four hours ago, resolved.
 */
static void s_aged_cast(h_daemon_t *d, int64_t now)
{
	OPEN(d, "acme", "1a", "O-1", 5, now - 60 * MINUTE_MS, NULL);
	OPEN(d, "acme", "2a", "O-2", 5, now - 180 * MINUTE_MS, NULL);
	OPEN(d, "beta", "3a", "O-3", 5, now - 120 * MINUTE_MS, NULL);
	OPEN(d, "beta", "4a", "O-4", 5, now - 240 * MINUTE_MS, NULL);
	STAGE(d, "beta", "4b", "O-4", "resolved", now - 200 * MINUTE_MS);
}

/* list sort: newest by id, oldest by opened_at, with the status filter. */
static void test_list_sort(void **state)
{
	h_daemon_t *d = *state;
	s_aged_cast(d, h_now_ms());
	char ids[256];
	json_t *r = h_requestf(d, "{s:s}", "op", "list");
	COLUMN(r, "incidents", "ref", ids);
	assert_string_equal(ids, "O-3 O-2 O-1 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "list", "sort", "newest");
	COLUMN(r, "incidents", "ref", ids);
	assert_string_equal(ids, "O-3 O-2 O-1 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "list", "sort", "oldest");
	COLUMN(r, "incidents", "ref", ids);
	assert_string_equal(ids, "O-2 O-3 O-1 ");
	CHECK_NULL(r, "next");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "list", "sort", "oldest", "status", "all");
	COLUMN(r, "incidents", "ref", ids);
	assert_string_equal(ids, "O-4 O-2 O-3 O-1 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "list", "sort", "oldest", "status", "resolved");
	COLUMN(r, "incidents", "ref", ids);
	assert_string_equal(ids, "O-4 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "list", "sort", "oldest", "provider", "beta");
	COLUMN(r, "incidents", "ref", ids);
	assert_string_equal(ids, "O-3 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "list", "sort", "age");
	CHECK_ERROR(r, "bad_request", "sort");
	json_decref(r);
	h_pass(d);
}

/* list sorted oldest first pages with its cursor; a cursor of the other order is refused. */
static void test_list_oldest_paging(void **state)
{
	h_daemon_t *d = *state;
	s_aged_cast(d, h_now_ms());
	static const char *const pages[] = {"O-4 ", "O-2 ", "O-3 ", "O-1 "};
	char ids[256], cursor[64] = "";
	for (size_t i = 0; i < 4; i++) {
		json_t *req = json_pack("{s:s, s:s, s:s, s:i}", "op", "list", "sort", "oldest",
					"status", "all", "limit", 1);
		if (cursor[0] != '\0')
			json_object_set_new(req, "cursor", json_string(cursor));
		json_t *r = h_request(d, req);
		json_decref(req);
		COLUMN(r, "incidents", "ref", ids);
		assert_string_equal(ids, pages[i]);
		const char *next = json_string_value(json_object_get(r, "next"));
		if (i < 3)
			assert_non_null(next);
		else
			CHECK_NULL(r, "next");
		snprintf(cursor, sizeof cursor, "%s", next ? next : "");
		json_decref(r);
	}
	/* Two at a time; the newest order's cursor does not continue this one. */
	json_t *r = h_requestf(d, "{s:s, s:s, s:i}", "op", "list", "sort", "oldest", "limit", 2);
	COLUMN(r, "incidents", "ref", ids);
	assert_string_equal(ids, "O-2 O-3 ");
	char oldest_next[64];
	snprintf(oldest_next, sizeof oldest_next, "%s",
		 json_string_value(json_object_get(r, "next")));
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "list", "sort", "oldest", "cursor", oldest_next);
	COLUMN(r, "incidents", "ref", ids);
	assert_string_equal(ids, "O-1 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "list", "cursor", oldest_next);
	CHECK_ERROR(r, "bad_request", "cursor");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:i}", "op", "list", "limit", 1);
	const char *newest_next = json_string_value(json_object_get(r, "next"));
	assert_non_null(newest_next);
	json_t *r2 = h_requestf(d, "{s:s, s:s, s:s}", "op", "list", "sort", "oldest", "cursor",
				newest_next);
	CHECK_ERROR(r2, "bad_request", "cursor");
	json_decref(r2);
	json_decref(r);
	h_pass(d);
}

/* list with a problem that does not exist: not_found; one with no incidents: empty. */
static void test_list_unknown_problem(void **state)
{
	h_daemon_t *d = *state;
	OPEN(d, "acme", "a1", "A-1", 2, h_now_ms(), NULL);
	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "list", "problem", "PBI000000000001");
	CHECK_ERROR(r, "not_found", "PBI000000000001");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "problem.create", "title", "routing");
	CHECK_OK(r);
	json_decref(r);
	char ids[256];
	r = h_requestf(d, "{s:s, s:s}", "op", "list", "problem", "PBI000000000001");
	COLUMN(r, "incidents", "id", ids);
	assert_string_equal(ids, "");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "problem.link", "problem", "PBI000000000001",
		       "incident", "INC000000000001");
	CHECK_OK(r);
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "list", "problem", "PBI000000000001");
	COLUMN(r, "incidents", "id", ids);
	assert_string_equal(ids, "INC000000000001 ");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "list", "problem", "PBI000000000002");
	CHECK_ERROR(r, "not_found", "PBI000000000002");
	json_decref(r);
	h_pass(d);
}

/* get by provider and ref: the same record as by id; not_found and bad_request otherwise. */
static void test_get_by_ref(void **state)
{
	h_daemon_t *d = *state;
	OPEN(d, "acme", "a1", "A-1", 2, h_now_ms(), NULL);
	OPEN(d, "acme", "b1", "path/to/B", 2, h_now_ms(), NULL);
	json_t *r = h_requestf(d, "{s:s, s:s, s:s}", "op", "get", "provider", "acme", "ref",
			       "path/to/B");
	CHECK_OK(r);
	json_t *by_ref = json_object_get(r, "incident");
	CHECK_STR(by_ref, "id", "INC000000000002");
	json_t *by_id = GET_INCIDENT(d, "INC000000000002");
	/* verdicts hold remaining_ms, which moves between the two requests. */
	json_object_del(by_id, "verdicts");
	json_object_del(by_ref, "verdicts");
	assert_true(json_equal(by_id, by_ref));
	json_decref(by_id);
	json_decref(r);

	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "get", "provider", "acme", "ref", "A-2");
	CHECK_ERROR(r, "not_found", "acme/A-2");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "get", "provider", "beta", "ref", "A-1");
	CHECK_ERROR(r, "not_found", "beta/A-1");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "get", "provider", "acme");
	CHECK_ERROR(r, "bad_request", "ref");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "get", "ref", "A-1");
	CHECK_ERROR(r, "bad_request", "provider");
	json_decref(r);
	r = h_requestf(d, "{s:s}", "op", "get");
	CHECK_ERROR(r, "bad_request", "incident");
	json_decref(r);
	/* incident wins over provider and ref. */
	r = h_requestf(d, "{s:s, s:s, s:s, s:s}", "op", "get", "incident", "INC000000000001",
		       "provider", "acme", "ref", "path/to/B");
	CHECK_OK(r);
	CHECK_STR(json_object_get(r, "incident"), "ref", "A-1");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:i}", "op", "get", "provider", "acme", "ref", 1);
	CHECK_ERROR(r, "bad_request", "ref");
	json_decref(r);
	h_pass(d);
}

/* Position of needle in hay (fails the test when absent), for checking the order of lines. */
static size_t s_at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);
	if (p == NULL)
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
	return (size_t)(p - hay);
}

/* incidentctl due: a table soonest first, its filters, --json, and its usage errors. */
static void test_ctl_due(void **state)
{
	h_daemon_t *d = *state;
	int64_t now = h_now_ms();
	OPEN(d, "acme", "a1", "A-1", 2, now - 10 * MINUTE_MS, NULL); /* due in 20m */
	OPEN(d, "acme", "b1", "B-1", 3, now - 30 * MINUTE_MS, NULL); /* due in 90m */
	OPEN(d, "beta", "c1", "C-1", 1, now - 25 * MINUTE_MS, NULL); /* due in 5m */
	h_run_t r;
	CTL(d, &r, "due");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "DUE", "due's header");
	expect_in(r.out, "REMAINING", "due's header");
	expect_in(r.out, "RULE", "due's header");
	/* Human output shows times in the --tz zone (UTC here) to the second, with the offset. */
	char due[40];
	utc_ms_format(now + 20 * MINUTE_MS, due);
	snprintf(due + 19, sizeof due - 19, "+00:00");
	expect_in(r.out, due, "due's output");
	assert_true(s_at(r.out, "C-1") < s_at(r.out, "A-1"));
	assert_true(s_at(r.out, "A-1") < s_at(r.out, "B-1"));
	expect_in(r.out, "INC000000000003  beta", "due's row");
	expect_in(r.out, "provider_notification", "due's row");
	/* Remaining time, as a duration: 19m5Xs or so. */
	expect_in(r.out, "  19m", "due's remaining column");
	h_run_clear(&r);

	CTL(d, &r, "due", "--within", "30m");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "A-1", "due --within 30m");
	assert_null(strstr(r.out, "B-1"));
	h_run_clear(&r);
	CTL(d, &r, "due", "--within", "2h", "--provider", "acme", "--sla", "provider_notification");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "B-1", "due --provider acme");
	assert_null(strstr(r.out, "C-1"));
	h_run_clear(&r);
	CTL(d, &r, "due", "--within", "0s");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "no pending deadlines", "due with nothing due");
	h_run_clear(&r);
	CTL(d, &r, "due", "--limit", "1");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "C-1", "due --limit 1");
	assert_null(strstr(r.out, "A-1"));
	expect_in(r.out, "more deadlines than shown", "due --limit 1");
	h_run_clear(&r);

	CTL(d, &r, "--json", "due", "--within", "1d");
	CHECK_EXIT(&r, 0);
	json_t *reply = json_loads(r.out, 0, NULL);
	CHECK_OK(reply);
	assert_int_equal(json_array_size(json_object_get(reply, "deadlines")), 3);
	CHECK_FALSE(reply, "more");
	json_decref(reply);
	h_run_clear(&r);

	static const char *const bad[][3] = {
		{"--within", "5x", "--within"}, {"--within", "-5m", "--within"},
		{"--limit", "0", "--limit"},    {"--limit", "10001", "--limit"},
		{"--limit", "x", "--limit"},    {"--nope", "1", "--nope"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CTL(d, &r, "due", (char *)bad[i][0], (char *)bad[i][1]);
		CHECK_EXIT(&r, 2);
		expect_in(r.err, bad[i][2], "due's usage error");
		h_run_clear(&r);
	}
	CTL(d, &r, "due", "--sla", "nope");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "bad_request: sla: no such rule", "due --sla nope");
	h_run_clear(&r);
	h_pass(d);
}

/* incidentctl overdue: running breaches of open incidents, latest due first. */
static void test_ctl_overdue(void **state)
{
	h_daemon_t *d = *state;
	s_breach_cast(d, h_now_ms());
	h_run_t r;
	CTL(d, &r, "overdue");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "INCIDENT", "overdue's header");
	expect_in(r.out, "LATE_BY", "overdue's header");
	/* INC3 (due 30m ago) before INC1 (due 90m ago); INC2 stopped, INC4 resolved. */
	assert_true(s_at(r.out, "INC000000000003  beta      R-3") < s_at(r.out, "INC000000000001"));
	expect_in(r.out, "INC000000000001  acme      R-1  provider_notification", "overdue's row");
	expect_in(r.out, "1h30m", "INC1's lateness");
	assert_null(strstr(r.out, "R-2"));
	assert_null(strstr(r.out, "R-4"));
	h_run_clear(&r);
	CTL(d, &r, "overdue", "--provider", "acme");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "R-1", "overdue --provider acme");
	assert_null(strstr(r.out, "R-3"));
	h_run_clear(&r);
	CTL(d, &r, "overdue", "--provider", "gamma");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "no overdue incidents", "overdue with none");
	h_run_clear(&r);
	CTL(d, &r, "--json", "overdue");
	CHECK_EXIT(&r, 0);
	json_t *reply = json_loads(r.out, 0, NULL);
	char refs[64];
	COLUMN(reply, "breaches", "ref", refs);
	assert_string_equal(refs, "R-1 R-3 ");
	json_decref(reply);
	h_run_clear(&r);
	CTL(d, &r, "overdue", "extra");
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);
	h_pass(d);
}

/* incidentctl list --oldest and show PROVIDER/REF. */
static void test_ctl_list_oldest_and_show_ref(void **state)
{
	h_daemon_t *d = *state;
	s_aged_cast(d, h_now_ms());
	OPEN(d, "acme", "5a", "dir/ref", 2, h_now_ms(), NULL);
	h_run_t r;
	CTL(d, &r, "list", "--oldest");
	CHECK_EXIT(&r, 0);
	assert_true(s_at(r.out, "O-2") < s_at(r.out, "O-3"));
	assert_true(s_at(r.out, "O-3") < s_at(r.out, "O-1"));
	assert_true(s_at(r.out, "O-1") < s_at(r.out, "dir/ref"));
	h_run_clear(&r);
	CTL(d, &r, "list", "--oldest", "--limit", "1");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "O-2", "list --oldest --limit 1");
	expect_in(r.out, "next page: --cursor o", "list --oldest --limit 1");
	h_run_clear(&r);
	CTL(d, &r, "list");
	CHECK_EXIT(&r, 0);
	assert_true(s_at(r.out, "dir/ref") < s_at(r.out, "O-3"));
	assert_true(s_at(r.out, "O-3") < s_at(r.out, "O-2"));
	h_run_clear(&r);
	CTL(d, &r, "list", "--oldest=yes");
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);

	CTL(d, &r, "show", "acme/dir/ref");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "INC000000000005", "show acme/dir/ref");
	expect_in(r.out, "dir/ref", "show acme/dir/ref");
	h_run_clear(&r);
	CTL(d, &r, "--json", "show", "beta/O-3");
	CHECK_EXIT(&r, 0);
	json_t *reply = json_loads(r.out, 0, NULL);
	CHECK_OK(reply);
	CHECK_STR(json_object_get(reply, "incident"), "id", "INC000000000003");
	json_decref(reply);
	h_run_clear(&r);
	CTL(d, &r, "show", "beta/O-1");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "not_found", "show of another provider's ref");
	expect_in(r.err, "beta/O-1", "show of another provider's ref");
	h_run_clear(&r);
	CTL(d, &r, "show", "INC000000000001");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "O-1", "show INC");
	h_run_clear(&r);
	static const char *const bad[] = {"acme/", "/O-1"};
	for (size_t i = 0; i < 2; i++) {
		CTL(d, &r, "show", (char *)bad[i]);
		CHECK_EXIT(&r, 2);
		expect_in(r.err, "PROVIDER/REF", "show's usage error");
		h_run_clear(&r);
	}
	h_pass(d);
}

/* The filters that name nothing, through incidentctl: exit 1 with the daemon's words. */
static void test_ctl_unknown_names(void **state)
{
	h_daemon_t *d = *state;
	OPEN(d, "acme", "a1", "A-1", 2, h_now_ms(), NULL);
	h_run_t r;
	CTL(d, &r, "list", "--problem", "PBI000000000009");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "not_found: problem: PBI000000000009 not found", "list --problem");
	h_run_clear(&r);
	CTL(d, &r, "breaches", "--sla", "nope");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "bad_request: sla: no such rule", "breaches --sla nope");
	h_run_clear(&r);
	h_pass(d);
}

/* With CURVE: a provider key lists its providers' deadlines and breaches only. */
typedef struct {
	h_keys_t north, south, board;
} cast_t;

static cast_t s_cast;

static int setup_curve(void **state)
{
	h_daemon_t *d = h_new(NULL);
	if (!d)
		return -1;
	*state = d;
	cast_t *c = &s_cast;
	char server_key[H_PATH_MAX], conf[8192];
	static h_keys_t ops;
	if (h_keys_new(&d->server) || h_keys_new(&c->north) || h_keys_new(&c->south) ||
	    h_keys_new(&c->board) || h_keys_new(&ops) ||
	    h_write_keys(d, "server.key", &d->server, true, 0600, server_key))
		return -1;
	snprintf(conf, sizeof conf,
		 "%s%s\n[security]\ncurve = true\nsecret_key = %s\n"
		 "[client north]\nkey = %s\nrole = provider\nproviders = csp-north\n"
		 "[client south]\nkey = %s\nrole = provider\nproviders = csp-south\n"
		 "[client ops]\nkey = %s\nrole = operator\n"
		 "[client board]\nkey = %s\nrole = viewer\n",
		 h_default_config, s_rules, server_key, c->north.pub, c->south.pub, ops.pub,
		 c->board.pub);
	if (h_write_file(d, "incidentd.conf", conf, d->conf) < 0)
		return -1;
	d->as = &ops;
	return h_start(d);
}

/* req (stolen) as the given keys. */
static json_t *s_as(h_daemon_t *d, const h_keys_t *as, json_t *req)
{
	json_t *r = h_request_as(d, as, req, H_REPLY_TIMEOUT_MS);
	json_decref(req);
	return r;
}

static void test_deadlines_scoped_to_provider_key(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	int64_t now = h_now_ms();
	OPEN(d, "csp-north", "n1", "N-1", 2, now - 10 * MINUTE_MS, NULL);
	OPEN(d, "csp-south", "s1", "S-1", 2, now - 20 * MINUTE_MS, NULL);
	OPEN(d, "csp-south", "s2", "S-2", 1, now - 60 * MINUTE_MS, NULL); /* breached */
	OPEN(d, "csp-north", "n2", "N-2", 1, now - 60 * MINUTE_MS, NULL); /* breached */
	char refs[256];
	json_t *r = s_as(d, &c->north, json_pack("{s:s}", "op", "deadlines"));
	COLUMN(r, "deadlines", "ref", refs);
	assert_string_equal(refs, "N-1 ");
	json_decref(r);
	r = s_as(d, &c->south, json_pack("{s:s}", "op", "deadlines"));
	COLUMN(r, "deadlines", "ref", refs);
	assert_string_equal(refs, "S-1 ");
	json_decref(r);
	/* Asking for another provider by name gives nothing either. */
	r = s_as(d, &c->north, json_pack("{s:s, s:s}", "op", "deadlines", "provider", "csp-south"));
	COLUMN(r, "deadlines", "ref", refs);
	assert_string_equal(refs, "");
	json_decref(r);
	r = s_as(d, &c->board, json_pack("{s:s}", "op", "deadlines"));
	COLUMN(r, "deadlines", "ref", refs);
	assert_string_equal(refs, "S-1 N-1 ");
	json_decref(r);
	/* breaches (running) and get by ref keep to the key's providers too. */
	r = s_as(d, &c->north, json_pack("{s:s, s:b}", "op", "breaches", "running", 1));
	COLUMN(r, "breaches", "ref", refs);
	assert_string_equal(refs, "N-2 ");
	json_decref(r);
	r = s_as(d, &c->north,
		 json_pack("{s:s, s:s, s:s}", "op", "get", "provider", "csp-south", "ref", "S-1"));
	CHECK_ERROR(r, "not_found", "csp-south/S-1");
	json_decref(r);
	r = s_as(d, &c->north,
		 json_pack("{s:s, s:s, s:s}", "op", "get", "provider", "csp-north", "ref", "N-1"));
	CHECK_OK(r);
	json_decref(r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VIEWS_TEST(test_deadlines_soonest_first),
		VIEWS_TEST(test_deadlines_filters),
		VIEWS_TEST(test_deadlines_errors),
		VIEWS_TEST(test_deadlines_gone_when_stopped_or_breached),
		VIEWS_TEST(test_breaches_running_and_status),
		VIEWS_TEST(test_list_sort),
		VIEWS_TEST(test_list_oldest_paging),
		VIEWS_TEST(test_list_unknown_problem),
		VIEWS_TEST(test_get_by_ref),
		VIEWS_TEST(test_ctl_due),
		VIEWS_TEST(test_ctl_overdue),
		VIEWS_TEST(test_ctl_list_oldest_and_show_ref),
		VIEWS_TEST(test_ctl_unknown_names),
		cmocka_unit_test_setup_teardown(test_deadlines_scoped_to_provider_key, setup_curve,
						teardown_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
