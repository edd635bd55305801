/*
 * mqtt-ingest: MQTT messages -> readings (NDJSON) on stdout or a journal.
 *
 * No loss: each message is converted and written to the output (and
 * flushed) inside paho's message callback, which returns only then; paho
 * sends the PUBACK of a QoS 1 message after the callback returns. A crash
 * before that means the broker redelivers the message (persistent session,
 * stable client id). A stalled output blocks the callback, the broker stops
 * receiving acknowledgements and keeps the messages (see docs/mqtt-ingest.md).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "deadletter.h"
#include "exitcodes.h"
#include "log.h"
#include "mqttconn.h"
#include "payload.h"
#include "stage.h"
#include "stageio.h"
#include "topictpl.h"
#include "util.h"
#include "banned.h"

static const struct stage_info ingest_info = {
	.prog = "mqtt-ingest",
	.stage = ST_INGEST,
	.synopsis = "mqtt-ingest [--env-file FILE] [--out -|DIR] [--dead-letter FILE] [--strict] [--KEY VALUE]...",
	.description =
		"Subscribes to MQTT_TOPICS on the broker at MQTT_URL and writes one "
		"reading per line (NDJSON) for every measurement in the messages: "
		"JSON objects or arrays, bare numbers or InfluxDB line protocol. "
		"Tags and the measurement come from the topic (MQTT_TOPIC_TEMPLATE). "
		"A message is acknowledged only after its readings are written. "
		"Bad payloads go to the dead-letter file. Reconnects with "
		"exponential backoff; SIGTERM or SIGINT disconnects and exits 0.",
};

struct ingest {
	struct config *cfg;
	struct stage_out *out;
	struct deadletter *dl;
	struct topictpl tpl;
	struct payload_conv *pc;
	struct mqttconn *conn;
	struct strbuf lines;		/* readings of the current message */
	struct log_limit lim;		/* callback thread only */
	bool strict;
	int fatal_ex;			/* set by the callback before failing */
	bool abandon;			/* the output failed in main: exit now */
	/* The output is written by the callback and flushed by either
	 * thread; out_mu serialises them. dirty: QoS 0 readings written
	 * but not yet flushed (see ingest_on_message). */
	pthread_mutex_t out_mu;
	_Atomic int dirty;
	_Atomic uint64_t emitted;
	_Atomic uint64_t rejected;
	_Atomic uint64_t rej[PAYLOAD_ERR__COUNT];
	/* stats of the last interval (main thread) */
	uint64_t last_received, last_emitted;
	int64_t last_ms;
};

/* Copies s into buf with double quotes and newlines made harmless for a
 * key="value" log field. */
static const char *
ingest_quote_safe(char *buf, size_t size, const char *s, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		buf[i] = (ch == '"' || ch == '\n' || ch == '\r' ||
			  (unsigned char)ch < 0x20) ? '\'' : ch;
	}
	buf[n] = '\0';
	return buf;
}

static int
ingest_reject(struct ingest *ing, enum payload_err err,
	      const struct mqttconn_msg *m)
{
	struct deadletter_entry e;
	enum deadletter_err drc;
	char topic[160], detail[200];
	const char *d = payload_detail(ing->pc);

	atomic_fetch_add_explicit(&ing->rejected, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ing->rej[err], 1, memory_order_relaxed);
	log_warn_limited(&ing->lim,
			 "rejected a message\treason=%s topic=\"%s\" detail=\"%s\" bytes=%zu",
			 payload_reason(err),
			 ingest_quote_safe(topic, sizeof(topic), m->topic,
					   m->topic_len),
			 ingest_quote_safe(detail, sizeof(detail), d, strlen(d)),
			 m->len);
	memset(&e, 0, sizeof(e));
	e.reason = payload_reason(err);
	e.detail = d;
	e.topic = m->topic;
	e.data = m->payload;
	e.len = m->len;
	drc = deadletter_write(ing->dl, &e);
	if (drc) {
		/* Acknowledging now would lose the message: stop instead. */
		log_error("cannot write to dead-letter file '%s': %s: %s",
			  config_str(ing->cfg, CK_DEAD_LETTER_FILE),
			  deadletter_strerror(drc), strerror(errno));
		ing->fatal_ex = EX_IOERR;
		return -1;
	}
	if (ing->strict) {
		log_error("bad payload with --strict: exiting\treason=%s",
			  payload_reason(err));
		ing->fatal_ex = EX_DATAERR;
		return -1;
	}
	return 0;
}

