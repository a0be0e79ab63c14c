/*
 * wire: the JSON codec shared by daemon and client.
 *
 * A request is one frame holding one JSON object with a string "op" and an optional "id" (any
 * JSON value, echoed in the reply). A reply is one frame: {"ok": true, ...fields} or
 * {"ok": false, "error": {"code": CODE, "message": TEXT}}, plus "id" when the request had one.
 *
 * Every decoder checks the presence, type and range of each field and, on failure, fills a
 * wire_error_t whose message names the field ("category: must be an integer from 1 to 5").
 * Strings returned by decoders are borrowed from the json_t they came from and live as long as
 * it does. Pure code: jansson only, no I/O.
 */
#ifndef INCIDENTD_PROTO_WIRE_H
#define INCIDENTD_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The error codes of the contract, in a fixed order; wire_code_name() gives the wire word. */
typedef enum {
	WIRE_OK = 0,
	WIRE_BAD_JSON,
	WIRE_BAD_REQUEST,
	WIRE_UNKNOWN_OP,
	WIRE_NOT_FOUND,
	WIRE_CONFLICT,
	WIRE_INVALID_TRANSITION,
	WIRE_FORBIDDEN,
	WIRE_TOO_LARGE,
	WIRE_UNAVAILABLE,
	WIRE_INTERNAL,
} wire_code_t;

#define WIRE_MESSAGE_MAX 256

/* One error: a code and a human message naming the field at fault. */
typedef struct {
	wire_code_t code;
	char message[WIRE_MESSAGE_MAX];
} wire_error_t;

/* "bad_json", "bad_request", ...; NULL for WIRE_OK or an unknown value. */
const char *wire_code_name(wire_code_t code);

/* The code for a wire word, or WIRE_OK when the word is unknown. */
wire_code_t wire_code_from_name(const char *name);

/*
 * The length (2..4) of the UTF-8 sequence that starts at p (a byte >= 0x80, before end), or 0
 * when it is not valid by jansson's rules (no stray continuation byte, overlong form,
 * surrogate, code point past U+10FFFF, or sequence cut by end). jansson refuses to parse or
 * build a string with anything else.
 */
size_t wire_utf8_len(const unsigned char *p, const unsigned char *end);

/*
 * Sets *err to code and a printf-style message (truncated to fit). Returns -1 so that a
 * decoder can write `return wire_error_set(err, ...)`.
 */
