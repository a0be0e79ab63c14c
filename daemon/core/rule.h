/*
 * rule: SLA and problem rules applied to one incident: whether a rule applies, when its clock
 * is due, when it stopped, and its verdict.
 *
 * Every rule is a config_rule_t, whatever its kind: the clock starts at the start stage's time
 * (its earliest report among the rule's start_sources, reported time or arrival as start_clock
 * says); it is due after the target of the incident's category (calendar.h); it stops at what
 * config_rule_kinds[rule->kind].stops_at says (the stop stage's earliest report among
 * stop_sources under stop_clock, or a problem record's first link). A before_user rule is also
 * breached when a user's report arrives while it has no stop yet (rule_user_first_due()).
 * Pure: computed from the incident's timeline alone, with now passed in.
 */
#ifndef INCIDENTD_DAEMON_CORE_RULE_H
#define INCIDENTD_DAEMON_CORE_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/core/config.h"
#include "daemon/core/incident.h"

/* True when rule applies to inc: a target for its category, and inc major if the rule is
 * major-only. */
bool rule_applies(const config_rule_t *rule, const incident_t *inc);

/* When rule's clock started for inc; INT64_MIN while no start source reported its start stage. */
int64_t rule_start(const config_rule_t *rule, const incident_t *inc);

/* The due time of rule for inc; INT64_MIN while not started. */
int64_t rule_due(const config_t *cfg, const config_rule_t *rule, const incident_t *inc);

/*
 * When rule's clock stopped for inc: the stop stage's received time (stop_clock = received) or
 * reported time (reported), earliest among stop_sources, or the first link of a problem record;
 * INT64_MIN when not stopped.
 */
int64_t rule_stop(const config_rule_t *rule, const incident_t *inc);

/* When the daemon learnt of the stop: the earliest arrival of a stop report; INT64_MIN: none. */
int64_t rule_stop_arrival(const config_rule_t *rule, const incident_t *inc);

/*
 * The due time of rule's user-first breach for inc, or INT64_MIN when there is none: for a
 * before_user rule, the arrival of the first user report when, at that arrival, no stop had
 * arrived and the rule was not already past due (a deadline passed first is the breach).
 */
int64_t rule_user_first_due(const config_t *cfg, const config_rule_t *rule, const incident_t *inc);

/*
 * A rule's clock for one incident at one moment: due and stop time, INT64_MIN while not
 * started or not stopped (both INT64_MIN when the rule does not apply). concerned is false
 * for a rule the moment's caller did not compute (rule_concerns()).
 */
typedef struct {
	bool concerned;
	int64_t due;
	int64_t stop;
} rule_clock_t;

/* The clock of rule for inc now. */
rule_clock_t rule_clock(const config_t *cfg, const config_rule_t *rule, const incident_t *inc);

/*
 * True when a report of stage from source, on an incident that is major or not (was_major),
 * can change rule's clock or raise its user-first breach.
 */
bool rule_concerns(const config_rule_t *rule, int stage, wire_source_t source, bool was_major);

typedef enum {
	VERDICT_NOT_STARTED = 0, /* the start stage is not recorded */
	VERDICT_PENDING,         /* started, not stopped, deadline not yet passed */
	VERDICT_MET,             /* stopped at or before the deadline */
	VERDICT_BREACHED,        /* stopped after the deadline, or not stopped and passed */
} rule_verdict_kind_t;

/* "not_started", "pending", "met", "breached"; NULL for any other value. */
const char *rule_verdict_name(rule_verdict_kind_t kind);

typedef struct {
	rule_verdict_kind_t kind;
	int64_t due;          /* when started */
	int64_t stopped_at;   /* the stop time under the rule's clock, INT64_MIN when not stopped */
	int64_t late_by_ms;   /* breached: stop time (or now) minus due */
	int64_t remaining_ms; /* pending: due minus now */
} rule_verdict_t;

/*
 * The verdict of rule for inc at now, computed from the timeline alone (the rule must apply). A
 * user-first breach makes it breached, due at the user report's arrival.
 */
rule_verdict_t rule_verdict(const config_t *cfg, const config_rule_t *rule, const incident_t *inc,
			    int64_t now);

/* The index in cfg->rules of the rule named name (len bytes), or -1. */
int rule_find(const config_t *cfg, const char *name, size_t len);

#endif
