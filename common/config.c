/*
 * config: the key table, the .env parser, precedence, typed validation,
 * --help, --print-config and the Markdown reference.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "banned.h"

const struct config_keyinfo config_keys[CK__COUNT] = {
#define KEY(name, type, def, stages, flags, min, max, choices, help)        \
	{#name, type, def, stages, flags, min, max, choices, help},
#include "config_keys.h"
#undef KEY
};

/* One KEY=VALUE line of an env file. */
struct config_entry {
	char *key;
	char *value;
	unsigned line;
};

struct config_envfile {
	char *path;
	struct config_entry *e;
	size_t n;
};

static const char *const config_placeholders[] = {
	"your-token", "your-org", "your-api-key", "your-password",
	"changeme", "change-me", "changeit", "password", "secret", "xxx",
	"todo",
};

static void
config_errf(struct config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
config_errf(struct config *cfg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg->err, sizeof(cfg->err), fmt, ap);
	va_end(ap);
}

static int
config_key_by_name(const char *name)
{
	for (int k = 0; k < CK__COUNT; k++)
		if (strcmp(config_keys[k].name, name) == 0)
			return k;
	return -1;
}

static bool
config_key_used(const struct config *cfg, int k)
{
	return (config_keys[k].stages & cfg->stage) != 0;
}

/* "MQTT_URL" -> "mqtt-url" */
static void
config_flag_name(const char *key, char *buf, size_t size)
{
	size_t i;

	for (i = 0; key[i] && i + 1 < size; i++)
		buf[i] = key[i] == '_' ? '-' : (char)tolower((unsigned char)key[i]);
	buf[i] = '\0';
}

void
config_init(struct config *cfg, const char *prog, unsigned stage)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->prog = prog;
	cfg->stage = stage;
	cfg->in = "-";
	cfg->out = "-";
}

static void
config_value_clear(struct config_value *v)
{
	free(v->raw);
	if (v->list) {
		for (size_t i = 0; i < v->nlist; i++)
			free(v->list[i]);
		free(v->list);
	}
	free(v->src_file);
	memset(v, 0, sizeof(*v));
}

void
config_release(struct config *cfg)
{
	for (int k = 0; k < CK__COUNT; k++) {
		config_value_clear(&cfg->v[k]);
		free(cfg->flag_val[k]);
		cfg->flag_val[k] = NULL;
	}
}

/* ---- command line ---- */

static enum config_err
config_store_flag(struct config *cfg, int k, const char *val)
{
	char *dup = strdup(val);

	if (!dup) {
		config_errf(cfg, "out of memory");
		return CONFIG_ERR_NOMEM;
	}
	free(cfg->flag_val[k]);
	cfg->flag_val[k] = dup;
	return CONFIG_OK;
}

enum config_err
config_parse_args(struct config *cfg, int argc, char *argv[],
		  const struct config_opt *opts, size_t nopts)
{
	static const char *const with_arg[] = {
		"env-file", "in", "out", "consumer", "dead-letter",
	};
	static const char *const switches[] = {
		"help", "version", "print-config", "strict",
	};

	if (nopts > CONFIG_MAX_OPTS) {
		config_errf(cfg, "too many stage options (%zu)", nopts);
		return CONFIG_ERR_USAGE;
	}
	cfg->opts = opts;
	cfg->nopts = nopts;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char name[128];
		const char *eq, *val = NULL;
		bool takes_arg = false, found = false;
		size_t len;
		int key = -1, opt = -1, common = -1;

		if (strcmp(arg, "-h") == 0)
			return CONFIG_HELP;
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			config_errf(cfg, "unexpected argument '%s' (see --help)",
				    arg);
			return CONFIG_ERR_USAGE;
		}
		eq = strchr(arg + 2, '=');
		len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
		if (len >= sizeof(name)) {
			config_errf(cfg, "unknown option '%.40s...' (see --help)",
				    arg);
			return CONFIG_ERR_USAGE;
		}
		memcpy(name, arg + 2, len);
		name[len] = '\0';

		for (size_t j = 0; j < ARRAY_SIZE(switches) && !found; j++)
			if (strcmp(name, switches[j]) == 0) {
				found = true;
				common = (int)j;
			}
		for (size_t j = 0; j < ARRAY_SIZE(with_arg) && !found; j++)
			if (strcmp(name, with_arg[j]) == 0) {
				found = true;
				takes_arg = true;
				common = 100 + (int)j;
			}
		for (size_t j = 0; j < nopts && !found; j++)
			if (strcmp(name, opts[j].name) == 0) {
				found = true;
				takes_arg = opts[j].arg != NULL;
				opt = (int)j;
			}
		for (int k = 0; k < CK__COUNT && !found; k++) {
			char fl[128];

			if (!config_key_used(cfg, k))
				continue;
			config_flag_name(config_keys[k].name, fl, sizeof(fl));
			if (strcmp(name, fl) == 0) {
				found = true;
				takes_arg = true;
				key = k;
			}
		}
		if (!found) {
			config_errf(cfg, "unknown option '--%s' (see --help)",
				    name);
			return CONFIG_ERR_USAGE;
		}
		if (takes_arg) {
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				config_errf(cfg, "option '--%s' needs an argument "
					    "(see --help)", name);
				return CONFIG_ERR_USAGE;
			}
		} else if (eq) {
			config_errf(cfg, "option '--%s' takes no value "
				    "(see --help)", name);
			return CONFIG_ERR_USAGE;
		}

		if (key >= 0) {
			enum config_err rc = config_store_flag(cfg, key, val);

			if (rc)
				return rc;
		} else if (opt >= 0) {
			cfg->opt_set[opt] = true;
			cfg->opt_val[opt] = val;
		} else {
			switch (common) {
			case 0:
				return CONFIG_HELP;
			case 1:
				return CONFIG_VERSION;
			case 2:
				cfg->print_config = true;
				break;
			case 3:
				cfg->strict = true;
				break;
			case 100:
				cfg->env_file = val;
				break;
			case 101:
				cfg->in = val;
				break;
			case 102:
				cfg->out = val;
				break;
			case 103:
				cfg->consumer = val;
				break;
			case 104: {
				enum config_err rc = config_store_flag(
					cfg, CK_DEAD_LETTER_FILE, val);

				if (rc)
					return rc;
				break;
			}
			}
		}
	}
	return CONFIG_OK;
}

