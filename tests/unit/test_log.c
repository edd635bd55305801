/*
 * test_log: the text line format (RFC 3339 ms UTC, prog, level, message,
 * fields) and the JSON format (fields as members, numbers as numbers,
 * quoted values unquoted), level filtering, secret scrubbing in both
 * formats, control characters flattened, LOG_FILE reopened after a rename
 * (SIGHUP path), lines from 4 threads never interleaved, the rate limiter's
 * counts and "suppressed=" report, and the level/format parsers.
 * Every test logs to a temporary LOG_FILE and reads it back; stderr is sent
 * to /dev/null while the suite runs.
 */
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "log.h"
#include "util.h"
#include "testutil.h"
#include "banned.h"

static char ldir[64];
static char lpath[128];
static int saved_stderr = -1;

static int
suite_init(void)
{
	int fd;

	snprintf(ldir, sizeof(ldir), "/tmp/sp-test-log-XXXXXX");
	if (!mkdtemp(ldir))
		return -1;
	snprintf(lpath, sizeof(lpath), "%s/sp.log", ldir);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	fd = open("/dev/null", O_WRONLY);
	if (saved_stderr < 0 || fd < 0)
		return -1;
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

static int
suite_clean(void)
{
	char cmd[128];

	log_shutdown();
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ldir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
fresh(enum log_level level, enum log_format fmt)
{
	unlink(lpath);
	log_shutdown();
	log_init("test-prog");
	CU_ASSERT_EQUAL(log_configure(level, fmt, lpath), LOG_OK);
}

static bool
matches(const char *re, const char *s)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void
test_text_format(void)
{
	char *text;

	fresh(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	log_info("reconnected\tattempts=%u down_s=%.1f", 3u, 7.0);
	log_warn("plain message with 100%% and %s", "'quoted'");
	log_debug("not shown %d", 1);
	log_error("cannot open 'x': open: %s", "No such file or directory");
	text = test_read_file(lpath);
	CU_ASSERT_TRUE(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
			       "[0-9]{2}\\.[0-9]{3}Z test-prog info: reconnected "
			       "attempts=3 down_s=7\\.0\n"
			       "[^ ]+Z test-prog warn: plain message with 100% "
			       "and 'quoted'\n"
			       "[^ ]+Z test-prog error: cannot open 'x': open: "
			       "No such file or directory\n$", text));
	CU_ASSERT_PTR_NULL(strstr(text, "not shown"));
	free(text);
}

static void
test_levels(void)
{
	char *text;

	fresh(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	log_warn("w");
	log_info("i");
	log_error("e");
	text = test_read_file(lpath);
	CU_ASSERT_PTR_NULL(strstr(text, " warn: "));
	CU_ASSERT_PTR_NULL(strstr(text, " info: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " error: e\n"));
	free(text);
	fresh(LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT);
	log_debug("d %d", 2);
	text = test_read_file(lpath);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " test-prog debug: d 2\n"));
	free(text);
}

static void
test_json_format(void)
{
	char *text;
	json_t *j;
	json_error_t jerr;

	fresh(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	log_warn("cannot write \"x\"\tpath=\"/a b\\\"c\" n=5 x=1e3 f=7.5 s=abc "
		 "neg=-2 lead=01 hex=0x10 empty= flag");
	text = test_read_file(lpath);
	CU_ASSERT_EQUAL(strchr(text, '\n') - text + 1, (long)strlen(text));
	j = json_loads(text, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "prog")), "test-prog");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "level")), "warn");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "msg")),
			       "cannot write \"x\"");
	CU_ASSERT_TRUE(matches("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z$",
			       json_string_value(json_object_get(j, "time"))));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "path")), "/a b\"c");
	CU_ASSERT_TRUE(json_is_integer(json_object_get(j, "n")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "n")), 5);
	CU_ASSERT_TRUE(json_is_real(json_object_get(j, "x")));
	CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(j, "f")), 7.5, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "s")), "abc");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "neg")), -2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "lead")), "01");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "hex")), "0x10");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "empty")), "");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "flag")), "");
	json_decref(j);
	free(text);
}

static void
test_secrets(void)
{
	char *text;

	fresh(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	log_add_secret("hunter2");
	log_add_secret("hunter2");
	log_add_secret("");
	log_add_secret(NULL);
	log_add_secret("tok-XYZ");
	log_error("auth failed for pw=hunter2 and again hunter2\ttoken=tok-XYZ");
	text = test_read_file(lpath);
	CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));
	CU_ASSERT_PTR_NULL(strstr(text, "tok-XYZ"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "auth failed for pw=*** and again *** token=***\n"));
	free(text);
	/* log_shutdown forgot them; JSON scrubs too */
	fresh(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	log_add_secret("s3cr3t");
	log_info("url\tu=\"http://user:s3cr3t@h\"");
	text = test_read_file(lpath);
	CU_ASSERT_PTR_NULL(strstr(text, "s3cr3t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"u\":\"http://user:***@h\""));
	free(text);
}

static void
test_one_line(void)
{
	char *text;

	fresh(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	log_info("two\nlines\rand more");
	text = test_read_file(lpath);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "info: two lines and more\n"));
	CU_ASSERT_EQUAL(strchr(text, '\n') - text + 1, (long)strlen(text));
	free(text);
}

