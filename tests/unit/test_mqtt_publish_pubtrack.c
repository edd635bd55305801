/*
 * test_mqtt_publish_pubtrack: the input position moves only past
 * acknowledged publishes, in input order: acks out of order, completions
 * before their add (QoS 0 and 1), dead-lettered records, failures, a reset
 * (the MQTT client replaced), a full tracker, bad tokens, and completions
 * from another thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../../mqtt-publish/pubtrack.h"
#include "util.h"
#include "banned.h"

static struct stage_pos
pos(uint64_t off)
{
	struct stage_pos p = { 0, off };

	return p;
}

/*
 * Each case is a script of steps: "a T O" add token T at offset O,
 * "d T" done ok, "f T" done failed, "r M" reset (M 0: stored, 1: held,
 * 2: lost), "h" release the held entries,
 * "p O A F S" pop expecting offset O (or -1: nothing to pop) and A acked,
 * F failed, S stored so far.
 */
static const char *const scripts[] = {
	/* in order */
	"a 1 10;a 2 20;d 1;p 10 1 0 0;d 2;p 20 2 0 0;p -1 2 0 0",
	/* out of order: nothing before the oldest is acked */
	"a 1 10;a 2 20;a 3 30;d 3;d 2;p -1 0 0 0;d 1;p 30 3 0 0",
	/* completion before the add (QoS 1) */
	"d 5;a 5 50;p 50 1 0 0",
	/* QoS 0: token 0, completions in send order, one early */
	"a 0 1;a 0 2;a 0 3;d 0;p 1 1 0 0;d 0;d 0;d 0;a 0 4;p 4 4 0 0",
	/* dead-lettered records move the position in order */
	"a 1 10;a -1 11;a 2 12;p -1 0 0 0;d 1;p 11 1 0 0;d 2;p 12 2 0 0",
	"a -1 5;p 5 0 0 0",
	/* a failed publish still moves the position, counted as failed */
	"a 1 10;f 1;a 2 20;d 2;p 20 1 1 0",
	/* a message id used again after its first use completed */
	"a 7 10;d 7;p 10 1 0 0;a 7 20;d 7;p 20 2 0 0",
	/* reset, stored: the entries in flight are done; tokens and early
	 * completions of the old client are forgotten */
	"a 1 10;a 2 20;d 1;r 0;p 20 1 0 1;a 1 30;d 1;p 30 2 0 1",
	"d 9;r 0;a 9 10;p -1 0 0 0;d 9;p 10 1 0 0",
	/* reset, lost: counted as failed; dead letters are not counted */
	"a 1 10;a -1 11;a 2 12;r 2;p 12 0 2 0",
	/* QoS 0 entries after a reset complete in order again */
	"a 0 1;a 0 2;d 0;r 0;a 0 3;d 0;p 3 2 0 1",
	/* reset, held: the position waits at the held entry, newer publishes
	 * complete behind it, the release lets it pass as stored */
	"a 1 10;a 2 20;d 1;r 1;p 10 1 0 0;a 2 30;d 2;p -1 1 0 0;h;p 30 2 0 1",
};

static void
run_script(size_t idx, const char *script)
{
	struct pubtrack *t;
	struct stage_pos p;
	struct pubtrack_tally n = { 0, 0, 0 };
	char buf[256], *save = NULL, *step;

	CU_ASSERT_FATAL(pubtrack_new(&t, 8) == PUBTRACK_OK);
	snprintf(buf, sizeof(buf), "%s", script);
	for (step = strtok_r(buf, ";", &save); step;
	     step = strtok_r(NULL, ";", &save)) {
		int tok, ok = 1;
		long long off, a, f, st;
		bool any;

		switch (step[0]) {
		case 'a':
			CU_ASSERT_FATAL(sscanf(step, "a %d %lld", &tok, &off) == 2);
			CU_ASSERT_EQUAL(pubtrack_add(t, tok, pos((uint64_t)off)),
					PUBTRACK_OK);
			break;
		case 'd':
		case 'f':
			CU_ASSERT_FATAL(sscanf(step + 1, " %d", &tok) == 1);
			pubtrack_done(t, tok, step[0] == 'd');
			break;
		case 'r':
			CU_ASSERT_FATAL(sscanf(step, "r %d", &tok) == 1);
			(void)pubtrack_reset(t, tok == 0 ? PUBTRACK_RESET_STORED :
					     tok == 1 ? PUBTRACK_RESET_HELD :
					     PUBTRACK_RESET_LOST);
			break;
		case 'h':
			(void)pubtrack_release_held(t);
			break;
		case 'p':
			CU_ASSERT_FATAL(sscanf(step, "p %lld %lld %lld %lld",
					       &off, &a, &f, &st) == 4);
			p = pos(999);
			any = pubtrack_pop(t, &p, &n);
			if (off < 0) {
				ok = !any;
			} else {
				ok = any && p.off == (uint64_t)off;
			}
			ok = ok && n.acked == (uint64_t)a &&
			     n.failed == (uint64_t)f && n.stored == (uint64_t)st;
			if (!ok)
				fprintf(stderr, "\nscript %zu step '%s': any %d off %llu acked %llu failed %llu stored %llu\n",
					idx, step, any, (unsigned long long)p.off,
					(unsigned long long)n.acked,
					(unsigned long long)n.failed,
					(unsigned long long)n.stored);
			CU_ASSERT(ok);
			break;
		}
	}
	pubtrack_free(t);
}

