/*
 * Cluster mode against real parts: three nats-servers (nats_cluster.c) forming one JetStream
 * cluster on loopback, and real incidentd nodes on ipc:// endpoints sharing its stream.
 *
 * What a user of a cluster relies on: a write acknowledged by any node is on every node, once,
 * with the same ids and verdicts (equal digests); a node killed with -9 catches up when it
 * comes back; a fresh node replays the stream to the same state; a deadline is raised once by
 * the leader, and by a new leader when the old one dies or stalls; with two of three
 * nats-servers down writes are refused `unavailable` and reads go on.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>
#include <nats/nats.h>
#include <zmq.h>

#include "checks.h"
#include "http_client.h"
#include "nats_cluster.h"
#include "receiver.h"

#define NODES_MAX 5
/* How long a request to a node waits before the client tries the next node. */
#define REQUEST_MS 2000
/* Bound on nodes agreeing after a change. */
#define CONVERGE_MS 30000
/* The lease the tests configure: a new leader takes over within it (plus a renewal turn). */
#define LEASE_MS 1000

typedef struct {
	nats_cluster_t *nats;
	char stream[32];
	int hook_port;        /* > 0: every node has a url hook to 127.0.0.1:hook_port */
	int http_port[NODES_MAX]; /* > 0: node i listens for HTTP on 127.0.0.1:http_port[i] */
	h_daemon_t *nodes[NODES_MAX];
	int n;
} cluster_t;

/* The config of node i: a 3 s rule for category 1 and [cluster]. */
static char *s_config(const cluster_t *c, int i)
{
	char *text = NULL;
	if (asprintf(&text,
		     "[sla quick]\n"
		     "start = detected\n"
		     "stop = notified\n"
		     "stop_clock = received\n"
		     "category.1 = 3s\n"
		     "\n[cluster]\n"
		     "nats = %s\n"
		     "node = node-%d\n"
		     "stream = %s\n"
		     "lease = %dms\n",
		     nats_cluster_urls(c->nats), i + 1, c->stream, LEASE_MS) < 0)
		return NULL;
	char *with = NULL;
	if (c->hook_port > 0 &&
	    asprintf(&with, "%s\n[hook pager]\nurl = http://127.0.0.1:%d/hook\nbackoff = 200ms\n"
			    "max_backoff = 200ms\ntimeout = 2s\n", text, c->hook_port) >= 0) {
		free(text);
		text = with;
	}
	if (c->http_port[i] > 0 &&
	    asprintf(&with, "%s\n[http]\nlisten = 127.0.0.1:%d\n", text, c->http_port[i]) >= 0) {
		free(text);
		text = with;
	}
	return text;
}

/* Adds node n (not started). */
static h_daemon_t *s_node_add(cluster_t *c)
{
	char *conf = s_config(c, c->n);
	h_daemon_t *d = conf ? h_new(conf) : NULL;
	free(conf);
	if (d)
		c->nodes[c->n++] = d;
	return d;
}

static void s_cluster_up_hooked(cluster_t *c, int nodes, int hook_port)
{
	memset(c, 0, sizeof *c);
	c->hook_port = hook_port;
	snprintf(c->stream, sizeof c->stream, "T%d", (int)getpid());
	c->nats = nats_cluster_new();
	assert_non_null(c->nats);
	for (int i = 0; i < nodes; i++) {
		h_daemon_t *d = s_node_add(c);
		assert_non_null(d);
		assert_int_equal(h_start(d), 0);
	}
}

static void s_cluster_up(cluster_t *c, int nodes)
{
	s_cluster_up_hooked(c, nodes, 0);
}

/*
 * Stops every node with SIGTERM (each must exit 0: a clean stop of the cluster's threads, and
 * under the sanitizers no leak), then the nats-servers. Returns passed, false when a node did
 * not exit 0. Also the teardown of every test (passed false: the logs are printed), so that a
 * failed assertion leaves no process behind.
 */
static bool s_cluster_down(cluster_t *c, bool passed)
{
	for (int i = 0; i < c->n; i++)
		if (h_stop_clean(c->nodes[i]) != 0)
			passed = false;
	for (int i = 0; i < c->n; i++) {
		if (passed)
			h_pass(c->nodes[i]);
		h_destroy(&c->nodes[i]);
	}
	c->n = 0;
	if (passed && c->nats)
		nats_cluster_pass(c->nats);
	nats_cluster_destroy(&c->nats);
	return passed;
}

static int s_setup(void **state)
{
	*state = calloc(1, sizeof(cluster_t));
	return *state ? 0 : -1;
}

static int s_teardown(void **state)
{
	cluster_t *c = *state;
	if (c->n > 0 || c->nats)
		s_cluster_down(c, false);
	free(c);
	return 0;
}

/* The reply of node d to {"op": op} (a new reference), or NULL when it did not answer. */
static json_t *s_ask(h_daemon_t *d, const char *op)
{
	json_t *req = json_pack("{s:s, s:i}", "op", op, "id", 1);
	json_t *r = h_request_as(d, NULL, req, REQUEST_MS);
	json_decref(req);
	return r;
}

/* Member key of node d's reply to op (a new reference), or NULL. */
static json_t *s_ask_member(h_daemon_t *d, const char *op, const char *key)
{
	json_t *r = s_ask(d, op);
	json_t *v = r && h_is_ok(r) ? json_incref(json_object_get(r, key)) : NULL;
	json_decref(r);
	return v;
}

/* status's "cluster" object of node d (a new reference), or NULL. */
static json_t *s_cluster_status(h_daemon_t *d)
{
	return s_ask_member(d, "status", "cluster");
}

