/*
 * batch: a body of points plus where each starts, and the bisection that
 * isolates points a server refuses (see batch.h).
 *
 * Why bisect: InfluxDB 1.x answers a bad point with a 400 whose text names
 * at most the first failure, and for a type conflict inside one request it
 * refuses the whole request; 2.x refuses the whole batch on the first bad
 * point. Resending the halves finds every bad point whatever the server
 * says, and resending good points is harmless: a point is identified by
 * series and time, so writing it again stores the same thing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "banned.h"

void
batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	strbuf_init(&b->body, 0);
}

void
batch_release(struct batch *b)
{
	strbuf_release(&b->body);
	free(b->off);
	free(b->lineno);
	memset(b, 0, sizeof(*b));
}

void
batch_clear(struct batch *b)
{
	strbuf_reset(&b->body);
	b->n = 0;
	b->first_ms = 0;
	memset(&b->start, 0, sizeof(b->start));
	b->next = NULL;
}

static int
batch_reserve(struct batch *b)
{
	size_t ncap;
	size_t *noff;
	uint64_t *nline;

	if (b->n < b->cap)
		return 0;
	ncap = b->cap ? b->cap * 2 : 256;
	noff = realloc(b->off, ncap * sizeof(*noff));
	if (!noff)
		goto nomem;
	b->off = noff;
	nline = realloc(b->lineno, ncap * sizeof(*nline));
	if (!nline)
		goto nomem;
	b->lineno = nline;
	b->cap = ncap;
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

int
batch_add(struct batch *b, const char *line, size_t len, uint64_t lineno)
{
	size_t at = b->body.len;

	if (batch_reserve(b) || strbuf_grow(&b->body, len + 1))
		return -1;
	memcpy(b->body.buf + at, line, len);
	b->body.buf[at + len] = '\n';
	b->body.len = at + len + 1;
	b->body.buf[b->body.len] = '\0';
	b->off[b->n] = at;
	b->lineno[b->n] = lineno;
	b->n++;
	return 0;
}

static enum batch_outcome
batch_deliver_range(const struct batch *b, size_t i, size_t j,
		    const struct batch_ops *ops, void *ctx)
{
	enum batch_outcome rc;
	size_t mid;

	rc = ops->send(ctx, b, i, j);
	switch (rc) {
	case BATCH_SENT:
	case BATCH_STOPPED:
		return rc;
	case BATCH_REFUSED:
	case BATCH_TOO_LARGE:
		break;
	}
	if (j - i == 1)
		return ops->reject(ctx, b, i, rc) == BATCH_STOPPED ?
			BATCH_STOPPED : BATCH_SENT;
	mid = i + (j - i) / 2;
	rc = batch_deliver_range(b, i, mid, ops, ctx);
	if (rc == BATCH_SENT)
		rc = batch_deliver_range(b, mid, j, ops, ctx);
	return rc;
}

enum batch_outcome
batch_deliver(const struct batch *b, const struct batch_ops *ops, void *ctx)
{
	if (b->n == 0)
		return BATCH_SENT;
	return batch_deliver_range(b, 0, b->n, ops, ctx);
}
