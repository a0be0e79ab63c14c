/*
 * Tests of daemon/edge/alerts.c: delivery from the outbox in a real LMDB store (a fresh temporary
 * directory per test) to real hooks: shell scripts written by the test for exec hooks, and a
 * small HTTP server on 127.0.0.1 for url hooks; give-ups, and stopping while a hook hangs.
 * Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/edge/alerts.h"
#include "daemon/core/config.h"
#include "daemon/store/outbox.h"
#include "daemon/store/schema.h"
#include "daemon/store/store.h"
#include "daemon/sys/metrics.h"
#include "tests/unit/unit_tmpdir.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* The longest any test waits for a delivery to happen. */
#define WAIT_MS 5000

static int64_t s_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* ---- fixture: a store in a temporary directory and a config built by hand ---- */

static char *s_default_topics[] = { "breach.", NULL };

typedef struct {
	char dir[64];
	store_t *store;
	config_t cfg;
	config_hook_t hooks[3];
	char *argv[3];
	char url[64];
	char script[128];
	char outfile[128];
} fixture_t;

static int s_setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	assert_non_null(f);
	strcpy(f->dir, "/tmp/incidentd-alerts-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char err[256];
	f->store = store_open(f->dir, 1 << 20, &schema_current, err, sizeof err);
	assert_non_null(f->store);
	for (size_t i = 0; i < 3; i++) {
		config_hook_t *h = &f->hooks[i];
		h->topics = s_default_topics;
		h->n_topics = 1;
		h->timeout_ms = 2000;
		h->max_attempts = 5;
		h->backoff_ms = 20;
		h->max_backoff_ms = 1000;
	}
	f->hooks[0].name = "first";
	f->hooks[1].name = "second";
	f->hooks[2].name = "third";
	f->cfg.hooks = f->hooks;
	f->cfg.n_hooks = 1;
	snprintf(f->script, sizeof f->script, "%s/hook.sh", f->dir);
	snprintf(f->outfile, sizeof f->outfile, "%s/out", f->dir);
	*state = f;
	return 0;
}

static int s_teardown(void **state)
{
	fixture_t *f = *state;
	store_destroy(&f->store);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Makes hook 0 of f an exec hook running f->script with f->outfile as its argument. */
static void s_exec_hook(fixture_t *f, const char *script_text)
{
	int fd = open(f->script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, script_text, strlen(script_text)), (ssize_t)strlen(script_text));
	assert_int_equal(close(fd), 0);
	f->argv[0] = f->script;
	f->argv[1] = f->outfile;
	f->argv[2] = NULL;
	f->hooks[0].exec_argv = f->argv;
}

/* Queues body (JSON text) under topic in one committed write transaction; returns the count. */
static int s_enqueue(fixture_t *f, const char *topic, const char *body)
{
	json_t *msg = json_loads(body, JSON_DECODE_ANY, NULL);
	assert_non_null(msg);
	store_txn_t txn;
	int queued = -1;
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	assert_int_equal(outbox_enqueue(&txn, &f->cfg, topic, msg, s_now_ms(), NULL, &queued), 0);
	assert_int_equal(store_txn_commit(&txn), 0);
	json_decref(msg);
	return queued;
}

/* The alerts of f's hooks with their threads started; publish (may be NULL) gets give-ups. */
static alerts_t *s_alerts_start(fixture_t *f, alerts_publish_cb publish, void *arg)
{
	alerts_t *alerts = alerts_new(f->store, &f->cfg);
	assert_non_null(alerts);
	assert_int_equal(alerts_start(alerts, publish, arg), 0);
	return alerts;
}

static size_t s_outbox_count(fixture_t *f)
{
	store_txn_t txn;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	size_t n = store_count(&txn, STORE_OUTBOX);
	store_txn_abort(&txn);
	return n;
}

/* The outbox entry of hook name and delivery id (a new reference), or NULL. */
static json_t *s_outbox_get(fixture_t *f, const char *name, uint64_t id)
{
	unsigned char key[64];
	size_t len = strlen(name) + 1;
	memcpy(key, name, len);
	store_u64_encode(id, key + len);
	store_txn_t txn;
	json_t *value = NULL;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	int rc = store_get_json(&txn, STORE_OUTBOX, key, len + 8, &value);
	store_txn_abort(&txn);
	assert_true(rc == 0 || rc == MDB_NOTFOUND);
	return value;
}

