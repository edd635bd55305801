/*
 * payload: MQTT message -> readings (see payload.h for the formats and
 * rules). Strings of the reading being built live in one arena and are
 * addressed by offset, because the arena may move while it grows; pointers
 * are made only when the reading is written.
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "payload.h"
#include "rfc3339.h"
#include "banned.h"

#define PAYLOAD_MAX_READINGS 10000

struct pc_tag {
	size_t key, val;
	bool from_topic;
};

struct pc_field {
	size_t key;
	enum field_type type;
	double f;
	int64_t i;
	bool b;
	size_t s, slen;
};

struct payload_conv {
	struct payload_opts opts;
	const struct topictpl *tpl;
	struct strbuf arena;
	struct strbuf key;		/* flattened key being built */
	/* topic match of the current message */
	struct topictpl_tag ttags[TOPICTPL_MAX_LEVELS];
	size_t nttags;
	const char *tmeas;
	size_t tmeas_len;
	/* the reading being built */
	bool has_meas;
	size_t meas;
	struct pc_tag btags[RECORD_MAX_TAGS];
	size_t nbtags;
	struct pc_field bfields[RECORD_MAX_FIELDS];
	size_t nbfields;
	bool has_time;
	int64_t time_ns;
	/* output */
	struct tag tags[RECORD_MAX_TAGS];
	struct field fields[RECORD_MAX_FIELDS];
	int64_t now_ns;
	size_t nreadings;
	char detail[256];
};

static enum payload_err
pc_fail(struct payload_conv *pc, enum payload_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum payload_err
pc_fail(struct payload_conv *pc, enum payload_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pc->detail, sizeof(pc->detail), fmt, ap);
	va_end(ap);
	return err;
}

enum payload_err
payload_conv_new(struct payload_conv **pcp, const struct payload_opts *opts,
		 const struct topictpl *tpl)
{
	struct payload_conv *pc;

	*pcp = NULL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return PAYLOAD_ERR_NOMEM;
	pc->opts = *opts;
	pc->tpl = tpl;
	strbuf_init(&pc->arena, 0);
	strbuf_init(&pc->key, 0);
	*pcp = pc;
	return PAYLOAD_OK;
}

void
payload_conv_free(struct payload_conv *pc)
{
	if (!pc)
		return;
	strbuf_release(&pc->arena);
	strbuf_release(&pc->key);
	free(pc);
}

const char *
payload_detail(const struct payload_conv *pc)
{
	return pc->detail;
}

/* ---- time --------------------------------------------------------------- */

static int64_t
pc_unit(double mag, enum payload_precision p)
{
	switch (p) {
	case PAYLOAD_PREC_S:
		return 1000000000;
	case PAYLOAD_PREC_MS:
		return 1000000;
	case PAYLOAD_PREC_US:
		return 1000;
	case PAYLOAD_PREC_NS:
		return 1;
	case PAYLOAD_PREC_AUTO:
		break;
	}
	if (mag < 1e11)
		return 1000000000;
	if (mag < 1e14)
		return 1000000;
	if (mag < 1e17)
		return 1000;
	return 1;
}

int
payload_time_from_int(int64_t v, enum payload_precision p, int64_t *ns)
{
	double mag = v < 0 ? -(double)v : (double)v;

	if (__builtin_mul_overflow(v, pc_unit(mag, p), ns))
		return -1;
	return 0;
}

int
payload_time_from_double(double v, enum payload_precision p, int64_t *ns)
{
	int64_t unit, whole, frac;
	double ip;

	if (!isfinite(v))
		return -1;
	unit = pc_unit(fabs(v), p);
	/* whole units exactly in integers, the fraction rounded: a double
	 * cannot hold ns since 1970 exactly (1795665600.25 s * 1e9) */
	if (!(v > -9.2e18 && v < 9.2e18))
		return -1;
	ip = trunc(v);
	whole = (int64_t)ip;
	frac = llround((v - ip) * (double)unit);
	if (__builtin_mul_overflow(whole, unit, ns) ||
	    __builtin_add_overflow(*ns, frac, ns))
		return -1;
	return 0;
}

/* ---- building one reading ----------------------------------------------- */

static int
pc_str(struct payload_conv *pc, const char *s, size_t len, size_t *off)
{
	*off = pc->arena.len;
	if (strbuf_add(&pc->arena, s, len) || strbuf_addch(&pc->arena, '\0'))
		return -1;
	return 0;
}

static const char *
pc_at(const struct payload_conv *pc, size_t off)
{
	return pc->arena.buf + off;
}

static enum payload_err
pc_add_tag(struct payload_conv *pc, const char *k, size_t klen, const char *v,
	   size_t vlen, bool from_topic)
{
	struct pc_tag *t;

	if (klen == 0)
		return pc_fail(pc, PAYLOAD_ERR_KEY, "empty tag key");
	if (vlen == 0)
		return pc_fail(pc, PAYLOAD_ERR_TAG, "tag '%.*s' has an empty value",
			       (int)klen, k);
	for (size_t i = 0; i < pc->nbtags; i++) {
		const char *have = pc_at(pc, pc->btags[i].key);

		if (strlen(have) == klen && memcmp(have, k, klen) == 0) {
			/* The topic's tags win over the payload's. */
			if (pc->btags[i].from_topic)
				return PAYLOAD_OK;
			return pc_fail(pc, PAYLOAD_ERR_DUPLICATE,
				       "tag '%.*s' given twice", (int)klen, k);
		}
	}
	if (pc->nbtags == RECORD_MAX_TAGS)
		return pc_fail(pc, PAYLOAD_ERR_TOO_MANY, "more than %d tags",
			       RECORD_MAX_TAGS);
	t = &pc->btags[pc->nbtags];
	if (pc_str(pc, k, klen, &t->key) || pc_str(pc, v, vlen, &t->val))
		return PAYLOAD_ERR_NOMEM;
	t->from_topic = from_topic;
	pc->nbtags++;
	return PAYLOAD_OK;
}

