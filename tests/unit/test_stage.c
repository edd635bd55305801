/*
 * test_stage: stage_init's exit statuses and stdout (--version line,
 * --help synopsis, --print-config with a redacted secret, 64 for a bad
 * flag, 78 for a bad value, -1 to go on), the SIGTERM/SIGHUP handlers it
 * installs (stop flag and signal number; log file reopened), and the stats
 * ticker (due once per interval, no catch-up burst, wait capped, 0 = off).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "log.h"
#include "stage.h"
#include "testutil.h"
#include "banned.h"

static char sdir[64];
static int saved_stderr = -1;

static const struct config_opt stage_test_opts[] = {
	{"kind", "NAME", "what to do"},
};

static const struct stage_info stage_test_info = {
	.prog = "influx-sink",
	.stage = ST_SINK,
	.synopsis = "influx-sink [OPTION]...",
	.description = "Writes readings to InfluxDB.",
	.opts = stage_test_opts,
	.nopts = 1,
};

static int
suite_init(void)
{
	int fd;

	snprintf(sdir, sizeof(sdir), "/tmp/sp-test-stage-XXXXXX");
	if (!mkdtemp(sdir))
		return -1;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	fd = open("/dev/null", O_WRONLY);
	if (saved_stderr < 0 || fd < 0)
		return -1;
	dup2(fd, STDERR_FILENO);
	close(fd);
	unsetenv("INFLUX_TOKEN");
	unsetenv("INFLUX_BATCH_SIZE");
	unsetenv("LOG_FILE");
	unsetenv("SENSORPIPE_ENV_FILE");
	unsetenv("APP_ENV");
	return 0;
}

static int
suite_clean(void)
{
	char cmd[128];

	log_shutdown();
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Runs stage_init with stdout sent to a file; returns its status and what
 * it printed (*out, malloc'd). */
