/*
 * clients: the keys the daemon admits and who holds each, as one configuration lists them in
 * its [client NAME] sections. A reload (SIGHUP) makes a new set; a request keeps the set it was
 * admitted under (clients_ref) until it is answered, so that a reload never takes a name or a
 * provider list from under it.
 *
 * Built and looked up on the loop thread; referenced and released on any thread.
 */
#ifndef INCIDENTD_DAEMON_EDGE_CLIENTS_H
#define INCIDENTD_DAEMON_EDGE_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/core/config.h"
#include "daemon/ops/request.h"
#include "proto/keyfile.h"

typedef struct clients clients_t;

/*
 * The clients of cfg (borrowed; it must outlive the set), or of owned, which the set takes and
 * destroys with itself (a reloaded configuration). One reference. NULL on allocation failure
 * (owned is then destroyed).
 */
clients_t *clients_new(const config_t *cfg, config_t *owned);

/* Takes one more reference; returns c. */
clients_t *clients_ref(clients_t *c);

/* Drops one reference, freeing the set with the last; accepts NULL and sets *c_p = NULL. */
void clients_unref(clients_t **c_p);

/* The client whose public key is key (32 bytes), or NULL. */
const config_client_t *clients_by_key(const clients_t *c, const unsigned char key[KEYFILE_KEY_BYTES]);

/* The client whose public key is z85 (a key in Z85), or NULL. */
const config_client_t *clients_by_public(const clients_t *c, const char *z85);

/* The client called name, or NULL. */
const config_client_t *clients_by_name(const clients_t *c, const char *name);

/* The caller a request of client is answered as (its strings are the set's). */
op_caller_t clients_caller(const config_client_t *client);

/* The configuration the set was made from. */
const config_t *clients_config(const clients_t *c);

#endif
