/*
 * api: routing, parameter checks, answers and metrics; see api.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "influxq.h"
#include "record.h"
#include "rfc3339.h"
#include "sse.h"
#include "store.h"
#include "util.h"
#include "banned.h"

#define JSON_TYPE "application/json"
#define ANSWER_CAP (64u << 20)

static const char *const route_names[API_ROUTE__COUNT] = {
	"/", "/health", "/ready", "/alerts", "/alerts/{id}",
	"/alerts/{id}/ack", "/alerts/stream", "/sensors", "/sensors/{id}",
	"/sensors/{id}/readings", "/metrics", "other",
};

static const int statuses[] = {200, 400, 401, 404, 405, 413, 431, 500,
			       502, 503, 504};

/* Latency buckets in microseconds (the last is +Inf). */
static const int64_t buckets_us[] = {250,   500,    1000,   2500,   5000,
				     10000, 25000,  50000,  100000, 250000,
				     500000, 1000000, 2500000, 5000000,
				     10000000};

void
api_init(struct api *a)
{
	memset(a, 0, sizeof(*a));
	atomic_init(&a->input, API_INPUT_OPEN);
}

bool
api_is_slow(const char *path)
{
	return strcmp(path, "/ready") == 0 || strcmp(path, "/sensors") == 0 ||
	       strncmp(path, "/sensors/", 9) == 0;
}

bool
api_is_ack(const char *path)
{
	size_t n = strlen(path);

	return strncmp(path, "/alerts/", 8) == 0 && n > 12 &&
	       strcmp(path + n - 4, "/ack") == 0;
}

void
api_response_release(struct api_response *resp)
{
	strbuf_release(&resp->body);
}

void
api_error(struct api_response *resp, int status, const char *code,
	  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp->status = status;
	resp->content_type = JSON_TYPE;
	strbuf_reset(&resp->body);
	/* msg may echo client text: JSON-escaped, and cut at 512 bytes */
	if (strbuf_addf(&resp->body, "{\"error\":{\"code\":\"%s\",\"message\":",
			code) ||
	    strbuf_add_json_str(&resp->body, msg, strlen(msg)) ||
	    strbuf_addstr(&resp->body, "}}")) {
		resp->status = 500;
		strbuf_reset(&resp->body);
	}
}

void
api_observe(struct api *a, enum api_route route, int status, int64_t micros)
{
	size_t si = ARRAY_SIZE(statuses), b = 0;

	if ((unsigned)route >= API_ROUTE__COUNT)
		route = API_ROUTE_UNKNOWN;
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (statuses[i] == status)
			si = i;
	atomic_fetch_add(&a->status_count[route][si], 1);
	while (b < ARRAY_SIZE(buckets_us) && micros > buckets_us[b])
		b++;
	atomic_fetch_add(&a->latency_bucket[b], 1);
	atomic_fetch_add(&a->latency_sum_us, (uint64_t)(micros > 0 ? micros : 0));
	atomic_fetch_add(&a->latency_count, 1);
}

/* ---- helpers ----------------------------------------------------------- */

static void
ok_json(struct api_response *resp)
{
	resp->status = 200;
	resp->content_type = JSON_TYPE;
}

static const char *
arg(const struct api_request *req, const char *name)
{
	for (size_t i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].key, name) == 0)
			return req->args[i].value;
	return NULL;
}

/*
 * Refuses arguments other than the allowed ones, arguments given twice and
 * values that are not clean UTF-8 text. Returns 0 when the arguments are fine.
 */
