/*
 * outbox: the hook deliveries in the store and their due-time index. See outbox.h.
 */
#include "daemon/store/outbox.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jsonw.h"

/*
 * Hook names are section names: letters, digits, _ . - (config.c). LMDB keys are at most 511
 * bytes, which bounds them here too.
 */
#define OUTBOX_KEY_MAX 511

/* A key of either database: the hook name and its NUL, then one or two integers. */
typedef struct {
	unsigned char bytes[OUTBOX_KEY_MAX];
	size_t len;
} outbox_key_t;

bool outbox_hook_matches(const config_hook_t *hook, const char *topic)
{
	if (!hook->topics || hook->n_topics == 0)
		return strncmp(topic, TOPIC_BREACH_PREFIX, strlen(TOPIC_BREACH_PREFIX)) == 0;
	for (size_t i = 0; i < hook->n_topics && hook->topics[i]; i++)
		if (strncmp(topic, hook->topics[i], strlen(hook->topics[i])) == 0)
			return true;
	return false;
}

/* "name NUL": the prefix of all the hook's keys. -ENAMETOOLONG when no key could hold it. */
static int s_key_prefix(outbox_key_t *key, const char *hook)
{
	size_t len = strlen(hook) + 1;
	if (len + 16 > sizeof key->bytes)
		return -ENAMETOOLONG;
	memcpy(key->bytes, hook, len);
	key->len = len;
	return 0;
}

/* The outbox key: "name NUL id". */
static int s_entry_key(outbox_key_t *key, const char *hook, uint64_t id)
{
	int rc = s_key_prefix(key, hook);
	if (rc == 0) {
		store_u64_encode(id, key->bytes + key->len);
		key->len += 8;
	}
	return rc;
}

/* The outbox_due key: "name NUL due id". */
static int s_due_key(outbox_key_t *key, const char *hook, int64_t due, uint64_t id)
{
	int rc = s_key_prefix(key, hook);
	if (rc == 0) {
		store_i64_encode(due, key->bytes + key->len);
		store_u64_encode(id, key->bytes + key->len + 8);
		key->len += 16;
	}
	return rc;
}

/* The outbox value of a fresh delivery, written directly: enqueueing is on the writer's path. */
static char *s_entry_text(const char *hook, uint64_t id, const char *topic, const char *body,
			  int64_t now_ms, size_t *len)
{
	jsonw_t w;
	jsonw_init(&w);
	jsonw_lit(&w, "{\"delivery\":");
	jsonw_i64(&w, (int64_t)id);
	jsonw_lit(&w, ",\"hook\":");
	jsonw_str(&w, hook);
	jsonw_lit(&w, ",\"topic\":");
	jsonw_str(&w, topic);
	jsonw_lit(&w, ",\"body\":");
	jsonw_str(&w, body);
	jsonw_lit(&w, ",\"attempts\":0,\"next_attempt\":");
	jsonw_i64(&w, now_ms);
	jsonw_lit(&w, ",\"created\":");
	jsonw_i64(&w, now_ms);
	jsonw_lit(&w, "}");
	return jsonw_finish(&w, len);
}

/* Puts one fresh delivery for hook, due at now_ms, with its index key. */
static int s_enqueue_one(store_txn_t *txn, const char *hook, uint64_t id, const char *topic,
			 const char *body, int64_t now_ms)
{
	outbox_key_t key, due;
	size_t len;
	int rc = s_entry_key(&key, hook, id);
	if (rc == 0)
		rc = s_due_key(&due, hook, now_ms, id);
	if (rc != 0)
		return rc;
	char *text = s_entry_text(hook, id, topic, body, now_ms, &len);
	if (!text)
		return -ENOMEM;
	rc = store_put(txn, STORE_OUTBOX, key.bytes, key.len, text, len);
	free(text);
	if (rc == 0)
		rc = store_put(txn, STORE_OUTBOX_DUE, due.bytes, due.len, "", 0);
	return rc;
}

