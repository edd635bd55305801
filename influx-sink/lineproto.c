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
#define LP_C_END 0x20		/* '\0': the end of a name */

static const unsigned char lp_class[256] = {
	['\0'] = LP_C_END,
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

/*
 * A cursor into the strbuf: pieces are written at o, and the buffer grows
 * only when fewer than the bytes a piece may need are left before end.
 * sb->len is brought up to date by lp_sync.
 */
struct lp_w {
	struct strbuf *sb;
	char *o, *end;
};

static void
lp_sync(struct lp_w *w)
{
	if (w->sb->buf)
		w->sb->len = (size_t)(w->o - w->sb->buf);
}

static int
lp_grow(struct lp_w *w, size_t n)
{
	lp_sync(w);
	if (strbuf_grow(w->sb, n < 256 ? 256 : n))
		return -1;
	w->o = w->sb->buf + w->sb->len;
	w->end = w->sb->buf + w->sb->cap - 1;
	return 0;
}

static inline int
lp_reserve(struct lp_w *w, size_t n)
{
	if ((size_t)(w->end - w->o) >= n)
		return 0;
	return lp_grow(w, n);
}

/* Appends a name (measurement, key or tag value) escaped for pos. */
static enum lineproto_err
lp_name(struct lp_w *w, const char *s, const struct lp_pos *pos)
{
	for (;;) {
		const char *p = s;
		unsigned cl;
		size_t run;

		/* copy the run of plain bytes up to the next one to look at */
		while (!(cl = lp_class[(unsigned char)*p]))
			p++;
		run = (size_t)(p - s);
		if (lp_reserve(w, run + 2))
			return LINEPROTO_ERR_NOMEM;
		memcpy(w->o, s, run);
		w->o += run;
		if (cl & LP_C_END)
			return LINEPROTO_OK;
		if (cl & LP_C_NL)
			return LINEPROTO_ERR_NEWLINE;
		if (cl & LP_C_BS) {
			if (p[1] == '\0' ||
			    (lp_class[(unsigned char)p[1]] & pos->after_bs))
				return LINEPROTO_ERR_BACKSLASH;
		} else if (cl & pos->esc) {
			*w->o++ = '\\';
		}
		*w->o++ = *p;
		s = p + 1;
	}
}

/* Appends a string field value with its quotes. */
static enum lineproto_err
lp_string(struct lp_w *w, const char *s, size_t len)
{
	char *o;

	if (len > SIZE_MAX / 2 - 2 || lp_reserve(w, 2 * len + 2))
		return LINEPROTO_ERR_NOMEM;
	o = w->o;
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
	w->o = o;
	return LINEPROTO_OK;
}

static enum lineproto_err
lp_float(struct lp_w *w, double v)
{
	if (!isfinite(v))
		return LINEPROTO_ERR_NONFINITE;
	if (lp_reserve(w, DOUBLE_STR_MAX))
		return LINEPROTO_ERR_NOMEM;
	w->o += double_format(v, w->o);
	return LINEPROTO_OK;
}

static enum lineproto_err
lp_int(struct lp_w *w, int64_t v, bool suffix)
{
	if (lp_reserve(w, 24))
		return LINEPROTO_ERR_NOMEM;
	w->o += lineproto_i64(v, w->o);
	if (suffix)
		*w->o++ = 'i';
	return LINEPROTO_OK;
}

static enum lineproto_err
lp_raw(struct lp_w *w, const char *s, size_t len)
{
	if (lp_reserve(w, len))
		return LINEPROTO_ERR_NOMEM;
	memcpy(w->o, s, len);
	w->o += len;
	return LINEPROTO_OK;
}

static inline enum lineproto_err
lp_ch(struct lp_w *w, char c)
{
	if (w->end == w->o && lp_grow(w, 1))
		return LINEPROTO_ERR_NOMEM;
	*w->o++ = c;
	return LINEPROTO_OK;
}

static enum lineproto_err
lp_measurement_tags(struct lp_w *w, const char *measurement,
		    const struct tag *tags, size_t ntags, const char **where)
{
	enum lineproto_err rc;

	*where = "measurement";
	if (measurement[0] == '\0')
		return LINEPROTO_ERR_EMPTY;
	if (measurement[0] == '#')
		return LINEPROTO_ERR_COMMENT;
	rc = lp_name(w, measurement, &lp_measurement);
	for (size_t i = 0; i < ntags && !rc; i++) {
		if (tags[i].value[0] == '\0')
			continue;
		*where = tags[i].key;
		if (tags[i].key[0] == '\0')
			return LINEPROTO_ERR_EMPTY;
		rc = lp_ch(w, ',');
		if (!rc)
			rc = lp_name(w, tags[i].key, &lp_tag);
		if (!rc)
			rc = lp_ch(w, '=');
		if (!rc)
			rc = lp_name(w, tags[i].value, &lp_tag);
	}
	return rc;
}

static enum lineproto_err
lp_field(struct lp_w *w, const struct field *f, bool first)
{
	enum lineproto_err rc;

	if (f->key[0] == '\0')
		return LINEPROTO_ERR_EMPTY;
	rc = first ? LINEPROTO_OK : lp_ch(w, ',');
	if (!rc)
		rc = lp_name(w, f->key, &lp_field_key);
	if (!rc)
		rc = lp_ch(w, '=');
	if (rc)
		return rc;
	switch (f->type) {
	case FIELD_FLOAT:
		return lp_float(w, f->v.f);
	case FIELD_INT:
		return lp_int(w, f->v.i, true);
	case FIELD_BOOL:
		return f->v.b ? lp_raw(w, "true", 4) : lp_raw(w, "false", 5);
	case FIELD_STRING:
		return lp_string(w, f->v.str.s, f->v.str.len);
	}
	return LINEPROTO_ERR_EMPTY;
}

static enum lineproto_err
lp_time(struct lp_w *w, int64_t time_ns, enum lineproto_precision prec)
{
	enum lineproto_err rc = lp_ch(w, ' ');

	return rc ? rc : lp_int(w, lineproto_time(time_ns, prec), false);
}

static void
lp_start(struct lp_w *w, struct strbuf *sb)
{
	w->sb = sb;
	w->o = sb->buf ? sb->buf + sb->len : NULL;
	w->end = sb->buf ? sb->buf + sb->cap - 1 : NULL;
}

/* Ends a point: NUL-terminates on success, restores the buffer on failure. */
static enum lineproto_err
lp_finish(struct lp_w *w, size_t start, enum lineproto_err rc)
{
	struct strbuf *sb = w->sb;

	lp_sync(w);
	if (rc)
		sb->len = start;
	if (sb->buf)
		sb->buf[sb->len] = '\0';
	return rc;
}

static size_t
lp_len(const struct lp_w *w)
{
	return w->sb->buf ? (size_t)(w->o - w->sb->buf) : 0;
}

enum lineproto_err
lineproto_reading(struct strbuf *sb, const struct reading *r,
		  enum lineproto_precision prec, size_t *series_len,
		  const char **where)
{
	struct lp_w w;
	size_t start = sb->len;
	const char *dummy;
	enum lineproto_err rc;

	if (!where)
		where = &dummy;
	lp_start(&w, sb);
	rc = lp_measurement_tags(&w, r->measurement, r->tags, r->ntags, where);
	*series_len = lp_len(&w) - start;
	if (!rc && r->nfields == 0) {
		*where = "fields";
		rc = LINEPROTO_ERR_NO_FIELDS;
	}
	if (!rc)
		rc = lp_ch(&w, ' ');
	for (size_t i = 0; i < r->nfields && !rc; i++) {
		*where = r->fields[i].key;
		rc = lp_field(&w, &r->fields[i], i == 0);
	}
	if (!rc && r->has_time)
		rc = lp_time(&w, r->time_ns, prec);
	if (!rc)
		*where = NULL;
	return lp_finish(&w, start, rc);
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
	const char *keys[] = { "message", "summary", "summary_source" };
	const char *vals[] = { a->message, a->summary, a->summary_source };
	struct lp_w w;
	struct field f;
	size_t start = sb->len, ntags;
	const char *dummy;
	enum lineproto_err rc;

	if (!where)
		where = &dummy;
	lp_start(&w, sb);
	ntags = lp_alert_tags(a, tags);
	rc = lp_measurement_tags(&w, "alerts", tags, ntags, where);
	*series_len = lp_len(&w) - start;
	if (!rc)
		rc = lp_ch(&w, ' ');
	f.key = "id";
	f.type = FIELD_STRING;
	f.v.str.s = a->id;
	f.v.str.len = strlen(a->id);
	*where = "id";
	if (!rc)
		rc = lp_field(&w, &f, true);
	if (!rc && a->has_value) {
		*where = f.key = "value";
		f.type = FIELD_FLOAT;
		f.v.f = a->value;
		rc = lp_field(&w, &f, false);
	}
	if (!rc && a->has_threshold) {
		*where = f.key = "threshold";
		f.type = FIELD_FLOAT;
		f.v.f = a->threshold;
		rc = lp_field(&w, &f, false);
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys) && !rc; i++) {
		*where = f.key = keys[i];
		f.type = FIELD_STRING;
		f.v.str.s = vals[i] ? vals[i] : "";
		f.v.str.len = strlen(f.v.str.s);
		rc = lp_field(&w, &f, false);
	}
	if (!rc)
		rc = lp_time(&w, a->time_ns, prec);
	if (!rc)
		*where = NULL;
	return lp_finish(&w, start, rc);
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
