/*
 * bench_subscriptions: the client side of the subscription benchmark (bench/run-subscriptions).
 *
 *   bench_subscriptions hold --endpoint E --publish P --prefixes N [--drop-marker]
 *                            [--timeout S]
 *       One SUB socket (no send high-water mark) subscribes to N distinct prefixes
 *       ("bench.sub.NNNNNNN", which no topic matches), then, to learn when the daemon has read
 *       them all, gives up the first one and subscribes to the marker "problem.linked" (with
 *       N = 0, only that). A DEALER then creates a problem, opens an incident and links the
 *       two, again every 200 ms, until a problem.linked message arrives on the SUB socket: the
 *       daemon publishes it only once it has read every subscription before that one. With
 *       --drop-marker the socket then unsubscribes from the marker, leaving only prefixes that
 *       match nothing the daemon publishes. Prints one JSON line, {"prefixes", "subscribe_ms"
 *       (the N setsockopt calls), "ready_ms" (from the first subscription to the message)},
 *       then holds the socket open until SIGTERM or SIGINT and exits 0. Exit status 1 when no
 *       message arrived within the timeout (300 s).
 *
 *   bench_subscriptions probe --endpoint E [--interval-ms MS]
 *       Sends {"op":"status"} on a DEALER, one at a time, every MS ms (default 10), and times
 *       each reply. On SIGTERM or SIGINT it waits for the reply in flight, then prints one JSON
 *       line {"n", "p50_us", "p99_us", "max_us", "unanswered"} and exits 0. A reply not there
 *       within 25 s counts as unanswered, with 25 s.
 *
 * Everything runs against loopback or ipc:// endpoints and is bounded in count.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "bench/common.h"

#define SB_MAX_PREFIXES 10000000ULL
#define SB_PROBES_MAX 1000000
#define SB_TRY_MS 200
/* How long the probe waits for one reply (bench/run-subscriptions waits 30 s for its exit). */
#define SB_PROBE_WAIT_MS 25000

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* SIGTERM and SIGINT set s_stop; without SA_RESTART a blocked zmq call returns EINTR. */
static void s_trap_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static uint64_t s_ms_since(uint64_t t0_ns)
{
    return (bench_mono_ns() - t0_ns) / 1000000;
}

/* Copies the JSON string value of quoted_key into out (no escapes expected); 0 or -1. */
static int s_json_string(const char *text, const char *quoted_key, char *out, size_t outlen)
{
    const char *v = bench_json_value(text, quoted_key);
    if (!v || *v != '"')
        return -1;
    v++;
    const char *end = strchr(v, '"');
    if (!end || (size_t)(end - v) >= outlen)
        return -1;
    memcpy(out, v, (size_t)(end - v));
    out[end - v] = '\0';
    return 0;
}

/*
 * Sends request on the DEALER and waits for the reply until wait_ms have passed since t0_ns (a
 * stalled daemon answers late). Returns 0 when the reply is "ok": true.
 */
static int s_call(void *dealer, const char *request, char *reply, size_t cap, uint64_t t0_ns,
                  uint64_t wait_ms)
{
    if (zmq_send(dealer, request, strlen(request), 0) < 0)
        return -1;
    zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
    int n = 0;
    while (n == 0 && !s_stop && s_ms_since(t0_ns) < wait_ms)
        n = zmq_poll(&item, 1, 1000);
    if (n <= 0 || bench_recv_last(dealer, reply, cap, 0) < 0)
        return -1;
    return bench_json_true(reply, "\"ok\"") ? 0 : -1;
}

/*
 * Makes the daemon publish one problem.linked message: a new problem, a new incident (ids from
 * run and n), the link, each answered before wait_ms have passed since t0_ns. Returns 0, or -1
 * after printing the refusal.
 */
