/*
 * alerts: the hook delivery threads. See alerts.h for the contract, outbox.h for the records.
 *
 * Each hook has one thread that owns the hook's deliveries once they are queued. A round of
 * that thread takes the hook's deliveries due first in a short read transaction (a cursor
 * seek in the due-time index, then the next keys), runs the hook for each with no transaction
 * open (an attempt may take up to the hook's timeout), and then records the outcomes in one
 * write transaction: remove a delivery on success or when it is given up, otherwise count the
 * attempt and set its next due time. Only this thread ever changes its hook's deliveries, so
 * nothing can change between the read and the write.
 *
 * Times in the outbox are wall-clock milliseconds, because they must mean the same after a
 * restart; waits between rounds are measured on CLOCK_MONOTONIC.
 */
#include "daemon/edge/alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "daemon/store/outbox.h"
#include "daemon/sys/clock.h"
#include "daemon/sys/log.h"
#include "daemon/sys/metrics.h"
#include "proto/topic.h"

extern char **environ;

/* The longest a thread sleeps without looking at the outbox again (clock jumps, lost state). */
#define ALERTS_MAX_WAIT_MS 60000
/* After a failed read or write of the outbox, the pause before trying again. */
#define ALERTS_RETRY_READ_MS 1000
/* How many times a write transaction is retried after MDB_MAP_FULL and a grown map. */
#define ALERTS_GROW_TRIES 8
/* The longest a transfer waits in curl_multi_poll() before looking at the stop flag again. */
#define ALERTS_POLL_MS 1000
#define ALERTS_REASON_LEN 256
/*
 * A round takes up to this many due deliveries and records their outcomes in one commit: a
 * commit per delivery (an fsync) would bound a backlog's drain far below a receiver's pace.
 */
#define ALERTS_BATCH 64
/*
 * ... and records them no later than this after its first attempt began, so that a slow
 * receiver does not hold outcomes back (a crash resends what was done but not recorded).
 */
#define ALERTS_BATCH_MS 100

/* What the outcome of an attempt does to its delivery. */
typedef enum {
	ALERTS_REMOVE_DELIVERED,
	ALERTS_RETRY,
	ALERTS_GIVE_UP,
	ALERTS_DROP_CORRUPT,
} alerts_action_t;

typedef struct {
	alerts_action_t action;
	int attempts;             /* made so far, this one included */
	int64_t retry_at;         /* ALERTS_RETRY: the next due time */
	int64_t retry_in;         /* ... and how long after the failure that is */
	char why[96];             /* ALERTS_GIVE_UP: the limit that was reached */
	bool gone;                /* the delivery was not there any more when recorded */
	char reason[ALERTS_REASON_LEN]; /* why the attempt failed */
} alerts_outcome_t;

/* The deliveries a round took, and the outcomes of those it attempted. */
typedef struct {
	outbox_entry_t entries[ALERTS_BATCH];
	alerts_outcome_t outcomes[ALERTS_BATCH];
	size_t taken;
	size_t attempted;         /* entries[0 .. attempted) have an outcome to record */
} alerts_round_t;

typedef struct alerts_worker {
	alerts_t *alerts;
	const config_hook_t *hook;
	pthread_t thread;
	bool started;
	uint64_t seen_generation; /* alerts->generation when this round began */
	/*
	 * url hooks: one transfer at a time on a multi handle, which keeps the connection alive
	 * between deliveries and which alerts_stop() can wake (curl_multi_wakeup) to abort one.
	 */
	CURLM *multi;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	alerts_round_t round;     /* the thread's own */
} alerts_worker_t;

struct alerts {
	store_t *store;
	const config_t *cfg;
	pthread_mutex_t mutex;
	pthread_cond_t cond;      /* on CLOCK_MONOTONIC */
	uint64_t generation;      /* bumped by every alerts_wake(); under mutex */
	atomic_bool stop;         /* set under mutex, read anywhere */
	bool curl_ready;
	alerts_publish_cb publish;
	void *publish_arg;
	alerts_commit_fn commit;  /* cluster mode: outcomes go through the log */
	void *commit_arg;
	alerts_worker_t *workers; /* one per hook */
	size_t n_workers;
};