static int
check_args(const struct api_request *req, const char *const *allowed,
	   struct api_response *resp)
{
	if (req->too_many_args) {
		api_error(resp, 400, "bad_parameter",
			  "too many query parameters (at most %d)",
			  API_MAX_ARGS);
		return -1;
	}
	for (size_t i = 0; i < req->nargs; i++) {
		const char *k = req->args[i].key, *v = req->args[i].value;
		const char *why;
		bool ok = false;

		for (const char *const *p = allowed; *p; p++)
			if (strcmp(*p, k) == 0)
				ok = true;
		if (!ok) {
			if (influxq_check_name(k, &why) == 0)
				api_error(resp, 400, "bad_parameter",
					  "unknown parameter '%s'", k);
			else
				api_error(resp, 400, "bad_parameter",
					  "unknown parameter");
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(req->args[j].key, k) == 0) {
				api_error(resp, 400, "bad_parameter",
					  "%s: given more than once", k);
				return -1;
			}
		}
		if (strlen(v) > 1024) {
			api_error(resp, 400, "bad_parameter",
				  "%s: longer than 1024 bytes", k);
			return -1;
		}
		if (*v && influxq_check_id(v, &why)) {
			api_error(resp, 400, "bad_parameter", "%s: %s", k, why);
			return -1;
		}
	}
	return 0;
}

/* ---- routing ----------------------------------------------------------- */

struct match {
	enum api_route route;
	const char *allow;	/* methods of the route */
	char id[300];		/* {id} of the path */
	bool id_too_long;
};

/* Splits /alerts/{id}... and /sensors/{id}... */
static void
route_of(const char *path, struct match *m)
{
	const char *rest, *slash;
	size_t n;

	m->route = API_ROUTE_UNKNOWN;
	m->allow = "GET";
	m->id[0] = '\0';
	m->id_too_long = false;
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		m->route = API_ROUTE_PAGE;
		return;
	}
	if (strcmp(path, "/health") == 0) {
		m->route = API_ROUTE_HEALTH;
		return;
	}
	if (strcmp(path, "/ready") == 0) {
		m->route = API_ROUTE_READY;
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		m->route = API_ROUTE_METRICS;
		return;
	}
	if (strcmp(path, "/alerts") == 0) {
		m->route = API_ROUTE_ALERTS;
		return;
	}
	if (strcmp(path, "/alerts/stream") == 0) {
		m->route = API_ROUTE_STREAM;
		return;
	}
	if (strcmp(path, "/sensors") == 0) {
		m->route = API_ROUTE_SENSORS;
		return;
	}
	if (strncmp(path, "/alerts/", 8) == 0)
		rest = path + 8;
	else if (strncmp(path, "/sensors/", 9) == 0)
		rest = path + 9;
	else
		return;
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (n == 0)
		return;
	if (n >= sizeof(m->id)) {
		m->id_too_long = true;
		n = 0;
	}
	memcpy(m->id, rest, n);
	m->id[n] = '\0';
	if (path[1] == 'a') {
		if (!slash)
			m->route = API_ROUTE_ALERT;
		else if (strcmp(slash, "/ack") == 0) {
			m->route = API_ROUTE_ACK;
			m->allow = "POST";
		}
	} else {
		if (!slash)
			m->route = API_ROUTE_SENSOR;
		else if (strcmp(slash, "/readings") == 0)
			m->route = API_ROUTE_READINGS;
	}
}

static bool
authorized(const struct api *a, const struct api_request *req)
{
	const char *h = req->authorization;

	if (!a->token)
		return true;
	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	return secure_equal(h, strlen(h), a->token, strlen(a->token));
}

/* ---- routes ------------------------------------------------------------ */

static void
influx_failed(struct api_response *resp, enum influxq_err rc,
	      const char *err)
{
	switch (rc) {
	case INFLUXQ_OK:
		break;
	case INFLUXQ_ERR_NOT_FOUND:
		api_error(resp, 404, "not_found", "%s", err);
		return;
	case INFLUXQ_ERR_UNAVAILABLE:
		api_error(resp, 503, "influxdb_unavailable", "%s", err);
		return;
	case INFLUXQ_ERR_STATEMENT:
	case INFLUXQ_ERR_REJECTED:
	case INFLUXQ_ERR_ANSWER:
		api_error(resp, 502, "influxdb_error", "%s", err);
		return;
	case INFLUXQ_ERR_TOO_BIG:
	case INFLUXQ_ERR_NOMEM:
		api_error(resp, 500, "internal", "%s", err);
		return;
	}
	api_error(resp, 500, "internal", "%s", influxq_strerror(rc));
}

