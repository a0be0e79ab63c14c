/*
 * incident: the pure state of one incident and the stage rules of the contract.
 *
 * The stored record keeps every time as integer milliseconds and names stages by name, so a
 * record survives a change of the configured order: entries of stages the configuration no
 * longer has are kept aside in extra["orphan_timeline"] and written back into "timeline".
 */
#include "daemon/core/incident.h"

#include <stdlib.h>
#include <string.h>

#include "proto/ids.h"
#include "proto/jsonw.h"
#include "proto/rfc3339.h"

/* The extra member that holds timeline entries of stages not in the configuration. */
#define ORPHAN_TIMELINE "orphan_timeline"

/* The record members this module interprets; any other member goes to extra. */
static const char *const s_record_members[] = {
	"id", "provider", "ref", "category", "title", "service", "description", "major",
	"problem", "timeline", "problem_linked_at", NULL,
};

static const char *const s_status_names[] = { "open", "resolved", "closed" };

/* The number of stages inc->stages can hold for cfg; a config never has more. */
static int s_n_stages(const config_t *cfg)
{
	return cfg->n_stages < CONFIG_MAX_STAGES ? (int)cfg->n_stages : CONFIG_MAX_STAGES;
}

/* Copies src into *dst (NULL stays NULL). Returns 0 or -1 on allocation failure. */
static int s_copy_string(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

const char *incident_status_name(incident_status_t status)
{
	if ((unsigned)status >= sizeof s_status_names / sizeof s_status_names[0])
		return NULL;
	return s_status_names[status];
}

int incident_check_open(const wire_event_t *ev, wire_error_t *err)
{
	if (ev->category < 1 || ev->category > CONFIG_MAX_CATEGORY)
		return wire_error_set(err, WIRE_BAD_REQUEST, "category: required to open an incident");
	if (!ev->title)
		return wire_error_set(err, WIRE_BAD_REQUEST, "title: required to open an incident");
	return 0;
}

incident_t *incident_new(uint64_t id, const wire_event_t *ev)
{
	/* Provider and ref identify the incident: a record without them could never be read back. */
	if (!ev->provider || !ev->ref)
		return NULL;
	incident_t *inc = calloc(1, sizeof *inc);
	if (!inc)
		return NULL;
	inc->id = id;
	inc->category = ev->category;
	inc->major = ev->has_major && ev->major;
	inc->first_link = INT64_MIN;
	if (s_copy_string(&inc->provider, ev->provider) || s_copy_string(&inc->ref, ev->ref)
	    || s_copy_string(&inc->title, ev->title) || s_copy_string(&inc->service, ev->service)
	    || s_copy_string(&inc->description, ev->description))
		incident_destroy(&inc);
	return inc;
}

/* Fills err with the invalid_transition message: `later` (in order) was reported before `earlier`. */
static int s_transition_error(wire_error_t *err, const char *later, int64_t later_ms,
			      const char *earlier, int64_t earlier_ms)
{
	char later_at[RFC3339_BUFSZ], earlier_at[RFC3339_BUFSZ];
	return wire_error_set(err, WIRE_INVALID_TRANSITION, "at: %s (%s) is earlier than %s (%s)",
			      later, rfc3339_format(later_ms, later_at), earlier,
			      rfc3339_format(earlier_ms, earlier_at));
}

const incident_report_t *incident_report_of(const incident_t *inc, int stage, wire_source_t source)
{
	for (size_t i = 0; i < inc->n_reports; i++)
		if (inc->reports[i].stage == stage && inc->reports[i].source == source)
			return &inc->reports[i];
	return NULL;
}

bool incident_has_stage(const incident_t *inc, int stage)
{
	for (size_t i = 0; i < inc->n_reports; i++)
		if (inc->reports[i].stage == stage)
			return true;
	return false;
}

int64_t incident_stage_time(const incident_t *inc, int stage, unsigned sources, bool received)
{
	int64_t t = INT64_MIN;
	for (size_t i = 0; i < inc->n_reports; i++) {
		const incident_report_t *r = &inc->reports[i];
		if (r->stage != stage || !(sources & (1u << r->source)))
			continue;
		int64_t ms = received ? r->received_ms : r->at_ms;
		if (t == INT64_MIN || ms < t)
			t = ms;
	}
	return t;
}

int64_t incident_first_from(const incident_t *inc, wire_source_t source)
{
	int64_t t = INT64_MIN;
	for (size_t i = 0; i < inc->n_reports; i++) {
		const incident_report_t *r = &inc->reports[i];
		if (r->source == source && (t == INT64_MIN || r->received_ms < t))
			t = r->received_ms;
	}
	return t;
}

bool incident_user_first(const incident_t *inc, const config_t *cfg)
{
	int64_t user = incident_first_from(inc, SOURCE_USER);
	if (user == INT64_MIN)
		return false;
	if (cfg->notified_stage < 0)
		return true;
	int64_t told = incident_stage_time(inc, cfg->notified_stage,
					   WIRE_ALL_SOURCES & ~(1u << SOURCE_USER), true);
	return told == INT64_MIN || user < told;
}

int incident_check_stage(const incident_t *inc, const config_t *cfg, int stage,
			 wire_source_t source, int64_t at_ms, wire_error_t *err)
{
	int n = s_n_stages(cfg);
	if (stage < 0 || stage >= n)
		return wire_error_set(err, WIRE_BAD_REQUEST, "stage: not a configured stage");
	const incident_report_t *same = incident_report_of(inc, stage, source);
	if (same) {
		char id[ID_BUFSZ];
		return wire_error_set(err, WIRE_CONFLICT,
				      "stage: %s from %s is already recorded for %s by event %s",
				      cfg->stages[stage], wire_source_name(source),
				      id_format(ID_INCIDENT, inc->id, id),
				      same->event_id ? same->event_id : "(unknown)");
	}
	/* Within one source only; equal times are allowed: two stages may share a minute. */
	for (size_t i = 0; i < inc->n_reports; i++) {
		const incident_report_t *other = &inc->reports[i];
		if (other->source != source)
			continue;
		if (other->stage < stage && other->at_ms > at_ms)
			return s_transition_error(err, cfg->stages[stage], at_ms,
						  cfg->stages[other->stage], other->at_ms);
		if (other->stage > stage && other->at_ms < at_ms)
			return s_transition_error(err, cfg->stages[other->stage], other->at_ms,
						  cfg->stages[stage], at_ms);
	}
	return 0;
}

/* True when report a comes before b in the timeline: stage, reported time, arrival, source. */
static bool s_report_before(const incident_report_t *a, const incident_report_t *b)
{
	if (a->stage != b->stage)
		return a->stage < b->stage;
	if (a->at_ms != b->at_ms)
		return a->at_ms < b->at_ms;
	if (a->received_ms != b->received_ms)
		return a->received_ms < b->received_ms;
	return a->source < b->source;
}

/*
 * Inserts r (its strings now owned by inc) in timeline order. Returns the report in place, or
 * NULL on allocation failure (r's strings are then still the caller's).
 */
static incident_report_t *s_insert_report(incident_t *inc, const incident_report_t *r)
{
	if (inc->n_reports >= INCIDENT_MAX_REPORTS)
		return NULL;
	incident_report_t *grown = realloc(inc->reports, (inc->n_reports + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	inc->reports = grown;
	size_t at = inc->n_reports;
	while (at > 0 && s_report_before(r, &grown[at - 1]))
		at--;
	memmove(&grown[at + 1], &grown[at], (inc->n_reports - at) * sizeof *grown);
	grown[at] = *r;
	inc->n_reports++;
	return &grown[at];
}

const incident_report_t *incident_apply_event(incident_t *inc, const config_t *cfg, int stage,
					      const wire_event_t *ev, int64_t at_ms,
					      int64_t received_ms, const char *by)
{
	if (stage < 0 || stage >= s_n_stages(cfg) || !ev->event_id
	    || (unsigned)ev->source >= WIRE_N_SOURCES)
		return NULL;
	incident_report_t r = {
		.stage = stage,
		.source = ev->source,
		.at_ms = at_ms,
		.received_ms = received_ms,
		.event_id = strdup(ev->event_id),
		.by = by ? strdup(by) : NULL,
	};
	incident_report_t *added = r.event_id && (!by || r.by) ? s_insert_report(inc, &r) : NULL;
	if (!added) {
		free(r.event_id);
		free(r.by);
		return NULL;
	}
	/* Major is a one-way flag: once declared, no later event can make an incident minor. */
	if ((ev->has_major && ev->major) || stage == cfg->major_stage)
		inc->major = true;
	return added;
}

incident_status_t incident_status(const incident_t *inc, const config_t *cfg)
{
	/* Any recorded stage at or after closed (or resolved) counts, so the furthest one decides. */
	int last = incident_last_stage(inc, cfg);
	if (last < 0)
		return INCIDENT_OPEN;
	if (cfg->closed_stage >= 0 && last >= cfg->closed_stage)
		return INCIDENT_CLOSED;
	if (cfg->resolved_stage >= 0 && last >= cfg->resolved_stage)
		return INCIDENT_RESOLVED;
	return INCIDENT_OPEN;
}

int64_t incident_opened_at(const incident_t *inc, const config_t *cfg)
{
	(void)cfg;
	/* Stages arrive in any order, so a backfilled detection can open the incident earlier. */
	int64_t opened = INT64_MIN;
	for (size_t i = 0; i < inc->n_reports; i++)
		if (opened == INT64_MIN || inc->reports[i].at_ms < opened)
			opened = inc->reports[i].at_ms;
	return opened;
}

int64_t incident_resolved_at(const incident_t *inc, const config_t *cfg)
{
	if (cfg->resolved_stage < 0)
		return INT64_MIN;
	/* Reports are in stage order, the earliest first within a stage. */
	for (size_t i = 0; i < inc->n_reports; i++)
		if (inc->reports[i].stage >= cfg->resolved_stage)
			return inc->reports[i].at_ms;
	return INT64_MIN;
}

int incident_last_stage(const incident_t *inc, const config_t *cfg)
{
	(void)cfg;
	return inc->n_reports > 0 ? inc->reports[inc->n_reports - 1].stage : -1;
}

/* The storage timeline: every report in timeline order, then the orphans kept from the last load. */
static json_t *s_record_timeline(const incident_t *inc, const config_t *cfg)
{
	json_t *timeline = json_array();
	if (!timeline)
		return NULL;
	for (size_t k = 0; k < inc->n_reports; k++) {
		const incident_report_t *r = &inc->reports[k];
		json_t *entry = json_pack("{s:s, s:I, s:I, s:s, s:s}", "stage", cfg->stages[r->stage],
					  "at", (json_int_t)r->at_ms, "received_at",
					  (json_int_t)r->received_ms, "event_id", r->event_id,
					  "source", wire_source_name(r->source));
		/* Who recorded it, when anyone did: records of an anonymous daemon stay as they were. */
		if (entry && r->by && json_object_set_new(entry, "by", json_string(r->by)) != 0)
			json_decref(entry), entry = NULL;
		if (json_array_append_new(timeline, entry) != 0)
			goto fail;
	}
	json_t *orphans = inc->extra ? json_object_get(inc->extra, ORPHAN_TIMELINE) : NULL;
	size_t i;
	json_t *orphan;
	json_array_foreach(orphans, i, orphan)
		if (json_array_append_new(timeline, json_deep_copy(orphan)) != 0)
			goto fail;
	return timeline;
fail:
	json_decref(timeline);
	return NULL;
}

/* Copies the members of extra into record; a member the record already has keeps its value. */
static int s_merge_extra(json_t *record, const json_t *extra)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)extra, key, value) {
		if (strcmp(key, ORPHAN_TIMELINE) == 0 || json_object_get(record, key))
			continue;
		if (json_object_set_new(record, key, json_deep_copy(value)) != 0)
			return -1;
	}
	return 0;
}

