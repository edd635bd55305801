/*
 * fuzz_topictpl: topictpl_parse of an arbitrary template, then
 * topictpl_match of an arbitrary topic against it. Matched tag values and
 * the measurement must lie inside the topic, hold no '/', and a template
 * without '#' must match only topics with as many levels.
 *
 * Input: the template up to the first '\n' (NUL-terminated copy), then the
 * topic (exact-size copy, not NUL-terminated).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topictpl.h"
#include "fuzz.h"

static void
inside(const char *topic, size_t tlen, const char *v, size_t len)
{
	FUZZ_CHECK(v >= topic && v + len <= topic + tlen, "span outside topic");
	FUZZ_CHECK(!memchr(v, '/', len), "span holds '/'");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *a, *b;
	size_t alen, blen, ntags = 0, mlen = 0;
	struct topictpl t;
	struct topictpl_tag tags[TOPICTPL_MAX_LEVELS];
	const char *meas = NULL;
	char err[128], *tpl, *topic;
	enum topictpl_err e;

	fuzz_split(data, size, '\n', &a, &alen, &b, &blen);
	tpl = fuzz_strndup(a, alen);
	memset(&t, 0, sizeof(t));
	e = topictpl_parse(&t, tpl, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "err unterminated");
	if (e != TOPICTPL_OK) {
		free(tpl);
		return 0;
	}
	FUZZ_CHECK(t.nlevels >= 1 && t.nlevels <= TOPICTPL_MAX_LEVELS, "%zu",
		   t.nlevels);
	topic = malloc(blen ? blen : 1);
	if (!topic)
		abort();
	if (blen)
		memcpy(topic, b, blen);
	e = topictpl_match(&t, topic, blen, tags, &ntags, &meas, &mlen, err,
			   sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "err unterminated");
	if (e == TOPICTPL_OK) {
		size_t levels = 1;

		for (size_t i = 0; i < blen; i++)
			levels += topic[i] == '/';
		if (t.level[t.nlevels - 1].kind != TOPICTPL_REST)
			FUZZ_CHECK(levels == t.nlevels, "%zu levels matched "
				   "a template of %zu", levels, t.nlevels);
		FUZZ_CHECK(ntags == t.ntags, "ntags %zu, template %zu", ntags,
			   t.ntags);
		for (size_t i = 0; i < ntags; i++) {
			inside(topic, blen, tags[i].value, tags[i].len);
			FUZZ_CHECK(tags[i].key && tags[i].key[0], "tag key");
		}
		if (t.has_measurement) {
			FUZZ_CHECK(meas != NULL, "no measurement");
			inside(topic, blen, meas, mlen);
		}
	}
	topictpl_release(&t);
	free(topic);
	free(tpl);
	return 0;
}
