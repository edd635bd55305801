/*
 * eval: per (rule, series) state machines over event time. See eval.h for
 * the exact semantics; the comments here explain the data layout.
 *
 * A series owns one array of entries (its states), ordered: deadman rules
 * without a field first (any reading of the series feeds them), then one
 * contiguous run per field (a group), in rule order. The arrays never move
 * after the series is created, so the deadman list and LLM requests may
 * point at entries.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include <uuid/uuid.h>

#include "eval.h"
#include "rfc3339.h"
#include "util.h"
#include "banned.h"

#define EVAL_NEVER INT64_MIN

struct eval_hist {
	uint8_t n;
	int64_t t[EVAL_HIST];	/* ascending */
	double v[EVAL_HIST];
};

struct eval_entry {
	const struct rule *rule;
	struct eval_hist *hist;		/* rate rules, allocated once */
	int64_t since;			/* pending or episode start */
	int64_t last_t;			/* newest reading time applied */
	int64_t flap_start;
	int64_t stable_since;		/* held: clear since, or EVAL_NEVER */
	uint32_t flap_count;
	uint8_t phase;
	uint8_t held;
	uint8_t nrecent;
	uint8_t rpos;
	uint8_t seen;
	uint8_t cond;			/* rule->cond, without the pointer chase */
};

_Static_assert(sizeof(struct eval_entry) == 64, "a state is one cache line");

struct eval_group {
	const char *field;
	uint32_t first;
	uint32_t n;
};

struct eval_series {
	char *key;
	uint64_t hash;
	char *measurement;
	struct tag *tags;
	size_t ntags;
	int64_t newest;
	struct eval_entry *entries;
	uint32_t nentries;
	uint32_t nany;			/* field-less deadman entries first */
	struct eval_group *groups;
	uint32_t ngroups;
	uint32_t nlines;		/* cache lines of entries and samples */
	float *recent;			/* EVAL_RECENT per entry, or NULL */
};

/* The last values of an entry (LLM prompts): kept beside the entries, and
 * only when opts.keep_recent, so that a state is one cache line. */
static float *
eval_recent(const struct eval_series *s, const struct eval_entry *en)
{
	return s->recent ? s->recent + (en - s->entries) * EVAL_RECENT : NULL;
}

/*
 * The rule index: each rule sits in one bucket, keyed by its measurement
 * ("*" for any) and its first exact `where` pair ("m\x1fkey\x1fvalue"), or
 * by the measurement alone ("m\x1f") when it has no exact pair. A new
 * series looks up the buckets of its measurement and of each of its tags,
 * for its measurement and for "*", and checks only the rules found there.
 */
struct eval_bucket {
	char *key;
	uint32_t *rules;
	uint32_t n, cap;
};

struct eval_dm {
	struct eval_series *s;
	struct eval_entry *en;
};

struct eval {
	const struct rules *rules;
	struct eval_opts opts;
	struct eval_series **slots;
	size_t mask;
	struct eval_series **list;
	size_t nlist, caplist;
	struct eval_dm *dm;
	size_t ndm, capdm;
	int64_t dm_next;		/* next deadman sweep (event time) */
	int64_t dm_step;		/* smallest deadman / 8 */
	int64_t clock;
	const struct rule **tmp;	/* rules->n, for series creation */
	struct eval_bucket *buckets;	/* the rule index */
	size_t bmask;
	struct strbuf key, skey, msg, summary, name;
	unsigned char rbuf[4096];	/* random bytes for event ids */
	size_t rpos;
	size_t memory;
	struct eval_stats stats;
};

static uint64_t
eval_strhash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static struct eval_bucket *
eval_bucket_find(const struct eval *e, const char *key, size_t len,
		 bool create)
{
	size_t i = eval_strhash(key, len) & e->bmask;

	for (;; i = (i + 1) & e->bmask) {
		struct eval_bucket *b = &e->buckets[i];

		if (!b->key) {
			if (!create)
				return NULL;
			b->key = strndup(key, len);
			return b->key ? b : NULL;
		}
		if (strncmp(b->key, key, len) == 0 && b->key[len] == '\0')
			return b;
	}
}

static int
eval_index_rules(struct eval *e)
{
	size_t nb = 16;

	while (nb < e->rules->n * 2 + 2)
		nb *= 2;
	e->buckets = calloc(nb, sizeof(*e->buckets));
	if (!e->buckets)
		return -1;
	e->bmask = nb - 1;
	for (size_t i = 0; i < e->rules->n; i++) {
		const struct rule *r = &e->rules->v[i];
		struct eval_bucket *b;
		size_t w;

		strbuf_reset(&e->key);
		if (strbuf_addf(&e->key, "%s\x1f", r->measurement ?
			       r->measurement : "*") != 0)
			return -1;
		for (w = 0; w < r->nwhere; w++)
			if (!r->where[w].glob)
				break;
		if (w < r->nwhere &&
		    strbuf_addf(&e->key, "%s\x1f%s", r->where[w].key,
				r->where[w].pattern) != 0)
			return -1;
		b = eval_bucket_find(e, e->key.buf, e->key.len, true);
		if (!b)
			return -1;
		if (b->n == b->cap) {
			uint32_t ncap = b->cap ? b->cap * 2 : 4;
			uint32_t *nr = realloc(b->rules, ncap * sizeof(*nr));

			if (!nr)
				return -1;
			b->rules = nr;
			b->cap = ncap;
		}
		b->rules[b->n++] = (uint32_t)i;
	}
	return 0;
}

/* The key of an index bucket into e->key: "m\x1f", or "m\x1fkey\x1fvalue"
 * with a tag. */
static int
eval_bucket_key(struct eval *e, const char *m, const struct tag *tag)
{
	strbuf_reset(&e->key);
	if (strbuf_addstr(&e->key, m) != 0 || strbuf_addch(&e->key, '\x1f') != 0)
		return -1;
	if (tag && (strbuf_addstr(&e->key, tag->key) != 0 ||
		    strbuf_addch(&e->key, '\x1f') != 0 ||
		    strbuf_addstr(&e->key, tag->value) != 0))
		return -1;
	return 0;
}

