/*
 * influxq: reads sensor data from InfluxDB 1.x over GET /query (InfluxQL),
 * and checks every request parameter before a query is built.
 * Owns: a pool of libcurl handles (kept for connection reuse) and the
 * error counters. The only libcurl user of alert-api.
 * Never logs or exits; returns enum influxq_err with a message in err[].
 *
 * No input ever becomes query text unchecked: the sensor id travels as a
 * bound parameter (`"sensor_id" = $sensor` with params={"sensor":...}); the
 * field and measurement names must match [A-Za-z0-9_.:-]{1,128} and are
 * double-quoted anyway; times, every and limits are numbers this module
 * formats itself; agg is one of five words.
 */
#ifndef ALERT_API_INFLUXQ_H
#define ALERT_API_INFLUXQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum influxq_err {
	INFLUXQ_OK = 0,
	INFLUXQ_ERR_UNAVAILABLE,	/* cannot connect, timed out, or 5xx */
	INFLUXQ_ERR_STATEMENT,		/* 200 with an "error" in a result */
	INFLUXQ_ERR_REJECTED,		/* 4xx: the query or the credentials */
	INFLUXQ_ERR_ANSWER,		/* the answer is not the JSON expected */
	INFLUXQ_ERR_NOT_FOUND,		/* no data for that sensor */
	INFLUXQ_ERR_TOO_BIG,		/* the answer passed its cap */
	INFLUXQ_ERR_NOMEM,
};

enum influxq_agg {
	INFLUXQ_MEAN,
	INFLUXQ_MIN,
	INFLUXQ_MAX,
	INFLUXQ_LAST,
	INFLUXQ_COUNT,
};

struct influxq_conf {
	const char *url;	/* base, e.g. http://127.0.0.1:8086 */
	const char *db;
	const char *rp;		/* may be NULL */
	const char *user, *password;	/* may be NULL */
	const char *token;	/* "Authorization: Token" (2.x), may be NULL */
	int64_t timeout_ms, connect_timeout_ms;
	size_t max_points;
};

/* A checked /sensors/{id}/readings request. */
struct influxq_range {
	char field[129];
	char measurement[129];	/* "" for every measurement */
	int64_t start_ns, end_ns;	/* start <= time < end */
	int64_t every_ms;
	enum influxq_agg agg;
};

struct influxq;

/* NULL when memory ran out. The strings are copied. */
struct influxq *influxq_new(const struct influxq_conf *conf);
void influxq_free(struct influxq *q);

/* GET /ping within min(timeout, 2 s): OK on 204. */
enum influxq_err influxq_ping(struct influxq *q, char *err, size_t errsz);

/* {"items":[{"sensor_id","measurement","last_seen","fields":{...}}...]} */
enum influxq_err influxq_sensors(struct influxq *q, struct strbuf *out,
				 char *err, size_t errsz);
/* The latest reading of the sensor, as a reading record; NOT_FOUND if none. */
enum influxq_err influxq_sensor(struct influxq *q, const char *sensor_id,
				struct strbuf *out, char *err, size_t errsz);
/* {"sensor_id","measurement","field","agg","every","start","end",
 *  "points":[[time,value]...],"truncated":bool} */
enum influxq_err influxq_readings(struct influxq *q, const char *sensor_id,
				  const struct influxq_range *r,
				  struct strbuf *out, char *err, size_t errsz);

/* Queries that failed, by influxq_err (index INFLUXQ_ERR_*). */
uint64_t influxq_error_count(struct influxq *q, enum influxq_err e);

/* ---- validation (pure; exposed for tests) ---------------------------- */

/*
 * Parameter checks: 0 on success, else -1 with *why a static phrase.
 * time: RFC 3339, "now", or "-N<unit>" relative to now_ns (unit ms s m h d
 * w, N up to 6 digits). every: "N<unit>" with unit ms s m h d, 1 ms..365 d.
 * name: [A-Za-z0-9_.:-], 1 to 128 bytes. id: valid UTF-8, 1 to 256 bytes,
 * no control characters.
 */
int influxq_parse_time(const char *s, int64_t now_ns, int64_t *ns,
		       const char **why);
int influxq_parse_every(const char *s, int64_t *ms, const char **why);
int influxq_parse_agg(const char *s, enum influxq_agg *agg, const char **why);
int influxq_check_name(const char *s, const char **why);
int influxq_check_id(const char *s, const char **why);
const char *influxq_agg_name(enum influxq_agg agg);
/* "90s", "1m", "250ms": the shortest exact form of ms. buf of 24 bytes. */
void influxq_format_every(int64_t ms, char *buf);

/* Builds the InfluxQL text and the params JSON of a readings query. */
int influxq_build_readings(const struct influxq_range *r, size_t max_points,
			   const char *sensor_id, struct strbuf *query,
			   struct strbuf *params);

const char *influxq_strerror(enum influxq_err err);

#endif
