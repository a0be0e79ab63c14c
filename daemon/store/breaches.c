/*
 * breaches: deadlines and breaches in the store. See breaches.h.
 */
#include "daemon/store/breaches.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/core/calendar.h"
#include "daemon/core/rule.h"
#include "daemon/sys/log.h"
#include "proto/ids.h"
#include "proto/jsonw.h"
#include "proto/rfc3339.h"
#include "proto/topic.h"

/*
 * Rule names are at most CONFIG_NAME_MAX bytes; a longer name (a store written under an older
 * configuration) is cut in keys and then matches no configured rule.
 */
#define RULE_NAME_MAX CONFIG_NAME_MAX

/* due, incident, rule (deadlines) or incident, rule (breach_keys). */
typedef struct {
	unsigned char bytes[16 + RULE_NAME_MAX];
	size_t len;
} rule_key_t;

static void s_key_name(rule_key_t *key, size_t at, const char *name)
{
	size_t n = strnlen(name, RULE_NAME_MAX);
	memcpy(key->bytes + at, name, n);
	key->len = at + n;
}

static void s_deadline_key(rule_key_t *key, int64_t due, uint64_t incident, const char *rule)
{
	store_i64_encode(due, key->bytes);
	store_u64_encode(incident, key->bytes + 8);
	s_key_name(key, 16, rule);
}

static void s_breach_key(rule_key_t *key, uint64_t incident, const char *rule)
{
	store_u64_encode(incident, key->bytes);
	s_key_name(key, 8, rule);
}

/* The rule of index i, NULL when out of range. */
static const config_rule_t *s_rule(const config_t *cfg, int i)
{
	return i >= 0 && (size_t)i < cfg->n_rules ? &cfg->rules[i] : NULL;
}

/* Adds "key": time, or null for INT64_MIN. */
static void s_set_time_or_null(json_t *obj, const char *key, int64_t ms)
{
	if (ms == INT64_MIN)
		json_object_set_new(obj, key, json_null());
	else
		wire_set_time(obj, key, ms);
}

static int64_t s_json_ms(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
}

/* A breach as it is stored: the members of its record, in their order. */
typedef struct {
	uint64_t id;
	uint64_t incident;
	const char *provider;
	int category;
	const char *sla;
	int64_t due;
	const char *detected;  /* "deadline" or "on_arrival" */
	int64_t detected_at;
	int64_t stopped_at;    /* INT64_MIN: not stopped (null) */
} breach_rec_t;

/* The ending of a record whose clock has not stopped: s_breach_stop() edits it in place. */
#define UNSTOPPED_TAIL ",\"stopped_at\":null}"

/*
 * The stored record as compact JSON text (malloc'd), written directly: the same bytes
 * json_dumps(JSON_COMPACT) made of the json_pack()ed record before, stopped_at last.
 */
static char *s_record_text(const breach_rec_t *b, size_t *len)
{
	jsonw_t w;
	jsonw_init(&w);
	jsonw_lit(&w, "{\"breach\":");
	jsonw_i64(&w, (int64_t)b->id);
	jsonw_lit(&w, ",\"incident\":");
	jsonw_i64(&w, (int64_t)b->incident);
	jsonw_lit(&w, ",\"provider\":");
	jsonw_str(&w, b->provider);
	jsonw_lit(&w, ",\"category\":");
	jsonw_i64(&w, b->category);
	jsonw_lit(&w, ",\"sla\":");
	jsonw_str(&w, b->sla);
	jsonw_lit(&w, ",\"due\":");
	jsonw_i64(&w, b->due);
	jsonw_lit(&w, ",\"detected\":");
	jsonw_str(&w, b->detected);
	jsonw_lit(&w, ",\"detected_at\":");
	jsonw_i64(&w, b->detected_at);
	if (b->stopped_at == INT64_MIN) {
		jsonw_lit(&w, UNSTOPPED_TAIL);
	} else {
		jsonw_lit(&w, ",\"stopped_at\":");
		jsonw_i64(&w, b->stopped_at);
		jsonw_lit(&w, "}");
	}
	return jsonw_finish(&w, len);
}

