/*
 * record: a strict, allocation-free (after warm-up) JSON reader that parses
 * one NDJSON line straight into a struct reading or struct alert, and the
 * writers that turn them back into compact JSON.
 *
 * Why not jansson: every stage parses every record, and building a DOM per
 * line costs several allocations per key. This reader validates the full
 * RFC 8259 grammar in one pass and copies unescaped strings into the
 * scratch arena, which is sized once per line to the line length (a JSON
 * string never unescapes to more bytes than its quoted form), so pointers
 * into it never move during a parse.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "rfc3339.h"
#include "banned.h"

/* Objects and arrays nest at most this deep (the line itself is 1). */
#define RECORD_MAX_DEPTH 32
/* Unknown keys of an alert that are tracked for duplicates. */
#define RECORD_MAX_UNKNOWN 32

enum jv_type {
	JV_NULL,
	JV_FALSE,
	JV_TRUE,
	JV_INT,
	JV_FLOAT,
	JV_STRING,
	JV_OBJECT,
	JV_ARRAY,
};

struct jv {
	enum jv_type type;
	const char *s;		/* JV_STRING: in the arena, NUL-terminated */
	size_t len;
	int64_t i;
	double f;
};

struct jp {
	const char *base;	/* start of the line, for byte positions */
	const char *p;
	const char *end;
	struct record_scratch *s;
};

static const char *
jv_type_name(enum jv_type t)
{
	switch (t) {
	case JV_NULL:
		return "null";
	case JV_FALSE:
	case JV_TRUE:
		return "a boolean";
	case JV_INT:
	case JV_FLOAT:
		return "a number";
	case JV_STRING:
		return "a string";
	case JV_OBJECT:
		return "an object";
	case JV_ARRAY:
		return "an array";
	}
	return "a value";
}

