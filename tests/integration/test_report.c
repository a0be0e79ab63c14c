/*
 * The monthly report: counts per provider as each month stood (a past month unchanged by later
 * events), the provider filter, the client's table and CSV, bad months, rule figures
 * counted in the month of the stop (met) or of the due time (breached), and performance
 * measures over several months (JSON, the client's table, CSV and --json).
 */
#include "checks.h"

/* Pushes one event with an explicit reported time; category/title when category > 0. */
#define EV(d, provider, eid, ref, stage, at, category, id_out)                             \
	ev_((d), (provider), (eid), (ref), (stage), (at), (category), (id_out), __FILE__, __LINE__)
static void ev_(h_daemon_t *d, const char *provider, const char *eid, const char *ref,
		const char *stage, const char *at, int category, char id_out[32], const char *file,
		int line)
{
	json_t *ev = h_event(provider, eid, ref, stage);
	json_object_set_new(ev, "at", json_string(at));
	if (category > 0) {
		json_object_set_new(ev, "category", json_integer(category));
		json_object_set_new(ev, "title", json_string(ref));
	}
	push_ok_(d, ev, id_out, file, line);
}

/* The report reply (new reference) of month, for provider when not NULL; must be ok. */
#define REPORT(d, month, provider) report_((d), (month), (provider), __FILE__, __LINE__)
static json_t *report_(h_daemon_t *d, const char *month, const char *provider, const char *file,
		       int line)
{
	json_t *req = json_pack("{s:s, s:s}", "op", "report", "month", month);
	if (provider != NULL)
		json_object_set_new(req, "provider", json_string(provider));
	json_t *r = h_request(d, req);
	json_decref(req);
	check_ok_(r, file, line);
	check_str_(r, "month", month, file, line);
	if (!json_is_array(json_object_get(r, "providers")))
		check_fail_(file, line, r, "expected \"providers\": [...]");
	return r;
}

/* The entry of provider in a report reply; fails when it is not listed. */
#define PROVIDER(r, name) provider_((r), (name), __FILE__, __LINE__)
static json_t *provider_(const json_t *r, const char *name, const char *file, int line)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(r, "providers"), i, p)
	{
		const char *n = json_string_value(json_object_get(p, "provider"));
		if (n != NULL && strcmp(n, name) == 0)
			return p;
	}
	char what[128];
	snprintf(what, sizeof what, "expected provider \"%s\" in the report", name);
	check_fail_(file, line, r, what);
	return NULL;
}

/* The providers listed, comma-separated, in order. */
#define CHECK_PROVIDERS(r, expected) check_providers_((r), (expected), __FILE__, __LINE__)
static void check_providers_(const json_t *r, const char *expected, const char *file, int line)
{
	char got[512] = "";
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(r, "providers"), i, p)
	{
		const char *n = json_string_value(json_object_get(p, "provider"));
		size_t len = strlen(got);
		snprintf(got + len, sizeof got - len, "%s%s", i > 0 ? "," : "", n ? n : "?");
	}
	if (strcmp(got, expected) != 0) {
		char what[1200];
		snprintf(what, sizeof what, "expected providers [%s], got [%s]", expected, got);
		check_fail_(file, line, r, what);
	}
}

/* A provider entry's counts and its "open" ids (comma-separated, ascending). */
#define CHECK_COUNTS(p, opened, resolved, at_start, at_end, open_ids)                      \
	check_counts_((p), (opened), (resolved), (at_start), (at_end), (open_ids), __FILE__, \
		      __LINE__)
static void check_counts_(const json_t *p, int opened, int resolved, int at_start, int at_end,
			  const char *open_ids, const char *file, int line)
{
	check_int_(p, "opened", opened, file, line);
	check_int_(p, "resolved", resolved, file, line);
	check_int_(p, "open_at_start", at_start, file, line);
	check_int_(p, "open_at_end", at_end, file, line);
	json_t *open = json_object_get(p, "open");
	if (!json_is_array(open))
		check_fail_(file, line, p, "expected \"open\": [...]");
	char got[1024] = "";
	size_t i;
	json_t *v;
	json_array_foreach(open, i, v)
	{
		size_t len = strlen(got);
		snprintf(got + len, sizeof got - len, "%s%s", i > 0 ? "," : "",
			 json_is_string(v) ? json_string_value(v) : "?");
	}
	if (strcmp(got, open_ids) != 0) {
		char what[1200];
		snprintf(what, sizeof what, "expected open [%s], got [%s]", open_ids, got);
		check_fail_(file, line, p, what);
	}
}

