/*
 * Durability: a restart keeps every record; an acknowledged event survives kill -9 of the
 * daemon in the middle of a stream, stored exactly once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <zmq.h>

#include "checks.h"

static const char *const s_stages[8] = {"detected",	    "notified", "acknowledged",
					"major_declared",   "parties_notified",
					"workaround",	    "resolved", "closed"};

/* Removes, at any depth, the members whose value depends on the current time. */
static void s_strip_clock(json_t *v)
{
	if (json_is_object(v)) {
		json_object_del(v, "remaining_ms");
		json_object_del(v, "late_by_ms");
		json_object_del(v, "uptime_s");
		const char *k;
		json_t *m;
		json_object_foreach(v, k, m)
			s_strip_clock(m);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m)
			s_strip_clock(m);
	}
}

/* Every record the daemon shows: each incident by get, list all, breaches, status counts. */
static json_t *s_snapshot(h_daemon_t *d)
{
	json_t *snap = json_object();
	long long n = STATUS_COUNT(d, "incidents");
	json_t *incidents = json_array();
	for (long long i = 1; i <= n; i++) {
		char id[32];
		snprintf(id, sizeof id, "INC%012lld", i);
		json_array_append_new(incidents, GET_INCIDENT(d, id));
	}
	json_object_set_new(snap, "get", incidents);
	json_t *r = h_requestf(d, "{s:s, s:s, s:i}", "op", "list", "status", "all", "limit", 1000);
	CHECK_OK(r);
	json_object_set(snap, "list", json_object_get(r, "incidents"));
	json_decref(r);
	/* Whatever breaches shows (this test is about keeping it, not about SLA rules). */
	r = h_requestf(d, "{s:s}", "op", "breaches");
	assert_non_null(r);
	json_object_set_new(snap, "breaches", r);
	r = h_requestf(d, "{s:s}", "op", "status");
	CHECK_OK(r);
	json_object_set_new(snap, "status", r); /* uptime_s is stripped below */
	s_strip_clock(snap);
	return snap;
}

static json_t *s_event(const char *provider, const char *eid, const char *ref, const char *stage,
		       int64_t at_ms)
{
	char at[32];
	utc_ms_format(at_ms, at);
	json_t *ev = h_event(provider, eid, ref, stage);
	json_object_set_new(ev, "at", json_string(at));
	json_object_set_new(ev, "category", json_integer(3));
	json_object_set_new(ev, "title", json_string(ref));
	return ev;
}

/* SIGTERM then restart on the same data: every record reads back identical. */
static void test_restart_keeps_records(void **state)
{
	h_daemon_t *d = *state;
	int64_t t = h_now_ms() - 600000;
	for (int i = 0; i < 6; i++) {
		char ref[16], eid[32];
		snprintf(ref, sizeof ref, "R%d", i);
		for (int s = 0; s <= i + 1 && s < 8; s++) {
			snprintf(eid, sizeof eid, "%s-%d", ref, s);
			json_t *ev = s_event(i % 2 ? "acme" : "globex", eid, ref, s_stages[s],
					     t + s * 1000);
			if (i == 2)
				json_object_set_new(ev, "major", json_true());
			if (s == 1)
				json_object_set_new(ev, "source", json_string("operator"));
			PUSH_OK(d, ev, NULL);
		}
	}
	/* One detected long ago: a breach on arrival, kept across the restart. */
	json_t *ev = s_event("acme", "old", "OLD", "detected", 1610421240000LL);
	PUSH_OK(d, ev, NULL);

	json_t *before = s_snapshot(d);
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	json_t *after = s_snapshot(d);
	if (!json_equal(before, after)) {
		char *a = h_dump(before), *b = h_dump(after);
		print_error("before restart: %s\nafter restart:  %s\n", a, b);
		free(a);
		free(b);
		fail_msg("the records changed across a restart");
	}
	json_decref(before);
	json_decref(after);

	/* Numbering continues after the last id; retries are still recognised. */
	char id[32];
	PUSH_OK(d, s_event("acme", "new", "NEW", "detected", t), id);
	assert_string_equal(id, "INC000000000008");
	json_t *r = PUSH(d, s_event("acme", "old", "OLD", "detected", 1610421240000LL));
	CHECK_OK(r);
	CHECK_TRUE(r, "duplicate");
	CHECK_STR(r, "incident", "INC000000000007");
	json_decref(r);
	r = PUSH(d, s_event("acme", "R1-1", "R1", "notified", t + 5000));
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	h_pass(d);
}

