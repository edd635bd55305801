/*
 * util: growable byte buffers with a cap, clocks, and small string helpers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "banned.h"

void
strbuf_init(struct strbuf *sb, size_t max)
{
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->max = max ? max : SIZE_MAX;
}

void
strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
}

/*
 * Makes room for `extra` more bytes plus the NUL. The cap counts content
 * bytes only, so a buffer with max 10 holds 10 bytes and its terminator.
 */
int
strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t want, ncap;
	char *nbuf;

	if (extra > sb->max || sb->len > sb->max - extra) {
		errno = E2BIG;
		return -1;
	}
	want = sb->len + extra + 1;
	if (want <= sb->cap)
		return 0;
	ncap = sb->cap ? sb->cap : 64;
	while (ncap < want) {
		if (ncap > SIZE_MAX / 2) {
			ncap = want;
			break;
		}
		ncap *= 2;
	}
	if (sb->max != SIZE_MAX && ncap > sb->max + 1)
		ncap = sb->max + 1;
	nbuf = realloc(sb->buf, ncap);
	if (!nbuf) {
		errno = ENOMEM;
		return -1;
	}
	if (!sb->buf)
		nbuf[0] = '\0';
	sb->buf = nbuf;
	sb->cap = ncap;
	return 0;
}

int
strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	if (strbuf_grow(sb, len))
		return -1;
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

int
strbuf_addstr(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int
strbuf_addch(struct strbuf *sb, char c)
{
	if (strbuf_grow(sb, 1))
		return -1;
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
	return 0;
}

int
strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (strbuf_grow(sb, 0))
		return -1;
	room = sb->cap - sb->len;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->buf[sb->len] = '\0';
		return -1;
	}
	if ((size_t)n >= room) {
		sb->buf[sb->len] = '\0';
		if (strbuf_grow(sb, (size_t)n))
			return -1;
		va_start(ap, fmt);
		n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->buf[sb->len] = '\0';
			return -1;
		}
	}
	sb->len += (size_t)n;
	return 0;
}

/* Output bytes per input byte: 6 for \u00XX, 2 for \n and friends. */
#define ESC6_8 6, 6, 6, 6, 6, 6, 6, 6
#define ONE16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char json_out_len[256] = {
	6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2, 6, 2, 2, 6, 6,	/* \b \t \n \f \r */
	ESC6_8, ESC6_8,
	1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* '"' */
	ONE16, ONE16,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,	/* '\\' */
	ONE16,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6,	/* DEL */
	ONE16, ONE16, ONE16, ONE16, ONE16, ONE16, ONE16, ONE16,
};

/*
 * JSON string escaping: '"', '\\' and controls below 0x20 (and DEL, so logs
 * stay readable) are escaped; every other byte, UTF-8 included, is copied.
 */
