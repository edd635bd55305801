/*
 * config: the typed, validated configuration of one stage.
 * Owns: every string in struct config (freed by config_release).
 * Never exits or prints except config_usage/config_print to the FILE given;
 * returns enum config_err, with a one-line message in cfg->err that names the
 * key, what is wrong and where the value came from.
 *
 * Sources, weakest first: built-in default < base env file (--env-file or
 * SENSORPIPE_ENV_FILE) < its profile file `.env.<APP_ENV>` beside it <
 * process environment < command-line flag (--mqtt-url for MQTT_URL).
 *
 * Env file syntax, one per line: KEY=VALUE, optional `export ` prefix, `#`
 * comments (whole line, or after white space outside quotes), 'single quotes'
 * literal, "double quotes" with \n \" \\ escapes, empty values allowed. A key
 * given twice: the last wins, with a warning. A line without '=': error
 * naming file:line. An unknown key: warning.
 */
#ifndef SENSORPIPE_CONFIG_H
#define SENSORPIPE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum config_type {
	CT_STRING,
	CT_INT,
	CT_DURATION,	/* "500ms", "5s", "2m", "1h", or "0"; stored as ms */
	CT_SIZE,	/* "512", "64KiB", "10MiB", "1GiB" (also KB/MB/GB=1000^n) */
	CT_BOOL,	/* true/false/yes/no/on/off/1/0 */
	CT_URL,		/* scheme://host[:port][/path], scheme in choices */
	CT_ENUM,	/* one of choices "a|b|c" */
	CT_LIST,	/* comma-separated, items trimmed, empty items refused */
	CT_HOSTPORT,	/* host:port or [v6]:port */
};

/* Which programs use a key. */
enum config_stage {
	ST_INGEST = 1 << 0,
	ST_SINK = 1 << 1,
	ST_ENGINE = 1 << 2,
	ST_API = 1 << 3,
	ST_PUBLISH = 1 << 4,
	ST_TOOL = 1 << 5,
	ST_MQTT = ST_INGEST | ST_PUBLISH,
	ST_INFLUX = ST_SINK | ST_API,
	ST_ALL = (1 << 6) - 1,
};

enum config_flag_bits { CF_SECRET = 1 << 0 };

enum config_key {
#define KEY(name, ...) CK_##name,
#include "config_keys.h"
#undef KEY
	CK__COUNT
};

enum config_source {
	CS_DEFAULT,
	CS_FILE,	/* base env file */
	CS_PROFILE,	/* .env.<APP_ENV> */
	CS_ENV,
	CS_FLAG,
};

struct config_keyinfo {
	const char *name;
	enum config_type type;
	const char *def;
	unsigned stages;
	unsigned flags;
	long long min, max;
	const char *choices;
	const char *help;
};

/* The key table, CK__COUNT entries, in config_keys.h order. */
extern const struct config_keyinfo config_keys[CK__COUNT];

struct config_value {
	char *raw;		/* text as given; NULL when unset */
	int64_t num;		/* CT_INT, CT_DURATION ms, CT_SIZE bytes, CT_BOOL 0/1,
				 * CT_ENUM index into choices */
	char **list;		/* CT_LIST items (NULL-terminated) */
	size_t nlist;
	enum config_source src;
	char *src_file;		/* CS_FILE, CS_PROFILE */
	unsigned src_line;
};

/* A stage's own command-line option (besides the common ones). */
struct config_opt {
	const char *name;	/* "kind" for --kind */
	const char *arg;	/* "NAME" if it takes a value, NULL for a switch */
	const char *help;
};

#define CONFIG_MAX_OPTS 16

struct config {
	const char *prog;	/* "mqtt-ingest" */
	unsigned stage;		/* ST_* bit of this program */
	struct config_value v[CK__COUNT];
	/* common options */
	const char *env_file;
	const char *in;		/* "-" or a journal directory */
	const char *out;
	const char *consumer;
	bool print_config;
	bool strict;
	/* stage options, in the order of the table given to config_parse_args */
	const struct config_opt *opts;
	size_t nopts;
	bool opt_set[CONFIG_MAX_OPTS];
	const char *opt_val[CONFIG_MAX_OPTS];
	/* flag values, applied by config_load after the environment */
	char *flag_val[CK__COUNT];
	char err[512];
	unsigned warnings;	/* warnings logged while loading */
};

