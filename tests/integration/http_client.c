/*
 * http_client: see http_client.h.
 */
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/sha.h>

typedef struct {
	char *data;
	size_t len;
} buf_t;

static size_t s_on_body(char *ptr, size_t size, size_t n, void *arg)
{
	buf_t *b = arg;
	char *grown = realloc(b->data, b->len + size * n + 1);
	if (!grown)
		return 0;
	memcpy(grown + b->len, ptr, size * n);
	b->data = grown;
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

static size_t s_on_header(char *ptr, size_t size, size_t n, void *arg)
{
	hc_answer_t *a = arg;
	size_t len = size * n;
	static const char name[] = "WWW-Authenticate:";
	if (len > sizeof name && strncasecmp(ptr, name, sizeof name - 1) == 0) {
		const char *v = ptr + sizeof name - 1;
		while (*v == ' ')
			v++;
		snprintf(a->www_authenticate, sizeof a->www_authenticate, "%.*s",
			 (int)strcspn(v, "\r\n"), v);
	}
	return len;
}

void hc_answer_clear(hc_answer_t *a)
{
	free(a->body);
	memset(a, 0, sizeof *a);
}

int hc_request(const char *method, const char *url, const char *token, const char *content_type,
	       const char *body, size_t len, int timeout_ms, hc_answer_t *a)
{
	memset(a, 0, sizeof *a);
	CURL *c = curl_easy_init();
	if (!c)
		return -1;
	struct curl_slist *headers = NULL;
	char line[512];
	if (token) {
		snprintf(line, sizeof line, "Authorization: Bearer %s", token);
		headers = curl_slist_append(headers, line);
	}
	if (content_type) {
		snprintf(line, sizeof line, "Content-Type: %s", content_type);
		headers = curl_slist_append(headers, line);
	} else {
		headers = curl_slist_append(headers, "Content-Type:");
	}
	headers = curl_slist_append(headers, "Expect:");
	buf_t b = { 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* The tests' HTTPS daemon has a self-signed certificate made for the test. */
	if (strncmp(url, "https://", 8) == 0) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		char *type = NULL;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
		snprintf(a->content_type, sizeof a->content_type, "%s", type ? type : "");
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	a->body = b.data ? b.data : strdup("");
	return rc == CURLE_OK ? 0 : -1;
}

void hc_token_sha256(const char *token, char out[65])
{
	unsigned char sha[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)token, strlen(token), sha);
	for (size_t i = 0; i < sizeof sha; i++)
		snprintf(out + 2 * i, 3, "%02x", sha[i]);
}