/* Candidate rules of a new series: those of the buckets of its measurement
 * and of each of its tags, for its measurement and for "*". Each bucket
 * lists its rules in rule order, so the lists are merged (a rule found
 * twice, as \x1f inside names can make two lookups meet one bucket, is
 * taken once). The candidates that match go to e->tmp in rule order;
 * returns how many. */
static size_t
eval_candidates(struct eval *e, const char *measurement,
		const struct tag *tags, size_t ntags)
{
	const char *ms[2] = {measurement, "*"};
	const struct eval_bucket *lists[2 * (RECORD_MAX_TAGS + 1)];
	uint32_t pos[2 * (RECORD_MAX_TAGS + 1)];
	size_t nl = 0, nm = 0;

	/* a measurement literally named "*" looks at its buckets once */
	for (int m = 0; m < (strcmp(measurement, "*") == 0 ? 1 : 2); m++) {
		for (size_t t = 0; t <= ntags; t++) {
			const struct eval_bucket *b;

			if (eval_bucket_key(e, ms[m], t < ntags ? &tags[t] :
					    NULL) != 0)
				return 0;
			b = eval_bucket_find(e, e->key.buf, e->key.len, false);
			if (b && b->n && nl < ARRAY_SIZE(lists)) {
				lists[nl] = b;
				pos[nl++] = 0;
			}
		}
	}
	for (;;) {
		uint32_t min = UINT32_MAX;

		for (size_t l = 0; l < nl; l++)
			if (pos[l] < lists[l]->n && lists[l]->rules[pos[l]] < min)
				min = lists[l]->rules[pos[l]];
		if (min == UINT32_MAX)
			break;
		for (size_t l = 0; l < nl; l++)
			if (pos[l] < lists[l]->n && lists[l]->rules[pos[l]] == min)
				pos[l]++;
		if (rules_match_series(&e->rules->v[min], measurement, tags,
				       ntags))
			e->tmp[nm++] = &e->rules->v[min];
	}
	return nm;
}

enum eval_err
eval_new(struct eval **ep, const struct rules *rules,
	 const struct eval_opts *opts)
{
	struct eval *e;

	*ep = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return EVAL_ERR_NOMEM;
	e->rules = rules;
	e->opts = *opts;
	e->mask = 1023;
	e->slots = calloc(e->mask + 1, sizeof(*e->slots));
	e->tmp = calloc(rules->n + 1, sizeof(*e->tmp));
	strbuf_init(&e->key, 1 << 20);
	strbuf_init(&e->skey, 1 << 20);
	if (!e->slots || !e->tmp || eval_index_rules(e) != 0) {
		eval_free(e);
		return EVAL_ERR_NOMEM;
	}
	e->dm_next = INT64_MAX;
	e->dm_step = INT64_MAX;
	e->rpos = sizeof(e->rbuf);
	for (size_t i = 0; i < rules->n; i++)
		if (rules->v[i].cond == RULES_DEADMAN &&
		    rules->v[i].deadman_ns / 8 < e->dm_step)
			e->dm_step = rules->v[i].deadman_ns / 8;
	e->clock = EVAL_NEVER;
	strbuf_init(&e->msg, 1 << 20);
	strbuf_init(&e->summary, 1 << 20);
	strbuf_init(&e->name, 1 << 20);
	*ep = e;
	return EVAL_OK;
}

static void
eval_series_free(struct eval_series *s)
{
	free(s);	/* states and samples live in the same block */
}

void
eval_free(struct eval *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nlist; i++)
		eval_series_free(e->list[i]);
	free(e->list);
	free(e->slots);
	free(e->dm);
	free(e->tmp);
	for (size_t i = 0; e->buckets && i <= e->bmask; i++) {
		free(e->buckets[i].key);
		free(e->buckets[i].rules);
	}
	free(e->buckets);
	strbuf_release(&e->key);
	strbuf_release(&e->skey);
	strbuf_release(&e->msg);
	strbuf_release(&e->summary);
	strbuf_release(&e->name);
	free(e);
}

/* ---- series table ------------------------------------------------------ */

/* Series keep only their non-empty tags. */
static bool
eval_same(const struct eval_series *s, const char *measurement,
	  const struct tag *tags, size_t ntags)
{
	size_t k = 0;

	if (strcmp(s->measurement, measurement) != 0)
		return false;
	for (size_t i = 0; i < ntags; i++) {
		if (!tags[i].value[0])
			continue;
		if (k == s->ntags || strcmp(s->tags[k].key, tags[i].key) != 0 ||
		    strcmp(s->tags[k].value, tags[i].value) != 0)
			return false;
		k++;
	}
	return k == s->ntags;
}

static struct eval_series *
eval_find(const struct eval *e, const char *measurement,
	  const struct tag *tags, size_t ntags, uint64_t h)
{
	for (size_t i = h & e->mask;; i = (i + 1) & e->mask) {
		struct eval_series *s = e->slots[i];

		if (!s)
			return NULL;
		if (s->hash == h && eval_same(s, measurement, tags, ntags))
			return s;
	}
}