/*
 * True when hook must not get msg, a give-up: its own could never be delivered to it (its
 * receiver is what failed), and the give-up of a give-up goes to no hook, or two failing hooks
 * that take hook.* would hand their give-ups to each other for ever.
 */
static bool s_not_for(const config_hook_t *hook, const char *topic, const json_t *msg)
{
	if (strcmp(topic, TOPIC_HOOK_GAVE_UP) != 0)
		return false;
	const char *named = json_string_value(json_object_get(msg, "hook"));
	const char *of = json_string_value(json_object_get(msg, "topic"));
	return (named && strcmp(named, hook->name) == 0) ||
	       (of && strcmp(of, TOPIC_HOOK_GAVE_UP) == 0);
}

int outbox_enqueue(store_txn_t *txn, const config_t *cfg, const char *topic, const json_t *msg,
		   int64_t now_ms, metrics_tally_t *tally, int *queued)
{
	char *body = NULL;
	uint64_t last = 0;
	int rc = 0;
	*queued = 0;
	for (size_t i = 0; rc == 0 && i < cfg->n_hooks; i++) {
		const config_hook_t *hook = &cfg->hooks[i];
		if (!outbox_hook_matches(hook, topic) || s_not_for(hook, topic, msg))
			continue;
		/* The text and the counter only once a hook wants the message. */
		if (!body) {
			size_t len;
			body = jsonw_dumps(msg, &len);
			if (!body)
				return -ENOMEM;
			rc = store_meta_get_u64(txn, "last_delivery", &last);
			if (rc != 0)
				break;
		}
		rc = s_enqueue_one(txn, hook->name, ++last, topic, body, now_ms);
		if (rc == 0) {
			(*queued)++;
			metrics_tally_queued(tally, i);
		}
	}
	if (rc == 0 && *queued > 0)
		rc = store_meta_put_u64(txn, "last_delivery", last);
	free(body);
	if (rc != 0)
		*queued = 0;
	return rc;
}

void outbox_entry_release(outbox_entry_t *entry)
{
	free(entry->topic);
	free(entry->body);
	memset(entry, 0, sizeof *entry);
}

/* A member of an outbox value as an integer, or def when it is not one. */
static int64_t s_int_member(const json_t *value, const char *name, int64_t def)
{
	const json_t *member = json_object_get(value, name);
	return json_is_integer(member) ? (int64_t)json_integer_value(member) : def;
}

/*
 * Copies what an attempt needs out of the value text. A value that is not JSON or lacks the
 * topic or body marks the entry corrupt: it is dropped rather than left to block the hook.
 */
static int s_entry_read(const MDB_val *val, outbox_entry_t *entry)
{
	json_t *value = json_loadb(val->mv_data, val->mv_size, 0, NULL);
	const json_t *topic = json_object_get(value, "topic");
	const json_t *body = json_object_get(value, "body");
	int rc = 0;
	if (!json_is_string(topic) || !json_is_string(body)) {
		entry->corrupt = true;
	} else {
		int64_t attempts = s_int_member(value, "attempts", 0);
		entry->attempts = attempts < 0 ? 0 : attempts > INT_MAX ? INT_MAX : (int)attempts;
		entry->created = s_int_member(value, "created", entry->due);
		entry->topic = strdup(json_string_value(topic));
		entry->body_len = json_string_length(body);
		entry->body = malloc(entry->body_len + 1);
		if (entry->body)
			memcpy(entry->body, json_string_value(body), entry->body_len + 1);
		if (!entry->topic || !entry->body)
			rc = -ENOMEM;
	}
	json_decref(value);
	return rc;
}

/* Reads the entry the index key (hook, due, id) points to into *entry. */
static int s_entry_load(store_txn_t *txn, const char *hook, int64_t due, uint64_t id,
			outbox_entry_t *entry)
{
	outbox_key_t key;
	MDB_val val;
	int rc = s_entry_key(&key, hook, id);
	if (rc != 0)
		return rc;
	entry->delivery = id;
	entry->due = due;
	entry->created = due;
	rc = store_get(txn, STORE_OUTBOX, key.bytes, key.len, &val);
	if (rc == MDB_NOTFOUND) {
		/* An index key without its entry: nothing to deliver, only a key to drop. */
		entry->corrupt = true;
		return 0;
	}
	if (rc == 0)
		rc = s_entry_read(&val, entry);
	if (rc != 0)
		outbox_entry_release(entry);
	return rc;
}