/* ---- streaming while the daemon dies ---- */

#define STREAM_MAX 400000
#define STREAM_WINDOW 64

typedef struct {
	void *sock;       /* DEALER, owned by the main thread, used only by the streamer */
	int64_t base_ms;  /* reported time of stage 0 */
	atomic_int stop;
	int sent;
	int acked_count;
	int errors;
	int unavailable; /* refused as unavailable while shutting down: not acknowledged */
	char first_error[512];
	uint32_t *incident; /* per event: incident number from its ok reply, 0 if not acked */
} s_stream_t;

/* Event i: incident ref K<i/8>, stage i%8, reported one second after the previous stage. */
static json_t *s_stream_event(int64_t base_ms, int i)
{
	char eid[32], ref[32];
	snprintf(eid, sizeof eid, "k-%d", i);
	snprintf(ref, sizeof ref, "K%d", i / 8);
	return s_event("stream", eid, ref, s_stages[i % 8], base_ms + (i % 8) * 1000);
}

static void s_stream_reply(s_stream_t *st, const char *buf, size_t len)
{
	json_t *r = json_loadb(buf, len, 0, NULL);
	json_t *id = json_object_get(r, "id");
	const char *inc = json_string_value(json_object_get(r, "incident"));
	long long i = json_is_integer(id) ? json_integer_value(id) : -1;
	if (h_is_ok(r) && i >= 0 && i < st->sent && inc != NULL && strlen(inc) == 15) {
		st->incident[i] = (uint32_t)strtoul(inc + 3, NULL, 10);
		st->acked_count++;
	} else if (h_error_code(r) != NULL && strcmp(h_error_code(r), "unavailable") == 0) {
		st->unavailable++;
	} else if (st->errors++ == 0) {
		snprintf(st->first_error, sizeof st->first_error, "%.*s", (int)len, buf);
	}
	json_decref(r);
}

/* Receives every reply already waiting (or arriving within timeout_ms for the first). */
static void s_stream_drain(s_stream_t *st, int timeout_ms)
{
	zmq_pollitem_t item = {st->sock, 0, ZMQ_POLLIN, 0};
	while (zmq_poll(&item, 1, timeout_ms) > 0) {
		char buf[4096];
		int n = zmq_recv(st->sock, buf, sizeof buf, ZMQ_DONTWAIT);
		if (n < 0)
			break;
		s_stream_reply(st, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf);
		timeout_ms = 0;
	}
}

/* The streamer: keeps STREAM_WINDOW events in flight until told to stop. */
static void *s_stream_main(void *arg)
{
	s_stream_t *st = arg;
	while (!atomic_load(&st->stop)) {
		int in_flight = st->sent - st->acked_count - st->errors - st->unavailable;
		if (in_flight < STREAM_WINDOW && st->sent < STREAM_MAX) {
			json_t *ev = s_stream_event(st->base_ms, st->sent);
			json_object_set_new(ev, "id", json_integer(st->sent));
			char *text = json_dumps(ev, JSON_COMPACT);
			json_decref(ev);
			if (zmq_send(st->sock, text, strlen(text), ZMQ_DONTWAIT) >= 0)
				st->sent++;
			free(text);
			s_stream_drain(st, 0);
		} else {
			s_stream_drain(st, 20);
		}
	}
	/* Replies that reached us before the daemon died count as acknowledged. */
	s_stream_drain(st, 200);
	return NULL;
}

/*
 * Streams events with a window of 64 for about 0.5 s, stops the daemon with sig, restarts it
 * and checks that every acknowledged event is stored exactly once.
 */
