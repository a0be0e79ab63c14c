/*
 * harness: the real incidentd in a temp dir, driven over ZeroMQ. See harness.h.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#ifndef INCIDENTD_BIN
#error "INCIDENTD_BIN must be defined by the build"
#endif

const char h_default_config[] =
	"; integration test configuration: [daemon] and the contract's [stages] and one SLA\n"
	"; rule, on which tests add the rules they need (not the shipped example policy)\n"
	"[daemon]\n"
	"data_dir = var/incidentd\n"
	"api = tcp://127.0.0.1:7420\n"
	"publish = tcp://127.0.0.1:7421\n"
	"max_request_bytes = 65536\n"
	"\n"
	"[stages]\n"
	"order = detected, notified, acknowledged, major_declared, parties_notified, workaround, "
	"resolved, closed\n"
	"resolved = resolved\n"
	"closed = closed\n"
	"\n"
	"[sla provider_notification]\n"
	"start = detected\n"
	"stop = notified\n"
	"stop_clock = received\n"
	"category.1 = 30m\n"
	"category.2 = 30m\n"
	"category.3 = 2h\n"
	"category.4 = 1d\n"
	"category.5 = 1d\n";

int64_t h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t h_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int h_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int s_status_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

/* Waits up to timeout_ms for pid to exit. Returns its status code, or -1 while it runs. */
static int s_reap(pid_t pid, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	for (;;) {
		int wstatus;
		pid_t r = waitpid(pid, &wstatus, WNOHANG);
		if (r == pid)
			return s_status_code(wstatus);
		if (r < 0 && errno != EINTR)
			return -1;
		if (h_mono_ms() >= deadline)
			return -1;
		s_sleep_ms(5);
	}
}

static int s_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "harness: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

