/*
 * incidentctl: the command-line client of incidentd. main() reads the global options, picks
 * the command and hands over; each command group lives in its own cmd_*.c.
 */
#include <stdlib.h>
#include <string.h>

#include "client/args.h"
#include "client/cli.h"
#include "client/commands.h"
#include "client/tz.h"

static const struct {
	const char *name;
	int (*run)(cli_t *cli, int argc, char **argv);
} s_commands[] = {
	{"push", cmd_push},         {"list", cmd_list},       {"show", cmd_show},
	{"breaches", cmd_breaches}, {"problem", cmd_problem}, {"report", cmd_report},
	{"status", cmd_status},     {"watch", cmd_watch},     {"keygen", cmd_keygen},
	{"due", cmd_due},           {"overdue", cmd_overdue}, {"token", cmd_token},
};

/* A variable of the environment, or NULL when it is unset or empty. */
static const char *s_env(const char *name)
{
	const char *value = getenv(name);
	return value != NULL && value[0] != '\0' ? value : NULL;
}

/* The defaults before any option: the environment, then the contract's endpoint. */
static void s_defaults(cli_t *cli)
{
	const char *api = s_env("INCIDENTD_API");
	cli->endpoint = api != NULL ? api : CLI_DEFAULT_API;
	cli->endpoint_from = "$INCIDENTD_API";
	cli->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	cli->json = false;
	cli->key_file = s_env("INCIDENTD_KEY");
	cli->key_from = "$INCIDENTD_KEY";
	cli->server_key = s_env("INCIDENTD_SERVER_KEY");
	cli->server_key_from = "$INCIDENTD_SERVER_KEY";
	const char *zone = s_env("INCIDENTD_TZ");
	cli->zone = zone != NULL ? zone : TZ_DEFAULT;
	cli->zone_from = "$INCIDENTD_TZ";
}

int main(int argc, char **argv)
{
	cli_t cli;
	int status = CLI_EXIT_OK;
	s_defaults(&cli);
	int first = args_parse_global(&cli, argc, argv, &status);
	if (first < 0)
		return status;
	if (first >= argc)
		return cli_usage_error("missing COMMAND");
	for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
		if (strcmp(argv[first], s_commands[i].name) == 0)
			return s_commands[i].run(&cli, argc - first, argv + first);
	return cli_usage_error("unknown command '%s'", argv[first]);
}
