/*
 * metrics: the process's counters and histograms, and their Prometheus text. See metrics.h.
 */
#include "daemon/sys/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/op.h"
#include "proto/wire.h"

/* The op label's values: the ops of the API, then "unknown" for anything else. */
static const char *const s_ops[] = {
	OP_EVENT, OP_GET, OP_LIST, OP_BREACHES, OP_DEADLINES, OP_PROBLEM_CREATE,
	OP_PROBLEM_UPDATE, OP_PROBLEM_LINK, OP_PROBLEM_UNLINK, OP_PROBLEM_GET, OP_PROBLEM_LIST,
	OP_REPORT, OP_STATUS, "unknown",
};
#define N_OPS (sizeof s_ops / sizeof s_ops[0])
#define OP_UNKNOWN (N_OPS - 1)
/* The code label's values: "ok" (index WIRE_OK) and the error codes of proto/wire.h. */
#define N_CODES ((size_t)WIRE_INTERNAL + 1)

static const char *const s_event_names[METRICS_EVENT_N] = { "accepted", "duplicate", "refused" };
static const char *const s_detected_names[METRICS_DETECTED_N] = { "on_arrival", "deadline",
								  "user_first" };
static const char *const s_delivery_names[METRICS_DELIVERY_N] = { "ok", "retry", "gave_up" };

/*
 * Bucket bounds: durations in nanoseconds (100 us to 10 s, the range between an acknowledged
 * event and a stalled disk), a batch's requests in powers of two up to the writer's limit.
 */
static const uint64_t s_seconds_bounds[] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000,
	100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};
static const uint64_t s_batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048,
					   4096 };
#define BOUNDS_MAX 16

/* One histogram's series: a count per bucket (the last past every bound) and the sum. */
typedef struct {
	atomic_uint_fast64_t buckets[BOUNDS_MAX + 1];
	atomic_uint_fast64_t sum;
} hist_t;

/* The bounds of a family of histograms, and how a value prints (divided by scale). */
typedef struct {
	const uint64_t *bounds;
	size_t n;
	uint64_t scale;
} hist_shape_t;

static const hist_shape_t s_seconds = { s_seconds_bounds,
					sizeof s_seconds_bounds / sizeof s_seconds_bounds[0],
					1000000000 };
static const hist_shape_t s_batch = { s_batch_bounds,
				      sizeof s_batch_bounds / sizeof s_batch_bounds[0], 1 };

static struct {
	atomic_uint_fast64_t requests[N_OPS][N_CODES];
	hist_t request_duration[N_OPS];
	hist_t commit_duration;
	hist_t batch_events;
	atomic_uint_fast64_t events[METRICS_EVENT_N];
	atomic_uint_fast64_t publish_dropped;
	/* per rule and hook, sized by metrics_init() */
	char **rules, **hooks;
	size_t n_rules, n_hooks;
	atomic_uint_fast64_t *breaches;   /* [rule * METRICS_DETECTED_N + detected] */
	atomic_uint_fast64_t *deliveries; /* [hook * METRICS_DELIVERY_N + result] */
	atomic_int_fast64_t *outbox;      /* [hook]; may dip below 0 for a moment (render clamps) */
	struct timespec started;
} s_reg;

static void s_hist_record(hist_t *h, const hist_shape_t *shape, uint64_t value)
{
	size_t i = 0;
	while (i < shape->n && value > shape->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, value, memory_order_relaxed);
}

static uint64_t s_ns(double seconds)
{
	if (!(seconds > 0))
		return 0;
	if (seconds > 1e9)
		return UINT64_MAX / 2;
	return (uint64_t)(seconds * 1e9);
}

static char **s_names_copy(size_t n, const char *(*name_of)(const config_t *, size_t),
			   const config_t *cfg)
{
	char **names = calloc(n ? n : 1, sizeof *names);
	for (size_t i = 0; names && i < n; i++)
		if (!(names[i] = strdup(name_of(cfg, i)))) {
			for (size_t j = 0; j < i; j++)
				free(names[j]);
			free(names);
			return NULL;
		}
	return names;
}

static const char *s_rule_name(const config_t *cfg, size_t i)
{
	return cfg->rules[i].name;
}