static void s_rm_rf(const char *dir)
{
	nftw(dir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void h_rm_rf(const char *dir)
{
	s_rm_rf(dir);
}

h_daemon_t *h_new(const char *config_text)
{
	h_daemon_t *d = calloc(1, sizeof *d);
	if (d == NULL)
		return NULL;
	strcpy(d->dir, "/tmp/incit.XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		free(d);
		return NULL;
	}
	snprintf(d->data_dir, sizeof d->data_dir, "%s/data", d->dir);
	snprintf(d->api, sizeof d->api, "ipc://%s/api", d->dir);
	snprintf(d->pub, sizeof d->pub, "ipc://%s/pub", d->dir);
	snprintf(d->log, sizeof d->log, "%s/daemon.log", d->dir);
	d->umask = -1;
	d->zctx = zmq_ctx_new();
	if (config_text != NULL && h_write_file(d, "incidentd.conf", config_text, d->conf) < 0) {
		h_destroy(&d);
		return NULL;
	}
	return d;
}

void h_pass(h_daemon_t *d)
{
	d->passed = true;
}

static char *s_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return strdup("");
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

void h_print_log(const h_daemon_t *d)
{
	char *text = s_read_file(d->log);
	size_t len = strlen(text);
	const char *start = text;
	/* The last 16 KiB is what explains a failure; older lines only bury it. */
	if (len > 16384)
		start = text + len - 16384;
	fprintf(stderr, "---- daemon log %s ----\n%s---- end of daemon log ----\n", d->log, start);
	free(text);
}

int h_log_count(const h_daemon_t *d, const char *needle)
{
	char *text = s_read_file(d->log);
	int n = 0;
	for (char *line = text; *line != '\0';) {
		char *end = strchr(line, '\n');
		if (end != NULL)
			*end = '\0';
		n += strstr(line, needle) != NULL;
		if (end == NULL)
			break;
		line = end + 1;
	}
	free(text);
	return n;
}

int h_log_wait(const h_daemon_t *d, const char *needle, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	while (h_log_count(d, needle) == 0) {
		if (h_mono_ms() >= deadline)
			return -1;
		s_sleep_ms(20);
	}
	return 0;
}

void h_close(h_daemon_t *d, void *sock)
{
	if (sock == NULL)
		return;
	for (size_t i = 0; i < sizeof d->sockets / sizeof d->sockets[0]; i++)
		if (d->sockets[i] == sock)
			d->sockets[i] = NULL;
	zmq_close(sock);
}

void h_destroy(h_daemon_t **d_p)
{
	if (d_p == NULL || *d_p == NULL)
		return;
	h_daemon_t *d = *d_p;
	if (d->pid > 0)
		h_kill9(d);
	h_close(d, d->dealer);
	d->dealer = NULL;
	for (size_t i = 0; i < sizeof d->sockets / sizeof d->sockets[0]; i++)
		h_close(d, d->sockets[i]);
	if (!d->passed)
		h_print_log(d);
	if (d->zctx != NULL)
		zmq_ctx_term(d->zctx);
	s_rm_rf(d->dir);
	free(d);
	*d_p = NULL;
}

int h_child_start(h_child_t *c, const char *dir, char *const argv[])
{
	int fds[2];
	memset(c, 0, sizeof *c);
	if (pipe(fds) < 0)
		return -1;
	c->pid = fork();
	if (c->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (c->pid == 0) {
		/* A failed assertion in the test must not leave the child running. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int in = open("/dev/null", O_RDONLY);
		if (in < 0 || chdir(dir) < 0)
			_exit(127);
		dup2(in, 0);
		dup2(fds[1], 1);
		closefrom(3);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	c->fd = fds[0];
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* Reads what the child printed so far into c->out (NUL-terminated). */
static void s_child_read(h_child_t *c)
{
	ssize_t n;
	while (c->len + 1 < sizeof c->out &&
	       (n = read(c->fd, c->out + c->len, sizeof c->out - 1 - c->len)) > 0)
		c->len += (size_t)n;
	c->out[c->len] = '\0';
}

/* The first complete line of text holding a and (when not NULL) b, or NULL. */
static const char *s_find_line(const char *text, const char *a, const char *b)
{
	for (const char *line = text; *line != '\0';) {
		const char *end = strchr(line, '\n');
		if (end == NULL)
			return NULL; /* not complete yet */
		size_t n = (size_t)(end - line);
		char buf[1024];
		snprintf(buf, sizeof buf, "%.*s", (int)(n < 1023 ? n : 1023), line);
		if (strstr(buf, a) != NULL && (b == NULL || strstr(buf, b) != NULL))
			return line;
		line = end + 1;
	}
	return NULL;
}

const char *h_child_wait_line(h_child_t *c, const char *a, const char *b, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	for (;;) {
		s_child_read(c);
		const char *line = s_find_line(c->out, a, b);
		if (line != NULL || h_mono_ms() >= deadline)
			return line;
		s_sleep_ms(20);
	}
}

int h_child_stop(h_child_t *c)
{
	kill(c->pid, SIGTERM);
	int st = s_reap(c->pid, 5000);
	if (st < 0) {
		kill(c->pid, SIGKILL);
		s_reap(c->pid, 5000);
	}
	s_child_read(c);
	close(c->fd);
	return st;
}

int h_write_file(const h_daemon_t *d, const char *name, const char *text, char *path_out)
{
	char path[H_PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", d->dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "harness: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	fputs(text, f);
	fclose(f);
	if (path_out != NULL)
		snprintf(path_out, H_PATH_MAX, "%s", path);
	return 0;
}

/* Records s among d's sockets, so that h_destroy() closes it even after a failed assertion. */
static void *s_own(h_daemon_t *d, void *s)
{
	for (size_t i = 0; i < sizeof d->sockets / sizeof d->sockets[0]; i++)
		if (d->sockets[i] == NULL) {
			d->sockets[i] = s;
			break;
		}
	return s;
}

void *h_own(h_daemon_t *d, void *sock)
{
	for (size_t i = 0; i < sizeof d->sockets / sizeof d->sockets[0]; i++)
		if (d->sockets[i] == NULL) {
			d->sockets[i] = sock;
			return sock;
		}
	fprintf(stderr, "harness: the test holds too many sockets\n");
	zmq_close(sock);
	return NULL;
}

int h_keys_new(h_keys_t *k)
{
	return zmq_curve_keypair(k->pub, k->sec) == 0 ? 0 : -1;
}

int h_write_keys(const h_daemon_t *d, const char *name, const h_keys_t *k, bool secret, int mode,
		 char *path_out)
{
	char text[128];
	if (secret)
		snprintf(text, sizeof text, "public = %s\nsecret = %s\n", k->pub, k->sec);
	else
		snprintf(text, sizeof text, "public = %s\n", k->pub);
	if (h_write_file(d, name, text, path_out) < 0)
		return -1;
	return chmod(path_out, (mode_t)mode);
}

/* Makes s a CURVE client of the daemon with keys as; nothing when as is NULL. */
static int s_curve_client(h_daemon_t *d, void *s, const h_keys_t *as)
{
	if (as == NULL)
		return 0;
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, d->server.pub, 41) < 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, as->pub, 41) < 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, as->sec, 41) < 0) {
		fprintf(stderr, "harness: CURVE options: %s\n", zmq_strerror(errno));
		return -1;
	}
	return 0;
}

void *h_socket_as(h_daemon_t *d, int type, const h_keys_t *as)
{
	void *s = zmq_socket(d->zctx, type);
	if (s == NULL)
		return NULL;
	int linger = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	if (s_curve_client(d, s, as) < 0 || zmq_connect(s, d->api) < 0) {
		fprintf(stderr, "harness: connect %s: %s\n", d->api, zmq_strerror(errno));
		zmq_close(s);
		return NULL;
	}
	return s_own(d, s);
}

void *h_socket(h_daemon_t *d, int type)
{
	return h_socket_as(d, type, d->as);
}

void *h_sub(h_daemon_t *d)
{
	return h_sub_as(d, d->as);
}

void *h_sub_as(h_daemon_t *d, const h_keys_t *as)
{
	void *s = zmq_socket(d->zctx, ZMQ_SUB);
	if (s == NULL)
		return NULL;
	int linger = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	if (s_curve_client(d, s, as) < 0 || zmq_connect(s, d->pub) < 0) {
		zmq_close(s);
		return NULL;
	}
	return s_own(d, s);
}

void h_msg_clear(h_msg_t *m)
{
	for (int i = 0; i < m->nframes; i++)
		free(m->frame[i]);
	memset(m, 0, sizeof *m);
}

/* Receives one whole multipart message (up to 8 frames kept) within timeout_ms. 0 or -1. */
static int s_recv_msg(void *sock, int timeout_ms, h_msg_t *m)
{
	memset(m, 0, sizeof *m);
	zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
	if (zmq_poll(&item, 1, timeout_ms) <= 0)
		return -1;
	int more = 1;
	while (more) {
		zmq_msg_t msg;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sock, 0) < 0) {
			zmq_msg_close(&msg);
			return -1;
		}
		if (m->nframes < 8) {
			size_t n = zmq_msg_size(&msg);
			m->frame[m->nframes] = malloc(n + 1);
			memcpy(m->frame[m->nframes], zmq_msg_data(&msg), n);
			m->frame[m->nframes][n] = '\0';
			m->len[m->nframes] = n;
			m->nframes++;
		}
		more = zmq_msg_more(&msg);
		zmq_msg_close(&msg);
	}
	return 0;
}

