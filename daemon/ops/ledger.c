/*
 * ledger: the API operations applied to the store. See ledger.h.
 */
#include "daemon/ops/ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ops/breach.h"
#include "daemon/core/incident.h"
#include "daemon/sys/log.h"
#include "daemon/ops/problem.h"
#include "daemon/core/report.h"
#include "daemon/store/outbox.h"
#include "proto/ids.h"
#include "proto/jsonw.h"

/* provider NUL ref (or event_id): the keys of refs and dedup. */
#define PAIR_KEY_MAX (WIRE_PROVIDER_MAX + 1 + WIRE_EVENT_ID_MAX + WIRE_REF_MAX)

typedef struct {
	unsigned char bytes[PAIR_KEY_MAX];
	size_t len;
} pair_key_t;

static void s_pair_key(pair_key_t *key, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* wire_event_decode bounds both strings, so this always fits. */
	memcpy(key->bytes, a, la);
	key->bytes[la] = '\0';
	memcpy(key->bytes + la + 1, b, lb);
	key->len = la + 1 + lb;
}

void ledger_pubs_free(ledger_pub_t *pubs)
{
	while (pubs) {
		ledger_pub_t *next = pubs->next;
		free(pubs->topic);
		json_decref(pubs->body);
		free(pubs);
		pubs = next;
	}
}

void ledger_result_init(ledger_result_t *res)
{
	/* Member by member, leaving the error's message buffer: a batch sets up thousands. */
	res->fields = NULL;
	res->event = (ledger_event_reply_t){ .set = false };
	res->err.code = WIRE_OK;
	res->err.message[0] = '\0';
	res->pubs = NULL;
	res->pubs_tail = &res->pubs;
	res->arm = NULL;
	res->n_arm = 0;
}

void ledger_result_clear(ledger_result_t *res)
{
	json_decref(res->fields);
	json_decref(res->event.breaches);
	ledger_pubs_free(res->pubs);
	free(res->arm);
	ledger_result_init(res);
}

int ledger_arm(ledger_result_t *res, deadline_t d)
{
	deadline_t *arm = realloc(res->arm, (res->n_arm + 1) * sizeof *arm);
	if (!arm)
		return ENOMEM;
	arm[res->n_arm++] = d;
	res->arm = arm;
	return 0;
}

/* Fails the request with err already set by a decoder; nothing was written. */
static int s_refuse(ledger_result_t *res)
{
	json_decref(res->fields);
	res->fields = NULL;
	return 0;
}

int ledger_internal(ledger_result_t *res, const char *what, int rc)
{
	log_warnx("%s: %s", what, mdb_strerror(rc));
	wire_error_set(&res->err, WIRE_INTERNAL, "%s: %s", what, mdb_strerror(rc));
	return s_refuse(res);
}

/* The meta records of the counters, by ledger_counter_t. */
static const char *const s_counter_names[LEDGER_N_COUNTERS] = {
	[LEDGER_LOG_SEQ] = "log_seq",
	[LEDGER_LAST_INCIDENT] = "last_incident",
	[LEDGER_LAST_BREACH] = "last_breach",
	[LEDGER_LAST_PROBLEM] = "last_problem",
};

int ledger_batch_start(ledger_batch_t *batch, const config_t *cfg, incident_cache_t *cache,
		       store_txn_t *txn, int64_t now_ms, bool listening, log_buf_t *log)
{
	batch->listening = listening;
	batch->log = log;
	memset(batch->loaded, 0, sizeof batch->loaded);
	memset(batch->dirty, 0, sizeof batch->dirty);
	batch->cfg = cfg;
	batch->cache = cache;
	batch->now_ms = now_ms;
	batch->alerts_queued = 0;
	incident_cache_trim(cache);
	return store_meta_get_u64(txn, "pub_seq", &batch->pub_seq);
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

int ledger_batch_finish(ledger_batch_t *batch, store_txn_t *txn)
{
	size_t n;
	incident_t *const *dirty = incident_cache_dirty(batch->cache, &n);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = ledger_incident_save(txn, batch->cfg, dirty[i]);
		if (rc == 0)
			rc = s_digest_save(txn, batch->cfg, dirty[i]);
	}
	if (rc == 0)
		rc = store_meta_put_u64(txn, "pub_seq", batch->pub_seq);
	for (int c = 0; c < LEDGER_N_COUNTERS && rc == 0; c++)
		if (batch->dirty[c])
			rc = store_meta_put_u64(txn, s_counter_names[c], batch->counters[c]);
	if (rc == 0)
		incident_cache_clean(batch->cache);
	return rc;
}

