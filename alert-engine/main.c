/*
 * alert-engine: readings (NDJSON) in, alert events (NDJSON) out.
 * Rules from ALERT_RULES_FILE, states in ALERT_STATE_FILE, optional LLM
 * summaries (llm.c). See docs/alert-engine.md.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "deadletter.h"
#include "eval.h"
#include "exitcodes.h"
#include "llm.h"
#include "log.h"
#include "record.h"
#include "rules.h"
#include "stage.h"
#include "stageio.h"
#include "state.h"
#include "util.h"
#include "banned.h"

/* How long a read waits while summaries are in flight, and otherwise (the
 * wall-clock deadman check runs on these wake-ups). */
#define ENGINE_LLM_POLL_MS 5
#define ENGINE_IDLE_POLL_MS 100
/* Readings parsed ahead of the one being applied (engine_line). */
#define ENGINE_AHEAD 2

static const struct config_opt engine_opts[] = {
	{"check-rules", "FILE",
	 "validate the rules file FILE and exit: 0 when valid, 78 when not"},
};

static const struct stage_info engine_info = {
	.prog = "alert-engine",
	.stage = ST_ENGINE,
	.synopsis = "alert-engine [OPTION]... [--check-rules FILE]",
	.description =
		"Reads readings (NDJSON) and writes alert events (NDJSON): "
		"one 'fired' when a rule starts firing for a series, one "
		"'resolved' when it stops, and a 'summarized' event with an "
		"LLM summary when OPENAI_API_KEY is set (or OPENAI_BASE_URL "
		"points at a local server). Rules come from ALERT_RULES_FILE; "
		"with ALERT_STATE_FILE, states survive restarts.",
	.opts = engine_opts,
	.nopts = ARRAY_SIZE(engine_opts),
};

struct engine {
	struct config *cfg;
	struct rules rules;
	struct eval *eval;
	struct llm *llm;
	struct stage_in *in;
	struct stage_out *out;
	struct deadletter *dl;
	/* readings: parsed up to ENGINE_AHEAD lines ahead of the one applied
	 * (engine_line); each pending reading keeps its scratch */
	struct record_scratch scratch[ENGINE_AHEAD + 1];
	unsigned cur;			/* scratch of the next parse */
	struct reading pending[ENGINE_AHEAD];
	unsigned npending;
	struct record_scratch ascratch;	/* summarized events */
	struct strbuf line;
	struct log_limit bad_limit;
	struct stage_ticker stats;
	const char *state_path;
	enum stageio_err out_err;
	uint64_t in_lines, rejected, out_lines, summarized;
	uint64_t reasons[RECORD_ERR_NOMEM + 2];
	int64_t last_input_ms, next_save_ms, start_ms;
	double cpu_start;
	bool ran;
	/* journal input: lines up to the position saved with the states were
	 * applied before the restart; they are skipped, not applied twice */
	bool skip;
	struct stage_pos skip_to;
	uint64_t skipped;
	long rss_start_kib;
};

/* User + system CPU seconds of this process. */
static double
engine_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long
engine_rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, rss = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static const char *
engine_reason(enum record_err err)
{
	switch (err) {
	case RECORD_OK:
		return "ok";
	case RECORD_ERR_JSON:
		return "bad_json";
	case RECORD_ERR_UTF8:
		return "bad_utf8";
	case RECORD_ERR_NOT_OBJECT:
		return "not_object";
	case RECORD_ERR_MISSING:
		return "missing_key";
	case RECORD_ERR_TYPE:
		return "bad_type";
	case RECORD_ERR_EMPTY:
		return "empty_name";
	case RECORD_ERR_TIME:
		return "bad_time";
	case RECORD_ERR_NUMBER:
		return "bad_number";
	case RECORD_ERR_NO_FIELDS:
		return "no_fields";
	case RECORD_ERR_UNKNOWN_KEY:
		return "unknown_key";
	case RECORD_ERR_DUPLICATE:
		return "duplicate_key";
	case RECORD_ERR_VALUE:
		return "bad_value";
	case RECORD_ERR_TOO_BIG:
		return "too_big";
	case RECORD_ERR_NOMEM:
		return "nomem";
	}
	return "invalid";
}

static void
engine_write(struct engine *eng, const struct alert *a)
{
	strbuf_reset(&eng->line);
	if (record_write_alert(a, &eng->line) != 0) {
		log_warn_limited(&eng->bad_limit, "cannot encode alert event"
				 "\trule=\"%s\"", a->rule);
		return;
	}
	if (eng->out_err)
		return;
	eng->out_err = stage_out_write(eng->out, eng->line.buf, eng->line.len);
	eng->out_lines++;
}

