/*
 * sla: SLA rules, deadlines, verdicts and the working-time calendar.
 *
 * Pure arithmetic: no I/O beyond the C library's time-zone database. The calendar converts
 * between UTC and the configured zone with localtime_r()/mktime(), so sla_calendar_init()
 * sets the process time zone (TZ) to the calendar's: incidentd has one calendar, and every
 * other time in the daemon is UTC arithmetic that does not read TZ.
 */
#ifndef INCIDENTD_DAEMON_CORE_SLA_H
#define INCIDENTD_DAEMON_CORE_SLA_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/core/config.h"
#include "daemon/core/incident.h"

/*
 * Makes cal the calendar of the process: sets TZ to cal->timezone and calls tzset(). Call once
 * at start-up, before any thread starts. Returns 0 or -1 when the zone cannot be loaded.
 */
int sla_calendar_init(const config_calendar_t *cal);

/*
 * True when t (ms since the epoch, UTC) falls in working time: a working weekday, not a
 * holiday, within the working hours, all in the calendar's local time.
 */
bool sla_is_working(const config_calendar_t *cal, int64_t t);

/* The first working moment at or after t. */
int64_t sla_next_working(const config_calendar_t *cal, int64_t t);

/*
 * t plus working_ms of working time: the clock runs only in working hours of working days.
 * A start outside working hours counts from the next working moment.
 */
int64_t sla_add_working_ms(const config_calendar_t *cal, int64_t t, int64_t working_ms);

/*
 * t plus n working days: the same working moment (local time of day) n working days later,
 * skipping weekends and holidays. A start outside working hours counts from the next working
 * moment.
 */
int64_t sla_add_working_days(const config_calendar_t *cal, int64_t t, int64_t n);

/*
 * The deadline of duration d started at t. Clock durations add plain time unless working is
 * true (a rule with calendar = working), in which case d, h, m, s and ms count working time
 * too ("1d" is one working day).
 */
int64_t sla_deadline(const config_calendar_t *cal, config_duration_t d, bool working, int64_t t);

/* True when rule applies to inc: it has a target for the category (and inc is major if the
 * rule is major-only). */
bool sla_rule_applies(const config_sla_t *rule, const incident_t *inc);

typedef enum {
	VERDICT_NOT_STARTED = 0, /* the start stage is not recorded */
	VERDICT_PENDING,         /* started, not stopped, deadline not yet passed */
	VERDICT_MET,             /* stopped at or before the deadline */
	VERDICT_BREACHED,        /* stopped after the deadline, or not stopped and passed */
} sla_verdict_kind_t;

/* "not_started", "pending", "met", "breached". */
const char *sla_verdict_name(sla_verdict_kind_t kind);

typedef struct {
	sla_verdict_kind_t kind;
	int64_t due;        /* when started */
	int64_t stopped_at; /* the stop time under the rule's clock, INT64_MIN when not stopped */
	int64_t late_by_ms; /* breached: stop time (or now) minus due */
	int64_t remaining_ms; /* pending: due minus now */
} sla_verdict_t;

/*
 * The stop time of rule on inc: the stop stage's received time (stop_clock = received) or its
 * reported time (reported); INT64_MIN when the stop stage is not recorded.
 */
int64_t sla_stop_time(const config_sla_t *rule, const incident_t *inc);

/*
 * The verdict of rule for inc at now, computed from the timeline alone. The rule must apply
 * (sla_rule_applies()).
 */
sla_verdict_t sla_verdict(const config_t *cfg, const config_sla_t *rule, const incident_t *inc,
			  int64_t now);

/*
 * Rules by index, SLA rules and problem rules alike: indexes 0 .. n_slas-1 are the SLA rules,
 * then come the problem rules. A problem rule's clock starts at its start stage and stops at
 * the first link of a problem record (incident_first_link()).
 */
size_t sla_rule_count(const config_t *cfg);
const char *sla_rule_name(const config_t *cfg, size_t i);
bool sla_rule_is_problem(const config_t *cfg, size_t i);

/* The start stage of rule i; its stop stage, or -1 for a problem rule. */
int sla_rule_start(const config_t *cfg, size_t i);
int sla_rule_stop_stage(const config_t *cfg, size_t i);

/* True when rule i applies to inc (category target, major; a problem rule's `applies`). */
bool sla_rule_index_applies(const config_t *cfg, size_t i, const incident_t *inc);

/* The due time of rule i for inc; INT64_MIN while its start stage is not recorded. */
int64_t sla_rule_due(const config_t *cfg, size_t i, const incident_t *inc);

/* The stop time of rule i for inc under the rule's clock; INT64_MIN when not stopped. */
int64_t sla_rule_stop(const config_t *cfg, size_t i, const incident_t *inc);

/* The verdict of rule i for inc at now (the rule must apply). */
sla_verdict_t sla_rule_verdict(const config_t *cfg, size_t i, const incident_t *inc, int64_t now);

#endif