static void
ingest_log_out_error(const struct ingest *ing, enum stageio_err orc)
{
	const char *m = stage_out_errmsg(ing->out);

	log_error("cannot write readings to the output: %s%s%s",
		  stageio_strerror(orc), m ? ": " : "", m ? m : "");
}

/* Paho's receive thread: convert, write, flush; return only when durable. */
static int
ingest_on_message(void *ctx, const struct mqttconn_msg *m)
{
	struct ingest *ing = ctx;
	enum payload_err perr;
	enum stageio_err orc = STAGEIO_OK;
	size_t n = 0;
	const char *p, *end, *nl;

	perr = payload_convert(ing->pc, m->topic, m->topic_len, m->payload,
			       m->len, time_now_ns(), &ing->lines, &n);
	if (perr == PAYLOAD_ERR_NOMEM) {
		log_error("out of memory converting a message");
		ing->fatal_ex = EX_OSERR;
		return -1;
	}
	if (perr)
		return ingest_reject(ing, perr, m);
	/*
	 * QoS 1 and 2: flushed before we return, since paho acknowledges the
	 * message when we do. QoS 0 has no acknowledgement to hold back, so
	 * its readings only go to the buffer and the main thread flushes them
	 * about 2 ms after the first one (ingest_run): one write per burst
	 * instead of one per message, and nothing held back when idle.
	 */
	pthread_mutex_lock(&ing->out_mu);
	p = ing->lines.buf;
	end = p + ing->lines.len;
	while (p < end && !orc) {
		nl = memchr(p, '\n', (size_t)(end - p));
		orc = stage_out_write(ing->out, p, (size_t)(nl - p));
		p = nl + 1;
	}
	if (!orc && m->qos > 0) {
		orc = stage_out_flush(ing->out);
		atomic_store(&ing->dirty, 0);
	} else if (!orc && !atomic_exchange(&ing->dirty, 1)) {
		mqttconn_wake(ing->conn);
	}
	pthread_mutex_unlock(&ing->out_mu);
	if (orc) {
		ingest_log_out_error(ing, orc);
		ing->fatal_ex = EX_IOERR;
		return -1;
	}
	atomic_fetch_add_explicit(&ing->emitted, n, memory_order_relaxed);
	return 0;
}

static enum payload_precision
ingest_precision(const struct config *cfg)
{
	/* MQTT_TIME_PRECISION is the enum "auto|s|ms|us|ns". */
	static const enum payload_precision map[] = {
		PAYLOAD_PREC_AUTO, PAYLOAD_PREC_S, PAYLOAD_PREC_MS,
		PAYLOAD_PREC_US, PAYLOAD_PREC_NS,
	};
	int64_t i = config_num(cfg, CK_MQTT_TIME_PRECISION);

	return i >= 0 && i < (int64_t)ARRAY_SIZE(map) ? map[i] : PAYLOAD_PREC_AUTO;
}

