/*
 * The HTTP listener: the real daemon, real HTTP over 127.0.0.1. Every status of POST
 * /v1/events, tokens (missing, wrong, scoped to a provider, added by SIGHUP), batches, bad
 * input with nothing stored, a slow client that holds nobody up, /healthz and /readyz (a
 * stalled event loop, a stop that drains), HTTPS, and a plaintext listen beyond loopback
 * refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <zmq.h>

#include "checks.h"
#include "http_client.h"

#define OPS_TOKEN "ops-token-0123456789"
#define NORTH_TOKEN "north-token-0123456789"
#define VIEW_TOKEN "view-token-0123456789"
#define LATE_TOKEN "late-token-0123456789"
#define MAX_BODY 4096

typedef struct {
	h_daemon_t *d;
	int port;
	char url[128];
} s_fixture_t;

/* The config: an operator, a provider (csp-north) and a viewer token; extra is appended. */
static void s_config(int port, const char *extra, char *out, size_t len)
{
	char ops[65], north[65], view[65];
	hc_token_sha256(OPS_TOKEN, ops);
	hc_token_sha256(NORTH_TOKEN, north);
	hc_token_sha256(VIEW_TOKEN, view);
	snprintf(out, len,
		 "[daemon]\nmax_request_bytes = %d\n"
		 "[http]\nlisten = 127.0.0.1:%d\n"
		 "[client ops]\ntoken_sha256 = %s\nrole = operator\n"
		 "[client north-mon]\ntoken_sha256 = %s\nrole = provider\nproviders = csp-north\n"
		 "[client board]\ntoken_sha256 = %s\nrole = viewer\n%s",
		 MAX_BODY, port, ops, north, view, extra);
}

static int s_setup(void **state)
{
	s_fixture_t *f = calloc(1, sizeof *f);
	char conf[2048];
	f->port = h_free_port();
	s_config(f->port, "", conf, sizeof conf);
	f->d = h_new(conf);
	if (!f->d || h_start(f->d) < 0)
		return -1;
	*state = f;
	return 0;
}

