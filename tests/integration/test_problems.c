/*
 * Problem records: create, link, unlink, update, get, list, their errors, problem.linked, the
 * records across a restart, a problem rule's deadline breach (and what stops it), and the
 * `incidentctl problem` commands.
 */
#include "checks.h"

#define P1 "PBI000000000001"
#define P2 "PBI000000000002"
#define P3 "PBI000000000003"

/*
 * The defaults plus problem rules with 2-second windows: needs_problem for major incidents from
 * detection, notice_needs_problem for category 5 from notification.
 */
static int setup_problem_rule(void **state)
{
	char conf[4096];
	snprintf(conf, sizeof conf,
		 "%s\n[problem_rule needs_problem]\napplies = major\nstart = detected\n"
		 "within = 2s\n\n[problem_rule notice_needs_problem]\napplies = category.5\n"
		 "start = notified\nwithin = 2s\n",
		 h_default_config);
	return setup_daemon_with(state, conf);
}

#define PR_TEST(f) cmocka_unit_test_setup_teardown(f, setup_problem_rule, teardown_daemon)

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* Opens an incident of provider/ref at arrival time (category, major). */
static void s_open(h_daemon_t *d, const char *provider, const char *ref, int category,
		   bool major, char id[32])
{
	json_t *ev = h_event(provider, ref, ref, "detected");
	json_object_set_new(ev, "category", json_integer(category));
	json_object_set_new(ev, "title", json_string(ref));
	if (major)
		json_object_set_new(ev, "major", json_true());
	PUSH_OK(d, ev, id);
}

/* problem.create with title (and description when not NULL); returns the reply. */
static json_t *s_create(h_daemon_t *d, const char *title, const char *description)
{
	json_t *req = json_pack("{s:s, s:s}", "op", "problem.create", "title", title);
	if (description != NULL)
		json_object_set_new(req, "description", json_string(description));
	json_t *r = h_request(d, req);
	json_decref(req);
	return r;
}

static json_t *s_link(h_daemon_t *d, const char *op, const char *problem, const char *incident)
{
	return h_requestf(d, "{s:s, s:s, s:s}", "op", op, "problem", problem, "incident",
			  incident);
}

/* Expects op (problem.link/unlink) of the pair to succeed, naming both. */
#define LINK_OK(d, op, p, i) link_ok_((d), (op), (p), (i), __FILE__, __LINE__)
static void link_ok_(h_daemon_t *d, const char *op, const char *p, const char *i,
		     const char *file, int line)
{
	json_t *r = s_link(d, op, p, i);
	check_ok_(r, file, line);
	check_str_(r, "problem", p, file, line);
	check_str_(r, "incident", i, file, line);
	json_decref(r);
}

/* The "problem" record of a problem.get reply (new reference); fails unless it succeeds. */
#define GET_PROBLEM(d, id) get_problem_((d), (id), __FILE__, __LINE__)
static json_t *get_problem_(h_daemon_t *d, const char *id, const char *file, int line)
{
	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "problem.get", "problem", id);
	check_ok_(r, file, line);
	json_t *p = json_object_get(r, "problem");
	if (!json_is_object(p))
		check_fail_(file, line, r, "expected \"problem\": {...} in the problem.get reply");
	check_str_(p, "id", id, file, line);
	json_incref(p);
	json_decref(r);
	return p;
}

/* The "problems" of problem.list (with status when not NULL); new reference. */
static json_t *s_problem_list(h_daemon_t *d, const char *status)
{
	json_t *req = json_pack("{s:s}", "op", "problem.list");
	if (status != NULL)
		json_object_set_new(req, "status", json_string(status));
	json_t *r = h_request(d, req);
	json_decref(req);
	CHECK_OK(r);
	CHECK_ARRAY(r, "problems");
	json_t *list = json_incref(json_object_get(r, "problems"));
	json_decref(r);
	return list;
}

/* The ids (field "id" of objects, or the strings themselves) of arr, comma-separated. */
static void s_ids(const json_t *arr, char *out, size_t cap)
{
	out[0] = '\0';
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *id = json_is_string(v) ? json_string_value(v)
						   : json_string_value(json_object_get(v, "id"));
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", i > 0 ? "," : "", id != NULL ? id : "?");
	}
}

#define CHECK_IDS(arr, expected) check_ids_((arr), (expected), __FILE__, __LINE__)
static void check_ids_(const json_t *arr, const char *expected, const char *file, int line)
{
	char got[1024];
	if (!json_is_array(arr))
		check_fail_(file, line, arr, "expected an array");
	s_ids(arr, got, sizeof got);
	if (strcmp(got, expected) != 0) {
		char what[1200];
		snprintf(what, sizeof what, "expected the ids [%s], got [%s]", expected, got);
		check_fail_(file, line, arr, what);
	}
}

