/*
 * test_eval: table-driven scenarios for every condition and transition of
 * the rule engine. Each step feeds one reading (or a wall-clock tick) and
 * lists the events it must produce, as "kind rule sensor value@started;".
 * Also: episode ids (UUID v5, checked against Python's uuid5), message
 * templates, the fallback summary, and state save/restore across a restart.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../../alert-engine/eval.h"
#include "../../alert-engine/rules.h"
#include "../../alert-engine/state.h"
#include "util.h"
#include "banned.h"

#define S_NS 1000000000LL
#define EVS (events.buf ? events.buf : "")
#define TICK "TICK"	/* step.sensor: eval_tick with t seconds idle */

struct step {
	const char *sensor;
	const char *field;	/* NULL: "temperature" */
	double v;
	double t;		/* seconds */
	const char *expect;	/* events, "" for none */
};

struct scenario {
	const char *name;
	const char *rules;	/* the "rules" array */
	int64_t lateness_s;
	unsigned flap_count;
	int64_t flap_window_s;
	struct step steps[24];
};

static struct strbuf events;
static char last_message[512];
static char last_summary[512];
static char last_id[UUID_STR_LEN_];

static void
collect(void *ctx, const struct eval_event *ev)
{
	const struct alert *a = &ev->alert;
	const char *sensor = "?";
	char v[32];

	(void)ctx;
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i].key, "sensor_id") == 0)
			sensor = a->tags[i].value;
	if (a->has_value)
		snprintf(v, sizeof(v), "%g", a->value);
	else
		snprintf(v, sizeof(v), "-");
	strbuf_addf(&events, "%s %s %s %s@%g;", alert_kind_name(a->event),
		    a->rule, sensor, v, (double)a->started_at_ns / S_NS);
	snprintf(last_message, sizeof(last_message), "%s", a->message);
	snprintf(last_summary, sizeof(last_summary), "%s", a->summary);
	memcpy(last_id, a->id, sizeof(last_id));
}

static void
feed(struct eval *e, const struct step *st)
{
	struct tag tags[2] = {{"sensor_id", st->sensor}, {"site", "a"}};
	struct field f = {.key = st->field ? st->field : "temperature",
			  .type = FIELD_FLOAT};
	struct reading r = {
		.time_ns = (int64_t)llround(st->t * S_NS), .has_time = true,
		.measurement = "env", .tags = tags, .ntags = 2, .fields = &f,
		.nfields = 1,
	};

	f.v.f = st->v;
	if (st->field && strcmp(st->field, "status") == 0) {
		f.type = FIELD_STRING;
		f.v.str.s = "on";
		f.v.str.len = 2;
	}
	if (strcmp(st->sensor, TICK) == 0)
		eval_tick(e, (int64_t)llround(st->t * S_NS), collect, NULL);
	else
		eval_reading(e, &r, collect, NULL);
}

static int
load(struct rules *rs, const char *arr)
{
	struct strbuf sb;
	int rc;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "{\"rules\": %s}", arr);
	rc = rules_parse(rs, sb.buf, sb.len, "test");
	if (rc)
		fprintf(stderr, "\nrules: %s\n", rs->err);
	strbuf_release(&sb);
	return rc;
}

