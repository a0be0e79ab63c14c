/*
 * Identity and roles: the daemon with CURVE on, spoken to with real CURVE sockets.
 *
 * Keys: the daemon's pair; csp-north-mon (provider for csp-north), csp-south-mon (provider for
 * csp-south), ops (operator), board (viewer), and a stranger whose key no [client] section
 * lists. Each row of the contract's role table is tried allowed and refused; a provider key
 * sees its providers' incidents only; unknown keys and plaintext clients get nothing and
 * change nothing; the publish socket admits operators and viewers only; every change records
 * who made it.
 */
#include <signal.h>
#include <sys/stat.h>
#include <zmq.h>

#include "checks.h"

/* The keys of one test's cast. */
typedef struct {
	h_keys_t north, south, ops, board, stranger;
} cast_t;

static cast_t s_cast;

/*
 * Writes the daemon's config with the given client sections (after [security]) over the
 * running one's. Returns 0 or -1.
 */
static int s_write_config(h_daemon_t *d, const char *clients)
{
	char conf[8192], server_key[H_PATH_MAX + 16];
	snprintf(server_key, sizeof server_key, "%s/server.key", d->dir);
	snprintf(conf, sizeof conf, "%s\n[security]\ncurve = true\nsecret_key = %s\n%s",
		 h_default_config, server_key, clients);
	return h_write_file(d, "incidentd.conf", conf, d->conf);
}

/* Writes the daemon's and the clients' key files and the config, and starts the daemon. */
static int setup_curve(void **state)
{
	h_daemon_t *d = h_new(NULL);
	if (!d)
		return -1;
	*state = d;
	cast_t *c = &s_cast;
	char server_key[H_PATH_MAX], north_pub[H_PATH_MAX], conf[8192];
	if (h_keys_new(&d->server) || h_keys_new(&c->north) || h_keys_new(&c->south) ||
	    h_keys_new(&c->ops) || h_keys_new(&c->board) || h_keys_new(&c->stranger) ||
	    h_write_keys(d, "server.key", &d->server, true, 0600, server_key) ||
	    h_write_keys(d, "north.pub", &c->north, false, 0644, north_pub))
		return -1;
	snprintf(conf, sizeof conf,
		 "%s\n[security]\ncurve = true\nsecret_key = %s\n"
		 "[client csp-north-mon]\nkey = %s\nrole = provider\nproviders = csp-north\n"
		 "[client csp-south-mon]\nkey = %s\nrole = provider\nproviders = csp-south\n"
		 "[client ops]\nkey = %s\nrole = operator\n"
		 "[client board]\nkey = %.40s\nrole = viewer\n",
		 h_default_config, server_key, north_pub, c->south.pub, c->ops.pub, c->board.pub);
	if (h_write_file(d, "incidentd.conf", conf, d->conf) < 0)
		return -1;
	d->as = &c->ops;
	return h_start(d);
}

/* req as the given keys (NULL: plaintext), answered within the usual timeout. */
static json_t *s_as(h_daemon_t *d, const h_keys_t *as, json_t *req)
{
	json_t *r = h_request_as(d, as, req, H_REPLY_TIMEOUT_MS);
	json_decref(req);
	return r;
}

/* An event opening provider's incident ref, detected in 2021 (its notification breaches). */
static json_t *s_open(const char *provider, const char *eid, const char *ref, const char *source)
{
	json_t *ev = h_event(provider, eid, ref, "detected");
	json_object_set_new(ev, "category", json_integer(2));
	json_object_set_new(ev, "title", json_string("comms hubs offline"));
	json_object_set_new(ev, "at", json_string("2021-01-12T03:14:00Z"));
	if (source)
		json_object_set_new(ev, "source", json_string(source));
	return ev;
}

/* The string ids under key of a list reply's rows. */
static void s_ids(const json_t *rows, const char *key, char *out, size_t len)
{
	size_t i;
	const json_t *row;
	out[0] = '\0';
	json_array_foreach(rows, i, row) {
		const char *v = json_string_value(json_object_get(row, key));
		strncat(out, v ? v : "?", len - strlen(out) - 2);
		strncat(out, " ", len - strlen(out) - 1);
	}
}