/* The ids of list {problem: p, status: all}. */
static json_t *s_list_by_problem(h_daemon_t *d, const char *p)
{
	json_t *r = h_requestf(d, "{s:s, s:s, s:s}", "op", "list", "problem", p, "status", "all");
	CHECK_OK(r);
	CHECK_ARRAY(r, "incidents");
	json_t *list = json_incref(json_object_get(r, "incidents"));
	json_decref(r);
	return list;
}

/* The incident summary with id in a problem record's incidents, or NULL. */
static json_t *s_row(const json_t *problem, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(problem, "incidents"), i, v)
	{
		const char *x = json_string_value(json_object_get(v, "id"));
		if (x != NULL && strcmp(x, id) == 0)
			return v;
	}
	return NULL;
}

/*
 * The whole life of two records: create, link (twice the same pair), get, list by problem,
 * conflicts, unlink, relink elsewhere, updates (including reopening), list by status, the
 * status count; then everything is identical after a restart, and ids continue.
 */
static void test_records_and_links(void **state)
{
	h_daemon_t *d = *state;
	char i1[32], i2[32], i3[32];
	s_open(d, "acme", "A1", 2, false, i1);
	s_open(d, "acme", "A2", 3, false, i2);
	s_open(d, "other", "B1", 4, false, i3);
	json_t *r = PUSH(d, h_event("acme", "A2-res", "A2", "resolved"));
	CHECK_OK(r);
	json_decref(r);

	/* Ids in order from 1. */
	r = s_create(d, "Routing bug delays failover", "failover took 40 minutes");
	CHECK_OK(r);
	CHECK_STR(r, "problem", P1);
	json_decref(r);
	r = s_create(d, "Second problem", NULL);
	CHECK_OK(r);
	CHECK_STR(r, "problem", P2);
	json_decref(r);
	assert_int_equal(STATUS_COUNT(d, "problems"), 2);

	/* A fresh record. */
	json_t *p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "title", "Routing bug delays failover");
	CHECK_STR(p, "description", "failover took 40 minutes");
	CHECK_STR(p, "status", "open");
	CHECK_NULL(p, "root_cause");
	CHECK_NULL(p, "workaround");
	int64_t created = h_parse_utc_ms(json_string_value(json_object_get(p, "created_at")));
	if (created < 0 || llabs((long long)(created - h_now_ms())) > 60000)
		check_fail_(__FILE__, __LINE__, p, "created_at: a UTC ms time of about now");
	if (h_parse_utc_ms(json_string_value(json_object_get(p, "updated_at"))) < created)
		check_fail_(__FILE__, __LINE__, p, "updated_at: a UTC ms time, not before created_at");
	CHECK_IDS(json_object_get(p, "incidents"), "");
	json_decref(p);

	/* Link two incidents; the same pair again is answered and changes nothing. */
	LINK_OK(d, "problem.link", P1, i1);
	LINK_OK(d, "problem.link", P1, i2);
	LINK_OK(d, "problem.link", P1, i1);

	json_t *inc = GET_INCIDENT(d, i1);
	CHECK_STR(inc, "problem", P1);
	json_decref(inc);
	inc = GET_INCIDENT(d, i2);
	CHECK_STR(inc, "problem", P1);
	json_decref(inc);
	inc = GET_INCIDENT(d, i3);
	CHECK_NULL(inc, "problem");
	json_decref(inc);

	/* list filtered by problem: newest first; the summaries name the problem. */
	json_t *list = s_list_by_problem(d, P1);
	char expect[128];
	snprintf(expect, sizeof expect, "%s,%s", i2, i1);
	CHECK_IDS(list, expect);
	CHECK_STR(json_array_get(list, 0), "problem", P1);
	json_decref(list);
	list = s_list_by_problem(d, P2);
	CHECK_IDS(list, "");
	json_decref(list);

	/* problem.get lists the incidents with their status, once each. */
	p = GET_PROBLEM(d, P1);
	json_t *rows = json_object_get(p, "incidents");
	if (json_array_size(rows) != 2)
		check_fail_(__FILE__, __LINE__, p, "two linked incidents (the relink added none)");
	json_t *row = s_row(p, i1);
	if (row == NULL)
		check_fail_(__FILE__, __LINE__, p, "the first incident is listed");
	CHECK_STR(row, "status", "open");
	CHECK_STR(row, "provider", "acme");
	CHECK_STR(row, "ref", "A1");
	CHECK_STR(row, "title", "A1");
	CHECK_INT(row, "category", 2);
	CHECK_FALSE(row, "major");
	CHECK_STR(row, "last_stage", "detected");
	if (h_parse_utc_ms(json_string_value(json_object_get(row, "opened_at"))) < 0)
		check_fail_(__FILE__, __LINE__, row, "opened_at: a UTC ms time");
	row = s_row(p, i2);
	if (row == NULL)
		check_fail_(__FILE__, __LINE__, p, "the second incident is listed");
	CHECK_STR(row, "status", "resolved");
	CHECK_STR(row, "last_stage", "resolved");
	json_decref(p);

	/* Linking elsewhere is a conflict; unlinking a pair that is not linked too. */
	r = s_link(d, "problem.link", P2, i1);
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	r = s_link(d, "problem.unlink", P2, i1);
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	r = s_link(d, "problem.unlink", P1, i3);
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	inc = GET_INCIDENT(d, i1);
	CHECK_STR(inc, "problem", P1);
	json_decref(inc);

	/* Unlink, then the incident may go elsewhere. */
	LINK_OK(d, "problem.unlink", P1, i2);
	inc = GET_INCIDENT(d, i2);
	CHECK_NULL(inc, "problem");
	json_decref(inc);
	r = s_link(d, "problem.unlink", P1, i2);
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	p = GET_PROBLEM(d, P1);
	CHECK_IDS(json_object_get(p, "incidents"), i1);
	json_decref(p);
	LINK_OK(d, "problem.link", P2, i2);
	inc = GET_INCIDENT(d, i2);
	CHECK_STR(inc, "problem", P2);
	json_decref(inc);
	list = s_list_by_problem(d, P2);
	CHECK_IDS(list, i2);
	json_decref(list);

	/* Updates: status, root cause, workaround; then closed and reopened. */
	r = h_requestf(d, "{s:s, s:s, s:s, s:s, s:s}", "op", "problem.update", "problem", P1,
		       "status", "known_error", "root_cause", "routing table bug", "workaround",
		       "manual failover");
	CHECK_OK(r);
	CHECK_STR(r, "problem", P1);
	json_decref(r);
	p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "status", "known_error");
	CHECK_STR(p, "root_cause", "routing table bug");
	CHECK_STR(p, "workaround", "manual failover");
	CHECK_STR(p, "title", "Routing bug delays failover");
	json_decref(p);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "problem.update", "problem", P1, "status",
		       "closed");
	CHECK_OK(r);
	json_decref(r);
	p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "status", "closed");
	CHECK_STR(p, "root_cause", "routing table bug"); /* untouched by a status change */
	json_decref(p);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "problem.update", "problem", P1, "status",
		       "open");
	CHECK_OK(r);
	json_decref(r);
	p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "status", "open");
	CHECK_STR(p, "workaround", "manual failover");
	json_decref(p);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "problem.update", "problem", P2, "status",
		       "resolved");
	CHECK_OK(r);
	json_decref(r);

	/* Refused updates change nothing. */
	r = h_requestf(d, "{s:s, s:s}", "op", "problem.update", "problem", P1);
	CHECK_ERROR(r, "bad_request", NULL);
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "problem.update", "problem", P1, "status",
		       "investigating");
	CHECK_ERROR(r, "bad_request", "status");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:i}", "op", "problem.update", "problem", P1, "root_cause",
		       7);
	CHECK_ERROR(r, "bad_request", "root_cause");
	json_decref(r);
	p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "status", "open");
	CHECK_STR(p, "root_cause", "routing table bug");
	json_decref(p);

	/* problem.list: newest first, incidents as ids; by status. */
	list = s_problem_list(d, NULL);
	CHECK_IDS(list, P2 "," P1);
	CHECK_IDS(json_object_get(json_array_get(list, 0), "incidents"), i2);
	CHECK_IDS(json_object_get(json_array_get(list, 1), "incidents"), i1);
	CHECK_STR(json_array_get(list, 1), "status", "open");
	CHECK_STR(json_array_get(list, 1), "root_cause", "routing table bug");
	json_decref(list);
	list = s_problem_list(d, "resolved");
	CHECK_IDS(list, P2);
	json_decref(list);
	list = s_problem_list(d, "open");
	CHECK_IDS(list, P1);
	json_decref(list);
	list = s_problem_list(d, "known_error");
	CHECK_IDS(list, "");
	json_decref(list);
	r = h_requestf(d, "{s:s, s:s}", "op", "problem.list", "status", "bogus");
	CHECK_ERROR(r, "bad_request", "status");
	json_decref(r);
	assert_int_equal(STATUS_COUNT(d, "problems"), 2);

	/* Everything identical after a restart. */
	json_t *before = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "p1",
				   GET_PROBLEM(d, P1), "p2", GET_PROBLEM(d, P2), "all",
				   s_problem_list(d, NULL), "i1", GET_INCIDENT(d, i1), "i2",
				   GET_INCIDENT(d, i2), "i3", GET_INCIDENT(d, i3), "by_p1",
				   s_list_by_problem(d, P1));
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	json_t *after = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "p1",
				  GET_PROBLEM(d, P1), "p2", GET_PROBLEM(d, P2), "all",
				  s_problem_list(d, NULL), "i1", GET_INCIDENT(d, i1), "i2",
				  GET_INCIDENT(d, i2), "i3", GET_INCIDENT(d, i3), "by_p1",
				  s_list_by_problem(d, P1));
	/* Verdicts' remaining_ms move with the clock; compare the records without them. */
	static const char *const incs[] = {"i1", "i2", "i3"};
	for (size_t k = 0; k < 3; k++) {
		json_object_del(json_object_get(before, incs[k]), "verdicts");
		json_object_del(json_object_get(after, incs[k]), "verdicts");
	}
	if (!json_equal(before, after)) {
		char *a = h_dump(before);
		print_error("before the restart: %s\n", a);
		free(a);
		check_fail_(__FILE__, __LINE__, after, "the same records after a restart");
	}
	json_decref(before);
	json_decref(after);
	assert_int_equal(STATUS_COUNT(d, "problems"), 2);

	/* Ids continue; the restored links still refuse and allow as before. */
	r = s_create(d, "Third", NULL);
	CHECK_OK(r);
	CHECK_STR(r, "problem", P3);
	json_decref(r);
	r = s_link(d, "problem.link", P3, i1);
	CHECK_ERROR(r, "conflict", NULL);
	json_decref(r);
	LINK_OK(d, "problem.link", P3, i3);
	LINK_OK(d, "problem.unlink", P2, i2);
	h_pass(d);
}

