/*
 * store: alerts in memory with indexes; see store.h.
 *
 * Layout: a ring of entry pointers indexed by sequence (the entries alive
 * are exactly the sequences [lo, hi)), a chained hash by binary id, and
 * doubly linked lists, newest at the head, for each sensor_id, each rule,
 * each severity and the firing alerts. Strings that repeat across alerts
 * (rule, measurement, field, the tag set, sensor_id) are interned with a
 * reference count, so 100,000 alerts take a few tens of MiB.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "record.h"
#include "rfc3339.h"
#include "store.h"
#include "util.h"
#include "banned.h"

enum { IDX_SENSOR, IDX_RULE, IDX_SEV, IDX_FIRING, IDX__COUNT };

/*
 * The newest CACHE_WINDOW alerts keep their rendered JSON once asked for
 * (about 0.6 KiB each): the first pages of /alerts are the hot path, and
 * rendering an alert costs more than copying it. Readers fill the cache
 * under the read lock with a compare-and-swap; writers drop it under the
 * write lock when the alert changes or leaves the window.
 */
#define CACHE_WINDOW 4096

/*
 * Time index: for each block of BLOCK consecutive sequences, the lowest
 * and highest started_at in it. A since/until query over the ring skips
 * the blocks whose range misses the window. started_at never changes for
 * an alert (it names the episode), and an evicted alert only leaves a
 * range wider than needed, so the ranges stay correct without upkeep.
 */
#define BLOCK 64

struct store_entry;

struct store_link {
	struct store_entry *prev;	/* newer */
	struct store_entry *next;	/* older */
};

struct store_list {
	struct store_entry *head;	/* newest */
	struct store_entry *tail;
	size_t n;
};

/* An interned string; for sensor ids and rules also the head of a list. */
struct store_key {
	struct store_key *hnext;
	uint32_t hash;
	uint32_t refs;
	struct store_list list;
	size_t len;
	char s[];
};

struct store_table {
	struct store_key **slot;
	size_t nslot, n;
};

/* A tag set, interned by its series text. */
struct store_tags {
	struct store_tags *hnext;
	uint32_t hash;
	uint32_t refs;
	size_t ntags;
	struct tag *tags;
	char *key;		/* "k=v,k=v" */
};

struct store_ack {
	int64_t at_ns;
	char *by;
	char *comment;		/* may be NULL */
};

struct store_pending {
	struct store_pending *hnext;
	uuid_t id;
	struct store_ack ack;
};

struct store_entry {
	uint64_t seq;
	struct store_entry *hnext;
	struct store_link lk[IDX__COUNT];
	uuid_t id;
	uuid_t event_id;
	uint8_t event, status, severity, has_value, has_threshold;
	double value, threshold;
	int64_t started_ns, time_ns;
	struct store_key *rule, *sensor, *measurement, *field, *source;
	struct store_tags *tags;
	/* message NUL summary NUL, or message NUL NUL when the summary is
	 * the same text (the fallback summary usually is) */
	char *text;
	struct store_ack *ack;
	_Atomic(char *) json;	/* 4-byte length, then the rendered JSON */
};

struct store {
	pthread_rwlock_t lock;
	size_t max;
	struct store_entry **ring;	/* max slots, seq % max */
	uint64_t lo, hi;		/* alive: [lo, hi); seq starts at 1 */
	uint64_t first;			/* seq of the first alert stored */
	struct store_entry **idtab;
	size_t nid;			/* id buckets (power of two) */
	struct store_table rules, sensors, strs;
	struct store_tags **tagtab;
	size_t ntagslot, ntagsets;
	struct store_list sev[3];
	struct store_list firing;
	struct store_pending **pend;
	size_t npend;
	struct store_stats st;
	int64_t *bmin, *bmax;		/* per block, slot (seq / BLOCK) % nblk */
	size_t nblk;
	pthread_mutex_t logmu;		/* orders appends to the ack log */
	int logfd;
};

static uint32_t
hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

static size_t
id_bucket(const struct store *s, const uuid_t id)
{
	uint64_t h;

	memcpy(&h, id + 8, sizeof(h));	/* v4/v5 ids: random bits */
	h ^= h >> 29;
	return (size_t)(h * 0x9E3779B97F4A7C15ull >> 7) & (s->nid - 1);
}

/* ---- interned strings ------------------------------------------------ */

static int
table_init(struct store_table *t, size_t nslot)
{
	t->slot = calloc(nslot, sizeof(*t->slot));
	t->nslot = nslot;
	t->n = 0;
	return t->slot ? 0 : -1;
}

static void
table_release(struct store_table *t)
{
	for (size_t i = 0; i < t->nslot; i++) {
		struct store_key *k = t->slot[i], *nx;

		for (; k; k = nx) {
			nx = k->hnext;
			free(k);
		}
	}
	free(t->slot);
}

static struct store_key *
table_find(const struct store_table *t, const char *str, size_t len)
{
	uint32_t h = hash_bytes(str, len);
	struct store_key *k = t->slot[h & (t->nslot - 1)];

	for (; k; k = k->hnext)
		if (k->hash == h && k->len == len && memcmp(k->s, str, len) == 0)
			return k;
	return NULL;
}

