/*
 * breach: SLA and problem-rule deadlines and breaches in the store.
 *
 * For every incident and rule there is at most one breach, for ever (breach_keys). A rule's
 * clock starts at its start stage; while its stop stage is missing, the deadline waits in
 * the deadlines database (and in the loop's heap). A breach is raised:
 *  - "deadline": the deadline passed with no stop stage (ledger_fire);
 *  - "on_arrival": an event revealed it: a stop stage that came late (its time under the rule's
 *    clock after the due time, or it arrived after the due time), or a start stage reported so
 *    far back that its deadline had already passed.
 * A stop stage arriving after a breach records its time on the breach (stopped_at).
 */
#ifndef INCIDENTD_DAEMON_OPS_BREACH_H
#define INCIDENTD_DAEMON_OPS_BREACH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/core/deadline_heap.h"
#include "daemon/core/incident.h"
#include "daemon/ops/ledger.h"
#include "daemon/store/store.h"

/*
 * After an event recorded stage on inc (already saved): starts, stops or breaches every rule
 * the stage concerns. became_major is true when this event made inc major. New breaches are
 * appended to reply_breaches (the event's reply) and published. now_ms is the arrival time.
 * Returns 0 or an LMDB error.
 */
int breach_on_event(ledger_batch_t *batch, store_txn_t *txn, incident_t *inc, int stage,
		    bool became_major, int64_t now_ms, ledger_result_t *res, json_t *reply_breaches);

/*
 * A problem record was linked to inc for the first time at now_ms: stops the clock of every
 * problem rule that applies, breaching (on arrival) those already past due.
 */
int breach_on_link(ledger_batch_t *batch, store_txn_t *txn, incident_t *inc, int64_t now_ms,
		   ledger_result_t *res);

/* The deadline d came up at now_ms: see ledger_fire(). */
int breach_fire(ledger_batch_t *batch, store_txn_t *txn, const deadline_t *d, int64_t now_ms,
		ledger_result_t *res);

/*
 * The verdicts of every rule (SLA and problem rules) that applies to inc at now_ms:
 * {"RULE": {"verdict", "due", "stopped_at", "late_by_ms" | "remaining_ms"}}.
 */
json_t *breach_verdicts(const config_t *cfg, const incident_t *inc, int64_t now_ms);

/* The breaches of inc as the wire shows them (an array; NULL on error). */
json_t *breach_of_incident(store_txn_t *txn, const incident_t *inc, int64_t now_ms);

/* A page of the breaches op: limit's default and maximum. */
#define BREACH_PAGE_DEFAULT 1000
#define BREACH_PAGE_MAX 10000

/*
 * op "breaches": the breaches in the order they were raised, filtered by provider, sla and
 * since (detected_at), a page of `limit` at a time (default 1000); "next" is the cursor of
 * the following page, or null.
 */
int breach_query(store_txn_t *txn, const json_t *req, int64_t now_ms, ledger_result_t *res);

/*
 * Fills heap with every pending deadline of the store (at start-up). Deadlines of rules the
 * configuration no longer has are logged and left alone. Returns 0 or an LMDB error.
 */
int breach_load_deadlines(store_t *store, const config_t *cfg, deadline_heap_t *heap);

#endif
