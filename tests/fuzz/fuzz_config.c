/*
 * fuzz_config: the env file parser (config_load over a memfd holding the
 * input), config_set of the input as the raw value of every key, and the
 * duration/size/bool parsers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "fuzz.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
setup(void)
{
	log_init("fuzz_config");
	log_configure(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
	unsetenv("SENSORPIPE_ENV_FILE");
	unsetenv("APP_ENV");
	memfd = memfd_create("fuzz.env", 0);
	if (memfd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
}

static void
fuzz_env_file(const uint8_t *data, size_t size)
{
	struct config cfg;

	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	config_init(&cfg, "fuzz", ST_ALL);
	cfg.env_file = path;
	(void)config_load(&cfg);
	FUZZ_CHECK(memchr(cfg.err, '\0', sizeof(cfg.err)) != NULL,
		   "err not terminated");
	config_release(&cfg);
}

static void
fuzz_values(const char *s)
{
	struct config cfg;
	int64_t n;
	bool b;

	config_init(&cfg, "fuzz", ST_ALL);
	for (int k = 0; k < CK__COUNT; k++) {
		enum config_err err = config_set(&cfg, (enum config_key)k, s,
						 CS_FLAG, NULL, 0);
		size_t nl = 0;
		char *const *l;

		if (err != CONFIG_OK)
			continue;
		(void)config_str(&cfg, (enum config_key)k);
		(void)config_num(&cfg, (enum config_key)k);
		l = config_list(&cfg, (enum config_key)k, &nl);
		for (size_t i = 0; l && i < nl; i++)
			FUZZ_CHECK(l[i] && l[i][0] != '\0',
				   "empty list item %zu of '%s'", i, s);
	}
	config_release(&cfg);
	if (config_parse_duration(s, &n) == 0)
		FUZZ_CHECK(n >= 0, "duration '%s' -> %lld", s, (long long)n);
	if (config_parse_size(s, &n) == 0)
		FUZZ_CHECK(n >= 0, "size '%s' -> %lld", s, (long long)n);
	(void)config_parse_bool(s, &b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (memfd < 0)
		setup();
	fuzz_env_file(data, size);
	s = fuzz_strndup(data, size);
	fuzz_values(s);
	free(s);
	return 0;
}