static const struct scenario scenarios[] = {
	{"above, no for: one fired, no repeat, one resolved",
	 "[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80}]", 5, 0, 600,
	 {{"s1", NULL, 70, 0, ""},
	  {"s1", NULL, 85, 1, "fired hot s1 85@1;"},
	  {"s1", NULL, 90, 2, ""},
	  {"s1", NULL, 80, 3, "resolved hot s1 80@1;"},
	  {"s1", NULL, 80.5, 4, "fired hot s1 80.5@4;"}}},
	{"for ends exactly at a reading",
	 "[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80,"
	 "\"for\":\"30s\"}]", 5, 0, 600,
	 {{"s1", NULL, 85, 0, ""},
	  {"s1", NULL, 85, 10, ""},
	  {"s1", NULL, 85, 29.999, ""},
	  {"s1", NULL, 85, 30, "fired hot s1 85@0;"},
	  {"s1", NULL, 70, 31, "resolved hot s1 70@0;"}}},
	{"pending interrupted by a clear reading starts over",
	 "[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80,"
	 "\"for\":\"30s\"}]", 5, 0, 600,
	 {{"s1", NULL, 85, 0, ""},
	  {"s1", NULL, 70, 20, ""},
	  {"s1", NULL, 85, 40, ""},
	  {"s1", NULL, 85, 60, ""},
	  {"s1", NULL, 85, 70, "fired hot s1 85@40;"}}},
	{"hysteresis: between clear_below and above changes nothing",
	 "[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80,"
	 "\"clear_below\":78}]", 5, 0, 600,
	 {{"s1", NULL, 79, 0, ""},
	  {"s1", NULL, 81, 1, "fired hot s1 81@1;"},
	  {"s1", NULL, 79, 2, ""},
	  {"s1", NULL, 78, 3, ""},
	  {"s1", NULL, 77.9, 4, "resolved hot s1 77.9@1;"},
	  {"s1", NULL, 79.5, 5, ""},
	  {"s1", NULL, 80.1, 6, "fired hot s1 80.1@6;"}}},
	{"below with clear_above",
	 "[{\"name\":\"cold\",\"field\":\"temperature\",\"below\":5,"
	 "\"clear_above\":7}]", 5, 0, 600,
	 {{"s1", NULL, 4, 0, "fired cold s1 4@0;"},
	  {"s1", NULL, 6, 1, ""},
	  {"s1", NULL, 7.5, 2, "resolved cold s1 7.5@0;"}}},
	{"outside a band, both sides",
	 "[{\"name\":\"band\",\"field\":\"temperature\",\"outside\":[20,70]}]",
	 5, 0, 600,
	 {{"s1", NULL, 20, 0, ""},
	  {"s1", NULL, 19, 1, "fired band s1 19@1;"},
	  {"s1", NULL, 50, 2, "resolved band s1 50@1;"},
	  {"s1", NULL, 70, 3, ""},
	  {"s1", NULL, 71, 4, "fired band s1 71@4;"}}},
	{"rate over irregular spacing: oldest sample in the window",
	 "[{\"name\":\"jump\",\"field\":\"temperature\",\"rate_above\":5,"
	 "\"per\":\"60s\"}]", 5, 0, 600,
	 /* 0:10, 17:11 -> (11-10)/17*60 = 3.53; 40:16 -> 6/40*60 = 9;
	  * 95:16.5 -> base 40 (0 left the window): 0.5/55*60 = 0.545 */
	 {{"s1", NULL, 10, 0, ""},
	  {"s1", NULL, 11, 17, ""},
	  {"s1", NULL, 16, 40, "fired jump s1 9@40;"},
	  {"s1", NULL, 16.5, 95, "resolved jump s1 0.545455@40;"}}},
	{"rate_below, first reading has no base",
	 "[{\"name\":\"drop\",\"field\":\"temperature\",\"rate_below\":-5,"
	 "\"per\":\"1m\"}]", 5, 0, 600,
	 {{"s1", NULL, 20, 0, ""},
	  {"s1", NULL, 10, 30, "fired drop s1 -20@30;"},
	  {"s1", NULL, 10, 100, ""},
	  {"s1", NULL, 10, 130, "resolved drop s1 0@30;"}}},
	{"deadman on event time, advanced by another series",
	 "[{\"name\":\"silent\",\"measurement\":\"env\","
	 "\"deadman\":\"60s\"}]", 5, 0, 600,
	 {{"s1", NULL, 1, 0, ""},
	  {"s2", NULL, 1, 10, ""},
	  {"s2", NULL, 1, 59, ""},
	  {"s2", NULL, 1, 61, "fired silent s1 -@60;"},
	  {"s2", NULL, 1, 62, ""},
	  {"s1", NULL, 1, 70, "resolved silent s1 -@60;"}}},
	{"deadman on wall time while the input is silent",
	 "[{\"name\":\"silent\",\"deadman\":\"60s\"}]", 5, 0, 600,
	 {{"s1", NULL, 1, 100, ""},
	  {TICK, NULL, 0, 30, ""},
	  {TICK, NULL, 0, 60, "fired silent s1 -@160;"},
	  {TICK, NULL, 0, 90, ""},
	  {"s1", NULL, 1, 200, "resolved silent s1 -@160;"}}},
	{"out of order: within lateness applied, older ignored",
	 "[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80}]", 5, 0, 600,
	 {{"s1", NULL, 70, 10, ""},
	  {"s1", NULL, 85, 8, "fired hot s1 85@10;"},
	  {"s1", NULL, 70, 2, ""},
	  {"s1", NULL, 90, 11, ""},
	  {"s1", NULL, 70, 12, "resolved hot s1 70@10;"}}},
	{"flapping: the 3rd episode in the window is held until stable",
	 "[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80}]", 5, 3, 600,
	 {{"s1", NULL, 85, 0, "fired hot s1 85@0;"},
	  {"s1", NULL, 70, 10, "resolved hot s1 70@0;"},
	  {"s1", NULL, 85, 20, "fired hot s1 85@20;"},
	  {"s1", NULL, 70, 30, "resolved hot s1 70@20;"},
	  {"s1", NULL, 85, 40, "fired hot s1 85@40;"},
	  {"s1", NULL, 70, 50, ""},
	  {"s1", NULL, 85, 60, ""},
	  {"s1", NULL, 70, 70, ""},
	  {"s1", NULL, 70, 600, ""},
	  {"s1", NULL, 70, 670, "resolved hot s1 70@40;"},
	  {"s1", NULL, 85, 680, "fired hot s1 85@680;"},
	  {"s1", NULL, 70, 690, "resolved hot s1 70@680;"}}},
	{"one rule, several series, independent states",
	 "[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80}]", 5, 0, 600,
	 {{"s1", NULL, 85, 0, "fired hot s1 85@0;"},
	  {"s2", NULL, 70, 1, ""},
	  {"s2", NULL, 90, 2, "fired hot s2 90@2;"},
	  {"s1", NULL, 70, 3, "resolved hot s1 70@0;"},
	  {"s2", NULL, 95, 4, ""}}},
	{"a reading without the field leaves the state as it is",
	 "[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80,"
	 "\"for\":\"30s\"}]", 5, 0, 600,
	 {{"s1", NULL, 85, 0, ""},
	  {"s1", "humidity", 10, 20, ""},
	  {"s1", "status", 0, 25, ""},
	  {"s1", NULL, 85, 30, "fired hot s1 85@0;"}}},
	{"rule index: measurement, exact and glob where",
	 "[{\"name\":\"r1\",\"measurement\":\"env\",\"field\":\"temperature\","
	 "\"where\":{\"site\":\"a\"},\"above\":80},"
	 "{\"name\":\"r2\",\"field\":\"temperature\",\"where\":{\"site\":\"b\"},"
	 "\"above\":80},"
	 "{\"name\":\"r3\",\"measurement\":\"power\",\"field\":\"temperature\","
	 "\"above\":80},"
	 "{\"name\":\"r4\",\"field\":\"temperature\",\"where\":{\"site\":\"[ab]\","
	 "\"sensor_id\":\"s1\"},\"above\":80},"
	 "{\"name\":\"r5\",\"field\":\"temperature\",\"where\":"
	 "{\"sensor_id\":\"s*\"},\"above\":80},"
	 "{\"name\":\"r6\",\"field\":\"temperature\",\"where\":"
	 "{\"room\":\"*\"},\"above\":80}]", 5, 0, 600,
	 {{"s1", NULL, 85, 0, "fired r1 s1 85@0;fired r4 s1 85@0;fired r5 s1 85@0;"},
	  {"s2", NULL, 85, 1, "fired r1 s2 85@1;fired r5 s2 85@1;"},
	  {"x1", NULL, 85, 2, "fired r1 x1 85@2;"}}},
	{"two rules on one field, in rule order",
	 "[{\"name\":\"warm\",\"field\":\"temperature\",\"above\":30},"
	 "{\"name\":\"humid\",\"field\":\"humidity\",\"above\":90},"
	 "{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80}]", 5, 0, 600,
	 {{"s1", NULL, 85, 0, "fired warm s1 85@0;fired hot s1 85@0;"},
	  {"s1", "humidity", 95, 1, "fired humid s1 95@1;"},
	  {"s1", NULL, 50, 2, "resolved hot s1 50@0;"}}},
};