static int
ingest_open(struct ingest *ing, struct config *cfg)
{
	struct payload_opts po;
	char err[256];
	enum stageio_err orc;
	enum deadletter_err drc;

	ing->cfg = cfg;
	ing->strict = cfg->strict;
	ing->lim.burst = 5;
	ing->lim.window_ms = 60000;
	strbuf_init(&ing->lines, 0);
	if (topictpl_parse(&ing->tpl, config_str(cfg, CK_MQTT_TOPIC_TEMPLATE),
			   err, sizeof(err)) != TOPICTPL_OK) {
		log_error("bad MQTT_TOPIC_TEMPLATE '%s': %s",
			  config_str(cfg, CK_MQTT_TOPIC_TEMPLATE), err);
		return EX_CONFIG;
	}
	memset(&po, 0, sizeof(po));
	po.tag_keys = config_list(cfg, CK_MQTT_TAG_KEYS, &po.ntag_keys);
	po.time_keys = config_list(cfg, CK_MQTT_TIME_KEY, &po.ntime_keys);
	po.precision = ingest_precision(cfg);
	po.max_payload = (size_t)config_num(cfg, CK_MQTT_MAX_PAYLOAD);
	po.default_measurement = config_str(cfg, CK_MQTT_DEFAULT_MEASUREMENT);
	if (payload_conv_new(&ing->pc, &po, &ing->tpl) != PAYLOAD_OK) {
		log_error("out of memory");
		return EX_OSERR;
	}
	drc = deadletter_open(&ing->dl, config_str(cfg, CK_DEAD_LETTER_FILE),
			      "mqtt-ingest");
	if (drc) {
		log_error("cannot open dead-letter file '%s': %s",
			  config_str(cfg, CK_DEAD_LETTER_FILE), strerror(errno));
		return EX_CANTCREAT;
	}
	orc = stage_out_open(&ing->out, cfg);
	if (orc) {
		log_error("cannot open the output: %s", stage_out_errmsg(NULL));
		return orc == STAGEIO_ERR_USAGE ? EX_USAGE : EX_IOERR;
	}
	return EX_OK;
}

static void
ingest_stats(struct ingest *ing, bool final)
{
	struct mqttconn_stats st;
	struct strbuf sb;
	uint64_t emitted = atomic_load(&ing->emitted);
	int64_t now = time_mono_ms();
	double secs = (double)(now - ing->last_ms) / 1000.0;

	mqttconn_get_stats(ing->conn, &st);
	strbuf_init(&sb, 4096);
	for (int r = 1; r < PAYLOAD_ERR__COUNT; r++) {
		uint64_t v = atomic_load_explicit(&ing->rej[r],
						  memory_order_relaxed);

		if (v)
			strbuf_addf(&sb, " %s=%llu",
				    payload_reason((enum payload_err)r),
				    (unsigned long long)v);
	}
	if (secs <= 0)
		secs = 1e-3;
	log_info("%s\treceived=%llu emitted=%llu rejected=%llu%s reconnects=%llu connected=%d connected_s=%.1f rate_in=%.1f/s rate_out=%.1f/s",
		 final ? "final stats" : "stats",
		 (unsigned long long)st.received, (unsigned long long)emitted,
		 (unsigned long long)atomic_load(&ing->rejected),
		 sb.buf ? sb.buf : "", (unsigned long long)st.reconnects,
		 st.connected ? 1 : 0, (double)st.connected_ms / 1000.0,
		 (double)(st.received - ing->last_received) / secs,
		 (double)(emitted - ing->last_emitted) / secs);
	strbuf_release(&sb);
	ing->last_received = st.received;
	ing->last_emitted = emitted;
	ing->last_ms = now;
}

static int
ingest_exit_code(struct ingest *ing, enum mqttconn_err rc)
{
	switch (rc) {
	case MQTTCONN_OK:
		return EX_OK;
	case MQTTCONN_ERR_AUTH:
	case MQTTCONN_ERR_SUBSCRIBE:
	case MQTTCONN_ERR_CONFIG:
		log_error("%s", mqttconn_errmsg(ing->conn));
		return EX_CONFIG;
	case MQTTCONN_ERR_RETRIES:
		log_error("%s", mqttconn_errmsg(ing->conn));
		return EX_UNAVAILABLE;
	case MQTTCONN_ERR_HANDLER:
		/* the callback logged why */
		return ing->fatal_ex ? ing->fatal_ex : EX_SOFTWARE;
	case MQTTCONN_ERR_SYS:
		log_error("%s", mqttconn_errmsg(ing->conn));
		return EX_OSERR;
	case MQTTCONN_ERR_NOMEM:
		log_error("out of memory");
		return EX_OSERR;
	case MQTTCONN_ERR_NOT_CONNECTED:
	case MQTTCONN_ERR_FULL:
	case MQTTCONN_ERR_PAHO:
		break;
	}
	log_error("%s", mqttconn_errmsg(ing->conn));
	return EX_SOFTWARE;
}

/* Main thread: flushes QoS 0 readings a moment after the first one of a
 * burst was written. Returns 0, or -1 when the output failed (logged). */
