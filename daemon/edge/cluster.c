/*
 * cluster: cluster mode on NATS JetStream. See cluster.h.
 */
#include "daemon/edge/cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "daemon/edge/writer.h"
#include "daemon/ops/ops.h"
#include "daemon/sys/clock.h"
#include "daemon/sys/log.h"
#include "proto/jsonw.h"
#include "proto/wire.h"
#include "proto/wire_scan.h"

/*
 * How long a request waits for JetStream's acknowledgement of its entry, from when it came
 * (the time it waited for room included), before it is `unavailable`.
 */
#define CLUSTER_PUB_WAIT_MS 5000
/* libnats's own bound on appends in flight (ours, CLUSTER_IN_FLIGHT, is far lower). */
#define CLUSTER_PUB_MAX_PENDING 65536
/*
 * The most entries appended and not yet acknowledged. Requests that come meanwhile wait and
 * share the next entry: alone, a request has an entry to itself at once; under load, entries
 * carry many (the log's group commit: JetStream stores, replicates and delivers per entry).
 */
#define CLUSTER_IN_FLIGHT 4
/* The most requests, and bytes of them, one entry carries. */
#define CLUSTER_ENTRY_JOBS 256
#define CLUSTER_ENTRY_BYTES (256 * 1024)
/* How long cluster_settle() waits for its entry to be applied here. */
#define CLUSTER_SETTLE_WAIT_MS 10000
/* The ordered consumer's idle heartbeat (nanoseconds). */
#define CLUSTER_HEARTBEAT_NS INT64_C(1000000000)
/* Buckets of the table of requests waiting for their entry. */
#define CLUSTER_WAITING_BUCKETS 4096

struct cluster {
	const config_t *cfg;
	store_t *store;
	struct writer *writer;
	char subject[160];
	char bucket[96];
	char boot[24];            /* this run's id: a request number is unique within it */
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	natsSubscription *sub;
	uint64_t start_last;      /* the stream's last sequence when the node started */

	pthread_mutex_t lock;
	pthread_cond_t changed;   /* applied moved, or stopping */
	uint64_t next_request;    /* under lock */
	/* appending: jobs wait in outgoing for the publisher thread; under lock */
	pthread_t publisher;
	bool publisher_started;
	pthread_cond_t room;      /* outgoing has jobs and an entry may go, or stopping */
	bool publisher_waits;
	struct writer_job *outgoing, **outgoing_tail;
	int in_flight;            /* entries appended, not yet acknowledged */
	struct writer_job *waiting[CLUSTER_WAITING_BUCKETS]; /* by request_no, chained by next */
	atomic_uint_fast64_t applied;
	atomic_uint_fast64_t last;
	atomic_bool ready;
	atomic_bool stopping;

	/* the lease */
	pthread_t lease_thread;
	bool lease_started;
	cluster_leader_cb on_leader;
	void *on_leader_arg;
	atomic_bool leader;        /* this node holds the lease */
	atomic_int_fast64_t renewed_mono; /* when it was last created or renewed (monotonic ms) */
	uint64_t lease_rev;        /* the lease thread's */
	char leader_name[72];      /* under lock: who holds it, "" when nobody */
};

static void s_set_err(char *errbuf, size_t errlen, const char *what, natsStatus st)
{
	const char *last = nats_GetLastError(NULL);
	snprintf(errbuf, errlen, "cluster: %s: %s%s%s", what, natsStatus_GetText(st),
		 last && *last ? ": " : "", last ? last : "");
}

/* ---- the table of this node's requests waiting for their entry ---- */

static void s_wait_put(cluster_t *c, struct writer_job *job)
{
	size_t b = job->request_no % CLUSTER_WAITING_BUCKETS;
	job->next = c->waiting[b];
	c->waiting[b] = job;
}

/* Takes the job waiting under request number no out of the table; NULL when none. */
static struct writer_job *s_wait_take(cluster_t *c, uint64_t no)
{
	struct writer_job **p = &c->waiting[no % CLUSTER_WAITING_BUCKETS];
	for (; *p; p = &(*p)->next) {
		if ((*p)->request_no == no) {
			struct writer_job *job = *p;
			*p = job->next;
			job->next = NULL;
			return job;
		}
	}
	return NULL;
}

static void s_refuse(cluster_t *c, struct writer_job *job, const char *why)
{
	wire_error_set(&job->err, WIRE_UNAVAILABLE, "cluster: %s", why);
	writer_refuse(c->writer, job);
}

/* ---- appending ---- */

/*
 * An entry's data: a head of NUL-terminated fields, then the body. Plain fields rather than
 * NATS headers: every node parses every entry, and a header map costs an allocation per key
 * on both sides. Names never hold a NUL; a field left empty is "".
 */
typedef enum {
	E_VERSION,   /* "1" */
	E_KIND,      /* r request, d deadline, n notice, h hook outcomes */
	E_NODE,      /* the node that appended it */
	E_BOOT,      /* that node's run */
	E_REQUEST,   /* its request number in that run */
	E_AT,        /* ms since the epoch: the arrival, or the leader's clock */
	E_CALLER,    /* a request's caller, "" when anonymous */
	E_ROLE,      /* ... its role */
	E_PROVIDERS, /* ... a provider key's providers, comma-separated */
	E_TOPIC,     /* a notice's topic */
	E_FIELDS
} entry_field_t;

typedef struct {
	const char *f[E_FIELDS];
	const char *body;
	size_t body_len;
} entry_t;

/* Reads an entry's head; returns 0, or -1 when data is not an entry of this version. */
static int s_entry_parse(const char *data, size_t len, entry_t *e)
{
	const char *p = data, *end = data + len;
	for (int i = 0; i < E_FIELDS; i++) {
		const char *nul = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		if (!nul)
			return -1;
		e->f[i] = p;
		p = nul + 1;
	}
	e->body = p;
	e->body_len = (size_t)(end - p);
	return strcmp(e->f[E_VERSION], "1") == 0 ? 0 : -1;
}

