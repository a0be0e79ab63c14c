/*
 * harness: runs the real incidentd in a temporary directory and talks to it over ZeroMQ.
 *
 * Every test gets a fresh directory under /tmp (short, so that ipc:// paths stay well under
 * the 107-byte limit of a Unix socket path) holding the LMDB data, the daemon's stderr log,
 * an optional config file and the ipc endpoints ipc://DIR/api and ipc://DIR/pub.
 *
 * Every wait is bounded. Failures are reported with print_error() and a NULL or negative
 * return; the tests turn them into cmocka assertions. A test ends with h_pass(); a daemon that
 * is destroyed without it prints its log, which is what one wants to read after a failure.
 */
#ifndef INCIDENTD_TESTS_INTEGRATION_HARNESS_H
#define INCIDENTD_TESTS_INTEGRATION_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Bounds on every wait, in milliseconds. */
#define H_START_TIMEOUT_MS 10000
#define H_STOP_TIMEOUT_MS 10000
#define H_REPLY_TIMEOUT_MS 5000

#define H_PATH_MAX 256

/* A CURVE key pair in Z85. */
typedef struct {
	char pub[41];
	char sec[41];
} h_keys_t;

typedef struct {
	char dir[64];              /* the temp dir, e.g. /tmp/incit.AbC123 */
	char data_dir[H_PATH_MAX]; /* DIR/data */
	char api[H_PATH_MAX];      /* ipc://DIR/api */
	char pub[H_PATH_MAX];      /* ipc://DIR/pub */
	char conf[H_PATH_MAX];     /* DIR/incidentd.conf, or "" when started with flags only */
	char api_flag[2 * H_PATH_MAX]; /* when not "", passed as --api instead of api */
	char log[H_PATH_MAX];      /* DIR/daemon.log: the daemon's stderr, appended across restarts */
	pid_t pid;                 /* running daemon, or 0 */
	void *zctx;                /* the test's ZeroMQ context */
	void *dealer;              /* the request socket of h_request(), or NULL */
	bool passed;               /* set by h_pass(); otherwise h_destroy() prints the log */
	void *sockets[64];         /* sockets of h_socket()/h_sub() not yet h_close()d */
	int runs;                  /* how many times the daemon was started */
	long nofile_soft;          /* with nofile_hard > 0: the daemon's RLIMIT_NOFILE at exec */
	long nofile_hard;
	int umask;                 /* >= 0: the daemon's umask at exec (h_new sets -1) */
	h_keys_t server;           /* with CURVE: the daemon's key pair (h_curve()) */
	const h_keys_t *as;        /* with CURVE: the keys h_socket, h_sub and h_request use */
	struct {
		char name[64];
		char value[H_PATH_MAX]; /* set when is_set, else the variable is removed */
		bool is_set;
	} env[8];                  /* h_setenv(): the daemon's environment changes at exec */
	int n_env;
} h_daemon_t;

/*
 * Creates the temp dir and, when config_text is not NULL, writes it to DIR/incidentd.conf
 * (then passed with -c). Does not start the daemon. Returns NULL on failure.
 */
h_daemon_t *h_new(const char *config_text);

/*
 * Stops a running daemon (SIGKILL), closes the sockets, prints the log unless h_pass() was
 * called, removes the temp dir and frees *d_p. Accepts NULL and sets *d_p to NULL.
 */
void h_destroy(h_daemon_t **d_p);

/* Marks the test as passed: h_destroy() stays quiet. */
void h_pass(h_daemon_t *d);

/* Prints the daemon log (stderr of every run so far) to stderr. */
void h_print_log(const h_daemon_t *d);

/* How many lines of the daemon log (every run so far) contain needle. */
int h_log_count(const h_daemon_t *d, const char *needle);

/*
 * Waits up to timeout_ms until a line of the daemon log contains needle. Returns 0, or -1
 * when none did in time.
 */
int h_log_wait(const h_daemon_t *d, const char *needle, int timeout_ms);

/*
 * Starts the daemon on DIR/data, ipc://DIR/api and ipc://DIR/pub (plus -c when a config was
 * written) and waits until it answers {"op":"status"}. Returns 0, or -1 when it exited or did
 * not answer within H_START_TIMEOUT_MS (the process is then killed).
 */
int h_start(h_daemon_t *d);

/*
 * Sets name to value (NULL: removes it) in the environment of the daemon from its next start
 * on; the test's own environment is untouched. A second call for the same name replaces the
 * first. Returns 0, or -1 when too many variables or too long a name or value.
 */
