/*
 * problem: problem records (create, update, link, unlink, show, list). Every subcommand is a
 * row of one table: its op, its arguments, which request members its positionals fill, and
 * how its reply is shown.
 */
#include <stdbool.h>
#include <string.h>

#include "client/args.h"
#include "client/commands.h"
#include "client/help.h"
#include "client/render.h"
#include "proto/op.h"

/* The id a reply names under key: a plain "PBI..." string or a record's "id". */
static const char *s_id_of(const json_t *reply, const char *key, const char *fallback)
{
	const json_t *v = json_object_get(reply, key);
	const char *id = json_is_object(v) ? json_string_value(json_object_get(v, "id"))
					   : json_string_value(v);
	return id != NULL ? id : fallback;
}

static void s_render_created(const json_t *reply, char **pos)
{
	(void)pos;
	puts(s_id_of(reply, "problem", "?"));
}

static void s_render_updated(const json_t *reply, char **pos)
{
	printf("%s updated\n", s_id_of(reply, "problem", pos[0]));
}

static void s_render_linked(const json_t *reply, char **pos)
{
	printf("%s linked to %s\n", s_id_of(reply, "problem", pos[0]),
	       s_id_of(reply, "incident", pos[1]));
}

static void s_render_unlinked(const json_t *reply, char **pos)
{
	printf("%s unlinked from %s\n", s_id_of(reply, "problem", pos[0]),
	       s_id_of(reply, "incident", pos[1]));
}

/* A problem record: its fields, then the incidents linked to it. */
static void s_render_record(const json_t *reply, char **pos)
{
	(void)pos;
	static const char *const keys[] = {"problem",    "title",      "status",
					   "root cause", "workaround", "description",
					   "created by", "updated by"};
	static const char *const fields[] = {"id",         "title",      "status",
					     "root_cause", "workaround", "description",
					     "created_by", "updated_by"};
	static const char *const headers[] = {"INCIDENT", "STATUS", "PROVIDER", "REF", "TITLE"};
	static const char *const inc_fields[] = {"id", "status", "provider", "ref", "title"};
	enum { N = sizeof keys / sizeof keys[0] };
	const json_t *pbi = json_object_get(reply, "problem");
	char bufs[N][RENDER_BUFSZ];
	const char *values[N];
	for (size_t i = 0; i < N; i++)
		values[i] = render_value(pbi, fields[i], bufs[i]);
	render_pairs(stdout, N, keys, values);
	const json_t *incidents = json_object_get(pbi, "incidents");
	table_t *table = table_new(sizeof headers / sizeof headers[0], headers);
	putchar('\n');
	if (json_array_size(incidents) == 0 || table == NULL)
		puts("no linked incidents");
	size_t i;
	const json_t *inc;
	json_array_foreach(incidents, i, inc) {
		/* A daemon may list bare ids instead of summaries; show what there is. */
		const char *bare[] = {json_string_value(inc), NULL, NULL, NULL, NULL};
		if (table != NULL && json_is_string(inc))
			table_add(table, bare);
		else if (table != NULL)
			table_add_object(table, inc, inc_fields);
	}
	if (table != NULL && table_rows(table) > 0)
		table_print(table, stdout, 0);
	table_destroy(&table);
}

/* The problem list: the number of linked incidents, whether sent as a list or a count. */
static void s_render_list(const json_t *reply, char **pos)
{
	(void)pos;
	static const char *const headers[] = {"PROBLEM", "STATUS", "INCIDENTS", "TITLE"};
	const json_t *list = json_object_get(reply, "problems");
	table_t *table = table_new(4, headers);
	if (json_array_size(list) == 0 || table == NULL) {
		puts("no problems");
		table_destroy(&table);
		return;
	}
	size_t i;
	const json_t *pbi;
	json_array_foreach(list, i, pbi) {
		char bufs[4][RENDER_BUFSZ], title[4 * 60 + 4];
		const json_t *incidents = json_object_get(pbi, "incidents");
		const char *cells[] = {render_value(pbi, "id", bufs[0]),
				       render_value(pbi, "status", bufs[1]),
				       render_value(pbi, "incidents", bufs[2]),
				       render_truncate(render_value(pbi, "title", bufs[3]), 60, title)};
		if (json_is_array(incidents)) {
			snprintf(bufs[2], RENDER_BUFSZ, "%zu", json_array_size(incidents));
			cells[2] = bufs[2];
		}
		table_add(table, cells);
	}
	table_print(table, stdout, 0);
	table_destroy(&table);
	render_next_page(reply);
}

