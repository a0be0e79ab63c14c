/*
 * A real Prometheus server (Debian's /usr/bin/prometheus) scrapes the real daemon's GET
 * /metrics every second, with the repository's alert rules (examples/incidentd-rules.yml)
 * loaded: the incidentd target is up, the events pushed and the incidents open are what its
 * query API returns, both example rules are loaded and evaluate without error, and a breach
 * raised while it watches fires IncidentdBreachesRising for that rule. Skipped, saying so,
 * when Prometheus is not installed.
 *
 * Prometheus listens on 127.0.0.1 only: in 2.42 its web listener (UI and API) is the one
 * socket it opens; the remote-write receiver, admin API and lifecycle endpoints stay off (the
 * defaults), and the scrape config names no service discovery that would reach out.
 */
#include <signal.h>
#include <unistd.h>

#include "checks.h"
#include "http_client.h"

#ifndef INCIDENTD_EXAMPLES
#error "INCIDENTD_EXAMPLES must be defined by the build"
#endif

#define PROM_BIN "/usr/bin/prometheus"
#define RULES_FILE INCIDENTD_EXAMPLES "/incidentd-rules.yml"

typedef struct {
	h_daemon_t *d;
	int port;        /* the daemon's HTTP listener */
	int prom_port;   /* Prometheus's web listener */
	h_child_t prom;  /* Prometheus, while prom.pid > 0 */
} s_fixture_t;

static void s_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/*
 * A daemon whose SLA "quick" gives category 1 an hour: events detected now stay within it,
 * one detected two hours ago is a breach on arrival.
 */
static int s_setup(void **state)
{
	s_fixture_t *f = calloc(1, sizeof *f);
	char conf[512];
	if (!f)
		return -1;
	*state = f;
	if (access(PROM_BIN, X_OK) != 0)
		return 0; /* the test says it skips */
	f->port = h_free_port();
	snprintf(conf, sizeof conf,
		 "[sla quick]\nstart = detected\nstop = notified\ncategory.1 = 1h\n"
		 "[http]\nlisten = 127.0.0.1:%d\n",
		 f->port);
	f->d = h_new(conf);
	if (!f->d || h_start(f->d) < 0)
		return -1;
	return 0;
}

/* Stops Prometheus (SIGTERM, bounded) and then the daemon: both must exit 0. */
static int s_teardown(void **state)
{
	s_fixture_t *f = *state;
	int rc = 0;
	if (f->prom.pid > 0) {
		int st = h_child_stop(&f->prom);
		if (st != 0) {
			print_error("prometheus exited with status %d after SIGTERM\n", st);
			rc = -1;
		}
	}
	if (f->d && f->d->pid > 0) {
		int st = h_stop(f->d);
		if (st != 0) {
			print_error("the daemon exited with status %d after SIGTERM\n", st);
			h_print_log(f->d);
			rc = -1;
		}
	}
	h_destroy(&f->d);
	free(f);
	return rc;
}

/* Pushes an accepted event of category 1 detected at `at` (NULL: now). */
static void s_push(h_daemon_t *d, const char *event_id, const char *ref, const char *at)
{
	json_t *ev = h_event("acme", event_id, ref, "detected");
	json_object_set_new(ev, "category", json_integer(1));
	json_object_set_new(ev, "title", json_string(ref));
	if (at)
		json_object_set_new(ev, "at", json_string(at));
	json_t *r = h_request(d, ev);
	json_decref(ev);
	if (!h_is_ok(r))
		check_fail_(__FILE__, __LINE__, r, event_id);
	json_decref(r);
}

/*
 * GET http://127.0.0.1:PROM/api/v1/<path>: its "data" (new reference) when Prometheus answered
 * 200 with status "success", else NULL.
 */
static json_t *s_prom_api(const s_fixture_t *f, const char *path)
{
	char url[512];
	hc_answer_t a = { 0 };
	json_t *data = NULL;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/%s", f->prom_port, path);
	if (hc_request("GET", url, NULL, NULL, NULL, 0, 2000, &a) == 0 && a.status == 200) {
		json_t *r = json_loads(a.body, 0, NULL);
		const char *status = json_string_value(json_object_get(r, "status"));
		if (status && strcmp(status, "success") == 0)
			data = json_incref(json_object_get(r, "data"));
		json_decref(r);
	}
	hc_answer_clear(&a);
	return data;
}

/* The active target of job incidentd from /api/v1/targets (new reference), or NULL. */
static json_t *s_target(const s_fixture_t *f)
{
	json_t *data = s_prom_api(f, "targets?state=active");
	json_t *found = NULL, *t;
	size_t i;
	json_array_foreach(json_object_get(data, "activeTargets"), i, t) {
		const char *job = json_string_value(json_object_get(json_object_get(t, "labels"), "job"));
		if (job && strcmp(job, "incidentd") == 0)
			found = json_incref(t);
	}
	json_decref(data);
	return found;
}

