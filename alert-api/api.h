/*
 * api: the routes of alert-api (DESIGN.md "alert-api routes"), independent
 * of the HTTP library: a request comes in as method, path, query arguments,
 * two headers and a body; an answer goes out as status, content type, body
 * and the Allow header. http.c is the only code that talks to sockets.
 * Owns: nothing but the answer body (api_response_release).
 * Never logs per request or exits. Errors are answers:
 * {"error":{"code":"...","message":"..."}} with the matching status.
 */
#ifndef ALERT_API_API_H
#define ALERT_API_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "influxq.h"
#include "sse.h"
#include "store.h"
#include "util.h"

#define API_MAX_ARGS 16

enum api_route {
	API_ROUTE_PAGE,
	API_ROUTE_HEALTH,
	API_ROUTE_READY,
	API_ROUTE_ALERTS,
	API_ROUTE_ALERT,
	API_ROUTE_ACK,
	API_ROUTE_STREAM,
	API_ROUTE_SENSORS,
	API_ROUTE_SENSOR,
	API_ROUTE_READINGS,
	API_ROUTE_METRICS,
	API_ROUTE_UNKNOWN,
	API_ROUTE__COUNT
};

/* State of the alert input, for /ready. */
enum api_input {
	API_INPUT_OPEN,		/* reading (or waiting for more) */
	API_INPUT_DONE,		/* a regular file read to its end */
	API_INPUT_CLOSED,	/* the pipe ended: no new alerts will come */
	API_INPUT_FAILED,
};

struct api_kv {
	const char *key;
	const char *value;	/* "" for ?flag */
};

struct api_request {
	const char *method;
	const char *path;		/* decoded, without the query */
	struct api_kv args[API_MAX_ARGS];
	size_t nargs;
	bool too_many_args;
	const char *authorization;	/* header or NULL */
	const char *last_event_id;	/* header or NULL */
	const char *body;
	size_t body_len;
	int64_t now_ns;			/* for relative times (tests fix it) */
};

struct api_response {
	int status;
	const char *content_type;
	const char *allow;		/* for 405 */
	bool www_authenticate;		/* for 401 */
	struct strbuf body;
	enum api_route route;
	/* GET /alerts/stream: http.c starts the stream at this position */
	bool stream;
	bool stream_has_last;
	uint64_t stream_last_id;
	uint64_t last_event_id;	/* X-Last-Event-ID on /alerts */
};

struct api {
	struct store *store;
	struct influxq *influx;
	struct sse_hub *hub;
	const char *token;		/* NULL: no token configured */
	bool auth_reads;
	size_t max_body;
	size_t max_points;		/* API_MAX_POINTS */
	atomic_int input;		/* enum api_input */
	/* per route and status class counts, latency histogram: /metrics */
	atomic_uint_fast64_t requests[API_ROUTE__COUNT][6];
	atomic_uint_fast64_t status_count[API_ROUTE__COUNT][16];
	atomic_uint_fast64_t latency_bucket[16];
	atomic_uint_fast64_t latency_sum_us, latency_count;
};

void api_init(struct api *a);

/* Whether answering may wait on InfluxDB (/ready, /sensors...): http.c
 * answers those off its event threads, a bounded number at once. */
bool api_is_slow(const char *path);
/* Whether it is an acknowledgement (/alerts/{id}/ack), which waits on the
 * disk (the log is fsynced): also answered off the event threads, but not
 * refused when the InfluxDB requests took every worker. */
bool api_is_ack(const char *path);

/* Answers one request; resp->body is initialised here. */
void api_handle(struct api *a, const struct api_request *req,
		struct api_response *resp);
void api_response_release(struct api_response *resp);

/* Checks the arguments of /sensors/{id}/readings into r; 0, or -1 with
 * resp set to the 400 answer naming the parameter. */
int api_parse_readings(const struct api_request *req, size_t max_points,
		       struct influxq_range *r, struct api_response *resp);

/* Counts an answer for /metrics (status and time taken). */
void api_observe(struct api *a, enum api_route route, int status,
		 int64_t micros);

/* Sets resp to the error answer. */
void api_error(struct api_response *resp, int status, const char *code,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The status page (page.c). */
extern const char api_page_html[];

#endif
