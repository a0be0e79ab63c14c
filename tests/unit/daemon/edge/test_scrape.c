/*
 * Tests of daemon/edge/scrape.c on a real LMDB store (a fresh temporary directory per test):
 * events applied through the event op in a batch, as the writer's group commit does, then the
 * /metrics text: incidents by status, pending deadlines, store bytes from the store; breaches
 * and outbox entries counted from the batch's tally once committed; each hook's backlog
 * counted again at start-up (alerts_new). promtool, when installed, accepts the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/edge/alerts.h"
#include "daemon/edge/scrape.h"
#include "daemon/ops/ops.h"
#include "daemon/store/batch.h"
#include "daemon/store/incident_cache.h"
#include "daemon/store/schema.h"
#include "daemon/sys/clock.h"
#include "daemon/sys/conf_file.h"
#include "daemon/sys/metrics.h"
#include "proto/rfc3339.h"
#include "tests/unit/unit_tmpdir.h"

static const char s_config[] = "[sla notify]\n"
			       "start = detected\n"
			       "stop = notified\n"
			       "category.1 = 30m\n"
			       "[hook pager]\n"
			       "exec = /bin/true\n";

typedef struct {
	char dir[64];
	char conf[96];
	store_t *store;
	config_t *cfg;
} fixture_t;

static int s_setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	assert_non_null(f);
	strcpy(f->dir, "/tmp/incidentd-scrape-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->conf, sizeof f->conf, "%s/incidentd.conf", f->dir);
	FILE *out = fopen(f->conf, "w");
	assert_non_null(out);
	fputs(s_config, out);
	fclose(out);
	config_diag_t diag = { 0 };
	f->cfg = conf_file_load(f->conf, NULL, &diag);
	if (!f->cfg)
		fail_msg("config: %s", diag.n ? diag.lines[0] : "?");
	config_diag_release(&diag);
	char err[256];
	char data[96];
	snprintf(data, sizeof data, "%s/data", f->dir);
	f->store = store_open(data, 1 << 20, &schema_current, err, sizeof err);
	if (!f->store)
		fail_msg("store_open: %s", err);
	assert_int_equal(metrics_init(f->cfg), 0);
	*state = f;
	return 0;
}

static int s_teardown(void **state)
{
	fixture_t *f = *state;
	store_destroy(&f->store);
	metrics_release();
	config_destroy(&f->cfg);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

/* An event request: ref's stage, reported at at_ms, opening with category 1. */
static json_t *s_event(const char *event_id, const char *ref, const char *stage, int64_t at_ms)
{
	char at[RFC3339_BUFSZ];
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "op", "event",
				"provider", "p", "event_id", event_id, "ref", ref, "stage", stage,
				"at", rfc3339_format(at_ms, at), "category", 1, "title", "t");
	assert_non_null(req);
	return req;
}

