/*
 * test_stageio: stdin and stdout through stageio (pipes put in place with
 * dup2, restored afterwards): lines, BAD_LINE with its reason text, EOF,
 * timeouts, tell/commit, read errors; buffered output reaching the pipe on
 * flush and sync, EPIPE and ENOSPC; --consumer usage errors and a journal
 * that cannot be created (journals themselves: test_journal.c); every
 * stageio_strerror.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "ndjson.h"
#include "stageio.h"
#include "banned.h"

static struct config cfg;

static void
cfg_set(const char *in, const char *out, const char *consumer)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.prog = "test";
	cfg.in = in;
	cfg.out = out;
	cfg.consumer = consumer;
}

/* Puts fd in place of target (0 or 1); returns the saved original. */
static int
swap_fd(int fd, int target)
{
	int saved;

	fflush(stdout);
	saved = dup(target);
	if (saved < 0 || dup2(fd, target) < 0)
		return -1;
	close(fd);
	return saved;
}

static void
restore_fd(int saved, int target)
{
	fflush(stdout);
	dup2(saved, target);
	close(saved);
}

struct feed {
	int fd;
	char *data;
	size_t len;
};

static void *
feed_run(void *arg)
{
	struct feed *f = arg;
	size_t off = 0;
	ssize_t n;

	while (off < f->len) {
		n = write(f->fd, f->data + off, f->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

static void
test_stdin(void)
{
	size_t big = 5 * 1024 * 1024, off = 0;
	struct stage_in *in = NULL;
	struct feed f;
	struct stage_pos pos;
	pthread_t th;
	const char *line;
	size_t len;
	int p[2], saved;
	char want[16];

	/* Lines 1..11 "rN", 12 is 5 MiB, 13 "a\0b", 14 "last" without "\n". */
	f.data = malloc(big + 256);
	CU_ASSERT_FATAL(f.data != NULL);
	for (int i = 1; i <= 11; i++)
		off += (size_t)snprintf(f.data + off, 16, "r%d\n", i);
	memset(f.data + off, 'x', big);
	off += big;
	memcpy(f.data + off, "\na\0b\nlast", 9);
	f.len = off + 9;

	CU_ASSERT_FATAL(pipe(p) == 0);
	saved = swap_fd(p[0], STDIN_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	f.fd = p[1];
	CU_ASSERT_FATAL(pthread_create(&th, NULL, feed_run, &f) == 0);

	cfg_set("-", "-", NULL);
	CU_ASSERT_EQUAL_FATAL(stage_in_open(&in, &cfg), STAGEIO_OK);
	CU_ASSERT_STRING_EQUAL(stage_in_name(in), "stdin");
	for (int i = 1; i <= 11; i++) {
		snprintf(want, sizeof(want), "r%d", i);
		CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, -1), STAGEIO_OK);
		CU_ASSERT(len == strlen(want) && memcmp(line, want, len) == 0);
		CU_ASSERT_EQUAL(stage_in_lineno(in), (uint64_t)i);
	}
	pos = stage_in_tell(in);
	CU_ASSERT_EQUAL(pos.seg, 0);
	CU_ASSERT_EQUAL(pos.off, off - big);
	CU_ASSERT_EQUAL(stage_in_commit(in, pos), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, -1), STAGEIO_BAD_LINE);
	CU_ASSERT_STRING_EQUAL(stage_in_bad_reason(in),
			       "line 12 too long (5242880 bytes, max 1048576)");
	CU_ASSERT_EQUAL(stage_in_lineno(in), 12);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, -1), STAGEIO_BAD_LINE);
	CU_ASSERT_STRING_EQUAL(stage_in_bad_reason(in),
			       "line 13 contains a NUL byte");
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, -1), STAGEIO_OK);
	CU_ASSERT(len == 4 && strcmp(line, "last") == 0);
	CU_ASSERT_EQUAL(stage_in_lineno(in), 14);
	CU_ASSERT_EQUAL(stage_in_tell(in).off, f.len);
	CU_ASSERT_TRUE(stage_in_ready(in));
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, -1), STAGEIO_EOF);
	stage_in_close(in);
	pthread_join(th, NULL);
	restore_fd(saved, STDIN_FILENO);
	free(f.data);
	/* stdin is back and still open. */
	CU_ASSERT(fcntl(STDIN_FILENO, F_GETFD) >= 0);
}

