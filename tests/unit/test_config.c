/*
 * test_config: the precedence matrix (default, base file, profile file,
 * environment, flag) with value and source text; every .env syntax case;
 * each validation error's exact text; duration/size/bool edge cases; prod
 * placeholder refusal and config_require; --print-config redaction;
 * argument parsing errors; docs/configuration.md and
 * etc/sensorpipe.env.example agree with the key table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "log.h"
#include "testutil.h"
#include "banned.h"

#define CHECK_MSG(cond, msg)                                                \
	CU_assertImplementation((cond) ? CU_TRUE : CU_FALSE, __LINE__, (msg),  \
				__FILE__, "", CU_FALSE)

static char tdir[64];
static char *saved_env[CK__COUNT + 1];

static const char *
env_name(int i)
{
	return i < CK__COUNT ? config_keys[i].name : "SENSORPIPE_ENV_FILE";
}

/* Saves and clears every key in the environment for the suite. */
static int
suite_init(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/sp-test-config-XXXXXX");
	if (!mkdtemp(tdir))
		return -1;
	for (int i = 0; i <= CK__COUNT; i++) {
		const char *v = getenv(env_name(i));

		saved_env[i] = v ? strdup(v) : NULL;
		unsetenv(env_name(i));
	}
	return 0;
}

static int
suite_clean(void)
{
	char cmd[128];

	for (int i = 0; i <= CK__COUNT; i++) {
		if (saved_env[i])
			setenv(env_name(i), saved_env[i], 1);
		else
			unsetenv(env_name(i));
		free(saved_env[i]);
		saved_env[i] = NULL;
	}
	log_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

/* Sends warnings to a fresh log file so tests can read them back. */
static void
capture_start(char *path, size_t size)
{
	snprintf(path, size, "%s/log.txt", tdir);
	unlink(path);
	log_init("test");
	CU_ASSERT_EQUAL(log_configure(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, path),
			LOG_OK);
}

static void
capture_stop(void)
{
	log_configure(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, NULL);
}

static void
path_in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tdir, name);
}

/* ---- precedence ---- */

static void
test_precedence_matrix(void)
{
	char base[128], prof[128], src[300], want_src[300];

	path_in_dir(base, sizeof(base), "prec.env");
	path_in_dir(prof, sizeof(prof), "prec.env.dev");
	for (unsigned m = 0; m < 16; m++) {
		bool has_base = m & 1, has_prof = m & 2, has_env = m & 4,
		     has_flag = m & 8;
		struct config cfg;
		char *argv[] = {"prog", "--mqtt-default-measurement=flagval", NULL};
		const char *want;

		unlink(base);
		unlink(prof);
		write_file(base, has_base ?
			   "# base\nMQTT_DEFAULT_MEASUREMENT=baseval\n" :
			   "# nothing\n");
		if (has_prof)
			write_file(prof, "MQTT_DEFAULT_MEASUREMENT=profval\n");
		if (has_env)
			setenv("MQTT_DEFAULT_MEASUREMENT", "envval", 1);
		else
			unsetenv("MQTT_DEFAULT_MEASUREMENT");
		config_init(&cfg, "mqtt-ingest", ST_INGEST);
		CU_ASSERT_EQUAL(config_parse_args(&cfg, has_flag ? 2 : 1, argv,
						  NULL, 0), CONFIG_OK);
		cfg.env_file = base;
		CU_ASSERT_EQUAL_FATAL(config_load(&cfg), CONFIG_OK);
		if (has_flag) {
			want = "flagval";
			snprintf(want_src, sizeof(want_src),
				 "flag --mqtt-default-measurement");
		} else if (has_env) {
			want = "envval";
			snprintf(want_src, sizeof(want_src), "environment");
		} else if (has_prof) {
			want = "profval";
			snprintf(want_src, sizeof(want_src), "%s:1", prof);
		} else if (has_base) {
			want = "baseval";
			snprintf(want_src, sizeof(want_src), "%s:2", base);
		} else {
			want = "sensor";
			snprintf(want_src, sizeof(want_src), "default");
		}
		CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_MQTT_DEFAULT_MEASUREMENT),
				       want);
		CU_ASSERT_STRING_EQUAL(config_source_text(&cfg,
				       CK_MQTT_DEFAULT_MEASUREMENT, src,
				       sizeof(src)), want_src);
		config_release(&cfg);
	}
	unsetenv("MQTT_DEFAULT_MEASUREMENT");
	unlink(base);
	unlink(prof);
}

