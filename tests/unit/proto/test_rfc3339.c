/* Tests of proto/rfc3339.c: the one time parser and formatter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/rfc3339.h"

/* 2021-01-12T03:14:00Z, computed independently: 18639 days after the epoch plus 03:14. */
#define JAN12_0314 (18639LL * 86400000 + 3 * 3600000 + 14 * 60000)

static int64_t
s_parse_ok(const char *text)
{
	int64_t ms = -1;
	int rc = rfc3339_parse(text, &ms);
	if (rc != 0)
		fail_msg("refused a valid time: %s", text);
	return ms;
}

static void
s_assert_refused(const char *text)
{
	int64_t ms = 12345;
	if (rfc3339_parse(text, &ms) != -EINVAL)
		fail_msg("accepted an invalid time: \"%s\"", text);
	assert_int_equal(ms, 12345); /* left untouched */
}

static void
test_parse_utc(void **state)
{
	(void) state;
	assert_int_equal(s_parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00Z"), JAN12_0314);
	assert_int_equal(s_parse_ok("2021-01-12t03:14:00z"), JAN12_0314);
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00+00:00"), JAN12_0314);
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00-00:00"), JAN12_0314);
}

static void
test_parse_offsets_convert_to_utc(void **state)
{
	(void) state;
	assert_int_equal(s_parse_ok("2021-01-12T04:14:00+01:00"), JAN12_0314);
	assert_int_equal(s_parse_ok("2021-01-11T21:44:00-05:30"), JAN12_0314);
	/* An offset can move the time across a day, month and year boundary. */
	assert_int_equal(s_parse_ok("2021-01-01T00:30:00+01:00"), s_parse_ok("2020-12-31T23:30:00Z"));
	assert_int_equal(s_parse_ok("2020-12-31T23:30:00-23:59"), s_parse_ok("2021-01-01T23:29:00Z"));
	assert_int_equal(s_parse_ok("2021-01-12T04:14:00.5+01:00"), JAN12_0314 + 500);
}

static void
test_parse_fraction_truncated_to_ms(void **state)
{
	(void) state;
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00.5Z"), JAN12_0314 + 500);
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00.05Z"), JAN12_0314 + 50);
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00.123Z"), JAN12_0314 + 123);
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00.1239Z"), JAN12_0314 + 123);
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00.999999999999999999Z"), JAN12_0314 + 999);
	assert_int_equal(s_parse_ok("2021-01-12T03:14:00.000Z"), JAN12_0314);
}

static void
test_parse_leap_years(void **state)
{
	(void) state;
	assert_int_equal(s_parse_ok("2020-02-29T00:00:00Z") + 86400000,
			 s_parse_ok("2020-03-01T00:00:00Z"));
	assert_int_equal(s_parse_ok("2000-02-29T00:00:00Z") + 86400000,
			 s_parse_ok("2000-03-01T00:00:00Z"));
	assert_int_equal(s_parse_ok("2021-02-28T00:00:00Z") + 86400000,
			 s_parse_ok("2021-03-01T00:00:00Z"));
	s_assert_refused("2021-02-29T00:00:00Z");
	s_assert_refused("2021-02-30T00:00:00Z");
	s_assert_refused("2100-02-29T00:00:00Z");
	s_assert_refused("2020-02-30T00:00:00Z");
	s_assert_refused("2021-04-31T00:00:00Z");
	s_parse_ok("2021-12-31T00:00:00Z");
	s_assert_refused("2021-12-32T00:00:00Z");
}

static void
test_parse_refuses_out_of_range_fields(void **state)
{
	(void) state;
	s_assert_refused("2021-13-01T00:00:00Z");
	s_assert_refused("2021-00-01T00:00:00Z");
	s_assert_refused("2021-01-00T00:00:00Z");
	s_assert_refused("2021-01-12T24:00:00Z");
	s_assert_refused("2021-01-12T23:60:00Z");
	s_assert_refused("2021-01-12T23:59:60Z");
	s_assert_refused("2021-01-12T03:14:00+24:00");
	s_assert_refused("2021-01-12T03:14:00+23:60");
	s_assert_refused("2021-01-12T03:14:00-24:00");
	s_assert_refused("1969-12-31T23:59:59Z");
	s_assert_refused("0000-01-01T00:00:00Z");
	/* Times that only leave the range once the offset is applied. */
	s_assert_refused("1970-01-01T00:30:00+01:00");
	s_assert_refused("9999-12-31T23:30:00-01:00");
	s_parse_ok("9999-12-31T23:59:59.999Z");
}

static void
test_parse_refuses_malformed_text(void **state)
{
	(void) state;
	static const char *const bad[] = {
		"",
		"2021-01-12",
		"2021-01-12T03:14Z",
		"2021-01-12T03:14:00",
		"2021-01-12 03:14:00Z",
		"2021-01-12T03:14:00ZZ",
		"2021-01-12T03:14:00Z ",
		" 2021-01-12T03:14:00Z",
		"2021-01-12T03:14:00.Z",
		"2021-01-12T03:14:00,5Z",
		"2021-01-12T03:14:00+01",
		"2021-01-12T03:14:00+0100",
		"2021-01-12T03:14:00+01:00:00",
		"2021-1-12T03:14:00Z",
		"21-01-12T03:14:00Z",
		"12021-01-12T03:14:00Z",
		"2021-01-12T3:14:00Z",
		"2021/01/12T03:14:00Z",
		"2021-01-12X03:14:00Z",
		"+2021-01-12T03:14:00Z",
		"2021-01-12T03:14:0aZ",
		"2021-01-12T03:14:00UTC",
		"now",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		s_assert_refused(bad[i]);
	assert_int_equal(rfc3339_parse(NULL, &(int64_t) { 0 }), -EINVAL);
}

static void
test_format(void **state)
{
	(void) state;
	char buf[RFC3339_BUFSZ];
	assert_string_equal(rfc3339_format(0, buf), "1970-01-01T00:00:00.000Z");
	assert_string_equal(rfc3339_format(JAN12_0314, buf), "2021-01-12T03:14:00.000Z");
	assert_string_equal(rfc3339_format(JAN12_0314 + 7, buf), "2021-01-12T03:14:00.007Z");
	assert_string_equal(rfc3339_format(s_parse_ok("2000-02-29T12:34:56.789Z"), buf),
			    "2000-02-29T12:34:56.789Z");
	assert_string_equal(rfc3339_format(s_parse_ok("9999-12-31T23:59:59.999Z"), buf),
			    "9999-12-31T23:59:59.999Z");
	assert_string_equal(rfc3339_format(-1, buf), "1969-12-31T23:59:59.999Z");
}

static void
test_round_trip(void **state)
{
	(void) state;
	static const char *const in[][2] = {
		{ "2021-01-12T04:14:00.5+01:00", "2021-01-12T03:14:00.500Z" },
		{ "2021-03-28T01:59:59.999999-05:30", "2021-03-28T07:29:59.999Z" },
		{ "2024-02-29t23:00:00+01:00", "2024-02-29T22:00:00.000Z" },
		{ "2038-01-19T03:14:08Z", "2038-01-19T03:14:08.000Z" },
	};
	char buf[RFC3339_BUFSZ];
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		int64_t ms = s_parse_ok(in[i][0]);
		assert_string_equal(rfc3339_format(ms, buf), in[i][1]);
		assert_int_equal(s_parse_ok(buf), ms);
	}
}

static void
test_civil_days(void **state)
{
	(void) state;
	assert_int_equal(rfc3339_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(rfc3339_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(rfc3339_days_from_civil(1969, 12, 31), -1);
	/* Every day from 1900 to 2400 maps back to itself, one day apart. */
	int64_t first = rfc3339_days_from_civil(1900, 1, 1);
	int64_t last = rfc3339_days_from_civil(2400, 12, 31);
	for (int64_t d = first; d <= last; d++) {
		int64_t y;
		unsigned m, day;
		rfc3339_civil_from_days(d, &y, &m, &day);
		if (rfc3339_days_from_civil(y, m, day) != d || m < 1 || m > 12 || day < 1 || day > 31)
			fail_msg("day %lld does not round-trip", (long long) d);
	}
	int64_t y;
	unsigned m, d;
	rfc3339_civil_from_days(rfc3339_days_from_civil(2100, 3, 1) - 1, &y, &m, &d);
	assert_int_equal(y, 2100);
	assert_int_equal(m, 2);
	assert_int_equal(d, 28);
}

/* A date alone: real days only, nothing around it. */
static void
test_date_parse(void **state)
{
	(void) state;
	int64_t days = -1;
	assert_int_equal(rfc3339_date_parse("2020-12-25", &days), 0);
	assert_int_equal(days, rfc3339_days_from_civil(2020, 12, 25));
	assert_int_equal(rfc3339_date_parse("1970-01-01", &days), 0);
	assert_int_equal(days, 0);
	assert_int_equal(rfc3339_date_parse("2020-02-29", &days), 0);
	static const char *const bad[] = { "2021-02-29", "2020-13-01", "2020-00-10", "2020-12-32",
					   "1969-12-31", "2020-12-25T00:00:00Z", " 2020-12-25",
					   "2020-12-2", "20201225", "", "2020/12/25" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		days = 42;
		if (rfc3339_date_parse(bad[i], &days) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(days, 42);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_utc),
		cmocka_unit_test(test_parse_offsets_convert_to_utc),
		cmocka_unit_test(test_parse_fraction_truncated_to_ms),
		cmocka_unit_test(test_parse_leap_years),
		cmocka_unit_test(test_parse_refuses_out_of_range_fields),
		cmocka_unit_test(test_parse_refuses_malformed_text),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_civil_days),
		cmocka_unit_test(test_date_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
