/*
 * help: the table of commands and their help texts. See help.h.
 */
#include "client/help.h"

#include <string.h>

#include "client/contract.h"

/* The stages and rule names of config/incidentd.conf, read from it by client/CMakeLists.txt. */
#ifndef INCIDENTCTL_DEFAULT_STAGES
#error "INCIDENTCTL_DEFAULT_STAGES comes from config/incidentd.conf (client/CMakeLists.txt)"
#endif
#ifndef INCIDENTCTL_DEFAULT_RULES
#error "INCIDENTCTL_DEFAULT_RULES comes from config/incidentd.conf (client/CMakeLists.txt)"
#endif

#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

/* Lines wrap before this column. */
#define HELP_WIDTH 79

/*
 * The texts several commands share. Help texts are logical lines: a paragraph, or an option
 * ("  --flag X" and its description after two or more spaces), each wrapped when printed.
 */
#define H_STAGES                                                                             \
	"the stages of the daemon's config; the default config's, in order: "                \
	INCIDENTCTL_DEFAULT_STAGES
#define H_TIME "RFC 3339 with an offset (2026-12-05T10:00:00Z, 2026-12-05T11:00:00.250+01:00)"
#define H_CATEGORY "1 to " S_XSTR(CLI_CATEGORY_MAX) " (1 the most urgent)"
#define H_PAGE(max, dflt)                                                                    \
	"  --limit N         at most N a page: 1 to " S_XSTR(max) " (default " S_XSTR(dflt) ")\n" \
	"  --cursor C        the next page, after the one that printed 'next page: --cursor C'\n"
#define H_GLOBAL                                                                             \
	"\nGlobal options (-e, --timeout, --json, --tz, --key, --server-key) may come before "  \
	"or after the command: see 'incidentctl --help'. Times are shown in the --tz zone, as "  \
	"2026-12-05T11:00:00+01:00; --json prints the daemon's reply as it came (times in "      \
	"UTC). -e may list several endpoints, comma-separated (the nodes of a cluster): a "       \
	"request without an answer within --timeout, or answered 'unavailable', goes to the "    \
	"next one, each tried once; exit 3 when none answered.\n"

/*
 * One command. synopsis holds one form per line, each starting with the command name; text
 * says what it does, its options with their valid values, and what it prints.
 */
typedef struct {
	const char *command;
	const char *synopsis;
	const char *text;
} s_help_t;

