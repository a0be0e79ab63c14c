/*
 * incidentd: the incident and problem-record daemon. main() is the list of start-up steps.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>
#include <uv.h>

#include "daemon/core/config.h"
#include "daemon/edge/alerts.h"
#include "daemon/edge/http.h"
#include "daemon/edge/scrape.h"
#include "daemon/edge/server.h"
#include "daemon/store/schema.h"
#include "daemon/store/store.h"
#include "daemon/sys/conf_file.h"
#include "daemon/sys/log.h"
#include "daemon/sys/metrics.h"
#include "daemon/sys/notify.h"
#include "daemon/sys/tz.h"

typedef struct {
	const char *config_path;
	const char *data_dir;
	const char *api;
	const char *publish;
	bool check_config;
	bool verbose;
} options_t;

static void s_usage(FILE *out)
{
	fprintf(out,
		"usage: incidentd [-c FILE] [--data-dir DIR] [--api ENDPOINT[,...]]\n"
		"                 [--publish ENDPOINT[,...]] [--check-config] [-v] [--version] [--help]\n"
		"\n"
		"  -c FILE             configuration file (default: built-in, as config/incidentd.conf)\n"
		"  --data-dir DIR      where the LMDB data lives (overrides [daemon] data_dir)\n"
		"  --api ENDPOINTS     ROUTER endpoints for requests, comma-separated\n"
		"  --publish ENDPOINTS PUB endpoints for published messages, comma-separated\n"
		"  --check-config      validate the configuration, print the result and exit\n"
		"  -v, --verbose       also log debug lines\n");
}

/* Parses the command line; exits 0 for --help/--version and 2 for a usage error. */
static void s_parse_args(int argc, char **argv, options_t *opt)
{
	enum { OPT_DATA_DIR = 256, OPT_API, OPT_PUBLISH, OPT_CHECK, OPT_VERSION, OPT_HELP };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
		{ "api", required_argument, NULL, OPT_API },
		{ "publish", required_argument, NULL, OPT_PUBLISH },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	memset(opt, 0, sizeof *opt);
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt->config_path = optarg; break;
		case OPT_DATA_DIR: opt->data_dir = optarg; break;
		case OPT_API: opt->api = optarg; break;
		case OPT_PUBLISH: opt->publish = optarg; break;
		case OPT_CHECK: opt->check_config = true; break;
		case 'v': opt->verbose = true; break;
		case OPT_VERSION: printf("incidentd %s\n", INCIDENTD_VERSION); exit(0);
		case 'h':
		case OPT_HELP: s_usage(stdout); exit(0);
		default: s_usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "incidentd: unexpected argument: %s\n", argv[optind]);
		s_usage(stderr);
		exit(2);
	}
}

/*
 * Loads the configuration with the command-line overrides. On errors prints each (to stdout
 * under --check-config, which reports rather than fails to start) and exits 1.
 */
static config_t *s_load_config(const options_t *opt, char **text_out)
{
	config_diag_t diag = { 0 };
	*text_out = NULL;
	config_t *cfg = opt->config_path ? conf_file_load(opt->config_path, text_out, &diag)
					 : config_default();
	if (cfg && opt->data_dir && config_set_data_dir(cfg, opt->data_dir, &diag) < 0)
		config_destroy(&cfg);
	if (cfg && opt->api && config_set_api(cfg, opt->api, &diag) < 0)
		config_destroy(&cfg);
	if (cfg && opt->publish && config_set_publish(cfg, opt->publish, &diag) < 0)
		config_destroy(&cfg);
	if (cfg && config_check_plaintext(cfg, &diag) < 0)
		config_destroy(&cfg);
	if (!cfg) {
		FILE *out = opt->check_config ? stdout : stderr;
		for (size_t i = 0; i < diag.n; i++)
			fprintf(out, "%s\n", diag.lines[i]);
		if (diag.n == 0)
			fprintf(out, "incidentd: cannot load the configuration\n");
		config_diag_release(&diag);
		exit(1);
	}
	config_diag_release(&diag);
	if (opt->check_config) {
		printf("configuration OK\n");
		config_destroy(&cfg);
		free(*text_out);
		exit(0);
	}
	return cfg;
}

/*
 * Raises the soft limit on open files to the hard limit: every client connection takes a
 * descriptor, and at the limit new clients can only wait (the server logs the failed accepts).
 * Logs the limit in force.
 */
static void s_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("cannot read the open files limit");
		return;
	}
	unsigned long long was = rl.rlim_cur, max = rl.rlim_max;
	if (rl.rlim_cur == rl.rlim_max) {
		log_info("open files limit %llu (the hard limit)", max);
		return;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("open files limit %llu: cannot raise it to the hard limit %llu", was, max);
	else
		log_info("open files limit %llu (raised from %llu)", max, was);
}