int h_setenv(h_daemon_t *d, const char *name, const char *value);

/*
 * Sends SIGTERM and waits for the exit. Returns the exit status (0..255), 128+N when it died of
 * signal N, or -1 when it did not exit within H_STOP_TIMEOUT_MS (it is then killed).
 */
int h_stop(h_daemon_t *d);

/*
 * The stop a teardown wants: h_stop() when the daemon runs (0 when it does not), and when the
 * exit status is not 0 (a crash, or a leak report under ASan) prints it and the daemon's log.
 * Returns the status.
 */
int h_stop_clean(h_daemon_t *d);

/* Sends SIGKILL and reaps the daemon. */
void h_kill9(h_daemon_t *d);

/*
 * Waits up to timeout_ms for the daemon process to exit by itself. Returns its status as
 * h_stop() does, or -1 when it is still running.
 */
int h_wait_exit(h_daemon_t *d, int timeout_ms);

/*
 * Sends req (borrowed) as one frame on the shared DEALER socket and returns the reply as a
 * new reference, or NULL when no reply came within H_REPLY_TIMEOUT_MS, the reply was not
 * exactly one frame, or it was not a JSON object.
 */
json_t *h_request(h_daemon_t *d, const json_t *req);

/* Same with a JSON text built by json_pack() format; e.g. h_requestf(d, "{s:s}", "op", "status"). */
json_t *h_requestf(h_daemon_t *d, const char *fmt, ...);

/* Sends frames[0..nframes) as one multipart message and returns the raw reply frames. */
typedef struct {
	int nframes;
	char *frame[8];
	size_t len[8];
} h_msg_t;
void h_msg_clear(h_msg_t *m);

/*
 * Opens a socket of type (ZMQ_DEALER or ZMQ_REQ) connected to the API, sends the frames
 * and waits up to timeout_ms for one reply message, stored in *reply. The socket is closed
 * afterwards. Returns 0 or -1 (no reply).
 */
int h_exchange(h_daemon_t *d, int type, const char *const *frames, const size_t *lens,
	       int nframes, h_msg_t *reply, int timeout_ms);

/*
 * A connected socket of the given type on the API endpoint (linger 0), owned by d: close it
 * with h_close(), or h_destroy() does (so that a failed assertion leaks nothing).
 */
void *h_socket(h_daemon_t *d, int type);

/*
 * Makes d own sock (any socket of d->zctx): h_destroy() closes it unless h_close() did.
 * Returns sock, or NULL (sock closed) when d owns too many sockets already.
 */
void *h_own(h_daemon_t *d, void *sock);

/* Closes a socket from h_socket(), h_sub() or h_own(). Accepts NULL. */
void h_close(h_daemon_t *d, void *sock);

/* Reads a top-level or "counts"-nested integer of a status reply; -1 when absent. */
long long h_status_count(h_daemon_t *d, const char *name);

/* The reply's error code ("bad_request"...) or NULL when it has none; borrowed from reply. */
const char *h_error_code(const json_t *reply);
/* The reply's error message or NULL; borrowed from reply. */
const char *h_error_message(const json_t *reply);
/* True when reply is {"ok": true, ...}. */
bool h_is_ok(const json_t *reply);

/* An event request with the given fields plus "op":"event"; more fields may be set after. */
json_t *h_event(const char *provider, const char *event_id, const char *ref, const char *stage);

/* A SUB socket connected to the publish endpoint, subscribed to everything; as h_socket(). */
void *h_sub(h_daemon_t *d);

/*
 * Receives one published message within timeout_ms: *topic_out (malloc'd string) and
 * *body_out (new reference). Returns 0, -1 on timeout, -2 on a malformed message (not two
 * frames, or a body that is not a JSON object).
 */
int h_sub_recv(void *sub, int timeout_ms, char **topic_out, json_t **body_out);

/* The captured result of a command. out and err are malloc'd, NUL-terminated. */
typedef struct {
	int status; /* exit status, 128+N for signal N, -1 on timeout */
	char *out;
	char *err;
	long elapsed_ms;
} h_run_t;
void h_run_clear(h_run_t *r);

/*
 * Runs argv (argv[0] is the program path, NULL-terminated) in dir with stdin from stdin_text
 * (NULL: /dev/null), stdout and stderr captured, killed after timeout_ms. Returns 0 when
 * the process ran (see r->status), -1 when it could not be started.
 */
