/*
 * Tests of daemon/incident.c: the stage rules, status, major flag, the storage record (and its
 * direct encoding, checked byte for byte against jansson) and the JSON an operator sees in
 * "get" and "list".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/core/incident.h"
#include "proto/ids.h"

/* 2021-01-12T00:00:00Z in ms since the epoch; the tests work on that night. */
#define NIGHT_MS INT64_C(1610409600000)
/* 2021-01-12T03:MM:00Z */
#define AT(minute) (NIGHT_MS + INT64_C(3) * 3600000 + (int64_t)(minute) * 60000)

enum { DETECTED, NOTIFIED, ACKNOWLEDGED, MAJOR_DECLARED, PARTIES_NOTIFIED, WORKAROUND, RESOLVED,
       CLOSED, N_STAGES };

static char *s_default_order[] = { "detected", "notified", "acknowledged", "major_declared",
				   "parties_notified", "workaround", "resolved", "closed" };

/* The default [stages] section, built by hand so that these tests do not depend on config.c. */
static config_t s_config(void)
{
	config_t cfg = { 0 };
	for (int i = 0; i < N_STAGES; i++)
		cfg.stages[i] = s_default_order[i];
	cfg.n_stages = N_STAGES;
	cfg.resolved_stage = RESOLVED;
	cfg.notified_stage = NOTIFIED;
	cfg.closed_stage = CLOSED;
	cfg.major_stage = MAJOR_DECLARED;
	return cfg;
}

/* An opening event of CSP North's incident R-1 reporting stage. */
static wire_event_t s_event(const char *event_id, const char *stage)
{
	return (wire_event_t){
		.provider = "csp-north",
		.event_id = event_id,
		.ref = "R-1",
		.stage = stage,
		.category = 2,
		.title = "Comms hubs offline",
		.source = SOURCE_PROVIDER,
	};
}

/* Checks and records stage at at_ms (received a minute later); returns what the check said. */
static int s_push(incident_t *inc, const config_t *cfg, int stage, const wire_event_t *ev,
		  int64_t at_ms, wire_error_t *err)
{
	if (incident_check_stage(inc, cfg, stage, ev->source, at_ms, err) != 0)
		return -1;
	assert_non_null(incident_apply_event(inc, cfg, stage, ev, at_ms, at_ms + 60000, NULL));
	return 0;
}

/* The first report of stage (any source), NULL when none. */
static incident_report_t *s_rep(incident_t *inc, int stage)
{
	for (size_t i = 0; i < inc->n_reports; i++)
		if (inc->reports[i].stage == stage)
			return &inc->reports[i];
	return NULL;
}

/* Forgets every report of inc. */
static void s_clear_reports(incident_t *inc)
{
	for (size_t i = 0; i < inc->n_reports; i++) {
		free(inc->reports[i].event_id);
		free(inc->reports[i].by);
	}
	inc->n_reports = 0;
}

/* A new incident INC000000000001 opened by s_event("E1", "detected"), nothing recorded. */
static incident_t *s_new_incident(void)
{
	wire_event_t ev = s_event("E1", "detected");
	incident_t *inc = incident_new(1, &ev);
	assert_non_null(inc);
	return inc;
}

static void test_open_requires_category_and_title(void **state)
{
	(void)state;
	wire_error_t err = { 0 };
	wire_event_t ev = s_event("E1", "detected");
	assert_int_equal(incident_check_open(&ev, &err), 0);

	ev.category = 0;
	assert_int_equal(incident_check_open(&ev, &err), -1);
	assert_int_equal(err.code, WIRE_BAD_REQUEST);
	assert_string_equal(err.message, "category: required to open an incident");

	ev = s_event("E1", "detected");
	ev.title = NULL;
	assert_int_equal(incident_check_open(&ev, &err), -1);
	assert_int_equal(err.code, WIRE_BAD_REQUEST);
	assert_string_equal(err.message, "title: required to open an incident");
}

static void test_stages_arrive_in_any_order(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_new_incident();
	wire_error_t err = { 0 };
	wire_event_t ev = s_event("E1", "closed");
	assert_int_equal(s_push(inc, &cfg, CLOSED, &ev, AT(50), &err), 0);
	ev = s_event("E2", "detected");
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(0), &err), 0);
	ev = s_event("E3", "notified");
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(10), &err), 0);
	assert_int_equal(incident_last_stage(inc, &cfg), CLOSED);
	assert_int_equal(incident_opened_at(inc, &cfg), AT(0));
	incident_destroy(&inc);
	assert_null(inc);
	incident_destroy(&inc); /* accepts NULL */
}

static void test_repeat_stage_is_conflict_and_first_wins(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_new_incident();
	wire_error_t err = { 0 };
	wire_event_t ev = s_event("E1", "notified");
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(10), &err), 0);

	ev = s_event("E2", "notified");
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(5), &err), -1);
	assert_int_equal(err.code, WIRE_CONFLICT);
	assert_string_equal(err.message,
			    "stage: notified from provider is already recorded for INC000000000001 by event E1");
	assert_int_equal(s_rep(inc, NOTIFIED)->at_ms, AT(10));
	assert_string_equal(s_rep(inc, NOTIFIED)->event_id, "E1");
	incident_destroy(&inc);
}

