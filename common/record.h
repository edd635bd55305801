/*
 * record: the records that stages pass to each other (DESIGN.md "Records"):
 * readings and alert events, parsed from one NDJSON line and written back.
 * Owns: a struct record_scratch holds every string and array of the records
 * parsed with it; they stay valid until the next parse with that scratch.
 * Never logs or exits; every parse returns enum record_err, with a detail
 * string that names the offending key ("fields.temp: NaN is not a number").
 *
 * Numbers: an integer literal ("3", "-9223372036854775808") stays an int64;
 * anything with '.', 'e' or out of int64 range is a double, written back in
 * the shortest form that round-trips ("0.1", "1e+300"), with a float marker
 * when it would read like an integer ("21.0", "-0.0"). NaN, Infinity and
 * numbers that overflow a double (1e400) are refused (RECORD_ERR_NUMBER).
 * Strings keep every Unicode character; controls are escaped on output.
 * Raw bytes must be valid UTF-8, lone surrogate escapes are refused, and so
 * is \u0000 (RECORD_ERR_VALUE): strings are handed out NUL-terminated.
 * Times are normalised to UTC with up to 9 fractional digits.
 *
 * The parser is strict RFC 8259 JSON: duplicate keys are refused, nesting
 * is limited to 32 levels (RECORD_ERR_TOO_BIG), nothing but white space may
 * follow the object. Syntax errors are reported as "byte N: what" with N
 * counted from 1; errors about a key name it ("tags.site: must be a
 * string, not a number", "missing key 'measurement'").
 *
 * Readings: time, measurement and fields are required, tags are optional
 * (no tags: ntags 0); any other key is refused (RECORD_ERR_UNKNOWN_KEY).
 * Alert events: every key of DESIGN.md "Alert event" is required except
 * tags; keys it does not know are checked as JSON and ignored, so older
 * readers accept events from newer writers (duplicates inside ignored
 * values are not checked).
 */
#ifndef SENSORPIPE_RECORD_H
#define SENSORPIPE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum record_err {
	RECORD_OK = 0,
	RECORD_ERR_JSON,	/* not valid JSON (detail: what and where) */
	RECORD_ERR_UTF8,	/* invalid UTF-8 in a string */
	RECORD_ERR_NOT_OBJECT,	/* the line is JSON but not an object */
	RECORD_ERR_MISSING,	/* a required key is absent */
	RECORD_ERR_TYPE,	/* a key has a value of the wrong type */
	RECORD_ERR_EMPTY,	/* an empty measurement, tag key, field key... */
	RECORD_ERR_TIME,	/* a time that is not RFC 3339 or out of range */
	RECORD_ERR_NUMBER,	/* NaN/Infinity, or a number JSON cannot carry */
	RECORD_ERR_NO_FIELDS,	/* a reading without fields */
	RECORD_ERR_UNKNOWN_KEY,	/* a key the record format does not have */
	RECORD_ERR_DUPLICATE,	/* the same key twice in one object */
	RECORD_ERR_VALUE,	/* a value outside its allowed set (status...) */
	RECORD_ERR_TOO_BIG,	/* more than RECORD_MAX_TAGS/FIELDS, or nesting */
	RECORD_ERR_NOMEM,
};

#define RECORD_MAX_TAGS 64
#define RECORD_MAX_FIELDS 256

enum field_type {
	FIELD_FLOAT,
	FIELD_INT,
	FIELD_BOOL,
	FIELD_STRING,
};

struct tag {
	const char *key;	/* NUL-terminated, non-empty */
	const char *value;	/* NUL-terminated, may be empty */
};

struct field {
	const char *key;	/* NUL-terminated, non-empty */
	enum field_type type;
	union {
		double f;
		int64_t i;
		bool b;
		struct {
			const char *s;	/* NUL-terminated; \u0000 is refused */
			size_t len;
		} str;
	} v;
};

struct reading {
	int64_t time_ns;	/* ns since the epoch, UTC */
	bool has_time;		/* false only for readings built by mqtt-ingest */
	const char *measurement;
	struct tag *tags;	/* sorted by key, keys unique */
	size_t ntags;
	struct field *fields;	/* in input order, keys unique */
	size_t nfields;
	/* record_series_hash() of measurement and tags, computed by
	 * record_parse_reading while the strings are hot; 0 when not computed
	 * (a reading built by hand): users then call record_series_hash. */
	uint64_t series_hash;
};

enum alert_kind { ALERT_FIRED, ALERT_RESOLVED, ALERT_SUMMARIZED };
enum alert_status { ALERT_FIRING, ALERT_STATUS_RESOLVED };
enum severity { SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_CRITICAL };

#define UUID_STR_LEN_ 37

struct alert {
	char id[UUID_STR_LEN_];		/* lower-case UUID text */
	char event_id[UUID_STR_LEN_];
	enum alert_kind event;
	enum alert_status status;
	const char *rule;
	enum severity severity;
	const char *measurement;	/* may be "" (deadman over any) */
	const char *field;		/* "" for deadman */
	struct tag *tags;		/* sorted by key */
	size_t ntags;
	bool has_value;			/* false: "value":null (deadman) */
	double value;
	bool has_threshold;
	double threshold;
	int64_t started_at_ns;
	int64_t time_ns;
	const char *message;
	const char *summary;
	const char *summary_source;	/* "llm" or "fallback" */
};

/* Parse state and storage; reuse one per thread to avoid allocations. */
struct record_scratch {
	char *arena;
	size_t arena_len, arena_cap;
	struct tag tags[RECORD_MAX_TAGS];
	struct field fields[RECORD_MAX_FIELDS];
	char detail[160];	/* why the last parse failed */
};

void record_scratch_init(struct record_scratch *s);
void record_scratch_release(struct record_scratch *s);

/* Parses one line (no '\n' needed; trailing white space allowed). */
enum record_err record_parse_reading(struct reading *r, const char *line,
				     size_t len, struct record_scratch *s);
enum record_err record_parse_alert(struct alert *a, const char *line,
				   size_t len, struct record_scratch *s);

/*
 * Appends the record as one compact JSON object (no newline) to out, keys in
 * the order of DESIGN.md. Returns 0, or -1 when out is full (E2BIG) or memory
 * ran out (ENOMEM); out is then left as it was, never holding half a record.
 * A reading must have has_time set; non-finite floats make it fail (-1, EDOM).
 */
int record_write_reading(const struct reading *r, struct strbuf *out);
int record_write_alert(const struct alert *a, struct strbuf *out);

/* Sorts tags by key; returns false when two keys are equal. */
bool record_sort_tags(struct tag *tags, size_t n);

/*
 * "measurement,k=v,k2=v2" from sorted tags: the series key of DESIGN.md.
 * ',', ' ' (and in tags '=') and '\\' are escaped with a backslash; tags
 * with an empty value are left out, as InfluxDB leaves them out.
 * Returns 0, or -1 (errno E2BIG/ENOMEM) with out unchanged.
 */
int record_series_key(const char *measurement, const struct tag *tags,
		      size_t ntags, struct strbuf *out);

/*
 * A 64-bit hash of the series (measurement and the tags with a non-empty
 * value, in any order): equal series give equal hashes, and the result is
 * never 0. Not stable across versions; for in-memory tables only.
 */
uint64_t record_series_hash(const char *measurement, const struct tag *tags,
			    size_t ntags);

const char *alert_kind_name(enum alert_kind k);
const char *alert_status_name(enum alert_status s);
const char *severity_name(enum severity s);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int severity_parse(const char *name, enum severity *out);

const char *record_strerror(enum record_err err);

#endif
