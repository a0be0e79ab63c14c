/*
 * incidentd's command line: flags, --check-config, exit statuses when it cannot start, and
 * clean exits on signals.
 */
#include <signal.h>
#include <sys/stat.h>
#include <zmq.h>

#include "checks.h"

/* Per-test fixture: a temp dir, no daemon started. */
static int setup_dir(void **state)
{
	*state = h_new(NULL);
	return *state != NULL ? 0 : -1;
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_daemon)

#define RUN(d, r, ...)                                                                     \
	do {                                                                               \
		char *argv_[] = {(char *)INCIDENTD_BIN, __VA_ARGS__, NULL};                \
		assert_int_equal(h_run((d)->dir, argv_, NULL, 10000, (r)), 0);            \
	} while (0)

/* The number of non-empty lines of text. */
static int s_lines(const char *text)
{
	int n = 0;
	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len > 0)
			n++;
		p += len + (nl != NULL);
	}
	return n;
}

static void test_version_and_help(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	RUN(d, &r, "--version");
	CHECK_EXIT(&r, 0);
	if (strstr(r.out, "0.") == NULL && strstr(r.err, "0.") == NULL)
		fail_msg("--version should print the version; stdout: %s", r.out);
	h_run_clear(&r);
	RUN(d, &r, "--help");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "--data-dir", "--help's stdout");
	expect_in(r.out, "--check-config", "--help's stdout");
	h_run_clear(&r);
	h_pass(d);
}

static void test_unknown_flag_exits_2(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	RUN(d, &r, "--frobnicate");
	CHECK_EXIT(&r, 2);
	if (s_lines(r.err) == 0)
		fail_msg("an unknown flag should print the usage on stderr");
	h_run_clear(&r);
	RUN(d, &r, "--data-dir"); /* a flag missing its value */
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);
	h_pass(d);
}

static void test_check_config_good(void **state)
{
	h_daemon_t *d = *state;
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "good.conf", h_default_config, path), 0);
	h_run_t r;
	RUN(d, &r, "-c", path, "--check-config");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "configuration OK", "--check-config's stdout");
	h_run_clear(&r);
	/* The built-in defaults are valid too. */
	RUN(d, &r, "--check-config");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "configuration OK", "--check-config's stdout");
	h_run_clear(&r);
	h_pass(d);
}

/* Two errors, on lines 3 and 5: both reported as FILE:LINE: on stdout, exit 1. */
static void test_check_config_bad(void **state)
{
	h_daemon_t *d = *state;
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "bad.conf",
				      "[daemon]\n"
				      "max_request_bytes = 65536\n"
				      "no_such_key = 1\n"
				      "[sla provider_notification]\n"
				      "category.1 = 30 parsecs\n"
				      "start = detected\n"
				      "stop = notified\n",
				      path),
			 0);
	h_run_t r;
	RUN(d, &r, "-c", path, "--check-config");
	CHECK_EXIT(&r, 1);
	char want[H_PATH_MAX + 8];
	snprintf(want, sizeof want, "%s:3: ", path);
	expect_in(r.out, want, "--check-config's stdout");
	snprintf(want, sizeof want, "%s:5: ", path);
	expect_in(r.out, want, "--check-config's stdout");
	if (strstr(r.out, "configuration OK") != NULL)
		fail_msg("a bad file is not OK: %s", r.out);
	h_run_clear(&r);

	/* A stage that is not in order, line 4. */
	assert_int_equal(h_write_file(d, "bad2.conf",
				      "[sla x]\n"
				      "start = detected\n"
				      "category.1 = 1h\n"
				      "stop = teleported\n",
				      path),
			 0);
	RUN(d, &r, "-c", path, "--check-config");
	CHECK_EXIT(&r, 1);
	snprintf(want, sizeof want, "%s:4: ", path);
	expect_in(r.out, want, "--check-config's stdout");
	h_run_clear(&r);

	/* An unknown section, line 2. */
	assert_int_equal(h_write_file(d, "bad3.conf", "; comment\n[nonsense]\n", path), 0);
	RUN(d, &r, "-c", path, "--check-config");
	CHECK_EXIT(&r, 1);
	snprintf(want, sizeof want, "%s:2: ", path);
	expect_in(r.out, want, "--check-config's stdout");
	h_run_clear(&r);
	h_pass(d);
}

