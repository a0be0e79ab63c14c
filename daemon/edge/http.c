/*
 * http: the HTTP listener. See http.h.
 *
 * Two threads meet here. The listener's (libmicrohttpd's) owns the connections and each
 * request_t until the request is complete; it then suspends the connection and queues a
 * task_t for the loop. The loop thread owns the task while its events are in the writer, and
 * gives it back by setting its answer and resuming the connection; the listener's thread then
 * queues the response and frees the request (with its task) when the connection is done with
 * it (MHD_OPTION_NOTIFY_COMPLETED).
 */
#include "daemon/edge/http.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "daemon/core/http_body.h"
#include "daemon/edge/clients.h"
#include "daemon/sys/clock.h"
#include "daemon/sys/log.h"
#include "proto/wire.h"

/* The heartbeat's period, and the age at which /healthz calls the loop stuck. */
#define HEARTBEAT_MS 250
#define HEALTHZ_STALE_MS 5000
/* A connection's buffers (headers; the body is copied out as it comes). */
#define CONNECTION_MEMORY 32768
/* Seconds a connection may stay idle (a client that stops sending) before it is closed. */
#define CONNECTION_TIMEOUT_S 30
#define MAX_CONNECTIONS 1024

typedef enum { ROUTE_EVENTS, ROUTE_ALERTMANAGER } route_t;

/* One event of a request, from its submission to its reply. */
typedef struct {
	struct task *task;
	json_t *event;        /* owned until submitted: the event object, without "op" */
	char *reply;          /* owned: the reply frame, once answered */
	size_t reply_len;
	wire_code_t code;
} slot_t;

/* A complete write request handed to the loop thread. */
typedef struct task {
	struct task *next;
	struct MHD_Connection *conn;
	http_t *http;
	route_t route;
	bool batch;           /* answered with an array of replies */
	bool has_token;
	unsigned char token_sha256[SHA256_DIGEST_LENGTH];
	char *provider;       /* ?provider= of /v1/alertmanager, or NULL */
	slot_t *slots;
	size_t n_slots;
	size_t pending;       /* slots without a reply yet (loop thread) */
	/* the answer, set by the loop thread before it resumes the connection */
	unsigned status;
	char *body;
	size_t body_len;
} task_t;

/* One request, as the listener's thread reads it. */
typedef struct {
	char *body;
	size_t len, cap;
	bool too_large;
	bool suspended;
	task_t *task;         /* set once handed to the loop; answered when task->body is set */
} request_t;

struct http {
	uv_loop_t *loop;
	const config_t *cfg;
	server_t *server;
	struct MHD_Daemon *mhd;
	char *tls_cert, *tls_key; /* the PEM texts MHD serves from */
	uv_async_t async;
	uv_timer_t heartbeat;
	bool closed;          /* the loop handles are closed (loop thread) */
	int open_handles;
	pthread_mutex_t lock;
	task_t *queue, **tail; /* tasks waiting for the loop; under lock */
	bool refusing;        /* under lock: the loop takes no more tasks */
	atomic_llong beat_ms; /* the heartbeat's last turn, monotonic */
	_Atomic(http_metrics_fn) metrics;
	_Atomic(void *) metrics_arg;
};

/* The HTTP status of a wire code (proto/PROTOCOL.md, "HTTP"). */
static unsigned s_status(wire_code_t code)
{
	switch (code) {
	case WIRE_OK: return MHD_HTTP_OK;
	case WIRE_BAD_JSON:
	case WIRE_BAD_REQUEST:
	case WIRE_UNKNOWN_OP: return MHD_HTTP_BAD_REQUEST;
	case WIRE_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
	case WIRE_CONFLICT:
	case WIRE_INVALID_TRANSITION: return MHD_HTTP_CONFLICT;
	case WIRE_FORBIDDEN: return MHD_HTTP_FORBIDDEN;
	case WIRE_TOO_LARGE: return MHD_HTTP_CONTENT_TOO_LARGE;
	case WIRE_UNAVAILABLE: return MHD_HTTP_SERVICE_UNAVAILABLE;
	case WIRE_INTERNAL: break;
	}
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---------------------------------------------------------------------------------------- */
/* Responses (listener's thread) */

/* Queues a response of status; 401 says how to authenticate. */
static enum MHD_Result s_respond_with(struct MHD_Connection *conn, unsigned status,
				      struct MHD_Response *r, const char *content_type)
{
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"incidentd\"");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Queues body (taken; NULL: an empty body) with status. */
static enum MHD_Result s_respond(struct MHD_Connection *conn, unsigned status, char *body,
				 size_t len, const char *content_type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		body ? len : 0, body ? body : (char *)"",
		body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r)
		free(body);
	return s_respond_with(conn, status, r, content_type);
}

