/*
 * alerts: the delivery threads that take hook deliveries from the outbox (daemon/store/outbox.h)
 * and run the hooks.
 *
 * One thread per hook takes the hook's deliveries due first and runs the hook:
 *  - exec hooks: the program (argv, no shell) with the message JSON on stdin; exit status 0
 *    within the timeout is success;
 *  - url hooks: an HTTP POST of the JSON (libcurl, one connection kept alive per hook) with
 *    X-Incidentd-Delivery: <id> (the same on every retry) and, with a secret,
 *    X-Incidentd-Signature: sha256=<hex HMAC-SHA256 of the body>; a 2xx within the timeout is
 *    success.
 * A success removes the delivery, so it is never sent again. A failure is retried after
 * backoff, doubling up to max_backoff, until max_attempts; then the delivery is given up and
 * logged with the hook's name. Retries continue across restarts.
 *
 * Stopping abandons the attempts in flight at once: an exec hook's process group is killed, a
 * transfer is aborted. An abandoned attempt is not counted; its delivery stays due and is
 * tried again after the restart. Nothing here runs on the event loop.
 */
#ifndef INCIDENTD_DAEMON_EDGE_ALERTS_H
#define INCIDENTD_DAEMON_EDGE_ALERTS_H

#include "daemon/core/config.h"
#include "daemon/store/store.h"

typedef struct alerts alerts_t;

/*
 * Starts one delivery thread per hook of cfg; each first delivers what the outbox already
 * holds for it (from before a restart). Warns about deliveries waiting for hooks cfg no
 * longer has. Returns NULL on failure. store and cfg must outlive the alerts. With no hooks it
 * starts no thread.
 */
alerts_t *alerts_new(store_t *store, const config_t *cfg);

/* Tells the delivery threads that new entries were committed. Thread-safe, never blocks. */
void alerts_wake(alerts_t *alerts);

/*
 * Stops the threads, abandoning the attempts in flight (milliseconds, not a hook's timeout),
 * and frees alerts. Deliveries not yet done stay in the outbox for the next start. Accepts
 * NULL; sets *alerts_p = NULL.
 */
void alerts_destroy(alerts_t **alerts_p);

#endif