static int s_send_frames(void *sock, const char *const *frames, const size_t *lens, int nframes)
{
	for (int i = 0; i < nframes; i++) {
		int flags = i + 1 < nframes ? ZMQ_SNDMORE : 0;
		if (zmq_send(sock, frames[i], lens[i], flags) < 0) {
			fprintf(stderr, "harness: send: %s\n", zmq_strerror(errno));
			return -1;
		}
	}
	return 0;
}

int h_exchange(h_daemon_t *d, int type, const char *const *frames, const size_t *lens,
	       int nframes, h_msg_t *reply, int timeout_ms)
{
	void *s = h_socket(d, type);
	if (s == NULL)
		return -1;
	int rc = s_send_frames(s, frames, lens, nframes);
	if (rc == 0)
		rc = s_recv_msg(s, timeout_ms, reply);
	h_close(d, s);
	return rc;
}

static json_t *s_parse_reply(const h_msg_t *m)
{
	if (m->nframes != 1) {
		fprintf(stderr, "harness: reply has %d frames, expected 1\n", m->nframes);
		return NULL;
	}
	json_error_t jerr;
	json_t *v = json_loadb(m->frame[0], m->len[0], 0, &jerr);
	if (v == NULL || !json_is_object(v)) {
		fprintf(stderr, "harness: reply is not a JSON object: %.300s\n", m->frame[0]);
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *h_request(h_daemon_t *d, const json_t *req)
{
	if (d->dealer == NULL)
		d->dealer = h_socket(d, ZMQ_DEALER);
	if (d->dealer == NULL)
		return NULL;
	char *text = json_dumps(req, JSON_COMPACT);
	if (text == NULL)
		return NULL;
	size_t len = strlen(text);
	const char *frames[1] = {text};
	h_msg_t m;
	int rc = s_send_frames(d->dealer, frames, &len, 1);
	if (rc == 0)
		rc = s_recv_msg(d->dealer, H_REPLY_TIMEOUT_MS, &m);
	if (rc < 0) {
		fprintf(stderr, "harness: no reply within %d ms to %.300s\n", H_REPLY_TIMEOUT_MS,
			text);
		/* A late reply would answer the next request: start afresh. */
		h_close(d, d->dealer);
		d->dealer = NULL;
		free(text);
		return NULL;
	}
	free(text);
	json_t *v = s_parse_reply(&m);
	h_msg_clear(&m);
	return v;
}

json_t *h_request_as(h_daemon_t *d, const h_keys_t *as, const json_t *req, int timeout_ms)
{
	void *s = h_socket_as(d, ZMQ_DEALER, as);
	char *text = json_dumps(req, JSON_COMPACT);
	json_t *v = NULL;
	h_msg_t m;
	if (s && text) {
		size_t len = strlen(text);
		const char *frames[1] = {text};
		if (s_send_frames(s, frames, &len, 1) == 0 && s_recv_msg(s, timeout_ms, &m) == 0) {
			v = s_parse_reply(&m);
			h_msg_clear(&m);
		}
	}
	free(text);
	h_close(d, s);
	return v;
}

json_t *h_requestf(h_daemon_t *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_error_t jerr;
	json_t *req = json_vpack_ex(&jerr, 0, fmt, ap);
	va_end(ap);
	if (req == NULL) {
		fprintf(stderr, "harness: json_pack(%s): %s\n", fmt, jerr.text);
		return NULL;
	}
	json_t *reply = h_request(d, req);
	json_decref(req);
	return reply;
}

const char *h_error_code(const json_t *reply)
{
	json_t *err = json_object_get(reply, "error");
	return json_string_value(json_object_get(err, "code"));
}

const char *h_error_message(const json_t *reply)
{
	json_t *err = json_object_get(reply, "error");
	return json_string_value(json_object_get(err, "message"));
}

bool h_is_ok(const json_t *reply)
{
	return json_is_true(json_object_get(reply, "ok"));
}

long long h_status_count(h_daemon_t *d, const char *name)
{
	json_t *r = h_requestf(d, "{s:s}", "op", "status");
	if (r == NULL)
		return -1;
	json_t *v = json_object_get(r, name);
	if (v == NULL)
		v = json_object_get(json_object_get(r, "counts"), name);
	long long n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n < 0) {
		char *text = h_dump(r);
		fprintf(stderr, "harness: status reply has no count \"%s\": %s\n", name, text);
		free(text);
	}
	json_decref(r);
	return n;
}

json_t *h_event(const char *provider, const char *event_id, const char *ref, const char *stage)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "event", "provider", provider,
			 "event_id", event_id, "ref", ref, "stage", stage);
}

