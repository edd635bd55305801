/*
 * mqttconn: the MQTT connection shared by mqtt-ingest and mqtt-publish.
 * See mqttconn.h for the threading model and the reconnect policy.
 *
 * Paho's threads only record what happened (under mu) and write a byte to
 * the wake pipe; the thread in mqttconn_poll reads the record and decides.
 * That keeps every policy decision, and every connection log line, on one
 * thread and in one function (handle_events).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "backoff.h"
#include "log.h"
#include "memstore.h"
#include "mqttconn.h"
#include "util.h"
#include "banned.h"

#define MQTTCONN_CAUSE_MAX 256
#define MQTTCONN_MAX_TOPICS 64
/* paho clients one mqttconn may go through (mqttconn_poll): the first and
 * up to 15 replacements */
#define MQTTCONN_MAX_CLIENTS 16

enum mqttconn_state {
	MC_IDLE,	/* created, not started */
	MC_DOWN,	/* waiting for next_attempt_ms */
	MC_CONNECTING,	/* MQTTAsync_connect issued */
	MC_UP,
	MC_STOPPED,
};

/* The context of one paho client's publish callbacks, so that a retired
 * client (none is expected to call back) cannot complete a token of its
 * successor. */
struct mqttconn_gen {
	struct mqttconn *c;
	_Atomic bool retired;
};

struct mqttconn {
	struct mqttconn_cfg cfg;	/* strings below are our copies */
	struct mqttconn_callbacks cb;
	char *strs[10];			/* copies to free */
	char *topics[MQTTCONN_MAX_TOPICS];
	int qos[MQTTCONN_MAX_TOPICS];
	int ntopics;
	MQTTAsync client;
	bool client_made;
	/* the queue without a persistence dir (cfg.memory_store), shared by
	 * the successive clients */
	struct memstore *mem;
	MQTTClient_persistence mem_pers;
	/* clients[nclients - 1] is the current one; the ones before were
	 * retired and are never used or destroyed again */
	MQTTAsync clients[MQTTCONN_MAX_CLIENTS];
	struct mqttconn_gen gens[MQTTCONN_MAX_CLIENTS];
	int nclients;
	/* A QoS 1/2 publish failed without its token (paho's threads set
	 * it; mqttconn_poll replaces the client before the next connect). */
	_Atomic bool lost_track;
	/* The connection was lost with a persistence dir or memory store:
	 * reload what is pending into a new client before the next connect
	 * (once the broker accepts a TCP connection). */
	bool reload;
	bool tls;
	int wake[2];

	/* Written by paho's threads under mu, consumed by mqttconn_poll. */
	pthread_mutex_t mu;
	pthread_cond_t parked;
	bool ev_connected;
	int ev_session_present;
	bool ev_failed;
	int ev_fail_code;
	int ev_fail_reason;		/* MQTT 5 reason code, or 0 */
	bool ev_lost;
	bool ev_sub_done;
	bool ev_sub_failed;
	bool ev_handler_failed;
	bool ev_disconnected;
	char ev_cause[MQTTCONN_CAUSE_MAX];
	char ssl_err[MQTTCONN_CAUSE_MAX];

	/* Owned by the polling thread. */
	enum mqttconn_state state;
	struct backoff bo;
	int64_t next_attempt_ms;
	unsigned fails_in_row;		/* failed attempts since last success */
	unsigned attempts_down;		/* attempts since the connection was lost */
	int64_t down_since_ms;
	int64_t up_since_ms;
	bool ever_connected;
	bool handler_failed;
	char errmsg[512];

	/* Counters, read by any thread. */
	_Atomic uint64_t received;
	_Atomic uint64_t reconnects;
	_Atomic uint64_t attempts;
	_Atomic uint64_t connected_ms;	/* closed connections only */
	_Atomic uint64_t client_resets;
	/* Publishes the current client restored or reloaded from its store
	 * (message ids, under mu): they complete without a delivered
	 * callback, so paho's deliveryComplete (which also comes, first, for
	 * ours) checks them off here. An id is freed only by its
	 * acknowledgement, so a later publish reusing it is not confused
	 * with it. */
	unsigned char reloaded_ids[65536 / 8];
	_Atomic int reload_left;
	_Atomic bool reloaded_by_replacement;
	_Atomic uint64_t acked_reloaded;
	_Atomic int64_t up_since_pub;	/* 0 while down */
	_Atomic int in_message;		/* the message callback is running */
};

/* ---- small helpers ------------------------------------------------------ */

static char *
mqttconn_dup(struct mqttconn *c, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(c->strs); i++) {
		if (!c->strs[i]) {
			c->strs[i] = d;
			return d;
		}
	}
	free(d);
	return NULL;
}

static void
mqttconn_poke(struct mqttconn *c)
{
	char b = 1;
	ssize_t n;

	/* A full pipe already means "wake up": EAGAIN is fine. */
	n = write(c->wake[1], &b, 1);
	(void)n;
}

static void
mqttconn_set_cause(struct mqttconn *c, const char *prefix, const char *msg)
{
	/* Quotes would break the key="value" log field: use single ones. */
	snprintf(c->ev_cause, sizeof(c->ev_cause), "%s%s%s", prefix ? prefix : "",
		 prefix && msg ? ": " : "", msg ? msg : "");
	for (char *p = c->ev_cause; *p; p++)
		if (*p == '"' || *p == '\n')
			*p = '\'';
}

static const char *
mqttconn_connack_text(int version, int code)
{
	if (version == 5) {
		switch (code) {
		case 0x80: return "unspecified error";
		case 0x81: return "malformed packet";
		case 0x82: return "protocol error";
		case 0x84: return "unsupported protocol version";
		case 0x85: return "client identifier not valid";
		case 0x86: return "bad user name or password";
		case 0x87: return "not authorized";
		case 0x88: return "server unavailable";
		case 0x89: return "server busy";
		case 0x8a: return "banned";
		case 0x8c: return "bad authentication method";
		case 0x97: return "quota exceeded";
		}
		return NULL;
	}
	switch (code) {
	case 1: return "unacceptable protocol version";
	case 2: return "identifier rejected";
	case 3: return "server unavailable";
	case 4: return "bad user name or password";
	case 5: return "not authorized";
	}
	return NULL;
}

bool
mqttconn_is_auth_failure(int version, int code)
{
	if (version == 5)
		return code == 0x86 || code == 0x87 || code == 0x8c;
	return code == 4 || code == 5;
}

/* ---- paho callbacks (paho's threads) ------------------------------------ */

