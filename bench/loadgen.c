/*
 * bench_loadgen: pipelines "event" requests over several DEALER sockets and reports
 * acknowledged events per second and the latency of each acknowledgement.
 *
 * One thread drives every socket with zmq_poll. Each connection is one provider
 * ("bench-p<conn>-<runid>") that reports incidents stage by stage (detected, notified,
 * acknowledged, resolved) with increasing reported times, keeping up to --window requests in
 * flight. A request's latency runs from its zmq_send to the arrival of the reply carrying
 * the same "id". Any error reply, stray reply or timeout makes the run fail (exit 1).
 *
 * With --key and --server-key every connection is a CURVE client, as incidentctl's are
 * (client/curve.h), so that a run with keys and one without compare ingest with and without
 * CURVE. One connection's handshake is checked before the run, so that a refused key fails
 * at once (client/handshake.h) instead of at --timeout.
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

#include <zmq.h>

#include "bench/common.h"
#include "client/curve.h"
#include "client/handshake.h"
#include "proto/rfc3339.h"

#define LOADGEN_MAX_CONNECTIONS 256
#define LOADGEN_MAX_EVENTS 50000000ULL

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
    const char *key_file;   /* --key: the client's key pair, or NULL */
    const char *server_key; /* --server-key: the daemon's public key or key file, or NULL */
    curve_t curve;          /* loaded from the two; off without them */
} loadgen_opts_t;

/* What one connection sends; its socket and what is in flight are in the bench pipeline. */
typedef struct {
    char provider[64];
    uint64_t first_id;     /* ids first_id .. first_id + quota - 1 belong to this connection */
    uint64_t quota;
    uint64_t sent;
} loadgen_conn_t;

/* The request source of the pipeline (bench_source_t.arg). */
typedef struct {
    const loadgen_opts_t *opts;
    loadgen_conn_t *conns;
} loadgen_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_loadgen --endpoint E [--connections N] [--events N] [--window N]\n"
            "                     [--stages-per-incident N] [--base RFC3339|now]\n"
            "                     [--timeout SECONDS] [--json] [--key FILE --server-key KEY|FILE]\n"
            "  --endpoint E             ROUTER endpoint to load (tcp://127.0.0.1:PORT, ipc://PATH);\n"
            "                           a comma-separated list spreads the connections over them\n"
            "  --connections N          DEALER sockets, one provider each (default 4)\n"
            "  --events N               events in total (default 200000)\n"
            "  --window N               requests in flight per connection (default 256)\n"
            "  --stages-per-incident N  1-4 of detected, notified, acknowledged, resolved (default 4)\n"
            "  --base T                 reported time of the first incident (default\n"
            "                           2021-01-12T00:00:00Z; 'now' for the current time)\n"
            "  --timeout S              give up after S seconds (default 120)\n"
            "  --json                   print one JSON result line on stdout, the rest on stderr\n"
            "  --key FILE               connect with CURVE using this key pair (incidentctl keygen)\n"
            "  --server-key KEY|FILE    the daemon's public key, or a key file holding it\n");
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
        {"key", required_argument, NULL, 'k'},
        {"server-key", required_argument, NULL, 'K'},
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
        case 'c': rc = bench_parse_u64(optarg, 1, LOADGEN_MAX_CONNECTIONS, &v); o->connections = (unsigned)v; break;
        case 'n': rc = bench_parse_u64(optarg, 1, LOADGEN_MAX_EVENTS, &o->events); break;
        case 'w': rc = bench_parse_u64(optarg, 1, 100000, &v); o->window = (unsigned)v; break;
        case 's': rc = bench_parse_u64(optarg, 1, LOADGEN_STAGES, &v); o->stages = (unsigned)v; break;
        case 't': rc = bench_parse_u64(optarg, 1, 3600, &v); o->timeout_s = (double)v; break;
        case 'j': o->json = true; break;
        case 'k': o->key_file = optarg; break;
        case 'K': o->server_key = optarg; break;
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
    char err[CURVE_ERRSZ];
    if (curve_load(o->key_file, "--key", o->server_key, "--server-key", &o->curve, err,
                   sizeof err) != 0) {
        fprintf(stderr, "bench_loadgen: %s\n", err);
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
                            char *buf, size_t cap)
{
    uint64_t incident = k / o->stages;
    unsigned stage = (unsigned)(k % o->stages);
    int64_t at_ms = o->base_ms + (int64_t)incident * LOADGEN_INCIDENT_SPACING_MS +
                    s_stage_offsets_ms[stage];
    char at[RFC3339_BUFSZ];
    rfc3339_format(at_ms, at);
    return snprintf(buf, cap,
                    "{\"op\":\"event\",\"id\":%" PRIu64 ",\"provider\":\"%s\","
                    "\"event_id\":\"e%" PRIu64 "\",\"ref\":\"r%" PRIu64 "\",\"stage\":\"%s\","
                    "\"at\":\"%s\",\"category\":3,\"title\":\"bench incident %" PRIu64 "\"}",
                    conn->first_id + k, conn->provider, k, incident, s_stage_names[stage], at,
                    incident);
}

