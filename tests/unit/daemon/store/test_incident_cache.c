/*
 * incident_cache: lookups, dirty marks in order, the second-chance trim, clear, and the
 * bound on puts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/store/incident_cache.h"

static incident_t *s_incident(uint64_t id)
{
	wire_event_t ev = { .provider = "p", .ref = "r", .event_id = "e", .stage = "detected",
			    .category = 3, .title = "t" };
	incident_t *inc = incident_new(id, &ev);
	assert_non_null(inc);
	return inc;
}

static void test_put_get_and_dirty_order(void **state)
{
	(void)state;
	incident_cache_t *c = incident_cache_new(100, 10);
	for (uint64_t id = 1; id <= 50; id++)
		assert_int_equal(incident_cache_put(c, s_incident(id)), 0);
	assert_int_equal(incident_cache_size(c), 50);
	for (uint64_t id = 1; id <= 50; id++)
		assert_int_equal(incident_cache_get(c, id)->id, id);
	assert_null(incident_cache_get(c, 51));

	incident_cache_mark_dirty(c, 7);
	incident_cache_mark_dirty(c, 3);
	incident_cache_mark_dirty(c, 7); /* once only */
	incident_cache_mark_dirty(c, 99); /* not cached: ignored */
	size_t n;
	incident_t *const *dirty = incident_cache_dirty(c, &n);
	assert_int_equal(n, 2);
	assert_int_equal(dirty[0]->id, 7);
	assert_int_equal(dirty[1]->id, 3);
	incident_cache_clean(c);
	incident_cache_dirty(c, &n);
	assert_int_equal(n, 0);
	incident_cache_destroy(&c);
	assert_null(c);
}

/* Over the bound, a trim keeps dirty entries and those looked up since the last trim. */
static void test_trim_second_chance(void **state)
{
	(void)state;
	incident_cache_t *c = incident_cache_new(4, 8);
	for (uint64_t id = 1; id <= 4; id++)
		assert_int_equal(incident_cache_put(c, s_incident(id)), 0);
	incident_cache_trim(c); /* within the bound: nothing happens */
	assert_int_equal(incident_cache_size(c), 4);

	for (uint64_t id = 5; id <= 6; id++)
		assert_int_equal(incident_cache_put(c, s_incident(id)), 0);
	assert_non_null(incident_cache_get(c, 2));
	assert_non_null(incident_cache_get(c, 5));
	incident_cache_mark_dirty(c, 6);
	incident_cache_trim(c);
	assert_int_equal(incident_cache_size(c), 3);
	assert_non_null(incident_cache_get(c, 2));
	assert_non_null(incident_cache_get(c, 5));
	assert_non_null(incident_cache_get(c, 6));
	assert_null(incident_cache_get(c, 1));
	assert_null(incident_cache_get(c, 3));
	size_t n;
	incident_t *const *dirty = incident_cache_dirty(c, &n);
	assert_int_equal(n, 1);
	assert_int_equal(dirty[0]->id, 6);
	incident_cache_clean(c);

	/* The survivors had their second chance: unused by the next trim, they go too. */
	for (uint64_t id = 10; id <= 11; id++)
		assert_int_equal(incident_cache_put(c, s_incident(id)), 0);
	assert_non_null(incident_cache_get(c, 10));
	incident_cache_trim(c); /* 5 entries; looked up since: 10 (and 2, 5, 6 above) */
	assert_non_null(incident_cache_get(c, 10));
	assert_null(incident_cache_get(c, 11));

	/* When the used entries alone are too many, every clean entry goes. */
	for (uint64_t id = 20; id <= 27; id++) {
		assert_int_equal(incident_cache_put(c, s_incident(id)), 0);
		assert_non_null(incident_cache_get(c, id));
	}
	incident_cache_trim(c);
	assert_int_equal(incident_cache_size(c), 0);

	/* After an aborted transaction everything goes. */
	assert_int_equal(incident_cache_put(c, s_incident(30)), 0);
	incident_cache_clear(c);
	assert_int_equal(incident_cache_size(c), 0);
	assert_null(incident_cache_get(c, 30));
	incident_cache_destroy(&c);
}

/* Puts beyond max_entries + batch_max are refused (and the incident freed). */
static void test_put_bound(void **state)
{
	(void)state;
	incident_cache_t *c = incident_cache_new(2, 2);
	size_t accepted = 0;
	for (uint64_t id = 1; id <= 100; id++)
		accepted += incident_cache_put(c, s_incident(id)) == 0;
	assert_true(accepted >= 4);
	assert_true(accepted < 100);
	assert_int_equal(incident_cache_size(c), accepted);
	incident_cache_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_and_dirty_order),
		cmocka_unit_test(test_trim_second_chance),
		cmocka_unit_test(test_put_bound),
	};
	return cmocka_run_group_tests_name("daemon/incident_cache", tests, NULL, NULL);
}
