/*
 * chart: axes and scales of the HTML report's charts. See chart.h.
 */
#include "client/chart.h"

#include <math.h>

chart_axis_t chart_axis(double max, int max_ticks, bool integer)
{
	chart_axis_t axis = {1, 1};
	if (!(max > 0))
		return axis;
	if (max_ticks < 1)
		max_ticks = 1;
	static const double mult[] = {1, 2, 5};
	/* Start a power of ten below what max / max_ticks needs, and go up until it fits. */
	double unit = pow(10, floor(log10(max / max_ticks)) - 1);
	for (;;) {
		for (int i = 0; i < 3; i++) {
			double step = mult[i] * unit;
			if (integer && step < 1)
				continue;
			double top = ceil(max / step - 1e-9) * step;
			if (top / step <= max_ticks + 1e-9) {
				axis.max = top;
				axis.step = step;
				return axis;
			}
		}
		unit *= 10;
	}
}

double chart_scale(double v, double d0, double d1, double r0, double r1)
{
	if (d1 == d0)
		return r0;
	return r0 + (v - d0) * (r1 - r0) / (d1 - d0);
}

int64_t chart_time_step(int64_t span_ms, int max_ticks)
{
	static const int64_t steps[] = {
		60000,    300000,   900000,    1800000,   3600000,    7200000,     10800000,
		21600000, 43200000, 86400000, 172800000, 604800000, 2592000000LL};
	enum { N = sizeof steps / sizeof steps[0] };
	if (max_ticks < 1)
		max_ticks = 1;
	for (int i = 0; i < N; i++)
		if (span_ms / steps[i] + 1 <= max_ticks)
			return steps[i];
	return steps[N - 1];
}

int64_t chart_time_first_tick(int64_t start_ms, int64_t step_ms, int64_t offset_ms)
{
	/* Round up in the zone's local time, then back to UTC. */
	int64_t local = start_ms + offset_ms;
	int64_t rem = local % step_ms;
	if (rem < 0)
		rem += step_ms;
	int64_t tick = rem == 0 ? local : local - rem + step_ms;
	return tick - offset_ms;
}