json_t *incident_to_record(const incident_t *inc, const config_t *cfg)
{
	json_t *timeline = s_record_timeline(inc, cfg);
	if (!timeline)
		return NULL;
	/* Optional strings are left out rather than stored as null ("s*"); json_pack steals timeline. */
	json_t *record = json_pack("{s:I, s:s, s:s, s:i, s:s*, s:s*, s:s*, s:b, s:I, s:o}",
				   "id", (json_int_t)inc->id, "provider", inc->provider, "ref",
				   inc->ref, "category", inc->category, "title", inc->title,
				   "service", inc->service, "description", inc->description, "major",
				   inc->major, "problem", (json_int_t)inc->problem, "timeline", timeline);
	if (!record)
		return NULL;
	if (inc->first_link != INT64_MIN &&
	    json_object_set_new(record, "problem_linked_at", json_integer(inc->first_link)) != 0)
		json_decref(record), record = NULL;
	if (record && inc->extra && s_merge_extra(record, inc->extra) != 0)
		json_decref(record), record = NULL;
	return record;
}

/* --- record text ------------------------------------------------------------------------- */

/*
 * Whether s is UTF-8 as jansson checks it (no overlong forms, surrogates, nor code points past
 * U+10FFFF): json_pack() refuses any other string, so the direct encoder refuses it too.
 */