/* What an attempt came to. */
typedef enum {
	ALERTS_DELIVERED,
	ALERTS_FAILED,
	ALERTS_ABANDONED,         /* the daemon is stopping: not an attempt that counts */
} alerts_result_t;

static bool s_stopping(const alerts_t *a)
{
	return atomic_load(&a->stop);
}

/* ---- the outbox side: take, decide, record ---- */

/* Takes the hook's due deliveries, those due first, in one read transaction. */
static int s_take(alerts_worker_t *w, int64_t now_ms, alerts_round_t *r, int64_t *next_due)
{
	store_txn_t txn;
	r->taken = r->attempted = 0;
	int rc = store_txn_begin(w->alerts->store, false, &txn);
	if (rc != 0)
		return rc;
	rc = outbox_take(&txn, w->hook->name, now_ms, r->entries, ALERTS_BATCH, &r->taken,
			 next_due);
	store_txn_abort(&txn);
	return rc;
}

static void s_round_release(alerts_round_t *r)
{
	for (size_t i = 0; i < r->taken; i++)
		outbox_entry_release(&r->entries[i]);
	r->taken = r->attempted = 0;
}

/* The pause after the attempts-th failure: backoff doubled each time, at most max_backoff. */
static int64_t s_backoff_ms(const config_hook_t *hook, int attempts)
{
	int64_t base = hook->backoff_ms > 0 ? hook->backoff_ms : 0;
	int64_t cap = hook->max_backoff_ms > base ? hook->max_backoff_ms : base;
	int shift = attempts > 1 ? attempts - 1 : 0;
	if (base == 0)
		return 0;
	if (shift >= 62 || base > (cap >> shift))
		return cap;
	return base << shift;
}

/* When the hook gives a delivery queued at created up: give_up_after later (none when 0). */
static int64_t s_give_up_at(const config_hook_t *hook, int64_t created)
{
	if (hook->give_up_after_ms <= 0 || created > INT64_MAX - hook->give_up_after_ms)
		return INT64_MAX;
	return created + hook->give_up_after_ms;
}

/*
 * Decides what a failed attempt at now_ms does: retry after the backoff, or give up when
 * max_attempts (if set) are used or give_up_after has passed. The last retry is brought
 * forward to the give-up time, so a delivery is always tried once more at its deadline.
 */
static void s_decide_failure(const config_hook_t *hook, const outbox_entry_t *entry,
			     int64_t now_ms, alerts_outcome_t *out)
{
	int64_t give_up_at = s_give_up_at(hook, entry->created);
	if (hook->max_attempts > 0 && out->attempts >= hook->max_attempts) {
		out->action = ALERTS_GIVE_UP;
		snprintf(out->why, sizeof out->why, "max_attempts (%d) reached", hook->max_attempts);
	} else if (now_ms >= give_up_at) {
		out->action = ALERTS_GIVE_UP;
		snprintf(out->why, sizeof out->why, "give_up_after (%lld ms) passed",
			 (long long)hook->give_up_after_ms);
	} else {
		int64_t backoff = s_backoff_ms(hook, out->attempts);
		out->action = ALERTS_RETRY;
		out->retry_in = backoff < give_up_at - now_ms ? backoff : give_up_at - now_ms;
		out->retry_at = now_ms + out->retry_in;
	}
}

static void s_decide(const config_hook_t *hook, const outbox_entry_t *entry,
		     alerts_result_t result, int64_t now_ms, alerts_outcome_t *out)
{
	out->action = ALERTS_REMOVE_DELIVERED;
	out->retry_at = out->retry_in = 0;
	out->why[0] = '\0';
	out->gone = false;
	out->attempts = entry->attempts < INT_MAX ? entry->attempts + 1 : INT_MAX;
	if (entry->corrupt)
		out->action = ALERTS_DROP_CORRUPT;
	else if (result == ALERTS_DELIVERED)
		out->action = ALERTS_REMOVE_DELIVERED;
	else
		s_decide_failure(hook, entry, now_ms, out);
}

