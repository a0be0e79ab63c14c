/*
 * Tests of proto/wire_scan.c: requests the scanner must accept (with their values), requests
 * it must decline, and a differential check against the jansson path on those and on 20,000
 * deterministic mutants of valid requests. The one rule: whenever the scanner accepts, jansson
 * accepts too and yields the same values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/wire.h"
#include "proto/wire_scan.h"

/* One scan, on exact-size heap copies so that AddressSanitizer sees any access out of bounds. */
typedef struct {
	char *frame;   /* the request, exactly len bytes, no NUL after it */
	char *strings; /* len + WIRE_SCAN_SLACK bytes */
	wire_event_t ev;
	const char *id;
	size_t id_len;
	int rc;
} s_scan_t;

/* Runs wire_event_scan() on a private copy of buf; s_scan_free() releases it. */
static void
s_scan_run(const char *buf, size_t len, s_scan_t *sc)
{
	sc->frame = malloc(len > 0 ? len : 1);
	sc->strings = malloc(len + WIRE_SCAN_SLACK);
	assert_non_null(sc->frame);
	assert_non_null(sc->strings);
	memcpy(sc->frame, buf, len);
	sc->rc = wire_event_scan(sc->frame, len, sc->strings, &sc->ev, &sc->id, &sc->id_len);
	assert_true(sc->rc == 0 || sc->rc == 1);
}

static void
s_scan_free(s_scan_t *sc)
{
	free(sc->frame);
	free(sc->strings);
}

/* Prints buf with non-printable bytes escaped, for failure messages. */
static const char *
s_show(const char *buf, size_t len)
{
	static char text[4096];
	size_t n = 0;
	for (size_t i = 0; i < len && n + 5 < sizeof text; i++) {
		unsigned char c = (unsigned char) buf[i];
		if (c >= 0x20 && c < 0x7F)
			text[n++] = (char) c;
		else
			n += (size_t) snprintf(text + n, sizeof text - n, "\\x%02x", c);
	}
	text[n] = '\0';
	return text;
}

/* The same optional string on both sides: both NULL, or both equal text. */
static void
s_assert_same_text(const char *scan, const char *jansson, const char *field, const char *buf,
		   size_t len)
{
	if ((scan == NULL) != (jansson == NULL) || (scan != NULL && strcmp(scan, jansson) != 0))
		fail_msg("%s differs (scan \"%s\", jansson \"%s\") for: %s", field,
			 scan ? scan : "(null)", jansson ? jansson : "(null)", s_show(buf, len));
}

/* Every field of the two events is equal. */
static void
s_assert_same_event(const wire_event_t *a, const wire_event_t *b, const char *buf, size_t len)
{
	s_assert_same_text(a->provider, b->provider, "provider", buf, len);
	s_assert_same_text(a->event_id, b->event_id, "event_id", buf, len);
	s_assert_same_text(a->ref, b->ref, "ref", buf, len);
	s_assert_same_text(a->stage, b->stage, "stage", buf, len);
	s_assert_same_text(a->title, b->title, "title", buf, len);
	s_assert_same_text(a->service, b->service, "service", buf, len);
	s_assert_same_text(a->description, b->description, "description", buf, len);
	if (a->has_at != b->has_at || a->at_ms != b->at_ms || a->category != b->category
	    || a->has_major != b->has_major || a->major != b->major || a->source != b->source)
		fail_msg("scalar fields differ for: %s", s_show(buf, len));
}

/* The scanner's raw id text reads back as jansson's id and prints back as the same bytes. */
static void
s_assert_same_id(const s_scan_t *sc, const json_t *req, const char *buf, size_t len)
{
	json_t *id = json_object_get(req, "id");
	if ((sc->id == NULL) != (id == NULL) || (sc->id == NULL) != (sc->id_len == 0))
		fail_msg("id presence differs for: %s", s_show(buf, len));
	if (id == NULL)
		return;
	json_error_t jerr;
	json_t *parsed = json_loadb(sc->id, sc->id_len, JSON_DECODE_ANY, &jerr);
	if (parsed == NULL || !json_equal(parsed, id))
		fail_msg("id text does not read back as the id for: %s", s_show(buf, len));
	char *dump = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(dump);
	if (strlen(dump) != sc->id_len || memcmp(dump, sc->id, sc->id_len) != 0)
		fail_msg("id prints as %s, scanned %.*s, for: %s", dump, (int) sc->id_len, sc->id,
			 s_show(buf, len));
	free(dump);
	json_decref(parsed);
}

