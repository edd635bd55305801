/*
 * test_record: readings and alert events through the strict JSON reader
 * and back: exact round trips (Unicode, escapes, int64 extremes, 2^53+1,
 * shortest floats), every rejection reason with its exact detail text,
 * alert parse/write, tag sorting, series keys, scratch reuse.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "record.h"
#include "banned.h"

#define T "\"time\":\"2026-11-26T04:00:00Z\""
#define M "\"measurement\":\"env\""
#define F "\"fields\":{\"t\":1}"
#define PRE "{" T "," M ","

/* A reading line and the line record_write_reading must give back. */
static const struct {
	const char *in;
	const char *out;
} roundtrips[] = {
	/* DESIGN.md's example is already canonical */
	{ "{\"time\":\"2026-11-26T04:00:00.123Z\",\"measurement\":\"env\","
	  "\"tags\":{\"sensor_id\":\"s-0042\",\"site\":\"a\"},"
	  "\"fields\":{\"temperature\":21.53,\"humidity\":40.1}}",
	  "{\"time\":\"2026-11-26T04:00:00.123Z\",\"measurement\":\"env\","
	  "\"tags\":{\"sensor_id\":\"s-0042\",\"site\":\"a\"},"
	  "\"fields\":{\"temperature\":21.53,\"humidity\":40.1}}" },
	/* key order, white space, offsets, tag sorting, no tags */
	{ " {\"fields\" : {\"x\" : 1} ,\n\"measurement\":\"m\",\t"
	  "\"time\":\"2026-11-26T13:00:00.500+09:00\"}\r\n ",
	  "{\"time\":\"2026-11-26T04:00:00.5Z\",\"measurement\":\"m\","
	  "\"tags\":{},\"fields\":{\"x\":1}}" },
	{ "{" T "," M ",\"tags\":{\"z\":\"1\",\"a\":\"2\",\"m\":\"\"},"
	  "\"fields\":{\"b\":true,\"a\":false}}",
	  "{" T "," M ",\"tags\":{\"a\":\"2\",\"m\":\"\",\"z\":\"1\"},"
	  "\"fields\":{\"b\":true,\"a\":false}}" },
	/* integers stay integers, exactly */
	{ PRE "\"fields\":{\"a\":9007199254740993,"
	  "\"min\":-9223372036854775808,\"max\":9223372036854775807,"
	  "\"z\":0,\"n\":-1}}",
	  PRE "\"tags\":{},\"fields\":{\"a\":9007199254740993,"
	  "\"min\":-9223372036854775808,\"max\":9223372036854775807,"
	  "\"z\":0,\"n\":-1}}" },
	/* out of int64: a double */
	{ PRE "\"fields\":{\"a\":9223372036854775808,"
	  "\"b\":-9223372036854775809}}",
	  PRE "\"tags\":{},\"fields\":{\"a\":9.223372036854776e+18,"
	  "\"b\":-9.223372036854776e+18}}" },
	/* floats: shortest round trip with a float marker */
	{ PRE "\"fields\":{\"a\":-0.0,\"b\":1e308,\"c\":5e-324,\"d\":0.1,"
	  "\"e\":1e-300,\"f\":1.0,\"g\":21.530,\"h\":1E2,\"i\":-0,"
	  "\"j\":0.30000000000000004,\"k\":1.7976931348623157e308,"
	  "\"l\":2.5e-1,\"m\":1e-400}}",
	  PRE "\"tags\":{},\"fields\":{\"a\":-0.0,\"b\":1e+308,"
	  "\"c\":5e-324,\"d\":0.1,\"e\":1e-300,\"f\":1.0,\"g\":21.53,"
	  "\"h\":100.0,\"i\":0,\"j\":0.30000000000000004,"
	  "\"k\":1.7976931348623157e+308,\"l\":0.25,\"m\":0.0}}" },
	/* a long mantissa goes through strtod */
	{ PRE "\"fields\":{\"a\":3.14159265358979323846264338327950288419716939"
	  "93751058209749445923078164062862089986280348253421170679}}",
	  PRE "\"tags\":{},\"fields\":{\"a\":3.141592653589793}}" },
	/* strings: Unicode raw, every escape, \u sequences decoded */
	{ PRE "\"tags\":{\"s\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"},"
	  "\"fields\":{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\u20AC \\u0041\"}}",
	  PRE "\"tags\":{\"s\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"},"
	  "\"fields\":{\"s\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac A\"}}" },
	{ PRE "\"fields\":{\"e\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t "
	  "\\u0001 \\u001f \\u007f\"}}",
	  PRE "\"tags\":{},\"fields\":{\"e\":\"\\\" \\\\ / \\b \\f \\n \\r "
	  "\\t \\u0001 \\u001f \\u007f\"}}" },
	{ PRE "\"fields\":{\"\":1,\"empty\":\"\"}}", NULL },
	{ PRE "\"fields\":{\"empty\":\"\",\"u\":\"\\uFFFF\\uDBFF\\uDFFF\"}}",
	  PRE "\"tags\":{},\"fields\":{\"empty\":\"\","
	  "\"u\":\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}}" },
	/* time normalisation */
	{ "{\"time\":\"1969-12-31t23:59:59.000000001z\"," M "," F "}",
	  "{\"time\":\"1969-12-31T23:59:59.000000001Z\"," M
	  ",\"tags\":{}," F "}" },
	{ "{\"time\":\"2026-11-26T04:00:00.120000000-00:30\"," M "," F "}",
	  "{\"time\":\"2026-11-26T04:30:00.12Z\"," M ",\"tags\":{}," F "}" },
};

