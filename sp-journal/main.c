/*
 * sp-journal: inspect and operate sensorpipe journals (common/journal.h):
 * list consumers and their lag, print lines, move a cursor to replay,
 * register a consumer ahead of its first run, verify every segment, and
 * append stdin to a journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "exitcodes.h"
#include "journal.h"
#include "log.h"
#include "ndjson.h"
#include "rfc3339.h"
#include "util.h"
#include "banned.h"

#define PROG "sp-journal"
#define VERIFY_DETAIL_MAX 20

static const char usage_text[] =
	"usage: sp-journal COMMAND DIR [ARG]... [OPTION]...\n"
	"\n"
	"Inspects and operates a sensorpipe journal: a directory of NDJSON\n"
	"segment files with one cursor per consumer (see docs/sp-journal.md).\n"
	"\n"
	"commands:\n"
	"  list DIR [--no-lines]    consumers with their lag (lines, bytes) and\n"
	"                           whether they run; segments; total size\n"
	"                           (--no-lines: bytes only, without reading\n"
	"                           the backlog)\n"
	"  cat DIR [--from-consumer NAME | --since TIME]\n"
	"                           print the journal's lines: all, those after\n"
	"                           NAME's cursor, or from the first line whose\n"
	"                           \"time\" is at or after TIME (RFC 3339)\n"
	"  reset DIR NAME [--to-start | --to-end]\n"
	"                           move NAME's cursor to the oldest line (replay\n"
	"                           everything kept; the default) or past the\n"
	"                           newest; the consumer must be stopped\n"
	"  register DIR NAME        create NAME's cursor at the oldest line, so\n"
	"                           that data is kept until NAME has read it\n"
	"  verify DIR               check every segment: complete lines, one\n"
	"                           JSON value per line; cursors; exit 65 if\n"
	"                           anything is damaged\n"
	"  append DIR               append the lines of stdin (the writer lock is\n"
	"                           taken: no other writer may run)\n"
	"  follow DIR NAME [--idle-exit DUR]\n"
	"                           read as consumer NAME (registered if new):\n"
	"                           print its lines as they come and move its\n"
	"                           cursor once they are written to stdout; stop\n"
	"                           on SIGTERM, or after DUR without a new line\n"
	"\n"
	"options of append (else JOURNAL_* from the environment, else defaults):\n"
	"  --segment-size SIZE      JOURNAL_SEGMENT_SIZE [64MiB]\n"
	"  --fsync-interval DUR     JOURNAL_FSYNC_INTERVAL [1s]\n"
	"  --max-size SIZE          JOURNAL_MAX_SIZE [10GiB]\n"
	"\n"
	"  --help                   this text\n"
	"  --version                the version\n"
	"\n"
	"exit status: 0 ok, 64 usage, 65 verify found damage, 66 no such\n"
	"journal or consumer, 74 I/O error, 75 the journal or consumer is in use\n";

struct args {
	const char *cmd;
	const char *dir;
	const char *name;
	const char *from_consumer;
	const char *since;
	const char *segment_size;
	const char *fsync_interval;
	const char *max_size;
	const char *idle_exit;
	bool to_end;
	bool no_lines;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'sp-journal --help'.\n");
	return EX_USAGE;
}

/* Returns -1 to go on, else an exit status. */
static int
parse_args(struct args *a, int argc, char *argv[])
{
	const char *pos[3] = { NULL, NULL, NULL };
	int npos = 0;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char **val = NULL;

		if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
		}
		if (strcmp(s, "--version") == 0) {
			printf("%s %s\n", PROG, SENSORPIPE_VERSION);
			return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
		}
		if (strcmp(s, "--to-start") == 0) {
			a->to_end = false;
			continue;
		}
		if (strcmp(s, "--to-end") == 0) {
			a->to_end = true;
			continue;
		}
		if (strcmp(s, "--no-lines") == 0) {
			a->no_lines = true;
			continue;
		}
		if (strcmp(s, "--from-consumer") == 0)
			val = &a->from_consumer;
		else if (strcmp(s, "--since") == 0)
			val = &a->since;
		else if (strcmp(s, "--segment-size") == 0)
			val = &a->segment_size;
		else if (strcmp(s, "--fsync-interval") == 0)
			val = &a->fsync_interval;
		else if (strcmp(s, "--max-size") == 0)
			val = &a->max_size;
		else if (strcmp(s, "--idle-exit") == 0)
			val = &a->idle_exit;
		else if (s[0] == '-' && s[1])
			return usage_error("unknown option '%s'", s);
		if (val) {
			if (i + 1 >= argc)
				return usage_error("option '%s' needs a value",
						   s);
			*val = argv[++i];
			continue;
		}
		if (npos == 3)
			return usage_error("unexpected argument '%s'", s);
		pos[npos++] = s;
	}
	if (npos < 2)
		return usage_error("%s", npos ? "missing journal directory"
				   : "missing command");
	a->cmd = pos[0];
	a->dir = pos[1];
	a->name = pos[2];
	if (strcmp(a->cmd, "reset") == 0 || strcmp(a->cmd, "register") == 0 ||
	    strcmp(a->cmd, "follow") == 0) {
		if (!a->name)
			return usage_error("%s needs a consumer NAME", a->cmd);
		if (!journal_name_valid(a->name))
			return usage_error("bad consumer name '%s' (1-64 of "
					   "A-Z a-z 0-9 _ -)", a->name);
	} else if (a->name) {
		return usage_error("unexpected argument '%s'", a->name);
	}
	if (a->from_consumer && a->since)
		return usage_error("%s", "--from-consumer and --since exclude "
				   "each other");
	return -1;
}

