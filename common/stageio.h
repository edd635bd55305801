/*
 * stageio: where a stage reads its input lines and writes its output lines,
 * chosen by --in and --out: "-" for stdin/stdout, or a journal directory
 * (common/journal). Stage code sees the same calls for both.
 * Owns: the input reader and output writer, and the lines they lend.
 * Never parses JSON or exits; returns enum stageio_err.
 *
 * Commit protocol: stage_in_tell() gives the position after the last line
 * read; once the stage has durably handled every line up to it (written and
 * synced downstream, accepted by InfluxDB, ...), it calls stage_in_commit().
 * On stdin commit is a no-op: a pipe cannot replay. On a journal it saves
 * the consumer's cursor, and a restart resumes from the last commit.
 */
#ifndef SENSORPIPE_STAGEIO_H
#define SENSORPIPE_STAGEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum stageio_err {
	STAGEIO_OK = 0,
	STAGEIO_EOF,		/* input ended (never for a journal being followed) */
	STAGEIO_TIMEOUT,	/* no line within the timeout */
	STAGEIO_BAD_LINE,	/* a line was skipped: too long or with NUL;
				 * stage_in_bad_reason() says which */
	STAGEIO_ERR_SYS,	/* see errno */
	STAGEIO_ERR_PIPE,	/* downstream closed (EPIPE) */
	STAGEIO_ERR_NOMEM,
	STAGEIO_ERR_JOURNAL,	/* journal error: stage_in/out_errmsg() */
	STAGEIO_ERR_USAGE,	/* --in DIR without --consumer, ... */
};

/* A position in an input: opaque to stages, comparable with memcmp. */
struct stage_pos {
	uint64_t seg;
	uint64_t off;
};

struct stage_in;
struct stage_out;

/*
 * Opens cfg->in ("-" or NULL: stdin; otherwise a journal directory read as
 * cfg->consumer). stdin lines are limited to NDJSON_MAX_LINE. On failure
 * *in is NULL and stage_in_errmsg(NULL) says why, e.g. "--in 'DIR' needs
 * --consumer NAME" (STAGEIO_ERR_USAGE), or the journal's message
 * (STAGEIO_ERR_JOURNAL: "consumer 'x' of journal 'DIR' is in use by another
 * process"). A journal is created if missing, and a new consumer registered
 * at its oldest line. stdin itself is never closed by stageio.
 */
enum stageio_err stage_in_open(struct stage_in **in, const struct config *cfg);
/*
 * Reads the next line; timeout_ms as for ndjson_read (-1 waits forever;
 * TIMEOUT also when a signal interrupted the wait). The line is lent until
 * the next call and NUL-terminated at line[len].
 */
enum stageio_err stage_in_read(struct stage_in *in, const char **line,
			       size_t *len, int timeout_ms);
/* A complete line is ready now. */
bool stage_in_ready(const struct stage_in *in);
/* Number of the last line read or skipped, from 1. */
uint64_t stage_in_lineno(const struct stage_in *in);
/* After STAGEIO_BAD_LINE: "line 12 too long (5242880 bytes, max 1048576)"
 * or "line 7 contains a NUL byte". Valid until the next read. */
const char *stage_in_bad_reason(const struct stage_in *in);
/* stdin: {0, byte offset just past the last line returned or skipped};
 * journal: {segment, offset} likewise. */
struct stage_pos stage_in_tell(const struct stage_in *in);
enum stageio_err stage_in_commit(struct stage_in *in, struct stage_pos pos);
/* The input's name for logs: "stdin" or "journal 'DIR' consumer 'NAME'". */
const char *stage_in_name(const struct stage_in *in);
/* The last error as one line ("cannot read stdin: read: ..."); with NULL,
 * why the last stage_in_open or stage_out_open failed. */
const char *stage_in_errmsg(const struct stage_in *in);
void stage_in_close(struct stage_in *in);

/* Opens cfg->out ("-" or NULL: stdout, never closed by stageio; else a
 * journal directory, created if missing, with JOURNAL_SEGMENT_SIZE,
 * JOURNAL_FSYNC_INTERVAL and JOURNAL_MAX_SIZE; STAGEIO_ERR_JOURNAL when
 * another writer holds it). Failure: *out NULL, stage_out_errmsg(NULL) says
 * why. Segments dropped by JOURNAL_MAX_SIZE are logged at error level. */
enum stageio_err stage_out_open(struct stage_out **out,
				const struct config *cfg);
/* Appends one line (no '\n' inside); may write when the buffer is full. */
enum stageio_err stage_out_write(struct stage_out *out, const char *line,
				 size_t len);
/* Writes what is buffered (a journal: appended, not necessarily fsynced). */
enum stageio_err stage_out_flush(struct stage_out *out);
/* Flush, then make it durable (journal: fsync; stdout: same as flush). */
enum stageio_err stage_out_sync(struct stage_out *out);
/* "cannot write to stdout: write: No space left on device"; NULL: see
 * stage_in_errmsg. */
const char *stage_out_errmsg(const struct stage_out *out);
/* Flushes and closes; returns the flush result. */
enum stageio_err stage_out_close(struct stage_out *out);

const char *stageio_strerror(enum stageio_err err);

#endif
