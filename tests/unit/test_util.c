/*
 * test_util: strbuf caps and errno, JSON string escaping, base64 (RFC 4648
 * vectors), UTF-8 validation, secure_equal, and double_format (shortest
 * round trip, float marker, 100,000 random doubles bit-exact).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "util.h"
#include "banned.h"

static void
test_strbuf_basic(void)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	CU_ASSERT_EQUAL(strbuf_addstr(&sb, "ab"), 0);
	CU_ASSERT_EQUAL(strbuf_addch(&sb, 'c'), 0);
	CU_ASSERT_EQUAL(strbuf_addf(&sb, "-%d-%s", 42, "x"), 0);
	CU_ASSERT_STRING_EQUAL(sb.buf, "abc-42-x");
	CU_ASSERT_EQUAL(sb.len, 8);
	/* addf longer than the current capacity takes the second pass */
	CU_ASSERT_EQUAL(strbuf_addf(&sb, "%300s", "y"), 0);
	CU_ASSERT_EQUAL(sb.len, 308);
	CU_ASSERT_EQUAL(sb.buf[307], 'y');
	CU_ASSERT_EQUAL(sb.buf[308], '\0');
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(sb.len, 0);
	CU_ASSERT_STRING_EQUAL(sb.buf, "");
	strbuf_release(&sb);
	CU_ASSERT_PTR_NULL(sb.buf);
}

static void
test_strbuf_cap(void)
{
	struct strbuf sb;

	strbuf_init(&sb, 10);
	CU_ASSERT_EQUAL(strbuf_addstr(&sb, "0123456789"), 0);
	errno = 0;
	CU_ASSERT_EQUAL(strbuf_addch(&sb, 'x'), -1);
	CU_ASSERT_EQUAL(errno, E2BIG);
	CU_ASSERT_STRING_EQUAL(sb.buf, "0123456789");
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(strbuf_addstr(&sb, "abcd"), 0);
	errno = 0;
	CU_ASSERT_EQUAL(strbuf_addf(&sb, "%s", "0123456"), -1);
	CU_ASSERT_EQUAL(errno, E2BIG);
	CU_ASSERT_STRING_EQUAL(sb.buf, "abcd");
	CU_ASSERT_EQUAL(sb.len, 4);
	errno = 0;
	CU_ASSERT_EQUAL(strbuf_add_json_str(&sb, "abcdef", 6), -1);
	CU_ASSERT_EQUAL(errno, E2BIG);
	CU_ASSERT_STRING_EQUAL(sb.buf, "abcd");
	CU_ASSERT_EQUAL(strbuf_add_base64(&sb, "abcd", 4), -1);
	CU_ASSERT_EQUAL(strbuf_add(&sb, "012345", 6), 0);
	CU_ASSERT_EQUAL(sb.len, 10);
	CU_ASSERT(sb.cap <= 11);
	errno = 0;
	CU_ASSERT_EQUAL(strbuf_grow(&sb, SIZE_MAX), -1);
	CU_ASSERT_EQUAL(errno, E2BIG);
	strbuf_release(&sb);
}

