/*
 * Alertmanager: its webhook payload becomes events (direct POSTs of payloads check the
 * mapping), and a real prometheus-alertmanager, started here on loopback with a webhook
 * receiver pointing at incidentd, opens an incident when an alert fires, resolves it when the
 * alert resolves, and its repeated deliveries are duplicates (one incident, one event per
 * stage). That last test is skipped, saying so, when the binary is not installed.
 */
#include <signal.h>
#include <unistd.h>

#include "checks.h"
#include "http_client.h"

#define AM_BIN "/usr/bin/prometheus-alertmanager"
#define NORTH_TOKEN "am-north-token-0123456789"
#define OPS_TOKEN "am-ops-token-0123456789"
#define MULTI_TOKEN "am-multi-token-0123456789"

typedef struct {
	h_daemon_t *d;
	int port;
} s_fixture_t;

static int s_setup(void **state)
{
	s_fixture_t *f = calloc(1, sizeof *f);
	char conf[2048], north[65], ops[65], multi[65];
	hc_token_sha256(NORTH_TOKEN, north);
	hc_token_sha256(OPS_TOKEN, ops);
	hc_token_sha256(MULTI_TOKEN, multi);
	f->port = h_free_port();
	snprintf(conf, sizeof conf,
		 "[http]\nlisten = 127.0.0.1:%d\nseverity.critical = 1\nseverity.warning = 4\n"
		 "[client am-north]\ntoken_sha256 = %s\nrole = provider\nproviders = csp-north\n"
		 "[client ops]\ntoken_sha256 = %s\nrole = operator\n"
		 "[client am-multi]\ntoken_sha256 = %s\nrole = provider\n"
		 "providers = csp-east, csp-west\n",
		 f->port, north, ops, multi);
	f->d = h_new(conf);
	if (!f->d || h_start(f->d) < 0)
		return -1;
	*state = f;
	return 0;
}

/* Stops the daemon with SIGTERM: it must exit 0 (under ASan, with no leak report). */
static int s_teardown(void **state)
{
	s_fixture_t *f = *state;
	int rc = h_stop_clean(f->d);
	h_destroy(&f->d);
	free(f);
	return rc == 0 ? 0 : -1;
}

static json_t *s_post(s_fixture_t *f, const char *query, const char *token, const char *body,
		      long status)
{
	char url[256];
	hc_answer_t a;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/alertmanager%s", f->port, query);
	assert_int_equal(hc_request("POST", url, token, "application/json", body, strlen(body), 5000,
				    &a), 0);
	if (a.status != status)
		fail_msg("status %ld, expected %ld: %s", a.status, status, a.body);
	json_t *r = json_loads(a.body, 0, NULL);
	assert_non_null(r);
	hc_answer_clear(&a);
	return r;
}

#define PAYLOAD(alerts) \
	"{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"incidentd\",\"groupKey\":\"{}\"," \
	"\"alerts\":[" alerts "]}"
#define ALERT(status, fp, sev, starts, ends) \
	"{\"status\":\"" status "\",\"fingerprint\":\"" fp "\",\"labels\":{\"alertname\":" \
	"\"DiskFull\",\"severity\":\"" sev "\"},\"annotations\":{\"summary\":\"Disk full\"}," \
	"\"startsAt\":\"" starts "\",\"endsAt\":\"" ends "\"}"

/* The incident of a provider's ref (via list), as `get` returns it; NULL when there is none. */
static json_t *s_incident(h_daemon_t *d, const char *ref)
{
	json_t *l = h_requestf(d, "{s:s, s:s}", "op", "list", "status", "all");
	json_t *inc = NULL, *item;
	size_t i;
	json_array_foreach(json_object_get(l, "incidents"), i, item) {
		if (strcmp(json_string_value(json_object_get(item, "ref")), ref) != 0)
			continue;
		json_t *g = h_requestf(d, "{s:s, s:O}", "op", "get", "incident",
				       json_object_get(item, "id"));
		inc = json_incref(json_object_get(g, "incident"));
		json_decref(g);
	}
	json_decref(l);
	return inc;
}

