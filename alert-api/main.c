/*
 * alert-api: serves alert events (read from --in) and sensor data (queried
 * from InfluxDB) over HTTP. See docs/alert-api.md.
 *
 * Threads: the main thread reads the input and applies each event to the
 * store (and the stream hub); libmicrohttpd runs one thread per connection
 * that reads the store under its rwlock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "api.h"
#include "config.h"
#include "deadletter.h"
#include "exitcodes.h"
#include "http.h"
#include "influxq.h"
#include "journal.h"
#include "log.h"
#include "record.h"
#include "snapshot.h"
#include "sse.h"
#include "stage.h"
#include "stageio.h"
#include "store.h"
#include "util.h"
#include "banned.h"

/* Events kept for Last-Event-ID resumption (about 0.7 KiB each). */
#define SSE_RING 2048

static const struct stage_info info = {
	.prog = "alert-api",
	.stage = ST_API,
	.synopsis = "alert-api [OPTION]... [--in -|DIR --consumer NAME]",
	.description =
		"Reads alert events (NDJSON, from alert-engine) and serves them "
		"over HTTP with the sensors' data from InfluxDB: /alerts with "
		"filters and cursor pagination, /alerts/{id}, POST "
		"/alerts/{id}/ack, /alerts/stream (Server-Sent Events), "
		"/sensors, /sensors/{id}, /sensors/{id}/readings, /health, "
		"/ready, /metrics and a status page at /. The alert state is "
		"rebuilt from the input at start, or with a journal input and "
		"API_STATE_FILE restored from the state file and the journal "
		"after its cursor; acknowledgements are kept in API_ACK_FILE.",
};

struct app {
	struct config *cfg;
	struct store *store;
	struct influxq *influx;
	struct sse_hub *hub;
	struct api api;
	struct http *http;
	struct stage_in *in;
	struct deadletter *dl;
	uint64_t events, rejected;
	/* API_STATE_FILE, with a journal input only (else NULL) */
	const char *state_path;
	int64_t state_interval_ms, next_save_ms;
	bool dirty;		/* lines handled since the last save */
	/* lines up to skip_to are in the restored state: not applied again */
	bool skip;
	struct stage_pos skip_to;
	uint64_t skipped, saves;
};

static bool
input_is_journal(const struct config *cfg)
{
	return cfg->in && strcmp(cfg->in, "-") != 0;
}

static bool
pos_le(struct stage_pos a, struct stage_pos b)
{
	return a.seg < b.seg || (a.seg == b.seg && a.off <= b.off);
}

/* Refuses settings that would expose the API: exit 78 when not 0. */
static int
check_security(struct config *cfg)
{
	const char *listen = config_str(cfg, CK_API_LISTEN);
	bool token = config_is_set(cfg, CK_API_TOKEN) &&
		     *config_str(cfg, CK_API_TOKEN);

	if (config_bool(cfg, CK_API_AUTH_READS) && !token) {
		log_error("API_AUTH_READS=true needs API_TOKEN");
		return EX_CONFIG;
	}
	if (!http_is_loopback(listen) && !token) {
		if (config_is_prod(cfg)) {
			log_error("refusing to listen on '%s' beyond loopback "
				  "without API_TOKEN in prod", listen);
			return EX_CONFIG;
		}
		log_warn("listening on '%s' beyond loopback without API_TOKEN: "
			 "anyone who reaches it can acknowledge alerts", listen);
	}
	if (!config_is_set(cfg, CK_API_ACK_FILE))
		log_warn("API_ACK_FILE is not set: acknowledgements are lost "
			 "at restart");
	return 0;
}

/*
 * API_STATE_FILE: loads the state file into the new store. A missing file
 * starts empty; a damaged one too, with a warning (the journal after the
 * cursor is then all there is). Returns 0 or an exit status.
 */