int wire_error_set(wire_error_t *err, wire_code_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Decodes one request frame. Fails with bad_json (not JSON, or bytes after the value, or not
 * valid UTF-8), bad_request ("request: must be a JSON object", "op: missing",
 * "op: must be a string"). On success *req_out is a new reference the caller must
 * json_decref(), and *op_out points into it.
 *
 * When decoding fails after the object was parsed, *id_out (if id_out is not NULL) is set to a
 * new reference to the request's "id" (or NULL) so that the error reply can echo it.
 * Returns 0 or -1.
 */
int wire_request_decode(const char *buf, size_t len, json_t **req_out, const char **op_out,
			json_t **id_out, wire_error_t *err);

/*
 * Builds the reply frame {"ok": true, "id": id, ...fields}. fields is a JSON object whose
 * reference is stolen (may be NULL for no fields); id is borrowed and may be NULL (no "id").
 * Returns a malloc'd compact JSON text the caller frees, its length in *len_out; NULL on
 * allocation failure.
 */
char *wire_reply_ok(json_t *fields, const json_t *id, size_t *len_out);

/* Builds {"ok": false, "id": id, "error": {"code", "message"}}; as wire_reply_ok otherwise. */
char *wire_reply_error(const wire_error_t *err, const json_t *id, size_t *len_out);

/*
 * Field accessors. Each looks up field in obj. When the field is absent (or JSON null):
 * required -> bad_request "FIELD: missing"; otherwise *present_out (if not NULL) is set false
 * and *out is left as it was. A present field of the wrong type or out of range is always
 * bad_request naming the field. All return 0 or -1.
 */
/* A string of 1..max_len bytes (an empty string is refused). */
int wire_get_string(const json_t *obj, const char *field, bool required, size_t max_len,
		    const char **out, bool *present_out, wire_error_t *err);
/* An integer (JSON integer, not real) in [min, max]. */
int wire_get_int(const json_t *obj, const char *field, bool required, int64_t min, int64_t max,
		 int64_t *out, bool *present_out, wire_error_t *err);
/* A JSON true or false. */
int wire_get_bool(const json_t *obj, const char *field, bool required, bool *out,
		  bool *present_out, wire_error_t *err);
/* An RFC 3339 time string, stored as ms since the epoch. */
int wire_get_time(const json_t *obj, const char *field, bool required, int64_t *ms_out,
		  bool *present_out, wire_error_t *err);
/* An id string of the given kind ("INC..."/"PBI..."), stored as its number. */
int wire_get_id(const json_t *obj, const char *field, bool required, int kind /* id_kind_t */,
		uint64_t *n_out, bool *present_out, wire_error_t *err);

/* Limits on the strings of an event; longer is bad_request naming the field. */
#define WIRE_PROVIDER_MAX 64
#define WIRE_EVENT_ID_MAX 128
#define WIRE_REF_MAX 128
#define WIRE_STAGE_MAX 64
#define WIRE_TITLE_MAX 512
#define WIRE_SERVICE_MAX 128
#define WIRE_DESCRIPTION_MAX 8192

/* The sources an event may come from; "provider" when the event names none. */
typedef enum { SOURCE_PROVIDER = 0, SOURCE_MONITORING, SOURCE_USER, SOURCE_OPERATOR } wire_source_t;
#define WIRE_N_SOURCES 4
/* A set of sources: bit (1u << source) for each. */
#define WIRE_ALL_SOURCES ((1u << WIRE_N_SOURCES) - 1)
const char *wire_source_name(wire_source_t source);

/*
 * The fields of an "event" request. Strings are borrowed from the request object; a string
 * that was absent is NULL. The stage name is checked against the configured stages by the
 * daemon, not here.
 */
typedef struct {
	const char *provider;    /* required */
	const char *event_id;    /* required */
	const char *ref;         /* required */
	const char *stage;       /* required */
	bool has_at;             /* false: the daemon uses the arrival time */
	int64_t at_ms;
	int category;            /* 1..5, or 0 when absent */
	const char *title;       /* NULL when absent */
	const char *service;     /* NULL when absent */
	const char *description; /* NULL when absent */
	bool has_major;
	bool major;
	wire_source_t source;    /* SOURCE_PROVIDER when absent */
} wire_event_t;

/*
 * Decodes and validates the fields of an "event" request (op already checked). Members the
 * contract does not name are ignored (forward compatibility). Returns 0 or -1.
 */
int wire_event_decode(const json_t *req, wire_event_t *ev, wire_error_t *err);

/*
 * The content of an event for retry comparison: a new object holding every member of req
 * except "op" and "id". Caller json_decref()s it. Two requests are the same event when
 * json_equal() holds on their contents.
 */
json_t *wire_event_content(const json_t *req);

/* Status filter of "list". */
typedef enum { LIST_OPEN = 0, LIST_RESOLVED, LIST_CLOSED, LIST_ALL } wire_list_status_t;

/*
 * Decodes an optional incident status filter: "open", "resolved", "closed" or "all" (any
 * other value is bad_request naming field); *status_out is left as it was when the field is
 * absent. Returns 0 or -1.
 */
int wire_get_status(const json_t *req, const char *field, wire_list_status_t *status_out,
		    wire_error_t *err);

/* The order of "list": newest (highest id) first, or oldest (earliest opened_at) first. */
typedef enum { LIST_NEWEST = 0, LIST_OLDEST } wire_list_sort_t;

#define WIRE_LIST_DEFAULT_LIMIT 100
#define WIRE_LIST_MAX_LIMIT 1000

/* The fields of a "list" request. Tri-state filters use -1 for "any". */
typedef struct {
	wire_list_status_t status; /* LIST_OPEN when absent */
	const char *provider;      /* NULL: any */
	int category;              /* 0: any */
	int major;                 /* -1 any, 0 false, 1 true */
	int breached;              /* -1 any, 0 false, 1 true */
	int user_first;            /* -1 any, 0 false, 1 true */
	uint64_t problem;          /* 0: any; else the PBI number */
	unsigned limit;            /* 1..1000, default 100 */
	uint64_t cursor;           /* 0: from the newest; else list ids below this one */
	wire_list_sort_t sort;     /* LIST_NEWEST when absent */
	int64_t cursor_at;         /* LIST_OLDEST with a cursor: list after (cursor_at, cursor) */
} wire_list_t;

/*
 * Decodes a "list" request. The cursor is opaque to clients; it is produced by
 * wire_cursor_format() (sort newest) or wire_cursor_format_opened() (sort oldest), and a
 * malformed one, or one of the other sort, is bad_request "cursor: ...". Returns 0 or -1.
 */
int wire_list_decode(const json_t *req, wire_list_t *list, wire_error_t *err);

/*
 * Decodes the optional "limit" (an integer 1..max_limit, default default_limit) and "cursor"
 * (from wire_cursor_format(); *cursor_out 0 when absent) of a paged request. Returns 0 or -1
 * with bad_request naming the field.
 */
int wire_get_page(const json_t *req, unsigned default_limit, unsigned max_limit,
		  unsigned *limit_out, uint64_t *cursor_out, wire_error_t *err);

/* Size of a buffer that holds a formatted cursor, NUL included. */
#define WIRE_CURSOR_BUFSZ 32

/* The cursor that continues a listing after record number last_id. Returns out. */
char *wire_cursor_format(uint64_t last_id, char out[WIRE_CURSOR_BUFSZ]);

/*
 * The cursor that continues a listing in opening order after the incident number last_id
 * opened at last_at (ms), for "list" with sort oldest. Returns out.
 */
char *wire_cursor_format_opened(int64_t last_at, uint64_t last_id, char out[WIRE_CURSOR_BUFSZ]);

/* Adds "key": RFC 3339 string of ms to obj. Returns 0 or -1 (allocation). */
int wire_set_time(json_t *obj, const char *key, int64_t ms);

/* Adds "key": value to obj, or JSON null when value is NULL. Returns 0 or -1 (allocation). */
int wire_set_string(json_t *obj, const char *key, const char *value);

/* Adds "key": "INC..."/"PBI..." to obj, or JSON null when n is 0. Returns 0 or -1. */
int wire_set_id(json_t *obj, const char *key, int kind /* id_kind_t */, uint64_t n);

#endif
