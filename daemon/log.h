/*
 * log: one line per event on stderr, level and UTC time first:
 *   "2021-01-12T03:14:00.000Z info  listening on tcp://127.0.0.1:7420"
 * After OpenNTPD's log.c: log_warn adds strerror(errno), log_warnx does not; fatal and fatalx
 * log and exit(1). Thread-safe: each line is one write(2).
 */
#ifndef INCIDENTD_DAEMON_LOG_H
#define INCIDENTD_DAEMON_LOG_H

#include <stdbool.h>

/* Shows log_debug lines when verbose is true (default false). */
void log_set_verbose(bool verbose);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
