/*
 * Events open incidents and add stages; get and list show them (the real daemon, ipc://).
 */
#include "checks.h"

#include <zmq.h>

/* An opening event: the event fields plus category and title. */
static json_t *s_opening(const char *provider, const char *event_id, const char *ref,
			 int category, const char *title)
{
	json_t *ev = h_event(provider, event_id, ref, "detected");
	json_object_set_new(ev, "category", json_integer(category));
	json_object_set_new(ev, "title", json_string(title));
	return ev;
}

/* The ids of a list reply's "incidents", joined by spaces ("INC...2 INC...1"); malloc'd. */
static char *s_list_ids(h_daemon_t *d, json_t *req /* stolen */)
{
	json_object_set_new(req, "op", json_string("list"));
	json_t *r = PUSH(d, req);
	CHECK_OK(r);
	CHECK_ARRAY(r, "incidents");
	size_t i;
	json_t *s;
	char *out = calloc(1, 16 * (json_array_size(json_object_get(r, "incidents")) + 1));
	json_array_foreach(json_object_get(r, "incidents"), i, s)
	{
		const char *id = json_string_value(json_object_get(s, "id"));
		assert_non_null(id);
		if (i > 0)
			strcat(out, " ");
		strncat(out, id, 15);
	}
	json_decref(r);
	return out;
}

#define CHECK_LIST(d, req, expected)                                                            \
	do {                                                                                    \
		char *got_ = s_list_ids((d), (req));                                           \
		if (strcmp(got_, (expected)) != 0)                                              \
			print_error("list: expected [%s]\n      got [%s]\n", (expected), got_); \
		assert_string_equal(got_, (expected));                                          \
		free(got_);                                                                     \
	} while (0)

#define I1 "INC000000000001"
#define I2 "INC000000000002"
#define I3 "INC000000000003"
#define I4 "INC000000000004"
#define I5 "INC000000000005"

/*
 * The first event opens INC000000000001; the reply echoes the string id; get returns the
 * record with the time converted from +01:00 to UTC milliseconds and received_at near now.
 */
static void test_open_then_get(void **state)
{
	h_daemon_t *d = *state;
	int64_t at_ms = (h_now_ms() / 1000 - 60) * 1000 + 250;
	char base[40], at_text[48], at_utc[32];
	plus_one_format(at_ms, base);
	/* "...:SS+01:00" -> "...:SS.25+01:00", which must come back as "...:SS.250Z". */
	snprintf(at_text, sizeof at_text, "%.19s.25%s", base, base + 19);
	utc_ms_format(at_ms, at_utc);

	json_t *ev = s_opening("acme", "e-1", "ACME-77", 2, "Link down in Leeds");
	json_object_set_new(ev, "at", json_string(at_text));
	json_object_set_new(ev, "service", json_string("broadband"));
	json_object_set_new(ev, "description", json_string("fibre cut"));
	json_object_set_new(ev, "id", json_string("req-1"));
	int64_t before = h_now_ms();
	json_t *r = PUSH(d, ev);
	int64_t after = h_now_ms();
	CHECK_OK(r);
	CHECK_STR(r, "id", "req-1");
	CHECK_STR(r, "incident", I1);
	CHECK_FALSE(r, "duplicate");
	CHECK_STR(r, "status", "open");
	CHECK_ARRAY(r, "breaches");
	if (json_array_size(json_object_get(r, "breaches")) != 0)
		check_fail_(__FILE__, __LINE__, r, "a detection 60 s ago breaches nothing");
	json_decref(r);

	json_t *inc = GET_INCIDENT(d, I1);
	CHECK_STR(inc, "id", I1);
	CHECK_STR(inc, "provider", "acme");
	CHECK_STR(inc, "ref", "ACME-77");
	CHECK_INT(inc, "category", 2);
	CHECK_STR(inc, "title", "Link down in Leeds");
	CHECK_FALSE(inc, "major");
	CHECK_STR(inc, "status", "open");
	CHECK_NULL(inc, "problem");
	CHECK_ARRAY(inc, "breaches");
	if (json_object_get(inc, "verdicts") == NULL)
		check_fail_(__FILE__, __LINE__, inc, "expected \"verdicts\" in the record");
	CHECK_ARRAY(inc, "timeline");
	json_t *tl = json_object_get(inc, "timeline");
	assert_int_equal(json_array_size(tl), 1);
	json_t *e = json_array_get(tl, 0);
	CHECK_STR(e, "stage", "detected");
	CHECK_STR(e, "at", at_utc);
	CHECK_STR(e, "event_id", "e-1");
	CHECK_STR(e, "source", "provider");
	int64_t received = h_parse_utc_ms(json_string_value(json_object_get(e, "received_at")));
	if (received < before - 1000 || received > after + 1000)
		check_fail_(__FILE__, __LINE__, e, "received_at must be the arrival time (UTC, ms)");
	json_decref(inc);
	h_pass(d);
}

