/*
 * commands: the entry points of incidentctl's commands, one command group per file.
 *
 * Each takes the global options (which it may update from options given after the command
 * name) and argv with argv[0] the command name, and returns the process exit status
 * (CLI_EXIT_*).
 */
#ifndef INCIDENTD_CLIENT_COMMANDS_H
#define INCIDENTD_CLIENT_COMMANDS_H

#include "client/cli.h"

/* push: one event from flags, or a file of events with -f (cmd_push.c). */
int cmd_push(cli_t *cli, int argc, char **argv);

/* list: incident summaries, filtered and paged (cmd_incident.c). */
int cmd_list(cli_t *cli, int argc, char **argv);

/* show INC|PROVIDER/REF: an incident with its timeline and verdicts (cmd_incident.c). */
int cmd_show(cli_t *cli, int argc, char **argv);

/* breaches: recorded SLA breaches (cmd_breaches.c). */
int cmd_breaches(cli_t *cli, int argc, char **argv);

/* due: pending deadlines, soonest first (cmd_views.c). */
int cmd_due(cli_t *cli, int argc, char **argv);

/* overdue: running breaches of open incidents, latest first (cmd_views.c). */
int cmd_overdue(cli_t *cli, int argc, char **argv);

/* problem create|update|link|unlink|show|list (cmd_problem.c). */
int cmd_problem(cli_t *cli, int argc, char **argv);

/* report --month YYYY-MM: the monthly provider report (cmd_report.c). */
int cmd_report(cli_t *cli, int argc, char **argv);

/*
 * report --html: the report of month ("YYYY-MM", already checked) as one self-contained HTML
 * file, for provider only when not NULL, written to path (stdout when NULL) once every request
 * was answered (cmd_report_html.c). Returns the exit status: CLI_EXIT_REFUSED also when path
 * cannot be written.
 */
int cmd_report_html(cli_t *cli, const char *month, const char *provider, const char *path);

/* status: the daemon's counters (cmd_status.c). */
int cmd_status(cli_t *cli, int argc, char **argv);

/* watch: published messages as they arrive, until SIGINT or SIGTERM (cmd_watch.c). */
int cmd_watch(cli_t *cli, int argc, char **argv);

/* keygen FILE: a new CURVE key pair in FILE and FILE.pub (cmd_keygen.c). */
int cmd_keygen(cli_t *cli, int argc, char **argv);

/* token [NAME]: a new HTTP bearer token and its token_sha256 line (cmd_token.c). */
int cmd_token(cli_t *cli, int argc, char **argv);

#endif
