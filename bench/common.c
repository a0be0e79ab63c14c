/*
 * The benchmark clients' shared code: see common.h. Nothing here keeps state between calls
 * but what a bench_pipeline_t holds.
 */
#include "bench/common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

/* Requests are formatted into a buffer of this size; a longer one is -EOVERFLOW. */
#define BENCH_REQUEST_BYTES 512

uint64_t bench_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int bench_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

void bench_run_id(char out[BENCH_RUN_ID_BYTES])
{
    snprintf(out, BENCH_RUN_ID_BYTES, "%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
}

const char *bench_json_value(const char *text, const char *quoted_key)
{
    const char *p = strstr(text, quoted_key);
    if (!p)
        return NULL;
    p += strlen(quoted_key);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

bool bench_json_true(const char *text, const char *quoted_key)
{
    const char *v = bench_json_value(text, quoted_key);
    return v && strncmp(v, "true", 4) == 0;
}

int bench_reply_id(const char *reply, uint64_t *id)
{
    const char *idv = bench_json_value(reply, "\"id\"");
    if (!idv)
        return -1;
    char *end = NULL;
    uint64_t v = strtoull(idv, &end, 10);
    if (end == idv)
        return -1;
    *id = v;
    return 0;
}

void *bench_dealer_open(void *ctx, const char *endpoint, int hwm, int reconnect_ivl_ms,
                        const char *prog)
{
    return bench_dealer_open_with(ctx, endpoint, hwm, reconnect_ivl_ms, NULL, NULL, prog);
}

void *bench_dealer_open_with(void *ctx, const char *endpoint, int hwm, int reconnect_ivl_ms,
                             bench_socket_setup_fn *setup, void *arg, const char *prog)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    if (!sock || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        (reconnect_ivl_ms > 0 &&
         zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &reconnect_ivl_ms, sizeof reconnect_ivl_ms)) ||
        (setup && (errno = -setup(sock, arg)) != 0) ||
        zmq_connect(sock, endpoint)) {
        fprintf(stderr, "%s: connect %s: %s\n", prog, endpoint, zmq_strerror(errno));
        if (sock)
            zmq_close(sock);
        return NULL;
    }
    return sock;
}

int bench_send_nowait(void *sock, const char *buf, size_t len)
{
    if (zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
        return errno == EAGAIN ? 1 : -errno;
    return 0;
}

int bench_recv_last(void *sock, char *buf, size_t cap, int flags)
{
    int more = 0, len;
    do {
        len = zmq_recv(sock, buf, cap - 1, flags);
        if (len < 0)
            return -1;
        size_t more_size = sizeof more;
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_size);
    } while (more);
    buf[len > (int)cap - 1 ? (int)cap - 1 : len] = '\0';
    return len;
}

