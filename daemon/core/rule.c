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

int64_t rule_due(const config_t *cfg, const config_rule_t *rule, const incident_t *inc)
{
	const incident_stage_t *start = &inc->stages[rule->start];
	if (!start->recorded || inc->category < 1 || inc->category > CONFIG_MAX_CATEGORY)
		return INT64_MIN;
	return calendar_deadline(&cfg->calendar, rule->target[inc->category],
				 rule->working_calendar, start->at_ms);
}

/* The one place where a rule's kind decides how it is evaluated. */
int64_t rule_stop(const config_rule_t *rule, const incident_t *inc)
{
	switch (config_rule_kinds[rule->kind].stops_at) {
	case RULE_STOPS_AT_STAGE: {
		const incident_stage_t *stop = &inc->stages[rule->stop];
		if (!stop->recorded)
			return INT64_MIN;
		return rule->stop_clock_reported ? stop->at_ms : stop->received_ms;
	}
	case RULE_STOPS_AT_LINK:
		return incident_first_link(inc);
	}
	return INT64_MIN;
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
	rule_verdict_t v = { .kind = VERDICT_NOT_STARTED, .due = due, .stopped_at = stop };
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