static uint64_t s_last_delivery(fixture_t *f)
{
	store_txn_t txn;
	uint64_t id = 0;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	assert_int_equal(store_meta_get_u64(&txn, "last_delivery", &id), 0);
	store_txn_abort(&txn);
	return id;
}

static bool s_outbox_empty(fixture_t *f)
{
	int64_t until = s_mono_ms() + WAIT_MS;
	while (s_outbox_count(f) != 0 && s_mono_ms() < until)
		s_sleep_ms(10);
	return s_outbox_count(f) == 0;
}

/* The whole content of path (free it), or NULL when it does not exist. */
static char *s_file_read(const char *path)
{
	FILE *fp = fopen(path, "re");
	if (!fp)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t got;
	while ((got = fread(text + n, 1, cap - 1 - n, fp)) > 0)
		n += got;
	text[n] = '\0';
	fclose(fp);
	return text;
}

static bool s_file_equals(const char *path, const char *expected)
{
	char *text = s_file_read(path);
	bool same = text && strcmp(text, expected) == 0;
	free(text);
	return same;
}

static int s_file_lines(const char *path)
{
	char *text = s_file_read(path);
	int n = 0;
	for (char *p = text; p && *p; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* ---- a tiny HTTP server: one request per connection ---- */

#define HTTP_MAX_REQS 16

typedef struct {
	char head[8192];
	char *body;
	size_t body_len;
} http_req_t;

typedef struct {
	int fd;
	int port;
	int fail_first; /* answer 500 to this many requests, then 200 */
	pthread_t thread;
	pthread_mutex_t mutex;
	bool stop;
	http_req_t reqs[HTTP_MAX_REQS];
	int n_reqs;
} http_server_t;

/* Binds 127.0.0.1 on an ephemeral port without listening: connections are refused. */
static void s_http_bind(http_server_t *srv)
{
	memset(srv, 0, sizeof *srv);
	pthread_mutex_init(&srv->mutex, NULL);
	srv->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(srv->fd >= 0);
	struct sockaddr_in addr = { .sin_family = AF_INET };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv->fd, (struct sockaddr *)&addr, sizeof addr), 0);
	socklen_t len = sizeof addr;
	assert_int_equal(getsockname(srv->fd, (struct sockaddr *)&addr, &len), 0);
	srv->port = ntohs(addr.sin_port);
}