/* Applies an outcome to the delivery inside txn; one already gone is marked so. */
static int s_apply(store_txn_t *txn, const alerts_worker_t *w, const outbox_entry_t *entry,
		   alerts_outcome_t *out)
{
	int rc;
	if (out->action != ALERTS_RETRY)
		rc = outbox_remove(txn, w->hook->name, entry);
	else
		rc = outbox_retry(txn, w->hook->name, entry, out->attempts, out->retry_at);
	/* A value that cannot be read any more cannot be retried: drop it. */
	if (rc == MDB_CORRUPTED) {
		out->action = ALERTS_DROP_CORRUPT;
		rc = outbox_remove(txn, w->hook->name, entry);
	}
	out->gone = rc == MDB_NOTFOUND;
	return out->gone ? 0 : rc;
}

int alerts_settle(store_txn_t *txn, const char *hook, const alerts_settled_t *settled)
{
	outbox_entry_t entry = { .delivery = settled->delivery, .due = settled->due };
	int rc = settled->remove ? outbox_remove(txn, hook, &entry)
				 : outbox_retry(txn, hook, &entry, settled->attempts, settled->retry_at);
	if (rc == MDB_CORRUPTED)
		rc = outbox_remove(txn, hook, &entry);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Cluster mode: the round's outcomes go through the log; every node applies them. */
static int s_commit_through(alerts_worker_t *w, alerts_round_t *r)
{
	alerts_settled_t settled[ALERTS_BATCH];
	for (size_t i = 0; i < r->attempted; i++) {
		const alerts_outcome_t *out = &r->outcomes[i];
		settled[i] = (alerts_settled_t){ r->entries[i].delivery, r->entries[i].due,
						 out->action != ALERTS_RETRY, out->attempts,
						 out->retry_at };
	}
	int rc = w->alerts->commit(w->hook->name, settled, r->attempted, w->alerts->commit_arg);
	return rc == 0 ? 0 : -EAGAIN;
}

/* Commits the round's outcomes in one write transaction, growing the map when it is full. */
static int s_commit(alerts_worker_t *w, alerts_round_t *r)
{
	if (w->alerts->commit)
		return s_commit_through(w, r);
	int rc = MDB_MAP_FULL;
	for (int tries = 0; rc == MDB_MAP_FULL && tries < ALERTS_GROW_TRIES; tries++) {
		store_txn_t txn;
		rc = store_txn_begin(w->alerts->store, true, &txn);
		if (rc != 0)
			break;
		for (size_t i = 0; rc == 0 && i < r->attempted; i++)
			rc = s_apply(&txn, w, &r->entries[i], &r->outcomes[i]);
		if (rc == 0)
			rc = store_txn_commit(&txn);
		else
			store_txn_abort(&txn);
		if (rc == MDB_MAP_FULL && store_grow(w->alerts->store) != 0)
			break;
	}
	return rc;
}

/* Publishes a committed give-up: {delivery, hook, topic, attempts, reason}. */
static void s_publish_gave_up(alerts_worker_t *w, const outbox_entry_t *entry, int attempts,
			      const char *reason)
{
	alerts_t *a = w->alerts;
	if (!a->publish)
		return;
	json_t *body = json_pack("{s:I, s:s, s:s, s:i, s:s}", "delivery",
				 (json_int_t)entry->delivery, "hook", w->hook->name, "topic",
				 entry->topic, "attempts", attempts, "reason", reason);
	if (!body) {
		log_warnx("hook %s: cannot publish the give-up of delivery %llu: out of memory",
			  w->hook->name, (unsigned long long)entry->delivery);
		return;
	}
	a->publish(TOPIC_HOOK_GAVE_UP, body, a->publish_arg);
}

/* The log line of a committed outcome; a give-up is also published. */
static void s_report(alerts_worker_t *w, const outbox_entry_t *entry, const alerts_outcome_t *out)
{
	const char *name = w->hook->name;
	unsigned long long id = (unsigned long long)entry->delivery;
	char why[ALERTS_REASON_LEN + sizeof out->why + 2];
	switch (out->action) {
	case ALERTS_REMOVE_DELIVERED:
		log_info("hook %s delivered %llu (%s)", name, id, entry->topic);
		break;
	case ALERTS_DROP_CORRUPT:
		log_warnx("hook %s: dropped the unreadable outbox entry of delivery %llu", name, id);
		break;
	case ALERTS_RETRY:
		log_warnx("hook %s: delivery %llu failed (attempt %d): %s; retrying in %lld ms", name,
			  id, out->attempts, out->reason, (long long)out->retry_in);
		break;
	case ALERTS_GIVE_UP:
		snprintf(why, sizeof why, "%s: %s", out->why, out->reason);
		log_warnx("hook %s: giving up delivery %llu (%s) after %d attempts: %s", name, id,
			  entry->topic, out->attempts, why);
		s_publish_gave_up(w, entry, out->attempts, why);
		break;
	}
}

/*
 * Counts a committed outcome in the metrics: the attempt's result, and a delivery that left
 * the outbox (delivered, given up, or dropped unreadable, which counts as given up).
 */
static void s_count(const alerts_worker_t *w, const alerts_outcome_t *out)
{
	size_t hook = (size_t)(w - w->alerts->workers);
	metrics_delivery_t result = out->action == ALERTS_REMOVE_DELIVERED ? METRICS_DELIVERY_OK
				    : out->action == ALERTS_RETRY	 ? METRICS_DELIVERY_RETRY
									 : METRICS_DELIVERY_GAVE_UP;
	metrics_delivery(hook, result);
	if (out->action != ALERTS_RETRY)
		metrics_outbox_add(hook, -1);
}

/*
 * Records the outcomes of the round's attempts and reports them once committed. Returns 0 or
 * the LMDB error that left the deliveries as they were.
 */
static int s_record(alerts_worker_t *w, alerts_round_t *r)
{
	int rc = s_commit(w, r);
	if (rc != 0) {
		log_warnx("hook %s: recording %zu delivery outcome(s): %s", w->hook->name,
			  r->attempted, store_strerror(rc));
		return rc;
	}
	for (size_t i = 0; i < r->attempted; i++)
		if (!r->outcomes[i].gone) {
			s_count(w, &r->outcomes[i]);
			s_report(w, &r->entries[i], &r->outcomes[i]);
		}
	return 0;
}

/* ---- exec hooks ---- */

/* Writes what the pipe takes of the body; true when done with it (all written, or EPIPE). */
static bool s_exec_feed(int fd, const char *body, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = write(fd, body + *off, len - *off);
		if (n > 0)
			*off += (size_t)n;
		else if (n < 0 && errno == EAGAIN)
			return false;
		else if (n == 0 || errno != EINTR)
			return true; /* EPIPE: the hook does not read its stdin, which is its choice */
	}
	return true;
}

