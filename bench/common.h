/*
 * What the benchmark clients (bench_loadgen, bench_deadlines, bench_report) share: the clock,
 * option values, the few fields they read from the daemon's flat JSON replies, DEALER sockets,
 * latency percentiles, and a pipeline that keeps a window of requests in flight on several
 * DEALER sockets and matches each reply to its request by "id".
 *
 * Every message printed here starts with the caller's program name ("bench_loadgen: ..."), so
 * the tools print exactly what they printed before this module existed.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many error, stray or duplicate replies a tool prints before it only counts them. */
#define BENCH_ERRORS_SHOWN 5
/* Replies longer than this are cut before they are read (they are only scanned for fields). */
#define BENCH_REPLY_BYTES 4096
/* The length of a run id from bench_run_id(), with its NUL. */
#define BENCH_RUN_ID_BYTES 32

/* Returns CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_mono_ns(void);

/*
 * Parses text as a whole decimal number in [min, max] into *out. Returns 0, or -EINVAL (and
 * leaves *out alone) when text is empty, signed, not all digits or out of range.
 */
int bench_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Writes a short id unique to this process and second (hex time and pid) into out, which holds
 * BENCH_RUN_ID_BYTES bytes; providers named after it do not collide with an earlier run's.
 */
void bench_run_id(char out[BENCH_RUN_ID_BYTES]);

/*
 * Finds the value of a "key": (quoted_key includes the quotes) in flat JSON text without
 * parsing it. Returns a pointer into text at the value's first byte, or NULL. Good enough for
 * the flat replies of the daemon and the baseline: an ambiguous reply only counts as a stray.
 */
const char *bench_json_value(const char *text, const char *quoted_key);

/* Returns whether the value of quoted_key in flat JSON text is the literal true. */
bool bench_json_true(const char *text, const char *quoted_key);

/*
 * Reads the numeric "id" of a reply into *id. Returns 0, or -1 when the reply has no "id" or
 * its value is not a number.
 */
int bench_reply_id(const char *reply, uint64_t *id);

/*
 * Opens a DEALER socket on ctx with linger 0 and send and receive high-water marks of hwm,
 * connected to endpoint; reconnect_ivl_ms > 0 also sets ZMQ_RECONNECT_IVL. Returns the socket
 * (the caller closes it with zmq_close), or NULL after printing "prog: connect ...".
 */
void *bench_dealer_open(void *ctx, const char *endpoint, int hwm, int reconnect_ivl_ms,
                        const char *prog);

/*
 * Prepares a new socket before it connects, e.g. makes it a CURVE client. Returns 0 or a
 * negative errno.
 */
typedef int (bench_socket_setup_fn)(void *sock, void *arg);

/* bench_dealer_open() that calls setup(sock, arg) (when setup is not NULL) before connecting. */
void *bench_dealer_open_with(void *ctx, const char *endpoint, int hwm, int reconnect_ivl_ms,
                             bench_socket_setup_fn *setup, void *arg, const char *prog);

/*
 * Sends one single-frame message without waiting. Returns 0 when sent, 1 when the socket's
 * queue is full (EAGAIN: poll for ZMQ_POLLOUT), or a negative errno.
 */
int bench_send_nowait(void *sock, const char *buf, size_t len);

/*
 * Receives one whole message; its last frame (the reply behind any envelope) lands in buf,
 * cut to cap - 1 bytes and NUL-terminated. flags as zmq_recv (ZMQ_DONTWAIT or 0). Returns the
 * length of the last frame as received, or -1 with errno set (EAGAIN: nothing waiting).
 */
int bench_recv_last(void *sock, char *buf, size_t cap, int flags);

/* Returns now_ns - send_ns in whole microseconds, capped at UINT32_MAX. */
uint32_t bench_latency_us(uint64_t send_ns, uint64_t now_ns);

