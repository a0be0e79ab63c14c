/*
 * render: the one way incidentctl shows things: aligned tables (or CSV), key/value blocks,
 * durations and JSON values turned into short text.
 */
#ifndef INCIDENTD_CLIENT_RENDER_H
#define INCIDENTD_CLIENT_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Size of a buffer that holds any text made by render_duration() or render_value(). */
#define RENDER_BUFSZ 64

/* A table being filled row by row; it owns copies of every cell. */
typedef struct table table_t;

/*
 * Creates a table with ncols columns named by headers (borrowed; they must outlive the table,
 * string literals in practice). Returns NULL on allocation failure.
 */
table_t *table_new(size_t ncols, const char *const *headers);

/* Frees the table; accepts NULL and sets *self_p to NULL. */
void table_destroy(table_t **self_p);

/*
 * Appends a row of ncols cells (copied; a NULL cell prints as "-", or as an empty CSV field).
 * Returns 0 or -ENOMEM.
 */
int table_add(table_t *self, const char *const *cells);

/*
 * Appends a row made of obj's members named by fields (ncols of them), each shown as
 * render_value() shows it. Returns 0 or -ENOMEM.
 */
int table_add_object(table_t *self, const json_t *obj, const char *const *fields);

/* Number of rows added so far. */
size_t table_rows(const table_t *self);

/*
 * Prints the header and rows to out, columns aligned and separated by two spaces, no trailing
 * spaces. Widths count UTF-8 characters, not bytes. With csv true, prints RFC 4180 CSV
 * instead (header in lower case as given, fields quoted when needed).
 */
void table_print(const table_t *self, FILE *out, int csv);

/*
 * Prints the objects of list as an aligned table to stdout, one row each, column i holding
 * member fields[i] under headers[i]; prints the line empty instead when list has none (or
 * nothing when empty is NULL).
 */
/* Prints "next page: --cursor C" when a paged reply has a "next" cursor. */
void render_next_page(const json_t *reply);

void render_objects(size_t ncols, const char *const *headers, const char *const *fields,
		    const json_t *list, const char *empty);

/*
 * Prints "key  value" lines with the values aligned; keys and values are parallel arrays of n
 * strings (a NULL value prints as "-").
 */
void render_pairs(FILE *out, size_t n, const char *const *keys, const char *const *values);

/*
 * Formats a duration of ms milliseconds with its two largest units: "4m12s", "1h5m",
 * "2d3h", "12s", "250ms", "0s". A negative duration gets a leading '-'; with plus true a
 * positive one gets '+'. Returns buf (RENDER_BUFSZ bytes).
 */
char *render_duration(int64_t ms, int plus, char buf[RENDER_BUFSZ]);

/*
 * The text of obj[key] for a table cell: a string as is (a time, when key is "at", "due" or
 * ends in "_at", in the zone of client/tz.h as tz_format() writes it), an integer in decimal
 * (a duration as render_duration() writes it when key ends in "_ms", the contract's mark of a
 * duration), a real with one decimal, true "yes", false "no", absent or null "-"; arrays and
 * objects compact JSON (truncated). Returns a string borrowed from obj or buf (RENDER_BUFSZ
 * bytes).
 */
const char *render_value(const json_t *obj, const char *key, char buf[RENDER_BUFSZ]);

/*
 * Shortens text to at most max characters (UTF-8 aware), ending in "..." when cut.
 * Returns text itself when it fits, else buf (at least 4 * max + 4 bytes).
 */
const char *render_truncate(const char *text, size_t max, char *buf);

/* Prints a reply's JSON text on one line of stdout (compact, whatever the daemon sent). */
void render_json_line(const char *raw, const json_t *parsed);

#endif
