/*
 * conf_file: the configuration file: read, parsed (core/config.h) with the system's checks,
 * and its permissions looked at.
 */
#ifndef INCIDENTD_DAEMON_SYS_CONF_FILE_H
#define INCIDENTD_DAEMON_SYS_CONF_FILE_H

#include "daemon/core/config.h"

/* The checks config_parse() asks of this system: time zones through tz_exists(). */
extern const config_env_t conf_file_env;

/*
 * Reads and parses the file at path. An unreadable file is one error "FILE: reason" in diag;
 * otherwise as config_parse(). A file that holds hook secrets and is readable by others is
 * accepted with a warning in the log. Returns the config or NULL; with text_out, the text
 * read goes there (malloc'd; NULL when the file could not be read).
 */
config_t *conf_file_load(const char *path, char **text_out, config_diag_t *diag);

#endif
