/*
 * test_tmpdir.h - removal of a unit test's temporary directory tree (the
 * suites that open stores make one per test in setup and remove it in
 * teardown).
 */
#ifndef MESHGATE_TEST_TMPDIR_H
#define MESHGATE_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int test_rm_entry(const char *path, const struct stat *st, int flag,
                                struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it (symbolic links are not followed). */
static inline void test_tmpdir_remove(const char *dir)
{
    nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
