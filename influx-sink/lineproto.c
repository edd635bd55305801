/*
 * lineproto: records to InfluxDB line protocol (see lineproto.h).
 *
 * Speed matters here: the sink converts every reading, and the conversion
 * alone must run well above a million points a second. Each piece grows the
 * buffer once for its worst case and then writes bytes directly; a table
 * says which bytes need a look; integers are formatted by hand.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "lineproto.h"
#include "banned.h"

/* Byte classes. */
#define LP_C_SEP 0x01		/* ',' and ' ' */
#define LP_C_EQ 0x02		/* '=' */
#define LP_C_QUOTE 0x04		/* '"' */
#define LP_C_NL 0x08		/* '\r' and '\n' */
#define LP_C_BS 0x10		/* '\\' */

static const unsigned char lp_class[256] = {
	['\n'] = LP_C_NL, ['\r'] = LP_C_NL,
	[','] = LP_C_SEP, [' '] = LP_C_SEP,
	['='] = LP_C_EQ, ['"'] = LP_C_QUOTE, ['\\'] = LP_C_BS,
};

/*
 * How each position escapes (esc) and which characters a backslash must not
 * precede (after_bs: the server would take the pair as an escape and drop
 * the backslash). 1.6 unescapes "\=" in measurements and '\"' in field keys
 * too, so those count although the position never escapes them.
 */
struct lp_pos {
	unsigned char esc;
	unsigned char after_bs;
};

static const struct lp_pos lp_measurement = { LP_C_SEP, LP_C_SEP | LP_C_EQ };
static const struct lp_pos lp_tag = { LP_C_SEP | LP_C_EQ, LP_C_SEP | LP_C_EQ };
static const struct lp_pos lp_field_key = { LP_C_SEP | LP_C_EQ,
					    LP_C_SEP | LP_C_EQ | LP_C_QUOTE };

static const char lp_digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

size_t
lineproto_i64(int64_t v, char *buf)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	uint64_t u;
	size_t n;

	/* the magnitude of INT64_MIN fits in uint64 */
	u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	while (u >= 100) {
		unsigned r = (unsigned)(u % 100);

		u /= 100;
		p -= 2;
		memcpy(p, lp_digits2 + 2 * r, 2);
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, lp_digits2 + 2 * u, 2);
	} else {
		*--p = (char)('0' + u);
	}
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return n;
}

int64_t
lineproto_time(int64_t time_ns, enum lineproto_precision prec)
{
	int64_t d, q;

	switch (prec) {
	case LINEPROTO_NS:
		return time_ns;
	case LINEPROTO_US:
		d = 1000;
		break;
	case LINEPROTO_MS:
		d = 1000000;
		break;
	case LINEPROTO_S:
		d = 1000000000;
		break;
	default:
		return time_ns;
	}
	q = time_ns / d;
	if (time_ns % d < 0)
		q--;
	return q;
}

int
lineproto_precision_parse(const char *name, enum lineproto_precision *p)
{
	static const char *const names[] = { "ns", "us", "ms", "s" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(name, names[i]) == 0) {
			*p = (enum lineproto_precision)i;
			return 0;
		}
	}
	return -1;
}

/* Appends a name (measurement, key or tag value) escaped for pos. */
static enum lineproto_err
lp_name(struct strbuf *sb, const char *s, const struct lp_pos *pos)
{
	size_t len = strlen(s);
	char *o;

	if (strbuf_grow(sb, 2 * len))
		return LINEPROTO_ERR_NOMEM;
	o = sb->buf + sb->len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		unsigned cl = lp_class[c];

		if (cl == 0) {
			*o++ = (char)c;
			continue;
		}
		if (cl & LP_C_NL)
			return LINEPROTO_ERR_NEWLINE;
		if (cl & LP_C_BS) {
			if (i + 1 == len ||
			    (lp_class[(unsigned char)s[i + 1]] & pos->after_bs))
				return LINEPROTO_ERR_BACKSLASH;
		} else if (cl & pos->esc) {
			*o++ = '\\';
		}
		*o++ = (char)c;
	}
	sb->len = (size_t)(o - sb->buf);
	return LINEPROTO_OK;
}