static void
engine_emit(void *ctx, const struct eval_event *ev)
{
	struct engine *eng = ctx;

	engine_write(eng, &ev->alert);
	if (eng->llm && ev->alert.event == ALERT_FIRED && eng->line.len)
		(void)llm_submit(eng->llm, ev, eng->line.buf, eng->line.len,
				 time_mono_ms());
}

/* A summary arrived: the same episode id, a new event id. */
static void
engine_summarized(void *ctx, const char *alert_json, size_t len,
		  const char *summary, const void *episode,
		  int64_t started_at_ns)
{
	struct engine *eng = ctx;
	struct alert a;

	if (record_parse_alert(&a, alert_json, len, &eng->ascratch) !=
	    RECORD_OK)
		return;
	a.event = ALERT_SUMMARIZED;
	a.status = eval_episode_firing(eng->eval, episode, started_at_ns) ?
			   ALERT_FIRING : ALERT_STATUS_RESOLVED;
	eval_event_id(eng->eval, a.event_id);
	a.summary = summary;
	a.summary_source = "llm";
	engine_write(eng, &a);
	eng->summarized++;
}

static int
engine_check_rules(const char *path)
{
	struct rules rules;

	if (rules_load(&rules, path) != RULES_OK) {
		log_error("%s", rules.err);
		return EX_CONFIG;
	}
	log_info("rules file '%s' is valid\trules=%zu", path, rules.n);
	rules_release(&rules);
	return EX_OK;
}

static bool
engine_llm_enabled(const struct config *cfg)
{
	const char *key = config_str(cfg, CK_OPENAI_API_KEY);
	const char *url = config_str(cfg, CK_OPENAI_BASE_URL);
	const char *def = config_keys[CK_OPENAI_BASE_URL].def;

	return (key && *key) || (url && def && strcmp(url, def) != 0);
}

/* Rules, engine, state, LLM and dead letter; -1 to go on, else exit code. */
static int
engine_setup(struct engine *eng, struct config *cfg)
{
	struct eval_opts eo;
	struct state_info si;
	struct llm_opts lo;
	char err[512];
	const char *path = config_str(cfg, CK_ALERT_RULES_FILE);

	eng->cfg = cfg;
	for (size_t i = 0; i < ARRAY_SIZE(eng->scratch); i++)
		record_scratch_init(&eng->scratch[i]);
	record_scratch_init(&eng->ascratch);
	strbuf_init(&eng->line, 0);
	eng->bad_limit.burst = 5;
	eng->bad_limit.window_ms = 60000;
	if (rules_load(&eng->rules, path) != RULES_OK) {
		log_error("%s", eng->rules.err);
		return EX_CONFIG;
	}
	eo.lateness_ns = config_num(cfg, CK_ALERT_LATENESS) * 1000000;
	eo.flap_count = (unsigned)config_num(cfg, CK_ALERT_FLAP_COUNT);
	eo.flap_window_ns = config_num(cfg, CK_ALERT_FLAP_WINDOW) * 1000000;
	eo.keep_recent = engine_llm_enabled(cfg);
	if (eval_new(&eng->eval, &eng->rules, &eo) != EVAL_OK) {
		log_error("cannot start the rule engine: out of memory");
		return EX_OSERR;
	}
	eng->state_path = config_str(cfg, CK_ALERT_STATE_FILE);
	if (eng->state_path && !*eng->state_path)
		eng->state_path = NULL;
	if (eng->state_path) {
		if (state_load(eng->state_path, eng->eval, &si, err,
			       sizeof(err)) != STATE_OK) {
			log_error("%s", err);
			return EX_CONFIG;
		}
		log_info("state restored\tfile=\"%s\" states=%zu dropped=%zu",
			 eng->state_path, si.restored, si.dropped);
		eng->skip = cfg->in && strcmp(cfg->in, "-") != 0 &&
			    (si.pos.seg || si.pos.off);
		eng->skip_to = si.pos;
	}
	if (engine_llm_enabled(cfg)) {
		lo.base_url = config_str(cfg, CK_OPENAI_BASE_URL);
		lo.api_key = config_str(cfg, CK_OPENAI_API_KEY);
		lo.model = config_str(cfg, CK_LLM_MODEL);
		lo.timeout_ms = config_num(cfg, CK_LLM_TIMEOUT);
		lo.max_concurrency =
			(unsigned)config_num(cfg, CK_LLM_MAX_CONCURRENCY);
		lo.cooldown_ms = config_num(cfg, CK_LLM_COOLDOWN);
		if (llm_new(&eng->llm, &lo) != LLM_OK) {
			log_error("cannot set up LLM summaries: libcurl failed");
			return EX_SOFTWARE;
		}
		log_info("llm summaries on\turl=\"%s\" model=\"%s\"",
			 lo.base_url, lo.model);
	}
	if (deadletter_open(&eng->dl, config_str(cfg, CK_DEAD_LETTER_FILE),
			    "alert-engine") != DEADLETTER_OK) {
		log_error("cannot open dead letter file '%s': open: %m",
			  config_str(cfg, CK_DEAD_LETTER_FILE));
		return EX_CANTCREAT;
	}
	log_info("rules loaded\tfile=\"%s\" rules=%zu", path, eng->rules.n);
	return -1;
}

