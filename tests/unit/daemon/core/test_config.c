/*
 * Tests of daemon/core/config.c: what a user sees from a config file, the built-in defaults and
 * --check-config messages, which must name FILE:LINE exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/core/config.h"
#include "proto/rfc3339.h"
#include "proto/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_NAME "config/x.conf"

/* The system's zones, as far as these tests are concerned: parsing itself does no I/O. */
static bool s_zone_exists(const char *name)
{
	static const char *const zones[] = {"Europe/London", "America/New_York", "UTC", NULL};
	for (size_t i = 0; zones[i]; i++)
		if (strcmp(name, zones[i]) == 0)
			return true;
	return false;
}

/* Keys of the tests (valid Z85), and the key files the fake env knows. */
#define KEY_A "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_B "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
#define KEY_C "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

/* /keys/a.pub holds KEY_A; /keys/server.key the pair KEY_A/KEY_B; others do not exist. */
static int s_read_key_file(const char *path, bool secret, keyfile_t *out, char *err,
                           size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (strcmp(path, "/keys/a.pub") == 0 && !secret) {
		strcpy(out->public_key, KEY_A);
		return 0;
	}
	if (strcmp(path, "/keys/server.key") == 0) {
		strcpy(out->public_key, KEY_A);
		strcpy(out->secret_key, KEY_B);
		return 0;
	}
	snprintf(err, errlen, "%s: No such file or directory", path);
	return -1;
}

static const config_env_t s_env = {.zone_exists = s_zone_exists, .read_key_file = s_read_key_file};

/* Parses text that must be valid; fails the test with the messages when it is not. */
static config_t *s_parse_ok(const char *text)
{
	config_diag_t diag = {0};
	config_t *cfg = config_parse(text, FILE_NAME, &s_env, &diag);
	for (size_t i = 0; i < diag.n; i++)
		print_error("unexpected: %s\n", diag.lines[i]);
	assert_int_equal(diag.n, 0);
	assert_non_null(cfg);
	config_diag_release(&diag);
	return cfg;
}

/* Parses text that must be refused with exactly the expected messages, in order. */
static void s_expect_errors(const char *text, const char *const *expected)
{
	config_diag_t diag = {0};
	config_t *cfg = config_parse(text, FILE_NAME, &s_env, &diag);
	size_t n = 0;
	while (expected[n] != NULL)
		n++;
	for (size_t i = 0; i < diag.n; i++)
		if (i >= n || strcmp(diag.lines[i], expected[i]) != 0)
			print_error("got:      %s\nexpected: %s\n", diag.lines[i],
			            i < n ? expected[i] : "(nothing)");
	assert_null(cfg);
	assert_int_equal(diag.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(diag.lines[i], expected[i]);
	config_diag_release(&diag);
	assert_int_equal(diag.n, 0);
}

#define EXPECT_ERRORS(text, ...) s_expect_errors(text, (const char *const[]){__VA_ARGS__, NULL})

/* What a bad url message says a url looks like. */
#define URL_FORMS "(expected http://HOST[:PORT]/... or https://HOST[:PORT]/..., PORT 1 to 65535)"

/* A valid SLA section to put around the thing under test. */
#define SLA_OK "[sla s]\nstart = detected\nstop = notified\ncategory.1 = 30m\n"

/* ---------------------------------------------------------------------------------------- */

static void test_default_is_the_shipped_file(void **state)
{
	(void)state;
	/* The source tree is four levels above this file: tests/unit/daemon/core/test_config.c. */
	char path[4096];
	snprintf(path, sizeof path, "%s", __FILE__);
	char *cut = strstr(path, "tests/unit/daemon/core/test_config.c");
	assert_non_null(cut);
	strcpy(cut, "config/incidentd.conf");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *text = calloc(1, 1 << 20);
	size_t len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(len > 0);
	assert_string_equal(config_default_text(), text);

	config_diag_t diag = {0};
	config_t *cfg = config_parse(text, path, &s_env, &diag);
	assert_non_null(cfg);
	assert_int_equal(diag.n, 0);
	assert_string_equal(cfg->data_dir, "var/incidentd");
	config_destroy(&cfg);
	free(text);
}

static void test_default_values(void **state)
{
	(void)state;
	config_t *cfg = config_default();
	assert_non_null(cfg);
	assert_string_equal(cfg->data_dir, "var/incidentd");
	assert_int_equal(cfg->n_api, 1);
	assert_string_equal(cfg->api[0], "tcp://127.0.0.1:7420");
	assert_null(cfg->api[1]);
	assert_int_equal(cfg->n_publish, 1);
	assert_string_equal(cfg->publish[0], "tcp://127.0.0.1:7421");
	assert_null(cfg->publish[1]);
	assert_int_equal(cfg->max_request_bytes, 65536);
	assert_int_equal(cfg->map_size, 64u << 20);

	static const char *const order[] = {"detected",       "notified",       "acknowledged",
	                                    "major_declared", "parties_notified", "workaround",
	                                    "resolved",       "summary_report", "review_report",
	                                    "closed"};
	assert_int_equal(cfg->n_stages, 10);
	for (size_t i = 0; i < 10; i++)
		assert_string_equal(cfg->stages[i], order[i]);
	assert_int_equal(cfg->resolved_stage, 6);
	assert_int_equal(cfg->closed_stage, 9);
	assert_int_equal(cfg->major_stage, 3);
	assert_int_equal(config_stage_index(cfg, "acknowledged"), 2);
	assert_int_equal(config_stage_index(cfg, "nope"), -1);

	assert_int_equal(cfg->calendar.days, 0x3e); /* Monday .. Friday */
	assert_int_equal(cfg->calendar.start_minute, 8 * 60);
	assert_int_equal(cfg->calendar.end_minute, 18 * 60);
	assert_int_equal(cfg->calendar.n_holidays, 0);
	assert_string_equal(cfg->calendar.timezone, "Europe/London");

	/* The example policy: the rules in file order. */
	static const char *const rules[] = {"provider_notification", "operator_acknowledgement",
	                                    "resolution", "major_users_notified",
	                                    "major_summary_report", "major_review_report"};
	assert_int_equal(cfg->n_rules, 7);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(cfg->rules[i].name, rules[i]);
		assert_int_equal(cfg->rules[i].kind, RULE_SLA);
	}
	assert_true(cfg->rules[2].stop_clock_reported);
	assert_int_equal(cfg->rules[2].target[3].kind, DURATION_WORKING_DAYS);
	assert_int_equal(cfg->rules[2].target[3].value, 2);
	assert_true(cfg->rules[3].major_only);
	assert_int_equal(cfg->rules[3].start, 3);
	assert_int_equal(cfg->rules[3].stop, 4);
	assert_int_equal(cfg->rules[5].stop, 8);
	assert_int_equal(cfg->rules[5].target[1].value, 20);
	const config_rule_t *sla = &cfg->rules[0];
	assert_string_equal(sla->name, "provider_notification");
	assert_int_equal(sla->start, 0);
	assert_int_equal(sla->stop, 1);
	assert_false(sla->stop_clock_reported);
	assert_false(sla->major_only);
	assert_false(sla->working_calendar);
	/* The shipped policy: the provider's own detection, its own notification, before_user. */
	assert_int_equal(sla->start_sources, (1u << SOURCE_PROVIDER) | (1u << SOURCE_MONITORING));
	assert_int_equal(sla->stop_sources, 1u << SOURCE_PROVIDER);
	assert_false(sla->start_clock_received);
	assert_true(sla->before_user);
	assert_true(cfg->rules[1].start_clock_received); /* acknowledgement: from the arrival */
	assert_int_equal(cfg->rules[2].start_sources, WIRE_ALL_SOURCES);
	assert_false(cfg->rules[2].before_user);
	assert_int_equal(cfg->notified_stage, 1);
	assert_int_equal(cfg->max_clock_skew_ms, 5 * 60000);
	static const int64_t targets[] = {0, 30 * 60000, 30 * 60000, 2 * 3600000, 86400000,
	                                  86400000};
	for (int c = 1; c <= 5; c++) {
		assert_true(sla->has_target[c]);
		assert_int_equal(sla->target[c].kind, DURATION_CLOCK);
		assert_int_equal(sla->target[c].value, targets[c]);
	}
	assert_int_equal(cfg->n_hooks, 0);
	/* A problem rule is a rule like the others: its within is the target of every category. */
	const config_rule_t *pr = &cfg->rules[6];
	assert_string_equal(pr->name, "major_needs_problem");
	assert_int_equal(pr->kind, RULE_PROBLEM);
	assert_int_equal(config_rule_kinds[pr->kind].stops_at, RULE_STOPS_AT_LINK);
	assert_string_equal(config_rule_kinds[pr->kind].report_key, "problem_rules");
	assert_int_equal(pr->applies, APPLIES_MAJOR);
	assert_true(pr->major_only);
	assert_int_equal(pr->start, 6);
	assert_int_equal(pr->stop, -1);
	for (int c = 1; c <= 5; c++) {
		assert_true(pr->has_target[c]);
		assert_int_equal(pr->target[c].kind, DURATION_WORKING_DAYS);
		assert_int_equal(pr->target[c].value, 2);
	}
	config_destroy(&cfg);
	assert_null(cfg);
	config_destroy(&cfg); /* NULL is accepted */
}

