/*
 * journal: segment files, cursors and locks of a durable edge. See journal.h
 * for the layout and the policies; the comments here explain the mechanics.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "util.h"
#include "banned.h"

/* How long a woken follower lets appends gather (see reader_wait). */
#define JOURNAL_FOLLOW_COALESCE_US 500
#define JOURNAL_SEG_DIGITS 20
#define JOURNAL_SEG_SUFFIX ".ndjson"
#define JOURNAL_SEG_NAMELEN (JOURNAL_SEG_DIGITS + sizeof(JOURNAL_SEG_SUFFIX) - 1)
#define JOURNAL_READ_BLOCK (64 * 1024)
#define JOURNAL_RELIST_MS 1000
/* The writer also deletes consumed segments this often (readers do it when
 * they commit past a segment, the writer at rotation). */
#define JOURNAL_HOUSEKEEPING_MS 5000

struct journal_writer {
	char *dir;
	int dirfd;
	int lockfd;
	int fd;			/* current segment, O_APPEND */
	uint64_t seq;		/* current segment */
	uint64_t seg_size;	/* bytes written to the current segment */
	uint64_t total;		/* bytes in all segments (readers may have
				 * deleted some: rescanned before dropping) */
	char *buf;
	size_t len;
	size_t cap;
	struct journal_opts opts;
	struct journal_writer_stats st;
	int64_t next_housekeeping;	/* time_mono_ms */
	/* the fsync thread (fsync_interval_ms > 0) */
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool thr_running;
	bool stopping;
	bool dirty;		/* written, not yet fsynced */
	int64_t dirty_since;	/* time_mono_ms of the first unsynced write */
	int thr_errno;		/* an fsync of the thread failed */
	uint64_t thr_fsyncs;	/* fsyncs done by the thread */
	char err[512];
};

struct journal_reader {
	char *dir;
	char *name;
	int dirfd;
	int lockfd;
	int ifd;		/* inotify, -1: polling only */
	int fd;			/* current segment, -1 none */
	uint64_t seq;		/* current segment (0: none yet) */
	char *buf;
	size_t start;		/* first unreturned byte */
	size_t end;
	size_t cap;
	size_t scan;		/* bytes after start known to hold no '\n' */
	uint64_t buf_off;	/* file offset of buf[0] */
	uint64_t pos_off;	/* offset just past the last line handled */
	size_t max_line;
	bool skipping;		/* inside an over-long line */
	bool resync;		/* drop bytes up to the next '\n' (a cursor
				 * that pointed inside a line) */
	uint64_t skipped_len;
	uint64_t lineno;
	uint64_t committed_seq;
	int64_t last_relist;
	struct journal_reader_stats st;
	char bad[160];
	char err[512];
};

void
journal_opts_init(struct journal_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->segment_size = JOURNAL_SEGMENT_SIZE;
	opts->fsync_interval_ms = JOURNAL_FSYNC_INTERVAL;
	opts->max_size = JOURNAL_MAX_SIZE;
	opts->max_line = JOURNAL_MAX_LINE;
}

static void
opts_fill(struct journal_opts *dst, const struct journal_opts *src)
{
	journal_opts_init(dst);
	if (!src)
		return;
	*dst = *src;
	if (dst->segment_size == 0)
		dst->segment_size = JOURNAL_SEGMENT_SIZE;
	if (dst->fsync_interval_ms < 0)
		dst->fsync_interval_ms = JOURNAL_FSYNC_INTERVAL;
	if (dst->max_size == 0)
		dst->max_size = JOURNAL_MAX_SIZE;
	if (dst->max_line == 0)
		dst->max_line = JOURNAL_MAX_LINE;
}

static void
errf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
errf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!buf || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

