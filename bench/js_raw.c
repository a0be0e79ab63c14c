/*
 * bench_js_raw: the raw JetStream async-publish rate, the ceiling of cluster mode's ingest
 * (issue 12). Connects to the given NATS servers, creates the stream (or reuses it when it
 * exists), publishes --events payloads with js_PublishAsync and a MsgId each (as cluster mode
 * appends events: the server deduplicates on it), at most --max-pending unacknowledged, and
 * reports acknowledged events per second and the latency of each acknowledgement.
 *
 * The default payload is the event bench_loadgen sends for the same index (the same JSON,
 * provider "bench-p0-<runid>", stages detected..resolved); --size N sends N bytes instead. A
 * message's latency runs from just before its js_PublishAsync call to its PubAck in the ack
 * handler (jsOptions.PublishAsync.AckHandler), which finds the message by its MsgId. Any
 * publish error, negative ack or timeout makes the run fail (exit 1).
 *
 * --entries wraps each event in the head of a cluster-mode request entry (daemon/edge/cluster.h:
 * kind r, node "bench-raw", the run id as its boot id), so that publishing to a cluster's
 * stream (--stream NAME --subject NAME.log) makes a backlog of one entry per event, which
 * every node applies: bench/run-cluster's catch-up of single-request entries.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "bench/common.h"
#include "proto/rfc3339.h"

#define JSRAW_MAX_EVENTS 50000000ULL
#define JSRAW_MAX_SIZE (1024 * 1024)
#define JSRAW_MAX_URLS 16

/* The stages of bench_loadgen's incidents and their offsets from the incident's start. */
static const char *const s_stage_names[] = {"detected", "notified", "acknowledged", "resolved"};
static const int64_t s_stage_offsets_ms[] = {0, 10000, 20000, 90000};
#define JSRAW_INCIDENT_SPACING_MS 100

typedef struct {
    char *urls;            /* --urls, comma-separated; split in place */
    const char *stream;
    const char *subject;
    unsigned replicas;
    uint64_t events;
    uint64_t size;         /* 0: bench_loadgen's event */
    uint64_t max_pending;
    double timeout_s;
    bool json;
    bool entries;          /* --entries: each payload is a cluster entry of one request */
} jsraw_opts_t;

/* What the ack handler (libnats' thread) shares with the publishing thread. */
typedef struct {
    uint64_t *send_ns;     /* by message index, set before its publish */
    uint32_t *latency_us;  /* one per ack, in arrival order */
    atomic_uint_fast64_t acked, duplicates, errors;
    char runid[BENCH_RUN_ID_BYTES];
    char first_error[256];
} jsraw_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_js_raw --urls URL[,URL...] [--stream NAME] [--subject S] [--replicas R]\n"
            "                    [--events N] [--size BYTES] [--max-pending N] [--timeout S]\n"
            "                    [--entries] [--json]\n"
            "  --urls U          NATS servers, comma-separated (nats://127.0.0.1:4222,...)\n"
            "  --stream NAME     stream to publish to, created when missing (default JSRAW)\n"
            "  --subject S       subject of the messages, bound to the stream (default jsraw.events)\n"
            "  --replicas R      replicas of a new stream, 1-5 (default 3)\n"
            "  --events N        messages in total (default 200000)\n"
            "  --size BYTES      payload size (default: bench_loadgen's event JSON, ~200 bytes)\n"
            "  --max-pending N   unacknowledged publishes at most (default 4096)\n"
            "  --timeout S       give up after S seconds (default 120)\n"
            "  --entries         wrap each event as a cluster-mode request entry (a backlog\n"
            "                    for a cluster's stream: --stream NAME --subject NAME.log)\n"
            "  --json            print one JSON result line on stdout, the rest on stderr\n");
}

