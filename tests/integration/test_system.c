/*
 * How the daemon meets the system: the open-files limit (raised at start, accept failures
 * logged, service resumed when descriptors come free) and the mode of its ipc:// sockets.
 */
#include "checks.h"

#include <sys/stat.h>

#include <zmq.h>

/* The daemon starts with this RLIMIT_NOFILE (soft, hard); ~25 descriptors are its own. */
#define NOFILE_SOFT 40
#define NOFILE_HARD 80
/* More clients than the hard limit has descriptors for. */
#define EXTRA_CLIENTS 100
#define ACCEPT_LINE "cannot accept connections"

/* Reads the soft and hard "Max open files" of pid from /proc. Returns 0 or -1. */
static int s_nofile_limits(pid_t pid, long *soft, long *hard)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	int rc = -1;
	while (rc < 0 && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "Max open files %ld %ld", soft, hard) == 2)
			rc = 0;
	fclose(f);
	return rc;
}

/*
 * A daemon with a low open-files limit, its api also on a loopback tcp port (in tcp_api) for
 * the extra clients. They must not use ipc: libzmq 4.3.4's ipc listener aborts the process
 * when accept() fails with EMFILE (src/ipc_listener.cpp), where its tcp listener reports the
 * failure and retries.
 */
static char tcp_api[64];

static int setup_low_nofile(void **state)
{
	h_daemon_t *d = h_new(NULL);
	int port = h_free_port();
	if (d == NULL || port < 0) {
		h_destroy(&d);
		return -1;
	}
	snprintf(tcp_api, sizeof tcp_api, "tcp://127.0.0.1:%d", port);
	snprintf(d->api_flag, sizeof d->api_flag, "%s,%s", d->api, tcp_api);
	d->nofile_soft = NOFILE_SOFT;
	d->nofile_hard = NOFILE_HARD;
	if (h_start(d) < 0) {
		d->passed = true; /* h_start() printed the log already */
		h_destroy(&d);
		return -1;
	}
	*state = d;
	return 0;
}

/* The soft limit is raised to the hard one, and the log says what it is. */
static void test_nofile_raised_to_hard_limit(void **state)
{
	h_daemon_t *d = *state;
	long soft = 0, hard = 0;
	assert_int_equal(s_nofile_limits(d->pid, &soft, &hard), 0);
	if (soft != NOFILE_HARD || hard != NOFILE_HARD)
		fail_msg("open files limit soft %ld hard %ld, expected both %d", soft, hard,
			 NOFILE_HARD);
	if (h_log_count(d, "open files limit 80 (raised from 40)") != 1)
		fail_msg("the daemon should log its open files limit once at start");
	h_pass(d);
}

/* Sends a status request on sock without waiting for the reply. */
static void s_send_status(void *sock)
{
	static const char status[] = "{\"op\":\"status\"}";
	assert_int_equal(zmq_send(sock, status, sizeof status - 1, ZMQ_DONTWAIT),
			 (int)sizeof status - 1);
}

/* A status request on d's DEALER is answered ok. */
static void s_status_ok(h_daemon_t *d)
{
	json_t *r = h_requestf(d, "{s:s}", "op", "status");
	CHECK_OK(r);
	json_decref(r);
}

/* A status request on a new (ipc) connection is answered within timeout_ms (retried). */
static bool s_new_client_served(h_daemon_t *d, int timeout_ms)
{
	static const char status[] = "{\"op\":\"status\"}";
	const char *frames[1] = {status};
	size_t len = sizeof status - 1;
	int64_t deadline = h_mono_ms() + timeout_ms;
	while (h_mono_ms() < deadline) {
		h_msg_t reply;
		if (h_exchange(d, ZMQ_DEALER, frames, &len, 1, &reply, 500) == 0) {
			bool ok = reply.nframes == 1 && strstr(reply.frame[0], "\"ok\":true") != NULL;
			h_msg_clear(&reply);
			return ok;
		}
	}
	return false;
}

/* EXTRA_CLIENTS DEALERs on the tcp api, each with a status request sent, on their own ctx. */
typedef struct {
	void *ctx;
	void *sock[EXTRA_CLIENTS];
} s_extra_t;

