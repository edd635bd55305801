/*
 * test_lineproto: readings and alerts to line protocol. A table of readings
 * (as NDJSON) and the exact line expected: escaping per position, integer
 * suffix, floats, booleans, strings, empty tags, timestamps per precision;
 * refusals (NaN, infinity, CR/LF in names, unrepresentable backslashes,
 * '#' measurements) with the offending key; integer formatting at the int64
 * extremes; rounding of negative times; the alert point; buffer restored on
 * failure; every error has a text.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../../influx-sink/lineproto.h"
#include "record.h"
#include "util.h"
#include "banned.h"

struct lp_case {
	const char *json;
	enum lineproto_precision prec;
	const char *want;	/* NULL: refused with err */
	enum lineproto_err err;
	const char *where;
};

#define T0 "\"time\":\"2026-11-26T04:00:00.123456789Z\""
#define NS " 1795665600123456789"

static const struct lp_case lp_cases[] = {
	/* plain */
	{ "{" T0 ",\"measurement\":\"env\",\"tags\":{\"site\":\"a\",\"sensor_id\":\"s-1\"},\"fields\":{\"t\":21.5}}",
	  LINEPROTO_NS, "env,sensor_id=s-1,site=a t=21.5" NS },
	/* measurement: comma and space escaped, '=' kept */
	{ "{" T0 ",\"measurement\":\"m e,a=s\",\"fields\":{\"v\":1.0}}",
	  LINEPROTO_NS, "m\\ e\\,a=s v=1.0" NS },
	/* tag key and value: comma, equals, space */
	{ "{" T0 ",\"measurement\":\"m\",\"tags\":{\"k ,=\":\"v ,=x\"},\"fields\":{\"v\":1.5}}",
	  LINEPROTO_NS, "m,k\\ \\,\\==v\\ \\,\\=x v=1.5" NS },
	/* field key: comma, equals, space; a quote stays bare */
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"a b,c=d\\\"e\":1.5}}",
	  LINEPROTO_NS, "m a\\ b\\,c\\=d\"e=1.5" NS },
	/* string field: quote and backslash escaped, CR/LF as \r \n text */
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"s\":\"say \\\"hi\\\" \\\\ back\\r\\n\"}}",
	  LINEPROTO_NS, "m s=\"say \\\"hi\\\" \\\\ back\\r\\n\"" NS },
	/* empty string field, Unicode and emoji everywhere */
	{ "{" T0 ",\"measurement\":\"\xc3\xa9\",\"tags\":{\"\xf0\x9f\x8e\x89\":\"\xe2\x82\xac\"},\"fields\":{\"s\":\"\",\"\xe6\xb8\xa9\":\"\xf0\x9f\x94\xa5\"}}",
	  LINEPROTO_NS, "\xc3\xa9,\xf0\x9f\x8e\x89=\xe2\x82\xac s=\"\",\xe6\xb8\xa9=\"\xf0\x9f\x94\xa5\"" NS },
	/* backslashes that the server keeps literally */
	{ "{" T0 ",\"measurement\":\"a\\\\b\",\"tags\":{\"k\\\\x\":\"v\\\\\\\\y\"},\"fields\":{\"f\\\\g\":1.5}}",
	  LINEPROTO_NS, "a\\b,k\\x=v\\\\y f\\g=1.5" NS },
	/* an empty tag value is left out */
	{ "{" T0 ",\"measurement\":\"m\",\"tags\":{\"a\":\"\",\"b\":\"x\"},\"fields\":{\"v\":2.5}}",
	  LINEPROTO_NS, "m,b=x v=2.5" NS },
	/* integers, int64 extremes, booleans */
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"i\":-9223372036854775808,\"j\":9223372036854775807,\"z\":0,\"t\":true,\"f\":false}}",
	  LINEPROTO_NS, "m i=-9223372036854775808i,j=9223372036854775807i,z=0i,t=true,f=false" NS },
	/* floats in shortest round-trip form */
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"a\":0.1,\"b\":1e-300,\"c\":-0.0,\"d\":1e300,\"e\":21.0,\"f\":5e-324}}",
	  LINEPROTO_NS, "m a=0.1,b=1e-300,c=-0.0,d=1e+300,e=21.0,f=5e-324" NS },
	/* precision: truncated, never rounded up */
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"v\":1.5}}",
	  LINEPROTO_US, "m v=1.5 1795665600123456" },
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"v\":1.5}}",
	  LINEPROTO_MS, "m v=1.5 1795665600123" },
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"v\":1.5}}",
	  LINEPROTO_S, "m v=1.5 1795665600" },
	/* before 1970: toward minus infinity */
	{ "{\"time\":\"1969-12-31T23:59:59.5Z\",\"measurement\":\"m\",\"fields\":{\"v\":1.5}}",
	  LINEPROTO_S, "m v=1.5 -1" },
	{ "{\"time\":\"1969-12-31T23:59:59.5Z\",\"measurement\":\"m\",\"fields\":{\"v\":1.5}}",
	  LINEPROTO_MS, "m v=1.5 -500" },
	/* refusals */
	{ "{" T0 ",\"measurement\":\"#m\",\"fields\":{\"v\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_COMMENT, "measurement" },
	{ "{" T0 ",\"measurement\":\"m\",\"tags\":{\"k\":\"a\\nb\"},\"fields\":{\"v\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_NEWLINE, "k" },
	{ "{" T0 ",\"measurement\":\"m\\r\",\"fields\":{\"v\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_NEWLINE, "measurement" },
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"a\\nb\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_NEWLINE, "a\nb" },
	{ "{" T0 ",\"measurement\":\"m\",\"tags\":{\"k\":\"ends\\\\\"},\"fields\":{\"v\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_BACKSLASH, "k" },
	{ "{" T0 ",\"measurement\":\"m\",\"tags\":{\"k\":\"a\\\\,b\"},\"fields\":{\"v\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_BACKSLASH, "k" },
	{ "{" T0 ",\"measurement\":\"m\\\\=x\",\"fields\":{\"v\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_BACKSLASH, "measurement" },
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"a\\\\\\\"b\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_BACKSLASH, "a\\\"b" },
	{ "{" T0 ",\"measurement\":\"m\",\"fields\":{\"a\\\\ b\":1.5}}",
	  LINEPROTO_NS, NULL, LINEPROTO_ERR_BACKSLASH, "a\\ b" },
};

static void
test_table(void)
{
	struct record_scratch rs;
	struct reading r;
	struct strbuf sb;

	record_scratch_init(&rs);
	strbuf_init(&sb, 0);
	for (size_t i = 0; i < ARRAY_SIZE(lp_cases); i++) {
		const struct lp_case *c = &lp_cases[i];
		const char *where = "unset";
		size_t series_len = 0;
		enum record_err rrc;
		enum lineproto_err rc;

		rrc = record_parse_reading(&r, c->json, strlen(c->json), &rs);
		if (rrc) {
			fprintf(stderr, "case %zu: %s\n", i, rs.detail);
			CU_FAIL("record did not parse");
			continue;
		}
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "keep");
		rc = lineproto_reading(&sb, &r, c->prec, &series_len, &where);
		if (c->want) {
			CU_ASSERT_EQUAL(rc, LINEPROTO_OK);
			CU_ASSERT_PTR_NULL(where);
			CU_ASSERT_STRING_EQUAL(sb.buf + 4, c->want);
			if (rc || strcmp(sb.buf + 4, c->want))
				fprintf(stderr, "case %zu:\n got  %s\n want %s\n",
					i, sb.buf + 4, c->want);
			/* the series key is everything before the first
			 * unescaped space */
			CU_ASSERT(series_len > 0 && sb.buf[4 + series_len] == ' ');
			CU_ASSERT_EQUAL(sb.len, strlen(sb.buf));
		} else {
			CU_ASSERT_EQUAL(rc, c->err);
			CU_ASSERT_STRING_EQUAL(sb.buf, "keep");
			CU_ASSERT_EQUAL(sb.len, 4);
			CU_ASSERT_PTR_NOT_NULL_FATAL(where);
			CU_ASSERT_STRING_EQUAL(where, c->where);
			if (rc != c->err)
				fprintf(stderr, "case %zu: got %d want %d\n", i,
					rc, c->err);
		}
	}
	strbuf_release(&sb);
	record_scratch_release(&rs);
}

static void
test_nonfinite(void)
{
	double bad[] = { NAN, INFINITY, -INFINITY };
	struct field f = { .key = "v", .type = FIELD_FLOAT };
	struct reading r = { .time_ns = 1, .has_time = true,
			     .measurement = "m", .fields = &f, .nfields = 1 };
	struct strbuf sb;
	const char *where = NULL;
	size_t sl;

	strbuf_init(&sb, 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		f.v.f = bad[i];
		CU_ASSERT_EQUAL(lineproto_reading(&sb, &r, LINEPROTO_NS, &sl,
						  &where),
				LINEPROTO_ERR_NONFINITE);
		CU_ASSERT_STRING_EQUAL(where, "v");
		CU_ASSERT_EQUAL(sb.len, 0);
	}
	/* no time: no timestamp; no fields: refused */
	f.v.f = 2.5;
	r.has_time = false;
	CU_ASSERT_EQUAL(lineproto_reading(&sb, &r, LINEPROTO_NS, &sl, NULL),
			LINEPROTO_OK);
	CU_ASSERT_STRING_EQUAL(sb.buf, "m v=2.5");
	strbuf_reset(&sb);
	r.nfields = 0;
	CU_ASSERT_EQUAL(lineproto_reading(&sb, &r, LINEPROTO_NS, &sl, &where),
			LINEPROTO_ERR_NO_FIELDS);
	/* an empty measurement */
	r.nfields = 1;
	r.measurement = "";
	CU_ASSERT_EQUAL(lineproto_reading(&sb, &r, LINEPROTO_NS, &sl, &where),
			LINEPROTO_ERR_EMPTY);
	strbuf_release(&sb);
}

/* A buffer with a cap: a point that does not fit leaves it unchanged. */
static void
test_cap(void)
{
	struct field f = { .key = "v", .type = FIELD_STRING,
			   .v.str = { "0123456789012345678901234567890123456789", 40 } };
	struct reading r = { .time_ns = 1, .has_time = true,
			     .measurement = "m", .fields = &f, .nfields = 1 };
	struct strbuf sb;
	size_t sl;

	strbuf_init(&sb, 30);
	strbuf_addstr(&sb, "x");
	CU_ASSERT_EQUAL(lineproto_reading(&sb, &r, LINEPROTO_NS, &sl, NULL),
			LINEPROTO_ERR_NOMEM);
	CU_ASSERT_STRING_EQUAL(sb.buf, "x");
	strbuf_release(&sb);
}

static void
test_i64(void)
{
	static const struct {
		int64_t v;
		const char *s;
	} c[] = {
		{ 0, "0" }, { 7, "7" }, { -7, "-7" }, { 10, "10" },
		{ 99, "99" }, { 100, "100" }, { -100, "-100" },
		{ 1234567890123LL, "1234567890123" },
		{ INT64_MAX, "9223372036854775807" },
		{ INT64_MIN, "-9223372036854775808" },
	};
	char buf[24];

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		size_t n = lineproto_i64(c[i].v, buf);

		CU_ASSERT_STRING_EQUAL(buf, c[i].s);
		CU_ASSERT_EQUAL(n, strlen(c[i].s));
	}
}

static void
test_time(void)
{
	enum lineproto_precision p;

	CU_ASSERT_EQUAL(lineproto_time(1999, LINEPROTO_US), 1);
	CU_ASSERT_EQUAL(lineproto_time(-1, LINEPROTO_US), -1);
	CU_ASSERT_EQUAL(lineproto_time(-1000, LINEPROTO_US), -1);
	CU_ASSERT_EQUAL(lineproto_time(-1001, LINEPROTO_US), -2);
	CU_ASSERT_EQUAL(lineproto_time(1999999999, LINEPROTO_S), 1);
	CU_ASSERT_EQUAL(lineproto_time(INT64_MIN, LINEPROTO_S),
			INT64_MIN / 1000000000 - 1);
	CU_ASSERT_EQUAL(lineproto_time(42, LINEPROTO_NS), 42);
	CU_ASSERT_EQUAL(lineproto_precision_parse("us", &p), 0);
	CU_ASSERT_EQUAL(p, LINEPROTO_US);
	CU_ASSERT_EQUAL(lineproto_precision_parse("s", &p), 0);
	CU_ASSERT_EQUAL(p, LINEPROTO_S);
	CU_ASSERT_EQUAL(lineproto_precision_parse("u", &p), -1);
}

static void
test_alert(void)
{
	static const char json[] =
		"{\"id\":\"6f1c1a52-1d0e-5c39-9b43-6a0f5e0d2a11\","
		"\"event_id\":\"0b8e2a70-4f3c-4c7e-9d2b-1a2b3c4d5e6f\","
		"\"event\":\"fired\",\"status\":\"firing\",\"rule\":\"temp high\","
		"\"severity\":\"critical\",\"measurement\":\"env\",\"field\":\"temperature\","
		"\"tags\":{\"sensor_id\":\"s-42\",\"site\":\"a\",\"rule\":\"theirs\"},"
		"\"value\":85.2,\"threshold\":80,"
		"\"started_at\":\"2026-11-26T04:00:00Z\",\"time\":\"2026-11-26T04:00:30Z\","
		"\"message\":\"s-42: \\\"hot\\\"\",\"summary\":\"line1\\nline2\","
		"\"summary_source\":\"fallback\"}";
	struct record_scratch rs;
	struct alert a;
	struct strbuf sb;
	size_t sl;
	const char *where = "x";

	record_scratch_init(&rs);
	strbuf_init(&sb, 0);
	CU_ASSERT_EQUAL_FATAL(record_parse_alert(&a, json, strlen(json), &rs),
			      RECORD_OK);
	CU_ASSERT_EQUAL(lineproto_alert(&sb, &a, LINEPROTO_S, &sl, &where),
			LINEPROTO_OK);
	CU_ASSERT_STRING_EQUAL(sb.buf,
			       "alerts,rule=temp\\ high,sensor_id=s-42,severity=critical,site=a,status=firing "
			       "id=\"6f1c1a52-1d0e-5c39-9b43-6a0f5e0d2a11\",value=85.2,threshold=80.0,"
			       "message=\"s-42: \\\"hot\\\"\",summary=\"line1\\nline2\","
			       "summary_source=\"fallback\" 1795665630");
	CU_ASSERT_EQUAL(sl, strlen("alerts,rule=temp\\ high,sensor_id=s-42,severity=critical,site=a,status=firing"));
	/* a deadman alert has no value; threshold absent too */
	a.has_value = false;
	a.has_threshold = false;
	a.status = ALERT_STATUS_RESOLVED;
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(lineproto_alert(&sb, &a, LINEPROTO_S, &sl, &where),
			LINEPROTO_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "status=resolved id="));
	CU_ASSERT_PTR_NULL(strstr(sb.buf, "value="));
	CU_ASSERT_PTR_NULL(strstr(sb.buf, "threshold="));
	a.has_value = true;
	a.value = NAN;
	CU_ASSERT_EQUAL(lineproto_alert(&sb, &a, LINEPROTO_S, &sl, &where),
			LINEPROTO_ERR_NONFINITE);
	CU_ASSERT_STRING_EQUAL(where, "value");
	strbuf_release(&sb);
	record_scratch_release(&rs);
}

static void
test_strerror(void)
{
	for (int e = LINEPROTO_OK; e <= LINEPROTO_ERR_NOMEM; e++) {
		const char *s = lineproto_strerror((enum lineproto_err)e);

		CU_ASSERT(s && s[0] && strcmp(s, "unknown lineproto error"));
	}
}

int
test_lineproto_suite(void)
{
	CU_pSuite s = CU_add_suite("lineproto", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "escaping, values, precision table", test_table) ||
	    !CU_add_test(s, "NaN and infinity refused, no time, no fields",
			 test_nonfinite) ||
	    !CU_add_test(s, "buffer cap leaves the buffer unchanged", test_cap) ||
	    !CU_add_test(s, "integer formatting", test_i64) ||
	    !CU_add_test(s, "time truncation and precision names", test_time) ||
	    !CU_add_test(s, "alert events", test_alert) ||
	    !CU_add_test(s, "every error has a text", test_strerror))
		return -1;
	return 0;
}
