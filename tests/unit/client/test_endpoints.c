/* Tests of client/endpoints.c: the list of endpoints -e, $INCIDENTD_API and --publish take. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/endpoints.h"

/* One endpoint is kept exactly as typed, spaces included (what -e always did). */
static void test_one_endpoint_as_typed(void **state)
{
	(void)state;
	endpoints_t e;
	char err[ENDPOINTS_ERRSZ];
	assert_int_equal(endpoints_parse("tcp://127.0.0.1:7420", &e, err, sizeof err), 0);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.item[0], "tcp://127.0.0.1:7420");
	assert_int_equal(endpoints_parse(" ipc:///run/x ", &e, err, sizeof err), 0);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.item[0], " ipc:///run/x ");
	assert_int_equal(endpoints_parse("", &e, err, sizeof err), 0);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.item[0], "");
}

/* A list keeps its order; white space around an item is dropped. */
static void test_list_in_order_trimmed(void **state)
{
	(void)state;
	endpoints_t e;
	char err[ENDPOINTS_ERRSZ], text[256];
	assert_int_equal(endpoints_parse("tcp://a:1,tcp://b:2, tcp://c:3 ", &e, err, sizeof err),
			 0);
	assert_int_equal(e.count, 3);
	assert_string_equal(e.item[0], "tcp://a:1");
	assert_string_equal(e.item[1], "tcp://b:2");
	assert_string_equal(e.item[2], "tcp://c:3");
	assert_string_equal(endpoints_format(&e, text, sizeof text),
			    "tcp://a:1, tcp://b:2, tcp://c:3");
}

/* An empty item anywhere is refused, with the list in the message. */
static void test_empty_item_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {"a,,b", ",a", "a,", ",", "a, ,b", "a,\t"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		endpoints_t e;
		char err[ENDPOINTS_ERRSZ] = "";
		if (endpoints_parse(bad[i], &e, err, sizeof err) != -EINVAL)
			fail_msg("'%s' should be refused", bad[i]);
		if (strstr(err, "empty item") == NULL || strstr(err, bad[i]) == NULL)
			fail_msg("'%s': the message should name the empty item and the list: %s",
				 bad[i], err);
	}
}

/* At most ENDPOINTS_MAX items and ENDPOINTS_TEXT_MAX - 1 bytes. */
static void test_limits(void **state)
{
	(void)state;
	char text[ENDPOINTS_TEXT_MAX + 8] = "";
	endpoints_t e;
	char err[ENDPOINTS_ERRSZ];
	for (int i = 0; i < ENDPOINTS_MAX; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "%stcp://h:%d",
			 i > 0 ? "," : "", i);
	assert_int_equal(endpoints_parse(text, &e, err, sizeof err), 0);
	assert_int_equal(e.count, ENDPOINTS_MAX);
	assert_string_equal(e.item[ENDPOINTS_MAX - 1], "tcp://h:15");
	strcat(text, ",tcp://h:16");
	assert_int_equal(endpoints_parse(text, &e, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "too many"));

	memset(text, 'x', ENDPOINTS_TEXT_MAX);
	text[ENDPOINTS_TEXT_MAX] = '\0';
	assert_int_equal(endpoints_parse(text, &e, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "too long"));
	text[ENDPOINTS_TEXT_MAX - 1] = '\0';
	assert_int_equal(endpoints_parse(text, &e, err, sizeof err), 0);
}

/* endpoints_format() cuts a list that does not fit, and stays a string. */
static void test_format_cut(void **state)
{
	(void)state;
	endpoints_t e;
	char err[ENDPOINTS_ERRSZ], small[12];
	assert_int_equal(endpoints_parse("tcp://a:1,tcp://b:2", &e, err, sizeof err), 0);
	assert_string_equal(endpoints_format(&e, small, sizeof small), "tcp://a:1, ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_endpoint_as_typed),
		cmocka_unit_test(test_list_in_order_trimmed),
		cmocka_unit_test(test_empty_item_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_format_cut),
	};
	return cmocka_run_group_tests_name("unit/client/endpoints", tests, NULL, NULL);
}
