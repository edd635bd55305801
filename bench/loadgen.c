/*
 * loadgen: publishes sensor readings to an MQTT broker, for benchmarks,
 * tests and the demo.
 *
 *   loadgen [--url URL] [-n N] [-k K] [--rate R] [--qos Q] [--client-id ID]
 *           [--topic TEMPLATE] [--format json|lp|number] [--no-time]
 *   loadgen --simulate [--url URL] [--interval DURATION_MS] [--steps N]
 *
 * Load mode: N messages (default 10000) round-robin over K sensors (default
 * 10), at R messages/s (0, the default: as fast as paho takes them), QoS 0
 * or 1 (default 1). Each JSON payload carries a unique "seq" so that tests
 * can check completeness: {"seq":17,"ts":...,"temperature":21.5,"humidity":40}.
 * Topic template: {site} (a or b), {sensor} (s-0001...); default
 * "sensors/{site}/{sensor}/env". Exits when every message is sent (QoS 0)
 * or acknowledged (QoS 1), printing the rate to stderr.
 *
 * Simulate mode (the demo): 20 sensors s-01..s-20, s-01..s-10 on site a and
 * s-11..s-20 on site b, each publishing {"temperature","humidity"} to
 * sensors/{site}/{sensor}/env every interval (default 1000 ms), with the
 * source time in "ts" (epoch milliseconds):
 *   - temperature drifts around 21 C, humidity around 45 %
 *   - s-07 (site a) overheats: from step 10 it climbs 3 C per step to 95 C
 *   - s-13 (site b) goes silent after step 20
 *   - s-19 (site b) sends a malformed payload every 5th step
 * --steps N stops after N steps (0, the default: until SIGINT/SIGTERM).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "util.h"
#include "banned.h"

struct loadgen {
	const char *url;
	const char *client_id;
	const char *topic_tpl;
	const char *format;
	long long n;
	int k;
	double rate;
	int qos;
	bool no_time;
	bool simulate;
	long long interval_ms;
	long long steps;
	MQTTAsync client;
	volatile int connected;
	volatile int failed;
	volatile long long acked;
	volatile long long errors;
};

static volatile sig_atomic_t loadgen_stop;

static void
loadgen_on_signal(int sig)
{
	(void)sig;
	loadgen_stop = 1;
}

static void
loadgen_usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen [--url URL] [-n N] [-k K] [--rate R] [--qos 0|1]\n"
		"               [--client-id ID] [--topic TEMPLATE] [--format json|lp|number]\n"
		"               [--no-time]\n"
		"       loadgen --simulate [--url URL] [--interval MS] [--steps N] [--qos 0|1]\n");
}

static void
loadgen_on_connect(void *ctx, MQTTAsync_successData *r)
{
	struct loadgen *lg = ctx;

	(void)r;
	lg->connected = 1;
}

static void
loadgen_on_connect_fail(void *ctx, MQTTAsync_failureData *r)
{
	struct loadgen *lg = ctx;

	fprintf(stderr, "loadgen: cannot connect to '%s': rc %d %s\n", lg->url,
		r ? r->code : -1, r && r->message ? r->message : "");
	lg->failed = 1;
}

static void
loadgen_on_sent(void *ctx, MQTTAsync_successData *r)
{
	struct loadgen *lg = ctx;

	(void)r;
	__atomic_add_fetch(&lg->acked, 1, __ATOMIC_RELAXED);
}

static void
loadgen_on_send_fail(void *ctx, MQTTAsync_failureData *r)
{
	struct loadgen *lg = ctx;

	(void)r;
	__atomic_add_fetch(&lg->errors, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&lg->acked, 1, __ATOMIC_RELAXED);
}

static void
loadgen_on_lost(void *ctx, char *cause)
{
	struct loadgen *lg = ctx;

	fprintf(stderr, "loadgen: connection lost: %s\n", cause ? cause : "");
	lg->connected = 0;
	if (cause)
		MQTTAsync_free(cause);
}

static void
loadgen_sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	nanosleep(&ts, NULL);
}

static int
loadgen_connect(struct loadgen *lg)
{
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	int rc;

	co.MQTTVersion = MQTTVERSION_3_1_1;
	rc = MQTTAsync_createWithOptions(&lg->client, lg->url, lg->client_id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "loadgen: MQTTAsync_create: %s\n",
			MQTTAsync_strerror(rc));
		return -1;
	}
	MQTTAsync_setCallbacks(lg->client, lg, loadgen_on_lost, NULL, NULL);
	o.keepAliveInterval = 30;
	o.cleansession = 1;
	o.MQTTVersion = MQTTVERSION_3_1_1;
	o.maxInflight = 1000;
	o.onSuccess = loadgen_on_connect;
	o.onFailure = loadgen_on_connect_fail;
	o.context = lg;
	rc = MQTTAsync_connect(lg->client, &o);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "loadgen: MQTTAsync_connect: %s\n",
			MQTTAsync_strerror(rc));
		return -1;
	}
	while (!lg->connected && !lg->failed && !loadgen_stop)
		loadgen_sleep_ms(5);
	return lg->connected ? 0 : -1;
}

/* Publishes, waiting while paho's in-flight window is full. */
static int
loadgen_send(struct loadgen *lg, const char *topic, const char *payload,
	     size_t len)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc;

	ro.onSuccess = loadgen_on_sent;
	ro.onFailure = loadgen_on_send_fail;
	ro.context = lg;
	for (;;) {
		rc = MQTTAsync_send(lg->client, topic, (int)len, payload, lg->qos,
				    0, &ro);
		if (rc == MQTTASYNC_SUCCESS)
			return 0;
		if (rc != MQTTASYNC_MAX_MESSAGES_INFLIGHT &&
		    rc != MQTTASYNC_MAX_BUFFERED_MESSAGES) {
			fprintf(stderr, "loadgen: MQTTAsync_send: %s\n",
				MQTTAsync_strerror(rc));
			return -1;
		}
		if (loadgen_stop)
			return -1;
		loadgen_sleep_ms(0.2);
	}
}