/*
 * Scans buf; when the scanner accepts, the jansson path must accept the same bytes and yield
 * the same values and id. Returns the scanner's answer.
 */
static int
s_check_agrees(const char *buf, size_t len)
{
	s_scan_t sc;
	s_scan_run(buf, len, &sc);
	if (sc.rc == 1) {
		json_t *req = NULL;
		const char *op = NULL;
		wire_event_t ev;
		wire_error_t err;
		if (wire_request_decode(sc.frame, len, &req, &op, NULL, &err) != 0)
			fail_msg("scanner accepts, jansson refuses (%s): %s", err.message,
				 s_show(buf, len));
		if (strcmp(op, "event") != 0 || wire_event_decode(req, &ev, &err) != 0)
			fail_msg("scanner accepts, event decode refuses: %s", s_show(buf, len));
		s_assert_same_event(&sc.ev, &ev, buf, len);
		s_assert_same_id(&sc, req, buf, len);
		json_decref(req);
	}
	s_scan_free(&sc);
	return sc.rc;
}

/* Whether the general path accepts text as an event (for documenting the declined table). */
static bool
s_jansson_accepts(const char *buf, size_t len)
{
	json_t *req = NULL;
	const char *op = NULL;
	wire_event_t ev;
	wire_error_t err;
	bool ok = wire_request_decode(buf, len, &req, &op, NULL, &err) == 0
		  && strcmp(op, "event") == 0 && wire_event_decode(req, &ev, &err) == 0;
	json_decref(req);
	return ok;
}

/* A request the scanner must accept, with every value it must yield. */
typedef struct {
	const char *text;
	const char *provider, *event_id, *ref, *stage;
	bool has_at;
	int64_t at_ms;
	int category;
	const char *title, *service, *description;
	bool has_major, major;
	wire_source_t source;
	const char *id; /* the raw id text, NULL for none */
} s_accept_case_t;

#define MIN_BODY "\"provider\":\"acme\",\"event_id\":\"e-1\",\"ref\":\"R-9\",\"stage\":\"detected\""

