/* Tests of proto/wire.c: request decoding, replies, field accessors, event and list requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ids.h"
#include "proto/rfc3339.h"
#include "proto/wire.h"

/* Parses JSON text that the test itself wrote; a typo there is a test bug. */
static json_t *
s_json(const char *text)
{
	json_error_t jerr;
	json_t *value = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (value == NULL)
		fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
	return value;
}

/* Decodes text as a request that must fail; checks the code and message prefix. */
static void
s_assert_request_error(const char *text, wire_code_t code, const char *message_prefix)
{
	json_t *req = (json_t *) 1, *id = (json_t *) 1;
	const char *op = NULL;
	wire_error_t err;
	memset(&err, 0, sizeof err);
	assert_int_equal(wire_request_decode(text, strlen(text), &req, &op, &id, &err), -1);
	assert_null(req);
	assert_int_equal(err.code, code);
	if (strncmp(err.message, message_prefix, strlen(message_prefix)) != 0)
		fail_msg("for %s: message \"%s\" does not start with \"%s\"", text, err.message,
			 message_prefix);
	json_decref(id);
}

static void
test_code_names(void **state)
{
	(void) state;
	static const char *const names[] = { "bad_json",     "bad_request",        "unknown_op",
					     "not_found",    "conflict",           "invalid_transition",
					     "forbidden",    "too_large",          "unavailable",
					     "internal" };
	assert_null(wire_code_name(WIRE_OK));
	assert_null(wire_code_name((wire_code_t) 99));
	for (int i = 0; i < 10; i++) {
		assert_string_equal(wire_code_name((wire_code_t) (i + 1)), names[i]);
		assert_int_equal(wire_code_from_name(names[i]), i + 1);
	}
	assert_int_equal(wire_code_from_name("oops"), WIRE_OK);
	assert_int_equal(wire_code_from_name(NULL), WIRE_OK);
	assert_string_equal(wire_source_name(SOURCE_PROVIDER), "provider");
	assert_string_equal(wire_source_name(SOURCE_OPERATOR), "operator");
}

static void
test_request_decode_ok(void **state)
{
	(void) state;
	const char *text = "{\"op\":\"get\",\"incident\":\"INC000000000001\",\"id\":7}";
	json_t *req = NULL, *id = (json_t *) 1;
	const char *op = NULL;
	wire_error_t err;
	assert_int_equal(wire_request_decode(text, strlen(text), &req, &op, &id, &err), 0);
	assert_string_equal(op, "get");
	assert_null(id);
	assert_string_equal(json_string_value(json_object_get(req, "incident")), "INC000000000001");
	json_decref(req);

	/* The length bounds the frame: bytes after it are not part of the request. */
	const char *framed = "{\"op\":\"status\"}garbage";
	assert_int_equal(wire_request_decode(framed, 15, &req, &op, NULL, &err), 0);
	assert_string_equal(op, "status");
	json_decref(req);
}

static void
test_request_decode_errors(void **state)
{
	(void) state;
	s_assert_request_error("not json", WIRE_BAD_JSON, "bad JSON at line 1 column ");
	s_assert_request_error("", WIRE_BAD_JSON, "bad JSON at line ");
	s_assert_request_error("{\"op\":\"status\"} x", WIRE_BAD_JSON, "bad JSON at line 1 column ");
	s_assert_request_error("{\"op\":\"status\"}{}", WIRE_BAD_JSON, "bad JSON");
	s_assert_request_error("{\"op\":\"status\"", WIRE_BAD_JSON, "bad JSON");
	s_assert_request_error("{\"op\":\"a\",\"op\":\"b\"}", WIRE_BAD_JSON, "bad JSON");
	s_assert_request_error("{\"op\":\"\xff\"}", WIRE_BAD_JSON, "bad JSON");
	s_assert_request_error("[{\"op\":\"status\"}]", WIRE_BAD_REQUEST,
			       "request: must be a JSON object");
	s_assert_request_error("\"status\"", WIRE_BAD_REQUEST, "request: must be a JSON object");
	s_assert_request_error("42", WIRE_BAD_REQUEST, "request: must be a JSON object");
	s_assert_request_error("{}", WIRE_BAD_REQUEST, "op: missing");
	s_assert_request_error("{\"op\":null}", WIRE_BAD_REQUEST, "op: must be a string");
	s_assert_request_error("{\"op\":42}", WIRE_BAD_REQUEST, "op: must be a string");

	/* An embedded NUL inside a string is refused, also when the length covers it. */
	const char nul[] = "{\"op\":\"st\\u0000atus\"}";
	s_assert_request_error(nul, WIRE_BAD_JSON, "bad JSON");
	const char raw_nul[] = "{\"op\":\"status\"}\0";
	json_t *req = NULL;
	const char *op;
	wire_error_t err;
	assert_int_equal(wire_request_decode(raw_nul, sizeof raw_nul, &req, &op, NULL, &err), -1);
	assert_int_equal(err.code, WIRE_BAD_JSON);
}