static void
test_roundtrips(void)
{
	struct record_scratch s;
	struct strbuf out;
	struct reading r;

	record_scratch_init(&s);
	strbuf_init(&out, 0);
	for (size_t i = 0; i < ARRAY_SIZE(roundtrips); i++) {
		const char *in = roundtrips[i].in;
		enum record_err rc;

		rc = record_parse_reading(&r, in, strlen(in), &s);
		if (!roundtrips[i].out) {
			CU_ASSERT_EQUAL(rc, RECORD_ERR_EMPTY);
			continue;
		}
		CU_ASSERT_EQUAL(rc, RECORD_OK);
		if (rc) {
			fprintf(stderr, "roundtrip %zu: %s\n", i, s.detail);
			continue;
		}
		strbuf_reset(&out);
		CU_ASSERT_EQUAL(record_write_reading(&r, &out), 0);
		CU_ASSERT_STRING_EQUAL(out.buf, roundtrips[i].out);
		if (strcmp(out.buf, roundtrips[i].out) != 0)
			fprintf(stderr, "roundtrip %zu:\n got  %s\n want %s\n",
				i, out.buf, roundtrips[i].out);
		/* the output is a fixed point */
		{
			char *copy = strdup(out.buf);
			size_t n = out.len;

			CU_ASSERT_EQUAL(record_parse_reading(&r, copy, n, &s),
					RECORD_OK);
			strbuf_reset(&out);
			CU_ASSERT_EQUAL(record_write_reading(&r, &out), 0);
			CU_ASSERT_STRING_EQUAL(out.buf, copy);
			free(copy);
		}
	}
	strbuf_release(&out);
	record_scratch_release(&s);
}

/* Values and types, not just text. */
static void
test_values(void)
{
	static const char line[] = PRE "\"tags\":{\"b\":\"2\",\"a\":\"1\"},"
		"\"fields\":{\"i\":9007199254740993,\"f\":-0.0,\"g\":5e-324,"
		"\"b\":true,\"s\":\"x\\u0041y\",\"t\":1.0}}";
	struct record_scratch s;
	struct reading r;
	double negzero = -0.0, tiny = 5e-324;

	record_scratch_init(&s);
	CU_ASSERT_EQUAL_FATAL(record_parse_reading(&r, line, strlen(line), &s),
			      RECORD_OK);
	CU_ASSERT_TRUE(r.has_time);
	CU_ASSERT_EQUAL(r.time_ns, 1795665600LL * 1000000000LL);
	CU_ASSERT_STRING_EQUAL(r.measurement, "env");
	CU_ASSERT_EQUAL_FATAL(r.ntags, 2);
	CU_ASSERT_STRING_EQUAL(r.tags[0].key, "a");
	CU_ASSERT_STRING_EQUAL(r.tags[1].value, "2");
	CU_ASSERT_EQUAL_FATAL(r.nfields, 6);
	CU_ASSERT_EQUAL(r.fields[0].type, FIELD_INT);
	CU_ASSERT_EQUAL(r.fields[0].v.i, 9007199254740993LL);
	CU_ASSERT_EQUAL(r.fields[1].type, FIELD_FLOAT);
	CU_ASSERT_EQUAL(memcmp(&r.fields[1].v.f, &negzero, sizeof(double)), 0);
	CU_ASSERT_EQUAL(memcmp(&r.fields[2].v.f, &tiny, sizeof(double)), 0);
	CU_ASSERT_EQUAL(r.fields[3].type, FIELD_BOOL);
	CU_ASSERT_TRUE(r.fields[3].v.b);
	CU_ASSERT_EQUAL(r.fields[4].type, FIELD_STRING);
	CU_ASSERT_STRING_EQUAL(r.fields[4].v.str.s, "xAy");
	CU_ASSERT_EQUAL(r.fields[4].v.str.len, 3);
	CU_ASSERT_EQUAL(r.fields[5].type, FIELD_FLOAT);
	CU_ASSERT_EQUAL(r.fields[5].v.f, 1.0);
	record_scratch_release(&s);
}

/* Random doubles through write and parse keep their bits. */
static void
test_float_bits(void)
{
	struct record_scratch s;
	struct strbuf out;
	struct reading r, back;
	struct field f;
	uint64_t x = 0x2545F4914F6CDD1DULL;
	int bad = 0;

	record_scratch_init(&s);
	strbuf_init(&out, 0);
	memset(&r, 0, sizeof(r));
	r.has_time = true;
	r.measurement = "m";
	r.fields = &f;
	r.nfields = 1;
	f.key = "v";
	f.type = FIELD_FLOAT;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(&f.v.f, &x, sizeof(double));
		if (!isfinite(f.v.f))
			continue;
		strbuf_reset(&out);
		if (record_write_reading(&r, &out) ||
		    record_parse_reading(&back, out.buf, out.len, &s) ||
		    back.fields[0].type != FIELD_FLOAT ||
		    memcmp(&back.fields[0].v.f, &f.v.f, sizeof(double)))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* non-finite floats are refused on output, out left as it was */
	strbuf_reset(&out);
	strbuf_addstr(&out, "keep");
	f.v.f = NAN;
	errno = 0;
	CU_ASSERT_EQUAL(record_write_reading(&r, &out), -1);
	CU_ASSERT_EQUAL(errno, EDOM);
	CU_ASSERT_STRING_EQUAL(out.buf, "keep");
	f.v.f = 1;
	r.has_time = false;
	CU_ASSERT_EQUAL(record_write_reading(&r, &out), -1);
	CU_ASSERT_STRING_EQUAL(out.buf, "keep");
	strbuf_release(&out);
	record_scratch_release(&s);
}

