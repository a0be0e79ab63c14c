/*
 * http_loadgen: HTTP ingest load for bench/run-http. N keep-alive connections (libcurl multi,
 * one easy handle per connection, one request in flight on each: HTTP/1.1 without pipelining)
 * POST events to /v1/events, B per request ({"events": [...]} when B > 1). Each connection is
 * one provider reporting incidents stage by stage (detected, notified, acknowledged, resolved),
 * like bench_loadgen. Prints acknowledged events/s and request latency percentiles.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

static const char *const s_stages[] = {"detected", "notified", "acknowledged", "resolved"};
static const int s_stage_offset_s[] = {0, 10, 20, 90};

typedef struct {
	CURL *easy;
	char *body;
	size_t cap;
	char *reply;
	size_t reply_len;
	long next;            /* this connection's next event number */
	int in_request;       /* events in the request in flight */
	double sent_at;
	int conn;
} conn_t;

static struct {
	const char *url, *token;
	int connections, batch;
	long events;
	char runid[32];
	double base_s;        /* reported time of the first incident */
} s_opt = { NULL, NULL, 8, 1, 100000, "", 0 };

static double *s_lat;
static size_t s_nlat;
static long s_acked, s_refused;

static double s_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t s_on_body(char *p, size_t size, size_t n, void *arg)
{
	conn_t *c = arg;
	char *grown = realloc(c->reply, c->reply_len + size * n + 1);
	if (!grown)
		return 0;
	memcpy(grown + c->reply_len, p, size * n);
	c->reply = grown;
	c->reply_len += size * n;
	c->reply[c->reply_len] = '\0';
	return size * n;
}

/* Event number k of connection conn as JSON into out. */
static int s_event(int conn, long k, char *out, size_t len)
{
	long incident = k / 4;
	int stage = (int)(k % 4);
	time_t at = (time_t)(s_opt.base_s + (double)incident * 0.1) + s_stage_offset_s[stage];
	struct tm tm;
	char when[32];
	gmtime_r(&at, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return snprintf(out, len,
			"{\"provider\":\"hbench-p%d-%s\",\"event_id\":\"e%ld\",\"ref\":\"r%ld\","
			"\"stage\":\"%s\",\"at\":\"%s\",\"category\":3,\"title\":\"bench\"}",
			conn, s_opt.runid, k, incident, s_stages[stage], when);
}

/* Fills the connection's next request; false when its share is sent. */
static int s_fill(conn_t *c, long share)
{
	size_t at = 0;
	int n = 0;
	if (c->next >= share)
		return 0;
	if (s_opt.batch > 1)
		at += (size_t)snprintf(c->body, c->cap, "{\"events\":[");
	for (; n < s_opt.batch && c->next < share; n++, c->next++) {
		if (n)
			c->body[at++] = ',';
		at += (size_t)s_event(c->conn, c->next, c->body + at, c->cap - at);
	}
	if (s_opt.batch > 1)
		at += (size_t)snprintf(c->body + at, c->cap - at, "]}");
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)at);
	c->in_request = n;
	c->reply_len = 0;
	c->sent_at = s_now();
	return n;
}

static int s_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static long s_count(const char *s, const char *needle)
{
	long n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'}, {"token", required_argument, NULL, 't'},
		{"connections", required_argument, NULL, 'c'}, {"events", required_argument, NULL, 'n'},
		{"batch", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u': s_opt.url = optarg; break;
		case 't': s_opt.token = optarg; break;
		case 'c': s_opt.connections = atoi(optarg); break;
		case 'n': s_opt.events = atol(optarg); break;
		case 'b': s_opt.batch = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: http_loadgen --url URL --token T [--connections N] "
					"[--events N] [--batch B]\n");
			return 2;
		}
	}
	if (!s_opt.url || !s_opt.token || s_opt.connections < 1 || s_opt.batch < 1 ||
	    s_opt.events < 1)
		return 2;
	snprintf(s_opt.runid, sizeof s_opt.runid, "%ld%d", (long)time(NULL), (int)getpid());
	s_opt.base_s = (double)time(NULL) - 86400;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURLM *multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s_opt.connections);
	char auth[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_opt.token);
	struct curl_slist *headers = curl_slist_append(NULL, auth);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	long share = s_opt.events / s_opt.connections;
	conn_t *conns = calloc((size_t)s_opt.connections, sizeof *conns);
	s_lat = calloc((size_t)(share / s_opt.batch + 2) * (size_t)s_opt.connections, sizeof *s_lat);
	double t0 = s_now();
	for (int i = 0; i < s_opt.connections; i++) {
		conn_t *c = &conns[i];
		c->conn = i;
		c->cap = (size_t)s_opt.batch * 512 + 64;
		c->body = malloc(c->cap);
		c->easy = curl_easy_init();
		curl_easy_setopt(c->easy, CURLOPT_URL, s_opt.url);
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, s_on_body);
		curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
		curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
		curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
		if (s_fill(c, share))
			curl_multi_add_handle(multi, c->easy);
	}
	int running = 1;
	while (running) {
		curl_multi_perform(multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			conn_t *c;
			long status = 0;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			s_lat[s_nlat++] = s_now() - c->sent_at;
			long ok = c->reply ? s_count(c->reply, "\"ok\":true") : 0;
			s_acked += ok;
			if (m->data.result != CURLE_OK || status != 200 || ok != c->in_request)
				s_refused++;
			if (s_refused == 1 && (m->data.result != CURLE_OK || status != 200))
				fprintf(stderr, "http_loadgen: %s status %ld: %.200s\n",
					curl_easy_strerror(m->data.result), status,
					c->reply ? c->reply : "");
			curl_multi_remove_handle(multi, m->easy_handle);
			if (s_fill(c, share)) {
				curl_multi_add_handle(multi, c->easy);
				running = 1;
			}
		}
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	double took = s_now() - t0;
	qsort(s_lat, s_nlat, sizeof *s_lat, s_cmp);
	printf("{\"events_per_s\":%.0f,\"acked\":%ld,\"requests\":%zu,\"failed_requests\":%ld,"
	       "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"seconds\":%.2f,\"connections\":%d,\"batch\":%d}\n",
	       (double)s_acked / took, s_acked, s_nlat, s_refused,
	       s_nlat ? s_lat[s_nlat / 2] * 1000 : 0, s_nlat ? s_lat[s_nlat * 99 / 100] * 1000 : 0,
	       took, s_opt.connections, s_opt.batch);
	for (int i = 0; i < s_opt.connections; i++) {
		curl_easy_cleanup(conns[i].easy);
		free(conns[i].body);
		free(conns[i].reply);
	}
	free(conns);
	free(s_lat);
	curl_slist_free_all(headers);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	return s_refused ? 1 : 0;
}
