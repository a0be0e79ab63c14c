/*
 * curve_server: a small stand-in for a CURVE incidentd, for the client's tests while the daemon
 * does not speak CURVE (and a model of the setup the daemon needs).
 *
 * One thread runs, on its own ZeroMQ context:
 * - a ZAP handler (REP at inproc://zeromq.zap.01, bound before the CURVE sockets bind: without
 *   a handler a CURVE server lets every key in) that answers 200 with the user id
 *   CURVE_SERVER_USER to the one client key it accepts and 400 to any other;
 * - an API socket: a ROUTER, CURVE server with a ZAP domain and ZMQ_ZAP_ENFORCE_DOMAIN (with
 *   an empty domain ZAP would be skipped), on tcp://127.0.0.1 at a port the kernel picks; it
 *   answers every request with {"ok": true, "id": <the request's id>, "version":
 *   "curve-server", "user": <the User-Id of the request's frame>};
 * - a publish socket: a PUB, the same kind of CURVE server, that publishes
 *   CURVE_SERVER_TOPIC {"seq": N, "incident": "INC000000000001"} every 20 ms.
 */
#ifndef INCIDENTD_TESTS_INTEGRATION_CURVE_SERVER_H
#define INCIDENTD_TESTS_INTEGRATION_CURVE_SERVER_H

#include "proto/keyfile.h"

/* The user id the ZAP handler gives the accepted key (the daemon would give the client NAME). */
#define CURVE_SERVER_USER "curve-test-client"
/* The topic of the messages the publish socket sends. */
#define CURVE_SERVER_TOPIC "incident.opened"

typedef struct curve_server curve_server_t;

/*
 * Starts a server with a new key pair that lets in the client whose public key is
 * client_public (Z85). Returns NULL (after printing why) on failure. Stop with
 * curve_server_stop().
 */
curve_server_t *curve_server_start(const char *client_public);

/* Stops the thread, closes everything; accepts NULL and sets *self_p to NULL. */
void curve_server_stop(curve_server_t **self_p);

/* The server's public key (Z85), its API endpoint and its publish endpoint. Borrowed. */
const char *curve_server_key(const curve_server_t *self);
const char *curve_server_api(const curve_server_t *self);
const char *curve_server_pub(const curve_server_t *self);

/* How many requests the API socket answered, and how many handshakes ZAP refused. */
int curve_server_answered(const curve_server_t *self);
int curve_server_refused(const curve_server_t *self);

#endif
