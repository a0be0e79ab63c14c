/*
 * Tests of daemon/sys/metrics.c: every family of the contract's /metrics set appears with its
 * HELP and TYPE lines and the values recorded, label values are escaped, recordings from
 * several threads add up, the transaction tally counts only once committed, and promtool (when
 * installed) accepts the text. The store's gauges are tested on a real store in
 * tests/unit/daemon/edge/test_scrape.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/sys/metrics.h"

/* A configuration with two rules and two hooks; one name needs escaping. */
typedef struct {
	config_t cfg;
	config_rule_t rules[2];
	config_hook_t hooks[2];
} fixture_t;

static int s_setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->rules[0].name = "provider_notification";
	f->rules[1].name = "odd\"rule\\name";
	f->hooks[0].name = "pager";
	f->hooks[1].name = "webhook";
	f->cfg.rules = f->rules;
	f->cfg.n_rules = 2;
	f->cfg.hooks = f->hooks;
	f->cfg.n_hooks = 2;
	assert_int_equal(metrics_init(&f->cfg), 0);
	*state = f;
	return 0;
}

static int s_teardown(void **state)
{
	metrics_release();
	free(*state);
	return 0;
}

static char *s_render(bool with_store)
{
	metrics_gauges_t g = { .store_read = with_store, .incidents_open = 7,
			       .incidents_resolved = 2, .incidents_closed = 1,
			       .deadlines_pending = 5, .store_map_bytes = 67108864,
			       .store_used_bytes = 81920 };
	size_t len = 0;
	char *text = metrics_render(&g, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* Fails the test, printing the text, unless line is one of its lines. */
static void s_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return;
	fail_msg("missing line: %s\nin:\n%s", line, text);
}

/*
 * Runs promtool check metrics on text: its exit status, or -1 (skip) when promtool is not
 * installed.
 */
static int s_promtool(const char *text)
{
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		return -1;
	char path[] = "/tmp/incidentd-metrics-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "promtool check metrics <%s", path);
	int status = system(cmd);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void test_every_family_has_help_and_type(void **state)
{
	(void)state;
	char *text = s_render(true);
	static const char *const families[][2] = {
		{ "incidentd_requests_total", "counter" },
		{ "incidentd_request_duration_seconds", "histogram" },
		{ "incidentd_commit_duration_seconds", "histogram" },
		{ "incidentd_batch_events", "histogram" },
		{ "incidentd_events_total", "counter" },
		{ "incidentd_incidents", "gauge" },
		{ "incidentd_breaches_total", "counter" },
		{ "incidentd_deadlines_pending", "gauge" },
		{ "incidentd_hook_deliveries_total", "counter" },
		{ "incidentd_outbox_pending", "gauge" },
		{ "incidentd_store_map_bytes", "gauge" },
		{ "incidentd_store_used_bytes", "gauge" },
		{ "incidentd_publish_dropped_total", "counter" },
		{ "process_start_time_seconds", "gauge" },
		{ "process_resident_memory_bytes", "gauge" },
	};
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
		char line[128];
		snprintf(line, sizeof line, "# TYPE %s %s", families[i][0], families[i][1]);
		s_has_line(text, line);
		snprintf(line, sizeof line, "# HELP %s ", families[i][0]);
		assert_non_null(strstr(text, line));
	}
	/* Fresh counters read 0, and every rule and hook has its series from the start. */
	s_has_line(text, "incidentd_events_total{result=\"accepted\"} 0");
	s_has_line(text, "incidentd_breaches_total{sla=\"provider_notification\",detected=\"deadline\"} 0");
	s_has_line(text, "incidentd_hook_deliveries_total{hook=\"webhook\",result=\"gave_up\"} 0");
	s_has_line(text, "incidentd_outbox_pending{hook=\"pager\"} 0");
	s_has_line(text, "incidentd_incidents{status=\"open\"} 7");
	s_has_line(text, "incidentd_incidents{status=\"resolved\"} 2");
	s_has_line(text, "incidentd_incidents{status=\"closed\"} 1");
	s_has_line(text, "incidentd_deadlines_pending 5");
	s_has_line(text, "incidentd_store_map_bytes 67108864");
	s_has_line(text, "incidentd_store_used_bytes 81920");
	s_has_line(text, "incidentd_publish_dropped_total 0");
	assert_non_null(strstr(text, "\nprocess_start_time_seconds 1"));
	assert_null(strstr(text, "\nprocess_resident_memory_bytes 0\n"));
	free(text);
}

static void test_requests_by_op_and_code(void **state)
{
	(void)state;
	metrics_request("event", "ok", 0.0003);
	metrics_request("event", "ok", 0.002);
	metrics_request("event", "conflict", 0.0001);
	metrics_request("get", "not_found", 20.0);
	metrics_request("no-such-op", "unknown_op", 0.00005);
	metrics_request(NULL, "bad_json", 0.00005);
	metrics_request("status", "made-up-code", 0.001);
	char *text = s_render(true);
	s_has_line(text, "incidentd_requests_total{op=\"event\",code=\"ok\"} 2");
	s_has_line(text, "incidentd_requests_total{op=\"event\",code=\"conflict\"} 1");
	s_has_line(text, "incidentd_requests_total{op=\"get\",code=\"not_found\"} 1");
	s_has_line(text, "incidentd_requests_total{op=\"unknown\",code=\"unknown_op\"} 1");
	s_has_line(text, "incidentd_requests_total{op=\"unknown\",code=\"bad_json\"} 1");
	s_has_line(text, "incidentd_requests_total{op=\"status\",code=\"internal\"} 1");
	assert_null(strstr(text, "no-such-op"));
	/* Buckets are cumulative: 0.0001 and 0.0003 and 0.002 seconds. */
	s_has_line(text, "incidentd_request_duration_seconds_bucket{op=\"event\",le=\"0.0001\"} 1");
	s_has_line(text, "incidentd_request_duration_seconds_bucket{op=\"event\",le=\"0.0005\"} 2");
	s_has_line(text, "incidentd_request_duration_seconds_bucket{op=\"event\",le=\"0.0025\"} 3");
	s_has_line(text, "incidentd_request_duration_seconds_bucket{op=\"event\",le=\"+Inf\"} 3");
	s_has_line(text, "incidentd_request_duration_seconds_count{op=\"event\"} 3");
	s_has_line(text, "incidentd_request_duration_seconds_sum{op=\"event\"} 0.002400000");
	/* 20 s is past the last bound: only +Inf holds it. */
	s_has_line(text, "incidentd_request_duration_seconds_bucket{op=\"get\",le=\"10\"} 0");
	s_has_line(text, "incidentd_request_duration_seconds_bucket{op=\"get\",le=\"+Inf\"} 1");
	/* An op never asked has no series. */
	assert_null(strstr(text, "op=\"report\""));
	free(text);
}

static void test_writer_families(void **state)
{
	(void)state;
	metrics_commit(0.004, 1);
	metrics_commit(0.02, 300);
	metrics_event(METRICS_EVENT_ACCEPTED);
	metrics_event(METRICS_EVENT_ACCEPTED);
	metrics_event(METRICS_EVENT_DUPLICATE);
	metrics_event(METRICS_EVENT_REFUSED);
	char *text = s_render(true);
	s_has_line(text, "incidentd_commit_duration_seconds_bucket{le=\"0.005\"} 1");
	s_has_line(text, "incidentd_commit_duration_seconds_bucket{le=\"0.025\"} 2");
	s_has_line(text, "incidentd_commit_duration_seconds_count 2");
	s_has_line(text, "incidentd_commit_duration_seconds_sum 0.024000000");
	s_has_line(text, "incidentd_batch_events_bucket{le=\"1\"} 1");
	s_has_line(text, "incidentd_batch_events_bucket{le=\"256\"} 1");
	s_has_line(text, "incidentd_batch_events_bucket{le=\"512\"} 2");
	s_has_line(text, "incidentd_batch_events_sum 301");
	s_has_line(text, "incidentd_batch_events_count 2");
	s_has_line(text, "incidentd_events_total{result=\"accepted\"} 2");
	s_has_line(text, "incidentd_events_total{result=\"duplicate\"} 1");
	s_has_line(text, "incidentd_events_total{result=\"refused\"} 1");
	free(text);
}

/* Breaches and queued deliveries count once their transaction commits, not before. */
static void test_tally_counts_on_commit(void **state)
{
	fixture_t *f = *state;
	metrics_tally_t tally;
	assert_int_equal(metrics_tally_init(&tally, &f->cfg), 0);
	metrics_tally_breach(&tally, 0, "deadline");
	metrics_tally_queued(&tally, 1);
	metrics_tally_reset(&tally); /* an aborted transaction, retried */
	metrics_tally_breach(&tally, 0, "deadline");
	metrics_tally_breach(&tally, 0, "on_arrival");
	metrics_tally_breach(&tally, 1, "user_first");
	metrics_tally_breach(&tally, 9, "deadline"); /* no such rule: ignored */
	metrics_tally_breach(NULL, 0, "deadline");
	metrics_tally_queued(&tally, 1);
	metrics_tally_queued(&tally, 1);
	char *text = s_render(true);
	s_has_line(text, "incidentd_breaches_total{sla=\"provider_notification\",detected=\"deadline\"} 0");
	free(text);
	metrics_tally_commit(&tally);
	metrics_tally_commit(&tally); /* zeroed by the first */
	metrics_delivery(1, METRICS_DELIVERY_OK);
	metrics_outbox_add(1, -1);
	metrics_delivery(0, METRICS_DELIVERY_RETRY);
	metrics_delivery(0, METRICS_DELIVERY_GAVE_UP);
	metrics_delivery(5, METRICS_DELIVERY_OK); /* no such hook: ignored */
	metrics_outbox_set(0, 250);
	text = s_render(true);
	s_has_line(text, "incidentd_breaches_total{sla=\"provider_notification\",detected=\"deadline\"} 1");
	s_has_line(text, "incidentd_breaches_total{sla=\"provider_notification\",detected=\"on_arrival\"} 1");
	s_has_line(text, "incidentd_breaches_total{sla=\"odd\\\"rule\\\\name\",detected=\"user_first\"} 1");
	s_has_line(text, "incidentd_outbox_pending{hook=\"webhook\"} 1");
	s_has_line(text, "incidentd_outbox_pending{hook=\"pager\"} 250");
	s_has_line(text, "incidentd_hook_deliveries_total{hook=\"webhook\",result=\"ok\"} 1");
	s_has_line(text, "incidentd_hook_deliveries_total{hook=\"pager\",result=\"retry\"} 1");
	s_has_line(text, "incidentd_hook_deliveries_total{hook=\"pager\",result=\"gave_up\"} 1");
	free(text);
	metrics_tally_release(&tally);
}

/* A backlog gauge lowered before the writer raised it reads 0, not a negative count. */
static void test_outbox_gauge_never_negative(void **state)
{
	(void)state;
	metrics_outbox_add(0, -3);
	char *text = s_render(true);
	s_has_line(text, "incidentd_outbox_pending{hook=\"pager\"} 0");
	free(text);
}

static void *s_hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++) {
		metrics_request("event", "ok", 0.001);
		metrics_event(METRICS_EVENT_ACCEPTED);
		metrics_outbox_add(1, 1);
	}
	return NULL;
}

