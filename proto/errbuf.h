/*
 * errbuf: the error message of a function that reports into a caller's buffer (char *err,
 * size_t errlen) and returns -1.
 */
#ifndef INCIDENTD_PROTO_ERRBUF_H
#define INCIDENTD_PROTO_ERRBUF_H

#include <stddef.h>

/* Writes the message (truncated to errlen) into err. Returns -1, for `return errbuf_fail(...)`. */
int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