/* Adds a field named k; the caller fills the value. */
static enum payload_err
pc_add_field(struct payload_conv *pc, const char *k, size_t klen,
	     struct pc_field **fp)
{
	struct pc_field *f;

	if (klen == 0)
		return pc_fail(pc, PAYLOAD_ERR_KEY, "empty field key");
	for (size_t i = 0; i < pc->nbfields; i++) {
		const char *have = pc_at(pc, pc->bfields[i].key);

		if (strlen(have) == klen && memcmp(have, k, klen) == 0)
			return pc_fail(pc, PAYLOAD_ERR_DUPLICATE,
				       "field '%.*s' given twice", (int)klen, k);
	}
	if (pc->nbfields == RECORD_MAX_FIELDS)
		return pc_fail(pc, PAYLOAD_ERR_TOO_MANY, "more than %d fields",
			       RECORD_MAX_FIELDS);
	f = &pc->bfields[pc->nbfields];
	memset(f, 0, sizeof(*f));
	if (pc_str(pc, k, klen, &f->key))
		return PAYLOAD_ERR_NOMEM;
	pc->nbfields++;
	*fp = f;
	return PAYLOAD_OK;
}

static enum payload_err
pc_begin(struct payload_conv *pc)
{
	enum payload_err rc;

	strbuf_reset(&pc->arena);
	pc->nbtags = 0;
	pc->nbfields = 0;
	pc->has_time = false;
	pc->has_meas = false;
	if (pc->tmeas) {
		if (pc_str(pc, pc->tmeas, pc->tmeas_len, &pc->meas))
			return PAYLOAD_ERR_NOMEM;
		pc->has_meas = true;
	}
	for (size_t i = 0; i < pc->nttags; i++) {
		rc = pc_add_tag(pc, pc->ttags[i].key, strlen(pc->ttags[i].key),
				pc->ttags[i].value, pc->ttags[i].len, true);
		if (rc)
			return rc;
	}
	return PAYLOAD_OK;
}

static enum payload_err
pc_finish(struct payload_conv *pc, struct strbuf *out)
{
	struct reading r;
	const char *meas;

	if (pc->nbfields == 0)
		return pc_fail(pc, PAYLOAD_ERR_NO_FIELDS, "no fields");
	if (pc->nreadings == PAYLOAD_MAX_READINGS)
		return pc_fail(pc, PAYLOAD_ERR_TOO_MANY, "more than %d readings",
			       PAYLOAD_MAX_READINGS);
	meas = pc->has_meas ? pc_at(pc, pc->meas) : pc->opts.default_measurement;
	if (!meas || !*meas)
		return pc_fail(pc, PAYLOAD_ERR_KEY, "empty measurement");
	for (size_t i = 0; i < pc->nbtags; i++) {
		pc->tags[i].key = pc_at(pc, pc->btags[i].key);
		pc->tags[i].value = pc_at(pc, pc->btags[i].val);
	}
	for (size_t i = 0; i < pc->nbfields; i++) {
		const struct pc_field *b = &pc->bfields[i];
		struct field *f = &pc->fields[i];

		f->key = pc_at(pc, b->key);
		f->type = b->type;
		switch (b->type) {
		case FIELD_FLOAT:
			f->v.f = b->f;
			break;
		case FIELD_INT:
			f->v.i = b->i;
			break;
		case FIELD_BOOL:
			f->v.b = b->b;
			break;
		case FIELD_STRING:
			f->v.str.s = pc_at(pc, b->s);
			f->v.str.len = b->slen;
			break;
		}
	}
	record_sort_tags(pc->tags, pc->nbtags);
	r.time_ns = pc->has_time ? pc->time_ns : pc->now_ns;
	r.has_time = true;
	r.measurement = meas;
	r.tags = pc->tags;
	r.ntags = pc->nbtags;
	r.fields = pc->fields;
	r.nfields = pc->nbfields;
	if (record_write_reading(&r, out) || strbuf_addch(out, '\n'))
		return errno == ENOMEM ? PAYLOAD_ERR_NOMEM :
			pc_fail(pc, PAYLOAD_ERR_NUMBER, "cannot write the reading");
	pc->nreadings++;
	return PAYLOAD_OK;
}

/* ---- JSON --------------------------------------------------------------- */

