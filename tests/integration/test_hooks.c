/*
 * Alert hooks against the real daemon: an exec hook gets the published breach on stdin; a url
 * hook's receiver (tests/integration/receiver.c, on 127.0.0.1) gets each alert with one
 * delivery id across retries and a valid HMAC signature, also when it fails its first attempts
 * or is down across a daemon restart, and nothing more once it has answered 2xx. A receiver
 * down for longer than ten attempts still gets its alert; a delivery given up is logged and
 * published on hook.gave_up; SIGTERM does not wait for a hook that hangs, and the delivery
 * arrives once after the restart; a store written by schema 1 is migrated and delivered from.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <zmq.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "checks.h"
#include "receiver.h"

#define SECRET "s3cret"

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* The daemon's config: the defaults plus extra (with the test's paths and ports). */
static h_daemon_t *s_daemon_with(const char *fmt, ...)
{
	h_daemon_t *d = h_new(NULL);
	if (d == NULL)
		return NULL;
	char extra[2048], conf[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(extra, sizeof extra, fmt, ap);
	va_end(ap);
	snprintf(conf, sizeof conf, "%s\n%s", h_default_config, extra);
	if (h_write_file(d, "incidentd.conf", conf, d->conf) < 0)
		h_destroy(&d);
	return d;
}

/*
 * Pushes a detection reported an hour ago (category 2: the default rule's 30 min target has
 * passed), which breaches provider_notification on arrival. Returns the breach id in breach_out
 * and the incident id in incident_out.
 */
static void s_breach_on_arrival(h_daemon_t *d, const char *eid, char breach_out[32],
				char incident_out[32])
{
	char at[32];
	utc_ms_format(h_now_ms() - 3600 * 1000, at);
	json_t *ev = h_event("acme", eid, eid, "detected");
	json_object_set_new(ev, "category", json_integer(2));
	json_object_set_new(ev, "title", json_string("hook test"));
	json_object_set_new(ev, "at", json_string(at));
	json_t *r = PUSH(d, ev);
	CHECK_OK(r);
	json_t *b = json_array_get(json_object_get(r, "breaches"), 0);
	if (b == NULL)
		check_fail_(__FILE__, __LINE__, r, "the event should breach on arrival");
	CHECK_STR(b, "sla", "provider_notification");
	snprintf(breach_out, 32, "%s", json_string_value(json_object_get(b, "breach")));
	snprintf(incident_out, 32, "%s", json_string_value(json_object_get(r, "incident")));
	json_decref(r);
}

/* Reads a whole file (malloc'd, NUL-terminated) or NULL when it does not exist. */
static char *s_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Lines in a file; 0 when it does not exist. */
static int s_count_lines(const char *path)
{
	char *text = s_slurp(path);
	int n = 0;
	for (const char *p = text; p != NULL && *p != '\0'; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/*
 * An exec hook (argv split on spaces, JSON on stdin) receives the published breach body: the
 * script writes its stdin to OUTFILE and counts its runs; non-breach topics never reach it.
 */
static void test_exec_hook_receives_alert(void **state)
{
	/* The config names paths inside the daemon's dir, so it is written after h_new(). */
	h_daemon_t *d = h_new(NULL);
	assert_non_null(d);
	*state = d;
	char script[H_PATH_MAX], out[H_PATH_MAX + 16], count[H_PATH_MAX + 16];
	assert_int_equal(h_write_file(d, "hook.sh",
				      "#!/bin/sh\n"
				      "cat > \"$1.part\" && mv \"$1.part\" \"$1\" && "
				      "echo delivered >> \"$2\"\n",
				      script),
			 0);
	assert_int_equal(chmod(script, 0755), 0);
	snprintf(out, sizeof out, "%s/alert.json", d->dir);
	snprintf(count, sizeof count, "%s/runs.txt", d->dir);
	char conf[8192];
	snprintf(conf, sizeof conf,
		 "%s\n[hook pager]\nexec = %s %s %s\ntopics = breach.\nbackoff = 100ms\n",
		 h_default_config, script, out, count);
	assert_int_equal(h_write_file(d, "incidentd.conf", conf, d->conf), 0);
	assert_int_equal(h_start(d), 0);

	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "x1", breach, incident);
	json_t *published = h_sub_wait(sub, "breach.provider_notification", incident, 3000, NULL);
	if (published == NULL)
		fail_msg("no breach.provider_notification message for %s", incident);

	json_t *got = NULL;
	int64_t deadline = h_mono_ms() + 5000;
	while (got == NULL && h_mono_ms() < deadline) {
		char *text = s_slurp(out);
		if (text != NULL)
			got = json_loads(text, 0, NULL);
		free(text);
		if (got == NULL)
			s_sleep_ms(50);
	}
	if (got == NULL)
		fail_msg("the exec hook wrote no JSON to %s within 5 s", out);
	CHECK_STR(got, "breach", breach);
	CHECK_STR(got, "incident", incident);
	CHECK_STR(got, "sla", "provider_notification");
	if (!json_equal(got, published)) {
		char *p = h_dump(published);
		print_error("published: %s\n", p);
		free(p);
		check_fail_(__FILE__, __LINE__, got, "the hook gets the published body");
	}
	json_decref(got);
	json_decref(published);

	/* Once: a success is not repeated, and the incident.* messages are not for this hook. */
	s_sleep_ms(1000);
	int runs = s_count_lines(count);
	if (runs != 1)
		fail_msg("the exec hook ran %d times for one breach, expected 1", runs);
	h_close(d, sub);
	h_pass(d);
}

/* Checks one request: POST to /alerts, a decimal delivery id, the signature of its body. */
static void s_check_request(const h_received_t *r, const char *breach)
{
	if (strcmp(r->method, "POST") != 0 || strcmp(r->path, "/alerts") != 0)
		fail_msg("expected POST /alerts, got %s %s", r->method, r->path);
	if (r->delivery[0] == '\0' || strspn(r->delivery, "0123456789") != strlen(r->delivery))
		fail_msg("X-Incidentd-Delivery should be a decimal id, got \"%s\"", r->delivery);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)r->body, r->body_len,
	     mac, &mac_len);
	char want[7 + 2 * EVP_MAX_MD_SIZE + 1] = "sha256=";
	for (unsigned int i = 0; i < mac_len; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
	if (strcasecmp(r->signature, want) != 0)
		fail_msg("X-Incidentd-Signature \"%s\", expected \"%s\" for body %s", r->signature,
			 want, r->body);
	json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
	if (body == NULL)
		fail_msg("the POST body is not JSON: %s", r->body);
	CHECK_STR(body, "breach", breach);
	CHECK_STR(body, "sla", "provider_notification");
	json_decref(body);
}

static h_receiver_t s_recv;

/* The requests the receiver has read so far. */
static int s_requests(h_receiver_t *r)
{
	int n;
	h_receiver_counts(r, &n, NULL, NULL);
	return n;
}

static int teardown_hooks(void **state)
{
	h_daemon_t *d = *state;
	h_destroy(&d);
	*state = NULL;
	h_receiver_stop(&s_recv);
	return 0;
}

/*
 * A receiver that answers 500 twice, then 200: three requests within 10 s, after the backoff
 * (100 ms, then 200 ms), one delivery id, a valid signature over each body; then no more.
 */
static void test_url_hook_retries_until_success(void **state)
{
	assert_int_equal(h_receiver_bind(&s_recv, 0, 2), 0);
	assert_int_equal(h_receiver_start(&s_recv), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "secret = " SECRET "\n"
				      "timeout = 2s\n"
				      "backoff = 100ms\n"
				      "max_backoff = 1s\n",
				      s_recv.port);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "u1", breach, incident);
	int n = h_receiver_wait(&s_recv, 3, false, 10000);
	if (n < 3)
		fail_msg("the receiver got %d requests within 10 s, expected 3 (500, 500, 200)", n);
	s_sleep_ms(1000);
	n = s_requests(&s_recv);
	if (n != 3)
		fail_msg("%d requests; after the 200 nothing more should come", n);
	for (int i = 0; i < 3; i++) {
		h_received_t *r = &s_recv.req[i];
		s_check_request(r, breach);
		if (strcmp(r->delivery, s_recv.req[0].delivery) != 0)
			fail_msg("delivery id %s on attempt %d, %s on the first", r->delivery, i + 1,
				 s_recv.req[0].delivery);
		if (r->body_len != s_recv.req[0].body_len ||
		    memcmp(r->body, s_recv.req[0].body, r->body_len) != 0)
			fail_msg("a retry sent another body: %s vs %s", r->body,
				 s_recv.req[0].body);
	}
	/* The first retry waits the backoff, the second twice it. */
	int64_t gap1 = s_recv.req[1].at_ms - s_recv.req[0].at_ms;
	int64_t gap2 = s_recv.req[2].at_ms - s_recv.req[1].at_ms;
	if (gap1 < 90 || gap2 < 190)
		fail_msg("retries came %lld ms and %lld ms apart, expected >= 100 and >= 200",
			 (long long)gap1, (long long)gap2);
	h_pass(d);
}

