/*
 * incidentctl -e with several endpoints against the real daemon on loopback TCP: a dead
 * endpoint is passed over after --timeout, every endpoint dead is exit 3 naming each, a push
 * whose first endpoint took it without answering is the same incident on the next, problem
 * create is never sent twice, and an empty item of the list is a usage error.
 */
#include <pthread.h>
#include <stdatomic.h>

#include <zmq.h>

#include "checks.h"

#define I1 "INC000000000001"

/* Runs incidentctl ARGS... with a 10 s bound (the test names the endpoints). */
#define RUN(d, r, ...)                                                                     \
	do {                                                                               \
		char *argv_[] = {(char *)INCIDENTCTL_BIN, __VA_ARGS__, NULL};              \
		assert_int_equal(h_run((d)->dir, argv_, NULL, 10000, (r)), 0);            \
	} while (0)

/* The daemon's TCP API endpoint (next to its ipc one) and a port nobody listens on. */
static char s_live[64];

/* A fresh daemon that also listens on a loopback TCP port, s_live. */
static int setup_tcp_daemon(void **state)
{
	h_daemon_t *d = h_new(NULL);
	int port = h_free_port();
	if (d == NULL || port < 0) {
		h_destroy(&d);
		return -1;
	}
	snprintf(s_live, sizeof s_live, "tcp://127.0.0.1:%d", port);
	snprintf(d->api_flag, sizeof d->api_flag, "%s,%s", d->api, s_live);
	if (h_start(d) < 0) {
		d->passed = true; /* h_start() printed the log already */
		h_destroy(&d);
		return -1;
	}
	*state = d;
	return 0;
}

#define TCP_TEST(f) cmocka_unit_test_setup_teardown(f, setup_tcp_daemon, teardown_daemon)

/* A loopback TCP endpoint with nothing listening on it. */
static void s_dead(char out[64])
{
	int port = h_free_port();
	assert_true(port > 0);
	snprintf(out, 64, "tcp://127.0.0.1:%d", port);
}

/* hay does not contain needle. */
static void expect_not_in(const char *hay, const char *needle, const char *what)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("%s should not contain \"%s\"; it is:\n%s", what, needle, hay);
}

/*
 * A node that takes requests and never answers: a ROUTER on a loopback port that hands each
 * request to the daemon (so that it is applied) and drops the daemon's reply.
 */
typedef struct {
	h_daemon_t *d;
	char endpoint[64];
	void *router;
	atomic_int stop;
	atomic_int forwarded;
	pthread_t thread;
} s_hole_t;

static void *s_hole_run(void *arg)
{
	s_hole_t *h = arg;
	void *dealer = zmq_socket(h->d->zctx, ZMQ_DEALER);
	int linger = 0;
	zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
	zmq_connect(dealer, h->d->api);
	while (!atomic_load(&h->stop)) {
		zmq_pollitem_t item = {.socket = h->router, .events = ZMQ_POLLIN};
		if (zmq_poll(&item, 1, 50) <= 0)
			continue;
		char id[256], body[65536];
		int idn = zmq_recv(h->router, id, sizeof id, 0);
		int n = zmq_recv(h->router, body, sizeof body, 0);
		if (idn < 0 || n < 0 || (size_t)n > sizeof body)
			continue;
		zmq_send(dealer, body, (size_t)n, 0);
		zmq_pollitem_t back = {.socket = dealer, .events = ZMQ_POLLIN};
		if (zmq_poll(&back, 1, H_REPLY_TIMEOUT_MS) == 1)
			zmq_recv(dealer, body, sizeof body, 0); /* applied; the answer is dropped */
		atomic_fetch_add(&h->forwarded, 1);
	}
	zmq_close(dealer);
	return NULL;
}

