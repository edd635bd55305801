/*
 * http: the HTTP server of alert-api on libmicrohttpd, the only module that
 * uses it. Turns each request into a struct api_request, hands it to
 * api_handle, and sends the answer; /alerts/stream answers are streamed
 * from the sse hub.
 * Owns: the daemon, its threads and the per-request state.
 * Never exits; logs only what libmicrohttpd reports. Returns enum http_err.
 *
 * Threading: a pool of event threads (one per CPU, epoll) serves every
 * connection; nothing on them blocks. A stream (/alerts/stream) with nothing
 * to send is suspended and resumed when the hub publishes, and once a
 * second so heartbeats go out. Requests that wait on InfluxDB (/ready,
 * /sensors...) run in a worker thread each (at most HTTP_MAX_WORKERS, else
 * 503 "busy") while their connection is suspended, so a slow InfluxDB
 * holds up no other client. Limits: API_MAX_CONNECTIONS, API_MAX_PER_IP
 * (over either, the socket is closed at once), API_CONN_TIMEOUT for idle
 * connections, the request line and headers together within
 * HTTP_HEADER_MAX (libmicrohttpd answers 431 past it), and bodies within
 * API_MAX_BODY (413).
 */
#ifndef ALERT_API_HTTP_H
#define ALERT_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

#define HTTP_HEADER_MAX (32u * 1024)

enum http_err {
	HTTP_OK = 0,
	HTTP_ERR_ADDRESS,	/* API_LISTEN does not resolve */
	HTTP_ERR_START,		/* the daemon did not start (port in use...) */
};

struct http_conf {
	const char *listen;		/* host:port or [v6]:port */
	unsigned max_connections;
	unsigned max_per_ip;		/* 0: no limit */
	int64_t timeout_ms;		/* idle connection timeout */
	size_t max_body;
};

struct http;

enum http_err http_start(struct http **h, const struct http_conf *conf,
			 struct api *api, char *err, size_t errsz);
/* Ends the streams (sse_hub_stop first), then stops the daemon. */
void http_stop(struct http *h);

/* True when host:port names a loopback address (127.0.0.0/8, ::1,
 * localhost). */
int http_is_loopback(const char *listen);

const char *http_strerror(enum http_err err);

#endif
