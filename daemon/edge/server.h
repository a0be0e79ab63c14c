/*
 * server: the libuv loop's ZeroMQ side. A ROUTER socket bound to every api endpoint takes
 * requests (REQ and DEALER envelopes alike), a PUB socket bound to every publish endpoint
 * sends messages. Reads are answered on the loop thread; writes go through the writer and are
 * answered after their commit.
 *
 * The PUB is an XPUB: its subscriptions (at most 1,000 distinct prefixes per peer, see
 * proto/PROTOCOL.md) decide which messages are built and sent at all. A monitor on each
 * socket logs the connections it cannot accept (at the limit on open files), at most once a
 * minute. ipc:// endpoints are created with mode 0660.
 *
 * ZMQ_FD is edge-triggered: the socket is drained until ZMQ_EVENTS shows no input, ZMQ_EVENTS
 * is re-read after every send and recv, and a uv_prepare re-checks it before the loop blocks.
 */
#ifndef INCIDENTD_DAEMON_EDGE_SERVER_H
#define INCIDENTD_DAEMON_EDGE_SERVER_H

#include <stddef.h>

#include <uv.h>

#include "daemon/edge/alerts.h"
#include "daemon/edge/clients.h"
#include "daemon/edge/writer.h"
#include "daemon/core/config.h"
#include "daemon/store/store.h"

typedef struct server server_t;

/*
 * Where the configuration came from, for a reload (SIGHUP re-reads its [client] sections):
 * the file's path and the text it held at start, or NULL for both (built-in defaults). The
 * server takes text.
 */
typedef struct {
	const char *path;
	char *text;
} server_source_t;

/*
 * Binds the sockets, starts the writer on store (waking alerts, which may be NULL, after
 * commits that queue hook deliveries), arms every pending deadline, starts the hook delivery
 * threads (alerts_start: their give-ups are published through the writer) and watches SIGINT,
 * SIGTERM and SIGHUP (a reload of source's [client] sections) on loop. Returns NULL with a
 * one-line reason in errbuf when it cannot (an endpoint in use). cfg, source's path, store and
 * alerts must outlive the server, which takes source's text.
 */
server_t *server_new(uv_loop_t *loop, const config_t *cfg, const server_source_t *source,
		     store_t *store, alerts_t *alerts, char *errbuf, size_t errlen);

/*
 * Stops taking requests and the hook delivery threads (alerts_stop: attempts in flight are
 * abandoned), commits and answers what was accepted, closes the sockets and every handle.
 * uv_run() returns once it is done. Called by the signal handlers; idempotent.
 */
void server_stop(server_t *server);

/*
 * Submits one event request (a JSON object with "op": "event", len bytes; copied) of caller,
 * whose strings must belong to the server's current client set (server_clients), to the writer:
 * it shares the next group commit with the ZeroMQ requests. on_reply is called on the loop
 * thread with the job and its reply frame once committed (or refused by the op). Returns 0, or
 * -1 with err set (bad_json, bad_request: not an event; forbidden: caller's role may not send
 * events; unavailable: stopping; internal: no memory), and on_reply is then never called.
 * Loop thread only.
 */
int server_submit_event(server_t *server, const char *body, size_t len, const op_caller_t *caller,
			writer_reply_cb on_reply, void *arg, wire_error_t *err);

/* The clients admitted now (borrowed: valid until the next reload; clients_ref to keep it). */
clients_t *server_clients(server_t *server);

/* True from server_stop() on: no more writes are taken. */
bool server_stopping(const server_t *server);

/* Frees the server after uv_run() has returned; accepts NULL and sets *server_p = NULL. */
void server_destroy(server_t **server_p);

#endif