/* Stops the daemon with SIGTERM: it must exit 0 (under ASan, with no leak report). */
static int s_teardown(void **state)
{
	s_fixture_t *f = *state;
	int rc = h_stop_clean(f->d);
	h_destroy(&f->d);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* POSTs body to path as token; the answer (status checked by the caller). */
static hc_answer_t s_post(s_fixture_t *f, const char *path, const char *token, const char *body)
{
	char url[256];
	hc_answer_t a;
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
	if (hc_request("POST", url, token, "application/json", body, strlen(body), 5000, &a) < 0)
		fail_msg("no answer to POST %s", path);
	return a;
}

static hc_answer_t s_get(s_fixture_t *f, const char *path)
{
	char url[256];
	hc_answer_t a;
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
	if (hc_request("GET", url, NULL, NULL, NULL, 0, 5000, &a) < 0)
		fail_msg("no answer to GET %s", path);
	return a;
}

/* Checks an answer's status and, for JSON answers, its error code (NULL: ok). */
#define CHECK_ANSWER(a, st, code) s_check_answer(&(a), (st), (code), __FILE__, __LINE__)
static json_t *s_check_answer(hc_answer_t *a, long status, const char *code, const char *file,
			      int line)
{
	if (a->status != status) {
		print_error("%s:%d: status %ld, expected %ld; body %s\n", file, line, a->status, status,
			    a->body);
		_fail(file, line);
	}
	json_t *r = json_loads(a->body, 0, NULL);
	if (!r) {
		print_error("%s:%d: not JSON: %s\n", file, line, a->body);
		_fail(file, line);
	}
	if (code)
		check_error_(r, code, NULL, file, line);
	else if (json_is_object(r))
		check_ok_(r, file, line);
	hc_answer_clear(a);
	return r;
}

#define EVENT(id, provider, extra) \
	"{\"provider\":\"" provider "\",\"event_id\":\"" id "\",\"ref\":\"R-" id "\"," \
	"\"stage\":\"detected\",\"category\":2,\"title\":\"t\"" extra "}"

static void test_health_and_paths(void **state)
{
	s_fixture_t *f = *state;
	hc_answer_t a = s_get(f, "/healthz");
	assert_int_equal(a.status, 200);
	hc_answer_clear(&a);
	a = s_get(f, "/readyz");
	assert_int_equal(a.status, 200);
	hc_answer_clear(&a);
	/* /metrics: the Prometheus text (tests/integration/test_metrics checks its families). */
	a = s_get(f, "/metrics");
	assert_int_equal(a.status, 200);
	assert_non_null(a.body);
	assert_non_null(strstr(a.body, "# TYPE incidentd_requests_total counter"));
	hc_answer_clear(&a);
	a = s_get(f, "/nothing");
	assert_int_equal(a.status, 404);
	hc_answer_clear(&a);
	a = s_get(f, "/v1/events");
	assert_int_equal(a.status, 404);
	hc_answer_clear(&a);
	h_pass(f->d);
}

static void test_tokens(void **state)
{
	s_fixture_t *f = *state;
	hc_answer_t a = s_post(f, "/v1/events", NULL, EVENT("t1", "csp-north", ""));
	assert_string_equal(a.www_authenticate, "Bearer realm=\"incidentd\"");
	json_decref(CHECK_ANSWER(a, 401, "unauthorized"));
	a = s_post(f, "/v1/events", "not-a-token", EVENT("t1", "csp-north", ""));
	assert_string_equal(a.www_authenticate, "Bearer realm=\"incidentd\"");
	json_decref(CHECK_ANSWER(a, 401, "unauthorized"));
	/* A provider token speaks for its providers only, and not as a user or the operator. */
	a = s_post(f, "/v1/events", NORTH_TOKEN, EVENT("t1", "csp-south", ""));
	json_decref(CHECK_ANSWER(a, 403, "forbidden"));
	a = s_post(f, "/v1/events", NORTH_TOKEN, EVENT("t1", "csp-north", ",\"source\":\"user\""));
	json_decref(CHECK_ANSWER(a, 403, "forbidden"));
	a = s_post(f, "/v1/events", VIEW_TOKEN, EVENT("t1", "csp-north", ""));
	json_decref(CHECK_ANSWER(a, 403, "forbidden"));
	assert_int_equal(h_status_count(f->d, "incidents"), 0);

	a = s_post(f, "/v1/events", NORTH_TOKEN, EVENT("t1", "csp-north", ",\"source\":\"monitoring\""));
	json_t *r = CHECK_ANSWER(a, 200, NULL);
	CHECK_FALSE(r, "duplicate");
	const char *inc = json_string_value(json_object_get(r, "incident"));
	assert_non_null(inc);
	/* The record names the client: `by` is the [client] NAME of the token. */
	json_t *got = h_requestf(f->d, "{s:s, s:s}", "op", "get", "incident", inc);
	CHECK_OK(got);
	json_t *entry = json_array_get(json_object_get(json_object_get(got, "incident"), "timeline"), 0);
	CHECK_STR(entry, "by", "north-mon");
	CHECK_STR(entry, "source", "monitoring");
	json_decref(got);
	json_decref(r);
	h_pass(f->d);
}

static void test_statuses(void **state)
{
	s_fixture_t *f = *state;
	hc_answer_t a = s_post(f, "/v1/events", OPS_TOKEN, EVENT("s1", "acme", ""));
	json_t *r = CHECK_ANSWER(a, 200, NULL);
	CHECK_FALSE(r, "duplicate");
	CHECK_STR(r, "status", "open");
	json_decref(r);
	a = s_post(f, "/v1/events", OPS_TOKEN, EVENT("s1", "acme", ""));
	r = CHECK_ANSWER(a, 200, NULL);
	CHECK_TRUE(r, "duplicate");
	json_decref(r);
	/* The same event_id with other content. */
	a = s_post(f, "/v1/events", OPS_TOKEN,
		   "{\"provider\":\"acme\",\"event_id\":\"s1\",\"ref\":\"R-s1\",\"stage\":\"notified\"}");
	json_decref(CHECK_ANSWER(a, 409, "conflict"));
	/* Reported times that go back along the order within one source. */
	a = s_post(f, "/v1/events", OPS_TOKEN,
		   "{\"provider\":\"acme\",\"event_id\":\"s2\",\"ref\":\"R-s1\",\"stage\":\"resolved\","
		   "\"at\":\"2000-01-01T00:00:00Z\"}");
	json_decref(CHECK_ANSWER(a, 409, "invalid_transition"));
	a = s_post(f, "/v1/events", OPS_TOKEN, "{\"provider\":\"acme\",\"event_id\":\"s3\"}");
	json_decref(CHECK_ANSWER(a, 400, "bad_request"));
	a = s_post(f, "/v1/events", OPS_TOKEN, "{\"provider\":");
	json_decref(CHECK_ANSWER(a, 400, "bad_json"));
	a = s_post(f, "/v1/events", OPS_TOKEN, "[1,2]");
	json_decref(CHECK_ANSWER(a, 400, "bad_request"));
	a = s_post(f, "/v1/events", OPS_TOKEN, EVENT("s4", "acme", ",\"op\":\"status\""));
	json_decref(CHECK_ANSWER(a, 400, "bad_request"));
	/* Wrong content type: 415, nothing read. */
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/events", f->port);
	const char *ev = EVENT("s5", "acme", "");
	assert_int_equal(hc_request("POST", url, OPS_TOKEN, "text/plain", ev, strlen(ev), 5000, &a), 0);
	json_decref(CHECK_ANSWER(a, 415, "bad_request"));
	assert_int_equal(hc_request("POST", url, OPS_TOKEN, NULL, ev, strlen(ev), 5000, &a), 0);
	json_decref(CHECK_ANSWER(a, 415, "bad_request"));
	assert_int_equal(hc_request("PUT", url, OPS_TOKEN, "application/json", ev, strlen(ev), 5000,
				    &a), 0);
	assert_int_equal(a.status, 405);
	hc_answer_clear(&a);
	assert_int_equal(h_status_count(f->d, "incidents"), 1);
	h_pass(f->d);
}

static void test_batch(void **state)
{
	s_fixture_t *f = *state;
	hc_answer_t a = s_post(f, "/v1/events", OPS_TOKEN,
			       "{\"events\":[" EVENT("b1", "acme", "") "," EVENT("b2", "acme", "") ","
			       "{\"provider\":\"acme\",\"event_id\":\"b3\",\"ref\":\"R\","
			       "\"stage\":\"nope\"}," EVENT("b1", "acme", "") "]}");
	json_t *r = CHECK_ANSWER(a, 200, NULL);
	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 4);
	CHECK_OK(json_array_get(r, 0));
	CHECK_OK(json_array_get(r, 1));
	CHECK_ERROR(json_array_get(r, 2), "bad_request", "stage");
	CHECK_TRUE(json_array_get(r, 3), "duplicate");
	json_decref(r);
	a = s_post(f, "/v1/events", OPS_TOKEN, "{\"events\":[]}");
	json_decref(CHECK_ANSWER(a, 400, "bad_request"));
	a = s_post(f, "/v1/events", OPS_TOKEN, "{\"events\":[1]}");
	json_decref(CHECK_ANSWER(a, 400, "bad_request"));
	assert_int_equal(h_status_count(f->d, "incidents"), 2);
	h_pass(f->d);
}