/* Kills the hook's process group (what it started too) and reaps it. */
static void s_exec_kill(pid_t pid, int *status)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* What the exit status of a reaped hook means. */
static alerts_result_t s_exec_status(int status, char *reason, size_t rlen)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return ALERTS_DELIVERED;
	if (WIFEXITED(status))
		snprintf(reason, rlen, "exit status %d", WEXITSTATUS(status));
	else
		snprintf(reason, rlen, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return ALERTS_FAILED;
}

/*
 * Feeds the child's stdin without blocking (the pipe is non-blocking) and reaps it, polling with
 * short sleeps until it exits, the timeout passes or the alerts stop; in the last two cases the
 * child's process group is killed.
 */
static alerts_result_t s_exec_wait(alerts_worker_t *w, pid_t pid, int in_fd,
				   const outbox_entry_t *entry, char *reason, size_t rlen)
{
	int64_t deadline = clock_mono_ms() + w->hook->timeout_ms;
	size_t off = 0;
	long sleep_us = 500;
	int status = 0;
	alerts_result_t result = ALERTS_FAILED;
	for (;;) {
		if (in_fd >= 0 && s_exec_feed(in_fd, entry->body, entry->body_len, &off)) {
			close(in_fd);
			in_fd = -1;
		}
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			result = s_exec_status(status, reason, rlen);
			break;
		}
		if (r < 0 && errno != EINTR) {
			snprintf(reason, rlen, "waiting for the hook: %s", strerror(errno));
			break;
		}
		if (s_stopping(w->alerts) || clock_mono_ms() >= deadline) {
			bool stopping = s_stopping(w->alerts);
			s_exec_kill(pid, &status);
			result = stopping ? ALERTS_ABANDONED : ALERTS_FAILED;
			if (stopping)
				snprintf(reason, rlen, "abandoned: incidentd is stopping");
			else
				snprintf(reason, rlen, "timed out after %lld ms",
					 (long long)w->hook->timeout_ms);
			break;
		}
		struct timespec ts = { 0, sleep_us * 1000 };
		nanosleep(&ts, NULL);
		sleep_us = sleep_us < 20000 ? sleep_us * 2 : 20000;
	}
	if (in_fd >= 0)
		close(in_fd);
	return result;
}