/* APP_ENV itself is resolved (flag > env > base) before the profile. */
static void
test_profile_choice(void)
{
	char base[128], stg[128], prodf[128];
	struct config cfg;
	char *argv[] = {"prog", "--app-env", "dev", NULL};

	path_in_dir(base, sizeof(base), "p.env");
	path_in_dir(stg, sizeof(stg), "p.env.staging");
	path_in_dir(prodf, sizeof(prodf), "p.env.dev");
	write_file(base, "APP_ENV=staging\nLLM_MODEL=base\n");
	write_file(stg, "LLM_MODEL=staging\n");
	write_file(prodf, "LLM_MODEL=devmodel\n");

	config_init(&cfg, "alert-engine", ST_ENGINE);
	cfg.env_file = base;
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_LLM_MODEL), "staging");
	CU_ASSERT_EQUAL(config_num(&cfg, CK_APP_ENV), 1);
	config_release(&cfg);

	setenv("APP_ENV", "dev", 1);
	config_init(&cfg, "alert-engine", ST_ENGINE);
	cfg.env_file = base;
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_LLM_MODEL), "devmodel");
	config_release(&cfg);

	setenv("APP_ENV", "staging", 1);
	config_init(&cfg, "alert-engine", ST_ENGINE);
	CU_ASSERT_EQUAL(config_parse_args(&cfg, 3, argv, NULL, 0), CONFIG_OK);
	cfg.env_file = base;
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_LLM_MODEL), "devmodel");
	config_release(&cfg);
	unsetenv("APP_ENV");

	/* SENSORPIPE_ENV_FILE names the base file when --env-file is absent */
	setenv("SENSORPIPE_ENV_FILE", base, 1);
	config_init(&cfg, "alert-engine", ST_ENGINE);
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_LLM_MODEL), "staging");
	config_release(&cfg);
	unsetenv("SENSORPIPE_ENV_FILE");

	/* no file at all: defaults */
	config_init(&cfg, "alert-engine", ST_ENGINE);
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_LLM_MODEL), "gpt-4o-mini");
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_APP_ENV), "dev");
	config_release(&cfg);
	unlink(base);
	unlink(stg);
	unlink(prodf);
}

static void
test_default_expansion(void)
{
	struct config cfg;
	char host[256], want[400];

	CU_ASSERT_EQUAL_FATAL(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	snprintf(want, sizeof(want), "sensorpipe-mqtt-ingest-%s", host);
	config_init(&cfg, "mqtt-ingest", ST_INGEST);
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_MQTT_CLIENT_ID), want);
	config_release(&cfg);
}

/* ---- .env syntax ---- */

static const struct {
	const char *text;
	const char *want;	/* MQTT_USERNAME */
} syntax_ok[] = {
	{"MQTT_USERNAME=alice\n", "alice"},
	{"export MQTT_USERNAME=alice\n", "alice"},
	{"export\tMQTT_USERNAME=alice\n", "alice"},
	{"MQTT_USERNAME=alice # the user\n", "alice"},
	{"MQTT_USERNAME=alice\t# the user\n", "alice"},
	{"MQTT_USERNAME=al#ice\n", "al#ice"},
	{"MQTT_USERNAME='a # b \\n $x'\n", "a # b \\n $x"},
	{"MQTT_USERNAME='a b' # c\n", "a b"},
	{"MQTT_USERNAME=\"a\\nb \\\"q\\\" \\\\ \\t\"\n", "a\nb \"q\" \\ \\t"},
	{"MQTT_USERNAME=\"x # y\"\n", "x # y"},
	{"MQTT_USERNAME=\n", ""},
	{"MQTT_USERNAME=\"\"\n", ""},
	{"MQTT_USERNAME=''\n", ""},
	{"MQTT_USERNAME=alice\r\n", "alice"},
	{"MQTT_USERNAME=\"alice\"\r\n", "alice"},
	{"MQTT_USERNAME = alice  \n", "alice"},
	{"  # indented comment\n\n# c\n   \nMQTT_USERNAME=x\n", "x"},
	{"MQTT_USERNAME=a=b\n", "a=b"},
	{"MQTT_USERNAME=last-line-no-newline", "last-line-no-newline"},
};

static void
test_envfile_syntax_ok(void)
{
	char path[128];

	path_in_dir(path, sizeof(path), "syn.env");
	for (size_t i = 0; i < sizeof(syntax_ok) / sizeof(syntax_ok[0]); i++) {
		struct config cfg;
		enum config_err rc;

		write_file(path, syntax_ok[i].text);
		config_init(&cfg, "mqtt-ingest", ST_INGEST);
		cfg.env_file = path;
		rc = config_load(&cfg);
		CU_ASSERT_EQUAL(rc, CONFIG_OK);
		if (rc == CONFIG_OK) {
			CU_ASSERT_PTR_NOT_NULL(config_str(&cfg, CK_MQTT_USERNAME));
			if (config_str(&cfg, CK_MQTT_USERNAME))
				CU_ASSERT_STRING_EQUAL(config_str(&cfg,
						       CK_MQTT_USERNAME),
						       syntax_ok[i].want);
			CU_ASSERT_EQUAL(cfg.warnings, 0);
		} else {
			fprintf(stderr, "case %zu: %s\n", i, cfg.err);
		}
		config_release(&cfg);
	}
	unlink(path);
}

