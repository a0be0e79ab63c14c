/*
 * bench_report: the client side of the report benchmark (bench/run-report).
 *
 *   bench_report load --endpoint E [--incidents N] [--providers P] [options]
 *       Loads N incidents (default 1,000,000) from P providers ("provider-000" ...; default
 *       100) with pipelined "event" requests over --connections DEALER sockets (default 4,
 *       --window requests in flight on each, default 256). Provider p's i-th incident opens
 *       ("detected") at base + (i + jitter) * span / n_p, so every provider's incidents are
 *       spread evenly over --days days (default 366) from --base (default
 *       2020-01-01T00:00:00Z); category 1-5, 2 % major; "notified" 1-15 minutes after
 *       detection; "resolved" for 90 %: 50 % 1-8 hours after detection, 30 % 8 hours-3 days,
 *       10 % 3-20 days (some in the next month); 10 % are never resolved. Everything is derived
 *       from a hash of (--seed, provider, i), so a run is reproducible. Every event repeats
 *       category, title and major, so each request is valid in whatever order a pipelined batch
 *       is applied. Connection c carries the providers p = c mod connections, incident by
 *       incident in time order. Prints a summary on stderr and one JSON line on stdout with
 *       the load's figures and, per month of the base year, the figures a report must show
 *       summed over all providers (opened, resolved, open_at_start, open_at_end), and the same
 *       for --check-provider (default: provider P/2).
 *       Exit 1 on any error reply, duplicate, stray reply or timeout (--timeout, default 1800 s).
 *
 *   bench_report query --endpoint E --request JSON [--repeat N] [--timeout S] [--save FILE]
 *                      [--probe-ms MS]
 *       Sends the request (a JSON object without "id"; one is added) --repeat times (default
 *       5), one at a time, on one DEALER, and times each from zmq_send to the arrival of the
 *       whole reply. With --probe-ms, a second DEALER sends {"op":"status"} every MS ms while a
 *       request is outstanding and records how long each probe waited: the daemon answers reads
 *       on its event loop, so this is how long a report holds up every other request. --save
 *       writes the last reply to FILE. Prints one JSON line: each time in ms, min, median,
 *       max, the reply's size in bytes, the probes' count and longest wait. Exit 1 when a reply
 *       is not "ok": true or does not arrive within --timeout seconds (default 120).
 *
 * Loopback or ipc:// endpoints only in bench/run-report; every run is bounded in count and time.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench/common.h"
#include "proto/rfc3339.h"

#define RB_MAX_INCIDENTS 20000000ULL
#define RB_MAX_PROVIDERS 10000
#define RB_MAX_CONNECTIONS 64
#define RB_MAX_MONTHS 24
#define RB_MAX_REPEAT 1000

#define MS_MIN 60000LL
#define MS_HOUR 3600000LL
#define MS_DAY 86400000LL

/*
 * Receives one whole message without waiting (flags) or waiting; the last frame is returned
 * in msg (initialised here, to be closed by the caller). Returns its size or -1 with errno.
 */
