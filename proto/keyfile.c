/*
 * keyfile: CURVE key files. See keyfile.h.
 */
#include "proto/keyfile.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/errbuf.h"

/* The Z85 alphabet (ZeroMQ RFC 32), in the order of the digits' values. */
static const char s_z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    ".-:+=^!/*?&<>()[]{}@%$#";

bool keyfile_z85_ok(const char *text)
{
	if (text == NULL || strlen(text) != KEYFILE_Z85_LEN)
		return false;
	for (size_t group = 0; group < KEYFILE_Z85_LEN; group += 5) {
		uint64_t value = 0;
		for (size_t i = group; i < group + 5; i++) {
			const char *digit = text[i] ? strchr(s_z85, text[i]) : NULL;
			if (digit == NULL)
				return false;
			value = value * 85 + (uint64_t)(digit - s_z85);
		}
		if (value > UINT32_MAX)
			return false;
	}
	return true;
}

int keyfile_z85_decode(const char *text, unsigned char out[KEYFILE_KEY_BYTES])
{
	if (!keyfile_z85_ok(text))
		return -1;
	for (size_t group = 0; group < KEYFILE_Z85_LEN; group += 5) {
		uint32_t value = 0;
		for (size_t i = group; i < group + 5; i++)
			value = value * 85 + (uint32_t)(strchr(s_z85, text[i]) - s_z85);
		/* Big-endian, as ZeroMQ's RFC 32 has it. */
		for (int b = 0; b < 4; b++)
			out[group / 5 * 4 + (size_t)b] = (unsigned char)(value >> (24 - 8 * b));
	}
	return 0;
}

/* Trims spaces at both ends of [*start, *end). */
static void s_trim(const char **start, const char **end)
{
	while (*start < *end && isspace((unsigned char)**start))
		(*start)++;
	while (*end > *start && isspace((unsigned char)(*end)[-1]))
		(*end)--;
}

/* Parses one non-empty line [p, end) of number line into out. */
static int s_line(const char *p, const char *end, int line, keyfile_t *out, char *err,
		  size_t errlen)
{
	const char *eq = memchr(p, '=', (size_t)(end - p));
	if (eq == NULL)
		return errbuf_fail(err, errlen,
				   "line %d: expected \"public = KEY\" or \"secret = KEY\"", line);
	const char *name = p, *name_end = eq, *value = eq + 1, *value_end = end;
	s_trim(&name, &name_end);
	s_trim(&value, &value_end);
	size_t name_len = (size_t)(name_end - name), value_len = (size_t)(value_end - value);
	char *slot = name_len == 6 && memcmp(name, "public", 6) == 0   ? out->public_key
		     : name_len == 6 && memcmp(name, "secret", 6) == 0 ? out->secret_key
								      : NULL;
	if (slot == NULL)
		return errbuf_fail(err, errlen,
				   "line %d: unknown name \"%.*s\" (expected public or secret)",
				   line, (int)(name_len < 32 ? name_len : 32), name);
	if (slot[0] != '\0')
		return errbuf_fail(err, errlen, "line %d: %.6s is given twice", line, name);
	char key[KEYFILE_Z85_BUFSZ] = "";
	if (value_len == KEYFILE_Z85_LEN)
		memcpy(key, value, KEYFILE_Z85_LEN);
	if (!keyfile_z85_ok(key))
		return errbuf_fail(err, errlen, "line %d: %.6s: not a key (40 characters of Z85)",
				   line, name);
	memcpy(slot, key, KEYFILE_Z85_BUFSZ);
	return 0;
}

int keyfile_parse(const char *text, keyfile_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	int line = 0;
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p), *start = p, *stop = end;
		line++;
		s_trim(&start, &stop);
		if (start < stop && *start != '#' && *start != ';' &&
		    s_line(start, stop, line, out, err, errlen) < 0)
			return -1;
		p = nl ? nl + 1 : NULL;
	}
	if (out->public_key[0] == '\0' && out->secret_key[0] == '\0')
		return errbuf_fail(err, errlen, "no key in the file");
	return 0;
}

int keyfile_format(const char *public_key, const char *secret_key, char *buf, size_t len)
{
	int n = secret_key ? snprintf(buf, len, "public = %s\nsecret = %s\n", public_key, secret_key)
			   : snprintf(buf, len, "public = %s\n", public_key);
	return n < 0 || (size_t)n >= len ? -1 : n;
}