static const struct {
	const char *text;
	enum config_err rc;
	const char *msg;	/* after "PATH:" */
} syntax_bad[] = {
	{"MQTT_USERNAME\n", CONFIG_ERR_SYNTAX, "1: missing '=' (use KEY=VALUE)"},
	{"# x\nmqtt_username=a\n", CONFIG_ERR_SYNTAX,
	 "2: bad key name 'mqtt_username' (use A-Z, 0-9 and _)"},
	{"1ABC=x\n", CONFIG_ERR_SYNTAX, "1: bad key name '1ABC' (use A-Z, 0-9 and _)"},
	{"MQTT-USER=x\n", CONFIG_ERR_SYNTAX, "1: bad key name 'MQTT-USER' (use A-Z, 0-9 and _)"},
	{"=x\n", CONFIG_ERR_SYNTAX, "1: bad key name '' (use A-Z, 0-9 and _)"},
	{"MQTT_USERNAME='abc\n", CONFIG_ERR_SYNTAX, "1: unterminated single quote"},
	{"MQTT_USERNAME=\"abc\n", CONFIG_ERR_SYNTAX, "1: unterminated double quote"},
	{"MQTT_USERNAME='a' b\n", CONFIG_ERR_SYNTAX, "1: text after the closing quote"},
};

static void
test_envfile_syntax_bad(void)
{
	char path[128], want[400];

	path_in_dir(path, sizeof(path), "bad.env");
	for (size_t i = 0; i < sizeof(syntax_bad) / sizeof(syntax_bad[0]); i++) {
		struct config cfg;

		write_file(path, syntax_bad[i].text);
		config_init(&cfg, "mqtt-ingest", ST_INGEST);
		cfg.env_file = path;
		CU_ASSERT_EQUAL(config_load(&cfg), syntax_bad[i].rc);
		snprintf(want, sizeof(want), "%s:%s", path, syntax_bad[i].msg);
		CU_ASSERT_STRING_EQUAL(cfg.err, want);
		config_release(&cfg);
	}
	unlink(path);
}

static void
test_envfile_missing(void)
{
	struct config cfg;
	char path[128], want[300];

	path_in_dir(path, sizeof(path), "does-not-exist.env");
	config_init(&cfg, "mqtt-ingest", ST_INGEST);
	cfg.env_file = path;
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_ERR_FILE);
	snprintf(want, sizeof(want), "cannot read env file '%s': No such file or directory",
		 path);
	CU_ASSERT_STRING_EQUAL(cfg.err, want);
	config_release(&cfg);
}

static void
test_envfile_warnings(void)
{
	struct config cfg;
	char path[128], logp[128], want[400];
	char *log;

	path_in_dir(path, sizeof(path), "dup.env");
	write_file(path, "MQTT_USERNAME=a\nFOO_BAR=1\n"
		   "INFLUX_URL=not-a-url\nMQTT_USERNAME=b\n");
	capture_start(logp, sizeof(logp));
	config_init(&cfg, "mqtt-ingest", ST_INGEST);
	cfg.env_file = path;
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_MQTT_USERNAME), "b");
	CU_ASSERT_EQUAL(cfg.warnings, 2);
	config_release(&cfg);
	capture_stop();
	log = test_read_file(logp);
	snprintf(want, sizeof(want), " test warn: %s:4: MQTT_USERNAME given again "
		 "(first at line 1); the last one wins\n", path);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	snprintf(want, sizeof(want), " test warn: %s:2: unknown key 'FOO_BAR' "
		 "(ignored)\n", path);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	/* a key of another stage is neither validated nor unknown */
	CU_ASSERT_PTR_NULL(strstr(log, "INFLUX_URL"));
	free(log);
	unlink(path);
	unlink(logp);
}

/* ---- validation messages ---- */