static int
restore_state(struct app *app)
{
	struct config *cfg = app->cfg;
	struct snapshot_info si;
	char err[512];
	enum snapshot_err rc;
	int64_t t0;

	app->state_interval_ms = config_num(cfg, CK_API_STATE_INTERVAL);
	if (!config_is_set(cfg, CK_API_STATE_FILE) ||
	    !*config_str(cfg, CK_API_STATE_FILE)) {
		if (!input_is_journal(cfg))
			return 0;
		/* said once: this consumer holds every segment */
		log_msg(config_is_prod(cfg) ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
			"API_STATE_FILE is not set: the cursor of consumer '%s' "
			"is never committed, so the journal '%s' will not shrink "
			"(segments stay until JOURNAL_MAX_SIZE drops them) and "
			"each start reads all of it",
			cfg->consumer ? cfg->consumer : "", cfg->in);
		return 0;
	}
	if (!input_is_journal(cfg)) {
		log_warn("API_STATE_FILE is used with a journal input only "
			 "(--in DIR --consumer NAME): ignored");
		return 0;
	}
	app->state_path = config_str(cfg, CK_API_STATE_FILE);
	app->next_save_ms = time_mono_ms() + app->state_interval_ms;
	t0 = time_mono_ms();
	rc = snapshot_load(app->state_path, app->store, &si, err, sizeof(err));
	switch (rc) {
	case SNAPSHOT_OK:
		log_info("state restored\tfile=%s alerts=%zu in_seg=%llu "
			 "in_off=%llu ms=%lld", app->state_path, si.alerts,
			 (unsigned long long)si.pos.seg,
			 (unsigned long long)si.pos.off,
			 (long long)(time_mono_ms() - t0));
		app->skip = true;
		app->skip_to = si.pos;
		return 0;
	case SNAPSHOT_MISSING:
		log_info("no state file yet: starting with no alerts\tfile=%s",
			 app->state_path);
		return 0;
	case SNAPSHOT_ERR_FORMAT:
		log_warn("%s: starting with no alerts; only the journal after "
			 "the cursor of consumer '%s' is read (alerts before it "
			 "are not restored)", err,
			 cfg->consumer ? cfg->consumer : "");
		store_free(app->store);
		app->store = store_new((size_t)config_num(cfg,
							  CK_API_MAX_ALERTS));
		if (!app->store) {
			log_error("cannot allocate the alert store: out of "
				  "memory");
			return EX_OSERR;
		}
		return 0;
	case SNAPSHOT_ERR_SYS:
		log_error("%s", err);
		return EX_CANTCREAT;
	case SNAPSHOT_ERR_STORE:
		log_error("%s", err);
		return EX_OSERR;
	}
	return EX_SOFTWARE;
}

/*
 * After a restore: the lines up to the saved position are skipped when the
 * journal read from the cursor gets there. A position past the end of the
 * journal (the journal was recreated) or behind the cursor (an older state
 * file) skips nothing.
 */
static void
check_skip(struct app *app)
{
	struct stage_pos cur = stage_in_tell(app->in);
	struct journal_seg *segs = NULL;
	size_t n = 0, strays = 0;
	bool inside = true;

	if (journal_list_segments(app->cfg->in, &segs, &n, &strays) ==
	    JOURNAL_OK) {
		struct stage_pos end = {0, 0};

		if (n) {
			end.seg = segs[n - 1].seq;
			end.off = segs[n - 1].size;
		}
		inside = pos_le(app->skip_to, end);
	}
	free(segs);
	if (!inside) {
		log_warn("the state file's input position (segment %llu offset "
			 "%llu) is past the end of journal '%s': keeping its "
			 "alerts and reading the journal from the cursor",
			 (unsigned long long)app->skip_to.seg,
			 (unsigned long long)app->skip_to.off, app->cfg->in);
		app->skip = false;
	} else if (pos_le(app->skip_to, cur)) {
		if (memcmp(&app->skip_to, &cur, sizeof(cur)) != 0)
			log_warn("the state file's input position (segment "
				 "%llu offset %llu) is behind the cursor "
				 "(segment %llu offset %llu): alerts of the "
				 "lines between are missing",
				 (unsigned long long)app->skip_to.seg,
				 (unsigned long long)app->skip_to.off,
				 (unsigned long long)cur.seg,
				 (unsigned long long)cur.off);
		app->skip = false;
	}
}

/*
 * Saves the state with the input position, then commits that position:
 * lines before it are durably in the state file. Returns 0, or -1 when the
 * save or the commit failed (logged; the next save tries again, and the
 * journal still holds everything after the last commit).
 */