static void test_times_must_not_decrease_along_order(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_error_t err = { 0 };

	/* A later stage reported before an earlier recorded one. */
	incident_t *inc = s_new_incident();
	wire_event_t ev = s_event("E1", "detected");
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(20), &err), 0);
	ev = s_event("E2", "notified");
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(10), &err), -1);
	assert_int_equal(err.code, WIRE_INVALID_TRANSITION);
	assert_string_equal(err.message, "at: notified (2021-01-12T03:10:00.000Z) is earlier than "
					 "detected (2021-01-12T03:20:00.000Z)");
	assert_false((s_rep(inc, NOTIFIED) != NULL));
	incident_destroy(&inc);

	/* An earlier stage reported after a later recorded one, several stages apart. */
	inc = s_new_incident();
	ev = s_event("E1", "resolved");
	assert_int_equal(s_push(inc, &cfg, RESOLVED, &ev, AT(30), &err), 0);
	ev = s_event("E2", "detected");
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(40), &err), -1);
	assert_int_equal(err.code, WIRE_INVALID_TRANSITION);
	assert_string_equal(err.message, "at: resolved (2021-01-12T03:30:00.000Z) is earlier than "
					 "detected (2021-01-12T03:40:00.000Z)");
	assert_false((s_rep(inc, DETECTED) != NULL));
	incident_destroy(&inc);
}

static void test_equal_times_are_allowed(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_error_t err = { 0 };
	incident_t *inc = s_new_incident();
	wire_event_t ev = s_event("E1", "notified");
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(10), &err), 0);
	ev = s_event("E2", "detected");
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(10), &err), 0);
	ev = s_event("E3", "acknowledged");
	assert_int_equal(s_push(inc, &cfg, ACKNOWLEDGED, &ev, AT(10), &err), 0);
	incident_destroy(&inc);
}

static void test_status_follows_resolved_and_closed(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_error_t err = { 0 };
	incident_t *inc = s_new_incident();
	assert_int_equal(incident_status(inc, &cfg), INCIDENT_OPEN);
	assert_true(incident_resolved_at(inc, &cfg) == INT64_MIN);

	wire_event_t ev = s_event("E1", "detected");
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(0), &err), 0);
	ev = s_event("E2", "workaround");
	assert_int_equal(s_push(inc, &cfg, WORKAROUND, &ev, AT(20), &err), 0);
	assert_int_equal(incident_status(inc, &cfg), INCIDENT_OPEN);
	assert_true(incident_resolved_at(inc, &cfg) == INT64_MIN);

	ev = s_event("E3", "resolved");
	assert_int_equal(s_push(inc, &cfg, RESOLVED, &ev, AT(30), &err), 0);
	assert_int_equal(incident_status(inc, &cfg), INCIDENT_RESOLVED);
	assert_string_equal(incident_status_name(incident_status(inc, &cfg)), "resolved");
	assert_int_equal(incident_resolved_at(inc, &cfg), AT(30));

	ev = s_event("E4", "closed");
	assert_int_equal(s_push(inc, &cfg, CLOSED, &ev, AT(45), &err), 0);
	assert_int_equal(incident_status(inc, &cfg), INCIDENT_CLOSED);
	assert_string_equal(incident_status_name(incident_status(inc, &cfg)), "closed");
	assert_int_equal(incident_resolved_at(inc, &cfg), AT(30));
	incident_destroy(&inc);

	/* Closed with no resolved stage: resolved at its closed time. */
	inc = s_new_incident();
	ev = s_event("E1", "closed");
	assert_int_equal(s_push(inc, &cfg, CLOSED, &ev, AT(50), &err), 0);
	assert_int_equal(incident_status(inc, &cfg), INCIDENT_CLOSED);
	assert_int_equal(incident_resolved_at(inc, &cfg), AT(50));
	incident_destroy(&inc);
}

static void test_major_by_flag_or_stage_and_never_undone(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_error_t err = { 0 };
	incident_t *inc = s_new_incident();
	assert_false(inc->major);
	wire_event_t ev = s_event("E1", "detected");
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(0), &err), 0);
	assert_false(inc->major);
	ev = s_event("E2", "notified");
	ev.has_major = ev.major = true;
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(10), &err), 0);
	assert_true(inc->major);
	ev = s_event("E3", "acknowledged");
	ev.has_major = true;
	ev.major = false;
	assert_int_equal(s_push(inc, &cfg, ACKNOWLEDGED, &ev, AT(15), &err), 0);
	assert_true(inc->major);
	incident_destroy(&inc);

	inc = s_new_incident();
	ev = s_event("E1", "major_declared");
	assert_int_equal(s_push(inc, &cfg, MAJOR_DECLARED, &ev, AT(20), &err), 0);
	assert_true(inc->major);
	incident_destroy(&inc);

	ev = s_event("E1", "detected");
	ev.has_major = ev.major = true;
	inc = incident_new(2, &ev);
	assert_non_null(inc);
	assert_true(inc->major);
	incident_destroy(&inc);
}

static void test_later_category_and_title_are_ignored(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_error_t err = { 0 };
	incident_t *inc = s_new_incident();
	wire_event_t ev = s_event("E2", "notified");
	ev.category = 5;
	ev.title = "Something else";
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(10), &err), 0);
	json_t *wire = incident_to_wire(inc, &cfg);
	assert_non_null(wire);
	assert_int_equal(json_integer_value(json_object_get(wire, "category")), 2);
	assert_string_equal(json_string_value(json_object_get(wire, "title")), "Comms hubs offline");
	json_decref(wire);
	incident_destroy(&inc);
}

