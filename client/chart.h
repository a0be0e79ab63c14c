/*
 * chart: the arithmetic of the HTML report's charts: value axes with round steps, linear
 * scales from data to drawing units, and time axes with ticks on round clock times. Pure
 * code: no I/O, no zone; a zone's offset is passed in.
 */
#ifndef INCIDENTD_CLIENT_CHART_H
#define INCIDENTD_CLIENT_CHART_H

#include <stdbool.h>
#include <stdint.h>

/* A value axis from 0 to max, a tick every step; max is a whole number of steps. */
typedef struct {
	double max;
	double step;
} chart_axis_t;

/*
 * The axis from 0 that holds max in at most max_ticks (at least 1) steps of 1, 2 or 5 times
 * a power of ten, the smallest such step. With integer true the step is at least 1 (counts
 * have no half incidents). max <= 0 (or not a number) gives 0 to 1 with a step of 1.
 */
chart_axis_t chart_axis(double max, int max_ticks, bool integer);

/*
 * Maps v from the domain [d0, d1] onto the range [r0, r1], linearly (r1 < r0 for an axis that
 * grows upwards on screen). A domain of zero width maps everything to r0.
 */
double chart_scale(double v, double d0, double d1, double r0, double r1);

/*
 * The step of a time axis over span_ms: the smallest of 1, 5, 15 and 30 minutes, 1, 2, 3, 6
 * and 12 hours, 1, 2 and 7 days, 30 days that gives at most max_ticks (at least 1) ticks;
 * 30 days when none does.
 */
int64_t chart_time_step(int64_t span_ms, int max_ticks);

/*
 * The first tick at or after start_ms of a time axis with ticks every step_ms (> 0) on round
 * clock times of a zone offset_ms east of UTC (+01:00 is 3600000): a daily step ticks at the
 * zone's midnights. Times before 1970 are not expected.
 */
int64_t chart_time_first_tick(int64_t start_ms, int64_t step_ms, int64_t offset_ms);

#endif
