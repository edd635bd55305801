/*
 * influxq: InfluxQL over HTTP with bound parameters; see influxq.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "influxq.h"
#include "rfc3339.h"
#include "util.h"
#include "banned.h"

#define POOL_MAX 16
#define ANSWER_MAX (64u << 20)

struct influxq {
	char *url, *db, *rp, *user, *password;
	struct curl_slist *headers;
	int64_t timeout_ms, connect_timeout_ms;
	size_t max_points;
	pthread_mutex_t mu;
	CURL *pool[POOL_MAX];
	size_t npool;
	atomic_uint_fast64_t errors[INFLUXQ_ERR_NOMEM + 1];
};

static char *
dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

struct influxq *
influxq_new(const struct influxq_conf *c)
{
	struct influxq *q = calloc(1, sizeof(*q));
	char hdr[1024];

	if (!q)
		return NULL;
	q->url = strdup(c->url);
	q->db = strdup(c->db ? c->db : "");
	q->rp = dup_or_null(c->rp);
	q->user = dup_or_null(c->user);
	q->password = dup_or_null(c->password);
	q->timeout_ms = c->timeout_ms;
	q->connect_timeout_ms = c->connect_timeout_ms;
	q->max_points = c->max_points;
	pthread_mutex_init(&q->mu, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(q->errors); i++)
		atomic_init(&q->errors[i], 0);
	/* strip a trailing slash so paths join cleanly */
	if (q->url && q->url[0] && q->url[strlen(q->url) - 1] == '/')
		q->url[strlen(q->url) - 1] = '\0';
	if (c->token && *c->token) {
		snprintf(hdr, sizeof(hdr), "Authorization: Token %s", c->token);
		q->headers = curl_slist_append(NULL, hdr);
	}
	if (!q->url || !q->db) {
		influxq_free(q);
		return NULL;
	}
	return q;
}

void
influxq_free(struct influxq *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->npool; i++)
		curl_easy_cleanup(q->pool[i]);
	curl_slist_free_all(q->headers);
	pthread_mutex_destroy(&q->mu);
	free(q->url);
	free(q->db);
	free(q->rp);
	free(q->user);
	free(q->password);
	free(q);
}

uint64_t
influxq_error_count(struct influxq *q, enum influxq_err e)
{
	if ((size_t)e >= ARRAY_SIZE(q->errors))
		return 0;
	return atomic_load(&q->errors[e]);
}

static enum influxq_err
count(struct influxq *q, enum influxq_err e)
{
	if (e != INFLUXQ_OK && e != INFLUXQ_ERR_NOT_FOUND &&
	    (size_t)e < ARRAY_SIZE(q->errors))
		atomic_fetch_add(&q->errors[e], 1);
	return e;
}

/* ---- HTTP ------------------------------------------------------------- */

static CURL *
handle_get(struct influxq *q)
{
	CURL *h = NULL;

	pthread_mutex_lock(&q->mu);
	if (q->npool)
		h = q->pool[--q->npool];
	pthread_mutex_unlock(&q->mu);
	if (!h)
		h = curl_easy_init();
	return h;
}

static void
handle_put(struct influxq *q, CURL *h, bool reuse)
{
	if (reuse) {
		pthread_mutex_lock(&q->mu);
		if (q->npool < POOL_MAX) {
			q->pool[q->npool++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&q->mu);
	}
	if (h)
		curl_easy_cleanup(h);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *cls)
{
	struct strbuf *sb = cls;

	if (strbuf_add(sb, data, size * nmemb))
		return 0;	/* aborts the transfer: CURLE_WRITE_ERROR */
	return size * nmemb;
}

/* GET base+path; body into out; *status the HTTP status. */
static enum influxq_err
http_get(struct influxq *q, const char *url, int64_t timeout_ms,
	 struct strbuf *out, long *status, char *err, size_t errsz)
{
	CURL *h = handle_get(q);
	CURLcode cc;
	bool reuse = false;
	enum influxq_err rc = INFLUXQ_ERR_UNAVAILABLE;

	*status = 0;
	if (!h) {
		snprintf(err, errsz, "curl_easy_init failed");
		return INFLUXQ_ERR_NOMEM;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(q->connect_timeout_ms < timeout_ms
					? q->connect_timeout_ms
					: timeout_ms));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (q->headers)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, q->headers);
	if (q->user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, q->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
				 q->password ? q->password : "");
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_WRITE_ERROR) {
		snprintf(err, errsz, "answer larger than %u bytes", ANSWER_MAX);
		rc = INFLUXQ_ERR_TOO_BIG;
		goto out;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errsz, "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	reuse = true;
	if (*status >= 500) {
		snprintf(err, errsz, "InfluxDB answered HTTP %ld", *status);
		goto out;
	}
	rc = INFLUXQ_OK;
out:
	handle_put(q, h, reuse);
	return rc;
}

