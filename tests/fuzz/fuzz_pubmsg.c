/*
 * fuzz_pubmsg: mqtt-publish's topic template and message building with an
 * arbitrary template and record. A filled topic must hold no '+', '#' or
 * NUL and stay within PUBMSG_TOPIC_MAX; the compact payload must be JSON
 * equal to the record.
 *
 * Input: the template up to the first '\n', then the record line; the
 * record's "field" key (when a string) names MQTT_PUBLISH_FIELD.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pubmsg.h"
#include "util.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *a, *b;
	size_t alen, blen;
	struct pubmsg_tpl t;
	struct strbuf topic, payload;
	char err[256], detail[256], *tpl, *line;
	json_t *rec, *back;
	json_error_t je;
	enum pubmsg_err e;

	fuzz_split(data, size, '\n', &a, &alen, &b, &blen);
	tpl = fuzz_strndup(a, alen);
	line = malloc(blen ? blen : 1);
	if (!line)
		abort();
	if (blen)
		memcpy(line, b, blen);
	memset(&t, 0, sizeof(t));
	if (pubmsg_tpl_parse(&t, tpl, err, sizeof(err)) != PUBMSG_OK) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "err");
		goto out_tpl;
	}
	rec = json_loadb(line, blen, JSON_REJECT_DUPLICATES, &je);
	if (!rec)
		goto out_tpl;
	strbuf_init(&topic, 0);
	strbuf_init(&payload, 0);
	e = pubmsg_topic(&t, rec, &topic, detail, sizeof(detail));
	FUZZ_CHECK(memchr(detail, '\0', sizeof(detail)) != NULL, "detail");
	if (e == PUBMSG_OK) {
		FUZZ_CHECK(topic.len <= PUBMSG_TOPIC_MAX, "topic %zu bytes",
			   topic.len);
		FUZZ_CHECK(topic.len == 0 || (!memchr(topic.buf, '+', topic.len)
			   && !memchr(topic.buf, '#', topic.len) &&
			   !memchr(topic.buf, '\0', topic.len)),
			   "topic '%s' from template '%s'", topic.buf, tpl);
	}
	if (pubmsg_payload(rec, line, blen, NULL, &payload) == PUBMSG_OK) {
		back = json_loadb(payload.buf ? payload.buf : "", payload.len,
				  0, &je);
		FUZZ_CHECK(back && json_equal(back, rec),
			   "compact payload '%.*s' differs from '%.*s'",
			   (int)payload.len, payload.buf ? payload.buf : "",
			   (int)blen, line);
		json_decref(back);
	}
	if (json_is_object(rec) && json_is_string(json_object_get(rec,
								   "field")))
		(void)pubmsg_payload(rec, line, blen, json_string_value(
				     json_object_get(rec, "field")), &payload);
	strbuf_release(&topic);
	strbuf_release(&payload);
	json_decref(rec);
out_tpl:
	pubmsg_tpl_release(&t);
	free(tpl);
	free(line);
	return 0;
}
