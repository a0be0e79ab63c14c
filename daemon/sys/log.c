/*
 * log: one line per event on stderr, after OpenNTPD's log.c.
 *
 * Each line is built whole in a buffer and written with a single write(2), so lines from
 * different threads never interleave.
 */
#include "daemon/sys/log.h"

#include "daemon/sys/clock.h"

#include "proto/rfc3339.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static volatile bool s_verbose;

/* Shows log_debug lines when verbose is true. See log.h. */
void log_set_verbose(bool verbose)
{
	s_verbose = verbose;
}

/* Writes all of buf to stderr, retrying after signals and short writes. */
static void s_write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report it */
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Copies text into out (room bytes, room >= 1, NUL-terminated) with every control byte (below
 * 0x20, and 0x7f) written as \xNN, so that text from a peer can neither start a log line of
 * its own nor send escape sequences to an operator's terminal. Returns the length written;
 * an escape that does not fit whole is left out.
 */
static size_t s_escape(char *out, size_t room, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		bool control = *p < 0x20 || *p == 0x7f;
		size_t need = control ? 4 : 1;
		if (len + need >= room)
			break;
		if (control) {
			out[len++] = '\\';
			out[len++] = 'x';
			out[len++] = hex[*p >> 4];
			out[len++] = hex[*p & 0xf];
		} else {
			out[len++] = (char)*p;
		}
	}
	out[len] = '\0';
	return len;
}

/*
 * Formats one line, "TIME LEVEL message[: strerror(errnum)]\n", into line (LOG_LINE_MAX
 * bytes); returns its length. Control characters in the message are escaped (s_escape).
 */
static size_t s_format(char *line, const char *level, int errnum, const char *fmt, va_list ap)
{
	char when[RFC3339_BUFSZ], errbuf[128], message[LOG_LINE_MAX];
	int head = snprintf(line, LOG_LINE_MAX, "%s %-5s ", rfc3339_format(clock_now_ms(), when), level);
	size_t len = (size_t)head;
	vsnprintf(message, sizeof message, fmt, ap);
	/* One byte is kept for the newline. */
	len += s_escape(line + len, LOG_LINE_MAX - 1 - len, message);
	if (errnum != 0) {
		const char *reason = strerror_r(errnum, errbuf, sizeof errbuf);
		if (LOG_LINE_MAX - 1 - len > 2) {
			memcpy(line + len, ": ", 2);
			len += 2;
			len += s_escape(line + len, LOG_LINE_MAX - 1 - len, reason);
		}
	}
	line[len++] = '\n';
	return len;
}

static void s_log(const char *level, int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len = s_format(line, level, errnum, fmt, ap);
	s_write_all(line, len);
}

/* Keeps an info line for log_buf_flush(); written at once when it cannot be kept. See log.h. */
void log_buf_info(log_buf_t *b, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	size_t len = s_format(line, "info", 0, fmt, ap);
	va_end(ap);
	if (!b) {
		s_write_all(line, len);
		return;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		char *buf = realloc(b->buf, cap);
		if (!buf) {
			s_write_all(line, len);
			return;
		}
		b->buf = buf;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, line, len);
	b->len += len;
}

/* Writes the kept lines in one go. See log.h. */
void log_buf_flush(log_buf_t *b)
{
	s_write_all(b->buf, b->len);
	b->len = 0;
}

/* Drops the kept lines. See log.h. */
void log_buf_discard(log_buf_t *b)
{
	b->len = 0;
}

/* Frees the buffer. See log.h. */
void log_buf_free(log_buf_t *b)
{
	free(b->buf);
	*b = (log_buf_t){ NULL, 0, 0 };
}

/* Logs at level info. See log.h. */
void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	s_log("info", 0, fmt, ap);
	va_end(ap);
}

/* Logs at level debug, only when verbose. See log.h. */
void log_debug(const char *fmt, ...)
{
	va_list ap;
	if (!s_verbose)
		return;
	va_start(ap, fmt);
	s_log("debug", 0, fmt, ap);
	va_end(ap);
}

/* Logs a warning followed by ": strerror(errno)". See log.h. */
void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	s_log("warn", saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Logs a warning without errno. See log.h. */
void log_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	s_log("warn", 0, fmt, ap);
	va_end(ap);
}

/* Logs an error followed by ": strerror(errno)" and exits with status 1. See log.h. */
void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	s_log("error", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Logs an error and exits with status 1. See log.h. */
void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	s_log("error", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