static bool
pc_in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static enum payload_err
pc_json_time(struct payload_conv *pc, const char *key, json_t *v)
{
	const char *why = "";

	if (json_is_string(v)) {
		if (rfc3339_parse_why(json_string_value(v),
				      json_string_length(v), &pc->time_ns,
				      &why) != RFC3339_OK)
			return pc_fail(pc, PAYLOAD_ERR_TIME,
				       "time '%s': '%.40s': %s",
				       key, json_string_value(v), why);
	} else if (json_is_integer(v)) {
		if (payload_time_from_int(json_integer_value(v),
					  pc->opts.precision, &pc->time_ns))
			return pc_fail(pc, PAYLOAD_ERR_TIME,
				       "time '%s': %lld is out of range", key,
				       (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		if (payload_time_from_double(json_real_value(v),
					     pc->opts.precision, &pc->time_ns))
			return pc_fail(pc, PAYLOAD_ERR_TIME,
				       "time '%s': %g is out of range", key,
				       json_real_value(v));
	} else if (json_is_null(v)) {
		return pc_fail(pc, PAYLOAD_ERR_NULL, "time '%s' is null", key);
	} else {
		return pc_fail(pc, PAYLOAD_ERR_TIME,
			       "time '%s' must be a string or a number", key);
	}
	pc->has_time = true;
	return PAYLOAD_OK;
}

static enum payload_err
pc_json_tag(struct payload_conv *pc, const char *k, json_t *v)
{
	char num[DOUBLE_STR_MAX];
	size_t n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return pc_add_tag(pc, k, strlen(k), json_string_value(v),
				  json_string_length(v), false);
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof(num), "%lld",
				     (long long)json_integer_value(v));
		return pc_add_tag(pc, k, strlen(k), num, n, false);
	case JSON_REAL:
		n = double_format(json_real_value(v), num);
		return pc_add_tag(pc, k, strlen(k), num, n, false);
	case JSON_TRUE:
		return pc_add_tag(pc, k, strlen(k), "true", 4, false);
	case JSON_FALSE:
		return pc_add_tag(pc, k, strlen(k), "false", 5, false);
	case JSON_NULL:
		return pc_fail(pc, PAYLOAD_ERR_NULL, "tag '%s' is null", k);
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	return pc_fail(pc, PAYLOAD_ERR_TAG,
		       "tag '%s' must be a string, number or boolean", k);
}

static enum payload_err
pc_json_object(struct payload_conv *pc, json_t *obj, size_t prefix_len,
	       int depth)
{
	const char *k;
	json_t *v;
	enum payload_err rc;
	struct pc_field *f;

	json_object_foreach(obj, k, v) {
		const char *name;

		if (depth == 0 && !pc->has_time &&
		    pc_in_list(pc->opts.time_keys, pc->opts.ntime_keys, k)) {
			rc = pc_json_time(pc, k, v);
			if (rc)
				return rc;
			continue;
		}
		if (depth == 0 && strcmp(k, "measurement") == 0 &&
		    json_is_string(v)) {
			if (!pc->has_meas) {
				if (json_string_length(v) == 0)
					return pc_fail(pc, PAYLOAD_ERR_KEY,
						       "empty measurement");
				if (pc_str(pc, json_string_value(v),
					   json_string_length(v), &pc->meas))
					return PAYLOAD_ERR_NOMEM;
				pc->has_meas = true;
			}
			continue;
		}
		if (*k == '\0')
			return pc_fail(pc, PAYLOAD_ERR_KEY, "empty key");
		pc->key.len = prefix_len;
		if (prefix_len && strbuf_addch(&pc->key, '_'))
			return PAYLOAD_ERR_NOMEM;
		if (strbuf_addstr(&pc->key, k))
			return PAYLOAD_ERR_NOMEM;
		name = pc->key.buf;
		if (json_is_null(v))
			return pc_fail(pc, PAYLOAD_ERR_NULL, "'%s' is null", name);
		if (json_is_array(v))
			return pc_fail(pc, PAYLOAD_ERR_NESTED_ARRAY,
				       "'%s' is an array", name);
		if (json_is_object(v)) {
			size_t mark = pc->key.len;

			rc = pc_json_object(pc, v, mark, depth + 1);
			if (rc)
				return rc;
			continue;
		}
		if (pc_in_list(pc->opts.tag_keys, pc->opts.ntag_keys, name)) {
			rc = pc_json_tag(pc, name, v);
			if (rc)
				return rc;
			continue;
		}
		rc = pc_add_field(pc, name, pc->key.len, &f);
		if (rc)
			return rc;
		switch (json_typeof(v)) {
		case JSON_STRING:
			f->type = FIELD_STRING;
			f->slen = json_string_length(v);
			if (pc_str(pc, json_string_value(v), f->slen, &f->s))
				return PAYLOAD_ERR_NOMEM;
			break;
		case JSON_INTEGER:
			f->type = FIELD_FLOAT;
			f->f = (double)json_integer_value(v);
			break;
		case JSON_REAL:
			f->type = FIELD_FLOAT;
			f->f = json_real_value(v);
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			f->type = FIELD_BOOL;
			f->b = json_is_true(v);
			break;
		case JSON_NULL:
		case JSON_OBJECT:
		case JSON_ARRAY:
			break;
		}
	}
	return PAYLOAD_OK;
}

static enum payload_err
pc_json_reading(struct payload_conv *pc, json_t *obj, struct strbuf *out)
{
	enum payload_err rc;

	rc = pc_begin(pc);
	if (rc)
		return rc;
	strbuf_reset(&pc->key);
	rc = pc_json_object(pc, obj, 0, 0);
	if (rc)
		return rc;
	return pc_finish(pc, out);
}

static enum payload_err
pc_json_error(struct payload_conv *pc, const json_error_t *e)
{
	enum json_error_code code = json_error_code(e);

	if (code == json_error_duplicate_key)
		return pc_fail(pc, PAYLOAD_ERR_DUPLICATE, "%s", e->text);
	if (code == json_error_numeric_overflow || strstr(e->text, "'NaN") ||
	    strstr(e->text, "'Infinity") || strstr(e->text, "'-Infinity") ||
	    strstr(e->text, "'nan") || strstr(e->text, "'inf"))
		return pc_fail(pc, PAYLOAD_ERR_NUMBER, "%s", e->text);
	if (code == json_error_invalid_utf8)
		return pc_fail(pc, PAYLOAD_ERR_UTF8, "%s", e->text);
	return pc_fail(pc, PAYLOAD_ERR_JSON, "line %d column %d: %s", e->line,
		       e->column, e->text);
}

/*
 * Fast path for the common payload, a flat JSON object of numbers, strings
 * without escapes and booleans: {"ts":1795665600,"temperature":21.5}.
 * It reads the whole object first (so that a later syntax error or
 * duplicate key is found before any of it is used) and applies the same
 * rules as pc_json_object. Anything else (escapes, nesting, null, odd
 * numbers, errors) returns "not handled", and jansson parses the payload
 * and reports the error exactly as before. jansson costs a third of the
 * conversion (an allocation per value); bench/README.md.
 */
#define PC_FAST_MAX 64

enum pc_fast_type { PCF_STRING, PCF_INT, PCF_REAL, PCF_TRUE, PCF_FALSE };

struct pc_fast_member {
	const char *k;
	size_t klen;
	enum pc_fast_type type;
	const char *v;		/* string contents */
	size_t vlen;
	int64_t i;
	double d;
};

static size_t
pc_fast_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
			 s[i] == '\r'))
		i++;
	return i;
}