bool
journal_name_valid(const char *name)
{
	size_t n = 0;

	if (!name)
		return false;
	for (; name[n]; n++) {
		char c = name[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return n > 0 && n <= JOURNAL_NAME_MAX;
}

static void
seg_name(uint64_t seq, char *buf, size_t size)
{
	snprintf(buf, size, "%020" PRIu64 JOURNAL_SEG_SUFFIX, seq);
}

char *
journal_segment_path(const char *dir, uint64_t seq, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%020" PRIu64 JOURNAL_SEG_SUFFIX, dir, seq);
	return buf;
}

/* 1: a segment name (seq in *seq); 0: another journal file (cursor, lock,
 * temporary, dropped.log, dot file); -1: a stray. */
static int
classify_name(const char *name, uint64_t *seq)
{
	size_t len = strlen(name);
	uint64_t v = 0;

	if (name[0] == '.' || strcmp(name, "writer.lock") == 0 ||
	    strcmp(name, "dropped.log") == 0)
		return 0;
	if (strncmp(name, "cursor.", 7) == 0 || strncmp(name, "lock.", 5) == 0)
		return 0;
	if (len != JOURNAL_SEG_NAMELEN ||
	    strcmp(name + JOURNAL_SEG_DIGITS, JOURNAL_SEG_SUFFIX) != 0)
		return -1;
	for (size_t i = 0; i < JOURNAL_SEG_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (v == 0)
		return -1;
	*seq = v;
	return 1;
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct journal_seg *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lists the segments of an open directory, sorted. Strays are counted and,
 * when warn is set, reported. A segment that vanished meanwhile is left out. */
static enum journal_err
scan_segments(int dirfd, const char *dir, bool warn, struct journal_seg **out,
	      size_t *nout, size_t *strays, char *err, size_t errsize)
{
	enum journal_err rc = JOURNAL_ERR_SYS;
	struct journal_seg *segs = NULL;
	size_t n = 0, cap = 0, nstray = 0;
	struct dirent *de;
	DIR *d = NULL;
	int fd;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		errf(err, errsize, "cannot list journal '%s': opendir: %s", dir,
		     strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((errno = 0, de = readdir(d))) {
		uint64_t seq;
		struct stat sb;
		int kind;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		kind = classify_name(de->d_name, &seq);
		if (kind == 0)
			continue;
		if (kind < 0) {
			nstray++;
			if (warn)
				log_warn("ignoring a file that is no journal file"
					 "\tjournal='%s' file='%s'", dir,
					 de->d_name);
			continue;
		}
		if (fstatat(dirfd, de->d_name, &sb, 0) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct journal_seg *p = realloc(segs, ncap * sizeof(*p));
			if (!p) {
				rc = JOURNAL_ERR_NOMEM;
				errf(err, errsize, "out of memory");
				goto out;
			}
			segs = p;
			cap = ncap;
		}
		segs[n].seq = seq;
		segs[n].size = (uint64_t)sb.st_size;
		n++;
	}
	if (errno) {
		errf(err, errsize, "cannot list journal '%s': readdir: %s", dir,
		     strerror(errno));
		goto out;
	}
	if (n)
		qsort(segs, n, sizeof(*segs), seg_cmp);
	*out = segs;
	segs = NULL;
	*nout = n;
	if (strays)
		*strays = nstray;
	rc = JOURNAL_OK;
out:
	free(segs);
	if (d)
		closedir(d);
	return rc;
}

static int
mkdir_p(const char *dir)
{
	char *p = strdup(dir);
	int rc = -1;

	if (!p)
		return -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			goto out;
		*s = '/';
	}
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		goto out;
	rc = 0;
out:
	free(p);
	return rc;
}

static int
open_dir(const char *dir, bool create, char *err, size_t errsize)
{
	int fd;

	if (create && mkdir_p(dir) != 0) {
		errf(err, errsize, "cannot create journal '%s': mkdir: %s", dir,
		     strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		errf(err, errsize, "cannot open journal '%s': open: %s", dir,
		     strerror(errno));
	return fd;
}

/* ---- cursors ---- */

static enum journal_err
cursor_parse(const char *text, struct journal_pos *pos)
{
	unsigned long long seg, off;
	char tail;

	if (sscanf(text, "%llu %llu%c", &seg, &off, &tail) != 3 || tail != '\n')
		return JOURNAL_ERR_CURSOR;
	pos->seg = seg;
	pos->off = off;
	return JOURNAL_OK;
}

/* JOURNAL_OK, JOURNAL_ERR_SYS with errno ENOENT when there is no cursor. */
static enum journal_err
cursor_load_at(int dirfd, const char *name, struct journal_pos *pos)
{
	char path[JOURNAL_NAME_MAX + 16], text[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "cursor.%s", name);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return JOURNAL_ERR_SYS;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return JOURNAL_ERR_SYS;
	text[n] = '\0';
	return cursor_parse(text, pos);
}

/* Temporary file, fsync, rename over the cursor, fsync of the directory:
 * after a crash the cursor is either the old or the new one, whole. */
static enum journal_err
cursor_store_at(int dirfd, const char *name, struct journal_pos pos,
		char *err, size_t errsize)
{
	char path[JOURNAL_NAME_MAX + 16], tmp[JOURNAL_NAME_MAX + 24];
	char text[64];
	int fd, len;
	ssize_t n;

	snprintf(path, sizeof(path), "cursor.%s", name);
	snprintf(tmp, sizeof(tmp), ".cursor.%s.tmp", name);
	len = snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64 "\n",
		       pos.seg, pos.off);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		errf(err, errsize, "cannot save cursor '%s': open: %s", name,
		     strerror(errno));
		return JOURNAL_ERR_SYS;
	}
	n = write(fd, text, (size_t)len);
	if (n != len || fsync(fd) != 0) {
		int e = n < 0 || n == len ? errno : EIO;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errf(err, errsize, "cannot save cursor '%s': write: %s", name,
		     strerror(e));
		return JOURNAL_ERR_IO;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, path) != 0) {
		errf(err, errsize, "cannot save cursor '%s': rename: %s", name,
		     strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return JOURNAL_ERR_SYS;
	}
	if (fsync(dirfd) != 0) {
		errf(err, errsize, "cannot save cursor '%s': fsync of the "
		     "directory: %s", name, strerror(errno));
		return JOURNAL_ERR_IO;
	}
	return JOURNAL_OK;
}

/* The smallest segment of any cursor; false when no consumer is
 * registered. An unreadable cursor counts as segment 0: keep everything. */
static bool
min_cursor_seg(int dirfd, uint64_t *min)
{
	struct dirent *de;
	bool any = true;	/* until the directory is read: keep all */
	DIR *d = NULL;
	int fd;

	*min = 0;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		goto out;
	}
	any = false;
	*min = UINT64_MAX;
	while ((de = readdir(d))) {
		struct journal_pos pos;

		if (strncmp(de->d_name, "cursor.", 7) != 0 ||
		    !journal_name_valid(de->d_name + 7))
			continue;
		any = true;
		errno = 0;
		if (cursor_load_at(dirfd, de->d_name + 7, &pos) != JOURNAL_OK)
			pos.seg = errno == ENOENT ? UINT64_MAX : 0;
		if (pos.seg < *min)
			*min = pos.seg;
	}
out:
	if (d)
		closedir(d);
	return any;
}

/* Deletes segments below every cursor, never the newest one. Safe with a
 * concurrent writer and readers: cursors only move forward (a stale read
 * deletes less), and the writer's segment is the newest. */
static enum journal_err
cleanup_at(int dirfd, const char *dir, uint64_t *deleted)
{
	struct journal_seg *segs = NULL;
	size_t n = 0;
	uint64_t min, count = 0;
	enum journal_err rc = JOURNAL_OK;

	if (!min_cursor_seg(dirfd, &min) || min == 0)
		goto out;
	rc = scan_segments(dirfd, dir, false, &segs, &n, NULL, NULL, 0);
	if (rc)
		goto out;
	for (size_t i = 0; i + 1 < n && segs[i].seq < min; i++) {
		char name[JOURNAL_SEG_NAMELEN + 1];

		seg_name(segs[i].seq, name, sizeof(name));
		if (unlinkat(dirfd, name, 0) == 0)
			count++;
	}
out:
	free(segs);
	if (deleted)
		*deleted = count;
	return rc;
}

/* ---- writer ---- */

static void *
fsync_thread(void *arg)
{
	struct journal_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		int64_t now = time_mono_ms();
		int64_t due = w->dirty_since + w->opts.fsync_interval_ms;
		struct timespec ts;
		int fd;

		if (!w->dirty) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		if (now < due) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (due - now) / 1000;
			ts.tv_nsec += ((due - now) % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
			continue;
		}
		/* A duplicate keeps the file open even if the writer rotates
		 * and closes its descriptor while we sync. */
		fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
		w->dirty = false;
		pthread_mutex_unlock(&w->mu);
		if (fd < 0 || fdatasync(fd) != 0) {
			int e = errno;
			pthread_mutex_lock(&w->mu);
			w->thr_errno = e ? e : EIO;
		} else {
			pthread_mutex_lock(&w->mu);
			w->thr_fsyncs++;
		}
		if (fd >= 0)
			close(fd);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static enum journal_err
writer_fsync(struct journal_writer *w)
{
	int e;

	pthread_mutex_lock(&w->mu);
	e = w->thr_errno;
	w->thr_errno = 0;
	w->dirty = false;
	pthread_mutex_unlock(&w->mu);
	if (e == 0 && fdatasync(w->fd) == 0) {
		w->st.fsyncs++;
		return JOURNAL_OK;
	}
	if (e == 0)
		e = errno;
	errf(w->err, sizeof(w->err), "cannot append to journal '%s': "
	     "fsync: %s", w->dir, strerror(e));
	return JOURNAL_ERR_IO;
}

/* Counts the lines of a segment about to be dropped (for the report). */
static uint64_t
count_lines_at(int dirfd, const char *name)
{
	char buf[JOURNAL_READ_BLOCK];
	uint64_t lines = 0;
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p)));
		     p++)
			lines++;
	close(fd);
	return lines;
}

