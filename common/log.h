/*
 * log: one line per event on stderr (and LOG_FILE), text or JSON.
 * Owns: the log file descriptor and the list of secrets to scrub.
 * Never exits; a failed write to the log is ignored (there is nowhere else).
 *
 * Text:  2026-11-26T04:00:00.123Z mqtt-ingest info: reconnected attempts=3 down_s=7.0
 * JSON:  {"time":"...","prog":"mqtt-ingest","level":"info","msg":"reconnected","attempts":3,"down_s":7.0}
 *
 * A format string is the message, then optionally a TAB and key=value fields
 * separated by spaces; a value with spaces is double-quoted:
 *     log_info("reconnected\tattempts=%u down_s=%.1f", n, s);
 * Every registered secret (log_add_secret) is replaced by "***" in output.
 * Thread-safe: lines from several threads never interleave.
 */
#ifndef SENSORPIPE_LOG_H
#define SENSORPIPE_LOG_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

enum log_err {
	LOG_OK = 0,
	LOG_ERR_SYS,		/* the log file could not be opened: errno */
	LOG_ERR_VALUE,		/* unknown level or format name */
};

extern enum log_level log_current_level;

/* Program name used on every line; before log_configure, logs go to stderr
 * at level info in text. */
void log_init(const char *prog);
enum log_err log_configure(enum log_level level, enum log_format format,
			   const char *file);
enum log_err log_level_parse(const char *name, enum log_level *out);
enum log_err log_format_parse(const char *name, enum log_format *out);
/* Closes the log file and frees the secret list. */
void log_shutdown(void);

/* Values registered here never appear in a log line (empty ones ignored). */
void log_add_secret(const char *value);

/* Async-signal-safe: asks for LOG_FILE to be reopened before the next line
 * (call it from a SIGHUP handler, for logrotate). */
void log_request_reopen(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)                                                       \
	do {                                                                \
		if (log_current_level >= LOG_LEVEL_INFO)                    \
			log_msg(LOG_LEVEL_INFO, __VA_ARGS__);               \
	} while (0)
#define log_debug(...)                                                      \
	do {                                                                \
		if (log_current_level >= LOG_LEVEL_DEBUG)                   \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);              \
	} while (0)

/*
 * Rate-limited warnings: at most `burst` lines per `window_ms`; the rest are
 * counted, and the next line that passes first reports how many were held
 * back ("... suppressed=12"). Zero-initialise, then set burst and window_ms
 * (0 means 5 lines a minute). Not thread-safe: one limiter per thread.
 */
struct log_limit {
	unsigned burst;
	int64_t window_ms;
	int64_t window_start;
	unsigned shown;
	uint64_t suppressed;
};

void log_warn_limited(struct log_limit *lim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