enum influxq_err
influxq_ping(struct influxq *q, char *err, size_t errsz)
{
	struct strbuf url, body;
	long status;
	enum influxq_err rc;

	strbuf_init(&url, 0);
	strbuf_init(&body, 4096);
	if (strbuf_addf(&url, "%s/ping", q->url)) {
		rc = INFLUXQ_ERR_NOMEM;
		goto out;
	}
	rc = http_get(q, url.buf, q->timeout_ms < 2000 ? q->timeout_ms : 2000,
		      &body, &status, err, errsz);
	if (rc == INFLUXQ_OK && status != 204) {
		snprintf(err, errsz, "ping answered HTTP %ld", status);
		rc = INFLUXQ_ERR_UNAVAILABLE;
	}
out:
	strbuf_release(&url);
	strbuf_release(&body);
	return rc;
}

static int
add_escaped(struct strbuf *sb, const char *name, const char *value)
{
	char *e = curl_easy_escape(NULL, value, 0);
	int rc;

	if (!e)
		return -1;
	rc = strbuf_addf(sb, "&%s=%s", name, e);
	curl_free(e);
	return rc;
}

/*
 * Runs one SELECT; on success *series is the "series" array of the first
 * result (a new reference, or NULL when there is none) and *root the
 * document to decref.
 */
static enum influxq_err
run_query(struct influxq *q, const char *text, const char *params,
	  json_t **root, json_t **series, char *err, size_t errsz)
{
	struct strbuf url, body;
	long status;
	enum influxq_err rc = INFLUXQ_ERR_NOMEM;
	json_error_t jerr;
	json_t *results, *r0, *e;

	*root = NULL;
	*series = NULL;
	strbuf_init(&url, 0);
	strbuf_init(&body, ANSWER_MAX);
	if (strbuf_addf(&url, "%s/query?epoch=ns", q->url) ||
	    add_escaped(&url, "db", q->db) ||
	    (q->rp && add_escaped(&url, "rp", q->rp)) ||
	    add_escaped(&url, "q", text) ||
	    (params && add_escaped(&url, "params", params)))
		goto out;
	rc = http_get(q, url.buf, q->timeout_ms, &body, &status, err, errsz);
	if (rc)
		goto out;
	*root = json_loadb(body.buf ? body.buf : "", body.len, 0, &jerr);
	if (status != 200) {
		e = *root ? json_object_get(*root, "error") : NULL;
		snprintf(err, errsz, "InfluxDB answered HTTP %ld: %s", status,
			 json_is_string(e) ? json_string_value(e)
					   : "no error message");
		rc = INFLUXQ_ERR_REJECTED;
		goto out;
	}
	if (!*root) {
		snprintf(err, errsz, "answer is not JSON: %s", jerr.text);
		rc = INFLUXQ_ERR_ANSWER;
		goto out;
	}
	results = json_object_get(*root, "results");
	r0 = json_array_get(results, 0);
	if (!json_is_object(r0)) {
		snprintf(err, errsz, "answer has no results");
		rc = INFLUXQ_ERR_ANSWER;
		goto out;
	}
	/* a failed statement still comes back as HTTP 200 (FACTS §10) */
	for (size_t i = 0; i < json_array_size(results); i++) {
		e = json_object_get(json_array_get(results, i), "error");
		if (e) {
			snprintf(err, errsz, "statement failed: %s",
				 json_is_string(e) ? json_string_value(e) : "?");
			rc = INFLUXQ_ERR_STATEMENT;
			goto out;
		}
	}
	*series = json_object_get(r0, "series");
	if (*series && !json_is_array(*series)) {
		snprintf(err, errsz, "answer has a bad series");
		rc = INFLUXQ_ERR_ANSWER;
		*series = NULL;
		goto out;
	}
	rc = INFLUXQ_OK;
out:
	if (rc) {
		json_decref(*root);
		*root = NULL;
		*series = NULL;
	}
	strbuf_release(&url);
	strbuf_release(&body);
	return rc;
}

