/*
 * log: one line per event on stderr, level and UTC time first:
 *   "2021-01-12T03:14:00.000Z info  listening on tcp://127.0.0.1:7420"
 * After OpenNTPD's log.c: log_warn adds strerror(errno), log_warnx does not; fatal and fatalx
 * log and exit(1). Thread-safe: each line is one write(2).
 */
#ifndef INCIDENTD_DAEMON_SYS_LOG_H
#define INCIDENTD_DAEMON_SYS_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Shows log_debug lines when verbose is true (default false). */
void log_set_verbose(bool verbose);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A buffer of info lines kept for later: the writer thread logs the breaches of a batch only
 * once that batch is committed (an aborted batch's lines are discarded), with one write for
 * all of them. Zero-initialise it ({0}).
 */
typedef struct {
	char *buf;
	size_t len;
	size_t cap;
} log_buf_t;

/* Formats an info line (timestamped now) into b; writes it at once when b is NULL or full. */
void log_buf_info(log_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the lines kept in b to stderr and empties b. */
void log_buf_flush(log_buf_t *b);

/* Empties b without writing. */
void log_buf_discard(log_buf_t *b);

/* Frees what b holds. */
void log_buf_free(log_buf_t *b);

#endif