static void
do_ready(struct api *a, struct api_response *resp)
{
	char err[256] = "";
	int input = atomic_load(&a->input);
	enum influxq_err rc = influxq_ping(a->influx, err, sizeof(err));
	const char *in = input == API_INPUT_OPEN     ? "open"
			 : input == API_INPUT_DONE   ? "done"
			 : input == API_INPUT_CLOSED ? "closed"
						     : "failed";

	if (rc) {
		api_error(resp, 503, "not_ready", "InfluxDB: %s", err);
		return;
	}
	if (input == API_INPUT_CLOSED || input == API_INPUT_FAILED) {
		api_error(resp, 503, "not_ready", "alert input %s", in);
		return;
	}
	ok_json(resp);
	strbuf_addf(&resp->body, "{\"status\":\"ready\",\"influxdb\":\"ok\","
				 "\"input\":\"%s\"}", in);
}

static int
parse_limit(const char *v, size_t *out, struct api_response *resp)
{
	unsigned long n = 0;
	size_t i = 0;

	for (; v[i] >= '0' && v[i] <= '9' && i < 5; i++)
		n = n * 10 + (unsigned long)(v[i] - '0');
	if (i == 0 || v[i] || n < 1 || n > 1000) {
		api_error(resp, 400, "bad_parameter",
			  "limit: must be an integer from 1 to 1000");
		return -1;
	}
	*out = n;
	return 0;
}

static void
do_alerts(struct api *a, const struct api_request *req,
	  struct api_response *resp)
{
	static const char *const allowed[] = {
		"status", "severity", "sensor_id", "rule", "since",
		"until",  "limit",    "cursor",    NULL};
	struct store_query q = {.status = -1, .severity = -1, .limit = 100};
	const char *v, *why;
	enum severity sev;
	enum store_err rc;

	if (check_args(req, allowed, resp))
		return;
	v = arg(req, "status");
	if (v) {
		if (strcmp(v, "firing") == 0)
			q.status = ALERT_FIRING;
		else if (strcmp(v, "resolved") == 0)
			q.status = ALERT_STATUS_RESOLVED;
		else {
			api_error(resp, 400, "bad_parameter",
				  "status: must be firing or resolved");
			return;
		}
	}
	v = arg(req, "severity");
	if (v) {
		if (severity_parse(v, &sev)) {
			api_error(resp, 400, "bad_parameter",
				  "severity: must be info, warning or critical");
			return;
		}
		q.severity = (int)sev;
	}
	v = arg(req, "sensor_id");
	if (v) {
		if (influxq_check_id(v, &why)) {
			api_error(resp, 400, "bad_parameter", "sensor_id: %s",
				  why);
			return;
		}
		q.sensor_id = v;
	}
	v = arg(req, "rule");
	if (v) {
		if (influxq_check_id(v, &why)) {
			api_error(resp, 400, "bad_parameter", "rule: %s", why);
			return;
		}
		q.rule = v;
	}
	v = arg(req, "since");
	if (v) {
		if (influxq_parse_time(v, req->now_ns, &q.since_ns, &why)) {
			api_error(resp, 400, "bad_parameter", "since: %s", why);
			return;
		}
		q.has_since = true;
	}
	v = arg(req, "until");
	if (v) {
		if (influxq_parse_time(v, req->now_ns, &q.until_ns, &why)) {
			api_error(resp, 400, "bad_parameter", "until: %s", why);
			return;
		}
		q.has_until = true;
	}
	v = arg(req, "limit");
	if (v && parse_limit(v, &q.limit, resp))
		return;
	v = arg(req, "cursor");
	if (v && store_cursor_decode(v, &q.cursor)) {
		api_error(resp, 400, "bad_parameter",
			  "cursor: not a next_cursor of this server");
		return;
	}
	/* the stream position first: an event after it is on the stream */
	resp->last_event_id = a->hub ? sse_last_seq(a->hub) : 0;
	rc = store_list(a->store, &q, &resp->body);
	if (rc) {
		api_error(resp, 500, "internal", "%s", store_strerror(rc));
		return;
	}
	ok_json(resp);
}

