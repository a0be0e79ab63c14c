/*
 * tz: the process's time zone. See tz.h.
 */
#include "daemon/sys/tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/core/calendar.h"

/* Where the C library looks for zone files unless TZDIR says otherwise. */
#define TZ_ZONEINFO_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 255

bool tz_exists(const char *name)
{
	if (name == NULL || name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL ||
	    strlen(name) > TZ_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") !=
		    strlen(name))
		return false;
	const char *dir = getenv("TZDIR");
	char path[1024];
	struct stat st;
	int n = snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : TZ_ZONEINFO_DIR, name);
	return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int tz_use(const char *name)
{
	if (!tz_exists(name))
		return -EINVAL;
	if (setenv("TZ", name, 1) != 0)
		return -errno;
	tzset();
	calendar_zone_changed();
	return 0;
}
