/*
 * test_journal: append/read round trip, rotation, following the writer
 * within 100 ms (inotify), cursor commit and resume, a torn last line cut at
 * open, a damaged segment skipped, deletion of segments two consumers have
 * passed, the max-size drop with its count and the reader's lost bytes, the
 * writer and consumer locks, the fsync policies, over-long lines, and a
 * failed write (RLIMIT_FSIZE) cut back to whole lines, failed fsyncs (this
 * file interposes fsync/fdatasync: they fail while fail_fsync is set, and
 * are the plain system calls otherwise); and stageio with
 * --in DIR --consumer NAME / --out DIR: the same calls as stdin/stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "journal.h"
#include "stageio.h"
#include "util.h"
#include "banned.h"

static char tdir[64];
static volatile int fail_fsync;

int
fsync(int fd)
{
	if (fail_fsync) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
	if (fail_fsync) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}
static char errbuf[512];

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
tdir_make(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/sp-journal-test.XXXXXX");
	if (!mkdtemp(tdir))
		CU_FAIL_FATAL("mkdtemp");
}

static void
tdir_remove(void)
{
	nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
opts_small(struct journal_opts *o, uint64_t seg)
{
	journal_opts_init(o);
	o->segment_size = seg;
}

static struct journal_writer *
wopen(const struct journal_opts *o)
{
	struct journal_writer *w = NULL;
	enum journal_err rc;

	rc = journal_writer_open(&w, tdir, o, errbuf, sizeof(errbuf));
	if (rc)
		fprintf(stderr, "writer open: %s\n", errbuf);
	CU_ASSERT_EQUAL_FATAL(rc, JOURNAL_OK);
	return w;
}

static struct journal_reader *
ropen(const char *name, const struct journal_opts *o)
{
	struct journal_reader *r = NULL;
	enum journal_err rc;

	rc = journal_reader_open(&r, tdir, name, o, errbuf, sizeof(errbuf));
	if (rc)
		fprintf(stderr, "reader open: %s\n", errbuf);
	CU_ASSERT_EQUAL_FATAL(rc, JOURNAL_OK);
	return r;
}

static void
append_n(struct journal_writer *w, int from, int n)
{
	char line[128];

	for (int i = from; i < from + n; i++) {
		int len = snprintf(line, sizeof(line),
				   "{\"n\":%d,\"pad\":\"abcdefghijklmnopqrstuvwxyz\"}",
				   i);
		CU_ASSERT_EQUAL(journal_append(w, line, (size_t)len), JOURNAL_OK);
	}
	CU_ASSERT_EQUAL(journal_flush(w), JOURNAL_OK);
}

/* Reads lines until a timeout; checks they are from..from+n-1 in order. */
static int
read_expect(struct journal_reader *r, int from, int n, int timeout_ms)
{
	const char *line;
	size_t len;
	int got = 0;

	while (got < n) {
		char want[128];
		int wl;
		enum journal_err rc = journal_read(r, &line, &len, timeout_ms);

		if (rc != JOURNAL_OK)
			break;
		wl = snprintf(want, sizeof(want),
			      "{\"n\":%d,\"pad\":\"abcdefghijklmnopqrstuvwxyz\"}",
			      from + got);
		if ((size_t)wl != len || memcmp(want, line, len) != 0 ||
		    line[len] != '\0') {
			fprintf(stderr, "line %d: got '%.*s'\n", from + got,
				(int)len, line);
			break;
		}
		got++;
	}
	return got;
}

static size_t
nsegs(void)
{
	struct journal_seg *segs = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL(journal_list_segments(tdir, &segs, &n, NULL),
			JOURNAL_OK);
	free(segs);
	return n;
}