static int
eval_insert(struct eval *e, struct eval_series *s)
{
	size_t i;

	if ((e->nlist + 1) * 2 > e->mask + 1) {
		size_t nmask = e->mask * 2 + 1;
		struct eval_series **ns = calloc(nmask + 1, sizeof(*ns));

		if (!ns)
			return -1;
		for (size_t k = 0; k < e->nlist; k++) {
			for (i = e->list[k]->hash & nmask; ns[i];
			     i = (i + 1) & nmask)
				;
			ns[i] = e->list[k];
		}
		e->memory += (nmask - e->mask) * sizeof(*ns);
		free(e->slots);
		e->slots = ns;
		e->mask = nmask;
	}
	if (e->nlist == e->caplist) {
		size_t ncap = e->caplist ? e->caplist * 2 : 256;
		struct eval_series **nl = realloc(e->list, ncap * sizeof(*nl));

		if (!nl)
			return -1;
		e->memory += (ncap - e->caplist) * sizeof(*nl);
		e->list = nl;
		e->caplist = ncap;
	}
	for (i = s->hash & e->mask; e->slots[i]; i = (i + 1) & e->mask)
		;
	e->slots[i] = s;
	e->list[e->nlist++] = s;
	return 0;
}

static int
eval_dm_add(struct eval *e, struct eval_series *s, struct eval_entry *en)
{
	if (e->ndm == e->capdm) {
		size_t ncap = e->capdm ? e->capdm * 2 : 256;
		struct eval_dm *nd = realloc(e->dm, ncap * sizeof(*nd));

		if (!nd)
			return -1;
		e->memory += (ncap - e->capdm) * sizeof(*nd);
		e->dm = nd;
		e->capdm = ncap;
	}
	e->dm[e->ndm].s = s;
	e->dm[e->ndm].en = en;
	e->ndm++;
	return 0;
}

static void
eval_entry_init(struct eval_entry *en, const struct rule *r)
{
	memset(en, 0, sizeof(*en));
	en->rule = r;
	en->cond = (uint8_t)r->cond;
	en->stable_since = EVAL_NEVER;
}

/* Lists the rules matching the series, grouped as described on top. One
 * allocation per series, laid out for the lookup of every reading: the
 * struct, its tags and their strings first, then groups and entries. */
static struct eval_series *
eval_series_new(struct eval *e, const char *key, size_t keylen, uint64_t h,
		const char *measurement, const struct tag *tags, size_t ntags)
{
	struct eval_series *s;
	size_t nm, k = 0, strs, off_groups, off_entries, off_recent, off_hist;
	size_t size, nrate = 0;
	uint32_t ng = 0;
	char *p;

	nm = eval_candidates(e, measurement, tags, ntags);
	strs = keylen + 1 + strlen(measurement) + 1;
	for (size_t i = 0; i < ntags; i++)
		strs += strlen(tags[i].key) + strlen(tags[i].value) + 2;
	off_groups = (sizeof(*s) + ntags * sizeof(*s->tags) + strs + 15) &
		     ~(size_t)15;
	/* states on cache-line boundaries: one line each */
	off_entries = (off_groups + nm * sizeof(*s->groups) + 63) & ~(size_t)63;
	/* rate samples right after the states they belong to */
	for (size_t i = 0; i < nm; i++)
		if (e->tmp[i]->cond == RULES_RATE_ABOVE ||
		    e->tmp[i]->cond == RULES_RATE_BELOW)
			nrate++;
	off_hist = off_entries + nm * sizeof(*s->entries);
	off_recent = off_hist + nrate * sizeof(struct eval_hist);
	size = off_recent + (e->opts.keep_recent ?
			     nm * EVAL_RECENT * sizeof(float) : 0);
	size = (size + 63) & ~(size_t)63;
	s = aligned_alloc(64, size);
	if (!s)
		return NULL;
	memset(s, 0, size);
	s->hash = h;
	s->newest = EVAL_NEVER;
	s->tags = (struct tag *)(s + 1);
	s->ntags = ntags;
	p = (char *)(s->tags + ntags);
	s->measurement = p;
	p = stpcpy(p, measurement) + 1;
	for (size_t i = 0; i < ntags; i++) {
		s->tags[i].key = p;
		p = stpcpy(p, tags[i].key) + 1;
		s->tags[i].value = p;
		p = stpcpy(p, tags[i].value) + 1;
	}
	s->key = p;
	memcpy(p, key, keylen);
	p[keylen] = '\0';
	s->groups = (struct eval_group *)((char *)s + off_groups);
	s->entries = (struct eval_entry *)((char *)s + off_entries);
	if (e->opts.keep_recent)
		s->recent = (float *)((char *)s + off_recent);
	for (size_t i = 0; i < nm; i++)
		if (!e->tmp[i]->field)
			eval_entry_init(&s->entries[k++], e->tmp[i]);
	s->nany = (uint32_t)k;
	for (size_t i = 0; i < nm; i++) {
		const char *f = e->tmp[i]->field;
		bool done = false;

		if (!f)
			continue;
		for (uint32_t g = 0; g < ng && !done; g++)
			done = strcmp(s->groups[g].field, f) == 0;
		if (done)
			continue;
		s->groups[ng].field = f;
		s->groups[ng].first = (uint32_t)k;
		for (size_t j = i; j < nm; j++)
			if (e->tmp[j]->field && strcmp(e->tmp[j]->field, f) == 0)
				eval_entry_init(&s->entries[k++], e->tmp[j]);
		s->groups[ng].n = (uint32_t)k - s->groups[ng].first;
		ng++;
	}
	s->nentries = (uint32_t)k;
	s->ngroups = ng;
	s->nlines = (uint32_t)((off_recent - off_entries + 63) / 64);
	for (uint32_t i = 0, nh = 0; i < s->nentries; i++)
		if (s->entries[i].cond == RULES_RATE_ABOVE ||
		    s->entries[i].cond == RULES_RATE_BELOW)
			s->entries[i].hist = (struct eval_hist *)((char *)s +
				off_hist) + nh++;
	if (eval_insert(e, s) != 0) {
		free(s);
		return NULL;
	}
	for (uint32_t i = 0; i < s->nentries; i++)
		if (s->entries[i].rule->cond == RULES_DEADMAN &&
		    eval_dm_add(e, s, &s->entries[i]) != 0)
			return NULL;	/* inserted: freed with the table */
	e->memory += size;
	e->stats.series++;
	e->stats.states += nm;
	return s;
}