/*
 * Runs an exec hook: argv as configured, the body on stdin, stdout to /dev/null, stderr shared
 * with the daemon, no other descriptor. The child gets its own process group so that a timeout
 * kills whatever it started too, an empty signal mask and default dispositions.
 */
static alerts_result_t s_attempt_exec(alerts_worker_t *w, const outbox_entry_t *entry,
				      char *reason, size_t rlen)
{
	const config_hook_t *hook = w->hook;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(reason, rlen, "pipe: %s", strerror(errno));
		return ALERTS_FAILED;
	}
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	const int reset[] = { SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
		sigaddset(&defaults, reset[i]);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					       POSIX_SPAWN_SETPGROUP);
	pid_t pid;
	int rc = posix_spawn(&pid, hook->exec_argv[0], &actions, &attr, hook->exec_argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		snprintf(reason, rlen, "cannot run %s: %s", hook->exec_argv[0], strerror(rc));
		return ALERTS_FAILED;
	}
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	return s_exec_wait(w, pid, fds[1], entry, reason, rlen);
}

/* ---- url hooks ---- */

static size_t s_discard(char *data, size_t size, size_t n, void *user)
{
	(void)data;
	(void)user;
	return size * n;
}

/* Appends "NAME: VALUE" with control characters of value blanked, so no header is injected. */
static struct curl_slist *s_header_add(struct curl_slist *list, const char *name,
				       const char *value, bool *failed)
{
	char *line = NULL;
	if (asprintf(&line, "%s: %s", name, value) < 0) {
		*failed = true;
		return list;
	}
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	struct curl_slist *next = curl_slist_append(list, line);
	free(line);
	if (!next)
		*failed = true;
	return next ? next : list;
}

/* The headers of one POST, or NULL when out of memory. */
static struct curl_slist *s_url_headers(const config_hook_t *hook, const outbox_entry_t *entry)
{
	bool failed = false;
	char id[24];
	snprintf(id, sizeof id, "%llu", (unsigned long long)entry->delivery);
	struct curl_slist *list = s_header_add(NULL, "Content-Type", "application/json", &failed);
	list = s_header_add(list, "X-Incidentd-Delivery", id, &failed);
	list = s_header_add(list, "X-Incidentd-Topic", entry->topic, &failed);
	if (hook->secret) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int mac_len = 0;
		char sig[7 + 2 * EVP_MAX_MD_SIZE + 1] = "sha256=";
		if (!HMAC(EVP_sha256(), hook->secret, (int)strlen(hook->secret),
			  (const unsigned char *)entry->body, entry->body_len, mac, &mac_len))
			failed = true;
		for (unsigned int i = 0; i < mac_len; i++)
			snprintf(sig + 7 + 2 * i, 3, "%02x", mac[i]);
		list = s_header_add(list, "X-Incidentd-Signature", sig, &failed);
	}
	/* No "Expect: 100-continue" round trip before a larger body. */
	list = s_header_add(list, "Expect", "", &failed);
	if (failed) {
		curl_slist_free_all(list);
		return NULL;
	}
	return list;
}

