/*
 * Tests of daemon/core/http_body.c: POST /v1/events bodies and Alertmanager webhook payloads
 * (version 4) as event objects, and what each refuses, naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/core/config.h"
#include "daemon/core/http_body.h"
#include "proto/wire.h"

static config_t *s_cfg;

static int s_setup(void **state)
{
	(void)state;
	config_diag_t diag = { 0 };
	s_cfg = config_parse("[http]\nlisten = 127.0.0.1:7480\nseverity.critical = 1\n",
			     "test.conf", NULL, &diag);
	config_diag_release(&diag);
	return s_cfg ? 0 : -1;
}

static int s_teardown(void **state)
{
	(void)state;
	config_destroy(&s_cfg);
	return 0;
}

/* Decodes text as an Alertmanager payload; returns rc, the events in *out. */
static int s_alertmanager(const char *text, http_body_t *out, wire_error_t *err)
{
	json_t *doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	int rc = http_body_alertmanager(doc, s_cfg, out, err);
	json_decref(doc);
	return rc;
}

static int s_events(const char *text, http_body_t *out, wire_error_t *err)
{
	json_t *doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	int rc = http_body_events(doc, out, err);
	json_decref(doc);
	return rc;
}

/* The op's own validation accepts event once a provider is added. */
static void s_assert_op_accepts(const json_t *event)
{
	json_t *req = json_deep_copy(event);
	json_object_set_new(req, "op", json_string("event"));
	json_object_set_new(req, "provider", json_string("csp-north"));
	wire_event_t ev;
	wire_error_t err = { 0 };
	if (wire_event_decode(req, &ev, &err) < 0)
		fail_msg("the event op refuses it: %s", err.message);
	json_decref(req);
}

#define ALERT(status, fp, summary, starts, ends) \
	"{\"status\":\"" status "\",\"fingerprint\":\"" fp "\",\"labels\":{\"alertname\":" \
	"\"DiskFull\",\"severity\":\"critical\",\"service\":\"core\"},\"annotations\":" \
	"{\"summary\":\"" summary "\"},\"startsAt\":\"" starts "\",\"endsAt\":\"" ends "\"}"

