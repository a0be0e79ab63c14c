/*
 * ledger: the operations of the API applied to the store.
 *
 * Writes (ledger_write) run inside the writer thread's batch transaction; reads run on any
 * thread in their own read transaction. Each operation validates everything before it writes
 * anything, so a refused request leaves the store as it was, even inside a shared batch.
 */
#ifndef INCIDENTD_DAEMON_LEDGER_H
#define INCIDENTD_DAEMON_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/config.h"
#include "daemon/store.h"
#include "proto/wire.h"

/* One message to publish after the commit: topic and compact JSON body (both malloc'd). */
typedef struct ledger_pub {
	struct ledger_pub *next;
	char *topic;
	char *body;
	size_t body_len;
} ledger_pub_t;

/* Frees a list of messages. */
void ledger_pubs_free(ledger_pub_t *pubs);

/* The outcome of one operation: reply fields, or an error for the peer. */
typedef struct {
	json_t *fields;       /* owned; NULL when failed */
	wire_error_t err;     /* set when fields is NULL */
	ledger_pub_t *pubs;   /* owned list, in publish order; only after a commit */
	ledger_pub_t **pubs_tail;
} ledger_result_t;

void ledger_result_init(ledger_result_t *res);
void ledger_result_clear(ledger_result_t *res);

/*
 * The state a batch of writes carries from one request to the next: the publish sequence,
 * saved to the store by ledger_batch_finish().
 */
typedef struct {
	const config_t *cfg;
	uint64_t pub_seq;     /* the last seq handed out */
} ledger_batch_t;

/* Loads the batch state from txn. Returns 0 or an LMDB error. */
int ledger_batch_start(ledger_batch_t *batch, const config_t *cfg, store_txn_t *txn);

/* Saves the batch state into txn before it commits. Returns 0 or an LMDB error. */
int ledger_batch_finish(ledger_batch_t *batch, store_txn_t *txn);

/* True when op changes state and must go through the writer. */
bool ledger_op_writes(const char *op);

/*
 * Applies one state-changing request (op "event") received at received_ms, inside the write
 * transaction txn. Returns 0 with res->fields set, 0 with res->err set when the request is
 * refused (nothing written), or a positive LMDB error after which the batch must be aborted
 * (and may be retried: MDB_MAP_FULL).
 */
int ledger_write(ledger_batch_t *batch, store_txn_t *txn, const json_t *req, const char *op,
		 int64_t received_ms, ledger_result_t *res);

/*
 * Answers one read-only request (ops get, list, status) in its own read transaction.
 * uptime_s is reported by status. Returns 0 with res->fields or res->err set (not_found,
 * bad_request, unknown_op, internal).
 */
int ledger_read(store_t *store, const config_t *cfg, const json_t *req, const char *op,
		int64_t uptime_s, ledger_result_t *res);

#endif