static void
test_scripts(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(scripts); i++)
		run_script(i, scripts[i]);
}

static void
test_full_and_tokens(void)
{
	struct pubtrack *t;
	struct stage_pos p;
	struct pubtrack_tally n = { 0, 0, 0 };

	CU_ASSERT_FATAL(pubtrack_new(&t, 2) == PUBTRACK_OK);
	CU_ASSERT_EQUAL(pubtrack_add(t, 1, pos(1)), PUBTRACK_OK);
	CU_ASSERT_EQUAL(pubtrack_add(t, 1, pos(2)), PUBTRACK_ERR_TOKEN);
	CU_ASSERT_EQUAL(pubtrack_add(t, 65536, pos(2)), PUBTRACK_ERR_TOKEN);
	CU_ASSERT_EQUAL(pubtrack_add(t, -2, pos(2)), PUBTRACK_ERR_TOKEN);
	CU_ASSERT_EQUAL(pubtrack_add(t, 2, pos(2)), PUBTRACK_OK);
	CU_ASSERT_EQUAL(pubtrack_add(t, 3, pos(3)), PUBTRACK_ERR_FULL);
	CU_ASSERT_EQUAL(pubtrack_count(t), 2);
	pubtrack_done(t, 1, true);
	pubtrack_done(t, 70000, true);	/* ignored */
	CU_ASSERT(pubtrack_pop(t, &p, &n));
	CU_ASSERT_EQUAL(p.off, 1);
	CU_ASSERT_EQUAL(pubtrack_add(t, 3, pos(3)), PUBTRACK_OK);
	CU_ASSERT_EQUAL(pubtrack_count(t), 2);
	pubtrack_free(t);
	for (int e = PUBTRACK_OK; e <= PUBTRACK_ERR_NOMEM; e++)
		CU_ASSERT(pubtrack_strerror((enum pubtrack_err)e)[0] != '\0');
}

struct acker {
	struct pubtrack *t;
	int from, to;
};

static void *
acker_run(void *arg)
{
	struct acker *a = arg;

	/* newest first: the worst order for the committer */
	for (int tok = a->to; tok >= a->from; tok--)
		pubtrack_done(a->t, tok, true);
	return NULL;
}

static void
test_threads(void)
{
	struct pubtrack *t;
	struct acker a;
	pthread_t th;
	struct stage_pos p = pos(0);
	struct pubtrack_tally n = { 0, 0, 0 };
	uint64_t last = 0;

	CU_ASSERT_FATAL(pubtrack_new(&t, 20000) == PUBTRACK_OK);
	a.t = t;
	a.from = 1;
	a.to = 10000;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, acker_run, &a) == 0);
	for (int tok = 1; tok <= 10000; tok++) {
		CU_ASSERT_EQUAL(pubtrack_add(t, tok, pos((uint64_t)tok)),
				PUBTRACK_OK);
		if (pubtrack_pop(t, &p, &n)) {
			CU_ASSERT(p.off >= last);
			CU_ASSERT_EQUAL(p.off, n.acked);
			last = p.off;
		}
	}
	pthread_join(th, NULL);
	(void)pubtrack_pop(t, &p, &n);
	CU_ASSERT_EQUAL(n.acked, 10000);
	CU_ASSERT_EQUAL(p.off, 10000);
	CU_ASSERT_EQUAL(pubtrack_count(t), 0);
	pubtrack_free(t);
}

int
test_mqtt_publish_pubtrack_suite(void)
{
	CU_pSuite s = CU_add_suite("mqtt_publish_pubtrack", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "commit scripts", test_scripts) ||
	    !CU_add_test(s, "full tracker and bad tokens", test_full_and_tokens) ||
	    !CU_add_test(s, "acks from another thread", test_threads))
		return -1;
	return 0;
}
