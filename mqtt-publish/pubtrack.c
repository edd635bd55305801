/*
 * pubtrack: outstanding publishes in input order. See pubtrack.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pubtrack.h"
#include "banned.h"

#define PUBTRACK_MAX_TOKEN 65535

struct pubtrack_entry {
	int token;
	bool done;
	bool ok;
	bool stored;		/* done by pubtrack_reset, message kept */
	bool held;		/* pubtrack_reset HELD, not yet released */
	struct stage_pos pos;
};

struct pubtrack_early {
	int token;
	bool ok;
};

struct pubtrack {
	pthread_mutex_t mu;
	struct pubtrack_entry *ring;
	size_t cap, head, count;
	size_t zero_scan;		/* offset from head: token-0 entries
					 * before it are all done */
	uint32_t *slot;			/* token -> ring index + 1 (in flight) */
	struct pubtrack_early *early;	/* completions before their add */
	size_t nearly, early_cap;
};

enum pubtrack_err
pubtrack_new(struct pubtrack **tp, size_t cap)
{
	struct pubtrack *t;

	*tp = NULL;
	if (cap == 0)
		cap = 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return PUBTRACK_ERR_NOMEM;
	t->cap = cap;
	t->ring = calloc(cap, sizeof(*t->ring));
	t->slot = calloc(PUBTRACK_MAX_TOKEN + 1, sizeof(*t->slot));
	t->early_cap = 64;
	t->early = calloc(t->early_cap, sizeof(*t->early));
	if (!t->ring || !t->slot || !t->early) {
		pubtrack_free(t);
		return PUBTRACK_ERR_NOMEM;
	}
	pthread_mutex_init(&t->mu, NULL);
	*tp = t;
	return PUBTRACK_OK;
}

void
pubtrack_free(struct pubtrack *t)
{
	if (!t)
		return;
	if (t->ring && t->slot && t->early)
		pthread_mutex_destroy(&t->mu);
	free(t->ring);
	free(t->slot);
	free(t->early);
	free(t);
}

/* Takes a remembered early completion of token; with t->mu held. */
static bool
pubtrack_take_early(struct pubtrack *t, int token, bool *ok)
{
	for (size_t i = 0; i < t->nearly; i++) {
		if (t->early[i].token == token) {
			*ok = t->early[i].ok;
			memmove(&t->early[i], &t->early[i + 1],
				(t->nearly - i - 1) * sizeof(*t->early));
			t->nearly--;
			return true;
		}
	}
	return false;
}

enum pubtrack_err
pubtrack_add(struct pubtrack *t, int token, struct stage_pos pos)
{
	struct pubtrack_entry *e;
	enum pubtrack_err rc = PUBTRACK_OK;
	size_t idx;
	bool ok;

	if (token < PUBTRACK_NONE || token > PUBTRACK_MAX_TOKEN)
		return PUBTRACK_ERR_TOKEN;
	pthread_mutex_lock(&t->mu);
	if (t->count == t->cap) {
		rc = PUBTRACK_ERR_FULL;
		goto out;
	}
	if (token > 0 && t->slot[token]) {
		rc = PUBTRACK_ERR_TOKEN;
		goto out;
	}
	idx = (t->head + t->count) % t->cap;
	e = &t->ring[idx];
	e->token = token;
	e->pos = pos;
	e->done = false;
	e->ok = false;
	e->stored = false;
	e->held = false;
	t->count++;
	if (token == PUBTRACK_NONE) {
		e->done = true;
		e->ok = true;
	} else if (pubtrack_take_early(t, token, &ok)) {
		e->done = true;
		e->ok = ok;
	} else if (token > 0) {
		t->slot[token] = (uint32_t)idx + 1;
	}
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void
pubtrack_done(struct pubtrack *t, int token, bool ok)
{
	struct pubtrack_entry *e = NULL;
	struct pubtrack_early *ne;

	if (token < 0 || token > PUBTRACK_MAX_TOKEN)
		return;
	pthread_mutex_lock(&t->mu);
	if (token > 0 && t->slot[token]) {
		e = &t->ring[t->slot[token] - 1];
		t->slot[token] = 0;
	} else if (token == 0) {
		for (; t->zero_scan < t->count; t->zero_scan++) {
			struct pubtrack_entry *z =
				&t->ring[(t->head + t->zero_scan) % t->cap];

			if (z->token == 0 && !z->done) {
				e = z;
				t->zero_scan++;
				break;
			}
		}
	}
	if (e) {
		e->done = true;
		e->ok = ok;
	} else {
		if (t->nearly == t->early_cap) {
			ne = realloc(t->early, 2 * t->early_cap * sizeof(*ne));
			if (!ne)
				goto out;	/* lost: the entry stays in
						 * flight, commits stop */
			t->early = ne;
			t->early_cap *= 2;
		}
		t->early[t->nearly].token = token;
		t->early[t->nearly].ok = ok;
		t->nearly++;
	}
out:
	pthread_mutex_unlock(&t->mu);
}

size_t
pubtrack_reset(struct pubtrack *t, enum pubtrack_reset_mode mode)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->count; i++) {
		struct pubtrack_entry *e = &t->ring[(t->head + i) % t->cap];

		if (e->token > 0 && t->slot[e->token] ==
		    (uint32_t)((t->head + i) % t->cap) + 1)
			t->slot[e->token] = 0;
		if (e->done || e->held)
			continue;
		/* no completion may find it any more: not a QoS 0 one */
		e->token = PUBTRACK_NONE - 1;
		if (mode == PUBTRACK_RESET_HELD) {
			e->held = true;
		} else {
			e->done = true;
			e->ok = false;
			e->stored = mode == PUBTRACK_RESET_STORED;
		}
		n++;
	}
	t->nearly = 0;
	t->zero_scan = t->count;
	pthread_mutex_unlock(&t->mu);
	return n;
}

size_t
pubtrack_release_held(struct pubtrack *t)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->count; i++) {
		struct pubtrack_entry *e = &t->ring[(t->head + i) % t->cap];

		if (!e->held)
			continue;
		e->held = false;
		e->done = true;
		e->ok = false;
		e->stored = true;
		n++;
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

bool
pubtrack_pop(struct pubtrack *t, struct stage_pos *pos,
	     struct pubtrack_tally *tally)
{
	bool any = false;

	pthread_mutex_lock(&t->mu);
	while (t->count > 0 && t->ring[t->head].done) {
		struct pubtrack_entry *e = &t->ring[t->head];

		*pos = e->pos;
		if (e->token == PUBTRACK_NONE)
			;
		else if (e->ok)
			tally->acked++;
		else if (e->stored)
			tally->stored++;
		else
			tally->failed++;
		t->head = (t->head + 1) % t->cap;
		t->count--;
		if (t->zero_scan > 0)
			t->zero_scan--;
		any = true;
	}
	pthread_mutex_unlock(&t->mu);
	return any;
}

size_t
pubtrack_count(struct pubtrack *t)
{
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->count;
	pthread_mutex_unlock(&t->mu);
	return n;
}

const char *
pubtrack_strerror(enum pubtrack_err err)
{
	switch (err) {
	case PUBTRACK_OK:
		return "success";
	case PUBTRACK_ERR_FULL:
		return "too many publishes outstanding";
	case PUBTRACK_ERR_TOKEN:
		return "bad or duplicate publish token";
	case PUBTRACK_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown pubtrack error";
}
