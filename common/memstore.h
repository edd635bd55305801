/*
 * memstore: an in-memory key/value store behind paho's persistence
 * interface (MQTTClient_persistence), for a publisher without
 * MQTT_PERSISTENCE_DIR.
 *
 * Why: mqttconn replaces its paho client after a lost connection (see
 * mqttconn_poll in mqttconn.h) and the new client reloads the queue from
 * the persistence store. With paho's PERSISTENCE_NONE there is nothing to
 * reload and the queue would be lost; with a memstore that outlives the
 * clients it is reloaded like a directory, only not across a process exit.
 *
 * Owns: the entries (key and value copies) and a mutex: paho calls it from
 * its send and receive threads and from MQTTAsync_send. Values handed to
 * paho (get, keys) are allocated with MQTTAsync_malloc, since paho frees
 * them with its own allocator. Never logs.
 *
 *	struct memstore *m = memstore_new();
 *	MQTTClient_persistence p;
 *	memstore_bind(m, &p);
 *	MQTTAsync_createWithOptions(&c, url, id, MQTTCLIENT_PERSISTENCE_USER,
 *				    &p, &opts);
 *	...
 *	MQTTAsync_destroy(&c);
 *	memstore_free(m);
 */
#ifndef SENSORPIPE_MEMSTORE_H
#define SENSORPIPE_MEMSTORE_H

#include <stddef.h>

#include <MQTTClientPersistence.h>

struct memstore;

/* NULL when out of memory. */
struct memstore *memstore_new(void);
void memstore_free(struct memstore *m);

/* Fills p with the store's functions; p->context is m. Every client opened
 * with p shares the store (open returns m, close keeps it). */
void memstore_bind(struct memstore *m, MQTTClient_persistence *p);

/* Entries and bytes of values held (for tests and stats). */
void memstore_usage(struct memstore *m, size_t *count, size_t *bytes);

#endif
