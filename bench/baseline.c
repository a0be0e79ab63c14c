/*
 * bench_baseline: the ceiling of ZeroMQ + LMDB group commit on this machine.
 *
 * A minimal server with the same durable-acknowledgement shape as incidentd and none of its
 * work: a ROUTER receives request frames, the receiving thread queues them into a batch, a
 * writer thread commits each batch to LMDB (key: big-endian u64 sequence, value: the raw
 * frame) with the default, fully synchronous flags, and only after the commit the receiving
 * thread sends {"ok":true,"id":...} with the request's routing envelope. While the writer
 * commits one batch, the receiving thread fills the next: the batch size adapts to the load.
 *
 * Batches travel between the two threads as pointers over an inproc PAIR, so every socket
 * is used by one thread only and nothing else is shared. SIGINT/SIGTERM: stop receiving,
 * commit and answer what was received, exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <zmq.h>

#define BASELINE_MAX_ENVELOPE 4     /* routing frames kept per request (identity, delimiter) */
#define BASELINE_WRITER_ENDPOINT "inproc://bench-baseline-writer"
#define BASELINE_ID_BYTES 64

typedef struct {
    zmq_msg_t envelope[BASELINE_MAX_ENVELOPE];
    int nenvelope;
    zmq_msg_t body;
} baseline_request_t;

typedef struct {
    baseline_request_t *requests;
    size_t count;
    size_t cap;
    int rc;                         /* 0 or the LMDB error of the commit */
} baseline_batch_t;

typedef struct {
    const char *endpoint;
    const char *dir;
    size_t batch_max;
    size_t map_mb;
    bool indexes;                   /* --indexes: also the store writes an event needs */
} baseline_opts_t;

/* The tables of --indexes, shaped like incidentd's (see s_index_event). */
enum { IX_DEDUP, IX_REFS, IX_INCIDENTS, IX_OPENED, IX_OPEN, IX_COUNT };

typedef struct {
    MDB_env *env;
    MDB_dbi dbi;
    bool indexes;
    MDB_dbi ix[IX_COUNT];
    uint64_t next_incident;
    void *pair;                     /* the writer's end of the PAIR */
    uint64_t next_seq;
    uint64_t commits;
} baseline_writer_t;

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_baseline --endpoint E --dir DIR [--batch-max N] [--map-mb N]\n"
            "  --endpoint E    ROUTER endpoint to bind (tcp://127.0.0.1:PORT, ipc://PATH)\n"
            "  --dir DIR       existing directory for the LMDB environment\n"
            "  --batch-max N   most requests per commit (default 4096)\n"
            "  --map-mb N      LMDB map size in MiB (default 4096)\n"
            "  --indexes       per event, also the index writes incidentd cannot do without\n"
            "                  (dedup get+put, ref get; for a new incident: ref, status,\n"
            "                  record and opened-time puts): a floor of the store's work\n");
}

static int s_parse_args(int argc, char **argv, baseline_opts_t *o)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"dir", required_argument, NULL, 'd'},
        {"batch-max", required_argument, NULL, 'b'},
        {"map-mb", required_argument, NULL, 'm'},
        {"indexes", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (baseline_opts_t){.batch_max = 4096, .map_mb = 4096};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case 'd': o->dir = optarg; break;
        case 'b':
            o->batch_max = strtoul(optarg, &end, 10);
            if (*end || o->batch_max < 1 || o->batch_max > 1000000)
                return -EINVAL;
            break;
        case 'm':
            o->map_mb = strtoul(optarg, &end, 10);
            if (*end || o->map_mb < 1 || o->map_mb > (1u << 20))
                return -EINVAL;
            break;
        case 'i': o->indexes = true; break;
        case 'h': s_usage(stdout); exit(0);
        default: return -EINVAL;
        }
    }
    return optind == argc && o->endpoint && o->dir ? 0 : -EINVAL;
}

