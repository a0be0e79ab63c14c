/*
 * calendar: working time. The arithmetic of deadlines counted in working days and hours of the
 * configured [calendar], and on the plain clock.
 *
 * Pure arithmetic over the C library's local-time conversions: localtime_r() and mktime() in
 * the process's time zone, which the edge sets once at start-up to the calendar's zone
 * (sys/tz.h). Every other time in the daemon is UTC arithmetic that does not read the zone.
 */
#ifndef INCIDENTD_DAEMON_CORE_CALENDAR_H
#define INCIDENTD_DAEMON_CORE_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/core/config.h"

/* The result when no working moment exists: no working weekday, or none before year 10000. */
#define CALENDAR_NEVER INT64_MAX

/*
 * True when t (ms since the epoch, UTC) falls in working time: a working weekday, not a
 * holiday, within the working hours, all in the calendar's local time.
 */
bool calendar_is_working(const config_calendar_t *cal, int64_t t);

/* The first working moment at or after t, or CALENDAR_NEVER. */
int64_t calendar_next_working(const config_calendar_t *cal, int64_t t);

/*
 * t plus working_ms of working time: the clock runs only in working hours of working days.
 * A start outside working hours counts from the next working moment.
 */
int64_t calendar_add_working_ms(const config_calendar_t *cal, int64_t t, int64_t working_ms);

/*
 * t plus n working days: the same working moment (local time of day) n working days later,
 * skipping weekends and holidays. A start outside working hours counts from the next working
 * moment.
 */
int64_t calendar_add_working_days(const config_calendar_t *cal, int64_t t, int64_t n);

/*
 * The deadline of duration d started at t. Clock durations add plain time unless working is
 * true (a rule with calendar = working), in which case d, h, m, s and ms count working time
 * too ("1d" is one working day).
 */
int64_t calendar_deadline(const config_calendar_t *cal, config_duration_t d, bool working,
			  int64_t t);

/*
 * Forgets the local-time conversions remembered so far (each thread's): call it after the
 * process's time zone changed (sys/tz.h does).
 */
void calendar_zone_changed(void);

#endif
