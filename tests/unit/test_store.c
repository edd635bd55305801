/*
 * Unit tests of alert-api/store: upsert, eviction, indexes, cursors, acks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../../alert-api/store.h"
#include "record.h"
#include "util.h"

static struct tag tags_a[] = {{"sensor_id", "s-1"}, {"site", "a"}};
static struct tag tags_b[] = {{"sensor_id", "s-2"}, {"site", "b"}};

/* An alert numbered n (id ends in n), firing, rule r, sensor tags t. */
static void
make(struct alert *a, unsigned n, const char *rule, struct tag *t,
     enum severity sev)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "00000000-0000-4000-8000-%012u", n);
	snprintf(a->event_id, sizeof(a->event_id),
		 "10000000-0000-4000-8000-%012u", n);
	a->event = ALERT_FIRED;
	a->status = ALERT_FIRING;
	a->rule = rule;
	a->severity = sev;
	a->measurement = "env";
	a->field = "temperature";
	a->tags = t;
	a->ntags = 2;
	a->has_value = true;
	a->value = 80.5 + n;
	a->has_threshold = true;
	a->threshold = 80;
	a->started_at_ns = 1795000000000000000LL + (int64_t)n * 1000000000LL;
	a->time_ns = a->started_at_ns;
	a->message = "temperature above 80";
	a->summary = "temperature above 80";
	a->summary_source = "fallback";
}

/* Number of "id" occurrences in a list answer. */
static int
count_items(const char *json)
{
	int n = 0;

	for (const char *p = json; (p = strstr(p, "\"event_id\"")); p++)
		n++;
	return n;
}

/* The next_cursor of a list answer into buf ("" for null). */
static void
next_cursor(const char *json, char *buf, size_t size)
{
	const char *p = strstr(json, "\"next_cursor\":\"");

	buf[0] = '\0';
	if (p) {
		p += strlen("\"next_cursor\":\"");
		snprintf(buf, size, "%.*s", (int)strcspn(p, "\""), p);
	}
}

static void
test_upsert(void)
{
	struct store *s = store_new(10);
	struct alert a;
	struct strbuf sb;
	struct store_stats st;

	strbuf_init(&sb, 0);
	make(&a, 1, "temp-high", tags_a, SEVERITY_CRITICAL);
	CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	a.event = ALERT_SUMMARIZED;
	a.summary = "LLM says hot";
	a.summary_source = "llm";
	CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	a.event = ALERT_RESOLVED;
	a.status = ALERT_STATUS_RESOLVED;
	CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	store_get_stats(s, &st);
	CU_ASSERT_EQUAL(st.alerts, 1);
	CU_ASSERT_EQUAL(st.inserted, 1);
	CU_ASSERT_EQUAL(st.updated, 2);
	CU_ASSERT_EQUAL(st.by[ALERT_STATUS_RESOLVED][SEVERITY_CRITICAL], 1);
	CU_ASSERT_EQUAL(st.by[ALERT_FIRING][SEVERITY_CRITICAL], 0);
	CU_ASSERT_EQUAL(store_get(s, a.id, &sb), STORE_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "\"status\":\"resolved\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "\"summary\":\"LLM says hot\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "\"acknowledged\":null}"));
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(store_get(s, "00000000-0000-4000-8000-000000000099",
				  &sb),
			STORE_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(store_get(s, "not-a-uuid", &sb), STORE_ERR_BAD_ID);
	strbuf_release(&sb);
	store_free(s);
}