/* Writes an entry (bytes, NULs included, in jsonw's growing buffer): its head, then its body. */
static void s_text_entry(jsonw_t *t, const char *const f[E_FIELDS], const char *body,
			 size_t body_len)
{
	for (int i = 0; i < E_FIELDS; i++)
		jsonw_raw(t, f[i], strlen(f[i]) + 1);
	if (body_len)
		jsonw_raw(t, body, body_len);
}

/*
 * A batch ("b") carries several requests' entries in its body, each after its length (4
 * bytes, big-endian). The next one from *pos: 1 read into e, 0 when that one is not a
 * readable request entry (applied as nothing), -1 at the end or where the body is cut short.
 */
static int s_batch_next(const entry_t *batch, size_t *pos, entry_t *e)
{
	if (batch->body_len - *pos < 4)
		return -1;
	const unsigned char *p = (const unsigned char *)batch->body + *pos;
	size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | (size_t)p[3];
	if (len > batch->body_len - *pos - 4)
		return -1;
	*pos += 4 + len;
	return s_entry_parse((const char *)p + 4, len, e) == 0 && strcmp(e->f[E_KIND], "r") == 0;
}

/* A provider key's providers, comma-separated, into buf (or "" when they do not fit). */
static const char *s_providers(const op_caller_t *caller, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < caller->n_providers; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? "," : "", caller->providers[i]);
		if (n < 0 || (size_t)n >= size - used)
			return "";
		used += (size_t)n;
	}
	return buf;
}

/* Writes the entry of a job to t; msg_id set for a deadline. */
static void s_entry(cluster_t *c, struct writer_job *job, jsonw_t *t, char *msg_id, size_t id_len)
{
	char *body = NULL;
	size_t body_len = 0;
	const char *f[E_FIELDS] = { "1", "r", c->cfg->cluster.node, c->boot, "", "", "", "", "", "" };
	char request[24], at[24], providers[4096];
	if (job->notice_topic) {
		f[E_KIND] = "n";
		f[E_TOPIC] = job->notice_topic;
		body = json_dumps(job->notice, JSON_COMPACT);
		body_len = body ? strlen(body) : 0;
	} else if (!job->op) {
		f[E_KIND] = "d";
		body = malloc(128);
		if (body)
			body_len = (size_t)snprintf(body, 128, "{\"incident\":%" PRIu64 ",\"rule\":%d,"
							       "\"due\":%" PRId64 "}",
						    job->deadline.incident, job->deadline.rule,
						    job->deadline.due);
		/* Two leaders for a moment append one deadline twice: JetStream keeps one. */
		snprintf(msg_id, id_len, "d:%" PRIu64 ":%d:%" PRId64, job->deadline.incident,
			 job->deadline.rule, job->deadline.due);
	} else {
		f[E_CALLER] = job->caller.name ? job->caller.name : "";
		f[E_ROLE] = config_role_name(job->caller.role);
		f[E_PROVIDERS] = s_providers(&job->caller, providers, sizeof providers);
	}
	if (!job->op && !body) {
		jsonw_discard(t);
		t->failed = true;
		return;
	}
	snprintf(request, sizeof request, "%" PRIu64, job->request_no);
	snprintf(at, sizeof at, "%" PRId64, job->op ? job->received_ms : clock_now_ms());
	f[E_REQUEST] = request;
	f[E_AT] = at;
	if (job->op)
		s_text_entry(t, f, job->raw, job->raw_len);
	else
		s_text_entry(t, f, body, body_len);
	free(body);
}

/* A request (of a client), which may share an entry with others. */
static bool s_batchable(const struct writer_job *job)
{
	return job->op && !job->notice_topic;
}

/*
 * The most bytes a request's entry takes in a batch: its length, a head of at most 160 bytes
 * besides the caller's names, and the frame.
 */
static size_t s_entry_size(const struct writer_job *job)
{
	size_t n = job->raw_len + 160 + (job->caller.name ? strlen(job->caller.name) : 0);
	for (size_t i = 0; i < job->caller.n_providers; i++)
		n += strlen(job->caller.providers[i]) + 1;
	return n;
}

/* Takes the next job number no waits for out of the table and answers it `unavailable`. */
static void s_refuse_waiting(cluster_t *c, uint64_t no, const char *why)
{
	pthread_mutex_lock(&c->lock);
	struct writer_job *job = s_wait_take(c, no);
	pthread_mutex_unlock(&c->lock);
	if (job)
		s_refuse(c, job, why);
}

/*
 * Appends jobs (a list of n, counted in flight already) as one entry: a job alone as its own
 * entry, requests together as a batch.
 */
