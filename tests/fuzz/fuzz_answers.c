/*
 * fuzz_answers: parsers of what servers answer: the LLM's completion
 * (llm_parse_answer: one trimmed line into a fixed buffer), the error text
 * of an InfluxDB answer body (influx_error_text), and alert-api's
 * acknowledgements log replayed at start (store_acklog_open over a file
 * holding the input). Outputs must be terminated, one line, within size.
 *
 * Input: byte 0 picks the output buffer size (1..64), the rest is the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "influx.h"
#include "llm.h"
#include "store.h"
#include "fuzz.h"

static void
one_line(const char *out, size_t size, const char *what)
{
	const char *nul = memchr(out, '\0', size);

	FUZZ_CHECK(nul != NULL, "%s: not terminated", what);
	FUZZ_CHECK(!memchr(out, '\n', (size_t)(nul - out)) &&
		   !memchr(out, '\r', (size_t)(nul - out)),
		   "%s: '%s' is not one line", what, out);
}

static void
acklog(const uint8_t *data, size_t size)
{
	static char path[64];
	struct store *s;
	size_t replayed = 0, bad = 0;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/dev/shm/fuzz_acklog.%d",
			 (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return;
	if (size)
		fwrite(data, 1, size, f);
	fclose(f);
	s = store_new(10);
	if (!s)
		abort();
	(void)store_acklog_open(s, path, &replayed, &bad);
	store_free(s);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body, *out;
	size_t osize;

	if (size < 1)
		return 0;
	osize = (size_t)(data[0] % 64) + 1;
	body = malloc(size - 1 ? size - 1 : 1);	/* exact size, no NUL */
	out = malloc(osize);
	if (!body || !out)
		abort();
	if (size > 1)
		memcpy(body, data + 1, size - 1);
	memset(out, 'X', osize);
	if (llm_parse_answer(body, size - 1, out, osize) == 0)
		one_line(out, osize, "llm answer");
	memset(out, 'X', osize);
	influx_error_text(body, size - 1, out, osize);
	one_line(out, osize, "influx error text");
	acklog(data + 1, size - 1);
	free(body);
	free(out);
	return 0;
}