static void
test_request_error_echoes_id(void **state)
{
	(void) state;
	const char *text = "{\"id\":{\"n\":[1,2]},\"op\":5}";
	json_t *req = NULL, *id = NULL;
	const char *op;
	wire_error_t err;
	assert_int_equal(wire_request_decode(text, strlen(text), &req, &op, &id, &err), -1);
	assert_string_equal(err.message, "op: must be a string");
	assert_non_null(id);
	size_t len = 0;
	char *reply = wire_reply_error(&err, id, &len);
	assert_string_equal(reply, "{\"ok\":false,\"id\":{\"n\":[1,2]},\"error\":{\"code\":"
				   "\"bad_request\",\"message\":\"op: must be a string\"}}");
	assert_int_equal(len, strlen(reply));
	free(reply);
	json_decref(id);

	/* Bad JSON has no id to echo. */
	id = (json_t *) 1;
	assert_int_equal(wire_request_decode("{\"id\":1,", 8, &req, &op, &id, &err), -1);
	assert_null(id);
}

static void
test_reply_ok(void **state)
{
	(void) state;
	size_t len = 0;
	char *text = wire_reply_ok(NULL, NULL, &len);
	assert_string_equal(text, "{\"ok\":true}");
	assert_int_equal(len, 11);
	free(text);

	json_t *id = json_string("req-1");
	json_t *fields = s_json("{\"incident\":\"INC000000000001\",\"duplicate\":false,"
				"\"breaches\":[]}");
	text = wire_reply_ok(fields, id, &len);
	assert_string_equal(text, "{\"ok\":true,\"id\":\"req-1\",\"incident\":\"INC000000000001\","
				  "\"duplicate\":false,\"breaches\":[]}");
	assert_int_equal(len, strlen(text));
	free(text);
	/* id is borrowed: still ours, unchanged. */
	assert_string_equal(json_string_value(id), "req-1");
	json_decref(id);

	/* A null id is an id: it is echoed. Fields cannot overwrite "ok" or "id". */
	id = json_null();
	text = wire_reply_ok(s_json("{\"ok\":false,\"id\":3,\"n\":1}"), id, NULL);
	assert_string_equal(text, "{\"ok\":true,\"id\":null,\"n\":1}");
	free(text);
}

static void
test_reply_error(void **state)
{
	(void) state;
	wire_error_t err;
	assert_int_equal(wire_error_set(&err, WIRE_NOT_FOUND, "incident: %s not found",
					"INC000000000009"),
			 -1);
	size_t len = 0;
	char *text = wire_reply_error(&err, NULL, &len);
	assert_string_equal(text, "{\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":"
				  "\"incident: INC000000000009 not found\"}}");
	assert_int_equal(len, strlen(text));
	free(text);

	/* Quotes and control characters in a message are escaped, not passed through. */
	wire_error_set(&err, WIRE_CONFLICT, "ref: \"a\"\n");
	json_t *id = json_integer(12);
	text = wire_reply_error(&err, id, NULL);
	assert_string_equal(text, "{\"ok\":false,\"id\":12,\"error\":{\"code\":\"conflict\","
				  "\"message\":\"ref: \\\"a\\\"\\n\"}}");
	free(text);
	json_decref(id);
}