/*
 * An empty file is complete: [daemon], [stages] and [calendar] take the values of the shipped
 * config/incidentd.conf (one source for both), and it has no rules or hooks.
 */
static void test_empty_file_takes_defaults(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok("");
	config_t *shipped = config_default();
	assert_non_null(shipped);
	assert_string_equal(cfg->data_dir, shipped->data_dir);
	assert_string_equal(cfg->data_dir, "var/incidentd");
	assert_int_equal(cfg->n_api, shipped->n_api);
	assert_string_equal(cfg->api[0], shipped->api[0]);
	assert_string_equal(cfg->publish[0], shipped->publish[0]);
	assert_int_equal(cfg->max_request_bytes, shipped->max_request_bytes);
	assert_int_equal(cfg->map_size, shipped->map_size);
	assert_int_equal(cfg->n_stages, shipped->n_stages);
	for (size_t i = 0; i < cfg->n_stages; i++)
		assert_string_equal(cfg->stages[i], shipped->stages[i]);
	assert_int_equal(cfg->n_stages, 10);
	assert_int_equal(cfg->resolved_stage, shipped->resolved_stage);
	assert_int_equal(cfg->closed_stage, shipped->closed_stage);
	assert_int_equal(cfg->major_stage, shipped->major_stage);
	assert_int_equal(cfg->calendar.days, shipped->calendar.days);
	assert_int_equal(cfg->calendar.start_minute, shipped->calendar.start_minute);
	assert_int_equal(cfg->calendar.end_minute, shipped->calendar.end_minute);
	assert_int_equal(cfg->calendar.n_holidays, 0);
	assert_string_equal(cfg->calendar.timezone, shipped->calendar.timezone);
	assert_int_equal(cfg->n_rules, 0);
	assert_int_equal(cfg->n_hooks, 0);
	config_destroy(&shipped);
	config_destroy(&cfg);

	/* A file's own [stages] replaces the shipped order, and its keys stand as written. */
	cfg = s_parse_ok("[stages]\norder = detected, notified, resolved, closed\n");
	assert_int_equal(cfg->n_stages, 4);
	assert_int_equal(cfg->resolved_stage, 2);
	assert_int_equal(cfg->closed_stage, 3);
	config_destroy(&cfg);
}

static void test_full_config(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok(
		"[daemon]\n"
		"data_dir = /srv/inc\n"
		"api = tcp://*:1, ipc:///run/inc.sock ,inproc://x\n"
		"max_request_bytes = 1k\n"
		"map_size = 2g\n"
		"[calendar]\n"
		"days = sat-sun, wed\n"
		"hours = 00:00-24:00\n"
		"holidays = 2020-12-28, 2020-02-29, 2020-12-25, 2020-12-28\n"
		"timezone = America/New_York\n"
		"[sla fix]\n"
		"start = acknowledged\n"
		"stop = resolved\n"
		"stop_clock = reported\n"
		"major = true\n"
		"calendar = working\n"
		"category.1 = 4wh\n"
		"category.3 = 2wd\n"
		"[hook pager]\n"
		"exec = /usr/local/bin/page-oncall   --team\tops\n"
		"topics = breach., incident.opened\n"
		"timeout = 1500ms\n"
		"max_attempts = 3\n"
		"give_up_after = 2h\n"
		"backoff = 2s\n"
		"max_backoff = 2s\n"
		"[hook web]\n"
		"url = https://example.com/alerts\n"
		"secret = s3cret\n"
		"[problem_rule major_needs_problem]\n"
		"applies = category.2\n"
		"start = resolved\n"
		"within = 2wd\n"
		"calendar = working\n");
	assert_string_equal(cfg->data_dir, "/srv/inc");
	assert_int_equal(cfg->n_api, 3);
	assert_string_equal(cfg->api[1], "ipc:///run/inc.sock");
	assert_string_equal(cfg->api[2], "inproc://x");
	assert_null(cfg->api[3]);
	assert_string_equal(cfg->publish[0], "tcp://127.0.0.1:7421");
	assert_int_equal(cfg->max_request_bytes, 1024);
	assert_int_equal(cfg->map_size, (size_t)2 << 30);

	assert_int_equal(cfg->calendar.days, (1u << 0) | (1u << 6) | (1u << 3));
	assert_int_equal(cfg->calendar.start_minute, 0);
	assert_int_equal(cfg->calendar.end_minute, 24 * 60);
	assert_int_equal(cfg->calendar.n_holidays, 3); /* sorted, the repeat dropped */
	assert_int_equal(cfg->calendar.holidays[0], rfc3339_days_from_civil(2020, 2, 29));
	assert_int_equal(cfg->calendar.holidays[1], rfc3339_days_from_civil(2020, 12, 25));
	assert_int_equal(cfg->calendar.holidays[2], rfc3339_days_from_civil(2020, 12, 28));
	assert_string_equal(cfg->calendar.timezone, "America/New_York");

	const config_rule_t *sla = &cfg->rules[0];
	assert_int_equal(sla->start, 2);
	assert_int_equal(sla->stop, 6);
	assert_true(sla->stop_clock_reported && sla->major_only && sla->working_calendar);
	assert_true(sla->has_target[1] && !sla->has_target[2] && sla->has_target[3]);
	assert_false(sla->has_target[4] || sla->has_target[5]);
	assert_int_equal(sla->target[1].kind, DURATION_WORKING_MS);
	assert_int_equal(sla->target[1].value, 4 * 3600000);
	assert_int_equal(sla->target[3].kind, DURATION_WORKING_DAYS);
	assert_int_equal(sla->target[3].value, 2);

	assert_int_equal(cfg->n_hooks, 2);
	const config_hook_t *pager = &cfg->hooks[0], *web = &cfg->hooks[1];
	assert_string_equal(pager->name, "pager");
	assert_string_equal(pager->exec_argv[0], "/usr/local/bin/page-oncall");
	assert_string_equal(pager->exec_argv[1], "--team");
	assert_string_equal(pager->exec_argv[2], "ops");
	assert_null(pager->exec_argv[3]);
	assert_null(pager->url);
	assert_int_equal(pager->n_topics, 2);
	assert_string_equal(pager->topics[1], "incident.opened");
	assert_int_equal(pager->timeout_ms, 1500);
	assert_int_equal(pager->max_attempts, 3);
	assert_int_equal(pager->give_up_after_ms, 2 * 3600000);
	assert_int_equal(pager->backoff_ms, 2000);
	assert_int_equal(pager->max_backoff_ms, 2000);
	/* the defaults of the contract */
	assert_null(web->exec_argv);
	assert_string_equal(web->url, "https://example.com/alerts");
	assert_string_equal(web->secret, "s3cret");
	assert_int_equal(web->n_topics, 1);
	assert_string_equal(web->topics[0], "breach.");
	assert_null(web->topics[1]);
	assert_int_equal(web->timeout_ms, 5000);
	assert_int_equal(web->max_attempts, 10); /* the contract's default */
	assert_int_equal(web->give_up_after_ms, 24 * 3600000);
	assert_int_equal(web->backoff_ms, 1000);
	assert_int_equal(web->max_backoff_ms, 300000);

	assert_int_equal(cfg->n_rules, 2);
	const config_rule_t *rule = &cfg->rules[1];
	assert_string_equal(rule->name, "major_needs_problem");
	assert_int_equal(rule->kind, RULE_PROBLEM);
	assert_int_equal(rule->applies, APPLIES_CATEGORY);
	assert_int_equal(rule->applies_category, 2);
	assert_int_equal(rule->start, 6);
	assert_int_equal(rule->within.kind, DURATION_WORKING_DAYS);
	assert_int_equal(rule->within.value, 2);
	assert_true(rule->working_calendar);
	assert_false(rule->major_only);
	for (int c = 1; c <= 5; c++)
		assert_true(rule->has_target[c] == (c == 2));
	assert_int_equal(rule->target[2].value, 2);
	config_destroy(&cfg);
}