/*
 * A receiver that is down while the breach is raised and across a daemon restart: once it
 * listens and the daemon is back, the alert arrives once, signed; not again after another
 * restart.
 */
static void test_url_hook_down_across_restart(void **state)
{
	/* Bound but not listening: connections are refused, and nobody else can take the port. */
	assert_int_equal(h_receiver_bind(&s_recv, 0, 0), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "secret = " SECRET "\n"
				      "timeout = 2s\n"
				      "backoff = 100ms\n"
				      "max_backoff = 300ms\n"
				      "max_attempts = 1000\n",
				      s_recv.port);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "down1", breach, incident);
	s_sleep_ms(1000); /* some attempts fail meanwhile */
	assert_int_equal(h_stop(d), 0);

	assert_int_equal(h_receiver_start(&s_recv), 0);
	assert_int_equal(h_start(d), 0);
	int n = h_receiver_wait(&s_recv, 1, false, 10000);
	if (n < 1)
		fail_msg("the alert did not arrive within 10 s of the restart");
	s_sleep_ms(1000);
	n = s_requests(&s_recv);
	if (n != 1)
		fail_msg("%d requests; the 200 should end the delivery", n);
	s_check_request(&s_recv.req[0], breach);

	/* Delivered is delivered: another restart sends nothing. */
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	s_sleep_ms(1000);
	n = s_requests(&s_recv);
	if (n != 1)
		fail_msg("%d requests after another restart, expected still 1", n);
	h_pass(d);
}