static bool s_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	while (p < end) {
		size_t n = *p < 0x80 ? 1 : wire_utf8_len(p, end);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* Whether s may be packed: present (or optional and NULL) and valid UTF-8. */
static bool s_packable(const char *s, bool optional)
{
	return s ? s_utf8_valid(s) : optional;
}

/*
 * Whether incident_to_record() can pack inc: every required string present, every string
 * valid UTF-8, every recorded source named. When it cannot, neither does the direct encoder,
 * rather than store a record that would not load.
 */
static bool s_record_packable(const incident_t *inc, const config_t *cfg)
{
	if (!s_packable(inc->provider, false) || !s_packable(inc->ref, false)
	    || !s_packable(inc->title, true) || !s_packable(inc->service, true)
	    || !s_packable(inc->description, true))
		return false;
	for (size_t k = 0; k < inc->n_reports; k++) {
		const incident_report_t *r = &inc->reports[k];
		if (r->stage < 0 || r->stage >= s_n_stages(cfg) || !s_packable(cfg->stages[r->stage], false)
		    || !s_packable(r->event_id, false) || !s_packable(r->by, true)
		    || !wire_source_name(r->source))
			return false;
	}
	return true;
}

/* Writes one report's timeline entry, members in s_record_timeline()'s order. */
static void s_write_report(jsonw_t *w, const char *name, const incident_report_t *st)
{
	jsonw_lit(w, "{\"stage\":");
	jsonw_str(w, name);
	jsonw_lit(w, ",\"at\":");
	jsonw_i64(w, st->at_ms);
	jsonw_lit(w, ",\"received_at\":");
	jsonw_i64(w, st->received_ms);
	jsonw_lit(w, ",\"event_id\":");
	jsonw_str(w, st->event_id);
	jsonw_lit(w, ",\"source\":");
	jsonw_str(w, wire_source_name(st->source));
	if (st->by) {
		jsonw_lit(w, ",\"by\":");
		jsonw_str(w, st->by);
	}
	jsonw_raw(w, "}", 1);
}

/* Writes the timeline as s_record_timeline() builds it: the reports, then the orphans. */
static void s_write_timeline(jsonw_t *w, const incident_t *inc, const config_t *cfg)
{
	const char *sep = "[";
	for (size_t k = 0; k < inc->n_reports; k++) {
		jsonw_lit(w, sep);
		s_write_report(w, cfg->stages[inc->reports[k].stage], &inc->reports[k]);
		sep = ",";
	}
	json_t *orphans = inc->extra ? json_object_get(inc->extra, ORPHAN_TIMELINE) : NULL;
	size_t i;
	json_t *orphan;
	json_array_foreach(orphans, i, orphan) {
		jsonw_lit(w, sep);
		jsonw_json(w, orphan);
		sep = ",";
	}
	jsonw_lit(w, *sep == '[' ? "[]" : "]");
}

/* Whether the record of inc already has member key before extra is merged in. */
static bool s_record_has(const incident_t *inc, const char *key)
{
	if (strcmp(key, "title") == 0)
		return inc->title != NULL;
	if (strcmp(key, "service") == 0)
		return inc->service != NULL;
	if (strcmp(key, "description") == 0)
		return inc->description != NULL;
	if (strcmp(key, "problem_linked_at") == 0)
		return inc->first_link != INT64_MIN;
	for (size_t i = 0; s_record_members[i]; i++)
		if (strcmp(key, s_record_members[i]) == 0)
			return true;
	return false;
}

/* Writes the members of extra as s_merge_extra() adds them, each after a comma. */
static void s_write_extra(jsonw_t *w, const incident_t *inc)
{
	const char *key;
	json_t *value;
	json_object_foreach(inc->extra, key, value) {
		if (strcmp(key, ORPHAN_TIMELINE) == 0 || s_record_has(inc, key))
			continue;
		jsonw_raw(w, ",", 1);
		jsonw_str(w, key);
		jsonw_raw(w, ":", 1);
		jsonw_json(w, value);
	}
}

/* Writes ",key:s" when s is set; the key is a literal needing no escape ("\"title\""). */
static void s_write_optional(jsonw_t *w, const char *key, const char *s)
{
	if (!s)
		return;
	jsonw_raw(w, ",", 1);
	jsonw_lit(w, key);
	jsonw_raw(w, ":", 1);
	jsonw_str(w, s);
}

/*
 * Members in the order jansson keeps them for incident_to_record(): the json_pack() format's,
 * then problem_linked_at, then extra's (an object keeps insertion order).
 */
char *incident_record_text(const incident_t *inc, const config_t *cfg, size_t *len_out)
{
	if (!s_record_packable(inc, cfg))
		return NULL;
	jsonw_t w;
	jsonw_init(&w);
	jsonw_lit(&w, "{\"id\":");
	jsonw_i64(&w, (int64_t)inc->id);
	jsonw_lit(&w, ",\"provider\":");
	jsonw_str(&w, inc->provider);
	jsonw_lit(&w, ",\"ref\":");
	jsonw_str(&w, inc->ref);
	jsonw_lit(&w, ",\"category\":");
	jsonw_i64(&w, inc->category);
	s_write_optional(&w, "\"title\"", inc->title);
	s_write_optional(&w, "\"service\"", inc->service);
	s_write_optional(&w, "\"description\"", inc->description);
	jsonw_lit(&w, ",\"major\":");
	jsonw_bool(&w, inc->major);
	jsonw_lit(&w, ",\"problem\":");
	jsonw_i64(&w, (int64_t)inc->problem);
	jsonw_lit(&w, ",\"timeline\":");
	s_write_timeline(&w, inc, cfg);
	if (inc->first_link != INT64_MIN) {
		jsonw_lit(&w, ",\"problem_linked_at\":");
		jsonw_i64(&w, inc->first_link);
	}
	if (inc->extra)
		s_write_extra(&w, inc);
	jsonw_raw(&w, "}", 1);
	return jsonw_finish(&w, len_out);
}

/* Reads an optional (or required) string member into a new copy. Returns 0 or -1. */
static int s_read_string(const json_t *record, const char *key, bool required, char **out)
{
	const json_t *value = json_object_get(record, key);
	if (!value)
		return required ? -1 : 0;
	if (!json_is_string(value))
		return -1;
	return s_copy_string(out, json_string_value(value));
}

/* Reads an integer member in [min, max]. Returns 0 or -1. */
static int s_read_int(const json_t *record, const char *key, json_int_t min, json_int_t max,
		      json_int_t *out)
{
	const json_t *value = json_object_get(record, key);
	if (!json_is_integer(value) || json_integer_value(value) < min
	    || json_integer_value(value) > max)
		return -1;
	*out = json_integer_value(value);
	return 0;
}

/* Reads the scalar members of a record into inc. Returns 0 or -1 when one is missing or mistyped. */
static int s_read_members(incident_t *inc, const json_t *record)
{
	json_int_t id, category, problem;
	if (s_read_int(record, "id", 1, (json_int_t)ID_MAX, &id)
	    || s_read_int(record, "category", 1, CONFIG_MAX_CATEGORY, &category)
	    || s_read_int(record, "problem", 0, (json_int_t)ID_MAX, &problem)
	    || !json_is_boolean(json_object_get(record, "major")))
		return -1;
	inc->id = (uint64_t)id;
	inc->category = (int)category;
	inc->problem = (uint64_t)problem;
	inc->major = json_is_true(json_object_get(record, "major"));
	const json_t *link = json_object_get(record, "problem_linked_at");
	if (link && !json_is_integer(link))
		return -1;
	inc->first_link = link ? (int64_t)json_integer_value(link) : INT64_MIN;
	if (s_read_string(record, "provider", true, &inc->provider)
	    || s_read_string(record, "ref", true, &inc->ref)
	    || s_read_string(record, "title", false, &inc->title)
	    || s_read_string(record, "service", false, &inc->service)
	    || s_read_string(record, "description", false, &inc->description))
		return -1;
	return 0;
}

/* The source named name; -1 when it names none. */
static int s_source_from_name(const char *name)
{
	for (int s = SOURCE_PROVIDER; s <= SOURCE_OPERATOR; s++)
		if (strcmp(wire_source_name((wire_source_t)s), name) == 0)
			return s;
	return -1;
}

/*
 * Reads a timeline entry of a configured stage. Returns 0 or -1 (malformed, or a second report
 * of the stage by the same source).
 */
static int s_read_report(incident_t *inc, int stage, const json_t *entry)
{
	incident_report_t r = { .stage = stage };
	json_int_t at, received;
	const json_t *source = json_object_get(entry, "source");
	int src = json_is_string(source) ? s_source_from_name(json_string_value(source)) : -1;
	if (src < 0 || incident_report_of(inc, stage, (wire_source_t)src)
	    || s_read_int(entry, "at", INT64_MIN, INT64_MAX, &at)
	    || s_read_int(entry, "received_at", INT64_MIN, INT64_MAX, &received)
	    || s_read_string(entry, "event_id", true, &r.event_id)
	    || (!json_is_null(json_object_get(entry, "by"))
		&& s_read_string(entry, "by", false, &r.by))
	    || (r.source = (wire_source_t)src, r.at_ms = at, r.received_ms = received,
		!s_insert_report(inc, &r))) {
		free(r.event_id);
		free(r.by);
		return -1;
	}
	return 0;
}

/* Keeps a timeline entry of a stage cfg does not have, verbatim, in extra. Returns 0 or -1. */
static int s_keep_orphan(incident_t *inc, const json_t *entry)
{
	if (!inc->extra && !(inc->extra = json_object()))
		return -1;
	json_t *orphans = json_object_get(inc->extra, ORPHAN_TIMELINE);
	if (!json_is_array(orphans)) {
		orphans = json_array();
		if (json_object_set_new(inc->extra, ORPHAN_TIMELINE, orphans) != 0)
			return -1;
	}
	return json_array_append_new(orphans, json_deep_copy(entry));
}

static int s_read_timeline(incident_t *inc, const json_t *timeline, const config_t *cfg)
{
	if (!json_is_array(timeline))
		return -1;
	size_t i;
	const json_t *entry;
	json_array_foreach(timeline, i, entry) {
		const json_t *name = json_object_get(entry, "stage");
		if (!json_is_object(entry) || !json_is_string(name))
			return -1;
		int stage = config_stage_index(cfg, json_string_value(name));
		int rc = stage >= 0 && stage < s_n_stages(cfg) ? s_read_report(inc, stage, entry)
							     : s_keep_orphan(inc, entry);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Copies the members this module does not interpret into inc->extra. Returns 0 or -1. */
static int s_read_extra(incident_t *inc, const json_t *record)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)record, key, value) {
		bool known = false;
		for (size_t i = 0; s_record_members[i] && !known; i++)
			known = strcmp(key, s_record_members[i]) == 0;
		if (known)
			continue;
		if (!inc->extra && !(inc->extra = json_object()))
			return -1;
		if (json_object_set_new(inc->extra, key, json_deep_copy(value)) != 0)
			return -1;
	}
	return 0;
}