/* An error answer: the wire's error reply, with the status of its code. */
static enum MHD_Result s_respond_error(struct MHD_Connection *conn, wire_code_t code,
				       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum MHD_Result s_respond_error(struct MHD_Connection *conn, wire_code_t code,
				       const char *fmt, ...)
{
	wire_error_t err = { .code = code };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof err.message, fmt, ap);
	va_end(ap);
	size_t len = 0;
	char *body = wire_reply_error(&err, NULL, &len);
	return s_respond(conn, s_status(code), body, body ? len : 0, "application/json");
}

/* An answer whose status is not a wire code's (401, 404, 405, 415): the same JSON shape. */
static enum MHD_Result s_respond_status(struct MHD_Connection *conn, unsigned status,
					const char *code, const char *message)
{
	json_t *o = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message",
			      message);
	char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s_respond(conn, status, body, body ? strlen(body) : 0, "application/json");
}

static enum MHD_Result s_respond_text(struct MHD_Connection *conn, unsigned status,
				      const char *text)
{
	return s_respond_with(conn, status,
			      MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
							      MHD_RESPMEM_PERSISTENT),
			      "text/plain");
}

/* ---------------------------------------------------------------------------------------- */
/* The loop thread: tokens, submission, replies */

/* Builds the answer of a task whose slots all have their reply, and resumes its connection. */
static void s_task_finish(task_t *t)
{
	size_t total = 2;
	wire_code_t worst = WIRE_OK; /* of a batch: a 5xx wins, so that the sender retries */
	for (size_t i = 0; i < t->n_slots; i++) {
		total += t->slots[i].reply_len + 1;
		wire_code_t c = t->slots[i].code;
		if (c == WIRE_UNAVAILABLE || c == WIRE_INTERNAL)
			worst = worst == WIRE_UNAVAILABLE ? worst : c;
		else if (worst == WIRE_OK && c != WIRE_OK && c != WIRE_CONFLICT &&
			 t->route == ROUTE_ALERTMANAGER)
			worst = c; /* a refusal Alertmanager should not retry: its 4xx */
	}
	if (!t->batch) {
		t->status = s_status(t->slots[0].code);
		t->body = t->slots[0].reply;
		t->body_len = t->slots[0].reply_len;
		t->slots[0].reply = NULL;
	} else if ((t->body = malloc(total)) != NULL) {
		size_t at = 0;
		t->body[at++] = '[';
		for (size_t i = 0; i < t->n_slots; i++) {
			if (i)
				t->body[at++] = ',';
			memcpy(t->body + at, t->slots[i].reply, t->slots[i].reply_len);
			at += t->slots[i].reply_len;
		}
		t->body[at++] = ']';
		t->body_len = at;
		t->status = s_status(worst);
	}
	if (!t->body) {
		t->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		t->body = strdup("{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		t->body_len = t->body ? strlen(t->body) : 0;
	}
	MHD_resume_connection(t->conn);
}

static void s_slot_answer(slot_t *slot, wire_code_t code, char *reply, size_t len)
{
	if (!reply) {
		code = WIRE_INTERNAL;
		reply = strdup("{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		len = reply ? strlen(reply) : 0;
	}
	slot->code = code;
	slot->reply = reply;
	slot->reply_len = len;
	if (--slot->task->pending == 0)
		s_task_finish(slot->task);
}

static void s_slot_refuse(slot_t *slot, const wire_error_t *err)
{
	size_t len = 0;
	char *reply = wire_reply_error(err, json_object_get(slot->event, "id"), &len);
	s_slot_answer(slot, err->code, reply, len);
}

/* Writer completion of one event (server_submit_event). */
static void s_on_event_reply(writer_job_t *job, char *reply, size_t len, void *arg)
{
	wire_code_t code = job->event.set || job->fields ? WIRE_OK : job->err.code;
	s_slot_answer(arg, code, reply, len);
}

/*
 * The provider an Alertmanager payload speaks for: ?provider= (which a provider token may
 * name only among its own), or a provider token's only provider.
 */
static int s_alert_provider(const task_t *t, const op_caller_t *caller, const char **out,
			    wire_error_t *err)
{
	*out = t->provider;
	if (!*out && caller->role == ROLE_PROVIDER && caller->n_providers == 1)
		*out = caller->providers[0];
	if (!*out)
		return wire_error_set(err, WIRE_BAD_REQUEST, "provider: name it with ?provider= "
				      "(this token does not speak for exactly one provider)");
	return 0;
}

/* Submits one slot's event; a refusal before the writer answers the slot at once. */
static void s_slot_submit(http_t *h, slot_t *slot, const op_caller_t *caller,
			  const char *provider)
{
	wire_error_t err;
	json_t *ev = slot->event;
	if (provider && json_object_set_new(ev, "provider", json_string(provider)) < 0) {
		wire_error_set(&err, WIRE_INTERNAL, "out of memory");
		s_slot_refuse(slot, &err);
		return;
	}
	json_object_set_new(ev, "op", json_string("event"));
	char *text = json_dumps(ev, JSON_COMPACT);
	json_object_del(ev, "op");
	if (!text) {
		wire_error_set(&err, WIRE_INTERNAL, "out of memory");
		s_slot_refuse(slot, &err);
		return;
	}
	if (strlen(text) > h->cfg->max_request_bytes)
		wire_error_set(&err, WIRE_TOO_LARGE, "event: more than max_request_bytes (%zu)",
			       h->cfg->max_request_bytes);
	else if (server_submit_event(h->server, text, strlen(text), caller, s_on_event_reply, slot,
				     &err) == 0)
		err.code = WIRE_OK;
	free(text);
	if (err.code != WIRE_OK)
		s_slot_refuse(slot, &err);
}

/* Looks the task's token up and submits its events; answers 401 or 400 at once. */
static void s_task_start(http_t *h, task_t *t)
{
	const config_client_t *client = t->has_token
		? config_client_by_token(clients_config(server_clients(h->server)), t->token_sha256)
		: NULL;
	if (!client) {
		t->status = MHD_HTTP_UNAUTHORIZED;
		t->body = strdup("{\"ok\":false,\"error\":{\"code\":\"unauthorized\",\"message\":"
				 "\"no such token\"}}");
		t->body_len = t->body ? strlen(t->body) : 0;
		MHD_resume_connection(t->conn);
		return;
	}
	op_caller_t caller = clients_caller(client);
	const char *provider = NULL;
	wire_error_t err;
	if (t->route == ROUTE_ALERTMANAGER && s_alert_provider(t, &caller, &provider, &err) < 0) {
		size_t len = 0;
		t->status = s_status(err.code);
		t->body = wire_reply_error(&err, NULL, &len);
		t->body_len = len;
		if (!t->body)
			t->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		MHD_resume_connection(t->conn);
		return;
	}
	/* Each slot may finish at once (a refusal): count them all before the first submission. */
	t->pending = t->n_slots + 1;
	for (size_t i = 0; i < t->n_slots; i++) {
		t->slots[i].task = t;
		s_slot_submit(h, &t->slots[i], &caller, provider);
	}
	if (--t->pending == 0)
		s_task_finish(t);
}

/* Takes the queued tasks (all of them, or none once the loop has closed its handles). */
static task_t *s_queue_take(http_t *h)
{
	pthread_mutex_lock(&h->lock);
	task_t *tasks = h->queue;
	h->queue = NULL;
	h->tail = &h->queue;
	pthread_mutex_unlock(&h->lock);
	return tasks;
}

static void s_on_async(uv_async_t *async)
{
	http_t *h = async->data;
	for (task_t *t = s_queue_take(h), *next; t; t = next) {
		next = t->next;
		s_task_start(h, t);
	}
}

static void s_on_handle_closed(uv_handle_t *handle)
{
	http_t *h = handle->data;
	h->open_handles--;
}

/*
 * The heartbeat: /healthz reads its time. Once the server stops, the queue is answered
 * (server_submit_event refuses: unavailable) and the handles close, so that uv_run() can
 * return.
 */
static void s_on_heartbeat(uv_timer_t *timer)
{
	http_t *h = timer->data;
	atomic_store(&h->beat_ms, (long long)clock_mono_ms());
	if (!server_stopping(h->server) || h->closed)
		return;
	pthread_mutex_lock(&h->lock);
	h->refusing = true;
	pthread_mutex_unlock(&h->lock);
	s_on_async(&h->async);
	h->closed = true;
	uv_close((uv_handle_t *)&h->async, s_on_handle_closed);
	uv_close((uv_handle_t *)&h->heartbeat, s_on_handle_closed);
}

/* ---------------------------------------------------------------------------------------- */
/* The listener's thread: reading requests */

static void s_task_free(task_t *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_slots; i++) {
		json_decref(t->slots[i].event);
		free(t->slots[i].reply);
	}
	free(t->slots);
	free(t->provider);
	free(t->body);
	free(t);
}

static void s_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	request_t *r = *con_cls;
	if (!r)
		return;
	s_task_free(r->task);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* Appends a chunk of the body, or notes that it went past the limit (the rest is dropped). */
static void s_body_append(request_t *r, const char *data, size_t len, size_t limit)
{
	if (r->too_large || r->len + len > limit) {
		r->too_large = true;
		return;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + len + 1)
			cap *= 2;
		char *grown = realloc(r->body, cap);
		if (!grown) {
			r->too_large = true;
			return;
		}
		r->body = grown;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
}

/* The bearer token's SHA-256 from the Authorization header; false when there is none. */
static bool s_token(struct MHD_Connection *conn, unsigned char sha[SHA256_DIGEST_LENGTH])
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	const char *token = auth + 7;
	while (*token == ' ')
		token++;
	size_t len = strlen(token);
	while (len && token[len - 1] == ' ')
		len--;
	if (len == 0)
		return false;
	SHA256((const unsigned char *)token, len, sha);
	return true;
}

