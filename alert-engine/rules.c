/*
 * rules: parse and validate the rules file. Every check names the rule, the
 * key and the problem, because a rule that silently does nothing is worse
 * than an engine that refuses to start.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "rules.h"
#include "banned.h"

static const char *const rules_keys[] = {
	"name", "measurement", "field", "where", "above", "below",
	"clear_below", "clear_above", "outside", "rate_above", "rate_below",
	"per", "deadman", "for", "severity", "message",
};

/* Placeholders a message template may use besides {tags.NAME}. */
static const char *const rules_placeholders[] = {
	"sensor_id", "value", "threshold", "field", "rule", "duration",
	"measurement", "severity", "series",
};

/* The name of the rule in messages: 'name' or #index (from 1). */
struct rules_ctx {
	struct rules *rules;
	char who[160];
};

static enum rules_err __attribute__((format(printf, 2, 3)))
rules_fail(struct rules_ctx *c, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	n = (size_t)snprintf(c->rules->err, sizeof(c->rules->err), "%s: ",
			     c->who);
	if (n >= sizeof(c->rules->err))
		n = sizeof(c->rules->err) - 1;
	va_start(ap, fmt);
	vsnprintf(c->rules->err + n, sizeof(c->rules->err) - n, fmt, ap);
	va_end(ap);
	return RULES_ERR_RULE;
}

static bool
rules_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A string key: absent is fine (*out stays NULL), present must be a
 * non-empty string. */
static enum rules_err
rules_get_str(struct rules_ctx *c, json_t *o, const char *key,
	      const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v)
		return RULES_OK;
	if (!json_is_string(v))
		return rules_fail(c, "key '%s' must be a string", key);
	if (json_string_length(v) == 0)
		return rules_fail(c, "key '%s' must not be empty", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return rules_fail(c, "key '%s' must not contain NUL", key);
	*out = json_string_value(v);
	return RULES_OK;
}

static enum rules_err
rules_get_num(struct rules_ctx *c, json_t *o, const char *key, bool *has,
	      double *out)
{
	json_t *v = json_object_get(o, key);

	*has = false;
	if (!v)
		return RULES_OK;
	if (!json_is_number(v))
		return rules_fail(c, "key '%s' must be a number", key);
	*out = json_number_value(v);
	if (!isfinite(*out))
		return rules_fail(c, "key '%s' must be finite", key);
	*has = true;
	return RULES_OK;
}

static enum rules_err
rules_get_dur(struct rules_ctx *c, json_t *o, const char *key, bool *has,
	      int64_t *ns)
{
	const char *s;
	int64_t ms;
	enum rules_err rc;

	*has = false;
	rc = rules_get_str(c, o, key, &s);
	if (rc)
		return rc;
	if (!s)
		return RULES_OK;
	if (config_parse_duration(s, &ms) != 0 || ms < 0)
		return rules_fail(c, "key '%s': '%s' is not a duration "
				  "(like 500ms, 30s, 5m, 1h)", key, s);
	if (ms > 366LL * 24 * 3600 * 1000)
		return rules_fail(c, "key '%s': '%s' is longer than a year",
				  key, s);
	*ns = ms * 1000000;
	*has = true;
	return RULES_OK;
}

static enum rules_err
rules_check_template(struct rules_ctx *c, const char *t)
{
	const char *p = t, *end;
	size_t n, i;

	while ((p = strchr(p, '{')) != NULL) {
		end = strchr(p, '}');
		if (!end)
			return rules_fail(c, "key 'message': '{' at offset %zu "
					  "is not closed", (size_t)(p - t));
		n = (size_t)(end - p - 1);
		if (n > 5 && strncmp(p + 1, "tags.", 5) == 0) {
			p = end + 1;
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(rules_placeholders); i++)
			if (strlen(rules_placeholders[i]) == n &&
			    memcmp(rules_placeholders[i], p + 1, n) == 0)
				break;
		if (i == ARRAY_SIZE(rules_placeholders))
			return rules_fail(c, "key 'message': unknown placeholder "
					  "'{%.*s}' (known: {sensor_id} {value} "
					  "{threshold} {field} {rule} "
					  "{duration} {measurement} {severity} "
					  "{series} {tags.NAME})", (int)n, p + 1);
		p = end + 1;
	}
	return RULES_OK;
}