/* Appends a string field value with its quotes. */
static enum lineproto_err
lp_string(struct strbuf *sb, const char *s, size_t len)
{
	char *o;

	if (strbuf_grow(sb, 2 * len + 2))
		return LINEPROTO_ERR_NOMEM;
	o = sb->buf + sb->len;
	*o++ = '"';
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		switch (c) {
		case '"':
		case '\\':
			*o++ = '\\';
			*o++ = c;
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		default:
			*o++ = c;
			break;
		}
	}
	*o++ = '"';
	sb->len = (size_t)(o - sb->buf);
	return LINEPROTO_OK;
}

static enum lineproto_err
lp_float(struct strbuf *sb, double v)
{
	if (!isfinite(v))
		return LINEPROTO_ERR_NONFINITE;
	if (strbuf_grow(sb, DOUBLE_STR_MAX))
		return LINEPROTO_ERR_NOMEM;
	sb->len += double_format(v, sb->buf + sb->len);
	return LINEPROTO_OK;
}

static enum lineproto_err
lp_int(struct strbuf *sb, int64_t v, bool suffix)
{
	if (strbuf_grow(sb, 24))
		return LINEPROTO_ERR_NOMEM;
	sb->len += lineproto_i64(v, sb->buf + sb->len);
	if (suffix)
		sb->buf[sb->len++] = 'i';
	return LINEPROTO_OK;
}

static enum lineproto_err
lp_raw(struct strbuf *sb, const char *s, size_t len)
{
	if (strbuf_grow(sb, len))
		return LINEPROTO_ERR_NOMEM;
	memcpy(sb->buf + sb->len, s, len);
	sb->len += len;
	return LINEPROTO_OK;
}

static enum lineproto_err
lp_measurement_tags(struct strbuf *sb, const char *measurement,
		    const struct tag *tags, size_t ntags, const char **where)
{
	enum lineproto_err rc;

	*where = "measurement";
	if (measurement[0] == '\0')
		return LINEPROTO_ERR_EMPTY;
	if (measurement[0] == '#')
		return LINEPROTO_ERR_COMMENT;
	rc = lp_name(sb, measurement, &lp_measurement);
	for (size_t i = 0; i < ntags && !rc; i++) {
		if (tags[i].value[0] == '\0')
			continue;
		*where = tags[i].key;
		if (tags[i].key[0] == '\0')
			return LINEPROTO_ERR_EMPTY;
		rc = lp_raw(sb, ",", 1);
		if (!rc)
			rc = lp_name(sb, tags[i].key, &lp_tag);
		if (!rc)
			rc = lp_raw(sb, "=", 1);
		if (!rc)
			rc = lp_name(sb, tags[i].value, &lp_tag);
	}
	return rc;
}

static enum lineproto_err
lp_field(struct strbuf *sb, const struct field *f, bool first)
{
	enum lineproto_err rc;

	if (f->key[0] == '\0')
		return LINEPROTO_ERR_EMPTY;
	rc = first ? LINEPROTO_OK : lp_raw(sb, ",", 1);
	if (!rc)
		rc = lp_name(sb, f->key, &lp_field_key);
	if (!rc)
		rc = lp_raw(sb, "=", 1);
	if (rc)
		return rc;
	switch (f->type) {
	case FIELD_FLOAT:
		return lp_float(sb, f->v.f);
	case FIELD_INT:
		return lp_int(sb, f->v.i, true);
	case FIELD_BOOL:
		return f->v.b ? lp_raw(sb, "true", 4) : lp_raw(sb, "false", 5);
	case FIELD_STRING:
		return lp_string(sb, f->v.str.s, f->v.str.len);
	}
	return LINEPROTO_ERR_EMPTY;
}

static enum lineproto_err
lp_time(struct strbuf *sb, int64_t time_ns, enum lineproto_precision prec)
{
	enum lineproto_err rc = lp_raw(sb, " ", 1);

	return rc ? rc : lp_int(sb, lineproto_time(time_ns, prec), false);
}

/* Ends a point: NUL-terminates on success, restores the buffer on failure. */
static enum lineproto_err
lp_finish(struct strbuf *sb, size_t start, enum lineproto_err rc)
{
	if (rc)
		sb->len = start;
	if (sb->buf)
		sb->buf[sb->len] = '\0';
	return rc;
}

