/*
 * ledger: the API operations applied to the store. See ledger.h.
 */
#include "daemon/ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/incident.h"
#include "daemon/log.h"
#include "proto/ids.h"

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
		free(pubs->body);
		free(pubs);
		pubs = next;
	}
}

void ledger_result_init(ledger_result_t *res)
{
	memset(res, 0, sizeof *res);
	res->pubs_tail = &res->pubs;
}

void ledger_result_clear(ledger_result_t *res)
{
	json_decref(res->fields);
	ledger_pubs_free(res->pubs);
	ledger_result_init(res);
}

/* Fails the request with err already set by a decoder; nothing was written. */
static int s_refuse(ledger_result_t *res)
{
	json_decref(res->fields);
	res->fields = NULL;
	return 0;
}

static int s_internal(ledger_result_t *res, const char *what, int rc)
{
	log_warnx("%s: %s", what, mdb_strerror(rc));
	wire_error_set(&res->err, WIRE_INTERNAL, "%s: %s", what, mdb_strerror(rc));
	return s_refuse(res);
}

int ledger_batch_start(ledger_batch_t *batch, const config_t *cfg, store_txn_t *txn)
{
	batch->cfg = cfg;
	return store_meta_get_u64(txn, "pub_seq", &batch->pub_seq);
}

int ledger_batch_finish(ledger_batch_t *batch, store_txn_t *txn)
{
	return store_meta_put_u64(txn, "pub_seq", batch->pub_seq);
}

/*
 * Queues body on topic with the next seq as its first member. Takes body. Allocation
 * failures lose the message, as a PUB socket may lose it anyway; seq shows the gap.
 */
static void s_publish(ledger_batch_t *batch, ledger_result_t *res, const char *topic, json_t *body)
{
	json_t *msg = json_pack("{sI}", "seq", (json_int_t)++batch->pub_seq);
	ledger_pub_t *pub = calloc(1, sizeof *pub);
	if (msg && pub && json_object_update(msg, body) == 0) {
		pub->topic = strdup(topic);
		pub->body = json_dumps(msg, JSON_COMPACT);
	}
	if (pub && pub->topic && pub->body) {
		pub->body_len = strlen(pub->body);
		*res->pubs_tail = pub;
		res->pubs_tail = &pub->next;
	} else if (pub) {
		ledger_pubs_free(pub);
	}
	json_decref(msg);
	json_decref(body);
}

/* Loads incident number id; *inc_out is NULL (and 0 returned) when the record is malformed. */
static int s_incident_load(store_txn_t *txn, const config_t *cfg, uint64_t id, incident_t **inc_out)
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
	return 0;
}

static int s_incident_save(store_txn_t *txn, const config_t *cfg, const incident_t *inc)
{
	unsigned char key[8];
	json_t *record = incident_to_record(inc, cfg);
	if (!record)
		return ENOMEM;
	store_u64_encode(inc->id, key);
	int rc = store_put_json(txn, STORE_INCIDENTS, key, sizeof key, record);
	json_decref(record);
	return rc;
}

static const store_db_t s_status_db[] = {
	[INCIDENT_OPEN] = STORE_OPEN,
	[INCIDENT_RESOLVED] = STORE_RESOLVED,
	[INCIDENT_CLOSED] = STORE_CLOSED,
};

/*
 * Moves inc between the status indexes and the opened-time index. was_status is -1 and
 * was_opened INT64_MIN for a new incident.
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
	int64_t opened = incident_opened_at(inc, cfg);
	if (rc == 0 && opened != was_opened) {
		memcpy(okey + 8, id, 8);
		if (was_opened != INT64_MIN) {
			store_i64_encode(was_opened, okey);
			rc = store_del(txn, STORE_OPENED, okey, sizeof okey);
		}
		store_i64_encode(opened, okey);
		if (rc == 0)
			rc = store_put(txn, STORE_OPENED, okey, sizeof okey, "", 0);
	}
	return rc;
}

/* The event reply: {"incident", "duplicate", "status", "breaches"}. */
static json_t *s_event_reply(const incident_t *inc, const config_t *cfg, bool duplicate)
{
	char id[ID_BUFSZ];
	return json_pack("{sssbsss[]}", "incident", id_format(ID_INCIDENT, inc->id, id),
			 "duplicate", duplicate, "status",
			 incident_status_name(incident_status(inc, cfg)), "breaches");
}

