/*
 * fuzz_ops: the daemon's own request path, from the frame to the reply, on a real LMDB store.
 *
 * At start-up the harness opens a store in a fresh directory under /dev/shm (or /tmp), removes
 * the directory at once (LMDB keeps its files through the open descriptors and the map, so
 * nothing is left behind however the run ends), and commits a few incidents, breaches and
 * problems through the same ops (s_seeds) so that get, list, breaches, report and the problem
 * ops reach their deep paths.
 *
 * An input is up to FRAMES_MAX request frames, one per line. A line that starts with "@p " is
 * sent by a provider key for csp-north, one with "@v " by a viewer key (the marker is not part
 * of the frame); any other by the anonymous operator of a daemon without CURVE. Each frame goes
 * the way the server takes it (daemon/edge/server.c s_dispatch): wire_event_scan() first, else
 * wire_request_decode() and ops_find(), then the role check (forbidden); a read op is answered through ops_read() on the
 * committed store; the write ops are applied in order in one write transaction through a
 * batch, as the writer's group commit does (daemon/edge/writer.c s_apply): batch_start(),
 * ops_write() for each, the deadlines they armed that are already due fired by breaches_fire(),
 * batch_finish(); then the read ops are answered again inside that transaction, so that they
 * see what the writes did; then the transaction is aborted and the incident cache cleared, so
 * the store is the same for every input. Every reply is built as the server builds it.
 *
 * Properties checked, besides the sanitizers':
 *  - no reply is `internal`, and no op returns a store error: the store works, so either
 *    would be a bug of the op;
 *  - a refused write leaves the batch as it was: no record added or removed in any database,
 *    no id or publish seq handed out, no incident marked changed, nothing to publish;
 *  - a reply to a provider key names no other provider (in any "provider" field at any depth);
 *  - the fast path agrees with the general one: when the scanner took an event, the whole batch
 *    is applied again with every frame decoded by jansson, and every reply is byte for byte
 *    the same.
 */
#include "tests/fuzz/fuzz.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/core/config.h"
#include "daemon/ops/ops.h"
#include "daemon/store/batch.h"
#include "daemon/store/breaches.h"
#include "daemon/store/incident_cache.h"
#include "daemon/store/schema.h"
#include "daemon/store/store.h"
#include "daemon/sys/tz.h"
#include "proto/rfc3339.h"
#include "proto/wire.h"
#include "proto/wire_scan.h"
#include "tests/unit/unit_tmpdir.h"

#define FRAMES_MAX 8
#define MAP_SIZE ((size_t)64 << 20)
/* Every input is applied at this moment: after the seeds, with some of their rules pending. */
#define NOW "2021-03-10T12:00:00Z"

/*
 * The shipped configuration, plus a hook that takes every topic so that each published message
 * also goes through the outbox.
 */
static const char s_extra_conf[] = "\n[hook fuzz]\nexec = /bin/true\n"
				   "topics = breach., incident., problem., hook.\n"
				   /* Working hours and a problem rule by category: more of rule.c. */
				   "[sla fuzz_working_hours]\nstart = acknowledged\nstop = workaround\n"
				   "calendar = working\ncategory.1 = 4wh\ncategory.2 = 90m\n"
				   "category.3 = 1wd\n"
				   "[problem_rule fuzz_category_2]\napplies = category.2\nstart = detected\n"
				   "within = 3d\n";

