/*
 * fuzz_journal: a journal directory whose cursor file and segment hold
 * arbitrary bytes: journal_cursor_load, then a reader of that consumer
 * reading every line. Lines must hold no '\n' and be NUL-terminated; the
 * reader's position must stay inside the segment.
 *
 * Input: the cursor file's text up to the first '\n' (its own "\n" added
 * back), then the segment's bytes.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "fuzz.h"

static char dir[64];

static void
put(const char *name, const void *d, size_t n)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (n && write(fd, d, n) != (ssize_t)n))
		abort();
	close(fd);
}

static void
clear(void)
{
	static const char *const names[] = {"cursor.fuzz", "lock.fuzz",
		"dropped.log", "writer.lock", "00000000000000000001.ndjson"};
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
}

/* The directory goes at exit (libFuzzer ends a timed run with exit). */
static void
remove_dir(void)
{
	clear();
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *c, *seg;
	size_t clen, slen, len;
	struct journal_pos pos;
	struct journal_opts o;
	struct journal_reader *r = NULL;
	const char *line;
	char err[256], *cur;
	enum journal_err e;

	if (!dir[0]) {
		log_init("fuzz_journal");
		log_configure(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
		/* tmpfs when there is one: the reader fsyncs its cursor */
		snprintf(dir, sizeof(dir), "/dev/shm/fuzz_journal.XXXXXX");
		if (!mkdtemp(dir)) {
			snprintf(dir, sizeof(dir), "/tmp/fuzz_journal.XXXXXX");
			if (!mkdtemp(dir))
				abort();
		}
		atexit(remove_dir);
	}
	clear();
	fuzz_split(data, size, '\n', &c, &clen, &seg, &slen);
	cur = malloc(clen + 1);
	if (!cur)
		abort();
	memcpy(cur, c, clen);
	cur[clen] = '\n';
	put("cursor.fuzz", cur, clen + 1);
	put("00000000000000000001.ndjson", seg, slen);
	free(cur);
	(void)journal_cursor_load(dir, "fuzz", &pos);

	journal_opts_init(&o);
	o.max_line = 64;
	e = journal_reader_open(&r, dir, "fuzz", &o, err, sizeof(err));
	if (e != JOURNAL_OK) {
		FUZZ_CHECK(r == NULL, "reader set on failure");
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "err");
		return 0;
	}
	for (int i = 0; i < 10000; i++) {
		e = journal_read(r, &line, &len, 0);
		if (e == JOURNAL_OK) {
			FUZZ_CHECK(len <= 64, "line of %zu", len);
			FUZZ_CHECK(!memchr(line, '\n', len) && line[len] == '\0',
				   "bad line");
			continue;
		}
		if (e == JOURNAL_BAD_LINE)
			continue;
		break;
	}
	pos = journal_reader_tell(r);
	FUZZ_CHECK(pos.seg <= 1 && pos.off <= slen, "position %llu:%llu past "
		   "a segment of %zu", (unsigned long long)pos.seg,
		   (unsigned long long)pos.off, slen);
	journal_reader_close(r);
	return 0;
}
