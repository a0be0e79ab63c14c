/*
 * outbox: the hook deliveries waiting in the store, and the index that finds the next one due.
 *
 * A message whose topic matches a hook's prefixes is put in the outbox inside the same write
 * transaction that produced it, so a committed alert is never lost. Two databases hold it:
 *
 *   outbox      hook name NUL, u64 delivery id  ->  JSON {"delivery", "hook", "topic",
 *               "body" (the message text), "attempts", "next_attempt" (ms), "created" (ms)}
 *   outbox_due  hook name NUL, i64 due (ms), u64 delivery id  ->  ""
 *
 * Integers are big-endian (store_u64_encode, store_i64_encode), so the first outbox_due key at
 * or after "name NUL" is the hook's delivery due first, ties going to the lowest id: taking the
 * next delivery is one cursor seek, however long the hook's backlog. Every function here keeps
 * the two databases in step within its transaction. Times are wall-clock milliseconds, which
 * keep their meaning across a restart.
 *
 * This module stores; it does not decide. When to retry and when to give up is the delivery
 * threads' policy (daemon/edge/alerts.c).
 *
 * Errors follow the project's convention: 0 or a negative code, LMDB's own (MDB_NOTFOUND,
 * MDB_MAP_FULL, ...) or -errno (-ENOMEM), passed through unchanged.
 */
#ifndef INCIDENTD_DAEMON_STORE_OUTBOX_H
#define INCIDENTD_DAEMON_STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/store/store.h"
#include "daemon/sys/metrics.h"
#include "proto/topic.h"

/* True when topic starts with one of hook's topic prefixes ("breach." when it has none). */
bool outbox_hook_matches(const config_hook_t *hook, const char *topic);

/*
 * Inside the write transaction txn: puts msg (its text, as jsonw writes it) in the outbox of
 * every hook of cfg whose topics match topic, due at once (now_ms). A message on
 * TOPIC_HOOK_GAVE_UP (a hook's give-up) is not queued for the hook its "hook" member names, nor for any hook
 * when its "topic" member is TOPIC_HOOK_GAVE_UP. Delivery ids come from the meta counter
 * "last_delivery". *queued gets the number of entries written (0 when
 * none matched); tally (may be NULL) counts them per hook, for the metrics. Returns 0, -ENOMEM, or an LMDB error (MDB_MAP_FULL: abort the transaction,
 * grow the map, retry).
 */
int outbox_enqueue(store_txn_t *txn, const config_t *cfg, const char *topic, const json_t *msg,
		   int64_t now_ms, metrics_tally_t *tally, int *queued);

/* One delivery copied out of its read transaction. Everything it points to is owned by it. */
typedef struct {
	uint64_t delivery;
	int64_t due;         /* its key in outbox_due */
	char *topic;         /* NULL when corrupt */
	char *body;          /* the message text, NUL-terminated; NULL when corrupt */
	size_t body_len;
	int attempts;        /* attempts made so far */
	int64_t created;     /* when it was queued */
	bool corrupt;        /* the entry is missing or unreadable: drop it, do not attempt it */
} outbox_entry_t;

/* Frees what entry holds and zeroes it. Accepts a zeroed entry. */
void outbox_entry_release(outbox_entry_t *entry);

/*
 * In txn (read or write): copies the deliveries of hook that are due at now_ms, in due order
 * (ties: lowest id first), into entries[0 .. *n) (release each), at most max of them.
 * *next_due is the due time of the first delivery not taken, INT64_MAX when none is left.
 * Returns 0, -ENOMEM or an LMDB error (then *n is 0).
 */
int outbox_take(store_txn_t *txn, const char *hook, int64_t now_ms, outbox_entry_t *entries,
		size_t max, size_t *n, int64_t *next_due);

/*
 * In the write transaction txn: removes entry (delivered, given up, or corrupt) from both
 * databases. Returns 0, MDB_NOTFOUND when it was not there, or another LMDB error.
 */
int outbox_remove(store_txn_t *txn, const char *hook, const outbox_entry_t *entry);

/*
 * In the write transaction txn: records a failed attempt of entry: its attempts become
 * attempts and it is due again at next_due. Returns 0, MDB_NOTFOUND when the entry is gone,
 * MDB_CORRUPTED when it cannot be read, -ENOMEM, or another LMDB error.
 */
int outbox_retry(store_txn_t *txn, const char *hook, const outbox_entry_t *entry, int attempts,
		 int64_t next_due);

/*
 * In txn: *count gets the number of deliveries waiting for a hook cfg does not have (they are
 * kept, and would be sent again once the hook is back), and per_hook (NULL, or cfg->n_hooks
 * counts) the number waiting for each of cfg's hooks. One walk of the outbox: for start-up.
 * Returns 0 or an LMDB error.
 */
int outbox_orphans(store_txn_t *txn, const config_t *cfg, size_t *count, size_t *per_hook);

/*
 * The schema 2 migration step: in the write transaction txn, builds outbox_due from every
 * entry of outbox (a store written by schema 1 has no index). An entry whose due time cannot
 * be read is indexed as due at once, so it is dropped as corrupt rather than forgotten.
 * *count gets the number of entries indexed. Returns 0, -ENOMEM or an LMDB error.
 */
int outbox_index_build(store_txn_t *txn, size_t *count);

#endif
