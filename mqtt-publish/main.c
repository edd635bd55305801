/*
 * mqtt-publish: NDJSON records (alert events, readings) -> MQTT messages,
 * with an offline queue.
 *
 * Each record is parsed (jansson), its topic filled from MQTT_PUBLISH_TOPIC
 * and handed to paho (common/mqttconn), which sends it at once when
 * connected, or keeps it (on disk with MQTT_PERSISTENCE_DIR: one c-N.msg file
 * per message) while the broker is away and sends the queue in order when it
 * is back. The publishes in flight are bounded: MQTT_PUBLISH_INFLIGHT while
 * connected (pipelining: many QoS 1 messages await their PUBACK at once),
 * MQTT_PUBLISH_QUEUE_MAX while disconnected. At the bound the stage stops
 * reading its input (backpressure) and never drops a record.
 *
 * Delivery: a record counts as delivered when paho reports its publish
 * complete (QoS 1: the broker's PUBACK; QoS 0: written to the socket). The
 * input position is committed only past records delivered (or
 * dead-lettered), in input order (mqtt-publish/pubtrack).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "deadletter.h"
#include "exitcodes.h"
#include "log.h"
#include "mqttconn.h"
#include "pubmsg.h"
#include "pubtrack.h"
#include "stage.h"
#include "stageio.h"
#include "util.h"
#include "banned.h"

/* How often the connection policy runs while records stream through. */
#define PUBLISH_POLL_MS 20

/* Reasons beyond pubmsg's. */
enum publish_reason {
	PUBLISH_REJ_BAD_JSON = PUBMSG_ERR__COUNT,
	PUBLISH_REJ_TOO_LONG,
	PUBLISH_REJ_PUBLISH,
	PUBLISH_REJ__COUNT
};

static const struct stage_info publish_info = {
	.prog = "mqtt-publish",
	.stage = ST_PUBLISH,
	.synopsis = "mqtt-publish [--env-file FILE] [--in -|DIR [--consumer NAME]] [--dead-letter FILE] [--strict] [--KEY VALUE]...",
	.description =
		"Reads NDJSON records (alert events, readings) and publishes each "
		"one to the broker at MQTT_URL, on the topic MQTT_PUBLISH_TOPIC "
		"filled from the record ({rule}, {tags.sensor_id}), as compact "
		"JSON (or the value of MQTT_PUBLISH_FIELD), at MQTT_QOS, retained "
		"with MQTT_PUBLISH_RETAIN. While the broker is away, records keep "
		"being read and queued (on disk in MQTT_PERSISTENCE_DIR) up to "
		"MQTT_PUBLISH_QUEUE_MAX, then reading stops; nothing is dropped. "
		"Records that cannot fill the topic go to the dead-letter file. "
		"At end of input it waits until the broker acknowledged "
		"everything; SIGTERM or SIGINT stops reading, sends what it can "
		"within MQTT_PUBLISH_DRAIN_TIMEOUT, keeps the rest on disk and "
		"exits 0.",
};

struct publish {
	struct config *cfg;
	struct stage_in *in;
	struct deadletter *dl;
	struct pubmsg_tpl tpl;
	struct pubtrack *track;
	struct mqttconn *conn;
	const char *field;
	int qos;
	bool retain;
	size_t inflight_max;
	size_t queue_max;
	struct strbuf topic;
	struct strbuf payload;
	struct log_limit lim;
	/* the record in topic/payload, not yet accepted by paho (FULL) */
	bool held;
	struct stage_pos held_pos;
	/* The main thread, waiting for room in the window, is woken once
	 * `delivered` reaches `wake_at` (not on every ack: a wake-up costs a
	 * pipe write and a ppoll, as much as a publish). */
	_Atomic bool waiting;
	_Atomic uint64_t delivered;
	_Atomic uint64_t wake_at;
	/* counters, main thread */
	uint64_t lines;
	uint64_t published;
	struct pubtrack_tally done;	/* acked, failed (dropped), stored */
	uint64_t rejected;
	uint64_t full_waits;		/* times reading paused: window or
					 * paho's queue full */
	bool paused;
	/* records reloaded into memory by a replacement client: the input
	 * position waits at them until it delivered them (publish_commit) */
	bool holding;
	uint64_t rej[PUBLISH_REJ__COUNT];
	int restored;
	/* last stats line */
	uint64_t last_acked;
	uint64_t last_published;
	int64_t last_ms;
};