static void test_alertmanager_mapping(void **state)
{
	(void)state;
	http_body_t b;
	wire_error_t err;
	assert_int_equal(s_alertmanager("{\"version\":\"4\",\"alerts\":["
					ALERT("firing", "aa01", "Disk full", "2026-01-02T03:04:05.123456789Z",
					      "0001-01-01T00:00:00Z") ","
					ALERT("resolved", "aa02", "", "2026-01-02T03:00:00Z",
					      "2026-01-02T04:00:00+01:00") "]}", &b, &err), 0);
	assert_true(b.batch);
	assert_int_equal(b.n, 2);
	json_t *e = b.events[0];
	assert_string_equal(json_string_value(json_object_get(e, "event_id")),
			    "am:aa01:firing:2026-01-02T03:04:05.123Z");
	assert_string_equal(json_string_value(json_object_get(e, "ref")), "aa01");
	assert_string_equal(json_string_value(json_object_get(e, "stage")), "detected");
	assert_string_equal(json_string_value(json_object_get(e, "at")), "2026-01-02T03:04:05.123Z");
	assert_string_equal(json_string_value(json_object_get(e, "source")), "monitoring");
	assert_string_equal(json_string_value(json_object_get(e, "title")), "Disk full");
	assert_string_equal(json_string_value(json_object_get(e, "service")), "core");
	assert_int_equal(json_integer_value(json_object_get(e, "category")), 1);
	assert_null(json_object_get(e, "provider"));
	e = b.events[1];
	assert_string_equal(json_string_value(json_object_get(e, "event_id")),
			    "am:aa02:resolved:2026-01-02T03:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(e, "stage")), "resolved");
	assert_string_equal(json_string_value(json_object_get(e, "title")), "DiskFull");
	for (size_t i = 0; i < b.n; i++)
		s_assert_op_accepts(b.events[i]);
	http_body_release(&b);
	assert_int_equal(b.n, 0);
}

/* Regression (fuzz_http): a summary over the op's 512-byte title limit made an event the op
 * refused, and Alertmanager does not retry a 400, so the incident never opened. The title is
 * now cut on a character boundary. */
static void test_alertmanager_long_summary(void **state)
{
	(void)state;
	char summary[700], payload[2048];
	memset(summary, 'x', 511);
	strcpy(summary + 511, "\xc3\xa9"); /* a two-byte character across the limit */
	memset(summary + 513, 'y', 100);
	summary[613] = '\0';
	snprintf(payload, sizeof payload,
		 "{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"fingerprint\":\"ff01\","
		 "\"annotations\":{\"summary\":\"%s\"},\"startsAt\":\"2026-01-02T03:00:00Z\"}]}",
		 summary);
	http_body_t b;
	wire_error_t err;
	assert_int_equal(s_alertmanager(payload, &b, &err), 0);
	const char *title = json_string_value(json_object_get(b.events[0], "title"));
	assert_int_equal(strlen(title), 511);
	assert_memory_equal(title, summary, 511);
	s_assert_op_accepts(b.events[0]);
	http_body_release(&b);
}

/* The same payload twice: the same event_ids, so that a repeated delivery is a duplicate. */
static void test_alertmanager_repeat(void **state)
{
	(void)state;
	const char *p = "{\"version\":\"4\",\"alerts\":[" ALERT("firing", "aa01", "s",
		"2026-01-02T03:04:05.1+02:00", "0001-01-01T00:00:00Z") "]}";
	http_body_t a, b;
	wire_error_t err;
	assert_int_equal(s_alertmanager(p, &a, &err), 0);
	assert_int_equal(s_alertmanager(p, &b, &err), 0);
	assert_true(json_equal(a.events[0], b.events[0]));
	http_body_release(&a);
	http_body_release(&b);
}

/* Each refusal is bad_request and its message starts with the field. */
static void test_alertmanager_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *payload;
		const char *message_start;
	} cases[] = {
		{ "[]", "request:" },
		{ "{\"version\":\"3\",\"alerts\":[]}", "version:" },
		{ "{\"version\":\"4\",\"alerts\":[]}", "alerts:" },
		{ "{\"version\":\"4\",\"alerts\":[" ALERT("pending", "a", "s", "2026-01-02T03:00:00Z",
			"0001-01-01T00:00:00Z") "]}", "alerts[0].status:" },
		{ "{\"version\":\"4\",\"alerts\":[" ALERT("firing", "", "s", "2026-01-02T03:00:00Z",
			"0001-01-01T00:00:00Z") "]}", "alerts[0].fingerprint:" },
		{ "{\"version\":\"4\",\"alerts\":[" ALERT("firing", "a", "s", "2026-01-02T03:00:00Z",
			"x") "," ALERT("resolved", "b", "s", "2026-01-02T03:00:00Z", "soon") "]}",
		  "alerts[1].endsAt:" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		http_body_t b;
		wire_error_t err = { 0 };
		assert_int_equal(s_alertmanager(cases[i].payload, &b, &err), -1);
		assert_int_equal(err.code, WIRE_BAD_REQUEST);
		if (strncmp(err.message, cases[i].message_start, strlen(cases[i].message_start)) != 0)
			fail_msg("case %zu: \"%s\" does not start with %s", i, err.message,
				 cases[i].message_start);
		assert_int_equal(b.n, 0);
		assert_null(b.events);
	}
}

static void test_events(void **state)
{
	(void)state;
	http_body_t b;
	wire_error_t err;
	assert_int_equal(s_events("{\"event_id\":\"e\",\"events\":1}", &b, &err), 0);
	assert_false(b.batch);
	assert_int_equal(b.n, 1);
	http_body_release(&b);
	assert_int_equal(s_events("{\"events\":[{\"event_id\":\"a\"},{\"event_id\":\"b\"}]}", &b,
				  &err), 0);
	assert_true(b.batch);
	assert_int_equal(b.n, 2);
	assert_string_equal(json_string_value(json_object_get(b.events[1], "event_id")), "b");
	http_body_release(&b);
	static const struct {
		const char *body;
		const char *message_start;
	} refused[] = {
		{ "[1]", "request:" },
		{ "{\"events\":[]}", "events:" },
		{ "{\"events\":[{},2]}", "events[1]:" },
		{ "{\"events\":[{\"op\":\"event\"}]}", "events[0].op:" },
		{ "{\"op\":\"event\",\"event_id\":\"e\"}", "op:" },
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		assert_int_equal(s_events(refused[i].body, &b, &err), -1);
		assert_int_equal(err.code, WIRE_BAD_REQUEST);
		assert_int_equal(strncmp(err.message, refused[i].message_start,
					 strlen(refused[i].message_start)), 0);
		assert_int_equal(b.n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alertmanager_mapping),
		cmocka_unit_test(test_alertmanager_long_summary),
		cmocka_unit_test(test_alertmanager_repeat),
		cmocka_unit_test(test_alertmanager_refusals),
		cmocka_unit_test(test_events),
	};
	return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