/* ---- typed values ---- */

static int
config_parse_uint(const char *s, const char **end, int64_t *out)
{
	int64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		int d = *s - '0';

		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*end = s;
	*out = v;
	return 0;
}

int
config_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t mul;
	} units[] = {
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
	};
	const char *end;
	int64_t v;

	if (!s || config_parse_uint(s, &end, &v) != 0)
		return -1;
	if (*end == '\0') {
		if (v != 0)
			return -1;
		*ms = 0;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (v > INT64_MAX / units[i].mul)
			return -1;
		*ms = v * units[i].mul;
		return 0;
	}
	return -1;
}

int
config_parse_size(const char *s, int64_t *bytes)
{
	static const struct {
		const char *unit;
		int64_t mul;
	} units[] = {
		{"", 1}, {"B", 1},
		{"KiB", 1024}, {"MiB", 1024LL * 1024},
		{"GiB", 1024LL * 1024 * 1024},
		{"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000},
	};
	const char *end;
	int64_t v;

	if (!s || config_parse_uint(s, &end, &v) != 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcasecmp(end, units[i].unit) != 0)
			continue;
		if (v > INT64_MAX / units[i].mul)
			return -1;
		*bytes = v * units[i].mul;
		return 0;
	}
	return -1;
}

int
config_parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	if (!s)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return 0;
		}
	}
	return -1;
}

/* "tcp|ssl|mqtt" -> index of s, or -1; sep is "|" */
static int
config_choice_index(const char *choices, const char *s, size_t slen)
{
	const char *p = choices;
	int idx = 0;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == slen && strncasecmp(p, s, n) == 0)
			return idx;
		idx++;
		p = bar ? bar + 1 : NULL;
	}
	return -1;
}

/* "a|b|c" -> "a, b, c" */
static void
config_choices_text(const char *choices, char *buf, size_t size)
{
	size_t o = 0;

	for (const char *p = choices; p && *p && o + 3 < size; p++) {
		if (*p == '|') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else {
			buf[o++] = *p;
		}
	}
	buf[o] = '\0';
}

/* A duration in ms in its largest exact unit: 3600000 -> "1h". */
static void
config_duration_text(int64_t ms, char *buf, size_t size)
{
	if (ms == 0)
		snprintf(buf, size, "0");
	else if (ms % 3600000 == 0)
		snprintf(buf, size, "%" PRId64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, size, "%" PRId64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%" PRId64 "s", ms / 1000);
	else
		snprintf(buf, size, "%" PRId64 "ms", ms);
}

static void
config_size_text(int64_t b, char *buf, size_t size)
{
	if (b != 0 && b % (1024LL * 1024 * 1024) == 0)
		snprintf(buf, size, "%" PRId64 "GiB", b >> 30);
	else if (b != 0 && b % (1024 * 1024) == 0)
		snprintf(buf, size, "%" PRId64 "MiB", b >> 20);
	else if (b != 0 && b % 1024 == 0)
		snprintf(buf, size, "%" PRId64 "KiB", b >> 10);
	else
		snprintf(buf, size, "%" PRId64 "B", b);
}

static int
config_port_ok(const char *s, size_t n)
{
	int64_t v = 0;

	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535;
}

static int
config_host_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (s[0] == '[')
		return n > 2 && s[n - 1] == ']';
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]) || s[i] == '/' ||
		    s[i] == '[' || s[i] == ']' || s[i] == ':')
			return 0;
	return 1;
}

/* host:port or [v6]:port; 0 when fine. */
static int
config_check_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');

	if (!colon)
		return -1;
	if (!config_host_ok(s, (size_t)(colon - s)))
		return -1;
	return config_port_ok(colon + 1, strlen(colon + 1)) ? 0 : -1;
}

/* Checks a URL; fills why when wrong. */
static int
config_check_url(const char *s, const char *choices, char *why, size_t size)
{
	const char *sep = strstr(s, "://");
	const char *auth, *end, *host_end;
	char list[256];

	if (!sep || sep == s) {
		snprintf(why, size, "not a URL (use scheme://host[:port][/path])");
		return -1;
	}
	for (const char *p = s; p < sep; p++)
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' &&
		    *p != '.') {
			snprintf(why, size, "not a URL (use scheme://host[:port][/path])");
			return -1;
		}
	if (choices && config_choice_index(choices, s, (size_t)(sep - s)) < 0) {
		config_choices_text(choices, list, sizeof(list));
		snprintf(why, size, "scheme '%.*s' not allowed (use %s)",
			 (int)(sep - s), s, list);
		return -1;
	}
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	/* skip user:password@ */
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			auth = p + 1;
	host_end = end;
	if (*auth == '[') {
		const char *rb = memchr(auth, ']', (size_t)(end - auth));

		if (!rb) {
			snprintf(why, size, "not a URL (bad [IPv6] host)");
			return -1;
		}
		host_end = rb + 1;
	} else {
		const char *colon = memchr(auth, ':', (size_t)(end - auth));

		if (colon)
			host_end = colon;
	}
	if (!config_host_ok(auth, (size_t)(host_end - auth))) {
		snprintf(why, size, "not a URL (no host; use scheme://host[:port][/path])");
		return -1;
	}
	if (host_end < end) {
		if (*host_end != ':' ||
		    !config_port_ok(host_end + 1, (size_t)(end - host_end - 1))) {
			snprintf(why, size, "not a URL (port must be a number up to 65535)");
			return -1;
		}
	}
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
			snprintf(why, size, "not a URL (contains white space)");
			return -1;
		}
	return 0;
}