static const s_help_t s_help[] = {
	{"push",
	 "push --provider P --event-id E --ref R --stage S [--at T] [--category N] [--title T] "
	 "[--service S] [--description D] [--major] [--source SRC]\n"
	 "push -f FILE|-",
	 "Sends one event (a stage of a provider's incident) and prints the incident's id and "
	 "status ('INC000000000001 open', '(duplicate)' for a retry) and any breach the event "
	 "revealed.\n"
	 "\n"
	 "  --provider P      the provider reporting\n"
	 "  --event-id E      unique per provider: a retry with the same id and content is a "
	 "duplicate, the same id with other content a conflict\n"
	 "  --ref R           the provider's own reference of the incident\n"
	 "  --stage S         the stage reached: " H_STAGES "\n"
	 "  --at T            when it happened: " H_TIME "; default: when the daemon receives it\n"
	 "  --category N      " H_CATEGORY "; required when the event opens an incident\n"
	 "  --title T         required when the event opens an incident\n"
	 "  --service S       optional, when the event opens an incident; so is --description D\n"
	 "  --major           the incident is major\n"
	 "  --source SRC      who reports it: " CLI_SOURCES " (default provider)\n"
	 "  -f FILE|-         a file (or standard input) of events, one JSON object per line with "
	 "the members of the event op (provider, event_id, ref, stage, at, ...) and no \"op\"; "
	 "not with the flags above. Refused lines are reported as 'line N: CODE: MESSAGE', then a "
	 "summary 'accepted A, duplicate D, refused R'; exit 1 when a line was refused. On a "
	 "terminal a progress line shows the lines done, of how many for a regular file. With "
	 "several endpoints (-e A,B) the requests in flight go again to the next endpoint when "
	 "one stops answering: lines it applied come back as duplicates.\n"},
	{"list",
	 "list [--status S] [--provider P] [--category N] [--major] [--breached] [--user-first] "
	 "[--problem PBI] [--oldest] [--limit N] [--cursor C]",
	 "Incidents, newest first: id, provider, ref, category, major, status, opened at, last "
	 "stage, user first (yes when a user reported it before the provider told the operator), "
	 "title.\n"
	 "\n"
	 "  --status S        " CLI_LIST_STATUSES " (default open)\n"
	 "  --provider P      only this provider's\n"
	 "  --category N      only this category: " H_CATEGORY "\n"
	 "  --major           only major incidents\n"
	 "  --breached        only incidents with a breach\n"
	 "  --user-first      only incidents a service user reported before any other source "
	 "reported the notified stage\n"
	 "  --problem PBI     only incidents linked to this problem (an unknown one is an error)\n"
	 "  --oldest          aged incidents first: by opening time, earliest first (a cursor "
	 "continues the order it came from)\n"
	 H_PAGE(CLI_LIST_LIMIT_MAX, CLI_LIST_LIMIT_DEFAULT)},
	{"show", "show INC\nshow PROVIDER/REF",
	 "An incident: its fields, its timeline (one row per report: stage, reported and received "
	 "times, the delay between the two, the gap since the previous stage, source, event id, by "
	 "whom), each SLA rule's verdict (met, breached, pending with the time left, not_started) "
	 "and the breaches raised.\n"
	 "\n"
	 "  INC               the incident's id: INC and 12 digits\n"
	 "  PROVIDER/REF      or the provider's reference (split at the first '/', so a ref may "
	 "hold more)\n"},
	{"due", "due [--within DURATION] [--provider P] [--sla NAME] [--limit N]",
	 "Pending deadlines (a rule started, not stopped, not breached), soonest first: due time, "
	 "time remaining, incident, provider, ref, rule.\n"
	 "\n"
	 "  --within DURATION only those due within this long: a number and ms, s, m, h or d "
	 "(30m, 2h, 1d)\n"
	 "  --provider P      only this provider's\n"
	 "  --sla NAME        only this rule's; the default config's rules: "
	 INCIDENTCTL_DEFAULT_RULES "\n"
	 "  --limit N         at most N: 1 to 10000 (default 1000); a line says when more "
	 "matched\n"},
	{"overdue", "overdue [--provider P]",
	 "Breaches still running (no stop yet) on open incidents, latest due first: incident, "
	 "provider, ref, rule, due and how late.\n"
	 "\n"
	 "  --provider P      only this provider's\n"},
	{"breaches", "breaches [--provider P] [--sla NAME] [--since T] [--limit N] [--cursor C]",
	 "Breaches recorded, in the order they were raised: breach id, incident, provider, rule, "
	 "due, stopped, late by, how it was detected (on_arrival, deadline, user_first) and "
	 "when.\n"
	 "\n"
	 "  --provider P      only this provider's\n"
	 "  --sla NAME        only this rule's; the default config's rules: "
	 INCIDENTCTL_DEFAULT_RULES "\n"
	 "  --since T         only those detected at or after T: " H_TIME ", a date (2026-12-05: "
	 "its midnight in the --tz zone) or a duration back from now, a number and s, m, h or d "
	 "(30m, 24h, 7d)\n"
	 H_PAGE(CLI_BREACHES_LIMIT_MAX, CLI_BREACHES_LIMIT_DEFAULT)},
	{"problem create", "problem create --title T [--description D]",
	 "Opens a problem record (status open) and prints its id: PBI and 12 digits. Each "
	 "request opens a new record, so with several endpoints (-e A,B) it goes to the next "
	 "one only when it was never sent (no connection within --timeout): once sent, no "
	 "answer is exit 3 and not retried; look with 'problem list' before trying again.\n"},
	{"problem update",
	 "problem update PBI [--status S] [--root-cause TEXT] [--workaround TEXT]",
	 "Changes a problem record; at least one option.\n"
	 "\n"
	 "  --status S        " CLI_PROBLEM_STATUSES "; any change is allowed (a problem can be "
	 "reopened)\n"
	 "  --root-cause TEXT the cause found\n"
	 "  --workaround TEXT what users can do meanwhile\n"},
	{"problem link", "problem link PBI INC",
	 "Links an incident to a problem; an incident links to at most one problem. A problem rule "
	 "stops at the first link.\n"},
	{"problem unlink", "problem unlink PBI INC",
	 "Undoes a link; unlinking a pair that is not linked is a conflict (exit 1).\n"},
	{"problem show", "problem show PBI", "A problem record and the incidents linked to it.\n"},
	{"problem list", "problem list [--status S] [--limit N] [--cursor C]",
	 "Problem records, newest first.\n"
	 "\n"
	 "  --status S        only this status: " CLI_PROBLEM_STATUSES "\n"
	 H_PAGE(CLI_LIST_LIMIT_MAX, CLI_LIST_LIMIT_DEFAULT)},
	{"report", "report --month YYYY-MM [--provider P] [--csv]\n"
		   "report --month YYYY-MM [--provider P] --html [-o FILE]",
	 "The monthly report of a UTC calendar month of reported times, per provider: incidents "
	 "opened (and how many of them were user-first), resolved, open at the month's start and "
	 "end, the ids of those open at its end, "
	 "and per rule (and category) met, breached and percent met; then per performance "
	 "measure its figures, target/minimum, level (target, 'below target !', 'BELOW MINIMUM "
	 "!!'), months below target in a row and in the last 24.\n"
	 "\n"
	 "  --month YYYY-MM   the month (01 to 12)\n"
	 "  --provider P      only this provider\n"
	 "  --csv             one CSV table instead, a row per provider, rule and category, then "
	 "per provider and measure (kind 'measure'); not with --json\n"
	 "  --html            one self-contained HTML page instead (inline CSS and SVG, no "
	 "script, nothing fetched), for a review meeting or for print: per provider, incidents "
	 "opened, resolved and open at month end over the 12 months ending with the month as "
	 "bars, each measure's percent met by month as a line with its target and minimum, the "
	 "month's figures as tables; then each major incident open during the month as a "
	 "timeline, a row per source, each report from its reported time to its arrival, its "
	 "breaches marked, and its reports as a table. Times in the --tz zone with their offset. "
	 "Asks the daemon for 12 reports, the major incidents and each one's record. Not with "
	 "--csv or --json. Print it from a browser (each provider starts a page), or "
	 "'chromium --headless --print-to-pdf=report.pdf report.html'\n"
	 "  -o FILE           with --html: write the page to FILE (once every answer came) "
	 "instead of standard output\n"},
	{"watch", "watch [--publish ENDPOINT] [TOPIC ...]",
	 "Every message the daemon publishes, one line each as it arrives (topic, seq and the "
	 "telling members), until Ctrl-C or SIGTERM (exit 0). With --json one line per message: "
	 "{\"topic\": TOPIC, \"message\": BODY}, BODY as the daemon sent it. When nothing is "
	 "connected after --timeout it says so on stderr, once, and goes on waiting.\n"
	 "\n"
	 "  --publish ENDPOINT  the publish socket (default $INCIDENTD_PUBLISH, then "
	 CLI_DEFAULT_PUBLISH "); of a comma-separated list only the first is used (every node "
	 "of a cluster publishes, so several would show each message once per node)\n"
	 "  TOPIC             topic prefixes to receive (default all): incident.opened, "
	 "incident.stage, breach.RULE, problem.linked, hook.gave_up\n"},
	{"status", "status", "The daemon's version, uptime and counts.\n"},
	{"keygen", "keygen FILE",
	 "Makes a new CURVE key pair and writes FILE (mode 0600: the lines 'public = KEY' and "
	 "'secret = KEY') and FILE.pub (mode 0644: the public line). Existing files are never "
	 "overwritten (exit 1). Prints the public key.\n"
	 "\n"
	 "A client's pair: connect with 'incidentctl --key FILE --server-key DAEMON_KEY ...' (or "
	 "$INCIDENTD_KEY and $INCIDENTD_SERVER_KEY), and let the key in with a section of the "
	 "daemon's config: '[client NAME]', 'key = KEY' (or the path of FILE.pub) and "
	 "'role = provider|operator|viewer' (a provider also needs 'providers = P, ...'). The "
	 "daemon's pair: 'secret_key = FILE' under [security]; clients give FILE.pub or the key "
	 "as --server-key.\n"},
	{"token", "token [NAME]",
	 "Makes a new bearer token for the HTTP listener (32 random bytes, base64url) and prints "
	 "it with the line 'token_sha256 = HEX' (its SHA-256) and a [client NAME] section to add "
	 "to the daemon's config (SIGHUP applies it). The config keeps only the hash; the sender "
	 "keeps the token and sends 'Authorization: Bearer TOKEN'. Nothing is written.\n"},
};

