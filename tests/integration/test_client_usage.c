/*
 * incidentctl's command line as an operator meets it: each command's --help with its valid
 * values, usage errors (out-of-range numbers, unknown words, contradictory flags) exiting 2
 * before anything is sent, --tz on human output but not on --json, the forms of --since,
 * the message of a timeout, watch --json and its warning when nothing is connected, push -f's
 * progress line (on a terminal only, with the total of a file) and the open ids of report.
 */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

#define I1 "INC000000000001"
#define B1 "BRE000000000001"

/* Runs incidentctl ARGS... without -e (for runs that name no daemon) with a 10 s bound. */
#define RUN(d, r, ...)                                                                     \
	do {                                                                               \
		char *argv_[] = {(char *)INCIDENTCTL_BIN, __VA_ARGS__, NULL};              \
		assert_int_equal(h_run((d)->dir, argv_, NULL, 10000, (r)), 0);            \
	} while (0)

/* text does not contain needle; what names text in the failure message. */
static void expect_not_in(const char *text, const char *needle, const char *what)
{
	if (strstr(text, needle) != NULL)
		fail_msg("%s should not contain \"%s\"; it is:\n%s", what, needle, text);
}

/* A command's help and what it must mention: its valid values and formats. */
typedef struct {
	const char *argv[3]; /* the command words, then --help */
	const char *usage;   /* how its first line starts */
	const char *mentions[6];
} s_help_case_t;

static const s_help_case_t s_help_cases[] = {
	{{"push"},
	 "usage: incidentctl push --provider P",
	 {"default config's, in order: detected, notified, acknowledged, major_declared,",
	  "closed", "provider, monitoring, user, operator", "RFC 3339", "1 to 5", "push -f FILE"}},
	{{"list"}, "usage: incidentctl list", {"open, resolved, closed, all", "1 to 1000", "1 to 5"}},
	{{"show"}, "usage: incidentctl show INC", {"timeline", "verdict"}},
	{{"breaches"},
	 "usage: incidentctl breaches",
	 {"RFC 3339", "2026-12-05", "24h", "7d", "1 to 10000", "provider_notification"}},
	{{"problem", "create"}, "usage: incidentctl problem create --title T", {"PBI"}},
	{{"problem", "update"},
	 "usage: incidentctl problem update PBI",
	 {"open, known_error, resolved, closed"}},
	{{"problem", "link"}, "usage: incidentctl problem link PBI INC", {"at most one"}},
	{{"problem", "unlink"}, "usage: incidentctl problem unlink PBI INC", {"conflict"}},
	{{"problem", "show"}, "usage: incidentctl problem show PBI", {"incidents"}},
	{{"problem", "list"},
	 "usage: incidentctl problem list",
	 {"open, known_error, resolved, closed", "1 to 1000"}},
	{{"report"}, "usage: incidentctl report --month YYYY-MM", {"01 to 12", "--csv", "--json"}},
	{{"watch"}, "usage: incidentctl watch", {"\"topic\"", "\"message\"", "--publish"}},
	{{"status"}, "usage: incidentctl status", {"uptime"}},
	{{"keygen"}, "usage: incidentctl keygen FILE", {"0600"}},
	{{"problem"},
	 "usage: incidentctl problem create",
	 {"problem update PBI", "problem link PBI INC", "problem list"}},
};

/* Turns every run of white space in text into one space: help wraps its lines. */
static void s_squeeze(char *text)
{
	char *w = text;
	for (const char *p = text; *p != '\0'; p++) {
		bool space = *p == ' ' || *p == '\n';
		if (!space || (w > text && w[-1] != ' '))
			*w++ = space ? ' ' : *p;
	}
	*w = '\0';
}