/* bench_format_fn: the connection's next event, or 0 once its quota is sent. */
static int s_source_format(void *arg, unsigned conn, char *buf, size_t cap, uint64_t *id)
{
    loadgen_t *lg = arg;
    loadgen_conn_t *c = &lg->conns[conn];
    if (c->sent >= c->quota)
        return 0;
    *id = c->first_id + c->sent;
    return s_format_request(lg->opts, c, c->sent, buf, cap);
}

/* bench_sent_fn */
static void s_source_sent(void *arg, unsigned conn)
{
    loadgen_t *lg = arg;
    lg->conns[conn].sent++;
}

/* Shares the events among the connections and names each one's provider. */
static void s_conns_plan(const loadgen_opts_t *o, loadgen_conn_t *conns)
{
    char runid[BENCH_RUN_ID_BYTES];
    bench_run_id(runid);
    uint64_t per = o->events / o->connections, extra = o->events % o->connections, next_id = 1;
    for (unsigned i = 0; i < o->connections; i++) {
        loadgen_conn_t *c = &conns[i];
        c->quota = per + (i < extra ? 1 : 0);
        c->first_id = next_id;
        next_id += c->quota;
        snprintf(c->provider, sizeof c->provider, "bench-p%u-%s", i, runid);
    }
}

/* bench_socket_setup_fn: makes a pipeline socket a CURVE client (arg: the curve_t). */
static int s_curve_setup(void *sock, void *arg)
{
    return curve_apply(arg, sock);
}

/*
 * With CURVE, waits for one connection's handshake before the run: a refused key, or a server
 * key that is not the daemon's, fails now with what went wrong rather than at --timeout with
 * nothing answered. Returns 0, or -1 after printing why.
 */
static int s_curve_check(void *ctx, const loadgen_opts_t *o)
{
    if (!o->curve.on)
        return 0;
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, rc = -1, n = 0;
    handshake_t *hs = NULL;
    if (sock && !zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) &&
        !curve_apply(&o->curve, sock))
        hs = handshake_new(ctx, sock, o->endpoint, true);
    if (!hs || zmq_connect(sock, o->endpoint)) {
        fprintf(stderr, "bench_loadgen: connect %s: %s\n", o->endpoint, zmq_strerror(errno));
        n = 1;
    }
    uint64_t deadline = bench_mono_ns() + (uint64_t)(o->timeout_s * 1e9);
    while (n == 0) {
        if (handshake_succeeded(hs)) {
            rc = 0;
            break;
        }
        if (bench_mono_ns() >= deadline) {
            fprintf(stderr, "bench_loadgen: no CURVE handshake with %s within %.0f s%s%s\n",
                    o->endpoint, o->timeout_s, *handshake_hint(hs) ? ": " : "",
                    handshake_hint(hs));
            break;
        }
        /* Nothing is sent on this socket, so only the handshake's events can end the wait. */
        n = handshake_wait(hs, sock, 50);
        if (n == -EINTR || n > 0)
            n = 0;
    }
    if (n < 0)
        fprintf(stderr, "bench_loadgen: %s\n",
                n == -EACCES || n == -EPROTO ? handshake_error(hs) : zmq_strerror(-n));
    handshake_destroy(&hs);
    if (sock)
        zmq_close(sock);
    return rc;
}