enum { S_NHELP = sizeof s_help / sizeof s_help[0] };

static const char s_global_usage[] =
	"usage: incidentctl [-e ENDPOINT] [--timeout MS] [--json] [--tz ZONE]\n"
	"                   [--key FILE --server-key KEY|FILE] COMMAND [ARGS]\n";

static const char s_options[] =
	"options:\n"
	"  -e, --endpoint ENDPOINT  API endpoint (default $INCIDENTD_API, then " CLI_DEFAULT_API ");\n"
	"                           several, comma-separated: tried in order, each once, when\n"
	"                           one does not answer within --timeout or is 'unavailable'\n"
	"  --timeout MS             how long to wait for an answer, at least 1 (default "
	S_XSTR(CLI_DEFAULT_TIMEOUT_MS) ")\n"
	"  --json                   print the daemon's JSON replies, one per line\n"
	"  --tz ZONE                show times in this IANA zone, e.g. Europe/Paris, as\n"
	"                           2026-12-05T11:00:00+01:00 (default $INCIDENTD_TZ, then UTC);\n"
	"                           dates typed (--since) are its days; --json stays UTC\n"
	"  --key FILE               connect with CURVE using this key pair, from keygen\n"
	"                           (default $INCIDENTD_KEY)\n"
	"  --server-key KEY|FILE    the daemon's public key, or a key file holding it\n"
	"                           (default $INCIDENTD_SERVER_KEY); CURVE needs both; one\n"
	"                           server key for every endpoint of -e\n"
	"  -h, --help               show this help; 'incidentctl COMMAND --help' shows a\n"
	"                           command's, with its valid values\n";

