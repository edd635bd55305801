/*
 * influx: HTTP writes to InfluxDB with libcurl (see influx.h).
 *
 * One easy handle per client, options set once, so libcurl keeps the
 * connection alive between requests. libcurl never compresses request
 * bodies: the body is gzipped here with zlib (windowBits 15 + 16 writes the
 * gzip wrapper) at level 1, which shrinks line protocol about five times at
 * a fraction of the cost of the default level. "Expect:" is cleared so that
 * a large POST does not wait for a "100 Continue" the server never sends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <zlib.h>

#include "influx.h"
#include "util.h"
#include "banned.h"

#define INFLUX_MAX_RESPONSE (64 * 1024)
#define INFLUX_GZIP_LEVEL 1

struct influx_client {
	CURL *curl;
	struct curl_slist *headers;
	char *write_url;
	char *query_url;
	char *db;
	enum influx_api api;
	bool gzip;
	const atomic_int *abort_flag;
	z_stream zs;
	bool zs_ready;
	unsigned char *zbuf;
	size_t zcap;
	struct strbuf response;
	char errbuf[CURL_ERROR_SIZE];
};

enum influx_err
influx_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ?
		INFLUX_OK : INFLUX_ERR_CURL;
}

void
influx_global_cleanup(void)
{
	curl_global_cleanup();
}

const char *
influx_precision_param(enum influx_api api, enum lineproto_precision p)
{
	switch (p) {
	case LINEPROTO_NS:
		return api == INFLUX_API_V1 ? "n" : "ns";
	case LINEPROTO_US:
		return api == INFLUX_API_V1 ? "u" : "us";
	case LINEPROTO_MS:
		return "ms";
	case LINEPROTO_S:
		return "s";
	}
	return api == INFLUX_API_V1 ? "n" : "ns";
}

static bool
influx_contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

enum influx_err
influx_classify(long status, const char *message)
{
	/* 1.x and 2.x messages that mean the points themselves are bad */
	static const char *const point_errors[] = {
		"partial write", "unable to parse", "field type conflict",
		"invalid field", "invalid tag", "invalid number",
		"invalid boolean", "beyond retention", "max-values-per-tag",
		"max-series-per-database", "missing field", "missing tag",
		"bad timestamp", "time outside range", "invalid field format",
	};
	/* ... and messages about the request as a whole */
	static const char *const request_errors[] = {
		"database is required", "invalid precision", "is required",
		"organization", "bucket", "authoriz", "unsupported",
	};

	if (status >= 200 && status < 300)
		return INFLUX_OK;
	switch (status) {
	case 401:
	case 403:
		return INFLUX_ERR_AUTH;
	case 404:
		return INFLUX_ERR_NOT_FOUND;
	case 413:
		return INFLUX_ERR_TOO_LARGE;
	case 429:
	case 503:
		return INFLUX_ERR_THROTTLED;
	case 408:
		return INFLUX_ERR_TIMEOUT;
	case 400:
	case 422:
		for (size_t i = 0; i < ARRAY_SIZE(point_errors); i++)
			if (influx_contains(message, point_errors[i]))
				return INFLUX_ERR_POINTS;
		for (size_t i = 0; i < ARRAY_SIZE(request_errors); i++)
			if (influx_contains(message, request_errors[i]))
				return INFLUX_ERR_REQUEST;
		/* a 400 is about the body unless it says otherwise */
		return INFLUX_ERR_POINTS;
	default:
		break;
	}
	if (status >= 500)
		return INFLUX_ERR_SERVER;
	return INFLUX_ERR_REQUEST;
}

int64_t
influx_retry_after_ms(int64_t seconds, int64_t max_ms)
{
	if (seconds <= 0)
		return -1;
	if (seconds > max_ms / 1000)
		return max_ms;
	return seconds * 1000;
}

