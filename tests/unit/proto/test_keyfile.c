/*
 * Tests of proto/keyfile.c: key files as keygen writes them and people edit them, and what is
 * refused (each with its line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "proto/keyfile.h"

/* Keys from ZeroMQ's CURVE test vectors (zmq_curve_keypair output). */
#define PUB "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define SEC "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

static void test_z85(void **state)
{
	(void)state;
	assert_true(keyfile_z85_ok(PUB));
	assert_true(keyfile_z85_ok(SEC));
	assert_false(keyfile_z85_ok(NULL));
	assert_false(keyfile_z85_ok(""));
	assert_false(keyfile_z85_ok(PUB "x"));                         /* 41 characters */
	assert_false(keyfile_z85_ok("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI")); /* 39 */
	assert_false(keyfile_z85_ok("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{h\"D")); /* not Z85 */
	assert_false(keyfile_z85_ok("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{h D"));
	/* "#####" is 85^5 - 1, more than 32 bits. */
	assert_false(keyfile_z85_ok("#####w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"));
	assert_true(keyfile_z85_ok("%nSc0w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID")); /* 2^32 - 1 */
}

static void test_parse_and_format(void **state)
{
	(void)state;
	char text[256], err[128];
	keyfile_t k;
	assert_int_equal(keyfile_format(PUB, SEC, text, sizeof text), 2 * 50);
	assert_string_equal(text, "public = " PUB "\nsecret = " SEC "\n");
	assert_int_equal(keyfile_parse(text, &k, err, sizeof err), 0);
	assert_string_equal(k.public_key, PUB);
	assert_string_equal(k.secret_key, SEC);

	assert_int_equal(keyfile_format(PUB, NULL, text, sizeof text), 50);
	assert_int_equal(keyfile_parse(text, &k, err, sizeof err), 0);
	assert_string_equal(k.public_key, PUB);
	assert_string_equal(k.secret_key, "");
	assert_int_equal(keyfile_format(PUB, SEC, text, 60), -1);

	/* Comments, blank lines, spaces and CRLF as people write them. */
	assert_int_equal(keyfile_parse("# csp-north\r\n\r\n  secret=" SEC "  \r\n; done\r\n", &k, err,
				       sizeof err), 0);
	assert_string_equal(k.secret_key, SEC);
	assert_string_equal(k.public_key, "");
}

static void s_refused(const char *text, const char *message)
{
	char err[128] = "";
	keyfile_t k;
	assert_int_equal(keyfile_parse(text, &k, err, sizeof err), -1);
	assert_string_equal(err, message);
}

static void test_refused(void **state)
{
	(void)state;
	s_refused("", "no key in the file");
	s_refused("# only a comment\n", "no key in the file");
	s_refused("public " PUB "\n", "line 1: expected \"public = KEY\" or \"secret = KEY\"");
	s_refused("\nprivate = " SEC "\n", "line 2: unknown name \"private\" (expected public or secret)");
	s_refused("public = " PUB "\npublic = " PUB "\n", "line 2: public is given twice");
	s_refused("secret = short\n", "line 1: secret: not a key (40 characters of Z85)");
	s_refused("public = " PUB "x\n", "line 1: public: not a key (40 characters of Z85)");
}

/* The decoding ZeroMQ's RFC 32 gives as its example: "HelloWorld" is 86 4f d2 6f b5 59 f7 5b. */
static void test_decode(void **state)
{
	(void)state;
	unsigned char key[KEYFILE_KEY_BYTES];
	/* Eight repeats of the RFC's "HelloWorld" make a 40-character key. */
	const char *text = "HelloWorldHelloWorldHelloWorldHelloWorld";
	assert_true(keyfile_z85_ok(text));
	assert_int_equal(keyfile_z85_decode(text, key), 0);
	static const unsigned char hello[8] = {0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b};
	for (int i = 0; i < 4; i++)
		assert_memory_equal(key + 8 * i, hello, 8);
	assert_int_equal(keyfile_z85_decode("short", key), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_z85),
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
