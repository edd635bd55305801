/*
 * ndjson: newline-delimited line reader and writer over file descriptors.
 *
 * The reader keeps one buffer of max_line + 2 + NDJSON_READ_BLOCK + 1 bytes,
 * allocated once: room for the longest accepted line with its "\r\n", one
 * read block after it and a spare byte, so every returned line can be
 * NUL-terminated in place (line[len] is the '\r' or '\n' already consumed,
 * or the spare byte at EOF). Scanning uses memchr and remembers how far it
 * got (r->scan), so a line arriving one byte at a time is not rescanned.
 * A line that outgrows max_line switches the reader to skipping: data is
 * discarded as it arrives until the next '\n', so memory never grows.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ndjson.h"
#include "util.h"
#include "banned.h"

/* What one read(2) asks for at least. */
#define NDJSON_READ_BLOCK (64 * 1024)

enum ndjson_err
ndjson_reader_init(struct ndjson_reader *r, int fd, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max_line = max_line ? max_line : NDJSON_MAX_LINE;
	if (r->max_line > SIZE_MAX / 2)
		r->max_line = SIZE_MAX / 2;
	r->cap = r->max_line + 2 + NDJSON_READ_BLOCK + 1;
	r->buf = malloc(r->cap);
	if (!r->buf)
		return NDJSON_ERR_NOMEM;
	return NDJSON_OK;
}

void
ndjson_reader_release(struct ndjson_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->start = r->end = r->cap = r->scan = 0;
}

static bool
ndjson_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/*
 * Classifies one physical line [buf+from, buf+from+raw) whose end has been
 * consumed; returns NDJSON_OK with *line and *len, NDJSON_TIMEOUT to mean "blank,
 * keep going", or a skip error.
 */
static enum ndjson_err
ndjson_take(struct ndjson_reader *r, size_t from, size_t raw,
	    const char **line, size_t *len)
{
	char *s = r->buf + from;
	size_t l = raw;

	r->lineno++;
	if (l > 0 && s[l - 1] == '\r')
		l--;
	if (l > r->max_line) {
		r->skipped_len = l;
		r->line_offset = r->offset + r->start;
		return NDJSON_ERR_TOOLONG;
	}
	if (ndjson_blank(s, l))
		return NDJSON_TIMEOUT;
	if (memchr(s, '\0', l)) {
		r->skipped_len = l;
		r->line_offset = r->offset + r->start;
		return NDJSON_ERR_NUL;
	}
	s[l] = '\0';
	r->line_offset = r->offset + r->start;
	*line = s;
	*len = l;
	return NDJSON_OK;
}

/* Moves the unreturned bytes to the front when the tail has no room for a
 * full read block. */
static void
ndjson_compact(struct ndjson_reader *r)
{
	if (r->start == r->end) {
		r->offset += r->start;
		r->start = r->end = 0;
		return;
	}
	if (r->cap - 1 - r->end >= NDJSON_READ_BLOCK || r->start == 0)
		return;
	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->offset += r->start;
	r->end -= r->start;
	r->start = 0;
}

/*
 * Reads once into the buffer. Returns NDJSON_OK when data or EOF arrived,
 * NDJSON_TIMEOUT when the deadline passed or a signal interrupted the wait,
 * NDJSON_ERR_SYS otherwise.
 */
static enum ndjson_err
ndjson_fill(struct ndjson_reader *r, int timeout_ms, int64_t deadline)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	ssize_t n;
	int wait, pr;

	ndjson_compact(r);
	for (;;) {
		/* With no timeout a blocking read is the wait: one syscall. */
		if (timeout_ms >= 0) {
			wait = 0;
			if (timeout_ms > 0) {
				int64_t left = deadline - time_mono_ms();

				wait = left > 0 ? (int)left : 0;
			}
			pr = poll(&pfd, 1, wait);
			if (pr < 0)
				return errno == EINTR ? NDJSON_TIMEOUT
						      : NDJSON_ERR_SYS;
			if (pr == 0)
				return NDJSON_TIMEOUT;
		}
		n = read(r->fd, r->buf + r->end, r->cap - 1 - r->end);
		if (n > 0) {
			r->end += (size_t)n;
			return NDJSON_OK;
		}
		if (n == 0) {
			r->eof = true;
			return NDJSON_OK;
		}
		if (errno == EINTR)
			return NDJSON_TIMEOUT;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return NDJSON_ERR_SYS;
		/* A non-blocking fd with nothing yet: wait in poll. */
		if (timeout_ms < 0) {
			pr = poll(&pfd, 1, -1);
			if (pr < 0)
				return errno == EINTR ? NDJSON_TIMEOUT
						      : NDJSON_ERR_SYS;
		} else if (timeout_ms == 0) {
			return NDJSON_TIMEOUT;
		}
	}
}

