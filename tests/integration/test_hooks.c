/*
 * Alert hooks against the real daemon: an exec hook gets the published breach on stdin; a url
 * hook's receiver (a small HTTP server in this process, on 127.0.0.1) gets each alert with one
 * delivery id across retries and a valid HMAC signature, also when it fails its first attempts
 * or is down across a daemon restart, and nothing more once it has answered 2xx.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "checks.h"

#define SECRET "s3cret"
#define MAX_REQUESTS 32

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* What the receiver saw of one request, and what it answered. */
typedef struct {
	char method[16];
	char path[128];
	char delivery[64];   /* X-Incidentd-Delivery, "" when absent */
	char signature[160]; /* X-Incidentd-Signature, "" when absent */
	char *body;          /* NUL-terminated */
	size_t body_len;
	int64_t at_ms;       /* wall clock when the whole request was read */
	int status;          /* the status answered */
} s_request_t;

/*
 * A one-connection-at-a-time HTTP/1.1 receiver: answers 500 to the first fail_first requests,
 * then 200, each with Connection: close.
 */
typedef struct {
	int fd;      /* bound to 127.0.0.1:port; listening once s_server_start() ran */
	int port;
	int fail_first;
	pthread_t thread;
	bool bound;   /* s_server_bind() ran: s_server_stop() has something to undo */
	bool running;
	atomic_bool stop;
	pthread_mutex_t mutex;
	s_request_t req[MAX_REQUESTS];
	int n;
} s_server_t;

/* Binds a TCP socket to 127.0.0.1 on an ephemeral port, without listening yet. 0 or -1. */
static int s_server_bind(s_server_t *s, int fail_first)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mutex, NULL);
	s->bound = true;
	s->fail_first = fail_first;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	if (bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	s->port = ntohs(a.sin_port);
	return 0;
}

/* Case-insensitive: the value of header name in the header block, copied into out. */
static void s_header(const char *head, const char *name, char *out, size_t size)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *end = strstr(v, "\r\n");
			size_t n = end != NULL ? (size_t)(end - v) : strlen(v);
			snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), v);
			return;
		}
	}
}

/* Reads one request from conn (bounded by its receive timeout). 0 or -1. */
static int s_read_request(int conn, s_request_t *r)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	char *end = NULL;
	long body_len = -1;
	while (buf != NULL) {
		ssize_t n = recv(conn, buf + len, cap - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			char cl[32];
			*end = '\0';
			s_header(buf, "Content-Length", cl, sizeof cl);
			body_len = cl[0] != '\0' ? strtol(cl, NULL, 10) : 0;
		}
		if (end != NULL && (long)(len - (size_t)(end + 4 - buf)) >= body_len)
			break;
		if (len == cap)
			break;
	}
	if (buf == NULL || end == NULL || body_len < 0 ||
	    (long)(len - (size_t)(end + 4 - buf)) < body_len) {
		free(buf);
		return -1;
	}
	sscanf(buf, "%15s %127s", r->method, r->path);
	s_header(buf, "X-Incidentd-Delivery", r->delivery, sizeof r->delivery);
	s_header(buf, "X-Incidentd-Signature", r->signature, sizeof r->signature);
	r->body_len = (size_t)body_len;
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = '\0';
	r->at_ms = h_now_ms();
	free(buf);
	return 0;
}