static void test_opened_at_moves_back_with_backfilled_stage(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_error_t err = { 0 };
	incident_t *inc = s_new_incident();
	assert_true(incident_opened_at(inc, &cfg) == INT64_MIN);
	wire_event_t ev = s_event("E1", "notified");
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(10), &err), 0);
	assert_int_equal(incident_opened_at(inc, &cfg), AT(10));
	ev = s_event("E2", "detected");
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(2), &err), 0);
	assert_int_equal(incident_opened_at(inc, &cfg), AT(2));
	json_t *row = incident_summary(inc, &cfg);
	assert_non_null(row);
	assert_string_equal(json_string_value(json_object_get(row, "opened_at")),
			    "2021-01-12T03:02:00.000Z");
	assert_string_equal(json_string_value(json_object_get(row, "last_stage")), "notified");
	json_decref(row);
	incident_destroy(&inc);
}

/* An incident with three stages, optional strings, a problem link and extra members. */
static incident_t *s_full_incident(const config_t *cfg)
{
	wire_error_t err = { 0 };
	wire_event_t ev = s_event("E1", "detected");
	ev.service = "DSP";
	ev.description = "Hubs in the north offline";
	ev.source = SOURCE_MONITORING;
	incident_t *inc = incident_new(42, &ev);
	assert_non_null(inc);
	assert_int_equal(s_push(inc, cfg, DETECTED, &ev, AT(0), &err), 0);
	ev = s_event("E2", "notified");
	ev.source = SOURCE_USER;
	assert_int_equal(s_push(inc, cfg, NOTIFIED, &ev, AT(40), &err), 0);
	ev = s_event("E3", "workaround");
	assert_int_equal(s_push(inc, cfg, WORKAROUND, &ev, AT(55), &err), 0);
	inc->problem = 7;
	inc->extra = json_pack("{s:[{s:s, s:I}]}", "breaches", "sla", "provider_notification", "due",
			       (json_int_t)AT(30));
	assert_non_null(inc->extra);
	return inc;
}

static void test_record_round_trip(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_full_incident(&cfg);
	json_t *record = incident_to_record(inc, &cfg);
	assert_non_null(record);

	json_t *expected = json_pack(
		"{s:i, s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:i, s:["
		"{s:s, s:I, s:I, s:s, s:s}, {s:s, s:I, s:I, s:s, s:s}, {s:s, s:I, s:I, s:s, s:s}],"
		" s:[{s:s, s:I}]}",
		"id", 42, "provider", "csp-north", "ref", "R-1", "category", 2, "title",
		"Comms hubs offline", "service", "DSP", "description", "Hubs in the north offline",
		"major", 0, "problem", 7, "timeline",
		"stage", "detected", "at", (json_int_t)AT(0), "received_at", (json_int_t)AT(1),
		"event_id", "E1", "source", "monitoring",
		"stage", "notified", "at", (json_int_t)AT(40), "received_at", (json_int_t)AT(41),
		"event_id", "E2", "source", "user",
		"stage", "workaround", "at", (json_int_t)AT(55), "received_at", (json_int_t)AT(56),
		"event_id", "E3", "source", "provider",
		"breaches", "sla", "provider_notification", "due", (json_int_t)AT(30));
	assert_non_null(expected);
	assert_true(json_equal(record, expected));

	incident_t *back = incident_from_record(record, &cfg);
	assert_non_null(back);
	json_t *again = incident_to_record(back, &cfg);
	assert_non_null(again);
	assert_true(json_equal(record, again));
	assert_int_equal(incident_status(back, &cfg), INCIDENT_OPEN);

	json_decref(again);
	json_decref(expected);
	json_decref(record);
	incident_destroy(&back);
	incident_destroy(&inc);
}

/* A digest gives back every fact a report uses, and is refused under another stage order. */
static void test_digest_round_trip(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_full_incident(&cfg);
	inc->major = true;
	incident_note_first_link(inc, AT(70));
	incident_note_first_link(inc, AT(90)); /* only the first link counts */
	unsigned char buf[INCIDENT_DIGEST_MAX];
	size_t len = incident_digest_encode(inc, &cfg, buf);
	assert_true(len > 0 && len <= sizeof buf);

	incident_digest_t dd;
	incident_t *dp = &dd.inc;
	assert_int_equal(incident_digest_decode(buf, len, &cfg, &dd), 0);
	incident_t d = *dp;
	assert_int_equal(d.id, inc->id);
	assert_string_equal(d.provider, "csp-north");
	assert_int_equal(d.category, 2);
	assert_true(d.major);
	assert_int_equal(incident_first_link(&d), AT(70));
	assert_int_equal(d.n_reports, inc->n_reports);
	for (size_t i = 0; i < d.n_reports; i++) {
		assert_int_equal(d.reports[i].stage, inc->reports[i].stage);
		assert_int_equal(d.reports[i].source, inc->reports[i].source);
		assert_int_equal(d.reports[i].at_ms, inc->reports[i].at_ms);
		assert_int_equal(d.reports[i].received_ms, inc->reports[i].received_ms);
	}
	assert_int_equal(incident_opened_at(&d, &cfg), incident_opened_at(inc, &cfg));

	/* Truncated, or made under another stage order: the caller must read the record. */
	assert_int_equal(incident_digest_decode(buf, len - 1, &cfg, &dd), -1);
	assert_int_equal(incident_digest_decode(buf, 3, &cfg, &dd), -1);
	config_t other = s_config();
	other.stages[1] = "acknowledged";
	other.stages[2] = "notified";
	assert_int_equal(incident_digest_decode(buf, len, &other, &dd), -1);
	incident_destroy(&inc);
}

