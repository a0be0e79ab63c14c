/*
 * http_body: the HTTP listener's write bodies as event objects. See http_body.h.
 */
#include "daemon/core/http_body.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rfc3339.h"

/* Adds event (taken) to body. */
static int s_add(http_body_t *body, json_t *event, wire_error_t *err)
{
	json_t **grown = event ? realloc(body->events, (body->n + 1) * sizeof *grown) : NULL;
	if (!grown) {
		json_decref(event);
		return wire_error_set(err, WIRE_INTERNAL, "out of memory");
	}
	body->events = grown;
	body->events[body->n++] = event;
	return 0;
}

/* The events[] of a batch. */
static int s_events_list(const json_t *list, http_body_t *out, wire_error_t *err)
{
	if (!json_is_array(list) || json_array_size(list) == 0)
		return wire_error_set(err, WIRE_BAD_REQUEST,
				      "events: expected a non-empty array of event objects");
	out->batch = true;
	size_t i;
	json_t *ev;
	json_array_foreach(list, i, ev) {
		if (!json_is_object(ev))
			return wire_error_set(err, WIRE_BAD_REQUEST,
					      "events[%zu]: expected an event object", i);
		if (json_object_get(ev, "op"))
			return wire_error_set(err, WIRE_BAD_REQUEST,
					      "events[%zu].op: not taken (the path says it)", i);
		if (s_add(out, json_incref(ev), err) < 0)
			return -1;
	}
	return 0;
}

int http_body_events(const json_t *doc, http_body_t *out, wire_error_t *err)
{
	*out = (http_body_t){ 0 };
	const json_t *list = json_object_get(doc, "events");
	int rc;
	if (!json_is_object(doc))
		rc = wire_error_set(err, WIRE_BAD_REQUEST, "request: expected a JSON object");
	else if (json_object_size(doc) == 1 && list)
		rc = s_events_list(list, out, err);
	else if (json_object_get(doc, "op"))
		rc = wire_error_set(err, WIRE_BAD_REQUEST, "op: not taken (the path says it)");
	else
		rc = s_add(out, json_incref((json_t *)doc), err);
	if (rc < 0)
		http_body_release(out);
	return rc;
}

/* A string member of obj, or NULL. */
static const char *s_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Sets key to value when value is a non-empty string of at most max bytes. */
static int s_set_optional(json_t *ev, const char *key, const char *value, size_t max)
{
	if (!value || !*value || strlen(value) > max)
		return 0;
	return json_object_set_new(ev, key, json_string(value));
}

/*
 * The title of an alert: annotations.summary, else labels.alertname, else the fingerprint, cut
 * to WIRE_TITLE_MAX bytes on a character boundary (into buf). A long summary is common and
 * must not cost the alert: the op refuses a longer title, and Alertmanager does not retry a
 * 4xx, so the incident would never open.
 */
static const char *s_alert_title(const json_t *labels, const json_t *ann, const char *fp,
				 char buf[WIRE_TITLE_MAX + 1])
{
	const char *title = s_str(ann, "summary");
	if (!title || !*title)
		title = s_str(labels, "alertname");
	if (!title || !*title)
		return fp;
	size_t len = strlen(title);
	if (len <= WIRE_TITLE_MAX)
		return title;
	len = WIRE_TITLE_MAX;
	while (len > 0 && ((unsigned char)title[len] & 0xc0) == 0x80)
		len--;
	memcpy(buf, title, len);
	buf[len] = '\0';
	return buf;
}

/*
 * One alert as an event. Category and title ride on every event, so that a resolved alert
 * can open an incident never opened.
 */
static json_t *s_alert_event(const json_t *alert, size_t i, const config_t *cfg,
			     wire_error_t *err)
{
	const char *status = s_str(alert, "status"), *fp = s_str(alert, "fingerprint");
	const json_t *labels = json_object_get(alert, "labels");
	const json_t *ann = json_object_get(alert, "annotations");
	bool firing = status && strcmp(status, "firing") == 0;
	if (!firing && !(status && strcmp(status, "resolved") == 0)) {
		wire_error_set(err, WIRE_BAD_REQUEST, "alerts[%zu].status: expected firing or resolved", i);
		return NULL;
	}
	if (!fp || !*fp || strlen(fp) > 64) {
		wire_error_set(err, WIRE_BAD_REQUEST, "alerts[%zu].fingerprint: missing or too long", i);
		return NULL;
	}
	const char *when = s_str(alert, firing ? "startsAt" : "endsAt");
	int64_t ms;
	char at[RFC3339_BUFSZ], event_id[128];
	if (!when || rfc3339_parse(when, &ms) < 0) {
		wire_error_set(err, WIRE_BAD_REQUEST, "alerts[%zu].%s: expected an RFC 3339 time", i,
			       firing ? "startsAt" : "endsAt");
		return NULL;
	}
	rfc3339_format(ms, at);
	snprintf(event_id, sizeof event_id, "am:%s:%s:%s", fp, status, at);
	char title[WIRE_TITLE_MAX + 1];
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "event_id", event_id, "ref",
			       fp, "stage", firing ? "detected" : "resolved", "at", at, "source",
			       "monitoring", "category",
			       (json_int_t)config_http_category(cfg, s_str(labels, "severity")),
			       "title", s_alert_title(labels, ann, fp, title));
	if (!ev ||
	    s_set_optional(ev, "service", s_str(labels, "service"), WIRE_SERVICE_MAX) < 0 ||
	    s_set_optional(ev, "description", s_str(ann, "description"), WIRE_DESCRIPTION_MAX) < 0) {
		json_decref(ev);
		wire_error_set(err, WIRE_INTERNAL, "out of memory");
		return NULL;
	}
	return ev;
}

static int s_alerts(const json_t *doc, const config_t *cfg, http_body_t *out, wire_error_t *err)
{
	const char *version = s_str(doc, "version");
	const json_t *alerts = json_object_get(doc, "alerts");
	if (!json_is_object(doc))
		return wire_error_set(err, WIRE_BAD_REQUEST, "request: expected a JSON object");
	if (!version || strcmp(version, "4") != 0)
		return wire_error_set(err, WIRE_BAD_REQUEST, "version: expected \"4\" (an "
				      "Alertmanager webhook payload)");
	if (!json_is_array(alerts) || json_array_size(alerts) == 0)
		return wire_error_set(err, WIRE_BAD_REQUEST, "alerts: expected a non-empty array");
	out->batch = true;
	size_t i;
	const json_t *alert;
	json_array_foreach(alerts, i, alert) {
		json_t *ev = s_alert_event(alert, i, cfg, err);
		if (!ev || s_add(out, ev, err) < 0)
			return -1;
	}
	return 0;
}

int http_body_alertmanager(const json_t *doc, const config_t *cfg, http_body_t *out,
			   wire_error_t *err)
{
	*out = (http_body_t){ 0 };
	int rc = s_alerts(doc, cfg, out, err);
	if (rc < 0)
		http_body_release(out);
	return rc;
}

void http_body_release(http_body_t *body)
{
	for (size_t i = 0; i < body->n; i++)
		json_decref(body->events[i]);
	free(body->events);
	*body = (http_body_t){ 0 };
}