int ledger_next(ledger_batch_t *batch, store_txn_t *txn, ledger_counter_t counter,
		uint64_t *out)
{
	if (!batch->loaded[counter]) {
		int rc = store_meta_get_u64(txn, s_counter_names[counter], &batch->counters[counter]);
		if (rc != 0)
			return rc;
		batch->loaded[counter] = true;
	}
	batch->dirty[counter] = true;
	*out = ++batch->counters[counter];
	return 0;
}

int ledger_batch_incident(ledger_batch_t *batch, store_txn_t *txn, uint64_t id,
			  incident_t **inc_out)
{
	*inc_out = incident_cache_get(batch->cache, id);
	if (*inc_out)
		return 0;
	incident_t *inc;
	int rc = ledger_incident_load(txn, batch->cfg, id, &inc);
	if (rc != 0)
		return rc;
	if (incident_cache_put(batch->cache, inc) != 0)
		return ENOMEM;
	*inc_out = inc;
	return 0;
}

void ledger_batch_touch(ledger_batch_t *batch, const incident_t *inc)
{
	incident_cache_mark_dirty(batch->cache, inc->id);
}

/*
 * Puts msg in the outbox of every hook whose topics match, in the transaction that produced
 * it, so that a committed alert always reaches its hooks. Serialises msg only when a hook
 * wants it.
 */
static bool s_hooked(const config_t *cfg, const char *topic)
{
	for (size_t i = 0; i < cfg->n_hooks; i++)
		if (outbox_hook_matches(&cfg->hooks[i], topic))
			return true;
	return false;
}

bool ledger_wanted(const ledger_batch_t *batch, const char *topic)
{
	return batch->listening || s_hooked(batch->cfg, topic);
}

static int s_outbox(ledger_batch_t *batch, store_txn_t *txn, const char *topic, const json_t *msg)
{
	if (!s_hooked(batch->cfg, topic))
		return 0;
	int queued = 0;
	int rc = outbox_enqueue(txn, batch->cfg, topic, msg, batch->now_ms, &queued);
	batch->alerts_queued += queued;
	return rc;
}

int ledger_publish(ledger_batch_t *batch, store_txn_t *txn, ledger_result_t *res,
		   const char *topic, json_t *body)
{
	if (!ledger_wanted(batch, topic)) {
		/* Nobody would get it: count its seq, and skip the work. */
		batch->pub_seq++;
		json_decref(body);
		return 0;
	}
	json_t *msg = json_object();
	ledger_pub_t *pub = calloc(1, sizeof *pub);
	if (msg)
		json_object_set_new_nocheck(msg, "seq", json_integer((json_int_t)++batch->pub_seq));
	if (!msg || !pub || !body || json_object_update(msg, body) != 0 ||
	    !(pub->topic = strdup(topic))) {
		json_decref(msg);
		json_decref(body);
		ledger_pubs_free(pub);
		return ENOMEM;
	}
	json_decref(body);
	pub->body = msg;
	*res->pubs_tail = pub;
	res->pubs_tail = &pub->next;
	return s_outbox(batch, txn, topic, msg);
}

int ledger_incident_load(store_txn_t *txn, const config_t *cfg, uint64_t id, incident_t **inc_out)
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

int ledger_incident_save(store_txn_t *txn, const config_t *cfg, const incident_t *inc)
{
	unsigned char key[8];
	size_t len;
	/* Written directly: the same text json_dumps() made of incident_to_record(), faster. */
	char *text = incident_record_text(inc, cfg, &len);
	if (!text)
		return ENOMEM;
	store_u64_encode(inc->id, key);
	int rc = store_put(txn, STORE_INCIDENTS, key, sizeof key, text, len);
	free(text);
	return rc;
}

static const store_db_t s_status_db[] = {
	[INCIDENT_OPEN] = STORE_OPEN,
	[INCIDENT_RESOLVED] = STORE_RESOLVED,
	[INCIDENT_CLOSED] = STORE_CLOSED,
};

/*
 * Moves inc between the status indexes, and drops its entry in the opened-time index when
 * its opening time moved. was_status is -1 and was_opened INT64_MIN for a new incident.
 */
static int s_indexes_update(store_txn_t *txn, const config_t *cfg, const incident_t *inc,
			    int was_status, int64_t was_opened)
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
	/* The entry under the new opening time is written with the digest (s_digest_save). */
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