static int
save_state(struct app *app)
{
	struct stage_pos pos = stage_in_tell(app->in);
	struct snapshot_info si;
	char err[512];
	int64_t t0 = time_mono_ms();
	enum stageio_err sr;

	if (snapshot_save(app->state_path, app->store, pos, &si, err,
			  sizeof(err)) != SNAPSHOT_OK) {
		log_error("%s", err);
		return -1;
	}
	app->dirty = false;
	app->saves++;
	log_debug("state saved\talerts=%zu bytes=%llu in_seg=%llu "
		  "in_off=%llu ms=%lld", si.alerts,
		  (unsigned long long)si.bytes, (unsigned long long)pos.seg,
		  (unsigned long long)pos.off,
		  (long long)(time_mono_ms() - t0));
	sr = stage_in_commit(app->in, pos);
	if (sr) {
		log_error("cannot commit %s: %s", stage_in_name(app->in),
			  stage_in_errmsg(app->in));
		return -1;
	}
	return 0;
}

/* Saves when API_STATE_INTERVAL passed since the last try and lines came. */
static void
maybe_save_state(struct app *app)
{
	int64_t now;

	if (!app->state_path || !app->dirty)
		return;
	now = time_mono_ms();
	if (now < app->next_save_ms)
		return;
	app->next_save_ms = now + app->state_interval_ms;
	(void)save_state(app);
}

/*
 * Whether the line just read is in the restored state already. The line
 * that ends at the saved position also commits it (the state file has
 * every line before it).
 */
static bool
skip_line(struct app *app)
{
	struct stage_pos p;

	if (!app->skip)
		return false;
	p = stage_in_tell(app->in);
	if (pos_le(p, app->skip_to)) {
		app->skipped++;
		if (memcmp(&p, &app->skip_to, sizeof(p)) == 0 &&
		    stage_in_commit(app->in, p))
			log_error("cannot commit %s: %s",
				  stage_in_name(app->in),
				  stage_in_errmsg(app->in));
		return true;
	}
	app->skip = false;
	log_info("skipped input already in the state file\tlines=%llu",
		 (unsigned long long)app->skipped);
	return false;
}

static int
setup(struct app *app)
{
	struct config *cfg = app->cfg;
	struct influxq_conf iq = {
		.url = config_str(cfg, CK_INFLUX_URL),
		.db = config_str(cfg, CK_INFLUX_DB),
		.rp = config_str(cfg, CK_INFLUX_RP),
		.user = config_str(cfg, CK_INFLUX_USERNAME),
		.password = config_str(cfg, CK_INFLUX_PASSWORD),
		.token = config_str(cfg, CK_INFLUX_TOKEN),
		.timeout_ms = config_num(cfg, CK_INFLUX_TIMEOUT),
		.connect_timeout_ms = config_num(cfg, CK_INFLUX_CONNECT_TIMEOUT),
		.max_points = (size_t)config_num(cfg, CK_API_MAX_POINTS),
	};
	int64_t timeout = config_num(cfg, CK_API_CONN_TIMEOUT);
	size_t replayed, bad;
	const char *ackfile = config_str(cfg, CK_API_ACK_FILE);
	enum stageio_err sr;
	int ex;

	app->store = store_new((size_t)config_num(cfg, CK_API_MAX_ALERTS));
	app->influx = influxq_new(&iq);
	/* a heartbeat well inside the idle timeout keeps streams open */
	app->hub = sse_hub_new(SSE_RING, timeout / 2 < 15000 ? timeout / 2
							     : 15000);
	if (!app->store || !app->influx || !app->hub) {
		log_error("cannot allocate the alert store: out of memory");
		return EX_OSERR;
	}
	ex = restore_state(app);
	if (ex)
		return ex;
	if (ackfile && *ackfile) {
		if (store_acklog_open(app->store, ackfile, &replayed, &bad)) {
			log_error("cannot open acknowledgements log '%s': %s",
				  ackfile, strerror(errno));
			return EX_CANTCREAT;
		}
		log_info("acknowledgements replayed\tfile=%s acks=%zu bad=%zu",
			 ackfile, replayed, bad);
	}
	if (deadletter_open(&app->dl, config_str(cfg, CK_DEAD_LETTER_FILE),
			    "alert-api")) {
		log_error("cannot open dead letter file '%s': %s",
			  config_str(cfg, CK_DEAD_LETTER_FILE), strerror(errno));
		return EX_CANTCREAT;
	}
	sr = stage_in_open(&app->in, cfg);
	if (sr) {
		log_error("cannot open input: %s", stageio_strerror(sr));
		return sr == STAGEIO_ERR_USAGE ? EX_USAGE : EX_NOINPUT;
	}
	if (app->skip)
		check_skip(app);
	api_init(&app->api);
	app->api.store = app->store;
	app->api.influx = app->influx;
	app->api.hub = app->hub;
	app->api.token = config_is_set(cfg, CK_API_TOKEN) &&
					 *config_str(cfg, CK_API_TOKEN)
				 ? config_str(cfg, CK_API_TOKEN)
				 : NULL;
	app->api.auth_reads = config_bool(cfg, CK_API_AUTH_READS);
	app->api.max_body = (size_t)config_num(cfg, CK_API_MAX_BODY);
	app->api.max_points = (size_t)config_num(cfg, CK_API_MAX_POINTS);
	return 0;
}