/* Unknown ids are not_found; malformed ones bad_request naming the field; nothing stored. */
static void test_problem_errors(void **state)
{
	h_daemon_t *d = *state;
	char i1[32];
	s_open(d, "acme", "A1", 2, false, i1);
	json_t *r = s_create(d, "Only problem", NULL);
	CHECK_OK(r);
	json_decref(r);

	r = h_requestf(d, "{s:s, s:s}", "op", "problem.get", "problem", "PBI000000000099");
	CHECK_ERROR(r, "not_found", "PBI000000000099");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "problem.update", "problem", "PBI000000000099",
		       "status", "closed");
	CHECK_ERROR(r, "not_found", NULL);
	json_decref(r);
	r = s_link(d, "problem.link", "PBI000000000099", i1);
	CHECK_ERROR(r, "not_found", NULL);
	json_decref(r);
	r = s_link(d, "problem.link", P1, "INC000000000099");
	CHECK_ERROR(r, "not_found", "INC000000000099");
	json_decref(r);
	r = s_link(d, "problem.unlink", P1, "INC000000000099");
	CHECK_ERROR(r, "not_found", NULL);
	json_decref(r);
	r = s_link(d, "problem.unlink", "PBI000000000099", i1);
	CHECK_ERROR(r, "not_found", NULL);
	json_decref(r);

	/* Malformed ids and fields. */
	r = h_requestf(d, "{s:s, s:s}", "op", "problem.get", "problem", "XYZ");
	CHECK_ERROR(r, "bad_request", "problem");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "problem.get", "problem", "INC000000000001");
	CHECK_ERROR(r, "bad_request", "problem");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:i}", "op", "problem.get", "problem", 1);
	CHECK_ERROR(r, "bad_request", "problem");
	json_decref(r);
	r = h_requestf(d, "{s:s}", "op", "problem.get");
	CHECK_ERROR(r, "bad_request", "problem");
	json_decref(r);
	r = s_link(d, "problem.link", P1, "PBI000000000001");
	CHECK_ERROR(r, "bad_request", "incident");
	json_decref(r);
	r = s_link(d, "problem.link", "PBI00000000001", i1);
	CHECK_ERROR(r, "bad_request", "problem");
	json_decref(r);
	r = s_link(d, "problem.unlink", P1, "INC-1");
	CHECK_ERROR(r, "bad_request", "incident");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s}", "op", "problem.link", "problem", P1);
	CHECK_ERROR(r, "bad_request", "incident");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:s}", "op", "problem.update", "problem", "pbi1", "status",
		       "open");
	CHECK_ERROR(r, "bad_request", "problem");
	json_decref(r);
	r = h_requestf(d, "{s:s}", "op", "problem.create");
	CHECK_ERROR(r, "bad_request", "title");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:i}", "op", "problem.create", "title", 3);
	CHECK_ERROR(r, "bad_request", "title");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:b}", "op", "problem.create", "title", "T", "description",
		       1);
	CHECK_ERROR(r, "bad_request", "description");
	json_decref(r);

	/* Nothing of that was stored. */
	assert_int_equal(STATUS_COUNT(d, "problems"), 1);
	json_t *inc = GET_INCIDENT(d, i1);
	CHECK_NULL(inc, "problem");
	json_decref(inc);
	json_t *p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "status", "open");
	CHECK_IDS(json_object_get(p, "incidents"), "");
	json_decref(p);
	r = s_create(d, "Next", NULL);
	CHECK_OK(r);
	CHECK_STR(r, "problem", P2);
	json_decref(r);
	h_pass(d);
}

