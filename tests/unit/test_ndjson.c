/*
 * test_ndjson: the line reader (over-long line skipped whole with bounded
 * memory, NUL, CRLF, blank lines, no final newline, one-byte-at-a-time
 * pipe, timeouts and EINTR, lineno and offsets) and the writer (batching,
 * a line larger than the buffer, EPIPE, ENOSPC on /dev/full).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "ndjson.h"
#include "util.h"
#include "banned.h"

/* A pipe whose write end a thread feeds with `data`, `chunk` bytes at a
 * time with `pause_us` between writes, then closes. */
struct feeder {
	int fd;
	const char *data;
	size_t len;
	size_t chunk;
	unsigned pause_us;
	pthread_t thread;
};

static void *
feeder_run(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0, n;
	ssize_t w;

	while (off < f->len) {
		n = f->len - off < f->chunk ? f->len - off : f->chunk;
		w = write(f->fd, f->data + off, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
		if (f->pause_us)
			usleep(f->pause_us);
	}
	close(f->fd);
	return NULL;
}

/* Returns the read end. */
static int
feeder_start(struct feeder *f, const char *data, size_t len, size_t chunk,
	     unsigned pause_us)
{
	int p[2];

	if (pipe(p) != 0)
		return -1;
	f->fd = p[1];
	f->data = data;
	f->len = len;
	f->chunk = chunk;
	f->pause_us = pause_us;
	if (pthread_create(&f->thread, NULL, feeder_run, f) != 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	return p[0];
}

/* A temporary file holding data, rewound; returns the fd. */
static int
memfile(const char *data, size_t len)
{
	char path[] = "/tmp/sp-ndjson-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, data, len) != (ssize_t)len ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
expect_line(struct ndjson_reader *r, const char *want, uint64_t lineno)
{
	const char *line = NULL;
	size_t len = 0;
	enum ndjson_err rc = ndjson_read(r, &line, &len, -1);

	CU_ASSERT_EQUAL_FATAL(rc, NDJSON_OK);
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT(len == strlen(want) && memcmp(line, want, len) == 0);
	CU_ASSERT_EQUAL(line[len], '\0');
	CU_ASSERT_EQUAL(r->lineno, lineno);
}

static void
expect_rc(struct ndjson_reader *r, enum ndjson_err want)
{
	const char *line;
	size_t len;

	CU_ASSERT_EQUAL(ndjson_read(r, &line, &len, -1), want);
}

static void
test_toolong_5mib(void)
{
	size_t big = 5 * 1024 * 1024;
	size_t total = 6 + big + 1 + 6;
	char *data = malloc(total);
	struct ndjson_reader r;
	struct feeder f;
	int fd;

	CU_ASSERT_FATAL(data != NULL);
	memcpy(data, "first\n", 6);
	memset(data + 6, 'x', big);
	data[6 + big] = '\n';
	memcpy(data + 7 + big, "last\n", 6);
	total = 6 + big + 1 + 5;
	/* Through a pipe in 100 KiB writes: the long line arrives in pieces. */
	fd = feeder_start(&f, data, total, 100 * 1024, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, fd, 0), NDJSON_OK);
	CU_ASSERT_EQUAL(r.max_line, NDJSON_MAX_LINE);
	expect_line(&r, "first", 1);
	CU_ASSERT_EQUAL(r.line_offset, 6);
	expect_rc(&r, NDJSON_ERR_TOOLONG);
	CU_ASSERT_EQUAL(r.lineno, 2);
	CU_ASSERT_EQUAL(r.skipped_len, big);
	CU_ASSERT_EQUAL(r.line_offset, 6 + big + 1);
	expect_line(&r, "last", 3);
	CU_ASSERT_EQUAL(r.line_offset, total);
	expect_rc(&r, NDJSON_EOF);
	/* The buffer never grew past its initial size. */
	CU_ASSERT(r.cap <= NDJSON_MAX_LINE + 128 * 1024);
	pthread_join(f.thread, NULL);
	ndjson_reader_release(&r);
	close(fd);
	free(data);
}

static void
test_toolong_small_max(void)
{
	/* max 4: "abcd" fits, "abcd\r" fits (CR stripped), "abcde" does not,
	 * a long line at EOF without "\n" is still reported. */
	static const char in[] = "abcd\nabcd\r\nabcde\nok\nxxxxxxxxxxxx";
	struct ndjson_reader r;
	int fd = memfile(in, sizeof(in) - 1);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, fd, 4), NDJSON_OK);
	expect_line(&r, "abcd", 1);
	expect_line(&r, "abcd", 2);
	expect_rc(&r, NDJSON_ERR_TOOLONG);
	CU_ASSERT_EQUAL(r.lineno, 3);
	CU_ASSERT_EQUAL(r.skipped_len, 5);
	expect_line(&r, "ok", 4);
	expect_rc(&r, NDJSON_ERR_TOOLONG);
	CU_ASSERT_EQUAL(r.lineno, 5);
	CU_ASSERT_EQUAL(r.skipped_len, 12);
	CU_ASSERT_EQUAL(r.line_offset, sizeof(in) - 1);
	expect_rc(&r, NDJSON_EOF);
	expect_rc(&r, NDJSON_EOF);
	ndjson_reader_release(&r);
	close(fd);
}

