/*
 * schema: the version of the store's layout this incidentd writes, and the steps that bring a
 * store written by an older one up to it (store_open() runs them at start-up).
 *
 *   1  the first layout
 *   2  adds outbox_due, the hook outbox by due time (outbox.h)
 *   3  reports from several sources: incident digests carry every source's report (digest
 *      version 2), rewritten from the records under the configuration the daemon runs with
 */
#ifndef INCIDENTD_DAEMON_STORE_SCHEMA_H
#define INCIDENTD_DAEMON_STORE_SCHEMA_H

#include "daemon/store/store.h"

#include "daemon/core/config.h"

#define SCHEMA_VERSION 3

/*
 * The schema to open the store with: the steps that need the configuration (rewriting digests)
 * get cfg. A store opened with schema_current (no configuration) must be new or at version 2
 * or later: the step to 3 refuses to run without one.
 */
store_schema_t schema_for(const config_t *cfg);
extern const store_schema_t schema_current;

#endif