static const s_accept_case_t s_accept_cases[] = {
	{ .text = "{\"op\":\"event\"," MIN_BODY "}", .provider = "acme", .event_id = "e-1",
	  .ref = "R-9", .stage = "detected" },
	{ .text = "{\"op\":\"event\",\"id\":\"req-1\",\"provider\":\"pagerduty\","
		  "\"event_id\":\"PD-77\","
		  "\"ref\":\"INC-42\",\"stage\":\"resolved\",\"at\":\"2021-01-12T03:14:00Z\","
		  "\"category\":3,\"title\":\"DB down\",\"service\":\"db\","
		  "\"description\":\"primary lost\",\"major\":true,\"source\":\"monitoring\"}",
	  .provider = "pagerduty", .event_id = "PD-77", .ref = "INC-42", .stage = "resolved",
	  .has_at = true, .at_ms = 1610421240000, .category = 3, .title = "DB down",
	  .service = "db", .description = "primary lost", .has_major = true, .major = true,
	  .source = SOURCE_MONITORING, .id = "\"req-1\"" },
	{ .text = " \r\n\t{ \"op\" :\t\"event\" ,\n\"provider\"\r: \"a\" , \"event_id\" : \"b\" ,"
		  " \"ref\":\"c\",\"stage\":\"d\" , \"major\" : false , \"category\" : 5 ,"
		  " \"id\" : 17 } \n\t\r ",
	  .provider = "a", .event_id = "b", .ref = "c", .stage = "d", .category = 5,
	  .has_major = true, .major = false, .id = "17" },
	{ .text = "{\"op\":\"ev\\u0065nt\",\"provider\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\","
		  "\"event_id\":\"caf\\u00e9\",\"ref\":\"\\ud83d\\ude00\",\"stage\":\"\\u20AC\","
		  "\"source\":\"us\\u0065r\",\"id\":-42}",
	  .provider = "q\"\\/\b\f\n\r\t", .event_id = "caf\xc3\xa9", .ref = "\xf0\x9f\x98\x80",
	  .stage = "\xe2\x82\xac", .source = SOURCE_USER, .id = "-42" },
	{ .text = "{\"op\":\"event\"," MIN_BODY ","
		  "\"title\":\"Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5 \x7f\","
		  "\"id\":\"\xc3\xa9t\xc3\xa9\"}",
	  .provider = "acme", .event_id = "e-1", .ref = "R-9", .stage = "detected",
	  .title = "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5 \x7f",
	  .id = "\"\xc3\xa9t\xc3\xa9\"" },
	{ .text = "{\"id\":true,\"op\":\"event\"," MIN_BODY ",\"at\":null,\"category\":null,"
		  "\"title\":null,\"service\":null,\"description\":null,\"major\":null,"
		  "\"source\":null}",
	  .provider = "acme", .event_id = "e-1", .ref = "R-9", .stage = "detected", .id = "true" },
	{ .text = "{\"op\":\"event\"," MIN_BODY ",\"id\":null}", .provider = "acme",
	  .event_id = "e-1", .ref = "R-9", .stage = "detected", .id = "null" },
	{ .text = "{\"op\":\"event\"," MIN_BODY ",\"id\":false,\"source\":\"operator\"}",
	  .provider = "acme", .event_id = "e-1", .ref = "R-9", .stage = "detected",
	  .source = SOURCE_OPERATOR, .id = "false" },
	{ .text = "{\"op\":\"event\"," MIN_BODY ",\"at\":\"2021-01-12t04:14:00.5+01:00\","
		  "\"category\":1,\"source\":\"provider\",\"id\":0}",
	  .provider = "acme", .event_id = "e-1", .ref = "R-9", .stage = "detected", .has_at = true,
	  .at_ms = 1610421240500, .category = 1, .source = SOURCE_PROVIDER, .id = "0" },
	{ .text = "{\"op\":\"event\"," MIN_BODY ",\"at\":\"2024-02-29T23:59:59.999-05:30\","
		  "\"id\":-9223372036854775808}",
	  .provider = "acme", .event_id = "e-1", .ref = "R-9", .stage = "detected", .has_at = true,
	  .at_ms = 1709270999999, .id = "-9223372036854775808" },
	{ .text = "{\"op\":\"event\"," MIN_BODY ",\"id\":9223372036854775807}", .provider = "acme",
	  .event_id = "e-1", .ref = "R-9", .stage = "detected", .id = "9223372036854775807" },
};

/* Two optional strings are equal, NULL included. */
static void
s_assert_text(const char *actual, const char *expected, const char *field, const char *text)
{
	if ((actual == NULL) != (expected == NULL)
	    || (actual != NULL && strcmp(actual, expected) != 0))
		fail_msg("%s: got \"%s\", want \"%s\" for: %s", field, actual ? actual : "(null)",
			 expected ? expected : "(null)", text);
}