static void test_record_keeps_stage_missing_from_config(void **state)
{
	(void)state;
	config_t full = s_config();
	/* The same order without "workaround", as after an operator edited the config. */
	config_t small = full;
	for (int i = WORKAROUND; i < N_STAGES - 1; i++)
		small.stages[i] = full.stages[i + 1];
	small.stages[N_STAGES - 1] = NULL;
	small.n_stages = N_STAGES - 1;
	small.resolved_stage = RESOLVED - 1;
	small.closed_stage = CLOSED - 1;

	/* The entry of the unknown stage is last, as this module writes such entries back. */
	incident_t *inc = s_full_incident(&full);
	json_t *record = incident_to_record(inc, &full);
	assert_non_null(record);

	incident_t *loaded = incident_from_record(record, &small);
	assert_non_null(loaded);
	json_t *wire = incident_to_wire(loaded, &small);
	assert_non_null(wire);
	assert_int_equal(json_array_size(json_object_get(wire, "timeline")), 2);
	assert_int_equal(incident_last_stage(loaded, &small), NOTIFIED);

	json_t *written = incident_to_record(loaded, &small);
	assert_non_null(written);
	assert_true(json_equal(record, written));

	/* Once the stage is configured again it is a recorded stage once more. */
	incident_t *restored = incident_from_record(written, &full);
	assert_non_null(restored);
	assert_true((s_rep(restored, WORKAROUND) != NULL));
	assert_int_equal(s_rep(restored, WORKAROUND)->at_ms, AT(55));
	assert_string_equal(s_rep(restored, WORKAROUND)->event_id, "E3");

	incident_destroy(&restored);
	json_decref(written);
	json_decref(wire);
	incident_destroy(&loaded);
	json_decref(record);
	incident_destroy(&inc);
}

/* Asserts that the good record with one member replaced (or removed, value NULL) is refused. */
static void s_assert_refused(const json_t *good, const config_t *cfg, const char *key,
			     json_t *value)
{
	json_t *bad = json_deep_copy(good);
	assert_non_null(bad);
	if (value)
		json_object_set_new(bad, key, value);
	else
		json_object_del(bad, key);
	incident_t *inc = incident_from_record(bad, cfg);
	if (inc) {
		incident_destroy(&inc);
		fail_msg("record with bad \"%s\" was accepted", key);
	}
	json_decref(bad);
}

static void test_malformed_records_are_refused(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_full_incident(&cfg);
	json_t *good = incident_to_record(inc, &cfg);
	assert_non_null(good);

	json_t *not_object = json_array();
	assert_null(incident_from_record(not_object, &cfg));
	json_decref(not_object);
	s_assert_refused(good, &cfg, "id", NULL);
	s_assert_refused(good, &cfg, "id", json_string("INC000000000042"));
	s_assert_refused(good, &cfg, "id", json_integer(0));
	s_assert_refused(good, &cfg, "provider", NULL);
	s_assert_refused(good, &cfg, "provider", json_integer(1));
	s_assert_refused(good, &cfg, "ref", NULL);
	s_assert_refused(good, &cfg, "category", json_integer(9));
	s_assert_refused(good, &cfg, "major", json_string("yes"));
	s_assert_refused(good, &cfg, "title", json_true());
	s_assert_refused(good, &cfg, "problem", json_string("PBI000000000007"));
	s_assert_refused(good, &cfg, "timeline", json_object());
	s_assert_refused(good, &cfg, "timeline",
			 json_pack("[{s:s, s:s, s:I, s:s, s:s}]", "stage", "detected", "at",
				   "2021-01-12T03:00:00Z", "received_at", (json_int_t)AT(1),
				   "event_id", "E1", "source", "provider"));
	s_assert_refused(good, &cfg, "timeline",
			 json_pack("[{s:s, s:I, s:I, s:s, s:s}]", "stage", "detected", "at",
				   (json_int_t)AT(0), "received_at", (json_int_t)AT(1), "event_id",
				   "E1", "source", "pigeon"));
	s_assert_refused(good, &cfg, "timeline",
			 json_pack("[{s:s, s:I, s:I, s:s, s:s}, {s:s, s:I, s:I, s:s, s:s}]",
				   "stage", "detected", "at", (json_int_t)AT(0), "received_at",
				   (json_int_t)AT(1), "event_id", "E1", "source", "provider",
				   "stage", "detected", "at", (json_int_t)AT(2), "received_at",
				   (json_int_t)AT(3), "event_id", "E2", "source", "provider"));
	s_assert_refused(good, &cfg, "timeline", json_pack("[{s:i}]", "stage", 1));

	json_decref(good);
	incident_destroy(&inc);
}