static int s_recv_msg(void *sock, zmq_msg_t *msg, int flags)
{
    zmq_msg_init(msg);
    for (;;) {
        if (zmq_msg_recv(msg, sock, flags) < 0) {
            int e = errno;
            zmq_msg_close(msg);
            errno = e;
            return -1;
        }
        if (!zmq_msg_more(msg))
            return (int)zmq_msg_size(msg);
        zmq_msg_close(msg);
        zmq_msg_init(msg);
    }
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ----------------------------------------------------------------------------------------- */
/* The generated data set */

typedef struct {
    uint64_t incidents;
    unsigned providers;
    int64_t base_ms;
    int64_t span_ms;
    uint64_t seed;
} dataset_t;

/* One incident, derived from (seed, provider, index) alone. */
typedef struct {
    int64_t detected, notified, resolved; /* resolved: INT64_MIN when never */
    unsigned category;
    bool major;
} incident_t;

static uint64_t s_splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t s_provider_count(const dataset_t *d, unsigned p)
{
    return d->incidents / d->providers + (p < d->incidents % d->providers ? 1 : 0);
}

static void s_incident(const dataset_t *d, unsigned p, uint64_t i, incident_t *inc)
{
    uint64_t n = s_provider_count(d, p);
    uint64_t h1 = s_splitmix(d->seed ^ ((uint64_t)p << 40) ^ i);
    uint64_t h2 = s_splitmix(h1);
    int64_t slot = d->span_ms / (int64_t)n;
    inc->detected = d->base_ms + (int64_t)i * d->span_ms / (int64_t)n +
                    (slot > 0 ? (int64_t)(h1 % (uint64_t)slot) : 0);
    inc->category = 1 + (unsigned)((h1 >> 32) % 5);
    inc->major = (h1 >> 40) % 100 < 2;
    inc->notified = inc->detected + MS_MIN + (int64_t)(h2 % (uint64_t)(14 * MS_MIN));
    unsigned r = (unsigned)((h2 >> 32) % 100);
    uint64_t h3 = s_splitmix(h2);
    if (r < 10)
        inc->resolved = INT64_MIN;
    else if (r < 60)
        inc->resolved = inc->detected + MS_HOUR + (int64_t)(h3 % (uint64_t)(7 * MS_HOUR));
    else if (r < 90)
        inc->resolved = inc->detected + 8 * MS_HOUR + (int64_t)(h3 % (uint64_t)(64 * MS_HOUR));
    else
        inc->resolved = inc->detected + 3 * MS_DAY + (int64_t)(h3 % (uint64_t)(17 * MS_DAY));
    if (inc->resolved != INT64_MIN && inc->resolved < inc->notified)
        inc->resolved = inc->notified;
}

/* Expected report figures of one month: [start, end). */
typedef struct {
    int64_t start, end;
    uint64_t opened, resolved, open_at_start, open_at_end;
} month_fig_t;

static void s_month_add(month_fig_t *m, const incident_t *inc)
{
    int64_t o = inc->detected, r = inc->resolved == INT64_MIN ? INT64_MAX : inc->resolved;
    if (o >= m->start && o < m->end)
        m->opened++;
    if (r >= m->start && r < m->end)
        m->resolved++;
    if (o < m->start && r >= m->start)
        m->open_at_start++;
    if (o < m->end && r >= m->end)
        m->open_at_end++;
}

/* ----------------------------------------------------------------------------------------- */
/* load */

typedef struct {
    const char *endpoint;
    dataset_t data;
    unsigned connections, window;
    unsigned check_provider;
    double timeout_s;
} load_opts_t;

/* What one connection sends; its socket and what is in flight are in the bench pipeline. */
typedef struct {
    unsigned first_provider;  /* this connection's providers: first, first + step, ... */
    unsigned n_providers;
    uint64_t i;               /* the incident index being sent */
    unsigned j;               /* which of this connection's providers */
    unsigned stage;           /* 0 detected, 1 notified, 2 resolved */
    bool done;
    incident_t cur;           /* incident i of provider j, as the last request was formatted */
} load_conn_t;

/* The request source of the pipeline (bench_source_t.arg). */
typedef struct {
    const load_opts_t *opts;
    load_conn_t *conns;
    const bench_pipeline_t *pipeline; /* request ids are numbered in the order they are sent */
} load_source_t;

static const char *const s_stage_names[] = {"detected", "notified", "resolved"};

/* Advances the connection to its next event; sets done after the last one. */
static void s_conn_advance(const load_opts_t *o, load_conn_t *c, const incident_t *cur)
{
    unsigned stages = cur->resolved == INT64_MIN ? 2 : 3;
    if (++c->stage < stages)
        return;
    c->stage = 0;
    for (;;) {
        if (++c->j >= c->n_providers) {
            c->j = 0;
            c->i++;
        }
        unsigned p = c->first_provider + c->j * o->connections;
        if (c->i >= s_provider_count(&o->data, c->first_provider)) {
            c->done = true; /* the first provider has the most incidents */
            return;
        }
        if (c->i < s_provider_count(&o->data, p))
            return;
    }
}

/* bench_format_fn: the connection's next event, or 0 after its last. */
static int s_load_format(void *arg, unsigned conn, char *buf, size_t cap, uint64_t *id)
{
    load_source_t *src = arg;
    const load_opts_t *o = src->opts;
    load_conn_t *c = &src->conns[conn];
    if (c->done)
        return 0;
    unsigned p = c->first_provider + c->j * o->connections;
    s_incident(&o->data, p, c->i, &c->cur);
    int64_t t = c->stage == 0 ? c->cur.detected : c->stage == 1 ? c->cur.notified : c->cur.resolved;
    char at[RFC3339_BUFSZ];
    rfc3339_format(t, at);
    *id = src->pipeline->sent + 1;
    return snprintf(buf, cap,
                    "{\"op\":\"event\",\"id\":%" PRIu64 ",\"provider\":\"provider-%03u\","
                    "\"event_id\":\"r%" PRIu64 "-%c\",\"ref\":\"r%" PRIu64 "\",\"stage\":\"%s\","
                    "\"at\":\"%s\",\"category\":%u,\"title\":\"report bench incident %" PRIu64
                    "\"%s}",
                    *id, p, c->i, s_stage_names[c->stage][0], c->i, s_stage_names[c->stage], at,
                    c->cur.category, c->i, c->cur.major ? ",\"major\":true" : "");
}

/* bench_sent_fn */
static void s_load_sent(void *arg, unsigned conn)
{
    load_source_t *src = arg;
    s_conn_advance(src->opts, &src->conns[conn], &src->conns[conn].cur);
}

static int s_load_args(int argc, char **argv, load_opts_t *o)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},  {"incidents", required_argument, NULL, 'n'},
        {"providers", required_argument, NULL, 'p'}, {"connections", required_argument, NULL, 'c'},
        {"window", required_argument, NULL, 'w'},    {"base", required_argument, NULL, 'b'},
        {"days", required_argument, NULL, 'd'},      {"seed", required_argument, NULL, 's'},
        {"check-provider", required_argument, NULL, 'k'},
        {"timeout", required_argument, NULL, 't'},   {NULL, 0, NULL, 0},
    };
    *o = (load_opts_t){.data = {.incidents = 1000000, .providers = 100, .span_ms = 366 * MS_DAY,
                                .seed = 1},
                       .connections = 4, .window = 256, .check_provider = UINT32_MAX,
                       .timeout_s = 1800};
    rfc3339_parse("2020-01-01T00:00:00Z", &o->data.base_ms);
    int c, idx;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        int rc = 0;
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case 'n': rc = bench_parse_u64(optarg, 1, RB_MAX_INCIDENTS, &o->data.incidents); break;
        case 'p': rc = bench_parse_u64(optarg, 1, RB_MAX_PROVIDERS, &v); o->data.providers = (unsigned)v; break;
        case 'c': rc = bench_parse_u64(optarg, 1, RB_MAX_CONNECTIONS, &v); o->connections = (unsigned)v; break;
        case 'w': rc = bench_parse_u64(optarg, 1, 100000, &v); o->window = (unsigned)v; break;
        case 'b': rc = rfc3339_parse(optarg, &o->data.base_ms); break;
        case 'd': rc = bench_parse_u64(optarg, 1, 3660, &v); o->data.span_ms = (int64_t)v * MS_DAY; break;
        case 's': rc = bench_parse_u64(optarg, 0, UINT64_MAX, &o->data.seed); break;
        case 'k': rc = bench_parse_u64(optarg, 0, RB_MAX_PROVIDERS - 1, &v); o->check_provider = (unsigned)v; break;
        case 't': rc = bench_parse_u64(optarg, 1, 86400, &v); o->timeout_s = (double)v; break;
        default: return -EINVAL;
        }
        if (rc) {
            fprintf(stderr, "bench_report: bad value for --%s: %s\n", longopts[idx].name, optarg);
            return -EINVAL;
        }
    }
    if (optind != argc || !o->endpoint) {
        fprintf(stderr, "bench_report load: --endpoint is required\n");
        return -EINVAL;
    }
    if (o->data.incidents < o->data.providers) {
        fprintf(stderr, "bench_report load: --incidents must be at least --providers\n");
        return -EINVAL;
    }
    if (o->connections > o->data.providers)
        o->connections = o->data.providers;
    if (o->check_provider == UINT32_MAX)
        o->check_provider = o->data.providers / 2;
    if (o->check_provider >= o->data.providers) {
        fprintf(stderr, "bench_report load: --check-provider must be below --providers\n");
        return -EINVAL;
    }
    return 0;
}