static int s_publish_link(void *dealer, const char *run, unsigned n, uint64_t t0_ns,
                          uint64_t wait_ms)
{
    char req[512], reply[BENCH_REPLY_BYTES], problem[32], incident[32];
    snprintf(req, sizeof req, "{\"op\":\"problem.create\",\"title\":\"bench %s %u\"}", run, n);
    if (s_call(dealer, req, reply, sizeof reply, t0_ns, wait_ms) < 0 ||
        s_json_string(reply, "\"problem\"", problem, sizeof problem) < 0)
        goto refused;
    snprintf(req, sizeof req,
             "{\"op\":\"event\",\"provider\":\"bench-sub-%s\",\"event_id\":\"e%u\",\"ref\":\"r%u\","
             "\"stage\":\"detected\",\"category\":5,\"title\":\"subscription benchmark\"}",
             run, n, n);
    if (s_call(dealer, req, reply, sizeof reply, t0_ns, wait_ms) < 0 ||
        s_json_string(reply, "\"incident\"", incident, sizeof incident) < 0)
        goto refused;
    snprintf(req, sizeof req, "{\"op\":\"problem.link\",\"problem\":\"%s\",\"incident\":\"%s\"}",
             problem, incident);
    if (s_call(dealer, req, reply, sizeof reply, t0_ns, wait_ms) < 0)
        goto refused;
    return 0;
refused:
    fprintf(stderr, "bench_subscriptions: request refused or unanswered: %.300s\n", req);
    return -1;
}

/* True when a problem.linked message arrived on sub within SB_TRY_MS (others are dropped). */
static bool s_linked_arrived(void *sub)
{
    uint64_t t0 = bench_mono_ns();
    char buf[256];
    while (s_ms_since(t0) < SB_TRY_MS) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, SB_TRY_MS) <= 0)
            continue;
        int more = 0;
        size_t len = sizeof more;
        int n = zmq_recv(sub, buf, sizeof buf - 1, 0);
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &len);
        bool linked = n == (int)strlen("problem.linked") && memcmp(buf, "problem.linked", 14) == 0;
        while (more && zmq_recv(sub, buf, sizeof buf, 0) >= 0)
            zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &len);
        if (linked)
            return true;
    }
    return false;
}

/* Subscribes sub to n distinct prefixes no topic matches. Returns 0 or -1. */
static int s_subscribe_many(void *sub, uint64_t n)
{
    char prefix[32];
    for (uint64_t i = 0; i < n; i++) {
        int len = snprintf(prefix, sizeof prefix, "bench.sub.%07" PRIu64, i);
        if (zmq_setsockopt(sub, ZMQ_SUBSCRIBE, prefix, (size_t)len) < 0)
            return -1;
    }
    /* The daemon tracks at most 1,000 prefixes per peer: make room for the marker. */
    if (n > 0 && zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, "bench.sub.0000000", 17) < 0)
        return -1;
    return zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "problem.linked", 14);
}

static int s_cmd_hold(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"publish", required_argument, NULL, 'p'},
        {"prefixes", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"drop-marker", no_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL, *publish = NULL;
    uint64_t prefixes = 100000, timeout_s = 300;
    bool drop_marker = false;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if ((c == 'e' && (endpoint = optarg)) || (c == 'p' && (publish = optarg)) ||
            (c == 'd' && (drop_marker = true)))
            continue;
        if ((c == 'n' && bench_parse_u64(optarg, 0, SB_MAX_PREFIXES, &prefixes) == 0) ||
            (c == 't' && bench_parse_u64(optarg, 1, 86400, &timeout_s) == 0))
            continue;
        fprintf(stderr, "usage: bench_subscriptions hold --endpoint E --publish P "
                        "[--prefixes N] [--drop-marker] [--timeout S]\n");
        return 2;
    }
    if (!endpoint || !publish) {
        fprintf(stderr, "bench_subscriptions: hold needs --endpoint and --publish\n");
        return 2;
    }
    s_trap_signals();
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_SNDHWM, &zero, sizeof zero);
    void *dealer = bench_dealer_open(ctx, endpoint, 1000, 0, "bench_subscriptions");
    int status = 1;
    if (!dealer || zmq_connect(sub, publish) < 0)
        goto out;
    char run[BENCH_RUN_ID_BYTES];
    bench_run_id(run);
    uint64_t t0 = bench_mono_ns();
    if (s_subscribe_many(sub, prefixes) < 0) {
        fprintf(stderr, "bench_subscriptions: subscribe: %s\n", zmq_strerror(errno));
        goto out;
    }
    uint64_t subscribe_ms = s_ms_since(t0);
    bool ready = false;
    for (unsigned n = 0; !ready && !s_stop && s_ms_since(t0) < timeout_s * 1000; n++) {
        if (s_publish_link(dealer, run, n, t0, timeout_s * 1000) < 0)
            goto out;
        ready = s_linked_arrived(sub);
    }
    if (!ready) {
        fprintf(stderr, "bench_subscriptions: no problem.linked within %" PRIu64 " s\n", timeout_s);
        goto out;
    }
    uint64_t ready_ms = s_ms_since(t0);
    if (drop_marker && zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, "problem.linked", 14) < 0)
        goto out;
    printf("{\"prefixes\":%" PRIu64 ",\"subscribe_ms\":%" PRIu64 ",\"ready_ms\":%" PRIu64 "}\n",
           prefixes, subscribe_ms, ready_ms);
    fflush(stdout);
    char drop[64];
    while (!s_stop) {
        /* Drops what the marker subscription brings; the socket stays open until told. */
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 1000) > 0)
            bench_recv_last(sub, drop, sizeof drop, ZMQ_DONTWAIT);
    }
    status = 0;
