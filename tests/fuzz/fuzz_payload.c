/*
 * fuzz_payload: mqtt-ingest's payload conversion with arbitrary topics and
 * payloads. Every reading it outputs must be a valid reading record (the
 * next stage parses it), *n must count the lines, and the fast path must
 * give exactly what the jansson path gives.
 *
 * Input: byte 0 picks the precision and the topic template, then the topic
 * up to the first '\n', then the payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "record.h"
#include "topictpl.h"
#include "util.h"
#include "fuzz.h"

#define NOW 1795000000000000000LL

static const char *templates[] = {
	"sensors/{site}/{sensor_id}/{measurement}",
	"#",
	"dev/+/{sensor_id}/#",
	"{measurement}",
};
#define NTPL (sizeof(templates) / sizeof(templates[0]))

static struct topictpl tpl[NTPL];
static struct payload_conv *conv[NTPL][5][2];
static struct record_scratch scratch;

static void
setup(void)
{
	static char *tag_keys[] = { "sensor_id", "site", "room", NULL };
	static char *time_keys[] = { "ts", "time", "timestamp", NULL };
	struct payload_opts o;
	char err[128];

	record_scratch_init(&scratch);
	for (size_t t = 0; t < NTPL; t++) {
		if (topictpl_parse(&tpl[t], templates[t], err, sizeof(err)))
			abort();
		for (int p = 0; p < 5; p++)
			for (int slow = 0; slow < 2; slow++) {
				memset(&o, 0, sizeof(o));
				o.tag_keys = tag_keys;
				o.ntag_keys = 3;
				o.time_keys = time_keys;
				o.ntime_keys = 3;
				o.precision = (enum payload_precision)p;
				o.max_payload = 65536;
				o.default_measurement = "sensor";
				o.no_fast_path = slow;
				if (payload_conv_new(&conv[t][p][slow], &o,
						     &tpl[t]) != PAYLOAD_OK)
					abort();
			}
	}
}

static void
check_output(const struct strbuf *out, size_t n)
{
	size_t lines = 0, off = 0;
	struct reading r;

	while (off < out->len) {
		const char *p = out->buf + off;
		const char *nl = memchr(p, '\n', out->len - off);
		enum record_err err;

		FUZZ_CHECK(nl != NULL, "output does not end with a newline");
		err = record_parse_reading(&r, p, (size_t)(nl - p), &scratch);
		FUZZ_CHECK(err == RECORD_OK, "output '%.*s' is no reading: %s",
			   (int)(nl - p), p, scratch.detail);
		lines++;
		off += (size_t)(nl - p) + 1;
	}
	FUZZ_CHECK(lines == n, "%zu lines, n = %zu", lines, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *topic, *payload;
	size_t tlen, plen, n1 = 0, n2 = 0;
	struct strbuf o1, o2;
	enum payload_err e1, e2;
	unsigned t, p;
	char *tcopy, *pcopy;

	if (size < 1)
		return 0;
	if (!scratch.arena && !conv[0][0][0])
		setup();
	t = data[0] % NTPL;
	p = (data[0] / NTPL) % 5;
	fuzz_split(data + 1, size - 1, '\n', &topic, &tlen, &payload, &plen);
	/* exact-size heap copies: ASan catches any read past the end */
	tcopy = malloc(tlen ? tlen : 1);
	pcopy = malloc(plen ? plen : 1);
	if (!tcopy || !pcopy)
		abort();
	if (tlen)
		memcpy(tcopy, topic, tlen);
	if (plen)
		memcpy(pcopy, payload, plen);
	strbuf_init(&o1, 0);
	strbuf_init(&o2, 0);
	e1 = payload_convert(conv[t][p][0], tcopy, tlen, pcopy, plen, NOW, &o1,
			     &n1);
	if (e1 == PAYLOAD_OK)
		check_output(&o1, n1);
	else
		FUZZ_CHECK(o1.len == 0, "output on error %s",
			   payload_reason(e1));
	e2 = payload_convert(conv[t][p][1], tcopy, tlen, pcopy, plen, NOW, &o2,
			     &n2);
	if (e2 == PAYLOAD_OK)
		check_output(&o2, n2);
	FUZZ_CHECK(e1 == e2, "fast path %s (%s), jansson %s (%s)",
		   payload_reason(e1), payload_detail(conv[t][p][0]),
		   payload_reason(e2), payload_detail(conv[t][p][1]));
	FUZZ_CHECK(o1.len == o2.len && (o1.len == 0 ||
		   memcmp(o1.buf, o2.buf, o1.len) == 0),
		   "fast path and jansson differ:\n  %s\n  %s",
		   o1.buf ? o1.buf : "", o2.buf ? o2.buf : "");
	strbuf_release(&o1);
	strbuf_release(&o2);
	free(tcopy);
	free(pcopy);
	return 0;
}
