/*
 * test_mqtt_ingest_payload: the payload converter of mqtt-ingest, table
 * driven: every format (JSON object, array, bare number, line protocol),
 * flattening, tag keys, time keys and precisions, the topic template, and
 * every bad-payload class with its reason token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../../mqtt-ingest/payload.h"
#include "util.h"
#include "banned.h"

/* 2026-11-26T04:00:00Z */
#define NOW_NS (1795665600LL * 1000000000LL)
#define T0 "2026-11-26T04:00:00Z"
#define TAGS "\"tags\":{\"sensor_id\":\"s-1\",\"site\":\"a\"}"
#define TOPIC "sensors/a/s-1/env"

static const struct {
	const char *topic;
	const char *payload;
	enum payload_err err;
	const char *out;	/* expected lines, each ending in \n */
} cases[] = {
	/* JSON object: types, flattening, tag keys, topic tags */
	{ TOPIC, "{\"temperature\":21.5,\"humidity\":40,\"ok\":true,\"state\":\"open\"}",
	  PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"temperature\":21.5,\"humidity\":40.0,\"ok\":true,\"state\":\"open\"}}\n" },
	{ TOPIC, "{\"env\":{\"t\":1,\"deep\":{\"x\":false}},\"room\":\"r1\"}",
	  PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\",\"tags\":{\"room\":\"r1\",\"sensor_id\":\"s-1\",\"site\":\"a\"},\"fields\":{\"env_t\":1.0,\"env_deep_x\":false}}\n" },
	{ TOPIC, "{\"room\":7,\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\",\"tags\":{\"room\":\"7\",\"sensor_id\":\"s-1\",\"site\":\"a\"},\"fields\":{\"v\":1.0}}\n" },
	/* the topic's tag wins over the payload's */
	{ TOPIC, "{\"site\":\"zzz\",\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":1.0}}\n" },
	/* times: RFC 3339 with offset, s, ms, us, ns, fractional s */
	{ TOPIC, "{\"time\":\"2026-11-26T05:00:00.25+01:00\",\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"2026-11-26T04:00:00.25Z\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":1.0}}\n" },
	{ TOPIC, "{\"ts\":1795665600,\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":1.0}}\n" },
	{ TOPIC, "{\"ts\":1795665600123,\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"2026-11-26T04:00:00.123Z\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":1.0}}\n" },
	{ TOPIC, "{\"timestamp\":1795665600123456,\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"2026-11-26T04:00:00.123456Z\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":1.0}}\n" },
	{ TOPIC, "{\"ts\":1795665600123456789,\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"2026-11-26T04:00:00.123456789Z\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":1.0}}\n" },
	{ TOPIC, "{\"ts\":1795665600.5,\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"2026-11-26T04:00:00.5Z\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":1.0}}\n" },
	/* array: several readings */
	{ TOPIC, "[{\"ts\":1795665600,\"v\":1},{\"v\":2}]", PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":1.0}}\n"
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"v\":2.0}}\n" },
	/* bare numbers */
	{ TOPIC, " 21.5\n", PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"value\":21.5}}\n" },
	{ TOPIC, "-3", PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"value\":-3.0}}\n" },
	/* line protocol, several lines, escapes, types */
	{ TOPIC, "cpu,host=h\\ 1,x\\,y=z load=1.5,n=3i,u=7u,up=T,msg=\"a \\\"q\\\" \\\\\" 1795665600000000000\r\n"
	  "# comment\n\nmem free=2 1795665600",
	  PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"cpu\",\"tags\":{\"host\":\"h 1\",\"sensor_id\":\"s-1\",\"site\":\"a\",\"x,y\":\"z\"},\"fields\":{\"load\":1.5,\"n\":3,\"u\":7,\"up\":true,\"msg\":\"a \\\"q\\\" \\\\\"}}\n"
	  "{\"time\":\"" T0 "\",\"measurement\":\"mem\"," TAGS ",\"fields\":{\"free\":2.0}}\n" },
	{ TOPIC, "m f=false", PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"m\"," TAGS ",\"fields\":{\"f\":false}}\n" },
	/* a template with '#' and no {measurement}: payload names it */
	{ "other/x/y", "{\"measurement\":\"pm\",\"v\":1}", PAYLOAD_ERR_TOPIC, "" },

	/* bad payloads */
	{ TOPIC, "{\"a\":", PAYLOAD_ERR_JSON, "" },
	{ TOPIC, "{\"a\":1,\"a\":2}", PAYLOAD_ERR_DUPLICATE, "" },
	{ TOPIC, "{\"a_b\":1,\"a\":{\"b\":2}}", PAYLOAD_ERR_DUPLICATE, "" },
	{ TOPIC, "{\"v\":NaN}", PAYLOAD_ERR_NUMBER, "" },
	{ TOPIC, "{\"v\":Infinity}", PAYLOAD_ERR_NUMBER, "" },
	{ TOPIC, "{\"v\":1e400}", PAYLOAD_ERR_NUMBER, "" },
	{ TOPIC, "NaN", PAYLOAD_ERR_NUMBER, "" },
	{ TOPIC, "-Infinity", PAYLOAD_ERR_NUMBER, "" },
	{ TOPIC, "m v=nan", PAYLOAD_ERR_NUMBER, "" },
	{ TOPIC, "m v=9223372036854775808i", PAYLOAD_ERR_NUMBER, "" },
	{ TOPIC, "{\"v\":null}", PAYLOAD_ERR_NULL, "" },
	{ TOPIC, "null", PAYLOAD_ERR_NULL, "" },
	{ TOPIC, "{\"v\":[1,2]}", PAYLOAD_ERR_NESTED_ARRAY, "" },
	{ TOPIC, "[[{\"v\":1}]]", PAYLOAD_ERR_NESTED_ARRAY, "" },
	{ TOPIC, "[{\"v\":1},3]", PAYLOAD_ERR_NOT_OBJECT, "" },
	{ TOPIC, "{\"ts\":1795665600}", PAYLOAD_ERR_NO_FIELDS, "" },
	{ TOPIC, "{}", PAYLOAD_ERR_NO_FIELDS, "" },
	{ TOPIC, "[]", PAYLOAD_ERR_NO_FIELDS, "" },
	{ TOPIC, "{\"room\":\"r1\"}", PAYLOAD_ERR_NO_FIELDS, "" },
	{ TOPIC, "", PAYLOAD_ERR_EMPTY, "" },
	{ TOPIC, " \n ", PAYLOAD_ERR_EMPTY, "" },
	{ TOPIC, "{\"ts\":\"2300-01-01T00:00:00Z\",\"v\":1}", PAYLOAD_ERR_TIME, "" },
	{ TOPIC, "{\"ts\":\"yesterday\",\"v\":1}", PAYLOAD_ERR_TIME, "" },
	{ TOPIC, "{\"ts\":1e300,\"v\":1}", PAYLOAD_ERR_TIME, "" },
	{ TOPIC, "{\"ts\":true,\"v\":1}", PAYLOAD_ERR_TIME, "" },
	{ TOPIC, "m v=1 99999999999999999999", PAYLOAD_ERR_TIME, "" },
	/* tag keys match flattened names: "room" as an object is no tag */
	{ TOPIC, "{\"room\":{\"a\":1},\"v\":1}", PAYLOAD_OK,
	  "{\"time\":\"" T0 "\",\"measurement\":\"env\"," TAGS ",\"fields\":{\"room_a\":1.0,\"v\":1.0}}\n" },
	{ TOPIC, "{\"room\":[1],\"v\":1}", PAYLOAD_ERR_NESTED_ARRAY, "" },
	{ TOPIC, "{\"room\":\"\",\"v\":1}", PAYLOAD_ERR_TAG, "" },
	{ TOPIC, "{\"\":1}", PAYLOAD_ERR_KEY, "" },
	{ TOPIC, "cpu load=abc", PAYLOAD_ERR_LINE_PROTOCOL, "" },
	{ TOPIC, "hello", PAYLOAD_ERR_LINE_PROTOCOL, "" },
	{ TOPIC, "cpu,host load=1", PAYLOAD_ERR_LINE_PROTOCOL, "" },
	{ TOPIC, "cpu s=\"open", PAYLOAD_ERR_LINE_PROTOCOL, "" },
	{ TOPIC, "cpu v=1 123 x", PAYLOAD_ERR_LINE_PROTOCOL, "" },
	{ "sensors/a/env", "{\"v\":1}", PAYLOAD_ERR_TOPIC, "" },
	{ "sensors/a/s-1/env/x", "{\"v\":1}", PAYLOAD_ERR_TOPIC, "" },
	{ "sensors/a//env", "{\"v\":1}", PAYLOAD_ERR_TOPIC, "" },
	{ "devices/a/s-1/env", "{\"v\":1}", PAYLOAD_ERR_TOPIC, "" },
};

