/*
 * checks: cmocka assertions on daemon replies that print what was received when they fail,
 * and the setup/teardown shared by the integration test binaries.
 */
#ifndef INCIDENTD_TESTS_INTEGRATION_CHECKS_H
#define INCIDENTD_TESTS_INTEGRATION_CHECKS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

/* Fails the test, printing the JSON value v after the message. */
static inline void check_fail_(const char *file, int line, const json_t *v, const char *what)
{
	char *text = h_dump(v);
	print_error("%s:%d: %s\n    got: %s\n", file, line, what, text);
	free(text);
	_fail(file, line);
}

/* The reply exists and is {"ok": true, ...}. */
#define CHECK_OK(r) check_ok_((r), __FILE__, __LINE__)
static inline void check_ok_(const json_t *r, const char *file, int line)
{
	if (r == NULL || !h_is_ok(r))
		check_fail_(file, line, r, "expected an ok reply");
}

/*
 * The reply is {"ok": false, "error": {"code": code, "message": M}} with a non-empty M that
 * contains mention (when mention is not NULL).
 */
#define CHECK_ERROR(r, code, mention) check_error_((r), (code), (mention), __FILE__, __LINE__)
static inline void check_error_(const json_t *r, const char *code, const char *mention,
				const char *file, int line)
{
	char what[256];
	snprintf(what, sizeof what, "expected error %s%s%s%s", code,
		 mention != NULL ? " whose message mentions \"" : "", mention != NULL ? mention : "",
		 mention != NULL ? "\"" : "");
	if (r == NULL || !json_is_false(json_object_get(r, "ok")))
		check_fail_(file, line, r, what);
	const char *c = h_error_code(r), *m = h_error_message(r);
	if (c == NULL || strcmp(c, code) != 0 || m == NULL || m[0] == '\0')
		check_fail_(file, line, r, what);
	if (mention != NULL && strstr(m, mention) == NULL)
		check_fail_(file, line, r, what);
}

/* obj[key] is the string expected. */
#define CHECK_STR(obj, key, expected) check_str_((obj), (key), (expected), __FILE__, __LINE__)
static inline void check_str_(const json_t *obj, const char *key, const char *expected,
			      const char *file, int line)
{
	const char *v = json_string_value(json_object_get(obj, key));
	if (v == NULL || strcmp(v, expected) != 0) {
		char what[256];
		snprintf(what, sizeof what, "expected \"%s\": \"%s\"", key, expected);
		check_fail_(file, line, obj, what);
	}
}

/* obj[key] is the integer expected. */
#define CHECK_INT(obj, key, expected) check_int_((obj), (key), (expected), __FILE__, __LINE__)
static inline void check_int_(const json_t *obj, const char *key, long long expected,
			      const char *file, int line)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) != expected) {
		char what[256];
		snprintf(what, sizeof what, "expected \"%s\": %lld", key, expected);
		check_fail_(file, line, obj, what);
	}
}

/* obj[key] is JSON true / false / null. */
#define CHECK_TRUE(obj, key) check_kind_((obj), (key), JSON_TRUE, __FILE__, __LINE__)
#define CHECK_FALSE(obj, key) check_kind_((obj), (key), JSON_FALSE, __FILE__, __LINE__)
#define CHECK_NULL(obj, key) check_kind_((obj), (key), JSON_NULL, __FILE__, __LINE__)
#define CHECK_ARRAY(obj, key) check_kind_((obj), (key), JSON_ARRAY, __FILE__, __LINE__)
#define CHECK_OBJECT(obj, key) check_kind_((obj), (key), JSON_OBJECT, __FILE__, __LINE__)
static inline void check_kind_(const json_t *obj, const char *key, json_type type,
			       const char *file, int line)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_typeof(v) != type) {
		static const char *const names[] = {"an object", "an array", "a string",
						    "an integer", "a real", "true",
						    "false", "null"};
		char what[256];
		snprintf(what, sizeof what, "expected \"%s\" to be %s", key, names[type]);
		check_fail_(file, line, obj, what);
	}
}

/* Sends the event (stolen) and returns the reply; fails the test when there is none. */
#define PUSH(d, ev) push_((d), (ev), __FILE__, __LINE__)
static inline json_t *push_(h_daemon_t *d, json_t *ev, const char *file, int line)
{
	json_t *r = h_request(d, ev);
	if (r == NULL)
		check_fail_(file, line, ev, "no reply to the request");
	json_decref(ev);
	return r;
}