static int
config_split_list(const char *s, char ***out, size_t *nout)
{
	char **list = NULL;
	size_t n = 0;
	const char *p = s;
	int rc = -1;

	if (*s == '\0')
		goto done;
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *b = p, *e = comma ? comma : p + strlen(p);
		char **grown;

		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (e == b) {
			rc = 1;
			goto out;
		}
		grown = realloc(list, (n + 2) * sizeof(*list));
		if (!grown)
			goto out;
		list = grown;
		list[n] = strndup(b, (size_t)(e - b));
		if (!list[n])
			goto out;
		list[++n] = NULL;
		if (!comma)
			break;
		p = comma + 1;
	}
done:
	if (!list) {
		list = calloc(1, sizeof(*list));
		if (!list)
			goto out;
	}
	*out = list;
	*nout = n;
	list = NULL;
	n = 0;
	rc = 0;
out:
	if (list) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
	}
	return rc;
}

static bool
config_needs_quotes(const char *s)
{
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || *p == '#' || *p == '\'' ||
		    *p == '"' || *p == '\\' || iscntrl((unsigned char)*p))
			return true;
	return false;
}

static void
config_source_text_of(enum config_source src, const char *file, unsigned line,
		      int k, char *buf, size_t size)
{
	char fl[128];

	switch (src) {
	case CS_DEFAULT:
		snprintf(buf, size, "default");
		return;
	case CS_FILE:
	case CS_PROFILE:
		snprintf(buf, size, "%s:%u", file ? file : "?", line);
		return;
	case CS_ENV:
		snprintf(buf, size, "environment");
		return;
	case CS_FLAG:
		config_flag_name(config_keys[k].name, fl, sizeof(fl));
		snprintf(buf, size, "flag --%s", fl);
		return;
	}
	snprintf(buf, size, "unknown");
}

const char *
config_source_text(const struct config *cfg, enum config_key key, char *buf,
		   size_t size)
{
	const struct config_value *v = &cfg->v[key];

	config_source_text_of(v->src, v->src_file, v->src_line, key, buf, size);
	return buf;
}

/* KEY=value or KEY='a b' for messages; secrets never shown. */
static void
config_value_text(int k, const char *raw, char *buf, size_t size)
{
	if (config_keys[k].flags & CF_SECRET)
		snprintf(buf, size, "%s", config_keys[k].name);
	else if (*raw == '\0' || config_needs_quotes(raw))
		snprintf(buf, size, "%s='%.200s'", config_keys[k].name, raw);
	else
		snprintf(buf, size, "%s=%.200s", config_keys[k].name, raw);
}

/* Checks raw against the key's type; fills v's typed fields. */
static int
config_check(int k, const char *raw, struct config_value *v, char *why,
	     size_t size)
{
	const struct config_keyinfo *ki = &config_keys[k];
	char a[64], b[64], list[256];
	bool range = ki->min != 0 || ki->max != 0;
	bool bv;
	int64_t n;
	int idx, lrc;

	if (*raw == '\0' && ki->type != CT_STRING && ki->type != CT_LIST) {
		snprintf(why, size, "must not be empty");
		return -1;
	}
	switch (ki->type) {
	case CT_STRING:
		return 0;
	case CT_INT: {
		char *end;

		errno = 0;
		n = strtoll(raw, &end, 10);
		if (errno || *end || end == raw || isspace((unsigned char)*raw) ||
		    (range && (n < ki->min || n > ki->max))) {
			if (range)
				snprintf(why, size, "must be an integer from %lld to %lld",
					 ki->min, ki->max);
			else
				snprintf(why, size, "must be an integer");
			return -1;
		}
		v->num = n;
		return 0;
	}
	case CT_DURATION:
		if (config_parse_duration(raw, &n) != 0) {
			snprintf(why, size, "not a duration (use 500ms, 5s, 2m, 1h)");
			return -1;
		}
		if (range && (n < ki->min || n > ki->max)) {
			config_duration_text(ki->min, a, sizeof(a));
			config_duration_text(ki->max, b, sizeof(b));
			snprintf(why, size, "must be from %s to %s", a, b);
			return -1;
		}
		v->num = n;
		return 0;
	case CT_SIZE:
		if (config_parse_size(raw, &n) != 0) {
			snprintf(why, size, "not a size (use 512, 64KiB, 10MiB, 1GiB)");
			return -1;
		}
		if (range && (n < ki->min || n > ki->max)) {
			config_size_text(ki->min, a, sizeof(a));
			config_size_text(ki->max, b, sizeof(b));
			snprintf(why, size, "must be from %s to %s", a, b);
			return -1;
		}
		v->num = n;
		return 0;
	case CT_BOOL:
		if (config_parse_bool(raw, &bv) != 0) {
			snprintf(why, size, "not a boolean (use true or false)");
			return -1;
		}
		v->num = bv;
		return 0;
	case CT_URL:
		return config_check_url(raw, ki->choices, why, size);
	case CT_ENUM:
		idx = config_choice_index(ki->choices, raw, strlen(raw));
		if (idx < 0) {
			config_choices_text(ki->choices, list, sizeof(list));
			snprintf(why, size, "must be one of %s", list);
			return -1;
		}
		v->num = idx;
		return 0;
	case CT_LIST:
		lrc = config_split_list(raw, &v->list, &v->nlist);
		if (lrc > 0) {
			snprintf(why, size, "empty item in list (use a,b,c)");
			return -1;
		}
		if (lrc < 0) {
			snprintf(why, size, "out of memory");
			return -2;
		}
		return 0;
	case CT_HOSTPORT:
		if (config_check_hostport(raw) != 0) {
			snprintf(why, size, "not host:port (use 127.0.0.1:8080 or [::1]:8080)");
			return -1;
		}
		return 0;
	}
	snprintf(why, size, "unknown type");
	return -1;
}