static bool slow_only;

static struct payload_conv *
make_conv(struct topictpl *tpl, const char *template, size_t max,
	  enum payload_precision prec)
{
	static char *tag_keys[] = { "sensor_id", "site", "room", NULL };
	static char *time_keys[] = { "ts", "time", "timestamp", NULL };
	struct payload_opts o;
	struct payload_conv *pc = NULL;
	char err[128];

	CU_ASSERT_FATAL(topictpl_parse(tpl, template, err, sizeof(err)) ==
			TOPICTPL_OK);
	memset(&o, 0, sizeof(o));
	o.tag_keys = tag_keys;
	o.ntag_keys = 3;
	o.time_keys = time_keys;
	o.ntime_keys = 3;
	o.precision = prec;
	o.max_payload = max;
	o.default_measurement = "sensor";
	o.no_fast_path = slow_only;
	CU_ASSERT_FATAL(payload_conv_new(&pc, &o, tpl) == PAYLOAD_OK);
	return pc;
}

static void
test_table(void)
{
	struct topictpl tpl;
	struct payload_conv *pc = make_conv(&tpl,
		"sensors/{site}/{sensor_id}/{measurement}", 4096,
		PAYLOAD_PREC_AUTO);
	struct strbuf out;
	size_t n;

	strbuf_init(&out, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum payload_err err;

		err = payload_convert(pc, cases[i].topic, strlen(cases[i].topic),
				      cases[i].payload, strlen(cases[i].payload),
				      NOW_NS, &out, &n);
		if (err != cases[i].err ||
		    strcmp(out.buf ? out.buf : "", cases[i].out) != 0) {
			fprintf(stderr,
				"\ncase %zu '%s': got %s (%s) '%s', want %s '%s'\n",
				i, cases[i].payload, payload_reason(err),
				payload_detail(pc), out.buf ? out.buf : "",
				payload_reason(cases[i].err), cases[i].out);
		}
		CU_ASSERT_EQUAL(err, cases[i].err);
		CU_ASSERT_STRING_EQUAL(out.buf ? out.buf : "", cases[i].out);
		if (err)
			CU_ASSERT(payload_detail(pc)[0] != '\0');
	}
	strbuf_release(&out);
	payload_conv_free(pc);
	topictpl_release(&tpl);
}