/* h: record_series_hash of measurement and tags. */
static struct eval_series *
eval_series_get(struct eval *e, const char *measurement,
		const struct tag *tags, size_t ntags, uint64_t h)
{
	struct eval_series *s;
	struct tag kept[RECORD_MAX_TAGS];
	size_t nkept = 0;

	s = eval_find(e, measurement, tags, ntags, h);
	if (s)
		return s;
	for (size_t i = 0; i < ntags && nkept < RECORD_MAX_TAGS; i++)
		if (tags[i].value[0])
			kept[nkept++] = tags[i];
	strbuf_reset(&e->skey);
	if (record_series_key(measurement, kept, nkept, &e->skey) != 0)
		return NULL;
	return eval_series_new(e, e->skey.buf, e->skey.len, h, measurement,
			       kept, nkept);
}

/* ---- events -------------------------------------------------------------- */

/* Numbers in messages: ten significant digits ("120", not
 * "120.00000000000001"); the event's value field keeps every digit. */
static const char *
eval_fmt_num(double v, char buf[DOUBLE_STR_MAX])
{
	snprintf(buf, DOUBLE_STR_MAX, "%.10g", v);
	return buf;
}

/* "1h2m", "1m30s", "45s", "1.5s", "250ms", "0s". */
static const char *
eval_fmt_dur(int64_t ns, char *buf, size_t size)
{
	int64_t s, ms;

	if (ns < 0)
		ns = 0;
	s = ns / 1000000000;
	ms = (ns / 1000000) % 1000;
	if (s == 0 && ms > 0)
		snprintf(buf, size, "%" PRId64 "ms", ms);
	else if (s < 60 && ms > 0)
		snprintf(buf, size, "%" PRId64 ".%03" PRId64 "s", s, ms);
	else if (s < 60)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 3600 && s % 60 == 0)
		snprintf(buf, size, "%" PRId64 "m", s / 60);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else if ((s % 3600) / 60 == 0)
		snprintf(buf, size, "%" PRId64 "h", s / 3600);
	else
		snprintf(buf, size, "%" PRId64 "h%" PRId64 "m", s / 3600,
			 (s % 3600) / 60);
	if (s < 60 && ms > 0 && s > 0) {
		/* trim trailing zeros of the fraction: 1.500s -> 1.5s */
		size_t n = strlen(buf);

		while (n > 2 && buf[n - 2] == '0') {
			buf[n - 2] = 's';
			buf[n - 1] = '\0';
			n--;
		}
	}
	return buf;
}

static const char *
eval_tag(const struct eval_series *s, const char *key, size_t len)
{
	for (size_t i = 0; i < s->ntags; i++)
		if (strncmp(s->tags[i].key, key, len) == 0 &&
		    s->tags[i].key[len] == '\0')
			return s->tags[i].value;
	return NULL;
}

struct eval_fill {
	const struct eval_series *s;
	const struct rule *r;
	const char *value;
	const char *threshold;
	const char *duration;
};

static int
eval_render(struct strbuf *sb, const char *t, const struct eval_fill *f)
{
	const char *p, *end, *v;
	size_t n;
	int rc = 0;

	while (*t && rc == 0) {
		p = strchr(t, '{');
		end = p ? strchr(p, '}') : NULL;
		if (!p || !end)
			return strbuf_addstr(sb, t);
		rc = strbuf_add(sb, t, (size_t)(p - t));
		n = (size_t)(end - p - 1);
		p++;
		v = NULL;
		if (n > 5 && strncmp(p, "tags.", 5) == 0)
			v = eval_tag(f->s, p + 5, n - 5);
#define EVAL_IS(name) (n == sizeof(name) - 1 && memcmp(p, name, n) == 0)
		else if (EVAL_IS("sensor_id"))
			v = eval_tag(f->s, "sensor_id", 9) ?: f->s->key;
		else if (EVAL_IS("value"))
			v = f->value;
		else if (EVAL_IS("threshold"))
			v = f->threshold;
		else if (EVAL_IS("field"))
			v = f->r->field ? f->r->field : "";
		else if (EVAL_IS("rule"))
			v = f->r->name;
		else if (EVAL_IS("duration"))
			v = f->duration;
		else if (EVAL_IS("measurement"))
			v = f->s->measurement;
		else if (EVAL_IS("severity"))
			v = severity_name(f->r->severity);
		else if (EVAL_IS("series"))
			v = f->s->key;
#undef EVAL_IS
		if (rc == 0 && v)
			rc = strbuf_addstr(sb, v);
		t = end + 1;
	}
	return rc;
}

static const char *
eval_default_template(const struct rule *r)
{
	switch (r->cond) {
	case RULES_ABOVE:
		return "{series}: {field} {value} above {threshold}";
	case RULES_BELOW:
		return "{series}: {field} {value} below {threshold}";
	case RULES_OUTSIDE:
		return "{series}: {field} {value} outside the allowed range";
	case RULES_RATE_ABOVE:
		return "{series}: {field} changing by {value} (limit {threshold})";
	case RULES_RATE_BELOW:
		return "{series}: {field} changing by {value} (limit {threshold})";
	case RULES_DEADMAN:
		return "{series}: no reading for {duration}";
	}
	return "{series}: {rule}";
}