/* The delivery id a request carried, as a number; 0 when it has none. */
static long long s_delivery_id(const h_received_t *r)
{
	return r->delivery[0] != '\0' ? strtoll(r->delivery, NULL, 10) : 0;
}

/*
 * A receiver that fails 15 times (500) before it answers 200, with max_attempts = 0 (no limit:
 * give_up_after, 24h by default, decides) and the backoff scaled down (100 ms, at most 200 ms):
 * the alert still arrives, on the 16th request, with one delivery id. Before give_up_after, the
 * delivery was given up after the 10th attempt whatever the configuration said.
 */
static void test_receiver_down_longer_than_ten_attempts(void **state)
{
	assert_int_equal(h_receiver_bind(&s_recv, 0, 15), 0);
	assert_int_equal(h_receiver_start(&s_recv), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "secret = " SECRET "\n"
				      "timeout = 2s\n"
				      "backoff = 100ms\n"
				      "max_backoff = 200ms\n"
				      "max_attempts = 0\n",
				      s_recv.port);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "long1", breach, incident);
	int ok = h_receiver_wait(&s_recv, 1, true, 15000);
	if (ok != 1)
		fail_msg("no 2xx answer within 15 s: %d requests, the alert was given up",
			 s_requests(&s_recv));
	s_sleep_ms(500);
	int n = s_requests(&s_recv);
	if (n != 16)
		fail_msg("%d requests, expected 15 failures and one success", n);
	for (int i = 0; i < 16; i++) {
		s_check_request(&s_recv.req[i], breach);
		if (strcmp(s_recv.req[i].delivery, s_recv.req[0].delivery) != 0)
			fail_msg("delivery id %s on attempt %d, %s on the first",
				 s_recv.req[i].delivery, i + 1, s_recv.req[0].delivery);
	}
	h_pass(d);
}

/*
 * Waits for the hook.gave_up message of hook on sub and checks it: the receiver's delivery id,
 * the hook, the breach's topic, the attempts the receiver saw, a reason starting with
 * why_prefix, and a seq. Returns the body (new reference).
 */
