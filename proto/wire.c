/*
 * wire: the JSON codec shared by daemon and client.
 *
 * Every value that comes from a peer is checked for presence, type and range here, once, so
 * that the rest of the daemon works on validated C values. Error messages always start with
 * the name of the field at fault, because that is what a user needs to fix the request.
 */
#include "proto/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ids.h"
#include "proto/rfc3339.h"

/* How much of a refused value an error message echoes back. */
#define ECHO_MAX 40

static const char *const s_code_names[] = {
	[WIRE_BAD_JSON] = "bad_json",
	[WIRE_BAD_REQUEST] = "bad_request",
	[WIRE_UNKNOWN_OP] = "unknown_op",
	[WIRE_NOT_FOUND] = "not_found",
	[WIRE_CONFLICT] = "conflict",
	[WIRE_INVALID_TRANSITION] = "invalid_transition",
	[WIRE_FORBIDDEN] = "forbidden",
	[WIRE_TOO_LARGE] = "too_large",
	[WIRE_UNAVAILABLE] = "unavailable",
	[WIRE_INTERNAL] = "internal",
};
#define CODE_COUNT (sizeof s_code_names / sizeof s_code_names[0])

static const char *const s_source_names[] = { "provider", "monitoring", "user", "operator" };
static const char *const s_status_names[] = { "open", "resolved", "closed", "all" };
#define NAME_COUNT(names) (sizeof(names) / sizeof(names)[0])

/** The wire word of an error code, or NULL for WIRE_OK and unknown values. */
const char *
wire_code_name(wire_code_t code)
{
	if ((unsigned) code >= CODE_COUNT)
		return NULL;
	return s_code_names[code];
}

/** The error code of a wire word, or WIRE_OK when the word is not one. */
wire_code_t
wire_code_from_name(const char *name)
{
	for (unsigned i = 1; name != NULL && i < CODE_COUNT; i++)
		if (strcmp(name, s_code_names[i]) == 0)
			return (wire_code_t) i;
	return WIRE_OK;
}

/*
 * Shortens s to len bytes, then drops a UTF-8 sequence cut in half by that, so that the text
 * stays valid UTF-8: jansson refuses to build a JSON string from anything else.
 */
static void
s_utf8_cut(char *s, size_t len)
{
	size_t start = len;
	while (start > 0 && ((unsigned char) s[start - 1] & 0xC0) == 0x80)
		start--;
	if (start > 0 && ((unsigned char) s[start - 1] & 0x80) != 0) {
		unsigned char lead = (unsigned char) s[start - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (len - (start - 1) < need)
			len = start - 1;
	}
	s[len] = '\0';
}

/**
 * The length (2..4) of the valid UTF-8 sequence starting at p, a byte >= 0x80, or 0 when it is
 * not one by jansson's rules: no stray continuation byte, no overlong form, no surrogate
 * U+D800..DFFF, nothing above U+10FFFF, no sequence cut by the end of the frame.
 */
size_t
wire_utf8_len(const unsigned char *p, const unsigned char *end)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned char lead = p[0];
	size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
	if (lead < 0xC2 || lead > 0xF4 || (size_t) (end - p) < n)
		return 0;
	uint32_t cp = lead & (0x7Fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3Fu);
	}
	if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/** Sets *err to code and a printf-style message, truncated to fit. Returns -1. */
int
wire_error_set(wire_error_t *err, wire_code_t code, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	if (n < 0)
		err->message[0] = '\0';
	else if ((size_t) n >= sizeof err->message)
		s_utf8_cut(err->message, sizeof err->message - 1);
	return -1;
}

/* Copies up to ECHO_MAX bytes of a refused value into out, marking a cut with "...". */
static const char *
s_echo(const char *value, char out[ECHO_MAX + 4])
{
	size_t len = strlen(value);
	if (len <= ECHO_MAX)
		return value;
	memcpy(out, value, ECHO_MAX);
	s_utf8_cut(out, ECHO_MAX);
	strcat(out, "...");
	return out;
}