/* [stages] may come after the sections that name its stages. */
static void test_custom_stages_after_sla(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok("[sla s]\nstart = opened\nstop = fixed\ncategory.2 = 1h\n"
	                           "[problem_rule p]\napplies = major\nstart = done\nwithin = 1d\n"
	                           "[stages]\norder = opened, fixed, done\nresolved = fixed\n"
	                           "closed = done\n");
	assert_int_equal(cfg->n_stages, 3);
	assert_int_equal(cfg->resolved_stage, 1);
	assert_int_equal(cfg->closed_stage, 2);
	assert_int_equal(cfg->major_stage, -1);
	assert_int_equal(cfg->rules[0].start, 0);
	assert_int_equal(cfg->rules[0].stop, 1);
	assert_int_equal(cfg->rules[1].applies, APPLIES_MAJOR);
	assert_int_equal(cfg->rules[1].start, 2);
	config_destroy(&cfg);

	EXPECT_ERRORS("[sla s]\nstart = detected\nstop = fixed\ncategory.2 = 1h\n"
	              "[stages]\norder = opened, fixed, done\nresolved = fixed\nclosed = done\n",
	              FILE_NAME ":2: sla s: start: unknown stage \"detected\"");
	/* A new order without resolved/closed keys still needs stages of those names. */
	EXPECT_ERRORS("[stages]\norder = a, b\n",
	              FILE_NAME ":1: stages: resolved: unknown stage \"resolved\"",
	              FILE_NAME ":1: stages: closed: unknown stage \"closed\"");
}

static void test_comments(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok("; a comment\n"
	                 "# another\n"
	                 "   ; indented\n"
	                 "[hook web]   ; after a header\n"
	                 "url = http://h/a#frag   ; after a value\n"
	                 "secret = s3#cr;et\t# after a tab\n"
	                 "[hook cmd]\n"
	                 "exec = /bin/echo a;b #c\n");
	assert_string_equal(cfg->hooks[0].url, "http://h/a#frag");
	assert_string_equal(cfg->hooks[0].secret, "s3#cr;et");
	assert_string_equal(cfg->hooks[1].exec_argv[1], "a;b");
	assert_null(cfg->hooks[1].exec_argv[2]);
	config_destroy(&cfg);
}

static void test_section_and_key_errors(void **state)
{
	(void)state;
	EXPECT_ERRORS("[deamon]\ndata_dir = x\n", FILE_NAME ":1: unknown section \"deamon\"");
	EXPECT_ERRORS("\n[daemon]\ndata_dri = x\n", FILE_NAME ":3: daemon: unknown key \"data_dri\"");
	EXPECT_ERRORS("[sla]\n", FILE_NAME ":1: section [sla] needs a name: [sla NAME]");
	EXPECT_ERRORS("[daemon x]\n", FILE_NAME ":1: section [daemon] takes no name");
	EXPECT_ERRORS("[hook a/b]\n",
	              FILE_NAME ":1: bad hook name \"a/b\" (use letters, digits, _ . -)");
	EXPECT_ERRORS("[daemon\n",
	              FILE_NAME ":1: bad section header (expected [name] or [kind NAME])");
	EXPECT_ERRORS("data_dir = x\n", FILE_NAME ":1: key \"data_dir\" comes before any [section]");
	EXPECT_ERRORS("[daemon]\ndata_dir\n",
	              FILE_NAME ":2: expected \"key = value\" or a [section] header");
	EXPECT_ERRORS("[daemon]\ndata_dir = a\ndata_dir = b\n",
	              FILE_NAME ":3: daemon: duplicate key \"data_dir\" (first set at line 2)");
	EXPECT_ERRORS(SLA_OK "[sla s]\n", FILE_NAME ":5: duplicate section [sla s] (first at line 1)");
	EXPECT_ERRORS("[daemon]\n[daemon]\n",
	              FILE_NAME ":2: duplicate section [daemon] (first at line 1)");
	EXPECT_ERRORS("[daemon]\ndata_dir =\n", FILE_NAME ":2: daemon: data_dir: empty value");
	/* Breaches and deadlines name their rule: two rules of any kinds may not share a name. */
	EXPECT_ERRORS(SLA_OK "[problem_rule s]\nstart = resolved\nwithin = 1d\n",
	              FILE_NAME ":5: rule name \"s\" is already used by [sla s] (line 1)");
	EXPECT_ERRORS("[sla "
	              "a234567890123456789012345678901234567890123456789012345678901234567890]\n",
	              FILE_NAME ":1: sla name \"a2345678901234567890...\" is longer than 64 characters");
}

static void test_daemon_errors(void **state)
{
	(void)state;
	/* tcp endpoints need a port 1..65535 (or *, any free port). */
	EXPECT_ERRORS("[daemon]\napi = tcp://127.0.0.1\n",
	              FILE_NAME ":2: daemon: api: bad endpoint \"tcp://127.0.0.1\" (expected "
	                        "tcp://HOST:PORT, ipc://PATH or inproc://NAME)");
	EXPECT_ERRORS("[daemon]\npublish = tcp://127.0.0.1:70000\n",
	              FILE_NAME ":2: daemon: publish: bad endpoint \"tcp://127.0.0.1:70000\" (expected "
	                        "tcp://HOST:PORT, ipc://PATH or inproc://NAME)");
	EXPECT_ERRORS("[daemon]\napi = tcp://[::1:7420\n",
	              FILE_NAME ":2: daemon: api: bad endpoint \"tcp://[::1:7420\" (expected "
	                        "tcp://HOST:PORT, ipc://PATH or inproc://NAME)");
	config_t *cfg = s_parse_ok("[daemon]\napi = tcp://[::1]:7420, tcp://*:*, tcp://localhost:1\n");
	assert_int_equal(cfg->n_api, 3);
	config_destroy(&cfg);
	EXPECT_ERRORS("[daemon]\napi = tcp://a:1, http://b\n",
	              FILE_NAME ":2: daemon: api: bad endpoint \"http://b\" (expected "
	                        "tcp://HOST:PORT, ipc://PATH or inproc://NAME)");
	EXPECT_ERRORS("[daemon]\npublish = tcp://\n",
	              FILE_NAME ":2: daemon: publish: bad endpoint \"tcp://\" (expected "
	                        "tcp://HOST:PORT, ipc://PATH or inproc://NAME)");
	EXPECT_ERRORS("[daemon]\napi = tcp://a:1,\n",
	              FILE_NAME ":2: daemon: api: empty item in the list \"tcp://a:1,\"");
	EXPECT_ERRORS("[daemon]\nmax_request_bytes = 255\n",
	              FILE_NAME ":2: daemon: max_request_bytes: 255 is out of range 256..64m");
	EXPECT_ERRORS("[daemon]\nmap_size = 2t\n",
	              FILE_NAME ":2: daemon: map_size: 2t is out of range 1m..1t");
	EXPECT_ERRORS("[daemon]\nmap_size = 64mb\n",
	              FILE_NAME ":2: daemon: map_size: bad size \"64mb\" (expected bytes, or a "
	                        "number and k, m, g or t)");
}

