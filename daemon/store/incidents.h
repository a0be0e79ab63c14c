/*
 * incidents: the records of incidents in the store and the indexes that point at them.
 *
 *   incidents  u64 id -> the record's JSON text (incident_record_text())
 *   refs       provider NUL ref -> u64 id
 *   dedup      provider NUL event_id -> u64 log seq, u64 id (the event that reported it)
 *   open, resolved, closed   u64 id -> ""   (their sizes are the counts)
 *   opened     i64 opened_at, u64 id -> the incident's digest (what reports read)
 *
 * Every function returns 0 or a negative code (store_strerror()); lookups MDB_NOTFOUND when
 * the record is absent.
 */
#ifndef INCIDENTD_DAEMON_STORE_INCIDENTS_H
#define INCIDENTD_DAEMON_STORE_INCIDENTS_H

#include <stdint.h>

#include "daemon/core/config.h"
#include "daemon/core/incident.h"
#include "daemon/store/store.h"

/*
 * Loads incident number id into *inc_out (caller destroys it). Returns 0, MDB_NOTFOUND,
 * MDB_CORRUPTED for a malformed record, or another negative code.
 */
int incidents_load(store_txn_t *txn, const config_t *cfg, uint64_t id, incident_t **inc_out);

/* Saves inc's record, and its digest in the opened-time index. */
int incidents_save(store_txn_t *txn, const config_t *cfg, const incident_t *inc);

/*
 * Moves inc between the status indexes, and drops its entry in the opened-time index when its
 * opening time moved (the new entry is written by incidents_save()). was_status is -1 and
 * was_opened INT64_MIN for a new incident.
 */
int incidents_index(store_txn_t *txn, const config_t *cfg, const incident_t *inc, int was_status,
		    int64_t was_opened);

/* The incident of the provider's ref into *id; MDB_NOTFOUND when there is none. */
int incidents_find_ref(store_txn_t *txn, const char *provider, const char *ref, uint64_t *id);

/* Records that the provider's ref names incident id. */
int incidents_add_ref(store_txn_t *txn, const char *provider, const char *ref, uint64_t id);

/*
 * The log seq and incident of the provider's event event_id; MDB_NOTFOUND when the event is
 * new, MDB_CORRUPTED for a malformed entry.
 */
int incidents_find_event(store_txn_t *txn, const char *provider, const char *event_id,
			 uint64_t *seq, uint64_t *id);

/* Records the provider's event event_id: log seq seq, incident id. */
int incidents_add_event(store_txn_t *txn, const char *provider, const char *event_id,
			uint64_t seq, uint64_t id);

/*
 * Calls fn(id, arg) for every incident of provider (refs), in the order of their refs; stops at
 * the first nonzero return, which it returns. Returns 0 or a negative code.
 */
int incidents_of_provider(store_txn_t *txn, const char *provider,
			  int (*fn)(uint64_t id, void *arg), void *arg);

/*
 * Rewrites the digest of every incident in the opened-time index from its record under cfg
 * (a migration: digests written by an older layout). Records that do not load are left as
 * they are (the report then reads them itself). *count: how many were rewritten.
 */
int incidents_digests_rebuild(store_txn_t *txn, const config_t *cfg, size_t *count);

/* The number of events provider reported (dedup) into *count. Returns 0 or a negative code. */
int incidents_count_events(store_txn_t *txn, const char *provider, size_t *count);

#endif
