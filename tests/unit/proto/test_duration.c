/*
 * duration: the command line's clock durations.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/duration.h"

static void test_units(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int64_t ms;
	} cases[] = {
		{ "0s", 0 },          { "1500ms", 1500 },     { "45s", 45000 },
		{ "30m", 1800000 },   { "2h", 7200000 },      { "1d", 86400000 },
		{ "7d", 604800000 },  { "0ms", 0 },           { "9223372036854775807ms", INT64_MAX },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t ms = -1;
		assert_int_equal(duration_parse_ms(cases[i].text, &ms), 0);
		assert_int_equal(ms, cases[i].ms);
	}
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "m", "30", "-5m", "+5m", " 5m", "5m ", "5 m", "5M", "5w", "2wd", "1h30m", "5.5h",
		"9223372036854775808ms", "106751991167301d", "99999999999999999999s",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms = 42;
		assert_int_equal(duration_parse_ms(bad[i], &ms), -EINVAL);
		assert_int_equal(ms, 42);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