static void
run_scenario(const struct scenario *sc)
{
	struct rules rs;
	struct eval *e;
	struct eval_opts o = {
		.lateness_ns = sc->lateness_s * S_NS,
		.flap_count = sc->flap_count,
		.flap_window_ns = sc->flap_window_s * S_NS,
	};

	CU_ASSERT_EQUAL_FATAL(load(&rs, sc->rules), RULES_OK);
	CU_ASSERT_EQUAL_FATAL(eval_new(&e, &rs, &o), EVAL_OK);
	for (size_t i = 0; i < ARRAY_SIZE(sc->steps) && sc->steps[i].sensor;
	     i++) {
		strbuf_reset(&events);
		strbuf_addstr(&events, "");
		feed(e, &sc->steps[i]);
		if (strcmp(EVS, sc->steps[i].expect) != 0)
			fprintf(stderr, "\n%s, step %zu: got '%s' want '%s'\n",
				sc->name, i, EVS, sc->steps[i].expect);
		CU_ASSERT_STRING_EQUAL(EVS, sc->steps[i].expect);
	}
	eval_free(e);
	rules_release(&rs);
}

static void
test_eval_scenarios(void)
{
	strbuf_init(&events, 0);
	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
		run_scenario(&scenarios[i]);
	strbuf_release(&events);
}