static void test_stage_errors(void **state)
{
	(void)state;
	EXPECT_ERRORS("[sla provider_notification]\nstart = detcted\nstop = notified\n"
	              "category.1 = 30m\n",
	              FILE_NAME ":2: sla provider_notification: start: unknown stage \"detcted\"");
	EXPECT_ERRORS("[sla s]\nstart = notified\nstop = detected\ncategory.1 = 1h\n",
	              FILE_NAME ":3: sla s: stop: stage \"detected\" does not come after start "
	                        "\"notified\" in [stages] order");
	EXPECT_ERRORS("[sla s]\nstart = notified\nstop = notified\ncategory.1 = 1h\n",
	              FILE_NAME ":3: sla s: stop: stage \"notified\" does not come after start "
	                        "\"notified\" in [stages] order");
	EXPECT_ERRORS("[stages]\nresolved = closed\nclosed = resolved\n",
	              FILE_NAME ":3: stages: closed: stage \"resolved\" comes before the resolved "
	                        "stage \"closed\"");
	EXPECT_ERRORS("[stages]\norder = a\n",
	              FILE_NAME ":2: stages: order: expected 2 to 32 stages, not 1");
	EXPECT_ERRORS("[stages]\norder = a, B\n",
	              FILE_NAME ":2: stages: order: bad stage name \"B\" (use a-z, 0-9 and _)");
	EXPECT_ERRORS("[stages]\norder = resolved, closed, resolved\n",
	              FILE_NAME ":2: stages: order: stage \"resolved\" is listed twice");
	EXPECT_ERRORS("[sla s]\ncategory.1 = 1h\n", FILE_NAME ":1: sla s: start is missing",
	              FILE_NAME ":1: sla s: stop is missing");
}

static void test_sla_errors(void **state)
{
	(void)state;
	EXPECT_ERRORS("[sla s]\nstart = detected\nstop = notified\n",
	              FILE_NAME ":1: sla s: no target: set at least one of category.1 .. "
	                        "category.5");
	EXPECT_ERRORS(SLA_OK "category.2 = 5x\n",
	              FILE_NAME ":5: sla s: category.2: bad duration \"5x\" (expected a positive "
	                        "integer and a unit: ms, s, m, h, d, wd or wh)");
	EXPECT_ERRORS(SLA_OK "category.6 = 1h\n", FILE_NAME ":5: sla s: unknown key \"category.6\"");
	EXPECT_ERRORS(SLA_OK "stop_clock = sent\n",
	              FILE_NAME ":5: sla s: stop_clock: expected received or reported, not \"sent\"");
	EXPECT_ERRORS(SLA_OK "major = yes\n",
	              FILE_NAME ":5: sla s: major: expected false or true, not \"yes\"");
	EXPECT_ERRORS(SLA_OK "calendar = office\n",
	              FILE_NAME ":5: sla s: calendar: expected clock or working, not \"office\"");
	/* A target of more than a year is a typing mistake (a working day counts as a day). */
	EXPECT_ERRORS(SLA_OK "category.2 = 3650d\n",
	              FILE_NAME ":5: sla s: category.2: 3650d is out of range 1ms..366d");
	EXPECT_ERRORS(SLA_OK "category.2 = 367wd\ncategory.3 = 8785h\n",
	              FILE_NAME ":5: sla s: category.2: 367wd is out of range 1ms..366d",
	              FILE_NAME ":6: sla s: category.3: 8785h is out of range 1ms..366d");
	EXPECT_ERRORS("[problem_rule p]\nstart = resolved\nwithin = 400d\n",
	              FILE_NAME ":3: problem_rule p: within: 400d is out of range 1ms..366d");
	config_t *cfg = s_parse_ok(SLA_OK "category.2 = 366d\ncategory.3 = 366wd\ncategory.4 = 8784wh\n");
	config_destroy(&cfg);
}

/*
 * A start or stop key with an empty value is that one error. Found by fuzz_config: an empty
 * stop kept the index -1, and the order check then printed stages[-1] (--check-config crashed).
 */
static void test_sla_empty_stage(void **state)
{
	(void)state;
	EXPECT_ERRORS("[sla s]\nstart = detected\nstop =\ncategory.1 = 30m\n",
	              FILE_NAME ":3: sla s: stop: empty value");
	EXPECT_ERRORS("[sla s]\nstart =\nstop = detected\ncategory.1 = 30m\n",
	              FILE_NAME ":2: sla s: start: empty value");
	EXPECT_ERRORS("[sla s]\nstart =\nstop =\ncategory.1 = 30m\n",
	              FILE_NAME ":2: sla s: start: empty value", FILE_NAME ":3: sla s: stop: empty value");
}

static void test_calendar_errors(void **state)
{
	(void)state;
	EXPECT_ERRORS("[calendar]\ndays = mon-fry\n",
	              FILE_NAME ":2: calendar: days: bad days \"mon-fry\" (expected e.g. mon-fri or "
	                        "mon,wed,fri)");
	EXPECT_ERRORS("[calendar]\nhours = 18:00-08:00\n",
	              FILE_NAME ":2: calendar: hours: \"18:00-08:00\": the end must come after the "
	                        "start");
	EXPECT_ERRORS("[calendar]\nhours = 8-18\n",
	              FILE_NAME ":2: calendar: hours: bad hours \"8-18\" (expected HH:MM-HH:MM, e.g. "
	                        "08:00-18:00)");
	EXPECT_ERRORS("[calendar]\nhours = 08:00-24:30\n",
	              FILE_NAME ":2: calendar: hours: bad hours \"08:00-24:30\" (expected "
	                        "HH:MM-HH:MM, e.g. 08:00-18:00)");
	EXPECT_ERRORS("[calendar]\nholidays = 2020-12-25, 2021-02-29\n",
	              FILE_NAME ":2: calendar: holidays: bad date \"2021-02-29\" (expected a real "
	                        "date YYYY-MM-DD)");
	EXPECT_ERRORS("[calendar]\nholidays = 2021-1-5\n",
	              FILE_NAME ":2: calendar: holidays: bad date \"2021-1-5\" (expected a real "
	                        "date YYYY-MM-DD)");
	/* Whether a zone exists is the env's to say (sys/tz.c asks the zone database). */
	EXPECT_ERRORS("[calendar]\ntimezone = Mars/Olympus\n",
	              FILE_NAME ":2: calendar: timezone: unknown time zone \"Mars/Olympus\" (not in "
	                        "the system's zone database)");
	EXPECT_ERRORS("[daemon]\n[calendar]\ndays = mon\n\ntimezone = Europe\n",
	              FILE_NAME ":5: calendar: timezone: unknown time zone \"Europe\" (not in the "
	                        "system's zone database)");
	/* Without an env, a zone is taken as written. */
	config_diag_t diag = {0};
	config_t *cfg = config_parse("[calendar]\ntimezone = Mars/Olympus\n", FILE_NAME, NULL, &diag);
	assert_non_null(cfg);
	assert_string_equal(cfg->calendar.timezone, "Mars/Olympus");
	config_destroy(&cfg);
}