int h_sub_recv(void *sub, int timeout_ms, char **topic_out, json_t **body_out)
{
	h_msg_t m;
	if (s_recv_msg(sub, timeout_ms, &m) < 0)
		return -1;
	if (m.nframes != 2) {
		fprintf(stderr, "harness: published message has %d frames, expected 2\n",
			m.nframes);
		h_msg_clear(&m);
		return -2;
	}
	json_t *body = json_loadb(m.frame[1], m.len[1], 0, NULL);
	if (!json_is_object(body)) {
		fprintf(stderr, "harness: published body is not a JSON object: %.300s\n",
			m.frame[1]);
		json_decref(body);
		h_msg_clear(&m);
		return -2;
	}
	*topic_out = strdup(m.frame[0]);
	*body_out = body;
	h_msg_clear(&m);
	return 0;
}

/* The daemon's command line; argv points into d and the static strings. */
static void s_daemon_argv(h_daemon_t *d, char *argv[12])
{
	int i = 0;
	argv[i++] = (char *)INCIDENTD_BIN;
	if (d->conf[0] != '\0') {
		argv[i++] = (char *)"-c";
		argv[i++] = d->conf;
	}
	argv[i++] = (char *)"--data-dir";
	argv[i++] = d->data_dir;
	argv[i++] = (char *)"--api";
	argv[i++] = d->api_flag[0] != '\0' ? d->api_flag : d->api;
	argv[i++] = (char *)"--publish";
	argv[i++] = d->pub;
	argv[i] = NULL;
}

