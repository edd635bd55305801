/*
 * test_alert_api: which requests http.c answers off its event threads:
 * those that wait on InfluxDB (api_is_slow) and acknowledgements, which
 * fsync the acknowledgements log (api_is_ack); the in-memory routes stay
 * on them.
 */
#include <stdbool.h>

#include <CUnit/CUnit.h>

#include "../../alert-api/api.h"
#include "banned.h"

static void
test_is_slow(void)
{
	static const struct {
		const char *path;
		bool slow, ack;
	} cases[] = {
		{ "/ready", true, false },
		{ "/sensors", true, false },
		{ "/sensors/s-1", true, false },
		{ "/sensors/s-1/readings", true, false },
		{ "/alerts/6f1c1a52-1d0e-5c39-9b43-6a0f5e0d2a11/ack", false, true },
		{ "/alerts/x/ack", false, true },
		{ "/health", false, false },
		{ "/metrics", false, false },
		{ "/alerts", false, false },
		{ "/alerts/stream", false, false },
		{ "/alerts/6f1c1a52-1d0e-5c39-9b43-6a0f5e0d2a11", false, false },
		{ "/alerts/ack", false, false },
		{ "/", false, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(api_is_slow(cases[i].path), cases[i].slow);
		CU_ASSERT_EQUAL(api_is_ack(cases[i].path), cases[i].ack);
	}
}

int
test_alert_api_suite(void)
{
	CU_pSuite s = CU_add_suite("alert_api", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "requests answered off the event threads",
			 test_is_slow))
		return -1;
	return 0;
}