static int
mqttconn_ssl_error(const char *str, size_t len, void *u)
{
	struct mqttconn *c = u;

	pthread_mutex_lock(&c->mu);
	if (len >= sizeof(c->ssl_err))
		len = sizeof(c->ssl_err) - 1;
	memcpy(c->ssl_err, str, len);
	c->ssl_err[len] = '\0';
	while (len > 0 && (c->ssl_err[len - 1] == '\n'))
		c->ssl_err[--len] = '\0';
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static void
mqttconn_on_connect(struct mqttconn *c, int session_present)
{
	pthread_mutex_lock(&c->mu);
	c->ev_connected = true;
	c->ev_session_present = session_present;
	pthread_mutex_unlock(&c->mu);
	mqttconn_poke(c);
}

static void
mqttconn_on_connect3(void *ctx, MQTTAsync_successData *r)
{
	mqttconn_on_connect(ctx, r ? r->alt.connect.sessionPresent : 0);
}

static void
mqttconn_on_connect5(void *ctx, MQTTAsync_successData5 *r)
{
	mqttconn_on_connect(ctx, r ? r->alt.connect.sessionPresent : 0);
}

static void
mqttconn_on_connect_fail(struct mqttconn *c, int code, int reason,
			 const char *msg)
{
	const char *txt;
	char buf[MQTTCONN_CAUSE_MAX];

	pthread_mutex_lock(&c->mu);
	c->ev_failed = true;
	c->ev_fail_code = code;
	c->ev_fail_reason = reason;
	txt = mqttconn_connack_text(c->cfg.version, reason ? reason : code);
	if (txt && c->cfg.version == 5)
		snprintf(buf, sizeof(buf), "CONNACK reason 0x%02x (%s)",
			 (unsigned)reason, txt);
	else if (txt)
		snprintf(buf, sizeof(buf), "CONNACK return code %d (%s)", code,
			 txt);
	else if (c->ssl_err[0])
		snprintf(buf, sizeof(buf), "%.80s (rc %d): TLS: %.150s",
			 msg ? msg : "connect failed", code, c->ssl_err);
	else
		snprintf(buf, sizeof(buf), "%s (rc %d)",
			 msg ? msg : "TCP/TLS connect failed", code);
	mqttconn_set_cause(c, NULL, buf);
	c->ssl_err[0] = '\0';
	pthread_mutex_unlock(&c->mu);
	mqttconn_poke(c);
}

static void
mqttconn_on_connect_fail3(void *ctx, MQTTAsync_failureData *r)
{
	mqttconn_on_connect_fail(ctx, r ? r->code : -1, 0,
				 r ? r->message : NULL);
}

static void
mqttconn_on_connect_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	int reason = r ? (int)r->reasonCode : 0;

	/* Paho puts the CONNACK reason in reasonCode (and sometimes code). */
	if (r && reason == 0 && r->code >= 0x80)
		reason = r->code;
	mqttconn_on_connect_fail(ctx, r ? r->code : -1, reason,
				 r ? r->message : NULL);
}

static void
mqttconn_on_lost(void *ctx, char *cause)
{
	struct mqttconn *c = ctx;

	pthread_mutex_lock(&c->mu);
	c->ev_lost = true;
	mqttconn_set_cause(c, NULL, cause ? cause :
			   "connection closed by the broker or the network");
	pthread_mutex_unlock(&c->mu);
	if (cause)
		MQTTAsync_free(cause);
	mqttconn_poke(c);
}

static int
mqttconn_on_message(void *ctx, char *topic, int topic_len,
		    MQTTAsync_message *msg)
{
	struct mqttconn *c = ctx;
	struct mqttconn_msg m;
	int rc = 0;

	atomic_fetch_add_explicit(&c->received, 1, memory_order_relaxed);
	m.topic = topic;
	m.topic_len = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	m.payload = msg->payload;
	m.len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	m.qos = msg->qos;
	m.retained = msg->retained != 0;
	m.dup = msg->dup != 0;
	atomic_store(&c->in_message, 1);
	if (c->cb.message)
		rc = c->cb.message(c->cb.ctx, &m);
	atomic_store(&c->in_message, 0);
	if (rc != 0) {
		/*
		 * The message could not be made durable. Returning would
		 * acknowledge it (and returning 0 does not stop paho's ack
		 * either, FACTS §2), so this thread parks until the process
		 * exits; the broker redelivers what was not acknowledged.
		 */
		pthread_mutex_lock(&c->mu);
		c->ev_handler_failed = true;
		pthread_mutex_unlock(&c->mu);
		mqttconn_poke(c);
		pthread_mutex_lock(&c->mu);
		for (;;)
			pthread_cond_wait(&c->parked, &c->mu);
	}
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static void
mqttconn_on_sub(struct mqttconn *c, bool ok, const char *why)
{
	pthread_mutex_lock(&c->mu);
	c->ev_sub_done = true;
	if (!ok) {
		c->ev_sub_failed = true;
		mqttconn_set_cause(c, NULL, why);
	}
	pthread_mutex_unlock(&c->mu);
	mqttconn_poke(c);
}

static void
mqttconn_on_sub3(void *ctx, MQTTAsync_successData *r)
{
	struct mqttconn *c = ctx;
	bool ok = true;

	if (r && c->ntopics == 1)
		ok = r->alt.qos != 0x80;
	else if (r && r->alt.qosList)
		for (int i = 0; i < c->ntopics; i++)
			if (r->alt.qosList[i] == 0x80)
				ok = false;
	mqttconn_on_sub(c, ok, "SUBACK refused a topic filter (0x80)");
}

static void
mqttconn_on_sub5(void *ctx, MQTTAsync_successData5 *r)
{
	struct mqttconn *c = ctx;
	bool ok = true;

	/* With one topic paho reports its code in reasonCode and leaves
	 * alt.sub uninitialised (reading it crashed): only look at alt.sub
	 * for several topics. */
	if (r && c->ntopics > 1 && r->alt.sub.reasonCodeCount > 0 &&
	    r->alt.sub.reasonCodes) {
		for (int i = 0; i < r->alt.sub.reasonCodeCount; i++)
			if ((int)r->alt.sub.reasonCodes[i] >= 0x80)
				ok = false;
	} else if (r && (int)r->reasonCode >= 0x80) {
		ok = false;
	}
	mqttconn_on_sub(c, ok, "SUBACK refused a topic filter");
}

static void
mqttconn_on_sub_fail3(void *ctx, MQTTAsync_failureData *r)
{
	char why[128];

	snprintf(why, sizeof(why), "subscribe failed (rc %d)", r ? r->code : -1);
	mqttconn_on_sub(ctx, false, why);
}

static void
mqttconn_on_sub_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	char why[128];

	snprintf(why, sizeof(why), "subscribe failed (rc %d reason 0x%02x)",
		 r ? r->code : -1, r ? (unsigned)r->reasonCode : 0);
	mqttconn_on_sub(ctx, false, why);
}

