/*
 * testutil: small helpers shared by the unit tests (no suite of its own).
 */
#ifndef SENSORPIPE_TESTUTIL_H
#define SENSORPIPE_TESTUTIL_H

/* Reads a whole file into a malloc'd, NUL-terminated string ("" when the
 * file is missing); the caller frees it. */
char *test_read_file(const char *path);

#endif
