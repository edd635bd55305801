/*
 * Unit tests of alert-api/influxq (parameter checks, query text) and of
 * alert-api/api (routing, auth, 400 naming the parameter), no network.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../../alert-api/api.h"
#include "../../alert-api/influxq.h"
#include "../../alert-api/store.h"
#include "util.h"

#define NOW 1795000000000000000LL	/* 2026-11-18T... */

static void
test_times(void)
{
	static const struct {
		const char *in;
		int ok;
		int64_t want;
	} cases[] = {
		{"now", 1, NOW},
		{"-1h", 1, NOW - 3600000000000LL},
		{"-30m", 1, NOW - 1800000000000LL},
		{"-90s", 1, NOW - 90000000000LL},
		{"-500ms", 1, NOW - 500000000LL},
		{"-7d", 1, NOW - 7 * 86400000000000LL},
		{"-2w", 1, NOW - 14 * 86400000000000LL},
		{"2026-11-26T04:00:00Z", 1, 1795665600000000000LL},
		{"2026-11-26T05:00:00+01:00", 1, 1795665600000000000LL},
		/* found by fuzzing: more weeks than int64 ns hold overflowed */
		{"-999999w", 0, 0},
		{"-999999d", 0, 0},
		{"-99999d", 1, NOW - 99999 * 86400000000000LL},
		{"-1y", 0, 0},
		{"-h", 0, 0},
		{"-1234567h", 0, 0},
		{"1h", 0, 0},
		{"' OR 1=1", 0, 0},
		{"2026-11-26T04:00:00", 0, 0},
		{"2026-11-26 04:00:00Z", 0, 0},
		{"now()", 0, 0},
		{"-1h\n", 0, 0},
		{"", 0, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ns = 0;
		const char *why = NULL;
		int rc = influxq_parse_time(cases[i].in, NOW, &ns, &why);

		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (cases[i].ok) {
			CU_ASSERT_EQUAL(ns, cases[i].want);
		} else {
			CU_ASSERT_PTR_NOT_NULL(why);
		}
	}
}

static void
test_every_agg(void)
{
	int64_t ms;
	const char *why;
	enum influxq_agg agg;
	char buf[24];

	CU_ASSERT_EQUAL(influxq_parse_every("1m", &ms, &why), 0);
	CU_ASSERT_EQUAL(ms, 60000);
	CU_ASSERT_EQUAL(influxq_parse_every("250ms", &ms, &why), 0);
	CU_ASSERT_EQUAL(ms, 250);
	CU_ASSERT_EQUAL(influxq_parse_every("2h", &ms, &why), 0);
	CU_ASSERT_EQUAL(ms, 7200000);
	CU_ASSERT_EQUAL(influxq_parse_every("0s", &ms, &why), -1);
	CU_ASSERT_EQUAL(influxq_parse_every("366d", &ms, &why), -1);
	CU_ASSERT_EQUAL(influxq_parse_every("1w", &ms, &why), -1);
	CU_ASSERT_EQUAL(influxq_parse_every("1m) fill(0", &ms, &why), -1);
	CU_ASSERT_EQUAL(influxq_parse_every("-1m", &ms, &why), -1);
	CU_ASSERT_EQUAL(influxq_parse_every("", &ms, &why), -1);
	CU_ASSERT_EQUAL(influxq_parse_agg("mean", &agg, &why), 0);
	CU_ASSERT_EQUAL(agg, INFLUXQ_MEAN);
	CU_ASSERT_EQUAL(influxq_parse_agg("count", &agg, &why), 0);
	CU_ASSERT_EQUAL(agg, INFLUXQ_COUNT);
	CU_ASSERT_EQUAL(influxq_parse_agg("MEAN", &agg, &why), -1);
	CU_ASSERT_EQUAL(influxq_parse_agg("mean(x)", &agg, &why), -1);
	CU_ASSERT_EQUAL(influxq_parse_agg("sum", &agg, &why), -1);
	influxq_format_every(90000, buf);
	CU_ASSERT_STRING_EQUAL(buf, "90s");
	influxq_format_every(60000, buf);
	CU_ASSERT_STRING_EQUAL(buf, "1m");
	influxq_format_every(250, buf);
	CU_ASSERT_STRING_EQUAL(buf, "250ms");
	influxq_format_every(86400000, buf);
	CU_ASSERT_STRING_EQUAL(buf, "1d");
}

static void
test_names_ids(void)
{
	const char *why;
	char big[300];

	CU_ASSERT_EQUAL(influxq_check_name("temperature", &why), 0);
	CU_ASSERT_EQUAL(influxq_check_name("cpu.load-1:avg_x", &why), 0);
	CU_ASSERT_EQUAL(influxq_check_name("temp\"", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_name("temp\\", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_name("a b", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_name("/.*/", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_name("t'", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_name("température", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_name("", &why), -1);
	memset(big, 'a', 200);
	big[200] = '\0';
	CU_ASSERT_EQUAL(influxq_check_name(big, &why), -1);
	CU_ASSERT_EQUAL(influxq_check_id("s-0042", &why), 0);
	CU_ASSERT_EQUAL(influxq_check_id("it's \"quoted\" \\ /x/ é", &why), 0);
	CU_ASSERT_EQUAL(influxq_check_id("a\nb", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_id("a\rb", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_id("\xff\xfe", &why), -1);
	CU_ASSERT_EQUAL(influxq_check_id("", &why), -1);
	memset(big, 'a', 299);
	big[299] = '\0';
	CU_ASSERT_EQUAL(influxq_check_id(big, &why), -1);
}

static void
test_build(void)
{
	struct influxq_range r;
	struct strbuf q, p;

	memset(&r, 0, sizeof(r));
	snprintf(r.field, sizeof(r.field), "temperature");
	r.start_ns = 1000;
	r.end_ns = 2000;
	r.every_ms = 60000;
	r.agg = INFLUXQ_MAX;
	strbuf_init(&q, 0);
	strbuf_init(&p, 0);
	CU_ASSERT_EQUAL(influxq_build_readings(&r, 100, "x' OR 1=1 --\"\\",
					       &q, &p),
			0);
	CU_ASSERT_STRING_EQUAL(q.buf,
			       "SELECT max(\"temperature\") FROM /.*/ WHERE "
			       "\"sensor_id\" = $sensor AND time >= 1000 AND "
			       "time < 2000 GROUP BY time(60000ms) fill(none) "
			       "LIMIT 101");
	/* the id only ever appears JSON-escaped inside params */
	CU_ASSERT_STRING_EQUAL(p.buf,
			       "{\"sensor\":\"x' OR 1=1 --\\\"\\\\\"}");
	strbuf_reset(&q);
	strbuf_reset(&p);
	snprintf(r.measurement, sizeof(r.measurement), "env");
	CU_ASSERT_EQUAL(influxq_build_readings(&r, 100, "s-1", &q, &p), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(q.buf, "FROM \"env\" WHERE"));
	/* bad names and ranges are refused even if a caller forgot to check */
	strbuf_reset(&q);
	strbuf_reset(&p);
	snprintf(r.field, sizeof(r.field), "t\") FROM x; DROP");
	CU_ASSERT_EQUAL(influxq_build_readings(&r, 100, "s-1", &q, &p), -1);
	snprintf(r.field, sizeof(r.field), "t");
	CU_ASSERT_EQUAL(influxq_build_readings(&r, 100, "s\n1", &q, &p), -1);
	r.end_ns = r.start_ns;
	CU_ASSERT_EQUAL(influxq_build_readings(&r, 100, "s-1", &q, &p), -1);
	strbuf_release(&q);
	strbuf_release(&p);
	for (int e = INFLUXQ_OK; e <= INFLUXQ_ERR_NOMEM; e++)
		CU_ASSERT_TRUE(strlen(influxq_strerror((enum influxq_err)e)) > 0);
}

/* ---- api ---------------------------------------------------------------- */

static struct api api;
static struct store *store;

static int
api_setup(void)
{
	struct influxq_conf c = {.url = "http://127.0.0.1:1", .db = "x",
				 .timeout_ms = 100, .connect_timeout_ms = 100,
				 .max_points = 100};

	store = store_new(100);
	api_init(&api);
	api.store = store;
	api.influx = influxq_new(&c);
	api.max_points = 100;
	return store && api.influx ? 0 : -1;
}

static int
api_teardown(void)
{
	influxq_free(api.influx);
	store_free(store);
	return 0;
}

static int
call(const char *method, const char *path, const char *k1, const char *v1,
     struct api_response *resp)
{
	struct api_request req;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.now_ns = NOW;
	if (k1) {
		req.args[0].key = k1;
		req.args[0].value = v1;
		req.nargs = 1;
	}
	api_handle(&api, &req, resp);
	return resp->status;
}

static void
test_api_routes(void)
{
	struct api_response r;

	CU_ASSERT_EQUAL(call("GET", "/health", NULL, NULL, &r), 200);
	CU_ASSERT_STRING_EQUAL(r.body.buf, "{\"status\":\"ok\"}");
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/nope", NULL, NULL, &r), 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "{\"error\":{\"code\":\"not_found\""));
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("DELETE", "/alerts", NULL, NULL, &r), 405);
	CU_ASSERT_STRING_EQUAL(r.allow, "GET");
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts/8f14e45f-ceea-467a-9af0-fd5e5e5e5e5e/ack",
			     NULL, NULL, &r), 405);
	CU_ASSERT_STRING_EQUAL(r.allow, "POST");
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts/' OR 1=1", NULL, NULL, &r), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "id: must be a UUID"));
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts/8f14e45f-ceea-467a-9af0-fd5e5e5e5e5e",
			     NULL, NULL, &r), 404);
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts", "limit", "0", &r), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "limit: "));
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts", "limit", "1001", &r), 400);
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts", "status", "open", &r), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "status: "));
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts", "colour", "red", &r), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "unknown parameter 'colour'"));
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts", "cursor", "abc", &r), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "cursor: "));
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts", "sensor_id", "a\nb", &r), 400);
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/alerts", "sensor_id", "x' OR 1=1", &r), 200);
	CU_ASSERT_STRING_EQUAL(r.body.buf, "{\"items\":[],\"next_cursor\":null}");
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/sensors/a/readings", "agg", "sum", &r), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "field: required"));
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/sensors/a/readings", "field", "t\"", &r), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "field: "));
	api_response_release(&r);
	/* InfluxDB on port 1: nobody listens -> 503 JSON */
	CU_ASSERT_EQUAL(call("GET", "/sensors", NULL, NULL, &r), 503);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "influxdb_unavailable"));
	api_response_release(&r);
	CU_ASSERT_EQUAL(call("GET", "/metrics", NULL, NULL, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.buf, "alertapi_alerts{status=\"firing\",severity=\"critical\"} 0"));
	api_response_release(&r);
}