static void
mqttconn_delivered(void *ctx, int token, bool ok, bool acked_qos)
{
	struct mqttconn_gen *g = ctx;
	struct mqttconn *c = g->c;

	if (atomic_load(&g->retired))
		return;
	/* A QoS 1/2 publish whose first write failed on a broken connection
	 * fails without its token (paho's processCommand), yet stays in
	 * flight in paho with its memory freed: see mqttconn_poll. */
	if (!ok && acked_qos && token == 0) {
		atomic_store(&c->lost_track, true);
		mqttconn_poke(c);
		return;
	}
	if (c->cb.delivered)
		c->cb.delivered(c->cb.ctx, token, ok);
}

static void
mqttconn_on_pub_ok3(void *ctx, MQTTAsync_successData *r)
{
	mqttconn_delivered(ctx, r ? r->token : 0, true, false);
}

static void
mqttconn_on_pub_ok5(void *ctx, MQTTAsync_successData5 *r)
{
	mqttconn_delivered(ctx, r ? r->token : 0,
			   !r || (int)r->reasonCode < 0x80, false);
}

static void
mqttconn_on_pub1_ok3(void *ctx, MQTTAsync_successData *r)
{
	mqttconn_delivered(ctx, r ? r->token : 0, true, true);
}

static void
mqttconn_on_pub1_ok5(void *ctx, MQTTAsync_successData5 *r)
{
	mqttconn_delivered(ctx, r ? r->token : 0,
			   !r || (int)r->reasonCode < 0x80, true);
}

/* paho's deliveryComplete: every QoS 1/2 publish the broker acknowledged,
 * also those restored or reloaded from the store (which have no
 * onSuccess). */
static void
mqttconn_on_dc(void *ctx, MQTTAsync_token token)
{
	struct mqttconn *c = ctx;
	unsigned id = (unsigned)token;

	if (token <= 0 || token > 65535)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->reloaded_ids[id / 8] & (1u << (id % 8))) {
		c->reloaded_ids[id / 8] &= (unsigned char)~(1u << (id % 8));
		atomic_fetch_sub_explicit(&c->reload_left, 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&c->acked_reloaded, 1,
					  memory_order_relaxed);
	}
	pthread_mutex_unlock(&c->mu);
}

/* Notes the publishes the new client holds (restored at start or reloaded
 * by a replacement): all of them, before anything new is published. */
static int
mqttconn_note_reloaded(struct mqttconn *c)
{
	MQTTAsync_token *tokens = NULL;
	int n = 0;

	if (MQTTAsync_getPendingTokens(c->client, &tokens) != MQTTASYNC_SUCCESS)
		tokens = NULL;
	pthread_mutex_lock(&c->mu);
	memset(c->reloaded_ids, 0, sizeof(c->reloaded_ids));
	for (int i = 0; tokens && tokens[i] != -1; i++) {
		unsigned id = (unsigned)tokens[i];

		if (tokens[i] <= 0 || tokens[i] > 65535 ||
		    (c->reloaded_ids[id / 8] & (1u << (id % 8))))
			continue;
		c->reloaded_ids[id / 8] |= (unsigned char)(1u << (id % 8));
		n++;
	}
	atomic_store(&c->reload_left, n);
	atomic_store(&c->reloaded_by_replacement, c->nclients > 1);
	pthread_mutex_unlock(&c->mu);
	MQTTAsync_free(tokens);
	return n;
}

static void
mqttconn_on_pub_fail3(void *ctx, MQTTAsync_failureData *r)
{
	mqttconn_delivered(ctx, r ? r->token : 0, false, false);
}

static void
mqttconn_on_pub_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	mqttconn_delivered(ctx, r ? r->token : 0, false, false);
}

static void
mqttconn_on_pub1_fail3(void *ctx, MQTTAsync_failureData *r)
{
	mqttconn_delivered(ctx, r ? r->token : 0, false, true);
}

static void
mqttconn_on_pub1_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	mqttconn_delivered(ctx, r ? r->token : 0, false, true);
}

static void
mqttconn_on_disc(void *ctx, MQTTAsync_successData *r)
{
	struct mqttconn *c = ctx;

	(void)r;
	pthread_mutex_lock(&c->mu);
	c->ev_disconnected = true;
	pthread_mutex_unlock(&c->mu);
	mqttconn_poke(c);
}

static void
mqttconn_on_disc5(void *ctx, MQTTAsync_successData5 *r)
{
	(void)r;
	mqttconn_on_disc(ctx, NULL);
}

static void
mqttconn_on_disc_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)r;
	mqttconn_on_disc(ctx, NULL);
}

static void
mqttconn_on_disc_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	(void)r;
	mqttconn_on_disc(ctx, NULL);
}

/* ---- configuration ------------------------------------------------------ */

void
mqttconn_cfg_from_config(struct mqttconn_cfg *mc, const struct config *cfg)
{
	size_t n = 0;
	char *const *topics;

	memset(mc, 0, sizeof(*mc));
	mc->url = config_str(cfg, CK_MQTT_URL);
	mc->client_id = config_str(cfg, CK_MQTT_CLIENT_ID);
	mc->username = config_str(cfg, CK_MQTT_USERNAME);
	mc->password = config_str(cfg, CK_MQTT_PASSWORD);
	mc->ca_file = config_str(cfg, CK_MQTT_CA_FILE);
	mc->cert_file = config_str(cfg, CK_MQTT_CERT_FILE);
	mc->key_file = config_str(cfg, CK_MQTT_KEY_FILE);
	/* MQTT_VERSION is the enum "3.1.1|5": index 0 or 1. */
	mc->version = config_num(cfg, CK_MQTT_VERSION) == 1 ? 5 : 4;
	mc->clean_session = config_bool(cfg, CK_MQTT_CLEAN_SESSION);
	mc->session_expiry_ms = config_num(cfg, CK_MQTT_SESSION_EXPIRY);
	mc->keepalive_ms = config_num(cfg, CK_MQTT_KEEPALIVE);
	mc->reconnect_min_ms = config_num(cfg, CK_MQTT_RECONNECT_MIN);
	mc->reconnect_max_ms = config_num(cfg, CK_MQTT_RECONNECT_MAX);
	mc->max_retries = (unsigned)config_num(cfg, CK_MQTT_MAX_RETRIES);
	mc->persistence_dir = config_str(cfg, CK_MQTT_PERSISTENCE_DIR);
	if (mc->persistence_dir && !*mc->persistence_dir)
		mc->persistence_dir = NULL;
	if (cfg->stage & ST_INGEST) {
		topics = config_list(cfg, CK_MQTT_TOPICS, &n);
		mc->topics = topics;
		mc->ntopics = n;
	}
	mc->qos = (int)config_num(cfg, CK_MQTT_QOS);
}

