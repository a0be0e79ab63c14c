/*
 * Tests of daemon/deadline_heap.c: entries come out earliest first, whatever the order they
 * went in, and the heap grows as needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "daemon/core/deadline_heap.h"

/* xorshift64*: a fixed-seed generator, so every run checks the same sequence. */
static uint64_t s_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

static deadline_t s_deadline(int64_t due, uint64_t incident, int rule)
{
	return (deadline_t){ .due = due, .incident = incident, .rule = rule };
}

static void test_empty(void **state)
{
	(void)state;
	deadline_heap_t heap;
	deadline_heap_init(&heap);
	deadline_t out = s_deadline(-1, 99, 7);
	assert_null(deadline_heap_peek(&heap));
	assert_false(deadline_heap_pop(&heap, &out));
	assert_int_equal(out.due, -1); /* untouched */
	assert_int_equal(out.incident, 99);
	deadline_heap_release(&heap);
	deadline_heap_release(&heap); /* releasing twice is harmless */
	assert_null(deadline_heap_peek(&heap));
}

static void test_peek_and_pop_carry_the_entry(void **state)
{
	(void)state;
	deadline_heap_t heap;
	deadline_heap_init(&heap);
	assert_int_equal(deadline_heap_push(&heap, s_deadline(300, 3, 0)), 0);
	assert_int_equal(deadline_heap_push(&heap, s_deadline(100, 1, 2)), 0);
	assert_int_equal(deadline_heap_push(&heap, s_deadline(200, 2, 1)), 0);

	const deadline_t *top = deadline_heap_peek(&heap);
	assert_non_null(top);
	assert_int_equal(top->due, 100);
	assert_int_equal(top->incident, 1);
	assert_int_equal(top->rule, 2);
	assert_int_equal(heap.n, 3); /* peek does not remove */

	deadline_t out;
	assert_true(deadline_heap_pop(&heap, &out));
	assert_int_equal(out.due, 100);
	assert_int_equal(out.incident, 1);
	assert_int_equal(out.rule, 2);
	assert_true(deadline_heap_pop(&heap, &out));
	assert_int_equal(out.incident, 2);
	assert_int_equal(out.rule, 1);
	/* An earlier entry pushed later comes out first. */
	assert_int_equal(deadline_heap_push(&heap, s_deadline(50, 4, 0)), 0);
	assert_int_equal(deadline_heap_peek(&heap)->incident, 4);
	assert_true(deadline_heap_pop(&heap, &out));
	assert_int_equal(out.due, 50);
	assert_true(deadline_heap_pop(&heap, &out));
	assert_int_equal(out.due, 300);
	assert_int_equal(out.incident, 3);
	assert_false(deadline_heap_pop(&heap, &out));
	assert_null(deadline_heap_peek(&heap));
	deadline_heap_release(&heap);
}

/* 10,000 random entries (with many ties) come out in nondecreasing order, each exactly once. */
static void test_random_order(void **state)
{
	(void)state;
	enum { N = 10000 };
	deadline_heap_t heap;
	deadline_heap_init(&heap);
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
	int64_t sum_in = 0;
	for (uint64_t i = 0; i < N; i++) {
		int64_t due = 1610409600000 + (int64_t)(s_next(&seed) % 5000) * 1000;
		sum_in += due;
		assert_int_equal(deadline_heap_push(&heap, s_deadline(due, i + 1, (int)(i % 3))), 0);
	}
	assert_int_equal(heap.n, N);
	assert_true(heap.cap >= N);

	char *seen = calloc(N + 1, 1);
	assert_non_null(seen);
	int64_t prev = INT64_MIN, sum_out = 0;
	deadline_t out;
	for (int i = 0; i < N; i++) {
		int64_t peeked = deadline_heap_peek(&heap)->due;
		assert_true(deadline_heap_pop(&heap, &out));
		assert_int_equal(out.due, peeked);
		assert_true(out.due >= prev);
		assert_true(out.incident >= 1 && out.incident <= N);
		assert_false(seen[out.incident]);
		seen[out.incident] = 1;
		assert_int_equal(out.rule, (int)((out.incident - 1) % 3));
		prev = out.due;
		sum_out += out.due;
	}
	assert_int_equal(sum_out, sum_in);
	assert_false(deadline_heap_pop(&heap, &out));
	free(seen);
	deadline_heap_release(&heap);
}

/* Interleaved pushes and pops keep the order, and capacity grows by doubling. */
static void test_growth_and_interleaving(void **state)
{
	(void)state;
	deadline_heap_t heap;
	deadline_heap_init(&heap);
	assert_int_equal(heap.cap, 0); /* nothing allocated before the first push */
	size_t last_cap = 0;
	for (int64_t i = 0; i < 1000; i++) {
		assert_int_equal(deadline_heap_push(&heap, s_deadline(1000 - i, (uint64_t)i, 0)), 0);
		if (heap.cap != last_cap) {
			assert_true(last_cap == 0 || heap.cap == 2 * last_cap);
			last_cap = heap.cap;
		}
		assert_int_equal(deadline_heap_peek(&heap)->due, 1000 - i);
	}
	/* Pop half, push entries in between, then drain: still in order. */
	deadline_t out;
	for (int i = 0; i < 500; i++) {
		assert_true(deadline_heap_pop(&heap, &out));
		assert_int_equal(out.due, i + 1);
	}
	for (int64_t i = 0; i < 500; i++)
		assert_int_equal(deadline_heap_push(&heap, s_deadline(500 + 2 * i, 0, 1)), 0);
	int64_t prev = INT64_MIN;
	size_t count = 0;
	while (deadline_heap_pop(&heap, &out)) {
		assert_true(out.due >= prev);
		prev = out.due;
		count++;
	}
	assert_int_equal(count, 1000);
	deadline_heap_release(&heap);
	assert_int_equal(heap.n, 0);
	/* Reusable after release. */
	assert_int_equal(deadline_heap_push(&heap, s_deadline(7, 1, 0)), 0);
	assert_int_equal(deadline_heap_peek(&heap)->due, 7);
	deadline_heap_release(&heap);
}

/* Entries with the same due time all come out, before any later one. */
static void test_ties(void **state)
{
	(void)state;
	deadline_heap_t heap;
	deadline_heap_init(&heap);
	assert_int_equal(deadline_heap_push(&heap, s_deadline(20, 100, 0)), 0);
	for (uint64_t i = 1; i <= 5; i++)
		assert_int_equal(deadline_heap_push(&heap, s_deadline(10, i, (int)i)), 0);
	assert_int_equal(deadline_heap_push(&heap, s_deadline(5, 200, 0)), 0);

	deadline_t out;
	assert_true(deadline_heap_pop(&heap, &out));
	assert_int_equal(out.incident, 200);
	unsigned mask = 0;
	for (int i = 0; i < 5; i++) {
		assert_true(deadline_heap_pop(&heap, &out));
		assert_int_equal(out.due, 10);
		assert_int_equal(out.rule, (int)out.incident);
		mask |= 1u << out.incident;
	}
	assert_int_equal(mask, 0x3eu); /* incidents 1..5, each once */
	assert_true(deadline_heap_pop(&heap, &out));
	assert_int_equal(out.incident, 100);
	assert_false(deadline_heap_pop(&heap, &out));
	deadline_heap_release(&heap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_peek_and_pop_carry_the_entry),
		cmocka_unit_test(test_random_order),
		cmocka_unit_test(test_growth_and_interleaving),
		cmocka_unit_test(test_ties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