/* Checks every value the scanner yields for one accepted case. */
static void
s_assert_accept_case(const s_accept_case_t *c)
{
	s_scan_t sc;
	s_scan_run(c->text, strlen(c->text), &sc);
	if (sc.rc != 1)
		fail_msg("declined: %s", c->text);
	s_assert_text(sc.ev.provider, c->provider, "provider", c->text);
	s_assert_text(sc.ev.event_id, c->event_id, "event_id", c->text);
	s_assert_text(sc.ev.ref, c->ref, "ref", c->text);
	s_assert_text(sc.ev.stage, c->stage, "stage", c->text);
	s_assert_text(sc.ev.title, c->title, "title", c->text);
	s_assert_text(sc.ev.service, c->service, "service", c->text);
	s_assert_text(sc.ev.description, c->description, "description", c->text);
	assert_int_equal(sc.ev.has_at, c->has_at);
	assert_int_equal(sc.ev.at_ms, c->at_ms);
	assert_int_equal(sc.ev.category, c->category);
	assert_int_equal(sc.ev.has_major, c->has_major);
	assert_int_equal(sc.ev.major, c->major);
	assert_int_equal(sc.ev.source, c->source);
	if (c->id == NULL) {
		assert_null(sc.id);
		assert_int_equal(sc.id_len, 0);
	} else {
		assert_non_null(sc.id);
		if (sc.id_len != strlen(c->id) || memcmp(sc.id, c->id, sc.id_len) != 0)
			fail_msg("id: got %.*s, want %s", (int) sc.id_len, sc.id, c->id);
		/* The id is a span of the frame itself. */
		assert_true(sc.id >= sc.frame && sc.id + sc.id_len <= sc.frame + strlen(c->text));
	}
	s_scan_free(&sc);
}

static void
test_accepts(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof s_accept_cases / sizeof s_accept_cases[0]; i++) {
		const char *text = s_accept_cases[i].text;
		s_assert_accept_case(&s_accept_cases[i]);
		assert_int_equal(s_check_agrees(text, strlen(text)), 1);
	}
}

/* A request the scanner must decline, and whether the general path takes it (documentation). */
typedef struct {
	const char *text;
	bool jansson_accepts;
} s_decline_case_t;

#define EV "{\"op\":\"event\"," MIN_BODY