enum lineproto_err
lineproto_reading(struct strbuf *sb, const struct reading *r,
		  enum lineproto_precision prec, size_t *series_len,
		  const char **where)
{
	size_t start = sb->len;
	const char *dummy;
	enum lineproto_err rc;

	if (!where)
		where = &dummy;
	rc = lp_measurement_tags(sb, r->measurement, r->tags, r->ntags, where);
	*series_len = sb->len - start;
	if (!rc && r->nfields == 0) {
		*where = "fields";
		rc = LINEPROTO_ERR_NO_FIELDS;
	}
	if (!rc)
		rc = lp_raw(sb, " ", 1);
	for (size_t i = 0; i < r->nfields && !rc; i++) {
		*where = r->fields[i].key;
		rc = lp_field(sb, &r->fields[i], i == 0);
	}
	if (!rc && r->has_time)
		rc = lp_time(sb, r->time_ns, prec);
	if (!rc)
		*where = NULL;
	return lp_finish(sb, start, rc);
}

/* The alert's tags plus rule, severity and status, sorted by key. */
static size_t
lp_alert_tags(const struct alert *a, struct tag *out)
{
	struct tag fixed[3] = {
		{ "rule", a->rule },
		{ "severity", severity_name(a->severity) },
		{ "status", alert_status_name(a->status) },
	};
	size_t n = 0, i = 0, j = 0;

	while (i < a->ntags || j < ARRAY_SIZE(fixed)) {
		int cmp;

		if (i == a->ntags)
			cmp = 1;
		else if (j == ARRAY_SIZE(fixed))
			cmp = -1;
		else
			cmp = strcmp(a->tags[i].key, fixed[j].key);
		if (cmp < 0) {
			out[n++] = a->tags[i++];
		} else {
			if (cmp == 0)
				i++;	/* ours wins */
			out[n++] = fixed[j++];
		}
	}
	return n;
}

enum lineproto_err
lineproto_alert(struct strbuf *sb, const struct alert *a,
		enum lineproto_precision prec, size_t *series_len,
		const char **where)
{
	struct tag tags[RECORD_MAX_TAGS + 3];
	struct field f;
	size_t start = sb->len, ntags;
	const char *dummy;
	enum lineproto_err rc;

	if (!where)
		where = &dummy;
	ntags = lp_alert_tags(a, tags);
	rc = lp_measurement_tags(sb, "alerts", tags, ntags, where);
	*series_len = sb->len - start;
	if (!rc)
		rc = lp_raw(sb, " ", 1);
	f.key = "id";
	f.type = FIELD_STRING;
	f.v.str.s = a->id;
	f.v.str.len = strlen(a->id);
	*where = "id";
	if (!rc)
		rc = lp_field(sb, &f, true);
	if (!rc && a->has_value) {
		*where = f.key = "value";
		f.type = FIELD_FLOAT;
		f.v.f = a->value;
		rc = lp_field(sb, &f, false);
	}
	if (!rc && a->has_threshold) {
		*where = f.key = "threshold";
		f.type = FIELD_FLOAT;
		f.v.f = a->threshold;
		rc = lp_field(sb, &f, false);
	}
	{
		const char *keys[] = { "message", "summary", "summary_source" };
		const char *vals[] = { a->message, a->summary,
				       a->summary_source };

		for (size_t i = 0; i < ARRAY_SIZE(keys) && !rc; i++) {
			*where = f.key = keys[i];
			f.type = FIELD_STRING;
			f.v.str.s = vals[i] ? vals[i] : "";
			f.v.str.len = strlen(f.v.str.s);
			rc = lp_field(sb, &f, false);
		}
	}
	if (!rc)
		rc = lp_time(sb, a->time_ns, prec);
	if (!rc)
		*where = NULL;
	return lp_finish(sb, start, rc);
}

const char *
lineproto_strerror(enum lineproto_err err)
{
	switch (err) {
	case LINEPROTO_OK:
		return "success";
	case LINEPROTO_ERR_NONFINITE:
		return "NaN or infinity cannot be written";
	case LINEPROTO_ERR_NEWLINE:
		return "line protocol cannot carry CR or LF in a name or tag";
	case LINEPROTO_ERR_BACKSLASH:
		return "line protocol cannot carry a backslash at the end of a name or before ',', ' ', '=' or '\"'";
	case LINEPROTO_ERR_COMMENT:
		return "a measurement starting with '#' would be read as a comment";
	case LINEPROTO_ERR_EMPTY:
		return "empty measurement or key";
	case LINEPROTO_ERR_NO_FIELDS:
		return "no fields";
	case LINEPROTO_ERR_NOMEM:
		return "out of memory or line too long";
	}
	return "unknown lineproto error";
}