static const char s_exit_status[] =
	"exit status: 0 success, 1 the daemon answered with an error (or refused the key),\n"
	"2 usage error, 3 no answer within the timeout\n";

static const s_help_t *s_find(const char *command)
{
	for (size_t i = 0; command != NULL && i < S_NHELP; i++)
		if (strcmp(s_help[i].command, command) == 0)
			return &s_help[i];
	return NULL;
}

/*
 * Prints one form of a synopsis (up to its end or a line break) after prefix, wrapped to
 * HELP_WIDTH at spaces outside brackets, later lines indented to just after the command name
 * (name_len bytes). Returns the start of the next form, or NULL after the last.
 */
static const char *s_print_form(FILE *out, const char *prefix, const char *form, size_t name_len)
{
	size_t indent = strlen(prefix) + name_len + 1, col = strlen(prefix);
	const char *p = form;
	fputs(prefix, out);
	while (*p != '\0' && *p != '\n') {
		/* The next word: up to a space at bracket depth 0. */
		const char *end = p;
		int depth = 0;
		while (*end != '\0' && *end != '\n' && (*end != ' ' || depth > 0)) {
			depth += *end == '[' ? 1 : *end == ']' ? -1 : 0;
			end++;
		}
		size_t len = (size_t)(end - p);
		if (p != form && col + 1 + len > HELP_WIDTH) {
			fprintf(out, "\n%*s", (int)indent, "");
			col = indent;
		} else if (p != form) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)len, p);
		col += len;
		p = *end == ' ' ? end + 1 : end;
	}
	fputc('\n', out);
	return *p == '\n' ? p + 1 : NULL;
}