static const struct {
	const char *in;
	size_t len;		/* 0: strlen */
	enum record_err err;
	const char *detail;
} invalid[] = {
	/* not JSON, at various places */
	{ "", 0, RECORD_ERR_JSON, "byte 1: empty line" },
	{ "   ", 0, RECORD_ERR_JSON, "byte 4: empty line" },
	{ "{", 0, RECORD_ERR_JSON,
	  "byte 2: unexpected end of line, expected a key" },
	{ "{\"time\"", 0, RECORD_ERR_JSON,
	  "byte 8: unexpected end of line, expected ':'" },
	{ "{\"time\" \"x\"}", 0, RECORD_ERR_JSON, "byte 9: expected ':'" },
	{ "{" T " " M "}", 0, RECORD_ERR_JSON,
	  "byte 32: expected ',' or '}'" },
	{ "{" T ",}", 0, RECORD_ERR_JSON, "byte 32: expected a key" },
	{ "{'time':1}", 0, RECORD_ERR_JSON, "byte 2: expected a key" },
	{ "{\"time", 0, RECORD_ERR_JSON, "byte 2: unterminated string" },
	{ PRE F "}x", 0, RECORD_ERR_JSON, "byte 69: trailing characters" },
	{ PRE F "}{}", 0, RECORD_ERR_JSON, "byte 69: trailing characters" },
	{ PRE "\"fields\":{\"t\":01}}", 0, RECORD_ERR_JSON,
	  "byte 67: expected ',' or '}'" },
	{ PRE "\"fields\":{\"t\":1.}}", 0, RECORD_ERR_JSON,
	  "byte 68: expected a digit after '.'" },
	{ PRE "\"fields\":{\"t\":.5}}", 0, RECORD_ERR_JSON,
	  "byte 66: unexpected character" },
	{ PRE "\"fields\":{\"t\":1e}}", 0, RECORD_ERR_JSON,
	  "byte 68: expected a digit in the exponent" },
	{ PRE "\"fields\":{\"t\":-}}", 0, RECORD_ERR_JSON,
	  "byte 67: expected a digit" },
	{ PRE "\"fields\":{\"t\":tru}}", 0, RECORD_ERR_JSON,
	  "byte 66: invalid literal" },
	{ PRE "\"fields\":{\"t\":\"a\\x\"}}", 0, RECORD_ERR_JSON,
	  "byte 68: invalid escape" },
	{ PRE "\"fields\":{\"t\":\"\\u12G4\"}}", 0, RECORD_ERR_JSON,
	  "byte 67: invalid \\u escape" },
	{ PRE "\"fields\":{\"t\":\"a\tb\"}}", 0, RECORD_ERR_JSON,
	  "byte 68: control character in string" },
	{ PRE "\"fields\":{\"t\":[1,2}}", 0, RECORD_ERR_JSON,
	  "byte 70: expected ',' or ']'" },
	/* UTF-8 */
	{ PRE "\"fields\":{\"t\":\"\xff\"}}", 0, RECORD_ERR_UTF8,
	  "byte 67: invalid UTF-8" },
	{ PRE "\"fields\":{\"t\":\"\xc0\xaf\"}}", 0, RECORD_ERR_UTF8,
	  "byte 67: invalid UTF-8" },
	{ PRE "\"fields\":{\"t\":\"\xed\xa0\x80\"}}", 0, RECORD_ERR_UTF8,
	  "byte 67: invalid UTF-8" },
	{ PRE "\"fields\":{\"t\":\"\xe2\x82\"}}", 0, RECORD_ERR_UTF8,
	  "byte 67: invalid UTF-8" },
	{ PRE "\"fields\":{\"t\":\"\\ud800\"}}", 0, RECORD_ERR_UTF8,
	  "byte 67: lone surrogate \\ud800" },
	{ PRE "\"fields\":{\"t\":\"\\ud800\\u0041\"}}", 0, RECORD_ERR_UTF8,
	  "byte 67: lone surrogate \\ud800" },
	{ PRE "\"fields\":{\"t\":\"\\udc00\"}}", 0, RECORD_ERR_UTF8,
	  "byte 67: lone surrogate \\udc00" },
	{ PRE "\"fields\":{\"t\":\"a\\u0000\"}}", 0, RECORD_ERR_VALUE,
	  "byte 68: \\u0000 is not allowed" },
	{ PRE "\"fields\":{\"t\":\"a\0b\"}}", 68, RECORD_ERR_JSON,
	  "byte 68: control character in string" },
	/* not an object */
	{ "[1,2]", 0, RECORD_ERR_NOT_OBJECT, "not a JSON object but an array" },
	{ " \"x\" ", 0, RECORD_ERR_NOT_OBJECT,
	  "not a JSON object but a string" },
	{ "42 43", 0, RECORD_ERR_JSON, "byte 4: trailing characters" },
	/* numbers */
	{ PRE "\"fields\":{\"temperature\":NaN}}", 0, RECORD_ERR_NUMBER,
	  "fields.temperature: NaN is not a number" },
	{ PRE "\"fields\":{\"t\":Infinity}}", 0, RECORD_ERR_NUMBER,
	  "fields.t: Infinity is not a number" },
	{ PRE "\"fields\":{\"t\":-Infinity}}", 0, RECORD_ERR_NUMBER,
	  "fields.t: -Infinity is not a number" },
	{ PRE "\"fields\":{\"t\":+1}}", 0, RECORD_ERR_NUMBER,
	  "fields.t: a leading '+' is not a number" },
	{ PRE "\"fields\":{\"t\":1e400}}", 0, RECORD_ERR_NUMBER,
	  "fields.t: 1e400 is out of range" },
	{ PRE "\"fields\":{\"t\":-1.8e308}}", 0, RECORD_ERR_NUMBER,
	  "fields.t: -1.8e308 is out of range" },
	/* types */
	{ PRE "\"fields\":{\"t\":null}}", 0, RECORD_ERR_TYPE,
	  "fields.t: must be a number, boolean or string, not null" },
	{ PRE "\"fields\":{\"t\":[1]}}", 0, RECORD_ERR_TYPE,
	  "fields.t: must be a number, boolean or string, not an array" },
	{ PRE "\"fields\":{\"t\":{\"x\":1}}}", 0, RECORD_ERR_TYPE,
	  "fields.t: must be a number, boolean or string, not an object" },
	{ PRE "\"tags\":{\"site\":1}," F "}", 0, RECORD_ERR_TYPE,
	  "tags.site: must be a string, not a number" },
	{ PRE "\"tags\":{\"site\":null}," F "}", 0, RECORD_ERR_TYPE,
	  "tags.site: must be a string, not null" },
	{ PRE "\"tags\":[]," F "}", 0, RECORD_ERR_TYPE,
	  "tags: must be an object, not an array" },
	{ PRE "\"fields\":\"t\"}", 0, RECORD_ERR_TYPE,
	  "fields: must be an object, not a string" },
	{ "{\"time\":1795665600," M "," F "}", 0, RECORD_ERR_TYPE,
	  "time: must be a string, not a number" },
	{ "{" T ",\"measurement\":true," F "}", 0, RECORD_ERR_TYPE,
	  "measurement: must be a string, not a boolean" },
	/* empty */
	{ "{" T ",\"measurement\":\"\"," F "}", 0, RECORD_ERR_EMPTY,
	  "measurement: must not be empty" },
	{ PRE "\"tags\":{\"\":\"x\"}," F "}", 0, RECORD_ERR_EMPTY,
	  "tags: empty key" },
	{ PRE "\"fields\":{\"\":1}}", 0, RECORD_ERR_EMPTY,
	  "fields: empty key" },
	/* missing */
	{ "{" M "," F "}", 0, RECORD_ERR_MISSING, "missing key 'time'" },
	{ "{" T "," F "}", 0, RECORD_ERR_MISSING,
	  "missing key 'measurement'" },
	{ "{" T "," M "}", 0, RECORD_ERR_MISSING, "missing key 'fields'" },
	{ "{}", 0, RECORD_ERR_MISSING, "missing key 'time'" },
	{ PRE "\"fields\":{}}", 0, RECORD_ERR_NO_FIELDS,
	  "fields: must have at least one entry" },
	/* time */
	{ "{\"time\":\"2026-13-01T00:00:00Z\"," M "," F "}", 0,
	  RECORD_ERR_TIME,
	  "time: not RFC 3339 (2026-13-01T00:00:00Z: month out of range)" },
	{ "{\"time\":\"2025-02-29T00:00:00Z\"," M "," F "}", 0,
	  RECORD_ERR_TIME,
	  "time: not RFC 3339 (2025-02-29T00:00:00Z: day out of range)" },
	{ "{\"time\":\"2026-11-26 04:00:00\"," M "," F "}", 0,
	  RECORD_ERR_TIME, "time: not RFC 3339 (2026-11-26 04:00:00: "
	  "expected YYYY-MM-DDTHH:MM:SS)" },
	{ "{\"time\":\"2026-11-26T04:00:00\"," M "," F "}", 0,
	  RECORD_ERR_TIME, "time: not RFC 3339 (2026-11-26T04:00:00: "
	  "missing offset (Z or +hh:mm))" },
	{ "{\"time\":\"2262-04-11T23:47:16.854775808Z\"," M "," F "}", 0,
	  RECORD_ERR_TIME, "time: out of range (2262-04-11T23:47:16.854775808Z"
	  ": outside 1677-09-21..2262-04-11)" },
	/* details never carry controls from the line */
	{ "{\"time\":\"2026\\n11\"," M "," F "}", 0, RECORD_ERR_TIME,
	  "time: not RFC 3339 (2026?11: expected YYYY-MM-DDTHH:MM:SS)" },
	{ PRE "\"a\\u001b[31m\":1}", 0, RECORD_ERR_UNKNOWN_KEY,
	  "unknown key 'a?[31m'" },
	/* keys */
	{ PRE "\"fieldz\":{\"t\":1}}", 0, RECORD_ERR_UNKNOWN_KEY,
	  "unknown key 'fieldz'" },
	{ PRE "\"time\":\"2026-11-26T04:00:00Z\"," F "}", 0,
	  RECORD_ERR_DUPLICATE, "duplicate key 'time'" },
	{ PRE "\"fields\":{\"t\":1,\"t\":2}}", 0, RECORD_ERR_DUPLICATE,
	  "fields: duplicate key 't'" },
	{ PRE "\"tags\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}," F "}", 0,
	  RECORD_ERR_DUPLICATE, "tags: duplicate key 'a'" },
	{ PRE "\"tags\":{},\"tags\":{}," F "}", 0, RECORD_ERR_DUPLICATE,
	  "duplicate key 'tags'" },
	/* depth: the array is checked as JSON before its type is refused */
	{ PRE "\"fields\":{\"t\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]"
	  "]]]]]]]]]]]]]]]]]]]]]]]}}", 0, RECORD_ERR_TOO_BIG,
	  "byte 96: nesting deeper than 32" },
};

