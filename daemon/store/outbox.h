/*
 * outbox: the hook deliveries waiting in the store, written in the same transaction as what
 * produced them, so that a committed alert always reaches its hooks (edge/alerts.h delivers
 * them).
 *
 *   outbox  hook name NUL u64 delivery id -> JSON {"delivery", "hook", "topic", "body" (the
 *           message text), "attempts", "next_attempt" (ms), "created" (ms)}
 */
#ifndef INCIDENTD_DAEMON_STORE_OUTBOX_H
#define INCIDENTD_DAEMON_STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/core/config.h"
#include "daemon/store/store.h"

/* True when topic starts with one of hook's topic prefixes (default "breach."). */
bool outbox_hook_wants(const config_hook_t *hook, const char *topic);

/*
 * Inside the write transaction txn: puts one outbox entry for every hook of cfg whose topics
 * match topic, due at once (now_ms). Delivery ids come from the meta counter
 * "last_delivery". Returns 0 with the number of entries queued in *queued_out, or a negative
 * code, passed on unchanged (MDB_MAP_FULL: abort the batch, grow the map and retry).
 */
int outbox_enqueue(store_txn_t *txn, const config_t *cfg, const char *topic, const char *body,
		   size_t body_len, int64_t now_ms, int *queued_out);

#endif