/* The event reply: {"incident", "duplicate", "status", "breaches"}. Takes breaches. */
static void s_event_reply(ledger_result_t *res, const incident_t *inc, const config_t *cfg,
			  bool duplicate, json_t *breaches)
{
	json_decref(res->event.breaches);
	res->event = (ledger_event_reply_t){
		.set = true,
		.duplicate = duplicate,
		.incident = inc->id,
		.status = incident_status(inc, cfg),
		.breaches = breaches && json_array_size(breaches) > 0 ? breaches : NULL,
	};
	if (breaches && !res->event.breaches)
		json_decref(breaches);
}

char *ledger_event_reply_text(const ledger_event_reply_t *reply, const char *id_text,
			      size_t id_len, const json_t *id, size_t *len_out)
{
	char inc[ID_BUFSZ];
	jsonw_t w;
	jsonw_init(&w);
	jsonw_lit(&w, "{\"ok\":true");
	if (id_text || id) {
		jsonw_lit(&w, ",\"id\":");
		/* A json_t id (off the fast path) as other replies write it: reals to 15 digits. */
		if (id_text)
			jsonw_raw(&w, id_text, id_len);
		else
			jsonw_dumped(&w, id, JSON_COMPACT | JSON_REAL_PRECISION(15));
	}
	jsonw_lit(&w, ",\"incident\":\"");
	jsonw_lit(&w, id_format(ID_INCIDENT, reply->incident, inc));
	jsonw_lit(&w, "\",\"duplicate\":");
	jsonw_bool(&w, reply->duplicate);
	jsonw_lit(&w, ",\"status\":\"");
	jsonw_lit(&w, incident_status_name(reply->status));
	jsonw_lit(&w, "\",\"breaches\":");
	if (reply->breaches)
		jsonw_json(&w, reply->breaches);
	else
		jsonw_lit(&w, "[]");
	jsonw_lit(&w, "}");
	return jsonw_finish(&w, len_out);
}

/* The breaches an event revealed, as the wire shows them now (the log keeps their ids). */
static json_t *s_breaches_by_id(store_txn_t *txn, const incident_t *inc, const json_t *ids,
				int64_t now_ms)
{
	json_t *all = breach_of_incident(txn, inc, now_ms), *out = json_array();
	size_t i, j;
	json_t *b, *id;
	json_array_foreach(all, i, b) {
		json_array_foreach(ids, j, id) {
			if (json_equal(json_object_get(b, "breach"), id))
				json_array_append(out, b);
		}
	}
	json_decref(all);
	return out;
}

/*
 * A known (provider, event_id): the same content is answered again as a duplicate (with the
 * breaches the original revealed), other content is a conflict. dedup holds the log seq of
 * the original and its incident.
 */
static int s_event_repeat(ledger_batch_t *batch, store_txn_t *txn, const MDB_val *dedup,
			  const json_t *req, const char *raw, size_t raw_len, const wire_event_t *ev,
			  int64_t now_ms, ledger_result_t *res)
{
	const config_t *cfg = batch->cfg;
	if (dedup->mv_size != 16)
		return ledger_internal(res, "dedup record", MDB_CORRUPTED);
	json_t *original = NULL;
	int rc = store_get_json(txn, STORE_LOG, dedup->mv_data, 8, &original);
	if (rc != 0)
		return rc == MDB_NOTFOUND || rc == MDB_CORRUPTED ? ledger_internal(res, "event log", rc) : rc;
	/* A scanned request has no json_t; a retry is rare enough to parse it now. */
	json_t *parsed = req ? NULL : json_loadb(raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
	json_t *content = wire_event_content(req ? req : parsed);
	json_decref(parsed);
	json_t *was = wire_event_content(json_object_get(original, "request"));
	bool same = content && was && json_equal(was, content);
	json_decref(content);
	json_decref(was);
	if (!same) {
		json_decref(original);
		wire_error_set(&res->err, WIRE_CONFLICT,
			       "event_id: %s was already used by provider %s for a different event",
			       ev->event_id, ev->provider);
		return s_refuse(res);
	}
	incident_t *inc;
	rc = ledger_batch_incident(batch, txn, store_u64_decode((const unsigned char *)dedup->mv_data + 8),
				   &inc);
	if (rc == 0) {
		json_t *breaches = s_breaches_by_id(txn, inc, json_object_get(original, "breaches"), now_ms);
		s_event_reply(res, inc, cfg, true, breaches);
	}
	json_decref(original);
	if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED)
		return ledger_internal(res, "incident record", rc);
	return rc;
}