static void s_publish(cluster_t *c, struct writer_job *jobs, size_t n, int64_t max_wait)
{
	jsonw_t t;
	jsonw_init(&t);
	char msg_id[96] = "";
	if (n == 1) {
		s_entry(c, jobs, &t, msg_id, sizeof msg_id);
	} else {
		const char *f[E_FIELDS] = { "1", "b", c->cfg->cluster.node, c->boot,
					    "", "", "", "", "", "" };
		s_text_entry(&t, f, NULL, 0);
		for (struct writer_job *job = jobs; job; job = job->next) {
			size_t at = t.len;
			jsonw_raw(&t, "\0\0\0\0", 4);
			s_entry(c, job, &t, msg_id, sizeof msg_id);
			if (t.failed)
				break;
			size_t len = t.len - at - 4;
			unsigned char *p = (unsigned char *)t.buf + at;
			p[0] = (unsigned char)(len >> 24);
			p[1] = (unsigned char)(len >> 16);
			p[2] = (unsigned char)(len >> 8);
			p[3] = (unsigned char)len;
		}
	}
	/* A job may be applied (and freed) as soon as its entry is out: its text is written. */
	uint64_t nos[CLUSTER_ENTRY_JOBS];
	size_t k = 0;
	pthread_mutex_lock(&c->lock);
	for (struct writer_job *job = jobs, *next; job; job = next) {
		next = job->next;
		nos[k++] = job->request_no;
		s_wait_put(c, job);
	}
	pthread_mutex_unlock(&c->lock);
	natsMsg *msg = NULL;
	size_t len;
	char *text = jsonw_finish(&t, &len);
	natsStatus st = text ? natsMsg_Create(&msg, c->subject, NULL, text, (int)len)
			     : NATS_NO_MEMORY;
	free(text);
	if (st == NATS_OK) {
		jsPubOptions opts;
		jsPubOptions_Init(&opts);
		opts.MaxWait = max_wait;
		if (msg_id[0])
			opts.MsgId = msg_id;
		st = js_PublishMsgAsync(c->js, &msg, &opts);
		natsMsg_Destroy(msg); /* NULL when the library took it */
	}
	if (st == NATS_OK)
		return;
	for (size_t i = 0; i < k; i++)
		s_refuse_waiting(c, nos[i], natsStatus_GetText(st));
	pthread_mutex_lock(&c->lock);
	c->in_flight--;
	pthread_mutex_unlock(&c->lock);
}

/* Takes the jobs of outgoing up to last (under lock). */
static struct writer_job *s_outgoing_take(cluster_t *c, struct writer_job *last)
{
	struct writer_job *first = c->outgoing;
	c->outgoing = last->next;
	if (!c->outgoing)
		c->outgoing_tail = &c->outgoing;
	last->next = NULL;
	return first;
}

/*
 * The requests at the head of outgoing that waited CLUSTER_PUB_WAIT_MS for room (the log
 * acknowledges nothing: no quorum) are answered `unavailable`, as a write whose entry timed
 * out is. Called and returns under lock; true when it answered any.
 */
static bool s_outgoing_expire(cluster_t *c, int64_t now)
{
	struct writer_job *last = NULL;
	for (struct writer_job *j = c->outgoing; j && now - j->appended_ms >= CLUSTER_PUB_WAIT_MS;
	     j = j->next)
		last = j;
	if (!last)
		return false;
	struct writer_job *expired = s_outgoing_take(c, last);
	pthread_mutex_unlock(&c->lock);
	char why[80];
	snprintf(why, sizeof why, "the log acknowledged no write for %d s",
		 CLUSTER_PUB_WAIT_MS / 1000);
	log_warnx("cluster: %s", why);
	for (struct writer_job *job = expired, *next; job; job = next) {
		next = job->next;
		s_refuse(c, job, why);
	}
	pthread_mutex_lock(&c->lock);
	return true;
}

/*
 * The publisher thread: takes what waits in outgoing while fewer than CLUSTER_IN_FLIGHT
 * entries are unacknowledged; consecutive requests go as one entry, anything else alone (a
 * deadline has its own message id), in the order they came.
 */
static void *s_publisher_main(void *arg)
{
	cluster_t *c = arg;
	pthread_mutex_lock(&c->lock);
	while (!atomic_load(&c->stopping)) {
		if (!c->outgoing) {
			c->publisher_waits = true;
			pthread_cond_wait(&c->room, &c->lock);
			c->publisher_waits = false;
			continue;
		}
		int64_t now = clock_mono_ms();
		if (s_outgoing_expire(c, now))
			continue;
		if (c->in_flight >= CLUSTER_IN_FLIGHT) {
			/* Until an acknowledgement makes room, or the oldest request's wait is over. */
			struct timespec until = clock_timespec_in(
				CLOCK_MONOTONIC, c->outgoing->appended_ms + CLUSTER_PUB_WAIT_MS - now);
			c->publisher_waits = true;
			pthread_cond_timedwait(&c->room, &c->lock, &until);
			c->publisher_waits = false;
			continue;
		}
		struct writer_job *first = c->outgoing, *last = first;
		size_t n = 1, bytes = s_entry_size(first);
		while (s_batchable(first) && last->next && s_batchable(last->next) &&
		       n < CLUSTER_ENTRY_JOBS &&
		       bytes + s_entry_size(last->next) <= CLUSTER_ENTRY_BYTES) {
			last = last->next;
			bytes += s_entry_size(last);
			n++;
		}
		s_outgoing_take(c, last);
		c->in_flight++;
		pthread_mutex_unlock(&c->lock);
		/* What is left of the oldest request's wait (at least 1 ms). */
		s_publish(c, first, n, CLUSTER_PUB_WAIT_MS - (now - first->appended_ms));
		pthread_mutex_lock(&c->lock);
	}
	struct writer_job *left = c->outgoing;
	c->outgoing = NULL;
	c->outgoing_tail = &c->outgoing;
	pthread_mutex_unlock(&c->lock);
	for (struct writer_job *job = left, *next; job; job = next) {
		next = job->next;
		s_refuse(c, job, "the node is stopping");
	}
	return NULL;
}

void cluster_append(cluster_t *c, struct writer_job *job)
{
	/* A deadline is the leader's to raise; a follower's copy is dropped. */
	if (!job->op && !job->notice_topic && !cluster_is_leader(c)) {
		job->remote = true;
		job->skip = true;
		writer_refuse(c->writer, job);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->stopping) || !c->publisher_started) {
		pthread_mutex_unlock(&c->lock);
		s_refuse(c, job, "the node is stopping");
		return;
	}
	job->request_no = ++c->next_request;
	job->appended_ms = clock_mono_ms();
	job->next = NULL;
	*c->outgoing_tail = job;
	c->outgoing_tail = &job->next;
	if (c->publisher_waits && c->in_flight < CLUSTER_IN_FLIGHT)
		pthread_cond_signal(&c->room);
	pthread_mutex_unlock(&c->lock);
}