static void
test_invalid(void)
{
	struct record_scratch s;
	struct reading r;

	record_scratch_init(&s);
	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		const char *in = invalid[i].in;
		size_t len = invalid[i].len ? invalid[i].len : strlen(in);
		enum record_err rc = record_parse_reading(&r, in, len, &s);

		CU_ASSERT_EQUAL(rc, invalid[i].err);
		CU_ASSERT_STRING_EQUAL(s.detail, invalid[i].detail);
		if (rc != invalid[i].err ||
		    strcmp(s.detail, invalid[i].detail) != 0)
			fprintf(stderr, "invalid %zu: got %d '%s'\n", i, rc,
				s.detail);
	}
	record_scratch_release(&s);
}

/* 64 tags pass, 65 do not; 256 fields pass, 257 do not. */
static void
test_limits(void)
{
	struct record_scratch s;
	struct strbuf line;
	struct reading r;

	record_scratch_init(&s);
	strbuf_init(&line, 0);
	for (int ntags = 64; ntags <= 65; ntags++) {
		strbuf_reset(&line);
		strbuf_addstr(&line, PRE "\"tags\":{");
		for (int i = 0; i < ntags; i++)
			strbuf_addf(&line, "%s\"k%02d\":\"v\"", i ? "," : "",
				    ntags - i);
		strbuf_addstr(&line, "}," F "}");
		if (ntags == 64) {
			CU_ASSERT_EQUAL(record_parse_reading(&r, line.buf,
							     line.len, &s),
					RECORD_OK);
			CU_ASSERT_EQUAL(r.ntags, 64);
			CU_ASSERT_STRING_EQUAL(r.tags[0].key, "k01");
			CU_ASSERT_STRING_EQUAL(r.tags[63].key, "k64");
		} else {
			CU_ASSERT_EQUAL(record_parse_reading(&r, line.buf,
							     line.len, &s),
					RECORD_ERR_TOO_BIG);
			CU_ASSERT_STRING_EQUAL(s.detail,
					       "tags: more than 64 entries");
		}
	}
	for (int n = 256; n <= 257; n++) {
		strbuf_reset(&line);
		strbuf_addstr(&line, PRE "\"fields\":{");
		for (int i = 0; i < n; i++)
			strbuf_addf(&line, "%s\"f%d\":%d", i ? "," : "", i, i);
		strbuf_addstr(&line, "}}");
		CU_ASSERT_EQUAL(record_parse_reading(&r, line.buf, line.len,
						     &s),
				n == 256 ? RECORD_OK : RECORD_ERR_TOO_BIG);
	}
	CU_ASSERT_STRING_EQUAL(s.detail, "fields: more than 256 entries");
	/* the line is level 1, fields 2: 30 nested arrays reach level 32 and
	 * are refused only by type; 31 are too deep */
	for (int n = 30; n <= 31; n++) {
		strbuf_reset(&line);
		strbuf_addstr(&line, PRE "\"fields\":{\"t\":");
		for (int i = 0; i < n; i++)
			strbuf_addch(&line, '[');
		for (int i = 0; i < n; i++)
			strbuf_addch(&line, ']');
		strbuf_addstr(&line, "}}");
		CU_ASSERT_EQUAL(record_parse_reading(&r, line.buf, line.len,
						     &s),
				n == 30 ? RECORD_ERR_TYPE : RECORD_ERR_TOO_BIG);
	}
	/* a length no arena can hold is refused before any byte is read */
	CU_ASSERT_EQUAL(record_parse_reading(&r, "{}", SIZE_MAX / 2, &s),
			RECORD_ERR_NOMEM);
	CU_ASSERT_STRING_EQUAL(s.detail, "line too long");
	strbuf_release(&line);
	record_scratch_release(&s);
}

