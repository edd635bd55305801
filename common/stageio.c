/*
 * stageio: a stage's input and output, "-" (stdin/stdout) or a journal.
 *
 * Each end is a small vtable (struct stage_in_ops, struct stage_out_ops)
 * behind the public calls, so a new kind of input or output is one more
 * table and one more branch in stage_in_open/stage_out_open; stage code
 * does not change. Two kinds exist: file descriptors (stdin/stdout) and
 * journal directories (common/journal: a reader for a named consumer, the
 * writer), configured by JOURNAL_SEGMENT_SIZE, JOURNAL_FSYNC_INTERVAL and
 * JOURNAL_MAX_SIZE.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
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
	struct journal_reader *jr;	/* journal input */
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
	struct journal_writer *jw;	/* journal output */
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

/* ---- journal directories (common/journal) ---- */

/* The JOURNAL_* keys; unset ones (a zeroed test config) keep the defaults. */
static void
stageio_journal_opts(struct journal_opts *o, const struct config *cfg)
{
	journal_opts_init(o);
	if (config_is_set(cfg, CK_JOURNAL_SEGMENT_SIZE))
		o->segment_size =
			(uint64_t)config_num(cfg, CK_JOURNAL_SEGMENT_SIZE);
	if (config_is_set(cfg, CK_JOURNAL_FSYNC_INTERVAL))
		o->fsync_interval_ms =
			config_num(cfg, CK_JOURNAL_FSYNC_INTERVAL);
	if (config_is_set(cfg, CK_JOURNAL_MAX_SIZE))
		o->max_size = (uint64_t)config_num(cfg, CK_JOURNAL_MAX_SIZE);
	o->max_line = NDJSON_MAX_LINE;
}

static enum stageio_err
stageio_journal_read(struct stage_in *in, const char **line, size_t *len,
		     int timeout_ms)
{
	enum journal_err rc = journal_read(in->jr, line, len, timeout_ms);

	switch (rc) {
	case JOURNAL_OK:
		return STAGEIO_OK;
	case JOURNAL_TIMEOUT:
		return STAGEIO_TIMEOUT;
	case JOURNAL_BAD_LINE:
		stageio_fmt(in->bad_reason, sizeof(in->bad_reason),
			    "line %llu: %s",
			    (unsigned long long)journal_reader_lineno(in->jr),
			    journal_reader_bad_reason(in->jr));
		return STAGEIO_BAD_LINE;
	case JOURNAL_ERR_NOMEM:
		return STAGEIO_ERR_NOMEM;
	case JOURNAL_ERR_SYS:
	case JOURNAL_ERR_IO:
	case JOURNAL_ERR_LOCKED:
	case JOURNAL_ERR_NAME:
	case JOURNAL_ERR_VALUE:
	case JOURNAL_ERR_CURSOR:
		break;
	}
	stageio_fmt(in->errmsg, sizeof(in->errmsg), "%s",
		    journal_reader_errmsg(in->jr));
	return STAGEIO_ERR_JOURNAL;
}

static bool
stageio_journal_ready(struct stage_in *in)
{
	return journal_reader_ready(in->jr);
}

static uint64_t
stageio_journal_lineno(const struct stage_in *in)
{
	return journal_reader_lineno(in->jr);
}

static struct stage_pos
stageio_journal_tell(const struct stage_in *in)
{
	struct journal_pos jp = journal_reader_tell(in->jr);
	struct stage_pos pos = { .seg = jp.seg, .off = jp.off };

	return pos;
}

/* Saves the consumer's cursor (atomic, fsynced); segments every consumer
 * has passed are deleted. */
static enum stageio_err
stageio_journal_commit(struct stage_in *in, struct stage_pos pos)
{
	struct journal_pos jp = { .seg = pos.seg, .off = pos.off };

	if (journal_reader_commit(in->jr, jp) == JOURNAL_OK)
		return STAGEIO_OK;
	stageio_fmt(in->errmsg, sizeof(in->errmsg), "%s",
		    journal_reader_errmsg(in->jr));
	return STAGEIO_ERR_JOURNAL;
}

static void
stageio_journal_in_close(struct stage_in *in)
{
	journal_reader_close(in->jr);
	in->jr = NULL;
}

static const struct stage_in_ops stageio_journal_in_ops = {
	.read = stageio_journal_read,
	.ready = stageio_journal_ready,
	.lineno = stageio_journal_lineno,
	.tell = stageio_journal_tell,
	.commit = stageio_journal_commit,
	.close = stageio_journal_in_close,
};

