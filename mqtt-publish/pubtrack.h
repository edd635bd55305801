/*
 * pubtrack: the publishes not yet acknowledged, in input order, so that the
 * input position is committed only past records the broker acknowledged.
 * Owns: a ring of (token, input position, done) entries and its mutex.
 * Never logs, publishes or exits; returns enum pubtrack_err.
 *
 * Threads: pubtrack_add and pubtrack_pop run on the stage's thread,
 * pubtrack_done on paho's threads (the delivered callback). The callback
 * may come before pubtrack_add for the same publish (paho's send thread can
 * finish a QoS 0 publish before MQTTAsync_send returns to us): such an early
 * completion is remembered and applied by the add.
 *
 * Tokens: a QoS 1/2 publish has a message id (1..65535), unique among the
 * publishes in flight; QoS 0 publishes all have token 0 and complete in the
 * order they were sent, so a completion of token 0 belongs to the oldest
 * QoS 0 entry not yet done.
 *
 *	pubtrack_add(t, 7, pos_a); pubtrack_add(t, 8, pos_b);
 *	pubtrack_done(t, 8, true);     nothing to pop: 7 is still in flight
 *	pubtrack_done(t, 7, true);
 *	pubtrack_pop(t, &pos, &n)      pos = pos_b, n = 2
 */
#ifndef MQTT_PUBLISH_PUBTRACK_H
#define MQTT_PUBLISH_PUBTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stageio.h"

enum pubtrack_err {
	PUBTRACK_OK = 0,
	PUBTRACK_ERR_FULL,	/* cap entries outstanding: wait for acks */
	PUBTRACK_ERR_TOKEN,	/* a token out of range or already tracked */
	PUBTRACK_ERR_NOMEM,
};

struct pubtrack;

/* A tracker for up to cap outstanding publishes. */
enum pubtrack_err pubtrack_new(struct pubtrack **t, size_t cap);
void pubtrack_free(struct pubtrack *t);

/* A record that was not published (dead-lettered): done at once, so the
 * input position moves past it in order; not counted as acknowledged. */
#define PUBTRACK_NONE (-1)

/* Records a publish that returned token (or PUBTRACK_NONE), read up to input
 * position pos. */
enum pubtrack_err pubtrack_add(struct pubtrack *t, int token,
			       struct stage_pos pos);

/* The publish with this token completed (ok: acknowledged, or for QoS 0
 * written to the socket; !ok: paho gave up on it). Any thread. */
void pubtrack_done(struct pubtrack *t, int token, bool ok);

/*
 * The MQTT client was replaced and forgot every token (mqttconn's reset
 * callback). Every token and early completion is forgotten, so the new
 * client's tokens start afresh, and each entry still in flight becomes:
 *   STORED  done as stored: its message was reloaded from a store that
 *           survives a crash (MQTT_PERSISTENCE_DIR) and will still be sent;
 *   HELD    held: reloaded from memory, it will be sent, but the input
 *           position must not pass it until pubtrack_release_held (once the
 *           reloaded messages were acknowledged); it still counts as
 *           outstanding;
 *   LOST    done as failed.
 * Returns how many entries it changed.
 */
enum pubtrack_reset_mode {
	PUBTRACK_RESET_STORED,
	PUBTRACK_RESET_HELD,
	PUBTRACK_RESET_LOST,
};
size_t pubtrack_reset(struct pubtrack *t, enum pubtrack_reset_mode mode);

/* Every held entry is done as stored. Returns how many. */
size_t pubtrack_release_held(struct pubtrack *t);

/* Outcomes of the entries removed by pubtrack_pop (added to). */
struct pubtrack_tally {
	uint64_t acked;		/* the broker acknowledged it */
	uint64_t failed;	/* paho gave up on it, or it was lost */
	uint64_t stored;	/* left to a new client's persistence store */
};

/*
 * Removes the completed entries at the head (the oldest ones, up to the
 * first still in flight). Returns true when any was removed; *pos is then
 * the input position of the last one, and *tally counts them by outcome
 * (dead-lettered records are not counted).
 */
bool pubtrack_pop(struct pubtrack *t, struct stage_pos *pos,
		  struct pubtrack_tally *tally);

/* Entries outstanding (added and not popped). */
size_t pubtrack_count(struct pubtrack *t);

const char *pubtrack_strerror(enum pubtrack_err err);

#endif
