/*
 * test_rfc3339: parse (leap years, offsets, fraction digits, range edges,
 * every error code) and format (UTC, trailing zeros trimmed, round trip).
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "rfc3339.h"
#include "util.h"
#include "banned.h"

#define NS 1000000000LL

static const struct {
	const char *in;
	enum rfc3339_err err;
	int64_t ns;
	const char *why;
} parse_cases[] = {
	{ "1970-01-01T00:00:00Z", RFC3339_OK, 0, "" },
	{ "2026-11-26T04:00:00Z", RFC3339_OK, 1795665600LL * NS, "" },
	{ "2026-11-26T04:00:00.123Z", RFC3339_OK,
	  1795665600LL * NS + 123000000, "" },
	{ "2026-11-26t04:00:00.123456789z", RFC3339_OK,
	  1795665600LL * NS + 123456789, "" },
	{ "2026-11-26T13:00:00+09:00", RFC3339_OK, 1795665600LL * NS, "" },
	{ "2026-11-26T03:30:00-00:30", RFC3339_OK, 1795665600LL * NS, "" },
	{ "2026-11-26T04:00:00+00:00", RFC3339_OK, 1795665600LL * NS, "" },
	{ "2026-11-26T04:00:00-00:00", RFC3339_OK, 1795665600LL * NS, "" },
	{ "1969-12-31T23:59:59.999999999Z", RFC3339_OK, -1, "" },
	{ "2000-02-29T00:00:00Z", RFC3339_OK, 951782400LL * NS, "" },
	{ "2024-02-29T00:00:00Z", RFC3339_OK, 1709164800LL * NS, "" },
	{ "2000-03-01T00:00:00Z", RFC3339_OK, 951868800LL * NS, "" },
	{ "1900-02-28T00:00:00Z", RFC3339_OK, -2203977600LL * NS, "" },
	{ "2026-12-31T23:59:59Z", RFC3339_OK, 1798761599LL * NS, "" },
	{ "1677-09-21T00:12:43.145224192Z", RFC3339_OK, INT64_MIN, "" },
	{ "2262-04-11T23:47:16.854775807Z", RFC3339_OK, INT64_MAX, "" },
	{ "2262-04-12T08:47:16.854775807+09:00", RFC3339_OK, INT64_MAX, "" },
	/* one nanosecond outside */
	{ "1677-09-21T00:12:43.145224191Z", RFC3339_ERR_RANGE, 0,
	  "outside 1677-09-21..2262-04-11" },
	{ "2262-04-11T23:47:16.854775808Z", RFC3339_ERR_RANGE, 0,
	  "outside 1677-09-21..2262-04-11" },
	{ "0000-01-01T00:00:00Z", RFC3339_ERR_RANGE, 0,
	  "outside 1677-09-21..2262-04-11" },
	{ "9999-12-31T23:59:59Z", RFC3339_ERR_RANGE, 0,
	  "outside 1677-09-21..2262-04-11" },
	{ "1900-02-29T00:00:00Z", RFC3339_ERR_DATE, 0, "day out of range" },
	{ "2025-02-29T00:00:00Z", RFC3339_ERR_DATE, 0, "day out of range" },
	{ "2026-04-31T00:00:00Z", RFC3339_ERR_DATE, 0, "day out of range" },
	{ "2026-01-00T00:00:00Z", RFC3339_ERR_DATE, 0, "day out of range" },
	{ "2026-13-01T00:00:00Z", RFC3339_ERR_DATE, 0, "month out of range" },
	{ "2026-00-01T00:00:00Z", RFC3339_ERR_DATE, 0, "month out of range" },
	{ "2026-01-01T24:00:00Z", RFC3339_ERR_DATE, 0, "hour out of range" },
	{ "2026-01-01T00:60:00Z", RFC3339_ERR_DATE, 0, "minute out of range" },
	{ "2026-12-31T23:59:60Z", RFC3339_ERR_DATE, 0, "second out of range" },
	{ "2026-01-01T00:00:00+24:00", RFC3339_ERR_DATE, 0,
	  "offset out of range" },
	{ "2026-01-01T00:00:00.1234567890Z", RFC3339_ERR_SYNTAX, 0,
	  "more than 9 fractional digits" },
	{ "2026-01-01T00:00:00.Z", RFC3339_ERR_SYNTAX, 0,
	  "no digits after '.'" },
	{ "2026-01-01T00:00:00", RFC3339_ERR_SYNTAX, 0,
	  "missing offset (Z or +hh:mm)" },
	{ "2026-01-01T00:00:00.5", RFC3339_ERR_SYNTAX, 0,
	  "missing offset (Z or +hh:mm)" },
	{ "2026-01-01T00:00:00 Z", RFC3339_ERR_SYNTAX, 0,
	  "bad offset, expected Z or +hh:mm" },
	{ "2026-01-01T00:00:00+0900", RFC3339_ERR_SYNTAX, 0,
	  "bad offset, expected +hh:mm" },
	{ "2026-01-01T00:00:00+09", RFC3339_ERR_SYNTAX, 0,
	  "bad offset, expected +hh:mm" },
	{ "2026-01-01T00:00:00ZZ", RFC3339_ERR_SYNTAX, 0,
	  "trailing characters" },
	{ "2026-01-01 00:00:00Z", RFC3339_ERR_SYNTAX, 0,
	  "expected YYYY-MM-DDTHH:MM:SS" },
	{ "2026-1-01T00:00:00Z", RFC3339_ERR_SYNTAX, 0,
	  "expected YYYY-MM-DDTHH:MM:SS" },
	{ "26-01-01T00:00:00Z", RFC3339_ERR_SYNTAX, 0,
	  "expected YYYY-MM-DDTHH:MM:SS" },
	{ "", RFC3339_ERR_SYNTAX, 0, "expected YYYY-MM-DDTHH:MM:SS" },
	{ "+2026-01-01T00:00:00Z", RFC3339_ERR_SYNTAX, 0,
	  "expected YYYY-MM-DDTHH:MM:SS" },
	{ "1795665600", RFC3339_ERR_SYNTAX, 0, "expected YYYY-MM-DDTHH:MM:SS" },
};