static void
test_eviction(void)
{
	struct store *s = store_new(3);
	struct alert a;
	struct store_stats st;
	struct strbuf sb;
	struct store_query q = {.status = -1, .severity = -1, .limit = 10};

	strbuf_init(&sb, 0);
	for (unsigned i = 1; i <= 5; i++) {
		make(&a, i, "r", i % 2 ? tags_a : tags_b, SEVERITY_WARNING);
		CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	}
	store_get_stats(s, &st);
	CU_ASSERT_EQUAL(st.alerts, 3);
	CU_ASSERT_EQUAL(st.evicted, 2);
	CU_ASSERT_FALSE(store_has(s, "00000000-0000-4000-8000-000000000001"));
	CU_ASSERT_FALSE(store_has(s, "00000000-0000-4000-8000-000000000002"));
	CU_ASSERT_TRUE(store_has(s, "00000000-0000-4000-8000-000000000003"));
	CU_ASSERT_EQUAL(st.by[ALERT_FIRING][SEVERITY_WARNING], 3);
	/* the sensor index lost its evicted members too */
	q.sensor_id = "s-1";
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 2);	/* 3 and 5 */
	strbuf_reset(&sb);
	q.sensor_id = "s-2";
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 1);	/* 4 */
	strbuf_release(&sb);
	store_free(s);
}

static void
test_filters(void)
{
	struct store *s = store_new(100);
	struct alert a;
	struct strbuf sb;
	struct store_query q = {.status = -1, .severity = -1, .limit = 100};

	strbuf_init(&sb, 0);
	for (unsigned i = 1; i <= 20; i++) {
		make(&a, i, i % 4 ? "temp-high" : "hum", i % 2 ? tags_a : tags_b,
		     i % 5 ? SEVERITY_WARNING : SEVERITY_CRITICAL);
		if (i % 3 == 0) {
			a.event = ALERT_RESOLVED;
			a.status = ALERT_STATUS_RESOLVED;
		}
		CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	}
	/* firing: not a multiple of 3 -> 14 */
	q.status = ALERT_FIRING;
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 14);
	/* firing and s-1 (odd, not multiple of 3): 1,5,7,11,13,17,19 */
	strbuf_reset(&sb);
	q.sensor_id = "s-1";
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 7);
	/* newest first: 19 before 17 */
	CU_ASSERT_TRUE(strstr(sb.buf, "000000000019") <
		       strstr(sb.buf, "000000000017"));
	/* rule hum (multiples of 4) and critical (multiples of 5): 20 */
	strbuf_reset(&sb);
	q.status = -1;
	q.sensor_id = NULL;
	q.rule = "hum";
	q.severity = SEVERITY_CRITICAL;
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "000000000020"));
	/* unknown values give an empty list */
	strbuf_reset(&sb);
	q.rule = "' OR 1=1";
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_STRING_EQUAL(sb.buf, "{\"items\":[],\"next_cursor\":null}");
	/* time: started_at in [5 s, 8 s) after the base: 5, 6, 7 */
	strbuf_reset(&sb);
	q.rule = NULL;
	q.severity = -1;
	q.has_since = q.has_until = true;
	q.since_ns = 1795000000000000000LL + 5000000000LL;
	q.until_ns = 1795000000000000000LL + 8000000000LL;
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 3);
	/* a resolved alert leaves the firing index; firing again rejoins */
	make(&a, 1, "temp-high", tags_a, SEVERITY_WARNING);
	a.status = ALERT_STATUS_RESOLVED;
	CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	strbuf_reset(&sb);
	memset(&q, 0, sizeof(q));
	q.status = ALERT_FIRING;
	q.severity = -1;
	q.limit = 100;
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 13);
	a.status = ALERT_FIRING;
	CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 14);
	/* still last (oldest) in the list: its place did not move */
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "000000000001\",\"event_id"));
	CU_ASSERT_TRUE(strstr(sb.buf, "000000000002\",") <
		       strstr(sb.buf, "000000000001\","));
	strbuf_release(&sb);
	store_free(s);
}

