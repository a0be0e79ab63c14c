/*
 * zap: the ZAP handler. See zap.h.
 */
#include "daemon/edge/zap.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "daemon/sys/clock.h"
#include "daemon/sys/log.h"

/* A draft option in zmq.h, but honoured by libzmq 4.3: without a handler, refuse. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/* The frames of a request (RFC 27): version, id, domain, address, identity, mechanism, key. */
enum { ZAP_VERSION, ZAP_ID, ZAP_DOMAIN, ZAP_ADDRESS, ZAP_IDENTITY, ZAP_MECHANISM, ZAP_KEY,
       ZAP_FRAMES };

/* Refusals logged per minute at most; the rest are counted into the next line. */
#define ZAP_LOG_PER_MINUTE 10

int zap_server_options(void *socket, const config_security_t *security, const char *domain)
{
	int one = 1;
	if (zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) < 0 ||
	    zmq_setsockopt(socket, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) < 0 ||
	    zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
	    zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, security->secret_key,
			   KEYFILE_Z85_LEN + 1) < 0)
		return -1;
	return 0;
}

/* Logs a refused handshake, a few a minute at most (anyone can try keys). */
static void s_log_refused(const char *domain, const char *address, const char *why)
{
	static int64_t minute;
	static int logged;
	static unsigned long quiet;
	int64_t now = clock_now_ms() / 60000;
	if (now != minute) {
		if (quiet)
			log_warnx("ZAP: %lu more handshakes refused in the last minute", quiet);
		minute = now;
		logged = 0;
		quiet = 0;
	}
	if (logged++ < ZAP_LOG_PER_MINUTE)
		log_warnx("ZAP: refused a connection to %s from %s: %s",
			  strcmp(domain, ZAP_DOMAIN_PUBLISH) == 0 ? "publish" : "api", address, why);
	else
		quiet++;
}

/* Sends the reply: version, the request's id, status, text, user id, no metadata. */
static void s_reply(void *rep, zmq_msg_t *id, const char *status, const char *text,
		    const char *user)
{
	zmq_send(rep, "1.0", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(rep, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(rep, status, strlen(status), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(rep, text, strlen(text), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(rep, user, strlen(user), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(rep, "", 0, ZMQ_DONTWAIT);
}

/* Copies frame f into buf (len bytes, NUL-terminated, cut short when longer). */
static void s_text(zmq_msg_t *f, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)zmq_msg_size(f), (const char *)zmq_msg_data(f));
}

/*
 * The client a request admits into its domain, or NULL with *why set. frames holds n frames.
 */
static const config_client_t *s_admit(zmq_msg_t *frames, int n, const clients_t *clients,
				      const char **why)
{
	char mechanism[16], domain[64];
	s_text(&frames[ZAP_MECHANISM], mechanism, sizeof mechanism);
	s_text(&frames[ZAP_DOMAIN], domain, sizeof domain);
	if (n != ZAP_FRAMES || strcmp(mechanism, "CURVE") != 0 ||
	    zmq_msg_size(&frames[ZAP_KEY]) != KEYFILE_KEY_BYTES) {
		*why = "not a CURVE handshake";
		return NULL;
	}
	const config_client_t *c = clients_by_key(clients, zmq_msg_data(&frames[ZAP_KEY]));
	if (!c) {
		*why = "unknown key";
		return NULL;
	}
	if (strcmp(domain, ZAP_DOMAIN_PUBLISH) == 0 && c->role == ROLE_PROVIDER) {
		*why = "a provider key may not subscribe";
		return NULL;
	}
	if (strcmp(domain, ZAP_DOMAIN_PUBLISH) != 0 && strcmp(domain, ZAP_DOMAIN_API) != 0) {
		*why = "unknown domain";
		return NULL;
	}
	return c;
}

bool zap_answer(void *rep, const clients_t *clients)
{
	zmq_msg_t frames[ZAP_FRAMES + 1];
	int n = 0;
	bool more = true;
	for (; more && n <= ZAP_FRAMES; n++) {
		zmq_msg_init(&frames[n]);
		if (zmq_msg_recv(&frames[n], rep, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&frames[n]);
			if (n == 0)
				return false;
			break;
		}
		more = zmq_msg_more(&frames[n]);
	}
	/* A request of more frames than any mechanism sends: the rest is read and dropped. */
	for (zmq_msg_t extra; more;) {
		zmq_msg_init(&extra);
		more = zmq_msg_recv(&extra, rep, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&extra);
		zmq_msg_close(&extra);
	}
	const char *why = "malformed request";
	const config_client_t *c = n > ZAP_MECHANISM ? s_admit(frames, n, clients, &why) : NULL;
	/* A REP answers every request, even one without an id (libzmq always sends one). */
	zmq_msg_t no_id;
	zmq_msg_init(&no_id);
	zmq_msg_t *id = n > ZAP_ID ? &frames[ZAP_ID] : &no_id;
	if (c) {
		/*
		 * The key, not the name: a request is looked up by it, so that a key a reload
		 * rotated away is refused on a connection opened before, though its name stays.
		 */
		s_reply(rep, id, "200", "OK", c->public_key);
	} else {
		char domain[64] = "", address[64] = "";
		if (n > ZAP_ADDRESS) {
			s_text(&frames[ZAP_DOMAIN], domain, sizeof domain);
			s_text(&frames[ZAP_ADDRESS], address, sizeof address);
		}
		s_log_refused(domain, address, why);
		s_reply(rep, id, "400", why, "");
	}
	zmq_msg_close(&no_id);
	for (int i = 0; i < n; i++)
		zmq_msg_close(&frames[i]);
	return true;
}