static void
test_roundtrip(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	const char *line;
	size_t len;

	tdir_make();
	journal_opts_init(&o);
	w = wopen(&o);
	append_n(w, 0, 1000);
	r = ropen("a", &o);
	CU_ASSERT_EQUAL(read_expect(r, 0, 1000, 0), 1000);
	CU_ASSERT_EQUAL(journal_read(r, &line, &len, 0), JOURNAL_TIMEOUT);
	CU_ASSERT_EQUAL(journal_read(r, &line, &len, 30), JOURNAL_TIMEOUT);
	CU_ASSERT_EQUAL(journal_reader_lineno(r), 1000);
	CU_ASSERT_EQUAL(journal_reader_stats(r)->lines, 1000);
	CU_ASSERT_EQUAL(journal_writer_stats(w)->lines, 1000);
	/* a blank line is ignored; a newline inside a line is refused */
	CU_ASSERT_EQUAL(journal_append(w, "", 0), JOURNAL_OK);
	CU_ASSERT_EQUAL(journal_append(w, "a\nb", 3), JOURNAL_ERR_VALUE);
	append_n(w, 1000, 1);
	CU_ASSERT_EQUAL(read_expect(r, 1000, 1, 0), 1);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_reader_close(r);
	tdir_remove();
}

static void
test_rotation(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	struct journal_seg *segs = NULL;
	size_t n = 0;

	tdir_make();
	opts_small(&o, 4096);
	w = wopen(&o);
	append_n(w, 0, 1000);	/* about 47 KB */
	CU_ASSERT_EQUAL(journal_list_segments(tdir, &segs, &n, NULL),
			JOURNAL_OK);
	CU_ASSERT(n >= 10);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT(segs[i].size <= 4096);
		CU_ASSERT_EQUAL(segs[i].seq, i + 1);
	}
	free(segs);
	CU_ASSERT(journal_writer_stats(w)->rotations >= 10);
	CU_ASSERT_EQUAL(journal_writer_tell(w).seg, n);
	r = ropen("a", &o);
	CU_ASSERT_EQUAL(read_expect(r, 0, 1000, 0), 1000);
	CU_ASSERT_EQUAL(journal_reader_tell(r).seg, n);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_reader_close(r);
	tdir_remove();
}

struct follower {
	struct journal_reader *r;
	int got;
	int64_t t_got;
	int from;
};

static void *
follow_one(void *arg)
{
	struct follower *f = arg;

	f->got = read_expect(f->r, f->from, 1, 2000);
	f->t_got = time_mono_ms();
	return NULL;
}

/* A waiting reader gets a line within 100 ms of the flush, five times in a
 * row (polling alone, every 200 ms, would miss that), also across a
 * rotation. */
static void
test_follow_latency(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct follower f;
	int64_t worst = 0;

	tdir_make();
	opts_small(&o, 4096);
	w = wopen(&o);
	f.r = ropen("a", &o);
	for (int i = 0; i < 5; i++) {
		pthread_t t;
		int64_t t0;
		struct timespec ts = { 0, 50 * 1000000L };

		f.from = i * 100;
		f.got = 0;
		pthread_create(&t, NULL, follow_one, &f);
		nanosleep(&ts, NULL);
		t0 = time_mono_ms();
		append_n(w, i * 100, 100);	/* ~4.7 KB: rotates each time */
		pthread_join(t, NULL);
		CU_ASSERT_EQUAL(f.got, 1);
		CU_ASSERT(f.t_got - t0 < 100);
		if (f.t_got - t0 > worst)
			worst = f.t_got - t0;
		CU_ASSERT_EQUAL(read_expect(f.r, i * 100 + 1, 99, 0), 99);
	}
	fprintf(stderr, " (worst follow latency %lld ms) ", (long long)worst);
	CU_ASSERT(journal_writer_stats(w)->rotations >= 4);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_reader_close(f.r);
	tdir_remove();
}

