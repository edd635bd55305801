/*
 * snapshot: save and load the alert-api state file (format in snapshot.h).
 * Written through a buffer as store_dump hands out chunks, read back line
 * by line with record_parse_alert, the parser of the input itself, so a
 * restored alert is the same as one applied from the journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "record.h"
#include "rfc3339.h"
#include "snapshot.h"
#include "util.h"
#include "banned.h"

#define SNAPSHOT_FORMAT "alert-api-state"
#define SNAPSHOT_VERSION 1
#define SNAPSHOT_BUF (256 * 1024)

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

/*
 * The check of the end line: FNV-1a over 64-bit little-endian words (8
 * times fewer multiplications than over bytes: 52 MB of 100,000 alerts
 * hash in about 15 ms), the last partial word and the length mixed in at
 * the end. Streamed: any split of the bytes into calls gives the same.
 */
struct snapshot_hash {
	uint64_t h, word, len;
	unsigned n;		/* bytes in word */
};

static void
snapshot_hash_init(struct snapshot_hash *sh)
{
	memset(sh, 0, sizeof(*sh));
	sh->h = FNV_OFFSET;
}

static void
snapshot_hash_add(struct snapshot_hash *sh, const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	uint64_t w;

	sh->len += len;
	while (len > 0 && sh->n > 0) {
		sh->word |= (uint64_t)*p++ << (8 * sh->n);
		len--;
		if (++sh->n == 8) {
			sh->h = (sh->h ^ sh->word) * FNV_PRIME;
			sh->word = 0;
			sh->n = 0;
		}
	}
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		w = __builtin_bswap64(w);
#endif
		sh->h = (sh->h ^ w) * FNV_PRIME;
	}
	for (; len > 0; len--)
		sh->word |= (uint64_t)*p++ << (8 * sh->n++);
}

static uint64_t
snapshot_hash_end(const struct snapshot_hash *sh)
{
	uint64_t h = sh->h;

	if (sh->n)
		h = (h ^ sh->word) * FNV_PRIME;
	return (h ^ sh->len) * FNV_PRIME;
}

/* The file being written: a buffer in front of fd, and the running hash;
 * the header goes first, as soon as store_dump has set first_seq. */
struct snapshot_writer {
	int fd;
	struct strbuf buf;
	struct snapshot_hash hash;
	uint64_t bytes;
	bool started;
	struct stage_pos pos;
	const uint64_t *first_seq;
};

static int
snapshot_flush(struct snapshot_writer *w)
{
	const char *p = w->buf.buf;
	size_t left = w->buf.len;

	while (left > 0) {
		ssize_t n = write(w->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		left -= (size_t)n;
	}
	strbuf_reset(&w->buf);
	return 0;
}

static int snapshot_put(void *arg, const char *buf, size_t len);

static int
snapshot_start(struct snapshot_writer *w)
{
	char when[RFC3339_MAX], line[256];
	int n;

	w->started = true;
	rfc3339_format(time_now_ns(), when);
	n = snprintf(line, sizeof(line), "{\"format\":\"%s\",\"version\":%d,"
		     "\"in_seg\":%" PRIu64 ",\"in_off\":%" PRIu64
		     ",\"first_seq\":%" PRIu64 ",\"saved_at\":\"%s\"}\n",
		     SNAPSHOT_FORMAT, SNAPSHOT_VERSION, w->pos.seg, w->pos.off,
		     *w->first_seq, when);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return snapshot_put(w, line, (size_t)n);
}

/* Adds bytes to the file, after the header. */
static int
snapshot_put(void *arg, const char *buf, size_t len)
{
	struct snapshot_writer *w = arg;

	if (!w->started && snapshot_start(w))
		return -1;
	snapshot_hash_add(&w->hash, buf, len);
	w->bytes += len;
	if (w->buf.len + len > SNAPSHOT_BUF && snapshot_flush(w))
		return -1;
	if (len > SNAPSHOT_BUF) {
		strbuf_reset(&w->buf);
		if (strbuf_add(&w->buf, buf, len) || snapshot_flush(w))
			return -1;
		return 0;
	}
	return strbuf_add(&w->buf, buf, len);
}

/* Makes a rename in the directory of path durable. */
static void
snapshot_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int dfd;

	if (!copy)
		return;
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(copy);
}