static void
loadgen_topic(struct strbuf *sb, const char *tpl, const char *site,
	      const char *sensor)
{
	strbuf_reset(sb);
	for (const char *p = tpl; *p; p++) {
		if (strncmp(p, "{site}", 6) == 0) {
			strbuf_addstr(sb, site);
			p += 5;
		} else if (strncmp(p, "{sensor}", 8) == 0) {
			strbuf_addstr(sb, sensor);
			p += 7;
		} else {
			strbuf_addch(sb, *p);
		}
	}
}

static int
loadgen_load(struct loadgen *lg)
{
	struct strbuf topic, payload;
	char sensor[32];
	int64_t start = time_mono_ms(), t0;
	long long i;
	double secs;
	int rc = 0;

	strbuf_init(&topic, 0);
	strbuf_init(&payload, 0);
	for (i = 0; i < lg->n && !loadgen_stop; i++) {
		int s = (int)(i % lg->k);
		double temp = 20.0 + (double)(i % 100) / 10.0;
		int64_t now_ms = time_now_ns() / 1000000;

		snprintf(sensor, sizeof(sensor), "s-%04d", s + 1);
		loadgen_topic(&topic, lg->topic_tpl, s % 2 ? "b" : "a", sensor);
		strbuf_reset(&payload);
		if (strcmp(lg->format, "lp") == 0)
			strbuf_addf(&payload, "env seq=%lldi,temperature=%.1f,humidity=40%s",
				    i, temp, "");
		else if (strcmp(lg->format, "number") == 0)
			strbuf_addf(&payload, "%.1f", temp);
		else if (lg->no_time)
			strbuf_addf(&payload,
				    "{\"seq\":%lld,\"temperature\":%.1f,\"humidity\":40}",
				    i, temp);
		else
			strbuf_addf(&payload,
				    "{\"seq\":%lld,\"ts\":%lld,\"temperature\":%.1f,\"humidity\":40}",
				    i, (long long)now_ms, temp);
		if (loadgen_send(lg, topic.buf, payload.buf, payload.len)) {
			rc = -1;
			break;
		}
		if (lg->rate > 0) {
			/* pace against the start, not per message */
			t0 = start + (int64_t)((double)(i + 1) * 1000.0 / lg->rate);
			loadgen_sleep_ms((double)(t0 - time_mono_ms()));
		}
	}
	while (lg->acked < i && !loadgen_stop && lg->connected)
		loadgen_sleep_ms(1);
	secs = (double)(time_mono_ms() - start) / 1000.0;
	fprintf(stderr, "loadgen: sent=%lld acked=%lld errors=%lld qos=%d secs=%.3f rate=%.0f/s\n",
		i, (long long)lg->acked, (long long)lg->errors, lg->qos, secs,
		secs > 0 ? (double)i / secs : 0.0);
	strbuf_release(&topic);
	strbuf_release(&payload);
	if (lg->acked < i)
		rc = -1;
	return rc;
}

static int
loadgen_pending(struct loadgen *lg)
{
	MQTTAsync_token *tokens = NULL;
	int n = 0;

	if (MQTTAsync_getPendingTokens(lg->client, &tokens) != MQTTASYNC_SUCCESS)
		return 0;
	if (tokens) {
		while (tokens[n] != -1)
			n++;
		MQTTAsync_free(tokens);
	}
	return n;
}

static double
loadgen_rand(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return (double)(*st >> 11) / 9007199254740992.0;
}

