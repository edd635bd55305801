/*
 * influx-sink: readings (or alert events) in, InfluxDB line protocol out
 * over HTTP, in batches, retried until the server takes them.
 *
 * The main thread reads, parses and converts; writer threads (sink.c) send.
 * The input position is committed only up to the oldest point the server
 * has not yet taken, so a journal replays what a crash left unwritten.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "deadletter.h"
#include "exitcodes.h"
#include "influx.h"
#include "lineproto.h"
#include "log.h"
#include "record.h"
#include "sink.h"
#include "stage.h"
#include "stageio.h"
#include "util.h"
#include "banned.h"

static const struct config_opt app_opts[] = {
	{ "kind", "readings|alerts",
	  "what the input holds [readings]; alert events become points of measurement 'alerts'" },
	{ "dry-run", NULL,
	  "write the line protocol to stdout instead of sending it" },
};

static const struct stage_info app_info = {
	.prog = "influx-sink",
	.stage = ST_SINK,
	.synopsis = "influx-sink [--kind readings|alerts] [--dry-run] [--in -|DIR --consumer NAME] [--dead-letter FILE] [--strict] [--KEY VALUE]...",
	.description =
		"Reads readings (or, with --kind alerts, alert events) as NDJSON and "
		"writes them to InfluxDB as line protocol: 1.x /write (INFLUX_API=v1) "
		"or 2.x/3.x /api/v2/write (v2). Points are sent in batches of "
		"INFLUX_BATCH_SIZE, or INFLUX_FLUSH_INTERVAL after a batch's first "
		"point, gzipped, by INFLUX_CONCURRENCY writers (one series always "
		"goes to the same writer). Failed writes are retried with backoff; "
		"points the server refuses go to the dead-letter file; at "
		"INFLUX_MAX_BUFFERED held points reading stops. On EOF or SIGTERM "
		"it flushes for up to twice INFLUX_TIMEOUT and exits 0 when every "
		"point read was written or refused, else 75.",
	.opts = app_opts,
	.nopts = ARRAY_SIZE(app_opts),
};

struct app {
	struct config *cfg;
	struct stage_in *in;
	struct stage_out *out;		/* --dry-run only */
	struct deadletter *dl;
	struct sink *sink;
	bool alerts, dry_run, strict;
	unsigned writers;
	enum lineproto_precision prec;
	struct record_scratch rs;
	struct reading reading;
	struct alert alert;
	struct strbuf lp;		/* the point being converted */
	struct log_limit lim;
	uint64_t bad;			/* input lines refused */
	uint64_t dry_points;		/* --dry-run: points written out */
	bool eof;
	/* commits */
	uint64_t seen_progress;
	int64_t last_commit_ms;
	/* stats of the last interval */
	uint64_t last_in, last_written;
	int64_t last_ms;
};

static int
app_configure(struct app *a, struct config *cfg)
{
	const char *kind = config_opt(cfg, "kind");
	const char *prec = config_str(cfg, CK_INFLUX_PRECISION);

	a->cfg = cfg;
	a->strict = cfg->strict;
	a->dry_run = config_opt_set(cfg, "dry-run");
	a->writers = (unsigned)config_num(cfg, CK_INFLUX_CONCURRENCY);
	a->lim.burst = 5;
	a->lim.window_ms = 60000;
	if (kind && strcmp(kind, "alerts") == 0) {
		a->alerts = true;
	} else if (kind && strcmp(kind, "readings") != 0) {
		log_error("bad --kind '%s': expected readings or alerts", kind);
		return EX_USAGE;
	}
	if (lineproto_precision_parse(prec ? prec : "ns", &a->prec)) {
		log_error("bad INFLUX_PRECISION '%s'", prec);
		return EX_CONFIG;
	}
	if (a->dry_run)
		return EX_OK;
	if (config_num(cfg, CK_INFLUX_API) == INFLUX_API_V2) {
		if (!config_is_set(cfg, CK_INFLUX_BUCKET) ||
		    !config_is_set(cfg, CK_INFLUX_ORG)) {
			log_error("INFLUX_API=v2 needs INFLUX_ORG and INFLUX_BUCKET");
			return EX_CONFIG;
		}
		if (config_require(cfg, CK_INFLUX_TOKEN,
				   "INFLUX_API=v2 authenticates with a token")) {
			log_error("%s", cfg->err);
			return EX_CONFIG;
		}
	} else if (!config_is_set(cfg, CK_INFLUX_DB)) {
		log_error("INFLUX_API=v1 needs INFLUX_DB");
		return EX_CONFIG;
	}
	return EX_OK;
}

