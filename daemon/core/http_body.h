/*
 * http_body: the bodies of the HTTP listener's writes (daemon/edge/http.h), decoded into the
 * event objects the `event` op takes.
 *
 *   POST /v1/events         one event object, or {"events": [...]}
 *   POST /v1/alertmanager   an Alertmanager webhook payload (version 4): one event per alert
 *
 * Pure: no I/O, no clock. The listener decodes on its own thread and hands the events to the
 * loop, which adds the provider (Alertmanager: the token's) and "op" before submitting them.
 * A refusal is bad_request with a message that names the field ("alerts[2].fingerprint: ...").
 */
#ifndef INCIDENTD_DAEMON_CORE_HTTP_BODY_H
#define INCIDENTD_DAEMON_CORE_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "daemon/core/config.h"
#include "proto/wire.h"

/* The events of one body. */
typedef struct {
	json_t **events; /* owned: n new references, each an event object without "op" */
	size_t n;
	bool batch;      /* answered with an array of replies (events[] or Alertmanager) */
} http_body_t;

/*
 * Decodes a POST /v1/events document (doc borrowed): one event object, or an object whose only
 * member is "events", a non-empty array of event objects. The events' own fields are the op's
 * to check. Returns 0 with *out filled (release it with http_body_release), or -1 with err set
 * (bad_request: not an object, an empty or mistyped "events", a member "op"; internal: out of
 * memory) and *out empty.
 */
int http_body_events(const json_t *doc, http_body_t *out, wire_error_t *err);

/*
 * Decodes an Alertmanager webhook payload, version 4 (doc borrowed), into one event per alert,
 * without "provider" (the token decides it): ref is the alert's fingerprint; firing is stage
 * detected at startsAt, resolved is stage resolved at endsAt; event_id is
 * "am:FINGERPRINT:STATUS:TIME", so that a repeated delivery is a duplicate; source is
 * monitoring; title is annotations.summary, else labels.alertname, else the fingerprint (cut to
 * WIRE_TITLE_MAX bytes on a UTF-8 boundary); category is cfg's [http] severity.NAME of
 * labels.severity; labels.service and annotations.description ride along when within the op's
 * limits. Every event made is one the op's validation (wire_event_decode) accepts once a
 * provider is added. Returns 0 with *out filled, or -1 with err set (bad_request naming the
 * field; internal: out of memory) and *out empty.
 */
int http_body_alertmanager(const json_t *doc, const config_t *cfg, http_body_t *out,
			   wire_error_t *err);

/* Drops the events of body and empties it. Accepts an empty body. */
void http_body_release(http_body_t *body);

#endif