static void test_payload_mapping(void **state)
{
	s_fixture_t *f = *state;
	json_t *r = s_post(f, "", NORTH_TOKEN,
			   PAYLOAD(ALERT("firing", "aaaa000000000001", "critical",
					 "2026-01-02T03:04:05.123456789Z", "0001-01-01T00:00:00Z")),
			   200);
	assert_true(json_is_array(r));
	CHECK_OK(json_array_get(r, 0));
	CHECK_FALSE(json_array_get(r, 0), "duplicate");
	json_decref(r);
	/* Alertmanager delivers again: a duplicate. */
	r = s_post(f, "", NORTH_TOKEN,
		   PAYLOAD(ALERT("firing", "aaaa000000000001", "critical",
				 "2026-01-02T03:04:05.123456789Z", "0001-01-01T00:00:00Z")), 200);
	CHECK_TRUE(json_array_get(r, 0), "duplicate");
	json_decref(r);
	json_t *inc = s_incident(f->d, "aaaa000000000001");
	assert_non_null(inc);
	CHECK_STR(inc, "provider", "csp-north");
	CHECK_STR(inc, "title", "Disk full");
	CHECK_INT(inc, "category", 1);
	json_t *e = json_array_get(json_object_get(inc, "timeline"), 0);
	CHECK_STR(e, "stage", "detected");
	CHECK_STR(e, "source", "monitoring");
	CHECK_STR(e, "at", "2026-01-02T03:04:05.123Z");
	CHECK_STR(e, "by", "am-north");
	json_decref(inc);

	/* A resolved alert of an incident never opened opens it (unmapped severity: 3). */
	r = s_post(f, "", NORTH_TOKEN,
		   PAYLOAD(ALERT("resolved", "bbbb000000000002", "page",
				 "2026-01-02T03:00:00Z", "2026-01-02T04:00:00Z")), 200);
	CHECK_OK(json_array_get(r, 0));
	CHECK_STR(json_array_get(r, 0), "status", "resolved");
	json_decref(r);
	inc = s_incident(f->d, "bbbb000000000002");
	CHECK_INT(inc, "category", 3);
	json_decref(inc);

	/* An operator token names the provider; without it, 400. */
	r = s_post(f, "", OPS_TOKEN,
		   PAYLOAD(ALERT("firing", "cccc000000000003", "warning", "2026-01-02T03:00:00Z",
				 "0001-01-01T00:00:00Z")), 400);
	CHECK_ERROR(r, "bad_request", "provider");
	json_decref(r);
	r = s_post(f, "?provider=csp-west", OPS_TOKEN,
		   PAYLOAD(ALERT("firing", "cccc000000000003", "warning", "2026-01-02T03:00:00Z",
				 "0001-01-01T00:00:00Z")), 200);
	json_decref(r);
	inc = s_incident(f->d, "cccc000000000003");
	CHECK_STR(inc, "provider", "csp-west");
	CHECK_INT(inc, "category", 4);
	json_decref(inc);
	/* A provider token of several providers names one of them. */
	r = s_post(f, "", MULTI_TOKEN,
		   PAYLOAD(ALERT("firing", "ffff000000000006", "warning", "2026-01-02T03:00:00Z",
				 "0001-01-01T00:00:00Z")), 400);
	CHECK_ERROR(r, "bad_request", "provider");
	json_decref(r);
	r = s_post(f, "?provider=csp-east", MULTI_TOKEN,
		   PAYLOAD(ALERT("firing", "ffff000000000006", "warning", "2026-01-02T03:00:00Z",
				 "0001-01-01T00:00:00Z")), 200);
	json_decref(r);
	/* A provider token may not name another provider. */
	r = s_post(f, "?provider=csp-west", NORTH_TOKEN,
		   PAYLOAD(ALERT("firing", "dddd000000000004", "warning", "2026-01-02T03:00:00Z",
				 "0001-01-01T00:00:00Z")), 403);
	json_decref(r);
	/* Not a version 4 payload; a time in the future beyond max_clock_skew. */
	r = s_post(f, "", NORTH_TOKEN, "{\"version\":\"3\",\"alerts\":[]}", 400);
	CHECK_ERROR(r, "bad_request", "version");
	json_decref(r);
	r = s_post(f, "", NORTH_TOKEN,
		   PAYLOAD(ALERT("firing", "eeee000000000005", "warning", "2999-01-01T00:00:00Z",
				 "0001-01-01T00:00:00Z")), 400);
	json_decref(r);
	assert_int_equal(h_status_count(f->d, "incidents"), 4);
	h_pass(f->d);
}

/* Sends an alert to Alertmanager's API v2; ends NULL: firing. */
static void s_am_alert(int am_port, const char *starts, const char *ends)
{
	char url[128], body[512];
	hc_answer_t a;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v2/alerts", am_port);
	snprintf(body, sizeof body,
		 "[{\"labels\":{\"alertname\":\"LinkDown\",\"severity\":\"critical\","
		 "\"instance\":\"edge-1\"},\"annotations\":{\"summary\":\"Link down on edge-1\"},"
		 "\"startsAt\":\"%s\"%s%s%s}]",
		 starts, ends ? ",\"endsAt\":\"" : "", ends ? ends : "", ends ? "\"" : "");
	assert_int_equal(hc_request("POST", url, NULL, "application/json", body, strlen(body), 5000,
				    &a), 0);
	if (a.status != 200)
		fail_msg("Alertmanager refused the alert: %ld %s", a.status, a.body);
	hc_answer_clear(&a);
}

/* Alertmanager's count of webhook notifications it sent (from its /metrics). */
static long s_am_sent(int am_port)
{
	char url[128];
	hc_answer_t a;
	long n = -1;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", am_port);
	if (hc_request("GET", url, NULL, NULL, NULL, 0, 2000, &a) == 0) {
		const char *m = strstr(a.body, "alertmanager_notifications_total{integration=\"webhook\"}");
		if (m)
			n = strtol(strchr(m, '}') + 1, NULL, 10);
	}
	hc_answer_clear(&a);
	return n;
}

