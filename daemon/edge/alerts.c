/*
 * alerts: the hook outbox and its delivery threads. See alerts.h for the contract.
 *
 * Each hook has one thread that owns the hook's key range of the outbox. A round of that thread
 * reads the range in a short read transaction, picks the entry due first, runs the hook with
 * no transaction open (an attempt may take up to the hook's timeout), and then records the
 * outcome in its own write transaction: delete on success or when the attempts are used up,
 * otherwise count the attempt and set the next due time. Only this thread ever changes its
 * hook's entries once they are queued, so nothing can change between the read and the write.
 *
 * Times in the outbox (next_attempt, created) are wall-clock milliseconds, because they must
 * mean the same after a restart; waits between rounds are measured on CLOCK_MONOTONIC.
 */
#include "daemon/edge/alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "daemon/store/outbox.h"
#include "daemon/sys/log.h"

extern char **environ;

/* The longest a thread sleeps without looking at the outbox again (clock jumps, lost state). */
#define ALERTS_MAX_WAIT_MS 60000
/* After a failed read or write of the outbox, the pause before trying again. */
#define ALERTS_RETRY_READ_MS 1000
/* How many times a write transaction is retried after MDB_MAP_FULL and a grown map. */
#define ALERTS_GROW_TRIES 8
#define ALERTS_REASON_LEN 256

typedef struct alerts_worker {
	alerts_t *alerts;
	const config_hook_t *hook;
	pthread_t thread;
	bool started;
	uint64_t seen_generation; /* alerts->generation when this round began */
} alerts_worker_t;

struct alerts {
	store_t *store;
	const config_t *cfg;
	pthread_mutex_t mutex;
	pthread_cond_t cond;      /* on CLOCK_MONOTONIC */
	uint64_t generation;      /* bumped by every alerts_wake() */
	bool stop;
	bool curl_ready;
	alerts_worker_t *workers; /* one per hook */
	size_t n_workers;
};

/* An outbox entry taken out of its read transaction for one attempt. */
typedef struct {
	unsigned char *key;
	size_t key_len;
	uint64_t delivery;
	char *topic;
	char *body;
	size_t body_len;
	bool corrupt;             /* unreadable: it is dropped instead of attempted */
} alerts_entry_t;