/* Past max_size: drops the oldest segments (never the current one). */
static enum journal_err
writer_enforce_max(struct journal_writer *w)
{
	struct journal_seg *segs = NULL;
	size_t n = 0;
	uint64_t total = 0;
	enum journal_err rc;

	/* readers delete segments too: count again before dropping */
	rc = scan_segments(w->dirfd, w->dir, false, &segs, &n, NULL, w->err,
			   sizeof(w->err));
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		total += segs[i].size;
	for (size_t i = 0; total > w->opts.max_size && i < n &&
	     segs[i].seq < w->seq; i++) {
		char name[JOURNAL_SEG_NAMELEN + 1];
		struct journal_drop drop;
		char line[128];
		int fd, len;

		seg_name(segs[i].seq, name, sizeof(name));
		drop.seg = segs[i].seq;
		drop.bytes = segs[i].size;
		drop.lines = count_lines_at(w->dirfd, name);
		/* record it first, so that readers can count what they lost */
		fd = openat(w->dirfd, "dropped.log",
			    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			len = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64
				       " %" PRIu64 " %" PRId64 "\n", drop.seg,
				       drop.bytes, drop.lines,
				       time_now_ns() / 1000000000);
			if (write(fd, line, (size_t)len) != len)
				log_warn("cannot record a dropped segment"
					 "\tjournal='%s'", w->dir);
			close(fd);
		}
		if (unlinkat(w->dirfd, name, 0) != 0)
			continue;
		total -= segs[i].size;
		w->st.dropped_segments++;
		w->st.dropped_bytes += drop.bytes;
		w->st.dropped_lines += drop.lines;
		if (w->opts.on_drop)
			w->opts.on_drop(w->opts.on_drop_arg, &drop);
	}
	w->total = total;
	free(segs);
	return JOURNAL_OK;
}

static enum journal_err
writer_housekeeping(struct journal_writer *w)
{
	uint64_t deleted = 0;

	w->next_housekeeping = time_mono_ms() + JOURNAL_HOUSEKEEPING_MS;
	cleanup_at(w->dirfd, w->dir, &deleted);
	w->st.deleted_segments += deleted;
	return writer_enforce_max(w);	/* recounts w->total */
}

/* Opens segment seq for appending; created when create is set. */
static enum journal_err
writer_open_segment(struct journal_writer *w, uint64_t seq, bool create)
{
	char name[JOURNAL_SEG_NAMELEN + 1];
	struct stat sb;
	int fd, flags = O_WRONLY | O_APPEND | O_CLOEXEC;

	seg_name(seq, name, sizeof(name));
	if (create)
		flags |= O_CREAT | O_EXCL;
	fd = openat(w->dirfd, name, flags, 0644);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		errf(w->err, sizeof(w->err), "cannot open journal segment "
		     "'%s/%s': open: %s", w->dir, name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return JOURNAL_ERR_SYS;
	}
	/* a new segment must survive a power loss like its data */
	if (create && fsync(w->dirfd) != 0) {
		errf(w->err, sizeof(w->err), "cannot create journal segment "
		     "'%s/%s': fsync of the directory: %s", w->dir, name,
		     strerror(errno));
		close(fd);
		return JOURNAL_ERR_IO;
	}
	pthread_mutex_lock(&w->mu);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->seq = seq;
	w->seg_size = (uint64_t)sb.st_size;
	pthread_mutex_unlock(&w->mu);
	return JOURNAL_OK;
}

static enum journal_err
writer_rotate(struct journal_writer *w)
{
	enum journal_err rc;

	/* the old segment is complete and durable before the next begins
	 * (one fsync per segment: the fsync thread may be mid-way) */
	rc = writer_fsync(w);
	if (rc)
		return rc;
	rc = writer_open_segment(w, w->seq + 1, true);
	if (rc)
		return rc;
	w->st.rotations++;
	return writer_housekeeping(w);
}

/* Cuts a torn last line (no final '\n') of segment name: the tail of a
 * write a crash interrupted. Returns the bytes cut. */
static uint64_t
cut_torn_tail(struct journal_writer *w, const char *name)
{
	char buf[JOURNAL_READ_BLOCK];
	struct stat sb;
	off_t end, pos;
	uint64_t cut = 0;
	int fd;

	fd = openat(w->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size == 0)
		goto out;
	end = sb.st_size;
	pos = end;
	while (pos > 0) {
		size_t want = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		ssize_t n = pread(fd, buf, want, pos - (off_t)want);
		char *nl;

		if (n != (ssize_t)want)
			goto out;
		nl = memrchr(buf, '\n', want);
		if (nl) {
			pos = pos - (off_t)want + (nl - buf) + 1;
			break;
		}
		pos -= (off_t)want;
	}
	if (pos == end)
		goto out;
	if (ftruncate(fd, pos) != 0 || fsync(fd) != 0) {
		log_warn("cannot cut a torn last line\tjournal='%s' segment='%s'"
			 " error='%s'", w->dir, name, strerror(errno));
		goto out;
	}
	cut = (uint64_t)(end - pos);
	log_warn("cut a torn last line left by a crash\tjournal='%s' "
		 "segment='%s' bytes=%" PRIu64, w->dir, name, cut);
out:
	if (fd >= 0)
		close(fd);
	return cut;
}

