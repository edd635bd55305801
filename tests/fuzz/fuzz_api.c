/*
 * fuzz_api: alert-api's request checks with arbitrary input: api_handle for
 * every route that needs no InfluxDB (over a store holding a few alerts),
 * api_parse_readings + influxq_build_readings for the readings route, and
 * the pure validators (time, every, agg, name, id, cursor, alert id).
 *
 * Input: up to the first NUL the request head: line 1 = a method byte
 * (byte % 6: 0 GET, 1 POST, HEAD, PUT, DELETE, OPTIONS) and
 * the path, each further line an argument "key=value" (or "flag"); after
 * the NUL the body.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "influxq.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "fuzz.h"

#define NOW 1795000000000000000LL

static struct api api;
static int ready;

static const char *const seed_alerts[] = {
	"{\"id\":\"8f14e45f-ceea-467a-9af0-fd5e5e5e5e5e\",\"event_id\":"
	"\"1f14e45f-ceea-467a-9af0-fd5e5e5e5e5e\",\"event\":\"fired\","
	"\"status\":\"firing\",\"rule\":\"temp-high\",\"severity\":\"critical\","
	"\"measurement\":\"env\",\"field\":\"temp\",\"tags\":{\"sensor_id\":"
	"\"s-1\"},\"value\":31.5,\"threshold\":30,\"started_at\":"
	"\"2026-11-18T04:00:00Z\",\"time\":\"2026-11-18T04:00:00Z\","
	"\"message\":\"hot\",\"summary\":\"s\",\"summary_source\":\"fallback\"}",
	"{\"id\":\"9f14e45f-ceea-467a-9af0-fd5e5e5e5e5e\",\"event_id\":"
	"\"2f14e45f-ceea-467a-9af0-fd5e5e5e5e5e\",\"event\":\"resolved\","
	"\"status\":\"resolved\",\"rule\":\"dead\",\"severity\":\"info\","
	"\"measurement\":\"\",\"field\":\"\",\"value\":null,\"threshold\":null,"
	"\"started_at\":\"2026-11-17T04:00:00Z\",\"time\":"
	"\"2026-11-17T05:00:00Z\",\"message\":\"m\",\"summary\":\"s\","
	"\"summary_source\":\"llm\"}",
};

static void
setup(void)
{
	struct influxq_conf conf = {.url = "http://127.0.0.1:1", .db = "x",
				    .timeout_ms = 100,
				    .connect_timeout_ms = 100,
				    .max_points = 1000};
	struct record_scratch s;
	struct alert a;

	record_scratch_init(&s);
	api_init(&api);
	api.store = store_new(50);
	api.max_points = 1000;
	api.max_body = 4096;
	/* /metrics reads its counters; nothing here ever connects (routes
	 * that would are skipped below), and port 1 refuses anyway. */
	api.influx = influxq_new(&conf);
	if (!api.store || !api.influx)
		abort();
	for (size_t i = 0; i < sizeof(seed_alerts) / sizeof(*seed_alerts);
	     i++) {
		if (record_parse_alert(&a, seed_alerts[i],
				       strlen(seed_alerts[i]), &s) != RECORD_OK ||
		    store_apply(api.store, &a) != STORE_OK)
			abort();
	}
	record_scratch_release(&s);
	ready = 1;
}

static void
check_json(const struct strbuf *sb, const char *what)
{
	json_error_t e;
	json_t *j;

	if (!sb->len)
		return;
	j = json_loadb(sb->buf, sb->len, 0, &e);
	FUZZ_CHECK(j != NULL, "%s is not JSON (%s): %s", what, e.text,
		   sb->buf);
	json_decref(j);
}