/* Length of s clipped to at most max bytes, not cutting a UTF-8 sequence. */
static int
clip(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return (int)len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

#define CLIPS(str) clip((str), strlen(str), 48), (str)

__attribute__((format(printf, 3, 4)))
static enum record_err
fail(struct jp *j, enum record_err err, const char *fmt, ...)
{
	va_list ap;

	char *d = j->s->detail;
	size_t n, i;

	va_start(ap, fmt);
	vsnprintf(d, sizeof(j->s->detail), fmt, ap);
	va_end(ap);
	/*
	 * The detail quotes keys and values from the line, and ends up in
	 * logs and the dead-letter file: controls become '?', and a UTF-8
	 * sequence cut by the buffer's end is dropped.
	 */
	n = strlen(d);
	for (i = 0; i < n; i++)
		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
			d[i] = '?';
	i = n;
	while (i > 0 && n - i < 3 && ((unsigned char)d[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && (unsigned char)d[i - 1] >= 0xc0) {
		unsigned char lead = (unsigned char)d[i - 1];
		size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

		if (n - (i - 1) < want)
			d[i - 1] = '\0';
	}
	return err;
}

/* Byte positions count from 1, as editors count columns. */
static size_t
pos(const struct jp *j, const char *at)
{
	return (size_t)(at - j->base) + 1;
}

static enum record_err
expected(struct jp *j, const char *what)
{
	if (j->p >= j->end)
		return fail(j, RECORD_ERR_JSON,
			    "byte %zu: unexpected end of line, expected %s",
			    pos(j, j->p), what);
	return fail(j, RECORD_ERR_JSON, "byte %zu: expected %s",
		    pos(j, j->p), what);
}

/*
 * The series hash (record_series_hash): per string a multiply-xor over
 * eight bytes at a time, the length folded into the last word; each tag
 * hashed on its own and the tags added, so their order does not matter and
 * the parser can hash them as they come, before sorting.
 */
#define SH_K 0x9e3779b97f4a7c15ULL

static inline uint64_t
sh_fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static inline uint64_t
sh_bytes(uint64_t h, const char *s, size_t n)
{
	uint64_t w = 0;
	size_t len = n;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * SH_K;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	w = 0;
	if (n & 4) {
		uint32_t x;

		memcpy(&x, s, 4);
		w = x;
		s += 4;
	}
	if (n & 2) {
		uint16_t x;

		memcpy(&x, s, 2);
		w |= (uint64_t)x << (n & 4) * 8;
		s += 2;
	}
	if (n & 1)
		w |= (uint64_t)(unsigned char)*s << (n & 6) * 8;
	h = (h ^ w ^ (uint64_t)len << 56) * SH_K;
	return h ^ (h >> 29);
}

static inline uint64_t
sh_measurement(const char *m, size_t mlen)
{
	return sh_fmix(sh_bytes(0x243f6a8885a308d3ULL, m, mlen));
}

static inline uint64_t
sh_tag(const char *k, size_t klen, const char *v, size_t vlen)
{
	if (vlen == 0)
		return 0;	/* empty values are not part of the series */
	return sh_fmix(sh_bytes(sh_bytes(0x13198a2e03707344ULL, k, klen), v,
				vlen));
}

static inline uint64_t
sh_final(uint64_t mh, uint64_t tsum)
{
	uint64_t h = sh_fmix(mh + tsum);

	return h ? h : 1;
}

uint64_t
record_series_hash(const char *measurement, const struct tag *tags,
		   size_t ntags)
{
	uint64_t tsum = 0;

	for (size_t i = 0; i < ntags; i++)
		tsum += sh_tag(tags[i].key, strlen(tags[i].key), tags[i].value,
			       strlen(tags[i].value));
	return sh_final(sh_measurement(measurement, strlen(measurement)),
			tsum);
}

static inline void
skip_ws(struct jp *j)
{
	const char *p = j->p, *end = j->end;

	if (p < end && (unsigned char)*p > ' ')
		return;		/* compact JSON: nothing to skip */
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
			   *p == '\r'))
		p++;
	j->p = p;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool
read_hex4(const char *p, const char *end, unsigned *out)
{
	unsigned v = 0;

	if (end - p < 4)
		return false;
	for (int k = 0; k < 4; k++) {
		int h = hexval((unsigned char)p[k]);

		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
	}
	*out = v;
	return true;
}

static char *
put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80) {
		*d++ = (char)cp;
	} else if (cp < 0x800) {
		*d++ = (char)(0xc0 | cp >> 6);
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*d++ = (char)(0xe0 | cp >> 12);
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*d++ = (char)(0xf0 | cp >> 18);
		*d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	}
	return d;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n = end - p;

	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned hi = c == 0xed ? 0x9f : 0xbf;

		return n >= 3 && p[1] >= lo && p[1] <= hi &&
		       (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned hi = c == 0xf4 ? 0x8f : 0xbf;

		return n >= 4 && p[1] >= lo && p[1] <= hi &&
		       (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* Bytes a string copies as they are: printable ASCII but '"' and '\\'. */
#define PLAIN16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char plain[256] = {
	PLAIN16(0), PLAIN16(0),
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x20: '"' */
	PLAIN16(1), PLAIN16(1),
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x50: '\\' */
	PLAIN16(1), PLAIN16(1),
	PLAIN16(0), PLAIN16(0), PLAIN16(0), PLAIN16(0),
	PLAIN16(0), PLAIN16(0), PLAIN16(0), PLAIN16(0),
};

/*
 * The bytes of w (eight string bytes, the first in the low byte) that are
 * not plain, as their top bits (SWAR): a byte below 0x20, equal to '"' or
 * '\\', or with its top bit set. A borrow only runs upwards from a byte
 * that matched, so the lowest bit set marks the first such byte exactly.
 */
static inline uint64_t
special8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
	uint64_t bad = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
		       ((b - ones) & ~b) | w;

	return bad & high;
}

/*
 * Copies the plain bytes at p (up to end or the first byte that is not) to
 * d and returns how many. Eight at a time, stored as a word: in a parse, d
 * never runs ahead of p (strings only shrink, and each consumed its two
 * quotes), so d + 8 stays within the arena's len + 2 bytes; bytes stored
 * past the first special one are overwritten or past the string's end.
 */
static inline size_t
copy_plain(const char *p, const char *end, char *d)
{
	const unsigned char *q = (const unsigned char *)p;
	const unsigned char *e = (const unsigned char *)end;
	size_t n = 0;

	while (e - q >= 8) {
		uint64_t w, sp;

		memcpy(&w, q, 8);
		memcpy(d + n, &w, 8);
		sp = special8(w);
		if (sp)
			return n + ((size_t)__builtin_ctzll(sp) >> 3);
		n += 8;
		q += 8;
	}
	while (q < e && plain[*q]) {
		d[n++] = (char)*q;
		q++;
	}
	return n;
}

/*
 * Reads the string at j->p (which is '"') into the arena. Raw bytes must be
 * valid UTF-8 without controls; escapes are decoded, surrogate pairs joined,
 * and lone surrogates and \u0000 refused.
 */
static enum record_err
parse_string(struct jp *j, const char **out, size_t *outlen)
{
	const char *open = j->p;
	const char *p = j->p + 1, *end = j->end;
	char *start = j->s->arena + j->s->arena_len, *d = start;

	for (;;) {
		unsigned char c;

		{
			size_t n = copy_plain(p, end, d);

			d += n;
			p += n;
		}
		if (p >= end) {
			j->p = p;
			return fail(j, RECORD_ERR_JSON,
				    "byte %zu: unterminated string",
				    pos(j, open));
		}
		c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c >= 0x80) {
			size_t n = utf8_seq((const unsigned char *)p,
					    (const unsigned char *)end);

			if (n == 0)
				return fail(j, RECORD_ERR_UTF8,
					    "byte %zu: invalid UTF-8",
					    pos(j, p));
			memcpy(d, p, n);
			d += n;
			p += n;
			continue;
		}
		if (c < 0x20)
			return fail(j, RECORD_ERR_JSON,
				    "byte %zu: control character in string",
				    pos(j, p));
		/* a backslash */
		if (end - p < 2)
			return fail(j, RECORD_ERR_JSON,
				    "byte %zu: unterminated string",
				    pos(j, open));
		switch (p[1]) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '/': *d++ = '/'; break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 't': *d++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;

			if (!read_hex4(p + 2, end, &cp))
				return fail(j, RECORD_ERR_JSON,
					    "byte %zu: invalid \\u escape",
					    pos(j, p));
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(j, RECORD_ERR_UTF8,
					    "byte %zu: lone surrogate \\u%04x",
					    pos(j, p), cp);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 12 || p[6] != '\\' ||
				    p[7] != 'u' ||
				    !read_hex4(p + 8, end, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return fail(j, RECORD_ERR_UTF8,
						    "byte %zu: lone surrogate "
						    "\\u%04x", pos(j, p), cp);
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
				p += 6;
			} else if (cp == 0) {
				return fail(j, RECORD_ERR_VALUE,
					    "byte %zu: \\u0000 is not allowed",
					    pos(j, p));
			}
			d = put_utf8(d, cp);
			p += 4;
			break;
		}
		default:
			return fail(j, RECORD_ERR_JSON,
				    "byte %zu: invalid escape", pos(j, p));
		}
		p += 2;
	}
	*d = '\0';
	*out = start;
	*outlen = (size_t)(d - start);
	j->s->arena_len += (size_t)(d - start) + 1;
	j->p = p + 1;
	return RECORD_OK;
}

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * A number per the JSON grammar. An integer literal that fits int64 stays
 * an int; anything else is a double. Mantissas up to 2^53 with a power of
 * ten up to 22 are exact in binary64, so one multiplication or division
 * gives the correctly rounded result (Clinger's fast path); the rest goes
 * to strtod on a bounded copy. `p1.p2` names the key in errors.
 */
static enum record_err
parse_number(struct jp *j, struct jv *v, const char *p1, const char *p2)
{
	const char *start = j->p, *p = j->p, *end = j->end;
	bool neg = false, isfloat = false;
	uint64_t mant = 0;
	int ndig = 0, fracdig = 0, exp = 0;
	bool mant_ok = true;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9') {
		j->p = p;
		return expected(j, "a digit");
	}
	if (*p == '0') {
		p++;
	} else {
		while (p < end && *p >= '0' && *p <= '9') {
			if (mant > (UINT64_MAX - 9) / 10)
				mant_ok = false;
			else
				mant = mant * 10 + (uint64_t)(*p - '0');
			ndig++;
			p++;
		}
	}
	if (p < end && *p == '.') {
		isfloat = true;
		p++;
		if (p >= end || *p < '0' || *p > '9') {
			j->p = p;
			return expected(j, "a digit after '.'");
		}
		while (p < end && *p >= '0' && *p <= '9') {
			if (mant > (UINT64_MAX - 9) / 10)
				mant_ok = false;
			else
				mant = mant * 10 + (uint64_t)(*p - '0');
			fracdig++;
			p++;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		bool eneg = false;

		isfloat = true;
		p++;
		if (p < end && (*p == '+' || *p == '-')) {
			eneg = *p == '-';
			p++;
		}
		if (p >= end || *p < '0' || *p > '9') {
			j->p = p;
			return expected(j, "a digit in the exponent");
		}
		while (p < end && *p >= '0' && *p <= '9') {
			if (exp < 100000)
				exp = exp * 10 + (*p - '0');
			p++;
		}
		if (eneg)
			exp = -exp;
	}
	j->p = p;
	if (!isfloat && mant_ok) {
		if (!neg && mant <= INT64_MAX) {
			v->type = JV_INT;
			v->i = (int64_t)mant;
			return RECORD_OK;
		}
		if (neg && mant <= (uint64_t)INT64_MAX + 1) {
			v->type = JV_INT;
			v->i = mant == (uint64_t)INT64_MAX + 1 ? INT64_MIN
							       : -(int64_t)mant;
			return RECORD_OK;
		}
	}
	v->type = JV_FLOAT;
	exp -= fracdig;
	if (mant_ok && mant <= (1ULL << 53) && exp >= -22 && exp <= 22) {
		double d = (double)mant;

		d = exp < 0 ? d / pow10_exact[-exp] : d * pow10_exact[exp];
		v->f = neg ? -d : d;
		return RECORD_OK;
	}
	{
		size_t n = (size_t)(p - start);
		char small[64], *copy = small;

		/* The arena has room: this number's bytes hold no string. */
		if (n >= sizeof(small))
			copy = j->s->arena + j->s->arena_len;
		memcpy(copy, start, n);
		copy[n] = '\0';
		v->f = strtod(copy, NULL);
	}
	if (isinf(v->f)) {
		int n = clip(start, (size_t)(p - start), 32);

		if (p1)
			return fail(j, RECORD_ERR_NUMBER,
				    "%s%s%.*s: %.*s is out of range", p1,
				    p2 ? "." : "", p2 ? clip(p2, strlen(p2), 48)
						      : 0, p2 ? p2 : "",
				    n, start);
		return fail(j, RECORD_ERR_NUMBER,
			    "byte %zu: %.*s is out of range", pos(j, start),
			    n, start);
	}
	return RECORD_OK;
}

static enum record_err
literal(struct jp *j, const char *word, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return fail(j, RECORD_ERR_JSON, "byte %zu: invalid literal",
			    pos(j, j->p));
	j->p += n;
	return RECORD_OK;
}

static enum record_err skip_container(struct jp *j, int depth);

/*
 * Any JSON value. Objects and arrays are validated and skipped (type
 * only), so a value of the wrong type is still checked as JSON first.
 * NaN and Infinity are named as such: some producers write them.
 */
static enum record_err
parse_value(struct jp *j, struct jv *v, int depth, const char *p1,
	    const char *p2)
{
	const char *at = j->p;
	const char *bad = NULL;
	enum record_err rc;

	if (at >= j->end)
		return expected(j, "a value");
	switch (*at) {
	case '"':
		v->type = JV_STRING;
		return parse_string(j, &v->s, &v->len);
	case '{':
		v->type = JV_OBJECT;
		return skip_container(j, depth + 1);
	case '[':
		v->type = JV_ARRAY;
		return skip_container(j, depth + 1);
	case 't':
		v->type = JV_TRUE;
		return literal(j, "true", 4);
	case 'f':
		v->type = JV_FALSE;
		return literal(j, "false", 5);
	case 'n':
		v->type = JV_NULL;
		return literal(j, "null", 4);
	case 'N':
		bad = "NaN";
		break;
	case 'I':
		bad = "Infinity";
		break;
	case '-':
		if (j->end - at > 1 && at[1] == 'I')
			bad = "-Infinity";
		break;
	case '+':
		bad = "a leading '+'";
		break;
	}
	if (bad) {
		if (p1)
			return fail(j, RECORD_ERR_NUMBER,
				    "%s%s%.*s: %s is not a number", p1,
				    p2 ? "." : "",
				    p2 ? clip(p2, strlen(p2), 48) : 0,
				    p2 ? p2 : "", bad);
		return fail(j, RECORD_ERR_NUMBER,
			    "byte %zu: %s is not a number", pos(j, at), bad);
	}
	if (*at == '-' || (*at >= '0' && *at <= '9')) {
		rc = parse_number(j, v, p1, p2);
		return rc;
	}
	return fail(j, RECORD_ERR_JSON, "byte %zu: unexpected character",
		    pos(j, at));
}

static enum record_err
skip_container(struct jp *j, int depth)
{
	char close = *j->p == '{' ? '}' : ']';
	bool obj = close == '}';
	struct jv v;
	enum record_err rc;

	if (depth > RECORD_MAX_DEPTH)
		return fail(j, RECORD_ERR_TOO_BIG,
			    "byte %zu: nesting deeper than %d",
			    pos(j, j->p), RECORD_MAX_DEPTH);
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return RECORD_OK;
	}
	for (;;) {
		if (obj) {
			const char *k;
			size_t klen;

			if (j->p >= j->end || *j->p != '"')
				return expected(j, "a key");
			rc = parse_string(j, &k, &klen);
			if (rc)
				return rc;
			skip_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return expected(j, "':'");
			j->p++;
			skip_ws(j);
		}
		rc = parse_value(j, &v, depth, NULL, NULL);
		if (rc)
			return rc;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			skip_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return RECORD_OK;
		}
		return expected(j, obj ? "',' or '}'" : "',' or ']'");
	}
}