static enum journal_err
writer_lock(struct journal_writer *w, char *err, size_t errsize)
{
	char pidbuf[32];
	int len;

	w->lockfd = openat(w->dirfd, "writer.lock",
			   O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (w->lockfd < 0) {
		errf(err, errsize, "cannot lock journal '%s': open: %s",
		     w->dir, strerror(errno));
		return JOURNAL_ERR_SYS;
	}
	if (flock(w->lockfd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n;

		if (errno != EWOULDBLOCK) {
			errf(err, errsize, "cannot lock journal '%s': flock: %s",
			     w->dir, strerror(errno));
			return JOURNAL_ERR_SYS;
		}
		n = pread(w->lockfd, pidbuf, sizeof(pidbuf) - 1, 0);
		pidbuf[n > 0 ? n : 0] = '\0';
		pidbuf[strcspn(pidbuf, "\n")] = '\0';
		errf(err, errsize, "journal '%s' has another writer (pid %s)",
		     w->dir, pidbuf[0] ? pidbuf : "unknown");
		return JOURNAL_ERR_LOCKED;
	}
	len = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
	if (ftruncate(w->lockfd, 0) != 0 ||
	    pwrite(w->lockfd, pidbuf, (size_t)len, 0) != len)
		log_warn("cannot record the writer pid\tjournal='%s'", w->dir);
	return JOURNAL_OK;
}

static enum journal_err
writer_start_thread(struct journal_writer *w, char *err, size_t errsize)
{
	sigset_t all, old;
	int e;

	if (w->opts.fsync_interval_ms == 0)
		return JOURNAL_OK;
	/* the thread takes no signal: the stage's main thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&w->thr, NULL, fsync_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		errf(err, errsize, "cannot start the fsync thread of journal "
		     "'%s': %s", w->dir, strerror(e));
		return JOURNAL_ERR_SYS;
	}
	w->thr_running = true;
	return JOURNAL_OK;
}

static void
writer_free(struct journal_writer *w)
{
	if (w->thr_running) {
		pthread_mutex_lock(&w->mu);
		w->stopping = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thr, NULL);
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->lockfd >= 0)
		close(w->lockfd);	/* releases the flock */
	if (w->dirfd >= 0)
		close(w->dirfd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->buf);
	free(w->dir);
	free(w);
}

enum journal_err
journal_writer_open(struct journal_writer **wp, const char *dir,
		    const struct journal_opts *opts, char *err, size_t errsize)
{
	enum journal_err rc = JOURNAL_ERR_NOMEM;
	struct journal_writer *w;
	struct journal_seg *segs = NULL;
	pthread_condattr_t ca;
	size_t n = 0, strays = 0;

	*wp = NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		errf(err, errsize, "out of memory");
		return JOURNAL_ERR_NOMEM;
	}
	w->dirfd = w->lockfd = w->fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	/* the thread's deadlines are on the monotonic clock (the default,
	 * CLOCK_REALTIME, would see them as long past and spin) */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	opts_fill(&w->opts, opts);
	w->cap = JOURNAL_WRITE_BUF;
	w->dir = strdup(dir);
	w->buf = malloc(w->cap);
	if (!w->dir || !w->buf) {
		errf(err, errsize, "out of memory");
		goto out;
	}
	rc = JOURNAL_ERR_SYS;
	w->dirfd = open_dir(dir, true, err, errsize);
	if (w->dirfd < 0)
		goto out;
	rc = writer_lock(w, err, errsize);
	if (rc)
		goto out;
	rc = scan_segments(w->dirfd, dir, true, &segs, &n, &strays, err,
			   errsize);
	if (rc)
		goto out;
	w->st.damaged = strays;
	for (size_t i = 0; i < n; i++)
		w->total += segs[i].size;
	if (n == 0) {
		rc = writer_open_segment(w, 1, true);
	} else {
		char name[JOURNAL_SEG_NAMELEN + 1];
		uint64_t last = segs[n - 1].seq;

		seg_name(last, name, sizeof(name));
		w->st.torn_bytes = cut_torn_tail(w, name);
		w->total -= w->st.torn_bytes;
		rc = writer_open_segment(w, last, false);
		if (rc) {
			/* unreadable: leave it for the readers to report */
			log_warn("skipping a damaged segment\tjournal='%s' "
				 "error='%s'", dir, w->err);
			w->st.damaged++;
			rc = writer_open_segment(w, last + 1, true);
		} else if (w->seg_size >= w->opts.segment_size) {
			rc = writer_rotate(w);
		}
	}
	if (rc) {
		errf(err, errsize, "%s", w->err);
		goto out;
	}
	rc = writer_housekeeping(w);
	if (rc) {
		errf(err, errsize, "%s", w->err);
		goto out;
	}
	rc = writer_start_thread(w, err, errsize);
	if (rc)
		goto out;
	*wp = w;
	w = NULL;
out:
	free(segs);
	if (w)
		writer_free(w);
	return rc;
}

/* Writes len bytes at the end of the current segment in one write(2) when
 * the kernel allows; a failed write is cut back so that the segment never
 * holds a partial line. */
static enum journal_err
writer_write(struct journal_writer *w, const char *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(w->fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			if (done && ftruncate(w->fd, (off_t)w->seg_size) != 0)
				log_warn("cannot cut a failed write\tjournal='%s'"
					 " error='%s'", w->dir, strerror(errno));
			errf(w->err, sizeof(w->err), "cannot append to journal "
			     "'%s': write: %s", w->dir, strerror(e));
			return JOURNAL_ERR_IO;
		}
		done += (size_t)n;
	}
	w->seg_size += len;
	w->total += len;
	w->st.bytes += len;
	w->st.flushes++;
	if (w->opts.fsync_interval_ms == 0)
		return writer_fsync(w);
	pthread_mutex_lock(&w->mu);
	if (!w->dirty) {
		w->dirty = true;
		w->dirty_since = time_mono_ms();
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return JOURNAL_OK;
}

enum journal_err
journal_flush(struct journal_writer *w)
{
	enum journal_err rc;
	int e;

	pthread_mutex_lock(&w->mu);
	e = w->thr_errno;
	w->thr_errno = 0;
	pthread_mutex_unlock(&w->mu);
	if (e) {
		errf(w->err, sizeof(w->err), "cannot append to journal '%s': "
		     "fsync: %s", w->dir, strerror(e));
		return JOURNAL_ERR_IO;
	}
	if (w->len == 0)
		return JOURNAL_OK;
	rc = writer_write(w, w->buf, w->len);
	if (rc)
		return rc;
	w->len = 0;
	if (time_mono_ms() >= w->next_housekeeping)
		return writer_housekeeping(w);
	if (w->total > w->opts.max_size)
		return writer_enforce_max(w);
	return JOURNAL_OK;
}

enum journal_err
journal_append(struct journal_writer *w, const char *line, size_t len)
{
	enum journal_err rc;

	if (memchr(line, '\n', len)) {
		errf(w->err, sizeof(w->err), "cannot append to journal '%s': "
		     "a line holds a newline", w->dir);
		return JOURNAL_ERR_VALUE;
	}
	if (w->len + len + 1 > w->cap) {
		rc = journal_flush(w);
		if (rc)
			return rc;
	}
	if (w->seg_size + w->len + len + 1 > w->opts.segment_size &&
	    w->seg_size + w->len > 0) {
		rc = journal_flush(w);
		if (rc)
			return rc;
		rc = writer_rotate(w);
		if (rc)
			return rc;
	}
	w->st.lines++;
	if (len + 1 > w->cap) {
		/* a line bigger than the buffer goes out whole, with its
		 * newline, in one write */
		char *tmp = malloc(len + 1);

		if (!tmp) {
			errf(w->err, sizeof(w->err), "out of memory");
			return JOURNAL_ERR_NOMEM;
		}
		memcpy(tmp, line, len);
		tmp[len] = '\n';
		rc = writer_write(w, tmp, len + 1);
		free(tmp);
		return rc;
	}
	memcpy(w->buf + w->len, line, len);
	w->buf[w->len + len] = '\n';
	w->len += len + 1;
	return JOURNAL_OK;
}

enum journal_err
journal_sync(struct journal_writer *w)
{
	enum journal_err rc = journal_flush(w);

	if (rc)
		return rc;
	return writer_fsync(w);
}

struct journal_pos
journal_writer_tell(const struct journal_writer *w)
{
	struct journal_pos pos = { w->seq, w->seg_size + w->len };

	return pos;
}

const struct journal_writer_stats *
journal_writer_stats(struct journal_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->st.fsyncs += w->thr_fsyncs;
	w->thr_fsyncs = 0;
	pthread_mutex_unlock(&w->mu);
	return &w->st;
}

const char *
journal_writer_errmsg(const struct journal_writer *w)
{
	return w->err;
}

enum journal_err
journal_writer_close(struct journal_writer *w)
{
	enum journal_err rc;

	if (!w)
		return JOURNAL_OK;
	rc = journal_sync(w);
	writer_free(w);
	return rc;
}

/* ---- reader ---- */

static void
reader_set_bad(struct journal_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
reader_set_bad(struct journal_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->bad, sizeof(r->bad), fmt, ap);
	va_end(ap);
	r->st.skipped++;
	r->lineno++;
}

static void
reader_reset_buf(struct journal_reader *r, uint64_t off)
{
	r->start = r->end = r->scan = 0;
	r->buf_off = off;
	r->pos_off = off;
	r->skipping = false;
	r->skipped_len = 0;
}

/* Opens segment seq at byte off. JOURNAL_OK, or JOURNAL_ERR_SYS with errno
 * (ENOENT: it is gone). */
static enum journal_err
reader_open_segment(struct journal_reader *r, uint64_t seq, uint64_t off)
{
	char name[JOURNAL_SEG_NAMELEN + 1];
	struct stat sb;
	int fd;

	seg_name(seq, name, sizeof(name));
	fd = openat(r->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return JOURNAL_ERR_SYS;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return JOURNAL_ERR_SYS;
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->seq = seq;
	r->resync = false;
	if (off > (uint64_t)sb.st_size) {
		log_warn("cursor past the end of its segment, moved to the end"
			 "\tjournal='%s' consumer='%s' segment=%" PRIu64
			 " offset=%" PRIu64 " size=%jd", r->dir, r->name, seq,
			 off, (intmax_t)sb.st_size);
		off = (uint64_t)sb.st_size;
	}
	if (off > 0) {
		char c;

		if (pread(fd, &c, 1, (off_t)off - 1) == 1 && c != '\n') {
			log_warn("cursor inside a line, skipping to the next "
				 "line\tjournal='%s' consumer='%s' segment=%"
				 PRIu64 " offset=%" PRIu64, r->dir, r->name,
				 seq, off);
			r->resync = true;
		}
	}
	reader_reset_buf(r, off);
	return JOURNAL_OK;
}

/* Bytes dropped by max_size in the segments lo..hi (from dropped.log). */
static uint64_t
dropped_bytes_range(const char *dir, uint64_t lo, uint64_t hi)
{
	char path[4096], line[160];
	uint64_t bytes = 0;
	FILE *f;

	if (lo > hi)
		return 0;
	snprintf(path, sizeof(path), "%s/dropped.log", dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, b;

		if (sscanf(line, "%llu %llu", &s, &b) == 2 && s >= lo && s <= hi)
			bytes += b;
	}
	fclose(f);
	return bytes;
}

uint64_t
journal_dropped_bytes(const char *dir, uint64_t seq)
{
	return dropped_bytes_range(dir, seq, seq);
}

/*
 * Moves to the oldest segment after r->seq that can be opened (any, when
 * r->seq is 0). Segments that are missing in between were dropped by
 * max_size: their bytes (from our offset on) are counted as lost. Returns
 * true when it moved.
 */
static bool
reader_move_on(struct journal_reader *r, bool lost_current)
{
	struct journal_seg *segs = NULL;
	uint64_t from = r->seq;
	size_t n = 0;
	bool moved = false;

	r->last_relist = time_mono_ms();
	if (scan_segments(r->dirfd, r->dir, false, &segs, &n, NULL, NULL, 0))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (segs[i].seq <= r->seq)
			continue;
		if (reader_open_segment(r, segs[i].seq, 0) == JOURNAL_OK) {
			moved = true;
			break;
		}
		if (errno == ENOENT)
			continue;
		log_warn("skipping a damaged segment\tjournal='%s' consumer='%s'"
			 " segment=%" PRIu64 " error='%s'", r->dir, r->name,
			 segs[i].seq, strerror(errno));
		r->st.damaged_segments++;
		r->st.lost_bytes += segs[i].size;
	}
	if (moved) {
		/* the rest of a dropped current segment, and the segments
		 * between it and the new one, were dropped unread (from 0:
		 * a consumer registered before the first segment) */
		if (lost_current && from) {
			uint64_t b = journal_dropped_bytes(r->dir, from);
			r->st.lost_bytes += b > r->pos_off ? b - r->pos_off : 0;
		}
		r->st.lost_bytes += dropped_bytes_range(r->dir, from + 1,
							r->seq - 1);
	}
	free(segs);
	return moved;
}

/* Reads more of the current segment into the buffer: >0 bytes read, 0 at
 * the end of the data, -1 on a read error (message in r->err). */
static ssize_t
reader_fill(struct journal_reader *r)
{
	ssize_t n;

	if (r->fd < 0)
		return 0;
	if (r->start > 0 && (r->start == r->end || r->cap - r->end <
			     JOURNAL_READ_BLOCK)) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->buf_off += r->start;
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < JOURNAL_READ_BLOCK) {
		size_t ncap = r->cap * 2;
		char *p;

		if (ncap > r->max_line + 2 * JOURNAL_READ_BLOCK)
			ncap = r->max_line + 2 * JOURNAL_READ_BLOCK;
		if (ncap > r->cap) {
			p = realloc(r->buf, ncap);
			if (!p) {
				errf(r->err, sizeof(r->err), "out of memory");
				return -1;
			}
			r->buf = p;
			r->cap = ncap;
		}
	}
	do {
		n = pread(r->fd, r->buf + r->end, r->cap - r->end,
			  (off_t)(r->buf_off + r->end));
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		errf(r->err, sizeof(r->err), "cannot read journal '%s' segment "
		     "%" PRIu64 ": read: %s", r->dir, r->seq, strerror(errno));
		return -1;
	}
	r->end += (size_t)n;
	return n;
}

