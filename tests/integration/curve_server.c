/*
 * curve_server: a CURVE server with ZAP for the client's tests. See curve_server.h.
 */
#include "curve_server.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zmq.h>

/* The ZAP domain of both sockets; any non-empty one makes libzmq ask the handler. */
#define S_ZAP_DOMAIN "incidentd"
/* ZMQ_ZAP_ENFORCE_DOMAIN is a draft name in 4.3.4's zmq.h; the option itself is stable. */
#define S_ZAP_ENFORCE_DOMAIN 93
#define S_PUBLISH_EVERY_MS 20
#define S_MAX_FRAMES 8

struct curve_server {
	void *ctx;
	void *zap; /* REP at inproc://zeromq.zap.01 */
	void *api; /* ROUTER */
	void *pub; /* PUB */
	pthread_t thread;
	bool running;
	atomic_bool stop;
	atomic_int answered, refused;
	char client_public[KEYFILE_Z85_BUFSZ];
	char public_key[KEYFILE_Z85_BUFSZ], secret_key[KEYFILE_Z85_BUFSZ];
	char api_endpoint[64], pub_endpoint[64];
};

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Frames of one message, as received. */
typedef struct {
	int n;
	zmq_msg_t frame[S_MAX_FRAMES];
} s_msg_t;

/* Receives a whole message (frames past S_MAX_FRAMES are dropped). Returns 0 or -1 (EAGAIN). */
static int s_recv(void *sock, s_msg_t *m)
{
	m->n = 0;
	for (;;) {
		zmq_msg_t f;
		zmq_msg_init(&f);
		if (zmq_msg_recv(&f, sock, m->n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(&f);
			return m->n == 0 ? -1 : 0;
		}
		bool more = zmq_msg_more(&f);
		if (m->n < S_MAX_FRAMES) {
			zmq_msg_init(&m->frame[m->n]);
			zmq_msg_move(&m->frame[m->n++], &f);
		}
		zmq_msg_close(&f);
		if (!more)
			return 0;
	}
}

static void s_msg_close(s_msg_t *m)
{
	for (int i = 0; i < m->n; i++)
		zmq_msg_close(&m->frame[i]);
	m->n = 0;
}

static void s_send_str(void *sock, const char *text, bool more)
{
	zmq_send(sock, text, strlen(text), more ? ZMQ_SNDMORE : 0);
}

/*
 * Answers one ZAP request (ZeroMQ RFC 27): version, request id, domain, address, identity,
 * mechanism, then the client's 32-byte public key for CURVE.
 */
static void s_zap_answer(curve_server_t *self, s_msg_t *m)
{
	char key[KEYFILE_Z85_BUFSZ] = "";
	if (m->n == 7 && zmq_msg_size(&m->frame[6]) == 32)
		zmq_z85_encode(key, zmq_msg_data(&m->frame[6]), 32);
	bool ok = strcmp(key, self->client_public) == 0;
	if (!ok)
		atomic_fetch_add(&self->refused, 1);
	s_send_str(self->zap, "1.0", true);
	if (m->n > 1)
		zmq_send(self->zap, zmq_msg_data(&m->frame[1]), zmq_msg_size(&m->frame[1]),
			 ZMQ_SNDMORE);
	else
		s_send_str(self->zap, "", true);
	s_send_str(self->zap, ok ? "200" : "400", true);
	s_send_str(self->zap, ok ? "OK" : "unknown key", true);
	s_send_str(self->zap, ok ? CURVE_SERVER_USER : "", true);
	s_send_str(self->zap, "", false);
}

/* Answers one request: the envelope back, then {"ok": true, "id", "version", "user"}. */
static void s_api_answer(curve_server_t *self, s_msg_t *m)
{
	zmq_msg_t *payload = &m->frame[m->n - 1];
	const char *user = zmq_msg_gets(payload, "User-Id");
	json_t *req = json_loadb(zmq_msg_data(payload), zmq_msg_size(payload), 0, NULL);
	json_t *reply = json_pack("{s:b, s:s, s:s?}", "ok", 1, "version", "curve-server", "user",
				  user);
	json_t *id = json_object_get(req, "id");
	if (id != NULL)
		json_object_set(reply, "id", id);
	char *text = json_dumps(reply, JSON_COMPACT);
	for (int i = 0; i < m->n - 1; i++)
		zmq_send(self->api, zmq_msg_data(&m->frame[i]), zmq_msg_size(&m->frame[i]),
			 ZMQ_SNDMORE);
	s_send_str(self->api, text != NULL ? text : "{\"ok\":true}", false);
	atomic_fetch_add(&self->answered, 1);
	free(text);
	json_decref(reply);
	json_decref(req);
}

static void s_publish(curve_server_t *self, long seq)
{
	char body[128];
	snprintf(body, sizeof body, "{\"seq\":%ld,\"incident\":\"INC000000000001\"}", seq);
	s_send_str(self->pub, CURVE_SERVER_TOPIC, true);
	s_send_str(self->pub, body, false);
}

static void *s_run(void *arg)
{
	curve_server_t *self = arg;
	long seq = 0;
	int64_t next_publish = s_now_ms();
	while (!atomic_load(&self->stop)) {
		zmq_pollitem_t items[2] = {{.socket = self->zap, .events = ZMQ_POLLIN},
					   {.socket = self->api, .events = ZMQ_POLLIN}};
		zmq_poll(items, 2, S_PUBLISH_EVERY_MS);
		s_msg_t m;
		while (s_recv(self->zap, &m) == 0) {
			s_zap_answer(self, &m);
			s_msg_close(&m);
		}
		while (s_recv(self->api, &m) == 0) {
			if (m.n >= 2)
				s_api_answer(self, &m);
			s_msg_close(&m);
		}
		if (s_now_ms() >= next_publish) {
			s_publish(self, ++seq);
			next_publish = s_now_ms() + S_PUBLISH_EVERY_MS;
		}
	}
	return NULL;
}

/* A CURVE server socket of type with ZAP enforced, bound to a free loopback port. */
static void *s_curve_socket(curve_server_t *self, int type, char *endpoint, size_t len)
{
	void *sock = zmq_socket(self->ctx, type);
	int one = 1, linger = 0;
	if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->secret_key, KEYFILE_Z85_LEN) != 0 ||
	    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, S_ZAP_DOMAIN, strlen(S_ZAP_DOMAIN)) != 0 ||
	    zmq_setsockopt(sock, S_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0 ||
	    zmq_bind(sock, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0) {
		fprintf(stderr, "curve_server: socket: %s\n", zmq_strerror(errno));
		if (sock != NULL)
			zmq_close(sock);
		return NULL;
	}
	return sock;
}