/**
 * Decodes one request frame into a new object with a string "op". Duplicate keys are refused
 * as bad JSON: two values for one field would make the request mean different things to
 * different readers.
 */
int
wire_request_decode(const char *buf, size_t len, json_t **req_out, const char **op_out,
		    json_t **id_out, wire_error_t *err)
{
	*req_out = NULL;
	if (id_out != NULL)
		*id_out = NULL;
	json_error_t jerr;
	json_t *req = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL)
		return wire_error_set(err, WIRE_BAD_JSON, "bad JSON at line %d column %d: %s",
				      jerr.line, jerr.column, jerr.text);
	if (!json_is_object(req)) {
		json_decref(req);
		return wire_error_set(err, WIRE_BAD_REQUEST, "request: must be a JSON object");
	}
	json_t *op = json_object_get(req, "op");
	if (json_is_string(op)) {
		*req_out = req;
		*op_out = json_string_value(op);
		return 0;
	}
	wire_error_set(err, WIRE_BAD_REQUEST, op == NULL ? "op: missing" : "op: must be a string");
	/* The object did parse, so the error reply can still echo the request's "id". */
	if (id_out != NULL)
		*id_out = json_incref(json_object_get(req, "id"));
	json_decref(req);
	return -1;
}

/*
 * Serialises reply in one pass (json_dumps). The buffer comes from jansson's allocator, which
 * is malloc: nothing in incidentd calls json_set_alloc_funcs(), so callers free() it.
 * Consumes the reference to reply.
 */
static char *
s_reply_dump(json_t *reply, size_t *len_out)
{
	char *text = reply != NULL ? json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	if (text != NULL && len_out != NULL)
		*len_out = strlen(text);
	json_decref(reply);
	return text;
}

/* A new reply object holding "ok" and, when the request had one, a copy of its "id". */
static json_t *
s_reply_new(bool ok, const json_t *id)
{
	json_t *reply = json_object();
	if (reply == NULL || json_object_set_new(reply, "ok", json_boolean(ok)) != 0
	    || (id != NULL && json_object_set_new(reply, "id", json_deep_copy(id)) != 0)) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/**
 * Builds {"ok": true, "id": id, ...fields}, stealing fields. Members "ok" and "id" of fields
 * are ignored: the reply's own would otherwise be overwritten.
 */
char *
wire_reply_ok(json_t *fields, const json_t *id, size_t *len_out)
{
	json_t *reply = s_reply_new(true, id);
	const char *key;
	json_t *value;
	if (reply != NULL && fields != NULL) {
		json_object_foreach(fields, key, value) {
			if (strcmp(key, "ok") == 0 || strcmp(key, "id") == 0)
				continue;
			if (json_object_set(reply, key, value) != 0) {
				json_decref(reply);
				reply = NULL;
				break;
			}
		}
	}
	json_decref(fields);
	return s_reply_dump(reply, len_out);
}

/** Builds {"ok": false, "id": id, "error": {"code": CODE, "message": TEXT}}. */
char *
wire_reply_error(const wire_error_t *err, const json_t *id, size_t *len_out)
{
	const char *code = wire_code_name(err->code);
	json_t *message = json_string(err->message);
	/* A message that is not valid UTF-8 still gets a reply, with the code as its text. */
	if (message == NULL)
		message = json_string(code != NULL ? code : "internal");
	json_t *reply = s_reply_new(false, id);
	json_t *error = json_pack("{s:s, s:o}", "code", code != NULL ? code : "internal",
				  "message", message);
	if (reply == NULL || error == NULL || json_object_set_new(reply, "error", error) != 0) {
		json_decref(reply);
		reply = NULL;
	}
	return s_reply_dump(reply, len_out);
}

/*
 * Looks field up in obj. Absent and JSON null are the same: a client that writes
 * "title": null means "no title". Returns the value, or NULL after either failing with
 * "FIELD: missing" (*failed set) or reporting the field absent through present_out.
 */
static json_t *
s_lookup(const json_t *obj, const char *field, bool required, bool *present_out, bool *failed,
	 wire_error_t *err)
{
	json_t *value = json_object_get(obj, field);
	*failed = false;
	if (value != NULL && !json_is_null(value)) {
		if (present_out != NULL)
			*present_out = true;
		return value;
	}
	if (required) {
		*failed = true;
		wire_error_set(err, WIRE_BAD_REQUEST, "%s: missing", field);
	} else if (present_out != NULL) {
		*present_out = false;
	}
	return NULL;
}

/** A non-empty string of at most max_len bytes. */
int
wire_get_string(const json_t *obj, const char *field, bool required, size_t max_len,
		const char **out, bool *present_out, wire_error_t *err)
{
	bool failed;
	json_t *value = s_lookup(obj, field, required, present_out, &failed, err);
	if (value == NULL)
		return failed ? -1 : 0;
	if (!json_is_string(value))
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: must be a string", field);
	size_t len = json_string_length(value);
	const char *text = json_string_value(value);
	if (len == 0)
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: must not be empty", field);
	if (len > max_len)
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: longer than %zu bytes", field,
				      max_len);
	/* The C side sees NUL-terminated strings, so an embedded NUL would hide the rest. */
	if (strlen(text) != len)
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: must not contain NUL", field);
	*out = text;
	return 0;
}

