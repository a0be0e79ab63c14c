/*
 * rfc3339: parsing and formatting of RFC 3339 times.
 *
 * The parser is deliberately strict and does its own civil-date arithmetic: mktime() and
 * timegm() depend on the TZ environment or are not portable, and the C library accepts dates
 * such as 2021-02-30 by normalising them, which would silently move an event to March.
 */
#include "proto/rfc3339.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#define MS_PER_SECOND 1000LL
#define MS_PER_MINUTE (60 * MS_PER_SECOND)
#define MS_PER_HOUR (60 * MS_PER_MINUTE)
#define MS_PER_DAY (24 * MS_PER_HOUR)

/* The fields of a date-time as written, before the offset is applied. */
typedef struct {
	unsigned year, month, day;
	unsigned hour, minute, second, millis;
	int offset_minutes; /* local time minus UTC */
} s_datetime_t;

/* Reads exactly n decimal digits at *p, advancing *p. Returns false on anything else. */
static bool
s_read_digits(const char **p, int n, unsigned *out)
{
	unsigned value = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		value = value * 10 + (unsigned) (c - '0');
	}
	*p += n;
	*out = value;
	return true;
}

/* Consumes the single byte c (or its alternative spelling alt) at *p. */
static bool
s_read_char(const char **p, char c, char alt)
{
	if (**p != c && **p != alt)
		return false;
	(*p)++;
	return true;
}

static bool
s_is_leap_year(unsigned year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned
s_days_in_month(unsigned year, unsigned month)
{
	static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month == 2 && s_is_leap_year(year))
		return 29;
	return days[month - 1];
}

/* full-date = YYYY-MM-DD, a real day of a year from 1970 to 9999. */
static bool
s_parse_date(const char **p, s_datetime_t *dt)
{
	if (!s_read_digits(p, 4, &dt->year) || !s_read_char(p, '-', '-')
	    || !s_read_digits(p, 2, &dt->month) || !s_read_char(p, '-', '-')
	    || !s_read_digits(p, 2, &dt->day))
		return false;
	if (dt->year < 1970 || dt->year > 9999 || dt->month < 1 || dt->month > 12)
		return false;
	return dt->day >= 1 && dt->day <= s_days_in_month(dt->year, dt->month);
}

int
rfc3339_date_parse(const char *text, int64_t *days_out)
{
	s_datetime_t dt;
	const char *p = text;
	if (text == NULL || !s_parse_date(&p, &dt) || *p != '\0')
		return -EINVAL;
	*days_out = rfc3339_days_from_civil(dt.year, dt.month, dt.day);
	return 0;
}

/*
 * The optional fraction after the seconds: one or more digits, of which only the first three
 * count. Truncating rather than rounding keeps a time from moving into the next second.
 */
static bool
s_parse_fraction(const char **p, s_datetime_t *dt)
{
	dt->millis = 0;
	if (**p != '.')
		return true;
	(*p)++;
	if (**p < '0' || **p > '9')
		return false;
	unsigned scale = 100;
	for (; **p >= '0' && **p <= '9'; (*p)++) {
		dt->millis += (unsigned) (**p - '0') * scale;
		scale /= 10;
	}
	return true;
}

/* time-offset = "Z" / "z" / ("+" / "-") HH ":" MM, within +-23:59. */
static bool
s_parse_offset(const char **p, s_datetime_t *dt)
{
	if (s_read_char(p, 'Z', 'z')) {
		dt->offset_minutes = 0;
		return true;
	}
	char sign = **p;
	if (sign != '+' && sign != '-')
		return false;
	(*p)++;
	unsigned hours, minutes;
	if (!s_read_digits(p, 2, &hours) || !s_read_char(p, ':', ':')
	    || !s_read_digits(p, 2, &minutes) || hours > 23 || minutes > 59)
		return false;
	dt->offset_minutes = (int) (hours * 60 + minutes) * (sign == '-' ? -1 : 1);
	return true;
}