static int s_parse_args(int argc, char **argv, jsraw_opts_t *o)
{
    static const struct option longopts[] = {
        {"urls", required_argument, NULL, 'u'},
        {"stream", required_argument, NULL, 's'},
        {"subject", required_argument, NULL, 'S'},
        {"replicas", required_argument, NULL, 'r'},
        {"events", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 'z'},
        {"max-pending", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"entries", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (jsraw_opts_t){.stream = "JSRAW", .subject = "jsraw.events", .replicas = 3,
                        .events = 200000, .max_pending = 4096, .timeout_s = 120.0};
    int c, idx = 0;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        int rc = 0;
        switch (c) {
        case 'u': o->urls = optarg; break;
        case 's': o->stream = optarg; break;
        case 'S': o->subject = optarg; break;
        case 'r': rc = bench_parse_u64(optarg, 1, 5, &v); o->replicas = (unsigned)v; break;
        case 'n': rc = bench_parse_u64(optarg, 1, JSRAW_MAX_EVENTS, &o->events); break;
        case 'z': rc = bench_parse_u64(optarg, 1, JSRAW_MAX_SIZE, &o->size); break;
        case 'p': rc = bench_parse_u64(optarg, 1, 1000000, &o->max_pending); break;
        case 't': rc = bench_parse_u64(optarg, 1, 3600, &v); o->timeout_s = (double)v; break;
        case 'j': o->json = true; break;
        case 'e': o->entries = true; break;
        case 'h': s_usage(stdout); exit(0);
        default: return -EINVAL;
        }
        if (rc) {
            fprintf(stderr, "bench_js_raw: bad value for --%s: %s\n", longopts[idx].name, optarg);
            return -EINVAL;
        }
    }
    if (optind != argc || !o->urls) {
        fprintf(stderr, "bench_js_raw: --urls is required and takes no positional arguments\n");
        return -EINVAL;
    }
    if (o->entries && o->size) {
        fprintf(stderr, "bench_js_raw: --entries wraps events, not --size payloads\n");
        return -EINVAL;
    }
    return 0;
}

/* Connects to every URL of the comma-separated list (split in place). NULL after printing. */
static natsConnection *s_connect(char *urls)
{
    const char *list[JSRAW_MAX_URLS];
    int n = 0;
    for (char *save = NULL, *u = strtok_r(urls, ", ", &save); u && n < JSRAW_MAX_URLS;
         u = strtok_r(NULL, ", ", &save))
        list[n++] = u;
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsStatus st = natsOptions_Create(&opts);
    if (st == NATS_OK)
        st = natsOptions_SetServers(opts, list, n);
    if (st == NATS_OK)
        st = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    if (st != NATS_OK)
        fprintf(stderr, "bench_js_raw: connect: %s\n", natsStatus_GetText(st));
    return nc;
}

/* Creates the stream with o->replicas unless it exists. Returns 0, or -1 after printing. */
static int s_stream_ensure(jsCtx *js, const jsraw_opts_t *o)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus st = js_GetStreamInfo(&si, js, o->stream, NULL, &jerr);
    if (st == NATS_OK) {
        if (si->Config->Replicas != (int64_t)o->replicas)
            fprintf(stderr, "bench_js_raw: reusing stream %s with %" PRId64 " replicas, not %u\n",
                    o->stream, si->Config->Replicas, o->replicas);
        jsStreamInfo_Destroy(si);
        return 0;
    }
    const char *subjects[] = {o->subject};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = o->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Replicas = (int64_t)o->replicas;
    st = js_AddStream(&si, js, &cfg, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (st != NATS_OK) {
        fprintf(stderr, "bench_js_raw: create stream %s: %s (jsErrCode %d): %s\n", o->stream,
                natsStatus_GetText(st), (int)jerr, nats_GetLastError(NULL));
        return -1;
    }
    return 0;
}

/* Writes message k's payload into buf: bench_loadgen's event k of one provider. */
static int s_format_event(const jsraw_t *r, uint64_t k, char *buf, size_t cap)
{
    uint64_t incident = k / 4;
    unsigned stage = (unsigned)(k % 4);
    char at[RFC3339_BUFSZ];
    rfc3339_format(1610409600000LL + (int64_t)incident * JSRAW_INCIDENT_SPACING_MS +
                       s_stage_offsets_ms[stage],
                   at); /* 2021-01-12T00:00:00Z, bench_loadgen's default base */
    return snprintf(buf, cap,
                    "{\"op\":\"event\",\"id\":%" PRIu64 ",\"provider\":\"bench-p0-%s\","
                    "\"event_id\":\"e%" PRIu64 "\",\"ref\":\"r%" PRIu64 "\",\"stage\":\"%s\","
                    "\"at\":\"%s\",\"category\":3,\"title\":\"bench incident %" PRIu64 "\"}",
                    k + 1, r->runid, k, incident, s_stage_names[stage], at, incident);
}

/*
 * Writes message k as a cluster-mode request entry: the head's NUL-terminated fields (version
 * 1, kind r, node, boot id, request number, arrival ms, caller, role, providers, topic: empty
 * ones anonymous), then event k.
 */
static int s_format_entry(const jsraw_t *r, uint64_t k, char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int head = snprintf(buf, cap, "1%cr%cbench-raw%c%s%c%" PRIu64 "%c%" PRId64 "%c%c%c%c%c", 0,
                        0, 0, r->runid, 0, k + 1, 0, now_ms, 0, 0, 0, 0, 0);
    if (head < 0 || (size_t)head >= cap)
        return -1;
    int body = s_format_event(r, k, buf + head, cap - (size_t)head);
    return body < 0 ? -1 : head + body;
}

/* jsPubAckHandler: the latency of the acknowledged message, found by its MsgId "<runid>-k". */
static void s_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    jsraw_t *r = closure;
    uint64_t now = bench_mono_ns();
    if (pa == NULL) {
        if (atomic_fetch_add(&r->errors, 1) == 0)
            snprintf(r->first_error, sizeof r->first_error, "%s (jsErrCode %d): %s",
                     natsStatus_GetText(pae->Err), (int)pae->ErrCode,
                     pae->ErrText ? pae->ErrText : "");
        natsMsg_Destroy(msg);
        return;
    }
    const char *id = NULL;
    const char *dash = NULL;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK)
        dash = strrchr(id, '-');
    uint64_t n = atomic_fetch_add(&r->acked, 1);
    if (pa->Duplicate)
        atomic_fetch_add(&r->duplicates, 1);
    if (dash != NULL)
        r->latency_us[n] = bench_latency_us(r->send_ns[strtoull(dash + 1, NULL, 10)], now);
    natsMsg_Destroy(msg);
}