static void
test_commit_resume(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	struct journal_pos pos, loaded;
	char path[128], text[64];
	FILE *fp;

	tdir_make();
	opts_small(&o, 4096);
	w = wopen(&o);
	append_n(w, 0, 300);
	r = ropen("sink", &o);
	CU_ASSERT_EQUAL(read_expect(r, 0, 150, 0), 150);
	pos = journal_reader_tell(r);
	CU_ASSERT_EQUAL(journal_reader_commit(r, pos), JOURNAL_OK);
	CU_ASSERT_EQUAL(read_expect(r, 150, 10, 0), 10);	/* not committed */
	journal_reader_close(r);
	CU_ASSERT_EQUAL(journal_cursor_load(tdir, "sink", &loaded), JOURNAL_OK);
	CU_ASSERT_EQUAL(loaded.seg, pos.seg);
	CU_ASSERT_EQUAL(loaded.off, pos.off);
	snprintf(path, sizeof(path), "%s/cursor.sink", tdir);
	fp = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	CU_ASSERT_PTR_NOT_NULL(fgets(text, sizeof(text), fp));
	fclose(fp);
	snprintf(path, sizeof(path), "%llu %llu\n",
		 (unsigned long long)pos.seg, (unsigned long long)pos.off);
	CU_ASSERT_STRING_EQUAL(text, path);
	/* resumes after the commit: line 150 comes again */
	r = ropen("sink", &o);
	CU_ASSERT_EQUAL(read_expect(r, 150, 150, 0), 150);
	journal_reader_close(r);
	/* a cursor that is not "SEG OFF" is refused with its own code */
	snprintf(path, sizeof(path), "%s/cursor.sink", tdir);
	fp = fopen(path, "w");
	fputs("garbage\n", fp);
	fclose(fp);
	CU_ASSERT_EQUAL(journal_reader_open(&r, tdir, "sink", &o, errbuf,
					    sizeof(errbuf)), JOURNAL_ERR_CURSOR);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	tdir_remove();
}

static void
test_torn_line(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	char path[128];
	struct stat sb;
	const char *line;
	size_t len;
	int fd;

	tdir_make();
	journal_opts_init(&o);
	w = wopen(&o);
	append_n(w, 0, 10);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	/* a crash in the middle of a write */
	journal_segment_path(tdir, 1, path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND);
	CU_ASSERT_EQUAL(write(fd, "{\"n\":10,\"pa", 11), 11);
	close(fd);
	/* a reader sees only the complete lines */
	r = ropen("a", &o);
	CU_ASSERT_EQUAL(read_expect(r, 0, 10, 0), 10);
	CU_ASSERT_EQUAL(journal_read(r, &line, &len, 0), JOURNAL_TIMEOUT);
	/* the next writer cuts the torn line and goes on after it */
	w = wopen(&o);
	CU_ASSERT_EQUAL(journal_writer_stats(w)->torn_bytes, 11);
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	append_n(w, 10, 5);
	CU_ASSERT_EQUAL(read_expect(r, 10, 5, 500), 5);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_reader_close(r);
	tdir_remove();
}

/* A directory named like a segment cannot be read: it is reported and
 * skipped; a stray file is counted and ignored. */
static void
test_damaged_segment(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	char path[128];
	const char *line;
	size_t len;
	FILE *fp;

	tdir_make();
	journal_opts_init(&o);
	w = wopen(&o);
	append_n(w, 0, 10);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_segment_path(tdir, 2, path, sizeof(path));
	CU_ASSERT_EQUAL(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/junk.ndjson", tdir);
	fp = fopen(path, "w");
	fclose(fp);
	/* the newest "segment" cannot be written: the writer starts seg 3 */
	w = wopen(&o);
	CU_ASSERT_EQUAL(journal_writer_stats(w)->damaged, 2);
	CU_ASSERT_EQUAL(journal_writer_tell(w).seg, 3);
	append_n(w, 10, 10);
	r = ropen("a", &o);
	CU_ASSERT_EQUAL(read_expect(r, 0, 10, 0), 10);
	CU_ASSERT_EQUAL(journal_read(r, &line, &len, 0), JOURNAL_BAD_LINE);
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_reader_bad_reason(r),
				      "unreadable segment 2"));
	CU_ASSERT_EQUAL(read_expect(r, 10, 10, 0), 10);
	CU_ASSERT_EQUAL(journal_reader_stats(r)->damaged_segments, 1);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_reader_close(r);
	tdir_remove();
}