/* A link publishes problem.linked with seq, problem, incident, provider, ref; a relink does not. */
static void test_problem_linked_published(void **state)
{
	h_daemon_t *d = *state;
	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);
	char i1[32];
	s_open(d, "acme", "NET-77", 2, false, i1);
	json_t *opened = h_sub_wait(sub, "incident.opened", i1, 3000, NULL);
	if (opened == NULL)
		fail_msg("no incident.opened for %s", i1);
	json_int_t opened_seq = json_integer_value(json_object_get(opened, "seq"));
	json_decref(opened);
	json_t *r = s_create(d, "P", NULL);
	CHECK_OK(r);
	json_decref(r);

	LINK_OK(d, "problem.link", P1, i1);
	json_t *body = h_sub_wait(sub, "problem.linked", i1, 3000, NULL);
	if (body == NULL)
		fail_msg("no problem.linked within 3 s of a link");
	CHECK_STR(body, "problem", P1);
	CHECK_STR(body, "incident", i1);
	CHECK_STR(body, "provider", "acme");
	CHECK_STR(body, "ref", "NET-77");
	json_t *seq = json_object_get(body, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) <= opened_seq)
		check_fail_(__FILE__, __LINE__, body, "seq: greater than the incident.opened's");
	json_decref(body);

	/* The same pair again changes nothing: nothing published. */
	LINK_OK(d, "problem.link", P1, i1);
	body = h_sub_wait(sub, "problem.linked", NULL, 700, NULL);
	if (body != NULL)
		check_fail_(__FILE__, __LINE__, body, "no problem.linked for a link that changed nothing");

	/* Unlink and link again: a new link, published again. */
	LINK_OK(d, "problem.unlink", P1, i1);
	LINK_OK(d, "problem.link", P1, i1);
	body = h_sub_wait(sub, "problem.linked", i1, 3000, NULL);
	if (body == NULL)
		fail_msg("no problem.linked for the link after an unlink");
	CHECK_STR(body, "problem", P1);
	json_decref(body);
	h_close(d, sub);
	h_pass(d);
}