/* COMMAND --help: exit 0, the command's usage and its valid values on stdout, nothing on stderr. */
static void test_help_per_command(void **state)
{
	h_daemon_t *d = *state;
	for (size_t i = 0; i < sizeof s_help_cases / sizeof s_help_cases[0]; i++) {
		const s_help_case_t *c = &s_help_cases[i];
		char *argv[6] = {(char *)INCIDENTCTL_BIN};
		int n = 1;
		for (int k = 0; k < 3 && c->argv[k] != NULL; k++)
			argv[n++] = (char *)c->argv[k];
		argv[n++] = (char *)"--help";
		h_run_t r;
		assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
		CHECK_EXIT(&r, 0);
		if (strncmp(r.out, c->usage, strlen(c->usage)) != 0)
			fail_msg("%s %s --help should start with \"%s\":\n%s", c->argv[0],
				 c->argv[1] ? c->argv[1] : "", c->usage, r.out);
		s_squeeze(r.out);
		for (int k = 0; k < 6 && c->mentions[k] != NULL; k++)
			expect_in(r.out, c->mentions[k], c->usage);
		if (r.err[0] != '\0')
			fail_msg("--help wrote to stderr: %s", r.err);
		h_run_clear(&r);
	}
	/* -h too, and after other arguments; the general help names every command. */
	h_run_t r;
	RUN(d, &r, (char *)"list", (char *)"--limit", (char *)"5", (char *)"-h");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "usage: incidentctl list", "list -h");
	h_run_clear(&r);
	RUN(d, &r, (char *)"--help");
	CHECK_EXIT(&r, 0);
	static const char *const all[] = {"push", "list", "show", "breaches", "problem update",
					  "report", "watch", "status", "keygen", "--tz ZONE"};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		expect_in(r.out, all[i], "--help");
	h_run_clear(&r);
	h_pass(d);
}

/* A command line that must be refused: exit 2, mention on stderr, nothing on stdout. */
typedef struct {
	const char *argv[12];
	const char *mention;
} s_usage_case_t;

static const s_usage_case_t s_usage_cases[] = {
	{{"list", "--limit", "0"}, "--limit"},
	{{"list", "--limit", "1001"}, "--limit"},
	{{"list", "--limit", "ten"}, "--limit"},
	{{"list", "--category", "6"}, "--category"},
	{{"list", "--category", "0"}, "--category"},
	{{"list", "--status", "pending"}, "--status"},
	{{"breaches", "--limit", "10001"}, "--limit"},
	{{"problem", "list", "--limit", "0"}, "--limit"},
	{{"problem", "list", "--status", "done"}, "--status"},
	{{"problem", "update", "PBI000000000001", "--status", "done"}, "--status"},
	{{"--timeout", "0", "status"}, "--timeout"},
	{{"--timeout", "-5", "status"}, "--timeout"},
	{{"status", "--timeout", "0"}, "--timeout"},
	{{"push", "--provider", "acme", "--event-id", "e1", "--ref", "R1", "--stage", "detected",
	  "--category", "6"},
	 "--category"},
	{{"push", "--provider", "acme", "--event-id", "e1", "--ref", "R1", "--stage", "detected",
	  "--source", "robot"},
	 "--source"},
	{{"push", "--provider", "acme", "--event-id", "e1", "--ref", "R1", "--stage", "detected",
	  "--at", "yesterday"},
	 "--at"},
	{{"report", "--month", "2020-13"}, "--month"},
	{{"report", "--month", "December"}, "--month"},
	{{"--json", "report", "--month", "2020-12", "--csv"}, "--csv"},
	{{"report", "--csv", "--month", "2020-12", "--json"}, "--csv"},
	{{"breaches", "--since", "yesterday"}, "--since"},
	{{"breaches", "--since", "0h"}, "--since"},
	{{"breaches", "--since", "5x"}, "--since"},
	{{"breaches", "--since", "2026-13-01"}, "--since"},
	{{"--tz", "Mars/Olympus_Mons", "list"}, "Mars/Olympus_Mons"},
	{{"list", "--tz", "zone.tab"}, "--tz"},
	{{"list", "--tz", "../etc/passwd"}, "--tz"},
};

