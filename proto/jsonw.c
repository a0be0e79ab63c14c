/*
 * jsonw: a small JSON text writer. See jsonw.h.
 */
#include "proto/jsonw.h"

#include <stdlib.h>
#include <string.h>

/* The first buffer: an event reply or an incident record fits without growing. */
#define JSONW_INITIAL 512

void
jsonw_init(jsonw_t *w)
{
	memset(w, 0, sizeof *w);
}

/* Marks the writer failed: everything after is dropped (cap 0 sends appends to the check). */
static void
s_fail(jsonw_t *w)
{
	w->failed = true;
	w->cap = 0;
}

/* Makes room for n more bytes (and a NUL); false when the writer failed. */
static bool
s_reserve(jsonw_t *w, size_t n)
{
	if (w->failed)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : JSONW_INITIAL;
	while (cap < w->len + n + 1)
		cap *= 2;
	char *buf = realloc(w->buf, cap);
	if (buf == NULL) {
		s_fail(w);
		return false;
	}
	w->buf = buf;
	w->cap = cap;
	return true;
}

void
jsonw_raw_grow(jsonw_t *w, const char *s, size_t n)
{
	if (!s_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* The escape of byte c, as jansson writes it, or NULL when c goes out as it is. */
static const char *
s_escape(unsigned char c, char buf[8])
{
	static const char hex[] = "0123456789ABCDEF";
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default:
		break;
	}
	if (c >= 0x20)
		return NULL;
	memcpy(buf, "\\u00", 4);
	buf[4] = hex[c >> 4];
	buf[5] = hex[c & 15];
	buf[6] = '\0';
	return buf;
}

/* Appends the n bytes at s as a quoted, escaped JSON string (NUL bytes included). */
static void
s_strn(jsonw_t *w, const char *s, size_t n)
{
	jsonw_raw(w, "\"", 1);
	const char *run = s;
	char buf[8];
	for (const char *p = s; p < s + n; p++) {
		const char *esc = s_escape((unsigned char) *p, buf);
		if (esc == NULL)
			continue;
		jsonw_raw(w, run, (size_t) (p - run));
		jsonw_lit(w, esc);
		run = p + 1;
	}
	jsonw_raw(w, run, (size_t) (s + n - run));
	jsonw_raw(w, "\"", 1);
}

void
jsonw_str(jsonw_t *w, const char *s)
{
	if (s == NULL)
		jsonw_raw(w, "null", 4);
	else
		s_strn(w, s, strlen(s));
}

void
jsonw_i64(jsonw_t *w, int64_t v)
{
	char digits[24];
	size_t n = 0;
	/* Negated as unsigned, so INT64_MIN works too. */
	uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
	do {
		digits[sizeof digits - 1 - n++] = (char) ('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		digits[sizeof digits - 1 - n++] = '-';
	jsonw_raw(w, digits + sizeof digits - n, n);
}

void
jsonw_bool(jsonw_t *w, bool v)
{
	if (v)
		jsonw_raw(w, "true", 4);
	else
		jsonw_raw(w, "false", 5);
}

void
jsonw_dumped(jsonw_t *w, const json_t *value, size_t flags)
{
	char *text = value != NULL ? json_dumps(value, flags | JSON_ENCODE_ANY) : NULL;
	if (text == NULL) {
		s_fail(w);
		return;
	}
	jsonw_lit(w, text);
	free(text);
}

/* The members of an object, in jansson's (insertion) order. */
static void
s_object(jsonw_t *w, const json_t *object)
{
	const char *key;
	json_t *member;
	bool first = true;
	jsonw_raw(w, "{", 1);
	json_object_foreach((json_t *) object, key, member) {
		if (!first)
			jsonw_raw(w, ",", 1);
		first = false;
		jsonw_str(w, key);
		jsonw_raw(w, ":", 1);
		jsonw_json(w, member);
	}
	jsonw_raw(w, "}", 1);
}

/*
 * Walks value and writes it as json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) would: replies carry
 * whole records, and jansson's own dump (a callback per token, snprintf for integers) was
 * half of the loop thread's time when every event revealed breaches.
 */
void
jsonw_json(jsonw_t *w, const json_t *value)
{
	size_t i;
	json_t *item;
	if (value == NULL) {
		s_fail(w); /* as json_dumps(NULL) fails */
		return;
	}
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		s_object(w, value);
		break;
	case JSON_ARRAY:
		jsonw_raw(w, "[", 1);
		json_array_foreach((json_t *) value, i, item) {
			if (i > 0)
				jsonw_raw(w, ",", 1);
			jsonw_json(w, item);
		}
		jsonw_raw(w, "]", 1);
		break;
	case JSON_STRING:
		s_strn(w, json_string_value(value), json_string_length(value));
		break;
	case JSON_INTEGER:
		jsonw_i64(w, (int64_t) json_integer_value(value));
		break;
	case JSON_REAL:
		/* Its shortest round-trip form is jansson's business. */
		jsonw_dumped(w, value, JSON_COMPACT);
		break;
	case JSON_TRUE:
		jsonw_raw(w, "true", 4);
		break;
	case JSON_FALSE:
		jsonw_raw(w, "false", 5);
		break;
	case JSON_NULL:
		jsonw_raw(w, "null", 4);
		break;
	}
}

char *
jsonw_dumps(const json_t *value, size_t *len_out)
{
	jsonw_t w;
	jsonw_init(&w);
	jsonw_json(&w, value);
	return jsonw_finish(&w, len_out);
}

char *
jsonw_finish(jsonw_t *w, size_t *len_out)
{
	if (!s_reserve(w, 0)) {
		jsonw_discard(w);
		return NULL;
	}
	w->buf[w->len] = '\0';
	char *text = w->buf;
	if (len_out != NULL)
		*len_out = w->len;
	jsonw_init(w);
	return text;
}

void
jsonw_discard(jsonw_t *w)
{
	free(w->buf);
	jsonw_init(w);
}
