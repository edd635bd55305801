/*
 * test_mqttconn: the parts of the shared MQTT connection that need no
 * broker: configuration checks of mqttconn_new (every MQTTCONN_ERR_CONFIG
 * path), which CONNACK codes count as bad credentials, strerror, and a
 * client that is created and freed without connecting. The behaviour
 * against a broker is tested by tests/integration/t01*-mqtt-ingest-*.sh.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "mqttconn.h"
#include "util.h"
#include "banned.h"

static void
base_cfg(struct mqttconn_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->url = "tcp://127.0.0.1:1";
	c->client_id = "sensorpipe-test";
	c->version = 4;
	c->keepalive_ms = 5000;
	c->reconnect_min_ms = 250;
	c->reconnect_max_ms = 4000;
	c->qos = 1;
}

static void
test_new_config_errors(void)
{
	struct mqttconn_cfg c;
	struct mqttconn *m;
	char err[256];
	char *topics[65];

	base_cfg(&c);
	c.url = "";
	CU_ASSERT_EQUAL(mqttconn_new(&m, &c, NULL, err, sizeof(err)),
			MQTTCONN_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT(err[0] != '\0');

	base_cfg(&c);
	c.version = 3;
	CU_ASSERT_EQUAL(mqttconn_new(&m, &c, NULL, err, sizeof(err)),
			MQTTCONN_ERR_CONFIG);

	base_cfg(&c);
	c.url = "ssl://127.0.0.1:1";
	c.ca_file = "/nonexistent/ca.pem";
	CU_ASSERT_EQUAL(mqttconn_new(&m, &c, NULL, err, sizeof(err)),
			MQTTCONN_ERR_CONFIG);
	CU_ASSERT(strstr(err, "MQTT_CA_FILE") != NULL);

	base_cfg(&c);
	c.ca_file = "/etc/hostname";	/* readable, but tcp:// */
	CU_ASSERT_EQUAL(mqttconn_new(&m, &c, NULL, err, sizeof(err)),
			MQTTCONN_ERR_CONFIG);
	CU_ASSERT(strstr(err, "ssl://") != NULL);

	base_cfg(&c);
	c.url = "gopher://127.0.0.1:1";
	CU_ASSERT_EQUAL(mqttconn_new(&m, &c, NULL, err, sizeof(err)),
			MQTTCONN_ERR_CONFIG);

	base_cfg(&c);
	for (size_t i = 0; i < ARRAY_SIZE(topics); i++)
		topics[i] = "t";
	c.topics = topics;
	c.ntopics = ARRAY_SIZE(topics);
	CU_ASSERT_EQUAL(mqttconn_new(&m, &c, NULL, err, sizeof(err)),
			MQTTCONN_ERR_CONFIG);
}

static void
test_new_free(void)
{
	struct mqttconn_cfg c;
	struct mqttconn *m = NULL;
	struct mqttconn_stats st;
	char err[256];
	char *topics[] = { "sensors/#", "$share/g/x/#" };

	for (int v = 4; v <= 5; v++) {
		base_cfg(&c);
		c.version = v;
		c.topics = topics;
		c.ntopics = 2;
		CU_ASSERT_EQUAL_FATAL(mqttconn_new(&m, &c, NULL, err,
						   sizeof(err)), MQTTCONN_OK);
		CU_ASSERT_FALSE(mqttconn_connected(m));
		mqttconn_get_stats(m, &st);
		CU_ASSERT_EQUAL(st.received, 0);
		CU_ASSERT_EQUAL(st.reconnects, 0);
		CU_ASSERT_EQUAL(mqttconn_pending(m), 0);
		mqttconn_stop(m, 100);
		mqttconn_free(m);
	}
}

/* MAX_RETRIES against a port where nothing listens: 2 attempts, then
 * MQTTCONN_ERR_RETRIES after one backoff delay (about 100 ms). */
static void
test_retries_exhausted(void)
{
	struct mqttconn_cfg c;
	struct mqttconn *m = NULL;
	enum mqttconn_err rc = MQTTCONN_OK;
	struct mqttconn_stats st;
	char err[256];
	int64_t start = time_mono_ms();

	base_cfg(&c);
	c.url = "tcp://127.0.0.1:1";
	c.reconnect_min_ms = 100;
	c.max_retries = 2;
	c.backoff_seed = 42;
	CU_ASSERT_EQUAL_FATAL(mqttconn_new(&m, &c, NULL, err, sizeof(err)),
			      MQTTCONN_OK);
	mqttconn_start(m);
	while (rc == MQTTCONN_OK && time_mono_ms() - start < 10000)
		rc = mqttconn_poll(m, 200);
	CU_ASSERT_EQUAL(rc, MQTTCONN_ERR_RETRIES);
	CU_ASSERT(strstr(mqttconn_errmsg(m), "2 attempts") != NULL);
	mqttconn_get_stats(m, &st);
	CU_ASSERT_EQUAL(st.attempts, 2);
	CU_ASSERT(time_mono_ms() - start >= 80);
	mqttconn_stop(m, 100);
	mqttconn_free(m);
}

static void
test_auth_codes(void)
{
	CU_ASSERT_TRUE(mqttconn_is_auth_failure(4, 4));
	CU_ASSERT_TRUE(mqttconn_is_auth_failure(4, 5));
	CU_ASSERT_FALSE(mqttconn_is_auth_failure(4, 3));
	CU_ASSERT_FALSE(mqttconn_is_auth_failure(4, -1));
	CU_ASSERT_TRUE(mqttconn_is_auth_failure(5, 0x86));
	CU_ASSERT_TRUE(mqttconn_is_auth_failure(5, 0x87));
	CU_ASSERT_FALSE(mqttconn_is_auth_failure(5, 0x88));
	CU_ASSERT_FALSE(mqttconn_is_auth_failure(5, 5));
}

static void
test_strerror(void)
{
	for (int e = MQTTCONN_OK; e <= MQTTCONN_ERR_NOMEM; e++) {
		const char *s = mqttconn_strerror((enum mqttconn_err)e);

		CU_ASSERT(s[0] != '\0');
		CU_ASSERT(strcmp(s, "unknown mqttconn error") != 0);
	}
}

int
test_mqttconn_suite(void)
{
	CU_pSuite s = CU_add_suite("mqttconn", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "new: configuration errors", test_new_config_errors) ||
	    !CU_add_test(s, "new/free without a broker", test_new_free) ||
	    !CU_add_test(s, "MAX_RETRIES exhausted", test_retries_exhausted) ||
	    !CU_add_test(s, "bad-credential CONNACK codes", test_auth_codes) ||
	    !CU_add_test(s, "strerror", test_strerror))
		return -1;
	return 0;
}
