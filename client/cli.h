/*
 * cli: what every incidentctl command shares: the global options, the exit statuses of the
 * contract, the usage text, and one request/reply round trip with its outcome reported the
 * same way for every command.
 */
#ifndef INCIDENTD_CLIENT_CLI_H
#define INCIDENTD_CLIENT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "client/contract.h"
#include "client/curve.h"
#include "client/endpoints.h"

/* Exit statuses of the contract. */
enum {
	CLI_EXIT_OK = 0,        /* success */
	CLI_EXIT_REFUSED = 1,   /* the daemon answered with an error */
	CLI_EXIT_USAGE = 2,     /* bad command line */
	CLI_EXIT_NO_ANSWER = 3, /* no answer within the timeout */
};

/* The global options; set by main() and by any command that sees them after its name. */
typedef struct {
	/* API endpoints, one or a comma-separated list (client/endpoints.h); borrowed from argv
	 * or the environment. */
	const char *endpoint;
	const char *endpoint_from; /* "-e", "--endpoint" or "$INCIDENTD_API", for messages */
	long timeout_ms;      /* how long to wait for each reply, > 0 */
	bool json;            /* print the daemon's replies instead of tables */
	/* CURVE: both or neither; borrowed from argv or the environment, NULL when not given. */
	const char *key_file;        /* the client's key pair: --key or $INCIDENTD_KEY */
	const char *key_from;        /* "--key" or "$INCIDENTD_KEY", for messages */
	const char *server_key;      /* the daemon's public key or key file: --server-key ... */
	const char *server_key_from; /* "--server-key" or "$INCIDENTD_SERVER_KEY" */
	/* The zone of human output (client/tz.h); borrowed from argv or the environment. */
	const char *zone;      /* --tz, $INCIDENTD_TZ or TZ_DEFAULT */
	const char *zone_from; /* "--tz" or "$INCIDENTD_TZ", for messages */
} cli_t;

/* Milliseconds of a monotonic clock, for timeouts and pacing; unrelated to wall time. */
int64_t cli_clock_ms(void);

/*
 * Names the command being read ("list", "problem update"; borrowed, a string literal in
 * practice), so that a usage error shows its synopsis and points to its --help.
 */
void cli_set_command(const char *command);

/*
 * Reports a usage error on stderr: "incidentctl: MESSAGE", the usage line (of the command
 * named by cli_set_command(), else the general one) and a pointer to --help.
 * Returns CLI_EXIT_USAGE so that a command can `return cli_usage_error(...)`.
 */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parses a decimal integer in [min, max] for the option named flag. Returns 0 and stores
 * *out, or reports a usage error (a malformed number, or one out of the range) and returns
 * CLI_EXIT_USAGE.
 */
int cli_parse_long(const char *flag, const char *text, long min, long max, long *out);

/*
 * Makes cli->zone the zone of human output (tz_use()). Returns CLI_EXIT_OK, or reports a usage
 * error naming the option or variable and returns CLI_EXIT_USAGE when there is no such zone.
 */
int cli_zone(const cli_t *cli);

/*
 * Reads the error of a reply that is not "ok": true. *code_out and *message_out point into
 * reply (or at fallbacks for a malformed reply) and live as long as it does.
 */
void cli_reply_error(const json_t *reply, const char **code_out, const char **message_out);

/*
 * Loads the CURVE keys the global options name into *creds (CURVE off when none). Reports a
 * usage error (the option or variable, the file and what is wrong with it) and returns
 * CLI_EXIT_USAGE when they cannot be used; returns CLI_EXIT_OK otherwise. Every command that
 * connects calls it once the whole command line is read.
 */
int cli_curve(const cli_t *cli, curve_t *creds);

/*
 * Splits text, a list of endpoints that from ("-e", "--publish", "$INCIDENTD_API"...) gave,
 * into *out. Reports a usage error naming from (an empty item, too many endpoints) and returns
 * CLI_EXIT_USAGE; returns CLI_EXIT_OK otherwise.
 */
int cli_parse_endpoints(const char *text, const char *from, endpoints_t *out);

/* cli_parse_endpoints() of the API endpoints, cli->endpoint. */
int cli_endpoints(const cli_t *cli, endpoints_t *out);

/*
 * Reports on stderr why a connection to endpoint gave up (rc -EACCES or -EPROTO from
 * rpc_recv() or handshake_wait(); what is the sentence they explain it with). A refused key is
 * "incidentctl: the daemon refused this key", then a line naming the key. Returns
 * CLI_EXIT_REFUSED.
 */
int cli_handshake_failure(const cli_t *cli, const curve_t *creds, const char *endpoint, int rc,
			  const char *what);

/*
 * Sends req (reference stolen; "id" is set here) to cli->endpoint and waits up to
 * cli->timeout_ms for the reply. In --json mode the reply is printed to stdout as received.
 *
 * With several endpoints they are tried in order, each once: a request without an answer
 * within the timeout, or answered "unavailable", goes to the next one (the failure is reported
 * on stderr, in the words of a single endpoint's failure, and the try goes on). A request that
 * must not be applied twice (problem.create: each creates a record) is sent to an endpoint only
 * once its connection is made, and goes on to the next one only when it was never sent: once
 * sent, no answer or "unavailable" is final. Any other error reply, a refused CURVE key or a
 * failed handshake is final. When every endpoint failed the status is CLI_EXIT_NO_ANSWER and a
 * last line names them all.
 *
 * Returns CLI_EXIT_OK and stores the reply in *reply_out (a new reference the caller
 * json_decref()s) when the daemon answered "ok": true. Otherwise prints the reason on stderr,
 * leaves *reply_out NULL and returns CLI_EXIT_REFUSED (an error reply or an unreadable one),
 * CLI_EXIT_NO_ANSWER (timeout) or CLI_EXIT_USAGE (bad endpoint or CURVE options). A refused
 * CURVE key (or a handshake that cannot succeed) ends the wait at once with CLI_EXIT_REFUSED.
 */
int cli_request(const cli_t *cli, json_t *req, json_t **reply_out);

#endif