/* The same table through jansson only: the flat-object fast path must not
 * change a single output byte or reason. */
static void
test_table_slow(void)
{
	slow_only = true;
	test_table();
	slow_only = false;
}

/* Payloads aimed at the fast path's edges, converted both ways. */
static void
test_fast_equals_slow(void)
{
	static const char *const p[] = {
		"{\"v\":-0}", "{\"v\":-0.0}", "{\"v\":1e5,\"w\":1E-2,\"x\":0.5}",
		"{\"v\":9223372036854775807}", "{\"v\":9223372036854775808}",
		"{\"v\":1e400}", "{\"v\":1e-400}", "{\"v\":01}", "{\"v\":1.}",
		"{\"v\":.5}", "{\"v\":+1}", "{\"v\":-}", "{\"v\":1,}",
		"  {  \"v\" :\t1 , \"b\":true,\"c\":false }\r\n",
		"{\"v\":1}x", "{\"v\":1", "{\"v\" 1}", "{\"v\":tru}",
		"{\"v\":\"a\\\"b\"}", "{\"v\":\"caf\u00e9\"}", "{\"v\":\"tab\there\"}",
		"{\"site\":3,\"v\":1}", "{\"room\":1.5,\"v\":1}", "{\"room\":true,\"v\":1}",
		"{\"room\":\"\",\"v\":1}", "{\"measurement\":\"m2\",\"v\":1}",
		"{\"measurement\":\"\",\"v\":1}", "{\"measurement\":5}",
		"{\"ts\":\"2026-11-26T04:00:00Z\",\"ts\":1}",
		"{\"ts\":1795665600,\"time\":\"x\",\"v\":1}", "{\"ts\":false,\"v\":1}",
		"{\"ts\":1e30,\"v\":1}", "{\"ts\":-1.5,\"v\":1}", "{\"\":1}",
		"{}", "{\"ts\":1}", "{\"v\":null}", "{\"v\":{\"w\":1}}",
	};
	struct topictpl t1, t2;
	struct payload_conv *fast, *slow;
	struct strbuf o1, o2;
	size_t n1, n2;

	fast = make_conv(&t1, "sensors/{site}/{sensor_id}/{measurement}", 4096,
			 PAYLOAD_PREC_AUTO);
	slow_only = true;
	slow = make_conv(&t2, "sensors/{site}/{sensor_id}/{measurement}", 4096,
			 PAYLOAD_PREC_AUTO);
	slow_only = false;
	strbuf_init(&o1, 0);
	strbuf_init(&o2, 0);
	for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
		enum payload_err e1, e2;

		e1 = payload_convert(fast, TOPIC, strlen(TOPIC), p[i],
				     strlen(p[i]), NOW_NS, &o1, &n1);
		e2 = payload_convert(slow, TOPIC, strlen(TOPIC), p[i],
				     strlen(p[i]), NOW_NS, &o2, &n2);
		if (e1 != e2 || strcmp(o1.buf ? o1.buf : "", o2.buf ? o2.buf : "") ||
		    strcmp(payload_detail(fast), payload_detail(slow)))
			fprintf(stderr, "\n'%s': fast %s '%s' (%s), slow %s '%s' (%s)\n",
				p[i], payload_reason(e1), o1.buf ? o1.buf : "",
				payload_detail(fast), payload_reason(e2),
				o2.buf ? o2.buf : "", payload_detail(slow));
		CU_ASSERT_EQUAL(e1, e2);
		CU_ASSERT_STRING_EQUAL(o1.buf ? o1.buf : "", o2.buf ? o2.buf : "");
		CU_ASSERT_STRING_EQUAL(payload_detail(fast), payload_detail(slow));
	}
	strbuf_release(&o1);
	strbuf_release(&o2);
	payload_conv_free(fast);
	payload_conv_free(slow);
	topictpl_release(&t1);
	topictpl_release(&t2);
}

