/*
 * test_llm: the parts of the LLM client that need no network: the request
 * body (model, both messages, the facts of the alert) and the parsing of
 * answers (content extracted and folded to one line; every malformed
 * shape refused). The HTTP path is covered by t0303/t0304 against
 * tests/integration/fake_llm.py.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "../../alert-engine/llm.h"
#include "log.h"
#include "banned.h"

static void
test_llm_parse_answer(void)
{
	static const struct {
		const char *body;
		int rc;
		const char *want;
	} cases[] = {
		{"{\"choices\":[{\"message\":{\"content\":\"Hot in room 4.\"}}]}",
		 0, "Hot in room 4."},
		{"{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
		 "\"  Two\\n lines,\\t\\tfolded. \\n\"}}]}", 0,
		 "Two lines, folded."},
		{"{\"choices\":[]}", -1, NULL},
		{"{\"choices\":[{\"message\":{}}]}", -1, NULL},
		{"{\"choices\":[{\"message\":{\"content\":7}}]}", -1, NULL},
		{"{\"choices\":[{\"message\":{\"content\":\" \\n \"}}]}", -1, NULL},
		{"{\"error\":{\"message\":\"rate limited\"}}", -1, NULL},
		{"{\"choices\": [ this is not json", -1, NULL},
		{"", -1, NULL},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = llm_parse_answer(cases[i].body, strlen(cases[i].body),
					  out, sizeof(out));

		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (cases[i].want && rc == 0)
			CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
	/* a long answer is cut to the buffer, not in a UTF-8 sequence */
	{
		const char *body = "{\"choices\":[{\"message\":{\"content\":"
				   "\"aaaaaaa\\u00e9\\u00e9\\u00e9\"}}]}";
		char small[10];

		CU_ASSERT_EQUAL(llm_parse_answer(body, strlen(body), small,
						 sizeof(small)), 0);
		CU_ASSERT_STRING_EQUAL(small, "aaaaaaa");
	}
}

static void
test_llm_request_body(void)
{
	struct rules rs;
	struct eval_event ev;
	struct tag tags[1] = {{"sensor_id", "s-1"}};
	static const char text[] =
		"{\"rules\":[{\"name\":\"temp-high\",\"field\":\"temperature\","
		"\"above\":80,\"severity\":\"critical\"}]}";
	json_t *root, *msgs;
	char *body;

	CU_ASSERT_EQUAL_FATAL(rules_parse(&rs, text, strlen(text), "t"),
			      RULES_OK);
	memset(&ev, 0, sizeof(ev));
	ev.rule = &rs.v[0];
	ev.series = "env,sensor_id=s-1";
	ev.alert.rule = "temp-high";
	ev.alert.severity = SEVERITY_CRITICAL;
	ev.alert.measurement = "env";
	ev.alert.field = "temperature";
	ev.alert.tags = tags;
	ev.alert.ntags = 1;
	ev.alert.has_value = true;
	ev.alert.value = 85.5;
	ev.alert.has_threshold = true;
	ev.alert.threshold = 80;
	ev.alert.started_at_ns = 1764129600000000000LL;
	ev.alert.time_ns = 1764129630000000000LL;
	ev.alert.message = "s-1: temperature 85.5 above 80";
	ev.recent[0] = 79;
	ev.recent[1] = 85.5;
	ev.nrecent = 2;
	body = llm_request_body("gpt-test", &ev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	root = json_loads(body, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "model")),
			       "gpt-test");
	msgs = json_object_get(root, "messages");
	CU_ASSERT_EQUAL(json_array_size(msgs), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
				       json_array_get(msgs, 0), "role")),
			       "system");
	{
		const char *u = json_string_value(json_object_get(
			json_array_get(msgs, 1), "content"));

		CU_ASSERT_PTR_NOT_NULL_FATAL(u);
		CU_ASSERT_PTR_NOT_NULL(strstr(u, "Alert rule: temp-high "
					      "(severity critical, condition "
					      "above)"));
		CU_ASSERT_PTR_NOT_NULL(strstr(u, "Series: env,sensor_id=s-1"));
		CU_ASSERT_PTR_NOT_NULL(strstr(u, "Value: 85.5"));
		CU_ASSERT_PTR_NOT_NULL(strstr(u, "Threshold: 80.0"));
		CU_ASSERT_PTR_NOT_NULL(strstr(u, "since: 2025-11-26T04:00:00Z"));
		CU_ASSERT_PTR_NOT_NULL(strstr(u, "oldest first: 79.0 85.5"));
	}
	json_decref(root);
	free(body);
	rules_release(&rs);
	for (int k = LLM_OK; k <= LLM_SKIPPED; k++)
		CU_ASSERT(strlen(llm_strerror((enum llm_err)k)) > 0);
}

