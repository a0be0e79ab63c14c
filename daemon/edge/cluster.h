/*
 * cluster: cluster mode on NATS JetStream ([cluster] in the config; CONTRACT.md "Cluster mode").
 *
 * The stream is the truth. A write taken by this node is appended to the stream as an entry
 * (the request frame as received, with its arrival time and its caller); every node applies
 * every entry in stream order through its writer (group commit as ever), committing the
 * entry's stream sequence in the same LMDB transaction, so each entry is applied exactly once
 * across crashes. The node that took a request answers it with
 * what applying produced: its own apply comes after JetStream stored the entry on a quorum
 * (a consumer sees only stored entries), so the answer implies durability on the cluster.
 *
 * An entry is a head of NUL-terminated fields (version, kind, node, boot id, request number,
 * time, caller, role, providers, topic: cluster.c, entry_field_t) and a body. Kinds:
 *   r  a request: the frame as received; the time is its arrival; node, boot id and request
 *      number say who waits for the reply
 *   d  a deadline that fell due: {"incident","rule","due"}; the time is the leader's clock
 *   n  a notice (a hook's give-up): its body, on the topic field
 *   h  hook outcomes: {"hook", "o": [[delivery, due, remove, attempts, retry_at], ...]}
 *   b  a batch: up to 256 request ("r") entries in its body, each after its length (4 bytes,
 *      big-endian); applied in one transaction, in order, as one stream sequence
 * Applying reads only the entry and the store: no clock, no randomness.
 *
 * Appending is the log's group commit: a publisher thread keeps at most 4 entries
 * unacknowledged; requests that come meanwhile wait and go together as one batch. A request
 * alone has an entry to itself at once; under load JetStream stores, replicates and delivers
 * one entry for many requests. A request waits at most 5 s from its arrival (its wait for room
 * included) for its entry's acknowledgement, then it is answered `unavailable`.
 *
 * The leader lease is a key-value entry (bucket STREAM_lease, key "leader", TTL = lease)
 * created by whoever finds it absent and renewed by compare-and-set on its revision. Only
 * the leader appends deadlines as they fall due and delivers hooks; a leader that has not
 * renewed within the lease (a paused process) acts as a follower until it renews again.
 * Applying a deadline whose breach is recorded changes nothing, so two leaders for a moment
 * produce one breach.
 *
 * Threads: libnats's own (delivery of entries, publish acknowledgements), the publisher and
 * the lease thread; the functions below are thread-safe unless said otherwise.
 */
#ifndef INCIDENTD_DAEMON_EDGE_CLUSTER_H
#define INCIDENTD_DAEMON_EDGE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "daemon/edge/alerts.h"
#include "daemon/store/store.h"

typedef struct cluster cluster_t;
struct writer;
struct writer_job;

/* Called on the lease thread when this node gains (true) or loses (false) the lease. */
typedef void (*cluster_leader_cb)(bool leader, void *arg);

/*
 * Connects to cfg->cluster.nats, creates the stream and the lease bucket when missing, and
 * reads the stream's last sequence (what must be applied before the node is ready). Nothing is
 * delivered until cluster_start(). Returns NULL with a reason in errbuf.
 */
cluster_t *cluster_new(const config_t *cfg, store_t *store, char *errbuf, size_t errlen);

/*
 * Starts applying the stream after the store's last applied sequence, through writer, and the
 * lease thread (on_leader gets the changes). Returns 0 or -1 with a reason in errbuf.
 */
int cluster_start(cluster_t *c, struct writer *writer, cluster_leader_cb on_leader, void *arg,
		  char *errbuf, size_t errlen);

/*
 * Appends a job of this node to the stream: a request (answered once applied here), a
 * deadline (only while leader; dropped otherwise), or a notice. A job that cannot be appended
 * is refused `unavailable` (the writer hands it back). Takes job.
 */
void cluster_append(cluster_t *c, struct writer_job *job);

/*
 * Appends the outcomes of one round of deliveries of hook and waits (up to a few seconds)
 * until this node has applied them. Returns 0, or -1 when they were not appended or applied
 * in time (the deliveries stay due: at-least-once).
 */
int cluster_settle(cluster_t *c, const char *hook, const alerts_settled_t *settled, size_t n);

/*
 * The writer thread, after a commit that applied entries up to seq. Wakes settle's waiters
 * and makes the node ready once caught up.
 */
void cluster_applied(cluster_t *c, uint64_t seq);

/* True while this node holds a fresh lease. */
bool cluster_is_leader(const cluster_t *c);

/* True once the node has applied the stream up to where it stood when the node started. */
bool cluster_ready(const cluster_t *c);

/* What status shows (besides applied and digest, read from the store). */
typedef struct {
	const char *node;
	char leader[72];    /* "" while no node holds the lease */
	uint64_t applied;   /* as of the last commit */
	uint64_t last;      /* the stream's last sequence as last seen */
} cluster_view_t;

void cluster_view(cluster_t *c, cluster_view_t *out);

/*
 * Stops delivery and the lease thread (giving the lease up), refuses the jobs waiting for
 * their entry with `unavailable`, and closes the connection. Call before writer_stop().
 */
void cluster_stop(cluster_t *c);

/* Frees c (after cluster_stop()); accepts NULL. */
void cluster_destroy(cluster_t **c_p);

#endif
