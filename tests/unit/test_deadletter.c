/*
 * test_deadletter: entries parse back with jansson and carry every field;
 * optional fields are left out; a binary payload goes to payload_b64; the
 * file is appended to (0644) and counted; a NULL dead letter is a no-op;
 * open and write failures report errno; threads sharing one dead letter
 * (influx-sink's reader and writers) write whole entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "deadletter.h"
#include "rfc3339.h"
#include "banned.h"

static char dl_dir[] = "/tmp/sp-dl-XXXXXX";
static char dl_path[64];

static int
dl_setup(void)
{
	if (!mkdtemp(dl_dir))
		return -1;
	snprintf(dl_path, sizeof(dl_path), "%s/dead.ndjson", dl_dir);
	return 0;
}

static int
dl_teardown(void)
{
	unlink(dl_path);
	return rmdir(dl_dir);
}

/* The n-th line (from 0) of the dead letter file, parsed; NULL if none. */
static json_t *
entry(int n)
{
	FILE *f = fopen(dl_path, "r");
	char *line = NULL;
	size_t cap = 0;
	json_t *j = NULL;
	json_error_t jerr;

	if (!f)
		return NULL;
	for (int i = 0; getline(&line, &cap, f) >= 0; i++) {
		if (i == n) {
			j = json_loads(line, 0, &jerr);
			break;
		}
	}
	free(line);
	fclose(f);
	return j;
}

static const char *
jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static void
test_fields(void)
{
	struct deadletter *dl = NULL;
	struct deadletter_entry e = {
		.reason = "bad_json",
		.detail = "line 3: '}' expected near end of file",
		.topic = "sensors/room\"1",
		.line = 3,
		.data = "{\"id\":\"caf\xc3\xa9\"\n",
		.len = 14,
	};
	struct stat st;
	json_t *j;
	int64_t ns;

	mode_t old_mask = umask(022);

	unlink(dl_path);
	CU_ASSERT_EQUAL_FATAL(deadletter_open(&dl, dl_path, "mqtt-ingest"),
			      DEADLETTER_OK);
	umask(old_mask);
	CU_ASSERT_FATAL(dl != NULL);
	CU_ASSERT_EQUAL(deadletter_count(dl), 0);
	CU_ASSERT_EQUAL(deadletter_write(dl, &e), DEADLETTER_OK);
	CU_ASSERT_EQUAL(deadletter_count(dl), 1);
	deadletter_close(dl);

	CU_ASSERT_FATAL(stat(dl_path, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);
	j = entry(0);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_STRING_EQUAL(jstr(j, "stage"), "mqtt-ingest");
	CU_ASSERT_STRING_EQUAL(jstr(j, "reason"), "bad_json");
	CU_ASSERT_STRING_EQUAL(jstr(j, "detail"), e.detail);
	CU_ASSERT_STRING_EQUAL(jstr(j, "topic"), "sensors/room\"1");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "line")), 3);
	CU_ASSERT_STRING_EQUAL(jstr(j, "payload"), e.data);
	CU_ASSERT_PTR_NULL(json_object_get(j, "payload_b64"));
	CU_ASSERT_FATAL(jstr(j, "time") != NULL);
	CU_ASSERT_EQUAL(rfc3339_parse(jstr(j, "time"), strlen(jstr(j, "time")),
				      &ns), RFC3339_OK);
	CU_ASSERT_EQUAL(json_object_size(j), 7);
	json_decref(j);
}