/* Reads one request (head and Content-Length body) from conn; false on a short one. */
static bool s_http_read(int conn, http_req_t *req)
{
	char buf[65536];
	size_t n = 0;
	char *end = NULL;
	while (!end && n < sizeof buf - 1) {
		ssize_t got = recv(conn, buf + n, sizeof buf - 1 - n, 0);
		if (got <= 0)
			return false;
		n += (size_t)got;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end || (size_t)(end - buf) + 2 >= sizeof req->head)
		return false;
	memcpy(req->head, buf, (size_t)(end - buf) + 2);
	req->head[end - buf + 2] = '\0';
	const char *cl = strcasestr(req->head, "\r\nContent-Length:");
	size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
	req->body = malloc(want + 1);
	if (!req->body)
		return false;
	size_t have = n - (size_t)(end + 4 - buf);
	if (have > want)
		have = want;
	memcpy(req->body, end + 4, have);
	while (have < want) {
		ssize_t got = recv(conn, req->body + have, want - have, 0);
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	req->body[have] = '\0';
	req->body_len = have;
	return true;
}

static void *s_http_main(void *arg)
{
	http_server_t *srv = arg;
	for (;;) {
		pthread_mutex_lock(&srv->mutex);
		bool stop = srv->stop;
		pthread_mutex_unlock(&srv->mutex);
		if (stop)
			break;
		struct pollfd pfd = { srv->fd, POLLIN, 0 };
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		int conn = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		struct timeval tv = { 2, 0 };
		setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		http_req_t req = { 0 };
		if (s_http_read(conn, &req)) {
			pthread_mutex_lock(&srv->mutex);
			int i = srv->n_reqs;
			if (i < HTTP_MAX_REQS) {
				srv->reqs[i] = req;
				srv->n_reqs++;
			} else {
				free(req.body);
			}
			pthread_mutex_unlock(&srv->mutex);
			const char *reply = i < srv->fail_first
				? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
				  "Connection: close\r\n\r\n"
				: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
			ssize_t sent = send(conn, reply, strlen(reply), MSG_NOSIGNAL);
			(void)sent;
		} else {
			free(req.body);
		}
		close(conn);
	}
	return NULL;
}

static void s_http_start(http_server_t *srv, int fail_first)
{
	srv->fail_first = fail_first;
	assert_int_equal(listen(srv->fd, 16), 0);
	assert_int_equal(pthread_create(&srv->thread, NULL, s_http_main, srv), 0);
}

static void s_http_stop(http_server_t *srv)
{
	pthread_mutex_lock(&srv->mutex);
	srv->stop = true;
	pthread_mutex_unlock(&srv->mutex);
	pthread_join(srv->thread, NULL);
	close(srv->fd);
	for (int i = 0; i < srv->n_reqs; i++)
		free(srv->reqs[i].body);
	pthread_mutex_destroy(&srv->mutex);
}

static int s_http_count(http_server_t *srv)
{
	pthread_mutex_lock(&srv->mutex);
	int n = srv->n_reqs;
	pthread_mutex_unlock(&srv->mutex);
	return n;
}

/* The value of header name in a request head, copied into out ("" when absent). */
static void s_http_header(const http_req_t *req, const char *name, char *out, size_t len)
{
	char pattern[128];
	snprintf(pattern, sizeof pattern, "\r\n%s:", name);
	out[0] = '\0';
	const char *p = strcasestr(req->head, pattern);
	if (!p)
		return;
	p += strlen(pattern);
	while (*p == ' ')
		p++;
	size_t n = strcspn(p, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static void s_url_hook(fixture_t *f, int port, const char *secret)
{
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/alerts", port);
	f->hooks[0].url = f->url;
	f->hooks[0].secret = (char *)secret;
}

/* ---- tests ---- */

static void test_new_with_no_hooks(void **state)
{
	fixture_t *f = *state;
	f->cfg.n_hooks = 0;
	alerts_t *alerts = alerts_new(f->store, &f->cfg);
	assert_non_null(alerts);
	assert_int_equal(alerts_start(alerts, NULL, NULL), 0);
	alerts_wake(alerts);
	alerts_stop(alerts);
	alerts_destroy(&alerts);
	assert_null(alerts);
	alerts_destroy(&alerts);
}

static void test_exec_hook_gets_body_on_stdin(void **state)
{
	fixture_t *f = *state;
	s_exec_hook(f, "#!/bin/sh\ncat > \"$1\"\n");
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);
	s_sleep_ms(50); /* let the thread find the outbox empty and go to sleep */

	const char *body = "{\"seq\":7,\"topic\":\"breach.resolve\",\"incident\":\"INC000000000042\"}";
	assert_int_equal(s_enqueue(f, "breach.resolve", body), 1);
	alerts_wake(alerts);
	int64_t until = s_mono_ms() + WAIT_MS;
	while (!s_file_equals(f->outfile, body) && s_mono_ms() < until)
		s_sleep_ms(10);
	assert_true(s_file_equals(f->outfile, body));
	assert_true(s_outbox_empty(f));
	alerts_destroy(&alerts);
}

static void test_exec_hook_large_body(void **state)
{
	fixture_t *f = *state;
	/* The hook reads its stdin only after a pause: the pipe must not block the delivery. */
	s_exec_hook(f, "#!/bin/sh\nsleep 0.2\ncat > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n");
	size_t len = 100000; /* more than a pipe holds */
	char *body = malloc(len + 1);
	assert_non_null(body);
	for (size_t i = 0; i < len; i++)
		body[i] = (char)('a' + i % 26);
	body[0] = '"';
	body[len - 1] = '"';
	body[len] = '\0';
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);
	assert_int_equal(s_enqueue(f, "breach.big", body), 1);
	alerts_wake(alerts);
	assert_true(s_outbox_empty(f));
	assert_true(s_file_equals(f->outfile, body));
	alerts_destroy(&alerts);
	free(body);
}

/* What the alerts published: a give-up, and whether it was committed when it came. */
typedef struct {
	pthread_mutex_t mutex;
	fixture_t *f;
	int calls;
	char topic[64];
	json_t *body;
	size_t outbox_then; /* outbox entries when the callback ran */
} published_t;

static void s_on_publish(const char *topic, json_t *body, void *arg)
{
	published_t *p = arg;
	size_t outbox = s_outbox_count(p->f);
	pthread_mutex_lock(&p->mutex);
	if (p->calls++ == 0) {
		snprintf(p->topic, sizeof p->topic, "%s", topic);
		p->body = body;
		p->outbox_then = outbox;
		body = NULL;
	}
	pthread_mutex_unlock(&p->mutex);
	json_decref(body);
}

static void s_published_init(published_t *p, fixture_t *f)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->mutex, NULL);
	p->f = f;
}

