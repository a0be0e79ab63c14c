#include "client/render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "client/tz.h"
#include "proto/rfc3339.h"

struct table {
	size_t ncols;
	const char *const *headers;
	char **cells; /* rows * ncols copies, row-major */
	size_t rows;
	size_t cap;   /* rows the cells array has room for */
};

table_t *table_new(size_t ncols, const char *const *headers)
{
	table_t *self = calloc(1, sizeof *self);
	if (self == NULL)
		return NULL;
	self->ncols = ncols;
	self->headers = headers;
	return self;
}

void table_destroy(table_t **self_p)
{
	if (self_p == NULL || *self_p == NULL)
		return;
	table_t *self = *self_p;
	for (size_t i = 0; i < self->rows * self->ncols; i++)
		free(self->cells[i]);
	free(self->cells);
	free(self);
	*self_p = NULL;
}

int table_add(table_t *self, const char *const *cells)
{
	if (self->rows == self->cap) {
		size_t cap = self->cap ? self->cap * 2 : 16;
		char **grown = realloc(self->cells, cap * self->ncols * sizeof *grown);
		if (grown == NULL)
			return -ENOMEM;
		self->cells = grown;
		self->cap = cap;
	}
	char **row = self->cells + self->rows * self->ncols;
	for (size_t c = 0; c < self->ncols; c++) {
		row[c] = cells[c] != NULL ? strdup(cells[c]) : NULL;
		if (cells[c] != NULL && row[c] == NULL) {
			while (c-- > 0)
				free(row[c]);
			return -ENOMEM;
		}
	}
	self->rows++;
	return 0;
}

int table_add_object(table_t *self, const json_t *obj, const char *const *fields)
{
	char(*bufs)[RENDER_BUFSZ] = malloc(self->ncols * sizeof *bufs);
	const char **cells = malloc(self->ncols * sizeof *cells);
	int rc = -ENOMEM;
	if (bufs != NULL && cells != NULL) {
		for (size_t c = 0; c < self->ncols; c++)
			cells[c] = render_value(obj, fields[c], bufs[c]);
		rc = table_add(self, cells);
	}
	free(bufs);
	free(cells);
	return rc;
}

size_t table_rows(const table_t *self)
{
	return self->rows;
}

/* A missing cell: "-" in a table, an empty field in CSV. */
#define MISSING "-"

/* Display width of UTF-8 text: one column per character, continuation bytes not counted. */
static size_t s_width(const char *text)
{
	if (text == NULL)
		text = MISSING;
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
		if ((*p & 0xC0) != 0x80)
			w++;
	return w;
}

/* Prints one row of a table; the last column is not padded so no line ends in spaces. */
static void s_print_row(FILE *out, size_t ncols, const char *const *cells, const size_t *widths)
{
	for (size_t c = 0; c < ncols; c++) {
		fputs(cells[c] != NULL ? cells[c] : MISSING, out);
		if (c + 1 < ncols)
			fprintf(out, "%*s", (int)(widths[c] - s_width(cells[c]) + 2), "");
	}
	fputc('\n', out);
}

/* Prints one CSV field, quoted when it holds a comma, quote or line break. */
static void s_print_csv_field(FILE *out, const char *text)
{
	if (text == NULL)
		return;
	if (strpbrk(text, ",\"\r\n") == NULL) {
		fputs(text, out);
		return;
	}
	fputc('"', out);
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

static void s_print_csv(const table_t *self, FILE *out)
{
	for (size_t r = 0; r <= self->rows; r++) {
		const char *const *cells = r == 0 ? self->headers
						  : (const char *const *)self->cells + (r - 1) * self->ncols;
		for (size_t c = 0; c < self->ncols; c++) {
			if (c > 0)
				fputc(',', out);
			s_print_csv_field(out, cells[c]);
		}
		fputc('\n', out);
	}
}

void table_print(const table_t *self, FILE *out, int csv)
{
	if (csv) {
		s_print_csv(self, out);
		return;
	}
	size_t *widths = calloc(self->ncols, sizeof *widths);
	if (widths == NULL)
		return;
	for (size_t c = 0; c < self->ncols; c++)
		widths[c] = s_width(self->headers[c]);
	for (size_t i = 0; i < self->rows * self->ncols; i++) {
		size_t w = s_width(self->cells[i]);
		if (w > widths[i % self->ncols])
			widths[i % self->ncols] = w;
	}
	s_print_row(out, self->ncols, self->headers, widths);
	for (size_t r = 0; r < self->rows; r++)
		s_print_row(out, self->ncols, (const char *const *)self->cells + r * self->ncols,
			    widths);
	free(widths);
}

void render_pairs(FILE *out, size_t n, const char *const *keys, const char *const *values)
{
	size_t width = 0;
	for (size_t i = 0; i < n; i++)
		if (s_width(keys[i]) > width)
			width = s_width(keys[i]);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%*s%s\n", keys[i], (int)(width - s_width(keys[i]) + 2), "",
			values[i] != NULL ? values[i] : "-");
}