/* Applies the requests in one batch with the writer's tally, commits, counts the tally. */
static void s_apply(fixture_t *f, json_t **reqs, size_t n)
{
	store_txn_t txn;
	batch_t batch;
	log_buf_t log = { 0 };
	metrics_tally_t tally;
	incident_cache_t *cache = incident_cache_new(64, 64);
	int64_t now = clock_now_ms();
	assert_non_null(cache);
	assert_int_equal(metrics_tally_init(&tally, f->cfg), 0);
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	assert_int_equal(batch_start(&batch, f->cfg, cache, &txn, now, false, &log), 0);
	batch.tally = &tally;
	for (size_t i = 0; i < n; i++) {
		batch_result_t res;
		batch_result_init(&res);
		char *raw = json_dumps(reqs[i], JSON_COMPACT);
		op_request_t req = { .json = reqs[i], .raw = raw, .raw_len = strlen(raw),
				     .received_ms = now, .caller = &op_anonymous };
		assert_int_equal(ops_write(ops_event(), &batch, &req, &res), 0);
		if (!res.event.set)
			fail_msg("event %zu refused: %s", i, res.err.message);
		batch_result_clear(&res);
		free(raw);
		json_decref(reqs[i]);
	}
	assert_int_equal(batch_finish(&batch), 0);
	assert_int_equal(store_txn_commit(&txn), 0);
	log_buf_flush(&log);
	log_buf_free(&log);
	metrics_tally_commit(&tally);
	metrics_tally_release(&tally);
	incident_cache_destroy(&cache);
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

/* The value of the series line starting with name (its whole name and labels). */
static unsigned long long s_value(const char *text, const char *series)
{
	char needle[256];
	snprintf(needle, sizeof needle, "\n%s ", series);
	const char *p = strstr(text, needle);
	if (!p)
		fail_msg("no series %s in:\n%s", series, text);
	return strtoull(p + strlen(needle), NULL, 10);
}

/*
 * One incident breached on arrival (detected two hours ago, 30 minutes allowed), one waiting
 * for its notification, one notified in time and resolved.
 */
static void s_fill(fixture_t *f)
{
	int64_t now = clock_now_ms();
	json_t *reqs[] = {
		s_event("e1", "late", "detected", now - 2 * 3600 * 1000),
		s_event("e2", "waiting", "detected", now - 60 * 1000),
		s_event("e3", "done", "detected", now - 120 * 1000),
		s_event("e4", "done", "notified", now - 60 * 1000),
		s_event("e5", "done", "resolved", now - 1000),
	};
	s_apply(f, reqs, sizeof reqs / sizeof reqs[0]);
}

static void test_store_gauges_and_tally(void **state)
{
	fixture_t *f = *state;
	s_fill(f);
	size_t len;
	char *text = scrape_render(f->store, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	s_has_line(text, "incidentd_incidents{status=\"open\"} 2");
	s_has_line(text, "incidentd_incidents{status=\"resolved\"} 1");
	s_has_line(text, "incidentd_incidents{status=\"closed\"} 0");
	s_has_line(text, "incidentd_deadlines_pending 1");
	s_has_line(text, "incidentd_breaches_total{sla=\"notify\",detected=\"on_arrival\"} 1");
	s_has_line(text, "incidentd_breaches_total{sla=\"notify\",detected=\"deadline\"} 0");
	s_has_line(text, "incidentd_outbox_pending{hook=\"pager\"} 1");
	s_has_line(text, "incidentd_store_map_bytes 1048576");
	unsigned long long used = s_value(text, "incidentd_store_used_bytes");
	assert_true(used > 0 && used <= 1048576);
	free(text);
}

/* A restart counts each hook's backlog once from the store; the counters start at 0. */
static void test_backlog_counted_at_start(void **state)
{
	fixture_t *f = *state;
	s_fill(f);
	assert_int_equal(metrics_init(f->cfg), 0);
	alerts_t *alerts = alerts_new(f->store, f->cfg);
	assert_non_null(alerts);
	size_t len;
	char *text = scrape_render(f->store, &len);
	assert_non_null(text);
	s_has_line(text, "incidentd_outbox_pending{hook=\"pager\"} 1");
	s_has_line(text, "incidentd_breaches_total{sla=\"notify\",detected=\"on_arrival\"} 0");
	s_has_line(text, "incidentd_incidents{status=\"open\"} 2");
	free(text);
	alerts_destroy(&alerts);
}

static void test_promtool_accepts_the_scrape(void **state)
{
	fixture_t *f = *state;
	s_fill(f);
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		skip();
	size_t len;
	char *text = scrape_render(f->store, &len);
	assert_non_null(text);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "promtool check metrics <%s/metrics.txt", f->dir);
	char path[128];
	snprintf(path, sizeof path, "%s/metrics.txt", f->dir);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fwrite(text, 1, len, out);
	fclose(out);
	int status = system(cmd);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("promtool check metrics refused:\n%s", text);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_gauges_and_tally, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_backlog_counted_at_start, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_promtool_accepts_the_scrape, s_setup,
						s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
