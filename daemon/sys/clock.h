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

#endif
