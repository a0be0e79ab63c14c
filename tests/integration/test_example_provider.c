/*
 * examples/provider.py (Python, pyzmq) against the real daemon with CURVE: its event opens the
 * incident in the provider's name, a second run with the same event_id (a retry after a lost
 * reply) is answered as a duplicate, a retry while the daemon does not answer gets through
 * once it does (one incident), and a key the daemon does not know gets nothing. Skipped when
 * no python3 with the zmq module is installed (Debian python3-zmq, from scripts/deps-test).
 */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"

/* A python3 that imports zmq: Debian's first, then the first on PATH. */
static char s_python[H_PATH_MAX];

static bool s_python_has_zmq(const char *python)
{
	char *argv[] = {(char *)python, (char *)"-c", (char *)"import zmq; assert zmq.has('curve')",
			NULL};
	h_run_t r = {0};
	bool ok = access(python, X_OK) == 0 && h_run("/", argv, NULL, 20000, &r) == 0 &&
		  r.status == 0;
	h_run_clear(&r);
	return ok;
}

static bool s_find_python(void)
{
	if (s_python_has_zmq("/usr/bin/python3")) {
		snprintf(s_python, sizeof s_python, "/usr/bin/python3");
		return true;
	}
	const char *path = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof dirs, "%s", path ? path : "");
	for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(s_python, sizeof s_python, "%s/python3", dir);
		if (s_python_has_zmq(s_python))
			return true;
	}
	return false;
}

/* The cast: the daemon's pair, the provider's pair (key files as keygen writes them), ops. */
typedef struct {
	h_daemon_t *d;
	h_keys_t north, ops, stranger;
	char north_key[H_PATH_MAX];    /* the provider's pair file, mode 0600 */
	char stranger_key[H_PATH_MAX];
	char server_pub[H_PATH_MAX];   /* the daemon's public key file */
} cast_t;

static int setup_curve_daemon(void **state)
{
	if (!s_find_python()) {
		print_message("no python3 with the zmq module (Debian python3-zmq): skipped\n");
		*state = NULL;
		return 0;
	}
	cast_t *c = calloc(1, sizeof *c);
	h_daemon_t *d = c ? h_new(NULL) : NULL;
	if (d == NULL) {
		free(c);
		return -1;
	}
	c->d = d;
	*state = c;
	char server_key[H_PATH_MAX], conf[8192];
	if (h_keys_new(&d->server) || h_keys_new(&c->north) || h_keys_new(&c->ops) ||
	    h_keys_new(&c->stranger) ||
	    h_write_keys(d, "server.key", &d->server, true, 0600, server_key) ||
	    h_write_keys(d, "server.key.pub", &d->server, false, 0644, c->server_pub) ||
	    h_write_keys(d, "north.key", &c->north, true, 0600, c->north_key) ||
	    h_write_keys(d, "stranger.key", &c->stranger, true, 0600, c->stranger_key))
		return -1;
	snprintf(conf, sizeof conf,
		 "%s\n[security]\ncurve = true\nsecret_key = %s\n"
		 "[client csp-north-monitoring]\nkey = %s\nrole = provider\nproviders = csp-north\n"
		 "[client ops]\nkey = %s\nrole = operator\n",
		 h_default_config, server_key, c->north.pub, c->ops.pub);
	if (h_write_file(d, "incidentd.conf", conf, d->conf) < 0)
		return -1;
	d->as = &c->ops;
	return h_start(d);
}

static int teardown_curve_daemon(void **state)
{
	cast_t *c = *state;
	if (c != NULL) {
		h_destroy(&c->d);
		free(c);
	}
	return 0;
}

/* The provider.py command line for event_id and key file, with the given timeout/attempts. */
static void s_argv(const cast_t *c, const char *key, const char *event_id, const char *timeout,
		   const char *attempts, char *argv[32])
{
	int i = 0;
	argv[i++] = s_python;
	argv[i++] = (char *)INCIDENTD_EXAMPLES "/provider.py";
	argv[i++] = (char *)"--endpoint";
	argv[i++] = (char *)c->d->api;
	argv[i++] = (char *)"--key";
	argv[i++] = (char *)key;
	argv[i++] = (char *)"--server-key";
	argv[i++] = (char *)c->server_pub;
	argv[i++] = (char *)"--provider";
	argv[i++] = (char *)"csp-north";
	argv[i++] = (char *)"--event-id";
	argv[i++] = (char *)event_id;
	argv[i++] = (char *)"--ref";
	argv[i++] = (char *)"CSPN-42";
	argv[i++] = (char *)"--stage";
	argv[i++] = (char *)"detected";
	argv[i++] = (char *)"--source";
	argv[i++] = (char *)"monitoring";
	argv[i++] = (char *)"--category";
	argv[i++] = (char *)"2";
	argv[i++] = (char *)"--title";
	argv[i++] = (char *)"Broadband down in the north";
	argv[i++] = (char *)"--timeout";
	argv[i++] = (char *)timeout;
	argv[i++] = (char *)"--attempts";
	argv[i++] = (char *)attempts;
	argv[i++] = (char *)"--backoff";
	argv[i++] = (char *)"0.2";
	argv[i] = NULL;
}

