/*
 * bench_deadlines: the client side of the deadline benchmark (bench/run-deadlines).
 *
 *   bench_deadlines status --endpoint E [--timeout S]
 *       Sends {"op":"status"} on a DEALER (again every second) until the daemon answers, so it
 *       can be started before the daemon listens. Prints one JSON line on stdout:
 *       {"reply_epoch_us": wall-clock time the reply arrived, "reply": the daemon's reply}.
 *
 *   bench_deadlines lag --endpoint E --publish P [options]
 *       Opens --events incidents (category --category, default 4) whose SLA deadlines all fall
 *       due within --spread-ms (default 1000) of one instant T, --lead-ms (default 5000) after
 *       the start rounded up to a whole second: the opening event of incident i reports
 *       at = T - --target-ms + i * spread / events. A SUB socket subscribed to "breach." since
 *       before the first event timestamps every breach on arrival (its own thread, blocking
 *       receive); lag = arrival wall-clock time - the message's "due". Meanwhile a background
 *       DEALER keeps opening incidents of --bg-category (default 5, which should have no
 *       target) at --bg-rate events/s (default 2000; 0: as fast as its window allows), from
 *       one second before the first deadline event until every breach arrived (or the
 *       timeout), and its throughput and latency are measured. Prints a summary on stderr and
 *       one JSON line on stdout. Exit status 1 when a breach is missing, duplicated, early,
 *       for an unexpected incident, when an event was refused or revealed a breach on arrival,
 *       or on a timeout.
 *
 * Everything runs against loopback or ipc:// endpoints and is bounded in count and time.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "bench/common.h"
#include "proto/rfc3339.h"

#define DL_REQUEST_BYTES 512
#define DL_REPLY_BYTES 8192
#define DL_MSG_BYTES 8192
#define DL_MAX_EVENTS 1000000ULL
#define DL_MAX_CONNECTIONS 64

static int64_t s_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

/* ----------------------------------------------------------------------------------------- */
/* status */

static int s_cmd_status(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"timeout", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL;
    uint64_t timeout_s = 60;
    int c, idx;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        if (c == 'e')
            endpoint = optarg;
        else if (c == 't' && bench_parse_u64(optarg, 1, 3600, &timeout_s) == 0)
            ;
        else
            return 2;
    }
    if (!endpoint || optind != argc)
        return 2;
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? bench_dealer_open(ctx, endpoint, 1000, 10, "bench_deadlines") : NULL;
    if (!sock)
        return 1;
    static char reply[DL_REPLY_BYTES];
    uint64_t deadline = bench_mono_ns() + timeout_s * 1000000000ULL, next_send = 0;
    int rc = 1;
    while (bench_mono_ns() < deadline) {
        if (bench_mono_ns() >= next_send) {
            const char *req = "{\"op\":\"status\",\"id\":\"bench-status\"}";
            zmq_send(sock, req, strlen(req), ZMQ_DONTWAIT);
            next_send = bench_mono_ns() + 1000000000ULL;
        }
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 5) > 0 && (item.revents & ZMQ_POLLIN)) {
            int64_t at = s_wall_us();
            if (bench_recv_last(sock, reply, sizeof reply, 0) < 0)
                continue;
            printf("{\"reply_epoch_us\":%" PRId64 ",\"reply\":%s}\n", at, reply);
            rc = 0;
            break;
        }
    }
    if (rc)
        fprintf(stderr, "bench_deadlines: no status reply from %s within %" PRIu64 " s\n",
                endpoint, timeout_s);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

/* ----------------------------------------------------------------------------------------- */
/* lag */

typedef struct {
    const char *endpoint, *publish, *rule;
    uint64_t events;
    unsigned category, bg_category;
    int64_t target_ms, lead_ms, spread_ms;
    uint64_t bg_rate;
    unsigned connections, window, bg_window;
    uint64_t timeout_s; /* after the last deadline */
} lag_opts_t;

/* One breach as it arrived. */
typedef struct {
    int64_t recv_us;
    int64_t due_ms;
    int64_t late_by_ms; /* the daemon's own figure: detection time - due */
    int64_t seq;
    uint64_t incident;  /* numeric part of INC... */
    bool ours;          /* topic breach.<expected rule> and one of our incidents */
} breach_rx_t;

