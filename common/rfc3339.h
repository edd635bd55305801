/*
 * rfc3339: RFC 3339 timestamps <-> int64 nanoseconds since the Unix epoch.
 * Owns nothing; callers pass buffers. Never logs.
 * Returns enum rfc3339_err.
 *
 * Accepted: "2026-11-26T04:00:00Z", "2026-11-26t04:00:00.123456789+09:00",
 * 0 to 9 fractional digits, 'Z' or a +hh:mm/-hh:mm offset. Rejected: more than
 * 9 digits, a missing offset, second 60, days that do not exist (2025-02-29),
 * and times outside what int64 nanoseconds hold (1677-09-21..2262-04-11).
 */
#ifndef SENSORPIPE_RFC3339_H
#define SENSORPIPE_RFC3339_H

#include <stddef.h>
#include <stdint.h>

enum rfc3339_err {
	RFC3339_OK = 0,
	RFC3339_ERR_SYNTAX,	/* not of the form above */
	RFC3339_ERR_DATE,	/* month, day, hour, minute or second out of range */
	RFC3339_ERR_RANGE,	/* valid date, but not representable in int64 ns */
};

/* Longest output of rfc3339_format, NUL included. */
#define RFC3339_MAX 40

enum rfc3339_err rfc3339_parse(const char *s, size_t len, int64_t *ns);

/*
 * The same, and sets *why (when why is not NULL) to a static phrase naming
 * the problem: "month out of range", "more than 9 fractional digits",
 * "missing offset (Z or +hh:mm)"... ("" on success).
 */
enum rfc3339_err rfc3339_parse_why(const char *s, size_t len, int64_t *ns,
				   const char **why);

/*
 * Writes the UTC form with trailing fractional zeros removed
 * ("2026-11-26T04:00:00.12Z", "2026-11-26T04:00:00Z") and a NUL; returns the
 * length (without the NUL). buf holds RFC3339_MAX bytes.
 */
size_t rfc3339_format(int64_t ns, char *buf);

/* Days since 1970-01-01 of a proleptic Gregorian date (exposed for tests). */
int64_t rfc3339_days_from_civil(int64_t y, unsigned m, unsigned d);

const char *rfc3339_strerror(enum rfc3339_err err);

#endif