static void
test_error_set_truncates_to_valid_utf8(void **state)
{
	(void) state;
	/* 300 bytes of two-byte characters, offset by one so a cut falls mid-character. */
	char long_text[302];
	long_text[0] = 'x';
	for (int i = 0; i < 150; i++)
		memcpy(long_text + 1 + 2 * i, "\xc3\xa9", 2);
	long_text[301] = '\0';
	wire_error_t err;
	wire_error_set(&err, WIRE_BAD_REQUEST, "title: %s", long_text);
	assert_true(strlen(err.message) < WIRE_MESSAGE_MAX);
	assert_memory_equal(err.message, "title: x\xc3\xa9", 10);
	char *text = wire_reply_error(&err, NULL, NULL);
	json_t *reply = s_json(text);
	const char *message = json_string_value(json_object_get(json_object_get(reply, "error"),
								"message"));
	assert_string_equal(message, err.message);
	json_decref(reply);
	free(text);
}

/* Checks that an accessor call failed with bad_request and exactly this message. */
#define assert_bad_request(call, expected)                                                     \
	do {                                                                                   \
		wire_error_t e_;                                                               \
		memset(&e_, 0, sizeof e_);                                                     \
		wire_error_t *err = &e_;                                                       \
		assert_int_equal((call), -1);                                                  \
		assert_int_equal(e_.code, WIRE_BAD_REQUEST);                                   \
		assert_string_equal(e_.message, (expected));                                   \
	} while (0)

static void
test_get_string(void **state)
{
	(void) state;
	json_t *obj = s_json("{\"title\":\"Disk full\",\"empty\":\"\",\"n\":3,\"nul\":null,"
			     "\"long\":\"abcdef\"}");
	const char *s = "untouched";
	bool present = false;
	wire_error_t e;
	assert_int_equal(wire_get_string(obj, "title", true, 512, &s, &present, &e), 0);
	assert_string_equal(s, "Disk full");
	assert_true(present);
	s = "untouched";
	assert_int_equal(wire_get_string(obj, "service", false, 512, &s, &present, &e), 0);
	assert_false(present);
	assert_string_equal(s, "untouched");
	assert_int_equal(wire_get_string(obj, "nul", false, 512, &s, &present, &e), 0);
	assert_false(present);
	assert_int_equal(wire_get_string(obj, "long", true, 6, &s, NULL, &e), 0);

	assert_bad_request(wire_get_string(obj, "service", true, 512, &s, NULL, err),
			   "service: missing");
	assert_bad_request(wire_get_string(obj, "nul", true, 512, &s, NULL, err), "nul: missing");
	assert_bad_request(wire_get_string(obj, "n", false, 512, &s, NULL, err),
			   "n: must be a string");
	assert_bad_request(wire_get_string(obj, "empty", false, 512, &s, NULL, err),
			   "empty: must not be empty");
	assert_bad_request(wire_get_string(obj, "long", false, 5, &s, NULL, err),
			   "long: longer than 5 bytes");
	json_decref(obj);
}

static void
test_get_int(void **state)
{
	(void) state;
	json_t *obj = s_json("{\"category\":3,\"real\":3.0,\"str\":\"3\",\"big\":6,\"neg\":-1,"
			     "\"t\":true}");
	int64_t n = 99;
	bool present = false;
	wire_error_t e;
	assert_int_equal(wire_get_int(obj, "category", true, 1, 5, &n, &present, &e), 0);
	assert_int_equal(n, 3);
	assert_true(present);
	n = 99;
	assert_int_equal(wire_get_int(obj, "limit", false, 1, 5, &n, &present, &e), 0);
	assert_false(present);
	assert_int_equal(n, 99);

	const char *msg_fmt = "%s: must be an integer from 1 to 5";
	char expected[64];
	static const char *const bad[] = { "real", "str", "big", "neg", "t" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(expected, sizeof expected, msg_fmt, bad[i]);
		assert_bad_request(wire_get_int(obj, bad[i], false, 1, 5, &n, NULL, err), expected);
	}
	/* A real is refused even where its value would be in range. */
	assert_bad_request(wire_get_int(obj, "real", false, 0, 5, &n, NULL, err),
			   "real: must be an integer from 0 to 5");
	assert_bad_request(wire_get_int(obj, "limit", true, 1, 5, &n, NULL, err), "limit: missing");
	assert_int_equal(n, 99);
	json_decref(obj);
}

