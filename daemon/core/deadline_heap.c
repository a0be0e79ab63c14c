/*
 * deadline_heap: a binary min-heap in an array; the children of i are 2i+1 and 2i+2. Entries
 * with equal due times come out in no particular order.
 */
#include "daemon/core/deadline_heap.h"

#include <errno.h>
#include <stdlib.h>

/* The capacity of the first allocation; it doubles from there. */
#define DEADLINE_HEAP_MIN_CAP 16

void deadline_heap_init(deadline_heap_t *heap)
{
	heap->items = NULL;
	heap->n = 0;
	heap->cap = 0;
}

void deadline_heap_release(deadline_heap_t *heap)
{
	free(heap->items);
	deadline_heap_init(heap);
}

/* Makes room for one more entry. Returns 0 or -ENOMEM. */
static int s_reserve(deadline_heap_t *heap)
{
	if (heap->n < heap->cap)
		return 0;
	size_t cap = heap->cap ? heap->cap * 2 : DEADLINE_HEAP_MIN_CAP;
	if (cap < heap->cap || cap > SIZE_MAX / sizeof *heap->items)
		return -ENOMEM;
	deadline_t *items = realloc(heap->items, cap * sizeof *items);
	if (items == NULL)
		return -ENOMEM;
	heap->items = items;
	heap->cap = cap;
	return 0;
}

/* Moves the entry at i up until its parent is not later. */
static void s_sift_up(deadline_heap_t *heap, size_t i)
{
	deadline_t d = heap->items[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (heap->items[parent].due <= d.due)
			break;
		heap->items[i] = heap->items[parent];
		i = parent;
	}
	heap->items[i] = d;
}

/* Moves the entry at i down until no child is earlier. */
static void s_sift_down(deadline_heap_t *heap, size_t i)
{
	deadline_t d = heap->items[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= heap->n)
			break;
		if (child + 1 < heap->n && heap->items[child + 1].due < heap->items[child].due)
			child++;
		if (d.due <= heap->items[child].due)
			break;
		heap->items[i] = heap->items[child];
		i = child;
	}
	heap->items[i] = d;
}

int deadline_heap_push(deadline_heap_t *heap, deadline_t d)
{
	if (s_reserve(heap) != 0)
		return -ENOMEM;
	heap->items[heap->n++] = d;
	s_sift_up(heap, heap->n - 1);
	return 0;
}

const deadline_t *deadline_heap_peek(const deadline_heap_t *heap)
{
	return heap->n ? &heap->items[0] : NULL;
}

bool deadline_heap_pop(deadline_heap_t *heap, deadline_t *out)
{
	if (heap->n == 0)
		return false;
	*out = heap->items[0];
	heap->n--;
	if (heap->n > 0) {
		heap->items[0] = heap->items[heap->n];
		s_sift_down(heap, 0);
	}
	return true;
}