static int
engine_bad(struct engine *eng, const char *reason, const char *detail,
	   const char *line, size_t len)
{
	struct deadletter_entry de = {
		.reason = reason, .detail = detail,
		.line = stage_in_lineno(eng->in), .data = line, .len = len,
	};

	eng->rejected++;
	log_warn_limited(&eng->bad_limit, "bad input line\tline=%" PRIu64
			 " reason=%s detail=\"%s\"", de.line, reason,
			 detail ? detail : "");
	if (deadletter_write(eng->dl, &de) != DEADLETTER_OK)
		log_warn_limited(&eng->bad_limit, "cannot write dead letter: %m");
	if (eng->cfg->strict) {
		log_error("bad input line with --strict\tline=%" PRIu64, de.line);
		return EX_DATAERR;
	}
	return -1;
}

/* Applies the oldest pending reading; -1 to go on, else the exit code. */
static int
engine_apply_one(struct engine *eng)
{
	struct reading r = eng->pending[0];

	eng->npending--;
	memmove(eng->pending, eng->pending + 1,
		eng->npending * sizeof(eng->pending[0]));
	if (eval_reading(eng->eval, &r, engine_emit, eng) == EVAL_ERR_NOMEM) {
		log_error("out of memory in the rule engine");
		return EX_OSERR;
	}
	return -1;
}

/* Applies every pending reading, in order. */
static int
engine_apply(struct engine *eng)
{
	int ex = -1;

	while (eng->npending && ex < 0)
		ex = engine_apply_one(eng);
	eng->npending = 0;
	return ex;
}

/*
 * A reading is applied ENGINE_AHEAD lines after it was parsed (or when the
 * burst of ready lines ends), so that its series comes from memory in
 * steps while the readings before it are applied: its slot in the series
 * table when it is parsed, the series itself one line later. Readings are
 * applied in input order, each before anything a later line causes (a dead
 * letter, --strict), and all before output is flushed, states are saved or
 * the input is committed.
 */
static int
engine_line(struct engine *eng, const char *line, size_t len)
{
	struct record_scratch *sc = &eng->scratch[eng->cur];
	struct reading r;
	enum record_err rc;
	int ex;

	eng->in_lines++;
	if (eng->skip) {
		struct stage_pos p = stage_in_tell(eng->in);

		if (p.seg < eng->skip_to.seg ||
		    (p.seg == eng->skip_to.seg && p.off <= eng->skip_to.off)) {
			eng->skipped++;
			return -1;
		}
		eng->skip = false;
		if (eng->skipped)
			log_info("skipped input already in the state file"
				 "\tlines=%" PRIu64, eng->skipped);
	}
	rc = record_parse_reading(&r, line, len, sc);
	if (rc != RECORD_OK) {
		ex = engine_apply(eng);
		if (ex >= 0)
			return ex;
		eng->reasons[rc]++;
		return engine_bad(eng, engine_reason(rc), sc->detail, line,
				  len);
	}
	eval_prefetch_slot(eng->eval, &r);
	if (eng->npending)
		eval_prefetch(eng->eval, &eng->pending[eng->npending - 1]);
	ex = eng->npending == ENGINE_AHEAD ? engine_apply_one(eng) : -1;
	/* r's strings stay in sc until it is applied: the next parses use
	 * the other scratches */
	eng->pending[eng->npending++] = r;
	eng->cur = (eng->cur + 1) % ARRAY_SIZE(eng->scratch);
	return ex;
}

/* Output synced, then states saved with the input position, then the
 * input committed: a crash in between replays input we still hold. */