/*
 * A known (provider, event_id): the same content is answered again as a duplicate, other
 * content is a conflict. dedup holds the log seq of the original and its incident.
 */
static int s_event_repeat(store_txn_t *txn, const config_t *cfg, const MDB_val *dedup,
			  const json_t *req, const wire_event_t *ev, ledger_result_t *res)
{
	if (dedup->mv_size != 16)
		return s_internal(res, "dedup record", MDB_CORRUPTED);
	json_t *original = NULL;
	int rc = store_get_json(txn, STORE_LOG, dedup->mv_data, 8, &original);
	if (rc != 0)
		return rc == MDB_NOTFOUND || rc == MDB_CORRUPTED ? s_internal(res, "event log", rc) : rc;
	json_t *content = wire_event_content(req);
	bool same = content && json_equal(json_object_get(original, "event"), content);
	json_decref(content);
	json_decref(original);
	if (!same) {
		wire_error_set(&res->err, WIRE_CONFLICT,
			       "event_id: %s was already used by provider %s for a different event",
			       ev->event_id, ev->provider);
		return s_refuse(res);
	}
	incident_t *inc;
	rc = s_incident_load(txn, cfg, store_u64_decode((const unsigned char *)dedup->mv_data + 8), &inc);
	if (rc != 0 || !inc)
		return rc && rc != MDB_NOTFOUND ? rc : s_internal(res, "incident record", MDB_CORRUPTED);
	res->fields = s_event_reply(inc, cfg, true);
	incident_destroy(&inc);
	return 0;
}

/*
 * Finds the incident of (provider, ref), or makes a new one when ev can open it. *opened says
 * which. Returns 0 with *inc_out NULL when the request was refused.
 */
static int s_event_incident(store_txn_t *txn, const config_t *cfg, const wire_event_t *ev,
			    incident_t **inc_out, bool *opened, ledger_result_t *res)
{
	pair_key_t key;
	MDB_val v;
	*inc_out = NULL;
	s_pair_key(&key, ev->provider, ev->ref);
	int rc = store_get(txn, STORE_REFS, key.bytes, key.len, &v);
	if (rc == 0) {
		*opened = false;
		rc = s_incident_load(txn, cfg, store_u64_decode(v.mv_data), inc_out);
		if (rc == 0 && !*inc_out)
			return s_internal(res, "incident record", MDB_CORRUPTED);
		return rc;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	if (incident_check_open(ev, &res->err) < 0)
		return s_refuse(res);
	uint64_t last;
	if ((rc = store_meta_get_u64(txn, "last_incident", &last)) != 0)
		return rc;
	*opened = true;
	*inc_out = incident_new(last + 1, ev);
	return *inc_out ? 0 : ENOMEM;
}

/* Publishes incident.opened (for a new incident) and incident.stage. */
static void s_event_publish(ledger_batch_t *batch, ledger_result_t *res, const incident_t *inc,
			    int stage, bool opened)
{
	const config_t *cfg = batch->cfg;
	const incident_stage_t *st = &inc->stages[stage];
	char id[ID_BUFSZ];
	id_format(ID_INCIDENT, inc->id, id);
	if (opened) {
		json_t *body = json_pack("{sssssssisssb}", "incident", id, "provider", inc->provider,
					 "ref", inc->ref, "category", inc->category, "title",
					 inc->title, "major", inc->major);
		if (body)
			wire_set_time(body, "opened_at", st->at_ms);
		s_publish(batch, res, "incident.opened", body);
	}
	json_t *body = json_pack("{sssssssssssssb}", "incident", id, "provider", inc->provider,
				 "ref", inc->ref, "stage", cfg->stages[stage], "event_id",
				 st->event_id, "source", wire_source_name(st->source), "status",
				 incident_status_name(incident_status(inc, cfg)), "major", inc->major);
	if (body) {
		wire_set_time(body, "at", st->at_ms);
		wire_set_time(body, "received_at", st->received_ms);
	}
	s_publish(batch, res, "incident.stage", body);
}

/* Appends the accepted event to the log and the dedup index. */
static int s_event_log(store_txn_t *txn, const wire_event_t *ev, const json_t *req,
		       uint64_t incident, int64_t received_ms)
{
	uint64_t seq;
	int rc = store_meta_get_u64(txn, "log_seq", &seq);
	if (rc != 0)
		return rc;
	seq++;
	json_t *record = json_pack("{sssIsIso}", "kind", "event", "received_at",
				   (json_int_t)received_ms, "incident", (json_int_t)incident,
				   "event", wire_event_content(req));
	unsigned char key[8], dedup[16];
	store_u64_encode(seq, key);
	rc = record ? store_put_json(txn, STORE_LOG, key, sizeof key, record) : ENOMEM;
	json_decref(record);
	if (rc == 0)
		rc = store_meta_put_u64(txn, "log_seq", seq);
	pair_key_t dk;
	s_pair_key(&dk, ev->provider, ev->event_id);
	memcpy(dedup, key, 8);
	store_u64_encode(incident, dedup + 8);
	if (rc == 0)
		rc = store_put(txn, STORE_DEDUP, dk.bytes, dk.len, dedup, sizeof dedup);
	return rc;
}

/* Writes a new or changed incident and everything that points at it. */
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
		if (rc == 0)
			rc = store_meta_put_u64(txn, "last_incident", inc->id);
	}
	if (rc == 0)
		rc = s_incident_save(txn, cfg, inc);
	if (rc == 0)
		rc = s_indexes_update(txn, cfg, inc, was_status, was_opened);
	return rc;
}