static void
app_target(const struct app *a, struct influx_target *t)
{
	const struct config *cfg = a->cfg;

	memset(t, 0, sizeof(*t));
	t->url = config_str(cfg, CK_INFLUX_URL);
	t->api = config_num(cfg, CK_INFLUX_API) == INFLUX_API_V2 ?
		INFLUX_API_V2 : INFLUX_API_V1;
	t->db = config_str(cfg, CK_INFLUX_DB);
	t->rp = config_str(cfg, CK_INFLUX_RP);
	t->username = config_str(cfg, CK_INFLUX_USERNAME);
	t->password = config_str(cfg, CK_INFLUX_PASSWORD);
	t->token = config_str(cfg, CK_INFLUX_TOKEN);
	t->org = config_str(cfg, CK_INFLUX_ORG);
	t->bucket = config_str(cfg, CK_INFLUX_BUCKET);
	t->precision = a->prec;
	t->gzip = config_bool(cfg, CK_INFLUX_GZIP);
	t->timeout_ms = config_num(cfg, CK_INFLUX_TIMEOUT);
	t->connect_timeout_ms = config_num(cfg, CK_INFLUX_CONNECT_TIMEOUT);
}

static int
app_open(struct app *a)
{
	struct sink_opts so;
	enum stageio_err orc;
	enum deadletter_err drc;
	enum sink_err src;

	record_scratch_init(&a->rs);
	strbuf_init(&a->lp, 0);
	drc = deadletter_open(&a->dl, config_str(a->cfg, CK_DEAD_LETTER_FILE),
			      "influx-sink");
	if (drc) {
		log_error("cannot open dead-letter file '%s': %s",
			  config_str(a->cfg, CK_DEAD_LETTER_FILE),
			  strerror(errno));
		return EX_CANTCREAT;
	}
	orc = stage_in_open(&a->in, a->cfg);
	if (orc) {
		log_error("cannot open the input: %s", stage_in_errmsg(NULL));
		return orc == STAGEIO_ERR_USAGE ? EX_USAGE : EX_NOINPUT;
	}
	if (a->dry_run) {
		orc = stage_out_open(&a->out, a->cfg);
		if (orc) {
			log_error("cannot open the output: %s",
				  stage_out_errmsg(NULL));
			return orc == STAGEIO_ERR_USAGE ? EX_USAGE : EX_IOERR;
		}
		return EX_OK;
	}
	if (influx_global_init()) {
		log_error("cannot initialise libcurl");
		return EX_SOFTWARE;
	}
	memset(&so, 0, sizeof(so));
	app_target(a, &so.target);
	so.writers = a->writers;
	so.batch_size = (size_t)config_num(a->cfg, CK_INFLUX_BATCH_SIZE);
	so.flush_ms = config_num(a->cfg, CK_INFLUX_FLUSH_INTERVAL);
	so.retry_max_ms = config_num(a->cfg, CK_INFLUX_RETRY_MAX);
	so.create_db = config_bool(a->cfg, CK_INFLUX_CREATE_DB);
	so.dl = a->dl;
	/* writer threads must not take SIGTERM: only the reading loop does */
	stage_block_signals();
	src = sink_new(&a->sink, &so);
	stage_unblock_signals();
	if (src) {
		log_error("cannot start the writers: %s", sink_strerror(src));
		return EX_OSERR;
	}
	log_info("starting\turl=%s api=%s precision=%s batch_size=%zu flush_ms=%lld writers=%u gzip=%d max_buffered=%lld kind=%s",
		 so.target.url, so.target.api == INFLUX_API_V1 ? "v1" : "v2",
		 influx_precision_param(so.target.api, a->prec), so.batch_size,
		 (long long)so.flush_ms, so.writers, so.target.gzip ? 1 : 0,
		 (long long)config_num(a->cfg, CK_INFLUX_MAX_BUFFERED),
		 a->alerts ? "alerts" : "readings");
	return EX_OK;
}