/* Appends the JSON of a time value (ns integer) as an RFC 3339 string. */
static int
add_time(struct strbuf *out, json_t *t)
{
	char buf[RFC3339_MAX];

	if (!json_is_integer(t))
		return strbuf_addstr(out, "null");
	rfc3339_format((int64_t)json_integer_value(t), buf);
	return strbuf_addf(out, "\"%s\"", buf);
}

static int
add_value(struct strbuf *out, json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT |
				       JSON_REAL_PRECISION(17));
	int rc;

	if (!s)
		return strbuf_addstr(out, "null");
	rc = strbuf_addstr(out, s);
	free(s);
	return rc;
}

/* Appends "fields":{...} from one row of a series (nulls skipped). */
static int
add_fields(struct strbuf *out, json_t *columns, json_t *row)
{
	bool first = true;

	if (strbuf_addstr(out, "\"fields\":{"))
		return -1;
	for (size_t i = 1; i < json_array_size(columns); i++) {
		json_t *name = json_array_get(columns, i);
		json_t *v = json_array_get(row, i);

		if (!json_is_string(name) || !v || json_is_null(v))
			continue;
		if ((!first && strbuf_addch(out, ',')) ||
		    strbuf_add_json_str(out, json_string_value(name),
					json_string_length(name)) ||
		    strbuf_addch(out, ':') || add_value(out, v))
			return -1;
		first = false;
	}
	return strbuf_addch(out, '}');
}

/*
 * influx-sink --kind alerts writes alert events into the same database as
 * measurement "alerts", tagged with sensor_id: they are not readings, so
 * the sensor routes skip that series.
 */
static bool
is_alert_series(json_t *series)
{
	json_t *name = json_object_get(series, "name");

	return json_is_string(name) &&
	       strcmp(json_string_value(name), "alerts") == 0;
}

enum influxq_err
influxq_sensors(struct influxq *q, struct strbuf *out, char *err,
		size_t errsz)
{
	json_t *root, *series, *s;
	size_t i;
	bool first = true;
	enum influxq_err rc;

	rc = run_query(q,
		       "SELECT *::field FROM /.*/ GROUP BY \"sensor_id\" "
		       "ORDER BY time DESC LIMIT 1",
		       NULL, &root, &series, err, errsz);
	if (rc)
		return count(q, rc);
	rc = INFLUXQ_ERR_NOMEM;
	if (strbuf_addstr(out, "{\"items\":["))
		goto out;
	json_array_foreach(series, i, s) {
		json_t *id = json_object_get(json_object_get(s, "tags"),
					     "sensor_id");
		json_t *name = json_object_get(s, "name");
		json_t *cols = json_object_get(s, "columns");
		json_t *row = json_array_get(json_object_get(s, "values"), 0);

		if (!json_is_string(id) || json_string_length(id) == 0 ||
		    !json_is_string(name) || !json_is_array(row) ||
		    is_alert_series(s))
			continue;	/* no sensor_id tag, or alert events */
		if ((!first && strbuf_addch(out, ',')) ||
		    strbuf_addstr(out, "{\"sensor_id\":") ||
		    strbuf_add_json_str(out, json_string_value(id),
					json_string_length(id)) ||
		    strbuf_addstr(out, ",\"measurement\":") ||
		    strbuf_add_json_str(out, json_string_value(name),
					json_string_length(name)) ||
		    strbuf_addstr(out, ",\"last_seen\":") ||
		    add_time(out, json_array_get(row, 0)) ||
		    strbuf_addch(out, ',') || add_fields(out, cols, row) ||
		    strbuf_addch(out, '}'))
			goto out;
		first = false;
	}
	if (strbuf_addstr(out, "]}"))
		goto out;
	rc = INFLUXQ_OK;
out:
	json_decref(root);
	if (rc == INFLUXQ_ERR_NOMEM)
		snprintf(err, errsz, "answer too large");
	return count(q, rc);
}

