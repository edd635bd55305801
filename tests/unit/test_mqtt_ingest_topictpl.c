/*
 * test_mqtt_ingest_topictpl: MQTT_TOPIC_TEMPLATE parsing (every syntax
 * error) and matching (literals, tags, measurement, +, #, level counts).
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../../mqtt-ingest/topictpl.h"
#include "util.h"
#include "banned.h"

static const struct {
	const char *tpl;
	enum topictpl_err err;
} parse_cases[] = {
	{ "sensors/{sensor_id}/{measurement}", TOPICTPL_OK },
	{ "sensors/{site}/{sensor_id}/{measurement}", TOPICTPL_OK },
	{ "+/{a}/#", TOPICTPL_OK },
	{ "#", TOPICTPL_OK },
	{ "a//b", TOPICTPL_OK },
	{ "", TOPICTPL_ERR_SYNTAX },
	{ "a/#/b", TOPICTPL_ERR_SYNTAX },
	{ "a/{}/b", TOPICTPL_ERR_SYNTAX },
	{ "a/{x y}", TOPICTPL_ERR_SYNTAX },
	{ "a/x{y}", TOPICTPL_ERR_SYNTAX },
	{ "a/b+", TOPICTPL_ERR_SYNTAX },
	{ "{a}/{a}", TOPICTPL_ERR_SYNTAX },
	{ "{measurement}/{measurement}", TOPICTPL_ERR_SYNTAX },
	{ "1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/24/25/26/27/28/29/30/31/32/33",
	  TOPICTPL_ERR_SYNTAX },
};

static const struct {
	const char *tpl;
	const char *topic;
	enum topictpl_err err;
	const char *want;	/* "k=v,k=v;measurement" */
} match_cases[] = {
	{ "sensors/{site}/{sensor_id}/{measurement}", "sensors/a/s-1/env",
	  TOPICTPL_OK, "site=a,sensor_id=s-1;env" },
	{ "sensors/{sensor_id}/{measurement}", "sensors/s-1/env",
	  TOPICTPL_OK, "sensor_id=s-1;env" },
	{ "sensors/+/{sensor_id}", "sensors/x/s-2", TOPICTPL_OK, "sensor_id=s-2;" },
	{ "sensors/{sensor_id}/#", "sensors/s-3", TOPICTPL_OK, "sensor_id=s-3;" },
	{ "sensors/{sensor_id}/#", "sensors/s-3/a/b/c", TOPICTPL_OK,
	  "sensor_id=s-3;" },
	{ "#", "anything/at/all", TOPICTPL_OK, ";" },
	{ "sensors/{sensor_id}/{measurement}", "sensors/s-1",
	  TOPICTPL_ERR_MISMATCH, NULL },
	{ "sensors/{sensor_id}/{measurement}", "sensors/s-1/env/x",
	  TOPICTPL_ERR_MISMATCH, NULL },
	{ "sensors/{sensor_id}/{measurement}", "devices/s-1/env",
	  TOPICTPL_ERR_MISMATCH, NULL },
	{ "sensors/{sensor_id}/{measurement}", "sensors//env",
	  TOPICTPL_ERR_MISMATCH, NULL },
	{ "sensors/{sensor_id}/{measurement}", "sensors/s-1/",
	  TOPICTPL_ERR_MISMATCH, NULL },
	{ "sensors/+", "sensors/", TOPICTPL_OK, ";" },
};

static void
test_parse(void)
{
	struct topictpl t;
	char err[160];

	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		enum topictpl_err rc = topictpl_parse(&t, parse_cases[i].tpl,
						      err, sizeof(err));

		if (rc != parse_cases[i].err)
			fprintf(stderr, "\ntemplate '%s': got %d (%s)\n",
				parse_cases[i].tpl, rc, err);
		CU_ASSERT_EQUAL(rc, parse_cases[i].err);
		if (rc == TOPICTPL_OK)
			topictpl_release(&t);
		else
			CU_ASSERT(err[0] != '\0');
	}
}

static void
test_match(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
		struct topictpl t;
		struct topictpl_tag tags[TOPICTPL_MAX_LEVELS];
		size_t ntags;
		const char *meas;
		size_t mlen;
		char err[160], got[256];
		enum topictpl_err rc;
		struct strbuf sb;

		CU_ASSERT_FATAL(topictpl_parse(&t, match_cases[i].tpl, err,
					       sizeof(err)) == TOPICTPL_OK);
		rc = topictpl_match(&t, match_cases[i].topic,
				    strlen(match_cases[i].topic), tags, &ntags,
				    &meas, &mlen, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, match_cases[i].err);
		if (rc == TOPICTPL_OK && match_cases[i].want) {
			strbuf_init(&sb, 0);
			for (size_t k = 0; k < ntags; k++)
				strbuf_addf(&sb, "%s%s=%.*s", k ? "," : "",
					    tags[k].key, (int)tags[k].len,
					    tags[k].value);
			strbuf_addf(&sb, ";%.*s", (int)mlen, meas ? meas : "");
			snprintf(got, sizeof(got), "%s", sb.buf);
			strbuf_release(&sb);
			if (strcmp(got, match_cases[i].want) != 0)
				fprintf(stderr, "\n'%s' ~ '%s': got '%s'\n",
					match_cases[i].tpl, match_cases[i].topic,
					got);
			CU_ASSERT_STRING_EQUAL(got, match_cases[i].want);
		} else if (rc) {
			CU_ASSERT(err[0] != '\0');
		}
		topictpl_release(&t);
	}
}

static void
test_strerror(void)
{
	CU_ASSERT(topictpl_strerror(TOPICTPL_OK)[0]);
	CU_ASSERT(topictpl_strerror(TOPICTPL_ERR_SYNTAX)[0]);
	CU_ASSERT(topictpl_strerror(TOPICTPL_ERR_MISMATCH)[0]);
	CU_ASSERT(topictpl_strerror(TOPICTPL_ERR_NOMEM)[0]);
}

int
test_mqtt_ingest_topictpl_suite(void)
{
	CU_pSuite s = CU_add_suite("mqtt_ingest_topictpl", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "parse table", test_parse) ||
	    !CU_add_test(s, "match table", test_match) ||
	    !CU_add_test(s, "strerror", test_strerror))
		return -1;
	return 0;
}