/*
 * Iterates over the members of the object at j->p. Calls back per key with
 * j->p at the value; the callback must consume the value.
 */
typedef enum record_err (*member_fn)(struct jp *j, const char *key,
				     size_t klen, void *arg);

static enum record_err
parse_object(struct jp *j, member_fn fn, void *arg)
{
	enum record_err rc;

	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return RECORD_OK;
	}
	for (;;) {
		const char *k;
		size_t klen;

		if (j->p >= j->end || *j->p != '"')
			return expected(j, "a key");
		rc = parse_string(j, &k, &klen);
		if (rc)
			return rc;
		skip_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return expected(j, "':'");
		j->p++;
		skip_ws(j);
		rc = fn(j, k, klen, arg);
		if (rc)
			return rc;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			skip_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return RECORD_OK;
		}
		return expected(j, "',' or '}'");
	}
}

/* A value that must be an object: anything else is checked as JSON, then
 * refused by type. */
static enum record_err
expect_object(struct jp *j, const char *name, member_fn fn, void *arg,
	      int depth)
{
	struct jv v;
	enum record_err rc;

	if (j->p < j->end && *j->p == '{') {
		if (depth > RECORD_MAX_DEPTH)
			return fail(j, RECORD_ERR_TOO_BIG,
				    "byte %zu: nesting deeper than %d",
				    pos(j, j->p), RECORD_MAX_DEPTH);
		return parse_object(j, fn, arg);
	}
	rc = parse_value(j, &v, depth, name, NULL);
	if (rc)
		return rc;
	return fail(j, RECORD_ERR_TYPE, "%s: must be an object, not %s", name,
		    jv_type_name(v.type));
}

