/*
 * incidentctl with CURVE keys: keygen, --key/--server-key and their variables, a refused key
 * said at once (requests, push -f, watch), a wrong server key, usage errors, and the load
 * generator's CURVE options. The daemon does not speak CURVE yet here, so the server is the
 * test's own (curve_server.c); the real daemon serves the plaintext cases.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "checks.h"
#include "curve_server.h"

/* A refused key must be said well before a --timeout of 10 s. */
#define REFUSED_WITHIN_MS 2000

typedef struct {
	h_daemon_t *d;           /* the temp dir; the daemon runs only in the plaintext cases */
	curve_server_t *server;  /* lets in key, refuses other */
	char key[H_PATH_MAX];    /* DIR/client.key, accepted */
	char other[H_PATH_MAX];  /* DIR/other.key, refused */
	char key_pub[H_PATH_MAX + 8];
	char other_public[KEYFILE_Z85_BUFSZ];
} fixture_t;

/* Runs incidentctl ARGS... in the fixture's dir, bounded by 15 s. */
#define RUN(fx, r, ...)                                                                     \
	do {                                                                               \
		char *argv_[] = {(char *)INCIDENTCTL_BIN, __VA_ARGS__, NULL};              \
		assert_int_equal(h_run((fx)->d->dir, argv_, NULL, 15000, (r)), 0);         \
	} while (0)

/* Reads and parses a key file; fails the test when it cannot. */
static void s_read_keys(const char *path, keyfile_t *keys)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	char text[1024];
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	char err[256];
	if (keyfile_parse(text, keys, err, sizeof err) != 0)
		fail_msg("%s does not parse: %s\n%s", path, err, text);
}

/* The mode bits of path, or -1 when it does not exist. */
static int s_mode(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Runs incidentctl keygen NAME in the fixture's dir; path_out gets DIR/NAME. */
static int s_keygen(fixture_t *fx, const char *name, char *path_out)
{
	h_run_t r;
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"keygen", (char *)name, NULL};
	if (h_run(fx->d->dir, argv, NULL, 15000, &r) != 0 || r.status != 0) {
		fprintf(stderr, "keygen %s: exit %d\n%s%s", name, r.status, r.out, r.err);
		h_run_clear(&r);
		return -1;
	}
	h_run_clear(&r);
	snprintf(path_out, H_PATH_MAX, "%s/%s", fx->d->dir, name);
	return 0;
}

static int setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);
	if (fx == NULL || (fx->d = h_new(NULL)) == NULL)
		return -1;
	*state = fx;
	keyfile_t keys;
	if (s_keygen(fx, "client.key", fx->key) != 0 || s_keygen(fx, "other.key", fx->other) != 0)
		return -1;
	snprintf(fx->key_pub, sizeof fx->key_pub, "%s.pub", fx->key);
	char other_pub[H_PATH_MAX + 8];
	snprintf(other_pub, sizeof other_pub, "%s.pub", fx->other);
	s_read_keys(other_pub, &keys);
	memcpy(fx->other_public, keys.public_key, sizeof fx->other_public);
	s_read_keys(fx->key_pub, &keys);
	fx->server = curve_server_start(keys.public_key);
	return fx->server != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	fixture_t *fx = *state;
	if (fx == NULL)
		return 0;
	curve_server_stop(&fx->server);
	/* Only a test that ran the daemon has its log to show (when it did not pass). */
	if (fx->d != NULL && fx->d->runs == 0)
		fx->d->passed = true;
	h_destroy(&fx->d);
	free(fx);
	*state = NULL;
	return 0;
}

