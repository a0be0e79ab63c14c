/*
 * Map growth: with a 1 MiB LMDB map, a stream of events several times that size is accepted
 * in full (the daemon grows the map and retries the batch; no request fails for it), and
 * everything is there after a restart. Also when the map fills while a hook's delivery is put
 * in the outbox (that error was once taken for a count of queued alerts, and the commit then
 * failed with `internal`).
 */
#include <sys/stat.h>

#include <zmq.h>

#include "checks.h"

#define EVENTS 1500
#define DESCRIPTION_BYTES 2000

/* The test configuration with map_size = 1m, and extra sections after it. */
static int s_small_map(void **state, const char *extra)
{
	char conf[8192];
	const char *key = "max_request_bytes = 65536";
	const char *p = strstr(h_default_config, key);
	if (p == NULL)
		return -1;
	snprintf(conf, sizeof conf, "%.*s%s\nmap_size = 1m%s%s", (int)(p - h_default_config),
		 h_default_config, key, p + strlen(key), extra);
	return setup_daemon_with(state, conf);
}

static int setup_small_map(void **state)
{
	return s_small_map(state, "");
}

/*
 * With a hook that receives every breach. Its receiver is a port nothing listens on: the
 * deliveries stay in the outbox (retried an hour later), which is what fills the map.
 */
static int setup_small_map_hook(void **state)
{
	return s_small_map(state, "[hook pager]\n"
				  "url = http://127.0.0.1:1/alerts\n"
				  "backoff = 1h\n"
				  "max_backoff = 1h\n");
}

/*
 * Sends n opening events, pipelined, and counts ok replies. With description_bytes, each has a
 * description that long; with at, each was detected then (so far back that the notification
 * rule breaches on arrival).
 */
static int s_stream_events(h_daemon_t *d, int n, size_t description_bytes, const char *at)
{
	void *sock = h_socket(d, ZMQ_DEALER);
	char *description = malloc(description_bytes + 1);
	memset(description, 'x', description_bytes);
	description[description_bytes] = '\0';
	for (int i = 0; i < n; i++) {
		char eid[32], ref[32];
		snprintf(eid, sizeof eid, "e%d", i);
		snprintf(ref, sizeof ref, "r%d", i);
		json_t *ev = h_event("bigco", eid, ref, "detected");
		json_object_set_new(ev, "category", json_integer(5));
		json_object_set_new(ev, "title", json_string("map growth"));
		if (description_bytes)
			json_object_set_new(ev, "description", json_string(description));
		if (at)
			json_object_set_new(ev, "at", json_string(at));
		char *text = json_dumps(ev, JSON_COMPACT);
		assert_true(zmq_send(sock, text, strlen(text), 0) >= 0);
		free(text);
		json_decref(ev);
	}
	free(description);
	int ok = 0;
	zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
	for (int i = 0; i < n && zmq_poll(&item, 1, H_REPLY_TIMEOUT_MS * 2) == 1; i++) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		assert_true(zmq_msg_recv(&m, sock, 0) >= 0);
		json_t *r = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
		if (h_is_ok(r))
			ok++;
		else
			check_fail_(__FILE__, __LINE__, r, "every event must be accepted");
		json_decref(r);
		zmq_msg_close(&m);
	}
	h_close(d, sock);
	return ok;
}

static int s_stream(h_daemon_t *d)
{
	return s_stream_events(d, EVENTS, DESCRIPTION_BYTES, NULL);
}

static void test_map_grows_under_load(void **state)
{
	h_daemon_t *d = *state;
	assert_int_equal(s_stream(d), EVENTS);
	assert_int_equal(h_status_count(d, "events"), EVENTS);
	assert_int_equal(h_status_count(d, "incidents"), EVENTS);
	/* The data file is past the initial 1 MiB map: the map really grew. */
	char path[H_PATH_MAX + 16];
	struct stat st;
	snprintf(path, sizeof path, "%s/data.mdb", d->data_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > (1 << 20));

	/* Everything is there after a restart, the last incident whole. */
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	assert_int_equal(h_status_count(d, "incidents"), EVENTS);
	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "get", "incident", "INC000000001500");
	CHECK_OK(r);
	const char *desc = json_string_value(json_object_get(json_object_get(r, "incident"), "description"));
	assert_non_null(desc);
	assert_int_equal(strlen(desc), DESCRIPTION_BYTES);
	json_decref(r);
	h_pass(d);
}

/*
 * 20,000 events that each raise a breach, and so put a delivery in the hook's outbox, on a
 * 1 MiB map: the map grows whichever write finds it full, and every event is accepted.
 */
static void test_map_grows_while_queueing_alerts(void **state)
{
	h_daemon_t *d = *state;
	enum { N = 20000 };
	assert_int_equal(s_stream_events(d, N, 0, "2021-01-12T03:14:00Z"), N);
	assert_int_equal(h_status_count(d, "events"), N);
	assert_int_equal(h_status_count(d, "breaches"), N);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_grows_under_load, setup_small_map,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(test_map_grows_while_queueing_alerts,
						setup_small_map_hook, teardown_daemon),
	};
	return cmocka_run_group_tests_name("integration/map_growth", tests, NULL, NULL);
}
