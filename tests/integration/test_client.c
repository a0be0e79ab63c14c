/*
 * incidentctl against the real daemon: output, exit statuses, push -f summaries.
 */
#include <ctype.h>

#include "checks.h"

#define I1 "INC000000000001"
#define I2 "INC000000000002"

/*
 * The number written next to word in text ("accepted 3", "3 accepted", "accepted: 3",
 * "accepted=3"), case-insensitive; -1 when there is none.
 */
static long s_count_near(const char *text, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = strcasestr(text, word); p != NULL; p = strcasestr(p + 1, word)) {
		const char *q = p + wl;
		while (*q == ' ' || *q == ':' || *q == '=' || *q == '\t')
			q++;
		if (isdigit((unsigned char)*q))
			return strtol(q, NULL, 10);
		const char *b = p;
		while (b > text && (b[-1] == ' ' || b[-1] == ':' || b[-1] == '\t'))
			b--;
		const char *e = b;
		while (b > text && isdigit((unsigned char)b[-1]))
			b--;
		if (b < e)
			return strtol(b, NULL, 10);
	}
	return -1;
}

/* push prints the new id; show prints the stages; --json show prints the reply. */
static void test_push_and_show(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	CTL(d, &r, "push", "--provider", "acme", "--event-id", "e1", "--ref", "R1", "--stage",
	    "detected", "--category", "2", "--title", "Link down", "--at",
	    "2021-01-12T04:14:00+01:00");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, I1, "push's stdout");
	h_run_clear(&r);
	CTL(d, &r, "push", "--provider", "acme", "--event-id", "e2", "--ref", "R1", "--stage",
	    "notified", "--at", "2021-01-12T04:20:00+01:00", "--source", "operator");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, I1, "push's stdout");
	h_run_clear(&r);

	/* What the client sent is what the daemon stored. */
	json_t *inc = GET_INCIDENT(d, I1);
	CHECK_STR(inc, "provider", "acme");
	CHECK_STR(inc, "ref", "R1");
	CHECK_STR(inc, "title", "Link down");
	CHECK_INT(inc, "category", 2);
	json_t *tl = json_object_get(inc, "timeline");
	assert_int_equal(json_array_size(tl), 2);
	size_t i;
	json_t *e;
	json_array_foreach(tl, i, e)
	{
		const char *stage = json_string_value(json_object_get(e, "stage"));
		if (stage != NULL && strcmp(stage, "notified") == 0) {
			CHECK_STR(e, "at", "2021-01-12T03:20:00.000Z");
			CHECK_STR(e, "source", "operator");
			CHECK_STR(e, "event_id", "e2");
		}
	}
	json_decref(inc);

	CTL(d, &r, "show", I1);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "detected", "show's stdout");
	expect_in(r.out, "notified", "show's stdout");
	expect_in(r.out, "Link down", "show's stdout");
	h_run_clear(&r);

	CTL(d, &r, "--json", "show", I1);
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json show should print JSON; stdout: %s", r.out);
	CHECK_TRUE(j, "ok");
	CHECK_STR(json_object_get(j, "incident"), "id", I1);
	json_decref(j);
	h_run_clear(&r);
	h_pass(d);
}

/* The daemon's error: exit 1, its code on stderr. */
static void test_show_not_found(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	CTL(d, &r, "show", "INC999999999999");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "not_found", "stderr");
	h_run_clear(&r);
	/* A refused push: exit 1 with the code. */
	CTL(d, &r, "push", "--provider", "acme", "--event-id", "e1", "--ref", "R1", "--stage",
	    "detected", "--title", "no category");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "bad_request", "stderr");
	h_run_clear(&r);
	h_pass(d);
}

/* Nobody listens: exit 3 after about the timeout. */
static void test_no_daemon_exit_3(void **state)
{
	h_daemon_t *d = *state;
	char nobody[H_PATH_MAX + 16];
	snprintf(nobody, sizeof nobody, "ipc://%s/nobody", d->dir);
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"-e", nobody, (char *)"--timeout",
			(char *)"300", (char *)"status", NULL};
	h_run_t r;
	assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
	CHECK_EXIT(&r, 3);
	if (r.elapsed_ms > 3000)
		fail_msg("--timeout 300 took %ld ms", r.elapsed_ms);
	h_run_clear(&r);
	h_pass(d);
}

/* Usage errors: exit 2. */
static void test_usage_errors_exit_2(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	CTL(d, &r, "frobnicate");
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);
	CTL(d, &r, "push", "--event-id", "e1", "--ref", "R1", "--stage", "detected");
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);
	CTL(d, &r, "list", "--no-such-flag");
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);
	/* Nothing reached the daemon. */
	assert_int_equal(STATUS_COUNT(d, "events"), 0);
	h_pass(d);
}