static const struct {
	enum config_key key;
	const char *raw;
	enum config_source src;
	const char *msg;
} bad_values[] = {
	{CK_MQTT_QOS, "3", CS_FILE,
	 "MQTT_QOS=3 (from /etc/sp.env:12): must be an integer from 0 to 2"},
	{CK_MQTT_QOS, "1x", CS_ENV,
	 "MQTT_QOS=1x (from environment): must be an integer from 0 to 2"},
	{CK_MQTT_QOS, "-1", CS_ENV,
	 "MQTT_QOS=-1 (from environment): must be an integer from 0 to 2"},
	{CK_MQTT_QOS, "", CS_PROFILE,
	 "MQTT_QOS='' (from /etc/sp.env:12): must not be empty"},
	{CK_INFLUX_FLUSH_INTERVAL, "5 sec", CS_ENV,
	 "INFLUX_FLUSH_INTERVAL='5 sec' (from environment): not a duration (use 500ms, 5s, 2m, 1h)"},
	{CK_INFLUX_FLUSH_INTERVAL, "2h", CS_FLAG,
	 "INFLUX_FLUSH_INTERVAL=2h (from flag --influx-flush-interval): must be from 1ms to 1h"},
	{CK_INFLUX_FLUSH_INTERVAL, "0", CS_ENV,
	 "INFLUX_FLUSH_INTERVAL=0 (from environment): must be from 1ms to 1h"},
	{CK_MQTT_MAX_PAYLOAD, "1TB", CS_ENV,
	 "MQTT_MAX_PAYLOAD=1TB (from environment): not a size (use 512, 64KiB, 10MiB, 1GiB)"},
	{CK_MQTT_MAX_PAYLOAD, "8", CS_DEFAULT,
	 "MQTT_MAX_PAYLOAD=8 (from default): must be from 16B to 256MiB"},
	{CK_INFLUX_GZIP, "maybe", CS_ENV,
	 "INFLUX_GZIP=maybe (from environment): not a boolean (use true or false)"},
	{CK_MQTT_URL, "http://h:1883", CS_ENV,
	 "MQTT_URL=http://h:1883 (from environment): scheme 'http' not allowed (use tcp, ssl, mqtt, mqtts, ws, wss)"},
	{CK_MQTT_URL, "localhost:1883", CS_ENV,
	 "MQTT_URL=localhost:1883 (from environment): not a URL (use scheme://host[:port][/path])"},
	{CK_MQTT_URL, "tcp://h:99999", CS_ENV,
	 "MQTT_URL=tcp://h:99999 (from environment): not a URL (port must be a number up to 65535)"},
	{CK_MQTT_URL, "tcp://:1883", CS_ENV,
	 "MQTT_URL=tcp://:1883 (from environment): not a URL (no host; use scheme://host[:port][/path])"},
	{CK_LOG_LEVEL, "verbose", CS_FLAG,
	 "LOG_LEVEL=verbose (from flag --log-level): must be one of error, warn, info, debug"},
	{CK_MQTT_TOPICS, "a,,b", CS_ENV,
	 "MQTT_TOPICS=a,,b (from environment): empty item in list (use a,b,c)"},
	{CK_API_LISTEN, "8080", CS_ENV,
	 "API_LISTEN=8080 (from environment): not host:port (use 127.0.0.1:8080 or [::1]:8080)"},
	{CK_API_LISTEN, "h:70000", CS_ENV,
	 "API_LISTEN=h:70000 (from environment): not host:port (use 127.0.0.1:8080 or [::1]:8080)"},
};

static void
test_validation_messages(void)
{
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		struct config cfg;
		const char *file = bad_values[i].src == CS_FILE ||
				   bad_values[i].src == CS_PROFILE ?
				   "/etc/sp.env" : NULL;

		config_init(&cfg, "t", ST_ALL);
		CU_ASSERT_EQUAL(config_set(&cfg, bad_values[i].key,
					   bad_values[i].raw, bad_values[i].src,
					   file, 12), CONFIG_ERR_VALUE);
		CU_ASSERT_STRING_EQUAL(cfg.err, bad_values[i].msg);
		CU_ASSERT_PTR_NULL(config_str(&cfg, bad_values[i].key));
		config_release(&cfg);
	}
}

/* The error from config_load names the file and line of the bad value. */
static void
test_validation_from_load(void)
{
	struct config cfg;
	char path[128], want[300];

	path_in_dir(path, sizeof(path), "val.env");
	write_file(path, "# x\n\nMQTT_QOS=3\n");
	config_init(&cfg, "mqtt-ingest", ST_INGEST);
	cfg.env_file = path;
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_ERR_VALUE);
	snprintf(want, sizeof(want), "MQTT_QOS=3 (from %s:3): must be an "
		 "integer from 0 to 2", path);
	CU_ASSERT_STRING_EQUAL(cfg.err, want);
	config_release(&cfg);

	setenv("INFLUX_FLUSH_INTERVAL", "5 sec", 1);
	config_init(&cfg, "influx-sink", ST_SINK);
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_ERR_VALUE);
	CU_ASSERT_STRING_EQUAL(cfg.err, "INFLUX_FLUSH_INTERVAL='5 sec' (from "
			       "environment): not a duration (use 500ms, 5s, 2m, 1h)");
	config_release(&cfg);
	/* another stage does not validate it */
	config_init(&cfg, "mqtt-ingest", ST_INGEST);
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	config_release(&cfg);
	unsetenv("INFLUX_FLUSH_INTERVAL");
	unlink(path);
}