static void
test_get_bool(void **state)
{
	(void) state;
	json_t *obj = s_json("{\"major\":true,\"off\":false,\"one\":1,\"s\":\"true\"}");
	bool b = false, present = false;
	wire_error_t e;
	assert_int_equal(wire_get_bool(obj, "major", true, &b, &present, &e), 0);
	assert_true(b);
	assert_true(present);
	assert_int_equal(wire_get_bool(obj, "off", true, &b, &present, &e), 0);
	assert_false(b);
	assert_int_equal(wire_get_bool(obj, "gone", false, &b, &present, &e), 0);
	assert_false(present);
	assert_bad_request(wire_get_bool(obj, "one", false, &b, NULL, err),
			   "one: must be true or false");
	assert_bad_request(wire_get_bool(obj, "s", false, &b, NULL, err), "s: must be true or false");
	assert_bad_request(wire_get_bool(obj, "gone", true, &b, NULL, err), "gone: missing");
	json_decref(obj);
}

static void
test_get_time(void **state)
{
	(void) state;
	json_t *obj = s_json("{\"at\":\"2021-01-12T04:14:00+01:00\",\"bad\":\"2021-02-30T00:00:00Z\","
			     "\"num\":1610421240000,\"long\":\"2021-01-12T03:14:00Z and then a "
			     "great deal more text that nobody needs to see again\"}");
	int64_t ms = 0;
	bool present = false;
	wire_error_t e;
	char buf[RFC3339_BUFSZ];
	assert_int_equal(wire_get_time(obj, "at", true, &ms, &present, &e), 0);
	assert_string_equal(rfc3339_format(ms, buf), "2021-01-12T03:14:00.000Z");
	assert_int_equal(wire_get_time(obj, "since", false, &ms, &present, &e), 0);
	assert_false(present);
	assert_bad_request(wire_get_time(obj, "bad", false, &ms, NULL, err),
			   "bad: not an RFC 3339 time (2021-02-30T00:00:00Z)");
	assert_bad_request(wire_get_time(obj, "num", false, &ms, NULL, err),
			   "num: must be an RFC 3339 time string");
	assert_bad_request(wire_get_time(obj, "long", false, &ms, NULL, err),
			   "long: not an RFC 3339 time (2021-01-12T03:14:00Z and then a great de...)");
	assert_bad_request(wire_get_time(obj, "since", true, &ms, NULL, err), "since: missing");
	json_decref(obj);
}

static void
test_get_id(void **state)
{
	(void) state;
	json_t *obj = s_json("{\"incident\":\"INC000000000042\",\"problem\":\"PBI000000000003\","
			     "\"short\":\"INC42\",\"num\":42}");
	uint64_t n = 0;
	bool present = false;
	wire_error_t e;
	assert_int_equal(wire_get_id(obj, "incident", true, ID_INCIDENT, &n, &present, &e), 0);
	assert_int_equal(n, 42);
	assert_int_equal(wire_get_id(obj, "problem", true, ID_PROBLEM, &n, &present, &e), 0);
	assert_int_equal(n, 3);
	assert_bad_request(wire_get_id(obj, "problem", true, ID_INCIDENT, &n, NULL, err),
			   "problem: not an incident id (INC + 12 digits)");
	assert_bad_request(wire_get_id(obj, "incident", true, ID_PROBLEM, &n, NULL, err),
			   "incident: not a problem id (PBI + 12 digits)");
	assert_bad_request(wire_get_id(obj, "short", true, ID_INCIDENT, &n, NULL, err),
			   "short: not an incident id (INC + 12 digits)");
	assert_bad_request(wire_get_id(obj, "num", true, ID_INCIDENT, &n, NULL, err),
			   "num: not an incident id (INC + 12 digits)");
	assert_bad_request(wire_get_id(obj, "other", true, ID_INCIDENT, &n, NULL, err),
			   "other: missing");
	json_decref(obj);
}

