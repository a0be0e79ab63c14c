/*
 * report: the monthly report, computed from incidents' timelines alone.
 *
 * Pure: the caller feeds every incident that may matter (report_add) and asks for the JSON.
 * Semantics (proto/PROTOCOL.md, "report"):
 *  - months are UTC calendar months of reported times: [start, end);
 *  - an incident opens at the earliest reported time of its timeline (incident_opened_at)
 *    and resolves at incident_resolved_at (a closed incident without a resolved stage
 *    resolves at its closed time); an incident resolved after the month counts as open at
 *    the month's end: a past month is reported as it stood then;
 *  - per provider: opened (opened in the month), user_first (of those, the user-first ones:
 *    incident_user_first()), resolved (resolved in the month),
 *    open_at_start, open_at_end, open (the ids open at the month's end, ascending);
 *  - every provider with an incident open at some moment of the month is listed (opened
 *    before the end and not resolved before the start), sorted by name;
 *  - per rule (SLA rules under "sla", problem rules under "problem_rules", each keyed by rule
 *    name) and per category under "categories" ("1".."5": every category the rule covers,
 *    by a target or a problem rule's applies, and any other that counted something): met,
 *    breached, percent_met (met / (met + breached) * 100, null when both
 *    are 0). Each incident counts once per rule, by its verdict (rule_verdict() at now):
 *    met in the month its stop time fell in, breached in the month its due time fell in;
 *    pending and not-started incidents are not counted. A rule that does not apply to an
 *    incident does not count it. Every configured rule appears for every listed provider,
 *    with zeros when nothing counted;
 *  - per measure ([measure NAME], under "measures" keyed by measure name, every configured
 *    measure for every listed provider): rule, categories, target, minimum (null when none),
 *    and met, breached, percent_met of its rule's verdicts in its categories, counted as the
 *    rule's; level: "target" (percent_met, as shown: rounded to hundredths, >= target),
 *    "below_minimum" (below the minimum, when set), "below_target", or null when nothing
 *    counted (a month is below target by the same comparison);
 *    months_below_target: the run of months below target ending with the latest month that
 *    counted something (months that counted nothing, this one included, are skipped);
 *    below_target_in_24: the months below target among this one and the 23 before. Both look
 *    back over those 24 months only (a run of 24 means 24 or more). A provider's earlier
 *    months never make it listed.
 */
#ifndef INCIDENTD_DAEMON_CORE_REPORT_H
#define INCIDENTD_DAEMON_CORE_REPORT_H

#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/core/incident.h"

typedef struct report report_t;

/*
 * Parses "YYYY-MM" (month 01-12, year 1970-9999) into the month's first ms and the next
 * month's first ms, UTC. Returns 0 or -EINVAL.
 */
int report_month_parse(const char *text, int64_t *start_out, int64_t *end_out);

/*
 * A report of the month [start, end) at now, for every provider or only provider (when not
 * NULL; copied). cfg must outlive the report. NULL on allocation failure.
 */
report_t *report_new(const config_t *cfg, int64_t start, int64_t end, int64_t now,
		     const char *provider);

/*
 * True when an incident opened at opened_at may count in the report: it opened before the
 * month's end. Lets the caller skip loading the others (rules count by due and stop times,
 * which never come before the opening). Every incident opened earlier must be fed, however
 * long ago: measures count the 24 months ending with this one, and a rule may stop or fall
 * due long after its incident opened.
 */
bool report_wants(const report_t *report, int64_t opened_at);

/* Counts inc (any incident; those that do not concern the month are ignored). 0 or -ENOMEM. */
int report_add(report_t *report, const incident_t *inc);

/*
 * The reply fields: {"month": month_text, "providers": [...]} as described above. A new
 * object; NULL on allocation failure.
 */
json_t *report_to_json(const report_t *report, const char *month_text);

/* Frees the report; accepts NULL and sets *report_p = NULL. */
void report_destroy(report_t **report_p);

#endif