/* event: a provider for its providers as provider or monitoring; an operator for any. */
static void test_events_by_role(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	json_t *r = s_as(d, &c->north, s_open("csp-north", "n1", "N-1", "monitoring"));
	CHECK_OK(r);
	CHECK_STR(r, "incident", "INC000000000001");
	json_decref(r);
	/* Another provider's incident, in its name: forbidden, nothing stored. */
	r = s_as(d, &c->north, s_open("csp-south", "n2", "S-1", NULL));
	CHECK_ERROR(r, "forbidden", "does not speak for csp-south");
	json_decref(r);
	/* A user's call is the operator's to record, not the provider's. */
	r = s_as(d, &c->north, s_open("csp-north", "n3", "N-2", "user"));
	CHECK_ERROR(r, "forbidden", "source");
	json_decref(r);
	r = s_as(d, &c->board, s_open("csp-north", "b1", "N-3", NULL));
	CHECK_ERROR(r, "forbidden", "viewer");
	json_decref(r);
	assert_int_equal(h_status_count(d, "incidents"), 1);
	assert_int_equal(h_status_count(d, "events"), 1);
	/* The operator records the user's call for any provider. */
	r = s_as(d, &c->ops, s_open("csp-south", "o1", "S-1", "user"));
	CHECK_OK(r);
	json_decref(r);
	assert_int_equal(h_status_count(d, "incidents"), 2);

	/* Who recorded each stage is on record, and in the event log's reply to get. */
	r = h_requestf(d, "{s:s, s:s}", "op", "get", "incident", "INC000000000001");
	CHECK_OK(r);
	json_t *entry = json_array_get(json_object_get(json_object_get(r, "incident"), "timeline"), 0);
	CHECK_STR(entry, "by", "csp-north-mon");
	json_decref(r);
	h_pass(d);
}

/* An event of provider's incident ref at a stage, as the given event id. */
static json_t *s_stage(const char *provider, const char *eid, const char *ref, const char *stage)
{
	json_t *ev = h_event(provider, eid, ref, stage);
	json_object_set_new(ev, "at", json_string("2021-01-12T05:00:00Z"));
	return ev;
}

/*
 * The attacks found in the trial, each refused with nothing stored: one provider closing
 * another's incident, recording its notification first (so that the real one would be a
 * conflict), taking over its event ids.
 */
static void test_attacks_refused(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	json_t *r = s_as(d, &c->south, s_open("csp-south", "s1", "S-1", NULL));
	CHECK_OK(r);
	json_decref(r);
	static const char *const stages[] = { "closed", "notified", "resolved" };
	for (size_t i = 0; i < 3; i++) {
		char eid[16];
		snprintf(eid, sizeof eid, "s%zu", i + 2); /* south's next event ids */
		r = s_as(d, &c->north, s_stage("csp-south", eid, "S-1", stages[i]));
		CHECK_ERROR(r, "forbidden", "does not speak for csp-south");
		json_decref(r);
	}
	assert_int_equal(h_status_count(d, "events"), 1);
	/* South's own events go through: no conflict, no duplicate, the incident still open. */
	r = s_as(d, &c->south, s_stage("csp-south", "s2", "S-1", "notified"));
	CHECK_OK(r);
	assert_true(json_is_false(json_object_get(r, "duplicate")));
	CHECK_STR(r, "status", "open");
	json_decref(r);
	r = s_as(d, &c->south, s_stage("csp-south", "s3", "S-1", "closed"));
	CHECK_OK(r);
	json_decref(r);
	h_pass(d);
}

