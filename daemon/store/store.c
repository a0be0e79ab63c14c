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

#include <openssl/evp.h>

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
	bool digest_on;          /* store_digest_enable() */
	uint64_t digest[4];      /* as of the last commit */
	EVP_MD_CTX *md;          /* the digest's hasher: used inside write transactions, one at a time */
	EVP_MD *sha256;          /* fetched once: EVP_sha256() is looked up again at every init */
};

/* The meta record of the digest; it is not part of the sum. */
#define DIGEST_KEY "digest"

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
	EVP_MD_CTX_free(store->md);
	EVP_MD_free(store->sha256);
	free(store);
	*store_p = NULL;
}

int store_txn_begin(store_t *store, bool write, store_txn_t *txn)
{
	pthread_rwlock_rdlock(&store->resize_lock);
	txn->store = store;
	txn->write = write;
	memcpy(txn->digest, store->digest, sizeof txn->digest);
	int rc = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
	if (rc != 0) {
		txn->txn = NULL;
		pthread_rwlock_unlock(&store->resize_lock);
	}
	return rc;
}

static int s_digest_save(store_txn_t *txn);

int store_txn_commit(store_txn_t *txn)
{
	bool digest = txn->write && txn->store->digest_on;
	int rc = digest ? s_digest_save(txn) : 0;
	if (rc != 0) {
		store_txn_abort(txn);
		return rc;
	}
	rc = mdb_txn_commit(txn->txn);
	if (rc == 0 && digest)
		memcpy(txn->store->digest, txn->digest, sizeof txn->digest);
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

/*
 * Adds (sign 1) or takes away (sign -1) one record's hash to or from sum, with the store's
 * hasher (reused: a fresh EVP context per record costs an allocation and a setup each).
 */
static int s_digest_record(store_t *store, uint64_t sum[4], int sign, store_db_t db,
			   const MDB_val *k, const MDB_val *v)
{
	EVP_MD_CTX *ctx = store->md;
	if (db == STORE_META && k->mv_size == sizeof DIGEST_KEY - 1 &&
	    memcmp(k->mv_data, DIGEST_KEY, k->mv_size) == 0)
		return 0;
	unsigned char head[5] = { (unsigned char)db };
	head[1] = (unsigned char)(k->mv_size >> 24);
	head[2] = (unsigned char)(k->mv_size >> 16);
	head[3] = (unsigned char)(k->mv_size >> 8);
	head[4] = (unsigned char)k->mv_size;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int ok = EVP_DigestInit_ex(ctx, store->sha256, NULL) &&
		 EVP_DigestUpdate(ctx, head, sizeof head) &&
		 EVP_DigestUpdate(ctx, k->mv_data, k->mv_size) &&
		 EVP_DigestUpdate(ctx, v->mv_data, v->mv_size) && EVP_DigestFinal_ex(ctx, md, &md_len);
	if (!ok || md_len != 32)
		return -ENOMEM;
	for (int i = 0; i < 4; i++) {
		uint64_t lane = store_u64_decode(md + 8 * i);
		sum[i] = sign > 0 ? sum[i] + lane : sum[i] - lane;
	}
	return 0;
}

/* Before a write of key in db: takes its old record (if any) out of the digest. */
static int s_digest_out(store_txn_t *txn, store_db_t db, MDB_val *k)
{
	MDB_val old;
	int rc = mdb_get(txn->txn, txn->store->dbi[db], k, &old);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc != 0 ? rc : s_digest_record(txn->store, txn->digest, -1, db, k, &old);
}

int store_put(store_txn_t *txn, store_db_t db, const void *key, size_t key_len,
	      const void *val, size_t val_len)
{
	MDB_val k = { key_len, (void *)key };
	MDB_val v = { val_len, (void *)val };
	if (txn->store->digest_on) {
		int rc = s_digest_out(txn, db, &k);
		if (rc == 0)
			rc = s_digest_record(txn->store, txn->digest, 1, db, &k, &v);
		if (rc != 0)
			return rc;
	}
	return mdb_put(txn->txn, txn->store->dbi[db], &k, &v, 0);
}

int store_append(store_txn_t *txn, store_db_t db, const void *key, size_t key_len,
		 const void *val, size_t val_len)
{
	MDB_val k = { key_len, (void *)key };
	MDB_val v = { val_len, (void *)val };
	/* An append adds a key after every other: there is no old record. */
	if (txn->store->digest_on) {
		int rc = s_digest_record(txn->store, txn->digest, 1, db, &k, &v);
		if (rc != 0)
			return rc;
	}
	return mdb_put(txn->txn, txn->store->dbi[db], &k, &v, MDB_APPEND);
}

int store_del(store_txn_t *txn, store_db_t db, const void *key, size_t key_len)
{
	MDB_val k = { key_len, (void *)key };
	if (txn->store->digest_on) {
		int rc = s_digest_out(txn, db, &k);
		if (rc != 0)
			return rc;
	}
	return mdb_del(txn->txn, txn->store->dbi[db], &k, NULL);
}

static int s_digest_save(store_txn_t *txn)
{
	unsigned char buf[32];
	for (int i = 0; i < 4; i++)
		store_u64_encode(txn->digest[i], buf + 8 * i);
	MDB_val k = { sizeof DIGEST_KEY - 1, DIGEST_KEY };
	MDB_val v = { sizeof buf, buf };
	return mdb_put(txn->txn, txn->store->dbi[STORE_META], &k, &v, 0);
}

/* Sums every record of every database into sum. */
static int s_digest_walk(store_txn_t *txn, uint64_t sum[4])
{
	memset(sum, 0, 4 * sizeof *sum);
	for (int db = 0; db < STORE_N_DBS; db++) {
		MDB_cursor *cursor;
		int rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], &cursor);
		if (rc != 0)
			return rc;
		MDB_val k, v;
		for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT))
			if ((rc = s_digest_record(txn->store, sum, 1, (store_db_t)db, &k, &v)) != 0)
				break;
		mdb_cursor_close(cursor);
		if (rc != MDB_NOTFOUND)
			return rc;
	}
	return 0;
}

