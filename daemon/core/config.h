/*
 * config: the INI configuration of incidentd, parsed into a plain struct.
 *
 * Every option lives in one table in config.c (section, key, type, bounds, default). Built-in
 * defaults are the text of config/incidentd.conf, compiled into the binary, so running without
 * -c and running with -c config/incidentd.conf are the same by construction.
 *
 * Pure code: parses a string; reading the file is the caller's (sys/conf_file.h), and so is
 * asking the system whether a time zone exists (config_env_t).
 */
#ifndef INCIDENTD_DAEMON_CORE_CONFIG_H
#define INCIDENTD_DAEMON_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/keyfile.h"

#define CONFIG_MAX_STAGES 32
#define CONFIG_MAX_CATEGORY 5
/* The longest NAME of a [kind NAME] section: rule names appear in store keys and topics. */
#define CONFIG_NAME_MAX 64

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

/*
 * The kinds of rule. Each is a section kind of the file ([sla NAME], [problem_rule NAME]) and a
 * group of the report; config_rule_kinds describes them. Adding a kind is a row of that table
 * and its section in config.c: everything else works on config_rule_t alone.
 */
typedef enum { RULE_SLA = 0, RULE_PROBLEM, RULE_N_KINDS } config_rule_kind_t;

/* What stops a rule's clock. */
typedef enum {
	RULE_STOPS_AT_STAGE = 0, /* its stop stage is recorded */
	RULE_STOPS_AT_LINK,      /* a problem record is first linked to the incident */
} config_rule_stop_t;

typedef struct {
	const char *report_key;  /* where the report lists such rules: "sla", "problem_rules" */
	config_rule_stop_t stops_at;
} config_rule_kind_info_t;

extern const config_rule_kind_info_t config_rule_kinds[RULE_N_KINDS];

typedef enum { APPLIES_ALL = 0, APPLIES_MAJOR, APPLIES_CATEGORY } config_applies_t;

/*
 * One rule, of any kind: the clock starts at the start stage's time (its earliest report from
 * start_sources: reported time, or arrival with start_clock = received) and runs until what
 * stops it (config_rule_kinds[kind].stops_at: the stop stage's earliest report from
 * stop_sources, under stop_clock); the target is the incident's category's.
 * A rule applies to an incident when it has a target for its category (and the incident is
 * major, for a major-only rule). A problem rule's `applies` and `within` are turned into the
 * same targets: `within` for every category it applies to.
 */
typedef struct {
	char *name;               /* first member: the parser relies on it */
	config_rule_kind_t kind;
	int start;                /* stage index into config_t.stages */
	int stop;                 /* RULE_STOPS_AT_STAGE: the stop stage's index, after start */
	bool stop_clock_reported; /* false: "received" (the default) */
	bool start_clock_received; /* false: "reported" (the default) */
	unsigned start_sources;   /* the sources whose reports start the clock (bit 1 << source) */
	unsigned stop_sources;    /* ... and stop it (stage rules) */
	bool before_user;         /* also breached when a user reports before the stop */
	bool major_only;          /* major = true, or applies = major */
	bool working_calendar;    /* calendar = working */
	bool has_target[CONFIG_MAX_CATEGORY + 1]; /* index 1..5 */
	config_duration_t target[CONFIG_MAX_CATEGORY + 1];
	/* [problem_rule] keys as written; rules are evaluated from the members above alone. */
	config_applies_t applies;
	int applies_category;     /* with APPLIES_CATEGORY: 1..5 */
	config_duration_t within;
	int line;                 /* where the section starts, for messages */
} config_rule_t;

/*
 * [measure NAME]: a performance measure (the oversight group's PMR) over one rule's verdicts in
 * some of its categories, with a target service level and an optional minimum. Levels are kept
 * in hundredths of a percent (95% is 9500, 99.5% is 9950), so that comparing a month's figures
 * with them is exact integer arithmetic.
 */
