/*
 * schema: the store's layout versions and the migrations between them. See schema.h.
 */
#include "daemon/store/schema.h"

#include "daemon/store/outbox.h"

static const store_migration_t s_steps[] = {
	{ 2, "indexed %zu outbox deliveries by due time", outbox_index_build },
};

const store_schema_t schema_current = {
	.version = SCHEMA_VERSION,
	.steps = s_steps,
	.n_steps = sizeof s_steps / sizeof s_steps[0],
};