static const struct {
	enum config_key key;
	const char *raw;
	int64_t num;
	size_t nlist;
} good_values[] = {
	{CK_STATS_INTERVAL, "0", 0, 0},
	{CK_STATS_INTERVAL, "500ms", 500, 0},
	{CK_STATS_INTERVAL, "5s", 5000, 0},
	{CK_STATS_INTERVAL, "2m", 120000, 0},
	{CK_STATS_INTERVAL, "1h", 3600000, 0},
	{CK_STATS_INTERVAL, "24h", 86400000, 0},
	{CK_MQTT_MAX_PAYLOAD, "16", 16, 0},
	{CK_MQTT_MAX_PAYLOAD, "64KiB", 65536, 0},
	{CK_MQTT_MAX_PAYLOAD, "64kib", 65536, 0},
	{CK_MQTT_MAX_PAYLOAD, "10MiB", 10485760, 0},
	{CK_MQTT_MAX_PAYLOAD, "256MiB", 268435456, 0},
	{CK_MQTT_MAX_PAYLOAD, "100KB", 100000, 0},
	{CK_MQTT_MAX_PAYLOAD, "2048B", 2048, 0},
	{CK_JOURNAL_MAX_SIZE, "1GiB", 1073741824, 0},
	{CK_JOURNAL_MAX_SIZE, "1GB", 1000000000, 0},
	{CK_INFLUX_GZIP, "yes", 1, 0},
	{CK_INFLUX_GZIP, "OFF", 0, 0},
	{CK_INFLUX_GZIP, "1", 1, 0},
	{CK_MQTT_QOS, "0", 0, 0},
	{CK_MQTT_QOS, "2", 2, 0},
	{CK_APP_ENV, "prod", 2, 0},
	{CK_MQTT_VERSION, "5", 1, 0},
	{CK_MQTT_TOPICS, " a/# , $share/g/b/+ ", 0, 2},
	{CK_MQTT_TOPICS, "", 0, 0},
	{CK_MQTT_URL, "ssl://[::1]:8883/x", 0, 0},
	{CK_MQTT_URL, "TCP://user:pw@broker", 0, 0},
	{CK_INFLUX_URL, "https://influx.example:8086/base", 0, 0},
	{CK_API_LISTEN, "[::1]:0", 0, 0},
	{CK_API_LISTEN, "0.0.0.0:8080", 0, 0},
};

static void
test_good_values(void)
{
	for (size_t i = 0; i < sizeof(good_values) / sizeof(good_values[0]); i++) {
		struct config cfg;
		size_t n = 99;
		enum config_err rc;

		config_init(&cfg, "t", ST_ALL);
		rc = config_set(&cfg, good_values[i].key, good_values[i].raw,
				CS_ENV, NULL, 0);
		CU_ASSERT_EQUAL(rc, CONFIG_OK);
		if (rc)
			fprintf(stderr, "case %zu: %s\n", i, cfg.err);
		CU_ASSERT_EQUAL(config_num(&cfg, good_values[i].key),
				good_values[i].num);
		if (config_keys[good_values[i].key].type == CT_LIST) {
			char *const *l = config_list(&cfg, good_values[i].key, &n);

			CU_ASSERT_EQUAL(n, good_values[i].nlist);
			CU_ASSERT_PTR_NOT_NULL_FATAL(l);
			CU_ASSERT_PTR_NULL(l[n]);
			if (n == 2) {
				CU_ASSERT_STRING_EQUAL(l[0], "a/#");
				CU_ASSERT_STRING_EQUAL(l[1], "$share/g/b/+");
			}
		}
		config_release(&cfg);
	}
}