/* Pushes an event and expects ok; returns the incident id (static buffer per call site). */
#define PUSH_OK(d, ev, id_out) push_ok_((d), (ev), (id_out), __FILE__, __LINE__)
static inline void push_ok_(h_daemon_t *d, json_t *ev, char id_out[32], const char *file,
			    int line)
{
	json_t *r = push_(d, ev, file, line);
	check_ok_(r, file, line);
	const char *inc = json_string_value(json_object_get(r, "incident"));
	if (inc == NULL)
		check_fail_(file, line, r, "expected \"incident\" in the event reply");
	if (id_out != NULL)
		snprintf(id_out, 32, "%s", inc);
	json_decref(r);
}

/* The "incident" record of a get reply (new reference); fails unless the get succeeds. */
#define GET_INCIDENT(d, id) get_incident_((d), (id), __FILE__, __LINE__)
static inline json_t *get_incident_(h_daemon_t *d, const char *id, const char *file, int line)
{
	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "get", "incident", id);
	check_ok_(r, file, line);
	json_t *inc = json_object_get(r, "incident");
	if (!json_is_object(inc))
		check_fail_(file, line, r, "expected \"incident\": {...} in the get reply");
	json_incref(inc);
	json_decref(r);
	return inc;
}

/* A status count that must exist. */
#define STATUS_COUNT(d, name) status_count_((d), (name), __FILE__, __LINE__)
static inline long long status_count_(h_daemon_t *d, const char *name, const char *file,
				      int line)
{
	long long n = h_status_count(d, name);
	if (n < 0) {
		print_error("%s:%d: status has no count \"%s\"\n", file, line, name);
		_fail(file, line);
	}
	return n;
}

/*
 * Starts a fresh daemon, on config_text (passed with -c) or on the built-in defaults when it is
 * NULL, into *state. For setup functions.
 */
static inline int setup_daemon_with(void **state, const char *config_text)
{
	h_daemon_t *d = h_new(config_text);
	if (d == NULL)
		return -1;
	if (h_start(d) < 0) {
		d->passed = true; /* h_start() printed the log already */
		h_destroy(&d);
		return -1;
	}
	*state = d;
	return 0;
}

/* Per-test fixture: a fresh daemon on defaults (flags only). */
static inline int setup_daemon(void **state)
{
	return setup_daemon_with(state, NULL);
}

static inline int teardown_daemon(void **state)
{
	h_daemon_t *d = *state;
	h_destroy(&d);
	*state = NULL;
	return 0;
}

#define DAEMON_TEST(f) cmocka_unit_test_setup_teardown(f, setup_daemon, teardown_daemon)

/* Formats ms as the daemon answers times: "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static inline void utc_ms_format(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* Formats ms in a +01:00 offset with whole seconds: "YYYY-MM-DDTHH:MM:SS+01:00". */
static inline void plus_one_format(int64_t ms, char out[40])
{
	time_t t = (time_t)(ms / 1000) + 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S+01:00", &tm);
}

/* Runs incidentctl -e API ARGS... (stdin_text on its stdin, or none) with a 10 s bound. */
#define CTL_IN(d, r, stdin_text, ...)                                                      \
	do {                                                                               \
		char *argv_[] = {(char *)INCIDENTCTL_BIN, (char *)"-e", (d)->api,          \
				 __VA_ARGS__, NULL};                                       \
		assert_int_equal(h_run((d)->dir, argv_, (stdin_text), 10000, (r)), 0);    \
	} while (0)
#define CTL(d, r, ...) CTL_IN(d, r, NULL, __VA_ARGS__)

/* The command run into r exited with status expected (else its output is printed). */
#define CHECK_EXIT(r, expected)                                                            \
	do {                                                                               \
		if ((r)->status != (expected)) {                                           \
			print_error("exit status %d, expected %d\nstdout: %s\nstderr: %s\n", \
				    (r)->status, (expected), (r)->out, (r)->err);         \
			fail();                                                            \
		}                                                                          \
	} while (0)

/* hay contains needle; what names hay in the failure message. */
static inline void expect_in(const char *hay, const char *needle, const char *what)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("%s should contain \"%s\"; it is:\n%s", what, needle, hay);
}

#endif
