/*
 * topictpl: MQTT_TOPIC_TEMPLATE, the map from topic levels to the tags and
 * the measurement of a reading.
 * Owns: a copy of the template text (freed by topictpl_release).
 * Never logs, allocates while matching, or exits; returns enum topictpl_err
 * with a message in the caller's buffer.
 *
 * A template is levels separated by '/', each one of:
 *   literal       the topic level must be exactly this ("sensors")
 *   {name}        the level becomes tag `name` (it must not be empty)
 *   {measurement} the level names the measurement
 *   +             any level, ignored
 *   #             the rest of the topic (zero or more levels), ignored;
 *                 only as the last level
 * "sensors/{site}/{sensor_id}/{measurement}" matches "sensors/a/s-1/env"
 * with tags site=a, sensor_id=s-1 and measurement env. A topic with more or
 * fewer levels (without '#'), or a literal that differs, does not fit.
 */
#ifndef MQTT_INGEST_TOPICTPL_H
#define MQTT_INGEST_TOPICTPL_H

#include <stdbool.h>
#include <stddef.h>

#define TOPICTPL_MAX_LEVELS 32

enum topictpl_err {
	TOPICTPL_OK = 0,
	TOPICTPL_ERR_SYNTAX,	/* a bad template (startup: exit 78) */
	TOPICTPL_ERR_MISMATCH,	/* the topic does not fit the template */
	TOPICTPL_ERR_NOMEM,
};

enum topictpl_kind {
	TOPICTPL_LITERAL,
	TOPICTPL_TAG,
	TOPICTPL_MEASUREMENT,
	TOPICTPL_ANY,		/* + */
	TOPICTPL_REST,		/* # */
};

struct topictpl_level {
	enum topictpl_kind kind;
	const char *text;	/* literal text or tag name, NUL-terminated */
	size_t len;
};

struct topictpl {
	char *buf;		/* the template, split in place */
	struct topictpl_level level[TOPICTPL_MAX_LEVELS];
	size_t nlevels;
	size_t ntags;		/* levels of kind TAG */
	bool has_measurement;
};

/* A span of the topic: the value of one tag. */
struct topictpl_tag {
	const char *key;	/* borrowed from the template */
	const char *value;	/* points into the topic: NOT NUL-terminated */
	size_t len;
};

enum topictpl_err topictpl_parse(struct topictpl *t, const char *tpl,
				 char *err, size_t errsize);
void topictpl_release(struct topictpl *t);

/*
 * Matches topic[0..len): fills tags (room for TOPICTPL_MAX_LEVELS) and
 * *ntags, and *meas and *meas_len (NULL when the template has no
 * {measurement}). On mismatch, err says which level did not fit.
 */
enum topictpl_err topictpl_match(const struct topictpl *t, const char *topic,
				 size_t len, struct topictpl_tag *tags,
				 size_t *ntags, const char **meas,
				 size_t *meas_len, char *err, size_t errsize);

const char *topictpl_strerror(enum topictpl_err err);

#endif
