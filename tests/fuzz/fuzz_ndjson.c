/*
 * fuzz_ndjson: the NDJSON reader over a pipe with a small max line, the
 * input fed in chunks of a fuzzed size. Every line returned must be what a
 * simple model of the contract gives (split at '\n', "\r" removed, blank,
 * over-long and NUL lines skipped): no '\n', no NUL, len <= max, NUL-
 * terminated, in order.
 *
 * Input: byte 0 = max_line - 1 (1..256), byte 1 = chunk size - 1, rest data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"
#include "fuzz.h"

struct model {
	const unsigned char *d;
	size_t n, pos;
	size_t max;
};

/* The next line the model expects, or false at the end. */
static bool
model_next(struct model *m, const unsigned char **line, size_t *len)
{
	while (m->pos < m->n) {
		const unsigned char *p = m->d + m->pos;
		const unsigned char *nl = memchr(p, '\n', m->n - m->pos);
		size_t l = nl ? (size_t)(nl - p) : m->n - m->pos;
		size_t full = l;
		bool blank = true;

		m->pos += l + (nl ? 1 : 0);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		for (size_t i = 0; i < l; i++)
			if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
				blank = false;
		if (blank)
			continue;
		(void)full;
		if (l > m->max || memchr(p, '\0', l))
			continue;
		*line = p;
		*len = l;
		return true;
	}
	return false;
}

static void
expect(struct model *m, const char *line, size_t len)
{
	const unsigned char *ml;
	size_t mlen;

	FUZZ_CHECK(len <= m->max, "len %zu > max %zu", len, m->max);
	FUZZ_CHECK(!memchr(line, '\n', len), "newline in line");
	FUZZ_CHECK(!memchr(line, '\0', len), "NUL in line");
	FUZZ_CHECK(line[len] == '\0', "not NUL-terminated");
	FUZZ_CHECK(model_next(m, &ml, &mlen), "extra line '%.*s'", (int)len,
		   line);
	FUZZ_CHECK(mlen == len && memcmp(ml, line, len) == 0,
		   "got '%.*s' (%zu), model '%.*s' (%zu)", (int)len, line, len,
		   (int)mlen, (const char *)ml, mlen);
}

/* Reads until TIMEOUT (timeout 0) or EOF (timeout -1). */
static enum ndjson_err
drain(struct ndjson_reader *r, struct model *m, int timeout)
{
	const char *line;
	size_t len;
	enum ndjson_err err;

	for (;;) {
		err = ndjson_read(r, &line, &len, timeout);
		if (err == NDJSON_OK) {
			expect(m, line, len);
			continue;
		}
		if (err == NDJSON_ERR_TOOLONG || err == NDJSON_ERR_NUL)
			continue;
		FUZZ_CHECK(err == NDJSON_TIMEOUT || err == NDJSON_EOF,
			   "unexpected %s", ndjson_strerror(err));
		return err;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ndjson_reader r;
	struct model m;
	int fds[2];
	size_t chunk, off = 0;
	const unsigned char *ml;
	size_t mlen;

	if (size < 2 || size > 60000)
		return 0;
	memset(&m, 0, sizeof(m));
	m.max = (size_t)data[0] + 1;
	chunk = (size_t)data[1] + 1;
	m.d = data + 2;
	m.n = size - 2;
	if (pipe2(fds, O_CLOEXEC) != 0)
		abort();
	FUZZ_CHECK(ndjson_reader_init(&r, fds[0], m.max) == NDJSON_OK, "init");
	while (off < m.n) {
		size_t k = m.n - off < chunk ? m.n - off : chunk;

		FUZZ_CHECK(write(fds[1], m.d + off, k) == (ssize_t)k, "write");
		off += k;
		drain(&r, &m, 0);
	}
	close(fds[1]);
	FUZZ_CHECK(drain(&r, &m, -1) == NDJSON_EOF, "no EOF");
	FUZZ_CHECK(!model_next(&m, &ml, &mlen), "line '%.*s' never returned",
		   (int)mlen, (const char *)ml);
	ndjson_reader_release(&r);
	close(fds[0]);
	return 0;
}