static baseline_batch_t *s_batch_new(size_t cap)
{
    baseline_batch_t *b = calloc(1, sizeof *b);
    if (b)
        b->requests = calloc(cap, sizeof *b->requests);
    if (!b || !b->requests) {
        free(b);
        return NULL;
    }
    b->cap = cap;
    return b;
}

static void s_batch_destroy(baseline_batch_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->requests);
    free(*self_p);
    *self_p = NULL;
}

/*
 * The JSON string value of "name" in body, found by a bounded scan (no parse, no escapes):
 * the floor measures the store, not the decoding. Returns its length, 0 when absent.
 */
static size_t s_field(const zmq_msg_t *body, const char *name, const char **out)
{
    const char *p = zmq_msg_data((zmq_msg_t *)body), *end = p + zmq_msg_size((zmq_msg_t *)body);
    char quoted[32];
    int n = snprintf(quoted, sizeof quoted, "\"%s\":\"", name);
    const char *at = memmem(p, (size_t)(end - p), quoted, (size_t)n);
    if (!at)
        return 0;
    const char *v = at + n, *q = memchr(v, '"', (size_t)(end - v));
    *out = v;
    return q ? (size_t)(q - v) : 0;
}

/* provider NUL value: the keys of dedup and refs, as incidentd builds them. */
static MDB_val s_pair_key(unsigned char *buf, const char *a, size_t la, const char *b, size_t lb)
{
    memcpy(buf, a, la);
    buf[la] = '\0';
    memcpy(buf + la + 1, b, lb);
    return (MDB_val){la + 1 + lb, buf};
}

static void s_u64_key(unsigned char key[8], uint64_t n)
{
    for (int k = 0; k < 8; k++)
        key[k] = (unsigned char)(n >> (56 - 8 * k));
}

/*
 * --indexes: what an accepted event costs the store at the least in incidentd, without any
 * of its other work: the retry check and its record (dedup get + put) and the incident of
 * (provider, ref) (refs get). A new incident also gets its ref, its open-status entry, its
 * record (the frame stands in for it) and its opened-time entry (a 48-byte digest). It is a
 * lower bound: incidentd rewrites the record and the digest whenever a later batch adds a
 * stage, moves status entries, and keeps SLA deadlines; none of that is counted here.
 */
static int s_index_event(baseline_writer_t *w, MDB_txn *txn, const zmq_msg_t *body, uint64_t seq)
{
    const char *provider = NULL, *event_id = NULL, *ref = NULL;
    size_t lp = s_field(body, "provider", &provider), le = s_field(body, "event_id", &event_id);
    size_t lr = s_field(body, "ref", &ref);
    if (!lp || !le || !lr || lp > 64 || le > 128 || lr > 128)
        return 0;
    unsigned char kbuf[64 + 1 + 128], vbuf[48] = {0}, ikey[8];
    MDB_val k = s_pair_key(kbuf, provider, lp, event_id, le), v;
    int rc = mdb_get(txn, w->ix[IX_DEDUP], &k, &v);
    if (rc != MDB_NOTFOUND)
        return rc; /* 0: a retry, nothing more to write */
    MDB_val dv = {16, vbuf};
    if ((rc = mdb_put(txn, w->ix[IX_DEDUP], &k, &dv, 0)) != 0)
        return rc;
    k = s_pair_key(kbuf, provider, lp, ref, lr);
    if ((rc = mdb_get(txn, w->ix[IX_REFS], &k, &v)) != MDB_NOTFOUND)
        return rc; /* a known incident: its record is counted once, below */
    s_u64_key(ikey, ++w->next_incident);
    MDB_val iv = {8, ikey}, empty = {0, vbuf};
    MDB_val ik = {8, ikey};
    if ((rc = mdb_put(txn, w->ix[IX_REFS], &k, &iv, 0)) != 0 ||
        (rc = mdb_put(txn, w->ix[IX_OPEN], &ik, &empty, 0)) != 0)
        return rc;
    MDB_val record = {zmq_msg_size((zmq_msg_t *)body), zmq_msg_data((zmq_msg_t *)body)};
    if ((rc = mdb_put(txn, w->ix[IX_INCIDENTS], &ik, &record, 0)) != 0)
        return rc;
    unsigned char okey[16];
    s_u64_key(okey, seq);
    memcpy(okey + 8, ikey, 8);
    MDB_val ok = {16, okey}, digest = {sizeof vbuf, vbuf};
    return mdb_put(txn, w->ix[IX_OPENED], &ok, &digest, 0);
}