/*
 * Publishes o->events messages, waiting while max_pending are unacknowledged, then waits for
 * the rest. Returns 0, or -1 after printing why.
 */
static int s_publish_all(jsCtx *js, const jsraw_opts_t *o, jsraw_t *r, uint64_t deadline_ns)
{
    size_t cap = o->size ? (size_t)o->size + 1 : 512;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    if (o->size)
        memset(buf, 'x', cap);
    natsStatus st = NATS_OK;
    for (uint64_t k = 0; k < o->events && st == NATS_OK; k++) {
        int len = o->size      ? (int)o->size
                  : o->entries ? s_format_entry(r, k, buf, cap)
                               : s_format_event(r, k, buf, cap);
        char id[BENCH_RUN_ID_BYTES + 24];
        snprintf(id, sizeof id, "%s-%" PRIu64, r->runid, k);
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = id;
        r->send_ns[k] = bench_mono_ns();
        /* With max_pending in flight the call waits (StallWait), then says NATS_TIMEOUT. */
        while ((st = js_PublishAsync(js, o->subject, buf, len, &po)) == NATS_TIMEOUT &&
               bench_mono_ns() < deadline_ns)
            ;
    }
    free(buf);
    if (st == NATS_OK) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        uint64_t now = bench_mono_ns();
        po.MaxWait = now < deadline_ns ? (int64_t)((deadline_ns - now) / 1000000) + 1 : 1;
        st = js_PublishAsyncComplete(js, &po);
    }
    if (st != NATS_OK) {
        fprintf(stderr, "bench_js_raw: publish: %s: %s\n", natsStatus_GetText(st),
                nats_GetLastError(NULL));
        return -1;
    }
    return 0;
}