/* The months that [base, base + span + 20 days) touches, UTC, at most RB_MAX_MONTHS. */
static size_t s_months(const dataset_t *d, month_fig_t *months)
{
    int64_t y;
    unsigned m, day;
    rfc3339_civil_from_days(d->base_ms / MS_DAY, &y, &m, &day);
    int64_t last = d->base_ms + d->span_ms + 21 * MS_DAY;
    size_t n = 0;
    while (n < RB_MAX_MONTHS) {
        int64_t start = rfc3339_days_from_civil(y, m, 1) * MS_DAY;
        if (start >= last)
            break;
        if (++m > 12) {
            m = 1;
            y++;
        }
        months[n++] = (month_fig_t){.start = start, .end = rfc3339_days_from_civil(y, m, 1) * MS_DAY};
    }
    return n;
}

static void s_print_months(const month_fig_t *months, size_t n)
{
    printf("[");
    for (size_t k = 0; k < n; k++) {
        char t[RFC3339_BUFSZ];
        rfc3339_format(months[k].start, t);
        printf("%s{\"month\":\"%.7s\",\"opened\":%" PRIu64 ",\"resolved\":%" PRIu64
               ",\"open_at_start\":%" PRIu64 ",\"open_at_end\":%" PRIu64 "}",
               k ? "," : "", t, months[k].opened, months[k].resolved, months[k].open_at_start,
               months[k].open_at_end);
    }
    printf("]");
}