static const s_decline_case_t s_decline_cases[] = {
	/* Legal but unusual: the general path handles them. */
	{ EV ",\"extra\":1}", true },
	{ "{\"o\\u0070\":\"event\"," MIN_BODY "}", true },
	{ EV ",\"id\":1.5}", true },
	{ EV ",\"id\":{\"a\":1}}", true },
	{ EV ",\"id\":[1]}", true },
	{ EV ",\"id\":-0}", true },
	{ EV ",\"id\":1e3}", true },
	{ EV ",\"id\":\"a\\nb\"}", true },
	{ EV ",\"id\":\"a\x7f\"}", true },
	/* Refused by the general path. */
	{ EV ",\"op\":\"event\"}", false },
	{ EV ",\"title\":\"a\",\"title\":\"b\"}", false },
	{ "{\"op\":\"get\"," MIN_BODY "}", false },
	{ "{" MIN_BODY "}", false },
	{ "{\"op\":\"event\",\"event_id\":\"e-1\",\"ref\":\"R-9\",\"stage\":\"detected\"}", false },
	{ "{\"op\":\"event\",\"provider\":null,\"event_id\":\"e-1\",\"ref\":\"R-9\","
	  "\"stage\":\"detected\"}", false },
	{ "{\"op\":\"event\",\"provider\":\"\",\"event_id\":\"e-1\",\"ref\":\"R-9\","
	  "\"stage\":\"detected\"}", false },
	{ "{\"op\":\"event\",\"provider\":7,\"event_id\":\"e-1\",\"ref\":\"R-9\","
	  "\"stage\":\"detected\"}", false },
	{ EV ",\"title\":\"\"}", false },
	{ EV ",\"category\":0}", false },
	{ EV ",\"category\":6}", false },
	{ EV ",\"category\":3.0}", false },
	{ EV ",\"category\":\"3\"}", false },
	{ EV ",\"category\":03}", false },
	{ EV ",\"category\":3e0}", false },
	{ EV ",\"category\":-3}", false },
	{ EV ",\"major\":\"true\"}", false },
	{ EV ",\"major\":1}", false },
	{ EV ",\"at\":\"2021-02-30T00:00:00Z\"}", false },
	{ EV ",\"at\":\"\"}", false },
	{ EV ",\"at\":1610421240}", false },
	{ EV ",\"source\":\"robot\"}", false },
	{ EV ",\"source\":\"\"}", false },
	{ EV ",\"source\":1}", false },
	{ EV ",\"id\":99999999999999999999}", false },
	{ EV ",\"id\":9223372036854775808}", false },
	{ EV ",\"id\":-9223372036854775809}", false },
	{ EV ",\"id\":01}", false },
	{ EV "} x", false },
	{ EV "}}", false },
	{ EV "},", false },
	{ EV ",}", false },
	{ EV "}\v", false },
	{ EV "", false },
	{ EV ",\"title\":\"a\\u0000b\"}", false },
	{ EV ",\"title\":\"\\ud800\"}", false },
	{ EV ",\"title\":\"\\udc00\\ud800\"}", false },
	{ EV ",\"title\":\"\\ud800\\u0041\"}", false },
	{ EV ",\"title\":\"\\u12\"}", false },
	{ EV ",\"title\":\"\\x41\"}", false },
	{ EV ",\"title\":\"\xff\"}", false },
	{ EV ",\"title\":\"\xc0\xaf\"}", false },
	{ EV ",\"title\":\"\xc1\xbf\"}", false },
	{ EV ",\"title\":\"\xe0\x80\x80\"}", false },
	{ EV ",\"title\":\"\xf0\x80\x80\x80\"}", false },
	{ EV ",\"title\":\"\xf5\x80\x80\x80\"}", false },
	{ EV ",\"title\":\"\xf8\x90\x80\x80\"}", false },
	{ EV ",\"id\":\"\xf8\x90\x80\x80\"}", false },
	{ EV ",\"title\":\"\xed\xa0\x80\"}", false },
	{ EV ",\"title\":\"\xf4\x90\x80\x80\"}", false },
	{ EV ",\"title\":\"\xe2\x82\"}", false },
	{ EV ",\"title\":\"\x80\"}", false },
	{ EV ",\"title\":\"a\tb\"}", false },
	{ EV ",\"title\":\"a\nb\"}", false },
	{ EV ",\"title\":\"a\x01\"}", false },
	{ EV ",\"title\":[\"a\"]}", false },
	{ EV ",\"major\":truex}", false },
	{ EV ",\"major\":nul}", false },
	{ "[" EV "}]", false },
	{ "\"event\"", false },
	{ "42", false },
	{ "null", false },
	{ "", false },
	{ "   ", false },
	{ "{}", false },
};

static void
test_declines(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof s_decline_cases / sizeof s_decline_cases[0]; i++) {
		const s_decline_case_t *c = &s_decline_cases[i];
		size_t len = strlen(c->text);
		if (s_check_agrees(c->text, len) != 0)
			fail_msg("accepted: %s", s_show(c->text, len));
		if (s_jansson_accepts(c->text, len) != c->jansson_accepts)
			fail_msg("jansson path %s: %s", c->jansson_accepts ? "refuses" : "accepts",
				 s_show(c->text, len));
	}
	/* A raw NUL inside the frame, in a string and after the object. */
	static const char nul_in_string[] = EV ",\"title\":\"a\0b\"}";
	static const char nul_after[] = EV "}\0";
	assert_int_equal(s_check_agrees(nul_in_string, sizeof nul_in_string - 1), 0);
	assert_int_equal(s_check_agrees(nul_after, sizeof nul_after - 1), 0);
}

/* The valid event with member "field": value, value being n copies of unit. */
static char *
s_event_with(const char *field, const char *unit, size_t n, size_t *len_out)
{
	size_t unit_len = strlen(unit);
	size_t cap = strlen(EV) + strlen(field) + unit_len * n + 16;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t len = (size_t) snprintf(text, cap, EV ",\"%s\":\"", field);
	for (size_t i = 0; i < n; i++, len += unit_len)
		memcpy(text + len, unit, unit_len);
	memcpy(text + len, "\"}", 3);
	*len_out = len + 2;
	return text;
}