/* 1: a line (or a skip: r->bad) was taken, rc says which; 0: need more. */
static int
reader_next_line(struct journal_reader *r, const char **line, size_t *len,
		 enum journal_err *rc)
{
	for (;;) {
		char *s = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = memchr(s + r->scan, '\n', avail - r->scan);
		size_t n;

		if (!nl) {
			r->scan = avail;
			if (avail > r->max_line || (r->skipping && avail)) {
				/* an over-long line: drop what we have */
				r->skipping = true;
				r->skipped_len += avail;
				r->start = r->end;
				r->scan = 0;
			}
			return 0;
		}
		n = (size_t)(nl - s);
		r->start += n + 1;
		r->scan = 0;
		r->pos_off = r->buf_off + r->start;
		if (r->resync) {
			r->resync = false;
			continue;
		}
		if (r->skipping) {
			r->skipping = false;
			reader_set_bad(r, "line too long (%" PRIu64 " bytes, max "
				       "%zu)", r->skipped_len + n, r->max_line);
			r->skipped_len = 0;
			*rc = JOURNAL_BAD_LINE;
			return 1;
		}
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		if (n > r->max_line) {
			reader_set_bad(r, "line too long (%zu bytes, max %zu)", n,
				       r->max_line);
			*rc = JOURNAL_BAD_LINE;
			return 1;
		}
		if (memchr(s, '\0', n)) {
			reader_set_bad(r, "line holds a NUL byte");
			*rc = JOURNAL_BAD_LINE;
			return 1;
		}
		r->lineno++;
		r->st.lines++;
		r->st.bytes += (uint64_t)(nl - s) + 1;
		s[n] = '\0';	/* the '\r' or '\n', consumed */
		*line = s;
		*len = n;
		*rc = JOURNAL_OK;
		return 1;
	}
}

