/*
 * breaches: rule deadlines and breaches in the store.
 *
 *   breaches     u64 breach id -> JSON record       every breach ever raised
 *   breach_keys  u64 incident id, rule name -> u64 breach id   (one breach per incident and rule)
 *   deadlines    i64 due, u64 incident id, rule name -> ""     pending deadlines
 *
 * For every incident and rule there is at most one breach, for ever. A rule's clock starts at
 * its start stage; while its stop is missing, the deadline waits in the deadlines database
 * (and in the loop's heap). A breach is raised:
 *  - "deadline": the deadline passed with no stop (breaches_fire());
 *  - "on_arrival": an event revealed it: a stop that came late (its time under the rule's clock
 *    after the due time, or it arrived after the due time), or a start stage reported so far
 *    back that its deadline had already passed.
 * A stop arriving after a breach records its time on the breach (stopped_at).
 *
 * Writes happen in a batch (batch.h) and return 0 or a negative code; reads take any
 * transaction.
 */
#ifndef INCIDENTD_DAEMON_STORE_BREACHES_H
#define INCIDENTD_DAEMON_STORE_BREACHES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/core/deadline_heap.h"
#include "daemon/core/incident.h"
#include "daemon/core/rule.h"
#include "daemon/store/batch.h"
#include "daemon/store/store.h"

/*
 * The clocks of cfg's rules on inc before a report of stage from source is applied: one per
 * rule into clocks (cfg->n_rules), computed for the rules such a report concerns.
 */
void breaches_clocks(const config_t *cfg, const incident_t *inc, int stage, wire_source_t source,
		     rule_clock_t *clocks);

/*
 * After an event added the report `added` to inc: starts, moves, stops or breaches every rule
 * whose clock moved from before (breaches_clocks() before the report was applied), and raises
 * the user-first breach of before_user rules on a user's first report. New breaches are
 * appended to reply_breaches (the event's reply) and published. now_ms is the arrival time.
 */
int breaches_on_event(batch_t *batch, incident_t *inc, const incident_report_t *added,
		      const rule_clock_t *before, int64_t now_ms, batch_result_t *res,
		      json_t *reply_breaches);

/*
 * A problem record was linked to inc for the first time at now_ms: stops the clock of every
 * rule that stops at a link, breaching (on arrival) those already past due.
 */
int breaches_on_link(batch_t *batch, incident_t *inc, int64_t now_ms, batch_result_t *res);

/*
 * The deadline d came up at now_ms: raises its breach when the store still holds it pending;
 * a stale entry (met in time, or of a rule no longer configured) does nothing. Never sets a
 * reply.
 */
int breaches_fire(batch_t *batch, const deadline_t *d, int64_t now_ms, batch_result_t *res);

/*
 * A stored breach record as the wire shows it: breach, incident, provider, category, sla, due,
 * stopped_at, late_by_ms (stop time, or now while unstopped, minus due), detected, detected_at.
 * A new object; NULL when the record lacks its provider, category or rule.
 */
json_t *breaches_wire(const json_t *record, int64_t now_ms);

/* The breaches of inc as the wire shows them (an array; NULL on allocation failure). */
json_t *breaches_of_incident(store_txn_t *txn, const incident_t *inc, int64_t now_ms);

/*
 * Fills heap with every pending deadline of the store (at start-up). Deadlines of rules the
 * configuration no longer has are logged and left alone. Returns 0 or a negative code.
 */
int breaches_load_deadlines(store_t *store, const config_t *cfg, deadline_heap_t *heap);

/*
 * Calls fn(d, arg) for every pending deadline of the store, soonest first (by due time, then
 * incident number, then rule name): the deadlines of rules still configured (d->rule is the
 * index in cfg->rules) whose incident has no breach of that rule yet. Whether the rule's clock
 * has stopped is the caller's to check on the incident (the store drops a deadline when its
 * clock stops). The first nonzero return of fn ends the walk and is returned (a positive value
 * stops it early, a negative one is an error). Returns 0 or a negative code.
 */
int breaches_walk_deadlines(store_txn_t *txn, const config_t *cfg,
			    int (*fn)(const deadline_t *d, void *arg), void *arg);

#endif