/* field holding max bytes is accepted, max + 1 declined; units count after unescaping. */
static void
s_assert_limit(const char *field, const char *unit, size_t unit_bytes, size_t max)
{
	size_t len;
	char *text = s_event_with(field, unit, max / unit_bytes, &len);
	if (s_check_agrees(text, len) != 1)
		fail_msg("%s of %zu bytes declined", field, max);
	free(text);
	text = s_event_with(field, unit, max / unit_bytes + 1, &len);
	if (s_check_agrees(text, len) != 0 || s_jansson_accepts(text, len))
		fail_msg("%s of %zu bytes accepted", field, max + unit_bytes);
	free(text);
}

static void
test_length_limits(void **state)
{
	(void) state;
	/* A duplicate member is declined, so each limit is tested on a fresh member. */
	static const struct {
		const char *field;
		size_t max;
	} limits[] = {
		{ "title", WIRE_TITLE_MAX },
		{ "service", WIRE_SERVICE_MAX },
		{ "description", WIRE_DESCRIPTION_MAX },
	};
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		s_assert_limit(limits[i].field, "x", 1, limits[i].max);
		s_assert_limit(limits[i].field, "\\u00e9", 2, limits[i].max);
		s_assert_limit(limits[i].field, "\xe2\x82\xac\xe2\x82\xac", 6, limits[i].max);
		s_assert_limit(limits[i].field, "\\ud83d\\ude00", 4, limits[i].max);
	}
	/* The required strings, built as whole requests. */
	static const struct {
		const char *field;
		size_t max;
	} required[] = {
		{ "provider", WIRE_PROVIDER_MAX },
		{ "event_id", WIRE_EVENT_ID_MAX },
		{ "ref", WIRE_REF_MAX },
		{ "stage", WIRE_STAGE_MAX },
	};
	char value[WIRE_EVENT_ID_MAX + 2], text[1024];
	for (size_t i = 0; i < 4; i++) {
		for (size_t n = required[i].max; n <= required[i].max + 1; n++) {
			memset(value, 'v', n);
			value[n] = '\0';
			int len = snprintf(text, sizeof text,
					   "{\"op\":\"event\",\"provider\":\"%s\","
					   "\"event_id\":\"%s\",\"ref\":\"%s\",\"stage\":\"%s\"}",
					   i == 0 ? value : "p", i == 1 ? value : "e",
					   i == 2 ? value : "r", i == 3 ? value : "s");
			assert_int_equal(s_check_agrees(text, (size_t) len),
					 n == required[i].max ? 1 : 0);
		}
	}
}

static void
test_truncated_prefixes(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof s_accept_cases / sizeof s_accept_cases[0]; i++) {
		const char *text = s_accept_cases[i].text;
		size_t len = strlen(text);
		/* Trailing whitespace may be cut and still leave a valid request. */
		size_t full = len;
		while (full > 0 && strchr(" \t\r\n", text[full - 1]) != NULL)
			full--;
		for (size_t n = 0; n < full; n++)
			if (s_check_agrees(text, n) != 0)
				fail_msg("prefix of %zu bytes accepted: %s", n, s_show(text, n));
		for (size_t n = full; n <= len; n++)
			assert_int_equal(s_check_agrees(text, n), 1);
	}
}