static void test_hook_errors(void **state)
{
	(void)state;
	EXPECT_ERRORS("[hook h]\nexec = /bin/true\nurl = http://x/\n",
	              FILE_NAME ":3: hook h: has both exec and url; a hook is one or the other");
	EXPECT_ERRORS("[hook h]\ntopics = breach.\n", FILE_NAME ":1: hook h: needs exec or url");
	EXPECT_ERRORS("[hook h]\nexec = /bin/true\nsecret = x\n",
	              FILE_NAME ":3: hook h: secret: only a url hook signs its requests");
	EXPECT_ERRORS("[hook h]\nurl = ftp://x/\n",
	              FILE_NAME ":2: hook h: url: bad url \"ftp://x/\" " URL_FORMS);
	/* Ports and durations are bounded: these once passed --check-config. */
	EXPECT_ERRORS("[hook h]\nurl = https://127.0.0.1:99999/\n",
	              FILE_NAME ":2: hook h: url: bad url \"https://127.0.0.1:99999/\" " URL_FORMS);
	EXPECT_ERRORS("[hook h]\nurl = http://x:0/a\n",
	              FILE_NAME ":2: hook h: url: bad url \"http://x:0/a\" " URL_FORMS);
	EXPECT_ERRORS("[hook h]\nurl = http://x:/a\n",
	              FILE_NAME ":2: hook h: url: bad url \"http://x:/a\" " URL_FORMS);
	EXPECT_ERRORS("[hook h]\nurl = http://[::1/a\n",
	              FILE_NAME ":2: hook h: url: bad url \"http://[::1/a\" " URL_FORMS);
	EXPECT_ERRORS("[hook h]\nurl = http:///a\n",
	              FILE_NAME ":2: hook h: url: bad url \"http:///a\" " URL_FORMS);
	EXPECT_ERRORS("[hook h]\nurl = http://x/\ntimeout = 3650d\n",
	              FILE_NAME ":3: hook h: timeout: 3650d is out of range 1ms..5m");
	EXPECT_ERRORS("[hook h]\nurl = http://x/\ntimeout = 301s\n",
	              FILE_NAME ":3: hook h: timeout: 301s is out of range 1ms..5m");
	EXPECT_ERRORS("[hook h]\nurl = http://x/\nbackoff = 2d\nmax_backoff = 2d\n",
	              FILE_NAME ":3: hook h: backoff: 2d is out of range 1ms..1d",
	              FILE_NAME ":4: hook h: max_backoff: 2d is out of range 1ms..1d");
	EXPECT_ERRORS("[hook h]\nurl = http://x/\ntimeout = 1wd\n",
	              FILE_NAME ":3: hook h: timeout: \"1wd\" is working time; use ms, s, m, h or d");
	EXPECT_ERRORS("[hook h]\nurl = http://x/\nmax_attempts = 1001\n",
	              FILE_NAME ":3: hook h: max_attempts: expected an integer 0..1000, not \"1001\"");
	EXPECT_ERRORS("[hook h]\nurl = http://x/\ngive_up_after = 999ms\n",
	              FILE_NAME ":3: hook h: give_up_after: 999ms is out of range 1s..30d");
	EXPECT_ERRORS("[hook h]\nurl = http://x/\ngive_up_after = 31d\n",
	              FILE_NAME ":3: hook h: give_up_after: 31d is out of range 1s..30d");
	EXPECT_ERRORS("[hook h]\nurl = http://x/\nbackoff = 10m\n",
	              FILE_NAME ":3: hook h: max_backoff: 300000 ms is shorter than backoff "
	                        "(600000 ms)");
	EXPECT_ERRORS("[problem_rule p]\napplies = category.6\nstart = resolved\nwithin = 2wd\n",
	              FILE_NAME ":2: problem_rule p: applies: expected major, all or category.1 .. "
	                        "category.5, not \"category.6\"");
	EXPECT_ERRORS("[problem_rule p]\nstart = resolved\n",
	              FILE_NAME ":1: problem_rule p: within is missing");
}

/* The bounds of a hook's durations are inclusive: the extremes are accepted. */
static void test_hook_bounds(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok("[hook low]\nurl = http://x/\ntimeout = 1ms\ngive_up_after = 1s\n"
	                           "[hook high]\nurl = http://x/\ntimeout = 5m\n"
	                           "give_up_after = 30d\nmax_attempts = 1000\n");
	assert_int_equal(cfg->hooks[0].timeout_ms, 1);
	assert_int_equal(cfg->hooks[0].give_up_after_ms, 1000);
	assert_int_equal(cfg->hooks[0].max_attempts, 10);
	assert_int_equal(cfg->hooks[1].timeout_ms, 300000);
	assert_int_equal(cfg->hooks[1].give_up_after_ms, INT64_C(30) * 86400000);
	assert_int_equal(cfg->hooks[1].max_attempts, 1000);
	config_destroy(&cfg);
}

/*
 * One run reports every error of the file: first those of single lines, in line order, then
 * those that need the whole file (stage names, missing keys).
 */
static void test_all_errors_reported(void **state)
{
	(void)state;
	EXPECT_ERRORS("[daemon]\n"
	              "api = udp://x\n"
	              "colour = blue\n"
	              "[sla s]\n"
	              "start = detcted\n"
	              "stop = notified\n"
	              "category.1 = 5 m\n"
	              "[bogus]\n"
	              "whatever = 1\n"
	              "[hook h]\n"
	              "url = http://x/\n",
	              FILE_NAME ":2: daemon: api: bad endpoint \"udp://x\" (expected "
	                        "tcp://HOST:PORT, ipc://PATH or inproc://NAME)",
	              FILE_NAME ":3: daemon: unknown key \"colour\"",
	              FILE_NAME ":7: sla s: category.1: bad duration \"5 m\" (expected a positive "
	                        "integer and a unit: ms, s, m, h, d, wd or wh)",
	              FILE_NAME ":8: unknown section \"bogus\"",
	              FILE_NAME ":5: sla s: start: unknown stage \"detcted\"");
}

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		config_duration_kind_t kind;
		int64_t value;
	} good[] = {
		{"1500ms", DURATION_CLOCK, 1500},
		{"30s", DURATION_CLOCK, 30000},
		{"30m", DURATION_CLOCK, 1800000},
		{"2h", DURATION_CLOCK, 7200000},
		{"1d", DURATION_CLOCK, 86400000},
		{"007s", DURATION_CLOCK, 7000},
		{"2wd", DURATION_WORKING_DAYS, 2},
		{"4wh", DURATION_WORKING_MS, 14400000},
		{"9223372036854775807ms", DURATION_CLOCK, INT64_MAX},
		{"106751991167d", DURATION_CLOCK, INT64_C(106751991167) * 86400000},
		{"2562047788015wh", DURATION_WORKING_MS, INT64_C(2562047788015) * 3600000},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		config_duration_t d = {0};
		assert_int_equal(config_duration_parse(good[i].text, &d), 0);
		assert_int_equal(d.kind, good[i].kind);
		assert_int_equal(d.value, good[i].value);
	}
	static const char *const bad[] = {
		"", "5", "m", "-5m", "+5m", "5 m", " 5m", "5m ", "5x", "0m", "0wd", "5M", "5mss",
		"1.5h", "99999999999999999999ms", "9223372036854775808ms", "9223372036854775807s",
		"106751991168d", "2562047788016wh",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_duration_t d = {DURATION_CLOCK, 42};
		if (config_duration_parse(bad[i], &d) != -EINVAL)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(config_duration_parse(bad[i], &d), -EINVAL);
		assert_int_equal(d.value, 42);
	}
	assert_int_equal(config_duration_parse(NULL, &(config_duration_t){0}), -EINVAL);
}

static void test_overrides(void **state)
{
	(void)state;
	config_diag_t diag = {0};
	config_t *cfg = config_default();
	assert_int_equal(config_set_data_dir(cfg, "/tmp/inc", &diag), 0);
	assert_string_equal(cfg->data_dir, "/tmp/inc");
	assert_int_equal(config_set_api(cfg, "tcp://*:9000, ipc:///tmp/a", &diag), 0);
	assert_int_equal(cfg->n_api, 2);
	assert_string_equal(cfg->api[0], "tcp://*:9000");
	assert_string_equal(cfg->api[1], "ipc:///tmp/a");
	assert_null(cfg->api[2]);
	assert_int_equal(config_set_publish(cfg, "inproc://pub", &diag), 0);
	assert_int_equal(cfg->n_publish, 1);
	assert_string_equal(cfg->publish[0], "inproc://pub");
	assert_int_equal(diag.n, 0);

	/* A refused value leaves the previous one in place. */
	assert_int_equal(config_set_api(cfg, "udp://x", &diag), -1);
	assert_int_equal(config_set_publish(cfg, "", &diag), -1);
	assert_int_equal(config_set_data_dir(cfg, "", &diag), -1);
	assert_int_equal(diag.n, 3);
	assert_string_equal(diag.lines[0], "--api: bad endpoint \"udp://x\" (expected "
	                                   "tcp://HOST:PORT, ipc://PATH or inproc://NAME)");
	assert_string_equal(diag.lines[1], "--publish: empty endpoint");
	assert_string_equal(diag.lines[2], "--data-dir: empty directory");
	assert_int_equal(cfg->n_api, 2);
	assert_string_equal(cfg->api[0], "tcp://*:9000");
	assert_string_equal(cfg->publish[0], "inproc://pub");
	assert_string_equal(cfg->data_dir, "/tmp/inc");
	config_diag_release(&diag);
	config_destroy(&cfg);
}