static int s_cmd_load(int argc, char **argv)
{
    load_opts_t o;
    if (s_load_args(argc, argv, &o) != 0)
        return 2;

    /* The expected figures and the number of events, from the same generator. */
    month_fig_t all[RB_MAX_MONTHS], one[RB_MAX_MONTHS];
    size_t n_months = s_months(&o.data, all);
    memcpy(one, all, sizeof all);
    uint64_t events = 0, resolved = 0, major = 0, by_cat[6] = {0};
    for (unsigned p = 0; p < o.data.providers; p++) {
        uint64_t n = s_provider_count(&o.data, p);
        for (uint64_t i = 0; i < n; i++) {
            incident_t inc;
            s_incident(&o.data, p, i, &inc);
            events += inc.resolved == INT64_MIN ? 2 : 3;
            resolved += inc.resolved != INT64_MIN;
            major += inc.major;
            by_cat[inc.category]++;
            for (size_t k = 0; k < n_months; k++) {
                s_month_add(&all[k], &inc);
                if (p == o.check_provider)
                    s_month_add(&one[k], &inc);
            }
        }
    }

    bench_pipeline_t st;
    int rc = bench_pipeline_init(&st, "bench_report", events, o.connections, o.window);
    load_conn_t *conns = calloc(o.connections, sizeof *conns);
    void *ctx = zmq_ctx_new();
    if (rc || !conns || !ctx) {
        fprintf(stderr, "bench_report: out of memory\n");
        return 1;
    }
    st.show_duplicates = true;
    st.stop_on_error = true;
    st.progress_ns = 30000000000ULL;
    for (unsigned c = 0; c < o.connections; c++) {
        conns[c].first_provider = c;
        conns[c].n_providers = (o.data.providers - c + o.connections - 1) / o.connections;
    }
    rc = bench_pipeline_connect(&st, ctx, o.endpoint);
    fprintf(stderr, "bench_report: loading %" PRIu64 " incidents (%" PRIu64 " events) from %u"
            " providers over %u connections\n", o.data.incidents, events, o.data.providers,
            o.connections);
    load_source_t ls = {.opts = &o, .conns = conns, .pipeline = &st};
    const bench_source_t src = {.format = s_load_format, .sent = s_load_sent, .arg = &ls};
    if (rc == 0)
        rc = bench_pipeline_run(&st, &src, events, o.timeout_s);
    double seconds = st.start_ns ? (double)(st.end_ns - st.start_ns) / 1e9 : 0;
    bench_latency_t lat = bench_latency_summarize(st.latency_us, st.answered);
    uint32_t p50 = lat.p50, p99 = lat.p99, max = lat.max;
    double rate = seconds > 0 ? (double)st.ok / seconds : 0;
    fprintf(stderr,
            "bench_report: %" PRIu64 " events acknowledged, %" PRIu64 " errors, %" PRIu64
            " duplicates, %" PRIu64 " stray, in %.1f s: %.0f events/s, latency us p50 %" PRIu32
            " p99 %" PRIu32 " max %" PRIu32 "\n",
            st.ok, st.errors, st.duplicates, st.strays, seconds, rate, p50, p99, max);
    printf("{\"incidents\":%" PRIu64 ",\"providers\":%u,\"events\":%" PRIu64 ",\"ok\":%" PRIu64
           ",\"errors\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"strays\":%" PRIu64
           ",\"seconds\":%.3f,\"events_per_s\":%.0f,\"incidents_per_s\":%.0f,\"p50_us\":%" PRIu32
           ",\"p99_us\":%" PRIu32 ",\"max_us\":%" PRIu32 ",\"resolved\":%" PRIu64
           ",\"major\":%" PRIu64 ",\"categories\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
           ",%" PRIu64 "],\"check_provider\":\"provider-%03u\",\"months\":",
           o.data.incidents, o.data.providers, events, st.ok, st.errors, st.duplicates, st.strays,
           seconds, rate, seconds > 0 ? (double)o.data.incidents * ((double)st.ok / (double)events) / seconds : 0,
           p50, p99, max, resolved, major, by_cat[1], by_cat[2], by_cat[3], by_cat[4], by_cat[5],
           o.check_provider);
    s_print_months(all, n_months);
    printf(",\"provider_months\":");
    s_print_months(one, n_months);
    printf("}\n");
    fflush(stdout);

    bench_pipeline_free(&st);
    zmq_ctx_term(ctx);
    free(conns);
    return rc == 0 && st.ok == events ? 0 : 1;
}

