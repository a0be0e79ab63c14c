/*
 * keyfile: CURVE key pairs as incidentd's files hold them, shared by daemon and client.
 *
 * A key file is text, one "name = value" per line ('#' or ';' starts a comment line):
 *
 *     public = <40 characters of Z85>     the public key (32 bytes)
 *     secret = <40 characters of Z85>     the secret key, only in a pair's file (mode 0600)
 *
 * `incidentctl keygen FILE` writes FILE (both lines) and FILE.pub (the public line). Pure code:
 * reading the file, and checking its mode, are the caller's.
 */
#ifndef INCIDENTD_PROTO_KEYFILE_H
#define INCIDENTD_PROTO_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

/* The length of a key in Z85, and of a buffer that holds one with its NUL. */
#define KEYFILE_Z85_LEN 40
#define KEYFILE_Z85_BUFSZ 41

typedef struct {
	char public_key[KEYFILE_Z85_BUFSZ]; /* "" when the file has none */
	char secret_key[KEYFILE_Z85_BUFSZ]; /* "" when the file has none */
} keyfile_t;

/*
 * True when text is exactly one key in Z85: 40 characters of the Z85 alphabet whose every
 * group of 5 encodes a 32-bit value.
 */
bool keyfile_z85_ok(const char *text);

/* The length of a key in binary. */
#define KEYFILE_KEY_BYTES 32

/*
 * Decodes a key in Z85 (keyfile_z85_ok() must hold) into its 32 bytes. Returns 0, or -1 when
 * text is not a key.
 */
int keyfile_z85_decode(const char *text, unsigned char out[KEYFILE_KEY_BYTES]);

/*
 * Parses the text of a key file into *out. Fails on an unknown name, a repeated one, a value
 * that is not a key, or a line that is not "name = value"; the message ("line N: ...") goes
 * to err (errlen bytes). A file may hold a public key, a secret key or both; the caller says
 * which it needs. Returns 0 or -1.
 */
int keyfile_parse(const char *text, keyfile_t *out, char *err, size_t errlen);

/*
 * Writes the text of a key file holding public_key and, when secret_key is not NULL, the secret
 * too, into buf (len bytes). Returns the length, or -1 when it does not fit.
 */
int keyfile_format(const char *public_key, const char *secret_key, char *buf, size_t len);

#endif