static int
start_http(struct app *app)
{
	struct config *cfg = app->cfg;
	struct http_conf hc = {
		.listen = config_str(cfg, CK_API_LISTEN),
		.max_connections = (unsigned)config_num(cfg, CK_API_MAX_CONNECTIONS),
		.max_per_ip = (unsigned)config_num(cfg, CK_API_MAX_PER_IP),
		.timeout_ms = config_num(cfg, CK_API_CONN_TIMEOUT),
		.max_body = (size_t)config_num(cfg, CK_API_MAX_BODY),
	};
	char err[256];
	enum http_err rc;

	/* the daemon's threads inherit the mask: signals reach main only */
	stage_block_signals();
	rc = http_start(&app->http, &hc, &app->api, err, sizeof(err));
	stage_unblock_signals();
	if (rc) {
		log_error("%s", err);
		return rc == HTTP_ERR_ADDRESS ? EX_CONFIG : EX_UNAVAILABLE;
	}
	log_info("listening\taddress=%s", hc.listen);
	return 0;
}

/*
 * A line that is not an alert event: counted, warned, dead-lettered.
 * Returns EX_OK to go on, EX_IOERR when the dead letter cannot be written,
 * EX_DATAERR with --strict.
 */
static int
reject_line(struct app *app, struct log_limit *lim, const char *reason,
	    const char *detail, const char *line, size_t len)
{
	struct deadletter_entry e = {
		.reason = reason,
		.detail = detail,
		.line = stage_in_lineno(app->in),
		.data = line,
		.len = len,
	};
	enum deadletter_err drc;

	app->rejected++;
	log_warn_limited(lim, "bad input line\tline=%llu reason=\"%s\"",
			 (unsigned long long)stage_in_lineno(app->in), detail);
	drc = deadletter_write(app->dl, &e);
	if (drc) {
		log_error("cannot write to dead-letter file '%s': %s: %s",
			  config_str(app->cfg, CK_DEAD_LETTER_FILE),
			  deadletter_strerror(drc), strerror(errno));
		return EX_IOERR;
	}
	if (app->cfg->strict) {
		log_error("bad input line with --strict\tline=%llu",
			  (unsigned long long)stage_in_lineno(app->in));
		return EX_DATAERR;
	}
	return EX_OK;
}

/* Applies one input line; a bad one goes to reject_line. Returns EX_OK to
 * go on, or an exit status. */
static int
apply_line(struct app *app, struct record_scratch *scr, struct strbuf *sb,
	   struct log_limit *lim, const char *line, size_t len)
{
	struct alert a;
	enum record_err rc = record_parse_alert(&a, line, len, scr);
	enum store_err sr;

	if (rc)
		return reject_line(app, lim, record_strerror(rc), scr->detail,
				   line, len);
	sr = store_apply(app->store, &a);
	if (sr) {
		app->rejected++;
		log_warn_limited(lim, "alert not stored\tid=%s reason=\"%s\"",
				 a.id, store_strerror(sr));
		return EX_OK;	/* a good line; memory ran out */
	}
	app->events++;
	strbuf_reset(sb);
	if (store_get(app->store, a.id, sb) == STORE_OK)
		sse_publish(app->hub, alert_kind_name(a.event), sb->buf, sb->len);
	return EX_OK;
}

static void
log_stats(struct app *app)
{
	struct store_stats st;

	store_get_stats(app->store, &st);
	log_info("stats\tevents=%llu rejected=%llu alerts=%zu firing=%llu "
		 "evicted=%llu sse_clients=%u",
		 (unsigned long long)app->events,
		 (unsigned long long)app->rejected, st.alerts,
		 (unsigned long long)(st.by[ALERT_FIRING][0] +
				      st.by[ALERT_FIRING][1] +
				      st.by[ALERT_FIRING][2]),
		 (unsigned long long)st.evicted, sse_clients(app->hub));
}

