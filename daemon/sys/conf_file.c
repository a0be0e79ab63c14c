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

const config_env_t conf_file_env = { .zone_exists = tz_exists };

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

config_t *conf_file_load(const char *path, config_diag_t *diag)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char *text = f ? s_read_all(f) : NULL;
	int saved = errno;
	bool stat_ok = f && fstat(fileno(f), &st) == 0;
	if (f)
		fclose(f);
	if (text == NULL) {
		config_diag_add(diag, "%s: %s", path, strerror(saved));
		return NULL;
	}
	config_t *cfg = config_parse(text, path, &conf_file_env, diag);
	free(text);
	/* A secret others can read is no secret; still, refusing to start would stop alerts. */
	if (cfg && stat_ok && (st.st_mode & S_IROTH) && s_has_secrets(cfg))
		log_warnx("%s holds hook secrets and is readable by others (mode %03o): "
			  "chmod o-r %s", path, (unsigned)(st.st_mode & 0777), path);
	return cfg;
}
