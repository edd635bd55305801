/*
 * llm: one or two sentence alert summaries from an OpenAI-compatible chat
 * completions endpoint; the only module of alert-engine that uses libcurl.
 * Owns: the curl multi handle, the queue of requests and their copies of
 * the fired event. Never blocks: llm_step does one non-blocking
 * curl_multi_perform and reports finished requests through a callback.
 * Returns enum llm_err; logs breaker changes and (rate-limited) failures.
 *
 * Why curl multi in the main thread rather than a worker thread: the
 * engine is single-threaded, its output writer and state are not shared,
 * and curl_multi_perform with the threaded resolver never blocks, so a
 * step between bursts of readings (and on idle timeouts) costs microseconds
 * and needs no locks or queues between threads. Requests are independent of
 * evaluation: a slow model only delays its own `summarized` event.
 *
 * Limits: at most max_concurrency requests in flight, more wait in a queue
 * (LLM_QUEUE_MAX, then dropped and counted); a request not answered within
 * timeout_ms of its submission is given up (the fallback stands).
 * Circuit breaker: after LLM_BREAKER_FAILURES failures in a row (transport
 * error, timeout, HTTP status other than 200, an answer without
 * choices[0].message.content) no request is made for cooldown_ms (logged
 * once, counted); then the next request is a trial: success closes the
 * breaker, failure opens it again for another cool-down.
 */
#ifndef SENSORPIPE_LLM_H
#define SENSORPIPE_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eval.h"

#define LLM_BREAKER_FAILURES 5
#define LLM_QUEUE_MAX 1024
#define LLM_SUMMARY_MAX 600

enum llm_err {
	LLM_OK = 0,
	LLM_ERR_CURL,		/* curl could not be set up */
	LLM_ERR_NOMEM,
	LLM_SKIPPED,		/* breaker open or queue full: not asked */
};

struct llm_opts {
	const char *base_url;	/* ".../v1"; "/chat/completions" is added */
	const char *api_key;	/* NULL or "": no Authorization header */
	const char *model;
	int64_t timeout_ms;
	unsigned max_concurrency;
	int64_t cooldown_ms;
};

struct llm_stats {
	uint64_t requests, ok, failed, timeouts, http_errors, bad_answers;
	uint64_t skipped_open, dropped_queue, breaker_opens;
};

/*
 * A finished summary: alert_json is the fired event as written (record
 * format), summary the model's text (trimmed, one line, at most
 * LLM_SUMMARY_MAX bytes); episode and started_at as given to llm_submit.
 * Both strings are valid during the call only.
 */
typedef void (*llm_done_fn)(void *ctx, const char *alert_json, size_t len,
			    const char *summary, const void *episode,
			    int64_t started_at_ns);

struct llm;

enum llm_err llm_new(struct llm **l, const struct llm_opts *opts);
/* Aborts what is in flight. */
void llm_free(struct llm *l);

/* Queues a summary request for a fired event; alert_json is copied. */
enum llm_err llm_submit(struct llm *l, const struct eval_event *ev,
			const char *alert_json, size_t len, int64_t now_ms);

/* One non-blocking step: sends, receives, reports finished summaries. */
void llm_step(struct llm *l, int64_t now_ms, llm_done_fn done, void *ctx);

/* Requests queued or in flight. */
size_t llm_pending(const struct llm *l);
const struct llm_stats *llm_stats(const struct llm *l);

/* Builds the request body (exposed for tests); caller frees. */
char *llm_request_body(const char *model, const struct eval_event *ev);
/* Extracts choices[0].message.content into out (trimmed, one line);
 * returns 0, or -1 when the answer is not a usable completion. */
int llm_parse_answer(const char *body, size_t len, char *out, size_t size);

const char *llm_strerror(enum llm_err err);

#endif
