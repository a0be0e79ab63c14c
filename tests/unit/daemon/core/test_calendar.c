/*
 * Tests of daemon/core/calendar.c: deadlines on the clock and in working time (weekends,
 * holidays, both summer-time changes of Europe/London).
 *
 * Every expectation is a UTC instant. In January and December London is on GMT (UTC+0), from
 * 2021-03-28 01:00Z to 2021-10-31 01:00Z on BST (UTC+1): 09:00 BST is 08:00Z.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/core/calendar.h"
#include "proto/rfc3339.h"

#define MINUTE_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)

#define MON_FRI 0x3eu /* bits 1 (Monday) .. 5 (Friday) */

static int64_t s_holidays[2];

/* mon-fri, 08:00-18:00, Europe/London, holidays 2020-12-25 and 2020-12-28. */
static config_calendar_t s_cal = {
	.days = MON_FRI,
	.start_minute = 8 * 60,
	.end_minute = 18 * 60,
	.holidays = s_holidays,
	.n_holidays = 2,
	.timezone = "Europe/London",
};

/* An RFC 3339 literal as ms. */
static int64_t T(const char *text)
{
	int64_t ms = 0;
	if (rfc3339_parse(text, &ms) != 0)
		fail_msg("bad time literal %s", text);
	return ms;
}

/* Compares two instants, printing both in RFC 3339 when they differ. */
#define assert_time(actual, expected_text) s_assert_time((actual), (expected_text), __LINE__)
static void s_assert_time(int64_t actual, const char *expected_text, int line)
{
	int64_t expected = T(expected_text);
	if (actual != expected) {
		char buf[RFC3339_BUFSZ];
		fail_msg("line %d: got %s, expected %s", line, rfc3339_format(actual, buf),
			 expected_text);
	}
}

static config_duration_t s_clock(int64_t ms)
{
	return (config_duration_t){ .kind = DURATION_CLOCK, .value = ms };
}

static config_duration_t s_wd(int64_t n)
{
	return (config_duration_t){ .kind = DURATION_WORKING_DAYS, .value = n };
}

static config_duration_t s_wh(int64_t hours)
{
	return (config_duration_t){ .kind = DURATION_WORKING_MS, .value = hours * HOUR_MS };
}

/*
 * Makes name the process's zone, as the daemon does once at start-up (sys/tz.c): the calendar's
 * local time is the process's.
 */
static int s_use_zone(const char *name)
{
	if (setenv("TZ", name, 1) != 0)
		return -1;
	tzset();
	calendar_zone_changed();
	return 0;
}

/* --- the calendar ------------------------------------------------------------------------ */

static void test_is_working(void **state)
{
	(void)state;
	assert_true(calendar_is_working(&s_cal, T("2021-01-12T12:00:00Z")));  /* Tuesday */
	assert_true(calendar_is_working(&s_cal, T("2021-01-12T08:00:00Z")));  /* the start is in */
	assert_false(calendar_is_working(&s_cal, T("2021-01-12T07:59:59.999Z")));
	assert_true(calendar_is_working(&s_cal, T("2021-01-12T17:59:59.999Z")));
	assert_false(calendar_is_working(&s_cal, T("2021-01-12T18:00:00Z"))); /* the end is out */
	assert_false(calendar_is_working(&s_cal, T("2021-01-16T12:00:00Z"))); /* Saturday */
	assert_false(calendar_is_working(&s_cal, T("2021-01-17T12:00:00Z"))); /* Sunday */
	assert_false(calendar_is_working(&s_cal, T("2020-12-25T12:00:00Z"))); /* holiday (Friday) */
	assert_false(calendar_is_working(&s_cal, T("2020-12-28T12:00:00Z"))); /* holiday (Monday) */
	assert_true(calendar_is_working(&s_cal, T("2020-12-29T12:00:00Z")));
	/* Summer: working hours are 07:00Z-17:00Z. */
	assert_true(calendar_is_working(&s_cal, T("2021-03-29T07:00:00Z")));
	assert_false(calendar_is_working(&s_cal, T("2021-03-29T06:59:59.999Z")));
	assert_false(calendar_is_working(&s_cal, T("2021-03-29T17:00:00Z")));
	assert_true(calendar_is_working(&s_cal, T("2021-03-29T16:59:59.999Z")));
}

