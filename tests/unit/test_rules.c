/*
 * test_rules: the rules file parser. Valid files give the expected rules;
 * every kind of invalid rule gives RULES_ERR_RULE (or _JSON) and a message
 * that names the rule, the key and the problem. Glob matching of `where`.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../../alert-engine/rules.h"
#include "banned.h"

static void
test_rules_valid(void)
{
	static const char text[] =
		"{\"rules\": ["
		"{\"name\": \"temp-high\", \"measurement\": \"env\", "
		"\"field\": \"temperature\", \"where\": {\"site\": \"a*\"}, "
		"\"above\": 80, \"clear_below\": 78, \"for\": \"30s\", "
		"\"severity\": \"critical\", \"message\": "
		"\"{sensor_id}: temperature {value} above {threshold} "
		"{tags.site} {duration}\"},"
		"{\"name\": \"humidity-band\", \"field\": \"humidity\", "
		"\"outside\": [20, 70]},"
		"{\"name\": \"temp-jump\", \"field\": \"temperature\", "
		"\"rate_above\": 5, \"per\": \"60s\"},"
		"{\"name\": \"silent\", \"measurement\": \"env\", "
		"\"deadman\": \"120s\", \"severity\": \"warning\"}]}";
	struct rules rs;
	struct tag tags[2] = {{"sensor_id", "s1"}, {"site", "a7"}};

	CU_ASSERT_EQUAL_FATAL(rules_parse(&rs, text, strlen(text), "t"),
			      RULES_OK);
	CU_ASSERT_EQUAL_FATAL(rs.n, 4);
	CU_ASSERT_STRING_EQUAL(rs.v[0].name, "temp-high");
	CU_ASSERT_EQUAL(rs.v[0].cond, RULES_ABOVE);
	CU_ASSERT_EQUAL(rs.v[0].threshold, 80);
	CU_ASSERT_EQUAL(rs.v[0].clear, 78);
	CU_ASSERT_TRUE(rs.v[0].has_clear);
	CU_ASSERT_EQUAL(rs.v[0].for_ns, 30000000000LL);
	CU_ASSERT_EQUAL(rs.v[0].severity, SEVERITY_CRITICAL);
	CU_ASSERT_EQUAL(rs.v[1].cond, RULES_OUTSIDE);
	CU_ASSERT_EQUAL(rs.v[1].threshold, 20);
	CU_ASSERT_EQUAL(rs.v[1].hi, 70);
	CU_ASSERT_EQUAL(rs.v[1].severity, SEVERITY_WARNING);
	CU_ASSERT_PTR_NULL(rs.v[1].measurement);
	CU_ASSERT_EQUAL(rs.v[2].cond, RULES_RATE_ABOVE);
	CU_ASSERT_EQUAL(rs.v[2].per_ns, 60000000000LL);
	CU_ASSERT_EQUAL(rs.v[3].cond, RULES_DEADMAN);
	CU_ASSERT_EQUAL(rs.v[3].deadman_ns, 120000000000LL);
	CU_ASSERT_PTR_NULL(rs.v[3].field);
	CU_ASSERT_TRUE(rules_match_series(&rs.v[0], "env", tags, 2));
	tags[1].value = "b1";
	CU_ASSERT_FALSE(rules_match_series(&rs.v[0], "env", tags, 2));
	CU_ASSERT_FALSE(rules_match_series(&rs.v[0], "env", tags, 1));
	CU_ASSERT_FALSE(rules_match_series(&rs.v[0], "power", tags, 2));
	CU_ASSERT_TRUE(rules_match_series(&rs.v[1], "power", tags, 0));
	rules_release(&rs);
	CU_ASSERT_EQUAL(rs.n, 0);
}

struct rules_bad_case {
	const char *text;
	enum rules_err rc;
	const char *msg;	/* expected substring of rules.err */
};