out:
    if (dealer)
        zmq_close(dealer);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return status;
}

/* Waits up to wait_ms for the reply to the one status request in flight. */
static bool s_probe_reply(void *dealer, int wait_ms)
{
    zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
    char reply[BENCH_REPLY_BYTES];
    return zmq_poll(&item, 1, wait_ms) > 0 &&
           bench_recv_last(dealer, reply, sizeof reply, ZMQ_DONTWAIT) >= 0;
}

static int s_cmd_probe(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"interval-ms", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL;
    uint64_t interval_ms = 10;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if ((c == 'e' && (endpoint = optarg)) ||
            (c == 'i' && bench_parse_u64(optarg, 1, 60000, &interval_ms) == 0))
            continue;
        fprintf(stderr, "usage: bench_subscriptions probe --endpoint E [--interval-ms MS]\n");
        return 2;
    }
    if (!endpoint) {
        fprintf(stderr, "bench_subscriptions: probe needs --endpoint\n");
        return 2;
    }
    s_trap_signals();
    void *ctx = zmq_ctx_new();
    void *dealer = bench_dealer_open(ctx, endpoint, 1000, 0, "bench_subscriptions");
    uint32_t *lat = calloc(SB_PROBES_MAX, sizeof *lat);
    uint64_t n = 0, unanswered = 0;
    static const char status[] = "{\"op\":\"status\"}";
    while (dealer && lat && !s_stop && n < SB_PROBES_MAX) {
        uint64_t sent = bench_mono_ns();
        if (zmq_send(dealer, status, sizeof status - 1, 0) < 0)
            break;
        /* Even when told to stop: the request in flight may be the one a stall holds up. */
        bool answered = false;
        while (!answered && s_ms_since(sent) < SB_PROBE_WAIT_MS)
            answered = s_probe_reply(dealer, 100);
        lat[n++] = bench_latency_us(sent, bench_mono_ns());
        unanswered += !answered;
        uint64_t took_ms = s_ms_since(sent);
        if (!s_stop && took_ms < interval_ms) {
            struct timespec ts = {0, (long)(interval_ms - took_ms) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    bench_latency_t l = bench_latency_summarize(lat, n);
    printf("{\"n\":%" PRIu64 ",\"p50_us\":%u,\"p99_us\":%u,\"max_us\":%u,\"unanswered\":%" PRIu64
           "}\n", n, l.p50, l.p99, l.max, unanswered);
    free(lat);
    if (dealer)
        zmq_close(dealer);
    zmq_ctx_term(ctx);
    return dealer ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "hold") == 0)
        return s_cmd_hold(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "probe") == 0)
        return s_cmd_probe(argc - 1, argv + 1);
    fprintf(stderr, "usage: bench_subscriptions hold|probe [options] (see bench/README.md)\n");
    return 2;
}