static int64_t s_clock_ms(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The outbox key "name NUL u64 id" (id omitted when with_id is false: the hook's prefix). */
static unsigned char *s_key_build(const char *name, uint64_t id, bool with_id, size_t *len)
{
	size_t name_len = strlen(name);
	*len = name_len + 1 + (with_id ? 8 : 0);
	unsigned char *key = malloc(*len);
	if (!key)
		return NULL;
	memcpy(key, name, name_len + 1);
	if (with_id)
		store_u64_encode(id, key + name_len + 1);
	return key;
}

static void s_entry_release(alerts_entry_t *entry)
{
	free(entry->key);
	free(entry->topic);
	free(entry->body);
	memset(entry, 0, sizeof *entry);
}

/*
 * Copies what an attempt needs out of the transaction. An entry that does not hold the fields
 * is marked corrupt rather than skipped, so that it cannot block the hook's queue forever.
 */
static int s_entry_take(const MDB_val *key, json_t *value, alerts_entry_t *entry)
{
	entry->key = malloc(key->mv_size);
	if (!entry->key)
		return -ENOMEM;
	memcpy(entry->key, key->mv_data, key->mv_size);
	entry->key_len = key->mv_size;
	json_t *delivery = json_object_get(value, "delivery");
	json_t *topic = json_object_get(value, "topic");
	json_t *body = json_object_get(value, "body");
	if (!json_is_integer(delivery) || !json_is_string(topic) || !json_is_string(body)) {
		entry->corrupt = true;
		return 0;
	}
	entry->delivery = (uint64_t)json_integer_value(delivery);
	entry->topic = strdup(json_string_value(topic));
	entry->body_len = json_string_length(body);
	entry->body = malloc(entry->body_len + 1);
	if (!entry->topic || !entry->body)
		return -ENOMEM;
	memcpy(entry->body, json_string_value(body), entry->body_len + 1);
	return 0;
}

/* The due time of an outbox value, or INT64_MIN for one that cannot be read (due at once). */
static int64_t s_value_due(json_t *value)
{
	json_t *next = json_object_get(value, "next_attempt");
	return json_is_integer(next) ? (int64_t)json_integer_value(next) : INT64_MIN;
}

/*
 * Scans the hook's entries in one read transaction. When one is due at now_ms, copies it into
 * *entry and sets *found; *next_due is the earliest due time of all (INT64_MAX when none).
 * Ties go to the lowest delivery id, so deliveries due together keep their order.
 */
static int s_outbox_scan(alerts_worker_t *w, int64_t now_ms, alerts_entry_t *entry, bool *found,
			 int64_t *next_due)
{
	size_t prefix_len;
	unsigned char *prefix = s_key_build(w->hook->name, 0, false, &prefix_len);
	if (!prefix)
		return -ENOMEM;
	*found = false;
	*next_due = INT64_MAX;
	store_txn_t txn;
	MDB_cursor *cursor = NULL;
	int rc = store_txn_begin(w->alerts->store, false, &txn);
	if (rc == 0)
		rc = store_cursor_open(&txn, STORE_OUTBOX, &cursor);
	MDB_val key = { prefix_len, prefix }, val, best_key = { 0, NULL };
	json_t *best = NULL;
	int op = MDB_SET_RANGE;
	while (rc == 0 && (rc = mdb_cursor_get(cursor, &key, &val, op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size < prefix_len || memcmp(key.mv_data, prefix, prefix_len) != 0)
			break;
		json_t *value = json_loadb(val.mv_data, val.mv_size, 0, NULL);
		int64_t due = value ? s_value_due(value) : INT64_MIN;
		if (due < *next_due) {
			*next_due = due;
			json_decref(best);
			best = value ? value : json_null();
			best_key = key;
		} else {
			json_decref(value);
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0 && best && *next_due <= now_ms) {
		rc = s_entry_take(&best_key, best, entry);
		*found = rc == 0;
		if (rc != 0)
			s_entry_release(entry);
	}
	json_decref(best);
	if (cursor)
		mdb_cursor_close(cursor);
	store_txn_abort(&txn);
	free(prefix);
	return rc;
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

/* What one write transaction decided, for the log line written after it commits. */
typedef struct {
	bool deleted;
	int attempts;
	int64_t retry_in_ms;
} alerts_outcome_t;

/* Applies the outcome of one attempt to the entry inside txn. */
static int s_outcome_apply(store_txn_t *txn, alerts_worker_t *w, const alerts_entry_t *entry,
			   bool ok, int64_t now_ms, alerts_outcome_t *out)
{
	json_t *value = NULL;
	int rc = store_get_json(txn, STORE_OUTBOX, entry->key, entry->key_len, &value);
	if (rc == MDB_CORRUPTED || (rc == 0 && entry->corrupt))
		ok = true; /* nothing to retry: drop it */
	else if (rc != 0)
		return rc;
	json_t *attempts_json = json_object_get(value, "attempts");
	int attempts = json_is_integer(attempts_json) ? (int)json_integer_value(attempts_json) : 0;
	out->attempts = attempts < INT_MAX ? attempts + 1 : attempts;
	out->deleted = ok || out->attempts >= w->hook->max_attempts;
	if (out->deleted) {
		rc = store_del(txn, STORE_OUTBOX, entry->key, entry->key_len);
	} else {
		out->retry_in_ms = s_backoff_ms(w->hook, out->attempts);
		rc = json_object_set_new(value, "attempts", json_integer(out->attempts)) ||
		     json_object_set_new(value, "next_attempt",
					 json_integer(now_ms + out->retry_in_ms)) ? -ENOMEM : 0;
		if (rc == 0)
			rc = store_put_json(txn, STORE_OUTBOX, entry->key, entry->key_len, value);
	}
	json_decref(value);
	return rc;
}

/*
 * Records the outcome in its own write transaction, growing the map when it is full. Returns 0
 * or the LMDB error that left the entry as it was.
 */
static int s_outcome_record(alerts_worker_t *w, const alerts_entry_t *entry, bool ok,
			     const char *reason)
{
	const char *name = w->hook->name;
	alerts_outcome_t out = { 0 };
	int rc = MDB_MAP_FULL;
	for (int tries = 0; rc == MDB_MAP_FULL && tries < ALERTS_GROW_TRIES; tries++) {
		store_txn_t txn;
		rc = store_txn_begin(w->alerts->store, true, &txn);
		if (rc != 0)
			break;
		rc = s_outcome_apply(&txn, w, entry, ok, s_clock_ms(CLOCK_REALTIME), &out);
		if (rc == 0)
			rc = store_txn_commit(&txn);
		else
			store_txn_abort(&txn);
		if (rc == MDB_MAP_FULL && store_grow(w->alerts->store) != 0)
			break;
	}
	unsigned long long id = (unsigned long long)entry->delivery;
	if (rc == MDB_NOTFOUND)
		return 0; /* already gone: nothing to record */
	if (rc != 0)
		log_warnx("hook %s: recording delivery %llu: %s", name, id, store_strerror(rc));
	else if (entry->corrupt)
		log_warnx("hook %s: dropped an unreadable outbox entry", name);
	else if (ok)
		log_info("hook %s delivered %llu (%s)", name, id, entry->topic);
	else if (out.deleted)
		log_warnx("hook %s: giving up delivery %llu after %d attempts: %s", name, id,
			  out.attempts, reason);
	else
		log_warnx("hook %s: delivery %llu failed (attempt %d of %d): %s; retrying in %lld ms",
			  name, id, out.attempts, w->hook->max_attempts, reason,
			  (long long)out.retry_in_ms);
	return rc;
}

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

/*
 * Feeds the child's stdin without blocking (the pipe is non-blocking) and reaps it, polling with
 * short sleeps until it exits or the timeout passes; then the child's process group is killed.
 */
static bool s_exec_wait(const config_hook_t *hook, pid_t pid, int in_fd, const char *body,
			size_t len, char *reason, size_t rlen)
{
	int64_t deadline = s_clock_ms(CLOCK_MONOTONIC) + hook->timeout_ms;
	size_t off = 0;
	long sleep_us = 500;
	int status = 0;
	for (;;) {
		if (in_fd >= 0 && s_exec_feed(in_fd, body, len, &off)) {
			close(in_fd);
			in_fd = -1;
		}
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(reason, rlen, "waiting for the hook: %s", strerror(errno));
			if (in_fd >= 0)
				close(in_fd);
			return false;
		}
		if (s_clock_ms(CLOCK_MONOTONIC) >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			if (in_fd >= 0)
				close(in_fd);
			snprintf(reason, rlen, "timed out after %lld ms", (long long)hook->timeout_ms);
			return false;
		}
		struct timespec ts = { 0, sleep_us * 1000 };
		nanosleep(&ts, NULL);
		sleep_us = sleep_us < 20000 ? sleep_us * 2 : 20000;
	}
	if (in_fd >= 0)
		close(in_fd);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFEXITED(status))
		snprintf(reason, rlen, "exit status %d", WEXITSTATUS(status));
	else
		snprintf(reason, rlen, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return false;
}

/*
 * Runs an exec hook: argv as configured, the body on stdin, stdout to /dev/null, stderr shared
 * with the daemon, no other descriptor. The child gets its own process group so that a timeout
 * kills whatever it started too, an empty signal mask and default dispositions.
 */
static bool s_attempt_exec(const config_hook_t *hook, const alerts_entry_t *entry, char *reason,
			   size_t rlen)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(reason, rlen, "pipe: %s", strerror(errno));
		return false;
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
		return false;
	}
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	return s_exec_wait(hook, pid, fds[1], entry->body, entry->body_len, reason, rlen);
}

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
static struct curl_slist *s_url_headers(const config_hook_t *hook, const alerts_entry_t *entry)
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

/* Runs a url hook: one POST of the body on a fresh handle; a 2xx is success. */
static bool s_attempt_url(const config_hook_t *hook, const alerts_entry_t *entry, char *reason,
			  size_t rlen)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = s_url_headers(hook, entry);
	if (!curl || !headers) {
		curl_easy_cleanup(curl);
		curl_slist_free_all(headers);
		snprintf(reason, rlen, "out of memory");
		return false;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(curl, CURLOPT_URL, hook->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, entry->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)entry->body_len);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "incidentd/" INCIDENTD_VERSION);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)hook->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_discard);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode code = curl_easy_perform(curl);
	long status = 0;
	if (code == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (code != CURLE_OK)
		snprintf(reason, rlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(code));
	else if (status < 200 || status > 299)
		snprintf(reason, rlen, "HTTP %ld", status);
	return code == CURLE_OK && status >= 200 && status <= 299;
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
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(delay_ms / 1000);
	until.tv_nsec += (long)(delay_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&a->mutex);
	while (!a->stop && a->generation == w->seen_generation)
		if (pthread_cond_timedwait(&a->cond, &a->mutex, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&a->mutex);
}

/* Starts a round: false when the alerts are stopping. */
static bool s_worker_round_begin(alerts_worker_t *w)
{
	alerts_t *a = w->alerts;
	pthread_mutex_lock(&a->mutex);
	bool stop = a->stop;
	w->seen_generation = a->generation;
	pthread_mutex_unlock(&a->mutex);
	return !stop;
}

static void *s_worker_main(void *arg)
{
	alerts_worker_t *w = arg;
	const config_hook_t *hook = w->hook;
	while (s_worker_round_begin(w)) {
		alerts_entry_t entry = { 0 };
		bool found;
		int64_t next_due;
		int64_t now = s_clock_ms(CLOCK_REALTIME);
		int rc = s_outbox_scan(w, now, &entry, &found, &next_due);
		if (rc != 0) {
			log_warnx("hook %s: reading the outbox: %s", hook->name, store_strerror(rc));
			s_worker_wait(w, ALERTS_RETRY_READ_MS);
			continue;
		}
		if (!found) {
			s_worker_wait(w, next_due == INT64_MAX ? -1 : next_due - now);
			continue;
		}
		char reason[ALERTS_REASON_LEN] = "no exec or url configured";
		bool ok = false;
		if (!entry.corrupt && hook->url)
			ok = s_attempt_url(hook, &entry, reason, sizeof reason);
		else if (!entry.corrupt && hook->exec_argv && hook->exec_argv[0])
			ok = s_attempt_exec(hook, &entry, reason, sizeof reason);
		rc = s_outcome_record(w, &entry, ok, reason);
		s_entry_release(&entry);
		/* The entry is unchanged and still due: do not spin on it. */
		if (rc != 0)
			s_worker_wait(w, ALERTS_RETRY_READ_MS);
	}
	return NULL;
}

static void s_stop_and_join(alerts_t *a)
{
	pthread_mutex_lock(&a->mutex);
	a->stop = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mutex);
	for (size_t i = 0; i < a->n_workers; i++)
		if (a->workers[i].started)
			pthread_join(a->workers[i].thread, NULL);
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
		w->alerts = a;
		w->hook = &a->cfg->hooks[i];
		rc = pthread_create(&w->thread, NULL, s_worker_main, w);
		w->started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return rc;
}