static void
validators(const char *v)
{
	int64_t ns, ms;
	enum influxq_agg agg;
	const char *why = NULL;
	uint64_t seq, seq2;
	char buf[STORE_CURSOR_MAX], ebuf[24];

	if (influxq_parse_time(v, NOW, &ns, &why))
		FUZZ_CHECK(why != NULL, "no why");
	if (influxq_parse_every(v, &ms, &why) == 0) {
		FUZZ_CHECK(ms >= 1 && ms <= 365LL * 86400000, "every %lld",
			   (long long)ms);
		influxq_format_every(ms, ebuf);
		FUZZ_CHECK(influxq_parse_every(ebuf, &ns, &why) == 0 &&
			   ns == ms, "every '%s' -> %lld -> '%s'", v,
			   (long long)ms, ebuf);
	}
	if (influxq_parse_agg(v, &agg, &why) == 0)
		(void)influxq_agg_name(agg);
	(void)influxq_check_name(v, &why);
	(void)influxq_check_id(v, &why);
	(void)store_id_valid(v);
	if (store_cursor_decode(v, &seq) == STORE_OK) {
		store_cursor_encode(seq, buf);
		FUZZ_CHECK(memchr(buf, '\0', sizeof(buf)) != NULL, "cursor");
		FUZZ_CHECK(store_cursor_decode(buf, &seq2) == STORE_OK &&
			   seq2 == seq, "cursor '%s' round trip", v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "HEAD", "PUT",
					      "DELETE", "OPTIONS"};
	struct api_request req;
	struct api_response resp;
	const unsigned char *head, *body;
	size_t hlen, blen;
	char *h, *line, *save = NULL, *bodycopy;
	struct influxq_range r;
	const char *why;

	if (!ready)
		setup();
	if (size < 1)
		return 0;
	fuzz_split(data, size, '\0', &head, &hlen, &body, &blen);
	h = fuzz_strndup(head, hlen);
	bodycopy = malloc(blen ? blen : 1);
	if (!bodycopy)
		abort();
	if (blen)
		memcpy(bodycopy, body, blen);
	memset(&req, 0, sizeof(req));
	req.method = methods[(unsigned char)h[0] % 6];
	req.now_ns = NOW;
	req.body = bodycopy;
	req.body_len = blen;
	line = strtok_r(h[0] ? h + 1 : h, "\n", &save);
	req.path = line ? line : "/";
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *eq = strchr(line, '=');

		validators(line);
		if (eq) {
			*eq = '\0';
			validators(eq + 1);
		}
		if (req.nargs == API_MAX_ARGS) {
			req.too_many_args = true;
			continue;
		}
		req.args[req.nargs].key = line;
		req.args[req.nargs].value = eq ? eq + 1 : "";
		req.nargs++;
	}
	validators(req.path);

	memset(&resp, 0, sizeof(resp));
	strbuf_init(&resp.body, 0);
	/* the route checks the sensor id (the path here) before the range */
	if (influxq_check_id(req.path, &why) == 0 &&
	    api_parse_readings(&req, 1000, &r, &resp) == 0) {
		struct strbuf q, p;

		strbuf_init(&q, 0);
		strbuf_init(&p, 0);
		FUZZ_CHECK(influxq_build_readings(&r, 1000, req.path, &q,
						  &p) == 0, "build failed");
		FUZZ_CHECK(q.len && !memchr(q.buf, '\n', q.len) &&
			   !memchr(q.buf, ';', q.len), "query '%s'", q.buf);
		check_json(&p, "params");
		strbuf_release(&q);
		strbuf_release(&p);
	} else {
		check_json(&resp.body, "readings error");
	}
	api_response_release(&resp);

	/* routes that would wait on InfluxDB are not called */
	if (!api_is_slow(req.path)) {
		memset(&resp, 0, sizeof(resp));
		api_handle(&api, &req, &resp);
		FUZZ_CHECK(resp.status >= 200 && resp.status < 600, "status %d",
			   resp.status);
		if (resp.content_type &&
		    strstr(resp.content_type, "json") && !resp.stream)
			check_json(&resp.body, req.path);
		api_response_release(&resp);
	}
	free(h);
	free(bodycopy);
	return 0;
}
