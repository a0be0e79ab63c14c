/*
 * tz: the time zone of incidentctl's human output and of the dates typed on its command line
 * (--tz ZONE, default $INCIDENTD_TZ, then UTC). The daemon speaks UTC; only what a person
 * reads or types is in the zone. --json output is never converted.
 *
 * The zone is the process's (TZ and tzset()), chosen once by tz_use() before any time is shown.
 */
#ifndef INCIDENTD_CLIENT_TZ_H
#define INCIDENTD_CLIENT_TZ_H

#include <stdint.h>

/* Size of a buffer that holds any time made by tz_format(), NUL included. */
#define TZ_BUFSZ 40

/* The zone used when neither --tz nor $INCIDENTD_TZ names one. */
#define TZ_DEFAULT "UTC"

/*
 * Makes name the zone of every later tz_format() and tz_day_start(). name is "UTC" or an IANA
 * name ("Europe/Paris") of a zone file of the system's database ($TZDIR, else
 * /usr/share/zoneinfo): letters, digits, '_', '+', '-' and '/', not absolute, no "..", a
 * regular file that starts with the TZif magic. glibc silently takes an unknown zone for UTC,
 * which is why the file is looked at first.
 * Returns 0, or -EINVAL when there is no such zone (nothing changed).
 */
int tz_use(const char *name);

/*
 * Formats ms (milliseconds since the epoch) as RFC 3339 in the zone, to the second, with the
 * zone's offset at that moment: "2026-12-05T11:00:00+01:00" (UTC: "+00:00"). Before any
 * tz_use(), in UTC. Returns out (TZ_BUFSZ bytes).
 */
char *tz_format(int64_t ms, char out[TZ_BUFSZ]);

/* Size of a buffer that holds an offset made by tz_offset() ("+05:30"), NUL included. */
#define TZ_OFFSET_BUFSZ 16

/*
 * The zone's offset from UTC at ms (milliseconds since the epoch): returns it in milliseconds
 * east of UTC (Paris in winter: 3600000) and, when out is not NULL, writes it as tz_format()
 * ends a time ("+01:00") into out (TZ_OFFSET_BUFSZ bytes). Before any tz_use(), and in UTC,
 * 0 and "+00:00".
 */
int64_t tz_offset(int64_t ms, char *out);

/*
 * The first moment of a calendar day in the zone: midnight, or the first time after it when a
 * summer-time change skips midnight. days counts from 1970-01-01 (rfc3339_date_parse()).
 * Returns 0 and stores *ms_out, or -ERANGE when the C library cannot represent it.
 */
int tz_day_start(int64_t days, int64_t *ms_out);

#endif