static enum rules_err
rules_parse_where(struct rules_ctx *c, json_t *w, struct rule *r)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	if (!json_is_object(w))
		return rules_fail(c, "key 'where' must be an object of tag "
				  "name to string (glob)");
	r->nwhere = json_object_size(w);
	if (r->nwhere == 0)
		return RULES_OK;
	r->where = calloc(r->nwhere, sizeof(*r->where));
	if (!r->where)
		return RULES_ERR_NOMEM;
	json_object_foreach(w, key, v) {
		if (!json_is_string(v))
			return rules_fail(c, "key 'where.%s' must be a string",
					  key);
		if (key[0] == '\0')
			return rules_fail(c, "key 'where' has an empty tag name");
		r->where[i].key = strdup(key);
		r->where[i].pattern = strdup(json_string_value(v));
		if (!r->where[i].key || !r->where[i].pattern)
			return RULES_ERR_NOMEM;
		r->where[i].glob = strpbrk(r->where[i].pattern, "*?[") != NULL;
		i++;
	}
	return RULES_OK;
}

/* Exactly one condition; clear_* only with its condition and on the right
 * side of the threshold; per only with rate_*. */
static enum rules_err
rules_parse_cond(struct rules_ctx *c, json_t *o, struct rule *r)
{
	static const char *const conds[] = {
		"above", "below", "outside", "rate_above", "rate_below",
		"deadman",
	};
	const char *found = NULL;
	bool has, has_cb, has_ca, has_per;
	double cb = 0, ca = 0, x;
	json_t *out;
	enum rules_err rc;

	for (size_t i = 0; i < ARRAY_SIZE(conds); i++) {
		if (!json_object_get(o, conds[i]))
			continue;
		if (found)
			return rules_fail(c, "keys '%s' and '%s': a rule has "
					  "exactly one condition", found,
					  conds[i]);
		found = conds[i];
		r->cond = (enum rules_cond)i;
	}
	if (!found)
		return rules_fail(c, "no condition: give one of 'above', "
				  "'below', 'outside', 'rate_above', "
				  "'rate_below', 'deadman'");
	rc = rules_get_num(c, o, "clear_below", &has_cb, &cb);
	if (!rc)
		rc = rules_get_num(c, o, "clear_above", &has_ca, &ca);
	if (!rc)
		rc = rules_get_dur(c, o, "per", &has_per, &r->per_ns);
	if (rc)
		return rc;
	if (has_cb && r->cond != RULES_ABOVE)
		return rules_fail(c, "key 'clear_below' only goes with 'above'");
	if (has_ca && r->cond != RULES_BELOW)
		return rules_fail(c, "key 'clear_above' only goes with 'below'");
	if (has_per && r->cond != RULES_RATE_ABOVE &&
	    r->cond != RULES_RATE_BELOW)
		return rules_fail(c, "key 'per' only goes with 'rate_above' or "
				  "'rate_below'");
	switch (r->cond) {
	case RULES_ABOVE:
	case RULES_BELOW:
	case RULES_RATE_ABOVE:
	case RULES_RATE_BELOW:
		rc = rules_get_num(c, o, found, &has, &r->threshold);
		if (rc)
			return rc;
		r->clear = r->threshold;
		if (has_cb) {
			if (cb > r->threshold)
				return rules_fail(c, "key 'clear_below' (%g) must "
						  "not be above 'above' (%g)",
						  cb, r->threshold);
			r->clear = cb;
			r->has_clear = true;
		}
		if (has_ca) {
			if (ca < r->threshold)
				return rules_fail(c, "key 'clear_above' (%g) must "
						  "not be below 'below' (%g)",
						  ca, r->threshold);
			r->clear = ca;
			r->has_clear = true;
		}
		if ((r->cond == RULES_RATE_ABOVE ||
		     r->cond == RULES_RATE_BELOW) && !has_per)
			return rules_fail(c, "key '%s' needs 'per' (the span "
					  "of event time, like \"60s\")", found);
		if (has_per && r->per_ns <= 0)
			return rules_fail(c, "key 'per' must be positive");
		break;
	case RULES_OUTSIDE:
		out = json_object_get(o, "outside");
		if (!json_is_array(out) || json_array_size(out) != 2 ||
		    !json_is_number(json_array_get(out, 0)) ||
		    !json_is_number(json_array_get(out, 1)))
			return rules_fail(c, "key 'outside' must be [min, max] "
					  "(two numbers)");
		r->threshold = json_number_value(json_array_get(out, 0));
		r->hi = json_number_value(json_array_get(out, 1));
		if (!(r->threshold < r->hi))
			return rules_fail(c, "key 'outside': min (%g) must be "
					  "below max (%g)", r->threshold, r->hi);
		break;
	case RULES_DEADMAN:
		rc = rules_get_dur(c, o, "deadman", &has, &r->deadman_ns);
		if (rc)
			return rc;
		if (!has)
			return rules_fail(c, "key 'deadman' must be a duration "
					  "string like \"120s\"");
		if (r->deadman_ns <= 0)
			return rules_fail(c, "key 'deadman' must be positive");
		x = (double)r->deadman_ns / 1e9;
		r->threshold = x;
		break;
	}
	return RULES_OK;
}

