/*
 * The three-server JetStream cluster of the cluster-mode tests (nats_cluster.c), and the facts
 * of nats-server 2.9.10 and libnats 3.4.1 that cluster mode relies on (docs/cluster-notes.md):
 * an R3 stream, async publishes with a MsgId all acknowledged, a MsgId published again
 * reported Duplicate, publishes acknowledged with one server down and never with two, the
 * cluster recovering when they return, and the key-value bucket with a TTL that holds the
 * leader lease (create when absent, compare-and-set, expiry).
 *
 * One cluster serves every case, in order; each case leaves it with its three servers up.
 * Timings are printed as "# ..." lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <nats/nats.h>

#include "harness.h"
#include "nats_cluster.h"

#define STREAM "EVENTS"
#define SUBJECT "events.test"
/* How long a publish may wait for its ack before it counts as not acknowledged. */
#define PUB_WAIT_MS 1000
/* Bound on the cluster taking writes again after servers come back. */
#define RECOVER_TIMEOUT_MS 30000

static nats_cluster_t *s_cluster;
static natsConnection *s_nc;
static jsCtx *s_js;

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* A connection to every server of the cluster that reconnects forever (every 100 ms). */
static natsConnection *s_connect(void)
{
	const char *list[NATS_CLUSTER_SIZE];
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++)
		list[i] = nats_cluster_url(s_cluster, i);
	natsOptions *opts = NULL;
	natsConnection *nc = NULL;
	natsStatus st = natsOptions_Create(&opts);
	if (st == NATS_OK)
		st = natsOptions_SetServers(opts, list, NATS_CLUSTER_SIZE);
	if (st == NATS_OK)
		st = natsOptions_SetMaxReconnect(opts, -1);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectWait(opts, 100);
	if (st == NATS_OK)
		st = natsConnection_Connect(&nc, opts);
	natsOptions_Destroy(opts);
	return st == NATS_OK ? nc : NULL;
}

static int s_group_setup(void **state)
{
	(void)state;
	int64_t t0 = h_mono_ms();
	s_cluster = nats_cluster_new();
	if (s_cluster == NULL)
		return -1;
	printf("# cluster of 3 up and taking an R3 stream after %lld ms\n",
	       (long long)(h_mono_ms() - t0));
	s_nc = s_connect();
	if (s_nc == NULL || natsConnection_JetStream(&s_js, s_nc, NULL) != NATS_OK)
		return -1;
	return 0;
}

static int s_group_teardown(void **state)
{
	(void)state;
	jsCtx_Destroy(s_js);
	natsConnection_Destroy(s_nc);
	nats_cluster_destroy(&s_cluster);
	nats_Close();
	return 0;
}

/* The stream's message count, or -1. */
static long long s_stream_msgs(void)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	if (js_GetStreamInfo(&si, s_js, STREAM, NULL, &jerr) != NATS_OK)
		return -1;
	long long n = (long long)si->State.Msgs;
	jsStreamInfo_Destroy(si);
	return n;
}

/* Publishes data once with MsgId id (NULL: none), waiting up to wait_ms for the ack. */
static natsStatus s_publish(const char *id, int wait_ms, jsPubAck **pa, jsErrCode *jerr)
{
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MsgId = id;
	po.MaxWait = wait_ms;
	*jerr = 0;
	return js_Publish(pa, s_js, SUBJECT, "x", 1, &po, jerr);
}

/* Publishes until one is acknowledged, within timeout_ms. Returns the ms it took, or -1. */
static int s_publish_until_acked(int timeout_ms)
{
	int64_t start = h_mono_ms();
	while (h_mono_ms() - start < timeout_ms) {
		jsPubAck *pa = NULL;
		jsErrCode jerr;
		if (s_publish(NULL, PUB_WAIT_MS, &pa, &jerr) == NATS_OK) {
			jsPubAck_Destroy(pa);
			return (int)(h_mono_ms() - start);
		}
		s_sleep_ms(50);
	}
	return -1;
}