enum snapshot_err
snapshot_save(const char *path, struct store *s, struct stage_pos pos,
	      struct snapshot_info *info, char *err, size_t errsize)
{
	uint64_t first = 0;
	struct snapshot_writer w = {.fd = -1, .pos = pos, .first_seq = &first};
	struct strbuf tmp, line;
	size_t n = 0;
	enum snapshot_err rc = SNAPSHOT_ERR_SYS;
	enum store_err sr;
	const char *what = "write";
	bool created = false;

	snapshot_hash_init(&w.hash);
	strbuf_init(&w.buf, 0);
	strbuf_init(&tmp, 0);
	strbuf_init(&line, 0);
	if (strbuf_addf(&tmp, "%s.tmp", path) || strbuf_grow(&w.buf, SNAPSHOT_BUF)) {
		what = "out of memory";
		errno = ENOMEM;
		goto out;
	}
	w.fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w.fd < 0) {
		what = "open";
		goto out;
	}
	created = true;
	sr = store_dump(s, snapshot_put, &w, &first, &n);
	if (sr == STORE_ERR_NOMEM) {
		rc = SNAPSHOT_ERR_STORE;
		what = "out of memory";
		errno = ENOMEM;
		goto out;
	}
	if (sr || (!w.started && snapshot_start(&w)) || strbuf_addf(&line, "{\"end\":true,\"alerts\":%zu,"
			      "\"hash\":\"%016" PRIx64 "\"}\n", n,
			      snapshot_hash_end(&w.hash)) ||
	    snapshot_put(&w, line.buf, line.len) || snapshot_flush(&w))
		goto out;
	if (fsync(w.fd) != 0) {
		what = "fsync";
		goto out;
	}
	if (close(w.fd) != 0) {
		w.fd = -1;
		what = "close";
		goto out;
	}
	w.fd = -1;
	if (rename(tmp.buf, path) != 0) {
		what = "rename";
		goto out;
	}
	created = false;
	snapshot_sync_dir(path);
	if (info) {
		info->pos = pos;
		info->first_seq = first;
		info->alerts = n;
		info->bytes = w.bytes;
	}
	rc = SNAPSHOT_OK;
out:
	if (rc != SNAPSHOT_OK)
		snprintf(err, errsize, "cannot save state file '%s': %s%s%s",
			 path, what, errno ? ": " : "",
			 errno ? strerror(errno) : "");
	if (w.fd >= 0)
		close(w.fd);
	if (created)
		(void)unlink(tmp.buf);
	strbuf_release(&w.buf);
	strbuf_release(&tmp);
	strbuf_release(&line);
	return rc;
}

static bool
snapshot_uint(json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return false;
	*v = (uint64_t)json_integer_value(j);
	return true;
}

/* Parses the header line into info. */
static bool
snapshot_header(const char *line, size_t len, struct snapshot_info *info)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	json_t *fmt = json_object_get(j, "format");
	json_t *ver = json_object_get(j, "version");
	bool ok;

	ok = json_is_string(fmt) &&
	     strcmp(json_string_value(fmt), SNAPSHOT_FORMAT) == 0 &&
	     json_is_integer(ver) && json_integer_value(ver) == SNAPSHOT_VERSION &&
	     snapshot_uint(j, "in_seg", &info->pos.seg) &&
	     snapshot_uint(j, "in_off", &info->pos.off) &&
	     snapshot_uint(j, "first_seq", &info->first_seq);
	json_decref(j);
	return ok;
}

