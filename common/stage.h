/*
 * stage: what every program does around its main loop: parse flags, load and
 * validate the configuration, set up logging and signals, print --help,
 * --version and --print-config. Owns the process-wide stop flag.
 * Never exits; stage_init returns the exit status for main to return, or -1
 * to go on.
 */
#ifndef SENSORPIPE_STAGE_H
#define SENSORPIPE_STAGE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Set by SIGTERM/SIGINT; loops check it between records. */
extern volatile sig_atomic_t stage_stop;
/* The signal that set stage_stop (0 while none). */
extern volatile sig_atomic_t stage_stop_signal;

struct stage_info {
	const char *prog;		/* "mqtt-ingest" */
	unsigned stage;			/* ST_INGEST */
	const char *synopsis;		/* "mqtt-ingest [OPTION]..." */
	const char *description;	/* a paragraph for --help */
	const struct config_opt *opts;	/* stage options, may be NULL */
	size_t nopts;
};

/*
 * config_init + config_parse_args + config_load, then logging (LOG_LEVEL,
 * LOG_FORMAT, LOG_FILE), secrets registered with log, signal handlers
 * (SIGTERM/SIGINT: stage_stop; SIGHUP: reopen LOG_FILE; SIGPIPE ignored).
 * Returns -1 to continue; otherwise the exit status: 0 after --help,
 * --version or --print-config, 64 for usage, 78 for configuration errors
 * (already logged as one line). When it returns anything but -1 it has
 * already called config_release(cfg) (calling it again is harmless).
 * --help, --version and --print-config are the only output on stdout.
 */
int stage_init(struct config *cfg, const struct stage_info *info, int argc,
	       char *argv[]);

/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; call before
 * creating library threads so that only the main thread takes them. */
void stage_block_signals(void);
void stage_unblock_signals(void);

/* Periodic stats: true once every STATS_INTERVAL (never when it is 0). */
struct stage_ticker {
	int64_t interval_ms;
	int64_t next_ms;
};
void stage_ticker_init(struct stage_ticker *t, int64_t interval_ms);
bool stage_ticker_due(struct stage_ticker *t, int64_t now_ms);
/* ms until due (for poll timeouts), capped at cap_ms; cap when disabled. */
int stage_ticker_wait(const struct stage_ticker *t, int64_t now_ms, int cap_ms);

#endif