/* Any JSON value as "id" is echoed as it was, on success and on error replies. */
static void test_object_id_echoed(void **state)
{
	h_daemon_t *d = *state;
	json_t *id = json_pack("{s:[i,s,n], s:{s:b}}", "n", 1, "two", "x", "deep", "k", 1);
	json_t *ev = s_opening("acme", "e-1", "R1", 3, "t");
	json_object_set(ev, "id", id);
	json_t *r = PUSH(d, ev);
	CHECK_OK(r);
	if (!json_equal(json_object_get(r, "id"), id))
		check_fail_(__FILE__, __LINE__, r, "the object id must be echoed unchanged");
	json_decref(r);

	r = h_requestf(d, "{s:s, s:i}", "op", "status", "id", 42);
	CHECK_OK(r);
	CHECK_INT(r, "id", 42);
	json_decref(r);

	r = h_requestf(d, "{s:s, s:O}", "op", "frobnicate", "id", id);
	CHECK_ERROR(r, "unknown_op", NULL);
	if (!json_equal(json_object_get(r, "id"), id))
		check_fail_(__FILE__, __LINE__, r, "an error reply must echo the id too");
	json_decref(r);
	json_decref(id);
	h_pass(d);
}

/* An event without "at" is recorded at its arrival time: at == received_at, near now. */
static void test_at_defaults_to_arrival(void **state)
{
	h_daemon_t *d = *state;
	int64_t before = h_now_ms();
	char inc_id[32];
	PUSH_OK(d, s_opening("acme", "e-1", "R1", 4, "slow DNS"), inc_id);
	int64_t after = h_now_ms();
	json_t *inc = GET_INCIDENT(d, inc_id);
	json_t *e = json_array_get(json_object_get(inc, "timeline"), 0);
	assert_non_null(e);
	const char *at = json_string_value(json_object_get(e, "at"));
	const char *received = json_string_value(json_object_get(e, "received_at"));
	if (at == NULL || received == NULL || strcmp(at, received) != 0)
		check_fail_(__FILE__, __LINE__, e, "expected at == received_at");
	int64_t ms = h_parse_utc_ms(at);
	if (ms < before - 1000 || ms > after + 1000)
		check_fail_(__FILE__, __LINE__, e, "expected at near now, as YYYY-MM-DDTHH:MM:SS.mmmZ");
	json_decref(inc);
	h_pass(d);
}

/*
 * A second stage for the same provider and ref joins the incident; the same ref from another
 * provider opens a new one; ids are assigned in order from 1.
 */