int h_run(const char *dir, char *const argv[], const char *stdin_text, int timeout_ms,
	  h_run_t *r);

/* A process started by h_child_start(), running while the test goes on; stdout captured. */
typedef struct {
	pid_t pid;
	int fd;          /* the read end of its stdout */
	char out[16384]; /* what it printed so far, NUL-terminated (the rest is not kept) */
	size_t len;
} h_child_t;

/*
 * Starts argv (argv[0] is the program path) in dir with stdin from /dev/null and stdout into a
 * pipe; stderr is the test's. The child is killed when the test process dies. Returns 0 or -1.
 */
int h_child_start(h_child_t *c, const char *dir, char *const argv[]);

/*
 * Waits up to timeout_ms until a complete line of the child's stdout contains a and (when not
 * NULL) b. Returns the start of that line in c->out, or NULL.
 */
const char *h_child_wait_line(h_child_t *c, const char *a, const char *b, int timeout_ms);

/*
 * Sends SIGTERM, waits up to 5 s (then SIGKILL), reads the rest of its stdout and closes the
 * pipe. Returns the exit status (128+N for signal N), or -1 when it had to be killed.
 */
int h_child_stop(h_child_t *c);

/* A new CURVE key pair into *k. Returns 0 or -1. */
int h_keys_new(h_keys_t *k);

/*
 * Writes a key file (proto/keyfile.h format) to DIR/name with mode: the public key, and the
 * secret too when secret is true. path_out (H_PATH_MAX) receives the path. Returns 0 or -1.
 */
int h_write_keys(const h_daemon_t *d, const char *name, const h_keys_t *k, bool secret, int mode,
		 char *path_out);

/*
 * A socket of type on the API endpoint (a SUB on the publish endpoint, subscribed to
 * everything) speaking CURVE with keys as (NULL: plaintext) to the daemon's d->server key;
 * owned by d as h_socket()'s are.
 */
void *h_socket_as(h_daemon_t *d, int type, const h_keys_t *as);
void *h_sub_as(h_daemon_t *d, const h_keys_t *as);

/*
 * Sends req on a fresh DEALER speaking as as (NULL: plaintext) and waits up to timeout_ms for
 * the reply; the socket is closed afterwards. Returns the reply, or NULL when none came.
 */
json_t *h_request_as(h_daemon_t *d, const h_keys_t *as, const json_t *req, int timeout_ms);

/* Writes text to DIR/name; path_out (H_PATH_MAX) receives the full path. Returns 0 or -1. */
int h_write_file(const h_daemon_t *d, const char *name, const char *text, char *path_out);

/* Removes dir and everything under it (not following symlinks); failures are printed. */
void h_rm_rf(const char *dir);

/* A JSON value rendered compactly with sorted keys (malloc'd), for messages. */
char *h_dump(const json_t *v);

/*
 * A loopback TCP port nobody listens on at the moment of the call (the kernel's choice for
 * port 0), or -1.
 */
int h_free_port(void);

/* Milliseconds of CLOCK_REALTIME and CLOCK_MONOTONIC. */
int64_t h_now_ms(void);
int64_t h_mono_ms(void);

/* Parses an RFC 3339 time in the daemon's output form ("2021-01-12T03:14:00.000Z"). -1 if not. */
int64_t h_parse_utc_ms(const char *text);

/*
 * A base configuration for tests: [daemon], the contract's eight [stages] and the
 * provider_notification rule of the contract. Tests append the rules they need; the shipped
 * example policy of config/incidentd.conf (more rules) is what a daemon without -c uses.
 */
extern const char h_default_config[];

/*
 * Makes sure sub (from h_sub()) sees everything published from now on. A subscription reaches
 * the publisher at an unknown moment, so this opens throw-away incidents (provider "warmup",
 * category 5, titles "subscription warm-up") until one of their messages arrives on sub, then
 * drops what else is already queued. Returns 0, or -1 when nothing arrived within about 10 s.
 */
int h_sub_sync(h_daemon_t *d, void *sub);

/*
 * Receives published messages until one on exactly topic (and about incident, when that is not
 * NULL) arrives, within timeout_ms; the others are dropped. Returns its body (new reference)
 * and sets *at_ms (when not NULL) to the wall-clock time (h_now_ms()) it was received, or
 * returns NULL when none came in time.
 */
json_t *h_sub_wait(void *sub, const char *topic, const char *incident, int timeout_ms,
		   int64_t *at_ms);

#endif
