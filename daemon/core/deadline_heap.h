/*
 * deadline_heap: a binary min-heap of pending deadlines, ordered by due time.
 *
 * The event loop arms one timer for the earliest entry. Entries are never removed early: a
 * deadline met in time stays in the heap until it comes up, and the writer then finds it gone
 * from the store and does nothing (lazy deletion keeps arming cheap and the heap simple).
 */
#ifndef INCIDENTD_DAEMON_CORE_DEADLINE_HEAP_H
#define INCIDENTD_DAEMON_CORE_DEADLINE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	int64_t due;        /* ms since the epoch */
	uint64_t incident;  /* INC number */
	int rule;           /* index of the rule (SLA rules first, then problem rules) */
} deadline_t;

typedef struct {
	deadline_t *items;
	size_t n;
	size_t cap;
} deadline_heap_t;

/* An empty heap (no allocation until the first push). */
void deadline_heap_init(deadline_heap_t *heap);

/* Frees the storage; the heap is empty and reusable afterwards. */
void deadline_heap_release(deadline_heap_t *heap);

/* Adds d. Returns 0 or -ENOMEM. O(log n). */
int deadline_heap_push(deadline_heap_t *heap, deadline_t d);

/* The earliest entry, or NULL when empty. The pointer is valid until the next change. */
const deadline_t *deadline_heap_peek(const deadline_heap_t *heap);

/* Removes the earliest entry into *out. Returns false when empty. O(log n). */
bool deadline_heap_pop(deadline_heap_t *heap, deadline_t *out);

#endif