/* Commits every request body of the batch in one write transaction. */
static int s_writer_commit(baseline_writer_t *w, baseline_batch_t *b)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(w->env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < b->count && rc == 0; i++) {
        uint64_t seq = w->next_seq + i;
        unsigned char key[8];
        s_u64_key(key, seq);
        MDB_val k = {sizeof key, key};
        MDB_val v = {zmq_msg_size(&b->requests[i].body), zmq_msg_data(&b->requests[i].body)};
        rc = mdb_put(txn, w->dbi, &k, &v, MDB_APPEND);
        if (rc == 0 && w->indexes)
            rc = s_index_event(w, txn, &b->requests[i].body, seq);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    if (rc == 0) {
        w->next_seq += b->count;
        w->commits++;
    }
    return rc;
}

/* The writer thread: commits each batch it receives and hands it back; NULL ends it. */
static void *s_writer_main(void *arg)
{
    baseline_writer_t *w = arg;
    for (;;) {
        baseline_batch_t *b;
        if (zmq_recv(w->pair, &b, sizeof b, 0) != (int)sizeof b) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (!b)
            break;
        b->rc = s_writer_commit(w, b);
        while (zmq_send(w->pair, &b, sizeof b, 0) < 0 && errno == EINTR)
            ;
    }
    return NULL;
}

/*
 * Copies the JSON text of the request's "id" value into out ("null" when there is none)
 * with a bounded scan instead of a parse: the baseline measures the transport and the commit.
 */
static void s_request_id(const zmq_msg_t *body, char out[BASELINE_ID_BYTES])
{
    const char *p = zmq_msg_data((zmq_msg_t *)body), *end = p + zmq_msg_size((zmq_msg_t *)body);
    const char *key = memmem(p, (size_t)(end - p), "\"id\"", 4);
    strcpy(out, "null");
    if (!key)
        return;
    p = key + 4;
    while (p < end && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    const char *v = p;
    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++)
            if (*p == '\\')
                p++;
        p++;
    } else {
        while (p < end && *p != ',' && *p != '}' && *p != ' ')
            p++;
    }
    if (p > v && p <= end && p - v < BASELINE_ID_BYTES) {
        memcpy(out, v, (size_t)(p - v));
        out[p - v] = '\0';
    }
}

/* Sends the reply of every request of a committed batch and empties it. */
static void s_batch_reply(void *router, baseline_batch_t *b, uint64_t *failed)
{
    for (size_t i = 0; i < b->count; i++) {
        baseline_request_t *r = &b->requests[i];
        char id[BASELINE_ID_BYTES], reply[160];
        s_request_id(&r->body, id);
        int len = b->rc == 0
            ? snprintf(reply, sizeof reply, "{\"ok\":true,\"id\":%s}", id)
            : snprintf(reply, sizeof reply,
                       "{\"ok\":false,\"id\":%s,\"error\":{\"code\":\"internal\",\"message\":\"%s\"}}",
                       id, mdb_strerror(b->rc));
        int e = 0, sent = 0;
        /* zmq_msg_send takes the frame on success; the rest is closed below. */
        for (; e < r->nenvelope; e++)
            if (zmq_msg_send(&r->envelope[e], router, ZMQ_SNDMORE) < 0)
                break;
        if (e == r->nenvelope && zmq_send(router, reply, (size_t)len, 0) == len)
            sent = 1;
        for (; e < r->nenvelope; e++)
            zmq_msg_close(&r->envelope[e]);
        zmq_msg_close(&r->body);
        if (!sent)
            (*failed)++;
    }
    b->count = 0;
}