static void s_stream_and_stop(h_daemon_t *d, int sig)
{
	s_stream_t *st = calloc(1, sizeof *st);
	st->incident = calloc(STREAM_MAX, sizeof *st->incident);
	st->sock = h_socket(d, ZMQ_DEALER);
	assert_non_null(st->sock);
	st->base_ms = h_now_ms() - 600000;
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, s_stream_main, st), 0);

	struct timespec streaming = {0, 500 * 1000000L};
	nanosleep(&streaming, NULL);
	if (sig == SIGKILL) {
		h_kill9(d);
	} else {
		kill(d->pid, sig);
		int code = h_wait_exit(d, H_STOP_TIMEOUT_MS);
		if (code != 0) {
			atomic_store(&st->stop, 1);
			pthread_join(thread, NULL);
			fail_msg("after SIGTERM during a stream: exit status %d, expected 0", code);
		}
	}
	atomic_store(&st->stop, 1);
	pthread_join(thread, NULL);
	h_close(d, st->sock);
	print_message("streamed %d events, %d acknowledged before the daemon stopped\n", st->sent,
		      st->acked_count);
	if (st->errors > 0)
		fail_msg("%d events refused while streaming; first: %s", st->errors,
			 st->first_error);
	if (st->acked_count == 0)
		fail_msg("no event acknowledged within 0.5 s of streaming");

	assert_int_equal(h_start(d), 0);
	long long n_incidents = STATUS_COUNT(d, "incidents");
	long long n_events = STATUS_COUNT(d, "events");

	/* Every stored event, by id: each must appear once in the whole store. */
	char *seen = calloc(STREAM_MAX, 1);
	long long timeline_total = 0;
	for (long long inc = 1; inc <= n_incidents; inc++) {
		char id[32];
		snprintf(id, sizeof id, "INC%012lld", inc);
		json_t *rec = GET_INCIDENT(d, id);
		size_t j;
		json_t *e;
		json_array_foreach(json_object_get(rec, "timeline"), j, e)
		{
			const char *eid = json_string_value(json_object_get(e, "event_id"));
			if (eid == NULL || strncmp(eid, "k-", 2) != 0)
				check_fail_(__FILE__, __LINE__, rec, "a timeline entry nobody sent");
			int i = atoi(eid + 2);
			assert_true(i >= 0 && i < st->sent);
			if (seen[i]++)
				check_fail_(__FILE__, __LINE__, rec, "an event stored twice");
			if (st->incident[i] != 0 && st->incident[i] != (uint32_t)inc)
				check_fail_(__FILE__, __LINE__, rec,
					    "an event stored in another incident than its reply said");
			timeline_total++;
		}
		json_decref(rec);
	}
	int lost = 0;
	for (int i = 0; i < st->sent; i++)
		if (st->incident[i] != 0 && !seen[i] && lost++ < 5)
			print_error("acknowledged event k-%d (INC%012u) is missing\n", i,
				    st->incident[i]);
	if (lost > 0)
		fail_msg("%d acknowledged events lost", lost);
	assert_int_equal(timeline_total, n_events);

	/* A retry of acknowledged events is answered as a duplicate, and stores nothing. */
	int retried = 0;
	for (int i = 0; i < st->sent && retried < 50; i += 1 + st->sent / 50) {
		if (st->incident[i] == 0)
			continue;
		json_t *r = PUSH(d, s_stream_event(st->base_ms, i));
		CHECK_OK(r);
		CHECK_TRUE(r, "duplicate");
		char want[32];
		snprintf(want, sizeof want, "INC%012u", st->incident[i]);
		CHECK_STR(r, "incident", want);
		json_decref(r);
		retried++;
	}
	assert_true(retried > 0);
	assert_int_equal(STATUS_COUNT(d, "events"), n_events);
	free(seen);
	free(st->incident);
	free(st);
	h_pass(d);
}

static void test_kill9_while_streaming(void **state)
{
	s_stream_and_stop(*state, SIGKILL);
}

static void test_sigterm_while_streaming(void **state)
{
	s_stream_and_stop(*state, SIGTERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_restart_keeps_records),
		DAEMON_TEST(test_kill9_while_streaming),
		DAEMON_TEST(test_sigterm_while_streaming),
	};
	return cmocka_run_group_tests_name("integration/durability", tests, NULL, NULL);
}