static void
table_grow(struct store_table *t)
{
	size_t nslot = t->nslot * 2;
	struct store_key **slot = calloc(nslot, sizeof(*slot));

	if (!slot)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < t->nslot; i++) {
		struct store_key *k = t->slot[i], *nx;

		for (; k; k = nx) {
			nx = k->hnext;
			k->hnext = slot[k->hash & (nslot - 1)];
			slot[k->hash & (nslot - 1)] = k;
		}
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
}

/* A new reference to the interned str, or NULL when memory ran out. */
static struct store_key *
table_ref(struct store_table *t, const char *str)
{
	size_t len = strlen(str);
	struct store_key *k = table_find(t, str, len);

	if (k) {
		k->refs++;
		return k;
	}
	k = calloc(1, sizeof(*k) + len + 1);
	if (!k)
		return NULL;
	k->hash = hash_bytes(str, len);
	k->refs = 1;
	k->len = len;
	memcpy(k->s, str, len + 1);
	if (t->n >= t->nslot)
		table_grow(t);
	k->hnext = t->slot[k->hash & (t->nslot - 1)];
	t->slot[k->hash & (t->nslot - 1)] = k;
	t->n++;
	return k;
}

static void
table_unref(struct store_table *t, struct store_key *k)
{
	struct store_key **pp;

	if (!k || --k->refs > 0)
		return;
	for (pp = &t->slot[k->hash & (t->nslot - 1)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == k) {
			*pp = k->hnext;
			break;
		}
	}
	t->n--;
	free(k);
}

/* ---- interned tag sets ----------------------------------------------- */

static void
tags_free(struct store_tags *ts)
{
	free(ts->tags);
	free(ts->key);
	free(ts);
}

static struct store_tags *
tags_ref(struct store *s, const struct tag *tags, size_t ntags)
{
	struct strbuf key;
	struct store_tags *ts = NULL;
	uint32_t h;
	size_t b;

	strbuf_init(&key, 0);
	for (size_t i = 0; i < ntags; i++) {
		/* NUL separators: no tag text can fake another split */
		if (strbuf_addstr(&key, tags[i].key) || strbuf_addch(&key, '\0') ||
		    strbuf_addstr(&key, tags[i].value) ||
		    strbuf_addch(&key, '\0'))
			goto out;
	}
	if (strbuf_addch(&key, '\1'))
		goto out;
	h = hash_bytes(key.buf, key.len);
	b = h & (s->ntagslot - 1);
	for (ts = s->tagtab[b]; ts; ts = ts->hnext) {
		if (ts->hash == h && memcmp(ts->key, key.buf, key.len) == 0) {
			ts->refs++;
			goto out;
		}
	}
	ts = calloc(1, sizeof(*ts));
	if (!ts)
		goto out;
	ts->hash = h;
	ts->refs = 1;
	ts->ntags = ntags;
	ts->key = malloc(key.len + 1);
	ts->tags = calloc(ntags ? ntags : 1, sizeof(*ts->tags));
	if (!ts->key || !ts->tags) {
		tags_free(ts);
		ts = NULL;
		goto out;
	}
	memcpy(ts->key, key.buf, key.len + 1);
	{
		const char *p = ts->key;

		for (size_t i = 0; i < ntags; i++) {
			ts->tags[i].key = p;
			p += strlen(p) + 1;
			ts->tags[i].value = p;
			p += strlen(p) + 1;
		}
	}
	ts->hnext = s->tagtab[b];
	s->tagtab[b] = ts;
	s->ntagsets++;
out:
	strbuf_release(&key);
	return ts;
}

static void
tags_unref(struct store *s, struct store_tags *ts)
{
	struct store_tags **pp;

	if (!ts || --ts->refs > 0)
		return;
	for (pp = &s->tagtab[ts->hash & (s->ntagslot - 1)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == ts) {
			*pp = ts->hnext;
			break;
		}
	}
	s->ntagsets--;
	tags_free(ts);
}

/* ---- lists ------------------------------------------------------------ */

static void
list_push_head(struct store_list *l, struct store_entry *e, int idx)
{
	e->lk[idx].prev = NULL;
	e->lk[idx].next = l->head;
	if (l->head)
		l->head->lk[idx].prev = e;
	else
		l->tail = e;
	l->head = e;
	l->n++;
}

/* Inserts e where its sequence belongs (for the rare change of list). */
static void
list_insert_ordered(struct store_list *l, struct store_entry *e, int idx)
{
	struct store_entry *c = l->head;

	if (!c || c->seq < e->seq) {
		list_push_head(l, e, idx);
		return;
	}
	while (c->lk[idx].next && c->lk[idx].next->seq > e->seq)
		c = c->lk[idx].next;
	e->lk[idx].prev = c;
	e->lk[idx].next = c->lk[idx].next;
	if (c->lk[idx].next)
		c->lk[idx].next->lk[idx].prev = e;
	else
		l->tail = e;
	c->lk[idx].next = e;
	l->n++;
}

