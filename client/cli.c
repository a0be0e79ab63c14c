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
#include "proto/op.h"

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
 * Waits for the reply whose "id" is id until timeout_ms have passed since the request was
 * sent; a reply to some other id cannot be ours and is dropped. Returns as rpc_recv().
 * A frame that is not JSON at all ends the wait (-EBADMSG): the peer is not an incidentd.
 */
static int s_await(rpc_t *rpc, long timeout_ms, json_int_t id, json_t **reply, char **raw)
{
	int64_t deadline = cli_clock_ms() + timeout_ms;
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
		*reply = NULL;
		*raw = NULL;
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

int cli_parse_endpoints(const char *text, const char *from, endpoints_t *out)
{
	char err[ENDPOINTS_ERRSZ];
	if (endpoints_parse(text, out, err, sizeof err) != 0)
		return cli_usage_error("%s: %s", from, err);
	return CLI_EXIT_OK;
}

int cli_endpoints(const cli_t *cli, endpoints_t *out)
{
	return cli_parse_endpoints(cli->endpoint, cli->endpoint_from, out);
}

/* Reports why no reply came from endpoint (rc from rpc_recv()) and returns the exit status. */
static int s_no_reply(const cli_t *cli, const curve_t *creds, rpc_t *rpc, const char *endpoint,
		      int rc)
{
	const char *why = rpc_failure(rpc, rc);
	if (rc == -EACCES || rc == -EPROTO)
		return cli_handshake_failure(cli, creds, endpoint, rc, why);
	if (rc == -ETIMEDOUT) {
		fprintf(stderr, "incidentctl: no answer from %s within %ld ms%s%s\n", endpoint,
			cli->timeout_ms, why[0] != '\0' ? ": " : "", why);
		return CLI_EXIT_NO_ANSWER;
	}
	fprintf(stderr, "incidentctl: %s\n", why);
	return CLI_EXIT_REFUSED;
}

/* The one endpoint: send, wait, report a failure. Returns the exit status; *reply on 0. */
static int s_request_one(const cli_t *cli, const curve_t *creds, const char *endpoint,
			 const json_t *req, json_t **reply, char **raw)
{
	rpc_t *rpc = rpc_new(endpoint, creds);
	if (rpc == NULL)
		return cli_usage_error("bad endpoint '%s': %s", endpoint, strerror(errno));
	int rc = rpc_send(rpc, req);
	if (rc == 0)
		rc = s_await(rpc, cli->timeout_ms, 1, reply, raw);
	int status = rc != 0 ? s_no_reply(cli, creds, rpc, endpoint, rc) : CLI_EXIT_OK;
	rpc_destroy(&rpc);
	return status;
}

/*
 * The ops that must not reach the daemon twice: each request creates a new record. The others
 * are safe to send again: an event is known by its event_id, and updates, links and unlinks
 * leave the same state when repeated.
 */
static const char *const s_once_only_ops[] = {OP_PROBLEM_CREATE, NULL};

static bool s_once_only(const json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	for (size_t i = 0; op != NULL && s_once_only_ops[i] != NULL; i++)
		if (strcmp(op, s_once_only_ops[i]) == 0)
			return true;
	return false;
}

/* True when reply is the error "unavailable": that node cannot take the request now. */
static bool s_unavailable(const json_t *reply)
{
	const char *code, *message;
	if (json_is_true(json_object_get(reply, "ok")))
		return false;
	cli_reply_error(reply, &code, &message);
	return strcmp(code, "unavailable") == 0;
}

/*
 * One endpoint of several. A once-only request is sent only after the connection is made.
 * Returns 0 with *reply, or the failure as rpc_recv() does; *sent says whether req was handed
 * to ZeroMQ.
 */
static int s_try(rpc_t *rpc, const cli_t *cli, const json_t *req, bool once_only, bool *sent,
		 json_t **reply, char **raw)
{
	*sent = false;
	if (once_only) {
		int n = rpc_wait_connected(rpc, cli->timeout_ms);
		if (n <= 0)
			return n == 0 ? -ETIMEDOUT : n;
	}
	int rc = rpc_send(rpc, req);
	if (rc != 0)
		return rc;
	*sent = true;
	return s_await(rpc, cli->timeout_ms, 1, reply, raw);
}

/*
 * Several endpoints, in order, each once (see cli_request()). Returns the exit status; *reply
 * when one answered with something final.
 */
static int s_request_any(const cli_t *cli, const curve_t *creds, const endpoints_t *eps,
			 const json_t *req, json_t **reply, char **raw)
{
	bool once_only = s_once_only(req);
	const char *op = json_string_value(json_object_get(req, "op"));
	for (size_t i = 0; i < eps->count; i++) {
		const char *endpoint = eps->item[i];
		rpc_t *rpc = rpc_new(endpoint, creds);
		if (rpc == NULL)
			return cli_usage_error("bad endpoint '%s': %s", endpoint, strerror(errno));
		bool sent;
		int rc = s_try(rpc, cli, req, once_only, &sent, reply, raw);
		int status = rc != 0 ? s_no_reply(cli, creds, rpc, endpoint, rc) : CLI_EXIT_OK;
		rpc_destroy(&rpc);
		if (rc == 0 && (once_only || !s_unavailable(*reply)))
			return CLI_EXIT_OK;
		if (rc == 0) {
			const char *code, *message;
			cli_reply_error(*reply, &code, &message);
			fprintf(stderr, "incidentctl: %s answered %s: %s\n", endpoint, code, message);
			json_decref(*reply);
			free(*raw);
			*reply = NULL;
			*raw = NULL;
			continue;
		}
		if (rc != -ETIMEDOUT)
			return status;
		if (once_only && sent) {
			fprintf(stderr,
				"incidentctl: %s was sent to %s and is not sent elsewhere: each one "
				"creates a record; look whether it did before trying again\n",
				op, endpoint);
			return status;
		}
	}
	char names[1024];
	fprintf(stderr, "incidentctl: no endpoint answered (tried %s)\n",
		endpoints_format(eps, names, sizeof names));
	return CLI_EXIT_NO_ANSWER;
}

/* The daemon's reply (stolen; raw its text, freed): printed with --json, then judged. */
static int s_outcome(const cli_t *cli, json_t *reply, char *raw, json_t **reply_out)
{
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

int cli_request(const cli_t *cli, json_t *req, json_t **reply_out)
{
	*reply_out = NULL;
	endpoints_t eps;
	curve_t creds;
	int status = cli_endpoints(cli, &eps);
	if (status == CLI_EXIT_OK)
		status = cli_curve(cli, &creds);
	if (status != CLI_EXIT_OK) {
		json_decref(req);
		return status;
	}
	json_object_set_new(req, "id", json_integer(1));
	json_t *reply = NULL;
	char *raw = NULL;
	if (eps.count == 1)
		status = s_request_one(cli, &creds, eps.item[0], req, &reply, &raw);
	else
		status = s_request_any(cli, &creds, &eps, req, &reply, &raw);
	explicit_bzero(&creds, sizeof creds);
	json_decref(req);
	if (reply == NULL)
		return status;
	return s_outcome(cli, reply, raw, reply_out);
}
