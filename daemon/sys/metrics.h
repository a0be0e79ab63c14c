/*
 * metrics: the daemon's counters and histograms for Prometheus, and their text exposition.
 *
 * One registry per process, like the log: the loop thread, the writer thread, the hook
 * delivery threads and the HTTP listener record into it without a handle passed down, with
 * relaxed C11 atomics (no lock; a scrape may see one series a moment ahead of another).
 * Histograms have fixed bucket bounds, one atomic counter per bucket; sums of durations are
 * kept in nanoseconds.
 *
 * The label values are fixed when the registry is set up (metrics_init()): the ops of
 * proto/op.h, the error codes of proto/wire.h, the configuration's rules and hooks. A
 * recording with another value goes to a catch-all ("unknown" op) or is ignored (an index out
 * of range), so no client can grow the set of series.
 *
 * Gauges that describe the store (incidents by status, pending deadlines, map size) are not
 * kept here: the caller reads them at scrape time and passes them to metrics_render()
 * (daemon/edge/scrape.h does both). The outbox backlog per hook is kept here, as a gauge the
 * writer raises after each commit and the delivery threads lower, because counting it in the
 * store would walk every waiting delivery.
 *
 * Every counter starts at 0 when the process starts (Prometheus handles the reset).
 */
#ifndef INCIDENTD_DAEMON_SYS_METRICS_H
#define INCIDENTD_DAEMON_SYS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/core/config.h"

/* What became of an event request (incidentd_events_total{result}). */
typedef enum {
	METRICS_EVENT_ACCEPTED = 0,
	METRICS_EVENT_DUPLICATE,
	METRICS_EVENT_REFUSED,
	METRICS_EVENT_N
} metrics_event_t;

/* How a breach was detected (incidentd_breaches_total{detected}); names as on the wire. */
typedef enum {
	METRICS_DETECTED_ON_ARRIVAL = 0,
	METRICS_DETECTED_DEADLINE,
	METRICS_DETECTED_USER_FIRST,
	METRICS_DETECTED_N
} metrics_detected_t;

/* What became of one hook delivery attempt (incidentd_hook_deliveries_total{result}). */
typedef enum {
	METRICS_DELIVERY_OK = 0,
	METRICS_DELIVERY_RETRY,
	METRICS_DELIVERY_GAVE_UP,
	METRICS_DELIVERY_N
} metrics_delivery_t;

/* The gauges read at scrape time from the store (daemon/store/store.h). */
typedef struct {
	bool store_read;          /* false: the store's gauges below are left out */
	uint64_t incidents_open, incidents_resolved, incidents_closed;
	uint64_t deadlines_pending;
	uint64_t store_map_bytes; /* the LMDB map size */
	uint64_t store_used_bytes; /* pages in use up to the last one, times the page size */
} metrics_gauges_t;

/*
 * Sets up the registry for cfg's rules and hooks (their names are copied) and records the
 * process's start time; every counter is 0. Called once at start-up before any thread records,
 * and again by tests (which resets everything). Returns 0 or -ENOMEM (the per-rule and per-hook
 * series are then left out; the others still count).
 */
int metrics_init(const config_t *cfg);

/* Frees what metrics_init() allocated. No thread may record meanwhile. */
void metrics_release(void);

/*
 * Records one answered request: op its op name (any other name, or NULL for a request whose op
 * could not be read, counts as "unknown"), code "ok" or the error code of its reply (proto/wire.h
 * names; any other counts as "internal"), seconds from its arrival to its reply. Any thread.
 * The HTTP listener calls it for its requests too.
 */
void metrics_request(const char *op, const char *code, double seconds);

/* Records the outcome of one event request. Any thread. */
void metrics_event(metrics_event_t result);

/* Records one group commit: its duration and the requests it held. Writer thread. */
void metrics_commit(double seconds, size_t events);

/* Records n breaches of rule (an index into the configuration's rules) detected so. */
void metrics_breaches(size_t rule, metrics_detected_t detected, uint64_t n);

/* The detected kind of a wire name ("on_arrival", "deadline", "user_first"); -1 if none. */
int metrics_detected_from_name(const char *name);

/* Records one attempt's outcome for hook (an index into the configuration's hooks). */
void metrics_delivery(size_t hook, metrics_delivery_t result);

/* Sets the deliveries waiting in hook's outbox (at start-up, from one count of the store). */
void metrics_outbox_set(size_t hook, uint64_t n);

/* Adds delta (negative: removed) to the deliveries waiting in hook's outbox. */
void metrics_outbox_add(size_t hook, int64_t delta);

/* Counts a message the publish socket did not take (zmq_send failed) or could not be built. */
void metrics_publish_dropped(void);

/*
 * What one write transaction raised (breaches per rule and detected kind) and queued (outbox
 * entries per hook), kept aside until it commits: an aborted transaction, retried on a grown
 * map, must not count twice. The writer thread owns one; the store's batch fills it.
 */
typedef struct {
	uint32_t *breaches;       /* [rule * METRICS_DETECTED_N + detected] */
	uint32_t *queued;         /* [hook] */
	size_t n_rules, n_hooks;
} metrics_tally_t;

/* Sizes tally for cfg, all zero. Returns 0 or -ENOMEM. */
int metrics_tally_init(metrics_tally_t *tally, const config_t *cfg);

/* Frees what tally holds; accepts a zeroed tally. */
void metrics_tally_release(metrics_tally_t *tally);

/* Zeroes tally (a transaction begins). */
void metrics_tally_reset(metrics_tally_t *tally);

/* A breach of rule was raised (detected: its wire name). Accepts a NULL tally. */
void metrics_tally_breach(metrics_tally_t *tally, size_t rule, const char *detected);

/* An outbox entry for hook was written. Accepts a NULL tally. */
void metrics_tally_queued(metrics_tally_t *tally, size_t hook);

/* The transaction committed: adds tally to the registry and zeroes it. */
void metrics_tally_commit(metrics_tally_t *tally);

/*
 * The whole exposition text (Prometheus text format 0.0.4): every family with its # HELP and
 * # TYPE lines, the registry's counters and histograms, gauges (when gauges->store_read), the
 * process's start time and resident memory (/proc/self/statm). Returns a NUL-terminated
 * string the caller frees, its length in *len; NULL when out of memory.
 */
char *metrics_render(const metrics_gauges_t *gauges, size_t *len);

#endif