/*
 * An append JetStream did not acknowledge (no quorum, timeout, connection lost): the requests
 * waiting for it are answered `unavailable`. Its entry may still be stored and applied later;
 * a client's retry with the same event_id is then a duplicate.
 */
static void s_pub_failed(cluster_t *c, natsMsg *msg, const jsPubAckErr *pae)
{
	entry_t e, sub;
	if (s_entry_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), &e) != 0 ||
	    strcmp(e.f[E_NODE], c->cfg->cluster.node) != 0 || strcmp(e.f[E_BOOT], c->boot) != 0)
		return;
	char why[160];
	/* libnats's text often repeats the status's ("Timeout: Timeout"): said once. */
	const char *status = natsStatus_GetText(pae->Err), *text = pae->ErrText;
	bool more = text && *text && strcmp(text, status) != 0;
	snprintf(why, sizeof why, "the log did not acknowledge the write (%s%s%s)", status,
		 more ? ": " : "", more ? text : "");
	if (strcmp(e.f[E_KIND], "d") != 0)
		log_warnx("%s", why);
	if (strcmp(e.f[E_KIND], "b") != 0) {
		s_refuse_waiting(c, strtoull(e.f[E_REQUEST], NULL, 10), why);
		return;
	}
	size_t pos = 0;
	int got;
	while ((got = s_batch_next(&e, &pos, &sub)) >= 0)
		if (got)
			s_refuse_waiting(c, strtoull(sub.f[E_REQUEST], NULL, 10), why);
}

/* libnats's: JetStream's answer to an append (one per entry); room for the next entry. */
static void s_on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	(void)js;
	cluster_t *c = closure;
	if (!pa && pae)
		s_pub_failed(c, msg, pae);
	natsMsg_Destroy(msg);
	pthread_mutex_lock(&c->lock);
	if (c->in_flight > 0)
		c->in_flight--;
	if (c->publisher_waits && c->outgoing)
		pthread_cond_signal(&c->room);
	pthread_mutex_unlock(&c->lock);
}

/* ---- applying: entries become writer jobs in stream order ---- */

/* The caller an entry names, its strings in one allocation owned by job. */
static int s_remote_caller(const entry_t *e, struct writer_job *job)
{
	const char *name = e->f[E_CALLER], *providers = e->f[E_PROVIDERS];
	job->caller = op_anonymous;
	for (int r = 0; r < ROLE_N_ROLES; r++)
		if (strcmp(e->f[E_ROLE], config_role_name((config_role_t)r)) == 0)
			job->caller.role = (config_role_t)r;
	size_t n = *providers ? 1 : 0, len = strlen(name) + strlen(providers) + 2;
	for (const char *p = providers; *p; p++)
		n += *p == ',';
	char *block = malloc((n + 1) * sizeof(char *) + len);
	if (!block)
		return -ENOMEM;
	char **list = (char **)(void *)block, *text = block + (n + 1) * sizeof(char *);
	job->owned = block;
	if (*name) {
		job->caller.name = strcpy(text, name);
		text += strlen(name) + 1;
	}
	size_t i = 0;
	if (*providers) {
		strcpy(text, providers);
		for (char *save = NULL, *p = strtok_r(text, ",", &save); p && i < n;
		     p = strtok_r(NULL, ",", &save))
			list[i++] = p;
	}
	list[i] = NULL;
	job->caller.providers = i ? list : NULL;
	job->caller.n_providers = i;
	return 0;
}

/* A request entry of another node (or of an earlier run of this one): applied, not answered. */
static struct writer_job *s_remote_request(const entry_t *e)
{
	const char *data = e->body;
	size_t len = e->body_len;
	struct writer_job *job = malloc(sizeof *job + len + len + WIRE_SCAN_SLACK);
	if (!job)
		return NULL;
	*job = (struct writer_job){ .raw = (char *)(job + 1), .raw_len = len, .remote = true };
	memcpy(job->raw, data, len);
	if (s_remote_caller(e, job) != 0) {
		free(job);
		return NULL;
	}
	job->op = ops_event();
	job->scanned = wire_event_scan(job->raw, len, job->raw + len, &job->ev, &job->id_text,
				       &job->id_len) == 1;
	if (job->scanned)
		return job;
	json_t *req = NULL, *id = NULL;
	const char *name;
	wire_error_t err;
	job->op = NULL;
	if (wire_request_decode(job->raw, len, &req, &name, &id, &err) == 0) {
		const op_t *op = ops_find(name);
		if (op && (op->flags & OP_WRITES)) {
			job->op = op;
			job->request = req;
			req = NULL;
		}
	}
	json_decref(req);
	json_decref(id);
	job->id_text = NULL;
	job->id_len = 0;
	if (!job->op)
		job->skip = true; /* what this node would have refused before appending */
	return job;
}

/* A deadline entry: {"incident", "rule", "due"}. */
static struct writer_job *s_deadline_job(const entry_t *e)
{
	struct writer_job *job = calloc(1, sizeof *job);
	if (!job)
		return NULL;
	job->remote = true;
	json_t *d = json_loadb(e->body, e->body_len, 0, NULL);
	json_int_t incident = 0, rule = -1, due = 0;
	if (!d || json_unpack(d, "{s:I, s:I, s:I}", "incident", &incident, "rule", &rule, "due",
			      &due) != 0 || incident <= 0 || rule < 0)
		job->skip = true;
	json_decref(d);
	job->deadline = (deadline_t){ .due = due, .incident = (uint64_t)incident, .rule = (int)rule };
	return job;
}