static int
ingest_flush_pending(struct ingest *ing)
{
	struct timespec ts = { 0, 2000000 };
	enum stageio_err orc = STAGEIO_OK;

	if (!atomic_load(&ing->dirty))
		return 0;
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&ing->out_mu);
	if (atomic_exchange(&ing->dirty, 0))
		orc = stage_out_flush(ing->out);
	pthread_mutex_unlock(&ing->out_mu);
	if (orc) {
		ingest_log_out_error(ing, orc);
		return -1;
	}
	return 0;
}

static int
ingest_run(struct ingest *ing)
{
	struct mqttconn_cfg mc;
	struct mqttconn_callbacks cb = { .ctx = ing,
					 .message = ingest_on_message };
	struct stage_ticker ticker;
	enum mqttconn_err rc;
	char err[512];
	int ex;

	/* paho's threads inherit this mask: only our ppoll takes signals */
	stage_block_signals();
	mqttconn_cfg_from_config(&mc, ing->cfg);
	rc = mqttconn_new(&ing->conn, &mc, &cb, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		return rc == MQTTCONN_ERR_CONFIG ? EX_CONFIG : EX_OSERR;
	}
	log_info("starting\turl=%s client_id=%s topics=%s qos=%lld template=%s",
		 mc.url, mc.client_id, config_str(ing->cfg, CK_MQTT_TOPICS),
		 (long long)mc.qos, config_str(ing->cfg, CK_MQTT_TOPIC_TEMPLATE));
	mqttconn_start(ing->conn);
	stage_ticker_init(&ticker, config_num(ing->cfg, CK_STATS_INTERVAL));
	ing->last_ms = time_mono_ms();
	rc = MQTTCONN_OK;
	while (!stage_stop) {
		rc = mqttconn_poll(ing->conn,
				   stage_ticker_wait(&ticker, time_mono_ms(), 1000));
		if (rc)
			break;
		if (ingest_flush_pending(ing) != 0) {
			/* QoS 0 only: nothing unacknowledged is at stake */
			ing->abandon = true;
			return EX_IOERR;
		}
		if (stage_ticker_due(&ticker, time_mono_ms()))
			ingest_stats(ing, false);
	}
	ex = ingest_exit_code(ing, rc);
	if (rc == MQTTCONN_ERR_HANDLER)
		return ex;	/* the receive thread is parked: no paho calls */
	if (stage_stop)
		log_info("stopping on signal %d", (int)stage_stop_signal);
	mqttconn_stop(ing->conn, 2000);
	ingest_stats(ing, true);
	return ex;
}

static int
ingest_close(struct ingest *ing, int ex)
{
	enum stageio_err orc;

	if (ing->abandon)
		return ex;	/* the callback may still run: leave it all */
	if (ing->conn && mqttconn_busy(ing->conn)) {
		/* A message callback is still blocked writing to a stalled
		 * output: its message is not acknowledged, and closing the
		 * output under it would race. Leave both to the exit. */
		log_error("the output stayed blocked past the stop deadline; exiting without flushing (unacknowledged messages stay at the broker)");
		return ex == EX_OK ? EX_IOERR : ex;
	}
	/* after a handler failure this leaves the parked paho thread alone */
	mqttconn_free(ing->conn);
	if (ing->out) {
		orc = stage_out_close(ing->out);
		if (orc && ex == EX_OK) {
			log_error("cannot flush the output: %s",
				  stageio_strerror(orc));
			ex = EX_IOERR;
		}
	}
	deadletter_close(ing->dl);
	payload_conv_free(ing->pc);
	topictpl_release(&ing->tpl);
	strbuf_release(&ing->lines);
	return ex;
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	struct ingest ing;
	int ex;

	ex = stage_init(&cfg, &ingest_info, argc, argv);
	if (ex >= 0)
		return ex;
	memset(&ing, 0, sizeof(ing));
	pthread_mutex_init(&ing.out_mu, NULL);
	ex = ingest_open(&ing, &cfg);
	if (ex == EX_OK)
		ex = ingest_run(&ing);
	ex = ingest_close(&ing, ex);
	config_release(&cfg);
	log_shutdown();
	return ex;
}