static enum record_err
expect_string(struct jp *j, const char *name, struct jv *v)
{
	enum record_err rc = parse_value(j, v, 1, name, NULL);

	if (rc)
		return rc;
	if (v->type != JV_STRING)
		return fail(j, RECORD_ERR_TYPE, "%s: must be a string, not %s",
			    name, jv_type_name(v->type));
	return RECORD_OK;
}

static enum record_err
parse_time(struct jp *j, const char *name, int64_t *ns)
{
	struct jv v;
	const char *why;
	enum record_err rc = expect_string(j, name, &v);
	enum rfc3339_err terr;

	if (rc)
		return rc;
	terr = rfc3339_parse_why(v.s, v.len, ns, &why);
	if (terr == RFC3339_OK)
		return RECORD_OK;
	return fail(j, RECORD_ERR_TIME, "%s: %s (%.*s: %s)", name,
		    terr == RFC3339_ERR_RANGE ? "out of range" : "not RFC 3339",
		    clip(v.s, v.len, 40), v.s, why);
}

struct tags_ctx {
	struct tag *tags;
	size_t n;
	uint64_t hsum;		/* sum of sh_tag */
};

static enum record_err
tag_member(struct jp *j, const char *key, size_t klen, void *arg)
{
	struct tags_ctx *t = arg;
	struct jv v;
	enum record_err rc;

	rc = parse_value(j, &v, 2, "tags", key);
	if (rc)
		return rc;
	if (klen == 0)
		return fail(j, RECORD_ERR_EMPTY, "tags: empty key");
	if (v.type != JV_STRING)
		return fail(j, RECORD_ERR_TYPE,
			    "tags.%.*s: must be a string, not %s", CLIPS(key),
			    jv_type_name(v.type));
	if (t->n == RECORD_MAX_TAGS)
		return fail(j, RECORD_ERR_TOO_BIG,
			    "tags: more than %d entries", RECORD_MAX_TAGS);
	t->tags[t->n].key = key;
	t->tags[t->n].value = v.s;
	t->n++;
	t->hsum += sh_tag(key, klen, v.s, v.len);
	return RECORD_OK;
}

/* Parses the tags object, sorts it and refuses equal keys; *hsum is the
 * tags' part of the series hash. */
static enum record_err
parse_tags(struct jp *j, struct tag *tags, size_t *ntags, uint64_t *hsum)
{
	struct tags_ctx t = { tags, 0, 0 };
	enum record_err rc = expect_object(j, "tags", tag_member, &t, 2);

	if (rc)
		return rc;
	if (!record_sort_tags(tags, t.n))
		for (size_t i = 1; i < t.n; i++)
			if (strcmp(tags[i - 1].key, tags[i].key) == 0)
				return fail(j, RECORD_ERR_DUPLICATE,
					    "tags: duplicate key '%.*s'",
					    CLIPS(tags[i].key));
	*ntags = t.n;
	*hsum = t.hsum;
	return RECORD_OK;
}

struct fields_ctx {
	struct field *fields;
	size_t n;
};

static enum record_err
field_member(struct jp *j, const char *key, size_t klen, void *arg)
{
	struct fields_ctx *fc = arg;
	struct field *f;
	struct jv v;
	enum record_err rc;

	rc = parse_value(j, &v, 2, "fields", key);
	if (rc)
		return rc;
	if (klen == 0)
		return fail(j, RECORD_ERR_EMPTY, "fields: empty key");
	for (size_t i = 0; i < fc->n; i++)
		if (fc->fields[i].key[0] == key[0] &&
		    strcmp(fc->fields[i].key, key) == 0)
			return fail(j, RECORD_ERR_DUPLICATE,
				    "fields: duplicate key '%.*s'",
				    CLIPS(key));
	if (fc->n == RECORD_MAX_FIELDS)
		return fail(j, RECORD_ERR_TOO_BIG,
			    "fields: more than %d entries", RECORD_MAX_FIELDS);
	f = &fc->fields[fc->n];
	f->key = key;
	switch (v.type) {
	case JV_INT:
		f->type = FIELD_INT;
		f->v.i = v.i;
		break;
	case JV_FLOAT:
		f->type = FIELD_FLOAT;
		f->v.f = v.f;
		break;
	case JV_TRUE:
	case JV_FALSE:
		f->type = FIELD_BOOL;
		f->v.b = v.type == JV_TRUE;
		break;
	case JV_STRING:
		f->type = FIELD_STRING;
		f->v.str.s = v.s;
		f->v.str.len = v.len;
		break;
	case JV_NULL:
	case JV_OBJECT:
	case JV_ARRAY:
		return fail(j, RECORD_ERR_TYPE,
			    "fields.%.*s: must be a number, boolean or string, "
			    "not %s", CLIPS(key), jv_type_name(v.type));
	}
	fc->n++;
	return RECORD_OK;
}

static enum record_err
jp_init(struct jp *j, const char *line, size_t len, struct record_scratch *s)
{
	j->base = line;
	j->p = line;
	j->end = line + len;
	j->s = s;
	s->detail[0] = '\0';
	s->arena_len = 0;
	if (len > SIZE_MAX / 4)
		return fail(j, RECORD_ERR_NOMEM, "line too long");
	if (len + 2 > s->arena_cap) {
		size_t cap = s->arena_cap ? s->arena_cap : 256;
		char *a;

		while (cap < len + 2)
			cap *= 2;
		a = realloc(s->arena, cap);
		if (!a)
			return fail(j, RECORD_ERR_NOMEM, "out of memory");
		s->arena = a;
		s->arena_cap = cap;
	}
	return RECORD_OK;
}

/* The line holds one value that is not an object, or broken JSON. */
static enum record_err
not_object(struct jp *j)
{
	struct jv v;
	enum record_err rc;

	if (j->p >= j->end)
		return fail(j, RECORD_ERR_JSON, "byte %zu: empty line",
			    pos(j, j->p));
	rc = parse_value(j, &v, 1, NULL, NULL);
	if (rc)
		return rc;
	skip_ws(j);
	if (j->p < j->end)
		return fail(j, RECORD_ERR_JSON,
			    "byte %zu: trailing characters", pos(j, j->p));
	return fail(j, RECORD_ERR_NOT_OBJECT, "not a JSON object but %s",
		    jv_type_name(v.type));
}