/* Pages of 3 while new alerts arrive: every old alert once, in order. */
static void
test_cursor_pages(void)
{
	struct store *s = store_new(1000);
	struct alert a;
	struct strbuf sb;
	struct store_query q;
	char cur[STORE_CURSOR_MAX];
	int seen[40] = {0}, pages = 0, last = 1000;

	strbuf_init(&sb, 0);
	for (unsigned i = 1; i <= 10; i++) {
		make(&a, i, "r", tags_a, SEVERITY_INFO);
		store_apply(s, &a);
	}
	cur[0] = '\0';
	do {
		memset(&q, 0, sizeof(q));
		q.status = -1;
		q.severity = -1;
		q.limit = 3;
		if (cur[0])
			CU_ASSERT_EQUAL_FATAL(store_cursor_decode(cur, &q.cursor),
					      STORE_OK);
		strbuf_reset(&sb);
		CU_ASSERT_EQUAL_FATAL(store_list(s, &q, &sb), STORE_OK);
		for (const char *p = sb.buf;
		     (p = strstr(p, "\"id\":\"00000000-0000-4000-8000-"));) {
			int n;

			p += strlen("\"id\":\"00000000-0000-4000-8000-");
			n = (int)strtol(p, NULL, 10);
			CU_ASSERT_TRUE(n < last);
			last = n;
			if (n >= 1 && n < 40)
				seen[n]++;
		}
		next_cursor(sb.buf, cur, sizeof(cur));
		/* two new alerts and an update arrive between pages */
		make(&a, 20 + (unsigned)pages * 2, "r", tags_a, SEVERITY_INFO);
		store_apply(s, &a);
		make(&a, 21 + (unsigned)pages * 2, "r", tags_a, SEVERITY_INFO);
		store_apply(s, &a);
		make(&a, 5, "r", tags_a, SEVERITY_INFO);
		a.status = ALERT_STATUS_RESOLVED;
		store_apply(s, &a);
		pages++;
	} while (cur[0] && pages < 10);
	CU_ASSERT_EQUAL(pages, 4);
	for (int i = 1; i <= 10; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
	for (int i = 20; i < 40; i++)
		CU_ASSERT_EQUAL(seen[i], 0);
	/* cursors: made-up or altered ones are refused */
	store_cursor_encode(7, cur);
	CU_ASSERT_EQUAL(store_cursor_decode(cur, &q.cursor), STORE_OK);
	CU_ASSERT_EQUAL(q.cursor, 7);
	cur[5] = cur[5] == '0' ? '1' : '0';
	CU_ASSERT_EQUAL(store_cursor_decode(cur, &q.cursor),
			STORE_ERR_BAD_CURSOR);
	CU_ASSERT_EQUAL(store_cursor_decode("' OR 1=1", &q.cursor),
			STORE_ERR_BAD_CURSOR);
	CU_ASSERT_EQUAL(store_cursor_decode("", &q.cursor),
			STORE_ERR_BAD_CURSOR);
	strbuf_release(&sb);
	store_free(s);
}

/* A cursor into an index list, also when its alert left the index. */
static void
test_cursor_index(void)
{
	struct store *s = store_new(100);
	struct alert a;
	struct strbuf sb;
	struct store_query q = {.status = ALERT_FIRING, .severity = -1,
				.limit = 2};
	char cur[STORE_CURSOR_MAX];

	strbuf_init(&sb, 0);
	for (unsigned i = 1; i <= 6; i++) {
		make(&a, i, "r", tags_a, SEVERITY_INFO);
		store_apply(s, &a);
	}
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);	/* 6, 5 */
	next_cursor(sb.buf, cur, sizeof(cur));
	CU_ASSERT_EQUAL_FATAL(store_cursor_decode(cur, &q.cursor), STORE_OK);
	make(&a, 5, "r", tags_a, SEVERITY_INFO);	/* 5 resolves */
	a.status = ALERT_STATUS_RESOLVED;
	store_apply(s, &a);
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "000000000004"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "000000000003"));
	strbuf_release(&sb);
	store_free(s);
}