/* Waits for the first published message; its body, borrowed from p. */
static json_t *s_published_wait(published_t *p)
{
	int64_t until = s_mono_ms() + WAIT_MS;
	for (;;) {
		pthread_mutex_lock(&p->mutex);
		json_t *body = p->body;
		pthread_mutex_unlock(&p->mutex);
		if (body || s_mono_ms() >= until)
			return body;
		s_sleep_ms(10);
	}
}

static void s_published_release(published_t *p)
{
	json_decref(p->body);
	pthread_mutex_destroy(&p->mutex);
}

/*
 * Checks a give-up: published on hook.gave_up once the delivery was removed, with the delivery,
 * the hook, the message's topic, the attempts made and why, starting with why_prefix.
 */
static void s_check_gave_up(published_t *p, fixture_t *f, int attempts, const char *why_prefix)
{
	json_t *body = s_published_wait(p);
	assert_non_null(body);
	assert_int_equal(p->calls, 1);
	assert_string_equal(p->topic, "hook.gave_up");
	assert_int_equal(p->outbox_then, 0);
	assert_int_equal(json_integer_value(json_object_get(body, "delivery")),
			 s_last_delivery(f));
	assert_string_equal(json_string_value(json_object_get(body, "hook")), "first");
	assert_string_equal(json_string_value(json_object_get(body, "topic")), "breach.ack");
	assert_int_equal(json_integer_value(json_object_get(body, "attempts")), attempts);
	const char *reason = json_string_value(json_object_get(body, "reason"));
	assert_non_null(reason);
	if (strncmp(reason, why_prefix, strlen(why_prefix)) != 0)
		fail_msg("reason \"%s\" does not start with \"%s\"", reason, why_prefix);
}

static void test_exec_hook_failing_gives_up(void **state)
{
	fixture_t *f = *state;
	s_exec_hook(f, "#!/bin/sh\necho attempt >> \"$1\"\nexit 1\n");
	f->hooks[0].max_attempts = 3;
	f->hooks[0].backoff_ms = 50;
	published_t published;
	s_published_init(&published, f);
	alerts_t *alerts = s_alerts_start(f, s_on_publish, &published);
	int64_t start = s_mono_ms();
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":1}"), 1);
	alerts_wake(alerts);
	assert_true(s_outbox_empty(f));
	/* Retries wait 50 ms, then 100 ms. */
	assert_true(s_mono_ms() - start >= 150);
	assert_int_equal(s_file_lines(f->outfile), 3);
	s_check_gave_up(&published, f, 3, "max_attempts (3) reached: exit status 1");
	s_sleep_ms(300);
	assert_int_equal(s_file_lines(f->outfile), 3);
	alerts_destroy(&alerts);
	assert_int_equal(published.calls, 1);
	s_published_release(&published);
}

/*
 * The metrics of deliveries: each hook's backlog counted from the outbox at start, every
 * attempt's outcome (a failure retried, then successes), the backlog lowered as deliveries
 * leave the outbox.
 */
