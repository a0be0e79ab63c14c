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
 * backoff, doubling up to max_backoff, until give_up_after has passed since it was queued or
 * max_attempts (when set) were made, whichever comes first; then the delivery is given up,
 * logged, and published on TOPIC_HOOK_GAVE_UP. Retries continue across restarts.
 *
 * Stopping abandons the attempts in flight at once: an exec hook's process group is killed, a
 * transfer is aborted. An abandoned attempt is not counted; its delivery stays due and is
 * tried again after the restart. Nothing here runs on the event loop.
 */
#ifndef INCIDENTD_DAEMON_EDGE_ALERTS_H
#define INCIDENTD_DAEMON_EDGE_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/store/store.h"

typedef struct alerts alerts_t;

/*
 * Called on a delivery thread with a message to publish on topic, after the change it reports
 * (a give-up) is committed. Takes body; must not block for long.
 */
typedef void (*alerts_publish_cb)(const char *topic, json_t *body, void *arg);

/*
 * Prepares the delivery of cfg's hooks from store and warns about deliveries waiting for hooks
 * cfg no longer has. No thread runs until alerts_start(). Returns NULL on failure. store and
 * cfg must outlive the alerts.
 */
alerts_t *alerts_new(store_t *store, const config_t *cfg);

/*
 * Starts one delivery thread per hook; each first delivers what the outbox already holds for
 * it (from before a restart). publish (may be NULL: give-ups are then only logged) gets every
 * give-up with arg. Accepts NULL alerts. Returns 0, or -errno when a thread cannot start (the
 * ones started are stopped).
 */
int alerts_start(alerts_t *alerts, alerts_publish_cb publish, void *arg);

/*
 * What one attempt did to its delivery, as recorded: removed (delivered, given up, or
 * unreadable) or due again at retry_at with attempts made. Cluster mode carries these in the
 * log (daemon/edge/cluster.h) and every node applies them with alerts_settle().
 */
typedef struct {
	uint64_t delivery;
	int64_t due;          /* its due time when it was taken (its key in outbox_due) */
	bool remove;
	int attempts;
	int64_t retry_at;
} alerts_settled_t;

/*
 * In the write transaction txn: applies one settled outcome of hook's delivery. One already
 * gone (or unreadable, which is dropped) is not an error. Returns 0 or an LMDB error.
 */
int alerts_settle(store_txn_t *txn, const char *hook, const alerts_settled_t *settled);

/*
 * Records a round's outcomes instead of a local write transaction (cluster mode): returns 0
 * once they are applied, or nonzero when they were not (the deliveries stay due).
 */
typedef int (*alerts_commit_fn)(const char *hook, const alerts_settled_t *settled, size_t n,
				void *arg);

/* Sets the committer (before alerts_start()). */
void alerts_set_committer(alerts_t *alerts, alerts_commit_fn commit, void *arg);

/* Tells the delivery threads that new entries were committed. Thread-safe, never blocks. */
void alerts_wake(alerts_t *alerts);

/*
 * Stops the threads, abandoning the attempts in flight, and waits for them (milliseconds, not
 * a hook's timeout). After it returns publish is never called again. Idempotent; accepts NULL.
 */
void alerts_stop(alerts_t *alerts);

/*
 * Stops the threads (alerts_stop) and frees alerts. Deliveries not yet done stay in the outbox
 * for the next start. Accepts NULL; sets *alerts_p = NULL.
 */
void alerts_destroy(alerts_t **alerts_p);

#endif