static int s_digest_read(store_txn_t *txn, uint64_t out[4], bool *found)
{
	MDB_val v;
	int rc = store_get(txn, STORE_META, DIGEST_KEY, sizeof DIGEST_KEY - 1, &v);
	*found = rc == 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc == 0 && v.mv_size != 32)
		return MDB_CORRUPTED;
	for (int i = 0; rc == 0 && i < 4; i++)
		out[i] = store_u64_decode((const unsigned char *)v.mv_data + 8 * i);
	return rc;
}

int store_digest_enable(store_t *store)
{
	store_txn_t txn;
	bool found;
	if (!store->md && !(store->md = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (!store->sha256 && !(store->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL)))
		return -ENOMEM;
	int rc = store_txn_begin(store, true, &txn);
	if (rc != 0)
		return rc;
	rc = s_digest_read(&txn, txn.digest, &found);
	if (rc == 0 && !found) {
		rc = s_digest_walk(&txn, txn.digest);
		if (rc == 0)
			rc = s_digest_save(&txn);
	}
	if (rc != 0) {
		store_txn_abort(&txn);
		return rc;
	}
	memcpy(store->digest, txn.digest, sizeof store->digest);
	rc = mdb_txn_commit(txn.txn);
	txn.txn = NULL;
	pthread_rwlock_unlock(&store->resize_lock);
	if (rc == 0)
		store->digest_on = true;
	return rc;
}

int store_digest_hex(store_txn_t *txn, char out[65])
{
	uint64_t d[4];
	bool found;
	out[0] = '\0';
	int rc = s_digest_read(txn, d, &found);
	if (rc != 0 || !found)
		return rc;
	for (int i = 0; i < 4; i++)
		snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)d[i]);
	return 0;
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
