/*
 * The publish socket: topics, bodies, a daemon-wide increasing "seq" that survives restarts.
 */
#include "checks.h"

/* What a subscriber has seen so far. */
typedef struct {
	void *sub;
	long long last_seq; /* -1 before the first message */
	int warmups;
} s_watch_t;

/* A status in a body, when present, is one of the incident statuses. */
static void s_check_status(const json_t *body)
{
	json_t *st = json_object_get(body, "status");
	const char *s = json_string_value(st);
	if (st != NULL && (s == NULL || (strcmp(s, "open") != 0 && strcmp(s, "resolved") != 0 &&
					 strcmp(s, "closed") != 0)))
		check_fail_(__FILE__, __LINE__, body,
			    "\"status\" must be \"open\", \"resolved\" or \"closed\"");
}

/*
 * Receives one message within timeout_ms and checks its shape and that its seq is greater
 * than every seq seen before. Returns the body (new reference) and sets *topic_out
 * (malloc'd), or NULL on timeout.
 */
static json_t *s_next(s_watch_t *w, int timeout_ms, char **topic_out)
{
	char *topic = NULL;
	json_t *body = NULL;
	int rc = h_sub_recv(w->sub, timeout_ms, &topic, &body);
	if (rc == -1)
		return NULL;
	assert_int_equal(rc, 0);
	json_t *seq = json_object_get(body, "seq");
	if (!json_is_integer(seq))
		check_fail_(__FILE__, __LINE__, body, "every published body carries an integer seq");
	if (json_integer_value(seq) <= w->last_seq) {
		print_error("seq %lld after %lld on %s\n", (long long)json_integer_value(seq),
			    w->last_seq, topic);
		check_fail_(__FILE__, __LINE__, body, "seq must increase strictly");
	}
	w->last_seq = json_integer_value(seq);
	s_check_status(body);
	*topic_out = topic;
	return body;
}

/*
 * A SUB socket only receives what is published after its subscription reached the
 * publisher, which takes an unknown moment: open throw-away incidents until one of their
 * messages arrives (bounded), so that everything after it is seen.
 */
static void s_watch_start(h_daemon_t *d, s_watch_t *w)
{
	w->sub = h_sub(d);
	assert_non_null(w->sub);
	for (int i = 0; i < 40; i++) {
		char eid[32], ref[32];
		snprintf(eid, sizeof eid, "warm-%d-%d", d->runs, w->warmups);
		snprintf(ref, sizeof ref, "W-%d-%d", d->runs, w->warmups);
		w->warmups++;
		json_t *ev = h_event("warmup", eid, ref, "detected");
		json_object_set_new(ev, "category", json_integer(5));
		json_object_set_new(ev, "title", json_string("subscription warm-up"));
		PUSH_OK(d, ev, NULL);
		char *topic;
		json_t *body = s_next(w, 250, &topic);
		if (body != NULL) {
			free(topic);
			json_decref(body);
			return;
		}
	}
	fail_msg("no published message within 10 s of subscribing");
}

/*
 * Reads messages until one with this topic and incident (and this stage, when stage is not
 * NULL) arrives within 3 s; returns it.
 */
static json_t *s_expect_stage(s_watch_t *w, const char *topic, const char *incident,
			      const char *stage)
{
	int64_t deadline = h_mono_ms() + 3000;
	while (h_mono_ms() < deadline) {
		char *t;
		json_t *body = s_next(w, (int)(deadline - h_mono_ms()) + 1, &t);
		if (body == NULL)
			break;
		const char *inc = json_string_value(json_object_get(body, "incident"));
		const char *st = json_string_value(json_object_get(body, "stage"));
		bool match = strcmp(t, topic) == 0 && inc != NULL && strcmp(inc, incident) == 0 &&
			     (stage == NULL || (st != NULL && strcmp(st, stage) == 0));
		free(t);
		if (match)
			return body;
		json_decref(body);
	}
	fail_msg("no \"%s\" message for %s%s%s within 3 s", topic, incident,
		 stage != NULL ? " stage " : "", stage != NULL ? stage : "");
	return NULL;
}

static json_t *s_expect(s_watch_t *w, const char *topic, const char *incident)
{
	return s_expect_stage(w, topic, incident, NULL);
}


/* An opening event publishes incident.opened, a later stage incident.stage. */
static void test_opened_and_stage_published(void **state)
{
	h_daemon_t *d = *state;
	s_watch_t w = {NULL, -1, 0};
	s_watch_start(d, &w);

	json_t *ev = h_event("acme", "e-1", "R1", "detected");
	json_object_set_new(ev, "category", json_integer(2));
	json_object_set_new(ev, "title", json_string("Link down"));
	char id[32];
	PUSH_OK(d, ev, id);
	json_t *body = s_expect(&w, "incident.opened", id);
	CHECK_STR(body, "provider", "acme");
	CHECK_STR(body, "ref", "R1");
	json_decref(body);

	PUSH_OK(d, h_event("acme", "e-2", "R1", "notified"), NULL);
	body = s_expect_stage(&w, "incident.stage", id, "notified");
	CHECK_STR(body, "event_id", "e-2");
	json_decref(body);

	/* A duplicate retry publishes nothing new. */
	json_t *r = PUSH(d, h_event("acme", "e-2", "R1", "notified"));
	CHECK_TRUE(r, "duplicate");
	json_decref(r);
	char *t;
	body = s_next(&w, 300, &t);
	if (body != NULL) {
		print_error("unexpected message on %s after a duplicate\n", t);
		check_fail_(__FILE__, __LINE__, body, "a duplicate must publish nothing");
	}
	h_close(d, w.sub);
	h_pass(d);
}

