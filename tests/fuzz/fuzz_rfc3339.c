/*
 * fuzz_rfc3339: proto/rfc3339.c, the one time parser, on any text.
 *
 * Properties: an accepted date-time lies in 1970..9999 and formats back to a text that parses
 * to the same instant (and formats to itself); an accepted full-date is a day whose civil date
 * prints back as the text itself, and which starts the date-time of the same text + "T00:00Z".
 */
#include "tests/fuzz/fuzz.h"

#include <inttypes.h>

#include "proto/rfc3339.h"

#define MS_PER_DAY 86400000LL

static void s_check_datetime(const char *text)
{
	int64_t ms, back;
	if (rfc3339_parse(text, &ms) != 0)
		return;
	if (ms < 0 || ms >= rfc3339_days_from_civil(10000, 1, 1) * MS_PER_DAY)
		FUZZ_FAIL("rfc3339_parse(\"%s\") = %" PRId64 ", outside 1970..9999", text, ms);
	char out[RFC3339_BUFSZ], again[RFC3339_BUFSZ];
	rfc3339_format(ms, out);
	if (strlen(out) != 24 || rfc3339_parse(out, &back) != 0 || back != ms)
		FUZZ_FAIL("\"%s\" is %" PRId64 ", formatted \"%s\", which does not parse back", text,
			  ms, out);
	if (strcmp(rfc3339_format(back, again), out) != 0)
		FUZZ_FAIL("\"%s\" formats as \"%s\" then \"%s\"", text, out, again);
}

static void s_check_date(const char *text)
{
	int64_t days, year, ms;
	unsigned month, day;
	if (rfc3339_date_parse(text, &days) != 0)
		return;
	rfc3339_civil_from_days(days, &year, &month, &day);
	char printed[32], midnight[48];
	snprintf(printed, sizeof printed, "%04" PRId64 "-%02u-%02u", year, month, day);
	if (strcmp(printed, text) != 0 || rfc3339_days_from_civil(year, month, day) != days)
		FUZZ_FAIL("date \"%s\" is day %" PRId64 ", which prints as \"%s\"", text, days,
			  printed);
	snprintf(midnight, sizeof midnight, "%sT00:00:00Z", text);
	if (rfc3339_parse(midnight, &ms) != 0 || ms != days * MS_PER_DAY)
		FUZZ_FAIL("date \"%s\" is day %" PRId64 " but \"%s\" is not its midnight", text, days,
			  midnight);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	s_check_datetime(text);
	s_check_date(text);
	free(text);
	return 0;
}