/* The breaches of a rule (new reference to the array). */
static json_t *s_breaches_of(h_daemon_t *d, const char *rule)
{
	json_t *r = h_requestf(d, "{s:s, s:s}", "op", "breaches", "sla", rule);
	CHECK_OK(r);
	CHECK_ARRAY(r, "breaches");
	json_t *list = json_incref(json_object_get(r, "breaches"));
	json_decref(r);
	return list;
}

static json_t *s_rule_breaches(h_daemon_t *d)
{
	return s_breaches_of(d, "needs_problem");
}

/* The reported time of an incident's detected stage, in ms. */
static int64_t s_detected_at(h_daemon_t *d, const char *id)
{
	json_t *inc = GET_INCIDENT(d, id);
	json_t *tl = json_object_get(inc, "timeline");
	int64_t at = -1;
	size_t i;
	json_t *e;
	json_array_foreach(tl, i, e)
	{
		const char *stage = json_string_value(json_object_get(e, "stage"));
		if (stage != NULL && strcmp(stage, "detected") == 0)
			at = h_parse_utc_ms(json_string_value(json_object_get(e, "at")));
	}
	if (at < 0)
		check_fail_(__FILE__, __LINE__, inc, "a detected stage with its time");
	json_decref(inc);
	return at;
}

/* The verdict word of rule in an incident's get. */
static void s_expect_verdict(h_daemon_t *d, const char *id, const char *rule, const char *word)
{
	json_t *inc = GET_INCIDENT(d, id);
	json_t *v = json_object_get(json_object_get(inc, "verdicts"), rule);
	const char *got = json_string_value(json_object_get(v, "verdict"));
	if (got == NULL || strcmp(got, word) != 0) {
		char what[128];
		snprintf(what, sizeof what, "verdicts.%s.verdict: \"%s\"", rule, word);
		check_fail_(__FILE__, __LINE__, inc, what);
	}
	json_decref(inc);
}