int
strbuf_add_json_str(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start, need = 2;
	char *p;

	for (i = 0; i < len; i++)
		need += json_out_len[(unsigned char)s[i]];
	if (strbuf_grow(sb, need))
		return -1;
	p = sb->buf + sb->len;
	*p++ = '"';
	if (need == len + 2) {
		memcpy(p, s, len);
		p += len;
		*p++ = '"';
		*p = '\0';
		sb->len = (size_t)(p - sb->buf);
		return 0;
	}
	start = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e = 0;

		if (json_out_len[c] == 1)
			continue;
		memcpy(p, s + start, i - start);
		p += i - start;
		start = i + 1;
		switch (c) {
		case '"': e = '"'; break;
		case '\\': e = '\\'; break;
		case '\n': e = 'n'; break;
		case '\t': e = 't'; break;
		case '\r': e = 'r'; break;
		case '\b': e = 'b'; break;
		case '\f': e = 'f'; break;
		}
		*p++ = '\\';
		if (e) {
			*p++ = e;
		} else {
			*p++ = 'u';
			*p++ = '0';
			*p++ = '0';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	memcpy(p, s + start, len - start);
	p += len - start;
	*p++ = '"';
	*p = '\0';
	sb->len = (size_t)(p - sb->buf);
	return 0;
}

int
strbuf_add_base64(struct strbuf *sb, const void *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *in = data;
	size_t i, out = (len + 2) / 3 * 4;
	char *p;

	if (len > SIZE_MAX / 2 || strbuf_grow(sb, out))
		return -1;
	p = sb->buf + sb->len;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
			     in[i + 2];

		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = tab[(v >> 6) & 63];
		*p++ = tab[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	sb->len += out;
	return 0;
}

int64_t
time_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		unsigned n, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Runs over the longer length whatever the contents, so timing only
 * reveals lengths. */
bool
secure_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen > blen ? alen : blen;
	volatile unsigned char diff = alen != blen;

	for (size_t i = 0; i < n; i++) {
		unsigned char ca = i < alen ? (unsigned char)a[i] : 0;
		unsigned char cb = i < blen ? (unsigned char)b[i] : 0;

		diff |= ca ^ cb;
	}
	return diff == 0;
}

static const double util_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * Fast path for values that %g prints in fixed notation (1e-4 <= |v| <
 * 1e15), which is what sensors send. It looks for the fewest fraction
 * digits k such that an integer m < 2^53 gives m / 10^k == v. Both m and
 * 10^k are exact doubles, so that division is correctly rounded, exactly
 * as strtod rounds the decimal "m / 10^k": the text round-trips, and the
 * smallest k is the shortest fixed-notation form. Returns 0 when no k
 * works (the caller then takes the printf path).
 */
static size_t
double_format_fixed(double v, char *buf)
{
	double a = v < 0 ? -v : v;
	char digits[24];
	int n = 0, k;
	uint64_t m = 0;
	char *p = buf;

	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	for (k = 0; k <= 17; k++) {
		double scaled = a * util_pow10[k];
		double r;

		if (scaled >= 9007199254740992.0)
			return 0;
		r = __builtin_round(scaled);
		if (r / util_pow10[k] == a) {
			m = (uint64_t)r;
			break;
		}
	}
	if (k > 17)
		return 0;
	do {
		digits[n++] = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	while (n <= k)
		digits[n++] = '0';
	if (v < 0)
		*p++ = '-';
	while (n > k)
		*p++ = digits[--n];
	*p++ = '.';
	if (k == 0)
		*p++ = '0';
	while (n > 0)
		*p++ = digits[--n];
	*p = '\0';
	return (size_t)(p - buf);
}

/*
 * Shortest round trip: most sensor values ("21.53") survive %.15g, the rest
 * need 16 or 17 digits (17 always suffices for a binary64). A result that
 * reads like an integer gets ".0" so that a JSON reader keeps it a float.
 */
size_t
double_format(double v, char *buf)
{
	int n = 0;
	bool integral = true;

	if (v != v) {
		memcpy(buf, "NaN", 4);
		return 3;
	}
	if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
		if (v > 0) {
			memcpy(buf, "Inf", 4);
			return 3;
		}
		memcpy(buf, "-Inf", 5);
		return 4;
	}
	n = (int)double_format_fixed(v, buf);
	if (n > 0)
		return (size_t)n;
	/* Subnormals carry fewer digits than DBL_DIG: search from 1 (rare). */
	for (int prec = v != 0 && v > -2.2250738585072014e-308 &&
			v < 2.2250738585072014e-308 ? 1 : 15;
	     prec <= 17; prec++) {
		n = snprintf(buf, DOUBLE_STR_MAX, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	/* strtod(-0) == 0.0 compares equal, but %g keeps the sign: fine. */
	for (int i = 0; i < n; i++) {
		if (buf[i] == '.' || buf[i] == 'e') {
			integral = false;
			break;
		}
	}
	if (integral) {
		buf[n++] = '.';
		buf[n++] = '0';
		buf[n] = '\0';
	}
	return (size_t)n;
}
