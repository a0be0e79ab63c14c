/*
 * incidentctl report --html against the real daemon: a year of incidents for two providers
 * with a performance measure, and a major incident reported by every source with a breach, in
 * the month of the report. The page is checked as text (one document, inline SVG, nothing
 * external, no script, the providers, the twelve months, the measure and its target line, the
 * major incident's id and sources, its hostile title escaped, times in the --tz zone) along
 * with the command's usage errors.
 *
 * Run with the argument "browser" (ctest label browser), the same page is rendered by headless
 * Chromium into a PNG and a PDF, whose size, signature and dimensions are checked; skipped
 * (exit 77) when Chromium is not installed. With $REPORT_HTML_KEEP set to a directory, the
 * page and the PNG are copied there, to look at.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"

/* The hostile title of the major incident: markup, quotes and an ampersand. */
#define HOSTILE_TITLE "<script>alert(\"x\")</script> & 'core' <b>router</b> down"
#define HOSTILE_ESCAPED                                                                    \
	"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;core&#39; "          \
	"&lt;b&gt;router&lt;/b&gt; down"

#define CHROMIUM "/usr/bin/chromium"

/* The reported clock (a notification reported in time is met, whenever it arrives). */
static int setup_html(void **state)
{
	char conf[4096];
	const char *needle = "stop_clock = received";
	const char *at = strstr(h_default_config, needle);
	if (at == NULL)
		return -1;
	snprintf(conf, sizeof conf,
		 "%.*sstop_clock = reported%s\n"
		 "[measure PM_notify]\nrule = provider_notification\ntarget = 95%%\n"
		 "minimum = 90%%\n",
		 (int)(at - h_default_config), h_default_config, at + strlen(needle));
	return setup_daemon_with(state, conf);
}

/* One event at ms; opens with category and title when title is not NULL. */
static void s_event(h_daemon_t *d, const char *provider, const char *eid, const char *ref,
		    const char *stage, int64_t ms, const char *source, const char *title,
		    bool major)
{
	char at[32];
	utc_ms_format(ms, at);
	json_t *ev = h_event(provider, eid, ref, stage);
	json_object_set_new(ev, "at", json_string(at));
	if (source != NULL)
		json_object_set_new(ev, "source", json_string(source));
	if (title != NULL) {
		json_object_set_new(ev, "category", json_integer(major ? 1 : 3));
		json_object_set_new(ev, "title", json_string(title));
	}
	if (major)
		json_object_set_new(ev, "major", json_true());
	PUSH_OK(d, ev, NULL);
}

/* The first moment of the month `back` months before the month of ms, and its label. */
static int64_t s_month_start(int64_t ms, int back, char label[16])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	int y = tm.tm_year + 1900, m = tm.tm_mon + 1 - back;
	while (m < 1) {
		m += 12;
		y--;
	}
	snprintf(label, 16, "%04d-%02d", y % 10000, m % 100);
	struct tm first = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = 1};
	return (int64_t)timegm(&first) * 1000;
}

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

/*
 * The scenario; month receives the report's month. The major incident is reported over the
 * five hours before now (so its reports arrive shortly after their reported times): the month
 * of the report is the month of its first report. Eleven months before it have incidents of
 * csp-north notified in time or late (a month left empty: a gap), rdp has one in the month.
 * Returns the major incident's id into id.
 */