/* The due time and id of an outbox_due key of the hook whose prefix is given; false if not. */
static bool s_due_key_read(const MDB_val *key, const outbox_key_t *prefix, int64_t *due,
			   uint64_t *id)
{
	const unsigned char *k = key->mv_data;
	if (key->mv_size != prefix->len + 16 || memcmp(k, prefix->bytes, prefix->len) != 0)
		return false;
	*due = store_i64_decode(k + prefix->len);
	*id = store_u64_decode(k + prefix->len + 8);
	return true;
}

/* Walks the hook's index keys from its first (a seek) while they are due and room is left. */
static int s_take_walk(store_txn_t *txn, MDB_cursor *cursor, const char *hook,
		       const outbox_key_t *prefix, int64_t now_ms, outbox_entry_t *entries,
		       size_t max, size_t *n, int64_t *next_due)
{
	MDB_val key = { prefix->len, (void *)prefix->bytes }, val;
	int rc = mdb_cursor_get(cursor, &key, &val, MDB_SET_RANGE);
	for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT)) {
		int64_t due;
		uint64_t id;
		if (!s_due_key_read(&key, prefix, &due, &id))
			break;
		if (due > now_ms || *n == max) {
			*next_due = due;
			break;
		}
		rc = s_entry_load(txn, hook, due, id, &entries[*n]);
		if (rc != 0)
			break;
		(*n)++;
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int outbox_take(store_txn_t *txn, const char *hook, int64_t now_ms, outbox_entry_t *entries,
		size_t max, size_t *n, int64_t *next_due)
{
	outbox_key_t prefix;
	MDB_cursor *cursor;
	*n = 0;
	*next_due = INT64_MAX;
	int rc = s_key_prefix(&prefix, hook);
	if (rc == 0)
		rc = store_cursor_open(txn, STORE_OUTBOX_DUE, &cursor);
	if (rc != 0)
		return rc;
	rc = s_take_walk(txn, cursor, hook, &prefix, now_ms, entries, max, n, next_due);
	mdb_cursor_close(cursor);
	if (rc != 0) {
		for (size_t i = 0; i < *n; i++)
			outbox_entry_release(&entries[i]);
		*n = 0;
	}
	return rc;
}

/* Deletes key from db; one that is not there counts in *missing. */
static int s_del_counting(store_txn_t *txn, store_db_t db, const outbox_key_t *key, int *missing)
{
	int rc = store_del(txn, db, key->bytes, key->len);
	if (rc == MDB_NOTFOUND) {
		(*missing)++;
		rc = 0;
	}
	return rc;
}

int outbox_remove(store_txn_t *txn, const char *hook, const outbox_entry_t *entry)
{
	outbox_key_t key, due;
	int missing = 0;
	int rc = s_entry_key(&key, hook, entry->delivery);
	if (rc == 0)
		rc = s_due_key(&due, hook, entry->due, entry->delivery);
	if (rc == 0)
		rc = s_del_counting(txn, STORE_OUTBOX_DUE, &due, &missing);
	if (rc == 0)
		rc = s_del_counting(txn, STORE_OUTBOX, &key, &missing);
	return rc == 0 && missing == 2 ? MDB_NOTFOUND : rc;
}

/* Sets the attempt count and due time of an entry's value and saves it. */
static int s_value_update(store_txn_t *txn, const outbox_key_t *key, int attempts,
			  int64_t next_due)
{
	json_t *value;
	int rc = store_get_json(txn, STORE_OUTBOX, key->bytes, key->len, &value);
	if (rc != 0)
		return rc;
	if (json_object_set_new(value, "attempts", json_integer(attempts)) != 0 ||
	    json_object_set_new(value, "next_attempt", json_integer(next_due)) != 0)
		rc = -ENOMEM;
	size_t len;
	char *text = rc == 0 ? jsonw_dumps(value, &len) : NULL;
	if (rc == 0 && !text)
		rc = -ENOMEM;
	if (rc == 0)
		rc = store_put(txn, STORE_OUTBOX, key->bytes, key->len, text, len);
	free(text);
	json_decref(value);
	return rc;
}

int outbox_retry(store_txn_t *txn, const char *hook, const outbox_entry_t *entry, int attempts,
		 int64_t next_due)
{
	outbox_key_t key, old_due, new_due;
	int rc = s_entry_key(&key, hook, entry->delivery);
	if (rc == 0)
		rc = s_due_key(&old_due, hook, entry->due, entry->delivery);
	if (rc == 0)
		rc = s_due_key(&new_due, hook, next_due, entry->delivery);
	if (rc == 0)
		rc = s_value_update(txn, &key, attempts, next_due);
	if (rc != 0)
		return rc;
	rc = store_del(txn, STORE_OUTBOX_DUE, old_due.bytes, old_due.len);
	/* An index key that was already gone is put back below: the entry is what counts. */
	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = store_put(txn, STORE_OUTBOX_DUE, new_due.bytes, new_due.len, "", 0);
	return rc;
}

/* The hook of cfg an outbox key (hook name, NUL, id) belongs to; -1 when none. */
static long s_key_hook(const config_t *cfg, const MDB_val *k)
{
	const char *name = k->mv_data;
	size_t len = strnlen(name, k->mv_size);
	for (size_t i = 0; i < cfg->n_hooks; i++)
		if (strlen(cfg->hooks[i].name) == len && memcmp(cfg->hooks[i].name, name, len) == 0)
			return (long)i;
	return -1;
}

int outbox_orphans(store_txn_t *txn, const config_t *cfg, size_t *count, size_t *per_hook)
{
	MDB_cursor *cursor;
	MDB_val k, v;
	*count = 0;
	if (per_hook)
		memset(per_hook, 0, cfg->n_hooks * sizeof *per_hook);
	int rc = store_cursor_open(txn, STORE_OUTBOX, &cursor);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
		long hook = s_key_hook(cfg, &k);
		if (hook < 0)
			(*count)++;
		else if (per_hook)
			per_hook[hook]++;
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * The index key of one outbox record (key "name NUL id", value JSON) into *due; false for a
 * key of another shape, which no incidentd wrote and no delivery thread would ever take.
 */
static bool s_index_key_of(const MDB_val *k, const MDB_val *v, outbox_key_t *due)
{
	const char *name = k->mv_data;
	size_t name_len = strnlen(name, k->mv_size);
	if (name_len + 1 + 8 != k->mv_size || name_len + 17 > sizeof due->bytes)
		return false;
	json_t *value = json_loadb(v->mv_data, v->mv_size, 0, NULL);
	/* Unreadable: due at once, where the delivery thread finds it corrupt and drops it. */
	int64_t at = value ? s_int_member(value, "next_attempt", INT64_MIN) : INT64_MIN;
	json_decref(value);
	memcpy(due->bytes, name, name_len + 1);
	store_i64_encode(at, due->bytes + name_len + 1);
	memcpy(due->bytes + name_len + 9, (const char *)k->mv_data + name_len + 1, 8);
	due->len = name_len + 17;
	return true;
}

int outbox_index_build(store_txn_t *txn, size_t *count)
{
	MDB_cursor *cursor;
	MDB_val k, v;
	*count = 0;
	int rc = store_cursor_open(txn, STORE_OUTBOX, &cursor);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
		outbox_key_t due;
		if (!s_index_key_of(&k, &v, &due))
			continue;
		rc = store_put(txn, STORE_OUTBOX_DUE, due.bytes, due.len, "", 0);
		if (rc != 0)
			break;
		(*count)++;
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : rc;
}
