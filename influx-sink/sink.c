/*
 * sink: batches, writer threads and the retry policy (see sink.h).
 *
 * Retry policy. Every failure keeps the batch; what changes is the wait:
 *  - no answer, a timeout, a 5xx, 429 or 503: exponential backoff from
 *    min(1 s, INFLUX_RETRY_MAX) doubling to INFLUX_RETRY_MAX, +-20% jitter,
 *    or the server's Retry-After when it sent one (taken as is up to
 *    max(INFLUX_RETRY_MAX, 5 min), so a server that asks for a pause gets
 *    it; past dates and nonsense fall back to the backoff);
 *  - 401, 403, 404 and other 4xx about the request: nothing will change
 *    until someone fixes the server or the configuration, so the writer
 *    says so loudly once and then retries every INFLUX_RETRY_MAX (+-20%);
 *    the flow resumes by itself when the server side is fixed. A 1.x
 *    "database not found" with INFLUX_CREATE_DB creates it first;
 *  - 400/422 and 413: the batch is split (batch.c), and the points the
 *    server refuses alone go to the dead letter with its message.
 * Nothing is dropped for a transient reason: the only way out for a point
 * is the server taking it or refusing it alone.
 *
 * Memory. Points are held only in batches: the open one per writer (main
 * thread) and the sealed ones queued per writer (the head is in flight).
 * The main thread stops reading at INFLUX_MAX_BUFFERED held points, so an
 * outage of any length costs no more memory. Spare batches are kept on a
 * short free list to reuse their buffers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "batch.h"
#include "log.h"
#include "sink.h"
#include "banned.h"

#define SINK_LAT_MAX 4096
#define SINK_RETRY_AFTER_CAP_MS (5 * 60 * 1000)

struct sink_writer {
	struct sink *s;
	unsigned id;
	pthread_t thread;
	bool started;
	struct influx_client *client;
	pthread_cond_t cv;		/* work queued, or abort */
	struct batch *open;		/* main thread only */
	struct batch *head, *tail;	/* sealed, oldest first; head in flight */
	struct backoff fast;		/* transient failures */
	struct backoff slow;		/* failures someone must fix */
	struct log_limit lim;
	unsigned fails;			/* failures in a row */
	int64_t fail_since_ms;
	bool created_db;		/* tried CREATE DATABASE this streak */
	enum influx_err last_rc;
	char msg[512];			/* the server's last refusal */
};

struct sink {
	struct sink_opts o;
	struct sink_writer *w;
	unsigned nw;
	pthread_mutex_t mu;
	pthread_cond_t progress_cv;
	atomic_int abort;
	atomic_int dl_failed;		/* a refused point was not recorded */
	bool closing;
	struct batch *spare;
	unsigned nspare;
	uint64_t open_points;		/* main thread only */
	_Atomic uint64_t queued_points;
	_Atomic uint64_t in, written, rejected, batches, requests, retries;
	_Atomic uint64_t progress;	/* changed under mu */
	int64_t lat[SINK_LAT_MAX];	/* under mu */
	size_t nlat, lat_next;
	char last_error[256];		/* under mu */
};

uint64_t
sink_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
sink_abs_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static struct batch *
sink_take_spare(struct sink *s)
{
	struct batch *b;

	pthread_mutex_lock(&s->mu);
	b = s->spare;
	if (b) {
		s->spare = b->next;
		s->nspare--;
	}
	pthread_mutex_unlock(&s->mu);
	if (!b) {
		b = malloc(sizeof(*b));
		if (b)
			batch_init(b);
	}
	if (b)
		batch_clear(b);
	return b;
}

/* Under mu. */
static void
sink_recycle_locked(struct sink *s, struct batch *b)
{
	if (s->nspare < 2 * s->nw + 2) {
		batch_clear(b);
		b->next = s->spare;
		s->spare = b;
		s->nspare++;
		return;
	}
	batch_release(b);
	free(b);
}