/* Copies s into out as one printable line. */
static void
influx_one_line(const char *s, size_t len, char *out, size_t size)
{
	size_t n = 0;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
			   s[len - 1] == ' '))
		len--;
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		out[n++] = c < 0x20 ? ' ' : (char)c;
	}
	/* do not leave half a UTF-8 sequence at the cut */
	if (n < len) {
		size_t k = n;

		while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0) {
			unsigned char lead = (unsigned char)out[k - 1];
			size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 :
				      lead >= 0xC0 ? 2 : 1;

			if (n - (k - 1) < need)
				n = k - 1;
		}
	}
	if (size > 0)
		out[n] = '\0';
}

void
influx_error_text(const char *body, size_t len, char *out, size_t size)
{
	json_t *root, *msg;
	json_error_t jerr;

	if (size == 0)
		return;
	out[0] = '\0';
	if (!body || len == 0)
		return;
	root = json_loadb(body, len, 0, &jerr);
	if (root && json_is_object(root)) {
		msg = json_object_get(root, "error");
		if (!json_is_string(msg))
			msg = json_object_get(root, "message");
		if (json_is_string(msg)) {
			influx_one_line(json_string_value(msg),
					json_string_length(msg), out, size);
			json_decref(root);
			return;
		}
	}
	json_decref(root);
	influx_one_line(body, len, out, size);
}

static size_t
influx_on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct influx_client *c = userdata;
	size_t n = size * nmemb;
	size_t room = INFLUX_MAX_RESPONSE - c->response.len;

	/* keep the head of a long answer; the rest is read and dropped */
	if (room > 0)
		strbuf_add(&c->response, ptr, n < room ? n : room);
	return n;
}

static int
influx_on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
		   curl_off_t ultotal, curl_off_t ulnow)
{
	struct influx_client *c = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return c->abort_flag && atomic_load(c->abort_flag) ? 1 : 0;
}

/* base + path, without a doubled '/'. */
static char *
influx_join(const char *base, const char *path, struct strbuf *sb)
{
	size_t blen = strlen(base);

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	strbuf_reset(sb);
	if (strbuf_add(sb, base, blen) || strbuf_addstr(sb, path))
		return NULL;
	return strdup(sb->buf);
}

static int
influx_add_param(CURL *curl, struct strbuf *sb, const char *name,
		 const char *value, bool first)
{
	char *esc;
	int rc;

	esc = curl_easy_escape(curl, value ? value : "", 0);
	if (!esc)
		return -1;
	rc = strbuf_addf(sb, "%s%s=%s", first ? "?" : "&", name, esc);
	curl_free(esc);
	return rc;
}

static char *
influx_build_write_url(CURL *curl, const struct influx_target *t)
{
	struct strbuf sb;
	size_t blen = strlen(t->url);
	char *url = NULL;
	int rc;

	strbuf_init(&sb, 0);
	while (blen > 0 && t->url[blen - 1] == '/')
		blen--;
	rc = strbuf_add(&sb, t->url, blen);
	if (t->api == INFLUX_API_V1) {
		rc = rc ? rc : strbuf_addstr(&sb, "/write");
		rc = rc ? rc : influx_add_param(curl, &sb, "db", t->db, true);
		if (t->rp && t->rp[0])
			rc = rc ? rc : influx_add_param(curl, &sb, "rp", t->rp,
							false);
	} else {
		rc = rc ? rc : strbuf_addstr(&sb, "/api/v2/write");
		rc = rc ? rc : influx_add_param(curl, &sb, "org", t->org, true);
		rc = rc ? rc : influx_add_param(curl, &sb, "bucket", t->bucket,
						false);
	}
	rc = rc ? rc : influx_add_param(curl, &sb, "precision",
					influx_precision_param(t->api,
							       t->precision),
					false);
	if (!rc)
		url = strdup(sb.buf);
	strbuf_release(&sb);
	return url;
}