/* ---- helpers ---- */

static bool
dir_exists(const char *dir)
{
	struct stat sb;

	return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Whether a lock file is held by a process; its pid (if it wrote one). */
static bool
lock_held(const char *dir, const char *file, long *pid)
{
	char path[4096], buf[32];
	bool held = false;
	ssize_t n;
	int fd;

	*pid = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) != 0)
		held = errno == EWOULDBLOCK;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		*pid = strtol(buf, NULL, 10);
	}
	close(fd);
	return held;
}

static void
human_size(uint64_t b, char *buf, size_t size)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 " B", b);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
}

/* Counts the newlines of a segment from byte off on. */
static uint64_t
count_lines(const char *dir, uint64_t seq, uint64_t off)
{
	char path[4096], buf[64 * 1024];
	uint64_t lines = 0;
	ssize_t n;
	int fd;

	journal_segment_path(dir, seq, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (off && lseek(fd, (off_t)off, SEEK_SET) < 0) {
		close(fd);
		return 0;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p)));
		     p++)
			lines++;
	close(fd);
	return lines;
}

static int
load_segments(const char *dir, struct journal_seg **segs, size_t *n,
	      size_t *strays)
{
	if (!dir_exists(dir)) {
		log_error("no journal at '%s'", dir);
		return EX_NOINPUT;
	}
	if (journal_list_segments(dir, segs, n, strays) != JOURNAL_OK) {
		log_error("cannot list journal '%s': %s", dir, strerror(errno));
		return EX_IOERR;
	}
	return EX_OK;
}

/* ---- list ---- */

static int
cmd_list(const struct args *a)
{
	struct journal_seg *segs = NULL;
	char **names = NULL;
	size_t n = 0, nnames = 0, strays = 0;
	uint64_t total = 0;
	char hs[32];
	long pid;
	int ex;

	ex = load_segments(a->dir, &segs, &n, &strays);
	if (ex)
		return ex;
	for (size_t i = 0; i < n; i++)
		total += segs[i].size;
	human_size(total, hs, sizeof(hs));
	printf("journal=%s segments=%zu first=%" PRIu64 " last=%" PRIu64
	       " bytes=%" PRIu64 " size=\"%s\"", a->dir, n,
	       n ? segs[0].seq : 0, n ? segs[n - 1].seq : 0, total, hs);
	if (lock_held(a->dir, "writer.lock", &pid))
		printf(" writer=running writer_pid=%ld", pid);
	else
		printf(" writer=stopped");
	if (strays)
		printf(" strays=%zu", strays);
	printf("\n");
	if (journal_list_consumers(a->dir, &names, &nnames) != JOURNAL_OK) {
		log_error("cannot list the consumers of '%s': %s", a->dir,
			  strerror(errno));
		ex = EX_IOERR;
		goto out;
	}
	for (size_t c = 0; c < nnames; c++) {
		struct journal_pos pos;
		uint64_t lag_bytes = 0, lag_lines = 0;
		char lockname[JOURNAL_NAME_MAX + 8];
		const char *state;

		if (journal_cursor_load(a->dir, names[c], &pos) != JOURNAL_OK) {
			printf("consumer=%s cursor=unreadable\n", names[c]);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t from;

			if (segs[i].seq < pos.seg)
				continue;
			from = segs[i].seq == pos.seg ? pos.off : 0;
			if (from > segs[i].size)
				from = segs[i].size;
			lag_bytes += segs[i].size - from;
			if (!a->no_lines)
				lag_lines += count_lines(a->dir, segs[i].seq,
							 from);
		}
		snprintf(lockname, sizeof(lockname), "lock.%s", names[c]);
		state = lock_held(a->dir, lockname, &pid) ? "running"
							  : "stopped";
		printf("consumer=%s segment=%" PRIu64 " offset=%" PRIu64,
		       names[c], pos.seg, pos.off);
		if (!a->no_lines)
			printf(" lag_lines=%" PRIu64, lag_lines);
		printf(" lag_bytes=%" PRIu64 " state=%s\n", lag_bytes, state);
	}
out:
	for (size_t c = 0; c < nnames; c++)
		free(names[c]);
	free(names);
	free(segs);
	if (fflush(stdout) != 0 && ex == EX_OK)
		ex = EX_IOERR;
	return ex;
}