/*
 * The value of metric's series whose label has value, from an instant query of metric (a bare
 * name needs no URL encoding), or -1 when there is no such series.
 */
static double s_query(const s_fixture_t *f, const char *metric, const char *label,
		      const char *value)
{
	char path[256];
	snprintf(path, sizeof path, "query?query=%s", metric);
	json_t *data = s_prom_api(f, path);
	double v = -1;
	json_t *series;
	size_t i;
	json_array_foreach(json_object_get(data, "result"), i, series) {
		const char *l = json_string_value(json_object_get(json_object_get(series, "metric"), label));
		const char *text = json_string_value(json_array_get(json_object_get(series, "value"), 1));
		if (l && text && strcmp(l, value) == 0)
			v = strtod(text, NULL);
	}
	json_decref(data);
	return v;
}

/* Waits (bounded) until the query of s_query() gives want; returns the last value seen. */
static double s_query_wait(const s_fixture_t *f, const char *metric, const char *label,
			   const char *value, double want, int timeout_ms)
{
	double v = s_query(f, metric, label, value);
	for (int64_t until = h_mono_ms() + timeout_ms; v != want && h_mono_ms() < until;
	     s_sleep_ms(200))
		v = s_query(f, metric, label, value);
	return v;
}

/*
 * The rules Prometheus loaded from RULES_FILE, checked: exactly the two example alerts, and
 * true once both were evaluated without error (health "ok"). A rule with an error fails the
 * test at once.
 */
static bool s_rules_ok(const s_fixture_t *f)
{
	json_t *data = s_prom_api(f, "rules");
	json_t *group, *rule;
	size_t i, j;
	int seen = 0, ok = 0;
	json_array_foreach(json_object_get(data, "groups"), i, group) {
		const char *file = json_string_value(json_object_get(group, "file"));
		if (!file || strstr(file, "incidentd-rules.yml") == NULL)
			continue;
		json_array_foreach(json_object_get(group, "rules"), j, rule) {
			const char *name = json_string_value(json_object_get(rule, "name"));
			const char *health = json_string_value(json_object_get(rule, "health"));
			if (!name || (strcmp(name, "IncidentdBreachesRising") != 0 &&
				      strcmp(name, "IncidentdOutboxBacklog") != 0))
				check_fail_(__FILE__, __LINE__, rule, "an unexpected rule");
			if (health && strcmp(health, "err") == 0)
				check_fail_(__FILE__, __LINE__, rule, "the rule failed to evaluate");
			seen++;
			ok += health && strcmp(health, "ok") == 0;
		}
	}
	json_decref(data);
	return seen == 2 && ok == 2;
}

/* The state ("pending", "firing") of alertname for rule sla, or NULL while there is none. */
static const char *s_alert_state(const s_fixture_t *f, const char *alertname, const char *sla)
{
	static char state[16];
	const char *found = NULL;
	json_t *data = s_prom_api(f, "alerts");
	json_t *alert;
	size_t i;
	json_array_foreach(json_object_get(data, "alerts"), i, alert) {
		json_t *labels = json_object_get(alert, "labels");
		const char *name = json_string_value(json_object_get(labels, "alertname"));
		const char *s = json_string_value(json_object_get(labels, "sla"));
		const char *st = json_string_value(json_object_get(alert, "state"));
		if (name && s && st && strcmp(name, alertname) == 0 && strcmp(s, sla) == 0) {
			snprintf(state, sizeof state, "%s", st);
			found = state;
		}
	}
	json_decref(data);
	return found;
}

/*
 * Writes DIR/prometheus.yml (scrape and evaluate every second, job incidentd on the daemon's
 * listener, the example rules) and starts Prometheus on 127.0.0.1 with its TSDB in DIR/tsdb;
 * returns once /-/ready answers 200 (within 15 s).
 */