/* One log field value without double quotes or controls. */
static void
app_safe(char *s)
{
	for (; *s; s++)
		if (*s == '"' || (unsigned char)*s < 0x20)
			*s = '\'';
}

/* A line that cannot become a point: counted, logged, dead-lettered. */
static int
app_reject(struct app *a, const char *reason, const char *detail,
	   const char *line, size_t len)
{
	struct deadletter_entry e;
	enum deadletter_err drc;
	uint64_t lineno = stage_in_lineno(a->in);
	char safe[300];

	a->bad++;
	snprintf(safe, sizeof(safe), "%s", detail);
	app_safe(safe);
	log_warn_limited(&a->lim, "refused an input line\treason=%s line=%llu detail=\"%s\"",
			 reason, (unsigned long long)lineno, safe);
	memset(&e, 0, sizeof(e));
	e.reason = reason;
	e.detail = detail;
	e.line = lineno;
	e.data = line;
	e.len = len;
	drc = deadletter_write(a->dl, &e);
	if (drc) {
		log_error("cannot write to dead-letter file '%s': %s: %s",
			  config_str(a->cfg, CK_DEAD_LETTER_FILE),
			  deadletter_strerror(drc), strerror(errno));
		return EX_IOERR;
	}
	if (a->strict) {
		log_error("bad input line with --strict: exiting\treason=%s line=%llu",
			  reason, (unsigned long long)lineno);
		return EX_DATAERR;
	}
	return EX_OK;
}

/*
 * Parses and converts one line into a->lp; *series_len for hashing.
 * Returns EX_OK, -1 when the line was refused (go on), or an exit status.
 */
static int
app_convert(struct app *a, const char *line, size_t len, size_t *series_len)
{
	enum record_err rrc;
	enum lineproto_err lrc;
	const char *where = NULL;
	char detail[300];
	int ex;

	strbuf_reset(&a->lp);
	if (a->alerts)
		rrc = record_parse_alert(&a->alert, line, len, &a->rs);
	else
		rrc = record_parse_reading(&a->reading, line, len, &a->rs);
	if (rrc) {
		const char *what = record_strerror(rrc);

		/* the detail may already start with what went wrong */
		if (strncmp(a->rs.detail, what, strlen(what)) == 0)
			snprintf(detail, sizeof(detail), "%s", a->rs.detail);
		else
			snprintf(detail, sizeof(detail), "%s: %s", what,
				 a->rs.detail);
		ex = app_reject(a, "bad_record", detail, line, len);
		return ex ? ex : -1;
	}
	if (a->alerts)
		lrc = lineproto_alert(&a->lp, &a->alert, a->prec, series_len,
				      &where);
	else
		lrc = lineproto_reading(&a->lp, &a->reading, a->prec,
					series_len, &where);
	if (lrc == LINEPROTO_ERR_NOMEM) {
		log_error("out of memory converting line %llu",
			  (unsigned long long)stage_in_lineno(a->in));
		return EX_OSERR;
	}
	if (lrc) {
		snprintf(detail, sizeof(detail), "%s: %s",
			 where ? where : "record", lineproto_strerror(lrc));
		ex = app_reject(a, "unwritable", detail, line, len);
		return ex ? ex : -1;
	}
	return EX_OK;
}

static int
app_out_error(struct app *a, enum stageio_err orc)
{
	const char *m = stage_out_errmsg(a->out);

	log_error("cannot write line protocol to the output: %s%s%s",
		  stageio_strerror(orc), m ? ": " : "", m ? m : "");
	return EX_IOERR;
}

static int
app_handle(struct app *a, const char *line, size_t len, struct stage_pos before,
	   int64_t now_ms)
{
	size_t series_len = 0;
	uint64_t hash = 0;
	enum stageio_err orc;
	int ex;

	ex = app_convert(a, line, len, &series_len);
	if (ex)
		return ex < 0 ? EX_OK : ex;
	if (a->dry_run) {
		orc = stage_out_write(a->out, a->lp.buf, a->lp.len);
		if (orc)
			return app_out_error(a, orc);
		a->dry_points++;
		return EX_OK;
	}
	if (a->writers > 1)
		hash = sink_hash(a->lp.buf, series_len);
	if (sink_add(a->sink, a->lp.buf, a->lp.len, hash,
		     stage_in_lineno(a->in), before, now_ms)) {
		log_error("out of memory holding a point");
		return EX_OSERR;
	}
	return EX_OK;
}