/* [security] and [client NAME]: who may speak, with what key and role. */
static void test_clients(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok("[security]\ncurve = true\nsecret_key = /keys/server.key\n"
	                           "[client csp-north-monitoring]\nkey = /keys/a.pub\nrole = provider\n"
	                           "providers = csp-north, csp-central\n"
	                           "[client ops]\nkey = " KEY_C "\nrole = operator\n"
	                           "[client board]\nkey = " KEY_B "\nrole = viewer\n");
	assert_true(cfg->security.curve);
	assert_false(cfg->security.allow_plaintext);
	assert_string_equal(cfg->security.public_key, KEY_A);
	assert_string_equal(cfg->security.secret_key, KEY_B);
	assert_int_equal(cfg->n_clients, 3);
	const config_client_t *c = &cfg->clients[0];
	assert_string_equal(c->name, "csp-north-monitoring");
	assert_string_equal(c->public_key, KEY_A);
	assert_int_equal(c->role, ROLE_PROVIDER);
	assert_int_equal(c->n_providers, 2);
	assert_string_equal(c->providers[1], "csp-central");
	assert_int_equal(cfg->clients[1].role, ROLE_OPERATOR);
	assert_string_equal(cfg->clients[1].public_key, KEY_C);
	assert_null(cfg->clients[1].providers);
	assert_ptr_equal(config_client_find(cfg, "ops", 3), &cfg->clients[1]);
	assert_null(config_client_find(cfg, "op", 2));
	assert_string_equal(config_role_name(cfg->clients[2].role), "viewer");
	config_destroy(&cfg);

	/* The shipped defaults: no CURVE, no plaintext off loopback. */
	cfg = s_parse_ok("");
	assert_false(cfg->security.curve);
	assert_false(cfg->security.allow_plaintext);
	assert_null(cfg->security.secret_key_path);
	assert_int_equal(cfg->n_clients, 0);
	config_destroy(&cfg);

	EXPECT_ERRORS("[security]\ncurve = true\n",
	              FILE_NAME ":2: security: secret_key is missing (curve = true needs the server's "
	                        "key pair: incidentctl keygen FILE)");
	EXPECT_ERRORS("[security]\ncurve = true\nsecret_key = /keys/nope.key\n",
	              FILE_NAME ":3: security: secret_key: /keys/nope.key: No such file or directory");
	EXPECT_ERRORS("[client a]\nkey = /keys/b.pub\nrole = operator\n",
	              FILE_NAME ":2: client a: key: neither a key (40 characters of Z85) nor a key "
	                        "file: /keys/b.pub: No such file or directory");
	EXPECT_ERRORS("[client a]\nkey = " KEY_A "\nrole = admin\n",
	              FILE_NAME ":3: client a: role: expected provider, operator or viewer, not "
	                        "\"admin\"");
	EXPECT_ERRORS("[client a]\nkey = " KEY_A "\nrole = provider\n",
	              FILE_NAME ":3: client a: providers: a provider key names the providers it "
	                        "speaks for");
	EXPECT_ERRORS("[client a]\nkey = " KEY_A "\nrole = viewer\nproviders = x\n",
	              FILE_NAME ":4: client a: providers: only a provider key has them (a viewer "
	                        "speaks for every provider)");
	EXPECT_ERRORS("[client a]\nrole = viewer\n",
	              FILE_NAME ":1: client a: needs a key (CURVE), a token_sha256 (HTTP) or both");
	EXPECT_ERRORS("[client a]\nkey = " KEY_A "\n", FILE_NAME ":1: client a: role is missing");
	EXPECT_ERRORS("[client a]\nkey = " KEY_A "\nrole = provider\nproviders = x, x\n",
	              FILE_NAME ":4: client a: providers: \"x\" is listed twice");
	EXPECT_ERRORS("[client a]\nkey = " KEY_A "\nrole = viewer\n"
	              "[client b]\nkey = /keys/a.pub\nrole = viewer\n",
	              FILE_NAME ":5: client b: key: the same key as [client a] (line 1)");
	EXPECT_ERRORS("[security]\nallow_plaintext = yes\n",
	              FILE_NAME ":2: security: allow_plaintext: expected false or true, not \"yes\"");
}

/* Without CURVE, plaintext stays on loopback unless allow_plaintext says otherwise. */
static void test_plaintext_only_on_loopback(void **state)
{
	(void)state;
	static const char *const ok[] = {"tcp://127.0.0.1:1", "tcp://127.255.0.9:7420",
	                                 "tcp://localhost:7420", "tcp://[::1]:7420",
	                                 "ipc:///run/incidentd/api", "inproc://x"};
	static const char *const refused[] = {"tcp://0.0.0.0:7420", "tcp://*:7420",
	                                      "tcp://10.0.0.1:7420", "tcp://128.0.0.1:7420",
	                                      "tcp://127.0.0.1.example.com:7420", "tcp://[::]:7420",
	                                      "tcp://eth0:7420", "tcp://127.0.0.256:1"};
	config_diag_t diag = {0};
	config_t *cfg = s_parse_ok("");
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(config_set_publish(cfg, ok[i], &diag), 0);
		assert_int_equal(config_check_plaintext(cfg, &diag), 0);
	}
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		assert_int_equal(config_set_api(cfg, refused[i], &diag), 0);
		if (config_check_plaintext(cfg, &diag) != -1)
			fail_msg("%s was accepted", refused[i]);
		cfg->security.allow_plaintext = true;
		assert_int_equal(config_check_plaintext(cfg, &diag), 0);
		cfg->security.allow_plaintext = false;
		cfg->security.curve = true;
		assert_int_equal(config_check_plaintext(cfg, &diag), 0);
		cfg->security.curve = false;
	}
	assert_int_equal(diag.n, sizeof refused / sizeof refused[0]);
	assert_string_equal(diag.lines[0], "tcp://0.0.0.0:7420 is not a loopback address and CURVE "
	                                   "is off: every request would be an anonymous operator; "
	                                   "set [security] curve = true (or allow_plaintext = true)");
	config_diag_release(&diag);
	config_destroy(&cfg);
}

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_B "FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210"

/* [client] token_sha256: an HTTP bearer token's hash, beside or instead of a key; unique. */
static void test_client_tokens(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok("[client am]\ntoken_sha256 = " SHA_A "\nrole = provider\n"
	                           "providers = csp-north\n"
	                           "[client ops]\nkey = " KEY_C "\ntoken_sha256 = " SHA_B "\n"
	                           "role = operator\n"
	                           "[client board]\nkey = " KEY_B "\nrole = viewer\n");
	assert_true(cfg->clients[0].has_token);
	assert_string_equal(cfg->clients[0].public_key, "");
	assert_int_equal(cfg->clients[0].token_sha256[0], 0x01);
	assert_int_equal(cfg->clients[0].token_sha256[31], 0xef);
	assert_true(cfg->clients[1].has_token);
	assert_int_equal(cfg->clients[1].token_sha256[0], 0xfe);
	assert_false(cfg->clients[2].has_token);
	unsigned char sha[CONFIG_TOKEN_SHA256_BYTES];
	memcpy(sha, cfg->clients[1].token_sha256, sizeof sha);
	assert_ptr_equal(config_client_by_token(cfg, sha), &cfg->clients[1]);
	sha[31] ^= 1;
	assert_null(config_client_by_token(cfg, sha));
	/* A client without a token never matches, not even the all-zero hash. */
	memset(sha, 0, sizeof sha);
	assert_null(config_client_by_token(cfg, sha));
	config_destroy(&cfg);

	EXPECT_ERRORS("[client a]\ntoken_sha256 = abc\nrole = operator\n",
	              FILE_NAME ":2: client a: token_sha256: expected 64 hex digits (the SHA-256 of a "
	                        "token: incidentctl token prints one)");
	EXPECT_ERRORS("[client a]\ntoken_sha256 = " SHA_A "\nrole = operator\n"
	              "[client b]\ntoken_sha256 = " SHA_A "\nrole = viewer\n",
	              FILE_NAME ":5: client b: token_sha256: the same token as [client a] (line 1)");
}

