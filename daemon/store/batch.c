/*
 * batch: one write transaction and what its requests share. See batch.h.
 */
#include "daemon/store/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store/incidents.h"
#include "daemon/store/outbox.h"
#include "proto/jsonw.h"

void batch_pubs_free(batch_pub_t *pubs)
{
	while (pubs) {
		batch_pub_t *next = pubs->next;
		free(pubs->topic);
		json_decref(pubs->body);
		free(pubs);
		pubs = next;
	}
}

void batch_result_init(batch_result_t *res)
{
	/* Member by member, leaving the error's message buffer: a batch sets up thousands. */
	res->fields = NULL;
	res->event = (batch_event_reply_t){ .set = false };
	res->err.code = WIRE_OK;
	res->err.message[0] = '\0';
	res->pubs = NULL;
	res->pubs_tail = &res->pubs;
	res->arm = NULL;
	res->n_arm = 0;
}

void batch_result_clear(batch_result_t *res)
{
	json_decref(res->fields);
	json_decref(res->event.breaches);
	batch_pubs_free(res->pubs);
	free(res->arm);
	batch_result_init(res);
}

int batch_refuse(batch_result_t *res)
{
	json_decref(res->fields);
	res->fields = NULL;
	return 0;
}

int batch_internal(batch_result_t *res, const char *what, int rc)
{
	log_warnx("%s: %s", what, store_strerror(rc));
	wire_error_set(&res->err, WIRE_INTERNAL, "%s: %s", what, store_strerror(rc));
	return batch_refuse(res);
}

int batch_arm(batch_result_t *res, deadline_t d)
{
	deadline_t *arm = realloc(res->arm, (res->n_arm + 1) * sizeof *arm);
	if (!arm)
		return -ENOMEM;
	arm[res->n_arm++] = d;
	res->arm = arm;
	return 0;
}

/* The meta records of the counters, by batch_counter_t. */
static const char *const s_counter_names[BATCH_N_COUNTERS] = {
	[BATCH_LOG_SEQ] = "log_seq",
	[BATCH_LAST_INCIDENT] = "last_incident",
	[BATCH_LAST_BREACH] = "last_breach",
	[BATCH_LAST_PROBLEM] = "last_problem",
};

int batch_start(batch_t *batch, const config_t *cfg, incident_cache_t *cache, store_txn_t *txn,
		int64_t now_ms, bool listening, log_buf_t *log)
{
	batch->cfg = cfg;
	batch->txn = txn;
	batch->cache = cache;
	memset(batch->loaded, 0, sizeof batch->loaded);
	memset(batch->dirty, 0, sizeof batch->dirty);
	batch->alerts_queued = 0;
	batch->now_ms = now_ms;
	batch->listening = listening;
	batch->log = log;
	batch->tally = NULL;
	incident_cache_trim(cache);
	return store_meta_get_u64(txn, "pub_seq", &batch->pub_seq);
}

int batch_finish(batch_t *batch)
{
	size_t n;
	incident_t *const *dirty = incident_cache_dirty(batch->cache, &n);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = incidents_save(batch->txn, batch->cfg, dirty[i]);
	if (rc == 0)
		rc = store_meta_put_u64(batch->txn, "pub_seq", batch->pub_seq);
	for (int c = 0; c < BATCH_N_COUNTERS && rc == 0; c++)
		if (batch->dirty[c])
			rc = store_meta_put_u64(batch->txn, s_counter_names[c], batch->counters[c]);
	if (rc == 0)
		incident_cache_clean(batch->cache);
	return rc;
}

int batch_next(batch_t *batch, batch_counter_t counter, uint64_t *out)
{
	if (!batch->loaded[counter]) {
		int rc = store_meta_get_u64(batch->txn, s_counter_names[counter],
					    &batch->counters[counter]);
		if (rc != 0)
			return rc;
		batch->loaded[counter] = true;
	}
	batch->dirty[counter] = true;
	*out = ++batch->counters[counter];
	return 0;
}