/*
 * A breach as the wire shows it: breach, incident, provider, category, sla, due, stopped_at,
 * late_by_ms (stop time, or now while unstopped, minus due), detected, detected_at.
 */
static json_t *s_rec_wire(const breach_rec_t *b, int64_t now_ms)
{
	char id[ID_BUFSZ], bid[ID_BUFSZ];
	json_t *wire = json_object();
	if (!wire)
		return NULL;
	wire_set_string(wire, "breach", id_format(ID_BREACH, b->id, bid));
	wire_set_string(wire, "incident", id_format(ID_INCIDENT, b->incident, id));
	wire_set_string(wire, "provider", b->provider);
	json_object_set_new_nocheck(wire, "category", json_integer(b->category));
	wire_set_string(wire, "sla", b->sla);
	wire_set_time(wire, "due", b->due);
	s_set_time_or_null(wire, "stopped_at", b->stopped_at);
	json_object_set_new_nocheck(wire, "late_by_ms",
				    json_integer((b->stopped_at != INT64_MIN ? b->stopped_at : now_ms) -
						 b->due));
	if (b->detected)
		wire_set_string(wire, "detected", b->detected);
	wire_set_time(wire, "detected_at", b->detected_at);
	return wire;
}

json_t *breaches_wire(const json_t *record, int64_t now_ms)
{
	const json_t *category = json_object_get(record, "category");
	breach_rec_t b = {
		.id = (uint64_t)s_json_ms(record, "breach"),
		.incident = (uint64_t)s_json_ms(record, "incident"),
		.provider = json_string_value(json_object_get(record, "provider")),
		.category = (int)json_integer_value(category),
		.sla = json_string_value(json_object_get(record, "sla")),
		.due = s_json_ms(record, "due"),
		.detected = json_string_value(json_object_get(record, "detected")),
		.detected_at = s_json_ms(record, "detected_at"),
		.stopped_at = s_json_ms(record, "stopped_at"),
	};
	if (!b.provider || !b.sla || !json_is_integer(category))
		return NULL;
	return s_rec_wire(&b, now_ms);
}

/* Appends breach id to the incident's list (inc->extra "breaches"). */
static int s_incident_note(incident_t *inc, uint64_t id)
{
	if (!inc->extra && !(inc->extra = json_object()))
		return -ENOMEM;
	json_t *list = json_object_get(inc->extra, "breaches");
	if (!list) {
		list = json_array();
		if (json_object_set_new(inc->extra, "breaches", list) != 0)
			return -ENOMEM;
	}
	return json_array_append_new(list, json_integer((json_int_t)id)) == 0 ? 0 : -ENOMEM;
}

/*
 * Raises the one breach of inc and rule i: stores it, notes it on inc (the caller saves
 * inc), adds it to reply_breaches (when not NULL) and publishes it on breach.<rule>.
 */