#define ALERT_LINE \
	"{\"id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\"," \
	"\"event_id\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\"," \
	"\"event\":\"fired\",\"status\":\"firing\",\"rule\":\"temp-high\"," \
	"\"severity\":\"critical\",\"measurement\":\"env\"," \
	"\"field\":\"temperature\",\"tags\":{\"sensor_id\":\"s-0042\"}," \
	"\"value\":85.2,\"threshold\":80.0," \
	"\"started_at\":\"2026-11-26T04:00:00Z\"," \
	"\"time\":\"2026-11-26T04:00:05.25Z\"," \
	"\"message\":\"temperature 85.2 > 80 on s-0042\"," \
	"\"summary\":\"Sensor s-0042 is hot \xf0\x9f\x94\xa5\"," \
	"\"summary_source\":\"fallback\"}"

static void
test_alert_roundtrip(void)
{
	static const char upper[] =
		"{\"summary_source\":\"llm\",\"summary\":\"\",\"message\":\"m\","
		"\"time\":\"2026-11-26T04:00:00Z\","
		"\"started_at\":\"2026-11-26T09:00:00+05:00\","
		"\"threshold\":null,\"value\":null,\"field\":\"\","
		"\"measurement\":\"\",\"severity\":\"warning\",\"rule\":\"dead\","
		"\"status\":\"resolved\",\"event\":\"resolved\","
		"\"event_id\":\"7C9E6679-7425-40DE-944B-E07FC1F90AE7\","
		"\"id\":\"0F8FAD5B-D9CB-469F-A165-70867728950E\","
		"\"future\":{\"x\":[1,{\"y\":null}]},\"future2\":3}";
	static const char upper_out[] =
		"{\"id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","
		"\"event_id\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\","
		"\"event\":\"resolved\",\"status\":\"resolved\","
		"\"rule\":\"dead\",\"severity\":\"warning\","
		"\"measurement\":\"\",\"field\":\"\",\"tags\":{},"
		"\"value\":null,\"threshold\":null,"
		"\"started_at\":\"2026-11-26T04:00:00Z\","
		"\"time\":\"2026-11-26T04:00:00Z\",\"message\":\"m\","
		"\"summary\":\"\",\"summary_source\":\"llm\"}";
	struct record_scratch s;
	struct strbuf out;
	struct alert a;

	record_scratch_init(&s);
	strbuf_init(&out, 0);
	CU_ASSERT_EQUAL_FATAL(record_parse_alert(&a, ALERT_LINE,
						 strlen(ALERT_LINE), &s),
			      RECORD_OK);
	CU_ASSERT_STRING_EQUAL(a.id, "0f8fad5b-d9cb-469f-a165-70867728950e");
	CU_ASSERT_EQUAL(a.event, ALERT_FIRED);
	CU_ASSERT_EQUAL(a.status, ALERT_FIRING);
	CU_ASSERT_EQUAL(a.severity, SEVERITY_CRITICAL);
	CU_ASSERT_STRING_EQUAL(a.rule, "temp-high");
	CU_ASSERT_EQUAL(a.ntags, 1);
	CU_ASSERT_TRUE(a.has_value);
	CU_ASSERT_EQUAL(a.value, 85.2);
	CU_ASSERT_EQUAL(a.threshold, 80.0);
	CU_ASSERT_EQUAL(a.time_ns - a.started_at_ns, 5250000000LL);
	CU_ASSERT_EQUAL(record_write_alert(&a, &out), 0);
	CU_ASSERT_STRING_EQUAL(out.buf, ALERT_LINE);

	CU_ASSERT_EQUAL_FATAL(record_parse_alert(&a, upper, strlen(upper), &s),
			      RECORD_OK);
	CU_ASSERT_FALSE(a.has_value);
	CU_ASSERT_FALSE(a.has_threshold);
	CU_ASSERT_EQUAL(a.event, ALERT_RESOLVED);
	CU_ASSERT_EQUAL(a.status, ALERT_STATUS_RESOLVED);
	strbuf_reset(&out);
	CU_ASSERT_EQUAL(record_write_alert(&a, &out), 0);
	CU_ASSERT_STRING_EQUAL(out.buf, upper_out);
	if (strcmp(out.buf, upper_out))
		fprintf(stderr, "alert: %s\n", out.buf);
	/* integer threshold becomes a float */
	{
		char line[sizeof(ALERT_LINE) + 8];
		char *p;

		snprintf(line, sizeof(line), "%s", ALERT_LINE);
		p = strstr(line, "80.0");
		memmove(p + 2, p + 4, strlen(p + 4) + 1);
		CU_ASSERT_EQUAL(record_parse_alert(&a, line, strlen(line), &s),
				RECORD_OK);
		CU_ASSERT_EQUAL(a.threshold, 80.0);
	}
	strbuf_release(&out);
	record_scratch_release(&s);
}

/* Replaces the first `from` in ALERT_LINE with `to` and parses it. */
static enum record_err
alert_with(const char *from, const char *to, struct record_scratch *s)
{
	struct strbuf line;
	struct alert a;
	const char *p = strstr(ALERT_LINE, from);
	enum record_err rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	strbuf_init(&line, 0);
	strbuf_add(&line, ALERT_LINE, (size_t)(p - ALERT_LINE));
	strbuf_addstr(&line, to);
	strbuf_addstr(&line, p + strlen(from));
	rc = record_parse_alert(&a, line.buf, line.len, s);
	strbuf_release(&line);
	return rc;
}

