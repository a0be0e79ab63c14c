/*
 * http: the HTTP listener ([http] listen), for tools that speak HTTP rather than ZeroMQ.
 *
 * libmicrohttpd runs the sockets on its own thread (MHD_USE_EPOLL_INTERNAL_THREAD).
 * That thread reads and bounds each request (connection memory limit, idle timeout,
 * the body limited to [daemon] max_request_bytes), checks its method, path and content type,
 * and decodes its JSON. A write is then parked (MHD_suspend_connection) and handed to the event
 * loop (a locked queue and a uv_async), which looks its bearer token up in the server's current
 * client set and submits each event through server_submit_event(): HTTP events share the
 * writer's group commit with the ZeroMQ requests. When the last event of a request has its
 * reply, the loop thread resumes the connection with the answer.
 *
 *   POST /v1/events         one event object, or {"events": [...]} (an array of replies)
 *   POST /v1/alertmanager   an Alertmanager webhook payload (version 4)
 *   GET  /healthz           200 while the event loop turns (a heartbeat timer), else 503
 *   GET  /readyz            200 while the store is open and writes are taken, else 503
 *   GET  /metrics           the text of the callback set with http_set_metrics(), else 404
 *
 * proto/PROTOCOL.md ("HTTP") describes the statuses and the Alertmanager mapping.
 */
#ifndef INCIDENTD_DAEMON_EDGE_HTTP_H
#define INCIDENTD_DAEMON_EDGE_HTTP_H

#include <stddef.h>

#include <uv.h>

#include "daemon/core/config.h"
#include "daemon/edge/server.h"

typedef struct http http_t;

/*
 * Returns the /metrics text (Prometheus text format) in a new malloc'd buffer, its length in
 * *len, or NULL (answered 500). Called on the listener's thread, never the event loop's: it
 * must read only what is safe to read from another thread (atomics, or its own locks).
 */
typedef char *(*http_metrics_fn)(void *arg, size_t *len);

/*
 * Starts the listener of cfg->http on its own thread (reading tls_cert and tls_key when set),
 * with a heartbeat timer and the hand-over to server on loop. Returns NULL with a one-line
 * reason in errbuf when it cannot (address in use, unreadable certificate). cfg->http.listen
 * must be set. cfg and server must outlive the listener.
 *
 * The listener's loop handles close by themselves once server_stop() has been called (within
 * one heartbeat), so that uv_run() returns; requests that come after are answered 503.
 */
http_t *http_new(uv_loop_t *loop, const config_t *cfg, server_t *server, char *errbuf,
		 size_t errlen);

/*
 * Serves GET /metrics with fn(arg) from now on (NULL: 404 again). Call it before requests
 * can come, or accept that a scrape racing the call sees either.
 */
void http_set_metrics(http_t *http, http_metrics_fn fn, void *arg);

/*
 * Stops the listener after uv_run() has returned: requests still waiting are answered 503,
 * the thread is joined and the listener freed. Accepts NULL and sets *http_p = NULL.
 */
void http_destroy(http_t **http_p);

#endif
