/*
 * sse: event ring and client cursors; see sse.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sse.h"
#include "util.h"
#include "banned.h"

struct sse_event {
	uint64_t seq;
	char *text;		/* "id: N\nevent: E\ndata: ...\n\n" */
	size_t len;
};

struct sse_hub {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sse_event *ring;
	size_t cap;
	uint64_t next_seq;	/* first is 1 */
	int64_t heartbeat_ms;
	bool stopped;
	atomic_uint clients;
	sse_wake_fn *wake;
	void *wake_cls;
};

struct sse_hub *
sse_hub_new(size_t ring, int64_t heartbeat_ms)
{
	struct sse_hub *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;

	if (!h)
		return NULL;
	if (ring < 1)
		ring = 1;
	h->ring = calloc(ring, sizeof(*h->ring));
	if (!h->ring) {
		free(h);
		return NULL;
	}
	h->cap = ring;
	h->next_seq = 1;
	h->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 15000;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&h->clients, 0);
	return h;
}

void
sse_hub_free(struct sse_hub *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->cap; i++)
		free(h->ring[i].text);
	free(h->ring);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

uint64_t
sse_publish(struct sse_hub *h, const char *event, const char *data,
	    size_t len)
{
	struct strbuf sb;
	struct sse_event *slot;
	uint64_t seq;
	sse_wake_fn *wake;
	void *wake_cls;

	strbuf_init(&sb, 0);
	pthread_mutex_lock(&h->mu);
	seq = h->next_seq;
	/* data is one JSON line: no newline can split the SSE field */
	if (strbuf_addf(&sb, "id: %llu\nevent: %s\ndata: ",
			(unsigned long long)seq, event) ||
	    strbuf_add(&sb, data, len) || strbuf_addstr(&sb, "\n\n")) {
		pthread_mutex_unlock(&h->mu);
		strbuf_release(&sb);
		return 0;
	}
	slot = &h->ring[seq % h->cap];
	free(slot->text);
	slot->seq = seq;
	slot->text = sb.buf;	/* the ring takes the buffer */
	slot->len = sb.len;
	h->next_seq++;
	pthread_cond_broadcast(&h->cv);
	wake = h->wake;
	wake_cls = h->wake_cls;
	pthread_mutex_unlock(&h->mu);
	if (wake)
		wake(wake_cls);
	return seq;
}

void
sse_hub_set_wake(struct sse_hub *h, sse_wake_fn *fn, void *cls)
{
	pthread_mutex_lock(&h->mu);
	h->wake = fn;
	h->wake_cls = cls;
	pthread_mutex_unlock(&h->mu);
}

uint64_t
sse_last_seq(struct sse_hub *h)
{
	uint64_t s;

	pthread_mutex_lock(&h->mu);
	s = h->next_seq - 1;
	pthread_mutex_unlock(&h->mu);
	return s;
}

void
sse_hub_stop(struct sse_hub *h)
{
	sse_wake_fn *wake;
	void *wake_cls;

	pthread_mutex_lock(&h->mu);
	h->stopped = true;
	pthread_cond_broadcast(&h->cv);
	wake = h->wake;
	wake_cls = h->wake_cls;
	pthread_mutex_unlock(&h->mu);
	if (wake)
		wake(wake_cls);
}

unsigned
sse_clients(struct sse_hub *h)
{
	return atomic_load(&h->clients);
}

/* Oldest sequence still in the ring (== next_seq when empty). */
static uint64_t
oldest(const struct sse_hub *h)
{
	uint64_t n = h->next_seq - 1;

	return n >= h->cap ? h->next_seq - h->cap : 1;
}

void
sse_client_init(struct sse_client *c, struct sse_hub *h, bool has_last,
		uint64_t last_id)
{
	memset(c, 0, sizeof(*c));
	c->hub = h;
	strbuf_init(&c->pending, 0);
	pthread_mutex_lock(&h->mu);
	if (!has_last)
		c->next = h->next_seq;
	else if (last_id >= h->next_seq)
		c->next = oldest(h);	/* numbering restarted: send all */
	else
		c->next = last_id + 1;
	pthread_mutex_unlock(&h->mu);
	c->last_send_ms = time_mono_ms();
	atomic_fetch_add(&h->clients, 1);
}

void
sse_client_release(struct sse_client *c)
{
	if (!c->hub)
		return;
	atomic_fetch_sub(&c->hub->clients, 1);
	strbuf_release(&c->pending);
	c->hub = NULL;
}

/* Formats what is due into c->pending (hub locked). -1: out of memory. */
static int
fill(struct sse_client *c, struct sse_hub *h)
{
	uint64_t lo = oldest(h);

	if (!c->started) {
		c->started = true;
		if (strbuf_addstr(&c->pending, "retry: 2000\n\n"))
			return -1;
	}
	if (c->next < lo) {
		if (strbuf_addf(&c->pending, ": missed %llu events\n\n",
				(unsigned long long)(lo - c->next)))
			return -1;
		c->next = lo;
	}
	/* a bounded batch per call keeps one reader from hogging the lock */
	while (c->next < h->next_seq && c->pending.len < 65536) {
		const struct sse_event *ev = &h->ring[c->next % h->cap];

		if (strbuf_add(&c->pending, ev->text, ev->len))
			return -1;
		c->next++;
	}
	return 0;
}

bool
sse_client_ready(struct sse_client *c)
{
	struct sse_hub *h = c->hub;
	bool ready;

	if (c->off < c->pending.len)
		return true;
	pthread_mutex_lock(&h->mu);
	ready = h->stopped || !c->started || c->next < h->next_seq;
	pthread_mutex_unlock(&h->mu);
	return ready || time_mono_ms() - c->last_send_ms >= h->heartbeat_ms;
}

long
sse_client_read(struct sse_client *c, char *buf, size_t max, int wait_ms)
{
	struct sse_hub *h = c->hub;
	struct timespec until;
	size_t n;
	int64_t now;

	if (c->off >= c->pending.len) {
		strbuf_reset(&c->pending);
		c->off = 0;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&h->mu);
		while (wait_ms > 0 && !h->stopped && c->started &&
		       c->next >= h->next_seq) {
			if (pthread_cond_timedwait(&h->cv, &h->mu, &until) ==
			    ETIMEDOUT)
				break;
		}
		if (h->stopped) {
			pthread_mutex_unlock(&h->mu);
			return -1;
		}
		if (fill(c, h)) {
			pthread_mutex_unlock(&h->mu);
			return -1;
		}
		pthread_mutex_unlock(&h->mu);
		now = time_mono_ms();
		if (c->pending.len == 0 &&
		    now - c->last_send_ms >= h->heartbeat_ms &&
		    strbuf_addstr(&c->pending, ": heartbeat\n\n"))
			return -1;
		if (c->pending.len == 0)
			return 0;
	}
	n = c->pending.len - c->off;
	if (n > max)
		n = max;
	memcpy(buf, c->pending.buf + c->off, n);
	c->off += n;
	c->last_send_ms = time_mono_ms();
	return (long)n;
}
