/*
 * wire_scan: a strict, allocation-free scanner for the common "event" request.
 *
 * The rule that matters: whenever the scanner accepts a frame, jansson (json_loadb with
 * JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, then wire_event_decode()) accepts it too and
 * yields the same values. Declining costs only the time of the general path, so the scanner
 * declines whatever would need more than a few lines to mirror jansson exactly: unknown or
 * escaped keys, ids that are reals, objects, arrays or escaped strings, and every error.
 *
 * Decoded strings go to the caller's buffer. A JSON string of r bytes between its quotes
 * decodes to at most r bytes (an escape never grows: \n 2 -> 1, \uXXXX 6 -> at most 3, a
 * surrogate pair 12 -> 4), so with its NUL it fits in the r + 2 bytes of its source text; and
 * since each member is decoded at most once (duplicates are declined), the strings of one
 * frame never need more than len bytes.
 */
#include "proto/wire_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "proto/rfc3339.h"

/* The members the scanner knows; any other key makes it decline. */
typedef enum {
	KEY_OP,
	KEY_ID,
	KEY_PROVIDER,
	KEY_EVENT_ID,
	KEY_REF,
	KEY_STAGE,
	KEY_AT,
	KEY_CATEGORY,
	KEY_TITLE,
	KEY_SERVICE,
	KEY_DESCRIPTION,
	KEY_MAJOR,
	KEY_SOURCE,
	KEY_COUNT
} s_key_t;

static const char *const s_key_names[KEY_COUNT] = {
	[KEY_OP] = "op",
	[KEY_ID] = "id",
	[KEY_PROVIDER] = "provider",
	[KEY_EVENT_ID] = "event_id",
	[KEY_REF] = "ref",
	[KEY_STAGE] = "stage",
	[KEY_AT] = "at",
	[KEY_CATEGORY] = "category",
	[KEY_TITLE] = "title",
	[KEY_SERVICE] = "service",
	[KEY_DESCRIPTION] = "description",
	[KEY_MAJOR] = "major",
	[KEY_SOURCE] = "source",
};

/* The members without which the request is not an event that wire_event_decode() accepts. */
#define REQUIRED_KEYS                                                                          \
	((1u << KEY_OP) | (1u << KEY_PROVIDER) | (1u << KEY_EVENT_ID) | (1u << KEY_REF)         \
	 | (1u << KEY_STAGE))

/* In the order of wire_source_t, as wire.c spells them. */
static const char *const s_source_names[] = { "provider", "monitoring", "user", "operator" };
#define SOURCE_COUNT (sizeof s_source_names / sizeof s_source_names[0])

/* The scanner's state: the unread rest of the frame, the free rest of the strings buffer. */
typedef struct {
	const unsigned char *p;   /* next byte to read */
	const unsigned char *end; /* one past the frame's last byte */
	char *out;                /* next free byte of the strings buffer */
	unsigned seen;            /* one bit per s_key_t already met */
	wire_event_t *ev;
	const char *id; /* the raw text of "id", NULL when there is none */
	size_t id_len;
} s_scan_t;

