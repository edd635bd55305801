/*
 * test_backoff: the nominal sequence (1, 2, 4, 8, 16, 16 s), jitter bounds
 * and mean over 10,000 draws per attempt, determinism per seed, no overflow
 * at attempt 100 or with huge bases, and reset.
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "backoff.h"
#include "banned.h"

static void
test_nominal_sequence(void)
{
	static const uint64_t want[] = { 1000, 2000, 4000, 8000, 16000, 16000,
					 16000 };
	struct backoff b;

	backoff_init(&b, 1000, 16000, 42);
	CU_ASSERT_EQUAL(b.jitter, 0.2);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t d;

		CU_ASSERT_EQUAL(b.attempt, i);
		CU_ASSERT_EQUAL(backoff_nominal(&b), want[i]);
		d = backoff_next(&b);
		CU_ASSERT(d >= want[i] * 8 / 10 && d <= want[i] * 12 / 10);
	}
	/* Without jitter the delays are the nominal ones exactly. */
	backoff_init(&b, 1000, 16000, 42);
	b.jitter = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CU_ASSERT_EQUAL(backoff_next(&b), want[i]);
}

static void
test_bounds_10000(void)
{
	struct backoff b;

	backoff_init(&b, 1000, 16000, 7);
	for (unsigned n = 0; n < 7; n++) {
		uint64_t nominal, d, lo, hi, dmin = UINT64_MAX, dmax = 0;
		double sum = 0, mean;
		unsigned bad = 0;

		b.attempt = n;
		nominal = backoff_nominal(&b);
		lo = nominal * 8 / 10;
		hi = nominal * 12 / 10;
		for (int i = 0; i < 10000; i++) {
			b.attempt = n;
			d = backoff_next(&b);
			if (d < lo || d > hi)
				bad++;
			if (d < dmin)
				dmin = d;
			if (d > dmax)
				dmax = d;
			sum += (double)d;
		}
		mean = sum / 10000;
		CU_ASSERT_EQUAL(bad, 0);
		/* The mean of a uniform on [0.8, 1.2] x nominal, 10,000 draws:
		 * standard error ~0.12% of nominal; allow 2%. */
		CU_ASSERT(mean > nominal * 0.98 && mean < nominal * 1.02);
		/* And the draws do spread over the whole range. */
		CU_ASSERT(dmin < nominal * 0.82);
		CU_ASSERT(dmax > nominal * 1.18);
	}
}

static void
test_deterministic(void)
{
	struct backoff a, b, c;
	int same = 1, differ = 0;

	backoff_init(&a, 100, 60000, 12345);
	backoff_init(&b, 100, 60000, 12345);
	backoff_init(&c, 100, 60000, 54321);
	for (int i = 0; i < 50; i++) {
		uint64_t x = backoff_next(&a), y = backoff_next(&b),
			 z = backoff_next(&c);

		if (x != y)
			same = 0;
		if (x != z)
			differ = 1;
		if (i % 10 == 9) {
			backoff_reset(&a);
			backoff_reset(&b);
			backoff_reset(&c);
		}
	}
	CU_ASSERT_TRUE(same);
	CU_ASSERT_TRUE(differ);
	/* Seed 0 takes one from the clock: the state is never 0. */
	backoff_init(&a, 1000, 16000, 0);
	CU_ASSERT(a.rng != 0);
	CU_ASSERT(backoff_next(&a) >= 800);
}

static void
test_overflow(void)
{
	struct backoff b;
	uint64_t d;

	backoff_init(&b, 1000, 16000, 1);
	b.attempt = 100;
	CU_ASSERT_EQUAL(backoff_nominal(&b), 16000);
	d = backoff_next(&b);
	CU_ASSERT(d >= 12800 && d <= 19200);
	b.attempt = 63;
	CU_ASSERT_EQUAL(backoff_nominal(&b), 16000);
	b.attempt = 0xffffffffu;
	CU_ASSERT_EQUAL(backoff_nominal(&b), 16000);
	backoff_next(&b);
	CU_ASSERT_EQUAL(b.attempt, 0xffffffffu);	/* saturates */

	/* A cap near UINT64_MAX: 2^n grows until it would pass it. */
	backoff_init(&b, 3, UINT64_MAX, 1);
	b.attempt = 62;
	CU_ASSERT_EQUAL(backoff_nominal(&b), 3ULL << 62);
	b.attempt = 63;
	CU_ASSERT_EQUAL(backoff_nominal(&b), UINT64_MAX);
	b.attempt = 100;
	CU_ASSERT_EQUAL(backoff_nominal(&b), UINT64_MAX);
	d = backoff_next(&b);
	CU_ASSERT(d >= UINT64_MAX / 10 * 8);

	/* A cap below the base: the base is the cap. A zero base: 1 ms. */
	backoff_init(&b, 5000, 1000, 1);
	CU_ASSERT_EQUAL(backoff_nominal(&b), 5000);
	b.attempt = 3;
	CU_ASSERT_EQUAL(backoff_nominal(&b), 5000);
	backoff_init(&b, 0, 0, 1);
	CU_ASSERT(backoff_next(&b) >= 1);
	b.jitter = 1;
	for (int i = 0; i < 1000; i++)
		CU_ASSERT(backoff_next(&b) >= 1);
}

static void
test_reset(void)
{
	struct backoff b;

	backoff_init(&b, 1000, 16000, 9);
	for (int i = 0; i < 8; i++)
		backoff_next(&b);
	CU_ASSERT_EQUAL(b.attempt, 8);
	CU_ASSERT_EQUAL(backoff_nominal(&b), 16000);
	backoff_reset(&b);
	CU_ASSERT_EQUAL(b.attempt, 0);
	CU_ASSERT_EQUAL(backoff_nominal(&b), 1000);
	CU_ASSERT(backoff_next(&b) <= 1200);
	CU_ASSERT_EQUAL(backoff_nominal(&b), 2000);
}

int
test_backoff_suite(void)
{
	CU_pSuite s = CU_add_suite("backoff", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "nominal 1,2,4,8,16,16 s", test_nominal_sequence) ||
	    !CU_add_test(s, "bounds and mean over 10,000 draws",
			 test_bounds_10000) ||
	    !CU_add_test(s, "same seed, same delays", test_deterministic) ||
	    !CU_add_test(s, "no overflow", test_overflow) ||
	    !CU_add_test(s, "reset", test_reset))
		return -1;
	return 0;
}