/* The seeds: each request committed in its own batch at its arrival time. */
static const struct {
	const char *received;
	const char *request;
} s_seeds[] = {
	{ "2021-03-01T09:01:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-north\",\"event_id\":\"n-1\",\"ref\":\"N-1\","
	  "\"stage\":\"detected\",\"at\":\"2021-03-01T09:00:00Z\",\"category\":1,"
	  "\"title\":\"Routing outage\",\"service\":\"core\",\"major\":true}" },
	{ "2021-03-01T10:00:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-north\",\"event_id\":\"n-2\",\"ref\":\"N-1\","
	  "\"stage\":\"notified\"}" },
	{ "2021-03-01T10:05:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-north\",\"event_id\":\"n-3\",\"ref\":\"N-1\","
	  "\"stage\":\"acknowledged\",\"source\":\"operator\"}" },
	{ "2021-03-01T10:30:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-north\",\"event_id\":\"n-4\",\"ref\":\"N-1\","
	  "\"stage\":\"parties_notified\",\"at\":\"2021-03-01T11:20:00+01:00\"}" },
	{ "2021-03-01T12:01:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-north\",\"event_id\":\"n-5\",\"ref\":\"N-1\","
	  "\"stage\":\"resolved\",\"at\":\"2021-03-01T12:00:00Z\"}" },
	{ "2021-02-20T08:00:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-south\",\"event_id\":\"s-1\",\"ref\":\"S-7\","
	  "\"stage\":\"detected\",\"at\":\"2021-02-20T08:00:00Z\",\"category\":3,"
	  "\"title\":\"Slow DNS\",\"service\":\"dns\",\"description\":\"resolvers time out\","
	  "\"source\":\"monitoring\"}" },
	{ "2021-02-20T08:30:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-south\",\"event_id\":\"s-2\",\"ref\":\"S-7\","
	  "\"stage\":\"notified\"}" },
	{ "2021-02-25T10:00:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-south\",\"event_id\":\"s-3\",\"ref\":\"S-7\","
	  "\"stage\":\"resolved\"}" },
	{ "2021-02-26T10:00:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-south\",\"event_id\":\"s-4\",\"ref\":\"S-7\","
	  "\"stage\":\"closed\"}" },
	{ "2021-03-05T07:00:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-north\",\"event_id\":\"o-1\",\"ref\":\"N-3\","
	  "\"stage\":\"detected\",\"category\":2,\"title\":\"Users report no dial tone\","
	  "\"source\":\"user\"}" },
	{ "2021-03-09T23:00:00Z",
	  "{\"op\":\"event\",\"provider\":\"csp-north\",\"event_id\":\"n-10\",\"ref\":\"N-2\","
	  "\"stage\":\"detected\",\"at\":\"2021-03-09T22:58:00Z\",\"category\":4,"
	  "\"title\":\"Flapping link\"}" },
	{ "2021-03-02T09:00:00Z",
	  "{\"op\":\"problem.create\",\"title\":\"BGP flaps\",\"description\":\"route reflector\"}" },
	{ "2021-03-02T09:10:00Z",
	  "{\"op\":\"problem.update\",\"problem\":\"PBI000000000001\",\"status\":\"known_error\","
	  "\"root_cause\":\"timer mismatch\",\"workaround\":\"pin routes\"}" },
	{ "2021-03-02T09:20:00Z",
	  "{\"op\":\"problem.link\",\"problem\":\"PBI000000000001\",\"incident\":\"INC000000000001\"}" },
	{ "2021-03-03T09:00:00Z", "{\"op\":\"problem.create\",\"title\":\"Unused\"}" },
};

/* The callers a frame may have: a provider key for one provider, a viewer key. */
static char *s_north[] = { "csp-north" };
static const op_caller_t s_provider = { .name = "fuzz-provider", .role = ROLE_PROVIDER,
					.providers = s_north, .n_providers = 1 };
static const op_caller_t s_viewer = { .name = "fuzz-viewer", .role = ROLE_VIEWER };

/* One frame of the input, as the server would hold it. */
typedef struct {
	const char *raw;
	size_t len;
	const op_caller_t *caller;
	const op_t *op;
	json_t *req;          /* decoded by jansson (for a scanned event too, for the second run) */
	bool scanned;         /* wire_event_scan() took it */
	wire_event_t ev;      /* what it yielded, its strings in strings */
	char *strings;
	const char *id_text;  /* the scanned id, a span of raw */
	size_t id_len;
	char *reply[2];       /* the reply of each run of the batch (writes) */
	uint64_t incident;    /* the incident of an accepted event, else 0 */
} s_frame_t;

static struct {
	char dir[64];
	config_t *cfg;
	store_t *store;
	incident_cache_t *cache;
	log_buf_t log;
	int64_t now;
	deadline_heap_t pending; /* the deadlines the seeds left pending after NOW */
	bool verbose;         /* $FUZZ_VERBOSE: print every reply (reading a reproducer) */
} s_ctx;

/*
 * A reply frame is a JSON object with a boolean "ok"; a refusal has an "error" with a code of
 * the contract and a message.
 */
