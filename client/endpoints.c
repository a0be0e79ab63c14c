/*
 * endpoints: a comma-separated list of endpoints. See endpoints.h.
 */
#include "client/endpoints.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Trims white space around the item that starts at s and ends before end; returns its start. */
static char *s_trim(char *s, char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

int endpoints_parse(const char *text, endpoints_t *out, char *err, size_t errsz)
{
	size_t len = strlen(text);
	out->count = 0;
	if (len >= sizeof out->text) {
		snprintf(err, errsz, "the endpoint list is too long (%zu bytes; at most %d)", len,
			 ENDPOINTS_TEXT_MAX - 1);
		return -EINVAL;
	}
	memcpy(out->text, text, len + 1);
	if (strchr(out->text, ',') == NULL) {
		out->item[out->count++] = out->text;
		return 0;
	}
	for (char *s = out->text;;) {
		char *comma = strchr(s, ',');
		char *end = comma != NULL ? comma : s + strlen(s);
		char *item = s_trim(s, end);
		if (item[0] == '\0') {
			snprintf(err, errsz, "empty item in the endpoint list '%s'", text);
			return -EINVAL;
		}
		if (out->count == ENDPOINTS_MAX) {
			snprintf(err, errsz, "too many endpoints in the list (at most %d)",
				 ENDPOINTS_MAX);
			return -EINVAL;
		}
		out->item[out->count++] = item;
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

const char *endpoints_format(const endpoints_t *list, char *buf, size_t size)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < list->count && at < size; i++) {
		int n = snprintf(buf + at, size - at, "%s%s", i > 0 ? ", " : "", list->item[i]);
		if (n < 0)
			break;
		at += (size_t)n;
	}
	return buf;
}