static struct writer_job *s_notice_job(const entry_t *e)
{
	struct writer_job *job = calloc(1, sizeof *job);
	if (!job)
		return NULL;
	job->remote = true;
	job->notice = json_loadb(e->body, e->body_len, 0, NULL);
	job->notice_topic = *e->f[E_TOPIC] ? strdup(e->f[E_TOPIC]) : NULL;
	if (!job->notice || !job->notice_topic) {
		free(job->notice_topic);
		job->notice_topic = NULL;
		json_decref(job->notice);
		job->notice = NULL;
		job->skip = true;
	}
	return job;
}

/* Hook outcomes: {"hook": NAME, "o": [[delivery, due, remove, attempts, retry_at], ...]}. */
static struct writer_job *s_settled_job(const entry_t *e)
{
	struct writer_job *job = calloc(1, sizeof *job);
	if (!job)
		return NULL;
	job->remote = true;
	json_t *d = json_loadb(e->body, e->body_len, 0, NULL);
	const char *hook = NULL;
	json_t *list = NULL;
	if (d && json_unpack(d, "{s:s, s:o}", "hook", &hook, "o", &list) == 0 &&
	    json_is_array(list) && json_array_size(list) > 0) {
		size_t n = json_array_size(list);
		job->settled = calloc(n, sizeof *job->settled);
		job->hook = strdup(hook);
		for (size_t i = 0; job->settled && job->hook && i < n; i++) {
			json_int_t delivery, due, remove, attempts, retry_at;
			if (json_unpack(json_array_get(list, i), "[IIIII]", &delivery, &due, &remove,
					&attempts, &retry_at) != 0)
				continue;
			job->settled[job->n_settled++] = (alerts_settled_t){
				(uint64_t)delivery, due, remove != 0, (int)attempts, retry_at };
		}
	}
	json_decref(d);
	if (!job->hook || job->n_settled == 0) {
		free(job->hook);
		job->hook = NULL;
		job->skip = true;
	}
	return job;
}

/* The stream sequence of a delivered entry and what remains after it. */
static uint64_t s_seq(natsMsg *msg, uint64_t *pending)
{
	jsMsgMetaData *meta = NULL;
	*pending = 0;
	if (natsMsg_GetMetaData(&meta, msg) != NATS_OK)
		return 0;
	uint64_t seq = meta->Sequence.Stream;
	*pending = meta->NumPending;
	jsMsgMetaData_Destroy(meta);
	return seq;
}

/*
 * The job that applies one entry (a request, a deadline, a notice, hook outcomes; e NULL when
 * unreadable): this node's waiting job when the entry is its own from this run (its reply goes
 * to its client), else a remote one. NULL when out of memory.
 */
static struct writer_job *s_entry_job(cluster_t *c, const entry_t *e)
{
	struct writer_job *job = NULL;
	if (e && strcmp(e->f[E_NODE], c->cfg->cluster.node) == 0 &&
	    strcmp(e->f[E_BOOT], c->boot) == 0) {
		pthread_mutex_lock(&c->lock);
		job = s_wait_take(c, strtoull(e->f[E_REQUEST], NULL, 10));
		pthread_mutex_unlock(&c->lock);
	}
	if (!job && e) {
		const char *kind = e->f[E_KIND];
		if (strcmp(kind, "r") == 0)
			job = s_remote_request(e);
		else if (strcmp(kind, "d") == 0)
			job = s_deadline_job(e);
		else if (strcmp(kind, "n") == 0)
			job = s_notice_job(e);
		else if (strcmp(kind, "h") == 0)
			job = s_settled_job(e);
	}
	if (!job && (job = calloc(1, sizeof *job)) != NULL)
		job->skip = job->remote = true; /* unknown or unreadable: applied as nothing */
	if (job)
		job->received_ms = e ? strtoll(e->f[E_AT], NULL, 10) : 0;
	return job;
}

/*
 * The jobs of a batch's requests, in order (at most CLUSTER_ENTRY_JOBS: what a node appends;
 * any more are applied as nothing). NULL when it carries none or out of memory (*oom set).
 */
static struct writer_job *s_batch_jobs(cluster_t *c, const entry_t *batch, bool *oom)
{
	struct writer_job *jobs = NULL, **tail = &jobs;
	entry_t sub;
	size_t pos = 0;
	uint32_t part = 0;
	int got;
	while (part < CLUSTER_ENTRY_JOBS && (got = s_batch_next(batch, &pos, &sub)) >= 0) {
		struct writer_job *job = s_entry_job(c, got ? &sub : NULL);
		if (!job) {
			*oom = true;
			break;
		}
		job->entry_part = part++;
		*tail = job;
		tail = &job->next;
	}
	return jobs;
}

/* libnats's delivery thread: each entry, in stream order, to the writer. */
static void s_on_entry(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)nc;
	(void)sub;
	cluster_t *c = closure;
	uint64_t pending, seq = s_seq(msg, &pending);
	if (seq == 0 || atomic_load(&c->stopping)) {
		natsMsg_Destroy(msg);
		return;
	}
	uint64_t last = atomic_load(&c->last);
	if (seq + pending > last)
		atomic_store(&c->last, seq + pending);
	entry_t e;
	bool readable = s_entry_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
				      &e) == 0;
	bool oom = false;
	struct writer_job *jobs = readable && strcmp(e.f[E_KIND], "b") == 0
					  ? s_batch_jobs(c, &e, &oom) : NULL;
	if (!jobs && !oom)
		jobs = s_entry_job(c, readable ? &e : NULL);
	natsMsg_Destroy(msg);
	if (!jobs) {
		log_warnx("cluster: out of memory applying entry %" PRIu64, seq);
		return;
	}
	if (oom)
		log_warnx("cluster: out of memory applying entry %" PRIu64 ": applied in part", seq);
	struct writer_job *job = jobs;
	for (;; job = job->next) {
		job->stream_seq = seq;
		if (!job->next)
			break;
	}
	job->entry_end = true;
	writer_apply(c->writer, jobs);
}

