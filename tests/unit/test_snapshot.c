/*
 * Unit tests of alert-api/snapshot: a saved store loads back identical
 * (every list, filter, alert and cursor answers the same), and a damaged,
 * cut, empty or foreign state file is refused as a whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../../alert-api/snapshot.h"
#include "../../alert-api/store.h"
#include "record.h"
#include "util.h"

static struct tag snap_tags[3][2] = {
	{{"sensor_id", "s-1"}, {"site", "a"}},
	{{"sensor_id", "s-2"}, {"site", "b \"quoted\" \\ é"}},
	{{"room", "r1"}, {"zone", "z"}},	/* no sensor_id */
};

static const char *snap_rules[] = {"temp-high", "hum-low", "deadman"};

static void
snap_make(struct alert *a, unsigned n)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "00000000-0000-4000-8000-%012u", n);
	snprintf(a->event_id, sizeof(a->event_id),
		 "10000000-0000-4000-8000-%012u", n);
	a->event = ALERT_FIRED;
	a->status = ALERT_FIRING;
	a->rule = snap_rules[n % 3];
	a->severity = (enum severity)(n % 3);
	a->measurement = n % 3 == 2 ? "" : "env";
	a->field = n % 3 == 2 ? "" : "temperature";
	a->tags = snap_tags[n % 3];
	a->ntags = 2;
	a->has_value = n % 3 != 2;
	a->value = 80.5 + n / 7.0;
	a->has_threshold = n % 5 != 0;
	a->threshold = 80.125;
	a->started_at_ns = 1795000000000000000LL + (int64_t)n * 1000000007LL;
	a->time_ns = a->started_at_ns;
	a->message = "temperature above 80";
	a->summary = n % 4 == 0 ? "a different summary\nwith a newline"
				: (n % 4 == 1 ? "" : a->message);
	a->summary_source = n % 4 == 0 ? "llm" : "fallback";
}

/* A store of max 300 alerts after 400 new ones, updates and acks. */
static struct store *
snap_fill(void)
{
	struct store *s = store_new(300);
	struct alert a;
	char eid[37];

	for (unsigned n = 1; n <= 400; n++) {
		snap_make(&a, n);
		CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	}
	/* later events: resolved, a summary, a change of severity */
	for (unsigned n = 150; n <= 400; n += 3) {
		snap_make(&a, n);
		snprintf(eid, sizeof(eid), "20000000-0000-4000-8000-%012u", n);
		memcpy(a.event_id, eid, sizeof(eid));
		a.event = n % 2 ? ALERT_RESOLVED : ALERT_SUMMARIZED;
		a.status = n % 2 ? ALERT_STATUS_RESOLVED : ALERT_FIRING;
		a.severity = SEVERITY_CRITICAL;
		a.time_ns += 60000000000LL;
		a.summary = "summarised later";
		a.summary_source = "llm";
		CU_ASSERT_EQUAL(store_apply(s, &a), STORE_OK);
	}
	return s;
}

static char *
snap_list(struct store *s, const struct store_query *q)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	CU_ASSERT_EQUAL(store_list(s, q, &sb), STORE_OK);
	return sb.buf ? sb.buf : strdup("");
}

/* Every list the routes can ask for answers the same from a and b. */
static void
snap_compare(struct store *a, struct store *b)
{
	struct store_query qs[] = {
		{.status = -1, .severity = -1, .limit = 1000},
		{.status = -1, .severity = -1, .limit = 7},
		{.status = ALERT_FIRING, .severity = -1, .limit = 1000},
		{.status = ALERT_STATUS_RESOLVED, .severity = -1, .limit = 1000},
		{.status = -1, .severity = SEVERITY_CRITICAL, .limit = 1000},
		{.status = -1, .severity = -1, .sensor_id = "s-2", .limit = 1000},
		{.status = ALERT_FIRING, .severity = -1, .rule = "hum-low",
		 .limit = 10},
		{.status = -1, .severity = -1, .has_since = true,
		 .since_ns = 1795000000000000000LL + 200 * 1000000007LL,
		 .has_until = true,
		 .until_ns = 1795000000000000000LL + 250 * 1000000007LL,
		 .limit = 1000},
	};
	struct store_stats sa, sb;
	struct strbuf ga, gb;
	char id[37];

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		char *la = snap_list(a, &qs[i]), *lb = snap_list(b, &qs[i]);
		const char *c = strstr(la, "\"next_cursor\":\"");

		CU_ASSERT_STRING_EQUAL(la, lb);
		/* a cursor of the old store pages the new one alike */
		if (c) {
			struct store_query q = qs[i];
			char cur[STORE_CURSOR_MAX];

			snprintf(cur, sizeof(cur), "%.21s", c + 15);
			CU_ASSERT_EQUAL(store_cursor_decode(cur, &q.cursor),
					STORE_OK);
			free(la);
			free(lb);
			la = snap_list(a, &q);
			lb = snap_list(b, &q);
			CU_ASSERT_STRING_EQUAL(la, lb);
		}
		free(la);
		free(lb);
	}
	strbuf_init(&ga, 0);
	strbuf_init(&gb, 0);
	for (unsigned n = 1; n <= 400; n++) {
		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012u", n);
		strbuf_reset(&ga);
		strbuf_reset(&gb);
		CU_ASSERT_EQUAL(store_get(a, id, &ga), store_get(b, id, &gb));
		CU_ASSERT_EQUAL(ga.len, gb.len);
		if (ga.len == gb.len && ga.len)
			CU_ASSERT_EQUAL(memcmp(ga.buf, gb.buf, ga.len), 0);
	}
	strbuf_release(&ga);
	strbuf_release(&gb);
	store_get_stats(a, &sa);
	store_get_stats(b, &sb);
	CU_ASSERT_EQUAL(sa.alerts, sb.alerts);
	CU_ASSERT_EQUAL(memcmp(sa.by, sb.by, sizeof(sa.by)), 0);
}