static void
test_binary_and_append(void)
{
	static const char bin[] = { 'o', 'k', '\xff', '\0', '\xc0', '\x80' };
	struct deadletter *dl = NULL;
	struct deadletter_entry e = {
		.reason = "bad_utf8",
		.data = bin,
		.len = sizeof(bin),
	};
	json_t *j;

	unlink(dl_path);
	CU_ASSERT_EQUAL_FATAL(deadletter_open(&dl, dl_path, "influx-sink"),
			      DEADLETTER_OK);
	CU_ASSERT_EQUAL(deadletter_write(dl, &e), DEADLETTER_OK);
	e.reason = "too_long";
	e.data = "";
	e.len = 0;
	CU_ASSERT_EQUAL(deadletter_write(dl, &e), DEADLETTER_OK);
	CU_ASSERT_EQUAL(deadletter_count(dl), 2);
	deadletter_close(dl);
	/* A second open appends. */
	CU_ASSERT_EQUAL_FATAL(deadletter_open(&dl, dl_path, "influx-sink"),
			      DEADLETTER_OK);
	e.reason = "third";
	e.data = "a\0b";	/* valid UTF-8, but with a NUL */
	e.len = 3;
	CU_ASSERT_EQUAL(deadletter_write(dl, &e), DEADLETTER_OK);
	CU_ASSERT_EQUAL(deadletter_count(dl), 1);
	deadletter_close(dl);

	j = entry(0);
	CU_ASSERT_FATAL(j != NULL);
	/* base64("ok\xff\x00\xc0\x80") */
	CU_ASSERT_STRING_EQUAL(jstr(j, "payload_b64"), "b2v/AMCA");
	CU_ASSERT_PTR_NULL(json_object_get(j, "payload"));
	CU_ASSERT_PTR_NULL(json_object_get(j, "detail"));
	CU_ASSERT_PTR_NULL(json_object_get(j, "topic"));
	CU_ASSERT_PTR_NULL(json_object_get(j, "line"));
	json_decref(j);
	j = entry(1);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_STRING_EQUAL(jstr(j, "reason"), "too_long");
	CU_ASSERT_STRING_EQUAL(jstr(j, "payload"), "");
	json_decref(j);
	j = entry(2);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_STRING_EQUAL(jstr(j, "reason"), "third");
	CU_ASSERT_STRING_EQUAL(jstr(j, "payload_b64"), "YQBi");
	json_decref(j);
	CU_ASSERT_PTR_NULL(entry(3));
}

static void
test_null(void)
{
	struct deadletter *dl = (struct deadletter *)&dl;
	struct deadletter_entry e = { .reason = "x", .data = "y", .len = 1 };

	CU_ASSERT_EQUAL(deadletter_open(&dl, NULL, "s"), DEADLETTER_OK);
	CU_ASSERT_PTR_NULL(dl);
	dl = (struct deadletter *)&dl;
	CU_ASSERT_EQUAL(deadletter_open(&dl, "", "s"), DEADLETTER_OK);
	CU_ASSERT_PTR_NULL(dl);
	CU_ASSERT_EQUAL(deadletter_write(NULL, &e), DEADLETTER_OK);
	CU_ASSERT_EQUAL(deadletter_count(NULL), 0);
	deadletter_close(NULL);
}

static void
test_errors(void)
{
	struct deadletter *dl = NULL;
	struct deadletter_entry e = { .reason = "x", .data = "y", .len = 1 };
	char bad[96];

	snprintf(bad, sizeof(bad), "%s/no/such/dir/dead.ndjson", dl_dir);
	errno = 0;
	CU_ASSERT_EQUAL(deadletter_open(&dl, bad, "s"), DEADLETTER_ERR_SYS);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NULL(dl);
	/* /dev/full: open works, the write fails with ENOSPC. */
	CU_ASSERT_EQUAL_FATAL(deadletter_open(&dl, "/dev/full", "s"),
			      DEADLETTER_OK);
	errno = 0;
	CU_ASSERT_EQUAL(deadletter_write(dl, &e), DEADLETTER_ERR_SYS);
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_EQUAL(deadletter_count(dl), 0);
	deadletter_close(dl);
}

/*
 * Out of memory: in a child with an address-space limit, an entry for a
 * payload larger than what is left. Skipped under ASan and valgrind, whose
 * allocators abort or misbehave under RLIMIT_AS.
 */