#define CURVE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* keygen: FILE 0600 and FILE.pub 0644 whatever the umask, both parse, one pair. */
static void test_keygen_files(void **state)
{
	fixture_t *fx = *state;
	static const mode_t umasks[] = {0, 077};
	for (size_t i = 0; i < sizeof umasks / sizeof umasks[0]; i++) {
		char name[32], path[H_PATH_MAX], pub[H_PATH_MAX + 8];
		snprintf(name, sizeof name, "umask%03o.key", (unsigned)umasks[i]);
		mode_t old = umask(umasks[i]);
		h_run_t r;
		RUN(fx, &r, (char *)"keygen", name);
		umask(old);
		CHECK_EXIT(&r, 0);
		snprintf(path, sizeof path, "%s/%s", fx->d->dir, name);
		snprintf(pub, sizeof pub, "%s.pub", path);
		if (s_mode(path) != 0600 || s_mode(pub) != 0644)
			fail_msg("umask %03o: modes %04o and %04o, expected 0600 and 0644",
				 (unsigned)umasks[i], s_mode(path), s_mode(pub));
		keyfile_t pair, public_only;
		s_read_keys(path, &pair);
		s_read_keys(pub, &public_only);
		assert_true(pair.secret_key[0] != '\0');
		assert_string_equal(public_only.secret_key, "");
		assert_string_equal(public_only.public_key, pair.public_key);
		char derived[KEYFILE_Z85_BUFSZ];
		assert_int_equal(zmq_curve_public(derived, pair.secret_key), 0);
		assert_string_equal(derived, pair.public_key);
		/* The public key, and the line of a [client NAME] section of the daemon's config. */
		char line[64];
		snprintf(line, sizeof line, "key = %s", pair.public_key);
		expect_in(r.out, line, "keygen's stdout");
		expect_in(r.out, "[client ", "keygen's stdout");
		h_run_clear(&r);
	}
	h_run_t r;
	RUN(fx, &r, (char *)"keygen", (char *)"--help");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "keygen FILE", "keygen --help");
	expect_in(r.out, "0600", "keygen --help");
	h_run_clear(&r);
	RUN(fx, &r, (char *)"keygen");
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);
}

/* keygen never overwrites FILE or FILE.pub, and leaves no half pair. */
static void test_keygen_refuses_overwrite(void **state)
{
	fixture_t *fx = *state;
	char taken[H_PATH_MAX], half_pub[H_PATH_MAX], path[H_PATH_MAX + 8];
	assert_int_equal(h_write_file(fx->d, "taken.key", "keep me\n", taken), 0);
	h_run_t r;
	RUN(fx, &r, (char *)"keygen", (char *)"taken.key");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "taken.key", "stderr");
	expect_in(r.err, "exists", "stderr");
	h_run_clear(&r);
	FILE *f = fopen(taken, "r");
	char text[32] = "";
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof text, f));
	fclose(f);
	assert_string_equal(text, "keep me\n");
	snprintf(path, sizeof path, "%s.pub", taken);
	assert_int_equal(s_mode(path), -1);

	/* FILE.pub alone is enough to refuse, and FILE is not left behind. */
	assert_int_equal(h_write_file(fx->d, "half.key.pub", "public = x\n", half_pub), 0);
	RUN(fx, &r, (char *)"keygen", (char *)"half.key");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "half.key.pub", "stderr");
	h_run_clear(&r);
	snprintf(path, sizeof path, "%s/half.key", fx->d->dir);
	assert_int_equal(s_mode(path), -1);

	/* A directory that does not exist: exit 1 with the reason. */
	RUN(fx, &r, (char *)"keygen", (char *)"no/such/dir.key");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "no/such/dir.key", "stderr");
	h_run_clear(&r);
}

