/*
 * duration: clock durations written by people. See duration.h.
 */
#include "proto/duration.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

int duration_parse_ms(const char *text, int64_t *ms_out)
{
	static const struct {
		const char *unit;
		int64_t scale;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 }, { "h", 3600 * 1000 },
		{ "d", 86400 * 1000 },
	};
	int64_t n = 0;
	const char *p = text;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (*p - '0');
	}
	if (p == text)
		return -EINVAL;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (n > INT64_MAX / units[i].scale)
			return -EINVAL;
		*ms_out = n * units[i].scale;
		return 0;
	}
	return -EINVAL;
}
