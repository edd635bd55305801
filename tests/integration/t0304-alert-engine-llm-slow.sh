#!/bin/sh
# alert-engine with a slow model (every answer takes 5 s, LLM_TIMEOUT 2 s)
# while 100,000 readings flow: evaluation never waits for the model. Every
# `fired` event of the no-LLM run comes out, within a generous bound, and
# the model never has more than LLM_MAX_CONCURRENCY requests in flight.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

AE=$SP_BIN/alert-engine
LLM_PORT=$(free_port)
spawn python3 "$SP_ROOT/tests/integration/fake_llm.py" --port "$LLM_PORT" \
	--mode 'slow 5' >"$TMP/llm.log" 2>&1
LLM=http://127.0.0.1:$LLM_PORT
wait_for 10 curl -sf "$LLM/_count"

cat >"$TMP/rules.json" <<'R'
{"rules": [{"name": "warm", "measurement": "env", "field": "temperature",
            "above": 24, "clear_below": 23.5},
           {"name": "dry", "field": "humidity", "below": 45}]}
R
python3 "$SP_ROOT/bench/engine_gen.py" readings 100000 1000 10 \
	>"$TMP/readings.ndjson"

# baseline: no LLM
t0=$(date +%s%3N)
"$AE" --alert-rules-file "$TMP/rules.json" <"$TMP/readings.ndjson" \
	>"$TMP/base.ndjson" 2>"$TMP/base.err"
t1=$(date +%s%3N)
fired=$(grep -c '"event":"fired"' "$TMP/base.ndjson")
[ "$fired" -gt 50 ] || fail "only $fired fired events in the baseline"
note "baseline: 100000 readings, $fired fired, $((t1 - t0)) ms"

fired_at_least() {
	[ "$(grep -c '"event":"fired"' "$TMP/out.ndjson")" -ge "$1" ]
}
t0=$(date +%s%3N)
OPENAI_BASE_URL=$LLM/v1 LLM_TIMEOUT=2s LLM_MAX_CONCURRENCY=4 \
	spawn "$AE" --alert-rules-file "$TMP/rules.json" \
	<"$TMP/readings.ndjson" >"$TMP/out.ndjson" 2>"$TMP/err"
ENGINE=$LAST_PID
wait_for 30 fired_at_least "$fired"
t1=$(date +%s%3N)
ms=$((t1 - t0))
note "slow model: every fired event out after $ms ms ($((100000 * 1000 / (ms + 1))) readings/s incl. start-up)"
# generous: evaluation alone takes well under a second here; a stalled
# loop would need 5 s per answer
[ "$ms" -lt 4000 ] || fail "evaluation stalled: $ms ms for 100000 readings"

# fired events carry the fallback and are the same as without the LLM
sed -e 's/"event_id":"[^"]*",//' "$TMP/base.ndjson" >"$TMP/base.norm"
grep '"event":"\(fired\|resolved\)"' "$TMP/out.ndjson" |
	sed -e 's/"event_id":"[^"]*",//' >"$TMP/out.norm"
assert_file_eq "$TMP/base.norm" "$TMP/out.norm"

# the answers time out: five failures in a row open the breaker
wait_for 15 grep -q 'llm summaries paused after 5 failures' "$TMP/err"
stop_pid "$ENGINE" 10
assert_eq 0 "$LAST_STATUS" "exit status"
curl -sf "$LLM/_count" >"$TMP/count.json"
python3 - "$TMP/count.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert 1 <= c["requests"], c
assert c["max_inflight"] <= 4, c
print("llm requests", c["requests"], "max in flight", c["max_inflight"])
PY
note "slow llm: ok"