static void
test_event_decode_full(void **state)
{
	(void) state;
	json_t *req = s_json("{\"op\":\"event\",\"provider\":\"acme\",\"event_id\":\"e-1\","
			     "\"ref\":\"R-9\",\"stage\":\"detected\",\"at\":\"2021-01-12T03:14:00Z\","
			     "\"category\":2,\"title\":\"Disk full\",\"service\":\"mail\","
			     "\"description\":\"d\",\"major\":true,\"source\":\"monitoring\","
			     "\"future\":{\"x\":1}}");
	wire_event_t ev;
	wire_error_t err;
	assert_int_equal(wire_event_decode(req, &ev, &err), 0);
	assert_string_equal(ev.provider, "acme");
	assert_string_equal(ev.event_id, "e-1");
	assert_string_equal(ev.ref, "R-9");
	assert_string_equal(ev.stage, "detected");
	assert_true(ev.has_at);
	assert_int_equal(ev.at_ms, 18639LL * 86400000 + 3 * 3600000 + 14 * 60000);
	assert_int_equal(ev.category, 2);
	assert_string_equal(ev.title, "Disk full");
	assert_string_equal(ev.service, "mail");
	assert_string_equal(ev.description, "d");
	assert_true(ev.has_major);
	assert_true(ev.major);
	assert_int_equal(ev.source, SOURCE_MONITORING);
	json_decref(req);
}

static void
test_event_decode_minimal(void **state)
{
	(void) state;
	json_t *req = s_json("{\"op\":\"event\",\"provider\":\"acme\",\"event_id\":\"e-2\","
			     "\"ref\":\"R-9\",\"stage\":\"notified\",\"title\":null}");
	wire_event_t ev;
	memset(&ev, 0xAB, sizeof ev);
	wire_error_t err;
	assert_int_equal(wire_event_decode(req, &ev, &err), 0);
	assert_string_equal(ev.stage, "notified");
	assert_false(ev.has_at);
	assert_int_equal(ev.category, 0);
	assert_null(ev.title);
	assert_null(ev.service);
	assert_null(ev.description);
	assert_false(ev.has_major);
	assert_false(ev.major);
	assert_int_equal(ev.source, SOURCE_PROVIDER);
	json_decref(req);
}

/* Decodes a minimal valid event with one member replaced by member_json; expects message. */
static void
s_assert_event_error(const char *field, const char *member_json, const char *expected)
{
	json_t *req = s_json("{\"op\":\"event\",\"provider\":\"acme\",\"event_id\":\"e-1\","
			     "\"ref\":\"R-9\",\"stage\":\"detected\"}");
	if (member_json == NULL)
		json_object_del(req, field);
	else
		json_object_set_new(req, field, s_json(member_json));
	wire_event_t ev;
	wire_error_t err;
	memset(&err, 0, sizeof err);
	assert_int_equal(wire_event_decode(req, &ev, &err), -1);
	assert_int_equal(err.code, WIRE_BAD_REQUEST);
	assert_string_equal(err.message, expected);
	json_decref(req);
}

/* A JSON string of n copies of 'x'. */
static char *
s_long_string(size_t n)
{
	char *text = malloc(n + 3);
	text[0] = '"';
	memset(text + 1, 'x', n);
	strcpy(text + 1 + n, "\"");
	return text;
}

static void
test_event_decode_errors(void **state)
{
	(void) state;
	static const char *const required[] = { "provider", "event_id", "ref", "stage" };
	char expected[64];
	for (size_t i = 0; i < 4; i++) {
		snprintf(expected, sizeof expected, "%s: missing", required[i]);
		s_assert_event_error(required[i], NULL, expected);
		s_assert_event_error(required[i], "null", expected);
		snprintf(expected, sizeof expected, "%s: must be a string", required[i]);
		s_assert_event_error(required[i], "7", expected);
		snprintf(expected, sizeof expected, "%s: must not be empty", required[i]);
		s_assert_event_error(required[i], "\"\"", expected);
	}
	char *text = s_long_string(WIRE_PROVIDER_MAX + 1);
	s_assert_event_error("provider", text, "provider: longer than 64 bytes");
	free(text);
	text = s_long_string(WIRE_EVENT_ID_MAX + 1);
	s_assert_event_error("event_id", text, "event_id: longer than 128 bytes");
	free(text);
	text = s_long_string(WIRE_TITLE_MAX + 1);
	s_assert_event_error("title", text, "title: longer than 512 bytes");
	free(text);
	text = s_long_string(WIRE_DESCRIPTION_MAX + 1);
	s_assert_event_error("description", text, "description: longer than 8192 bytes");
	free(text);

	s_assert_event_error("at", "\"2021-02-30T00:00:00Z\"",
			     "at: not an RFC 3339 time (2021-02-30T00:00:00Z)");
	s_assert_event_error("category", "0", "category: must be an integer from 1 to 5");
	s_assert_event_error("category", "6", "category: must be an integer from 1 to 5");
	s_assert_event_error("category", "2.0", "category: must be an integer from 1 to 5");
	s_assert_event_error("category", "\"2\"", "category: must be an integer from 1 to 5");
	s_assert_event_error("title", "\"\"", "title: must not be empty");
	s_assert_event_error("title", "[]", "title: must be a string");
	s_assert_event_error("service", "1", "service: must be a string");
	s_assert_event_error("major", "\"yes\"", "major: must be true or false");
	s_assert_event_error("source", "\"robot\"",
			     "source: must be one of provider, monitoring, user, operator");
	s_assert_event_error("source", "\"\"",
			     "source: must be one of provider, monitoring, user, operator");
	s_assert_event_error("source", "1",
			     "source: must be one of provider, monitoring, user, operator");
}