static void
test_acks(void)
{
	char path[] = "/tmp/test_store_ackXXXXXX";
	int fd = mkstemp(path);
	struct store *s = store_new(10);
	struct alert a;
	struct strbuf sb;
	size_t replayed, bad;
	FILE *f;

	CU_ASSERT_FATAL(fd >= 0);
	/* a good line, one for an alert not here yet, a bad one, a torn one */
	f = fdopen(fd, "w");
	fputs("{\"id\":\"00000000-0000-4000-8000-000000000001\",\"by\":\"ann\","
	      "\"comment\":\"on it\",\"at\":\"2026-11-26T04:00:00Z\"}\n"
	      "{\"id\":\"00000000-0000-4000-8000-000000000002\",\"by\":\"bob\","
	      "\"comment\":null,\"at\":\"2026-11-26T04:00:01Z\"}\n"
	      "not json\n"
	      "{\"id\":\"00000000-0000-4000-8000-0000",
	      f);
	fclose(f);
	strbuf_init(&sb, 0);
	make(&a, 1, "r", tags_a, SEVERITY_INFO);
	store_apply(s, &a);
	CU_ASSERT_EQUAL(store_acklog_open(s, path, &replayed, &bad), STORE_OK);
	CU_ASSERT_EQUAL(replayed, 2);
	CU_ASSERT_EQUAL(bad, 2);
	CU_ASSERT_EQUAL(store_get(s, a.id, &sb), STORE_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf,
				      "\"acknowledged\":{\"by\":\"ann\","
				      "\"comment\":\"on it\","
				      "\"at\":\"2026-11-26T04:00:00Z\"}"));
	/* the pending ack applies when its alert arrives */
	make(&a, 2, "r", tags_a, SEVERITY_INFO);
	store_apply(s, &a);
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(store_get(s, a.id, &sb), STORE_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "{\"by\":\"bob\",\"comment\":null"));
	/* a user ack: unknown id refused, known one appended */
	CU_ASSERT_EQUAL(store_ack_record(s, "00000000-0000-4000-8000-000000000009",
					 "x", NULL, 0),
			STORE_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(store_ack_record(s, a.id, "carl", "done \"quoted\"",
					 1795000000000000000LL),
			STORE_OK);
	store_free(s);
	/* a restart replays all three, the torn line was closed off */
	s = store_new(10);
	CU_ASSERT_EQUAL(store_acklog_open(s, path, &replayed, &bad), STORE_OK);
	CU_ASSERT_EQUAL(replayed, 3);
	CU_ASSERT_EQUAL(bad, 2);
	store_apply(s, &a);
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(store_get(s, a.id, &sb), STORE_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "{\"by\":\"carl\",\"comment\":"
					      "\"done \\\"quoted\\\"\""));
	strbuf_release(&sb);
	store_free(s);
	unlink(path);
}

/* since/until over many blocks, started_at out of order, with eviction:
 * the block ranges skip work but never an alert. */
static void
test_time_index(void)
{
	struct store *s = store_new(1000);
	struct alert a;
	struct strbuf sb;
	struct store_query q = {.status = -1, .severity = -1, .limit = 1000};
	const int64_t base = 1795000000000000000LL;
	int want = 0;

	strbuf_init(&sb, 0);
	for (unsigned i = 1; i <= 1500; i++) {
		make(&a, i, "r", tags_a, SEVERITY_INFO);
		/* mostly rising, every 10th far in the past */
		a.started_at_ns = base + (int64_t)(i % 10 ? i : i / 10) * 1000000000LL;
		store_apply(s, &a);
	}
	/* kept: 501..1500; window [600 s, 700 s) */
	for (unsigned i = 501; i <= 1500; i++) {
		int64_t t = i % 10 ? i : i / 10;

		if (t >= 600 && t < 700)
			want++;
	}
	q.has_since = q.has_until = true;
	q.since_ns = base + 600 * 1000000000LL;
	q.until_ns = base + 700 * 1000000000LL;
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), want);
	/* 1000..1090 step 10 have t 100..109; so none; 600..699 minus tens
	 * (90) plus i/10 in 600..699 for i in 6000.. (none): 90 */
	CU_ASSERT_EQUAL(want, 90);
	/* the out-of-order ones: t 100..109 are alerts 1000, 1010, ... 1090 */
	strbuf_reset(&sb);
	q.since_ns = base + 100 * 1000000000LL;
	q.until_ns = base + 110 * 1000000000LL;
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_EQUAL(count_items(sb.buf), 10);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "000000001090"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "000000001000"));
	strbuf_release(&sb);
	store_free(s);
}