curve_server_t *curve_server_start(const char *client_public)
{
	curve_server_t *self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	snprintf(self->client_public, sizeof self->client_public, "%s", client_public);
	int linger = 0;
	self->ctx = zmq_ctx_new();
	if (self->ctx == NULL || zmq_curve_keypair(self->public_key, self->secret_key) != 0)
		goto fail;
	/* The handler first: a CURVE socket bound without one lets every key in. */
	self->zap = zmq_socket(self->ctx, ZMQ_REP);
	if (self->zap == NULL ||
	    zmq_setsockopt(self->zap, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_bind(self->zap, "inproc://zeromq.zap.01") != 0)
		goto fail;
	self->api = s_curve_socket(self, ZMQ_ROUTER, self->api_endpoint, sizeof self->api_endpoint);
	self->pub = s_curve_socket(self, ZMQ_PUB, self->pub_endpoint, sizeof self->pub_endpoint);
	if (self->api == NULL || self->pub == NULL)
		goto fail;
	if (pthread_create(&self->thread, NULL, s_run, self) != 0)
		goto fail;
	self->running = true;
	return self;
fail:
	fprintf(stderr, "curve_server: cannot start: %s\n", zmq_strerror(errno));
	curve_server_stop(&self);
	return NULL;
}

void curve_server_stop(curve_server_t **self_p)
{
	if (self_p == NULL || *self_p == NULL)
		return;
	curve_server_t *self = *self_p;
	if (self->running) {
		atomic_store(&self->stop, true);
		pthread_join(self->thread, NULL);
	}
	/* The sockets were the thread's; after the join they are this thread's to close. */
	if (self->api != NULL)
		zmq_close(self->api);
	if (self->pub != NULL)
		zmq_close(self->pub);
	if (self->zap != NULL)
		zmq_close(self->zap);
	if (self->ctx != NULL)
		zmq_ctx_term(self->ctx);
	free(self);
	*self_p = NULL;
}

const char *curve_server_key(const curve_server_t *self)
{
	return self->public_key;
}

const char *curve_server_api(const curve_server_t *self)
{
	return self->api_endpoint;
}

const char *curve_server_pub(const curve_server_t *self)
{
	return self->pub_endpoint;
}

int curve_server_answered(const curve_server_t *self)
{
	return atomic_load(&self->answered);
}

int curve_server_refused(const curve_server_t *self)
{
	return atomic_load(&self->refused);
}