static int
run_init(struct config *cfg, int argc, char *argv[], char **out)
{
	char path[128];
	int saved, fd, ex;

	snprintf(path, sizeof(path), "%s/stdout.txt", sdir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	ex = stage_init(cfg, &stage_test_info, argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	*out = test_read_file(path);
	unlink(path);
	return ex;
}

static void
test_version_help(void)
{
	struct config cfg;
	char *argv1[] = {"influx-sink", "--version", NULL};
	char *argv2[] = {"influx-sink", "--help", NULL};
	char *out;

	CU_ASSERT_EQUAL(run_init(&cfg, 2, argv1, &out), EX_OK);
	CU_ASSERT_STRING_EQUAL(out, "influx-sink (sensorpipe) " SENSORPIPE_VERSION "\n");
	free(out);
	CU_ASSERT_EQUAL(run_init(&cfg, 2, argv2, &out), EX_OK);
	CU_ASSERT_EQUAL(strncmp(out, "Usage: influx-sink [OPTION]...\n", 31), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--kind NAME"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "INFLUX_URL"));
	free(out);
}

static void
test_errors(void)
{
	struct config cfg;
	char *argv1[] = {"influx-sink", "--bogus", NULL};
	char *argv2[] = {"influx-sink", "--influx-batch-size", "0", NULL};
	char logp[160];
	char *out, *log;

	CU_ASSERT_EQUAL(run_init(&cfg, 2, argv1, &out), EX_USAGE);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	/* the error goes to the log as one line; point LOG_FILE at a file to
	 * read it: log_configure runs only after a good load, so use a log
	 * configured beforehand */
	snprintf(logp, sizeof(logp), "%s/err.log", sdir);
	log_configure(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, logp);
	CU_ASSERT_EQUAL(run_init(&cfg, 3, argv2, &out), EX_CONFIG);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	log = test_read_file(logp);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, " influx-sink error: INFLUX_BATCH_SIZE=0 "
				      "(from flag --influx-batch-size): must be an "
				      "integer from 1 to 1000000\n"));
	free(log);
	log_shutdown();
	unlink(logp);
}

static void
test_print_config(void)
{
	struct config cfg;
	char *argv[] = {"influx-sink", "--print-config", NULL};
	char *out;

	setenv("INFLUX_TOKEN", "abc-real-token-123", 1);
	CU_ASSERT_EQUAL(run_init(&cfg, 2, argv, &out), EX_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "INFLUX_TOKEN=<redacted>  # environment\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "abc-real-token-123"));
	free(out);
	unsetenv("INFLUX_TOKEN");
	log_shutdown();
}

static void
test_go_on_and_signals(void)
{
	struct config cfg;
	char logp[160], rotated[170], opt[200];
	char *argv[4] = {"influx-sink", opt, "--kind=x", NULL};
	char *out, *log;

	snprintf(logp, sizeof(logp), "%s/stage.log", sdir);
	snprintf(rotated, sizeof(rotated), "%s.1", logp);
	snprintf(opt, sizeof(opt), "--log-file=%s", logp);
	setenv("INFLUX_TOKEN", "tok-secret-987", 1);
	setenv("LOG_LEVEL", "debug", 1);
	CU_ASSERT_EQUAL_FATAL(run_init(&cfg, 3, argv, &out), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	CU_ASSERT_STRING_EQUAL(config_opt(&cfg, "kind"), "x");
	CU_ASSERT_EQUAL(log_current_level, LOG_LEVEL_DEBUG);
	log_info("token is tok-secret-987");

	/* SIGHUP reopens LOG_FILE */
	CU_ASSERT_EQUAL(rename(logp, rotated), 0);
	CU_ASSERT_EQUAL(raise(SIGHUP), 0);
	log_info("after hup");
	log = test_read_file(logp);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "influx-sink info: after hup\n"));
	free(log);
	log = test_read_file(rotated);
	/* effective configuration at debug, secrets masked and scrubbed */
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "debug: config key=INFLUX_TOKEN "
				      "value=\"<redacted>\" source=\"environment\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "debug: config key=INFLUX_BATCH_SIZE "
				      "value=\"5000\" source=\"default\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "info: token is ***\n"));
	CU_ASSERT_PTR_NULL(strstr(log, "tok-secret-987"));
	free(log);

	/* SIGPIPE is ignored, SIGTERM sets the flag */
	CU_ASSERT_EQUAL(raise(SIGPIPE), 0);
	CU_ASSERT_EQUAL(stage_stop, 0);
	CU_ASSERT_EQUAL(raise(SIGTERM), 0);
	CU_ASSERT_EQUAL(stage_stop, 1);
	CU_ASSERT_EQUAL(stage_stop_signal, SIGTERM);
	stage_stop = 0;
	stage_stop_signal = 0;

	config_release(&cfg);
	log_shutdown();
	unsetenv("INFLUX_TOKEN");
	unsetenv("LOG_LEVEL");
	unlink(logp);
	unlink(rotated);
}

static void
test_ticker(void)
{
	struct stage_ticker t;

	stage_ticker_init(&t, 1000);
	t.next_ms = 11000;	/* as if started at 10000 */
	CU_ASSERT_FALSE(stage_ticker_due(&t, 10999));
	CU_ASSERT_EQUAL(stage_ticker_wait(&t, 10500, 5000), 500);
	CU_ASSERT_EQUAL(stage_ticker_wait(&t, 10500, 100), 100);
	CU_ASSERT_TRUE(stage_ticker_due(&t, 11000));
	CU_ASSERT_FALSE(stage_ticker_due(&t, 11001));
	CU_ASSERT_TRUE(stage_ticker_due(&t, 12005));
	CU_ASSERT_EQUAL(stage_ticker_wait(&t, 12005, 5000), 995);
	/* a long stall fires once, not once per missed interval */
	CU_ASSERT_TRUE(stage_ticker_due(&t, 20000));
	CU_ASSERT_FALSE(stage_ticker_due(&t, 20001));
	CU_ASSERT_EQUAL(stage_ticker_wait(&t, 20500, 5000), 500);
	CU_ASSERT_EQUAL(stage_ticker_wait(&t, 30000, 5000), 0);

	stage_ticker_init(&t, 0);
	CU_ASSERT_FALSE(stage_ticker_due(&t, 0));
	CU_ASSERT_FALSE(stage_ticker_due(&t, 1000000000));
	CU_ASSERT_EQUAL(stage_ticker_wait(&t, 5, 250), 250);
}

static void
test_block_signals(void)
{
	sigset_t cur;

	stage_block_signals();
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	CU_ASSERT_TRUE(sigismember(&cur, SIGTERM));
	CU_ASSERT_TRUE(sigismember(&cur, SIGHUP));
	stage_unblock_signals();
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	CU_ASSERT_FALSE(sigismember(&cur, SIGTERM));
	CU_ASSERT_FALSE(sigismember(&cur, SIGINT));
}

int
test_stage_suite(void)
{
	CU_pSuite s = CU_add_suite("stage", suite_init, suite_clean);

	if (!s)
		return -1;
	if (!CU_add_test(s, "--version and --help", test_version_help) ||
	    !CU_add_test(s, "usage and config errors", test_errors) ||
	    !CU_add_test(s, "--print-config", test_print_config) ||
	    !CU_add_test(s, "go on, signals, debug config", test_go_on_and_signals) ||
	    !CU_add_test(s, "stats ticker", test_ticker) ||
	    !CU_add_test(s, "block signals", test_block_signals))
		return -1;
	return 0;
}
