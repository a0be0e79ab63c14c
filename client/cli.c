#include "client/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "client/help.h"
#include "client/render.h"
#include "client/rpc.h"
#include "client/tz.h"

/* The command being read, for usage errors; NULL before one is known. */
static const char *s_command;

void cli_set_command(const char *command)
{
	s_command = command;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("incidentctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* The usage line, not all the commands: the mistake should stay in view. */
	help_synopsis(stderr, s_command);
	if (s_command != NULL)
		fprintf(stderr, "Try 'incidentctl %s --help' for its options and values.\n",
			s_command);
	else
		fputs("Try 'incidentctl --help' for the commands.\n", stderr);
	return CLI_EXIT_USAGE;
}

int cli_parse_long(const char *flag, const char *text, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	if (text[0] == '\0' || *end != '\0' || errno != 0)
		return cli_usage_error("%s: '%s' is not a number", flag, text);
	if ((n < min || n > max) && max >= INT_MAX)
		return cli_usage_error("%s: %ld is out of range: at least %ld", flag, n, min);
	if (n < min || n > max)
		return cli_usage_error("%s: %ld is out of range: %ld to %ld", flag, n, min, max);
	*out = n;
	return 0;
}

int cli_zone(const cli_t *cli)
{
	if (tz_use(cli->zone) != 0)
		return cli_usage_error("%s: unknown time zone '%s' (an IANA name such as "
				       "Europe/Paris, or UTC)",
				       cli->zone_from, cli->zone);
	return CLI_EXIT_OK;
}

void cli_reply_error(const json_t *reply, const char **code_out, const char **message_out)
{
	const json_t *error = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *message = json_string_value(json_object_get(error, "message"));
	*code_out = code != NULL ? code : "internal";
	*message_out = message != NULL ? message : "malformed error reply";
}

int64_t cli_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits for the reply whose "id" is id until the timeout has passed since the request was
 * sent; a reply to some other id cannot be ours and is dropped. Returns as rpc_recv().
 * A frame that is not JSON at all ends the wait (-EBADMSG): the peer is not an incidentd.
 */
static int s_await(rpc_t *rpc, const cli_t *cli, json_int_t id, json_t **reply, char **raw)
{
	int64_t deadline = cli_clock_ms() + cli->timeout_ms;
	for (;;) {
		int64_t left = deadline - cli_clock_ms();
		int rc = rpc_recv(rpc, left > 0 ? (long)left : 0, reply, raw);
		if (rc != 0)
			return rc;
		/* A fresh socket has only this request out, so a reply without an id is ours too. */
		const json_t *got = json_object_get(*reply, "id");
		if (got == NULL || json_integer_value(got) == id)
			return 0;
		json_decref(*reply);
		free(*raw);
		if (left <= 0)
			return -ETIMEDOUT;
	}
}

int cli_curve(const cli_t *cli, curve_t *creds)
{
	char err[CURVE_ERRSZ];
	memset(creds, 0, sizeof *creds);
	const char *from = cli->key_file != NULL ? cli->key_from : cli->server_key_from;
	if ((cli->key_file != NULL || cli->server_key != NULL) && !zmq_has("curve"))
		return cli_usage_error("%s: this build of libzmq has no CURVE", from);
	if (curve_load(cli->key_file, cli->key_from, cli->server_key, cli->server_key_from, creds,
		       err, sizeof err) != 0)
		return cli_usage_error("%s", err);
	return CLI_EXIT_OK;
}

int cli_handshake_failure(const cli_t *cli, const curve_t *creds, const char *endpoint, int rc,
			  const char *what)
{
	fprintf(stderr, "incidentctl: %s\n", what);
	/* The contract's sentence stands alone; the key it is about follows on a line of its own. */
	bool variable = cli->key_from[0] == '$';
	if (rc == -EACCES && creds->on)
		fprintf(stderr, "incidentctl: public key %s (%s%s%s) at %s\n", creds->public_key,
			cli->key_from, variable ? "=" : " ", cli->key_file, endpoint);
	return CLI_EXIT_REFUSED;
}

/* Reports why no reply came (rc from rpc_recv()) and returns the exit status. */
static int s_no_reply(const cli_t *cli, const curve_t *creds, rpc_t *rpc, int rc)
{
	const char *why = rpc_failure(rpc, rc);
	if (rc == -EACCES || rc == -EPROTO)
		return cli_handshake_failure(cli, creds, cli->endpoint, rc, why);
	if (rc == -ETIMEDOUT) {
		fprintf(stderr, "incidentctl: no answer from %s within %ld ms%s%s\n", cli->endpoint,
			cli->timeout_ms, why[0] != '\0' ? ": " : "", why);
		return CLI_EXIT_NO_ANSWER;
	}
	fprintf(stderr, "incidentctl: %s\n", why);
	return CLI_EXIT_REFUSED;
}

int cli_request(const cli_t *cli, json_t *req, json_t **reply_out)
{
	*reply_out = NULL;
	curve_t creds;
	int status = cli_curve(cli, &creds);
	if (status != CLI_EXIT_OK) {
		json_decref(req);
		return status;
	}
	json_object_set_new(req, "id", json_integer(1));
	rpc_t *rpc = rpc_new(cli->endpoint, &creds);
	if (rpc == NULL) {
		json_decref(req);
		return cli_usage_error("bad endpoint '%s': %s", cli->endpoint, strerror(errno));
	}
	json_t *reply = NULL;
	char *raw = NULL;
	int rc = rpc_send(rpc, req);
	if (rc == 0)
		rc = s_await(rpc, cli, 1, &reply, &raw);
	if (rc != 0)
		status = s_no_reply(cli, &creds, rpc, rc);
	rpc_destroy(&rpc);
	explicit_bzero(&creds, sizeof creds);
	json_decref(req);
	if (rc != 0)
		return status;
	if (cli->json)
		render_json_line(raw, reply);
	free(raw);
	if (json_is_true(json_object_get(reply, "ok"))) {
		*reply_out = reply;
		return CLI_EXIT_OK;
	}
	const char *code, *message;
	cli_reply_error(reply, &code, &message);
	fprintf(stderr, "incidentctl: %s: %s\n", code, message);
	json_decref(reply);
	return CLI_EXIT_REFUSED;
}
