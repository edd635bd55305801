/*
 * fuzz_rfc3339: rfc3339_parse on arbitrary bytes; a parsed time formats and
 * parses back to the same nanosecond. Also formats arbitrary int64 values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);	/* exact size: no NUL after */
	char buf[RFC3339_MAX];
	int64_t ns, ns2;
	const char *why = NULL;
	size_t n;
	enum rfc3339_err err;

	if (!s)
		return 0;
	if (size)
		memcpy(s, data, size);
	err = rfc3339_parse_why(s, size, &ns, &why);
	FUZZ_CHECK(why != NULL, "why not set");
	if (err == RFC3339_OK) {
		n = rfc3339_format(ns, buf);
		FUZZ_CHECK(n < RFC3339_MAX && strlen(buf) == n, "len %zu", n);
		err = rfc3339_parse(buf, n, &ns2);
		FUZZ_CHECK(err == RFC3339_OK && ns2 == ns,
			   "'%.*s' -> %lld -> '%s' -> %d %lld", (int)size, s,
			   (long long)ns, buf, (int)err, (long long)ns2);
	}
	if (size >= 8) {
		int64_t v;

		memcpy(&v, data, 8);
		n = rfc3339_format(v, buf);
		FUZZ_CHECK(n < RFC3339_MAX && strlen(buf) == n, "len %zu", n);
		err = rfc3339_parse(buf, n, &ns2);
		FUZZ_CHECK(err == RFC3339_OK && ns2 == v,
			   "%lld -> '%s' -> %d %lld", (long long)v, buf,
			   (int)err, (long long)ns2);
	}
	free(s);
	return 0;
}