/* A string without escapes or control characters; i at the opening quote.
 * Returns the index after the closing quote, or 0. */
static size_t
pc_fast_str(const char *s, size_t n, size_t i, const char **p, size_t *len)
{
	size_t j = i + 1;

	while (j < n && s[j] != '"') {
		if (s[j] == '\\' || (unsigned char)s[j] < 0x20)
			return 0;
		j++;
	}
	if (j >= n)
		return 0;
	*p = s + i + 1;
	*len = j - i - 1;
	return j + 1;
}

static bool
pc_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number in strict JSON syntax. Returns the index after it, or 0. */
static size_t
pc_fast_num(const char *s, size_t n, size_t i, struct pc_fast_member *m)
{
	size_t j = i;
	bool real = false;
	char buf[64], *end;

	if (j < n && s[j] == '-')
		j++;
	if (j < n && s[j] == '0')
		j++;
	else if (j < n && s[j] >= '1' && s[j] <= '9')
		while (j < n && pc_digit(s[j]))
			j++;
	else
		return 0;
	if (j < n && s[j] == '.') {
		real = true;
		j++;
		if (j >= n || !pc_digit(s[j]))
			return 0;
		while (j < n && pc_digit(s[j]))
			j++;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		real = true;
		j++;
		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j >= n || !pc_digit(s[j]))
			return 0;
		while (j < n && pc_digit(s[j]))
			j++;
	}
	if (j - i >= sizeof(buf))
		return 0;
	memcpy(buf, s + i, j - i);
	buf[j - i] = '\0';
	errno = 0;
	if (real) {
		m->type = PCF_REAL;
		m->d = strtod(buf, &end);
	} else {
		m->type = PCF_INT;
		m->i = strtoll(buf, &end, 10);
	}
	/* out of range: jansson reports it */
	if (errno == ERANGE || *end)
		return 0;
	return j;
}

static size_t
pc_fast_scan(const char *s, size_t n, struct pc_fast_member *m, size_t *count)
{
	size_t i = pc_fast_ws(s, n, 0), nm = 0;

	if (i >= n || s[i] != '{')
		return 0;
	i = pc_fast_ws(s, n, i + 1);
	if (i < n && s[i] == '}')
		goto end;
	for (;;) {
		struct pc_fast_member *x;

		if (nm == PC_FAST_MAX || i >= n || s[i] != '"')
			return 0;
		x = &m[nm++];
		i = pc_fast_str(s, n, i, &x->k, &x->klen);
		if (!i || x->klen == 0)
			return 0;
		i = pc_fast_ws(s, n, i);
		if (i >= n || s[i] != ':')
			return 0;
		i = pc_fast_ws(s, n, i + 1);
		if (i >= n)
			return 0;
		if (s[i] == '"') {
			x->type = PCF_STRING;
			i = pc_fast_str(s, n, i, &x->v, &x->vlen);
		} else if (n - i >= 4 && memcmp(s + i, "true", 4) == 0) {
			x->type = PCF_TRUE;
			i += 4;
		} else if (n - i >= 5 && memcmp(s + i, "false", 5) == 0) {
			x->type = PCF_FALSE;
			i += 5;
		} else {
			i = pc_fast_num(s, n, i, x);
		}
		if (!i)
			return 0;
		i = pc_fast_ws(s, n, i);
		if (i < n && s[i] == ',') {
			i = pc_fast_ws(s, n, i + 1);
			continue;
		}
		if (i < n && s[i] == '}')
			break;
		return 0;
	}
end:
	if (pc_fast_ws(s, n, i + 1) != n)
		return 0;
	/* duplicate keys: jansson rejects them */
	for (size_t a = 0; a < nm; a++)
		for (size_t b = a + 1; b < nm; b++)
			if (m[a].klen == m[b].klen &&
			    memcmp(m[a].k, m[b].k, m[a].klen) == 0)
				return 0;
	*count = nm;
	return 1;
}

