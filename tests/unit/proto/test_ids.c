/* Tests of proto/ids.c: INC and PBI identifiers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/ids.h"

static void
s_assert_refused(id_kind_t kind, const char *text)
{
	uint64_t n = 77;
	if (id_parse(kind, text, &n) != -EINVAL)
		fail_msg("accepted an invalid id: \"%s\"", text ? text : "(null)");
	assert_int_equal(n, 77);
}

static void
test_format(void **state)
{
	(void) state;
	char buf[ID_BUFSZ];
	assert_string_equal(id_format(ID_INCIDENT, 1, buf), "INC000000000001");
	assert_string_equal(id_format(ID_INCIDENT, 42, buf), "INC000000000042");
	assert_string_equal(id_format(ID_PROBLEM, 7, buf), "PBI000000000007");
	assert_string_equal(id_format(ID_PROBLEM, ID_MAX, buf), "PBI999999999999");
	assert_string_equal(id_format(ID_BREACH, 12, buf), "BRE000000000012");
}

static void
test_parse(void **state)
{
	(void) state;
	uint64_t n = 0;
	assert_int_equal(id_parse(ID_INCIDENT, "INC000000000042", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(id_parse(ID_PROBLEM, "PBI000000000001", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(id_parse(ID_INCIDENT, "INC999999999999", &n), 0);
	assert_int_equal(n, ID_MAX);
}

static void
test_round_trip(void **state)
{
	(void) state;
	static const uint64_t numbers[] = { 1, 9, 10, 123456789, 100000000000ULL, ID_MAX };
	char buf[ID_BUFSZ];
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		uint64_t n = 0;
		assert_int_equal(id_parse(ID_INCIDENT, id_format(ID_INCIDENT, numbers[i], buf), &n), 0);
		assert_int_equal(n, numbers[i]);
		assert_int_equal(id_parse(ID_PROBLEM, id_format(ID_PROBLEM, numbers[i], buf), &n), 0);
		assert_int_equal(n, numbers[i]);
	}
}

static void
test_parse_refusals(void **state)
{
	(void) state;
	s_assert_refused(ID_INCIDENT, "INC000000000000");   /* 0 is never an id */
	s_assert_refused(ID_INCIDENT, "PBI000000000001");   /* the other kind */
	s_assert_refused(ID_PROBLEM, "INC000000000001");
	s_assert_refused(ID_BREACH, "INC000000000001");
	s_assert_refused(ID_INCIDENT, "inc000000000001");   /* one spelling only */
	s_assert_refused(ID_INCIDENT, "INC00000000001");    /* 11 digits */
	s_assert_refused(ID_INCIDENT, "INC0000000000001");  /* 13 digits */
	s_assert_refused(ID_INCIDENT, "INC1");
	s_assert_refused(ID_INCIDENT, "INC");
	s_assert_refused(ID_INCIDENT, "");
	s_assert_refused(ID_INCIDENT, "42");
	s_assert_refused(ID_INCIDENT, "000000000000042");
	s_assert_refused(ID_INCIDENT, "INC+00000000042");
	s_assert_refused(ID_INCIDENT, "INC-00000000042");
	s_assert_refused(ID_INCIDENT, "INC 00000000042");
	s_assert_refused(ID_INCIDENT, " INC00000000042");
	s_assert_refused(ID_INCIDENT, "INC00000000042 ");
	s_assert_refused(ID_INCIDENT, "INC00000000004x");
	s_assert_refused(ID_INCIDENT, "INC0000000000\xd9\xa1"); /* a non-ASCII digit */
	s_assert_refused(ID_INCIDENT, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