/* ---- cat ---- */

struct cat_state {
	bool searching;		/* --since: not yet at the first line */
	int64_t since_ns;
	uint64_t lines;
};

/* Whether the line's "time" is at or after since (lines without a
 * readable time do not start the output). */
static bool
line_reached(const char *line, size_t len, int64_t since_ns)
{
	json_error_t jerr;
	json_t *j, *t;
	bool yes = false;
	int64_t ns;

	j = json_loadb(line, len, 0, &jerr);
	if (!j)
		return false;
	t = json_object_get(j, "time");
	if (json_is_string(t) &&
	    rfc3339_parse(json_string_value(t), json_string_length(t), &ns) ==
		    RFC3339_OK)
		yes = ns >= since_ns;
	json_decref(j);
	return yes;
}

/* Prints the complete lines of one segment from off on. */
static int
cat_segment(const char *dir, uint64_t seq, uint64_t off, bool newest,
	    struct cat_state *cs)
{
	char path[4096];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int ex = EX_OK;

	journal_segment_path(dir, seq, path, sizeof(path));
	f = fopen(path, "re");
	if (!f) {
		log_warn("skipping a segment that cannot be read\tsegment='%s' "
			 "error='%s'", path, strerror(errno));
		return EX_OK;
	}
	if (off && fseeko(f, (off_t)off, SEEK_SET) != 0) {
		fclose(f);
		return EX_OK;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') {
			if (!newest)
				log_warn("skipping an incomplete last line\t"
					 "segment='%s' bytes=%zd", path, n);
			break;
		}
		if (cs->searching) {
			if (!line_reached(line, (size_t)n - 1, cs->since_ns))
				continue;
			cs->searching = false;
		}
		if (fwrite(line, 1, (size_t)n, stdout) != (size_t)n) {
			ex = EX_IOERR;
			break;
		}
		cs->lines++;
	}
	free(line);
	fclose(f);
	return ex;
}

static int
cmd_cat(const struct args *a)
{
	struct journal_seg *segs = NULL;
	struct journal_pos from = { 0, 0 };
	struct cat_state cs = { false, 0, 0 };
	size_t n = 0;
	int ex;

	ex = load_segments(a->dir, &segs, &n, NULL);
	if (ex)
		return ex;
	if (a->from_consumer) {
		if (journal_cursor_load(a->dir, a->from_consumer, &from) !=
		    JOURNAL_OK) {
			log_error("no cursor for consumer '%s' in '%s'",
				  a->from_consumer, a->dir);
			ex = EX_NOINPUT;
			goto out;
		}
	}
	if (a->since) {
		const char *why = "";

		if (rfc3339_parse_why(a->since, strlen(a->since), &cs.since_ns,
				      &why) != RFC3339_OK) {
			log_error("bad --since '%s': %s", a->since, why);
			ex = EX_USAGE;
			goto out;
		}
		cs.searching = true;
	}
	for (size_t i = 0; i < n && ex == EX_OK; i++) {
		if (segs[i].seq < from.seg)
			continue;
		ex = cat_segment(a->dir, segs[i].seq,
				 segs[i].seq == from.seg ? from.off : 0,
				 i + 1 == n, &cs);
	}
out:
	free(segs);
	if ((fflush(stdout) != 0 || ferror(stdout)) && ex == EX_OK)
		ex = EX_IOERR;
	if (ex == EX_IOERR)
		log_error("cannot write to stdout: %s", strerror(errno));
	return ex;
}