/* The fallback summary: one plain sentence built from the event. */
static int
eval_fallback(struct strbuf *sb, enum alert_kind kind,
	      const struct eval_fill *f, const char *lo, const char *hi,
	      const char *since)
{
	const struct rule *r = f->r;
	char per[32];
	int rc;

	if (kind == ALERT_RESOLVED) {
		if (r->cond == RULES_DEADMAN)
			return strbuf_addf(sb, "Resolved: %s is reporting "
					   "again after %s of silence (rule %s).",
					   f->s->key, f->duration, r->name);
		return strbuf_addf(sb, "Resolved: %s of %s is back to %s "
				   "after %s (rule %s).", r->field, f->s->key,
				   f->value, f->duration, r->name);
	}
	rc = strbuf_addf(sb, "%c%s: ", severity_name(r->severity)[0] - 32,
			 severity_name(r->severity) + 1);
	switch (r->cond) {
	case RULES_ABOVE:
	case RULES_BELOW:
		rc = rc ?: strbuf_addf(sb, "%s of %s is %s, %s the threshold "
				       "%s", r->field, f->s->key, f->value,
				       r->cond == RULES_ABOVE ? "above" :
				       "below", f->threshold);
		break;
	case RULES_OUTSIDE:
		rc = rc ?: strbuf_addf(sb, "%s of %s is %s, outside the "
				       "allowed range %s to %s", r->field,
				       f->s->key, f->value, lo, hi);
		break;
	case RULES_RATE_ABOVE:
	case RULES_RATE_BELOW:
		rc = rc ?: strbuf_addf(sb, "%s of %s changed by %s per %s, %s "
				       "the limit %s", r->field, f->s->key,
				       f->value,
				       eval_fmt_dur(r->per_ns, per, sizeof(per)),
				       r->cond == RULES_RATE_ABOVE ? "above" :
				       "below", f->threshold);
		break;
	case RULES_DEADMAN:
		return rc ?: strbuf_addf(sb, "no reading from %s for %s "
					 "(since %s, rule %s).", f->s->key,
					 f->duration, since, r->name);
	}
	return rc ?: strbuf_addf(sb, " since %s (%s, rule %s).", since,
				 f->duration, r->name);
}

static int
eval_id_into(struct strbuf *name, const char *rule, const char *series,
	     int64_t start_ns, char out[UUID_STR_LEN_])
{
	const uuid_t *ns = uuid_get_template("url");
	uuid_t u;

	strbuf_reset(name);
	if (!ns || strbuf_addf(name, "%s\n%s\n%" PRId64, rule, series,
			       start_ns) != 0)
		return -1;
	uuid_generate_sha1(u, *ns, name->buf, name->len);
	uuid_unparse_lower(u, out);
	return 0;
}

int
eval_episode_id(const char *rule, const char *series, int64_t start_ns,
		char out[UUID_STR_LEN_])
{
	struct strbuf name;
	int rc;

	strbuf_init(&name, 0);
	rc = eval_id_into(&name, rule, series, start_ns, out);
	strbuf_release(&name);
	return rc;
}

/*
 * event_id: a random (version 4) UUID. uuid_generate_random costs several
 * system calls per id; alert storms are exactly when ids are needed fast,
 * so the random bytes come from getrandom(2) 4 KiB at a time and get the
 * version and variant bits of RFC 4122 section 4.4.
 */
static void
eval_random_id(struct eval *e, char out[UUID_STR_LEN_])
{
	uuid_t u;

	if (e->rpos + sizeof(u) > sizeof(e->rbuf)) {
		ssize_t n = getrandom(e->rbuf, sizeof(e->rbuf), 0);

		if (n != (ssize_t)sizeof(e->rbuf)) {
			uuid_generate_random(u);
			uuid_unparse_lower(u, out);
			return;
		}
		e->rpos = 0;
	}
	memcpy(u, e->rbuf + e->rpos, sizeof(u));
	e->rpos += sizeof(u);
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	uuid_unparse_lower(u, out);
}

void
eval_event_id(struct eval *e, char out[UUID_STR_LEN_])
{
	eval_random_id(e, out);
}

static void
eval_emit(struct eval *e, const struct eval_series *s,
	  const struct eval_entry *en, enum alert_kind kind, bool has_value,
	  double value, double threshold, int64_t time_ns, int64_t dur_ns,
	  eval_emit_fn emit, void *ctx)
{
	const struct rule *r = en->rule;
	struct eval_event ev;
	struct eval_fill f = {.s = s, .r = r};
	char vbuf[DOUBLE_STR_MAX], tbuf[DOUBLE_STR_MAX], lo[DOUBLE_STR_MAX];
	char hi[DOUBLE_STR_MAX], dbuf[48], since[RFC3339_MAX];
	const float *rec;

	memset(&ev, 0, sizeof(ev));
	if (eval_id_into(&e->name, r->name, s->key, en->since,
			 ev.alert.id) != 0)
		return;
	eval_random_id(e, ev.alert.event_id);
	ev.alert.event = kind;
	ev.alert.status = kind == ALERT_RESOLVED ? ALERT_STATUS_RESOLVED :
						   ALERT_FIRING;
	ev.alert.rule = r->name;
	ev.alert.severity = r->severity;
	ev.alert.measurement = s->measurement;
	ev.alert.field = r->field ? r->field : "";
	ev.alert.tags = s->tags;
	ev.alert.ntags = s->ntags;
	ev.alert.has_value = has_value;
	ev.alert.value = value;
	ev.alert.has_threshold = true;
	ev.alert.threshold = threshold;
	ev.alert.started_at_ns = en->since;
	ev.alert.time_ns = time_ns;
	f.value = has_value ? eval_fmt_num(value, vbuf) : "null";
	f.threshold = eval_fmt_num(threshold, tbuf);
	f.duration = eval_fmt_dur(dur_ns, dbuf, sizeof(dbuf));
	rfc3339_format(en->since, since);
	eval_fmt_num(r->threshold, lo);
	eval_fmt_num(r->hi, hi);
	strbuf_reset(&e->msg);
	strbuf_reset(&e->summary);
	if (eval_render(&e->msg, r->message ? r->message :
				 eval_default_template(r), &f) != 0 ||
	    eval_fallback(&e->summary, kind, &f, lo, hi, since) != 0)
		return;
	ev.alert.message = e->msg.buf;
	ev.alert.summary = e->summary.buf;
	ev.alert.summary_source = "fallback";
	ev.rule = r;
	ev.series = s->key;
	rec = eval_recent(s, en);
	for (size_t i = 0; rec && i < en->nrecent; i++) {
		size_t k = (en->rpos + EVAL_RECENT - en->nrecent + i) %
			   EVAL_RECENT;

		ev.recent[i] = rec[k];
	}
	ev.nrecent = rec ? en->nrecent : 0;
	ev.episode = en;
	emit(ctx, &ev);
}