void cluster_applied(cluster_t *c, uint64_t seq)
{
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->applied, seq);
	if (seq > atomic_load(&c->last))
		atomic_store(&c->last, seq);
	if (!atomic_load(&c->ready) && seq >= c->start_last) {
		atomic_store(&c->ready, true);
		log_info("cluster: caught up with the log at %" PRIu64 "; ready", seq);
	}
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

/* ---- hook outcomes ---- */

int cluster_settle(cluster_t *c, const char *hook, const alerts_settled_t *settled, size_t n)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < n; i++)
		json_array_append_new(list, json_pack("[IIIII]", (json_int_t)settled[i].delivery,
						      (json_int_t)settled[i].due,
						      (json_int_t)settled[i].remove,
						      (json_int_t)settled[i].attempts,
						      (json_int_t)settled[i].retry_at));
	json_t *body = list ? json_pack("{s:s, s:o}", "hook", hook, "o", list) : NULL;
	char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!data)
		return -1;
	char at[24];
	snprintf(at, sizeof at, "%" PRId64, clock_now_ms());
	const char *f[E_FIELDS] = { "1", "h", c->cfg->cluster.node, c->boot, "0", at, "", "", "", "" };
	jsonw_t t;
	jsonw_init(&t);
	s_text_entry(&t, f, data, strlen(data));
	free(data);
	size_t len;
	char *text = jsonw_finish(&t, &len);
	natsMsg *msg = NULL;
	natsStatus st = text ? natsMsg_Create(&msg, c->subject, NULL, text, (int)len)
			     : NATS_NO_MEMORY;
	free(text);
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	jsPubOptions opts;
	jsPubOptions_Init(&opts);
	opts.MaxWait = CLUSTER_PUB_WAIT_MS;
	if (st == NATS_OK)
		st = js_PublishMsg(&ack, c->js, msg, &opts, &jerr);
	natsMsg_Destroy(msg);
	if (st != NATS_OK) {
		log_warnx("cluster: hook %s: recording %zu outcome(s): %s", hook, n,
			  natsStatus_GetText(st));
		return -1;
	}
	uint64_t seq = ack->Sequence;
	jsPubAck_Destroy(ack);
	/* Until it is applied here the outbox still shows the deliveries as due. */
	struct timespec until = clock_timespec_in(CLOCK_MONOTONIC, CLUSTER_SETTLE_WAIT_MS);
	int rc = 0;
	pthread_mutex_lock(&c->lock);
	while (atomic_load(&c->applied) < seq && !atomic_load(&c->stopping) && rc == 0)
		rc = pthread_cond_timedwait(&c->changed, &c->lock, &until);
	bool done = atomic_load(&c->applied) >= seq;
	pthread_mutex_unlock(&c->lock);
	return done ? 0 : -1;
}

/* ---- the lease ---- */

bool cluster_is_leader(const cluster_t *c)
{
	return atomic_load(&c->leader) &&
	       clock_mono_ms() - atomic_load(&c->renewed_mono) < c->cfg->cluster.lease_ms;
}

bool cluster_ready(const cluster_t *c)
{
	return atomic_load(&c->ready);
}

static void s_leader_name(cluster_t *c, const char *name)
{
	pthread_mutex_lock(&c->lock);
	snprintf(c->leader_name, sizeof c->leader_name, "%s", name ? name : "");
	pthread_mutex_unlock(&c->lock);
}

static void s_leadership(cluster_t *c, bool leader)
{
	if (atomic_exchange(&c->leader, leader) == leader)
		return;
	log_info("cluster: node %s %s the leader lease", c->cfg->cluster.node,
		 leader ? "holds" : "lost");
	if (c->on_leader)
		c->on_leader(leader, c->on_leader_arg);
}

/* One turn of the lease: renew it, or take it when nobody holds it. */
static void s_lease_turn(cluster_t *c)
{
	const char *node = c->cfg->cluster.node;
	uint64_t rev = 0;
	if (atomic_load(&c->leader)) {
		/* A renewal that comes after the lease ran out may find it taken: then it is lost. */
		if (kvStore_UpdateString(&rev, c->kv, "leader", node, c->lease_rev) == NATS_OK) {
			c->lease_rev = rev;
			atomic_store(&c->renewed_mono, clock_mono_ms());
			s_leader_name(c, node);
			return;
		}
		s_leadership(c, false);
	}
	int64_t before = clock_mono_ms();
	if (kvStore_CreateString(&rev, c->kv, "leader", node) == NATS_OK) {
		c->lease_rev = rev;
		atomic_store(&c->renewed_mono, before);
		s_leader_name(c, node);
		s_leadership(c, true);
		return;
	}
	/*
	 * Someone holds it (ours from before a restart too: it expires rather than be guessed
	 * at). A get may be answered by a replica a moment behind (the bucket allows direct
	 * gets): one that finds nothing leaves the name as it was rather than say "nobody".
	 */
	kvEntry *e = NULL;
	if (kvStore_Get(&e, c->kv, "leader") == NATS_OK && kvEntry_Operation(e) == kvOp_Put)
		s_leader_name(c, kvEntry_ValueString(e));
	kvEntry_Destroy(e);
}

static void *s_lease_main(void *arg)
{
	cluster_t *c = arg;
	int64_t period = c->cfg->cluster.lease_ms / 4;
	if (period < 100)
		period = 100;
	pthread_mutex_lock(&c->lock);
	while (!atomic_load(&c->stopping)) {
		pthread_mutex_unlock(&c->lock);
		s_lease_turn(c);
		pthread_mutex_lock(&c->lock);
		struct timespec until = clock_timespec_in(CLOCK_MONOTONIC, period);
		if (!atomic_load(&c->stopping))
			pthread_cond_timedwait(&c->changed, &c->lock, &until);
	}
	pthread_mutex_unlock(&c->lock);
	/* Give the lease up, so that another node takes over at once rather than after it. */
	if (atomic_load(&c->leader)) {
		s_leadership(c, false);
		kvStore_Delete(c->kv, "leader");
	}
	return NULL;
}