/* A count of status, or -1. */
static long long s_status_int(h_daemon_t *d, const char *key)
{
	json_t *v = s_ask_member(d, "status", key);
	long long n = v ? json_integer_value(v) : -1;
	json_decref(v);
	return n;
}

/*
 * Waits until every running node has applied the same sequence, that sequence is the stream's
 * last, and their digests are equal. Returns the sequence, or 0 when they did not agree in time.
 */
static uint64_t s_converge(cluster_t *c)
{
	int64_t until = h_mono_ms() + CONVERGE_MS;
	while (h_mono_ms() < until) {
		uint64_t seq = 0, last = 0;
		char digest[80] = "";
		bool same = true;
		for (int i = 0; i < c->n && same; i++) {
			if (c->nodes[i]->pid <= 0)
				continue;
			json_t *cl = s_cluster_status(c->nodes[i]);
			uint64_t a = (uint64_t)json_integer_value(json_object_get(cl, "applied"));
			uint64_t l = (uint64_t)json_integer_value(json_object_get(cl, "last"));
			const char *dg = json_string_value(json_object_get(cl, "digest"));
			if (!cl || !dg || (seq && a != seq) || (digest[0] && strcmp(dg, digest) != 0))
				same = false;
			seq = a;
			last = l > last ? l : last;
			if (dg)
				snprintf(digest, sizeof digest, "%s", dg);
			json_decref(cl);
		}
		if (same && seq > 0 && seq == last)
			return seq;
		usleep(100 * 1000);
	}
	for (int i = 0; i < c->n; i++) {
		json_t *cl = c->nodes[i]->pid > 0 ? s_cluster_status(c->nodes[i]) : NULL;
		char *text = cl ? json_dumps(cl, 0) : NULL;
		print_error("node %d: %s\n", i + 1, text ? text : "(down)");
		free(text);
		json_decref(cl);
	}
	return 0;
}

/* An event that opens an incident when it is the first: category 2 unless set after. */
static json_t *s_event(const char *eid, const char *ref, const char *stage)
{
	json_t *ev = h_event("csp-north", eid, ref, stage);
	json_object_set_new(ev, "category", json_integer(2));
	json_object_set_new(ev, "title", json_string("link down"));
	return ev;
}

/* Sends one event to node i, or the next running node when i does not answer. */
static json_t *s_send(cluster_t *c, int i, json_t *ev)
{
	for (int tries = 0; tries < c->n; tries++) {
		h_daemon_t *d = c->nodes[(i + tries) % c->n];
		if (d->pid <= 0)
			continue;
		json_t *r = h_request_as(d, NULL, ev, REQUEST_MS);
		if (r && !(h_error_code(r) && strcmp(h_error_code(r), "unavailable") == 0))
			return r;
		json_decref(r);
	}
	return NULL;
}

/* What the nodes answered to a stream of events. */
typedef struct {
	int ok, duplicates, refused;
} streamed_t;

/*
 * Streams n events to each node of nodes[] (k of them, indices) at once, up to window in flight
 * on each, as busy clients do: position j's events are PREFIX-j-I, each opening an incident of
 * its own, so that the same prefix through other nodes sends the same events again. Fails the
 * test when a node leaves one unanswered for 60 s.
 */
static streamed_t s_stream(cluster_t *c, const int *nodes, int k, const char *prefix, int n,
			   int window)
{
	void *sock[NODES_MAX];
	zmq_pollitem_t items[NODES_MAX];
	int sent[NODES_MAX] = { 0 }, answered[NODES_MAX] = { 0 }, done = 0;
	streamed_t out = { 0 };
	for (int j = 0; j < k; j++) {
		sock[j] = h_socket(c->nodes[nodes[j]], ZMQ_DEALER);
		assert_non_null(sock[j]);
		items[j] = (zmq_pollitem_t){ .socket = sock[j], .events = ZMQ_POLLIN };
	}
	int64_t until = h_mono_ms() + 60000;
	while (done < k && h_mono_ms() < until) {
		for (int j = 0; j < k; j++) {
			while (sent[j] < n && sent[j] - answered[j] < window) {
				char eid[48];
				snprintf(eid, sizeof eid, "%s-%d-%d", prefix, j, sent[j]);
				json_t *ev = s_event(eid, eid, "detected");
				json_object_set_new(ev, "id", json_integer(sent[j]));
				char *text = json_dumps(ev, JSON_COMPACT);
				json_decref(ev);
				assert_non_null(text);
				assert_true(zmq_send(sock[j], text, strlen(text), 0) >= 0);
				free(text);
				sent[j]++;
			}
		}
		if (zmq_poll(items, k, 100) < 0)
			break;
		for (int j = 0; j < k; j++) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			while (zmq_msg_recv(&m, sock[j], ZMQ_DONTWAIT) >= 0) {
				json_t *r = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
				if (h_is_ok(r) && json_is_true(json_object_get(r, "duplicate")))
					out.duplicates++;
				else if (h_is_ok(r))
					out.ok++;
				else
					out.refused++;
				json_decref(r);
				if (++answered[j] == n)
					done++;
			}
			zmq_msg_close(&m);
		}
	}
	for (int j = 0; j < k; j++)
		h_close(c->nodes[nodes[j]], sock[j]);
	if (done < k)
		fail_msg("%d of %d streams were not answered in full", k - done, k);
	return out;
}

/* Writes a detection of a new incident through node i (or the next that answers); fails otherwise. */
static void s_write_ok(cluster_t *c, int i, const char *eid, const char *ref)
{
	json_t *ev = s_event(eid, ref, "detected");
	json_t *r = s_send(c, i, ev);
	CHECK_OK(r);
	json_decref(r);
	json_decref(ev);
}