static int
params_sensor(struct strbuf *params, const char *sensor_id)
{
	return strbuf_addstr(params, "{\"sensor\":") ||
	       strbuf_add_json_str(params, sensor_id, strlen(sensor_id)) ||
	       strbuf_addch(params, '}');
}

enum influxq_err
influxq_sensor(struct influxq *q, const char *sensor_id, struct strbuf *out,
	       char *err, size_t errsz)
{
	struct strbuf params;
	json_t *root = NULL, *series, *s, *best = NULL;
	json_int_t best_t = 0;
	size_t i;
	enum influxq_err rc = INFLUXQ_ERR_NOMEM;

	strbuf_init(&params, 0);
	if (params_sensor(&params, sensor_id))
		goto out;
	rc = run_query(q,
		       "SELECT *::field FROM /.*/ WHERE \"sensor_id\" = $sensor "
		       "GROUP BY * ORDER BY time DESC LIMIT 1",
		       params.buf, &root, &series, err, errsz);
	if (rc)
		goto out;
	json_array_foreach(series, i, s) {
		json_t *row = json_array_get(json_object_get(s, "values"), 0);
		json_t *t = json_array_get(row, 0);

		if (json_is_integer(t) && !is_alert_series(s) &&
		    (!best || json_integer_value(t) > best_t)) {
			best = s;
			best_t = json_integer_value(t);
		}
	}
	if (!best) {
		snprintf(err, errsz, "no readings of sensor");
		rc = INFLUXQ_ERR_NOT_FOUND;
		goto out;
	}
	rc = INFLUXQ_ERR_NOMEM;
	{
		json_t *row = json_array_get(json_object_get(best, "values"), 0);
		json_t *tags = json_object_get(best, "tags");
		json_t *name = json_object_get(best, "name");
		const char *k;
		json_t *v;
		bool first = true;

		if (strbuf_addstr(out, "{\"time\":") ||
		    add_time(out, json_array_get(row, 0)) ||
		    strbuf_addstr(out, ",\"measurement\":") ||
		    add_value(out, name) || strbuf_addstr(out, ",\"tags\":{"))
			goto out;
		json_object_foreach(tags, k, v) {
			/* GROUP BY * gives "" for tags this series lacks */
			if (!json_is_string(v) || json_string_length(v) == 0)
				continue;
			if ((!first && strbuf_addch(out, ',')) ||
			    strbuf_add_json_str(out, k, strlen(k)) ||
			    strbuf_addch(out, ':') || add_value(out, v))
				goto out;
			first = false;
		}
		if (strbuf_addstr(out, "},") ||
		    add_fields(out, json_object_get(best, "columns"), row) ||
		    strbuf_addch(out, '}'))
			goto out;
	}
	rc = INFLUXQ_OK;
out:
	json_decref(root);
	strbuf_release(&params);
	return count(q, rc);
}