/*
 * Finds the incident of (provider, ref) (borrowed from the batch's cache), or makes a new one
 * when ev can open it (owned by the caller). *opened says which. Returns 0 with *inc_out NULL
 * when the request was refused.
 */
static int s_event_incident(ledger_batch_t *batch, store_txn_t *txn, const wire_event_t *ev,
			    incident_t **inc_out, bool *opened, ledger_result_t *res)
{
	pair_key_t key;
	MDB_val v;
	*inc_out = NULL;
	s_pair_key(&key, ev->provider, ev->ref);
	int rc = store_get(txn, STORE_REFS, key.bytes, key.len, &v);
	if (rc == 0) {
		*opened = false;
		rc = ledger_batch_incident(batch, txn, store_u64_decode(v.mv_data), inc_out);
		return rc == MDB_CORRUPTED ? ledger_internal(res, "incident record", rc) : rc;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	if (incident_check_open(ev, &res->err) < 0)
		return s_refuse(res);
	uint64_t id;
	if ((rc = ledger_next(batch, txn, LEDGER_LAST_INCIDENT, &id)) != 0)
		return rc;
	*opened = true;
	*inc_out = incident_new(id, ev);
	return *inc_out ? 0 : ENOMEM;
}

/* The members incident.opened and incident.stage share. */
static json_t *s_message_head(const incident_t *inc)
{
	char id[ID_BUFSZ];
	json_t *body = json_object();
	if (!body)
		return NULL;
	wire_set_string(body, "incident", id_format(ID_INCIDENT, inc->id, id));
	wire_set_string(body, "provider", inc->provider);
	wire_set_string(body, "ref", inc->ref);
	return body;
}

/* Publishes incident.opened (for a new incident) and incident.stage. */
static int s_event_publish(ledger_batch_t *batch, store_txn_t *txn, ledger_result_t *res,
			   const incident_t *inc, int stage, bool opened)
{
	const config_t *cfg = batch->cfg;
	const incident_stage_t *st = &inc->stages[stage];
	int rc = 0;
	/* A message nobody would get is not built; ledger_publish() still counts its seq. */
	if (opened) {
		json_t *body = ledger_wanted(batch, "incident.opened") ? s_message_head(inc) : NULL;
		if (body) {
			json_object_set_new_nocheck(body, "category", json_integer(inc->category));
			wire_set_string(body, "title", inc->title);
			json_object_set_new_nocheck(body, "major", json_boolean(inc->major));
			wire_set_time(body, "opened_at", st->at_ms);
		}
		rc = ledger_publish(batch, txn, res, "incident.opened", body);
	}
	json_t *body = rc == 0 && ledger_wanted(batch, "incident.stage") ? s_message_head(inc) : NULL;
	if (body) {
		wire_set_string(body, "stage", cfg->stages[stage]);
		wire_set_string(body, "event_id", st->event_id);
		wire_set_string(body, "source", wire_source_name(st->source));
		wire_set_string(body, "status", incident_status_name(incident_status(inc, cfg)));
		json_object_set_new_nocheck(body, "major", json_boolean(inc->major));
		wire_set_time(body, "at", st->at_ms);
		wire_set_time(body, "received_at", st->received_ms);
	}
	if (rc == 0)
		rc = ledger_publish(batch, txn, res, "incident.stage", body);
	return rc;
}

int ledger_log_append(ledger_batch_t *batch, store_txn_t *txn, const char *kind,
		      int64_t received_ms, const char *members, const char *raw, size_t raw_len,
		      uint64_t *seq_out)
{
	uint64_t seq;
	int rc = ledger_next(batch, txn, LEDGER_LOG_SEQ, &seq);
	if (rc != 0)
		return rc;
	jsonw_t w;
	jsonw_init(&w);
	jsonw_lit(&w, "{\"kind\":\"");
	jsonw_lit(&w, kind);
	jsonw_lit(&w, "\",\"received_at\":");
	jsonw_i64(&w, received_ms);
	jsonw_lit(&w, ",");
	jsonw_lit(&w, members);
	jsonw_lit(&w, ",\"request\":");
	jsonw_raw(&w, raw, raw_len);
	jsonw_lit(&w, "}");
	size_t len;
	char *record = jsonw_finish(&w, &len);
	if (!record)
		return ENOMEM;
	unsigned char key[8];
	store_u64_encode(seq, key);
	rc = store_append(txn, STORE_LOG, key, sizeof key, record, len);
	free(record);
	if (rc == 0 && seq_out)
		*seq_out = seq;
	return rc;
}

/* The log members of an accepted event: "incident":N,"breaches":[ids of breaches]. */
static char *s_event_members(uint64_t incident, const json_t *breaches)
{
	jsonw_t w;
	size_t i;
	json_t *b;
	jsonw_init(&w);
	jsonw_lit(&w, "\"incident\":");
	jsonw_i64(&w, (int64_t)incident);
	jsonw_lit(&w, ",\"breaches\":[");
	json_array_foreach(breaches, i, b) {
		if (i > 0)
			jsonw_lit(&w, ",");
		jsonw_json(&w, json_object_get(b, "breach"));
	}
	jsonw_lit(&w, "]");
	return jsonw_finish(&w, NULL);
}

/* Appends the accepted event to the log and the dedup index. */
static int s_event_log(ledger_batch_t *batch, store_txn_t *txn, const wire_event_t *ev,
		       const char *raw, size_t raw_len,
		       uint64_t incident, int64_t received_ms, const json_t *breaches)
{
	char *members = s_event_members(incident, breaches);
	if (!members)
		return ENOMEM;
	uint64_t seq;
	int rc = ledger_log_append(batch, txn, "event", received_ms, members, raw, raw_len, &seq);
	free(members);
	unsigned char dedup[16];
	pair_key_t dk;
	s_pair_key(&dk, ev->provider, ev->event_id);
	store_u64_encode(seq, dedup);
	store_u64_encode(incident, dedup + 8);
	if (rc == 0)
		rc = store_put(txn, STORE_DEDUP, dk.bytes, dk.len, dedup, sizeof dedup);
	return rc;
}

/*
 * Writes everything that points at a new or changed incident; the incident itself is saved
 * when the batch finishes.
 */
static int s_event_store(store_txn_t *txn, const config_t *cfg, const wire_event_t *ev,
			 const incident_t *inc, bool opened, int was_status, int64_t was_opened)
{
	int rc = 0;
	if (opened) {
		pair_key_t key;
		unsigned char id[8];
		s_pair_key(&key, ev->provider, ev->ref);
		store_u64_encode(inc->id, id);
		rc = store_put(txn, STORE_REFS, key.bytes, key.len, id, sizeof id);
	}
	if (rc == 0)
		rc = s_indexes_update(txn, cfg, inc, was_status, was_opened);
	return rc;
}

/*
 * Records the validated stage on inc and everything that follows from it: breaches, the
 * log, the indexes, the reply and the messages.
 */
static int s_event_commit(ledger_batch_t *batch, store_txn_t *txn, const char *raw,
			  size_t raw_len, const wire_event_t *ev, incident_t *inc, int stage,
			  bool opened, int64_t received_ms, ledger_result_t *res)
{
	const config_t *cfg = batch->cfg;
	int64_t at = ev->has_at ? ev->at_ms : received_ms;
	int was_status = opened ? -1 : (int)incident_status(inc, cfg);
	int64_t was_opened = opened ? INT64_MIN : incident_opened_at(inc, cfg);
	bool was_major = inc->major;
	if (incident_apply_event(inc, cfg, stage, ev, at, received_ms) < 0)
		return ENOMEM;
	json_t *breaches = json_array();
	int rc = breaches ? 0 : ENOMEM;
	/* Messages go out in this order: opened, stage, then any breach the stage revealed. */
	if (rc == 0)
		rc = s_event_publish(batch, txn, res, inc, stage, opened);
	if (rc == 0)
		rc = breach_on_event(batch, txn, inc, stage, inc->major && !was_major, received_ms,
				     res, breaches);
	if (rc == 0)
		rc = s_event_log(batch, txn, ev, raw, raw_len, inc->id, received_ms, breaches);
	if (rc == 0)
		rc = s_event_store(txn, cfg, ev, inc, opened, was_status, was_opened);
	if (rc == 0) {
		s_event_reply(res, inc, cfg, false, breaches);
		breaches = NULL;
	}
	json_decref(breaches);
	return rc;
}

/* op "event": one escalation stage of an incident. */
int ledger_event(ledger_batch_t *batch, store_txn_t *txn, const wire_event_t *scanned,
		 const json_t *req, const char *raw, size_t raw_len, int64_t received_ms,
		 ledger_result_t *res)
{
	const config_t *cfg = batch->cfg;
	wire_event_t ev;
	if (scanned)
		ev = *scanned;
	else if (wire_event_decode(req, &ev, &res->err) < 0)
		return s_refuse(res);
	int stage = config_stage_index(cfg, ev.stage);
	if (stage < 0) {
		wire_error_set(&res->err, WIRE_BAD_REQUEST, "stage: unknown stage \"%s\"", ev.stage);
		return s_refuse(res);
	}
	pair_key_t dk;
	MDB_val dedup;
	s_pair_key(&dk, ev.provider, ev.event_id);
	int rc = store_get(txn, STORE_DEDUP, dk.bytes, dk.len, &dedup);
	if (rc == 0)
		return s_event_repeat(batch, txn, &dedup, req, raw, raw_len, &ev, received_ms, res);
	if (rc != MDB_NOTFOUND)
		return rc;

	incident_t *inc;
	bool opened;
	if ((rc = s_event_incident(batch, txn, &ev, &inc, &opened, res)) != 0 || !inc)
		return rc;
	int64_t at = ev.has_at ? ev.at_ms : received_ms;
	if (incident_check_stage(inc, cfg, stage, at, &res->err) < 0) {
		rc = s_refuse(res);
	} else {
		rc = s_event_commit(batch, txn, raw, raw_len, &ev, inc, stage, opened, received_ms,
				    res);
		/* A new incident joins the cache; an error aborts the batch, which clears it. */
		if (opened && rc == 0)
			rc = incident_cache_put(batch->cache, inc) == 0 ? 0 : ENOMEM;
		else if (opened)
			incident_destroy(&inc);
		if (rc == 0)
			ledger_batch_touch(batch, inc);
		return rc;
	}
	if (opened)
		incident_destroy(&inc);
	return rc;
}

/* The operations that change state, answered after their commit. */
static const char *const s_write_ops[] = { "event", "problem.create", "problem.update",
					   "problem.link", "problem.unlink", NULL };

bool ledger_op_writes(const char *op)
{
	for (size_t i = 0; s_write_ops[i]; i++)
		if (strcmp(op, s_write_ops[i]) == 0)
			return true;
	return false;
}

int ledger_fire(ledger_batch_t *batch, store_txn_t *txn, const deadline_t *d, int64_t now_ms,
		ledger_result_t *res)
{
	return breach_fire(batch, txn, d, now_ms, res);
}

int ledger_write(ledger_batch_t *batch, store_txn_t *txn, const json_t *req, const char *op,
		 const char *raw, size_t raw_len, int64_t received_ms, ledger_result_t *res)
{
	if (strcmp(op, "event") == 0)
		return ledger_event(batch, txn, NULL, req, raw, raw_len, received_ms, res);
	if (strcmp(op, "problem.create") == 0)
		return problem_create(batch, txn, req, raw, raw_len, received_ms, res);
	if (strcmp(op, "problem.update") == 0)
		return problem_update(batch, txn, req, raw, raw_len, received_ms, res);
	if (strcmp(op, "problem.link") == 0 || strcmp(op, "problem.unlink") == 0)
		return problem_link(batch, txn, req, raw, raw_len, received_ms,
				    strcmp(op, "problem.link") == 0, res);
	wire_error_set(&res->err, WIRE_UNKNOWN_OP, "op: unknown operation \"%s\"", op);
	return s_refuse(res);
}

/* op "get": one incident with its timeline, breaches and verdicts. */
static int s_get(store_txn_t *txn, const config_t *cfg, const json_t *req, int64_t now_ms,
		 ledger_result_t *res)
{
	uint64_t n;
	if (wire_get_id(req, "incident", true, ID_INCIDENT, &n, NULL, &res->err) < 0)
		return s_refuse(res);
	incident_t *inc;
	int rc = ledger_incident_load(txn, cfg, n, &inc);
	if (rc == MDB_NOTFOUND) {
		char id[ID_BUFSZ];
		wire_error_set(&res->err, WIRE_NOT_FOUND, "incident: %s not found",
			       id_format(ID_INCIDENT, n, id));
		return s_refuse(res);
	}
	if (rc != 0 || !inc)
		return ledger_internal(res, "incident record", rc ? rc : MDB_CORRUPTED);
	json_t *wire = incident_to_wire(inc, cfg);
	if (wire) {
		json_object_set_new(wire, "breaches", breach_of_incident(txn, inc, now_ms));
		json_object_set_new(wire, "verdicts", breach_verdicts(cfg, inc, now_ms));
	}
	incident_destroy(&inc);
	if (!wire || !(res->fields = json_pack("{so}", "incident", wire)))
		return ledger_internal(res, "incident record", ENOMEM);
	return 0;
}

/* True when inc passes every filter of list. */
static bool s_list_match(const wire_list_t *list, const incident_t *inc)
{
	if (list->provider && strcmp(list->provider, inc->provider) != 0)
		return false;
	if (list->category && list->category != inc->category)
		return false;
	if (list->major >= 0 && list->major != (int)inc->major)
		return false;
	if (list->problem && list->problem != inc->problem)
		return false;
	if (list->breached >= 0) {
		json_t *b = inc->extra ? json_object_get(inc->extra, "breaches") : NULL;
		if ((json_array_size(b) > 0) != (list->breached == 1))
			return false;
	}
	return true;
}

/*
 * Positions cursor where a page starts: newest first, on the highest id below `from` (the
 * highest of all when from is 0); oldest first, on the lowest id above it.
 */
static int s_page_first(MDB_cursor *cursor, bool newest_first, uint64_t from, MDB_val *k,
			MDB_val *v)
{
	if (!from)
		return mdb_cursor_get(cursor, k, v, newest_first ? MDB_LAST : MDB_FIRST);
	unsigned char key[8];
	store_u64_encode(newest_first ? from : from + 1, key);
	k->mv_data = key;
	k->mv_size = sizeof key;
	int rc = mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
	if (!newest_first)
		return rc;
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(cursor, k, v, MDB_LAST);
	return rc ? rc : mdb_cursor_get(cursor, k, v, MDB_PREV);
}

int ledger_page(store_txn_t *txn, store_db_t db, bool newest_first, uint64_t cursor,
		unsigned limit, ledger_row_cb row, void *arg, const char *key,
		ledger_result_t *res)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = store_cursor_open(txn, db, &c);
	if (rc != 0)
		return ledger_internal(res, key, rc);
	json_t *rows = json_array();
	uint64_t last = 0;
	bool more = false;
	for (rc = s_page_first(c, newest_first, cursor, &k, &v); rc == 0 && !more;
	     rc = mdb_cursor_get(c, &k, &v, newest_first ? MDB_PREV : MDB_NEXT)) {
		json_t *r = NULL;
		uint64_t id = store_u64_decode(k.mv_data);
		if ((rc = row(txn, id, &v, arg, &r)) != 0)
			break;
		if (r && json_array_size(rows) == limit) {
			more = true;
			json_decref(r);
		} else if (r) {
			json_array_append_new(rows, r);
			last = id;
		}
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		json_decref(rows);
		return ledger_internal(res, key, rc);
	}
	char next[WIRE_CURSOR_BUFSZ];
	res->fields = json_pack("{soso}", key, rows, "next",
				more ? json_string(wire_cursor_format(last, next)) : json_null());
	return 0;
}