static bool
pc_in_list_n(char *const *list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

static enum payload_err
pc_fast(struct payload_conv *pc, const char *s, size_t len,
	struct strbuf *out, bool *handled)
{
	struct pc_fast_member m[PC_FAST_MAX];
	size_t nm = 0;
	enum payload_err rc;
	struct pc_fast_member *x;
	struct pc_field *f;
	char num[DOUBLE_STR_MAX], key[256];
	const char *why = "";
	size_t n;

	*handled = false;
	if (pc->opts.no_fast_path || !pc_fast_scan(s, len, m, &nm))
		return PAYLOAD_OK;
	*handled = true;
	rc = pc_begin(pc);
	if (rc)
		return rc;
	for (size_t i = 0; i < nm; i++) {
		x = &m[i];
		if (x->klen >= sizeof(key)) {
			*handled = false;	/* let the general path do it */
			return PAYLOAD_OK;
		}
		memcpy(key, x->k, x->klen);
		key[x->klen] = '\0';
		if (!pc->has_time && pc_in_list_n(pc->opts.time_keys,
						  pc->opts.ntime_keys, x->k,
						  x->klen)) {
			switch (x->type) {
			case PCF_STRING:
				if (rfc3339_parse_why(x->v, x->vlen,
						      &pc->time_ns, &why) !=
				    RFC3339_OK)
					return pc_fail(pc, PAYLOAD_ERR_TIME,
						       "time '%s': '%.*s': %s",
						       key,
						       (int)(x->vlen > 40 ? 40 : x->vlen),
						       x->v, why);
				break;
			case PCF_INT:
				if (payload_time_from_int(x->i, pc->opts.precision,
							  &pc->time_ns))
					return pc_fail(pc, PAYLOAD_ERR_TIME,
						       "time '%s': %lld is out of range",
						       key, (long long)x->i);
				break;
			case PCF_REAL:
				if (payload_time_from_double(x->d,
							     pc->opts.precision,
							     &pc->time_ns))
					return pc_fail(pc, PAYLOAD_ERR_TIME,
						       "time '%s': %g is out of range",
						       key, x->d);
				break;
			case PCF_TRUE:
			case PCF_FALSE:
				return pc_fail(pc, PAYLOAD_ERR_TIME,
					       "time '%s' must be a string or a number",
					       key);
			}
			pc->has_time = true;
			continue;
		}
		if (x->type == PCF_STRING && strcmp(key, "measurement") == 0) {
			if (!pc->has_meas) {
				if (x->vlen == 0)
					return pc_fail(pc, PAYLOAD_ERR_KEY,
						       "empty measurement");
				if (pc_str(pc, x->v, x->vlen, &pc->meas))
					return PAYLOAD_ERR_NOMEM;
				pc->has_meas = true;
			}
			continue;
		}
		if (pc_in_list(pc->opts.tag_keys, pc->opts.ntag_keys, key)) {
			switch (x->type) {
			case PCF_STRING:
				rc = pc_add_tag(pc, key, x->klen, x->v, x->vlen,
						false);
				break;
			case PCF_INT:
				n = (size_t)snprintf(num, sizeof(num), "%lld",
						     (long long)x->i);
				rc = pc_add_tag(pc, key, x->klen, num, n, false);
				break;
			case PCF_REAL:
				n = double_format(x->d, num);
				rc = pc_add_tag(pc, key, x->klen, num, n, false);
				break;
			case PCF_TRUE:
				rc = pc_add_tag(pc, key, x->klen, "true", 4, false);
				break;
			case PCF_FALSE:
				rc = pc_add_tag(pc, key, x->klen, "false", 5,
						false);
				break;
			}
			if (rc)
				return rc;
			continue;
		}
		rc = pc_add_field(pc, key, x->klen, &f);
		if (rc)
			return rc;
		switch (x->type) {
		case PCF_STRING:
			f->type = FIELD_STRING;
			f->slen = x->vlen;
			if (pc_str(pc, x->v, x->vlen, &f->s))
				return PAYLOAD_ERR_NOMEM;
			break;
		case PCF_INT:
			f->type = FIELD_FLOAT;
			f->f = (double)x->i;
			break;
		case PCF_REAL:
			f->type = FIELD_FLOAT;
			f->f = x->d;
			break;
		case PCF_TRUE:
		case PCF_FALSE:
			f->type = FIELD_BOOL;
			f->b = x->type == PCF_TRUE;
			break;
		}
	}
	return pc_finish(pc, out);
}

static enum payload_err
pc_json(struct payload_conv *pc, const char *s, size_t len, struct strbuf *out)
{
	json_error_t e;
	json_t *root;
	enum payload_err rc = PAYLOAD_OK;
	size_t i;
	json_t *v;
	bool handled;

	if (s[0] == '{') {
		rc = pc_fast(pc, s, len, out, &handled);
		if (handled)
			return rc;
	}

	root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);
	if (!root)
		return pc_json_error(pc, &e);
	if (json_is_object(root)) {
		rc = pc_json_reading(pc, root, out);
	} else {
		if (json_array_size(root) == 0)
			rc = pc_fail(pc, PAYLOAD_ERR_NO_FIELDS, "empty array");
		json_array_foreach(root, i, v) {
			if (rc)
				break;
			if (json_is_array(v))
				rc = pc_fail(pc, PAYLOAD_ERR_NESTED_ARRAY,
					     "element %zu is an array", i);
			else if (json_is_null(v))
				rc = pc_fail(pc, PAYLOAD_ERR_NULL,
					     "element %zu is null", i);
			else if (!json_is_object(v))
				rc = pc_fail(pc, PAYLOAD_ERR_NOT_OBJECT,
					     "element %zu is not an object", i);
			else
				rc = pc_json_reading(pc, v, out);
		}
	}
	json_decref(root);
	return rc;
}

/* A bare number: "21.5", "-3", "1e3". */
/* True when s[0..len) holds only characters of a JSON number (s is not
 * NUL-terminated). */
static bool
pc_number_token(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!memchr("0123456789+-.eE", s[i], 15))
			return false;
	return true;
}

static enum payload_err
pc_number(struct payload_conv *pc, const char *s, size_t len,
	  struct strbuf *out, bool *handled)
{
	json_error_t e;
	json_t *v;
	enum payload_err rc;
	struct pc_field *f;