/* Reads: a provider key sees its providers' incidents only; others see all. */
static void test_reads_are_scoped(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	json_decref(s_as(d, &c->north, s_open("csp-north", "n1", "N-1", NULL)));
	json_decref(s_as(d, &c->south, s_open("csp-south", "s1", "S-1", NULL)));
	json_decref(s_as(d, &c->south, s_open("csp-south", "s2", "S-2", NULL)));
	/* get: another provider's incident does not exist for it. */
	json_t *r = s_as(d, &c->north, json_pack("{s:s, s:s}", "op", "get", "incident",
						 "INC000000000002"));
	CHECK_ERROR(r, "not_found", "INC000000000002");
	json_decref(r);
	r = s_as(d, &c->board, json_pack("{s:s, s:s}", "op", "get", "incident", "INC000000000002"));
	CHECK_OK(r);
	json_decref(r);
	/* list and breaches: only its own. */
	char ids[256];
	r = s_as(d, &c->north, json_pack("{s:s}", "op", "list"));
	CHECK_OK(r);
	s_ids(json_object_get(r, "incidents"), "id", ids, sizeof ids);
	assert_string_equal(ids, "INC000000000001 ");
	json_decref(r);
	r = s_as(d, &c->board, json_pack("{s:s}", "op", "list"));
	s_ids(json_object_get(r, "incidents"), "id", ids, sizeof ids);
	assert_string_equal(ids, "INC000000000003 INC000000000002 INC000000000001 ");
	json_decref(r);
	r = s_as(d, &c->south, json_pack("{s:s}", "op", "breaches"));
	CHECK_OK(r);
	s_ids(json_object_get(r, "breaches"), "incident", ids, sizeof ids);
	assert_string_equal(ids, "INC000000000002 INC000000000003 ");
	json_decref(r);
	/* report: its providers alone. */
	r = s_as(d, &c->north, json_pack("{s:s, s:s}", "op", "report", "month", "2021-01"));
	CHECK_OK(r);
	s_ids(json_object_get(r, "providers"), "provider", ids, sizeof ids);
	assert_string_equal(ids, "csp-north ");
	json_decref(r);
	/* status: its own counts. */
	r = s_as(d, &c->south, json_pack("{s:s}", "op", "status"));
	CHECK_OK(r);
	CHECK_INT(r, "incidents", 2);
	CHECK_INT(r, "open", 2);
	CHECK_INT(r, "events", 2);
	CHECK_INT(r, "breaches", 2);
	json_decref(r);
	assert_int_equal(h_status_count(d, "incidents"), 3);
	h_pass(d);
}

/* Problem records are the operator's; a viewer reads them; a provider neither. */
static void test_problems_by_role(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	json_decref(s_as(d, &c->north, s_open("csp-north", "n1", "N-1", NULL)));
	json_t *r = s_as(d, &c->north, json_pack("{s:s, s:s}", "op", "problem.create", "title", "x"));
	CHECK_ERROR(r, "forbidden", "provider");
	json_decref(r);
	r = s_as(d, &c->board, json_pack("{s:s, s:s}", "op", "problem.create", "title", "x"));
	CHECK_ERROR(r, "forbidden", "viewer");
	json_decref(r);
	r = s_as(d, &c->ops, json_pack("{s:s, s:s}", "op", "problem.create", "title", "routing"));
	CHECK_OK(r);
	CHECK_STR(r, "problem", "PBI000000000001");
	json_decref(r);
	static const char *const writes[] = { "problem.link", "problem.unlink" };
	for (size_t i = 0; i < 2; i++) {
		r = s_as(d, &c->board, json_pack("{s:s, s:s, s:s}", "op", writes[i], "problem",
						  "PBI000000000001", "incident", "INC000000000001"));
		CHECK_ERROR(r, "forbidden", "viewer");
		json_decref(r);
	}
	r = s_as(d, &c->north, json_pack("{s:s, s:s, s:s}", "op", "problem.update", "problem",
					 "PBI000000000001", "status", "closed"));
	CHECK_ERROR(r, "forbidden", NULL);
	json_decref(r);
	r = s_as(d, &c->ops, json_pack("{s:s, s:s, s:s}", "op", "problem.link", "problem",
				       "PBI000000000001", "incident", "INC000000000001"));
	CHECK_OK(r);
	json_decref(r);
	r = s_as(d, &c->north, json_pack("{s:s, s:s}", "op", "problem.get", "problem", "PBI000000000001"));
	CHECK_ERROR(r, "forbidden", NULL);
	json_decref(r);
	r = s_as(d, &c->north, json_pack("{s:s}", "op", "problem.list"));
	CHECK_ERROR(r, "forbidden", NULL);
	json_decref(r);
	r = s_as(d, &c->board, json_pack("{s:s, s:s}", "op", "problem.get", "problem", "PBI000000000001"));
	CHECK_OK(r);
	json_t *p = json_object_get(r, "problem");
	CHECK_STR(p, "created_by", "ops");
	CHECK_STR(p, "updated_by", "ops");
	json_decref(r);
	h_pass(d);
}

/* Unknown keys and plaintext clients get nothing, and change nothing. */
static void test_unknown_and_plaintext_get_nothing(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	json_t *r = s_as(d, &c->stranger, s_open("csp-north", "x1", "X-1", NULL));
	assert_null(r);
	r = s_as(d, NULL, s_open("csp-north", "x2", "X-2", NULL));
	assert_null(r);
	r = s_as(d, &c->stranger, json_pack("{s:s}", "op", "status"));
	assert_null(r);
	assert_int_equal(h_status_count(d, "events"), 0);
	assert_int_equal(h_status_count(d, "incidents"), 0);
	h_pass(d);
}

