/*
 * event: the op "event", one escalation stage of an incident, and its reply.
 *
 * An event finds its incident by (provider, ref), or opens one; a known (provider, event_id)
 * is a retry, answered again as a duplicate when its content is the same and refused as a
 * conflict when not. A new stage is checked against the incident (incident_check_stage()),
 * recorded, and its consequences follow in the same batch: the rules it starts, stops or
 * breaches, the event log, the indexes, the messages.
 */
#include "daemon/ops/handlers.h"
#include "daemon/ops/ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store/breaches.h"
#include "daemon/store/incidents.h"
#include "proto/ids.h"
#include "proto/jsonw.h"
#include "proto/rfc3339.h"
#include "proto/topic.h"

/* Rules whose clocks an event keeps on the stack; more are allocated. */
#define EVENT_CLOCKS_ON_STACK 32

/* The event reply: {"incident", "duplicate", "status", "breaches"}. Takes breaches. */
static void s_event_reply(batch_result_t *res, const incident_t *inc, const config_t *cfg,
			  bool duplicate, json_t *breaches)
{
	json_decref(res->event.breaches);
	res->event = (batch_event_reply_t){
		.set = true,
		.duplicate = duplicate,
		.incident = inc->id,
		.status = incident_status(inc, cfg),
		.breaches = breaches && json_array_size(breaches) > 0 ? breaches : NULL,
	};
	if (breaches && !res->event.breaches)
		json_decref(breaches);
}

char *ops_event_reply_text(const batch_event_reply_t *reply, const char *id_text, size_t id_len,
			   const json_t *id, size_t *len_out)
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
	json_t *all = breaches_of_incident(txn, inc, now_ms), *out = json_array();
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

/* True when req is the same event as the one the log kept as original. */
static bool s_same_event(const op_request_t *req, const json_t *original)
{
	/* A scanned request has no json_t; a retry is rare enough to parse it now. */
	json_t *parsed = req->json ? NULL
				   : json_loadb(req->raw, req->raw_len, JSON_REJECT_DUPLICATES, NULL);
	json_t *content = wire_event_content(req->json ? req->json : parsed);
	json_t *was = wire_event_content(json_object_get(original, "request"));
	bool same = content && was && json_equal(was, content);
	json_decref(parsed);
	json_decref(content);
	json_decref(was);
	return same;
}

/*
 * A known (provider, event_id): the same content is answered again as a duplicate (with the
 * breaches the original revealed), other content is a conflict. seq is the log record of the
 * original, incident its incident.
 */
static int s_event_repeat(batch_t *batch, const op_request_t *req, const wire_event_t *ev,
			  uint64_t seq, uint64_t incident, batch_result_t *res)
{
	unsigned char key[8];
	json_t *original = NULL;
	store_u64_encode(seq, key);
	int rc = store_get_json(batch->txn, STORE_LOG, key, sizeof key, &original);
	if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED)
		return batch_internal(res, "event log", rc);
	if (rc != 0)
		return rc;
	if (!s_same_event(req, original)) {
		json_decref(original);
		wire_error_set(&res->err, WIRE_CONFLICT,
			       "event_id: %s was already used by provider %s for a different event",
			       ev->event_id, ev->provider);
		return batch_refuse(res);
	}
	incident_t *inc;
	rc = batch_incident(batch, incident, &inc);
	if (rc == 0) {
		json_t *breaches = s_breaches_by_id(batch->txn, inc,
						    json_object_get(original, "breaches"),
						    req->received_ms);
		s_event_reply(res, inc, batch->cfg, true, breaches);
	}
	json_decref(original);
	if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED)
		return batch_internal(res, "incident record", rc);
	return rc;
}

/*
 * Finds the incident of (provider, ref) (borrowed from the batch), or makes a new one when ev
 * can open it (owned by the caller until it joins the batch). *opened says which. Returns 0
 * with *inc_out NULL when the request was refused.
 */
