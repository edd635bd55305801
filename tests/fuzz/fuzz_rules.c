/*
 * fuzz_rules: rules_parse of arbitrary text (the rules file), then every
 * rule's series matcher against a few readings' tags. A refused file must
 * leave rules empty with a terminated message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "rules.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tag tags[] = {
		{"room", "r1"}, {"sensor_id", "s-0042"}, {"site", "a b"},
	};
	struct rules rs;
	char *text = malloc(size ? size : 1);
	enum rules_err e;

	if (!text)
		abort();
	if (size)
		memcpy(text, data, size);
	memset(&rs, 0, sizeof(rs));
	e = rules_parse(&rs, text, size, "fuzz.json");
	FUZZ_CHECK(memchr(rs.err, '\0', sizeof(rs.err)) != NULL, "err");
	if (e != RULES_OK) {
		FUZZ_CHECK(rs.n == 0, "refused file left %zu rules", rs.n);
	} else {
		for (size_t i = 0; i < rs.n; i++) {
			const struct rule *r = &rs.v[i];

			FUZZ_CHECK(r->name && r->name[0], "rule %zu no name",
				   i);
			FUZZ_CHECK(r->field || r->cond == RULES_DEADMAN,
				   "rule %zu no field", i);
			(void)rules_cond_name(r->cond);
			(void)rules_match_series(r, "env", tags, 3);
			(void)rules_match_series(r, "", tags, 0);
			(void)rules_match_series(r, r->measurement ?
						 r->measurement : "x", tags, 2);
		}
	}
	rules_release(&rs);
	free(text);
	return 0;
}