/* In the child: stdin from /dev/null, stdout and stderr appended to the log, then exec. */
static void s_exec_daemon(h_daemon_t *d)
{
	char *argv[12];
	s_daemon_argv(d, argv);
	int in = open("/dev/null", O_RDONLY);
	int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in < 0 || log < 0 || chdir(d->dir) < 0)
		_exit(127);
	if (d->nofile_hard > 0) {
		struct rlimit rl = {(rlim_t)d->nofile_soft, (rlim_t)d->nofile_hard};
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(127);
	}
	if (d->umask >= 0)
		umask((mode_t)d->umask);
	for (int i = 0; i < d->n_env; i++) {
		if (d->env[i].is_set)
			setenv(d->env[i].name, d->env[i].value, 1);
		else
			unsetenv(d->env[i].name);
	}
	dup2(in, 0);
	dup2(log, 1);
	dup2(log, 2);
	closefrom(3);
	execv(argv[0], argv);
	_exit(127);
}

/* Waits until the daemon answers a status request, or exits, or the start timeout passes. */
static int s_wait_ready(h_daemon_t *d)
{
	static const char status[] = "{\"op\":\"status\"}";
	void *s = h_socket(d, ZMQ_DEALER);
	size_t len = sizeof status - 1;
	const char *frames[1] = {status};
	if (s == NULL || s_send_frames(s, frames, &len, 1) < 0)
		return -1;
	int64_t deadline = h_mono_ms() + H_START_TIMEOUT_MS;
	while (h_mono_ms() < deadline) {
		h_msg_t m;
		if (s_recv_msg(s, 100, &m) == 0) {
			json_t *v = s_parse_reply(&m);
			h_msg_clear(&m);
			bool ok = h_is_ok(v);
			json_decref(v);
			if (!ok) {
				fprintf(stderr, "harness: status request refused at start-up\n");
				h_close(d, s);
				return -1;
			}
			d->dealer = s;
			return 0;
		}
		int st = s_reap(d->pid, 0);
		if (st >= 0) {
			fprintf(stderr, "harness: daemon exited with status %d at start-up\n", st);
			d->pid = 0;
			h_close(d, s);
			return -1;
		}
	}
	fprintf(stderr, "harness: daemon did not answer status within %d ms\n",
		H_START_TIMEOUT_MS);
	h_close(d, s);
	return -1;
}

int h_setenv(h_daemon_t *d, const char *name, const char *value)
{
	int i = 0;
	while (i < d->n_env && strcmp(d->env[i].name, name) != 0)
		i++;
	if (i == (int)(sizeof d->env / sizeof d->env[0]) || strlen(name) >= sizeof d->env[i].name ||
	    (value != NULL && strlen(value) >= sizeof d->env[i].value))
		return -1;
	snprintf(d->env[i].name, sizeof d->env[i].name, "%s", name);
	snprintf(d->env[i].value, sizeof d->env[i].value, "%s", value != NULL ? value : "");
	d->env[i].is_set = value != NULL;
	if (i == d->n_env)
		d->n_env++;
	return 0;
}

int h_start(h_daemon_t *d)
{
	if (d->pid > 0)
		return -1;
	d->runs++;
	FILE *f = fopen(d->log, "a");
	if (f != NULL) {
		fprintf(f, "==== harness: start #%d ====\n", d->runs);
		fclose(f);
	}
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		s_exec_daemon(d);
	d->pid = pid;
	if (s_wait_ready(d) < 0) {
		if (d->pid > 0)
			h_kill9(d);
		h_print_log(d);
		return -1;
	}
	return 0;
}

static void s_forget_daemon(h_daemon_t *d)
{
	d->pid = 0;
	h_close(d, d->dealer);
	d->dealer = NULL;
}

int h_wait_exit(h_daemon_t *d, int timeout_ms)
{
	if (d->pid <= 0)
		return -1;
	int st = s_reap(d->pid, timeout_ms);
	if (st >= 0)
		s_forget_daemon(d);
	return st;
}

int h_stop(h_daemon_t *d)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	int st = s_reap(d->pid, H_STOP_TIMEOUT_MS);
	if (st < 0) {
		fprintf(stderr, "harness: daemon did not exit within %d ms of SIGTERM\n",
			H_STOP_TIMEOUT_MS);
		kill(d->pid, SIGKILL);
		s_reap(d->pid, H_STOP_TIMEOUT_MS);
	}
	s_forget_daemon(d);
	return st;
}