static int
engine_checkpoint(struct engine *eng)
{
	struct stage_pos pos = stage_in_tell(eng->in);
	enum stageio_err rc;
	char err[512];

	rc = stage_out_sync(eng->out);
	if (rc != STAGEIO_OK) {
		log_error("cannot write output: %s", stage_out_errmsg(eng->out));
		return EX_IOERR;
	}
	if (eng->state_path &&
	    state_save(eng->state_path, eng->eval, pos, err, sizeof(err)) !=
		    STATE_OK) {
		log_error("%s", err);
		return -1;	/* retried at the next interval */
	}
	if (stage_in_commit(eng->in, pos) != STAGEIO_OK)
		log_warn("cannot commit input position: %s",
			 stage_in_errmsg(eng->in));
	return -1;
}

static void
engine_log_stats(struct engine *eng, const char *what, int64_t now_ms)
{
	const struct eval_stats *es = eval_stats(eng->eval);
	const struct llm_stats *ls = eng->llm ? llm_stats(eng->llm) : NULL;
	double secs = (double)(now_ms - eng->start_ms) / 1000.0;
	double cpu = engine_cpu_s() - eng->cpu_start;
	long rss = engine_rss_kib();

	log_info("%s\tin=%" PRIu64 " out=%" PRIu64 " rejected=%" PRIu64
		 " too_late=%" PRIu64 " late=%" PRIu64 " fired=%" PRIu64
		 " resolved=%" PRIu64 " held=%" PRIu64 " summarized=%" PRIu64
		 " series=%" PRIu64 " states=%" PRIu64 " state_mem=%zu"
		 " rss_kib=%ld rss_delta_kib=%ld elapsed_s=%.3f cpu_s=%.3f"
		 " rate_in=%.0f/s rate_cpu=%.0f/s llm_requests=%" PRIu64
		 " llm_failed=%" PRIu64
		 " llm_skipped=%" PRIu64 " llm_breaker_opens=%" PRIu64,
		 what, eng->in_lines, eng->out_lines, eng->rejected,
		 es->too_late, es->late, es->fired, es->resolved, es->held,
		 eng->summarized, es->series, es->states,
		 eval_memory(eng->eval), rss, rss - eng->rss_start_kib, secs,
		 cpu, secs > 0 ? (double)eng->in_lines / secs : 0.0,
		 cpu > 0 ? (double)eng->in_lines / cpu : 0.0,
		 ls ? ls->requests : 0, ls ? ls->failed : 0,
		 ls ? ls->skipped_open + ls->dropped_queue : 0,
		 ls ? ls->breaker_opens : 0);
}

/* Between bursts: LLM step, wall-clock deadman, state save, stats. */
static int
engine_idle(struct engine *eng, bool timed_out)
{
	int64_t now = time_mono_ms();
	int ex = -1;

	if (eng->llm)
		llm_step(eng->llm, now, engine_summarized, eng);
	if (timed_out)
		eval_tick(eng->eval, (now - eng->last_input_ms) * 1000000,
			  engine_emit, eng);
	if (now >= eng->next_save_ms) {
		eng->next_save_ms = now + config_num(eng->cfg,
						     CK_ALERT_STATE_INTERVAL);
		ex = engine_checkpoint(eng);
	}
	if (stage_ticker_due(&eng->stats, now))
		engine_log_stats(eng, "stats", now);
	return ex;
}

static int
engine_timeout(const struct engine *eng)
{
	if (eng->llm && llm_pending(eng->llm))
		return ENGINE_LLM_POLL_MS;
	return ENGINE_IDLE_POLL_MS;
}

/* At the end of input: wait for summaries in flight (each is bounded by
 * LLM_TIMEOUT), unless asked to stop. */
static void
engine_drain_llm(struct engine *eng)
{
	while (eng->llm && llm_pending(eng->llm) && !stage_stop) {
		llm_step(eng->llm, time_mono_ms(), engine_summarized, eng);
		(void)poll(NULL, 0, ENGINE_LLM_POLL_MS);
	}
}

