/*
 * mqttconn: one MQTT client connection (paho MQTTAsync) shared by mqtt-ingest
 * and mqtt-publish: URL, TLS, credentials, protocol version, keepalive,
 * session, on-disk persistence, subscriptions, and our own reconnect loop.
 * Owns: the paho client, copies of every string of its configuration, and a
 * wake-up pipe. Never exits, never writes to stdout; logs connection events
 * (attempts, losses, reconnects) at info/warn; returns enum mqttconn_err.
 *
 * Threads. Paho runs the network on its own threads and calls the message,
 * connected and delivered callbacks on its receive thread, one at a time.
 * Everything else (connect attempts, backoff, subscriptions, logging of
 * connection events) runs on the thread that calls mqttconn_poll, so the
 * policy lives in one place and is easy to follow:
 *
 *	stage_block_signals();          before mqttconn_new: paho's threads
 *	mqttconn_new(&c, &cfg, &cb);    inherit the mask
 *	mqttconn_start(c);
 *	while (!stage_stop) {
 *		rc = mqttconn_poll(c, 1000);    waits with SIGTERM/SIGINT/SIGHUP
 *		if (rc)                         unblocked: a signal ends the wait
 *			break;
 *		... stats ...
 *	}
 *	mqttconn_stop(c, 2000);
 *	mqttconn_free(c);
 *
 * Reconnect policy. Paho's automaticReconnect is off: its delays are whole
 * seconds and it cannot count attempts for MQTT_MAX_RETRIES. Instead every
 * connect, the first one included (a broker that is not up yet is normal),
 * follows common/backoff: attempt 1 at once, then delays of min, 2 min,
 * 4 min ... up to max, each with +-20% jitter. With the defaults (1 s, 16 s):
 * 1, 2, 4, 8, 16, 16 ... s. The backoff resets when a connection stayed up
 * for reconnect_max (a connection that drops at once keeps the delays
 * growing). Each failed attempt logs `connect failed attempt=N
 * next_delay_ms=D cause="..."`; a connection that comes back logs
 * `reconnected attempts=N down_s=S`. max_retries failed attempts in a row
 * (0: no limit) end mqttconn_poll with MQTTCONN_ERR_RETRIES (exit 69). A
 * broker that refuses the credentials (CONNACK 4 or 5, MQTT 5 reason 0x86 or
 * 0x87) is not retried: MQTTCONN_ERR_AUTH (exit 78).
 *
 * Subscriptions are made again on every connect (MQTT 3.1.1 with a clean
 * session, or a broker that lost its state, would otherwise stop delivering).
 *
 * Messages (mqtt-ingest). The message callback runs inside paho's
 * messageArrived; paho sends the PUBACK of a QoS 1 message only after it
 * returns. So the callback must make the message durable (write and flush
 * the output) before it returns 0. If it cannot (output gone), it returns
 * non-zero: the message is NOT acknowledged, the receive thread parks (no
 * further message is taken or acknowledged), and mqttconn_poll returns
 * MQTTCONN_ERR_HANDLER, after which the caller exits without mqttconn_stop.
 * The broker redelivers everything unacknowledged to the next instance.
 * A callback that blocks (a stalled downstream) blocks the receive thread:
 * no PUBACK, no PINGREQ; past 1.5 x keepalive the broker closes the
 * connection and the messages wait at the broker; we reconnect when the
 * callback returns.
 */
#ifndef SENSORPIPE_MQTTCONN_H
#define SENSORPIPE_MQTTCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum mqttconn_err {
	MQTTCONN_OK = 0,
	MQTTCONN_ERR_CONFIG,	/* bad URL, TLS files, option: see mqttconn_errmsg */
	MQTTCONN_ERR_AUTH,	/* credentials refused (CONNACK 4/5, v5 0x86/0x87) */
	MQTTCONN_ERR_RETRIES,	/* MQTT_MAX_RETRIES connects failed in a row */
	MQTTCONN_ERR_SUBSCRIBE,	/* the broker refused a subscription */
	MQTTCONN_ERR_HANDLER,	/* the message callback failed: caller exits */
	MQTTCONN_ERR_NOT_CONNECTED, /* publish while down and no offline buffer */
	MQTTCONN_ERR_FULL,	/* publish: the offline buffer is full, or all
				 * 65535 QoS 1/2 message ids are in use */
	MQTTCONN_ERR_PAHO,	/* any other paho failure: see mqttconn_errmsg */
	MQTTCONN_ERR_SYS,	/* pipe/poll failed: errno */
	MQTTCONN_ERR_NOMEM,
};