static int
check_alert_id(const struct match *m, struct api_response *resp)
{
	if (m->id_too_long || !store_id_valid(m->id)) {
		api_error(resp, 400, "bad_parameter",
			  "id: must be a UUID (8-4-4-4-12 hex digits)");
		return -1;
	}
	return 0;
}

static void
do_alert(struct api *a, const struct match *m, struct api_response *resp)
{
	enum store_err rc;

	if (check_alert_id(m, resp))
		return;
	rc = store_get(a->store, m->id, &resp->body);
	if (rc == STORE_ERR_NOT_FOUND) {
		api_error(resp, 404, "not_found", "no alert with id %s", m->id);
		return;
	}
	if (rc) {
		api_error(resp, 500, "internal", "%s", store_strerror(rc));
		return;
	}
	ok_json(resp);
}

static void
do_ack(struct api *a, const struct api_request *req, const struct match *m,
       struct api_response *resp)
{
	json_error_t jerr;
	json_t *j = NULL, *by, *comment;
	const char *k;
	json_t *v;
	enum store_err rc;

	if (check_alert_id(m, resp))
		return;
	j = json_loadb(req->body ? req->body : "", req->body_len,
		       JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		api_error(resp, 400, "bad_body",
			  "body: must be a JSON object {\"by\",\"comment\"}");
		goto out;
	}
	json_object_foreach(j, k, v) {
		if (strcmp(k, "by") && strcmp(k, "comment")) {
			api_error(resp, 400, "bad_body",
				  "body: unknown key (only by and comment)");
			goto out;
		}
	}
	by = json_object_get(j, "by");
	comment = json_object_get(j, "comment");
	if (!json_is_string(by) || json_string_length(by) == 0 ||
	    json_string_length(by) > STORE_BY_MAX ||
	    strlen(json_string_value(by)) != json_string_length(by)) {
		api_error(resp, 400, "bad_body",
			  "by: must be a string of 1 to %d bytes",
			  STORE_BY_MAX);
		goto out;
	}
	if (comment && !json_is_null(comment) &&
	    (!json_is_string(comment) ||
	     json_string_length(comment) > STORE_COMMENT_MAX ||
	     strlen(json_string_value(comment)) !=
		     json_string_length(comment))) {
		api_error(resp, 400, "bad_body",
			  "comment: must be a string of at most %d bytes",
			  STORE_COMMENT_MAX);
		goto out;
	}
	rc = store_ack_record(a->store, m->id, json_string_value(by),
			      json_is_string(comment)
				      ? json_string_value(comment)
				      : NULL,
			      req->now_ns);
	if (rc == STORE_ERR_NOT_FOUND) {
		api_error(resp, 404, "not_found", "no alert with id %s", m->id);
		goto out;
	}
	if (rc) {
		api_error(resp, rc == STORE_ERR_IO ? 503 : 500,
			  rc == STORE_ERR_IO ? "ack_not_saved" : "internal",
			  "%s", store_strerror(rc));
		goto out;
	}
	if (store_get(a->store, m->id, &resp->body)) {
		api_error(resp, 500, "internal", "alert vanished");
		goto out;
	}
	ok_json(resp);
	if (a->hub)
		sse_publish(a->hub, "acknowledged", resp->body.buf,
			    resp->body.len);
out:
	json_decref(j);
}

static void
do_stream(const struct api_request *req, struct api_response *resp)
{
	static const char *const allowed[] = {NULL};
	const char *v = req->last_event_id;
	uint64_t id = 0;

	if (check_args(req, allowed, resp))
		return;
	if (v && *v) {
		size_t i = 0;

		for (; v[i] >= '0' && v[i] <= '9' && i < 19; i++)
			id = id * 10 + (uint64_t)(v[i] - '0');
		if (i == 0 || v[i]) {
			api_error(resp, 400, "bad_header",
				  "Last-Event-ID: must be an event id of this stream");
			return;
		}
		resp->stream_has_last = true;
		resp->stream_last_id = id;
	}
	resp->status = 200;
	resp->content_type = "text/event-stream";
	resp->stream = true;
}