/* "what: message", cut to fit. */
static void
sink_set_last_error(struct sink *s, enum influx_err rc, const char *msg)
{
	const char *parts[] = { influx_strerror(rc), ": ", msg };
	size_t n = 0;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		size_t len = strlen(parts[i]);

		if (len > sizeof(s->last_error) - 1 - n)
			len = sizeof(s->last_error) - 1 - n;
		memcpy(s->last_error + n, parts[i], len);
		n += len;
	}
	s->last_error[n] = '\0';
	pthread_mutex_unlock(&s->mu);
}

static void
sink_record_latency(struct sink *s, int64_t ms)
{
	pthread_mutex_lock(&s->mu);
	s->lat[s->lat_next] = ms;
	s->lat_next = (s->lat_next + 1) % SINK_LAT_MAX;
	if (s->nlat < SINK_LAT_MAX)
		s->nlat++;
	pthread_mutex_unlock(&s->mu);
}

/* Waits ms, or until abort. Returns false on abort. */
static bool
sink_sleep(struct sink_writer *w, int64_t ms)
{
	struct sink *s = w->s;
	struct timespec ts;
	bool go_on;

	sink_abs_deadline(&ts, ms);
	pthread_mutex_lock(&s->mu);
	while (!atomic_load(&s->abort)) {
		if (pthread_cond_timedwait(&w->cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	}
	go_on = !atomic_load(&s->abort);
	pthread_mutex_unlock(&s->mu);
	return go_on;
}

/* Why the server side needs fixing, in words for the log. */
static const char *
sink_advice(const struct sink *s, enum influx_err rc, const char *msg)
{
	bool v1 = s->o.target.api == INFLUX_API_V1;

	switch (rc) {
	case INFLUX_ERR_AUTH:
		return v1 ? "check INFLUX_USERNAME and INFLUX_PASSWORD and the user's WRITE privilege" :
			"check INFLUX_TOKEN and its write permission on the bucket";
	case INFLUX_ERR_NOT_FOUND:
		if (strstr(msg, "page not found"))
			return "the server has no such write endpoint: check INFLUX_URL and INFLUX_API";
		if (v1)
			return s->o.create_db ?
				"the database could not be created" :
				"create the database or set INFLUX_CREATE_DB=true";
		return "check INFLUX_ORG and INFLUX_BUCKET; create the bucket";
	case INFLUX_ERR_REQUEST:
		return "check the INFLUX_* settings";
	default:
		return "retrying";
	}
}

static bool
sink_needs_fixing(enum influx_err rc)
{
	return rc == INFLUX_ERR_AUTH || rc == INFLUX_ERR_NOT_FOUND ||
	       rc == INFLUX_ERR_REQUEST;
}

static void
sink_log_failure(struct sink_writer *w, enum influx_err rc,
		 const struct influx_result *res, size_t points,
		 int64_t delay_ms)
{
	struct sink *s = w->s;
	const char *url = influx_write_url(w->client);
	const char *advice = sink_advice(s, rc, res->message);

	sink_set_last_error(s, rc, res->message);
	if (w->fails == 1 || rc != w->last_rc) {
		if (sink_needs_fixing(rc))
			log_error("cannot write to '%s': %s: %s (%s); keeping the data, retrying every %.1fs\tstatus=%ld points=%zu writer=%u",
				  url, influx_strerror(rc), res->message,
				  advice, (double)s->o.retry_max_ms / 1000.0,
				  res->status, points, w->id);
		else
			log_warn("cannot write to '%s': %s: %s\tstatus=%ld points=%zu retry_in_ms=%lld writer=%u",
				 url, influx_strerror(rc), res->message,
				 res->status, points, (long long)delay_ms,
				 w->id);
	} else {
		log_warn_limited(&w->lim,
				 "still cannot write: %s: %s\tstatus=%ld failures=%u down_s=%.1f retry_in_ms=%lld writer=%u",
				 influx_strerror(rc), res->message,
				 res->status, w->fails,
				 (double)(time_mono_ms() - w->fail_since_ms) /
					 1000.0,
				 (long long)delay_ms, w->id);
	}
	w->last_rc = rc;
}

static void
sink_recovered(struct sink_writer *w)
{
	if (w->fails > 0)
		log_info("writes resumed\tfailures=%u down_s=%.1f writer=%u",
			 w->fails,
			 (double)(time_mono_ms() - w->fail_since_ms) / 1000.0,
			 w->id);
	w->fails = 0;
	w->created_db = false;
	w->last_rc = INFLUX_OK;
	backoff_reset(&w->fast);
}

/* v1 404 "database not found" with INFLUX_CREATE_DB: true when created. */
static bool
sink_try_create_db(struct sink_writer *w, const struct influx_result *res)
{
	struct sink *s = w->s;
	struct influx_result cres;
	enum influx_err rc;

	if (s->o.target.api != INFLUX_API_V1 || !s->o.create_db ||
	    w->created_db || !strstr(res->message, "database not found"))
		return false;
	w->created_db = true;
	rc = influx_create_db(w->client, &cres);
	if (rc) {
		log_warn("cannot create database '%s': %s: %s",
			 s->o.target.db, influx_strerror(rc), cres.message);
		return false;
	}
	log_info("created database '%s'", s->o.target.db);
	return true;
}

static enum batch_outcome
sink_send(void *ctx, const struct batch *b, size_t i, size_t j)
{
	struct sink_writer *w = ctx;
	struct sink *s = w->s;
	struct influx_result res;
	enum influx_err rc;
	int64_t delay;
	size_t len;
	const char *body = batch_range(b, i, j, &len);

	for (;;) {
		if (atomic_load(&s->abort))
			return BATCH_STOPPED;
		rc = influx_write(w->client, body, len, &res);
		if (res.status) {
			atomic_fetch_add(&s->requests, 1);
			sink_record_latency(s, res.elapsed_ms);
		}
		switch (rc) {
		case INFLUX_OK:
			atomic_fetch_add(&s->written, j - i);
			sink_recovered(w);
			return BATCH_SENT;
		case INFLUX_ERR_POINTS:
		case INFLUX_ERR_TOO_LARGE:
			sink_recovered(w);
			snprintf(w->msg, sizeof(w->msg), "%s", res.message);
			sink_set_last_error(s, rc, res.message);
			if (j - i > 1)
				log_debug("splitting a refused batch\tstatus=%ld points=%zu bytes=%zu message=\"%s\"",
					  res.status, j - i, len, res.message);
			return rc == INFLUX_ERR_POINTS ? BATCH_REFUSED :
							 BATCH_TOO_LARGE;
		case INFLUX_ERR_ABORTED:
			return BATCH_STOPPED;
		case INFLUX_ERR_NOT_FOUND:
			if (sink_try_create_db(w, &res)) {
				atomic_fetch_add(&s->retries, 1);
				continue;
			}
			/* fall through */
		case INFLUX_ERR_AUTH:
		case INFLUX_ERR_REQUEST:
			delay = (int64_t)backoff_next(&w->slow);
			break;
		case INFLUX_ERR_NETWORK:
		case INFLUX_ERR_TIMEOUT:
		case INFLUX_ERR_SERVER:
		case INFLUX_ERR_THROTTLED:
		case INFLUX_ERR_NOMEM:
		case INFLUX_ERR_CURL:
		default:
			delay = (int64_t)backoff_next(&w->fast);
			if (res.retry_after_ms >= 0) {
				int64_t cap = s->o.retry_max_ms >
					SINK_RETRY_AFTER_CAP_MS ?
					s->o.retry_max_ms :
					SINK_RETRY_AFTER_CAP_MS;

				delay = res.retry_after_ms < cap ?
					res.retry_after_ms : cap;
			}
			break;
		}
		if (w->fails++ == 0)
			w->fail_since_ms = time_mono_ms();
		sink_log_failure(w, rc, &res, j - i, delay);
		atomic_fetch_add(&s->retries, 1);
		if (!sink_sleep(w, delay))
			return BATCH_STOPPED;
	}
}

/*
 * A point the server refuses for good goes to the dead letter. When that
 * write fails the point would be lost without a trace: every writer stops
 * (its batch stays held and uncommitted) and sink_failed tells the main
 * thread to exit 74.
 */
static enum batch_outcome
sink_reject(void *ctx, const struct batch *b, size_t i,
	    enum batch_outcome why)
{
	struct sink_writer *w = ctx;
	struct sink *s = w->s;
	struct deadletter_entry e;
	enum deadletter_err drc;
	size_t len;
	const char *line = batch_range(b, i, i + 1, &len);

	if (len > 0 && line[len - 1] == '\n')
		len--;
	memset(&e, 0, sizeof(e));
	e.reason = why == BATCH_TOO_LARGE ? "too_large" : "refused";
	e.detail = w->msg;
	e.line = b->lineno[i];
	e.data = line;
	e.len = len;
	drc = deadletter_write(s->o.dl, &e);
	if (drc) {
		int saved = errno;

		if (!atomic_exchange(&s->dl_failed, 1))
			log_error("cannot write a refused point to the dead letter: %s: %s; stopping with the point unwritten\tline=%llu writer=%u",
				  deadletter_strerror(drc), strerror(saved),
				  (unsigned long long)e.line, w->id);
		pthread_mutex_lock(&s->mu);
		atomic_store(&s->abort, 1);
		for (unsigned k = 0; k < s->nw; k++)
			pthread_cond_broadcast(&s->w[k].cv);
		pthread_cond_broadcast(&s->progress_cv);
		pthread_mutex_unlock(&s->mu);
		return BATCH_STOPPED;
	}
	atomic_fetch_add(&s->rejected, 1);
	log_warn_limited(&w->lim,
			 "InfluxDB refused a point: %s\treason=%s line=%llu dead_letter=%s",
			 w->msg, e.reason, (unsigned long long)e.line,
			 s->o.dl ? "written" : "none");
	return BATCH_SENT;
}

static const struct batch_ops sink_ops = {
	.send = sink_send,
	.reject = sink_reject,
};

static void *
sink_writer_main(void *arg)
{
	struct sink_writer *w = arg;
	struct sink *s = w->s;
	struct batch *b;
	enum batch_outcome rc;
	struct influx_result res;
	enum influx_err crc;

	/* INFLUX_CREATE_DB: once at start (a 404 later creates it again) */
	if (w->id == 0 && s->o.create_db &&
	    s->o.target.api == INFLUX_API_V1) {
		crc = influx_create_db(w->client, &res);
		if (crc)
			log_warn("cannot create database '%s' at start: %s: %s (will retry when a write finds it missing)",
				 s->o.target.db, influx_strerror(crc),
				 res.message);
		else
			log_debug("database '%s' exists or was created",
				  s->o.target.db);
	}
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!w->head && !s->closing && !atomic_load(&s->abort))
			pthread_cond_wait(&w->cv, &s->mu);
		if (!w->head || atomic_load(&s->abort))
			break;
		b = w->head;
		pthread_mutex_unlock(&s->mu);
		rc = batch_deliver(b, &sink_ops, w);
		pthread_mutex_lock(&s->mu);
		if (rc == BATCH_STOPPED)
			break;
		w->head = b->next;
		if (!w->head)
			w->tail = NULL;
		atomic_fetch_sub(&s->queued_points, b->n);
		atomic_fetch_add(&s->batches, 1);
		s->progress++;
		sink_recycle_locked(s, b);
		pthread_cond_broadcast(&s->progress_cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int
sink_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int rc;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

enum sink_err
sink_new(struct sink **sp, const struct sink_opts *o)
{
	struct sink *s;
	enum sink_err rc = SINK_ERR_NOMEM;
	uint64_t base;

	*sp = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return SINK_ERR_NOMEM;
	s->o = *o;
	if (s->o.writers == 0)
		s->o.writers = 1;
	if (s->o.batch_size == 0)
		s->o.batch_size = 1;
	s->nw = s->o.writers;
	pthread_mutex_init(&s->mu, NULL);
	sink_cond_init(&s->progress_cv);
	s->w = calloc(s->nw, sizeof(*s->w));
	if (!s->w)
		goto out;
	base = s->o.retry_max_ms < 1000 ? (uint64_t)s->o.retry_max_ms : 1000;
	for (unsigned i = 0; i < s->nw; i++) {
		struct sink_writer *w = &s->w[i];

		w->s = s;
		w->id = i;
		sink_cond_init(&w->cv);
		backoff_init(&w->fast, base, (uint64_t)s->o.retry_max_ms, 0);
		backoff_init(&w->slow, (uint64_t)s->o.retry_max_ms,
			     (uint64_t)s->o.retry_max_ms, 0);
		w->lim.burst = 5;
		w->lim.window_ms = 60000;
		if (influx_client_new(&w->client, &s->o.target, &s->abort)) {
			rc = SINK_ERR_CLIENT;
			goto out;
		}
	}
	for (unsigned i = 0; i < s->nw; i++) {
		int err = pthread_create(&s->w[i].thread, NULL,
					 sink_writer_main, &s->w[i]);

		if (err) {
			errno = err;
			rc = SINK_ERR_THREAD;
			goto out;
		}
		s->w[i].started = true;
	}
	*sp = s;
	s = NULL;
	rc = SINK_OK;
out:
	if (s) {
		sink_stop(s);
		sink_free(s);
	}
	return rc;
}

/* Queues the open batch of w. Main thread. */
static void
sink_seal(struct sink *s, struct sink_writer *w)
{
	struct batch *b = w->open;

	if (!b || b->n == 0)
		return;
	w->open = NULL;
	s->open_points -= b->n;
	b->next = NULL;
	pthread_mutex_lock(&s->mu);
	atomic_fetch_add(&s->queued_points, b->n);
	if (w->tail)
		w->tail->next = b;
	else
		w->head = b;
	w->tail = b;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&s->mu);
}

enum sink_err
sink_add(struct sink *s, const char *line, size_t len, uint64_t hash,
	 uint64_t lineno, struct stage_pos pos, int64_t now_ms)
{
	struct sink_writer *w = &s->w[s->nw == 1 ? 0 : hash % s->nw];
	struct batch *b = w->open;

	if (!b) {
		b = sink_take_spare(s);
		if (!b)
			return SINK_ERR_NOMEM;
		w->open = b;
	}
	if (b->n == 0) {
		b->first_ms = now_ms;
		b->start = pos;
	}
	if (batch_add(b, line, len, lineno))
		return SINK_ERR_NOMEM;
	s->open_points++;
	atomic_fetch_add_explicit(&s->in, 1, memory_order_relaxed);
	if (b->n >= s->o.batch_size)
		sink_seal(s, w);
	return SINK_OK;
}

int64_t
sink_tick(struct sink *s, int64_t now_ms)
{
	int64_t next = -1;

	for (unsigned i = 0; i < s->nw; i++) {
		struct batch *b = s->w[i].open;
		int64_t left;

		if (!b || b->n == 0)
			continue;
		left = b->first_ms + s->o.flush_ms - now_ms;
		if (left <= 0) {
			sink_seal(s, &s->w[i]);
			continue;
		}
		if (next < 0 || left < next)
			next = left;
	}
	return next;
}

void
sink_seal_idle(struct sink *s)
{
	for (unsigned i = 0; i < s->nw; i++) {
		struct sink_writer *w = &s->w[i];
		bool idle;

		if (!w->open || w->open->n == 0)
			continue;
		pthread_mutex_lock(&s->mu);
		idle = w->head == NULL;
		pthread_mutex_unlock(&s->mu);
		if (idle)
			sink_seal(s, w);
	}
}

void
sink_seal_all(struct sink *s)
{
	for (unsigned i = 0; i < s->nw; i++)
		sink_seal(s, &s->w[i]);
}

uint64_t
sink_backlog(struct sink *s)
{
	return s->open_points + atomic_load(&s->queued_points);
}

bool
sink_failed(struct sink *s)
{
	return atomic_load(&s->dl_failed) != 0;
}

uint64_t
sink_progress(struct sink *s)
{
	return atomic_load(&s->progress);
}

void
sink_wait(struct sink *s, int timeout_ms)
{
	struct timespec ts;
	uint64_t p;

	sink_abs_deadline(&ts, timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&s->mu);
	p = s->progress;
	while (p == s->progress && !atomic_load(&s->dl_failed)) {
		if (pthread_cond_timedwait(&s->progress_cv, &s->mu, &ts) ==
		    ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&s->mu);
}

static bool
sink_pos_less(struct stage_pos a, struct stage_pos b)
{
	return a.seg < b.seg || (a.seg == b.seg && a.off < b.off);
}

struct stage_pos
sink_low_water(struct sink *s, struct stage_pos now)
{
	struct stage_pos low = now;

	pthread_mutex_lock(&s->mu);
	for (unsigned i = 0; i < s->nw; i++) {
		struct sink_writer *w = &s->w[i];
		const struct batch *b = w->head;

		if (!b && w->open && w->open->n > 0)
			b = w->open;
		if (b && sink_pos_less(b->start, low))
			low = b->start;
	}
	pthread_mutex_unlock(&s->mu);
	return low;
}

static int
sink_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void
sink_get_stats(struct sink *s, struct sink_stats *st)
{
	int64_t lat[SINK_LAT_MAX];
	size_t n;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->mu);
	n = s->nlat;
	memcpy(lat, s->lat, n * sizeof(lat[0]));
	s->nlat = 0;
	s->lat_next = 0;
	snprintf(st->last_error, sizeof(st->last_error), "%s", s->last_error);
	pthread_mutex_unlock(&s->mu);
	st->in = atomic_load(&s->in);
	st->written = atomic_load(&s->written);
	st->rejected = atomic_load(&s->rejected);
	st->batches = atomic_load(&s->batches);
	st->requests = atomic_load(&s->requests);
	st->retries = atomic_load(&s->retries);
	st->backlog = st->in - st->written - st->rejected;
	if (n > 0) {
		qsort(lat, n, sizeof(lat[0]), sink_cmp_i64);
		st->p50_ms = (double)lat[(n - 1) / 2];
		st->p99_ms = (double)lat[(n * 99 - 1) / 100];
	}
}

void
sink_stop(struct sink *s)
{
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	atomic_store(&s->abort, 1);
	for (unsigned i = 0; i < s->nw; i++)
		pthread_cond_broadcast(&s->w[i].cv);
	pthread_mutex_unlock(&s->mu);
	for (unsigned i = 0; i < s->nw; i++) {
		if (s->w[i].started) {
			pthread_join(s->w[i].thread, NULL);
			s->w[i].started = false;
		}
	}
}

static void
sink_free_list(struct batch *b)
{
	while (b) {
		struct batch *next = b->next;

		batch_release(b);
		free(b);
		b = next;
	}
}

void
sink_free(struct sink *s)
{
	if (!s)
		return;
	for (unsigned i = 0; s->w && i < s->nw; i++) {
		struct sink_writer *w = &s->w[i];

		influx_client_free(w->client);
		if (w->open)
			w->open->next = NULL;
		sink_free_list(w->open);
		sink_free_list(w->head);
		pthread_cond_destroy(&w->cv);
	}
	sink_free_list(s->spare);
	free(s->w);
	pthread_cond_destroy(&s->progress_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *
sink_strerror(enum sink_err err)
{
	switch (err) {
	case SINK_OK:
		return "success";
	case SINK_ERR_NOMEM:
		return "out of memory";
	case SINK_ERR_THREAD:
		return "cannot start a writer thread";
	case SINK_ERR_CLIENT:
		return "cannot set up the HTTP client";
	}
	return "unknown sink error";
}
