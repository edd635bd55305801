#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <MQTTAsync.h>

#include "memstore.h"
#include "banned.h"

struct memstore_entry {
	struct memstore_entry *next;
	char *key;
	char *val;
	size_t len;
};

struct memstore {
	pthread_mutex_t mu;
	struct memstore_entry **b;	/* buckets, a power of two */
	size_t nb, count, bytes;
};

/* FNV-1a: keys are short ("c-17", "s-4096"). */
static size_t
memstore_hash(const char *k)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *k; k++) {
		h ^= (unsigned char)*k;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

struct memstore *
memstore_new(void)
{
	struct memstore *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->nb = 64;
	m->b = calloc(m->nb, sizeof(*m->b));
	if (!m->b) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void
memstore_free_entry(struct memstore_entry *e)
{
	free(e->key);
	free(e->val);
	free(e);
}

static void
memstore_empty(struct memstore *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		while (m->b[i]) {
			struct memstore_entry *e = m->b[i];

			m->b[i] = e->next;
			memstore_free_entry(e);
		}
	}
	m->count = 0;
	m->bytes = 0;
}

void
memstore_free(struct memstore *m)
{
	if (!m)
		return;
	memstore_empty(m);
	free(m->b);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* The link that points at key's entry (or the bucket's end). Locked. */
static struct memstore_entry **
memstore_find(struct memstore *m, const char *key)
{
	struct memstore_entry **pe = &m->b[memstore_hash(key) & (m->nb - 1)];

	while (*pe && strcmp((*pe)->key, key) != 0)
		pe = &(*pe)->next;
	return pe;
}

/* Doubles the buckets when entries outnumber them two to one; a failed
 * allocation keeps the old (longer) chains. Locked. */
static void
memstore_grow(struct memstore *m)
{
	struct memstore_entry **nbk;
	size_t nn;

	if (m->count < 2 * m->nb || m->nb > SIZE_MAX / 4)
		return;
	nn = m->nb * 2;
	nbk = calloc(nn, sizeof(*nbk));
	if (!nbk)
		return;
	for (size_t i = 0; i < m->nb; i++) {
		while (m->b[i]) {
			struct memstore_entry *e = m->b[i];
			size_t j = memstore_hash(e->key) & (nn - 1);

			m->b[i] = e->next;
			e->next = nbk[j];
			nbk[j] = e;
		}
	}
	free(m->b);
	m->b = nbk;
	m->nb = nn;
}

static int
memstore_open(void **handle, const char *client_id, const char *server_uri,
	      void *context)
{
	(void)client_id;
	(void)server_uri;
	*handle = context;
	return 0;
}

static int
memstore_close(void *handle)
{
	/* The store outlives the client: the next one reloads it. */
	(void)handle;
	return 0;
}

static int
memstore_put(void *handle, char *key, int bufcount, char *buffers[],
	     int buflens[])
{
	struct memstore *m = handle;
	struct memstore_entry **pe, *e;
	size_t len = 0, off = 0;
	char *val;

	for (int i = 0; i < bufcount; i++) {
		if (buflens[i] < 0 || (size_t)buflens[i] > SIZE_MAX - len)
			return MQTTCLIENT_PERSISTENCE_ERROR;
		len += (size_t)buflens[i];
	}
	val = malloc(len ? len : 1);
	if (!val)
		return MQTTCLIENT_PERSISTENCE_ERROR;
	for (int i = 0; i < bufcount; i++) {
		if (buflens[i] > 0)
			memcpy(val + off, buffers[i], (size_t)buflens[i]);
		off += (size_t)buflens[i];
	}
	pthread_mutex_lock(&m->mu);
	pe = memstore_find(m, key);
	if (*pe) {
		e = *pe;
		m->bytes -= e->len;
		free(e->val);
	} else {
		e = calloc(1, sizeof(*e));
		if (e)
			e->key = strdup(key);
		if (!e || !e->key) {
			pthread_mutex_unlock(&m->mu);
			free(e);
			free(val);
			return MQTTCLIENT_PERSISTENCE_ERROR;
		}
		*pe = e;
		m->count++;
	}
	e->val = val;
	e->len = len;
	m->bytes += len;
	memstore_grow(m);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static int
memstore_get(void *handle, char *key, char **buffer, int *buflen)
{
	struct memstore *m = handle;
	struct memstore_entry *e;
	int rc = MQTTCLIENT_PERSISTENCE_ERROR;

	pthread_mutex_lock(&m->mu);
	e = *memstore_find(m, key);
	if (e && e->len <= INT32_MAX) {
		*buffer = MQTTAsync_malloc(e->len ? e->len : 1);
		if (*buffer) {
			memcpy(*buffer, e->val, e->len);
			*buflen = (int)e->len;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
memstore_remove(void *handle, char *key)
{
	struct memstore *m = handle;
	struct memstore_entry **pe, *e;
	int rc = MQTTCLIENT_PERSISTENCE_ERROR;

	pthread_mutex_lock(&m->mu);
	pe = memstore_find(m, key);
	if (*pe) {
		e = *pe;
		*pe = e->next;
		m->count--;
		m->bytes -= e->len;
		memstore_free_entry(e);
		rc = 0;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
memstore_keys(void *handle, char ***keys, int *nkeys)
{
	struct memstore *m = handle;
	char **k = NULL;
	size_t n = 0;
	int rc = MQTTCLIENT_PERSISTENCE_ERROR;

	pthread_mutex_lock(&m->mu);
	*keys = NULL;
	*nkeys = 0;
	if (m->count == 0) {
		rc = 0;
		goto out;
	}
	if (m->count > INT32_MAX)
		goto out;
	k = MQTTAsync_malloc(m->count * sizeof(*k));
	if (!k)
		goto out;
	for (size_t i = 0; i < m->nb; i++) {
		for (struct memstore_entry *e = m->b[i]; e; e = e->next) {
			size_t kl = strlen(e->key) + 1;

			k[n] = MQTTAsync_malloc(kl);
			if (!k[n])
				goto fail;
			memcpy(k[n], e->key, kl);
			n++;
		}
	}
	*keys = k;
	*nkeys = (int)n;
	rc = 0;
	goto out;
fail:
	while (n > 0)
		MQTTAsync_free(k[--n]);
	MQTTAsync_free(k);
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
memstore_clear(void *handle)
{
	struct memstore *m = handle;

	pthread_mutex_lock(&m->mu);
	memstore_empty(m);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static int
memstore_containskey(void *handle, char *key)
{
	struct memstore *m = handle;
	int rc;

	pthread_mutex_lock(&m->mu);
	rc = *memstore_find(m, key) ? 0 : MQTTCLIENT_PERSISTENCE_ERROR;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void
memstore_bind(struct memstore *m, MQTTClient_persistence *p)
{
	memset(p, 0, sizeof(*p));
	p->context = m;
	p->popen = memstore_open;
	p->pclose = memstore_close;
	p->pput = memstore_put;
	p->pget = memstore_get;
	p->premove = memstore_remove;
	p->pkeys = memstore_keys;
	p->pclear = memstore_clear;
	p->pcontainskey = memstore_containskey;
}

void
memstore_usage(struct memstore *m, size_t *count, size_t *bytes)
{
	pthread_mutex_lock(&m->mu);
	*count = m->count;
	*bytes = m->bytes;
	pthread_mutex_unlock(&m->mu);
}