/* ---- reset, register ---- */

/* Takes the consumer's lock, so that its reader cannot run meanwhile:
 * returns the fd, or -1 (logged). */
static int
consumer_lock(const char *dir, const char *name, int *ex)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/lock.%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_error("cannot lock consumer '%s': open '%s': %s", name,
			  path, strerror(errno));
		*ex = EX_IOERR;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		log_error("consumer '%s' of '%s' is running: stop it first",
			  name, dir);
		*ex = EX_TEMPFAIL;
		close(fd);
		return -1;
	}
	return fd;
}

static int
cmd_reset(const struct args *a, bool register_only)
{
	struct journal_seg *segs = NULL;
	struct journal_pos pos = { 0, 0 }, old;
	size_t n = 0;
	int ex, lockfd = -1;
	bool had;

	if (register_only && !dir_exists(a->dir) && mkdir(a->dir, 0755) != 0) {
		log_error("cannot create journal '%s': mkdir: %s", a->dir,
			  strerror(errno));
		return EX_IOERR;
	}
	ex = load_segments(a->dir, &segs, &n, NULL);
	if (ex)
		return ex;
	had = journal_cursor_load(a->dir, a->name, &old) == JOURNAL_OK;
	if (register_only && had) {
		printf("consumer=%s segment=%" PRIu64 " offset=%" PRIu64
		       " registered=already\n", a->name, old.seg, old.off);
		goto out;
	}
	lockfd = consumer_lock(a->dir, a->name, &ex);
	if (lockfd < 0)
		goto out;
	if (n && !a->to_end) {
		pos.seg = segs[0].seq;
	} else if (n) {
		/* past the last complete line of the newest segment */
		pos.seg = segs[n - 1].seq;
		pos.off = segs[n - 1].size;
		while (pos.off > 0) {
			char path[4096], c = '\n';
			int fd;

			journal_segment_path(a->dir, pos.seg, path, sizeof(path));
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				break;
			if (pread(fd, &c, 1, (off_t)pos.off - 1) != 1)
				c = '\n';
			close(fd);
			if (c == '\n')
				break;
			pos.off--;
		}
	}
	if (journal_cursor_store(a->dir, a->name, pos) != JOURNAL_OK) {
		log_error("cannot save cursor '%s' of '%s': %s", a->name, a->dir,
			  strerror(errno));
		ex = EX_IOERR;
		goto out;
	}
	journal_cleanup(a->dir, NULL);
	if (had)
		printf("consumer=%s segment=%" PRIu64 " offset=%" PRIu64
		       " was_segment=%" PRIu64 " was_offset=%" PRIu64 "\n",
		       a->name, pos.seg, pos.off, old.seg, old.off);
	else
		printf("consumer=%s segment=%" PRIu64 " offset=%" PRIu64
		       " registered=new\n", a->name, pos.seg, pos.off);
out:
	if (lockfd >= 0)
		close(lockfd);
	free(segs);
	if (fflush(stdout) != 0 && ex == EX_OK)
		ex = EX_IOERR;
	return ex;
}

/* ---- verify ---- */

struct verify_state {
	uint64_t problems;
	uint64_t lines;
	uint64_t shown;
};