static void
test_no_measurement_template(void)
{
	struct topictpl tpl;
	struct payload_conv *pc = make_conv(&tpl, "other/{sensor_id}/#", 4096,
					    PAYLOAD_PREC_AUTO);
	struct strbuf out;
	size_t n;

	strbuf_init(&out, 0);
	CU_ASSERT_EQUAL(payload_convert(pc, "other/x/y", 9,
					"{\"measurement\":\"pm\",\"v\":1}", 26,
					NOW_NS, &out, &n), PAYLOAD_OK);
	CU_ASSERT_STRING_EQUAL(out.buf,
		"{\"time\":\"" T0 "\",\"measurement\":\"pm\",\"tags\":{\"sensor_id\":\"x\"},\"fields\":{\"v\":1.0}}\n");
	CU_ASSERT_EQUAL(payload_convert(pc, "other/x", 7, "5", 1, NOW_NS, &out,
					&n), PAYLOAD_OK);
	CU_ASSERT_STRING_EQUAL(out.buf,
		"{\"time\":\"" T0 "\",\"measurement\":\"sensor\",\"tags\":{\"sensor_id\":\"x\"},\"fields\":{\"value\":5.0}}\n");
	strbuf_release(&out);
	payload_conv_free(pc);
	topictpl_release(&tpl);
}

