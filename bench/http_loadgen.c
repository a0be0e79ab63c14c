/*
 * http_loadgen: HTTP ingest load for bench/run-http. N keep-alive connections (plain sockets
 * and epoll, one request in flight on each: HTTP/1.1 without pipelining) POST events to
 * /v1/events, B per request ({"events": [...]} when B > 1). Each connection is one provider
 * reporting incidents stage by stage (detected, notified, acknowledged, resolved), like
 * bench_loadgen. Prints acknowledged events/s, request latency percentiles and its own CPU per
 * request.
 *
 * It speaks just enough HTTP/1.1 for incidentd's answers (a status line, headers with
 * Content-Length, the body) so that it costs the shared cores little: libcurl multi cost about
 * 68 us of CPU per request here, as much as the daemon (bench/README.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *const s_stages[] = {"detected", "notified", "acknowledged", "resolved"};
static const int s_stage_offset_s[] = {0, 10, 20, 90};

typedef struct {
	int fd;
	char *body;           /* the JSON of the request being built */
	size_t cap;
	char *out;            /* the request: head and body */
	size_t out_len, out_at;
	char *in;             /* the answer read so far */
	size_t in_len, in_cap;
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
static long s_acked, s_refused, s_reconnects;

static double s_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static char s_head[1024]; /* the request head up to "Content-Length: " */
static size_t s_head_len;

/* Fills the connection's next request; 0 when its share is sent. */
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
	memcpy(c->out, s_head, s_head_len);
	c->out_len = s_head_len + (size_t)sprintf(c->out + s_head_len, "%zu\r\n\r\n", at);
	memcpy(c->out + c->out_len, c->body, at);
	c->out_len += at;
	c->out_at = 0;
	c->in_request = n;
	c->in_len = 0;
	c->sent_at = s_now();
	return n;
}

/* Writes what the socket takes of the request; -1 on an error. */
static int s_write(conn_t *c)
{
	while (c->out_at < c->out_len) {
		ssize_t w = write(c->fd, c->out + c->out_at, c->out_len - c->out_at);
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		c->out_at += (size_t)w;
	}
	return 0;
}

/*
 * The status and body of a complete answer in c->in: 1 when complete, 0 when more is to
 * come, -1 when it is not an answer this loadgen understands.
 */
static int s_answer(conn_t *c, int *status, const char **body, size_t *body_len)
{
	c->in[c->in_len] = '\0';
	char *end = strstr(c->in, "\r\n\r\n");
	if (!end)
		return 0;
	if (sscanf(c->in, "HTTP/1.%*d %d", status) != 1)
		return -1;
	long len = -1;
	for (char *line = strstr(c->in, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
		if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
			len = atol(line + 17);
	if (len < 0)
		return -1;
	if (c->in_len < (size_t)(end + 4 - c->in) + (size_t)len)
		return 0;
	*body = end + 4;
	*body_len = (size_t)len;
	return 1;
}

/* (Re)connects c and watches it; -1 with errno set. */
static int s_connect(int ep, conn_t *c, const struct sockaddr_in *addr)
{
	int one = 1;
	if (c->fd >= 0)
		close(c->fd); /* leaves the epoll set with it */
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	c->out_at = 0;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
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
	int port;
	char host[64], path[256];
	if (sscanf(s_opt.url, "http://%63[^:/]:%d%255s", host, &port, path) != 3) {
		fprintf(stderr, "http_loadgen: --url http://IPV4:PORT/PATH\n");
		return 2;
	}
	s_head_len = (size_t)snprintf(s_head, sizeof s_head,
				      "POST %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
				      "Content-Type: application/json\r\nContent-Length: ",
				      path, host, port, s_opt.token);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "http_loadgen: %s: expected an IPv4 address\n", host);
		return 2;
	}
	int ep = epoll_create1(0);
	long share = s_opt.events / s_opt.connections;
	conn_t *conns = calloc((size_t)s_opt.connections, sizeof *conns);
	s_lat = calloc((size_t)(share / s_opt.batch + 2) * (size_t)s_opt.connections, sizeof *s_lat);
	int active = 0;
	double t0 = s_now();
	for (int i = 0; i < s_opt.connections; i++) {
		conn_t *c = &conns[i];
		c->conn = i;
		c->cap = (size_t)s_opt.batch * 512 + 64;
		c->body = malloc(c->cap);
		c->out = malloc(c->cap + sizeof s_head + 32);
		c->in_cap = 65536;
		c->in = malloc(c->in_cap + 1);
		c->fd = -1;
		if (s_connect(ep, c, &addr) < 0) {
			perror("http_loadgen: connect");
			return 1;
		}
		if (s_fill(c, share)) {
			active++;
			if (s_write(c) < 0) /* a request fits the socket's buffer: no EPOLLOUT */
				return 1;
		}
	}
	struct epoll_event evs[256];
	while (active > 0) {
		int n = epoll_wait(ep, evs, 256, 1000);
		for (int k = 0; k < n; k++) {
			conn_t *c = evs[k].data.ptr;
			ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				/* Closed with a request in flight: sent again on a new connection, as
				 * libcurl does by itself (the same event_id: a duplicate at worst). */
				s_reconnects++;
				if (c->in_len || s_connect(ep, c, &addr) < 0 || s_write(c) < 0) {
					fprintf(stderr, "http_loadgen: connection %d: %s\n", c->conn,
						r < 0 ? strerror(errno) : "closed by the server");
					return 1;
				}
				continue;
			}
			c->in_len += (size_t)r;
			int status = 0;
			const char *body;
			size_t body_len;
			int rc = s_answer(c, &status, &body, &body_len);
			if (rc < 0 || (rc == 0 && c->in_len == c->in_cap)) {
				fprintf(stderr, "http_loadgen: an answer not understood: %.200s\n", c->in);
				return 1;
			}
			if (rc == 0)
				continue;
			s_lat[s_nlat++] = s_now() - c->sent_at;
			long ok = s_count(body, "\"ok\":true");
			s_acked += ok;
			if (status != 200 || ok != c->in_request) {
				if (++s_refused == 1)
					fprintf(stderr, "http_loadgen: status %d: %.*s\n", status,
						(int)(body_len < 200 ? body_len : 200), body);
			}
			if (!s_fill(c, share))
				active--;
			else if (s_write(c) < 0)
				return 1;
		}
	}
	double took = s_now() - t0;
	qsort(s_lat, s_nlat, sizeof *s_lat, s_cmp);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"events_per_s\":%.0f,\"acked\":%ld,\"requests\":%zu,\"failed_requests\":%ld,"
	       "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"seconds\":%.2f,\"connections\":%d,\"batch\":%d,"
	       "\"reconnects\":%ld,\"loadgen_us_per_request\":%.1f}\n",
	       (double)s_acked / took, s_acked, s_nlat, s_refused,
	       s_nlat ? s_lat[s_nlat / 2] * 1000 : 0, s_nlat ? s_lat[s_nlat * 99 / 100] * 1000 : 0,
	       took, s_opt.connections, s_opt.batch, s_reconnects, s_nlat ? cpu_s * 1e6 / (double)s_nlat : 0);
	for (int i = 0; i < s_opt.connections; i++) {
		close(conns[i].fd);
		free(conns[i].body);
		free(conns[i].out);
		free(conns[i].in);
	}
	free(conns);
	free(s_lat);
	close(ep);
	return s_refused ? 1 : 0;
}