static enum rules_err
rules_parse_one(struct rules_ctx *c, json_t *o, struct rule *r)
{
	const char *key, *s;
	json_t *v;
	bool has;
	enum rules_err rc;

	if (!json_is_object(o))
		return rules_fail(c, "a rule must be an object");
	/* name the rule in every message once it has a usable name */
	s = json_string_value(json_object_get(o, "name"));
	if (s && *s && !rules_has_control(s))
		snprintf(c->who, sizeof(c->who), "rule '%s'", s);
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(rules_keys); i++)
			if (strcmp(key, rules_keys[i]) == 0)
				break;
		if (i == ARRAY_SIZE(rules_keys))
			return rules_fail(c, "unknown key '%s'", key);
	}
	rc = rules_get_str(c, o, "name", &s);
	if (rc)
		return rc;
	if (!s)
		return rules_fail(c, "key 'name' is missing");
	if (rules_has_control(s))
		return rules_fail(c, "key 'name' must not hold control "
				  "characters");
	snprintf(c->who, sizeof(c->who), "rule '%s'", s);
	r->name = strdup(s);
	if (!r->name)
		return RULES_ERR_NOMEM;
	rc = rules_get_str(c, o, "measurement", &s);
	if (rc)
		return rc;
	r->measurement = s ? strdup(s) : NULL;
	if (s && !r->measurement)
		return RULES_ERR_NOMEM;
	rc = rules_get_str(c, o, "field", &s);
	if (rc)
		return rc;
	r->field = s ? strdup(s) : NULL;
	if (s && !r->field)
		return RULES_ERR_NOMEM;
	v = json_object_get(o, "where");
	rc = v ? rules_parse_where(c, v, r) : RULES_OK;
	if (rc)
		return rc;
	rc = rules_parse_cond(c, o, r);
	if (rc)
		return rc;
	if (!r->field && r->cond != RULES_DEADMAN)
		return rules_fail(c, "key 'field' is missing (only 'deadman' "
				  "rules may omit it)");
	rc = rules_get_dur(c, o, "for", &has, &r->for_ns);
	if (rc)
		return rc;
	if (has && r->cond == RULES_DEADMAN)
		return rules_fail(c, "key 'for' does not go with 'deadman' "
				  "(the deadman duration is the wait)");
	r->severity = SEVERITY_WARNING;
	rc = rules_get_str(c, o, "severity", &s);
	if (rc)
		return rc;
	if (s && severity_parse(s, &r->severity) != 0)
		return rules_fail(c, "key 'severity': '%s' is not one of info, "
				  "warning, critical", s);
	rc = rules_get_str(c, o, "message", &s);
	if (rc)
		return rc;
	if (s) {
		rc = rules_check_template(c, s);
		if (rc)
			return rc;
		r->message = strdup(s);
		if (!r->message)
			return RULES_ERR_NOMEM;
	}
	return RULES_OK;
}

static void
rules_free_rule(struct rule *r)
{
	free(r->name);
	free(r->measurement);
	free(r->field);
	for (size_t i = 0; i < r->nwhere; i++) {
		free(r->where[i].key);
		free(r->where[i].pattern);
	}
	free(r->where);
	free(r->message);
}

void
rules_release(struct rules *rules)
{
	for (size_t i = 0; i < rules->n; i++)
		rules_free_rule(&rules->v[i]);
	free(rules->v);
	rules->v = NULL;
	rules->n = 0;
}