enum influx_err
influx_client_new(struct influx_client **cp, const struct influx_target *t,
		  const atomic_int *abort_flag)
{
	struct influx_client *c;
	struct strbuf sb;
	enum influx_err rc = INFLUX_ERR_NOMEM;
	struct curl_slist *h;

	*cp = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return INFLUX_ERR_NOMEM;
	strbuf_init(&sb, 0);
	strbuf_init(&c->response, INFLUX_MAX_RESPONSE);
	c->api = t->api;
	c->gzip = t->gzip;
	c->abort_flag = abort_flag;
	c->curl = curl_easy_init();
	if (!c->curl) {
		rc = INFLUX_ERR_CURL;
		goto out;
	}
	c->write_url = influx_build_write_url(c->curl, t);
	c->query_url = influx_join(t->url, "/query", &sb);
	c->db = strdup(t->db ? t->db : "");
	if (!c->write_url || !c->query_url || !c->db)
		goto out;
	h = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8");
	c->headers = h;
	if (h)
		h = curl_slist_append(c->headers, "Expect:");
	if (h && t->gzip)
		h = curl_slist_append(c->headers, "Content-Encoding: gzip");
	if (h && t->api == INFLUX_API_V2 && t->token && t->token[0]) {
		strbuf_reset(&sb);
		if (strbuf_addf(&sb, "Authorization: Token %s", t->token))
			goto out;
		h = curl_slist_append(c->headers, sb.buf);
	}
	if (!h)
		goto out;
	if (t->gzip) {
		if (deflateInit2(&c->zs, INFLUX_GZIP_LEVEL, Z_DEFLATED, 15 + 16,
				 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			rc = INFLUX_ERR_CURL;
			goto out;
		}
		c->zs_ready = true;
	}
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)t->connect_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, influx_on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, influx_on_progress);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT,
			 "sensorpipe-influx-sink/" SENSORPIPE_VERSION);
	if (t->api == INFLUX_API_V1 && t->username && t->username[0]) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->curl, CURLOPT_USERNAME, t->username);
		curl_easy_setopt(c->curl, CURLOPT_PASSWORD,
				 t->password ? t->password : "");
	}
	*cp = c;
	c = NULL;
	rc = INFLUX_OK;
out:
	strbuf_release(&sb);
	influx_client_free(c);
	return rc;
}

void
influx_client_free(struct influx_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	if (c->zs_ready)
		deflateEnd(&c->zs);
	free(c->zbuf);
	free(c->write_url);
	free(c->query_url);
	free(c->db);
	strbuf_release(&c->response);
	free(c);
}

const char *
influx_write_url(const struct influx_client *c)
{
	return c->write_url;
}

/* Gzips body into c->zbuf; returns the compressed length or 0. */
static size_t
influx_gzip(struct influx_client *c, const char *body, size_t len)
{
	uLong bound;

	if (len > (size_t)UINT32_MAX / 2)
		return 0;
	bound = deflateBound(&c->zs, (uLong)len) + 32;
	if (bound > c->zcap) {
		unsigned char *nb = realloc(c->zbuf, bound);

		if (!nb)
			return 0;
		c->zbuf = nb;
		c->zcap = bound;
	}
	if (deflateReset(&c->zs) != Z_OK)
		return 0;
	c->zs.next_in = (z_const Bytef *)body;
	c->zs.avail_in = (uInt)len;
	c->zs.next_out = c->zbuf;
	c->zs.avail_out = (uInt)c->zcap;
	/* the output has room for the bound: one call finishes the stream */
	if (deflate(&c->zs, Z_FINISH) != Z_STREAM_END)
		return 0;
	return (size_t)(c->zs.next_out - c->zbuf);
}

static enum influx_err
influx_from_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return INFLUX_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return INFLUX_ERR_TIMEOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return INFLUX_ERR_ABORTED;
	case CURLE_OUT_OF_MEMORY:
		return INFLUX_ERR_NOMEM;
	/* waiting will not fix these: someone must fix the URL or TLS set-up */
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
		return INFLUX_ERR_REQUEST;
	default:
		return INFLUX_ERR_NETWORK;
	}
}

