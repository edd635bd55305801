/*
 * backoff: exponential delays with a cap and jitter, for reconnects and
 * retries. Owns nothing; struct backoff is embedded by the caller.
 * Never sleeps, logs or fails.
 *
 * Nominal delay of attempt n (from 0): min(cap, base * 2^n). With base 1 s and
 * cap 16 s: 1, 2, 4, 8, 16, 16, ... s. The returned delay is the nominal one
 * times a uniform factor in [1 - jitter, 1 + jitter] (jitter 0.2 by default),
 * never above cap * (1 + jitter) and never below 1 ms. backoff_reset returns
 * to attempt 0, e.g. after a connection stayed up long enough.
 */
#ifndef SENSORPIPE_BACKOFF_H
#define SENSORPIPE_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint64_t base_ms;
	uint64_t cap_ms;
	double jitter;		/* 0 .. 1 */
	unsigned attempt;	/* delays handed out since the last reset */
	uint64_t rng;		/* xorshift64* state, never 0 */
};

/* seed 0 picks one from the clock and pid. base_ms 0 counts as 1; a cap
 * below the base is raised to the base. jitter may be changed after init. */
void backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms,
		  uint64_t seed);
/* The delay before the next attempt; counts the attempt. */
uint64_t backoff_next(struct backoff *b);
/* The nominal (unjittered) delay backoff_next would base its answer on. */
uint64_t backoff_nominal(const struct backoff *b);
void backoff_reset(struct backoff *b);

#endif
