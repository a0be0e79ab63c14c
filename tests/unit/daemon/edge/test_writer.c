/*
 * Tests of daemon/edge/writer.c, on a real LMDB store and a libuv loop: events submitted as
 * the server submits them come back committed, and the registry counts each event's outcome
 * (accepted, duplicate, refused), the group commits and their sizes; in cluster mode, the
 * entries of the log (several requests each) are applied whole and once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/edge/writer.h"
#include "daemon/store/schema.h"
#include "daemon/sys/clock.h"
#include "daemon/sys/metrics.h"
#include "tests/unit/unit_tmpdir.h"

typedef struct {
	char dir[64];
	store_t *store;
	config_t *cfg;
	uv_loop_t loop;
	writer_t *writer;
	atomic_bool listening;
	size_t done;          /* jobs handed back */
	size_t expected;
} fixture_t;

static void s_on_done(writer_job_t *jobs, void *arg)
{
	fixture_t *f = arg;
	while (jobs) {
		writer_job_t *next = jobs->next;
		f->done++;
		writer_job_free(jobs);
		jobs = next;
	}
	if (f->done == f->expected)
		writer_stop(&f->writer);
}

static int s_setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	assert_non_null(f);
	strcpy(f->dir, "/tmp/incidentd-writer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->cfg = config_default();
	assert_non_null(f->cfg);
	char err[256];
	f->store = store_open(f->dir, 1 << 20, &schema_current, err, sizeof err);
	if (!f->store)
		fail_msg("store_open: %s", err);
	assert_int_equal(metrics_init(f->cfg), 0);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	atomic_init(&f->listening, false);
	f->writer = writer_new(&f->loop, f->store, f->cfg, NULL, &f->listening, s_on_done, f);
	assert_non_null(f->writer);
	*state = f;
	return 0;
}

static int s_teardown(void **state)
{
	fixture_t *f = *state;
	writer_stop(&f->writer);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	store_destroy(&f->store);
	config_destroy(&f->cfg);
	metrics_release();
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Submits the request text as the server's general path does (a decoded request). */
static void s_submit(fixture_t *f, const char *text)
{
	size_t len = strlen(text);
	writer_job_t *job = malloc(sizeof *job + len);
	assert_non_null(job);
	*job = (writer_job_t){ .raw = (char *)(job + 1), .raw_len = len,
			       .received_ms = clock_now_ms(), .started_ns = clock_mono_ns(),
			       .caller = op_anonymous, .op = ops_event() };
	memcpy(job->raw, text, len);
	job->request = json_loads(text, 0, NULL);
	assert_non_null(job->request);
	f->expected++;
	writer_submit(f->writer, job);
}

static void s_has(const char *text, const char *line)
{
	char needle[256];
	snprintf(needle, sizeof needle, "\n%s\n", line);
	if (!strstr(text, needle))
		fail_msg("missing line: %s\nin:\n%s", line, text);
}

static void test_event_outcomes_and_commits(void **state)
{
	fixture_t *f = *state;
	static const char opening[] =
		"{\"op\":\"event\",\"provider\":\"p\",\"event_id\":\"e1\",\"ref\":\"R1\","
		"\"stage\":\"detected\",\"category\":3,\"title\":\"t\"}";
	s_submit(f, opening);
	s_submit(f, "{\"op\":\"event\",\"provider\":\"p\",\"event_id\":\"e2\",\"ref\":\"R1\","
		    "\"stage\":\"notified\"}");
	s_submit(f, opening); /* a retry: a duplicate */
	s_submit(f, "{\"op\":\"event\",\"provider\":\"p\",\"event_id\":\"e3\",\"ref\":\"R2\","
		    "\"stage\":\"detected\"}"); /* opens without category: refused */
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f->done, 4);
	metrics_gauges_t none = { .store_read = false };
	size_t len;
	char *text = metrics_render(&none, &len);
	assert_non_null(text);
	s_has(text, "incidentd_events_total{result=\"accepted\"} 2");
	s_has(text, "incidentd_events_total{result=\"duplicate\"} 1");
	s_has(text, "incidentd_events_total{result=\"refused\"} 1");
	s_has(text, "incidentd_batch_events_sum 4");
	const char *count = strstr(text, "\nincidentd_commit_duration_seconds_count ");
	assert_non_null(count);
	long commits = strtol(count + strlen("\nincidentd_commit_duration_seconds_count "), NULL, 10);
	assert_true(commits >= 1 && commits <= 4);
	free(text);
}

