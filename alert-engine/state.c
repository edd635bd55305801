/*
 * state: save and restore rule states (format in state.h). Written by hand
 * with strbuf (it may hold many states), read back with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "record.h"
#include "state.h"
#include "util.h"
#include "banned.h"

#define STATE_MAX_FILE (1024LL * 1024 * 1024)

static int
state_add_num(struct strbuf *sb, double v)
{
	char buf[DOUBLE_STR_MAX];

	if (!isfinite(v))
		return strbuf_addstr(sb, "null");
	double_format(v, buf);
	return strbuf_addstr(sb, buf);
}

static int
state_visit(void *ctx, const struct eval_state_view *v)
{
	struct strbuf *sb = ctx;
	int rc;

	rc = strbuf_addstr(sb, "{\"rule\":") ||
	     strbuf_add_json_str(sb, v->rule, strlen(v->rule)) ||
	     strbuf_addstr(sb, ",\"measurement\":") ||
	     strbuf_add_json_str(sb, v->measurement, strlen(v->measurement)) ||
	     strbuf_addstr(sb, ",\"tags\":{");
	for (size_t i = 0; i < v->ntags && !rc; i++)
		rc = (i && strbuf_addch(sb, ',')) ||
		     strbuf_add_json_str(sb, v->tags[i].key,
					 strlen(v->tags[i].key)) ||
		     strbuf_addch(sb, ':') ||
		     strbuf_add_json_str(sb, v->tags[i].value,
					 strlen(v->tags[i].value));
	rc = rc || strbuf_addf(sb, "},\"phase\":\"%s\",\"held\":%s,"
			       "\"flap_count\":%u,\"since\":%" PRId64
			       ",\"last_t\":%" PRId64 ",\"flap_start\":%" PRId64
			       ",\"stable_since\":%" PRId64 ",\"recent\":[",
			       eval_phase_name(v->phase),
			       v->held ? "true" : "false", v->flap_count,
			       v->since, v->last_t, v->flap_start,
			       v->stable_since);
	for (size_t i = 0; i < v->nrecent && !rc; i++)
		rc = (i && strbuf_addch(sb, ',')) ||
		     state_add_num(sb, v->recent[i]);
	rc = rc || strbuf_addstr(sb, "],\"hist\":[");
	for (size_t i = 0; i < v->nhist && !rc; i++)
		rc = strbuf_addf(sb, "%s[%" PRId64 ",", i ? "," : "",
				 v->hist_t[i]) ||
		     state_add_num(sb, v->hist_v[i]) || strbuf_addch(sb, ']');
	rc = rc || strbuf_addstr(sb, "]}\n");
	return rc ? -1 : 0;
}

static enum state_err
state_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return STATE_ERR_SYS;
		buf += n;
		len -= (size_t)n;
	}
	return STATE_OK;
}

enum state_err
state_save(const char *path, const struct eval *e, struct stage_pos pos,
	   char *err, size_t errsize)
{
	struct strbuf sb, tmp;
	char *dircopy = NULL;
	int fd = -1, dfd;
	enum state_err rc = STATE_ERR_NOMEM;
	const char *what = "write";

	strbuf_init(&sb, 0);
	strbuf_init(&tmp, 0);
	if (strbuf_addf(&tmp, "%s.tmp", path) != 0 ||
	    strbuf_addf(&sb, "{\"version\":1,\"clock\":%" PRId64
			",\"in_seg\":%" PRIu64 ",\"in_off\":%" PRIu64 "}\n",
			eval_clock(e), pos.seg, pos.off) != 0 ||
	    eval_foreach_state(e, state_visit, &sb) != 0) {
		snprintf(err, errsize, "cannot save state file '%s': out of "
			 "memory", path);
		goto out;
	}
	rc = STATE_ERR_SYS;
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		what = "open";
		goto fail;
	}
	if (state_write_all(fd, sb.buf, sb.len) != STATE_OK)
		goto fail;
	if (fsync(fd) != 0) {
		what = "fsync";
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		what = "close";
		goto fail;
	}
	fd = -1;
	if (rename(tmp.buf, path) != 0) {
		what = "rename";
		goto fail;
	}
	/* The rename is durable once the directory is. */
	dircopy = strdup(path);
	if (dircopy) {
		dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	rc = STATE_OK;
	goto out;
fail:
	snprintf(err, errsize, "cannot save state file '%s': %s: %s", path,
		 what, strerror(errno));
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp.buf);
out:
	free(dircopy);
	strbuf_release(&sb);
	strbuf_release(&tmp);
	return rc;
}

static bool
state_int(json_t *o, const char *key, int64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j))
		return false;
	*v = json_integer_value(j);
	return true;
}