/* An empty GET request at NOW and an empty response for api_parse_readings. */
static void
readings_request(struct api_request *req, struct api_response *resp)
{
	memset(req, 0, sizeof(*req));
	memset(resp, 0, sizeof(*resp));
	strbuf_init(&resp->body, 0);
	req->method = "GET";
	req->now_ns = NOW;
}

static void
test_api_readings_params(void)
{
	struct api_request req;
	struct api_response resp;
	struct influxq_range r;

	readings_request(&req, &resp);
	req.args[0] = (struct api_kv){"field", "temperature"};
	req.args[1] = (struct api_kv){"start", "-1h"};
	req.args[2] = (struct api_kv){"every", "1s"};
	req.nargs = 3;
	/* 3600 points > 100 */
	CU_ASSERT_EQUAL(api_parse_readings(&req, 100, &r, &resp), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(resp.body.buf, "every: too small"));
	req.args[2] = (struct api_kv){"every", "1m"};
	CU_ASSERT_EQUAL(api_parse_readings(&req, 100, &r, &resp), 0);
	CU_ASSERT_EQUAL(r.end_ns - r.start_ns, 3600000000000LL);
	CU_ASSERT_EQUAL(r.agg, INFLUXQ_MEAN);
	req.args[1] = (struct api_kv){"start", "now"};
	CU_ASSERT_EQUAL(api_parse_readings(&req, 100, &r, &resp), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(resp.body.buf, "end: must be after start"));
	req.args[1] = (struct api_kv){"field", "x"};
	CU_ASSERT_EQUAL(api_parse_readings(&req, 100, &r, &resp), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(resp.body.buf, "field: given more than once"));
	api_response_release(&resp);
}