static int
loadgen_simulate(struct loadgen *lg)
{
	double temp[20], hum[20];
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	struct strbuf topic, payload;
	char sensor[16];
	long long step;

	strbuf_init(&topic, 0);
	strbuf_init(&payload, 0);
	for (int s = 0; s < 20; s++) {
		temp[s] = 20.0 + 2.0 * loadgen_rand(&rng);
		hum[s] = 40.0 + 10.0 * loadgen_rand(&rng);
	}
	for (step = 1; !loadgen_stop && (lg->steps == 0 || step <= lg->steps);
	     step++) {
		for (int s = 0; s < 20; s++) {
			const char *site = s < 10 ? "a" : "b";
			int id = s + 1;

			if (id == 13 && step > 20)
				continue;	/* goes silent */
			temp[s] += (loadgen_rand(&rng) - 0.5) * 0.4;
			temp[s] = temp[s] < 15 ? 15 : temp[s] > 30 ? 30 : temp[s];
			hum[s] += (loadgen_rand(&rng) - 0.5) * 1.0;
			hum[s] = hum[s] < 20 ? 20 : hum[s] > 80 ? 80 : hum[s];
			if (id == 7 && step >= 10) {
				double t = 25.0 + 3.0 * (double)(step - 9);

				temp[s] = t > 95 ? 95 : t;
			}
			snprintf(sensor, sizeof(sensor), "s-%02d", id);
			loadgen_topic(&topic, "sensors/{site}/{sensor}/env", site,
				      sensor);
			strbuf_reset(&payload);
			if (id == 19 && step % 5 == 0)
				strbuf_addstr(&payload, "{\"temperature\": 21.5,");
			else
				strbuf_addf(&payload,
					    "{\"ts\":%lld,\"temperature\":%.2f,\"humidity\":%.1f}",
					    (long long)(time_now_ns() / 1000000),
					    temp[s], hum[s]);
			if (loadgen_send(lg, topic.buf, payload.buf, payload.len))
				goto out;
		}
		if (lg->steps == 0 || step < lg->steps)
			loadgen_sleep_ms((double)lg->interval_ms);
	}
out:
	for (int w = 0; w < 2000 && loadgen_pending(lg); w++)
		loadgen_sleep_ms(1);
	strbuf_release(&topic);
	strbuf_release(&payload);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "rate", required_argument, NULL, 'r' },
		{ "qos", required_argument, NULL, 'q' },
		{ "client-id", required_argument, NULL, 'i' },
		{ "topic", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ "no-time", no_argument, NULL, 'T' },
		{ "simulate", no_argument, NULL, 'S' },
		{ "interval", required_argument, NULL, 'I' },
		{ "steps", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct loadgen lg;
	struct sigaction sa;
	char id[64];
	int c, rc;

	memset(&lg, 0, sizeof(lg));
	lg.url = "tcp://127.0.0.1:1883";
	lg.topic_tpl = "sensors/{site}/{sensor}/env";
	lg.format = "json";
	lg.n = 10000;
	lg.k = 10;
	lg.qos = 1;
	lg.interval_ms = 1000;
	while ((c = getopt_long(argc, argv, "n:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': lg.url = optarg; break;
		case 'n': lg.n = strtoll(optarg, NULL, 10); break;
		case 'k': lg.k = (int)strtol(optarg, NULL, 10); break;
		case 'r': lg.rate = strtod(optarg, NULL); break;
		case 'q': lg.qos = (int)strtol(optarg, NULL, 10); break;
		case 'i': lg.client_id = optarg; break;
		case 't': lg.topic_tpl = optarg; break;
		case 'f': lg.format = optarg; break;
		case 'T': lg.no_time = true; break;
		case 'S': lg.simulate = true; break;
		case 'I': lg.interval_ms = strtoll(optarg, NULL, 10); break;
		case 's': lg.steps = strtoll(optarg, NULL, 10); break;
		case 'h': loadgen_usage(stdout); return 0;
		default: loadgen_usage(stderr); return 64;
		}
	}
	if (optind != argc || lg.k < 1 || lg.n < 0 || lg.qos < 0 || lg.qos > 2 ||
	    lg.interval_ms < 0) {
		loadgen_usage(stderr);
		return 64;
	}
	if (!lg.client_id) {
		snprintf(id, sizeof(id), "sensorpipe-loadgen-%d", (int)getpid());
		lg.client_id = id;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = loadgen_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (loadgen_connect(&lg) != 0)
		return 69;
	rc = lg.simulate ? loadgen_simulate(&lg) : loadgen_load(&lg);
	MQTTAsync_disconnect(lg.client, NULL);
	loadgen_sleep_ms(50);
	MQTTAsync_destroy(&lg.client);
	return rc == 0 ? 0 : 75;
}
