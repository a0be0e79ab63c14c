/*
 * args: the command-line parser of every incidentctl command. Each command describes its
 * flags in a table; the parser checks each value against what the contract allows (numbers in
 * their ranges, the fixed words, time and month formats: a usage error otherwise), fills the
 * request's JSON members from them, collects the positional arguments, and also takes the
 * global options (-e, --timeout, --json, --tz, --key, --server-key) when they come after the
 * command name. COMMAND --help prints the command's help (client/help.h).
 */
#ifndef INCIDENTD_CLIENT_ARGS_H
#define INCIDENTD_CLIENT_ARGS_H

#include <stdbool.h>

#include <jansson.h>

#include "client/cli.h"

typedef enum {
	ARG_STRING, /* --flag VALUE: a JSON string */
	ARG_INT,    /* --flag N: a JSON integer from min to max (0 and 0: any) */
	ARG_TRUE,   /* --flag: JSON true */
	ARG_CHOICE, /* --flag WORD: a JSON string, one of choices */
	ARG_TIME,   /* --flag T: an RFC 3339 time, sent as typed */
	ARG_SINCE,  /* --flag T: RFC 3339, a date (its midnight in the --tz zone) or a duration
		       back from now (24h, 7d); sent as RFC 3339 UTC */
	ARG_MONTH,  /* --flag YYYY-MM: a month, sent as typed */
} arg_kind_t;

/*
 * One flag of a command. A table of them ends with {0}. Rows give every member, those a
 * kind does not use as 0 and NULL: {"--limit", ARG_INT, "limit", false, NULL, 1, 1000, NULL}.
 */
typedef struct {
	const char *flag;   /* as typed: "--provider", "-f" */
	arg_kind_t kind;
	const char *field;  /* request member it sets; NULL: only the outputs below */
	bool required;      /* missing is a usage error */
	const char **text_out; /* if not NULL, receives the value (ARG_TRUE: the flag itself) */
	long min, max;         /* ARG_INT: the range */
	const char *choices;   /* ARG_CHOICE: the words, comma-separated ("open, resolved") */
} arg_spec_t;

/* What a command accepts. */
typedef struct {
	const char *name;              /* the command in messages and help; NULL: argv[0] */
	const arg_spec_t *flags;       /* may be NULL: no flags */
	const char *const *positional; /* names of required positionals, NULL-terminated; may be NULL */
	bool more;                     /* accept any number of further positionals */
} args_def_t;

/*
 * Parses argv[1..argc-1] (argv[0] is the command name) against def. Flag values go into req
 * (borrowed; may be NULL when no spec has a field); positionals into pos[0..*npos-1], borrowed
 * from argv (pos has room for the positionals def names, or for argc entries when def->more).
 * "--flag=value" and "--" are understood. Once the whole command line is read, the zone of
 * --tz (or $INCIDENTD_TZ) is put in use (cli_zone()), and ARG_SINCE values, which may be
 * dates in it, are turned into times.
 *
 * Returns true when the command should go on. Returns false with *status set when it must end
 * now: CLI_EXIT_USAGE after a usage error was reported, CLI_EXIT_OK after --help printed the
 * command's help (help_command() of def's name) to stdout.
 */
bool args_parse(cli_t *cli, int argc, char **argv, const args_def_t *def, json_t *req,
		char **pos, int *npos, int *status);

/*
 * Parses the global options at the front of argv (argv[0] is the program), stopping at the
 * first word that is not one. Returns the index of the command, or argc when there is none;
 * -1 with *status set as args_parse() does when the program must end now.
 */
int args_parse_global(cli_t *cli, int argc, char **argv, int *status);

/*
 * Sends req (reference stolen) and, when the daemon answered ok and --json is off, hands the
 * reply to render with arg. Returns the exit status (cli_request()).
 */
int args_send(cli_t *cli, json_t *req, void (*render)(const json_t *reply, void *arg), void *arg);

/*
 * The shape of most commands: parses argv by def into a request for op, then args_send().
 * Returns the exit status.
 */
int args_run_request(cli_t *cli, int argc, char **argv, const char *op, const args_def_t *def,
		     void (*render)(const json_t *reply, void *arg), void *arg);

#endif
