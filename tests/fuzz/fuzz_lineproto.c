/*
 * fuzz_lineproto: every reading and alert event that parses, as line
 * protocol. The line must hold no raw CR or LF, the series key must be a
 * prefix of it, and a refused point must leave the buffer as it was. A
 * reading's line is then read back with mqtt-ingest's line protocol parser
 * and must give the same measurement, tags, fields and time (string values
 * holding CR/LF excepted: they are written as the two characters "\n";
 * and measurements starting with '{' or '[', which mqtt-ingest reads as
 * JSON).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lineproto.h"
#include "payload.h"
#include "record.h"
#include "topictpl.h"
#include "util.h"
#include "fuzz.h"

static struct record_scratch s1, s2;
static struct topictpl tpl;
static struct payload_conv *conv;

static void
setup(void)
{
	struct payload_opts o;
	char err[128];

	record_scratch_init(&s1);
	record_scratch_init(&s2);
	if (topictpl_parse(&tpl, "#", err, sizeof(err)))
		abort();
	memset(&o, 0, sizeof(o));
	o.precision = PAYLOAD_PREC_NS;
	o.max_payload = 1 << 20;
	o.default_measurement = "sensor";
	o.no_fast_path = true;
	if (payload_conv_new(&conv, &o, &tpl) != PAYLOAD_OK)
		abort();
}

static void
check_line(const struct strbuf *sb, size_t before, size_t series_len,
	   const char *what)
{
	const char *p = sb->buf + before;
	size_t len = sb->len - before;

	FUZZ_CHECK(!memchr(p, '\n', len) && !memchr(p, '\r', len),
		   "raw CR/LF in %s line '%.*s'", what, (int)len, p);
	FUZZ_CHECK(series_len <= len, "series_len %zu > %zu", series_len, len);
	FUZZ_CHECK(!memchr(p, '\0', len), "NUL in line");
}

static bool
has_crlf(const struct field *f)
{
	return f->type == FIELD_STRING &&
	       (memchr(f->v.str.s, '\n', f->v.str.len) ||
		memchr(f->v.str.s, '\r', f->v.str.len));
}

/* The line read back by mqtt-ingest equals the reading r. */
static void
read_back(const struct reading *r, const char *line, size_t len)
{
	struct strbuf out;
	struct reading b;
	size_t n = 0, nt = 0;
	enum payload_err e;

	strbuf_init(&out, 0);
	e = payload_convert(conv, "t", 1, line, len, 0, &out, &n);
	FUZZ_CHECK(e == PAYLOAD_OK, "line '%.*s' not read back: %s (%s)",
		   (int)len, line, payload_reason(e), payload_detail(conv));
	FUZZ_CHECK(n == 1, "%zu readings from one line", n);
	FUZZ_CHECK(record_parse_reading(&b, out.buf, out.len - 1, &s2) ==
		   RECORD_OK, "read back '%s': %s", out.buf, s2.detail);
	FUZZ_CHECK(strcmp(b.measurement, r->measurement) == 0,
		   "measurement '%s' read back as '%s' from '%.*s'",
		   r->measurement, b.measurement, (int)len, line);
	FUZZ_CHECK(b.time_ns == r->time_ns, "time %lld read back as %lld",
		   (long long)r->time_ns, (long long)b.time_ns);
	for (size_t i = 0; i < r->ntags; i++) {
		if (!r->tags[i].value[0])
			continue;
		FUZZ_CHECK(nt < b.ntags && strcmp(b.tags[nt].key,
			   r->tags[i].key) == 0 && strcmp(b.tags[nt].value,
			   r->tags[i].value) == 0, "tag '%s'='%s' not read back "
			   "from '%.*s'", r->tags[i].key, r->tags[i].value,
			   (int)len, line);
		nt++;
	}
	FUZZ_CHECK(nt == b.ntags, "%zu tags read back as %zu", nt, b.ntags);
	FUZZ_CHECK(b.nfields == r->nfields, "%zu fields read back as %zu",
		   r->nfields, b.nfields);
	for (size_t i = 0; i < r->nfields; i++) {
		const struct field *f = &r->fields[i], *g = &b.fields[i];

		FUZZ_CHECK(strcmp(f->key, g->key) == 0 && f->type == g->type,
			   "field '%s' read back as '%s' (type %d/%d) from "
			   "'%.*s'", f->key, g->key, f->type, g->type,
			   (int)len, line);
		switch (f->type) {
		case FIELD_FLOAT:
			FUZZ_CHECK(f->v.f == g->v.f && signbit(f->v.f) ==
				   signbit(g->v.f), "%s: %.17g read back as "
				   "%.17g", f->key, f->v.f, g->v.f);
			break;
		case FIELD_INT:
			FUZZ_CHECK(f->v.i == g->v.i, "%s", f->key);
			break;
		case FIELD_BOOL:
			FUZZ_CHECK(f->v.b == g->v.b, "%s", f->key);
			break;
		case FIELD_STRING:
			if (has_crlf(f))
				break;
			FUZZ_CHECK(f->v.str.len == g->v.str.len &&
				   memcmp(f->v.str.s, g->v.str.s,
					  f->v.str.len) == 0,
				   "string %s '%s' read back as '%s' from "
				   "'%.*s'", f->key, f->v.str.s, g->v.str.s,
				   (int)len, line);
			break;
		}
	}
	strbuf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reading r;
	struct alert a;
	struct strbuf sb;
	size_t series_len;
	const char *where;
	char *line = malloc(size ? size : 1);

	if (!conv)
		setup();
	if (!line)
		abort();
	if (size)
		memcpy(line, data, size);
	strbuf_init(&sb, 0);
	if (record_parse_reading(&r, line, size, &s1) == RECORD_OK) {
		for (int p = LINEPROTO_NS; p <= LINEPROTO_S; p++) {
			enum lineproto_err e;

			strbuf_reset(&sb);
			strbuf_addstr(&sb, "prefix\n");
			series_len = 0;
			where = NULL;
			e = lineproto_reading(&sb, &r,
					      (enum lineproto_precision)p,
					      &series_len, &where);
			if (e != LINEPROTO_OK) {
				FUZZ_CHECK(sb.len == 7, "refused point left "
					   "%zu bytes", sb.len - 7);
				FUZZ_CHECK(where != NULL, "no where");
				break;
			}
			check_line(&sb, 7, series_len, "reading");
			/* mqtt-ingest takes a payload starting with '{' or
			 * '[' for JSON (payload.h): such measurements cannot
			 * come back through it */
			if (p == LINEPROTO_NS && r.measurement[0] != '{' &&
			    r.measurement[0] != '[')
				read_back(&r, sb.buf + 7, sb.len - 7);
		}
	}
	if (record_parse_alert(&a, line, size, &s1) == RECORD_OK) {
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "prefix\n");
		series_len = 0;
		if (lineproto_alert(&sb, &a, LINEPROTO_MS, &series_len,
				    &where) == LINEPROTO_OK)
			check_line(&sb, 7, series_len, "alert");
		else
			FUZZ_CHECK(sb.len == 7, "refused alert left bytes");
	}
	strbuf_release(&sb);
	free(line);
	return 0;
}