static void
test_cleanup_two_consumers(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *a, *b;
	char **names = NULL;
	size_t n = 0;

	tdir_make();
	opts_small(&o, 4096);
	w = wopen(&o);
	a = ropen("a", &o);	/* registered before any data */
	b = ropen("b", &o);
	append_n(w, 0, 1000);
	CU_ASSERT(nsegs() >= 10);
	CU_ASSERT_EQUAL(read_expect(a, 0, 1000, 0), 1000);
	CU_ASSERT_EQUAL(journal_reader_commit(a, journal_reader_tell(a)),
			JOURNAL_OK);
	CU_ASSERT(nsegs() >= 10);	/* b still needs them */
	CU_ASSERT_EQUAL(read_expect(b, 0, 500, 0), 500);
	CU_ASSERT_EQUAL(journal_reader_commit(b, journal_reader_tell(b)),
			JOURNAL_OK);
	CU_ASSERT(nsegs() > 1 && nsegs() < 10);	/* up to b's segment */
	CU_ASSERT_EQUAL(read_expect(b, 500, 500, 0), 500);
	CU_ASSERT_EQUAL(journal_reader_commit(b, journal_reader_tell(b)),
			JOURNAL_OK);
	CU_ASSERT_EQUAL(nsegs(), 1);	/* only the newest is left */
	CU_ASSERT_EQUAL(journal_list_consumers(tdir, &names, &n), JOURNAL_OK);
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2) {
		CU_ASSERT_STRING_EQUAL(names[0], "a");
		CU_ASSERT_STRING_EQUAL(names[1], "b");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_reader_close(a);
	journal_reader_close(b);
	tdir_remove();
}

struct drops {
	uint64_t calls, bytes, lines;
};

static void
on_drop(void *arg, const struct journal_drop *d)
{
	struct drops *dr = arg;

	dr->calls++;
	dr->bytes += d->bytes;
	dr->lines += d->lines;
}

static void
test_max_size(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	struct journal_seg *segs = NULL;
	struct drops dr = { 0, 0, 0 };
	const struct journal_writer_stats *st;
	uint64_t total = 0, first;
	size_t n = 0;
	const char *line;
	size_t len;

	tdir_make();
	opts_small(&o, 4096);
	o.max_size = 16384;
	o.on_drop = on_drop;
	o.on_drop_arg = &dr;
	r = ropen("slow", &o);	/* registered, never reads meanwhile */
	journal_reader_close(r);
	w = wopen(&o);
	r = ropen("late", &o);	/* registered at {1, 0} */
	CU_ASSERT_EQUAL(journal_reader_tell(r).seg, 1);
	journal_reader_close(r);
	append_n(w, 0, 1000);	/* ~47 KB into a 16 KiB journal */
	st = journal_writer_stats(w);
	CU_ASSERT(st->dropped_segments > 0);
	CU_ASSERT_EQUAL(st->dropped_segments, dr.calls);
	CU_ASSERT_EQUAL(st->dropped_bytes, dr.bytes);
	CU_ASSERT_EQUAL(st->dropped_lines, dr.lines);
	CU_ASSERT(dr.lines > 500);
	CU_ASSERT_EQUAL(journal_list_segments(tdir, &segs, &n, NULL),
			JOURNAL_OK);
	for (size_t i = 0; i < n; i++)
		total += segs[i].size;
	CU_ASSERT(total <= 16384);
	first = n ? segs[0].seq : 0;
	free(segs);
	CU_ASSERT_EQUAL(journal_dropped_bytes(tdir, 1) > 0, 1);
	/* the slow consumer resumes at the oldest segment left and counts
	 * the bytes it lost */
	r = ropen("slow", &o);
	CU_ASSERT_EQUAL(journal_reader_tell(r).seg, first);
	CU_ASSERT_EQUAL(journal_reader_stats(r)->lost_bytes, dr.bytes);
	CU_ASSERT_EQUAL(read_expect(r, (int)dr.lines, 1000 - (int)dr.lines, 0),
			1000 - (int)dr.lines);
	CU_ASSERT_EQUAL(journal_read(r, &line, &len, 0), JOURNAL_TIMEOUT);
	journal_reader_close(r);
	r = ropen("late", &o);
	CU_ASSERT_EQUAL(journal_reader_stats(r)->lost_bytes, dr.bytes);
	CU_ASSERT_EQUAL(read_expect(r, (int)dr.lines, 1, 0), 1);
	journal_reader_close(r);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	tdir_remove();
}