static void test_wire_view(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_full_incident(&cfg);
	json_t *wire = incident_to_wire(inc, &cfg);
	assert_non_null(wire);
	json_t *expected = json_loads(
		"{\"id\": \"INC000000000042\", \"provider\": \"csp-north\", \"ref\": \"R-1\","
		" \"category\": 2, \"title\": \"Comms hubs offline\", \"service\": \"DSP\","
		" \"description\": \"Hubs in the north offline\", \"major\": false,"
		" \"status\": \"open\", \"opened_at\": \"2021-01-12T03:00:00.000Z\","
		" \"timeline\": ["
		"  {\"stage\": \"detected\", \"at\": \"2021-01-12T03:00:00.000Z\","
		"   \"received_at\": \"2021-01-12T03:01:00.000Z\", \"event_id\": \"E1\","
		"   \"source\": \"monitoring\", \"by\": null},"
		"  {\"stage\": \"notified\", \"at\": \"2021-01-12T03:40:00.000Z\","
		"   \"received_at\": \"2021-01-12T03:41:00.000Z\", \"event_id\": \"E2\","
		"   \"source\": \"user\", \"by\": null},"
		"  {\"stage\": \"workaround\", \"at\": \"2021-01-12T03:55:00.000Z\","
		"   \"received_at\": \"2021-01-12T03:56:00.000Z\", \"event_id\": \"E3\","
		"   \"source\": \"provider\", \"by\": null}],"
		" \"problem\": \"PBI000000000007\", \"user_first\": true}",
		0, NULL);
	assert_non_null(expected);
	if (!json_equal(wire, expected)) {
		char *text = json_dumps(wire, JSON_SORT_KEYS);
		fail_msg("unexpected wire view: %s", text);
	}
	json_decref(expected);
	json_decref(wire);
	incident_destroy(&inc);
}

static void test_wire_view_of_empty_incident(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_new_incident();
	json_t *wire = incident_to_wire(inc, &cfg);
	assert_non_null(wire);
	json_t *expected = json_loads(
		"{\"id\": \"INC000000000001\", \"provider\": \"csp-north\", \"ref\": \"R-1\","
		" \"category\": 2, \"title\": \"Comms hubs offline\", \"service\": null,"
		" \"description\": null, \"major\": false, \"status\": \"open\","
		" \"opened_at\": null, \"timeline\": [], \"problem\": null, \"user_first\": false}",
		0, NULL);
	assert_non_null(expected);
	assert_true(json_equal(wire, expected));
	json_decref(expected);
	json_decref(wire);

	json_t *row = incident_summary(inc, &cfg);
	assert_non_null(row);
	assert_true(json_is_null(json_object_get(row, "last_stage")));
	assert_true(json_is_null(json_object_get(row, "opened_at")));
	json_decref(row);
	incident_destroy(&inc);
}

static void test_summary(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_error_t err = { 0 };
	incident_t *inc = s_full_incident(&cfg);
	wire_event_t ev = s_event("E4", "resolved");
	ev.has_major = ev.major = true;
	assert_int_equal(s_push(inc, &cfg, RESOLVED, &ev, AT(58), &err), 0);
	json_t *row = incident_summary(inc, &cfg);
	assert_non_null(row);
	json_t *expected = json_loads(
		"{\"id\": \"INC000000000042\", \"provider\": \"csp-north\", \"ref\": \"R-1\","
		" \"category\": 2, \"title\": \"Comms hubs offline\", \"major\": true,"
		" \"status\": \"resolved\", \"opened_at\": \"2021-01-12T03:00:00.000Z\","
		" \"last_stage\": \"resolved\", \"problem\": \"PBI000000000007\","
		" \"user_first\": true}",
		0, NULL);
	assert_non_null(expected);
	if (!json_equal(row, expected)) {
		char *text = json_dumps(row, JSON_SORT_KEYS);
		fail_msg("unexpected summary: %s", text);
	}
	json_decref(expected);
	json_decref(row);
	incident_destroy(&inc);
}

/* --- record text ------------------------------------------------------------------------- */

/* Replaces the owned string *field with a copy of value (NULL clears it). */
static void s_set_string(char **field, const char *value)
{
	free(*field);
	*field = value ? strdup(value) : NULL;
	assert_true(!value || *field);
}

/*
 * Asserts that incident_record_text() prints exactly what json_dumps(JSON_COMPACT) prints of
 * incident_to_record(): the same members in jansson's order, the same escapes. Returns the
 * text (caller frees).
 */
static char *s_assert_same_text(const incident_t *inc, const config_t *cfg)
{
	json_t *record = incident_to_record(inc, cfg);
	assert_non_null(record);
	char *expected = json_dumps(record, JSON_COMPACT);
	assert_non_null(expected);
	size_t len = 0;
	char *text = incident_record_text(inc, cfg, &len);
	assert_non_null(text);
	if (strcmp(text, expected) != 0)
		fail_msg("record text\n  %s\nis not what jansson prints\n  %s", text, expected);
	assert_int_equal(len, strlen(expected));
	assert_int_equal(len, strlen(text));
	free(expected);
	json_decref(record);
	return text;
}

/* As s_assert_same_text(), and the text reads back into an incident that prints it again. */
static void s_assert_record_text(const incident_t *inc, const config_t *cfg)
{
	char *text = s_assert_same_text(inc, cfg);
	json_error_t jerr;
	json_t *loaded = json_loads(text, 0, &jerr);
	if (!loaded)
		fail_msg("record text does not load: %s: %s", jerr.text, text);
	incident_t *back = incident_from_record(loaded, cfg);
	assert_non_null(back);
	size_t len = 0;
	char *again = incident_record_text(back, cfg, &len);
	assert_non_null(again);
	assert_string_equal(again, text);
	assert_int_equal(len, strlen(text));
	free(again);
	incident_destroy(&back);
	json_decref(loaded);
	free(text);
}

/* Asserts that neither incident_to_record() nor incident_record_text() accepts inc. */
static void s_assert_both_refuse(const incident_t *inc, const config_t *cfg)
{
	json_t *record = incident_to_record(inc, cfg);
	if (record) {
		char *dump = json_dumps(record, JSON_COMPACT);
		json_decref(record);
		/* json_pack() may accept what json_dumps() then refuses: either way no record. */
		if (dump) {
			free(dump);
			fail_msg("jansson accepted the incident: the test case is wrong");
		}
	}
	size_t len = 0;
	char *text = incident_record_text(inc, cfg, &len);
	if (text) {
		char msg[256];
		snprintf(msg, sizeof msg, "record text written for an incident jansson refuses: %s",
			 text);
		free(text);
		fail_msg("%s", msg);
	}
}