typedef struct {
	const config_t *cfg;
	const wire_list_t *list;
} list_args_t;

/* A row of list: the summary of incident id when it passes the filters. */
static int s_list_row(store_txn_t *txn, uint64_t id, const MDB_val *value, void *arg,
		      json_t **row_out)
{
	(void)value;
	const list_args_t *a = arg;
	incident_t *inc;
	int rc = ledger_incident_load(txn, a->cfg, id, &inc);
	if (rc == MDB_NOTFOUND)
		return 0; /* an index entry without its record: nothing to show */
	if (rc != 0)
		return rc;
	if (s_list_match(a->list, inc) && !(*row_out = incident_summary(inc, a->cfg)))
		rc = ENOMEM;
	incident_destroy(&inc);
	return rc;
}

/* op "list": incident summaries, newest first, with a cursor to the next page. */
static int s_list(store_txn_t *txn, const config_t *cfg, const json_t *req, ledger_result_t *res)
{
	static const store_db_t dbs[] = { STORE_OPEN, STORE_RESOLVED, STORE_CLOSED, STORE_INCIDENTS };
	wire_list_t list;
	if (wire_list_decode(req, &list, &res->err) < 0)
		return s_refuse(res);
	list_args_t args = { cfg, &list };
	return ledger_page(txn, dbs[list.status], true, list.cursor, list.limit, s_list_row, &args,
			   "incidents", res);
}

