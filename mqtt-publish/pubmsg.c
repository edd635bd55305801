/*
 * pubmsg: record -> MQTT topic and payload. See pubmsg.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubmsg.h"
#include "banned.h"

#define PUBMSG_TAGS_PREFIX "tags."

enum pubmsg_err
pubmsg_tpl_parse(struct pubmsg_tpl *t, const char *tpl, char *err,
		 size_t errsize)
{
	enum pubmsg_err rc = PUBMSG_ERR_SYNTAX;
	char *p, *close;

	memset(t, 0, sizeof(*t));
	err[0] = '\0';
	if (!tpl || !*tpl) {
		snprintf(err, errsize, "the template is empty");
		return PUBMSG_ERR_SYNTAX;
	}
	if (tpl[0] == '$') {
		snprintf(err, errsize, "a topic starting with '$' is reserved for the broker");
		return PUBMSG_ERR_SYNTAX;
	}
	t->buf = strdup(tpl);
	if (!t->buf)
		return PUBMSG_ERR_NOMEM;
	p = t->buf;
	while (*p) {
		struct pubmsg_part *pt;

		if (t->nparts == PUBMSG_MAX_PARTS) {
			snprintf(err, errsize, "more than %d parts",
				 PUBMSG_MAX_PARTS);
			goto out;
		}
		pt = &t->part[t->nparts];
		if (*p == '}') {
			snprintf(err, errsize, "'}' without '{' at offset %zu",
				 (size_t)(p - t->buf));
			goto out;
		}
		if (*p != '{') {
			/* A literal runs to the next brace. */
			size_t n = strcspn(p, "{}");

			for (size_t i = 0; i < n; i++) {
				if (p[i] == '+' || p[i] == '#') {
					snprintf(err, errsize,
						 "wildcard '%c' in a topic to publish to",
						 p[i]);
					goto out;
				}
			}
			pt->kind = PUBMSG_LITERAL;
			pt->text = p;
			pt->len = n;
			t->nparts++;
			p += n;		/* a '{' or '}' is handled next */
			continue;
		}
		close = strchr(p + 1, '}');
		if (!close) {
			snprintf(err, errsize, "'{' without '}' at offset %zu",
				 (size_t)(p - t->buf));
			goto out;
		}
		*close = '\0';
		if (strchr(p + 1, '{')) {
			snprintf(err, errsize, "'{' inside a placeholder");
			goto out;
		}
		if (strncmp(p + 1, PUBMSG_TAGS_PREFIX,
			    strlen(PUBMSG_TAGS_PREFIX)) == 0) {
			pt->kind = PUBMSG_TAG;
			pt->text = p + 1 + strlen(PUBMSG_TAGS_PREFIX);
		} else {
			pt->kind = PUBMSG_KEY;
			pt->text = p + 1;
		}
		pt->len = strlen(pt->text);
		if (pt->len == 0) {
			snprintf(err, errsize, "an empty placeholder '{%s}'",
				 p + 1);
			goto out;
		}
		t->nparts++;
		p = close + 1;
	}
	rc = PUBMSG_OK;
out:
	if (rc)
		pubmsg_tpl_release(t);
	return rc;
}

void
pubmsg_tpl_release(struct pubmsg_tpl *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/* Appends the value v of placeholder pt (for the detail: its name). */
static enum pubmsg_err
pubmsg_add_value(struct strbuf *topic, const json_t *v, const char **what)
{
	char num[DOUBLE_STR_MAX > 32 ? DOUBLE_STR_MAX : 32];
	const char *s;
	size_t len;
	int n;

	if (!v) {
		*what = "missing";
		return PUBMSG_ERR_MISSING;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		len = json_string_length(v);
	} else if (json_is_integer(v)) {
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			     json_integer_value(v));
		s = num;
		len = (size_t)n;
	} else if (json_is_real(v)) {
		len = double_format(json_real_value(v), num);
		s = num;
	} else {
		*what = "not a string or number";
		return PUBMSG_ERR_TYPE;
	}
	if (len == 0) {
		*what = "empty";
		return PUBMSG_ERR_EMPTY;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '/' || s[i] == '+' || s[i] == '#' || s[i] == '\0') {
			*what = "contains '/', '+', '#' or NUL";
			return PUBMSG_ERR_VALUE;
		}
	}
	if (topic->len + len > PUBMSG_TOPIC_MAX) {
		*what = "makes the topic too long";
		return PUBMSG_ERR_TOO_LONG;
	}
	if (strbuf_add(topic, s, len) != 0)
		return PUBMSG_ERR_NOMEM;
	return PUBMSG_OK;
}

enum pubmsg_err
pubmsg_topic(const struct pubmsg_tpl *t, const json_t *rec,
	     struct strbuf *topic, char *detail, size_t detailsize)
{
	enum pubmsg_err rc = PUBMSG_OK;
	const char *what = "";
	const json_t *tags, *v;

