/*
 * rule: rules applied to one incident. See rule.h.
 */
#include "daemon/core/rule.h"

#include <string.h>

#include "daemon/core/calendar.h"

static const char *const s_verdict_names[] = { "not_started", "pending", "met", "breached" };

bool rule_applies(const config_rule_t *rule, const incident_t *inc)
{
	if (inc->category < 1 || inc->category > CONFIG_MAX_CATEGORY)
		return false;
	return rule->has_target[inc->category] && (!rule->major_only || inc->major);
}

int64_t rule_start(const config_rule_t *rule, const incident_t *inc)
{
	return incident_stage_time(inc, rule->start, rule->start_sources, rule->start_clock_received);
}

int64_t rule_due(const config_t *cfg, const config_rule_t *rule, const incident_t *inc)
{
	int64_t start = rule_start(rule, inc);
	if (start == INT64_MIN || inc->category < 1 || inc->category > CONFIG_MAX_CATEGORY)
		return INT64_MIN;
	return calendar_deadline(&cfg->calendar, rule->target[inc->category],
				 rule->working_calendar, start);
}

/* The one place where a rule's kind decides how it is evaluated. */
int64_t rule_stop(const config_rule_t *rule, const incident_t *inc)
{
	switch (config_rule_kinds[rule->kind].stops_at) {
	case RULE_STOPS_AT_STAGE:
		return incident_stage_time(inc, rule->stop, rule->stop_sources,
					   !rule->stop_clock_reported);
	case RULE_STOPS_AT_LINK:
		return incident_first_link(inc);
	}
	return INT64_MIN;
}

int64_t rule_stop_arrival(const config_rule_t *rule, const incident_t *inc)
{
	switch (config_rule_kinds[rule->kind].stops_at) {
	case RULE_STOPS_AT_STAGE:
		return incident_stage_time(inc, rule->stop, rule->stop_sources, true);
	case RULE_STOPS_AT_LINK:
		return incident_first_link(inc);
	}
	return INT64_MIN;
}

/* The start of rule's clock from the reports that had arrived by cutoff; INT64_MIN: none. */
static int64_t s_start_by(const config_rule_t *rule, const incident_t *inc, int64_t cutoff)
{
	int64_t t = INT64_MIN;
	for (size_t i = 0; i < inc->n_reports; i++) {
		const incident_report_t *r = &inc->reports[i];
		if (r->stage != rule->start || !(rule->start_sources & (1u << r->source))
		    || r->received_ms > cutoff)
			continue;
		int64_t ms = rule->start_clock_received ? r->received_ms : r->at_ms;
		if (t == INT64_MIN || ms < t)
			t = ms;
	}
	return t;
}

int64_t rule_user_first_due(const config_t *cfg, const config_rule_t *rule, const incident_t *inc)
{
	if (!rule->before_user || inc->category < 1 || inc->category > CONFIG_MAX_CATEGORY)
		return INT64_MIN;
	int64_t user = incident_first_from(inc, SOURCE_USER);
	if (user == INT64_MIN)
		return INT64_MIN;
	int64_t stop = rule_stop_arrival(rule, inc);
	if (stop != INT64_MIN && stop <= user)
		return INT64_MIN;
	/* Already breached when the user's report came: its deadline is the breach. */
	int64_t start = s_start_by(rule, inc, user);
	if (start != INT64_MIN &&
	    calendar_deadline(&cfg->calendar, rule->target[inc->category], rule->working_calendar,
			      start) < user)
		return INT64_MIN;
	return user;
}

rule_clock_t rule_clock(const config_t *cfg, const config_rule_t *rule, const incident_t *inc)
{
	if (!rule_applies(rule, inc))
		return (rule_clock_t){ true, INT64_MIN, INT64_MIN };
	return (rule_clock_t){ true, rule_due(cfg, rule, inc), rule_stop(rule, inc) };
}

bool rule_concerns(const config_rule_t *rule, int stage, wire_source_t source, bool was_major)
{
	unsigned bit = 1u << source;
	bool stops_at_stage = config_rule_kinds[rule->kind].stops_at == RULE_STOPS_AT_STAGE;
	return (stage == rule->start && (rule->start_sources & bit)) ||
	       (stops_at_stage && stage == rule->stop && (rule->stop_sources & bit)) ||
	       (rule->major_only && !was_major) || (rule->before_user && source == SOURCE_USER);
}

const char *rule_verdict_name(rule_verdict_kind_t kind)
{
	if ((unsigned)kind >= sizeof s_verdict_names / sizeof s_verdict_names[0])
		return NULL;
	return s_verdict_names[kind];
}

rule_verdict_t rule_verdict(const config_t *cfg, const config_rule_t *rule, const incident_t *inc,
			    int64_t now)
{
	int64_t due = rule_due(cfg, rule, inc), stop = rule_stop(rule, inc);
	int64_t user = rule_user_first_due(cfg, rule, inc);
	rule_verdict_t v = { .kind = VERDICT_NOT_STARTED, .due = due, .stopped_at = stop };
	if (user != INT64_MIN) {
		/* A user told the operator first: breached from that moment, whatever came after. */
		int64_t late = (stop != INT64_MIN ? stop : now) - user;
		return (rule_verdict_t){ .kind = VERDICT_BREACHED, .due = user, .stopped_at = stop,
					 .late_by_ms = late > 0 ? late : 0 };
	}
	if (due == INT64_MIN)
		return v;
	if (stop != INT64_MIN) {
		v.kind = stop <= due ? VERDICT_MET : VERDICT_BREACHED;
		if (v.kind == VERDICT_BREACHED)
			v.late_by_ms = stop - due;
	} else if (now > due) {
		v.kind = VERDICT_BREACHED;
		v.late_by_ms = now - due;
	} else {
		v.kind = VERDICT_PENDING;
		v.remaining_ms = due - now;
	}
	return v;
}

int rule_find(const config_t *cfg, const char *name, size_t len)
{
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const char *r = cfg->rules[i].name;
		if (strlen(r) == len && memcmp(r, name, len) == 0)
			return (int)i;
	}
	return -1;
}