/* [cluster]: absent by default; defaults; nats and node required under the header. */
static void test_cluster(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok("");
	assert_false(cfg->cluster.enabled);
	config_destroy(&cfg);
	cfg = s_parse_ok("[cluster]\nnats = nats://127.0.0.1:4222, nats://127.0.0.1:4223\n"
	                 "node = node-1\n");
	assert_true(cfg->cluster.enabled);
	assert_string_equal(cfg->cluster.node, "node-1");
	assert_string_equal(cfg->cluster.stream, "INCIDENTD");
	assert_int_equal(cfg->cluster.replicas, 3);
	assert_int_equal(cfg->cluster.lease_ms, 2000);
	config_destroy(&cfg);
	cfg = s_parse_ok("[cluster]\nnats = nats://a:1\nnode = n_2\nstream = S1\nreplicas = 1\n"
	                 "lease = 500ms\n");
	assert_string_equal(cfg->cluster.stream, "S1");
	assert_int_equal(cfg->cluster.replicas, 1);
	assert_int_equal(cfg->cluster.lease_ms, 500);
	config_destroy(&cfg);

	EXPECT_ERRORS("[cluster]\nnode = a\n",
	              FILE_NAME ":1: cluster: nats is missing (nats://HOST:PORT, comma-separated)");
	EXPECT_ERRORS("[cluster]\nnats = nats://a:1\n",
	              FILE_NAME ":1: cluster: node is missing (this node's name, unique)");
	EXPECT_ERRORS("[cluster]\nnats = http://a:1\nnode = a\n",
	              FILE_NAME ":2: cluster: nats: bad url \"http://a:1\" (expected "
	                        "nats://HOST:PORT, comma-separated)");
	EXPECT_ERRORS("[cluster]\nnats = nats://a:1\nnode = node 1\n",
	              FILE_NAME ":3: cluster: node: \"node 1\" must be 1..64 letters, digits, '-' "
	                        "or '_'");
	EXPECT_ERRORS("[cluster]\nnats = nats://a:1\nnode = a\nreplicas = 7\n",
	              FILE_NAME ":4: cluster: replicas: expected an integer 1..5, not \"7\"");
	EXPECT_ERRORS("[cluster]\nnats = nats://a:1\nnode = a\nlease = 100ms\n",
	              FILE_NAME ":4: cluster: lease: 100ms is out of range 500ms..1m");
}

/* [http]: listen, TLS files together, severity mapping; plaintext only on loopback. */
static void test_http(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok("");
	assert_null(cfg->http.listen);
	assert_int_equal(config_http_category(cfg, "critical"), CONFIG_HTTP_DEFAULT_CATEGORY);
	config_destroy(&cfg);

	cfg = s_parse_ok("[http]\nlisten = 127.0.0.1:7480\nseverity.critical = 1\n"
	                 "severity.warning = 4\n");
	assert_string_equal(cfg->http.listen, "127.0.0.1:7480");
	assert_int_equal(cfg->http.n_severities, 2);
	assert_int_equal(config_http_category(cfg, "critical"), 1);
	assert_int_equal(config_http_category(cfg, "warning"), 4);
	assert_int_equal(config_http_category(cfg, "info"), 3);
	assert_int_equal(config_http_category(cfg, NULL), 3);
	config_diag_t diag = {0};
	assert_int_equal(config_check_plaintext(cfg, &diag), 0);
	config_destroy(&cfg);

	cfg = s_parse_ok("[http]\nlisten = 0.0.0.0:7480\n");
	assert_int_equal(config_check_plaintext(cfg, &diag), -1);
	assert_string_equal(diag.lines[0], "http listen 0.0.0.0:7480 is not a loopback address and "
	                                   "has no tls_cert: bearer tokens would cross the network "
	                                   "in clear; set [http] tls_cert and tls_key (or [security] "
	                                   "allow_plaintext = true)");
	cfg->security.allow_plaintext = true;
	assert_int_equal(config_check_plaintext(cfg, &diag), 0);
	config_destroy(&cfg);
	cfg = s_parse_ok("[http]\nlisten = [::]:7480\ntls_cert = /c.pem\ntls_key = /k.pem\n");
	assert_int_equal(config_check_plaintext(cfg, &diag), 0);
	assert_string_equal(cfg->http.tls_key, "/k.pem");
	config_destroy(&cfg);
	config_diag_release(&diag);

	EXPECT_ERRORS("[http]\nlisten = 127.0.0.1\n",
	              FILE_NAME ":2: http: listen: bad address \"127.0.0.1\" (expected HOST:PORT, "
	                        "e.g. 127.0.0.1:7480)");
	EXPECT_ERRORS("[http]\nlisten = 127.0.0.1:70000\n",
	              FILE_NAME ":2: http: listen: bad address \"127.0.0.1:70000\" (expected "
	                        "HOST:PORT, e.g. 127.0.0.1:7480)");
	EXPECT_ERRORS("[http]\nlisten = 127.0.0.1:7480\ntls_cert = /c.pem\n",
	              FILE_NAME ":3: http: tls_cert and tls_key go together (HTTPS needs both)");
	EXPECT_ERRORS("[http]\nseverity.critical = 6\n",
	              FILE_NAME ":2: http: severity.critical: expected a category 1..5, not \"6\"");
	EXPECT_ERRORS("[http]\nseverity.critical = 1\nseverity.critical = 2\n",
	              FILE_NAME ":3: http: severity.critical: severity \"critical\" is mapped twice");
	EXPECT_ERRORS("[http]\nport = 1\n", FILE_NAME ":2: http: unknown key \"port\"");
}

/* What a reload compares: every section but the clients', comments and spacing aside. */
static void test_sections_changed(void **state)
{
	(void)state;
	char out[256];
	const char *base = "[daemon]\ndata_dir = /srv/a\n[client a]\nkey = x\n"
	                   "[sla s]\nstart = detected ; the start\nstop = notified\n";
	assert_int_equal(config_sections_changed(base, base, out, sizeof out), 0);
	assert_string_equal(out, "");
	/* Clients, comments, spacing and the order of sections change nothing that counts. */
	assert_int_equal(config_sections_changed(base,
	                 "# new\n[sla s]\nstart=detected\nstop   =   notified\n\n"
	                 "[client a]\nkey = y\n[client b]\nkey = z\n[daemon]\ndata_dir = /srv/a\n",
	                 out, sizeof out), 0);
	/* A changed value, a section gone and one added are named. */
	assert_int_equal(config_sections_changed(base,
	                 "[daemon]\ndata_dir = /srv/b\n[hook h]\nurl = http://x/\n",
	                 out, sizeof out), 3);
	assert_string_equal(out, "[daemon], [sla s], [hook h]");
}

/* A problem rule for categories 2 only, beside SLA_OK (category 1), for the measure tests. */
#define PROBLEM_CAT2 "[problem_rule p]\napplies = category.2\nstart = resolved\nwithin = 2d\n"

/* [measure NAME]: its rule, categories (default: the rule's), target and minimum. */
static void test_measures(void **state)
{
	(void)state;
	/* A measure may come before the rule it names. */
	config_t *cfg = s_parse_ok(
		"[measure m_notify]\nrule = s\ntarget = 95%\nminimum = 90%\n"
		SLA_OK "category.3 = 2h\n"
		"[measure m_cat3]\nrule = s\ncategories = 3\ntarget = 99.5%\n"
		PROBLEM_CAT2
		"[measure m_problem]\nrule = p ; a problem rule\ntarget = 0.1%\nminimum = 0.05%\n"
		"[measure m_full]\nrule = s\ncategories = 3, 1\ntarget = 100%\nminimum = 100.0%\n");
	assert_int_equal(cfg->n_measures, 4);
	const config_measure_t *m = &cfg->measures[0];
	assert_string_equal(m->name, "m_notify");
	assert_string_equal(m->rule_name, "s");
	assert_string_equal(cfg->rules[m->rule].name, "s");
	assert_int_equal(m->categories, (1u << 1) | (1u << 3)); /* the rule's categories */
	assert_int_equal(m->target, 9500);
	assert_true(m->has_minimum);
	assert_int_equal(m->minimum, 9000);
	assert_int_equal(m->line, 1);
	m = &cfg->measures[1];
	assert_int_equal(m->categories, 1u << 3);
	assert_int_equal(m->target, 9950);
	assert_false(m->has_minimum);
	m = &cfg->measures[2];
	assert_string_equal(cfg->rules[m->rule].name, "p");
	assert_int_equal(m->categories, 1u << 2);
	assert_int_equal(m->target, 10);
	assert_int_equal(m->minimum, 5);
	m = &cfg->measures[3];
	assert_int_equal(m->categories, (1u << 1) | (1u << 3));
	assert_int_equal(m->target, 10000);
	assert_int_equal(m->minimum, 10000);
	config_destroy(&cfg);

	/* A measure's name is its own: it may repeat a rule's. */
	cfg = s_parse_ok(SLA_OK "[measure s]\nrule = s\ntarget = 0%\n");
	assert_int_equal(cfg->n_measures, 1);
	assert_int_equal(cfg->measures[0].target, 0);
	config_destroy(&cfg);
}