static void
test_eval_too_late_counted(void)
{
	struct rules rs;
	struct eval *e;
	struct eval_opts o = {.lateness_ns = 5 * S_NS};
	const struct step a = {"s1", NULL, 1, 100, ""};
	const struct step b = {"s1", NULL, 1, 96, ""};
	const struct step c = {"s1", NULL, 1, 94, ""};

	strbuf_init(&events, 0);
	CU_ASSERT_EQUAL_FATAL(load(&rs, "[{\"name\":\"hot\",\"field\":"
				   "\"temperature\",\"above\":80}]"), RULES_OK);
	CU_ASSERT_EQUAL_FATAL(eval_new(&e, &rs, &o), EVAL_OK);
	feed(e, &a);
	feed(e, &b);
	feed(e, &c);
	CU_ASSERT_EQUAL(eval_stats(e)->readings, 3);
	CU_ASSERT_EQUAL(eval_stats(e)->late, 1);
	CU_ASSERT_EQUAL(eval_stats(e)->too_late, 1);
	CU_ASSERT_EQUAL(eval_stats(e)->series, 1);
	CU_ASSERT_EQUAL(eval_stats(e)->states, 1);
	eval_free(e);
	rules_release(&rs);
	strbuf_release(&events);
}

static void
test_eval_id_and_text(void)
{
	char id[UUID_STR_LEN_];
	struct rules rs;
	struct eval *e;
	struct eval_opts o = {.lateness_ns = 5 * S_NS};
	const struct step s0 = {"s-0042", NULL, 70, 1764129600.0, ""};
	const struct step s1 = {"s-0042", NULL, 85.5, 1764129690.0, ""};

	/* python3: uuid.uuid5(uuid.NAMESPACE_URL,
	 *   "temp-high\nenv,sensor_id=s-0042,site=a\n1764129600123000000") */
	CU_ASSERT_EQUAL(eval_episode_id("temp-high",
					"env,sensor_id=s-0042,site=a",
					1764129600123000000LL, id), 0);
	CU_ASSERT_STRING_EQUAL(id, "e7d7adb4-af14-51b1-adb9-7cf28deb9b0e");

	strbuf_init(&events, 0);
	CU_ASSERT_EQUAL_FATAL(load(&rs,
		"[{\"name\":\"temp-high\",\"field\":\"temperature\","
		"\"above\":80,\"for\":\"1m\",\"severity\":\"critical\","
		"\"message\":\"{sensor_id}: {field} {value} above {threshold} "
		"({rule}, site {tags.site}{tags.nope}, {duration}, "
		"{measurement}, {severity}, {series})\"}]"), RULES_OK);
	CU_ASSERT_EQUAL_FATAL(eval_new(&e, &rs, &o), EVAL_OK);
	feed(e, &s0);
	CU_ASSERT_STRING_EQUAL(EVS, "");
	feed(e, &s1);
	feed(e, &s1);
	CU_ASSERT_STRING_EQUAL(EVS, "");
	{
		const struct step hot0 = {"s-0042", NULL, 85.5, 1764129700.0, ""};
		const struct step hot1 = {"s-0042", NULL, 85.5, 1764129790.0, ""};

		feed(e, &hot0);
		feed(e, &hot1);
	}
	CU_ASSERT_STRING_EQUAL(EVS, "fired temp-high s-0042 85.5@1.76413e+09;");
	CU_ASSERT_STRING_EQUAL(last_message,
			       "s-0042: temperature 85.5 above 80 (temp-high, "
			       "site a, 1m40s, env, critical, "
			       "env,sensor_id=s-0042,site=a)");
	CU_ASSERT_STRING_EQUAL(last_summary,
			       "Critical: temperature of "
			       "env,sensor_id=s-0042,site=a is 85.5, above the "
			       "threshold 80 since 2025-11-26T04:01:30Z (1m40s, "
			       "rule temp-high).");
	CU_ASSERT_EQUAL(eval_episode_id("temp-high",
					"env,sensor_id=s-0042,site=a",
					1764129690000000000LL, id), 0);
	CU_ASSERT_STRING_EQUAL(last_id, id);
	eval_free(e);
	rules_release(&rs);
	strbuf_release(&events);
	for (int k = EVAL_OK; k <= EVAL_ERR_UNKNOWN; k++)
		CU_ASSERT(strlen(eval_strerror((enum eval_err)k)) > 0);
	for (int k = STATE_OK; k <= STATE_ERR_NOMEM; k++)
		CU_ASSERT(strlen(state_strerror((enum state_err)k)) > 0);
}

