/*
 * bench_scrape: times the text of GET /metrics (daemon/edge/scrape.h, what the HTTP listener
 * serves) on a real data dir, as the daemon would build it: the store's gauges in one read
 * transaction, then the registry's text. Run by bench/run-metrics on a store it loaded.
 *
 *   bench_scrape DATA_DIR [--repeat N]
 *
 * The registry is set up for the default configuration (its rules), and one request of every
 * op is recorded first, so that every op's histogram is in the text, as after a day of traffic
 * (the text's largest size). Prints the text's size and the scrape time (min, median, p99,
 * max over --repeat scrapes, default 1000), and the store's figures the text holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/core/config.h"
#include "daemon/edge/scrape.h"
#include "daemon/store/schema.h"
#include "daemon/store/store.h"
#include "daemon/sys/metrics.h"
#include "proto/op.h"

static double s_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int s_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static size_t s_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; p && *p; p++)
		n += *p == '\n';
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--repeat") == 0)) {
		fprintf(stderr, "usage: bench_scrape DATA_DIR [--repeat N]\n");
		return 2;
	}
	int repeat = argc == 4 ? atoi(argv[3]) : 1000;
	if (repeat < 1)
		repeat = 1;
	config_t *cfg = config_default();
	char err[512];
	store_schema_t schema = schema_for(cfg);
	store_t *store = cfg ? store_open(argv[1], cfg->map_size, &schema, err, sizeof err) : NULL;
	if (!store) {
		fprintf(stderr, "bench_scrape: %s\n", cfg ? err : "no default configuration");
		return 1;
	}
	metrics_init(cfg);
	static const char *const ops[] = { OP_EVENT, OP_GET, OP_LIST, OP_BREACHES, OP_DEADLINES,
		OP_PROBLEM_CREATE, OP_PROBLEM_UPDATE, OP_PROBLEM_LINK, OP_PROBLEM_UNLINK,
		OP_PROBLEM_GET, OP_PROBLEM_LIST, OP_REPORT, OP_STATUS };
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		metrics_request(ops[i], "ok", 0.001);
	metrics_commit(0.002, 100);
	double *us = calloc((size_t)repeat, sizeof *us);
	if (!us)
		return 1;
	size_t len = 0;
	char *text = NULL;
	for (int i = 0; i < repeat; i++) {
		free(text);
		double t0 = s_now_us();
		text = scrape_render(store, &len);
		us[i] = s_now_us() - t0;
		if (!text) {
			fprintf(stderr, "bench_scrape: scrape_render failed\n");
			return 1;
		}
	}
	qsort(us, (size_t)repeat, sizeof *us, s_cmp);
	metrics_gauges_t g;
	scrape_gauges(store, &g);
	printf("store: %llu open, %llu resolved, %llu closed incidents; %llu deadlines pending; "
	       "map %llu MiB, used %llu MiB\n",
	       (unsigned long long)g.incidents_open, (unsigned long long)g.incidents_resolved,
	       (unsigned long long)g.incidents_closed, (unsigned long long)g.deadlines_pending,
	       (unsigned long long)g.store_map_bytes >> 20,
	       (unsigned long long)g.store_used_bytes >> 20);
	printf("scrape: %zu bytes, %zu lines; %d scrapes: min %.1f us, median %.1f us, p99 %.1f us, "
	       "max %.1f us\n",
	       len, s_lines(text), repeat, us[0], us[repeat / 2],
	       us[(size_t)((double)repeat * 0.99)], us[repeat - 1]);
	free(text);
	free(us);
	metrics_release();
	store_destroy(&store);
	config_destroy(&cfg);
	return 0;
}
