/*
 * ledger: the operations of the API applied to the store.
 *
 * Writes (ledger_write) run inside the writer thread's batch transaction; reads run on any
 * thread in their own read transaction. Each operation validates everything before it writes
 * anything, so a refused request leaves the store as it was, even inside a shared batch.
 */
#ifndef INCIDENTD_DAEMON_OPS_LEDGER_H
#define INCIDENTD_DAEMON_OPS_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/core/deadline_heap.h"
#include "daemon/core/incident.h"
#include "daemon/store/incident_cache.h"
#include "daemon/sys/log.h"
#include "daemon/store/store.h"
#include "proto/wire.h"

/*
 * One message to publish after the commit: its topic (malloc'd) and JSON body (owned). The
 * body is serialised on the loop thread, off the writer's critical path.
 */
typedef struct ledger_pub {
	struct ledger_pub *next;
	char *topic;
	json_t *body;
} ledger_pub_t;

/* Frees a list of messages. */
void ledger_pubs_free(ledger_pub_t *pubs);

/* The outcome of one operation: reply fields, or an error for the peer. */
/*
 * The reply to an event, kept as values: the loop thread writes its text with
 * ledger_event_reply_text(), without building a json_t on either thread.
 */
typedef struct {
	bool set;             /* the event was accepted (or was a duplicate of an accepted one) */
	bool duplicate;
	uint64_t incident;
	incident_status_t status;
	json_t *breaches;     /* owned: the breaches it revealed; NULL when none */
} ledger_event_reply_t;

/* What one request produced. ledger_result_init() sets each member by name: add new ones there. */
typedef struct {
	json_t *fields;       /* owned; NULL when failed or when event is set */
	ledger_event_reply_t event; /* the reply of an accepted event */
	wire_error_t err;     /* set when neither fields nor event is */
	ledger_pub_t *pubs;   /* owned list, in publish order; only after a commit */
	ledger_pub_t **pubs_tail;
	deadline_t *arm;      /* owned: deadlines to arm once committed */
	size_t n_arm;
} ledger_result_t;

void ledger_result_init(ledger_result_t *res);
void ledger_result_clear(ledger_result_t *res);

/*
 * The state a batch of writes carries from one request to the next: the publish sequence,
 * saved to the store by ledger_batch_finish().
 */
/* The id and sequence counters of the store, kept in the batch between its requests. */
typedef enum {
	LEDGER_LOG_SEQ = 0,     /* event log records */
	LEDGER_LAST_INCIDENT,   /* INC numbers */
	LEDGER_LAST_BREACH,     /* BRE numbers */
	LEDGER_LAST_PROBLEM,    /* PBI numbers */
	LEDGER_N_COUNTERS
} ledger_counter_t;

typedef struct {
	const config_t *cfg;
	incident_cache_t *cache;
	uint64_t counters[LEDGER_N_COUNTERS]; /* last values handed out */
	bool loaded[LEDGER_N_COUNTERS];       /* read from the store in this batch */
	bool dirty[LEDGER_N_COUNTERS];        /* to be saved by ledger_batch_finish() */ /* the writer's decoded incidents; changed ones saved at finish */
	uint64_t pub_seq;     /* the last seq handed out */
	int alerts_queued;    /* outbox entries written in this batch */
	int64_t now_ms;       /* when the batch began */
	bool listening;       /* some subscriber wants messages (as the batch began) */
	log_buf_t *log;       /* lines to write once the batch commits (breaches) */
} ledger_batch_t;

/*
 * Loads the batch state from txn, for a batch begun at now_ms, using (and trimming) cache;
 * listening says whether any subscriber wants messages; log (may be NULL: lines are then
 * written at once) keeps the lines to write after the commit. Returns 0 or an LMDB error.
 */
int ledger_batch_start(ledger_batch_t *batch, const config_t *cfg, incident_cache_t *cache,
		       store_txn_t *txn, int64_t now_ms, bool listening, log_buf_t *log);

/*
 * Saves the batch state and every incident the batch changed into txn before it commits.
 * Returns 0 or an LMDB error. If the transaction is then aborted (or any call returned an
 * LMDB error), the caller must clear the cache.
 */
int ledger_batch_finish(ledger_batch_t *batch, store_txn_t *txn);

/*
 * The next value of counter (the last one plus 1), counted in the batch and saved once by
 * ledger_batch_finish(). Returns 0 or an LMDB error.
 */
int ledger_next(ledger_batch_t *batch, store_txn_t *txn, ledger_counter_t counter,
		uint64_t *out);

/*
 * The incident number id for changing in this batch (borrowed from the cache; loaded on
 * first use). Returns 0, MDB_NOTFOUND, MDB_CORRUPTED or another LMDB error.
 */
int ledger_batch_incident(ledger_batch_t *batch, store_txn_t *txn, uint64_t id,
			  incident_t **inc_out);

/* Marks a cached incident changed: it is saved by ledger_batch_finish(). */
void ledger_batch_touch(ledger_batch_t *batch, const incident_t *inc);

/* True when op changes state and must go through the writer. */
bool ledger_op_writes(const char *op);

