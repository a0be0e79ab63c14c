/*
 * watch: a SUB socket on the daemon's publish endpoint, printing each message as it arrives
 * until SIGINT or SIGTERM, which end it with status 0. With CURVE keys a refused key ends it
 * at once (status 1); when nothing is connected after --timeout it says so once and goes on.
 *
 * --publish (or $INCIDENTD_PUBLISH) may name a list of endpoints, as -e does; watch subscribes
 * to the first one only. A subscription has no answer to time out on, and every node of a
 * cluster publishes what it applies, so a socket subscribed to several would print each
 * message once per node.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "client/args.h"
#include "client/commands.h"
#include "client/handshake.h"
#include "client/render.h"

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
	(void)sig;
	s_stop = 1;
}

/*
 * Installs the stop handlers without SA_RESTART so that a blocked zmq_poll() returns EINTR
 * and the loop sees the flag at once.
 */
static void s_trap_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = s_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Receives one frame as a NUL-terminated string (caller frees); *more tells if one follows. */
static char *s_recv_frame(void *sock, int *more)
{
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&msg);
		return NULL;
	}
	size_t len = zmq_msg_size(&msg);
	char *text = malloc(len + 1);
	if (text != NULL) {
		memcpy(text, zmq_msg_data(&msg), len);
		text[len] = '\0';
	}
	*more = zmq_msg_more(&msg);
	zmq_msg_close(&msg);
	return text;
}

/*
 * One line about a message body: the incident or problem it is about, then the other telling
 * members as key=value; the compact body itself when it has none of them.
 */
static void s_print_summary(const json_t *body, const char *raw)
{
	static const char *const ids[] = {"incident", "problem"};
	static const struct {
		const char *field, *label;
	} named[] = {{"breach", "breach"},     {"provider", "provider"}, {"ref", "ref"},
		     {"stage", "stage"},       {"status", "status"},     {"at", "at"},
		     {"sla", "sla"},           {"late_by_ms", "late_by"}, {"detected", "detected"},
		     {"title", "title"}};
	int printed = 0;
	char buf[RENDER_BUFSZ];
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		if (json_object_get(body, ids[i]) != NULL)
			printf("%s%s", printed++ ? "  " : "", render_value(body, ids[i], buf));
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		if (json_object_get(body, named[i].field) != NULL)
			printf("%s%s=%s", printed++ ? "  " : "", named[i].label,
			       render_value(body, named[i].field, buf));
	if (!printed)
		fputs(raw, stdout);
	putchar('\n');
}

/*
 * Prints one message as a JSON line {"topic": TOPIC, "message": BODY}, BODY the daemon's text
 * itself when it is one line of JSON (re-encoded otherwise: a JSON string when it is no JSON).
 */
static void s_print_json(const char *topic, const char *raw, const json_t *body)
{
	json_t *t = json_string(topic);
	char *topic_text = t != NULL ? json_dumps(t, JSON_ENCODE_ANY) : NULL;
	json_decref(t);
	if (body != NULL && raw != NULL && strchr(raw, '\n') == NULL) {
		printf("{\"topic\":%s,\"message\":%s}\n", topic_text ? topic_text : "null", raw);
	} else {
		json_t *line = json_pack("{s:s?, s:O?}", "topic", topic, "message", body);
		if (line != NULL && body == NULL)
			json_object_set_new(line, "message", raw != NULL ? json_string(raw) : json_null());
		char *text = line != NULL ? json_dumps(line, JSON_COMPACT) : NULL;
		puts(text != NULL ? text : "{\"topic\":null,\"message\":null}");
		free(text);
		json_decref(line);
	}
	free(topic_text);
	fflush(stdout);
}

/* Receives and prints one whole message (topic frame, body frame). */
static void s_show_message(void *sock, int json)
{
	int more = 0;
	char *topic = s_recv_frame(sock, &more);
	char *raw = more ? s_recv_frame(sock, &more) : NULL;
	while (more) /* a message has two frames; anything after them is not ours to show */
		free(s_recv_frame(sock, &more));
	if (topic == NULL)
		goto out;
	json_t *body = raw != NULL ? json_loads(raw, 0, NULL) : NULL;
	if (json) {
		s_print_json(topic, raw, body);
	} else {
		char seq[RENDER_BUFSZ];
		printf("%s  %s  ", topic, render_value(body, "seq", seq));
		s_print_summary(body, raw != NULL ? raw : "");
		fflush(stdout);
	}
	json_decref(body);
out:
	free(topic);
	free(raw);
}

