/*
 * bench_hook_receiver: the webhook receiver of bench/run-hooks. A single-threaded HTTP/1.1
 * server on 127.0.0.1 (loopback only) with keep-alive, which reads each request whole
 * (Content-Length) and answers "200" at once, and counts the requests.
 *
 *   bench_hook_receiver --port P --expect N [--timeout S]
 *
 * It exits once N requests were answered, or after S seconds (default 600), or on SIGTERM or
 * SIGINT, and prints one JSON line on stdout: {"requests", "first_ms", "last_ms", "seconds",
 * "per_s", "connections", "complete"}, where first and last are the monotonic times (ms) at
 * which the first and the last request were read and per_s is (requests - 1) / (last - first).
 * Exit status 0 when N requests came, 1 otherwise, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/common.h"

#define PROG "bench_hook_receiver"
#define MAX_CONNS 64
#define BUF_CAP (256 * 1024)

typedef struct {
    int fd;       /* -1: a free slot */
    char *buf;    /* BUF_CAP bytes: a request larger than that closes the connection */
    size_t len;
} conn_t;

typedef struct {
    int listen_fd;
    conn_t conns[MAX_CONNS];
    uint64_t expect;
    uint64_t requests;
    uint64_t connections;
    uint64_t first_ns, last_ns;
} receiver_t;

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: " PROG " --port P --expect N [--timeout S]\n");
}

/* The value of Content-Length in a head of len bytes (0 when absent). */
static long s_content_length(const char *head, size_t len)
{
    static const char name[] = "\r\ncontent-length:";
    for (size_t i = 0; i + sizeof name - 1 < len; i++)
        if (strncasecmp(head + i, name, sizeof name - 1) == 0)
            return strtol(head + i + sizeof name - 1, NULL, 10);
    return 0;
}

/* Answers every whole request the connection holds; false when it must be closed. */
static bool s_serve(receiver_t *r, conn_t *c)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end)
            return c->len < BUF_CAP;
        size_t head = (size_t)(end + 4 - c->buf);
        long body = s_content_length(c->buf, head);
        if (body < 0 || head + (size_t)body > BUF_CAP)
            return false;
        if (c->len < head + (size_t)body)
            return true;
        uint64_t now = bench_mono_ns();
        if (r->requests++ == 0)
            r->first_ns = now;
        r->last_ns = now;
        memmove(c->buf, c->buf + head + body, c->len - head - (size_t)body);
        c->len -= head + (size_t)body;
        if (send(c->fd, ok, sizeof ok - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof ok - 1))
            return false;
    }
}

static void s_close(conn_t *c)
{
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static void s_accept(receiver_t *r)
{
    int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CONNS; i++) {
        if (r->conns[i].fd < 0) {
            r->conns[i].fd = fd;
            r->connections++;
            return;
        }
    }
    close(fd);
}

/* Reads and answers what one connection sent. */
static void s_read(receiver_t *r, conn_t *c)
{
    ssize_t n = recv(c->fd, c->buf + c->len, BUF_CAP - c->len, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        s_close(c);
        return;
    }
    c->len += (size_t)n;
    if (!s_serve(r, c))
        s_close(c);
}

/* Serves until expect requests were answered, the deadline passes or a signal comes. */
static void s_run(receiver_t *r, uint64_t deadline_ns)
{
    struct pollfd p[1 + MAX_CONNS];
    while (!s_stop && r->requests < r->expect && bench_mono_ns() < deadline_ns) {
        p[0] = (struct pollfd){ r->listen_fd, POLLIN, 0 };
        for (int i = 0; i < MAX_CONNS; i++)
            p[1 + i] = (struct pollfd){ r->conns[i].fd, POLLIN, 0 };
        if (poll(p, 1 + MAX_CONNS, 100) <= 0)
            continue;
        for (int i = 0; i < MAX_CONNS; i++)
            if (r->conns[i].fd >= 0 && (p[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
                s_read(r, &r->conns[i]);
        if (p[0].revents & POLLIN)
            s_accept(r);
    }
}

/* Listens on 127.0.0.1:port. Returns the socket or -1 after a message. */
static int s_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
        fprintf(stderr, PROG ": listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void s_report(const receiver_t *r)
{
    double first = (double)r->first_ns / 1e6, last = (double)r->last_ns / 1e6;
    double seconds = (last - first) / 1000.0;
    double per_s = r->requests > 1 && seconds > 0 ? (double)(r->requests - 1) / seconds : 0;
    printf("{\"requests\":%llu,\"first_ms\":%.3f,\"last_ms\":%.3f,\"seconds\":%.3f,"
           "\"per_s\":%.0f,\"connections\":%llu,\"complete\":%s}\n",
           (unsigned long long)r->requests, first, last, seconds, per_s,
           (unsigned long long)r->connections, r->requests >= r->expect ? "true" : "false");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "port", required_argument, NULL, 'p' },
        { "expect", required_argument, NULL, 'n' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t port = 0, expect = 0, timeout_s = 600;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'p': rc = bench_parse_u64(optarg, 1, 65535, &port); break;
        case 'n': rc = bench_parse_u64(optarg, 1, UINT64_MAX / 2, &expect); break;
        case 't': rc = bench_parse_u64(optarg, 1, 86400, &timeout_s); break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return 2;
        }
        if (rc != 0) {
            fprintf(stderr, PROG ": bad option value \"%s\"\n", optarg);
            return 2;
        }
    }
    if (port == 0 || expect == 0 || optind != argc) {
        s_usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    receiver_t r = { .expect = expect };
    r.listen_fd = s_listen((int)port);
    if (r.listen_fd < 0)
        return 1;
    for (int i = 0; i < MAX_CONNS; i++) {
        r.conns[i].fd = -1;
        r.conns[i].buf = malloc(BUF_CAP);
        if (!r.conns[i].buf) {
            fprintf(stderr, PROG ": out of memory\n");
            return 1;
        }
    }
    s_run(&r, bench_mono_ns() + timeout_s * 1000000000ull);
    s_report(&r);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (r.conns[i].fd >= 0)
            close(r.conns[i].fd);
        free(r.conns[i].buf);
    }
    close(r.listen_fd);
    return r.requests >= expect ? 0 : 1;
}