/* Returns the nearest-rank p-percentile (0 < p <= 1) of n sorted values, or 0 when n is 0. */
uint32_t bench_pct_u32(const uint32_t *sorted, uint64_t n, double p);

/* Latency figures in microseconds. */
typedef struct {
    uint32_t p50, p99, max;
} bench_latency_t;

/* Sorts the n latencies in place (ascending) and returns their p50, p99 and maximum. */
bench_latency_t bench_latency_summarize(uint32_t *latency_us, uint64_t n);

/* ----------------------------------------------------------------------------------------- */
/* The pipeline: pipelined requests over several DEALER sockets, matched to replies by "id". */

/*
 * Writes connection conn's next request into buf (at most cap bytes, as snprintf) with its
 * request id (1 .. the pipeline's ids) in *id. Returns the length snprintf returned, 0 when
 * conn has nothing more to send, or a negative errno. The pipeline calls it again for the same
 * request until it is sent, then calls the source's sent() for conn.
 */
typedef int (bench_format_fn)(void *arg, unsigned conn, char *buf, size_t cap, uint64_t *id);
/* Tells the source that connection conn's request from the last format() call went out. */
typedef void (bench_sent_fn)(void *arg, unsigned conn);

typedef struct {
    bench_format_fn *format;
    bench_sent_fn *sent;
    void *arg;
} bench_source_t;

typedef struct {
    void *sock;
    uint64_t inflight;
    bool blocked;          /* the last send hit EAGAIN: wait for ZMQ_POLLOUT */
} bench_conn_t;

typedef struct {
    const char *prog;      /* the prefix of every message printed */
    unsigned window;       /* requests in flight per connection */
    bench_socket_setup_fn *setup; /* when not NULL, called on each socket before it connects */
    void *setup_arg;
    bool show_duplicates;  /* print the first "duplicate": true replies */
    bool stop_on_error;    /* give up at the first error, stray or duplicate reply */
    uint64_t progress_ns;  /* > 0: print how far the run is this often */
    unsigned nconns;
    bench_conn_t *conns;
    uint64_t ids;          /* request ids run from 1 to ids */
    uint64_t *send_ns;     /* by request id; 0 while not sent */
    uint8_t *answered_id;  /* by request id */
    uint32_t *latency_us;  /* one per answered request, in arrival order */
    uint64_t sent, answered, ok, duplicates, errors, strays;
    uint64_t start_ns, end_ns; /* of the last bench_pipeline_run(); 0 before one */
} bench_pipeline_t;

/*
 * Sets up p for request ids 1 .. ids and nconns connections of window requests in flight each
 * (options as in the struct are 0/false; set them afterwards). Returns 0, or -ENOMEM with
 * nothing left to free but what bench_pipeline_free() frees anyway.
 */
int bench_pipeline_init(bench_pipeline_t *p, const char *prog, uint64_t ids, unsigned nconns,
                        unsigned window);

/*
 * Opens p's nconns DEALER sockets to endpoint (or, for a comma-separated list, connection i to
 * its (i mod n)-th endpoint) on ctx, high-water marks window * 2 + 100, each
 * prepared by p->setup.
 * Returns 0, or -1 after printing the error (the sockets opened stay for bench_pipeline_free).
 */
int bench_pipeline_connect(bench_pipeline_t *p, void *ctx, const char *endpoint);

/*
 * Sends src's requests, at most window in flight per connection, and matches every reply by
 * "id", until total replies arrived or timeout_s passed. A reply to no request in flight counts
 * as a stray, one not "ok": true as an error (the first few of each printed). Returns 0, or -1
 * after printing why (send, poll or receive failure, timeout, or a bad reply with
 * stop_on_error). Sets start_ns and end_ns.
 */
int bench_pipeline_run(bench_pipeline_t *p, const bench_source_t *src, uint64_t total,
                       double timeout_s);

/* Closes p's sockets and frees its arrays (the counters stay readable); p may be partly set up. */
void bench_pipeline_free(bench_pipeline_t *p);

#endif
