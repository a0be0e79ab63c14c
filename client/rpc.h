/*
 * rpc: requests to the daemon's API socket over a ZeroMQ DEALER socket.
 *
 * Each request is one frame holding one compact JSON object; each reply is one frame (a
 * leading empty delimiter frame, which a ROUTER may echo, is skipped). Several requests may be
 * in flight at once; the caller matches replies to requests by their "id".
 */
#ifndef INCIDENTD_CLIENT_RPC_H
#define INCIDENTD_CLIENT_RPC_H

#include <jansson.h>

#include "client/curve.h"

typedef struct rpc rpc_t;

/*
 * Connects a new DEALER socket to endpoint (linger 0, so that closing never waits for
 * unsent requests), as a CURVE client when curve (borrowed, only during the call) is on, and
 * watches its handshakes (client/handshake.h). Returns NULL and sets errno on failure (EINVAL
 * or EPROTONOSUPPORT for a malformed endpoint). Destroy with rpc_destroy().
 */
rpc_t *rpc_new(const char *endpoint, const curve_t *curve);

/* Closes the socket and its context; accepts NULL and sets *self_p to NULL. */
void rpc_destroy(rpc_t **self_p);

/*
 * Waits up to timeout_ms until the connection's handshake has succeeded, so that a request
 * that must not reach the daemon twice is sent only where it can arrive (a request queued
 * before then may still leave once a connection is made, even after the caller gave up).
 * Returns 1 connected, 0 not within the time, else a negative errno as rpc_recv() (-EACCES,
 * -EPROTO, -EINTR).
 */
int rpc_wait_connected(rpc_t *self, long timeout_ms);

/* Sends req (borrowed) as one frame. Returns 0 or a negative errno. */
int rpc_send(rpc_t *self, const json_t *req);

/*
 * Waits up to timeout_ms (0: only what has already arrived) for one reply frame.
 * Returns 0 and stores the parsed object in *reply_out (new reference) and the frame text in
 * *raw_out (malloc'd, NUL-terminated; caller frees; raw_out may be NULL).
 * Errors: -ETIMEDOUT nothing arrived in time, -EACCES the daemon refused our CURVE key,
 * -EPROTO no handshake with the daemon can succeed (both at once, without waiting out the
 * time), -EINTR a signal interrupted the wait, -EBADMSG the frame is not a JSON object, other
 * negative errno from ZeroMQ.
 */
int rpc_recv(rpc_t *self, long timeout_ms, json_t **reply_out, char **raw_out);

/*
 * Why rpc_recv() returned rc, as a sentence without the program name: for -EACCES exactly
 * "the daemon refused this key"; for -EPROTO what broke the handshake; for -ETIMEDOUT what the
 * connection's events suggest (handshake_hint(): "the daemon may not be running there", or ""
 * when it is connected and did not answer); otherwise "ENDPOINT: strerror". Borrowed from self, valid
 * until the next call.
 */
const char *rpc_failure(rpc_t *self, int rc);

#endif
