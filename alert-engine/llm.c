/*
 * llm: chat completions over curl multi, driven from the engine's loop
 * (see llm.h for why), with a queue, a deadline per request and a circuit
 * breaker. The API key only ever goes into the Authorization header; it is
 * never logged (stage_init also registers it as a secret with log).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "llm.h"
#include "log.h"
#include "rfc3339.h"
#include "util.h"
#include "banned.h"

#define LLM_MAX_ANSWER (1024 * 1024)

struct llm_job {
	struct llm_job *next;
	char *alert;		/* the fired event, record JSON */
	size_t alert_len;
	char *body;		/* request body */
	const void *episode;
	int64_t started_at;
	int64_t deadline_ms;
	CURL *easy;
	struct curl_slist *hdrs;
	struct strbuf answer;
};

struct llm {
	struct llm_opts opts;
	char *url;
	char *auth;		/* "Authorization: Bearer ..." or NULL */
	CURLM *multi;
	struct llm_job *qhead, *qtail;	/* waiting */
	size_t nqueued;
	struct llm_job **running;	/* max_concurrency slots */
	size_t nrunning;
	unsigned failures;		/* in a row */
	bool open;
	bool trial;			/* the cool-down is over, not yet proven */
	int64_t open_until_ms;
	struct log_limit warn_limit;
	struct llm_stats stats;
};

static bool llm_curl_ready;

enum llm_err
llm_new(struct llm **lp, const struct llm_opts *opts)
{
	struct llm *l;
	struct strbuf sb;
	size_t n;

	*lp = NULL;
	if (!llm_curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return LLM_ERR_CURL;
		llm_curl_ready = true;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return LLM_ERR_NOMEM;
	l->opts = *opts;
	if (l->opts.max_concurrency == 0)
		l->opts.max_concurrency = 1;
	strbuf_init(&sb, 0);
	n = strlen(opts->base_url);
	while (n > 0 && opts->base_url[n - 1] == '/')
		n--;
	if (strbuf_add(&sb, opts->base_url, n) != 0 ||
	    strbuf_addstr(&sb, "/chat/completions") != 0)
		goto nomem;
	l->url = sb.buf;
	if (opts->api_key && opts->api_key[0]) {
		strbuf_init(&sb, 0);
		if (strbuf_addf(&sb, "Authorization: Bearer %s",
				opts->api_key) != 0)
			goto nomem;
		l->auth = sb.buf;
	}
	l->running = calloc(l->opts.max_concurrency, sizeof(*l->running));
	l->multi = curl_multi_init();
	if (!l->running || !l->multi) {
		llm_free(l);
		return LLM_ERR_CURL;
	}
	curl_multi_setopt(l->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			  (long)l->opts.max_concurrency);
	l->warn_limit.burst = 5;
	l->warn_limit.window_ms = 60000;
	*lp = l;
	return LLM_OK;
nomem:
	strbuf_release(&sb);
	llm_free(l);
	return LLM_ERR_NOMEM;
}

static void
llm_job_free(struct llm *l, struct llm_job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(l->multi, j->easy);
		curl_easy_cleanup(j->easy);
	}
	curl_slist_free_all(j->hdrs);
	strbuf_release(&j->answer);
	free(j->alert);
	free(j->body);
	free(j);
}

void
llm_free(struct llm *l)
{
	struct llm_job *j;

	if (!l)
		return;
	while ((j = l->qhead) != NULL) {
		l->qhead = j->next;
		llm_job_free(l, j);
	}
	for (size_t i = 0; l->running && i < l->opts.max_concurrency; i++)
		if (l->running[i])
			llm_job_free(l, l->running[i]);
	free(l->running);
	if (l->multi)
		curl_multi_cleanup(l->multi);
	free(l->url);
	if (l->auth) {
		memset(l->auth, 0, strlen(l->auth));
		free(l->auth);
	}
	free(l);
}

