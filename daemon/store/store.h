/*
 * store: the LMDB environment of incidentd and its named databases.
 *
 *   meta       name -> value            schema version, counters, next ids, publish seq
 *   log        u64 seq -> JSON          append-only audit trail of every accepted change
 *   incidents, refs, dedup, open, resolved, closed, opened: incidents and their indexes
 *              (store/incidents.h)
 *   breaches, breach_keys, deadlines: breaches and pending deadlines (store/breaches.h)
 *   outbox     hook name NUL u64 delivery id -> JSON          hook deliveries not yet done
 *   outbox_due hook name NUL i64 due, u64 delivery id -> ""   the outbox by due time (outbox.h)
 *   problems   u64 problem id -> JSON        problem records (ops/problem.c)
 *
 * Integers in keys are fixed-width big-endian so that memcmp order is numeric order.
 *
 * The version of this layout and the steps from older ones are the caller's (store/schema.h):
 * store_open() brings an older store up to it at start-up, each step logged, in one
 * transaction with the new version.
 *
 * Errors: every function returns 0 or a negative code: LMDB's own (MDB_NOTFOUND,
 * MDB_MAP_FULL, ... all negative) or -errno. store_strerror() names either, and callers pass
 * them on unchanged.
 *
 * One write transaction at a time, on the writer thread; read transactions on any thread.
 * The map grows when full: store_grow() waits until no read transaction is open (a
 * read-write lock, read side held by every transaction) and doubles the map.
 */
#ifndef INCIDENTD_DAEMON_STORE_STORE_H
#define INCIDENTD_DAEMON_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>


typedef struct store store_t;

/* The named databases. */
typedef enum {
	STORE_META = 0,
	STORE_LOG,
	STORE_INCIDENTS,
	STORE_REFS,
	STORE_DEDUP,
	STORE_OPEN,
	STORE_RESOLVED,
	STORE_CLOSED,
	STORE_OPENED,
	STORE_BREACHES,
	STORE_BREACH_KEYS,
	STORE_DEADLINES,
	STORE_OUTBOX,
	STORE_OUTBOX_DUE,
	STORE_PROBLEMS,
	STORE_N_DBS
} store_db_t;

/* A transaction with the store it belongs to. */
typedef struct {
	store_t *store;
	MDB_txn *txn;
	bool write;
	uint64_t digest[4];   /* a write transaction's state digest so far (store_digest_enable) */
} store_txn_t;

/* One step that brings a store up to version `to`, run in the start-up write transaction. */
typedef struct {
	uint64_t to;          /* the version the step leads to */
	const char *done;     /* the log line, with %zu for the count */
	int (*run)(store_txn_t *txn, const void *arg, size_t *count);
} store_migration_t;

/* The schema a store is opened with: its version, and the steps up from older versions. */
typedef struct {
	uint64_t version;
	const store_migration_t *steps; /* in order of their `to` */
	size_t n_steps;
	const void *arg;                /* given to every step (the daemon's configuration) */
} store_schema_t;

/*
 * Opens (creating when needed) the environment in dir with an initial map of map_size bytes,
 * creates the databases, takes an exclusive lock on the directory so that two daemons never
 * share it, and brings the data to schema: a new store gets its version, an older one is
 * migrated (a map too small for that is doubled), a newer one is refused. A data dir others
 * may write to is refused. On failure returns NULL with a one-line reason in errbuf.
 */
store_t *store_open(const char *dir, size_t map_size, const store_schema_t *schema, char *errbuf,
		    size_t errlen);

/* Closes the environment; accepts NULL and sets *store_p = NULL. No transaction may be open. */
void store_destroy(store_t **store_p);

/*
 * Begins a read (write = false) or write transaction into *txn. Returns 0 or a negative code.
 * Every begun transaction ends with store_txn_commit() or store_txn_abort().
 */
int store_txn_begin(store_t *store, bool write, store_txn_t *txn);