static void s_check_reply(const char *reply)
{
	if (!reply)
		FUZZ_FAIL("no memory for a reply");
	json_t *r = json_loads(reply, 0, NULL), *ok = json_object_get(r, "ok");
	const char *code = json_string_value(json_object_get(json_object_get(r, "error"), "code"));
	const char *message =
		json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	if (!json_is_boolean(ok) ||
	    (json_is_false(ok) && (!code || wire_code_from_name(code) == WIRE_OK || !message ||
				   message[0] == '\0')))
		FUZZ_FAIL("a malformed reply: %s", reply);
	json_decref(r);
}

/* Done with a reply frame: checked, printed with $FUZZ_VERBOSE, then freed. */
/*
 * True when json, at any depth, has a "provider" that is not caller's (its one provider; not
 * op_caller_sees(), the code under test).
 */
static bool s_shows_other(const json_t *json, const op_caller_t *caller)
{
	const char *key;
	json_t *value;
	size_t i;
	if (json_is_array(json))
		json_array_foreach(json, i, value)
			if (s_shows_other(value, caller))
				return true;
	if (json_is_object(json))
		json_object_foreach((json_t *)json, key, value)
			if ((strcmp(key, "provider") == 0 && json_is_string(value) &&
			     strcmp(json_string_value(value), caller->providers[0]) != 0) ||
			    s_shows_other(value, caller))
				return true;
	return false;
}

/* A reply to a provider key names no other provider's incident, breach or figures. */
static void s_check_scope(const s_frame_t *f, const char *reply)
{
	if (f->caller->role != ROLE_PROVIDER)
		return;
	json_t *r = json_loads(reply, 0, NULL);
	bool other = s_shows_other(r, f->caller);
	json_decref(r);
	if (other)
		FUZZ_FAIL("a provider key for %s was shown another provider: %.*s -> %s",
			  f->caller->providers[0], (int)f->len, f->raw, reply);
}

static void s_reply_done(const char *what, const s_frame_t *f, char *reply)
{
	s_check_reply(reply);
	s_check_scope(f, reply);
	if (s_ctx.verbose)
		fprintf(stderr, "%-6s %.*s\n    -> %s\n", what, (int)f->len, f->raw, reply);
	free(reply);
}

static int64_t s_time(const char *text)
{
	int64_t ms;
	if (rfc3339_parse(text, &ms) != 0)
		FUZZ_FAIL("bad time %s", text);
	return ms;
}

/* The reply frame of a write's result, as the server's s_job_reply() builds it. */
static char *s_write_reply(const s_frame_t *f, bool scanned, batch_result_t *res)
{
	size_t len;
	const json_t *id = scanned ? NULL : json_object_get(f->req, "id");
	if (res->event.set)
		return ops_event_reply_text(&res->event, scanned ? f->id_text : NULL, f->id_len, id,
					    &len);
	if (res->fields) {
		char *reply = wire_reply_ok(res->fields, id, &len);
		res->fields = NULL; /* stolen */
		return reply;
	}
	json_t *parsed = scanned && f->id_text
				 ? json_loadb(f->id_text, f->id_len, JSON_DECODE_ANY, NULL)
				 : NULL;
	char *reply = wire_reply_error(&res->err, parsed ? parsed : id, &len);
	json_decref(parsed);
	return reply;
}

/* Serialises the messages a result would publish, as the server does after the commit. */
static void s_publish(const batch_result_t *res)
{
	for (const batch_pub_t *p = res->pubs; p; p = p->next) {
		char *text = p->body ? json_dumps(p->body, JSON_COMPACT) : NULL;
		if (!p->topic || !text)
			FUZZ_FAIL("a message without topic or body");
		free(text);
	}
}

/* What a refused request must leave as it was. */
typedef struct {
	size_t counts[STORE_N_DBS];
	uint64_t counters[BATCH_N_COUNTERS];
	bool loaded[BATCH_N_COUNTERS], dirty[BATCH_N_COUNTERS];
	uint64_t pub_seq;
	size_t n_dirty;
} s_mark_t;

