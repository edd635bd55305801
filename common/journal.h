/*
 * journal: a durable edge between stages: a directory of append-only NDJSON
 * segment files, one writer and any number of named consumers.
 * Owns: the segment files, cursor files and locks of one journal directory,
 * and the buffers of its writer and readers (lines are lent until the next
 * read).
 * Never exits or logs at error level (warnings only: a torn line cut, a
 * damaged segment skipped); every call returns enum journal_err, with a
 * one-line message from journal_writer_errmsg / journal_reader_errmsg.
 *
 * Layout of DIR:
 *   00000000000000000001.ndjson   segments, 20-digit sequence numbers; `cat`
 *   00000000000000000002.ndjson   of them in order replays the journal
 *   cursor.NAME                   "SEG OFF\n": consumer NAME has durably
 *                                 handled every line before byte OFF of SEG
 *   writer.lock                   flock of the writer (holds its pid)
 *   lock.NAME                     flock of the reader of consumer NAME
 *   dropped.log                   "SEQ BYTES LINES TIME" per segment dropped
 *                                 by JOURNAL_MAX_SIZE
 * Consumer names: 1-64 characters of [A-Za-z0-9_-].
 *
 * Writer: journal_append buffers lines; journal_flush writes the buffer with
 * one write(2), never leaving a partial line (a failed write is cut back).
 * Segments rotate before a line would take one past segment_size. Segments
 * that every registered consumer (every cursor file) has passed are deleted,
 * at rotation and when a reader commits past a segment; with no consumer
 * registered, nothing is deleted. Past max_size, the oldest segments are
 * dropped whoever still needs them: the only place data is lost; on_drop is
 * called so the caller can log it at error level, and it is counted.
 *
 * The fsync policy (JOURNAL_FSYNC_INTERVAL): appended data is in the page
 * cache at once, so it survives any process crash, kill -9 included. fsync
 * only matters for a power loss or kernel crash:
 *   fsync_interval_ms 0   journal_flush fsyncs every batch before returning:
 *                         nothing acknowledged is ever lost, at the cost of
 *                         one fdatasync per batch (0.1-10 ms each on SSDs,
 *                         far more on spinning disks; it bounds the batch
 *                         rate, not the line rate).
 *   fsync_interval_ms N   a background thread fdatasyncs dirty data at most
 *                         N ms after it was written: a power loss takes at
 *                         most the last N ms, and writes never wait on the
 *                         disk. The default 1 s costs one fsync a second.
 * journal_sync always fsyncs (for commit points that need it).
 *
 * Readers: a consumer resumes from its cursor (a new consumer is registered
 * at the start of the oldest segment, so it keeps data from being deleted);
 * journal_read returns complete lines only, follows the writer with inotify
 * (polling every 200 ms as a fallback), and moves to the next segment at the
 * end of one. journal_reader_commit saves the cursor atomically (temporary
 * file, fsync, rename, fsync of the directory). Lines longer than max_line
 * are skipped whole and reported; a trailing "\r" is removed and blank lines
 * are ignored. A cursor in a segment dropped by max_size moves to the oldest
 * existing segment, and the reader counts the bytes it lost.
 *
 * Damage never stops a journal from opening: a file with a bad name is
 * reported and ignored, an unreadable segment is reported and skipped, and
 * the writer cuts a torn last line (a crash mid-write) at open, with a
 * warning and a count.
 */
#ifndef SENSORPIPE_JOURNAL_H
#define SENSORPIPE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_SEGMENT_SIZE (64ULL * 1024 * 1024)
#define JOURNAL_FSYNC_INTERVAL 1000
#define JOURNAL_MAX_SIZE (10ULL * 1024 * 1024 * 1024)
#define JOURNAL_MAX_LINE (1024 * 1024)
#define JOURNAL_WRITE_BUF (256 * 1024)
#define JOURNAL_POLL_MS 200
#define JOURNAL_NAME_MAX 64

enum journal_err {
	JOURNAL_OK = 0,
	JOURNAL_TIMEOUT,	/* no complete line within the timeout */
	JOURNAL_BAD_LINE,	/* a line was skipped: *_bad_reason() */
	JOURNAL_ERR_SYS,	/* a system call failed: see the message */
	JOURNAL_ERR_IO,		/* write or fsync of journal data failed */
	JOURNAL_ERR_LOCKED,	/* another writer, or another reader of the
				 * same consumer, holds the lock */
	JOURNAL_ERR_NAME,	/* bad consumer name */
	JOURNAL_ERR_VALUE,	/* a line holding '\n', a bad position */
	JOURNAL_ERR_CURSOR,	/* a cursor file that cannot be parsed */
	JOURNAL_ERR_NOMEM,
};

/* A position: byte offset off in segment seg (0: no segment yet). */
struct journal_pos {
	uint64_t seg;
	uint64_t off;
};

/* Sent to on_drop when max_size made the writer delete a segment. */
struct journal_drop {
	uint64_t seg;
	uint64_t bytes;
	uint64_t lines;
};

typedef void (*journal_drop_fn)(void *arg, const struct journal_drop *drop);

/* Zero fields take the defaults above (fsync_interval_ms: -1 for the
 * default, since 0 is a policy). */
struct journal_opts {
	uint64_t segment_size;
	int64_t fsync_interval_ms;
	uint64_t max_size;
	size_t max_line;
	journal_drop_fn on_drop;
	void *on_drop_arg;
};

/* Fills opts with the defaults. */
void journal_opts_init(struct journal_opts *opts);

