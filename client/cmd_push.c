/*
 * push: events into the daemon, either one built from flags or a file of them (-f), one JSON
 * object per line, sent through a window of requests in flight so that a large file is not
 * paced by round trips.
 *
 * With several endpoints push -f sends to one at a time. When it stops answering (nothing
 * within the timeout) or answers a line "unavailable", every request in flight is sent again
 * to the next endpoint, wrapping round: events are idempotent by their event_id, so a line the
 * first endpoint applied is a duplicate on the next. It gives up once every endpoint has failed
 * in a row, without a reply between the failures.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/args.h"
#include "client/commands.h"
#include "client/render.h"
#include "proto/op.h"
#include "client/rpc.h"

/* Requests in flight at once in push -f: enough to hide round trips, few enough to be fair. */
#define PUSH_WINDOW 64
/* The progress line is redrawn at most this often. */
#define PUSH_PROGRESS_MS 100
/*
 * What the pump returns when a line was answered "unavailable" and another endpoint may take
 * it; rpc_recv() never returns it (a reply that is not there yet is -ETIMEDOUT).
 */
#define PUSH_UNAVAILABLE (-EAGAIN)

/* The state of one push -f run. */
typedef struct {
	const cli_t *cli;
	curve_t creds;
	endpoints_t eps;
	size_t at;        /* the endpoint in use, an index of eps */
	size_t failures;  /* endpoints failed in a row, without a reply between */
	bool bad_endpoint; /* one could not be used: a usage error was reported */
	rpc_t *rpc;
	FILE *in;
	char *buf; /* getline's buffer */
	size_t bufsz;
	long line;                  /* lines read so far; a request's id is its line number */
	bool eof;
	long inflight[PUSH_WINDOW]; /* line numbers awaiting a reply, unordered */
	json_t *pending[PUSH_WINDOW]; /* their requests, to send again to another endpoint */
	size_t ninflight;
	long sent, accepted, duplicate, refused;
	bool progress;    /* stderr is a terminal: keep a progress line there */
	long total;       /* lines of the input when known (a regular file), else -1 */
	int64_t drawn_ms; /* when the progress line was last drawn */
} s_batch_t;

/* Redraws the progress line; with force, even if it was drawn a moment ago. */
static void s_progress(s_batch_t *b, bool force)
{
	if (!b->progress || (!force && cli_clock_ms() - b->drawn_ms < PUSH_PROGRESS_MS))
		return;
	if (b->total >= 0)
		fprintf(stderr, "\rline %ld of %ld: ", b->line, b->total);
	else
		fprintf(stderr, "\rline %ld: ", b->line);
	/* Erasing the rest of the line keeps no tail of a longer line drawn before. */
	fprintf(stderr, "sent %ld, accepted %ld, duplicate %ld, refused %ld\033[K", b->sent,
		b->accepted, b->duplicate, b->refused);
	fflush(stderr);
	b->drawn_ms = cli_clock_ms();
}

/*
 * The number of lines left in in when it is a regular file (a last line without a line break
 * counts), read and then rewound to where it was; -1 for a pipe or terminal, whose end is
 * unknown.
 */
static long s_count_lines(FILE *in)
{
	struct stat st;
	long start = ftell(in);
	if (start < 0 || fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	char buf[65536];
	long lines = 0;
	size_t n;
	char last = '\n';
	while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
		for (const char *p = buf; (p = memchr(p, '\n', n - (size_t)(p - buf))) != NULL; p++)
			lines++;
		last = buf[n - 1];
	}
	if (ferror(in) || fseek(in, start, SEEK_SET) != 0)
		return -1;
	return lines + (last != '\n');
}

/* Reports a refused line, wiping the progress line first so the message stands alone. */
static void s_refuse(s_batch_t *b, long line, const char *code, const char *message)
{
	if (b->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "line %ld: %s: %s\n", line, code, message);
	b->refused++;
	b->drawn_ms = 0;
}

/* True when the line holds nothing but white space. */
static bool s_blank(const char *text)
{
	return text[strspn(text, " \t\r\n")] == '\0';
}

/*
 * Reads lines until one is sent, one is refused before sending, or the input ends. Returns 0
 * or a negative errno from sending.
 */
