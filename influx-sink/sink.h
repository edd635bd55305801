/*
 * sink: batching, writer threads and the retry policy of influx-sink.
 * The main thread adds points (sink_add) to the open batch of the writer
 * its series hashes to; a batch is sealed and queued when it holds
 * batch_size points or flush_ms after its first point; each writer thread
 * sends its queue in order through its own influx client, so the points of
 * one series are never reordered.
 * Owns: the writer threads, their clients, every batch, the counters.
 * Never exits; logs what goes wrong with the server (that is its job) and
 * returns enum sink_err. Only sink_add, sink_tick, sink_seal_all and
 * sink_low_water may be called from the main thread without limits; the
 * rest are thread-safe.
 */
#ifndef SENSORPIPE_SINK_H
#define SENSORPIPE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadletter.h"
#include "influx.h"
#include "stageio.h"

enum sink_err {
	SINK_OK = 0,
	SINK_ERR_NOMEM,
	SINK_ERR_THREAD,	/* pthread_create failed: errno */
	SINK_ERR_CLIENT,	/* the HTTP client could not be set up */
};

struct sink_opts {
	struct influx_target target;
	unsigned writers;		/* INFLUX_CONCURRENCY, 1..16 */
	size_t batch_size;		/* points per request */
	int64_t flush_ms;		/* age of a batch's first point */
	int64_t retry_max_ms;		/* longest delay between retries */
	bool create_db;			/* v1: create the database on a 404 */
	struct deadletter *dl;		/* refused points (may be NULL) */
};

struct sink_stats {
	uint64_t in;		/* points added */
	uint64_t written;	/* points the server took */
	uint64_t rejected;	/* points the server refused (dead letter) */
	uint64_t batches;	/* batches done */
	uint64_t requests;	/* write requests that got an answer */
	uint64_t retries;	/* requests repeated after a failure */
	uint64_t backlog;	/* points held: in - written - rejected */
	double p50_ms, p99_ms;	/* write latency since the last call */
	char last_error[256];	/* "" when none yet */
};

struct sink;

/* Starts the writers; every string of opts is copied or outlives s. */
enum sink_err sink_new(struct sink **s, const struct sink_opts *opts);

/*
 * Adds one point (line without '\n') of series hash `hash`, read from input
 * line `lineno`; pos is the input position before that line. May seal and
 * queue the batch. Main thread only.
 */
enum sink_err sink_add(struct sink *s, const char *line, size_t len,
		       uint64_t hash, uint64_t lineno, struct stage_pos pos,
		       int64_t now_ms);

/* Seals batches whose first point is flush_ms old; returns the ms until
 * the next one is due (-1: no open batch). Main thread only. */
int64_t sink_tick(struct sink *s, int64_t now_ms);
/* Seals every open batch (shutdown). Main thread only. */
void sink_seal_all(struct sink *s);
/*
 * Seals the open batches of writers with nothing queued: at the buffer
 * limit, this keeps every writer busy without cutting batches short while
 * they still have work (cutting them all would shrink batches for as long
 * as the limit holds). Main thread only.
 */
void sink_seal_idle(struct sink *s);

/* Points held, in open and queued batches. */
uint64_t sink_backlog(struct sink *s);
/* A refused point could not be written to the dead letter: the writers
 * stopped, the point and those after it stay held (exit 74). */
bool sink_failed(struct sink *s);
/* Batches finished so far (changes when something was written). */
uint64_t sink_progress(struct sink *s);
/* Waits until a batch finishes or timeout_ms passes. */
void sink_wait(struct sink *s, int timeout_ms);

/*
 * The input position before the oldest point not yet written: every input
 * line before it is handled. `now` is the position after the last line
 * read, returned when nothing is held. Main thread only.
 */
struct stage_pos sink_low_water(struct sink *s, struct stage_pos now);

/* Counters; resets the latency window. */
void sink_get_stats(struct sink *s, struct sink_stats *st);

/*
 * Stops the writers: raises the abort flag (a request in flight stops, a
 * retry wait ends), joins the threads. Points still held stay counted in
 * the backlog. Call after sealing and waiting as long as the caller allows.
 */
void sink_stop(struct sink *s);
void sink_free(struct sink *s);

/* FNV-1a of the series key: picks the writer of a series. */
uint64_t sink_hash(const char *s, size_t len);

const char *sink_strerror(enum sink_err err);

#endif
