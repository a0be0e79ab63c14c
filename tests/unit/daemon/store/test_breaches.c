/*
 * Tests of daemon/store/breaches.c's walk of the pending deadlines, in a real LMDB store (a
 * fresh temporary directory per test) written with the key layout breaches.h documents:
 * soonest first, without the deadlines of rules no longer configured nor those already
 * breached, and stopping when the visitor says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/core/config.h"
#include "daemon/store/breaches.h"
#include "daemon/store/schema.h"
#include "daemon/store/store.h"
#include "tests/unit/unit_tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char dir[64];
	store_t *store;
	config_t *cfg;
} fixture_t;

static int s_setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	assert_non_null(f);
	strcpy(f->dir, "/tmp/incidentd-breaches-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char err[256];
	f->store = store_open(f->dir, 1 << 20, &schema_current, err, sizeof err);
	if (!f->store)
		fail_msg("store_open: %s", err);
	f->cfg = config_default();
	assert_non_null(f->cfg);
	assert_true(f->cfg->n_rules >= 2);
	*state = f;
	return 0;
}

static int s_teardown(void **state)
{
	fixture_t *f = *state;
	store_destroy(&f->store);
	config_destroy(&f->cfg);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Stores the pending deadline (due, incident, rule) as the deadlines database keeps it. */
static void s_put_deadline(store_txn_t *txn, int64_t due, uint64_t incident, const char *rule)
{
	unsigned char key[16 + CONFIG_NAME_MAX];
	size_t len = strlen(rule);
	store_i64_encode(due, key);
	store_u64_encode(incident, key + 8);
	memcpy(key + 16, rule, len);
	assert_int_equal(store_put(txn, STORE_DEADLINES, key, 16 + len, "", 0), 0);
}

/* Records that incident has breach id of rule, as breach_keys keeps it. */
static void s_put_breach_key(store_txn_t *txn, uint64_t incident, const char *rule, uint64_t id)
{
	unsigned char key[8 + CONFIG_NAME_MAX], value[8];
	size_t len = strlen(rule);
	store_u64_encode(incident, key);
	memcpy(key + 8, rule, len);
	store_u64_encode(id, value);
	assert_int_equal(store_put(txn, STORE_BREACH_KEYS, key, 8 + len, value, 8), 0);
}

/* What a walk saw: up to 8 deadlines, and after how many to stop (with which return). */
typedef struct {
	deadline_t seen[8];
	size_t n;
	size_t stop_after;
	int stop_with;
} visits_t;

static int s_visit(const deadline_t *d, void *arg)
{
	visits_t *v = arg;
	assert_true(v->n < 8);
	v->seen[v->n++] = *d;
	return v->n == v->stop_after ? v->stop_with : 0;
}

/*
 * Deadlines of rules 0 and 1 at due times 300, 100 and 150 (the last one breached already),
 * and one of a rule the configuration no longer has.
 */
static void s_fill(fixture_t *f)
{
	store_txn_t txn;
	const char *r0 = f->cfg->rules[0].name, *r1 = f->cfg->rules[1].name;
	assert_int_equal(store_txn_begin(f->store, true, &txn), 0);
	s_put_deadline(&txn, 300, 1, r0);
	s_put_deadline(&txn, 100, 2, r1);
	s_put_deadline(&txn, 200, 3, "rule_no_longer_configured");
	s_put_deadline(&txn, 150, 4, r0);
	s_put_breach_key(&txn, 4, r0, 1);
	/* A breach of another rule of incident 1 does not hide its rule 0 deadline. */
	s_put_breach_key(&txn, 1, r1, 2);
	assert_int_equal(store_txn_commit(&txn), 0);
}

static void test_walk_soonest_first(void **state)
{
	fixture_t *f = *state;
	s_fill(f);
	store_txn_t txn;
	visits_t v = { .stop_after = 0 };
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	assert_int_equal(breaches_walk_deadlines(&txn, f->cfg, s_visit, &v), 0);
	store_txn_abort(&txn);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.seen[0].due, 100);
	assert_int_equal(v.seen[0].incident, 2);
	assert_int_equal(v.seen[0].rule, 1);
	assert_int_equal(v.seen[1].due, 300);
	assert_int_equal(v.seen[1].incident, 1);
	assert_int_equal(v.seen[1].rule, 0);
}

static void test_walk_stops_when_told(void **state)
{
	fixture_t *f = *state;
	s_fill(f);
	store_txn_t txn;
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	visits_t v = { .stop_after = 1, .stop_with = 1 };
	assert_int_equal(breaches_walk_deadlines(&txn, f->cfg, s_visit, &v), 1);
	assert_int_equal(v.n, 1);
	visits_t e = { .stop_after = 1, .stop_with = -12 };
	assert_int_equal(breaches_walk_deadlines(&txn, f->cfg, s_visit, &e), -12);
	assert_int_equal(e.n, 1);
	store_txn_abort(&txn);
}

static void test_walk_empty(void **state)
{
	fixture_t *f = *state;
	store_txn_t txn;
	visits_t v = { .stop_after = 0 };
	assert_int_equal(store_txn_begin(f->store, false, &txn), 0);
	assert_int_equal(breaches_walk_deadlines(&txn, f->cfg, s_visit, &v), 0);
	store_txn_abort(&txn);
	assert_int_equal(v.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_soonest_first, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_walk_stops_when_told, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_walk_empty, s_setup, s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