static int s_send_next(s_batch_t *b)
{
	for (;;) {
		if (getline(&b->buf, &b->bufsz, b->in) < 0) {
			b->eof = true;
			return 0;
		}
		b->line++;
		if (s_blank(b->buf))
			continue;
		json_error_t jerr;
		json_t *ev = json_loads(b->buf, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(ev)) {
			s_refuse(b, b->line, "bad_json", ev == NULL ? jerr.text : "not a JSON object");
			json_decref(ev);
			return 0;
		}
		json_object_set_new(ev, "op", json_string(OP_EVENT));
		json_object_set_new(ev, "id", json_integer(b->line));
		int rc = rpc_send(b->rpc, ev);
		if (rc != 0) {
			json_decref(ev);
			return rc;
		}
		b->pending[b->ninflight] = ev;
		b->inflight[b->ninflight++] = b->line;
		b->sent++;
		return 0;
	}
}

/* Removes line from the requests in flight; false when it was not one of them. */
static bool s_settle(s_batch_t *b, long line)
{
	for (size_t i = 0; i < b->ninflight; i++) {
		if (b->inflight[i] == line) {
			json_decref(b->pending[i]);
			b->ninflight--;
			b->inflight[i] = b->inflight[b->ninflight];
			b->pending[i] = b->pending[b->ninflight];
			return true;
		}
	}
	return false;
}

/* True when line is in flight. */
static bool s_in_flight(const s_batch_t *b, long line)
{
	for (size_t i = 0; i < b->ninflight; i++)
		if (b->inflight[i] == line)
			return true;
	return false;
}

/*
 * With another endpoint to go to, a line answered "unavailable" stays in flight: reports it
 * and returns true.
 */
static bool s_unavailable(s_batch_t *b, long line, const json_t *reply)
{
	const char *code, *message;
	if (b->eps.count == 1 || json_is_true(json_object_get(reply, "ok")))
		return false;
	cli_reply_error(reply, &code, &message);
	if (strcmp(code, "unavailable") != 0)
		return false;
	if (b->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "incidentctl: %s answered line %ld %s: %s\n", b->eps.item[b->at], line,
		code, message);
	b->drawn_ms = 0;
	return true;
}

/*
 * Counts one reply against the line it answers. Returns 0, or PUSH_UNAVAILABLE when the line
 * is to go to another endpoint.
 */
static int s_account(s_batch_t *b, const json_t *reply, const char *raw)
{
	long line = (long)json_integer_value(json_object_get(reply, "id"));
	if (!s_in_flight(b, line))
		return 0; /* not ours (a stray or repeated reply): nothing to count */
	if (s_unavailable(b, line, reply))
		return PUSH_UNAVAILABLE;
	s_settle(b, line);
	b->failures = 0;
	if (b->cli->json)
		render_json_line(raw, reply);
	if (json_is_true(json_object_get(reply, "ok"))) {
		if (json_is_true(json_object_get(reply, "duplicate")))
			b->duplicate++;
		else
			b->accepted++;
		return 0;
	}
	const char *code, *message;
	cli_reply_error(reply, &code, &message);
	s_refuse(b, line, code, message);
	return 0;
}

/*
 * Waits up to the timeout for one reply, then takes whatever else has already arrived.
 * Returns 0, -ETIMEDOUT when the daemon stopped answering, or PUSH_UNAVAILABLE.
 */
static int s_collect(s_batch_t *b)
{
	long wait_ms = b->cli->timeout_ms;
	for (;;) {
		json_t *reply = NULL;
		char *raw = NULL;
		int rc = rpc_recv(b->rpc, wait_ms, &reply, &raw);
		if (rc == -ETIMEDOUT)
			return wait_ms > 0 ? rc : 0;
		if (rc == -EBADMSG)
			fprintf(stderr, "incidentctl: a reply that is not a JSON object was ignored\n");
		else if (rc < 0)
			return rc;
		else
			rc = s_account(b, reply, raw);
		json_decref(reply);
		free(raw);
		if (rc == PUSH_UNAVAILABLE)
			return rc;
		wait_ms = 0;
	}
}

/* Keeps the window full until the input ends, then waits for the last replies. */
static int s_pump(s_batch_t *b)
{
	while (!b->eof || b->ninflight > 0) {
		while (!b->eof && b->ninflight < PUSH_WINDOW) {
			int rc = s_send_next(b);
			if (rc < 0)
				return rc;
			s_progress(b, false);
		}
		if (b->ninflight > 0) {
			int rc = s_collect(b);
			if (rc < 0)
				return rc;
		}
		s_progress(b, false);
	}
	return 0;
}

