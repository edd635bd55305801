/*
 * test_memstore: the in-memory store behind paho's persistence interface:
 * put (several buffers joined) / get / containskey / remove / keys / clear,
 * overwrite, 20,000 keys through the bucket growth, a store shared by two
 * opens, a paho client that reloads what an earlier client left in it, and
 * puts from several threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <MQTTAsync.h>

#include "memstore.h"
#include "banned.h"

static size_t
count_of(struct memstore *m)
{
	size_t n, bytes;

	memstore_usage(m, &n, &bytes);
	return n;
}

static size_t
bytes_of(struct memstore *m)
{
	size_t n, bytes;

	memstore_usage(m, &n, &bytes);
	return bytes;
}

static int
put_str(MQTTClient_persistence *p, void *h, const char *key, const char *a,
	const char *b)
{
	char *bufs[2] = { (char *)a, (char *)b };
	int lens[2] = { (int)strlen(a), (int)strlen(b) };
	char k[64];

	snprintf(k, sizeof(k), "%s", key);
	return p->pput(h, k, 2, bufs, lens);
}

/* The value of key as a string ("" when absent). */
static void
get_str(MQTTClient_persistence *p, void *h, const char *key, char *out,
	size_t outsz)
{
	char k[64], *buf = NULL;
	int len = 0;

	out[0] = '\0';
	snprintf(k, sizeof(k), "%s", key);
	if (p->pget(h, k, &buf, &len) != 0)
		return;
	snprintf(out, outsz, "%.*s", len, buf);
	MQTTAsync_free(buf);
}