static const struct rules_bad_case rules_bad_cases[] = {
	{"{\"rules\": [", RULES_ERR_JSON, "t:1:"},
	{"[]", RULES_ERR_JSON, "must be an object"},
	{"{\"rule\": []}", RULES_ERR_JSON, "unknown top-level key 'rule'"},
	{"{\"rules\": {}}", RULES_ERR_JSON, "'rules' must be an array"},
	{"{\"rules\": [{\"name\":\"a\",\"field\":\"t\",\"above\":1},"
	 "{\"name\":\"b\",\"field\":\"t\",\"abve\":1}]}",
	 RULES_ERR_RULE, "rule 'b': unknown key 'abve'"},
	{"{\"rules\": [{\"field\":\"t\",\"above\":1}]}", RULES_ERR_RULE,
	 "rule #1: key 'name' is missing"},
	{"{\"rules\": [{\"name\":\"\",\"field\":\"t\",\"above\":1}]}",
	 RULES_ERR_RULE, "rule #1: key 'name' must not be empty"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":1},"
	 "{\"name\":\"x\",\"field\":\"t\",\"below\":1}]}", RULES_ERR_RULE,
	 "rule 'x': key 'name': the same name as rule #1"},
	{"{\"rules\": [{\"name\":\"x\",\"above\":1}]}", RULES_ERR_RULE,
	 "rule 'x': key 'field' is missing"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\"}]}", RULES_ERR_RULE,
	 "rule 'x': no condition"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":1,"
	 "\"below\":0}]}", RULES_ERR_RULE,
	 "rule 'x': keys 'above' and 'below': a rule has exactly one"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":\"80\"}]}",
	 RULES_ERR_RULE, "rule 'x': key 'above' must be a number"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":80,"
	 "\"clear_below\":82}]}", RULES_ERR_RULE,
	 "rule 'x': key 'clear_below' (82) must not be above 'above' (80)"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"below\":10,"
	 "\"clear_above\":5}]}", RULES_ERR_RULE,
	 "rule 'x': key 'clear_above' (5) must not be below 'below' (10)"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"below\":10,"
	 "\"clear_below\":5}]}", RULES_ERR_RULE,
	 "rule 'x': key 'clear_below' only goes with 'above'"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"outside\":[70,20]}]}",
	 RULES_ERR_RULE, "rule 'x': key 'outside': min (70) must be below"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"outside\":[1]}]}",
	 RULES_ERR_RULE, "rule 'x': key 'outside' must be [min, max]"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"rate_above\":5}]}",
	 RULES_ERR_RULE, "rule 'x': key 'rate_above' needs 'per'"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":5,"
	 "\"per\":\"60s\"}]}", RULES_ERR_RULE,
	 "rule 'x': key 'per' only goes with"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"rate_below\":-5,"
	 "\"per\":\"sixty\"}]}", RULES_ERR_RULE,
	 "rule 'x': key 'per': 'sixty' is not a duration"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":5,"
	 "\"for\":30}]}", RULES_ERR_RULE,
	 "rule 'x': key 'for' must be a string"},
	{"{\"rules\": [{\"name\":\"x\",\"deadman\":\"0s\"}]}", RULES_ERR_RULE,
	 "rule 'x': key 'deadman' must be positive"},
	{"{\"rules\": [{\"name\":\"x\",\"deadman\":\"1m\",\"for\":\"1s\"}]}",
	 RULES_ERR_RULE, "rule 'x': key 'for' does not go with 'deadman'"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":5,"
	 "\"severity\":\"high\"}]}", RULES_ERR_RULE,
	 "rule 'x': key 'severity': 'high' is not one of"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":5,"
	 "\"where\":{\"site\":1}}]}", RULES_ERR_RULE,
	 "rule 'x': key 'where.site' must be a string"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":5,"
	 "\"where\":[\"site\"]}]}", RULES_ERR_RULE,
	 "rule 'x': key 'where' must be an object"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":5,"
	 "\"message\":\"{sensor} hot\"}]}", RULES_ERR_RULE,
	 "rule 'x': key 'message': unknown placeholder '{sensor}'"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":5,"
	 "\"message\":\"{value hot\"}]}", RULES_ERR_RULE,
	 "rule 'x': key 'message': '{' at offset 0 is not closed"},
	{"{\"rules\": [{\"name\":\"x\",\"field\":\"t\",\"above\":5,"
	 "\"above\":6}]}", RULES_ERR_JSON, "duplicate"},
	{"{\"rules\": [7]}", RULES_ERR_RULE, "rule #1: a rule must be an object"},
};

static void
test_rules_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules_bad_cases); i++) {
		const struct rules_bad_case *c = &rules_bad_cases[i];
		struct rules rs;
		enum rules_err rc;

		rc = rules_parse(&rs, c->text, strlen(c->text), "t");
		if (rc != c->rc || !strstr(rs.err, c->msg))
			fprintf(stderr, "\ncase %zu: rc %d err '%s' (want %d "
				"'%s')\n", i, rc, rs.err, c->rc, c->msg);
		CU_ASSERT_EQUAL(rc, c->rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(rs.err, c->msg));
		CU_ASSERT_EQUAL(rs.n, 0);
	}
}

static void
test_rules_load_missing(void)
{
	struct rules rs;

	CU_ASSERT_EQUAL(rules_load(&rs, "/nonexistent/rules.json"),
			RULES_ERR_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(rs.err, "cannot read rules file "
				      "'/nonexistent/rules.json': open: "));
	for (int e = RULES_OK; e <= RULES_ERR_NOMEM; e++)
		CU_ASSERT(strlen(rules_strerror((enum rules_err)e)) > 0);
	for (int c = RULES_ABOVE; c <= RULES_DEADMAN; c++)
		CU_ASSERT(strlen(rules_cond_name((enum rules_cond)c)) > 0);
}

int
test_rules_suite(void)
{
	CU_pSuite s = CU_add_suite("rules", NULL, NULL);

	if (!s || !CU_add_test(s, "valid file", test_rules_valid) ||
	    !CU_add_test(s, "each error names rule and key", test_rules_bad) ||
	    !CU_add_test(s, "missing file", test_rules_load_missing))
		return -1;
	return 0;
}