static json_t *s_expect_gave_up(void *sub, const char *hook, const char *why_prefix,
				int timeout_ms)
{
	json_t *g = h_sub_wait(sub, "hook.gave_up", NULL, timeout_ms, NULL);
	if (g == NULL)
		fail_msg("no hook.gave_up message within %d ms (%d requests)", timeout_ms,
			 s_requests(&s_recv));
	int n = s_requests(&s_recv);
	CHECK_STR(g, "hook", hook);
	CHECK_STR(g, "topic", "breach.provider_notification");
	CHECK_INT(g, "delivery", s_delivery_id(&s_recv.req[0]));
	CHECK_INT(g, "attempts", n);
	if (!json_is_integer(json_object_get(g, "seq")))
		check_fail_(__FILE__, __LINE__, g, "a published body carries its seq");
	const char *reason = json_string_value(json_object_get(g, "reason"));
	if (reason == NULL || strncmp(reason, why_prefix, strlen(why_prefix)) != 0)
		check_fail_(__FILE__, __LINE__, g, "the reason says which limit was reached");
	return g;
}

/*
 * give_up_after = 2s and a receiver that always fails: the delivery is retried for 2 s, then
 * given up, logged with the hook, delivery id, attempts and reason, and published on
 * hook.gave_up; another hook whose topics take hook.* gets that message, while the hook that
 * gave up does not get its own (its topics would match too).
 */
static void test_give_up_is_logged_and_published(void **state)
{
	assert_int_equal(h_receiver_bind(&s_recv, 0, 1000000), 0);
	assert_int_equal(h_receiver_start(&s_recv), 0);
	h_daemon_t *d = h_new(NULL);
	assert_non_null(d);
	*state = d;
	char script[H_PATH_MAX], out[H_PATH_MAX + 16];
	assert_int_equal(h_write_file(d, "audit.sh",
				      "#!/bin/sh\ncat > \"$1.part\" && mv \"$1.part\" \"$1\"\n",
				      script),
			 0);
	assert_int_equal(chmod(script, 0755), 0);
	snprintf(out, sizeof out, "%s/gave_up.json", d->dir);
	char conf[8192];
	snprintf(conf, sizeof conf,
		 "%s\n[hook web]\nurl = http://127.0.0.1:%d/alerts\nsecret = " SECRET "\n"
		 "topics = breach., hook.\ntimeout = 2s\ngive_up_after = 2s\nbackoff = 100ms\n"
		 "max_backoff = 200ms\nmax_attempts = 0\n"
		 "[hook audit]\nexec = %s %s\ntopics = hook.\nbackoff = 100ms\n",
		 h_default_config, s_recv.port, script, out);
	assert_int_equal(h_write_file(d, "incidentd.conf", conf, d->conf), 0);
	assert_int_equal(h_start(d), 0);
	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);
	char breach[32], incident[32];
	int64_t t0 = h_mono_ms();
	s_breach_on_arrival(d, "gone1", breach, incident);
	json_t *g = s_expect_gave_up(sub, "web", "give_up_after", 8000);
	if (h_mono_ms() - t0 < 1900)
		fail_msg("given up after %lld ms, before give_up_after (2 s)",
			 (long long)(h_mono_ms() - t0));
	int n = s_requests(&s_recv);
	if (n < 5)
		fail_msg("only %d attempts in 2 s with a 100-200 ms backoff", n);

	/* The audit hook gets the published message; web never gets its own give-up. */
	json_t *got = NULL;
	for (int64_t until = h_mono_ms() + 5000; got == NULL && h_mono_ms() < until;) {
		got = json_load_file(out, 0, NULL);
		if (got == NULL)
			s_sleep_ms(50);
	}
	if (got == NULL || !json_equal(got, g))
		check_fail_(__FILE__, __LINE__, got, "the audit hook gets the hook.gave_up body");
	s_sleep_ms(1000);
	if (s_requests(&s_recv) != n)
		fail_msg("%d requests after the give-up, expected still %d", s_requests(&s_recv), n);
	for (int i = 0; i < n && i < H_RECEIVER_KEPT; i++)
		if (strcmp(s_recv.req[i].topic, "breach.provider_notification") != 0)
			fail_msg("request %d to web had topic %s", i + 1, s_recv.req[i].topic);

	char *log = s_slurp(d->log);
	char line[160];
	snprintf(line, sizeof line, "hook web: giving up delivery %s (breach.provider_notification) "
		 "after %d attempts: give_up_after", s_recv.req[0].delivery, n);
	expect_in(log, line, "the daemon log");
	free(log);
	json_decref(got);
	json_decref(g);
	h_close(d, sub);
	h_pass(d);
}

