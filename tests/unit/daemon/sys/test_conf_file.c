/*
 * Tests of daemon/sys/conf_file.c and daemon/sys/tz.c: the configuration file as the daemon
 * reads it (messages naming the file as given, the system's time zones) and the one zone check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sys/conf_file.h"
#include "daemon/sys/tz.h"

/* Writes text to a new temporary file; path_out holds its name. */
static void s_write_temp(char *path_out, const char *text)
{
	strcpy(path_out, "/tmp/test_conf_file_XXXXXX");
	int fd = mkstemp(path_out);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_load(void **state)
{
	(void)state;
	config_diag_t diag = {0};
	assert_null(conf_file_load("/nonexistent/incidentd.conf", NULL, &diag));
	assert_int_equal(diag.n, 1);
	assert_string_equal(diag.lines[0], "/nonexistent/incidentd.conf: No such file or directory");
	config_diag_release(&diag);

	/* Messages name the file as given; CRLF line ends are fine. */
	char path[64];
	s_write_temp(path, "[daemon]\r\ndata_dir = /srv/x\r\n\r\n[stages]\r\nfinal = closed\r\n");
	assert_null(conf_file_load(path, NULL, &diag));
	assert_int_equal(diag.n, 1);
	char expected[128];
	snprintf(expected, sizeof expected, "%s:5: stages: unknown key \"final\"", path);
	assert_string_equal(diag.lines[0], expected);
	config_diag_release(&diag);
	unlink(path);

	s_write_temp(path, "[daemon]\r\ndata_dir = /srv/x\r\n");
	config_t *cfg = conf_file_load(path, NULL, &diag);
	assert_non_null(cfg);
	assert_string_equal(cfg->data_dir, "/srv/x");
	config_destroy(&cfg);
	unlink(path);
}

/* The zone database decides, through the one check of tz.c. */
static void test_zones(void **state)
{
	(void)state;
	assert_true(tz_exists("Europe/London"));
	assert_true(tz_exists("America/New_York"));
	assert_true(tz_exists("UTC"));
	assert_false(tz_exists("Mars/Olympus"));
	assert_false(tz_exists("Europe"));           /* a directory, not a zone */
	assert_false(tz_exists("../../etc/passwd")); /* never outside the database */
	assert_false(tz_exists("/etc/localtime"));
	assert_false(tz_exists(""));
	assert_false(tz_exists(NULL));

	char path[64];
	s_write_temp(path, "[calendar]\ntimezone = Mars/Olympus\n");
	config_diag_t diag = {0};
	assert_null(conf_file_load(path, NULL, &diag));
	assert_int_equal(diag.n, 1);
	char expected[256];
	snprintf(expected, sizeof expected,
		 "%s:2: calendar: timezone: unknown time zone \"Mars/Olympus\" (not in the system's "
		 "zone database)", path);
	assert_string_equal(diag.lines[0], expected);
	config_diag_release(&diag);
	unlink(path);

	/* tz_use refuses what tz_exists refuses, and changes nothing then. */
	assert_int_equal(tz_use("Mars/Olympus"), -22 /* -EINVAL */);
	assert_int_equal(tz_use("America/New_York"), 0);
	assert_string_equal(getenv("TZ"), "America/New_York");
	assert_int_equal(tz_use("Nowhere/Else"), -22);
	assert_string_equal(getenv("TZ"), "America/New_York");
}

/* A file with hook secrets that others can read loads, with a warning on stderr. */
static void test_secret_readable_by_others(void **state)
{
	(void)state;
	char path[64], log[64];
	s_write_temp(path, "[hook web]\nurl = http://127.0.0.1:9/x\nsecret = s3cret\n");
	s_write_temp(log, "");
	int saved = dup(STDERR_FILENO), fd = open(log, O_WRONLY | O_TRUNC);
	assert_true(saved >= 0 && fd >= 0);

	chmod(path, 0644);
	dup2(fd, STDERR_FILENO);
	config_diag_t diag = {0};
	config_t *cfg = conf_file_load(path, NULL, &diag);
	chmod(path, 0640);
	config_t *quiet = conf_file_load(path, NULL, &diag);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);

	assert_non_null(cfg);
	assert_non_null(quiet);
	assert_int_equal(diag.n, 0);
	config_destroy(&cfg);
	config_destroy(&quiet);
	FILE *f = fopen(log, "r");
	char text[2048] = "";
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	char expected[256];
	snprintf(expected, sizeof expected,
		 "%s holds hook secrets and is readable by others (mode 644): chmod o-r %s", path,
		 path);
	char *line = strstr(text, expected);
	assert_non_null(line);
	/* Once: the 0640 file said nothing. */
	assert_null(strstr(strchr(line, '\n'), "readable by others"));
	unlink(path);
	unlink(log);
}

#define PUB "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define SEC "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

/*
 * Key files as the daemon reads them: a client's .pub by its path; the server's pair only when
 * its owner alone can read it.
 */
static void test_key_files(void **state)
{
	(void)state;
	char pair[64], pub[64], conf[64], text[512];
	s_write_temp(pair, "public = " PUB "\nsecret = " SEC "\n");
	s_write_temp(pub, "public = " PUB "\n");
	chmod(pair, 0600);
	snprintf(text, sizeof text, "[security]\ncurve = true\nsecret_key = %s\n"
		 "[client a]\nkey = %s\nrole = operator\n", pair, pub);
	s_write_temp(conf, text);
	config_diag_t diag = {0};
	config_t *cfg = conf_file_load(conf, NULL, &diag);
	assert_non_null(cfg);
	assert_string_equal(cfg->security.secret_key, SEC);
	assert_string_equal(cfg->clients[0].public_key, PUB);
	config_destroy(&cfg);

	/* Readable by the group: refused, naming the file and its mode. */
	chmod(pair, 0640);
	assert_null(conf_file_load(conf, NULL, &diag));
	assert_int_equal(diag.n, 1);
	char expected[512];
	snprintf(expected, sizeof expected,
		 "%s:3: security: secret_key: %s is readable by group or others (mode 640): chmod 600 %s",
		 conf, pair, pair);
	assert_string_equal(diag.lines[0], expected);
	config_diag_release(&diag);

	/* A .pub given as the server's pair: no secret in it. */
	chmod(pub, 0600);
	snprintf(text, sizeof text, "[security]\ncurve = true\nsecret_key = %s\n", pub);
	unlink(conf);
	s_write_temp(conf, text);
	assert_null(conf_file_load(conf, NULL, &diag));
	snprintf(expected, sizeof expected, "%s:3: security: secret_key: %s: a key pair needs both "
		 "public and secret (incidentctl keygen)", conf, pub);
	assert_string_equal(diag.lines[0], expected);
	config_diag_release(&diag);
	unlink(pair);
	unlink(pub);
	unlink(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_secret_readable_by_others),
		cmocka_unit_test(test_key_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