enum config_err
config_set(struct config *cfg, enum config_key key, const char *raw,
	   enum config_source src, const char *file, unsigned line)
{
	struct config_value nv;
	char why[300], vt[260], st[300];
	int rc;

	memset(&nv, 0, sizeof(nv));
	if ((int)key < 0 || key >= CK__COUNT || !raw) {
		config_errf(cfg, "bad key or value");
		return CONFIG_ERR_VALUE;
	}
	rc = config_check(key, raw, &nv, why, sizeof(why));
	if (rc != 0) {
		config_value_clear(&nv);
		if (rc == -2) {
			config_errf(cfg, "out of memory");
			return CONFIG_ERR_NOMEM;
		}
		config_value_text(key, raw, vt, sizeof(vt));
		config_source_text_of(src, file, line, key, st, sizeof(st));
		config_errf(cfg, "%s (from %s): %s", vt, st, why);
		return CONFIG_ERR_VALUE;
	}
	nv.raw = strdup(raw);
	nv.src = src;
	nv.src_line = line;
	if (file)
		nv.src_file = strdup(file);
	if (!nv.raw || (file && !nv.src_file)) {
		config_value_clear(&nv);
		config_errf(cfg, "out of memory");
		return CONFIG_ERR_NOMEM;
	}
	config_value_clear(&cfg->v[key]);
	cfg->v[key] = nv;
	return CONFIG_OK;
}

/* ---- env files ---- */

static void
config_envfile_release(struct config_envfile *ef)
{
	for (size_t i = 0; i < ef->n; i++) {
		free(ef->e[i].key);
		free(ef->e[i].value);
	}
	free(ef->e);
	free(ef->path);
	memset(ef, 0, sizeof(*ef));
}

static bool
config_key_name_ok(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isupper((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
		      s[i] == '_'))
			return false;
	return true;
}

/*
 * Parses the value part of a line (after '='), in place into out.
 * Returns NULL or a static reason.
 */
static const char *
config_parse_value(const char *p, struct strbuf *out)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\'') {
		const char *q = strchr(p + 1, '\'');

		if (!q)
			return "unterminated single quote";
		if (strbuf_add(out, p + 1, (size_t)(q - p - 1)) != 0)
			return "out of memory";
		p = q + 1;
	} else if (*p == '"') {
		for (p++;; p++) {
			char c = *p;

			if (c == '\0')
				return "unterminated double quote";
			if (c == '"')
				break;
			if (c == '\\' && p[1]) {
				p++;
				switch (*p) {
				case 'n':
					c = '\n';
					break;
				case '"':
				case '\\':
					c = *p;
					break;
				default:
					if (strbuf_addch(out, '\\') != 0)
						return "out of memory";
					c = *p;
					break;
				}
			}
			if (strbuf_addch(out, c) != 0)
				return "out of memory";
		}
		p++;
	} else {
		const char *start = p, *end;

		while (*p && !(*p == '#' && (p == start || p[-1] == ' ' ||
					      p[-1] == '\t')))
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (strbuf_add(out, start, (size_t)(end - start)) != 0)
			return "out of memory";
		if (out->len == 0 && strbuf_addstr(out, "") != 0)
			return "out of memory";
		return NULL;
	}
	if (out->len == 0 && strbuf_addstr(out, "") != 0)
		return "out of memory";
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' && *p != '#')
		return "text after the closing quote";
	return NULL;
}