/* Connects to endpoint b->at. Returns 0, or -EINVAL after reporting a bad endpoint. */
static int s_connect(s_batch_t *b)
{
	const char *endpoint = b->eps.item[b->at];
	b->rpc = rpc_new(endpoint, &b->creds);
	if (b->rpc != NULL)
		return 0;
	cli_usage_error("bad endpoint '%s': %s", endpoint, strerror(errno));
	b->bad_endpoint = true;
	return -EINVAL;
}

/* Reports that endpoint b->at did not answer in time (rc -ETIMEDOUT). */
static void s_report_timeout(s_batch_t *b, int rc)
{
	const char *why = rpc_failure(b->rpc, rc);
	if (b->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr,
		"incidentctl: no answer from %s within %ld ms (%zu requests unanswered)%s%s\n",
		b->eps.item[b->at], b->cli->timeout_ms, b->ninflight, why[0] ? ": " : "", why);
	b->drawn_ms = 0;
}

/* Moves on to the next endpoint, wrapping round, and sends it every request in flight. */
static int s_switch(s_batch_t *b)
{
	rpc_destroy(&b->rpc);
	b->at = (b->at + 1) % b->eps.count;
	int rc = s_connect(b);
	for (size_t i = 0; rc == 0 && i < b->ninflight; i++)
		rc = rpc_send(b->rpc, b->pending[i]);
	return rc;
}

/*
 * Pumps the file through the endpoints: on a timeout or "unavailable" goes to the next one,
 * until every endpoint has failed in a row. Returns as s_pump().
 */
static int s_run(s_batch_t *b)
{
	for (;;) {
		int rc = s_pump(b);
		if ((rc != -ETIMEDOUT && rc != PUSH_UNAVAILABLE) || b->eps.count == 1)
			return rc;
		if (rc == -ETIMEDOUT)
			s_report_timeout(b, rc);
		if (++b->failures >= b->eps.count)
			return rc;
		if ((rc = s_switch(b)) != 0)
			return rc;
	}
}

/*
 * Prints the summary (to stderr under --json, so that stdout holds nothing but replies) and
 * picks the exit status.
 */
static int s_finish(s_batch_t *b, int rc)
{
	if (b->progress) {
		s_progress(b, true);
		fputc('\n', stderr);
	}
	const char *endpoint = b->eps.item[b->at];
	bool every = b->eps.count > 1 && (rc == -ETIMEDOUT || rc == PUSH_UNAVAILABLE);
	const char *why = rc < 0 && !every && !b->bad_endpoint ? rpc_failure(b->rpc, rc) : "";
	char names[1024];
	if (every)
		fprintf(stderr, "incidentctl: no endpoint answered (tried %s; %zu requests "
				"unanswered)\n",
			endpoints_format(&b->eps, names, sizeof names), b->ninflight);
	else if (b->bad_endpoint)
		; /* the usage error is said */
	else if (rc == -ETIMEDOUT)
		fprintf(stderr,
			"incidentctl: no answer from %s within %ld ms (%zu requests unanswered)%s%s\n",
			endpoint, b->cli->timeout_ms, b->ninflight, why[0] ? ": " : "", why);
	else if (rc == -EACCES || rc == -EPROTO)
		cli_handshake_failure(b->cli, &b->creds, endpoint, rc, why);
	else if (rc < 0)
		fprintf(stderr, "incidentctl: %s\n", why);
	fprintf(b->cli->json ? stderr : stdout, "accepted %ld, duplicate %ld, refused %ld\n",
		b->accepted, b->duplicate, b->refused);
	if (b->bad_endpoint)
		return CLI_EXIT_USAGE;
	if (rc == -ETIMEDOUT || rc == PUSH_UNAVAILABLE)
		return CLI_EXIT_NO_ANSWER;
	return rc < 0 || b->refused > 0 ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
}