static void
list_remove(struct store_list *l, struct store_entry *e, int idx)
{
	if (e->lk[idx].prev)
		e->lk[idx].prev->lk[idx].next = e->lk[idx].next;
	else
		l->head = e->lk[idx].next;
	if (e->lk[idx].next)
		e->lk[idx].next->lk[idx].prev = e->lk[idx].prev;
	else
		l->tail = e->lk[idx].prev;
	e->lk[idx].prev = e->lk[idx].next = NULL;
	l->n--;
}

/* ---- acknowledgements ------------------------------------------------- */

static void
ack_free(struct store_ack *a)
{
	if (!a)
		return;
	free(a->by);
	free(a->comment);
	free(a);
}

static char *
dup_cap(const char *str, size_t cap)
{
	size_t n = strnlen(str, cap);
	char *d;

	/* never cut a UTF-8 sequence in half */
	while (n > 0 && n < strlen(str) && ((unsigned char)str[n] & 0xC0) == 0x80)
		n--;
	d = malloc(n + 1);
	if (d) {
		memcpy(d, str, n);
		d[n] = '\0';
	}
	return d;
}

static struct store_ack *
ack_new(const char *by, const char *comment, int64_t at_ns)
{
	struct store_ack *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->at_ns = at_ns;
	a->by = dup_cap(by, STORE_BY_MAX);
	if (comment)
		a->comment = dup_cap(comment, STORE_COMMENT_MAX);
	if (!a->by || (comment && !a->comment)) {
		ack_free(a);
		return NULL;
	}
	return a;
}

static struct store_pending **
pending_slot(struct store *s, const uuid_t id)
{
	uint32_t h = hash_bytes(id, sizeof(uuid_t));

	return &s->pend[h & (s->npend - 1)];
}

/* Takes the pending acknowledgement of id, if any. */
static struct store_ack *
pending_take(struct store *s, const uuid_t id)
{
	struct store_pending **pp, *p;
	struct store_ack *a;

	for (pp = pending_slot(s, id); *pp; pp = &(*pp)->hnext) {
		if (uuid_compare((*pp)->id, id) == 0)
			break;
	}
	p = *pp;
	if (!p)
		return NULL;
	*pp = p->hnext;
	a = malloc(sizeof(*a));
	if (a)
		*a = p->ack;
	else {
		free(p->ack.by);
		free(p->ack.comment);
	}
	free(p);
	s->st.pending_acks--;
	return a;
}

/* ---- entries ---------------------------------------------------------- */

static struct store_entry *
find(const struct store *s, const uuid_t id)
{
	struct store_entry *e = s->idtab[id_bucket(s, id)];

	for (; e; e = e->hnext)
		if (uuid_compare(e->id, id) == 0)
			return e;
	return NULL;
}

static const char *
sensor_of(const struct alert *a)
{
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i].key, "sensor_id") == 0)
			return a->tags[i].value;
	return NULL;
}

static void
entry_unref_strings(struct store *s, struct store_entry *e)
{
	table_unref(&s->strs, e->measurement);
	table_unref(&s->strs, e->field);
	table_unref(&s->strs, e->source);
	tags_unref(s, e->tags);
	free(e->text);
	e->measurement = e->field = e->source = NULL;
	e->tags = NULL;
	e->text = NULL;
}

/* Sets the event data of e from a (not the keys rule/sensor). -1: nomem. */
static int
entry_fill(struct store *s, struct store_entry *e, const struct alert *a)
{
	const char *summary = a->summary ? a->summary : "";
	const char *message = a->message ? a->message : "";
	size_t ml = strlen(message), sl = strlen(summary);
	bool same = strcmp(message, summary) == 0;

	uuid_parse(a->event_id, e->event_id);
	e->event = (uint8_t)a->event;
	e->status = (uint8_t)a->status;
	e->has_value = a->has_value;
	e->value = a->value;
	e->has_threshold = a->has_threshold;
	e->threshold = a->threshold;
	e->started_ns = a->started_at_ns;
	e->time_ns = a->time_ns;
	e->measurement = table_ref(&s->strs, a->measurement ? a->measurement : "");
	e->field = table_ref(&s->strs, a->field ? a->field : "");
	e->source = table_ref(&s->strs,
			      a->summary_source ? a->summary_source : "fallback");
	e->tags = tags_ref(s, a->tags, a->ntags);
	if (same)
		sl = 0;
	e->text = malloc(ml + sl + 2);
	if (!e->measurement || !e->field || !e->source || !e->tags || !e->text)
		return -1;
	memcpy(e->text, message, ml + 1);
	memcpy(e->text + ml + 1, same ? "" : summary, sl + 1);
	return 0;
}

/* Drops the rendered JSON (write lock held). */
static void
cache_drop(struct store_entry *e)
{
	free(atomic_load_explicit(&e->json, memory_order_relaxed));
	atomic_store_explicit(&e->json, NULL, memory_order_relaxed);
}

static void
entry_free(struct store *s, struct store_entry *e)
{
	cache_drop(e);
	entry_unref_strings(s, e);
	ack_free(e->ack);
	free(e);
}

