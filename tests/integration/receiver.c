/*
 * receiver: a keep-alive webhook receiver on 127.0.0.1 for the hook tests. See receiver.h.
 */
#include "receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* A request head or body larger than this closes the connection. */
#define RECEIVER_BUF_MAX (1 << 20)

int h_receiver_bind(h_receiver_t *r, int hang_first, int fail_first)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mutex, NULL);
	r->bound = true;
	r->hang_first = hang_first;
	r->fail_first = fail_first;
	for (int i = 0; i < H_RECEIVER_CONNS; i++)
		r->conns[i].fd = -1;
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	if (bind(r->fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(r->fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	r->port = ntohs(a.sin_port);
	return 0;
}

/* Case-insensitive: the value of header name in the head (NUL-terminated), copied into out. */
static void s_header(const char *head, const char *name, char *out, size_t size)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = strcspn(v, "\r\n");
			snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), v);
			return;
		}
	}
}

/*
 * The length of the first whole request in buf (head and Content-Length body), 0 when it is
 * not all there yet, -1 when it is malformed. *head_len is the head's length with its CRLFCRLF.
 */
static long s_request_len(char *buf, size_t len, size_t *head_len)
{
	char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end)
		return len > RECEIVER_BUF_MAX ? -1 : 0;
	char saved = end[2], cl[32];
	end[2] = '\0';
	s_header(buf, "Content-Length", cl, sizeof cl);
	end[2] = saved;
	long body = cl[0] ? strtol(cl, NULL, 10) : 0;
	*head_len = (size_t)(end + 4 - buf);
	if (body < 0 || body > RECEIVER_BUF_MAX)
		return -1;
	return *head_len + (size_t)body <= len ? (long)(*head_len + (size_t)body) : 0;
}

/* Records one whole request and decides its answer: 0 (none), 500 or 200. */
static int s_record(h_receiver_t *r, char *buf, size_t head_len, size_t total)
{
	h_received_t q;
	memset(&q, 0, sizeof q);
	char saved = buf[head_len - 2];
	buf[head_len - 2] = '\0';
	sscanf(buf, "%15s %127s", q.method, q.path);
	s_header(buf, "X-Incidentd-Delivery", q.delivery, sizeof q.delivery);
	s_header(buf, "X-Incidentd-Topic", q.topic, sizeof q.topic);
	s_header(buf, "X-Incidentd-Signature", q.signature, sizeof q.signature);
	buf[head_len - 2] = saved;
	q.at_ms = h_now_ms();
	pthread_mutex_lock(&r->mutex);
	int i = r->n++;
	q.status = i < r->hang_first ? 0 : i < r->hang_first + r->fail_first ? 500 : 200;
	r->ok += q.status == 200;
	if (i < H_RECEIVER_KEPT) {
		q.body_len = total - head_len;
		q.body = malloc(q.body_len + 1);
		if (q.body) {
			memcpy(q.body, buf + head_len, q.body_len);
			q.body[q.body_len] = '\0';
		}
		r->req[i] = q;
	}
	pthread_mutex_unlock(&r->mutex);
	return q.status;
}

static void s_conn_close(h_conn_t *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* Answers every whole request the connection has sent; false when it must be closed. */
static bool s_conn_serve(h_receiver_t *r, h_conn_t *c)
{
	for (;;) {
		size_t head_len = 0;
		long n = s_request_len(c->buf, c->len, &head_len);
		if (n <= 0)
			return n == 0;
		int status = s_record(r, c->buf, head_len, (size_t)n);
		memmove(c->buf, c->buf + n, c->len - (size_t)n);
		c->len -= (size_t)n;
		if (status == 0) {
			c->hanging = true;
			return true;
		}
		const char *reply = status == 200
			? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
			: "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
		if (send(c->fd, reply, strlen(reply), MSG_NOSIGNAL) < 0)
			return false;
	}
}

/* Reads what the connection has; false when it is closed or broken. */
static bool s_conn_read(h_receiver_t *r, h_conn_t *c)
{
	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 65536;
		char *buf = cap <= 2 * RECEIVER_BUF_MAX ? realloc(c->buf, cap + 1) : NULL;
		if (!buf)
			return false;
		c->buf = buf;
		c->cap = cap;
	}
	ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (got <= 0)
		return got < 0 && (errno == EAGAIN || errno == EINTR);
	c->len += (size_t)got;
	/* A hanging connection is only watched for its close. */
	return c->hanging ? true : s_conn_serve(r, c);
}

static void s_accept(h_receiver_t *r)
{
	int fd = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < H_RECEIVER_CONNS; i++) {
		if (r->conns[i].fd < 0) {
			r->conns[i].fd = fd;
			pthread_mutex_lock(&r->mutex);
			r->connections++;
			pthread_mutex_unlock(&r->mutex);
			return;
		}
	}
	close(fd); /* more connections than a test needs */
}

static void *s_main(void *arg)
{
	h_receiver_t *r = arg;
	struct pollfd p[1 + H_RECEIVER_CONNS];
	while (!atomic_load(&r->stop)) {
		p[0] = (struct pollfd){r->fd, POLLIN, 0};
		for (int i = 0; i < H_RECEIVER_CONNS; i++)
			p[1 + i] = (struct pollfd){r->conns[i].fd, POLLIN, 0};
		if (poll(p, 1 + H_RECEIVER_CONNS, 50) <= 0)
			continue;
		for (int i = 0; i < H_RECEIVER_CONNS; i++)
			if (r->conns[i].fd >= 0 && (p[1 + i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !s_conn_read(r, &r->conns[i]))
				s_conn_close(&r->conns[i]);
		if (p[0].revents & POLLIN)
			s_accept(r);
	}
	return NULL;
}

int h_receiver_start(h_receiver_t *r)
{
	if (listen(r->fd, 64) < 0)
		return -1;
	if (pthread_create(&r->thread, NULL, s_main, r) != 0)
		return -1;
	r->running = true;
	return 0;
}

void h_receiver_stop(h_receiver_t *r)
{
	if (!r->bound)
		return;
	if (r->running) {
		atomic_store(&r->stop, true);
		pthread_join(r->thread, NULL);
		r->running = false;
	}
	for (int i = 0; i < H_RECEIVER_CONNS; i++)
		if (r->conns[i].fd >= 0 || r->conns[i].buf)
			s_conn_close(&r->conns[i]);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	for (int i = 0; i < r->n && i < H_RECEIVER_KEPT; i++)
		free(r->req[i].body);
	r->n = 0;
	pthread_mutex_destroy(&r->mutex);
	r->bound = false;
}

void h_receiver_counts(h_receiver_t *r, int *requests, int *ok, int *connections)
{
	pthread_mutex_lock(&r->mutex);
	if (requests)
		*requests = r->n;
	if (ok)
		*ok = r->ok;
	if (connections)
		*connections = r->connections;
	pthread_mutex_unlock(&r->mutex);
}

int h_receiver_wait(h_receiver_t *r, int n, bool ok, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	for (;;) {
		int requests, oks;
		h_receiver_counts(r, &requests, &oks, NULL);
		int got = ok ? oks : requests;
		if (got >= n || h_mono_ms() >= deadline)
			return got;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
}