struct journal_writer_stats {
	uint64_t lines;			/* lines appended */
	uint64_t bytes;			/* bytes written to segments */
	uint64_t flushes;		/* write(2) calls */
	uint64_t fsyncs;
	uint64_t rotations;
	uint64_t deleted_segments;	/* consumed by everyone */
	uint64_t dropped_segments;	/* by max_size */
	uint64_t dropped_bytes;
	uint64_t dropped_lines;
	uint64_t torn_bytes;		/* cut at open */
	uint64_t damaged;		/* files reported and ignored at open */
};

struct journal_writer;

/*
 * Opens DIR (created with its parents if missing) for appending: takes the
 * writer lock (JOURNAL_ERR_LOCKED when another process holds it), cuts a
 * torn last line, and appends to the newest segment (a new one when it is
 * full or unreadable). On failure *w is NULL and err holds the message.
 */
enum journal_err journal_writer_open(struct journal_writer **w,
				     const char *dir,
				     const struct journal_opts *opts,
				     char *err, size_t errsize);
/* Buffers one line (without "\n"; JOURNAL_ERR_VALUE if it holds one). May
 * write when the buffer is full or the segment rotates. */
enum journal_err journal_append(struct journal_writer *w, const char *line,
				size_t len);
/* Writes the buffer (fsyncs too when fsync_interval_ms is 0). */
enum journal_err journal_flush(struct journal_writer *w);
/* Flush, then fdatasync the current segment. */
enum journal_err journal_sync(struct journal_writer *w);
/* The position after the last byte appended (flushed or not). */
struct journal_pos journal_writer_tell(const struct journal_writer *w);
/* The counters, valid until the next call on w. */
const struct journal_writer_stats *
journal_writer_stats(struct journal_writer *w);
const char *journal_writer_errmsg(const struct journal_writer *w);
/* Flushes, fsyncs, releases the lock and frees w; returns the flush/fsync
 * result (the message is lost: use journal_sync first to see it). */
enum journal_err journal_writer_close(struct journal_writer *w);

struct journal_reader_stats {
	uint64_t lines;			/* lines returned */
	uint64_t bytes;			/* bytes of them, "\n" included */
	uint64_t skipped;		/* lines skipped (too long, NUL, torn) */
	uint64_t lost_bytes;		/* in segments dropped by max_size */
	uint64_t damaged_segments;	/* unreadable segments skipped */
	uint64_t commits;
};

struct journal_reader;

/*
 * Opens consumer NAME of DIR (created if missing) and takes its lock: a
 * second reader of the same consumer gets JOURNAL_ERR_LOCKED. Resumes from
 * cursor.NAME, or registers NAME at the start of the oldest segment. On
 * failure *r is NULL and err holds the message.
 */
enum journal_err journal_reader_open(struct journal_reader **r,
				     const char *dir, const char *name,
				     const struct journal_opts *opts,
				     char *err, size_t errsize);
/*
 * Returns the next complete line (without "\n") in *line and *len, lent
 * until the next call and NUL-terminated at (*line)[*len]. Waits up to timeout_ms (-1: forever, 0: not at all)
 * for the writer; a signal ends the wait early with JOURNAL_TIMEOUT.
 */
enum journal_err journal_read(struct journal_reader *r, const char **line,
			      size_t *len, int timeout_ms);
/* A complete line can be returned without waiting (may read the file). */
bool journal_reader_ready(struct journal_reader *r);
/* Lines returned or skipped since open. */
uint64_t journal_reader_lineno(const struct journal_reader *r);
/* After JOURNAL_BAD_LINE: "line too long (5242880 bytes, max 1048576)". */
const char *journal_reader_bad_reason(const struct journal_reader *r);
/* The position after the last line returned or skipped. */
struct journal_pos journal_reader_tell(const struct journal_reader *r);
/* Saves pos as the consumer's cursor (atomic, durable), then deletes the
 * segments every consumer has passed. */
enum journal_err journal_reader_commit(struct journal_reader *r,
				       struct journal_pos pos);
const struct journal_reader_stats *
journal_reader_stats(const struct journal_reader *r);
const char *journal_reader_errmsg(const struct journal_reader *r);
/* Releases the lock and frees r; does not commit. */
void journal_reader_close(struct journal_reader *r);

/* ---- inspection, for the journal tool and tests ---- */

struct journal_seg {
	uint64_t seq;
	uint64_t size;
};

/* The segments of DIR in order (*segs malloc'ed, free() it), and the number
 * of other files whose name looks like no journal file (in *strays). */
enum journal_err journal_list_segments(const char *dir,
				       struct journal_seg **segs, size_t *n,
				       size_t *strays);
/* The registered consumers, sorted (free each name, then the array). */
enum journal_err journal_list_consumers(const char *dir, char ***names,
					size_t *n);
enum journal_err journal_cursor_load(const char *dir, const char *name,
				     struct journal_pos *pos);
/* Atomic and durable, like journal_reader_commit (without the lock). */
enum journal_err journal_cursor_store(const char *dir, const char *name,
				      struct journal_pos pos);
/* Deletes the segments every registered consumer has passed (never the
 * newest); *deleted counts them (may be NULL). */
enum journal_err journal_cleanup(const char *dir, uint64_t *deleted);
/* Bytes dropped by max_size in segment seq (from dropped.log), 0 if none. */
uint64_t journal_dropped_bytes(const char *dir, uint64_t seq);
bool journal_name_valid(const char *name);
/* "DIR/00000000000000000042.ndjson" into buf; returns buf. */
char *journal_segment_path(const char *dir, uint64_t seq, char *buf,
			   size_t size);

const char *journal_strerror(enum journal_err err);

#endif
