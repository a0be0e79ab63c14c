/*
 * writer: the one thread that writes to the store, with group commit.
 *
 * The event loop submits jobs; the writer takes every job queued so far (up to a batch limit)
 * into one write transaction (store/batch.h), applies each through its op (ops/ops.h), commits
 * with fsync, and
 * hands the finished jobs back to the loop (uv_async), which sends their replies and
 * publishes their messages. Jobs that arrive while a commit runs share the next commit, and
 * fsync never blocks the loop.
 */
#ifndef INCIDENTD_DAEMON_EDGE_WRITER_H
#define INCIDENTD_DAEMON_EDGE_WRITER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "daemon/core/config.h"
#include "daemon/core/deadline_heap.h"
#include "daemon/edge/alerts.h"
#include "daemon/edge/clients.h"
#include "daemon/ops/ops.h"
#include "daemon/store/batch.h"
#include "daemon/store/store.h"

/* The most jobs one transaction takes. */
#define WRITER_BATCH_MAX 4096
/* Cluster mode: with fewer jobs than this queued, the writer waits this long for more. */
#define WRITER_LINGER_JOBS 64
#define WRITER_LINGER_MS 2
/* The most jobs queued before writer_apply() waits (cluster mode catching up). */
#define WRITER_APPLY_BACKLOG 16384
/* The most decoded incidents the writer keeps between batches (~1.5 KB each). */
#define WRITER_CACHE_MAX 16384

/*
 * One state-changing request, a notice (a message the daemon publishes by itself: notice_topic
 * set), or a deadline that came up (no op and no notice_topic). The
 * submitter fills the inputs; the writer the outputs.
 */
struct writer_job;

/*
 * A submitter's completion (server_submit_event): called on the loop thread with a finished
 * job and its reply frame (owned by the callee; NULL when out of memory). The job is freed
 * after the call.
 */
typedef void (*writer_reply_cb)(struct writer_job *job, char *reply, size_t len, void *arg);

typedef struct writer_job {
	struct writer_job *next;
	/* inputs */
	json_t *request;      /* owned: the decoded request; NULL for a scanned event or a deadline */
	const op_t *op;       /* the request's op (OP_WRITES); for a scanned event, ops_event() */
	bool scanned;         /* an "event" decoded by wire_event_scan() into ev */
	wire_event_t ev;      /* when scanned: its strings live in the job's allocation */
	const char *id_text;  /* when scanned: the request's "id" as JSON text in raw, or NULL */
	size_t id_len;
	char *raw;            /* the request frame as received, for the event log: it lies in
				 the job's own allocation, after the job */
	size_t raw_len;
	int64_t received_ms;
	uint64_t started_ns;  /* clock_mono_ns() when the request arrived: its duration metric */
	void *peer;           /* the submitter's (its reply envelope); the writer never touches it */
	writer_reply_cb on_reply; /* when set, the reply goes there instead of to peer */
	void *on_reply_arg;
	op_caller_t caller;   /* who sent the request (its strings are clients') */
	clients_t *clients;   /* owned reference: the client set the caller came from, or NULL */
	deadline_t deadline;  /* when request is NULL */
	char *notice_topic;   /* owned: a notice's topic (hook.gave_up), or NULL */
	json_t *notice;       /* owned: the notice's body; published with the batch's next seq */
	/* outputs: the reply is encoded by the loop thread, off the writer's critical path */
	json_t *fields;       /* owned: the reply's fields; NULL when refused or event is set */
	batch_event_reply_t event; /* the reply of an accepted event */
	wire_error_t err;     /* the refusal when neither fields nor event is set */
	batch_pub_t *pubs;    /* owned list, to publish after the reply */
	deadline_t *arm;      /* owned: deadlines to arm */
	size_t n_arm;
	/* cluster mode (daemon/edge/cluster.h) */
	uint64_t stream_seq;  /* the job's entry in the stream; 0 before it is appended */
	uint32_t entry_part;  /* its place among the requests its entry carries (from 0) */
	bool entry_end;       /* the last job of its entry */
	uint64_t request_no;  /* this node's number of the request, while waiting for its entry */
	int64_t appended_ms;  /* clock_mono_ms() when it was given to the log */
	bool remote;          /* an entry this node does not answer: no reply, no request metric */
	bool skip;            /* an entry that applies nothing (unreadable, or not a write) */
	char *hook;           /* owned: hook outcomes (settled) of this hook to apply */
	alerts_settled_t *settled; /* owned */
	size_t n_settled;
	void *owned;          /* owned: what caller's strings point into (a remote entry's) */
} writer_job_t;

/* Called on the loop thread with a list of finished jobs, which the callee then owns. */
typedef void (*writer_done_cb)(writer_job_t *jobs, void *arg);

typedef struct writer writer_t;

/*
 * Starts the writer thread for store, handing finished jobs to done on loop and waking alerts
 * (may be NULL) after commits that queued hook deliveries. *listening (set by the publisher)
 * says whether any subscriber wants messages; when none does, the writer does not build
 * them. Returns NULL on failure. store, cfg, alerts and listening must outlive the writer.
 */
writer_t *writer_new(uv_loop_t *loop, store_t *store, const config_t *cfg, alerts_t *alerts,
		     const atomic_bool *listening, writer_done_cb done, void *arg);

/*
 * Queues job (ownership passes to the writer until it comes back through done). In cluster
 * mode a job is appended to the stream first and applied when its entry comes back.
 */
void writer_submit(writer_t *writer, writer_job_t *job);

/*
 * Cluster mode (edge/cluster.h): append takes every submitted job instead of the queue (the
 * job comes back through writer_apply() or writer_refuse()), and applied hears the last
 * stream sequence of each committed batch, on the writer thread.
 */
typedef struct {
	void (*append)(writer_job_t *job, void *arg);
	void (*applied)(uint64_t seq, void *arg);
	void *arg;
} writer_log_t;

/* Turns cluster mode on (before the first submit). */
void writer_set_log(writer_t *writer, const writer_log_t *log);

/*
 * Cluster mode, from the delivery of the stream: queues the jobs of one entry (a list, in
 * order; the last one has entry_end set) to apply, in stream order. An entry is applied in
 * one transaction, never split between two. A job that is not remote came through
 * writer_submit() (this node's request) and is counted already. Waits while the writer has
 * more than WRITER_APPLY_BACKLOG jobs (catching up must not queue the whole stream in memory).
 */
void writer_apply(writer_t *writer, writer_job_t *jobs);

/*
 * Cluster mode: hands a submitted job back unapplied, with job->err set (`unavailable`: its
 * entry could not be appended). Any thread.
 */
void writer_refuse(writer_t *writer, writer_job_t *job);

/* The number of jobs submitted and not yet handed back. */
size_t writer_pending(writer_t *writer);

/*
 * Stops taking jobs, commits every queued job, joins the thread and closes the async handle;
 * done is called for the last jobs during the next loop iterations. The writer is freed in
 * the close callback; *writer_p is set to NULL at once. Accepts NULL.
 */
void writer_stop(writer_t **writer_p);

/* Frees a job and everything it owns. */
void writer_job_free(writer_job_t *job);

#endif