/* The leader's index, or -1 when no node names one that runs. */
static int s_leader(cluster_t *c)
{
	for (int i = 0; i < c->n; i++) {
		if (c->nodes[i]->pid <= 0)
			continue;
		json_t *cl = s_cluster_status(c->nodes[i]);
		const char *name = json_string_value(json_object_get(cl, "leader"));
		int found = -1;
		if (name && strncmp(name, "node-", 5) == 0)
			found = atoi(name + 5) - 1;
		json_decref(cl);
		if (found >= 0 && found < c->n && c->nodes[found]->pid > 0)
			return found;
	}
	return -1;
}

static int s_wait_leader(cluster_t *c, int not, int timeout_ms)
{
	int64_t until = h_mono_ms() + timeout_ms;
	while (h_mono_ms() < until) {
		int l = s_leader(c);
		if (l >= 0 && l != not)
			return l;
		usleep(50 * 1000);
	}
	return -1;
}

/* The breaches node d lists (a new reference). */
static json_t *s_breaches(h_daemon_t *d)
{
	return s_ask_member(d, "breaches", "breaches");
}

/*
 * Events sent to every node in turn: each is acknowledged, every node holds every one (the
 * same incident ids on each), and their digests agree; a duplicate sent to another node is a
 * duplicate there too.
 */
static void test_writes_reach_every_node(void **state)
{
	cluster_t *c = *state;
	s_cluster_up(c, 3);
	for (int i = 0; i < 60; i++) {
		char eid[32], ref[32];
		snprintf(eid, sizeof eid, "e%d", i);
		snprintf(ref, sizeof ref, "R%d", i / 2);
		json_t *ev = s_event(eid, ref, i % 2 ? "notified" : "detected");
		json_t *r = s_send(c, i % 3, ev);
		CHECK_OK(r);
		json_decref(r);
		json_decref(ev);
	}
	assert_true(s_converge(c) >= 60);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(s_status_int(c->nodes[i], "incidents"), 30);
		assert_int_equal(s_status_int(c->nodes[i], "events"), 60);
	}
	/* The same event again, through another node: a duplicate of the same incident. */
	json_t *ev = s_event("e4", "R2", "detected");
	json_t *first = s_send(c, 0, ev), *again = s_send(c, 2, ev);
	CHECK_OK(again);
	assert_true(json_is_true(json_object_get(again, "duplicate")));
	assert_string_equal(json_string_value(json_object_get(first, "incident")),
			    json_string_value(json_object_get(again, "incident")));
	json_decref(first);
	json_decref(again);
	json_decref(ev);
	/* Reads on the node one wrote to see the write. */
	ev = s_event("fresh", "FRESH", "detected");
	json_t *r = s_send(c, 1, ev);
	CHECK_OK(r);
	json_t *get = h_requestf(c->nodes[1], "{s:s, s:i, s:s}", "op", "get", "id", 2, "incident",
				 json_string_value(json_object_get(r, "incident")));
	CHECK_OK(get);
	json_decref(get);
	json_decref(r);
	json_decref(ev);
	assert_true(s_cluster_down(c, true));
}

/* Opens the store of data_dir read-only, or NULL. */
static MDB_env *s_store_open(const char *data_dir)
{
	MDB_env *env = NULL;
	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 64) != 0 ||
	    mdb_env_open(env, data_dir, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0) != 0) {
		mdb_env_close(env);
		return NULL;
	}
	return env;
}

/*
 * Walks db in both transactions side by side; returns the records compared, or -1. The main
 * database (name NULL) is compared by its keys alone: its values are where each store keeps
 * its named databases' pages.
 */
static long s_db_equal(MDB_txn *ta, MDB_txn *tb, const char *name)
{
	MDB_dbi da, db;
	MDB_cursor *ca = NULL, *cb = NULL;
	if (mdb_dbi_open(ta, name, 0, &da) != 0 || mdb_dbi_open(tb, name, 0, &db) != 0 ||
	    mdb_cursor_open(ta, da, &ca) != 0 || mdb_cursor_open(tb, db, &cb) != 0) {
		print_error("database %s: cannot open it in both stores\n", name);
		mdb_cursor_close(ca);
		return -1;
	}
	long n = 0;
	MDB_val ka, va, kb, vb;
	int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST), rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
	while (ra == 0 && rb == 0) {
		if (ka.mv_size != kb.mv_size || memcmp(ka.mv_data, kb.mv_data, ka.mv_size) != 0 ||
		    (name && (va.mv_size != vb.mv_size ||
			      memcmp(va.mv_data, vb.mv_data, va.mv_size) != 0))) {
			print_error("database %s: record %ld differs: %.*s\n", name, n,
				    (int)(va.mv_size < 200 ? va.mv_size : 200), (const char *)va.mv_data);
			n = -1;
			break;
		}
		n++;
		ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
		rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
	}
	if (n >= 0 && ra != rb) {
		print_error("database %s: one store has more records after %ld\n", name, n);
		n = -1;
	}
	mdb_cursor_close(ca);
	mdb_cursor_close(cb);
	return n;
}

/*
 * Compares two stopped nodes' stores record by record, every database (the names are the
 * keys of the main database). Returns the records compared, or -1 at the first difference.
 */