/* True when the request's Content-Type is application/json (parameters allowed). */
static bool s_json_content(struct MHD_Connection *conn)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!ct || strncasecmp(ct, "application/json", 16) != 0)
		return false;
	return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

/* Moves the decoded events into the task's slots (body is left empty). */
static int s_slots_take(task_t *t, http_body_t *body, wire_error_t *err)
{
	t->slots = calloc(body->n, sizeof *t->slots);
	if (!t->slots) {
		http_body_release(body);
		return wire_error_set(err, WIRE_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < body->n; i++)
		t->slots[i] = (slot_t){ .event = body->events[i] };
	t->n_slots = body->n;
	t->batch = body->batch;
	body->n = 0;
	http_body_release(body);
	return 0;
}

/* Hands a complete write to the loop: parks the connection first, so that the loop's resume
 * can never come before the suspension. */
static enum MHD_Result s_hand_over(http_t *h, struct MHD_Connection *conn, request_t *r)
{
	task_t *t = r->task;
	MHD_suspend_connection(conn);
	r->suspended = true;
	/* Sent under the lock: the loop sets refusing under it before it closes the async. */
	pthread_mutex_lock(&h->lock);
	bool refusing = h->refusing;
	if (!refusing) {
		*h->tail = t;
		h->tail = &t->next;
		uv_async_send(&h->async);
	}
	pthread_mutex_unlock(&h->lock);
	if (!refusing)
		return MHD_YES;
	t->status = MHD_HTTP_SERVICE_UNAVAILABLE;
	t->body = strdup("{\"ok\":false,\"error\":{\"code\":\"unavailable\",\"message\":"
			 "\"incidentd is stopping\"}}");
	t->body_len = t->body ? strlen(t->body) : 0;
	MHD_resume_connection(conn);
	return MHD_YES;
}

/* A complete POST body: decoded here, off the loop, then handed over. */
static enum MHD_Result s_post_complete(http_t *h, struct MHD_Connection *conn, request_t *r,
				       route_t route)
{
	wire_error_t err;
	json_error_t jerr;
	if (r->too_large)
		return s_respond_error(conn, WIRE_TOO_LARGE, "request: more than max_request_bytes "
				       "(%zu)", h->cfg->max_request_bytes);
	json_t *doc = r->len ? json_loadb(r->body, r->len, 0, &jerr) : NULL;
	if (!doc)
		return s_respond_error(conn, WIRE_BAD_JSON, "request: %s", r->len ? jerr.text
									 : "empty body");
	task_t *t = calloc(1, sizeof *t);
	if (!t) {
		json_decref(doc);
		return s_respond_error(conn, WIRE_INTERNAL, "out of memory");
	}
	r->task = t;
	t->conn = conn;
	t->http = h;
	t->route = route;
	t->has_token = s_token(conn, t->token_sha256);
	const char *provider = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "provider");
	t->provider = provider && *provider ? strdup(provider) : NULL;
	http_body_t body;
	int rc = route == ROUTE_EVENTS ? http_body_events(doc, &body, &err)
				       : http_body_alertmanager(doc, h->cfg, &body, &err);
	json_decref(doc);
	if (rc == 0)
		rc = s_slots_take(t, &body, &err);
	if (rc < 0)
		return s_respond_error(conn, err.code, "%s", err.message);
	return s_hand_over(h, conn, r);
}

