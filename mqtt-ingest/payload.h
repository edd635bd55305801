/*
 * payload: one MQTT message (topic tags + payload bytes) -> readings, as
 * NDJSON lines (DESIGN.md "Records").
 * Owns: its scratch memory (struct payload_conv), reused for every message.
 * Never logs or exits; returns enum payload_err, whose payload_reason() is
 * the dead-letter reason and stats counter, with a detail in conv->detail.
 *
 * Formats, chosen by the first non-blank byte:
 *   '{'  a JSON object: one reading
 *   '['  a JSON array of objects: one reading each (all or nothing)
 *   a bare JSON number ("21.5"): one reading with the field `value`
 *   anything else: InfluxDB line protocol, one reading per line
 *
 * JSON objects: numbers become float fields (a device that prints 21 and
 * then 21.5 must not give InfluxDB a field type conflict), booleans bool
 * fields, strings string fields. Nested objects are flattened with '_'
 * ({"env":{"t":1}} -> env_t). Keys listed in tag_keys (matched after
 * flattening) become tags (strings as is, numbers and booleans as text).
 * The first top-level key of time_keys present is the time (RFC 3339 text,
 * or a number of s/ms/us/ns by precision). A top-level string
 * "measurement" names the measurement when the topic does not.
 *
 * Line protocol: measurement,tag=v field=v[,field=v] [timestamp], escapes
 * as InfluxDB (\, \= \space, "\"" and "\\" in strings), 'i' integers,
 * 'u' unsigned (must fit int64), t/T/true/True/TRUE/f/... booleans; blank
 * and '#' lines skipped. The line's own measurement is used.
 *
 * Tags from the topic win over tags in the payload (the topic is what the
 * broker's ACL controls). No time in the payload: the ingest time given by
 * the caller (assigned once per message).
 *
 * Numeric time precision `auto` decides by magnitude |t|:
 *   < 1e11 seconds (up to year 5138), < 1e14 milliseconds (1e11 ms is
 *   1973-03-03), < 1e17 microseconds, otherwise nanoseconds.
 * Fractions are kept (1700000000.5 s). A time outside what int64 ns holds
 * (1677-09-21 .. 2262-04-11) is rejected.
 */
#ifndef MQTT_INGEST_PAYLOAD_H
#define MQTT_INGEST_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "topictpl.h"
#include "util.h"

enum payload_err {
	PAYLOAD_OK = 0,
	PAYLOAD_ERR_TOO_LARGE,		/* over MQTT_MAX_PAYLOAD */
	PAYLOAD_ERR_EMPTY,		/* empty or blank payload */
	PAYLOAD_ERR_UTF8,		/* not valid UTF-8 */
	PAYLOAD_ERR_JSON,		/* invalid JSON */
	PAYLOAD_ERR_DUPLICATE,		/* a key twice (also after flattening) */
	PAYLOAD_ERR_NUMBER,		/* NaN, Infinity, out of range */
	PAYLOAD_ERR_NULL,		/* a null value */
	PAYLOAD_ERR_NESTED_ARRAY,	/* an array inside a reading */
	PAYLOAD_ERR_NOT_OBJECT,		/* an array element or JSON value that
					 * is no object or number */
	PAYLOAD_ERR_NO_FIELDS,		/* a reading without fields */
	PAYLOAD_ERR_TIME,		/* bad or out-of-range time */
	PAYLOAD_ERR_TAG,		/* a tag value of the wrong type or empty */
	PAYLOAD_ERR_KEY,		/* an empty key or measurement */
	PAYLOAD_ERR_TOO_MANY,		/* over RECORD_MAX_TAGS/FIELDS or 10000
					 * readings */
	PAYLOAD_ERR_LINE_PROTOCOL,	/* unparsable line protocol */
	PAYLOAD_ERR_TOPIC,		/* topic does not fit the template */
	PAYLOAD_ERR_NOMEM,
	PAYLOAD_ERR__COUNT
};

enum payload_precision {
	PAYLOAD_PREC_AUTO,
	PAYLOAD_PREC_S,
	PAYLOAD_PREC_MS,
	PAYLOAD_PREC_US,
	PAYLOAD_PREC_NS,
};

struct payload_opts {
	char *const *tag_keys;
	size_t ntag_keys;
	char *const *time_keys;
	size_t ntime_keys;
	enum payload_precision precision;
	size_t max_payload;
	const char *default_measurement;
	bool no_fast_path;		/* tests: always use jansson */
};

struct payload_conv;

enum payload_err payload_conv_new(struct payload_conv **pc,
				  const struct payload_opts *opts,
				  const struct topictpl *tpl);
void payload_conv_free(struct payload_conv *pc);

/*
 * Converts one message. On PAYLOAD_OK, out (reset first) holds one or more
 * readings, each a JSON object followed by '\n', and *n their count. On
 * error, out is empty and payload_detail() says why.
 */
enum payload_err payload_convert(struct payload_conv *pc, const char *topic,
				 size_t topic_len, const void *data, size_t len,
				 int64_t now_ns, struct strbuf *out, size_t *n);

const char *payload_detail(const struct payload_conv *pc);

/* Epoch number -> ns by precision (auto: the magnitude rule above).
 * Returns 0, or -1 when out of range or not finite. */
int payload_time_from_int(int64_t v, enum payload_precision p, int64_t *ns);
int payload_time_from_double(double v, enum payload_precision p, int64_t *ns);

/* The reason token: "bad_json", "no_fields", ... (dead letter, stats). */
const char *payload_reason(enum payload_err err);
const char *payload_strerror(enum payload_err err);

#endif