/* An accepted key gets its answer: by flags (key or key file), and by the variables. */
static void test_accepted_key(void **state)
{
	fixture_t *fx = *state;
	const char *api = curve_server_api(fx->server), *server_key = curve_server_key(fx->server);
	h_run_t r;
	RUN(fx, &r, (char *)"-e", (char *)api, (char *)"--key", fx->key, (char *)"--server-key",
	    (char *)server_key, (char *)"--json", (char *)"status");
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json status should print JSON; stdout: %s", r.out);
	CHECK_TRUE(j, "ok");
	/* The server's ZAP handler named the key: authentication did run. */
	CHECK_STR(j, "user", CURVE_SERVER_USER);
	json_decref(j);
	h_run_clear(&r);

	/* --server-key as a key file (FILE.pub), global options after the command. */
	char text[128], server_pub[H_PATH_MAX];
	assert_true(keyfile_format(server_key, NULL, text, sizeof text) > 0);
	assert_int_equal(h_write_file(fx->d, "server.key.pub", text, server_pub), 0);
	RUN(fx, &r, (char *)"status", (char *)"-e", (char *)api, (char *)"--key", fx->key,
	    (char *)"--server-key", server_pub);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, CURVE_SERVER_USER, "status's stdout");
	h_run_clear(&r);

	/* $INCIDENTD_KEY and $INCIDENTD_SERVER_KEY. */
	setenv("INCIDENTD_KEY", fx->key, 1);
	setenv("INCIDENTD_SERVER_KEY", server_key, 1);
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"-e", (char *)api, (char *)"status", NULL};
	int rc = h_run(fx->d->dir, argv, NULL, 15000, &r);
	unsetenv("INCIDENTD_KEY");
	unsetenv("INCIDENTD_SERVER_KEY");
	assert_int_equal(rc, 0);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, CURVE_SERVER_USER, "status's stdout");
	h_run_clear(&r);
	assert_int_equal(curve_server_answered(fx->server), 3);
	assert_int_equal(curve_server_refused(fx->server), 0);
}

/* The stderr line of the contract, on a line of its own. */
static void s_expect_refused(const h_run_t *r, long within_ms)
{
	CHECK_EXIT(r, 1);
	if (strstr(r->err, "incidentctl: the daemon refused this key\n") == NULL)
		fail_msg("stderr should say \"incidentctl: the daemon refused this key\"; it "
			 "is:\n%s",
			 r->err);
	if (r->elapsed_ms > within_ms)
		fail_msg("a refused key took %ld ms to be said (--timeout 10000)", r->elapsed_ms);
}

/* A refused key: the contract's message and exit 1 at once, not after --timeout. */
static void test_refused_key(void **state)
{
	fixture_t *fx = *state;
	h_run_t r;
	RUN(fx, &r, (char *)"-e", (char *)curve_server_api(fx->server), (char *)"--timeout",
	    (char *)"10000", (char *)"--key", fx->other, (char *)"--server-key",
	    (char *)curve_server_key(fx->server), (char *)"status");
	s_expect_refused(&r, REFUSED_WITHIN_MS);
	/* The next line says which key. */
	expect_in(r.err, fx->other_public, "stderr");
	h_run_clear(&r);
	assert_int_equal(curve_server_answered(fx->server), 0);
	assert_true(curve_server_refused(fx->server) >= 1);
}

static const char s_events[] =
	"{\"provider\":\"acme\",\"event_id\":\"f1\",\"ref\":\"F1\",\"stage\":\"detected\","
	"\"category\":2,\"title\":\"one\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f2\",\"ref\":\"F2\",\"stage\":\"detected\","
	"\"category\":3,\"title\":\"two\"}\n";

/* push -f: an accepted key pushes every line; a refused one stops at once with exit 1. */
static void test_push_file(void **state)
{
	fixture_t *fx = *state;
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(fx->d, "events.jsonl", s_events, path), 0);
	h_run_t r;
	RUN(fx, &r, (char *)"-e", (char *)curve_server_api(fx->server), (char *)"--key", fx->key,
	    (char *)"--server-key", (char *)curve_server_key(fx->server), (char *)"push",
	    (char *)"-f", path);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "accepted 2", "push -f's stdout");
	h_run_clear(&r);
	RUN(fx, &r, (char *)"-e", (char *)curve_server_api(fx->server), (char *)"--timeout",
	    (char *)"10000", (char *)"--key", fx->other, (char *)"--server-key",
	    (char *)curve_server_key(fx->server), (char *)"push", (char *)"-f", path);
	s_expect_refused(&r, REFUSED_WITHIN_MS);
	h_run_clear(&r);
	assert_int_equal(curve_server_answered(fx->server), 2);
}