typedef struct {
	char *name;               /* first member: the parser relies on it */
	char *rule_name;          /* as written */
	int rule;                 /* index into config_t.rules of the rule it measures */
	unsigned categories;      /* bit c set: category c (1..5) counts; default: the rule's */
	int target;               /* hundredths of a percent, 0..10000 */
	int minimum;              /* hundredths of a percent, <= target; with has_minimum only */
	bool has_minimum;
	int line;
} config_measure_t;

/* [hook NAME]: where alerts go. Exactly one of exec or url is set. */
typedef struct {
	char *name;
	char **exec_argv;         /* NULL-terminated argv split on spaces, or NULL */
	char *url;                /* or NULL */
	char *secret;             /* optional, url hooks only */
	char **topics;            /* topic prefixes; default { "breach.", NULL } */
	size_t n_topics;
	int64_t timeout_ms;       /* per attempt; default 5 s, at most 5 min */
	int max_attempts;         /* give up after this many (default 10); 0: no limit */
	int64_t give_up_after_ms; /* give up this long after queueing; default 24 h, 1 s .. 30 d */
	int64_t backoff_ms;       /* default 1 s */
	int64_t max_backoff_ms;   /* default 5 min */
	int line;
} config_hook_t;

/* The bytes of a bearer token's SHA-256 ([client NAME] token_sha256, 64 hex digits). */
#define CONFIG_TOKEN_SHA256_BYTES 32
/* The category of an Alertmanager alert whose severity label is absent or not mapped. */
#define CONFIG_HTTP_DEFAULT_CATEGORY 3

/* [http] severity.NAME = N: an Alertmanager severity label and the category it gives. */
typedef struct {
	char *name;
	int category;             /* 1..5 */
} config_severity_t;

/* [http]: the HTTP listener (daemon/edge/http.h). */
typedef struct {
	char *listen;             /* "HOST:PORT", or NULL: no HTTP listener (the default) */
	char *tls_cert;           /* PEM files, both or neither: HTTPS */
	char *tls_key;
	config_severity_t *severities; /* in the order of the file; names unique */
	size_t n_severities;
} config_http_t;

/* [cluster]: cluster mode on NATS JetStream (daemon/edge/cluster.h); absent: a node alone. */
typedef struct {
	bool enabled;             /* the section is present */
	char *nats;               /* comma-separated nats:// URLs */
	char *node;               /* this node's name, unique in the cluster */
	char *stream;             /* the stream of the log; default INCIDENTD */
	int replicas;             /* the stream's replicas; default 3 */
	int64_t lease_ms;         /* the leader lease; default 2 s */
} config_cluster_t;

/* The role of a client: what it may do (ops/ops.h has the table of who may call what). */
typedef enum { ROLE_PROVIDER = 0, ROLE_OPERATOR, ROLE_VIEWER, ROLE_N_ROLES } config_role_t;

/* "provider", "operator", "viewer". */
const char *config_role_name(config_role_t role);

/*
 * [client NAME]: one key allowed to speak to the daemon (with [security] curve = true). NAME
 * is the identity recorded as `by` on what it changes.
 */
typedef struct {
	char *name;
	char *key;                /* as written: a key in Z85, or the path of a .pub key file */
	char public_key[KEYFILE_Z85_BUFSZ]; /* the key itself, in Z85 */
	config_role_t role;
	char **providers;         /* provider role: the providers it speaks for; else NULL */
	size_t n_providers;
	/* token_sha256: the SHA-256 of its HTTP bearer token (a client has a key, a token or both) */
	unsigned char token_sha256[CONFIG_TOKEN_SHA256_BYTES];
	bool has_token;
	int line;
} config_client_t;

/* [security]: who may speak. */
typedef struct {
	bool curve;               /* CURVE on both sockets, keys checked by the ZAP handler */
	char *secret_key_path;    /* the server's key pair (keygen's FILE); required with curve */
	char public_key[KEYFILE_Z85_BUFSZ]; /* read from it (with curve) */
	char secret_key[KEYFILE_Z85_BUFSZ];
	bool allow_plaintext;     /* without CURVE, also non-loopback tcp endpoints */
} config_security_t;

