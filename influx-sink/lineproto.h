/*
 * lineproto: readings and alert events as InfluxDB line protocol, one point
 * per call, appended to a caller's strbuf without allocating per point.
 * Owns nothing; the strbuf belongs to the caller.
 * Never logs, sends or exits; returns enum lineproto_err, and on failure
 * leaves the buffer as it was and names the offending key in *where.
 *
 * Escaping, per position (1.x rules, verified against influxd 1.6):
 *   measurement                 ',' and ' '           ("me\,a\ s")
 *   tag keys, tag values,
 *   field keys                  ',', '=' and ' '
 *   string field values         '"' and '\' inside double quotes
 * A backslash anywhere else is written as is and the server keeps it
 * literally. Line protocol cannot carry a backslash at the end of a name or
 * right before a character that position escapes ("a\" as a tag value makes
 * the server read "\," as an escaped comma), a measurement starting with '#'
 * (the line becomes a comment and is silently dropped) or a CR/LF in a name
 * or tag: such points are refused. In string field values a CR or LF is
 * written as the two characters "\r" / "\n" (the server stores them so; line
 * protocol has no newline escape and a raw one would split the line).
 *
 * Values: floats in the shortest form that round-trips ("0.1", "1e+300",
 * "-0.0"), integers with the `i` suffix (int64; no `u`, which 1.x refuses),
 * booleans as true/false; NaN and infinities are refused. Tags come sorted
 * by key (record.h sorts them); tags with an empty value are left out, as
 * InfluxDB refuses them. The timestamp is time_ns truncated (toward minus
 * infinity) to the precision; a reading without time gets none.
 */
#ifndef SENSORPIPE_LINEPROTO_H
#define SENSORPIPE_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "util.h"

enum lineproto_err {
	LINEPROTO_OK = 0,
	LINEPROTO_ERR_NONFINITE,	/* a float is NaN or infinite */
	LINEPROTO_ERR_NEWLINE,		/* CR or LF in a name or tag */
	LINEPROTO_ERR_BACKSLASH,	/* a backslash line protocol cannot carry */
	LINEPROTO_ERR_COMMENT,		/* measurement starting with '#' */
	LINEPROTO_ERR_EMPTY,		/* empty measurement or key */
	LINEPROTO_ERR_NO_FIELDS,	/* nothing to write */
	LINEPROTO_ERR_NOMEM,		/* the buffer's cap or memory */
};

enum lineproto_precision {
	LINEPROTO_NS = 0,
	LINEPROTO_US,
	LINEPROTO_MS,
	LINEPROTO_S,
};

/*
 * Appends one point (no trailing newline). *series_len is set to the length
 * of "measurement,tags" within the line (the series key, for hashing a
 * series to a writer). *where (may be NULL) names what was refused:
 * "measurement", "tags.KEY", "fields.KEY"; borrowed from r.
 */
enum lineproto_err lineproto_reading(struct strbuf *sb,
				     const struct reading *r,
				     enum lineproto_precision prec,
				     size_t *series_len, const char **where);

/*
 * An alert event as a point of measurement "alerts": tags rule, severity,
 * status and the alert's own tags (sensor_id, ...; the three names above
 * win over an alert tag of the same key); fields id, value, threshold (both
 * left out when absent), message, summary, summary_source; time: the event
 * time.
 */
enum lineproto_err lineproto_alert(struct strbuf *sb, const struct alert *a,
				   enum lineproto_precision prec,
				   size_t *series_len, const char **where);

/* time_ns in the unit of prec, rounded toward minus infinity. */
int64_t lineproto_time(int64_t time_ns, enum lineproto_precision prec);

/* Decimal text of v into buf (at least 21 bytes); returns the length. */
size_t lineproto_i64(int64_t v, char *buf);

/* "ns", "us", "ms", "s": the INFLUX_PRECISION name; -1 when unknown. */
int lineproto_precision_parse(const char *name, enum lineproto_precision *p);

const char *lineproto_strerror(enum lineproto_err err);

#endif