static void
test_alert_invalid(void)
{
	static const struct {
		const char *from, *to;
		enum record_err err;
		const char *detail;
	} cases[] = {
		{ "\"event\":\"fired\"", "\"event\":\"boom\"", RECORD_ERR_VALUE,
		  "event: must be fired, resolved or summarized, not 'boom'" },
		{ "\"status\":\"firing\"", "\"status\":\"acked\"",
		  RECORD_ERR_VALUE,
		  "status: must be firing or resolved, not 'acked'" },
		{ "\"severity\":\"critical\"", "\"severity\":\"CRITICAL\"",
		  RECORD_ERR_VALUE,
		  "severity: must be info, warning or critical, not "
		  "'CRITICAL'" },
		{ "0f8fad5b-d9cb", "0f8fad5b+d9cb", RECORD_ERR_VALUE,
		  "id: not a UUID ('0f8fad5b+d9cb-469f-a165-70867728950e')" },
		{ "7c9e6679-7425-40de-944b-e07fc1f90ae7", "7c9e6679",
		  RECORD_ERR_VALUE, "event_id: not a UUID ('7c9e6679')" },
		{ "\"rule\":\"temp-high\"", "\"rule\":\"\"", RECORD_ERR_EMPTY,
		  "rule: must not be empty" },
		{ "\"rule\":\"temp-high\",", "", RECORD_ERR_MISSING,
		  "missing key 'rule'" },
		{ "\"value\":85.2", "\"value\":\"85.2\"", RECORD_ERR_TYPE,
		  "value: must be a number or null, not a string" },
		{ "\"value\":85.2", "\"value\":NaN", RECORD_ERR_NUMBER,
		  "value: NaN is not a number" },
		{ "\"started_at\":\"2026-11-26T04:00:00Z\"",
		  "\"started_at\":\"yesterday\"", RECORD_ERR_TIME,
		  "started_at: not RFC 3339 (yesterday: expected "
		  "YYYY-MM-DDTHH:MM:SS)" },
		{ "\"message\":", "\"x\":1,\"x\":2,\"message\":",
		  RECORD_ERR_DUPLICATE, "duplicate key 'x'" },
		{ "\"message\":", "\"event\":\"fired\",\"message\":",
		  RECORD_ERR_DUPLICATE, "duplicate key 'event'" },
		{ "\"message\":", "\"x\":[1,,2],\"message\":",
		  RECORD_ERR_JSON, "byte 349: unexpected character" },
		{ "\"message\":", "\"x\":Infinity,\"message\":",
		  RECORD_ERR_NUMBER, "x: Infinity is not a number" },
		{ "\"tags\":{\"sensor_id\":\"s-0042\"}",
		  "\"tags\":{\"sensor_id\":42}", RECORD_ERR_TYPE,
		  "tags.sensor_id: must be a string, not a number" },
		{ "\"message\":\"temperature", "\"message\":\"\\ud83dx",
		  RECORD_ERR_UTF8, "byte 353: lone surrogate \\ud83d" },
	};
	struct record_scratch s;

	record_scratch_init(&s);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum record_err rc = alert_with(cases[i].from, cases[i].to, &s);

		CU_ASSERT_EQUAL(rc, cases[i].err);
		CU_ASSERT_STRING_EQUAL(s.detail, cases[i].detail);
		if (rc != cases[i].err || strcmp(s.detail, cases[i].detail))
			fprintf(stderr, "alert invalid %zu: got %d '%s'\n", i,
				rc, s.detail);
	}
	/* a reading is not an alert, and an alert is not a reading */
	{
		struct alert a;
		struct reading r;
		static const char rd[] = PRE F "}";

		CU_ASSERT_EQUAL(record_parse_alert(&a, rd, strlen(rd), &s),
				RECORD_ERR_MISSING);
		CU_ASSERT_STRING_EQUAL(s.detail, "missing key 'id'");
		CU_ASSERT_EQUAL(record_parse_reading(&r, ALERT_LINE,
						     strlen(ALERT_LINE), &s),
				RECORD_ERR_UNKNOWN_KEY);
		CU_ASSERT_STRING_EQUAL(s.detail, "unknown key 'id'");
	}
	record_scratch_release(&s);
}

static void
test_sort_and_series(void)
{
	struct tag tags[] = {
		{ "site", "a b" }, { "empty", "" }, { "k,=", "v\\" },
		{ "a", "1" },
	};
	struct tag dup[] = { { "x", "1" }, { "a", "2" }, { "x", "3" } };
	struct strbuf sb;

	CU_ASSERT_TRUE(record_sort_tags(tags, ARRAY_SIZE(tags)));
	CU_ASSERT_STRING_EQUAL(tags[0].key, "a");
	CU_ASSERT_STRING_EQUAL(tags[1].key, "empty");
	CU_ASSERT_STRING_EQUAL(tags[2].key, "k,=");
	CU_ASSERT_STRING_EQUAL(tags[3].key, "site");
	CU_ASSERT_FALSE(record_sort_tags(dup, ARRAY_SIZE(dup)));
	CU_ASSERT_STRING_EQUAL(dup[0].key, "a");
	CU_ASSERT_TRUE(record_sort_tags(dup, 0));
	strbuf_init(&sb, 0);
	CU_ASSERT_EQUAL(record_series_key("env x,y", tags, ARRAY_SIZE(tags),
					  &sb), 0);
	CU_ASSERT_STRING_EQUAL(sb.buf,
			       "env\\ x\\,y,a=1,k\\,\\==v\\\\,site=a\\ b");
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(record_series_key("m", NULL, 0, &sb), 0);
	CU_ASSERT_STRING_EQUAL(sb.buf, "m");
	strbuf_release(&sb);
	strbuf_init(&sb, 4);
	CU_ASSERT_EQUAL(record_series_key("measurement", NULL, 0, &sb), -1);
	CU_ASSERT_EQUAL(sb.len, 0);
	strbuf_release(&sb);
}

static void
test_names(void)
{
	enum severity sev;

	CU_ASSERT_STRING_EQUAL(alert_kind_name(ALERT_SUMMARIZED), "summarized");
	CU_ASSERT_STRING_EQUAL(alert_status_name(ALERT_FIRING), "firing");
	CU_ASSERT_STRING_EQUAL(severity_name(SEVERITY_WARNING), "warning");
	CU_ASSERT_EQUAL(severity_parse("info", &sev), 0);
	CU_ASSERT_EQUAL(sev, SEVERITY_INFO);
	CU_ASSERT_EQUAL(severity_parse("fatal", &sev), -1);
	for (int e = RECORD_OK; e <= RECORD_ERR_NOMEM; e++) {
		CU_ASSERT_PTR_NOT_NULL(record_strerror(e));
		CU_ASSERT_STRING_NOT_EQUAL(record_strerror(e), "");
		CU_ASSERT_STRING_NOT_EQUAL(record_strerror(e),
					   "unknown record error");
	}
}