/* At the end of the current segment's data: moves to the next segment when
 * one exists. 1: moved (or more data turned up), 0: stay and wait, -1: a
 * torn line at the end of a finished segment was skipped (r->bad). */
static int
reader_at_end(struct journal_reader *r, bool relist)
{
	char name[JOURNAL_SEG_NAMELEN + 1];
	struct stat sb;
	bool next = false, gone = false;
	ssize_t n;

	if (r->seq == 0 || r->fd < 0)
		return reader_move_on(r, false) ? 1 : 0;
	seg_name(r->seq + 1, name, sizeof(name));
	if (faccessat(r->dirfd, name, F_OK, 0) == 0)
		next = true;
	else if (fstat(r->fd, &sb) == 0 && sb.st_nlink == 0)
		gone = true;	/* dropped under us: the rest is readable */
	else if (!relist)
		return 0;
	/* the writer finishes a segment before it creates the next one:
	 * read what it wrote since our last look */
	n = reader_fill(r);
	if (n != 0)
		return 1;
	if (!next && !gone) {
		struct journal_seg *segs = NULL;
		size_t cnt = 0;

		r->last_relist = time_mono_ms();
		if (scan_segments(r->dirfd, r->dir, false, &segs, &cnt, NULL,
				  NULL, 0) == JOURNAL_OK)
			next = cnt && segs[cnt - 1].seq > r->seq;
		free(segs);
		if (!next)
			return 0;
		n = reader_fill(r);
		if (n != 0)
			return 1;
	}
	if (r->end > r->start || r->skipping) {
		uint64_t torn = r->end - r->start + r->skipped_len;

		reader_set_bad(r, "incomplete last line (%" PRIu64 " bytes) in "
			       "segment %" PRIu64, torn, r->seq);
		reader_move_on(r, false);
		return -1;
	}
	return reader_move_on(r, false) ? 1 : 0;
}

static int
reader_wait(struct journal_reader *r, int ms)
{
	struct pollfd pfd = { r->ifd, POLLIN, 0 };
	char evbuf[4096] __attribute__((aligned(8)));
	int n;

	if (r->ifd < 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		return nanosleep(&ts, NULL) == 0 ? 0 : -1;
	}
	n = poll(&pfd, 1, ms);
	if (n < 0)
		return errno == EINTR ? -1 : 0;
	if (n > 0) {
		/*
		 * A writer that appends line by line (mqtt-ingest must write
		 * each message before acknowledging it) would otherwise wake
		 * us once per line. Letting JOURNAL_FOLLOW_COALESCE_US pass
		 * before reading turns a stream of wake-ups into bursts, as a
		 * pipe reader behind a busy writer gets, for at most that much
		 * added latency after an idle period.
		 */
		struct timespec ts = { 0, JOURNAL_FOLLOW_COALESCE_US * 1000L };

		nanosleep(&ts, NULL);
		while (read(r->ifd, evbuf, sizeof(evbuf)) > 0)
			;
	}
	return 0;
}

