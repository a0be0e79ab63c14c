/*
 * Bursts: many pipelined requests from several clients at once are all answered, each reply
 * to the client that asked and matching its request id.
 */
#include <stdbool.h>
#include <time.h>

#include <zmq.h>

#include "checks.h"

#define CLIENTS 4
#define PER_CLIENT 2000

/*
 * Each client sends PER_CLIENT requests without waiting (events on its own provider, with a
 * status or get between them), then every reply must come back within 20 s.
 */
static void test_pipelined_burst_from_several_clients(void **state)
{
	h_daemon_t *d = *state;
	void *sock[CLIENTS];
	for (int c = 0; c < CLIENTS; c++) {
		sock[c] = h_socket(d, ZMQ_DEALER);
		assert_non_null(sock[c]);
		int hwm = 0;
		zmq_setsockopt(sock[c], ZMQ_SNDHWM, &hwm, sizeof hwm);
		zmq_setsockopt(sock[c], ZMQ_RCVHWM, &hwm, sizeof hwm);
	}
	for (int i = 0; i < PER_CLIENT; i++) {
		for (int c = 0; c < CLIENTS; c++) {
			char provider[16], eid[32], ref[32];
			snprintf(provider, sizeof provider, "p%d", c);
			snprintf(eid, sizeof eid, "e-%d", i);
			snprintf(ref, sizeof ref, "R-%d", i / 4);
			json_t *req;
			if (i % 5 == 4) {
				req = json_pack("{s:s}", "op", "status");
			} else {
				static const char *const stages[4] = {"detected", "notified",
								      "acknowledged", "workaround"};
				req = h_event(provider, eid, ref, stages[i % 4]);
				json_object_set_new(req, "category", json_integer(3));
				json_object_set_new(req, "title", json_string(ref));
			}
			json_object_set_new(req, "id", json_pack("{s:i, s:i}", "c", c, "i", i));
			char *text = json_dumps(req, JSON_COMPACT);
			json_decref(req);
			assert_true(zmq_send(sock[c], text, strlen(text), 0) >= 0);
			free(text);
		}
	}
	static unsigned char seen[CLIENTS][PER_CLIENT];
	memset(seen, 0, sizeof seen);
	int got = 0, events_ok = 0;
	int64_t deadline = h_mono_ms() + 20000;
	zmq_pollitem_t items[CLIENTS];
	for (int c = 0; c < CLIENTS; c++)
		items[c] = (zmq_pollitem_t){sock[c], 0, ZMQ_POLLIN, 0};
	while (got < CLIENTS * PER_CLIENT && h_mono_ms() < deadline) {
		if (zmq_poll(items, CLIENTS, 200) <= 0)
			continue;
		for (int c = 0; c < CLIENTS; c++) {
			char buf[2048];
			int n;
			while ((n = zmq_recv(sock[c], buf, sizeof buf - 1, ZMQ_DONTWAIT)) >= 0) {
				buf[n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 1] = '\0';
				json_t *r = json_loads(buf, 0, NULL);
				json_t *id = json_object_get(r, "id");
				json_t *jc = json_object_get(id, "c"), *ji = json_object_get(id, "i");
				if (!json_is_integer(jc) || !json_is_integer(ji))
					check_fail_(__FILE__, __LINE__, r, "a reply without its id");
				long long rc = json_integer_value(jc), ri = json_integer_value(ji);
				if (rc != c)
					check_fail_(__FILE__, __LINE__, r, "a reply sent to another client");
				assert_true(ri >= 0 && ri < PER_CLIENT);
				if (seen[c][ri]++)
					check_fail_(__FILE__, __LINE__, r, "a request answered twice");
				CHECK_OK(r);
				if (ri % 5 != 4) {
					CHECK_FALSE(r, "duplicate");
					events_ok++;
				}
				got++;
				json_decref(r);
			}
		}
	}
	if (got < CLIENTS * PER_CLIENT)
		fail_msg("%d of %d replies within 20 s", got, CLIENTS * PER_CLIENT);
	for (int c = 0; c < CLIENTS; c++)
		h_close(d, sock[c]);
	assert_int_equal(STATUS_COUNT(d, "events"), events_ok);
	assert_int_equal(STATUS_COUNT(d, "incidents"), CLIENTS * (PER_CLIENT / 4));
	h_pass(d);
}

/*
 * A client that sends and never reads: once ZeroMQ's 100,000 replies per peer and the
 * daemon's 65,536 waiting ones are used up, further replies to it are dropped (and logged),
 * while another client is still answered at once. 200,000 status requests are sent; fewer
 * replies than that can ever arrive.
 */
#define NEVER_READ 200000
static void test_client_that_never_reads(void **state)
{
	h_daemon_t *d = *state;
	void *greedy = h_socket(d, ZMQ_DEALER);
	assert_non_null(greedy);
	/* High-water marks apply to connections made after they are set: reconnect. */
	int hwm = 0, rcvhwm = 1;
	assert_int_equal(zmq_disconnect(greedy, d->api), 0);
	zmq_setsockopt(greedy, ZMQ_SNDHWM, &hwm, sizeof hwm);
	zmq_setsockopt(greedy, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
	assert_int_equal(zmq_connect(greedy, d->api), 0);
	static const char status[] = "{\"op\":\"status\"}";
	for (int i = 0; i < NEVER_READ; i++)
		assert_true(zmq_send(greedy, status, sizeof status - 1, 0) >= 0);

	/* Meanwhile another client is answered, and then the log names the drops. */
	bool logged = false;
	for (int tries = 0; tries < 300 && !logged; tries++) {
		json_t *r = h_requestf(d, "{s:s}", "op", "status");
		CHECK_OK(r);
		json_decref(r);
		FILE *f = fopen(d->log, "r");
		char line[512];
		while (f && fgets(line, sizeof line, f))
			logged = logged || strstr(line, "replies dropped") != NULL;
		if (f)
			fclose(f);
		struct timespec pause = {0, 50 * 1000000L};
		nanosleep(&pause, NULL);
	}
	assert_true(logged);

	/* Every reply that was kept can still be read; the dropped ones never come. */
	long received = 0;
	zmq_pollitem_t item = {greedy, 0, ZMQ_POLLIN, 0};
	while (received < NEVER_READ && zmq_poll(&item, 1, 1000) == 1) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		assert_true(zmq_msg_recv(&m, greedy, 0) >= 0);
		zmq_msg_close(&m);
		received++;
	}
	assert_true(received > 100000);
	assert_true(received < NEVER_READ);
	h_close(d, greedy);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_pipelined_burst_from_several_clients),
		DAEMON_TEST(test_client_that_never_reads),
	};
	return cmocka_run_group_tests_name("integration/load", tests, NULL, NULL);
}