static void s_scenario(h_daemon_t *d, char month[16], char id[32])
{
	int64_t base = h_now_ms() - 5 * HOUR_MS;
	s_month_start(base, 0, month);
	for (int back = 11; back >= 1; back--) {
		char label[16], ref[32], eid[48];
		int64_t start = s_month_start(base, back, label) + 9 * 24 * HOUR_MS;
		if (back == 4)
			continue; /* nothing this month: the measure has a gap */
		for (int k = 0; k < 1 + back % 3; k++) {
			int64_t t = start + k * 24 * HOUR_MS;
			bool late = k == 0 && back % 4 == 1;
			snprintf(ref, sizeof ref, "N-%s-%d", label, k);
			snprintf(eid, sizeof eid, "%s-d", ref);
			s_event(d, "csp-north", eid, ref, "detected", t, NULL, ref, false);
			snprintf(eid, sizeof eid, "%s-n", ref);
			s_event(d, "csp-north", eid, ref, "notified",
				t + (late ? 3 * HOUR_MS : 20 * MIN_MS), NULL, NULL, false);
			snprintf(eid, sizeof eid, "%s-r", ref);
			if (k > 0 || back > 2)
				s_event(d, "csp-north", eid, ref, "resolved", t + 30 * HOUR_MS,
					NULL, NULL, false);
		}
	}
	s_event(d, "rdp", "r1-d", "R1", "detected", base, NULL, "rdp feed stalled", false);
	/* The major incident: monitoring sees it, a user calls, the provider tells us late. */
	s_event(d, "csp-north", "m-d-mon", "MAJ-1", "detected", base, "monitoring", HOSTILE_TITLE,
		true);
	s_event(d, "csp-north", "m-d-usr", "MAJ-1", "detected", base + 40 * MIN_MS, "user", NULL,
		false);
	s_event(d, "csp-north", "m-d-prv", "MAJ-1", "detected", base + 10 * MIN_MS, NULL, NULL,
		false);
	s_event(d, "csp-north", "m-n-prv", "MAJ-1", "notified", base + 90 * MIN_MS, NULL, NULL,
		false);
	s_event(d, "csp-north", "m-a-op", "MAJ-1", "acknowledged", base + 100 * MIN_MS,
		"operator", NULL, false);
	s_event(d, "csp-north", "m-r-prv", "MAJ-1", "resolved", base + 4 * HOUR_MS, NULL, NULL,
		false);
	json_t *r = h_requestf(d, "{s:s, s:s, s:s}", "op", "get", "provider", "csp-north", "ref",
			       "MAJ-1");
	CHECK_OK(r);
	json_t *inc = json_object_get(r, "incident");
	snprintf(id, 32, "%s", json_string_value(json_object_get(inc, "id")));
	if (json_array_size(json_object_get(inc, "breaches")) == 0)
		check_fail_(__FILE__, __LINE__, inc, "expected the major incident to be breached");
	json_decref(r);
}

