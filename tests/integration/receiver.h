/*
 * receiver: a webhook receiver for the hook tests, in the test's process: an HTTP/1.1 server
 * on 127.0.0.1 (an ephemeral port) run by one thread, with keep-alive, that reads each POST
 * whole (Content-Length) and answers:
 *  - nothing to the first hang_first requests: the connection is left open, unanswered, until
 *    the client closes it (a receiver that never answers);
 *  - 500 to the next fail_first requests;
 *  - 200 to the rest.
 * It counts requests, 2xx answers and connections, and keeps the first H_RECEIVER_KEPT
 * requests. Every wait is bounded; nothing here exits the test.
 */
#ifndef INCIDENTD_TESTS_INTEGRATION_RECEIVER_H
#define INCIDENTD_TESTS_INTEGRATION_RECEIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H_RECEIVER_KEPT 64
#define H_RECEIVER_CONNS 16

/* What the receiver saw of one request, and what it answered (0: nothing). */
typedef struct {
	char method[16];
	char path[128];
	char delivery[64];   /* X-Incidentd-Delivery, "" when absent */
	char topic[128];     /* X-Incidentd-Topic, "" when absent */
	char signature[160]; /* X-Incidentd-Signature, "" when absent */
	char *body;          /* NUL-terminated */
	size_t body_len;
	int64_t at_ms;       /* wall clock when the whole request was read */
	int status;
} h_received_t;

/* One open connection and what it has sent that is not yet a whole request. */
typedef struct {
	int fd;              /* -1: a free slot */
	bool hanging;        /* an unanswered request: nothing more is read from it */
	char *buf;
	size_t len, cap;
} h_conn_t;

typedef struct {
	bool bound;          /* h_receiver_bind() ran: h_receiver_stop() has something to undo */
	int fd;              /* the listening socket */
	int port;
	int hang_first;
	int fail_first;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	pthread_mutex_t mutex;
	h_received_t req[H_RECEIVER_KEPT]; /* under mutex */
	int n;               /* requests read; under mutex */
	int ok;              /* requests answered 2xx; under mutex */
	int connections;     /* connections accepted; under mutex */
	h_conn_t conns[H_RECEIVER_CONNS]; /* the thread's own */
} h_receiver_t;

/*
 * Binds 127.0.0.1 on an ephemeral port without listening yet: connections to it are refused
 * until h_receiver_start(), and nobody else can take the port meanwhile. 0 or -1.
 */
int h_receiver_bind(h_receiver_t *r, int hang_first, int fail_first);

/* Listens and starts serving. 0 or -1. */
int h_receiver_start(h_receiver_t *r);

/*
 * Stops serving and closes everything; frees what was kept. Accepts one never bound (zeroed)
 * or already stopped.
 */
void h_receiver_stop(h_receiver_t *r);

/* The counts so far (any of the pointers may be NULL). */
void h_receiver_counts(h_receiver_t *r, int *requests, int *ok, int *connections);

/*
 * Waits up to timeout_ms until at least n requests were read (ok false) or answered 2xx (ok
 * true); returns that count.
 */
int h_receiver_wait(h_receiver_t *r, int n, bool ok, int timeout_ms);

#endif