static int
check_sensor_id(const struct match *m, struct api_response *resp)
{
	const char *why;

	if (m->id_too_long) {
		api_error(resp, 400, "bad_parameter",
			  "id: must be 1 to 256 bytes");
		return -1;
	}
	if (influxq_check_id(m->id, &why)) {
		api_error(resp, 400, "bad_parameter", "id: %s", why);
		return -1;
	}
	return 0;
}

static void
do_sensors(struct api *a, const struct api_request *req,
	   struct api_response *resp)
{
	static const char *const allowed[] = {NULL};
	char err[512] = "";
	enum influxq_err rc;

	if (check_args(req, allowed, resp))
		return;
	rc = influxq_sensors(a->influx, &resp->body, err, sizeof(err));
	if (rc) {
		influx_failed(resp, rc, err);
		return;
	}
	ok_json(resp);
}

static void
do_sensor(struct api *a, const struct api_request *req,
	  const struct match *m, struct api_response *resp)
{
	static const char *const allowed[] = {NULL};
	char err[512] = "";
	enum influxq_err rc;

	if (check_args(req, allowed, resp) || check_sensor_id(m, resp))
		return;
	rc = influxq_sensor(a->influx, m->id, &resp->body, err, sizeof(err));
	if (rc == INFLUXQ_ERR_NOT_FOUND) {
		api_error(resp, 404, "not_found", "no readings of sensor %s",
			  m->id);
		return;
	}
	if (rc) {
		influx_failed(resp, rc, err);
		return;
	}
	ok_json(resp);
}

int
api_parse_readings(const struct api_request *req, size_t max_points,
		   struct influxq_range *r, struct api_response *resp)
{
	static const char *const allowed[] = {"field", "start", "end",
					      "every", "agg", "measurement",
					      NULL};
	const char *v, *why;
	int64_t span_ms;

	memset(r, 0, sizeof(*r));
	if (check_args(req, allowed, resp))
		return -1;
	v = arg(req, "field");
	if (!v) {
		api_error(resp, 400, "bad_parameter", "field: required");
		return -1;
	}
	if (influxq_check_name(v, &why)) {
		api_error(resp, 400, "bad_parameter", "field: %s", why);
		return -1;
	}
	snprintf(r->field, sizeof(r->field), "%s", v);
	v = arg(req, "measurement");
	if (v) {
		if (influxq_check_name(v, &why)) {
			api_error(resp, 400, "bad_parameter",
				  "measurement: %s", why);
			return -1;
		}
		snprintf(r->measurement, sizeof(r->measurement), "%s", v);
	}
	v = arg(req, "start");
	if (influxq_parse_time(v ? v : "-1h", req->now_ns, &r->start_ns,
			       &why)) {
		api_error(resp, 400, "bad_parameter", "start: %s", why);
		return -1;
	}
	v = arg(req, "end");
	if (influxq_parse_time(v ? v : "now", req->now_ns, &r->end_ns, &why)) {
		api_error(resp, 400, "bad_parameter", "end: %s", why);
		return -1;
	}
	if (r->end_ns <= r->start_ns) {
		api_error(resp, 400, "bad_parameter",
			  "end: must be after start");
		return -1;
	}
	v = arg(req, "every");
	if (influxq_parse_every(v ? v : "1m", &r->every_ms, &why)) {
		api_error(resp, 400, "bad_parameter", "every: %s", why);
		return -1;
	}
	v = arg(req, "agg");
	if (influxq_parse_agg(v ? v : "mean", &r->agg, &why)) {
		api_error(resp, 400, "bad_parameter", "agg: %s", why);
		return -1;
	}
	/*
	 * end > start, so the span is positive, but it may pass INT64_MAX
	 * ns (start in 1677, end in 2262): subtract as unsigned, where it
	 * always fits, instead of overflowing int64.
	 */
	span_ms = (int64_t)(((uint64_t)r->end_ns - (uint64_t)r->start_ns) /
			    1000000);
	if (span_ms / r->every_ms > (int64_t)max_points) {
		api_error(resp, 400, "bad_parameter",
			  "every: too small for the range (%" PRId64
			  " points, at most %zu)",
			  span_ms / r->every_ms, max_points);
		return -1;
	}
	return 0;
}