/*
 * Commits (for a read transaction: ends) txn. Returns 0, or a negative LMDB code after which the
 * transaction is gone: MDB_MAP_FULL means grow and retry.
 */
int store_txn_commit(store_txn_t *txn);

/* Aborts txn; a read transaction just ends. */
void store_txn_abort(store_txn_t *txn);

/*
 * The state digest (cluster mode): a hash of every record of every database, kept up to date
 * by each write, so that two stores holding the same records have the same digest whatever
 * the order and grouping of the writes that made them. It is the sum, lane by lane modulo
 * 2^64, of SHA-256(db, key length, key, value) over the records: a put subtracts the old
 * value's hash and adds the new one, a delete subtracts. It is kept in the meta record
 * "digest" (itself outside the sum), written by every commit.
 *
 * store_digest_enable() turns it on for every later write transaction: it reads the digest
 * saved by an earlier run, or computes it by walking every record (a store that never had
 * one) and saves it. Returns 0 or a negative code. Call it before any other thread writes.
 */
int store_digest_enable(store_t *store);

/* The digest as of txn (any transaction), as 64 hex digits and a NUL; "" when there is none. */
int store_digest_hex(store_txn_t *txn, char out[65]);

/*
 * Doubles the map size. Call with no transaction of this thread open; waits for the read
 * transactions of other threads to end. Returns 0 or a negative LMDB code.
 */
int store_grow(store_t *store);

/* The current map size in bytes. */
size_t store_map_size(store_t *store);

/*
 * The bytes of the map in use: its pages up to the last one used, times the page size (what
 * the data file needs, free pages inside it included). O(1): mdb_env_info and mdb_env_stat.
 */
size_t store_used_bytes(store_t *store);

/* Clears stale reader slots left by crashed processes; returns how many were cleared. */
int store_reader_check(store_t *store);

/*
 * Raw access. Returns 0, MDB_NOTFOUND, or another negative LMDB code. Values returned by get point
 * into the map and are valid until the transaction ends.
 */
int store_get(store_txn_t *txn, store_db_t db, const void *key, size_t key_len, MDB_val *val);
int store_put(store_txn_t *txn, store_db_t db, const void *key, size_t key_len,
	      const void *val, size_t val_len);
int store_del(store_txn_t *txn, store_db_t db, const void *key, size_t key_len);
/*
 * Puts a record whose key sorts after every key in db (the event log's sequence numbers):
 * LMDB then skips the search from the root. MDB_KEYEXIST when the key does not sort last.
 */
int store_append(store_txn_t *txn, store_db_t db, const void *key, size_t key_len,
		 const void *val, size_t val_len);

/* The number of entries in db. */
size_t store_count(store_txn_t *txn, store_db_t db);

/* A meta counter; an absent one reads as 0. */
int store_meta_get_u64(store_txn_t *txn, const char *name, uint64_t *out);
int store_meta_put_u64(store_txn_t *txn, const char *name, uint64_t value);

/* JSON values: get parses (new reference in *out, NULL on MDB_NOTFOUND with that return). */
int store_get_json(store_txn_t *txn, store_db_t db, const void *key, size_t key_len, json_t **out);
int store_put_json(store_txn_t *txn, store_db_t db, const void *key, size_t key_len,
		   const json_t *value);

/* The text of a code returned by the store, its records or the ops: LMDB's or -errno. */
const char *store_strerror(int rc);

/* Big-endian fixed-width key encoding, shared by every module that builds keys. */
void store_u64_encode(uint64_t v, unsigned char out[8]);
uint64_t store_u64_decode(const unsigned char in[8]);
/* Signed times sort correctly: the sign bit is flipped. */
void store_i64_encode(int64_t v, unsigned char out[8]);
int64_t store_i64_decode(const unsigned char in[8]);

/* An open cursor on db in txn. Returns 0 or a negative LMDB code; close with mdb_cursor_close(). */
int store_cursor_open(store_txn_t *txn, store_db_t db, MDB_cursor **cursor);

#endif