/*
 * Problem rule (major, detected, 2 s): an unlinked major incident is flagged within a second
 * after its deadline and not before; one linked in time is not, even when unlinked before its
 * deadline (the rule stopped at the first link); neither is a minor incident.
 */
static void test_problem_rule_deadline(void **state)
{
	h_daemon_t *d = *state;
	void *sub = h_sub(d);
	assert_non_null(sub);
	assert_int_equal(h_sub_sync(d, sub), 0);
	json_t *r = s_create(d, "Failover", NULL);
	CHECK_OK(r);
	json_decref(r);

	char late[32], linked[32], unlinked[32], minor[32];
	s_open(d, "acme", "MAJ-LATE", 2, true, late);
	s_open(d, "acme", "MAJ-LINKED", 2, true, linked);
	s_open(d, "acme", "MAJ-UNLINKED", 2, true, unlinked);
	s_open(d, "acme", "MINOR", 2, false, minor);
	int64_t due = s_detected_at(d, late) + 2000;
	int64_t due_unlinked = s_detected_at(d, unlinked) + 2000;

	/* Linked well within the window; one of them unlinked again before its deadline. */
	LINK_OK(d, "problem.link", P1, linked);
	LINK_OK(d, "problem.link", P1, unlinked);
	LINK_OK(d, "problem.unlink", P1, unlinked);
	if (h_now_ms() > due - 1000)
		fail_msg("the links took too long to be within 1 s of detection");
	s_expect_verdict(d, late, "needs_problem", "pending");
	s_expect_verdict(d, linked, "needs_problem", "met");

	/* Nothing before the deadline. */
	while (h_now_ms() < due - 300)
		s_sleep_ms(20);
	json_t *list = s_rule_breaches(d);
	if (json_array_size(list) != 0)
		check_fail_(__FILE__, __LINE__, list, "no needs_problem breach before the deadline");
	json_decref(list);

	/* The breach within a second of the deadline, not before. */
	int64_t seen_at;
	json_t *body = h_sub_wait(sub, "breach.needs_problem", NULL, 3000, &seen_at);
	if (body == NULL)
		fail_msg("no breach.needs_problem within about 2.3 s of the 2 s deadline");
	CHECK_STR(body, "incident", late);
	CHECK_STR(body, "sla", "needs_problem");
	CHECK_STR(body, "detected", "deadline");
	CHECK_STR(body, "provider", "acme");
	int64_t body_due = h_parse_utc_ms(json_string_value(json_object_get(body, "due")));
	if (body_due != due)
		check_fail_(__FILE__, __LINE__, body, "due: detected + 2 s");
	if (seen_at < due - 20)
		fail_msg("breach published %lld ms before its deadline", (long long)(due - seen_at));
	if (seen_at > due + 1000)
		fail_msg("breach published %lld ms after its deadline", (long long)(seen_at - due));
	json_decref(body);

	/* Past the other deadlines: still only the one breach. */
	while (h_now_ms() < due_unlinked + 1300)
		s_sleep_ms(50);
	body = h_sub_wait(sub, "breach.needs_problem", NULL, 200, NULL);
	if (body != NULL)
		check_fail_(__FILE__, __LINE__, body, "only one breach.needs_problem");
	list = s_rule_breaches(d);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "exactly one needs_problem breach");
	CHECK_STR(json_array_get(list, 0), "incident", late);
	CHECK_STR(json_array_get(list, 0), "detected", "deadline");
	json_decref(list);
	s_expect_verdict(d, late, "needs_problem", "breached");
	s_expect_verdict(d, linked, "needs_problem", "met");
	s_expect_verdict(d, unlinked, "needs_problem", "met");
	json_t *inc = GET_INCIDENT(d, minor);
	if (json_object_get(json_object_get(inc, "verdicts"), "needs_problem") != NULL)
		check_fail_(__FILE__, __LINE__, inc, "no needs_problem verdict for a minor incident");
	json_decref(inc);

	/* Unlinking the linked one after its deadline raises nothing either. */
	LINK_OK(d, "problem.unlink", P1, linked);
	s_sleep_ms(1200);
	list = s_rule_breaches(d);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "still one breach after a late unlink");
	json_decref(list);

	/* A late link of the breached one: no second breach. And after a restart, the same. */
	LINK_OK(d, "problem.link", P1, late);
	assert_int_equal(h_stop(d), 0);
	assert_int_equal(h_start(d), 0);
	s_sleep_ms(1000);
	list = s_rule_breaches(d);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "still one breach after a restart");
	json_decref(list);
	h_close(d, sub);
	h_pass(d);
}

/*
 * A link made before the rule's start stage arrives stops the rule (no breach); without a link
 * the clock runs from the start stage; an incident that becomes major later starts the major
 * rule from its detection.
 */