/* push -f FILE|-: every line of the file as one event request. */
static int s_push_file(const cli_t *cli, const char *path)
{
	s_batch_t b = {.cli = cli, .progress = isatty(STDERR_FILENO) != 0};
	int status = cli_endpoints(cli, &b.eps);
	if (status == CLI_EXIT_OK)
		status = cli_curve(cli, &b.creds);
	if (status != CLI_EXIT_OK)
		return status;
	bool is_stdin = strcmp(path, "-") == 0;
	b.in = is_stdin ? stdin : fopen(path, "r");
	if (b.in == NULL) {
		fprintf(stderr, "incidentctl: %s: %s\n", path, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	/* Counting first costs a read of the file, worth it only when someone watches. */
	b.total = b.progress ? s_count_lines(b.in) : -1;
	if (s_connect(&b) != 0)
		status = CLI_EXIT_USAGE;
	else
		status = s_finish(&b, s_run(&b));
	rpc_destroy(&b.rpc);
	for (size_t i = 0; i < b.ninflight; i++)
		json_decref(b.pending[i]);
	explicit_bzero(&b.creds, sizeof b.creds);
	free(b.buf);
	if (!is_stdin)
		fclose(b.in);
	return status;
}

/* The outcome of one event: "INC000000000001 open (duplicate)" and any breaches it revealed. */
static void s_render_event(const json_t *reply)
{
	char incident[RENDER_BUFSZ], status[RENDER_BUFSZ];
	printf("%s %s%s\n", render_value(reply, "incident", incident),
	       render_value(reply, "status", status),
	       json_is_true(json_object_get(reply, "duplicate")) ? " (duplicate)" : "");
	size_t i;
	const json_t *breach;
	json_array_foreach(json_object_get(reply, "breaches"), i, breach) {
		char sla[RENDER_BUFSZ], late[RENDER_BUFSZ];
		const char *detected = json_string_value(json_object_get(breach, "detected"));
		/* A user-first breach is not about lateness: say what happened. */
		if (detected && strcmp(detected, "user_first") == 0)
			printf("breach %s: a user reported it first\n", render_value(breach, "sla", sla));
		else
			printf("breach %s: late by %s\n", render_value(breach, "sla", sla),
			       render_value(breach, "late_by_ms", late));
	}
}

/* push with event flags: one "event" request (req stolen). */
static int s_push_one(const cli_t *cli, json_t *req)
{
	static const char *const required[] = {"provider", "event_id", "ref", "stage"};
	static const char *const required_flags[] = {"--provider", "--event-id", "--ref", "--stage"};
	/* Required here rather than in the flag table: with -f they must be absent instead. */
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
		if (json_object_get(req, required[i]) == NULL) {
			json_decref(req);
			return cli_usage_error("push: missing %s", required_flags[i]);
		}
	}
	json_t *reply = NULL;
	int status = cli_request(cli, req, &reply);
	if (reply != NULL && !cli->json)
		s_render_event(reply);
	json_decref(reply);
	return status;
}

int cmd_push(cli_t *cli, int argc, char **argv)
{
	const char *file = NULL;
	const arg_spec_t flags[] = {
		{"--provider", ARG_STRING, "provider", false, NULL, 0, 0, NULL},
		{"--event-id", ARG_STRING, "event_id", false, NULL, 0, 0, NULL},
		{"--ref", ARG_STRING, "ref", false, NULL, 0, 0, NULL},
		{"--stage", ARG_STRING, "stage", false, NULL, 0, 0, NULL},
		{"--at", ARG_TIME, "at", false, NULL, 0, 0, NULL},
		{"--category", ARG_INT, "category", false, NULL, 1, CLI_CATEGORY_MAX, NULL},
		{"--title", ARG_STRING, "title", false, NULL, 0, 0, NULL},
		{"--service", ARG_STRING, "service", false, NULL, 0, 0, NULL},
		{"--description", ARG_STRING, "description", false, NULL, 0, 0, NULL},
		{"--major", ARG_TRUE, "major", false, NULL, 0, 0, NULL},
		{"--source", ARG_CHOICE, "source", false, NULL, 0, 0, CLI_SOURCES},
		{"-f", ARG_STRING, NULL, false, &file, 0, 0, NULL},
		{0},
	};
	const args_def_t def = {.name = "push", .flags = flags};
	json_t *req = json_pack("{s:s}", "op", OP_EVENT);
	int status, npos;
	if (!args_parse(cli, argc, argv, &def, req, NULL, &npos, &status)) {
		json_decref(req);
		return status;
	}
	if (file == NULL)
		return s_push_one(cli, req);
	bool mixed = json_object_size(req) > 1;
	json_decref(req);
	if (mixed)
		return cli_usage_error("push: -f cannot be combined with event flags");
	return s_push_file(cli, file);
}
