/*
 * test_influx_batch: batch.c against a scripted server. Points are added
 * and their ranges read back; a batch with bad points is bisected until
 * each bad point stands alone (every good point written exactly once, in
 * order, the bad ones rejected, about 2 log2(n) requests for one bad point
 * in 5,000); a server with a size limit (413) gets halves until they fit,
 * a single point over the limit is rejected as too large; a stop in the
 * middle, or a refused point that cannot be recorded, leaves the rest
 * unsent.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../../influx-sink/batch.h"
#include "banned.h"

#define FS_MAX 6000

/* The fake server: refuses a request holding a bad point, or one over
 * max_bytes; stops after stop_after requests. */
struct fake_server {
	bool bad[FS_MAX];
	size_t max_bytes;		/* 0: no limit */
	unsigned stop_after;		/* 0: never */
	unsigned requests;
	unsigned written[FS_MAX];	/* times each point was written */
	size_t order[FS_MAX];		/* points in the order written */
	size_t nwritten;
	bool rejected[FS_MAX];
	enum batch_outcome why[FS_MAX];
	unsigned nrejected;
	bool reject_fails;		/* the dead letter cannot be written */
};

static size_t
point_index(const char *line)
{
	/* lines look like "m,id=17 v=1.0 17" */
	return (size_t)strtoul(line + 5, NULL, 10);
}

static enum batch_outcome
fake_send(void *ctx, const struct batch *b, size_t i, size_t j)
{
	struct fake_server *fs = ctx;
	size_t len;
	const char *body = batch_range(b, i, j, &len);

	fs->requests++;
	if (fs->stop_after && fs->requests > fs->stop_after)
		return BATCH_STOPPED;
	if (fs->max_bytes && len > fs->max_bytes)
		return BATCH_TOO_LARGE;
	/* the body holds exactly the points i..j-1, each ending in '\n' */
	CU_ASSERT_EQUAL(body[len - 1], '\n');
	for (size_t k = i; k < j; k++)
		if (fs->bad[point_index(b->body.buf + b->off[k])])
			return BATCH_REFUSED;
	for (size_t k = i; k < j; k++) {
		size_t id = point_index(b->body.buf + b->off[k]);

		fs->written[id]++;
		fs->order[fs->nwritten++] = id;
	}
	return BATCH_SENT;
}

static enum batch_outcome
fake_reject(void *ctx, const struct batch *b, size_t i, enum batch_outcome why)
{
	struct fake_server *fs = ctx;
	size_t id = point_index(b->body.buf + b->off[i]);

	CU_ASSERT_EQUAL(b->lineno[i], id + 100);
	if (fs->reject_fails)
		return BATCH_STOPPED;
	fs->rejected[id] = true;
	fs->why[id] = why;
	fs->nrejected++;
	return BATCH_SENT;
}

static const struct batch_ops fake_ops = {
	.send = fake_send,
	.reject = fake_reject,
};

static void
fill(struct batch *b, size_t n)
{
	char line[64];

	batch_clear(b);
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "m,id=%zu v=1.0 %zu", i,
				   i);

		CU_ASSERT_EQUAL_FATAL(batch_add(b, line, (size_t)len, i + 100),
				      0);
	}
}

static void
test_add_range(void)
{
	struct batch b;
	size_t len;
	const char *p;

	batch_init(&b);
	fill(&b, 3);
	CU_ASSERT_EQUAL(b.n, 3);
	p = batch_range(&b, 0, 3, &len);
	CU_ASSERT_EQUAL(len, b.body.len);
	CU_ASSERT_NSTRING_EQUAL(p, "m,id=0 v=1.0 0\nm,id=1 v=1.0 1\nm,id=2 v=1.0 2\n", len);
	p = batch_range(&b, 1, 2, &len);
	CU_ASSERT_EQUAL(len, strlen("m,id=1 v=1.0 1\n"));
	CU_ASSERT_NSTRING_EQUAL(p, "m,id=1 v=1.0 1\n", len);
	p = batch_range(&b, 2, 3, &len);
	CU_ASSERT_NSTRING_EQUAL(p, "m,id=2 v=1.0 2\n", len);
	CU_ASSERT_EQUAL(b.lineno[2], 102);
	batch_clear(&b);
	CU_ASSERT_EQUAL(b.n, 0);
	CU_ASSERT_EQUAL(b.body.len, 0);
	batch_release(&b);
}

static void
check_all_settled(struct fake_server *fs, size_t n)
{
	size_t prev = 0;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (fs->bad[i]) {
			CU_ASSERT(fs->rejected[i]);
			CU_ASSERT_EQUAL(fs->written[i], 0);
		} else {
			CU_ASSERT(!fs->rejected[i]);
			CU_ASSERT_EQUAL(fs->written[i], 1);
		}
	}
	/* good points are written in input order */
	for (size_t k = 0; k < fs->nwritten; k++) {
		CU_ASSERT(first || fs->order[k] > prev);
		prev = fs->order[k];
		first = false;
	}
}

