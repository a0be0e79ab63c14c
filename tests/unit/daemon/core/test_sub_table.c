/*
 * Tests of daemon/core/sub_table.c: prefix matching at every length, the cap per peer, who
 * owns a prefix, untracking, prefixes too long to match, the prefixes that could match a
 * published topic, and a table of 100,000 prefixes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/core/sub_table.h"

static const uint8_t s_key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static sub_table_t *s_table(size_t cap)
{
	sub_table_t *t = sub_table_new(cap, s_key);
	assert_non_null(t);
	return t;
}

static sub_result_t s_sub(sub_table_t *t, const char *peer, const char *prefix)
{
	return sub_table_subscribe(t, peer, prefix, strlen(prefix));
}

static bool s_unsub(sub_table_t *t, const char *prefix)
{
	return sub_table_unsubscribe(t, prefix, strlen(prefix));
}

static bool s_wants(const sub_table_t *t, const char *topic)
{
	return sub_table_wants(t, topic, strlen(topic));
}

static void test_empty_table_wants_nothing(void **state)
{
	(void)state;
	sub_table_t *t = s_table(10);
	assert_false(s_wants(t, "incident.opened"));
	assert_false(s_wants(t, ""));
	assert_int_equal(sub_table_size(t), 0);
	assert_int_equal(sub_table_owned(t, "a"), 0);
	assert_false(s_unsub(t, "incident."));
	sub_table_destroy(&t);
	assert_null(t);
	sub_table_destroy(&t); /* NULL is accepted */
}

static void test_topic_wanted_when_a_prefix_is_tracked(void **state)
{
	(void)state;
	sub_table_t *t = s_table(10);
	assert_int_equal(s_sub(t, "a", "incident."), SUB_TRACKED);
	assert_true(s_wants(t, "incident.opened"));
	assert_true(s_wants(t, "incident.stage"));
	assert_true(s_wants(t, "incident."));    /* the prefix itself */
	assert_false(s_wants(t, "incident"));    /* shorter than the prefix */
	assert_false(s_wants(t, "breach.quick"));
	assert_false(s_wants(t, "incidenT.opened"));
	assert_int_equal(s_sub(t, "a", "breach.quick"), SUB_TRACKED);
	assert_true(s_wants(t, "breach.quick"));
	assert_false(s_wants(t, "breach.quic"));
	assert_false(s_wants(t, "breach.slow"));
	sub_table_destroy(&t);
}

static void test_empty_prefix_wants_everything(void **state)
{
	(void)state;
	sub_table_t *t = s_table(10);
	assert_int_equal(s_sub(t, "a", ""), SUB_TRACKED);
	assert_true(s_wants(t, "incident.opened"));
	assert_true(s_wants(t, "x"));
	assert_true(s_wants(t, ""));
	assert_true(s_unsub(t, ""));
	assert_false(s_wants(t, "x"));
	sub_table_destroy(&t);
}

/*
 * A prefix of each length 0..SUB_TABLE_PREFIX_MAX (SipHash takes the bytes 8 at a time, so the
 * lengths around multiples of 8 matter): the topic starting with it is wanted, the topic one
 * byte shorter and the topic differing in its last byte are not.
 */
static void test_every_prefix_length(void **state)
{
	(void)state;
	char topic[SUB_TABLE_PREFIX_MAX + 16];
	for (size_t i = 0; i < sizeof topic; i++)
		topic[i] = (char)('a' + i % 26);
	for (size_t len = 0; len <= SUB_TABLE_PREFIX_MAX; len++) {
		sub_table_t *t = s_table(10);
		assert_int_equal(sub_table_subscribe(t, "p", topic, len), SUB_TRACKED);
		assert_true(sub_table_wants(t, topic, sizeof topic));
		assert_true(sub_table_wants(t, topic, len));
		if (len > 0) {
			assert_false(sub_table_wants(t, topic, len - 1));
			char other[sizeof topic];
			memcpy(other, topic, sizeof topic);
			other[len - 1] = '#';
			assert_false(sub_table_wants(t, other, sizeof other));
		}
		sub_table_destroy(&t);
	}
}

/* Prefixes are bytes, not strings: a NUL inside one is part of it. */
static void test_prefixes_are_bytes(void **state)
{
	(void)state;
	sub_table_t *t = s_table(10);
	assert_int_equal(sub_table_subscribe(t, "p", "a\0b", 3), SUB_TRACKED);
	assert_true(sub_table_wants(t, "a\0bc", 4));
	assert_false(sub_table_wants(t, "a", 1));
	assert_false(sub_table_wants(t, "a\0c", 3));
	assert_int_equal(sub_table_subscribe(t, "p", "a", 1), SUB_TRACKED);
	assert_int_equal(sub_table_size(t), 2);
	sub_table_destroy(&t);
}