/* ---- state machines ----------------------------------------------------- */

static bool
eval_violates(const struct rule *r, double x)
{
	switch (r->cond) {
	case RULES_ABOVE:
	case RULES_RATE_ABOVE:
		return x > r->threshold;
	case RULES_BELOW:
	case RULES_RATE_BELOW:
		return x < r->threshold;
	case RULES_OUTSIDE:
		return x < r->threshold || x > r->hi;
	case RULES_DEADMAN:
		return false;
	}
	return false;
}

/* While firing: has the value gone past the clear value? */
static bool
eval_cleared(const struct rule *r, double x)
{
	if (r->has_clear && r->cond == RULES_ABOVE)
		return x < r->clear;
	if (r->has_clear && r->cond == RULES_BELOW)
		return x > r->clear;
	return !eval_violates(r, x);
}

static double
eval_threshold(const struct rule *r, double x)
{
	if (r->cond != RULES_OUTSIDE)
		return r->threshold;
	if (x < r->threshold)
		return r->threshold;
	if (x > r->hi)
		return r->hi;
	return x - r->threshold < r->hi - x ? r->threshold : r->hi;
}

/* Rate over irregular spacing (eval.h). Returns false without a base. */
static bool
eval_rate(struct eval_entry *en, int64_t t, double v, double *rate)
{
	struct eval_hist *h = en->hist;
	const struct rule *r = en->rule;
	bool have = false;
	size_t drop = 0;

	if (!h)
		return false;
	while (drop < h->n && h->t[drop] < t - r->per_ns)
		drop++;
	if (drop) {
		memmove(h->t, h->t + drop, (h->n - drop) * sizeof(h->t[0]));
		memmove(h->v, h->v + drop, (h->n - drop) * sizeof(h->v[0]));
		h->n = (uint8_t)(h->n - drop);
	}
	if (h->n && h->t[0] < t) {
		*rate = (v - h->v[0]) / (double)(t - h->t[0]) *
			(double)r->per_ns;
		have = isfinite(*rate);
	}
	if (h->n == 0 || t - h->t[h->n - 1] >= r->per_ns / 8) {
		if (h->n == EVAL_HIST) {
			memmove(h->t, h->t + 1, (EVAL_HIST - 1) * sizeof(h->t[0]));
			memmove(h->v, h->v + 1, (EVAL_HIST - 1) * sizeof(h->v[0]));
			h->n--;
		}
		h->t[h->n] = t;
		h->v[h->n] = v;
		h->n++;
	}
	return have;
}

static void
eval_fire(struct eval *e, const struct eval_series *s, struct eval_entry *en,
	  double x, int64_t te, eval_emit_fn emit, void *ctx)
{
	en->phase = EVAL_FIRING;
	if (en->flap_count == 0 ||
	    te - en->flap_start > e->opts.flap_window_ns) {
		en->flap_start = te;
		en->flap_count = 0;
	}
	en->flap_count++;
	e->stats.fired++;
	eval_emit(e, s, en, ALERT_FIRED, true, x, eval_threshold(en->rule, x),
		  te, te - en->since, emit, ctx);
}

static void
eval_resolve(struct eval *e, const struct eval_series *s,
	     struct eval_entry *en, double x, int64_t te, eval_emit_fn emit,
	     void *ctx)
{
	en->phase = EVAL_OK_PHASE;
	if (en->held)
		en->flap_count = 0;
	en->held = 0;
	en->stable_since = EVAL_NEVER;
	e->stats.resolved++;
	eval_emit(e, s, en, ALERT_RESOLVED, true, x,
		  eval_threshold(en->rule, x), te, te - en->since, emit, ctx);
}

static void
eval_step(struct eval *e, const struct eval_series *s, struct eval_entry *en,
	  double v, int64_t t, eval_emit_fn emit, void *ctx)
{
	const struct rule *r = en->rule;
	bool rate = en->cond == RULES_RATE_ABOVE || en->cond == RULES_RATE_BELOW;
	int64_t te = t;
	double x = v;

	if (en->seen && t < en->last_t) {
		if (rate)
			return;
		te = en->last_t;
	}
	en->last_t = te;
	en->seen = 1;
	if (s->recent) {
		s->recent[(en - s->entries) * EVAL_RECENT + en->rpos] = (float)v;
		en->rpos = (uint8_t)((en->rpos + 1) % EVAL_RECENT);
		if (en->nrecent < EVAL_RECENT)
			en->nrecent++;
	}
	e->stats.steps++;
	if (rate && !eval_rate(en, te, v, &x))
		return;
	switch ((enum eval_phase)en->phase) {
	case EVAL_OK_PHASE:
		if (!eval_violates(r, x))
			break;
		en->since = te;
		if (r->for_ns == 0)
			eval_fire(e, s, en, x, te, emit, ctx);
		else
			en->phase = EVAL_PENDING;
		break;
	case EVAL_PENDING:
		if (!eval_violates(r, x))
			en->phase = EVAL_OK_PHASE;
		else if (te - en->since >= r->for_ns)
			eval_fire(e, s, en, x, te, emit, ctx);
		break;
	case EVAL_FIRING:
		if (en->held) {
			if (!eval_cleared(r, x))
				en->stable_since = EVAL_NEVER;
			else if (en->stable_since == EVAL_NEVER)
				en->stable_since = te;
			if (en->stable_since != EVAL_NEVER &&
			    te - en->stable_since >= e->opts.flap_window_ns)
				eval_resolve(e, s, en, x, te, emit, ctx);
			break;
		}
		if (!eval_cleared(r, x))
			break;
		if (e->opts.flap_count > 0 &&
		    en->flap_count >= e->opts.flap_count) {
			en->held = 1;
			en->stable_since = te;
			e->stats.held++;
			if (e->opts.flap_window_ns <= 0)
				eval_resolve(e, s, en, x, te, emit, ctx);
			break;
		}
		eval_resolve(e, s, en, x, te, emit, ctx);
		break;
	}
}