char *
llm_request_body(const char *model, const struct eval_event *ev)
{
	const struct alert *a = &ev->alert;
	struct strbuf u;
	char num[DOUBLE_STR_MAX], t[RFC3339_MAX], s[RFC3339_MAX];
	json_t *req;
	char *out = NULL;
	int rc;

	strbuf_init(&u, 64 * 1024);
	rfc3339_format(a->started_at_ns, s);
	rfc3339_format(a->time_ns, t);
	rc = strbuf_addf(&u, "Alert rule: %s (severity %s, condition %s).\n"
			 "Series: %s\nField: %s\n", a->rule,
			 severity_name(a->severity),
			 rules_cond_name(ev->rule->cond), ev->series,
			 a->field[0] ? a->field : "(any)");
	if (a->has_value) {
		double_format(a->value, num);
		rc = rc || strbuf_addf(&u, "Value: %s\n", num);
	}
	if (a->has_threshold) {
		double_format(a->threshold, num);
		rc = rc || strbuf_addf(&u, "Threshold: %s\n", num);
	}
	rc = rc || strbuf_addf(&u, "Condition holds since: %s\nNow: %s\n", s,
			       t);
	if (ev->nrecent) {
		rc = rc || strbuf_addstr(&u, "Last values, oldest first:");
		for (size_t i = 0; i < ev->nrecent; i++) {
			double_format(ev->recent[i], num);
			rc = rc || strbuf_addf(&u, " %s", num);
		}
		rc = rc || strbuf_addch(&u, '\n');
	}
	rc = rc || strbuf_addf(&u, "Rule message: %s\n", a->message);
	if (rc)
		goto out;
	req = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:i, s:f}",
			"model", model, "messages", "role", "system",
			"content",
			"You summarise sensor alerts for an operator in one or "
			"two plain sentences: what is wrong, where, how bad, "
			"since when. No preamble, no markdown.",
			"role", "user", "content", u.buf, "max_tokens", 120,
			"temperature", 0.0);
	if (req) {
		out = json_dumps(req, JSON_COMPACT);
		json_decref(req);
	}
out:
	strbuf_release(&u);
	return out;
}

int
llm_parse_answer(const char *body, size_t len, char *out, size_t size)
{
	json_t *root, *content;
	const char *s;
	size_t n = 0;
	bool space = false;
	int rc = -1;

	root = json_loadb(body, len, 0, NULL);
	if (!root)
		return -1;
	content = json_object_get(
		json_object_get(json_array_get(json_object_get(root,
							       "choices"), 0),
				"message"),
		"content");
	s = json_string_value(content);
	if (!s || size < 2)
		goto out;
	/* one line: runs of white space become one space, ends trimmed */
	for (; *s && n + 1 < size; s++) {
		if (isspace((unsigned char)*s)) {
			space = n > 0;
			continue;
		}
		if ((unsigned char)*s < 0x20)
			continue;
		if (space && n + 2 < size)
			out[n++] = ' ';
		space = false;
		out[n++] = *s;
	}
	/* do not cut a UTF-8 sequence in half */
	while (n > 0 && *s && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0 && *s && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
		n--;
	out[n] = '\0';
	rc = n > 0 ? 0 : -1;
out:
	json_decref(root);
	return rc;
}

static size_t
llm_write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct llm_job *j = ud;

	if (strbuf_add(&j->answer, data, size * nmemb) != 0)
		return 0;	/* too big: curl fails the transfer */
	return size * nmemb;
}

static void
llm_fail(struct llm *l, int64_t now_ms, const char *why)
{
	l->stats.failed++;
	l->failures++;
	l->trial = false;
	log_warn_limited(&l->warn_limit, "llm summary failed\treason=\"%s\" "
			 "in_a_row=%u", why, l->failures);
	if (l->failures >= LLM_BREAKER_FAILURES && !l->open) {
		l->open = true;
		l->open_until_ms = now_ms + l->opts.cooldown_ms;
		l->stats.breaker_opens++;
		log_warn("llm summaries paused after %u failures in a row"
			 "\tcooldown_ms=%" PRId64 " opens=%" PRIu64,
			 l->failures, l->opts.cooldown_ms,
			 l->stats.breaker_opens);
	}
}

static void
llm_success(struct llm *l)
{
	l->stats.ok++;
	if (l->trial)
		log_info("llm summaries resumed");
	l->trial = false;
	l->failures = 0;
}

/* After the cool-down one trial request: one more failure reopens. */
static void
llm_check_breaker(struct llm *l, int64_t now_ms)
{
	if (l->open && now_ms >= l->open_until_ms) {
		l->open = false;
		l->trial = true;
		l->failures = LLM_BREAKER_FAILURES - 1;
		log_info("llm cool-down over, trying again");
	}
}

static int
llm_start(struct llm *l, struct llm_job *j, int64_t now_ms)
{
	long left = (long)(j->deadline_ms - now_ms);

	j->easy = curl_easy_init();
	if (!j->easy)
		return -1;
	j->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (j->hdrs && l->auth)
		j->hdrs = curl_slist_append(j->hdrs, l->auth);
	if (!j->hdrs)
		return -1;
	curl_easy_setopt(j->easy, CURLOPT_URL, l->url);
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->hdrs);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
	curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 left > 1 ? left : 1L);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, llm_write_cb);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(j->easy, CURLOPT_USERAGENT,
			 "sensorpipe-alert-engine/" SENSORPIPE_VERSION);
	if (curl_multi_add_handle(l->multi, j->easy) != CURLM_OK)
		return -1;
	for (size_t i = 0; i < l->opts.max_concurrency; i++)
		if (!l->running[i]) {
			l->running[i] = j;
			break;
		}
	l->nrunning++;
	l->stats.requests++;
	return 0;
}