static void
problem(struct verify_state *vs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
problem(struct verify_state *vs, const char *fmt, ...)
{
	va_list ap;

	vs->problems++;
	if (vs->shown++ >= VERIFY_DETAIL_MAX)
		return;
	va_start(ap, fmt);
	fputs("problem: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

static void
verify_segment(const char *dir, const struct journal_seg *seg, bool newest,
	       bool writer_running, struct verify_state *vs)
{
	char path[4096];
	char *line = NULL;
	size_t cap = 0;
	uint64_t lineno = 0, off = 0;
	ssize_t n;
	FILE *f;

	journal_segment_path(dir, seg->seq, path, sizeof(path));
	f = fopen(path, "re");
	if (!f) {
		problem(vs, "segment %" PRIu64 ": cannot open: %s", seg->seq,
			strerror(errno));
		return;
	}
	while (errno = 0, (n = getline(&line, &cap, f)) > 0) {
		json_error_t jerr;
		json_t *j;
		size_t len = (size_t)n;

		lineno++;
		if (line[len - 1] != '\n') {
			/* a writer may be in the middle of this line */
			if (!(newest && writer_running))
				problem(vs, "segment %" PRIu64 " line %" PRIu64
					" (offset %" PRIu64 "): incomplete last "
					"line (%zu bytes, no newline)", seg->seq,
					lineno, off, len);
			break;
		}
		len--;
		if (len && line[len - 1] == '\r')
			len--;
		if (len == 0) {
			off += (uint64_t)n;
			continue;
		}
		vs->lines++;
		if (memchr(line, '\0', len))
			problem(vs, "segment %" PRIu64 " line %" PRIu64
				" (offset %" PRIu64 "): NUL byte", seg->seq,
				lineno, off);
		j = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
		if (!j)
			problem(vs, "segment %" PRIu64 " line %" PRIu64
				" (offset %" PRIu64 "): invalid JSON: %s",
				seg->seq, lineno, off, jerr.text);
		json_decref(j);
		off += (uint64_t)n;
	}
	if (ferror(f))
		problem(vs, "segment %" PRIu64 ": read error at offset %" PRIu64
			": %s", seg->seq, off, strerror(errno));
	free(line);
	fclose(f);
}

static void
verify_cursors(const char *dir, const struct journal_seg *segs, size_t n,
	       struct verify_state *vs)
{
	char **names = NULL;
	size_t nnames = 0;

	if (journal_list_consumers(dir, &names, &nnames) != JOURNAL_OK) {
		problem(vs, "cannot list cursors: %s", strerror(errno));
		return;
	}
	for (size_t c = 0; c < nnames; c++) {
		struct journal_pos pos;
		const struct journal_seg *seg = NULL;

		if (journal_cursor_load(dir, names[c], &pos) != JOURNAL_OK) {
			problem(vs, "cursor '%s': unreadable or not \"SEG OFF\"",
				names[c]);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (segs[i].seq == pos.seg)
				seg = &segs[i];
		if (!seg) {
			if (pos.seg != 0 && (n == 0 || pos.seg > segs[n - 1].seq))
				problem(vs, "cursor '%s': segment %" PRIu64
					" is after the newest", names[c],
					pos.seg);
			/* older: dropped by max size; the reader moves on */
			continue;
		}
		if (pos.off > seg->size) {
			problem(vs, "cursor '%s': offset %" PRIu64 " past the "
				"end of segment %" PRIu64 " (%" PRIu64 " bytes)",
				names[c], pos.off, pos.seg, seg->size);
		} else if (pos.off > 0) {
			char path[4096], ch = '\n';
			int fd;

			journal_segment_path(dir, pos.seg, path, sizeof(path));
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && pread(fd, &ch, 1, (off_t)pos.off - 1) == 1
			    && ch != '\n')
				problem(vs, "cursor '%s': offset %" PRIu64
					" of segment %" PRIu64 " is inside a "
					"line", names[c], pos.off, pos.seg);
			if (fd >= 0)
				close(fd);
		}
	}
	for (size_t c = 0; c < nnames; c++)
		free(names[c]);
	free(names);
}

static int
cmd_verify(const struct args *a)
{
	struct journal_seg *segs = NULL;
	struct verify_state vs = { 0, 0, 0 };
	size_t n = 0, strays = 0;
	uint64_t total = 0;
	bool writer;
	long pid;
	int ex;

	ex = load_segments(a->dir, &segs, &n, &strays);
	if (ex)
		return ex;
	writer = lock_held(a->dir, "writer.lock", &pid);
	if (strays)
		problem(&vs, "%zu file(s) with names that are no journal file",
			strays);
	for (size_t i = 0; i < n; i++) {
		total += segs[i].size;
		if (i > 0 && segs[i].seq != segs[i - 1].seq + 1)
			printf("note: segments %" PRIu64 "..%" PRIu64 " are "
			       "missing (dropped by JOURNAL_MAX_SIZE?)\n",
			       segs[i - 1].seq + 1, segs[i].seq - 1);
		verify_segment(a->dir, &segs[i], i + 1 == n, writer, &vs);
	}
	verify_cursors(a->dir, segs, n, &vs);
	if (vs.shown > VERIFY_DETAIL_MAX)
		printf("problem: ... %" PRIu64 " more\n",
		       vs.shown - VERIFY_DETAIL_MAX);
	printf("%s journal=%s segments=%zu lines=%" PRIu64 " bytes=%" PRIu64
	       " problems=%" PRIu64 "\n", vs.problems ? "damaged" : "ok",
	       a->dir, n, vs.lines, total, vs.problems);
	free(segs);
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return vs.problems ? EX_DATAERR : EX_OK;
}

/* ---- append ---- */

/* Flag, else environment, else the key's default. */
static int
opt_value(const char *flag, enum config_key key, int64_t *out)
{
	const struct config_keyinfo *ki = &config_keys[key];
	const char *s = flag ? flag : getenv(ki->name);
	int rc;

	if (!s || !*s)
		s = ki->def;
	if (ki->type == CT_DURATION)
		rc = config_parse_duration(s, out);
	else
		rc = config_parse_size(s, out);
	if (rc != 0 || *out < ki->min || *out > ki->max) {
		log_error("bad %s '%s'", ki->name, s);
		return EX_USAGE;
	}
	return EX_OK;
}

static void
on_drop(void *arg, const struct journal_drop *d)
{
	const char *dir = arg;

	log_error("JOURNAL_MAX_SIZE reached: dropped the oldest segment\t"
		  "journal='%s' segment=%" PRIu64 " bytes=%" PRIu64
		  " lines=%" PRIu64, dir, d->seg, d->bytes, d->lines);
}

static int
append_loop(struct journal_writer *w, struct ndjson_reader *in)
{
	struct log_limit lim = { 0, 0, 0, 0, 0 };

	while (!stop) {
		const char *line;
		size_t len;
		enum ndjson_err rc = ndjson_read(in, &line, &len, 500);
		enum journal_err jrc = JOURNAL_OK;

		if (rc == NDJSON_EOF)
			break;
		if (rc == NDJSON_TIMEOUT) {
			jrc = journal_flush(w);
		} else if (rc == NDJSON_ERR_TOOLONG || rc == NDJSON_ERR_NUL) {
			log_warn_limited(&lim, "skipping input line %" PRIu64
					 "\treason='%s'", in->lineno,
					 ndjson_strerror(rc));
			continue;
		} else if (rc != NDJSON_OK) {
			log_error("cannot read stdin: %s: %s",
				  ndjson_strerror(rc), strerror(errno));
			return EX_IOERR;
		} else {
			jrc = journal_append(w, line, len);
			if (jrc == JOURNAL_OK && !ndjson_ready(in))
				jrc = journal_flush(w);
		}
		if (jrc != JOURNAL_OK) {
			log_error("%s", journal_writer_errmsg(w));
			return EX_IOERR;
		}
	}
	if (journal_sync(w) != JOURNAL_OK) {
		log_error("%s", journal_writer_errmsg(w));
		return EX_IOERR;
	}
	return EX_OK;
}

static int
cmd_append(const struct args *a)
{
	struct journal_opts o;
	struct journal_writer *w = NULL;
	struct ndjson_reader in;
	struct sigaction sa;
	int64_t seg, fsync_ms, max;
	char err[512];
	enum journal_err rc;
	int ex;

	if ((ex = opt_value(a->segment_size, CK_JOURNAL_SEGMENT_SIZE, &seg)) ||
	    (ex = opt_value(a->fsync_interval, CK_JOURNAL_FSYNC_INTERVAL,
			    &fsync_ms)) ||
	    (ex = opt_value(a->max_size, CK_JOURNAL_MAX_SIZE, &max)))
		return ex;
	journal_opts_init(&o);
	o.segment_size = (uint64_t)seg;
	o.fsync_interval_ms = fsync_ms;
	o.max_size = (uint64_t)max;
	o.on_drop = on_drop;
	o.on_drop_arg = (void *)a->dir;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = journal_writer_open(&w, a->dir, &o, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		return rc == JOURNAL_ERR_LOCKED ? EX_TEMPFAIL : EX_IOERR;
	}
	if (ndjson_reader_init(&in, STDIN_FILENO, o.max_line) != NDJSON_OK) {
		journal_writer_close(w);
		return EX_OSERR;
	}
	ex = append_loop(w, &in);
	ndjson_reader_release(&in);
	log_info("appended\tjournal='%s' lines=%" PRIu64 " bytes=%" PRIu64
		 " segment=%" PRIu64, a->dir, journal_writer_stats(w)->lines,
		 journal_writer_stats(w)->bytes, journal_writer_tell(w).seg);
	if (journal_writer_close(w) != JOURNAL_OK && ex == EX_OK)
		ex = EX_IOERR;
	return ex;
}

/* ---- follow ---- */

static int
follow_loop(struct journal_reader *r, int64_t idle_ms)
{
	struct ndjson_writer out;
	int64_t last = time_mono_ms();	/* of the last line, or the start */
	int ex = EX_OK;

	if (ndjson_writer_init(&out, STDOUT_FILENO, 0) != NDJSON_OK)
		return EX_OSERR;
	while (!stop) {
		const char *line;
		size_t len;
		int wait = 200;
		enum journal_err rc;

		if (idle_ms >= 0 && idle_ms - (time_mono_ms() - last) < wait)
			wait = (int)(idle_ms - (time_mono_ms() - last));
		if (wait < 0)
			wait = 0;
		rc = journal_read(r, &line, &len, wait);

		if (rc == JOURNAL_BAD_LINE) {
			log_warn("skipping a journal line\treason='%s'",
				 journal_reader_bad_reason(r));
			continue;
		}
		if (rc == JOURNAL_OK) {
			last = time_mono_ms();
			if (ndjson_write(&out, line, len) != NDJSON_OK) {
				ex = EX_IOERR;
				break;
			}
			if (journal_reader_ready(r))
				continue;
		} else if (rc != JOURNAL_TIMEOUT) {
			log_error("%s", journal_reader_errmsg(r));
			ex = EX_IOERR;
			break;
		}
		/* a burst is over: write it, then move the cursor */
		if (out.len) {
			if (ndjson_flush(&out) != NDJSON_OK) {
				ex = EX_IOERR;
				break;
			}
			if (journal_reader_commit(r, journal_reader_tell(r)) !=
			    JOURNAL_OK) {
				log_error("%s", journal_reader_errmsg(r));
				ex = EX_IOERR;
				break;
			}
		}
		if (rc == JOURNAL_TIMEOUT && idle_ms >= 0 &&
		    time_mono_ms() - last >= idle_ms)
			break;
	}
	if (ex == EX_OK && ndjson_flush(&out) == NDJSON_OK && out.lines &&
	    journal_reader_commit(r, journal_reader_tell(r)) != JOURNAL_OK)
		ex = EX_IOERR;
	if (ex == EX_IOERR && errno)
		log_error("cannot write to stdout: %s", strerror(errno));
	ndjson_writer_release(&out);
	return ex;
}

static int
cmd_follow(const struct args *a)
{
	struct journal_reader *r = NULL;
	struct sigaction sa;
	int64_t idle_ms = -1;
	char err[512];
	enum journal_err rc;
	int ex;

	if (a->idle_exit && config_parse_duration(a->idle_exit, &idle_ms) != 0)
		return usage_error("bad --idle-exit '%s'", a->idle_exit);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = journal_reader_open(&r, a->dir, a->name, NULL, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		return rc == JOURNAL_ERR_LOCKED ? EX_TEMPFAIL : EX_IOERR;
	}
	ex = follow_loop(r, idle_ms);
	if (journal_reader_stats(r)->lost_bytes)
		log_error("data was dropped by JOURNAL_MAX_SIZE before it was "
			  "read\tconsumer='%s' lost_bytes=%" PRIu64, a->name,
			  journal_reader_stats(r)->lost_bytes);
	journal_reader_close(r);
	return ex;
}

int
main(int argc, char *argv[])
{
	struct args a;
	int ex;

	log_init(PROG);
	ex = parse_args(&a, argc, argv);
	if (ex >= 0)
		return ex;
	if (strcmp(a.cmd, "list") == 0)
		ex = cmd_list(&a);
	else if (strcmp(a.cmd, "cat") == 0)
		ex = cmd_cat(&a);
	else if (strcmp(a.cmd, "reset") == 0)
		ex = cmd_reset(&a, false);
	else if (strcmp(a.cmd, "register") == 0)
		ex = cmd_reset(&a, true);
	else if (strcmp(a.cmd, "verify") == 0)
		ex = cmd_verify(&a);
	else if (strcmp(a.cmd, "append") == 0)
		ex = cmd_append(&a);
	else if (strcmp(a.cmd, "follow") == 0)
		ex = cmd_follow(&a);
	else
		ex = usage_error("unknown command '%s'", a.cmd);
	log_shutdown();
	return ex;
}