/*
 * Adds the incident of one opened-index entry to report: from its digest, or from its full
 * record when the digest is missing or was made under another stage order.
 */
static int s_report_add(store_txn_t *txn, const config_t *cfg, report_t *report,
			const MDB_val *k, const MDB_val *v)
{
	incident_t digest, *inc;
	if (incident_digest_decode(v->mv_data, v->mv_size, cfg, &digest) == 0)
		return report_add(report, &digest) == 0 ? 0 : ENOMEM;
	if (ledger_incident_load(txn, cfg, store_u64_decode((unsigned char *)k->mv_data + 8), &inc) != 0)
		return 0;
	int rc = report_add(report, inc) == 0 ? 0 : ENOMEM;
	incident_destroy(&inc);
	return rc;
}

/*
 * op "report": the monthly report. Walks the incidents in the order they opened, up to the
 * month's end: those opened later cannot count.
 */
static int s_report(store_txn_t *txn, const config_t *cfg, const json_t *req, int64_t now_ms,
		    ledger_result_t *res)
{
	const char *month, *provider = NULL;
	int64_t start, end;
	if (wire_get_string(req, "month", true, 16, &month, NULL, &res->err) < 0 ||
	    wire_get_string(req, "provider", false, WIRE_PROVIDER_MAX, &provider, NULL, &res->err) < 0)
		return s_refuse(res);
	if (report_month_parse(month, &start, &end) < 0) {
		wire_error_set(&res->err, WIRE_BAD_REQUEST, "month: must be YYYY-MM");
		return s_refuse(res);
	}
	report_t *report = report_new(cfg, start, end, now_ms, provider);
	MDB_cursor *cursor = NULL;
	MDB_val k, v;
	int rc = report ? store_cursor_open(txn, STORE_OPENED, &cursor) : ENOMEM;
	for (rc = rc ? rc : mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || !report_wants(report, store_i64_decode(k.mv_data)))
			break;
		if ((rc = s_report_add(txn, cfg, report, &k, &v)) != 0)
			break;
	}
	if (cursor)
		mdb_cursor_close(cursor);
	if (rc == 0 || rc == MDB_NOTFOUND)
		res->fields = report_to_json(report, month);
	report_destroy(&report);
	if (!res->fields)
		return ledger_internal(res, "report", rc && rc != MDB_NOTFOUND ? rc : ENOMEM);
	return 0;
}

