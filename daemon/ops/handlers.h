/*
 * handlers: the handler of each op of the table in ops.c, one file per group of ops. Internal
 * to ops/: the edge reaches them through the table (ops.h).
 */
#ifndef INCIDENTD_DAEMON_OPS_HANDLERS_H
#define INCIDENTD_DAEMON_OPS_HANDLERS_H

#include "daemon/ops/request.h"

/* event.c */
int op_event(batch_t *batch, const op_request_t *req, batch_result_t *res);

/* incident.c */
int op_get(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res);
int op_list(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res);

/* breaches.c */
int op_breaches(store_txn_t *txn, const op_context_t *ctx, const json_t *req,
		batch_result_t *res);

/* deadlines.c */
int op_deadlines(store_txn_t *txn, const op_context_t *ctx, const json_t *req,
		 batch_result_t *res);

/* problem.c */
int op_problem_create(batch_t *batch, const op_request_t *req, batch_result_t *res);
int op_problem_update(batch_t *batch, const op_request_t *req, batch_result_t *res);
int op_problem_link(batch_t *batch, const op_request_t *req, batch_result_t *res);
int op_problem_unlink(batch_t *batch, const op_request_t *req, batch_result_t *res);
int op_problem_get(store_txn_t *txn, const op_context_t *ctx, const json_t *req,
		   batch_result_t *res);
int op_problem_list(store_txn_t *txn, const op_context_t *ctx, const json_t *req,
		    batch_result_t *res);

/* report.c */
int op_report(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res);

/* status.c */
int op_status(store_txn_t *txn, const op_context_t *ctx, const json_t *req, batch_result_t *res);

#endif