/* partial-time and offset: HH:MM:SS[.frac](Z|+HH:MM). No leap second. */
static bool
s_parse_time(const char **p, s_datetime_t *dt)
{
	if (!s_read_digits(p, 2, &dt->hour) || !s_read_char(p, ':', ':')
	    || !s_read_digits(p, 2, &dt->minute) || !s_read_char(p, ':', ':')
	    || !s_read_digits(p, 2, &dt->second))
		return false;
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 59)
		return false;
	return s_parse_fraction(p, dt) && s_parse_offset(p, dt);
}

/**
 * Parses an RFC 3339 date-time into milliseconds since the epoch, UTC. The result must also
 * lie within 1970-01-01T00:00:00Z..9999-12-31T23:59:59.999Z after the offset is applied, so
 * that every accepted time formats back to a four-digit year and a non-negative count.
 */
int
rfc3339_parse(const char *text, int64_t *ms_out)
{
	if (text == NULL)
		return -EINVAL;
	const char *p = text;
	s_datetime_t dt;
	if (!s_parse_date(&p, &dt) || !s_read_char(&p, 'T', 't') || !s_parse_time(&p, &dt)
	    || *p != '\0')
		return -EINVAL;

	int64_t days = rfc3339_days_from_civil(dt.year, dt.month, dt.day);
	int64_t ms = days * MS_PER_DAY + dt.hour * MS_PER_HOUR + dt.minute * MS_PER_MINUTE
		     + dt.second * MS_PER_SECOND + dt.millis
		     - (int64_t) dt.offset_minutes * MS_PER_MINUTE;
	int64_t end = rfc3339_days_from_civil(10000, 1, 1) * MS_PER_DAY;
	if (ms < 0 || ms >= end)
		return -EINVAL;
	*ms_out = ms;
	return 0;
}

/** Formats ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, milliseconds always) into out. */
/* Writes v as exactly width decimal digits (zero-padded) at p; returns the end. */
static char *
s_digits(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char) ('0' + v % 10);
	return p + width;
}

char *
rfc3339_format(int64_t ms, char out[RFC3339_BUFSZ])
{
	/* Floor division, so that times before the epoch still print a valid time of day. */
	int64_t days = ms / MS_PER_DAY;
	int64_t rem = ms % MS_PER_DAY;
	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	int64_t year;
	unsigned month, day;
	rfc3339_civil_from_days(days, &year, &month, &day);
	unsigned in_day = (unsigned) rem;
	if (year < 0 || year > 9999) {
		snprintf(out, RFC3339_BUFSZ, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long) year,
			 month, day, in_day / 3600000u, in_day / 60000u % 60u, in_day / 1000u % 60u,
			 in_day % 1000u);
		return out;
	}
	/* Digits by hand: the daemon formats several times per event, and snprintf dominated. */
	char *p = out;
	p = s_digits(p, (unsigned) year, 4);
	*p++ = '-';
	p = s_digits(p, month, 2);
	*p++ = '-';
	p = s_digits(p, day, 2);
	*p++ = 'T';
	p = s_digits(p, in_day / 3600000u, 2);
	*p++ = ':';
	p = s_digits(p, in_day / 60000u % 60u, 2);
	*p++ = ':';
	p = s_digits(p, in_day / 1000u % 60u, 2);
	*p++ = '.';
	p = s_digits(p, in_day % 1000u, 3);
	*p++ = 'Z';
	*p = '\0';
	return out;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil):
 * the year is shifted to start in March so that the leap day falls at its end.
 */
int64_t
rfc3339_days_from_civil(int64_t year, unsigned month, unsigned day)
{
	year -= month <= 2;
	int64_t era = (year >= 0 ? year : year - 399) / 400;
	int64_t yoe = year - era * 400;                                          /* [0, 399] */
	int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                     /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/** The civil date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days). */
void
rfc3339_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;                                      /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;    /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                       /* [0, 11] */
	*day = (unsigned) (doy - (153 * mp + 2) / 5 + 1);
	*month = (unsigned) (mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}