/* An R3 stream is created, and its info says three replicas (a leader and two followers). */
static void test_r3_stream(void **state)
{
	(void)state;
	const char *subjects[] = {"events.>"};
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = STREAM;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Replicas = 3;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus st = js_AddStream(&si, s_js, &cfg, NULL, &jerr);
	assert_int_equal(st, NATS_OK);
	assert_int_equal(si->Config->Replicas, 3);
	assert_non_null(si->Cluster);
	assert_non_null(si->Cluster->Leader);
	assert_int_equal(si->Cluster->ReplicasLen, 2);
	/* The default duplicate window, in which a MsgId is remembered: 2 minutes. */
	assert_int_equal(si->Config->Duplicates, 120LL * 1000 * 1000 * 1000);
	printf("# stream %s: leader %s\n", STREAM, si->Cluster->Leader);
	jsStreamInfo_Destroy(si);
}

typedef struct {
	int acked, failed, duplicates;
	natsStatus first_err;
} s_acks_t;

/* jsPubAckHandler: counts acks and failures of the async publishes. */
static void s_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	(void)js;
	s_acks_t *a = closure;
	if (pa != NULL) {
		a->acked++;
		a->duplicates += pa->Duplicate;
	} else {
		if (a->failed++ == 0)
			a->first_err = pae->Err;
	}
	natsMsg_Destroy(msg);
}