static enum config_err
config_envfile_read(struct config *cfg, const char *path, bool optional,
		    struct config_envfile *ef)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	struct strbuf val;
	enum config_err rc = CONFIG_ERR_NOMEM;

	strbuf_init(&val, 0);
	memset(ef, 0, sizeof(*ef));
	ef->path = strdup(path);
	if (!ef->path) {
		config_errf(cfg, "out of memory");
		goto out;
	}
	f = fopen(path, "r");
	if (!f) {
		if (optional && errno == ENOENT) {
			rc = CONFIG_OK;
			goto out;
		}
		config_errf(cfg, "cannot read env file '%s': %s", path,
			    strerror(errno));
		rc = CONFIG_ERR_FILE;
		goto out;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *p = line, *eq, *kend;
		const char *why;
		struct config_entry *grown;
		size_t klen;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
			p += 6;
			while (*p == ' ' || *p == '\t')
				p++;
		}
		eq = strchr(p, '=');
		if (!eq) {
			config_errf(cfg, "%s:%u: missing '=' (use KEY=VALUE)",
				    path, lineno);
			rc = CONFIG_ERR_SYNTAX;
			goto out;
		}
		kend = eq;
		while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
			kend--;
		klen = (size_t)(kend - p);
		if (!config_key_name_ok(p, klen)) {
			config_errf(cfg, "%s:%u: bad key name '%.*s' "
				    "(use A-Z, 0-9 and _)", path, lineno,
				    (int)(klen > 64 ? 64 : klen), p);
			rc = CONFIG_ERR_SYNTAX;
			goto out;
		}
		strbuf_reset(&val);
		why = config_parse_value(eq + 1, &val);
		if (why) {
			config_errf(cfg, "%s:%u: %s", path, lineno, why);
			rc = CONFIG_ERR_SYNTAX;
			goto out;
		}
		grown = realloc(ef->e, (ef->n + 1) * sizeof(*ef->e));
		if (!grown) {
			config_errf(cfg, "out of memory");
			goto out;
		}
		ef->e = grown;
		ef->e[ef->n].key = strndup(p, klen);
		ef->e[ef->n].value = strdup(val.buf ? val.buf : "");
		ef->e[ef->n].line = lineno;
		ef->n++;
		if (!ef->e[ef->n - 1].key || !ef->e[ef->n - 1].value) {
			config_errf(cfg, "out of memory");
			goto out;
		}
	}
	if (ferror(f)) {
		config_errf(cfg, "cannot read env file '%s': %s", path,
			    strerror(errno));
		rc = CONFIG_ERR_FILE;
		goto out;
	}
	rc = CONFIG_OK;
out:
	if (f)
		fclose(f);
	free(line);
	strbuf_release(&val);
	return rc;
}

/* The last entry for key in ef (later lines win), or NULL. */
static const struct config_entry *
config_envfile_find(const struct config_envfile *ef, const char *key)
{
	for (size_t i = ef->n; i > 0; i--)
		if (strcmp(ef->e[i - 1].key, key) == 0)
			return &ef->e[i - 1];
	return NULL;
}

/* Warns about unknown keys and duplicates. */
static void
config_envfile_lint(struct config *cfg, const struct config_envfile *ef)
{
	for (size_t i = 0; i < ef->n; i++) {
		const struct config_entry *e = &ef->e[i];

		if (config_key_by_name(e->key) < 0 &&
		    strcmp(e->key, "SENSORPIPE_ENV_FILE") != 0) {
			log_warn("%s:%u: unknown key '%s' (ignored)", ef->path,
				 e->line, e->key);
			cfg->warnings++;
		}
		for (size_t j = i + 1; j < ef->n; j++) {
			if (strcmp(ef->e[j].key, e->key) != 0)
				continue;
			log_warn("%s:%u: %s given again (first at line %u); "
				 "the last one wins", ef->path, ef->e[j].line,
				 e->key, e->line);
			cfg->warnings++;
			break;
		}
	}
}

/* Expands {prog} and {hostname} in a default. */
static char *
config_expand_default(const struct config *cfg, const char *def)
{
	struct strbuf sb;
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	strbuf_init(&sb, 0);
	for (const char *p = def; *p;) {
		int rc;

		if (strncmp(p, "{prog}", 6) == 0) {
			rc = strbuf_addstr(&sb, cfg->prog ? cfg->prog : "");
			p += 6;
		} else if (strncmp(p, "{hostname}", 10) == 0) {
			rc = strbuf_addstr(&sb, host);
			p += 10;
		} else {
			rc = strbuf_addch(&sb, *p++);
		}
		if (rc != 0) {
			strbuf_release(&sb);
			return NULL;
		}
	}
	if (!sb.buf && strbuf_addstr(&sb, "") != 0)
		return NULL;
	return sb.buf;
}

static bool
config_is_placeholder(const char *s, bool secret)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		return true;
	if (strncasecmp(s, "your-", 5) == 0 || strncasecmp(s, "your_", 5) == 0)
		return true;
	if (strcasecmp(s, "changeme") == 0 || strcasecmp(s, "change-me") == 0 ||
	    strcasecmp(s, "changeit") == 0)
		return true;
	if (!secret)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(config_placeholders); i++)
		if (strcasecmp(s, config_placeholders[i]) == 0)
			return true;
	return false;
}

/* Placeholders: refused in prod, warned about elsewhere. */
static enum config_err
config_check_placeholders(struct config *cfg)
{
	bool prod = config_is_prod(cfg);
	char st[300];

	for (int k = 0; k < CK__COUNT; k++) {
		const struct config_value *v = &cfg->v[k];
		bool secret = config_keys[k].flags & CF_SECRET;

		if (!config_key_used(cfg, k) || !v->raw)
			continue;
		if (secret && v->raw[0] == '\0' && prod) {
			config_source_text(cfg, k, st, sizeof(st));
			config_errf(cfg, "%s (from %s): empty secret refused "
				    "with APP_ENV=prod", config_keys[k].name, st);
			return CONFIG_ERR_PROD;
		}
		if (!config_is_placeholder(v->raw, secret))
			continue;
		config_source_text(cfg, k, st, sizeof(st));
		if (prod) {
			config_errf(cfg, "%s (from %s): placeholder value refused "
				    "with APP_ENV=prod", config_keys[k].name, st);
			return CONFIG_ERR_PROD;
		}
		log_warn("%s (from %s): looks like a placeholder; it would be "
			 "refused with APP_ENV=prod", config_keys[k].name, st);
		cfg->warnings++;
	}
	return CONFIG_OK;
}

/* base path + ".<env>" */
static char *
config_profile_path(const char *base, const char *env)
{
	char *p = NULL;

	if (asprintf(&p, "%s.%s", base, env) < 0)
		return NULL;
	return p;
}

