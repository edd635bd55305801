/*
 * store: the alerts alert-api serves, newest STORE max, in memory.
 * Owns: every alert, its acknowledgement, the indexes and the lock
 * (a rwlock: many readers, one writer; every call takes it itself).
 * Never logs, exits or touches files; returns enum store_err.
 *
 * Each alert id is upserted: the latest event wins (fired -> summarized ->
 * resolved), and keeps the place it got when it first arrived. That place is
 * a sequence number, increasing by one per new alert: lists are newest
 * first by it, a cursor is the sequence of the last item of a page, and the
 * next page starts below it, so alerts arriving between pages neither move
 * nor repeat anything. Past max alerts the oldest (lowest sequence) goes.
 *
 * Indexes: by id (hash), by sensor_id and by rule (one list per value), by
 * severity, and the firing alerts; a query walks the shortest list that
 * applies and checks the other filters on each alert. since/until compare
 * the alert's started_at; without a list to walk, the ring is walked and
 * blocks of 64 alerts whose started_at range misses the window are skipped.
 * Output: the newest 4096 alerts keep their rendered JSON once asked for.
 */
#ifndef ALERT_API_STORE_H
#define ALERT_API_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "util.h"

enum store_err {
	STORE_OK = 0,
	STORE_ERR_NOT_FOUND,	/* no alert with that id */
	STORE_ERR_NOMEM,
	STORE_ERR_FULL,		/* the output buffer reached its cap */
	STORE_ERR_BAD_ID,	/* the id is not a UUID */
	STORE_ERR_BAD_CURSOR,	/* not a cursor this store wrote */
	STORE_ERR_IO,		/* the acknowledgements log: see errno */
};

#define STORE_BY_MAX 128	/* bytes of an acknowledgement's "by" */
#define STORE_COMMENT_MAX 1024	/* bytes of its comment */
#define STORE_CURSOR_MAX 24	/* buffer size of an encoded cursor */

struct store;

struct store_query {
	int status;		/* enum alert_status, or -1 for any */
	int severity;		/* enum severity, or -1 */
	const char *sensor_id;	/* NULL: any */
	const char *rule;	/* NULL: any */
	bool has_since, has_until;
	int64_t since_ns, until_ns;	/* since <= started_at < until */
	size_t limit;		/* 1..1000 */
	uint64_t cursor;	/* 0: from the newest */
};

/* Counts by status and severity, for /metrics. */
struct store_stats {
	uint64_t by[2][3];	/* [enum alert_status][enum severity] */
	size_t alerts;
	uint64_t inserted, updated, evicted, pending_acks;
};

/* max: alerts kept (>= 1). NULL when memory ran out. */
struct store *store_new(size_t max);
void store_free(struct store *s);

/* Inserts the alert or replaces the state of the alert with its id. */
enum store_err store_apply(struct store *s, const struct alert *a);

/*
 * Records an acknowledgement of alert id at at_ns. by and comment are
 * copied (truncated to STORE_BY_MAX / STORE_COMMENT_MAX bytes; comment may
 * be NULL). With keep_unknown (replay at start), an ack of an alert not yet
 * in the store is kept and applied when it arrives; otherwise that is
 * STORE_ERR_NOT_FOUND.
 */
enum store_err store_ack(struct store *s, const char *id, const char *by,
			 const char *comment, int64_t at_ns,
			 bool keep_unknown);

/*
 * Replays the acknowledgements log (NDJSON lines {"id","by","comment","at"})
 * with keep_unknown, then keeps it open to append. A torn last line (a crash
 * during a write) is counted in *bad and closed with a newline. A missing
 * file is created. STORE_ERR_IO with errno when it cannot be opened.
 */
enum store_err store_acklog_open(struct store *s, const char *path,
				 size_t *replayed, size_t *bad);

/*
 * An acknowledgement from a user: NOT_FOUND unless the alert is here; else
 * one line is appended to the log and fsynced (STORE_ERR_IO on failure,
 * nothing changes), then it is applied. Without a log it is only applied.
 */
enum store_err store_ack_record(struct store *s, const char *id,
				const char *by, const char *comment,
				int64_t at_ns);

/* Whether alert id is in the store. */
bool store_has(struct store *s, const char *id);

/* Appends the alert as JSON (latest event + "acknowledged") to out. */
enum store_err store_get(struct store *s, const char *id, struct strbuf *out);

/* Appends {"items":[...],"next_cursor":"..."|null} to out. */
enum store_err store_list(struct store *s, const struct store_query *q,
			  struct strbuf *out);

void store_get_stats(struct store *s, struct store_stats *st);

/*
 * Snapshots (alert-api/snapshot): store_dump passes the latest event of
 * every alert, oldest place first, to emit as NDJSON lines (alert records
 * without "acknowledged"), up to STORE_DUMP_CHUNK alerts per call; *first_seq
 * gets the place of the first line (the next place when the store is
 * empty), *n the number of lines. The read lock is held only while a chunk
 * is rendered, never during emit, so acknowledgements wait for one chunk at
 * most. Call it from the thread that calls store_apply (the only writer of
 * events): between chunks no event can change, so the lines are one
 * consistent state. Acknowledgements are not written (API_ACK_FILE has
 * them). emit returns 0, or -1 to stop: STORE_ERR_IO.
 */
#define STORE_DUMP_CHUNK 1024

typedef int store_dump_fn(void *arg, const char *buf, size_t len);

enum store_err store_dump(struct store *s, store_dump_fn *emit, void *arg,
			  uint64_t *first_seq, size_t *n);

/*
 * Before the first store_apply: the first alert stored gets place seq (a
 * restored snapshot keeps the places, so cursors handed out before a
 * restart stay valid). STORE_ERR_BAD_CURSOR when something was stored
 * already or seq is 0 or absurd.
 */
enum store_err store_set_first_seq(struct store *s, uint64_t seq);

/* Opaque cursor text <-> sequence. encode: buf of STORE_CURSOR_MAX. */
void store_cursor_encode(uint64_t seq, char *buf);
enum store_err store_cursor_decode(const char *text, uint64_t *seq);

/* True when text is a UUID in canonical form (any case). */
bool store_id_valid(const char *text);

const char *store_strerror(enum store_err err);

#endif
