/*
 * Tests of daemon/store/outbox.c and of the schema 2 migration in daemon/store/store.c: the
 * outbox and its due-time index in a real LMDB store (a fresh temporary directory per test),
 * and a real version-1 store written with raw LMDB calls, as incidentd 1 left it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/core/config.h"
#include "daemon/store/outbox.h"
#include "daemon/store/schema.h"
#include "daemon/store/store.h"
#include "proto/topic.h"
#include "tests/unit/unit_tmpdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- fixture: a temporary directory, a store in it, a config built by hand ---- */

static char *s_default_topics[] = { "breach.", NULL };

typedef struct {
	char dir[64];
	store_t *store;
	config_t cfg;
	config_hook_t hooks[3];
} fixture_t;

static int s_setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	assert_non_null(f);
	strcpy(f->dir, "/tmp/incidentd-outbox-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	const char *names[3] = { "first", "second", "third" };
	for (size_t i = 0; i < 3; i++) {
		f->hooks[i].name = (char *)names[i];
		f->hooks[i].topics = s_default_topics;
		f->hooks[i].n_topics = 1;
	}
	f->cfg.hooks = f->hooks;
	f->cfg.n_hooks = 1;
	*state = f;
	return 0;
}

/* Opens the store of the fixture's directory (a test may first write a raw one there). */
static void s_open(fixture_t *f, size_t map_size)
{
	char err[256];
	store_schema_t schema = schema_for(&f->cfg);
	f->store = store_open(f->dir, map_size, &schema, err, sizeof err);
	if (!f->store)
		fail_msg("store_open: %s", err);
}