static void
do_readings(struct api *a, const struct api_request *req,
	    const struct match *m, struct api_response *resp,
	    size_t max_points)
{
	struct influxq_range r;
	char err[512] = "";
	enum influxq_err rc;

	if (check_sensor_id(m, resp) ||
	    api_parse_readings(req, max_points, &r, resp))
		return;
	rc = influxq_readings(a->influx, m->id, &r, &resp->body, err,
			      sizeof(err));
	if (rc) {
		influx_failed(resp, rc, err);
		return;
	}
	ok_json(resp);
}

static void
do_metrics(struct api *a, struct api_response *resp)
{
	struct store_stats st;
	struct strbuf *b = &resp->body;
	uint64_t cum = 0;
	int rc = 0;

	store_get_stats(a->store, &st);
	rc |= strbuf_addstr(b, "# HELP alertapi_requests_total HTTP requests "
			       "answered, by route and status.\n"
			       "# TYPE alertapi_requests_total counter\n");
	for (int r = 0; r < API_ROUTE__COUNT; r++) {
		for (size_t s = 0; s <= ARRAY_SIZE(statuses); s++) {
			uint64_t n = atomic_load(&a->status_count[r][s]);
			char code[8];

			if (!n)
				continue;
			if (s < ARRAY_SIZE(statuses))
				snprintf(code, sizeof(code), "%d", statuses[s]);
			else
				snprintf(code, sizeof(code), "other");
			rc |= strbuf_addf(b,
					  "alertapi_requests_total{route=\"%s\","
					  "status=\"%s\"} %" PRIu64 "\n",
					  route_names[r], code, n);
		}
	}
	rc |= strbuf_addstr(b, "# HELP alertapi_request_duration_seconds Time "
			       "to answer a request (streams: to start).\n"
			       "# TYPE alertapi_request_duration_seconds "
			       "histogram\n");
	for (size_t i = 0; i <= ARRAY_SIZE(buckets_us); i++) {
		cum += atomic_load(&a->latency_bucket[i]);
		if (i < ARRAY_SIZE(buckets_us))
			rc |= strbuf_addf(b,
					  "alertapi_request_duration_seconds_bucket"
					  "{le=\"%g\"} %" PRIu64 "\n",
					  (double)buckets_us[i] / 1e6, cum);
		else
			rc |= strbuf_addf(b,
					  "alertapi_request_duration_seconds_bucket"
					  "{le=\"+Inf\"} %" PRIu64 "\n",
					  cum);
	}
	rc |= strbuf_addf(b,
			  "alertapi_request_duration_seconds_sum %.6f\n"
			  "alertapi_request_duration_seconds_count %" PRIu64
			  "\n",
			  (double)atomic_load(&a->latency_sum_us) / 1e6,
			  atomic_load(&a->latency_count));
	rc |= strbuf_addstr(b, "# HELP alertapi_alerts Alerts held, by status "
			       "and severity.\n# TYPE alertapi_alerts gauge\n");
	for (int s = 0; s < 2; s++)
		for (int v = 0; v < 3; v++)
			rc |= strbuf_addf(b,
					  "alertapi_alerts{status=\"%s\","
					  "severity=\"%s\"} %" PRIu64 "\n",
					  alert_status_name((enum alert_status)s),
					  severity_name((enum severity)v),
					  st.by[s][v]);
	rc |= strbuf_addf(b,
			  "# HELP alertapi_alerts_evicted_total Alerts dropped "
			  "past API_MAX_ALERTS.\n"
			  "# TYPE alertapi_alerts_evicted_total counter\n"
			  "alertapi_alerts_evicted_total %" PRIu64 "\n"
			  "# HELP alertapi_sse_clients Streams open now.\n"
			  "# TYPE alertapi_sse_clients gauge\n"
			  "alertapi_sse_clients %u\n"
			  "# HELP alertapi_influxdb_query_errors_total Failed "
			  "InfluxDB queries, by kind.\n"
			  "# TYPE alertapi_influxdb_query_errors_total counter\n",
			  st.evicted, a->hub ? sse_clients(a->hub) : 0);
	for (int e = INFLUXQ_ERR_UNAVAILABLE; e <= INFLUXQ_ERR_NOMEM; e++) {
		static const char *const kinds[] = {
			"", "unavailable", "statement", "rejected",
			"answer", "not_found", "too_big", "nomem"};

		if (e == INFLUXQ_ERR_NOT_FOUND)
			continue;
		rc |= strbuf_addf(b,
				  "alertapi_influxdb_query_errors_total{kind="
				  "\"%s\"} %" PRIu64 "\n",
				  kinds[e],
				  influxq_error_count(a->influx,
						      (enum influxq_err)e));
	}
	if (rc) {
		api_error(resp, 500, "internal", "metrics too large");
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void
api_handle(struct api *a, const struct api_request *req,
	   struct api_response *resp)
{
	struct match m;
	bool get = strcmp(req->method, "GET") == 0 ||
		   strcmp(req->method, "HEAD") == 0;
	bool post = strcmp(req->method, "POST") == 0;

	memset(resp, 0, sizeof(*resp));
	strbuf_init(&resp->body, ANSWER_CAP);
	route_of(req->path, &m);
	resp->route = m.route;
	if (m.route == API_ROUTE_UNKNOWN) {
		api_error(resp, 404, "not_found", "no such route");
		return;
	}
	if (m.route == API_ROUTE_ACK ? !post : !get) {
		resp->allow = m.allow;
		api_error(resp, 405, "method_not_allowed",
			  "%s is not allowed here (allowed: %s)",
			  strlen(req->method) < 16 ? req->method : "method",
			  m.allow);
		return;
	}
	/*
	 * The page is static (no data in it) and a browser cannot send a
	 * bearer token when it navigates: it stays open, and the page sends
	 * the token on every request it makes.
	 */
	if ((post || (a->auth_reads && m.route != API_ROUTE_PAGE)) &&
	    !authorized(a, req)) {
		resp->www_authenticate = true;
		api_error(resp, 401, "unauthorized",
			  req->authorization ? "wrong bearer token"
					     : "missing bearer token");
		return;
	}
	switch (m.route) {
	case API_ROUTE_PAGE:
		resp->status = 200;
		resp->content_type = "text/html; charset=utf-8";
		if (strbuf_addstr(&resp->body, api_page_html))
			api_error(resp, 500, "internal", "out of memory");
		return;
	case API_ROUTE_HEALTH:
		ok_json(resp);
		strbuf_addstr(&resp->body, "{\"status\":\"ok\"}");
		return;
	case API_ROUTE_READY:
		do_ready(a, resp);
		return;
	case API_ROUTE_ALERTS:
		do_alerts(a, req, resp);
		return;
	case API_ROUTE_ALERT:
		do_alert(a, &m, resp);
		return;
	case API_ROUTE_ACK:
		do_ack(a, req, &m, resp);
		return;
	case API_ROUTE_STREAM:
		do_stream(req, resp);
		return;
	case API_ROUTE_SENSORS:
		do_sensors(a, req, resp);
		return;
	case API_ROUTE_SENSOR:
		do_sensor(a, req, &m, resp);
		return;
	case API_ROUTE_READINGS:
		do_readings(a, req, &m, resp, a->max_points);
		return;
	case API_ROUTE_METRICS:
		do_metrics(a, resp);
		return;
	case API_ROUTE_UNKNOWN:
	case API_ROUTE__COUNT:
		break;
	}
	api_error(resp, 404, "not_found", "no such route");
}