static bool
mqttconn_empty(const char *s)
{
	return !s || !*s;
}

static enum mqttconn_err
mqttconn_check_file(const char *what, const char *path, char *errmsg,
		    size_t errsize)
{
	if (mqttconn_empty(path))
		return MQTTCONN_OK;
	if (access(path, R_OK) != 0) {
		snprintf(errmsg, errsize, "cannot read %s '%s': %s", what, path,
			 strerror(errno));
		return MQTTCONN_ERR_CONFIG;
	}
	return MQTTCONN_OK;
}

static bool
mqttconn_url_is_tls(const char *url)
{
	return strncmp(url, "ssl://", 6) == 0 || strncmp(url, "mqtts://", 8) == 0 ||
	       strncmp(url, "wss://", 6) == 0;
}

/* Creates the paho client (the first, or a replacement: it reloads what
 * the persistence dir holds) as clients[nclients]. */
static enum mqttconn_err
mqttconn_make_client(struct mqttconn *c, char *errmsg, size_t errsize)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	MQTTAsync client;
	int prc;

	if (c->nclients == MQTTCONN_MAX_CLIENTS) {
		snprintf(errmsg, errsize,
			 "the MQTT client lost track of its publishes %d times: restart to reload %s",
			 MQTTCONN_MAX_CLIENTS - 1,
			 c->cfg.persistence_dir ? "the queue from MQTT_PERSISTENCE_DIR" :
			 "(without MQTT_PERSISTENCE_DIR the queue is lost)");
		return MQTTCONN_ERR_PAHO;
	}
	co.MQTTVersion = c->cfg.version == 5 ? MQTTVERSION_5 :
		MQTTVERSION_3_1_1;
	if (c->cfg.max_buffered > 0) {
		co.sendWhileDisconnected = 1;
		co.maxBufferedMessages = c->cfg.max_buffered;
		co.allowDisconnectedSendAtAnyTime = 1;
	}
	if (c->cfg.persistence_dir)
		prc = MQTTAsync_createWithOptions(&client, c->cfg.url,
			c->cfg.client_id, MQTTCLIENT_PERSISTENCE_DEFAULT,
			(void *)c->cfg.persistence_dir, &co);
	else if (c->mem)
		prc = MQTTAsync_createWithOptions(&client, c->cfg.url,
			c->cfg.client_id, MQTTCLIENT_PERSISTENCE_USER,
			&c->mem_pers, &co);
	else
		prc = MQTTAsync_createWithOptions(&client, c->cfg.url,
			c->cfg.client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
			&co);
	if (prc != MQTTASYNC_SUCCESS) {
		snprintf(errmsg, errsize, "cannot create MQTT client for '%s': %s",
			 c->cfg.url, MQTTAsync_strerror(prc));
		return prc == MQTTASYNC_BAD_PROTOCOL ? MQTTCONN_ERR_CONFIG :
			MQTTCONN_ERR_PAHO;
	}
	c->client = client;
	c->client_made = true;
	c->clients[c->nclients] = client;
	c->gens[c->nclients].c = c;
	atomic_store(&c->gens[c->nclients].retired, false);
	c->nclients++;
	prc = MQTTAsync_setCallbacks(c->client, c, mqttconn_on_lost,
				     mqttconn_on_message, mqttconn_on_dc);
	if (prc != MQTTASYNC_SUCCESS) {
		snprintf(errmsg, errsize, "cannot set MQTT callbacks: %s",
			 MQTTAsync_strerror(prc));
		return MQTTCONN_ERR_PAHO;
	}
	(void)mqttconn_note_reloaded(c);
	return MQTTCONN_OK;
}

