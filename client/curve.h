/*
 * curve: a client's CURVE credentials. Its own key pair comes from a key file written by
 * `incidentctl keygen` (proto/keyfile.h holds the format), the daemon's public key from a key
 * given as text or from a key file; curve_apply() puts the three keys on a ZeroMQ socket before
 * it connects.
 *
 * Nothing here prints: failures are described in the caller's buffer, as one sentence that
 * names the option (or variable) and the file, so that incidentctl and the benchmark can say
 * them in their own words.
 */
#ifndef INCIDENTD_CLIENT_CURVE_H
#define INCIDENTD_CLIENT_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/keyfile.h"

/* A key file is a few lines; anything longer is not one. */
#define CURVE_FILE_MAX 4096
/* Room for any message of this module. */
#define CURVE_ERRSZ 512

/* The keys of a CURVE connection; all "" while CURVE is off. */
typedef struct {
	bool on;                                 /* all three keys are set: connect with CURVE */
	char server_key[KEYFILE_Z85_BUFSZ];      /* the daemon's public key, Z85 */
	char public_key[KEYFILE_Z85_BUFSZ];      /* ours, Z85 */
	char secret_key[KEYFILE_Z85_BUFSZ];      /* ours, Z85 */
} curve_t;

/*
 * Reads the client's key pair from the key file at path into out->public_key and
 * out->secret_key. The file must be a regular file that neither group nor others can read (as
 * ssh does for its keys), hold both lines, and its public key must be the secret key's.
 * from names where path came from in messages ("--key", "$INCIDENTD_KEY").
 * Returns 0, or -1 with the reason in err (errlen bytes): "--key a.key: permissions 0644 are
 * too open ...".
 */
int curve_read_pair(const char *path, const char *from, curve_t *out, char *err, size_t errlen);

/*
 * Reads the daemon's public key into out->server_key: text is either the key itself (40
 * characters of Z85) or the path of a key file that holds a public key (a FILE.pub from
 * keygen, or a pair file, whose secret is then ignored). from as above ("--server-key",
 * "$INCIDENTD_SERVER_KEY"). Returns 0, or -1 with the reason in err.
 */
int curve_read_server_key(const char *text, const char *from, curve_t *out, char *err,
			  size_t errlen);

/*
 * Loads the keys of a connection: nothing when both key_file and server_key are NULL (CURVE
 * off), else both files/keys as the two functions above do. One without the other is an error
 * naming the missing one. key_from and server_from as above. Returns 0, or -1 with the reason
 * in err; out is set to CURVE off on any failure.
 */
int curve_load(const char *key_file, const char *key_from, const char *server_key,
	       const char *server_from, curve_t *out, char *err, size_t errlen);

/*
 * Makes sock (not yet connected) a CURVE client with creds' keys; does nothing when CURVE is
 * off. Returns 0, or a negative errno from zmq_setsockopt() (EINVAL when libzmq was built
 * without CURVE).
 */
int curve_apply(const curve_t *creds, void *sock);

#endif
