/*
 * test_mqtt_publish_pubmsg: MQTT_PUBLISH_TOPIC parsing (every syntax error),
 * filling from records (keys, tags, numbers, every reason a record cannot
 * fill it), and payloads (compaction byte for byte, MQTT_PUBLISH_FIELD).
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "../../mqtt-publish/pubmsg.h"
#include "util.h"
#include "banned.h"

static const struct {
	const char *tpl;
	enum pubmsg_err err;
	size_t nparts;
} parse_cases[] = {
	{ "alerts/{tags.sensor_id}/{rule}", PUBMSG_OK, 4 },
	{ "alerts/{tags.site}/{tags.sensor_id}/{rule}", PUBMSG_OK, 6 },
	{ "{rule}", PUBMSG_OK, 1 },
	{ "a/{rule}-{severity}/b", PUBMSG_OK, 5 },
	{ "fixed/topic", PUBMSG_OK, 1 },
	{ "", PUBMSG_ERR_SYNTAX, 0 },
	{ "alerts/+/{rule}", PUBMSG_ERR_SYNTAX, 0 },
	{ "alerts/#", PUBMSG_ERR_SYNTAX, 0 },
	{ "alerts/{rule", PUBMSG_ERR_SYNTAX, 0 },
	{ "alerts/rule}", PUBMSG_ERR_SYNTAX, 0 },
	{ "alerts/{}", PUBMSG_ERR_SYNTAX, 0 },
	{ "alerts/{tags.}", PUBMSG_ERR_SYNTAX, 0 },
	{ "alerts/{a{b}}", PUBMSG_ERR_SYNTAX, 0 },
	{ "$SYS/{rule}", PUBMSG_ERR_SYNTAX, 0 },
	{ "{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}",
	  PUBMSG_ERR_SYNTAX, 0 },
};

static const struct {
	const char *tpl;
	const char *rec;
	enum pubmsg_err err;
	const char *want;	/* topic, or the detail on error */
} fill_cases[] = {
	{ "alerts/{tags.sensor_id}/{rule}",
	  "{\"rule\":\"temp-high\",\"tags\":{\"sensor_id\":\"s-1\"}}",
	  PUBMSG_OK, "alerts/s-1/temp-high" },
	{ "alerts/{tags.site}/{tags.sensor_id}/{rule}",
	  "{\"rule\":\"r\",\"tags\":{\"site\":\"a\",\"sensor_id\":\"s-1\"}}",
	  PUBMSG_OK, "alerts/a/s-1/r" },
	{ "a/{n}/{x}/{neg}", "{\"n\":42,\"x\":21.5,\"neg\":-3}",
	  PUBMSG_OK, "a/42/21.5/-3" },
	{ "a/{x}", "{\"x\":2.0}", PUBMSG_OK, "a/2.0" },
	{ "{rule}-{severity}", "{\"rule\":\"r\",\"severity\":\"critical\"}",
	  PUBMSG_OK, "r-critical" },
	{ "a/{u}", "{\"u\":\"caf\\u00e9 \\u00fc\"}", PUBMSG_OK, "a/caf\xc3\xa9 \xc3\xbc" },
	{ "fixed", "{}", PUBMSG_OK, "fixed" },
	{ "a/{rule}", "{\"x\":1}", PUBMSG_ERR_MISSING, "{rule}: missing" },
	{ "a/{tags.site}", "{\"tags\":{\"x\":\"1\"}}", PUBMSG_ERR_MISSING,
	  "{tags.site}: missing" },
	{ "a/{tags.site}", "{\"site\":\"top-level\"}", PUBMSG_ERR_MISSING,
	  "{tags.site}: missing" },
	{ "a/{tags.site}", "{\"tags\":\"a\"}", PUBMSG_ERR_MISSING,
	  "{tags.site}: missing" },
	{ "a/{rule}", "{\"rule\":\"\"}", PUBMSG_ERR_EMPTY, "{rule}: empty" },
	{ "a/{rule}", "{\"rule\":null}", PUBMSG_ERR_TYPE,
	  "{rule}: not a string or number" },
	{ "a/{rule}", "{\"rule\":true}", PUBMSG_ERR_TYPE,
	  "{rule}: not a string or number" },
	{ "a/{rule}", "{\"rule\":[\"x\"]}", PUBMSG_ERR_TYPE,
	  "{rule}: not a string or number" },
	{ "a/{rule}", "{\"rule\":{\"x\":1}}", PUBMSG_ERR_TYPE,
	  "{rule}: not a string or number" },
	{ "a/{rule}", "{\"rule\":\"x/y\"}", PUBMSG_ERR_VALUE,
	  "{rule}: contains '/', '+', '#' or NUL" },
	{ "a/{rule}", "{\"rule\":\"x+\"}", PUBMSG_ERR_VALUE,
	  "{rule}: contains '/', '+', '#' or NUL" },
	{ "a/{rule}", "{\"rule\":\"#\"}", PUBMSG_ERR_VALUE,
	  "{rule}: contains '/', '+', '#' or NUL" },
	{ "a/{tags.id}", "{\"tags\":{\"id\":\"a\\u0000b\"}}", PUBMSG_ERR_VALUE,
	  "{tags.id}: contains '/', '+', '#' or NUL" },
};

