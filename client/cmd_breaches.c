/* breaches: the recorded SLA breaches as a table. */
#include "client/args.h"
#include "client/commands.h"
#include "client/render.h"
#include "proto/op.h"

static void s_render(const json_t *reply, void *arg)
{
	(void)arg;
	static const char *const headers[] = {"BREACH", "INCIDENT",    "PROVIDER", "SLA",
					      "DUE",    "STOPPED",     "LATE_BY",  "DETECTED",
					      "DETECTED_AT"};
	static const char *const fields[] = {"breach", "incident",   "provider", "sla",
					     "due",    "stopped_at", "late_by_ms", "detected",
					     "detected_at"};
	render_objects(sizeof headers / sizeof headers[0], headers, fields,
		       json_object_get(reply, "breaches"), "no breaches");
	render_next_page(reply);
}

int cmd_breaches(cli_t *cli, int argc, char **argv)
{
	static const arg_spec_t flags[] = {
		{"--provider", ARG_STRING, "provider", false, NULL, 0, 0, NULL},
		{"--sla", ARG_STRING, "sla", false, NULL, 0, 0, NULL},
		{"--since", ARG_SINCE, "since", false, NULL, 0, 0, NULL},
		{"--limit", ARG_INT, "limit", false, NULL, 1, CLI_BREACHES_LIMIT_MAX, NULL},
		{"--cursor", ARG_STRING, "cursor", false, NULL, 0, 0, NULL},
		{0},
	};
	static const args_def_t def = {.flags = flags};
	return args_run_request(cli, argc, argv, OP_BREACHES, &def, s_render, NULL);
}