static void
test_parsers(void)
{
	static const char *const bad_dur[] = {
		"", "5", "-1s", "1.5s", "s", "5S", "5 s", " 5s", "5sec", "1d",
		"99999999999999999999ms", "9223372036854775807h",
	};
	static const char *const bad_size[] = {
		"", "-1", "1.5MiB", "10 MiB", "KiB", "1TiB", "9223372036854775807GiB",
	};
	static const char *const bad_bool[] = {"", "2", "tru", "y", " true"};
	int64_t v;
	bool b;

	for (size_t i = 0; i < sizeof(bad_dur) / sizeof(bad_dur[0]); i++)
		CU_ASSERT_EQUAL(config_parse_duration(bad_dur[i], &v), -1);
	for (size_t i = 0; i < sizeof(bad_size) / sizeof(bad_size[0]); i++)
		CU_ASSERT_EQUAL(config_parse_size(bad_size[i], &v), -1);
	for (size_t i = 0; i < sizeof(bad_bool) / sizeof(bad_bool[0]); i++)
		CU_ASSERT_EQUAL(config_parse_bool(bad_bool[i], &b), -1);
	CU_ASSERT_EQUAL(config_parse_duration("30s", &v), 0);
	CU_ASSERT_EQUAL(v, 30000);
	CU_ASSERT_EQUAL(config_parse_duration("0ms", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(config_parse_size("0", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(config_parse_bool("TRUE", &b), 0);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(config_parse_bool("no", &b), 0);
	CU_ASSERT_FALSE(b);
	CU_ASSERT_EQUAL(config_parse_duration(NULL, &v), -1);
}

/* ---- prod ---- */

static void
load_one_file(struct config *cfg, unsigned stage, const char *path,
	      const char *text)
{
	write_file(path, text);
	config_init(cfg, "influx-sink", stage);
	cfg->env_file = path;
}

static void
test_prod_placeholders(void)
{
	static const char *const refused[] = {
		"your-token", "YOUR-TOKEN", "your-api-key", "your-password",
		"changeme", "Change-Me", "changeit", "password", "secret", "xxx",
		"todo", "<token>", "your-anything",
	};
	char path[128], text[200], want[300];
	struct config cfg;

	path_in_dir(path, sizeof(path), "prod.env");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(text, sizeof(text), "APP_ENV=prod\nINFLUX_TOKEN=%s\n",
			 refused[i]);
		load_one_file(&cfg, ST_SINK, path, text);
		CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_ERR_PROD);
		snprintf(want, sizeof(want), "INFLUX_TOKEN (from %s:2): placeholder "
			 "value refused with APP_ENV=prod", path);
		CU_ASSERT_STRING_EQUAL(cfg.err, want);
		CU_ASSERT_PTR_NULL(strstr(cfg.err, refused[i]));
		config_release(&cfg);
	}
	/* a non-secret "your-org" is a placeholder too, "password" is not */
	load_one_file(&cfg, ST_SINK, path, "APP_ENV=prod\nINFLUX_ORG=your-org\n");
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_ERR_PROD);
	snprintf(want, sizeof(want), "INFLUX_ORG (from %s:2): placeholder value "
		 "refused with APP_ENV=prod", path);
	CU_ASSERT_STRING_EQUAL(cfg.err, want);
	config_release(&cfg);
	load_one_file(&cfg, ST_SINK, path, "APP_ENV=prod\nINFLUX_USERNAME=password\n"
		      "INFLUX_TOKEN=Zk3-real-token\n");
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	config_release(&cfg);
	/* an empty secret in prod */
	load_one_file(&cfg, ST_SINK, path, "APP_ENV=prod\nINFLUX_TOKEN=\n");
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_ERR_PROD);
	snprintf(want, sizeof(want), "INFLUX_TOKEN (from %s:2): empty secret "
		 "refused with APP_ENV=prod", path);
	CU_ASSERT_STRING_EQUAL(cfg.err, want);
	config_release(&cfg);
	/* a secret of another stage is not this stage's business */
	load_one_file(&cfg, ST_INGEST, path, "APP_ENV=prod\nINFLUX_TOKEN=changeme\n");
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	config_release(&cfg);
	/* dev: only a warning */
	load_one_file(&cfg, ST_SINK, path, "APP_ENV=dev\nINFLUX_TOKEN=changeme\n");
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_EQUAL(cfg.warnings, 1);
	CU_ASSERT_FALSE(config_is_prod(&cfg));
	config_release(&cfg);
	unlink(path);
}

static void
test_require(void)
{
	struct config cfg;

	config_init(&cfg, "influx-sink", ST_SINK);
	setenv("APP_ENV", "prod", 1);
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_TRUE(config_is_prod(&cfg));
	CU_ASSERT_EQUAL(config_require(&cfg, CK_INFLUX_TOKEN, "INFLUX_API=v2"),
			CONFIG_ERR_PROD);
	CU_ASSERT_STRING_EQUAL(cfg.err, "INFLUX_TOKEN is required (INFLUX_API=v2) "
			       "with APP_ENV=prod");
	CU_ASSERT_EQUAL(config_require(&cfg, CK_INFLUX_URL, "always"), CONFIG_OK);
	config_release(&cfg);
	setenv("APP_ENV", "staging", 1);
	config_init(&cfg, "influx-sink", ST_SINK);
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_EQUAL(config_require(&cfg, CK_INFLUX_TOKEN, "INFLUX_API=v2"),
			CONFIG_OK);
	CU_ASSERT_EQUAL(cfg.warnings, 1);
	config_release(&cfg);
	unsetenv("APP_ENV");
}

/* ---- output ---- */

