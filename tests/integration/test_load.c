/*
 * Bursts: many pipelined requests from several clients at once are all answered, each reply
 * to the client that asked and matching its request id.
 */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_pipelined_burst_from_several_clients),
	};
	return cmocka_run_group_tests_name("integration/load", tests, NULL, NULL);
}
