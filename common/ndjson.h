/*
 * ndjson: reads and writes newline-delimited lines over file descriptors.
 * Owns: the reader's and writer's buffers; a line returned by ndjson_read is
 * lent until the next call on that reader.
 * Never parses JSON, logs or exits; every call returns enum ndjson_err.
 *
 * Reader: a line longer than max_line is skipped whole (never split) and
 * reported once as NDJSON_ERR_TOOLONG; a line holding a NUL byte is skipped
 * and reported as NDJSON_ERR_NUL; a trailing "\r" is removed; blank lines are
 * ignored (so are lines of only spaces, tabs and "\r"); a last line without
 * "\n" is returned at EOF. Memory stays under max_line plus one read block
 * (64 KiB), allocated once at init, whatever the input: an over-long line is
 * discarded as it arrives. Reads ask for at least 64 KiB; no allocation per
 * line.
 *
 * Writer: ndjson_write appends one line and its "\n" to the buffer, writing
 * the buffer out first when the line would not fit, so the output never
 * holds a partial line from us; ndjson_flush writes what is buffered. Call it
 * whenever no more input is ready: one write per burst, none held back.
 */
#ifndef SENSORPIPE_NDJSON_H
#define SENSORPIPE_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NDJSON_MAX_LINE (1024 * 1024)
#define NDJSON_WRITE_BUF (64 * 1024)

enum ndjson_err {
	NDJSON_OK = 0,
	NDJSON_EOF,		/* end of input, every line returned */
	NDJSON_TIMEOUT,		/* no complete line within timeout_ms */
	NDJSON_ERR_TOOLONG,	/* a line over max_line was skipped */
	NDJSON_ERR_NUL,		/* a line with a NUL byte was skipped */
	NDJSON_ERR_SYS,		/* read/write/poll failed: see errno */
	NDJSON_ERR_PIPE,	/* the reader of our output went away (EPIPE) */
	NDJSON_ERR_NOMEM,
};

struct ndjson_reader {
	int fd;
	char *buf;
	size_t start;		/* first unreturned byte */
	size_t end;		/* end of valid data */
	size_t cap;
	size_t max_line;
	size_t scan;		/* bytes from start already searched for '\n' */
	uint64_t lineno;	/* number of the line last returned or skipped */
	uint64_t offset;	/* input offset of buf[0] */
	uint64_t line_offset;	/* input offset just past the last line */
	size_t skipped_len;	/* length of the line last skipped */
	bool skipping;		/* inside an over-long line */
	bool eof;
};

/* max_line 0 means NDJSON_MAX_LINE. */
enum ndjson_err ndjson_reader_init(struct ndjson_reader *r, int fd,
				   size_t max_line);
void ndjson_reader_release(struct ndjson_reader *r);

/*
 * Returns the next line (without "\n" or "\r\n") in *line and *len; the
 * line is lent until the next call and is NUL-terminated (line[len] == '\0',
 * written over the consumed "\r"/"\n" or a spare byte), so string functions
 * work on it, though len is what counts.
 *
 * Waits up to timeout_ms for input (-1 forever, 0 not at all); the timeout
 * covers the whole call. NDJSON_TIMEOUT is also returned when a signal
 * interrupts the wait (EINTR), so the caller can check its stop flag; with
 * timeout -1 that needs handlers installed without SA_RESTART.
 *
 * TOOLONG is reported once, when the end of the over-long line (its "\n" or
 * EOF) is reached; r->skipped_len is then its full length (without "\r\n").
 * After TOOLONG or NUL, r->lineno names the skipped line.
 *
 * r->lineno counts every physical line, blank and skipped ones included.
 * r->line_offset is the input offset just past the last line returned or
 * skipped, its "\n" included (a commit position: what precedes is handled).
 */
enum ndjson_err ndjson_read(struct ndjson_reader *r, const char **line,
			    size_t *len, int timeout_ms);

/* True when a complete line (or EOF, or the end of a skipped line) is
 * buffered. A buffered line may be blank, so ndjson_read(r, .., 0) can still
 * answer NDJSON_TIMEOUT. */
bool ndjson_ready(const struct ndjson_reader *r);

struct ndjson_writer {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
	uint64_t lines;		/* lines accepted */
	uint64_t bytes;		/* bytes written to fd */
};

/* cap 0 means NDJSON_WRITE_BUF. */
enum ndjson_err ndjson_writer_init(struct ndjson_writer *w, int fd, size_t cap);
/* Flushes, then frees the buffer; returns the flush result. */
enum ndjson_err ndjson_writer_release(struct ndjson_writer *w);
/*
 * line must not contain "\n". A line that does not fit in what is left of
 * the buffer flushes it first; a line of cap bytes or more is then written
 * directly (writev of the line and "\n"). Writes loop over partial writes
 * and EINTR and wait in poll(2) on EAGAIN; EPIPE gives NDJSON_ERR_PIPE
 * (ignore SIGPIPE), any other failure NDJSON_ERR_SYS with errno. After an
 * error the unwritten buffered bytes are dropped: stop writing.
 * w->bytes counts bytes written to fd, w->lines lines accepted.
 */
enum ndjson_err ndjson_write(struct ndjson_writer *w, const char *line,
			     size_t len);
enum ndjson_err ndjson_flush(struct ndjson_writer *w);

const char *ndjson_strerror(enum ndjson_err err);

#endif