static void s_mark(const batch_t *b, s_mark_t *m)
{
	for (int db = 0; db < STORE_N_DBS; db++)
		m->counts[db] = store_count(b->txn, (store_db_t)db);
	memcpy(m->counters, b->counters, sizeof m->counters);
	memcpy(m->loaded, b->loaded, sizeof m->loaded);
	memcpy(m->dirty, b->dirty, sizeof m->dirty);
	m->pub_seq = b->pub_seq;
	incident_cache_dirty(b->cache, &m->n_dirty);
}

static void s_check_unchanged(const batch_t *b, const s_mark_t *was, const s_frame_t *f)
{
	s_mark_t now;
	s_mark(b, &now);
	for (int db = 0; db < STORE_N_DBS; db++)
		if (now.counts[db] != was->counts[db])
			FUZZ_FAIL("refused %.*s: database %d went from %zu to %zu records", (int)f->len,
				  f->raw, db, was->counts[db], now.counts[db]);
	for (int c = 0; c < BATCH_N_COUNTERS; c++)
		if ((was->loaded[c] && now.counters[c] != was->counters[c]) ||
		    (now.dirty[c] && !was->dirty[c]))
			FUZZ_FAIL("refused %.*s: handed out a number of counter %d", (int)f->len,
				  f->raw, c);
	if (now.pub_seq != was->pub_seq || now.n_dirty != was->n_dirty)
		FUZZ_FAIL("refused %.*s: published or changed an incident", (int)f->len, f->raw);
}

/* The request a write frame makes: its scanned event on the fast path, else its json_t. */
static op_request_t s_request(const s_frame_t *f, bool scanned, int64_t now)
{
	return (op_request_t){ .json = scanned ? NULL : f->req, .event = scanned ? &f->ev : NULL,
			       .raw = f->raw, .raw_len = f->len, .received_ms = now,
			       .caller = f->caller };
}

/*
 * Applies one write frame in batch: its reply goes to f->reply[fast], its deadlines to due
 * (or, with arm, those not yet due to arm).
 */
static void s_write(batch_t *batch, s_frame_t *f, bool fast, int64_t now, deadline_heap_t *due,
		    deadline_heap_t *arm)
{
	bool scanned = fast && f->scanned;
	op_request_t req = s_request(f, scanned, now);
	batch_result_t res;
	s_mark_t mark;
	batch_result_init(&res);
	s_mark(batch, &mark);
	int rc = ops_write(f->op, batch, &req, &res);
	if (rc != 0)
		FUZZ_FAIL("%s returned %s for %.*s", f->op->name, store_strerror(rc), (int)f->len,
			  f->raw);
	if (res.err.code == WIRE_INTERNAL)
		FUZZ_FAIL("internal error: %s", res.err.message);
	if (!res.event.set && !res.fields)
		s_check_unchanged(batch, &mark, f);
	f->incident = res.event.set ? res.event.incident : 0;
	s_publish(&res);
	for (size_t k = 0; k < res.n_arm; k++)
		if (deadline_heap_push(arm && res.arm[k].due > now ? arm : due, res.arm[k]) != 0)
			abort();
	f->reply[fast] = s_write_reply(f, scanned, &res);
	s_check_reply(f->reply[fast]);
	s_check_scope(f, f->reply[fast]);
	if (s_ctx.verbose)
		fprintf(stderr, "%-6s %.*s\n    -> %s\n", scanned ? "scan" : "write", (int)f->len,
			f->raw, f->reply[fast]);
	batch_result_clear(&res);
}

/* A retry of an accepted event, later in the same batch, is a duplicate of the same incident. */
static void s_retry(batch_t *batch, const s_frame_t *f, bool fast, int64_t now)
{
	op_request_t req = s_request(f, fast && f->scanned, now);
	batch_result_t res;
	batch_result_init(&res);
	int rc = ops_write(f->op, batch, &req, &res);
	if (rc != 0 || !res.event.set || !res.event.duplicate || res.event.incident != f->incident)
		FUZZ_FAIL("the retry of %.*s (INC %llu) is not a duplicate: %s", (int)f->len, f->raw,
			  (unsigned long long)f->incident, res.event.set ? "other incident"
							      : res.err.message);
	batch_result_clear(&res);
}

/*
 * Time passes: each deadline of due comes up at its due time (or now, when already past), in
 * order, as the server's timer fires them in later batches with nothing else between. Returns
 * the time reached.
 */