static const char *s_hook_name(const config_t *cfg, size_t i)
{
	return cfg->hooks[i].name;
}

void metrics_release(void)
{
	for (size_t i = 0; s_reg.rules && i < s_reg.n_rules; i++)
		free(s_reg.rules[i]);
	for (size_t i = 0; s_reg.hooks && i < s_reg.n_hooks; i++)
		free(s_reg.hooks[i]);
	free(s_reg.rules);
	free(s_reg.hooks);
	free(s_reg.breaches);
	free(s_reg.deliveries);
	free(s_reg.outbox);
	memset(&s_reg, 0, sizeof s_reg);
}

int metrics_init(const config_t *cfg)
{
	metrics_release();
	clock_gettime(CLOCK_REALTIME, &s_reg.started);
	size_t n_rules = cfg ? cfg->n_rules : 0, n_hooks = cfg ? cfg->n_hooks : 0;
	if (n_rules == 0 && n_hooks == 0)
		return 0;
	s_reg.rules = s_names_copy(n_rules, s_rule_name, cfg);
	s_reg.hooks = s_names_copy(n_hooks, s_hook_name, cfg);
	s_reg.breaches = calloc(n_rules * METRICS_DETECTED_N + 1, sizeof *s_reg.breaches);
	s_reg.deliveries = calloc(n_hooks * METRICS_DELIVERY_N + 1, sizeof *s_reg.deliveries);
	s_reg.outbox = calloc(n_hooks + 1, sizeof *s_reg.outbox);
	if (!s_reg.rules || !s_reg.hooks || !s_reg.breaches || !s_reg.deliveries || !s_reg.outbox) {
		struct timespec started = s_reg.started;
		metrics_release();
		s_reg.started = started;
		return -ENOMEM;
	}
	s_reg.n_rules = n_rules;
	s_reg.n_hooks = n_hooks;
	return 0;
}

/* The index of op among s_ops, OP_UNKNOWN when it is none of them. */
static size_t s_op_index(const char *op)
{
	for (size_t i = 0; op && i < OP_UNKNOWN; i++)
		if (strcmp(op, s_ops[i]) == 0)
			return i;
	return OP_UNKNOWN;
}

static size_t s_code_index(const char *code)
{
	if (code && strcmp(code, "ok") == 0)
		return WIRE_OK;
	wire_code_t c = wire_code_from_name(code);
	return c == WIRE_OK ? (size_t)WIRE_INTERNAL : (size_t)c;
}

void metrics_request(const char *op, const char *code, double seconds)
{
	size_t o = s_op_index(op);
	atomic_fetch_add_explicit(&s_reg.requests[o][s_code_index(code)], 1, memory_order_relaxed);
	s_hist_record(&s_reg.request_duration[o], &s_seconds, s_ns(seconds));
}

void metrics_event(metrics_event_t result)
{
	if ((unsigned)result < METRICS_EVENT_N)
		atomic_fetch_add_explicit(&s_reg.events[result], 1, memory_order_relaxed);
}

void metrics_commit(double seconds, size_t events)
{
	s_hist_record(&s_reg.commit_duration, &s_seconds, s_ns(seconds));
	s_hist_record(&s_reg.batch_events, &s_batch, events);
}

void metrics_breaches(size_t rule, metrics_detected_t detected, uint64_t n)
{
	if (rule < s_reg.n_rules && (unsigned)detected < METRICS_DETECTED_N && n > 0)
		atomic_fetch_add_explicit(&s_reg.breaches[rule * METRICS_DETECTED_N + detected], n,
					  memory_order_relaxed);
}

int metrics_detected_from_name(const char *name)
{
	for (int i = 0; name && i < METRICS_DETECTED_N; i++)
		if (strcmp(name, s_detected_names[i]) == 0)
			return i;
	return -1;
}

void metrics_delivery(size_t hook, metrics_delivery_t result)
{
	if (hook < s_reg.n_hooks && (unsigned)result < METRICS_DELIVERY_N)
		atomic_fetch_add_explicit(&s_reg.deliveries[hook * METRICS_DELIVERY_N + result], 1,
					  memory_order_relaxed);
}