/* A peer that owns cap prefixes gets no new one; the first refusal is told apart. */
static void test_cap_per_peer(void **state)
{
	(void)state;
	sub_table_t *t = s_table(3);
	assert_int_equal(s_sub(t, "abuser", "a"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "abuser", "b"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "abuser", "c"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "abuser", "d"), SUB_REFUSED_FIRST);
	assert_int_equal(s_sub(t, "abuser", "e"), SUB_REFUSED);
	assert_int_equal(s_sub(t, "abuser", "f"), SUB_REFUSED);
	assert_int_equal(sub_table_owned(t, "abuser"), 3);
	assert_int_equal(sub_table_size(t), 3);
	assert_false(s_wants(t, "d.topic"));
	/* What it already holds is still held: asking again changes nothing. */
	assert_int_equal(s_sub(t, "abuser", "a"), SUB_HELD);
	/* Another peer's subscription to a prefix refused to the abuser is honoured. */
	assert_int_equal(s_sub(t, "user", "d"), SUB_TRACKED);
	assert_true(s_wants(t, "d.topic"));
	assert_int_equal(sub_table_owned(t, "user"), 1);
	sub_table_destroy(&t);
}

/* A prefix tracked already costs the next asker nothing; it stays its first owner's. */
static void test_first_asker_owns(void **state)
{
	(void)state;
	sub_table_t *t = s_table(2);
	assert_int_equal(s_sub(t, "a", "incident."), SUB_TRACKED);
	assert_int_equal(s_sub(t, "b", "incident."), SUB_HELD);
	assert_int_equal(sub_table_owned(t, "a"), 1);
	assert_int_equal(sub_table_owned(t, "b"), 0);
	/* b's whole allowance is left. */
	assert_int_equal(s_sub(t, "b", "x"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "b", "y"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "b", "z"), SUB_REFUSED_FIRST);
	/* The last holder gave it up: the owner's count goes down, not the later asker's. */
	assert_true(s_unsub(t, "incident."));
	assert_int_equal(sub_table_owned(t, "a"), 0);
	assert_int_equal(sub_table_owned(t, "b"), 2);
	assert_false(s_wants(t, "incident.opened"));
	sub_table_destroy(&t);
}

static void test_unsubscribe_untracks(void **state)
{
	(void)state;
	sub_table_t *t = s_table(2);
	assert_int_equal(s_sub(t, "a", "incident."), SUB_TRACKED);
	assert_int_equal(s_sub(t, "a", "breach."), SUB_TRACKED);
	assert_int_equal(s_sub(t, "a", "problem."), SUB_REFUSED_FIRST);
	assert_true(s_unsub(t, "breach."));
	assert_false(s_wants(t, "breach.quick"));
	assert_true(s_wants(t, "incident.opened"));
	assert_int_equal(sub_table_size(t), 1);
	assert_false(s_unsub(t, "breach."));   /* gone already */
	assert_false(s_unsub(t, "problem."));  /* never tracked: nothing to undo */
	assert_false(s_unsub(t, "incident"));  /* not the prefix tracked */
	assert_int_equal(sub_table_owned(t, "a"), 1);
	/* Under the cap again, the peer is honoured; at it again, not told twice. */
	assert_int_equal(s_sub(t, "a", "problem."), SUB_TRACKED);
	assert_true(s_wants(t, "problem.linked"));
	assert_int_equal(s_sub(t, "a", "x"), SUB_REFUSED);
	sub_table_destroy(&t);
}

/* A peer that owns nothing any more is forgotten: a new refusal is the first again. */
static void test_forgotten_peer_is_told_again(void **state)
{
	(void)state;
	sub_table_t *t = s_table(1);
	assert_int_equal(s_sub(t, "a", "x"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "a", "y"), SUB_REFUSED_FIRST);
	assert_true(s_unsub(t, "x"));
	assert_int_equal(sub_table_owned(t, "a"), 0);
	assert_int_equal(s_sub(t, "a", "x"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "a", "y"), SUB_REFUSED_FIRST);
	sub_table_destroy(&t);
}

/* Prefixes longer than any topic can be are ignored and cost the peer nothing. */
static void test_long_prefixes_ignored(void **state)
{
	(void)state;
	sub_table_t *t = s_table(1);
	char prefix[SUB_TABLE_PREFIX_MAX + 2];
	memset(prefix, 'b', sizeof prefix);
	assert_int_equal(sub_table_subscribe(t, "a", prefix, SUB_TABLE_PREFIX_MAX + 1),
			 SUB_TOO_LONG);
	assert_int_equal(sub_table_owned(t, "a"), 0);
	assert_int_equal(sub_table_size(t), 0);
	assert_false(sub_table_wants(t, prefix, sizeof prefix));
	assert_false(sub_table_unsubscribe(t, prefix, SUB_TABLE_PREFIX_MAX + 1));
	/* The longest that can match is tracked, and a longer topic still matches it. */
	assert_int_equal(sub_table_subscribe(t, "a", prefix, SUB_TABLE_PREFIX_MAX), SUB_TRACKED);
	assert_true(sub_table_wants(t, prefix, sizeof prefix));
	assert_false(sub_table_wants(t, prefix, SUB_TABLE_PREFIX_MAX - 1));
	sub_table_destroy(&t);
}