static void test_problem_rule_start(void **state)
{
	h_daemon_t *d = *state;
	json_t *r = s_create(d, "Early", NULL);
	CHECK_OK(r);
	json_decref(r);
	char early[32], nolink[32], later[32];
	s_open(d, "acme", "EARLY", 5, false, early);
	LINK_OK(d, "problem.link", P1, early);
	r = PUSH(d, h_event("acme", "EARLY-n", "EARLY", "notified"));
	CHECK_OK(r);
	json_decref(r);
	s_open(d, "acme", "NOLINK", 5, false, nolink);
	r = PUSH(d, h_event("acme", "NOLINK-n", "NOLINK", "notified"));
	CHECK_OK(r);
	json_decref(r);
	s_open(d, "acme", "LATER", 2, false, later);
	int64_t later_due = s_detected_at(d, later) + 2000;
	r = PUSH(d, h_event("acme", "LATER-m", "LATER", "major_declared"));
	CHECK_OK(r);
	json_decref(r);
	json_t *inc = GET_INCIDENT(d, later);
	CHECK_TRUE(inc, "major");
	json_decref(inc);
	s_expect_verdict(d, early, "notice_needs_problem", "met");
	s_expect_verdict(d, nolink, "notice_needs_problem", "pending");
	s_expect_verdict(d, later, "needs_problem", "pending");

	while (h_now_ms() < later_due + 1300)
		s_sleep_ms(50);
	json_t *list = s_breaches_of(d, "notice_needs_problem");
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "one notice_needs_problem breach (unlinked only)");
	CHECK_STR(json_array_get(list, 0), "incident", nolink);
	CHECK_STR(json_array_get(list, 0), "detected", "deadline");
	json_decref(list);
	list = s_rule_breaches(d);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "one needs_problem breach (became major)");
	json_t *b = json_array_get(list, 0);
	CHECK_STR(b, "incident", later);
	CHECK_STR(b, "detected", "deadline");
	if (h_parse_utc_ms(json_string_value(json_object_get(b, "due"))) != later_due)
		check_fail_(__FILE__, __LINE__, b, "due: its detection + 2 s");
	json_decref(list);
	s_expect_verdict(d, early, "notice_needs_problem", "met");
	s_expect_verdict(d, nolink, "notice_needs_problem", "breached");
	h_pass(d);
}

/* A major incident detected long ago breaches the problem rule on arrival. */
static void test_problem_rule_on_arrival(void **state)
{
	h_daemon_t *d = *state;
	char at[32];
	utc_ms_format(h_now_ms() - 3600 * 1000, at);
	json_t *ev = h_event("acme", "old", "OLD", "detected");
	json_object_set_new(ev, "category", json_integer(5));
	json_object_set_new(ev, "title", json_string("old"));
	json_object_set_new(ev, "major", json_true());
	json_object_set_new(ev, "at", json_string(at));
	json_t *r = PUSH(d, ev);
	CHECK_OK(r);
	const char *id = json_string_value(json_object_get(r, "incident"));
	assert_non_null(id);
	json_t *found = NULL;
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(r, "breaches"), i, b)
	{
		const char *sla = json_string_value(json_object_get(b, "sla"));
		if (sla != NULL && strcmp(sla, "needs_problem") == 0)
			found = b;
	}
	if (found == NULL)
		check_fail_(__FILE__, __LINE__, r, "the reply lists a needs_problem breach");
	CHECK_STR(found, "detected", "on_arrival");
	CHECK_STR(found, "incident", id);
	json_t *list = s_rule_breaches(d);
	if (json_array_size(list) != 1)
		check_fail_(__FILE__, __LINE__, list, "one needs_problem breach");
	json_decref(list);
	json_decref(r);
	h_pass(d);
}