static void test_record_text_minimal(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_event_t ev = s_event("E1", "detected");
	ev.title = NULL;
	incident_t *inc = incident_new(1, &ev);
	assert_non_null(inc);
	s_assert_record_text(inc, &cfg);

	/* Nothing but the required members, an empty timeline. */
	size_t len = 0;
	char *text = incident_record_text(inc, &cfg, &len);
	assert_non_null(text);
	assert_string_equal(text, "{\"id\":1,\"provider\":\"csp-north\",\"ref\":\"R-1\",\"category\":2,"
				  "\"major\":false,\"problem\":0,\"timeline\":[]}");
	free(text);

	/* One stage; an empty extra object changes nothing. */
	wire_error_t err = { 0 };
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(0), &err), 0);
	inc->extra = json_object();
	assert_non_null(inc->extra);
	s_assert_record_text(inc, &cfg);
	incident_destroy(&inc);
}

static void test_record_text_strings_and_escapes(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_full_incident(&cfg);
	s_assert_record_text(inc, &cfg);

	static const char *const titles[] = {
		"say \"hi\"", "back\\slash", "a/b", "\x01\x02\x1f\x7f \b\f\n\r\t end",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "", "\"\\\"",
	};
	const size_t n = sizeof titles / sizeof titles[0];
	for (size_t i = 0; i < n; i++) {
		s_set_string(&inc->title, titles[i]);
		s_set_string(&inc->service, titles[(i + 1) % n]);
		s_set_string(&inc->description, titles[(i + 2) % n]);
		s_set_string(&inc->ref, titles[(i + 3) % n]);
		s_set_string(&s_rep(inc, DETECTED)->event_id, titles[(i + 4) % n]);
		inc->major = i % 2 == 0;
		s_assert_record_text(inc, &cfg);
	}

	/* A 512-byte title mixing plain bytes, escapes and UTF-8 (a whole é at the end). */
	char big[513];
	for (size_t i = 0; i < 510; i++)
		big[i] = "ab\"\\\n\x01 z"[i % 8];
	memcpy(big + 510, "\xc3\xa9", 3);
	assert_int_equal(strlen(big), 512);
	s_set_string(&inc->title, big);
	s_assert_record_text(inc, &cfg);

	/* Only the required strings again, and no problem. */
	s_set_string(&inc->title, NULL);
	s_set_string(&inc->service, NULL);
	s_set_string(&inc->description, NULL);
	inc->problem = 0;
	s_assert_record_text(inc, &cfg);
	s_set_string(&inc->service, "DSP only");
	s_assert_record_text(inc, &cfg);
	incident_destroy(&inc);
}

static void test_record_text_stages_times_and_links(void **state)
{
	(void)state;
	config_t cfg = s_config();
	wire_event_t ev = s_event("E1", "closed");
	incident_t *inc = incident_new(ID_MAX, &ev);
	assert_non_null(inc);
	/* Out of order and in every source; times unchecked, so negative and extreme ones too. */
	static const struct { int stage; int64_t at, received; wire_source_t source; } rec[] = {
		{ CLOSED, INT64_MAX, INT64_MAX, SOURCE_OPERATOR },
		{ DETECTED, INT64_MIN, -1, SOURCE_MONITORING },
		{ RESOLVED, 0, INT64_C(-1610409600000), SOURCE_USER },
		{ NOTIFIED, AT(10), AT(11), SOURCE_PROVIDER },
		{ MAJOR_DECLARED, -1, 0, SOURCE_OPERATOR },
	};
	for (size_t i = 0; i < sizeof rec / sizeof rec[0]; i++) {
		char id[16];
		snprintf(id, sizeof id, "E%zu", i + 1);
		ev = s_event(id, s_default_order[rec[i].stage]);
		ev.source = rec[i].source;
		/* Some recorded by a client (CURVE), some anonymously: `by` only when there is one. */
		assert_non_null(incident_apply_event(inc, &cfg, rec[i].stage, &ev, rec[i].at,
						      rec[i].received, i % 2 ? "csp-north-mon" : NULL));
		s_assert_record_text(inc, &cfg);
	}
	assert_true(inc->major);

	inc->problem = ID_MAX;
	s_assert_record_text(inc, &cfg);
	incident_note_first_link(inc, INT64_MIN + 1);
	s_assert_record_text(inc, &cfg);
	inc->first_link = 0;
	s_assert_record_text(inc, &cfg);
	inc->first_link = AT(70);
	inc->major = false;
	s_assert_record_text(inc, &cfg);
	incident_destroy(&inc);
}