static const char *
publish_reason(int r)
{
	switch (r) {
	case PUBLISH_REJ_BAD_JSON:
		return "bad_json";
	case PUBLISH_REJ_TOO_LONG:
		return "too_long";
	case PUBLISH_REJ_PUBLISH:
		return "publish_failed";
	}
	return pubmsg_reason((enum pubmsg_err)r);
}

/* Paho's threads: a publish completed. */
static void
publish_on_delivered(void *ctx, int token, bool ok)
{
	struct publish *p = ctx;

	uint64_t n;

	pubtrack_done(p->track, token, ok);
	n = atomic_fetch_add_explicit(&p->delivered, 1,
				      memory_order_relaxed) + 1;
	if (atomic_load_explicit(&p->waiting, memory_order_relaxed) &&
	    n >= atomic_load_explicit(&p->wake_at, memory_order_relaxed))
		mqttconn_wake(p->conn);
}

/*
 * On the stage's thread (in mqttconn_poll): the paho client was replaced
 * and the records in flight were reloaded by the new one. From
 * MQTT_PERSISTENCE_DIR they survive a crash: the input may move past them
 * (requeued). From memory they do not: the input waits at them until the
 * new client has delivered everything it reloaded (publish_commit). Lost
 * ones count as dropped.
 */
static void
publish_on_reset(void *ctx, int how, int reloaded)
{
	struct publish *p = ctx;
	size_t n;

	switch (how) {
	case MQTTCONN_RELOADED_DISK:
		(void)pubtrack_reset(p->track, PUBTRACK_RESET_STORED);
		break;
	case MQTTCONN_RELOADED_MEMORY:
		n = pubtrack_reset(p->track, PUBTRACK_RESET_HELD);
		p->holding = p->holding || n > 0;
		break;
	default:
		n = pubtrack_reset(p->track, PUBTRACK_RESET_LOST);
		if (n)
			log_error("lost %zu records in flight\treloaded=%d", n,
				  reloaded);
		break;
	}
}

/* Commits the input past every delivered record at the head. */
static int
publish_commit(struct publish *p)
{
	struct stage_pos pos;
	enum stageio_err rc;

	if (p->holding && mqttconn_reloading(p->conn) <= 0) {
		(void)pubtrack_release_held(p->track);
		p->holding = false;
	}
	if (!pubtrack_pop(p->track, &pos, &p->done))
		return -1;
	rc = stage_in_commit(p->in, pos);
	if (rc) {
		log_error("cannot commit the input position of %s: %s",
			  stage_in_name(p->in), stage_in_errmsg(p->in));
		return EX_IOERR;
	}
	return -1;
}

/* A line that will not be published: counted, warned, dead-lettered. */
static int
publish_reject(struct publish *p, int reason, const char *detail,
	       const char *line, size_t len)
{
	struct deadletter_entry e;
	enum deadletter_err drc;

	p->rejected++;
	p->rej[reason]++;
	log_warn_limited(&p->lim, "rejected a record\treason=%s line=%" PRIu64
			 " detail=\"%s\"", publish_reason(reason),
			 stage_in_lineno(p->in), detail);
	memset(&e, 0, sizeof(e));
	e.reason = publish_reason(reason);
	e.detail = detail;
	e.line = stage_in_lineno(p->in);
	e.data = line;
	e.len = len;
	drc = deadletter_write(p->dl, &e);
	if (drc) {
		log_error("cannot write to dead-letter file '%s': %s: %s",
			  config_str(p->cfg, CK_DEAD_LETTER_FILE),
			  deadletter_strerror(drc), strerror(errno));
		return EX_IOERR;
	}
	if (p->cfg->strict) {
		log_error("bad input line with --strict\treason=%s line=%" PRIu64,
			  publish_reason(reason), stage_in_lineno(p->in));
		return EX_DATAERR;
	}
	/* In order with the publishes before it: done at once. */
	(void)pubtrack_add(p->track, PUBTRACK_NONE, stage_in_tell(p->in));
	return -1;
}

/*
 * Hands the held record to paho. Returns -1 when accepted (or rejected to
 * the dead letter), 0 when paho's buffer is full (try again later), or an
 * exit status.
 */
