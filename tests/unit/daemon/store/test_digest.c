/*
 * Tests of the state digest of daemon/store/store.c (cluster mode): on real LMDB stores in
 * fresh temporary directories, two stores that hold the same records have the same digest
 * whatever the order and grouping of the writes that made them; a change shows, and undoing
 * it restores the digest; the digest computed by walking a store that never had one equals
 * the one kept up to date write by write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store/schema.h"
#include "daemon/store/store.h"
#include "tests/unit/unit_tmpdir.h"

typedef struct {
	char dir[3][64];
	store_t *store[3];
} fixture_t;

static int s_setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	assert_non_null(f);
	for (int i = 0; i < 3; i++) {
		strcpy(f->dir[i], "/tmp/incidentd-digest-XXXXXX");
		assert_non_null(mkdtemp(f->dir[i]));
		char err[256];
		f->store[i] = store_open(f->dir[i], 1 << 20, &schema_current, err, sizeof err);
		if (!f->store[i])
			fail_msg("store_open: %s", err);
	}
	*state = f;
	return 0;
}

static int s_teardown(void **state)
{
	fixture_t *f = *state;
	for (int i = 0; i < 3; i++) {
		store_destroy(&f->store[i]);
		unit_rm_rf(f->dir[i]);
	}
	free(f);
	return 0;
}

/* Puts key = value (or deletes key, value NULL) in db, in a transaction of its own. */
static void s_write(store_t *store, store_db_t db, const char *key, const char *value)
{
	store_txn_t txn;
	assert_int_equal(store_txn_begin(store, true, &txn), 0);
	if (value)
		assert_int_equal(store_put(&txn, db, key, strlen(key), value, strlen(value)), 0);
	else
		assert_int_equal(store_del(&txn, db, key, strlen(key)), 0);
	assert_int_equal(store_txn_commit(&txn), 0);
}

static void s_digest(store_t *store, char out[65])
{
	store_txn_t txn;
	assert_int_equal(store_txn_begin(store, false, &txn), 0);
	assert_int_equal(store_digest_hex(&txn, out), 0);
	store_txn_abort(&txn);
}

static void test_same_records_same_digest(void **state)
{
	fixture_t *f = *state;
	store_t *a = f->store[0], *b = f->store[1];
	char da[65], db[65];
	assert_int_equal(store_digest_enable(a), 0);
	assert_int_equal(store_digest_enable(b), 0);
	s_digest(a, da);
	s_digest(b, db);
	assert_int_equal(strlen(da), 64);
	assert_string_equal(da, db);
	/* a: both records in one transaction; b: the other order, one an overwrite, apart. */
	store_txn_t txn;
	assert_int_equal(store_txn_begin(a, true, &txn), 0);
	assert_int_equal(store_put(&txn, STORE_INCIDENTS, "k1", 2, "v1", 2), 0);
	assert_int_equal(store_put(&txn, STORE_REFS, "k2", 2, "v2", 2), 0);
	assert_int_equal(store_txn_commit(&txn), 0);
	s_write(b, STORE_REFS, "k2", "v2");
	s_write(b, STORE_INCIDENTS, "k1", "v0");
	s_digest(b, db);
	assert_string_not_equal(da, db);
	s_write(b, STORE_INCIDENTS, "k1", "v1");
	s_digest(a, da);
	s_digest(b, db);
	assert_string_equal(da, db);
	/* The same key and value in another database is another record. */
	s_write(b, STORE_INCIDENTS, "k2", "v2");
	s_write(b, STORE_REFS, "k2", NULL);
	s_digest(b, db);
	assert_string_not_equal(da, db);
	s_write(b, STORE_INCIDENTS, "k2", NULL);
	s_write(b, STORE_REFS, "k2", "v2");
	s_digest(b, db);
	assert_string_equal(da, db);
	/* A delete shows; putting the record back restores the digest. */
	char before[65];
	memcpy(before, da, sizeof before);
	s_write(a, STORE_INCIDENTS, "k1", NULL);
	s_digest(a, da);
	assert_string_not_equal(da, before);
	s_write(a, STORE_INCIDENTS, "k1", "v1");
	s_digest(a, da);
	assert_string_equal(da, before);
}

/* A store written without a digest gets, when it is turned on, the digest kept write by write. */
static void test_walk_equals_kept(void **state)
{
	fixture_t *f = *state;
	store_t *kept = f->store[0], *walked = f->store[2];
	char dk[65], dw[65];
	assert_int_equal(store_digest_enable(kept), 0);
	for (int i = 0; i < 200; i++) {
		char key[16], value[32];
		snprintf(key, sizeof key, "k%03d", i);
		snprintf(value, sizeof value, "value %d", i * 7);
		s_write(kept, (store_db_t)(1 + i % (STORE_N_DBS - 1)), key, value);
		s_write(walked, (store_db_t)(1 + i % (STORE_N_DBS - 1)), key, value);
	}
	s_digest(walked, dw);
	assert_string_equal(dw, ""); /* none yet */
	assert_int_equal(store_digest_enable(walked), 0);
	s_digest(kept, dk);
	s_digest(walked, dw);
	assert_string_equal(dk, dw);
	/* Kept up to date from then on, like the other. */
	s_write(kept, STORE_PROBLEMS, "p1", "x");
	s_write(walked, STORE_PROBLEMS, "p1", "x");
	s_digest(kept, dk);
	s_digest(walked, dw);
	assert_string_equal(dk, dw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_records_same_digest, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_walk_equals_kept, s_setup, s_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
