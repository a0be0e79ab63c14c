/*
 * zap: the daemon's ZAP handler (ZeroMQ RFC 27), which decides at the CURVE handshake whether a
 * key may connect and who it is.
 *
 * The handler is a REP socket bound at ZAP_ENDPOINT in the sockets' context, before any CURVE
 * socket binds, and alive until they close; the server reads it on the loop (zap_answer()).
 * Two pitfalls turn authentication off silently: a CURVE server with no handler bound accepts
 * any key, and a socket with ZMQ_ZAP_ENFORCE_DOMAIN and no domain skips ZAP. Both CURVE
 * sockets therefore set a domain and enforce it (zap_server_options()), and then refuse every
 * handshake if the handler is missing.
 */
#ifndef INCIDENTD_DAEMON_EDGE_ZAP_H
#define INCIDENTD_DAEMON_EDGE_ZAP_H

#include <stdbool.h>

#include "daemon/core/config.h"
#include "daemon/edge/clients.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* The ZAP domains of the two sockets: who may connect depends on which. */
#define ZAP_DOMAIN_API "incidentd-api"         /* every client */
#define ZAP_DOMAIN_PUBLISH "incidentd-publish" /* operators and viewers */

/*
 * Makes socket a CURVE server with the daemon's secret key (security) in domain, enforcing ZAP.
 * Call before it binds. Returns 0, or -1 with errno set.
 */
int zap_server_options(void *socket, const config_security_t *security, const char *domain);

/*
 * Reads one ZAP request waiting on rep and answers it: 200 with the client's public key (Z85)
 * as its User-Id when the request is a CURVE handshake of a key of clients that the domain admits,
 * otherwise 400 (logged, at most a few lines a minute). Returns false when no request was
 * waiting.
 */
bool zap_answer(void *rep, const clients_t *clients);

#endif