static int s_teardown(void **state)
{
	fixture_t *f = *state;
	store_destroy(&f->store);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Queues msg (JSON text) on topic at now_ms in one committed transaction; returns *queued. */
static int s_enqueue_at(fixture_t *f, const char *topic, const char *msg, int64_t now_ms)
{
	json_t *value = json_loads(msg, JSON_DECODE_ANY, NULL);
	assert_non_null(value);
	store_txn_t txn;
	int queued = -1;
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	assert_int_equal(outbox_enqueue(&txn, &f->cfg, topic, value, now_ms, NULL, &queued), 0);
	assert_int_equal(store_txn_commit(&txn), 0);
	json_decref(value);
	return queued;
}

static size_t s_count(fixture_t *f, store_db_t db)
{
	store_txn_t txn;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	size_t n = store_count(&txn, db);
	store_txn_abort(&txn);
	return n;
}

/* The outbox value of hook name and delivery id (a new reference), or NULL. */
static json_t *s_value(fixture_t *f, const char *name, uint64_t id)
{
	unsigned char key[64];
	size_t len = strlen(name) + 1;
	memcpy(key, name, len);
	store_u64_encode(id, key + len);
	store_txn_t txn;
	json_t *value = NULL;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	int rc = store_get_json(&txn, STORE_OUTBOX, key, len + 8, &value);
	store_txn_abort(&txn);
	assert_true(rc == 0 || rc == MDB_NOTFOUND);
	return value;
}

static uint64_t s_meta(fixture_t *f, const char *name)
{
	store_txn_t txn;
	uint64_t v = 0;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	assert_int_equal(store_meta_get_u64(&txn, name, &v), 0);
	store_txn_abort(&txn);
	return v;
}

/* outbox_take of up to max deliveries of hook at now_ms in a read transaction; the count. */
static size_t s_take(fixture_t *f, const char *hook, int64_t now_ms, outbox_entry_t *entries,
		     size_t max, int64_t *next_due)
{
	store_txn_t txn;
	size_t n = 99;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	assert_int_equal(outbox_take(&txn, hook, now_ms, entries, max, &n, next_due), 0);
	store_txn_abort(&txn);
	assert_true(n <= max);
	return n;
}

/* The delivery of hook due first, when it is due at now_ms. */
static bool s_next(fixture_t *f, const char *hook, int64_t now_ms, outbox_entry_t *entry,
		   int64_t *next_due)
{
	return s_take(f, hook, now_ms, entry, 1, next_due) == 1;
}

/* outbox_remove or outbox_retry of entry in one committed write transaction. */
static void s_remove(fixture_t *f, const char *hook, const outbox_entry_t *entry)
{
	store_txn_t txn;
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	assert_int_equal(outbox_remove(&txn, hook, entry), 0);
	assert_int_equal(store_txn_commit(&txn), 0);
}

static void s_retry(fixture_t *f, const char *hook, const outbox_entry_t *entry, int attempts,
		    int64_t due)
{
	store_txn_t txn;
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	assert_int_equal(outbox_retry(&txn, hook, entry, attempts, due), 0);
	assert_int_equal(store_txn_commit(&txn), 0);
}

/* ---- tests ---- */

static void test_hook_matches_prefixes(void **state)
{
	(void)state;
	config_hook_t def = { .name = "def", .topics = s_default_topics, .n_topics = 1 };
	assert_true(outbox_hook_matches(&def, "breach.ack"));
	assert_true(outbox_hook_matches(&def, "breach."));
	assert_false(outbox_hook_matches(&def, "breach"));
	assert_false(outbox_hook_matches(&def, "incident.opened"));
	assert_false(outbox_hook_matches(&def, "xbreach.ack"));
	assert_false(outbox_hook_matches(&def, ""));
	config_hook_t none = { .name = "none" };
	assert_true(outbox_hook_matches(&none, "breach.ack"));
	assert_false(outbox_hook_matches(&none, "hook.gave_up"));

	char *topics[] = { "incident.", "breach.resolve", NULL };
	config_hook_t two = { .name = "two", .topics = topics, .n_topics = 2 };
	assert_true(outbox_hook_matches(&two, "incident.opened"));
	assert_true(outbox_hook_matches(&two, "breach.resolve"));
	assert_true(outbox_hook_matches(&two, "breach.resolve_p1"));
	assert_false(outbox_hook_matches(&two, "breach.ack"));
	assert_false(outbox_hook_matches(&two, "problem.linked"));
}

/* The stored entry has exactly the documented fields and values. */
static void s_check_entry(fixture_t *f, const char *hook, uint64_t id, const char *topic,
			  const char *body, int64_t at)
{
	json_t *e = s_value(f, hook, id);
	assert_non_null(e);
	assert_int_equal(json_object_size(e), 7);
	assert_int_equal(json_integer_value(json_object_get(e, "delivery")), id);
	assert_string_equal(json_string_value(json_object_get(e, "hook")), hook);
	assert_string_equal(json_string_value(json_object_get(e, "topic")), topic);
	assert_string_equal(json_string_value(json_object_get(e, "body")), body);
	assert_int_equal(json_integer_value(json_object_get(e, "attempts")), 0);
	assert_int_equal(json_integer_value(json_object_get(e, "next_attempt")), at);
	assert_int_equal(json_integer_value(json_object_get(e, "created")), at);
	json_decref(e);
}

static void test_enqueue_one_entry_per_matching_hook(void **state)
{
	fixture_t *f = *state;
	s_open(f, 1 << 20);
	char *incident_topics[] = { "incident.", "breach.resolve", NULL };
	char *problem_topics[] = { "problem.", NULL };
	f->hooks[1].topics = incident_topics;
	f->hooks[1].n_topics = 2;
	f->hooks[2].topics = problem_topics;
	f->hooks[2].n_topics = 1;
	f->cfg.n_hooks = 3;
	const char *body = "{\"seq\":1,\"rule\":\"resolve\",\"note\":\"caf\xc3\xa9 \\\"q\\\"\"}";
	int64_t at = s_now_ms();

	assert_int_equal(s_enqueue_at(f, "breach.resolve", body, at), 2);
	assert_int_equal(s_count(f, STORE_OUTBOX), 2);
	assert_int_equal(s_count(f, STORE_OUTBOX_DUE), 2);
	s_check_entry(f, "first", 1, "breach.resolve", body, at);
	s_check_entry(f, "second", 2, "breach.resolve", body, at);
	assert_int_equal(s_meta(f, "last_delivery"), 2);

	assert_int_equal(s_enqueue_at(f, "breach.ack", "{\"seq\":2}", at), 1);
	assert_int_equal(s_enqueue_at(f, "incident.opened", "{\"seq\":3}", at), 1);
	assert_int_equal(s_enqueue_at(f, "problem.linked", "{\"seq\":4}", at), 1);
	assert_int_equal(s_enqueue_at(f, "other.topic", "{\"seq\":5}", at), 0);
	assert_int_equal(s_count(f, STORE_OUTBOX), 5);
	assert_int_equal(s_count(f, STORE_OUTBOX_DUE), 5);
	assert_int_equal(s_meta(f, "last_delivery"), 5);
	s_check_entry(f, "first", 3, "breach.ack", "{\"seq\":2}", at);
	s_check_entry(f, "second", 4, "incident.opened", "{\"seq\":3}", at);
	s_check_entry(f, "third", 5, "problem.linked", "{\"seq\":4}", at);

	/* An aborted transaction queues nothing and uses no id. */
	store_txn_t txn;
	int queued = 0;
	json_t *msg = json_pack("{s:i}", "seq", 6);
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	assert_int_equal(outbox_enqueue(&txn, &f->cfg, "breach.x", msg, at, NULL, &queued), 0);
	assert_int_equal(queued, 1);
	store_txn_abort(&txn);
	json_decref(msg);
	assert_int_equal(s_count(f, STORE_OUTBOX), 5);
	assert_int_equal(s_meta(f, "last_delivery"), 5);
}

/*
 * A full map comes back as MDB_MAP_FULL, negative and unchanged, with nothing counted as
 * queued: the caller aborts the batch and grows the map (once it came back positive and was
 * counted as queued alerts).
 */
static void test_enqueue_map_full_is_an_error(void **state)
{
	fixture_t *f = *state;
	s_open(f, 1 << 20);
	size_t len = 100000;
	char *text = malloc(len + 1);
	assert_non_null(text);
	memset(text, 'x', len);
	text[len] = '\0';
	json_t *msg = json_pack("{s:i, s:s}", "seq", 1, "pad", text);
	free(text);
	store_txn_t txn;
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	int rc = 0, queued = 0, total = 0;
	for (int i = 0; i < 100 && rc == 0; i++) {
		rc = outbox_enqueue(&txn, &f->cfg, "breach.big", msg, s_now_ms(), NULL, &queued);
		total += queued;
	}
	store_txn_abort(&txn);
	json_decref(msg);
	assert_int_equal(rc, MDB_MAP_FULL);
	assert_true(rc < 0);
	assert_int_equal(queued, 0);
	assert_true(total > 0 && total < 100);
}

/*
 * A hook's own give-up is not queued for it (it could never be delivered); others get it. The
 * give-up of a give-up is queued for no hook.
 */
static void test_gave_up_not_queued_for_its_own_hook(void **state)
{
	fixture_t *f = *state;
	s_open(f, 1 << 20);
	char *hook_topics[] = { "hook.", NULL };
	for (int i = 0; i < 2; i++) {
		f->hooks[i].topics = hook_topics;
		f->hooks[i].n_topics = 1;
	}
	f->cfg.n_hooks = 2;
	const char *gave_up = "{\"seq\":9,\"delivery\":4,\"hook\":\"first\",\"topic\":\"breach.x\","
			      "\"attempts\":3,\"reason\":\"HTTP 500\"}";
	assert_int_equal(s_enqueue_at(f, TOPIC_HOOK_GAVE_UP, gave_up, s_now_ms()), 1);
	outbox_entry_t entry = { 0 };
	int64_t next_due;
	assert_false(s_next(f, "first", s_now_ms(), &entry, &next_due));
	assert_int_equal(next_due, INT64_MAX);
	assert_true(s_next(f, "second", s_now_ms(), &entry, &next_due));
	assert_string_equal(entry.topic, TOPIC_HOOK_GAVE_UP);
	assert_string_equal(entry.body, gave_up);
	outbox_entry_release(&entry);
	/* Another hook.* message about the hook is for it as for anyone. */
	assert_int_equal(s_enqueue_at(f, "hook.other", gave_up, s_now_ms()), 2);
	/* The give-up of a give-up goes to no hook: two failing hooks would trade them for ever. */
	const char *twice = "{\"seq\":10,\"delivery\":5,\"hook\":\"second\",\"topic\":"
			    "\"hook.gave_up\",\"attempts\":3,\"reason\":\"HTTP 500\"}";
	assert_int_equal(s_enqueue_at(f, TOPIC_HOOK_GAVE_UP, twice, s_now_ms()), 0);
}

/*
 * Deliveries are taken in due order, ties to the lowest id, only those due; a retry moves one
 * back in the line with its attempts counted; a removed one is gone from both databases.
 */
static void test_next_in_due_order(void **state)
{
	fixture_t *f = *state;
	s_open(f, 1 << 20);
	f->cfg.n_hooks = 2;
	int64_t t0 = s_now_ms();
	for (int i = 0; i < 3; i++)
		assert_int_equal(s_enqueue_at(f, "breach.a", "{\"seq\":1}", t0), 2);
	outbox_entry_t e = { 0 };
	int64_t next_due;
	assert_false(s_next(f, "first", t0 - 1, &e, &next_due));
	assert_int_equal(next_due, t0);

	assert_true(s_next(f, "first", t0, &e, &next_due));
	assert_int_equal(e.delivery, 1);
	assert_int_equal(e.due, t0);
	assert_int_equal(e.attempts, 0);
	assert_int_equal(e.created, t0);
	assert_false(e.corrupt);
	assert_string_equal(e.topic, "breach.a");
	assert_string_equal(e.body, "{\"seq\":1}");
	assert_int_equal(e.body_len, 9);
	s_retry(f, "first", &e, 1, t0 + 10000);
	outbox_entry_release(&e);
	json_t *v = s_value(f, "first", 1);
	assert_int_equal(json_integer_value(json_object_get(v, "attempts")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "next_attempt")), t0 + 10000);
	json_decref(v);

	/* Several at once: those due, in order, and when the next one not taken is due. */
	outbox_entry_t batch[4] = { { 0 } };
	assert_int_equal(s_take(f, "first", t0 + 1, batch, 4, &next_due), 2);
	assert_int_equal(next_due, t0 + 10000);
	assert_int_equal(batch[0].delivery, 3);
	assert_int_equal(batch[1].delivery, 5);
	assert_int_equal(s_take(f, "first", t0 + 1, batch + 2, 1, &next_due), 1);
	assert_int_equal(next_due, t0);
	assert_int_equal(batch[2].delivery, 3);
	outbox_entry_release(&batch[2]);
	for (int i = 0; i < 2; i++) {
		s_remove(f, "first", &batch[i]);
		outbox_entry_release(&batch[i]);
	}
	assert_false(s_next(f, "first", t0 + 9999, &e, &next_due));
	assert_int_equal(next_due, t0 + 10000);
	assert_true(s_next(f, "first", t0 + 10000, &e, &next_due));
	assert_int_equal(e.delivery, 1);
	assert_int_equal(e.attempts, 1);
	assert_int_equal(e.created, t0);
	outbox_entry_release(&e);
	/* The other hook's line is its own. */
	assert_true(s_next(f, "second", t0, &e, &next_due));
	assert_int_equal(e.delivery, 2);
	outbox_entry_release(&e);
	assert_int_equal(s_count(f, STORE_OUTBOX), 4);
	assert_int_equal(s_count(f, STORE_OUTBOX_DUE), 4);
	/* Removing what is gone says so. */
	outbox_entry_t gone = { .delivery = 3, .due = t0 };
	store_txn_t txn;
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	assert_int_equal(outbox_remove(&txn, "first", &gone), MDB_NOTFOUND);
	store_txn_abort(&txn);
}