static int s_raise(batch_t *batch, incident_t *inc, int i, int64_t due, int64_t stopped_at,
		   const char *detected, int64_t now_ms, batch_result_t *res, json_t *reply_breaches)
{
	store_txn_t *txn = batch->txn;
	const char *name = batch->cfg->rules[i].name;
	uint64_t id;
	int rc = batch_next(batch, BATCH_LAST_BREACH, &id);
	if (rc != 0)
		return rc;
	breach_rec_t b = { id, inc->id, inc->provider, inc->category, name, due, detected, now_ms,
			   stopped_at };
	size_t len;
	char *record = s_record_text(&b, &len);
	if (!record)
		return -ENOMEM;
	unsigned char idkey[8];
	rule_key_t bkey;
	store_u64_encode(id, idkey);
	s_breach_key(&bkey, inc->id, name);
	/* Breach numbers only grow: the record goes at the end of its table. */
	rc = store_append(txn, STORE_BREACHES, idkey, sizeof idkey, record, len);
	free(record);
	if (rc == 0)
		rc = store_put(txn, STORE_BREACH_KEYS, bkey.bytes, bkey.len, idkey, sizeof idkey);
	if (rc == 0)
		rc = s_incident_note(inc, id);
	json_t *wire = rc == 0 ? s_rec_wire(&b, now_ms) : NULL;
	if (rc != 0 || !wire)
		return rc ? rc : -ENOMEM;
	char bid[ID_BUFSZ], due_text[RFC3339_BUFSZ];
	log_buf_info(batch->log, "breach %s: %s of %s/%s %s (%s)", id_format(ID_BREACH, id, bid), name,
		 inc->provider, inc->ref,
		 detected[0] == 'd' ? "deadline passed"
		 : detected[0] == 'u' ? "a user reported it first" : "late on arrival",
		 rfc3339_format(due, due_text));
	metrics_tally_breach(batch->tally, (size_t)i, detected);
	if (reply_breaches)
		json_array_append(reply_breaches, wire);
	char topic[sizeof TOPIC_BREACH_PREFIX + RULE_NAME_MAX];
	snprintf(topic, sizeof topic, TOPIC_BREACH_PREFIX "%s", name);
	return batch_publish(batch, res, topic, wire);
}