static void s_prom_start(s_fixture_t *f)
{
	char yml[1024], path[H_PATH_MAX], cfg_flag[H_PATH_MAX + 16],
		tsdb_flag[H_PATH_MAX + 32], listen_flag[64], ready[128];
	snprintf(yml, sizeof yml,
		 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		 "  evaluation_interval: 1s\n"
		 "rule_files:\n  - %s\n"
		 "scrape_configs:\n  - job_name: incidentd\n    metrics_path: /metrics\n"
		 "    static_configs:\n      - targets: [\"127.0.0.1:%d\"]\n",
		 RULES_FILE, f->port);
	assert_int_equal(h_write_file(f->d, "prometheus.yml", yml, path), 0);
	f->prom_port = h_free_port();
	snprintf(cfg_flag, sizeof cfg_flag, "--config.file=%s", path);
	snprintf(tsdb_flag, sizeof tsdb_flag, "--storage.tsdb.path=%s/tsdb", f->d->dir);
	snprintf(listen_flag, sizeof listen_flag, "--web.listen-address=127.0.0.1:%d",
		 f->prom_port);
	char *argv[] = { (char *)PROM_BIN, cfg_flag, tsdb_flag, listen_flag,
			 (char *)"--log.level=warn", NULL };
	assert_int_equal(h_child_start(&f->prom, f->d->dir, argv), 0);
	snprintf(ready, sizeof ready, "http://127.0.0.1:%d/-/ready", f->prom_port);
	hc_answer_t a = { 0 };
	for (int64_t until = h_mono_ms() + 15000; a.status != 200; s_sleep_ms(100)) {
		hc_answer_clear(&a);
		if (h_mono_ms() > until)
			fail_msg("Prometheus did not become ready on port %d", f->prom_port);
		hc_request("GET", ready, NULL, NULL, NULL, 0, 1000, &a);
	}
	hc_answer_clear(&a);
}

/* ms since the epoch as RFC 3339 UTC (out: 32 bytes). */
static void s_format_utc(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static void test_real_prometheus_scrapes(void **state)
{
	s_fixture_t *f = *state;
	if (access(PROM_BIN, X_OK) != 0) {
		print_message("SKIP: %s is not installed (Debian package prometheus; "
			      "scripts/deps-test installs it)\n", PROM_BIN);
		skip();
	}
	s_push(f->d, "a-1", "A", NULL);
	s_push(f->d, "b-1", "B", NULL);
	s_push(f->d, "a-1", "A", NULL); /* a retry: a duplicate */
	s_prom_start(f);

	/* The target is up within 20 s (a scrape a second). */
	json_t *target = s_target(f);
	for (int64_t until = h_mono_ms() + 20000;; s_sleep_ms(200)) {
		const char *health = json_string_value(json_object_get(target, "health"));
		if (health && strcmp(health, "up") == 0)
			break;
		if (h_mono_ms() > until)
			check_fail_(__FILE__, __LINE__, target, "the incidentd target is not up after 20 s");
		json_decref(target);
		target = s_target(f);
	}
	json_decref(target);

	/* What Prometheus stored is what the daemon did. */
	double accepted = s_query_wait(f, "incidentd_events_total", "result", "accepted", 2, 5000);
	if (accepted != 2)
		fail_msg("incidentd_events_total{result=\"accepted\"} is %g in Prometheus, expected 2",
			 accepted);
	assert_true(s_query(f, "incidentd_events_total", "result", "duplicate") == 1);
	double open = s_query(f, "incidentd_incidents", "status", "open");
	if (open != 2 || (long long)open != h_status_count(f->d, "open"))
		fail_msg("incidentd_incidents{status=\"open\"} is %g in Prometheus, expected 2", open);
	assert_true(s_query(f, "incidentd_breaches_total", "detected", "on_arrival") == 0);

	/* Both example rules are loaded and evaluate without error within 10 s. */
	for (int64_t until = h_mono_ms() + 10000; !s_rules_ok(f); s_sleep_ms(200))
		if (h_mono_ms() > until)
			fail_msg("the rules of %s were not both loaded and healthy after 10 s",
				 RULES_FILE);
	assert_null(s_alert_state(f, "IncidentdBreachesRising", "quick"));

	/* A breach while Prometheus watches: the example alert fires for its rule. */
	char two_hours_ago[32];
	s_format_utc(h_now_ms() - 2 * 3600 * 1000, two_hours_ago);
	s_push(f->d, "c-1", "C", two_hours_ago);
	double breaches = s_query_wait(f, "incidentd_breaches_total", "detected", "on_arrival", 1,
				       10000);
	if (breaches != 1)
		fail_msg("incidentd_breaches_total{detected=\"on_arrival\"} is %g, expected 1",
			 breaches);
	assert_true(s_query_wait(f, "incidentd_events_total", "result", "accepted", 3, 5000) == 3);
	assert_true(s_query_wait(f, "incidentd_incidents", "status", "open", 3, 5000) == 3);
	const char *alert = s_alert_state(f, "IncidentdBreachesRising", "quick");
	for (int64_t until = h_mono_ms() + 10000; !alert || strcmp(alert, "firing") != 0;
	     s_sleep_ms(200)) {
		if (h_mono_ms() > until)
			fail_msg("IncidentdBreachesRising{sla=\"quick\"} is %s after 10 s, not firing",
				 alert ? alert : "absent");
		alert = s_alert_state(f, "IncidentdBreachesRising", "quick");
	}
	h_pass(f->d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_real_prometheus_scrapes, s_setup, s_teardown),
	};
	return cmocka_run_group_tests_name("integration/prometheus", tests, NULL, NULL);
}
