/* Tests of client/tz.c: the zone of incidentctl's human output and typed dates. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/tz.h"
#include "proto/rfc3339.h"

static int64_t s_ms(const char *text)
{
	int64_t ms = 0;
	if (rfc3339_parse(text, &ms) != 0)
		fail_msg("bad time in the test: %s", text);
	return ms;
}

static int64_t s_days(const char *date)
{
	int64_t days = 0;
	if (rfc3339_date_parse(date, &days) != 0)
		fail_msg("bad date in the test: %s", date);
	return days;
}

/* Before any zone is chosen, and with UTC: +00:00, whole seconds rounded down. */
static void test_utc(void **state)
{
	(void)state;
	char out[TZ_BUFSZ];
	assert_string_equal(tz_format(s_ms("2021-01-12T03:14:00.999Z"), out),
			    "2021-01-12T03:14:00+00:00");
	assert_int_equal(tz_use("UTC"), 0);
	assert_string_equal(tz_format(0, out), "1970-01-01T00:00:00+00:00");
	int64_t ms;
	assert_int_equal(tz_day_start(s_days("2026-12-05"), &ms), 0);
	assert_int_equal(ms, s_ms("2026-12-05T00:00:00Z"));
}

/* A zone's offset at each moment: winter, summer, half hours, west of Greenwich. */
static void test_offsets(void **state)
{
	(void)state;
	char out[TZ_BUFSZ];
	assert_int_equal(tz_use("Europe/Paris"), 0);
	assert_string_equal(tz_format(s_ms("2021-01-12T03:14:00Z"), out),
			    "2021-01-12T04:14:00+01:00");
	assert_string_equal(tz_format(s_ms("2021-07-01T12:00:00Z"), out),
			    "2021-07-01T14:00:00+02:00");
	assert_int_equal(tz_use("Asia/Kolkata"), 0);
	assert_string_equal(tz_format(s_ms("2021-01-12T03:14:00Z"), out),
			    "2021-01-12T08:44:00+05:30");
	assert_int_equal(tz_use("America/New_York"), 0);
	assert_string_equal(tz_format(s_ms("2021-01-12T03:14:00Z"), out),
			    "2021-01-11T22:14:00-05:00");
	assert_int_equal(tz_use("UTC"), 0);
}

/* tz_offset(): the offset alone, as a number and as tz_format() ends a time. */
static void test_offset(void **state)
{
	(void)state;
	char out[TZ_OFFSET_BUFSZ];
	assert_int_equal(tz_use("UTC"), 0);
	assert_int_equal(tz_offset(s_ms("2021-07-01T00:00:00Z"), out), 0);
	assert_string_equal(out, "+00:00");
	assert_int_equal(tz_use("Europe/Paris"), 0);
	assert_int_equal(tz_offset(s_ms("2021-01-12T03:14:00Z"), out), 3600000);
	assert_string_equal(out, "+01:00");
	assert_int_equal(tz_offset(s_ms("2021-07-12T03:14:00Z"), NULL), 7200000);
	assert_int_equal(tz_use("Asia/Kolkata"), 0);
	assert_int_equal(tz_offset(s_ms("2021-01-12T03:14:00Z"), out), 19800000);
	assert_string_equal(out, "+05:30");
	assert_int_equal(tz_use("America/St_Johns"), 0);
	assert_int_equal(tz_offset(s_ms("2021-01-12T03:14:00Z"), out), -12600000);
	assert_string_equal(out, "-03:30");
	assert_int_equal(tz_use("UTC"), 0);
}

/* A date starts at its midnight in the zone, or at the first moment when midnight is skipped. */
static void test_day_start(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(tz_use("Europe/Paris"), 0);
	assert_int_equal(tz_day_start(s_days("2026-12-05"), &ms), 0);
	assert_int_equal(ms, s_ms("2026-12-05T00:00:00+01:00"));
	assert_int_equal(tz_day_start(s_days("2026-07-01"), &ms), 0);
	assert_int_equal(ms, s_ms("2026-07-01T00:00:00+02:00"));
	/* Sao Paulo went from 00:00 -03:00 straight to 01:00 -02:00 on 2018-11-04. */
	assert_int_equal(tz_use("America/Sao_Paulo"), 0);
	assert_int_equal(tz_day_start(s_days("2018-11-04"), &ms), 0);
	assert_int_equal(ms, s_ms("2018-11-04T01:00:00-02:00"));
	assert_int_equal(tz_use("UTC"), 0);
}

/* Names that are no zone are refused and change nothing. */
static void test_unknown_zones(void **state)
{
	(void)state;
	static const char *const bad[] = {"",          "Mars/Olympus_Mons", "zone.tab",
					  "../../etc/passwd", "/usr/share/zoneinfo/UTC", "Europe",
					  "Europe/Paris ", "Europe/../Europe/Paris"};
	assert_int_equal(tz_use("Asia/Kolkata"), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (tz_use(bad[i]) != -EINVAL)
			fail_msg("accepted the zone \"%s\"", bad[i]);
	char out[TZ_BUFSZ];
	assert_string_equal(tz_format(s_ms("2021-01-12T03:14:00Z"), out),
			    "2021-01-12T08:44:00+05:30");
	assert_int_equal(tz_use("UTC"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_offset),
		cmocka_unit_test(test_day_start),
		cmocka_unit_test(test_unknown_zones),
	};
	return cmocka_run_group_tests_name("unit/client/tz", tests, NULL, NULL);
}
