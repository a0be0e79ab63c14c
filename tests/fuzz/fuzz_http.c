/*
 * fuzz_http: the bodies of the HTTP listener's writes (daemon/core/http_body.c), as
 * daemon/edge/http.c decodes them off the loop: the input is parsed as the listener parses a
 * POST body (json_loadb, no flags), then decoded both as POST /v1/events and as POST
 * /v1/alertmanager, with the [http] severity map of tests/integration/test_alertmanager.c.
 *
 * Properties checked, besides the sanitizers' (no crash, no leak):
 *  - every refusal is bad_request (or internal, out of memory) with a message that begins
 *    with the field it is about ("alerts[3].startsAt: ...");
 *  - /v1/events: an accepted body gives at least one event object, none with "op", and a batch
 *    exactly when the body was {"events": [...]};
 *  - /v1/alertmanager: an accepted payload gives one event per alert, and each, with a provider
 *    added as the listener adds it, is one the event op's own validation accepts
 *    (wire_event_decode, a configured stage, a source a provider token may report as);
 *  - the same payload decoded again (parsed anew) gives the same events, event_ids included:
 *    a repeated delivery is a duplicate, never a new incident.
 */
#include "tests/fuzz/fuzz.h"

#include <ctype.h>
#include <stdbool.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/core/http_body.h"
#include "proto/wire.h"

static config_t *s_cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	config_diag_t diag = { 0 };
	s_cfg = config_parse("[http]\nlisten = 127.0.0.1:7480\nseverity.critical = 1\n"
			     "severity.warning = 4\n", "fuzz.conf", NULL, &diag);
	config_diag_release(&diag);
	if (!s_cfg)
		FUZZ_FAIL("the harness's config does not parse");
	return 0;
}

/*
 * A refusal's message names its field: it starts with a field path (letters, digits, '_',
 * '.', and [N] indexes) and a colon.
 */
static void s_check_refusal(const wire_error_t *err, const char *route)
{
	if (err->code != WIRE_BAD_REQUEST && err->code != WIRE_INTERNAL)
		FUZZ_FAIL("%s: refused with %s", route, wire_code_name(err->code));
	const char *p = err->message;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '[' || *p == ']')
		p++;
	if (p == err->message || p[0] != ':' || p[1] != ' ' || p[2] == '\0')
		FUZZ_FAIL("%s: a refusal's message names no field: \"%s\"", route, err->message);
}

static void s_check_events(const json_t *doc)
{
	http_body_t body;
	wire_error_t err = { 0 };
	if (http_body_events(doc, &body, &err) < 0) {
		s_check_refusal(&err, "/v1/events");
		if (body.n || body.events)
			FUZZ_FAIL("/v1/events: a refusal left events");
		return;
	}
	bool batch = json_object_size(doc) == 1 && json_object_get(doc, "events");
	if (body.n == 0 || body.batch != batch)
		FUZZ_FAIL("/v1/events: %zu events, batch %d (expected %d)", body.n, body.batch, batch);
	for (size_t i = 0; i < body.n; i++)
		if (!json_is_object(body.events[i]) || json_object_get(body.events[i], "op"))
			FUZZ_FAIL("/v1/events: event %zu is not an event object without op", i);
	http_body_release(&body);
}

/* An Alertmanager event as the listener submits it passes the event op's own checks. */
static void s_check_alert_event(const json_t *event, size_t i)
{
	json_t *req = json_deep_copy(event);
	if (!req)
		abort();
	json_object_set_new(req, "op", json_string("event"));
	json_object_set_new(req, "provider", json_string("csp-north"));
	wire_event_t ev;
	wire_error_t err = { 0 };
	if (wire_event_decode(req, &ev, &err) < 0) {
		char *text = json_dumps(event, JSON_COMPACT);
		FUZZ_FAIL("alert %zu: the event op refuses %s: %s", i, text, err.message);
	}
	if (config_stage_index(s_cfg, ev.stage) < 0)
		FUZZ_FAIL("alert %zu: stage %s is not configured", i, ev.stage);
	if (ev.source != SOURCE_MONITORING || !ev.has_at || ev.category < 1)
		FUZZ_FAIL("alert %zu: source %d, has_at %d, category %d", i, ev.source, ev.has_at,
			  ev.category);
	json_decref(req);
}

static void s_check_alertmanager(const json_t *doc, const uint8_t *data, size_t size)
{
	http_body_t body, again;
	wire_error_t err = { 0 };
	if (http_body_alertmanager(doc, s_cfg, &body, &err) < 0) {
		s_check_refusal(&err, "/v1/alertmanager");
		if (body.n || body.events)
			FUZZ_FAIL("/v1/alertmanager: a refusal left events");
		return;
	}
	if (!body.batch || body.n != json_array_size(json_object_get(doc, "alerts")))
		FUZZ_FAIL("/v1/alertmanager: %zu events of %zu alerts", body.n,
			  json_array_size(json_object_get(doc, "alerts")));
	for (size_t i = 0; i < body.n; i++)
		s_check_alert_event(body.events[i], i);
	/* A repeated delivery: the same bytes, parsed and decoded anew. */
	json_t *doc2 = json_loadb((const char *)data, size, 0, NULL);
	if (!doc2 || http_body_alertmanager(doc2, s_cfg, &again, &err) < 0 || again.n != body.n)
		FUZZ_FAIL("/v1/alertmanager: the same payload decoded again differs");
	for (size_t i = 0; i < body.n; i++)
		if (!json_equal(body.events[i], again.events[i]))
			FUZZ_FAIL("/v1/alertmanager: alert %zu decoded again is another event (%s)", i,
				  json_string_value(json_object_get(again.events[i], "event_id")));
	http_body_release(&again);
	http_body_release(&body);
	json_decref(doc2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	if (!doc)
		return 0;
	s_check_events(doc);
	s_check_alertmanager(doc, data, size);
	json_decref(doc);
	return 0;
}
