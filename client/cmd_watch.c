/*
 * watch: a SUB socket on the daemon's publish endpoint, printing each message as it arrives
 * until SIGINT or SIGTERM, which end it with status 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "client/args.h"
#include "client/commands.h"
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
		render_json_line(raw != NULL ? raw : "null", body);
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

/* Connects a SUB socket to endpoint with a subscription per topic prefix (all when none). */
static void *s_subscribe(void *ctx, const char *endpoint, char **topics, int ntopics)
{
	void *sock = zmq_socket(ctx, ZMQ_SUB);
	int linger = 0;
	if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0)
		goto fail;
	for (int i = 0; i < ntopics; i++)
		if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topics[i], strlen(topics[i])) != 0)
			goto fail;
	if (ntopics == 0 && zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) != 0)
		goto fail;
	if (zmq_connect(sock, endpoint) != 0)
		goto fail;
	return sock;
fail:;
	int saved = errno;
	if (sock != NULL)
		zmq_close(sock);
	errno = saved;
	return NULL;
}

/* Prints messages until a stop signal. Returns an exit status. */
static int s_watch(void *sock, int json)
{
	zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
	while (!s_stop) {
		int n = zmq_poll(&item, 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "incidentctl: watch: %s\n", zmq_strerror(errno));
			return CLI_EXIT_REFUSED;
		}
		s_show_message(sock, json);
	}
	return CLI_EXIT_OK;
}

int cmd_watch(cli_t *cli, int argc, char **argv)
{
	const char *env = getenv("INCIDENTD_PUBLISH");
	const char *endpoint = env != NULL && env[0] != '\0' ? env : CLI_DEFAULT_PUBLISH;
	const arg_spec_t flags[] = {
		{"--publish", ARG_STRING, NULL, false, &endpoint},
		{NULL, ARG_STRING, NULL, false, NULL},
	};
	const args_def_t def = {.flags = flags, .more = true};
	char **topics = calloc((size_t)argc, sizeof *topics);
	int status, ntopics;
	if (topics == NULL)
		return CLI_EXIT_REFUSED;
	if (!args_parse(cli, argc, argv, &def, NULL, topics, &ntopics, &status)) {
		free(topics);
		return status;
	}
	s_trap_signals();
	void *ctx = zmq_ctx_new();
	void *sock = ctx != NULL ? s_subscribe(ctx, endpoint, topics, ntopics) : NULL;
	if (sock == NULL)
		status = cli_usage_error("bad endpoint '%s': %s", endpoint, zmq_strerror(errno));
	else
		status = s_watch(sock, cli->json);
	if (sock != NULL)
		zmq_close(sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	free(topics);
	return status;
}
