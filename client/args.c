#include "client/args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/help.h"
#include "client/tz.h"
#include "proto/rfc3339.h"

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
		help_usage(stdout);
		*status = CLI_EXIT_OK;
		return S_STOP;
	}
	if (strcmp(w->name, "--tz") == 0) {
		cli->zone = s_value(w, argc, argv, i);
		cli->zone_from = "--tz";
		return cli->zone != NULL ? S_TAKEN : S_STOP;
	}
	if (strcmp(w->name, "--json") == 0 && w->inline_value == NULL) {
		cli->json = true;
		return S_TAKEN;
	}
	if (strcmp(w->name, "-e") == 0 || strcmp(w->name, "--endpoint") == 0) {
		cli->endpoint = s_value(w, argc, argv, i);
		cli->endpoint_from = w->name[1] == 'e' ? "-e" : "--endpoint";
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

/* True when word is one of the comma-separated words of list ("open, resolved"). */
static bool s_is_choice(const char *word, const char *list)
{
	size_t len = strlen(word);
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, ", ");
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, word, len) == 0)
			return true;
		p += n;
	}
	return false;
}

/* True when text is a month "YYYY-MM" (01 to 12, years 1970 to 9999). */
static bool s_is_month(const char *text)
{
	char day[16];
	int64_t days;
	return strlen(text) == 7 && text[4] == '-' &&
	       snprintf(day, sizeof day, "%s-01", text) == 10 &&
	       rfc3339_date_parse(day, &days) == 0;
}

/* Checks the text of a flag that takes a value against its kind. Returns 0 or a status. */
static int s_check(const arg_spec_t *spec, const char *text)
{
	int64_t ms;
	switch (spec->kind) {
	case ARG_CHOICE:
		if (!s_is_choice(text, spec->choices))
			return cli_usage_error("%s: '%s' is not one of %s", spec->flag, text,
					       spec->choices);
		return 0;
	case ARG_TIME:
		if (rfc3339_parse(text, &ms) != 0)
			return cli_usage_error("%s: '%s' is not an RFC 3339 time with an offset "
					       "(2026-12-05T10:00:00Z, 2026-12-05T11:00:00+01:00)",
					       spec->flag, text);
		return 0;
	case ARG_MONTH:
		if (!s_is_month(text))
			return cli_usage_error("%s: '%s' is not a month YYYY-MM (01 to 12)",
					       spec->flag, text);
		return 0;
	default:
		return 0;
	}
}

/* Stores the value of one command flag in req and its text output. Returns 0 or a status. */
static int s_store(const arg_spec_t *spec, const char *text, json_t *req)
{
	json_t *value = NULL;
	if (spec->kind == ARG_INT) {
		long n;
		bool any = spec->min == 0 && spec->max == 0;
		if (cli_parse_long(spec->flag, text, any ? LONG_MIN : spec->min,
				   any ? LONG_MAX : spec->max, &n) != 0)
			return CLI_EXIT_USAGE;
		value = json_integer(n);
	} else if (spec->kind == ARG_TRUE) {
		value = json_true();
	} else {
		/* ARG_SINCE is checked and turned into a time once --tz is known (s_since()). */
		if (s_check(spec, text) != 0)
			return CLI_EXIT_USAGE;
		value = json_string(text);
	}
	if (spec->text_out != NULL)
		*spec->text_out = text;
	if (spec->field != NULL && req != NULL)
		json_object_set_new(req, spec->field, value);
	else
		json_decref(value);
	return 0;
}

/*
 * A duration back from now: a positive integer and a unit s, m, h or d ("24h"). Returns 0 and
 * stores *ms_out, or -EINVAL (also for a duration reaching before 1970).
 */
static int s_duration_back(const char *text, int64_t now_ms, int64_t *ms_out)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
	char *end;
	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	if (errno != 0 || n <= 0 || end[0] == '\0' || end[1] != '\0')
		return -EINVAL;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (units[i].unit != end[0])
			continue;
		if (n > now_ms / units[i].ms)
			return -EINVAL;
		*ms_out = now_ms - (int64_t)n * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

/* The moment an ARG_SINCE text names, in the zone now in use. Returns 0 or -EINVAL. */
static int s_since_ms(const char *text, int64_t *ms_out)
{
	int64_t days;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (rfc3339_parse(text, ms_out) == 0)
		return 0;
	if (strlen(text) == 10 && rfc3339_date_parse(text, &days) == 0)
		return tz_day_start(days, ms_out) == 0 ? 0 : -EINVAL;
	return s_duration_back(text, now_ms, ms_out);
}

/* Turns the ARG_SINCE values of req into RFC 3339 UTC times. Returns 0 or a status. */
static int s_since(const args_def_t *def, json_t *req)
{
	for (const arg_spec_t *s = def->flags; s != NULL && s->flag != NULL; s++) {
		const char *text = s->kind == ARG_SINCE && s->field != NULL && req != NULL
					   ? json_string_value(json_object_get(req, s->field))
					   : NULL;
		int64_t ms;
		if (text == NULL)
			continue;
		if (s_since_ms(text, &ms) != 0)
			return cli_usage_error("%s: '%s' is not an RFC 3339 time "
					       "(2026-12-05T10:00:00Z), a date (2026-12-05) or a "
					       "duration back from now (30m, 24h, 7d)",
					       s->flag, text);
		char utc[RFC3339_BUFSZ];
		json_object_set_new(req, s->field, json_string(rfc3339_format(ms, utc)));
	}
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
	cli_set_command(cmd);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (options && strcmp(arg, "--") == 0) {
			options = false;
			continue;
		}
		if (options && arg[0] == '-' && arg[1] != '\0') {
			s_word_t w;
			s_split(arg, &w);
			if (strcmp(w.name, "-h") == 0 || strcmp(w.name, "--help") == 0) {
				if (!help_command(stdout, cmd))
					help_usage(stdout);
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
	if (!s_complete(def, cmd, req, *npos, status))
		return false;
	if ((*status = cli_zone(cli)) != CLI_EXIT_OK || (*status = s_since(def, req)) != 0)
		return false;
	return true;
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
	int status, npos;
	if (!args_parse(cli, argc, argv, def, req, NULL, &npos, &status)) {
		json_decref(req);
		return status;
	}
	return args_send(cli, req, render, arg);
}

int args_send(cli_t *cli, json_t *req, void (*render)(const json_t *reply, void *arg), void *arg)
{
	json_t *reply = NULL;
	int status = cli_request(cli, req, &reply);
	if (reply != NULL && !cli->json)
		render(reply, arg);
	json_decref(reply);
	return status;
}
