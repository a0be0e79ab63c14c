/*
 * A hook's backlog drains at the receiver's pace, not in time that grows with its square: 8,000
 * breaches raised at once reach a url hook's receiver (tests/integration/receiver.c), each once.
 *
 * This is a complexity check, not a speed assertion (speed is measured in bench/): the bound
 * is far above what the daemon needs here (a few seconds, under the sanitizers too), and far
 * below what a delivery thread that reads its hook's whole outbox for every delivery needs
 * (8,000 took about 250 s).
 */
#include <zmq.h>

#include "checks.h"
#include "receiver.h"

#define BACKLOG 8000
#define WINDOW 256
#define DRAIN_BOUND_MS 30000

/* Sends event number i: a detection reported an hour ago, which breaches on arrival. */
static void s_send_breach(void *dealer, int i, const char *at)
{
	char frame[512];
	int n = snprintf(frame, sizeof frame,
			 "{\"op\":\"event\",\"id\":%d,\"provider\":\"acme\",\"event_id\":\"b%d\","
			 "\"ref\":\"b%d\",\"stage\":\"detected\",\"category\":2,"
			 "\"title\":\"backlog\",\"at\":\"%s\"}",
			 i, i, i, at);
	assert_true(zmq_send(dealer, frame, (size_t)n, 0) == n);
}

/* Receives one reply within 10 s and checks it is ok with one breach. */
static void s_recv_reply(void *dealer)
{
	zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
	if (zmq_poll(&item, 1, 10000) != 1)
		fail_msg("no reply within 10 s");
	char buf[4096];
	int n = zmq_recv(dealer, buf, sizeof buf - 1, 0);
	assert_true(n > 0);
	buf[n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 1] = '\0';
	json_t *r = json_loads(buf, 0, NULL);
	CHECK_OK(r);
	if (json_array_size(json_object_get(r, "breaches")) != 1)
		check_fail_(__FILE__, __LINE__, r, "each event breaches on arrival");
	json_decref(r);
}

/* Pushes n breaching events, WINDOW in flight, and waits for every reply. */
static void s_push_breaches(h_daemon_t *d, int n)
{
	void *dealer = h_socket(d, ZMQ_DEALER);
	assert_non_null(dealer);
	char at[32];
	utc_ms_format(h_now_ms() - 3600 * 1000, at);
	int sent = 0, replied = 0;
	while (replied < n) {
		while (sent < n && sent - replied < WINDOW)
			s_send_breach(dealer, sent++, at);
		s_recv_reply(dealer);
		replied++;
	}
	h_close(d, dealer);
}

static h_receiver_t s_recv;

static int setup_receiver(void **state)
{
	*state = NULL;
	memset(&s_recv, 0, sizeof s_recv);
	return 0;
}

static int teardown_receiver(void **state)
{
	h_daemon_t *d = *state;
	h_destroy(&d);
	h_receiver_stop(&s_recv);
	return 0;
}

static void test_backlog_of_8000_drains(void **state)
{
	assert_int_equal(h_receiver_bind(&s_recv, 0, 0), 0);
	assert_int_equal(h_receiver_start(&s_recv), 0);
	char conf[8192];
	snprintf(conf, sizeof conf, "%s\n[hook web]\nurl = http://127.0.0.1:%d/alerts\n",
		 h_default_config, s_recv.port);
	h_daemon_t *d = h_new(conf);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);

	int64_t t0 = h_mono_ms();
	s_push_breaches(d, BACKLOG);
	int64_t pushed = h_mono_ms() - t0;
	int ok = h_receiver_wait(&s_recv, BACKLOG, true, DRAIN_BOUND_MS);
	int64_t took = h_mono_ms() - t0;
	if (ok < BACKLOG)
		fail_msg("%d of %d deliveries within %d ms (the events were acknowledged in "
			 "%lld ms)", ok, BACKLOG, DRAIN_BOUND_MS, (long long)pushed);
	print_message("%d deliveries in %lld ms (events acknowledged in %lld ms)\n", BACKLOG,
		      (long long)took, (long long)pushed);

	/* Each once: every delivery id is distinct, and no more requests come. */
	struct timespec pause = {0, 300 * 1000000L};
	nanosleep(&pause, NULL);
	int requests;
	h_receiver_counts(&s_recv, &requests, &ok, NULL);
	if (requests != BACKLOG || ok != BACKLOG)
		fail_msg("%d requests, %d answered 2xx; expected %d of each", requests, ok, BACKLOG);
	for (int i = 1; i < H_RECEIVER_KEPT; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(s_recv.req[i].delivery, s_recv.req[j].delivery) == 0)
				fail_msg("delivery %s came twice", s_recv.req[i].delivery);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backlog_of_8000_drains, setup_receiver,
						teardown_receiver),
	};
	return cmocka_run_group_tests_name("integration/hook_backlog", tests, NULL, NULL);
}