static enum record_err
end_of_line(struct jp *j)
{
	skip_ws(j);
	if (j->p < j->end)
		return fail(j, RECORD_ERR_JSON,
			    "byte %zu: trailing characters", pos(j, j->p));
	return RECORD_OK;
}

static bool
key_is(const char *key, size_t klen, const char *name, size_t nlen)
{
	return klen == nlen && memcmp(key, name, nlen) == 0;
}

#define KEY_IS(k, kl, lit) key_is((k), (kl), lit, sizeof(lit) - 1)

enum reading_key { RK_TIME, RK_MEASUREMENT, RK_TAGS, RK_FIELDS };

struct reading_ctx {
	struct reading *r;
	unsigned seen;
	uint64_t mhash, tsum;	/* parts of the series hash */
};

static enum record_err
reading_member(struct jp *j, const char *key, size_t klen, void *arg)
{
	struct reading_ctx *c = arg;
	struct reading *r = c->r;
	struct record_scratch *s = j->s;
	enum reading_key k;
	struct jv v;
	enum record_err rc;

	if (KEY_IS(key, klen, "time"))
		k = RK_TIME;
	else if (KEY_IS(key, klen, "measurement"))
		k = RK_MEASUREMENT;
	else if (KEY_IS(key, klen, "tags"))
		k = RK_TAGS;
	else if (KEY_IS(key, klen, "fields"))
		k = RK_FIELDS;
	else
		return fail(j, RECORD_ERR_UNKNOWN_KEY, "unknown key '%.*s'",
			    clip(key, klen, 48), key);
	if (c->seen & 1u << k)
		return fail(j, RECORD_ERR_DUPLICATE, "duplicate key '%s'", key);
	c->seen |= 1u << k;
	switch (k) {
	case RK_TIME:
		rc = parse_time(j, "time", &r->time_ns);
		r->has_time = true;
		return rc;
	case RK_MEASUREMENT:
		rc = expect_string(j, "measurement", &v);
		if (rc)
			return rc;
		if (v.len == 0)
			return fail(j, RECORD_ERR_EMPTY,
				    "measurement: must not be empty");
		r->measurement = v.s;
		c->mhash = sh_measurement(v.s, v.len);
		return RECORD_OK;
	case RK_TAGS:
		r->tags = s->tags;
		return parse_tags(j, s->tags, &r->ntags, &c->tsum);
	case RK_FIELDS: {
		struct fields_ctx fc = { s->fields, 0 };

		rc = expect_object(j, "fields", field_member, &fc, 2);
		if (rc)
			return rc;
		if (fc.n == 0)
			return fail(j, RECORD_ERR_NO_FIELDS,
				    "fields: must have at least one entry");
		r->fields = s->fields;
		r->nfields = fc.n;
		return RECORD_OK;
	}
	}
	return RECORD_OK;
}

/* ---- the fast path of readings ---- */

/* Plain bytes at p, up to end or the first byte that is not. */
static inline size_t
plain_len(const char *p, const char *end)
{
	const unsigned char *q = (const unsigned char *)p;
	const unsigned char *e = (const unsigned char *)end;
	size_t n = 0;

	while (e - q >= 8) {
		uint64_t w, sp;

		memcpy(&w, q, 8);
		sp = special8(w);
		if (sp)
			return n + ((size_t)__builtin_ctzll(sp) >> 3);
		n += 8;
		q += 8;
	}
	while (q < e && plain[*q]) {
		n++;
		q++;
	}
	return n;
}