static int
publish_send(struct publish *p)
{
	enum mqttconn_err rc;
	enum pubtrack_err trc;
	int token = 0;

	rc = mqttconn_publish(p->conn, p->topic.buf, p->payload.buf,
			      p->payload.len, p->qos, p->retain, &token);
	switch (rc) {
	case MQTTCONN_OK:
		break;
	case MQTTCONN_ERR_FULL:
	case MQTTCONN_ERR_NOT_CONNECTED:
		if (!p->paused)
			p->full_waits++;
		p->paused = true;
		return 0;
	case MQTTCONN_ERR_NOMEM:
		log_error("out of memory publishing to '%s'", p->topic.buf);
		return EX_OSERR;
	case MQTTCONN_ERR_CONFIG:
	case MQTTCONN_ERR_AUTH:
	case MQTTCONN_ERR_RETRIES:
	case MQTTCONN_ERR_SUBSCRIBE:
	case MQTTCONN_ERR_HANDLER:
	case MQTTCONN_ERR_PAHO:
	case MQTTCONN_ERR_SYS:
		/* Paho refused this message (payload too large...): the
		 * record goes to the dead letter, the stage goes on. */
		p->held = false;
		return publish_reject(p, PUBLISH_REJ_PUBLISH,
				      mqttconn_errmsg(p->conn),
				      p->payload.buf, p->payload.len);
	}
	p->held = false;
	p->published++;
	trc = pubtrack_add(p->track, token, p->held_pos);
	if (trc) {
		log_error("cannot track publish token %d: %s", token,
			  pubtrack_strerror(trc));
		return EX_SOFTWARE;
	}
	return -1;
}

static int
publish_line(struct publish *p, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *rec;
	enum pubmsg_err rc;
	char detail[256];
	int ex;

	p->lines++;
	rec = json_loadb(line, len, 0, &jerr);
	if (!rec || !json_is_object(rec)) {
		if (rec)
			snprintf(detail, sizeof(detail), "not a JSON object");
		else
			snprintf(detail, sizeof(detail), "column %d: %s",
				 jerr.column, jerr.text);
		json_decref(rec);
		return publish_reject(p, PUBLISH_REJ_BAD_JSON, detail, line, len);
	}
	rc = pubmsg_topic(&p->tpl, rec, &p->topic, detail, sizeof(detail));
	if (!rc) {
		rc = pubmsg_payload(rec, line, len, p->field, &p->payload);
		if (rc == PUBMSG_ERR_NO_FIELD)
			snprintf(detail, sizeof(detail), "no key '%s'",
				 p->field);
	}
	json_decref(rec);
	if (rc == PUBMSG_ERR_NOMEM) {
		log_error("out of memory");
		return EX_OSERR;
	}
	if (rc)
		return publish_reject(p, (int)rc, detail, line, len);
	p->held = true;
	p->held_pos = stage_in_tell(p->in);
	ex = publish_send(p);
	return ex == 0 ? -1 : ex;
}

static int
publish_conn_exit(struct publish *p, enum mqttconn_err rc)
{
	switch (rc) {
	case MQTTCONN_OK:
		return -1;
	case MQTTCONN_ERR_AUTH:
	case MQTTCONN_ERR_SUBSCRIBE:
	case MQTTCONN_ERR_CONFIG:
		log_error("%s", mqttconn_errmsg(p->conn));
		return EX_CONFIG;
	case MQTTCONN_ERR_RETRIES:
		log_error("%s", mqttconn_errmsg(p->conn));
		return EX_UNAVAILABLE;
	case MQTTCONN_ERR_SYS:
		log_error("%s", mqttconn_errmsg(p->conn));
		return EX_OSERR;
	case MQTTCONN_ERR_NOMEM:
		log_error("out of memory");
		return EX_OSERR;
	case MQTTCONN_ERR_HANDLER:
	case MQTTCONN_ERR_NOT_CONNECTED:
	case MQTTCONN_ERR_FULL:
	case MQTTCONN_ERR_PAHO:
		break;
	}
	log_error("%s", mqttconn_errmsg(p->conn));
	return EX_SOFTWARE;
}

/* Runs the connection policy for up to ms, woken early after `acks`
 * completions (0: by none). */