/** A JSON integer in [min, max]; a real such as 3.0 or a string "3" is refused. */
int
wire_get_int(const json_t *obj, const char *field, bool required, int64_t min, int64_t max,
	     int64_t *out, bool *present_out, wire_error_t *err)
{
	bool failed;
	json_t *value = s_lookup(obj, field, required, present_out, &failed, err);
	if (value == NULL)
		return failed ? -1 : 0;
	json_int_t n = json_is_integer(value) ? json_integer_value(value) : 0;
	if (!json_is_integer(value) || n < min || n > max)
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: must be an integer from %lld to %lld",
				      field, (long long) min, (long long) max);
	*out = (int64_t) n;
	return 0;
}

/** A JSON true or false; 0, 1 and "true" are refused. */
int
wire_get_bool(const json_t *obj, const char *field, bool required, bool *out,
	      bool *present_out, wire_error_t *err)
{
	bool failed;
	json_t *value = s_lookup(obj, field, required, present_out, &failed, err);
	if (value == NULL)
		return failed ? -1 : 0;
	if (!json_is_boolean(value))
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: must be true or false", field);
	*out = json_is_true(value);
	return 0;
}

/** An RFC 3339 time string, as ms since the epoch; the message echoes a refused value. */
int
wire_get_time(const json_t *obj, const char *field, bool required, int64_t *ms_out,
	      bool *present_out, wire_error_t *err)
{
	bool failed;
	json_t *value = s_lookup(obj, field, required, present_out, &failed, err);
	if (value == NULL)
		return failed ? -1 : 0;
	if (!json_is_string(value))
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: must be an RFC 3339 time string",
				      field);
	char echo[ECHO_MAX + 4];
	if (rfc3339_parse(json_string_value(value), ms_out) != 0)
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: not an RFC 3339 time (%s)", field,
				      s_echo(json_string_value(value), echo));
	return 0;
}

/** An "INC..." or "PBI..." string, as its number. */
int
wire_get_id(const json_t *obj, const char *field, bool required, int kind, uint64_t *n_out,
	    bool *present_out, wire_error_t *err)
{
	bool failed;
	json_t *value = s_lookup(obj, field, required, present_out, &failed, err);
	if (value == NULL)
		return failed ? -1 : 0;
	if (!json_is_string(value) || id_parse((id_kind_t) kind, json_string_value(value), n_out) != 0)
		return wire_error_set(err, WIRE_BAD_REQUEST, "%s: %s", field,
				      kind == ID_PROBLEM ? "not a problem id (PBI + 12 digits)"
							 : "not an incident id (INC + 12 digits)");
	return 0;
}