/* Checks the trailer line against the count and hash of what came before. */
static bool
snapshot_trailer(const char *line, size_t len, size_t alerts, uint64_t hash)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	json_t *h = json_object_get(j, "hash");
	uint64_t n = 0;
	char want[17];
	bool ok;

	snprintf(want, sizeof(want), "%016" PRIx64, hash);
	ok = json_is_true(json_object_get(j, "end")) &&
	     snapshot_uint(j, "alerts", &n) && n == alerts &&
	     json_is_string(h) && strcmp(json_string_value(h), want) == 0;
	json_decref(j);
	return ok;
}

enum snapshot_err
snapshot_load(const char *path, struct store *s, struct snapshot_info *info,
	      char *err, size_t errsize)
{
	struct record_scratch scr;
	struct alert a;
	FILE *f;
	char *line = NULL;
	size_t cap = 0, lineno = 0, body;
	ssize_t n;
	struct snapshot_hash hash;
	bool ended = false;
	enum snapshot_err rc = SNAPSHOT_ERR_FORMAT;
	enum store_err sr;

	memset(info, 0, sizeof(*info));
	snapshot_hash_init(&hash);
	record_scratch_init(&scr);
	f = fopen(path, "r");
	if (!f) {
		rc = errno == ENOENT ? SNAPSHOT_MISSING : SNAPSHOT_ERR_SYS;
		snprintf(err, errsize, "cannot open state file '%s': %s", path,
			 strerror(errno));
		goto out;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		info->bytes += (uint64_t)n;
		if (ended || line[n - 1] != '\n') {
			snprintf(err, errsize, "state file '%s' line %zu: %s",
				 path, lineno, ended ? "data after the end line"
						     : "cut short");
			goto out;
		}
		body = (size_t)n - 1;
		if (lineno == 1) {
			if (!snapshot_header(line, body, info) ||
			    store_set_first_seq(s, info->first_seq) != STORE_OK) {
				snprintf(err, errsize, "state file '%s': not an "
					 "alert-api state file (bad header)",
					 path);
				goto out;
			}
		} else if (strncmp(line, "{\"end\":", 7) == 0) {
			if (!snapshot_trailer(line, body, info->alerts,
					      snapshot_hash_end(&hash))) {
				snprintf(err, errsize, "state file '%s': damaged "
					 "(the end line does not match %zu "
					 "alerts and their hash)", path,
					 info->alerts);
				goto out;
			}
			ended = true;
		} else {
			if (record_parse_alert(&a, line, body, &scr) !=
			    RECORD_OK) {
				snprintf(err, errsize, "state file '%s' line "
					 "%zu: %s", path, lineno, scr.detail);
				goto out;
			}
			sr = store_apply(s, &a);
			if (sr) {
				rc = SNAPSHOT_ERR_STORE;
				snprintf(err, errsize, "state file '%s' line "
					 "%zu: %s", path, lineno,
					 store_strerror(sr));
				goto out;
			}
			info->alerts++;
		}
		snapshot_hash_add(&hash, line, (size_t)n);
	}
	if (ferror(f)) {
		rc = SNAPSHOT_ERR_SYS;
		snprintf(err, errsize, "cannot read state file '%s': %s", path,
			 strerror(errno));
		goto out;
	}
	if (!ended) {
		snprintf(err, errsize, "state file '%s': %s", path,
			 lineno ? "cut short (no end line)" : "empty");
		goto out;
	}
	rc = SNAPSHOT_OK;
out:
	if (f)
		fclose(f);
	free(line);
	record_scratch_release(&scr);
	return rc;
}

const char *
snapshot_strerror(enum snapshot_err err)
{
	switch (err) {
	case SNAPSHOT_OK:
		return "success";
	case SNAPSHOT_MISSING:
		return "no state file";
	case SNAPSHOT_ERR_SYS:
		return "system error";
	case SNAPSHOT_ERR_FORMAT:
		return "damaged state file";
	case SNAPSHOT_ERR_STORE:
		return "the store refused the state";
	}
	return "unknown snapshot error";
}