/* ---- start and stop ---- */

static natsStatus s_connect(cluster_t *c)
{
	natsOptions *opts = NULL;
	char *urls = strdup(c->cfg->cluster.nats);
	const char *list[16];
	int n = 0;
	for (char *save = NULL, *u = urls ? strtok_r(urls, ", \t", &save) : NULL; u && n < 16;
	     u = strtok_r(NULL, ", \t", &save))
		list[n++] = u;
	natsStatus st = urls ? natsOptions_Create(&opts) : NATS_NO_MEMORY;
	if (st == NATS_OK)
		st = natsOptions_SetServers(opts, list, n);
	if (st == NATS_OK)
		st = natsOptions_SetName(opts, c->cfg->cluster.node);
	if (st == NATS_OK)
		st = natsOptions_SetMaxReconnect(opts, -1);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectWait(opts, 250);
	if (st == NATS_OK)
		st = natsOptions_SetRetryOnFailedConnect(opts, false, NULL, NULL);
	if (st == NATS_OK)
		st = natsOptions_SetTimeout(opts, 2000);
	if (st == NATS_OK)
		st = natsConnection_Connect(&c->nc, opts);
	natsOptions_Destroy(opts);
	free(urls);
	return st;
}

static natsStatus s_stream(cluster_t *c, char *errbuf, size_t errlen)
{
	jsStreamConfig sc;
	jsStreamConfig_Init(&sc);
	const char *subjects[] = { c->subject };
	sc.Name = c->cfg->cluster.stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Replicas = c->cfg->cluster.replicas;
	sc.Storage = js_FileStorage;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus st = NATS_ERR;
	/* A new cluster's meta leader takes seconds to be elected: retry for a while. */
	for (int tries = 0; tries < 40; tries++) {
		st = js_GetStreamInfo(&si, c->js, sc.Name, NULL, &jerr);
		if (st == NATS_NOT_FOUND) {
			st = js_AddStream(&si, c->js, &sc, NULL, &jerr);
			if (jerr == JSStreamNameExistErr)
				continue;
		}
		if (st == NATS_OK)
			break;
		usleep(250 * 1000);
	}
	if (st != NATS_OK) {
		s_set_err(errbuf, errlen, "stream", st);
		return st;
	}
	c->start_last = si->State.LastSeq;
	atomic_store(&c->last, si->State.LastSeq);
	jsStreamInfo_Destroy(si);
	kvConfig kc;
	kvConfig_Init(&kc);
	kc.Bucket = c->bucket;
	kc.History = 1;
	kc.TTL = c->cfg->cluster.lease_ms * 1000000; /* nanoseconds (the stream's MaxAge) */
	kc.Replicas = c->cfg->cluster.replicas;
	st = js_KeyValue(&c->kv, c->js, c->bucket);
	if (st != NATS_OK)
		st = js_CreateKeyValue(&c->kv, c->js, &kc);
	if (st != NATS_OK)
		s_set_err(errbuf, errlen, "lease bucket", st);
	return st;
}

/*
 * A store is a view of one stream: a data dir that holds writes of its own (a node alone
 * before) or of another stream, or that applied more than the stream holds (the stream was
 * deleted and made anew), would diverge from the other nodes: refused. A fresh store is marked
 * as this stream's.
 */
static int s_check_store(cluster_t *c, uint64_t applied, char *errbuf, size_t errlen)
{
	const char *stream = c->cfg->cluster.stream;
	store_txn_t txn;
	MDB_val v;
	uint64_t log_seq = 0;
	int rc = store_txn_begin(c->store, true, &txn);
	if (rc == 0)
		rc = store_meta_get_u64(&txn, "log_seq", &log_seq);
	int found = rc == 0 ? store_get(&txn, STORE_META, "cluster_stream", 14, &v) : rc;
	if (found == 0 && (v.mv_size != strlen(stream) || memcmp(v.mv_data, stream, v.mv_size) != 0)) {
		snprintf(errbuf, errlen, "cluster: the data dir %s applied the stream %.*s, not %s",
			 c->cfg->data_dir, (int)v.mv_size, (const char *)v.mv_data, stream);
		rc = -1;
	} else if (found == MDB_NOTFOUND && log_seq > 0) {
		snprintf(errbuf, errlen, "cluster: the data dir %s holds %" PRIu64 " logged changes "
			 "made outside the cluster; a node starts from an empty data dir",
			 c->cfg->data_dir, log_seq);
		rc = -1;
	} else if (found == 0 && applied > c->start_last) {
		snprintf(errbuf, errlen, "cluster: the data dir %s applied the stream %s up to %" PRIu64
			 " but the stream ends at %" PRIu64 " (was it made anew?)",
			 c->cfg->data_dir, stream, applied, c->start_last);
		rc = -1;
	} else if (found == MDB_NOTFOUND) {
		rc = store_put(&txn, STORE_META, "cluster_stream", 14, stream, strlen(stream));
		if (rc == 0) {
			rc = store_txn_commit(&txn);
			if (rc != 0)
				snprintf(errbuf, errlen, "cluster: %s", store_strerror(rc));
			return rc;
		}
	} else if (found != 0) {
		rc = found;
	}
	if (rc > 0 || (rc < 0 && rc != -1))
		snprintf(errbuf, errlen, "cluster: reading the store: %s", store_strerror(rc));
	store_txn_abort(&txn);
	return rc;
}