/* The rendered-JSON cache never serves a stale alert. */
static void
test_cache(void)
{
	struct store *s = store_new(5000);
	struct alert a;
	struct strbuf sb;
	struct store_query q = {.status = -1, .severity = -1, .limit = 1};

	strbuf_init(&sb, 0);
	make(&a, 1, "r", tags_a, SEVERITY_INFO);
	store_apply(s, &a);
	CU_ASSERT_EQUAL(store_get(s, a.id, &sb), STORE_OK);	/* cached */
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "\"status\":\"firing\""));
	a.status = ALERT_STATUS_RESOLVED;
	a.event = ALERT_RESOLVED;
	store_apply(s, &a);
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(store_list(s, &q, &sb), STORE_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "\"status\":\"resolved\""));
	CU_ASSERT_EQUAL(store_ack(s, a.id, "ann", NULL, 0, false), STORE_OK);
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(store_get(s, a.id, &sb), STORE_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "{\"by\":\"ann\""));
	/* the same answer twice (from the cache the second time) */
	{
		struct strbuf again;

		strbuf_init(&again, 0);
		CU_ASSERT_EQUAL(store_get(s, a.id, &again), STORE_OK);
		CU_ASSERT_STRING_EQUAL(sb.buf, again.buf);
		strbuf_release(&again);
	}
	/* pushed out of the window by 5000 newer alerts, still right */
	for (unsigned i = 2; i <= 4200; i++) {
		make(&a, i, "r", tags_b, SEVERITY_INFO);
		store_apply(s, &a);
		if (i % 7 == 0) {
			strbuf_reset(&sb);
			store_get(s, a.id, &sb);
		}
	}
	strbuf_reset(&sb);
	CU_ASSERT_EQUAL(store_get(s, "00000000-0000-4000-8000-000000000001",
				  &sb),
			STORE_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb.buf, "{\"by\":\"ann\""));
	strbuf_release(&sb);
	store_free(s);
}

static void
test_strerror(void)
{
	for (int e = STORE_OK; e <= STORE_ERR_IO; e++)
		CU_ASSERT_TRUE(strlen(store_strerror((enum store_err)e)) > 0);
	CU_ASSERT_TRUE(store_id_valid("8f14e45f-ceea-467a-9af0-fd5e5e5e5e5e"));
	CU_ASSERT_FALSE(store_id_valid("8f14e45f-ceea-467a-9af0-fd5e5e5e5e5"));
	CU_ASSERT_FALSE(store_id_valid("8f14e45f-ceea-467a-9af0-fd5e5e5e5e5e'"));
	CU_ASSERT_FALSE(store_id_valid("' OR 1=1 --"));
}

int
test_store_suite(void)
{
	CU_pSuite s = CU_add_suite("store", NULL, NULL);

	if (!s || !CU_add_test(s, "upsert", test_upsert) ||
	    !CU_add_test(s, "eviction", test_eviction) ||
	    !CU_add_test(s, "filters", test_filters) ||
	    !CU_add_test(s, "cursor pages", test_cursor_pages) ||
	    !CU_add_test(s, "cursor index", test_cursor_index) ||
	    !CU_add_test(s, "acks", test_acks) ||
	    !CU_add_test(s, "json cache", test_cache) ||
	    !CU_add_test(s, "time index", test_time_index) ||
	    !CU_add_test(s, "strerror", test_strerror))
		return -1;
	return 0;
}