static void
test_too_large_and_utf8(void)
{
	struct topictpl tpl;
	struct payload_conv *pc = make_conv(&tpl, "#", 16, PAYLOAD_PREC_AUTO);
	struct strbuf out;
	size_t n;

	strbuf_init(&out, 0);
	CU_ASSERT_EQUAL(payload_convert(pc, "t", 1, "{\"value_long\":12345}",
					20, NOW_NS, &out, &n),
			PAYLOAD_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(payload_convert(pc, "t", 1, "{\"v\":\"\xff\"}", 9,
					NOW_NS, &out, &n), PAYLOAD_ERR_UTF8);
	CU_ASSERT_EQUAL(payload_convert(pc, "t", 1, "{\"v\":1}", 7, NOW_NS,
					&out, &n), PAYLOAD_OK);
	CU_ASSERT_EQUAL(n, 1);
	strbuf_release(&out);
	payload_conv_free(pc);
	topictpl_release(&tpl);
}

/* The magnitude rule of MQTT_TIME_PRECISION=auto, and the fixed units. */
static void
test_time_precision(void)
{
	static const struct {
		int64_t v;
		enum payload_precision p;
		int rc;
		int64_t ns;
	} t[] = {
		{ 0, PAYLOAD_PREC_AUTO, 0, 0 },
		{ 1795665600, PAYLOAD_PREC_AUTO, 0, 1795665600000000000LL },
		{ 99999999999LL, PAYLOAD_PREC_AUTO, 0, -1 },
		{ 100000000000LL, PAYLOAD_PREC_AUTO, 0, 100000000000000000LL },
		{ 1795665600123LL, PAYLOAD_PREC_AUTO, 0, 1795665600123000000LL },
		{ 99999999999999LL, PAYLOAD_PREC_AUTO, 0, -1 },
		{ 100000000000000LL, PAYLOAD_PREC_AUTO, 0, 100000000000000000LL },
		{ 1795665600123456LL, PAYLOAD_PREC_AUTO, 0, 1795665600123456000LL },
		{ 100000000000000000LL, PAYLOAD_PREC_AUTO, 0, 100000000000000000LL },
		{ 1795665600123456789LL, PAYLOAD_PREC_AUTO, 0, 1795665600123456789LL },
		{ -1795665600LL, PAYLOAD_PREC_AUTO, 0, -1795665600000000000LL },
		{ 1795665600123LL, PAYLOAD_PREC_S, -1, 0 },
		{ 1795665600123LL, PAYLOAD_PREC_MS, 0, 1795665600123000000LL },
		{ 1795665600LL, PAYLOAD_PREC_MS, 0, 1795665600000000LL },
		{ 1795665600LL, PAYLOAD_PREC_US, 0, 1795665600000LL },
		{ 1795665600LL, PAYLOAD_PREC_NS, 0, 1795665600LL },
	};
	int64_t ns;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		ns = 0;
		int rc = payload_time_from_int(t[i].v, t[i].p, &ns);

		/* 99999999999 s and 99999999999999 ms overflow int64 ns:
		 * the rule still picks s and ms for them */
		if (t[i].ns == -1) {
			CU_ASSERT_EQUAL(rc, -1);
			continue;
		}
		CU_ASSERT_EQUAL(rc, t[i].rc);
		if (rc == 0)
			CU_ASSERT_EQUAL(ns, t[i].ns);
	}
	CU_ASSERT_EQUAL(payload_time_from_double(1795665600.25,
						 PAYLOAD_PREC_AUTO, &ns), 0);
	CU_ASSERT_EQUAL(ns, 1795665600250000000LL);
	CU_ASSERT_EQUAL(payload_time_from_double(1795665600123.0,
						 PAYLOAD_PREC_AUTO, &ns), 0);
	CU_ASSERT_EQUAL(ns, 1795665600123000000LL);
	CU_ASSERT_EQUAL(payload_time_from_double(1e300, PAYLOAD_PREC_AUTO, &ns),
			-1);
	CU_ASSERT_EQUAL(payload_time_from_double(1e300 * 1e300,
						 PAYLOAD_PREC_AUTO, &ns), -1);
}