enum mqttconn_err
mqttconn_new(struct mqttconn **cp, const struct mqttconn_cfg *cfg,
	     const struct mqttconn_callbacks *cb, char *errmsg, size_t errsize)
{
	struct mqttconn *c = NULL;
	enum mqttconn_err rc = MQTTCONN_ERR_NOMEM;

	*cp = NULL;
	errmsg[0] = '\0';
	if (mqttconn_empty(cfg->url) || mqttconn_empty(cfg->client_id)) {
		snprintf(errmsg, errsize, "MQTT_URL and MQTT_CLIENT_ID are required");
		return MQTTCONN_ERR_CONFIG;
	}
	if (cfg->ntopics > MQTTCONN_MAX_TOPICS) {
		snprintf(errmsg, errsize, "MQTT_TOPICS: at most %d topic filters",
			 MQTTCONN_MAX_TOPICS);
		return MQTTCONN_ERR_CONFIG;
	}
	if (cfg->version != 4 && cfg->version != 5) {
		snprintf(errmsg, errsize, "MQTT version must be 3.1.1 or 5");
		return MQTTCONN_ERR_CONFIG;
	}
	rc = mqttconn_check_file("MQTT_CA_FILE", cfg->ca_file, errmsg, errsize);
	if (!rc)
		rc = mqttconn_check_file("MQTT_CERT_FILE", cfg->cert_file,
					 errmsg, errsize);
	if (!rc)
		rc = mqttconn_check_file("MQTT_KEY_FILE", cfg->key_file, errmsg,
					 errsize);
	if (rc)
		return rc;
	if (!mqttconn_url_is_tls(cfg->url) &&
	    (!mqttconn_empty(cfg->ca_file) || !mqttconn_empty(cfg->cert_file))) {
		snprintf(errmsg, errsize,
			 "MQTT_CA_FILE/MQTT_CERT_FILE need an ssl:// or mqtts:// MQTT_URL (got '%s')",
			 cfg->url);
		return MQTTCONN_ERR_CONFIG;
	}
	if (cfg->persistence_dir && mkdir(cfg->persistence_dir, 0700) != 0 &&
	    errno != EEXIST) {
		snprintf(errmsg, errsize, "cannot create MQTT_PERSISTENCE_DIR '%s': %s",
			 cfg->persistence_dir, strerror(errno));
		return MQTTCONN_ERR_CONFIG;
	}

	rc = MQTTCONN_ERR_NOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->parked, NULL);
	c->cfg = *cfg;
	if (cb)
		c->cb = *cb;
	c->cfg.url = mqttconn_dup(c, cfg->url);
	c->cfg.client_id = mqttconn_dup(c, cfg->client_id);
	c->cfg.username = mqttconn_dup(c, mqttconn_empty(cfg->username) ?
				       NULL : cfg->username);
	c->cfg.password = mqttconn_dup(c, cfg->password);
	c->cfg.ca_file = mqttconn_dup(c, mqttconn_empty(cfg->ca_file) ?
				      NULL : cfg->ca_file);
	c->cfg.cert_file = mqttconn_dup(c, mqttconn_empty(cfg->cert_file) ?
					NULL : cfg->cert_file);
	c->cfg.key_file = mqttconn_dup(c, mqttconn_empty(cfg->key_file) ?
				       NULL : cfg->key_file);
	c->cfg.persistence_dir = mqttconn_dup(c, cfg->persistence_dir);
	if (!c->cfg.url || !c->cfg.client_id)
		goto out;
	c->cfg.topics = NULL;
	for (size_t i = 0; i < cfg->ntopics; i++) {
		c->topics[i] = strdup(cfg->topics[i]);
		if (!c->topics[i])
			goto out;
		c->qos[i] = cfg->qos;
		c->ntopics++;
	}
	c->tls = mqttconn_url_is_tls(c->cfg.url);
	if (!c->cfg.persistence_dir && c->cfg.memory_store) {
		c->mem = memstore_new();
		if (!c->mem)
			goto out;
		memstore_bind(c->mem, &c->mem_pers);
	}
	if (c->cfg.reconnect_min_ms <= 0)
		c->cfg.reconnect_min_ms = 1000;
	if (c->cfg.reconnect_max_ms < c->cfg.reconnect_min_ms)
		c->cfg.reconnect_max_ms = c->cfg.reconnect_min_ms;
	if (c->cfg.keepalive_ms <= 0)
		c->cfg.keepalive_ms = 30000;
	backoff_init(&c->bo, (uint64_t)c->cfg.reconnect_min_ms,
		     (uint64_t)c->cfg.reconnect_max_ms, cfg->backoff_seed);

	if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(errmsg, errsize, "cannot create a pipe: %s",
			 strerror(errno));
		rc = MQTTCONN_ERR_SYS;
		goto out;
	}

	rc = mqttconn_make_client(c, errmsg, errsize);
	if (rc)
		goto out;
	c->state = MC_IDLE;
	*cp = c;
	c = NULL;
	rc = MQTTCONN_OK;
out:
	if (c)
		mqttconn_free(c);
	return rc;
}

enum mqttconn_err
mqttconn_start(struct mqttconn *c)
{
	c->state = MC_DOWN;
	c->next_attempt_ms = time_mono_ms();
	c->down_since_ms = c->next_attempt_ms;
	mqttconn_poke(c);
	return MQTTCONN_OK;
}

/* ---- the policy (polling thread) ---------------------------------------- */

/* Schedules the next attempt; returns its delay. */
static uint64_t
mqttconn_schedule(struct mqttconn *c)
{
	uint64_t delay = backoff_next(&c->bo);

	c->next_attempt_ms = time_mono_ms() + (int64_t)delay;
	c->state = MC_DOWN;
	return delay;
}

static void
mqttconn_schedule_retry(struct mqttconn *c, const char *what, const char *cause)
{
	uint64_t delay = mqttconn_schedule(c);

	log_warn("%s '%s'\tattempt=%u next_delay_ms=%llu cause=\"%s\"", what,
		 c->cfg.url, c->attempts_down, (unsigned long long)delay, cause);
}

/* A connect attempt failed before paho could report it: counted against
 * MQTT_MAX_RETRIES, the next one scheduled. */
static enum mqttconn_err
mqttconn_attempt_failed(struct mqttconn *c, const char *cause)
{
	c->fails_in_row++;
	if (c->cfg.max_retries && c->fails_in_row >= c->cfg.max_retries) {
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "cannot connect to '%s' after %u attempts: %s",
			 c->cfg.url, c->fails_in_row, cause);
		return MQTTCONN_ERR_RETRIES;
	}
	mqttconn_schedule_retry(c, "cannot connect to", cause);
	return MQTTCONN_OK;
}

/*
 * Whether the broker accepts a TCP connection now (within timeout_ms): the
 * host and port of MQTT_URL (scheme://host[:port][/path], host may be
 * [IPv6]; the port defaults by scheme). cause says why not.
 */