static int64_t s_fire(batch_t *batch, deadline_heap_t *due, int64_t now)
{
	deadline_t d;
	while (deadline_heap_pop(due, &d)) {
		batch_result_t res;
		batch_result_init(&res);
		now = d.due > now ? d.due : now;
		int rc = breaches_fire(batch, &d, now, &res);
		if (rc != 0)
			FUZZ_FAIL("breaches_fire: %s", store_strerror(rc));
		if (s_ctx.verbose)
			fprintf(stderr, "fire   INC %llu rule %d at %lld: %s\n",
				(unsigned long long)d.incident, d.rule, (long long)now,
				res.pubs ? "breach" : "nothing");
		s_publish(&res);
		batch_result_clear(&res);
	}
	return now;
}

/* Answers a read frame inside the batch's transaction txn, at now. */
static void s_read_in(store_txn_t *txn, const s_frame_t *f, int64_t now)
{
	op_context_t ctx = { .cfg = s_ctx.cfg, .now_ms = now, .uptime_s = 1, .caller = f->caller };
	batch_result_t res;
	batch_result_init(&res);
	int rc = f->op->read(txn, &ctx, f->req, &res);
	if (rc != 0)
		FUZZ_FAIL("%s returned %s inside the batch", f->op->name, store_strerror(rc));
	if (res.err.code == WIRE_INTERNAL)
		FUZZ_FAIL("internal error: %s", res.err.message);
	size_t len;
	const json_t *id = json_object_get(f->req, "id");
	s_reply_done("batch", f,
		     res.fields ? wire_reply_ok(res.fields, id, &len) : wire_reply_error(&res.err, id, &len));
	res.fields = NULL; /* stolen */
	batch_result_clear(&res);
}

static bool s_is_write(const s_frame_t *f)
{
	return f->op && (f->op->flags & OP_WRITES);
}

/*
 * Applies the write frames in one batch (scanned events through the fast path when fast is
 * true, else through their json_t), retries each accepted event, then lets time pass (the
 * deadlines fire), then answers the read frames inside the same transaction, at the time
 * reached. Commits when commit is true (the seeds), else aborts. With arm (the seeds), only
 * deadlines already due fire, the others go to *arm; without (an input), every deadline the
 * batch armed and every one the seeds left pending fires.
 */
static void s_apply(s_frame_t *frames, size_t n, bool fast, bool commit, int64_t now,
		    deadline_heap_t *arm)
{
	store_txn_t txn;
	batch_t batch = { 0 };
	deadline_heap_t due;
	int rc = store_txn_begin(s_ctx.store, true, &txn);
	if (rc == 0)
		rc = batch_start(&batch, s_ctx.cfg, s_ctx.cache, &txn, now, true, &s_ctx.log);
	if (rc != 0)
		FUZZ_FAIL("cannot begin a batch: %s", store_strerror(rc));
	deadline_heap_init(&due);
	for (size_t i = 0; !arm && i < s_ctx.pending.n; i++)
		if (deadline_heap_push(&due, s_ctx.pending.items[i]) != 0)
			abort();
	for (size_t i = 0; i < n; i++)
		if (s_is_write(&frames[i]))
			s_write(&batch, &frames[i], fast, now, &due, arm);
	for (size_t i = 0; !commit && i < n; i++)
		if (s_is_write(&frames[i]) && frames[i].incident)
			s_retry(&batch, &frames[i], fast, now);
	int64_t later = s_fire(&batch, &due, now);
	deadline_heap_release(&due);
	if ((rc = batch_finish(&batch)) != 0)
		FUZZ_FAIL("batch_finish: %s", store_strerror(rc));
	for (size_t i = 0; i < n; i++)
		if (frames[i].op && !s_is_write(&frames[i]))
			s_read_in(&txn, &frames[i], later);
	if (commit) {
		if ((rc = store_txn_commit(&txn)) != 0)
			FUZZ_FAIL("commit: %s", store_strerror(rc));
	} else {
		store_txn_abort(&txn);
		incident_cache_clear(s_ctx.cache);
	}
	log_buf_discard(&s_ctx.log);
}