/* Skips JSON whitespace: space, tab, newline, carriage return (nothing else, like jansson). */
static void
s_skip_ws(s_scan_t *sc)
{
	while (sc->p < sc->end
	       && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

/* Consumes the byte c after optional whitespace; false when anything else comes next. */
static bool
s_eat(s_scan_t *sc, unsigned char c)
{
	s_skip_ws(sc);
	if (sc->p == sc->end || *sc->p != c)
		return false;
	sc->p++;
	return true;
}

/*
 * Consumes the bare word (true, false, null) when it comes next. What follows is checked by
 * the object's grammar, so "truex" is declined there.
 */
static bool
s_word(s_scan_t *sc, const char *word)
{
	size_t n = strlen(word);
	if ((size_t) (sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
		return false;
	sc->p += n;
	return true;
}

/* Writes code point cp (U+0001..U+10FFFF, not a surrogate) as UTF-8 to the strings buffer. */
static void
s_put_utf8(s_scan_t *sc, uint32_t cp)
{
	char *o = sc->out;
	if (cp < 0x80) {
		*o++ = (char) cp;
	} else if (cp < 0x800) {
		*o++ = (char) (0xC0 | (cp >> 6));
		*o++ = (char) (0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char) (0xE0 | (cp >> 12));
		*o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char) (0x80 | (cp & 0x3F));
	} else {
		*o++ = (char) (0xF0 | (cp >> 18));
		*o++ = (char) (0x80 | ((cp >> 12) & 0x3F));
		*o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char) (0x80 | (cp & 0x3F));
	}
	sc->out = o;
}

/* Reads exactly four hex digits (either case) into *out. */
static bool
s_hex4(s_scan_t *sc, uint32_t *out)
{
	if (sc->end - sc->p < 4)
		return false;
	uint32_t value = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = sc->p[i];
		if (c >= '0' && c <= '9')
			value = value << 4 | (uint32_t) (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			value = value << 4 | (uint32_t) ((c | 0x20) - 'a' + 10);
		else
			return false;
	}
	sc->p += 4;
	*out = value;
	return true;
}

/*
 * The rest of a \uXXXX escape, sc->p just past the 'u'. A high surrogate must be followed at
 * once by an escaped low one, and the pair is joined; a lone surrogate is refused, as jansson
 * does, and so is \u0000, which jansson refuses without JSON_ALLOW_NUL.
 */
static bool
s_unicode_escape(s_scan_t *sc)
{
	uint32_t cp, low;
	if (!s_hex4(sc, &cp) || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
		return false;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (sc->end - sc->p < 2 || sc->p[0] != '\\' || sc->p[1] != 'u')
			return false;
		sc->p += 2;
		if (!s_hex4(sc, &low) || low < 0xDC00 || low > 0xDFFF)
			return false;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
	}
	s_put_utf8(sc, cp);
	return true;
}

/* Decodes one escape sequence, sc->p at its backslash, into the strings buffer. */
static bool
s_escape(s_scan_t *sc)
{
	if (sc->end - sc->p < 2)
		return false;
	unsigned char c = sc->p[1];
	sc->p += 2;
	switch (c) {
	case '"':
	case '\\':
	case '/': *sc->out++ = (char) c; return true;
	case 'b': *sc->out++ = '\b'; return true;
	case 'f': *sc->out++ = '\f'; return true;
	case 'n': *sc->out++ = '\n'; return true;
	case 'r': *sc->out++ = '\r'; return true;
	case 't': *sc->out++ = '\t'; return true;
	case 'u': return s_unicode_escape(sc);
	default: return false;
	}
}

/* Copies one raw byte of a string, checking it as jansson's lexer does. */
static bool
s_raw_char(s_scan_t *sc)
{
	unsigned char c = *sc->p;
	size_t n = c < 0x80 ? (c >= 0x20) : wire_utf8_len(sc->p, sc->end);
	if (n == 0)
		return false;
	memcpy(sc->out, sc->p, n);
	sc->out += n;
	sc->p += n;
	return true;
}

/*
 * Decodes the JSON string that comes next (after optional whitespace) into the strings
 * buffer, NUL-terminated; *text is the copy, *len its length in bytes without the NUL.
 */
static bool
s_string(s_scan_t *sc, const char **text, size_t *len)
{
	if (!s_eat(sc, '"'))
		return false;
	char *start = sc->out;
	while (sc->p < sc->end && *sc->p != '"') {
		bool ok = *sc->p == '\\' ? s_escape(sc) : s_raw_char(sc);
		if (!ok)
			return false;
	}
	if (sc->p == sc->end)
		return false;
	sc->p++;
	*len = (size_t) (sc->out - start);
	*sc->out++ = '\0';
	*text = start;
	return true;
}

/* Consumes a JSON null when it comes next (after optional whitespace). */
static bool
s_null(s_scan_t *sc)
{
	s_skip_ws(sc);
	return s_word(sc, "null");
}

/*
 * A text member, as wire_get_string() checks it: a string of 1..max bytes after unescaping.
 * JSON null means absent, which only an optional member may be.
 */
static bool
s_text(s_scan_t *sc, const char **slot, size_t max, bool required)
{
	if (s_null(sc))
		return !required;
	size_t len;
	return s_string(sc, slot, &len) && len >= 1 && len <= max;
}

/* "op": the string "event", however it is escaped. */
static bool
s_op(s_scan_t *sc)
{
	const char *text;
	size_t len;
	return s_string(sc, &text, &len) && strcmp(text, "event") == 0;
}

/* "at": a time that rfc3339_parse() accepts, or null. */
static bool
s_at(s_scan_t *sc)
{
	if (s_null(sc))
		return true;
	const char *text;
	size_t len;
	if (!s_string(sc, &text, &len) || rfc3339_parse(text, &sc->ev->at_ms) != 0)
		return false;
	sc->ev->has_at = true;
	return true;
}

/* "category": one digit 1..5, or null; what follows a digit is checked by the object. */
static bool
s_category(s_scan_t *sc)
{
	if (s_null(sc))
		return true;
	if (sc->p == sc->end || *sc->p < '1' || *sc->p > '5')
		return false;
	sc->ev->category = *sc->p++ - '0';
	return true;
}

/* "major": true, false or null. */
static bool
s_major(s_scan_t *sc)
{
	if (s_null(sc))
		return true;
	if (s_word(sc, "true"))
		sc->ev->major = true;
	else if (!s_word(sc, "false"))
		return false;
	sc->ev->has_major = true;
	return true;
}

/* "source": one of the source names, or null. */
static bool
s_source(s_scan_t *sc)
{
	if (s_null(sc))
		return true;
	const char *text;
	size_t len;
	if (!s_string(sc, &text, &len))
		return false;
	for (size_t i = 0; i < SOURCE_COUNT; i++) {
		if (strcmp(text, s_source_names[i]) == 0) {
			sc->ev->source = (wire_source_t) i;
			return true;
		}
	}
	return false;
}

/*
 * An id string: no escape, no control byte (DEL included), valid UTF-8. jansson's compact
 * dump escapes only '"', '\\' and bytes below 0x20, so such a string prints back unchanged.
 */
static bool
s_id_string(s_scan_t *sc)
{
	const unsigned char *start = sc->p++;
	while (sc->p < sc->end && *sc->p != '"') {
		unsigned char c = *sc->p;
		size_t n = 1;
		if (c >= 0x80)
			n = wire_utf8_len(sc->p, sc->end);
		else if (c < 0x20 || c == 0x7F || c == '\\')
			n = 0;
		if (n == 0)
			return false;
		sc->p += n;
	}
	if (sc->p == sc->end)
		return false;
	sc->p++;
	sc->id = (const char *) start;
	sc->id_len = (size_t) (sc->p - start);
	return true;
}

/*
 * An id integer in canonical form -?(0|[1-9][0-9]*) that fits in int64 (jansson's json_int_t),
 * so that it prints back unchanged; "-0" would print as "0". A '.', 'e' or digit after it is
 * left for the object to decline.
 */
static bool
s_id_int(s_scan_t *sc)
{
	const unsigned char *start = sc->p;
	bool negative = *sc->p == '-';
	sc->p += negative;
	const unsigned char *digits = sc->p;
	while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
		sc->p++;
	size_t n = (size_t) (sc->p - digits);
	if (n == 0 || (digits[0] == '0' && (n > 1 || negative)) || n > 19)
		return false;
	const char *limit = negative ? "9223372036854775808" : "9223372036854775807";
	if (n == 19 && memcmp(digits, limit, 19) > 0)
		return false;
	sc->id = (const char *) start;
	sc->id_len = (size_t) (sc->p - start);
	return true;
}

/* "id": a plain string, a canonical integer, true, false or null; its raw text is kept. */
static bool
s_id(s_scan_t *sc)
{
	s_skip_ws(sc);
	if (sc->p == sc->end)
		return false;
	const unsigned char *start = sc->p;
	if (*start == '"')
		return s_id_string(sc);
	if (*start == '-' || (*start >= '0' && *start <= '9'))
		return s_id_int(sc);
	if (!s_word(sc, "true") && !s_word(sc, "false") && !s_word(sc, "null"))
		return false;
	sc->id = (const char *) start;
	sc->id_len = (size_t) (sc->p - start);
	return true;
}

/* The value of member key, which comes next. */
static bool
s_value(s_scan_t *sc, s_key_t key)
{
	wire_event_t *ev = sc->ev;
	switch (key) {
	case KEY_OP: return s_op(sc);
	case KEY_ID: return s_id(sc);
	case KEY_PROVIDER: return s_text(sc, &ev->provider, WIRE_PROVIDER_MAX, true);
	case KEY_EVENT_ID: return s_text(sc, &ev->event_id, WIRE_EVENT_ID_MAX, true);
	case KEY_REF: return s_text(sc, &ev->ref, WIRE_REF_MAX, true);
	case KEY_STAGE: return s_text(sc, &ev->stage, WIRE_STAGE_MAX, true);
	case KEY_AT: return s_at(sc);
	case KEY_CATEGORY: return s_category(sc);
	case KEY_TITLE: return s_text(sc, &ev->title, WIRE_TITLE_MAX, false);
	case KEY_SERVICE: return s_text(sc, &ev->service, WIRE_SERVICE_MAX, false);
	case KEY_DESCRIPTION: return s_text(sc, &ev->description, WIRE_DESCRIPTION_MAX, false);
	case KEY_MAJOR: return s_major(sc);
	case KEY_SOURCE: return s_source(sc);
	default: return false;
	}
}

/* A key that comes next: the s_key_t of a known name without any escape, or -1. */
static int
s_key(s_scan_t *sc)
{
	if (!s_eat(sc, '"'))
		return -1;
	const unsigned char *start = sc->p;
	while (sc->p < sc->end && *sc->p != '"' && *sc->p != '\\')
		sc->p++;
	if (sc->p == sc->end || *sc->p != '"')
		return -1;
	size_t n = (size_t) (sc->p - start);
	sc->p++;
	for (int key = 0; key < KEY_COUNT; key++)
		if (strlen(s_key_names[key]) == n && memcmp(start, s_key_names[key], n) == 0)
			return key;
	return -1;
}

/* One member "key": value; a key met before is declined (JSON_REJECT_DUPLICATES). */
static bool
s_member(s_scan_t *sc)
{
	int key = s_key(sc);
	if (key < 0 || (sc->seen & (1u << key)) != 0 || !s_eat(sc, ':'))
		return false;
	sc->seen |= 1u << key;
	s_skip_ws(sc);
	return s_value(sc, (s_key_t) key);
}

/* The top-level object: '{' member (',' member)* '}', no trailing comma. */
static bool
s_object(s_scan_t *sc)
{
	if (!s_eat(sc, '{'))
		return false;
	do {
		if (!s_member(sc))
			return false;
	} while (s_eat(sc, ','));
	return s_eat(sc, '}');
}

/** Scans one "event" request frame; 1 when accepted, 0 to send it down the general path. */
int
wire_event_scan(const char *buf, size_t len, char *strings, wire_event_t *ev,
		const char **id, size_t *id_len)
{
	*id = NULL;
	*id_len = 0;
	memset(ev, 0, sizeof *ev);
	ev->source = SOURCE_PROVIDER;
	if (buf == NULL || strings == NULL)
		return 0;
	s_scan_t sc = { .p = (const unsigned char *) buf, .end = (const unsigned char *) buf + len,
			.out = strings, .ev = ev };
	if (!s_object(&sc) || (sc.seen & REQUIRED_KEYS) != REQUIRED_KEYS)
		return 0;
	s_skip_ws(&sc);
	if (sc.p != sc.end)
		return 0;
	*id = sc.id;
	*id_len = sc.id_len;
	return 1;
}