/* The worker's handles, with what every POST of the hook shares. Returns 0 or -ENOMEM. */
static int s_url_init(alerts_worker_t *w)
{
	const config_hook_t *hook = w->hook;
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	if (!w->multi || !w->easy)
		return -ENOMEM;
	CURL *curl = w->easy;
	curl_easy_setopt(curl, CURLOPT_URL, hook->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "incidentd/" INCIDENTD_VERSION);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)hook->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_discard);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, w->errbuf);
	return 0;
}

static void s_url_release(alerts_worker_t *w)
{
	if (w->easy)
		curl_easy_cleanup(w->easy);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	w->easy = NULL;
	w->multi = NULL;
}

/*
 * Runs the prepared transfer until it ends or the alerts stop (alerts_stop() wakes the poll).
 * Returns false when abandoned; otherwise *code is the transfer's result.
 */
static bool s_url_perform(alerts_worker_t *w, CURLcode *code)
{
	int running = 1;
	bool abandoned = false;
	*code = CURLE_FAILED_INIT;
	CURLMcode mc = curl_multi_add_handle(w->multi, w->easy);
	while (mc == CURLM_OK) {
		mc = curl_multi_perform(w->multi, &running);
		if (mc != CURLM_OK || running == 0)
			break;
		if ((abandoned = s_stopping(w->alerts)))
			break;
		mc = curl_multi_poll(w->multi, NULL, 0, ALERTS_POLL_MS, NULL);
	}
	int left;
	for (CURLMsg *msg; (msg = curl_multi_info_read(w->multi, &left)) != NULL;)
		if (msg->msg == CURLMSG_DONE)
			*code = msg->data.result;
	if (mc != CURLM_OK)
		snprintf(w->errbuf, sizeof w->errbuf, "%s", curl_multi_strerror(mc));
	/* Removing an unfinished transfer aborts it and closes its connection. */
	curl_multi_remove_handle(w->multi, w->easy);
	return !abandoned;
}

/* Runs a url hook: one POST of the body on the hook's connection; a 2xx is success. */
static alerts_result_t s_attempt_url(alerts_worker_t *w, const outbox_entry_t *entry,
				     char *reason, size_t rlen)
{
	struct curl_slist *headers = s_url_headers(w->hook, entry);
	if (!headers) {
		snprintf(reason, rlen, "out of memory");
		return ALERTS_FAILED;
	}
	w->errbuf[0] = '\0';
	curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, entry->body);
	curl_easy_setopt(w->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)entry->body_len);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, headers);
	CURLcode code;
	long status = 0;
	bool finished = s_url_perform(w, &code);
	if (finished && code == CURLE_OK)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (!finished) {
		snprintf(reason, rlen, "abandoned: incidentd is stopping");
		return ALERTS_ABANDONED;
	}
	if (code != CURLE_OK)
		snprintf(reason, rlen, "%s", w->errbuf[0] ? w->errbuf : curl_easy_strerror(code));
	else if (status < 200 || status > 299)
		snprintf(reason, rlen, "HTTP %ld", status);
	return code == CURLE_OK && status >= 200 && status <= 299 ? ALERTS_DELIVERED
								    : ALERTS_FAILED;
}

/* ---- the delivery threads ---- */

/* One attempt at entry with the hook's exec or url. */
static alerts_result_t s_attempt(alerts_worker_t *w, const outbox_entry_t *entry, char *reason,
				 size_t rlen)
{
	if (entry->corrupt)
		return ALERTS_FAILED;
	if (w->hook->url && w->easy)
		return s_attempt_url(w, entry, reason, rlen);
	if (w->hook->exec_argv && w->hook->exec_argv[0])
		return s_attempt_exec(w, entry, reason, rlen);
	snprintf(reason, rlen, "no exec or url configured");
	return ALERTS_FAILED;
}