typedef struct {
    void *sub;
    char topic[160];    /* breach.<rule>: the only topic expected */
    breach_rx_t *rx;
    size_t cap;
    atomic_size_t n;
    atomic_bool stop;
    uint64_t other_topics;
    uint64_t overflow;
} receiver_t;

static void *s_receiver_main(void *arg)
{
    receiver_t *r = arg;
    static char topic[256], body[DL_MSG_BYTES];
    while (!atomic_load(&r->stop)) {
        int tlen = zmq_recv(r->sub, topic, sizeof topic - 1, 0);
        if (tlen < 0)
            continue; /* EAGAIN after the receive timeout: look at stop again */
        int64_t at = s_wall_us();
        topic[tlen > (int)sizeof topic - 1 ? (int)sizeof topic - 1 : tlen] = '\0';
        int more = 0;
        size_t more_size = sizeof more;
        zmq_getsockopt(r->sub, ZMQ_RCVMORE, &more, &more_size);
        if (!more || bench_recv_last(r->sub, body, sizeof body, 0) < 0) {
            r->other_topics++;
            continue;
        }
        size_t i = atomic_load(&r->n);
        if (i >= r->cap) {
            r->overflow++;
            continue;
        }
        breach_rx_t *b = &r->rx[i];
        *b = (breach_rx_t){.recv_us = at, .due_ms = INT64_MIN};
        char due[64], inc[64];
        const char *v;
        if (s_json_string(body, "\"due\"", due, sizeof due) == 0)
            rfc3339_parse(due, &b->due_ms);
        if ((v = bench_json_value(body, "\"late_by_ms\"")))
            b->late_by_ms = strtoll(v, NULL, 10);
        if ((v = bench_json_value(body, "\"seq\"")))
            b->seq = strtoll(v, NULL, 10);
        if (s_json_string(body, "\"incident\"", inc, sizeof inc) == 0 && strncmp(inc, "INC", 3) == 0)
            b->incident = strtoull(inc + 3, NULL, 10);
        b->ours = strcmp(topic, r->topic) == 0;
        atomic_store(&r->n, i + 1);
    }
    return NULL;
}

/* A stream of opening events on one DEALER: the deadline events or the background. */
typedef struct {
    void *sock;
    char provider[64];
    unsigned category;
    uint64_t quota;     /* UINT64_MAX: until stopped */
    uint64_t sent, answered, ok, errors, on_arrival, strays, inflight;
    unsigned window;
    uint64_t *send_ns;  /* by k, for latency; cap entries */
    uint32_t *lat_us;   /* by arrival */
    uint64_t *incident; /* by k: the INC number of the reply (deadline streams only) */
    uint64_t cap;
    uint64_t first_ok_ns, last_ok_ns;
    int64_t at_base_ms, at_step_num, at_step_den; /* at = base + k * num / den (ms) */
    bool at_now;        /* background: no "at", the daemon takes the arrival time */
} stream_t;

static int s_stream_send(stream_t *s, const char *runid)
{
    char buf[DL_REQUEST_BYTES], at[RFC3339_BUFSZ + 16] = "";
    uint64_t k = s->sent;
    if (!s->at_now) {
        char t[RFC3339_BUFSZ];
        rfc3339_format(s->at_base_ms + (int64_t)k * s->at_step_num / s->at_step_den, t);
        snprintf(at, sizeof at, ",\"at\":\"%s\"", t);
    }
    int len = snprintf(buf, sizeof buf,
                       "{\"op\":\"event\",\"id\":%" PRIu64 ",\"provider\":\"%s\",\"event_id\":\"e%" PRIu64
                       "\",\"ref\":\"r%" PRIu64 "\",\"stage\":\"detected\"%s,\"category\":%u,"
                       "\"title\":\"deadline bench %s %" PRIu64 "\"}",
                       k, s->provider, k, k, at, s->category, runid, k);
    if (len < 0 || len >= (int)sizeof buf)
        return -EOVERFLOW;
    uint64_t t = bench_mono_ns();
    int rc = bench_send_nowait(s->sock, buf, (size_t)len);
    if (rc)
        return rc;
    if (k < s->cap)
        s->send_ns[k] = t;
    s->sent++;
    s->inflight++;
    return 0;
}