enum rules_err
rules_parse(struct rules *rules, const char *text, size_t len,
	    const char *name)
{
	struct rules_ctx c = {.rules = rules};
	json_error_t jerr;
	json_t *root, *arr, *v;
	const char *key;
	size_t i;
	enum rules_err rc = RULES_ERR_JSON;

	rules->v = NULL;
	rules->n = 0;
	rules->err[0] = '\0';
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(rules->err, sizeof(rules->err), "%s:%d:%d: %s", name,
			 jerr.line, jerr.column, jerr.text);
		return RULES_ERR_JSON;
	}
	if (!json_is_object(root)) {
		snprintf(rules->err, sizeof(rules->err),
			 "%s: must be an object {\"rules\": [...]}", name);
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "rules") != 0) {
			snprintf(rules->err, sizeof(rules->err),
				 "%s: unknown top-level key '%s' (only "
				 "'rules')", name, key);
			goto out;
		}
	}
	arr = json_object_get(root, "rules");
	if (!json_is_array(arr)) {
		snprintf(rules->err, sizeof(rules->err),
			 "%s: key 'rules' must be an array of rules", name);
		goto out;
	}
	if (json_array_size(arr) > 0) {
		rules->v = calloc(json_array_size(arr), sizeof(*rules->v));
		if (!rules->v) {
			rc = RULES_ERR_NOMEM;
			goto out;
		}
	}
	for (i = 0; i < json_array_size(arr); i++) {
		snprintf(c.who, sizeof(c.who), "rule #%zu", i + 1);
		rules->n = i + 1;
		rc = rules_parse_one(&c, json_array_get(arr, i), &rules->v[i]);
		if (rc)
			goto out;
		for (size_t j = 0; j < i; j++)
			if (strcmp(rules->v[j].name, rules->v[i].name) == 0) {
				rc = rules_fail(&c, "key 'name': the same name "
						"as rule #%zu", j + 1);
				goto out;
			}
	}
	rc = RULES_OK;
out:
	if (rc == RULES_ERR_NOMEM)
		snprintf(rules->err, sizeof(rules->err), "%s: out of memory",
			 name);
	if (rc)
		rules_release(rules);
	json_decref(root);
	return rc;
}

enum rules_err
rules_load(struct rules *rules, const char *path)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	enum rules_err rc = RULES_ERR_FILE;

	rules->v = NULL;
	rules->n = 0;
	f = fopen(path, "r");
	if (!f) {
		snprintf(rules->err, sizeof(rules->err),
			 "cannot read rules file '%s': open: %s", path,
			 strerror(errno));
		return RULES_ERR_FILE;
	}
	for (;;) {
		if (len + 4096 > cap) {
			char *t;

			cap = cap ? cap * 2 : 65536;
			if (cap > 64 * 1024 * 1024) {
				snprintf(rules->err, sizeof(rules->err),
					 "rules file '%s' is larger than 64 MiB",
					 path);
				goto out;
			}
			t = realloc(text, cap);
			if (!t) {
				rc = RULES_ERR_NOMEM;
				snprintf(rules->err, sizeof(rules->err),
					 "rules file '%s': out of memory", path);
				goto out;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(rules->err, sizeof(rules->err),
			 "cannot read rules file '%s': read: %s", path,
			 strerror(errno));
		goto out;
	}
	rc = rules_parse(rules, text ? text : "", len, path);
out:
	free(text);
	fclose(f);
	return rc;
}

static const char *
rules_tag_value(const struct tag *tags, size_t ntags, const char *key)
{
	for (size_t i = 0; i < ntags; i++)
		if (strcmp(tags[i].key, key) == 0)
			return tags[i].value;
	return NULL;
}

bool
rules_match_series(const struct rule *r, const char *measurement,
		   const struct tag *tags, size_t ntags)
{
	if (r->measurement && strcmp(r->measurement, measurement) != 0)
		return false;
	for (size_t i = 0; i < r->nwhere; i++) {
		const char *v = rules_tag_value(tags, ntags, r->where[i].key);

		if (!v)
			return false;
		if (r->where[i].glob) {
			if (fnmatch(r->where[i].pattern, v, 0) != 0)
				return false;
		} else if (strcmp(r->where[i].pattern, v) != 0) {
			return false;
		}
	}
	return true;
}

const char *
rules_cond_name(enum rules_cond c)
{
	switch (c) {
	case RULES_ABOVE:
		return "above";
	case RULES_BELOW:
		return "below";
	case RULES_OUTSIDE:
		return "outside";
	case RULES_RATE_ABOVE:
		return "rate_above";
	case RULES_RATE_BELOW:
		return "rate_below";
	case RULES_DEADMAN:
		return "deadman";
	}
	return "?";
}

const char *
rules_strerror(enum rules_err err)
{
	switch (err) {
	case RULES_OK:
		return "success";
	case RULES_ERR_FILE:
		return "rules file unreadable";
	case RULES_ERR_JSON:
		return "rules file is not valid JSON of the expected shape";
	case RULES_ERR_RULE:
		return "invalid rule";
	case RULES_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown rules error";
}