/* A read op on the committed store, as the server answers it. */
static void s_read(const s_frame_t *f, int64_t now)
{
	op_context_t ctx = { .cfg = s_ctx.cfg, .now_ms = now, .uptime_s = 1, .caller = f->caller };
	batch_result_t res;
	batch_result_init(&res);
	ops_read(f->op, s_ctx.store, &ctx, f->req, &res);
	if (res.err.code == WIRE_INTERNAL)
		FUZZ_FAIL("internal error: %s", res.err.message);
	size_t len;
	const json_t *id = json_object_get(f->req, "id");
	s_reply_done("read", f,
		     res.fields ? wire_reply_ok(res.fields, id, &len) : wire_reply_error(&res.err, id, &len));
	res.fields = NULL;
	batch_result_clear(&res);
}

/*
 * Takes one frame as the server does: scanned, or decoded and looked up. A frame that fails
 * there is answered with its error and not kept (f->op stays NULL).
 */
static void s_frame_take(s_frame_t *f)
{
	wire_error_t err;
	json_t *id = NULL;
	const char *name;
	size_t len;
	f->strings = malloc(f->len + WIRE_SCAN_SLACK);
	if (!f->strings)
		abort();
	f->scanned = wire_event_scan(f->raw, f->len, f->strings, &f->ev, &f->id_text,
				     &f->id_len) == 1;
	if (wire_request_decode(f->raw, f->len, &f->req, &name, &id, &err) != 0) {
		if (f->scanned)
			FUZZ_FAIL("scanned, but refused by jansson: %s", err.message);
		s_reply_done("frame", f, wire_reply_error(&err, id, &len));
		json_decref(id);
		return;
	}
	f->op = ops_find(name);
	if (!f->op) {
		wire_error_set(&err, WIRE_UNKNOWN_OP, "op: unknown operation \"%s\"", name);
		s_reply_done("frame", f, wire_reply_error(&err, json_object_get(f->req, "id"), &len));
	} else if (!(f->op->roles & OP_ROLE(f->caller->role))) {
		wire_error_set(&err, WIRE_FORBIDDEN, "op: %s is not allowed to a %s key",
			       f->op->name, config_role_name(f->caller->role));
		s_reply_done("frame", f, wire_reply_error(&err, json_object_get(f->req, "id"), &len));
		f->op = NULL;
	}
}

static void s_frame_release(s_frame_t *f)
{
	json_decref(f->req);
	free(f->strings);
	free(f->reply[0]);
	free(f->reply[1]);
}

