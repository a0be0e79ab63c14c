/*
 * Tests of daemon/log.c: the lines an operator reads on stderr. Each test points fd 2 at a
 * temporary file, logs, and reads back exactly what was written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/sys/log.h"
#include "proto/rfc3339.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int s_saved_stderr = -1;
static FILE *s_capture;

/* Sends fd 2 to a fresh temporary file until s_capture_end(). */
static void s_capture_begin(void)
{
	s_capture = tmpfile();
	assert_non_null(s_capture);
	s_saved_stderr = dup(STDERR_FILENO);
	assert_true(s_saved_stderr >= 0);
	assert_int_equal(dup2(fileno(s_capture), STDERR_FILENO), STDERR_FILENO);
}

/* Restores fd 2 and returns everything written meanwhile (free it). */
static char *s_capture_end(void)
{
	dup2(s_saved_stderr, STDERR_FILENO);
	close(s_saved_stderr);
	rewind(s_capture);
	char *text = calloc(1, 65536);
	assert_non_null(text);
	size_t n = fread(text, 1, 65535, s_capture);
	text[n] = '\0';
	fclose(s_capture);
	return text;
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Checks that text is exactly one line "TIME LEVEL MESSAGE\n", with TIME in UTC milliseconds
 * and within a few seconds of now, and the level padded to five characters.
 */
static void s_assert_line(const char *text, const char *level, const char *message)
{
	regex_t re;
	assert_int_equal(regcomp(&re,
	                         "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
	                         "(info |debug|warn |error) [^\n]*\n$",
	                         REG_EXTENDED | REG_NOSUB),
	                 0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		print_error("bad line: \"%s\"\n", text);
	assert_int_equal(regexec(&re, text, 0, NULL, 0), 0);
	regfree(&re);

	char when[32];
	int64_t ms;
	memcpy(when, text, 24);
	when[24] = '\0';
	assert_int_equal(rfc3339_parse(when, &ms), 0);
	assert_true(llabs(s_now_ms() - ms) < 5000);

	char expected[8192];
	snprintf(expected, sizeof expected, "%-5s %s\n", level, message);
	assert_string_equal(text + 25, expected);
}

static void test_info_line(void **state)
{
	(void)state;
	s_capture_begin();
	log_info("listening on %s", "tcp://127.0.0.1:7420");
	char *text = s_capture_end();
	s_assert_line(text, "info", "listening on tcp://127.0.0.1:7420");
	free(text);
}

static void test_warn_adds_errno(void **state)
{
	(void)state;
	s_capture_begin();
	errno = ENOENT;
	log_warn("open %s", "var/x");
	int after = errno;
	char *text = s_capture_end();
	s_assert_line(text, "warn", "open var/x: No such file or directory");
	assert_int_equal(after, ENOENT); /* the caller may still look at errno */
	free(text);

	s_capture_begin();
	errno = ENOENT;
	log_warnx("delivery %d given up", 7);
	text = s_capture_end();
	s_assert_line(text, "warn", "delivery 7 given up");
	free(text);
}

static void test_debug_only_when_verbose(void **state)
{
	(void)state;
	s_capture_begin();
	log_debug("hidden %d", 1);
	char *text = s_capture_end();
	assert_string_equal(text, "");
	free(text);

	log_set_verbose(true);
	s_capture_begin();
	log_debug("shown %d", 2);
	text = s_capture_end();
	log_set_verbose(false);
	s_assert_line(text, "debug", "shown 2");
	free(text);
}

/*
 * Text from a peer must not be able to start a log line of its own, nor reach an operator's
 * terminal with escape sequences: every control character is written as \xNN.
 */
static void test_one_line_per_event(void **state)
{
	(void)state;
	s_capture_begin();
	log_info("bad request: %s", "x\n2021-01-01T00:00:00.000Z error forged");
	char *text = s_capture_end();
	s_assert_line(text, "info", "bad request: x\\x0a2021-01-01T00:00:00.000Z error forged");
	free(text);

	s_capture_begin();
	log_warnx("title: %s", "\x1b[2J\x1b]0;owned\x07 tab\tcr\rdel\x7f caf\xc3\xa9 \\x41");
	text = s_capture_end();
	s_assert_line(text, "warn",
		      "title: \\x1b[2J\\x1b]0;owned\\x07 tab\\x09cr\\x0ddel\\x7f caf\xc3\xa9 \\x41");
	for (const char *p = text; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f ? true : *p == '\n');
	free(text);

	char *big = malloc(10000);
	assert_non_null(big);
	memset(big, 'a', 9999);
	big[9999] = '\0';
	s_capture_begin();
	log_info("%s", big);
	text = s_capture_end();
	free(big);
	assert_true(strlen(text) > 1000);
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1); /* one line */
	free(text);
}

static void test_fatal_exits_1(void **state)
{
	(void)state;
	s_capture_begin();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		errno = EACCES;
		fatal("cannot open %s", "var/incidentd");
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fatalx("bad config");
	int status_x;
	assert_int_equal(waitpid(pid, &status_x, 0), pid);
	char *text = s_capture_end();

	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	assert_true(WIFEXITED(status_x) && WEXITSTATUS(status_x) == 1);
	char *second = strchr(text, '\n') + 1;
	char *first = strndup(text, (size_t)(second - text));
	s_assert_line(first, "error", "cannot open var/incidentd: Permission denied");
	s_assert_line(second, "error", "bad config");
	free(first);
	free(text);
}

/* Kept lines reach stderr only at the flush, all of them in order; discarded ones never. */
static void test_buffered_lines_after_flush(void **state)
{
	(void)state;
	log_buf_t b = { 0 };
	s_capture_begin();
	log_buf_info(&b, "breach %s", "BRE000000000001");
	log_buf_info(&b, "breach %s", "BRE000000000002");
	log_buf_info(NULL, "at once");
	char *text = s_capture_end();
	s_assert_line(text, "info", "at once");
	free(text);

	s_capture_begin();
	log_buf_flush(&b);
	log_buf_info(&b, "aborted %d", 3);
	log_buf_discard(&b);
	log_buf_flush(&b);
	text = s_capture_end();
	char *second = strchr(text, '\n') + 1;
	char *first = strndup(text, (size_t)(second - text));
	s_assert_line(first, "info", "breach BRE000000000001");
	s_assert_line(second, "info", "breach BRE000000000002");
	free(first);
	free(text);
	log_buf_free(&b);
	assert_null(b.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_line),
		cmocka_unit_test(test_warn_adds_errno),
		cmocka_unit_test(test_debug_only_when_verbose),
		cmocka_unit_test(test_one_line_per_event),
		cmocka_unit_test(test_fatal_exits_1),
		cmocka_unit_test(test_buffered_lines_after_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