/* Without a server: requests fail fast, the breaker opens after 5 and the
 * next submissions are skipped (LLM_SKIPPED). */
static int done_calls;

static void
test_llm_done(void *ctx, const char *alert_json, size_t len,
	      const char *summary, const void *episode, int64_t started)
{
	(void)ctx;
	(void)alert_json;
	(void)len;
	(void)summary;
	(void)episode;
	(void)started;
	done_calls++;
}

static void
test_llm_breaker_offline(void)
{
	struct llm_opts o = {
		.base_url = "http://127.0.0.1:1/v1", .api_key = "k",
		.model = "m", .timeout_ms = 2000, .max_concurrency = 2,
		.cooldown_ms = 60000,
	};
	struct rules rs;
	struct eval_event ev;
	struct llm *l;
	static const char text[] =
		"{\"rules\":[{\"name\":\"r\",\"field\":\"f\",\"above\":1}]}";
	int64_t now = 1000;

	CU_ASSERT_EQUAL_FATAL(rules_parse(&rs, text, strlen(text), "t"),
			      RULES_OK);
	memset(&ev, 0, sizeof(ev));
	ev.rule = &rs.v[0];
	ev.series = "m";
	ev.alert.rule = "r";
	ev.alert.field = "f";
	ev.alert.measurement = "m";
	ev.alert.message = "x";
	CU_ASSERT_EQUAL_FATAL(llm_new(&l, &o), LLM_OK);
	/* the failures are logged as warnings: keep the test output quiet */
	log_configure(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(llm_submit(l, &ev, "{}", 2, now), LLM_OK);
	for (int i = 0; i < 400 && llm_pending(l) > 0; i++) {
		llm_step(l, now, test_llm_done, NULL);
		struct timespec ts = {0, 5000000};
		nanosleep(&ts, NULL);
	}
	CU_ASSERT_EQUAL(llm_pending(l), 0);
	CU_ASSERT_EQUAL(done_calls, 0);
	CU_ASSERT_EQUAL(llm_stats(l)->failed, 5);
	CU_ASSERT_EQUAL(llm_stats(l)->breaker_opens, 1);
	CU_ASSERT_EQUAL(llm_submit(l, &ev, "{}", 2, now + 1000), LLM_SKIPPED);
	CU_ASSERT_EQUAL(llm_stats(l)->skipped_open, 1);
	/* after the cool-down: a trial is accepted */
	CU_ASSERT_EQUAL(llm_submit(l, &ev, "{}", 2, now + 61000), LLM_OK);
	llm_free(l);
	log_configure(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, NULL);
	rules_release(&rs);
}

int
test_llm_suite(void)
{
	CU_pSuite s = CU_add_suite("llm", NULL, NULL);

	if (!s || !CU_add_test(s, "answer parsing", test_llm_parse_answer) ||
	    !CU_add_test(s, "request body", test_llm_request_body) ||
	    !CU_add_test(s, "breaker without a server",
			 test_llm_breaker_offline))
		return -1;
	return 0;
}