/* Runs the request prepared on c->curl and fills res. */
static enum influx_err
influx_perform(struct influx_client *c, const char *url, const char *body,
	       size_t len, struct influx_result *res)
{
	CURLcode cc;
	curl_off_t retry_after = 0;
	long connects = 0;
	int64_t t0 = time_mono_ms();
	enum influx_err rc;

	memset(res, 0, sizeof(*res));
	res->retry_after_ms = -1;
	res->body_bytes = len;
	strbuf_reset(&c->response);
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(c->curl);
	res->elapsed_ms = time_mono_ms() - t0;
	curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects);
	res->new_connection = connects > 0;
	if (cc != CURLE_OK) {
		rc = influx_from_curl(cc);
		snprintf(res->message, sizeof(res->message), "%s",
			 c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
		return rc;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &res->status);
	curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry_after);
	res->retry_after_ms = influx_retry_after_ms((int64_t)retry_after,
						    INT64_MAX);
	if (res->status >= 300 || res->status < 200) {
		influx_error_text(c->response.buf, c->response.len,
				  res->message, sizeof(res->message));
		if (!res->message[0])
			snprintf(res->message, sizeof(res->message),
				 "HTTP status %ld", res->status);
	}
	return influx_classify(res->status, res->message);
}

enum influx_err
influx_write(struct influx_client *c, const char *body, size_t len,
	     struct influx_result *res)
{
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	if (c->gzip) {
		size_t zlen = influx_gzip(c, body, len);

		if (zlen == 0) {
			memset(res, 0, sizeof(*res));
			res->retry_after_ms = -1;
			snprintf(res->message, sizeof(res->message),
				 "cannot gzip the body");
			return INFLUX_ERR_NOMEM;
		}
		return influx_perform(c, c->write_url, (const char *)c->zbuf,
				      zlen, res);
	}
	return influx_perform(c, c->write_url, body, len, res);
}

enum influx_err
influx_create_db(struct influx_client *c, struct influx_result *res)
{
	struct strbuf q, form;
	enum influx_err rc = INFLUX_ERR_NOMEM;
	char *esc = NULL;
	int bad = 0;

	strbuf_init(&q, 0);
	strbuf_init(&form, 0);
	/* an identifier in double quotes: escape '"' and '\' */
	bad |= strbuf_addstr(&q, "CREATE DATABASE \"");
	for (const char *p = c->db; *p && !bad; p++) {
		if (*p == '"' || *p == '\\')
			bad |= strbuf_addch(&q, '\\');
		bad |= strbuf_addch(&q, *p);
	}
	bad |= strbuf_addch(&q, '"');
	if (!bad)
		esc = curl_easy_escape(c->curl, q.buf, (int)q.len);
	if (!esc || strbuf_addf(&form, "q=%s", esc)) {
		memset(res, 0, sizeof(*res));
		res->retry_after_ms = -1;
		goto out;
	}
	/* form-encoded body: only the write headers' auth part applies */
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	rc = influx_perform(c, c->query_url, form.buf, form.len, res);
	if (rc == INFLUX_OK && strstr(c->response.buf ? c->response.buf : "",
				      "\"error\"")) {
		influx_error_text(c->response.buf, c->response.len,
				  res->message, sizeof(res->message));
		rc = INFLUX_ERR_REQUEST;
	}
out:
	curl_free(esc);
	strbuf_release(&q);
	strbuf_release(&form);
	return rc;
}

const char *
influx_strerror(enum influx_err err)
{
	switch (err) {
	case INFLUX_OK:
		return "success";
	case INFLUX_ERR_NETWORK:
		return "cannot reach the server";
	case INFLUX_ERR_TIMEOUT:
		return "request timed out";
	case INFLUX_ERR_SERVER:
		return "server error";
	case INFLUX_ERR_THROTTLED:
		return "server busy (throttled)";
	case INFLUX_ERR_POINTS:
		return "points refused";
	case INFLUX_ERR_TOO_LARGE:
		return "request body too large";
	case INFLUX_ERR_AUTH:
		return "not authorized";
	case INFLUX_ERR_NOT_FOUND:
		return "database or bucket not found";
	case INFLUX_ERR_REQUEST:
		return "request refused";
	case INFLUX_ERR_ABORTED:
		return "request aborted";
	case INFLUX_ERR_NOMEM:
		return "out of memory";
	case INFLUX_ERR_CURL:
		return "cannot set up libcurl or zlib";
	}
	return "unknown influx error";
}