static long s_stores_equal(const char *dir_a, const char *dir_b)
{
	MDB_env *a = s_store_open(dir_a), *b = s_store_open(dir_b);
	MDB_txn *ta = NULL, *tb = NULL;
	MDB_dbi main_a;
	MDB_cursor *names = NULL;
	long total = -1;
	if (a && b && mdb_txn_begin(a, NULL, MDB_RDONLY, &ta) == 0 &&
	    mdb_txn_begin(b, NULL, MDB_RDONLY, &tb) == 0 && mdb_dbi_open(ta, NULL, 0, &main_a) == 0 &&
	    mdb_cursor_open(ta, main_a, &names) == 0) {
		total = s_db_equal(ta, tb, NULL); /* the main database: the names themselves */
		MDB_val k, v;
		for (int rc = mdb_cursor_get(names, &k, &v, MDB_FIRST); rc == 0 && total >= 0;
		     rc = mdb_cursor_get(names, &k, &v, MDB_NEXT)) {
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
			long n = s_db_equal(ta, tb, name);
			total = n < 0 ? -1 : total + n;
		}
	}
	mdb_cursor_close(names);
	if (ta)
		mdb_txn_abort(ta);
	if (tb)
		mdb_txn_abort(tb);
	mdb_env_close(a);
	mdb_env_close(b);
	return total;
}

/* Stops every node; each store must hold the same records as node 1's, more than min. */
static void s_stop_and_compare(cluster_t *c, long min)
{
	for (int i = 0; i < c->n; i++)
		assert_int_equal(h_stop(c->nodes[i]), 0);
	for (int i = 1; i < c->n; i++) {
		long n = s_stores_equal(c->nodes[0]->data_dir, c->nodes[i]->data_dir);
		if (n < 0)
			fail_msg("node %d's store differs from node 1's", i + 1);
		assert_true(n > min);
	}
}

/*
 * Determinism: two fresh nodes replay the stream from its start and reach the digest of the
 * nodes that applied it live; stopped, every store holds the same records byte for byte.
 */
static void test_fresh_nodes_replay_to_the_same_state(void **state)
{
	cluster_t *c = *state;
	s_cluster_up(c, 2);
	for (int i = 0; i < 40; i++) {
		char eid[32], ref[32];
		snprintf(eid, sizeof eid, "e%d", i);
		snprintf(ref, sizeof ref, "R%d", i % 7);
		const char *stages[] = { "detected", "notified", "acknowledged", "resolved" };
		json_t *ev = s_event(eid, ref, stages[(i / 7) % 4]);
		json_object_set_new(ev, "category", json_integer(1 + i % 3));
		json_t *r = s_send(c, i % 2, ev);
		assert_non_null(r); /* refusals (order) are entries too */
		json_decref(r);
		json_decref(ev);
	}
	uint64_t seq = s_converge(c);
	assert_true(seq >= 40);
	for (int k = 0; k < 2; k++) {
		h_daemon_t *d = s_node_add(c);
		assert_non_null(d);
		assert_int_equal(h_start(d), 0);
	}
	assert_int_equal(s_converge(c), seq);
	s_stop_and_compare(c, 100);
	assert_true(s_cluster_down(c, true));
}

typedef struct {
	pid_t pid;
	int delay_ms;
} killer_t;

static void *s_killer(void *arg)
{
	killer_t *k = arg;
	usleep((useconds_t)k->delay_ms * 1000);
	kill(k->pid, SIGKILL);
	return NULL;
}

/*
 * kill -9 of a node while events stream to every node: every acknowledged event is on every
 * surviving node, once, and on the killed node after its restart and catch-up.
 */
static void test_kill9_node_while_streaming(void **state)
{
	cluster_t *c = *state;
	s_cluster_up(c, 3);
	killer_t k = { c->nodes[1]->pid, 700 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_killer, &k), 0);
	int acked = 0;
	int64_t until = h_mono_ms() + 2000;
	for (int i = 0; h_mono_ms() < until || i < 100; i++) {
		char eid[32];
		snprintf(eid, sizeof eid, "k%d", i);
		json_t *ev = s_event(eid, eid, "detected");
		json_t *r = s_send(c, i % 3, ev);
		CHECK_OK(r);
		acked++;
		json_decref(r);
		json_decref(ev);
	}
	pthread_join(t, NULL);
	h_kill9(c->nodes[1]); /* reaps it */
	assert_true(s_converge(c) > 0);
	assert_int_equal(s_status_int(c->nodes[0], "incidents"), acked);
	assert_int_equal(s_status_int(c->nodes[2], "incidents"), acked);
	assert_int_equal(h_start(c->nodes[1]), 0);
	assert_true(s_converge(c) > 0);
	assert_int_equal(s_status_int(c->nodes[1], "incidents"), acked);
	assert_int_equal(s_status_int(c->nodes[1], "events"), acked);
	assert_true(s_cluster_down(c, true));
}

/* The one breach of incident on every running node: its detected kind; fails otherwise. */
static void s_check_one_breach(cluster_t *c, const char *incident)
{
	for (int i = 0; i < c->n; i++) {
		if (c->nodes[i]->pid <= 0)
			continue;
		json_t *list = s_breaches(c->nodes[i]);
		size_t n = 0, idx;
		json_t *b;
		json_array_foreach(list, idx, b)
			n += strcmp(json_string_value(json_object_get(b, "incident")), incident) == 0;
		if (n != 1)
			check_fail_(__FILE__, __LINE__, list, "expected one breach of the incident");
		json_decref(list);
	}
}

/* Waits until node d lists a breach of incident; returns when it was detected, or 0. */
static int64_t s_wait_breach(h_daemon_t *d, const char *incident, int timeout_ms)
{
	int64_t until = h_mono_ms() + timeout_ms;
	while (h_mono_ms() < until) {
		json_t *list = s_breaches(d);
		size_t idx;
		json_t *b;
		int64_t at = 0;
		json_array_foreach(list, idx, b)
			if (strcmp(json_string_value(json_object_get(b, "incident")), incident) == 0)
				at = h_parse_utc_ms(json_string_value(json_object_get(b, "detected_at")));
		json_decref(list);
		if (at)
			return at;
		usleep(50 * 1000);
	}
	return 0;
}

