/*
 * bench_loadgen: pipelines "event" requests over several DEALER sockets and reports
 * acknowledged events per second and the latency of each acknowledgement.
 *
 * One thread drives every socket with zmq_poll. Each connection is one provider
 * ("bench-p<conn>-<runid>") that reports incidents stage by stage (detected, notified,
 * acknowledged, resolved) with increasing reported times, keeping up to --window requests in
 * flight. A request's latency runs from its zmq_send to the arrival of the reply carrying
 * the same "id". Any error reply, stray reply or timeout makes the run fail (exit 1).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "proto/rfc3339.h"

#define LOADGEN_MAX_CONNECTIONS 256
#define LOADGEN_MAX_EVENTS 50000000ULL
#define LOADGEN_REQUEST_BYTES 512
#define LOADGEN_REPLY_BYTES 4096
#define LOADGEN_ERRORS_SHOWN 5

/* Stages of one benchmark incident and their offsets from the incident's start, in ms. */
static const char *const s_stage_names[] = {"detected", "notified", "acknowledged", "resolved"};
static const int64_t s_stage_offsets_ms[] = {0, 10000, 20000, 90000};
#define LOADGEN_STAGES 4
/* Incidents of one provider start this far apart. */
#define LOADGEN_INCIDENT_SPACING_MS 100

typedef struct {
    const char *endpoint;
    unsigned connections;
    uint64_t events;
    unsigned window;
    unsigned stages;       /* events per incident, 1..LOADGEN_STAGES */
    int64_t base_ms;       /* reported time of the first incident */
    double timeout_s;
    bool json;
} loadgen_opts_t;

typedef struct {
    void *sock;
    char provider[64];
    uint64_t first_id;     /* ids first_id .. first_id + quota - 1 belong to this connection */
    uint64_t quota;
    uint64_t sent;
    uint64_t inflight;
    bool blocked;          /* the last send hit EAGAIN: wait for ZMQ_POLLOUT */
} loadgen_conn_t;

typedef struct {
    uint64_t ok;
    uint64_t duplicates;
    uint64_t errors;       /* "ok": false replies */
    uint64_t strays;       /* replies with no matching request in flight */
    uint64_t answered;
    uint32_t *latency_us;  /* one per answered request, in arrival order */
} loadgen_stats_t;

static uint64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_loadgen --endpoint E [--connections N] [--events N] [--window N]\n"
            "                     [--stages-per-incident N] [--base RFC3339|now]\n"
            "                     [--timeout SECONDS] [--json]\n"
            "  --endpoint E             ROUTER endpoint to load (tcp://127.0.0.1:PORT, ipc://PATH)\n"
            "  --connections N          DEALER sockets, one provider each (default 4)\n"
            "  --events N               events in total (default 200000)\n"
            "  --window N               requests in flight per connection (default 256)\n"
            "  --stages-per-incident N  1-4 of detected, notified, acknowledged, resolved (default 4)\n"
            "  --base T                 reported time of the first incident (default\n"
            "                           2021-01-12T00:00:00Z; 'now' for the current time)\n"
            "  --timeout S              give up after S seconds (default 120)\n"
            "  --json                   print one JSON result line on stdout, the rest on stderr\n");
}

