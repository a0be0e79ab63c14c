/*
 * incidents: the records of incidents and their indexes. See incidents.h.
 */
#include "daemon/store/incidents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

/* provider NUL ref (or event_id): the keys of refs and dedup. */
#define PAIR_KEY_MAX (WIRE_PROVIDER_MAX + 1 + WIRE_EVENT_ID_MAX + WIRE_REF_MAX)

typedef struct {
	unsigned char bytes[PAIR_KEY_MAX];
	size_t len;
} pair_key_t;

/* The key "a NUL b"; -EINVAL when it does not fit (the decoders bound both, so never). */
static int s_pair_key(pair_key_t *key, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la + 1 + lb > sizeof key->bytes)
		return -EINVAL;
	memcpy(key->bytes, a, la);
	key->bytes[la] = '\0';
	memcpy(key->bytes + la + 1, b, lb);
	key->len = la + 1 + lb;
	return 0;
}

int incidents_load(store_txn_t *txn, const config_t *cfg, uint64_t id, incident_t **inc_out)
{
	unsigned char key[8];
	json_t *record;
	store_u64_encode(id, key);
	int rc = store_get_json(txn, STORE_INCIDENTS, key, sizeof key, &record);
	*inc_out = NULL;
	if (rc != 0)
		return rc;
	*inc_out = incident_from_record(record, cfg);
	json_decref(record);
	return *inc_out ? 0 : MDB_CORRUPTED;
}

/*
 * Writes inc's digest as the value of its entry in the opened-time index, which the monthly
 * report walks: reports read digests, not the JSON records.
 */
static int s_digest_save(store_txn_t *txn, const config_t *cfg, const incident_t *inc)
{
	unsigned char key[16], digest[INCIDENT_DIGEST_MAX];
	store_i64_encode(incident_opened_at(inc, cfg), key);
	store_u64_encode(inc->id, key + 8);
	size_t len = incident_digest_encode(inc, cfg, digest);
	return store_put(txn, STORE_OPENED, key, sizeof key, digest, len);
}

int incidents_digests_rebuild(store_txn_t *txn, const config_t *cfg, size_t *count)
{
	MDB_cursor *cursor;
	MDB_val k, v;
	*count = 0;
	/*
	 * The keys first, then the writes: a value that grows in place (MDB_CURRENT) can split
	 * the page under the cursor, and a walk that writes as it goes was seen to skip entries.
	 */
	unsigned char (*keys)[16] = NULL;
	size_t n = 0, cap = 0;
	int rc = store_cursor_open(txn, STORE_OPENED, &cursor);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16)
			continue;
		if (n == cap) {
			size_t grown_cap = cap ? 2 * cap : 1024;
			void *grown = realloc(keys, grown_cap * sizeof *keys);
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			keys = grown;
			cap = grown_cap;
		}
		memcpy(keys[n++], k.mv_data, 16);
	}
	mdb_cursor_close(cursor);
	rc = rc == MDB_NOTFOUND ? 0 : rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		incident_t *inc;
		int lrc = incidents_load(txn, cfg, store_u64_decode(keys[i] + 8), &inc);
		if (lrc == MDB_NOTFOUND || lrc == MDB_CORRUPTED)
			continue;
		if ((rc = lrc) != 0)
			break;
		unsigned char digest[INCIDENT_DIGEST_MAX];
		size_t len = incident_digest_encode(inc, cfg, digest);
		incident_destroy(&inc);
		if ((rc = store_put(txn, STORE_OPENED, keys[i], 16, digest, len)) == 0)
			(*count)++;
	}
	free(keys);
	return rc;
}

int incidents_save(store_txn_t *txn, const config_t *cfg, const incident_t *inc)
{
	unsigned char key[8];
	size_t len;
	char *text = incident_record_text(inc, cfg, &len);
	if (!text)
		return -ENOMEM;
	store_u64_encode(inc->id, key);
	int rc = store_put(txn, STORE_INCIDENTS, key, sizeof key, text, len);
	free(text);
	return rc ? rc : s_digest_save(txn, cfg, inc);
}

static const store_db_t s_status_db[] = {
	[INCIDENT_OPEN] = STORE_OPEN,
	[INCIDENT_RESOLVED] = STORE_RESOLVED,
	[INCIDENT_CLOSED] = STORE_CLOSED,
};