/*
 * Sleeps until alerts_wake() or stop, or delay_ms (capped; < 0: no due time known). A wake
 * that came after this round began ends the wait at once, so none is lost.
 */
static void s_worker_wait(alerts_worker_t *w, int64_t delay_ms)
{
	alerts_t *a = w->alerts;
	if (delay_ms < 0 || delay_ms > ALERTS_MAX_WAIT_MS)
		delay_ms = ALERTS_MAX_WAIT_MS;
	struct timespec until = clock_timespec_in(CLOCK_MONOTONIC, delay_ms);
	pthread_mutex_lock(&a->mutex);
	while (!s_stopping(a) && a->generation == w->seen_generation)
		if (pthread_cond_timedwait(&a->cond, &a->mutex, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&a->mutex);
}

/* Starts a round: false when the alerts are stopping. */
static bool s_worker_round_begin(alerts_worker_t *w)
{
	alerts_t *a = w->alerts;
	pthread_mutex_lock(&a->mutex);
	bool stop = s_stopping(a);
	w->seen_generation = a->generation;
	pthread_mutex_unlock(&a->mutex);
	return !stop;
}

/*
 * Attempts the round's deliveries in order, until all are done, the alerts stop, or
 * ALERTS_BATCH_MS passed: those left are taken again by the next round. An abandoned attempt
 * is not one: its delivery stays as it was, for the next start.
 */
static void s_attempt_all(alerts_worker_t *w, alerts_round_t *r)
{
	int64_t start = clock_mono_ms();
	while (r->attempted < r->taken) {
		const outbox_entry_t *entry = &r->entries[r->attempted];
		alerts_outcome_t *out = &r->outcomes[r->attempted];
		out->reason[0] = '\0';
		alerts_result_t result = s_attempt(w, entry, out->reason, sizeof out->reason);
		if (result == ALERTS_ABANDONED)
			break;
		s_decide(w->hook, entry, result, clock_now_ms(), out);
		r->attempted++;
		if (s_stopping(w->alerts) || clock_mono_ms() - start >= ALERTS_BATCH_MS)
			break;
	}
}

/* Takes the due deliveries, attempts them, records the outcomes; waits when nothing is due. */
static void s_worker_round(alerts_worker_t *w)
{
	alerts_round_t *r = &w->round;
	int64_t next_due, now = clock_now_ms();
	int rc = s_take(w, now, r, &next_due);
	if (rc != 0) {
		log_warnx("hook %s: reading the outbox: %s", w->hook->name, store_strerror(rc));
		s_worker_wait(w, ALERTS_RETRY_READ_MS);
		return;
	}
	if (r->taken == 0) {
		s_worker_wait(w, next_due == INT64_MAX ? -1 : next_due - now);
		return;
	}
	s_attempt_all(w, r);
	if (r->attempted > 0)
		rc = s_record(w, r);
	s_round_release(r);
	/* The deliveries are unchanged and still due: do not spin on them. */
	if (rc != 0)
		s_worker_wait(w, ALERTS_RETRY_READ_MS);
}

static void *s_worker_main(void *arg)
{
	alerts_worker_t *w = arg;
	while (s_worker_round_begin(w))
		s_worker_round(w);
	return NULL;
}

/* Prepares every worker (curl handles on this thread, so that alerts_stop() can wake them). */
static int s_workers_init(alerts_t *a)
{
	a->workers = calloc(a->cfg->n_hooks, sizeof *a->workers);
	if (!a->workers)
		return -ENOMEM;
	a->n_workers = a->cfg->n_hooks;
	for (size_t i = 0; i < a->n_workers; i++) {
		alerts_worker_t *w = &a->workers[i];
		w->alerts = a;
		w->hook = &a->cfg->hooks[i];
		if (w->hook->url && s_url_init(w) != 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Starts the threads with every signal blocked: signals stay with the daemon's main thread,
 * and a SIGPIPE from a hook's pipe or socket is never delivered here.
 */
static int s_workers_start(alerts_t *a)
{
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < a->n_workers; i++) {
		alerts_worker_t *w = &a->workers[i];
		rc = pthread_create(&w->thread, NULL, s_worker_main, w);
		w->started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return -rc;
}

/*
 * Deliveries waiting for a hook the configuration no longer has are kept (a configuration
 * mistake must not lose alerts) but would never be sent: say so at start-up. The same walk
 * of the outbox sets each hook's backlog gauge, which commits then keep up to date.
 */
static void s_report_orphans(store_t *store, const config_t *cfg)
{
	store_txn_t txn;
	size_t orphans = 0;
	size_t *per_hook = calloc(cfg->n_hooks + 1, sizeof *per_hook);
	if (store_txn_begin(store, false, &txn) != 0) {
		free(per_hook);
		return;
	}
	int rc = outbox_orphans(&txn, cfg, &orphans, per_hook);
	store_txn_abort(&txn);
	for (size_t i = 0; rc == 0 && per_hook && i < cfg->n_hooks; i++)
		metrics_outbox_set(i, per_hook[i]);
	free(per_hook);
	if (rc == 0 && orphans)
		log_warnx("outbox: %zu delivery(ies) wait for hooks no longer configured; restore the "
			  "[hook] section to send them", orphans);
}

alerts_t *alerts_new(store_t *store, const config_t *cfg)
{
	alerts_t *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->store = store;
	a->cfg = cfg;
	atomic_init(&a->stop, false);
	clock_cond_init_mono(&a->cond);
	pthread_mutex_init(&a->mutex, NULL);
	s_report_orphans(store, cfg);
	if (cfg->n_hooks == 0)
		return a;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("hooks: cannot initialise libcurl");
		alerts_destroy(&a);
		return NULL;
	}
	a->curl_ready = true;
	if (s_workers_init(a) != 0) {
		log_warnx("hooks: out of memory");
		alerts_destroy(&a);
		return NULL;
	}
	return a;
}

int alerts_start(alerts_t *alerts, alerts_publish_cb publish, void *arg)
{
	if (!alerts || alerts->n_workers == 0)
		return 0;
	alerts->publish = publish;
	alerts->publish_arg = arg;
	/* Started again after alerts_stop() (cluster mode: the lease came back). */
	atomic_store(&alerts->stop, false);
	int rc = s_workers_start(alerts);
	if (rc != 0) {
		log_warnx("hooks: cannot start delivery threads: %s", strerror(-rc));
		alerts_stop(alerts);
	}
	return rc;
}

void alerts_set_committer(alerts_t *alerts, alerts_commit_fn commit, void *arg)
{
	if (!alerts)
		return;
	alerts->commit = commit;
	alerts->commit_arg = arg;
}

void alerts_wake(alerts_t *alerts)
{
	if (!alerts)
		return;
	pthread_mutex_lock(&alerts->mutex);
	alerts->generation++;
	pthread_cond_broadcast(&alerts->cond);
	pthread_mutex_unlock(&alerts->mutex);
}

void alerts_stop(alerts_t *alerts)
{
	if (!alerts)
		return;
	pthread_mutex_lock(&alerts->mutex);
	atomic_store(&alerts->stop, true);
	pthread_cond_broadcast(&alerts->cond);
	pthread_mutex_unlock(&alerts->mutex);
	/* A transfer waiting for its receiver looks at the stop flag when its poll wakes. */
	for (size_t i = 0; i < alerts->n_workers; i++)
		if (alerts->workers[i].multi)
			curl_multi_wakeup(alerts->workers[i].multi);
	for (size_t i = 0; i < alerts->n_workers; i++) {
		if (alerts->workers[i].started)
			pthread_join(alerts->workers[i].thread, NULL);
		alerts->workers[i].started = false;
	}
}

void alerts_destroy(alerts_t **alerts_p)
{
	alerts_t *a = *alerts_p;
	if (!a)
		return;
	alerts_stop(a);
	for (size_t i = 0; i < a->n_workers; i++)
		s_url_release(&a->workers[i]);
	free(a->workers);
	if (a->curl_ready)
		curl_global_cleanup();
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mutex);
	free(a);
	*alerts_p = NULL;
}