/* The parser's series hash is record_series_hash: tag order and tags with
 * an empty value do not change it, escapes are hashed as decoded. */
static void
test_series_hash(void)
{
	static const char *const same[] = {
		"{" T ",\"measurement\":\"env\",\"tags\":{\"site\":\"a\","
		"\"sensor_id\":\"s-1\"}," F "}",
		"{" T ",\"measurement\":\"env\",\"tags\":{\"sensor_id\":"
		"\"s-1\",\"x\":\"\",\"site\":\"a\"}," F "}",
		"{" T ",\"measurement\":\"\\u0065nv\",\"tags\":{\"s\\u0069te\":"
		"\"a\",\"sensor_id\":\"s-\\u0031\"}," F "}",
	};
	static const char *const other[] = {
		"{" T ",\"measurement\":\"env\",\"tags\":{\"site\":\"a\","
		"\"sensor_id\":\"s-2\"}," F "}",
		"{" T ",\"measurement\":\"env\",\"tags\":{\"site\":\"as\","
		"\"ensor_id\":\"s-1\"}," F "}",
		"{" T ",\"measurement\":\"env\"," F "}",
	};
	struct tag tags[] = { { "site", "a" }, { "sensor_id", "s-1" },
			      { "empty", "" } };
	struct record_scratch s;
	struct reading r;
	uint64_t h = record_series_hash("env", tags, ARRAY_SIZE(tags));

	record_scratch_init(&s);
	CU_ASSERT_NOT_EQUAL(h, 0);
	CU_ASSERT_EQUAL(record_series_hash("env", tags, 2), h);
	CU_ASSERT_NOT_EQUAL(record_series_hash("env", tags, 1), h);
	CU_ASSERT_NOT_EQUAL(record_series_hash("env", NULL, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
		CU_ASSERT_EQUAL_FATAL(record_parse_reading(&r, same[i],
							   strlen(same[i]), &s),
				      RECORD_OK);
		CU_ASSERT_EQUAL(r.series_hash, h);
		CU_ASSERT_EQUAL(record_series_hash(r.measurement, r.tags,
						   r.ntags), h);
	}
	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		CU_ASSERT_EQUAL_FATAL(record_parse_reading(&r, other[i],
							   strlen(other[i]), &s),
				      RECORD_OK);
		CU_ASSERT_NOT_EQUAL(r.series_hash, h);
		CU_ASSERT_EQUAL(record_series_hash(r.measurement, r.tags,
						   r.ntags), r.series_hash);
	}
	record_scratch_release(&s);
}

/* Strings are copied eight bytes at a time up to the first byte that needs
 * a look: an escape, a quote, a control or UTF-8 at every offset. */
static void
test_string_offsets(void)
{
	static const char *const specials[] = {
		"\\\"", "\\n", "\\u00e9", "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80",
	};
	static const char *const decoded[] = {
		"\"", "\n", "\xc3\xa9", "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80",
	};
	struct record_scratch s;
	struct strbuf line, want;
	struct reading r;

	record_scratch_init(&s);
	strbuf_init(&line, 0);
	strbuf_init(&want, 0);
	for (size_t k = 0; k < ARRAY_SIZE(specials); k++) {
		for (int at = 0; at < 20; at++) {
			strbuf_reset(&line);
			strbuf_reset(&want);
			strbuf_addstr(&line, PRE "\"fields\":{\"f\":\"");
			for (int i = 0; i < at; i++) {
				strbuf_addch(&line, (char)('a' + i));
				strbuf_addch(&want, (char)('a' + i));
			}
			strbuf_addstr(&line, specials[k]);
			strbuf_addstr(&want, decoded[k]);
			strbuf_addstr(&line, "xyz\"}}");
			strbuf_addstr(&want, "xyz");
			CU_ASSERT_EQUAL_FATAL(record_parse_reading(&r, line.buf,
								   line.len,
								   &s),
					      RECORD_OK);
			CU_ASSERT_EQUAL(r.fields[0].v.str.len, want.len);
			CU_ASSERT_STRING_EQUAL(r.fields[0].v.str.s, want.buf);
			/* a control byte at the same offset is refused */
			strbuf_reset(&line);
			strbuf_addstr(&line, PRE "\"fields\":{\"f\":\"");
			for (int i = 0; i < at; i++)
				strbuf_addch(&line, 'a');
			strbuf_addstr(&line, "\x01\"}}");
			CU_ASSERT_EQUAL(record_parse_reading(&r, line.buf,
							     line.len, &s),
					RECORD_ERR_JSON);
		}
	}
	strbuf_release(&line);
	strbuf_release(&want);
	record_scratch_release(&s);
}

/* Lines in (and near) the shape the fast path of record_parse_reading
 * takes; test_fast_path mutates them. */
static const char *const fast_lines[] = {
	"{\"time\":\"2025-11-26T04:00:00.000100000Z\",\"measurement\":\"env\","
	"\"tags\":{\"sensor_id\":\"s-00001\",\"site\":\"site-00\"},"
	"\"fields\":{\"temperature\":20.04,\"humidity\":58.8}}",
	"{\"time\":\"2026-11-26T04:00:00+09:00\",\"measurement\":\"m\","
	"\"fields\":{\"i\":-42,\"b\":true,\"c\":false,\"s\":\"\",\"e\":1e-3}}",
	"{\"time\":\"2026-11-26T04:00:00Z\",\"measurement\":\"m\",\"tags\":{},"
	"\"fields\":{\"big\":123456789012345678901234567890,\"n\":-0.0}}",
	"{\"time\":\"2026-11-26T04:00:00Z\",\"measurement\":\"m\",\"tags\":"
	"{\"z\":\"1\",\"a\":\"\",\"m\":\"x y\"},\"fields\":{\"v\":\"on\"}}\n",
	"{\"time\":\"2026-11-26T04:00:00Z\",\"measurement\":\"m\",\"tags\":"
	"{\"k\":\"1\",\"k\":\"2\"},\"fields\":{\"v\":1,\"v\":2}}",
};

