/*
 * ids: formatting and parsing of INC/PBI identifiers.
 *
 * Ids have exactly one spelling (upper-case prefix, 12 zero-padded digits) so that a stored
 * id, a published id and an id typed by a user compare equal as strings.
 */
#include "proto/ids.h"

#include <errno.h>
#include <string.h>

#define ID_PREFIX_LEN 3
#define ID_DIGITS 12

static const char *
s_prefix(id_kind_t kind)
{
	static const char *const prefixes[] = { [ID_INCIDENT] = "INC", [ID_PROBLEM] = "PBI",
						[ID_BREACH] = "BRE" };
	return prefixes[kind];
}

/** Formats id number n of the given kind ("INC000000000042") into out. */
char *
id_format(id_kind_t kind, uint64_t n, char out[ID_BUFSZ])
{
	/* A number beyond ID_MAX is a caller bug; cap it rather than write a 13th digit. */
	if (n > ID_MAX)
		n = ID_MAX;
	/* By hand, not snprintf: every event reply formats one, on the loop thread. */
	memcpy(out, s_prefix(kind), ID_PREFIX_LEN);
	for (int i = ID_PREFIX_LEN + ID_DIGITS - 1; i >= ID_PREFIX_LEN; i--, n /= 10)
		out[i] = (char) ('0' + n % 10);
	out[ID_PREFIX_LEN + ID_DIGITS] = '\0';
	return out;
}

/** Parses exactly the prefix of kind and 12 digits into *n_out; 0 is refused. */
int
id_parse(id_kind_t kind, const char *text, uint64_t *n_out)
{
	if (text == NULL || strlen(text) != ID_PREFIX_LEN + ID_DIGITS
	    || memcmp(text, s_prefix(kind), ID_PREFIX_LEN) != 0)
		return -EINVAL;
	uint64_t n = 0;
	for (const char *p = text + ID_PREFIX_LEN; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t) (*p - '0');
	}
	if (n == 0)
		return -EINVAL;
	*n_out = n;
	return 0;
}