enum config_err
config_load(struct config *cfg)
{
	struct config_envfile base, prof;
	const char *path = cfg->env_file;
	const char *app_env;
	char *prof_path = NULL;
	enum config_err rc;
	struct config_value tmp;

	memset(&base, 0, sizeof(base));
	memset(&prof, 0, sizeof(prof));
	memset(&tmp, 0, sizeof(tmp));
	if (!path || !*path)
		path = getenv("SENSORPIPE_ENV_FILE");
	if (path && *path) {
		rc = config_envfile_read(cfg, path, false, &base);
		if (rc)
			goto out;
		config_envfile_lint(cfg, &base);
	}

	/* APP_ENV picks the profile file, so it is resolved first. */
	app_env = cfg->flag_val[CK_APP_ENV];
	if (!app_env)
		app_env = getenv("APP_ENV");
	if (!app_env) {
		const struct config_entry *e = config_envfile_find(&base, "APP_ENV");

		app_env = e ? e->value : config_keys[CK_APP_ENV].def;
	}
	if (path && *path && app_env) {
		char why[200];

		if (config_check(CK_APP_ENV, app_env, &tmp, why, sizeof(why)) == 0) {
			prof_path = config_profile_path(path, app_env);
			if (!prof_path) {
				config_errf(cfg, "out of memory");
				rc = CONFIG_ERR_NOMEM;
				goto out;
			}
			rc = config_envfile_read(cfg, prof_path, true, &prof);
			if (rc)
				goto out;
			config_envfile_lint(cfg, &prof);
		}
		/* an invalid APP_ENV is reported below with its source */
	}

	for (int k = 0; k < CK__COUNT; k++) {
		const struct config_keyinfo *ki = &config_keys[k];
		const struct config_entry *e;
		const char *env;

		if (!config_key_used(cfg, k))
			continue;
		config_value_clear(&cfg->v[k]);
		if (cfg->flag_val[k]) {
			rc = config_set(cfg, k, cfg->flag_val[k], CS_FLAG, NULL, 0);
		} else if ((env = getenv(ki->name)) != NULL) {
			rc = config_set(cfg, k, env, CS_ENV, NULL, 0);
		} else if ((e = config_envfile_find(&prof, ki->name)) != NULL) {
			rc = config_set(cfg, k, e->value, CS_PROFILE, prof.path,
					e->line);
		} else if ((e = config_envfile_find(&base, ki->name)) != NULL) {
			rc = config_set(cfg, k, e->value, CS_FILE, base.path,
					e->line);
		} else if (ki->def) {
			char *def = config_expand_default(cfg, ki->def);

			if (!def) {
				config_errf(cfg, "out of memory");
				rc = CONFIG_ERR_NOMEM;
				goto out;
			}
			rc = config_set(cfg, k, def, CS_DEFAULT, NULL, 0);
			free(def);
		} else {
			rc = CONFIG_OK;
		}
		if (rc)
			goto out;
	}
	rc = config_check_placeholders(cfg);
out:
	config_value_clear(&tmp);
	free(prof_path);
	config_envfile_release(&base);
	config_envfile_release(&prof);
	return rc;
}

/* ---- getters ---- */

const char *
config_str(const struct config *cfg, enum config_key key)
{
	return cfg->v[key].raw;
}

int64_t
config_num(const struct config *cfg, enum config_key key)
{
	return cfg->v[key].num;
}

bool
config_is_set(const struct config *cfg, enum config_key key)
{
	return cfg->v[key].raw && cfg->v[key].raw[0] != '\0';
}

char *const *
config_list(const struct config *cfg, enum config_key key, size_t *n)
{
	if (n)
		*n = cfg->v[key].nlist;
	return cfg->v[key].list;
}

