/*
 * problem: the ops on problem records (PBI ids) and their links to incidents.
 *
 * A problem record investigates the root cause behind incidents: title, description, status
 * (open, known_error, resolved, closed; any change is allowed, so a closed problem can be
 * reopened), root_cause, workaround. An incident links to at most one problem: linking it
 * elsewhere is a conflict until it is unlinked; linking the same pair again changes nothing.
 * The first link of an incident stops the rules that stop at a link (breaches_on_link()) for
 * good. Every change is appended to the event log; a link publishes problem.linked.
 *
 * A record is stored as JSON in the problems database: {"id", "title", "description",
 * "status", "root_cause", "workaround", "created_at", "updated_at" (ms), "created_by",
 * "updated_by" (the client's name, or null: anonymous), "incidents": [INC
 * numbers, in link order]}.
 */
#include "daemon/ops/handlers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon/core/incident.h"
#include "daemon/store/breaches.h"
#include "daemon/store/incidents.h"
#include "daemon/store/page.h"
#include "proto/ids.h"
#include "proto/topic.h"

#define PROBLEM_TEXT_MAX 8192

/* The statuses of a problem record, in their usual order. */
static const char *const s_statuses[] = { "open", "known_error", "resolved", "closed", NULL };

static int s_load(store_txn_t *txn, uint64_t id, json_t **out)
{
	unsigned char key[8];
	store_u64_encode(id, key);
	return store_get_json(txn, STORE_PROBLEMS, key, sizeof key, out);
}

static int s_save(store_txn_t *txn, uint64_t id, const json_t *record)
{
	unsigned char key[8];
	store_u64_encode(id, key);
	return store_put_json(txn, STORE_PROBLEMS, key, sizeof key, record);
}

/* Loads the problem named by req's "problem"; 0 with *out NULL when refused (res->err set). */
static int s_load_named(store_txn_t *txn, const json_t *req, uint64_t *id, json_t **out,
			batch_result_t *res)
{
	*out = NULL;
	if (wire_get_id(req, "problem", true, ID_PROBLEM, id, NULL, &res->err) < 0)
		return 0;
	int rc = s_load(txn, *id, out);
	if (rc == MDB_NOTFOUND) {
		char text[ID_BUFSZ];
		wire_error_set(&res->err, WIRE_NOT_FOUND, "problem: %s not found",
			       id_format(ID_PROBLEM, *id, text));
		return 0;
	}
	return rc == MDB_CORRUPTED ? batch_internal(res, "problem record", rc) : rc;
}

/* Appends the change to the log, naming the problem (and the incident, when not 0). */
static int s_log(batch_t *batch, const op_request_t *req, const char *kind, uint64_t problem,
		 uint64_t incident)
{
	char members[96];
	if (incident)
		snprintf(members, sizeof members, "\"problem\":%llu,\"incident\":%llu",
			 (unsigned long long)problem, (unsigned long long)incident);
	else
		snprintf(members, sizeof members, "\"problem\":%llu", (unsigned long long)problem);
	return batch_log_append(batch, kind, req->received_ms, req->caller->name, members, req->raw,
				req->raw_len, NULL);
}

/* The reply naming what changed: {"problem": "PBI..."} (and "incident" when not 0). */
static json_t *s_named(uint64_t problem, uint64_t incident)
{
	char p[ID_BUFSZ], i[ID_BUFSZ];
	json_t *fields = json_pack("{ss}", "problem", id_format(ID_PROBLEM, problem, p));
	if (fields && incident)
		json_object_set_new(fields, "incident", json_string(id_format(ID_INCIDENT, incident, i)));
	return fields;
}

/* Sets key to the caller's name, or null for an anonymous caller. */
static void s_set_by(json_t *record, const char *key, const op_caller_t *caller)
{
	json_object_set_new(record, key, caller->name ? json_string(caller->name) : json_null());
}