char *render_duration(int64_t ms, int plus, char buf[RENDER_BUFSZ])
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
	const char *sign = ms < 0 ? "-" : (plus && ms > 0 ? "+" : "");
	uint64_t left = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	if (left == 0)
		return strcpy(buf, "0s");
	if (left < 1000) {
		snprintf(buf, RENDER_BUFSZ, "%s%" PRIu64 "ms", sign, left);
		return buf;
	}
	/* The largest unit that fits, then the next one down unless it is zero. */
	size_t i = 0;
	while (left < units[i].ms)
		i++;
	uint64_t big = left / units[i].ms;
	uint64_t small = i + 1 < 4 ? left % units[i].ms / units[i + 1].ms : 0;
	if (small > 0)
		snprintf(buf, RENDER_BUFSZ, "%s%" PRIu64 "%s%" PRIu64 "%s", sign, big, units[i].unit,
			 small, units[i + 1].unit);
	else
		snprintf(buf, RENDER_BUFSZ, "%s%" PRIu64 "%s", sign, big, units[i].unit);
	return buf;
}

/* True when a member name marks a duration in milliseconds ("late_by_ms"). */
static int s_is_duration(const char *key)
{
	size_t len = strlen(key);
	return len > 3 && strcmp(key + len - 3, "_ms") == 0;
}

/* True when a member name marks a time: "at", "due" and every "..._at" ("opened_at"). */
static int s_is_time(const char *key)
{
	size_t len = strlen(key);
	return strcmp(key, "at") == 0 || strcmp(key, "due") == 0 ||
	       (len > 3 && strcmp(key + len - 3, "_at") == 0);
}

/* A time the daemon sent (UTC) in the zone of human output; the text as is when unreadable. */
static const char *s_time(const char *text, char buf[RENDER_BUFSZ])
{
	int64_t ms;
	char local[TZ_BUFSZ];
	if (rfc3339_parse(text, &ms) != 0)
		return text;
	snprintf(buf, RENDER_BUFSZ, "%s", tz_format(ms, local));
	return buf;
}

const char *render_value(const json_t *obj, const char *key, char buf[RENDER_BUFSZ])
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	switch (v == NULL ? JSON_NULL : json_typeof(v)) {
	case JSON_STRING:
		if (s_is_time(key))
			return s_time(json_string_value(v), buf);
		return json_string_value(v);
	case JSON_INTEGER:
		if (s_is_duration(key))
			return render_duration(json_integer_value(v), 0, buf);
		snprintf(buf, RENDER_BUFSZ, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, RENDER_BUFSZ, "%.1f", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "yes";
	case JSON_FALSE:
		return "no";
	case JSON_NULL:
		return "-";
	default: {
		char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
		const char *shown = text != NULL ? text : "?";
		if (strlen(shown) < RENDER_BUFSZ)
			strcpy(buf, shown);
		else
			render_truncate(shown, (RENDER_BUFSZ - 4) / 4, buf);
		free(text);
		return buf;
	}
	}
}

const char *render_truncate(const char *text, size_t max, char *buf)
{
	if (s_width(text) <= max)
		return text;
	size_t chars = 0;
	const char *p = text;
	/* Keep max - 3 whole characters so that the "..." keeps the width at max. */
	while (*p != '\0' && chars < (max > 3 ? max - 3 : 0)) {
		p++;
		while ((*(const unsigned char *)p & 0xC0) == 0x80)
			p++;
		chars++;
	}
	size_t len = (size_t)(p - text);
	memcpy(buf, text, len);
	memcpy(buf + len, "...", 4);
	return buf;
}

void render_json_line(const char *raw, const json_t *parsed)
{
	if (raw != NULL && strchr(raw, '\n') == NULL) {
		puts(raw);
	} else {
		char *text = json_dumps(parsed, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
		puts(text != NULL ? text : "null");
		free(text);
	}
	fflush(stdout);
}

void render_objects(size_t ncols, const char *const *headers, const char *const *fields,
		    const json_t *list, const char *empty)
{
	table_t *table = json_array_size(list) > 0 ? table_new(ncols, headers) : NULL;
	if (table == NULL) {
		if (empty != NULL)
			puts(empty);
		return;
	}
	size_t i;
	const json_t *obj;
	json_array_foreach(list, i, obj)
		table_add_object(table, obj, fields);
	table_print(table, stdout, 0);
	table_destroy(&table);
}

void render_next_page(const json_t *reply)
{
	const char *next = json_string_value(json_object_get(reply, "next"));
	if (next != NULL)
		printf("next page: --cursor %s\n", next);
}