/* ---- a version-1 store, written with raw LMDB calls as incidentd 1 left it ---- */

static const char *const s_v1_dbs[] = {
	"meta", "log", "incidents", "refs", "dedup", "open", "resolved", "closed", "opened",
	"breaches", "breach_keys", "deadlines", "outbox", "problems",
};

static void s_raw_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_len,
		      const void *val, size_t val_len)
{
	MDB_val k = { key_len, (void *)key }, v = { val_len, (void *)val };
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

/* One v1 outbox record: key "hook NUL id", value as incidentd 1 wrote it. */
static void s_raw_outbox(MDB_txn *txn, MDB_dbi dbi, const char *hook, uint64_t id,
			 int attempts, int64_t next_attempt, int64_t created)
{
	unsigned char key[64];
	size_t len = strlen(hook) + 1;
	memcpy(key, hook, len);
	store_u64_encode(id, key + len);
	char value[512];
	int n = snprintf(value, sizeof value,
			 "{\"delivery\":%llu,\"hook\":\"%s\",\"topic\":\"breach.x\",\"body\":"
			 "\"{\\\"seq\\\":%llu}\",\"attempts\":%d,\"next_attempt\":%lld,"
			 "\"created\":%lld}",
			 (unsigned long long)id, hook, (unsigned long long)id, attempts,
			 (long long)next_attempt, (long long)created);
	s_raw_put(txn, dbi, key, len + 8, value, (size_t)n);
}

/* Writes a version-1 store into f->dir holding the given outbox; returns nothing. */
static void s_write_v1_store(fixture_t *f, int64_t t0, uint64_t schema)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi[14];
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 14), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 1 << 20), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	for (int i = 0; i < 14; i++)
		assert_int_equal(mdb_dbi_open(txn, s_v1_dbs[i], MDB_CREATE, &dbi[i]), 0);
	unsigned char u64[8];
	store_u64_encode(schema, u64);
	s_raw_put(txn, dbi[0], "schema", 6, u64, 8);
	store_u64_encode(5, u64);
	s_raw_put(txn, dbi[0], "last_delivery", 13, u64, 8);
	/* first: one retried and due in an hour, two due (the later-queued one due first). */
	s_raw_outbox(txn, dbi[12], "first", 1, 3, t0 + 3600000, t0 - 60000);
	s_raw_outbox(txn, dbi[12], "first", 2, 1, t0 - 500, t0 - 30000);
	s_raw_outbox(txn, dbi[12], "first", 3, 0, t0 - 1000, t0 - 1000);
	s_raw_outbox(txn, dbi[12], "second", 4, 0, t0 - 1000, t0 - 1000);
	/* An unreadable value: indexed as due at once, so that it is dropped, not forgotten. */
	unsigned char key[16] = "first";
	store_u64_encode(5, key + 6);
	s_raw_put(txn, dbi[12], key, 14, "not json", 8);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/*
 * A store written by schema 1 opens: the due-time index is built from its outbox at start-up,
 * the version becomes the current one, and its deliveries come out in due order with their
 * attempts.
 */