/* Receives one request into the batch. Returns 1, 0 when none is waiting, or -errno. */
static int s_batch_receive(void *router, baseline_batch_t *b, uint64_t *dropped)
{
    baseline_request_t *r = &b->requests[b->count];
    zmq_msg_t frames[BASELINE_MAX_ENVELOPE + 1];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t *m = n <= BASELINE_MAX_ENVELOPE ? &frames[n] : &r->body;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, router, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int err = errno;
            zmq_msg_close(m);
            for (int i = 0; i < n && i <= BASELINE_MAX_ENVELOPE; i++)
                zmq_msg_close(&frames[i]);
            return err == EAGAIN && n == 0 ? 0 : -err;
        }
        more = zmq_msg_more(m);
        if (n > BASELINE_MAX_ENVELOPE)
            zmq_msg_close(m);   /* an oversized envelope: read to its end, drop it below */
        n++;
    }
    if (n < 2 || n > BASELINE_MAX_ENVELOPE + 1) {
        for (int i = 0; i < n && i <= BASELINE_MAX_ENVELOPE; i++)
            zmq_msg_close(&frames[i]);
        (*dropped)++;
        return 1;
    }
    r->nenvelope = n - 1;
    for (int i = 0; i < r->nenvelope; i++)
        r->envelope[i] = frames[i];
    r->body = frames[n - 1];
    b->count++;
    return 1;
}

static int s_env_open(const baseline_opts_t *o, baseline_writer_t *w)
{
    MDB_txn *txn;
    int rc = mdb_env_create(&w->env);
    static const char *const names[IX_COUNT] = {"dedup", "refs", "incidents", "opened", "open"};
    if (!rc)
        rc = mdb_env_set_mapsize(w->env, o->map_mb << 20);
    if (!rc)
        rc = mdb_env_set_maxdbs(w->env, IX_COUNT + 1);
    if (!rc)
        rc = mdb_env_open(w->env, o->dir, 0, 0600);
    if (!rc)
        rc = mdb_txn_begin(w->env, NULL, 0, &txn);
    if (!rc) {
        /* Without --indexes, the log alone in the main table, as it always was. */
        rc = mdb_dbi_open(txn, o->indexes ? "log" : NULL, o->indexes ? MDB_CREATE : 0, &w->dbi);
        for (int i = 0; o->indexes && i < IX_COUNT && rc == 0; i++)
            rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &w->ix[i]);
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    w->indexes = o->indexes;
    if (rc)
        fprintf(stderr, "bench_baseline: lmdb %s: %s\n", o->dir, mdb_strerror(rc));
    w->next_seq = 1;
    return rc ? -1 : 0;
}

typedef struct {
    void *router;
    void *pair;                     /* the receiving thread's end */
    baseline_batch_t *filling;      /* receives requests */
    baseline_batch_t *committing;   /* with the writer, or NULL when the writer is idle */
    uint64_t received, failed, dropped;
} baseline_server_t;

/* Hands the filling batch to the writer if the writer is idle and there is work. */
static void s_server_dispatch(baseline_server_t *s, baseline_batch_t **spare)
{
    if (s->committing || s->filling->count == 0)
        return;
    s->committing = s->filling;
    s->filling = *spare;
    *spare = NULL;
    zmq_send(s->pair, &s->committing, sizeof s->committing, 0);
}

/* Waits for the writer's batch, answers it and makes it the spare. */
static void s_server_collect(baseline_server_t *s, baseline_batch_t **spare, int flags)
{
    baseline_batch_t *b;
    if (!s->committing || zmq_recv(s->pair, &b, sizeof b, flags) != (int)sizeof b)
        return;
    if (b->rc)
        fprintf(stderr, "bench_baseline: commit failed: %s\n", mdb_strerror(b->rc));
    s_batch_reply(s->router, b, &s->failed);
    s->committing = NULL;
    *spare = b;
}

