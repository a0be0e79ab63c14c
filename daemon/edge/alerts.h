/*
 * alerts: delivery of published messages to hooks, through a persistent outbox.
 *
 * A breach (or any message whose topic matches a hook's prefixes) is put in the outbox
 * inside the same write transaction that records it, so a committed alert is never lost. One
 * delivery thread per hook takes its due entries from the outbox and runs the hook:
 *  - exec hooks: the program (argv, no shell) with the message JSON on stdin; exit status 0
 *    within the timeout is success;
 *  - url hooks: an HTTP POST of the JSON (libcurl) with X-Incidentd-Delivery: <id> (the same
 *    on every retry) and, with a secret, X-Incidentd-Signature: sha256=<hex HMAC-SHA256 of the
 *    body>; a 2xx within the timeout is success.
 * A success deletes the entry, so it is never sent again. A failure is retried after backoff,
 * doubling up to max_backoff, until max_attempts; then the delivery is given up and logged
 * with the hook's name. Retries continue across restarts. Nothing here runs on the event loop.
 *
 * Outbox entries live in the store's STORE_OUTBOX database: key = hook name, NUL, u64
 * delivery id (big-endian); value = JSON {"delivery", "hook", "topic", "body" (the message
 * text), "attempts", "next_attempt" (ms), "created" (ms)}.
 */
#ifndef INCIDENTD_DAEMON_EDGE_ALERTS_H
#define INCIDENTD_DAEMON_EDGE_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/core/config.h"
#include "daemon/store/store.h"

typedef struct alerts alerts_t;

/*
 * Starts one delivery thread per hook of cfg; each first delivers what the outbox already
 * holds for it (from before a restart). Returns NULL on failure. store and cfg must outlive
 * the alerts. With no hooks it starts no thread.
 */
alerts_t *alerts_new(store_t *store, const config_t *cfg);

/* Tells the delivery threads that new entries were committed. Thread-safe, never blocks. */
void alerts_wake(alerts_t *alerts);

/*
 * Stops the threads (an attempt in flight finishes or times out first) and frees alerts.
 * Entries not yet delivered stay in the outbox for the next start. Accepts NULL; sets
 * *alerts_p = NULL.
 */
void alerts_destroy(alerts_t **alerts_p);

#endif