/* A body over max_request_bytes: 413, whether its length is announced or not; nothing stored. */
static void test_too_large(void **state)
{
	s_fixture_t *f = *state;
	size_t n = 10 * MAX_BODY;
	char *big = malloc(n + 1);
	int len = snprintf(big, n, "{\"provider\":\"acme\",\"event_id\":\"big\",\"ref\":\"R\","
			   "\"stage\":\"detected\",\"category\":2,\"title\":\"");
	memset(big + len, 'x', n - (size_t)len - 2);
	memcpy(big + n - 2, "\"}", 3);
	hc_answer_t a = s_post(f, "/v1/events", OPS_TOKEN, big);
	json_decref(CHECK_ANSWER(a, 413, "too_large"));
	free(big);
	/* Chunked: no length ahead, the limit found while reading. */
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/events", f->port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	const char *head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " OPS_TOKEN
			   "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_true(write(fd, head, strlen(head)) > 0);
	char chunk[1100];
	memset(chunk, ' ', sizeof chunk);
	memcpy(chunk, "400\r\n", 5);
	memcpy(chunk + 5 + 1024, "\r\n", 2);
	for (int i = 0; i < 6; i++)
		assert_true(write(fd, chunk, 5 + 1024 + 2) > 0);
	assert_true(write(fd, "0\r\n\r\n", 5) > 0);
	char reply[512] = "";
	ssize_t got = read(fd, reply, sizeof reply - 1);
	close(fd);
	assert_true(got > 12);
	if (strncmp(reply, "HTTP/1.1 413", 12) != 0)
		fail_msg("chunked body over the limit: %s", reply);
	assert_int_equal(h_status_count(f->d, "incidents"), 0);
	h_pass(f->d);
}