/* True when an outbox key (hook name, NUL, id) belongs to a hook of cfg. */
static bool s_key_has_hook(const config_t *cfg, const MDB_val *k)
{
	const char *name = k->mv_data;
	size_t len = strnlen(name, k->mv_size);
	for (size_t i = 0; i < cfg->n_hooks; i++)
		if (strlen(cfg->hooks[i].name) == len && memcmp(cfg->hooks[i].name, name, len) == 0)
			return true;
	return false;
}

/*
 * Deliveries waiting for a hook the configuration no longer has are kept (a configuration
 * mistake must not lose alerts) but would never be sent: say so at start-up.
 */
static void s_report_orphans(store_t *store, const config_t *cfg)
{
	store_txn_t txn;
	MDB_cursor *cursor;
	MDB_val k, v;
	size_t orphans = 0;
	if (store_txn_begin(store, false, &txn) != 0)
		return;
	if (store_cursor_open(&txn, STORE_OUTBOX, &cursor) == 0) {
		for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT))
			orphans += !s_key_has_hook(cfg, &k);
		mdb_cursor_close(cursor);
	}
	store_txn_abort(&txn);
	if (orphans)
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
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &attr);
	pthread_condattr_destroy(&attr);
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
	a->workers = calloc(cfg->n_hooks, sizeof *a->workers);
	a->n_workers = cfg->n_hooks;
	int rc = a->workers ? s_workers_start(a) : ENOMEM;
	if (rc != 0) {
		log_warnx("hooks: cannot start delivery threads: %s", strerror(rc));
		alerts_destroy(&a);
		return NULL;
	}
	return a;
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

void alerts_destroy(alerts_t **alerts_p)
{
	alerts_t *a = *alerts_p;
	if (!a)
		return;
	if (a->workers)
		s_stop_and_join(a);
	free(a->workers);
	if (a->curl_ready)
		curl_global_cleanup();
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mutex);
	free(a);
	*alerts_p = NULL;
}