static void
eval_dm_due(struct eval *e, const struct eval_entry *en)
{
	int64_t due = en->last_t + en->rule->deadman_ns;

	if (due < e->dm_next)
		e->dm_next = due;
}

/* A reading of the series: a firing deadman resolves. */
static void
eval_seen(struct eval *e, const struct eval_series *s, struct eval_entry *en,
	  int64_t t, eval_emit_fn emit, void *ctx)
{
	e->stats.steps++;
	if (en->phase == EVAL_FIRING) {
		en->phase = EVAL_OK_PHASE;
		e->stats.resolved++;
		eval_emit(e, s, en, ALERT_RESOLVED, false, 0,
			  en->rule->threshold, t, t - en->last_t, emit, ctx);
	}
	if (!en->seen || t > en->last_t)
		en->last_t = t;
	en->seen = 1;
	eval_dm_due(e, en);
}

static void
eval_sweep(struct eval *e, int64_t now, eval_emit_fn emit, void *ctx)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < e->ndm; i++) {
		struct eval_entry *en = e->dm[i].en;
		int64_t due;

		if (!en->seen || en->phase != EVAL_OK_PHASE)
			continue;
		if (!en->rule->field && e->dm[i].s->newest > en->last_t)
			en->last_t = e->dm[i].s->newest;
		due = en->last_t + en->rule->deadman_ns;
		if (now >= due) {
			en->phase = EVAL_FIRING;
			en->since = due;
			e->stats.fired++;
			eval_emit(e, e->dm[i].s, en, ALERT_FIRED, false, 0,
				  en->rule->threshold, now, now - en->last_t,
				  emit, ctx);
		} else if (due < next) {
			next = due;
		}
	}
	/* Sweep at most every deadman/8 of event time: firing may come up to
	 * that late, but started_at (and so the id) stays exact. */
	if (next != INT64_MAX && e->dm_step != INT64_MAX &&
	    next < now + e->dm_step)
		next = now + e->dm_step;
	e->dm_next = next;
}

static bool
eval_value(const struct field *f, double *v)
{
	switch (f->type) {
	case FIELD_FLOAT:
		*v = f->v.f;
		return true;
	case FIELD_INT:
		*v = (double)f->v.i;
		return true;
	case FIELD_BOOL:
		*v = f->v.b ? 1.0 : 0.0;
		return true;
	case FIELD_STRING:
		return false;
	}
	return false;
}

enum eval_err
eval_reading(struct eval *e, const struct reading *r, eval_emit_fn emit,
	     void *ctx)
{
	struct eval_series *s;
	int64_t t;
	bool fresh;

	e->stats.readings++;
	t = r->has_time || e->clock == EVAL_NEVER ? r->time_ns : e->clock;
	s = eval_series_get(e, r->measurement, r->tags, r->ntags,
			    r->series_hash ? r->series_hash :
			    record_series_hash(r->measurement, r->tags,
					       r->ntags));
	if (!s)
		return EVAL_ERR_NOMEM;
	/* every state and rate sample of the series at once: their misses
	 * overlap instead of coming one after the other */
	for (uint32_t i = 0; i < s->nlines; i++)
		__builtin_prefetch((const char *)s->entries + i * 64);
	fresh = s->newest == EVAL_NEVER;
	if (!fresh && t < s->newest) {
		if (s->newest - t > e->opts.lateness_ns) {
			e->stats.too_late++;
			return EVAL_TOO_LATE;
		}
		e->stats.late++;
	} else {
		s->newest = t;
	}
	if (e->clock == EVAL_NEVER || t > e->clock)
		e->clock = t;
	/* Field-less deadman states read their last-seen time from the
	 * series (s->newest) when swept; a reading only has work to do for
	 * them when the series is new or one of them is firing. */
	for (uint32_t i = 0; i < s->nany; i++)
		if (fresh || s->entries[i].phase == EVAL_FIRING ||
		    !s->entries[i].seen)
			eval_seen(e, s, &s->entries[i], t, emit, ctx);
	for (size_t fi = 0; fi < r->nfields; fi++) {
		const struct field *f = &r->fields[fi];

		for (uint32_t g = 0; g < s->ngroups; g++) {
			const struct eval_group *gr = &s->groups[g];
			double v = 0;
			bool num;

			if (strcmp(gr->field, f->key) != 0)
				continue;
			num = eval_value(f, &v);
			for (uint32_t k = gr->first; k < gr->first + gr->n; k++) {
				struct eval_entry *en = &s->entries[k];

				if (en->cond == RULES_DEADMAN)
					eval_seen(e, s, en, t, emit, ctx);
				else if (num)
					eval_step(e, s, en, v, t, emit, ctx);
				else
					e->stats.ignored_values++;
			}
			break;
		}
	}
	if (e->clock >= e->dm_next)
		eval_sweep(e, e->clock, emit, ctx);
	return EVAL_OK;
}

/* Lines of a series block that eval_prefetch loads: the struct, its tags
 * and groups, and the first states; eval_reading loads the rest. */
#define EVAL_PREFETCH_LINES 16

void
eval_prefetch_slot(const struct eval *e, const struct reading *r)
{
	if (r->series_hash)
		__builtin_prefetch(&e->slots[r->series_hash & e->mask]);
}

void
eval_prefetch(const struct eval *e, const struct reading *r)
{
	const struct eval_series *s;

	if (!r->series_hash)
		return;
	s = e->slots[r->series_hash & e->mask];
	if (!s)
		return;
	for (int i = 0; i < EVAL_PREFETCH_LINES; i++)
		__builtin_prefetch((const char *)s + i * 64);
}

