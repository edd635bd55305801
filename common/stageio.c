/*
 * stageio: a stage's input and output, "-" (stdin/stdout) or a journal.
 *
 * Each end is a small vtable (struct stage_in_ops, struct stage_out_ops)
 * behind the public calls, so a new kind of input or output is one more
 * table and one more branch in stage_in_open/stage_out_open; stage code
 * does not change. Today only the file-descriptor kind exists; journal
 * directories answer STAGEIO_ERR_USAGE until common/journal is wired in
 * (see stageio_in_open_journal and stageio_out_open_journal).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"
#include "stageio.h"
#include "banned.h"

struct stage_in_ops {
	enum stageio_err (*read)(struct stage_in *in, const char **line,
				 size_t *len, int timeout_ms);
	/* Not const: a journal reader may look at the directory. */
	bool (*ready)(struct stage_in *in);
	uint64_t (*lineno)(const struct stage_in *in);
	struct stage_pos (*tell)(const struct stage_in *in);
	enum stageio_err (*commit)(struct stage_in *in, struct stage_pos pos);
	void (*close)(struct stage_in *in);
};

struct stage_in {
	const struct stage_in_ops *ops;
	struct ndjson_reader rd;	/* fd input */
	char name[300];
	char bad_reason[128];
	char errmsg[300];
};

struct stage_out_ops {
	enum stageio_err (*write)(struct stage_out *out, const char *line,
				  size_t len);
	enum stageio_err (*flush)(struct stage_out *out);
	enum stageio_err (*sync)(struct stage_out *out);
	/* Flushes and releases the kind's resources. */
	enum stageio_err (*close)(struct stage_out *out);
};

struct stage_out {
	const struct stage_out_ops *ops;
	struct ndjson_writer wr;	/* fd output */
	char name[300];
	char errmsg[300];
};

/* Why the last stage_in_open/stage_out_open failed, for errmsg(NULL). */
static char stageio_open_errmsg[300];

static void
stageio_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
stageio_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static enum stageio_err
stageio_from_ndjson(enum ndjson_err rc)
{
	switch (rc) {
	case NDJSON_OK:
		return STAGEIO_OK;
	case NDJSON_EOF:
		return STAGEIO_EOF;
	case NDJSON_TIMEOUT:
		return STAGEIO_TIMEOUT;
	case NDJSON_ERR_TOOLONG:
	case NDJSON_ERR_NUL:
		return STAGEIO_BAD_LINE;
	case NDJSON_ERR_SYS:
		return STAGEIO_ERR_SYS;
	case NDJSON_ERR_PIPE:
		return STAGEIO_ERR_PIPE;
	case NDJSON_ERR_NOMEM:
		return STAGEIO_ERR_NOMEM;
	}
	return STAGEIO_ERR_SYS;
}

/* ---- input from a file descriptor (stdin) ---- */

static enum stageio_err
stageio_fd_read(struct stage_in *in, const char **line, size_t *len,
		int timeout_ms)
{
	enum ndjson_err rc = ndjson_read(&in->rd, line, len, timeout_ms);
	int saved = errno;

	switch (rc) {
	case NDJSON_ERR_TOOLONG:
		stageio_fmt(in->bad_reason, sizeof(in->bad_reason),
			    "line %llu too long (%zu bytes, max %zu)",
			    (unsigned long long)in->rd.lineno,
			    in->rd.skipped_len, in->rd.max_line);
		break;
	case NDJSON_ERR_NUL:
		stageio_fmt(in->bad_reason, sizeof(in->bad_reason),
			    "line %llu contains a NUL byte",
			    (unsigned long long)in->rd.lineno);
		break;
	case NDJSON_ERR_SYS:
		stageio_fmt(in->errmsg, sizeof(in->errmsg),
			    "cannot read %s: read: %s", in->name,
			    strerror(saved));
		break;
	case NDJSON_OK:
	case NDJSON_EOF:
	case NDJSON_TIMEOUT:
	case NDJSON_ERR_PIPE:
	case NDJSON_ERR_NOMEM:
		break;
	}
	errno = saved;
	return stageio_from_ndjson(rc);
}

static bool
stageio_fd_ready(struct stage_in *in)
{
	return ndjson_ready(&in->rd);
}

static uint64_t
stageio_fd_lineno(const struct stage_in *in)
{
	return in->rd.lineno;
}

static struct stage_pos
stageio_fd_tell(const struct stage_in *in)
{
	struct stage_pos pos = { .seg = 0, .off = in->rd.line_offset };

	return pos;
}