	detail[0] = '\0';
	strbuf_reset(topic);
	for (size_t i = 0; i < t->nparts && !rc; i++) {
		const struct pubmsg_part *pt = &t->part[i];

		switch (pt->kind) {
		case PUBMSG_LITERAL:
			if (topic->len + pt->len > PUBMSG_TOPIC_MAX) {
				what = "makes the topic too long";
				rc = PUBMSG_ERR_TOO_LONG;
			} else if (strbuf_add(topic, pt->text, pt->len) != 0) {
				rc = PUBMSG_ERR_NOMEM;
			}
			break;
		case PUBMSG_KEY:
			v = json_object_get(rec, pt->text);
			rc = pubmsg_add_value(topic, v, &what);
			break;
		case PUBMSG_TAG:
			tags = json_object_get(rec, "tags");
			v = json_is_object(tags) ?
				json_object_get(tags, pt->text) : NULL;
			rc = pubmsg_add_value(topic, v, &what);
			break;
		}
		if (rc && rc != PUBMSG_ERR_NOMEM)
			snprintf(detail, detailsize, "{%s%s}: %s",
				 pt->kind == PUBMSG_TAG ? PUBMSG_TAGS_PREFIX : "",
				 pt->kind == PUBMSG_LITERAL ? "" : pt->text,
				 what);
	}
	if (!rc && strbuf_add(topic, "", 0) != 0)
		rc = PUBMSG_ERR_NOMEM;
	return rc;
}

/* The line without white space between JSON tokens. */
static enum pubmsg_err
pubmsg_compact(const char *line, size_t len, struct strbuf *out)
{
	size_t start = 0, i;
	bool in_str = false;

	if (strbuf_grow(out, len + 1) != 0)
		return PUBMSG_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		char c = line[i];

		if (in_str) {
			if (c == '\\')
				i++;		/* the escaped byte */
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			/* Copy the run before this space, skip the space. */
			if (strbuf_add(out, line + start, i - start) != 0)
				return PUBMSG_ERR_NOMEM;
			start = i + 1;
		}
	}
	if (strbuf_add(out, line + start, len - start) != 0)
		return PUBMSG_ERR_NOMEM;
	return PUBMSG_OK;
}

enum pubmsg_err
pubmsg_payload(const json_t *rec, const char *line, size_t len,
	       const char *field, struct strbuf *out)
{
	const json_t *v;
	char num[DOUBLE_STR_MAX];
	size_t n;

	strbuf_reset(out);
	if (!field || !*field)
		return pubmsg_compact(line, len, out);
	v = json_object_get(rec, field);
	if (!v)
		return PUBMSG_ERR_NO_FIELD;
	if (json_is_string(v)) {
		if (strbuf_add(out, json_string_value(v),
			       json_string_length(v)) != 0)
			return PUBMSG_ERR_NOMEM;
		return PUBMSG_OK;
	}
	if (json_is_real(v)) {
		n = double_format(json_real_value(v), num);
		return strbuf_add(out, num, n) != 0 ? PUBMSG_ERR_NOMEM :
			PUBMSG_OK;
	}
	/* Integers, booleans, null, objects and arrays. Reals inside
	 * objects get 15 significant digits, which round-trips every
	 * decimal written with 15 digits or fewer (21.53 stays 21.53). */
	n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY |
		       JSON_REAL_PRECISION(15));
	if (n == 0 || strbuf_grow(out, n + 1) != 0)
		return PUBMSG_ERR_NOMEM;
	json_dumpb(v, out->buf, n, JSON_COMPACT | JSON_ENCODE_ANY |
		   JSON_REAL_PRECISION(15));
	out->len = n;
	out->buf[n] = '\0';
	return PUBMSG_OK;
}

const char *
pubmsg_reason(enum pubmsg_err err)
{
	switch (err) {
	case PUBMSG_OK:
		return "ok";
	case PUBMSG_ERR_SYNTAX:
		return "bad_template";
	case PUBMSG_ERR_MISSING:
		return "missing_key";
	case PUBMSG_ERR_EMPTY:
		return "empty_value";
	case PUBMSG_ERR_TYPE:
		return "bad_type";
	case PUBMSG_ERR_VALUE:
		return "bad_value";
	case PUBMSG_ERR_TOO_LONG:
		return "topic_too_long";
	case PUBMSG_ERR_NO_FIELD:
		return "missing_field";
	case PUBMSG_ERR_NOMEM:
		return "nomem";
	case PUBMSG_ERR__COUNT:
		break;
	}
	return "unknown";
}

const char *
pubmsg_strerror(enum pubmsg_err err)
{
	switch (err) {
	case PUBMSG_OK:
		return "success";
	case PUBMSG_ERR_SYNTAX:
		return "bad topic template";
	case PUBMSG_ERR_MISSING:
		return "a template key is missing from the record";
	case PUBMSG_ERR_EMPTY:
		return "a template value is empty";
	case PUBMSG_ERR_TYPE:
		return "a template value is not a string or number";
	case PUBMSG_ERR_VALUE:
		return "a template value contains '/', '+', '#' or NUL";
	case PUBMSG_ERR_TOO_LONG:
		return "the topic is longer than 65535 bytes";
	case PUBMSG_ERR_NO_FIELD:
		return "MQTT_PUBLISH_FIELD is not in the record";
	case PUBMSG_ERR_NOMEM:
		return "out of memory";
	case PUBMSG_ERR__COUNT:
		break;
	}
	return "unknown pubmsg error";
}
