/* Tests of client/chart.c: the axes and scales of the HTML report's charts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/chart.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

static void s_axis(double max, int ticks, bool integer, double want_max, double want_step)
{
	chart_axis_t a = chart_axis(max, ticks, integer);
	if (a.max != want_max || a.step != want_step)
		fail_msg("chart_axis(%g, %d, %d) = %g step %g, expected %g step %g", max, ticks,
			 integer, a.max, a.step, want_max, want_step);
}

/* Round steps of 1, 2 or 5 times a power of ten; the top is a whole number of steps. */
static void test_axis(void **state)
{
	(void)state;
	s_axis(3, 5, true, 3, 1);
	s_axis(7, 5, true, 8, 2);
	s_axis(10, 5, true, 10, 2);
	s_axis(11, 5, true, 15, 5);
	s_axis(23, 5, true, 25, 5);
	s_axis(140, 5, true, 150, 50);
	s_axis(1000, 5, true, 1000, 200);
	s_axis(100, 5, false, 100, 20);
	s_axis(0.7, 5, false, 0.8, 0.2);
	/* Counts never get half steps: one incident is one tick. */
	s_axis(1, 5, true, 1, 1);
	s_axis(2, 5, true, 2, 1);
	/* Nothing to show: 0 to 1. */
	s_axis(0, 5, true, 1, 1);
	s_axis(-3, 5, true, 1, 1);
}

static void test_scale(void **state)
{
	(void)state;
	/* An upward axis: 0 at the bottom (260), the top value at the top (40). */
	assert_true(chart_scale(0, 0, 10, 260, 40) == 260);
	assert_true(chart_scale(10, 0, 10, 260, 40) == 40);
	assert_true(chart_scale(5, 0, 10, 260, 40) == 150);
	assert_true(chart_scale(7, 3, 3, 110, 980) == 110);
}

/* The smallest round step that keeps the ticks within the bound. */
static void test_time_step(void **state)
{
	(void)state;
	assert_int_equal(chart_time_step(5 * MIN_MS, 7), MIN_MS);
	assert_int_equal(chart_time_step(30 * MIN_MS, 7), 5 * MIN_MS);
	assert_int_equal(chart_time_step(6 * HOUR_MS, 7), HOUR_MS);
	assert_int_equal(chart_time_step(7 * HOUR_MS, 7), 2 * HOUR_MS);
	assert_int_equal(chart_time_step(3 * DAY_MS, 7), 12 * HOUR_MS);
	assert_int_equal(chart_time_step(30 * DAY_MS, 7), 7 * DAY_MS);
	assert_int_equal(chart_time_step(3650 * DAY_MS, 7), 30 * DAY_MS);
}

/* Ticks on round clock times of the zone: its midnights for a daily step. */
static void test_first_tick(void **state)
{
	(void)state;
	int64_t t = 1764931800000LL; /* 2025-12-05T10:50:00Z */
	assert_int_equal(chart_time_first_tick(t, HOUR_MS, 0), t + 10 * MIN_MS);
	assert_int_equal(chart_time_first_tick(t + 10 * MIN_MS, HOUR_MS, 0), t + 10 * MIN_MS);
	/* India, +05:30: hours tick at :30 UTC, which is :00 there. */
	assert_int_equal(chart_time_first_tick(t, HOUR_MS, 330 * MIN_MS), t + 40 * MIN_MS);
	/* A daily step at Paris midnight, 23:00 UTC the day before. */
	int64_t midnight = 1764892800000LL; /* 2025-12-05T00:00:00Z */
	assert_int_equal(chart_time_first_tick(t, DAY_MS, HOUR_MS), midnight + 23 * HOUR_MS);
	assert_int_equal(chart_time_first_tick(t, DAY_MS, -5 * HOUR_MS), midnight + 5 * HOUR_MS + DAY_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_axis),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_time_step),
		cmocka_unit_test(test_first_tick),
	};
	return cmocka_run_group_tests_name("unit/client/chart", tests, NULL, NULL);
}