/* Prints every form of a row's synopsis, the first after first, the others after more. */
static void s_print_synopsis(FILE *out, const s_help_t *h, const char *first, const char *more)
{
	const char *form = h->synopsis;
	for (int i = 0; form != NULL; i++)
		form = s_print_form(out, i == 0 ? first : more, form, strlen(h->command));
}

/*
 * Where the continuation lines of a logical line start: an option line ("  --flag X  text")
 * continues under its text, any other line under its first character.
 */
static size_t s_hanging_indent(const char *line, size_t len)
{
	size_t lead = strspn(line, " ");
	if (lead == 0)
		return 0;
	for (size_t i = lead; i + 1 < len; i++)
		if (line[i] == ' ' && line[i + 1] == ' ')
			return i + strspn(line + i, " ");
	return lead;
}

/* Prints text, each logical line wrapped to HELP_WIDTH at spaces with its hanging indent. */
static void s_print_text(FILE *out, const char *text)
{
	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		size_t indent = s_hanging_indent(line, len), col = 0, min = indent;
		const char *p = line;
		size_t left = len;
		while (col + left > HELP_WIDTH) {
			/* The last space that fits, past the indentation of the first piece. */
			size_t cut = HELP_WIDTH - col;
			while (cut > min && p[cut] != ' ')
				cut--;
			if (cut <= min)
				break; /* one long word: let it run over */
			fprintf(out, "%.*s\n%*s", (int)cut, p, (int)indent, "");
			col = indent;
			min = 0;
			p += cut + 1;
			left -= cut + 1;
		}
		fprintf(out, "%.*s\n", (int)left, p);
		line += len + (line[len] == '\n');
	}
}

void help_usage(FILE *out)
{
	fputs(s_global_usage, out);
	fputs("\ncommands:\n", out);
	for (size_t i = 0; i < S_NHELP; i++)
		s_print_synopsis(out, &s_help[i], "  ", "  ");
	fputc('\n', out);
	fputs(s_options, out);
	fputc('\n', out);
	fputs(s_exit_status, out);
}

bool help_command(FILE *out, const char *command)
{
	const s_help_t *h = s_find(command);
	if (h != NULL) {
		s_print_synopsis(out, h, "usage: incidentctl ", "       incidentctl ");
		fputc('\n', out);
		s_print_text(out, h->text);
		s_print_text(out, H_GLOBAL);
		fputc('\n', out);
		fputs(s_exit_status, out);
		return true;
	}
	/* A group: the rows whose name is command followed by a space. */
	size_t len = strlen(command);
	bool any = false;
	for (size_t i = 0; i < S_NHELP; i++) {
		if (strncmp(s_help[i].command, command, len) != 0 || s_help[i].command[len] != ' ')
			continue;
		s_print_synopsis(out, &s_help[i], any ? "       incidentctl " : "usage: incidentctl ",
				 "       incidentctl ");
		any = true;
	}
	if (any)
		fprintf(out, "\n'incidentctl %s SUBCOMMAND --help' describes each.\n", command);
	return any;
}

void help_synopsis(FILE *out, const char *command)
{
	const s_help_t *h = s_find(command);
	if (h == NULL)
		fputs(s_global_usage, out);
	else
		s_print_synopsis(out, h, "usage: incidentctl ", "       incidentctl ");
}