/*
 * Three nodes, a leader among them, and an incident of category 1 (the 3 s rule) opened just
 * now through another node, its id in incident: a deadline pending on the leader. Returns the
 * leader's index.
 */
static int s_deadline_pending(cluster_t *c, const char *eid, char incident[32])
{
	s_cluster_up(c, 3);
	int leader = s_wait_leader(c, -1, 10000);
	assert_true(leader >= 0);
	json_t *ev = s_event(eid, eid, "detected");
	json_object_set_new(ev, "category", json_integer(1));
	json_t *r = s_send(c, (leader + 1) % 3, ev);
	CHECK_OK(r);
	snprintf(incident, 32, "%s", json_string_value(json_object_get(r, "incident")));
	json_decref(r);
	json_decref(ev);
	return leader;
}

/*
 * kill -9 of the leader with a deadline pending: a new leader raises the breach within the
 * lease plus a second of its due time, once.
 */
static void test_leader_killed_with_a_deadline_pending(void **state)
{
	cluster_t *c = *state;
	char incident[32];
	int leader = s_deadline_pending(c, "d1", incident);
	int64_t due = h_now_ms() + 3000; /* at most: the detection was just before */
	h_kill9(c->nodes[leader]);
	int other = (leader + 1) % 3;
	int64_t detected = s_wait_breach(c->nodes[other], incident, 3000 + LEASE_MS + 5000);
	assert_true(detected > 0);
	assert_true(detected <= due + LEASE_MS + 1000);
	assert_true(s_converge(c) > 0);
	s_check_one_breach(c, incident);
	/* The old leader comes back: it catches up and raises nothing more. */
	assert_int_equal(h_start(c->nodes[leader]), 0);
	assert_true(s_converge(c) > 0);
	s_check_one_breach(c, incident);
	assert_true(s_cluster_down(c, true));
}

/*
 * The leader paused (SIGSTOP) past its lease and resumed: another node raised the breach; the
 * resumed one raises no second one and rejoins.
 */
static void test_paused_leader_no_duplicate_breach(void **state)
{
	cluster_t *c = *state;
	char incident[32];
	int leader = s_deadline_pending(c, "p1", incident);
	kill(c->nodes[leader]->pid, SIGSTOP);
	int other = (leader + 1) % 3;
	assert_true(s_wait_breach(c->nodes[other], incident, 3000 + LEASE_MS + 5000) > 0);
	kill(c->nodes[leader]->pid, SIGCONT);
	assert_true(s_converge(c) > 0);
	usleep(2 * LEASE_MS * 1000); /* its timers run late now: give them the chance to misfire */
	assert_true(s_converge(c) > 0);
	s_check_one_breach(c, incident);
	assert_true(s_cluster_down(c, true));
}

/* The test's own JetStream client on the cluster: to publish straight to the stream, or ask. */
typedef struct {
	natsConnection *nc;
	jsCtx *js;
	char subject[64]; /* the stream's */
} js_client_t;

/* Connects j to the cluster's servers; 0, or -1 (j closed). */
static int s_js_open(cluster_t *c, js_client_t *j)
{
	*j = (js_client_t){ 0 };
	snprintf(j->subject, sizeof j->subject, "%s.log", c->stream);
	if (natsConnection_ConnectTo(&j->nc, nats_cluster_urls(c->nats)) == NATS_OK &&
	    natsConnection_JetStream(&j->js, j->nc, NULL) == NATS_OK)
		return 0;
	natsConnection_Destroy(j->nc);
	j->nc = NULL;
	return -1;
}

static void s_js_close(js_client_t *j)
{
	jsCtx_Destroy(j->js);
	natsConnection_Destroy(j->nc);
	*j = (js_client_t){ 0 };
}

/* Publishes len bytes of data on the stream's subject; NATS_OK or why not. */
static natsStatus s_js_publish(js_client_t *j, const char *data, int len)
{
	jsPubAck *ack = NULL;
	natsStatus st = js_Publish(&ack, j->js, j->subject, data, len, NULL, NULL);
	jsPubAck_Destroy(ack);
	return st;
}

/*
 * The index of the nats-server leading the stream (servers are named "n<i>"), or -1 when none
 * is known within 10 s.
 */
static int s_stream_leader(cluster_t *c)
{
	js_client_t j;
	int leader = -1;
	if (s_js_open(c, &j) != 0)
		return -1;
	for (int64_t until = h_mono_ms() + 10000; leader < 0 && h_mono_ms() < until;) {
		jsStreamInfo *si = NULL;
		jsErrCode jerr = 0;
		if (js_GetStreamInfo(&si, j.js, c->stream, NULL, &jerr) == NATS_OK && si->Cluster &&
		    si->Cluster->Leader && si->Cluster->Leader[0] == 'n' &&
		    si->Cluster->Leader[1] >= '0' && si->Cluster->Leader[1] < '3')
			leader = si->Cluster->Leader[1] - '0';
		jsStreamInfo_Destroy(si);
		if (leader < 0)
			usleep(100 * 1000);
	}
	s_js_close(&j);
	return leader;
}

/*
 * One nats-server down: writes go on. Two down: a write is refused `unavailable` (never an
 * acknowledgement without a quorum) and reads go on. Both back: writes go on again.
 */