/* Every usage error exits 2 and names what was wrong; nothing reaches the daemon. */
static void test_usage_errors_exit_2(void **state)
{
	h_daemon_t *d = *state;
	for (size_t i = 0; i < sizeof s_usage_cases / sizeof s_usage_cases[0]; i++) {
		const s_usage_case_t *c = &s_usage_cases[i];
		char *argv[16] = {(char *)INCIDENTCTL_BIN, (char *)"-e", d->api};
		int n = 3;
		for (int k = 0; k < 12 && c->argv[k] != NULL; k++)
			argv[n++] = (char *)c->argv[k];
		h_run_t r;
		assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
		if (r.status != 2 || strstr(r.err, c->mention) == NULL || r.out[0] != '\0')
			fail_msg("case %zu (%s %s %s ...): expected exit 2 and stderr naming %s; "
				 "got %d\nstdout: %s\nstderr: %s",
				 i, c->argv[0], c->argv[1], c->argv[2] ? c->argv[2] : "", c->mention,
				 r.status, r.out, r.err);
		h_run_clear(&r);
	}
	/* An unknown zone in the environment is the same error, naming the variable. */
	setenv("INCIDENTD_TZ", "Nowhere/At_All", 1);
	h_run_t r;
	CTL(d, &r, "list");
	unsetenv("INCIDENTD_TZ");
	CHECK_EXIT(&r, 2);
	expect_in(r.err, "$INCIDENTD_TZ", "stderr");
	h_run_clear(&r);

	assert_int_equal(STATUS_COUNT(d, "events"), 0);
	assert_int_equal(STATUS_COUNT(d, "problems"), 0);

	/* The ends of the ranges are accepted. */
	static const char *const fine[][4] = {
		{"list", "--limit", "1"},          {"list", "--limit", "1000"},
		{"list", "--category", "5"},       {"breaches", "--limit", "10000"},
		{"list", "--status", "all"},       {"problem", "list", "--status", "known_error"},
		{"--timeout", "1000", "status"},
	};
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
		char *argv[8] = {(char *)INCIDENTCTL_BIN, (char *)"-e", d->api};
		int n = 3;
		for (int k = 0; k < 4 && fine[i][k] != NULL; k++)
			argv[n++] = (char *)fine[i][k];
		assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
		CHECK_EXIT(&r, 0);
		h_run_clear(&r);
	}
	h_pass(d);
}

/* Opens an incident detected at at (category 1, so that a breach comes on arrival). */
static void s_push_detected(h_daemon_t *d, const char *event_id, const char *ref,
			    const char *at)
{
	h_run_t r;
	CTL(d, &r, "push", "--provider", "acme", "--event-id", (char *)event_id, "--ref",
	    (char *)ref, "--stage", "detected", "--category", "1", "--title", "Link down", "--at",
	    (char *)at);
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
}

/* --tz (and $INCIDENTD_TZ) moves human output to the zone, with its offset; --json stays UTC. */
static void test_tz(void **state)
{
	h_daemon_t *d = *state;
	s_push_detected(d, "e1", "R1", "2021-01-12T03:14:00Z");
	s_push_detected(d, "e2", "R2", "2021-07-01T12:00:00Z");
	h_run_t r;
	CTL(d, &r, "show", I1);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "2021-01-12T03:14:00+00:00", "show in UTC");
	h_run_clear(&r);

	CTL(d, &r, "--tz", "Europe/Paris", "show", I1);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "2021-01-12T04:14:00+01:00", "show --tz Europe/Paris");
	expect_not_in(r.out, "03:14:00", "show --tz Europe/Paris");
	/* The due time of the verdicts too: 30 minutes after detection. */
	expect_in(r.out, "due 2021-01-12T04:44:00+01:00", "show --tz Europe/Paris");
	h_run_clear(&r);

	/* After the command, and summer time in July. */
	CTL(d, &r, "list", "--tz", "Europe/Paris");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "2021-07-01T14:00:00+02:00", "list --tz Europe/Paris");
	expect_in(r.out, "2021-01-12T04:14:00+01:00", "list --tz Europe/Paris");
	h_run_clear(&r);

	setenv("INCIDENTD_TZ", "Asia/Kolkata", 1);
	CTL(d, &r, "breaches");
	unsetenv("INCIDENTD_TZ");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "2021-01-12T09:14:00+05:30", "breaches with $INCIDENTD_TZ=Asia/Kolkata");
	h_run_clear(&r);

	/* JSON is the daemon's reply: UTC with milliseconds, whatever the zone. */
	CTL(d, &r, "--tz", "Europe/Paris", "--json", "show", I1);
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json show should print JSON; stdout: %s", r.out);
	json_t *first = json_array_get(json_object_get(json_object_get(j, "incident"), "timeline"), 0);
	CHECK_STR(first, "at", "2021-01-12T03:14:00.000Z");
	json_decref(j);
	expect_not_in(r.out, "+01:00", "--json show --tz Europe/Paris");
	h_run_clear(&r);
	h_pass(d);
}

/*
 * Runs breaches --since since (--tz zone when not NULL) and tells whether B1 was listed; the
 * run must succeed and print either a table or "no breaches".
 */