/* Runs provider.py; returns the reply it printed (new reference), failing without one. */
static json_t *s_run_provider(const cast_t *c, const char *event_id, int want_status)
{
	char *argv[32];
	s_argv(c, c->north_key, event_id, "5000", "3", argv);
	h_run_t r = {0};
	assert_int_equal(h_run(c->d->dir, argv, NULL, 60000, &r), 0);
	if (r.status != want_status)
		fail_msg("provider.py exited %d, not %d\nstdout: %s\nstderr: %s", r.status,
			 want_status, r.out, r.err);
	json_t *reply = json_loads(r.out, 0, NULL);
	if (reply == NULL)
		fail_msg("provider.py printed no JSON reply: %s\nstderr: %s", r.out, r.err);
	h_run_clear(&r);
	return reply;
}

/*
 * The event opens the incident in csp-north's name, recorded as by the provider's key; the same
 * event_id again (what a retry after a lost reply sends) is a duplicate of it.
 */
static void test_provider_event_and_duplicate(void **state)
{
	cast_t *c = *state;
	if (c == NULL)
		skip();
	json_t *r = s_run_provider(c, "mon-1", 0);
	CHECK_OK(r);
	CHECK_STR(r, "incident", "INC000000000001");
	CHECK_FALSE(r, "duplicate");
	json_decref(r);

	json_t *inc = GET_INCIDENT(c->d, "INC000000000001");
	CHECK_STR(inc, "provider", "csp-north");
	CHECK_STR(inc, "ref", "CSPN-42");
	CHECK_STR(inc, "title", "Broadband down in the north");
	json_t *first = json_array_get(json_object_get(inc, "timeline"), 0);
	CHECK_STR(first, "event_id", "mon-1");
	CHECK_STR(first, "source", "monitoring");
	CHECK_STR(first, "by", "csp-north-monitoring");
	json_decref(inc);

	r = s_run_provider(c, "mon-1", 0);
	CHECK_OK(r);
	CHECK_STR(r, "incident", "INC000000000001");
	CHECK_TRUE(r, "duplicate");
	json_decref(r);
	assert_int_equal(STATUS_COUNT(c->d, "incidents"), 1);
	assert_int_equal(STATUS_COUNT(c->d, "events"), 1);
	h_pass(c->d);
}

/*
 * The daemon does not answer (stopped) when the provider sends: provider.py times out, sends
 * the same event again on a new socket, and once the daemon answers the event is stored once.
 */
static void test_provider_retries_until_answered(void **state)
{
	cast_t *c = *state;
	if (c == NULL)
		skip();
	char *argv[32];
	s_argv(c, c->north_key, "mon-2", "700", "10", argv);
	assert_int_equal(kill(c->d->pid, SIGSTOP), 0);
	h_child_t child;
	assert_int_equal(h_child_start(&child, c->d->dir, argv), 0);
	usleep(2000 * 1000); /* two attempts or more go unanswered */
	assert_int_equal(kill(c->d->pid, SIGCONT), 0);
	const char *line = h_child_wait_line(&child, "\"ok\": true", NULL, 30000);
	if (line == NULL)
		fail_msg("no ok reply from provider.py; it printed: %s", child.out);
	json_t *r = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
	CHECK_STR(r, "incident", "INC000000000001");
	json_decref(r);
	h_child_stop(&child);
	assert_int_equal(STATUS_COUNT(c->d, "incidents"), 1);
	assert_int_equal(STATUS_COUNT(c->d, "events"), 1);
	h_pass(c->d);
}

/* A key no [client] section lists gets no answer (exit 3) and stores nothing. */
static void test_provider_unknown_key(void **state)
{
	cast_t *c = *state;
	if (c == NULL)
		skip();
	char *argv[32];
	s_argv(c, c->stranger_key, "mon-3", "500", "2", argv);
	h_run_t r = {0};
	assert_int_equal(h_run(c->d->dir, argv, NULL, 30000, &r), 0);
	if (r.status != 3 || strstr(r.err, "no reply") == NULL)
		fail_msg("provider.py with an unknown key exited %d\nstdout: %s\nstderr: %s",
			 r.status, r.out, r.err);
	h_run_clear(&r);
	assert_int_equal(STATUS_COUNT(c->d, "incidents"), 0);
	h_pass(c->d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_provider_event_and_duplicate,
						setup_curve_daemon, teardown_curve_daemon),
		cmocka_unit_test_setup_teardown(test_provider_retries_until_answered,
						setup_curve_daemon, teardown_curve_daemon),
		cmocka_unit_test_setup_teardown(test_provider_unknown_key, setup_curve_daemon,
						teardown_curve_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