static inline bool
fast_lit(struct jp *j, const char *lit, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

/* A string of plain bytes only, copied into the arena as parse_string
 * would copy it. */
static inline bool
fast_str(struct jp *j, const char **out, size_t *outlen)
{
	char *d = j->s->arena + j->s->arena_len;
	size_t n;

	if (j->p >= j->end || *j->p != '"')
		return false;
	n = copy_plain(j->p + 1, j->end, d);
	if (n + 1 >= (size_t)(j->end - j->p) || j->p[n + 1] != '"')
		return false;
	d[n] = '\0';
	*out = d;
	*outlen = n;
	j->s->arena_len += n + 1;
	j->p += n + 2;
	return true;
}

/*
 * The fast path of record_parse_reading, for the shape record_write_reading
 * writes: no white space but at the end, the keys time, measurement, tags
 * (optional) and fields in this order, strings of plain bytes only (no
 * escape, control or byte >= 0x80), field values numbers, booleans or
 * strings. Returns false on anything else, and the caller runs the full
 * parser on the line, which accepts it with the same result or says what
 * is wrong: the fast path never decides about an error.
 */
static bool
fast_reading(struct jp *j, struct reading *r)
{
	struct record_scratch *s = j->s;
	const char *k, *v;
	size_t n, klen, vlen;
	uint64_t mhash, tsum = 0;
	struct jv num;

	if (!fast_lit(j, "{\"time\":\"", 9))
		return false;
	n = plain_len(j->p, j->end);
	if (n >= (size_t)(j->end - j->p) || j->p[n] != '"' ||
	    rfc3339_parse(j->p, n, &r->time_ns) != RFC3339_OK)
		return false;
	j->p += n + 1;
	r->has_time = true;
	if (!fast_lit(j, ",\"measurement\":", 15) || !fast_str(j, &v, &vlen) ||
	    vlen == 0)
		return false;
	r->measurement = v;
	mhash = sh_measurement(v, vlen);
	if (fast_lit(j, ",\"tags\":{", 9) && !fast_lit(j, "}", 1)) {
		do {
			if (r->ntags == RECORD_MAX_TAGS ||
			    !fast_str(j, &k, &klen) || klen == 0 ||
			    !fast_lit(j, ":", 1) || !fast_str(j, &v, &vlen))
				return false;
			s->tags[r->ntags].key = k;
			s->tags[r->ntags].value = v;
			r->ntags++;
			tsum += sh_tag(k, klen, v, vlen);
		} while (fast_lit(j, ",", 1));
		if (!fast_lit(j, "}", 1) || !record_sort_tags(s->tags, r->ntags))
			return false;
	}
	if (!fast_lit(j, ",\"fields\":{", 11))
		return false;
	do {
		struct field *f = &s->fields[r->nfields];

		if (r->nfields == RECORD_MAX_FIELDS || !fast_str(j, &k, &klen) ||
		    klen == 0 || !fast_lit(j, ":", 1) || j->p >= j->end)
			return false;
		for (size_t i = 0; i < r->nfields; i++)
			if (s->fields[i].key[0] == k[0] &&
			    strcmp(s->fields[i].key, k) == 0)
				return false;
		f->key = k;
		if (*j->p == '"') {
			f->type = FIELD_STRING;
			if (!fast_str(j, &f->v.str.s, &f->v.str.len))
				return false;
		} else if (fast_lit(j, "true", 4)) {
			f->type = FIELD_BOOL;
			f->v.b = true;
		} else if (fast_lit(j, "false", 5)) {
			f->type = FIELD_BOOL;
			f->v.b = false;
		} else if ((*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) &&
			   parse_number(j, &num, NULL, NULL) == RECORD_OK) {
			if (num.type == JV_INT) {
				f->type = FIELD_INT;
				f->v.i = num.i;
			} else {
				f->type = FIELD_FLOAT;
				f->v.f = num.f;
			}
		} else {
			return false;
		}
		r->nfields++;
	} while (fast_lit(j, ",", 1));
	if (!fast_lit(j, "}}", 2))
		return false;
	skip_ws(j);
	if (j->p != j->end)
		return false;
	r->series_hash = sh_final(mhash, tsum);
	return true;
}

enum record_err
record_parse_reading(struct reading *r, const char *line, size_t len,
		     struct record_scratch *s)
{
	static const char *const names[] = {
		"time", "measurement", "tags", "fields"
	};
	struct reading_ctx c = { r, 0, 0, 0 };
	struct jp j;
	enum record_err rc;

	rc = jp_init(&j, line, len, s);
	if (rc)
		return rc;
	memset(r, 0, sizeof(*r));
	r->tags = s->tags;
	r->fields = s->fields;
	if (fast_reading(&j, r))
		return RECORD_OK;
	/* the full parser, from the start */
	j.p = line;
	s->arena_len = 0;
	s->detail[0] = '\0';
	memset(r, 0, sizeof(*r));
	r->tags = s->tags;
	r->fields = s->fields;
	skip_ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return not_object(&j);
	rc = parse_object(&j, reading_member, &c);
	if (rc)
		return rc;
	rc = end_of_line(&j);
	if (rc)
		return rc;
	for (unsigned k = 0; k < ARRAY_SIZE(names); k++)
		if (k != RK_TAGS && !(c.seen & 1u << k))
			return fail(&j, RECORD_ERR_MISSING,
				    "missing key '%s'", names[k]);
	r->series_hash = sh_final(c.mhash, c.tsum);
	return RECORD_OK;
}

enum alert_key {
	AK_ID, AK_EVENT_ID, AK_EVENT, AK_STATUS, AK_RULE, AK_SEVERITY,
	AK_MEASUREMENT, AK_FIELD, AK_TAGS, AK_VALUE, AK_THRESHOLD,
	AK_STARTED_AT, AK_TIME, AK_MESSAGE, AK_SUMMARY, AK_SUMMARY_SOURCE,
	AK_COUNT
};

static const char *const alert_keys[AK_COUNT] = {
	"id", "event_id", "event", "status", "rule", "severity",
	"measurement", "field", "tags", "value", "threshold", "started_at",
	"time", "message", "summary", "summary_source",
};

struct alert_ctx {
	struct alert *a;
	unsigned seen;
	const char *unknown[RECORD_MAX_UNKNOWN];
	size_t nunknown;
};

static bool
uuid_copy(char *dst, const char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (hexval((unsigned char)c) < 0) {
			return false;
		} else if (c >= 'A' && c <= 'F') {
			c = (char)(c | 0x20);
		}
		dst[i] = c;
	}
	dst[36] = '\0';
	return true;
}

/* Refuses a second occurrence of a key the alert format does not know. */
static enum record_err
alert_unknown(struct jp *j, struct alert_ctx *c, const char *key)
{
	struct jv v;

	for (size_t i = 0; i < c->nunknown; i++)
		if (strcmp(c->unknown[i], key) == 0)
			return fail(j, RECORD_ERR_DUPLICATE,
				    "duplicate key '%.*s'", CLIPS(key));
	if (c->nunknown == RECORD_MAX_UNKNOWN)
		return fail(j, RECORD_ERR_TOO_BIG,
			    "more than %d unknown keys", RECORD_MAX_UNKNOWN);
	c->unknown[c->nunknown++] = key;
	return parse_value(j, &v, 1, key, NULL);
}

static enum record_err
alert_number(struct jp *j, const char *name, bool *has, double *out)
{
	struct jv v;
	enum record_err rc = parse_value(j, &v, 1, name, NULL);

	if (rc)
		return rc;
	*has = true;
	switch (v.type) {
	case JV_INT:
		*out = (double)v.i;
		return RECORD_OK;
	case JV_FLOAT:
		*out = v.f;
		return RECORD_OK;
	case JV_NULL:
		*has = false;
		*out = 0;
		return RECORD_OK;
	case JV_FALSE:
	case JV_TRUE:
	case JV_STRING:
	case JV_OBJECT:
	case JV_ARRAY:
		break;
	}
	return fail(j, RECORD_ERR_TYPE, "%s: must be a number or null, not %s",
		    name, jv_type_name(v.type));
}

