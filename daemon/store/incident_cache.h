/*
 * incident_cache: the writer thread's incidents in memory, decoded.
 *
 * Loading an incident means parsing its JSON record, and saving one means encoding it; at
 * tens of thousands of events a second that is most of the writer's work. The cache keeps
 * decoded incidents between events and batches, and the batch writes each changed (dirty)
 * incident once, just before it commits, however many events touched it.
 *
 * Entries are owned by the cache. When the cache outgrows its bound it drops the clean
 * entries not looked up since the previous trim (a second chance, close to least-recently-used
 * at the cost of one flag an entry), or every clean entry when the used ones alone are too
 * many.
 * After an aborted transaction the cache must be cleared, since it may hold changes that
 * were never committed. Single-threaded: the writer thread only.
 */
#ifndef INCIDENTD_DAEMON_STORE_INCIDENT_CACHE_H
#define INCIDENTD_DAEMON_STORE_INCIDENT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/core/incident.h"

typedef struct incident_cache incident_cache_t;

/*
 * A cache trimmed back when it holds more than max_entries, with room for batch_max more
 * incidents between two trims (so a put never fails when one batch touches at most batch_max
 * incidents and the cache is trimmed before each). NULL on failure.
 */
incident_cache_t *incident_cache_new(size_t max_entries, size_t batch_max);

/* Frees the cache and every incident in it; accepts NULL, sets *cache_p = NULL. */
void incident_cache_destroy(incident_cache_t **cache_p);

/* The cached incident number id (borrowed), or NULL. */
incident_t *incident_cache_get(incident_cache_t *cache, uint64_t id);

/*
 * Adds inc (ownership passes to the cache; on failure inc is destroyed). An incident of the
 * same id must not be cached already. Returns 0, or -ENOMEM when more than max_entries +
 * batch_max are held.
 */
int incident_cache_put(incident_cache_t *cache, incident_t *inc);

/* Marks the cached incident number id as changed: it must be saved before the commit. */
void incident_cache_mark_dirty(incident_cache_t *cache, uint64_t id);

/*
 * The changed incidents, in the order they were first marked: *n_out of them, borrowed,
 * valid until the cache next changes.
 */
incident_t *const *incident_cache_dirty(incident_cache_t *cache, size_t *n_out);

/* Forgets the dirty marks (after the changes were written). */
void incident_cache_clean(incident_cache_t *cache);

/* Drops every entry (after an abort: they may hold uncommitted changes). */
void incident_cache_clear(incident_cache_t *cache);

/* When the cache holds more than its bound: drops clean entries, as described above. */
void incident_cache_trim(incident_cache_t *cache);

/* The number of cached incidents. */
size_t incident_cache_size(const incident_cache_t *cache);

#endif