/* A start-up failure: told to systemd as the unit's status, logged, exit 1. */
__attribute__((noreturn)) static void s_cannot_start(const char *reason)
{
	notify_status("cannot start: %s", reason);
	fatalx("cannot start: %s", reason);
}

/*
 * Tells systemd the daemon is ready (READY=1), once its sockets are bound, its store open and
 * its deadlines loaded, with what it holds and where it listens as the unit's status.
 */
static void s_notify_ready(store_t *store, const config_t *cfg)
{
	store_txn_t txn;
	size_t incidents = 0, open = 0, deadlines = 0;
	if (store_txn_begin(store, false, &txn) == 0) {
		incidents = store_count(&txn, STORE_INCIDENTS);
		open = store_count(&txn, STORE_OPEN);
		deadlines = store_count(&txn, STORE_DEADLINES);
		store_txn_abort(&txn);
	}
	notify_ready("ready: %zu incidents (%zu open), %zu pending deadlines; API on %s%s",
		     incidents, open, deadlines, cfg->api[0], cfg->n_api > 1 ? " and more" : "");
}

/* GET /metrics: the scrape text (http_metrics_fn), on the listener's thread. */
static char *s_metrics_text(void *store, size_t *len)
{
	return scrape_render(store, len);
}

static void s_on_watchdog(uv_timer_t *timer)
{
	(void)timer;
	notify_watchdog();
}

/*
 * With WatchdogSec= in the unit, sends WATCHDOG=1 from the event loop at half the interval:
 * a loop that stops turning stops the pings and systemd restarts the daemon. The timer does
 * not keep the loop running (uv_unref): the server's handles decide when uv_run() returns.
 * Returns true when the timer was started (and must be closed).
 */
static bool s_watchdog_start(uv_loop_t *loop, uv_timer_t *timer)
{
	uint64_t usec = notify_watchdog_interval_usec();
	if (usec == 0)
		return false;
	uint64_t ms = usec / 1000 > 0 ? usec / 1000 : 1;
	uv_timer_init(loop, timer);
	uv_timer_start(timer, s_on_watchdog, ms, ms);
	uv_unref((uv_handle_t *)timer);
	log_info("systemd watchdog: WATCHDOG=1 every %llu ms", (unsigned long long)ms);
	return true;
}

int main(int argc, char **argv)
{
	options_t opt;
	char err[512];
	s_parse_args(argc, argv, &opt);
	log_set_verbose(opt.verbose);
	char *conf_text;
	config_t *cfg = s_load_config(&opt, &conf_text);
	signal(SIGPIPE, SIG_IGN);
	s_raise_nofile();
	/* jansson seeds its hash function lazily; do it before any thread can race for it. */
	json_object_seed(0);
	/* The process's zone is the calendar's, set once before any thread starts. */
	if (tz_use(cfg->calendar.timezone) < 0)
		fatalx("cannot start: time zone %s cannot be loaded", cfg->calendar.timezone);

	notify_status("starting: opening the store in %s", cfg->data_dir);
	store_schema_t schema = schema_for(cfg);
	store_t *store = store_open(cfg->data_dir, cfg->map_size, &schema, err, sizeof err);
	if (!store)
		s_cannot_start(err);
	/* Before any thread records: the hooks' backlogs are counted by alerts_new(). */
	if (metrics_init(cfg) != 0)
		log_warnx("metrics: out of memory; the per-rule and per-hook series are left out");
	alerts_t *alerts = alerts_new(store, cfg);
	if (!alerts)
		s_cannot_start("cannot start the hook delivery threads");
	uv_loop_t loop;
	uv_loop_init(&loop);
	notify_status("starting: binding sockets, loading deadlines");
	server_source_t source = { opt.config_path, conf_text };
	server_t *server = server_new(&loop, cfg, &source, store, alerts, err, sizeof err);
	if (!server)
		s_cannot_start(err);
	http_t *http = NULL;
	if (cfg->http.listen && (http = http_new(&loop, cfg, server, err, sizeof err)) == NULL)
		s_cannot_start(err);
	if (http)
		http_set_metrics(http, s_metrics_text, store);
	log_info("incidentd %s ready, data in %s", INCIDENTD_VERSION, cfg->data_dir);
	s_notify_ready(store, cfg);
	uv_timer_t watchdog;
	bool watching = s_watchdog_start(&loop, &watchdog);

	uv_run(&loop, UV_RUN_DEFAULT);

	http_destroy(&http);
	if (watching) {
		uv_close((uv_handle_t *)&watchdog, NULL);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	server_destroy(&server);
	alerts_destroy(&alerts);
	if (uv_loop_close(&loop) != 0)
		log_warnx("event loop closed with handles still open");
	store_destroy(&store);
	metrics_release();
	config_destroy(&cfg);
	log_info("stopped");
	return 0;
}