static void test_record_text_extra_members(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_full_incident(&cfg);
	json_decref(inc->extra);
	/* Unknown members in their order, one with a key that needs escapes. */
	inc->extra = json_loads("{\"breaches\":[1,2],\"zeta\":{\"b\":[true,null,{\"c\":\"x\\\"y\"}],"
				"\"a\":-3,\"r\":1.5,\"e\":{},\"l\":[]},\"k\\\"ey\\n\":\"caf\\u00e9\","
				"\"alpha\":\"\\u0001\"}",
				0, NULL);
	assert_non_null(inc->extra);
	s_assert_record_text(inc, &cfg);
	inc->first_link = AT(80);
	s_assert_record_text(inc, &cfg);

	/* Extra members the record already has are not written twice: the record's value wins. */
	assert_int_equal(json_object_set_new(inc->extra, "id", json_string("INC1")), 0);
	assert_int_equal(json_object_set_new(inc->extra, "timeline", json_array()), 0);
	assert_int_equal(json_object_set_new(inc->extra, "title", json_string("old")), 0);
	assert_int_equal(json_object_set_new(inc->extra, "problem_linked_at", json_integer(5)), 0);
	assert_int_equal(json_object_set_new(inc->extra, "last", json_true()), 0);
	char *text = s_assert_same_text(inc, &cfg);
	assert_null(strstr(text, "INC1"));
	assert_null(strstr(text, "\"old\""));
	assert_non_null(strstr(text, "\"last\":true}"));
	free(text);

	/* Unless the record lacks it: then extra's is written where extra puts it. */
	s_set_string(&inc->title, NULL);
	inc->first_link = INT64_MIN;
	text = s_assert_same_text(inc, &cfg);
	assert_non_null(strstr(text, "\"title\":\"old\",\"problem_linked_at\":5,\"last\":true}"));
	free(text);

	/* An orphan_timeline member that is no array adds no entry and is not written. */
	assert_int_equal(json_object_set_new(inc->extra, "orphan_timeline", json_string("?")), 0);
	text = s_assert_same_text(inc, &cfg);
	assert_null(strstr(text, "orphan_timeline"));
	free(text);
	incident_destroy(&inc);
}

/* The default order without "acknowledged" and "workaround", as after an operator's edit. */
static config_t s_config_without_two(void)
{
	config_t full = s_config(), small = full;
	int n = 0;
	for (int i = 0; i < N_STAGES; i++)
		if (i != WORKAROUND && i != ACKNOWLEDGED)
			small.stages[n++] = full.stages[i];
	small.n_stages = (size_t)n;
	for (int i = n; i < N_STAGES; i++)
		small.stages[i] = NULL;
	small.resolved_stage = n - 2;
	small.closed_stage = n - 1;
	small.major_stage = 2; /* detected, notified, major_declared, ... */
	return small;
}

static void test_record_text_orphan_timeline(void **state)
{
	(void)state;
	config_t full = s_config(), small = s_config_without_two();
	incident_t *inc = s_full_incident(&full);
	wire_event_t ev = s_event("E4", "acknowledged");
	ev.source = SOURCE_OPERATOR;
	wire_error_t err = { 0 };
	assert_int_equal(s_push(inc, &full, ACKNOWLEDGED, &ev, AT(45), &err), 0);
	json_t *record = incident_to_record(inc, &full);
	assert_non_null(record);
	incident_t *loaded = incident_from_record(record, &small);
	assert_non_null(loaded);
	assert_non_null(json_object_get(loaded->extra, "orphan_timeline"));
	assert_int_equal(json_array_size(json_object_get(loaded->extra, "orphan_timeline")), 2);
	s_assert_record_text(loaded, &small);

	/* Orphans after the recorded stages, extra members after the timeline. */
	loaded->first_link = AT(90);
	assert_int_equal(json_object_set_new(loaded->extra, "later", json_integer(1)), 0);
	s_assert_record_text(loaded, &small);

	/* Only orphans: the timeline starts with one. */
	s_clear_reports(loaded);
	s_assert_record_text(loaded, &small);

	/* Under the full order again the orphans are stages once more. */
	char *text = s_assert_same_text(loaded, &small);
	json_t *again = json_loads(text, 0, NULL);
	assert_non_null(again);
	incident_t *restored = incident_from_record(again, &full);
	assert_non_null(restored);
	assert_true((s_rep(restored, WORKAROUND) != NULL));
	assert_true((s_rep(restored, ACKNOWLEDGED) != NULL));
	s_assert_record_text(restored, &full);

	incident_destroy(&restored);
	json_decref(again);
	free(text);
	incident_destroy(&loaded);
	json_decref(record);
	incident_destroy(&inc);
}

static void test_record_text_refuses_what_jansson_refuses(void **state)
{
	(void)state;
	config_t cfg = s_config();
	/* Truncated, stray continuation, overlong, surrogate, past U+10FFFF, bad lead bytes. */
	static const char *const bad[] = {
		"\xc3", "a\xc3(", "\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
		"\xed\xbf\xbf", "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
		"\xe2\x82", "\xf0\x9f\x98",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		incident_t *inc = s_full_incident(&cfg);
		char **fields[] = { &inc->title, &inc->service, &inc->description, &inc->provider,
				    &inc->ref, &s_rep(inc, NOTIFIED)->event_id };
		s_set_string(fields[i % 6], bad[i]);
		s_assert_both_refuse(inc, &cfg);
		incident_destroy(&inc);
	}
	/* The edges that are valid: U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+10FFFF. */
	incident_t *inc = s_full_incident(&cfg);
	s_set_string(&inc->title, "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
				  "\xf4\x8f\xbf\xbf");
	s_assert_record_text(inc, &cfg);

	/* A recorded stage without an event id, an unknown source, no provider. */
	s_set_string(&s_rep(inc, DETECTED)->event_id, NULL);
	s_assert_both_refuse(inc, &cfg);
	s_set_string(&s_rep(inc, DETECTED)->event_id, "E1");
	s_rep(inc, NOTIFIED)->source = (wire_source_t)9;
	s_assert_both_refuse(inc, &cfg);
	s_rep(inc, NOTIFIED)->source = SOURCE_USER;
	s_set_string(&inc->provider, NULL);
	s_assert_both_refuse(inc, &cfg);
	incident_destroy(&inc);
}

