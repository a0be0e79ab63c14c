/*
 * sub_table: three chained hash maps of the same entry type (tracked prefixes, peers, and
 * every prefix of every registered topic), and a count of tracked prefixes per length, so
 * that a topic is looked up only at the lengths some prefix has. See sub_table.h.
 */
#include "daemon/core/sub_table.h"

#include <stdlib.h>
#include <string.h>

/* Buckets of an empty map; the maps double and halve from here, never below it. */
#define MAP_MIN_BUCKETS 16

/* ---- SipHash-2-4 (Aumasson and Bernstein), fed 8 bytes at a time ---- */

typedef struct {
	uint64_t v0, v1, v2, v3;
} sip_t;

static uint64_t s_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void s_sip_rounds(sip_t *s, int n)
{
	for (int i = 0; i < n; i++) {
		s->v0 += s->v1;
		s->v1 = s_rotl(s->v1, 13) ^ s->v0;
		s->v0 = s_rotl(s->v0, 32);
		s->v2 += s->v3;
		s->v3 = s_rotl(s->v3, 16) ^ s->v2;
		s->v0 += s->v3;
		s->v3 = s_rotl(s->v3, 21) ^ s->v0;
		s->v2 += s->v1;
		s->v1 = s_rotl(s->v1, 17) ^ s->v2;
		s->v2 = s_rotl(s->v2, 32);
	}
}

/* The n (0..8) bytes at p as a little-endian number. */
static uint64_t s_le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

static sip_t s_sip_init(const uint8_t key[16])
{
	uint64_t k0 = s_le(key, 8), k1 = s_le(key + 8, 8);
	return (sip_t){ k0 ^ UINT64_C(0x736f6d6570736575), k1 ^ UINT64_C(0x646f72616e646f6d),
			k0 ^ UINT64_C(0x6c7967656e657261), k1 ^ UINT64_C(0x7465646279746573) };
}

/* Feeds the 8 bytes at p. */
static void s_sip_block(sip_t *s, const unsigned char *p)
{
	uint64_t m = s_le(p, 8);
	s->v3 ^= m;
	s_sip_rounds(s, 2);
	s->v0 ^= m;
}

/*
 * The hash of a message of len bytes whose whole 8-byte blocks s has been fed; tail holds the
 * len % 8 bytes after them. s is a copy: the caller may go on feeding its own.
 */
static uint64_t s_sip_final(sip_t s, const unsigned char *tail, size_t len)
{
	uint64_t b = ((uint64_t)len << 56) | s_le(tail, len & 7);
	s.v3 ^= b;
	s_sip_rounds(&s, 2);
	s.v0 ^= b;
	s.v2 ^= 0xff;
	s_sip_rounds(&s, 4);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---- the maps ---- */

/* A prefix the table tracks, or a peer that owns some; its bytes follow the struct. */
typedef struct entry {
	struct entry *next;  /* in its bucket */
	uint64_t hash;
	struct entry *owner; /* a prefix: the peer that owns it */
	bool matching;       /* a prefix: it is a prefix of a registered topic */
	size_t owned;        /* a peer: how many prefixes it owns */
	bool refused;        /* a peer: it was refused a prefix (the caller was told) */
	size_t len;
	unsigned char key[];
} entry_t;

typedef struct {
	entry_t **buckets;
	size_t nbuckets; /* a power of two */
	size_t n;
} map_t;

struct sub_table {
	size_t cap;
	sip_t seed; /* SipHash's state after the key */
	map_t prefixes;
	map_t peers;
	map_t topics;                            /* every prefix of every registered topic */
	size_t by_len[SUB_TABLE_PREFIX_MAX + 1]; /* tracked prefixes of each length */
	size_t longest;                          /* the longest tracked prefix */
	size_t matching;                         /* tracked prefixes that are in topics */
};

static uint64_t s_hash(const sub_table_t *t, const unsigned char *p, size_t len)
{
	sip_t s = t->seed;
	size_t whole = len & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8)
		s_sip_block(&s, p + i);
	return s_sip_final(s, p + whole, len);
}