/*
 * A server key that is not the daemon's: the daemon cannot open the client's HELLO and closes
 * the connection, again and again. Said within a second or two, naming --server-key.
 */
static void test_wrong_server_key(void **state)
{
	fixture_t *fx = *state;
	h_run_t r;
	RUN(fx, &r, (char *)"-e", (char *)curve_server_api(fx->server), (char *)"--timeout",
	    (char *)"10000", (char *)"--key", fx->key, (char *)"--server-key", fx->other_public,
	    (char *)"status");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "--server-key", "stderr");
	if (r.elapsed_ms > REFUSED_WITHIN_MS)
		fail_msg("a wrong server key took %ld ms to be said", r.elapsed_ms);
	h_run_clear(&r);
	assert_int_equal(curve_server_answered(fx->server), 0);
}

/* A CURVE client and the plaintext daemon: said at once; exit 1. */
static void test_curve_client_plaintext_daemon(void **state)
{
	fixture_t *fx = *state;
	assert_int_equal(h_start(fx->d), 0);
	h_run_t r;
	RUN(fx, &r, (char *)"-e", fx->d->api, (char *)"--timeout", (char *)"10000", (char *)"--key",
	    fx->key, (char *)"--server-key", (char *)curve_server_key(fx->server),
	    (char *)"status");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "does not use CURVE", "stderr");
	if (r.elapsed_ms > REFUSED_WITHIN_MS)
		fail_msg("took %ld ms", r.elapsed_ms);
	h_run_clear(&r);
	/* Without keys the same daemon answers. */
	RUN(fx, &r, (char *)"-e", fx->d->api, (char *)"status");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	h_pass(fx->d);
}

/* A plaintext client and a CURVE server: nothing comes; exit 3 after --timeout, with a hint. */
static void test_plaintext_client_curve_server(void **state)
{
	fixture_t *fx = *state;
	h_run_t r;
	RUN(fx, &r, (char *)"-e", (char *)curve_server_api(fx->server), (char *)"--timeout",
	    (char *)"500", (char *)"status");
	CHECK_EXIT(&r, 3);
	expect_in(r.err, "CURVE", "stderr");
	if (r.elapsed_ms < 500)
		fail_msg("exit 3 after %ld ms, before the timeout", r.elapsed_ms);
	h_run_clear(&r);
	assert_int_equal(curve_server_answered(fx->server), 0);
}