/* max_attempts, when set, still ends the retries (before give_up_after), and is published. */
static void test_max_attempts_still_gives_up(void **state)
{
	assert_int_equal(h_receiver_bind(&s_recv, 0, 1000000), 0);
	assert_int_equal(h_receiver_start(&s_recv), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "secret = " SECRET "\n"
				      "max_attempts = 3\n"
				      "backoff = 100ms\n",
				      s_recv.port);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);
	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "three1", breach, incident);
	json_t *g = s_expect_gave_up(sub, "web", "max_attempts (3) reached: HTTP 500", 5000);
	CHECK_INT(g, "attempts", 3);
	json_decref(g);
	s_sleep_ms(500);
	if (s_requests(&s_recv) != 3)
		fail_msg("%d requests, expected 3", s_requests(&s_recv));
	h_close(d, sub);
	h_pass(d);
}

/*
 * A subscriber of hook. alone (no other subscription: the daemon builds only messages some
 * subscription can match) gets hook.gave_up: the daemon knows it among its topics.
 */
static void test_gave_up_reaches_a_hook_subscriber(void **state)
{
	assert_int_equal(h_receiver_bind(&s_recv, 0, 1000000), 0);
	assert_int_equal(h_receiver_start(&s_recv), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "max_attempts = 2\n"
				      "backoff = 100ms\n",
				      s_recv.port);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);
	void *hooks_only = h_own(d, zmq_socket(d->zctx, ZMQ_SUB));
	assert_int_equal(zmq_setsockopt(hooks_only, ZMQ_SUBSCRIBE, "hook.", 5), 0);
	assert_int_equal(zmq_connect(hooks_only, d->pub), 0);
	/* Nothing it subscribes to comes before the give-up, so no sync: time for it to arrive. */
	s_sleep_ms(300);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "two1", breach, incident);
	json_t *g = s_expect_gave_up(hooks_only, "web", "max_attempts (2) reached: HTTP 500", 5000);
	CHECK_INT(g, "attempts", 2);
	json_decref(g);
	h_close(d, hooks_only);
	h_pass(d);
}

/* Sends SIGTERM and checks the daemon exits 0 within 2 s. */
static void s_stop_within_2s(h_daemon_t *d)
{
	int64_t t0 = h_mono_ms();
	int st = h_stop(d);
	int64_t took = h_mono_ms() - t0;
	if (st != 0 || took >= 2000)
		fail_msg("SIGTERM with a hanging hook: exit status %d after %lld ms, expected 0 "
			 "within 2000 ms", st, (long long)took);
}

/*
 * An exec hook hangs (timeout 20 s): SIGTERM ends the daemon within 2 s anyway, the abandoned
 * attempt is not counted (with max_attempts = 1 a counted one would be the last), and after the
 * restart the hook gets the alert exactly once.
 */