static int
publish_wait(struct publish *p, int ms, size_t acks)
{
	enum mqttconn_err rc;

	atomic_store_explicit(&p->wake_at, acks == 0 ? UINT64_MAX :
			      atomic_load(&p->delivered) + acks,
			      memory_order_relaxed);
	atomic_store_explicit(&p->waiting, true, memory_order_relaxed);
	rc = mqttconn_poll(p->conn, ms);
	atomic_store_explicit(&p->waiting, false, memory_order_relaxed);
	if (rc)
		return publish_conn_exit(p, rc);
	return publish_commit(p);
}

static void
publish_stats(struct publish *p, bool final)
{
	struct mqttconn_stats st;
	struct strbuf sb;
	int64_t now = time_mono_ms();
	double secs = (double)(now - p->last_ms) / 1000.0;
	int queued = mqttconn_pending(p->conn);
	uint64_t acked;

	mqttconn_get_stats(p->conn, &st);
	/* ours, and those completed without a callback (restored at start,
	 * or reloaded by a replacement client) */
	acked = p->done.acked + st.acked_untracked;
	strbuf_init(&sb, 4096);
	for (int r = 1; r < PUBLISH_REJ__COUNT; r++)
		if (p->rej[r])
			strbuf_addf(&sb, " %s=%" PRIu64, publish_reason(r),
				    p->rej[r]);
	if (secs <= 0)
		secs = 1e-3;
	log_info("%s\tread=%" PRIu64 " published=%" PRIu64 " acknowledged=%"
		 PRIu64 " queued=%d dropped=%" PRIu64 " rejected=%" PRIu64
		 "%s restored=%d requeued=%" PRIu64 " backpressure_waits=%"
		 PRIu64 " reconnects=%" PRIu64 " client_resets=%" PRIu64
		 " connected=%d rate_in=%.1f/s rate=%.1f/s",
		 final ? "final stats" : "stats", p->lines, p->published,
		 acked, queued, p->done.failed, p->rejected,
		 sb.buf ? sb.buf : "", p->restored, p->done.stored,
		 p->full_waits, st.reconnects, st.client_resets,
		 st.connected ? 1 : 0,
		 (double)(p->published - p->last_published) / secs,
		 (double)(acked - p->last_acked) / secs);
	strbuf_release(&sb);
	p->last_acked = acked;
	p->last_published = p->published;
	p->last_ms = now;
}

/* Publishes not yet completed: ours and any restored from disk. */
static bool
publish_drained(struct publish *p)
{
	return !p->held && pubtrack_count(p->track) == 0 &&
	       mqttconn_pending(p->conn) <= 0;
}

/*
 * After end of input (wait_ms < 0: until everything is acknowledged) or a
 * stop signal (up to wait_ms): keep the connection going until the queue
 * is empty. A signal during an unbounded drain bounds it.
 */
static int
publish_drain(struct publish *p, int64_t wait_ms, struct stage_ticker *tk)
{
	int64_t end = wait_ms >= 0 ? time_mono_ms() + wait_ms : -1;
	int ex;

	while (!publish_drained(p)) {
		if (end < 0 && stage_stop) {
			log_info("stopping on signal %d while draining",
				 (int)stage_stop_signal);
			end = time_mono_ms() +
				config_num(p->cfg, CK_MQTT_PUBLISH_DRAIN_TIMEOUT);
		}
		if (end >= 0 && time_mono_ms() >= end)
			break;
		/* the record read last, refused while paho's queue was
		 * full: it goes into the queue (and to disk) as soon as
		 * there is room */
		if (p->held && mqttconn_reloading(p->conn) <= 0) {
			ex = publish_send(p);
			if (ex > 0)
				return ex;
		}
		ex = publish_wait(p, 50, 1);
		if (ex >= 0)
			return ex;
		if (stage_ticker_due(tk, time_mono_ms()))
			publish_stats(p, false);
	}
	return -1;
}

static size_t
publish_window(struct publish *p)
{
	return mqttconn_connected(p->conn) ? p->inflight_max : p->queue_max;
}