/* Runs incidentctl with the server's API and expects a usage error naming mention. */
static void s_expect_usage(fixture_t *fx, char **args, const char *mention, const char *mention2)
{
	char *argv[16] = {(char *)INCIDENTCTL_BIN, (char *)"-e",
			  (char *)curve_server_api(fx->server)};
	int n = 3;
	while (*args != NULL && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	h_run_t r;
	assert_int_equal(h_run(fx->d->dir, argv, NULL, 15000, &r), 0);
	CHECK_EXIT(&r, 2);
	expect_in(r.err, mention, "stderr");
	if (mention2 != NULL)
		expect_in(r.err, mention2, "stderr");
	h_run_clear(&r);
}

/* Keys that cannot be used: exit 2 naming the option or variable and the file; nothing sent. */
static void test_usage_errors(void **state)
{
	fixture_t *fx = *state;
	const char *server_key = curve_server_key(fx->server);
	char loose[H_PATH_MAX], group[H_PATH_MAX], garbage[H_PATH_MAX], missing[H_PATH_MAX + 16];
	char pair_text[256];
	FILE *f = fopen(fx->key, "r");
	assert_non_null(f);
	size_t n = fread(pair_text, 1, sizeof pair_text - 1, f);
	fclose(f);
	pair_text[n] = '\0';
	assert_int_equal(h_write_file(fx->d, "loose.key", pair_text, loose), 0);
	assert_int_equal(chmod(loose, 0644), 0);
	assert_int_equal(h_write_file(fx->d, "group.key", pair_text, group), 0);
	assert_int_equal(chmod(group, 0640), 0);
	assert_int_equal(h_write_file(fx->d, "garbage.pub", "public = nope\n", garbage), 0);
	snprintf(missing, sizeof missing, "%s/missing.key", fx->d->dir);

	char *key_only[] = {"--key", fx->key, "status", NULL};
	s_expect_usage(fx, key_only, "--server-key", fx->key);
	char *server_only[] = {"--server-key", (char *)server_key, "status", NULL};
	s_expect_usage(fx, server_only, "--key", NULL);
	char *too_open[] = {"--key", loose, "--server-key", (char *)server_key, "status", NULL};
	s_expect_usage(fx, too_open, "0644", loose);
	char *group_readable[] = {"--key", group, "--server-key", (char *)server_key, "status",
				  NULL};
	s_expect_usage(fx, group_readable, "0640", group);
	char *no_file[] = {"--key", missing, "--server-key", (char *)server_key, "status", NULL};
	s_expect_usage(fx, no_file, missing, NULL);
	char *pub_as_pair[] = {"--key", fx->key_pub, "--server-key", (char *)server_key, "status",
			       NULL};
	s_expect_usage(fx, pub_as_pair, "no secret key", fx->key_pub);
	char *not_a_key[] = {"--key", fx->key, "--server-key", "not-a-key", "status", NULL};
	s_expect_usage(fx, not_a_key, "--server-key", "not-a-key");
	char *bad_file[] = {"--key", fx->key, "--server-key", garbage, "status", NULL};
	s_expect_usage(fx, bad_file, "--server-key", garbage);
	char *watch_key_only[] = {"watch", "--publish", (char *)curve_server_pub(fx->server),
				  "--key", fx->key, NULL};
	s_expect_usage(fx, watch_key_only, "--server-key", NULL);
	char *push_loose[] = {"--key", loose, "--server-key", (char *)server_key, "push", "-f",
			      "-", NULL};
	s_expect_usage(fx, push_loose, "0644", loose);

	/* The variables are named as such. */
	setenv("INCIDENTD_KEY", fx->key, 1);
	char *env_key_only[] = {"status", NULL};
	s_expect_usage(fx, env_key_only, "$INCIDENTD_KEY", fx->key);
	setenv("INCIDENTD_SERVER_KEY", "not-a-key", 1);
	s_expect_usage(fx, env_key_only, "$INCIDENTD_SERVER_KEY", "not-a-key");
	unsetenv("INCIDENTD_SERVER_KEY");
	unsetenv("INCIDENTD_KEY");

	/* None of them reached the server, not even its handshake. */
	assert_int_equal(curve_server_answered(fx->server), 0);
	assert_int_equal(curve_server_refused(fx->server), 0);
}

/* watch with CURVE receives what the CURVE PUB publishes. */
static void test_watch_curve(void **state)
{
	fixture_t *fx = *state;
	char *argv[] = {(char *)INCIDENTCTL_BIN,
			(char *)"watch",
			(char *)"--publish",
			(char *)curve_server_pub(fx->server),
			(char *)"--key",
			fx->key,
			(char *)"--server-key",
			(char *)curve_server_key(fx->server),
			NULL};
	h_child_t c;
	assert_int_equal(h_child_start(&c, fx->d->dir, argv), 0);
	const char *line = h_child_wait_line(&c, CURVE_SERVER_TOPIC, "INC000000000001", 10000);
	int status = h_child_stop(&c);
	if (line == NULL)
		fail_msg("watch printed no %s line within 10 s; stdout:\n%s", CURVE_SERVER_TOPIC,
			 c.out);
	assert_int_equal(status, 0);
}

/* watch with a refused key: the message and exit 1 at once. */
static void test_watch_refused(void **state)
{
	fixture_t *fx = *state;
	h_run_t r;
	RUN(fx, &r, (char *)"--timeout", (char *)"10000", (char *)"watch", (char *)"--publish",
	    (char *)curve_server_pub(fx->server), (char *)"--key", fx->other,
	    (char *)"--server-key", (char *)curve_server_key(fx->server));
	s_expect_refused(&r, REFUSED_WITHIN_MS);
	h_run_clear(&r);
}

/* watch without keys on a CURVE PUB: after --timeout it says it is not connected, and why. */
static void test_watch_plaintext_warns(void **state)
{
	fixture_t *fx = *state;
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"--timeout", (char *)"300",
			(char *)"watch", (char *)"--publish", (char *)curve_server_pub(fx->server),
			NULL};
	h_run_t r;
	/* watch runs until killed: h_run's bound ends it (status -1), its stderr is kept. */
	assert_int_equal(h_run(fx->d->dir, argv, NULL, 2000, &r), 0);
	assert_int_equal(r.status, -1);
	expect_in(r.err, "not connected", "watch's stderr");
	expect_in(r.err, "CURVE", "watch's stderr");
	h_run_clear(&r);
}