static void test_measure_errors(void **state)
{
	(void)state;
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = nope\ntarget = 95%\n",
	              FILE_NAME ":6: measure m: rule: unknown rule \"nope\" (no [sla] or "
	                        "[problem_rule] of that name)");
	EXPECT_ERRORS(SLA_OK "[measure m]\ntarget = 95%\n",
	              FILE_NAME ":5: measure m: rule is missing");
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\n",
	              FILE_NAME ":5: measure m: target is missing");
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\ntarget = 95%\ncategories = 1, 2\n",
	              FILE_NAME ":8: measure m: categories: rule s has no target for category 2");
	EXPECT_ERRORS(SLA_OK PROBLEM_CAT2 "[measure m]\nrule = p\ncategories = 1\ntarget = 95%\n",
	              FILE_NAME ":11: measure m: categories: rule p has no target for category 1");
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\ntarget = 90%\nminimum = 95%\n",
	              FILE_NAME ":8: measure m: minimum: 95.00% is above the target (90.00%)");
	/* A bad target is that one error, not also a minimum above it. */
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\ntarget = 95\nminimum = 90%\n",
	              FILE_NAME ":7: measure m: target: expected a percentage 0% to 100% (e.g. 95% "
	                        "or 99.5%), not \"95\"");
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\ntarget = 95%\nwithin = 1d\n",
	              FILE_NAME ":8: measure m: unknown key \"within\"");
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\ntarget = 95%\ntarget = 96%\n",
	              FILE_NAME ":8: measure m: duplicate key \"target\" (first set at line 7)");
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\ntarget = 95%\n[measure m]\n",
	              FILE_NAME ":8: duplicate section [measure m] (first at line 5)");
	EXPECT_ERRORS("[measure]\n",
	              FILE_NAME ":1: section [measure] needs a name: [measure NAME]");
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\ntarget = 6,7\ncategories = 1, 6\n",
	              FILE_NAME ":7: measure m: target: expected a percentage 0% to 100% (e.g. 95% "
	                        "or 99.5%), not \"6,7\"",
	              FILE_NAME ":8: measure m: categories: expected categories 1 to 5, not \"6\"");
	EXPECT_ERRORS(SLA_OK "[measure m]\nrule = s\ntarget = 95%\ncategories = 1, 1\n",
	              FILE_NAME ":8: measure m: categories: category 1 is listed twice");
	/* Percentages: the sign is required, at most two decimals, 0 to 100. */
	const char *bad[] = {"95", "0.95", "101%", "100.01%", "95.%", "95.125%", "-5%", "9 5%",
	                     "95%%", "1e2%", ".5%"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256], msg[256];
		snprintf(text, sizeof text, SLA_OK "[measure m]\nrule = s\ntarget = %s\n", bad[i]);
		snprintf(msg, sizeof msg,
		         FILE_NAME ":7: measure m: target: expected a percentage 0%% to 100%% "
		         "(e.g. 95%% or 99.5%%), not \"%s\"", bad[i]);
		EXPECT_ERRORS(text, msg);
	}
}

/*
 * The keys of reports from several sources: start_sources and stop_sources (names, no repeats,
 * at least one; all four by default), start_clock, before_user, [stages] notified (optional when
 * a file's order has no stage of that name) and [daemon] max_clock_skew.
 */
static void test_sources_keys(void **state)
{
	(void)state;
	config_t *cfg = s_parse_ok(SLA_OK "start_sources = monitoring,provider\nstop_sources = operator\n"
	                                  "start_clock = received\nbefore_user = true\n"
	                                  "[problem_rule p]\nstart = resolved\n"
	                                  "within = 1d\nstart_sources = user\n");
	const config_rule_t *r = &cfg->rules[0];
	assert_int_equal(r->start_sources, (1u << SOURCE_PROVIDER) | (1u << SOURCE_MONITORING));
	assert_int_equal(r->stop_sources, 1u << SOURCE_OPERATOR);
	assert_true(r->start_clock_received);
	assert_true(r->before_user);
	assert_int_equal(cfg->rules[1].start_sources, 1u << SOURCE_USER);
	config_destroy(&cfg);
	cfg = s_parse_ok(SLA_OK "[problem_rule p]\nstart = resolved\nwithin = 1d\n");
	assert_int_equal(cfg->rules[0].start_sources, WIRE_ALL_SOURCES);
	assert_int_equal(cfg->rules[0].stop_sources, WIRE_ALL_SOURCES);
	assert_false(cfg->rules[0].start_clock_received);
	assert_false(cfg->rules[0].before_user);
	assert_int_equal(cfg->rules[1].start_sources, WIRE_ALL_SOURCES);
	config_destroy(&cfg);

	EXPECT_ERRORS(SLA_OK "start_sources = provider, customer\n",
	              FILE_NAME ":5: sla s: start_sources: \"customer\" is not a source (provider, "
	                        "monitoring, user, operator)");
	EXPECT_ERRORS(SLA_OK "stop_sources = user, user\n",
	              FILE_NAME ":5: sla s: stop_sources: \"user\" is listed twice");
	EXPECT_ERRORS(SLA_OK "start_clock = sent\n",
	              FILE_NAME ":5: sla s: start_clock: expected reported or received, not \"sent\"");
	EXPECT_ERRORS("[problem_rule p]\nstart = resolved\nwithin = 1d\nbefore_user = true\n",
	              FILE_NAME ":4: problem_rule p: unknown key \"before_user\"");

	/* notified: the built-in name when the order has it, none when not, an error when named. */
	cfg = s_parse_ok("[stages]\norder = opened, fixed\nresolved = fixed\nclosed = fixed\n");
	assert_int_equal(cfg->notified_stage, -1);
	config_destroy(&cfg);
	cfg = s_parse_ok("[stages]\norder = opened, told, fixed\nresolved = fixed\nclosed = fixed\n"
	                 "notified = told\n");
	assert_int_equal(cfg->notified_stage, 1);
	config_destroy(&cfg);
	EXPECT_ERRORS("[stages]\norder = opened, fixed\nresolved = fixed\nclosed = fixed\n"
	              "notified = told\n",
	              FILE_NAME ":5: stages: notified: unknown stage \"told\"");

	cfg = s_parse_ok("[daemon]\nmax_clock_skew = 30s\n");
	assert_int_equal(cfg->max_clock_skew_ms, 30000);
	config_destroy(&cfg);
	EXPECT_ERRORS("[daemon]\nmax_clock_skew = 2d\n",
	              FILE_NAME ":2: daemon: max_clock_skew: 2d is out of range 1ms..1d");
	EXPECT_ERRORS("[daemon]\nmax_clock_skew = 1wd\n",
	              FILE_NAME ":2: daemon: max_clock_skew: \"1wd\" is working time; use ms, s, m, h or d");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_the_shipped_file),
		cmocka_unit_test(test_default_values),
		cmocka_unit_test(test_empty_file_takes_defaults),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_custom_stages_after_sla),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_section_and_key_errors),
		cmocka_unit_test(test_daemon_errors),
		cmocka_unit_test(test_stage_errors),
		cmocka_unit_test(test_sla_errors),
		cmocka_unit_test(test_sources_keys),
		cmocka_unit_test(test_sla_empty_stage),
		cmocka_unit_test(test_calendar_errors),
		cmocka_unit_test(test_hook_errors),
		cmocka_unit_test(test_hook_bounds),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_clients),
		cmocka_unit_test(test_plaintext_only_on_loopback),
		cmocka_unit_test(test_client_tokens),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_sections_changed),
		cmocka_unit_test(test_measures),
		cmocka_unit_test(test_measure_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