/* A client trickling its body byte by byte holds no other client up. */
static void test_slow_client(void **state)
{
	s_fixture_t *f = *state;
	const char *body = EVENT("slow", "acme", "");
	char head[512];
	snprintf(head, sizeof head, "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
		 OPS_TOKEN "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		 strlen(body));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_true(write(fd, head, strlen(head)) > 0);
	size_t sent = 0, half = strlen(body) / 2;
	for (; sent < half; sent++) {
		assert_int_equal(write(fd, body + sent, 1), 1);
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
	/* Meanwhile another client is answered at once. */
	int64_t t0 = h_mono_ms();
	hc_answer_t a = s_post(f, "/v1/events", OPS_TOKEN, EVENT("fast", "acme", ""));
	json_decref(CHECK_ANSWER(a, 200, NULL));
	a = s_get(f, "/healthz");
	assert_int_equal(a.status, 200);
	hc_answer_clear(&a);
	int64_t took = h_mono_ms() - t0;
	if (took > 1000)
		fail_msg("another client waited %lld ms behind the slow one", (long long)took);
	for (; sent < strlen(body); sent++) {
		assert_int_equal(write(fd, body + sent, 1), 1);
		struct timespec ts = { 0, 5 * 1000000 };
		nanosleep(&ts, NULL);
	}
	char reply[1024] = "";
	ssize_t got = read(fd, reply, sizeof reply - 1);
	close(fd);
	assert_true(got > 12);
	if (strncmp(reply, "HTTP/1.1 200", 12) != 0 || !strstr(reply, "\"ok\":true"))
		fail_msg("the slow client's answer: %s", reply);
	assert_int_equal(h_status_count(f->d, "incidents"), 2);
	h_pass(f->d);
}

/* SIGHUP adds a token (refused before, taken after) and removes it, without a restart. */
static void test_reload_adds_token(void **state)
{
	s_fixture_t *f = *state;
	hc_answer_t a = s_post(f, "/v1/events", LATE_TOKEN, EVENT("late", "acme", ""));
	json_decref(CHECK_ANSWER(a, 401, "unauthorized"));
	char late[65], extra[256], conf[2048];
	hc_token_sha256(LATE_TOKEN, late);
	snprintf(extra, sizeof extra, "[client late]\ntoken_sha256 = %s\nrole = operator\n", late);
	s_config(f->port, extra, conf, sizeof conf);
	assert_int_equal(h_write_file(f->d, "incidentd.conf", conf, NULL), 0);
	assert_int_equal(kill(f->d->pid, SIGHUP), 0);
	for (int64_t until = h_mono_ms() + 5000; h_log_count(f->d, "reload: ") < 1;) {
		if (h_mono_ms() > until)
			fail_msg("no reload line in the log after SIGHUP");
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	a = s_post(f, "/v1/events", LATE_TOKEN, EVENT("late", "acme", ""));
	json_decref(CHECK_ANSWER(a, 200, NULL));
	/* A reload without it: its next request is refused. */
	s_config(f->port, "", conf, sizeof conf);
	assert_int_equal(h_write_file(f->d, "incidentd.conf", conf, NULL), 0);
	assert_int_equal(kill(f->d->pid, SIGHUP), 0);
	for (int64_t until = h_mono_ms() + 5000; h_log_count(f->d, "reload: ") < 2;) {
		if (h_mono_ms() > until)
			fail_msg("no second reload line in the log after SIGHUP");
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	a = s_post(f, "/v1/events", LATE_TOKEN, EVENT("late2", "acme", ""));
	json_decref(CHECK_ANSWER(a, 401, "unauthorized"));
	h_pass(f->d);
}

/* /readyz turns 503 while the daemon stops; a stopped daemon answers nothing, and exits 0. */
static void test_stop(void **state)
{
	s_fixture_t *f = *state;
	hc_answer_t a = s_post(f, "/v1/events", OPS_TOKEN, EVENT("st", "acme", ""));
	json_decref(CHECK_ANSWER(a, 200, NULL));
	assert_int_equal(h_stop(f->d), 0);
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", f->port);
	assert_int_equal(hc_request("GET", url, NULL, NULL, NULL, 0, 1000, &a), -1);
	hc_answer_clear(&a);
	h_pass(f->d);
}

/*
 * Polls GET path every 100 ms until it answers status, for at most timeout_ms. Returns the
 * milliseconds it took, or -1 (the last status seen in *last).
 */
static long s_wait_status(s_fixture_t *f, const char *path, long status, int timeout_ms,
			  long *last)
{
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
	int64_t start = h_mono_ms();
	*last = 0;
	do {
		hc_answer_t a;
		if (hc_request("GET", url, NULL, NULL, NULL, 0, 1000, &a) == 0) {
			*last = a.status;
			hc_answer_clear(&a);
			if (*last == status)
				return (long)(h_mono_ms() - start);
		}
		usleep(100 * 1000);
	} while (h_mono_ms() - start < timeout_ms);
	return -1;
}

/*
 * /healthz turns 503 while the event loop is stuck and 200 once it turns again. The stall is
 * real: the config file becomes a FIFO and SIGHUP makes the loop thread reload it, so the
 * loop blocks in open() until the test writes the config into the FIFO (as a config on a hung
 * network mount would hold it). /healthz is answered off the loop, from the heartbeat's age.
 */
static void test_healthz_stalled_loop(void **state)
{
	s_fixture_t *f = *state;
	long last;
	assert_true(s_wait_status(f, "/healthz", 200, 1000, &last) >= 0);
	char text[4096];
	FILE *in = fopen(f->d->conf, "r");
	assert_non_null(in);
	size_t len = fread(text, 1, sizeof text, in);
	fclose(in);
	assert_true(len > 0 && len < sizeof text);
	assert_int_equal(unlink(f->d->conf), 0);
	assert_int_equal(mkfifo(f->d->conf, 0600), 0);
	assert_int_equal(kill(f->d->pid, SIGHUP), 0);
	/* The heartbeat's limit is 5 s: 503 within it and a margin, never before the loop hangs. */
	long took = s_wait_status(f, "/healthz", 503, 9000, &last);
	if (took < 0)
		fail_msg("/healthz still %ld with the event loop blocked", last);
	hc_answer_t a = s_get(f, "/healthz");
	assert_int_equal(a.status, 503);
	assert_string_equal(a.body, "event loop stalled\n");
	hc_answer_clear(&a);
	/* The loop is blocked on the FIFO: a writer finds its reader at once. */
	int fd = open(f->d->conf, O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		fail_msg("the daemon is not reading the FIFO: %s", strerror(errno));
	assert_int_equal(fcntl(fd, F_SETFL, 0), 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	took = s_wait_status(f, "/healthz", 200, 3000, &last);
	if (took < 0)
		fail_msg("/healthz still %ld after the event loop was released", last);
	assert_int_equal(h_log_wait(f->d, "reload: ", 2000), 0);
	assert_int_equal(unlink(f->d->conf), 0);
	h_pass(f->d);
}

/*
 * Holds LMDB's write lock from this process, as another writer of the environment would, so
 * that the daemon's writer waits in mdb_txn_begin() until s_write_lock_release().
 */
static MDB_env *s_write_lock_take(const char *data_dir, MDB_txn **txn)
{
	MDB_env *env = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
	assert_int_equal(mdb_env_open(env, data_dir, MDB_NOTLS, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, txn), 0);
	return env;
}

static void s_write_lock_release(MDB_env *env, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/*
 * /readyz: 200 once the store is open, and 200 while a commit is slow; 503 from SIGTERM on,
 * while the daemon drains (its writer still has an accepted event to commit), and the event
 * is still committed and answered before the daemon exits 0.
 */
static void test_readyz_while_draining(void **state)
{
	s_fixture_t *f = *state;
	long last;
	assert_true(s_wait_status(f, "/readyz", 200, 1000, &last) >= 0);
	MDB_txn *txn;
	MDB_env *env = s_write_lock_take(f->d->data_dir, &txn);
	void *dealer = h_socket(f->d, ZMQ_DEALER);
	const char *ev = "{\"op\":\"event\",\"provider\":\"acme\",\"event_id\":\"drain\","
			 "\"ref\":\"R-drain\",\"stage\":\"detected\",\"category\":2,\"title\":\"t\"}";
	assert_int_equal(zmq_send(dealer, ev, strlen(ev), 0), (int)strlen(ev));
	/*
	 * A status request behind it on the same connection is answered at once (reads do not
	 * wait for the writer), and only after the event was taken in: then the event is surely
	 * the writer's before the stop, not refused by a daemon already stopping.
	 */
	const char *st = "{\"op\":\"status\",\"id\":\"behind\"}";
	assert_int_equal(zmq_send(dealer, st, strlen(st), 0), (int)strlen(st));
	char first[1024];
	int wait_ms = H_REPLY_TIMEOUT_MS;
	zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &wait_ms, sizeof wait_ms);
	int got = zmq_recv(dealer, first, sizeof first - 1, 0);
	assert_true(got > 0);
	first[got] = '\0';
	assert_non_null(strstr(first, "\"behind\""));
	/* The writer now waits for the lock: not a reason to be unready. */
	assert_true(s_wait_status(f, "/readyz", 200, 1000, &last) >= 0);
	assert_int_equal(kill(f->d->pid, SIGTERM), 0);
	long took = s_wait_status(f, "/readyz", 503, 5000, &last);
	if (took < 0) {
		s_write_lock_release(env, txn);
		fail_msg("/readyz still %ld while the daemon drains", last);
	}
	hc_answer_t a = s_get(f, "/readyz");
	assert_int_equal(a.status, 503);
	assert_string_equal(a.body, "stopping\n");
	hc_answer_clear(&a);
	assert_int_equal(h_wait_exit(f->d, 0), -1); /* still draining */
	s_write_lock_release(env, txn);
	char reply[1024];
	int timeout = H_REPLY_TIMEOUT_MS;
	zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	int n = zmq_recv(dealer, reply, sizeof reply - 1, 0);
	assert_true(n > 0);
	reply[n] = '\0';
	json_t *r = json_loads(reply, 0, NULL);
	CHECK_OK(r);
	json_decref(r);
	h_close(f->d, dealer);
	assert_int_equal(h_wait_exit(f->d, H_STOP_TIMEOUT_MS), 0);
	h_pass(f->d);
}

/* HTTPS with tls_cert/tls_key (a self-signed pair made here); plaintext beyond loopback refused. */
static void test_tls_and_plaintext(void **state)
{
	(void)state;
	h_daemon_t *d = h_new(NULL);
	assert_non_null(d);
	char *gen[] = {(char *)"/usr/bin/openssl", (char *)"req", (char *)"-x509", (char *)"-newkey",
		       (char *)"rsa:2048", (char *)"-nodes", (char *)"-subj", (char *)"/CN=127.0.0.1",
		       (char *)"-days", (char *)"1", (char *)"-keyout", (char *)"http.key",
		       (char *)"-out", (char *)"http.crt", NULL};
	h_run_t run;
	assert_int_equal(h_run(d->dir, gen, NULL, 30000, &run), 0);
	assert_int_equal(run.status, 0);
	h_run_clear(&run);
	int port = h_free_port();
	char conf[1024], ops[65];
	hc_token_sha256(OPS_TOKEN, ops);
	snprintf(conf, sizeof conf, "[http]\nlisten = 127.0.0.1:%d\ntls_cert = %s/http.crt\n"
		 "tls_key = %s/http.key\n[client ops]\ntoken_sha256 = %s\nrole = operator\n",
		 port, d->dir, d->dir, ops);
	assert_int_equal(h_write_file(d, "incidentd.conf", conf, d->conf), 0);
	assert_int_equal(h_start(d), 0);
	char url[128];
	hc_answer_t a;
	const char *ev = EVENT("tls", "acme", "");
	snprintf(url, sizeof url, "https://127.0.0.1:%d/v1/events", port);
	assert_int_equal(hc_request("POST", url, OPS_TOKEN, "application/json", ev, strlen(ev), 5000,
				    &a), 0);
	json_decref(CHECK_ANSWER(a, 200, NULL));
	/* Plain HTTP on the TLS port gets no answer. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
	hc_request("GET", url, NULL, NULL, NULL, 0, 2000, &a);
	assert_int_not_equal(a.status, 200);
	hc_answer_clear(&a);
	assert_int_equal(h_stop(d), 0);

	/* A listen beyond loopback without TLS: refused at start, naming it. */
	snprintf(conf, sizeof conf, "[http]\nlisten = 0.0.0.0:%d\n", port);
	assert_int_equal(h_write_file(d, "plain.conf", conf, NULL), 0);
	char *check[] = {(char *)INCIDENTD_BIN, (char *)"-c", (char *)"plain.conf",
			 (char *)"--check-config", NULL};
	assert_int_equal(h_run(d->dir, check, NULL, 10000, &run), 0);
	assert_int_equal(run.status, 1);
	if (!strstr(run.out, "http listen 0.0.0.0:") || !strstr(run.out, "no tls_cert"))
		fail_msg("unexpected --check-config output: %s", run.out);
	h_run_clear(&run);
	h_pass(d);
	h_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_health_and_paths, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_tokens, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_statuses, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_batch, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_too_large, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_slow_client, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_reload_adds_token, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_stop, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_healthz_stalled_loop, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_readyz_while_draining, s_setup, s_teardown),
		cmocka_unit_test(test_tls_and_plaintext),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