/* A restart through the state file neither re-fires nor loses pending. */
static void
test_eval_state_restart(void)
{
	static const char arr[] =
		"[{\"name\":\"hot\",\"field\":\"temperature\",\"above\":80,"
		"\"for\":\"30s\"},"
		"{\"name\":\"jump\",\"field\":\"temperature\",\"rate_above\":5,"
		"\"per\":\"60s\"},"
		"{\"name\":\"silent\",\"deadman\":\"60s\"}]";
	const struct step before[] = {
		{"s1", NULL, 85, 0, ""},		/* hot pending */
		{"s2", NULL, 85, 0, ""},
		{"s2", NULL, 85, 30, "fired hot s2 85@0;"},
	};
	const struct step after[] = {
		{"s2", NULL, 86, 31, ""},		/* no second fired */
		{"s1", NULL, 85, 31, "fired hot s1 85@0;"},	/* pending kept */
		{"s3", NULL, 70, 100, "fired silent s1 -@91;fired silent s2 -@91;"},
	};
	char path[] = "/tmp/test_eval_state.XXXXXX";
	struct rules rs;
	struct eval *e;
	struct eval_opts o = {.lateness_ns = 5 * S_NS};
	struct state_info si;
	char err[512];
	int fd;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	strbuf_init(&events, 0);
	CU_ASSERT_EQUAL_FATAL(load(&rs, arr), RULES_OK);
	CU_ASSERT_EQUAL_FATAL(eval_new(&e, &rs, &o), EVAL_OK);
	for (size_t i = 0; i < ARRAY_SIZE(before); i++) {
		strbuf_reset(&events);
		strbuf_addstr(&events, "");
		feed(e, &before[i]);
		CU_ASSERT_STRING_EQUAL(EVS, before[i].expect);
	}
	CU_ASSERT_EQUAL(state_save(path, e, (struct stage_pos){3, 1234}, err,
				   sizeof(err)), STATE_OK);
	eval_free(e);

	CU_ASSERT_EQUAL_FATAL(eval_new(&e, &rs, &o), EVAL_OK);
	CU_ASSERT_EQUAL(state_load(path, e, &si, err, sizeof(err)), STATE_OK);
	CU_ASSERT_EQUAL(si.pos.seg, 3);
	CU_ASSERT_EQUAL(si.pos.off, 1234);
	CU_ASSERT_EQUAL(si.clock, 30 * S_NS);
	CU_ASSERT(si.restored >= 4);
	CU_ASSERT_EQUAL(si.dropped, 0);
	for (size_t i = 0; i < ARRAY_SIZE(after); i++) {
		strbuf_reset(&events);
		strbuf_addstr(&events, "");
		feed(e, &after[i]);
		if (strcmp(EVS, after[i].expect) != 0)
			fprintf(stderr, "\nafter %zu: got '%s'\n", i, EVS);
		CU_ASSERT_STRING_EQUAL(EVS, after[i].expect);
	}
	eval_free(e);
	rules_release(&rs);

	/* a rule that is gone is dropped, not fatal */
	CU_ASSERT_EQUAL_FATAL(load(&rs, "[{\"name\":\"other\",\"field\":\"t\","
				   "\"above\":1}]"), RULES_OK);
	CU_ASSERT_EQUAL_FATAL(eval_new(&e, &rs, &o), EVAL_OK);
	CU_ASSERT_EQUAL(state_load(path, e, &si, err, sizeof(err)), STATE_OK);
	CU_ASSERT_EQUAL(si.restored, 0);
	CU_ASSERT(si.dropped >= 4);
	eval_free(e);
	rules_release(&rs);

	unlink(path);
	CU_ASSERT_EQUAL_FATAL(load(&rs, arr), RULES_OK);
	CU_ASSERT_EQUAL_FATAL(eval_new(&e, &rs, &o), EVAL_OK);
	CU_ASSERT_EQUAL(state_load(path, e, &si, err, sizeof(err)), STATE_OK);
	CU_ASSERT_EQUAL(si.restored, 0);
	CU_ASSERT_EQUAL(state_save("/nonexistent/dir/state", e,
				   (struct stage_pos){0, 0}, err, sizeof(err)),
			STATE_ERR_SYS);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "open: No such file"));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "not json\n", 9), 9);
	close(fd);
	CU_ASSERT_EQUAL(state_load(path, e, &si, err, sizeof(err)),
			STATE_ERR_FORMAT);
	unlink(path);
	eval_free(e);
	rules_release(&rs);
	strbuf_release(&events);
}

int
test_eval_suite(void)
{
	CU_pSuite s = CU_add_suite("eval", NULL, NULL);

	if (!s ||
	    !CU_add_test(s, "condition and transition scenarios",
			 test_eval_scenarios) ||
	    !CU_add_test(s, "late and too-late readings counted",
			 test_eval_too_late_counted) ||
	    !CU_add_test(s, "episode id, message, fallback summary",
			 test_eval_id_and_text) ||
	    !CU_add_test(s, "state file restart", test_eval_state_restart))
		return -1;
	return 0;
}
