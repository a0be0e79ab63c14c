/*
 * nats_cluster: three real nats-servers forming a JetStream cluster. See nats_cluster.h.
 */
#include "nats_cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "harness.h"

#define S_URL_MAX 64

typedef struct {
	int client_port, route_port, monitor_port;
	char url[S_URL_MAX];
	char conf[H_PATH_MAX];
	char log[H_PATH_MAX];
	pid_t pid; /* running, or 0 */
} s_server_t;

struct nats_cluster {
	char dir[64];
	char urls[NATS_CLUSTER_SIZE * S_URL_MAX];
	s_server_t server[NATS_CLUSTER_SIZE];
	bool passed;
	nats_cluster_t *next; /* in s_live, the clusters the atexit handler cleans up */
};

static nats_cluster_t *s_live;
static bool s_atexit_registered;

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reaps pid within timeout_ms. Returns 0 when it exited, -1 while it runs. */
static int s_reap(pid_t pid, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	for (;;) {
		int wstatus;
		pid_t r = waitpid(pid, &wstatus, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return 0;
		if (h_mono_ms() >= deadline)
			return -1;
		s_sleep_ms(5);
	}
}

/* The atexit handler: whatever a failed test left running is stopped and removed. */
static void s_cleanup_at_exit(void)
{
	while (s_live != NULL) {
		nats_cluster_t *c = s_live;
		nats_cluster_destroy(&c);
	}
}

static void s_forget(nats_cluster_t *c)
{
	for (nats_cluster_t **p = &s_live; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			return;
		}
	}
}

/* Writes server i's config: its name, ports, store and the routes to the other two. */
static int s_write_config(const nats_cluster_t *c, int i)
{
	const s_server_t *s = &c->server[i];
	FILE *f = fopen(s->conf, "w");
	if (f == NULL) {
		fprintf(stderr, "nats_cluster: cannot write %s: %s\n", s->conf, strerror(errno));
		return -1;
	}
	fprintf(f,
		"server_name: n%d\n"
		"listen: 127.0.0.1:%d\n"
		"http: 127.0.0.1:%d\n"
		"jetstream {\n  store_dir: \"%s/n%d\"\n}\n"
		"cluster {\n  name: incidentd\n  listen: 127.0.0.1:%d\n  routes: [",
		i, s->client_port, s->monitor_port, c->dir, i, s->route_port);
	const char *sep = "";
	for (int j = 0; j < NATS_CLUSTER_SIZE; j++) {
		if (j == i)
			continue;
		fprintf(f, "%s nats-route://127.0.0.1:%d", sep, c->server[j].route_port);
		sep = ",";
	}
	fprintf(f, " ]\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* Picks distinct free loopback ports for every server. Returns 0 or -1. */
static int s_pick_ports(nats_cluster_t *c)
{
	int ports[3 * NATS_CLUSTER_SIZE];
	for (int k = 0; k < 3 * NATS_CLUSTER_SIZE; k++) {
		int tries = 0;
		bool again;
		do {
			ports[k] = h_free_port();
			again = ports[k] < 0;
			for (int j = 0; j < k && !again; j++)
				again = ports[j] == ports[k];
		} while (again && ++tries < 100);
		if (again)
			return -1;
	}
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++) {
		s_server_t *s = &c->server[i];
		s->client_port = ports[3 * i];
		s->route_port = ports[3 * i + 1];
		s->monitor_port = ports[3 * i + 2];
	}
	return 0;
}

nats_cluster_t *nats_cluster_new(void)
{
	nats_cluster_t *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	strcpy(c->dir, "/tmp/incnats.XXXXXX");
	if (mkdtemp(c->dir) == NULL) {
		fprintf(stderr, "nats_cluster: mkdtemp: %s\n", strerror(errno));
		free(c);
		return NULL;
	}
	c->next = s_live;
	s_live = c;
	if (!s_atexit_registered && atexit(s_cleanup_at_exit) == 0)
		s_atexit_registered = true;
	if (s_pick_ports(c) < 0) {
		fprintf(stderr, "nats_cluster: no free loopback ports\n");
		nats_cluster_destroy(&c);
		return NULL;
	}
	size_t len = 0;
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++) {
		s_server_t *s = &c->server[i];
		snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->client_port);
		snprintf(s->conf, sizeof s->conf, "%s/n%d.conf", c->dir, i);
		snprintf(s->log, sizeof s->log, "%s/n%d.log", c->dir, i);
		len += (size_t)snprintf(c->urls + len, sizeof c->urls - len, "%s%s", i ? "," : "",
					s->url);
		if (s_write_config(c, i) < 0) {
			nats_cluster_destroy(&c);
			return NULL;
		}
	}
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++) {
		if (nats_cluster_start(c, i) < 0) {
			nats_cluster_destroy(&c);
			return NULL;
		}
	}
	if (nats_cluster_wait_ready(c, NATS_CLUSTER_READY_TIMEOUT_MS) < 0) {
		nats_cluster_destroy(&c);
		return NULL;
	}
	return c;
}