enum influxq_err
influxq_readings(struct influxq *q, const char *sensor_id,
		 const struct influxq_range *r, struct strbuf *out, char *err,
		 size_t errsz)
{
	struct strbuf text, params;
	json_t *root = NULL, *series, *s, *values = NULL, *row;
	const char *meas = r->measurement;
	size_t i, n = 0;
	bool truncated = false;
	char every[24], t0[RFC3339_MAX], t1[RFC3339_MAX];
	enum influxq_err rc = INFLUXQ_ERR_NOMEM;

	strbuf_init(&text, 0);
	strbuf_init(&params, 0);
	if (influxq_build_readings(r, q->max_points, sensor_id, &text, &params))
		goto out;
	rc = run_query(q, text.buf, params.buf, &root, &series, err, errsz);
	if (rc)
		goto out;
	/* over every measurement: the first series holding the field */
	json_array_foreach(series, i, s) {
		values = json_object_get(s, "values");
		if (json_array_size(values)) {
			if (!*meas && json_is_string(json_object_get(s, "name")))
				meas = json_string_value(
					json_object_get(s, "name"));
			break;
		}
		values = NULL;
	}
	rc = INFLUXQ_ERR_NOMEM;
	influxq_format_every(r->every_ms, every);
	rfc3339_format(r->start_ns, t0);
	rfc3339_format(r->end_ns, t1);
	if (strbuf_addstr(out, "{\"sensor_id\":") ||
	    strbuf_add_json_str(out, sensor_id, strlen(sensor_id)) ||
	    strbuf_addstr(out, ",\"measurement\":") ||
	    (*meas ? strbuf_add_json_str(out, meas, strlen(meas))
		   : strbuf_addstr(out, "null")) ||
	    strbuf_addstr(out, ",\"field\":") ||
	    strbuf_add_json_str(out, r->field, strlen(r->field)) ||
	    strbuf_addf(out,
			",\"agg\":\"%s\",\"every\":\"%s\",\"start\":\"%s\","
			"\"end\":\"%s\",\"points\":[",
			influxq_agg_name(r->agg), every, t0, t1))
		goto out;
	json_array_foreach(values, i, row) {
		if (n == q->max_points) {
			truncated = true;
			break;
		}
		if ((n && strbuf_addch(out, ',')) || strbuf_addch(out, '[') ||
		    add_time(out, json_array_get(row, 0)) ||
		    strbuf_addch(out, ',') ||
		    add_value(out, json_array_get(row, 1)) ||
		    strbuf_addch(out, ']'))
			goto out;
		n++;
	}
	if (strbuf_addf(out, "],\"truncated\":%s}",
			truncated ? "true" : "false"))
		goto out;
	rc = INFLUXQ_OK;
out:
	if (rc == INFLUXQ_ERR_NOMEM)
		snprintf(err, errsz, "out of memory building the answer");
	json_decref(root);
	strbuf_release(&text);
	strbuf_release(&params);
	return count(q, rc);
}

/* ---- validation and query text ---------------------------------------- */

static const char *const agg_names[] = {"mean", "min", "max", "last", "count"};

const char *
influxq_agg_name(enum influxq_agg agg)
{
	if ((size_t)agg < ARRAY_SIZE(agg_names))
		return agg_names[agg];
	return "mean";
}

int
influxq_parse_agg(const char *s, enum influxq_agg *agg, const char **why)
{
	for (size_t i = 0; i < ARRAY_SIZE(agg_names); i++) {
		if (strcmp(s, agg_names[i]) == 0) {
			*agg = (enum influxq_agg)i;
			return 0;
		}
	}
	*why = "must be one of mean, min, max, last, count";
	return -1;
}

/* "N<unit>": N of 1 to 6 digits; unit from the table. -1 if malformed. */
static int
parse_span(const char *s, bool weeks, int64_t *ms)
{
	int64_t n = 0;
	size_t d = 0;

	while (s[d] >= '0' && s[d] <= '9') {
		if (d == 6)
			return -1;
		n = n * 10 + (s[d] - '0');
		d++;
	}
	if (d == 0)
		return -1;
	s += d;
	if (strcmp(s, "ms") == 0)
		*ms = n;
	else if (strcmp(s, "s") == 0)
		*ms = n * 1000;
	else if (strcmp(s, "m") == 0)
		*ms = n * 60000;
	else if (strcmp(s, "h") == 0)
		*ms = n * 3600000;
	else if (strcmp(s, "d") == 0)
		*ms = n * 86400000;
	else if (weeks && strcmp(s, "w") == 0)
		*ms = n * 604800000;
	else
		return -1;
	return 0;
}

int
influxq_parse_time(const char *s, int64_t now_ns, int64_t *ns,
		   const char **why)
{
	int64_t ms;
	const char *w = NULL;

	if (strcmp(s, "now") == 0) {
		*ns = now_ns;
		return 0;
	}
	if (s[0] == '-') {
		if (parse_span(s + 1, true, &ms)) {
			*why = "relative time must be -N followed by ms, s, m, h, d or w";
			return -1;
		}
		/*
		 * Up to 999999 weeks back is more than int64 nanoseconds hold:
		 * "-999999w" overflowed (undefined behaviour, a wrapped time).
		 */
		if (__builtin_mul_overflow(ms, (int64_t)1000000, ns) ||
		    __builtin_sub_overflow(now_ns, *ns, ns)) {
			*why = "relative time out of range";
			return -1;
		}
		return 0;
	}
	if (strlen(s) > 64 || rfc3339_parse_why(s, strlen(s), ns, &w)) {
		*why = "must be RFC 3339 (2026-11-26T04:00:00Z), now, or relative (-1h)";
		return -1;
	}
	return 0;
}