/* ----------------------------------------------------------------------------------------- */
/* query */

/* Receives every probe reply waiting; records each one's wait since its send. */
typedef struct {
    void *sock;
    uint64_t sent, answered;
    uint64_t send_ns[256]; /* by probe id mod 256: at most a few in flight */
    double max_ms;
} probe_t;

static void s_probe_drain(probe_t *pr)
{
    char text[256];
    while (bench_recv_last(pr->sock, text, sizeof text, ZMQ_DONTWAIT) >= 0) {
        uint64_t at = bench_mono_ns();
        uint64_t id;
        if (bench_reply_id(text, &id) == 0 && id < pr->sent && pr->sent - id <= 256) {
            double w = (double)(at - pr->send_ns[id % 256]) / 1e6;
            pr->max_ms = w > pr->max_ms ? w : pr->max_ms;
            pr->answered++;
        }
    }
}

static int s_cmd_query(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'}, {"request", required_argument, NULL, 'r'},
        {"repeat", required_argument, NULL, 'n'},   {"timeout", required_argument, NULL, 't'},
        {"save", required_argument, NULL, 's'},     {"probe-ms", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL, *request = NULL, *save = NULL;
    uint64_t repeat = 5, timeout_s = 120, probe_ms = 0;
    int c, idx;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        int rc = 0;
        switch (c) {
        case 'e': endpoint = optarg; break;
        case 'r': request = optarg; break;
        case 's': save = optarg; break;
        case 'n': rc = bench_parse_u64(optarg, 1, RB_MAX_REPEAT, &repeat); break;
        case 't': rc = bench_parse_u64(optarg, 1, 3600, &timeout_s); break;
        case 'p': rc = bench_parse_u64(optarg, 0, 60000, &probe_ms); break;
        default: return 2;
        }
        if (rc) {
            fprintf(stderr, "bench_report: bad value for --%s: %s\n", longopts[idx].name, optarg);
            return 2;
        }
    }
    size_t rlen = request ? strlen(request) : 0;
    if (!endpoint || !request || optind != argc || rlen < 2 || request[0] != '{' ||
        request[rlen - 1] != '}') {
        fprintf(stderr, "bench_report query: --endpoint and --request '{...}' are required\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? bench_dealer_open(ctx, endpoint, 1000, 0, "bench_report") : NULL;
    probe_t pr = {.sock = sock && probe_ms ? bench_dealer_open(ctx, endpoint, 100000, 0, "bench_report") : NULL};
    if (!sock || (probe_ms && !pr.sock))
        return 1;
    /* Connect both sockets and let one request through each before timing anything: the
     * first send on a DEALER waits for the connection. */
    void *warm[2] = {sock, pr.sock};
    for (int w = 0; w < (pr.sock ? 2 : 1); w++) {
        const char *st = "{\"op\":\"status\",\"id\":\"warm-up\"}";
        zmq_pollitem_t item = {.socket = warm[w], .events = ZMQ_POLLIN};
        zmq_msg_t msg;
        if (zmq_send(warm[w], st, strlen(st), 0) < 0 ||
            zmq_poll(&item, 1, (long)timeout_s * 1000) <= 0 || s_recv_msg(warm[w], &msg, 0) < 0) {
            fprintf(stderr, "bench_report: no answer to status from %s\n", endpoint);
            return 1;
        }
        zmq_msg_close(&msg);
    }
    double *ms = calloc(repeat, sizeof *ms);
    char *buf = malloc(rlen + 64);
    if (!ms || !buf)
        return 1;
    size_t bytes = 0;
    int rc = 0;
    for (uint64_t r = 0; r < repeat && rc == 0; r++) {
        /* {"id":"q<r>", ...the request's members} */
        int len = snprintf(buf, rlen + 64, "{\"id\":\"q%" PRIu64 "\"%s%s", r,
                           rlen > 2 ? "," : "", request + 1);
        uint64_t t0 = bench_mono_ns(), deadline = t0 + timeout_s * 1000000000ULL;
        uint64_t next_probe = t0 + probe_ms * 1000000ULL;
        if (zmq_send(sock, buf, (size_t)len, 0) < 0) {
            fprintf(stderr, "bench_report: send: %s\n", zmq_strerror(errno));
            rc = 1;
            break;
        }
        /* Until the reply has arrived and every probe sent meanwhile was answered (so the next
         * request never queues behind this one's probes, nor they behind it). */
        bool done = false;
        while (!done || pr.answered < pr.sent) {
            uint64_t now = bench_mono_ns();
            if (now >= deadline) {
                fprintf(stderr, "bench_report: no reply to %s within %" PRIu64 " s\n", buf, timeout_s);
                rc = 1;
                break;
            }
            if (pr.sock && !done && now >= next_probe) {
                char preq[64];
                int plen = snprintf(preq, sizeof preq, "{\"op\":\"status\",\"id\":%" PRIu64 "}", pr.sent);
                if (zmq_send(pr.sock, preq, (size_t)plen, ZMQ_DONTWAIT) >= 0)
                    pr.send_ns[pr.sent++ % 256] = now;
                next_probe = now + probe_ms * 1000000ULL;
            }
            zmq_pollitem_t items[2] = {{.socket = sock, .events = ZMQ_POLLIN},
                                       {.socket = pr.sock, .events = ZMQ_POLLIN}};
            if (zmq_poll(items, pr.sock ? 2 : 1, pr.sock ? (long)probe_ms : 1000) < 0) {
                if (errno == EINTR)
                    continue;
                rc = 1;
                break;
            }
            if (pr.sock && (items[1].revents & ZMQ_POLLIN))
                s_probe_drain(&pr);
            if (done || !(items[0].revents & ZMQ_POLLIN))
                continue;
            zmq_msg_t msg;
            if (s_recv_msg(sock, &msg, 0) < 0) {
                rc = 1;
                break;
            }
            ms[r] = (double)(bench_mono_ns() - t0) / 1e6;
            bytes = zmq_msg_size(&msg);
            const char *data = zmq_msg_data(&msg);
            char head[256];
            size_t n = bytes < sizeof head - 1 ? bytes : sizeof head - 1;
            memcpy(head, data, n);
            head[n] = '\0';
            if (!bench_json_true(head, "\"ok\"")) {
                fprintf(stderr, "bench_report: error reply: %s\n", head);
                rc = 1;
            }
            if (save && r + 1 == repeat) {
                FILE *f = fopen(save, "w");
                if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) {
                    fprintf(stderr, "bench_report: cannot write %s\n", save);
                    rc = 1;
                }
            }
            zmq_msg_close(&msg);
            done = true;
        }
    }
    if (rc == 0) {
        double sorted[RB_MAX_REPEAT];
        memcpy(sorted, ms, repeat * sizeof *ms);
        qsort(sorted, repeat, sizeof *sorted, s_cmp_double);
        double median = repeat % 2 ? sorted[repeat / 2] : (sorted[repeat / 2 - 1] + sorted[repeat / 2]) / 2;
        printf("{\"repeat\":%" PRIu64 ",\"ms\":[", repeat);
        for (uint64_t r = 0; r < repeat; r++)
            printf("%s%.3f", r ? "," : "", ms[r]);
        printf("],\"min_ms\":%.3f,\"median_ms\":%.3f,\"max_ms\":%.3f,\"bytes\":%zu,\"probes\":%" PRIu64
               ",\"probe_max_ms\":%.3f}\n",
               sorted[0], median, sorted[repeat - 1], bytes, pr.answered, pr.max_ms);
    }
    free(buf);
    free(ms);
    if (pr.sock)
        zmq_close(pr.sock);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return s_cmd_load(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "query") == 0)
        return s_cmd_query(argc - 1, argv + 1);
    fprintf(stderr,
            "usage: bench_report load --endpoint E [--incidents N] [--providers P] [--connections N]\n"
            "                         [--window N] [--base RFC3339] [--days N] [--seed N]\n"
            "                         [--check-provider P] [--timeout S]\n"
            "       bench_report query --endpoint E --request JSON [--repeat N] [--timeout S]\n"
            "                          [--save FILE] [--probe-ms MS]\n");
    return 2;
}