/* Only prefixes of a registered topic count as matching: the others want nothing published. */
static void test_matching_prefixes(void **state)
{
	(void)state;
	sub_table_t *t = s_table(100);
	assert_int_equal(sub_table_add_topic(t, "incident.opened"), 0);
	assert_int_equal(sub_table_add_topic(t, "incident.stage"), 0);
	assert_int_equal(sub_table_add_topic(t, "breach.quick"), 0);
	assert_int_equal(s_sub(t, "a", "bench.sub.0000001"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "a", "breach.slow"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "a", "breach.quick.x"), SUB_TRACKED); /* longer than the topic */
	assert_int_equal(sub_table_matching(t), 0);
	assert_int_equal(sub_table_size(t), 3);
	assert_int_equal(s_sub(t, "a", ""), SUB_TRACKED);
	assert_int_equal(s_sub(t, "a", "incident."), SUB_TRACKED);
	assert_int_equal(s_sub(t, "b", "breach.quick"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "b", "incident.opened"), SUB_TRACKED);
	assert_int_equal(s_sub(t, "b", "incident."), SUB_HELD);
	assert_int_equal(sub_table_matching(t), 4);
	assert_true(s_unsub(t, ""));
	assert_true(s_unsub(t, "incident."));
	assert_true(s_unsub(t, "bench.sub.0000001"));
	assert_int_equal(sub_table_matching(t), 2);
	assert_true(s_unsub(t, "breach.quick"));
	assert_true(s_unsub(t, "incident.opened"));
	assert_int_equal(sub_table_matching(t), 0);
	assert_int_equal(sub_table_size(t), 2);
	sub_table_destroy(&t);
}

/* A topic longer than any prefix that is tracked: its first SUB_TABLE_PREFIX_MAX bytes count. */
static void test_long_topic_registered(void **state)
{
	(void)state;
	sub_table_t *t = s_table(10);
	char topic[SUB_TABLE_PREFIX_MAX + 40];
	memset(topic, 'x', sizeof topic - 1);
	topic[sizeof topic - 1] = '\0';
	assert_int_equal(sub_table_add_topic(t, topic), 0);
	assert_int_equal(sub_table_subscribe(t, "a", topic, SUB_TABLE_PREFIX_MAX), SUB_TRACKED);
	assert_int_equal(sub_table_matching(t), 1);
	assert_int_equal(s_sub(t, "a", "xx"), SUB_TRACKED);
	assert_int_equal(sub_table_matching(t), 2);
	sub_table_destroy(&t);
}

/*
 * 100,000 distinct prefixes from 100 peers: every one tracked and matched, none other; all
 * given up again, the table is empty (the maps grow and shrink on the way).
 */
static void test_many_prefixes(void **state)
{
	(void)state;
	enum { PEERS = 100, EACH = 1000 };
	sub_table_t *t = s_table(EACH);
	char peer[16], prefix[32];
	for (int p = 0; p < PEERS; p++) {
		snprintf(peer, sizeof peer, "peer-%d", p);
		for (int i = 0; i < EACH; i++) {
			snprintf(prefix, sizeof prefix, "flood.%d.%06d", p, i);
			assert_int_equal(s_sub(t, peer, prefix), SUB_TRACKED);
		}
		assert_int_equal(s_sub(t, peer, "one.too.many"), SUB_REFUSED_FIRST);
	}
	assert_int_equal(sub_table_size(t), PEERS * EACH);
	for (int p = 0; p < PEERS; p += 7) {
		snprintf(prefix, sizeof prefix, "flood.%d.%06d.topic", p, p * 9);
		assert_true(s_wants(t, prefix));
		snprintf(prefix, sizeof prefix, "flood.%d.%06d", p, EACH);
		assert_false(s_wants(t, prefix));
	}
	assert_false(s_wants(t, "incident.opened"));
	for (int p = 0; p < PEERS; p++) {
		for (int i = 0; i < EACH; i++) {
			snprintf(prefix, sizeof prefix, "flood.%d.%06d", p, i);
			assert_true(s_unsub(t, prefix));
		}
		snprintf(peer, sizeof peer, "peer-%d", p);
		assert_int_equal(sub_table_owned(t, peer), 0);
	}
	assert_int_equal(sub_table_size(t), 0);
	assert_false(s_wants(t, "flood.1.000001"));
	sub_table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_table_wants_nothing),
		cmocka_unit_test(test_topic_wanted_when_a_prefix_is_tracked),
		cmocka_unit_test(test_empty_prefix_wants_everything),
		cmocka_unit_test(test_every_prefix_length),
		cmocka_unit_test(test_prefixes_are_bytes),
		cmocka_unit_test(test_cap_per_peer),
		cmocka_unit_test(test_first_asker_owns),
		cmocka_unit_test(test_unsubscribe_untracks),
		cmocka_unit_test(test_forgotten_peer_is_told_again),
		cmocka_unit_test(test_long_prefixes_ignored),
		cmocka_unit_test(test_matching_prefixes),
		cmocka_unit_test(test_long_topic_registered),
		cmocka_unit_test(test_many_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