static void
snap_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "/tmp/test_snapshot.%d.%s", (int)getpid(), name);
}

static void
test_round_trip(void)
{
	struct store *a = snap_fill(), *b = store_new(300), *c = store_new(300);
	struct stage_pos pos = {7, 123456};
	struct snapshot_info si, li;
	struct alert al;
	char path[256], err[512];

	snap_path(path, sizeof(path), "state");
	CU_ASSERT_EQUAL(store_ack(a, "00000000-0000-4000-8000-000000000390",
				  "ann", "on it", 1795000000000000000LL, false),
			STORE_OK);
	CU_ASSERT_EQUAL(snapshot_save(path, a, pos, &si, err, sizeof(err)),
			SNAPSHOT_OK);
	CU_ASSERT_EQUAL(si.alerts, 300);
	CU_ASSERT_EQUAL(si.first_seq, 101);	/* 100 were evicted */
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT_EQUAL(snapshot_load(path, b, &li, err, sizeof(err)),
			SNAPSHOT_OK);
	CU_ASSERT_EQUAL(li.alerts, 300);
	CU_ASSERT_EQUAL(li.pos.seg, 7);
	CU_ASSERT_EQUAL(li.pos.off, 123456);
	CU_ASSERT_EQUAL(li.first_seq, 101);
	/* acknowledgements come from API_ACK_FILE, replayed after the load */
	CU_ASSERT_EQUAL(store_ack(b, "00000000-0000-4000-8000-000000000390",
				  "ann", "on it", 1795000000000000000LL, false),
			STORE_OK);
	snap_compare(a, b);
	/* the next alert gets the same place in both */
	snap_make(&al, 401);
	CU_ASSERT_EQUAL(store_apply(a, &al), STORE_OK);
	CU_ASSERT_EQUAL(store_apply(b, &al), STORE_OK);
	snap_compare(a, b);
	/* saving the loaded store and loading that gives the same again */
	CU_ASSERT_EQUAL(snapshot_save(path, b, pos, NULL, err, sizeof(err)),
			SNAPSHOT_OK);
	CU_ASSERT_EQUAL(snapshot_load(path, c, &li, err, sizeof(err)),
			SNAPSHOT_OK);
	CU_ASSERT_EQUAL(store_ack(c, "00000000-0000-4000-8000-000000000390",
				  "ann", "on it", 1795000000000000000LL, false),
			STORE_OK);
	snap_compare(a, c);
	unlink(path);
	store_free(a);
	store_free(b);
	store_free(c);
}

static void
test_empty_store(void)
{
	struct store *a = store_new(10), *b = store_new(10);
	struct stage_pos pos = {1, 0};
	struct snapshot_info li;
	char path[256], err[512];

	snap_path(path, sizeof(path), "empty");
	CU_ASSERT_EQUAL(snapshot_save(path, a, pos, NULL, err, sizeof(err)),
			SNAPSHOT_OK);
	CU_ASSERT_EQUAL(snapshot_load(path, b, &li, err, sizeof(err)),
			SNAPSHOT_OK);
	CU_ASSERT_EQUAL(li.alerts, 0);
	CU_ASSERT_EQUAL(li.first_seq, 1);
	CU_ASSERT_EQUAL(li.pos.seg, 1);
	unlink(path);
	store_free(a);
	store_free(b);
}