static void test_next_working(void **state)
{
	(void)state;
	assert_time(calendar_next_working(&s_cal, T("2021-01-12T10:15:00.123Z")),
		    "2021-01-12T10:15:00.123Z");
	assert_time(calendar_next_working(&s_cal, T("2021-01-12T06:00:00Z")), "2021-01-12T08:00:00Z");
	assert_time(calendar_next_working(&s_cal, T("2021-01-12T08:00:00Z")), "2021-01-12T08:00:00Z");
	assert_time(calendar_next_working(&s_cal, T("2021-01-12T18:00:00Z")), "2021-01-13T08:00:00Z");
	assert_time(calendar_next_working(&s_cal, T("2021-01-12T19:00:00Z")), "2021-01-13T08:00:00Z");
	assert_time(calendar_next_working(&s_cal, T("2021-01-15T18:00:00Z")), "2021-01-18T08:00:00Z");
	assert_time(calendar_next_working(&s_cal, T("2021-01-16T10:00:00Z")), "2021-01-18T08:00:00Z");
	/* Thursday evening before Christmas: Friday 25 and Monday 28 are holidays. */
	assert_time(calendar_next_working(&s_cal, T("2020-12-24T18:30:00Z")), "2020-12-29T08:00:00Z");
	/* Saturday of the spring change: Monday 08:00 BST. */
	assert_time(calendar_next_working(&s_cal, T("2021-03-27T12:00:00Z")), "2021-03-29T07:00:00Z");
	/* Just after local midnight BST (23:30Z the day before) is already that local day. */
	assert_time(calendar_next_working(&s_cal, T("2021-06-14T23:30:00Z")), "2021-06-15T07:00:00Z");
}

/* --- deadlines ----------------------------------------------------------------------------- */

static void test_clock_durations(void **state)
{
	(void)state;
	int64_t t = T("2021-01-15T17:30:00Z"); /* Friday evening */
	assert_time(calendar_deadline(&s_cal, s_clock(30 * MINUTE_MS), false, t), "2021-01-15T18:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_clock(DAY_MS), false, t), "2021-01-16T17:30:00Z");
	assert_time(calendar_deadline(&s_cal, s_clock(1500), false, t), "2021-01-15T17:30:01.500Z");
	/* A clock day is 24 hours, even over the night the clocks go forward. */
	assert_time(calendar_deadline(&s_cal, s_clock(DAY_MS), false, T("2021-03-27T12:00:00Z")),
		    "2021-03-28T12:00:00Z");
}

static void test_working_ms_within_a_day(void **state)
{
	(void)state;
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-12T09:00:00Z"), 2 * HOUR_MS),
		    "2021-01-12T11:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_wh(2), false, T("2021-01-12T09:00:00Z")),
		    "2021-01-12T11:00:00Z");
	/* Ending exactly at the end of the day stays there. */
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-12T16:00:00Z"), 2 * HOUR_MS),
		    "2021-01-12T18:00:00Z");
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-12T16:00:00Z"), 2 * HOUR_MS + 1),
		    "2021-01-13T08:00:00.001Z");
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-12T08:00:00Z"), 10 * HOUR_MS),
		    "2021-01-12T18:00:00Z");
}

static void test_working_ms_across_evening_and_weekend(void **state)
{
	(void)state;
	/* Friday 17:30 + 1 working hour: 30 minutes on Friday, 30 on Monday. */
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-15T17:30:00Z"), HOUR_MS),
		    "2021-01-18T08:30:00Z");
	/* Tuesday 17:00 + 3 wh: one on Tuesday, two on Wednesday. */
	assert_time(calendar_deadline(&s_cal, s_wh(3), false, T("2021-01-12T17:00:00Z")),
		    "2021-01-13T10:00:00Z");
	/* 25 working hours from Monday 08:00: Monday, Tuesday, then 5 h on Wednesday. */
	assert_time(calendar_deadline(&s_cal, s_wh(25), false, T("2021-01-11T08:00:00Z")),
		    "2021-01-13T13:00:00Z");
}

static void test_working_ms_start_outside_hours(void **state)
{
	(void)state;
	/* Saturday 10:00 counts from Monday 08:00. */
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-16T10:00:00Z"), HOUR_MS),
		    "2021-01-18T09:00:00Z");
	/* Early morning counts from 08:00 that day. */
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-12T06:00:00Z"), 30 * MINUTE_MS),
		    "2021-01-12T08:30:00Z");
	/* Evening counts from the next day's 08:00. */
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-12T19:00:00Z"), HOUR_MS),
		    "2021-01-13T09:00:00Z");
	/* Exactly at the end of the day too. */
	assert_time(calendar_add_working_ms(&s_cal, T("2021-01-12T18:00:00Z"), HOUR_MS),
		    "2021-01-13T09:00:00Z");
}