static int
publish_loop(struct publish *p, struct stage_ticker *tk, bool *eof)
{
	const char *line;
	size_t len;
	enum stageio_err rc;
	int64_t next_poll = 0, now;
	int ex = -1;

	while (ex < 0 && !stage_stop) {
		now = time_mono_ms();
		if (now >= next_poll) {
			ex = publish_wait(p, 0, 0);
			if (ex >= 0)
				break;
			if (stage_ticker_due(tk, now))
				publish_stats(p, false);
			next_poll = now + PUBLISH_POLL_MS;
		}
		/* what a replacement client reloaded goes out alone first:
		 * new publishes mixed in flight with it would come first
		 * after another reload (mqttconn_reloading) */
		if (mqttconn_reloading(p->conn) > 0) {
			if (!p->paused)
				p->full_waits++;
			p->paused = true;
			ex = publish_wait(p, PUBLISH_POLL_MS, 0);
			continue;
		}
		if (p->held) {
			ex = publish_send(p);
			if (ex == 0)
				ex = publish_wait(p, PUBLISH_POLL_MS, 1);
			continue;
		}
		if (pubtrack_count(p->track) >= publish_window(p)) {
			if (!p->paused)
				p->full_waits++;
			p->paused = true;
			/* resume when a quarter of the window is free */
			ex = publish_wait(p, PUBLISH_POLL_MS,
					  publish_window(p) / 4 + 1);
			continue;
		}
		p->paused = false;
		rc = stage_in_read(p->in, &line, &len, PUBLISH_POLL_MS);
		switch (rc) {
		case STAGEIO_OK:
			ex = publish_line(p, line, len);
			break;
		case STAGEIO_BAD_LINE:
			p->lines++;
			ex = publish_reject(p, PUBLISH_REJ_TOO_LONG,
					    stage_in_bad_reason(p->in), "", 0);
			break;
		case STAGEIO_TIMEOUT:
			next_poll = 0;
			break;
		case STAGEIO_EOF:
			*eof = true;
			return -1;
		case STAGEIO_ERR_SYS:
		case STAGEIO_ERR_PIPE:
		case STAGEIO_ERR_NOMEM:
		case STAGEIO_ERR_JOURNAL:
		case STAGEIO_ERR_USAGE:
			log_error("cannot read %s: %s", stage_in_name(p->in),
				  stage_in_errmsg(p->in));
			ex = EX_IOERR;
			break;
		}
	}
	return ex;
}

static int
publish_run(struct publish *p)
{
	struct mqttconn_cfg mc;
	struct mqttconn_callbacks cb = { .ctx = p,
					 .delivered = publish_on_delivered,
					 .reset = publish_on_reset };
	struct stage_ticker tk;
	enum mqttconn_err rc;
	char err[512];
	bool eof = false;
	int ex, cex, left;

	/* paho's threads inherit this mask: only our ppoll takes signals */
	stage_block_signals();
	mqttconn_cfg_from_config(&mc, p->cfg);
	mc.max_buffered = (int)p->queue_max;
	/* without a directory, QoS 1/2 publishes wait in a memstore that a
	 * replacement client reloads (mqttconn.h) */
	mc.memory_store = p->qos > 0;
	if (p->qos == 0 && mc.persistence_dir) {
		/* Paho 1.3.12 aborts ("free(): invalid size" on its receive
		 * thread) when it persists QoS 0 publishes, and its
		 * createOptions.persistQoS0 needs a newer struct version
		 * than it accepts. QoS 0 is at most once anyway. */
		log_warn("MQTT_QOS=0: MQTT_PERSISTENCE_DIR is not used; QoS 0 messages queued while the broker is away are kept in memory only and are lost if the process dies");
		mc.persistence_dir = NULL;
	}
	rc = mqttconn_new(&p->conn, &mc, &cb, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		return rc == MQTTCONN_ERR_CONFIG ? EX_CONFIG : EX_OSERR;
	}
	p->restored = mqttconn_pending(p->conn);
	log_info("starting\turl=%s client_id=%s topic=%s qos=%d retain=%d inflight=%zu queue_max=%zu persistence_dir=%s restored=%d",
		 mc.url, mc.client_id, config_str(p->cfg, CK_MQTT_PUBLISH_TOPIC),
		 p->qos, p->retain, p->inflight_max, p->queue_max,
		 mc.persistence_dir ? mc.persistence_dir : "(none)",
		 p->restored);
	if (!mc.persistence_dir && p->qos > 0)
		log_warn("MQTT_PERSISTENCE_DIR is not set: messages queued while the broker is away are lost if the process dies");
	mqttconn_start(p->conn);
	stage_ticker_init(&tk, config_num(p->cfg, CK_STATS_INTERVAL));
	p->last_ms = time_mono_ms();

	ex = publish_loop(p, &tk, &eof);
	if (ex < 0 && eof)
		ex = publish_drain(p, -1, &tk);
	if (ex < 0 && stage_stop) {
		log_info("stopping on signal %d\tqueued=%d",
			 (int)stage_stop_signal, mqttconn_pending(p->conn));
		ex = publish_drain(p, config_num(p->cfg,
						 CK_MQTT_PUBLISH_DRAIN_TIMEOUT),
				   &tk);
	}
	mqttconn_stop(p->conn, 1000);
	cex = publish_commit(p);
	if (cex >= 0 && ex < 0)
		ex = cex;
	left = mqttconn_pending(p->conn);
	if (left > 0)
		log_warn("%d messages not yet acknowledged%s", left,
			 mc.persistence_dir ?
			 " stay in MQTT_PERSISTENCE_DIR for the next start" :
			 " are lost (no MQTT_PERSISTENCE_DIR)");
	publish_stats(p, true);
	return ex < 0 ? EX_OK : ex;
}