static void s_hole_start(s_hole_t *h, h_daemon_t *d)
{
	memset(h, 0, sizeof *h);
	h->d = d;
	s_dead(h->endpoint);
	h->router = zmq_socket(d->zctx, ZMQ_ROUTER);
	int linger = 0;
	assert_non_null(h->router);
	zmq_setsockopt(h->router, ZMQ_LINGER, &linger, sizeof linger);
	assert_int_equal(zmq_bind(h->router, h->endpoint), 0);
	assert_int_equal(pthread_create(&h->thread, NULL, s_hole_run, h), 0);
}

static void s_hole_stop(s_hole_t *h)
{
	atomic_store(&h->stop, 1);
	pthread_join(h->thread, NULL);
	zmq_close(h->router);
}

/* DEAD,LIVE: each command gets through LIVE, in about --timeout more than usual. */
static void test_dead_then_live(void **state)
{
	h_daemon_t *d = *state;
	char dead[64], list[160], expect[128];
	s_dead(dead);
	snprintf(list, sizeof list, "%s,%s", dead, s_live);
	snprintf(expect, sizeof expect, "no answer from %s within 300 ms", dead);
	h_run_t r;
	RUN(d, &r, (char *)"-e", list, (char *)"--timeout", (char *)"300", (char *)"status");
	CHECK_EXIT(&r, 0);
	expect_in(r.err, expect, "stderr");
	if (r.elapsed_ms > 2500)
		fail_msg("DEAD,LIVE with --timeout 300 took %ld ms", r.elapsed_ms);
	h_run_clear(&r);

	RUN(d, &r, (char *)"-e", list, (char *)"--timeout", (char *)"300", (char *)"push",
	    (char *)"--provider", (char *)"acme", (char *)"--event-id", (char *)"e1",
	    (char *)"--ref", (char *)"R1", (char *)"--stage", (char *)"detected",
	    (char *)"--category", (char *)"2", (char *)"--title", (char *)"Link down");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, I1, "push's stdout");
	h_run_clear(&r);

	/* problem create was never sent to DEAD (no connection), so LIVE may take it. */
	RUN(d, &r, (char *)"-e", list, (char *)"--timeout", (char *)"300", (char *)"problem",
	    (char *)"create", (char *)"--title", (char *)"flapping link");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "PBI000000000001", "problem create's stdout");
	h_run_clear(&r);

	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "two.jsonl",
				      "{\"provider\":\"acme\",\"event_id\":\"f1\",\"ref\":\"F1\","
				      "\"stage\":\"detected\",\"category\":3,\"title\":\"one\"}\n"
				      "{\"provider\":\"acme\",\"event_id\":\"f2\",\"ref\":\"F1\","
				      "\"stage\":\"notified\"}\n",
				      path),
			 0);
	RUN(d, &r, (char *)"-e", list, (char *)"--timeout", (char *)"300", (char *)"push",
	    (char *)"-f", path);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "accepted 2, duplicate 0, refused 0", "push -f's stdout");
	if (r.elapsed_ms > 2500)
		fail_msg("push -f on DEAD,LIVE with --timeout 300 took %ld ms", r.elapsed_ms);
	h_run_clear(&r);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 2);
	h_pass(d);
}

/* DEAD1,DEAD2: exit 3, each named, after about twice the timeout. */
static void test_all_dead_exit_3(void **state)
{
	h_daemon_t *d = *state;
	char dead1[64], dead2[64], list[160], expect1[128], expect2[128];
	s_dead(dead1);
	s_dead(dead2);
	snprintf(list, sizeof list, "%s,%s", dead1, dead2);
	snprintf(expect1, sizeof expect1, "no answer from %s within 300 ms", dead1);
	snprintf(expect2, sizeof expect2, "no answer from %s within 300 ms", dead2);
	h_run_t r;
	RUN(d, &r, (char *)"-e", list, (char *)"--timeout", (char *)"300", (char *)"status");
	CHECK_EXIT(&r, 3);
	expect_in(r.err, expect1, "stderr");
	expect_in(r.err, expect2, "stderr");
	if (r.elapsed_ms < 500 || r.elapsed_ms > 3000)
		fail_msg("two dead endpoints with --timeout 300 took %ld ms", r.elapsed_ms);
	h_run_clear(&r);

	/* The same from $INCIDENTD_API, and for push -f. */
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "one.jsonl",
				      "{\"provider\":\"a\",\"event_id\":\"1\",\"ref\":\"R\","
				      "\"stage\":\"detected\",\"category\":1,\"title\":\"t\"}\n",
				      path),
			 0);
	setenv("INCIDENTD_API", list, 1);
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"--timeout", (char *)"300",
			(char *)"push", (char *)"-f", path, NULL};
	int rc = h_run(d->dir, argv, NULL, 10000, &r);
	unsetenv("INCIDENTD_API");
	assert_int_equal(rc, 0);
	CHECK_EXIT(&r, 3);
	expect_in(r.err, dead1, "push -f's stderr");
	expect_in(r.err, dead2, "push -f's stderr");
	expect_in(r.out, "accepted 0", "push -f's stdout");
	h_run_clear(&r);
	h_pass(d);
}