void metrics_outbox_set(size_t hook, uint64_t n)
{
	if (hook < s_reg.n_hooks)
		atomic_store_explicit(&s_reg.outbox[hook], (int64_t)n, memory_order_relaxed);
}

void metrics_outbox_add(size_t hook, int64_t delta)
{
	if (hook < s_reg.n_hooks)
		atomic_fetch_add_explicit(&s_reg.outbox[hook], delta, memory_order_relaxed);
}

void metrics_publish_dropped(void)
{
	atomic_fetch_add_explicit(&s_reg.publish_dropped, 1, memory_order_relaxed);
}

/* ---- the tally of one transaction ---- */

int metrics_tally_init(metrics_tally_t *tally, const config_t *cfg)
{
	memset(tally, 0, sizeof *tally);
	tally->breaches = calloc(cfg->n_rules * METRICS_DETECTED_N + 1, sizeof *tally->breaches);
	tally->queued = calloc(cfg->n_hooks + 1, sizeof *tally->queued);
	if (!tally->breaches || !tally->queued) {
		metrics_tally_release(tally);
		return -ENOMEM;
	}
	tally->n_rules = cfg->n_rules;
	tally->n_hooks = cfg->n_hooks;
	return 0;
}

void metrics_tally_release(metrics_tally_t *tally)
{
	free(tally->breaches);
	free(tally->queued);
	memset(tally, 0, sizeof *tally);
}

void metrics_tally_reset(metrics_tally_t *tally)
{
	if (tally->breaches)
		memset(tally->breaches, 0,
		       tally->n_rules * METRICS_DETECTED_N * sizeof *tally->breaches);
	if (tally->queued)
		memset(tally->queued, 0, tally->n_hooks * sizeof *tally->queued);
}

void metrics_tally_breach(metrics_tally_t *tally, size_t rule, const char *detected)
{
	int d = metrics_detected_from_name(detected);
	if (tally && d >= 0 && rule < tally->n_rules)
		tally->breaches[rule * METRICS_DETECTED_N + (size_t)d]++;
}

void metrics_tally_queued(metrics_tally_t *tally, size_t hook)
{
	if (tally && hook < tally->n_hooks)
		tally->queued[hook]++;
}

void metrics_tally_commit(metrics_tally_t *tally)
{
	for (size_t r = 0; r < tally->n_rules; r++)
		for (size_t d = 0; d < METRICS_DETECTED_N; d++)
			metrics_breaches(r, (metrics_detected_t)d,
					 tally->breaches[r * METRICS_DETECTED_N + d]);
	for (size_t h = 0; h < tally->n_hooks; h++)
		if (tally->queued[h])
			metrics_outbox_add(h, tally->queued[h]);
	metrics_tally_reset(tally);
}

/* ---- the text ---- */

/* A growing text; failed set once an allocation failed (then every append does nothing). */
typedef struct {
	char *buf;
	size_t len, cap;
	bool failed;
} text_t;

static void s_printf(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_printf(text_t *t, const char *fmt, ...)
{
	for (int tries = 0; !t->failed && tries < 2; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt,
				  ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap : 8192;
		while (cap <= t->len + (size_t)n)
			cap *= 2;
		char *grown = realloc(t->buf, cap);
		if (!grown) {
			t->failed = true;
			return;
		}
		t->buf = grown;
		t->cap = cap;
	}
}

/* A label value as the exposition format writes it: \, " and newline escaped. */
static void s_label_value(text_t *t, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			s_printf(t, "\\\\");
		else if (*p == '"')
			s_printf(t, "\\\"");
		else if (*p == '\n')
			s_printf(t, "\\n");
		else
			s_printf(t, "%c", *p);
	}
}