static void
test_json_str(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "", 0, "\"\"" },
		{ "plain", 5, "\"plain\"" },
		{ "q\"b\\", 4, "\"q\\\"b\\\\\"" },
		{ "\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"" },
		{ "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
		{ "a\0b", 3, "\"a\\u0000b\"" },
		{ "/", 1, "\"/\"" },
		{ "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 12,
		  "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
	};
	struct strbuf sb;

	strbuf_init(&sb, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		strbuf_reset(&sb);
		CU_ASSERT_EQUAL(strbuf_add_json_str(&sb, cases[i].in,
						    cases[i].len), 0);
		CU_ASSERT_STRING_EQUAL(sb.buf, cases[i].out);
		CU_ASSERT_EQUAL(sb.len, strlen(cases[i].out));
	}
	strbuf_release(&sb);
}

static void
test_base64(void)
{
	/* RFC 4648 section 10 */
	static const char *const cases[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const unsigned char bin[] = { 0xfb, 0xff, 0xfe };
	struct strbuf sb;

	strbuf_init(&sb, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		strbuf_reset(&sb);
		CU_ASSERT_EQUAL(strbuf_add_base64(&sb, cases[i][0],
						  strlen(cases[i][0])), 0);
		CU_ASSERT_STRING_EQUAL(sb.buf ? sb.buf : "", cases[i][1]);
	}
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(strbuf_add_base64(&sb, bin, 3), 0);
	CU_ASSERT_STRING_EQUAL(sb.buf, "+//+");
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(strbuf_add_base64(&sb, "user:pass", 9), 0);
	CU_ASSERT_STRING_EQUAL(sb.buf, "dXNlcjpwYXNz");
	strbuf_release(&sb);
}

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "", true },
		{ "ascii", true },
		{ "\xc3\xa9", true },			/* U+00E9 */
		{ "\xe2\x82\xac", true },		/* U+20AC */
		{ "\xf0\x9f\x98\x80", true },		/* U+1F600 */
		{ "\xef\xbf\xbf", true },		/* U+FFFF */
		{ "\xf4\x8f\xbf\xbf", true },		/* U+10FFFF */
		{ "\xed\x9f\xbf", true },		/* U+D7FF */
		{ "\xee\x80\x80", true },		/* U+E000 */
		{ "\x80", false },			/* lone continuation */
		{ "\xc3", false },			/* truncated */
		{ "\xe2\x82", false },
		{ "\xf0\x9f\x98", false },
		{ "\xc0\xaf", false },			/* overlong '/' */
		{ "\xc1\xbf", false },
		{ "\xe0\x80\xaf", false },		/* overlong */
		{ "\xe0\x9f\xbf", false },
		{ "\xf0\x80\x80\xaf", false },
		{ "\xf0\x8f\xbf\xbf", false },		/* overlong U+FFFF */
		{ "\xed\xa0\x80", false },		/* U+D800 */
		{ "\xed\xbf\xbf", false },		/* U+DFFF */
		{ "\xf4\x90\x80\x80", false },		/* U+110000 */
		{ "\xf5\x80\x80\x80", false },
		{ "\xff", false },
		{ "\xfe", false },
		{ "\xc3\x28", false },			/* bad continuation */
		{ "a\xe2\x82\xac" "b\xc3", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CU_ASSERT_EQUAL(utf8_valid(cases[i].s, strlen(cases[i].s)),
				cases[i].ok);
	/* NUL bytes are valid UTF-8 (callers reject them separately) */
	CU_ASSERT_TRUE(utf8_valid("a\0b", 3));
}

static void
test_secure_equal(void)
{
	CU_ASSERT_TRUE(secure_equal("token", 5, "token", 5));
	CU_ASSERT_TRUE(secure_equal("", 0, "", 0));
	CU_ASSERT_FALSE(secure_equal("token", 5, "tokem", 5));
	CU_ASSERT_FALSE(secure_equal("token", 5, "token2", 6));
	CU_ASSERT_FALSE(secure_equal("token", 5, "tok", 3));
	CU_ASSERT_FALSE(secure_equal("", 0, "x", 1));
	CU_ASSERT_FALSE(secure_equal("a\0", 2, "a", 1));
}

static void
test_double_format_table(void)
{
	static const struct {
		double v;
		const char *out;
	} cases[] = {
		{ 0.1, "0.1" },
		{ 21.53, "21.53" },
		{ 40.1, "40.1" },
		{ 21.0, "21.0" },
		{ 0.0, "0.0" },
		{ -0.0, "-0.0" },
		{ -3.0, "-3.0" },
		{ 1e300, "1e+300" },
		{ 1e308, "1e+308" },
		{ 5e-324, "5e-324" },
		{ -5e-324, "-5e-324" },
		{ 2.225073858507201e-308, "2.225073858507201e-308" },
		{ 2.2250738585072014e-308, "2.2250738585072014e-308" },
		{ 1e-300, "1e-300" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 0.30000000000000004, "0.30000000000000004" },
		{ 1.0 / 3.0, "0.3333333333333333" },
		{ 123456789012345.0, "123456789012345.0" },
		{ 1e15, "1e+15" },
		{ 1e16, "1e+16" },
		{ 9007199254740993.0, "9007199254740992.0" },
		{ 1e21, "1e+21" },
		{ NAN, "NaN" },
		{ INFINITY, "Inf" },
		{ -INFINITY, "-Inf" },
	};
	char buf[DOUBLE_STR_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = double_format(cases[i].v, buf);

		CU_ASSERT_STRING_EQUAL(buf, cases[i].out);
		CU_ASSERT_EQUAL(n, strlen(cases[i].out));
	}
}

/* xorshift64*: a fixed seed gives the same 100,000 doubles every run. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void
test_double_format_roundtrip(void)
{
	uint64_t seed = 0x5e45012d1beULL;
	char buf[DOUBLE_STR_MAX];
	int bad = 0;

	for (int i = 0; i < 100000 && bad < 5; i++) {
		uint64_t bits = next_rand(&seed);
		double v, back;
		size_t n;

		/* raw bit patterns, sensor-like decimals, and full-precision
		 * values in the fixed-notation range of the fast path */
		if (i % 3 == 0) {
			memcpy(&v, &bits, sizeof(v));
		} else if (i % 3 == 1) {
			v = (double)(int64_t)(bits % 2000001) /
			    (i % 2 ? 100.0 : 1000.0) - 1000.0;
		} else {
			v = (double)(bits >> 11) / 9007199254740992.0 *
			    pow(10, (double)(bits % 19) - 4);
		}
		if (!isfinite(v))
			continue;
		n = double_format(v, buf);
		if (n >= DOUBLE_STR_MAX || strlen(buf) != n)
			bad++;
		back = strtod(buf, NULL);
		if (memcmp(&back, &v, sizeof(v)) != 0)
			bad++;
		/* the fast path gives exactly what the printf path gives */
		{
			char ref[400];
			int rn = 0;

			for (int prec = 15; prec <= 17; prec++) {
				rn = snprintf(ref, sizeof(ref), "%.*g", prec, v);
				if (strtod(ref, NULL) == v)
					break;
			}
			if (!strpbrk(ref, ".e"))
				snprintf(ref + rn, sizeof(ref) - (size_t)rn,
					 ".0");
			if (fabs(v) >= 2.3e-308 && strcmp(ref, buf) != 0) {
				if (bad < 5)
					fprintf(stderr, "%s != %s\n", buf, ref);
				bad++;
			}
		}
		/* never reads like a JSON integer */
		if (!strpbrk(buf, ".e"))
			bad++;
		/* shortest: one digit fewer must not round-trip */
		if (bad == 0 && i % 16 == 0) {
			char shorter[400];
			double s;
			int digits = 0;

			size_t end = n;

			/* significant digits, from the first non-zero one,
			 * the ".0" float marker not counted */
			if (n > 2 && strcmp(buf + n - 2, ".0") == 0)
				end = n - 2;
			for (size_t k = 0; k < end && buf[k] != 'e'; k++)
				if ((buf[k] >= '1' && buf[k] <= '9') ||
				    (digits && buf[k] == '0'))
					digits++;
			if (digits > 15) {
				snprintf(shorter, sizeof(shorter), "%.*g",
					 digits - 1, v);
				s = strtod(shorter, NULL);
				if (s == v)
					bad++;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void
test_clocks(void)
{
	int64_t a = time_now_ns(), m1 = time_mono_ms(), m2;

	/* after 2020-01-01, before 2262 */
	CU_ASSERT(a > 1577836800LL * 1000000000LL);
	m2 = time_mono_ms();
	CU_ASSERT(m2 >= m1);
	CU_ASSERT(m1 >= 0);
}

int
test_util_suite(void)
{
	CU_pSuite s = CU_add_suite("util", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "strbuf basic", test_strbuf_basic) ||
	    !CU_add_test(s, "strbuf cap and E2BIG", test_strbuf_cap) ||
	    !CU_add_test(s, "json string escaping", test_json_str) ||
	    !CU_add_test(s, "base64 RFC 4648 vectors", test_base64) ||
	    !CU_add_test(s, "utf8_valid", test_utf8) ||
	    !CU_add_test(s, "secure_equal", test_secure_equal) ||
	    !CU_add_test(s, "double_format table", test_double_format_table) ||
	    !CU_add_test(s, "double_format 100k round trips",
			 test_double_format_roundtrip) ||
	    !CU_add_test(s, "clocks", test_clocks))
		return -1;
	return 0;
}
