/*
 * batch: one write transaction of the writer thread, and what the operations inside it share.
 *
 * The writer takes every queued request into one transaction (group commit). A batch carries
 * from one request to the next: the id and sequence counters (read once, saved once), the
 * decoded incidents (incident_cache, each changed one saved once), the publish sequence, and
 * the log lines to write once the batch commits. What one request produced (its reply, the
 * messages to publish, the deadlines to arm) is its batch_result_t, handed to the event loop
 * after the commit.
 *
 * Every function returns 0 or a negative code (store_strerror()): an LMDB code or -errno,
 * after which the batch must be aborted (and may be retried: MDB_MAP_FULL). A request refused
 * for its content is not an error: its result carries the refusal (batch_refuse()).
 */
#ifndef INCIDENTD_DAEMON_STORE_BATCH_H
#define INCIDENTD_DAEMON_STORE_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/core/deadline_heap.h"
#include "daemon/core/incident.h"
#include "daemon/store/incident_cache.h"
#include "daemon/store/store.h"
#include "daemon/sys/log.h"
#include "daemon/sys/metrics.h"
#include "proto/wire.h"

/*
 * One message to publish after the commit: its topic (malloc'd) and JSON body (owned). The
 * body is serialised on the loop thread, off the writer's critical path.
 */
typedef struct batch_pub {
	struct batch_pub *next;
	char *topic;
	json_t *body;
} batch_pub_t;

/* Frees a list of messages; accepts NULL. */
void batch_pubs_free(batch_pub_t *pubs);

/*
 * The reply to an event, kept as values: the loop thread writes its text (op_event_reply_text()
 * in ops/event.h) without building a json_t on either thread.
 */
typedef struct {
	bool set;             /* the event was accepted (or was a duplicate of an accepted one) */
	bool duplicate;
	uint64_t incident;
	incident_status_t status;
	json_t *breaches;     /* owned: the breaches it revealed; NULL when none */
} batch_event_reply_t;

/* What one request produced. batch_result_init() sets each member by name: add new ones there. */
typedef struct {
	json_t *fields;       /* owned; NULL when refused or when event is set */
	batch_event_reply_t event; /* the reply of an accepted event */
	wire_error_t err;     /* set when neither fields nor event is */
	batch_pub_t *pubs;    /* owned list, in publish order; only after a commit */
	batch_pub_t **pubs_tail;
	deadline_t *arm;      /* owned: deadlines to arm once committed */
	size_t n_arm;
} batch_result_t;

void batch_result_init(batch_result_t *res);
/* Frees what res owns and initialises it again. */
void batch_result_clear(batch_result_t *res);

/*
 * Ends a request as refused, with res->err already set (by a decoder, or the caller): no
 * reply fields. Returns 0, so that an operation can `return batch_refuse(res);`.
 */
int batch_refuse(batch_result_t *res);

/*
 * Refuses the request with `internal` ("WHAT: reason" of the store code rc) and logs it.
 * Returns 0: the request failed, the batch goes on.
 */
int batch_internal(batch_result_t *res, const char *what, int rc);

/* Adds d to the deadlines res arms after its commit. Returns 0 or -ENOMEM. */
int batch_arm(batch_result_t *res, deadline_t d);

/* The id and sequence counters of the store, kept in the batch between its requests. */
typedef enum {
	BATCH_LOG_SEQ = 0,     /* event log records */
	BATCH_LAST_INCIDENT,   /* INC numbers */
	BATCH_LAST_BREACH,     /* BRE numbers */
	BATCH_LAST_PROBLEM,    /* PBI numbers */
	BATCH_N_COUNTERS
} batch_counter_t;

typedef struct {
	const config_t *cfg;
	store_txn_t *txn;     /* the batch's write transaction */
	incident_cache_t *cache; /* the writer's decoded incidents; changed ones saved at finish */
	uint64_t counters[BATCH_N_COUNTERS]; /* last values handed out */
	bool loaded[BATCH_N_COUNTERS];       /* read from the store in this batch */
	bool dirty[BATCH_N_COUNTERS];        /* to be saved by batch_finish() */
	uint64_t pub_seq;     /* the last publish seq handed out */
	int alerts_queued;    /* outbox entries written in this batch */
	int64_t now_ms;       /* when the batch began */
	bool listening;       /* some subscriber wants messages (as the batch began) */
	log_buf_t *log;       /* lines to write once the batch commits (breaches) */
	/*
	 * The breaches raised and outbox entries written, for the metrics once the batch commits;
	 * NULL (set by batch_start()) counts nothing. The writer sets its own after the start.
	 */
	metrics_tally_t *tally;
} batch_t;

/*
 * Begins a batch in the write transaction txn at now_ms, using (and trimming) cache; listening
 * says whether any subscriber wants messages; log (may be NULL: lines are then written at
 * once) keeps the lines to write after the commit. Returns 0 or a negative code.
 */
int batch_start(batch_t *batch, const config_t *cfg, incident_cache_t *cache, store_txn_t *txn,
		int64_t now_ms, bool listening, log_buf_t *log);

/*
 * Saves the counters and every incident the batch changed, before the commit. Returns 0 or a
 * negative code. If the transaction is then aborted (or any call returned an error), the
 * caller must clear the cache.
 */
int batch_finish(batch_t *batch);

/* The next value of counter (the last one plus 1), saved once by batch_finish(). */
int batch_next(batch_t *batch, batch_counter_t counter, uint64_t *out);

/*
 * The incident number id for changing in this batch (borrowed from the cache; loaded on
 * first use). Returns 0, MDB_NOTFOUND, MDB_CORRUPTED or another negative code.
 */
int batch_incident(batch_t *batch, uint64_t id, incident_t **inc_out);

/*
 * Adds inc, a new incident, to the batch's incidents (the cache takes it, also on failure):
 * it is saved by batch_finish(). Returns 0 or -ENOMEM.
 */
int batch_incident_add(batch_t *batch, incident_t *inc);

/* Marks a cached incident changed: it is saved by batch_finish(). */
void batch_touch(batch_t *batch, const incident_t *inc);

/*
 * True when a message on topic would reach anyone: a subscriber, or a hook whose topics
 * match. When false, batch_publish() only counts the seq, so callers may skip building it.
 */
bool batch_wanted(const batch_t *batch, const char *topic);

/*
 * Queues body on topic for publishing after the commit, with the next seq as its first
 * member, and puts it in the outbox of every hook whose topics match. Takes body, which may be
 * NULL when batch_wanted() is false (the seq is then only counted); a NULL body that someone
 * wants is -ENOMEM (building it failed). Returns 0 or a negative code.
 */
int batch_publish(batch_t *batch, batch_result_t *res, const char *topic, json_t *body);

/*
 * Appends one accepted change to the event log (the audit trail), keeping the request frame
 * raw byte for byte: {"kind": KIND, "received_at": MS, "by": NAME or null, MEMBERS, "request":
 * <raw>}. by is the client that made the change (NULL: anonymous); members is JSON object
 * members without braces ("\"incident\":5"). The log seq goes to *seq_out when not NULL.
 * Returns 0 or a negative code.
 */
int batch_log_append(batch_t *batch, const char *kind, int64_t received_ms, const char *by,
		     const char *members, const char *raw, size_t raw_len, uint64_t *seq_out);

#endif