static void test_sigterm_abandons_a_hanging_exec_hook(void **state)
{
	h_daemon_t *d = h_new(NULL);
	assert_non_null(d);
	*state = d;
	char script[H_PATH_MAX], path[H_PATH_MAX + 32];
	assert_int_equal(h_write_file(d, "hook.sh",
				      "#!/bin/sh\n"
				      "if [ -e \"$1/hang\" ]; then echo $$ > \"$1/running\"; sleep 20; "
				      "exit 0; fi\n"
				      "cat > \"$1/alert.part\" && mv \"$1/alert.part\" \"$1/alert.json\" && "
				      "echo delivered >> \"$1/delivered\"\n",
				      script),
			 0);
	assert_int_equal(chmod(script, 0755), 0);
	assert_int_equal(h_write_file(d, "hang", "", path), 0);
	char conf[8192];
	snprintf(conf, sizeof conf,
		 "%s\n[hook pager]\nexec = %s %s\ntimeout = 20s\nmax_attempts = 1\n",
		 h_default_config, script, d->dir);
	assert_int_equal(h_write_file(d, "incidentd.conf", conf, d->conf), 0);
	assert_int_equal(h_start(d), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "hang1", breach, incident);
	snprintf(path, sizeof path, "%s/running", d->dir);
	int64_t until = h_mono_ms() + 5000;
	while (access(path, F_OK) != 0 && h_mono_ms() < until)
		s_sleep_ms(20);
	if (access(path, F_OK) != 0)
		fail_msg("the hook did not start within 5 s");
	s_stop_within_2s(d);

	snprintf(path, sizeof path, "%s/hang", d->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(h_start(d), 0);
	snprintf(path, sizeof path, "%s/delivered", d->dir);
	for (until = h_mono_ms() + 5000; s_count_lines(path) < 1 && h_mono_ms() < until;)
		s_sleep_ms(20);
	s_sleep_ms(1000);
	int runs = s_count_lines(path);
	if (runs != 1)
		fail_msg("the alert arrived %d times after the restart, expected once", runs);
	snprintf(path, sizeof path, "%s/alert.json", d->dir);
	json_t *got = json_load_file(path, 0, NULL);
	if (got == NULL)
		fail_msg("the hook wrote no JSON alert");
	CHECK_STR(got, "breach", breach);
	json_decref(got);
	h_pass(d);
}

/*
 * A url hook's receiver takes the request and never answers (timeout 20 s): SIGTERM ends the
 * daemon within 2 s, and after the restart the receiver gets the same delivery once more and
 * answers it: one 2xx in all.
 */
static void test_sigterm_aborts_an_unanswered_post(void **state)
{
	assert_int_equal(h_receiver_bind(&s_recv, 1, 0), 0);
	assert_int_equal(h_receiver_start(&s_recv), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "secret = " SECRET "\n"
				      "timeout = 20s\n"
				      "max_attempts = 1\n",
				      s_recv.port);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "hang2", breach, incident);
	if (h_receiver_wait(&s_recv, 1, false, 5000) < 1)
		fail_msg("the receiver got no request within 5 s");
	s_stop_within_2s(d);

	assert_int_equal(h_start(d), 0);
	if (h_receiver_wait(&s_recv, 1, true, 5000) < 1)
		fail_msg("the alert was not delivered within 5 s of the restart");
	s_sleep_ms(1000);
	int n, ok;
	h_receiver_counts(&s_recv, &n, &ok, NULL);
	if (n != 2 || ok != 1)
		fail_msg("%d requests and %d answered 2xx; expected the unanswered one and one more",
			 n, ok);
	for (int i = 0; i < 2; i++)
		s_check_request(&s_recv.req[i], breach);
	if (strcmp(s_recv.req[0].delivery, s_recv.req[1].delivery) != 0)
		fail_msg("delivery %s after the restart, %s before", s_recv.req[1].delivery,
			 s_recv.req[0].delivery);
	h_pass(d);
}

/* Writes an LMDB record with raw calls. */
static void s_raw_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_len,
		      const void *val, size_t val_len)
{
	MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void s_be64(uint64_t v, unsigned char out[8])
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (unsigned char)(v & 0xff);
}

/*
 * Writes DIR/data as incidentd with schema 1 left it: its databases, the schema and the
 * delivery counter, and one delivery for hook web that was tried twice and is due.
 */