void nats_cluster_destroy(nats_cluster_t **c_p)
{
	if (c_p == NULL || *c_p == NULL)
		return;
	nats_cluster_t *c = *c_p;
	s_forget(c);
	nats_cluster_stop(c);
	if (!c->passed)
		nats_cluster_print_logs(c);
	h_rm_rf(c->dir);
	free(c);
	*c_p = NULL;
}

void nats_cluster_pass(nats_cluster_t *c)
{
	c->passed = true;
}

const char *nats_cluster_urls(const nats_cluster_t *c)
{
	return c->urls;
}

const char *nats_cluster_url(const nats_cluster_t *c, int i)
{
	return c->server[i].url;
}

const char *nats_cluster_dir(const nats_cluster_t *c)
{
	return c->dir;
}

bool nats_cluster_running(const nats_cluster_t *c, int i)
{
	return c->server[i].pid > 0;
}

int nats_cluster_kill(nats_cluster_t *c, int i)
{
	s_server_t *s = &c->server[i];
	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGKILL);
	s_reap(s->pid, NATS_CLUSTER_STOP_TIMEOUT_MS);
	s->pid = 0;
	return 0;
}

/* Forks and execs nats-server -c CONF with stdout and stderr appended to its log. */
static pid_t s_spawn(const s_server_t *s)
{
	int log = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log < 0) {
		fprintf(stderr, "nats_cluster: cannot open %s: %s\n", s->log, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* The test process may have libnats threads: only async-signal-safe calls here. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int in = open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(127);
		closefrom(3);
		execlp("nats-server", "nats-server", "-c", s->conf, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		fprintf(stderr, "nats_cluster: fork: %s\n", strerror(errno));
	close(log);
	return pid;
}

int nats_cluster_start(nats_cluster_t *c, int i)
{
	s_server_t *s = &c->server[i];
	if (s->pid > 0)
		return 0;
	s->pid = s_spawn(s);
	if (s->pid < 0) {
		s->pid = 0;
		return -1;
	}
	int64_t deadline = h_mono_ms() + NATS_CLUSTER_READY_TIMEOUT_MS;
	for (;;) {
		int wstatus;
		if (waitpid(s->pid, &wstatus, WNOHANG) == s->pid) {
			fprintf(stderr, "nats_cluster: n%d exited at start-up (nats-server missing? run "
					"scripts/deps); its log:\n", i);
			s->pid = 0;
			nats_cluster_print_logs(c);
			return -1;
		}
		natsConnection *nc = NULL;
		if (natsConnection_ConnectTo(&nc, s->url) == NATS_OK) {
			natsConnection_Destroy(nc);
			return 0;
		}
		if (h_mono_ms() >= deadline)
			break;
		s_sleep_ms(50);
	}
	fprintf(stderr, "nats_cluster: n%d did not accept connections on %s within %d ms\n", i,
		s->url, NATS_CLUSTER_READY_TIMEOUT_MS);
	nats_cluster_kill(c, i);
	return -1;
}

void nats_cluster_stop(nats_cluster_t *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++)
		if (c->server[i].pid > 0)
			kill(c->server[i].pid, SIGTERM);
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++) {
		s_server_t *s = &c->server[i];
		if (s->pid <= 0)
			continue;
		if (s_reap(s->pid, NATS_CLUSTER_STOP_TIMEOUT_MS) < 0) {
			fprintf(stderr, "nats_cluster: n%d did not stop on SIGTERM: SIGKILL\n", i);
			nats_cluster_kill(c, i);
		}
		s->pid = 0;
	}
}

