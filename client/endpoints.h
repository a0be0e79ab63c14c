/*
 * endpoints: the list of API endpoints incidentctl may send a request to, as -e (or
 * $INCIDENTD_API, or watch's --publish) names them: one endpoint, or several separated by
 * commas ("tcp://10.0.0.1:7420,tcp://10.0.0.2:7420"), the nodes of one cluster tried in order.
 * Pure: no ZeroMQ, so that its rules are tested alone.
 */
#ifndef INCIDENTD_CLIENT_ENDPOINTS_H
#define INCIDENTD_CLIENT_ENDPOINTS_H

#include <stddef.h>

/* At most this many endpoints in one list, and this many bytes in the list's text. */
#define ENDPOINTS_MAX 16
#define ENDPOINTS_TEXT_MAX 4096
/* Room for endpoints_parse()'s error message. */
#define ENDPOINTS_ERRSZ 256

typedef struct {
	size_t count;                    /* 1 to ENDPOINTS_MAX once parsed */
	const char *item[ENDPOINTS_MAX]; /* the endpoints in the order given; point into text */
	char text[ENDPOINTS_TEXT_MAX];   /* a copy of the list, cut at the separators */
} endpoints_t;

/*
 * Splits text into out. Text without a comma is one endpoint exactly as typed (spaces
 * included: what ZeroMQ makes of it is what incidentctl always did with one endpoint). In a
 * list each item is trimmed of white space around it.
 *
 * Returns 0, or -EINVAL with a sentence in err (errsz bytes, ENDPOINTS_ERRSZ suffices) naming
 * what is wrong: an empty item ("a,,b", a leading or trailing comma: a typo more often than a
 * wish), more than ENDPOINTS_MAX items, or a text of ENDPOINTS_TEXT_MAX bytes or more. The items
 * point into out->text: pass out by pointer, never a copy of it.
 */
int endpoints_parse(const char *text, endpoints_t *out, char *err, size_t errsz);

/*
 * Writes the endpoints of list, separated by ", ", into buf (size bytes; cut short when it
 * does not fit), for messages that name every endpoint. Returns buf.
 */
const char *endpoints_format(const endpoints_t *list, char *buf, size_t size);

#endif