static void test_working_time_skips_holidays(void **state)
{
	(void)state;
	/* Thu 24 Dec 17:00 + 2 wh: one hour on the 24th; 25 and 28 holidays, 26-27 weekend. */
	assert_time(calendar_deadline(&s_cal, s_wh(2), false, T("2020-12-24T17:00:00Z")),
		    "2020-12-29T09:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_wd(1), false, T("2020-12-24T10:00:00Z")),
		    "2020-12-29T10:00:00Z");
	/* Starting on a holiday counts from the next working day. */
	assert_time(calendar_deadline(&s_cal, s_wh(1), false, T("2020-12-25T10:00:00Z")),
		    "2020-12-29T09:00:00Z");
}

static void test_working_days(void **state)
{
	(void)state;
	/* Tuesday 10:00 + 2 wd = Thursday 10:00. */
	assert_time(calendar_deadline(&s_cal, s_wd(2), false, T("2021-01-12T10:00:00Z")),
		    "2021-01-14T10:00:00Z");
	/* Friday 10:00 + 2 wd = Tuesday 10:00. */
	assert_time(calendar_deadline(&s_cal, s_wd(2), false, T("2021-01-15T10:00:00Z")),
		    "2021-01-19T10:00:00Z");
	/* Monday 10:00 + 5 wd = the next Monday 10:00; + 10 wd two weeks on. */
	assert_time(calendar_deadline(&s_cal, s_wd(5), false, T("2021-01-11T10:00:00Z")),
		    "2021-01-18T10:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_wd(10), false, T("2021-01-11T10:00:00Z")),
		    "2021-01-25T10:00:00Z");
	/* Wednesday 23 Dec + 5 wd skips 25, 26, 27, 28: 24, 29, 30, 31 Dec, 1 Jan. */
	assert_time(calendar_deadline(&s_cal, s_wd(5), false, T("2020-12-23T15:45:00Z")),
		    "2021-01-01T15:45:00Z");
	/* Outside hours: Saturday 10:00 counts from Monday 08:00; 0 wd is that moment. */
	assert_time(calendar_deadline(&s_cal, s_wd(1), false, T("2021-01-16T10:00:00Z")),
		    "2021-01-19T08:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_wd(0), false, T("2021-01-16T10:00:00Z")),
		    "2021-01-18T08:00:00Z");
	/* The milliseconds of the start are kept. */
	assert_time(calendar_deadline(&s_cal, s_wd(1), false, T("2021-01-12T17:59:59.999Z")),
		    "2021-01-13T17:59:59.999Z");
}

static void test_working_time_across_spring_change(void **state)
{
	(void)state;
	/* Friday 26 March 10:00 GMT + 1 wd = Monday 29 March 10:00 BST = 09:00Z. */
	assert_time(calendar_deadline(&s_cal, s_wd(1), false, T("2021-03-26T10:00:00Z")),
		    "2021-03-29T09:00:00Z");
	/* Friday 17:00 GMT + 2 wh = Monday 09:00 BST = 08:00Z. */
	assert_time(calendar_deadline(&s_cal, s_wh(2), false, T("2021-03-26T17:00:00Z")),
		    "2021-03-29T08:00:00Z");
	/* The whole of Monday's window is 07:00Z-17:00Z: 11 wh from Friday 17:00 GMT. */
	assert_time(calendar_deadline(&s_cal, s_wh(11), false, T("2021-03-26T17:00:00Z")),
		    "2021-03-29T17:00:00Z");
	/* Saturday of the change weekend counts from Monday 08:00 BST. */
	assert_time(calendar_deadline(&s_cal, s_wh(1), false, T("2021-03-27T10:00:00Z")),
		    "2021-03-29T08:00:00Z");
}

static void test_working_time_across_autumn_change(void **state)
{
	(void)state;
	/* Friday 29 October 10:00 BST (09:00Z) + 1 wd = Monday 1 November 10:00 GMT = 10:00Z. */
	assert_time(calendar_deadline(&s_cal, s_wd(1), false, T("2021-10-29T09:00:00Z")),
		    "2021-11-01T10:00:00Z");
	/* Friday 17:00 BST (16:00Z) + 2 wh = Monday 09:00 GMT = 09:00Z. */
	assert_time(calendar_deadline(&s_cal, s_wh(2), false, T("2021-10-29T16:00:00Z")),
		    "2021-11-01T09:00:00Z");
	/* Friday 17:59 BST + 1 wd = Monday 17:59 GMT. */
	assert_time(calendar_deadline(&s_cal, s_wd(1), false, T("2021-10-29T16:59:00Z")),
		    "2021-11-01T17:59:00Z");
}