/*
 * start in 1677 and end in 2262: the span passes INT64_MAX ns and its
 * subtraction overflowed (found by tests/fuzz/fuzz_api); it is simply too
 * many points.
 */
static void
test_api_readings_widest(void)
{
	struct api_request req;
	struct api_response resp;
	struct influxq_range r;

	readings_request(&req, &resp);
	req.args[0] = (struct api_kv){"field", "t"};
	req.args[1] = (struct api_kv){"start", "1677-09-21T00:12:43.145224192Z"};
	req.args[2] = (struct api_kv){"end", "2262-04-11T23:47:16.854775807Z"};
	req.args[3] = (struct api_kv){"every", "365d"};
	req.nargs = 4;
	CU_ASSERT_EQUAL(api_parse_readings(&req, 100, &r, &resp), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(resp.body.buf, "every: too small"));
	CU_ASSERT_PTR_NOT_NULL(strstr(resp.body.buf, "(584 points"));
	api_response_release(&resp);
}

static void
test_api_auth(void)
{
	struct api_request req;
	struct api_response r;

	api.token = "s3cret-token";
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/alerts/8f14e45f-ceea-467a-9af0-fd5e5e5e5e5e/ack";
	req.now_ns = NOW;
	api_handle(&api, &req, &r);
	CU_ASSERT_EQUAL(r.status, 401);
	CU_ASSERT_TRUE(r.www_authenticate);
	api_response_release(&r);
	req.authorization = "Bearer s3cret-tokem";
	api_handle(&api, &req, &r);
	CU_ASSERT_EQUAL(r.status, 401);
	api_response_release(&r);
	req.authorization = "Bearer s3cret-token";
	req.body = "{\"by\":\"ann\"}";
	req.body_len = strlen(req.body);
	api_handle(&api, &req, &r);
	CU_ASSERT_EQUAL(r.status, 404);	/* authorized; no such alert */
	api_response_release(&r);
	req.body = "{\"by\":\"ann\",\"x\":1}";
	req.body_len = strlen(req.body);
	api_handle(&api, &req, &r);
	CU_ASSERT_EQUAL(r.status, 400);
	api_response_release(&r);
	/* reads are open unless API_AUTH_READS */
	CU_ASSERT_EQUAL(call("GET", "/health", NULL, NULL, &r), 200);
	api_response_release(&r);
	api.auth_reads = true;
	CU_ASSERT_EQUAL(call("GET", "/health", NULL, NULL, &r), 401);
	api_response_release(&r);
	api.auth_reads = false;
	api.token = NULL;
}

int
test_influxq_suite(void)
{
	CU_pSuite s = CU_add_suite("influxq", NULL, NULL);
	CU_pSuite a = CU_add_suite("alert-api routes", api_setup, api_teardown);

	if (!s || !a || !CU_add_test(s, "times", test_times) ||
	    !CU_add_test(s, "every and agg", test_every_agg) ||
	    !CU_add_test(s, "names and ids", test_names_ids) ||
	    !CU_add_test(s, "query text", test_build) ||
	    !CU_add_test(a, "routes", test_api_routes) ||
	    !CU_add_test(a, "readings params", test_api_readings_params) ||
	    !CU_add_test(a, "readings, widest range", test_api_readings_widest) ||
	    !CU_add_test(a, "auth", test_api_auth))
		return -1;
	return 0;
}