static void
test_nul_crlf_blank_nofinal(void)
{
	static const char in[] =
		"a\r\n"			/* 1 */
		"\n"			/* 2 blank */
		"  \t\r\n"		/* 3 blank */
		"b\0c\n"		/* 4 NUL */
		"{\"x\":1}\n"		/* 5 */
		"\r\n"			/* 6 blank */
		"last";			/* 7, no final newline */
	struct ndjson_reader r;
	int fd = memfile(in, sizeof(in) - 1);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, fd, 0), NDJSON_OK);
	expect_line(&r, "a", 1);
	CU_ASSERT_EQUAL(r.line_offset, 3);
	expect_rc(&r, NDJSON_ERR_NUL);
	CU_ASSERT_EQUAL(r.lineno, 4);
	CU_ASSERT_EQUAL(r.skipped_len, 3);
	CU_ASSERT_EQUAL(r.line_offset, 3 + 1 + 5 + 4);
	expect_line(&r, "{\"x\":1}", 5);
	CU_ASSERT_EQUAL(r.line_offset, 3 + 1 + 5 + 4 + 8);
	expect_line(&r, "last", 7);
	CU_ASSERT_EQUAL(r.line_offset, sizeof(in) - 1);
	expect_rc(&r, NDJSON_EOF);
	ndjson_reader_release(&r);
	close(fd);

	/* Only blank lines, and a blank last line without "\n": EOF. */
	fd = memfile("\n \n\t", 4);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, fd, 0), NDJSON_OK);
	expect_rc(&r, NDJSON_EOF);
	CU_ASSERT_EQUAL(r.lineno, 3);
	ndjson_reader_release(&r);
	close(fd);

	/* Empty input. */
	fd = memfile("", 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, fd, 0), NDJSON_OK);
	expect_rc(&r, NDJSON_EOF);
	CU_ASSERT_EQUAL(r.lineno, 0);
	ndjson_reader_release(&r);
	close(fd);
}

static void
test_one_byte_reads(void)
{
	static const char in[] =
		"{\"id\":\"s1\",\"value\":21.5}\n"
		"\r\n"
		"{\"id\":\"s2\",\"value\":-3}\r\n"
		"{\"id\":\"\xc3\xa9\",\"value\":1e308}\n"
		"tail without newline";
	static const char *const want[] = {
		"{\"id\":\"s1\",\"value\":21.5}",
		"{\"id\":\"s2\",\"value\":-3}",
		"{\"id\":\"\xc3\xa9\",\"value\":1e308}",
		"tail without newline",
	};
	static const uint64_t want_no[] = { 1, 3, 4, 5 };
	struct ndjson_reader r;
	struct feeder f;
	const char *line;
	size_t len, got = 0;
	enum ndjson_err rc;
	int fd;

	fd = feeder_start(&f, in, sizeof(in) - 1, 1, 200);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, fd, 0), NDJSON_OK);
	for (;;) {
		/* Short timeouts: many TIMEOUTs between bytes must not lose or
		 * split anything. */
		rc = ndjson_read(&r, &line, &len, 1);
		if (rc == NDJSON_TIMEOUT)
			continue;
		if (rc != NDJSON_OK)
			break;
		CU_ASSERT_FATAL(got < ARRAY_SIZE(want));
		CU_ASSERT_EQUAL(len, strlen(want[got]));
		CU_ASSERT(len == strlen(want[got]) &&
			  memcmp(line, want[got], len) == 0);
		CU_ASSERT_EQUAL(r.lineno, want_no[got]);
		got++;
	}
	CU_ASSERT_EQUAL(rc, NDJSON_EOF);
	CU_ASSERT_EQUAL(got, 4);
	CU_ASSERT_EQUAL(r.line_offset, sizeof(in) - 1);
	pthread_join(f.thread, NULL);
	ndjson_reader_release(&r);
	close(fd);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_alarm(int sig)
{
	(void)sig;
}

