/*
 * rfc3339: the one time parser and formatter of incidentd.
 *
 * Times travel as RFC 3339 strings and live in memory and storage as int64 milliseconds since
 * the Unix epoch, UTC. Pure code: no I/O, no locale, no TZ environment.
 */
#ifndef INCIDENTD_PROTO_RFC3339_H
#define INCIDENTD_PROTO_RFC3339_H

#include <stdint.h>

/* Size of a buffer that holds any formatted time, NUL included. */
#define RFC3339_BUFSZ 32

/*
 * Parses an RFC 3339 date-time ("2021-01-12T03:14:00Z", "2021-01-12t04:14:00.5+01:00") into
 * milliseconds since the epoch, UTC. 'T' or 't' separates date and time; the offset is 'Z',
 * 'z' or +HH:MM/-HH:MM; a fraction of any length is truncated to milliseconds. Impossible
 * dates (2021-02-30, month 13, hour 24, second 60) are refused, as are years before 1970 or
 * after 9999, and any trailing byte.
 *
 * Returns 0 and stores *ms_out, or -EINVAL (and leaves *ms_out untouched).
 */
int rfc3339_parse(const char *text, int64_t *ms_out);

/*
 * Parses a full-date "YYYY-MM-DD" alone (a real day of a year from 1970 to 9999, nothing
 * after it) into days since 1970-01-01. Returns 0 or -EINVAL. Used for calendar holidays.
 */
int rfc3339_date_parse(const char *text, int64_t *days_out);

/*
 * Formats ms (milliseconds since the epoch) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out, which
 * holds RFC3339_BUFSZ bytes. Returns out.
 */
char *rfc3339_format(int64_t ms, char out[RFC3339_BUFSZ]);

/*
 * Days since 1970-01-01 of a proleptic Gregorian civil date, and back. Month 1-12.
 * Shared by the parser, the month arithmetic of reports and the working-time calendar.
 */
int64_t rfc3339_days_from_civil(int64_t year, unsigned month, unsigned day);
void rfc3339_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);

#endif