/* 1,000 js_PublishAsync with a MsgId each: every one acknowledged, none a duplicate. */
static void test_async_publish(void **state)
{
	(void)state;
	s_acks_t acks = {0};
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = 256;
	jo.PublishAsync.AckHandler = s_on_ack;
	jo.PublishAsync.AckHandlerClosure = &acks;
	jsCtx *js = NULL;
	assert_int_equal(natsConnection_JetStream(&js, s_nc, &jo), NATS_OK);
	long long before = s_stream_msgs();
	int64_t t0 = h_mono_ms();
	for (int k = 0; k < 1000; k++) {
		char id[32], body[64];
		snprintf(id, sizeof id, "async-%d", k);
		int len = snprintf(body, sizeof body, "{\"k\":%d}", k);
		jsPubOptions po;
		jsPubOptions_Init(&po);
		po.MsgId = id;
		assert_int_equal(js_PublishAsync(js, SUBJECT, body, len, &po), NATS_OK);
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 10000;
	assert_int_equal(js_PublishAsyncComplete(js, &po), NATS_OK);
	printf("# 1000 async publishes acknowledged in %lld ms\n", (long long)(h_mono_ms() - t0));
	jsCtx_Destroy(js);
	assert_int_equal(acks.acked, 1000);
	assert_int_equal(acks.failed, 0);
	assert_int_equal(acks.duplicates, 0);
	assert_int_equal(s_stream_msgs(), before + 1000);
}

/*
 * A MsgId published again within the duplicate window: acknowledged with Duplicate set and
 * the first one's sequence, nothing stored.
 */
static void test_duplicate_msgid(void **state)
{
	(void)state;
	jsPubAck *first = NULL, *again = NULL;
	jsErrCode jerr;
	assert_int_equal(s_publish("dup-1", 5000, &first, &jerr), NATS_OK);
	assert_false(first->Duplicate);
	long long n = s_stream_msgs();
	assert_int_equal(s_publish("dup-1", 5000, &again, &jerr), NATS_OK);
	assert_true(again->Duplicate);
	assert_int_equal(again->Sequence, first->Sequence);
	assert_int_equal(s_stream_msgs(), n);
	/* An id of the async run too. */
	jsPubAck_Destroy(again);
	assert_int_equal(s_publish("async-7", 5000, &again, &jerr), NATS_OK);
	assert_true(again->Duplicate);
	jsPubAck_Destroy(first);
	jsPubAck_Destroy(again);
}

/*
 * The index of the server leading the stream (its name is "n<i>"), or -1 when none is known
 * within 10 s (the stream info is the meta leader's answer: it may be being elected too).
 */
static int s_stream_leader(void)
{
	int64_t deadline = h_mono_ms() + 10000;
	int i = -1;
	while (i < 0 && h_mono_ms() < deadline) {
		jsStreamInfo *si = NULL;
		jsErrCode jerr = 0;
		jsOptions jo;
		jsOptions_Init(&jo);
		jo.Wait = 1000;
		if (js_GetStreamInfo(&si, s_js, STREAM, &jo, &jerr) == NATS_OK &&
		    si->Cluster != NULL && si->Cluster->Leader != NULL &&
		    si->Cluster->Leader[0] == 'n')
			i = si->Cluster->Leader[1] - '0';
		jsStreamInfo_Destroy(si);
		if (i < 0 || i >= NATS_CLUSTER_SIZE) {
			i = -1;
			s_sleep_ms(100);
		}
	}
	return i;
}

/*
 * One async publish with MaxWait wait_ms, completed: the ack handler's failure status, or
 * NATS_OK when it was acknowledged.
 */
static natsStatus s_publish_async_once(int wait_ms)
{
	s_acks_t acks = {0};
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.PublishAsync.AckHandler = s_on_ack;
	jo.PublishAsync.AckHandlerClosure = &acks;
	jsCtx *js = NULL;
	natsStatus st = natsConnection_JetStream(&js, s_nc, &jo);
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = wait_ms;
	if (st == NATS_OK)
		st = js_PublishAsync(js, SUBJECT, "y", 1, &po);
	po.MaxWait = wait_ms + 2000;
	if (st == NATS_OK)
		st = js_PublishAsyncComplete(js, &po);
	jsCtx_Destroy(js);
	if (st != NATS_OK)
		return st;
	return acks.acked == 1 ? NATS_OK : acks.first_err;
}

/*
 * Publishes for ms milliseconds (a try every 20 ms), asserting that none is acknowledged, and
 * prints what comes back each time it changes. Returns the statuses seen, as a bit set of
 * S_SEEN_*.
 */
#define S_SEEN_TIMEOUT 1
#define S_SEEN_NO_RESPONDERS 2
#define S_SEEN_OTHER 4
static int s_publish_refused_for(int ms)
{
	int64_t start = h_mono_ms();
	int seen = 0, tries = 0;
	natsStatus last = NATS_OK;
	while (h_mono_ms() - start < ms) {
		jsPubAck *pa = NULL;
		jsErrCode jerr;
		natsStatus st = s_publish(NULL, PUB_WAIT_MS, &pa, &jerr);
		if (st == NATS_OK)
			printf("# ACKED without quorum: seq %llu\n", (unsigned long long)pa->Sequence);
		assert_int_not_equal(st, NATS_OK);
		tries++;
		if (st != last)
			printf("#   %5lld ms: js_Publish fails with %s (%d), jsErrCode %d\n",
			       (long long)(h_mono_ms() - start), natsStatus_GetText(st), (int)st,
			       (int)jerr);
		last = st;
		seen |= st == NATS_TIMEOUT	  ? S_SEEN_TIMEOUT
			: st == NATS_NO_RESPONDERS ? S_SEEN_NO_RESPONDERS
						   : S_SEEN_OTHER;
		s_sleep_ms(20);
	}
	printf("#   %d publishes in %d ms, none acknowledged\n", tries, ms);
	return seen;
}

/* An async publish is not acknowledged either: the ack handler gets a failure. */
static void s_assert_async_refused(void)
{
	natsStatus st = s_publish_async_once(PUB_WAIT_MS);
	printf("#   js_PublishAsync (MaxWait %d ms): the ack handler gets %s (%d)\n", PUB_WAIT_MS,
	       natsStatus_GetText(st), (int)st);
	assert_true(st == NATS_TIMEOUT || st == NATS_NO_RESPONDERS);
}

/* Restarts servers a and b; returns the ms from the restart to the first acknowledged publish. */
static int s_restart_two(int a, int b)
{
	int64_t t0 = h_mono_ms();
	if (nats_cluster_start(s_cluster, a) < 0 || nats_cluster_start(s_cluster, b) < 0)
		return -1;
	int64_t started = h_mono_ms() - t0;
	if (s_publish_until_acked(RECOVER_TIMEOUT_MS) < 0)
		return -1;
	int ms = (int)(h_mono_ms() - t0);
	printf("# n%d and n%d restarted (accepting connections after %lld ms): a publish "
	       "acknowledged %d ms after the restart\n", a, b, (long long)started, ms);
	return ms;
}

/*
 * The stream's leader killed: publishes are acknowledged again once the other two elected a
 * new one. Then the one follower left killed too, the leader alone: no publish is
 * acknowledged (they time out, later no responders once the leader steps down). Both back:
 * acknowledged again. Then the leader and a follower killed, the other follower alone: no
 * publish is acknowledged (no responders: only a stream's leader answers publishes).
 */
static void test_quorum(void **state)
{
	(void)state;
	int leader = s_stream_leader();
	assert_true(leader >= 0);
	assert_int_equal(nats_cluster_kill(s_cluster, leader), 0);
	int ms = s_publish_until_acked(RECOVER_TIMEOUT_MS);
	assert_true(ms >= 0);
	int next = s_stream_leader();
	printf("# n%d (the stream leader) killed: a publish acknowledged after %d ms, leader now "
	       "n%d\n", leader, ms, next);
	assert_true(next >= 0 && next != leader);

	int follower = 3 - leader - next;
	assert_int_equal(nats_cluster_kill(s_cluster, follower), 0);
	printf("# n%d (the other follower) killed, the leader n%d alone:\n", follower, next);
	int seen = s_publish_refused_for(15000);
	assert_false(seen & S_SEEN_OTHER);
	s_assert_async_refused();
	assert_true(s_restart_two(leader, follower) >= 0);

	leader = s_stream_leader();
	assert_true(leader >= 0);
	follower = (leader + 1) % NATS_CLUSTER_SIZE;
	assert_int_equal(nats_cluster_kill(s_cluster, leader), 0);
	assert_int_equal(nats_cluster_kill(s_cluster, follower), 0);
	printf("# n%d (the stream leader) and n%d killed, a follower alone:\n", leader, follower);
	seen = s_publish_refused_for(5000);
	assert_false(seen & S_SEEN_OTHER);
	s_assert_async_refused();
	int64_t t0 = h_mono_ms();
	assert_true(s_restart_two(leader, follower) >= 0);
	ms = nats_cluster_wait_ready(s_cluster, RECOVER_TIMEOUT_MS);
	assert_true(ms >= 0);
	printf("# ... and a new R3 stream created %lld ms after the restart\n",
	       (long long)(h_mono_ms() - t0));
}

/*
 * The leader lease: a key-value bucket (History 1, TTL 2 s, R3). kvStore_Create succeeds when
 * the key is absent and fails when present; kvStore_Update is compare-and-set on the
 * revision; once the TTL passes without renewal the key is gone and kvStore_Create succeeds.
 */
static void test_lease_kv(void **state)
{
	(void)state;
	kvConfig cfg;
	kvConfig_Init(&cfg);
	cfg.Bucket = "LEASE";
	cfg.History = 1;
	cfg.TTL = 2LL * 1000 * 1000 * 1000; /* nanoseconds: it is the stream's MaxAge */
	cfg.Replicas = 3;
	kvStore *kv = NULL;
	assert_int_equal(js_CreateKeyValue(&kv, s_js, &cfg), NATS_OK);

	uint64_t rev1 = 0, rev2 = 0, rev3 = 0, bad = 0;
	assert_int_equal(kvStore_CreateString(&rev1, kv, "leader", "node-1"), NATS_OK);
	natsStatus st = kvStore_CreateString(&bad, kv, "leader", "node-2");
	printf("# kvStore_Create on a present key: %s (%d): %s\n", natsStatus_GetText(st), (int)st,
	       nats_GetLastError(NULL));
	assert_int_not_equal(st, NATS_OK);

	assert_int_equal(kvStore_UpdateString(&rev2, kv, "leader", "node-1", rev1), NATS_OK);
	assert_true(rev2 > rev1);
	st = kvStore_UpdateString(&bad, kv, "leader", "node-2", rev1);
	printf("# kvStore_Update with a stale revision: %s (%d): %s\n", natsStatus_GetText(st),
	       (int)st, nats_GetLastError(NULL));
	assert_int_not_equal(st, NATS_OK);

	/*
	 * Renewed every second for 3 s (past the TTL of the first entry): still there. The
	 * bucket's stream has AllowDirect (libnats sets it), so kvStore_Get may be answered by a
	 * follower that has not applied the last update yet: an older revision (seen once, under
	 * load). Only the compare-and-set calls go through the stream's leader.
	 */
	uint64_t first_renewal = 0;
	for (int k = 0; k < 3; k++) {
		s_sleep_ms(1000);
		uint64_t rev = 0;
		assert_int_equal(kvStore_UpdateString(&rev, kv, "leader", "node-1", rev2), NATS_OK);
		rev2 = rev;
		if (k == 0)
			first_renewal = rev;
	}
	kvEntry *held = NULL;
	assert_int_equal(kvStore_Get(&held, kv, "leader"), NATS_OK);
	if (kvEntry_Revision(held) != rev2)
		printf("# kvStore_Get right after the update of revision %llu read revision %llu\n",
		       (unsigned long long)rev2, (unsigned long long)kvEntry_Revision(held));
	assert_true(kvEntry_Revision(held) >= first_renewal);
	kvEntry_Destroy(held);

	/* Not renewed: wait past the TTL. */
	int64_t t0 = h_mono_ms();
	kvEntry *e = NULL;
	for (;;) {
		st = kvStore_Get(&e, kv, "leader");
		if (st != NATS_OK || h_mono_ms() - t0 > 10000)
			break;
		kvEntry_Destroy(e);
		e = NULL;
		s_sleep_ms(50);
	}
	printf("# the key read back for %lld ms after its last update, then: %s (%d)\n",
	       (long long)(h_mono_ms() - t0), natsStatus_GetText(st), (int)st);
	assert_int_equal(st, NATS_NOT_FOUND);
	/*
	 * The get may have been a follower's, whose copy expired a moment before the leader's:
	 * the create is retried for up to a second.
	 */
	int tries = 0;
	for (;;) {
		st = kvStore_CreateString(&rev3, kv, "leader", "node-2");
		if (st == NATS_OK || ++tries == 20)
			break;
		s_sleep_ms(50);
	}
	printf("# kvStore_Create after expiry: %s after %d refusals, revision %llu (was %llu)\n",
	       natsStatus_GetText(st), tries, (unsigned long long)rev3, (unsigned long long)rev2);
	assert_int_equal(st, NATS_OK);
	assert_true(rev3 > rev2);

	kvStore_Destroy(kv);
	assert_int_equal(js_DeleteKeyValue(s_js, "LEASE"), NATS_OK);
}

/* The harness itself: every server came back, and the cluster ends without complaint. */
static void test_harness(void **state)
{
	(void)state;
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++)
		assert_true(nats_cluster_running(s_cluster, i));
	assert_non_null(strstr(nats_cluster_urls(s_cluster), nats_cluster_url(s_cluster, 2)));
	nats_cluster_pass(s_cluster);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_r3_stream),
		cmocka_unit_test(test_async_publish),
		cmocka_unit_test(test_duplicate_msgid),
		cmocka_unit_test(test_lease_kv),
		cmocka_unit_test(test_quorum),
		cmocka_unit_test(test_harness),
	};
	return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