/*
 * One readiness probe: adds an R3 stream named after the process, then deletes it. Returns
 * NATS_OK or the failure, with its text in err (cap bytes).
 */
static natsStatus s_probe(natsConnection *nc, char *err, size_t cap)
{
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	char name[64], subject[64];
	snprintf(name, sizeof name, "PROBE_%ld", (long)getpid());
	snprintf(subject, sizeof subject, "probe.%ld", (long)getpid());
	const char *subjects[] = {subject};
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = name;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Replicas = 3;
	cfg.Storage = js_MemoryStorage;
	/*
	 * A request sent while the meta leader is being elected goes unanswered: a short wait
	 * makes the next try come sooner than the default 5 s would.
	 */
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = 1000;
	natsStatus st = natsConnection_JetStream(&js, nc, &jo);
	if (st == NATS_OK)
		st = js_AddStream(&si, js, &cfg, NULL, &jerr);
	if (st == NATS_OK)
		st = js_DeleteStream(js, name, NULL, &jerr);
	if (st != NATS_OK)
		snprintf(err, cap, "%s (jsErrCode %d): %s", natsStatus_GetText(st), (int)jerr,
			 nats_GetLastError(NULL));
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	return st;
}

/* Connects to the running servers (any of them). Returns NATS_OK or the failure. */
static natsStatus s_connect(const nats_cluster_t *c, natsConnection **nc)
{
	const char *urls[NATS_CLUSTER_SIZE];
	int n = 0;
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++)
		if (c->server[i].pid > 0)
			urls[n++] = c->server[i].url;
	natsOptions *opts = NULL;
	natsStatus st = natsOptions_Create(&opts);
	if (st == NATS_OK)
		st = natsOptions_SetServers(opts, urls, n);
	if (st == NATS_OK)
		st = natsOptions_SetTimeout(opts, 1000);
	if (st == NATS_OK)
		st = natsConnection_Connect(nc, opts);
	natsOptions_Destroy(opts);
	return st;
}

int nats_cluster_wait_ready(nats_cluster_t *c, int timeout_ms)
{
	int64_t start = h_mono_ms(), deadline = start + timeout_ms;
	char err[512] = "no server running";
	natsConnection *nc = NULL;
	for (;;) {
		natsStatus st = nc != NULL ? NATS_OK : s_connect(c, &nc);
		if (st != NATS_OK)
			snprintf(err, sizeof err, "connect: %s", natsStatus_GetText(st));
		else if (s_probe(nc, err, sizeof err) == NATS_OK)
			break;
		if (h_mono_ms() >= deadline) {
			natsConnection_Destroy(nc);
			fprintf(stderr, "nats_cluster: JetStream not ready within %d ms: %s\n",
				timeout_ms, err);
			return -1;
		}
		s_sleep_ms(100);
	}
	natsConnection_Destroy(nc);
	return (int)(h_mono_ms() - start);
}

void nats_cluster_print_logs(const nats_cluster_t *c)
{
	for (int i = 0; i < NATS_CLUSTER_SIZE; i++) {
		FILE *f = fopen(c->server[i].log, "r");
		if (f == NULL)
			continue;
		/* The last 40 lines: a server logs a few lines a second while its peers are down. */
		char *lines[40] = {0}, *line = NULL;
		size_t cap = 0;
		unsigned n = 0;
		while (getline(&line, &cap, f) > 0) {
			free(lines[n % 40]);
			lines[n++ % 40] = strdup(line);
		}
		free(line);
		fclose(f);
		fprintf(stderr, "---- nats_cluster: %s (last %u lines)\n", c->server[i].log,
			n < 40 ? n : 40);
		for (unsigned k = n < 40 ? 0 : n - 40; k < n; k++)
			if (lines[k % 40] != NULL)
				fputs(lines[k % 40], stderr);
		for (unsigned k = 0; k < 40; k++)
			free(lines[k]);
	}
}