/* Splits the input into frames, one per non-empty line. Returns how many. */
static size_t s_split(const uint8_t *data, size_t size, s_frame_t *frames)
{
	size_t n = 0;
	const char *p = (const char *)data, *end = p + size;
	while (p < end && n < FRAMES_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		const op_caller_t *caller = &op_anonymous;
		if (stop - p >= 3 && p[0] == '@' && (p[1] == 'p' || p[1] == 'v') && p[2] == ' ') {
			caller = p[1] == 'p' ? &s_provider : &s_viewer;
			p += 3;
		}
		if (stop > p)
			frames[n++] = (s_frame_t){ .raw = p, .len = (size_t)(stop - p),
						   .caller = caller };
		p = stop + 1;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	s_frame_t frames[FRAMES_MAX];
	size_t n = s_split(data, size, frames);
	bool writes = false, scanned = false;
	for (size_t i = 0; i < n; i++) {
		s_frame_take(&frames[i]);
		if (!frames[i].op)
			continue;
		if (frames[i].op->flags & OP_WRITES) {
			writes = true;
			scanned |= frames[i].scanned;
		} else {
			s_read(&frames[i], s_ctx.now);
		}
	}
	if (writes)
		s_apply(frames, n, true, false, s_ctx.now, NULL);
	if (scanned) {
		s_apply(frames, n, false, false, s_ctx.now, NULL);
		for (size_t i = 0; i < n; i++)
			if (frames[i].reply[1] && strcmp(frames[i].reply[0], frames[i].reply[1]) != 0)
				FUZZ_FAIL("fast path replies %s, general path %s", frames[i].reply[1],
					  frames[i].reply[0]);
	}
	for (size_t i = 0; i < n; i++)
		s_frame_release(&frames[i]);
	return 0;
}

/* ---- start-up: the configuration, the store and its seeds ---- */

static void s_open_store(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char err[256];
	snprintf(s_ctx.dir, sizeof s_ctx.dir, "%s/incidentd-fuzz-XXXXXX", base);
	if (!mkdtemp(s_ctx.dir))
		FUZZ_FAIL("mkdtemp %s: %s", s_ctx.dir, strerror(errno));
	s_ctx.store = store_open(s_ctx.dir, MAP_SIZE, &schema_current, err, sizeof err);
	/* The open descriptors and the map keep the files; the names can go now. */
	unit_rm_rf(s_ctx.dir);
	if (!s_ctx.store)
		FUZZ_FAIL("store_open: %s", err);
}

static void s_load_config(void)
{
	const char *base = config_default_text();
	size_t len = strlen(base);
	char *text = malloc(len + sizeof s_extra_conf);
	config_diag_t diag = { 0 };
	if (!text)
		abort();
	memcpy(text, base, len);
	memcpy(text + len, s_extra_conf, sizeof s_extra_conf);
	s_ctx.cfg = config_parse(text, "fuzz", NULL, &diag);
	if (!s_ctx.cfg)
		FUZZ_FAIL("config: %s", diag.n ? diag.lines[0] : "?");
	config_diag_release(&diag);
	free(text);
	if (tz_use(s_ctx.cfg->calendar.timezone) < 0)
		FUZZ_FAIL("time zone %s", s_ctx.cfg->calendar.timezone);
}

/*
 * Commits every seed at its arrival time, then the deadlines due by NOW, as at a start-up;
 * the deadlines after NOW stay in s_ctx.pending.
 */
static void s_seed(void)
{
	deadline_heap_t *armed = &s_ctx.pending;
	deadline_heap_init(armed);
	for (size_t i = 0; i < sizeof s_seeds / sizeof s_seeds[0]; i++) {
		s_frame_t f = { .raw = s_seeds[i].request, .len = strlen(s_seeds[i].request),
			       .caller = &op_anonymous };
		s_frame_take(&f);
		if (!f.op)
			FUZZ_FAIL("seed %zu refused", i);
		s_apply(&f, 1, true, true, s_time(s_seeds[i].received), armed);
		if (!f.reply[1] || strncmp(f.reply[1], "{\"ok\":true", 10) != 0)
			FUZZ_FAIL("seed %zu: %s", i, f.reply[1] ? f.reply[1] : "no reply");
		s_frame_release(&f);
	}
	/* The deadlines that passed by NOW fire in one batch, as at a start-up. */
	store_txn_t txn;
	batch_t batch;
	deadline_t d;
	int rc = store_txn_begin(s_ctx.store, true, &txn);
	if (rc == 0)
		rc = batch_start(&batch, s_ctx.cfg, s_ctx.cache, &txn, s_ctx.now, true, &s_ctx.log);
	while (rc == 0 && deadline_heap_peek(armed) && deadline_heap_peek(armed)->due <= s_ctx.now &&
	       deadline_heap_pop(armed, &d)) {
		batch_result_t res;
		batch_result_init(&res);
		rc = breaches_fire(&batch, &d, s_ctx.now, &res);
		batch_result_clear(&res);
	}
	if (rc == 0)
		rc = batch_finish(&batch);
	if (rc != 0 || (rc = store_txn_commit(&txn)) != 0)
		FUZZ_FAIL("seeding deadlines: %s", store_strerror(rc));
	incident_cache_clean(s_ctx.cache);
	log_buf_discard(&s_ctx.log);
}

static void s_close(void)
{
	incident_cache_destroy(&s_ctx.cache);
	store_destroy(&s_ctx.store);
	config_destroy(&s_ctx.cfg);
	log_buf_free(&s_ctx.log);
	deadline_heap_release(&s_ctx.pending);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A fixed hash seed: the same input takes the same path on every run. */
	json_object_seed(1);
	s_ctx.verbose = getenv("FUZZ_VERBOSE") != NULL;
	s_load_config();
	s_open_store();
	s_ctx.cache = incident_cache_new(32, FRAMES_MAX * 4);
	if (!s_ctx.cache)
		abort();
	s_ctx.now = s_time(NOW);
	s_seed();
	atexit(s_close);
	return 0;
}