int
influxq_parse_every(const char *s, int64_t *ms, const char **why)
{
	if (parse_span(s, false, ms) || *ms < 1 || *ms > 365LL * 86400000) {
		*why = "must be N followed by ms, s, m, h or d (1ms to 365d)";
		return -1;
	}
	return 0;
}

int
influxq_check_name(const char *s, const char **why)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128) {
		*why = "must be 1 to 128 characters";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-' || c == ':')) {
			*why = "may hold only letters, digits, '_', '.', '-' and ':'";
			return -1;
		}
	}
	return 0;
}

int
influxq_check_id(const char *s, const char **why)
{
	size_t n = strlen(s);

	if (n == 0 || n > 256) {
		*why = "must be 1 to 256 bytes";
		return -1;
	}
	if (!utf8_valid(s, n)) {
		*why = "must be valid UTF-8";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			*why = "must not hold control characters";
			return -1;
		}
	}
	return 0;
}

void
influxq_format_every(int64_t ms, char *buf)
{
	if (ms % 86400000 == 0)
		snprintf(buf, 24, "%" PRId64 "d", ms / 86400000);
	else if (ms % 3600000 == 0)
		snprintf(buf, 24, "%" PRId64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, 24, "%" PRId64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, 24, "%" PRId64 "s", ms / 1000);
	else
		snprintf(buf, 24, "%" PRId64 "ms", ms);
}

/* Appends "name" with " and \ escaped (names are checked before anyway). */
static int
add_ident(struct strbuf *sb, const char *name)
{
	if (strbuf_addch(sb, '"'))
		return -1;
	for (const char *p = name; *p; p++) {
		if ((*p == '"' || *p == '\\') && strbuf_addch(sb, '\\'))
			return -1;
		if (strbuf_addch(sb, *p))
			return -1;
	}
	return strbuf_addch(sb, '"');
}

int
influxq_build_readings(const struct influxq_range *r, size_t max_points,
		       const char *sensor_id, struct strbuf *query,
		       struct strbuf *params)
{
	const char *why;

	if (influxq_check_name(r->field, &why) ||
	    (r->measurement[0] && influxq_check_name(r->measurement, &why)) ||
	    influxq_check_id(sensor_id, &why) || r->every_ms < 1 ||
	    r->end_ns <= r->start_ns) {
		errno = EINVAL;
		return -1;
	}
	if (strbuf_addf(query, "SELECT %s(", influxq_agg_name(r->agg)) ||
	    add_ident(query, r->field) || strbuf_addstr(query, ") FROM "))
		return -1;
	if (r->measurement[0] ? add_ident(query, r->measurement)
			      : strbuf_addstr(query, "/.*/"))
		return -1;
	/* one point more than the cap tells a truncated answer apart */
	if (strbuf_addf(query,
			" WHERE \"sensor_id\" = $sensor AND time >= %" PRId64
			" AND time < %" PRId64 " GROUP BY time(%" PRId64
			"ms) fill(none) LIMIT %zu",
			r->start_ns, r->end_ns, r->every_ms, max_points + 1))
		return -1;
	return params_sensor(params, sensor_id);
}

const char *
influxq_strerror(enum influxq_err err)
{
	switch (err) {
	case INFLUXQ_OK:
		return "success";
	case INFLUXQ_ERR_UNAVAILABLE:
		return "InfluxDB unavailable";
	case INFLUXQ_ERR_STATEMENT:
		return "InfluxDB statement error";
	case INFLUXQ_ERR_REJECTED:
		return "InfluxDB rejected the query";
	case INFLUXQ_ERR_ANSWER:
		return "unexpected answer from InfluxDB";
	case INFLUXQ_ERR_NOT_FOUND:
		return "no such sensor";
	case INFLUXQ_ERR_TOO_BIG:
		return "answer too large";
	case INFLUXQ_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown influxq error";
}