static void
arm_timer(int ms)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
test_timeout(void)
{
	struct ndjson_reader r;
	struct sigaction sa, old;
	const char *line;
	size_t len;
	int64_t t0, dt;
	int p[2];

	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, p[0], 0), NDJSON_OK);
	/* Nothing at all: 0 returns at once, 100 ms waits about that long. */
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, 0), NDJSON_TIMEOUT);
	CU_ASSERT_FALSE(ndjson_ready(&r));
	t0 = mono_ms();
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, 100), NDJSON_TIMEOUT);
	dt = mono_ms() - t0;
	CU_ASSERT(dt >= 90 && dt < 1000);
	/* A partial line is kept across timeouts. */
	CU_ASSERT_EQUAL(write(p[1], "par", 3), 3);
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, 20), NDJSON_TIMEOUT);
	CU_ASSERT_FALSE(ndjson_ready(&r));
	CU_ASSERT_EQUAL(write(p[1], "tial\nnext\n", 10), 10);
	CU_ASSERT_EQUAL_FATAL(ndjson_read(&r, &line, &len, 0), NDJSON_OK);
	CU_ASSERT(len == 7 && memcmp(line, "partial", 7) == 0);
	CU_ASSERT_TRUE(ndjson_ready(&r));
	CU_ASSERT_EQUAL_FATAL(ndjson_read(&r, &line, &len, 0), NDJSON_OK);
	CU_ASSERT(len == 4 && memcmp(line, "next", 4) == 0);
	CU_ASSERT_FALSE(ndjson_ready(&r));

	/* A signal during an endless wait returns TIMEOUT (EINTR). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART */
	CU_ASSERT_FATAL(sigaction(SIGALRM, &sa, &old) == 0);
	arm_timer(200);
	t0 = mono_ms();
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, -1), NDJSON_TIMEOUT);
	dt = mono_ms() - t0;
	CU_ASSERT(dt >= 150 && dt < 5000);
	arm_timer(200);
	t0 = mono_ms();
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, 10000), NDJSON_TIMEOUT);
	dt = mono_ms() - t0;
	CU_ASSERT(dt >= 150 && dt < 5000);
	arm_timer(0);
	sigaction(SIGALRM, &old, NULL);

	/* EOF after the writer closes; ready says so. */
	close(p[1]);
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, 1000), NDJSON_EOF);
	CU_ASSERT_TRUE(ndjson_ready(&r));
	ndjson_reader_release(&r);
	close(p[0]);
}

static void
test_nonblocking_fd(void)
{
	struct ndjson_reader r;
	const char *line;
	size_t len;
	int p[2];

	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK) == 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, p[0], 0), NDJSON_OK);
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, 0), NDJSON_TIMEOUT);
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, 10), NDJSON_TIMEOUT);
	CU_ASSERT_EQUAL(write(p[1], "x\n", 2), 2);
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, -1), NDJSON_OK);
	CU_ASSERT(len == 1 && line[0] == 'x');
	ndjson_reader_release(&r);
	close(p[0]);
	close(p[1]);
}

static void
test_read_error(void)
{
	struct ndjson_reader r;
	const char *line;
	size_t len;
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);

	/* read(2) on a directory fails with EISDIR. */
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, fd, 0), NDJSON_OK);
	errno = 0;
	CU_ASSERT_EQUAL(ndjson_read(&r, &line, &len, -1), NDJSON_ERR_SYS);
	CU_ASSERT_EQUAL(errno, EISDIR);
	ndjson_reader_release(&r);
	close(fd);
}

