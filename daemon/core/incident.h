/*
 * incident: the pure state of one incident and the stage rules of the contract.
 *
 * No I/O: the store saves records written by incident_record_text() and loads them through
 * incident_from_record(); the daemon passes times in. Stage rules:
 *  - a stage is recorded once per incident and source (provider, monitoring, user, operator):
 *    each source's report of a stage is kept with both its times, its event and who sent it;
 *  - stages may arrive in any order, but within one source reported times must not decrease
 *    along the configured order (invalid_transition, naming both stages); reports of different
 *    sources are kept as given;
 *  - a stage's time is its earliest report among the sources that count (all of them for the
 *    status, the opening time and reports; a rule says which for its clock);
 *  - status is open until a stage at or after the configured `resolved` stage is recorded,
 *    then resolved until a stage at or after `closed` is recorded;
 *  - major: true on any event, or the major_declared stage, makes the incident major; later
 *    events' category and title are ignored.
 */
#ifndef INCIDENTD_DAEMON_CORE_INCIDENT_H
#define INCIDENTD_DAEMON_CORE_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "proto/wire.h"

typedef enum { INCIDENT_OPEN = 0, INCIDENT_RESOLVED, INCIDENT_CLOSED } incident_status_t;

/* "open", "resolved", "closed". */
const char *incident_status_name(incident_status_t status);

/* One source's report of one stage: both timestamps, the event that reported it, who sent it. */
typedef struct {
	int stage;            /* index into config_t.stages */
	wire_source_t source;
	int64_t at_ms;        /* the reported time */
	int64_t received_ms;  /* when the daemon received the event */
	char *event_id;       /* owned; NULL in a digest */
	char *by;             /* owned: the client that recorded it ([client NAME]); NULL: anonymous */
} incident_report_t;

/* At most one report per stage and source. */
#define INCIDENT_MAX_REPORTS (CONFIG_MAX_STAGES * WIRE_N_SOURCES)

typedef struct incident {
	uint64_t id;          /* INC number */
	char *provider;       /* owned, as are all strings here; optional ones may be NULL */
	char *ref;
	char *title;
	char *service;
	char *description;
	int category;         /* 1..5 */
	bool major;
	uint64_t problem;     /* linked PBI number, 0 when none */
	int64_t first_link;   /* when a problem was first linked (ms), INT64_MIN when never */
	/*
	 * Every report, in timeline order: by stage (config order), then reported time, then
	 * arrival, then source. Owned (a digest's point into its incident_digest_t).
	 */
	incident_report_t *reports;
	size_t n_reports;
	/*
	 * Record members this module does not interpret (added by later modules, or timeline
	 * entries of stages no longer configured): kept and written back unchanged. Owned; may
	 * be NULL.
	 */
	json_t *extra;
} incident_t;

/*
 * Checks that ev can open a new incident: category and title present (bad_request
 * "category: required to open an incident", likewise title). Returns 0 or -1.
 */
int incident_check_open(const wire_event_t *ev, wire_error_t *err);

/*
 * A new incident number id opened by ev: provider, ref, category, title, service, description
 * and major copied from ev; no stage recorded yet. Returns NULL on allocation failure.
 */
incident_t *incident_new(uint64_t id, const wire_event_t *ev);

/*
 * Checks that source's report of stage (an index into cfg->stages) reported at at_ms may be
 * recorded on inc:
 *  - conflict when that source's report of the stage is already recorded
 *    ("stage: detected from user is already recorded for INC000000000001 by event E1");
 *  - invalid_transition when the same source reported an earlier stage in order later than
 *    at_ms, or a later stage earlier ("at: notified (2021-01-12T03:10:00.000Z) is earlier than
 *    detected (2021-01-12T03:20:00.000Z)").
 * Returns 0 or -1.
 */
int incident_check_stage(const incident_t *inc, const config_t *cfg, int stage,
			 wire_source_t source, int64_t at_ms, wire_error_t *err);

/*
 * Records ev->source's report of stage with its reported and received times, ev's event_id, and
 * by (the client's name, or NULL: anonymous); applies ev's major flag, and the major stage.
 * Does not check: call incident_check_stage() first. Returns the new report (valid until the
 * next change of inc), or NULL on allocation failure or a bad stage.
 */
const incident_report_t *incident_apply_event(incident_t *inc, const config_t *cfg, int stage,
					      const wire_event_t *ev, int64_t at_ms,
					      int64_t received_ms, const char *by);

/* The report of stage by source, or NULL. */
const incident_report_t *incident_report_of(const incident_t *inc, int stage, wire_source_t source);

/* True when any source reported stage. */
bool incident_has_stage(const incident_t *inc, int stage);

/*
 * The time of stage among the sources in the set `sources` (bit 1u << source each): the
 * earliest received time (received) or reported time (!received) of their reports;
 * INT64_MIN when none of them reported it.
 */