/* Writes text to path. */
static void
snap_write(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(text, 1, len, f), len);
	fclose(f);
}

static char *
snap_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	CU_ASSERT_EQUAL(fread(buf, 1, *len, f), *len);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static enum snapshot_err
snap_try(const char *path, const char *text, size_t len, char *err,
	 size_t errsize)
{
	struct store *s = store_new(300);
	struct snapshot_info li;
	enum snapshot_err rc;

	snap_write(path, text, len);
	rc = snapshot_load(path, s, &li, err, errsize);
	store_free(s);
	return rc;
}

static void
test_damaged(void)
{
	struct store *a = snap_fill(), *b = store_new(300);
	struct stage_pos pos = {3, 99};
	struct snapshot_info li;
	char path[256], bad[256], err[512];
	char *good, *copy, *p;
	size_t len;

	snap_path(path, sizeof(path), "good");
	snap_path(bad, sizeof(bad), "bad");
	CU_ASSERT_EQUAL(snapshot_save(path, a, pos, NULL, err, sizeof(err)),
			SNAPSHOT_OK);
	good = snap_read(path, &len);
	copy = malloc(len + 1);

	/* missing */
	unlink(bad);
	CU_ASSERT_EQUAL(snapshot_load(bad, b, &li, err, sizeof(err)),
			SNAPSHOT_MISSING);
	/* empty */
	CU_ASSERT_EQUAL(snap_try(bad, "", 0, err, sizeof(err)),
			SNAPSHOT_ERR_FORMAT);
	/* cut in the middle of a line, and cut at a line end (no trailer) */
	CU_ASSERT_EQUAL(snap_try(bad, good, len / 2, err, sizeof(err)),
			SNAPSHOT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cut short"));
	p = strstr(good, "{\"end\":");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(snap_try(bad, good, (size_t)(p - good), err,
				 sizeof(err)),
			SNAPSHOT_ERR_FORMAT);
	/* one digit changed: still JSON, still an alert, wrong hash */
	memcpy(copy, good, len + 1);
	p = strstr(copy, "\"value\":9");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p[8] = p[8] == '9' ? '8' : '9';
	CU_ASSERT_EQUAL(snap_try(bad, copy, len, err, sizeof(err)),
			SNAPSHOT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "damaged"));
	/* a line that is not an alert */
	memcpy(copy, good, len + 1);
	p = strstr(copy, "\"id\":");
	p = strstr(p + 1, "\"id\":");	/* the second alert */
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p[1] = 'X';
	CU_ASSERT_EQUAL(snap_try(bad, copy, len, err, sizeof(err)),
			SNAPSHOT_ERR_FORMAT);
	/* another file altogether, or a newer version */
	CU_ASSERT_EQUAL(snap_try(bad, "{\"version\":1,\"clock\":5}\n", 24, err,
				 sizeof(err)),
			SNAPSHOT_ERR_FORMAT);
	memcpy(copy, good, len + 1);
	p = strstr(copy, "\"version\":1");
	p[10] = '2';
	CU_ASSERT_EQUAL(snap_try(bad, copy, len, err, sizeof(err)),
			SNAPSHOT_ERR_FORMAT);
	/* data after the end line */
	memcpy(copy, good, len + 1);
	{
		char *more = malloc(2 * len + 1);

		memcpy(more, good, len);
		memcpy(more + len, good, len);
		CU_ASSERT_EQUAL(snap_try(bad, more, 2 * len, err, sizeof(err)),
				SNAPSHOT_ERR_FORMAT);
		free(more);
	}
	/* the intact file still loads */
	CU_ASSERT_EQUAL(snap_try(bad, good, len, err, sizeof(err)), SNAPSHOT_OK);
	/* a directory that does not exist: the save fails, nothing is left */
	CU_ASSERT_EQUAL(snapshot_save("/nonexistent-dir/state", a, pos, NULL,
				      err, sizeof(err)),
			SNAPSHOT_ERR_SYS);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "open"));
	CU_ASSERT_TRUE(strlen(snapshot_strerror(SNAPSHOT_ERR_FORMAT)) > 0);
	unlink(path);
	unlink(bad);
	free(good);
	free(copy);
	store_free(a);
	store_free(b);
}

int
test_snapshot_suite(void)
{
	CU_pSuite s = CU_add_suite("snapshot", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "save and load give the same answers",
			 test_round_trip) ||
	    !CU_add_test(s, "an empty store", test_empty_store) ||
	    !CU_add_test(s, "damaged state files are refused", test_damaged))
		return -1;
	return 0;
}