enum ndjson_err
ndjson_read(struct ndjson_reader *r, const char **line, size_t *len,
	    int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? time_mono_ms() + timeout_ms : 0;
	enum ndjson_err rc;
	char *nl;
	size_t from, raw;

	for (;;) {
		if (r->skipping) {
			nl = memchr(r->buf + r->start, '\n', r->end - r->start);
			if (nl) {
				raw = (size_t)(nl - (r->buf + r->start));
				if (raw > 0 && nl[-1] == '\r')
					raw--;
				r->skipped_len += raw;
				r->start = (size_t)(nl - r->buf) + 1;
				r->skipping = false;
				r->scan = 0;
				r->lineno++;
				r->line_offset = r->offset + r->start;
				return NDJSON_ERR_TOOLONG;
			}
			r->skipped_len += r->end - r->start;
			r->start = r->end;
			if (r->eof) {
				r->skipping = false;
				r->lineno++;
				r->line_offset = r->offset + r->start;
				return NDJSON_ERR_TOOLONG;
			}
		} else {
			from = r->start + r->scan;
			nl = memchr(r->buf + from, '\n', r->end - from);
			if (nl) {
				from = r->start;
				raw = (size_t)(nl - (r->buf + from));
				r->start = (size_t)(nl - r->buf) + 1;
				r->scan = 0;
				rc = ndjson_take(r, from, raw, line, len);
				if (rc == NDJSON_TIMEOUT)
					continue;	/* blank */
				return rc;
			}
			r->scan = r->end - r->start;
			if (r->eof) {
				if (r->start == r->end)
					return NDJSON_EOF;
				from = r->start;
				raw = r->end - r->start;
				r->start = r->end;
				r->scan = 0;
				rc = ndjson_take(r, from, raw, line, len);
				if (rc == NDJSON_TIMEOUT)
					continue;	/* blank */
				return rc;
			}
			/* Longer than any accepted line plus "\r": skip it. */
			if (r->scan > r->max_line + 1) {
				r->skipping = true;
				r->skipped_len = r->scan;
				r->start = r->end;
				r->scan = 0;
			}
		}
		rc = ndjson_fill(r, timeout_ms, deadline);
		if (rc != NDJSON_OK)
			return rc;
	}
}

bool
ndjson_ready(const struct ndjson_reader *r)
{
	size_t from = r->skipping ? r->start : r->start + r->scan;

	if (r->eof)
		return true;
	return memchr(r->buf + from, '\n', r->end - from) != NULL;
}

enum ndjson_err
ndjson_writer_init(struct ndjson_writer *w, int fd, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->cap = cap ? cap : NDJSON_WRITE_BUF;
	w->buf = malloc(w->cap);
	if (!w->buf)
		return NDJSON_ERR_NOMEM;
	return NDJSON_OK;
}

/* Writes every byte of iov[0..cnt), over partial writes, EINTR and EAGAIN. */
static enum ndjson_err
ndjson_write_all(struct ndjson_writer *w, struct iovec *iov, int cnt)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
	ssize_t n;

	while (cnt > 0) {
		if (iov[0].iov_len == 0) {
			iov++;
			cnt--;
			continue;
		}
		n = writev(w->fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return NDJSON_ERR_SYS;
				continue;
			}
			return errno == EPIPE ? NDJSON_ERR_PIPE
					      : NDJSON_ERR_SYS;
		}
		w->bytes += (uint64_t)n;
		while (cnt > 0 && (size_t)n >= iov[0].iov_len) {
			n -= (ssize_t)iov[0].iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov[0].iov_base = (char *)iov[0].iov_base + n;
			iov[0].iov_len -= (size_t)n;
		}
	}
	return NDJSON_OK;
}

enum ndjson_err
ndjson_flush(struct ndjson_writer *w)
{
	struct iovec iov = { .iov_base = w->buf, .iov_len = w->len };
	enum ndjson_err rc;

	if (w->len == 0)
		return NDJSON_OK;
	rc = ndjson_write_all(w, &iov, 1);
	/* After an error the rest is dropped: the caller stops writing. */
	w->len = 0;
	return rc;
}

enum ndjson_err
ndjson_write(struct ndjson_writer *w, const char *line, size_t len)
{
	struct iovec iov[2];
	enum ndjson_err rc;

	if (len >= w->cap - w->len) {
		rc = ndjson_flush(w);
		if (rc != NDJSON_OK)
			return rc;
	}
	w->lines++;
	if (len >= w->cap) {
		iov[0].iov_base = (void *)line;
		iov[0].iov_len = len;
		iov[1].iov_base = "\n";
		iov[1].iov_len = 1;
		return ndjson_write_all(w, iov, 2);
	}
	memcpy(w->buf + w->len, line, len);
	w->buf[w->len + len] = '\n';
	w->len += len + 1;
	return NDJSON_OK;
}

enum ndjson_err
ndjson_writer_release(struct ndjson_writer *w)
{
	enum ndjson_err rc = NDJSON_OK;

	if (w->buf)
		rc = ndjson_flush(w);
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
	return rc;
}

const char *
ndjson_strerror(enum ndjson_err err)
{
	switch (err) {
	case NDJSON_OK:
		return "success";
	case NDJSON_EOF:
		return "end of input";
	case NDJSON_TIMEOUT:
		return "no complete line within the timeout";
	case NDJSON_ERR_TOOLONG:
		return "line too long";
	case NDJSON_ERR_NUL:
		return "line contains a NUL byte";
	case NDJSON_ERR_SYS:
		return "system error";
	case NDJSON_ERR_PIPE:
		return "downstream closed (broken pipe)";
	case NDJSON_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown ndjson error";
}
