/*
 * http: the HTTP listener ([http] listen), for tools that speak HTTP rather than ZeroMQ.
 *
 * libmicrohttpd runs on the event loop's thread, without a thread of its own: the loop watches
 * its epoll fd and calls MHD_run() (MHD_USE_EPOLL, no internal polling thread). MHD reads and
 * bounds each request (connection memory limit, idle timeout, the body limited to [daemon]
 * max_request_bytes); the handler checks its method, path and content type and decodes its
 * JSON. A write is then parked (MHD_suspend_connection), its bearer token looked up in the
 * server's current client set and each event submitted through server_submit_event(): HTTP
 * events share the writer's group commit with the ZeroMQ requests. When the last event of a
 * request has its reply, the connection is resumed with the answer, which the MHD_run() at the
 * end of that loop turn sends.
 *
 *   POST /v1/events         one event object, or {"events": [...]} (an array of replies)
 *   POST /v1/alertmanager   an Alertmanager webhook payload (version 4)
 *   GET  /healthz           200 while the event loop turns (a heartbeat timer), else 503;
 *                           answered by the loop itself, so a stalled loop answers nothing
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
 * *len, or NULL (answered 500). Called on the event loop's thread, between its callbacks: it
 * must be quick (the loop waits for it) and must not hold what the loop holds.
 */
typedef char *(*http_metrics_fn)(void *arg, size_t *len);

/*
 * Starts the listener of cfg->http on loop (reading tls_cert and tls_key when set), with a
 * heartbeat timer, submitting to server. Returns NULL with a one-line reason in errbuf when it
 * cannot (address in use, unreadable certificate). cfg->http.listen must be set. cfg and
 * server must outlive the listener.
 *
 * The listener's loop handles never keep the loop running (uv_unref): uv_run() returns once
 * the server's handles are closed. Writes that come once server_stop() has been called are
 * answered 503.
 */
http_t *http_new(uv_loop_t *loop, const config_t *cfg, server_t *server, char *errbuf,
		 size_t errlen);

/*
 * Serves GET /metrics with fn(arg) from now on (NULL: 404 again). Call it before requests
 * can come, or accept that a scrape racing the call sees either.
 */
void http_set_metrics(http_t *http, http_metrics_fn fn, void *arg);

/*
 * Stops the listener after uv_run() has returned: answers already given are sent (a few
 * non-blocking MHD_run() passes; writes that come now are answered 503), its handles close and
 * the listener is freed. Accepts NULL and sets *http_p = NULL.
 */
void http_destroy(http_t **http_p);

#endif