incident_t *incident_from_record(const json_t *record, const config_t *cfg)
{
	if (!json_is_object(record))
		return NULL;
	incident_t *inc = calloc(1, sizeof *inc);
	if (!inc)
		return NULL;
	/* Extra first, so that orphans join any orphan_timeline member the record carried. */
	if (s_read_members(inc, record) || s_read_extra(inc, record)
	    || s_read_timeline(inc, json_object_get(record, "timeline"), cfg))
		incident_destroy(&inc);
	return inc;
}

/* Adds "key": the RFC 3339 time of ms, or null for INT64_MIN (no such time). Returns 0 or -1. */
static int s_set_time_or_null(json_t *obj, const char *key, int64_t ms)
{
	if (ms == INT64_MIN)
		return json_object_set_new(obj, key, json_null());
	return wire_set_time(obj, key, ms);
}

/* A new object holding "id" first, so that printed replies start with the incident's name. */
static json_t *s_new_with_id(const incident_t *inc)
{
	json_t *obj = json_object();
	if (obj && wire_set_id(obj, "id", ID_INCIDENT, inc->id) != 0)
		json_decref(obj), obj = NULL;
	return obj;
}

/* The wire timeline: one entry per report, in timeline order, times as RFC 3339. */
static json_t *s_wire_timeline(const incident_t *inc, const config_t *cfg)
{
	json_t *timeline = json_array();
	for (size_t k = 0; timeline && k < inc->n_reports; k++) {
		const incident_report_t *r = &inc->reports[k];
		json_t *entry = json_pack("{s:s, s:s}", "stage", cfg->stages[r->stage], "source",
					  wire_source_name(r->source));
		if (!entry || wire_set_time(entry, "at", r->at_ms)
		    || wire_set_time(entry, "received_at", r->received_ms)
		    || json_object_set_new(entry, "event_id", json_string(r->event_id))
		    || json_object_set_new(entry, "by", r->by ? json_string(r->by) : json_null())
		    || json_array_append_new(timeline, entry) != 0) {
			json_decref(entry);
			json_decref(timeline);
			timeline = NULL;
		}
	}
	return timeline;
}

