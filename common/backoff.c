/*
 * backoff: exponential delays with a cap and jitter.
 *
 * The jitter spreads reconnects of many stages restarted together (a broker
 * restart drops every client at once) so they do not hit the server in
 * lockstep. The generator is xorshift64* (Vigna 2014): tiny, fast and good
 * enough for spreading delays; never for anything secret.
 */
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "banned.h"

#define BACKOFF_JITTER 0.2

/* splitmix64 finaliser: turns any seed, even a small one, into a well-mixed
 * non-zero state. */
static uint64_t
backoff_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 0x9e3779b97f4a7c15ULL;
}

void
backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms,
	     uint64_t seed)
{
	struct timespec ts;

	if (seed == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_sec * 1000000000ULL +
			(uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32);
	}
	b->base_ms = base_ms ? base_ms : 1;
	b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
	b->jitter = BACKOFF_JITTER;
	b->attempt = 0;
	b->rng = backoff_mix(seed);
}

static uint64_t
backoff_rand(struct backoff *b)
{
	uint64_t x = b->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	b->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t
backoff_nominal(const struct backoff *b)
{
	uint64_t base = b->base_ms ? b->base_ms : 1;
	unsigned n = b->attempt;

	/* base << n <= cap exactly when base <= cap >> n: no overflow. */
	if (n >= 64 || base > (b->cap_ms >> n))
		return b->cap_ms > base ? b->cap_ms : base;
	return base << n;
}

uint64_t
backoff_next(struct backoff *b)
{
	double j = b->jitter, u, d;
	uint64_t nominal = backoff_nominal(b), ms;

	if (!(j >= 0))
		j = 0;
	if (j > 1)
		j = 1;
	/* u uniform in [0, 1) from the top 53 bits. */
	u = (double)(backoff_rand(b) >> 11) * (1.0 / 9007199254740992.0);
	d = (double)nominal * (1.0 - j + 2.0 * j * u);
	if (d >= 18446744073709549568.0)
		ms = UINT64_MAX;
	else
		ms = (uint64_t)d;
	if (ms < 1)
		ms = 1;
	if (b->attempt < 0xffffffffu)
		b->attempt++;
	return ms;
}

void
backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