/* Four threads record at once; nothing is lost. */
static void test_threads_add_up(void **state)
{
	(void)state;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, s_hammer, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	char *text = s_render(true);
	s_has_line(text, "incidentd_requests_total{op=\"event\",code=\"ok\"} 400000");
	s_has_line(text, "incidentd_request_duration_seconds_count{op=\"event\"} 400000");
	s_has_line(text, "incidentd_events_total{result=\"accepted\"} 400000");
	s_has_line(text, "incidentd_outbox_pending{hook=\"webhook\"} 400000");
	free(text);
}

/* Without the store's gauges their families are left out, the rest stays. */
static void test_without_store_gauges(void **state)
{
	(void)state;
	char *text = s_render(false);
	assert_null(strstr(text, "incidentd_incidents"));
	assert_null(strstr(text, "incidentd_store_map_bytes"));
	assert_non_null(strstr(text, "# TYPE incidentd_events_total counter"));
	free(text);
}

static void test_promtool_accepts_the_text(void **state)
{
	(void)state;
	metrics_request("event", "ok", 0.001);
	metrics_request(NULL, "bad_json", 0.001);
	metrics_commit(0.003, 12);
	metrics_delivery(0, METRICS_DELIVERY_OK);
	metrics_breaches(1, METRICS_DETECTED_DEADLINE, 2);
	char *text = s_render(true);
	int rc = s_promtool(text);
	if (rc < 0) {
		free(text);
		skip();
	}
	if (rc != 0)
		fail_msg("promtool check metrics refused:\n%s", text);
	free(text);
	text = s_render(false);
	rc = s_promtool(text);
	free(text);
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_family_has_help_and_type, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_requests_by_op_and_code, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_writer_families, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_tally_counts_on_commit, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_gauge_never_negative, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_threads_add_up, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_without_store_gauges, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_promtool_accepts_the_text, s_setup, s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
