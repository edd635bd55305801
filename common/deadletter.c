/*
 * deadletter: appends rejected input, with the reason, to a file.
 *
 * Each entry is built whole in memory and written with a single write(2) on
 * an O_APPEND descriptor: the kernel places it at the end atomically with
 * respect to other appenders, so stages sharing one file never interleave.
 * Threads of one stage sharing the struct (influx-sink's reader and its
 * writers) are serialised by mu: the entry buffer is reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadletter.h"
#include "rfc3339.h"
#include "util.h"
#include "banned.h"

struct deadletter {
	int fd;
	char *stage;
	pthread_mutex_t mu;	/* guards sb and the writes */
	_Atomic uint64_t count;
	struct strbuf sb;	/* reused for every entry */
};

enum deadletter_err
deadletter_open(struct deadletter **dlp, const char *path, const char *stage)
{
	struct deadletter *dl;
	enum deadletter_err rc = DEADLETTER_ERR_NOMEM;
	int saved;

	*dlp = NULL;
	if (!path || !*path)
		return DEADLETTER_OK;
	dl = calloc(1, sizeof(*dl));
	if (!dl)
		return DEADLETTER_ERR_NOMEM;
	dl->fd = -1;
	pthread_mutex_init(&dl->mu, NULL);
	strbuf_init(&dl->sb, 0);
	dl->stage = strdup(stage ? stage : "");
	if (!dl->stage)
		goto out;
	dl->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (dl->fd < 0) {
		rc = DEADLETTER_ERR_SYS;
		goto out;
	}
	*dlp = dl;
	return DEADLETTER_OK;
out:
	saved = errno;
	deadletter_close(dl);
	errno = saved;
	return rc;
}

static int
deadletter_build(struct deadletter *dl, const struct deadletter_entry *e)
{
	struct strbuf *sb = &dl->sb;
	char when[RFC3339_MAX];
	size_t n = rfc3339_format(time_now_ns(), when);
	const char *data = e->data ? e->data : "";
	const char *reason = e->reason ? e->reason : "unknown";

	strbuf_reset(sb);
	if (strbuf_addstr(sb, "{\"time\":") ||
	    strbuf_add_json_str(sb, when, n) ||
	    strbuf_addstr(sb, ",\"stage\":") ||
	    strbuf_add_json_str(sb, dl->stage, strlen(dl->stage)) ||
	    strbuf_addstr(sb, ",\"reason\":") ||
	    strbuf_add_json_str(sb, reason, strlen(reason)))
		return -1;
	if (e->detail && (strbuf_addstr(sb, ",\"detail\":") ||
			  strbuf_add_json_str(sb, e->detail,
					      strlen(e->detail))))
		return -1;
	if (e->topic && (strbuf_addstr(sb, ",\"topic\":") ||
			 strbuf_add_json_str(sb, e->topic, strlen(e->topic))))
		return -1;
	if (e->line && strbuf_addf(sb, ",\"line\":%llu",
				   (unsigned long long)e->line))
		return -1;
	/* NUL is valid UTF-8, but many JSON readers refuse "\u0000". */
	if (utf8_valid(data, e->len) && !memchr(data, '\0', e->len)) {
		if (strbuf_addstr(sb, ",\"payload\":") ||
		    strbuf_add_json_str(sb, data, e->len))
			return -1;
	} else {
		if (strbuf_addstr(sb, ",\"payload_b64\":\"") ||
		    strbuf_add_base64(sb, data, e->len) ||
		    strbuf_addch(sb, '"'))
			return -1;
	}
	return strbuf_addstr(sb, "}\n");
}

enum deadletter_err
deadletter_write(struct deadletter *dl, const struct deadletter_entry *e)
{
	enum deadletter_err rc = DEADLETTER_ERR_NOMEM;
	ssize_t n;
	int saved = 0;

	if (!dl)
		return DEADLETTER_OK;
	pthread_mutex_lock(&dl->mu);
	if (deadletter_build(dl, e) != 0)
		goto out;
	rc = DEADLETTER_ERR_SYS;
	do
		n = write(dl->fd, dl->sb.buf, dl->sb.len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		saved = errno;
		goto out;
	}
	if ((size_t)n != dl->sb.len) {
		/* A short append means the disk filled up mid-entry. */
		saved = ENOSPC;
		goto out;
	}
	dl->count++;
	rc = DEADLETTER_OK;
out:
	/* Do not keep a huge payload's buffer around. */
	if (dl->sb.cap > 1024 * 1024)
		strbuf_release(&dl->sb);
	pthread_mutex_unlock(&dl->mu);
	if (saved)
		errno = saved;
	return rc;
}

uint64_t
deadletter_count(const struct deadletter *dl)
{
	return dl ? atomic_load(&dl->count) : 0;
}

void
deadletter_close(struct deadletter *dl)
{
	if (!dl)
		return;
	if (dl->fd >= 0)
		close(dl->fd);
	pthread_mutex_destroy(&dl->mu);
	strbuf_release(&dl->sb);
	free(dl->stage);
	free(dl);
}

const char *
deadletter_strerror(enum deadletter_err err)
{
	switch (err) {
	case DEADLETTER_OK:
		return "success";
	case DEADLETTER_ERR_SYS:
		return "cannot open or append to the dead letter file";
	case DEADLETTER_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown dead letter error";
}