/* Started for real on a bad config, it exits 1 naming FILE:LINE. */
static void test_bad_config_at_start(void **state)
{
	h_daemon_t *d = *state;
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "bad.conf", "[daemon]\nmax_request_bytes = lots\n", path),
			 0);
	h_run_t r;
	RUN(d, &r, "-c", path, "--data-dir", d->data_dir, "--api", d->api, "--publish", d->pub);
	CHECK_EXIT(&r, 1);
	char want[H_PATH_MAX + 8];
	snprintf(want, sizeof want, "%s:2:", path);
	if (strstr(r.err, want) == NULL && strstr(r.out, want) == NULL)
		fail_msg("the reason should name %s; stderr: %s", want, r.err);
	h_run_clear(&r);
	h_pass(d);
}

/* Someone else holds the API endpoint: exit 1 with a reason. */
static void test_endpoint_in_use(void **state)
{
	h_daemon_t *d = *state;
	void *squatter = zmq_socket(d->zctx, ZMQ_ROUTER);
	int linger = 0;
	zmq_setsockopt(squatter, ZMQ_LINGER, &linger, sizeof linger);
	assert_int_equal(zmq_bind(squatter, "tcp://127.0.0.1:*"), 0);
	char endpoint[128];
	size_t len = sizeof endpoint;
	zmq_getsockopt(squatter, ZMQ_LAST_ENDPOINT, endpoint, &len);
	h_run_t r;
	RUN(d, &r, "--data-dir", d->data_dir, "--api", endpoint, "--publish", d->pub);
	zmq_close(squatter);
	CHECK_EXIT(&r, 1);
	const char *port = strrchr(endpoint, ':') + 1;
	if (strstr(r.err, port) == NULL && strcasestr(r.err, "in use") == NULL)
		fail_msg("the reason should name the endpoint %s; stderr: %s", endpoint, r.err);
	h_run_clear(&r);
	h_pass(d);
}

/* The data dir cannot be created (its parent is a regular file): exit 1 with a reason. */
static void test_data_dir_not_writable(void **state)
{
	h_daemon_t *d = *state;
	char file[H_PATH_MAX], data[H_PATH_MAX + 8];
	assert_int_equal(h_write_file(d, "plainfile", "not a directory\n", file), 0);
	snprintf(data, sizeof data, "%s/data", file);
	h_run_t r;
	RUN(d, &r, "--data-dir", data, "--api", d->api, "--publish", d->pub);
	CHECK_EXIT(&r, 1);
	if (s_lines(r.err) == 0)
		fail_msg("exit 1 needs a reason on stderr");
	h_run_clear(&r);
	h_pass(d);
}

/*
 * A data dir others may write to is refused (exit 1, the reason naming it); the same dir
 * without that permission starts.
 */
static void test_data_dir_writable_by_others(void **state)
{
	h_daemon_t *d = *state;
	assert_int_equal(mkdir(d->data_dir, 0700), 0);
	assert_int_equal(chmod(d->data_dir, 0777), 0);
	h_run_t r;
	RUN(d, &r, "--data-dir", d->data_dir, "--api", d->api, "--publish", d->pub);
	CHECK_EXIT(&r, 1);
	char want[H_PATH_MAX + 64];
	snprintf(want, sizeof want, "data dir %s is writable by others (mode 777)", d->data_dir);
	if (strstr(r.err, want) == NULL)
		fail_msg("expected \"%s\"; stderr: %s", want, r.err);
	h_run_clear(&r);
	assert_int_equal(chmod(d->data_dir, 0750), 0);
	assert_int_equal(h_start(d), 0);
	assert_int_equal(h_stop(d), 0);
	h_pass(d);
}

/*
 * Without CURVE, an endpoint beyond loopback is refused at start (exit 1, naming it), unless
 * the config allows plaintext.
 */