static void
test_locks(void)
{
	struct journal_opts o;
	struct journal_writer *w, *w2 = NULL;
	struct journal_reader *r, *r2 = NULL;

	tdir_make();
	journal_opts_init(&o);
	w = wopen(&o);
	CU_ASSERT_EQUAL(journal_writer_open(&w2, tdir, &o, errbuf,
					    sizeof(errbuf)), JOURNAL_ERR_LOCKED);
	CU_ASSERT_PTR_NULL(w2);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "has another writer (pid "));
	r = ropen("a", &o);
	CU_ASSERT_EQUAL(journal_reader_open(&r2, tdir, "a", &o, errbuf,
					    sizeof(errbuf)), JOURNAL_ERR_LOCKED);
	CU_ASSERT_PTR_NULL(r2);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "in use by another process"));
	CU_ASSERT_EQUAL(journal_reader_open(&r2, tdir, "../x", &o, errbuf,
					    sizeof(errbuf)), JOURNAL_ERR_NAME);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_reader_close(r);
	w = wopen(&o);	/* free again */
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	/* a journal under a regular file cannot be created */
	CU_ASSERT_EQUAL(journal_writer_open(&w2, "/dev/null/j", &o, errbuf,
					    sizeof(errbuf)), JOURNAL_ERR_SYS);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "/dev/null/j"));
	tdir_remove();
}

static void
test_fsync_policy(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct timespec ts = { 0, 300 * 1000000L }, c0, c1;
	uint64_t before;
	long cpu_ms;

	tdir_make();
	journal_opts_init(&o);
	o.fsync_interval_ms = 0;	/* every batch */
	w = wopen(&o);
	before = journal_writer_stats(w)->fsyncs;
	append_n(w, 0, 10);
	append_n(w, 10, 10);
	CU_ASSERT_EQUAL(journal_writer_stats(w)->fsyncs, before + 2);
	CU_ASSERT_EQUAL(journal_sync(w), JOURNAL_OK);
	CU_ASSERT_EQUAL(journal_writer_stats(w)->fsyncs, before + 3);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);

	o.fsync_interval_ms = 50;	/* the background thread */
	w = wopen(&o);
	before = journal_writer_stats(w)->fsyncs;
	append_n(w, 20, 10);
	append_n(w, 30, 10);
	CU_ASSERT_EQUAL(journal_writer_stats(w)->fsyncs, before);
	nanosleep(&ts, NULL);
	CU_ASSERT_EQUAL(journal_writer_stats(w)->fsyncs, before + 1);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);

	/* while data waits for its fsync, the thread sleeps (a deadline on
	 * the wrong clock once made it spin for the whole interval) */
	o.fsync_interval_ms = 1000;
	w = wopen(&o);
	append_n(w, 40, 10);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	nanosleep(&ts, NULL);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	cpu_ms = (c1.tv_sec - c0.tv_sec) * 1000 +
		 (c1.tv_nsec - c0.tv_nsec) / 1000000;
	CU_ASSERT(cpu_ms < 50);
	CU_ASSERT_EQUAL(journal_writer_stats(w)->fsyncs, 0);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	tdir_remove();
}

static void
test_long_line(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	char big[500];
	const char *line;
	size_t len;

	tdir_make();
	journal_opts_init(&o);
	o.max_line = 100;
	memset(big, 'x', sizeof(big));
	w = wopen(&o);
	append_n(w, 0, 1);
	CU_ASSERT_EQUAL(journal_append(w, big, sizeof(big)), JOURNAL_OK);
	CU_ASSERT_EQUAL(journal_append(w, "y\r", 2), JOURNAL_OK);
	append_n(w, 1, 1);
	r = ropen("a", &o);
	CU_ASSERT_EQUAL(read_expect(r, 0, 1, 0), 1);
	CU_ASSERT_EQUAL(journal_read(r, &line, &len, 0), JOURNAL_BAD_LINE);
	CU_ASSERT_STRING_EQUAL(journal_reader_bad_reason(r),
			       "line too long (500 bytes, max 100)");
	CU_ASSERT_EQUAL(journal_read(r, &line, &len, 0), JOURNAL_OK);
	CU_ASSERT_EQUAL(len, 1);	/* "\r" removed */
	CU_ASSERT_EQUAL(read_expect(r, 1, 1, 0), 1);
	CU_ASSERT_EQUAL(journal_reader_lineno(r), 4);
	CU_ASSERT_EQUAL(journal_reader_stats(r)->skipped, 1);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);
	journal_reader_close(r);
	tdir_remove();
}

/* A write that fails half-way (file size limit) is cut back: the segment
 * keeps whole lines only, and the error is JOURNAL_ERR_IO. */