/* ms since the epoch as RFC 3339 UTC (out: 32 bytes). */
static void s_format_utc(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static void s_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Waits (bounded) until ref's incident has status; returns it. */
static json_t *s_wait_status(h_daemon_t *d, const char *status, int timeout_ms)
{
	for (int64_t until = h_mono_ms() + timeout_ms; h_mono_ms() < until; s_sleep_ms(100)) {
		json_t *l = h_requestf(d, "{s:s, s:s}", "op", "list", "status", "all");
		json_t *first = json_array_get(json_object_get(l, "incidents"), 0);
		if (first && strcmp(json_string_value(json_object_get(first, "status")), status) == 0) {
			json_t *g = h_requestf(d, "{s:s, s:O}", "op", "get", "incident",
					       json_object_get(first, "id"));
			json_decref(l);
			return g;
		}
		json_decref(l);
	}
	return NULL;
}

static void test_real_alertmanager(void **state)
{
	s_fixture_t *f = *state;
	if (access(AM_BIN, X_OK) != 0) {
		print_message("SKIP: %s is not installed (Debian package prometheus-alertmanager; "
			      "scripts/deps-test installs it)\n", AM_BIN);
		h_pass(f->d);
		skip();
	}
	int am_port = h_free_port();
	char yml[1024], path[H_PATH_MAX], storage[H_PATH_MAX], cfg_flag[H_PATH_MAX + 16],
		storage_flag[H_PATH_MAX + 16], listen_flag[64];
	snprintf(yml, sizeof yml,
		 "route:\n  receiver: incidentd\n  group_by: ['alertname']\n  group_wait: 100ms\n"
		 "  group_interval: 1s\n  repeat_interval: 2s\n"
		 "receivers:\n- name: incidentd\n  webhook_configs:\n"
		 "  - url: http://127.0.0.1:%d/v1/alertmanager\n    send_resolved: true\n"
		 "    http_config:\n      authorization:\n        credentials: %s\n",
		 f->port, NORTH_TOKEN);
	assert_int_equal(h_write_file(f->d, "alertmanager.yml", yml, path), 0);
	snprintf(storage, sizeof storage, "%s/am", f->d->dir);
	snprintf(cfg_flag, sizeof cfg_flag, "--config.file=%s", path);
	snprintf(storage_flag, sizeof storage_flag, "--storage.path=%s", storage);
	snprintf(listen_flag, sizeof listen_flag, "--web.listen-address=127.0.0.1:%d", am_port);
	char *argv[] = {(char *)AM_BIN, cfg_flag, storage_flag, listen_flag,
			(char *)"--cluster.listen-address=", (char *)"--log.level=warn", NULL};
	h_child_t am;
	assert_int_equal(h_child_start(&am, f->d->dir, argv), 0);
	char ready[128];
	snprintf(ready, sizeof ready, "http://127.0.0.1:%d/-/ready", am_port);
	hc_answer_t a = { 0 };
	for (int64_t until = h_mono_ms() + 15000; a.status != 200; s_sleep_ms(100)) {
		hc_answer_clear(&a);
		if (h_mono_ms() > until)
			fail_msg("Alertmanager did not become ready on port %d", am_port);
		hc_request("GET", ready, NULL, NULL, NULL, 0, 1000, &a);
	}
	hc_answer_clear(&a);

	char starts[32], ends[32];
	s_format_utc(h_now_ms() - 60000, starts);
	s_am_alert(am_port, starts, NULL);
	json_t *g = s_wait_status(f->d, "open", 15000);
	if (!g)
		fail_msg("no incident 15 s after the alert fired");
	json_t *inc = json_object_get(g, "incident");
	CHECK_STR(inc, "provider", "csp-north");
	CHECK_STR(inc, "title", "Link down on edge-1");
	CHECK_INT(inc, "category", 1);
	json_t *e = json_array_get(json_object_get(inc, "timeline"), 0);
	CHECK_STR(e, "stage", "detected");
	CHECK_STR(e, "source", "monitoring");
	json_decref(g);
	/* Alertmanager repeats the notification (repeat_interval 2s): duplicates, nothing new. */
	long first = s_am_sent(am_port);
	for (int64_t until = h_mono_ms() + 15000; s_am_sent(am_port) < first + 2; s_sleep_ms(200))
		if (h_mono_ms() > until)
			fail_msg("Alertmanager sent no repeat (sent %ld)", s_am_sent(am_port));
	assert_int_equal(h_status_count(f->d, "incidents"), 1);
	assert_int_equal(h_status_count(f->d, "events"), 1);

	s_format_utc(h_now_ms() - 1000, ends);
	s_am_alert(am_port, starts, ends);
	g = s_wait_status(f->d, "resolved", 15000);
	if (!g)
		fail_msg("the incident was not resolved 15 s after the alert resolved");
	json_decref(g);
	assert_int_equal(h_status_count(f->d, "incidents"), 1);
	assert_int_equal(h_status_count(f->d, "events"), 2);
	h_child_stop(&am);
	h_pass(f->d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_payload_mapping, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_real_alertmanager, s_setup, s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