static void
test_stdin_timeout_and_error(void)
{
	struct stage_in *in = NULL;
	const char *line;
	size_t len;
	int p[2], saved, dir;

	CU_ASSERT_FATAL(pipe(p) == 0);
	saved = swap_fd(p[0], STDIN_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	cfg_set(NULL, NULL, NULL);	/* NULL means "-" */
	CU_ASSERT_EQUAL_FATAL(stage_in_open(&in, &cfg), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 0), STAGEIO_TIMEOUT);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 20), STAGEIO_TIMEOUT);
	CU_ASSERT_FALSE(stage_in_ready(in));
	CU_ASSERT_EQUAL(write(p[1], "x\n", 2), 2);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 1000), STAGEIO_OK);
	CU_ASSERT(len == 1 && line[0] == 'x');
	stage_in_close(in);
	close(p[1]);
	restore_fd(saved, STDIN_FILENO);

	/* read(2) on a directory: EISDIR, STAGEIO_ERR_SYS with a message. */
	dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(dir >= 0);
	saved = swap_fd(dir, STDIN_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	CU_ASSERT_EQUAL_FATAL(stage_in_open(&in, &cfg), STAGEIO_OK);
	errno = 0;
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, -1), STAGEIO_ERR_SYS);
	CU_ASSERT_EQUAL(errno, EISDIR);
	CU_ASSERT_STRING_EQUAL(stage_in_errmsg(in),
			       "cannot read stdin: read: Is a directory");
	stage_in_close(in);
	restore_fd(saved, STDIN_FILENO);
}

