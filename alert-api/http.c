/*
 * http: libmicrohttpd glue; see http.h.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api.h"
#include "http.h"
#include "log.h"
#include "sse.h"
#include "util.h"
#include "banned.h"

/* One open /alerts/stream answer. */
struct stream {
	struct sse_client c;
	struct http *h;
	struct MHD_Connection *conn;
	bool suspended;		/* under h->mu */
	struct stream *prev, *next;
};

struct http {
	struct MHD_Daemon *d;
	struct api *api;
	size_t max_body;
	/* the streams, and which of them are suspended */
	pthread_mutex_t mu;
	struct stream *streams;
	bool stopping;
	pthread_t ticker;
	bool ticker_started;
	pthread_cond_t tick_cv;
	unsigned workers;	/* under mu; tick_cv also signals their end */
};

/* Requests that may wait on InfluxDB run in their own thread, at most: */
#define HTTP_MAX_WORKERS 64

/* Per request: the body read so far, when it began, and for a request
 * answered by a worker thread, the request and its answer. */
struct request_state {
	int64_t start_us;
	struct strbuf body;
	bool too_big;
	struct http *h;
	struct MHD_Connection *conn;
	bool async;		/* a worker owns req/resp until it resumes */
	struct api_request req;
	struct api_response resp;
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
	    const char *value)
{
	struct api_request *req = cls;

	(void)kind;
	if (req->nargs == API_MAX_ARGS) {
		req->too_many_args = true;
		return MHD_NO;
	}
	req->args[req->nargs].key = key ? key : "";
	req->args[req->nargs].value = value ? value : "";
	req->nargs++;
	return MHD_YES;
}

/*
 * The content reader of a stream. Pool threads must never block, and
 * returning 0 alone would busy-loop (FACTS §13): when there is nothing to
 * send, the connection is suspended under h->mu, after checking once more
 * that nothing came in. wake_streams (after each event, and once a second
 * for heartbeats) resumes it.
 */