static void test_deliveries_counted_in_metrics(void **state)
{
	fixture_t *f = *state;
	assert_int_equal(metrics_init(&f->cfg), 0);
	/* Fails the first attempt of all (it leaves the file), succeeds afterwards. */
	s_exec_hook(f, "#!/bin/sh\nif [ -f \"$1\" ]; then cat >/dev/null; exit 0; fi\n"
		       "echo once > \"$1\"\nexit 1\n");
	f->hooks[0].backoff_ms = 50;
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":1}"), 1);
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":2}"), 1);
	alerts_t *alerts = alerts_new(f->store, &f->cfg);
	assert_non_null(alerts);
	metrics_gauges_t none = { .store_read = false };
	size_t len;
	char *text = metrics_render(&none, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nincidentd_outbox_pending{hook=\"first\"} 2\n"));
	free(text);
	assert_int_equal(alerts_start(alerts, NULL, NULL), 0);
	alerts_wake(alerts);
	assert_true(s_outbox_empty(f));
	alerts_destroy(&alerts);
	text = metrics_render(&none, &len);
	assert_non_null(text);
	if (!strstr(text, "\nincidentd_hook_deliveries_total{hook=\"first\",result=\"ok\"} 2\n") ||
	    !strstr(text, "\nincidentd_hook_deliveries_total{hook=\"first\",result=\"retry\"} 1\n") ||
	    !strstr(text, "\nincidentd_hook_deliveries_total{hook=\"first\",result=\"gave_up\"} 0\n") ||
	    !strstr(text, "\nincidentd_outbox_pending{hook=\"first\"} 0\n"))
		fail_msg("unexpected metrics:\n%s", text);
	free(text);
	metrics_release();
}

/*
 * Without max_attempts a failing delivery is retried until give_up_after has passed since it
 * was queued (the last attempt at that moment), then given up and published.
 */
static void test_give_up_after_ends_the_retries(void **state)
{
	fixture_t *f = *state;
	s_exec_hook(f, "#!/bin/sh\necho attempt >> \"$1\"\nexit 3\n");
	f->hooks[0].max_attempts = 0;
	f->hooks[0].give_up_after_ms = 400;
	f->hooks[0].backoff_ms = 50;
	f->hooks[0].max_backoff_ms = 100;
	published_t published;
	s_published_init(&published, f);
	alerts_t *alerts = s_alerts_start(f, s_on_publish, &published);
	int64_t start = s_mono_ms();
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":1}"), 1);
	alerts_wake(alerts);
	assert_non_null(s_published_wait(&published));
	assert_true(s_mono_ms() - start >= 400);
	int runs = s_file_lines(f->outfile);
	/* 0, 50, 150, 250, 350 and the last at 400 ms: about six, more than a few. */
	assert_true(runs >= 4);
	s_check_gave_up(&published, f, runs, "give_up_after (400 ms) passed: exit status 3");
	s_sleep_ms(200);
	assert_int_equal(s_file_lines(f->outfile), runs);
	alerts_destroy(&alerts);
	s_published_release(&published);
}

static void test_exec_hook_timeout_kills(void **state)
{
	fixture_t *f = *state;
	s_exec_hook(f, "#!/bin/sh\necho $$ > \"$1\"\nsleep 10\necho late >> \"$1\"\n");
	f->hooks[0].timeout_ms = 200;
	f->hooks[0].max_attempts = 1;
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);
	int64_t start = s_mono_ms();
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":1}"), 1);
	alerts_wake(alerts);
	assert_true(s_outbox_empty(f));
	int64_t took = s_mono_ms() - start;
	assert_true(took >= 200 && took < 3000);
	char *text = s_file_read(f->outfile);
	assert_non_null(text);
	pid_t pid = (pid_t)atoi(text);
	free(text);
	assert_true(pid > 0);
	/* Killed and reaped: the process is gone. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	alerts_destroy(&alerts);
}

/* True when pid is gone or dead (a zombie waiting for whoever inherited it). */
static bool s_dead(pid_t pid)
{
	char path[64], stat[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *fp = fopen(path, "re");
	if (!fp)
		return true;
	size_t n = fread(stat, 1, sizeof stat - 1, fp);
	fclose(fp);
	stat[n] = '\0';
	const char *state = strrchr(stat, ')');
	return !state || state[1] == '\0' || state[2] == 'Z' || state[2] == 'X';
}

/* Waits up to 1 s (a killed process takes a moment to go) for pids to be dead. */
static bool s_all_dead(const pid_t *pids, int n)
{
	int64_t until = s_mono_ms() + 1000;
	for (;;) {
		int alive = 0;
		for (int i = 0; i < n; i++)
			alive += !s_dead(pids[i]);
		if (alive == 0 || s_mono_ms() >= until)
			return alive == 0;
		s_sleep_ms(10);
	}
}

/*
 * Stopping while an exec hook hangs (timeout 20 s) kills the hook and what it started at once,
 * and the abandoned attempt is not counted: the delivery stays as it was queued.
 */
static void test_stop_abandons_a_hanging_exec_hook(void **state)
{
	fixture_t *f = *state;
	s_exec_hook(f, "#!/bin/sh\nsleep 20 &\necho $$ $! > \"$1.tmp\"\nmv \"$1.tmp\" \"$1\"\nwait\n");
	f->hooks[0].timeout_ms = 20000;
	f->hooks[0].max_attempts = 1;
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":1}"), 1);
	uint64_t id = s_last_delivery(f);
	json_t *before = s_outbox_get(f, "first", id);
	alerts_wake(alerts);
	char *text = NULL;
	for (int64_t until = s_mono_ms() + WAIT_MS; !text && s_mono_ms() < until; s_sleep_ms(10))
		text = s_file_read(f->outfile);
	assert_non_null(text);
	pid_t pids[2] = { 0, 0 };
	assert_int_equal(sscanf(text, "%d %d", &pids[0], &pids[1]), 2);
	free(text);

	int64_t start = s_mono_ms();
	alerts_stop(alerts);
	int64_t took = s_mono_ms() - start;
	if (took >= 2000)
		fail_msg("alerts_stop took %lld ms with a hanging hook", (long long)took);
	/* The hook and what it started (its process group) are killed. */
	assert_true(s_all_dead(pids, 2));
	json_t *after = s_outbox_get(f, "first", id);
	assert_non_null(after);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	alerts_destroy(&alerts);
}