/* Everything readable from fd now (non-blocking). */
static size_t
drain(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void
test_writer_batching(void)
{
	struct ndjson_writer w;
	static char out[256 * 1024];
	char line[40];
	size_t got;
	int p[2];

	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK) == 0);
	fcntl(p[1], F_SETFL, 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_writer_init(&w, p[1], 100), NDJSON_OK);
	/* 9 lines of 10 bytes + "\n" = 99: buffered, nothing written. */
	for (int i = 0; i < 9; i++) {
		snprintf(line, sizeof(line), "line%06d", i);
		CU_ASSERT_EQUAL(ndjson_write(&w, line, 10), NDJSON_OK);
	}
	CU_ASSERT_EQUAL(w.lines, 9);
	CU_ASSERT_EQUAL(w.bytes, 0);
	CU_ASSERT_EQUAL(drain(p[0], out, sizeof(out)), 0);
	/* The 10th does not fit: the 9 go out as one batch of whole lines. */
	CU_ASSERT_EQUAL(ndjson_write(&w, "line000009", 10), NDJSON_OK);
	CU_ASSERT_EQUAL(w.bytes, 99);
	got = drain(p[0], out, sizeof(out));
	CU_ASSERT_EQUAL(got, 99);
	CU_ASSERT(memcmp(out, "line000000\nline000001\n", 22) == 0);
	CU_ASSERT_EQUAL(out[98], '\n');
	CU_ASSERT_EQUAL(ndjson_flush(&w), NDJSON_OK);
	CU_ASSERT_EQUAL(w.bytes, 110);
	got = drain(p[0], out, sizeof(out));
	CU_ASSERT(got == 11 && memcmp(out, "line000009\n", 11) == 0);
	/* An empty flush writes nothing. */
	CU_ASSERT_EQUAL(ndjson_flush(&w), NDJSON_OK);
	CU_ASSERT_EQUAL(w.bytes, 110);
	/* An empty line is a valid line. */
	CU_ASSERT_EQUAL(ndjson_write(&w, "", 0), NDJSON_OK);
	CU_ASSERT_EQUAL(ndjson_writer_release(&w), NDJSON_OK);
	CU_ASSERT_EQUAL(drain(p[0], out, sizeof(out)), 1);
	close(p[0]);
	close(p[1]);
}

static void
test_writer_big_line(void)
{
	struct ndjson_writer w;
	struct ndjson_reader r;
	size_t big = 200 * 1024;
	char *line = malloc(big);
	const char *got;
	size_t len;
	int fd;
	char path[] = "/tmp/sp-ndjson-w-XXXXXX";

	CU_ASSERT_FATAL(line != NULL);
	memset(line, 'y', big);
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(ndjson_writer_init(&w, fd, 0), NDJSON_OK);
	CU_ASSERT_EQUAL(w.cap, NDJSON_WRITE_BUF);
	CU_ASSERT_EQUAL(ndjson_write(&w, "small", 5), NDJSON_OK);
	/* Flushes "small\n" first, then writes the big line directly. */
	CU_ASSERT_EQUAL(ndjson_write(&w, line, big), NDJSON_OK);
	CU_ASSERT_EQUAL(w.bytes, 6 + big + 1);
	CU_ASSERT_EQUAL(w.len, 0);
	CU_ASSERT_EQUAL(ndjson_write(&w, "after", 5), NDJSON_OK);
	CU_ASSERT_EQUAL(ndjson_writer_release(&w), NDJSON_OK);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_END), (off_t)(6 + big + 1 + 6));
	lseek(fd, 0, SEEK_SET);
	CU_ASSERT_EQUAL_FATAL(ndjson_reader_init(&r, fd, 0), NDJSON_OK);
	CU_ASSERT_EQUAL(ndjson_read(&r, &got, &len, -1), NDJSON_OK);
	CU_ASSERT(len == 5 && memcmp(got, "small", 5) == 0);
	CU_ASSERT_EQUAL(ndjson_read(&r, &got, &len, -1), NDJSON_OK);
	CU_ASSERT(len == big && memcmp(got, line, big) == 0);
	CU_ASSERT_EQUAL(ndjson_read(&r, &got, &len, -1), NDJSON_OK);
	CU_ASSERT(len == 5 && memcmp(got, "after", 5) == 0);
	CU_ASSERT_EQUAL(ndjson_read(&r, &got, &len, -1), NDJSON_EOF);
	ndjson_reader_release(&r);
	close(fd);
	free(line);
}

/* A big line through a small pipe read slowly: partial writes resume. */
static void *
slow_reader(void *arg)
{
	int fd = *(int *)arg;
	static char sink[4096];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, sink, sizeof(sink))) > 0) {
		total += (size_t)n;
		usleep(100);
	}
	return (void *)(uintptr_t)total;
}

static void
test_writer_partial_nonblocking(void)
{
	struct ndjson_writer w;
	size_t big = 1024 * 1024;
	char *line = malloc(big);
	pthread_t th;
	void *total;
	int p[2];

	CU_ASSERT_FATAL(line != NULL);
	memset(line, 'z', big);
	/* Non-blocking write end: writev gives partial writes and EAGAIN. */
	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK) == 0);
	fcntl(p[0], F_SETFL, 0);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, slow_reader, &p[0]) == 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_writer_init(&w, p[1], 0), NDJSON_OK);
	CU_ASSERT_EQUAL(ndjson_write(&w, line, big), NDJSON_OK);
	for (int i = 0; i < 10000; i++)
		CU_ASSERT_EQUAL(ndjson_write(&w, "0123456789", 10), NDJSON_OK);
	CU_ASSERT_EQUAL(ndjson_writer_release(&w), NDJSON_OK);
	close(p[1]);
	pthread_join(th, &total);
	CU_ASSERT_EQUAL((size_t)(uintptr_t)total, big + 1 + 10000 * 11);
	close(p[0]);
	free(line);
}

