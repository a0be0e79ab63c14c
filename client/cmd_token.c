/*
 * token [NAME]: a new bearer token for the HTTP listener. The token itself is printed once and
 * kept by whoever will send it; the daemon's config holds only its SHA-256 (token_sha256), so
 * that a copy of the config cannot be used to send events.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/sha.h>

#include "client/args.h"
#include "client/commands.h"

/* Random bytes in a token: 256 bits. */
#define TOKEN_BYTES 32
/* Base64url without padding: 43 characters for 32 bytes. */
#define TOKEN_CHARS ((TOKEN_BYTES * 4 + 2) / 3)

/* Writes len bytes of in as base64url without padding into out (room for the text and NUL). */
static void s_base64url(const unsigned char *in, size_t len, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < len ? in[i + 2] : 0);
		size_t chars = i + 2 < len ? 4 : i + 1 < len ? 3 : 2;
		for (size_t c = 0; c < chars; c++)
			out[o++] = abc[(v >> (18 - 6 * c)) & 63];
	}
	out[o] = '\0';
}

int cmd_token(cli_t *cli, int argc, char **argv)
{
	const args_def_t def = {.name = "token", .more = true};
	char *pos[argc > 0 ? argc : 1];
	int status, npos;
	if (!args_parse(cli, argc, argv, &def, NULL, pos, &npos, &status))
		return status;
	if (npos > 1)
		return cli_usage_error("token: expected at most one NAME");
	const char *name = npos == 1 ? pos[0] : "NAME";
	unsigned char raw[TOKEN_BYTES], sha[SHA256_DIGEST_LENGTH];
	char token[TOKEN_CHARS + 1];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		fprintf(stderr, "incidentctl: token: getrandom: %s\n", strerror(errno));
		return CLI_EXIT_REFUSED;
	}
	s_base64url(raw, sizeof raw, token);
	explicit_bzero(raw, sizeof raw);
	SHA256((const unsigned char *)token, strlen(token), sha);
	printf("token: %s\n"
	       "token_sha256 = ", token);
	for (size_t i = 0; i < sizeof sha; i++)
		printf("%02x", sha[i]);
	printf("\n\nGive the token to the sender (Authorization: Bearer TOKEN) and add to the "
	       "daemon's config\n(role provider with providers = P, ..., operator or viewer; "
	       "SIGHUP applies it):\n\n"
	       "    [client %s]\n"
	       "    token_sha256 = ", name);
	for (size_t i = 0; i < sizeof sha; i++)
		printf("%02x", sha[i]);
	printf("\n    role = provider\n    providers = PROVIDER\n");
	explicit_bzero(token, sizeof token);
	return CLI_EXIT_OK;
}
