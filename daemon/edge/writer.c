/*
 * writer: the write thread and its group commit. See writer.h.
 */
#include "daemon/edge/writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store/breaches.h"
#include "daemon/sys/clock.h"
#include "daemon/sys/log.h"
#include "daemon/sys/metrics.h"

struct writer {
	uv_loop_t *loop;
	store_t *store;
	const config_t *cfg;
	alerts_t *alerts;
	const atomic_bool *listening;
	writer_log_t log_to;     /* cluster mode: the stream; append is NULL alone */
	incident_cache_t *cache; /* the writer thread's decoded incidents */
	/*
	 * One result per job of a batch, allocated once: a fresh ~1 MB array per batch would come
	 * as new zero pages whose first writes fault, each fault flushing the TLB of the core the
	 * loop thread runs on.
	 */
	batch_result_t *results;
	log_buf_t log;           /* a batch's log lines, written after its commit */
	metrics_tally_t tally;   /* a batch's breaches and outbox entries, counted once committed */
	writer_done_cb done;
	void *done_arg;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t room;     /* the queue went below WRITER_APPLY_BACKLOG */
	pthread_cond_t linger;   /* cluster mode: signalled at stop alone */
	writer_job_t *queue, **queue_tail; /* submitted, not yet taken; under lock */
	writer_job_t *finished, **finished_tail; /* committed, not yet handed back; under lock */
	size_t pending;                     /* submitted and not handed back; under lock */
	bool stopping;                      /* under lock */
	bool waiting;                       /* the writer sleeps on wake; under lock */
	uv_async_t async;
};

void writer_job_free(writer_job_t *job)
{
	if (!job)
		return;
	json_decref(job->request);
	free(job->notice_topic);
	json_decref(job->notice);
	json_decref(job->fields);
	json_decref(job->event.breaches);
	batch_pubs_free(job->pubs);
	free(job->arm);
	clients_unref(&job->clients);
	free(job->hook);
	free(job->settled);
	free(job->owned);
	free(job);
}

/* Takes up to WRITER_BATCH_MAX queued jobs, waiting for one; NULL when stopping and idle. */
static writer_job_t *s_take_batch(writer_t *w)
{
	pthread_mutex_lock(&w->lock);
	while (!w->queue && !w->stopping) {
		w->waiting = true;
		pthread_cond_wait(&w->wake, &w->lock);
		w->waiting = false;
	}
	/*
	 * Cluster mode: entries trickle in one by one from the log's delivery; a short linger
	 * lets more of them share the commit (and its fsync) when only a few are queued.
	 */
	if (w->log_to.append && !w->stopping) {
		size_t queued = 0;
		for (writer_job_t *j = w->queue; j && queued < WRITER_LINGER_JOBS; j = j->next)
			queued++;
		if (queued < WRITER_LINGER_JOBS) {
			struct timespec until = clock_timespec_in(CLOCK_REALTIME, WRITER_LINGER_MS);
			pthread_cond_timedwait(&w->linger, &w->lock, &until);
		}
	}
	writer_job_t *batch = w->queue, *last = w->queue, *end = NULL;
	for (int n = 1; last && last->next && n < WRITER_BATCH_MAX; n++) {
		if (last->entry_end)
			end = last;
		last = last->next;
	}
	/* Cluster mode: an entry's jobs commit together (its sequence says all of it is applied). */
	if (w->log_to.append && last && !last->entry_end && end)
		last = end;
	if (last) {
		w->queue = last->next;
		last->next = NULL;
		if (!w->queue)
			w->queue_tail = &w->queue;
	}
	pthread_cond_broadcast(&w->room);
	pthread_mutex_unlock(&w->lock);
	return batch;
}

/*
 * A notice is published like any message of the batch: it takes the next seq and reaches the
 * hooks whose topics match. The job keeps its body for a retry of the batch.
 */
static int s_apply_notice(batch_t *batch, writer_job_t *job, batch_result_t *res)
{
	return batch_publish(batch, res, job->notice_topic, json_incref(job->notice));
}

/* Cluster mode: a round of hook outcomes, as the leader's delivery threads recorded them. */
static int s_apply_settled(batch_t *batch, writer_job_t *job)
{
	int rc = 0;
	for (size_t i = 0; i < job->n_settled && rc == 0; i++)
		rc = alerts_settle(batch->txn, job->hook, &job->settled[i]);
	return rc;
}

/*
 * Applies one job inside the batch: its request through its op, a notice, or a deadline that
 * came up.
 */
static int s_apply_job(batch_t *batch, writer_job_t *job, batch_result_t *res)
{
	if (job->skip)
		return 0;
	if (job->hook)
		return s_apply_settled(batch, job);
	if (job->notice_topic)
		return s_apply_notice(batch, job, res);
	if (!job->op)
		return breaches_fire(batch, &job->deadline, batch->now_ms, res);
	op_request_t req = {
		.json = job->request,
		.event = job->scanned ? &job->ev : NULL,
		.raw = job->raw,
		.raw_len = job->raw_len,
		.received_ms = job->received_ms,
		.caller = &job->caller,
	};
	return ops_write(job->op, batch, &req, res);
}