enum journal_err
journal_read(struct journal_reader *r, const char **line, size_t *len,
	     int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? time_mono_ms() + timeout_ms : 0;
	enum journal_err rc;

	for (;;) {
		ssize_t n;
		int moved;

		if (reader_next_line(r, line, len, &rc))
			return rc;
		n = reader_fill(r);
		if (n > 0)
			continue;
		if (n < 0) {
			/* an unreadable segment: report it, go on */
			log_warn("skipping a damaged segment\tjournal='%s' "
				 "consumer='%s' error='%s'", r->dir, r->name,
				 r->err);
			r->st.damaged_segments++;
			reader_set_bad(r, "unreadable segment %" PRIu64, r->seq);
			reader_move_on(r, false);
			return JOURNAL_BAD_LINE;
		}
		moved = reader_at_end(r, time_mono_ms() - r->last_relist >=
				      JOURNAL_RELIST_MS);
		if (moved < 0)
			return JOURNAL_BAD_LINE;
		if (moved > 0)
			continue;
		/* nothing new: forget a partial line (re-read it whole
		 * later: a new writer may have cut it), then wait */
		if (!r->skipping) {
			r->end = r->start;
			r->scan = 0;
		}
		if (timeout_ms == 0)
			return JOURNAL_TIMEOUT;
		{
			int wait = JOURNAL_POLL_MS;

			if (timeout_ms > 0) {
				int64_t left = deadline - time_mono_ms();
				if (left <= 0)
					return JOURNAL_TIMEOUT;
				if (left < wait)
					wait = (int)left;
			}
			if (reader_wait(r, wait) < 0)
				return JOURNAL_TIMEOUT;	/* a signal */
		}
	}
}

/* Whether the buffer holds a '\n'; remembers how far it holds none, so
 * that reader_next_line does not search the same bytes again. */
static bool
reader_has_line(struct journal_reader *r)
{
	char *s = r->buf + r->start;
	size_t avail = r->end - r->start;
	char *nl = memchr(s + r->scan, '\n', avail - r->scan);

	r->scan = nl ? (size_t)(nl - s) : avail;
	return nl != NULL;
}

bool
journal_reader_ready(struct journal_reader *r)
{
	if (reader_has_line(r))
		return true;
	if (r->skipping || r->fd < 0)
		return false;
	if (reader_fill(r) <= 0)
		return false;
	return reader_has_line(r);
}

uint64_t
journal_reader_lineno(const struct journal_reader *r)
{
	return r->lineno;
}

const char *
journal_reader_bad_reason(const struct journal_reader *r)
{
	return r->bad;
}

struct journal_pos
journal_reader_tell(const struct journal_reader *r)
{
	struct journal_pos pos = { r->seq, r->pos_off };

	return pos;
}

enum journal_err
journal_reader_commit(struct journal_reader *r, struct journal_pos pos)
{
	enum journal_err rc;

	rc = cursor_store_at(r->dirfd, r->name, pos, r->err, sizeof(r->err));
	if (rc)
		return rc;
	r->st.commits++;
	if (pos.seg > r->committed_seq) {
		r->committed_seq = pos.seg;
		cleanup_at(r->dirfd, r->dir, NULL);
	}
	return JOURNAL_OK;
}

const struct journal_reader_stats *
journal_reader_stats(const struct journal_reader *r)
{
	return &r->st;
}

const char *
journal_reader_errmsg(const struct journal_reader *r)
{
	return r->err;
}

void
journal_reader_close(struct journal_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->ifd >= 0)
		close(r->ifd);
	if (r->lockfd >= 0)
		close(r->lockfd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r->buf);
	free(r->dir);
	free(r->name);
	free(r);
}