static bool s_since_lists_b1(h_daemon_t *d, const char *since, const char *zone)
{
	char *argv[10] = {(char *)INCIDENTCTL_BIN, (char *)"-e", d->api, (char *)"breaches",
			  (char *)"--since", (char *)since};
	if (zone != NULL) {
		argv[6] = (char *)"--tz";
		argv[7] = (char *)zone;
	}
	h_run_t r;
	assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
	CHECK_EXIT(&r, 0);
	bool listed = strstr(r.out, B1) != NULL;
	if (!listed)
		expect_in(r.out, "no breaches", "breaches' stdout");
	h_run_clear(&r);
	return listed;
}

/* --since: RFC 3339, a date (midnight in the --tz zone) or a duration back from now. */
static void test_since_forms(void **state)
{
	h_daemon_t *d = *state;
	s_push_detected(d, "e1", "R1", "2021-01-12T03:14:00Z");
	/* When the breach was detected: its arrival, now. */
	h_run_t r;
	CTL(d, &r, "--json", "breaches");
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	json_t *b = json_array_get(json_object_get(j, "breaches"), 0);
	CHECK_STR(b, "breach", B1);
	int64_t detected = h_parse_utc_ms(json_string_value(json_object_get(b, "detected_at")));
	json_decref(j);
	h_run_clear(&r);
	assert_true(detected > 0);

	assert_true(s_since_lists_b1(d, "2000-01-01T00:00:00Z", NULL));
	assert_false(s_since_lists_b1(d, "2099-01-01T00:00:00+01:00", NULL));
	assert_true(s_since_lists_b1(d, "2000-01-01", NULL));
	assert_false(s_since_lists_b1(d, "2099-12-31", NULL));
	assert_true(s_since_lists_b1(d, "30m", NULL));
	assert_true(s_since_lists_b1(d, "24h", NULL));
	assert_true(s_since_lists_b1(d, "7d", NULL));

	/*
	 * A date is its midnight in the --tz zone. Detected before noon UTC: the same day's
	 * midnight in UTC-12 (12:00 UTC) is after it, UTC's before. From noon: the next day's
	 * midnight in UTC+14 (10:00 UTC of the detection day) is before it, UTC's after.
	 */
	char date[16];
	time_t t = (time_t)(detected / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	bool morning = tm.tm_hour < 12;
	if (!morning) {
		t += 86400;
		gmtime_r(&t, &tm);
	}
	strftime(date, sizeof date, "%Y-%m-%d", &tm);
	const char *zone = morning ? "Etc/GMT+12" : "Etc/GMT-14";
	if (s_since_lists_b1(d, date, NULL) != morning ||
	    s_since_lists_b1(d, date, zone) != !morning)
		fail_msg("--since %s: in UTC the breach detected at %lld should be %s, with --tz "
			 "%s %s",
			 date, (long long)detected, morning ? "listed" : "left out", zone,
			 morning ? "left out" : "listed");

	/* A duration counts back from now: wait until the breach is older than one second. */
	while (h_now_ms() - detected < 1500)
		usleep(100 * 1000);
	assert_false(s_since_lists_b1(d, "1s", NULL));
	assert_true(s_since_lists_b1(d, "60s", NULL));
	h_pass(d);
}

/* A timeout says where nobody answered and that the daemon may not be running there. */
static void test_timeout_message(void **state)
{
	h_daemon_t *d = *state;
	char nobody[H_PATH_MAX + 16], expect[H_PATH_MAX + 64];
	snprintf(nobody, sizeof nobody, "ipc://%s/nobody", d->dir);
	snprintf(expect, sizeof expect, "no answer from %s within 300 ms", nobody);
	h_run_t r;
	RUN(d, &r, (char *)"-e", nobody, (char *)"--timeout", (char *)"300", (char *)"status");
	CHECK_EXIT(&r, 3);
	expect_in(r.err, expect, "stderr");
	expect_in(r.err, "may not be running", "stderr");
	h_run_clear(&r);

	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "one.jsonl",
				      "{\"provider\":\"a\",\"event_id\":\"1\",\"ref\":\"R\","
				      "\"stage\":\"detected\",\"category\":1,\"title\":\"t\"}\n",
				      path),
			 0);
	RUN(d, &r, (char *)"-e", nobody, (char *)"--timeout", (char *)"300", (char *)"push",
	    (char *)"-f", path);
	CHECK_EXIT(&r, 3);
	expect_in(r.err, expect, "push -f's stderr");
	expect_in(r.err, "may not be running", "push -f's stderr");
	h_run_clear(&r);
	h_pass(d);
}