	*handled = false;
	v = json_loadb(s, len, JSON_DECODE_ANY, &e);
	if (!v) {
		/*
		 * jansson reports the overflow of a leading number before it
		 * sees what follows: only a payload that is a number token
		 * alone is an out-of-range number. A line protocol line whose
		 * measurement starts with 20 digits or more is no number.
		 */
		if (json_error_code(&e) == json_error_numeric_overflow &&
		    pc_number_token(s, len)) {
			*handled = true;
			return pc_fail(pc, PAYLOAD_ERR_NUMBER, "%s", e.text);
		}
		return PAYLOAD_OK;
	}
	if (!json_is_number(v)) {
		json_decref(v);
		return PAYLOAD_OK;
	}
	*handled = true;
	rc = pc_begin(pc);
	if (!rc)
		rc = pc_add_field(pc, "value", 5, &f);
	if (!rc) {
		f->type = FIELD_FLOAT;
		f->f = json_number_value(v);
		rc = pc_finish(pc, out);
	}
	json_decref(v);
	return rc;
}

/* ---- line protocol ------------------------------------------------------ */

/* Reads up to an unescaped byte of stops; "\," "\=" "\ " are escapes, any
 * other backslash is kept. Appends the text, NUL-terminated, to the arena. */
static int
pc_lp_token(struct payload_conv *pc, const char *s, size_t n, size_t *pos,
	    const char *stops, size_t *off, size_t *len)
{
	size_t i = *pos;

	*off = pc->arena.len;
	while (i < n && !strchr(stops, s[i])) {
		if (s[i] == '\\' && i + 1 < n &&
		    (s[i + 1] == ',' || s[i + 1] == '=' || s[i + 1] == ' '))
			i++;
		if (strbuf_addch(&pc->arena, s[i]))
			return -1;
		i++;
	}
	*len = pc->arena.len - *off;
	*pos = i;
	return strbuf_addch(&pc->arena, '\0');
}

static bool
pc_lp_bool(const char *v, size_t n, bool *b)
{
	static const char *const t[] = { "t", "T", "true", "True", "TRUE" };
	static const char *const f[] = { "f", "F", "false", "False", "FALSE" };

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (strlen(t[i]) == n && memcmp(v, t[i], n) == 0) {
			*b = true;
			return true;
		}
		if (strlen(f[i]) == n && memcmp(v, f[i], n) == 0) {
			*b = false;
			return true;
		}
	}
	return false;
}

static enum payload_err
pc_lp_value(struct payload_conv *pc, struct pc_field *f, const char *v,
	    size_t n, const char *key)
{
	char buf[64];
	char *end;

	if (n == 0)
		return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
			       "field '%s' has no value", key);
	if (pc_lp_bool(v, n, &f->b)) {
		f->type = FIELD_BOOL;
		return PAYLOAD_OK;
	}
	if (n >= sizeof(buf))
		return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
			       "field '%s': value too long", key);
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (!strchr("0123456789+-.", buf[0]) || strpbrk(buf, "xXnN"))
		goto bad;
	errno = 0;
	if (buf[n - 1] == 'i') {
		buf[n - 1] = '\0';
		f->type = FIELD_INT;
		f->i = strtoll(buf, &end, 10);
		if (end == buf || *end)
			goto bad;
		if (errno == ERANGE)
			goto range;
		return PAYLOAD_OK;
	}
	if (buf[n - 1] == 'u') {
		unsigned long long u;

		buf[n - 1] = '\0';
		if (buf[0] == '-')
			goto bad;
		u = strtoull(buf, &end, 10);
		if (end == buf || *end)
			goto bad;
		if (errno == ERANGE || u > INT64_MAX)
			goto range;
		f->type = FIELD_INT;
		f->i = (int64_t)u;
		return PAYLOAD_OK;
	}
	f->type = FIELD_FLOAT;
	f->f = strtod(buf, &end);
	if (end == buf || *end)
		goto bad;
	if (errno == ERANGE || !isfinite(f->f))
		goto range;
	return PAYLOAD_OK;
range:
	return pc_fail(pc, PAYLOAD_ERR_NUMBER, "field '%s': '%s' is out of range",
		       key, buf);
bad:
	if (strpbrk(buf, "nN") && (strstr(buf, "an") || strstr(buf, "AN") ||
				   strstr(buf, "nf") || strstr(buf, "NF")))
		return pc_fail(pc, PAYLOAD_ERR_NUMBER,
			       "field '%s': '%s' is not a finite number", key, buf);
	return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
		       "field '%s': '%.*s' is not a number, boolean or string",
		       key, (int)(n > 40 ? 40 : n), v);
}

static enum payload_err
pc_lp_string(struct payload_conv *pc, struct pc_field *f, const char *s,
	     size_t n, size_t *pos, const char *key)
{
	size_t i = *pos + 1;

	f->type = FIELD_STRING;
	f->s = pc->arena.len;
	for (;;) {
		if (i >= n)
			return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
				       "field '%s': unterminated string", key);
		if (s[i] == '"')
			break;
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' ||
						  s[i + 1] == '\\'))
			i++;
		if (strbuf_addch(&pc->arena, s[i]))
			return PAYLOAD_ERR_NOMEM;
		i++;
	}
	f->slen = pc->arena.len - f->s;
	if (strbuf_addch(&pc->arena, '\0'))
		return PAYLOAD_ERR_NOMEM;
	*pos = i + 1;
	return PAYLOAD_OK;
}

static enum payload_err
pc_lp_line(struct payload_conv *pc, const char *s, size_t n, size_t lineno,
	   struct strbuf *out)
{
	enum payload_err rc;
	size_t pos = 0, off, len, koff, klen;
	struct pc_field *f;

