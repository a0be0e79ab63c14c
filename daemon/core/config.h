/*
 * config: the INI configuration of incidentd, parsed into a plain struct.
 *
 * Every option lives in one table in config.c (section, key, type, bounds, default). Built-in
 * defaults are the text of config/incidentd.conf, compiled into the binary, so running without
 * -c and running with -c config/incidentd.conf are the same by construction.
 *
 * Pure code: reads a file or a string, no other I/O.
 */
#ifndef INCIDENTD_DAEMON_CORE_CONFIG_H
#define INCIDENTD_DAEMON_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_STAGES 32
#define CONFIG_MAX_CATEGORY 5

/*
 * A duration as written in the config. Clock units (ms s m h d) become milliseconds;
 * working units: "Nwd" is N working days, "Nwh" N working hours (kept in ms of working time).
 */
typedef enum {
	DURATION_CLOCK = 0,   /* value: ms of wall-clock time */
	DURATION_WORKING_DAYS, /* value: a count of working days */
	DURATION_WORKING_MS,  /* value: ms of working time ("wh") */
} config_duration_kind_t;

typedef struct {
	config_duration_kind_t kind;
	int64_t value;
} config_duration_t;

/* [calendar]: working time. Defaults: mon-fri, 08:00-18:00, Europe/London, no holidays. */
typedef struct {
	unsigned days;         /* bit d set: weekday d works (0 = Sunday ... 6 = Saturday) */
	int start_minute;      /* minutes after local midnight the working day starts */
	int end_minute;        /* ... and ends; end > start */
	int64_t *holidays;     /* sorted days since 1970-01-01 (local civil dates) */
	size_t n_holidays;
	char *timezone;        /* an IANA name, e.g. "Europe/London" */
} config_calendar_t;

/* [sla NAME]: one SLA rule. */
typedef struct {
	char *name;
	int start;                /* stage index into config_t.stages */
	int stop;                 /* stage index; start < stop */
	bool stop_clock_reported; /* false: "received" (the default) */
	bool major_only;          /* major = true */
	bool working_calendar;    /* calendar = working */
	bool has_target[CONFIG_MAX_CATEGORY + 1]; /* index 1..5 */
	config_duration_t target[CONFIG_MAX_CATEGORY + 1];
	int line;                 /* where the section starts, for messages */
} config_sla_t;

/* [hook NAME]: where alerts go. Exactly one of exec or url is set. */
typedef struct {
	char *name;
	char **exec_argv;         /* NULL-terminated argv split on spaces, or NULL */
	char *url;                /* or NULL */
	char *secret;             /* optional, url hooks only */
	char **topics;            /* topic prefixes; default { "breach.", NULL } */
	size_t n_topics;
	int64_t timeout_ms;       /* per attempt; default 5 s, at most 5 min */
	int max_attempts;         /* 0 (the default): no limit; else give up after this many */
	int64_t give_up_after_ms; /* give up this long after queueing; default 24 h, 1 s .. 30 d */
	int64_t backoff_ms;       /* default 1 s */
	int64_t max_backoff_ms;   /* default 5 min */
	int line;
} config_hook_t;

typedef enum { APPLIES_ALL = 0, APPLIES_MAJOR, APPLIES_CATEGORY } config_applies_t;

/* [problem_rule NAME]: incidents that must get a problem record in time. */
typedef struct {
	char *name;
	config_applies_t applies;
	int category;             /* with APPLIES_CATEGORY: 1..5 */
	int start;                /* stage index */
	config_duration_t within;
	bool working_calendar;    /* calendar = working */
	int line;
} config_problem_rule_t;

typedef struct config {
	/* [daemon] */
	char *data_dir;           /* default "var/incidentd" */
	char **api;               /* NULL-terminated endpoint list */
	size_t n_api;
	char **publish;           /* NULL-terminated endpoint list */
	size_t n_publish;
	size_t max_request_bytes; /* default 65536 */
	size_t map_size;          /* initial LMDB map size in bytes; default 64 MiB; grows when full */

	/* [stages] */
	char *stages[CONFIG_MAX_STAGES]; /* names in order */
	size_t n_stages;
	int resolved_stage;       /* index of the stage from which an incident counts as resolved */
	int closed_stage;         /* index of the closed stage */
	int major_stage;          /* index of "major_declared", or -1 when order has none */

	config_calendar_t calendar;

	config_sla_t *slas;
	size_t n_slas;
	config_hook_t *hooks;
	size_t n_hooks;
	config_problem_rule_t *problem_rules;
	size_t n_problem_rules;
} config_t;

/*
 * Diagnostics: every error found, each one line "FILE:LINE: message" (or "FILE: message"
 * when no line applies). Owned by the diag; free with config_diag_release().
 */
typedef struct {
	char **lines;
	size_t n;
} config_diag_t;

void config_diag_release(config_diag_t *diag);

/*
 * Parses configuration text; filename is used in messages only. Sections and keys absent from
 * the text take their defaults (the built-in defaults are NOT merged in: a file is complete
 * on its own, like config/incidentd.conf). Returns a new config, or NULL when there was any
 * error, each appended to diag.
 */
config_t *config_parse(const char *text, const char *filename, config_diag_t *diag);

/* Reads and parses a file; an unreadable file is one error "FILE: reason". As config_parse. */
config_t *config_load(const char *path, config_diag_t *diag);

/* The built-in defaults: config/incidentd.conf as compiled in. Returns NULL on allocation failure. */
config_t *config_default(void);

/* The text of the built-in defaults (static storage). */
const char *config_default_text(void);

/*
 * Replaces the data dir, or the api or publish endpoints with a comma-separated list (as on the
 * command line). Returns 0, or -1 with one line in diag when the value is empty or bad.
 */
int config_set_data_dir(config_t *cfg, const char *dir, config_diag_t *diag);
int config_set_api(config_t *cfg, const char *list, config_diag_t *diag);
int config_set_publish(config_t *cfg, const char *list, config_diag_t *diag);

/* The index of a stage name in cfg->stages, or -1. */
int config_stage_index(const config_t *cfg, const char *name);

/*
 * Parses a duration "30m", "1500ms", "2h", "1d", "2wd", "4wh". Returns 0 or -EINVAL.
 * Shared by config parsing and tests.
 */
int config_duration_parse(const char *text, config_duration_t *out);

/* Frees cfg and everything it owns; accepts NULL and sets *cfg_p = NULL. */
void config_destroy(config_t **cfg_p);

#endif
