/*
 * handshake: a client socket's connections as its monitor reports them. See handshake.h.
 */
#include "client/handshake.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

/* The events that tell how a connection fared; the others are not read. */
#define S_EVENTS                                                                            \
	(ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |                              \
	 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |       \
	 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* The ZAP status by which the daemon refuses a key (ZeroMQ RFC 27). */
#define S_ZAP_REFUSED 400

struct handshake {
	void *sock;       /* the watched socket; borrowed */
	void *monitor;    /* the PAIR socket that receives its events */
	bool curve;
	bool connected;   /* a connection was made (the handshake may have failed since) */
	bool succeeded;   /* a handshake succeeded */
	int silent;       /* handshakes closed without a word since the last success */
	int fatal;        /* 0, or what handshake_wait() returns from now on */
	char endpoint[256];
	char error[512];
	char hint[512];
};

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

handshake_t *handshake_new(void *ctx, void *sock, const char *endpoint, bool curve)
{
	handshake_t *self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->sock = sock;
	self->curve = curve;
	snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
	snprintf(self->hint, sizeof self->hint, "the daemon may not be running there");
	/* One monitor address per watched socket: several may share a context. */
	char address[64];
	snprintf(address, sizeof address, "inproc://incidentctl.handshake.%p", sock);
	int linger = 0;
	if (zmq_socket_monitor(sock, address, S_EVENTS) != 0)
		goto fail;
	self->monitor = zmq_socket(ctx, ZMQ_PAIR);
	if (self->monitor == NULL ||
	    zmq_setsockopt(self->monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_connect(self->monitor, address) != 0)
		goto fail;
	return self;
fail:;
	int saved = errno;
	handshake_destroy(&self);
	errno = saved;
	return NULL;
}

void handshake_destroy(handshake_t **self_p)
{
	if (self_p == NULL || *self_p == NULL)
		return;
	handshake_t *self = *self_p;
	zmq_socket_monitor(self->sock, NULL, 0);
	if (self->monitor != NULL)
		zmq_close(self->monitor);
	free(self);
	*self_p = NULL;
}

/* A handshake the daemon's authentication (ZAP) did not accept: final, libzmq gives up. */
static void s_on_auth_failure(handshake_t *self, uint32_t status)
{
	if (status == S_ZAP_REFUSED)
		snprintf(self->error, sizeof self->error, "the daemon refused this key");
	else
		snprintf(self->error, sizeof self->error,
			 "the daemon at %s could not check this key (its authentication "
			 "answered %u)",
			 self->endpoint, (unsigned)status);
	self->fatal = -EACCES;
}

/*
 * A protocol error: final too (libzmq does not reconnect), but a plaintext client keeps its
 * old behaviour and only learns what to say when its time runs out.
 */
static void s_on_protocol_failure(handshake_t *self, uint32_t code)
{
	const char *e = self->endpoint;
	if (!self->curve) {
		if (code == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
			snprintf(self->hint, sizeof self->hint,
				 "the daemon requires CURVE keys (--key and --server-key)");
		else
			snprintf(self->hint, sizeof self->hint,
				 "the handshake failed (ZeroMQ protocol error 0x%08x)",
				 (unsigned)code);
		return;
	}
	if (code == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
		snprintf(self->error, sizeof self->error,
			 "the daemon at %s does not use CURVE: leave out --key and --server-key",
			 e);
	else if (code == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
		snprintf(self->error, sizeof self->error,
			 "the CURVE handshake with %s failed (a cryptographic error): is "
			 "--server-key the daemon's public key?",
			 e);
	else
		snprintf(self->error, sizeof self->error,
			 "the handshake with %s failed (ZeroMQ protocol error 0x%08x)", e,
			 (unsigned)code);
	self->fatal = -EPROTO;
}

/* The daemon closed the connection during the handshake. */
static void s_on_silent_failure(handshake_t *self)
{
	const char *e = self->endpoint;
	self->silent++;
	if (!self->curve) {
		snprintf(self->hint, sizeof self->hint,
			 "the daemon closed the connection during the handshake: it may require "
			 "CURVE keys (--key and --server-key)");
		return;
	}
	snprintf(self->hint, sizeof self->hint,
		 "the daemon closed the connection during the CURVE handshake: is --server-key its "
		 "public key?");
	if (self->silent < HANDSHAKE_MAX_SILENT_FAILURES)
		return;
	snprintf(self->error, sizeof self->error,
		 "the daemon at %s closed the connection during the CURVE handshake %d times: "
		 "--server-key is probably not its public key",
		 e, self->silent);
	self->fatal = -EPROTO;
}

static void s_on_event(handshake_t *self, uint16_t event, uint32_t value)
{
	switch (event) {
	case ZMQ_EVENT_CONNECTED:
		if (!self->connected)
			snprintf(self->hint, sizeof self->hint,
				 "connected, but the handshake did not complete%s",
				 self->curve ? ""
					     : ": the daemon may require CURVE keys (--key and "
					       "--server-key)");
		self->connected = true;
		break;
	case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
		self->succeeded = true;
		self->silent = 0;
		self->hint[0] = '\0';
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
		s_on_auth_failure(self, value);
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
		s_on_protocol_failure(self, value);
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
		s_on_silent_failure(self);
		break;
	default:
		break;
	}
}

/*
 * Reads every event waiting on the monitor: a frame of 6 bytes (the event as a uint16, its
 * value as a uint32, native order) and a frame with the endpoint. Returns self->fatal.
 */
static int s_read_events(handshake_t *self)
{
	while (self->fatal == 0) {
		zmq_msg_t msg;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, self->monitor, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			break;
		}
		uint16_t event = 0;
		uint32_t value = 0;
		bool whole = zmq_msg_size(&msg) == 6;
		if (whole) {
			memcpy(&event, zmq_msg_data(&msg), 2);
			memcpy(&value, (const char *)zmq_msg_data(&msg) + 2, 4);
		}
		while (zmq_msg_more(&msg)) {
			zmq_msg_close(&msg);
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, self->monitor, 0) < 0)
				break;
		}
		zmq_msg_close(&msg);
		if (whole)
			s_on_event(self, event, value);
	}
	return self->fatal;
}

int handshake_wait(handshake_t *self, void *sock, long timeout_ms)
{
	int64_t deadline = s_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		if (s_read_events(self) != 0)
			return self->fatal;
		int64_t left = timeout_ms < 0 ? -1 : deadline - s_now_ms();
		if (timeout_ms >= 0 && left < 0)
			left = 0;
		zmq_pollitem_t items[2] = {
			{.socket = sock, .events = ZMQ_POLLIN},
			{.socket = self->monitor, .events = ZMQ_POLLIN},
		};
		if (zmq_poll(items, 2, (long)left) < 0)
			return -errno;
		if (items[0].revents & ZMQ_POLLIN)
			return 1;
		if (left == 0 && !(items[1].revents & ZMQ_POLLIN))
			return s_read_events(self) != 0 ? self->fatal : 0;
	}
}

int handshake_wait_succeeded(handshake_t *self, long timeout_ms)
{
	int64_t deadline = s_now_ms() + timeout_ms;
	for (;;) {
		if (s_read_events(self) != 0)
			return self->fatal;
		if (self->succeeded)
			return 1;
		int64_t left = deadline - s_now_ms();
		if (left <= 0)
			return 0;
		zmq_pollitem_t item = {.socket = self->monitor, .events = ZMQ_POLLIN};
		if (zmq_poll(&item, 1, (long)left) < 0)
			return -errno;
	}
}

bool handshake_succeeded(const handshake_t *self)
{
	return self->succeeded;
}

const char *handshake_error(const handshake_t *self)
{
	return self->error;
}

const char *handshake_hint(const handshake_t *self)
{
	return self->hint;
}