json_t *incident_to_wire(const incident_t *inc, const config_t *cfg)
{
	json_t *obj = s_new_with_id(inc);
	json_t *fields = json_pack("{s:s, s:s, s:i, s:s?, s:s?, s:s?, s:b, s:s, s:n, s:o?}",
				   "provider", inc->provider, "ref", inc->ref, "category",
				   inc->category, "title", inc->title, "service", inc->service,
				   "description", inc->description, "major", inc->major, "status",
				   incident_status_name(incident_status(inc, cfg)), "opened_at",
				   "timeline", s_wire_timeline(inc, cfg));
	if (!obj || !fields || !json_is_array(json_object_get(fields, "timeline"))
	    || json_object_update(obj, fields) != 0
	    || s_set_time_or_null(obj, "opened_at", incident_opened_at(inc, cfg)) != 0
	    || json_object_set_new(obj, "user_first", json_boolean(incident_user_first(inc, cfg)))
	    || wire_set_id(obj, "problem", ID_PROBLEM, inc->problem) != 0)
		json_decref(obj), obj = NULL;
	json_decref(fields);
	return obj;
}

json_t *incident_summary(const incident_t *inc, const config_t *cfg)
{
	int last = incident_last_stage(inc, cfg);
	json_t *obj = s_new_with_id(inc);
	json_t *fields = json_pack("{s:s, s:s, s:i, s:s?, s:b, s:s, s:n, s:s?}", "provider",
				   inc->provider, "ref", inc->ref, "category", inc->category,
				   "title", inc->title, "major", inc->major, "status",
				   incident_status_name(incident_status(inc, cfg)), "opened_at",
				   "last_stage", last >= 0 ? cfg->stages[last] : NULL);
	if (!obj || !fields || json_object_update(obj, fields) != 0
	    || s_set_time_or_null(obj, "opened_at", incident_opened_at(inc, cfg)) != 0
	    || wire_set_id(obj, "problem", ID_PROBLEM, inc->problem) != 0
	    || json_object_set_new(obj, "user_first", json_boolean(incident_user_first(inc, cfg))))
		json_decref(obj), obj = NULL;
	json_decref(fields);
	return obj;
}