/* Starts queued jobs while slots are free; drops expired ones. */
static void
llm_fill(struct llm *l, int64_t now_ms)
{
	struct llm_job *j;

	while (l->qhead && l->nrunning < l->opts.max_concurrency) {
		j = l->qhead;
		l->qhead = j->next;
		if (!l->qhead)
			l->qtail = NULL;
		l->nqueued--;
		j->next = NULL;
		if (l->open) {
			l->stats.skipped_open++;
			llm_job_free(l, j);
		} else if (now_ms >= j->deadline_ms) {
			l->stats.timeouts++;
			llm_fail(l, now_ms, "timed out in the queue");
			llm_job_free(l, j);
		} else if (llm_start(l, j, now_ms) != 0) {
			llm_fail(l, now_ms, "cannot set up the request");
			llm_job_free(l, j);
		}
	}
}

enum llm_err
llm_submit(struct llm *l, const struct eval_event *ev, const char *alert_json,
	   size_t len, int64_t now_ms)
{
	struct llm_job *j;

	llm_check_breaker(l, now_ms);
	if (l->open) {
		l->stats.skipped_open++;
		return LLM_SKIPPED;
	}
	if (l->nqueued >= LLM_QUEUE_MAX) {
		l->stats.dropped_queue++;
		return LLM_SKIPPED;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return LLM_ERR_NOMEM;
	strbuf_init(&j->answer, LLM_MAX_ANSWER);
	j->alert = malloc(len + 1);
	j->body = llm_request_body(l->opts.model, ev);
	if (!j->alert || !j->body) {
		llm_job_free(l, j);
		return LLM_ERR_NOMEM;
	}
	memcpy(j->alert, alert_json, len);
	j->alert[len] = '\0';
	j->alert_len = len;
	j->episode = ev->episode;
	j->started_at = ev->alert.started_at_ns;
	j->deadline_ms = now_ms + l->opts.timeout_ms;
	if (l->qtail)
		l->qtail->next = j;
	else
		l->qhead = j;
	l->qtail = j;
	l->nqueued++;
	llm_fill(l, now_ms);
	return LLM_OK;
}

static void
llm_finish(struct llm *l, struct llm_job *j, CURLcode res, int64_t now_ms,
	   llm_done_fn done, void *ctx)
{
	char summary[LLM_SUMMARY_MAX + 1];
	char why[160];
	long code = 0;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
	if (res == CURLE_OPERATION_TIMEDOUT) {
		l->stats.timeouts++;
		llm_fail(l, now_ms, "timed out");
	} else if (res != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(res));
		llm_fail(l, now_ms, why);
	} else if (code != 200) {
		l->stats.http_errors++;
		snprintf(why, sizeof(why), "HTTP status %ld", code);
		llm_fail(l, now_ms, why);
	} else if (llm_parse_answer(j->answer.buf ? j->answer.buf : "",
				    j->answer.len, summary,
				    sizeof(summary)) != 0) {
		l->stats.bad_answers++;
		llm_fail(l, now_ms, "answer without choices[0].message.content");
	} else {
		llm_success(l);
		done(ctx, j->alert, j->alert_len, summary, j->episode,
		     j->started_at);
	}
}

void
llm_step(struct llm *l, int64_t now_ms, llm_done_fn done, void *ctx)
{
	CURLMsg *msg;
	int running, left;

	llm_check_breaker(l, now_ms);
	if (l->nrunning)
		curl_multi_perform(l->multi, &running);
	while ((msg = curl_multi_info_read(l->multi, &left)) != NULL) {
		struct llm_job *j = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &j);
		if (!j)
			continue;
		llm_finish(l, j, msg->data.result, now_ms, done, ctx);
		for (size_t i = 0; i < l->opts.max_concurrency; i++)
			if (l->running[i] == j)
				l->running[i] = NULL;
		l->nrunning--;
		llm_job_free(l, j);
	}
	llm_fill(l, now_ms);
}

size_t
llm_pending(const struct llm *l)
{
	return l->nqueued + l->nrunning;
}

const struct llm_stats *
llm_stats(const struct llm *l)
{
	return &l->stats;
}

const char *
llm_strerror(enum llm_err err)
{
	switch (err) {
	case LLM_OK:
		return "success";
	case LLM_ERR_CURL:
		return "cannot set up libcurl";
	case LLM_ERR_NOMEM:
		return "out of memory";
	case LLM_SKIPPED:
		return "not asked (breaker open or queue full)";
	}
	return "unknown llm error";
}