static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct http *h = st->h;
	long n;

	(void)pos;
	for (;;) {
		n = sse_client_read(&st->c, buf, max, 0);
		if (n > 0)
			return (ssize_t)n;
		if (n < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&h->mu);
		if (h->stopping) {
			pthread_mutex_unlock(&h->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (!sse_client_ready(&st->c)) {
			st->suspended = true;
			MHD_suspend_connection(st->conn);
			pthread_mutex_unlock(&h->mu);
			return 0;
		}
		pthread_mutex_unlock(&h->mu);
	}
}

static void
stream_free(void *cls)
{
	struct stream *st = cls;
	struct http *h = st->h;

	pthread_mutex_lock(&h->mu);
	if (st->prev)
		st->prev->next = st->next;
	else
		h->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	pthread_mutex_unlock(&h->mu);
	sse_client_release(&st->c);
	free(st);
}

/* Resumes every suspended stream (sse_wake_fn). */
static void
wake_streams(void *cls)
{
	struct http *h = cls;

	pthread_mutex_lock(&h->mu);
	for (struct stream *st = h->streams; st; st = st->next) {
		if (st->suspended) {
			st->suspended = false;
			MHD_resume_connection(st->conn);
		}
	}
	pthread_mutex_unlock(&h->mu);
}

/* Once a second: lets suspended streams send their heartbeats. */
static void *
ticker_main(void *arg)
{
	struct http *h = arg;
	struct timespec until;

	pthread_mutex_lock(&h->mu);
	while (!h->stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&h->tick_cv, &h->mu, &until);
		if (h->stopping)
			break;
		for (struct stream *st = h->streams; st; st = st->next) {
			if (st->suspended && sse_client_ready(&st->c)) {
				st->suspended = false;
				MHD_resume_connection(st->conn);
			}
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static struct MHD_Response *
make_response(struct http *h, struct MHD_Connection *conn,
	      struct api_response *resp)
{
	struct MHD_Response *r;
	char num[32];

	if (resp->stream) {
		struct stream *st = calloc(1, sizeof(*st));

		if (!st)
			return NULL;
		sse_client_init(&st->c, h->api->hub, resp->stream_has_last,
				resp->stream_last_id);
		st->h = h;
		st->conn = conn;
		pthread_mutex_lock(&h->mu);
		st->next = h->streams;
		if (h->streams)
			h->streams->prev = st;
		h->streams = st;
		pthread_mutex_unlock(&h->mu);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384,
						      stream_read, st,
						      stream_free);
		if (!r) {
			stream_free(st);
			return NULL;
		}
		MHD_add_response_header(r, "Cache-Control", "no-cache");
		MHD_add_response_header(r, "X-Accel-Buffering", "no");
	} else if (resp->body.len) {
		/* MHD frees the buffer: the strbuf gives it away */
		r = MHD_create_response_from_buffer(resp->body.len,
						    resp->body.buf,
						    MHD_RESPMEM_MUST_FREE);
		if (!r)
			return NULL;
		resp->body.buf = NULL;
		resp->body.len = resp->body.cap = 0;
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"",
						    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return NULL;
	}
	if (resp->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp->content_type);
	if (resp->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	if (resp->www_authenticate)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"alert-api\"");
	if (resp->route == API_ROUTE_ALERTS && resp->status == 200) {
		snprintf(num, sizeof(num), "%llu",
			 (unsigned long long)resp->last_event_id);
		MHD_add_response_header(r, "X-Last-Event-ID", num);
	}
	if (resp->route == API_ROUTE_PAGE)
		MHD_add_response_header(
			r, "Content-Security-Policy",
			"default-src 'none'; script-src 'unsafe-inline'; "
			"style-src 'unsafe-inline'; connect-src 'self'; "
			"img-src data:");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	return r;
}

static enum MHD_Result
reply(struct http *h, struct MHD_Connection *conn, struct api_response *resp,
      struct request_state *rs)
{
	struct MHD_Response *r = make_response(h, conn, resp);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;	/* out of memory: MHD closes the connection */
	ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	api_observe(h->api, resp->route, resp->status,
		    rs ? now_us() - rs->start_us : 0);
	return ret;
}

/* A worker thread: answers one slow request, then resumes its connection,
 * whose access handler queues the answer. */
static void *
worker_main(void *arg)
{
	struct request_state *rs = arg;
	struct http *h = rs->h;

	rs->req.now_ns = time_now_ns();
	api_handle(h->api, &rs->req, &rs->resp);
	pthread_mutex_lock(&h->mu);
	MHD_resume_connection(rs->conn);
	h->workers--;
	pthread_cond_broadcast(&h->tick_cv);
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Starts a worker for rs; false when too many run (limited: the caller
 * answers 503) or the daemon stops. */
static bool
start_worker(struct http *h, struct request_state *rs, bool limited)
{
	pthread_t t;
	pthread_attr_t attr;
	bool ok = false;

	pthread_mutex_lock(&h->mu);
	if ((limited && h->workers >= HTTP_MAX_WORKERS) || h->stopping) {
		pthread_mutex_unlock(&h->mu);
		return false;
	}
	h->workers++;
	rs->async = true;
	MHD_suspend_connection(rs->conn);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	ok = pthread_create(&t, &attr, worker_main, rs) == 0;
	pthread_attr_destroy(&attr);
	if (!ok) {
		h->workers--;
		rs->async = false;
		MHD_resume_connection(rs->conn);
	}
	pthread_mutex_unlock(&h->mu);
	return ok;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload_data,
	   size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct request_state *rs = *con_cls;
	struct api_request req;
	struct api_response resp;
	enum MHD_Result ret;
	const char *cl;

	(void)version;
	if (!rs) {
		rs = calloc(1, sizeof(*rs));
		if (!rs)
			return MHD_NO;
		rs->start_us = now_us();
		strbuf_init(&rs->body, h->max_body);
		*con_cls = rs;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > h->max_body) {
			/* refuse before reading the body */
			memset(&resp, 0, sizeof(resp));
			strbuf_init(&resp.body, 0);
			resp.route = API_ROUTE_UNKNOWN;
			api_error(&resp, 413, "too_large",
				  "body larger than %zu bytes", h->max_body);
			ret = reply(h, conn, &resp, rs);
			api_response_release(&resp);
			return ret;
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rs->too_big &&
		    strbuf_add(&rs->body, upload_data, *upload_size))
			rs->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rs->async) {
		/* resumed: the worker has answered */
		ret = reply(h, conn, &rs->resp, rs);
		api_response_release(&rs->resp);
		rs->async = false;
		return ret;
	}
	if (rs->too_big) {
		memset(&resp, 0, sizeof(resp));
		strbuf_init(&resp.body, 0);
		resp.route = API_ROUTE_UNKNOWN;
		api_error(&resp, 413, "too_large", "body larger than %zu bytes",
			  h->max_body);
		ret = reply(h, conn, &resp, rs);
		api_response_release(&resp);
		return ret;
	}
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg,
				  &req);
	req.authorization = MHD_lookup_connection_value(
		conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	req.last_event_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							"Last-Event-ID");
	req.body = rs->body.buf;
	req.body_len = rs->body.len;
	req.now_ns = time_now_ns();
	if (api_is_slow(url) || api_is_ack(url)) {
		/* the strings stay valid while the request lasts */
		rs->req = req;
		rs->h = h;
		rs->conn = conn;
		if (start_worker(h, rs, !api_is_ack(url)))
			return MHD_YES;
		memset(&resp, 0, sizeof(resp));
		strbuf_init(&resp.body, 0);
		resp.route = API_ROUTE_UNKNOWN;
		api_error(&resp, 503, "busy",
			  "too many requests waiting on InfluxDB");
		ret = reply(h, conn, &resp, rs);
		api_response_release(&resp);
		return ret;
	}
	api_handle(h->api, &req, &resp);
	ret = reply(h, conn, &resp, rs);
	api_response_release(&resp);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct request_state *rs = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!rs)
		return;
	strbuf_release(&rs->body);
	free(rs);
	*con_cls = NULL;
}

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decoding of the path and the query arguments, in place. A %00
 * would end the C string early (/sensors/s-1%00x read as s-1), so it
 * becomes 0x01 instead, a control character every check refuses (400).
 */