static void
test_explicit_precision(void)
{
	struct topictpl tpl;
	struct payload_conv *pc = make_conv(&tpl, "#", 4096, PAYLOAD_PREC_MS);
	struct strbuf out;
	size_t n;

	strbuf_init(&out, 0);
	/* 1795665600 read as ms is 1970-01-21 */
	CU_ASSERT_EQUAL(payload_convert(pc, "t", 1, "{\"ts\":1795665600,\"v\":1}",
					23, NOW_NS, &out, &n), PAYLOAD_OK);
	CU_ASSERT_STRING_EQUAL(out.buf,
		"{\"time\":\"1970-01-21T18:47:45.6Z\",\"measurement\":\"sensor\",\"tags\":{},\"fields\":{\"v\":1.0}}\n");
	strbuf_release(&out);
	payload_conv_free(pc);
	topictpl_release(&tpl);
}

/*
 * Line protocol keys longer than the 128-byte message copy of a field key:
 * the field was named from that stack copy with the full length (a read
 * past it, found by tests/fuzz/fuzz_lineproto). Tag keys and values long
 * enough to make a fresh arena grow while pc_add_tag copied them from that
 * same arena (a use after free under ASan/valgrind).
 */
static void
test_lp_long_keys(void)
{
	struct topictpl tpl;
	struct payload_conv *pc = make_conv(&tpl, "#", 0, PAYLOAD_PREC_NS);
	struct strbuf in, out, want;
	size_t n;

	strbuf_init(&in, 0);
	strbuf_init(&out, 0);
	strbuf_init(&want, 0);
	strbuf_addstr(&in, "m,");
	for (int i = 0; i < 300; i++)
		strbuf_addch(&in, 't');
	strbuf_addch(&in, '=');
	for (int i = 0; i < 300; i++)
		strbuf_addch(&in, 'v');
	strbuf_addch(&in, ' ');
	for (int i = 0; i < 200; i++)
		strbuf_addch(&in, 'k');
	strbuf_addstr(&in, "=1i 1700000000000000000");
	CU_ASSERT_EQUAL_FATAL(payload_convert(pc, "t", 1, in.buf, in.len, NOW_NS,
					      &out, &n), PAYLOAD_OK);
	CU_ASSERT_EQUAL(n, 1);
	strbuf_addstr(&want, "{\"time\":\"2023-11-14T22:13:20Z\","
		      "\"measurement\":\"m\",\"tags\":{\"");
	for (int i = 0; i < 300; i++)
		strbuf_addch(&want, 't');
	strbuf_addstr(&want, "\":\"");
	for (int i = 0; i < 300; i++)
		strbuf_addch(&want, 'v');
	strbuf_addstr(&want, "\"},\"fields\":{\"");
	for (int i = 0; i < 200; i++)
		strbuf_addch(&want, 'k');
	strbuf_addstr(&want, "\":1}}\n");
	CU_ASSERT_STRING_EQUAL(out.buf, want.buf);
	strbuf_release(&in);
	strbuf_release(&out);
	strbuf_release(&want);
	payload_conv_free(pc);
	topictpl_release(&tpl);
}

/*
 * Topic levels become the measurement and tags as they are: a topic that is
 * not UTF-8 gave a reading no later stage could parse, and a NUL in it cut
 * the measurement short, even to "" (found by tests/fuzz/fuzz_payload).
 */
static void
test_topic_utf8(void)
{
	struct topictpl tpl;
	struct payload_conv *pc = make_conv(&tpl, "s/{site}/{measurement}", 0,
					    PAYLOAD_PREC_AUTO);
	struct strbuf out;
	size_t n;

	strbuf_init(&out, 0);
	CU_ASSERT_EQUAL(payload_convert(pc, "s/a/en\xcd\xcdv", 10, "21.5", 4,
					NOW_NS, &out, &n), PAYLOAD_ERR_UTF8);
	CU_ASSERT_PTR_NOT_NULL(strstr(payload_detail(pc), "topic"));
	CU_ASSERT_EQUAL(out.len, 0);
	CU_ASSERT_EQUAL(payload_convert(pc, "s/\xff/env", 7, "21.5", 4,
					NOW_NS, &out, &n), PAYLOAD_ERR_UTF8);
	CU_ASSERT_EQUAL(payload_convert(pc, "s/a/\0env", 8, "21.5", 4, NOW_NS,
					&out, &n), PAYLOAD_ERR_UTF8);
	CU_ASSERT_EQUAL(payload_convert(pc, "s/caf\xc3\xa9/env", 11, "21.5", 4,
					NOW_NS, &out, &n), PAYLOAD_OK);
	strbuf_release(&out);
	payload_conv_free(pc);
	topictpl_release(&tpl);
}