enum eval_err
eval_tick(struct eval *e, int64_t idle_ns, eval_emit_fn emit, void *ctx)
{
	int64_t now;

	if (e->clock == EVAL_NEVER || idle_ns < 0)
		return EVAL_OK;
	now = e->clock + idle_ns;
	if (now >= e->dm_next)
		eval_sweep(e, now, emit, ctx);
	return EVAL_OK;
}

bool
eval_episode_firing(const struct eval *e, const void *episode,
		    int64_t started_at_ns)
{
	const struct eval_entry *en = episode;

	(void)e;
	return en->phase == EVAL_FIRING && en->since == started_at_ns;
}

int64_t
eval_clock(const struct eval *e)
{
	return e->clock;
}

void
eval_set_clock(struct eval *e, int64_t clock_ns)
{
	if (e->clock == EVAL_NEVER || clock_ns > e->clock)
		e->clock = clock_ns;
}

const struct eval_stats *
eval_stats(const struct eval *e)
{
	return &e->stats;
}

size_t
eval_memory(const struct eval *e)
{
	return e->memory + (e->mask + 1) * sizeof(*e->slots);
}

/* ---- save and restore --------------------------------------------------- */

int
eval_foreach_state(const struct eval *e, eval_visit_fn fn, void *ctx)
{
	struct eval_state_view v;
	const float *rec;
	int rc;

	for (size_t i = 0; i < e->nlist; i++) {
		const struct eval_series *s = e->list[i];

		for (uint32_t k = 0; k < s->nentries; k++) {
			const struct eval_entry *en = &s->entries[k];
			bool dm = en->rule->cond == RULES_DEADMAN;

			if (!en->seen)
				continue;
			if (en->phase == EVAL_OK_PHASE && !en->held &&
			    en->flap_count == 0 && !dm &&
			    !(en->hist && en->hist->n))
				continue;
			memset(&v, 0, sizeof(v));
			v.rule = en->rule->name;
			v.measurement = s->measurement;
			v.tags = s->tags;
			v.ntags = s->ntags;
			v.series = s->key;
			v.phase = (enum eval_phase)en->phase;
			v.held = en->held;
			v.flap_count = en->flap_count;
			v.since = en->since;
			v.last_t = en->last_t;
			if (dm && !en->rule->field && en->phase == EVAL_OK_PHASE &&
			    s->newest > v.last_t)
				v.last_t = s->newest;
			v.flap_start = en->flap_start;
			v.stable_since = en->stable_since;
			rec = eval_recent(s, en);
			v.nrecent = rec ? en->nrecent : 0;
			for (size_t j = 0; j < v.nrecent; j++)
				v.recent[j] = rec[(en->rpos + EVAL_RECENT -
						   en->nrecent + j) % EVAL_RECENT];
			if (en->hist) {
				v.nhist = en->hist->n;
				memcpy(v.hist_t, en->hist->t, sizeof(v.hist_t));
				memcpy(v.hist_v, en->hist->v, sizeof(v.hist_v));
			}
			rc = fn(ctx, &v);
			if (rc)
				return rc;
		}
	}
	return 0;
}

enum eval_err
eval_restore(struct eval *e, const struct eval_state_view *v)
{
	struct eval_series *s;
	struct eval_entry *en = NULL;
	float *rec;

	s = eval_series_get(e, v->measurement, v->tags, v->ntags,
			    record_series_hash(v->measurement, v->tags,
					       v->ntags));
	if (!s)
		return EVAL_ERR_NOMEM;
	for (uint32_t k = 0; k < s->nentries && !en; k++)
		if (strcmp(s->entries[k].rule->name, v->rule) == 0)
			en = &s->entries[k];
	if (!en)
		return EVAL_ERR_UNKNOWN;
	en->phase = (uint8_t)v->phase;
	en->held = v->held;
	en->flap_count = v->flap_count;
	en->since = v->since;
	en->last_t = v->last_t;
	en->flap_start = v->flap_start;
	en->stable_since = v->stable_since;
	en->seen = 1;
	rec = eval_recent(s, en);
	en->nrecent = (uint8_t)(!rec ? 0 : v->nrecent > EVAL_RECENT ?
				EVAL_RECENT : v->nrecent);
	for (size_t j = 0; j < en->nrecent; j++)
		rec[j] = (float)v->recent[j];
	en->rpos = (uint8_t)(en->nrecent % EVAL_RECENT);
	if (v->nhist && en->hist) {
		en->hist->n = (uint8_t)(v->nhist > EVAL_HIST ? EVAL_HIST :
							      v->nhist);
		memcpy(en->hist->t, v->hist_t, sizeof(en->hist->t));
		memcpy(en->hist->v, v->hist_v, sizeof(en->hist->v));
	}
	if (s->newest == EVAL_NEVER || v->last_t > s->newest)
		s->newest = v->last_t;
	eval_set_clock(e, v->last_t);
	if (en->rule->cond == RULES_DEADMAN && en->phase == EVAL_OK_PHASE)
		eval_dm_due(e, en);
	return EVAL_OK;
}

const char *
eval_phase_name(enum eval_phase p)
{
	switch (p) {
	case EVAL_OK_PHASE:
		return "ok";
	case EVAL_PENDING:
		return "pending";
	case EVAL_FIRING:
		return "firing";
	}
	return "?";
}

const char *
eval_strerror(enum eval_err err)
{
	switch (err) {
	case EVAL_OK:
		return "success";
	case EVAL_TOO_LATE:
		return "reading older than the lateness allows";
	case EVAL_ERR_NOMEM:
		return "out of memory";
	case EVAL_ERR_UNKNOWN:
		return "rule unknown or no longer matching the series";
	}
	return "unknown eval error";
}