static size_t
on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;

	(void)cls;
	(void)conn;
	for (const char *r = s; *r; r++) {
		int hi = *r == '%' ? hexdigit(r[1]) : -1;
		int lo = hi >= 0 ? hexdigit(r[2]) : -1;

		if (lo >= 0) {
			*w = (char)(hi << 4 | lo);
			if (*w == '\0')
				*w = '\1';
			w++;
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}
#pragma GCC diagnostic pop

/* Splits host:port / [v6]:port into host and port. -1 if malformed. */
static int
split_listen(const char *listen, char *host, size_t hostsz, char *port,
	     size_t portsz)
{
	const char *colon;
	size_t hl;

	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (!end || end[1] != ':')
			return -1;
		hl = (size_t)(end - listen - 1);
		if (hl >= hostsz)
			return -1;
		memcpy(host, listen + 1, hl);
		host[hl] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - listen);
		if (hl >= hostsz)
			return -1;
		memcpy(host, listen, hl);
		host[hl] = '\0';
	}
	if (snprintf(port, portsz, "%s", colon + 1) >= (int)portsz)
		return -1;
	return 0;
}

static int
resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256], port[16];
	struct addrinfo hints, *res = NULL;

	if (split_listen(listen, host, sizeof(host), port, sizeof(port)))
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &res) != 0 ||
	    !res)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
http_is_loopback(const char *listen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (resolve(listen, &ss, &len))
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)&ss;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}

enum http_err
http_start(struct http **hp, const struct http_conf *conf, struct api *api,
	   char *err, size_t errsz)
{
	struct http *h;
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned pool = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (unsigned)ncpu;
	unsigned timeout_s = (unsigned)((conf->timeout_ms + 999) / 1000);

	*hp = NULL;
	if (resolve(conf->listen, &ss, &len)) {
		snprintf(err, errsz, "cannot resolve API_LISTEN '%s'",
			 conf->listen);
		return HTTP_ERR_ADDRESS;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errsz, "out of memory");
		return HTTP_ERR_START;
	}
	h->api = api;
	h->max_body = conf->max_body;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->tick_cv, NULL);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
		conf->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		conf->max_per_ip, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_HEADER_MAX,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, NULL,
		MHD_OPTION_THREAD_POOL_SIZE, pool, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errsz,
			 "cannot listen on '%s' (address in use or not local)",
			 conf->listen);
		pthread_cond_destroy(&h->tick_cv);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return HTTP_ERR_START;
	}
	h->ticker_started = pthread_create(&h->ticker, NULL, ticker_main, h) == 0;
	sse_hub_set_wake(api->hub, wake_streams, h);
	*hp = h;
	return HTTP_OK;
}

void
http_stop(struct http *h)
{
	if (!h)
		return;
	sse_hub_set_wake(h->api->hub, NULL, NULL);
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_signal(&h->tick_cv);
	pthread_mutex_unlock(&h->mu);
	if (h->ticker_started)
		pthread_join(h->ticker, NULL);
	/* workers resume their connections: wait for them (INFLUX_TIMEOUT) */
	pthread_mutex_lock(&h->mu);
	while (h->workers > 0)
		pthread_cond_wait(&h->tick_cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	/* no connection may stay suspended past MHD_stop_daemon */
	wake_streams(h);
	MHD_stop_daemon(h->d);
	pthread_cond_destroy(&h->tick_cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

const char *
http_strerror(enum http_err err)
{
	switch (err) {
	case HTTP_OK:
		return "success";
	case HTTP_ERR_ADDRESS:
		return "bad listen address";
	case HTTP_ERR_START:
		return "cannot start the HTTP server";
	}
	return "unknown http error";
}