/*
 * An optional string that must be one of names; *index_out is its position. Any other value,
 * the empty string included, gets the same message listing the choices.
 */
static int
s_get_choice(const json_t *obj, const char *field, const char *const *names, size_t count,
	     int *index_out, wire_error_t *err)
{
	json_t *value = json_object_get(obj, field);
	if (value == NULL || json_is_null(value))
		return 0;
	for (size_t i = 0; json_is_string(value) && i < count; i++) {
		if (strcmp(json_string_value(value), names[i]) == 0) {
			*index_out = (int) i;
			return 0;
		}
	}
	char choices[128] = "";
	for (size_t i = 0; i < count; i++) {
		strncat(choices, i > 0 ? ", " : "", sizeof choices - strlen(choices) - 1);
		strncat(choices, names[i], sizeof choices - strlen(choices) - 1);
	}
	return wire_error_set(err, WIRE_BAD_REQUEST, "%s: must be one of %s", field, choices);
}

/** The wire word of an event source, or NULL for an unknown value. */
const char *
wire_source_name(wire_source_t source)
{
	if ((unsigned) source >= NAME_COUNT(s_source_names))
		return NULL;
	return s_source_names[source];
}

/* The fields every event carries: who sent it, and what it says happened to which incident. */
static int
s_event_decode_required(const json_t *req, wire_event_t *ev, wire_error_t *err)
{
	if (wire_get_string(req, "provider", true, WIRE_PROVIDER_MAX, &ev->provider, NULL, err)
	    || wire_get_string(req, "event_id", true, WIRE_EVENT_ID_MAX, &ev->event_id, NULL, err)
	    || wire_get_string(req, "ref", true, WIRE_REF_MAX, &ev->ref, NULL, err)
	    || wire_get_string(req, "stage", true, WIRE_STAGE_MAX, &ev->stage, NULL, err))
		return -1;
	return 0;
}

/** Decodes the fields of an "event" request into ev; unknown members are ignored. */
int
wire_event_decode(const json_t *req, wire_event_t *ev, wire_error_t *err)
{
	memset(ev, 0, sizeof *ev);
	ev->source = SOURCE_PROVIDER;
	int64_t category = 0;
	int source = SOURCE_PROVIDER;
	if (s_event_decode_required(req, ev, err)
	    || wire_get_time(req, "at", false, &ev->at_ms, &ev->has_at, err)
	    || wire_get_int(req, "category", false, 1, 5, &category, NULL, err)
	    || wire_get_string(req, "title", false, WIRE_TITLE_MAX, &ev->title, NULL, err)
	    || wire_get_string(req, "service", false, WIRE_SERVICE_MAX, &ev->service, NULL, err)
	    || wire_get_string(req, "description", false, WIRE_DESCRIPTION_MAX, &ev->description,
			       NULL, err)
	    || wire_get_bool(req, "major", false, &ev->major, &ev->has_major, err)
	    || s_get_choice(req, "source", s_source_names, NAME_COUNT(s_source_names), &source,
			    err))
		return -1;
	ev->category = (int) category;
	ev->source = (wire_source_t) source;
	return 0;
}

/** A new object holding every member of req except "op" and "id"; NULL on failure. */
json_t *
wire_event_content(const json_t *req)
{
	if (!json_is_object(req))
		return NULL;
	json_t *content = json_deep_copy(req);
	if (content != NULL) {
		json_object_del(content, "op");
		json_object_del(content, "id");
	}
	return content;
}

/*
 * Cursors are "c" and the incident number in base 36, lower case, no leading zeros: short,
 * clearly not an incident id, and with exactly one spelling so that parsing can be strict.
 * A cursor of the opening order is "o", the opening time (its bits with the sign flipped, as
 * the store sorts it), ".", and the incident number, each the same way.
 */
static const char s_base36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* Writes n in base 36 at out (at most 13 digits, no NUL); returns the number written. */
static size_t
s_base36_put(uint64_t n, char *out)
{
	char digits[16];
	size_t len = 0;
	do {
		digits[len++] = s_base36[n % 36];
		n /= 36;
	} while (n > 0);
	for (size_t i = 0; i < len; i++)
		out[i] = digits[len - 1 - i];
	return len;
}

