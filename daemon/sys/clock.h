/*
 * clock: the wall-clock time of the daemon, in ms since the epoch (UTC). Every "now" of the
 * I/O modules comes from here; the pure modules take now as a parameter.
 */
#ifndef INCIDENTD_DAEMON_SYS_CLOCK_H
#define INCIDENTD_DAEMON_SYS_CLOCK_H

#include <pthread.h>
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

/* A monotonic time in ms, for timeouts and ages. */
static inline int64_t clock_mono_ms(void)
{
	return (int64_t)(clock_mono_ns() / 1000000);
}

/*
 * The time ms milliseconds from now on clock (CLOCK_MONOTONIC or CLOCK_REALTIME, as the
 * condition variable it is for was made): the deadline of a pthread_cond_timedwait().
 */
static inline struct timespec clock_timespec_in(clockid_t clock, int64_t ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/*
 * Makes cond wait on CLOCK_MONOTONIC, so that its timed waits (until clock_timespec_in(
 * CLOCK_MONOTONIC, ms)) are not moved by a change of the wall clock.
 */
static inline void clock_cond_init_mono(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* The seconds since the monotonic time started_ns. */
static inline double clock_since_s(uint64_t started_ns)
{
	return (double)(clock_mono_ns() - started_ns) / 1e9;
}

#endif