static int s_map_init(map_t *m)
{
	m->buckets = calloc(MAP_MIN_BUCKETS, sizeof *m->buckets);
	m->nbuckets = MAP_MIN_BUCKETS;
	m->n = 0;
	return m->buckets ? 0 : -1;
}

static entry_t *s_map_find(const map_t *m, uint64_t hash, const void *key, size_t len)
{
	for (entry_t *e = m->buckets[hash & (m->nbuckets - 1)]; e; e = e->next)
		if (e->hash == hash && e->len == len && (len == 0 || memcmp(e->key, key, len) == 0))
			return e;
	return NULL;
}

/*
 * Moves every entry to a bucket array of nbuckets. When that cannot be allocated the map stays
 * as it is: correct, with longer chains.
 */
static void s_map_resize(map_t *m, size_t nbuckets)
{
	entry_t **buckets = calloc(nbuckets, sizeof *buckets);
	if (!buckets)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		while (m->buckets[i]) {
			entry_t *e = m->buckets[i];
			m->buckets[i] = e->next;
			e->next = buckets[e->hash & (nbuckets - 1)];
			buckets[e->hash & (nbuckets - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = buckets;
	m->nbuckets = nbuckets;
}

/* Adds e; doubling the buckets when there are more entries than buckets keeps chains short. */
static void s_map_add(map_t *m, entry_t *e)
{
	if (m->n >= m->nbuckets && m->nbuckets <= SIZE_MAX / 2 / sizeof *m->buckets)
		s_map_resize(m, m->nbuckets * 2);
	entry_t **head = &m->buckets[e->hash & (m->nbuckets - 1)];
	e->next = *head;
	*head = e;
	m->n++;
}

/* Unlinks e (which is in m) and frees it; halves the buckets when they are mostly empty. */
static void s_map_remove(map_t *m, entry_t *e)
{
	entry_t **p = &m->buckets[e->hash & (m->nbuckets - 1)];
	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	free(e);
	m->n--;
	if (m->nbuckets > MAP_MIN_BUCKETS && m->n < m->nbuckets / 4)
		s_map_resize(m, m->nbuckets / 2);
}

static void s_map_release(map_t *m)
{
	for (size_t i = 0; m->buckets && i < m->nbuckets; i++) {
		while (m->buckets[i]) {
			entry_t *e = m->buckets[i];
			m->buckets[i] = e->next;
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
}

static entry_t *s_entry_new(uint64_t hash, const void *key, size_t len)
{
	entry_t *e = calloc(1, sizeof *e + len);
	if (e) {
		e->hash = hash;
		e->len = len;
		if (len > 0)
			memcpy(e->key, key, len);
	}
	return e;
}

/* ---- the table ---- */

sub_table_t *sub_table_new(size_t cap, const uint8_t key[16])
{
	sub_table_t *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->cap = cap;
	t->seed = s_sip_init(key);
	if (s_map_init(&t->prefixes) < 0 || s_map_init(&t->peers) < 0 ||
	    s_map_init(&t->topics) < 0)
		sub_table_destroy(&t);
	return t;
}

void sub_table_destroy(sub_table_t **self_p)
{
	sub_table_t *t = *self_p;
	if (!t)
		return;
	s_map_release(&t->prefixes);
	s_map_release(&t->peers);
	s_map_release(&t->topics);
	free(t);
	*self_p = NULL;
}

int sub_table_add_topic(sub_table_t *t, const char *topic)
{
	size_t len = strlen(topic);
	if (len > SUB_TABLE_PREFIX_MAX)
		len = SUB_TABLE_PREFIX_MAX; /* a longer prefix is never tracked */
	for (size_t i = 0; i <= len; i++) {
		uint64_t hash = s_hash(t, (const unsigned char *)topic, i);
		if (s_map_find(&t->topics, hash, topic, i))
			continue;
		entry_t *e = s_entry_new(hash, topic, i);
		if (!e)
			return -1;
		s_map_add(&t->topics, e);
	}
	return 0;
}

/* The peer's entry, created (owning nothing) when the table does not know it; NULL: no memory. */
static entry_t *s_peer(sub_table_t *t, const char *peer)
{
	size_t len = strlen(peer);
	uint64_t hash = s_hash(t, (const unsigned char *)peer, len);
	entry_t *p = s_map_find(&t->peers, hash, peer, len);
	if (!p && (p = s_entry_new(hash, peer, len)) != NULL)
		s_map_add(&t->peers, p);
	return p;
}

/* The table forgets a peer that owns nothing: its refusal is logged anew if it comes back. */
static void s_peer_release(sub_table_t *t, entry_t *peer)
{
	if (peer->owned == 0)
		s_map_remove(&t->peers, peer);
}

sub_result_t sub_table_subscribe(sub_table_t *t, const char *peer, const void *prefix, size_t len)
{
	if (len > SUB_TABLE_PREFIX_MAX)
		return SUB_TOO_LONG;
	uint64_t hash = s_hash(t, prefix, len);
	if (s_map_find(&t->prefixes, hash, prefix, len))
		return SUB_HELD;
	entry_t *owner = s_peer(t, peer);
	if (!owner)
		return SUB_NO_MEMORY;
	if (owner->owned >= t->cap) {
		bool first = !owner->refused;
		owner->refused = true;
		return first ? SUB_REFUSED_FIRST : SUB_REFUSED;
	}
	entry_t *e = s_entry_new(hash, prefix, len);
	if (!e) {
		s_peer_release(t, owner);
		return SUB_NO_MEMORY;
	}
	e->owner = owner;
	owner->owned++;
	e->matching = s_map_find(&t->topics, hash, prefix, len) != NULL;
	t->matching += e->matching;
	s_map_add(&t->prefixes, e);
	t->by_len[len]++;
	if (len > t->longest)
		t->longest = len;
	return SUB_TRACKED;
}

bool sub_table_unsubscribe(sub_table_t *t, const void *prefix, size_t len)
{
	if (len > SUB_TABLE_PREFIX_MAX)
		return false;
	entry_t *e = s_map_find(&t->prefixes, s_hash(t, prefix, len), prefix, len);
	if (!e)
		return false;
	entry_t *owner = e->owner;
	t->matching -= e->matching;
	s_map_remove(&t->prefixes, e);
	t->by_len[len]--;
	while (t->longest > 0 && t->by_len[t->longest] == 0)
		t->longest--;
	owner->owned--;
	s_peer_release(t, owner);
	return true;
}

/*
 * Hashes every prefix of topic in one pass (SipHash takes 8 bytes at a time; each length
 * only adds a finalisation of the state so far), looking up only the lengths some tracked
 * prefix has.
 */
bool sub_table_wants(const sub_table_t *t, const void *topic, size_t len)
{
	if (t->prefixes.n == 0)
		return false;
	const unsigned char *p = topic;
	size_t last = len < t->longest ? len : t->longest;
	sip_t s = t->seed;
	for (size_t i = 0; i <= last; i++) {
		if (i > 0 && i % 8 == 0)
			s_sip_block(&s, p + i - 8);
		if (t->by_len[i] > 0 &&
		    s_map_find(&t->prefixes, s_sip_final(s, p + (i & ~(size_t)7), i), p, i))
			return true;
	}
	return false;
}

size_t sub_table_size(const sub_table_t *t)
{
	return t->prefixes.n;
}

size_t sub_table_matching(const sub_table_t *t)
{
	return t->matching;
}

size_t sub_table_owned(const sub_table_t *t, const char *peer)
{
	size_t len = strlen(peer);
	const entry_t *p = s_map_find(&t->peers, s_hash(t, (const unsigned char *)peer, len), peer,
				      len);
	return p ? p->owned : 0;
}