void incident_destroy(incident_t **inc_p)
{
	if (!inc_p || !*inc_p)
		return;
	incident_t *inc = *inc_p;
	free(inc->provider);
	free(inc->ref);
	free(inc->title);
	free(inc->service);
	free(inc->description);
	for (size_t k = 0; k < inc->n_reports; k++) {
		free(inc->reports[k].event_id);
		free(inc->reports[k].by);
	}
	free(inc->reports);
	json_decref(inc->extra);
	free(inc);
	*inc_p = NULL;
}

int64_t incident_first_link(const incident_t *inc)
{
	return inc->first_link;
}

int incident_note_first_link(incident_t *inc, int64_t ms)
{
	if (inc->first_link == INT64_MIN)
		inc->first_link = ms;
	return 0;
}

/* --- digest ------------------------------------------------------------------------------ */

/* 1: one report per stage (0.1.0); 2: per stage and source. */
#define DIGEST_VERSION 2

/* FNV-1a over the stage names in order: digests made under another order are refused. */
static uint32_t s_stages_fingerprint(const config_t *cfg)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < s_n_stages(cfg); i++) {
		for (const char *p = cfg->stages[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		h = (h ^ 0xffu) * 16777619u;
	}
	return h;
}

static unsigned char *s_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)(v >> (8 * i));
	return p;
}