static void
test_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		struct pubmsg_tpl t;
		char err[200];
		enum pubmsg_err rc;

		rc = pubmsg_tpl_parse(&t, parse_cases[i].tpl, err, sizeof(err));
		if (rc != parse_cases[i].err)
			fprintf(stderr, "\ncase %zu '%s': rc %d err '%s'\n", i,
				parse_cases[i].tpl, rc, err);
		CU_ASSERT_EQUAL(rc, parse_cases[i].err);
		if (rc == PUBMSG_OK) {
			CU_ASSERT_EQUAL(t.nparts, parse_cases[i].nparts);
		} else {
			CU_ASSERT(err[0] != '\0');
		}
		pubmsg_tpl_release(&t);
	}
}

static void
test_fill(void)
{
	struct strbuf topic;

	strbuf_init(&topic, 0);
	for (size_t i = 0; i < ARRAY_SIZE(fill_cases); i++) {
		struct pubmsg_tpl t;
		char err[200], detail[200];
		json_error_t jerr;
		json_t *rec;
		enum pubmsg_err rc;
		const char *got;

		CU_ASSERT_FATAL(pubmsg_tpl_parse(&t, fill_cases[i].tpl, err,
						 sizeof(err)) == PUBMSG_OK);
		rec = json_loads(fill_cases[i].rec, JSON_ALLOW_NUL, &jerr);
		CU_ASSERT_FATAL(rec != NULL);
		rc = pubmsg_topic(&t, rec, &topic, detail, sizeof(detail));
		got = rc == PUBMSG_OK ? topic.buf : detail;
		if (rc != fill_cases[i].err || strcmp(got, fill_cases[i].want))
			fprintf(stderr, "\ncase %zu: rc %d got '%s'\n", i, rc,
				got);
		CU_ASSERT_EQUAL(rc, fill_cases[i].err);
		CU_ASSERT_STRING_EQUAL(got, fill_cases[i].want);
		CU_ASSERT(pubmsg_reason(rc)[0] != '\0');
		json_decref(rec);
		pubmsg_tpl_release(&t);
	}
	strbuf_release(&topic);
}

static void
test_topic_too_long(void)
{
	struct pubmsg_tpl t;
	struct strbuf topic, big;
	char err[200], detail[200];
	json_t *rec;

	strbuf_init(&topic, 0);
	strbuf_init(&big, 0);
	for (int i = 0; i < 70000; i++)
		strbuf_addch(&big, 'x');
	rec = json_pack("{s:s}", "k", big.buf);
	CU_ASSERT_FATAL(pubmsg_tpl_parse(&t, "a/{k}", err, sizeof(err)) ==
			PUBMSG_OK);
	CU_ASSERT_EQUAL(pubmsg_topic(&t, rec, &topic, detail, sizeof(detail)),
			PUBMSG_ERR_TOO_LONG);
	CU_ASSERT_STRING_EQUAL(detail, "{k}: makes the topic too long");
	json_decref(rec);
	pubmsg_tpl_release(&t);
	strbuf_release(&topic);
	strbuf_release(&big);
}

