/*
 * test_influx_http: the decisions influx.c makes without a network: which
 * precision name each API gets (1.x reads "us" as nanoseconds), how every
 * answer is classified (retry, split, fix the server side), Retry-After
 * clamping (libcurl 7.88 reports a past date as a large negative number),
 * and how the server's error text is pulled out of 1.x and 2.x bodies.
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../../influx-sink/influx.h"
#include "util.h"
#include "banned.h"

static void
test_precision(void)
{
	CU_ASSERT_STRING_EQUAL(influx_precision_param(INFLUX_API_V1, LINEPROTO_NS), "n");
	CU_ASSERT_STRING_EQUAL(influx_precision_param(INFLUX_API_V1, LINEPROTO_US), "u");
	CU_ASSERT_STRING_EQUAL(influx_precision_param(INFLUX_API_V1, LINEPROTO_MS), "ms");
	CU_ASSERT_STRING_EQUAL(influx_precision_param(INFLUX_API_V1, LINEPROTO_S), "s");
	CU_ASSERT_STRING_EQUAL(influx_precision_param(INFLUX_API_V2, LINEPROTO_NS), "ns");
	CU_ASSERT_STRING_EQUAL(influx_precision_param(INFLUX_API_V2, LINEPROTO_US), "us");
	CU_ASSERT_STRING_EQUAL(influx_precision_param(INFLUX_API_V2, LINEPROTO_MS), "ms");
	CU_ASSERT_STRING_EQUAL(influx_precision_param(INFLUX_API_V2, LINEPROTO_S), "s");
}

static void
test_classify(void)
{
	static const struct {
		long status;
		const char *msg;
		enum influx_err want;
	} c[] = {
		{ 204, "", INFLUX_OK },
		{ 200, "", INFLUX_OK },
		{ 400, "partial write: field type conflict: input field \"v\" on measurement \"m\" is type string, already exists as type float dropped=1", INFLUX_ERR_POINTS },
		{ 400, "unable to parse 'm v=': missing field value", INFLUX_ERR_POINTS },
		{ 400, "field type conflict", INFLUX_ERR_POINTS },
		{ 400, "partial write: points beyond retention policy dropped=1", INFLUX_ERR_POINTS },
		{ 422, "failure writing points to database: partial write: field type conflict", INFLUX_ERR_POINTS },
		{ 400, "something about the body we never saw", INFLUX_ERR_POINTS },
		{ 400, "database is required", INFLUX_ERR_REQUEST },
		{ 400, "invalid precision; valid precision units are ns, us, ms, and s", INFLUX_ERR_REQUEST },
		{ 400, "bucket is required", INFLUX_ERR_REQUEST },
		{ 401, "authorization failed", INFLUX_ERR_AUTH },
		{ 403, "", INFLUX_ERR_AUTH },
		{ 404, "database not found: \"nodb\"", INFLUX_ERR_NOT_FOUND },
		{ 404, "404 page not found", INFLUX_ERR_NOT_FOUND },
		{ 405, "", INFLUX_ERR_REQUEST },
		{ 408, "", INFLUX_ERR_TIMEOUT },
		{ 413, "Request Entity Too Large", INFLUX_ERR_TOO_LARGE },
		{ 429, "", INFLUX_ERR_THROTTLED },
		{ 503, "request throttled, queue full", INFLUX_ERR_THROTTLED },
		{ 500, "retention policy not found: nope", INFLUX_ERR_SERVER },
		{ 502, "", INFLUX_ERR_SERVER },
		{ 504, "", INFLUX_ERR_SERVER },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		enum influx_err got = influx_classify(c[i].status, c[i].msg);

		CU_ASSERT_EQUAL(got, c[i].want);
	}
	CU_ASSERT_EQUAL(influx_classify(400, NULL), INFLUX_ERR_POINTS);
}

static void
test_retry_after(void)
{
	CU_ASSERT_EQUAL(influx_retry_after_ms(0, 30000), -1);
	CU_ASSERT_EQUAL(influx_retry_after_ms(-350253891, 30000), -1);
	CU_ASSERT_EQUAL(influx_retry_after_ms(7, 30000), 7000);
	CU_ASSERT_EQUAL(influx_retry_after_ms(30, 30000), 30000);
	CU_ASSERT_EQUAL(influx_retry_after_ms(31, 30000), 30000);
	CU_ASSERT_EQUAL(influx_retry_after_ms(INT64_MAX, 300000), 300000);
}

static void
test_error_text(void)
{
	char out[64];
	static const char v1[] = "{\"error\":\"database not found: \\\"x\\\"\"}\n";
	static const char v2[] = "{\"code\":\"invalid\",\"message\":\"bad \\u00e9\"}";
	static const char text[] = "404 page not found\n";
	static const char lines[] = "a\nb\tc\r\n";

	influx_error_text(v1, strlen(v1), out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "database not found: \"x\"");
	influx_error_text(v2, strlen(v2), out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "bad \xc3\xa9");
	influx_error_text(text, strlen(text), out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "404 page not found");
	influx_error_text(lines, strlen(lines), out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "a b c");
	influx_error_text(NULL, 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "");
	/* cut to the buffer, never inside a UTF-8 sequence */
	{
		char small[6];
		static const char u[] = "abc\xc3\xa9xyz";

		influx_error_text(u, strlen(u), small, sizeof(small));
		CU_ASSERT_STRING_EQUAL(small, "abc\xc3\xa9");
		influx_error_text(u, strlen(u), small, 5);
		CU_ASSERT_STRING_EQUAL(small, "abc");
	}
}

static void
test_strerror(void)
{
	for (int e = INFLUX_OK; e <= INFLUX_ERR_CURL; e++) {
		const char *s = influx_strerror((enum influx_err)e);

		CU_ASSERT(s && s[0] && strcmp(s, "unknown influx error"));
	}
}

int
test_influx_http_suite(void)
{
	CU_pSuite s = CU_add_suite("influx_http", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "precision names per API", test_precision) ||
	    !CU_add_test(s, "answer classification", test_classify) ||
	    !CU_add_test(s, "Retry-After clamping", test_retry_after) ||
	    !CU_add_test(s, "server error text", test_error_text) ||
	    !CU_add_test(s, "every error has a text", test_strerror))
		return -1;
	return 0;
}