static void test_same_ref_joins_other_provider_opens(void **state)
{
	h_daemon_t *d = *state;
	char id[32];
	PUSH_OK(d, s_opening("acme", "a-1", "REF-1", 2, "first"), id);
	assert_string_equal(id, I1);
	PUSH_OK(d, h_event("acme", "a-2", "REF-1", "notified"), id);
	assert_string_equal(id, I1);
	PUSH_OK(d, s_opening("globex", "g-1", "REF-1", 2, "same ref, other provider"), id);
	assert_string_equal(id, I2);
	PUSH_OK(d, s_opening("acme", "a-3", "REF-2", 5, "third"), id);
	assert_string_equal(id, I3);
	/* The opening event's title stays; a later event's category and title are ignored. */
	json_t *ev = h_event("acme", "a-4", "REF-1", "acknowledged");
	json_object_set_new(ev, "category", json_integer(5));
	json_object_set_new(ev, "title", json_string("renamed"));
	PUSH_OK(d, ev, id);
	assert_string_equal(id, I1);

	json_t *inc = GET_INCIDENT(d, I1);
	CHECK_STR(inc, "title", "first");
	CHECK_INT(inc, "category", 2);
	json_t *tl = json_object_get(inc, "timeline");
	assert_int_equal(json_array_size(tl), 3);
	const char *want[3][2] = {{"detected", "a-1"}, {"notified", "a-2"}, {"acknowledged", "a-4"}};
	for (int k = 0; k < 3; k++) {
		bool found = false;
		size_t i;
		json_t *e;
		json_array_foreach(tl, i, e)
		{
			const char *st = json_string_value(json_object_get(e, "stage"));
			if (st != NULL && strcmp(st, want[k][0]) == 0) {
				CHECK_STR(e, "event_id", want[k][1]);
				found = true;
			}
		}
		if (!found)
			check_fail_(__FILE__, __LINE__, inc, want[k][0]);
	}
	json_decref(inc);

	inc = GET_INCIDENT(d, I2);
	CHECK_STR(inc, "provider", "globex");
	CHECK_STR(inc, "ref", "REF-1");
	assert_int_equal(json_array_size(json_object_get(inc, "timeline")), 1);
	json_decref(inc);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 3);
	assert_int_equal(STATUS_COUNT(d, "events"), 5);
	h_pass(d);
}

/* get of an id that was never assigned is not_found; a malformed id is bad_request. */
static void test_get_unknown(void **state)
{
	h_daemon_t *d = *state;
	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "get", "incident", "INC999999999999");
	CHECK_ERROR(r, "not_found", NULL);
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "get", "incident", "INC12");
	CHECK_ERROR(r, "bad_request", "incident");
	json_decref(r);
	r = h_requestf(d, "{s:s}", "op", "get");
	CHECK_ERROR(r, "bad_request", "incident");
	json_decref(r);
	h_pass(d);
}

/*
 * Five incidents in every status; list shows open ones newest first by default and each
 * filter selects what it names.
 */
static void test_list_filters(void **state)
{
	h_daemon_t *d = *state;
	PUSH_OK(d, s_opening("a", "1", "r1", 1, "one"), NULL);
	json_t *ev = s_opening("b", "2", "r2", 2, "two");
	json_object_set_new(ev, "major", json_true());
	PUSH_OK(d, ev, NULL);
	PUSH_OK(d, s_opening("a", "3", "r3", 3, "three"), NULL);
	PUSH_OK(d, s_opening("b", "4", "r4", 4, "four"), NULL);
	PUSH_OK(d, s_opening("a", "5", "r5", 5, "five"), NULL);
	json_t *r = PUSH(d, h_event("a", "3r", "r3", "resolved"));
	CHECK_OK(r);
	CHECK_STR(r, "incident", I3);
	CHECK_STR(r, "status", "resolved");
	json_decref(r);
	r = PUSH(d, h_event("b", "4c", "r4", "closed"));
	CHECK_OK(r);
	CHECK_STR(r, "status", "closed");
	json_decref(r);
	PUSH_OK(d, h_event("a", "5m", "r5", "major_declared"), NULL);

	CHECK_LIST(d, json_object(), I5 " " I2 " " I1);
	CHECK_LIST(d, json_pack("{s:s}", "status", "open"), I5 " " I2 " " I1);
	CHECK_LIST(d, json_pack("{s:s}", "status", "resolved"), I3);
	CHECK_LIST(d, json_pack("{s:s}", "status", "closed"), I4);
	CHECK_LIST(d, json_pack("{s:s}", "status", "all"), I5 " " I4 " " I3 " " I2 " " I1);
	CHECK_LIST(d, json_pack("{s:s}", "provider", "a"), I5 " " I1);
	CHECK_LIST(d, json_pack("{s:s, s:s}", "provider", "a", "status", "all"), I5 " " I3 " " I1);
	CHECK_LIST(d, json_pack("{s:s, s:s}", "provider", "zzz", "status", "all"), "");
	CHECK_LIST(d, json_pack("{s:i}", "category", 2), I2);
	CHECK_LIST(d, json_pack("{s:i, s:s}", "category", 4, "status", "all"), I4);
	CHECK_LIST(d, json_pack("{s:b}", "major", 1), I5 " " I2);
	CHECK_LIST(d, json_pack("{s:b}", "major", 0), I1);

	/* The summary fields of one entry. */
	r = h_requestf(d, "{s:s, s:s}", "op", "list", "status", "resolved");
	CHECK_OK(r);
	CHECK_NULL(r, "next");
	json_t *s = json_array_get(json_object_get(r, "incidents"), 0);
	CHECK_STR(s, "id", I3);
	CHECK_STR(s, "provider", "a");
	CHECK_STR(s, "ref", "r3");
	CHECK_INT(s, "category", 3);
	CHECK_STR(s, "title", "three");
	CHECK_FALSE(s, "major");
	CHECK_STR(s, "status", "resolved");
	CHECK_STR(s, "last_stage", "resolved");
	CHECK_NULL(s, "problem");
	if (h_parse_utc_ms(json_string_value(json_object_get(s, "opened_at"))) < 0)
		check_fail_(__FILE__, __LINE__, s, "expected opened_at as a UTC ms time");
	json_decref(r);

	json_t *inc = GET_INCIDENT(d, I5);
	CHECK_TRUE(inc, "major");
	json_decref(inc);
	inc = GET_INCIDENT(d, I4);
	CHECK_STR(inc, "status", "closed");
	json_decref(inc);

	r = h_requestf(d, "{s:s, s:s}", "op", "list", "status", "sideways");
	CHECK_ERROR(r, "bad_request", "status");
	json_decref(r);
	h_pass(d);
}

