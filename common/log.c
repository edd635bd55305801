/*
 * log: formats one line, scrubs secrets, and writes it with one write(2) per
 * destination under a mutex, so lines from threads never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "banned.h"

enum log_level log_current_level = LOG_LEVEL_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_prog[64] = "sensorpipe";
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static char *log_path;
static int log_fd = -1;
static char **log_secrets;
static size_t log_nsecrets;
static volatile sig_atomic_t log_reopen_wanted;

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};

void
log_init(const char *prog)
{
	snprintf(log_prog, sizeof(log_prog), "%s", prog ? prog : "sensorpipe");
}

/* Called with log_lock held. */
static enum log_err
log_open_file(void)
{
	int fd;

	if (!log_path)
		return LOG_OK;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return LOG_ERR_SYS;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	return LOG_OK;
}

enum log_err
log_configure(enum log_level level, enum log_format format, const char *file)
{
	enum log_err rc = LOG_OK;
	int saved;

	pthread_mutex_lock(&log_lock);
	log_current_level = level;
	log_fmt = format;
	free(log_path);
	log_path = NULL;
	if (log_fd >= 0) {
		close(log_fd);
		log_fd = -1;
	}
	if (file && *file) {
		log_path = strdup(file);
		if (!log_path) {
			errno = ENOMEM;
			rc = LOG_ERR_SYS;
		} else {
			rc = log_open_file();
		}
	}
	saved = errno;
	pthread_mutex_unlock(&log_lock);
	errno = saved;
	return rc;
}

enum log_err
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(log_level_names); i++)
		if (name && strcmp(name, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return LOG_OK;
		}
	return LOG_ERR_VALUE;
}

enum log_err
log_format_parse(const char *name, enum log_format *out)
{
	if (name && strcmp(name, "text") == 0) {
		*out = LOG_FORMAT_TEXT;
		return LOG_OK;
	}
	if (name && strcmp(name, "json") == 0) {
		*out = LOG_FORMAT_JSON;
		return LOG_OK;
	}
	return LOG_ERR_VALUE;
}

void
log_shutdown(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
	for (size_t i = 0; i < log_nsecrets; i++)
		free(log_secrets[i]);
	free(log_secrets);
	log_secrets = NULL;
	log_nsecrets = 0;
	log_fmt = LOG_FORMAT_TEXT;
	log_current_level = LOG_LEVEL_INFO;
	pthread_mutex_unlock(&log_lock);
}

void
log_add_secret(const char *value)
{
	char **grown;
	char *dup;

	if (!value || !*value)
		return;
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++)
		if (strcmp(log_secrets[i], value) == 0)
			goto out;
	dup = strdup(value);
	if (!dup)
		goto out;
	grown = realloc(log_secrets, (log_nsecrets + 1) * sizeof(*grown));
	if (!grown) {
		free(dup);
		goto out;
	}
	log_secrets = grown;
	log_secrets[log_nsecrets++] = dup;
out:
	pthread_mutex_unlock(&log_lock);
}

void
log_request_reopen(void)
{
	log_reopen_wanted = 1;
}

/* Replaces every registered secret in sb by "***". Lock held. */
static void
log_scrub(struct strbuf *sb)
{
	for (size_t i = 0; i < log_nsecrets; i++) {
		const char *sec = log_secrets[i];
		size_t n = strlen(sec);
		char *hit;
		size_t from = 0;

		while (sb->buf && (hit = strstr(sb->buf + from, sec)) != NULL) {
			size_t at = (size_t)(hit - sb->buf);
			struct strbuf t;

			strbuf_init(&t, 0);
			if (strbuf_add(&t, sb->buf, at) != 0 ||
			    strbuf_addstr(&t, "***") != 0 ||
			    strbuf_addstr(&t, sb->buf + at + n) != 0) {
				/* cannot rebuild: blank the secret in place */
				strbuf_release(&t);
				memset(hit, '*', n);
				from = at + n;
				continue;
			}
			strbuf_release(sb);
			*sb = t;
			from = at + 3;
		}
	}
}

/* Control characters would split a line: they become spaces. */
static void
log_flatten(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			*s = ' ';
}