/* incidentctl problem create/link/show/list; linking elsewhere exits 1 with conflict. */
static void test_problem_cli(void **state)
{
	h_daemon_t *d = *state;
	char i1[32];
	s_open(d, "acme", "CLI-1", 2, false, i1);
	h_run_t r;
	CTL(d, &r, "problem", "create", "--title", "Routing bug", "--description", "slow failover");
	CHECK_EXIT(&r, 0);
	if (strstr(r.out, P1) == NULL)
		fail_msg("problem create should print %s; stdout: %s", P1, r.out);
	h_run_clear(&r);
	json_t *p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "title", "Routing bug");
	CHECK_STR(p, "description", "slow failover");
	json_decref(p);

	CTL(d, &r, "problem", "link", P1, i1);
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	json_t *inc = GET_INCIDENT(d, i1);
	CHECK_STR(inc, "problem", P1);
	json_decref(inc);

	CTL(d, &r, "problem", "show", P1);
	CHECK_EXIT(&r, 0);
	if (strstr(r.out, i1) == NULL || strstr(r.out, "Routing bug") == NULL)
		fail_msg("problem show should list %s and the title; stdout: %s", i1, r.out);
	h_run_clear(&r);

	CTL(d, &r, "problem", "update", P1, "--status", "known_error", "--root-cause", "bug");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "status", "known_error");
	CHECK_STR(p, "root_cause", "bug");
	json_decref(p);

	CTL(d, &r, "problem", "create", "--title", "Other");
	CHECK_EXIT(&r, 0);
	if (strstr(r.out, P2) == NULL)
		fail_msg("problem create should print %s; stdout: %s", P2, r.out);
	h_run_clear(&r);

	CTL(d, &r, "problem", "link", P2, i1);
	CHECK_EXIT(&r, 1);
	if (strstr(r.err, "conflict") == NULL)
		fail_msg("a refused link should name conflict on stderr; stderr: %s", r.err);
	h_run_clear(&r);
	inc = GET_INCIDENT(d, i1);
	CHECK_STR(inc, "problem", P1);
	json_decref(inc);

	CTL(d, &r, "problem", "list");
	CHECK_EXIT(&r, 0);
	if (strstr(r.out, P1) == NULL || strstr(r.out, P2) == NULL)
		fail_msg("problem list should show both records; stdout: %s", r.out);
	h_run_clear(&r);

	CTL(d, &r, "--json", "problem", "show", P1);
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json problem show should print JSON; stdout: %s", r.out);
	CHECK_STR(json_object_get(j, "problem"), "id", P1);
	json_decref(j);
	h_run_clear(&r);

	CTL(d, &r, "problem", "unlink", P2, i1);
	CHECK_EXIT(&r, 1);
	h_run_clear(&r);
	CTL(d, &r, "problem", "unlink", P1, i1);
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	CTL(d, &r, "problem", "show", "PBI000000000042");
	CHECK_EXIT(&r, 1);
	if (strstr(r.err, "not_found") == NULL)
		fail_msg("an unknown problem should name not_found on stderr; stderr: %s", r.err);
	h_run_clear(&r);

	/* What was acknowledged survives kill -9. */
	h_kill9(d);
	assert_int_equal(h_start(d), 0);
	p = GET_PROBLEM(d, P1);
	CHECK_STR(p, "status", "known_error");
	CHECK_STR(p, "root_cause", "bug");
	CHECK_IDS(json_object_get(p, "incidents"), "");
	json_decref(p);
	p = GET_PROBLEM(d, P2);
	CHECK_STR(p, "title", "Other");
	json_decref(p);
	inc = GET_INCIDENT(d, i1);
	CHECK_NULL(inc, "problem");
	json_decref(inc);
	h_pass(d);
}

/* problem.list pages like list: 5 problems read 2 at a time, newest first, each once. */
static void test_problem_list_paging(void **state)
{
	h_daemon_t *d = *state;
	for (int i = 1; i <= 5; i++) {
		char title[16];
		snprintf(title, sizeof title, "P%d", i);
		json_t *r = s_create(d, title, NULL);
		CHECK_OK(r);
		json_decref(r);
	}
	char cursor[64] = "";
	int seen = 0, pages = 0;
	do {
		json_t *r = cursor[0]
			? h_requestf(d, "{s:s, s:i, s:s}", "op", "problem.list", "limit", 2, "cursor", cursor)
			: h_requestf(d, "{s:s, s:i}", "op", "problem.list", "limit", 2);
		CHECK_OK(r);
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(r, "problems"), i, p) {
			char want[32];
			snprintf(want, sizeof want, "PBI%012d", 5 - seen);
			CHECK_STR(p, "id", want);
			seen++;
		}
		const json_t *next = json_object_get(r, "next");
		cursor[0] = '\0';
		if (json_is_string(next))
			snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
		json_decref(r);
		pages++;
	} while (cursor[0] && pages < 10);
	assert_int_equal(seen, 5);
	assert_int_equal(pages, 3);
	json_t *r = h_requestf(d, "{s:s, s:i}", "op", "problem.list", "limit", 1001);
	CHECK_ERROR(r, "bad_request", "limit");
	json_decref(r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		PR_TEST(test_records_and_links),
		PR_TEST(test_problem_errors),
		PR_TEST(test_problem_linked_published),
		PR_TEST(test_problem_rule_deadline),
		PR_TEST(test_problem_rule_start),
		PR_TEST(test_problem_rule_on_arrival),
		PR_TEST(test_problem_cli),
		PR_TEST(test_problem_list_paging),
	};
	return cmocka_run_group_tests_name("integration/problems", tests, NULL, NULL);
}
