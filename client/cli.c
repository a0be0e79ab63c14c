#include "client/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "client/render.h"
#include "client/rpc.h"

static const char s_usage[] =
	"usage: incidentctl [-e ENDPOINT] [--timeout MS] [--json]\n"
	"                   [--key FILE --server-key KEY|FILE] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  push --provider P --event-id E --ref R --stage S [--at T] [--category N]\n"
	"       [--title T] [--service S] [--description D] [--major] [--source SRC]\n"
	"  push -f FILE|-           one JSON event object per line\n"
	"  list [--status S] [--provider P] [--category N] [--major] [--breached]\n"
	"       [--problem PBI] [--limit N] [--cursor C] [--oldest]\n"
	"  show INC|PROVIDER/REF    an incident with its timeline and SLA verdicts\n"
	"  breaches [--provider P] [--sla NAME] [--since T] [--limit N] [--cursor C]\n"
	"  due [--within DURATION] [--provider P] [--sla NAME] [--limit N]\n"
	"                           pending deadlines, soonest first (DURATION: 30m, 2h, 1d)\n"
	"  overdue [--provider P]   running breaches of open incidents, latest first\n"
	"  problem create --title T [--description D]\n"
	"  problem update PBI [--status S] [--root-cause TEXT] [--workaround TEXT]\n"
	"  problem link PBI INC | problem unlink PBI INC\n"
	"  problem show PBI | problem list [--status S] [--limit N] [--cursor C]\n"
	"  report --month YYYY-MM [--provider P] [--csv]\n"
	"  watch [--publish ENDPOINT] [TOPIC ...]\n"
	"  status\n"
	"  keygen FILE              a new CURVE key pair: FILE (mode 0600) and FILE.pub\n"
	"\n"
	"options:\n"
	"  -e, --endpoint ENDPOINT  API endpoint (default $INCIDENTD_API, then " CLI_DEFAULT_API ")\n"
	"  --timeout MS             how long to wait for an answer (default 5000)\n"
	"  --json                   print the daemon's JSON replies, one per line\n"
	"  --key FILE               connect with CURVE using this key pair, from keygen\n"
	"                           (default $INCIDENTD_KEY)\n"
	"  --server-key KEY|FILE    the daemon's public key, or a key file holding it\n"
	"                           (default $INCIDENTD_SERVER_KEY); CURVE needs both\n"
	"  -h, --help               show this help\n"
	"\n"
	"exit status: 0 success, 1 the daemon answered with an error (or refused the key),\n"
	"2 usage error, 3 no answer within the timeout\n";

void cli_usage(FILE *out)
{
	fputs(s_usage, out);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("incidentctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* The usage line, not all the commands: the mistake should stay in view. */
	fprintf(stderr, "\n%.*s", (int)(strstr(s_usage, "\n\n") - s_usage + 1), s_usage);
	fputs("Try 'incidentctl --help' for the commands.\n", stderr);
	return CLI_EXIT_USAGE;
}

int cli_parse_long(const char *flag, const char *text, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	if (text[0] == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
		return cli_usage_error("%s: bad number '%s'", flag, text);
	*out = n;
	return 0;
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
