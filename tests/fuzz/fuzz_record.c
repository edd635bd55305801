/*
 * fuzz_record: record_parse_reading / record_parse_alert on arbitrary bytes.
 * Whatever parses must write back, and writing the re-parsed record must
 * give byte for byte the same text (the round trip is stable), and what is
 * written must be a JSON object jansson reads (other stages parse records
 * with jansson).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "util.h"
#include "fuzz.h"

static struct record_scratch s1, s2;

static void
check_jansson(const struct strbuf *sb)
{
	json_error_t e;
	json_t *j = json_loadb(sb->buf, sb->len, JSON_REJECT_DUPLICATES, &e);

	FUZZ_CHECK(j && json_is_object(j), "jansson refuses '%s': %s",
		   sb->buf, e.text);
	json_decref(j);
}
static int ready;

static void
check_reading(const char *line, size_t len)
{
	struct reading r, r2;
	struct strbuf a, b;
	enum record_err err;

	if (record_parse_reading(&r, line, len, &s1) != RECORD_OK)
		return;
	FUZZ_CHECK(r.has_time, "parsed reading without time");
	FUZZ_CHECK(r.nfields > 0 && r.nfields <= RECORD_MAX_FIELDS, "%zu",
		   r.nfields);
	FUZZ_CHECK(r.ntags <= RECORD_MAX_TAGS, "%zu", r.ntags);
	for (size_t i = 1; i < r.ntags; i++)
		FUZZ_CHECK(strcmp(r.tags[i - 1].key, r.tags[i].key) < 0,
			   "tags not sorted/unique at %zu", i);
	strbuf_init(&a, 0);
	strbuf_init(&b, 0);
	FUZZ_CHECK(record_write_reading(&r, &a) == 0, "write failed for '%.*s'",
		   (int)len, line);
	check_jansson(&a);
	err = record_parse_reading(&r2, a.buf, a.len, &s2);
	FUZZ_CHECK(err == RECORD_OK, "re-parse of '%s': %s (%s)", a.buf,
		   record_strerror(err), s2.detail);
	FUZZ_CHECK(record_write_reading(&r2, &b) == 0, "second write failed");
	FUZZ_CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0,
		   "round trip differs:\n  %s\n  %s", a.buf, b.buf);
	strbuf_release(&a);
	strbuf_release(&b);
}

static void
check_alert(const char *line, size_t len)
{
	struct alert al, al2;
	struct strbuf a, b;
	enum record_err err;

	if (record_parse_alert(&al, line, len, &s1) != RECORD_OK)
		return;
	strbuf_init(&a, 0);
	strbuf_init(&b, 0);
	FUZZ_CHECK(record_write_alert(&al, &a) == 0, "write failed for '%.*s'",
		   (int)len, line);
	check_jansson(&a);
	err = record_parse_alert(&al2, a.buf, a.len, &s2);
	FUZZ_CHECK(err == RECORD_OK, "re-parse of '%s': %s (%s)", a.buf,
		   record_strerror(err), s2.detail);
	FUZZ_CHECK(record_write_alert(&al2, &b) == 0, "second write failed");
	FUZZ_CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0,
		   "round trip differs:\n  %s\n  %s", a.buf, b.buf);
	strbuf_release(&a);
	strbuf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy, so ASan sees any read past len. */
	char *line = malloc(size ? size : 1);

	if (!ready) {
		record_scratch_init(&s1);
		record_scratch_init(&s2);
		ready = 1;
	}
	if (!line)
		return 0;
	if (size)
		memcpy(line, data, size);
	check_reading(line, size);
	check_alert(line, size);
	free(line);
	return 0;
}