static void test_nats_quorum(void **state)
{
	cluster_t *c = *state;
	s_cluster_up(c, 2);
	s_write_ok(c, 0, "q0", "Q0");
	/*
	 * The stream's leader is the one kept: alone, it takes appends and times them out (a
	 * follower alone refuses them at once), so writes wait out their 5 s.
	 */
	int keep = s_stream_leader(c), down[2], k = 0;
	assert_true(keep >= 0);
	for (int i = 0; i < 3; i++)
		if (i != keep)
			down[k++] = i;
	assert_int_equal(nats_cluster_kill(c->nats, down[0]), 0);
	int64_t until = h_mono_ms() + 20000;
	json_t *ev, *r = NULL;
	for (int i = 0; h_mono_ms() < until; i++) {
		char eid[16];
		snprintf(eid, sizeof eid, "q1-%d", i);
		ev = s_event(eid, "Q1", "detected");
		r = h_request_as(c->nodes[0], NULL, ev, 8000);
		json_decref(ev);
		if (r && h_is_ok(r))
			break;
		json_decref(r);
		r = NULL;
	}
	CHECK_OK(r);
	json_decref(r);
	assert_int_equal(nats_cluster_kill(c->nats, down[1]), 0);
	ev = s_event("q2", "Q2", "detected");
	r = h_request_as(c->nodes[0], NULL, ev, 15000);
	CHECK_ERROR(r, "unavailable", NULL);
	json_decref(r);
	/*
	 * More writes, one by one, than the entries a node keeps in flight (4): each is answered
	 * `unavailable` within the 5 s a write waits, its wait for room included (the last ones
	 * would otherwise wait 5 s for room, then 5 s for their own entry).
	 */
	void *sock = h_socket(c->nodes[1], ZMQ_DEALER);
	assert_non_null(sock);
	int64_t sent_at[8];
	for (int i = 0; i < 8; i++) {
		char text[160];
		int n = snprintf(text, sizeof text, "{\"op\":\"event\",\"id\":%d,\"provider\":"
				 "\"csp-north\",\"event_id\":\"q3-%d\",\"ref\":\"Q3-%d\","
				 "\"stage\":\"detected\",\"category\":2,\"title\":\"t\"}", i, i, i);
		assert_true(zmq_send(sock, text, (size_t)n, 0) == n);
		sent_at[i] = h_mono_ms();
		usleep(100 * 1000);
	}
	for (int i = 0; i < 8; i++) {
		zmq_pollitem_t item = { .socket = sock, .events = ZMQ_POLLIN };
		assert_int_equal(zmq_poll(&item, 1, 15000), 1);
		char text[1024];
		int n = zmq_recv(sock, text, sizeof text - 1, 0);
		assert_true(n > 0);
		r = json_loadb(text, (size_t)n, 0, NULL);
		CHECK_ERROR(r, "unavailable", NULL);
		json_int_t id = json_integer_value(json_object_get(r, "id"));
		assert_true(id >= 0 && id < 8);
		int64_t waited = h_mono_ms() - sent_at[id];
		if (waited > 7000)
			fail_msg("write %d answered after %lld ms", (int)id, (long long)waited);
		json_decref(r);
	}
	h_close(c->nodes[1], sock);
	/*
	 * Reads go on from each node's own store: the writer's holds both incidents it was
	 * answered for; the other answers with what it had applied (it may not have had the
	 * time to apply the second before the quorum went).
	 */
	assert_int_equal(s_status_int(c->nodes[0], "incidents"), 2);
	assert_true(s_status_int(c->nodes[1], "incidents") >= 1);
	assert_int_equal(nats_cluster_start(c->nats, down[0]), 0);
	assert_int_equal(nats_cluster_start(c->nats, down[1]), 0);
	until = h_mono_ms() + 30000;
	r = NULL;
	while (h_mono_ms() < until) {
		r = h_request_as(c->nodes[1], NULL, ev, 8000);
		if (r && h_is_ok(r))
			break;
		json_decref(r);
		r = NULL;
		usleep(200 * 1000);
	}
	CHECK_OK(r);
	json_decref(r);
	json_decref(ev);
	assert_true(s_converge(c) > 0);
	assert_true(s_cluster_down(c, true));
}

/*
 * Hooks run on the leader alone, and their outcomes are log entries: a breach's delivery that
 * failed while the receiver was down is made by the next leader after the first is killed,
 * once, with the same delivery id; the old leader, back, sends nothing more.
 */
static void test_hook_delivery_survives_the_leader(void **state)
{
	cluster_t *c = *state;
	h_receiver_t rx = { 0 };
	assert_int_equal(h_receiver_bind(&rx, 0, 0), 0); /* refuses connections until started */
	s_cluster_up_hooked(c, 3, rx.port);
	int leader = s_wait_leader(c, -1, 10000);
	assert_true(leader >= 0);
	/* Detected 10 s ago with a 3 s rule: breached on arrival, a delivery in every outbox. */
	json_t *ev = s_event("h1", "H1", "detected");
	json_object_set_new(ev, "category", json_integer(1));
	char at[64];
	time_t past = (time_t)(h_now_ms() / 1000) - 10;
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime(&past));
	json_object_set_new(ev, "at", json_string(at));
	json_t *r = s_send(c, (leader + 1) % 3, ev);
	CHECK_OK(r);
	assert_int_equal(json_array_size(json_object_get(r, "breaches")), 1);
	json_decref(r);
	json_decref(ev);
	usleep(600 * 1000); /* the leader tries, fails, records retries through the log */
	h_kill9(c->nodes[leader]);
	assert_int_equal(h_receiver_start(&rx), 0);
	assert_int_equal(h_receiver_wait(&rx, 1, true, 15000), 1);
	assert_int_equal(h_start(c->nodes[leader]), 0);
	assert_true(s_converge(c) > 0);
	usleep(1500 * 1000); /* a second delivery, if any node would make one, comes now */
	int requests = 0, ok = 0;
	h_receiver_counts(&rx, &requests, &ok, NULL);
	assert_int_equal(ok, 1);
	pthread_mutex_lock(&rx.mutex);
	for (int i = 1; i < rx.n && i < H_RECEIVER_KEPT; i++)
		assert_string_equal(rx.req[i].delivery, rx.req[0].delivery);
	assert_true(rx.req[0].delivery[0] != '\0');
	pthread_mutex_unlock(&rx.mutex);
	h_receiver_stop(&rx);
	assert_true(s_cluster_down(c, true));
}

