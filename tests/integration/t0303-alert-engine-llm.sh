#!/bin/sh
# alert-engine LLM summaries against fake_llm.py on loopback: success (a
# `summarized` event with the fired event's id), HTTP 500, 429, malformed
# JSON and a timeout (fallback only, failure logged), the circuit breaker
# opening after 5 failures in a row (logged once, no requests while open)
# and closing after LLM_COOLDOWN. The API key is sent but never logged.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KEY=sk-test-0123456789abcdef
LLM_PORT=$(free_port)
spawn python3 "$SP_ROOT/tests/integration/fake_llm.py" --port "$LLM_PORT" \
	>"$TMP/llm.log" 2>&1
LLM=http://127.0.0.1:$LLM_PORT
wait_for 10 curl -sf "$LLM/_count"

cat >"$TMP/rules.json" <<'R'
{"rules": [{"name": "hot", "measurement": "env", "field": "temperature",
            "above": 80, "severity": "critical",
            "message": "{sensor_id}: temperature {value} above {threshold}"}]}
R
mkfifo "$TMP/in"
exec 7<>"$TMP/in"
OPENAI_API_KEY=$KEY OPENAI_BASE_URL=$LLM/v1 LLM_TIMEOUT=1s LLM_COOLDOWN=1s \
	LLM_MAX_CONCURRENCY=2 LOG_LEVEL=debug \
	spawn "$SP_BIN/alert-engine" --alert-rules-file "$TMP/rules.json" \
	<"$TMP/in" >"$TMP/out" 2>"$TMP/err" 7>&-
ENGINE=$LAST_PID

T=0
# reading SENSOR VALUE: one reading, one second of event time later
reading() {
	T=$((T + 1))
	printf '{"time":"2026-11-26T04:%02d:%02dZ","measurement":"env","tags":{"sensor_id":"%s"},"fields":{"temperature":%s}}\n' \
		$((T / 60)) $((T % 60)) "$1" "$2" >&7
}
mode() {
	curl -sf "$LLM/_mode?m=$1" >/dev/null || fail "cannot set mode $1"
}
requests() {
	curl -sf "$LLM/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'
}
count() {
	grep -c "$1" "$2" || true
}
# episode SENSOR: fire and resolve one alert; waits for both events
episode() {
	_n=$(wc -l <"$TMP/out")
	reading "$1" 85
	reading "$1" 70
	wait_lines "$TMP/out" $((_n + 2)) 10
}
# more_than N PATTERN FILE: PATTERN occurs more than N times (for wait_for,
# which must re-count on every poll)
more_than() {
	[ "$(count "$2" "$3")" -gt "$1" ]
}
# failure REASON: the next episode's summary fails with REASON
failure() {
	_f=$(count 'llm summary failed' "$TMP/err")
	episode "$2"
	wait_for 10 more_than "$_f" 'llm summary failed' "$TMP/err"
	grep 'llm summary failed' "$TMP/err" | tail -n 1 | grep -qF "$1" ||
		fail "last failure is not '$1': $(grep 'llm summary failed' "$TMP/err" | tail -n 1)"
}

# -- success: fired at once with the fallback, then summarized, same id
reading s1 85
wait_for 10 grep -q '"event":"summarized"' "$TMP/out"
python3 - "$TMP/out" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [e["event"] for e in ev] == ["fired", "summarized"], ev
f, s = ev
assert f["summary_source"] == "fallback" and f["summary"].startswith("Critical:"), f
assert s["summary_source"] == "llm", s
assert s["summary"] == "LLM summary: rule hot is firing.", s
assert s["id"] == f["id"] and s["event_id"] != f["event_id"], (f, s)
assert s["status"] == "firing" and s["value"] == f["value"], s
PY
curl -sf "$LLM/_count" | grep -q "\"auth\": \"Bearer $KEY\"" ||
	fail "the key was not sent as a bearer token"
reading s1 70
wait_lines "$TMP/out" 3 10

# -- failures: 500, 429, malformed JSON, timeout (slow 3 s > LLM_TIMEOUT 1 s)
mode 500
failure "HTTP status 500" s2
mode 429
failure "HTTP status 429" s3
mode malformed
failure "answer without choices" s4
mode 'slow%203'
failure "timed out" s5
assert_eq 1 "$(count '"event":"summarized"' "$TMP/out")" "summaries so far"

# -- the 5th failure in a row opens the breaker, logged once
mode 500
failure "HTTP status 500" s6
wait_for 5 grep -q 'llm summaries paused after 5 failures' "$TMP/err"
r0=$(requests)
episode s7
episode s8
episode s9
fired=$(count '"event":"fired"' "$TMP/out")
assert_eq 9 "$fired" "fired events go out while the breaker is open"
assert_eq "$r0" "$(requests)" "requests while the breaker is open"
assert_eq 1 "$(count 'llm summaries paused' "$TMP/err")" "breaker logged once"

# -- after the cool-down the next alert is a trial; success closes it
mode ok
n=10
trial() {
	n=$((n + 1))
	episode "s$n"
	grep -q 'llm summaries resumed' "$TMP/err"
}
wait_for 15 trial
wait_for 5 more_than 1 '"event":"summarized"' "$TMP/out"
python3 - "$TMP/out" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fired = {e["id"] for e in ev if e["event"] == "fired"}
for e in ev:
    if e["event"] == "summarized":
        assert e["id"] in fired, e
PY

# -- the key never appears in the logs
if grep -qF "$KEY" "$TMP/err"; then
	fail "the API key appears in the log"
fi

exec 7>&-
stop_pid "$ENGINE" 10
assert_eq 0 "$LAST_STATUS" "alert-engine exit status at end of input"
grep ' done' "$TMP/err" | grep -q 'llm_breaker_opens=1' ||
	fail "breaker opens not counted: $(grep ' done' "$TMP/err")"
note "llm: ok"