	rc = pc_begin(pc);
	if (rc)
		return rc;
	if (pc_lp_token(pc, s, n, &pos, ", ", &off, &len))
		return PAYLOAD_ERR_NOMEM;
	if (len == 0)
		return pc_fail(pc, PAYLOAD_ERR_KEY, "line %zu: empty measurement",
			       lineno);
	pc->meas = off;
	pc->has_meas = true;
	while (pos < n && s[pos] == ',') {
		pos++;
		if (pc_lp_token(pc, s, n, &pos, ",= ", &koff, &klen))
			return PAYLOAD_ERR_NOMEM;
		if (pos >= n || s[pos] != '=')
			return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
				       "line %zu: tag '%s' has no '='", lineno,
				       pc_at(pc, koff));
		pos++;
		if (pc_lp_token(pc, s, n, &pos, ", ", &off, &len))
			return PAYLOAD_ERR_NOMEM;
		/*
		 * pc_add_tag copies key and value to the arena they point
		 * into: make room first, so the arena cannot move under them
		 * while it grows (a use after free otherwise).
		 */
		if (strbuf_grow(&pc->arena, klen + len + 2))
			return PAYLOAD_ERR_NOMEM;
		rc = pc_add_tag(pc, pc_at(pc, koff), klen, pc_at(pc, off), len,
				false);
		if (rc)
			return rc;
	}
	if (pos >= n || s[pos] != ' ')
		return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
			       "line %zu: missing field set", lineno);
	while (pos < n && s[pos] == ' ')
		pos++;
	for (;;) {
		char key[128];

		if (pc_lp_token(pc, s, n, &pos, ",= ", &koff, &klen))
			return PAYLOAD_ERR_NOMEM;
		snprintf(key, sizeof(key), "%s", pc_at(pc, koff));
		if (pos >= n || s[pos] != '=')
			return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
				       "line %zu: field '%s' has no '='", lineno,
				       key);
		pos++;
		/*
		 * key[] is a copy for messages only, cut at 127 bytes: the
		 * field is named from the arena (klen bytes; a longer key
		 * read past key[] on the stack). Room is made first so the
		 * arena cannot move while pc_add_field copies from it.
		 */
		if (strbuf_grow(&pc->arena, klen + 1))
			return PAYLOAD_ERR_NOMEM;
		rc = pc_add_field(pc, pc_at(pc, koff), klen, &f);
		if (rc)
			return rc;
		if (pos < n && s[pos] == '"') {
			rc = pc_lp_string(pc, f, s, n, &pos, key);
		} else {
			size_t start = pos;

			while (pos < n && s[pos] != ',' && s[pos] != ' ')
				pos++;
			rc = pc_lp_value(pc, f, s + start, pos - start, key);
		}
		if (rc)
			return rc;
		if (pos < n && s[pos] == ',') {
			pos++;
			continue;
		}
		break;
	}
	while (pos < n && s[pos] == ' ')
		pos++;
	if (pos < n) {
		char ts[32], *end;
		size_t start = pos;
		long long v;

		while (pos < n && s[pos] != ' ')
			pos++;
		len = pos - start;
		if (len >= sizeof(ts))
			return pc_fail(pc, PAYLOAD_ERR_TIME,
				       "line %zu: timestamp too long", lineno);
		memcpy(ts, s + start, len);
		ts[len] = '\0';
		errno = 0;
		v = strtoll(ts, &end, 10);
		if (end == ts || *end)
			return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
				       "line %zu: bad timestamp '%s'", lineno, ts);
		if (errno == ERANGE ||
		    payload_time_from_int(v, pc->opts.precision, &pc->time_ns))
			return pc_fail(pc, PAYLOAD_ERR_TIME,
				       "line %zu: timestamp '%s' out of range",
				       lineno, ts);
		pc->has_time = true;
		while (pos < n && s[pos] == ' ')
			pos++;
		if (pos < n)
			return pc_fail(pc, PAYLOAD_ERR_LINE_PROTOCOL,
				       "line %zu: text after the timestamp",
				       lineno);
	}
	return pc_finish(pc, out);
}

static enum payload_err
pc_lp(struct payload_conv *pc, const char *s, size_t len, struct strbuf *out)
{
	size_t lineno = 0, done = 0;
	enum payload_err rc;

	while (done < len) {
		const char *line = s + done;
		const char *nl = memchr(line, '\n', len - done);
		size_t n = nl ? (size_t)(nl - line) : len - done;

		done += n + (nl ? 1 : 0);
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		if (n == 0 || line[0] == '#')
			continue;
		rc = pc_lp_line(pc, line, n, lineno, out);
		if (rc)
			return rc;
	}
	if (pc->nreadings == 0)
		return pc_fail(pc, PAYLOAD_ERR_EMPTY, "no lines");
	return PAYLOAD_OK;
}

/* ---- entry point -------------------------------------------------------- */