int h_stop_clean(h_daemon_t *d)
{
	int rc = d->pid > 0 ? h_stop(d) : 0;
	if (rc != 0) {
		fprintf(stderr, "harness: the daemon exited with status %d after SIGTERM\n", rc);
		h_print_log(d);
	}
	return rc;
}

void h_kill9(h_daemon_t *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	s_reap(d->pid, H_STOP_TIMEOUT_MS);
	s_forget_daemon(d);
}

void h_run_clear(h_run_t *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof *r);
}

int h_run(const char *dir, char *const argv[], const char *stdin_text, int timeout_ms,
	  h_run_t *r)
{
	char in_path[H_PATH_MAX], out_path[H_PATH_MAX], err_path[H_PATH_MAX];
	snprintf(in_path, sizeof in_path, "%s/run.stdin", dir);
	snprintf(out_path, sizeof out_path, "%s/run.stdout", dir);
	snprintf(err_path, sizeof err_path, "%s/run.stderr", dir);
	memset(r, 0, sizeof *r);
	if (stdin_text != NULL) {
		FILE *f = fopen(in_path, "w");
		if (f == NULL)
			return -1;
		fputs(stdin_text, f);
		fclose(f);
	}
	int64_t t0 = h_mono_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open(stdin_text != NULL ? in_path : "/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || err < 0 || chdir(dir) < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		closefrom(3);
		execv(argv[0], argv);
		_exit(127);
	}
	r->status = s_reap(pid, timeout_ms);
	if (r->status < 0) {
		fprintf(stderr, "harness: %s did not exit within %d ms; killed\n", argv[0],
			timeout_ms);
		kill(pid, SIGKILL);
		s_reap(pid, 5000);
	}
	r->elapsed_ms = (long)(h_mono_ms() - t0);
	r->out = s_read_file(out_path);
	r->err = s_read_file(err_path);
	return 0;
}

char *h_dump(const json_t *v)
{
	if (v == NULL)
		return strdup("(null)");
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	return s != NULL ? s : strdup("(unprintable)");
}

int64_t h_parse_utc_ms(const char *text)
{
	if (text == NULL || strlen(text) != 24)
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	int ms;
	char z;
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &z) != 8 ||
	    z != 'Z')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

int h_sub_sync(h_daemon_t *d, void *sub)
{
	/* Event ids must differ across calls on one daemon; a process-wide counter does that. */
	static int warmups;
	for (int i = 0; i < 40; i++) {
		char eid[48];
		snprintf(eid, sizeof eid, "warm-%d-%d", (int)getpid(), warmups++);
		json_t *ev = h_event("warmup", eid, eid, "detected");
		json_object_set_new(ev, "category", json_integer(5));
		json_object_set_new(ev, "title", json_string("subscription warm-up"));
		json_t *r = h_request(d, ev);
		json_decref(ev);
		bool ok = h_is_ok(r);
		json_decref(r);
		if (!ok) {
			fprintf(stderr, "harness: a warm-up event was not accepted\n");
			return -1;
		}
		char *topic;
		json_t *body;
		if (h_sub_recv(sub, 250, &topic, &body) == 0) {
			free(topic);
			json_decref(body);
			/* The rest of the warm-up's messages (and older ones) are not the test's. */
			while (h_sub_recv(sub, 100, &topic, &body) == 0) {
				free(topic);
				json_decref(body);
			}
			return 0;
		}
	}
	fprintf(stderr, "harness: no published message within 10 s of subscribing\n");
	return -1;
}

json_t *h_sub_wait(void *sub, const char *topic, const char *incident, int timeout_ms,
		   int64_t *at_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - h_mono_ms();
		if (left <= 0)
			return NULL;
		char *t;
		json_t *body;
		int rc = h_sub_recv(sub, (int)left, &t, &body);
		if (rc == -1)
			return NULL;
		if (rc < 0)
			continue;
		int64_t now = h_now_ms();
		const char *inc = json_string_value(json_object_get(body, "incident"));
		bool match = strcmp(t, topic) == 0 &&
			     (incident == NULL || (inc != NULL && strcmp(inc, incident) == 0));
		free(t);
		if (match) {
			if (at_ms != NULL)
				*at_ms = now;
			return body;
		}
		json_decref(body);
	}
}