/*
 * Reads a base-36 number of at most max from text, up to the first byte that is not a digit
 * (*end_out then points at it): at least one digit, no leading zero (0 is "0"). Returns 0 or
 * -1.
 */
static int
s_base36_get(const char *text, uint64_t max, uint64_t *out, const char **end_out)
{
	uint64_t n = 0;
	const char *p = text;
	const char *digit;
	if (p[0] == '0' && p[1] != '\0' && strchr(s_base36, p[1]) != NULL)
		return -1;
	for (; *p != '\0' && (digit = strchr(s_base36, *p)) != NULL; p++) {
		uint64_t d = (uint64_t) (digit - s_base36);
		if (n > (max - d) / 36)
			return -1;
		n = n * 36 + d;
	}
	*out = n;
	*end_out = p;
	return p > text ? 0 : -1;
}

/** The cursor that continues a listing below incident number last_id. */
char *
wire_cursor_format(uint64_t last_id, char out[WIRE_CURSOR_BUFSZ])
{
	out[0] = 'c';
	out[1 + s_base36_put(last_id, out + 1)] = '\0';
	return out;
}

/** The cursor that continues a listing in opening order after (last_at, last_id). */
char *
wire_cursor_format_opened(int64_t last_at, uint64_t last_id, char out[WIRE_CURSOR_BUFSZ])
{
	size_t len = 0;
	out[len++] = 'o';
	len += s_base36_put((uint64_t) last_at ^ (UINT64_C(1) << 63), out + len);
	out[len++] = '.';
	len += s_base36_put(last_id, out + len);
	out[len] = '\0';
	return out;
}

/* Parses a cursor made by wire_cursor_format() into an incident number 1..ID_MAX. */
static int
s_cursor_parse(const char *text, uint64_t *out)
{
	const char *end;
	if (text[0] != 'c' || s_base36_get(text + 1, ID_MAX, out, &end) != 0 || *end != '\0')
		return -1;
	return *out != 0 ? 0 : -1;
}

/* Parses a cursor made by wire_cursor_format_opened(). */
static int
s_cursor_opened_parse(const char *text, int64_t *at_out, uint64_t *id_out)
{
	const char *end;
	uint64_t at;
	if (text[0] != 'o' || s_base36_get(text + 1, UINT64_MAX, &at, &end) != 0 || *end != '.'
	    || s_base36_get(end + 1, ID_MAX, id_out, &end) != 0 || *end != '\0' || *id_out == 0)
		return -1;
	*at_out = (int64_t) (at ^ (UINT64_C(1) << 63));
	return 0;
}

/* The filters of "list" that are plain values; the status, limit and cursor come apart. */
static int
s_list_decode_filters(const json_t *req, wire_list_t *list, wire_error_t *err)
{
	int64_t category = 0;
	bool major = false, breached = false, has_major = false, has_breached = false;
	bool user_first = false, has_user_first = false;
	if (wire_get_string(req, "provider", false, WIRE_PROVIDER_MAX, &list->provider, NULL, err)
	    || wire_get_int(req, "category", false, 1, 5, &category, NULL, err)
	    || wire_get_bool(req, "major", false, &major, &has_major, err)
	    || wire_get_bool(req, "breached", false, &breached, &has_breached, err)
	    || wire_get_bool(req, "user_first", false, &user_first, &has_user_first, err)
	    || wire_get_id(req, "problem", false, ID_PROBLEM, &list->problem, NULL, err))
		return -1;
	list->category = (int) category;
	list->major = has_major ? major : -1;
	list->breached = has_breached ? breached : -1;
	list->user_first = has_user_first ? user_first : -1;
	return 0;
}

/*
 * The "sort" of a "list" request, then its "limit" and "cursor": a cursor continues the
 * order it was made in, so one of the other order is refused as malformed.
 */