/* A calendar working every day round the clock: the change days themselves are working. */
static void test_working_days_on_change_days(void **state)
{
	(void)state;
	config_calendar_t always = s_cal;
	always.days = 0x7fu;
	always.start_minute = 0;
	always.end_minute = 24 * 60;
	always.n_holidays = 0;
	/* Sunday 28 March has 23 hours: 1 wd from Saturday noon is Sunday noon BST (11:00Z). */
	assert_time(calendar_deadline(&always, s_wd(1), false, T("2021-03-27T12:00:00Z")),
		    "2021-03-28T11:00:00Z");
	/* ... and 24 working hours are 24 elapsed hours. */
	assert_time(calendar_deadline(&always, s_wh(24), false, T("2021-03-27T12:00:00Z")),
		    "2021-03-28T12:00:00Z");
	/* Sunday 31 October has 25 hours: Saturday noon BST (11:00Z) + 1 wd = Sunday noon GMT. */
	assert_time(calendar_deadline(&always, s_wd(1), false, T("2021-10-30T11:00:00Z")),
		    "2021-10-31T12:00:00Z");
}

/* Weekdays and holidays are local dates: near midnight the UTC date is another day. */
static void test_days_are_local_dates(void **state)
{
	(void)state;
	int64_t bank_holiday = rfc3339_days_from_civil(2021, 8, 30); /* a Monday */
	config_calendar_t weekdays = s_cal;
	weekdays.start_minute = 0;
	weekdays.end_minute = 24 * 60;
	weekdays.holidays = &bank_holiday;
	weekdays.n_holidays = 1;
	/* Sunday 23:30Z is Monday 00:30 BST; Friday 23:30Z is Saturday 00:30 BST. */
	assert_true(calendar_is_working(&weekdays, T("2021-06-13T23:30:00Z")));
	assert_false(calendar_is_working(&weekdays, T("2021-06-18T23:30:00Z")));
	assert_time(calendar_next_working(&weekdays, T("2021-06-18T23:30:00Z")),
		    "2021-06-20T23:00:00Z");
	/* Sunday 29 August 23:30Z is already the bank holiday; Monday 23:30Z is Tuesday. */
	assert_false(calendar_is_working(&weekdays, T("2021-08-29T23:30:00Z")));
	assert_true(calendar_is_working(&weekdays, T("2021-08-30T23:30:00Z")));
	/* Friday 23:00Z is Saturday 00:00 BST: the end of Friday's window, not in it. */
	assert_false(calendar_is_working(&weekdays, T("2021-06-18T23:00:00Z")));
	assert_time(calendar_add_working_ms(&weekdays, T("2021-06-18T22:00:00Z"), HOUR_MS),
		    "2021-06-18T23:00:00Z");
}

/* Under calendar = working, "1d" is one working day and "2h" two working hours. */
static void test_clock_units_under_working_calendar(void **state)
{
	(void)state;
	int64_t fri = T("2021-01-15T10:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_clock(DAY_MS), true, fri), "2021-01-18T10:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_clock(3 * DAY_MS), true, fri), "2021-01-20T10:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_clock(2 * HOUR_MS), true, T("2021-01-15T17:00:00Z")),
		    "2021-01-18T09:00:00Z");
	/* 36 h is not whole days: working hours. Tue 10:00: 8 + 10 + 10 + 8 -> Friday 16:00. */
	assert_time(calendar_deadline(&s_cal, s_clock(36 * HOUR_MS), true, T("2021-01-12T10:00:00Z")),
		    "2021-01-15T16:00:00Z");
	/* Working units ignore the flag: they are working time either way. */
	assert_time(calendar_deadline(&s_cal, s_wd(1), true, fri), "2021-01-18T10:00:00Z");
	assert_time(calendar_deadline(&s_cal, s_wh(1), true, T("2021-01-15T17:30:00Z")),
		    "2021-01-18T08:30:00Z");
}

int main(void)
{
	s_holidays[0] = rfc3339_days_from_civil(2020, 12, 25);
	s_holidays[1] = rfc3339_days_from_civil(2020, 12, 28);
	if (s_use_zone(s_cal.timezone) != 0) {
		fprintf(stderr, "cannot load time zone %s\n", s_cal.timezone);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_working),
		cmocka_unit_test(test_next_working),
		cmocka_unit_test(test_clock_durations),
		cmocka_unit_test(test_working_ms_within_a_day),
		cmocka_unit_test(test_working_ms_across_evening_and_weekend),
		cmocka_unit_test(test_working_ms_start_outside_hours),
		cmocka_unit_test(test_working_time_skips_holidays),
		cmocka_unit_test(test_working_days),
		cmocka_unit_test(test_working_time_across_spring_change),
		cmocka_unit_test(test_working_time_across_autumn_change),
		cmocka_unit_test(test_working_days_on_change_days),
		cmocka_unit_test(test_days_are_local_dates),
		cmocka_unit_test(test_clock_units_under_working_calendar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