static const struct {
	const char *line;
	const char *field;
	enum pubmsg_err err;
	const char *want;
} payload_cases[] = {
	{ "{\"a\":1,\"b\":\"x\"}", NULL, PUBMSG_OK, "{\"a\":1,\"b\":\"x\"}" },
	{ " { \"a\" : 0.1 ,\t\"b\" : [ 1 , 2 ] } \r", NULL, PUBMSG_OK,
	  "{\"a\":0.1,\"b\":[1,2]}" },
	{ "{\"s\":\"keep  spaces \\\" and \\\\ \",\"n\":1e3}", NULL, PUBMSG_OK,
	  "{\"s\":\"keep  spaces \\\" and \\\\ \",\"n\":1e3}" },
	{ "{\"s\":\"\\\\\" , \"t\" : 2}", NULL, PUBMSG_OK,
	  "{\"s\":\"\\\\\",\"t\":2}" },
	{ "{\"message\":\"s-1: hot\",\"v\":1}", "message", PUBMSG_OK, "s-1: hot" },
	{ "{\"value\":85.2}", "value", PUBMSG_OK, "85.2" },
	{ "{\"value\":0.1}", "value", PUBMSG_OK, "0.1" },
	{ "{\"value\":17}", "value", PUBMSG_OK, "17" },
	{ "{\"ok\":true}", "ok", PUBMSG_OK, "true" },
	{ "{\"o\":{\"a\": [1, 21.53], \"b\": null}}", "o", PUBMSG_OK,
	  "{\"a\":[1,21.53],\"b\":null}" },
	{ "{\"v\":1}", "message", PUBMSG_ERR_NO_FIELD, "" },
	{ "{\"v\":1}", "", PUBMSG_OK, "{\"v\":1}" },
};

static void
test_payload(void)
{
	struct strbuf out;

	strbuf_init(&out, 0);
	for (size_t i = 0; i < ARRAY_SIZE(payload_cases); i++) {
		const char *line = payload_cases[i].line;
		json_error_t jerr;
		json_t *rec;
		enum pubmsg_err rc;

		rec = json_loadb(line, strlen(line), 0, &jerr);
		CU_ASSERT_FATAL(rec != NULL);
		rc = pubmsg_payload(rec, line, strlen(line),
				    payload_cases[i].field, &out);
		CU_ASSERT_EQUAL(rc, payload_cases[i].err);
		if (rc == PUBMSG_OK) {
			if (strcmp(out.buf, payload_cases[i].want))
				fprintf(stderr, "\ncase %zu: got '%s'\n", i,
					out.buf);
			CU_ASSERT_EQUAL(out.len, strlen(payload_cases[i].want));
			CU_ASSERT_STRING_EQUAL(out.buf, payload_cases[i].want);
		}
		json_decref(rec);
	}
	strbuf_release(&out);
}

static void
test_strerror(void)
{
	for (int e = PUBMSG_OK; e < PUBMSG_ERR__COUNT; e++) {
		CU_ASSERT(pubmsg_strerror((enum pubmsg_err)e)[0] != '\0');
		CU_ASSERT(strcmp(pubmsg_reason((enum pubmsg_err)e), "unknown"));
	}
}

int
test_mqtt_publish_pubmsg_suite(void)
{
	CU_pSuite s = CU_add_suite("mqtt_publish_pubmsg", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "template parse table", test_parse) ||
	    !CU_add_test(s, "template fill table", test_fill) ||
	    !CU_add_test(s, "topic too long", test_topic_too_long) ||
	    !CU_add_test(s, "payload table", test_payload) ||
	    !CU_add_test(s, "strerror and reasons", test_strerror))
		return -1;
	return 0;
}