static void
test_write_error(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	struct rlimit old, lim;
	char path[128], big[4000];
	struct stat sb;
	void (*oldsig)(int);
	off_t size;
	enum journal_err rc;

	tdir_make();
	journal_opts_init(&o);
	w = wopen(&o);
	append_n(w, 0, 10);
	journal_segment_path(tdir, 1, path, sizeof(path));
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	size = sb.st_size;
	memset(big, 'z', sizeof(big));
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(journal_append(w, big, sizeof(big)), JOURNAL_OK);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 1000;
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = journal_flush(w);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, oldsig);
	CU_ASSERT_EQUAL(rc, JOURNAL_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_writer_errmsg(w), "write: "));
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_size, size);
	r = ropen("a", &o);
	CU_ASSERT_EQUAL(read_expect(r, 0, 10, 0), 10);
	journal_reader_close(r);
	journal_writer_close(w);
	tdir_remove();
}

/* fsync failures reach the caller as JOURNAL_ERR_IO: at once with
 * JOURNAL_FSYNC_INTERVAL 0, at the next flush from the fsync thread, and
 * from a cursor commit. */
static void
test_fsync_error(void)
{
	struct journal_opts o;
	struct journal_writer *w;
	struct journal_reader *r;
	struct timespec ts = { 0, 200 * 1000000L };

	tdir_make();
	journal_opts_init(&o);
	o.fsync_interval_ms = 0;
	w = wopen(&o);
	CU_ASSERT_EQUAL(journal_append(w, "{}", 2), JOURNAL_OK);
	fail_fsync = 1;
	CU_ASSERT_EQUAL(journal_flush(w), JOURNAL_ERR_IO);
	fail_fsync = 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_writer_errmsg(w),
				      "fsync: Input/output error"));
	CU_ASSERT_EQUAL(journal_sync(w), JOURNAL_OK);
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_OK);

	o.fsync_interval_ms = 20;
	w = wopen(&o);
	fail_fsync = 1;
	CU_ASSERT_EQUAL(journal_append(w, "{}", 2), JOURNAL_OK);
	CU_ASSERT_EQUAL(journal_flush(w), JOURNAL_OK);
	nanosleep(&ts, NULL);	/* the thread's fsync fails */
	fail_fsync = 0;
	CU_ASSERT_EQUAL(journal_flush(w), JOURNAL_ERR_IO);
	CU_ASSERT_EQUAL(journal_flush(w), JOURNAL_OK);	/* reported once */

	r = ropen("a", &o);
	fail_fsync = 1;
	CU_ASSERT_EQUAL(journal_reader_commit(r, journal_reader_tell(r)),
			JOURNAL_ERR_IO);
	fail_fsync = 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_reader_errmsg(r),
				      "cannot save cursor 'a'"));
	CU_ASSERT_EQUAL(journal_reader_commit(r, journal_reader_tell(r)),
			JOURNAL_OK);
	journal_reader_close(r);
	fail_fsync = 1;
	CU_ASSERT_EQUAL(journal_writer_close(w), JOURNAL_ERR_IO);
	fail_fsync = 0;
	tdir_remove();
}

/* A stage's --out DIR and another's --in DIR --consumer NAME through the
 * stageio calls: lines, NUL termination, BAD_LINE reason, tell/commit and
 * resume after the commit, the writer lock, a bad consumer name. */
