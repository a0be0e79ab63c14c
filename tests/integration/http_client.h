/*
 * http_client: the integration tests' HTTP side, on libcurl (requests) and raw sockets (a
 * client that trickles its body).
 */
#ifndef INCIDENTD_TESTS_INTEGRATION_HTTP_CLIENT_H
#define INCIDENTD_TESTS_INTEGRATION_HTTP_CLIENT_H

#include <stddef.h>

/* One answer: the status (0 when no answer came) and the body (malloc'd, NUL-terminated). */
typedef struct {
	long status;
	char *body;
	char www_authenticate[128]; /* the header's value, or "" */
	char content_type[128];     /* the Content-Type header's value, or "" */
} hc_answer_t;

void hc_answer_clear(hc_answer_t *a);

/*
 * Sends method to url with body (may be NULL) of content_type (NULL: none) and, when token is
 * not NULL, "Authorization: Bearer TOKEN" (an https:// url is not verified: the tests'
 * certificates are self-signed). Waits at most timeout_ms. Returns 0 with *a filled,
 * or -1 (no answer).
 */
int hc_request(const char *method, const char *url, const char *token, const char *content_type,
	       const char *body, size_t len, int timeout_ms, hc_answer_t *a);

/* The SHA-256 of token in 64 hex digits (out: 65 bytes), as [client] token_sha256 takes it. */
void hc_token_sha256(const char *token, char out[65]);

#endif
