/*
 * tz: the process's time zone. The daemon has one calendar, whose local time is the zone of
 * the process: set once at start-up, before any thread starts, by tz_use().
 */
#ifndef INCIDENTD_DAEMON_SYS_TZ_H
#define INCIDENTD_DAEMON_SYS_TZ_H

#include <stdbool.h>

/*
 * True when name is a time zone the system has: an IANA name (letters, digits, _ + - /, not
 * absolute, no "..") of a regular file in the zone database ($TZDIR, else
 * /usr/share/zoneinfo). glibc silently falls back to UTC for a zone it cannot load, so this is
 * asked first, by the config check and by tz_use() alike.
 */
bool tz_exists(const char *name);

/*
 * Makes name the process's time zone (TZ and tzset()) and tells the calendar, which remembers
 * local-time conversions. Returns 0, or -EINVAL when tz_exists(name) is false (nothing changed).
 */
int tz_use(const char *name);

#endif