/* seq keeps increasing across a restart on the same data. */
static void test_seq_increases_across_restart(void **state)
{
	h_daemon_t *d = *state;
	s_watch_t w = {NULL, -1, 0};
	s_watch_start(d, &w);
	char id[32];
	for (int i = 0; i < 3; i++) {
		char eid[16];
		snprintf(eid, sizeof eid, "e-%d", i);
		json_t *ev = h_event("acme", eid, "R1", i == 0 ? "detected" : i == 1 ? "notified" : "acknowledged");
		json_object_set_new(ev, "category", json_integer(2));
		json_object_set_new(ev, "title", json_string("t"));
		PUSH_OK(d, ev, id);
	}
	json_t *body = s_expect(&w, "incident.stage", id);
	json_decref(body);
	/* Drain whatever else was published, so that before is the highest seq so far. */
	char *t;
	while ((body = s_next(&w, 300, &t)) != NULL) {
		free(t);
		json_decref(body);
	}
	long long before = w.last_seq;
	h_close(d, w.sub);

	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	s_watch_t w2 = {NULL, before, 0};
	s_watch_start(d, &w2); /* s_next() checks every new seq is > before */
	assert_true(w2.last_seq > before);
	h_close(d, w2.sub);

	/* And once more after kill -9. */
	before = w2.last_seq;
	h_kill9(d);
	assert_int_equal(h_start(d), 0);
	s_watch_t w3 = {NULL, before, 0};
	s_watch_start(d, &w3);
	assert_true(w3.last_seq > before);
	h_close(d, w3.sub);
	h_pass(d);
}

/*
 * A detection reported long ago whose deadline already passed is a breach on arrival: listed
 * in the reply, by the breaches op, and published on breach.<sla>.
 */
static void test_breach_on_arrival_published(void **state)
{
	h_daemon_t *d = *state;
	s_watch_t w = {NULL, -1, 0};
	s_watch_start(d, &w);
	json_t *ev = h_event("acme", "old-1", "OLD", "detected");
	json_object_set_new(ev, "at", json_string("2021-01-12T04:14:00+01:00"));
	json_object_set_new(ev, "category", json_integer(2));
	json_object_set_new(ev, "title", json_string("old news"));
	json_t *r = PUSH(d, ev);
	CHECK_OK(r);
	const char *id = json_string_value(json_object_get(r, "incident"));
	assert_non_null(id);
	char inc_id[32];
	snprintf(inc_id, sizeof inc_id, "%s", id);
	json_t *br = json_array_get(json_object_get(r, "breaches"), 0);
	if (br == NULL)
		check_fail_(__FILE__, __LINE__, r, "the reply must list the breach it revealed");
	json_decref(r);

	json_t *body = s_expect(&w, "breach.provider_notification", inc_id);
	CHECK_STR(body, "sla", "provider_notification");
	CHECK_STR(body, "provider", "acme");
	CHECK_STR(body, "detected", "on_arrival");
	CHECK_INT(body, "category", 2);
	/* Detected 2021-01-12T03:14Z, category 2 target 30 min. */
	CHECK_STR(body, "due", "2021-01-12T03:44:00.000Z");
	if (!json_is_integer(json_object_get(body, "late_by_ms")) ||
	    json_integer_value(json_object_get(body, "late_by_ms")) <= 0)
		check_fail_(__FILE__, __LINE__, body, "late_by_ms must be a positive integer");
	if (!json_is_string(json_object_get(body, "breach")))
		check_fail_(__FILE__, __LINE__, body, "the breach id must be named");
	json_decref(body);

	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "breaches", "provider", "acme", "sla",
		       "provider_notification");
	CHECK_OK(r);
	json_t *list = json_object_get(r, "breaches");
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, r, "exactly one provider_notification breach for acme");
	json_t *b = json_array_get(list, 0);
	CHECK_STR(b, "incident", inc_id);
	CHECK_STR(b, "sla", "provider_notification");
	CHECK_STR(b, "detected", "on_arrival");
	json_decref(r);
	h_close(d, w.sub);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_opened_and_stage_published),
		DAEMON_TEST(test_seq_increases_across_restart),
		DAEMON_TEST(test_breach_on_arrival_published),
	};
	return cmocka_run_group_tests_name("integration/publish", tests, NULL, NULL);
}