static void
test_nomem(void)
{
#ifndef __SANITIZE_ADDRESS__
	const char *pre = getenv("LD_PRELOAD");
	pid_t pid;
	int status;

	if (pre && strstr(pre, "vgpreload"))
		return;
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		size_t big = 256u << 20;
		struct deadletter *dl = NULL;
		struct deadletter_entry e = { .reason = "x" };
		struct rlimit rl;
		char *data;

		data = mmap(NULL, big, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (data == MAP_FAILED)
			_exit(100);
		memset(data, 'a', big);
		if (deadletter_open(&dl, "/dev/null", "s") != DEADLETTER_OK)
			_exit(101);
		/* Room for what is mapped now plus a little, not for 256 MiB
		 * more. */
		if (getrlimit(RLIMIT_AS, &rl) != 0)
			_exit(102);
		{
			FILE *f = fopen("/proc/self/statm", "r");
			unsigned long pages = 0;

			if (!f || fscanf(f, "%lu", &pages) != 1)
				_exit(103);
			fclose(f);
			rl.rlim_cur = (rlim_t)pages *
				      (rlim_t)sysconf(_SC_PAGESIZE) +
				      (64u << 20);
		}
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(104);
		e.data = data;
		e.len = big;
		_exit(deadletter_write(dl, &e) == DEADLETTER_ERR_NOMEM ? 0
									: 105);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
#endif
}

#define DL_THREADS 4
#define DL_PER_THREAD 200

struct dl_worker {
	struct deadletter *dl;
	int id;
	int failed;
};

/* Entries of varying size (up to 16 KiB) so the entry buffer grows while
 * other threads use it. */
static void *
dl_worker_main(void *arg)
{
	struct dl_worker *w = arg;
	static char datas[DL_THREADS][16400];
	char *data = datas[w->id];
	struct deadletter_entry e = { .reason = "refused" };

	memset(data, 'a' + w->id, sizeof(datas[0]));
	for (int i = 0; i < DL_PER_THREAD; i++) {
		e.line = (uint64_t)(w->id * DL_PER_THREAD + i + 1);
		e.data = data;
		e.len = (size_t)((i * 7919) % 16384) + 1;
		if (deadletter_write(w->dl, &e) != DEADLETTER_OK)
			w->failed++;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct deadletter *dl = NULL;
	struct dl_worker w[DL_THREADS];
	pthread_t t[DL_THREADS];
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lines = 0, good = 0;

	unlink(dl_path);
	CU_ASSERT_EQUAL_FATAL(deadletter_open(&dl, dl_path, "influx-sink"),
			      DEADLETTER_OK);
	for (int i = 0; i < DL_THREADS; i++) {
		w[i].dl = dl;
		w[i].id = i;
		w[i].failed = 0;
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, dl_worker_main,
					       &w[i]) == 0);
	}
	for (int i = 0; i < DL_THREADS; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[i].failed, 0);
	}
	CU_ASSERT_EQUAL(deadletter_count(dl), DL_THREADS * DL_PER_THREAD);
	deadletter_close(dl);

	f = fopen(dl_path, "r");
	CU_ASSERT_FATAL(f != NULL);
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t jerr;
		json_t *j = json_loadb(line, (size_t)n, 0, &jerr);
		const char *p = jstr(j, "payload");
		json_int_t ln = json_integer_value(json_object_get(j, "line"));
		int id = (int)((ln - 1) / DL_PER_THREAD);
		int i = (int)((ln - 1) % DL_PER_THREAD);
		size_t want = (size_t)((i * 7919) % 16384) + 1;

		lines++;
		if (p && ln > 0 && strlen(p) == want &&
		    p[0] == 'a' + id && p[want - 1] == 'a' + id)
			good++;
		json_decref(j);
	}
	free(line);
	fclose(f);
	CU_ASSERT_EQUAL(lines, DL_THREADS * DL_PER_THREAD);
	CU_ASSERT_EQUAL(good, DL_THREADS * DL_PER_THREAD);
}

static void
test_strerror(void)
{
	for (int e = DEADLETTER_OK; e <= DEADLETTER_ERR_NOMEM; e++) {
		const char *s = deadletter_strerror((enum deadletter_err)e);

		CU_ASSERT(s != NULL && s[0] != '\0');
	}
}

int
test_deadletter_suite(void)
{
	CU_pSuite s = CU_add_suite("deadletter", dl_setup, dl_teardown);

	if (!s)
		return -1;
	if (!CU_add_test(s, "fields parse back", test_fields) ||
	    !CU_add_test(s, "binary payload, append, count",
			 test_binary_and_append) ||
	    !CU_add_test(s, "NULL is a no-op", test_null) ||
	    !CU_add_test(s, "open and write errors", test_errors) ||
	    !CU_add_test(s, "out of memory", test_nomem) ||
	    !CU_add_test(s, "threads sharing one file", test_threads) ||
	    !CU_add_test(s, "strerror", test_strerror))
		return -1;
	return 0;
}
