/*
 * batch: points waiting to be written together, and the policy that gets
 * every one of them either written or rejected: on a 400/422 or 413 the
 * batch is cut in halves, recursively, until the refused points stand alone.
 * Owns: the body and the per-point arrays of a struct batch.
 * Never logs, sends or sleeps: sending goes through struct batch_ops.
 */
#ifndef SENSORPIPE_BATCH_H
#define SENSORPIPE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "stageio.h"
#include "util.h"

struct batch {
	struct strbuf body;	/* the points, each ending in '\n' */
	size_t *off;		/* off[i]: start of point i in body */
	uint64_t *lineno;	/* input line of point i */
	size_t n, cap;
	int64_t first_ms;	/* monotonic time the first point was added */
	struct stage_pos start;	/* input position before the first point */
	struct batch *next;	/* queue link, owned by whoever queues it */
};

void batch_init(struct batch *b);
void batch_release(struct batch *b);
/* Empties b, keeping its memory. */
void batch_clear(struct batch *b);
/* Appends one point (line without '\n'); 0, or -1 (ENOMEM) unchanged. */
int batch_add(struct batch *b, const char *line, size_t len, uint64_t lineno);
/* Points [i, j) as one request body. */
static inline const char *
batch_range(const struct batch *b, size_t i, size_t j, size_t *len)
{
	size_t end = j < b->n ? b->off[j] : b->body.len;

	*len = end - b->off[i];
	return b->body.buf + b->off[i];
}

enum batch_outcome {
	BATCH_SENT = 0,		/* the server took the points */
	BATCH_REFUSED,		/* 400/422: some points are bad */
	BATCH_TOO_LARGE,	/* 413 */
	BATCH_STOPPED,		/* shutting down: give up for now */
};

struct batch_ops {
	/* Sends points [i, j) (retrying transient failures itself). */
	enum batch_outcome (*send)(void *ctx, const struct batch *b, size_t i,
				   size_t j);
	/* Point i is refused for good (why: REFUSED or TOO_LARGE). Returns
	 * BATCH_SENT once it is recorded (dead letter), BATCH_STOPPED when
	 * it could not be: delivery stops there. */
	enum batch_outcome (*reject)(void *ctx, const struct batch *b,
				     size_t i, enum batch_outcome why);
};

/*
 * Delivers every point of b: sends it whole; a REFUSED or TOO_LARGE range
 * of more than one point is split in two halves, sent in order (points of
 * one series stay in order); a single point that is refused is handed to
 * ops->reject. Returns BATCH_SENT when every point was written or rejected,
 * BATCH_STOPPED when send or reject stopped (the points not yet sent stay
 * unsent).
 * One bad point among n costs about 2 log2(n) requests.
 */
enum batch_outcome batch_deliver(const struct batch *b,
				 const struct batch_ops *ops, void *ctx);

#endif