static void
test_event_content(void **state)
{
	(void) state;
	json_t *a = s_json("{\"op\":\"event\",\"id\":1,\"provider\":\"acme\",\"event_id\":\"e\"}");
	json_t *b = s_json("{\"event_id\":\"e\",\"id\":\"retry\",\"provider\":\"acme\","
			   "\"op\":\"event\"}");
	json_t *c = s_json("{\"op\":\"event\",\"provider\":\"acme\",\"event_id\":\"e\","
			   "\"title\":\"x\"}");
	json_t *ca = wire_event_content(a), *cb = wire_event_content(b), *cc = wire_event_content(c);
	assert_true(json_equal(ca, cb));
	assert_false(json_equal(ca, cc));
	assert_null(json_object_get(ca, "op"));
	assert_null(json_object_get(ca, "id"));
	assert_int_equal(json_object_size(ca), 2);
	/* The request itself is left whole. */
	assert_non_null(json_object_get(a, "op"));
	assert_non_null(json_object_get(a, "id"));
	json_decref(ca);
	json_decref(cb);
	json_decref(cc);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void
test_list_decode_defaults(void **state)
{
	(void) state;
	json_t *req = s_json("{\"op\":\"list\"}");
	wire_list_t list;
	wire_error_t err;
	assert_int_equal(wire_list_decode(req, &list, &err), 0);
	assert_int_equal(list.status, LIST_OPEN);
	assert_null(list.provider);
	assert_int_equal(list.category, 0);
	assert_int_equal(list.major, -1);
	assert_int_equal(list.breached, -1);
	assert_int_equal(list.problem, 0);
	assert_int_equal(list.limit, 100);
	assert_int_equal(list.cursor, 0);
	json_decref(req);
}

static void
test_list_decode_all_fields(void **state)
{
	(void) state;
	char cursor[WIRE_CURSOR_BUFSZ];
	wire_cursor_format(12345, cursor);
	char text[256];
	snprintf(text, sizeof text,
		 "{\"op\":\"list\",\"status\":\"all\",\"provider\":\"acme\",\"category\":4,"
		 "\"major\":false,\"breached\":true,\"problem\":\"PBI000000000002\",\"limit\":1000,"
		 "\"cursor\":\"%s\"}",
		 cursor);
	json_t *req = s_json(text);
	wire_list_t list;
	wire_error_t err;
	assert_int_equal(wire_list_decode(req, &list, &err), 0);
	assert_int_equal(list.status, LIST_ALL);
	assert_string_equal(list.provider, "acme");
	assert_int_equal(list.category, 4);
	assert_int_equal(list.major, 0);
	assert_int_equal(list.breached, 1);
	assert_int_equal(list.problem, 2);
	assert_int_equal(list.limit, 1000);
	assert_int_equal(list.cursor, 12345);
	json_decref(req);

	static const char *const statuses[] = { "open", "resolved", "closed", "all" };
	for (int i = 0; i < 4; i++) {
		req = json_pack("{s:s}", "status", statuses[i]);
		assert_int_equal(wire_list_decode(req, &list, &err), 0);
		assert_int_equal(list.status, i);
		json_decref(req);
	}
}

static void
s_assert_list_error(const char *text, const char *expected)
{
	json_t *req = s_json(text);
	wire_list_t list;
	wire_error_t err;
	memset(&err, 0, sizeof err);
	assert_int_equal(wire_list_decode(req, &list, &err), -1);
	assert_int_equal(err.code, WIRE_BAD_REQUEST);
	assert_string_equal(err.message, expected);
	json_decref(req);
}

static void
test_list_decode_errors(void **state)
{
	(void) state;
	s_assert_list_error("{\"status\":\"pending\"}",
			    "status: must be one of open, resolved, closed, all");
	s_assert_list_error("{\"status\":1}", "status: must be one of open, resolved, closed, all");
	s_assert_list_error("{\"provider\":\"\"}", "provider: must not be empty");
	s_assert_list_error("{\"category\":9}", "category: must be an integer from 1 to 5");
	s_assert_list_error("{\"major\":\"true\"}", "major: must be true or false");
	s_assert_list_error("{\"breached\":0}", "breached: must be true or false");
	s_assert_list_error("{\"problem\":\"INC000000000001\"}",
			    "problem: not a problem id (PBI + 12 digits)");
	s_assert_list_error("{\"limit\":0}", "limit: must be an integer from 1 to 1000");
	s_assert_list_error("{\"limit\":1001}", "limit: must be an integer from 1 to 1000");
	s_assert_list_error("{\"limit\":\"10\"}", "limit: must be an integer from 1 to 1000");
	static const char *const bad_cursors[] = { "\"\"", "\"c\"", "\"x10\"", "\"c0\"", "\"c01\"",
						   "\"cA\"", "\"c1-\"", "\"c zz\"", "10",
						   "\"czzzzzzzzzzzzzz\"" };
	char text[64];
	for (size_t i = 0; i < sizeof bad_cursors / sizeof bad_cursors[0]; i++) {
		snprintf(text, sizeof text, "{\"cursor\":%s}", bad_cursors[i]);
		s_assert_list_error(text, "cursor: not a cursor from a previous list");
	}
}

static void
test_cursor_round_trip(void **state)
{
	(void) state;
	static const uint64_t ids[] = { 1, 35, 36, 1000, 123456789, ID_MAX };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char cursor[WIRE_CURSOR_BUFSZ];
		wire_cursor_format(ids[i], cursor);
		/* Opaque: it must not read as an incident id. */
		uint64_t n;
		assert_int_not_equal(id_parse(ID_INCIDENT, cursor, &n), 0);
		json_t *req = json_pack("{s:s}", "cursor", cursor);
		wire_list_t list;
		wire_error_t err;
		assert_int_equal(wire_list_decode(req, &list, &err), 0);
		assert_int_equal(list.cursor, ids[i]);
		json_decref(req);
	}
}