static int s_event_incident(batch_t *batch, const wire_event_t *ev, incident_t **inc_out,
			    bool *opened, batch_result_t *res)
{
	uint64_t id;
	*inc_out = NULL;
	int rc = incidents_find_ref(batch->txn, ev->provider, ev->ref, &id);
	if (rc == 0) {
		*opened = false;
		rc = batch_incident(batch, id, inc_out);
		return rc == MDB_CORRUPTED ? batch_internal(res, "incident record", rc) : rc;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	if (incident_check_open(ev, &res->err) < 0)
		return batch_refuse(res);
	if ((rc = batch_next(batch, BATCH_LAST_INCIDENT, &id)) != 0)
		return rc;
	*opened = true;
	*inc_out = incident_new(id, ev);
	return *inc_out ? 0 : -ENOMEM;
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

/* Publishes incident.opened (for a new incident) and incident.stage of the report st. */
static int s_event_publish(batch_t *batch, batch_result_t *res, const incident_t *inc,
			   const incident_report_t *st, bool opened)
{
	const config_t *cfg = batch->cfg;
	int rc = 0;
	/* A message nobody would get is not built; batch_publish() still counts its seq. */
	if (opened) {
		json_t *body = batch_wanted(batch, TOPIC_INCIDENT_OPENED) ? s_message_head(inc) : NULL;
		if (body) {
			json_object_set_new_nocheck(body, "category", json_integer(inc->category));
			wire_set_string(body, "title", inc->title);
			json_object_set_new_nocheck(body, "major", json_boolean(inc->major));
			wire_set_time(body, "opened_at", st->at_ms);
		}
		rc = batch_publish(batch, res, TOPIC_INCIDENT_OPENED, body);
	}
	json_t *body = rc == 0 && batch_wanted(batch, TOPIC_INCIDENT_STAGE) ? s_message_head(inc) : NULL;
	if (body) {
		wire_set_string(body, "stage", cfg->stages[st->stage]);
		wire_set_string(body, "event_id", st->event_id);
		wire_set_string(body, "source", wire_source_name(st->source));
		wire_set_string(body, "status", incident_status_name(incident_status(inc, cfg)));
		json_object_set_new_nocheck(body, "major", json_boolean(inc->major));
		wire_set_time(body, "at", st->at_ms);
		wire_set_time(body, "received_at", st->received_ms);
	}
	if (rc == 0)
		rc = batch_publish(batch, res, TOPIC_INCIDENT_STAGE, body);
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
static int s_event_log(batch_t *batch, const op_request_t *req, const wire_event_t *ev,
		       uint64_t incident, const json_t *breaches)
{
	char *members = s_event_members(incident, breaches);
	if (!members)
		return -ENOMEM;
	uint64_t seq;
	int rc = batch_log_append(batch, "event", req->received_ms, req->caller->name, members, req->raw,
				  req->raw_len, &seq);
	free(members);
	if (rc == 0)
		rc = incidents_add_event(batch->txn, ev->provider, ev->event_id, seq, incident);
	return rc;
}

/*
 * Records the validated stage on inc and everything that follows from it: breaches, the
 * log, the indexes, the reply and the messages. The incident itself is saved when the batch
 * finishes.
 */
static int s_event_commit(batch_t *batch, const op_request_t *req, const wire_event_t *ev,
			  incident_t *inc, int stage, bool opened, batch_result_t *res)
{
	const config_t *cfg = batch->cfg;
	int64_t at = ev->has_at ? ev->at_ms : req->received_ms;
	int was_status = opened ? -1 : (int)incident_status(inc, cfg);
	int64_t was_opened = opened ? INT64_MIN : incident_opened_at(inc, cfg);
	/* The rules' clocks before the report, to see which it moves. */
	rule_clock_t small[EVENT_CLOCKS_ON_STACK];
	rule_clock_t *before = cfg->n_rules <= EVENT_CLOCKS_ON_STACK
				       ? small
				       : malloc(cfg->n_rules * sizeof *before);
	if (!before)
		return -ENOMEM;
	breaches_clocks(cfg, inc, stage, ev->source, before);
	const incident_report_t *added =
		incident_apply_event(inc, cfg, stage, ev, at, req->received_ms, req->caller->name);
	json_t *breaches = added ? json_array() : NULL;
	int rc = breaches ? 0 : -ENOMEM;
	/* Messages go out in this order: opened, stage, then any breach the stage revealed. */
	if (rc == 0)
		rc = s_event_publish(batch, res, inc, added, opened);
	if (rc == 0)
		rc = breaches_on_event(batch, inc, added, before, req->received_ms, res, breaches);
	if (before != small)
		free(before);
	if (rc == 0)
		rc = s_event_log(batch, req, ev, inc->id, breaches);
	if (rc == 0 && opened)
		rc = incidents_add_ref(batch->txn, ev->provider, ev->ref, inc->id);
	if (rc == 0)
		rc = incidents_index(batch->txn, cfg, inc, was_status, was_opened);
	if (rc == 0) {
		s_event_reply(res, inc, cfg, false, breaches);
		breaches = NULL;
	}
	json_decref(breaches);
	return rc;
}

/* Checks and records a new event on inc (a new incident when opened: then owned here). */
static int s_event_new(batch_t *batch, const op_request_t *req, const wire_event_t *ev, int stage,
		       incident_t *inc, bool opened, batch_result_t *res)
{
	int64_t at = ev->has_at ? ev->at_ms : req->received_ms;
	if (incident_check_stage(inc, batch->cfg, stage, ev->source, at, &res->err) < 0) {
		if (opened)
			incident_destroy(&inc);
		return batch_refuse(res);
	}
	int rc = s_event_commit(batch, req, ev, inc, stage, opened, res);
	/* A new incident joins the batch; an error aborts the batch, which forgets it. */
	if (opened && rc == 0)
		return batch_incident_add(batch, inc);
	if (opened)
		incident_destroy(&inc);
	else if (rc == 0)
		batch_touch(batch, inc);
	return rc;
}

/*
 * A provider key speaks only for its providers, and only as the provider or its monitoring:
 * a user's call or an operator's record is the operator's to make. Refused as forbidden before
 * anything is looked at, so nothing is stored. True when caller may send ev.
 */
static bool s_may_send(const op_caller_t *caller, const wire_event_t *ev, wire_error_t *err)
{
	if (caller->role != ROLE_PROVIDER)
		return true;
	if (!op_caller_sees(caller, ev->provider)) {
		wire_error_set(err, WIRE_FORBIDDEN, "provider: key %s does not speak for %s",
			       caller->name, ev->provider);
		return false;
	}
	if (ev->source != SOURCE_PROVIDER && ev->source != SOURCE_MONITORING) {
		wire_error_set(err, WIRE_FORBIDDEN, "source: a provider key reports as provider or "
			       "monitoring, not %s", wire_source_name(ev->source));
		return false;
	}
	return true;
}

int op_event(batch_t *batch, const op_request_t *req, batch_result_t *res)
{
	wire_event_t ev;
	if (req->event)
		ev = *req->event;
	else if (wire_event_decode(req->json, &ev, &res->err) < 0)
		return batch_refuse(res);
	if (!s_may_send(req->caller, &ev, &res->err))
		return batch_refuse(res);
	int stage = config_stage_index(batch->cfg, ev.stage);
	if (stage < 0) {
		wire_error_set(&res->err, WIRE_BAD_REQUEST, "stage: unknown stage \"%s\"", ev.stage);
		return batch_refuse(res);
	}
	if (ev.has_at && ev.at_ms > req->received_ms &&
	    ev.at_ms - req->received_ms > batch->cfg->max_clock_skew_ms) {
		char at[RFC3339_BUFSZ];
		wire_error_set(&res->err, WIRE_BAD_REQUEST,
			       "at: %s is in the future (more than max_clock_skew, %lld ms, after its "
			       "arrival)", rfc3339_format(ev.at_ms, at),
			       (long long)batch->cfg->max_clock_skew_ms);
		return batch_refuse(res);
	}
	uint64_t seq, id;
	int rc = incidents_find_event(batch->txn, ev.provider, ev.event_id, &seq, &id);
	if (rc == 0)
		return s_event_repeat(batch, req, &ev, seq, id, res);
	if (rc == MDB_CORRUPTED)
		return batch_internal(res, "dedup record", rc);
	if (rc != MDB_NOTFOUND)
		return rc;
	incident_t *inc;
	bool opened;
	if ((rc = s_event_incident(batch, &ev, &inc, &opened, res)) != 0 || !inc)
		return rc;
	return s_event_new(batch, req, &ev, stage, inc, opened, res);
}