static void
test_writer_epipe(void)
{
	struct ndjson_writer w;
	struct sigaction sa, old;
	int p[2];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	CU_ASSERT_FATAL(sigaction(SIGPIPE, &sa, &old) == 0);
	CU_ASSERT_FATAL(pipe(p) == 0);
	close(p[0]);
	CU_ASSERT_EQUAL_FATAL(ndjson_writer_init(&w, p[1], 0), NDJSON_OK);
	CU_ASSERT_EQUAL(ndjson_write(&w, "lost", 4), NDJSON_OK);
	errno = 0;
	CU_ASSERT_EQUAL(ndjson_flush(&w), NDJSON_ERR_PIPE);
	CU_ASSERT_EQUAL(errno, EPIPE);
	CU_ASSERT_EQUAL(w.bytes, 0);
	CU_ASSERT_EQUAL(ndjson_writer_release(&w), NDJSON_OK);
	close(p[1]);
	sigaction(SIGPIPE, &old, NULL);
}

static void
test_writer_enospc(void)
{
	struct ndjson_writer w;
	int fd = open("/dev/full", O_WRONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ndjson_writer_init(&w, fd, 0), NDJSON_OK);
	CU_ASSERT_EQUAL(ndjson_write(&w, "x", 1), NDJSON_OK);
	errno = 0;
	CU_ASSERT_EQUAL(ndjson_writer_release(&w), NDJSON_ERR_SYS);
	CU_ASSERT_EQUAL(errno, ENOSPC);
	close(fd);
}

static void
test_strerror(void)
{
	for (int e = NDJSON_OK; e <= NDJSON_ERR_NOMEM; e++) {
		const char *s = ndjson_strerror((enum ndjson_err)e);

		CU_ASSERT(s != NULL && s[0] != '\0');
	}
	CU_ASSERT_STRING_EQUAL(ndjson_strerror(NDJSON_ERR_PIPE),
			       "downstream closed (broken pipe)");
}

static void
test_nomem(void)
{
#ifndef __SANITIZE_ADDRESS__
	struct ndjson_reader r;
	struct ndjson_writer w;

	/* Sizes no allocator can satisfy (ASan aborts instead: skipped). */
	CU_ASSERT_EQUAL(ndjson_reader_init(&r, 0, (size_t)1 << 46),
			NDJSON_ERR_NOMEM);
	ndjson_reader_release(&r);
	CU_ASSERT_EQUAL(ndjson_writer_init(&w, 1, (size_t)1 << 46),
			NDJSON_ERR_NOMEM);
	CU_ASSERT_EQUAL(ndjson_writer_release(&w), NDJSON_OK);
#endif
}

int
test_ndjson_suite(void)
{
	CU_pSuite s = CU_add_suite("ndjson", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "5 MiB line skipped whole", test_toolong_5mib) ||
	    !CU_add_test(s, "too long with small max", test_toolong_small_max) ||
	    !CU_add_test(s, "NUL, CRLF, blank, no final newline",
			 test_nul_crlf_blank_nofinal) ||
	    !CU_add_test(s, "one-byte reads from a pipe",
			 test_one_byte_reads) ||
	    !CU_add_test(s, "timeouts and EINTR", test_timeout) ||
	    !CU_add_test(s, "non-blocking input", test_nonblocking_fd) ||
	    !CU_add_test(s, "read error", test_read_error) ||
	    !CU_add_test(s, "writer batching", test_writer_batching) ||
	    !CU_add_test(s, "writer line larger than buffer",
			 test_writer_big_line) ||
	    !CU_add_test(s, "writer partial writes and EAGAIN",
			 test_writer_partial_nonblocking) ||
	    !CU_add_test(s, "writer EPIPE", test_writer_epipe) ||
	    !CU_add_test(s, "writer /dev/full ENOSPC", test_writer_enospc) ||
	    !CU_add_test(s, "strerror", test_strerror) ||
	    !CU_add_test(s, "out of memory", test_nomem))
		return -1;
	return 0;
}