static const arg_spec_t s_create_flags[] = {
	{"--title", ARG_STRING, "title", true, NULL, 0, 0, NULL},
	{"--description", ARG_STRING, "description", false, NULL, 0, 0, NULL},
	{0},
};
static const arg_spec_t s_update_flags[] = {
	{"--status", ARG_CHOICE, "status", false, NULL, 0, 0, CLI_PROBLEM_STATUSES},
	{"--root-cause", ARG_STRING, "root_cause", false, NULL, 0, 0, NULL},
	{"--workaround", ARG_STRING, "workaround", false, NULL, 0, 0, NULL},
	{0},
};
static const arg_spec_t s_list_flags[] = {
	{"--status", ARG_CHOICE, "status", false, NULL, 0, 0, CLI_PROBLEM_STATUSES},
	{"--limit", ARG_INT, "limit", false, NULL, 1, CLI_LIST_LIMIT_MAX, NULL},
	{"--cursor", ARG_STRING, "cursor", false, NULL, 0, 0, NULL},
	{0},
};
static const char *const s_pbi[] = {"PBI", NULL};
static const char *const s_pbi_inc[] = {"PBI", "INC", NULL};
static const char *const s_pbi_fields[] = {"problem", NULL};
static const char *const s_pbi_inc_fields[] = {"problem", "incident", NULL};

static const struct {
	const char *name, *op;
	args_def_t def;
	const char *const *pos_fields; /* request members the positionals fill, in order */
	bool needs_change;             /* at least one flag must be given */
	void (*render)(const json_t *reply, char **pos);
} s_subs[] = {
	{"create", OP_PROBLEM_CREATE, {"problem create", s_create_flags, NULL, false}, NULL,
	 false, s_render_created},
	{"update", OP_PROBLEM_UPDATE, {"problem update", s_update_flags, s_pbi, false},
	 s_pbi_fields, true, s_render_updated},
	{"link", OP_PROBLEM_LINK, {"problem link", NULL, s_pbi_inc, false}, s_pbi_inc_fields,
	 false, s_render_linked},
	{"unlink", OP_PROBLEM_UNLINK, {"problem unlink", NULL, s_pbi_inc, false},
	 s_pbi_inc_fields, false, s_render_unlinked},
	{"show", OP_PROBLEM_GET, {"problem show", NULL, s_pbi, false}, s_pbi_fields, false,
	 s_render_record},
	{"list", OP_PROBLEM_LIST, {"problem list", s_list_flags, NULL, false}, NULL, false,
	 s_render_list},
};

int cmd_problem(cli_t *cli, int argc, char **argv)
{
	cli_set_command("problem");
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		help_command(stdout, "problem");
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("problem: missing subcommand");
	size_t k = 0;
	while (k < sizeof s_subs / sizeof s_subs[0] && strcmp(s_subs[k].name, argv[1]) != 0)
		k++;
	if (k == sizeof s_subs / sizeof s_subs[0])
		return cli_usage_error("problem: unknown subcommand '%s'", argv[1]);
	json_t *req = json_pack("{s:s}", "op", s_subs[k].op);
	json_t *reply = NULL;
	char *pos[2];
	int status, npos;
	if (!args_parse(cli, argc - 1, argv + 1, &s_subs[k].def, req, pos, &npos, &status)) {
		json_decref(req);
		return status;
	}
	if (s_subs[k].needs_change && json_object_size(req) == 1) {
		json_decref(req);
		return cli_usage_error("problem %s: nothing to change", s_subs[k].name);
	}
	for (int i = 0; i < npos; i++)
		json_object_set_new(req, s_subs[k].pos_fields[i], json_string(pos[i]));
	status = cli_request(cli, req, &reply);
	if (reply != NULL && !cli->json)
		s_subs[k].render(reply, pos);
	json_decref(reply);
	return status;
}
