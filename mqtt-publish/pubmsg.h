/*
 * pubmsg: turns one NDJSON record into an MQTT topic and payload.
 * Owns: the parsed MQTT_PUBLISH_TOPIC template (freed by pubmsg_tpl_release);
 * the caller owns the record (a jansson object) and the output buffers.
 * Never logs, publishes or exits; returns enum pubmsg_err, with a detail
 * naming the key in the caller's buffer.
 *
 * Template: literal text with placeholders
 *   {key}        a top-level string or number of the record ({rule})
 *   {tags.NAME}  a string or number in the record's "tags" object
 * "alerts/{tags.site}/{tags.sensor_id}/{rule}" and the record
 * {"rule":"temp-high","tags":{"site":"a","sensor_id":"s-1"},...} give
 * "alerts/a/s-1/temp-high". Integers are written in decimal, other numbers
 * in their shortest round-trip form (21.5). A placeholder must fill exactly
 * one topic level's part: a value that is missing, empty, not a string or
 * number, or that contains '/', '+', '#' or a NUL byte cannot fill it (it
 * would change the topic's shape or be refused by the broker); the record is
 * rejected with the reason. The template itself may not contain '+' or '#'
 * (a published topic cannot hold wildcards), unbalanced braces or an empty
 * placeholder; it may not start with '$' (broker topics).
 *
 * Payload: the record as compact JSON: the input line with the white space
 * between tokens removed, byte for byte otherwise (numbers keep their
 * spelling: 0.1 stays 0.1). With a field name (MQTT_PUBLISH_FIELD), that
 * top-level key's value instead: a string as its raw UTF-8 bytes, anything
 * else as compact JSON.
 */
#ifndef MQTT_PUBLISH_PUBMSG_H
#define MQTT_PUBLISH_PUBMSG_H

#include <stddef.h>

#include <jansson.h>

#include "util.h"

#define PUBMSG_MAX_PARTS 32
#define PUBMSG_TOPIC_MAX 65535	/* MQTT's limit for a topic name */

enum pubmsg_err {
	PUBMSG_OK = 0,
	PUBMSG_ERR_SYNTAX,	/* bad template (startup: exit 78) */
	PUBMSG_ERR_MISSING,	/* a placeholder's key is not in the record */
	PUBMSG_ERR_EMPTY,	/* ... or its value is "" */
	PUBMSG_ERR_TYPE,	/* ... or neither a string nor a number */
	PUBMSG_ERR_VALUE,	/* ... or it contains / + # or NUL */
	PUBMSG_ERR_TOO_LONG,	/* the topic passes PUBMSG_TOPIC_MAX bytes */
	PUBMSG_ERR_NO_FIELD,	/* MQTT_PUBLISH_FIELD is not in the record */
	PUBMSG_ERR_NOMEM,
	PUBMSG_ERR__COUNT
};

enum pubmsg_part_kind {
	PUBMSG_LITERAL,
	PUBMSG_KEY,		/* {key} */
	PUBMSG_TAG,		/* {tags.NAME} */
};

struct pubmsg_part {
	enum pubmsg_part_kind kind;
	const char *text;	/* literal text (len bytes), key or tag name (NUL-terminated) */
	size_t len;
};

struct pubmsg_tpl {
	char *buf;		/* copy of the template, split in place */
	struct pubmsg_part part[PUBMSG_MAX_PARTS];
	size_t nparts;
};

/* Parses tpl into t. PUBMSG_ERR_SYNTAX with the reason in err. */
enum pubmsg_err pubmsg_tpl_parse(struct pubmsg_tpl *t, const char *tpl,
				 char *err, size_t errsize);
void pubmsg_tpl_release(struct pubmsg_tpl *t);

/*
 * Fills the template from rec into topic (reset first; NUL-terminated).
 * On failure detail says which placeholder and why ("{tags.site}: missing").
 */
enum pubmsg_err pubmsg_topic(const struct pubmsg_tpl *t, const json_t *rec,
			     struct strbuf *topic, char *detail,
			     size_t detailsize);

/*
 * The payload into out (reset first): field NULL or "": line compacted
 * (line must be valid JSON, as rec was parsed from it); otherwise the
 * value of rec's top-level key `field` (PUBMSG_ERR_NO_FIELD when absent).
 */
enum pubmsg_err pubmsg_payload(const json_t *rec, const char *line,
			       size_t len, const char *field,
			       struct strbuf *out);

/* Short reason token for logs and the dead letter: "missing_key". */
const char *pubmsg_reason(enum pubmsg_err err);
const char *pubmsg_strerror(enum pubmsg_err err);

#endif