static void
test_parse_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		int64_t ns = 12345;
		const char *why = NULL;
		enum rfc3339_err err;

		err = rfc3339_parse_why(parse_cases[i].in,
					strlen(parse_cases[i].in), &ns, &why);
		CU_ASSERT_EQUAL(err, parse_cases[i].err);
		if (err != parse_cases[i].err)
			fprintf(stderr, "case %zu '%s': got %d\n", i,
				parse_cases[i].in, err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(why);
		CU_ASSERT_STRING_EQUAL(why, parse_cases[i].why);
		if (strcmp(why, parse_cases[i].why) != 0)
			fprintf(stderr, "case '%s': why '%s'\n",
				parse_cases[i].in, why);
		if (parse_cases[i].err == RFC3339_OK)
			CU_ASSERT_EQUAL(ns, parse_cases[i].ns);
		CU_ASSERT_EQUAL(rfc3339_parse(parse_cases[i].in,
					      strlen(parse_cases[i].in), &ns),
				parse_cases[i].err);
	}
	/* only len bytes are read */
	{
		int64_t ns;

		CU_ASSERT_EQUAL(rfc3339_parse("1970-01-01T00:00:01Zgarbage",
					      20, &ns), RFC3339_OK);
		CU_ASSERT_EQUAL(ns, NS);
	}
}

static void
test_format(void)
{
	static const struct {
		int64_t ns;
		const char *out;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 1795665600LL * NS, "2026-11-26T04:00:00Z" },
		{ 1795665600LL * NS + 120000000, "2026-11-26T04:00:00.12Z" },
		{ 1795665600LL * NS + 1, "2026-11-26T04:00:00.000000001Z" },
		{ 1795665600LL * NS + 123456789,
		  "2026-11-26T04:00:00.123456789Z" },
		{ -1, "1969-12-31T23:59:59.999999999Z" },
		{ -NS, "1969-12-31T23:59:59Z" },
		{ 951782400LL * NS, "2000-02-29T00:00:00Z" },
		{ INT64_MIN, "1677-09-21T00:12:43.145224192Z" },
		{ INT64_MAX, "2262-04-11T23:47:16.854775807Z" },
	};
	char buf[RFC3339_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = rfc3339_format(cases[i].ns, buf);

		CU_ASSERT_STRING_EQUAL(buf, cases[i].out);
		CU_ASSERT_EQUAL(n, strlen(cases[i].out));
	}
}

static void
test_roundtrip(void)
{
	char buf[RFC3339_MAX];
	uint64_t x = 88172645463325252ULL;
	int bad = 0;

	for (int i = 0; i < 20000; i++) {
		int64_t ns, back = 0;
		size_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ns = (int64_t)x;
		if (i % 3 == 0)
			ns -= ns % NS;
		n = rfc3339_format(ns, buf);
		if (rfc3339_parse(buf, n, &back) != RFC3339_OK || back != ns)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* days_from_civil against known day counts and a day-by-day walk */
static void
test_days(void)
{
	CU_ASSERT_EQUAL(rfc3339_days_from_civil(1970, 1, 1), 0);
	CU_ASSERT_EQUAL(rfc3339_days_from_civil(2000, 3, 1), 11017);
	CU_ASSERT_EQUAL(rfc3339_days_from_civil(1969, 12, 31), -1);
	CU_ASSERT_EQUAL(rfc3339_days_from_civil(1600, 1, 1), -135140);
	/* 1900 has 365 days, 2000 has 366 */
	CU_ASSERT_EQUAL(rfc3339_days_from_civil(1901, 1, 1) -
			rfc3339_days_from_civil(1900, 1, 1), 365);
	CU_ASSERT_EQUAL(rfc3339_days_from_civil(2001, 1, 1) -
			rfc3339_days_from_civil(2000, 1, 1), 366);
	CU_ASSERT_EQUAL(rfc3339_days_from_civil(2100, 3, 1) -
			rfc3339_days_from_civil(2100, 2, 28), 1);
}

static void
test_strerror(void)
{
	CU_ASSERT_STRING_NOT_EQUAL(rfc3339_strerror(RFC3339_OK), "");
	CU_ASSERT_STRING_NOT_EQUAL(rfc3339_strerror(RFC3339_ERR_SYNTAX), "");
	CU_ASSERT_STRING_NOT_EQUAL(rfc3339_strerror(RFC3339_ERR_DATE), "");
	CU_ASSERT_STRING_NOT_EQUAL(rfc3339_strerror(RFC3339_ERR_RANGE), "");
}

int
test_rfc3339_suite(void)
{
	CU_pSuite s = CU_add_suite("rfc3339", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "parse table", test_parse_table) ||
	    !CU_add_test(s, "format trims zeros", test_format) ||
	    !CU_add_test(s, "format/parse round trip", test_roundtrip) ||
	    !CU_add_test(s, "days_from_civil", test_days) ||
	    !CU_add_test(s, "strerror", test_strerror))
		return -1;
	return 0;
}