/* A pipe cannot replay: nothing to save. */
static enum stageio_err
stageio_fd_commit(struct stage_in *in, struct stage_pos pos)
{
	(void)in;
	(void)pos;
	return STAGEIO_OK;
}

/* The descriptor (stdin) belongs to the process, not to us: not closed. */
static void
stageio_fd_in_close(struct stage_in *in)
{
	ndjson_reader_release(&in->rd);
}

static const struct stage_in_ops stageio_fd_in_ops = {
	.read = stageio_fd_read,
	.ready = stageio_fd_ready,
	.lineno = stageio_fd_lineno,
	.tell = stageio_fd_tell,
	.commit = stageio_fd_commit,
	.close = stageio_fd_in_close,
};

static enum stageio_err
stageio_in_open_fd(struct stage_in *in, int fd, const char *name)
{
	if (ndjson_reader_init(&in->rd, fd, NDJSON_MAX_LINE) != NDJSON_OK) {
		stageio_fmt(in->errmsg, sizeof(in->errmsg),
			    "cannot read %s: out of memory", name);
		return STAGEIO_ERR_NOMEM;
	}
	stageio_fmt(in->name, sizeof(in->name), "%s", name);
	in->ops = &stageio_fd_in_ops;
	return STAGEIO_OK;
}

/*
 * NEEDSWORK: journal input. Open a journal_reader on dir for consumer here,
 * fill in->name ("journal 'DIR' consumer 'NAME'") and set in->ops to a
 * journal table; stage code needs no change.
 */
static enum stageio_err
stageio_in_open_journal(struct stage_in *in, const char *dir,
			const char *consumer)
{
	if (!consumer || !*consumer) {
		stageio_fmt(in->errmsg, sizeof(in->errmsg),
			    "--in '%s' needs --consumer NAME", dir);
		return STAGEIO_ERR_USAGE;
	}
	stageio_fmt(in->errmsg, sizeof(in->errmsg),
		    "journal directories are not supported yet");
	return STAGEIO_ERR_USAGE;
}

enum stageio_err
stage_in_open(struct stage_in **inp, const struct config *cfg)
{
	const char *src = cfg->in && *cfg->in ? cfg->in : "-";
	struct stage_in *in;
	enum stageio_err rc;

	*inp = NULL;
	stageio_open_errmsg[0] = '\0';
	in = calloc(1, sizeof(*in));
	if (!in) {
		stageio_fmt(stageio_open_errmsg, sizeof(stageio_open_errmsg),
			    "cannot open input: out of memory");
		return STAGEIO_ERR_NOMEM;
	}
	if (strcmp(src, "-") == 0)
		rc = stageio_in_open_fd(in, STDIN_FILENO, "stdin");
	else
		rc = stageio_in_open_journal(in, src, cfg->consumer);
	if (rc != STAGEIO_OK) {
		stageio_fmt(stageio_open_errmsg, sizeof(stageio_open_errmsg),
			    "%s", in->errmsg);
		free(in);
		return rc;
	}
	*inp = in;
	return STAGEIO_OK;
}

enum stageio_err
stage_in_read(struct stage_in *in, const char **line, size_t *len,
	      int timeout_ms)
{
	return in->ops->read(in, line, len, timeout_ms);
}

bool
stage_in_ready(const struct stage_in *in)
{
	return in->ops->ready((struct stage_in *)in);
}

uint64_t
stage_in_lineno(const struct stage_in *in)
{
	return in->ops->lineno(in);
}

const char *
stage_in_bad_reason(const struct stage_in *in)
{
	return in->bad_reason;
}

struct stage_pos
stage_in_tell(const struct stage_in *in)
{
	return in->ops->tell(in);
}

enum stageio_err
stage_in_commit(struct stage_in *in, struct stage_pos pos)
{
	return in->ops->commit(in, pos);
}

const char *
stage_in_name(const struct stage_in *in)
{
	return in->name;
}

const char *
stage_in_errmsg(const struct stage_in *in)
{
	return in ? in->errmsg : stageio_open_errmsg;
}

void
stage_in_close(struct stage_in *in)
{
	if (!in)
		return;
	in->ops->close(in);
	free(in);
}

/* ---- output to a file descriptor (stdout) ---- */

static void
stageio_out_sys(struct stage_out *out, enum ndjson_err rc)
{
	int saved = errno;

	if (rc == NDJSON_ERR_SYS || rc == NDJSON_ERR_PIPE)
		stageio_fmt(out->errmsg, sizeof(out->errmsg),
			    "cannot write to %s: write: %s", out->name,
			    rc == NDJSON_ERR_PIPE ? "downstream closed (EPIPE)"
						  : strerror(saved));
	errno = saved;
}

