/*
 * schema: the store's layout versions and the migrations between them. See schema.h.
 */
#include "daemon/store/schema.h"

#include <errno.h>

#include "daemon/store/incidents.h"
#include "daemon/store/outbox.h"

static int s_outbox_index(store_txn_t *txn, const void *arg, size_t *count)
{
	(void)arg;
	return outbox_index_build(txn, count);
}

static int s_rewrite_digests(store_txn_t *txn, const void *cfg, size_t *count)
{
	return cfg ? incidents_digests_rebuild(txn, cfg, count) : -EINVAL;
}

static const store_migration_t s_steps[] = {
	{ 2, "indexed %zu outbox deliveries by due time", s_outbox_index },
	{ 3, "rewrote %zu incident digests with every source's reports", s_rewrite_digests },
};

const store_schema_t schema_current = {
	.version = SCHEMA_VERSION,
	.steps = s_steps,
	.n_steps = sizeof s_steps / sizeof s_steps[0],
};

store_schema_t schema_for(const config_t *cfg)
{
	store_schema_t schema = schema_current;
	schema.arg = cfg;
	return schema;
}