/* watch --json: one line per message, {"topic": T, "message": BODY} and nothing else. */
static void test_watch_json(void **state)
{
	h_daemon_t *d = *state;
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"--json", (char *)"watch",
			(char *)"--publish", d->pub, (char *)"incident.opened", NULL};
	h_child_t c;
	assert_int_equal(h_child_start(&c, d->dir, argv), 0);
	/* The subscription is in place once an incident opened after it is printed (bounded). */
	const char *line = NULL;
	char id[32] = "";
	for (int i = 0; i < 30 && line == NULL; i++) {
		char eid[16], ref[16];
		snprintf(eid, sizeof eid, "w%d", i);
		snprintf(ref, sizeof ref, "W%d", i);
		json_t *ev = h_event("acme", eid, ref, "detected");
		json_object_set_new(ev, "category", json_integer(3));
		json_object_set_new(ev, "title", json_string("watched"));
		PUSH_OK(d, ev, id);
		line = h_child_wait_line(&c, id, NULL, 300);
	}
	int st = h_child_stop(&c);
	if (line == NULL)
		fail_msg("watch --json printed no line about %s within 9 s: %s", id, c.out);
	assert_int_equal(st, 0);
	/* Every line is an object of exactly topic and message. */
	for (char *p = c.out; *p != '\0';) {
		char *nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		json_t *obj = json_loads(p, 0, NULL);
		if (!json_is_object(obj) || json_object_size(obj) != 2)
			fail_msg("watch --json line is not {\"topic\", \"message\"}: %s", p);
		CHECK_STR(obj, "topic", "incident.opened");
		json_t *msg = json_object_get(obj, "message");
		CHECK_OBJECT(obj, "message");
		if (!json_is_integer(json_object_get(msg, "seq")) ||
		    !json_is_string(json_object_get(msg, "incident")))
			fail_msg("watch --json message should be the published body: %s", p);
		json_decref(obj);
		p = nl + 1;
	}
	h_pass(d);
}

/* watch warns once on stderr after --timeout when nothing is connected, and goes on waiting. */
static void test_watch_not_connected(void **state)
{
	h_daemon_t *d = *state;
	char nobody[H_PATH_MAX + 16], expect[H_PATH_MAX + 64];
	snprintf(nobody, sizeof nobody, "ipc://%s/nobody", d->dir);
	snprintf(expect, sizeof expect, "not connected to %s after 300 ms", nobody);
	h_run_t r;
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"--timeout", (char *)"300",
			(char *)"watch", (char *)"--publish", nobody, NULL};
	/* watch runs until killed: h_run's bound ends it (status -1), its stderr is kept. */
	assert_int_equal(h_run(d->dir, argv, NULL, 1500, &r), 0);
	assert_int_equal(r.status, -1);
	expect_in(r.err, expect, "watch's stderr");
	expect_in(r.err, "may not be running", "watch's stderr");
	const char *first = strstr(r.err, "not connected");
	if (strstr(first + 1, "not connected") != NULL)
		fail_msg("watch should warn once: %s", r.err);
	h_run_clear(&r);

	/* Connected to the daemon: no warning. */
	char *ok[] = {(char *)INCIDENTCTL_BIN, (char *)"--timeout", (char *)"300", (char *)"watch",
		      (char *)"--publish", d->pub, NULL};
	assert_int_equal(h_run(d->dir, ok, NULL, 1500, &r), 0);
	assert_int_equal(r.status, -1);
	expect_not_in(r.err, "not connected", "watch's stderr");
	h_run_clear(&r);
	h_pass(d);
}

static const char s_five_events[] =
	"{\"provider\":\"acme\",\"event_id\":\"f1\",\"ref\":\"F1\",\"stage\":\"detected\","
	"\"category\":2,\"title\":\"one\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f2\",\"ref\":\"F2\",\"stage\":\"detected\","
	"\"category\":3,\"title\":\"two\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f3\",\"ref\":\"F3\",\"stage\":\"detected\","
	"\"category\":3,\"title\":\"three\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f4\",\"ref\":\"F1\",\"stage\":\"notified\"}\n"
	"{\"provider\":\"acme\",\"event_id\":\"f5\",\"ref\":\"F2\",\"stage\":\"notified\"}\n";