/* Reads an optional status field; 0 with *status NULL when absent, -1 when refused. */
static int s_status_field(const json_t *req, const char **status, wire_error_t *err)
{
	bool present = false;
	*status = NULL;
	if (wire_get_string(req, "status", false, 32, status, &present, err) < 0)
		return -1;
	for (size_t i = 0; present && s_statuses[i]; i++)
		if (strcmp(*status, s_statuses[i]) == 0)
			return 0;
	if (present)
		return wire_error_set(err, WIRE_BAD_REQUEST,
				      "status: must be one of open, known_error, resolved, closed");
	return 0;
}

int op_problem_create(batch_t *batch, const op_request_t *req, batch_result_t *res)
{
	const char *title = NULL, *description = NULL;
	int64_t received_ms = req->received_ms;
	if (wire_get_string(req->json, "title", true, WIRE_TITLE_MAX, &title, NULL, &res->err) < 0 ||
	    wire_get_string(req->json, "description", false, PROBLEM_TEXT_MAX, &description, NULL,
			    &res->err) < 0)
		return batch_refuse(res);
	uint64_t id;
	int rc = batch_next(batch, BATCH_LAST_PROBLEM, &id);
	if (rc != 0)
		return rc;
	json_t *record = json_pack("{sI ss ss s[]}", "id", (json_int_t)id, "title", title,
				   "status", "open", "incidents");
	if (!record)
		return -ENOMEM;
	json_object_set_new(record, "description", description ? json_string(description) : json_null());
	json_object_set_new(record, "root_cause", json_null());
	json_object_set_new(record, "workaround", json_null());
	json_object_set_new(record, "created_at", json_integer(received_ms));
	json_object_set_new(record, "updated_at", json_integer(received_ms));
	s_set_by(record, "created_by", req->caller);
	s_set_by(record, "updated_by", req->caller);
	rc = s_save(batch->txn, id, record);
	if (rc == 0)
		rc = s_log(batch, req, "problem.create", id, 0);
	json_decref(record);
	if (rc == 0)
		res->fields = s_named(id, 0);
	return rc;
}

/* Copies an optional text field of req into record; -1 when refused. */
static int s_update_text(json_t *record, const json_t *req, const char *field, bool *changed,
			 wire_error_t *err)
{
	const char *value = NULL;
	bool present = false;
	if (wire_get_string(req, field, false, PROBLEM_TEXT_MAX, &value, &present, err) < 0)
		return -1;
	if (present) {
		json_object_set_new(record, field, json_string(value));
		*changed = true;
	}
	return 0;
}

int op_problem_update(batch_t *batch, const op_request_t *req, batch_result_t *res)
{
	uint64_t id;
	json_t *record;
	const char *status;
	int rc = s_load_named(batch->txn, req->json, &id, &record, res);
	if (rc != 0 || !record)
		return rc;
	bool changed = false;
	if (s_status_field(req->json, &status, &res->err) < 0 ||
	    s_update_text(record, req->json, "root_cause", &changed, &res->err) < 0 ||
	    s_update_text(record, req->json, "workaround", &changed, &res->err) < 0) {
		json_decref(record);
		return batch_refuse(res);
	}
	if (status) {
		json_object_set_new(record, "status", json_string(status));
		changed = true;
	}
	if (!changed) {
		json_decref(record);
		wire_error_set(&res->err, WIRE_BAD_REQUEST,
			       "status, root_cause, workaround: give at least one to update");
		return batch_refuse(res);
	}
	json_object_set_new(record, "updated_at", json_integer(req->received_ms));
	s_set_by(record, "updated_by", req->caller);
	rc = s_save(batch->txn, id, record);
	json_decref(record);
	if (rc == 0)
		rc = s_log(batch, req, "problem.update", id, 0);
	if (rc == 0)
		res->fields = s_named(id, 0);
	return rc;
}