static int
s_list_decode_page(const json_t *req, wire_list_t *list, wire_error_t *err)
{
	static const char *const sorts[] = { "newest", "oldest" };
	int sort = LIST_NEWEST;
	if (s_get_choice(req, "sort", sorts, NAME_COUNT(sorts), &sort, err))
		return -1;
	list->sort = (wire_list_sort_t) sort;
	if (sort == LIST_NEWEST)
		return wire_get_page(req, WIRE_LIST_DEFAULT_LIMIT, WIRE_LIST_MAX_LIMIT, &list->limit,
				     &list->cursor, err);
	int64_t limit = WIRE_LIST_DEFAULT_LIMIT;
	if (wire_get_int(req, "limit", false, 1, WIRE_LIST_MAX_LIMIT, &limit, NULL, err))
		return -1;
	list->limit = (unsigned) limit;
	json_t *cursor = json_object_get(req, "cursor");
	if (cursor != NULL && !json_is_null(cursor)
	    && (!json_is_string(cursor)
		|| s_cursor_opened_parse(json_string_value(cursor), &list->cursor_at,
					 &list->cursor)))
		return wire_error_set(err, WIRE_BAD_REQUEST,
				      "cursor: not a cursor from a previous list sorted oldest first");
	return 0;
}

/** Decodes a "list" request into list, with the defaults of the contract. */
int
wire_list_decode(const json_t *req, wire_list_t *list, wire_error_t *err)
{
	memset(list, 0, sizeof *list);
	list->status = LIST_OPEN;
	if (wire_get_status(req, "status", &list->status, err)
	    || s_list_decode_filters(req, list, err)
	    || s_list_decode_page(req, list, err))
		return -1;
	return 0;
}

/** Decodes an optional incident status filter. */
int
wire_get_status(const json_t *req, const char *field, wire_list_status_t *status_out,
		wire_error_t *err)
{
	int status = (int) *status_out;
	if (s_get_choice(req, field, s_status_names, NAME_COUNT(s_status_names), &status, err))
		return -1;
	*status_out = (wire_list_status_t) status;
	return 0;
}

/** Decodes the optional "limit" and "cursor" of a paged request. */
int
wire_get_page(const json_t *req, unsigned default_limit, unsigned max_limit, unsigned *limit_out,
	      uint64_t *cursor_out, wire_error_t *err)
{
	int64_t limit = default_limit;
	if (wire_get_int(req, "limit", false, 1, max_limit, &limit, NULL, err))
		return -1;
	*cursor_out = 0;
	json_t *cursor = json_object_get(req, "cursor");
	if (cursor != NULL && !json_is_null(cursor)
	    && (!json_is_string(cursor) || s_cursor_parse(json_string_value(cursor), cursor_out)))
		return wire_error_set(err, WIRE_BAD_REQUEST, "cursor: not a cursor from a previous list");
	*limit_out = (unsigned) limit;
	return 0;
}

/** Adds "key": the RFC 3339 text of ms to obj. */
int
wire_set_time(json_t *obj, const char *key, int64_t ms)
{
	char text[RFC3339_BUFSZ];
	return json_object_set_new(obj, key, json_string(rfc3339_format(ms, text))) == 0 ? 0 : -1;
}

/** Adds "key": value, or null; built directly (json_pack would parse a format every time). */
int
wire_set_string(json_t *obj, const char *key, const char *value)
{
	json_t *v = value != NULL ? json_string(value) : json_null();
	return json_object_set_new_nocheck(obj, key, v) == 0 ? 0 : -1;
}

/** Adds "key": the id text of n to obj, or JSON null for 0; a number past ID_MAX fails. */
int
wire_set_id(json_t *obj, const char *key, int kind, uint64_t n)
{
	char text[ID_BUFSZ];
	if (n > ID_MAX)
		return -1;
	json_t *value = n == 0 ? json_null() : json_string(id_format((id_kind_t) kind, n, text));
	return json_object_set_new(obj, key, value) == 0 ? 0 : -1;
}