static enum stageio_err
stageio_in_open_journal(struct stage_in *in, const struct config *cfg,
			const char *dir, const char *consumer)
{
	struct journal_opts o;
	const struct journal_reader_stats *st;
	enum journal_err rc;

	if (!consumer || !*consumer) {
		stageio_fmt(in->errmsg, sizeof(in->errmsg),
			    "--in '%s' needs --consumer NAME", dir);
		return STAGEIO_ERR_USAGE;
	}
	stageio_journal_opts(&o, cfg);
	rc = journal_reader_open(&in->jr, dir, consumer, &o, in->errmsg,
				 sizeof(in->errmsg));
	if (rc == JOURNAL_ERR_NAME)
		return STAGEIO_ERR_USAGE;
	if (rc == JOURNAL_ERR_NOMEM)
		return STAGEIO_ERR_NOMEM;
	if (rc != JOURNAL_OK)
		return STAGEIO_ERR_JOURNAL;
	stageio_fmt(in->name, sizeof(in->name), "journal '%s' consumer '%s'",
		    dir, consumer);
	/* JOURNAL_MAX_SIZE dropped what this consumer had not read: the one
	 * data loss a journal allows, and it must not go unnoticed */
	st = journal_reader_stats(in->jr);
	if (st->lost_bytes)
		log_error("data dropped by JOURNAL_MAX_SIZE before it was "
			  "read\tinput=\"%s\" lost_bytes=%llu", in->name,
			  (unsigned long long)st->lost_bytes);
	in->ops = &stageio_journal_in_ops;
	return STAGEIO_OK;
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
		rc = stageio_in_open_journal(in, cfg, src, cfg->consumer);
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

static enum stageio_err
stageio_journal_out_err(struct stage_out *out, enum journal_err rc)
{
	stageio_fmt(out->errmsg, sizeof(out->errmsg), "%s",
		    journal_writer_errmsg(out->jw));
	return rc == JOURNAL_ERR_NOMEM ? STAGEIO_ERR_NOMEM : STAGEIO_ERR_JOURNAL;
}

static enum stageio_err
stageio_journal_write(struct stage_out *out, const char *line, size_t len)
{
	enum journal_err rc = journal_append(out->jw, line, len);

	return rc == JOURNAL_OK ? STAGEIO_OK : stageio_journal_out_err(out, rc);
}

/* Appended to the segment file: safe from a crash of this process; the
 * fsync policy (JOURNAL_FSYNC_INTERVAL) covers power loss. */
static enum stageio_err
stageio_journal_flush(struct stage_out *out)
{
	enum journal_err rc = journal_flush(out->jw);

	return rc == JOURNAL_OK ? STAGEIO_OK : stageio_journal_out_err(out, rc);
}

static enum stageio_err
stageio_journal_sync(struct stage_out *out)
{
	enum journal_err rc = journal_sync(out->jw);

	return rc == JOURNAL_OK ? STAGEIO_OK : stageio_journal_out_err(out, rc);
}

static enum stageio_err
stageio_journal_out_close(struct stage_out *out)
{
	enum stageio_err rc = stageio_journal_sync(out);

	journal_writer_close(out->jw);
	out->jw = NULL;
	return rc;
}

static const struct stage_out_ops stageio_journal_out_ops = {
	.write = stageio_journal_write,
	.flush = stageio_journal_flush,
	.sync = stageio_journal_sync,
	.close = stageio_journal_out_close,
};

/* JOURNAL_MAX_SIZE made the writer drop a segment no consumer had
 * finished: logged at error level, as DESIGN.md asks ("loudly"). */
static void
stageio_journal_dropped(void *arg, const struct journal_drop *d)
{
	const char *dir = arg;

	log_error("JOURNAL_MAX_SIZE reached: dropped the oldest segment\t"
		  "journal='%s' segment=%llu bytes=%llu lines=%llu", dir,
		  (unsigned long long)d->seg, (unsigned long long)d->bytes,
		  (unsigned long long)d->lines);
}

static enum stageio_err
stageio_out_open_journal(struct stage_out *out, const struct config *cfg,
			 const char *dir)
{
	struct journal_opts o;
	enum journal_err rc;

	stageio_journal_opts(&o, cfg);
	o.on_drop = stageio_journal_dropped;
	o.on_drop_arg = (void *)dir;
	rc = journal_writer_open(&out->jw, dir, &o, out->errmsg,
				 sizeof(out->errmsg));
	if (rc == JOURNAL_ERR_NOMEM)
		return STAGEIO_ERR_NOMEM;
	if (rc != JOURNAL_OK)
		return STAGEIO_ERR_JOURNAL;
	stageio_fmt(out->name, sizeof(out->name), "journal '%s'", dir);
	out->ops = &stageio_journal_out_ops;
	return STAGEIO_OK;
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
		rc = stageio_out_open_journal(out, cfg, dst);
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
