/*
 * calendar: working time, from [calendar]: working days, hours, holidays, a time zone.
 *
 * The calendar works on local civil dates, named by their number of days since 1970-01-01
 * (rfc3339_days_from_civil()). A working day's window is its local start and end time turned
 * into UTC with mktime() for that very date, so a day of 23 or 25 hours (a summer-time change)
 * gets the right window; stepping from one day to the next is always +1 civil day, never
 * +86400 s.
 *
 * Working windows are half-open, [start, end): the end of a working day is not itself a working
 * moment, so the next working moment after 18:00 is the next working day's 08:00. A deadline
 * may still fall exactly on a window's end: 1 working hour from 17:00 is 18:00 that day.
 */
#include "daemon/core/calendar.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/rfc3339.h"

#define MS_PER_DAY INT64_C(86400000)

static int64_t s_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The first local civil day the calendar does not reach (10000-01-01): loops stop there. */
static int64_t s_last_day(void)
{
	return rfc3339_days_from_civil(10000, 1, 1);
}

/* The local civil date of t by the C library (localtime_r, slow: it reads TZ every time). */
static int64_t s_local_day_slow(int64_t t)
{
	time_t secs = (time_t)s_floor_div(t, 1000);
	struct tm tm;
	if (localtime_r(&secs, &tm) == NULL)
		return s_floor_div(t, MS_PER_DAY); /* out of range for the C library: treat as UTC */
	return rfc3339_days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
				       (unsigned)tm.tm_mday);
}

/*
 * The UTC instant (ms) of minute (minutes after local midnight, 0..1440) on local civil date
 * day. mktime() with tm_isdst = -1 picks the offset in force at that local time; a time that
 * does not exist (in the hour skipped when clocks go forward) comes out shifted by that hour.
 */
static int64_t s_local_to_utc_slow(int64_t day, int minute)
{
	int64_t year;
	unsigned month, mday;
	rfc3339_civil_from_days(day, &year, &month, &mday);
	struct tm tm = {
		.tm_year = (int)(year - 1900),
		.tm_mon = (int)month - 1,
		.tm_mday = (int)mday,
		.tm_hour = minute / 60,
		.tm_min = minute % 60,
		.tm_isdst = -1,
	};
	time_t secs = mktime(&tm);
	return (int64_t)secs * 1000;
}

/*
 * Conversions are memoised: every event that starts a working-time clock converts the same
 * few local dates, and mktime() and localtime_r() cost microseconds each. The memo is per
 * thread (the writer and the readers compute deadlines) and is dropped when the process's
 * zone changes (calendar_zone_changed(): s_zone_generation).
 */
#define LOCAL_MEMO_SIZE 256

typedef struct {
	unsigned generation; /* 0: empty */
	int minute;
	int64_t day;
	int64_t utc;
} local_memo_t;

static _Atomic unsigned s_zone_generation = 1;
static _Thread_local local_memo_t s_memo[LOCAL_MEMO_SIZE];

/* s_local_to_utc_slow(day, minute), memoised. */
static int64_t s_local_to_utc(int64_t day, int minute)
{
	unsigned generation = s_zone_generation;
	local_memo_t *m = &s_memo[((uint64_t)day * 1441u + (unsigned)minute) % LOCAL_MEMO_SIZE];
	if (m->generation != generation || m->day != day || m->minute != minute)
		*m = (local_memo_t){ generation, minute, day, s_local_to_utc_slow(day, minute) };
	return m->utc;
}

/*
 * The local midnight that starts day, and the length of that local day; a day of exactly 24
 * hours has no clock change in it.
 */
static int64_t s_day_start(int64_t day, int64_t *length)
{
	int64_t start = s_local_to_utc(day, 0);
	*length = s_local_to_utc(day + 1, 0) - start;
	return start;
}

/*
 * The local civil date of t (ms since the epoch, UTC), as days since 1970-01-01: the day whose
 * local midnights enclose t. Days with a clock change, and times out of reach, ask the C
 * library.
 */
static int64_t s_local_day(int64_t t)
{
	int64_t guess = s_floor_div(t, MS_PER_DAY), length;
	for (int64_t day = guess - 1; day <= guess + 1; day++) {
		int64_t start = s_day_start(day, &length);
		if (length == MS_PER_DAY && start <= t && t < start + length)
			return day;
	}
	return s_local_day_slow(t);
}

static int s_compare_day(const void *key, const void *elem)
{
	int64_t a = *(const int64_t *)key, b = *(const int64_t *)elem;
	return (a > b) - (a < b);
}

/* True when local civil date day is a working weekday and not a holiday. */
static bool s_is_working_day(const config_calendar_t *cal, int64_t day)
{
	int weekday = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
	if (!(cal->days & (1u << weekday)))
		return false;
	return cal->n_holidays == 0 ||
	       bsearch(&day, cal->holidays, cal->n_holidays, sizeof *cal->holidays,
		       s_compare_day) == NULL;
}

