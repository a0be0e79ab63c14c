/*
 * conf_file: the configuration file. See conf_file.h.
 */
#include "daemon/sys/conf_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/sys/log.h"
#include "daemon/sys/tz.h"

/* The largest key file read: a pair's is 100 bytes; comments are welcome, novels are not. */
#define KEY_FILE_MAX 4096

static int s_read_key_file(const char *path, bool secret, keyfile_t *out, char *err,
			   size_t errlen);

const config_env_t conf_file_env = { .zone_exists = tz_exists, .read_key_file = s_read_key_file };

/* The whole file as a NUL-terminated text (malloc'd), or NULL with errno set. */
static char *s_read_all(FILE *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[8192];
	size_t n;
	if (mem == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, mem);
	int failed = ferror(f) || ferror(mem);
	int saved = failed ? (errno ? errno : EIO) : 0;
	fclose(mem);
	if (failed) {
		free(text);
		errno = saved;
		return NULL;
	}
	return text;
}

/* True when some hook of cfg holds a secret. */
static bool s_has_secrets(const config_t *cfg)
{
	for (size_t i = 0; i < cfg->n_hooks; i++)
		if (cfg->hooks[i].secret)
			return true;
	return false;
}

/*
 * Reads a key file (keyfile.h). A secret key file must hold both keys and be readable by its
 * owner only: a secret others can read is no secret, and the daemon would be lying about who
 * spoke to it.
 */
static int s_read_key_file(const char *path, bool secret, keyfile_t *out, char *err,
			   size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char text[KEY_FILE_MAX + 1], why[160];
	if (f == NULL || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	size_t n = fread(text, 1, sizeof text - 1, f);
	int failed = ferror(f);
	fclose(f);
	text[n] = '\0';
	if (failed || n == KEY_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, failed ? "cannot be read" : "too large for a key file");
		return -1;
	}
	if (secret && (st.st_mode & (S_IRGRP | S_IROTH))) {
		snprintf(err, errlen, "%s is readable by group or others (mode %03o): chmod 600 %s", path,
			 (unsigned)(st.st_mode & 0777), path);
		return -1;
	}
	int rc = keyfile_parse(text, out, why, sizeof why);
	explicit_bzero(text, sizeof text);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	if (secret && (out->secret_key[0] == '\0' || out->public_key[0] == '\0')) {
		snprintf(err, errlen, "%s: a key pair needs both public and secret (incidentctl keygen)",
			 path);
		return -1;
	}
	return 0;
}

config_t *conf_file_load(const char *path, char **text_out, config_diag_t *diag)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char *text = f ? s_read_all(f) : NULL;
	int saved = errno;
	bool stat_ok = f && fstat(fileno(f), &st) == 0;
	if (f)
		fclose(f);
	if (text_out)
		*text_out = NULL;
	if (text == NULL) {
		config_diag_add(diag, "%s: %s", path, strerror(saved));
		return NULL;
	}
	config_t *cfg = config_parse(text, path, &conf_file_env, diag);
	if (text_out)
		*text_out = text;
	else
		free(text);
	/* A secret others can read is no secret; still, refusing to start would stop alerts. */
	if (cfg && stat_ok && (st.st_mode & S_IROTH) && s_has_secrets(cfg))
		log_warnx("%s holds hook secrets and is readable by others (mode %03o): "
			  "chmod o-r %s", path, (unsigned)(st.st_mode & 0777), path);
	return cfg;
}