/* op "event": one escalation stage of an incident. */
static int s_event(ledger_batch_t *batch, store_txn_t *txn, const json_t *req, int64_t received_ms,
		   ledger_result_t *res)
{
	const config_t *cfg = batch->cfg;
	wire_event_t ev;
	if (wire_event_decode(req, &ev, &res->err) < 0)
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
		return s_event_repeat(txn, cfg, &dedup, req, &ev, res);
	if (rc != MDB_NOTFOUND)
		return rc;

	incident_t *inc;
	bool opened;
	if ((rc = s_event_incident(txn, cfg, &ev, &inc, &opened, res)) != 0 || !inc)
		return rc;
	int64_t at = ev.has_at ? ev.at_ms : received_ms;
	if (incident_check_stage(inc, cfg, stage, at, &res->err) < 0) {
		incident_destroy(&inc);
		return s_refuse(res);
	}
	int was_status = opened ? -1 : (int)incident_status(inc, cfg);
	int64_t was_opened = opened ? INT64_MIN : incident_opened_at(inc, cfg);
	rc = incident_apply_event(inc, cfg, stage, &ev, at, received_ms) < 0 ? ENOMEM : 0;
	if (rc == 0)
		rc = s_event_log(txn, &ev, req, inc->id, received_ms);
	if (rc == 0)
		rc = s_event_store(txn, cfg, &ev, inc, opened, was_status, was_opened);
	if (rc == 0) {
		res->fields = s_event_reply(inc, cfg, false);
		s_event_publish(batch, res, inc, stage, opened);
	}
	incident_destroy(&inc);
	return rc;
}

bool ledger_op_writes(const char *op)
{
	return strcmp(op, "event") == 0;
}

int ledger_write(ledger_batch_t *batch, store_txn_t *txn, const json_t *req, const char *op,
		 int64_t received_ms, ledger_result_t *res)
{
	if (strcmp(op, "event") == 0)
		return s_event(batch, txn, req, received_ms, res);
	wire_error_set(&res->err, WIRE_UNKNOWN_OP, "op: unknown operation \"%s\"", op);
	return s_refuse(res);
}