static int
name_index(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static const char *const kind_names[] = { "fired", "resolved", "summarized" };
static const char *const status_names[] = { "firing", "resolved" };
static const char *const severity_names[] = { "info", "warning", "critical" };

static enum record_err
alert_member(struct jp *j, const char *key, size_t klen, void *arg)
{
	struct alert_ctx *c = arg;
	struct alert *a = c->a;
	int k = -1, idx;
	struct jv v;
	enum record_err rc;

	for (int i = 0; i < AK_COUNT; i++) {
		if (strlen(alert_keys[i]) == klen &&
		    memcmp(alert_keys[i], key, klen) == 0) {
			k = i;
			break;
		}
	}
	if (k < 0)
		return alert_unknown(j, c, key);
	if (c->seen & 1u << k)
		return fail(j, RECORD_ERR_DUPLICATE, "duplicate key '%s'", key);
	c->seen |= 1u << k;
	switch ((enum alert_key)k) {
	case AK_TAGS: {
		uint64_t hsum;	/* alerts carry no series hash */

		a->tags = j->s->tags;
		return parse_tags(j, j->s->tags, &a->ntags, &hsum);
	}
	case AK_VALUE:
		return alert_number(j, "value", &a->has_value, &a->value);
	case AK_THRESHOLD:
		return alert_number(j, "threshold", &a->has_threshold,
				    &a->threshold);
	case AK_STARTED_AT:
		return parse_time(j, "started_at", &a->started_at_ns);
	case AK_TIME:
		return parse_time(j, "time", &a->time_ns);
	case AK_ID:
	case AK_EVENT_ID:
	case AK_EVENT:
	case AK_STATUS:
	case AK_RULE:
	case AK_SEVERITY:
	case AK_MEASUREMENT:
	case AK_FIELD:
	case AK_MESSAGE:
	case AK_SUMMARY:
	case AK_SUMMARY_SOURCE:
	case AK_COUNT:
		break;
	}
	rc = expect_string(j, alert_keys[k], &v);
	if (rc)
		return rc;
	switch ((enum alert_key)k) {
	case AK_ID:
	case AK_EVENT_ID:
		if (!uuid_copy(k == AK_ID ? a->id : a->event_id, v.s, v.len))
			return fail(j, RECORD_ERR_VALUE,
				    "%s: not a UUID ('%.*s')", alert_keys[k],
				    clip(v.s, v.len, 40), v.s);
		return RECORD_OK;
	case AK_EVENT:
		idx = name_index(v.s, kind_names, ARRAY_SIZE(kind_names));
		if (idx < 0)
			return fail(j, RECORD_ERR_VALUE,
				    "event: must be fired, resolved or "
				    "summarized, not '%.*s'",
				    clip(v.s, v.len, 40), v.s);
		a->event = (enum alert_kind)idx;
		return RECORD_OK;
	case AK_STATUS:
		idx = name_index(v.s, status_names, ARRAY_SIZE(status_names));
		if (idx < 0)
			return fail(j, RECORD_ERR_VALUE,
				    "status: must be firing or resolved, "
				    "not '%.*s'", clip(v.s, v.len, 40), v.s);
		a->status = (enum alert_status)idx;
		return RECORD_OK;
	case AK_SEVERITY:
		if (severity_parse(v.s, &a->severity))
			return fail(j, RECORD_ERR_VALUE,
				    "severity: must be info, warning or "
				    "critical, not '%.*s'",
				    clip(v.s, v.len, 40), v.s);
		return RECORD_OK;
	case AK_RULE:
		if (v.len == 0)
			return fail(j, RECORD_ERR_EMPTY,
				    "rule: must not be empty");
		a->rule = v.s;
		return RECORD_OK;
	case AK_MEASUREMENT:
		a->measurement = v.s;
		return RECORD_OK;
	case AK_FIELD:
		a->field = v.s;
		return RECORD_OK;
	case AK_MESSAGE:
		a->message = v.s;
		return RECORD_OK;
	case AK_SUMMARY:
		a->summary = v.s;
		return RECORD_OK;
	case AK_SUMMARY_SOURCE:
		a->summary_source = v.s;
		return RECORD_OK;
	case AK_TAGS:
	case AK_VALUE:
	case AK_THRESHOLD:
	case AK_STARTED_AT:
	case AK_TIME:
	case AK_COUNT:
		break;
	}
	return RECORD_OK;
}

enum record_err
record_parse_alert(struct alert *a, const char *line, size_t len,
		   struct record_scratch *s)
{
	struct alert_ctx c;
	struct jp j;
	enum record_err rc;

	rc = jp_init(&j, line, len, s);
	if (rc)
		return rc;
	memset(a, 0, sizeof(*a));
	memset(&c, 0, sizeof(c));
	c.a = a;
	a->tags = s->tags;
	skip_ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return not_object(&j);
	rc = parse_object(&j, alert_member, &c);
	if (rc)
		return rc;
	rc = end_of_line(&j);
	if (rc)
		return rc;
	for (unsigned k = 0; k < AK_COUNT; k++)
		if (k != AK_TAGS && !(c.seen & 1u << k))
			return fail(&j, RECORD_ERR_MISSING, "missing key '%s'",
				    alert_keys[k]);
	return RECORD_OK;
}

void
record_scratch_init(struct record_scratch *s)
{
	s->arena = NULL;
	s->arena_len = 0;
	s->arena_cap = 0;
	s->detail[0] = '\0';
}

void
record_scratch_release(struct record_scratch *s)
{
	free(s->arena);
	s->arena = NULL;
	s->arena_len = 0;
	s->arena_cap = 0;
}

/* Insertion sort: tag sets are small, and it is stable. */
bool
record_sort_tags(struct tag *tags, size_t n)
{
	bool unique = true;

	for (size_t i = 1; i < n; i++) {
		struct tag t = tags[i];
		size_t k = i;
		int cmp = 1;

		while (k > 0) {
			cmp = strcmp(tags[k - 1].key, t.key);
			if (cmp <= 0)
				break;
			tags[k] = tags[k - 1];
			k--;
		}
		if (k > 0 && cmp == 0)
			unique = false;
		tags[k] = t;
	}
	return unique;
}

static int
add_lit(struct strbuf *out, const char *lit, size_t n)
{
	return strbuf_add(out, lit, n);
}

#define ADD_LIT(out, lit) add_lit((out), lit, sizeof(lit) - 1)

static int
add_str(struct strbuf *out, const char *s)
{
	if (!s)
		s = "";
	return strbuf_add_json_str(out, s, strlen(s));
}

static int
add_time(struct strbuf *out, int64_t ns)
{
	char buf[RFC3339_MAX + 2];
	size_t n;

	buf[0] = '"';
	n = rfc3339_format(ns, buf + 1);
	buf[n + 1] = '"';
	return strbuf_add(out, buf, n + 2);
}

static int
add_double(struct strbuf *out, double d)
{
	char buf[DOUBLE_STR_MAX];
	size_t n;

	if (!isfinite(d)) {
		errno = EDOM;
		return -1;
	}
	n = double_format(d, buf);
	return strbuf_add(out, buf, n);
}

static int
add_tags(struct strbuf *out, const struct tag *tags, size_t n)
{
	if (ADD_LIT(out, "{"))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((i && ADD_LIT(out, ",")) || add_str(out, tags[i].key) ||
		    ADD_LIT(out, ":") || add_str(out, tags[i].value))
			return -1;
	}
	return ADD_LIT(out, "}");
}

static int
add_field(struct strbuf *out, const struct field *f)
{
	char buf[24];
	int n;

	if (add_str(out, f->key) || ADD_LIT(out, ":"))
		return -1;
	switch (f->type) {
	case FIELD_FLOAT:
		return add_double(out, f->v.f);
	case FIELD_INT:
		n = snprintf(buf, sizeof(buf), "%lld", (long long)f->v.i);
		return strbuf_add(out, buf, (size_t)n);
	case FIELD_BOOL:
		return f->v.b ? ADD_LIT(out, "true") : ADD_LIT(out, "false");
	case FIELD_STRING:
		return strbuf_add_json_str(out, f->v.str.s, f->v.str.len);
	}
	errno = EINVAL;
	return -1;
}