static void
test_stdout(void)
{
	struct stage_out *out = NULL;
	char buf[256];
	ssize_t n;
	int p[2], saved;

	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK) == 0);
	fcntl(p[1], F_SETFL, 0);
	saved = swap_fd(p[1], STDOUT_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	cfg_set("-", "-", NULL);
	CU_ASSERT_EQUAL_FATAL(stage_out_open(&out, &cfg), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_write(out, "{\"a\":1}", 7), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_write(out, "{\"b\":2}", 7), STAGEIO_OK);
	/* Buffered: nothing in the pipe until a flush. */
	CU_ASSERT_EQUAL(read(p[0], buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(stage_out_flush(out), STAGEIO_OK);
	n = read(p[0], buf, sizeof(buf));
	CU_ASSERT(n == 16 && memcmp(buf, "{\"a\":1}\n{\"b\":2}\n", 16) == 0);
	CU_ASSERT_EQUAL(stage_out_write(out, "c", 1), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_sync(out), STAGEIO_OK);
	n = read(p[0], buf, sizeof(buf));
	CU_ASSERT(n == 2 && memcmp(buf, "c\n", 2) == 0);
	CU_ASSERT_EQUAL(stage_out_write(out, "d", 1), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_close(out), STAGEIO_OK);
	n = read(p[0], buf, sizeof(buf));
	CU_ASSERT(n == 2 && memcmp(buf, "d\n", 2) == 0);
	restore_fd(saved, STDOUT_FILENO);
	close(p[0]);
	CU_ASSERT_EQUAL(stage_out_close(NULL), STAGEIO_OK);
}

static void
test_stdout_errors(void)
{
	struct stage_out *out = NULL;
	struct sigaction sa, old;
	int p[2], saved, full;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	CU_ASSERT_FATAL(sigaction(SIGPIPE, &sa, &old) == 0);
	CU_ASSERT_FATAL(pipe(p) == 0);
	close(p[0]);
	saved = swap_fd(p[1], STDOUT_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	cfg_set("-", "-", NULL);
	CU_ASSERT_EQUAL_FATAL(stage_out_open(&out, &cfg), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_write(out, "x", 1), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_sync(out), STAGEIO_ERR_PIPE);
	CU_ASSERT_STRING_EQUAL(stage_out_errmsg(out),
		"cannot write to stdout: write: downstream closed (EPIPE)");
	CU_ASSERT_EQUAL(stage_out_close(out), STAGEIO_OK);
	restore_fd(saved, STDOUT_FILENO);
	sigaction(SIGPIPE, &old, NULL);

	full = open("/dev/full", O_WRONLY);
	CU_ASSERT_FATAL(full >= 0);
	saved = swap_fd(full, STDOUT_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	CU_ASSERT_EQUAL_FATAL(stage_out_open(&out, &cfg), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_write(out, "x", 1), STAGEIO_OK);
	errno = 0;
	CU_ASSERT_EQUAL(stage_out_close(out), STAGEIO_ERR_SYS);
	CU_ASSERT_EQUAL(errno, ENOSPC);
	restore_fd(saved, STDOUT_FILENO);
}

static void
test_journal_open_errors(void)
{
	struct stage_in *in = (struct stage_in *)&in;
	struct stage_out *out = (struct stage_out *)&out;

	cfg_set("/var/lib/sensorpipe/raw", "-", NULL);
	CU_ASSERT_EQUAL(stage_in_open(&in, &cfg), STAGEIO_ERR_USAGE);
	CU_ASSERT_PTR_NULL(in);
	CU_ASSERT_STRING_EQUAL(stage_in_errmsg(NULL),
		"--in '/var/lib/sensorpipe/raw' needs --consumer NAME");
	/* journal directories themselves: test_journal.c */
	cfg_set("-", "/dev/null/alerts", NULL);
	CU_ASSERT_EQUAL(stage_out_open(&out, &cfg), STAGEIO_ERR_JOURNAL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(stage_out_errmsg(NULL), "/dev/null"));
	stage_in_close(NULL);
}

/*
 * Out of memory: in a child whose address space has no room for the 1 MiB
 * input buffer. Skipped under ASan and valgrind (their allocators do not
 * return NULL under RLIMIT_AS).
 */
/* Where the child parks memory (volatile: the compiler must not drop the
 * allocations); it exits without freeing. */
static void *volatile nomem_hold;

static void
test_nomem(void)
{
#ifndef __SANITIZE_ADDRESS__
	const char *pre = getenv("LD_PRELOAD");
	pid_t pid;
	int status;

	if (pre && strstr(pre, "vgpreload"))
		return;
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct stage_in *in = NULL;
		struct rlimit rl;
		unsigned long pages = 0;
		FILE *f;
		enum stageio_err rc;

		/* Earlier tests freed 1 MiB buffers that malloc may keep. */
		malloc_trim(0);
		f = fopen("/proc/self/statm", "r");
		if (!f || fscanf(f, "%lu", &pages) != 1)
			_exit(101);
		fclose(f);
		/* Warm the small-object heap so calloc of the struct works. */
		free(malloc(4096));
		rl.rlim_cur = rl.rlim_max = (rlim_t)pages *
			(rlim_t)sysconf(_SC_PAGESIZE) + (256u << 10);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(102);
		/* Take every free block the input buffer could reuse. */
		for (int k = 0; k < 100000; k++) {
			nomem_hold = malloc(NDJSON_MAX_LINE + 64 * 1024 + 3);
			if (!nomem_hold)
				break;
		}
		cfg_set("-", "-", NULL);
		rc = stage_in_open(&in, &cfg);
		if (rc != STAGEIO_ERR_NOMEM || in != NULL)
			_exit(103);
		if (strstr(stage_in_errmsg(NULL), "out of memory") == NULL)
			_exit(104);
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
#endif
}

static void
test_strerror(void)
{
	for (int e = STAGEIO_OK; e <= STAGEIO_ERR_USAGE; e++) {
		const char *s = stageio_strerror((enum stageio_err)e);

		CU_ASSERT(s != NULL && s[0] != '\0');
	}
}

int
test_stageio_suite(void)
{
	CU_pSuite s = CU_add_suite("stageio", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "stdin lines and bad lines", test_stdin) ||
	    !CU_add_test(s, "stdin timeout and read error",
			 test_stdin_timeout_and_error) ||
	    !CU_add_test(s, "stdout flush, sync, close", test_stdout) ||
	    !CU_add_test(s, "stdout EPIPE and ENOSPC", test_stdout_errors) ||
	    !CU_add_test(s, "journal: --consumer required, output open error",
			 test_journal_open_errors) ||
	    !CU_add_test(s, "out of memory", test_nomem) ||
	    !CU_add_test(s, "strerror", test_strerror))
		return -1;
	return 0;
}