int64_t incident_stage_time(const incident_t *inc, int stage, unsigned sources, bool received);

/* The earliest arrival of a report from source (any stage); INT64_MIN when none. */
int64_t incident_first_from(const incident_t *inc, wire_source_t source);

/*
 * True when inc is user-first: a user report (any stage) arrived before the first report of
 * the notified stage ([stages] notified) from any other source. With no notified stage
 * configured, any user report makes it so.
 */
bool incident_user_first(const incident_t *inc, const config_t *cfg);

incident_status_t incident_status(const incident_t *inc, const config_t *cfg);

/* The earliest reported time in the timeline; INT64_MIN when nothing is recorded. */
int64_t incident_opened_at(const incident_t *inc, const config_t *cfg);

/*
 * The earliest reported time of the first recorded stage at or after the resolved stage in
 * order (a closed incident with no resolved stage counts as resolved at its closed time);
 * INT64_MIN while the incident is open.
 */
int64_t incident_resolved_at(const incident_t *inc, const config_t *cfg);

/* The index of the furthest recorded stage in order, or -1 when none. */
int incident_last_stage(const incident_t *inc, const config_t *cfg);

/*
 * The storage record: a new JSON object (caller decrefs) naming stages by name, times as
 * integer ms, plus every member of inc->extra. NULL on allocation failure. The daemon saves
 * with incident_record_text(); this json_t form defines the record, and the text is tested
 * against it byte for byte.
 */
json_t *incident_to_record(const incident_t *inc, const config_t *cfg);

/*
 * The storage record as compact JSON text, byte for byte what json_dumps(JSON_COMPACT) of
 * incident_to_record() prints, written directly (the writer thread saves every changed
 * incident, and building the json_t only to dump it cost most of that). Returns a malloc'd
 * NUL-terminated text (caller frees), its length in *len_out; NULL on allocation failure, or
 * when incident_to_record() fails too (provider, ref or a recorded stage's event_id missing,
 * a string not valid UTF-8).
 */
char *incident_record_text(const incident_t *inc, const config_t *cfg, size_t *len_out);

/*
 * Rebuilds an incident from a storage record. Members it does not know, and timeline entries
 * of stages not in cfg, go to extra. Returns NULL when the record is malformed.
 */
incident_t *incident_from_record(const json_t *record, const config_t *cfg);

/*
 * The incident as the "get" reply shows it: id, provider, ref, category, title, service,
 * description, major, status, opened_at, user_first, timeline (one entry per report, in
 * timeline order: stage, source, at, received_at, event_id, by), problem (PBI id or null).
 * Later modules add breaches and verdicts. A new object; NULL on allocation failure.
 */
json_t *incident_to_wire(const incident_t *inc, const config_t *cfg);

/*
 * The summary "list" shows: id, provider, ref, category, title, major, status, opened_at,
 * last_stage, problem, user_first. A new object; NULL on allocation failure.
 */
json_t *incident_summary(const incident_t *inc, const config_t *cfg);

/*
 * When a problem record was first linked to inc (ms, the link's arrival), or INT64_MIN when
 * never. Problem rules stop at the first link; a later unlink does not restart them. Kept in
 * the record as "problem_linked_at".
 */
int64_t incident_first_link(const incident_t *inc);

/* Records the first link at ms, unless one is recorded already. Returns 0. */
int incident_note_first_link(incident_t *inc, int64_t ms);

/*
 * The digest: the few facts reports need (id, provider, category, major, first link, and
 * every report's stage, source and both times) in a compact binary form, so that a report over
 * a million incidents need not parse a million JSON records. Stages are stored by index, so a
 * digest is only valid under the stage order it was made with: it carries a fingerprint of
 * cfg's stages (and of the digest's layout version).
 */
#define INCIDENT_DIGEST_MAX (64 + WIRE_PROVIDER_MAX + 1 + INCIDENT_MAX_REPORTS * 18)

/* Encodes inc's digest into buf (INCIDENT_DIGEST_MAX bytes); returns its length. */
size_t incident_digest_encode(const incident_t *inc, const config_t *cfg, unsigned char *buf);

/* A decoded digest: a partial incident and the storage its reports use. */
typedef struct {
	incident_t inc;
	incident_report_t reports[INCIDENT_MAX_REPORTS];
} incident_digest_t;

/*
 * Decodes a digest into out->inc: a partial incident (id, provider, category, major,
 * first_link, reports without event ids; no other strings; provider points into buf; extra
 * NULL) that must not be destroyed nor outlive buf or out. Returns 0, or -1 when buf is not a
 * digest made under cfg's stages by this version (the caller then reads the full record).
 */
int incident_digest_decode(const void *buf, size_t len, const config_t *cfg,
			   incident_digest_t *out);

/* Frees inc; accepts NULL and sets *inc_p = NULL. */
void incident_destroy(incident_t **inc_p);

#endif