/*
 * Busy clients on several nodes: requests that arrive together share entries (the log's group
 * commit), and an entry's requests are applied together, exactly once, also by a node killed
 * with -9 while it applied them and restarted; the same events again through other nodes are
 * all duplicates; a fresh node replays the entries to the same records, byte for byte.
 */
static void test_busy_clients_share_entries(void **state)
{
	cluster_t *c = *state;
	s_cluster_up(c, 3);
	killer_t k = { c->nodes[2]->pid, 300 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_killer, &k), 0);
	streamed_t got = s_stream(c, (int[]){ 0, 1 }, 2, "busy", 3000, 128);
	pthread_join(t, NULL);
	h_kill9(c->nodes[2]);
	assert_int_equal(got.ok, 6000);
	assert_int_equal(got.duplicates + got.refused, 0);
	uint64_t seq = s_converge(c);
	assert_true(seq > 0);
	/* Fewer entries than writes: most carried several. */
	assert_true(seq < 3000);
	assert_int_equal(s_status_int(c->nodes[0], "incidents"), 6000);
	assert_int_equal(s_status_int(c->nodes[1], "incidents"), 6000);
	assert_int_equal(h_start(c->nodes[2]), 0);
	assert_int_equal(s_converge(c), seq);
	assert_int_equal(s_status_int(c->nodes[2], "incidents"), 6000);
	assert_int_equal(s_status_int(c->nodes[2], "events"), 6000);
	got = s_stream(c, (int[]){ 2, 0 }, 2, "busy", 3000, 128);
	assert_int_equal(got.duplicates, 6000);
	assert_true(s_converge(c) > seq);
	assert_int_equal(s_status_int(c->nodes[2], "events"), 6000);
	h_daemon_t *fresh = s_node_add(c);
	assert_non_null(fresh);
	assert_int_equal(h_start(fresh), 0);
	assert_true(s_converge(c) > 0);
	s_stop_and_compare(c, 12000);
	assert_true(s_cluster_down(c, true));
}

/* The HTTP status of GET path on node i, or 0 when it did not answer. */
static long s_http_get(cluster_t *c, int i, const char *path)
{
	char url[96];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->http_port[i], path);
	hc_answer_t a;
	long status = hc_request("GET", url, NULL, NULL, NULL, 0, 2000, &a) == 0 ? a.status : 0;
	hc_answer_clear(&a);
	return status;
}

#define BACKLOG_PER_ENTRY 250
#define BACKLOG_EVENTS(entries) ((entries) * BACKLOG_PER_ENTRY)

/*
 * Appends entries batches of BACKLOG_PER_ENTRY events straight to the stream, as a node
 * "node-9" under load would (each event opening an incident): a backlog far faster to make
 * than through a node. 0 or -1.
 */
static int s_publish_backlog(cluster_t *c, int entries)
{
	js_client_t j;
	natsStatus st = s_js_open(c, &j) == 0 ? NATS_OK : NATS_ERR;
	size_t cap = 512 * BACKLOG_PER_ENTRY;
	char *data = malloc(cap);
	for (int e = 0; st == NATS_OK && data && e < entries; e++) {
		static const char head[] = "1\0b\0node-9\0boot\0\0\0\0\0\0\0";
		size_t len = sizeof head - 1;
		memcpy(data, head, len);
		for (int i = 0; i < BACKLOG_PER_ENTRY; i++) {
			int no = e * BACKLOG_PER_ENTRY + i;
			char *sub = data + len + 4;
			int n = snprintf(sub, cap - len - 4,
					 "1%cr%cnode-9%cboot%c%d%c%lld%c%c%c%c%c"
					 "{\"op\":\"event\",\"provider\":\"csp-north\",\"event_id\":"
					 "\"bl-%d\",\"ref\":\"BL-%d\",\"stage\":\"detected\","
					 "\"category\":2,\"title\":\"link down\"}",
					 0, 0, 0, 0, no + 1, 0, (long long)h_now_ms(), 0, 0, 0, 0, 0,
					 no, no);
			unsigned char *p = (unsigned char *)data + len;
			p[0] = p[1] = 0;
			p[2] = (unsigned char)(n >> 8);
			p[3] = (unsigned char)n;
			len += 4 + (size_t)n;
		}
		st = s_js_publish(&j, data, (int)len);
	}
	free(data);
	s_js_close(&j);
	return st == NATS_OK && data ? 0 : -1;
}

/*
 * A node that starts behind the stream is not ready (/readyz 503, for a load balancer) until it
 * has applied the stream up to where it stood at the start, though it is alive (/healthz 200)
 * and answers reads. Its catch-up is held where it stands by taking the store's write lock
 * from here, as another writer would: its writer waits for it.
 */