int incidents_index(store_txn_t *txn, const config_t *cfg, const incident_t *inc, int was_status,
		    int64_t was_opened)
{
	unsigned char id[8], okey[16];
	int rc = 0;
	store_u64_encode(inc->id, id);
	int status = (int)incident_status(inc, cfg);
	if (status != was_status) {
		if (was_status >= 0)
			rc = store_del(txn, s_status_db[was_status], id, sizeof id);
		if (rc == 0)
			rc = store_put(txn, s_status_db[status], id, sizeof id, "", 0);
	}
	int64_t opened = incident_opened_at(inc, cfg);
	if (rc == 0 && opened != was_opened && was_opened != INT64_MIN) {
		memcpy(okey + 8, id, 8);
		store_i64_encode(was_opened, okey);
		rc = store_del(txn, STORE_OPENED, okey, sizeof okey);
		/* Not there when the opening time moved twice within one batch. */
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	return rc;
}

int incidents_find_ref(store_txn_t *txn, const char *provider, const char *ref, uint64_t *id)
{
	pair_key_t key;
	MDB_val v;
	int rc = s_pair_key(&key, provider, ref);
	if (rc == 0)
		rc = store_get(txn, STORE_REFS, key.bytes, key.len, &v);
	if (rc == 0 && v.mv_size != 8)
		rc = MDB_CORRUPTED;
	if (rc == 0)
		*id = store_u64_decode(v.mv_data);
	return rc;
}

int incidents_add_ref(store_txn_t *txn, const char *provider, const char *ref, uint64_t id)
{
	pair_key_t key;
	unsigned char value[8];
	int rc = s_pair_key(&key, provider, ref);
	store_u64_encode(id, value);
	return rc ? rc : store_put(txn, STORE_REFS, key.bytes, key.len, value, sizeof value);
}

int incidents_find_event(store_txn_t *txn, const char *provider, const char *event_id,
			 uint64_t *seq, uint64_t *id)
{
	pair_key_t key;
	MDB_val v;
	int rc = s_pair_key(&key, provider, event_id);
	if (rc == 0)
		rc = store_get(txn, STORE_DEDUP, key.bytes, key.len, &v);
	if (rc == 0 && v.mv_size != 16)
		rc = MDB_CORRUPTED;
	if (rc == 0) {
		*seq = store_u64_decode(v.mv_data);
		*id = store_u64_decode((const unsigned char *)v.mv_data + 8);
	}
	return rc;
}

/*
 * Walks the keys of db that start with "provider NUL", calling fn on each value; the first
 * nonzero return of fn stops the walk and is returned.
 */
static int s_walk_provider(store_txn_t *txn, store_db_t db, const char *provider,
			   int (*fn)(const MDB_val *value, void *arg), void *arg)
{
	size_t plen = strlen(provider) + 1;
	MDB_cursor *cursor;
	MDB_val k = { plen, (void *)provider }, v;
	int rc = store_cursor_open(txn, db, &cursor);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, provider, plen) != 0)
			break;
		if ((rc = fn(&v, arg)) != 0)
			break;
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct {
	int (*fn)(uint64_t id, void *arg);
	void *arg;
} ref_walk_t;

static int s_ref_id(const MDB_val *value, void *arg)
{
	const ref_walk_t *w = arg;
	return value->mv_size == 8 ? w->fn(store_u64_decode(value->mv_data), w->arg) : 0;
}

int incidents_of_provider(store_txn_t *txn, const char *provider,
			  int (*fn)(uint64_t id, void *arg), void *arg)
{
	ref_walk_t w = { fn, arg };
	return s_walk_provider(txn, STORE_REFS, provider, s_ref_id, &w);
}

static int s_count(const MDB_val *value, void *arg)
{
	(void)value;
	(*(size_t *)arg)++;
	return 0;
}

int incidents_count_events(store_txn_t *txn, const char *provider, size_t *count)
{
	*count = 0;
	return s_walk_provider(txn, STORE_DEDUP, provider, s_count, count);
}

int incidents_add_event(store_txn_t *txn, const char *provider, const char *event_id,
			uint64_t seq, uint64_t id)
{
	pair_key_t key;
	unsigned char value[16];
	int rc = s_pair_key(&key, provider, event_id);
	store_u64_encode(seq, value);
	store_u64_encode(id, value + 8);
	return rc ? rc : store_put(txn, STORE_DEDUP, key.bytes, key.len, value, sizeof value);
}