/* An event with "source" records it; without it the source is "provider". */
static void test_source_per_event(void **state)
{
	h_daemon_t *d = *state;
	json_t *ev = s_opening("acme", "s-1", "R", 2, "t");
	json_object_set_new(ev, "source", json_string("monitoring"));
	PUSH_OK(d, ev, NULL);
	PUSH_OK(d, h_event("acme", "s-2", "R", "notified"), NULL);
	json_t *inc = GET_INCIDENT(d, I1);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(inc, "timeline"), i, e)
	{
		const char *stage = json_string_value(json_object_get(e, "stage"));
		assert_non_null(stage);
		CHECK_STR(e, "source", strcmp(stage, "detected") == 0 ? "monitoring" : "provider");
	}
	assert_int_equal(i, 2);
	json_decref(inc);
	h_pass(d);
}

/* Sends one raw request frame over DEALER; returns the reply frame as text (malloc'd). */
static char *s_raw(h_daemon_t *d, const char *frame)
{
	size_t len = strlen(frame);
	h_msg_t m;
	if (h_exchange(d, ZMQ_DEALER, &frame, &len, 1, &m, H_REPLY_TIMEOUT_MS) < 0)
		fail_msg("no reply to %s", frame);
	assert_int_equal(m.nframes, 1);
	char *text = strndup(m.frame[0], m.len[0]);
	h_msg_clear(&m);
	return text;
}

#define CHECK_RAW(d, frame, expected)                                                           \
	do {                                                                                    \
		char *got_ = s_raw((d), (frame));                                              \
		if (strcmp(got_, (expected)) != 0)                                              \
			print_error("request %s\n expected %s\n      got %s\n", (frame), (expected), \
				    got_);                                                      \
		assert_string_equal(got_, (expected));                                          \
		free(got_);                                                                     \
	} while (0)

/*
 * The common event is decoded by a fast scanner and anything unusual by jansson: both give
 * the same replies, byte for byte, and a retry or a refusal after the fast path still echoes
 * the id and compares the content.
 */