enum config_err {
	CONFIG_OK = 0,
	CONFIG_HELP,		/* --help was given: print usage, exit 0 */
	CONFIG_VERSION,		/* --version was given */
	CONFIG_ERR_USAGE,	/* bad command line: exit 64 */
	CONFIG_ERR_FILE,	/* env file unreadable: exit 78 */
	CONFIG_ERR_SYNTAX,	/* env file line malformed */
	CONFIG_ERR_VALUE,	/* a value of the wrong type or out of range */
	CONFIG_ERR_PROD,	/* prod: placeholder or missing secret */
	CONFIG_ERR_NOMEM,
};

void config_init(struct config *cfg, const char *prog, unsigned stage);
void config_release(struct config *cfg);

/*
 * Parses argv: --help, --version, --env-file FILE, --print-config, --in,
 * --out, --consumer, --dead-letter FILE (DEAD_LETTER_FILE), --strict, a flag
 * per key of this stage (--mqtt-url URL or --mqtt-url=URL), and opts.
 * Positional arguments are refused.
 */
enum config_err config_parse_args(struct config *cfg, int argc, char *argv[],
				  const struct config_opt *opts, size_t nopts);

/*
 * Reads files and environment, applies flags, validates every key of this
 * stage (keys of other stages are skipped, never called unknown). Warnings
 * (duplicate or unknown keys in a file, placeholders outside prod) go to the
 * log and are counted in cfg->warnings. A typed key given as "" is an error;
 * a CT_STRING key may be empty.
 */
enum config_err config_load(struct config *cfg);

/*
 * Checks one value given as text for key, as config_load would; on error
 * fills cfg->err. Exposed for tests and for stage-level checks.
 */
enum config_err config_set(struct config *cfg, enum config_key key,
			   const char *raw, enum config_source src,
			   const char *file, unsigned line);

/* In prod, fails when key is unset or empty ("required because `why`");
 * elsewhere only warns. */
enum config_err config_require(struct config *cfg, enum config_key key,
			       const char *why);

/* Getters; borrowed pointers live as long as cfg. */
const char *config_str(const struct config *cfg, enum config_key key);
int64_t config_num(const struct config *cfg, enum config_key key);
static inline bool
config_bool(const struct config *cfg, enum config_key key)
{
	return config_num(cfg, key) != 0;
}
/* True when the key has a non-empty value from any source (a default
 * counts); keys of other stages are never loaded and read as unset. */
bool config_is_set(const struct config *cfg, enum config_key key);
char *const *config_list(const struct config *cfg, enum config_key key,
			 size_t *n);
/* Stage option i of the opts table: whether given, and its value. */
const char *config_opt(const struct config *cfg, const char *name);
bool config_opt_set(const struct config *cfg, const char *name);
bool config_is_prod(const struct config *cfg);

/* Where a value came from: "default", "environment", "flag --mqtt-url",
 * "/etc/sensorpipe.env:12". buf of at least 300 bytes. */
const char *config_source_text(const struct config *cfg, enum config_key key,
			       char *buf, size_t size);

/* --help text: synopsis, description, stage options, common options and
 * this stage's keys with their defaults. */
void config_usage(const struct config *cfg, FILE *f, const char *synopsis,
		  const char *description);
/* --print-config: KEY=value  # source, secrets as "<redacted>". */
void config_print(const struct config *cfg, FILE *f);
/* The key table as the Markdown of docs/configuration.md. */
void config_print_markdown(FILE *f);

/* etc/sensorpipe.env.example: every key, its help and default, commented. */
void config_print_env_example(FILE *f);

/* Parsers shared with other modules (rules "for": "30s"). 0 on success. */
int config_parse_duration(const char *s, int64_t *ms);
int config_parse_size(const char *s, int64_t *bytes);
int config_parse_bool(const char *s, bool *b);

const char *config_strerror(enum config_err err);

#endif