static int
publish_open(struct publish *p, struct config *cfg)
{
	char err[256];
	enum stageio_err irc;
	enum deadletter_err drc;
	enum pubmsg_err prc;

	p->cfg = cfg;
	p->lim.burst = 5;
	p->lim.window_ms = 60000;
	strbuf_init(&p->topic, 0);
	strbuf_init(&p->payload, 0);
	p->qos = (int)config_num(cfg, CK_MQTT_QOS);
	p->retain = config_bool(cfg, CK_MQTT_PUBLISH_RETAIN);
	p->field = config_str(cfg, CK_MQTT_PUBLISH_FIELD);
	if (p->field && !*p->field)
		p->field = NULL;
	p->inflight_max = (size_t)config_num(cfg, CK_MQTT_PUBLISH_INFLIGHT);
	p->queue_max = (size_t)config_num(cfg, CK_MQTT_PUBLISH_QUEUE_MAX);
	prc = pubmsg_tpl_parse(&p->tpl, config_str(cfg, CK_MQTT_PUBLISH_TOPIC),
			       err, sizeof(err));
	if (prc == PUBMSG_ERR_NOMEM) {
		log_error("out of memory");
		return EX_OSERR;
	}
	if (prc) {
		log_error("bad MQTT_PUBLISH_TOPIC '%s': %s",
			  config_str(cfg, CK_MQTT_PUBLISH_TOPIC), err);
		return EX_CONFIG;
	}
	if (pubtrack_new(&p->track, p->queue_max > p->inflight_max ?
			 p->queue_max : p->inflight_max) != PUBTRACK_OK) {
		log_error("out of memory");
		return EX_OSERR;
	}
	drc = deadletter_open(&p->dl, config_str(cfg, CK_DEAD_LETTER_FILE),
			      "mqtt-publish");
	if (drc) {
		log_error("cannot open dead-letter file '%s': %s",
			  config_str(cfg, CK_DEAD_LETTER_FILE), strerror(errno));
		return EX_CANTCREAT;
	}
	irc = stage_in_open(&p->in, cfg);
	if (irc) {
		log_error("cannot open the input: %s", stage_in_errmsg(NULL));
		return irc == STAGEIO_ERR_USAGE ? EX_USAGE : EX_IOERR;
	}
	return EX_OK;
}

static void
publish_close(struct publish *p)
{
	mqttconn_free(p->conn);
	stage_in_close(p->in);
	deadletter_close(p->dl);
	pubtrack_free(p->track);
	pubmsg_tpl_release(&p->tpl);
	strbuf_release(&p->topic);
	strbuf_release(&p->payload);
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	struct publish p;
	int ex;

	ex = stage_init(&cfg, &publish_info, argc, argv);
	if (ex >= 0)
		return ex;
	memset(&p, 0, sizeof(p));
	ex = publish_open(&p, &cfg);
	if (ex == EX_OK)
		ex = publish_run(&p);
	publish_close(&p);
	config_release(&cfg);
	log_shutdown();
	return ex;
}