static void test_fast_and_general_paths_agree(void **state)
{
	h_daemon_t *d = *state;
	/* Times of ten minutes ago: in the past (max_clock_skew), and none of them late. */
	int64_t t0 = (h_now_ms() / 60000 - 10) * 60000;
	char at0[32], at5[32], at6[32], before[32], opening[512], frame[512];
	utc_ms_format(t0, at0);
	utc_ms_format(t0 + 5 * 60000, at5);
	utc_ms_format(t0 + 6 * 60000, at6);
	utc_ms_format(t0 - 60 * 60000, before);
	snprintf(opening, sizeof opening,
		 "{\"op\":\"event\",\"id\":7,\"provider\":\"acme\",\"event_id\":\"f-1\","
		 "\"ref\":\"F1\",\"stage\":\"detected\",\"at\":\"%s\","
		 "\"category\":3,\"title\":\"caf\\u00e9 \\\"quoted\\\"\"}", at0);
	CHECK_RAW(d, opening,
		  "{\"ok\":true,\"id\":7,\"incident\":\"" I1 "\",\"duplicate\":false,"
		  "\"status\":\"open\",\"breaches\":[]}");
	/* The exact retry is a duplicate; with one more member (jansson's path) a conflict. */
	CHECK_RAW(d, opening,
		  "{\"ok\":true,\"id\":7,\"incident\":\"" I1 "\",\"duplicate\":true,"
		  "\"status\":\"open\",\"breaches\":[]}");
	snprintf(frame, sizeof frame,
		 "{\"op\":\"event\",\"id\":\"c\",\"provider\":\"acme\",\"event_id\":\"f-1\","
		 "\"ref\":\"F1\",\"stage\":\"detected\",\"at\":\"%s\","
		 "\"category\":3,\"title\":\"caf\\u00e9 \\\"quoted\\\"\",\"x\":1}", at0);
	char *r = s_raw(d, frame);
	json_t *reply = json_loads(r, 0, NULL);
	free(r);
	CHECK_ERROR(reply, "conflict", "event_id");
	CHECK_STR(reply, "id", "c");
	json_decref(reply);
	/* An unknown member and an object id take jansson's path: the same reply format. */
	snprintf(frame, sizeof frame,
		 "{\"op\":\"event\",\"id\":\"s\",\"provider\":\"acme\",\"event_id\":\"f-2\","
		 "\"ref\":\"F1\",\"stage\":\"notified\",\"at\":\"%s\",\"v2\":{}}", at5);
	CHECK_RAW(d, frame,
		  "{\"ok\":true,\"id\":\"s\",\"incident\":\"" I1 "\",\"duplicate\":false,"
		  "\"status\":\"open\",\"breaches\":[]}");
	/* A real id (jansson's path) is echoed as other replies echo it: 15 significant digits. */
	snprintf(frame, sizeof frame,
		 "{\"op\":\"event\",\"id\":{\"r\":0.1},\"provider\":\"acme\","
		 "\"event_id\":\"f-4\",\"ref\":\"F1\",\"stage\":\"acknowledged\","
		 "\"at\":\"%s\"}", at6);
	CHECK_RAW(d, frame,
		  "{\"ok\":true,\"id\":{\"r\":0.1},\"incident\":\"" I1 "\",\"duplicate\":false,"
		  "\"status\":\"open\",\"breaches\":[]}");
	/* Refused after the fast path: the reply still echoes the id. */
	snprintf(frame, sizeof frame,
		 "{\"op\":\"event\",\"id\":-9,\"provider\":\"acme\",\"event_id\":\"f-3\","
		 "\"ref\":\"F1\",\"stage\":\"resolved\",\"at\":\"%s\"}", before);
	r = s_raw(d, frame);
	reply = json_loads(r, 0, NULL);
	free(r);
	CHECK_ERROR(reply, "invalid_transition", "at");
	CHECK_INT(reply, "id", -9);
	json_decref(reply);
	json_t *inc = GET_INCIDENT(d, I1);
	CHECK_STR(inc, "title", "caf\xc3\xa9 \"quoted\"");
	assert_int_equal(json_array_size(json_object_get(inc, "timeline")), 3);
	json_decref(inc);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_open_then_get),
		DAEMON_TEST(test_object_id_echoed),
		DAEMON_TEST(test_at_defaults_to_arrival),
		DAEMON_TEST(test_same_ref_joins_other_provider_opens),
		DAEMON_TEST(test_get_unknown),
		DAEMON_TEST(test_list_filters),
		DAEMON_TEST(test_source_per_event),
		DAEMON_TEST(test_fast_and_general_paths_agree),
	};
	return cmocka_run_group_tests_name("integration/events", tests, NULL, NULL);
}
