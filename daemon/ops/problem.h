/*
 * problem: problem records (PBI ids) and their links to incidents, in the store.
 *
 * A problem record investigates the root cause behind incidents: title, description,
 * status (open, known_error, resolved, closed; any change is allowed, so a closed problem can
 * be reopened), root_cause, workaround. An incident links to at most one problem: linking it
 * elsewhere is a conflict until it is unlinked; linking the same pair again changes nothing.
 * The first link of an incident stops its problem rules (breach_on_link) for good. Every change
 * is appended to the event log; a link publishes problem.linked.
 *
 * The write operations run in the writer's batch (see ledger_write); reads in a read
 * transaction. Each returns 0 with res->fields or res->err set, or an LMDB error.
 */
#ifndef INCIDENTD_DAEMON_OPS_PROBLEM_H
#define INCIDENTD_DAEMON_OPS_PROBLEM_H

#include <jansson.h>

#include "daemon/ops/ledger.h"
#include "daemon/store/store.h"

/* The statuses of a problem record, in their usual order. */
extern const char *const problem_statuses[];

/* op problem.create: title (required), description. Reply {"problem": "PBI..."}. */
int problem_create(ledger_batch_t *batch, store_txn_t *txn, const json_t *req, const char *raw,
		   size_t raw_len, int64_t received_ms, ledger_result_t *res);

/* op problem.update: problem, and any of status, root_cause, workaround. */
int problem_update(ledger_batch_t *batch, store_txn_t *txn, const json_t *req, const char *raw,
		   size_t raw_len, int64_t received_ms, ledger_result_t *res);

/* ops problem.link (link true) and problem.unlink: problem, incident. */
int problem_link(ledger_batch_t *batch, store_txn_t *txn, const json_t *req, const char *raw,
		 size_t raw_len, int64_t received_ms, bool link, ledger_result_t *res);

/* op problem.get: the record with its incidents and their status. */
int problem_get(store_txn_t *txn, const config_t *cfg, const json_t *req, ledger_result_t *res);

/* op problem.list: every record (newest first), optionally of one status. */
int problem_list(store_txn_t *txn, const json_t *req, ledger_result_t *res);

#endif