/*
 * A push that the first endpoint applied without answering: retried on the next, it is the
 * same incident (a duplicate there). problem create, sent and unanswered, is not retried.
 */
static void test_retry_is_same_incident(void **state)
{
	h_daemon_t *d = *state;
	s_hole_t hole;
	s_hole_start(&hole, d);
	char list[160];
	snprintf(list, sizeof list, "%s,%s", hole.endpoint, s_live);
	h_run_t r;
	RUN(d, &r, (char *)"-e", list, (char *)"--timeout", (char *)"500", (char *)"push",
	    (char *)"--provider", (char *)"acme", (char *)"--event-id", (char *)"e1",
	    (char *)"--ref", (char *)"R1", (char *)"--stage", (char *)"detected",
	    (char *)"--category", (char *)"2", (char *)"--title", (char *)"Link down");
	int forwarded = atomic_load(&hole.forwarded);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, I1, "push's stdout");
	expect_in(r.err, hole.endpoint, "push's stderr");
	h_run_clear(&r);
	assert_int_equal(forwarded, 1);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 1);
	json_t *inc = GET_INCIDENT(d, I1);
	assert_int_equal(json_array_size(json_object_get(inc, "timeline")), 1);
	json_decref(inc);

	RUN(d, &r, (char *)"-e", list, (char *)"--timeout", (char *)"500", (char *)"problem",
	    (char *)"create", (char *)"--title", (char *)"once only");
	CHECK_EXIT(&r, 3);
	expect_in(r.err, "not sent elsewhere", "problem create's stderr");
	expect_not_in(r.out, "PBI", "problem create's stdout");
	h_run_clear(&r);
	s_hole_stop(&hole);
	/* The hole handed it to the daemon once; nobody sent it twice. */
	assert_int_equal(STATUS_COUNT(d, "problems"), 1);
	h_pass(d);
}

/* An empty item in the list is a usage error, before anything is sent. */
static void test_empty_item_exit_2(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	RUN(d, &r, (char *)"-e", (char *)"tcp://127.0.0.1:1,,tcp://127.0.0.1:2", (char *)"status");
	CHECK_EXIT(&r, 2);
	expect_in(r.err, "-e: empty item in the endpoint list", "stderr");
	h_run_clear(&r);
	RUN(d, &r, (char *)"status", (char *)"--endpoint", (char *)"tcp://127.0.0.1:1,");
	CHECK_EXIT(&r, 2);
	expect_in(r.err, "--endpoint: empty item", "stderr");
	h_run_clear(&r);
	RUN(d, &r, (char *)"watch", (char *)"--publish", (char *)",tcp://127.0.0.1:1");
	CHECK_EXIT(&r, 2);
	expect_in(r.err, "--publish: empty item", "stderr");
	h_run_clear(&r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TCP_TEST(test_dead_then_live),
		TCP_TEST(test_all_dead_exit_3),
		TCP_TEST(test_retry_is_same_incident),
		TCP_TEST(test_empty_item_exit_2),
	};
	return cmocka_run_group_tests_name("integration/client_failover", tests, NULL, NULL);
}
