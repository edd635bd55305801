/*
 * sse: the event hub behind GET /alerts/stream (Server-Sent Events).
 * Owns: a bounded ring of the most recent events, each with a sequence
 * number that is its SSE id, and the condition clients wait on.
 * Never touches sockets, logs or exits: http.c moves the bytes that
 * sse_client_read produces. Returns plain counts (see each function).
 *
 * A client that sends Last-Event-ID N gets every event after N still in the
 * ring; when N is older than the ring it gets the whole ring after a comment
 * saying how many events it missed, and when N is newer than anything here
 * (the server restarted with a fresh numbering) it gets the whole ring.
 * Silence longer than the heartbeat interval sends a ": heartbeat" comment
 * so proxies and the connection timeout keep the stream open.
 */
#ifndef ALERT_API_SSE_H
#define ALERT_API_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct sse_hub;

/* Called after each publish and at stop, outside the hub's lock. */
typedef void sse_wake_fn(void *cls);

struct sse_client {
	struct sse_hub *hub;
	uint64_t next;		/* sequence of the next event to send */
	struct strbuf pending;	/* formatted bytes not yet handed out */
	size_t off;
	int64_t last_send_ms;
	bool started;
};

/* ring: events kept for resumption; heartbeat_ms: silence before a comment. */
struct sse_hub *sse_hub_new(size_t ring, int64_t heartbeat_ms);
void sse_hub_free(struct sse_hub *h);

/* Adds an event (data: one line of JSON); returns its sequence, 0 on ENOMEM. */
uint64_t sse_publish(struct sse_hub *h, const char *event, const char *data,
		     size_t len);
/* Sequence of the newest event (0 before the first). */
uint64_t sse_last_seq(struct sse_hub *h);
/* Ends every stream: readers return -1 from now on. */
void sse_hub_stop(struct sse_hub *h);
/* Sets the function told of new events (NULL: none). */
void sse_hub_set_wake(struct sse_hub *h, sse_wake_fn *fn, void *cls);
/* Clients connected now. */
unsigned sse_clients(struct sse_hub *h);

/*
 * has_last: the client sent Last-Event-ID last_id; otherwise it starts with
 * the next event published.
 */
void sse_client_init(struct sse_client *c, struct sse_hub *h, bool has_last,
		     uint64_t last_id);
void sse_client_release(struct sse_client *c);

/* Whether sse_client_read would return something now (bytes to send, an
 * event, a heartbeat due, or the end). */
bool sse_client_ready(struct sse_client *c);

/*
 * Copies up to max bytes of the stream into buf, waiting up to wait_ms for
 * something to send. Returns the byte count (> 0), 0 when nothing came in
 * wait_ms, or -1 when the hub stopped (or memory ran out).
 */
long sse_client_read(struct sse_client *c, char *buf, size_t max, int wait_ms);

#endif