static enum stageio_err
stageio_fd_write(struct stage_out *out, const char *line, size_t len)
{
	enum ndjson_err rc = ndjson_write(&out->wr, line, len);

	if (rc != NDJSON_OK)
		stageio_out_sys(out, rc);
	return stageio_from_ndjson(rc);
}

static enum stageio_err
stageio_fd_flush(struct stage_out *out)
{
	enum ndjson_err rc = ndjson_flush(&out->wr);

	if (rc != NDJSON_OK)
		stageio_out_sys(out, rc);
	return stageio_from_ndjson(rc);
}

/* The descriptor stays open (it is the process's stdout). */
static enum stageio_err
stageio_fd_out_close(struct stage_out *out)
{
	enum ndjson_err rc = ndjson_writer_release(&out->wr);

	if (rc != NDJSON_OK)
		stageio_out_sys(out, rc);
	return stageio_from_ndjson(rc);
}

static const struct stage_out_ops stageio_fd_out_ops = {
	.write = stageio_fd_write,
	.flush = stageio_fd_flush,
	/* A pipe has nothing to fsync: handing the bytes over is all. */
	.sync = stageio_fd_flush,
	.close = stageio_fd_out_close,
};

static enum stageio_err
stageio_out_open_fd(struct stage_out *out, int fd, const char *name)
{
	if (ndjson_writer_init(&out->wr, fd, 0) != NDJSON_OK) {
		stageio_fmt(out->errmsg, sizeof(out->errmsg),
			    "cannot write to %s: out of memory", name);
		return STAGEIO_ERR_NOMEM;
	}
	stageio_fmt(out->name, sizeof(out->name), "%s", name);
	out->ops = &stageio_fd_out_ops;
	return STAGEIO_OK;
}

/* NEEDSWORK: journal output. Open a journal_writer on dir here and set
 * out->ops to a journal table (sync: journal_sync). */
static enum stageio_err
stageio_out_open_journal(struct stage_out *out, const char *dir)
{
	(void)dir;
	stageio_fmt(out->errmsg, sizeof(out->errmsg),
		    "journal directories are not supported yet");
	return STAGEIO_ERR_USAGE;
}

enum stageio_err
stage_out_open(struct stage_out **outp, const struct config *cfg)
{
	const char *dst = cfg->out && *cfg->out ? cfg->out : "-";
	struct stage_out *out;
	enum stageio_err rc;

	*outp = NULL;
	stageio_open_errmsg[0] = '\0';
	out = calloc(1, sizeof(*out));
	if (!out) {
		stageio_fmt(stageio_open_errmsg, sizeof(stageio_open_errmsg),
			    "cannot open output: out of memory");
		return STAGEIO_ERR_NOMEM;
	}
	if (strcmp(dst, "-") == 0)
		rc = stageio_out_open_fd(out, STDOUT_FILENO, "stdout");
	else
		rc = stageio_out_open_journal(out, dst);
	if (rc != STAGEIO_OK) {
		stageio_fmt(stageio_open_errmsg, sizeof(stageio_open_errmsg),
			    "%s", out->errmsg);
		free(out);
		return rc;
	}
	*outp = out;
	return STAGEIO_OK;
}

enum stageio_err
stage_out_write(struct stage_out *out, const char *line, size_t len)
{
	return out->ops->write(out, line, len);
}

enum stageio_err
stage_out_flush(struct stage_out *out)
{
	return out->ops->flush(out);
}

enum stageio_err
stage_out_sync(struct stage_out *out)
{
	return out->ops->sync(out);
}

const char *
stage_out_errmsg(const struct stage_out *out)
{
	return out ? out->errmsg : stageio_open_errmsg;
}

enum stageio_err
stage_out_close(struct stage_out *out)
{
	enum stageio_err rc;

	if (!out)
		return STAGEIO_OK;
	rc = out->ops->close(out);
	free(out);
	return rc;
}

const char *
stageio_strerror(enum stageio_err err)
{
	switch (err) {
	case STAGEIO_OK:
		return "success";
	case STAGEIO_EOF:
		return "end of input";
	case STAGEIO_TIMEOUT:
		return "no line within the timeout";
	case STAGEIO_BAD_LINE:
		return "bad input line skipped";
	case STAGEIO_ERR_SYS:
		return "system error";
	case STAGEIO_ERR_PIPE:
		return "downstream closed (broken pipe)";
	case STAGEIO_ERR_NOMEM:
		return "out of memory";
	case STAGEIO_ERR_JOURNAL:
		return "journal error";
	case STAGEIO_ERR_USAGE:
		return "bad --in/--out/--consumer combination";
	}
	return "unknown stageio error";
}
