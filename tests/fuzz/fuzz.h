/*
 * fuzz.h: helpers shared by the libFuzzer targets of tests/fuzz.
 * An invariant that fails aborts, so libFuzzer saves the input as a crash.
 */
#ifndef SENSORPIPE_FUZZ_H
#define SENSORPIPE_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz invariant failed: %s: ",	\
				#cond);					\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

/* A NUL-terminated copy of data (caller frees). */
static inline char *
fuzz_strndup(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Splits data at the first byte sep: a, alen before it, b, blen after (the
 * whole input is a when there is no sep). */
static inline void
fuzz_split(const unsigned char *data, size_t size, unsigned char sep,
	   const unsigned char **a, size_t *alen, const unsigned char **b,
	   size_t *blen)
{
	const unsigned char *p = size ? memchr(data, sep, size) : NULL;

	*a = data;
	if (!p) {
		*alen = size;
		*b = data + size;
		*blen = 0;
		return;
	}
	*alen = (size_t)(p - data);
	*b = p + 1;
	*blen = size - *alen - 1;
}

#endif
