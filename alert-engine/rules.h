/*
 * rules: the alert rules file (DESIGN.md "Rules file"), parsed with jansson
 * and validated as a whole before the engine starts.
 * Owns: every string and array of a struct rules (freed by rules_release).
 * Never logs or exits; returns enum rules_err with a one-line message in
 * rules->err naming the rule (by name, or by index when it has none), the
 * key and what is wrong:
 *   rule 'temp-high': key 'clear_below' (82) must not be above 'above' (80)
 *   rule #3: unknown key 'abve'
 */
#ifndef SENSORPIPE_RULES_H
#define SENSORPIPE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

enum rules_err {
	RULES_OK = 0,
	RULES_ERR_FILE,		/* the file cannot be read: err has errno text */
	RULES_ERR_JSON,		/* not JSON, or not {"rules": [...]} */
	RULES_ERR_RULE,		/* a rule is invalid: err says which and why */
	RULES_ERR_NOMEM,
};

enum rules_cond {
	RULES_ABOVE,		/* value > threshold; clears at value < clear */
	RULES_BELOW,		/* value < threshold; clears at value > clear */
	RULES_OUTSIDE,		/* value < lo or value > hi */
	RULES_RATE_ABOVE,	/* change per `per` > threshold */
	RULES_RATE_BELOW,	/* change per `per` < threshold */
	RULES_DEADMAN,		/* no reading of the series for deadman_ns */
};

struct rules_where {
	char *key;
	char *pattern;		/* fnmatch(3) glob */
	bool glob;		/* pattern has * ? or [ */
};

struct rule {
	char *name;
	char *measurement;	/* NULL: any measurement */
	char *field;		/* NULL only for deadman (any field) */
	struct rules_where *where;
	size_t nwhere;
	enum rules_cond cond;
	double threshold;	/* above, below, rate_*; lo for outside */
	double clear;		/* above/below: the hysteresis clear value */
	bool has_clear;		/* clear_below/clear_above was given */
	double hi;		/* outside: upper bound */
	int64_t per_ns;		/* rate_* */
	int64_t deadman_ns;
	int64_t for_ns;		/* 0: fire on the first violating reading */
	enum severity severity;
	char *message;		/* template; NULL: a default per condition */
};

struct rules {
	struct rule *v;
	size_t n;
	char err[512];
};

/* Reads and validates path; on failure rules is empty and err is set. */
enum rules_err rules_load(struct rules *rules, const char *path);
/* The same from text (tests); name is used in JSON error messages. */
enum rules_err rules_parse(struct rules *rules, const char *text, size_t len,
			   const char *name);
void rules_release(struct rules *rules);

/* True when the reading's measurement and tags satisfy the rule's
 * measurement and where (tags sorted by key as in struct reading). */
bool rules_match_series(const struct rule *r, const char *measurement,
			const struct tag *tags, size_t ntags);

const char *rules_cond_name(enum rules_cond c);
const char *rules_strerror(enum rules_err err);

#endif