/*
 * Applies every job of batch in one transaction and commits. Results stay in results[] (one
 * per job, each clean on entry: initialised once, cleared after use); *alerts_queued counts
 * the hook deliveries the batch put in the outbox. Returns 0 or the negative code that stopped
 * the batch.
 */
static int s_apply(writer_t *w, writer_job_t *jobs, batch_result_t *results, int *alerts_queued)
{
	store_txn_t txn;
	batch_t batch;
	int64_t now = clock_now_ms();
	int rc = store_txn_begin(w->store, true, &txn);
	if (rc != 0)
		return rc;
	rc = batch_start(&batch, w->cfg, w->cache, &txn, now, atomic_load(w->listening), &w->log);
	metrics_tally_reset(&w->tally);
	batch.tally = &w->tally;
	size_t i = 0;
	uint64_t applied = 0;
	if (rc == 0 && w->log_to.append)
		rc = store_meta_get_u64(&txn, "cluster_applied", &applied);
	uint64_t last = applied;
	uint32_t last_part = UINT32_MAX; /* applied: the whole entry */
	for (writer_job_t *job = jobs; job && rc == 0; job = job->next, i++) {
		if (w->log_to.append) {
			/* Applying reads the entry's time, never this node's clock. */
			if (job->stream_seq < last ||
			    (job->stream_seq == last && job->entry_part <= last_part)) {
				job->skip = true; /* delivered again: applied already */
				wire_error_set(&results[i].err, WIRE_CONFLICT,
					       "entry %llu was applied already",
					       (unsigned long long)job->stream_seq);
				continue;
			}
			last = job->stream_seq;
			last_part = job->entry_part;
			batch.now_ms = job->received_ms;
		}
		rc = s_apply_job(&batch, job, &results[i]);
	}
	if (rc == 0 && last > applied)
		rc = store_meta_put_u64(&txn, "cluster_applied", last);
	if (rc == 0)
		rc = batch_finish(&batch);
	if (rc != 0)
		store_txn_abort(&txn);
	else
		rc = store_txn_commit(&txn);
	/* What the batch logged and counted is true only once committed. */
	if (rc == 0) {
		log_buf_flush(&w->log);
		metrics_tally_commit(&w->tally);
	} else {
		log_buf_discard(&w->log);
	}
	/* The cache may hold changes of a transaction that did not commit. */
	if (rc != 0)
		incident_cache_clear(w->cache);
	*alerts_queued = batch.alerts_queued;
	if (rc == 0 && w->log_to.append && last > applied)
		w->log_to.applied(last, w->log_to.arg);
	return rc;
}

/* Counts the outcome of an event job, every path to the writer alike (ZeroMQ, HTTP). */
static void s_count_event(const writer_job_t *job)
{
	if (job->op != ops_event() || job->notice_topic || job->remote)
		return;
	metrics_event(!job->event.set	       ? METRICS_EVENT_REFUSED
		      : job->event.duplicate ? METRICS_EVENT_DUPLICATE
					     : METRICS_EVENT_ACCEPTED);
}

/* Moves each job's result (reply fields or error, messages, deadlines) into the job. */
static void s_finish_jobs(writer_job_t *batch, batch_result_t *results, int rc)
{
	size_t i = 0;
	for (writer_job_t *job = batch; job; job = job->next, i++) {
		batch_result_t *res = &results[i];
		if (rc != 0) {
			wire_error_set(&job->err, WIRE_INTERNAL, "storage failed: %s", store_strerror(rc));
		} else {
			job->fields = res->fields;
			job->event = res->event;
			job->err = res->err;
			job->pubs = res->pubs;
			job->arm = res->arm;
			job->n_arm = res->n_arm;
			res->fields = NULL;
			res->event.breaches = NULL;
			res->pubs = NULL;
			res->arm = NULL;
		}
		s_count_event(job);
		batch_result_clear(res);
	}
}

/*
 * Commits batch, growing the map and retrying when it is full: no request fails for it.
 * Any other storage error fails the whole batch with `internal`.
 */
static void s_commit_batch(writer_t *w, writer_job_t *batch, size_t n)
{
	batch_result_t *results = w->results;
	int rc, alerts_queued = 0;
	uint64_t started = clock_mono_ns();
	while ((rc = s_apply(w, batch, results, &alerts_queued)) == MDB_MAP_FULL) {
		if ((rc = store_grow(w->store)) != 0)
			break;
		/* The aborted attempt's results go; the retry starts clean. */
		for (size_t i = 0; i < n; i++)
			batch_result_clear(&results[i]);
	}
	metrics_commit(clock_since_s(started), n);
	if (rc != 0)
		log_warnx("commit of %zu requests failed: %s", n, store_strerror(rc));
	else if (alerts_queued > 0 && w->alerts)
		alerts_wake(w->alerts);
	s_finish_jobs(batch, results, rc);
}