static bool
mqttconn_probe(struct mqttconn *c, int timeout_ms, char *cause, size_t csz)
{
	const char *u = c->cfg.url, *h = strstr(u, "://"), *e, *pe;
	char host[256], port[8];
	struct addrinfo hints, *ai = NULL;
	struct pollfd pfd;
	int fd = -1, err = 0, rc;
	socklen_t el = sizeof(err);
	bool ok = false;

	snprintf(port, sizeof(port), "%s", mqttconn_url_is_tls(u) ?
		 (strncmp(u, "wss://", 6) == 0 ? "443" : "8883") :
		 (strncmp(u, "ws://", 5) == 0 ? "80" : "1883"));
	h = h ? h + 3 : u;
	if (*h == '[') {
		e = strchr(++h, ']');
		pe = e ? e + 1 : NULL;
	} else {
		e = h + strcspn(h, ":/");
		pe = e;
	}
	if (!e || (size_t)(e - h) >= sizeof(host) || e == h) {
		snprintf(cause, csz, "cannot parse the host of '%s'", u);
		return false;
	}
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	if (*pe == ':') {
		size_t pl = strspn(pe + 1, "0123456789");

		if (pl == 0 || pl >= sizeof(port)) {
			snprintf(cause, csz, "cannot parse the port of '%s'", u);
			return false;
		}
		memcpy(port, pe + 1, pl);
		port[pl] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(cause, csz, "cannot resolve '%.64s': %s", host,
			 gai_strerror(rc));
		return false;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		snprintf(cause, csz, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		ok = true;
		goto out;
	}
	if (errno != EINPROGRESS) {
		snprintf(cause, csz, "TCP connect: %s", strerror(errno));
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
	    err == 0)
		ok = true;
	else
		snprintf(cause, csz, "TCP connect: %s",
			 rc == 0 ? "timed out" : strerror(err ? err : errno));
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ok;
}

static enum mqttconn_err
mqttconn_connect(struct mqttconn *c)
{
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTProperty p;
	MQTTAsync_connectOptions *opts;
	int keep_s, prc;
	int64_t expiry_s;
	char cause[160];

	opts = c->cfg.version == 5 ? &o5 : &o;
	keep_s = (int)((c->cfg.keepalive_ms + 999) / 1000);
	opts->keepAliveInterval = keep_s;
	opts->connectTimeout = keep_s < 5 ? 5 : keep_s > 30 ? 30 : keep_s;
	opts->automaticReconnect = 0;
	opts->username = c->cfg.username;
	opts->password = c->cfg.password;
	opts->context = c;
	opts->maxInflight = 65535;
	if (c->cfg.version == 5) {
		opts->MQTTVersion = MQTTVERSION_5;
		opts->cleansession = 0;
		opts->cleanstart = c->cfg.clean_session;
		opts->onSuccess5 = mqttconn_on_connect5;
		opts->onFailure5 = mqttconn_on_connect_fail5;
		/* Without a Session Expiry Interval a v5 session ends with
		 * the connection (FACTS §4). */
		expiry_s = c->cfg.session_expiry_ms / 1000;
		if (expiry_s > 0xFFFFFFFFLL)
			expiry_s = 0xFFFFFFFFLL;
		memset(&p, 0, sizeof(p));
		p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
		p.value.integer4 = (unsigned)expiry_s;
		if (MQTTProperties_add(&props, &p) != 0)
			return MQTTCONN_ERR_NOMEM;
		opts->connectProperties = &props;
	} else {
		opts->MQTTVersion = MQTTVERSION_3_1_1;
		opts->cleansession = c->cfg.clean_session;
		opts->onSuccess = mqttconn_on_connect3;
		opts->onFailure = mqttconn_on_connect_fail3;
	}
	if (c->tls) {
		ssl.trustStore = c->cfg.ca_file;
		ssl.keyStore = c->cfg.cert_file;
		ssl.privateKey = c->cfg.key_file;
		ssl.enableServerCertAuth = 1;
		ssl.verify = 1;		/* host name / IP must match */
		ssl.ssl_error_cb = mqttconn_ssl_error;
		ssl.ssl_error_context = c;
		opts->ssl = &ssl;
	}
	c->attempts_down++;
	atomic_fetch_add_explicit(&c->attempts, 1, memory_order_relaxed);
	log_debug("connecting to '%s'\tattempt=%u client_id=%s", c->cfg.url,
		  c->attempts_down, c->cfg.client_id);
	c->state = MC_CONNECTING;
	prc = MQTTAsync_connect(c->client, opts);
	MQTTProperties_free(&props);
	if (prc != MQTTASYNC_SUCCESS) {
		snprintf(cause, sizeof(cause), "MQTTAsync_connect: %s",
			 MQTTAsync_strerror(prc));
		return mqttconn_attempt_failed(c, cause);
	}
	return MQTTCONN_OK;
}

static enum mqttconn_err
mqttconn_subscribe(struct mqttconn *c)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int prc;

	if (c->ntopics == 0)
		return MQTTCONN_OK;
	ro.context = c;
	if (c->cfg.version == 5) {
		ro.onSuccess5 = mqttconn_on_sub5;
		ro.onFailure5 = mqttconn_on_sub_fail5;
	} else {
		ro.onSuccess = mqttconn_on_sub3;
		ro.onFailure = mqttconn_on_sub_fail3;
	}
	prc = MQTTAsync_subscribeMany(c->client, c->ntopics, c->topics, c->qos,
				      &ro);
	if (prc != MQTTASYNC_SUCCESS) {
		/* Most likely the connection dropped again: the next
		 * connect subscribes. */
		log_warn("cannot subscribe\tcause=\"%s\"",
			 MQTTAsync_strerror(prc));
	}
	return MQTTCONN_OK;
}

static void
mqttconn_mark_down(struct mqttconn *c, int64_t now)
{
	int64_t up = now - c->up_since_ms;

	atomic_fetch_add_explicit(&c->connected_ms, (uint64_t)up,
				  memory_order_relaxed);
	atomic_store_explicit(&c->up_since_pub, 0, memory_order_relaxed);
	/* A connection that stayed up long enough was stable. */
	if (up >= c->cfg.reconnect_max_ms)
		backoff_reset(&c->bo);
	c->down_since_ms = now;
	c->attempts_down = 0;
}

static enum mqttconn_err
mqttconn_handle_events(struct mqttconn *c)
{
	bool connected, failed, lost, sub_done, sub_failed, handler_failed;
	int code, reason, session_present;
	char cause[MQTTCONN_CAUSE_MAX];
	int64_t now;

	pthread_mutex_lock(&c->mu);
	connected = c->ev_connected;
	failed = c->ev_failed;
	lost = c->ev_lost;
	sub_done = c->ev_sub_done;
	sub_failed = c->ev_sub_failed;
	handler_failed = c->ev_handler_failed;
	code = c->ev_fail_code;
	reason = c->ev_fail_reason;
	session_present = c->ev_session_present;
	memcpy(cause, c->ev_cause, sizeof(cause));
	c->ev_connected = c->ev_failed = c->ev_lost = false;
	c->ev_sub_done = c->ev_sub_failed = false;
	pthread_mutex_unlock(&c->mu);
	now = time_mono_ms();

	if (handler_failed) {
		c->handler_failed = true;
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "the message handler failed; unacknowledged messages stay at the broker");
		return MQTTCONN_ERR_HANDLER;
	}
	if (failed && c->state == MC_CONNECTING) {
		if (mqttconn_is_auth_failure(c->cfg.version,
					     reason ? reason : code)) {
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "broker '%s' refused the credentials of user '%s': %s",
				 c->cfg.url,
				 c->cfg.username ? c->cfg.username : "(none)",
				 cause);
			return MQTTCONN_ERR_AUTH;
		}
		c->fails_in_row++;
		if (c->cfg.max_retries && c->fails_in_row >= c->cfg.max_retries) {
			log_warn("cannot connect to '%s'\tattempt=%u cause=\"%s\"",
				 c->cfg.url, c->attempts_down, cause);
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "cannot connect to '%s' after %u attempts in a row (MQTT_MAX_RETRIES): %s",
				 c->cfg.url, c->fails_in_row, cause);
			return MQTTCONN_ERR_RETRIES;
		}
		mqttconn_schedule_retry(c, "cannot connect to", cause);
	}
	if (connected && c->state == MC_CONNECTING) {
		c->state = MC_UP;
		c->up_since_ms = now;
		atomic_store_explicit(&c->up_since_pub, now,
				      memory_order_relaxed);
		if (c->ever_connected) {
			atomic_fetch_add_explicit(&c->reconnects, 1,
						  memory_order_relaxed);
			log_info("reconnected to '%s'\tattempts=%u down_s=%.1f session_present=%d",
				 c->cfg.url, c->attempts_down,
				 (double)(now - c->down_since_ms) / 1000.0,
				 session_present);
		} else {
			log_info("connected to '%s'\tattempts=%u client_id=%s version=%s clean_session=%d session_present=%d",
				 c->cfg.url, c->attempts_down,
				 c->cfg.client_id,
				 c->cfg.version == 5 ? "5" : "3.1.1",
				 c->cfg.clean_session, session_present);
		}
		c->ever_connected = true;
		c->fails_in_row = 0;
		mqttconn_subscribe(c);
	}
	if (sub_done) {
		if (sub_failed) {
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "broker '%s' refused the subscription: %s",
				 c->cfg.url, cause);
			return MQTTCONN_ERR_SUBSCRIBE;
		}
		log_info("subscribed\ttopics=%d qos=%d", c->ntopics, c->cfg.qos);
	}
	if (lost && c->state == MC_UP) {
		double up_s = (double)(now - c->up_since_ms) / 1000.0;
		uint64_t delay;

		mqttconn_mark_down(c, now);
		delay = mqttconn_schedule(c);
		c->reload = c->cfg.persistence_dir != NULL || c->mem != NULL;
		log_warn("connection to '%s' lost\tcause=\"%s\" up_s=%.1f next_delay_ms=%llu",
			 c->cfg.url, cause, up_s, (unsigned long long)delay);
	}
	return MQTTCONN_OK;
}