static enum MHD_Result s_get(http_t *h, struct MHD_Connection *conn, const char *url)
{
	if (strcmp(url, "/healthz") == 0) {
		bool fresh = clock_mono_ms() - atomic_load(&h->beat_ms) < HEALTHZ_STALE_MS;
		return s_respond_text(conn, fresh ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
				      fresh ? "ok\n" : "event loop stalled\n");
	}
	if (strcmp(url, "/readyz") == 0) {
		/*
		 * The server's own flag, not the heartbeat's view of it: a stop runs on the loop
		 * thread and blocks it while the writer commits what was accepted, and that drain is
		 * when a load balancer must already see 503. The listener starts after the store is
		 * open and stops before the server is freed. A cluster node is ready once caught up
		 * with the log.
		 */
		bool up = !server_stopping(h->server), ready = up && server_ready(h->server);
		return s_respond_text(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
				      ready ? "ready\n" : up ? "catching up with the log\n"
								: "stopping\n");
	}
	http_metrics_fn fn = atomic_load(&h->metrics);
	if (strcmp(url, "/metrics") == 0 && fn) {
		size_t len = 0;
		char *text = fn(atomic_load(&h->metrics_arg), &len);
		if (!text)
			return s_respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics failed\n");
		return s_respond(conn, MHD_HTTP_OK, text, len, "text/plain; version=0.0.4; charset=utf-8");
	}
	return s_respond_status(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
}

/* The first call of a POST: what can be refused before its body is read. */
static enum MHD_Result s_post_start(http_t *h, struct MHD_Connection *conn, request_t **r_out,
				    void **con_cls)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned char sha[SHA256_DIGEST_LENGTH];
	if (!s_token(conn, sha))
		return s_respond_status(conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
					"Authorization: Bearer TOKEN is missing");
	if (!s_json_content(conn))
		return s_respond_status(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_request",
					"Content-Type: expected application/json");
	if (cl && strtoull(cl, NULL, 10) > h->cfg->max_request_bytes)
		return s_respond_error(conn, WIRE_TOO_LARGE, "request: %s bytes is more than "
				       "max_request_bytes (%zu)", cl, h->cfg->max_request_bytes);
	request_t *r = calloc(1, sizeof *r);
	if (!r)
		return MHD_NO;
	*con_cls = r;
	*r_out = r;
	return MHD_YES;
}

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size,
				    void **con_cls)
{
	http_t *h = cls;
	request_t *r = *con_cls;
	(void)version;
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		return s_get(h, conn, url);
	bool events = strcmp(url, "/v1/events") == 0;
	if (!events && strcmp(url, "/v1/alertmanager") != 0)
		return s_respond_status(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return s_respond_status(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "bad_request",
					"expected POST");
	if (!r)
		return s_post_start(h, conn, &r, con_cls);
	if (r->task) { /* resumed: the loop set the answer, which the response takes */
		char *body = r->task->body;
		r->task->body = NULL;
		return s_respond(conn, r->task->status, body, r->task->body_len, "application/json");
	}
	if (*upload_data_size) {
		s_body_append(r, upload_data, *upload_data_size, h->cfg->max_request_bytes);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return s_post_complete(h, conn, r, events ? ROUTE_EVENTS : ROUTE_ALERTMANAGER);
}

/* ---------------------------------------------------------------------------------------- */
/* Start and stop */

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_warnx("http: %s", line);
}

/* Resolves [http] listen ("HOST:PORT", "[V6]:PORT") into addr. */
static int s_address(const char *listen, struct sockaddr_storage *addr, char *errbuf,
		     size_t errlen)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	size_t len = (size_t)(colon - listen);
	if (listen[0] == '[') {
		listen++;
		len -= 2;
	}
	if (len >= sizeof host) {
		snprintf(errbuf, errlen, "http listen %s: host name too long", listen);
		return -1;
	}
	memcpy(host, listen, len);
	host[len] = '\0';
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *res;
	int rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(errbuf, errlen, "http listen %s: %s", listen, gai_strerror(rc));
		return -1;
	}
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* A whole (small) file as a string, or NULL with errno set. */
static char *s_file_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	if (!f)
		return NULL;
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, mem);
	int failed = ferror(f);
	fclose(f);
	if (mem)
		fclose(mem);
	if (failed || !mem) {
		free(text);
		errno = failed ? EIO : ENOMEM;
		return NULL;
	}
	return text;
}