/* Hands the committed batch to the loop thread. */
static void s_hand_back(writer_t *w, writer_job_t *batch)
{
	writer_job_t *last = batch;
	while (last->next)
		last = last->next;
	pthread_mutex_lock(&w->lock);
	*w->finished_tail = batch;
	w->finished_tail = &last->next;
	pthread_mutex_unlock(&w->lock);
	uv_async_send(&w->async);
}

static void *s_thread_main(void *arg)
{
	writer_t *w = arg;
	writer_job_t *batch;
	while ((batch = s_take_batch(w)) != NULL) {
		size_t n = 0;
		for (writer_job_t *job = batch; job; job = job->next)
			n++;
		s_commit_batch(w, batch, n);
		s_hand_back(w, batch);
	}
	return NULL;
}

/* On the loop thread: takes the finished jobs and passes them to the done callback. */
static void s_on_async(uv_async_t *async)
{
	writer_t *w = async->data;
	pthread_mutex_lock(&w->lock);
	writer_job_t *jobs = w->finished;
	size_t n = 0;
	for (writer_job_t *job = jobs; job; job = job->next)
		n++;
	w->finished = NULL;
	w->finished_tail = &w->finished;
	w->pending -= n;
	pthread_mutex_unlock(&w->lock);
	if (jobs)
		w->done(jobs, w->done_arg);
}

/* Frees w and everything it owns (its thread has ended or never started). */
static void s_destroy(writer_t *w)
{
	incident_cache_destroy(&w->cache);
	metrics_tally_release(&w->tally);
	free(w->results);
	log_buf_free(&w->log);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->linger);
	free(w);
}

static void s_on_close(uv_handle_t *handle)
{
	s_destroy(handle->data);
}

writer_t *writer_new(uv_loop_t *loop, store_t *store, const config_t *cfg, alerts_t *alerts,
		     const atomic_bool *listening, writer_done_cb done, void *arg)
{
	writer_t *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->loop = loop;
	w->store = store;
	w->cfg = cfg;
	w->alerts = alerts;
	w->listening = listening;
	w->done = done;
	w->done_arg = arg;
	w->queue_tail = &w->queue;
	w->finished_tail = &w->finished;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->room, NULL);
	pthread_cond_init(&w->linger, NULL);
	w->cache = incident_cache_new(WRITER_CACHE_MAX, WRITER_BATCH_MAX);
	w->results = calloc(WRITER_BATCH_MAX, sizeof *w->results);
	if (!w->cache || !w->results || metrics_tally_init(&w->tally, cfg) != 0 || uv_async_init(loop, &w->async, s_on_async) != 0) {
		s_destroy(w);
		return NULL;
	}
	for (size_t i = 0; i < WRITER_BATCH_MAX; i++)
		batch_result_init(&w->results[i]);
	w->async.data = w;
	if (pthread_create(&w->thread, NULL, s_thread_main, w) != 0) {
		uv_close((uv_handle_t *)&w->async, s_on_close);
		return NULL;
	}
	return w;
}

void writer_set_log(writer_t *w, const writer_log_t *log)
{
	w->log_to = *log;
}

void writer_refuse(writer_t *w, writer_job_t *job)
{
	job->next = NULL;
	s_count_event(job);
	s_hand_back(w, job);
}

void writer_apply(writer_t *w, writer_job_t *jobs)
{
	writer_job_t *last = jobs;
	size_t uncounted = 0;
	for (writer_job_t *job = jobs; job; job = job->next) {
		uncounted += job->remote;
		last = job;
	}
	pthread_mutex_lock(&w->lock);
	while (w->pending >= WRITER_APPLY_BACKLOG && !w->stopping)
		pthread_cond_wait(&w->room, &w->lock);
	*w->queue_tail = jobs;
	w->queue_tail = &last->next;
	w->pending += uncounted;
	if (w->waiting)
		pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void writer_submit(writer_t *w, writer_job_t *job)
{
	job->next = NULL;
	if (w->log_to.append) {
		pthread_mutex_lock(&w->lock);
		w->pending++;
		pthread_mutex_unlock(&w->lock);
		w->log_to.append(job, w->log_to.arg);
		return;
	}
	pthread_mutex_lock(&w->lock);
	*w->queue_tail = job;
	w->queue_tail = &job->next;
	w->pending++;
	/* While the writer works it takes the queue when done; wake it only when it sleeps. */
	if (w->waiting)
		pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

size_t writer_pending(writer_t *w)
{
	pthread_mutex_lock(&w->lock);
	size_t n = w->pending;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void writer_stop(writer_t **writer_p)
{
	writer_t *w = *writer_p;
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_cond_broadcast(&w->room);
	pthread_cond_broadcast(&w->linger);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	/* The last batches: hand them back now, before the handle closes. */
	s_on_async(&w->async);
	uv_close((uv_handle_t *)&w->async, s_on_close);
	*writer_p = NULL;
}