/*
 * The first working day after day, or CALENDAR_NEVER. Within 7 * (n_holidays + 1) days each working
 * weekday comes n_holidays + 1 times and the holidays can take at most n_holidays of those,
 * so the search is bounded.
 */
static int64_t s_next_working_day(const config_calendar_t *cal, int64_t day)
{
	if ((cal->days & 0x7fu) == 0)
		return CALENDAR_NEVER;
	int64_t limit = 7 * ((int64_t)cal->n_holidays + 1);
	for (int64_t i = 1; i <= limit; i++)
		if (s_is_working_day(cal, day + i))
			return day + i >= s_last_day() ? CALENDAR_NEVER : day + i;
	return CALENDAR_NEVER;
}

static int64_t s_window_start(const config_calendar_t *cal, int64_t day)
{
	return s_local_to_utc(day, cal->start_minute);
}

static int64_t s_window_end(const config_calendar_t *cal, int64_t day)
{
	return s_local_to_utc(day, cal->end_minute);
}

void calendar_zone_changed(void)
{
	s_zone_generation++;
}

bool calendar_is_working(const config_calendar_t *cal, int64_t t)
{
	int64_t day = s_local_day(t);
	return s_is_working_day(cal, day) && t >= s_window_start(cal, day) &&
	       t < s_window_end(cal, day);
}

int64_t calendar_next_working(const config_calendar_t *cal, int64_t t)
{
	int64_t day = s_local_day(t);
	if (s_is_working_day(cal, day)) {
		int64_t start = s_window_start(cal, day);
		if (t < start)
			return start;
		if (t < s_window_end(cal, day))
			return t;
	}
	day = s_next_working_day(cal, day);
	return day == CALENDAR_NEVER ? CALENDAR_NEVER : s_window_start(cal, day);
}

/* Consumes working time window by window; a result exactly at a window's end stays there. */
int64_t calendar_add_working_ms(const config_calendar_t *cal, int64_t t, int64_t working_ms)
{
	int64_t cur = calendar_next_working(cal, t);
	int64_t remaining = working_ms > 0 ? working_ms : 0;
	while (cur != CALENDAR_NEVER) {
		int64_t end = s_window_end(cal, s_local_day(cur));
		if (remaining <= end - cur)
			return cur + remaining;
		remaining -= end - cur;
		cur = calendar_next_working(cal, end);
	}
	return CALENDAR_NEVER;
}

/*
 * The local time of day of the first working moment is carried to the n-th next working day
 * (mktime() again, so a clock change in between does not shift it), then kept inside that
 * day's window: the window can be an hour shorter on the day clocks go forward.
 */
int64_t calendar_add_working_days(const config_calendar_t *cal, int64_t t, int64_t n)
{
	int64_t s = calendar_next_working(cal, t);
	if (s == CALENDAR_NEVER || n <= 0)
		return s;
	int64_t day = s_local_day(s), length;
	/* The local time of day of s: from its midnight, unless a clock change lies between. */
	int64_t of_day = s - s_day_start(day, &length);
	if (length != MS_PER_DAY) {
		time_t secs = (time_t)s_floor_div(s, 1000);
		struct tm tm;
		if (localtime_r(&secs, &tm) == NULL)
			return CALENDAR_NEVER;
		of_day = ((int64_t)tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) * 1000 +
			 (s - (int64_t)secs * 1000);
	}
	for (int64_t i = 0; i < n; i++) {
		day = s_next_working_day(cal, day);
		if (day == CALENDAR_NEVER)
			return CALENDAR_NEVER;
	}
	int64_t due = s_local_to_utc(day, (int)(of_day / 60000)) + of_day % 60000;
	int64_t start = s_window_start(cal, day), end = s_window_end(cal, day);
	return due < start ? start : due > end ? end : due;
}

/*
 * Under calendar = working a clock duration counts working time: a whole number of days
 * ("1d", "3d") is that many working days, the same as "1wd", "3wd"; anything else ("30m",
 * "2h", "36h") is working ms, the same as "0.5wh", "2wh", "36wh" would be.
 */
int64_t calendar_deadline(const config_calendar_t *cal, config_duration_t d, bool working, int64_t t)
{
	switch (d.kind) {
	case DURATION_CLOCK:
		if (!working)
			return t > 0 && d.value > CALENDAR_NEVER - t ? CALENDAR_NEVER : t + d.value;
		if (d.value % MS_PER_DAY == 0)
			return calendar_add_working_days(cal, t, d.value / MS_PER_DAY);
		return calendar_add_working_ms(cal, t, d.value);
	case DURATION_WORKING_DAYS:
		return calendar_add_working_days(cal, t, d.value);
	case DURATION_WORKING_MS:
		return calendar_add_working_ms(cal, t, d.value);
	}
	return CALENDAR_NEVER;
}