/*
 * Connects a SUB socket to endpoint with a subscription per topic prefix (all when none), as a
 * CURVE client when creds is on, its handshakes watched by a new *hs.
 */
static void *s_subscribe(void *ctx, const char *endpoint, char **topics, int ntopics,
			 const curve_t *creds, handshake_t **hs)
{
	void *sock = zmq_socket(ctx, ZMQ_SUB);
	int linger = 0;
	if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0)
		goto fail;
	if (curve_apply(creds, sock) != 0)
		goto fail;
	for (int i = 0; i < ntopics; i++)
		if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topics[i], strlen(topics[i])) != 0)
			goto fail;
	if (ntopics == 0 && zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) != 0)
		goto fail;
	*hs = handshake_new(ctx, sock, endpoint, creds->on);
	if (*hs == NULL || zmq_connect(sock, endpoint) != 0)
		goto fail;
	return sock;
fail:;
	int saved = errno;
	handshake_destroy(hs);
	if (sock != NULL)
		zmq_close(sock);
	errno = saved;
	return NULL;
}

/*
 * Prints messages until a stop signal or a handshake that cannot succeed. Once, after the
 * timeout, warns when no connection has been made yet. Returns an exit status.
 */
static int s_watch(const cli_t *cli, const curve_t *creds, const char *endpoint, void *sock,
		   handshake_t *hs)
{
	int64_t warn_at = cli_clock_ms() + cli->timeout_ms;
	bool warned = false;
	while (!s_stop) {
		int64_t left = warn_at - cli_clock_ms();
		int n = handshake_wait(hs, sock, warned ? -1 : left > 0 ? (long)left : 0);
		if (n == -EINTR)
			continue;
		if (n == -EACCES || n == -EPROTO)
			return cli_handshake_failure(cli, creds, endpoint, n, handshake_error(hs));
		if (n < 0) {
			fprintf(stderr, "incidentctl: watch: %s\n", zmq_strerror(-n));
			return CLI_EXIT_REFUSED;
		}
		if (n > 0) {
			s_show_message(sock, cli->json);
			continue;
		}
		if (!warned && cli_clock_ms() >= warn_at) {
			warned = true;
			const char *hint = handshake_hint(hs);
			if (!handshake_succeeded(hs))
				fprintf(stderr,
					"incidentctl: watch: not connected to %s after %ld ms%s%s; "
					"still trying\n",
					endpoint, cli->timeout_ms, hint[0] ? ": " : "", hint);
		}
	}
	return CLI_EXIT_OK;
}

int cmd_watch(cli_t *cli, int argc, char **argv)
{
	const char *env = getenv("INCIDENTD_PUBLISH");
	const char *list = env != NULL && env[0] != '\0' ? env : CLI_DEFAULT_PUBLISH;
	const char *given = NULL;
	const arg_spec_t flags[] = {
		{"--publish", ARG_STRING, NULL, false, &given, 0, 0, NULL},
		{0},
	};
	const args_def_t def = {.flags = flags, .more = true};
	char **topics = calloc((size_t)argc, sizeof *topics);
	int status, ntopics;
	if (topics == NULL)
		return CLI_EXIT_REFUSED;
	curve_t creds;
	endpoints_t eps;
	if (!args_parse(cli, argc, argv, &def, NULL, topics, &ntopics, &status) ||
	    (status = cli_parse_endpoints(given != NULL ? given : list,
				  given != NULL ? "--publish" : "$INCIDENTD_PUBLISH", &eps)) !=
		    CLI_EXIT_OK ||
	    (status = cli_curve(cli, &creds)) != CLI_EXIT_OK) {
		free(topics);
		return status;
	}
	const char *endpoint = eps.item[0];
	s_trap_signals();
	void *ctx = zmq_ctx_new();
	handshake_t *hs = NULL;
	void *sock = ctx != NULL ? s_subscribe(ctx, endpoint, topics, ntopics, &creds, &hs) : NULL;
	if (sock == NULL)
		status = cli_usage_error("bad endpoint '%s': %s", endpoint, zmq_strerror(errno));
	else
		status = s_watch(cli, &creds, endpoint, sock, hs);
	explicit_bzero(&creds, sizeof creds);
	handshake_destroy(&hs);
	if (sock != NULL)
		zmq_close(sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	free(topics);
	return status;
}