static const unsigned char *s_get64(const unsigned char *p, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v |= (uint64_t)p[i] << (8 * i);
	return p + 8;
}

/*
 * Layout (little-endian): version u8, stage fingerprint u32, id u64, category u8, major u8,
 * first_link i64, provider length u8 and bytes and a NUL, report count u8, then per report in
 * timeline order: stage index u8, source u8, at i64, received i64.
 */
size_t incident_digest_encode(const incident_t *inc, const config_t *cfg, unsigned char *buf)
{
	unsigned char *p = buf;
	uint32_t fp = s_stages_fingerprint(cfg);
	size_t plen = strnlen(inc->provider, WIRE_PROVIDER_MAX);
	*p++ = DIGEST_VERSION;
	for (int i = 0; i < 4; i++)
		*p++ = (unsigned char)(fp >> (8 * i));
	p = s_put64(p, inc->id);
	*p++ = (unsigned char)inc->category;
	*p++ = inc->major;
	p = s_put64(p, (uint64_t)inc->first_link);
	*p++ = (unsigned char)plen;
	memcpy(p, inc->provider, plen);
	p += plen;
	*p++ = '\0'; /* so that a decoded provider is a C string pointing into the buffer */
	/* At most INCIDENT_MAX_REPORTS (128) reports: the count fits a byte. */
	*p++ = (unsigned char)inc->n_reports;
	for (size_t k = 0; k < inc->n_reports; k++) {
		const incident_report_t *r = &inc->reports[k];
		*p++ = (unsigned char)r->stage;
		*p++ = (unsigned char)r->source;
		p = s_put64(p, (uint64_t)r->at_ms);
		p = s_put64(p, (uint64_t)r->received_ms);
	}
	return (size_t)(p - buf);
}

