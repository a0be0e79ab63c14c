/*
 * GET /metrics of the real daemon, fetched with libcurl from its HTTP listener ([http] listen
 * on a free loopback port): promtool check metrics accepts the scrape (when installed); the
 * counters move after events pushed over ZeroMQ (events_total, requests_total of the event op),
 * incidents{status} matches the status op, a deadline breach counts in breaches_total and
 * leaves deadlines_pending, and the store's bytes are there.
 *
 * Built only when daemon/edge/http.c exists (tests/integration/CMakeLists.txt): the HTTP
 * listener comes from another branch, and the [http] section is refused without it.
 */
#include "checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http_client.h"

/* GET http://127.0.0.1:PORT/metrics: the body (caller frees), or NULL unless a 200 text/plain. */
static char *s_scrape(int port)
{
	char url[64];
	hc_answer_t a;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
	int rc = hc_request("GET", url, NULL, NULL, NULL, 0, 5000, &a);
	bool good = rc == 0 && a.status == 200 && strncmp(a.content_type, "text/plain", 10) == 0;
	if (!good) {
		print_error("GET %s: %s, status %ld, type %s\n", url, rc == 0 ? "answered" : "no answer",
			    a.status, a.content_type[0] ? a.content_type : "none");
		hc_answer_clear(&a);
		return NULL;
	}
	return a.body;
}

/* The value of a series (its name and labels exactly as written); -1 when absent. */
static double s_value(const char *text, const char *series)
{
	char needle[256];
	snprintf(needle, sizeof needle, "\n%s ", series);
	const char *p = strstr(text, needle);
	return p ? strtod(p + strlen(needle), NULL) : -1;
}

/* promtool check metrics on text: its exit status, or -1 when promtool is not installed. */
static int s_promtool(const h_daemon_t *d, const char *text)
{
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		return -1;
	char path[H_PATH_MAX], cmd[2 * H_PATH_MAX];
	snprintf(path, sizeof path, "%s/scrape.txt", d->dir);
	FILE *out = fopen(path, "w");
	if (!out)
		return 1;
	fputs(text, out);
	fclose(out);
	snprintf(cmd, sizeof cmd, "promtool check metrics <%s", path);
	int status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static h_daemon_t *s_start(int *port)
{
	char conf[512];
	*port = h_free_port();
	snprintf(conf, sizeof conf,
		 "[sla quick]\nstart = detected\nstop = notified\ncategory.1 = 2s\n"
		 "[http]\nlisten = 127.0.0.1:%d\n",
		 *port);
	h_daemon_t *d = h_new(conf);
	assert_non_null(d);
	assert_int_equal(h_start(d), 0);
	return d;
}

static void s_push_ok(h_daemon_t *d, const char *event_id, const char *ref, const char *stage)
{
	json_t *ev = h_event("acme", event_id, ref, stage);
	json_object_set_new(ev, "category", json_integer(1));
	json_object_set_new(ev, "title", json_string(ref));
	json_t *r = h_request(d, ev);
	json_decref(ev);
	if (!h_is_ok(r))
		check_fail_(__FILE__, __LINE__, r, event_id);
	json_decref(r);
}

static void test_scrape_is_valid_and_counts(void **state)
{
	(void)state;
	int port;
	h_daemon_t *d = s_start(&port);
	char *before = s_scrape(port);
	assert_non_null(before);
	int rc = s_promtool(d, before);
	assert_true(rc <= 0);
	double accepted0 = s_value(before, "incidentd_events_total{result=\"accepted\"}");
	assert_true(accepted0 == 0);
	assert_true(s_value(before, "incidentd_store_map_bytes") > 0);
	assert_true(s_value(before, "incidentd_store_used_bytes") > 0);
	assert_true(s_value(before, "process_resident_memory_bytes") > 0);
	assert_true(s_value(before, "process_start_time_seconds") > 1.7e9);
	free(before);

	s_push_ok(d, "a-1", "A", "detected");
	s_push_ok(d, "b-1", "B", "detected");
	s_push_ok(d, "b-2", "B", "notified");
	s_push_ok(d, "b-1", "B", "detected"); /* a duplicate */
	json_t *bad = h_requestf(d, "{s:s, s:s}", "op", "event", "provider", "acme");
	assert_false(h_is_ok(bad));
	json_decref(bad);

	char *after = s_scrape(port);
	assert_non_null(after);
	assert_true(s_promtool(d, after) <= 0);
	assert_true(s_value(after, "incidentd_events_total{result=\"accepted\"}") == 3);
	assert_true(s_value(after, "incidentd_events_total{result=\"duplicate\"}") == 1);
	assert_true(s_value(after, "incidentd_events_total{result=\"refused\"}") == 1);
	assert_true(s_value(after, "incidentd_requests_total{op=\"event\",code=\"ok\"}") == 4);
	assert_true(s_value(after, "incidentd_requests_total{op=\"event\",code=\"bad_request\"}") ==
		    1);
	assert_true(s_value(after, "incidentd_request_duration_seconds_count{op=\"event\"}") == 5);
	assert_true(s_value(after, "incidentd_commit_duration_seconds_count") >= 1);
	assert_true(s_value(after, "incidentd_incidents{status=\"open\"}") ==
		    (double)h_status_count(d, "open"));
	assert_true(s_value(after, "incidentd_incidents{status=\"open\"}") == 2);
	assert_true(s_value(after, "incidentd_deadlines_pending") == 1);
	assert_true(s_value(after, "incidentd_breaches_total{sla=\"quick\",detected=\"deadline\"}") ==
		    0);
	free(after);

	/* A's deadline (2 s) passes: its breach counts and its deadline is no longer pending. */
	char *later = NULL;
	for (int i = 0; i < 100; i++) {
		free(later);
		later = s_scrape(port);
		assert_non_null(later);
		if (s_value(later, "incidentd_breaches_total{sla=\"quick\",detected=\"deadline\"}") == 1)
			break;
		usleep(100 * 1000);
	}
	assert_true(s_value(later, "incidentd_breaches_total{sla=\"quick\",detected=\"deadline\"}") ==
		    1);
	assert_true(s_value(later, "incidentd_deadlines_pending") == 0);
	/* The status op was answered too, and counted. */
	assert_true(s_value(later, "incidentd_requests_total{op=\"status\",code=\"ok\"}") >= 1);
	free(later);
	h_pass(d);
	h_destroy(&d);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrape_is_valid_and_counts),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
