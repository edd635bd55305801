/*
 * topictpl: MQTT_TOPIC_TEMPLATE parsing and matching (see topictpl.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topictpl.h"
#include "banned.h"

static bool
topictpl_name_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.'))
			return false;
	}
	return true;
}

enum topictpl_err
topictpl_parse(struct topictpl *t, const char *tpl, char *err, size_t errsize)
{
	char *p, *slash;
	size_t n;

	memset(t, 0, sizeof(*t));
	err[0] = '\0';
	if (!tpl || !*tpl) {
		snprintf(err, errsize, "empty topic template");
		return TOPICTPL_ERR_SYNTAX;
	}
	t->buf = strdup(tpl);
	if (!t->buf)
		return TOPICTPL_ERR_NOMEM;
	p = t->buf;
	for (;;) {
		struct topictpl_level *l;

		slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		n = strlen(p);
		if (t->nlevels == TOPICTPL_MAX_LEVELS) {
			snprintf(err, errsize, "more than %d levels",
				 TOPICTPL_MAX_LEVELS);
			goto bad;
		}
		l = &t->level[t->nlevels++];
		l->text = p;
		l->len = n;
		if (n == 1 && p[0] == '+') {
			l->kind = TOPICTPL_ANY;
		} else if (n == 1 && p[0] == '#') {
			if (slash) {
				snprintf(err, errsize, "'#' must be the last level");
				goto bad;
			}
			l->kind = TOPICTPL_REST;
		} else if (n >= 2 && p[0] == '{' && p[n - 1] == '}') {
			p[n - 1] = '\0';
			l->text = p + 1;
			l->len = n - 2;
			if (!topictpl_name_ok(l->text, l->len)) {
				snprintf(err, errsize,
					 "level %zu: '{%s}' is not a valid tag name (letters, digits, _ - .)",
					 t->nlevels, l->text);
				goto bad;
			}
			if (strcmp(l->text, "measurement") == 0) {
				if (t->has_measurement) {
					snprintf(err, errsize, "{measurement} given twice");
					goto bad;
				}
				l->kind = TOPICTPL_MEASUREMENT;
				t->has_measurement = true;
			} else {
				for (size_t i = 0; i + 1 < t->nlevels; i++) {
					if (t->level[i].kind == TOPICTPL_TAG &&
					    strcmp(t->level[i].text, l->text) == 0) {
						snprintf(err, errsize,
							 "tag {%s} given twice", l->text);
						goto bad;
					}
				}
				l->kind = TOPICTPL_TAG;
				t->ntags++;
			}
		} else if (memchr(p, '{', n) || memchr(p, '}', n) ||
			   memchr(p, '+', n) || memchr(p, '#', n)) {
			snprintf(err, errsize,
				 "level %zu: '%s': {name}, + and # must fill a whole level",
				 t->nlevels, p);
			goto bad;
		} else {
			l->kind = TOPICTPL_LITERAL;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	return TOPICTPL_OK;
bad:
	topictpl_release(t);
	return TOPICTPL_ERR_SYNTAX;
}

void
topictpl_release(struct topictpl *t)
{
	free(t->buf);
	t->buf = NULL;
	t->nlevels = 0;
}

enum topictpl_err
topictpl_match(const struct topictpl *t, const char *topic, size_t len,
	       struct topictpl_tag *tags, size_t *ntags, const char **meas,
	       size_t *meas_len, char *err, size_t errsize)
{
	const char *p = topic, *end = topic + len, *slash;
	size_t i, n, nt = 0;

	*ntags = 0;
	*meas = NULL;
	*meas_len = 0;
	for (i = 0; i < t->nlevels; i++) {
		const struct topictpl_level *l = &t->level[i];

		if (l->kind == TOPICTPL_REST)
			goto done;
		if (!p) {
			snprintf(err, errsize,
				 "topic has %zu levels, the template needs %zu",
				 i, t->nlevels);
			return TOPICTPL_ERR_MISMATCH;
		}
		slash = memchr(p, '/', (size_t)(end - p));
		n = slash ? (size_t)(slash - p) : (size_t)(end - p);
		switch (l->kind) {
		case TOPICTPL_LITERAL:
			if (n != l->len || memcmp(p, l->text, n) != 0) {
				snprintf(err, errsize,
					 "level %zu is '%.*s', the template wants '%s'",
					 i + 1, (int)(n > 64 ? 64 : n), p, l->text);
				return TOPICTPL_ERR_MISMATCH;
			}
			break;
		case TOPICTPL_TAG:
		case TOPICTPL_MEASUREMENT:
			if (n == 0) {
				snprintf(err, errsize,
					 "level %zu for {%s} is empty", i + 1,
					 l->text);
				return TOPICTPL_ERR_MISMATCH;
			}
			if (l->kind == TOPICTPL_MEASUREMENT) {
				*meas = p;
				*meas_len = n;
			} else {
				tags[nt].key = l->text;
				tags[nt].value = p;
				tags[nt].len = n;
				nt++;
			}
			break;
		case TOPICTPL_ANY:
		case TOPICTPL_REST:
			break;
		}
		p = slash ? slash + 1 : NULL;
	}
	if (p) {
		snprintf(err, errsize,
			 "topic has more than the %zu levels of the template",
			 t->nlevels);
		return TOPICTPL_ERR_MISMATCH;
	}
done:
	*ntags = nt;
	return TOPICTPL_OK;
}

const char *
topictpl_strerror(enum topictpl_err err)
{
	switch (err) {
	case TOPICTPL_OK:
		return "success";
	case TOPICTPL_ERR_SYNTAX:
		return "bad topic template";
	case TOPICTPL_ERR_MISMATCH:
		return "topic does not fit the template";
	case TOPICTPL_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown topictpl error";
}
