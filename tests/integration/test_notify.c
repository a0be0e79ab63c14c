/*
 * systemd's notify protocol (sd_notify(3)) as the service manager sees it: the test binds the
 * datagram socket systemd would, passes it to the real daemon as NOTIFY_SOCKET, and reads what
 * arrives. READY=1 only once the API is bound and answers, with STATUS= lines on the way;
 * WATCHDOG=1 repeatedly when WATCHDOG_USEC is set; RELOADING=1 and READY=1 around SIGHUP;
 * STOPPING=1 on SIGTERM. Every message comes from the daemon's own pid (NotifyAccess=main).
 */
#include "checks.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#define RX_MAX 256
#define RX_LEN 512

/* The test's end of NOTIFY_SOCKET and every message received on it, in order. */
typedef struct {
	int fd;
	char path[H_PATH_MAX];
	char msg[RX_MAX][RX_LEN];
	pid_t pid[RX_MAX]; /* the sender's pid, from SCM_CREDENTIALS */
	int n;
} notify_rx_t;

/* Binds DIR/notify and makes it the daemon's NOTIFY_SOCKET from its next start. */
static void s_rx_open(h_daemon_t *d, notify_rx_t *rx)
{
	memset(rx, 0, sizeof *rx);
	snprintf(rx->path, sizeof rx->path, "%s/notify", d->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(rx->path) < sizeof sa.sun_path);
	memcpy(sa.sun_path, rx->path, strlen(rx->path) + 1);
	rx->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(rx->fd >= 0);
	int on = 1;
	assert_int_equal(setsockopt(rx->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
	assert_int_equal(bind(rx->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(h_setenv(d, "NOTIFY_SOCKET", rx->path), 0);
}

/* Receives one message into rx within timeout_ms. Returns its index, or -1 on timeout. */
static int s_rx_recv(notify_rx_t *rx, int timeout_ms)
{
	struct pollfd p = {.fd = rx->fd, .events = POLLIN};
	if (rx->n == RX_MAX || poll(&p, 1, timeout_ms) != 1)
		return -1;
	char buf[RX_LEN];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf - 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
			   .msg_controllen = sizeof ctl};
	ssize_t len = recvmsg(rx->fd, &m, 0);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	int i = rx->n++;
	snprintf(rx->msg[i], RX_LEN, "%s", buf);
	rx->pid[i] = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			rx->pid[i] = cred.pid;
		}
	return i;
}

/* True when a line of message i of rx starts with prefix. */
static bool s_rx_has(const notify_rx_t *rx, int i, const char *prefix)
{
	for (const char *line = rx->msg[i]; *line != '\0';) {
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return true;
		const char *nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return false;
}

/* The first message received so far, from index from on, with a line starting with prefix; -1. */
static int s_rx_find(const notify_rx_t *rx, int from, const char *prefix)
{
	for (int i = from; i < rx->n; i++)
		if (s_rx_has(rx, i, prefix))
			return i;
	return -1;
}

/*
 * Receives until a message with a line starting with prefix arrives (or one already did, at
 * from or later), within timeout_ms. Returns its index, or -1 after printing what did arrive.
 */
static int s_rx_wait(notify_rx_t *rx, int from, const char *prefix, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	int i = s_rx_find(rx, from, prefix);
	while (i < 0 && h_mono_ms() < deadline) {
		int got = s_rx_recv(rx, (int)(deadline - h_mono_ms()));
		if (got < 0)
			break;
		if (got >= from && s_rx_has(rx, got, prefix))
			i = got;
	}
	if (i < 0) {
		print_error("no notification with \"%s\" within %d ms; received:\n", prefix,
			    timeout_ms);
		for (int k = 0; k < rx->n; k++)
			print_error("  [%d] pid %d: %s\n", k, (int)rx->pid[k], rx->msg[k]);
	}
	return i;
}

/* Every message received so far came from pid. */
static void s_rx_all_from(const notify_rx_t *rx, pid_t pid)
{
	for (int i = 0; i < rx->n; i++)
		if (rx->pid[i] != pid)
			fail_msg("message %d (%s) came from pid %d, not the daemon's %d", i, rx->msg[i],
				 (int)rx->pid[i], (int)pid);
}

/* Each test's daemon (not started) and notify socket, released by the teardown. */
typedef struct {
	h_daemon_t *d;
	notify_rx_t rx;
} fixture_t;

static int setup_fixture(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	f->rx.fd = -1;
	f->d = h_new(h_default_config);
	if (f->d == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_fixture(void **state)
{
	fixture_t *f = *state;
	h_destroy(&f->d);
	if (f->rx.fd >= 0)
		close(f->rx.fd);
	free(f);
	return 0;
}

static void *s_start_thread(void *arg)
{
	h_daemon_t *d = arg;
	return (void *)(intptr_t)h_start(d);
}

/* One status request on a socket of the test's own, answered within timeout_ms; its reply. */
static json_t *s_status_now(h_daemon_t *d, int timeout_ms)
{
	void *s = zmq_socket(d->zctx, ZMQ_DEALER);
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
	json_t *reply = NULL;
	char buf[4096];
	if (zmq_connect(s, d->api) == 0 && zmq_send(s, "{\"op\":\"status\"}", 15, 0) == 15) {
		int len = zmq_recv(s, buf, sizeof buf - 1, 0);
		if (len > 0 && len < (int)sizeof buf) {
			buf[len] = '\0';
			reply = json_loads(buf, 0, NULL);
		}
	}
	zmq_close(s);
	return reply;
}

/*
 * READY=1 comes once the daemon's API socket is bound and answers, its store is open (the
 * status counts what it holds) and not before the start-up STATUS= lines. The daemon is started
 * on a thread while this one waits on NOTIFY_SOCKET, so that READY=1 is seen as it arrives.
 */
static void test_ready_once_serving(void **state)
{
	fixture_t *f = *state;
	h_daemon_t *d = f->d;
	/* A first run without NOTIFY_SOCKET: the daemon works as ever, and stores two incidents. */
	assert_int_equal(h_start(d), 0);
	for (int i = 0; i < 2; i++) {
		char eid[16], ref[16];
		snprintf(eid, sizeof eid, "e%d", i);
		snprintf(ref, sizeof ref, "r%d", i);
		json_t *ev = h_event("acme", eid, ref, "detected");
		json_object_set_new(ev, "category", json_integer(3));
		json_object_set_new(ev, "title", json_string("disk full"));
		PUSH_OK(d, ev, NULL);
	}
	assert_int_equal(h_stop(d), 0);

	notify_rx_t *rx = &f->rx;
	s_rx_open(d, rx);
	/* Whatever the first run left, the socket file must be this run's when READY=1 comes. */
	const char *api_path = d->api + strlen("ipc://");
	unlink(api_path);
	pthread_t starter;
	assert_int_equal(pthread_create(&starter, NULL, s_start_thread, d), 0);
	int ready = s_rx_wait(rx, 0, "READY=1", H_START_TIMEOUT_MS);
	/* At this moment, not later: the ipc socket exists and a request is answered. */
	struct stat st;
	bool bound = stat(api_path, &st) == 0 && S_ISSOCK(st.st_mode);
	json_t *status = ready >= 0 ? s_status_now(d, 2000) : NULL;
	void *started;
	pthread_join(starter, &started);
	assert_int_equal((intptr_t)started, 0);
	assert_true(ready >= 0);
	assert_true(bound);
	CHECK_OK(status);
	CHECK_INT(status, "incidents", 2);
	json_decref(status);

	int opening = s_rx_find(rx, 0, "STATUS=starting: opening the store");
	int binding = s_rx_find(rx, 0, "STATUS=starting: binding sockets");
	assert_true(opening >= 0 && opening < binding && binding < ready);
	assert_true(s_rx_has(rx, ready, "STATUS=ready: 2 incidents (2 open), 2 pending deadlines"));
	char api_on[H_PATH_MAX + 16];
	snprintf(api_on, sizeof api_on, "API on %s", d->api);
	assert_non_null(strstr(rx->msg[ready], api_on));
	assert_int_equal(s_rx_find(rx, 0, "READY=1"), ready); /* once */
	/* No WatchdogSec, no WATCHDOG=1. */
	while (s_rx_recv(rx, 600) >= 0)
		;
	assert_int_equal(s_rx_find(rx, 0, "WATCHDOG=1"), -1);
	s_rx_all_from(rx, d->pid);
	h_pass(d);
}

/*
 * WATCHDOG_USEC set (without WATCHDOG_PID, as sd_watchdog_enabled accepts): WATCHDOG=1 at half
 * the interval from the event loop, for as long as the daemon runs; a WATCHDOG_PID naming
 * another process turns it off.
 */
static void test_watchdog(void **state)
{
	fixture_t *f = *state;
	h_daemon_t *d = f->d;
	notify_rx_t *rx = &f->rx;
	s_rx_open(d, rx);
	assert_int_equal(h_setenv(d, "WATCHDOG_USEC", "400000"), 0);
	assert_int_equal(h_start(d), 0);
	int ready = s_rx_wait(rx, 0, "READY=1", 2000);
	assert_true(ready >= 0);
	/* 200 ms apart: about 10 in 2 s; a busy machine may delay some, none comes early. */
	int64_t until = h_mono_ms() + 2000;
	while (h_mono_ms() < until && s_rx_recv(rx, (int)(until - h_mono_ms())) >= 0)
		;
	int pings = 0;
	for (int i = ready; i < rx->n; i++)
		pings += s_rx_has(rx, i, "WATCHDOG=1");
	if (pings < 5 || pings > 12)
		fail_msg("%d WATCHDOG=1 in 2 s with WATCHDOG_USEC=400000 (expected about 10)", pings);
	/* Still pinging while requests are served. */
	json_t *r = h_requestf(d, "{s:s}", "op", "status");
	CHECK_OK(r);
	json_decref(r);
	assert_true(s_rx_wait(rx, rx->n, "WATCHDOG=1", 1000) >= 0);
	s_rx_all_from(rx, d->pid);
	assert_int_equal(h_log_count(d, "systemd watchdog: WATCHDOG=1 every 200 ms"), 1);
	assert_int_equal(h_stop(d), 0);

	/* The manager's watchdog is another process's: none. */
	rx->n = 0;
	assert_int_equal(h_setenv(d, "WATCHDOG_PID", "1"), 0);
	assert_int_equal(h_start(d), 0);
	assert_true(s_rx_wait(rx, 0, "READY=1", 2000) >= 0);
	while (s_rx_recv(rx, 800) >= 0)
		;
	assert_int_equal(s_rx_find(rx, 0, "WATCHDOG=1"), -1);
	assert_int_equal(h_stop(d), 0);
	h_pass(d);
}

/*
 * SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1 saying how it went, the daemon serving
 * throughout; SIGTERM: STOPPING=1, then exit 0.
 */
static void test_reload_and_stop(void **state)
{
	fixture_t *f = *state;
	h_daemon_t *d = f->d;
	notify_rx_t *rx = &f->rx;
	s_rx_open(d, rx);
	assert_int_equal(h_start(d), 0);
	int ready = s_rx_wait(rx, 0, "READY=1", 2000);
	assert_true(ready >= 0);
	pid_t pid = d->pid;

	assert_int_equal(kill(pid, SIGHUP), 0);
	int reloading = s_rx_wait(rx, ready + 1, "RELOADING=1", 2000);
	assert_true(reloading >= 0);
	assert_true(s_rx_has(rx, reloading, "MONOTONIC_USEC="));
	int again = s_rx_wait(rx, reloading + 1, "READY=1", 2000);
	assert_true(again >= 0);
	assert_true(s_rx_has(rx, again, "STATUS=ready: reloaded, 0 client(s)"));

	/* A file with errors: not applied, said so, and ready again all the same. */
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "incidentd.conf", "[daemon]\nbogus = 1\n", path), 0);
	assert_int_equal(kill(pid, SIGHUP), 0);
	reloading = s_rx_wait(rx, again + 1, "RELOADING=1", 2000);
	assert_true(reloading >= 0);
	again = s_rx_wait(rx, reloading + 1, "READY=1", 2000);
	assert_true(again >= 0);
	assert_true(s_rx_has(rx, again, "STATUS=ready: reload not applied"));
	json_t *r = h_requestf(d, "{s:s}", "op", "status");
	CHECK_OK(r);
	json_decref(r);

	assert_int_equal(h_stop(d), 0);
	int stopping = s_rx_wait(rx, again + 1, "STOPPING=1", 1000);
	assert_true(stopping >= 0);
	assert_true(s_rx_has(rx, stopping, "STATUS=stopping"));
	s_rx_all_from(rx, pid);
	h_pass(d);
}

/*
 * A NOTIFY_SOCKET nobody listens on (the manager gone): the daemon starts, serves and stops as
 * ever, and says once in its log that the notification was not sent.
 */
static void test_notify_socket_missing(void **state)
{
	fixture_t *f = *state;
	h_daemon_t *d = f->d;
	char path[H_PATH_MAX];
	snprintf(path, sizeof path, "%s/nobody", d->dir);
	assert_int_equal(h_setenv(d, "NOTIFY_SOCKET", path), 0);
	assert_int_equal(h_setenv(d, "WATCHDOG_USEC", "100000"), 0);
	assert_int_equal(h_start(d), 0);
	json_t *ev = h_event("acme", "e1", "r1", "detected");
	json_object_set_new(ev, "category", json_integer(3));
	json_object_set_new(ev, "title", json_string("disk full"));
	PUSH_OK(d, ev, NULL);
	usleep(300 * 1000);
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_log_count(d, "systemd notification not sent"), 1);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ready_once_serving, setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(test_watchdog, setup_fixture, teardown_fixture),
		cmocka_unit_test_setup_teardown(test_reload_and_stop, setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(test_notify_socket_missing, setup_fixture,
						teardown_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