/*
 * Stopping while a url hook's receiver has taken the connection but never answers (timeout
 * 20 s) aborts the transfer at once; the delivery stays as it was queued.
 */
static void test_stop_aborts_an_unanswered_post(void **state)
{
	fixture_t *f = *state;
	http_server_t srv;
	s_http_bind(&srv);
	/* Listening, never accepting: the kernel takes the connection and the request. */
	assert_int_equal(listen(srv.fd, 16), 0);
	s_url_hook(f, srv.port, NULL);
	f->hooks[0].timeout_ms = 20000;
	f->hooks[0].max_attempts = 1;
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":1}"), 1);
	uint64_t id = s_last_delivery(f);
	json_t *before = s_outbox_get(f, "first", id);
	alerts_wake(alerts);
	struct pollfd pfd = { srv.fd, POLLIN, 0 };
	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1); /* the hook has connected */
	s_sleep_ms(50);

	int64_t start = s_mono_ms();
	alerts_stop(alerts);
	int64_t took = s_mono_ms() - start;
	if (took >= 2000)
		fail_msg("alerts_stop took %lld ms with an unanswered request", (long long)took);
	json_t *after = s_outbox_get(f, "first", id);
	assert_non_null(after);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	alerts_destroy(&alerts);
	close(srv.fd);
	pthread_mutex_destroy(&srv.mutex);
}

static void test_exec_hook_missing_program(void **state)
{
	fixture_t *f = *state;
	char *argv[] = { "/nonexistent/incidentd-hook", NULL };
	f->hooks[0].exec_argv = argv;
	f->hooks[0].max_attempts = 2;
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":1}"), 1);
	alerts_wake(alerts);
	assert_true(s_outbox_empty(f));
	alerts_destroy(&alerts);
}

static void s_hmac_hex(const char *secret, const char *body, size_t len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body,
			     len, mac, &mac_len));
	assert_int_equal(mac_len, 32);
	for (unsigned int i = 0; i < mac_len; i++)
		sprintf(out + 2 * i, "%02x", mac[i]);
}