static void
test_stageio_journal(void)
{
	struct config cfg;
	struct stage_out *out = NULL, *out2 = NULL;
	struct stage_in *in = NULL;
	struct stage_pos pos;
	const char *line;
	size_t len;
	char *big, name[128];

	tdir_make();
	memset(&cfg, 0, sizeof(cfg));
	cfg.prog = "test";
	cfg.in = tdir;
	cfg.out = tdir;
	cfg.consumer = "engine";
	CU_ASSERT_EQUAL_FATAL(stage_out_open(&out, &cfg), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_open(&out2, &cfg), STAGEIO_ERR_JOURNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stage_out_errmsg(NULL),
				      "has another writer"));
	CU_ASSERT_EQUAL(stage_out_write(out, "{\"a\":1}", 7), STAGEIO_OK);
	big = malloc(2 * 1024 * 1024);
	memset(big, 'x', 2 * 1024 * 1024);
	CU_ASSERT_EQUAL(stage_out_write(out, big, 2 * 1024 * 1024), STAGEIO_OK);
	free(big);
	CU_ASSERT_EQUAL(stage_out_write(out, "{\"a\":2}", 7), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_write(out, "{\"a\":3}", 7), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_flush(out), STAGEIO_OK);

	CU_ASSERT_EQUAL_FATAL(stage_in_open(&in, &cfg), STAGEIO_OK);
	snprintf(name, sizeof(name), "journal '%s' consumer 'engine'", tdir);
	CU_ASSERT_STRING_EQUAL(stage_in_name(in), name);
	CU_ASSERT(stage_in_ready(in));
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 0), STAGEIO_OK);
	CU_ASSERT(len == 7 && memcmp(line, "{\"a\":1}", 8) == 0);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 0), STAGEIO_BAD_LINE);
	CU_ASSERT_STRING_EQUAL(stage_in_bad_reason(in), "line 2: line too "
			       "long (2097152 bytes, max 1048576)");
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 0), STAGEIO_OK);
	CU_ASSERT(len == 7 && memcmp(line, "{\"a\":2}", 8) == 0);
	pos = stage_in_tell(in);
	CU_ASSERT_EQUAL(pos.seg, 1);
	CU_ASSERT_EQUAL(stage_in_commit(in, pos), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_in_lineno(in), 3);
	stage_in_close(in);
	/* resumes after the commit */
	CU_ASSERT_EQUAL_FATAL(stage_in_open(&in, &cfg), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 0), STAGEIO_OK);
	CU_ASSERT(len == 7 && memcmp(line, "{\"a\":3}", 8) == 0);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 0), STAGEIO_TIMEOUT);
	CU_ASSERT_EQUAL(stage_out_write(out, "{\"a\":4}", 7), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_out_sync(out), STAGEIO_OK);
	CU_ASSERT_EQUAL(stage_in_read(in, &line, &len, 1000), STAGEIO_OK);
	CU_ASSERT(len == 7 && memcmp(line, "{\"a\":4}", 8) == 0);
	stage_in_close(in);
	CU_ASSERT_EQUAL(stage_out_close(out), STAGEIO_OK);
	cfg.consumer = "no/slash";
	CU_ASSERT_EQUAL(stage_in_open(&in, &cfg), STAGEIO_ERR_USAGE);
	CU_ASSERT_PTR_NULL(in);
	tdir_remove();
}

static void
test_strerror(void)
{
	for (int e = JOURNAL_OK; e <= JOURNAL_ERR_NOMEM; e++) {
		const char *s = journal_strerror((enum journal_err)e);
		CU_ASSERT(s && *s);
		CU_ASSERT_STRING_NOT_EQUAL(s, "unknown journal error");
	}
	CU_ASSERT(journal_name_valid("influx-sink_1"));
	CU_ASSERT(!journal_name_valid(""));
	CU_ASSERT(!journal_name_valid("a.b"));
	CU_ASSERT(!journal_name_valid("a/b"));
}

int
test_journal_suite(void)
{
	CU_pSuite s = CU_add_suite("journal", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "append/read round trip", test_roundtrip) ||
	    !CU_add_test(s, "rotation", test_rotation) ||
	    !CU_add_test(s, "follow latency under 100 ms",
			 test_follow_latency) ||
	    !CU_add_test(s, "cursor commit and resume", test_commit_resume) ||
	    !CU_add_test(s, "torn last line cut at open", test_torn_line) ||
	    !CU_add_test(s, "damaged segment skipped", test_damaged_segment) ||
	    !CU_add_test(s, "consumed segments deleted (two consumers)",
			 test_cleanup_two_consumers) ||
	    !CU_add_test(s, "max size drops oldest, counted",
			 test_max_size) ||
	    !CU_add_test(s, "writer and consumer locks", test_locks) ||
	    !CU_add_test(s, "fsync policies", test_fsync_policy) ||
	    !CU_add_test(s, "over-long line skipped", test_long_line) ||
	    !CU_add_test(s, "failed write cut back", test_write_error) ||
	    !CU_add_test(s, "failed fsync reported", test_fsync_error) ||
	    !CU_add_test(s, "stageio on journals", test_stageio_journal) ||
	    !CU_add_test(s, "strerror and names", test_strerror))
		return -1;
	return 0;
}
