/*
 * args: the command-line parser of every incidentctl command. Each command describes its
 * flags in a table; the parser fills the request's JSON members from them, collects the
 * positional arguments, and also takes the global options (-e, --timeout, --json, --key,
 * --server-key) when they come after the command name.
 */
#ifndef INCIDENTD_CLIENT_ARGS_H
#define INCIDENTD_CLIENT_ARGS_H

#include <stdbool.h>

#include <jansson.h>

#include "client/cli.h"

typedef enum {
	ARG_STRING, /* --flag VALUE: a JSON string */
	ARG_INT,    /* --flag N: a JSON integer (a malformed number is a usage error) */
	ARG_TRUE,   /* --flag: JSON true */
} arg_kind_t;

/* One flag of a command. A table of them ends with an entry whose flag is NULL. */
typedef struct {
	const char *flag;   /* as typed: "--provider", "-f" */
	arg_kind_t kind;
	const char *field;  /* request member it sets; NULL: only the outputs below */
	bool required;      /* missing is a usage error */
	const char **text_out; /* if not NULL, receives the value (ARG_TRUE: the flag itself) */
} arg_spec_t;

/* What a command accepts. */
typedef struct {
	const char *name;              /* the command in messages; NULL: argv[0] */
	const arg_spec_t *flags;       /* may be NULL: no flags */
	const char *const *positional; /* names of required positionals, NULL-terminated; may be NULL */
	bool more;                     /* accept any number of further positionals */
	const char *help;              /* what --help prints; NULL: the general usage */
} args_def_t;

/*
 * Parses argv[1..argc-1] (argv[0] is the command name) against def. Flag values go into req
 * (borrowed; may be NULL when no spec has a field); positionals into pos[0..*npos-1], borrowed
 * from argv (pos has room for the positionals def names, or for argc entries when def->more).
 * "--flag=value" and "--" are understood.
 *
 * Returns true when the command should go on. Returns false with *status set when it must end
 * now: CLI_EXIT_USAGE after a usage error was reported, CLI_EXIT_OK after --help.
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
 * The shape of most commands: parses argv by def into a request for op, sends it, and when
 * the daemon answered ok (and --json is off) hands the reply to render with arg. Returns the
 * exit status.
 */
int args_run_request(cli_t *cli, int argc, char **argv, const char *op, const args_def_t *def,
		     void (*render)(const json_t *reply, void *arg), void *arg);

#endif