/*
 * A line protocol measurement starting with 20 digits or more was taken for
 * an out-of-range bare number (jansson reports the overflow before the rest
 * of the line); found by tests/fuzz/fuzz_lineproto.
 */
static void
test_lp_digit_measurement(void)
{
	struct topictpl tpl;
	struct payload_conv *pc = make_conv(&tpl, "#", 0, PAYLOAD_PREC_NS);
	struct strbuf out;
	const char *lp = "123456789012345678901234m v=1i 1700000000000000000";
	char *exact;
	size_t n;

	strbuf_init(&out, 0);
	CU_ASSERT_EQUAL(payload_convert(pc, "t", 1, lp, strlen(lp), NOW_NS,
					&out, &n), PAYLOAD_OK);
	CU_ASSERT_STRING_EQUAL(out.buf ? out.buf : "",
		"{\"time\":\"2023-11-14T22:13:20Z\",\"measurement\":"
		"\"123456789012345678901234m\",\"tags\":{},\"fields\":"
		"{\"v\":1}}\n");
	CU_ASSERT_EQUAL(payload_convert(pc, "t", 1, "123456789012345678901234",
					24, NOW_NS, &out, &n),
			PAYLOAD_ERR_NUMBER);
	CU_ASSERT_EQUAL(payload_convert(pc, "t", 1, "-1e400", 6, NOW_NS, &out,
					&n), PAYLOAD_ERR_NUMBER);
	/* payloads are not NUL-terminated: the number check must stay within
	 * len (valgrind/ASan see a read past this exact-size copy) */
	exact = malloc(24);
	CU_ASSERT_PTR_NOT_NULL_FATAL(exact);
	memcpy(exact, "123456789012345678901234", 24);
	CU_ASSERT_EQUAL(payload_convert(pc, "t", 1, exact, 24, NOW_NS, &out, &n),
			PAYLOAD_ERR_NUMBER);
	free(exact);
	strbuf_release(&out);
	payload_conv_free(pc);
	topictpl_release(&tpl);
}

static void
test_reasons(void)
{
	for (int e = 0; e < PAYLOAD_ERR__COUNT; e++) {
		CU_ASSERT(payload_reason((enum payload_err)e)[0] != '\0');
		CU_ASSERT(strcmp(payload_reason((enum payload_err)e), "unknown") != 0);
		CU_ASSERT(payload_strerror((enum payload_err)e)[0] != '\0');
	}
}

int
test_mqtt_ingest_payload_suite(void)
{
	CU_pSuite s = CU_add_suite("mqtt_ingest_payload", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "payload table", test_table) ||
	    !CU_add_test(s, "payload table, jansson only", test_table_slow) ||
	    !CU_add_test(s, "fast path equals jansson", test_fast_equals_slow) ||
	    !CU_add_test(s, "template without {measurement}",
			 test_no_measurement_template) ||
	    !CU_add_test(s, "too large, bad UTF-8", test_too_large_and_utf8) ||
	    !CU_add_test(s, "time precision rule", test_time_precision) ||
	    !CU_add_test(s, "explicit precision", test_explicit_precision) ||
	    !CU_add_test(s, "line protocol long keys", test_lp_long_keys) ||
	    !CU_add_test(s, "topic not UTF-8", test_topic_utf8) ||
	    !CU_add_test(s, "line protocol, digits first",
			 test_lp_digit_measurement) ||
	    !CU_add_test(s, "reason tokens", test_reasons))
		return -1;
	return 0;
}