static void
test_reopen(void)
{
	char rotated[160];
	char *a, *b;

	fresh(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	snprintf(rotated, sizeof(rotated), "%s.1", lpath);
	log_info("before rotation");
	CU_ASSERT_EQUAL(rename(lpath, rotated), 0);
	log_info("still the old file");
	log_request_reopen();
	log_info("after reopen");
	a = test_read_file(rotated);
	b = test_read_file(lpath);
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "before rotation"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "still the old file"));
	CU_ASSERT_PTR_NULL(strstr(a, "after reopen"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "after reopen"));
	CU_ASSERT_PTR_NULL(strstr(b, "before rotation"));
	free(a);
	free(b);
	unlink(rotated);
}

#define THREADS 4
#define LINES 300

static void *
thread_main(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < LINES; i++)
		log_info("thread line with a long enough body to tempt "
			 "interleaving\tthread=%ld i=%d pad=%s", id, i,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[THREADS];
	char *text, *line, *save = NULL;
	int n = 0, good = 0;

	fresh(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	for (long i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL(pthread_create(&th[i], NULL, thread_main, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	text = test_read_file(lpath);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		n++;
		if (matches("^[^ ]+Z test-prog info: thread line with a long "
			    "enough body to tempt interleaving thread=[0-3] "
			    "i=[0-9]+ pad=x{56}$", line))
			good++;
	}
	CU_ASSERT_EQUAL(n, THREADS * LINES);
	CU_ASSERT_EQUAL(good, THREADS * LINES);
	free(text);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void
test_rate_limit(void)
{
	struct log_limit lim;
	char *text;

	fresh(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	memset(&lim, 0, sizeof(lim));
	lim.burst = 3;
	lim.window_ms = 3600 * 1000;
	for (int i = 0; i < 10; i++)
		log_warn_limited(&lim, "bad line\tn=%d", i);
	CU_ASSERT_EQUAL(lim.shown, 3);
	CU_ASSERT_EQUAL(lim.suppressed, 7);
	/* the window passes: the next line reports what was held back */
	lim.window_start = time_mono_ms() - lim.window_ms - 1;
	log_warn_limited(&lim, "bad line\tn=%d", 10);
	log_warn_limited(&lim, "no fields");
	CU_ASSERT_EQUAL(lim.suppressed, 0);
	CU_ASSERT_EQUAL(lim.shown, 2);
	text = test_read_file(lpath);
	CU_ASSERT_EQUAL(count(text, "warn: bad line"), 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "warn: bad line n=2\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "n=3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "warn: bad line n=10 suppressed=7\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "warn: no fields\n"));
	free(text);

	/* zero-initialised: 5 lines a minute */
	fresh(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	memset(&lim, 0, sizeof(lim));
	for (int i = 0; i < 8; i++)
		log_warn_limited(&lim, "x%d", i);
	CU_ASSERT_EQUAL(lim.shown, 5);
	CU_ASSERT_EQUAL(lim.suppressed, 3);
	lim.window_start = time_mono_ms() - 60001;
	log_warn_limited(&lim, "again");
	text = test_read_file(lpath);
	CU_ASSERT_EQUAL(count(text, " warn: x"), 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "warn: again suppressed=3\n"));
	free(text);
}

static void
test_parse_and_errors(void)
{
	enum log_level l;
	enum log_format f;

	CU_ASSERT_EQUAL(log_level_parse("debug", &l), LOG_OK);
	CU_ASSERT_EQUAL(l, LOG_LEVEL_DEBUG);
	CU_ASSERT_EQUAL(log_level_parse("error", &l), LOG_OK);
	CU_ASSERT_EQUAL(l, LOG_LEVEL_ERROR);
	CU_ASSERT_EQUAL(log_level_parse("verbose", &l), LOG_ERR_VALUE);
	CU_ASSERT_EQUAL(log_level_parse(NULL, &l), LOG_ERR_VALUE);
	CU_ASSERT_EQUAL(log_format_parse("json", &f), LOG_OK);
	CU_ASSERT_EQUAL(f, LOG_FORMAT_JSON);
	CU_ASSERT_EQUAL(log_format_parse("xml", &f), LOG_ERR_VALUE);
	CU_ASSERT_EQUAL(log_configure(LOG_LEVEL_INFO, LOG_FORMAT_TEXT,
				      "/nonexistent-dir/x/sp.log"), LOG_ERR_SYS);
	log_shutdown();
	CU_ASSERT_EQUAL(log_current_level, LOG_LEVEL_INFO);
}

int
test_log_suite(void)
{
	CU_pSuite s = CU_add_suite("log", suite_init, suite_clean);

	if (!s)
		return -1;
	if (!CU_add_test(s, "text format", test_text_format) ||
	    !CU_add_test(s, "levels", test_levels) ||
	    !CU_add_test(s, "json format", test_json_format) ||
	    !CU_add_test(s, "secrets scrubbed", test_secrets) ||
	    !CU_add_test(s, "one line per event", test_one_line) ||
	    !CU_add_test(s, "reopen after rotation", test_reopen) ||
	    !CU_add_test(s, "threads never interleave", test_threads) ||
	    !CU_add_test(s, "rate limiter", test_rate_limit) ||
	    !CU_add_test(s, "parsers and errors", test_parse_and_errors))
		return -1;
	return 0;
}