static void
test_basic(void)
{
	struct memstore *m = memstore_new();
	MQTTClient_persistence p;
	void *h = NULL, *h2 = NULL;
	char v[64], k[8] = "c-1", **keys = NULL;
	int n = -1;

	CU_ASSERT_FATAL(m != NULL);
	memstore_bind(m, &p);
	CU_ASSERT_EQUAL(p.popen(&h, "id", "tcp://127.0.0.1:1883", p.context), 0);
	CU_ASSERT_PTR_EQUAL(h, m);
	CU_ASSERT_EQUAL(put_str(&p, h, "c-1", "hello ", "world"), 0);
	CU_ASSERT_EQUAL(put_str(&p, h, "s-7", "", ""), 0);
	get_str(&p, h, "c-1", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "hello world");
	CU_ASSERT_EQUAL(p.pcontainskey(h, k), 0);
	CU_ASSERT_EQUAL(count_of(m), 2);
	CU_ASSERT_EQUAL(bytes_of(m), 11);
	/* overwrite */
	CU_ASSERT_EQUAL(put_str(&p, h, "c-1", "bye", ""), 0);
	get_str(&p, h, "c-1", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "bye");
	CU_ASSERT_EQUAL(bytes_of(m), 3);
	/* a second open (the replacement client) sees the same store */
	CU_ASSERT_EQUAL(p.pclose(h), 0);
	CU_ASSERT_EQUAL(p.popen(&h2, "id", "tcp://127.0.0.1:1883", p.context), 0);
	CU_ASSERT_EQUAL(p.pkeys(h2, &keys, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	for (int i = 0; i < n; i++)
		MQTTAsync_free(keys[i]);
	MQTTAsync_free(keys);
	CU_ASSERT_EQUAL(p.premove(h2, k), 0);
	CU_ASSERT_NOT_EQUAL(p.premove(h2, k), 0);
	CU_ASSERT_NOT_EQUAL(p.pcontainskey(h2, k), 0);
	get_str(&p, h2, "c-1", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "");
	CU_ASSERT_EQUAL(p.pclear(h2), 0);
	CU_ASSERT_EQUAL(count_of(m), 0);
	CU_ASSERT_EQUAL(p.pkeys(h2, &keys, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(keys);
	memstore_free(m);
	memstore_free(NULL);
}

static void
test_many(void)
{
	struct memstore *m = memstore_new();
	MQTTClient_persistence p;
	char key[32], val[32], v[64], **keys = NULL;
	int n = 0, ok = 1;

	CU_ASSERT_FATAL(m != NULL);
	memstore_bind(m, &p);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "c-%d", i);
		snprintf(val, sizeof(val), "%d", i * 3);
		ok &= put_str(&p, m, key, val, "") == 0;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(count_of(m), 20000);
	for (int i = 0; i < 20000; i += 7) {
		snprintf(key, sizeof(key), "c-%d", i);
		snprintf(val, sizeof(val), "%d", i * 3);
		get_str(&p, m, key, v, sizeof(v));
		ok &= strcmp(v, val) == 0;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(p.pkeys(m, &keys, &n), 0);
	CU_ASSERT_EQUAL(n, 20000);
	for (int i = 0; i < n; i++)
		MQTTAsync_free(keys[i]);
	MQTTAsync_free(keys);
	for (int i = 0; i < 20000; i += 2) {
		snprintf(key, sizeof(key), "c-%d", i);
		ok &= p.premove(m, key) == 0;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(count_of(m), 10000);
	memstore_free(m);
}

struct putter {
	MQTTClient_persistence *p;
	int from;
};

static void *
putter_run(void *arg)
{
	struct putter *pt = arg;
	char key[32];

	for (int i = pt->from; i < pt->from + 5000; i++) {
		snprintf(key, sizeof(key), "s-%d", i);
		(void)put_str(pt->p, pt->p->context, key, "v", "");
		if (i % 2)
			(void)pt->p->premove(pt->p->context, key);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct memstore *m = memstore_new();
	MQTTClient_persistence p;
	struct putter pt[4];
	pthread_t th[4];

	CU_ASSERT_FATAL(m != NULL);
	memstore_bind(m, &p);
	for (int i = 0; i < 4; i++) {
		pt[i].p = &p;
		pt[i].from = i * 5000;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, putter_run,
					       &pt[i]) == 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(count_of(m), 10000);
	CU_ASSERT_EQUAL(bytes_of(m), 10000);
	memstore_free(m);
}

/* A paho client keeps a publish made while disconnected in the store; a
 * second client created on the same store finds it (what mqttconn does
 * when it replaces a client). No broker: nothing connects. */
static void
test_paho_reload(void)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	struct memstore *m = memstore_new();
	MQTTClient_persistence p;
	MQTTAsync a = NULL, b = NULL;
	MQTTAsync_token *tokens = NULL;
	int n = 0;

	CU_ASSERT_FATAL(m != NULL);
	memstore_bind(m, &p);
	co.sendWhileDisconnected = 1;
	co.allowDisconnectedSendAtAnyTime = 1;
	co.maxBufferedMessages = 10;
	CU_ASSERT_FATAL(MQTTAsync_createWithOptions(&a, "tcp://127.0.0.1:1",
		"sp-unit-memstore", MQTTCLIENT_PERSISTENCE_USER, &p, &co) ==
		MQTTASYNC_SUCCESS);
	CU_ASSERT_EQUAL(MQTTAsync_send(a, "t/1", 3, "one", 1, 0, NULL),
			MQTTASYNC_SUCCESS);
	CU_ASSERT_EQUAL(MQTTAsync_send(a, "t/2", 3, "two", 1, 0, NULL),
			MQTTASYNC_SUCCESS);
	CU_ASSERT(count_of(m) >= 2);
	CU_ASSERT_FATAL(MQTTAsync_createWithOptions(&b, "tcp://127.0.0.1:1",
		"sp-unit-memstore", MQTTCLIENT_PERSISTENCE_USER, &p, &co) ==
		MQTTASYNC_SUCCESS);
	CU_ASSERT_EQUAL(MQTTAsync_getPendingTokens(b, &tokens),
			MQTTASYNC_SUCCESS);
	while (tokens && tokens[n] != -1)
		n++;
	MQTTAsync_free(tokens);
	CU_ASSERT_EQUAL(n, 2);
	MQTTAsync_destroy(&b);
	MQTTAsync_destroy(&a);
	memstore_free(m);
}

/* MQTTAsync_malloc/free track allocations in a heap that paho sets up with
 * its first client and ends with its last: keep one for the suite, as
 * mqttconn always has one while paho uses the store. */
static MQTTAsync suite_client;

static int
suite_init(void)
{
	return MQTTAsync_create(&suite_client, "tcp://127.0.0.1:1",
				"sp-unit-memstore-heap",
				MQTTCLIENT_PERSISTENCE_NONE, NULL) ==
	       MQTTASYNC_SUCCESS ? 0 : -1;
}

static int
suite_cleanup(void)
{
	MQTTAsync_destroy(&suite_client);
	return 0;
}

int
test_memstore_suite(void)
{
	CU_pSuite s = CU_add_suite("memstore", suite_init, suite_cleanup);

	if (!s)
		return -1;
	if (!CU_add_test(s, "put get remove keys clear", test_basic) ||
	    !CU_add_test(s, "20,000 keys", test_many) ||
	    !CU_add_test(s, "puts from four threads", test_threads) ||
	    !CU_add_test(s, "a second paho client reloads the store",
			 test_paho_reload))
		return -1;
	return 0;
}
