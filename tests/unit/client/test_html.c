/* Tests of client/html.c: what the HTML report writes of a string it did not make. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/html.h"

/* What html_escape() writes of text, malloc'd. */
static char *s_escaped(const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	html_escape(out, text);
	fclose(out);
	return buf;
}

/* Markup, quotes and ampersands become entities: safe as text and as an attribute value. */
static void test_markup(void **state)
{
	(void)state;
	char *s = s_escaped("<script>alert(\"x\")</script> & 'q'");
	assert_string_equal(s, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
	free(s);
	/* An entity typed by the user stays text: its ampersand is escaped. */
	s = s_escaped("&lt;&amp;");
	assert_string_equal(s, "&amp;lt;&amp;amp;");
	free(s);
	/* An attempt to close an attribute or an SVG text element. */
	s = s_escaped("\" onload=\"x\"></text><svg>");
	assert_string_equal(s, "&quot; onload=&quot;x&quot;&gt;&lt;/text&gt;&lt;svg&gt;");
	free(s);
}

/* Plain text and UTF-8 pass unchanged; NULL writes nothing. */
static void test_plain(void **state)
{
	(void)state;
	char *s = s_escaped("csp-north INC000000000001 2026-12-05T11:00:00+01:00 caf\xc3\xa9");
	assert_string_equal(s, "csp-north INC000000000001 2026-12-05T11:00:00+01:00 caf\xc3\xa9");
	free(s);
	s = s_escaped(NULL);
	assert_string_equal(s, "");
	free(s);
}

/* Control characters XML forbids become U+FFFD; tab and line breaks stay. */
static void test_controls(void **state)
{
	(void)state;
	char *s = s_escaped("a\x01" "b\x1b[31m\tc\nd\x7f");
	assert_string_equal(s, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD[31m\tc\nd\xEF\xBF\xBD");
	free(s);
}

/* html_escapef() escapes the formatted result, arguments included. */
static void test_escapef(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	html_escapef(out, "%s (%s) %d", "rule<1>", "on_arrival", 42);
	fclose(out);
	assert_string_equal(buf, "rule&lt;1&gt; (on_arrival) 42");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_markup),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_escapef),
	};
	return cmocka_run_group_tests_name("unit/client/html", tests, NULL, NULL);
}
