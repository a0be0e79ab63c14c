/*
 * clock: the wall-clock time of the daemon, in ms since the epoch (UTC). Every "now" of the
 * I/O modules comes from here; the pure modules take now as a parameter.
 */
#ifndef INCIDENTD_DAEMON_SYS_CLOCK_H
#define INCIDENTD_DAEMON_SYS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A monotonic time in ns, for durations (the metrics): unaffected by changes of the wall clock. */
static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The seconds since the monotonic time started_ns. */
static inline double clock_since_s(uint64_t started_ns)
{
	return (double)(clock_mono_ns() - started_ns) / 1e9;
}

#endif