cluster_t *cluster_new(const config_t *cfg, store_t *store, char *errbuf, size_t errlen)
{
	cluster_t *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(errbuf, errlen, "cluster: out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->store = store;
	pthread_mutex_init(&c->lock, NULL);
	clock_cond_init_mono(&c->changed);
	clock_cond_init_mono(&c->room);
	c->outgoing_tail = &c->outgoing;
	snprintf(c->subject, sizeof c->subject, "%s.log", cfg->cluster.stream);
	snprintf(c->bucket, sizeof c->bucket, "%s_lease", cfg->cluster.stream);
	snprintf(c->boot, sizeof c->boot, "%" PRIx64 "%x", (uint64_t)clock_now_ms(),
		 (unsigned)getpid());
	store_txn_t txn;
	uint64_t applied = 0;
	if (store_txn_begin(store, false, &txn) == 0) {
		store_meta_get_u64(&txn, "cluster_applied", &applied);
		store_txn_abort(&txn);
	}
	atomic_store(&c->applied, applied);
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = CLUSTER_PUB_MAX_PENDING;
	jo.PublishAsync.AckHandler = s_on_pub_ack;
	jo.PublishAsync.AckHandlerClosure = c;
	jo.Wait = CLUSTER_PUB_WAIT_MS;
	natsStatus st = s_connect(c);
	if (st != NATS_OK) {
		s_set_err(errbuf, errlen, "connecting to nats", st);
	} else if ((st = natsConnection_JetStream(&c->js, c->nc, &jo)) != NATS_OK) {
		s_set_err(errbuf, errlen, "jetstream", st);
	} else {
		st = s_stream(c, errbuf, errlen);
	}
	if (st != NATS_OK) {
		cluster_stop(c);
		cluster_destroy(&c);
		return NULL;
	}
	if (st == NATS_OK && s_check_store(c, applied, errbuf, errlen) != 0) {
		cluster_stop(c);
		cluster_destroy(&c);
		return NULL;
	}
	if (applied >= c->start_last)
		atomic_store(&c->ready, true);
	log_info("cluster: node %s on stream %s (R%d): applied %" PRIu64 " of %" PRIu64,
		 cfg->cluster.node, cfg->cluster.stream, cfg->cluster.replicas, applied,
		 c->start_last);
	return c;
}

int cluster_start(cluster_t *c, struct writer *writer, cluster_leader_cb on_leader, void *arg,
		  char *errbuf, size_t errlen)
{
	c->writer = writer;
	c->on_leader = on_leader;
	c->on_leader_arg = arg;
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Ordered = true;
	/*
	 * Heartbeats every second: an ordered consumer that misses two (its server died, the
	 * stream moved) is made anew from the last entry delivered, so a node does not wait
	 * long to apply again.
	 */
	so.Config.Heartbeat = CLUSTER_HEARTBEAT_NS;
	uint64_t applied = atomic_load(&c->applied);
	if (applied > 0) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = applied + 1;
	} else {
		so.Config.DeliverPolicy = js_DeliverAll;
	}
	so.Stream = c->cfg->cluster.stream;
	jsErrCode jerr = 0;
	natsStatus st = js_Subscribe(&c->sub, c->js, c->subject, s_on_entry, c, NULL, &so, &jerr);
	if (st == NATS_OK)
		st = natsSubscription_SetPendingLimits(c->sub, -1, -1);
	if (st != NATS_OK) {
		s_set_err(errbuf, errlen, "subscribing to the log", st);
		return -1;
	}
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	c->lease_started = pthread_create(&c->lease_thread, NULL, s_lease_main, c) == 0;
	pthread_mutex_lock(&c->lock);
	c->publisher_started = pthread_create(&c->publisher, NULL, s_publisher_main, c) == 0;
	pthread_mutex_unlock(&c->lock);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (!c->lease_started || !c->publisher_started) {
		snprintf(errbuf, errlen, "cluster: cannot start the lease or publisher thread");
		return -1;
	}
	return 0;
}

void cluster_view(cluster_t *c, cluster_view_t *out)
{
	out->node = c->cfg->cluster.node;
	pthread_mutex_lock(&c->lock);
	snprintf(out->leader, sizeof out->leader, "%s", c->leader_name);
	pthread_mutex_unlock(&c->lock);
	out->applied = atomic_load(&c->applied);
	out->last = atomic_load(&c->last);
}

void cluster_stop(cluster_t *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->stopping, true);
	pthread_cond_broadcast(&c->changed);
	pthread_cond_broadcast(&c->room);
	bool publisher = c->publisher_started;
	pthread_mutex_unlock(&c->lock);
	/* It answers what still waits to be appended, and appends nothing more. */
	if (publisher) {
		pthread_join(c->publisher, NULL);
		pthread_mutex_lock(&c->lock);
		c->publisher_started = false;
		pthread_mutex_unlock(&c->lock);
	}
	if (c->lease_started) {
		pthread_join(c->lease_thread, NULL);
		c->lease_started = false;
	}
	if (c->sub) {
		/* Waits for a delivery in progress: none may reach the writer once it stops. */
		if (natsSubscription_Drain(c->sub) == NATS_OK)
			natsSubscription_WaitForDrainCompletion(c->sub, 5000);
		else
			natsSubscription_Unsubscribe(c->sub);
		natsSubscription_Destroy(c->sub);
		c->sub = NULL;
	}
	/* Whatever still waits for its entry is answered: the client retries elsewhere. */
	pthread_mutex_lock(&c->lock);
	for (size_t b = 0; b < CLUSTER_WAITING_BUCKETS; b++) {
		while (c->waiting[b]) {
			struct writer_job *job = c->waiting[b];
			c->waiting[b] = job->next;
			pthread_mutex_unlock(&c->lock);
			s_refuse(c, job, "the node is stopping");
			pthread_mutex_lock(&c->lock);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

void cluster_destroy(cluster_t **c_p)
{
	cluster_t *c = *c_p;
	if (!c)
		return;
	kvStore_Destroy(c->kv);
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	pthread_cond_destroy(&c->changed);
	pthread_cond_destroy(&c->room);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*c_p = NULL;
}