static void
test_print_config(void)
{
	struct config cfg;
	char *argv[] = {"prog", "--influx-db", "my db", "--print-config", NULL};
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	setenv("INFLUX_TOKEN", "s3cr3t-value", 1);
	config_init(&cfg, "influx-sink", ST_SINK);
	CU_ASSERT_EQUAL(config_parse_args(&cfg, 4, argv, NULL, 0), CONFIG_OK);
	CU_ASSERT_TRUE(cfg.print_config);
	CU_ASSERT_EQUAL(config_load(&cfg), CONFIG_OK);
	m = open_memstream(&buf, &len);
	config_print(&cfg, m);
	fclose(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nINFLUX_TOKEN=<redacted>  # environment\n"));
	CU_ASSERT_PTR_NULL(strstr(buf, "s3cr3t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nINFLUX_DB=\"my db\"  # flag --influx-db\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nINFLUX_URL=http://127.0.0.1:8086  # default\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nINFLUX_PASSWORD=  # default (unset)\n"));
	CU_ASSERT_EQUAL(strncmp(buf, "APP_ENV=dev  # default\n", 23), 0);
	CU_ASSERT_PTR_NULL(strstr(buf, "MQTT_URL"));
	free(buf);
	config_release(&cfg);
	unsetenv("INFLUX_TOKEN");
}

static void
test_usage(void)
{
	static const struct config_opt opts[] = {
		{"kind", "NAME", "what to read"},
	};
	struct config cfg;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	config_init(&cfg, "influx-sink", ST_SINK);
	cfg.opts = opts;
	cfg.nopts = 1;
	m = open_memstream(&buf, &len);
	config_usage(&cfg, m, "influx-sink [OPTION]...", "Writes readings.");
	fclose(m);
	CU_ASSERT_EQUAL(strncmp(buf, "Usage: influx-sink [OPTION]...\n\nWrites readings.\n", 48), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "--kind NAME"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "--env-file FILE"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "  INFLUX_BATCH_SIZE (--influx-batch-size)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "default 5000"));
	CU_ASSERT_PTR_NULL(strstr(buf, "MQTT_URL ("));
	free(buf);
	config_release(&cfg);
}

/* ---- arguments ---- */

static const struct config_opt test_opts[] = {
	{"kind", "NAME", "kind of thing"},
	{"dry-run", NULL, "do nothing"},
};

static const struct {
	int argc;
	char *argv[4];
	enum config_err rc;
	const char *msg;
} bad_args[] = {
	{2, {"p", "--foo"}, CONFIG_ERR_USAGE, "unknown option '--foo' (see --help)"},
	{2, {"p", "--foo=1"}, CONFIG_ERR_USAGE, "unknown option '--foo' (see --help)"},
	{2, {"p", "--mqtt-url"}, CONFIG_ERR_USAGE,
	 "option '--mqtt-url' needs an argument (see --help)"},
	{2, {"p", "--kind"}, CONFIG_ERR_USAGE,
	 "option '--kind' needs an argument (see --help)"},
	{2, {"p", "--strict=1"}, CONFIG_ERR_USAGE,
	 "option '--strict' takes no value (see --help)"},
	{2, {"p", "--dry-run=yes"}, CONFIG_ERR_USAGE,
	 "option '--dry-run' takes no value (see --help)"},
	{2, {"p", "extra"}, CONFIG_ERR_USAGE, "unexpected argument 'extra' (see --help)"},
	{2, {"p", "-v"}, CONFIG_ERR_USAGE, "unexpected argument '-v' (see --help)"},
	{2, {"p", "--"}, CONFIG_ERR_USAGE, "unexpected argument '--' (see --help)"},
	{3, {"p", "--influx-url", "http://x"}, CONFIG_ERR_USAGE,
	 "unknown option '--influx-url' (see --help)"},
	{2, {"p", "--help"}, CONFIG_HELP, ""},
	{2, {"p", "-h"}, CONFIG_HELP, ""},
	{2, {"p", "--version"}, CONFIG_VERSION, ""},
};

static void
test_args_errors(void)
{
	for (size_t i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		struct config cfg;
		char *argv[4];

		memcpy(argv, bad_args[i].argv, sizeof(argv));
		config_init(&cfg, "mqtt-ingest", ST_INGEST);
		CU_ASSERT_EQUAL(config_parse_args(&cfg, bad_args[i].argc, argv,
						  test_opts, 2), bad_args[i].rc);
		CU_ASSERT_STRING_EQUAL(cfg.err, bad_args[i].msg);
		config_release(&cfg);
	}
}

static void
test_args_ok(void)
{
	char *argv[] = {
		"p", "--mqtt-url=tcp://h:1", "--in", "dir", "--out=o",
		"--consumer", "c", "--dead-letter", "/tmp/dl.ndjson", "--strict",
		"--kind", "x", "--dry-run", "--env-file", "/nonexistent.env",
		"--mqtt-qos", "2", NULL,
	};
	struct config cfg;
	char src[300];

	config_init(&cfg, "mqtt-ingest", ST_INGEST);
	CU_ASSERT_STRING_EQUAL(cfg.in, "-");
	CU_ASSERT_STRING_EQUAL(cfg.out, "-");
	CU_ASSERT_EQUAL_FATAL(config_parse_args(&cfg, 17, argv, test_opts, 2),
			      CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(cfg.in, "dir");
	CU_ASSERT_STRING_EQUAL(cfg.out, "o");
	CU_ASSERT_STRING_EQUAL(cfg.consumer, "c");
	CU_ASSERT_STRING_EQUAL(cfg.env_file, "/nonexistent.env");
	CU_ASSERT_TRUE(cfg.strict);
	CU_ASSERT_FALSE(cfg.print_config);
	CU_ASSERT_TRUE(config_opt_set(&cfg, "kind"));
	CU_ASSERT_STRING_EQUAL(config_opt(&cfg, "kind"), "x");
	CU_ASSERT_TRUE(config_opt_set(&cfg, "dry-run"));
	CU_ASSERT_PTR_NULL(config_opt(&cfg, "dry-run"));
	CU_ASSERT_FALSE(config_opt_set(&cfg, "nope"));
	cfg.env_file = NULL;
	CU_ASSERT_EQUAL_FATAL(config_load(&cfg), CONFIG_OK);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_MQTT_URL), "tcp://h:1");
	CU_ASSERT_EQUAL(config_num(&cfg, CK_MQTT_QOS), 2);
	CU_ASSERT_STRING_EQUAL(config_str(&cfg, CK_DEAD_LETTER_FILE),
			       "/tmp/dl.ndjson");
	CU_ASSERT_EQUAL(cfg.v[CK_DEAD_LETTER_FILE].src, CS_FLAG);
	CU_ASSERT_STRING_EQUAL(config_source_text(&cfg, CK_MQTT_URL, src,
						  sizeof(src)), "flag --mqtt-url");
	CU_ASSERT_TRUE(config_is_set(&cfg, CK_MQTT_URL));
	CU_ASSERT_FALSE(config_is_set(&cfg, CK_MQTT_USERNAME));
	config_release(&cfg);
}

static void
test_strerror(void)
{
	for (int e = CONFIG_OK; e <= CONFIG_ERR_NOMEM; e++) {
		const char *s = config_strerror((enum config_err)e);

		CU_ASSERT_PTR_NOT_NULL(s);
		CU_ASSERT_TRUE(s && *s);
	}
}

/* ---- generated docs ---- */

static void
test_markdown_matches_docs(void)
{
	char *buf = NULL, *disk;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	config_print_markdown(m);
	fclose(m);
	disk = test_read_file("../../docs/configuration.md");
	CHECK_MSG(strcmp(buf, disk) == 0,
		  "docs/configuration.md differs from config_keys.h: run make docs");
	free(buf);
	free(disk);
}

static void
test_env_example_has_every_key(void)
{
	char *text = test_read_file("../../etc/sensorpipe.env.example");
	char *buf = NULL, want[400], msg[300];
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	CHECK_MSG(text[0] != '\0', "etc/sensorpipe.env.example is missing");
	for (int k = 0; k < CK__COUNT; k++) {
		const struct config_keyinfo *ki = &config_keys[k];

		snprintf(want, sizeof(want), "\n# %s=%s\n", ki->name,
			 ki->def ? ki->def : "");
		snprintf(msg, sizeof(msg), "etc/sensorpipe.env.example lacks "
			 "'# %s=%s'", ki->name, ki->def ? ki->def : "");
		CHECK_MSG(strstr(text, want) != NULL, msg);
	}
	CU_ASSERT_FATAL(m != NULL);
	config_print_env_example(m);
	fclose(m);
	CHECK_MSG(strcmp(buf, text) == 0,
		  "etc/sensorpipe.env.example differs from config_keys.h: "
		  "run make docs");
	free(buf);
	free(text);
}

int
test_config_suite(void)
{
	CU_pSuite s = CU_add_suite("config", suite_init, suite_clean);

	if (!s)
		return -1;
	if (!CU_add_test(s, "precedence matrix", test_precedence_matrix) ||
	    !CU_add_test(s, "APP_ENV picks the profile", test_profile_choice) ||
	    !CU_add_test(s, "{prog} {hostname} defaults", test_default_expansion) ||
	    !CU_add_test(s, ".env syntax accepted", test_envfile_syntax_ok) ||
	    !CU_add_test(s, ".env syntax errors", test_envfile_syntax_bad) ||
	    !CU_add_test(s, ".env missing file", test_envfile_missing) ||
	    !CU_add_test(s, ".env duplicate/unknown warnings", test_envfile_warnings) ||
	    !CU_add_test(s, "validation messages", test_validation_messages) ||
	    !CU_add_test(s, "validation from load", test_validation_from_load) ||
	    !CU_add_test(s, "typed values", test_good_values) ||
	    !CU_add_test(s, "duration/size/bool parsers", test_parsers) ||
	    !CU_add_test(s, "prod placeholders", test_prod_placeholders) ||
	    !CU_add_test(s, "config_require", test_require) ||
	    !CU_add_test(s, "--print-config redaction", test_print_config) ||
	    !CU_add_test(s, "usage text", test_usage) ||
	    !CU_add_test(s, "argument errors", test_args_errors) ||
	    !CU_add_test(s, "arguments", test_args_ok) ||
	    !CU_add_test(s, "strerror", test_strerror) ||
	    !CU_add_test(s, "docs/configuration.md up to date", test_markdown_matches_docs) ||
	    !CU_add_test(s, "env example lists every key", test_env_example_has_every_key))
		return -1;
	return 0;
}