/*
 * Commits the input up to the oldest point not yet written. A journal
 * commit is an fsync, so it happens at most twice a second (and at the
 * end, forced): a crash replays a little more, never less.
 */
static void
app_commit(struct app *a, int64_t now_ms, bool force)
{
	struct stage_pos pos;
	uint64_t p;
	enum stageio_err rc;

	if (!force && now_ms - a->last_commit_ms < 500)
		return;
	if (a->dry_run) {
		pos = stage_in_tell(a->in);
	} else {
		p = sink_progress(a->sink);
		if (p == a->seen_progress && !force)
			return;
		a->seen_progress = p;
		pos = sink_low_water(a->sink, stage_in_tell(a->in));
	}
	a->last_commit_ms = now_ms;
	rc = stage_in_commit(a->in, pos);
	if (rc)
		log_warn("cannot commit the input position: %s",
			 stage_in_errmsg(a->in));
}

static void
app_stats(struct app *a, bool final)
{
	struct sink_stats st;
	int64_t now = time_mono_ms();
	double secs = (double)(now - a->last_ms) / 1000.0;

	if (secs <= 0)
		secs = 1e-3;
	if (a->dry_run) {
		log_info("%s\tin=%llu out=%llu bad=%llu rate_in=%.1f/s",
			 final ? "final stats" : "stats",
			 (unsigned long long)a->dry_points,
			 (unsigned long long)a->dry_points,
			 (unsigned long long)a->bad,
			 (double)(a->dry_points - a->last_in) / secs);
		a->last_in = a->dry_points;
		a->last_ms = now;
		return;
	}
	sink_get_stats(a->sink, &st);
	app_safe(st.last_error);
	log_info("%s\tin=%llu written=%llu rejected=%llu bad=%llu batches=%llu requests=%llu retries=%llu backlog=%llu rate_in=%.1f/s rate_out=%.1f/s p50_ms=%.0f p99_ms=%.0f last_error=\"%s\"",
		 final ? "final stats" : "stats",
		 (unsigned long long)st.in, (unsigned long long)st.written,
		 (unsigned long long)st.rejected, (unsigned long long)a->bad,
		 (unsigned long long)st.batches,
		 (unsigned long long)st.requests,
		 (unsigned long long)st.retries,
		 (unsigned long long)st.backlog,
		 (double)(st.in - a->last_in) / secs,
		 (double)(st.written - a->last_written) / secs, st.p50_ms,
		 st.p99_ms, st.last_error);
	a->last_in = st.in;
	a->last_written = st.written;
	a->last_ms = now;
}

static int
app_min_wait(int64_t a, int64_t b)
{
	if (a < 0)
		return (int)b;
	return (int)(a < b ? a : b);
}