static bool
same_reading(const struct reading *a, const struct reading *b)
{
	if (a->time_ns != b->time_ns || a->has_time != b->has_time ||
	    strcmp(a->measurement, b->measurement) != 0 ||
	    a->ntags != b->ntags || a->nfields != b->nfields ||
	    a->series_hash != b->series_hash)
		return false;
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i].key, b->tags[i].key) != 0 ||
		    strcmp(a->tags[i].value, b->tags[i].value) != 0)
			return false;
	for (size_t i = 0; i < a->nfields; i++) {
		const struct field *x = &a->fields[i], *y = &b->fields[i];

		if (strcmp(x->key, y->key) != 0 || x->type != y->type)
			return false;
		if ((x->type == FIELD_FLOAT &&
		     memcmp(&x->v.f, &y->v.f, sizeof(x->v.f)) != 0) ||
		    (x->type == FIELD_INT && x->v.i != y->v.i) ||
		    (x->type == FIELD_BOOL && x->v.b != y->v.b) ||
		    (x->type == FIELD_STRING &&
		     (x->v.str.len != y->v.str.len ||
		      memcmp(x->v.str.s, y->v.str.s, x->v.str.len) != 0)))
			return false;
	}
	return true;
}

/*
 * The fast path of record_parse_reading gives what the full parser gives:
 * each line, and many copies with a few bytes replaced, inserted or
 * deleted, parse to the same result as the same line after a space (which
 * only the full parser takes).
 */
static void
test_fast_path(void)
{
	static const char bytes[] = "\"\\,:{}[] a0-+e.Etfn\x80\xc3\xa9\x01\x7f";
	struct record_scratch s1, s2;
	struct strbuf line, spaced;
	struct reading r1, r2;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned differ = 0, ok = 0;

	record_scratch_init(&s1);
	record_scratch_init(&s2);
	strbuf_init(&line, 0);
	strbuf_init(&spaced, 0);
	for (size_t l = 0; l < ARRAY_SIZE(fast_lines); l++) {
		for (int it = 0; it < 20000; it++) {
			enum record_err e1, e2;

			strbuf_reset(&line);
			strbuf_addstr(&line, fast_lines[l]);
			for (int m = 0; it > 0 && m < 1 + it % 3; m++) {
				size_t at, b;

				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				at = (size_t)(x % line.len);
				b = (size_t)((x >> 32) % (sizeof(bytes) - 1));
				if ((x >> 60) < 10) {
					line.buf[at] = bytes[b];
				} else if ((x >> 60) < 13) {
					memmove(line.buf + at, line.buf + at + 1,
						line.len - at);
					line.len--;
				} else {
					strbuf_addch(&line, ' ');
					memmove(line.buf + at + 1, line.buf + at,
						line.len - at - 1);
					line.buf[at] = bytes[b];
				}
			}
			strbuf_reset(&spaced);
			strbuf_addch(&spaced, ' ');
			strbuf_add(&spaced, line.buf, line.len);
			e1 = record_parse_reading(&r1, line.buf, line.len, &s1);
			e2 = record_parse_reading(&r2, spaced.buf, spaced.len,
						  &s2);
			if (e1 != e2 || (e1 == RECORD_OK &&
					 !same_reading(&r1, &r2))) {
				if (differ++ < 3)
					fprintf(stderr, "\nfast path differs "
						"(%d vs %d): %.*s\n", e1, e2,
						(int)line.len, line.buf);
			}
			ok += e1 == RECORD_OK;
			/* the unchanged line takes the fast path: it copies
			 * no key of the reading itself to the arena */
			if (it == 0 && l < 4)
				CU_ASSERT(e1 == RECORD_OK &&
					  s1.arena_len < s2.arena_len);
		}
	}
	CU_ASSERT_EQUAL(differ, 0);
	CU_ASSERT(ok > 1000);	/* many mutated lines are still readings */
	strbuf_release(&line);
	strbuf_release(&spaced);
	record_scratch_release(&s1);
	record_scratch_release(&s2);
}

/* A big line grows the arena; strings from the last parse stay valid. */
static void
test_scratch_reuse(void)
{
	struct record_scratch s;
	struct strbuf line;
	struct reading r;

	record_scratch_init(&s);
	strbuf_init(&line, 0);
	strbuf_addstr(&line, PRE "\"fields\":{\"big\":\"");
	for (int i = 0; i < 100000; i++)
		strbuf_addstr(&line, "\\u00e9");
	strbuf_addstr(&line, "\"}}");
	CU_ASSERT_EQUAL(record_parse_reading(&r, line.buf, line.len, &s),
			RECORD_OK);
	CU_ASSERT_EQUAL(r.fields[0].v.str.len, 200000);
	CU_ASSERT_STRING_EQUAL(r.measurement, "env");
	strbuf_reset(&line);
	strbuf_addstr(&line, PRE F "}");
	CU_ASSERT_EQUAL(record_parse_reading(&r, line.buf, line.len, &s),
			RECORD_OK);
	CU_ASSERT_EQUAL(r.fields[0].v.i, 1);
	strbuf_release(&line);
	record_scratch_release(&s);
}

int
test_record_suite(void)
{
	CU_pSuite s = CU_add_suite("record", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "reading round trips", test_roundtrips) ||
	    !CU_add_test(s, "reading values", test_values) ||
	    !CU_add_test(s, "float bits through write+parse", test_float_bits) ||
	    !CU_add_test(s, "invalid readings and reasons", test_invalid) ||
	    !CU_add_test(s, "tag and field limits", test_limits) ||
	    !CU_add_test(s, "alert round trip", test_alert_roundtrip) ||
	    !CU_add_test(s, "invalid alerts", test_alert_invalid) ||
	    !CU_add_test(s, "sort tags, series key", test_sort_and_series) ||
	    !CU_add_test(s, "series hash", test_series_hash) ||
	    !CU_add_test(s, "strings at every offset", test_string_offsets) ||
	    !CU_add_test(s, "fast path = full parser", test_fast_path) ||
	    !CU_add_test(s, "names and strerror", test_names) ||
	    !CU_add_test(s, "scratch reuse", test_scratch_reuse))
		return -1;
	return 0;
}