/* op "get": one incident with its timeline. */
static int s_get(store_txn_t *txn, const config_t *cfg, const json_t *req, ledger_result_t *res)
{
	uint64_t n;
	if (wire_get_id(req, "incident", true, ID_INCIDENT, &n, NULL, &res->err) < 0)
		return s_refuse(res);
	incident_t *inc;
	int rc = s_incident_load(txn, cfg, n, &inc);
	if (rc == MDB_NOTFOUND) {
		char id[ID_BUFSZ];
		wire_error_set(&res->err, WIRE_NOT_FOUND, "incident: %s not found",
			       id_format(ID_INCIDENT, n, id));
		return s_refuse(res);
	}
	if (rc != 0 || !inc)
		return s_internal(res, "incident record", rc ? rc : MDB_CORRUPTED);
	json_t *wire = incident_to_wire(inc, cfg);
	json_t *extra_breaches = inc->extra ? json_object_get(inc->extra, "breaches") : NULL;
	if (wire) {
		json_object_set_new(wire, "breaches",
				    extra_breaches ? json_deep_copy(extra_breaches) : json_array());
		json_object_set_new(wire, "verdicts", json_object());
	}
	incident_destroy(&inc);
	if (!wire || !(res->fields = json_pack("{so}", "incident", wire)))
		return s_internal(res, "incident record", ENOMEM);
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

/* Positions cursor on the newest id below list->cursor (or the newest of all). */
static int s_list_first(MDB_cursor *cursor, const wire_list_t *list, MDB_val *k)
{
	MDB_val v;
	if (!list->cursor)
		return mdb_cursor_get(cursor, k, &v, MDB_LAST);
	unsigned char from[8];
	store_u64_encode(list->cursor, from);
	k->mv_data = from;
	k->mv_size = sizeof from;
	int rc = mdb_cursor_get(cursor, k, &v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(cursor, k, &v, MDB_LAST);
	if (rc != 0)
		return rc;
	return mdb_cursor_get(cursor, k, &v, MDB_PREV);
}

/*
 * Walks the index newest first, collecting up to limit matches into rows; *more is set when
 * one more match exists after them.
 */
static int s_list_scan(store_txn_t *txn, const config_t *cfg, const wire_list_t *list,
		       json_t *rows, uint64_t *last_id, bool *more)
{
	static const store_db_t dbs[] = { STORE_OPEN, STORE_RESOLVED, STORE_CLOSED, STORE_INCIDENTS };
	MDB_cursor *cursor;
	MDB_val k, v;
	int rc = store_cursor_open(txn, dbs[list->status], &cursor);
	if (rc != 0)
		return rc;
	*more = false;
	for (rc = s_list_first(cursor, list, &k); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV)) {
		incident_t *inc;
		uint64_t id = store_u64_decode(k.mv_data);
		if ((rc = s_incident_load(txn, cfg, id, &inc)) != 0 || !inc)
			break;
		bool match = s_list_match(list, inc);
		if (match && json_array_size(rows) == list->limit)
			*more = true;
		else if (match) {
			json_array_append_new(rows, incident_summary(inc, cfg));
			*last_id = id;
		}
		incident_destroy(&inc);
		if (*more)
			break;
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* op "list": incident summaries, newest first, with a cursor to the next page. */
static int s_list(store_txn_t *txn, const config_t *cfg, const json_t *req, ledger_result_t *res)
{
	wire_list_t list;
	if (wire_list_decode(req, &list, &res->err) < 0)
		return s_refuse(res);
	json_t *rows = json_array();
	uint64_t last_id = 0;
	bool more = false;
	int rc = s_list_scan(txn, cfg, &list, rows, &last_id, &more);
	if (rc != 0) {
		json_decref(rows);
		return s_internal(res, "list", rc);
	}
	char cursor[WIRE_CURSOR_BUFSZ];
	res->fields = json_pack("{soso}", "incidents", rows, "next",
				more ? json_string(wire_cursor_format(last_id, cursor)) : json_null());
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
				"problems", (json_int_t)0, "breaches", (json_int_t)0,
				"events", (json_int_t)store_count(txn, STORE_DEDUP));
	return 0;
}

int ledger_read(store_t *store, const config_t *cfg, const json_t *req, const char *op,
		int64_t uptime_s, ledger_result_t *res)
{
	store_txn_t txn;
	int rc = store_txn_begin(store, false, &txn);
	if (rc != 0)
		return s_internal(res, "read transaction", rc);
	if (strcmp(op, "get") == 0)
		s_get(&txn, cfg, req, res);
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
