/*
 * keygen FILE: a new CURVE key pair, for a person or a program that connects to the daemon, or
 * for the daemon itself. FILE holds the pair and is readable by its owner only; FILE.pub holds
 * the public key, which may be handed around. Nothing is ever overwritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "client/args.h"
#include "client/commands.h"
#include "proto/keyfile.h"

/* Modes of the two files, whatever the umask. */
#define KEYGEN_PAIR_MODE 0600
#define KEYGEN_PUBLIC_MODE 0644

/*
 * Creates path (it must not exist) with mode whatever the umask, and writes text to it.
 * Returns 0, or a negative errno with path not left behind.
 */
static int s_write_new(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* The umask narrowed the mode given to open(); fchmod() is not subject to it. */
	int rc = fchmod(fd, mode) == 0 ? 0 : -errno;
	size_t len = strlen(text), done = 0;
	while (rc == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc != 0)
		unlink(path);
	return rc;
}

/* Refuses to go on when path exists (or cannot be looked at). Returns 0 or CLI_EXIT_REFUSED. */
static int s_check_absent(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		fprintf(stderr, "incidentctl: keygen: %s exists; not overwriting it\n", path);
		return CLI_EXIT_REFUSED;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "incidentctl: keygen: %s: %s\n", path, strerror(errno));
		return CLI_EXIT_REFUSED;
	}
	return CLI_EXIT_OK;
}

/* Writes both files for the pair. Returns an exit status. */
static int s_write_pair(const char *path, const char *pub_path, const char *public_key,
			const char *secret_key)
{
	char text[256];
	int rc = keyfile_format(public_key, secret_key, text, sizeof text) < 0 ? -EOVERFLOW : 0;
	if (rc == 0)
		rc = s_write_new(path, KEYGEN_PAIR_MODE, text);
	explicit_bzero(text, sizeof text);
	if (rc != 0) {
		fprintf(stderr, "incidentctl: keygen: cannot write %s: %s\n", path, strerror(-rc));
		return CLI_EXIT_REFUSED;
	}
	rc = keyfile_format(public_key, NULL, text, sizeof text) < 0 ? -EOVERFLOW : 0;
	if (rc == 0)
		rc = s_write_new(pub_path, KEYGEN_PUBLIC_MODE, text);
	if (rc != 0) {
		/* Half a pair is no use: FILE goes too, so that the same command can run again. */
		unlink(path);
		fprintf(stderr, "incidentctl: keygen: cannot write %s: %s\n", pub_path,
			strerror(-rc));
		return CLI_EXIT_REFUSED;
	}
	return CLI_EXIT_OK;
}

/* What to do with the new key, on stdout. */
static void s_print_done(const char *path, const char *pub_path, const char *public_key)
{
	printf("public key: %s\n"
	       "wrote %s (the key pair, mode 0600) and %s (the public key, mode 0644)\n"
	       "\n"
	       "To let this key in, add a section to the daemon's config (NAME is recorded as\n"
	       "\"by\"; role is provider, with providers = P, ..., operator or viewer):\n"
	       "\n"
	       "    [client NAME]\n"
	       "    key = %s\n"
	       "    role = operator\n"
	       "\n"
	       "and connect with: incidentctl --key %s --server-key DAEMON_KEY COMMAND\n",
	       public_key, path, pub_path, public_key, path);
}

int cmd_keygen(cli_t *cli, int argc, char **argv)
{
	static const char *const positional[] = {"FILE", NULL};
	const args_def_t def = {.name = "keygen", .positional = positional};
	char *pos[1];
	int status, npos;
	if (!args_parse(cli, argc, argv, &def, NULL, pos, &npos, &status))
		return status;
	const char *path = pos[0];
	char pub_path[PATH_MAX];
	int len = snprintf(pub_path, sizeof pub_path, "%s.pub", path);
	if (path[0] == '\0' || len < 0 || (size_t)len >= sizeof pub_path)
		return cli_usage_error("keygen: bad FILE '%s'", path);
	if ((status = s_check_absent(path)) != CLI_EXIT_OK ||
	    (status = s_check_absent(pub_path)) != CLI_EXIT_OK)
		return status;
	char public_key[KEYFILE_Z85_BUFSZ], secret_key[KEYFILE_Z85_BUFSZ];
	if (zmq_curve_keypair(public_key, secret_key) != 0) {
		fprintf(stderr, "incidentctl: keygen: %s\n",
			errno == ENOTSUP ? "this build of libzmq has no CURVE"
					 : zmq_strerror(errno));
		return CLI_EXIT_REFUSED;
	}
	status = s_write_pair(path, pub_path, public_key, secret_key);
	explicit_bzero(secret_key, sizeof secret_key);
	if (status == CLI_EXIT_OK)
		s_print_done(path, pub_path, public_key);
	return status;
}