struct mqttconn_cfg {
	const char *url;		/* tcp:// ssl:// mqtt:// mqtts:// ws:// wss:// */
	const char *client_id;
	const char *username;		/* NULL: none */
	const char *password;
	const char *ca_file;		/* TLS: CA bundle to verify the broker */
	const char *cert_file;		/* TLS client certificate (PEM) */
	const char *key_file;		/* TLS client key (PEM) */
	int version;			/* 4 (3.1.1) or 5 */
	bool clean_session;
	int64_t session_expiry_ms;	/* MQTT 5 session expiry */
	int64_t keepalive_ms;		/* rounded up to whole seconds */
	int64_t reconnect_min_ms;
	int64_t reconnect_max_ms;
	unsigned max_retries;		/* 0: forever */
	const char *persistence_dir;	/* NULL: memory only */
	/* Without persistence_dir: keep the publishes in a memstore (not
	 * paho's PERSISTENCE_NONE), so that a replacement client reloads
	 * them (mqttconn_poll). Not for QoS 0 publishers: paho 1.3.12 aborts
	 * when it persists QoS 0 publishes. */
	bool memory_store;
	char *const *topics;		/* subscriptions; may be none */
	size_t ntopics;
	int qos;			/* of the subscriptions */
	/* publishing (mqtt-publish): keep publishes while disconnected */
	int max_buffered;		/* 0: publish fails while down */
	uint64_t backoff_seed;		/* 0: from the clock (tests fix it) */
};

/* A message lent to the message callback; valid during the call only. */
struct mqttconn_msg {
	const char *topic;		/* NUL-terminated */
	size_t topic_len;
	const void *payload;
	size_t len;
	int qos;
	bool retained;
	bool dup;			/* possibly a redelivery */
};

struct mqttconn_callbacks {
	void *ctx;
	/* On paho's receive thread. 0: handled (acknowledged after return);
	 * non-zero: fatal, see above. May be NULL for a publisher. */
	int (*message)(void *ctx, const struct mqttconn_msg *m);
	/* On paho's threads: a publish finished (QoS 0: sent; 1/2: acked by
	 * the broker) or failed (ok false). May be NULL. */
	void (*delivered)(void *ctx, int token, bool ok);
	/*
	 * On the mqttconn_poll thread: the paho client was replaced (see
	 * mqttconn_poll), so no delivered callback will come for any token
	 * handed out before. how: MQTTCONN_RELOADED_DISK or _MEMORY, every
	 * publish not yet acknowledged was reloaded by the new client and
	 * will still be sent (mqttconn_pending counts them, reloaded of them
	 * at this moment; their acknowledgements show in acked_untracked,
	 * and reload_left is 0 once all of them were acknowledged);
	 * MQTTCONN_RELOAD_LOST, they are lost. May be NULL.
	 */
	void (*reset)(void *ctx, int how, int reloaded);
};

enum { MQTTCONN_RELOADED_DISK, MQTTCONN_RELOADED_MEMORY, MQTTCONN_RELOAD_LOST };

/* Counters, read at any time (relaxed atomics). */
struct mqttconn_stats {
	uint64_t received;		/* messages handed to the callback */
	uint64_t reconnects;		/* connects after the first success */
	uint64_t attempts;		/* connect attempts in all */
	uint64_t connected_ms;		/* time spent connected */
	uint64_t client_resets;		/* paho clients replaced */
	uint64_t acked_untracked;	/* QoS 1/2 publishes acknowledged
					 * without a delivered callback:
					 * restored at start or reloaded by a
					 * replacement client */
	int reload_left;		/* of those the current client
					 * restored or reloaded, not yet
					 * acknowledged */
	bool connected;
};

struct mqttconn;

/* Fills cfg from the MQTT_* keys of a loaded configuration; the strings are
 * borrowed from config and live as long as it does. */
void mqttconn_cfg_from_config(struct mqttconn_cfg *mc,
			      const struct config *cfg);