/* Adds or removes incident from the record's "incidents". */
static void s_record_link(json_t *record, uint64_t incident, bool link)
{
	json_t *list = json_object_get(record, "incidents");
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(record, "incidents", list);
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		if ((uint64_t)json_integer_value(v) == incident) {
			if (!link)
				json_array_remove(list, i);
			return;
		}
	}
	if (link)
		json_array_append_new(list, json_integer((json_int_t)incident));
}

/* Refuses a link the incident's current problem forbids; true when refused. */
static bool s_link_refused(const incident_t *inc, uint64_t problem, bool link, wire_error_t *err)
{
	char i[ID_BUFSZ], p[ID_BUFSZ], q[ID_BUFSZ];
	id_format(ID_INCIDENT, inc->id, i);
	id_format(ID_PROBLEM, problem, p);
	if (link && inc->problem && inc->problem != problem) {
		wire_error_set(err, WIRE_CONFLICT, "incident: %s is linked to %s; unlink it first", i,
			       id_format(ID_PROBLEM, inc->problem, q));
		return true;
	}
	if (!link && inc->problem != problem) {
		wire_error_set(err, WIRE_CONFLICT, "incident: %s is not linked to %s", i, p);
		return true;
	}
	return false;
}

/* Links or unlinks inc and the problem record (both already checked). */
static int s_link_apply(batch_t *batch, incident_t *inc, uint64_t problem, json_t *record,
			bool link, int64_t received_ms, const op_caller_t *caller, batch_result_t *res)
{
	bool first = link && incident_first_link(inc) == INT64_MIN;
	inc->problem = link ? problem : 0;
	if (link && incident_note_first_link(inc, received_ms) < 0)
		return -ENOMEM;
	batch_touch(batch, inc);
	s_record_link(record, inc->id, link);
	json_object_set_new(record, "updated_at", json_integer(received_ms));
	s_set_by(record, "updated_by", caller);
	int rc = s_save(batch->txn, problem, record);
	if (rc == 0 && first)
		rc = breaches_on_link(batch, inc, received_ms, res);
	if (rc == 0 && link) {
		json_t *body = s_named(problem, inc->id);
		if (body) {
			json_object_set_new(body, "provider", json_string(inc->provider));
			json_object_set_new(body, "ref", json_string(inc->ref));
		}
		rc = batch_publish(batch, res, TOPIC_PROBLEM_LINKED, body);
	}
	return rc;
}

/* ops problem.link (link true) and problem.unlink: problem, incident. */
static int s_problem_link(batch_t *batch, const op_request_t *req, bool link, batch_result_t *res)
{
	uint64_t problem, incident;
	json_t *record;
	incident_t *inc = NULL;
	int rc = s_load_named(batch->txn, req->json, &problem, &record, res);
	if (rc != 0 || !record)
		return rc;
	if (wire_get_id(req->json, "incident", true, ID_INCIDENT, &incident, NULL, &res->err) < 0)
		goto done;
	rc = batch_incident(batch, incident, &inc);
	if (rc == MDB_NOTFOUND) {
		char text[ID_BUFSZ];
		wire_error_set(&res->err, WIRE_NOT_FOUND, "incident: %s not found",
			       id_format(ID_INCIDENT, incident, text));
		rc = 0;
		goto done;
	}
	if (rc != 0 || s_link_refused(inc, problem, link, &res->err))
		goto done;
	/* Linking the same pair again is answered, and changes nothing. */
	if (!(link && inc->problem == problem)) {
		rc = s_link_apply(batch, inc, problem, record, link, req->received_ms, req->caller,
				  res);
		if (rc == 0)
			rc = s_log(batch, req, link ? "problem.link" : "problem.unlink", problem,
				   incident);
	}
	if (rc == 0)
		res->fields = s_named(problem, incident);
done:
	json_decref(record);
	return rc;
}

int op_problem_link(batch_t *batch, const op_request_t *req, batch_result_t *res)
{
	return s_problem_link(batch, req, true, res);
}