static void
mqttconn_drain(struct mqttconn *c)
{
	char buf[64];

	while (read(c->wake[0], buf, sizeof(buf)) > 0)
		;
}

/* Waits for the wake pipe with the stop signals unblocked. */
static int
mqttconn_wait(struct mqttconn *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->wake[0], .events = POLLIN };
	struct timespec ts;
	sigset_t mask;
	int n;

	if (timeout_ms < 0)
		timeout_ms = 0;
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	sigdelset(&mask, SIGTERM);
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGHUP);
	n = ppoll(&pfd, 1, &ts, &mask);
	if (n < 0 && errno != EINTR)
		return -1;
	if (n > 0)
		mqttconn_drain(c);
	return 0;
}

/*
 * Retires the paho client (see mqttconn_poll in mqttconn.h) and makes a
 * new one, which reloads the unacknowledged publishes from the persistence
 * dir. Called while disconnected, before a connect attempt.
 */
static enum mqttconn_err
mqttconn_replace_client(struct mqttconn *c, const char *why)
{
	int before = mqttconn_pending(c), after;
	enum mqttconn_err rc;
	bool stored = c->cfg.persistence_dir != NULL || c->mem != NULL;

	atomic_store(&c->lost_track, false);
	c->reload = false;
	atomic_store(&c->gens[c->nclients - 1].retired, true);
	rc = mqttconn_make_client(c, c->errmsg, sizeof(c->errmsg));
	if (rc)
		return rc;
	atomic_fetch_add_explicit(&c->client_resets, 1, memory_order_relaxed);
	after = mqttconn_pending(c);
	if (stored)
		log_info("replaced the MQTT client, which reloaded the publishes not yet acknowledged from %s\twhy=\"%s\" pending_before=%d reloaded=%d resets=%d",
			 c->mem ? "memory" : "MQTT_PERSISTENCE_DIR", why, before,
			 after, c->nclients - 1);
	else
		log_error("replaced the MQTT client; the publishes it held are lost (no store to reload them from)\twhy=\"%s\" lost=%d resets=%d",
			  why, before, c->nclients - 1);
	if (c->cb.reset)
		c->cb.reset(c->cb.ctx, !stored ? MQTTCONN_RELOAD_LOST :
			    c->mem ? MQTTCONN_RELOADED_MEMORY :
			    MQTTCONN_RELOADED_DISK, after);
	return MQTTCONN_OK;
}

enum mqttconn_err
mqttconn_poll(struct mqttconn *c, int timeout_ms)
{
	enum mqttconn_err rc;
	int64_t now, wait;

	rc = mqttconn_handle_events(c);
	if (rc)
		return rc;
	now = time_mono_ms();
	if (c->state == MC_DOWN && now >= c->next_attempt_ms) {
		const char *why = NULL;
		char cause[160];

		if (atomic_load(&c->lost_track))
			why = "a publish failed on a broken connection and paho lost track of it";
		else if (c->reload && mqttconn_pending(c) > 0)
			why = "the connection was lost with publishes in flight";
		/* Only when the broker is back: until then new publishes go
		 * on into the old client's queue, numbered after what it
		 * holds, so the new client reloads one run of message ids
		 * (paho orders reloaded in-flight publishes by id). */
		if (why && !mqttconn_probe(c, 1000, cause, sizeof(cause))) {
			c->attempts_down++;
			atomic_fetch_add_explicit(&c->attempts, 1,
						  memory_order_relaxed);
			rc = mqttconn_attempt_failed(c, cause);
		} else {
			if (why)
				rc = mqttconn_replace_client(c, why);
			if (!rc) {
				c->reload = false;
				rc = mqttconn_connect(c);
			}
		}
		if (rc)
			return rc;
	}
	wait = timeout_ms;
	if (c->state == MC_DOWN && c->next_attempt_ms - now < wait)
		wait = c->next_attempt_ms - now;
	if (mqttconn_wait(c, (int)wait) != 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "ppoll: %s",
			 strerror(errno));
		return MQTTCONN_ERR_SYS;
	}
	return mqttconn_handle_events(c);
}

void
mqttconn_wake(struct mqttconn *c)
{
	mqttconn_poke(c);
}

/* ---- publishing --------------------------------------------------------- */