static void test_migrates_a_version_1_store(void **state)
{
	fixture_t *f = *state;
	int64_t t0 = s_now_ms();
	s_write_v1_store(f, t0, 1);
	s_open(f, 1 << 20);
	assert_int_equal(s_meta(f, "schema"), SCHEMA_VERSION);
	assert_int_equal(s_count(f, STORE_OUTBOX), 5);
	assert_int_equal(s_count(f, STORE_OUTBOX_DUE), 5);

	outbox_entry_t e = { 0 };
	int64_t next_due;
	assert_true(s_next(f, "first", t0, &e, &next_due));
	assert_true(e.corrupt);
	assert_int_equal(e.delivery, 5);
	s_remove(f, "first", &e);
	outbox_entry_release(&e);
	uint64_t order[] = { 3, 2 };
	int attempts[] = { 0, 1 };
	for (int i = 0; i < 2; i++) {
		assert_true(s_next(f, "first", t0, &e, &next_due));
		assert_false(e.corrupt);
		assert_int_equal(e.delivery, order[i]);
		assert_int_equal(e.attempts, attempts[i]);
		assert_string_equal(e.topic, "breach.x");
		s_remove(f, "first", &e);
		outbox_entry_release(&e);
	}
	assert_false(s_next(f, "first", t0, &e, &next_due));
	assert_int_equal(next_due, t0 + 3600000);
	assert_true(s_next(f, "second", t0, &e, &next_due));
	assert_int_equal(e.delivery, 4);
	outbox_entry_release(&e);

	/* Opened again, it is version 2 already: nothing is indexed twice. */
	store_destroy(&f->store);
	s_open(f, 1 << 20);
	assert_int_equal(s_meta(f, "schema"), SCHEMA_VERSION);
	assert_int_equal(s_count(f, STORE_OUTBOX_DUE), 2);
	/* The delivery counter goes on from where version 1 left it. */
	assert_int_equal(s_enqueue_at(f, "breach.y", "{\"seq\":6}", t0), 1);
	assert_int_equal(s_meta(f, "last_delivery"), 6);
}

/* A store of a newer schema is refused with a reason, and left as it was. */
static void test_refuses_a_newer_store(void **state)
{
	fixture_t *f = *state;
	s_write_v1_store(f, s_now_ms(), SCHEMA_VERSION + 1);
	char err[256];
	f->store = store_open(f->dir, 1 << 20, &schema_current, err, sizeof err);
	assert_null(f->store);
	char want[128];
	snprintf(want, sizeof want, "data has schema version %d; this incidentd reads %d",
		 SCHEMA_VERSION + 1, SCHEMA_VERSION);
	assert_string_equal(err, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_matches_prefixes),
		cmocka_unit_test_setup_teardown(test_enqueue_one_entry_per_matching_hook, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_enqueue_map_full_is_an_error, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_gave_up_not_queued_for_its_own_hook, s_setup,
						s_teardown),
		cmocka_unit_test_setup_teardown(test_next_in_due_order, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_migrates_a_version_1_store, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_a_newer_store, s_setup, s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