/*
 * Runs argv with stdout and stderr on a new pseudo-terminal (stdin from /dev/null), killed
 * after timeout_ms; *out receives what it wrote (malloc'd). Returns the exit status or -1.
 */
static int s_run_on_pty(char *const argv[], int timeout_ms, char **out)
{
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		dup2(in, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int64_t deadline = h_mono_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		int left = (int)(deadline - h_mono_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		ssize_t n = read(master, buf + len, cap - len - 1);
		if (n <= 0) /* EIO once the child closed its side */
			break;
		len += (size_t)n;
		if (len + 1 >= cap)
			break;
	}
	buf[len] = '\0';
	*out = buf;
	close(master);
	/* Its output ends a moment before it exits. */
	int st;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (h_mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(10 * 1000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* push -f: a progress line with the file's total on a terminal; none into a pipe. */
static void test_push_progress(void **state)
{
	h_daemon_t *d = *state;
	char path[H_PATH_MAX];
	assert_int_equal(h_write_file(d, "five.jsonl", s_five_events, path), 0);
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"-e", d->api, (char *)"push", (char *)"-f",
			path, NULL};
	char *out = NULL;
	int st = s_run_on_pty(argv, 10000, &out);
	if (st != 0)
		fail_msg("push -f on a terminal: exit %d, output: %s", st, out);
	expect_in(out, "line 5 of 5", "push -f's terminal");
	expect_in(out, "accepted 5", "push -f's terminal");
	free(out);

	/* Into pipes (h_run): the summary only, no progress line. The same lines: duplicates. */
	h_run_t r;
	assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "duplicate 5", "push -f's stdout");
	expect_not_in(r.err, "\r", "push -f's stderr into a pipe");
	expect_not_in(r.err, "line 5", "push -f's stderr into a pipe");
	h_run_clear(&r);

	/* From a pipe on a terminal: the lines done, no total. */
	char cmd[3 * H_PATH_MAX + 64]; /* the paths and the binary's, however long the build dir */
	snprintf(cmd, sizeof cmd, "cat %s | %s -e %s push -f -", path, INCIDENTCTL_BIN, d->api);
	char *sh[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};
	st = s_run_on_pty(sh, 10000, &out);
	if (st != 0)
		fail_msg("push -f - on a terminal: exit %d, output: %s", st, out);
	expect_in(out, "line 5:", "push -f -'s terminal");
	expect_not_in(out, " of 5", "push -f -'s terminal");
	free(out);
	h_pass(d);
}

/* report lists the ids of the incidents open at the month's end, per provider. */
static void test_report_open_ids(void **state)
{
	h_daemon_t *d = *state;
	s_push_detected(d, "e1", "R1", "2021-01-12T03:14:00Z");
	s_push_detected(d, "e2", "R2", "2021-01-13T03:14:00Z");
	s_push_detected(d, "e3", "R3", "2021-01-14T03:14:00Z");
	h_run_t r;
	CTL(d, &r, "push", "--provider", "acme", "--event-id", "e4", "--ref", "R2", "--stage",
	    "resolved", "--at", "2021-01-20T00:00:00Z");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	CTL(d, &r, "report", "--month", "2021-01");
	CHECK_EXIT(&r, 0);
	const char *open = strstr(r.out, "open at the end of the month");
	if (open == NULL)
		fail_msg("report should list the open incidents' ids:\n%s", r.out);
	expect_in(open, "acme", "report's open ids");
	expect_in(open, "INC000000000001", "report's open ids");
	expect_in(open, "INC000000000003", "report's open ids");
	expect_not_in(r.out, "INC000000000002", "report (INC000000000002 was resolved)");
	h_run_clear(&r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_help_per_command),  DAEMON_TEST(test_usage_errors_exit_2),
		DAEMON_TEST(test_tz),                DAEMON_TEST(test_since_forms),
		DAEMON_TEST(test_timeout_message),   DAEMON_TEST(test_watch_json),
		DAEMON_TEST(test_watch_not_connected), DAEMON_TEST(test_push_progress),
		DAEMON_TEST(test_report_open_ids),
	};
	return cmocka_run_group_tests_name("integration/client_usage", tests, NULL, NULL);
}
