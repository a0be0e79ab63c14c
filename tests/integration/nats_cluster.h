/*
 * nats_cluster: three real nats-servers on loopback forming one JetStream cluster, for the
 * cluster-mode tests.
 *
 * Each cluster lives in a fresh /tmp/incnats.XXXXXX directory: server i (0..2) is named "n<i>"
 * and has its config in DIR/n<i>.conf, its JetStream store in DIR/n<i> and its stderr in
 * DIR/n<i>.log (appended across restarts). Its client, route and monitoring ports are free
 * loopback ports chosen at nats_cluster_new() and kept for the cluster's life, so a restarted
 * server comes back where it was, with its store.
 *
 * The servers are children of the test process: they die with it (PR_SET_PDEATHSIG), and an
 * atexit handler stops every cluster not yet destroyed and removes its directory, so a test
 * whose assertion failed (cmocka returns from the test, skipping its cleanup) leaves nothing
 * behind. Every wait is bounded. Errors are printed to stderr with the prefix "nats_cluster:".
 */
#ifndef INCIDENTD_TESTS_INTEGRATION_NATS_CLUSTER_H
#define INCIDENTD_TESTS_INTEGRATION_NATS_CLUSTER_H

#include <stdbool.h>

#define NATS_CLUSTER_SIZE 3
/* Bound on waiting for JetStream to accept an R3 stream (the meta leader takes ~1-4 s). */
#define NATS_CLUSTER_READY_TIMEOUT_MS 20000
/* Bound on a server's exit after SIGTERM before it gets SIGKILL. */
#define NATS_CLUSTER_STOP_TIMEOUT_MS 10000

typedef struct nats_cluster nats_cluster_t;

/*
 * Creates the directory and the three configs, starts the servers and waits until the
 * cluster's JetStream is ready (nats_cluster_wait_ready()). Returns the cluster (destroy it
 * with nats_cluster_destroy()), or NULL after printing why; nothing is left running then.
 */
nats_cluster_t *nats_cluster_new(void);

/*
 * Stops the servers (nats_cluster_stop()), removes the directory and frees *c_p. Prints the
 * servers' logs unless nats_cluster_pass() was called. Accepts NULL; sets *c_p to NULL.
 */
void nats_cluster_destroy(nats_cluster_t **c_p);

/* Marks the test as passed: nats_cluster_destroy() does not print the logs. */
void nats_cluster_pass(nats_cluster_t *c);

/*
 * The client URLs of the three servers, comma-separated
 * ("nats://127.0.0.1:P0,nats://127.0.0.1:P1,nats://127.0.0.1:P2"), as cluster mode's "nats"
 * option takes them. Owned by c, valid until it is destroyed.
 */
const char *nats_cluster_urls(const nats_cluster_t *c);

/* The client URL of server i ("nats://127.0.0.1:P"). Owned by c. i must be 0..2. */
const char *nats_cluster_url(const nats_cluster_t *c, int i);

/* The cluster's directory. Owned by c. */
const char *nats_cluster_dir(const nats_cluster_t *c);

/* Whether server i runs (was started and has not been killed or stopped). */
bool nats_cluster_running(const nats_cluster_t *c, int i);

/*
 * Sends SIGKILL to server i and reaps it. Returns 0, or -1 when it was not running.
 */
int nats_cluster_kill(nats_cluster_t *c, int i);

/*
 * Starts server i (again) with its config and store and waits until it accepts a client
 * connection (not until JetStream has caught up: see nats_cluster_wait_ready()). Returns 0
 * (also when it was running already), or -1 after printing why (the server is then killed).
 */
int nats_cluster_start(nats_cluster_t *c, int i);

/*
 * Sends SIGTERM to every running server, waits up to NATS_CLUSTER_STOP_TIMEOUT_MS for each,
 * then SIGKILLs and reaps what is left. Accepts NULL.
 */
void nats_cluster_stop(nats_cluster_t *c);

/*
 * Waits up to timeout_ms until the cluster's JetStream takes an R3 stream: connects with
 * libnats to the running servers and adds (then deletes) a probe stream with Replicas = 3,
 * retrying every 100 ms. Returns the milliseconds it took, or -1 after printing the last
 * error.
 */
int nats_cluster_wait_ready(nats_cluster_t *c, int timeout_ms);

/* Prints the last lines of every server's log to stderr. */
void nats_cluster_print_logs(const nats_cluster_t *c);

#endif