/* Rule figures: met, breached and percent_met (negative: null). */
#define CHECK_FIG(fig, met, breached, percent)                                             \
	check_fig_((fig), (met), (breached), (percent), __FILE__, __LINE__)
static void check_fig_(const json_t *fig, int met, int breached, double percent,
		       const char *file, int line)
{
	if (!json_is_object(fig))
		check_fail_(file, line, fig, "expected rule figures {met, breached, percent_met}");
	check_int_(fig, "met", met, file, line);
	check_int_(fig, "breached", breached, file, line);
	json_t *pm = json_object_get(fig, "percent_met");
	if (percent < 0) {
		if (!json_is_null(pm))
			check_fail_(file, line, fig, "expected \"percent_met\": null");
	} else if (!json_is_number(pm) || (json_number_value(pm) - percent > 0.01 || percent - json_number_value(pm) > 0.01)) {
		char what[128];
		snprintf(what, sizeof what, "expected \"percent_met\": %.2f", percent);
		check_fail_(file, line, fig, what);
	}
}

/* ids[a..b] joined by commas (ids ascending by construction). */
static void s_join(char ids[][32], const int *which, int n, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (int k = 0; k < n; k++) {
		size_t id_len = strlen(ids[which[k]]);
		if (len + 1 + id_len + 1 > cap)
			break;
		if (k > 0)
			out[len++] = ',';
		memcpy(out + len, ids[which[k]], id_len + 1);
		len += id_len;
	}
}

/* The incidents of the scenario, in the order they are opened (so their ids ascend). */
enum { O1, O2, A0, A1, A2, A3, A4, A5, B1, B2, B3, B4, B5, B6, B7, B8, B9, J1, NINC };

/*
 * The scenario for provider rdp: December 2020 starts with 6 incidents open, 9 open
 * during it and 10 are resolved (two of the December ones only in January): 5 open at its end.
 * November's report, taken before any December or January event arrives, is unchanged by them.
 * Provider csp is there for the listing and the filter; provider old only had an October one.
 */