/* op "status": version, uptime and counts. */
static int s_status(store_txn_t *txn, const json_t *req, int64_t uptime_s, ledger_result_t *res)
{
	(void)req;
	res->fields = json_pack("{sssIsIsIsIsIsIsIsI}", "version", INCIDENTD_VERSION,
				"uptime_s", (json_int_t)uptime_s,
				"incidents", (json_int_t)store_count(txn, STORE_INCIDENTS),
				"open", (json_int_t)store_count(txn, STORE_OPEN),
				"resolved", (json_int_t)store_count(txn, STORE_RESOLVED),
				"closed", (json_int_t)store_count(txn, STORE_CLOSED),
				"problems", (json_int_t)store_count(txn, STORE_PROBLEMS),
				"breaches", (json_int_t)store_count(txn, STORE_BREACHES),
				"events", (json_int_t)store_count(txn, STORE_DEDUP));
	return 0;
}

int ledger_read(store_t *store, const config_t *cfg, const json_t *req, const char *op,
		int64_t now_ms, int64_t uptime_s, ledger_result_t *res)
{
	store_txn_t txn;
	int rc = store_txn_begin(store, false, &txn);
	if (rc != 0)
		return ledger_internal(res, "read transaction", rc);
	if (strcmp(op, "get") == 0)
		s_get(&txn, cfg, req, now_ms, res);
	else if (strcmp(op, "breaches") == 0)
		breach_query(&txn, req, now_ms, res);
	else if (strcmp(op, "problem.get") == 0)
		problem_get(&txn, cfg, req, res);
	else if (strcmp(op, "problem.list") == 0)
		problem_list(&txn, req, res);
	else if (strcmp(op, "report") == 0)
		s_report(&txn, cfg, req, now_ms, res);
	else if (strcmp(op, "list") == 0)
		s_list(&txn, cfg, req, res);
	else if (strcmp(op, "status") == 0)
		s_status(&txn, req, uptime_s, res);
	else {
		wire_error_set(&res->err, WIRE_UNKNOWN_OP, "op: unknown operation \"%s\"", op);
		s_refuse(res);
	}
	store_txn_abort(&txn);
	return 0;
}