int batch_incident(batch_t *batch, uint64_t id, incident_t **inc_out)
{
	*inc_out = incident_cache_get(batch->cache, id);
	if (*inc_out)
		return 0;
	incident_t *inc;
	int rc = incidents_load(batch->txn, batch->cfg, id, &inc);
	if (rc != 0)
		return rc;
	if ((rc = incident_cache_put(batch->cache, inc)) != 0)
		return rc;
	*inc_out = inc;
	return 0;
}

int batch_incident_add(batch_t *batch, incident_t *inc)
{
	int rc = incident_cache_put(batch->cache, inc);
	if (rc == 0)
		batch_touch(batch, inc);
	return rc;
}

void batch_touch(batch_t *batch, const incident_t *inc)
{
	incident_cache_mark_dirty(batch->cache, inc->id);
}

/* True when some hook's topics match topic. */
static bool s_hooked(const config_t *cfg, const char *topic)
{
	for (size_t i = 0; i < cfg->n_hooks; i++)
		if (outbox_hook_matches(&cfg->hooks[i], topic))
			return true;
	return false;
}

bool batch_wanted(const batch_t *batch, const char *topic)
{
	return batch->listening || s_hooked(batch->cfg, topic);
}

/*
 * Puts msg in the outbox of every hook whose topics match, in the transaction that produced
 * it, so that a committed alert always reaches its hooks.
 */
static int s_outbox(batch_t *batch, const char *topic, const json_t *msg)
{
	int queued = 0;
	int rc = outbox_enqueue(batch->txn, batch->cfg, topic, msg, batch->now_ms, batch->tally,
				 &queued);
	batch->alerts_queued += queued;
	return rc;
}

int batch_publish(batch_t *batch, batch_result_t *res, const char *topic, json_t *body)
{
	if (!batch_wanted(batch, topic)) {
		/* Nobody would get it: count its seq, and skip the work. */
		batch->pub_seq++;
		json_decref(body);
		return 0;
	}
	json_t *msg = json_object();
	batch_pub_t *pub = calloc(1, sizeof *pub);
	if (msg)
		json_object_set_new_nocheck(msg, "seq", json_integer((json_int_t)++batch->pub_seq));
	if (!msg || !pub || !body || json_object_update(msg, body) != 0 ||
	    !(pub->topic = strdup(topic))) {
		json_decref(msg);
		json_decref(body);
		batch_pubs_free(pub);
		return -ENOMEM;
	}
	json_decref(body);
	pub->body = msg;
	*res->pubs_tail = pub;
	res->pubs_tail = &pub->next;
	return s_outbox(batch, topic, msg);
}

int batch_log_append(batch_t *batch, const char *kind, int64_t received_ms, const char *by,
		     const char *members, const char *raw, size_t raw_len, uint64_t *seq_out)
{
	uint64_t seq;
	int rc = batch_next(batch, BATCH_LOG_SEQ, &seq);
	if (rc != 0)
		return rc;
	jsonw_t w;
	jsonw_init(&w);
	jsonw_lit(&w, "{\"kind\":\"");
	jsonw_lit(&w, kind);
	jsonw_lit(&w, "\",\"received_at\":");
	jsonw_i64(&w, received_ms);
	jsonw_lit(&w, ",\"by\":");
	if (by)
		jsonw_str(&w, by);
	else
		jsonw_lit(&w, "null");
	jsonw_lit(&w, ",");
	jsonw_lit(&w, members);
	jsonw_lit(&w, ",\"request\":");
	jsonw_raw(&w, raw, raw_len);
	jsonw_lit(&w, "}");
	size_t len;
	char *record = jsonw_finish(&w, &len);
	if (!record)
		return -ENOMEM;
	unsigned char key[8];
	store_u64_encode(seq, key);
	rc = store_append(batch->txn, STORE_LOG, key, sizeof key, record, len);
	free(record);
	if (rc == 0 && seq_out)
		*seq_out = seq;
	return rc;
}