static void s_stream_drain(stream_t *s)
{
    static char reply[DL_REPLY_BYTES];
    while (bench_recv_last(s->sock, reply, sizeof reply, ZMQ_DONTWAIT) >= 0) {
        uint64_t now = bench_mono_ns();
        uint64_t k;
        if (bench_reply_id(reply, &k) != 0 || k >= s->sent) {
            if (s->strays++ < BENCH_ERRORS_SHOWN)
                fprintf(stderr, "bench_deadlines: stray reply on %s: %s\n", s->provider, reply);
            continue;
        }
        s->inflight--;
        if (s->answered < s->cap && k < s->cap)
            s->lat_us[s->answered] = bench_latency_us(s->send_ns[k], now);
        s->answered++;
        if (!bench_json_true(reply, "\"ok\"")) {
            if (s->errors++ < BENCH_ERRORS_SHOWN)
                fprintf(stderr, "bench_deadlines: error reply on %s: %s\n", s->provider, reply);
            continue;
        }
        s->ok++;
        if (!s->first_ok_ns)
            s->first_ok_ns = now;
        s->last_ok_ns = now;
        const char *br = bench_json_value(reply, "\"breaches\"");
        if (br && *br == '[') {
            br++;
            while (*br == ' ' || *br == '\n')
                br++;
            if (*br != ']' && s->on_arrival++ < BENCH_ERRORS_SHOWN)
                fprintf(stderr, "bench_deadlines: breach on arrival: %s\n", reply);
        }
        char inc[64];
        if (s->incident && k < s->cap && s_json_string(reply, "\"incident\"", inc, sizeof inc) == 0)
            s->incident[k] = strtoull(inc + 3, NULL, 10);
    }
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array (as bench_pct_u32). */
static int64_t s_pct_i64(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p * (double)n + 0.999999);
    return sorted[rank == 0 ? 0 : rank - 1];
}

static int s_lag_args(int argc, char **argv, lag_opts_t *o)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},   {"publish", required_argument, NULL, 'p'},
        {"events", required_argument, NULL, 'n'},     {"category", required_argument, NULL, 'c'},
        {"target-ms", required_argument, NULL, 'T'},  {"lead-ms", required_argument, NULL, 'l'},
        {"spread-ms", required_argument, NULL, 's'},  {"bg-rate", required_argument, NULL, 'r'},
        {"bg-category", required_argument, NULL, 'g'}, {"connections", required_argument, NULL, 'C'},
        {"window", required_argument, NULL, 'w'},     {"timeout", required_argument, NULL, 't'},
        {"rule", required_argument, NULL, 'R'},       {NULL, 0, NULL, 0},
    };
    *o = (lag_opts_t){.events = 10000, .category = 4, .bg_category = 5, .target_ms = 60000,
                      .lead_ms = 5000, .spread_ms = 1000, .bg_rate = 2000, .connections = 2,
                      .window = 256, .bg_window = 256, .timeout_s = 30,
                      .rule = "bench_soon"};
    int c, idx;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        int rc = 0;
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case 'p': o->publish = optarg; break;
        case 'R': o->rule = optarg; break;
        case 'n': rc = bench_parse_u64(optarg, 1, DL_MAX_EVENTS, &o->events); break;
        case 'c': rc = bench_parse_u64(optarg, 1, 5, &v); o->category = (unsigned)v; break;
        case 'g': rc = bench_parse_u64(optarg, 1, 5, &v); o->bg_category = (unsigned)v; break;
        case 'T': rc = bench_parse_u64(optarg, 1000, 86400000, &v); o->target_ms = (int64_t)v; break;
        case 'l': rc = bench_parse_u64(optarg, 500, 600000, &v); o->lead_ms = (int64_t)v; break;
        case 's': rc = bench_parse_u64(optarg, 0, 600000, &v); o->spread_ms = (int64_t)v; break;
        case 'r': rc = bench_parse_u64(optarg, 0, 1000000, &o->bg_rate); break;
        case 'C': rc = bench_parse_u64(optarg, 1, DL_MAX_CONNECTIONS, &v); o->connections = (unsigned)v; break;
        case 'w': rc = bench_parse_u64(optarg, 1, 100000, &v); o->window = (unsigned)v; break;
        case 't': rc = bench_parse_u64(optarg, 1, 3600, &o->timeout_s); break;
        default: return -EINVAL;
        }
        if (rc) {
            fprintf(stderr, "bench_deadlines: bad value for --%s: %s\n", longopts[idx].name, optarg);
            return -EINVAL;
        }
    }
    if (!o->endpoint || !o->publish || optind != argc) {
        fprintf(stderr, "bench_deadlines lag: --endpoint and --publish are required\n");
        return -EINVAL;
    }
    if (o->target_ms <= o->lead_ms + o->spread_ms) {
        fprintf(stderr, "bench_deadlines lag: --target-ms must exceed --lead-ms + --spread-ms\n");
        return -EINVAL;
    }
    return 0;
}