static int s_server_run(baseline_server_t *s, baseline_batch_t *spare)
{
    while (!s_stop) {
        zmq_pollitem_t items[2] = {
            {.socket = s->pair, .events = ZMQ_POLLIN},
            {.socket = s->router, .events = s->filling->count < s->filling->cap ? ZMQ_POLLIN : 0},
        };
        if (zmq_poll(items, 2, 200) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_server_collect(s, &spare, ZMQ_DONTWAIT);
        while (s->filling->count < s->filling->cap) {
            int rc = s_batch_receive(s->router, s->filling, &s->dropped);
            if (rc < 0 && rc != -EINTR)
                return -1;
            if (rc <= 0)
                break;
            s->received++;
        }
        s_server_dispatch(s, &spare);
    }
    /* Stop: answer the batch with the writer, then commit and answer what is left. */
    s_server_collect(s, &spare, 0);
    s_server_dispatch(s, &spare);
    s_server_collect(s, &spare, 0);
    s_batch_destroy(&spare);
    return 0;
}

static void *s_socket(void *ctx, int type)
{
    void *sock = zmq_socket(ctx, type);
    int one = 1, zero = 0, hwm = 100000, sndtimeo = 1000;
    if (sock && type == ZMQ_ROUTER &&
        (zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) ||
         zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
         zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
         zmq_setsockopt(sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo))) {
        zmq_close(sock);
        return NULL;
    }
    if (sock)
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    return sock;
}

int main(int argc, char **argv)
{
    baseline_opts_t o;
    if (s_parse_args(argc, argv, &o) != 0) {
        s_usage(stderr);
        return 2;
    }
    struct sigaction sa = {.sa_handler = s_on_signal};   /* no SA_RESTART: zmq_poll returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    baseline_writer_t w = {0};
    if (s_env_open(&o, &w) != 0)
        return 1;
    void *ctx = zmq_ctx_new();
    baseline_server_t s = {.router = s_socket(ctx, ZMQ_ROUTER), .pair = s_socket(ctx, ZMQ_PAIR),
                           .filling = s_batch_new(o.batch_max)};
    baseline_batch_t *spare = s_batch_new(o.batch_max);
    w.pair = s_socket(ctx, ZMQ_PAIR);
    if (!s.router || !s.pair || !w.pair || !s.filling || !spare ||
        zmq_bind(s.pair, BASELINE_WRITER_ENDPOINT) || zmq_connect(w.pair, BASELINE_WRITER_ENDPOINT)) {
        fprintf(stderr, "bench_baseline: setup: %s\n", zmq_strerror(errno));
        return 1;
    }
    if (zmq_bind(s.router, o.endpoint)) {
        fprintf(stderr, "bench_baseline: bind %s: %s\n", o.endpoint, zmq_strerror(errno));
        return 1;
    }
    pthread_t writer;
    if (pthread_create(&writer, NULL, s_writer_main, &w) != 0) {
        fprintf(stderr, "bench_baseline: cannot start the writer thread\n");
        return 1;
    }
    fprintf(stderr, "bench_baseline: listening on %s, LMDB in %s\n", o.endpoint, o.dir);

    int rc = s_server_run(&s, spare);
    baseline_batch_t *none = NULL;
    zmq_send(s.pair, &none, sizeof none, 0);
    pthread_join(writer, NULL);
    fprintf(stderr,
            "bench_baseline: %" PRIu64 " requests in %" PRIu64 " commits (%.1f per commit), "
            "%" PRIu64 " replies failed, %" PRIu64 " malformed dropped\n",
            s.received, w.commits, w.commits ? (double)(w.next_seq - 1) / (double)w.commits : 0.0,
            s.failed, s.dropped);

    s_batch_destroy(&s.filling);
    zmq_close(s.router);
    zmq_close(s.pair);
    zmq_close(w.pair);
    zmq_ctx_term(ctx);
    mdb_env_close(w.env);
    return rc == 0 ? 0 : 1;
}
