/*
 * store: the LMDB environment. See store.h for the layout.
 */
#include "daemon/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sys/log.h"
#include "proto/jsonw.h"

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE_N_DBS];
	/*
	 * mdb_env_set_mapsize() must not run while any transaction of this process is open:
	 * every transaction holds the read side, store_grow() takes the write side.
	 */
	pthread_rwlock_t resize_lock;
	int lock_fd;
};

static const char *const s_db_names[STORE_N_DBS] = {
	"meta", "log", "incidents", "refs", "dedup", "open", "resolved", "closed", "opened",
	"breaches", "breach_keys", "deadlines", "outbox", "outbox_due", "problems",
};

/* How many times a migration is retried on a doubled map after MDB_MAP_FULL. */
#define STORE_MIGRATE_GROW_TRIES 8

/* mkdir -p: creates dir and its missing parents with mode 0750. */
static int s_mkdir_p(const char *dir)
{
	char path[4096];
	if (strlen(dir) >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(path, dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Refuses a data dir others may write to: anyone could then replace the store, or its lock,
 * under the daemon (the evidence it keeps is only as good as its files).
 */
static int s_check_mode(const char *dir, char *errbuf, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		snprintf(errbuf, errlen, "data dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(errbuf, errlen, "data dir %s is writable by others (mode %03o): chmod o-w %s",
			 dir, (unsigned)(st.st_mode & 0777), dir);
		return -1;
	}
	return 0;
}

/* An exclusive lock on DIR/incidentd.lock, held for the life of the store. */
static int s_lock_dir(store_t *store, const char *dir, char *errbuf, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/incidentd.lock", dir);
	store->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (store->lock_fd < 0) {
		snprintf(errbuf, errlen, "data dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (flock(store->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(errbuf, errlen, "data dir %s is in use by another incidentd", dir);
		return -1;
	}
	return 0;
}

/* Runs every migration step after version from, logging each. Returns 0 or its error. */
static int s_migrate(store_txn_t *txn, const store_schema_t *schema, uint64_t from)
{
	for (size_t i = 0; i < schema->n_steps; i++) {
		const store_migration_t *step = &schema->steps[i];
		size_t count = 0;
		if (step->to <= from)
			continue;
		int rc = step->run(txn, schema->arg, &count);
		if (rc != 0)
			return rc;
		char line[256];
		snprintf(line, sizeof line, step->done, count);
		log_info("store: schema %llu -> %llu: %s", (unsigned long long)from,
			 (unsigned long long)step->to, line);
		from = step->to;
	}
	return 0;
}

/*
 * In txn: writes the version of a new store, migrates an older one, refuses a newer one
 * (MDB_VERSION_MISMATCH, with the reason in errbuf).
 */
static int s_schema_check(store_txn_t *txn, const store_schema_t *schema, char *errbuf,
			  size_t errlen)
{
	uint64_t version = 0;
	int rc = store_meta_get_u64(txn, "schema", &version);
	if (rc != 0 || version == schema->version)
		return rc;
	if (version > schema->version) {
		snprintf(errbuf, errlen, "data has schema version %llu; this incidentd reads %llu",
			 (unsigned long long)version, (unsigned long long)schema->version);
		return MDB_VERSION_MISMATCH;
	}
	/* Version 0: a new store, with nothing to migrate. */
	if (version > 0)
		rc = s_migrate(txn, schema, version);
	if (rc == 0)
		rc = store_meta_put_u64(txn, "schema", schema->version);
	return rc;
}

/* One attempt at creating the databases and checking the schema, in one write transaction. */
static int s_init_txn(store_t *store, const store_schema_t *schema, char *errbuf, size_t errlen)
{
	store_txn_t txn;
	int rc = store_txn_begin(store, true, &txn);
	for (int i = 0; rc == 0 && i < STORE_N_DBS; i++)
		rc = mdb_dbi_open(txn.txn, s_db_names[i], MDB_CREATE, &store->dbi[i]);
	if (rc == 0)
		rc = s_schema_check(&txn, schema, errbuf, errlen);
	if (rc == 0)
		return store_txn_commit(&txn);
	store_txn_abort(&txn);
	return rc;
}

/*
 * Creates the databases and checks the schema version. A migration of a large store may not
 * fit the configured map: it is retried on a doubled map.
 */
static int s_init_dbs(store_t *store, const store_schema_t *schema, char *errbuf, size_t errlen)
{
	errbuf[0] = '\0';
	int rc = s_init_txn(store, schema, errbuf, errlen);
	for (int tries = 0; rc == MDB_MAP_FULL && tries < STORE_MIGRATE_GROW_TRIES; tries++) {
		rc = store_grow(store);
		if (rc == 0)
			rc = s_init_txn(store, schema, errbuf, errlen);
	}
	if (rc != 0 && errbuf[0] == '\0')
		snprintf(errbuf, errlen, "initialising data: %s", store_strerror(rc));
	return rc != 0 ? -1 : 0;
}

store_t *store_open(const char *dir, size_t map_size, const store_schema_t *schema, char *errbuf,
		    size_t errlen)
{
	store_t *store = calloc(1, sizeof *store);
	if (!store) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	store->lock_fd = -1;
	/*
	 * Prefer the writer: store_grow() must not starve behind a steady stream of reads. No
	 * thread ever holds two transactions at once, so this cannot deadlock.
	 */
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&store->resize_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (s_mkdir_p(dir) < 0) {
		snprintf(errbuf, errlen, "data dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (s_check_mode(dir, errbuf, errlen) < 0)
		goto fail;
	if (s_lock_dir(store, dir, errbuf, errlen) < 0)
		goto fail;
	int rc = mdb_env_create(&store->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(store->env, STORE_N_DBS);
	if (rc == 0)
		rc = mdb_env_set_mapsize(store->env, map_size);
	/* MDB_NOTLS: read transactions are not tied to the thread that began them. */
	if (rc == 0)
		rc = mdb_env_open(store->env, dir, MDB_NOTLS, 0640);
	if (rc != 0) {
		snprintf(errbuf, errlen, "data dir %s: %s", dir, store_strerror(rc));
		goto fail;
	}
	int stale = 0;
	mdb_reader_check(store->env, &stale);
	if (s_init_dbs(store, schema, errbuf, errlen) < 0)
		goto fail;
	return store;
fail:
	store_destroy(&store);
	return NULL;
}

void store_destroy(store_t **store_p)
{
	store_t *store = *store_p;
	if (!store)
		return;
	if (store->env)
		mdb_env_close(store->env);
	if (store->lock_fd >= 0)
		close(store->lock_fd);
	pthread_rwlock_destroy(&store->resize_lock);
	free(store);
	*store_p = NULL;
}

int store_txn_begin(store_t *store, bool write, store_txn_t *txn)
{
	pthread_rwlock_rdlock(&store->resize_lock);
	txn->store = store;
	txn->write = write;
	int rc = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
	if (rc != 0) {
		txn->txn = NULL;
		pthread_rwlock_unlock(&store->resize_lock);
	}
	return rc;
}

int store_txn_commit(store_txn_t *txn)
{
	int rc = mdb_txn_commit(txn->txn);
	txn->txn = NULL;
	pthread_rwlock_unlock(&txn->store->resize_lock);
	return rc;
}

void store_txn_abort(store_txn_t *txn)
{
	if (!txn->txn)
		return;
	mdb_txn_abort(txn->txn);
	txn->txn = NULL;
	pthread_rwlock_unlock(&txn->store->resize_lock);
}

int store_grow(store_t *store)
{
	pthread_rwlock_wrlock(&store->resize_lock);
	size_t size = store_map_size(store) * 2;
	int rc = mdb_env_set_mapsize(store->env, size);
	pthread_rwlock_unlock(&store->resize_lock);
	if (rc == 0)
		log_info("database map grown to %zu MiB", size >> 20);
	return rc;
}

size_t store_map_size(store_t *store)
{
	MDB_envinfo info;
	mdb_env_info(store->env, &info);
	return info.me_mapsize;
}

size_t store_used_bytes(store_t *store)
{
	MDB_envinfo info;
	MDB_stat st;
	if (mdb_env_info(store->env, &info) != 0 || mdb_env_stat(store->env, &st) != 0)
		return 0;
	return ((size_t)info.me_last_pgno + 1) * st.ms_psize;
}

int store_reader_check(store_t *store)
{
	int dead = 0;
	mdb_reader_check(store->env, &dead);
	return dead;
}

int store_get(store_txn_t *txn, store_db_t db, const void *key, size_t key_len, MDB_val *val)
{
	MDB_val k = { key_len, (void *)key };
	return mdb_get(txn->txn, txn->store->dbi[db], &k, val);
}

int store_put(store_txn_t *txn, store_db_t db, const void *key, size_t key_len,
	      const void *val, size_t val_len)
{
	MDB_val k = { key_len, (void *)key };
	MDB_val v = { val_len, (void *)val };
	return mdb_put(txn->txn, txn->store->dbi[db], &k, &v, 0);
}

int store_append(store_txn_t *txn, store_db_t db, const void *key, size_t key_len,
		 const void *val, size_t val_len)
{
	MDB_val k = { key_len, (void *)key };
	MDB_val v = { val_len, (void *)val };
	return mdb_put(txn->txn, txn->store->dbi[db], &k, &v, MDB_APPEND);
}

int store_del(store_txn_t *txn, store_db_t db, const void *key, size_t key_len)
{
	MDB_val k = { key_len, (void *)key };
	return mdb_del(txn->txn, txn->store->dbi[db], &k, NULL);
}

size_t store_count(store_txn_t *txn, store_db_t db)
{
	MDB_stat st;
	if (mdb_stat(txn->txn, txn->store->dbi[db], &st) != 0)
		return 0;
	return st.ms_entries;
}

int store_meta_get_u64(store_txn_t *txn, const char *name, uint64_t *out)
{
	MDB_val v;
	int rc = store_get(txn, STORE_META, name, strlen(name), &v);
	if (rc == MDB_NOTFOUND) {
		*out = 0;
		return 0;
	}
	if (rc == 0 && v.mv_size != 8)
		return MDB_CORRUPTED;
	if (rc == 0)
		*out = store_u64_decode(v.mv_data);
	return rc;
}

int store_meta_put_u64(store_txn_t *txn, const char *name, uint64_t value)
{
	unsigned char buf[8];
	store_u64_encode(value, buf);
	return store_put(txn, STORE_META, name, strlen(name), buf, sizeof buf);
}

int store_get_json(store_txn_t *txn, store_db_t db, const void *key, size_t key_len, json_t **out)
{
	MDB_val v;
	*out = NULL;
	int rc = store_get(txn, db, key, key_len, &v);
	if (rc != 0)
		return rc;
	*out = json_loadb(v.mv_data, v.mv_size, 0, NULL);
	return *out ? 0 : MDB_CORRUPTED;
}

int store_put_json(store_txn_t *txn, store_db_t db, const void *key, size_t key_len,
		   const json_t *value)
{
	size_t len;
	char *text = jsonw_dumps(value, &len);
	if (!text)
		return -ENOMEM;
	int rc = store_put(txn, db, key, key_len, text, len);
	free(text);
	return rc;
}

const char *store_strerror(int rc)
{
	/* LMDB's own codes lie in a reserved negative range; mdb_strerror() names them. */
	if (rc <= MDB_KEYEXIST && rc >= MDB_LAST_ERRCODE)
		return mdb_strerror(rc);
	return strerror(rc < 0 ? -rc : rc);
}

void store_u64_encode(uint64_t v, unsigned char out[8])
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (unsigned char)(v & 0xff);
}

uint64_t store_u64_decode(const unsigned char in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

void store_i64_encode(int64_t v, unsigned char out[8])
{
	store_u64_encode((uint64_t)v ^ (1ULL << 63), out);
}

int64_t store_i64_decode(const unsigned char in[8])
{
	return (int64_t)(store_u64_decode(in) ^ (1ULL << 63));
}

int store_cursor_open(store_txn_t *txn, store_db_t db, MDB_cursor **cursor)
{
	return mdb_cursor_open(txn->txn, txn->store->dbi[db], cursor);
}