typedef struct config {
	/* [daemon] */
	char *data_dir;           /* default "var/incidentd" */
	char **api;               /* NULL-terminated endpoint list */
	size_t n_api;
	char **publish;           /* NULL-terminated endpoint list */
	size_t n_publish;
	size_t max_request_bytes; /* default 65536 */
	size_t map_size;          /* initial LMDB map size in bytes; default 64 MiB; grows when full */
	int64_t max_clock_skew_ms; /* an event's `at` may be this far after its arrival; default 5m */

	/* [stages] */
	char *stages[CONFIG_MAX_STAGES]; /* names in order */
	size_t n_stages;
	int resolved_stage;       /* index of the stage from which an incident counts as resolved */
	int closed_stage;         /* index of the closed stage */
	int major_stage;          /* index of "major_declared", or -1 when order has none */
	int notified_stage;       /* "the provider told the operator" (user-first); -1: none */

	config_calendar_t calendar;
	config_security_t security;
	config_http_t http;
	config_cluster_t cluster;

	config_rule_t *rules;     /* every rule, in the order of the file, whatever its kind */
	size_t n_rules;
	config_measure_t *measures; /* in the order of the file; each names a rule of rules */
	size_t n_measures;
	config_hook_t *hooks;
	size_t n_hooks;
	config_client_t *clients; /* in the order of the file; names and keys are unique */
	size_t n_clients;
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

/* Appends one line to diag (a printf format); nothing when diag is NULL or memory runs out. */
void config_diag_add(config_diag_t *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * What the parser may ask of the system, supplied by the caller so that parsing stays pure.
 * Any member may be NULL: the check is then skipped.
 */
typedef struct {
	bool (*zone_exists)(const char *name); /* the system has this time zone */
	/*
	 * Reads the key file at path into *out. With secret, the file must hold the secret key and
	 * be readable by its owner only. Returns 0, or -1 with the reason in err (errlen bytes).
	 */
	int (*read_key_file)(const char *path, bool secret, keyfile_t *out, char *err,
			     size_t errlen);
} config_env_t;

/*
 * Parses configuration text; filename is used in messages only. Keys of [daemon], [stages] and
 * [calendar] the text leaves out take the values of the built-in config/incidentd.conf; keys of
 * other sections the table's defaults (the built-in file's rules and hooks are NOT merged in: a
 * file is complete on its own). env (may be NULL) checks what parsing alone cannot. Returns a
 * new config, or NULL when there was any error, each appended to diag.
 */
config_t *config_parse(const char *text, const char *filename, const config_env_t *env,
		       config_diag_t *diag);

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

/*
 * Without CURVE, no tcp:// endpoint may listen beyond loopback (127.0.0.0/8, ::1, localhost)
 * unless [security] allow_plaintext = true: anyone who reaches it would be an anonymous
 * operator. Likewise an [http] listen beyond loopback without tls_cert (bearer tokens would
 * cross the network in clear). Returns 0, or -1 with one line in diag naming the endpoint.
 */
int config_check_plaintext(const config_t *cfg, config_diag_t *diag);

/*
 * The category [http] severity.NAME gives an Alertmanager severity label, or
 * CONFIG_HTTP_DEFAULT_CATEGORY when severity is NULL or not mapped.
 */
int config_http_category(const config_t *cfg, const char *severity);

/*
 * The client whose token_sha256 is sha (CONFIG_TOKEN_SHA256_BYTES), or NULL. Every client is
 * compared in constant time, so the time taken says nothing about which bytes matched.
 */
const config_client_t *config_client_by_token(const config_t *cfg, const unsigned char *sha);

/*
 * Compares two config texts section by section, except the [client NAME] sections (which a
 * reload applies): the sections whose keys differ, or that one text has and the other not,
 * are listed in out ("[daemon], [sla resolution]"). Comments, blank lines and spaces around
 * '=' do not count; the order of sections does not either. Returns how many differ.
 */
int config_sections_changed(const char *old_text, const char *new_text, char *out, size_t len);

/* The client named name (len bytes), or NULL. */
const config_client_t *config_client_find(const config_t *cfg, const char *name, size_t len);

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