static int s_tls_read(http_t *h, char *errbuf, size_t errlen)
{
	const config_http_t *c = &h->cfg->http;
	if (!c->tls_cert)
		return 0;
	if ((h->tls_cert = s_file_read(c->tls_cert)) == NULL) {
		snprintf(errbuf, errlen, "http: tls_cert %s: %s", c->tls_cert, strerror(errno));
		return -1;
	}
	if ((h->tls_key = s_file_read(c->tls_key)) == NULL) {
		snprintf(errbuf, errlen, "http: tls_key %s: %s", c->tls_key, strerror(errno));
		return -1;
	}
	return 0;
}

static int s_mhd_start(http_t *h, char *errbuf, size_t errlen)
{
	struct sockaddr_storage addr;
	if (s_address(h->cfg->http.listen, &addr, errbuf, errlen) < 0 ||
	    s_tls_read(h, errbuf, errlen) < 0)
		return -1;
	/*
	 * poll(), not epoll: under MHD 0.9.75's epoll thread, with suspend/resume, some keep-alive
	 * connections stopped being served (a request in flight unanswered until the 30 s
	 * connection timeout closed them): 64 then 256 connections on a fresh daemon lost all 256
	 * connections' requests for 30 s in 3 of 4 runs, never under poll() (bench/README.md).
	 */
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (h->tls_cert)
		flags |= MHD_USE_TLS;
	/* The logger comes first (MHD's rule); without TLS the list ends before the TLS options. */
	h->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, s_on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, h,
		h->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert,
		MHD_OPTION_HTTPS_MEM_KEY, h->tls_key,
		MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(errbuf, errlen, "http listen %s: cannot listen (address in use, or a bad "
			 "certificate)", h->cfg->http.listen);
		return -1;
	}
	return 0;
}

