/*
 * schema: the version of the store's layout this incidentd writes, and the steps that bring a
 * store written by an older one up to it (store_open() runs them at start-up).
 *
 *   1  the first layout
 *   2  adds outbox_due, the hook outbox by due time (outbox.h)
 */
#ifndef INCIDENTD_DAEMON_STORE_SCHEMA_H
#define INCIDENTD_DAEMON_STORE_SCHEMA_H

#include "daemon/store/store.h"

#define SCHEMA_VERSION 2

/* The schema to open the store with. */
extern const store_schema_t schema_current;

#endif