uint32_t bench_latency_us(uint64_t send_ns, uint64_t now_ns)
{
    uint64_t us = (now_ns - send_ns) / 1000;
    return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

uint32_t bench_pct_u32(const uint32_t *sorted, uint64_t n, double p)
{
    if (n == 0)
        return 0;
    uint64_t rank = (uint64_t)(p * (double)n + 0.999999);
    return sorted[rank == 0 ? 0 : rank - 1];
}

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

bench_latency_t bench_latency_summarize(uint32_t *latency_us, uint64_t n)
{
    qsort(latency_us, n, sizeof *latency_us, s_cmp_u32);
    return (bench_latency_t){.p50 = bench_pct_u32(latency_us, n, 0.50),
                             .p99 = bench_pct_u32(latency_us, n, 0.99),
                             .max = n ? latency_us[n - 1] : 0};
}

/* ----------------------------------------------------------------------------------------- */
/* The pipeline */

int bench_pipeline_init(bench_pipeline_t *p, const char *prog, uint64_t ids, unsigned nconns,
                        unsigned window)
{
    *p = (bench_pipeline_t){.prog = prog, .window = window, .nconns = nconns, .ids = ids};
    /* Arrays by request id are indexed 1 .. ids; index 0 is never used. */
    p->conns = calloc(nconns, sizeof *p->conns);
    p->send_ns = calloc(ids + 1, sizeof *p->send_ns);
    p->answered_id = calloc(ids + 1, 1);
    p->latency_us = calloc(ids + 1, sizeof *p->latency_us);
    if (!p->conns || !p->send_ns || !p->answered_id || !p->latency_us)
        return -ENOMEM;
    return 0;
}

int bench_pipeline_connect(bench_pipeline_t *p, void *ctx, const char *endpoint)
{
    /* "A,B,C" (a cluster's nodes): connection i goes to the (i mod 3)-th. */
    char *list = strdup(endpoint), *eps[64], *save = NULL;
    unsigned n = 0;
    for (char *e = list ? strtok_r(list, ",", &save) : NULL; e && n < 64;
         e = strtok_r(NULL, ",", &save))
        eps[n++] = e;
    int rc = n ? 0 : -1;
    for (unsigned i = 0; i < p->nconns && rc == 0; i++) {
        p->conns[i].sock = bench_dealer_open_with(ctx, eps[i % n], (int)p->window * 2 + 100, 0,
                                                  p->setup, p->setup_arg, p->prog);
        if (!p->conns[i].sock)
            rc = -1;
    }
    free(list);
    return rc;
}

/* Sends as many of conn's requests as the window and the socket's send queue allow. */
static int s_conn_fill(bench_pipeline_t *p, const bench_source_t *src, unsigned conn)
{
    bench_conn_t *c = &p->conns[conn];
    char buf[BENCH_REQUEST_BYTES];
    c->blocked = false;
    while (c->inflight < p->window) {
        uint64_t id = 0;
        int len = src->format(src->arg, conn, buf, sizeof buf, &id);
        if (len <= 0)
            return len;
        if (len >= (int)sizeof buf || id == 0 || id > p->ids)
            return -EOVERFLOW;
        uint64_t t = bench_mono_ns();
        int rc = bench_send_nowait(c->sock, buf, (size_t)len);
        if (rc > 0)
            c->blocked = true;
        if (rc)
            return rc > 0 ? 0 : rc;
        p->send_ns[id] = t;
        p->sent++;
        c->inflight++;
        src->sent(src->arg, conn);
    }
    return 0;
}

/* Counts one reply that arrived at now_ns. Returns whether it answered a request in flight. */
static bool s_pipeline_reply(bench_pipeline_t *p, const char *reply, uint64_t now_ns)
{
    uint64_t id = 0;
    if (bench_reply_id(reply, &id) != 0 || id == 0 || id > p->ids || !p->send_ns[id] ||
        p->answered_id[id]) {
        if (p->strays++ < BENCH_ERRORS_SHOWN)
            fprintf(stderr, "%s: stray reply: %s\n", p->prog, reply);
        return false;
    }
    p->answered_id[id] = 1;
    p->latency_us[p->answered++] = bench_latency_us(p->send_ns[id], now_ns);
    if (!bench_json_true(reply, "\"ok\"")) {
        if (p->errors++ < BENCH_ERRORS_SHOWN)
            fprintf(stderr, "%s: error reply: %s\n", p->prog, reply);
        return true;
    }
    p->ok++;
    if (bench_json_true(reply, "\"duplicate\"") && p->duplicates++ < BENCH_ERRORS_SHOWN &&
        p->show_duplicates)
        fprintf(stderr, "%s: duplicate: %s\n", p->prog, reply);
    return true;
}

/* Receives every reply waiting on conn's socket. Returns 0 or a negative errno. */
static int s_conn_drain(bench_pipeline_t *p, bench_conn_t *c)
{
    char reply[BENCH_REPLY_BYTES + 1];
    for (;;) {
        if (bench_recv_last(c->sock, reply, sizeof reply, ZMQ_DONTWAIT) < 0)
            return errno == EAGAIN ? 0 : -errno;
        if (s_pipeline_reply(p, reply, bench_mono_ns()))
            c->inflight--;
    }
}

/* The body of bench_pipeline_run(): fill every connection, wait, drain; until done. */
static int s_pipeline_loop(bench_pipeline_t *p, const bench_source_t *src, uint64_t total,
                           double timeout_s, uint64_t deadline, zmq_pollitem_t *items)
{
    uint64_t next_progress = p->start_ns + p->progress_ns;
    while (p->answered < total) {
        for (unsigned i = 0; i < p->nconns; i++) {
            int rc = s_conn_fill(p, src, i);
            if (rc) {
                fprintf(stderr, "%s: send: %s\n", p->prog, zmq_strerror(-rc));
                return -1;
            }
            items[i] = (zmq_pollitem_t){.socket = p->conns[i].sock,
                                        .events = (short)(ZMQ_POLLIN | (p->conns[i].blocked ? ZMQ_POLLOUT : 0))};
        }
        uint64_t now = bench_mono_ns();
        if (now >= deadline) {
            fprintf(stderr, "%s: timeout after %.0f s: %" PRIu64 " of %" PRIu64
                    " events answered\n", p->prog, timeout_s, p->answered, total);
            return -1;
        }
        if (p->progress_ns && now >= next_progress) {
            fprintf(stderr, "%s: %" PRIu64 " of %" PRIu64 " events answered (%.0f/s)\n", p->prog,
                    p->answered, total, (double)p->answered / ((double)(now - p->start_ns) / 1e9));
            next_progress += p->progress_ns;
        }
        long wait_ms = (long)((deadline - now) / 1000000) + 1;
        if (zmq_poll(items, (int)p->nconns, wait_ms > 1000 ? 1000 : wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: poll: %s\n", p->prog, zmq_strerror(errno));
            return -1;
        }
        for (unsigned i = 0; i < p->nconns; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int rc = s_conn_drain(p, &p->conns[i]);
            if (rc) {
                fprintf(stderr, "%s: recv: %s\n", p->prog, zmq_strerror(-rc));
                return -1;
            }
        }
        if (p->stop_on_error && (p->errors || p->strays || p->duplicates))
            return -1;
    }
    return 0;
}

int bench_pipeline_run(bench_pipeline_t *p, const bench_source_t *src, uint64_t total,
                       double timeout_s)
{
    zmq_pollitem_t *items = calloc(p->nconns, sizeof *items);
    if (!items) {
        fprintf(stderr, "%s: out of memory\n", p->prog);
        return -1;
    }
    p->start_ns = bench_mono_ns();
    uint64_t deadline = p->start_ns + (uint64_t)(timeout_s * 1e9);
    int rc = s_pipeline_loop(p, src, total, timeout_s, deadline, items);
    p->end_ns = bench_mono_ns();
    free(items);
    return rc;
}

void bench_pipeline_free(bench_pipeline_t *p)
{
    for (unsigned i = 0; p->conns && i < p->nconns; i++)
        if (p->conns[i].sock)
            zmq_close(p->conns[i].sock);
    free(p->conns);
    free(p->send_ns);
    free(p->answered_id);
    free(p->latency_us);
    p->conns = NULL;
    p->send_ns = NULL;
    p->answered_id = NULL;
    p->latency_us = NULL;
}