static void
test_one_bad_in_5000(void)
{
	struct batch b;
	struct fake_server *fs = calloc(1, sizeof(*fs));

	batch_init(&b);
	fill(&b, 5000);
	fs->bad[3141] = true;
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_SENT);
	CU_ASSERT_EQUAL(fs->nwritten, 4999);
	CU_ASSERT_EQUAL(fs->nrejected, 1);
	CU_ASSERT_EQUAL(fs->why[3141], BATCH_REFUSED);
	check_all_settled(fs, 5000);
	/* 1 + 2 per level: ceil(log2(5000)) = 13 levels */
	CU_ASSERT(fs->requests <= 1 + 2 * 13);
	batch_release(&b);
	free(fs);
}

static void
test_many_bad(void)
{
	struct batch b;
	struct fake_server *fs = calloc(1, sizeof(*fs));

	batch_init(&b);
	fill(&b, 1000);
	for (size_t i = 0; i < 1000; i += 97)
		fs->bad[i] = true;
	fs->bad[999] = true;
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_SENT);
	CU_ASSERT_EQUAL(fs->nrejected, 12);
	CU_ASSERT_EQUAL(fs->nwritten, 988);
	check_all_settled(fs, 1000);
	batch_release(&b);
	free(fs);
}

static void
test_all_bad_and_single(void)
{
	struct batch b;
	struct fake_server *fs = calloc(1, sizeof(*fs));

	batch_init(&b);
	fill(&b, 8);
	for (size_t i = 0; i < 8; i++)
		fs->bad[i] = true;
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_SENT);
	CU_ASSERT_EQUAL(fs->nrejected, 8);
	CU_ASSERT_EQUAL(fs->requests, 15);	/* a full binary tree */
	memset(fs, 0, sizeof(*fs));
	fill(&b, 1);
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_SENT);
	CU_ASSERT_EQUAL(fs->requests, 1);
	CU_ASSERT_EQUAL(fs->nwritten, 1);
	memset(fs, 0, sizeof(*fs));
	batch_clear(&b);
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_SENT);
	CU_ASSERT_EQUAL(fs->requests, 0);
	batch_release(&b);
	free(fs);
}

static void
test_too_large(void)
{
	struct batch b;
	struct fake_server *fs = calloc(1, sizeof(*fs));
	char big[200];

	batch_init(&b);
	fill(&b, 1000);
	fs->max_bytes = 2000;	/* about 110 points of ~18 bytes */
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_SENT);
	CU_ASSERT_EQUAL(fs->nwritten, 1000);
	CU_ASSERT_EQUAL(fs->nrejected, 0);
	check_all_settled(fs, 1000);
	/* one point alone over the limit is rejected as too large */
	memset(fs, 0, sizeof(*fs));
	fs->max_bytes = 100;
	fill(&b, 2);
	memset(big, 'x', sizeof(big));
	memcpy(big, "m,id=2 v=\"", 10);
	big[sizeof(big) - 1] = '"';
	CU_ASSERT_EQUAL_FATAL(batch_add(&b, big, sizeof(big), 102), 0);
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_SENT);
	CU_ASSERT_EQUAL(fs->nwritten, 2);
	CU_ASSERT_EQUAL(fs->nrejected, 1);
	CU_ASSERT(fs->rejected[2]);
	CU_ASSERT_EQUAL(fs->why[2], BATCH_TOO_LARGE);
	batch_release(&b);
	free(fs);
}

static void
test_stop(void)
{
	struct batch b;
	struct fake_server *fs = calloc(1, sizeof(*fs));

	batch_init(&b);
	fill(&b, 64);
	fs->bad[10] = true;
	fs->stop_after = 3;	/* whole, left half, then stop */
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_STOPPED);
	CU_ASSERT_EQUAL(fs->nrejected, 0);
	CU_ASSERT(fs->nwritten < 64);
	batch_release(&b);
	free(fs);
}

/* A bad point that cannot be recorded stops delivery at that point: the
 * points after it are not sent. */
static void
test_reject_fails(void)
{
	struct batch b;
	struct fake_server *fs = calloc(1, sizeof(*fs));

	batch_init(&b);
	fill(&b, 64);
	fs->bad[10] = true;
	fs->reject_fails = true;
	CU_ASSERT_EQUAL(batch_deliver(&b, &fake_ops, fs), BATCH_STOPPED);
	CU_ASSERT_EQUAL(fs->nrejected, 0);
	CU_ASSERT_EQUAL(fs->nwritten, 10);	/* 0..9, in order */
	for (size_t i = 11; i < 64; i++)
		CU_ASSERT_EQUAL(fs->written[i], 0);
	batch_release(&b);
	free(fs);
}

int
test_influx_batch_suite(void)
{
	CU_pSuite s = CU_add_suite("influx_batch", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "points and ranges", test_add_range) ||
	    !CU_add_test(s, "one bad point in 5,000 is isolated",
			 test_one_bad_in_5000) ||
	    !CU_add_test(s, "many bad points", test_many_bad) ||
	    !CU_add_test(s, "all bad, one point, empty", test_all_bad_and_single) ||
	    !CU_add_test(s, "413 splits until it fits", test_too_large) ||
	    !CU_add_test(s, "a stop leaves the rest unsent", test_stop) ||
	    !CU_add_test(s, "a failed reject stops delivery",
			 test_reject_fails))
		return -1;
	return 0;
}