enum mqttconn_err
mqttconn_publish(struct mqttconn *c, const char *topic, const void *payload,
		 size_t len, int qos, bool retain, int *token)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int prc;

	if (len > INT32_MAX)
		return MQTTCONN_ERR_CONFIG;
	ro.context = &c->gens[c->nclients - 1];
	if (c->cfg.version == 5) {
		ro.onSuccess5 = qos > 0 ? mqttconn_on_pub1_ok5 :
			mqttconn_on_pub_ok5;
		ro.onFailure5 = qos > 0 ? mqttconn_on_pub1_fail5 :
			mqttconn_on_pub_fail5;
	} else {
		ro.onSuccess = qos > 0 ? mqttconn_on_pub1_ok3 :
			mqttconn_on_pub_ok3;
		ro.onFailure = qos > 0 ? mqttconn_on_pub1_fail3 :
			mqttconn_on_pub_fail3;
	}
	prc = MQTTAsync_send(c->client, topic, (int)len, payload, qos,
			     retain ? 1 : 0, &ro);
	if (token)
		*token = ro.token;
	switch (prc) {
	case MQTTASYNC_SUCCESS:
		return MQTTCONN_OK;
	case MQTTASYNC_DISCONNECTED:
		return MQTTCONN_ERR_NOT_CONNECTED;
	case MQTTASYNC_MAX_BUFFERED_MESSAGES:
	case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
	/* QoS 1/2: all 65535 message ids are taken by queued or in-flight
	 * publishes; one frees up with the next acknowledgement. */
	case MQTTASYNC_NO_MORE_MSGIDS:
		return MQTTCONN_ERR_FULL;
	}
	snprintf(c->errmsg, sizeof(c->errmsg), "MQTTAsync_send '%s': %s", topic,
		 MQTTAsync_strerror(prc));
	return MQTTCONN_ERR_PAHO;
}

int
mqttconn_reloading(struct mqttconn *c)
{
	int left;

	if (!atomic_load(&c->reloaded_by_replacement))
		return 0;
	left = atomic_load_explicit(&c->reload_left, memory_order_relaxed);
	/* Nothing pending at all: whatever was not checked off (an id paho
	 * changed) is not pending either; do not wait for it forever. */
	if (left > 0 && mqttconn_pending(c) == 0) {
		atomic_store(&c->reload_left, 0);
		left = 0;
	}
	return left;
}

int
mqttconn_pending(struct mqttconn *c)
{
	MQTTAsync_token *tokens = NULL;
	int n = 0;

	if (MQTTAsync_getPendingTokens(c->client, &tokens) != MQTTASYNC_SUCCESS)
		return -1;
	if (tokens) {
		while (tokens[n] != -1)
			n++;
		MQTTAsync_free(tokens);
	}
	return n;
}

/* ---- shutdown and accessors --------------------------------------------- */

void
mqttconn_stop(struct mqttconn *c, int timeout_ms)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
	MQTTAsync_disconnectOptions d5 = MQTTAsync_disconnectOptions_initializer5;
	MQTTAsync_disconnectOptions *o;
	int64_t end, now;
	bool done;

	if (c->handler_failed || c->state == MC_STOPPED)
		return;
	if (c->state == MC_UP || c->state == MC_CONNECTING) {
		o = c->cfg.version == 5 ? &d5 : &d;
		o->timeout = timeout_ms;
		o->context = c;
		if (c->cfg.version == 5) {
			o->onSuccess5 = mqttconn_on_disc5;
			o->onFailure5 = mqttconn_on_disc_fail5;
		} else {
			o->onSuccess = mqttconn_on_disc;
			o->onFailure = mqttconn_on_disc_fail;
		}
		if (MQTTAsync_disconnect(c->client, o) == MQTTASYNC_SUCCESS) {
			end = time_mono_ms() + timeout_ms + 500;
			for (;;) {
				pthread_mutex_lock(&c->mu);
				done = c->ev_disconnected || c->ev_handler_failed;
				pthread_mutex_unlock(&c->mu);
				now = time_mono_ms();
				if (done || now >= end)
					break;
				if (mqttconn_wait(c, (int)(end - now)) != 0)
					break;
			}
		}
		if (c->state == MC_UP) {
			mqttconn_mark_down(c, time_mono_ms());
			log_info("disconnected from '%s'", c->cfg.url);
		}
	}
	c->state = MC_STOPPED;
}

void
mqttconn_free(struct mqttconn *c)
{
	if (!c)
		return;
	/* A parked or still blocked receive thread (a stalled output at
	 * shutdown) holds paho's state: leave it to the process exit. */
	if (c->client_made && (c->handler_failed || mqttconn_busy(c)))
		return;
	if (c->client_made)
		MQTTAsync_destroy(&c->client);
	/* after the client that used it; retired ones never touch it */
	memstore_free(c->mem);
	for (size_t i = 0; i < ARRAY_SIZE(c->strs); i++)
		free(c->strs[i]);
	for (int i = 0; i < c->ntopics; i++)
		free(c->topics[i]);
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->parked);
	free(c);
}

bool
mqttconn_busy(const struct mqttconn *c)
{
	return atomic_load(&c->in_message) != 0;
}

bool
mqttconn_connected(const struct mqttconn *c)
{
	return atomic_load_explicit(&c->up_since_pub, memory_order_relaxed) != 0;
}

void
mqttconn_get_stats(const struct mqttconn *c, struct mqttconn_stats *st)
{
	int64_t up = atomic_load_explicit(&c->up_since_pub,
					  memory_order_relaxed);

	st->received = atomic_load_explicit(&c->received, memory_order_relaxed);
	st->reconnects = atomic_load_explicit(&c->reconnects,
					      memory_order_relaxed);
	st->attempts = atomic_load_explicit(&c->attempts, memory_order_relaxed);
	st->connected_ms = atomic_load_explicit(&c->connected_ms,
						memory_order_relaxed);
	st->client_resets = atomic_load_explicit(&c->client_resets,
						 memory_order_relaxed);
	st->acked_untracked = atomic_load_explicit(&c->acked_reloaded,
						   memory_order_relaxed);
	st->reload_left = atomic_load_explicit(&c->reload_left,
					       memory_order_relaxed);
	st->connected = up != 0;
	if (up)
		st->connected_ms += (uint64_t)(time_mono_ms() - up);
}

const char *
mqttconn_errmsg(const struct mqttconn *c)
{
	return c->errmsg;
}

const char *
mqttconn_strerror(enum mqttconn_err err)
{
	switch (err) {
	case MQTTCONN_OK:
		return "success";
	case MQTTCONN_ERR_CONFIG:
		return "bad MQTT configuration";
	case MQTTCONN_ERR_AUTH:
		return "the broker refused the credentials";
	case MQTTCONN_ERR_RETRIES:
		return "the broker stayed unreachable (MQTT_MAX_RETRIES)";
	case MQTTCONN_ERR_SUBSCRIBE:
		return "the broker refused a subscription";
	case MQTTCONN_ERR_HANDLER:
		return "the message handler failed";
	case MQTTCONN_ERR_NOT_CONNECTED:
		return "not connected";
	case MQTTCONN_ERR_FULL:
		return "the offline buffer is full";
	case MQTTCONN_ERR_PAHO:
		return "MQTT client error";
	case MQTTCONN_ERR_SYS:
		return "system call failed";
	case MQTTCONN_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown mqttconn error";
}
