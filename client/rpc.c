#include "client/rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "client/handshake.h"

struct rpc {
	void *ctx;
	void *sock;
	handshake_t *handshake;
	char endpoint[256];
	char failure[320]; /* rpc_failure()'s text for other errors */
};

rpc_t *rpc_new(const char *endpoint, const curve_t *curve)
{
	rpc_t *self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
	int linger = 0, rc = -1;
	self->ctx = zmq_ctx_new();
	if (self->ctx != NULL)
		self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
	if (self->sock != NULL &&
	    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger) == 0)
		rc = curve_apply(curve, self->sock);
	if (rc == 0)
		self->handshake = handshake_new(self->ctx, self->sock, endpoint, curve->on);
	if (self->handshake == NULL || zmq_connect(self->sock, endpoint) != 0) {
		int saved = errno;
		rpc_destroy(&self);
		errno = saved;
		return NULL;
	}
	return self;
}

void rpc_destroy(rpc_t **self_p)
{
	if (self_p == NULL || *self_p == NULL)
		return;
	rpc_t *self = *self_p;
	handshake_destroy(&self->handshake);
	if (self->sock != NULL)
		zmq_close(self->sock);
	if (self->ctx != NULL)
		zmq_ctx_term(self->ctx);
	free(self);
	*self_p = NULL;
}

int rpc_wait_connected(rpc_t *self, long timeout_ms)
{
	return handshake_wait_succeeded(self->handshake, timeout_ms);
}

int rpc_send(rpc_t *self, const json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT);
	if (text == NULL)
		return -ENOMEM;
	int rc = zmq_send(self->sock, text, strlen(text), 0);
	int saved = errno;
	free(text);
	return rc < 0 ? -saved : 0;
}

/*
 * Receives the rest of one message into a NUL-terminated string, skipping empty frames: a
 * ROUTER that treats us as REQ-style may put an empty delimiter before the payload.
 */
static int s_recv_payload(void *sock, char **text_out)
{
	zmq_msg_t msg;
	for (;;) {
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
			int saved = errno;
			zmq_msg_close(&msg);
			return -saved;
		}
		if (zmq_msg_size(&msg) > 0 || !zmq_msg_more(&msg))
			break;
		zmq_msg_close(&msg);
	}
	size_t len = zmq_msg_size(&msg);
	char *text = malloc(len + 1);
	if (text != NULL) {
		memcpy(text, zmq_msg_data(&msg), len);
		text[len] = '\0';
	}
	/* Drop any further frames: a reply is exactly one payload frame. */
	while (zmq_msg_more(&msg)) {
		zmq_msg_close(&msg);
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sock, 0) < 0)
			break;
	}
	zmq_msg_close(&msg);
	*text_out = text;
	return text == NULL ? -ENOMEM : 0;
}

int rpc_recv(rpc_t *self, long timeout_ms, json_t **reply_out, char **raw_out)
{
	int n = handshake_wait(self->handshake, self->sock, timeout_ms);
	if (n < 0)
		return n;
	if (n == 0)
		return -ETIMEDOUT;
	char *text = NULL;
	int rc = s_recv_payload(self->sock, &text);
	if (rc < 0)
		return rc == -EAGAIN ? -ETIMEDOUT : rc;
	json_t *reply = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(reply)) {
		json_decref(reply);
		free(text);
		return -EBADMSG;
	}
	*reply_out = reply;
	if (raw_out != NULL)
		*raw_out = text;
	else
		free(text);
	return 0;
}

const char *rpc_failure(rpc_t *self, int rc)
{
	if (rc == -EACCES || rc == -EPROTO)
		return handshake_error(self->handshake);
	if (rc == -ETIMEDOUT)
		return handshake_hint(self->handshake);
	snprintf(self->failure, sizeof self->failure, "%s: %s", self->endpoint, strerror(-rc));
	return self->failure;
}
