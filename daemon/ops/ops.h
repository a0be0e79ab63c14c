/*
 * ops: the operations of the API, one row each in one table.
 *
 * A row says what the op is called (proto/op.h), how it runs (its flags), who may call it, and
 * its handler. The edge dispatches through the table only: an op that changes state goes to
 * the writer thread and is answered after its commit; one that walks many records runs on the
 * thread pool; any other is answered at once on the event loop. Adding an op is one row here
 * and its handler (ops/handlers.h).
 *
 * Handlers validate everything before they write anything, so a refused request leaves the
 * store as it was, even inside a shared batch. They return 0 with the reply (res->fields, or
 * res->event) or the refusal (res->err) set, or a negative store code after which a write
 * batch must be aborted (and may be retried: MDB_MAP_FULL).
 */
#ifndef INCIDENTD_DAEMON_OPS_OPS_H
#define INCIDENTD_DAEMON_OPS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/ops/request.h"
#include "daemon/store/batch.h"
#include "daemon/store/store.h"
#include "proto/wire.h"

/* How an op runs; an op with neither flag is a quick read, answered at once. */
typedef enum {
	OP_WRITES = 1u << 0, /* changes state: applied by the writer, answered after the commit */
	OP_WALKS = 1u << 1,  /* reads many records: answered on the thread pool */
	OP_WALKS_SCOPED = 1u << 2, /* reads many records for a provider key: the pool then */
} op_flag_t;

/* Who may call an op: a set of the roles of config_role_t (a client's role is in the config). */
#define OP_ROLE(role) (1u << (role))
#define ROLES_ALL (OP_ROLE(ROLE_PROVIDER) | OP_ROLE(ROLE_OPERATOR) | OP_ROLE(ROLE_VIEWER))

typedef struct {
	const char *name;
	unsigned flags;      /* op_flag_t */
	unsigned roles;      /* OP_ROLE()s: who may call it */
	op_write_fn write;   /* with OP_WRITES */
	op_read_fn read;     /* without it */
} op_t;

/* The op called name, or NULL when there is none. */
const op_t *ops_find(const char *name);

/* The row of the event op: the fast path of the edge submits scanned events with it. */
const op_t *ops_event(void);

/*
 * Answers a read op in its own read transaction of store. Returns 0 with res->fields or
 * res->err set (a store failure becomes `internal`).
 */
int ops_read(const op_t *op, store_t *store, const op_context_t *ctx, const json_t *req,
	     batch_result_t *res);

/*
 * Applies a write op inside batch. Returns 0 with the reply or refusal in res, or a negative
 * store code (abort the batch).
 */
int ops_write(const op_t *op, batch_t *batch, const op_request_t *req, batch_result_t *res);

/*
 * The reply frame {"ok":true,"id":ID,"incident","duplicate","status","breaches"} of an
 * accepted event. The id is id_text (id_len bytes of JSON, as the request carried it) when
 * not NULL, else the value id when not NULL, else left out. Returns a malloc'd text and its
 * length in *len_out; NULL on allocation failure.
 */
char *ops_event_reply_text(const batch_event_reply_t *reply, const char *id_text, size_t id_len,
			   const json_t *id, size_t *len_out);

#endif