static const char s_push_file[] =
	"{\"provider\":\"acme\",\"event_id\":\"f1\",\"ref\":\"F1\",\"stage\":\"detected\","
	"\"category\":2,\"title\":\"one\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f2\",\"ref\":\"F2\",\"stage\":\"detected\","
	"\"category\":3,\"title\":\"two\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f1\",\"ref\":\"F1\",\"stage\":\"detected\","
	"\"category\":2,\"title\":\"one\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f3\",\"ref\":\"F1\",\"stage\":\"notified\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f4\",\"ref\":\"F3\",\"stage\":\"detected\"\n";

/* push -f: 3 accepted, 1 duplicate, 1 refused -> summary and exit 1. */
static void test_push_file_summary(void **state)
{
	h_daemon_t *d = *state;
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "events.jsonl", s_push_file, path), 0);
	h_run_t r;
	CTL(d, &r, "push", "-f", path);
	CHECK_EXIT(&r, 1);
	size_t n = strlen(r.out) + strlen(r.err) + 2;
	char *all = malloc(n);
	snprintf(all, n, "%s\n%s", r.out, r.err);
	long accepted = s_count_near(all, "accepted"), dup = s_count_near(all, "duplicate"),
	     refused = s_count_near(all, "refused");
	if (accepted != 3 || dup != 1 || refused != 1)
		fail_msg("expected a summary with accepted 3, duplicate 1, refused 1; got %ld %ld "
			 "%ld from:\n%s",
			 accepted, dup, refused, all);
	free(all);
	h_run_clear(&r);
	assert_int_equal(STATUS_COUNT(d, "incidents"), 2);
	assert_int_equal(STATUS_COUNT(d, "events"), 3);

	/* The same good lines from stdin are all duplicates now: nothing refused, exit 0. */
	char good[sizeof s_push_file];
	const char *cut = strstr(s_push_file, "{\"provider\":\"acme\",\"event_id\":\"f4\"");
	snprintf(good, sizeof good, "%.*s", (int)(cut - s_push_file), s_push_file);
	CTL_IN(d, &r, good, "push", "-f", "-");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	assert_int_equal(STATUS_COUNT(d, "events"), 3);
	h_pass(d);
}

/* list shows the open incidents; filters reach the daemon. */
static void test_list(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	CTL(d, &r, "push", "--provider", "acme", "--event-id", "e1", "--ref", "R1", "--stage",
	    "detected", "--category", "2", "--title", "first");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	CTL(d, &r, "push", "--provider", "globex", "--event-id", "g1", "--ref", "G1", "--stage",
	    "detected", "--category", "4", "--title", "second", "--major");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	json_t *inc = GET_INCIDENT(d, I2);
	CHECK_TRUE(inc, "major");
	json_decref(inc);

	CTL(d, &r, "list");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, I1, "list's stdout");
	expect_in(r.out, I2, "list's stdout");
	const char *p1 = strstr(r.out, I1), *p2 = strstr(r.out, I2);
	if (p2 > p1)
		fail_msg("list is newest first:\n%s", r.out);
	h_run_clear(&r);

	CTL(d, &r, "list", "--provider", "globex");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, I2, "list --provider globex");
	if (strstr(r.out, I1) != NULL)
		fail_msg("list --provider globex shows acme's incident:\n%s", r.out);
	h_run_clear(&r);

	CTL(d, &r, "--json", "list", "--major");
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json list should print JSON; stdout: %s", r.out);
	json_t *list = json_object_get(j, "incidents");
	assert_int_equal(json_array_size(list), 1);
	CHECK_STR(json_array_get(list, 0), "id", I2);
	json_decref(j);
	h_run_clear(&r);
	h_pass(d);
}

/* status: exit 0; --json prints the reply; $INCIDENTD_API is the default endpoint. */
static void test_status(void **state)
{
	h_daemon_t *d = *state;
	h_run_t r;
	CTL(d, &r, "status");
	CHECK_EXIT(&r, 0);
	if (r.out[0] == '\0')
		fail_msg("status printed nothing");
	h_run_clear(&r);
	CTL(d, &r, "--json", "status");
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json status should print JSON; stdout: %s", r.out);
	CHECK_TRUE(j, "ok");
	json_decref(j);
	h_run_clear(&r);

	setenv("INCIDENTD_API", d->api, 1);
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"--timeout", (char *)"3000",
			(char *)"status", NULL};
	int rc = h_run(d->dir, argv, NULL, 10000, &r);
	unsetenv("INCIDENTD_API");
	assert_int_equal(rc, 0);
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_push_and_show),
		DAEMON_TEST(test_show_not_found),
		DAEMON_TEST(test_no_daemon_exit_3),
		DAEMON_TEST(test_usage_errors_exit_2),
		DAEMON_TEST(test_push_file_summary),
		DAEMON_TEST(test_list),
		DAEMON_TEST(test_status),
	};
	return cmocka_run_group_tests_name("integration/client", tests, NULL, NULL);
}