static void
test_list_sort(void **state)
{
	(void) state;
	wire_list_t list;
	wire_error_t err;
	json_t *req = s_json("{\"sort\":\"newest\"}");
	assert_int_equal(wire_list_decode(req, &list, &err), 0);
	assert_int_equal(list.sort, LIST_NEWEST);
	json_decref(req);
	req = s_json("{}");
	assert_int_equal(wire_list_decode(req, &list, &err), 0);
	assert_int_equal(list.sort, LIST_NEWEST);
	json_decref(req);
	req = s_json("{\"sort\":\"oldest\",\"limit\":7}");
	assert_int_equal(wire_list_decode(req, &list, &err), 0);
	assert_int_equal(list.sort, LIST_OLDEST);
	assert_int_equal(list.limit, 7);
	assert_int_equal(list.cursor, 0);
	json_decref(req);
	s_assert_list_error("{\"sort\":\"age\"}", "sort: must be one of newest, oldest");
	s_assert_list_error("{\"sort\":true}", "sort: must be one of newest, oldest");
	s_assert_list_error("{\"sort\":\"oldest\",\"limit\":0}",
			    "limit: must be an integer from 1 to 1000");
}

static void
test_cursor_opened_round_trip(void **state)
{
	(void) state;
	static const struct {
		int64_t at;
		uint64_t id;
	} marks[] = { { 0, 1 }, { 1610421240000, 42 }, { 253402300799999, ID_MAX },
		      { -1, 7 }, { INT64_MAX, 1 }, { INT64_MIN, 2 } };
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
		char cursor[WIRE_CURSOR_BUFSZ];
		wire_cursor_format_opened(marks[i].at, marks[i].id, cursor);
		assert_true(strlen(cursor) < WIRE_CURSOR_BUFSZ);
		json_t *req = json_pack("{s:s, s:s}", "sort", "oldest", "cursor", cursor);
		wire_list_t list;
		wire_error_t err;
		assert_int_equal(wire_list_decode(req, &list, &err), 0);
		assert_int_equal(list.cursor_at, marks[i].at);
		assert_int_equal(list.cursor, marks[i].id);
		json_decref(req);
		/* A cursor continues the order it was made in, and no other. */
		req = json_pack("{s:s}", "cursor", cursor);
		assert_int_equal(wire_list_decode(req, &list, &err), -1);
		assert_string_equal(err.message, "cursor: not a cursor from a previous list");
		json_decref(req);
	}
	char newest[WIRE_CURSOR_BUFSZ];
	wire_cursor_format(5, newest);
	json_t *req = json_pack("{s:s, s:s}", "sort", "oldest", "cursor", newest);
	wire_list_t list;
	wire_error_t err;
	assert_int_equal(wire_list_decode(req, &list, &err), -1);
	assert_string_equal(err.message,
			    "cursor: not a cursor from a previous list sorted oldest first");
	json_decref(req);
	static const char *const bad[] = { "o", "o.", "o1.", "o.1", "o01.1", "o1.0", "o1.1.",
					   "o1-1", "o1.czzzzzzzz", "ozzzzzzzzzzzzzz.1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		req = json_pack("{s:s, s:s}", "sort", "oldest", "cursor", bad[i]);
		assert_int_equal(wire_list_decode(req, &list, &err), -1);
		assert_int_equal(err.code, WIRE_BAD_REQUEST);
		json_decref(req);
	}
}