static int s_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int s_parse_args(int argc, char **argv, loadgen_opts_t *o)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"connections", required_argument, NULL, 'c'},
        {"events", required_argument, NULL, 'n'},
        {"window", required_argument, NULL, 'w'},
        {"stages-per-incident", required_argument, NULL, 's'},
        {"base", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (loadgen_opts_t){.connections = 4, .events = 200000, .window = 256,
                          .stages = LOADGEN_STAGES, .timeout_s = 120.0};
    if (rfc3339_parse("2021-01-12T00:00:00Z", &o->base_ms) != 0)
        return -EINVAL;
    int c, idx = 0;
    uint64_t v;
    bool base_now = false;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        int rc = 0;
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case 'c': rc = s_parse_u64(optarg, 1, LOADGEN_MAX_CONNECTIONS, &v); o->connections = (unsigned)v; break;
        case 'n': rc = s_parse_u64(optarg, 1, LOADGEN_MAX_EVENTS, &o->events); break;
        case 'w': rc = s_parse_u64(optarg, 1, 100000, &v); o->window = (unsigned)v; break;
        case 's': rc = s_parse_u64(optarg, 1, LOADGEN_STAGES, &v); o->stages = (unsigned)v; break;
        case 't': rc = s_parse_u64(optarg, 1, 3600, &v); o->timeout_s = (double)v; break;
        case 'j': o->json = true; break;
        case 'b':
            base_now = strcmp(optarg, "now") == 0;
            if (!base_now)
                rc = rfc3339_parse(optarg, &o->base_ms);
            break;
        case 'h': s_usage(stdout); exit(0);
        default: return -EINVAL;
        }
        if (rc) {
            fprintf(stderr, "bench_loadgen: bad value for --%s: %s\n", longopts[idx].name, optarg);
            return -EINVAL;
        }
    }
    if (optind != argc || !o->endpoint) {
        fprintf(stderr, "bench_loadgen: --endpoint is required and takes no positional arguments\n");
        return -EINVAL;
    }
    if (o->events < o->connections) {
        fprintf(stderr, "bench_loadgen: --events must be at least --connections\n");
        return -EINVAL;
    }
    if (base_now) {
        /* Every reported time lies in the recent past, so none is refused as in the future. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t incidents = o->events / o->connections / o->stages + 1;
        o->base_ms = (int64_t)ts.tv_sec * 1000 - (int64_t)incidents * LOADGEN_INCIDENT_SPACING_MS -
                     s_stage_offsets_ms[LOADGEN_STAGES - 1] - 60000;
    }
    return 0;
}

/*
 * Writes the request for the connection's k-th event into buf. Every event repeats category
 * and title: the daemon ignores them after the opening event, and this keeps each request
 * valid whatever order the daemon applies a pipelined batch in.
 */
static int s_format_request(const loadgen_opts_t *o, const loadgen_conn_t *conn, uint64_t k,
                            char buf[LOADGEN_REQUEST_BYTES])
{
    uint64_t incident = k / o->stages;
    unsigned stage = (unsigned)(k % o->stages);
    int64_t at_ms = o->base_ms + (int64_t)incident * LOADGEN_INCIDENT_SPACING_MS +
                    s_stage_offsets_ms[stage];
    char at[RFC3339_BUFSZ];
    rfc3339_format(at_ms, at);
    return snprintf(buf, LOADGEN_REQUEST_BYTES,
                    "{\"op\":\"event\",\"id\":%" PRIu64 ",\"provider\":\"%s\","
                    "\"event_id\":\"e%" PRIu64 "\",\"ref\":\"r%" PRIu64 "\",\"stage\":\"%s\","
                    "\"at\":\"%s\",\"category\":3,\"title\":\"bench incident %" PRIu64 "\"}",
                    conn->first_id + k, conn->provider, k, incident, s_stage_names[stage], at,
                    incident);
}

/* Sends as many requests as the window and the socket's send buffer allow. */
static int s_conn_fill(const loadgen_opts_t *o, loadgen_conn_t *conn, uint64_t *send_ns)
{
    char buf[LOADGEN_REQUEST_BYTES];
    conn->blocked = false;
    while (conn->sent < conn->quota && conn->inflight < o->window) {
        int len = s_format_request(o, conn, conn->sent, buf);
        if (len < 0 || len >= LOADGEN_REQUEST_BYTES)
            return -EOVERFLOW;
        uint64_t t = s_now_ns();
        if (zmq_send(conn->sock, buf, (size_t)len, ZMQ_DONTWAIT) < 0) {
            if (errno == EAGAIN) {
                conn->blocked = true;
                return 0;
            }
            return -errno;
        }
        send_ns[conn->first_id + conn->sent] = t;
        conn->sent++;
        conn->inflight++;
    }
    return 0;
}

/*
 * Finds the value of a top-level-looking "key": in a reply without parsing the whole JSON
 * text; returns a pointer to the first byte of the value or NULL. Good enough for the flat
 * replies of the daemon and the baseline; an ambiguous reply only costs a stray count.
 */
static const char *s_json_value(const char *text, const char *quoted_key)
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

static void s_handle_reply(loadgen_conn_t *conns, unsigned nconns, const char *reply,
                           const uint64_t *send_ns, uint8_t *answered, uint64_t now,
                           loadgen_stats_t *st)
{
    const char *idv = s_json_value(reply, "\"id\"");
    char *end = NULL;
    uint64_t id = idv ? strtoull(idv, &end, 10) : 0;
    loadgen_conn_t *conn = NULL;
    for (unsigned i = 0; idv && end != idv && i < nconns; i++)
        if (id >= conns[i].first_id && id < conns[i].first_id + conns[i].sent)
            conn = &conns[i];
    if (!conn || answered[id]) {
        if (st->strays++ < LOADGEN_ERRORS_SHOWN)
            fprintf(stderr, "bench_loadgen: stray reply: %s\n", reply);
        return;
    }
    answered[id] = 1;
    conn->inflight--;
    uint64_t lat_ns = now - send_ns[id];
    st->latency_us[st->answered++] = (uint32_t)(lat_ns / 1000 > UINT32_MAX ? UINT32_MAX : lat_ns / 1000);
    const char *okv = s_json_value(reply, "\"ok\"");
    if (okv && strncmp(okv, "true", 4) == 0) {
        st->ok++;
        const char *dupv = s_json_value(reply, "\"duplicate\"");
        if (dupv && strncmp(dupv, "true", 4) == 0)
            st->duplicates++;
    } else if (st->errors++ < LOADGEN_ERRORS_SHOWN) {
        fprintf(stderr, "bench_loadgen: error reply: %s\n", reply);
    }
}

/* Receives every reply waiting on the socket; the last frame of a message is the reply. */
static int s_conn_drain(loadgen_conn_t *conns, unsigned nconns, loadgen_conn_t *conn,
                        const uint64_t *send_ns, uint8_t *answered, loadgen_stats_t *st)
{
    char buf[LOADGEN_REPLY_BYTES + 1];
    for (;;) {
        int more = 0;
        int len;
        do {
            len = zmq_recv(conn->sock, buf, LOADGEN_REPLY_BYTES, ZMQ_DONTWAIT);
            if (len < 0)
                return errno == EAGAIN ? 0 : -errno;
            size_t more_size = sizeof more;
            zmq_getsockopt(conn->sock, ZMQ_RCVMORE, &more, &more_size);
        } while (more);
        buf[len > LOADGEN_REPLY_BYTES ? LOADGEN_REPLY_BYTES : len] = '\0';
        s_handle_reply(conns, nconns, buf, send_ns, answered, s_now_ns(), st);
    }
}

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static uint32_t s_percentile(const uint32_t *sorted, uint64_t n, double p)
{
    if (n == 0)
        return 0;
    uint64_t rank = (uint64_t)(p * (double)n + 0.999999);
    return sorted[rank == 0 ? 0 : rank - 1];
}

static int s_conns_open(void *ctx, const loadgen_opts_t *o, loadgen_conn_t *conns)
{
    char runid[32];
    snprintf(runid, sizeof runid, "%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
    uint64_t per = o->events / o->connections, extra = o->events % o->connections, next_id = 1;
    for (unsigned i = 0; i < o->connections; i++) {
        loadgen_conn_t *c = &conns[i];
        c->quota = per + (i < extra ? 1 : 0);
        c->first_id = next_id;
        next_id += c->quota;
        snprintf(c->provider, sizeof c->provider, "bench-p%u-%s", i, runid);
        c->sock = zmq_socket(ctx, ZMQ_DEALER);
        int linger = 0, hwm = (int)o->window * 2 + 100;
        if (!c->sock || zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) ||
            zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
            zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
            zmq_connect(c->sock, o->endpoint)) {
            fprintf(stderr, "bench_loadgen: connect %s: %s\n", o->endpoint, zmq_strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Runs the load until every request is answered or the timeout passes. Returns 0 or -1. */
static int s_run(const loadgen_opts_t *o, loadgen_conn_t *conns, uint64_t *send_ns,
                 uint8_t *answered, loadgen_stats_t *st, uint64_t *start_ns, uint64_t *end_ns)
{
    zmq_pollitem_t items[LOADGEN_MAX_CONNECTIONS];
    uint64_t deadline = s_now_ns() + (uint64_t)(o->timeout_s * 1e9);
    *start_ns = s_now_ns();
    while (st->answered < o->events) {
        for (unsigned i = 0; i < o->connections; i++) {
            int rc = s_conn_fill(o, &conns[i], send_ns);
            if (rc) {
                fprintf(stderr, "bench_loadgen: send: %s\n", zmq_strerror(-rc));
                return -1;
            }
            items[i] = (zmq_pollitem_t){.socket = conns[i].sock,
                                        .events = (short)(ZMQ_POLLIN | (conns[i].blocked ? ZMQ_POLLOUT : 0))};
        }
        uint64_t now = s_now_ns();
        if (now >= deadline) {
            fprintf(stderr, "bench_loadgen: timeout after %.0f s: %" PRIu64 " of %" PRIu64
                    " events answered\n", o->timeout_s, st->answered, o->events);
            return -1;
        }
        long wait_ms = (long)((deadline - now) / 1000000) + 1;
        if (zmq_poll(items, (int)o->connections, wait_ms > 1000 ? 1000 : wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "bench_loadgen: poll: %s\n", zmq_strerror(errno));
            return -1;
        }
        for (unsigned i = 0; i < o->connections; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int rc = s_conn_drain(conns, o->connections, &conns[i], send_ns, answered, st);
            if (rc) {
                fprintf(stderr, "bench_loadgen: recv: %s\n", zmq_strerror(-rc));
                return -1;
            }
        }
    }
    *end_ns = s_now_ns();
    return 0;
}

static void s_report(const loadgen_opts_t *o, loadgen_stats_t *st, double seconds)
{
    qsort(st->latency_us, st->answered, sizeof *st->latency_us, s_cmp_u32);
    uint32_t p50 = s_percentile(st->latency_us, st->answered, 0.50);
    uint32_t p99 = s_percentile(st->latency_us, st->answered, 0.99);
    uint32_t max = st->answered ? st->latency_us[st->answered - 1] : 0;
    double rate = seconds > 0 ? (double)st->ok / seconds : 0;
    FILE *human = o->json ? stderr : stdout;
    fprintf(human,
            "endpoint     %s (%u connections, window %u)\n"
            "events       %" PRIu64 " acknowledged, %" PRIu64 " duplicate, %" PRIu64
            " errors, %" PRIu64 " stray, %" PRIu64 " unanswered\n"
            "seconds      %.3f\n"
            "events/s     %.0f\n"
            "latency us   p50 %" PRIu32 "  p99 %" PRIu32 "  max %" PRIu32 "\n",
            o->endpoint, o->connections, o->window, st->ok, st->duplicates, st->errors, st->strays,
            o->events - st->answered, seconds, rate, p50, p99, max);
    if (o->json)
        printf("{\"endpoint\":\"%s\",\"connections\":%u,\"window\":%u,\"events\":%" PRIu64
               ",\"ok\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"strays\":%" PRIu64 ",\"seconds\":%.3f,\"events_per_s\":%.0f,\"p50_us\":%" PRIu32
               ",\"p99_us\":%" PRIu32 ",\"max_us\":%" PRIu32 "}\n",
               o->endpoint, o->connections, o->window, o->events, st->ok, st->duplicates,
               st->errors, st->strays, seconds, rate, p50, p99, max);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    loadgen_opts_t o;
    if (s_parse_args(argc, argv, &o) != 0) {
        s_usage(stderr);
        return 2;
    }
    /* Arrays are indexed by request id, which runs from 1 to o.events. */
    uint64_t *send_ns = calloc(o.events + 1, sizeof *send_ns);
    uint8_t *answered = calloc(o.events + 1, 1);
    loadgen_stats_t st = {.latency_us = calloc(o.events, sizeof(uint32_t))};
    loadgen_conn_t *conns = calloc(o.connections, sizeof *conns);
    void *ctx = zmq_ctx_new();
    if (!send_ns || !answered || !st.latency_us || !conns || !ctx) {
        fprintf(stderr, "bench_loadgen: out of memory\n");
        return 1;
    }
    uint64_t start_ns = 0, end_ns = 0;
    int rc = s_conns_open(ctx, &o, conns);
    if (rc == 0)
        rc = s_run(&o, conns, send_ns, answered, &st, &start_ns, &end_ns);
    if (rc != 0)
        end_ns = s_now_ns();
    s_report(&o, &st, start_ns ? (double)(end_ns - start_ns) / 1e9 : 0);
    for (unsigned i = 0; i < o.connections; i++)
        if (conns[i].sock)
            zmq_close(conns[i].sock);
    zmq_ctx_term(ctx);
    free(conns);
    free(st.latency_us);
    free(answered);
    free(send_ns);
    if (rc == 0 && (st.errors || st.strays || st.ok != o.events)) {
        fprintf(stderr, "bench_loadgen: FAILED: %" PRIu64 " error and %" PRIu64 " stray replies\n",
                st.errors, st.strays);
        rc = -1;
    }
    return rc == 0 ? 0 : 1;
}
