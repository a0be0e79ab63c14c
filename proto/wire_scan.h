/*
 * wire_scan: the fast path of "event" requests, decoded without jansson.
 *
 * A strict single-pass scanner for the common shape of an "event" request. It accepts only
 * requests that wire_request_decode() + wire_event_decode() also accept, and then yields the
 * same values; anything it finds unusual (an unknown member, an escaped key, a nested or real
 * id, any error at all) it declines, and the caller takes the general jansson path, which
 * produces the exact error replies. Pure code: no allocation, no I/O.
 */
#ifndef INCIDENTD_PROTO_WIRE_SCAN_H
#define INCIDENTD_PROTO_WIRE_SCAN_H

#include <stddef.h>

#include "proto/wire.h"

/* Extra bytes the strings buffer needs beyond the frame's length. */
#define WIRE_SCAN_SLACK 16

/*
 * Scans one request frame. Returns 1 when buf is a JSON object with "op": "event" that
 * wire_request_decode() + wire_event_decode() would accept: *ev is filled as
 * wire_event_decode() would fill it, its strings NUL-terminated copies (unescaped) inside
 * strings, which must hold len + WIRE_SCAN_SLACK bytes; *id and *id_len are the JSON text of the
 * request's "id" member exactly as it appeared in buf (NULL/0 when there is none), guaranteed
 * to be byte-identical to what json_dumps(JSON_COMPACT) of jansson's parsed value would print.
 * Returns 0 for anything else (the caller then takes the general path); *ev and strings are
 * then unspecified and *id, *id_len are NULL, 0. Never reads past buf+len, never allocates.
 */
int wire_event_scan(const char *buf, size_t len, char *strings, wire_event_t *ev,
		    const char **id, size_t *id_len);

#endif