/* Reads until EOF, a signal or a fatal error. */
static int
app_run(struct app *a)
{
	struct stage_ticker ticker;
	uint64_t max_buffered = (uint64_t)config_num(a->cfg,
						     CK_INFLUX_MAX_BUFFERED);
	enum stageio_err rc;
	const char *line;
	size_t len;
	int ex = EX_OK;
	int64_t now = 0;
	unsigned lines = 0;
	bool busy = false;

	stage_ticker_init(&ticker, config_num(a->cfg, CK_STATS_INTERVAL));
	a->last_ms = time_mono_ms();
	while (!stage_stop && ex == EX_OK) {
		int64_t flush_wait;
		int wait;
		struct stage_pos before;

		if (!a->dry_run && sink_failed(a->sink)) {
			ex = EX_IOERR;	/* logged by the writer */
			break;
		}
		/* the clock is read once per burst (and every 256 lines) */
		if (!busy || (++lines & 255) == 0)
			now = time_mono_ms();
		flush_wait = a->dry_run ? -1 : sink_tick(a->sink, now);
		wait = stage_ticker_wait(&ticker, now, 1000);
		if (stage_ticker_due(&ticker, now))
			app_stats(a, false);
		if (!a->dry_run) {
			app_commit(a, now, false);
			if (sink_backlog(a->sink) >= max_buffered) {
				/* backpressure: let the writers catch up */
				sink_seal_idle(a->sink);
				sink_wait(a->sink, app_min_wait(flush_wait,
								wait < 200 ? wait : 200));
				busy = false;
				continue;
			}
		}
		before = stage_in_tell(a->in);
		rc = stage_in_read(a->in, &line, &len,
				   app_min_wait(flush_wait, wait));
		switch (rc) {
		case STAGEIO_OK:
			/* a read that may have waited: the point is new now */
			if (!busy)
				now = time_mono_ms();
			ex = app_handle(a, line, len, before, now);
			break;
		case STAGEIO_TIMEOUT:
			break;
		case STAGEIO_EOF:
			a->eof = true;
			goto out;
		case STAGEIO_BAD_LINE:
			ex = app_reject(a, "bad_line", stage_in_bad_reason(a->in),
					"", 0);
			break;
		case STAGEIO_ERR_SYS:
		case STAGEIO_ERR_PIPE:
		case STAGEIO_ERR_NOMEM:
		case STAGEIO_ERR_JOURNAL:
		case STAGEIO_ERR_USAGE:
			log_error("cannot read the input: %s",
				  stage_in_errmsg(a->in));
			ex = EX_IOERR;
			goto out;
		}
		busy = rc == STAGEIO_OK && stage_in_ready(a->in);
		if (a->dry_run && ex == EX_OK && !busy) {
			rc = stage_out_flush(a->out);
			if (rc)
				ex = app_out_error(a, rc);
			else
				app_commit(a, now, false);
		}
	}
out:
	if (stage_stop)
		log_info("stopping on signal %d", (int)stage_stop_signal);
	return ex;
}

/*
 * Sends what is held, for at most twice INFLUX_TIMEOUT (long enough for a
 * request that was just sent to time out and one more try), then stops the
 * writers. Exit 75 when points were left unwritten.
 */
static int
app_drain(struct app *a, int ex)
{
	int64_t deadline;
	struct sink_stats st;

	if (a->dry_run)
		return ex;
	deadline = time_mono_ms() + 2 * config_num(a->cfg, CK_INFLUX_TIMEOUT);
	sink_seal_all(a->sink);
	while (sink_backlog(a->sink) > 0 && !sink_failed(a->sink)) {
		int64_t left = deadline - time_mono_ms();

		if (left <= 0)
			break;
		sink_wait(a->sink, left < 200 ? (int)left : 200);
		app_commit(a, time_mono_ms(), false);
	}
	sink_stop(a->sink);
	if (sink_failed(a->sink) && (ex == EX_OK || ex == EX_DATAERR))
		ex = EX_IOERR;
	app_commit(a, time_mono_ms(), true);
	app_stats(a, true);
	sink_get_stats(a->sink, &st);
	if (st.backlog > 0) {
		log_error("%llu points were not written to InfluxDB (last error: %s); a journal input replays them from the last commit",
			  (unsigned long long)st.backlog,
			  st.last_error[0] ? st.last_error : "none");
		if (ex == EX_OK)
			ex = EX_TEMPFAIL;
	}
	return ex;
}

static int
app_close(struct app *a, int ex)
{
	enum stageio_err orc;

	if (a->out) {
		orc = stage_out_close(a->out);
		if (orc && ex == EX_OK) {
			log_error("cannot flush the output: %s",
				  stageio_strerror(orc));
			ex = EX_IOERR;
		}
		app_stats(a, true);
		if (ex == EX_OK)
			app_commit(a, time_mono_ms(), true);
	}
	if (a->sink) {
		sink_free(a->sink);
		influx_global_cleanup();
	}
	if (a->in)
		stage_in_close(a->in);
	deadletter_close(a->dl);
	record_scratch_release(&a->rs);
	strbuf_release(&a->lp);
	return ex;
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	struct app a;
	int ex;

	ex = stage_init(&cfg, &app_info, argc, argv);
	if (ex >= 0)
		return ex;
	memset(&a, 0, sizeof(a));
	ex = app_configure(&a, &cfg);
	if (ex == EX_OK)
		ex = app_open(&a);
	if (ex == EX_OK) {
		ex = app_run(&a);
		ex = app_drain(&a, ex);
	}
	ex = app_close(&a, ex);
	config_release(&cfg);
	log_shutdown();
	return ex;
}