static void s_report(const loadgen_opts_t *o, bench_pipeline_t *st, double seconds)
{
    bench_latency_t lat = bench_latency_summarize(st->latency_us, st->answered);
    uint32_t p50 = lat.p50, p99 = lat.p99, max = lat.max;
    double rate = seconds > 0 ? (double)st->ok / seconds : 0;
    FILE *human = o->json ? stderr : stdout;
    fprintf(human,
            "endpoint     %s (%u connections, window %u%s)\n"
            "events       %" PRIu64 " acknowledged, %" PRIu64 " duplicate, %" PRIu64
            " errors, %" PRIu64 " stray, %" PRIu64 " unanswered\n"
            "seconds      %.3f\n"
            "events/s     %.0f\n"
            "latency us   p50 %" PRIu32 "  p99 %" PRIu32 "  max %" PRIu32 "\n",
            o->endpoint, o->connections, o->window, o->curve.on ? ", CURVE" : "", st->ok,
            st->duplicates, st->errors, st->strays, o->events - st->answered, seconds, rate, p50,
            p99, max);
    if (o->json)
        printf("{\"endpoint\":\"%s\",\"curve\":%s,\"connections\":%u,\"window\":%u,"
               "\"events\":%" PRIu64
               ",\"ok\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"strays\":%" PRIu64 ",\"seconds\":%.3f,\"events_per_s\":%.0f,\"p50_us\":%" PRIu32
               ",\"p99_us\":%" PRIu32 ",\"max_us\":%" PRIu32 "}\n",
               o->endpoint, o->curve.on ? "true" : "false", o->connections, o->window, o->events,
               st->ok, st->duplicates, st->errors, st->strays, seconds, rate, p50, p99, max);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    loadgen_opts_t o;
    if (s_parse_args(argc, argv, &o) != 0) {
        s_usage(stderr);
        return 2;
    }
    bench_pipeline_t st;
    int rc = bench_pipeline_init(&st, "bench_loadgen", o.events, o.connections, o.window);
    loadgen_conn_t *conns = calloc(o.connections, sizeof *conns);
    void *ctx = zmq_ctx_new();
    if (rc || !conns || !ctx) {
        fprintf(stderr, "bench_loadgen: out of memory\n");
        return 1;
    }
    s_conns_plan(&o, conns);
    loadgen_t lg = {.opts = &o, .conns = conns};
    const bench_source_t src = {.format = s_source_format, .sent = s_source_sent, .arg = &lg};
    if (o.curve.on) {
        st.setup = s_curve_setup;
        st.setup_arg = &o.curve;
    }
    if (s_curve_check(ctx, &o) != 0) {
        bench_pipeline_free(&st);
        zmq_ctx_term(ctx);
        free(conns);
        return 1;
    }
    rc = bench_pipeline_connect(&st, ctx, o.endpoint);
    if (rc == 0)
        rc = bench_pipeline_run(&st, &src, o.events, o.timeout_s);
    s_report(&o, &st, st.start_ns ? (double)(st.end_ns - st.start_ns) / 1e9 : 0);
    bench_pipeline_free(&st);
    zmq_ctx_term(ctx);
    free(conns);
    if (rc == 0 && (st.errors || st.strays || st.ok != o.events)) {
        fprintf(stderr, "bench_loadgen: FAILED: %" PRIu64 " error and %" PRIu64 " stray replies\n",
                st.errors, st.strays);
        rc = -1;
    }
    return rc == 0 ? 0 : 1;
}
