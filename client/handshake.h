/*
 * handshake: what became of a client socket's connections, learnt from a ZeroMQ socket
 * monitor (an inproc PAIR socket the monitored socket sends its events to).
 *
 * ZeroMQ hides a failed handshake from the socket's user: a request sent to a daemon that
 * refuses the key just waits. After a refusal libzmq does not even reconnect, so no answer can
 * come; the monitor is how the client learns it at once:
 *
 * - ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: the daemon's ZAP handler answered a status other than
 *   200; 400 means "the daemon refused this key".
 * - ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: the peers disagree on the protocol; mostly a CURVE
 *   client meeting a plaintext daemon or the other way round (mechanism mismatch).
 * - ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: the daemon closed the connection during the
 *   handshake. A CURVE daemon does that when it cannot open our HELLO, i.e. when the client's
 *   server key is not the daemon's public key. libzmq then reconnects and fails again, so a
 *   few failures in a row with no success between them are taken as final.
 *
 * Only a CURVE client gives up on those (handshake_wait() returns an error). A plaintext
 * client waits out its timeout as before; the events then only explain the silence
 * (handshake_hint()).
 */
#ifndef INCIDENTD_CLIENT_HANDSHAKE_H
#define INCIDENTD_CLIENT_HANDSHAKE_H

#include <stdbool.h>

/* A CURVE client gives up after this many handshakes in a row closed without a word. */
#define HANDSHAKE_MAX_SILENT_FAILURES 3

typedef struct handshake handshake_t;

/*
 * Starts watching sock, a socket of ctx that is not connected yet (events of connections made
 * before are not seen). endpoint (copied) is what sock will connect to, for messages; curve
 * says whether sock is a CURVE client. Returns NULL and sets errno on failure. Destroy with
 * handshake_destroy() before closing sock.
 */
handshake_t *handshake_new(void *ctx, void *sock, const char *endpoint, bool curve);

/* Stops the monitor and closes its socket; accepts NULL and sets *self_p to NULL. */
void handshake_destroy(handshake_t **self_p);

/*
 * Waits up to timeout_ms (-1: no limit, 0: only what has already happened) until sock (the
 * watched socket) has a message to read, reading the monitor's events meanwhile.
 * Returns 1 when sock is readable, 0 when the time ran out, -EACCES when the daemon refused
 * the key, -EPROTO when no handshake can succeed (see the top of this file), -EINTR when a
 * signal interrupted the wait, or another negative errno of zmq_poll().
 */
int handshake_wait(handshake_t *self, void *sock, long timeout_ms);

/*
 * Waits up to timeout_ms (>= 0) until a handshake of the watched socket succeeds, reading the
 * monitor's events. Returns 1 once one has, 0 when the time ran out first, -EACCES or -EPROTO
 * as handshake_wait() does, -EINTR when a signal interrupted the wait, or another negative
 * errno of zmq_poll(). A message sent only after it returned 1 cannot have left before: ZeroMQ
 * writes nothing to a connection whose handshake has not completed.
 */
int handshake_wait_succeeded(handshake_t *self, long timeout_ms);

/* True once a handshake succeeded (the socket is connected to the daemon). */
bool handshake_succeeded(const handshake_t *self);

/*
 * Why handshake_wait() gave up, as a sentence without the program name: exactly "the daemon
 * refused this key" after -EACCES from a status 400. Borrowed; "" before any failure.
 */
const char *handshake_error(const handshake_t *self);

/*
 * What the events seen so far say about a daemon that did not answer, as a sentence to follow
 * one that names the endpoint: "the daemon may not be running there" (nothing accepted the
 * connection), "the daemon requires CURVE keys (--key and --server-key)" (a plaintext client
 * met a CURVE socket), ...; "" when the handshake succeeded and the daemon simply did not
 * answer. Borrowed from self.
 */
const char *handshake_hint(const handshake_t *self);

#endif