static void test_plaintext_beyond_loopback_refused(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	RUN(d, &r, "--data-dir", d->data_dir, "--api", "tcp://0.0.0.0:7499", "--publish", d->pub);
	CHECK_EXIT(&r, 1);
	if (strstr(r.err, "tcp://0.0.0.0:7499 is not a loopback address") == NULL)
		fail_msg("the reason should name the endpoint; stderr: %s", r.err);
	h_run_clear(&r);
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "plain.conf", "[security]\nallow_plaintext = true\n", path),
			 0);
	RUN(d, &r, "-c", path, "--api", "tcp://0.0.0.0:7499", "--check-config");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	h_pass(d);
}

/* SIGTERM and SIGINT stop a running daemon with exit status 0. */
static void test_signals_exit_0(void **state)
{
	h_daemon_t *d = *state;
	assert_int_equal(h_start(d), 0);
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	kill(d->pid, SIGINT);
	assert_int_equal(h_wait_exit(d, H_STOP_TIMEOUT_MS), 0);
	h_pass(d);
}

/* Flags override the file: a config naming other endpoints and data dir still runs on ours. */
static void test_flags_override_file(void **state)
{
	h_daemon_t *d = *state;
	static const char block[] = "data_dir = var/incidentd\napi = tcp://127.0.0.1:7420\n"
				    "publish = tcp://127.0.0.1:7421\n";
	const char *p = strstr(h_default_config, block);
	assert_non_null(p);
	char conf[4096];
	snprintf(conf, sizeof conf,
		 "%.*sdata_dir = %s/elsewhere\napi = ipc://%s/other-api\n"
		 "publish = ipc://%s/other-pub\n%s",
		 (int)(p - h_default_config), h_default_config, d->dir, d->dir, d->dir,
		 p + sizeof block - 1);
	assert_int_equal(h_write_file(d, "incidentd.conf", conf, d->conf), 0);
	assert_int_equal(h_start(d), 0); /* it answers on d->api */
	struct stat sb;
	assert_int_equal(stat(d->data_dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	char elsewhere[H_PATH_MAX + 16];
	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", d->dir);
	assert_int_not_equal(stat(elsewhere, &sb), 0);
	assert_int_equal(h_stop(d), 0);
	h_pass(d);
}

/* --api takes a comma-separated list: the daemon answers on each endpoint. */
static void test_several_api_endpoints(void **state)
{
	h_daemon_t *d = *state;
	char second[H_PATH_MAX];
	snprintf(second, sizeof second, "ipc://%s/api2", d->dir);
	snprintf(d->api_flag, sizeof d->api_flag, "%s,%s", d->api, second);
	assert_int_equal(h_start(d), 0); /* it answers on the first */
	void *s = zmq_socket(d->zctx, ZMQ_REQ);
	int linger = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	assert_int_equal(zmq_connect(s, second), 0);
	assert_true(zmq_send(s, "{\"op\":\"status\"}", 15, 0) == 15);
	zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
	int ready = zmq_poll(&item, 1, H_REPLY_TIMEOUT_MS);
	char buf[1024] = "";
	if (ready > 0)
		zmq_recv(s, buf, sizeof buf - 1, 0);
	zmq_close(s);
	json_t *r = json_loads(buf, 0, NULL);
	if (!h_is_ok(r))
		fail_msg("no ok status reply on %s: %s", second, buf);
	json_decref(r);
	assert_int_equal(h_stop(d), 0);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DIR_TEST(test_version_and_help),
		DIR_TEST(test_unknown_flag_exits_2),
		DIR_TEST(test_check_config_good),
		DIR_TEST(test_check_config_bad),
		DIR_TEST(test_bad_config_at_start),
		DIR_TEST(test_endpoint_in_use),
		DIR_TEST(test_data_dir_not_writable),
		DIR_TEST(test_data_dir_writable_by_others),
		DIR_TEST(test_plaintext_beyond_loopback_refused),
		DIR_TEST(test_signals_exit_0),
		DIR_TEST(test_flags_override_file),
		DIR_TEST(test_several_api_endpoints),
	};
	return cmocka_run_group_tests_name("integration/daemon_cli", tests, NULL, NULL);
}