static int s_stream_init(stream_t *s, void *ctx, const lag_opts_t *o, const char *name,
                         const char *runid, unsigned category, uint64_t quota, uint64_t cap,
                         unsigned window, bool track_incidents)
{
    *s = (stream_t){.category = category, .quota = quota, .cap = cap, .window = window};
    snprintf(s->provider, sizeof s->provider, "dlbench-%s-%s", name, runid);
    s->sock = bench_dealer_open(ctx, o->endpoint, (int)window * 2 + 100, 10, "bench_deadlines");
    s->send_ns = calloc(cap, sizeof *s->send_ns);
    s->lat_us = calloc(cap, sizeof *s->lat_us);
    s->incident = track_incidents ? calloc(cap, sizeof *s->incident) : NULL;
    return s->sock && s->send_ns && s->lat_us && (!track_incidents || s->incident) ? 0 : -1;
}

static void s_stream_free(stream_t *s)
{
    if (s->sock)
        zmq_close(s->sock);
    free(s->send_ns);
    free(s->lat_us);
    free(s->incident);
}

static int s_cmd_lag(int argc, char **argv)
{
    lag_opts_t o;
    if (s_lag_args(argc, argv, &o) != 0)
        return 2;
    char runid[BENCH_RUN_ID_BYTES];
    bench_run_id(runid);
    void *ctx = zmq_ctx_new();
    if (!ctx)
        return 1;

    /* The subscriber first, so that it is joined long before the first deadline. */
    receiver_t r = {.cap = o.events * 2 + 1000};
    snprintf(r.topic, sizeof r.topic, "breach.%s", o.rule);
    r.rx = calloc(r.cap, sizeof *r.rx);
    r.sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0, rcvtimeo = 100;
    if (!r.rx || !r.sub || zmq_setsockopt(r.sub, ZMQ_RCVHWM, &zero, sizeof zero) ||
        zmq_setsockopt(r.sub, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(r.sub, ZMQ_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo) ||
        zmq_setsockopt(r.sub, ZMQ_SUBSCRIBE, "breach.", 7) || zmq_connect(r.sub, o.publish)) {
        fprintf(stderr, "bench_deadlines: subscribe %s: %s\n", o.publish, zmq_strerror(errno));
        return 1;
    }
    pthread_t rx_thread;
    if (pthread_create(&rx_thread, NULL, s_receiver_main, &r) != 0)
        return 1;

    /* The deadline events: incident i (over all connections) reports at = T - target + i * spread / n. */
    int64_t start_ms = s_wall_us() / 1000;
    int64_t due0_ms = (start_ms + o.lead_ms + 999) / 1000 * 1000;
    int64_t due_end_ms = due0_ms + o.spread_ms; /* every due lies in [due0, due_end) (or = due0) */
    stream_t dl[DL_MAX_CONNECTIONS], bg;
    uint64_t per = o.events / o.connections, extra = o.events % o.connections;
    int rc = 0;
    for (unsigned i = 0; i < o.connections && rc == 0; i++) {
        char name[16];
        snprintf(name, sizeof name, "soon%u", i);
        uint64_t quota = per + (i < extra ? 1 : 0);
        rc = s_stream_init(&dl[i], ctx, &o, name, runid, o.category, quota, quota, o.window, true);
        /* Interleaved: connection i sends incidents i, i + C, i + 2C, ... */
        dl[i].at_base_ms = due0_ms - o.target_ms + (int64_t)i * o.spread_ms / (int64_t)o.events;
        dl[i].at_step_num = (int64_t)o.connections * o.spread_ms;
        dl[i].at_step_den = (int64_t)o.events;
    }
    /* The at of the k-th event of connection i: due0 - target + (i + k*C) * spread / n, in ms
     * rounded down per term; close enough (within 1 ms) of the exact interleaving. */
    uint64_t bg_cap = (o.bg_rate ? o.bg_rate : 100000) * (o.lead_ms / 1000 + o.timeout_s + 10) + 1000;
    if (rc == 0)
        rc = s_stream_init(&bg, ctx, &o, "bg", runid, o.bg_category, UINT64_MAX, bg_cap,
                           o.bg_window, false);
    bg.at_now = true;
    if (rc != 0) {
        fprintf(stderr, "bench_deadlines: cannot set up the streams\n");
        return 1;
    }

    /* Let the SUB socket's subscription reach the daemon. */
    usleep(300000);

    fprintf(stderr, "bench_deadlines: %" PRIu64 " deadlines due from %" PRId64 " to %" PRId64
            " (epoch ms), %" PRId64 " ms from now; background %" PRIu64 " events/s\n",
            o.events, due0_ms, due_end_ms, due0_ms - s_wall_us() / 1000, o.bg_rate);

    uint64_t t_begin = bench_mono_ns();
    int64_t end_wall_ms = due_end_ms + (int64_t)o.timeout_s * 1000;
    bool dl_done = false, timed_out = false;
    uint64_t dl_done_ns = 0, bg_stop_ns = 0;
    int64_t dl_last_ack_wall_ms = 0;
    zmq_pollitem_t items[DL_MAX_CONNECTIONS + 1];
    for (;;) {
        uint64_t now = bench_mono_ns();
        int64_t now_wall_ms = s_wall_us() / 1000;
        size_t got = atomic_load(&r.n);
        /* Stop the background once every breach arrived (or at the timeout). */
        if (!bg_stop_ns && dl_done && (got >= o.events || now_wall_ms >= end_wall_ms)) {
            bg_stop_ns = now;
            timed_out = got < o.events;
        }
        if (bg_stop_ns && bg.inflight == 0)
            break;
        if (bg_stop_ns && now - bg_stop_ns > 5000000000ULL) {
            fprintf(stderr, "bench_deadlines: %" PRIu64 " background replies missing\n", bg.inflight);
            timed_out = true;
            break;
        }
        if (!dl_done && now_wall_ms >= end_wall_ms) {
            timed_out = true;
            break;
        }
        /* Background: at bg_rate from the start; the deadline events start one second later. */
        if (!bg_stop_ns) {
            uint64_t allowed = o.bg_rate ? (now - t_begin) / 1000 * o.bg_rate / 1000000 + 1 : UINT64_MAX;
            while (bg.sent < allowed && bg.inflight < bg.window && bg.sent < bg.cap) {
                int src = s_stream_send(&bg, runid);
                if (src < 0) {
                    fprintf(stderr, "bench_deadlines: send: %s\n", zmq_strerror(-src));
                    return 1;
                }
                if (src > 0)
                    break;
            }
        }
        bool dl_started = now - t_begin >= 1000000000ULL;
        if (dl_started && !dl_done) {
            bool all = true;
            for (unsigned i = 0; i < o.connections; i++) {
                while (dl[i].sent < dl[i].quota && dl[i].inflight < dl[i].window) {
                    int src = s_stream_send(&dl[i], runid);
                    if (src < 0) {
                        fprintf(stderr, "bench_deadlines: send: %s\n", zmq_strerror(-src));
                        return 1;
                    }
                    if (src > 0)
                        break;
                }
                all = all && dl[i].answered == dl[i].quota;
            }
            if (all) {
                dl_done = true;
                dl_done_ns = now;
                dl_last_ack_wall_ms = now_wall_ms;
                fprintf(stderr, "bench_deadlines: deadline events acknowledged %" PRId64
                        " ms before the first deadline\n", due0_ms - now_wall_ms);
            }
        }
        int nitems = 0;
        items[nitems++] = (zmq_pollitem_t){.socket = bg.sock, .events = ZMQ_POLLIN};
        for (unsigned i = 0; i < o.connections; i++)
            items[nitems++] = (zmq_pollitem_t){.socket = dl[i].sock, .events = ZMQ_POLLIN};
        /* Wake at least every ms so the background keeps its rate. */
        if (zmq_poll(items, nitems, 1) < 0 && errno != EINTR) {
            fprintf(stderr, "bench_deadlines: poll: %s\n", zmq_strerror(errno));
            return 1;
        }
        s_stream_drain(&bg);
        for (unsigned i = 0; i < o.connections; i++)
            s_stream_drain(&dl[i]);
    }
    /* A little longer for late or duplicate breaches. */
    usleep(500000);
    atomic_store(&r.stop, true);
    pthread_join(rx_thread, NULL);
    (void)dl_done_ns;

    /* Which incidents are ours, and which due did each get? */
    size_t n = atomic_load(&r.n);
    uint64_t max_inc = 0;
    for (unsigned i = 0; i < o.connections; i++)
        for (uint64_t k = 0; k < dl[i].sent && k < dl[i].cap; k++)
            max_inc = dl[i].incident[k] > max_inc ? dl[i].incident[k] : max_inc;
    int64_t *expected_due = calloc(max_inc + 1, sizeof *expected_due);
    uint8_t *seen = calloc(max_inc + 1, 1);
    int64_t *lag_us = calloc(n + 1, sizeof *lag_us), *late_ms = calloc(n + 1, sizeof *late_ms);
    if (!expected_due || !seen || !lag_us || !late_ms)
        return 1;
    for (unsigned i = 0; i < o.connections; i++)
        for (uint64_t k = 0; k < dl[i].sent && k < dl[i].cap; k++)
            if (dl[i].incident[k])
                expected_due[dl[i].incident[k]] =
                    dl[i].at_base_ms + (int64_t)k * dl[i].at_step_num / dl[i].at_step_den + o.target_ms;
    size_t good = 0, foreign = 0, dups = 0, early = 0, wrong_due = 0, seq_back = 0;
    int64_t last_seq = INT64_MIN, first_rx_us = INT64_MAX, last_rx_us = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        breach_rx_t *b = &r.rx[i];
        if (b->seq <= last_seq)
            seq_back++;
        last_seq = b->seq;
        if (!b->ours || b->incident == 0 || b->incident > max_inc || !expected_due[b->incident]) {
            foreign++;
            continue;
        }
        if (seen[b->incident]++) {
            dups++;
            continue;
        }
        if (b->due_ms != expected_due[b->incident])
            wrong_due++;
        int64_t lag = b->recv_us - b->due_ms * 1000;
        if (lag < 0)
            early++;
        lag_us[good] = lag;
        late_ms[good] = b->late_by_ms;
        good++;
        first_rx_us = b->recv_us < first_rx_us ? b->recv_us : first_rx_us;
        last_rx_us = b->recv_us > last_rx_us ? b->recv_us : last_rx_us;
    }
    qsort(lag_us, good, sizeof *lag_us, s_cmp_i64);
    qsort(late_ms, good, sizeof *late_ms, s_cmp_i64);
    double p50 = s_pct_i64(lag_us, good, 0.50) / 1000.0, p99 = s_pct_i64(lag_us, good, 0.99) / 1000.0;
    double lmin = good ? lag_us[0] / 1000.0 : 0, lmax = good ? lag_us[good - 1] / 1000.0 : 0;
    double window_ms = good ? (last_rx_us - first_rx_us) / 1000.0 : 0;

    /* The deadline events' own figures. */
    uint64_t dl_ok = 0, dl_err = 0, dl_arrival = 0, dl_stray = 0;
    for (unsigned i = 0; i < o.connections; i++) {
        dl_ok += dl[i].ok;
        dl_err += dl[i].errors;
        dl_arrival += dl[i].on_arrival;
        dl_stray += dl[i].strays;
    }
    /* Background: throughput over its whole run and latency percentiles. */
    double bg_s = bg.last_ok_ns > bg.first_ok_ns ? (bg.last_ok_ns - bg.first_ok_ns) / 1e9 : 0;
    double bg_rate = bg_s > 0 ? (double)(bg.ok - 1) / bg_s : 0;
    uint64_t bg_n = bg.answered < bg.cap ? bg.answered : bg.cap;
    bench_latency_t bg_lat = bench_latency_summarize(bg.lat_us, bg_n);
    uint32_t bg50 = bg_lat.p50, bg99 = bg_lat.p99, bgmax = bg_lat.max;

    fprintf(stderr,
            "deadline events  %" PRIu64 " acknowledged, %" PRIu64 " errors, %" PRIu64
            " breached on arrival; last ack %" PRId64 " ms before the first deadline\n"
            "breaches         %zu received for our incidents of %" PRIu64 " expected, %zu duplicate, "
            "%zu other, %zu with an unexpected due, %zu early, %zu seq not increasing, %" PRIu64
            " dropped by this tool\n"
            "lag ms           p50 %.1f  p99 %.1f  max %.1f  min %.1f   (arrival - due)\n"
            "daemon late_by   p50 %" PRId64 "  p99 %" PRId64 "  max %" PRId64 " ms   (detection - due)\n"
            "breach window    first to last arrival %.1f ms\n"
            "background       %" PRIu64 " acknowledged, %" PRIu64 " errors, %.0f events/s over %.2f s; "
            "latency us p50 %" PRIu32 " p99 %" PRIu32 " max %" PRIu32 "\n",
            dl_ok, dl_err, dl_arrival, due0_ms - dl_last_ack_wall_ms, good, o.events, dups,
            foreign, wrong_due, early, seq_back, r.overflow, p50, p99, lmax, lmin,
            s_pct_i64(late_ms, good, 0.5), s_pct_i64(late_ms, good, 0.99),
            good ? late_ms[good - 1] : 0, window_ms, bg.ok, bg.errors, bg_rate, bg_s, bg50, bg99,
            bgmax);
    printf("{\"events\":%" PRIu64 ",\"spread_ms\":%" PRId64 ",\"target_ms\":%" PRId64
           ",\"acked\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"on_arrival\":%" PRIu64
           ",\"ack_margin_ms\":%" PRId64 ",\"received\":%zu,\"duplicates\":%zu,\"foreign\":%zu"
           ",\"wrong_due\":%zu,\"early\":%zu,\"seq_not_increasing\":%zu,\"lag_p50_ms\":%.1f"
           ",\"lag_p99_ms\":%.1f,\"lag_max_ms\":%.1f,\"lag_min_ms\":%.1f,\"late_by_p50_ms\":%" PRId64
           ",\"late_by_p99_ms\":%" PRId64 ",\"late_by_max_ms\":%" PRId64 ",\"window_ms\":%.1f"
           ",\"bg_rate_target\":%" PRIu64 ",\"bg_ok\":%" PRIu64 ",\"bg_errors\":%" PRIu64
           ",\"bg_events_per_s\":%.0f,\"bg_p50_us\":%" PRIu32 ",\"bg_p99_us\":%" PRIu32
           ",\"bg_max_us\":%" PRIu32 ",\"timed_out\":%s}\n",
           o.events, o.spread_ms, o.target_ms, dl_ok, dl_err, dl_arrival,
           due0_ms - dl_last_ack_wall_ms, good, dups, foreign, wrong_due, early, seq_back, p50,
           p99, lmax, lmin, s_pct_i64(late_ms, good, 0.5), s_pct_i64(late_ms, good, 0.99),
           good ? late_ms[good - 1] : 0, window_ms, o.bg_rate, bg.ok, bg.errors, bg_rate, bg50,
           bg99, bgmax, timed_out ? "true" : "false");
    fflush(stdout);

    bool failed = timed_out || good != o.events || dups || foreign || early || wrong_due ||
                  dl_err || dl_arrival || dl_stray || bg.errors || bg.strays || r.overflow ||
                  dl_ok != o.events;
    for (unsigned i = 0; i < o.connections; i++)
        s_stream_free(&dl[i]);
    s_stream_free(&bg);
    zmq_close(r.sub);
    zmq_ctx_term(ctx);
    free(expected_due);
    free(seen);
    free(lag_us);
    free(late_ms);
    free(r.rx);
    return failed ? 1 : 0;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_deadlines status --endpoint E [--timeout S]\n"
            "       bench_deadlines lag --endpoint E --publish P [--events N] [--category N]\n"
            "                       [--target-ms MS] [--lead-ms MS] [--spread-ms MS]\n"
            "                       [--bg-rate N] [--bg-category N] [--connections N]\n"
            "                       [--window N] [--rule NAME] [--timeout S]\n"
            "  status       wait for the daemon's first status reply; print its arrival time\n"
            "  lag          open --events incidents (default 10000, category 4) whose deadlines\n"
            "               (--target-ms after their at, default 60000) fall due within\n"
            "               --spread-ms (1000) of an instant --lead-ms (5000) ahead, with\n"
            "               a background of --bg-rate (2000/s) category --bg-category (5)\n"
            "               events; measure when each breach arrives on \"breach.\"\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    int rc = 2;
    if (strcmp(argv[1], "status") == 0)
        rc = s_cmd_status(argc - 1, argv + 1);
    else if (strcmp(argv[1], "lag") == 0)
        rc = s_cmd_lag(argc - 1, argv + 1);
    else if (strcmp(argv[1], "--help") == 0) {
        s_usage(stdout);
        return 0;
    }
    if (rc == 2)
        s_usage(stderr);
    return rc;
}