/*
 * Applies one state-changing request (ops "event" and "problem.*") received at received_ms,
 * inside the write transaction txn. raw is the request frame as received (raw_len bytes),
 * kept in the event log. Returns 0 with res->fields (or res->event) set, 0 with res->err set
 * when the request is refused (nothing written), or a positive LMDB error after which the
 * batch must be aborted (and may be retried: MDB_MAP_FULL).
 */
int ledger_write(ledger_batch_t *batch, store_txn_t *txn, const json_t *req, const char *op,
		 const char *raw, size_t raw_len, int64_t received_ms, ledger_result_t *res);

/*
 * Applies one "event" request as ledger_write() does, from its decoded fields ev (from
 * wire_event_scan() on the loop thread), or, when ev is NULL, by decoding req. req may be
 * NULL when ev is not: it is then parsed from raw only if the event turns out to be a retry,
 * whose content must be compared.
 */
int ledger_event(ledger_batch_t *batch, store_txn_t *txn, const wire_event_t *ev,
		 const json_t *req, const char *raw, size_t raw_len, int64_t received_ms,
		 ledger_result_t *res);

/*
 * The reply frame {"ok":true,"id":ID,"incident","duplicate","status","breaches"} of an
 * accepted event. The id is id_text (id_len bytes of JSON, as the request carried it) when
 * not NULL, else the value id when not NULL, else left out. Returns a malloc'd text and its
 * length in *len_out; NULL on allocation failure.
 */
char *ledger_event_reply_text(const ledger_event_reply_t *reply, const char *id_text,
			      size_t id_len, const json_t *id, size_t *len_out);

/*
 * True when a message on topic would reach anyone: a subscriber, or a hook whose topics
 * match. When false, ledger_publish() only counts the seq, so callers may skip building it.
 */
bool ledger_wanted(const ledger_batch_t *batch, const char *topic);

/*
 * Queues body on topic for publishing after the commit, with the next seq as its first
 * member, and puts it in the outbox of every hook whose topics match. Takes body. Returns 0
 * or an LMDB error (abort the batch).
 */
int ledger_publish(ledger_batch_t *batch, store_txn_t *txn, ledger_result_t *res,
		   const char *topic, json_t *body);

/*
 * Appends one accepted change to the event log (the audit trail), keeping the request frame
 * raw byte for byte: {"kind": KIND, "received_at": MS, MEMBERS, "request": <raw>}. members is
 * JSON object members without braces ("\"incident\":5"). The log seq goes to *seq_out when
 * not NULL. Returns 0 or an LMDB error.
 */
int ledger_log_append(ledger_batch_t *batch, store_txn_t *txn, const char *kind,
		      int64_t received_ms, const char *members, const char *raw, size_t raw_len,
		      uint64_t *seq_out);

/* Refuses the request with `internal` ("WHAT: LMDB message") and logs it. Returns 0. */
int ledger_internal(ledger_result_t *res, const char *what, int rc);

/* Adds d to the deadlines res arms after its commit. Returns 0 or ENOMEM. */
int ledger_arm(ledger_result_t *res, deadline_t d);

/*
 * A pending deadline came up (on the loop's timer): raises its breach in txn when the store
 * still holds it pending; a stale entry (met in time) does nothing. Never sets a reply.
 * Returns 0 or an LMDB error.
 */
int ledger_fire(ledger_batch_t *batch, store_txn_t *txn, const deadline_t *d, int64_t now_ms,
		ledger_result_t *res);

/*
 * Answers one read-only request (ops get, list, breaches, status) in its own read
 * transaction, at now_ms. uptime_s is reported by status. Returns 0 with res->fields or
 * res->err set (not_found, bad_request, unknown_op, internal).
 */
int ledger_read(store_t *store, const config_t *cfg, const json_t *req, const char *op,
		int64_t now_ms, int64_t uptime_s, ledger_result_t *res);

/*
 * Loads incident number id into *inc_out (caller destroys it). Returns 0, MDB_NOTFOUND,
 * MDB_CORRUPTED for a malformed record, or another LMDB error.
 */
int ledger_incident_load(store_txn_t *txn, const config_t *cfg, uint64_t id, incident_t **inc_out);

/*
 * Turns one record of a paged walk into its reply row: *row_out is the new row, or NULL when
 * the record does not pass the request's filters. Returns 0 or an LMDB error.
 */
typedef int (*ledger_row_cb)(store_txn_t *txn, uint64_t id, const MDB_val *value, void *arg,
			     json_t **row_out);

/*
 * The one paging mechanism of list, breaches and problem.list: walks db (keyed by big-endian
 * u64 ids) newest first from below cursor, or oldest first from after it, collects up to
 * limit rows and sets res->fields to {KEY: [rows], "next": cursor of the next page or null}.
 * One more matching record past the page is what makes "next" non-null. Returns 0 with
 * res->fields or res->err (internal) set.
 */
int ledger_page(store_txn_t *txn, store_db_t db, bool newest_first, uint64_t cursor,
		unsigned limit, ledger_row_cb row, void *arg, const char *key,
		ledger_result_t *res);

/* Saves inc's record. Returns 0 or an LMDB error. */
int ledger_incident_save(store_txn_t *txn, const config_t *cfg, const incident_t *inc);

#endif