/* The breach id of inc and rule, 0 when there is none. */
static int s_breach_find(store_txn_t *txn, uint64_t incident, const char *rule, uint64_t *id)
{
	rule_key_t key;
	MDB_val v;
	s_breach_key(&key, incident, rule);
	int rc = store_get(txn, STORE_BREACH_KEYS, key.bytes, key.len, &v);
	*id = rc == 0 && v.mv_size == 8 ? store_u64_decode(v.mv_data) : 0;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Records the stop time on a record that ends as s_record_text() ends an unstopped one: the
 * tail is replaced, nothing is parsed. Sets *done false (and writes nothing) when the record
 * does not end that way; the caller then parses it. Returns 0 or an error.
 */
static int s_breach_stop_text(store_txn_t *txn, const unsigned char key[8], const MDB_val *v,
			      int64_t stopped_at, bool *done)
{
	static const char tail[] = UNSTOPPED_TAIL;
	size_t keep = v->mv_size - (sizeof tail - 1);
	*done = v->mv_size >= sizeof tail &&
		memcmp((const char *)v->mv_data + keep, tail, sizeof tail - 1) == 0;
	if (!*done)
		return 0;
	jsonw_t w;
	jsonw_init(&w);
	jsonw_raw(&w, v->mv_data, keep);
	jsonw_lit(&w, ",\"stopped_at\":");
	jsonw_i64(&w, stopped_at);
	jsonw_lit(&w, "}");
	size_t len;
	char *text = jsonw_finish(&w, &len);
	if (!text)
		return -ENOMEM;
	int rc = store_put(txn, STORE_BREACHES, key, 8, text, len);
	free(text);
	return rc;
}

/* Records the stop time on an existing breach that has none yet. */
static int s_breach_stop(store_txn_t *txn, uint64_t id, int64_t stopped_at)
{
	unsigned char key[8];
	json_t *record;
	MDB_val v;
	bool done;
	store_u64_encode(id, key);
	int rc = store_get(txn, STORE_BREACHES, key, sizeof key, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if ((rc = s_breach_stop_text(txn, key, &v, stopped_at, &done)) != 0 || done)
		return rc;
	/* Stopped already, or written some other way: parse it. */
	rc = store_get_json(txn, STORE_BREACHES, key, sizeof key, &record);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if (json_is_null(json_object_get(record, "stopped_at"))) {
		json_object_set_new(record, "stopped_at", json_integer(stopped_at));
		rc = store_put_json(txn, STORE_BREACHES, key, sizeof key, record);
	}
	json_decref(record);
	return rc;
}

/* The rule's clock stopped (its stop stage, or a problem's first link) while it ran. */
static int s_on_stop(batch_t *batch, incident_t *inc, int i, int64_t due, int64_t stop,
		     int64_t now_ms, batch_result_t *res, json_t *reply_breaches)
{
	store_txn_t *txn = batch->txn;
	const char *name = batch->cfg->rules[i].name;
	rule_key_t key;
	s_deadline_key(&key, due, inc->id, name);
	int rc = store_del(txn, STORE_DEADLINES, key.bytes, key.len);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	uint64_t existing;
	if ((rc = s_breach_find(txn, inc->id, name, &existing)) != 0)
		return rc;
	if (existing)
		return s_breach_stop(txn, existing, stop);
	/* Late by its own clock, or the deadline passed before the daemon knew of a stop. */
	if (stop > due || now_ms > due)
		return s_raise(batch, inc, i, due, stop, "on_arrival", now_ms, res, reply_breaches);
	return 0;
}

/* Drops the pending deadline of rule i at due (there may be none). */
static int s_deadline_drop(batch_t *batch, const incident_t *inc, int i, int64_t due)
{
	rule_key_t key;
	s_deadline_key(&key, due, inc->id, batch->cfg->rules[i].name);
	int rc = store_del(batch->txn, STORE_DEADLINES, key.bytes, key.len);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * An event moved the clock of rule i from before to after (a start or stop report, an earlier
 * one from another source, or the incident becoming major). A breach already raised only
 * learns of the stop; otherwise the rule is breached on arrival when the event revealed it
 * late (its stop past due by its clock, or arriving after the due time; or a start reported so
 * far back that its deadline passed), else its deadline waits, moved to the new due time.
 */
static int s_on_clock(batch_t *batch, incident_t *inc, int i, rule_clock_t before,
		      rule_clock_t after, int64_t now_ms, batch_result_t *res, json_t *reply_breaches)
{
	const config_rule_t *rule = &batch->cfg->rules[i];
	int rc = 0;
	if (before.due != INT64_MIN && before.stop == INT64_MIN)
		rc = s_deadline_drop(batch, inc, i, before.due);
	uint64_t existing;
	if (rc == 0)
		rc = s_breach_find(batch->txn, inc->id, rule->name, &existing);
	if (rc != 0)
		return rc;
	if (existing)
		return after.stop != INT64_MIN && before.stop == INT64_MIN
			       ? s_breach_stop(batch->txn, existing, after.stop)
			       : 0;
	if (after.due == INT64_MIN)
		return 0;
	if (after.stop != INT64_MIN) {
		if (after.stop > after.due || rule_stop_arrival(rule, inc) > after.due)
			return s_raise(batch, inc, i, after.due, after.stop, "on_arrival", now_ms, res,
				       reply_breaches);
		return 0;
	}
	if (now_ms > after.due)
		return s_raise(batch, inc, i, after.due, INT64_MIN, "on_arrival", now_ms, res,
			       reply_breaches);
	if (after.due == CALENDAR_NEVER)
		return 0; /* a calendar with no working time: never due */
	rule_key_t key;
	s_deadline_key(&key, after.due, inc->id, rule->name);
	rc = store_put(batch->txn, STORE_DEADLINES, key.bytes, key.len, "", 0);
	if (rc == 0)
		rc = batch_arm(res, (deadline_t){ after.due, inc->id, i });
	return rc;
}

/*
 * A user's report arrived: a before_user rule with no stop yet, and not already breached, is
 * breached now ("user_first", due at the report's arrival); its pending deadline goes, as the
 * rule is breached. Only the first user report can do so (rule_user_first_due()).
 */
static int s_on_user(batch_t *batch, incident_t *inc, int i, rule_clock_t before, int64_t now_ms,
		     batch_result_t *res, json_t *reply_breaches)
{
	const config_rule_t *rule = &batch->cfg->rules[i];
	int64_t due = rule_applies(rule, inc) ? rule_user_first_due(batch->cfg, rule, inc) : INT64_MIN;
	uint64_t existing;
	if (due == INT64_MIN)
		return 0;
	int rc = s_breach_find(batch->txn, inc->id, rule->name, &existing);
	if (rc != 0 || existing)
		return rc;
	if (before.due != INT64_MIN && before.stop == INT64_MIN &&
	    (rc = s_deadline_drop(batch, inc, i, before.due)) != 0)
		return rc;
	return s_raise(batch, inc, i, due, INT64_MIN, "user_first", now_ms, res, reply_breaches);
}

void breaches_clocks(const config_t *cfg, const incident_t *inc, int stage, wire_source_t source,
		     rule_clock_t *clocks)
{
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const config_rule_t *rule = &cfg->rules[i];
		clocks[i] = rule_concerns(rule, stage, source, inc->major)
				    ? rule_clock(cfg, rule, inc)
				    : (rule_clock_t){ false, INT64_MIN, INT64_MIN };
	}
}

int breaches_on_event(batch_t *batch, incident_t *inc, const incident_report_t *added,
		      const rule_clock_t *before, int64_t now_ms, batch_result_t *res,
		      json_t *reply_breaches)
{
	const config_t *cfg = batch->cfg;
	bool first_user = added->source == SOURCE_USER &&
			  incident_first_from(inc, SOURCE_USER) == added->received_ms;
	int rc = 0;
	for (size_t i = 0; i < cfg->n_rules && rc == 0; i++) {
		const config_rule_t *rule = &cfg->rules[i];
		if (!before[i].concerned)
			continue;
		/* The user-first breach first: a rule it breaches needs no deadline. */
		if (rule->before_user && first_user)
			rc = s_on_user(batch, inc, (int)i, before[i], now_ms, res, reply_breaches);
		rule_clock_t after = rule_clock(cfg, rule, inc);
		if (rc == 0 && (after.due != before[i].due || after.stop != before[i].stop))
			rc = s_on_clock(batch, inc, (int)i, before[i], after, now_ms, res,
					reply_breaches);
	}
	return rc;
}

int breaches_on_link(batch_t *batch, incident_t *inc, int64_t now_ms, batch_result_t *res)
{
	const config_t *cfg = batch->cfg;
	int rc = 0;
	for (size_t i = 0; i < cfg->n_rules && rc == 0; i++) {
		const config_rule_t *rule = &cfg->rules[i];
		int64_t due = rule_applies(rule, inc) ? rule_due(cfg, rule, inc) : INT64_MIN;
		if (config_rule_kinds[rule->kind].stops_at != RULE_STOPS_AT_LINK || due == INT64_MIN)
			continue;
		rc = s_on_stop(batch, inc, (int)i, due, now_ms, now_ms, res, NULL);
	}
	return rc;
}

int breaches_fire(batch_t *batch, const deadline_t *d, int64_t now_ms, batch_result_t *res)
{
	store_txn_t *txn = batch->txn;
	const config_rule_t *rule = s_rule(batch->cfg, d->rule);
	if (!rule)
		return 0;
	const char *name = rule->name;
	rule_key_t key;
	MDB_val v;
	s_deadline_key(&key, d->due, d->incident, name);
	int rc = store_get(txn, STORE_DEADLINES, key.bytes, key.len, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc; /* met in time: a stale heap entry */
	if ((rc = store_del(txn, STORE_DEADLINES, key.bytes, key.len)) != 0)
		return rc;
	uint64_t existing;
	incident_t *inc = NULL;
	if ((rc = s_breach_find(txn, d->incident, name, &existing)) != 0 || existing)
		return rc;
	rc = batch_incident(batch, d->incident, &inc);
	if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED) {
		log_warnx("deadline of %s for incident %llu: no such incident", name,
			  (unsigned long long)d->incident);
		return 0;
	}
	if (rc == 0)
		rc = s_raise(batch, inc, d->rule, d->due, INT64_MIN, "deadline", now_ms, res, NULL);
	if (rc == 0)
		batch_touch(batch, inc);
	return rc;
}

static json_t *s_breach_load_wire(store_txn_t *txn, uint64_t id, int64_t now_ms)
{
	unsigned char key[8];
	json_t *record;
	store_u64_encode(id, key);
	if (store_get_json(txn, STORE_BREACHES, key, sizeof key, &record) != 0)
		return NULL;
	json_t *wire = breaches_wire(record, now_ms);
	json_decref(record);
	return wire;
}

json_t *breaches_of_incident(store_txn_t *txn, const incident_t *inc, int64_t now_ms)
{
	json_t *out = json_array();
	const json_t *ids = inc->extra ? json_object_get(inc->extra, "breaches") : NULL;
	size_t i;
	const json_t *id;
	json_array_foreach(ids, i, id) {
		json_t *wire = s_breach_load_wire(txn, (uint64_t)json_integer_value(id), now_ms);
		if (wire)
			json_array_append_new(out, wire);
	}
	return out;
}

/*
 * Calls fn(d, arg) for every entry of the deadlines database whose rule is still configured,
 * soonest first; counts in *unknown those of other rules. The first nonzero return of fn ends
 * the walk and is returned. Returns 0 or a negative code.
 */
static int s_deadlines_each(store_txn_t *txn, const config_t *cfg,
			    int (*fn)(const deadline_t *d, void *arg), void *arg, size_t *unknown)
{
	MDB_cursor *cursor;
	MDB_val k, v;
	int rc = store_cursor_open(txn, STORE_DEADLINES, &cursor);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= 16)
			continue;
		const unsigned char *b = k.mv_data;
		int rule = rule_find(cfg, (const char *)b + 16, k.mv_size - 16);
		if (rule < 0) {
			(*unknown)++; /* a rule no longer configured: it will never fire */
			continue;
		}
		deadline_t d = { store_i64_decode(b), store_u64_decode(b + 8), rule };
		if ((rc = fn(&d, arg)) != 0)
			break;
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_heap_push(const deadline_t *d, void *heap)
{
	return deadline_heap_push(heap, *d);
}

int breaches_load_deadlines(store_t *store, const config_t *cfg, deadline_heap_t *heap)
{
	store_txn_t txn;
	size_t unknown = 0;
	int rc = store_txn_begin(store, false, &txn);
	if (rc != 0)
		return rc;
	rc = s_deadlines_each(&txn, cfg, s_heap_push, heap, &unknown);
	store_txn_abort(&txn);
	if (unknown)
		log_warnx("%zu pending deadline(s) belong to rules no longer configured; ignored", unknown);
	return rc;
}

/* What breaches_walk_deadlines() passes through to the caller's fn. */
typedef struct {
	store_txn_t *txn;
	const config_t *cfg;
	int (*fn)(const deadline_t *d, void *arg);
	void *arg;
} unbreached_walk_t;

/* Passes d on unless its incident has a breach of the rule already. */
static int s_unbreached(const deadline_t *d, void *arg)
{
	const unbreached_walk_t *w = arg;
	uint64_t breach;
	int rc = s_breach_find(w->txn, d->incident, w->cfg->rules[d->rule].name, &breach);
	return rc != 0 ? rc : breach ? 0 : w->fn(d, w->arg);
}

int breaches_walk_deadlines(store_txn_t *txn, const config_t *cfg,
			    int (*fn)(const deadline_t *d, void *arg), void *arg)
{
	unbreached_walk_t w = { txn, cfg, fn, arg };
	size_t unknown = 0;
	return s_deadlines_each(txn, cfg, s_unbreached, &w, &unknown);
}
