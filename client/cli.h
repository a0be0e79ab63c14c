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

/* Exit statuses of the contract. */
enum {
	CLI_EXIT_OK = 0,        /* success */
	CLI_EXIT_REFUSED = 1,   /* the daemon answered with an error */
	CLI_EXIT_USAGE = 2,     /* bad command line */
	CLI_EXIT_NO_ANSWER = 3, /* no answer within the timeout */
};

#define CLI_DEFAULT_API "tcp://127.0.0.1:7420"
#define CLI_DEFAULT_PUBLISH "tcp://127.0.0.1:7421"
#define CLI_DEFAULT_TIMEOUT_MS 5000

/* The global options; set by main() and by any command that sees them after its name. */
typedef struct {
	const char *endpoint; /* API endpoint; borrowed from argv or the environment */
	long timeout_ms;      /* how long to wait for each reply, > 0 */
	bool json;            /* print the daemon's replies instead of tables */
} cli_t;

/* Milliseconds of a monotonic clock, for timeouts and pacing; unrelated to wall time. */
int64_t cli_clock_ms(void);

/* Prints the full usage text to out. */
void cli_usage(FILE *out);

/*
 * Reports a usage error on stderr: "incidentctl: MESSAGE", the usage line and a pointer to
 * --help.
 * Returns CLI_EXIT_USAGE so that a command can `return cli_usage_error(...)`.
 */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parses a decimal integer in [min, max] for the option named flag. Returns 0 and stores
 * *out, or reports a usage error and returns CLI_EXIT_USAGE.
 */
int cli_parse_long(const char *flag, const char *text, long min, long max, long *out);

/*
 * Reads the error of a reply that is not "ok": true. *code_out and *message_out point into
 * reply (or at fallbacks for a malformed reply) and live as long as it does.
 */
void cli_reply_error(const json_t *reply, const char **code_out, const char **message_out);

/*
 * Sends req (reference stolen; "id" is set here) to cli->endpoint and waits up to
 * cli->timeout_ms for the reply. In --json mode the reply is printed to stdout as received.
 *
 * Returns CLI_EXIT_OK and stores the reply in *reply_out (a new reference the caller
 * json_decref()s) when the daemon answered "ok": true. Otherwise prints the reason on stderr,
 * leaves *reply_out NULL and returns CLI_EXIT_REFUSED (an error reply or an unreadable one),
 * CLI_EXIT_NO_ANSWER (timeout) or CLI_EXIT_USAGE (bad endpoint).
 */
int cli_request(const cli_t *cli, json_t *req, json_t **reply_out);

#endif
