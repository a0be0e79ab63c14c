/*
 * fuzz_keyfile: proto/keyfile.c, CURVE key files as the daemon and the client read them.
 *
 * Properties: keyfile_parse() either fails with a message or yields at least one key, each
 * of which keyfile_z85_ok() accepts; what it yields, written by keyfile_format(), parses back
 * to the same keys. keyfile_z85_ok() on the raw text agrees with a plain reading of Z85.
 */
#include "tests/fuzz/fuzz.h"

#include "proto/keyfile.h"

/* Z85 (ZeroMQ RFC 32) read the plain way, for comparison with keyfile_z85_ok(). */
static int s_z85_value(char c)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     ".-:+=^!/*?&<>()[]{}@%$#";
	for (int i = 0; i < 85; i++)
		if (digits[i] == c)
			return i;
	return -1;
}

static bool s_z85_plain(const char *text)
{
	if (strlen(text) != KEYFILE_Z85_LEN)
		return false;
	for (size_t group = 0; group < KEYFILE_Z85_LEN; group += 5) {
		uint64_t value = 0;
		for (size_t i = group; i < group + 5; i++) {
			int digit = s_z85_value(text[i]);
			if (digit < 0)
				return false;
			value = value * 85 + (uint64_t)digit;
		}
		if (value > UINT32_MAX)
			return false;
	}
	return true;
}

static void s_check_parse(const char *text)
{
	keyfile_t kf, back;
	char err[128] = "", buf[256];
	if (keyfile_parse(text, &kf, err, sizeof err) != 0) {
		if (err[0] == '\0' || !memchr(err, '\0', sizeof err))
			FUZZ_FAIL("keyfile_parse failed without a message");
		return;
	}
	if (kf.public_key[0] == '\0' && kf.secret_key[0] == '\0')
		FUZZ_FAIL("keyfile_parse succeeded with no key");
	if ((kf.public_key[0] && !keyfile_z85_ok(kf.public_key)) ||
	    (kf.secret_key[0] && !keyfile_z85_ok(kf.secret_key)))
		FUZZ_FAIL("keyfile_parse yielded a key keyfile_z85_ok refuses");
	/* keyfile_format() writes a public key, with or without the secret. */
	if (kf.public_key[0] == '\0')
		return;
	const char *secret = kf.secret_key[0] ? kf.secret_key : NULL;
	if (keyfile_format(kf.public_key, secret, buf, sizeof buf) < 0)
		FUZZ_FAIL("keyfile_format failed on keys keyfile_parse yielded");
	if (keyfile_parse(buf, &back, err, sizeof err) != 0 || memcmp(&kf, &back, sizeof kf) != 0)
		FUZZ_FAIL("the formatted key file does not parse back: %s", buf);
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
	s_check_parse(text);
	if (keyfile_z85_ok(text) != s_z85_plain(text))
		FUZZ_FAIL("keyfile_z85_ok(\"%s\") is %d", text, (int)keyfile_z85_ok(text));
	free(text);
	return 0;
}