/* Subscribers: operators and viewers; a provider key's SUB gets nothing. */
static void test_publish_admission(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	void *ops = h_sub_as(d, &c->ops), *board = h_sub_as(d, &c->board);
	void *north = h_sub_as(d, &c->north);
	assert_int_equal(h_sub_sync(d, ops), 0);
	assert_int_equal(h_sub_sync(d, board), 0);
	json_t *r = s_as(d, &c->north, s_open("csp-north", "n1", "N-1", NULL));
	CHECK_OK(r);
	const char *inc = json_string_value(json_object_get(r, "incident"));
	void *subs[] = { ops, board };
	for (size_t i = 0; i < 2; i++) {
		json_t *m = h_sub_wait(subs[i], "incident.opened", inc, 3000, NULL);
		if (m == NULL)
			fail_msg("the %s subscriber did not get incident.opened of %s",
				 i ? "viewer" : "operator", inc);
		CHECK_STR(m, "provider", "csp-north");
		json_decref(m);
	}
	json_decref(r);
	char *topic = NULL;
	json_t *body = NULL;
	assert_int_equal(h_sub_recv(north, 500, &topic, &body), -1);
	h_close(d, ops);
	h_close(d, board);
	h_close(d, north);
	h_pass(d);
}

/* The [client] sections of the cast, with csp-south-mon's key given as south_key. */
static void s_clients_text(char *out, size_t len, const char *south_key, bool with_north,
			   bool with_board, const char *extra)
{
	cast_t *c = &s_cast;
	char north[256] = "", board[256] = "";
	if (with_north)
		snprintf(north, sizeof north, "[client csp-north-mon]\nkey = %.40s\nrole = provider\n"
			 "providers = csp-north\n", c->north.pub);
	if (with_board)
		snprintf(board, sizeof board, "[client board]\nkey = %.40s\nrole = viewer\n",
			 c->board.pub);
	snprintf(out, len, "%s[client csp-south-mon]\nkey = %s\nrole = provider\n"
		 "providers = csp-south\n[client ops]\nkey = %s\nrole = operator\n%s%s",
		 north, south_key, c->ops.pub, board, extra);
}

