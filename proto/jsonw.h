/*
 * jsonw: a small JSON text writer for the hot paths (event replies, incident records), where
 * building a json_t only to serialise it costs more than the rest of the work.
 *
 * The writer appends to a growable buffer; the caller writes the punctuation itself, so the
 * output is exactly what the code says. Strings are escaped as jansson's json_dumps() escapes
 * them without flags (", \, control characters; UTF-8 passed through), so a text written here
 * reads back with json_loads() into the value the caller meant. An allocation failure is
 * remembered and reported once by jsonw_finish(). Pure code, no I/O.
 */
#ifndef INCIDENTD_PROTO_JSONW_H
#define INCIDENTD_PROTO_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

typedef struct {
	char *buf;    /* malloc'd; NULL until the first append */
	size_t len;
	size_t cap;
	bool failed;  /* an allocation failed: everything after it was dropped (cap is 0) */
} jsonw_t;

void jsonw_init(jsonw_t *w);

/* jsonw_raw() when the buffer must grow (or the writer failed). */
void jsonw_raw_grow(jsonw_t *w, const char *s, size_t n);

/* Appends n bytes as they are. */
static inline void jsonw_raw(jsonw_t *w, const char *s, size_t n)
{
	/* Inline: records and replies are many short appends. A failed writer has cap 0. */
	if (w->len + n + 1 <= w->cap) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
		return;
	}
	jsonw_raw_grow(w, s, n);
}

/*
 * Appends a NUL-terminated text as it is (punctuation, keys known to need no escape). Inline,
 * so that the length of a literal is known when compiling.
 */
static inline void jsonw_lit(jsonw_t *w, const char *s)
{
	jsonw_raw(w, s, strlen(s));
}

/* Appends s as a quoted, escaped JSON string; NULL is written as null. */
void jsonw_str(jsonw_t *w, const char *s);

/* Appends a decimal integer. */
void jsonw_i64(jsonw_t *w, int64_t v);

/* Appends "true" or "false". */
void jsonw_bool(jsonw_t *w, bool v);

/* Appends json_dumps(value, flags) (JSON_ENCODE_ANY added): for what jansson must format. */
void jsonw_dumped(jsonw_t *w, const json_t *value, size_t flags);

/* Appends value as json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) prints it. */
void jsonw_json(jsonw_t *w, const json_t *value);

/* value's whole text, as jsonw_json() writes it (malloc'd, its length in *len_out); NULL on failure. */
char *jsonw_dumps(const json_t *value, size_t *len_out);

/*
 * Ends the text with a NUL and hands over the buffer (the caller frees it), its length
 * without the NUL in *len_out. Returns NULL (and frees) when an allocation failed.
 */
char *jsonw_finish(jsonw_t *w, size_t *len_out);

/* Frees the buffer of a writer that is abandoned. */
void jsonw_discard(jsonw_t *w);

#endif