static void s_family(text_t *t, const char *name, const char *type, const char *help)
{
	s_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value of scale units per printed unit: exact decimals, no float rounding. */
static void s_scaled(text_t *t, uint64_t v, uint64_t scale)
{
	if (scale == 1)
		s_printf(t, "%llu", (unsigned long long)v);
	else
		s_printf(t, "%llu.%09llu", (unsigned long long)(v / scale),
			 (unsigned long long)(v % scale));
}

/*
 * One histogram's series: NAME_bucket{LABELS,le=...} cumulative, NAME_sum, NAME_count. labels
 * is "" or `op="x"` (already escaped).
 */
static void s_hist_text(text_t *t, const char *name, const char *labels, const hist_t *h,
			const hist_shape_t *shape)
{
	uint64_t counts[BOUNDS_MAX + 1], total = 0;
	for (size_t i = 0; i <= shape->n; i++)
		counts[i] = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
	const char *sep = labels[0] ? "," : "";
	for (size_t i = 0; i <= shape->n; i++) {
		total += counts[i];
		s_printf(t, "%s_bucket{%s%sle=\"", name, labels, sep);
		if (i == shape->n)
			s_printf(t, "+Inf");
		else if (shape->scale == 1)
			s_printf(t, "%llu", (unsigned long long)shape->bounds[i]);
		else
			s_printf(t, "%g", (double)shape->bounds[i] / (double)shape->scale);
		s_printf(t, "\"} %llu\n", (unsigned long long)total);
	}
	s_printf(t, "%s_sum%s%s%s ", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "");
	s_scaled(t, atomic_load_explicit(&h->sum, memory_order_relaxed), shape->scale);
	s_printf(t, "\n%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
		 labels[0] ? "}" : "", (unsigned long long)total);
}

static uint64_t s_hist_count(const hist_t *h, const hist_shape_t *shape)
{
	uint64_t n = 0;
	for (size_t i = 0; i <= shape->n; i++)
		n += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
	return n;
}

static void s_requests_text(text_t *t)
{
	s_family(t, "incidentd_requests_total", "counter",
		 "Requests answered, by op and reply code (ZeroMQ and HTTP).");
	for (size_t o = 0; o < N_OPS; o++)
		for (size_t c = 0; c < N_CODES; c++) {
			uint64_t n = atomic_load_explicit(&s_reg.requests[o][c], memory_order_relaxed);
			if (n > 0)
				s_printf(t, "incidentd_requests_total{op=\"%s\",code=\"%s\"} %llu\n",
					 s_ops[o], c == WIRE_OK ? "ok" : wire_code_name((wire_code_t)c),
					 (unsigned long long)n);
		}
	s_family(t, "incidentd_request_duration_seconds", "histogram",
		 "Time from a request's arrival to its reply (writes: after their commit), by op.");
	for (size_t o = 0; o < N_OPS; o++) {
		if (s_hist_count(&s_reg.request_duration[o], &s_seconds) == 0)
			continue;
		char labels[64];
		snprintf(labels, sizeof labels, "op=\"%s\"", s_ops[o]);
		s_hist_text(t, "incidentd_request_duration_seconds", labels,
			    &s_reg.request_duration[o], &s_seconds);
	}
}

static void s_writer_text(text_t *t)
{
	s_family(t, "incidentd_commit_duration_seconds", "histogram",
		 "Duration of one group commit: the write transaction from its start to its fsync.");
	s_hist_text(t, "incidentd_commit_duration_seconds", "", &s_reg.commit_duration, &s_seconds);
	s_family(t, "incidentd_batch_events", "histogram",
		 "Requests (and deadlines, notices) applied in one group commit.");
	s_hist_text(t, "incidentd_batch_events", "", &s_reg.batch_events, &s_batch);
	s_family(t, "incidentd_events_total", "counter",
		 "Event requests by outcome: accepted, duplicate (a retry), refused.");
	for (size_t i = 0; i < METRICS_EVENT_N; i++)
		s_printf(t, "incidentd_events_total{result=\"%s\"} %llu\n", s_event_names[i],
			 (unsigned long long)atomic_load_explicit(&s_reg.events[i],
								   memory_order_relaxed));
}

static void s_store_text(text_t *t, const metrics_gauges_t *g)
{
	if (!g || !g->store_read)
		return;
	s_family(t, "incidentd_incidents", "gauge", "Incidents stored, by status.");
	s_printf(t, "incidentd_incidents{status=\"open\"} %llu\n"
		    "incidentd_incidents{status=\"resolved\"} %llu\n"
		    "incidentd_incidents{status=\"closed\"} %llu\n",
		 (unsigned long long)g->incidents_open, (unsigned long long)g->incidents_resolved,
		 (unsigned long long)g->incidents_closed);
	s_family(t, "incidentd_deadlines_pending", "gauge",
		 "Rule deadlines waiting (started, not stopped, not breached).");
	s_printf(t, "incidentd_deadlines_pending %llu\n", (unsigned long long)g->deadlines_pending);
	s_family(t, "incidentd_store_map_bytes", "gauge",
		 "Size of the LMDB map (it doubles by itself when full).");
	s_printf(t, "incidentd_store_map_bytes %llu\n", (unsigned long long)g->store_map_bytes);
	s_family(t, "incidentd_store_used_bytes", "gauge",
		 "Bytes of the LMDB map in use (up to its last page used).");
	s_printf(t, "incidentd_store_used_bytes %llu\n", (unsigned long long)g->store_used_bytes);
}

static void s_rules_text(text_t *t)
{
	s_family(t, "incidentd_breaches_total", "counter",
		 "Breaches raised since the daemon started, by rule and how they were detected.");
	for (size_t r = 0; r < s_reg.n_rules; r++)
		for (size_t d = 0; d < METRICS_DETECTED_N; d++) {
			s_printf(t, "incidentd_breaches_total{sla=\"");
			s_label_value(t, s_reg.rules[r]);
			s_printf(t, "\",detected=\"%s\"} %llu\n", s_detected_names[d],
				 (unsigned long long)atomic_load_explicit(
					 &s_reg.breaches[r * METRICS_DETECTED_N + d],
					 memory_order_relaxed));
		}
}

static void s_hooks_text(text_t *t)
{
	s_family(t, "incidentd_hook_deliveries_total", "counter",
		 "Hook delivery attempts by outcome: ok, retry (failed, tried again later), gave_up.");
	for (size_t h = 0; h < s_reg.n_hooks; h++)
		for (size_t r = 0; r < METRICS_DELIVERY_N; r++) {
			s_printf(t, "incidentd_hook_deliveries_total{hook=\"");
			s_label_value(t, s_reg.hooks[h]);
			s_printf(t, "\",result=\"%s\"} %llu\n", s_delivery_names[r],
				 (unsigned long long)atomic_load_explicit(
					 &s_reg.deliveries[h * METRICS_DELIVERY_N + r],
					 memory_order_relaxed));
		}
	s_family(t, "incidentd_outbox_pending", "gauge",
		 "Hook deliveries waiting in the outbox, by hook.");
	for (size_t h = 0; h < s_reg.n_hooks; h++) {
		int64_t n = atomic_load_explicit(&s_reg.outbox[h], memory_order_relaxed);
		s_printf(t, "incidentd_outbox_pending{hook=\"");
		s_label_value(t, s_reg.hooks[h]);
		s_printf(t, "\"} %lld\n", (long long)(n > 0 ? n : 0));
	}
}

/* The resident set size from /proc/self/statm (its second field, in pages); 0 if unreadable. */
static uint64_t s_resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long long size = 0, resident = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return resident * (uint64_t)(page > 0 ? page : 4096);
}

static void s_process_text(text_t *t)
{
	s_family(t, "incidentd_publish_dropped_total", "counter",
		 "Messages the publish socket did not take (zmq_send failed) or that could not be "
		 "built; a subscriber's own full queue drops inside libzmq, unseen here.");
	s_printf(t, "incidentd_publish_dropped_total %llu\n",
		 (unsigned long long)atomic_load_explicit(&s_reg.publish_dropped,
							   memory_order_relaxed));
	s_family(t, "process_start_time_seconds", "gauge",
		 "Start time of the process since the Unix epoch in seconds.");
	s_printf(t, "process_start_time_seconds %lld.%03ld\n", (long long)s_reg.started.tv_sec,
		 s_reg.started.tv_nsec / 1000000);
	s_family(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	s_printf(t, "process_resident_memory_bytes %llu\n",
		 (unsigned long long)s_resident_bytes());
}

char *metrics_render(const metrics_gauges_t *gauges, size_t *len)
{
	text_t t = { 0 };
	s_requests_text(&t);
	s_writer_text(&t);
	s_store_text(&t, gauges);
	s_rules_text(&t);
	s_hooks_text(&t);
	s_process_text(&t);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	*len = t.len;
	return t.buf;
}
