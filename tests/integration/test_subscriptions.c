/*
 * Subscriptions on the publish socket: one peer subscribing to 100,000 prefixes neither stalls
 * the daemon nor keeps other subscribers from being served. Past 1,000 prefixes a peer's
 * subscriptions are not honoured, and the daemon says so once.
 */
#include "checks.h"

#include <zmq.h>

#define FLOOD 100000
/*
 * How long a status request may take while the daemon reads the flood: a bound on the work per
 * subscription, not a speed target. With a cost that grows with the number of subscriptions
 * the daemon answered after 38 s; with a constant one it answers in milliseconds.
 */
#define PROMPT_MS 3000
#define CAP_LINE "more than 1000 subscriptions; further ones are not honoured"

/* A status request on d's DEALER is answered, ok, within PROMPT_MS. */
static void s_status_prompt(h_daemon_t *d, const char *when)
{
	int64_t t0 = h_mono_ms();
	json_t *r = h_requestf(d, "{s:s}", "op", "status");
	int64_t took = h_mono_ms() - t0;
	if (r == NULL || !h_is_ok(r) || took > PROMPT_MS) {
		json_decref(r);
		fail_msg("%s: status took %lld ms (at most %d expected)%s", when, (long long)took,
			 PROMPT_MS, r == NULL ? ", no reply" : "");
	}
	json_decref(r);
}

/* A SUB socket on the publish endpoint with no subscription and no limit on what it sends. */
static void *s_flood_socket(h_daemon_t *d)
{
	void *s = zmq_socket(d->zctx, ZMQ_SUB);
	assert_non_null(s);
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	/* No high-water mark: every subscription goes out, none waits or is dropped. */
	zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
	assert_non_null(h_own(d, s));
	assert_int_equal(zmq_connect(s, d->pub), 0);
	return s;
}

static void s_subscribe(void *sub, int option, const char *prefix)
{
	assert_int_equal(zmq_setsockopt(sub, option, prefix, strlen(prefix)), 0);
}

/* Opens a new incident (its event id and ref are tag and n); returns its id in id_out. */
static void s_open(h_daemon_t *d, const char *tag, int n, char id_out[32])
{
	char eid[48];
	snprintf(eid, sizeof eid, "%s-%d", tag, n);
	json_t *ev = h_event("acme", eid, eid, "detected");
	json_object_set_new(ev, "category", json_integer(5));
	json_object_set_new(ev, "title", json_string(tag));
	PUSH_OK(d, ev, id_out);
}

/*
 * Opens incidents until sub receives topic about one of them (bounded: 40 tries of 250 ms).
 * Returns false when none arrived.
 */
static bool s_received(h_daemon_t *d, void *sub, const char *topic, const char *tag)
{
	for (int i = 0; i < 40; i++) {
		char id[32];
		s_open(d, tag, i, id);
		json_t *body = h_sub_wait(sub, topic, id, 250, NULL);
		json_decref(body);
		if (body != NULL)
			return true;
	}
	return false;
}

/* Same with the lines incidentctl watch prints. */
static bool s_watch_printed(h_daemon_t *d, h_child_t *watch, const char *topic, const char *tag)
{
	for (int i = 0; i < 40; i++) {
		char id[32];
		s_open(d, tag, i, id);
		if (h_child_wait_line(watch, topic, id, 250) != NULL)
			return true;
	}
	return false;
}

/*
 * One SUB socket subscribes to 100,000 distinct prefixes: status requests sent meanwhile and
 * after its close are answered promptly, the cap is logged once, and another process's
 * subscription (incidentctl watch) is honoured while the flood's socket is still connected.
 */
static void test_flood_of_subscriptions(void **state)
{
	h_daemon_t *d = *state;
	void *flood = s_flood_socket(d);
	char prefix[32];
	for (int i = 0; i < FLOOD; i++) {
		snprintf(prefix, sizeof prefix, "flood.%06d", i);
		s_subscribe(flood, ZMQ_SUBSCRIBE, prefix);
	}
	for (int i = 0; i < 5; i++)
		s_status_prompt(d, "while the daemon reads 100,000 subscriptions");
	if (h_log_wait(d, CAP_LINE, 10000) < 0)
		fail_msg("the daemon should log that the peer is over the cap (\"%s\")", CAP_LINE);

	/*
	 * The daemon has read the whole flood once a subscription sent after it is honoured: the
	 * peer holds 1,000 prefixes, so it must first give one up.
	 */
	s_subscribe(flood, ZMQ_UNSUBSCRIBE, "flood.000000");
	s_subscribe(flood, ZMQ_SUBSCRIBE, "incident.stage");
	if (!s_received(d, flood, "incident.stage", "after-flood"))
		fail_msg("a subscription made after giving one up should be honoured within 10 s");
	s_status_prompt(d, "after the flood");
	assert_int_equal(h_log_count(d, CAP_LINE), 1);

	/* Another process is another peer: the cap of the flood's peer does not concern it. */
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"watch", (char *)"--publish", d->pub,
			(char *)"incident.opened", NULL};
	h_child_t watch;
	assert_int_equal(h_child_start(&watch, d->dir, argv), 0);
	bool printed = s_watch_printed(d, &watch, "incident.opened", "watched");

	/* Closing the flood's socket drops its 100,000 subscriptions at once. */
	h_close(d, flood);
	for (int i = 0; i < 5; i++)
		s_status_prompt(d, "after the flood's socket closed");
	bool still = printed && s_watch_printed(d, &watch, "incident.opened", "still-watched");
	int st = h_child_stop(&watch);
	if (!printed || !still)
		fail_msg("incidentctl watch incident.opened printed %s; stdout:\n%s",
			 printed ? "nothing after the flood's socket closed" : "nothing within 10 s",
			 watch.out);
	assert_int_equal(st, 0);

	/* The flood's prefixes were given back: this process may subscribe again. */
	void *again = s_flood_socket(d);
	s_subscribe(again, ZMQ_SUBSCRIBE, "incident.stage");
	if (!s_received(d, again, "incident.stage", "again"))
		fail_msg("once the flood's socket closed, its peer's new subscription should be "
			 "honoured");
	assert_int_equal(h_log_count(d, CAP_LINE), 1);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_flood_of_subscriptions),
	};
	return cmocka_run_group_tests_name("integration/subscriptions", tests, NULL, NULL);
}
