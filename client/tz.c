/*
 * tz: the zone of human output and typed dates. See tz.h.
 */
#include "client/tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/rfc3339.h"

/* Where the C library looks for zone files unless TZDIR says otherwise. */
#define TZ_ZONEINFO_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 255

/* False until tz_use() chose a zone other than UTC: times are then shown with gmtime_r(). */
static bool s_local;

/*
 * True when name is a zone file of the database. Its first bytes are checked too: the
 * database directory also holds tables (zone.tab, iso3166.tab) that are no zones.
 */
static bool s_zone_file(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/' || strstr(name, "..") != NULL ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") !=
		    len)
		return false;
	const char *dir = getenv("TZDIR");
	char path[1024];
	int n = snprintf(path, sizeof path, "%s/%s", dir != NULL && *dir ? dir : TZ_ZONEINFO_DIR,
			 name);
	if (n < 0 || (size_t)n >= sizeof path)
		return false;
	FILE *f = fopen(path, "rb");
	char magic[4] = {0};
	bool ok = f != NULL && fread(magic, 1, sizeof magic, f) == sizeof magic &&
		  memcmp(magic, "TZif", sizeof magic) == 0;
	if (f != NULL)
		fclose(f);
	return ok;
}

int tz_use(const char *name)
{
	if (strcmp(name, TZ_DEFAULT) == 0) {
		s_local = false;
		return 0;
	}
	if (!s_zone_file(name))
		return -EINVAL;
	if (setenv("TZ", name, 1) != 0)
		return -errno;
	tzset();
	s_local = true;
	return 0;
}

/* Whole seconds of ms, rounded down, also before 1970. */
static time_t s_seconds(int64_t ms)
{
	return (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
}

/* "+01:00" of an offset in seconds east of UTC into out (TZ_OFFSET_BUFSZ bytes). */
static void s_offset_text(long off, char *out)
{
	long abs_off = off < 0 ? -off : off;
	snprintf(out, TZ_OFFSET_BUFSZ, "%c%02ld:%02ld", off < 0 ? '-' : '+', abs_off / 3600 % 100,
		 abs_off % 3600 / 60);
}

char *tz_format(int64_t ms, char out[TZ_BUFSZ])
{
	time_t t = s_seconds(ms);
	struct tm tm;
	if ((s_local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)) == NULL) {
		snprintf(out, TZ_BUFSZ, "?");
		return out;
	}
	char offset[TZ_OFFSET_BUFSZ];
	s_offset_text(s_local ? tm.tm_gmtoff : 0, offset);
	size_t n = strftime(out, TZ_BUFSZ, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, TZ_BUFSZ - n, "%s", offset);
	return out;
}

int64_t tz_offset(int64_t ms, char *out)
{
	time_t t = s_seconds(ms);
	struct tm tm;
	long off = s_local && localtime_r(&t, &tm) != NULL ? tm.tm_gmtoff : 0;
	if (out != NULL)
		s_offset_text(off, out);
	return (int64_t)off * 1000;
}

int tz_day_start(int64_t days, int64_t *ms_out)
{
	int64_t year;
	unsigned month, day;
	rfc3339_civil_from_days(days, &year, &month, &day);
	if (!s_local) {
		*ms_out = days * 86400000;
		return 0;
	}
	struct tm tm = {
		.tm_year = (int)(year - 1900),
		.tm_mon = (int)month - 1,
		.tm_mday = (int)day,
		.tm_isdst = -1, /* let the zone say whether summer time is in force */
	};
	errno = 0;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 && errno != 0)
		return -ERANGE;
	*ms_out = (int64_t)t * 1000;
	return 0;
}