/*
 * Each source's report of a stage is its own: the same source again is a conflict, another
 * source is recorded beside it; order is checked within a source only; the timeline is in
 * stage order, then reported time; records and digests keep every report.
 */
static void test_reports_per_source(void **state)
{
	(void)state;
	config_t cfg = s_config();
	incident_t *inc = s_new_incident();
	wire_error_t err = { 0 };
	wire_event_t ev = s_event("P1", "notified");
	assert_int_equal(s_push(inc, &cfg, NOTIFIED, &ev, AT(40), &err), 0);
	ev = s_event("U1", "detected");
	ev.source = SOURCE_USER;
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(50), &err), 0); /* after P1: another source */
	ev = s_event("U2", "detected");
	ev.source = SOURCE_USER;
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(10), &err), -1);
	assert_int_equal(err.code, WIRE_CONFLICT);
	assert_string_equal(err.message,
			    "stage: detected from user is already recorded for INC000000000001 by event U1");
	ev = s_event("P2", "detected");
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(45), &err), -1); /* after its own notified */
	assert_int_equal(err.code, WIRE_INVALID_TRANSITION);
	ev = s_event("M1", "detected");
	ev.source = SOURCE_MONITORING;
	assert_int_equal(s_push(inc, &cfg, DETECTED, &ev, AT(5), &err), 0);

	assert_int_equal(inc->n_reports, 3);
	assert_string_equal(inc->reports[0].event_id, "M1");
	assert_string_equal(inc->reports[1].event_id, "U1");
	assert_string_equal(inc->reports[2].event_id, "P1");
	assert_true(incident_has_stage(inc, DETECTED));
	assert_false(incident_has_stage(inc, RESOLVED));
	assert_non_null(incident_report_of(inc, DETECTED, SOURCE_USER));
	assert_null(incident_report_of(inc, DETECTED, SOURCE_PROVIDER));
	assert_int_equal(incident_stage_time(inc, DETECTED, WIRE_ALL_SOURCES, false), AT(5));
	assert_int_equal(incident_stage_time(inc, DETECTED, 1u << SOURCE_USER, false), AT(50));
	assert_int_equal(incident_stage_time(inc, DETECTED, 1u << SOURCE_PROVIDER, false), INT64_MIN);
	assert_int_equal(incident_stage_time(inc, DETECTED, WIRE_ALL_SOURCES, true), AT(6));
	assert_int_equal(incident_opened_at(inc, &cfg), AT(5));
	assert_int_equal(incident_first_from(inc, SOURCE_USER), AT(51));

	/* The record and the digest keep all three, in the same order. */
	json_t *record = incident_to_record(inc, &cfg);
	assert_non_null(record);
	assert_int_equal(json_array_size(json_object_get(record, "timeline")), 3);
	incident_t *back = incident_from_record(record, &cfg);
	assert_non_null(back);
	assert_int_equal(back->n_reports, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(back->reports[i].source, inc->reports[i].source);
		assert_string_equal(back->reports[i].event_id, inc->reports[i].event_id);
	}
	s_assert_record_text(inc, &cfg);
	unsigned char buf[INCIDENT_DIGEST_MAX];
	incident_digest_t dd;
	assert_int_equal(incident_digest_decode(buf, incident_digest_encode(inc, &cfg, buf), &cfg, &dd), 0);
	assert_int_equal(dd.inc.n_reports, 3);
	assert_int_equal(dd.inc.reports[1].source, SOURCE_USER);
	assert_int_equal(incident_opened_at(&dd.inc, &cfg), AT(5));
	assert_true(incident_user_first(&dd.inc, &cfg) == incident_user_first(inc, &cfg));

	/* A record holding two reports of one stage by one source is malformed. */
	json_t *twice = json_deep_copy(record);
	json_array_append(json_object_get(twice, "timeline"),
			  json_array_get(json_object_get(twice, "timeline"), 0));
	assert_null(incident_from_record(twice, &cfg));
	json_decref(twice);
	json_decref(record);
	incident_destroy(&back);
	incident_destroy(&inc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_requires_category_and_title),
		cmocka_unit_test(test_stages_arrive_in_any_order),
		cmocka_unit_test(test_repeat_stage_is_conflict_and_first_wins),
		cmocka_unit_test(test_reports_per_source),
		cmocka_unit_test(test_times_must_not_decrease_along_order),
		cmocka_unit_test(test_equal_times_are_allowed),
		cmocka_unit_test(test_status_follows_resolved_and_closed),
		cmocka_unit_test(test_major_by_flag_or_stage_and_never_undone),
		cmocka_unit_test(test_later_category_and_title_are_ignored),
		cmocka_unit_test(test_opened_at_moves_back_with_backfilled_stage),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_digest_round_trip),
		cmocka_unit_test(test_record_keeps_stage_missing_from_config),
		cmocka_unit_test(test_malformed_records_are_refused),
		cmocka_unit_test(test_wire_view),
		cmocka_unit_test(test_wire_view_of_empty_incident),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_record_text_minimal),
		cmocka_unit_test(test_record_text_strings_and_escapes),
		cmocka_unit_test(test_record_text_stages_times_and_links),
		cmocka_unit_test(test_record_text_extra_members),
		cmocka_unit_test(test_record_text_orphan_timeline),
		cmocka_unit_test(test_record_text_refuses_what_jansson_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
