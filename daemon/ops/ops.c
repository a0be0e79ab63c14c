/*
 * ops: the table of operations. See ops.h.
 */
#include "daemon/ops/ops.h"

#include <string.h>

#include "daemon/ops/handlers.h"
#include "proto/op.h"

/*
 * Every op of the API. Roles follow the contract's table ("Identity and roles"): a provider
 * writes events and reads only its providers' incidents; problem records are the operator's.
 */
static const op_t s_ops[] = {
	{ OP_EVENT, OP_WRITES, OP_ROLE(ROLE_PROVIDER) | OP_ROLE(ROLE_OPERATOR), op_event, NULL },
	{ OP_GET, 0, ROLES_ALL, NULL, op_get },
	{ OP_LIST, OP_WALKS, ROLES_ALL, NULL, op_list },
	{ OP_BREACHES, OP_WALKS, ROLES_ALL, NULL, op_breaches },
	{ OP_DEADLINES, OP_WALKS, ROLES_ALL, NULL, op_deadlines },
	{ OP_PROBLEM_CREATE, OP_WRITES, OP_ROLE(ROLE_OPERATOR), op_problem_create, NULL },
	{ OP_PROBLEM_UPDATE, OP_WRITES, OP_ROLE(ROLE_OPERATOR), op_problem_update, NULL },
	{ OP_PROBLEM_LINK, OP_WRITES, OP_ROLE(ROLE_OPERATOR), op_problem_link, NULL },
	{ OP_PROBLEM_UNLINK, OP_WRITES, OP_ROLE(ROLE_OPERATOR), op_problem_unlink, NULL },
	{ OP_PROBLEM_GET, 0, OP_ROLE(ROLE_OPERATOR) | OP_ROLE(ROLE_VIEWER), NULL, op_problem_get },
	{ OP_PROBLEM_LIST, OP_WALKS, OP_ROLE(ROLE_OPERATOR) | OP_ROLE(ROLE_VIEWER), NULL, op_problem_list },
	{ OP_REPORT, OP_WALKS, ROLES_ALL, NULL, op_report },
	{ OP_STATUS, OP_WALKS_SCOPED, ROLES_ALL, NULL, op_status },
};

#define N_OPS (sizeof s_ops / sizeof s_ops[0])

const op_caller_t op_anonymous = { .name = NULL, .role = ROLE_OPERATOR };

bool op_caller_sees(const op_caller_t *caller, const char *provider)
{
	if (caller->role != ROLE_PROVIDER)
		return true;
	for (size_t i = 0; provider && i < caller->n_providers; i++)
		if (strcmp(caller->providers[i], provider) == 0)
			return true;
	return false;
}

const op_t *ops_find(const char *name)
{
	for (size_t i = 0; name && i < N_OPS; i++)
		if (strcmp(s_ops[i].name, name) == 0)
			return &s_ops[i];
	return NULL;
}

const op_t *ops_event(void)
{
	return ops_find(OP_EVENT); /* the first row: one comparison */
}

int ops_read(const op_t *op, store_t *store, const op_context_t *ctx, const json_t *req,
	     batch_result_t *res)
{
	store_txn_t txn;
	int rc = store_txn_begin(store, false, &txn);
	if (rc != 0)
		return batch_internal(res, "read transaction", rc);
	rc = op->read(&txn, ctx, req, res);
	store_txn_abort(&txn);
	return rc ? batch_internal(res, op->name, rc) : 0;
}

int ops_write(const op_t *op, batch_t *batch, const op_request_t *req, batch_result_t *res)
{
	return op->write(batch, req, res);
}