/* JSON number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static bool
log_is_json_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return false;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return false;
	}
	if (i < n && s[i] == '.') {
		size_t d = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t d;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	return i == n;
}

/* Appends the key=value fields of `fields` as JSON members. */
static int
log_json_fields(struct strbuf *out, const char *fields)
{
	const char *p = fields;
	struct strbuf val;
	int rc = 0;

	strbuf_init(&val, 0);
	while (*p && rc == 0) {
		const char *k, *eq;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		k = p;
		while (*p && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		eq = p;
		strbuf_reset(&val);
		if (*p == '=') {
			p++;
			if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && p[1])
						p++;
					rc |= strbuf_addch(&val, *p);
				}
				if (*p == '"')
					p++;
				rc |= strbuf_addstr(&val, "");
				rc |= strbuf_addch(out, ',');
				rc |= strbuf_add_json_str(out, k, (size_t)(eq - k));
				rc |= strbuf_addch(out, ':');
				rc |= strbuf_add_json_str(out, val.buf, val.len);
				continue;
			}
			while (*p && *p != ' ' && *p != '\t')
				rc |= strbuf_addch(&val, *p++);
		}
		rc |= strbuf_addstr(&val, "");
		rc |= strbuf_addch(out, ',');
		rc |= strbuf_add_json_str(out, k, (size_t)(eq - k));
		rc |= strbuf_addch(out, ':');
		if (log_is_json_number(val.buf, val.len))
			rc |= strbuf_add(out, val.buf, val.len);
		else
			rc |= strbuf_add_json_str(out, val.buf, val.len);
	}
	strbuf_release(&val);
	return rc;
}

static void
log_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void
log_time(char *buf, size_t size)
{
	int64_t ns = time_now_ns();
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)((ns / 1000000) % 1000));
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	struct strbuf msg, line;
	char ts[80];
	char *tab;
	const char *fields = NULL;
	int saved = errno;
	int rc = 0;
	va_list cp;

	if (level > log_current_level)
		return;
	strbuf_init(&msg, 0);
	strbuf_init(&line, 0);
	va_copy(cp, ap);
	{
		char *tmp = NULL;
		int n = vasprintf(&tmp, fmt, cp);

		if (n < 0 || strbuf_add(&msg, tmp, (size_t)n) != 0 ||
		    strbuf_addstr(&msg, "") != 0) {
			free(tmp);
			va_end(cp);
			goto out;
		}
		free(tmp);
	}
	va_end(cp);
	log_time(ts, sizeof(ts));

	pthread_mutex_lock(&log_lock);
	log_scrub(&msg);
	log_flatten(msg.buf);
	tab = strchr(msg.buf, '\t');
	if (tab) {
		*tab = '\0';
		fields = tab + 1;
		for (char *p = tab + 1; *p; p++)
			if (*p == '\t')
				*p = ' ';
	}
	if (log_fmt == LOG_FORMAT_JSON) {
		rc |= strbuf_addstr(&line, "{\"time\":");
		rc |= strbuf_add_json_str(&line, ts, strlen(ts));
		rc |= strbuf_addstr(&line, ",\"prog\":");
		rc |= strbuf_add_json_str(&line, log_prog, strlen(log_prog));
		rc |= strbuf_addstr(&line, ",\"level\":");
		rc |= strbuf_add_json_str(&line, log_level_names[level],
					  strlen(log_level_names[level]));
		rc |= strbuf_addstr(&line, ",\"msg\":");
		rc |= strbuf_add_json_str(&line, msg.buf, strlen(msg.buf));
		if (fields)
			rc |= log_json_fields(&line, fields);
		rc |= strbuf_addstr(&line, "}\n");
	} else {
		rc |= strbuf_addf(&line, "%s %s %s: %s", ts, log_prog,
				  log_level_names[level], msg.buf);
		if (fields && *fields)
			rc |= strbuf_addf(&line, " %s", fields);
		rc |= strbuf_addch(&line, '\n');
	}
	if (rc == 0) {
		if (log_reopen_wanted) {
			log_reopen_wanted = 0;
			log_open_file();
		}
		log_write_all(STDERR_FILENO, line.buf, line.len);
		if (log_fd >= 0)
			log_write_all(log_fd, line.buf, line.len);
	}
	pthread_mutex_unlock(&log_lock);
out:
	strbuf_release(&msg);
	strbuf_release(&line);
	errno = saved;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_warn_limited(struct log_limit *lim, const char *fmt, ...)
{
	unsigned burst = lim->burst ? lim->burst : 5;
	int64_t window = lim->window_ms ? lim->window_ms : 60000;
	int64_t now = time_mono_ms();
	char *text = NULL;
	va_list ap;
	int n;

	if (lim->window_start == 0 || now - lim->window_start >= window) {
		lim->window_start = now ? now : 1;
		lim->shown = 0;
	}
	if (lim->shown >= burst) {
		lim->suppressed++;
		return;
	}
	lim->shown++;
	if (LOG_LEVEL_WARN > log_current_level)
		return;
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (lim->suppressed)
		log_msg(LOG_LEVEL_WARN, "%s%ssuppressed=%llu", text,
			strchr(text, '\t') ? " " : "\t",
			(unsigned long long)lim->suppressed);
	else
		log_msg(LOG_LEVEL_WARN, "%s", text);
	lim->suppressed = 0;
	free(text);
}