static void s_report(const jsraw_opts_t *o, const char *urls, jsraw_t *r, uint64_t payload,
                     double seconds)
{
    uint64_t acked = atomic_load(&r->acked), dups = atomic_load(&r->duplicates),
             errors = atomic_load(&r->errors);
    bench_latency_t lat = bench_latency_summarize(r->latency_us, acked);
    double rate = seconds > 0 ? (double)(acked - dups) / seconds : 0;
    FILE *human = o->json ? stderr : stdout;
    fprintf(human,
            "urls         %s (stream %s, R%u, max pending %" PRIu64 ", %" PRIu64 " B payload)\n"
            "events       %" PRIu64 " acknowledged, %" PRIu64 " duplicate, %" PRIu64
            " errors, %" PRIu64 " unanswered\n"
            "seconds      %.3f\n"
            "events/s     %.0f\n"
            "latency us   p50 %" PRIu32 "  p99 %" PRIu32 "  max %" PRIu32 "\n",
            urls, o->stream, o->replicas, o->max_pending, payload, acked - dups, dups, errors,
            o->events - acked - errors, seconds, rate, lat.p50, lat.p99, lat.max);
    if (o->json)
        printf("{\"urls\":\"%s\",\"stream\":\"%s\",\"replicas\":%u,\"max_pending\":%" PRIu64
               ",\"payload_bytes\":%" PRIu64 ",\"events\":%" PRIu64 ",\"ok\":%" PRIu64
               ",\"duplicates\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"seconds\":%.3f,\"events_per_s\":%.0f,\"p50_us\":%" PRIu32
               ",\"p99_us\":%" PRIu32 ",\"max_us\":%" PRIu32 "}\n",
               urls, o->stream, o->replicas, o->max_pending, payload, o->events, acked - dups,
               dups, errors, seconds, rate, lat.p50, lat.p99, lat.max);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    jsraw_opts_t o;
    if (s_parse_args(argc, argv, &o) != 0) {
        s_usage(stderr);
        return 2;
    }
    char urls[1024];
    snprintf(urls, sizeof urls, "%s", o.urls);
    jsraw_t *r = calloc(1, sizeof *r);
    if (r == NULL || !(r->send_ns = calloc(o.events, sizeof *r->send_ns)) ||
        !(r->latency_us = calloc(o.events, sizeof *r->latency_us))) {
        fprintf(stderr, "bench_js_raw: out of memory\n");
        return 1;
    }
    bench_run_id(r->runid);
    char sample[512];
    uint64_t payload = o.size ? o.size : (uint64_t)s_format_event(r, 0, sample, sizeof sample);

    int rc = -1;
    natsConnection *nc = s_connect(o.urls);
    jsCtx *js = NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = (int64_t)o.max_pending;
    jo.PublishAsync.AckHandler = s_on_ack;
    jo.PublishAsync.AckHandlerClosure = r;
    if (nc && natsConnection_JetStream(&js, nc, &jo) == NATS_OK && s_stream_ensure(js, &o) == 0) {
        uint64_t start = bench_mono_ns();
        rc = s_publish_all(js, &o, r, start + (uint64_t)(o.timeout_s * 1e9));
        s_report(&o, urls, r, payload, (double)(bench_mono_ns() - start) / 1e9);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    uint64_t errors = atomic_load(&r->errors), acked = atomic_load(&r->acked);
    if (rc == 0 && (errors || acked != o.events)) {
        fprintf(stderr, "bench_js_raw: FAILED: %" PRIu64 " errors (first: %s), %" PRIu64
                " of %" PRIu64 " acknowledged\n", errors, r->first_error, acked, o.events);
        rc = -1;
    }
    free(r->send_ns);
    free(r->latency_us);
    free(r);
    return rc == 0 ? 0 : 1;
}