/* Copies cfg and creates the paho client (no network yet). Call with
 * SIGTERM/SIGINT blocked (stage_block_signals). On error *c is NULL and
 * errmsg (of size errsize) says why. */
enum mqttconn_err mqttconn_new(struct mqttconn **c,
			       const struct mqttconn_cfg *cfg,
			       const struct mqttconn_callbacks *cb,
			       char *errmsg, size_t errsize);

/* Schedules the first connect attempt (made by the next mqttconn_poll). */
enum mqttconn_err mqttconn_start(struct mqttconn *c);

/*
 * Runs the connection policy: handles what paho reported, makes a due
 * connect attempt, subscribes after a connect.
 *
 * Paho 1.3.12 can free the topic of a QoS 1/2 publish in flight when a
 * write fails on a broken connection, yet keep the message in flight;
 * after the reconnect it resends that freed memory and the broker drops
 * the connection ("malformed packet"), on every reconnect, so the queue
 * never drains (paho.mqtt.c issues 1310 and 1592; seen here with ASan as a
 * heap-use-after-free on paho's receive thread). Such a publish may fail
 * without its token, or not be reported at all. So a client never
 * reconnects with what it held when a connection broke: with a persistence
 * dir or a memory store (cfg.memory_store, common/memstore), the first
 * connect attempt after a lost connection (with publishes pending) that
 * finds the broker accepting a TCP connection first replaces the paho
 * client. The old one is retired, never used or freed again
 * (freeing it would free that memory twice: it stays until the process
 * exits), and a new one reloads the unacknowledged publishes from the
 * store, where paho wrote them intact before sending. With neither (QoS 0
 * publishers), only a QoS 1/2 publish that failed without its token does
 * this, and what the old client held is lost. The reset callback tells
 * the caller. After MQTTCONN_MAX_CLIENTS - 1 (15) replacements,
 * mqttconn_poll fails (MQTTCONN_ERR_PAHO) so that a restart frees the
 * retired clients. Waits up to timeout_ms for
 * something to happen (SIGTERM, SIGINT and SIGHUP are unblocked during the
 * wait, so a signal ends it early). Returns MQTTCONN_OK to be called again,
 * or a fatal error: AUTH, RETRIES, SUBSCRIBE, HANDLER, SYS.
 */
enum mqttconn_err mqttconn_poll(struct mqttconn *c, int timeout_ms);

/* Wakes a thread waiting in mqttconn_poll (any thread may call it). */
void mqttconn_wake(struct mqttconn *c);

/*
 * Publishes (QoS 0, 1 or 2); *token (may be NULL) identifies it to the
 * delivered callback. While disconnected, the message is kept (and with a
 * persistence dir, written to disk) when max_buffered > 0.
 */
enum mqttconn_err mqttconn_publish(struct mqttconn *c, const char *topic,
				   const void *payload, size_t len, int qos,
				   bool retain, int *token);
/* Publishes not yet completed (in flight or buffered). */
int mqttconn_pending(struct mqttconn *c);

/* Publishes a replacement client reloaded (mqttconn_poll) that the broker
 * has not acknowledged yet; 0 for the first client. A publisher that cares
 * about order holds new publishes until it is 0: the new client numbers
 * them from message id 1, and if they were in flight with the reloaded
 * ones, the next reload would resend them first (paho sorts by id). */
int mqttconn_reloading(struct mqttconn *c);

/* Disconnects cleanly, giving in-flight work up to timeout_ms. */
void mqttconn_stop(struct mqttconn *c, int timeout_ms);
/* Frees everything, unless the message callback is still running (or
 * failed): then the client is left for the process exit to end. */
void mqttconn_free(struct mqttconn *c);

/* True while the message callback runs (e.g. blocked on a stalled output
 * after mqttconn_stop): the caller must not close what it writes to. */
bool mqttconn_busy(const struct mqttconn *c);

bool mqttconn_connected(const struct mqttconn *c);
void mqttconn_get_stats(const struct mqttconn *c, struct mqttconn_stats *st);
/* The last error in words (connect cause, paho message...). */
const char *mqttconn_errmsg(const struct mqttconn *c);

/* Exposed for tests: whether a connect failure means bad credentials. */
bool mqttconn_is_auth_failure(int version, int code);

const char *mqttconn_strerror(enum mqttconn_err err);

#endif