static void test_december_scenario(void **state)
{
	h_daemon_t *d = *state;
	char id[NINC][32], c1[32], c2[32], old[32];

	/* Up to November. */
	EV(d, "old", "old-d", "OLD1", "detected", "2020-10-01T09:00:00Z", 3, old);
	EV(d, "old", "old-r", "OLD1", "resolved", "2020-10-02T09:00:00Z", 0, NULL);
	EV(d, "rdp", "o1-d", "O1", "detected", "2020-10-20T10:00:00Z", 3, id[O1]);
	EV(d, "rdp", "o1-r", "O1", "resolved", "2020-11-10T10:00:00Z", 0, NULL);
	EV(d, "rdp", "o2-d", "O2", "detected", "2020-10-25T10:00:00+02:00", 3, id[O2]);
	EV(d, "rdp", "a0-d", "A0", "detected", "2020-11-12T10:00:00Z", 4, id[A0]);
	EV(d, "rdp", "a0-r", "A0", "resolved", "2020-11-20T10:00:00Z", 0, NULL);
	/* A1 opens at its earliest reported time (notified arrived first, detected later). */
	EV(d, "rdp", "a1-n", "A1", "notified", "2020-11-01T00:30:00Z", 3, id[A1]);
	EV(d, "rdp", "a1-d", "A1", "detected", "2020-11-01T00:00:00.000Z", 0, NULL);
	EV(d, "rdp", "a2-d", "A2", "detected", "2020-11-02T10:00:00Z", 3, id[A2]);
	EV(d, "rdp", "a3-d", "A3", "detected", "2020-11-03T10:00:00Z", 5, id[A3]);
	EV(d, "rdp", "a4-d", "A4", "detected", "2020-11-04T10:00:00Z", 3, id[A4]);
	EV(d, "rdp", "a5-d", "A5", "detected", "2020-11-30T23:59:59.999Z", 3, id[A5]);
	EV(d, "csp", "c2-d", "C2", "detected", "2020-11-15T10:00:00Z", 2, c2);
	EV(d, "csp", "c2-r", "C2", "resolved", "2020-11-16T10:00:00Z", 0, NULL);

	json_t *nov_before = REPORT(d, "2020-11", NULL);
	CHECK_PROVIDERS(nov_before, "csp,rdp");
	char expect[512];
	int nov_open[] = {O2, A1, A2, A3, A4, A5};
	s_join(id, nov_open, 6, expect, sizeof expect);
	CHECK_COUNTS(PROVIDER(nov_before, "rdp"), 6, 2, 2, 6, expect);
	CHECK_COUNTS(PROVIDER(nov_before, "csp"), 1, 1, 0, 0, "");

	/* December. */
	EV(d, "rdp", "b1-d", "B1", "detected", "2020-12-01T00:00:00Z", 3, id[B1]);
	EV(d, "rdp", "b2-d", "B2", "detected", "2020-12-02T10:00:00Z", 3, id[B2]);
	EV(d, "rdp", "b3-d", "B3", "detected", "2020-12-03T10:00:00Z", 1, id[B3]);
	EV(d, "rdp", "b4-d", "B4", "detected", "2020-12-04T10:00:00Z", 3, id[B4]);
	EV(d, "rdp", "b5-d", "B5", "detected", "2020-12-05T10:00:00Z", 3, id[B5]);
	EV(d, "rdp", "b6-d", "B6", "detected", "2020-12-06T10:00:00Z", 3, id[B6]);
	EV(d, "rdp", "b7-d", "B7", "detected", "2020-12-07T10:00:00Z", 3, id[B7]);
	EV(d, "rdp", "b8-d", "B8", "detected", "2020-12-08T10:00:00Z", 3, id[B8]);
	EV(d, "rdp", "b9-d", "B9", "detected", "2020-12-31T23:59:59.999Z", 3, id[B9]);
	/* Resolved in December: A1 at the very start, A2-A5, B1-B4, and B5 only closed. */
	EV(d, "rdp", "a1-r", "A1", "resolved", "2020-12-01T00:00:00.000Z", 0, NULL);
	EV(d, "rdp", "a2-r", "A2", "resolved", "2020-12-10T10:00:00Z", 0, NULL);
	EV(d, "rdp", "a3-r", "A3", "resolved", "2020-12-11T10:00:00Z", 0, NULL);
	EV(d, "rdp", "a3-c", "A3", "closed", "2020-12-12T10:00:00Z", 0, NULL);
	EV(d, "rdp", "a4-r", "A4", "resolved", "2020-12-12T10:00:00+01:00", 0, NULL);
	EV(d, "rdp", "a5-r", "A5", "resolved", "2020-12-31T23:59:59.999Z", 0, NULL);
	EV(d, "rdp", "b1-r", "B1", "resolved", "2020-12-01T01:00:00Z", 0, NULL);
	EV(d, "rdp", "b2-r", "B2", "resolved", "2020-12-20T10:00:00Z", 0, NULL);
	EV(d, "rdp", "b3-r", "B3", "resolved", "2020-12-21T10:00:00Z", 0, NULL);
	EV(d, "rdp", "b4-r", "B4", "resolved", "2020-12-22T10:00:00Z", 0, NULL);
	EV(d, "rdp", "b5-c", "B5", "closed", "2020-12-23T10:00:00Z", 0, NULL);
	EV(d, "csp", "c1-d", "C1", "detected", "2020-12-03T10:00:00Z", 2, c1);
	EV(d, "csp", "c1-r", "C1", "resolved", "2020-12-04T10:00:00Z", 0, NULL);
	/* January: B6 at the very start, B7 later (its closing later still); a new one. */
	EV(d, "rdp", "b6-r", "B6", "resolved", "2021-01-01T00:00:00.000Z", 0, NULL);
	EV(d, "rdp", "b7-r", "B7", "resolved", "2021-01-05T10:00:00Z", 0, NULL);
	EV(d, "rdp", "b7-c", "B7", "closed", "2021-01-06T10:00:00Z", 0, NULL);
	EV(d, "rdp", "j1-d", "J1", "detected", "2021-01-07T10:00:00Z", 3, id[J1]);

	/* November as it stood. */
	json_t *nov_after = REPORT(d, "2020-11", NULL);
	if (!json_equal(nov_before, nov_after)) {
		char *a = h_dump(nov_before);
		print_error("November before December's events: %s\n", a);
		free(a);
		check_fail_(__FILE__, __LINE__, nov_after, "November unchanged by later events");
	}
	json_decref(nov_before);
	json_decref(nov_after);

	/* December: 9 opened, 10 resolved, 6 open at its start, 5 at its end. */
	json_t *dec = REPORT(d, "2020-12", NULL);
	CHECK_PROVIDERS(dec, "csp,rdp");
	int dec_open[] = {O2, B6, B7, B8, B9};
	s_join(id, dec_open, 5, expect, sizeof expect);
	json_t *rdp = PROVIDER(dec, "rdp");
	CHECK_COUNTS(rdp, 9, 10, 6, 5, expect);
	CHECK_COUNTS(PROVIDER(dec, "csp"), 1, 1, 0, 0, "");
	CHECK_OBJECT(rdp, "sla");
	CHECK_OBJECT(json_object_get(rdp, "sla"), "provider_notification");

	/* The provider filter: only rdp, the same entry. */
	json_t *dec_rdp = REPORT(d, "2020-12", "rdp");
	CHECK_PROVIDERS(dec_rdp, "rdp");
	if (!json_equal(PROVIDER(dec_rdp, "rdp"), rdp))
		check_fail_(__FILE__, __LINE__, dec_rdp, "the filtered entry equals the unfiltered one");
	json_decref(dec_rdp);
	json_t *dec_csp = REPORT(d, "2020-12", "csp");
	CHECK_PROVIDERS(dec_csp, "csp");
	json_decref(dec_csp);
	json_t *none = REPORT(d, "2020-12", "nobody");
	CHECK_PROVIDERS(none, "");
	json_decref(none);
	json_decref(dec);

	/* January: the 5 open at its start, B6 and B7 resolved, J1 opened. */
	json_t *jan = REPORT(d, "2021-01", NULL);
	CHECK_PROVIDERS(jan, "rdp");
	int jan_open[] = {O2, B8, B9, J1};
	s_join(id, jan_open, 4, expect, sizeof expect);
	CHECK_COUNTS(PROVIDER(jan, "rdp"), 1, 2, 5, 4, expect);
	json_decref(jan);

	/* October: old was open then; rdp's O1 and O2 opened. */
	json_t *oct = REPORT(d, "2020-10", NULL);
	CHECK_PROVIDERS(oct, "old,rdp");
	CHECK_COUNTS(PROVIDER(oct, "old"), 1, 1, 0, 0, "");
	int oct_open[] = {O1, O2};
	s_join(id, oct_open, 2, expect, sizeof expect);
	CHECK_COUNTS(PROVIDER(oct, "rdp"), 2, 0, 0, 2, expect);
	json_decref(oct);

	/* The client: a table with the numbers, and CSV with a header. */
	h_run_t r;
	CTL(d, &r, "report", "--month", "2020-12");
	CHECK_EXIT(&r, 0);
	bool row_found = false;
	for (char *line = r.out; line != NULL && *line != '\0';) {
		char name[32];
		int v[5];
		if (sscanf(line, "%31s %d %d %d %d %d", name, &v[0], &v[1], &v[2], &v[3], &v[4]) == 6 &&
		    strcmp(name, "rdp") == 0) {
			/* opened, user_first, resolved, open at the start, open at the end */
			if (v[0] != 9 || v[1] != 0 || v[2] != 10 || v[3] != 6 || v[4] != 5)
				fail_msg("report's rdp row should read 9 0 10 6 5:\n%s", r.out);
			row_found = true;
			break;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	if (!row_found)
		fail_msg("report should print a row \"rdp 9 10 6 5\"; stdout:\n%s", r.out);
	h_run_clear(&r);

	CTL(d, &r, "report", "--month", "2020-12", "--provider", "csp");
	CHECK_EXIT(&r, 0);
	if (strstr(r.out, "csp") == NULL || strstr(r.out, "rdp") != NULL)
		fail_msg("report --provider csp should show csp only; stdout:\n%s", r.out);
	h_run_clear(&r);

	CTL(d, &r, "report", "--month", "2020-12", "--csv");
	CHECK_EXIT(&r, 0);
	char *nl = strchr(r.out, '\n');
	if (nl == NULL || strstr(r.out, "provider") == NULL ||
	    strstr(r.out, "provider") > nl || memchr(r.out, ',', (size_t)(nl - r.out)) == NULL)
		fail_msg("report --csv should start with a comma-separated header; stdout:\n%s",
			 r.out);
	if (strstr(nl, "rdp,9,0,10,6,5") == NULL)
		fail_msg("report --csv should have rows \"rdp,9,0,10,6,5,...\"; stdout:\n%s", r.out);
	h_run_clear(&r);

	CTL(d, &r, "--json", "report", "--month", "2020-12", "--provider", "rdp");
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json report should print JSON; stdout: %s", r.out);
	CHECK_INT(PROVIDER(j, "rdp"), "open_at_end", 5);
	json_decref(j);
	h_run_clear(&r);
	h_pass(d);
}

/* Bad months are bad_request naming month, over the API and through the client. */
static void test_bad_month(void **state)
{
	h_daemon_t *d = *state;
	static const char *const bad[] = {"2020-13", "Dec",     "2020-00", "2020-1",
					  "20-12",   "2020-12-01", "",     "2020/12"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *r = h_requestf(d, "{s:s, s:s}", "op", "report", "month", bad[i]);
		if (r == NULL || !json_is_false(json_object_get(r, "ok")))
			fail_msg("month \"%s\" should be refused", bad[i]);
		CHECK_ERROR(r, "bad_request", "month");
		json_decref(r);
	}
	json_t *r = h_requestf(d, "{s:s}", "op", "report");
	CHECK_ERROR(r, "bad_request", "month");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:i}", "op", "report", "month", 202012);
	CHECK_ERROR(r, "bad_request", "month");
	json_decref(r);
	r = h_requestf(d, "{s:s, s:s, s:i}", "op", "report", "month", "2020-12", "provider", 1);
	CHECK_ERROR(r, "bad_request", "provider");
	json_decref(r);

	/* incidentctl refuses a month out of range itself: a usage error naming the flag. */
	h_run_t run;
	CTL(d, &run, "report", "--month", "2020-13");
	CHECK_EXIT(&run, 2);
	if (strstr(run.err, "--month") == NULL)
		fail_msg("a bad month should be a usage error naming --month; stderr: %s", run.err);
	h_run_clear(&run);
	CTL(d, &run, "report");
	CHECK_EXIT(&run, 2);
	h_run_clear(&run);

	/* A month with nothing in it is a report with no providers. */
	json_t *empty = REPORT(d, "1999-01", NULL);
	CHECK_PROVIDERS(empty, "");
	json_decref(empty);
	h_pass(d);
}

/*
 * The defaults with provider_notification on the reported clock (so that a 2020 notification
 * can be in time), plus a problem rule for major incidents.
 */
static int setup_reported_clock(void **state)
{
	char conf[4096];
	const char *needle = "stop_clock = received";
	const char *at = strstr(h_default_config, needle);
	if (at == NULL)
		return -1;
	snprintf(conf, sizeof conf,
		 "%.*sstop_clock = reported%s\n[problem_rule major_needs_problem]\n"
		 "applies = major\nstart = detected\nwithin = 1d\n",
		 (int)(at - h_default_config), h_default_config, at + strlen(needle));
	return setup_daemon_with(state, conf);
}

/*
 * Rule figures (provider_notification, 30 min for categories 1 and 2, 2 h for 3): met in the
 * month of the stop, breached in the month of the due time, per category; percent_met null
 * when nothing counted; pending incidents not counted; problem rules under problem_rules.
 */
static void test_rule_figures(void **state)
{
	h_daemon_t *d = *state;
	/* Met in December: category 1 in 20 min, category 3 in 1 h (target 2 h). */
	EV(d, "acme", "m1-d", "M1", "detected", "2020-12-10T10:00:00Z", 1, NULL);
	EV(d, "acme", "m1-n", "M1", "notified", "2020-12-10T10:20:00Z", 0, NULL);
	EV(d, "acme", "m2-d", "M2", "detected", "2020-12-06T10:00:00Z", 3, NULL);
	EV(d, "acme", "m2-n", "M2", "notified", "2020-12-06T11:00:00Z", 0, NULL);
	/* Late: detected in November, due (00:20) and notified (01:00) in December. */
	char l1[32];
	EV(d, "acme", "l1-d", "L1", "detected", "2020-11-30T23:50:00Z", 1, l1);
	EV(d, "acme", "l1-n", "L1", "notified", "2020-12-01T01:00:00Z", 0, NULL);
	/* Late within December, category 1. */
	EV(d, "acme", "l2-d", "L2", "detected", "2020-12-05T10:00:00Z", 1, NULL);
	EV(d, "acme", "l2-n", "L2", "notified", "2020-12-05T11:00:00Z", 0, NULL);
	/* Met across the new year: counted in January, when the stop came. */
	EV(d, "acme", "m3-d", "M3", "detected", "2020-12-31T23:50:00Z", 1, NULL);
	EV(d, "acme", "m3-n", "M3", "notified", "2021-01-01T00:10:00Z", 0, NULL);
	/* A major incident with no problem linked: the problem rule breached on 2020-12-16. */
	json_t *ev = h_event("acme", "x1-d", "X1", "detected");
	json_object_set_new(ev, "at", json_string("2020-12-15T10:00:00Z"));
	json_object_set_new(ev, "category", json_integer(4));
	json_object_set_new(ev, "title", json_string("X1"));
	json_object_set_new(ev, "major", json_true());
	json_t *r = PUSH(d, ev);
	CHECK_OK(r);
	json_decref(r);
	EV(d, "acme", "x1-n", "X1", "notified", "2020-12-15T12:00:00Z", 0, NULL);

	json_t *dec = REPORT(d, "2020-12", "acme");
	json_t *acme = PROVIDER(dec, "acme");
	json_t *sla = json_object_get(json_object_get(acme, "sla"), "provider_notification");
	/* met: M1, M2, X1 (category 4, 1 d); breached: L1, L2. */
	CHECK_FIG(sla, 3, 2, 60.0);
	json_t *cats = json_object_get(sla, "categories");
	CHECK_FIG(json_object_get(cats, "1"), 1, 2, 100.0 / 3.0);
	CHECK_FIG(json_object_get(cats, "3"), 1, 0, 100.0);
	CHECK_FIG(json_object_get(cats, "4"), 1, 0, 100.0);
	if (json_object_get(cats, "2") != NULL && json_integer_value(json_object_get(
							  json_object_get(cats, "2"), "met")) != 0)
		check_fail_(__FILE__, __LINE__, cats, "nothing counted for category 2");
	json_t *pr = json_object_get(json_object_get(acme, "problem_rules"), "major_needs_problem");
	CHECK_FIG(pr, 0, 1, 0.0);
	json_decref(dec);

	/* November: L1 opened then, but neither its due time nor a stop fell in it. */
	json_t *nov = REPORT(d, "2020-11", "acme");
	acme = PROVIDER(nov, "acme");
	CHECK_COUNTS(acme, 1, 0, 0, 1, l1);
	sla = json_object_get(json_object_get(acme, "sla"), "provider_notification");
	CHECK_FIG(sla, 0, 0, -1);
	CHECK_FIG(json_object_get(json_object_get(acme, "problem_rules"), "major_needs_problem"), 0,
		  0, -1);
	json_decref(nov);

	/* January: M3 met. */
	json_t *jan = REPORT(d, "2021-01", "acme");
	sla = json_object_get(json_object_get(PROVIDER(jan, "acme"), "sla"),
			      "provider_notification");
	CHECK_FIG(sla, 1, 0, 100.0);
	CHECK_FIG(json_object_get(json_object_get(sla, "categories"), "1"), 1, 0, 100.0);
	json_decref(jan);

	/* Pending incidents are not counted: one detected now, 1 day to go. */
	ev = h_event("pend", "p1-d", "P1", "detected");
	json_object_set_new(ev, "category", json_integer(4));
	json_object_set_new(ev, "title", json_string("P1"));
	PUSH_OK(d, ev, NULL);
	time_t now = (time_t)(h_now_ms() / 1000);
	struct tm tm;
	gmtime_r(&now, &tm);
	char month[16];
	strftime(month, sizeof month, "%Y-%m", &tm);
	json_t *cur = REPORT(d, month, "pend");
	json_t *pend = PROVIDER(cur, "pend");
	CHECK_INT(pend, "opened", 1);
	CHECK_FIG(json_object_get(json_object_get(pend, "sla"), "provider_notification"), 0, 0, -1);
	json_decref(cur);

	/* The client shows the figures. */
	h_run_t run;
	CTL(d, &run, "report", "--month", "2020-12", "--csv");
	CHECK_EXIT(&run, 0);
	if (strstr(run.out, "provider_notification") == NULL || strstr(run.out, "60") == NULL)
		fail_msg("report --csv should show provider_notification at 60%%; stdout:\n%s",
			 run.out);
	h_run_clear(&run);
	h_pass(d);
}

/*
 * The defaults on the reported clock (a 2020 notification can be in time) with two measures:
 * PM_notify over every category, target 95% and minimum 90%; PM_critical over categories 1
 * and 2, target 99.5% and no minimum.
 */
static int setup_measures(void **state)
{
	char conf[4096];
	const char *needle = "stop_clock = received";
	const char *at = strstr(h_default_config, needle);
	if (at == NULL)
		return -1;
	snprintf(conf, sizeof conf,
		 "%.*sstop_clock = reported%s\n"
		 "[measure PM_notify]\nrule = provider_notification\ntarget = 95%%\n"
		 "minimum = 90%%\n"
		 "[measure PM_critical]\nrule = provider_notification\ncategories = 1, 2\n"
		 "target = 99.5%%\n",
		 (int)(at - h_default_config), h_default_config, at + strlen(needle));
	return setup_daemon_with(state, conf);
}

/* An incident of provider detected at `at` (category cat), notified minutes later. */
static void s_notified(h_daemon_t *d, const char *provider, const char *ref, const char *at,
		       int cat, int minutes)
{
	char eid[64], notified[32];
	snprintf(eid, sizeof eid, "%s-d", ref);
	EV(d, provider, eid, ref, "detected", at, cat, NULL);
	snprintf(notified, sizeof notified, "%.11s%02d:%02d:00Z", at, 10 + minutes / 60,
		 minutes % 60);
	snprintf(eid, sizeof eid, "%s-n", ref);
	EV(d, provider, eid, ref, "notified", notified, 0, NULL);
}

/* A measure's figures and where it stands; level NULL: null (and percent_met null). */
#define CHECK_MEASURE(m, met, breached, percent, level, run, in_24)                         \
	check_measure_((m), (met), (breached), (percent), (level), (run), (in_24), __FILE__,  \
		       __LINE__)
static void check_measure_(const json_t *m, int met, int breached, double percent,
			   const char *level, int run, int in_24, const char *file, int line)
{
	check_fig_(m, met, breached, level ? percent : -1, file, line);
	const json_t *l = json_object_get(m, "level");
	if (level == NULL ? !json_is_null(l)
			  : !json_is_string(l) || strcmp(json_string_value(l), level) != 0) {
		char what[128];
		snprintf(what, sizeof what, "expected \"level\": %s", level ? level : "null");
		check_fail_(file, line, m, what);
	}
	check_int_(m, "months_below_target", run, file, line);
	check_int_(m, "below_target_in_24", in_24, file, line);
}

/*
 * Performance measures over several months: csp-north is at target in September (1 of 1),
 * below its minimum in October (1 of 2), counts nothing in November, and is at exactly its
 * minimum in December (9 of 10: below target). rdp counts nothing in December.
 */
static void test_measures(void **state)
{
	h_daemon_t *d = *state;
	/* September through the client, with --at. */
	h_run_t r;
	CTL(d, &r, "push", "--provider", "csp-north", "--event-id", "s1-d", "--ref", "S1",
	    "--stage", "detected", "--at", "2020-09-10T10:00:00Z", "--category", "1", "--title",
	    "S1");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	CTL(d, &r, "push", "--provider", "csp-north", "--event-id", "s1-n", "--ref", "S1",
	    "--stage", "notified", "--at", "2020-09-10T10:10:00Z");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	s_notified(d, "csp-north", "O1", "2020-10-05T10:00:00Z", 1, 10);
	s_notified(d, "csp-north", "O2", "2020-10-06T10:00:00Z", 1, 60);  /* late */
	for (int i = 0; i < 10; i++) {
		char ref[16], at[32];
		snprintf(ref, sizeof ref, "D%d", i);
		snprintf(at, sizeof at, "2020-12-%02dT10:00:00Z", i + 1);
		/* 5 of category 1 in time; 4 of category 3 in time, 1 three hours late. */
		s_notified(d, "csp-north", ref, at, i < 5 ? 1 : 3, i < 9 ? 10 : 180);
	}
	EV(d, "rdp", "r1-n", "R1", "notified", "2020-12-10T10:00:00Z", 1, NULL); /* not started */

	json_t *dec = REPORT(d, "2020-12", NULL);
	CHECK_PROVIDERS(dec, "csp-north,rdp");
	json_t *measures = json_object_get(PROVIDER(dec, "csp-north"), "measures");
	json_t *m = json_object_get(measures, "PM_notify");
	/* Below target in December and October; November counted nothing. */
	CHECK_MEASURE(m, 9, 1, 90.0, "below_target", 2, 2);
	CHECK_STR(m, "rule", "provider_notification");
	json_t *want = json_pack("{s:[iiiii], s:f, s:f}", "categories", 1, 2, 3, 4, 5, "target",
				 95.0, "minimum", 90.0);
	const char *key;
	json_t *v;
	json_object_foreach(want, key, v)
		if (!json_equal(json_object_get(m, key), v))
			check_fail_(__FILE__, __LINE__, m, key);
	json_decref(want);
	m = json_object_get(measures, "PM_critical");
	CHECK_MEASURE(m, 5, 0, 100.0, "target", 0, 1); /* October's category 1 was below */
	if (!json_is_null(json_object_get(m, "minimum")))
		check_fail_(__FILE__, __LINE__, m, "expected \"minimum\": null");
	m = json_object_get(json_object_get(PROVIDER(dec, "rdp"), "measures"), "PM_notify");
	CHECK_MEASURE(m, 0, 0, -1, NULL, 0, 0);
	json_decref(dec);

	json_t *oct = REPORT(d, "2020-10", "csp-north");
	measures = json_object_get(PROVIDER(oct, "csp-north"), "measures");
	CHECK_MEASURE(json_object_get(measures, "PM_notify"), 1, 1, 50.0, "below_minimum", 1, 1);
	CHECK_MEASURE(json_object_get(measures, "PM_critical"), 1, 1, 50.0, "below_target", 1, 1);
	json_decref(oct);

	/* The client: a line per measure with its level marked. */
	CTL(d, &r, "report", "--month", "2020-10");
	CHECK_EXIT(&r, 0);
	if (strstr(r.out, "PM_notify") == NULL || strstr(r.out, "BELOW MINIMUM !!") == NULL ||
	    strstr(r.out, "95%/90%") == NULL)
		fail_msg("report should mark PM_notify BELOW MINIMUM !!, 95%%/90%%; stdout:\n%s",
			 r.out);
	h_run_clear(&r);
	CTL(d, &r, "report", "--month", "2020-12");
	CHECK_EXIT(&r, 0);
	bool notify_row = false, critical_row = false;
	for (char *line = r.out; line != NULL && *line != '\0';) {
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char row[512];
		snprintf(row, sizeof row, "%.*s", (int)len, line);
		if (strncmp(row, "csp-north", 9) == 0 && strstr(row, "PM_notify") &&
		    strstr(row, "provider_notification") && strstr(row, " 90.00 ") &&
		    strstr(row, "below target !"))
			notify_row = true;
		if (strncmp(row, "csp-north", 9) == 0 && strstr(row, "PM_critical") &&
		    strstr(row, "1 2") && strstr(row, "99.5%") && strstr(row, " target "))
			critical_row = true;
		line = end ? end + 1 : NULL;
	}
	if (!notify_row || !critical_row)
		fail_msg("report should show PM_notify below target and PM_critical at target; "
			 "stdout:\n%s", r.out);
	h_run_clear(&r);

	CTL(d, &r, "report", "--month", "2020-12", "--csv");
	CHECK_EXIT(&r, 0);
	if (strstr(r.out, ",measure,target,minimum,level,months_below_target,below_target_in_24\n")
		    == NULL ||
	    strstr(r.out, ",measure,provider_notification,1 2 3 4 5,9,1,90.00,PM_notify,95%,90%,"
			  "below_target,2,2\n") == NULL ||
	    strstr(r.out, ",measure,provider_notification,1 2,5,0,100.00,PM_critical,99.5%,,"
			  "target,0,1\n") == NULL ||
	    strstr(r.out, "rdp,1,0,0,0,1,measure,provider_notification,1 2 3 4 5,0,0,,PM_notify,"
			  "95%,90%,,0,0\n") == NULL)
		fail_msg("report --csv should have a row per provider and measure; stdout:\n%s",
			 r.out);
	h_run_clear(&r);

	CTL(d, &r, "--json", "report", "--month", "2020-12", "--provider", "csp-north");
	CHECK_EXIT(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	if (j == NULL)
		fail_msg("--json report should print JSON; stdout: %s", r.out);
	CHECK_MEASURE(json_object_get(json_object_get(PROVIDER(j, "csp-north"), "measures"),
				      "PM_notify"),
		      9, 1, 90.0, "below_target", 2, 2);
	json_decref(j);
	h_run_clear(&r);
	h_pass(d);
}

/* incidentd --check-config lists every error of [measure] sections with FILE:LINE, exit 1. */
static void test_measures_check_config(void **state)
{
	h_daemon_t *d = *state;
	char path[H_PATH_MAX], conf[4096];
	snprintf(conf, sizeof conf,
		 "%s" /* 22 lines */
		 "[measure PM_a]\nrule = no_such_rule\ntarget = 95%%\n"
		 "[measure PM_b]\nrule = provider_notification\ntarget = 90%%\nminimum = 95%%\n"
		 "[measure PM_c]\nrule = provider_notification\ntarget = 95\n",
		 h_default_config);
	assert_int_equal(h_write_file(d, "measures.conf", conf, path), 0);
	char *argv[] = {(char *)INCIDENTD_BIN, (char *)"-c", path, (char *)"--check-config", NULL};
	h_run_t r;
	assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
	CHECK_EXIT(&r, 1);
	const char *want[] = {
		":24: measure PM_a: rule: unknown rule \"no_such_rule\"",
		":29: measure PM_b: minimum: 95.00% is above the target (90.00%)",
		":32: measure PM_c: target: expected a percentage",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char line[H_PATH_MAX + 128];
		snprintf(line, sizeof line, "%s%s", path, want[i]);
		if (strstr(r.out, line) == NULL)
			fail_msg("--check-config should print \"%s\"; stdout:\n%s", line, r.out);
	}
	h_run_clear(&r);
	h_pass(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DAEMON_TEST(test_december_scenario),
		DAEMON_TEST(test_bad_month),
		cmocka_unit_test_setup_teardown(test_rule_figures, setup_reported_clock,
						teardown_daemon),
		cmocka_unit_test_setup_teardown(test_measures, setup_measures, teardown_daemon),
		DAEMON_TEST(test_measures_check_config),
	};
	return cmocka_run_group_tests_name("integration/report", tests, NULL, NULL);
}