/* Sends SIGHUP and waits for the reload's line in the log (the n-th such line). */
static void s_reload(h_daemon_t *d, const char *line, int n)
{
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	for (int64_t until = h_mono_ms() + 5000; h_log_count(d, line) < n;) {
		if (h_mono_ms() > until)
			fail_msg("no \"%s\" (number %d) in the log after SIGHUP", line, n);
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
}

/* One request on an open socket; the reply, or NULL within 2 s. */
static json_t *s_on(void *sock, const char *op)
{
	char req[64];
	int len = snprintf(req, sizeof req, "{\"op\":\"%s\"}", op);
	if (zmq_send(sock, req, (size_t)len, 0) < 0)
		return NULL;
	zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
	if (zmq_poll(&item, 1, 2000) != 1)
		return NULL;
	char buf[4096];
	int n = zmq_recv(sock, buf, sizeof buf - 1, 0);
	if (n < 0)
		return NULL;
	buf[n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 1] = '\0';
	return json_loads(buf, 0, NULL);
}

/*
 * SIGHUP adds a provider, rotates a key and revokes one, with no restart: the revoked and the
 * rotated-away keys are refused, also on connections opened before; the others' connections
 * go on untouched.
 */
static void test_reload_adds_rotates_revokes(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	h_keys_t south2, east;
	assert_int_equal(h_keys_new(&south2), 0);
	assert_int_equal(h_keys_new(&east), 0);
	void *north = h_socket_as(d, ZMQ_DEALER, &c->north);
	void *south = h_socket_as(d, ZMQ_DEALER, &c->south);
	void *ops = h_socket_as(d, ZMQ_DEALER, &c->ops);
	json_t *r;
	void *opened[] = { north, south, ops };
	for (size_t i = 0; i < 3; i++) {
		r = s_on(opened[i], "status");
		CHECK_OK(r);
		json_decref(r);
	}
	char clients[2048], extra[256];
	snprintf(extra, sizeof extra, "[client csp-east-mon]\nkey = %s\nrole = provider\n"
		 "providers = csp-east\n", east.pub);
	s_clients_text(clients, sizeof clients, south2.pub, false, true, extra);
	assert_int_equal(s_write_config(d, clients), 0);
	s_reload(d, "reload: 4 client(s); added: csp-east-mon; removed: csp-north-mon; changed: "
		    "csp-south-mon", 1);
	/* Revoked and rotated: their open connections are refused at the next request. */
	r = s_on(north, "status");
	CHECK_ERROR(r, "forbidden", "no longer allowed");
	json_decref(r);
	r = s_on(south, "status");
	CHECK_ERROR(r, "forbidden", "no longer allowed");
	json_decref(r);
	/* New connections with the old keys get nothing at all. */
	assert_null(s_as(d, &c->north, json_pack("{s:s}", "op", "status")));
	assert_null(s_as(d, &c->south, json_pack("{s:s}", "op", "status")));
	/* The operator's connection was never dropped. */
	r = s_on(ops, "status");
	CHECK_OK(r);
	json_decref(r);
	/* The new and the rotated keys speak for their providers. */
	r = s_as(d, &east, s_open("csp-east", "e1", "E-1", NULL));
	CHECK_OK(r);
	json_decref(r);
	r = s_as(d, &south2, s_open("csp-south", "s1", "S-1", NULL));
	CHECK_OK(r);
	json_decref(r);
	r = s_as(d, &east, s_open("csp-south", "e2", "S-2", NULL));
	CHECK_ERROR(r, "forbidden", "does not speak for csp-south");
	json_decref(r);
	h_close(d, north);
	h_close(d, south);
	h_close(d, ops);
	h_pass(d);
}

/* A reloaded file with errors keeps the running set, and says where the errors are. */
static void test_bad_reload_keeps_running_set(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	char clients[2048];
	s_clients_text(clients, sizeof clients, c->south.pub, true, true,
		       "[client oops]\nkey = nonsense\nrole = operator\n");
	assert_int_equal(s_write_config(d, clients), 0);
	s_reload(d, "the running clients stay as they were", 1);
	char where[2 * H_PATH_MAX];
	snprintf(where, sizeof where, "reload: %s:", d->conf);
	assert_true(h_log_count(d, where) >= 1);
	json_t *r = s_as(d, &c->north, s_open("csp-north", "n1", "N-1", NULL));
	CHECK_OK(r);
	json_decref(r);
	/* Other sections need a restart: said, not applied. */
	s_clients_text(clients, sizeof clients, c->south.pub, true, true,
		       "[sla extra]\nstart = detected\nstop = notified\ncategory.1 = 1m\n");
	assert_int_equal(s_write_config(d, clients), 0);
	s_reload(d, "[sla extra] changed in", 1);
	h_pass(d);
}

/*
 * A reload that removes a viewer's key ends its subscription (the publish socket is bound
 * anew); the operator's subscriber reconnects and gets messages again.
 */
static void test_reload_ends_removed_subscription(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	void *ops = h_sub_as(d, &c->ops), *board = h_sub_as(d, &c->board);
	assert_int_equal(h_sub_sync(d, ops), 0);
	assert_int_equal(h_sub_sync(d, board), 0);
	char clients[2048];
	s_clients_text(clients, sizeof clients, c->south.pub, true, false, "");
	assert_int_equal(s_write_config(d, clients), 0);
	s_reload(d, "reload: publish socket bound anew", 1);
	/*
	 * The operator's SUB reconnects by itself: it sees messages again. (What it had queued
	 * before, the viewer's warm-up among them, is dropped first: not proof of anything.)
	 */
	char *topic;
	json_t *body;
	while (h_sub_recv(ops, 300, &topic, &body) == 0) {
		free(topic);
		json_decref(body);
	}
	assert_int_equal(h_sub_sync(d, ops), 0);
	json_t *r = s_as(d, &c->north, s_open("csp-north", "n1", "N-1", NULL));
	CHECK_OK(r);
	const char *inc = json_string_value(json_object_get(r, "incident"));
	json_t *m = h_sub_wait(ops, "incident.opened", inc, 3000, NULL);
	assert_non_null(m);
	json_decref(m);
	/* The removed viewer's does not: its key is refused at the new handshake. */
	assert_null(h_sub_wait(board, "incident.opened", inc, 1000, NULL));
	json_decref(r);
	h_close(d, ops);
	h_close(d, board);
	h_pass(d);
}

/*
 * incidentctl end to end: a pair made by keygen, admitted through its .pub in the config,
 * speaks CURVE to the real daemon; show names who recorded each stage; a key the daemon does
 * not know is told at once.
 */
static void test_incidentctl_with_keys(void **state)
{
	h_daemon_t *d = *state;
	cast_t *c = &s_cast;
	char key[H_PATH_MAX + 16], pub[H_PATH_MAX + 16], server[64], clients[4096], extra[512];
	snprintf(key, sizeof key, "%s/desk.key", d->dir);
	snprintf(pub, sizeof pub, "%s/desk.key.pub", d->dir);
	snprintf(server, sizeof server, "%.40s", d->server.pub);
	char *keygen[] = {(char *)INCIDENTCTL_BIN, "keygen", key, NULL};
	h_run_t r;
	assert_int_equal(h_run(d->dir, keygen, NULL, 10000, &r), 0);
	assert_int_equal(r.status, 0);
	h_run_clear(&r);
	snprintf(extra, sizeof extra, "[client desk]\nkey = %s\nrole = operator\n", pub);
	s_clients_text(clients, sizeof clients, c->south.pub, true, true, extra);
	assert_int_equal(s_write_config(d, clients), 0);
	s_reload(d, "added: desk", 1);

	char *push[] = {(char *)INCIDENTCTL_BIN, "-e", d->api, "--key", key, "--server-key", server,
			"push", "--provider", "csp-north", "--event-id", "d1", "--ref", "N-9",
			"--stage", "detected", "--category", "2", "--title", "call from a user",
			"--source", "user", NULL};
	assert_int_equal(h_run(d->dir, push, NULL, 10000, &r), 0);
	if (r.status != 0)
		fail_msg("push with keys: exit %d: %s", r.status, r.err);
	h_run_clear(&r);
	char *show[] = {(char *)INCIDENTCTL_BIN, "-e", d->api, "--key", key, "--server-key", server,
			"show", "INC000000000001", NULL};
	assert_int_equal(h_run(d->dir, show, NULL, 10000, &r), 0);
	assert_int_equal(r.status, 0);
	if (strstr(r.out, "BY") == NULL || strstr(r.out, "desk") == NULL)
		fail_msg("show should name who recorded the stage: %s", r.out);
	h_run_clear(&r);

	/* A key no [client] section lists: said at once, exit 1. */
	char stranger[H_PATH_MAX];
	assert_int_equal(h_write_keys(d, "stranger.key", &c->stranger, true, 0600, stranger), 0);
	char *status[] = {(char *)INCIDENTCTL_BIN, "-e", d->api, "--timeout", "10000", "--key",
			  stranger, "--server-key", server, "status", NULL};
	assert_int_equal(h_run(d->dir, status, NULL, 15000, &r), 0);
	assert_int_equal(r.status, 1);
	if (strstr(r.err, "the daemon refused this key") == NULL || r.elapsed_ms > 3000)
		fail_msg("refused key: after %ld ms: %s", r.elapsed_ms, r.err);
	h_run_clear(&r);
	h_pass(d);
}

/* A secret key file others can read stops the start, naming the file. */
static void test_secret_key_mode(void **state)
{
	h_daemon_t *d = *state;
	assert_int_equal(h_stop(d), 0);
	char path[H_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/server.key", d->dir);
	assert_int_equal(chmod(path, 0640), 0);
	char *argv[] = {(char *)INCIDENTD_BIN, "-c", d->conf, "--check-config", NULL};
	h_run_t r;
	assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
	assert_int_equal(r.status, 1);
	if (strstr(r.out, "is readable by group or others (mode 640)") == NULL)
		fail_msg("--check-config should say why: %s", r.out);
	h_run_clear(&r);
	assert_int_equal(h_start(d), -1);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(h_start(d), 0);
	h_pass(d);
}

#define CURVE_TEST(f) cmocka_unit_test_setup_teardown(f, setup_curve, teardown_daemon)

int main(void)
{
	const struct CMUnitTest tests[] = {
		CURVE_TEST(test_events_by_role),
		CURVE_TEST(test_attacks_refused),
		CURVE_TEST(test_reads_are_scoped),
		CURVE_TEST(test_problems_by_role),
		CURVE_TEST(test_unknown_and_plaintext_get_nothing),
		CURVE_TEST(test_publish_admission),
		CURVE_TEST(test_secret_key_mode),
		CURVE_TEST(test_reload_adds_rotates_revokes),
		CURVE_TEST(test_bad_reload_keeps_running_set),
		CURVE_TEST(test_reload_ends_removed_subscription),
		CURVE_TEST(test_incidentctl_with_keys),
	};
	return cmocka_run_group_tests_name("integration/curve", tests, NULL, NULL);
}
