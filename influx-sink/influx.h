/*
 * influx: the HTTP side of influx-sink, the only user of libcurl here:
 * one client (one easy handle, kept alive) per writer thread posts line
 * protocol to InfluxDB 1.x (/write) or 2.x/3.x (/api/v2/write), gzips the
 * body with zlib, creates the 1.x database, and turns every answer into one
 * enum influx_err that says what the caller should do about it.
 * Owns: the curl handle, header list, URLs, the gzip stream and buffers.
 * Never logs, retries or sleeps; the caller decides (see sink.c).
 */
#ifndef SENSORPIPE_INFLUX_H
#define SENSORPIPE_INFLUX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lineproto.h"

enum influx_api {
	INFLUX_API_V1 = 0,	/* InfluxDB 1.x: /write?db=&rp=, user/password */
	INFLUX_API_V2,		/* 2.x, 3.x: /api/v2/write?org=&bucket=, token */
};

/*
 * The outcome of one request, grouped by what to do next:
 *   retry with backoff (honouring Retry-After):  NETWORK TIMEOUT SERVER
 *                                                THROTTLED
 *   split the batch:                             POINTS TOO_LARGE
 *   fix the server side, retry at the longest delay: AUTH NOT_FOUND REQUEST
 */
enum influx_err {
	INFLUX_OK = 0,
	INFLUX_ERR_NETWORK,	/* cannot connect, connection lost */
	INFLUX_ERR_TIMEOUT,	/* INFLUX_TIMEOUT / INFLUX_CONNECT_TIMEOUT passed */
	INFLUX_ERR_SERVER,	/* 5xx other than 503 (500 unknown rp, ...) */
	INFLUX_ERR_THROTTLED,	/* 429 or 503 */
	INFLUX_ERR_POINTS,	/* 400/422: some points were refused */
	INFLUX_ERR_TOO_LARGE,	/* 413: the body is over the server's limit */
	INFLUX_ERR_AUTH,	/* 401 or 403 */
	INFLUX_ERR_NOT_FOUND,	/* 404: database, bucket or org missing */
	INFLUX_ERR_REQUEST,	/* another 4xx, a bad URL or TLS certificate:
				 * the request is wrong (configuration) */
	INFLUX_ERR_ABORTED,	/* the abort flag was raised mid-request */
	INFLUX_ERR_NOMEM,
	INFLUX_ERR_CURL,	/* libcurl or zlib refused to set up */
};

struct influx_target {
	const char *url;		/* base URL, e.g. http://127.0.0.1:8086 */
	enum influx_api api;
	const char *db, *rp;		/* v1; rp may be NULL or "" */
	const char *username, *password;	/* v1, optional (Basic auth) */
	const char *token, *org, *bucket;	/* v2 */
	enum lineproto_precision precision;
	bool gzip;
	int64_t timeout_ms;		/* whole request */
	int64_t connect_timeout_ms;
};

struct influx_result {
	long status;			/* HTTP status, 0 when none */
	int64_t retry_after_ms;		/* -1: no usable Retry-After */
	int64_t elapsed_ms;
	size_t body_bytes;		/* bytes sent (after gzip) */
	bool new_connection;		/* this request opened a connection */
	char message[512];		/* the server's error text or curl's */
};

struct influx_client;

/* Once per process, before any thread starts; pairs with cleanup. */
enum influx_err influx_global_init(void);
void influx_global_cleanup(void);

/*
 * A client for target (the strings are copied). abort_flag (may be NULL):
 * when it becomes non-zero, a request in progress stops with
 * INFLUX_ERR_ABORTED within about a second.
 */
enum influx_err influx_client_new(struct influx_client **c,
				  const struct influx_target *t,
				  const atomic_int *abort_flag);
void influx_client_free(struct influx_client *c);

/* Posts body (line protocol, '\n'-separated points) once. */
enum influx_err influx_write(struct influx_client *c, const char *body,
			     size_t len, struct influx_result *res);

/* v1: POST /query q=CREATE DATABASE "db" (a no-op when it exists). */
enum influx_err influx_create_db(struct influx_client *c,
				 struct influx_result *res);

/* The URL writes go to, for logs (no credentials in it). */
const char *influx_write_url(const struct influx_client *c);

/*
 * The precision query parameter: 1.x wants n, u, ms, s (it reads any other
 * name, "us" included, as nanoseconds); 2.x wants ns, us, ms, s.
 */
const char *influx_precision_param(enum influx_api api,
				   enum lineproto_precision p);

/* What an HTTP answer means; message is the server's error text. */
enum influx_err influx_classify(long status, const char *message);

/*
 * Retry-After as libcurl reports it (seconds; libcurl 7.88 gives a large
 * negative value for a date in the past) to a delay in ms: -1 when absent
 * (0) or negative, else at most max_ms.
 */
int64_t influx_retry_after_ms(int64_t seconds, int64_t max_ms);

/*
 * The error text of an answer body: "error" (1.x) or "message" (2.x) of a
 * JSON object, else the body itself; one line, at most size - 1 bytes.
 */
void influx_error_text(const char *body, size_t len, char *out, size_t size);

const char *influx_strerror(enum influx_err err);

#endif
