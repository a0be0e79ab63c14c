/*
 * curve: a client's CURVE credentials. See curve.h.
 */
#include "client/curve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "proto/errbuf.h"

/*
 * How a message names a value by where it came from: "--key a.key" for an option,
 * "$INCIDENTD_KEY=a.key" for a variable.
 */
static const char *s_origin(const char *from, const char *value, char *buf, size_t len)
{
	snprintf(buf, len, from[0] == '$' ? "%s=%s" : "%s %s", from, value);
	return buf;
}

/*
 * Reads the whole key file at path into text (CURVE_FILE_MAX + 1 bytes) and its status into
 * *st. Returns 0, or -1 with the reason in err, prefixed with origin.
 */
static int s_read_file(const char *path, const char *origin, char *text, struct stat *st,
		       char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_fail(err, errlen, "%s: cannot open: %s", origin, strerror(errno));
	size_t len = 0;
	int rc = fstat(fd, st);
	if (rc == 0 && !S_ISREG(st->st_mode)) {
		close(fd);
		return errbuf_fail(err, errlen, "%s: not a regular file", origin);
	}
	while (rc == 0 && len <= CURVE_FILE_MAX) {
		ssize_t n = read(fd, text + len, CURVE_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		len += (size_t)n;
	}
	int saved = errno;
	close(fd);
	if (rc != 0)
		return errbuf_fail(err, errlen, "%s: cannot read: %s", origin, strerror(saved));
	if (len > CURVE_FILE_MAX)
		return errbuf_fail(err, errlen, "%s: too large to be a key file", origin);
	text[len] = '\0';
	return 0;
}

/* Reads and parses the key file at path; messages start with origin. */
static int s_parse_file(const char *path, const char *origin, keyfile_t *keys, struct stat *st,
			char *err, size_t errlen)
{
	char text[CURVE_FILE_MAX + 1], why[256];
	if (s_read_file(path, origin, text, st, err, errlen) != 0)
		return -1;
	int rc = keyfile_parse(text, keys, why, sizeof why);
	/* The text may hold a secret key: leave no copy of it on the stack. */
	explicit_bzero(text, sizeof text);
	if (rc != 0)
		return errbuf_fail(err, errlen, "%s: %s", origin, why);
	return 0;
}

int curve_read_pair(const char *path, const char *from, curve_t *out, char *err, size_t errlen)
{
	char origin[512];
	s_origin(from, path, origin, sizeof origin);
	keyfile_t keys;
	struct stat st;
	if (s_parse_file(path, origin, &keys, &st, err, errlen) != 0)
		return -1;
	int rc = -1;
	char derived[KEYFILE_Z85_BUFSZ];
	if (keys.secret_key[0] == '\0')
		errbuf_fail(err, errlen,
			    "%s: no secret key in the file (%s takes the key pair written by "
			    "'incidentctl keygen FILE', not FILE.pub)",
			    origin, from);
	else if (st.st_mode & (S_IRGRP | S_IROTH))
		errbuf_fail(
			err, errlen,
			"%s: permissions %04o are too open: the secret key must not be readable by "
			"group or others (chmod 600 %s)",
			origin, (unsigned)(st.st_mode & 07777), path);
	else if (keys.public_key[0] == '\0')
		errbuf_fail(err, errlen, "%s: no public key in the file", origin);
	else if (zmq_curve_public(derived, keys.secret_key) != 0 ||
		 strcmp(derived, keys.public_key) != 0)
		errbuf_fail(err, errlen, "%s: the public key is not the secret key's", origin);
	else
		rc = 0;
	if (rc == 0) {
		memcpy(out->public_key, keys.public_key, sizeof out->public_key);
		memcpy(out->secret_key, keys.secret_key, sizeof out->secret_key);
	}
	explicit_bzero(&keys, sizeof keys);
	return rc;
}

int curve_read_server_key(const char *text, const char *from, curve_t *out, char *err,
			  size_t errlen)
{
	if (keyfile_z85_ok(text)) {
		memcpy(out->server_key, text, KEYFILE_Z85_BUFSZ);
		return 0;
	}
	char origin[512];
	s_origin(from, text, origin, sizeof origin);
	if (access(text, F_OK) != 0)
		return errbuf_fail(err, errlen,
				   "%s: neither a key (40 characters of Z85) nor a key file: %s",
				   origin, strerror(errno));
	keyfile_t keys;
	struct stat st;
	if (s_parse_file(text, origin, &keys, &st, err, errlen) != 0)
		return -1;
	bool has_public = keys.public_key[0] != '\0';
	if (has_public)
		memcpy(out->server_key, keys.public_key, sizeof out->server_key);
	explicit_bzero(&keys, sizeof keys);
	if (!has_public)
		return errbuf_fail(err, errlen, "%s: no public key in the file", origin);
	return 0;
}

int curve_load(const char *key_file, const char *key_from, const char *server_key,
	       const char *server_from, curve_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (key_file == NULL && server_key == NULL)
		return 0;
	char origin[512];
	if (server_key == NULL)
		return errbuf_fail(err, errlen,
				   "%s is %s but not the daemon's public key (--server-key or "
				   "$INCIDENTD_SERVER_KEY): CURVE needs both",
				   s_origin(key_from, key_file, origin, sizeof origin),
				   key_from[0] == '$' ? "set" : "given");
	if (key_file == NULL)
		return errbuf_fail(
			err, errlen,
			"%s is %s but not the client's key pair (--key or $INCIDENTD_KEY): "
			"CURVE needs both",
			s_origin(server_from, server_key, origin, sizeof origin),
			server_from[0] == '$' ? "set" : "given");
	if (curve_read_pair(key_file, key_from, out, err, errlen) != 0 ||
	    curve_read_server_key(server_key, server_from, out, err, errlen) != 0) {
		explicit_bzero(out, sizeof *out);
		return -1;
	}
	out->on = true;
	return 0;
}

int curve_apply(const curve_t *creds, void *sock)
{
	if (!creds->on)
		return 0;
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, creds->server_key, KEYFILE_Z85_LEN) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, creds->public_key, KEYFILE_Z85_LEN) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, creds->secret_key, KEYFILE_Z85_LEN) != 0)
		return -errno;
	return 0;
}