static int
engine_run(struct engine *eng)
{
	const char *line;
	size_t len;
	enum stageio_err rc;
	unsigned burst = 0;
	int ex = -1;

	eng->last_input_ms = time_mono_ms();
	eng->next_save_ms = eng->last_input_ms +
			    config_num(eng->cfg, CK_ALERT_STATE_INTERVAL);
	while (ex < 0 && !stage_stop) {
		/* with a line ready no wait is needed (and no clock read) */
		rc = stage_in_read(eng->in, &line, &len,
				   burst ? 0 : engine_timeout(eng));
		switch (rc) {
		case STAGEIO_OK:
			ex = engine_line(eng, line, len);
			break;
		case STAGEIO_BAD_LINE:
			eng->in_lines++;
			ex = engine_apply(eng);
			if (ex < 0)
				ex = engine_bad(eng, "too_long",
						stage_in_bad_reason(eng->in),
						"", 0);
			break;
		case STAGEIO_TIMEOUT:
			break;
		case STAGEIO_EOF:
			ex = EX_OK;
			break;
		case STAGEIO_ERR_SYS:
		case STAGEIO_ERR_PIPE:
		case STAGEIO_ERR_NOMEM:
		case STAGEIO_ERR_JOURNAL:
		case STAGEIO_ERR_USAGE:
			log_error("cannot read %s: %s", stage_in_name(eng->in),
				  stage_in_errmsg(eng->in));
			ex = EX_IOERR;
			break;
		}
		if (eng->out_err) {
			log_error("cannot write output: %s",
				  stage_out_errmsg(eng->out));
			return EX_IOERR;
		}
		if (rc == STAGEIO_OK || rc == STAGEIO_BAD_LINE) {
			/* one write per burst; a long burst still gets its
			 * LLM steps and saves every 4096 lines */
			if (stage_in_ready(eng->in) && ++burst < 4096)
				continue;
			burst = 0;
			eng->last_input_ms = time_mono_ms();
		}
		if (eng->npending) {
			int aex = engine_apply(eng);

			if (ex < 0 || ex == EX_OK)
				ex = aex >= 0 ? aex : ex;
		}
		if (stage_out_flush(eng->out) != STAGEIO_OK) {
			log_error("cannot write output: %s",
				  stage_out_errmsg(eng->out));
			return EX_IOERR;
		}
		if (ex < 0)
			ex = engine_idle(eng, rc == STAGEIO_TIMEOUT);
	}
	if (ex == EX_OK || ex < 0) {
		/* a stop asked for in the middle of a burst */
		int aex = engine_apply(eng);

		if (aex >= 0)
			return aex;
		engine_drain_llm(eng);
		if (eng->out_err)
			return EX_IOERR;
		ex = engine_checkpoint(eng);
		if (ex < 0)
			ex = EX_OK;
	}
	return ex;
}

/* Input and output; -1 to go on, else the exit code. */
static int
engine_open(struct engine *eng, struct config *cfg)
{
	enum stageio_err rc;

	rc = stage_in_open(&eng->in, cfg);
	if (rc != STAGEIO_OK) {
		log_error("cannot open input '%s': %s", cfg->in ? cfg->in : "-",
			  stageio_strerror(rc));
		eng->in = NULL;
		return rc == STAGEIO_ERR_USAGE ? EX_USAGE : EX_NOINPUT;
	}
	rc = stage_out_open(&eng->out, cfg);
	if (rc != STAGEIO_OK) {
		log_error("cannot open output '%s': %s",
			  cfg->out ? cfg->out : "-", stageio_strerror(rc));
		eng->out = NULL;
		return rc == STAGEIO_ERR_USAGE ? EX_USAGE : EX_CANTCREAT;
	}
	return -1;
}

static void
engine_release(struct engine *eng)
{
	if (eng->ran)
		engine_log_stats(eng, "done", time_mono_ms());
	llm_free(eng->llm);
	eval_free(eng->eval);
	rules_release(&eng->rules);
	deadletter_close(eng->dl);
	for (size_t i = 0; i < ARRAY_SIZE(eng->scratch); i++)
		record_scratch_release(&eng->scratch[i]);
	record_scratch_release(&eng->ascratch);
	strbuf_release(&eng->line);
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	struct engine eng;
	int ex;

	ex = stage_init(&cfg, &engine_info, argc, argv);
	if (ex >= 0)
		return ex;
	if (config_opt_set(&cfg, "check-rules")) {
		ex = engine_check_rules(config_opt(&cfg, "check-rules"));
		config_release(&cfg);
		return ex;
	}
	memset(&eng, 0, sizeof(eng));
	eng.start_ms = time_mono_ms();
	ex = engine_setup(&eng, &cfg);
	if (ex < 0)
		ex = engine_open(&eng, &cfg);
	if (ex < 0) {
		stage_ticker_init(&eng.stats, config_num(&cfg, CK_STATS_INTERVAL));
		eng.rss_start_kib = engine_rss_kib();
		eng.start_ms = time_mono_ms();
		eng.cpu_start = engine_cpu_s();
		eng.ran = true;
		ex = engine_run(&eng);
	}
	if (eng.out) {
		enum stageio_err orc = stage_out_close(eng.out);

		if (orc != STAGEIO_OK && ex == EX_OK) {
			log_error("cannot write output: %s",
				  stageio_strerror(orc));
			ex = EX_IOERR;
		}
	}
	if (eng.in)
		stage_in_close(eng.in);
	engine_release(&eng);
	config_release(&cfg);
	return ex;
}