/* The whole of a file (malloc'd, NUL-terminated); fails the test when it cannot be read. */
static char *s_slurp(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	do {
		if (len + 65536 > cap) {
			cap = (len + 65536) * 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	return buf;
}

/* How many times needle occurs in hay. */
static int s_count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Fails when the page refers to anything outside itself or could run a script. */
static void s_check_self_contained(const char *html)
{
	const char *xmlns = "http://www.w3.org/2000/svg";
	for (const char *p = strstr(html, "http"); p != NULL; p = strstr(p + 1, "http"))
		if ((strncmp(p, "http://", 7) == 0 || strncmp(p, "https://", 8) == 0) &&
		    strncmp(p, xmlns, strlen(xmlns)) != 0)
			fail_msg("the page refers to %.60s", p);
	for (const char *p = html; *p != '\0'; p++)
		if (strncasecmp(p, "<script", 7) == 0 || strncasecmp(p, "javascript:", 11) == 0 ||
		    strncasecmp(p, " onload=", 8) == 0 || strncasecmp(p, "@import", 7) == 0 ||
		    strncasecmp(p, "<link", 5) == 0 || strncasecmp(p, "<img", 4) == 0)
			fail_msg("the page holds %.40s", p);
}

/* The page of the scenario: well formed enough, everything there, escaped. */
static void s_check_page(const char *html, const char *month, const char *id)
{
	assert_int_equal(s_count(html, "<html"), 1);
	assert_int_equal(s_count(html, "</html>"), 1);
	assert_int_equal(s_count(html, "<body>"), 1);
	assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
	/* Two providers' counts and measure charts, and the timeline. */
	assert_true(s_count(html, "<svg") >= 5);
	assert_int_equal(s_count(html, "<svg"), s_count(html, "</svg>"));
	assert_int_equal(s_count(html, "<table"), s_count(html, "</table>"));
	s_check_self_contained(html);
	expect_in(html, "Provider csp-north", "the page");
	expect_in(html, "Provider rdp", "the page");
	for (int back = 0; back < 12; back++) {
		char label[32];
		int y = atoi(month), m = atoi(month + 5) - back;
		if (m < 1) {
			m += 12;
			y--;
		}
		snprintf(label, sizeof label, "%04d-%02d", y % 10000, m % 100);
		expect_in(html, label, "the page's month labels");
	}
	expect_in(html, "PM_notify", "the page");
	expect_in(html, ">target 95%</text>", "the measure chart's target line");
	expect_in(html, ">minimum 90%</text>", "the measure chart's minimum line");
	expect_in(html, "no data", "the measure chart's gap");
	expect_in(html, id, "the major incident's section");
	for (const char *const *s = (const char *const[]){"provider", "monitoring", "user",
							   "operator", NULL};
	     *s != NULL; s++) {
		char row[64];
		snprintf(row, sizeof row, "font-weight=\"bold\">%s</text>", *s);
		expect_in(html, row, "the timeline's rows");
	}
	expect_in(html, "provider_notification (", "the timeline's breach label");
	expect_in(html, HOSTILE_ESCAPED, "the escaped title");
	if (strstr(html, "<script>alert") != NULL || strstr(html, "<b>router") != NULL)
		fail_msg("the title went into the page unescaped");
}

/* report --html -o FILE and to stdout: the page, in the --tz zone. */
static void test_report_html(void **state)
{
	h_daemon_t *d = *state;
	char month[16], id[32], path[H_PATH_MAX];
	s_scenario(d, month, id);
	snprintf(path, sizeof path, "%s/report.html", d->dir);
	h_run_t r;
	CTL(d, &r, "report", "--month", month, "--html", "-o", path, "--tz", "Europe/Paris");
	CHECK_EXIT(&r, 0);
	assert_string_equal(r.out, "");
	h_run_clear(&r);
	char *html = s_slurp(path, NULL);
	s_check_page(html, month, id);
	/* Paris is +01:00 in winter and +02:00 in summer: either shows, never a UTC "Z". */
	if (strstr(html, "+01:00") == NULL && strstr(html, "+02:00") == NULL)
		fail_msg("times should be shown with the Paris offset");
	expect_in(html, "Europe/Paris", "the page");
	free(html);

	/* To stdout, in UTC; --provider keeps one provider (and its major incidents). */
	CTL(d, &r, "report", "--month", month, "--html");
	CHECK_EXIT(&r, 0);
	s_check_page(r.out, month, id);
	expect_in(r.out, "+00:00", "the page in UTC");
	h_run_clear(&r);
	CTL(d, &r, "report", "--month", month, "--html", "--provider", "rdp");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "Provider rdp", "the rdp page");
	if (strstr(r.out, "csp-north") != NULL || strstr(r.out, id) != NULL)
		fail_msg("--provider rdp should leave csp-north out:\n%s", r.out);
	expect_in(r.out, "<p>None.</p>", "the rdp page's major incidents");
	h_run_clear(&r);
	h_pass(d);
}

/* Misuse: exit 2 with nothing written; an unwritable file exits 1, no daemon 3. */
static void test_report_html_usage(void **state)
{
	h_daemon_t *d = *state;
	char path[H_PATH_MAX];
	snprintf(path, sizeof path, "%s/out.html", d->dir);
	struct {
		const char *a, *b, *c;
	} bad[] = {
		{"--html", "--csv", NULL},
		{"--html", "--json", NULL},
		{"--json", "--html", NULL},
		{"-o", path, NULL},
		{"--html", "-o", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		h_run_t r;
		CTL(d, &r, "report", "--month", "2026-11", (char *)bad[i].a, (char *)bad[i].b,
		    (char *)bad[i].c);
		CHECK_EXIT(&r, 2);
		expect_in(r.err, "report", "the usage error");
		h_run_clear(&r);
	}
	h_run_t r;
	CTL(d, &r, "report", "--html");
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);
	CTL(d, &r, "report", "--html", "--month", "2026-13");
	CHECK_EXIT(&r, 2);
	h_run_clear(&r);
	assert_int_equal(access(path, F_OK), -1);
	CTL(d, &r, "report", "--month", "2026-11", "--html", "-o", "/nonexistent/dir/r.html");
	CHECK_EXIT(&r, 1);
	expect_in(r.err, "/nonexistent/dir/r.html", "the error");
	h_run_clear(&r);
	/* No daemon there: exit 3, and no half-written file. */
	char nowhere[H_PATH_MAX + 16];
	snprintf(nowhere, sizeof nowhere, "ipc://%s/nobody", d->dir);
	char *argv[] = {(char *)INCIDENTCTL_BIN, (char *)"-e", nowhere, (char *)"--timeout",
			(char *)"300", (char *)"report", (char *)"--month", (char *)"2026-11",
			(char *)"--html", (char *)"-o", path, NULL};
	assert_int_equal(h_run(d->dir, argv, NULL, 10000, &r), 0);
	CHECK_EXIT(&r, 3);
	h_run_clear(&r);
	assert_int_equal(access(path, F_OK), -1);
	CTL(d, &r, "report", "--help");
	CHECK_EXIT(&r, 0);
	expect_in(r.out, "--html", "report --help");
	h_run_clear(&r);
	h_pass(d);
}

/* --- the browser -------------------------------------------------------------------------- */

/* A big-endian 32-bit number. */
static uint32_t s_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Copies src to $REPORT_HTML_KEEP/name when that variable is set. */
static void s_keep(const char *src, const char *name)
{
	const char *dir = getenv("REPORT_HTML_KEEP");
	if (dir == NULL || *dir == '\0')
		return;
	size_t len;
	char *data = s_slurp(src, &len), dst[H_PATH_MAX];
	snprintf(dst, sizeof dst, "%s/%s", dir, name);
	FILE *f = fopen(dst, "wb");
	if (f != NULL) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	free(data);
}

/* Runs headless Chromium on url with one output flag; returns its exit status. */
static int s_chromium(h_daemon_t *d, const char *output_flag, const char *url)
{
	char profile[H_PATH_MAX + 32];
	snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium", d->dir);
	char *argv[] = {(char *)CHROMIUM,     (char *)"--headless",       (char *)"--no-sandbox",
			(char *)"--disable-gpu", (char *)"--no-first-run",    (char *)"--hide-scrollbars",
			(char *)"--disable-dev-shm-usage", profile,
			(char *)"--window-size=1200,3000", (char *)output_flag, (char *)url, NULL};
	h_run_t r;
	assert_int_equal(h_run(d->dir, argv, NULL, 90000, &r), 0);
	int status = r.status;
	if (status != 0)
		print_error("chromium exit %d\nstderr: %s\n", status, r.err);
	h_run_clear(&r);
	return status;
}

/* The page rendered by headless Chromium: a PNG of the window's size, and a PDF. */
static void test_report_html_browser(void **state)
{
	h_daemon_t *d = *state;
	char month[16], id[32], html[H_PATH_MAX], png[H_PATH_MAX], pdf[H_PATH_MAX];
	char url[H_PATH_MAX + 16], flag[H_PATH_MAX + 32];
	s_scenario(d, month, id);
	snprintf(html, sizeof html, "%s/report.html", d->dir);
	snprintf(png, sizeof png, "%s/report.png", d->dir);
	snprintf(pdf, sizeof pdf, "%s/report.pdf", d->dir);
	h_run_t r;
	CTL(d, &r, "report", "--month", month, "--html", "-o", html, "--tz", "Europe/London");
	CHECK_EXIT(&r, 0);
	h_run_clear(&r);
	snprintf(url, sizeof url, "file://%s", html);

	snprintf(flag, sizeof flag, "--screenshot=%s", png);
	assert_int_equal(s_chromium(d, flag, url), 0);
	size_t len;
	unsigned char *data = (unsigned char *)s_slurp(png, &len);
	/* The signature, then IHDR first with the window's width and height. */
	assert_true(len > 20000);
	assert_memory_equal(data, "\x89PNG\r\n\x1a\n", 8);
	assert_memory_equal(data + 12, "IHDR", 4);
	assert_int_equal(s_be32(data + 16), 1200);
	assert_int_equal(s_be32(data + 20), 3000);
	free(data);
	s_keep(html, "report.html");
	s_keep(png, "report.png");

	snprintf(flag, sizeof flag, "--print-to-pdf=%s", pdf);
	assert_int_equal(s_chromium(d, flag, url), 0);
	char *doc = s_slurp(pdf, &len);
	assert_true(len > 5000);
	assert_memory_equal(doc, "%PDF-", 5);
	/* A page per provider and one for the major incidents, at least: the page tree's count. */
	/* A PDF holds NUL bytes: memmem(), not strstr(). */
	const char *count = memmem(doc, len, "/Count ", 7);
	if (count == NULL || atoi(count + 7) < 3)
		fail_msg("the PDF should have 3 pages or more (%.12s)", count ? count : "no /Count");
	free(doc);
	h_pass(d);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "browser") == 0) {
		if (access(CHROMIUM, X_OK) != 0) {
			printf("skipped: %s is not installed (Debian package chromium; "
			       "scripts/deps-test installs it)\n",
			       CHROMIUM);
			return 77;
		}
		const struct CMUnitTest browser[] = {
			cmocka_unit_test_setup_teardown(test_report_html_browser, setup_html,
							teardown_daemon),
		};
		return cmocka_run_group_tests_name("browser/report_html", browser, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report_html, setup_html, teardown_daemon),
		cmocka_unit_test_setup_teardown(test_report_html_usage, setup_html,
						teardown_daemon),
	};
	return cmocka_run_group_tests_name("integration/report_html", tests, NULL, NULL);
}
