/*
 * fuzz_config: daemon/core/config.c, the INI parser, on any text (as --check-config and the
 * daemon's start-up read a file).
 *
 * Properties: config_parse() returns a config with no diagnostics, or NULL with at least one,
 * each naming the file; an accepted config keeps the invariants config.h states (stages,
 * rules, hooks, bounds), and config_destroy() frees all of it (LeakSanitizer checks every run).
 */
#include "tests/fuzz/fuzz.h"

#include <stdbool.h>

#include "daemon/core/config.h"
#include "proto/wire.h"

#define FILE_NAME "fuzz.conf"

/* A NULL-terminated list of n non-empty strings. */
static bool s_list_ok(char *const *list, size_t n)
{
	if (!list)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!list[i] || list[i][0] == '\0')
			return false;
	return list[n] == NULL;
}

static void s_check_stages(const config_t *cfg)
{
	int n = (int)cfg->n_stages;
	if (n < 2 || n > CONFIG_MAX_STAGES)
		FUZZ_FAIL("%d stages", n);
	for (int i = 0; i < n; i++) {
		if (!cfg->stages[i] || config_stage_index(cfg, cfg->stages[i]) != i)
			FUZZ_FAIL("stage %d is missing or named twice", i);
	}
	if (cfg->resolved_stage < 0 || cfg->resolved_stage >= n || cfg->closed_stage < 0 ||
	    cfg->closed_stage >= n)
		FUZZ_FAIL("resolved stage %d, closed stage %d of %d", cfg->resolved_stage,
			  cfg->closed_stage, n);
	if (cfg->major_stage != config_stage_index(cfg, "major_declared"))
		FUZZ_FAIL("major stage %d", cfg->major_stage);
	if (cfg->notified_stage < -1 || cfg->notified_stage >= n)
		FUZZ_FAIL("notified stage %d of %d", cfg->notified_stage, n);
	if (cfg->max_clock_skew_ms < 0)
		FUZZ_FAIL("max_clock_skew %lld", (long long)cfg->max_clock_skew_ms);
}

static void s_check_rules(const config_t *cfg)
{
	int n = (int)cfg->n_stages;
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const config_rule_t *r = &cfg->rules[i];
		if (!r->name || r->name[0] == '\0' || strlen(r->name) > CONFIG_NAME_MAX)
			FUZZ_FAIL("rule %zu: bad name", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->rules[j].name, r->name) == 0)
				FUZZ_FAIL("two rules named %s", r->name);
		if (r->kind < 0 || r->kind >= RULE_N_KINDS || r->start < 0 || r->start >= n)
			FUZZ_FAIL("rule %s: kind %d, start %d", r->name, (int)r->kind, r->start);
		if (config_rule_kinds[r->kind].stops_at == RULE_STOPS_AT_STAGE &&
		    (r->stop <= r->start || r->stop >= n))
			FUZZ_FAIL("rule %s: start %d, stop %d", r->name, r->start, r->stop);
		bool any = false;
		for (int c = 1; c <= CONFIG_MAX_CATEGORY; c++)
			any |= r->has_target[c];
		if (!any && r->kind == RULE_SLA)
			FUZZ_FAIL("rule %s has no target", r->name);
		/* Every rule counts some source, or its clock could never start or stop. */
		if (r->start_sources == 0 || (r->start_sources & ~WIRE_ALL_SOURCES) ||
		    (r->kind == RULE_SLA && (r->stop_sources == 0 || (r->stop_sources & ~WIRE_ALL_SOURCES))))
			FUZZ_FAIL("rule %s: sources %#x, %#x", r->name, r->start_sources, r->stop_sources);
	}
}

static void s_check_hooks(const config_t *cfg)
{
	for (size_t i = 0; i < cfg->n_hooks; i++) {
		const config_hook_t *h = &cfg->hooks[i];
		if (!h->name || (h->exec_argv == NULL) == (h->url == NULL))
			FUZZ_FAIL("hook %zu: needs exactly one of exec and url", i);
		if (h->exec_argv && !h->exec_argv[0])
			FUZZ_FAIL("hook %s: an empty exec", h->name);
		if (h->n_topics < 1 || !s_list_ok(h->topics, h->n_topics))
			FUZZ_FAIL("hook %s: bad topics", h->name);
		if (h->timeout_ms <= 0 || h->max_attempts < 0 || h->give_up_after_ms <= 0 ||
		    h->backoff_ms <= 0 || h->max_backoff_ms <= 0)
			FUZZ_FAIL("hook %s: a bound out of range", h->name);
	}
}

static void s_check_config(const config_t *cfg)
{
	if (!cfg->data_dir || cfg->data_dir[0] == '\0')
		FUZZ_FAIL("no data dir");
	if (cfg->n_api < 1 || !s_list_ok(cfg->api, cfg->n_api) || cfg->n_publish < 1 ||
	    !s_list_ok(cfg->publish, cfg->n_publish))
		FUZZ_FAIL("bad endpoint lists");
	if (cfg->max_request_bytes < 256 || cfg->max_request_bytes > (size_t)64 << 20 ||
	    cfg->map_size < (size_t)1 << 20 || cfg->map_size > (size_t)1 << 40)
		FUZZ_FAIL("max_request_bytes %zu, map_size %zu", cfg->max_request_bytes,
			  cfg->map_size);
	s_check_stages(cfg);
	const config_calendar_t *cal = &cfg->calendar;
	if (!cal->timezone || cal->start_minute < 0 || cal->end_minute <= cal->start_minute ||
	    cal->end_minute > 24 * 60 || (cal->days & ~0x7fu) != 0)
		FUZZ_FAIL("bad calendar");
	for (size_t i = 1; i < cal->n_holidays; i++)
		if (cal->holidays[i] < cal->holidays[i - 1])
			FUZZ_FAIL("holidays out of order");
	s_check_rules(cfg);
	s_check_hooks(cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	config_diag_t diag = { 0 };
	config_t *cfg = config_parse(text, FILE_NAME, NULL, &diag);
	if (cfg && diag.n != 0)
		FUZZ_FAIL("accepted with a diagnostic: %s", diag.lines[0]);
	if (!cfg && diag.n == 0)
		FUZZ_FAIL("refused without a diagnostic");
	for (size_t i = 0; i < diag.n; i++)
		if (strncmp(diag.lines[i], FILE_NAME ":", strlen(FILE_NAME) + 1) != 0)
			FUZZ_FAIL("a diagnostic that does not name the file: %s", diag.lines[i]);
	if (cfg)
		s_check_config(cfg);
	config_destroy(&cfg);
	config_diag_release(&diag);
	free(text);
	return 0;
}
