/*
 * request: what the handler of an op receives (ops.h has the table of ops, handlers.h the
 * handlers): a state-changing request with its frame and arrival time, or a read with its
 * context; the result goes into a batch_result_t (store/batch.h).
 */
#ifndef INCIDENTD_DAEMON_OPS_REQUEST_H
#define INCIDENTD_DAEMON_OPS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/store/batch.h"
#include "daemon/store/store.h"
#include "proto/wire.h"

/*
 * Who sent a request: a [client NAME] of the config (with CURVE), or an anonymous operator
 * (without). The strings are the config's, kept alive by the edge for as long as the request
 * runs.
 */
typedef struct {
	const char *name;          /* recorded as `by` on what it changes; NULL when anonymous */
	config_role_t role;
	char *const *providers;    /* a provider key's providers; NULL for the other roles */
	size_t n_providers;
} op_caller_t;

/* The caller of every request without CURVE. */
extern const op_caller_t op_anonymous;

/*
 * True when caller may see (and speak for) provider's incidents: always, but for a provider key
 * outside its providers.
 */
bool op_caller_sees(const op_caller_t *caller, const char *provider);

/* A state-changing request as the writer hands it to its op. */
typedef struct {
	const json_t *json;        /* the decoded request; NULL for a scanned event */
	const wire_event_t *event; /* an event decoded by wire_event_scan() (fast path), or NULL */
	const char *raw;           /* the request frame as received, kept in the event log */
	size_t raw_len;
	int64_t received_ms;       /* when it arrived */
	const op_caller_t *caller; /* who sent it */
} op_request_t;

/* Cluster mode: what status shows of the cluster besides what the store holds. */
typedef struct {
	const char *node;          /* this node */
	char leader[72];           /* the lease holder, "" when none */
	uint64_t last;             /* the stream's last sequence as last seen */
} op_cluster_t;

/* What a read may need besides its request. */
typedef struct {
	const config_t *cfg;
	int64_t now_ms;
	int64_t uptime_s;
	const op_caller_t *caller; /* who asked */
	const op_cluster_t *cluster; /* cluster mode, else NULL */
} op_context_t;

typedef int (*op_write_fn)(batch_t *batch, const op_request_t *req, batch_result_t *res);
typedef int (*op_read_fn)(store_txn_t *txn, const op_context_t *ctx, const json_t *req,
			  batch_result_t *res);

#endif