static enum state_err
state_line(json_t *o, struct eval *e, struct state_info *info)
{
	struct eval_state_view v;
	struct tag tags[RECORD_MAX_TAGS];
	json_t *jt, *j, *arr;
	const char *key, *phase;
	size_t i;
	enum eval_err erc;

	memset(&v, 0, sizeof(v));
	v.rule = json_string_value(json_object_get(o, "rule"));
	v.measurement = json_string_value(json_object_get(o, "measurement"));
	phase = json_string_value(json_object_get(o, "phase"));
	jt = json_object_get(o, "tags");
	if (!v.rule || !v.measurement || !phase || !json_is_object(jt) ||
	    json_object_size(jt) > RECORD_MAX_TAGS ||
	    !state_int(o, "since", &v.since) ||
	    !state_int(o, "last_t", &v.last_t) ||
	    !state_int(o, "flap_start", &v.flap_start) ||
	    !state_int(o, "stable_since", &v.stable_since))
		return STATE_ERR_FORMAT;
	i = 0;
	json_object_foreach(jt, key, j) {
		if (!json_is_string(j))
			return STATE_ERR_FORMAT;
		tags[i].key = key;
		tags[i].value = json_string_value(j);
		i++;
	}
	v.ntags = i;
	if (!record_sort_tags(tags, v.ntags))
		return STATE_ERR_FORMAT;
	v.tags = tags;
	if (strcmp(phase, "ok") == 0)
		v.phase = EVAL_OK_PHASE;
	else if (strcmp(phase, "pending") == 0)
		v.phase = EVAL_PENDING;
	else if (strcmp(phase, "firing") == 0)
		v.phase = EVAL_FIRING;
	else
		return STATE_ERR_FORMAT;
	v.held = json_is_true(json_object_get(o, "held"));
	v.flap_count = (unsigned)json_integer_value(
		json_object_get(o, "flap_count"));
	arr = json_object_get(o, "recent");
	for (i = 0; i < json_array_size(arr) && i < EVAL_RECENT; i++)
		v.recent[i] = json_number_value(json_array_get(arr, i));
	v.nrecent = i;
	arr = json_object_get(o, "hist");
	for (i = 0; i < json_array_size(arr) && i < EVAL_HIST; i++) {
		j = json_array_get(arr, i);
		v.hist_t[i] = json_integer_value(json_array_get(j, 0));
		v.hist_v[i] = json_number_value(json_array_get(j, 1));
	}
	v.nhist = i;
	erc = eval_restore(e, &v);
	if (erc == EVAL_ERR_NOMEM)
		return STATE_ERR_NOMEM;
	if (erc)
		info->dropped++;
	else
		info->restored++;
	return STATE_OK;
}

enum state_err
state_load(const char *path, struct eval *e, struct state_info *info,
	   char *err, size_t errsize)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	json_error_t jerr;
	json_t *o;
	enum state_err rc = STATE_OK;
	int64_t seg = 0, off = 0;

	memset(info, 0, sizeof(*info));
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return STATE_OK;
		snprintf(err, errsize, "cannot read state file '%s': open: %s",
			 path, strerror(errno));
		return STATE_ERR_SYS;
	}
	while (rc == STATE_OK && (n = getline(&line, &cap, f)) > 0) {
		lineno++;
		o = json_loadb(line, (size_t)n, 0, &jerr);
		if (!o) {
			rc = STATE_ERR_FORMAT;
		} else if (lineno == 1) {
			if (json_integer_value(json_object_get(o, "version")) != 1 ||
			    !state_int(o, "clock", &info->clock) ||
			    !state_int(o, "in_seg", &seg) ||
			    !state_int(o, "in_off", &off))
				rc = STATE_ERR_FORMAT;
			info->pos.seg = (uint64_t)seg;
			info->pos.off = (uint64_t)off;
		} else {
			rc = state_line(o, e, info);
		}
		json_decref(o);
	}
	if (rc == STATE_OK && ferror(f)) {
		snprintf(err, errsize, "cannot read state file '%s': read: %s",
			 path, strerror(errno));
		rc = STATE_ERR_SYS;
	} else if (rc == STATE_ERR_FORMAT) {
		snprintf(err, errsize, "state file '%s' line %u: not a state "
			 "record", path, lineno);
	} else if (rc == STATE_ERR_NOMEM) {
		snprintf(err, errsize, "state file '%s': out of memory", path);
	}
	if (rc == STATE_OK && lineno > 0)
		eval_set_clock(e, info->clock);
	free(line);
	fclose(f);
	return rc;
}

const char *
state_strerror(enum state_err err)
{
	switch (err) {
	case STATE_OK:
		return "success";
	case STATE_ERR_SYS:
		return "state file I/O failed";
	case STATE_ERR_FORMAT:
		return "not a state file";
	case STATE_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown state error";
}
