/*
 * unit_tmpdir: removing a test's temporary directory (a real store in it) with everything
 * under it. Header-only: the unit tests and the fuzzers are separate executables.
 */
#ifndef INCIDENTD_TESTS_UNIT_UNIT_TMPDIR_H
#define INCIDENTD_TESTS_UNIT_UNIT_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int unit_rm_entry(const char *path, const struct stat *st, int flag,
				struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything under it, depth first, not following links. */
static inline void unit_rm_rf(const char *dir)
{
	nftw(dir, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