static enum journal_err
reader_lock(struct journal_reader *r, char *err, size_t errsize)
{
	char path[JOURNAL_NAME_MAX + 8];

	snprintf(path, sizeof(path), "lock.%s", r->name);
	r->lockfd = openat(r->dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (r->lockfd < 0) {
		errf(err, errsize, "cannot lock consumer '%s' of journal '%s': "
		     "open: %s", r->name, r->dir, strerror(errno));
		return JOURNAL_ERR_SYS;
	}
	if (flock(r->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			errf(err, errsize, "consumer '%s' of journal '%s' is "
			     "in use by another process", r->name, r->dir);
			return JOURNAL_ERR_LOCKED;
		}
		errf(err, errsize, "cannot lock consumer '%s' of journal '%s': "
		     "flock: %s", r->name, r->dir, strerror(errno));
		return JOURNAL_ERR_SYS;
	}
	return JOURNAL_OK;
}

/* Places a new reader at its cursor (or registers it at the oldest
 * segment). */
static enum journal_err
reader_position(struct journal_reader *r, char *err, size_t errsize)
{
	struct journal_seg *segs = NULL;
	struct journal_pos pos;
	size_t n = 0;
	enum journal_err rc;
	int e;

	rc = cursor_load_at(r->dirfd, r->name, &pos);
	if (rc == JOURNAL_ERR_CURSOR) {
		errf(err, errsize, "cannot read cursor '%s' of journal '%s': "
		     "not \"SEG OFF\" (fix it with sp-journal reset)", r->name,
		     r->dir);
		return rc;
	}
	e = errno;
	if (rc && e != ENOENT) {
		errf(err, errsize, "cannot read cursor '%s' of journal '%s': %s",
		     r->name, r->dir, strerror(e));
		return rc;
	}
	rc = scan_segments(r->dirfd, r->dir, false, &segs, &n, NULL, err,
			   errsize);
	if (rc)
		return rc;
	if (e == ENOENT) {
		/* a new consumer: register at the oldest segment */
		pos.seg = n ? segs[0].seq : 0;
		pos.off = 0;
		rc = cursor_store_at(r->dirfd, r->name, pos, err, errsize);
		if (rc)
			goto out;
	}
	r->committed_seq = pos.seg;
	r->seq = pos.seg;
	r->pos_off = pos.off;
	if (pos.seg == 0) {
		reader_move_on(r, false);
		goto out;
	}
	if (reader_open_segment(r, pos.seg, pos.off) == JOURNAL_OK)
		goto out;
	e = errno;
	if (e != ENOENT) {
		log_warn("skipping a damaged segment\tjournal='%s' consumer='%s'"
			 " segment=%" PRIu64 " error='%s'", r->dir, r->name,
			 pos.seg, strerror(e));
		r->st.damaged_segments++;
	}
	/* the cursor's segment is gone: dropped by max_size (or the journal
	 * was cleared); move to the oldest one after it */
	if (!reader_move_on(r, e == ENOENT) && n && segs[n - 1].seq < pos.seg) {
		log_warn("cursor ahead of the journal, restarting at its oldest "
			 "segment\tjournal='%s' consumer='%s' segment=%" PRIu64,
			 r->dir, r->name, pos.seg);
		r->seq = 0;
		reader_move_on(r, false);
	}
	if (r->st.lost_bytes)
		log_warn("data dropped by JOURNAL_MAX_SIZE before this consumer"
			 " read it\tjournal='%s' consumer='%s' lost_bytes=%"
			 PRIu64, r->dir, r->name, r->st.lost_bytes);
out:
	free(segs);
	return rc;
}

enum journal_err
journal_reader_open(struct journal_reader **rp, const char *dir,
		    const char *name, const struct journal_opts *opts,
		    char *err, size_t errsize)
{
	enum journal_err rc = JOURNAL_ERR_NOMEM;
	struct journal_opts o;
	struct journal_reader *r;

	*rp = NULL;
	if (!journal_name_valid(name)) {
		errf(err, errsize, "bad consumer name '%s': 1-%d characters of "
		     "A-Z a-z 0-9 _ -", name ? name : "", JOURNAL_NAME_MAX);
		return JOURNAL_ERR_NAME;
	}
	opts_fill(&o, opts);
	r = calloc(1, sizeof(*r));
	if (!r) {
		errf(err, errsize, "out of memory");
		return JOURNAL_ERR_NOMEM;
	}
	r->dirfd = r->lockfd = r->ifd = r->fd = -1;
	r->max_line = o.max_line;
	r->cap = 2 * JOURNAL_READ_BLOCK;
	r->buf = malloc(r->cap);
	r->dir = strdup(dir);
	r->name = strdup(name);
	if (!r->buf || !r->dir || !r->name) {
		errf(err, errsize, "out of memory");
		goto out;
	}
	rc = JOURNAL_ERR_SYS;
	r->dirfd = open_dir(dir, true, err, errsize);
	if (r->dirfd < 0)
		goto out;
	rc = reader_lock(r, err, errsize);
	if (rc)
		goto out;
	/* watch before looking, so that no append goes unnoticed */
	r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->ifd >= 0 && inotify_add_watch(r->ifd, dir, IN_MODIFY |
					     IN_CREATE | IN_CLOSE_WRITE |
					     IN_MOVED_TO) < 0) {
		close(r->ifd);
		r->ifd = -1;
	}
	if (r->ifd < 0)
		log_warn("inotify unavailable, polling every %d ms\t"
			 "journal='%s' error='%s'", JOURNAL_POLL_MS, dir,
			 strerror(errno));
	rc = reader_position(r, err, errsize);
	if (rc)
		goto out;
	*rp = r;
	r = NULL;
out:
	journal_reader_close(r);
	return rc;
}

/* ---- inspection ---- */

enum journal_err
journal_list_segments(const char *dir, struct journal_seg **segs, size_t *n,
		      size_t *strays)
{
	enum journal_err rc;
	int fd = open_dir(dir, false, NULL, 0);

	if (fd < 0)
		return JOURNAL_ERR_SYS;
	rc = scan_segments(fd, dir, false, segs, n, strays, NULL, 0);
	close(fd);
	return rc;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum journal_err
journal_list_consumers(const char *dir, char ***out, size_t *nout)
{
	enum journal_err rc = JOURNAL_ERR_NOMEM;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return JOURNAL_ERR_SYS;
	while ((de = readdir(d))) {
		char *s;

		if (strncmp(de->d_name, "cursor.", 7) != 0 ||
		    !journal_name_valid(de->d_name + 7))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char **p = realloc(names, ncap * sizeof(*p));
			if (!p)
				goto out;
			names = p;
			cap = ncap;
		}
		s = strdup(de->d_name + 7);
		if (!s)
			goto out;
		names[n++] = s;
	}
	if (n)
		qsort(names, n, sizeof(*names), str_cmp);
	*out = names;
	*nout = n;
	names = NULL;
	rc = JOURNAL_OK;
out:
	if (names) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	closedir(d);
	return rc;
}

enum journal_err
journal_cursor_load(const char *dir, const char *name, struct journal_pos *pos)
{
	enum journal_err rc;
	int fd;

	if (!journal_name_valid(name))
		return JOURNAL_ERR_NAME;
	fd = open_dir(dir, false, NULL, 0);
	if (fd < 0)
		return JOURNAL_ERR_SYS;
	rc = cursor_load_at(fd, name, pos);
	close(fd);
	return rc;
}

enum journal_err
journal_cursor_store(const char *dir, const char *name, struct journal_pos pos)
{
	enum journal_err rc;
	int fd;

	if (!journal_name_valid(name))
		return JOURNAL_ERR_NAME;
	fd = open_dir(dir, true, NULL, 0);
	if (fd < 0)
		return JOURNAL_ERR_SYS;
	rc = cursor_store_at(fd, name, pos, NULL, 0);
	close(fd);
	return rc;
}

enum journal_err
journal_cleanup(const char *dir, uint64_t *deleted)
{
	enum journal_err rc;
	int fd = open_dir(dir, false, NULL, 0);

	if (fd < 0)
		return JOURNAL_ERR_SYS;
	rc = cleanup_at(fd, dir, deleted);
	close(fd);
	return rc;
}

const char *
journal_strerror(enum journal_err err)
{
	switch (err) {
	case JOURNAL_OK:
		return "success";
	case JOURNAL_TIMEOUT:
		return "no line within the timeout";
	case JOURNAL_BAD_LINE:
		return "a line was skipped";
	case JOURNAL_ERR_SYS:
		return "system call failed";
	case JOURNAL_ERR_IO:
		return "journal write or fsync failed";
	case JOURNAL_ERR_LOCKED:
		return "journal or consumer locked by another process";
	case JOURNAL_ERR_NAME:
		return "bad consumer name";
	case JOURNAL_ERR_VALUE:
		return "bad value";
	case JOURNAL_ERR_CURSOR:
		return "cursor file cannot be parsed";
	case JOURNAL_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown journal error";
}