enum payload_err
payload_convert(struct payload_conv *pc, const char *topic, size_t topic_len,
		const void *data, size_t len, int64_t now_ns, struct strbuf *out,
		size_t *n)
{
	const char *s = data;
	char terr[160];
	enum payload_err rc;
	bool handled;

	strbuf_reset(out);
	*n = 0;
	pc->detail[0] = '\0';
	pc->nreadings = 0;
	pc->now_ns = now_ns;
	if (pc->opts.max_payload && len > pc->opts.max_payload) {
		rc = pc_fail(pc, PAYLOAD_ERR_TOO_LARGE, "%zu bytes, max %zu", len,
			     pc->opts.max_payload);
		goto out;
	}
	if (topictpl_match(pc->tpl, topic, topic_len, pc->ttags, &pc->nttags,
			   &pc->tmeas, &pc->tmeas_len, terr,
			   sizeof(terr)) != TOPICTPL_OK) {
		rc = pc_fail(pc, PAYLOAD_ERR_TOPIC, "%s", terr);
		goto out;
	}
	/*
	 * Topic levels become the measurement and tag values of the reading
	 * as they are: a topic that is not UTF-8 (or holds a NUL, which
	 * would cut a value short, even to an empty measurement) gave
	 * readings that no later stage could parse. MQTT forbids both, but
	 * a broker need not enforce it.
	 */
	if (!utf8_valid(topic, topic_len) || memchr(topic, '\0', topic_len)) {
		rc = pc_fail(pc, PAYLOAD_ERR_UTF8,
			     "topic is not valid UTF-8 or holds a NUL byte");
		goto out;
	}
	if (!utf8_valid(s, len)) {
		rc = pc_fail(pc, PAYLOAD_ERR_UTF8, "payload is not valid UTF-8");
		goto out;
	}
	while (len && strchr(" \t\r\n", s[0])) {
		s++;
		len--;
	}
	while (len && strchr(" \t\r\n", s[len - 1]))
		len--;
	if (len == 0) {
		rc = pc_fail(pc, PAYLOAD_ERR_EMPTY, "empty payload");
		goto out;
	}
	if (memchr(s, '\0', len)) {
		rc = pc_fail(pc, PAYLOAD_ERR_JSON, "payload holds a NUL byte");
		goto out;
	}
	if (s[0] == '{' || s[0] == '[') {
		rc = pc_json(pc, s, len, out);
		goto out;
	}
	if (strchr("-0123456789", s[0])) {
		rc = pc_number(pc, s, len, out, &handled);
		if (handled)
			goto out;
	}
	if ((len == 3 && (strncasecmp(s, "nan", 3) == 0 ||
			  strncasecmp(s, "inf", 3) == 0)) ||
	    (len == 4 && (strncasecmp(s, "-inf", 4) == 0 ||
			  strncasecmp(s, "+inf", 4) == 0)) ||
	    (len == 8 && strncasecmp(s, "infinity", 8) == 0) ||
	    (len == 9 && strncasecmp(s + 1, "infinity", 8) == 0)) {
		rc = pc_fail(pc, PAYLOAD_ERR_NUMBER, "'%.*s' is not a finite number",
			     (int)len, s);
		goto out;
	}
	if (len == 4 && memcmp(s, "null", 4) == 0) {
		rc = pc_fail(pc, PAYLOAD_ERR_NULL, "payload is null");
		goto out;
	}
	rc = pc_lp(pc, s, len, out);
out:
	if (rc) {
		strbuf_reset(out);
		if (!pc->detail[0])
			snprintf(pc->detail, sizeof(pc->detail), "%s",
				 payload_strerror(rc));
		return rc;
	}
	*n = pc->nreadings;
	return PAYLOAD_OK;
}

const char *
payload_reason(enum payload_err err)
{
	switch (err) {
	case PAYLOAD_OK:
		return "ok";
	case PAYLOAD_ERR_TOO_LARGE:
		return "too_large";
	case PAYLOAD_ERR_EMPTY:
		return "empty";
	case PAYLOAD_ERR_UTF8:
		return "bad_utf8";
	case PAYLOAD_ERR_JSON:
		return "bad_json";
	case PAYLOAD_ERR_DUPLICATE:
		return "duplicate_key";
	case PAYLOAD_ERR_NUMBER:
		return "bad_number";
	case PAYLOAD_ERR_NULL:
		return "null_value";
	case PAYLOAD_ERR_NESTED_ARRAY:
		return "nested_array";
	case PAYLOAD_ERR_NOT_OBJECT:
		return "not_object";
	case PAYLOAD_ERR_NO_FIELDS:
		return "no_fields";
	case PAYLOAD_ERR_TIME:
		return "bad_time";
	case PAYLOAD_ERR_TAG:
		return "bad_tag";
	case PAYLOAD_ERR_KEY:
		return "empty_key";
	case PAYLOAD_ERR_TOO_MANY:
		return "too_many";
	case PAYLOAD_ERR_LINE_PROTOCOL:
		return "bad_line_protocol";
	case PAYLOAD_ERR_TOPIC:
		return "topic_mismatch";
	case PAYLOAD_ERR_NOMEM:
		return "nomem";
	case PAYLOAD_ERR__COUNT:
		break;
	}
	return "unknown";
}

const char *
payload_strerror(enum payload_err err)
{
	switch (err) {
	case PAYLOAD_OK:
		return "success";
	case PAYLOAD_ERR_TOO_LARGE:
		return "payload larger than MQTT_MAX_PAYLOAD";
	case PAYLOAD_ERR_EMPTY:
		return "empty payload";
	case PAYLOAD_ERR_UTF8:
		return "payload is not valid UTF-8";
	case PAYLOAD_ERR_JSON:
		return "invalid JSON";
	case PAYLOAD_ERR_DUPLICATE:
		return "a key appears twice";
	case PAYLOAD_ERR_NUMBER:
		return "NaN, Infinity or a number out of range";
	case PAYLOAD_ERR_NULL:
		return "a null value";
	case PAYLOAD_ERR_NESTED_ARRAY:
		return "an array inside a reading";
	case PAYLOAD_ERR_NOT_OBJECT:
		return "a JSON value that is not an object";
	case PAYLOAD_ERR_NO_FIELDS:
		return "a reading without fields";
	case PAYLOAD_ERR_TIME:
		return "bad or out-of-range time";
	case PAYLOAD_ERR_TAG:
		return "bad tag value";
	case PAYLOAD_ERR_KEY:
		return "empty key or measurement";
	case PAYLOAD_ERR_TOO_MANY:
		return "too many tags, fields or readings";
	case PAYLOAD_ERR_LINE_PROTOCOL:
		return "not JSON, a number or valid line protocol";
	case PAYLOAD_ERR_TOPIC:
		return "topic does not fit MQTT_TOPIC_TEMPLATE";
	case PAYLOAD_ERR_NOMEM:
		return "out of memory";
	case PAYLOAD_ERR__COUNT:
		break;
	}
	return "unknown payload error";
}
