/*
 * incident_cache: decoded incidents of the writer thread. See incident_cache.h.
 *
 * An open-addressing hash table (linear probing) of incident pointers keyed by id. Entries
 * are never deleted one by one, only all together (clear) or all clean ones (trim, which
 * rebuilds the table), so probing needs no tombstones.
 */
#include "daemon/store/incident_cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct incident_cache {
	incident_t **slots;  /* capacity slots, NULL when empty */
	size_t capacity;     /* a power of two, at least twice max_entries */
	size_t n;
	size_t max_entries;
	incident_t **dirty;  /* marked entries, in order */
	size_t n_dirty;
	bool *dirty_slot;    /* parallel to slots: marked already */
	bool *used_slot;     /* parallel to slots: looked up or added since the last trim */
	incident_t **keep;   /* scratch for trim, capacity / 2 + 1 entries */
};

static size_t s_hash(uint64_t id, size_t capacity)
{
	/* Fibonacci hashing: ids are sequential, the multiply spreads them. */
	return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 17) & (capacity - 1);
}

/* The slot of id, or of the empty slot where it would go. */
static size_t s_find(const incident_cache_t *c, uint64_t id)
{
	size_t i = s_hash(id, c->capacity);
	while (c->slots[i] && c->slots[i]->id != id)
		i = (i + 1) & (c->capacity - 1);
	return i;
}

incident_cache_t *incident_cache_new(size_t max_entries, size_t batch_max)
{
	incident_cache_t *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->max_entries = max_entries ? max_entries : 1;
	c->capacity = 16;
	while (c->capacity < 2 * (c->max_entries + batch_max) + 2)
		c->capacity *= 2;
	c->slots = calloc(c->capacity, sizeof *c->slots);
	c->dirty_slot = calloc(c->capacity, sizeof *c->dirty_slot);
	c->used_slot = calloc(c->capacity, sizeof *c->used_slot);
	c->keep = calloc(c->capacity / 2 + 1, sizeof *c->keep);
	/* More than capacity/2 entries are never held, so that many dirty marks at most. */
	c->dirty = calloc(c->capacity / 2 + 1, sizeof *c->dirty);
	if (!c->slots || !c->dirty_slot || !c->dirty || !c->used_slot || !c->keep)
		incident_cache_destroy(&c);
	return c;
}

void incident_cache_clear(incident_cache_t *c)
{
	for (size_t i = 0; i < c->capacity; i++)
		incident_destroy(&c->slots[i]);
	memset(c->dirty_slot, 0, c->capacity * sizeof *c->dirty_slot);
	memset(c->used_slot, 0, c->capacity * sizeof *c->used_slot);
	c->n = 0;
	c->n_dirty = 0;
}

void incident_cache_destroy(incident_cache_t **cache_p)
{
	incident_cache_t *c = *cache_p;
	if (!c)
		return;
	if (c->slots)
		incident_cache_clear(c);
	free(c->slots);
	free(c->dirty_slot);
	free(c->used_slot);
	free(c->keep);
	free(c->dirty);
	free(c);
	*cache_p = NULL;
}

incident_t *incident_cache_get(incident_cache_t *c, uint64_t id)
{
	size_t i = s_find(c, id);
	if (c->slots[i])
		c->used_slot[i] = true;
	return c->slots[i];
}

int incident_cache_put(incident_cache_t *c, incident_t *inc)
{
	/* The table stays at most half full, so probes stay short. */
	if (c->n + 1 > c->capacity / 2) {
		incident_destroy(&inc);
		return -ENOMEM;
	}
	/* Not marked used: an incident no event comes back to is the first to go. */
	c->slots[s_find(c, inc->id)] = inc;
	c->n++;
	return 0;
}

void incident_cache_mark_dirty(incident_cache_t *c, uint64_t id)
{
	size_t i = s_find(c, id);
	if (!c->slots[i] || c->dirty_slot[i])
		return;
	c->dirty_slot[i] = true;
	c->dirty[c->n_dirty++] = c->slots[i];
}

incident_t *const *incident_cache_dirty(incident_cache_t *c, size_t *n_out)
{
	*n_out = c->n_dirty;
	return c->dirty;
}

void incident_cache_clean(incident_cache_t *c)
{
	for (size_t k = 0; k < c->n_dirty; k++)
		c->dirty_slot[s_find(c, c->dirty[k]->id)] = false;
	c->n_dirty = 0;
}

/*
 * Second chance: over the bound, the clean entries not used since the last trim go; the
 * others stay for another round (all clean ones go when the used ones alone are too many).
 * Dirty entries always stay, still dirty in the same order. The table is rebuilt, since
 * entries left it.
 */
void incident_cache_trim(incident_cache_t *c)
{
	if (c->n <= c->max_entries)
		return;
	size_t n_used = 0;
	for (size_t i = 0; i < c->capacity; i++)
		n_used += c->slots[i] && !c->dirty_slot[i] && c->used_slot[i];
	bool keep_used = c->n_dirty + n_used <= c->max_entries;
	size_t kept = 0, n_dirty = c->n_dirty;
	for (size_t k = 0; k < n_dirty; k++)
		c->keep[kept++] = c->dirty[k];
	for (size_t i = 0; i < c->capacity; i++) {
		if (c->slots[i] && !c->dirty_slot[i]) {
			if (keep_used && c->used_slot[i])
				c->keep[kept++] = c->slots[i];
			else
				incident_destroy(&c->slots[i]);
		}
		c->slots[i] = NULL;
	}
	memset(c->dirty_slot, 0, c->capacity * sizeof *c->dirty_slot);
	memset(c->used_slot, 0, c->capacity * sizeof *c->used_slot);
	c->n = 0;
	c->n_dirty = 0;
	for (size_t k = 0; k < kept; k++) {
		c->slots[s_find(c, c->keep[k]->id)] = c->keep[k];
		c->n++;
	}
	for (size_t k = 0; k < n_dirty; k++)
		incident_cache_mark_dirty(c, c->keep[k]->id);
}

size_t incident_cache_size(const incident_cache_t *c)
{
	return c->n;
}