/* bench_loadgen --key --server-key: events over CURVE; a refused key fails at once. */
static void test_loadgen_curve(void **state)
{
	fixture_t *fx = *state;
	const char *api = curve_server_api(fx->server), *server_key = curve_server_key(fx->server);
	char *argv[] = {(char *)BENCH_LOADGEN_BIN, (char *)"--endpoint", (char *)api,
			(char *)"--key", fx->key, (char *)"--server-key", (char *)server_key,
			(char *)"--events", (char *)"2000", (char *)"--connections", (char *)"2",
			(char *)"--timeout", (char *)"30", (char *)"--json", NULL};
	h_run_t r;
	assert_int_equal(h_run(fx->d->dir, argv, NULL, 40000, &r), 0);
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json should print JSON; stdout: %s\nstderr: %s", r.out, r.err);
	CHECK_INT(j, "ok", 2000);
	json_decref(j);
	h_run_clear(&r);
	assert_int_equal(curve_server_answered(fx->server), 2000);

	argv[4] = fx->other;
	assert_int_equal(h_run(fx->d->dir, argv, NULL, 40000, &r), 0);
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "the daemon refused this key", "bench_loadgen's stderr");
	if (r.elapsed_ms > REFUSED_WITHIN_MS)
		fail_msg("a refused key took %ld ms", r.elapsed_ms);
	h_run_clear(&r);

	char *key_only[] = {(char *)BENCH_LOADGEN_BIN, (char *)"--endpoint", (char *)api,
			    (char *)"--key", fx->key, NULL};
	assert_int_equal(h_run(fx->d->dir, key_only, NULL, 40000, &r), 0);
	CHECK_EXIT(&r, 2);
	expect_in(r.err, "--server-key", "bench_loadgen's stderr");
	h_run_clear(&r);
}

int main(void)
{
	/* The tests say which keys and endpoints they mean; the caller's environment must not. */
	unsetenv("INCIDENTD_KEY");
	unsetenv("INCIDENTD_SERVER_KEY");
	unsetenv("INCIDENTD_API");
	unsetenv("INCIDENTD_PUBLISH");
	const struct CMUnitTest tests[] = {
		CURVE_TEST(test_keygen_files),
		CURVE_TEST(test_keygen_refuses_overwrite),
		CURVE_TEST(test_accepted_key),
		CURVE_TEST(test_refused_key),
		CURVE_TEST(test_push_file),
		CURVE_TEST(test_wrong_server_key),
		CURVE_TEST(test_curve_client_plaintext_daemon),
		CURVE_TEST(test_plaintext_client_curve_server),
		CURVE_TEST(test_usage_errors),
		CURVE_TEST(test_watch_curve),
		CURVE_TEST(test_watch_refused),
		CURVE_TEST(test_watch_plaintext_warns),
		CURVE_TEST(test_loadgen_curve),
	};
	return cmocka_run_group_tests_name("integration/curve_client", tests, NULL, NULL);
}
