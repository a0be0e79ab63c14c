#include "client/args.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* How one word of the command line was handled. */
typedef enum { S_NOT_MINE, S_TAKEN, S_STOP } s_outcome_t;

/* One option word split at '=': "--title=x" gives name "--title" and value "x". */
typedef struct {
	char name[64];
	const char *inline_value; /* NULL when the word had no '=' */
} s_word_t;

static void s_split(const char *arg, s_word_t *w)
{
	const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
	size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	if (len >= sizeof w->name)
		len = sizeof w->name - 1;
	memcpy(w->name, arg, len);
	w->name[len] = '\0';
	w->inline_value = eq != NULL ? eq + 1 : NULL;
}

/*
 * The value of an option: the part after '=', or the next word (advancing *i). NULL after
 * reporting a usage error when there is none.
 */
static const char *s_value(const s_word_t *w, int argc, char **argv, int *i)
{
	if (w->inline_value != NULL)
		return w->inline_value;
	if (*i + 1 >= argc) {
		cli_usage_error("%s needs a value", w->name);
		return NULL;
	}
	return argv[++*i];
}

/* Handles the global options wherever they appear. */
static s_outcome_t s_global(cli_t *cli, const s_word_t *w, int argc, char **argv, int *i,
			    int *status)
{
	*status = CLI_EXIT_USAGE;
	if (strcmp(w->name, "-h") == 0 || strcmp(w->name, "--help") == 0) {
		cli_usage(stdout);
		*status = CLI_EXIT_OK;
		return S_STOP;
	}
	if (strcmp(w->name, "--json") == 0 && w->inline_value == NULL) {
		cli->json = true;
		return S_TAKEN;
	}
	if (strcmp(w->name, "-e") == 0 || strcmp(w->name, "--endpoint") == 0) {
		cli->endpoint = s_value(w, argc, argv, i);
		return cli->endpoint != NULL ? S_TAKEN : S_STOP;
	}
	if (strcmp(w->name, "--key") == 0) {
		cli->key_file = s_value(w, argc, argv, i);
		cli->key_from = "--key";
		return cli->key_file != NULL ? S_TAKEN : S_STOP;
	}
	if (strcmp(w->name, "--server-key") == 0) {
		cli->server_key = s_value(w, argc, argv, i);
		cli->server_key_from = "--server-key";
		return cli->server_key != NULL ? S_TAKEN : S_STOP;
	}
	if (strcmp(w->name, "--timeout") == 0) {
		const char *text = s_value(w, argc, argv, i);
		if (text == NULL || cli_parse_long("--timeout", text, 1, INT_MAX, &cli->timeout_ms))
			return S_STOP;
		return S_TAKEN;
	}
	return S_NOT_MINE;
}

/* Stores the value of one command flag in req and its text output. Returns 0 or a status. */
static int s_store(const arg_spec_t *spec, const char *text, json_t *req)
{
	json_t *value = NULL;
	if (spec->kind == ARG_STRING) {
		value = json_string(text);
	} else if (spec->kind == ARG_INT) {
		long n;
		if (cli_parse_long(spec->flag, text, LONG_MIN, LONG_MAX, &n) != 0)
			return CLI_EXIT_USAGE;
		value = json_integer(n);
	} else {
		value = json_true();
	}
	if (spec->text_out != NULL)
		*spec->text_out = text;
	if (spec->field != NULL && req != NULL)
		json_object_set_new(req, spec->field, value);
	else
		json_decref(value);
	return 0;
}

/* Handles a command flag. */
static s_outcome_t s_flag(const args_def_t *def, const s_word_t *w, int argc, char **argv,
			  int *i, json_t *req, int *status)
{
	for (const arg_spec_t *s = def->flags; s != NULL && s->flag != NULL; s++) {
		if (strcmp(s->flag, w->name) != 0)
			continue;
		if (s->kind == ARG_TRUE && w->inline_value != NULL) {
			*status = cli_usage_error("%s takes no value", s->flag);
			return S_STOP;
		}
		const char *text = s->kind == ARG_TRUE ? s->flag : s_value(w, argc, argv, i);
		if (text == NULL || s_store(s, text, req) != 0) {
			*status = CLI_EXIT_USAGE;
			return S_STOP;
		}
		return S_TAKEN;
	}
	return S_NOT_MINE;
}

/* Checks that required flags and positionals are there. */
static bool s_complete(const args_def_t *def, const char *cmd, const json_t *req, int npos,
		       int *status)
{
	for (const arg_spec_t *s = def->flags; s != NULL && s->flag != NULL; s++) {
		bool seen = s->field != NULL ? json_object_get(req, s->field) != NULL
					     : (s->text_out != NULL && *s->text_out != NULL);
		if (s->required && !seen) {
			*status = cli_usage_error("%s: missing %s", cmd, s->flag);
			return false;
		}
	}
	int wanted = 0;
	while (def->positional != NULL && def->positional[wanted] != NULL)
		wanted++;
	if (npos < wanted) {
		*status = cli_usage_error("%s: missing %s", cmd, def->positional[npos]);
		return false;
	}
	return true;
}

bool args_parse(cli_t *cli, int argc, char **argv, const args_def_t *def, json_t *req,
		char **pos, int *npos, int *status)
{
	int wanted = 0;
	while (def->positional != NULL && def->positional[wanted] != NULL)
		wanted++;
	const char *cmd = def->name != NULL ? def->name : argv[0];
	bool options = true;
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (options && strcmp(arg, "--") == 0) {
			options = false;
			continue;
		}
		if (options && arg[0] == '-' && arg[1] != '\0') {
			s_word_t w;
			s_split(arg, &w);
			if (def->help != NULL &&
			    (strcmp(w.name, "-h") == 0 || strcmp(w.name, "--help") == 0)) {
				fputs(def->help, stdout);
				*status = CLI_EXIT_OK;
				return false;
			}
			s_outcome_t o = s_flag(def, &w, argc, argv, &i, req, status);
			if (o == S_NOT_MINE)
				o = s_global(cli, &w, argc, argv, &i, status);
			if (o == S_NOT_MINE)
				*status = cli_usage_error("%s: unknown option %s", cmd, w.name);
			if (o != S_TAKEN)
				return false;
			continue;
		}
		if (*npos >= wanted && !def->more) {
			*status = cli_usage_error("%s: unexpected argument '%s'", cmd, arg);
			return false;
		}
		pos[(*npos)++] = argv[i];
	}
	return s_complete(def, def->name != NULL ? def->name : argv[0], req, *npos, status);
}

int args_parse_global(cli_t *cli, int argc, char **argv, int *status)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		s_word_t w;
		s_split(argv[i], &w);
		s_outcome_t o = s_global(cli, &w, argc, argv, &i, status);
		if (o == S_NOT_MINE)
			*status = cli_usage_error("unknown option %s", w.name);
		if (o != S_TAKEN)
			return -1;
	}
	return i;
}

int args_run_request(cli_t *cli, int argc, char **argv, const char *op, const args_def_t *def,
		     void (*render)(const json_t *reply, void *arg), void *arg)
{
	json_t *req = json_pack("{s:s}", "op", op);
	json_t *reply = NULL;
	int status, npos;
	if (!args_parse(cli, argc, argv, def, req, NULL, &npos, &status)) {
		json_decref(req);
		return status;
	}
	status = cli_request(cli, req, &reply);
	if (reply != NULL && !cli->json)
		render(reply, arg);
	json_decref(reply);
	return status;
}