int incident_digest_decode(const void *buf, size_t len, const config_t *cfg,
			   incident_digest_t *out)
{
	const unsigned char *p = buf, *end = p + len;
	uint64_t v;
	if (len < 1 + 4 + 8 + 2 + 8 + 1 || p[0] != DIGEST_VERSION)
		return -1;
	uint32_t fp = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
	if (fp != s_stages_fingerprint(cfg))
		return -1;
	incident_t *inc = &out->inc;
	memset(inc, 0, sizeof *inc);
	p = s_get64(p + 5, &inc->id);
	inc->category = *p++;
	inc->major = *p++ != 0;
	p = s_get64(p, &v);
	inc->first_link = (int64_t)v;
	size_t plen = *p++;
	if ((size_t)(end - p) < plen + 2 || p[plen] != '\0')
		return -1;
	inc->provider = (char *)p;
	p += plen + 1;
	unsigned n = *p++;
	if (n > INCIDENT_MAX_REPORTS || (size_t)(end - p) != (size_t)n * 18)
		return -1;
	inc->reports = out->reports;
	for (unsigned k = 0; k < n; k++, p += 18) {
		if (p[0] >= s_n_stages(cfg) || p[1] >= WIRE_N_SOURCES)
			return -1;
		incident_report_t *r = &out->reports[k];
		*r = (incident_report_t){ .stage = p[0], .source = (wire_source_t)p[1] };
		s_get64(p + 2, &v);
		r->at_ms = (int64_t)v;
		s_get64(p + 10, &v);
		r->received_ms = (int64_t)v;
	}
	inc->n_reports = n;
	return 0;
}