static void test_url_hook_retries_until_2xx(void **state)
{
	fixture_t *f = *state;
	http_server_t srv;
	s_http_bind(&srv);
	s_http_start(&srv, 2);
	s_url_hook(f, srv.port, "s3cret");
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);

	const char *body = "{\"seq\":9,\"topic\":\"breach.ack\",\"incident\":\"INC000000000003\"}";
	assert_int_equal(s_enqueue(f, "breach.ack", body), 1);
	alerts_wake(alerts);
	assert_true(s_outbox_empty(f));
	s_sleep_ms(100);
	alerts_destroy(&alerts);
	assert_int_equal(s_http_count(&srv), 3);

	char id[32];
	snprintf(id, sizeof id, "%llu", (unsigned long long)s_last_delivery(f));
	for (int i = 0; i < 3; i++) {
		const http_req_t *req = &srv.reqs[i];
		char value[256], expected[80] = "sha256=";
		assert_true(strncmp(req->head, "POST /alerts HTTP/1.1\r\n", 23) == 0);
		s_http_header(req, "X-Incidentd-Delivery", value, sizeof value);
		assert_string_equal(value, id);
		s_http_header(req, "X-Incidentd-Topic", value, sizeof value);
		assert_string_equal(value, "breach.ack");
		s_http_header(req, "Content-Type", value, sizeof value);
		assert_string_equal(value, "application/json");
		s_http_header(req, "X-Incidentd-Signature", value, sizeof value);
		s_hmac_hex("s3cret", req->body, req->body_len, expected + 7);
		assert_string_equal(value, expected);
		assert_int_equal(req->body_len, strlen(body));
		assert_string_equal(req->body, body);
	}
	s_http_stop(&srv);
}

static void test_url_hook_without_secret_is_unsigned(void **state)
{
	fixture_t *f = *state;
	http_server_t srv;
	s_http_bind(&srv);
	s_http_start(&srv, 0);
	s_url_hook(f, srv.port, NULL);
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);
	assert_int_equal(s_enqueue(f, "breach.ack", "{\"seq\":1}"), 1);
	alerts_wake(alerts);
	assert_true(s_outbox_empty(f));
	alerts_destroy(&alerts);
	assert_int_equal(s_http_count(&srv), 1);
	char value[256];
	s_http_header(&srv.reqs[0], "X-Incidentd-Signature", value, sizeof value);
	assert_string_equal(value, "");
	s_http_stop(&srv);
}

static void test_url_hook_retries_across_restart(void **state)
{
	fixture_t *f = *state;
	http_server_t srv;
	s_http_bind(&srv); /* bound, not listening: every attempt is refused */
	s_url_hook(f, srv.port, "k");
	f->hooks[0].max_attempts = 1000;
	f->hooks[0].max_backoff_ms = 50;
	alerts_t *alerts = s_alerts_start(f, NULL, NULL);
	const char *body = "{\"seq\":3}";
	assert_int_equal(s_enqueue(f, "breach.ack", body), 1);
	uint64_t id = s_last_delivery(f);
	alerts_wake(alerts);

	int64_t until = s_mono_ms() + WAIT_MS;
	json_int_t attempts = 0;
	while (attempts < 2 && s_mono_ms() < until) {
		json_t *e = s_outbox_get(f, "first", id);
		assert_non_null(e);
		attempts = json_integer_value(json_object_get(e, "attempts"));
		json_decref(e);
		s_sleep_ms(5);
	}
	assert_true(attempts >= 2);
	alerts_destroy(&alerts); /* the daemon stops */
	assert_null(alerts);
	assert_int_equal(s_outbox_count(f), 1);
	json_t *e = s_outbox_get(f, "first", id);
	assert_non_null(e);
	assert_true(json_integer_value(json_object_get(e, "attempts")) >= 2);
	json_decref(e);

	s_http_start(&srv, 0);
	alerts = s_alerts_start(f, NULL, NULL); /* and starts again */
	assert_true(s_outbox_empty(f));
	alerts_destroy(&alerts);
	assert_int_equal(s_http_count(&srv), 1);
	char value[64], expected[32];
	snprintf(expected, sizeof expected, "%llu", (unsigned long long)id);
	s_http_header(&srv.reqs[0], "X-Incidentd-Delivery", value, sizeof value);
	assert_string_equal(value, expected);
	assert_string_equal(srv.reqs[0].body, body);
	s_http_stop(&srv);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_with_no_hooks, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_exec_hook_gets_body_on_stdin, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_exec_hook_large_body, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_exec_hook_failing_gives_up, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_deliveries_counted_in_metrics, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_exec_hook_timeout_kills, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_give_up_after_ends_the_retries, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_stop_abandons_a_hanging_exec_hook, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_stop_aborts_an_unanswered_post, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_exec_hook_missing_program, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_url_hook_retries_until_2xx, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_url_hook_without_secret_is_unsigned, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_url_hook_retries_across_restart, s_setup,
						s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