int
record_write_reading(const struct reading *r, struct strbuf *out)
{
	size_t mark = out->len;
	int saved;

	if (!r->has_time) {
		errno = EINVAL;
		goto fail;
	}
	if (ADD_LIT(out, "{\"time\":") || add_time(out, r->time_ns) ||
	    ADD_LIT(out, ",\"measurement\":") || add_str(out, r->measurement) ||
	    ADD_LIT(out, ",\"tags\":") || add_tags(out, r->tags, r->ntags) ||
	    ADD_LIT(out, ",\"fields\":{"))
		goto fail;
	for (size_t i = 0; i < r->nfields; i++)
		if ((i && ADD_LIT(out, ",")) || add_field(out, &r->fields[i]))
			goto fail;
	if (ADD_LIT(out, "}}"))
		goto fail;
	return 0;
fail:
	saved = errno;
	out->len = mark;
	if (out->buf)
		out->buf[mark] = '\0';
	errno = saved;
	return -1;
}

static int
add_opt_double(struct strbuf *out, bool has, double d)
{
	return has ? add_double(out, d) : ADD_LIT(out, "null");
}

int
record_write_alert(const struct alert *a, struct strbuf *out)
{
	size_t mark = out->len;
	int saved;

	if (ADD_LIT(out, "{\"id\":") || add_str(out, a->id) ||
	    ADD_LIT(out, ",\"event_id\":") || add_str(out, a->event_id) ||
	    ADD_LIT(out, ",\"event\":") ||
	    add_str(out, alert_kind_name(a->event)) ||
	    ADD_LIT(out, ",\"status\":") ||
	    add_str(out, alert_status_name(a->status)) ||
	    ADD_LIT(out, ",\"rule\":") || add_str(out, a->rule) ||
	    ADD_LIT(out, ",\"severity\":") ||
	    add_str(out, severity_name(a->severity)) ||
	    ADD_LIT(out, ",\"measurement\":") || add_str(out, a->measurement) ||
	    ADD_LIT(out, ",\"field\":") || add_str(out, a->field) ||
	    ADD_LIT(out, ",\"tags\":") || add_tags(out, a->tags, a->ntags) ||
	    ADD_LIT(out, ",\"value\":") ||
	    add_opt_double(out, a->has_value, a->value) ||
	    ADD_LIT(out, ",\"threshold\":") ||
	    add_opt_double(out, a->has_threshold, a->threshold) ||
	    ADD_LIT(out, ",\"started_at\":") ||
	    add_time(out, a->started_at_ns) ||
	    ADD_LIT(out, ",\"time\":") || add_time(out, a->time_ns) ||
	    ADD_LIT(out, ",\"message\":") || add_str(out, a->message) ||
	    ADD_LIT(out, ",\"summary\":") || add_str(out, a->summary) ||
	    ADD_LIT(out, ",\"summary_source\":") ||
	    add_str(out, a->summary_source) || ADD_LIT(out, "}"))
		goto fail;
	return 0;
fail:
	saved = errno;
	out->len = mark;
	if (out->buf)
		out->buf[mark] = '\0';
	errno = saved;
	return -1;
}

/*
 * The series key escapes ',', '=', ' ' and '\\' with a backslash so that
 * two different tag sets never give the same key; tags with an empty value
 * are left out, as InfluxDB leaves them out of the series.
 */
static int
add_key_part(struct strbuf *out, const char *s, const char *special)
{
	for (const char *p = s; *p; p++) {
		if (strchr(special, *p) && strbuf_addch(out, '\\'))
			return -1;
		if (strbuf_addch(out, *p))
			return -1;
	}
	return 0;
}

int
record_series_key(const char *measurement, const struct tag *tags,
		  size_t ntags, struct strbuf *out)
{
	size_t mark = out->len;

	if (add_key_part(out, measurement, ", \\"))
		goto fail;
	for (size_t i = 0; i < ntags; i++) {
		if (!tags[i].value[0])
			continue;
		if (strbuf_addch(out, ',') ||
		    add_key_part(out, tags[i].key, ",= \\") ||
		    strbuf_addch(out, '=') ||
		    add_key_part(out, tags[i].value, ",= \\"))
			goto fail;
	}
	if (strbuf_grow(out, 0))
		goto fail;
	out->buf[out->len] = '\0';
	return 0;
fail:
	out->len = mark;
	if (out->buf)
		out->buf[mark] = '\0';
	return -1;
}

const char *
alert_kind_name(enum alert_kind k)
{
	switch (k) {
	case ALERT_FIRED:
		return "fired";
	case ALERT_RESOLVED:
		return "resolved";
	case ALERT_SUMMARIZED:
		return "summarized";
	}
	return "unknown";
}

const char *
alert_status_name(enum alert_status s)
{
	switch (s) {
	case ALERT_FIRING:
		return "firing";
	case ALERT_STATUS_RESOLVED:
		return "resolved";
	}
	return "unknown";
}

const char *
severity_name(enum severity s)
{
	switch (s) {
	case SEVERITY_INFO:
		return "info";
	case SEVERITY_WARNING:
		return "warning";
	case SEVERITY_CRITICAL:
		return "critical";
	}
	return "unknown";
}

int
severity_parse(const char *name, enum severity *out)
{
	int i = name_index(name, severity_names, ARRAY_SIZE(severity_names));

	if (i < 0)
		return -1;
	*out = (enum severity)i;
	return 0;
}

const char *
record_strerror(enum record_err err)
{
	switch (err) {
	case RECORD_OK:
		return "success";
	case RECORD_ERR_JSON:
		return "invalid JSON";
	case RECORD_ERR_UTF8:
		return "invalid UTF-8";
	case RECORD_ERR_NOT_OBJECT:
		return "not a JSON object";
	case RECORD_ERR_MISSING:
		return "missing key";
	case RECORD_ERR_TYPE:
		return "wrong type";
	case RECORD_ERR_EMPTY:
		return "empty value";
	case RECORD_ERR_TIME:
		return "bad time";
	case RECORD_ERR_NUMBER:
		return "bad number";
	case RECORD_ERR_NO_FIELDS:
		return "no fields";
	case RECORD_ERR_UNKNOWN_KEY:
		return "unknown key";
	case RECORD_ERR_DUPLICATE:
		return "duplicate key";
	case RECORD_ERR_VALUE:
		return "value not allowed";
	case RECORD_ERR_TOO_BIG:
		return "too many entries or too deep";
	case RECORD_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown record error";
}