/* Unlinks the oldest entry from everything and frees it. */
static void
evict_oldest(struct store *s)
{
	struct store_entry *e = s->ring[s->lo % s->max], **pp;

	s->ring[s->lo % s->max] = NULL;
	s->lo++;
	for (pp = &s->idtab[id_bucket(s, e->id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	if (e->sensor) {
		list_remove(&e->sensor->list, e, IDX_SENSOR);
		table_unref(&s->sensors, e->sensor);
	}
	list_remove(&e->rule->list, e, IDX_RULE);
	table_unref(&s->rules, e->rule);
	list_remove(&s->sev[e->severity], e, IDX_SEV);
	if (e->status == ALERT_FIRING)
		list_remove(&s->firing, e, IDX_FIRING);
	s->st.by[e->status][e->severity]--;
	s->st.evicted++;
	entry_free(s, e);
}

static enum store_err
insert(struct store *s, const struct alert *a, const uuid_t id)
{
	struct store_entry *e;
	const char *sensor = sensor_of(a);

	e = calloc(1, sizeof(*e));
	if (!e)
		return STORE_ERR_NOMEM;
	uuid_copy(e->id, id);
	e->severity = (uint8_t)a->severity;
	e->rule = table_ref(&s->rules, a->rule ? a->rule : "");
	e->sensor = sensor ? table_ref(&s->sensors, sensor) : NULL;
	if (!e->rule || (sensor && !e->sensor) || entry_fill(s, e, a)) {
		table_unref(&s->rules, e->rule);
		table_unref(&s->sensors, e->sensor);
		entry_free(s, e);
		return STORE_ERR_NOMEM;
	}
	if (s->hi - s->lo >= s->max)
		evict_oldest(s);
	e->seq = s->hi++;
	s->ring[e->seq % s->max] = e;
	{
		size_t b = (size_t)(e->seq / BLOCK % s->nblk);

		if (e->seq % BLOCK == 0 || e->seq == s->first) {
			s->bmin[b] = e->started_ns;
			s->bmax[b] = e->started_ns;
		} else if (e->started_ns < s->bmin[b]) {
			s->bmin[b] = e->started_ns;
		} else if (e->started_ns > s->bmax[b]) {
			s->bmax[b] = e->started_ns;
		}
	}
	if (e->seq >= s->lo + CACHE_WINDOW) {
		struct store_entry *old = s->ring[(e->seq - CACHE_WINDOW) % s->max];

		if (old && old->seq == e->seq - CACHE_WINDOW)
			cache_drop(old);
	}
	e->hnext = s->idtab[id_bucket(s, id)];
	s->idtab[id_bucket(s, id)] = e;
	if (e->sensor)
		list_push_head(&e->sensor->list, e, IDX_SENSOR);
	list_push_head(&e->rule->list, e, IDX_RULE);
	list_push_head(&s->sev[e->severity], e, IDX_SEV);
	if (e->status == ALERT_FIRING)
		list_push_head(&s->firing, e, IDX_FIRING);
	s->st.by[e->status][e->severity]++;
	s->st.inserted++;
	if (s->st.pending_acks)
		e->ack = pending_take(s, id);
	return STORE_OK;
}

static enum store_err
update(struct store *s, struct store_entry *e, const struct alert *a)
{
	struct store_entry old;

	cache_drop(e);
	old = *e;
	s->st.by[e->status][e->severity]--;
	if (entry_fill(s, e, a)) {
		entry_unref_strings(s, e);
		*e = old;	/* the links did not change */
		s->st.by[e->status][e->severity]++;
		return STORE_ERR_NOMEM;
	}
	entry_unref_strings(s, &old);
	if ((int)a->severity != e->severity) {
		list_remove(&s->sev[e->severity], e, IDX_SEV);
		e->severity = (uint8_t)a->severity;
		list_insert_ordered(&s->sev[e->severity], e, IDX_SEV);
	}
	if (old.status == ALERT_FIRING && e->status != ALERT_FIRING)
		list_remove(&s->firing, e, IDX_FIRING);
	else if (old.status != ALERT_FIRING && e->status == ALERT_FIRING)
		list_insert_ordered(&s->firing, e, IDX_FIRING);
	s->st.by[e->status][e->severity]++;
	s->st.updated++;
	return STORE_OK;
}

/* ---- public ------------------------------------------------------------ */

struct store *
store_new(size_t max)
{
	struct store *s = calloc(1, sizeof(*s));
	size_t nid = 16;

	if (!s)
		return NULL;
	if (max < 1)
		max = 1;
	while (nid < max && nid < ((size_t)1 << 30))
		nid <<= 1;
	s->max = max;
	s->nid = nid;
	s->lo = s->hi = s->first = 1;
	s->logfd = -1;
	pthread_mutex_init(&s->logmu, NULL);
	s->ntagslot = 4096;
	s->npend = 1024;
	s->nblk = max / BLOCK + 2;
	s->bmin = calloc(s->nblk, sizeof(*s->bmin));
	s->bmax = calloc(s->nblk, sizeof(*s->bmax));
	s->ring = calloc(max, sizeof(*s->ring));
	s->idtab = calloc(nid, sizeof(*s->idtab));
	s->tagtab = calloc(s->ntagslot, sizeof(*s->tagtab));
	s->pend = calloc(s->npend, sizeof(*s->pend));
	if (!s->ring || !s->idtab || !s->tagtab || !s->pend || !s->bmin ||
	    !s->bmax ||
	    table_init(&s->rules, 64) || table_init(&s->sensors, 1024) ||
	    table_init(&s->strs, 64) ||
	    pthread_rwlock_init(&s->lock, NULL) != 0) {
		free(s->ring);
		free(s->bmin);
		free(s->bmax);
		free(s->idtab);
		free(s->tagtab);
		free(s->pend);
		free(s->rules.slot);
		free(s->sensors.slot);
		free(s->strs.slot);
		free(s);
		return NULL;
	}
	return s;
}

void
store_free(struct store *s)
{
	if (!s)
		return;
	while (s->lo < s->hi)
		evict_oldest(s);
	for (size_t i = 0; i < s->npend; i++) {
		struct store_pending *p = s->pend[i], *nx;

		for (; p; p = nx) {
			nx = p->hnext;
			free(p->ack.by);
			free(p->ack.comment);
			free(p);
		}
	}
	table_release(&s->rules);
	table_release(&s->sensors);
	table_release(&s->strs);
	free(s->bmin);
	free(s->bmax);
	free(s->ring);
	free(s->idtab);
	free(s->tagtab);
	free(s->pend);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->logmu);
	if (s->logfd >= 0)
		close(s->logfd);
	free(s);
}

enum store_err
store_apply(struct store *s, const struct alert *a)
{
	uuid_t id;
	struct store_entry *e;
	enum store_err rc;

	if (uuid_parse(a->id, id) != 0)
		return STORE_ERR_BAD_ID;
	pthread_rwlock_wrlock(&s->lock);
	e = find(s, id);
	rc = e ? update(s, e, a) : insert(s, a, id);
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

bool
store_id_valid(const char *text)
{
	uuid_t id;

	return strlen(text) == 36 && uuid_parse(text, id) == 0;
}

enum store_err
store_ack(struct store *s, const char *id_text, const char *by,
	  const char *comment, int64_t at_ns, bool keep_unknown)
{
	uuid_t id;
	struct store_entry *e;
	struct store_ack *a;
	enum store_err rc = STORE_ERR_NOMEM;

	if (!store_id_valid(id_text) || uuid_parse(id_text, id) != 0)
		return STORE_ERR_BAD_ID;
	a = ack_new(by, comment, at_ns);
	if (!a)
		return STORE_ERR_NOMEM;
	pthread_rwlock_wrlock(&s->lock);
	e = find(s, id);
	if (e) {
		cache_drop(e);
		ack_free(e->ack);
		e->ack = a;
		a = NULL;
		rc = STORE_OK;
	} else if (keep_unknown) {
		struct store_ack *old = pending_take(s, id);
		struct store_pending *p = calloc(1, sizeof(*p));

		ack_free(old);
		if (p) {
			uuid_copy(p->id, id);
			p->ack = *a;
			free(a);
			a = NULL;
			p->hnext = *pending_slot(s, id);
			*pending_slot(s, id) = p;
			s->st.pending_acks++;
			rc = STORE_OK;
		}
	} else {
		rc = STORE_ERR_NOT_FOUND;
	}
	pthread_rwlock_unlock(&s->lock);
	ack_free(a);
	return rc;
}

static void
replay_line(struct store *s, const char *line, size_t len, size_t *replayed,
	    size_t *bad)
{
	json_error_t jerr;
	json_t *j = json_loadb(line, len, 0, &jerr);
	json_t *id = json_object_get(j, "id"), *by = json_object_get(j, "by");
	json_t *cm = json_object_get(j, "comment"), *at = json_object_get(j, "at");
	int64_t at_ns;

	if (!json_is_string(id) || !json_is_string(by) ||
	    (cm && !json_is_string(cm) && !json_is_null(cm)) ||
	    !json_is_string(at) ||
	    rfc3339_parse(json_string_value(at), json_string_length(at),
			  &at_ns) ||
	    store_ack(s, json_string_value(id), json_string_value(by),
		      json_is_string(cm) ? json_string_value(cm) : NULL, at_ns,
		      true))
		(*bad)++;
	else
		(*replayed)++;
	json_decref(j);
}

enum store_err
store_acklog_open(struct store *s, const char *path, size_t *replayed,
		  size_t *bad)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool torn = false;
	int fd;

	*replayed = *bad = 0;
	f = fopen(path, "r");
	if (!f && errno != ENOENT)
		return STORE_ERR_IO;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		torn = line[n - 1] != '\n';
		if (!torn)
			n--;
		if (n > 0)
			replay_line(s, line, (size_t)n, replayed, bad);
	}
	free(line);
	if (f)
		fclose(f);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return STORE_ERR_IO;
	if (torn && write(fd, "\n", 1) != 1) {
		close(fd);
		return STORE_ERR_IO;
	}
	s->logfd = fd;
	return STORE_OK;
}

enum store_err
store_ack_record(struct store *s, const char *id, const char *by,
		 const char *comment, int64_t at_ns)
{
	struct strbuf sb;
	char when[RFC3339_MAX];
	enum store_err rc = STORE_ERR_NOMEM;
	size_t off = 0;

	if (!store_id_valid(id))
		return STORE_ERR_BAD_ID;
	strbuf_init(&sb, 0);
	pthread_mutex_lock(&s->logmu);
	if (!store_has(s, id)) {
		rc = STORE_ERR_NOT_FOUND;
		goto out;
	}
	if (s->logfd >= 0) {
		rfc3339_format(at_ns, when);
		if (strbuf_addstr(&sb, "{\"id\":") ||
		    strbuf_add_json_str(&sb, id, strlen(id)) ||
		    strbuf_addstr(&sb, ",\"by\":") ||
		    strbuf_add_json_str(&sb, by, strnlen(by, STORE_BY_MAX)) ||
		    strbuf_addstr(&sb, ",\"comment\":") ||
		    (comment ? strbuf_add_json_str(&sb, comment,
						   strnlen(comment,
							   STORE_COMMENT_MAX))
			     : strbuf_addstr(&sb, "null")) ||
		    strbuf_addf(&sb, ",\"at\":\"%s\"}\n", when))
			goto out;
		rc = STORE_ERR_IO;
		while (off < sb.len) {
			ssize_t w = write(s->logfd, sb.buf + off, sb.len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			off += (size_t)w;
		}
		if (fsync(s->logfd) != 0)
			goto out;
	}
	rc = store_ack(s, id, by, comment, at_ns, false);
out:
	pthread_mutex_unlock(&s->logmu);
	strbuf_release(&sb);
	return rc;
}

bool
store_has(struct store *s, const char *id_text)
{
	uuid_t id;
	bool found;

	if (!store_id_valid(id_text) || uuid_parse(id_text, id) != 0)
		return false;
	pthread_rwlock_rdlock(&s->lock);
	found = find(s, id) != NULL;
	pthread_rwlock_unlock(&s->lock);
	return found;
}

/* The latest event of e as an alert record (no "acknowledged"). */
static int
render_event(const struct store_entry *e, struct strbuf *out)
{
	struct alert a;
	char id[37], event_id[37];

	memset(&a, 0, sizeof(a));
	uuid_unparse_lower(e->id, id);
	uuid_unparse_lower(e->event_id, event_id);
	memcpy(a.id, id, sizeof(a.id));
	memcpy(a.event_id, event_id, sizeof(a.event_id));
	a.event = (enum alert_kind)e->event;
	a.status = (enum alert_status)e->status;
	a.rule = e->rule->s;
	a.severity = (enum severity)e->severity;
	a.measurement = e->measurement->s;
	a.field = e->field->s;
	a.tags = e->tags->tags;
	a.ntags = e->tags->ntags;
	a.has_value = e->has_value;
	a.value = e->value;
	a.has_threshold = e->has_threshold;
	a.threshold = e->threshold;
	a.started_at_ns = e->started_ns;
	a.time_ns = e->time_ns;
	a.message = e->text;
	a.summary = e->text + strlen(e->text) + 1;
	if (!*a.summary)
		a.summary = a.message;	/* stored once (see struct store_entry) */
	a.summary_source = e->source->s;
	return record_write_alert(&a, out);
}

static int
render(const struct store_entry *e, struct strbuf *out)
{
	char when[RFC3339_MAX];

	if (render_event(e, out) != 0 || out->len == 0 ||
	    out->buf[out->len - 1] != '}')
		return -1;
	out->len--;		/* reopen the object */
	if (!e->ack)
		return strbuf_addstr(out, ",\"acknowledged\":null}");
	rfc3339_format(e->ack->at_ns, when);
	if (strbuf_addstr(out, ",\"acknowledged\":{\"by\":") ||
	    strbuf_add_json_str(out, e->ack->by, strlen(e->ack->by)) ||
	    strbuf_addstr(out, ",\"comment\":"))
		return -1;
	if (e->ack->comment) {
		if (strbuf_add_json_str(out, e->ack->comment,
					strlen(e->ack->comment)))
			return -1;
	} else if (strbuf_addstr(out, "null")) {
		return -1;
	}
	return strbuf_addf(out, ",\"at\":\"%s\"}}", when);
}

/* render() through the cache of the newest alerts (read lock held). */
static int
render_cached(const struct store *s, struct store_entry *e,
	      struct strbuf *out)
{
	char *c = atomic_load_explicit(&e->json, memory_order_acquire);
	char *expected = NULL;
	size_t start = out->len, n;
	uint32_t n32;

	if (c) {
		memcpy(&n32, c, sizeof(n32));
		return strbuf_add(out, c + sizeof(n32), n32);
	}
	if (render(e, out))
		return -1;
	if (e->seq + CACHE_WINDOW < s->hi)
		return 0;
	n = out->len - start;
	c = malloc(sizeof(n32) + n);
	if (!c)
		return 0;	/* no cache this time */
	n32 = (uint32_t)n;
	memcpy(c, &n32, sizeof(n32));
	memcpy(c + sizeof(n32), out->buf + start, n);
	if (!atomic_compare_exchange_strong_explicit(&e->json, &expected, c,
						     memory_order_acq_rel,
						     memory_order_acquire))
		free(c);	/* another reader was first */
	return 0;
}

enum store_err
store_get(struct store *s, const char *id_text, struct strbuf *out)
{
	uuid_t id;
	struct store_entry *e;
	enum store_err rc = STORE_ERR_NOT_FOUND;

	if (!store_id_valid(id_text) || uuid_parse(id_text, id) != 0)
		return STORE_ERR_BAD_ID;
	pthread_rwlock_rdlock(&s->lock);
	e = find(s, id);
	if (e)
		rc = render_cached(s, e, out) ? STORE_ERR_FULL : STORE_OK;
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

static bool
matches(const struct store_entry *e, const struct store_query *q)
{
	if (q->status >= 0 && e->status != q->status)
		return false;
	if (q->severity >= 0 && e->severity != q->severity)
		return false;
	if (q->sensor_id && (!e->sensor || strcmp(e->sensor->s, q->sensor_id)))
		return false;
	if (q->rule && strcmp(e->rule->s, q->rule))
		return false;
	if (q->has_since && e->started_ns < q->since_ns)
		return false;
	if (q->has_until && e->started_ns >= q->until_ns)
		return false;
	return true;
}

/* The entry with the sequence, or NULL when it is gone. */
static struct store_entry *
at_seq(const struct store *s, uint64_t seq)
{
	if (seq < s->lo || seq >= s->hi)
		return NULL;
	return s->ring[seq % s->max];
}

static bool
in_list(const struct store_entry *e, int idx, const struct store_query *q)
{
	switch (idx) {
	case IDX_SENSOR:
		return e->sensor && strcmp(e->sensor->s, q->sensor_id) == 0;
	case IDX_RULE:
		return strcmp(e->rule->s, q->rule) == 0;
	case IDX_SEV:
		return e->severity == q->severity;
	case IDX_FIRING:
		return e->status == ALERT_FIRING;
	}
	return false;
}

/*
 * Walks the shortest index list that applies, or the ring, newest first,
 * below the cursor; calls back for up to limit + 1 matches.
 */
/*
 * Adds e to the page when it matches q: 0 when added or skipped, 1 when the
 * page is already full (there is more), -1 when out is full.
 */
static int
page_add(const struct store *s, struct store_entry *e,
	 const struct store_query *q, struct strbuf *out, size_t *n,
	 uint64_t *last)
{
	if (!matches(e, q))
		return 0;
	if (*n == q->limit)
		return 1;
	if ((*n && strbuf_addch(out, ',')) || render_cached(s, e, out))
		return -1;
	*last = e->seq;
	(*n)++;
	return 0;
}

enum store_err
store_list(struct store *s, const struct store_query *q, struct strbuf *out)
{
	struct store_list *best = NULL;
	int idx = -1;
	struct store_entry *e = NULL;
	uint64_t seq, last = 0;
	size_t n = 0;
	bool more = false, empty = false;
	enum store_err rc = STORE_ERR_FULL;
	char cur[STORE_CURSOR_MAX];
	int r;

	pthread_rwlock_rdlock(&s->lock);
	if (q->sensor_id) {
		struct store_key *k = table_find(&s->sensors, q->sensor_id,
						 strlen(q->sensor_id));

		if (!k)
			empty = true;
		else {
			best = &k->list;
			idx = IDX_SENSOR;
		}
	}
	if (!empty && q->rule) {
		struct store_key *k = table_find(&s->rules, q->rule,
						 strlen(q->rule));

		if (!k)
			empty = true;
		else if (!best || k->list.n < best->n) {
			best = &k->list;
			idx = IDX_RULE;
		}
	}
	if (!empty && q->severity >= 0 && q->severity < 3 &&
	    (!best || s->sev[q->severity].n < best->n)) {
		best = &s->sev[q->severity];
		idx = IDX_SEV;
	}
	if (!empty && q->status == ALERT_FIRING &&
	    (!best || s->firing.n < best->n)) {
		best = &s->firing;
		idx = IDX_FIRING;
	}
	/* one allocation for a typical page (alerts are ~0.5 KiB) */
	(void)strbuf_grow(out, q->limit * 640 < 65536 ? q->limit * 640 : 65536);
	if (strbuf_addstr(out, "{\"items\":["))
		goto out;
	if (empty)
		goto done;
	if (best) {
		e = q->cursor ? at_seq(s, q->cursor) : NULL;
		if (e && in_list(e, idx, q)) {
			e = e->lk[idx].next;
		} else {
			e = best->head;
			while (q->cursor && e && e->seq >= q->cursor)
				e = e->lk[idx].next;
		}
		for (; e; e = e->lk[idx].next) {
			r = page_add(s, e, q, out, &n, &last);
			if (r < 0)
				goto out;
			if (r > 0) {
				more = true;
				break;
			}
		}
	} else {
		bool timed = q->has_since || q->has_until;

		seq = s->hi;
		if (q->cursor && q->cursor < seq)
			seq = q->cursor;
		while (seq > s->lo) {
			uint64_t at = seq - 1;
			size_t b = (size_t)(at / BLOCK % s->nblk);

			if (timed && ((q->has_since && s->bmax[b] < q->since_ns) ||
				      (q->has_until && s->bmin[b] >= q->until_ns))) {
				seq = at / BLOCK * BLOCK;	/* skip the block */
				continue;
			}
			seq--;
			r = page_add(s, s->ring[at % s->max], q, out, &n, &last);
			if (r < 0)
				goto out;
			if (r > 0) {
				more = true;
				break;
			}
		}
	}
done:
	if (more) {
		store_cursor_encode(last, cur);
		if (strbuf_addf(out, "],\"next_cursor\":\"%s\"}", cur))
			goto out;
	} else if (strbuf_addstr(out, "],\"next_cursor\":null}")) {
		goto out;
	}
	rc = STORE_OK;
out:
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

enum store_err
store_set_first_seq(struct store *s, uint64_t seq)
{
	enum store_err rc = STORE_ERR_BAD_CURSOR;

	pthread_rwlock_wrlock(&s->lock);
	if (s->lo == s->hi && s->st.inserted == 0 && seq >= 1 &&
	    seq < UINT64_MAX / 2) {
		s->lo = s->hi = s->first = seq;
		rc = STORE_OK;
	}
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

enum store_err
store_dump(struct store *s, store_dump_fn *emit, void *arg,
	   uint64_t *first_seq, size_t *n)
{
	struct strbuf sb;
	uint64_t seq, end;
	enum store_err rc = STORE_OK;

	strbuf_init(&sb, 0);
	*n = 0;
	pthread_rwlock_rdlock(&s->lock);
	seq = *first_seq = s->lo;
	end = s->hi;
	pthread_rwlock_unlock(&s->lock);
	while (seq < end && rc == STORE_OK) {
		strbuf_reset(&sb);
		pthread_rwlock_rdlock(&s->lock);
		for (size_t i = 0; i < STORE_DUMP_CHUNK && seq < end; i++, seq++) {
			if (render_event(s->ring[seq % s->max], &sb) ||
			    strbuf_addch(&sb, '\n')) {
				rc = STORE_ERR_NOMEM;
				break;
			}
			(*n)++;
		}
		pthread_rwlock_unlock(&s->lock);
		if (rc == STORE_OK && emit(arg, sb.buf, sb.len) != 0)
			rc = STORE_ERR_IO;
	}
	strbuf_release(&sb);
	return rc;
}

void
store_get_stats(struct store *s, struct store_stats *st)
{
	pthread_rwlock_rdlock(&s->lock);
	*st = s->st;
	st->alerts = s->hi - s->lo;
	pthread_rwlock_unlock(&s->lock);
}

/*
 * A cursor is "c" and 16 hex digits of the sequence mixed with a constant,
 * then 4 hex digits of a check, so a typo or a made-up value is refused
 * instead of paging from a random place.
 */
#define CURSOR_MIX 0x5DEECE66DA3B2C1Full

static unsigned
cursor_check(uint64_t x)
{
	return (unsigned)((x * 0x9E3779B97F4A7C15ull) >> 48);
}

void
store_cursor_encode(uint64_t seq, char *buf)
{
	uint64_t x = seq ^ CURSOR_MIX;

	snprintf(buf, STORE_CURSOR_MAX, "c%016llx%04x", (unsigned long long)x,
		 cursor_check(x));
}

enum store_err
store_cursor_decode(const char *text, uint64_t *seq)
{
	uint64_t x = 0;
	unsigned chk = 0;

	if (strlen(text) != 21 || text[0] != 'c')
		return STORE_ERR_BAD_CURSOR;
	for (int i = 1; i < 21; i++) {
		char c = text[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return STORE_ERR_BAD_CURSOR;
		if (i <= 16)
			x = x << 4 | d;
		else
			chk = chk << 4 | d;
	}
	if (chk != cursor_check(x) || (x ^ CURSOR_MIX) == 0)
		return STORE_ERR_BAD_CURSOR;
	*seq = x ^ CURSOR_MIX;
	return STORE_OK;
}

const char *
store_strerror(enum store_err err)
{
	switch (err) {
	case STORE_OK:
		return "success";
	case STORE_ERR_NOT_FOUND:
		return "no such alert";
	case STORE_ERR_NOMEM:
		return "out of memory";
	case STORE_ERR_FULL:
		return "answer too large";
	case STORE_ERR_BAD_ID:
		return "not a UUID";
	case STORE_ERR_BAD_CURSOR:
		return "not a cursor of this server";
	case STORE_ERR_IO:
		return "cannot write the acknowledgements log";
	}
	return "unknown store error";
}