/* Connects the extra clients and waits until the daemon logs that it cannot accept them all. */
static void s_extra_open(h_daemon_t *d, s_extra_t *x)
{
	int zero = 0;
	x->ctx = zmq_ctx_new(); /* their own, so that closing them is quick */
	for (int i = 0; i < EXTRA_CLIENTS; i++) {
		x->sock[i] = zmq_socket(x->ctx, ZMQ_DEALER);
		assert_non_null(x->sock[i]);
		zmq_setsockopt(x->sock[i], ZMQ_LINGER, &zero, sizeof zero);
		assert_int_equal(zmq_connect(x->sock[i], tcp_api), 0);
		s_send_status(x->sock[i]);
	}
	if (h_log_wait(d, ACCEPT_LINE, 10000) < 0)
		fail_msg("with %d clients over a limit of %d files the daemon should log \"%s\"",
			 EXTRA_CLIENTS, NOFILE_HARD, ACCEPT_LINE);
}

static void s_extra_close(s_extra_t *x)
{
	for (int i = 0; i < EXTRA_CLIENTS; i++)
		zmq_close(x->sock[i]);
	zmq_ctx_term(x->ctx);
}

/*
 * More clients than descriptors: the failed accepts are logged once (not per failure), the
 * clients already connected go on being served, and once the extra clients close new ones
 * are served again.
 */
static void test_accept_failures_logged_once(void **state)
{
	h_daemon_t *d = *state;
	/* Connected before the limit is reached: it must go on being served. */
	s_status_ok(d);
	s_extra_t extra;
	s_extra_open(d, &extra);
	/* Accepts keep failing (libzmq retries them at once) while these requests are served. */
	for (int i = 0; i < 10; i++) {
		s_status_ok(d);
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(h_log_count(d, ACCEPT_LINE), 1);

	s_extra_close(&extra);
	if (!s_new_client_served(d, 10000))
		fail_msg("once the extra clients closed, a new client should be served within 10 s");
	assert_int_equal(h_stop(d), 0);
	h_pass(d);
}

/* SIGTERM while accepts fail: the daemon stops as usual, exit status 0. */
static void test_stop_while_accepts_fail(void **state)
{
	h_daemon_t *d = *state;
	s_extra_t extra;
	s_extra_open(d, &extra);
	int st = h_stop(d);
	s_extra_close(&extra);
	assert_int_equal(st, 0);
	h_pass(d);
}

/* The ipc:// socket at path is a socket with mode 0660. */
static void s_check_mode(const char *endpoint, int umask_value)
{
	const char *path = endpoint + strlen("ipc://");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	if ((st.st_mode & 07777) != 0660)
		fail_msg("%s has mode %04o under umask %03o, expected 0660", path,
			 (unsigned)(st.st_mode & 07777), (unsigned)umask_value);
}

/* A daemon started under the umask *state points to (the prestate). */
static int setup_umask(void **state)
{
	h_daemon_t *d = h_new(NULL);
	if (d == NULL)
		return -1;
	d->umask = *(const int *)*state;
	if (h_start(d) < 0) {
		d->passed = true;
		h_destroy(&d);
		return -1;
	}
	*state = d;
	return 0;
}

/* ipc sockets are readable and writable by the daemon's user and group only, whatever the umask. */
static void test_ipc_sockets_mode_0660(void **state)
{
	h_daemon_t *d = *state;
	s_check_mode(d->api, d->umask);
	s_check_mode(d->pub, d->umask);
	s_status_ok(d);
	h_pass(d);
}

static const int s_umask_open = 0, s_umask_closed = 077;

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nofile_raised_to_hard_limit, setup_low_nofile,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(test_accept_failures_logged_once, setup_low_nofile,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(test_stop_while_accepts_fail, setup_low_nofile,
						teardown_daemon),
		cmocka_unit_test_prestate_setup_teardown(test_ipc_sockets_mode_0660, setup_umask,
							 teardown_daemon, (void *)&s_umask_open),
		cmocka_unit_test_prestate_setup_teardown(test_ipc_sockets_mode_0660, setup_umask,
							 teardown_daemon, (void *)&s_umask_closed),
	};
	return cmocka_run_group_tests_name("integration/system", tests, NULL, NULL);
}