/* After EOF: a regular file on stdin is complete, a pipe is closed. */
static enum api_input
input_end_state(const struct config *cfg)
{
	struct stat st;

	if (cfg->in && strcmp(cfg->in, "-") != 0)
		return API_INPUT_CLOSED;
	if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		return API_INPUT_DONE;
	return API_INPUT_CLOSED;
}

static int
run(struct app *app)
{
	struct record_scratch scr;
	struct strbuf sb;
	struct stage_ticker tick;
	struct log_limit lim = {.burst = 5, .window_ms = 60000};
	const char *line;
	size_t len;
	bool eof = false;
	int ex = EX_OK;

	record_scratch_init(&scr);
	strbuf_init(&sb, 0);
	stage_ticker_init(&tick, config_num(app->cfg, CK_STATS_INTERVAL));
	while (!stage_stop) {
		enum stageio_err rc;

		if (stage_ticker_due(&tick, time_mono_ms()))
			log_stats(app);
		maybe_save_state(app);
		if (eof) {
			struct timespec ts = {0, 200 * 1000000L};

			nanosleep(&ts, NULL);
			continue;
		}
		rc = stage_in_read(app->in, &line, &len, 500);
		switch (rc) {
		case STAGEIO_OK:
			/*
			 * No stage_in_commit here: only a saved state file
			 * (save_state, API_STATE_FILE) makes applied lines
			 * durable. Without one the cursor stays at the oldest
			 * segment and a restart reads the journal again;
			 * retention is then bounded by JOURNAL_MAX_SIZE.
			 */
			if (skip_line(app))
				break;
			ex = apply_line(app, &scr, &sb, &lim, line, len);
			if (ex)
				goto out;
			app->dirty = true;
			break;
		case STAGEIO_TIMEOUT:
			break;
		case STAGEIO_BAD_LINE:
			if (skip_line(app))
				break;
			ex = reject_line(app, &lim, "bad_line",
					 stage_in_bad_reason(app->in), "", 0);
			if (ex)
				goto out;
			app->dirty = true;
			break;
		case STAGEIO_EOF:
			eof = true;
			atomic_store(&app->api.input, input_end_state(app->cfg));
			log_info("input ended; serving what was read\tevents=%llu",
				 (unsigned long long)app->events);
			break;
		case STAGEIO_ERR_SYS:
		case STAGEIO_ERR_PIPE:
		case STAGEIO_ERR_NOMEM:
		case STAGEIO_ERR_JOURNAL:
		case STAGEIO_ERR_USAGE:
			atomic_store(&app->api.input, API_INPUT_FAILED);
			log_error("cannot read %s: %s", stage_in_name(app->in),
				  stage_in_errmsg(app->in));
			ex = EX_IOERR;
			goto out;
		}
	}
	log_info("stopping\tsignal=%d events=%llu", (int)stage_stop_signal,
		 (unsigned long long)app->events);
	if (app->state_path && app->dirty && save_state(app))
		ex = EX_IOERR;
	if (app->state_path)
		log_info("state file\tfile=%s saves=%llu skipped=%llu",
			 app->state_path, (unsigned long long)app->saves,
			 (unsigned long long)app->skipped);
out:
	record_scratch_release(&scr);
	strbuf_release(&sb);
	return ex;
}

static void
teardown(struct app *app)
{
	if (app->hub)
		sse_hub_stop(app->hub);	/* ends streams before the daemon */
	http_stop(app->http);
	if (app->in)
		stage_in_close(app->in);
	deadletter_close(app->dl);
	influxq_free(app->influx);
	sse_hub_free(app->hub);
	store_free(app->store);
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	struct app app;
	int ex;

	ex = stage_init(&cfg, &info, argc, argv);
	if (ex >= 0)
		return ex;
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	ex = check_security(&cfg);
	if (ex)
		goto out;
	json_object_seed(0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot initialise libcurl");
		ex = EX_SOFTWARE;
		goto out;
	}
	ex = setup(&app);
	if (ex == 0)
		ex = start_http(&app);
	if (ex == 0)
		ex = run(&app);
	teardown(&app);
	curl_global_cleanup();
out:
	config_release(&cfg);
	log_shutdown();
	return ex;
}