/* A fixed-seed xorshift64*: the mutation run is the same on every machine. */
static uint64_t
s_rand(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

static size_t
s_rand_below(uint64_t *state, size_t n)
{
	return (size_t) (s_rand(state) % n);
}

/* Bytes that matter to JSON, to the scanner's branches, and to UTF-8. */
static const char s_alphabet[] = "{}[]:,\"\\ \t\n\r0123456789-+.eEtrufalsn/bu"
				 "\x7f\x80\xbf\xc2\xc3\xa9\xe2\x82\xac\xed\xa0\xf0\xf4\x8f\xff";

/* Pieces whose insertion often keeps a request valid, or nearly so. */
static const char *const s_tokens[] = {
	"\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\udc00", "\\u0000", "\\n", "\\\"", "\\/",
	"\xc3\xa9", "\xf0\x9f\x94\xa5", "null", "true", "false", "-0", "1.5", "\"id\":",
	",\"title\":\"t\"", ",\"id\":7", ",\"category\":2", ",\"major\":false", ",\"at\":null",
	",\"source\":\"user\"", ",\"x\":1", " ", "\"", "9223372036854775808",
};

#define MUTANT_CAP 1024

/*
 * Half the time, moves pos just past the next quote at or after it: a token put there lands
 * at the start of a string's content, or right after a value, where a whole member fits.
 */
static size_t
s_snap_after_quote(uint64_t *rng, const char *buf, size_t len, size_t pos)
{
	if (s_rand_below(rng, 2) == 0)
		return pos;
	const char *quote = memchr(buf + pos, '"', len - pos);
	return quote != NULL ? (size_t) (quote - buf) + 1 : pos;
}

/* Applies one random edit to buf (length *len, capacity MUTANT_CAP). */
static void
s_mutate(uint64_t *rng, char *buf, size_t *len)
{
	size_t pos = s_rand_below(rng, *len + 1), n = *len;
	size_t span = 1 + s_rand_below(rng, 8);
	const char *piece = NULL;
	char byte;
	/* Tokens weigh double: they are what exercises the decoder deep inside valid requests. */
	switch (s_rand_below(rng, 6)) {
	case 0: /* flip one byte */
		if (pos == n)
			return;
		if (s_rand_below(rng, 4) == 0)
			buf[pos] = (char) s_rand(rng);
		else
			buf[pos] = s_alphabet[s_rand_below(rng, sizeof s_alphabet - 1)];
		return;
	case 1: /* insert one byte */
		byte = s_alphabet[s_rand_below(rng, sizeof s_alphabet - 1)];
		piece = &byte;
		span = 1;
		break;
	case 2: /* delete a span */
		span = pos + span > n ? n - pos : span;
		memmove(buf + pos, buf + pos + span, n - pos - span);
		*len = n - span;
		return;
	case 3: /* duplicate a span */
		span = pos + span > n ? n - pos : span;
		piece = buf + pos;
		break;
	default: /* insert a token */
		piece = s_tokens[s_rand_below(rng, sizeof s_tokens / sizeof s_tokens[0])];
		span = strlen(piece);
		pos = s_snap_after_quote(rng, buf, n, pos);
		break;
	}
	if (n + span > MUTANT_CAP)
		return;
	char copy[64];
	memcpy(copy, piece, span);
	memmove(buf + pos + span, buf + pos, n - pos);
	memcpy(buf + pos, copy, span);
	*len = n + span;
}

static void
test_mutants_agree(void **state)
{
	(void) state;
	const char *const seeds[] = {
		s_accept_cases[0].text, s_accept_cases[1].text, s_accept_cases[2].text,
		s_accept_cases[3].text, s_accept_cases[5].text, s_accept_cases[9].text,
	};
	uint64_t rng = 0x9E3779B97F4A7C15ULL;
	char buf[MUTANT_CAP];
	unsigned accepted = 0;
	for (unsigned i = 0; i < 20000; i++) {
		const char *seed = seeds[i % (sizeof seeds / sizeof seeds[0])];
		size_t len = strlen(seed);
		memcpy(buf, seed, len);
		/* Mostly one edit, so that many mutants stay close to valid. */
		unsigned edits = 1;
		if (s_rand_below(&rng, 4) == 0)
			edits = 2 + (unsigned) s_rand_below(&rng, 2);
		for (unsigned e = 0; e < edits; e++)
			s_mutate(&rng, buf, &len);
		accepted += (unsigned) s_check_agrees(buf, len);
	}
	/* Enough mutants stay acceptable for the comparison to mean something. */
	print_message("mutants: %u of 20000 accepted and checked against jansson\n", accepted);
	assert_true(accepted >= 1500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_declines),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_mutants_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