/* ---- cluster mode: the writer applies the log's entries ---- */

static void s_no_append(writer_job_t *job, void *arg)
{
	(void)job;
	(void)arg;
	fail_msg("nothing is submitted in this test");
}

static uint64_t s_applied;

static void s_on_applied(uint64_t seq, void *arg)
{
	(void)arg;
	if (seq < s_applied)
		fail_msg("applied went back from %llu to %llu", (unsigned long long)s_applied,
			 (unsigned long long)seq);
	s_applied = seq;
}

/* The jobs of entry seq of the log: n events of another node, each opening an incident. */
static writer_job_t *s_entry_jobs(fixture_t *f, uint64_t seq, int n)
{
	writer_job_t *jobs = NULL, **tail = &jobs;
	for (int i = 0; i < n; i++) {
		char text[160];
		int len = snprintf(text, sizeof text, "{\"op\":\"event\",\"provider\":\"p\","
				   "\"event_id\":\"e%llu-%d\",\"ref\":\"R%llu-%d\",\"stage\":"
				   "\"detected\",\"category\":3,\"title\":\"t\"}",
				   (unsigned long long)seq, i, (unsigned long long)seq, i);
		writer_job_t *job = malloc(sizeof *job + (size_t)len);
		assert_non_null(job);
		*job = (writer_job_t){ .raw = (char *)(job + 1), .raw_len = (size_t)len,
				       .received_ms = 1700000000000, .caller = op_anonymous,
				       .op = ops_event(), .remote = true, .stream_seq = seq,
				       .entry_part = (uint32_t)i, .entry_end = i == n - 1 };
		memcpy(job->raw, text, (size_t)len);
		job->request = json_loadb(text, (size_t)len, 0, NULL);
		assert_non_null(job->request);
		*tail = job;
		tail = &job->next;
	}
	f->expected += (size_t)n;
	return jobs;
}

static size_t s_count(store_t *store, store_db_t db)
{
	store_txn_t txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	assert_int_equal(store_txn_begin(store, false, &txn), 0);
	assert_int_equal(store_cursor_open(&txn, db, &cur), 0);
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		n++;
	mdb_cursor_close(cur);
	store_txn_abort(&txn);
	return n;
}

/*
 * Entries of 250 requests queue up behind a commit held back (this thread holds LMDB's write
 * lock), more than one commit takes (WRITER_BATCH_MAX): the writer cuts its batches between
 * entries, never inside one (a commit records the entry's sequence as applied: the rest of a
 * cut entry would be skipped as applied already). An entry delivered again applies nothing.
 */
static void test_cluster_entries_apply_whole_and_once(void **state)
{
	fixture_t *f = *state;
	enum { ENTRIES = 20, PER_ENTRY = 250 };
	s_applied = 0;
	writer_set_log(f->writer, &(writer_log_t){ s_no_append, s_on_applied, NULL });
	store_txn_t held;
	assert_int_equal(store_txn_begin(f->store, true, &held), 0);
	for (uint64_t seq = 1; seq <= ENTRIES; seq++)
		writer_apply(f->writer, s_entry_jobs(f, seq, PER_ENTRY));
	assert_true(ENTRIES * PER_ENTRY > WRITER_BATCH_MAX);
	store_txn_abort(&held);
	writer_apply(f->writer, s_entry_jobs(f, 7, PER_ENTRY)); /* delivered again */
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f->done, (ENTRIES + 1) * PER_ENTRY);
	assert_int_equal(s_count(f->store, STORE_INCIDENTS), ENTRIES * PER_ENTRY);
	assert_int_equal(s_applied, ENTRIES);
	store_txn_t txn;
	uint64_t applied = 0;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	assert_int_equal(store_meta_get_u64(&txn, "cluster_applied", &applied), 0);
	store_txn_abort(&txn);
	assert_int_equal(applied, ENTRIES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_outcomes_and_commits, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_cluster_entries_apply_whole_and_once, s_setup,
						s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