static int
config_opt_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nopts; i++)
		if (strcmp(cfg->opts[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
config_opt(const struct config *cfg, const char *name)
{
	int i = config_opt_index(cfg, name);

	return i < 0 ? NULL : cfg->opt_val[i];
}

bool
config_opt_set(const struct config *cfg, const char *name)
{
	int i = config_opt_index(cfg, name);

	return i >= 0 && cfg->opt_set[i];
}

bool
config_is_prod(const struct config *cfg)
{
	const char *e = cfg->v[CK_APP_ENV].raw;

	return e && strcasecmp(e, "prod") == 0;
}

enum config_err
config_require(struct config *cfg, enum config_key key, const char *why)
{
	if (config_is_set(cfg, key))
		return CONFIG_OK;
	if (config_is_prod(cfg)) {
		config_errf(cfg, "%s is required (%s) with APP_ENV=prod",
			    config_keys[key].name, why);
		return CONFIG_ERR_PROD;
	}
	log_warn("%s is not set (%s); it is required with APP_ENV=prod",
		 config_keys[key].name, why);
	cfg->warnings++;
	return CONFIG_OK;
}

/* ---- output ---- */

/* Writes s as an env-file value (double-quoted when needed). */
static void
config_put_value(FILE *f, const char *s)
{
	if (!config_needs_quotes(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void
config_print(const struct config *cfg, FILE *f)
{
	char st[300];

	for (int k = 0; k < CK__COUNT; k++) {
		const struct config_value *v = &cfg->v[k];

		if (!config_key_used(cfg, k))
			continue;
		fprintf(f, "%s=", config_keys[k].name);
		if (v->raw && (config_keys[k].flags & CF_SECRET) && v->raw[0])
			fputs("<redacted>", f);
		else if (v->raw)
			config_put_value(f, v->raw);
		config_source_text(cfg, k, st, sizeof(st));
		fprintf(f, "  # %s%s\n", st, v->raw ? "" : " (unset)");
	}
}

static void
config_type_text(const struct config_keyinfo *ki, char *buf, size_t size)
{
	char a[64], b[64], list[256];
	bool range = ki->min != 0 || ki->max != 0;

	switch (ki->type) {
	case CT_STRING:
		snprintf(buf, size, "%s", ki->flags & CF_SECRET ? "secret" : "string");
		return;
	case CT_INT:
		if (range)
			snprintf(buf, size, "integer %lld..%lld", ki->min, ki->max);
		else
			snprintf(buf, size, "integer");
		return;
	case CT_DURATION:
		config_duration_text(ki->min, a, sizeof(a));
		config_duration_text(ki->max, b, sizeof(b));
		if (range)
			snprintf(buf, size, "duration %s..%s", a, b);
		else
			snprintf(buf, size, "duration");
		return;
	case CT_SIZE:
		config_size_text(ki->min, a, sizeof(a));
		config_size_text(ki->max, b, sizeof(b));
		if (range)
			snprintf(buf, size, "size %s..%s", a, b);
		else
			snprintf(buf, size, "size");
		return;
	case CT_BOOL:
		snprintf(buf, size, "bool");
		return;
	case CT_URL:
		config_choices_text(ki->choices, list, sizeof(list));
		snprintf(buf, size, "URL (%s)", list);
		return;
	case CT_ENUM:
		config_choices_text(ki->choices, list, sizeof(list));
		snprintf(buf, size, "one of %s", list);
		return;
	case CT_LIST:
		snprintf(buf, size, "list");
		return;
	case CT_HOSTPORT:
		snprintf(buf, size, "host:port");
		return;
	}
	snprintf(buf, size, "?");
}

static void
config_programs_text(unsigned stages, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} progs[] = {
		{ST_INGEST, "mqtt-ingest"}, {ST_SINK, "influx-sink"},
		{ST_ENGINE, "alert-engine"}, {ST_API, "alert-api"},
		{ST_PUBLISH, "mqtt-publish"}, {ST_TOOL, "tools"},
	};
	size_t o = 0;

	buf[0] = '\0';
	if ((stages & ST_ALL) == ST_ALL) {
		snprintf(buf, size, "all");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		int n;

		if (!(stages & progs[i].bit))
			continue;
		n = snprintf(buf + o, size - o, "%s%s", o ? ", " : "",
			     progs[i].name);
		if (n < 0 || (size_t)n >= size - o)
			return;
		o += (size_t)n;
	}
}

/*
 * Prints text folded at 79 columns: the first line continues at column col,
 * the others start at column indent. Newlines in text start a new line.
 */
static void
config_fold(FILE *f, const char *text, int col, int indent)
{
	const int width = 79;
	const char *p = text;

	while (*p) {
		size_t word = strcspn(p, " \n");

		if (col > indent && col + 1 + (int)word > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, word, f);
		col += (int)word;
		p += word;
		if (*p == '\n') {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		}
		while (*p == ' ' || *p == '\n')
			p++;
	}
	fputc('\n', f);
}

void
config_usage(const struct config *cfg, FILE *f, const char *synopsis,
	     const char *description)
{
	static const struct {
		const char *opt, *help;
	} common[] = {
		{"--env-file FILE", "read KEY=VALUE settings from FILE (and FILE.<APP_ENV>); default $SENSORPIPE_ENV_FILE"},
		{"--in -|DIR", "read records from stdin (-, the default) or a journal directory"},
		{"--consumer NAME", "cursor name when reading a journal"},
		{"--out -|DIR", "write records to stdout (-, the default) or a journal directory"},
		{"--dead-letter FILE", "append rejected input to FILE (DEAD_LETTER_FILE)"},
		{"--strict", "exit 65 on the first bad input line"},
		{"--print-config", "print the effective configuration (secrets redacted) and exit"},
		{"--help, -h", "print this help and exit"},
		{"--version", "print the version and exit"},
	};
	char fl[128], opt[160], ty[300], line[1024];

	fprintf(f, "Usage: %s\n\n", synopsis ? synopsis : cfg->prog);
	if (description) {
		config_fold(f, description, 0, 0);
		fputc('\n', f);
	}
	if (cfg->nopts) {
		fprintf(f, "Options:\n");
		for (size_t i = 0; i < cfg->nopts; i++) {
			snprintf(opt, sizeof(opt), "--%s%s%s", cfg->opts[i].name,
				 cfg->opts[i].arg ? " " : "",
				 cfg->opts[i].arg ? cfg->opts[i].arg : "");
			fprintf(f, "  %-24s ", opt);
			config_fold(f, cfg->opts[i].help, 27, 27);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "Common options:\n");
	for (size_t i = 0; i < ARRAY_SIZE(common); i++) {
		fprintf(f, "  %-24s ", common[i].opt);
		config_fold(f, common[i].help, 27, 27);
	}
	fprintf(f, "\nEnvironment (precedence: flag > environment > "
		"FILE.<APP_ENV> > FILE > default;\neach KEY is also a flag, "
		"MQTT_URL as --mqtt-url VALUE):\n");
	for (int k = 0; k < CK__COUNT; k++) {
		const struct config_keyinfo *ki = &config_keys[k];

		if (!config_key_used(cfg, k))
			continue;
		config_flag_name(ki->name, fl, sizeof(fl));
		config_type_text(ki, ty, sizeof(ty));
		if (ki->def)
			snprintf(line, sizeof(line), "%s; %s; default %s",
				 ki->help, ty, ki->def);
		else
			snprintf(line, sizeof(line), "%s; %s", ki->help, ty);
		fprintf(f, "  %s (--%s)\n      ", ki->name, fl);
		config_fold(f, line, 6, 6);
	}
	fprintf(f, "\nExit status: 0 done, 64 usage, 65 bad input with --strict, "
		"69 unavailable,\n74 I/O error, 75 temporary failure, "
		"78 configuration error.\n");
}

static void
config_md_cell(FILE *f, const char *s, bool code)
{
	for (const char *p = s; *p; p++) {
		if (*p == '|')
			fputc('\\', f);
		if (!code && *p == '<')
			fputs("&lt;", f);
		else if (!code && *p == '>')
			fputs("&gt;", f);
		else
			fputc(*p, f);
	}
}

void
config_print_markdown(FILE *f)
{
	static const struct {
		unsigned mask;
		const char *title;
	} groups[] = {
		{ST_ALL, "All programs"},
		{ST_MQTT, "MQTT connection (mqtt-ingest, mqtt-publish)"},
		{ST_INGEST, "mqtt-ingest"},
		{ST_PUBLISH, "mqtt-publish"},
		{ST_INFLUX, "InfluxDB (influx-sink, alert-api)"},
		{ST_SINK, "influx-sink"},
		{ST_ENGINE, "alert-engine"},
		{ST_API, "alert-api"},
		{ST_TOOL, "tools"},
	};
	bool done[CK__COUNT] = {false};
	char ty[300], pr[200];

	fprintf(f, "# Configuration reference\n\n"
		"Generated from `common/config_keys.h` by `make docs`; "
		"a unit test fails when this page\nand the table disagree.\n\n"
		"Every program reads the keys it uses from, strongest first: a flag "
		"(`MQTT_URL` is\n`--mqtt-url VALUE`), the environment, the profile "
		"file `FILE.<APP_ENV>`, the env\nfile `FILE` (`--env-file FILE` or "
		"`$SENSORPIPE_ENV_FILE`), then the default.\nEnv file lines are "
		"`KEY=VALUE` with an optional `export ` prefix and `#` comments;\n"
		"'single quotes' are literal, \"double quotes\" know `\\n`, `\\\"` "
		"and `\\\\`.\nDurations: `500ms`, `5s`, `2m`, `1h` (or `0`). Sizes: "
		"`512`, `64KiB`, `10MiB`, `1GiB`\n(`KB`, `MB`, `GB` are powers of "
		"1000). Booleans: true/false, yes/no, on/off, 1/0.\nWith "
		"`APP_ENV=prod`, placeholder values (`your-token`, `changeme`, ...) "
		"and empty\nsecrets are refused. `--print-config` shows the "
		"effective values and their sources.\n");
	for (size_t g = 0; g <= ARRAY_SIZE(groups); g++) {
		bool any = false;

		for (int k = 0; k < CK__COUNT; k++) {
			const struct config_keyinfo *ki = &config_keys[k];

			if (done[k])
				continue;
			if (g < ARRAY_SIZE(groups) && ki->stages != groups[g].mask)
				continue;
			if (!any) {
				fprintf(f, "\n## %s\n\n", g < ARRAY_SIZE(groups) ?
					groups[g].title : "Other");
				fprintf(f, "| Key | Type | Default | Programs | Description |\n");
				fprintf(f, "|---|---|---|---|---|\n");
				any = true;
			}
			done[k] = true;
			config_type_text(ki, ty, sizeof(ty));
			config_programs_text(ki->stages, pr, sizeof(pr));
			fprintf(f, "| `%s` | ", ki->name);
			config_md_cell(f, ty, false);
			fputs(" | ", f);
			if (ki->def) {
				fputc('`', f);
				config_md_cell(f, ki->def, true);
				fputc('`', f);
			}
			fputs(" | ", f);
			config_md_cell(f, pr, false);
			fputs(" | ", f);
			config_md_cell(f, ki->help, false);
			fputs(" |\n", f);
		}
	}
}

void
config_print_env_example(FILE *f)
{
	fputs("# sensorpipe configuration: every key with its default, "
	      "commented out.\n"
	      "# Copy to sensorpipe.env, uncomment what you change, and point "
	      "the programs\n"
	      "# at it with --env-file FILE or SENSORPIPE_ENV_FILE=FILE. A "
	      "profile file\n"
	      "# FILE.<APP_ENV> (e.g. sensorpipe.env.prod) beside it overrides "
	      "it;\n"
	      "# the environment and --flags override both. Reference: "
	      "docs/configuration.md\n"
	      "#\n"
	      "# Syntax: KEY=VALUE, optional `export `, # comments, 'literal', "
	      "\"with \\n escapes\".\n"
	      "# With APP_ENV=prod, placeholders such as your-token or changeme "
	      "are refused.\n", f);
	for (int k = 0; k < CK__COUNT; k++) {
		const struct config_keyinfo *ki = &config_keys[k];

		fprintf(f, "\n# %s%s\n# %s=%s\n", ki->help,
			ki->flags & CF_SECRET ? " (secret)" : "", ki->name,
			ki->def ? ki->def : "");
	}
}

const char *
config_strerror(enum config_err err)
{
	switch (err) {
	case CONFIG_OK:
		return "success";
	case CONFIG_HELP:
		return "help requested";
	case CONFIG_VERSION:
		return "version requested";
	case CONFIG_ERR_USAGE:
		return "bad command line";
	case CONFIG_ERR_FILE:
		return "env file unreadable";
	case CONFIG_ERR_SYNTAX:
		return "env file syntax error";
	case CONFIG_ERR_VALUE:
		return "invalid configuration value";
	case CONFIG_ERR_PROD:
		return "refused in prod";
	case CONFIG_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown configuration error";
}
