/*
 * sub_table: the topic prefixes that subscribers of the publish socket want, with a cap on
 * how many one peer may add.
 *
 * The publish socket reports every subscription with the peer that sent it, and an
 * unsubscription only when the last holder of a prefix gives it up (ZMQ_XPUB_VERBOSE). The
 * table keeps each distinct prefix once, owned by the peer that first asked for it, and counts
 * per peer the prefixes it owns. A peer that owns `cap` of them gets no more: its further new
 * prefixes are ignored. A prefix the table already tracks costs nobody anything, so a peer
 * under its cap is always honoured, even for a prefix another peer asked for in vain.
 *
 * The table also knows the topics the daemon publishes, so that it can tell whether any tracked
 * prefix could match one of them at all: a peer holding prefixes that match nothing the daemon
 * publishes must not make it build messages for nobody.
 *
 * Every operation costs O(length of its prefix or topic), however many prefixes the table
 * holds. They sit in a hash table keyed with SipHash-2-4 under a key the caller chooses at
 * random, so that no peer can pick prefixes that collide and make lookups walk long chains.
 *
 * Pure: no I/O. The caller supplies the key and logs the refusals it is told about.
 */
#ifndef INCIDENTD_DAEMON_CORE_SUB_TABLE_H
#define INCIDENTD_DAEMON_CORE_SUB_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The longest prefix worth tracking. Topics are at most 247 bytes ("breach." and a rule name
 * cut at 240 bytes); a longer prefix can match no topic.
 */
#define SUB_TABLE_PREFIX_MAX 255

typedef struct sub_table sub_table_t;

/* What sub_table_subscribe() did. */
typedef enum {
	SUB_TRACKED,       /* a new prefix: tracked from now on, owned by the peer */
	SUB_HELD,          /* tracked already: nothing changed */
	SUB_TOO_LONG,      /* longer than SUB_TABLE_PREFIX_MAX: it can match nothing; ignored */
	SUB_REFUSED_FIRST, /* the peer owns cap prefixes: ignored, and the first such refusal */
	SUB_REFUSED,       /* the peer owns cap prefixes: ignored, and refused before */
	SUB_NO_MEMORY,     /* ignored for want of memory */
} sub_result_t;

/*
 * Creates an empty table in which a peer may own at most cap prefixes, hashing with the
 * 16-byte key (take it from getrandom(2): a predictable key lets peers choose colliding
 * prefixes). Returns NULL when out of memory; free it with sub_table_destroy().
 */
sub_table_t *sub_table_new(size_t cap, const uint8_t key[16]);

/* Frees the table. Accepts NULL and sets *self_p = NULL. */
void sub_table_destroy(sub_table_t **self_p);

/*
 * Registers topic (NUL-terminated) as one the daemon publishes, for sub_table_matching(). Call
 * it for every topic before the first subscription: prefixes tracked earlier are not checked
 * against it. Returns 0, or -1 when out of memory.
 */
int sub_table_add_topic(sub_table_t *t, const char *topic);

/*
 * A subscription to prefix (len bytes, any bytes) from peer (a NUL-terminated name, e.g. its
 * address; the table copies it). Returns what it did: SUB_REFUSED_FIRST is returned once per
 * peer, until the peer owns no prefix any more and the table forgets it.
 */
sub_result_t sub_table_subscribe(sub_table_t *t, const char *peer, const void *prefix, size_t len);

/*
 * The last holder of prefix gave it up. Returns true when the table tracked it (it no longer
 * does, and its owner owns one prefix less), false when it did not (nothing changed).
 */
bool sub_table_unsubscribe(sub_table_t *t, const void *prefix, size_t len);

/* True when some tracked prefix is a prefix of topic (len bytes); the empty prefix matches all. */
bool sub_table_wants(const sub_table_t *t, const void *topic, size_t len);

/* How many prefixes the table tracks. */
size_t sub_table_size(const sub_table_t *t);

/*
 * How many tracked prefixes are a prefix of some registered topic: when none is, no message
 * the daemon publishes is wanted.
 */
size_t sub_table_matching(const sub_table_t *t);

/* How many tracked prefixes peer owns (0 for a peer the table does not know). */
size_t sub_table_owned(const sub_table_t *t, const char *peer);

#endif
