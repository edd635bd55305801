/*
 * util: growable byte buffers with a cap, clocks, and small string helpers.
 * Owns: the memory of a struct strbuf (released by strbuf_release).
 * Never logs or exits; a buffer that would pass its cap fails with -1.
 */
#ifndef SENSORPIPE_UTIL_H
#define SENSORPIPE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A byte buffer that grows up to `max` bytes (0: SIZE_MAX). buf is always
 * NUL-terminated once anything was added (the NUL is not counted in len).
 * Functions returning int give 0 on success and -1 when memory ran out
 * (errno ENOMEM) or the cap would be passed (errno E2BIG); the buffer is
 * then unchanged.
 */
struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;
};

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_release(struct strbuf *sb);
static inline void
strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}
int strbuf_grow(struct strbuf *sb, size_t extra);
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, char c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends `s` as a JSON string literal, quotes included (controls escaped). */
int strbuf_add_json_str(struct strbuf *sb, const char *s, size_t len);
/* Appends the standard base64 encoding of data. */
int strbuf_add_base64(struct strbuf *sb, const void *data, size_t len);

/* Wall clock in ns since the epoch, and a monotonic clock in ms. */
int64_t time_now_ns(void);
int64_t time_mono_ms(void);

/* True when [s, s+len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

/* Constant-time comparison of two byte strings (for tokens). */
bool secure_equal(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Formats a double in the shortest form that parses back to the same value
 * ("0.1", "1e+300", "5e-324"); a value that would read like an integer keeps
 * a float marker ("21.0", "-0.0"), so JSON and InfluxDB line protocol read it
 * back as a float. buf must hold DOUBLE_STR_MAX bytes; NUL-terminated.
 * Returns the length. Non-finite values give "NaN", "Inf", "-Inf" (callers
 * reject them).
 */
#define DOUBLE_STR_MAX 32
size_t double_format(double v, char *buf);

#endif