static void test_not_ready_while_catching_up(void **state)
{
	cluster_t *c = *state;
	s_cluster_up(c, 2);
	assert_int_equal(s_publish_backlog(c, 400), 0);
	assert_true(s_converge(c) >= 400);
	assert_int_equal(s_status_int(c->nodes[0], "incidents"), BACKLOG_EVENTS(400));
	c->http_port[2] = h_free_port();
	h_daemon_t *late = s_node_add(c);
	assert_non_null(late);
	assert_int_equal(h_start(late), 0);
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
	assert_int_equal(mdb_env_open(env, late->data_dir, MDB_NOTLS, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	json_t *cl = s_cluster_status(late);
	assert_non_null(cl);
	json_int_t applied = json_integer_value(json_object_get(cl, "applied"));
	json_int_t last = json_integer_value(json_object_get(cl, "last"));
	json_decref(cl);
	if (applied >= last) {
		mdb_txn_abort(txn);
		mdb_env_close(env);
		fail_msg("the node caught up (%lld) before its writer was held", (long long)applied);
	}
	long readyz = 0;
	for (int64_t until = h_mono_ms() + 10000; readyz == 0 && h_mono_ms() < until;)
		if ((readyz = s_http_get(c, 2, "/readyz")) == 0)
			usleep(20 * 1000);
	long healthz = s_http_get(c, 2, "/healthz");
	long long incidents = s_status_int(late, "incidents");
	mdb_txn_abort(txn);
	mdb_env_close(env);
	assert_int_equal(readyz, 503);
	assert_int_equal(healthz, 200);
	assert_true(incidents >= 0 && incidents < BACKLOG_EVENTS(400));
	for (int64_t until = h_mono_ms() + CONVERGE_MS; readyz != 200 && h_mono_ms() < until;)
		if ((readyz = s_http_get(c, 2, "/readyz")) != 200)
			usleep(50 * 1000);
	assert_int_equal(readyz, 200);
	assert_true(s_converge(c) > 0);
	assert_int_equal(s_status_int(late, "incidents"), BACKLOG_EVENTS(400));
	assert_true(s_cluster_down(c, true));
}

/* Publishes len bytes of data on the stream's subject straight to JetStream; 0 or -1. */
static int s_publish_raw(cluster_t *c, const char *data, int len)
{
	js_client_t j;
	if (s_js_open(c, &j) != 0)
		return -1;
	natsStatus st = s_js_publish(&j, data, len);
	s_js_close(&j);
	return st == NATS_OK ? 0 : -1;
}

/*
 * Whatever else lands on the stream's subject (another program publishing there by mistake,
 * an entry of a newer version, a damaged batch) is applied as nothing by every node: none
 * crashes, their states stay equal, and writes go on.
 */
static void test_foreign_entries_change_nothing(void **state)
{
	cluster_t *c = *state;
	s_cluster_up(c, 2);
	s_write_ok(c, 0, "f0", "F0");
	assert_true(s_converge(c) > 0);
	json_t *before = s_cluster_status(c->nodes[0]);
	const char junk[] = "{\"op\":\"event\"}";
	const char wrong_version[] = "9\0r\0node-9\0b\01\0" "0\0\0operator\0\0\0{}";
	const char bad_kind[] = "1\0x\0node-9\0b\01\0" "0\0\0operator\0\0\0{}";
	const char short_head[] = "1\0r\0node-9";
	const char bad_deadline[] = "1\0d\0node-9\0b\01\0" "0\0\0\0\0\0{\"incident\":\"x\"}";
	/* Batches: one cut short, one that carries a deadline (only requests may share). */
	const char cut_batch[] = "1\0b\0node-9\0b\0\0\0\0\0\0\0" "\0\0\0\x40" "1\0r";
	const char deadline_batch[] = "1\0b\0node-9\0b\0\0\0\0\0\0\0" "\0\0\0\x34"
				      "1\0d\0node-9\0b\01\0" "0\0\0\0\0\0"
				      "{\"incident\":1,\"rule\":0,\"due\":0}";
	assert_int_equal(s_publish_raw(c, junk, (int)strlen(junk)), 0);
	assert_int_equal(s_publish_raw(c, wrong_version, (int)sizeof wrong_version - 1), 0);
	assert_int_equal(s_publish_raw(c, bad_kind, (int)sizeof bad_kind - 1), 0);
	assert_int_equal(s_publish_raw(c, short_head, (int)sizeof short_head - 1), 0);
	assert_int_equal(s_publish_raw(c, bad_deadline, (int)sizeof bad_deadline - 1), 0);
	assert_int_equal(s_publish_raw(c, "", 0), 0);
	assert_int_equal(s_publish_raw(c, cut_batch, (int)sizeof cut_batch - 1), 0);
	assert_int_equal(s_publish_raw(c, deadline_batch, (int)sizeof deadline_batch - 1), 0);
	uint64_t seq = s_converge(c);
	assert_true(seq >= 9);
	json_t *after = s_cluster_status(c->nodes[0]);
	/* Applied past them; nothing else changed but the applied sequence (and so the digest). */
	assert_int_equal(s_status_int(c->nodes[0], "incidents"), 1);
	assert_int_equal(s_status_int(c->nodes[0], "events"), 1);
	assert_true(json_integer_value(json_object_get(after, "applied")) >
		    json_integer_value(json_object_get(before, "applied")));
	json_decref(before);
	json_decref(after);
	s_write_ok(c, 1, "f1", "F1");
	assert_true(s_converge(c) > seq);
	assert_int_equal(s_status_int(c->nodes[1], "incidents"), 2);
	assert_true(s_cluster_down(c, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes_reach_every_node, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_fresh_nodes_replay_to_the_same_state, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_kill9_node_while_streaming, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_leader_killed_with_a_deadline_pending, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_paused_leader_no_duplicate_breach, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_nats_quorum, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_hook_delivery_survives_the_leader, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_entries_change_nothing, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_busy_clients_share_entries, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_not_ready_while_catching_up, s_setup, s_teardown),
	};
	/* TEST_FILTER=test_nats_quorum runs one case (cmocka's glob). */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
