/* Tests of proto/jsonw.c: its text must read back as the value meant, as jansson writes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/jsonw.h"

/* Checks text (freed here) against json_dumps of value, byte for byte, length included. */
static void
s_assert_text_like_jansson(char *text, size_t len, const json_t *value)
{
	char *expected = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(text);
	assert_string_equal(text, expected);
	assert_int_equal(len, strlen(expected));
	free(text);
	free(expected);
}

/* Writes s with jsonw_str and checks it against json_dumps of the same string. */
static void
s_assert_string_like_jansson(const char *s)
{
	jsonw_t w;
	jsonw_init(&w);
	jsonw_str(&w, s);
	size_t len;
	char *text = jsonw_finish(&w, &len);
	json_t *value = json_string(s);
	assert_non_null(value);
	s_assert_text_like_jansson(text, len, value);
	json_decref(value);
}

static void
test_strings_as_jansson_writes_them(void **state)
{
	(void) state;
	s_assert_string_like_jansson("");
	s_assert_string_like_jansson("plain");
	s_assert_string_like_jansson("quote \" backslash \\ slash /");
	s_assert_string_like_jansson("\b\f\n\r\t");
	s_assert_string_like_jansson("\x01\x1f\x7f end");
	s_assert_string_like_jansson("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	char long_text[3000];
	for (size_t i = 0; i < sizeof long_text - 1; i++)
		long_text[i] = (char) (i % 7 == 0 ? '"' : 'a' + i % 26);
	long_text[sizeof long_text - 1] = '\0';
	s_assert_string_like_jansson(long_text); /* grows past the first buffer */
}

static void
test_integers_and_literals(void **state)
{
	(void) state;
	jsonw_t w;
	jsonw_init(&w);
	jsonw_lit(&w, "[");
	jsonw_i64(&w, 0);
	jsonw_lit(&w, ",");
	jsonw_i64(&w, -42);
	jsonw_lit(&w, ",");
	jsonw_i64(&w, INT64_MAX);
	jsonw_lit(&w, ",");
	jsonw_i64(&w, INT64_MIN);
	jsonw_lit(&w, ",");
	jsonw_bool(&w, true);
	jsonw_lit(&w, ",");
	jsonw_bool(&w, false);
	jsonw_lit(&w, ",");
	jsonw_str(&w, NULL);
	jsonw_lit(&w, ",");
	json_t *nested = json_pack("{s:[i,s]}", "k", 1, "v");
	jsonw_json(&w, nested);
	json_decref(nested);
	jsonw_raw(&w, "]xyz", 1);
	size_t len;
	char *text = jsonw_finish(&w, &len);
	assert_string_equal(text, "[0,-42,9223372036854775807,-9223372036854775808,true,false,null,"
				  "{\"k\":[1,\"v\"]}]");
	assert_int_equal(len, strlen(text));
	free(text);
}

static void
test_empty_and_discard(void **state)
{
	(void) state;
	jsonw_t w;
	jsonw_init(&w);
	size_t len = 99;
	char *text = jsonw_finish(&w, &len);
	assert_string_equal(text, "");
	assert_int_equal(len, 0);
	free(text);
	jsonw_lit(&w, "{}");
	jsonw_discard(&w);
	assert_null(w.buf);
	assert_int_equal(w.len, 0);
}

/* jsonw_json() walks a value itself: it must print exactly what json_dumps() prints. */
static void
s_assert_value_like_jansson(json_t *value /* stolen */)
{
	jsonw_t w;
	jsonw_init(&w);
	jsonw_json(&w, value);
	size_t len;
	char *text = jsonw_finish(&w, &len);
	s_assert_text_like_jansson(text, len, value);
	text = jsonw_dumps(value, &len);
	s_assert_text_like_jansson(text, len, value);
	json_decref(value);
}

static void
test_values_as_jansson_writes_them(void **state)
{
	(void) state;
	s_assert_value_like_jansson(json_object());
	s_assert_value_like_jansson(json_array());
	s_assert_value_like_jansson(json_real(1.5));
	s_assert_value_like_jansson(json_real(-0.0));
	s_assert_value_like_jansson(json_real(1e300));
	s_assert_value_like_jansson(json_real(0.1));
	s_assert_value_like_jansson(json_integer(INT64_MIN));
	s_assert_value_like_jansson(json_stringn("nul\0inside \"q\"", 15));
	json_t *big = json_pack("{s:i, s:s, s:b, s:n, s:[i, f, s, {}, []], s:{s:{s:s}}}", "zeta", 1,
				"alpha", "caf\xc3\xa9\n", "mid", 1, "nothing", "list", 2, 2.25, "x",
				"nested", "deep", "k", "v");
	/* Many keys: jansson keeps them in insertion order, and so must the walk. */
	for (int i = 40; i > 0; i--) {
		char key[16];
		snprintf(key, sizeof key, "k%02d", i * 7 % 41);
		json_object_set_new(big, key, json_integer(i));
	}
	s_assert_value_like_jansson(big);
	jsonw_t w;
	jsonw_init(&w);
	jsonw_json(&w, NULL);
	assert_null(jsonw_finish(&w, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_as_jansson_writes_them),
		cmocka_unit_test(test_integers_and_literals),
		cmocka_unit_test(test_empty_and_discard),
		cmocka_unit_test(test_values_as_jansson_writes_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