static void
test_get_status(void **state)
{
	(void) state;
	wire_list_status_t status = LIST_ALL;
	wire_error_t err;
	json_t *req = s_json("{\"status\":\"resolved\"}");
	assert_int_equal(wire_get_status(req, "status", &status, &err), 0);
	assert_int_equal(status, LIST_RESOLVED);
	assert_int_equal(wire_get_status(req, "other", &status, &err), 0);
	assert_int_equal(status, LIST_RESOLVED);
	json_decref(req);
	req = s_json("{\"status\":\"running\"}");
	assert_int_equal(wire_get_status(req, "status", &status, &err), -1);
	assert_string_equal(err.message, "status: must be one of open, resolved, closed, all");
	json_decref(req);
}

static void
test_set_time_and_id(void **state)
{
	(void) state;
	json_t *obj = json_object();
	assert_int_equal(wire_set_time(obj, "at", 18639LL * 86400000 + 3 * 3600000 + 14 * 60000), 0);
	assert_int_equal(wire_set_id(obj, "incident", ID_INCIDENT, 42), 0);
	assert_int_equal(wire_set_id(obj, "problem", ID_PROBLEM, 0), 0);
	assert_int_equal(wire_set_id(obj, "other", ID_PROBLEM, 5), 0);
	char *text = wire_reply_ok(obj, NULL, NULL);
	assert_string_equal(text, "{\"ok\":true,\"at\":\"2021-01-12T03:14:00.000Z\","
				  "\"incident\":\"INC000000000042\",\"problem\":null,"
				  "\"other\":\"PBI000000000005\"}");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_names),
		cmocka_unit_test(test_request_decode_ok),
		cmocka_unit_test(test_request_decode_errors),
		cmocka_unit_test(test_request_error_echoes_id),
		cmocka_unit_test(test_reply_ok),
		cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_error_set_truncates_to_valid_utf8),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_get_int),
		cmocka_unit_test(test_get_bool),
		cmocka_unit_test(test_get_time),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_event_decode_full),
		cmocka_unit_test(test_event_decode_minimal),
		cmocka_unit_test(test_event_decode_errors),
		cmocka_unit_test(test_event_content),
		cmocka_unit_test(test_list_decode_defaults),
		cmocka_unit_test(test_list_decode_all_fields),
		cmocka_unit_test(test_list_decode_errors),
		cmocka_unit_test(test_cursor_round_trip),
		cmocka_unit_test(test_list_sort),
		cmocka_unit_test(test_cursor_opened_round_trip),
		cmocka_unit_test(test_get_status),
		cmocka_unit_test(test_set_time_and_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