http_t *http_new(uv_loop_t *loop, const config_t *cfg, server_t *server, char *errbuf,
		 size_t errlen)
{
	http_t *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(errbuf, errlen, "http: out of memory");
		return NULL;
	}
	h->loop = loop;
	h->cfg = cfg;
	h->server = server;
	h->tail = &h->queue;
	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->beat_ms, (long long)clock_mono_ms());
	atomic_init(&h->metrics, NULL);
	atomic_init(&h->metrics_arg, NULL);
	uv_async_init(loop, &h->async, s_on_async);
	uv_timer_init(loop, &h->heartbeat);
	h->async.data = h;
	h->heartbeat.data = h;
	h->open_handles = 2;
	uv_timer_start(&h->heartbeat, s_on_heartbeat, HEARTBEAT_MS, HEARTBEAT_MS);
	if (s_mhd_start(h, errbuf, errlen) < 0) {
		/* Refuse the (absent) listener's tasks; the handles close with the next loop turn. */
		h->closed = true;
		uv_close((uv_handle_t *)&h->async, s_on_handle_closed);
		uv_close((uv_handle_t *)&h->heartbeat, s_on_handle_closed);
		uv_run(loop, UV_RUN_NOWAIT);
		http_destroy(&h);
		return NULL;
	}
	log_info("http listening on %s%s", cfg->http.listen, h->tls_cert ? " (TLS)" : "");
	return h;
}

void http_set_metrics(http_t *h, http_metrics_fn fn, void *arg)
{
	atomic_store(&h->metrics_arg, arg);
	atomic_store(&h->metrics, fn);
}

void http_destroy(http_t **http_p)
{
	http_t *h = http_p ? *http_p : NULL;
	if (!h)
		return;
	*http_p = NULL;
	/* Requests that came after the loop stopped taking them: refused, then resumed. */
	pthread_mutex_lock(&h->lock);
	h->refusing = true;
	task_t *left = h->queue;
	h->queue = NULL;
	pthread_mutex_unlock(&h->lock);
	for (task_t *t = left, *next; t; t = next) {
		next = t->next;
		t->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		t->body = strdup("{\"ok\":false,\"error\":{\"code\":\"unavailable\",\"message\":"
				 "\"incidentd is stopping\"}}");
		t->body_len = t->body ? strlen(t->body) : 0;
		MHD_resume_connection(t->conn);
	}
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	pthread_mutex_destroy(&h->lock);
	if (h->tls_key)
		OPENSSL_cleanse(h->tls_key, strlen(h->tls_key));
	free(h->tls_cert);
	free(h->tls_key);
	free(h);
}