static void s_write_v1_data(h_daemon_t *d, const char *body)
{
	static const char *const dbs[] = {
		"meta", "log", "incidents", "refs", "dedup", "open", "resolved", "closed",
		"opened", "breaches", "breach_keys", "deadlines", "outbox", "problems",
	};
	assert_int_equal(mkdir(d->data_dir, 0750), 0);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi[14];
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 14), 0);
	assert_int_equal(mdb_env_open(env, d->data_dir, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	for (int i = 0; i < 14; i++)
		assert_int_equal(mdb_dbi_open(txn, dbs[i], MDB_CREATE, &dbi[i]), 0);
	unsigned char u64[8], key[16] = "web";
	s_be64(1, u64);
	s_raw_put(txn, dbi[0], "schema", 6, u64, 8);
	s_be64(7, u64);
	s_raw_put(txn, dbi[0], "last_delivery", 13, u64, 8);
	s_be64(7, key + 4);
	json_t *entry = json_pack("{s:i, s:s, s:s, s:s, s:i, s:I, s:I}", "delivery", 7, "hook",
				  "web", "topic", "breach.provider_notification", "body", body,
				  "attempts", 2, "next_attempt", (json_int_t)(h_now_ms() - 1000),
				  "created", (json_int_t)(h_now_ms() - 60000));
	char *text = json_dumps(entry, JSON_COMPACT);
	s_raw_put(txn, dbi[12], key, 12, text, strlen(text));
	free(text);
	json_decref(entry);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/*
 * A data dir written by schema 1 with a delivery waiting: the daemon migrates it at start-up
 * (logged) and delivers the waiting alert, with its delivery id, once.
 */
static void test_schema_1_store_delivers_after_migration(void **state)
{
	assert_int_equal(h_receiver_bind(&s_recv, 0, 0), 0);
	assert_int_equal(h_receiver_start(&s_recv), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "secret = " SECRET "\n",
				      s_recv.port);
	assert_non_null(d);
	*state = d;
	const char *body = "{\"seq\":3,\"breach\":\"BRE000000000001\",\"sla\":"
			   "\"provider_notification\"}";
	s_write_v1_data(d, body);
	assert_int_equal(h_start(d), 0);
	if (h_receiver_wait(&s_recv, 1, true, 5000) < 1)
		fail_msg("the waiting delivery was not sent within 5 s of the start");
	s_sleep_ms(500);
	assert_int_equal(s_requests(&s_recv), 1);
	s_check_request(&s_recv.req[0], "BRE000000000001");
	assert_string_equal(s_recv.req[0].delivery, "7");
	assert_string_equal(s_recv.req[0].body, body);
	char *log = s_slurp(d->log);
	expect_in(log, "store: schema 1 -> 2: indexed 1 outbox deliveries by due time",
		  "the daemon log");
	free(log);
	h_pass(d);
}

/* timeout above 5m and give_up_after outside 1s..30d are errors with FILE:LINE. */
static void test_hook_limits_checked(void **state)
{
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:1/alerts\n"
				      "timeout = 6m\n"
				      "give_up_after = 31d\n");
	assert_non_null(d);
	*state = d;
	h_run_t r;
	char *argv[] = {(char *)INCIDENTD_BIN, (char *)"-c", d->conf, (char *)"--check-config",
			NULL};
	assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
	CHECK_EXIT(&r, 1);
	/* The hook section follows h_default_config and an empty line. */
	int line = 0;
	for (const char *p = h_default_config; *p; p++)
		line += *p == '\n';
	char want[H_PATH_MAX + 128];
	snprintf(want, sizeof want, "%s:%d: hook web: timeout: 6m is out of range 1ms..5m",
		 d->conf, line + 4);
	expect_in(r.out, want, "--check-config's stdout");
	snprintf(want, sizeof want,
		 "%s:%d: hook web: give_up_after: 31d is out of range 1s..30d", d->conf, line + 5);
	expect_in(r.out, want, "--check-config's stdout");
	h_run_clear(&r);
	h_pass(d);
}

static int setup_none(void **state)
{
	*state = NULL;
	memset(&s_recv, 0, sizeof s_recv);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exec_hook_receives_alert, setup_none,
						teardown_hooks),
		cmocka_unit_test_setup_teardown(test_url_hook_retries_until_success, setup_none,
						teardown_hooks),
		cmocka_unit_test_setup_teardown(test_url_hook_down_across_restart, setup_none,
						teardown_hooks),
		cmocka_unit_test_setup_teardown(test_receiver_down_longer_than_ten_attempts,
						setup_none, teardown_hooks),
		cmocka_unit_test_setup_teardown(test_give_up_is_logged_and_published, setup_none,
						teardown_hooks),
		cmocka_unit_test_setup_teardown(test_max_attempts_still_gives_up, setup_none,
						teardown_hooks),
		cmocka_unit_test_setup_teardown(test_gave_up_reaches_a_hook_subscriber, setup_none,
						teardown_hooks),
		cmocka_unit_test_setup_teardown(test_sigterm_abandons_a_hanging_exec_hook,
						setup_none, teardown_hooks),
		cmocka_unit_test_setup_teardown(test_sigterm_aborts_an_unanswered_post, setup_none,
						teardown_hooks),
		cmocka_unit_test_setup_teardown(test_schema_1_store_delivers_after_migration,
						setup_none, teardown_hooks),
		cmocka_unit_test_setup_teardown(test_hook_limits_checked, setup_none,
						teardown_hooks),
	};
	return cmocka_run_group_tests_name("integration/hooks", tests, NULL, NULL);
}
