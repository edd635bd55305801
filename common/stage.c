/*
 * stage: startup shared by every program (flags, configuration, logging,
 * signals) and the stats ticker.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "log.h"
#include "stage.h"
#include "util.h"
#include "banned.h"

#ifndef SENSORPIPE_VERSION
#define SENSORPIPE_VERSION "0.0.0"
#endif

volatile sig_atomic_t stage_stop;
volatile sig_atomic_t stage_stop_signal;

/* Handlers only set flags (STYLE.md §10.4). */
static void
stage_on_stop(int sig)
{
	stage_stop = 1;
	stage_stop_signal = sig;
}

static void
stage_on_hup(int sig)
{
	(void)sig;
	log_request_reopen();
}

static int
stage_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = stage_on_stop;
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = stage_on_hup;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGHUP, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	return sigaction(SIGPIPE, &sa, NULL);
}

static void
stage_log_config(const struct config *cfg)
{
	char st[300];

	if (log_current_level < LOG_LEVEL_DEBUG)
		return;
	for (int k = 0; k < CK__COUNT; k++) {
		const char *v = cfg->v[k].raw;

		if (!(config_keys[k].stages & cfg->stage))
			continue;
		config_source_text(cfg, k, st, sizeof(st));
		if (v && *v && (config_keys[k].flags & CF_SECRET))
			v = "<redacted>";
		log_debug("config\tkey=%s value=\"%s\" source=\"%s\"",
			  config_keys[k].name, v ? v : "", st);
	}
}

int
stage_init(struct config *cfg, const struct stage_info *info, int argc,
	   char *argv[])
{
	enum config_err crc;
	enum log_level level = LOG_LEVEL_INFO;
	enum log_format format = LOG_FORMAT_TEXT;
	const char *file;
	int ex = EX_CONFIG;

	log_init(info->prog);
	config_init(cfg, info->prog, info->stage);
	crc = config_parse_args(cfg, argc, argv, info->opts, info->nopts);
	switch (crc) {
	case CONFIG_OK:
		break;
	case CONFIG_HELP:
		config_usage(cfg, stdout, info->synopsis, info->description);
		ex = fflush(stdout) == 0 ? EX_OK : EX_IOERR;
		goto out;
	case CONFIG_VERSION:
		printf("%s (sensorpipe) %s\n", info->prog, SENSORPIPE_VERSION);
		ex = fflush(stdout) == 0 ? EX_OK : EX_IOERR;
		goto out;
	case CONFIG_ERR_NOMEM:
		log_error("%s", cfg->err);
		ex = EX_OSERR;
		goto out;
	case CONFIG_ERR_USAGE:
	case CONFIG_ERR_FILE:
	case CONFIG_ERR_SYNTAX:
	case CONFIG_ERR_VALUE:
	case CONFIG_ERR_PROD:
		log_error("%s", cfg->err);
		ex = EX_USAGE;
		goto out;
	}
	crc = config_load(cfg);
	if (crc != CONFIG_OK) {
		log_error("%s", cfg->err);
		ex = crc == CONFIG_ERR_NOMEM ? EX_OSERR : EX_CONFIG;
		goto out;
	}
	log_level_parse(config_str(cfg, CK_LOG_LEVEL), &level);
	log_format_parse(config_str(cfg, CK_LOG_FORMAT), &format);
	file = config_str(cfg, CK_LOG_FILE);
	for (int k = 0; k < CK__COUNT; k++)
		if (config_keys[k].flags & CF_SECRET)
			log_add_secret(config_str(cfg, k));
	if (log_configure(level, format, file) != LOG_OK) {
		log_error("cannot open log file '%s': open: %s", file,
			  strerror(errno));
		ex = EX_CONFIG;
		goto out;
	}
	if (cfg->print_config) {
		config_print(cfg, stdout);
		ex = fflush(stdout) == 0 ? EX_OK : EX_IOERR;
		goto out;
	}
	if (stage_install_signals() != 0) {
		log_error("cannot install signal handlers: sigaction: %s",
			  strerror(errno));
		ex = EX_OSERR;
		goto out;
	}
	stage_log_config(cfg);
	return -1;
out:
	config_release(cfg);
	return ex;
}

void
stage_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void
stage_unblock_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void
stage_ticker_init(struct stage_ticker *t, int64_t interval_ms)
{
	t->interval_ms = interval_ms > 0 ? interval_ms : 0;
	t->next_ms = t->interval_ms ? time_mono_ms() + t->interval_ms : 0;
}

bool
stage_ticker_due(struct stage_ticker *t, int64_t now_ms)
{
	if (t->interval_ms <= 0 || now_ms < t->next_ms)
		return false;
	t->next_ms += t->interval_ms;
	/* after a long stall, do not fire a burst of catch-up ticks */
	if (t->next_ms <= now_ms)
		t->next_ms = now_ms + t->interval_ms;
	return true;
}

int
stage_ticker_wait(const struct stage_ticker *t, int64_t now_ms, int cap_ms)
{
	int64_t left;

	if (t->interval_ms <= 0)
		return cap_ms;
	left = t->next_ms - now_ms;
	if (left < 0)
		left = 0;
	if (cap_ms >= 0 && left > cap_ms)
		left = cap_ms;
	return (int)left;
}