int op_problem_unlink(batch_t *batch, const op_request_t *req, batch_result_t *res)
{
	return s_problem_link(batch, req, false, res);
}

/* The record as the wire shows it; incidents as given (ids or summaries). Takes incidents. */
static json_t *s_wire(const json_t *record, json_t *incidents)
{
	char id[ID_BUFSZ];
	json_t *w = json_object();
	json_object_set_new(w, "id", json_string(id_format(ID_PROBLEM,
				(uint64_t)json_integer_value(json_object_get(record, "id")), id)));
	static const char *const texts[] = { "title", "description", "status", "root_cause",
					     "workaround" };
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		json_t *v = json_object_get(record, texts[i]);
		json_object_set(w, texts[i], v ? v : json_null());
	}
	wire_set_time(w, "created_at", json_integer_value(json_object_get(record, "created_at")));
	wire_set_time(w, "updated_at", json_integer_value(json_object_get(record, "updated_at")));
	/* Records from before CURVE have no by: anonymous. */
	static const char *const bys[] = { "created_by", "updated_by" };
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(record, bys[i]);
		json_object_set(w, bys[i], json_is_string(v) ? v : json_null());
	}
	json_object_set_new(w, "incidents", incidents);
	return w;
}

/* The incident summaries of a record's links: id, provider, ref, title, category, major, status. */
static json_t *s_incident_rows(store_txn_t *txn, const config_t *cfg, const json_t *ids)
{
	json_t *rows = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		incident_t *inc;
		if (incidents_load(txn, cfg, (uint64_t)json_integer_value(v), &inc) != 0)
			continue;
		json_t *row = incident_summary(inc, cfg);
		json_object_del(row, "problem");
		json_array_append_new(rows, row);
		incident_destroy(&inc);
	}
	return rows;
}

int op_problem_get(store_txn_t *txn, const op_context_t *ctx, const json_t *req,
		   batch_result_t *res)
{
	uint64_t id;
	json_t *record;
	int rc = s_load_named(txn, req, &id, &record, res);
	if (rc != 0 || !record)
		return rc;
	json_t *rows = s_incident_rows(txn, ctx->cfg, json_object_get(record, "incidents"));
	res->fields = json_pack("{so}", "problem", s_wire(record, rows));
	json_decref(record);
	return 0;
}

/* The INC ids of a record's links. */
static json_t *s_incident_ids(const json_t *ids)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	char text[ID_BUFSZ];
	json_array_foreach(ids, i, v)
		json_array_append_new(out, json_string(id_format(ID_INCIDENT,
						(uint64_t)json_integer_value(v), text)));
	return out;
}

/* A row of problem.list: the record with its incident ids, when its status is the one asked. */
static int s_list_row(store_txn_t *txn, uint64_t id, const MDB_val *value, void *arg,
		      json_t **row_out)
{
	(void)txn;
	(void)id;
	const char *status = arg;
	json_t *record = json_loadb(value->mv_data, value->mv_size, 0, NULL);
	const char *st = json_string_value(json_object_get(record, "status"));
	if (record && (!status || (st && strcmp(st, status) == 0)))
		*row_out = s_wire(record, s_incident_ids(json_object_get(record, "incidents")));
	json_decref(record);
	return 0;
}

int op_problem_list(store_txn_t *txn, const op_context_t *ctx, const json_t *req,
		    batch_result_t *res)
{
	(void)ctx;
	const char *status;
	unsigned limit;
	uint64_t below;
	if (s_status_field(req, &status, &res->err) < 0 ||
	    wire_get_page(req, WIRE_LIST_DEFAULT_LIMIT, WIRE_LIST_MAX_LIMIT, &limit, &below,
			  &res->err) < 0)
		return batch_refuse(res);
	return page_walk(txn, STORE_PROBLEMS, true, below, limit, s_list_row, (void *)status,
			 "problems", &res->fields);
}