static void s_serve_one(s_server_t *s, int conn)
{
	struct timeval tv = {2, 0};
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	s_request_t r;
	memset(&r, 0, sizeof r);
	if (s_read_request(conn, &r) < 0)
		return;
	pthread_mutex_lock(&s->mutex);
	r.status = s->n < s->fail_first ? 500 : 200;
	bool kept = s->n < MAX_REQUESTS;
	if (kept)
		s->req[s->n] = r;
	s->n++;
	pthread_mutex_unlock(&s->mutex);
	if (!kept)
		free(r.body);
	char reply[160];
	int n = snprintf(reply, sizeof reply,
			 "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			 r.status, r.status == 200 ? "OK" : "Internal Server Error");
	if (send(conn, reply, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static void *s_server_main(void *arg)
{
	s_server_t *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = {s->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int conn = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		s_serve_one(s, conn);
		close(conn);
	}
	return NULL;
}

/* Starts listening and serving on the bound socket. 0 or -1. */
static int s_server_start(s_server_t *s)
{
	if (listen(s->fd, 16) < 0)
		return -1;
	if (pthread_create(&s->thread, NULL, s_server_main, s) != 0)
		return -1;
	s->running = true;
	return 0;
}

/* Stops the thread, closes the socket and frees what was recorded. Accepts a stopped one. */
static void s_server_stop(s_server_t *s)
{
	if (!s->bound)
		return;
	if (s->running) {
		atomic_store(&s->stop, true);
		pthread_join(s->thread, NULL);
		s->running = false;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	for (int i = 0; i < s->n && i < MAX_REQUESTS; i++)
		free(s->req[i].body);
	s->n = 0;
	pthread_mutex_destroy(&s->mutex);
	s->bound = false;
}

static int s_server_count(s_server_t *s)
{
	pthread_mutex_lock(&s->mutex);
	int n = s->n;
	pthread_mutex_unlock(&s->mutex);
	return n;
}

/* Waits up to timeout_ms until the receiver has seen at least n requests; returns the count. */
static int s_server_wait(s_server_t *s, int n, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	int got;
	while ((got = s_server_count(s)) < n && h_mono_ms() < deadline)
		s_sleep_ms(20);
	return got;
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
static void s_check_request(const s_request_t *r, const char *breach)
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

static s_server_t s_server;

static int teardown_hooks(void **state)
{
	h_daemon_t *d = *state;
	h_destroy(&d);
	*state = NULL;
	s_server_stop(&s_server);
	return 0;
}

/*
 * A receiver that answers 500 twice, then 200: three requests within 10 s, after the backoff
 * (100 ms, then 200 ms), one delivery id, a valid signature over each body; then no more.
 */
static void test_url_hook_retries_until_success(void **state)
{
	assert_int_equal(s_server_bind(&s_server, 2), 0);
	assert_int_equal(s_server_start(&s_server), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "secret = " SECRET "\n"
				      "timeout = 2s\n"
				      "backoff = 100ms\n"
				      "max_backoff = 1s\n",
				      s_server.port);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "u1", breach, incident);
	int n = s_server_wait(&s_server, 3, 10000);
	if (n < 3)
		fail_msg("the receiver got %d requests within 10 s, expected 3 (500, 500, 200)", n);
	s_sleep_ms(1000);
	n = s_server_count(&s_server);
	if (n != 3)
		fail_msg("%d requests; after the 200 nothing more should come", n);
	for (int i = 0; i < 3; i++) {
		s_request_t *r = &s_server.req[i];
		s_check_request(r, breach);
		if (strcmp(r->delivery, s_server.req[0].delivery) != 0)
			fail_msg("delivery id %s on attempt %d, %s on the first", r->delivery, i + 1,
				 s_server.req[0].delivery);
		if (r->body_len != s_server.req[0].body_len ||
		    memcmp(r->body, s_server.req[0].body, r->body_len) != 0)
			fail_msg("a retry sent another body: %s vs %s", r->body,
				 s_server.req[0].body);
	}
	/* The first retry waits the backoff, the second twice it. */
	int64_t gap1 = s_server.req[1].at_ms - s_server.req[0].at_ms;
	int64_t gap2 = s_server.req[2].at_ms - s_server.req[1].at_ms;
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
	assert_int_equal(s_server_bind(&s_server, 0), 0);
	h_daemon_t *d = s_daemon_with("[hook web]\n"
				      "url = http://127.0.0.1:%d/alerts\n"
				      "secret = " SECRET "\n"
				      "timeout = 2s\n"
				      "backoff = 100ms\n"
				      "max_backoff = 300ms\n"
				      "max_attempts = 1000\n",
				      s_server.port);
	assert_non_null(d);
	*state = d;
	assert_int_equal(h_start(d), 0);
	char breach[32], incident[32];
	s_breach_on_arrival(d, "down1", breach, incident);
	s_sleep_ms(1000); /* some attempts fail meanwhile */
	assert_int_equal(h_stop(d), 0);

	assert_int_equal(s_server_start(&s_server), 0);
	assert_int_equal(h_start(d), 0);
	int n = s_server_wait(&s_server, 1, 10000);
	if (n < 1)
		fail_msg("the alert did not arrive within 10 s of the restart");
	s_sleep_ms(1000);
	n = s_server_count(&s_server);
	if (n != 1)
		fail_msg("%d requests; the 200 should end the delivery", n);
	s_check_request(&s_server.req[0], breach);

	/* Delivered is delivered: another restart sends nothing. */
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	s_sleep_ms(1000);
	n = s_server_count(&s_server);
	if (n != 1)
		fail_msg("%d requests after another restart, expected still 1", n);
	h_pass(d);
}

static int setup_none(void **state)
{
	*state = NULL;
	memset(&s_server, 0, sizeof s_server);
	s_server.fd = -1;
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
	};
	return cmocka_run_group_tests_name("integration/hooks", tests, NULL, NULL);
}
