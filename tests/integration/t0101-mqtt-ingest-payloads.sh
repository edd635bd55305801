#!/bin/sh
# mqtt-ingest against a real mosquitto: every payload format (JSON object,
# array, bare number, line protocol), flattening, tag keys, time keys and
# precisions, the topic template, and every bad-payload class. Good
# messages give exact NDJSON, bad ones exact dead-letter entries; the stage
# keeps running (a last good message still arrives), counts rejects by
# reason in its stats line, and exits 0 on SIGTERM.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0101 MQTT_TOPICS='sensors/#,other/#' \
	MQTT_TOPIC_TEMPLATE='sensors/{site}/{sensor_id}/{measurement}' \
	MQTT_TAG_KEYS=sensor_id,site,room MQTT_MAX_PAYLOAD=1KiB \
	DEAD_LETTER_FILE="$TMP/dead.ndjson" STATS_INTERVAL=500ms
# a dead-letter file that cannot be opened stops the start (docs: 73)
st=0
"$SP_BIN/mqtt-ingest" --dead-letter "$TMP/no/such/dir/dead.ndjson" \
	</dev/null >"$TMP/dl.out" 2>"$TMP/dl.err" || st=$?
assert_eq 73 "$st" "exit status with an unopenable dead-letter file"
grep -q "cannot open dead-letter file '$TMP/no/such/dir/dead.ndjson'" \
	"$TMP/dl.err" || fail "no message naming the dead-letter file"
# an output journal that cannot be created (under a regular file): 74,
# with the path and the cause
: >"$TMP/file"
st=0
timeout 10 "$SP_BIN/mqtt-ingest" --out "$TMP/file/j" </dev/null \
	>"$TMP/jo.out" 2>"$TMP/jo.err" || st=$?
assert_eq 74 "$st" "exit status with an output journal that cannot be created"
grep -q "cannot open the output: .*'$TMP/file/j'.*Not a directory" \
	"$TMP/jo.err" || fail "output error without path and cause: $(cat "$TMP/jo.err")"
spawn "$SP_BIN/mqtt-ingest" >"$TMP/out.ndjson" 2>"$TMP/err.log"
ing=$LAST_PID
wait_for 10 grep -q 'subscribed' "$TMP/err.log"

pub() {
	_t=$1
	shift
	mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t "$_t" "$@"
}
# pub TOPIC -m PAYLOAD / -f FILE / -n; one publisher at a time keeps order
T=sensors/a/s-1/env
pub $T -m '{"ts":1795665600,"temperature":21.5,"humidity":40,"ok":true,"state":"open","room":"r1","env":{"co2":400,"deep":{"x":1}}}'
pub $T -m '{"ts":1795665600123,"v":1}'
pub $T -m '{"time":1795665600123456,"v":2}'
pub $T -m '{"timestamp":1795665600123456789,"v":3}'
pub $T -m '{"time":"2026-11-26T05:00:00.25+01:00","v":4}'
pub $T -m '{"ts":1795665600.5,"v":5}'
pub $T -m '[{"ts":1795665601,"v":6},{"ts":1795665602,"v":7}]'
pub $T -m '{"ts":1795665600,"site":"zzz","v":8}'
pub $T -m "$(printf 'cpu,host=h\\ 1 load=1.5,n=3i,up=T,msg="a \\"q\\"" 1795665600000000000\nmem free=2 1795665600')"
pub $T -m '42.5'
# bad payloads, one per class
pub $T -m '{"a":'
printf '{"v":"\377\376"}' >"$TMP/bin"
pub $T -f "$TMP/bin"
pub $T -m '{"ts":1795665600}'
pub $T -m '{"v":NaN}'
pub $T -m 'Infinity'
awk 'BEGIN { printf "{\"v\":\""; for (i = 0; i < 1100; i++) printf "x"; printf "\"}" }' >"$TMP/big"
pub $T -f "$TMP/big"
pub $T -m '{"v":[1,2]}'
pub $T -m '{"v":null}'
pub $T -m '{"ts":"2300-01-01T00:00:00Z","v":1}'
pub $T -m '{"v":1,"v":2}'
pub $T -m 'cpu load=abc'
pub $T -n
pub sensors/a/env -m '{"v":1}'
pub sensors/a/s-1/env/extra -m '{"v":1}'
pub other/a/s-1/env -m '{"v":1}'
# the stage is still running
pub $T -m '{"ts":1795669999,"done":true}'

wait_lines "$TMP/out.ndjson" 13 20
wait_lines "$TMP/dead.ndjson" 15 20
# the bare number has no time: the ingest time, assigned once, now-ish
now=$(date +%s)
bare=$(sed -n 12p "$TMP/out.ndjson" | jq -r '.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601')
[ $((now - bare)) -le 60 ] && [ $((bare - now)) -le 60 ] ||
	fail "bare number time $bare is not the ingest time (now $now)"
sed '12s/"time":"[^"]*"/"time":"INGEST"/' "$TMP/out.ndjson" >"$TMP/out.cmp"

TAGS='"tags":{"sensor_id":"s-1","site":"a"}'
cat >"$TMP/expect.ndjson" <<EXP
{"time":"2026-11-26T04:00:00Z","measurement":"env","tags":{"room":"r1","sensor_id":"s-1","site":"a"},"fields":{"temperature":21.5,"humidity":40.0,"ok":true,"state":"open","env_co2":400.0,"env_deep_x":1.0}}
{"time":"2026-11-26T04:00:00.123Z","measurement":"env",$TAGS,"fields":{"v":1.0}}
{"time":"2026-11-26T04:00:00.123456Z","measurement":"env",$TAGS,"fields":{"v":2.0}}
{"time":"2026-11-26T04:00:00.123456789Z","measurement":"env",$TAGS,"fields":{"v":3.0}}
{"time":"2026-11-26T04:00:00.25Z","measurement":"env",$TAGS,"fields":{"v":4.0}}
{"time":"2026-11-26T04:00:00.5Z","measurement":"env",$TAGS,"fields":{"v":5.0}}
{"time":"2026-11-26T04:00:01Z","measurement":"env",$TAGS,"fields":{"v":6.0}}
{"time":"2026-11-26T04:00:02Z","measurement":"env",$TAGS,"fields":{"v":7.0}}
{"time":"2026-11-26T04:00:00Z","measurement":"env",$TAGS,"fields":{"v":8.0}}
{"time":"2026-11-26T04:00:00Z","measurement":"cpu","tags":{"host":"h 1","sensor_id":"s-1","site":"a"},"fields":{"load":1.5,"n":3,"up":true,"msg":"a \\"q\\""}}
{"time":"2026-11-26T04:00:00Z","measurement":"mem",$TAGS,"fields":{"free":2.0}}
{"time":"INGEST","measurement":"env",$TAGS,"fields":{"value":42.5}}
{"time":"2026-11-26T05:13:19Z","measurement":"env",$TAGS,"fields":{"done":true}}
EXP
assert_file_eq "$TMP/expect.ndjson" "$TMP/out.cmp"

# dead letter: every field but the time
jq -c 'del(.time) | if .reason == "too_large" then .payload |= length
	else . end' "$TMP/dead.ndjson" >"$TMP/dead.cmp"
cat >"$TMP/dead.expect" <<'EXP'
{"stage":"mqtt-ingest","reason":"bad_json","detail":"line 1 column 5: unexpected token near end of file","topic":"sensors/a/s-1/env","payload":"{\"a\":"}
{"stage":"mqtt-ingest","reason":"bad_utf8","detail":"payload is not valid UTF-8","topic":"sensors/a/s-1/env","payload_b64":"eyJ2Ijoi//4ifQ=="}
{"stage":"mqtt-ingest","reason":"no_fields","detail":"no fields","topic":"sensors/a/s-1/env","payload":"{\"ts\":1795665600}"}
{"stage":"mqtt-ingest","reason":"bad_number","detail":"invalid token near 'NaN'","topic":"sensors/a/s-1/env","payload":"{\"v\":NaN}"}
{"stage":"mqtt-ingest","reason":"bad_number","detail":"'Infinity' is not a finite number","topic":"sensors/a/s-1/env","payload":"Infinity"}
{"stage":"mqtt-ingest","reason":"too_large","detail":"1108 bytes, max 1024","topic":"sensors/a/s-1/env","payload":1108}
{"stage":"mqtt-ingest","reason":"nested_array","detail":"'v' is an array","topic":"sensors/a/s-1/env","payload":"{\"v\":[1,2]}"}
{"stage":"mqtt-ingest","reason":"null_value","detail":"'v' is null","topic":"sensors/a/s-1/env","payload":"{\"v\":null}"}
{"stage":"mqtt-ingest","reason":"bad_time","detail":"time 'ts': '2300-01-01T00:00:00Z': outside 1677-09-21..2262-04-11","topic":"sensors/a/s-1/env","payload":"{\"ts\":\"2300-01-01T00:00:00Z\",\"v\":1}"}
{"stage":"mqtt-ingest","reason":"duplicate_key","detail":"duplicate object key near '\"v\"'","topic":"sensors/a/s-1/env","payload":"{\"v\":1,\"v\":2}"}
{"stage":"mqtt-ingest","reason":"bad_line_protocol","detail":"field 'load': 'abc' is not a number, boolean or string","topic":"sensors/a/s-1/env","payload":"cpu load=abc"}
{"stage":"mqtt-ingest","reason":"empty","detail":"empty payload","topic":"sensors/a/s-1/env","payload":""}
{"stage":"mqtt-ingest","reason":"topic_mismatch","detail":"topic has 3 levels, the template needs 4","topic":"sensors/a/env","payload":"{\"v\":1}"}
{"stage":"mqtt-ingest","reason":"topic_mismatch","detail":"topic has more than the 4 levels of the template","topic":"sensors/a/s-1/env/extra","payload":"{\"v\":1}"}
{"stage":"mqtt-ingest","reason":"topic_mismatch","detail":"level 1 is 'other', the template wants 'sensors'","topic":"other/a/s-1/env","payload":"{\"v\":1}"}
EXP
assert_file_eq "$TMP/dead.expect" "$TMP/dead.cmp"

# stats count by reason; SIGTERM exits 0
wait_for 5 grep -q 'stats.*rejected=15' "$TMP/err.log"
stop_pid "$ing" 5
assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM"
grep -q 'final stats.*received=26 emitted=13 rejected=15' "$TMP/err.log" ||
	fail "final stats: $(grep 'final stats' "$TMP/err.log")"

# --strict: the first bad payload is dead-lettered, not acknowledged, and
# exits 65; the next start gets it again
spawn "$SP_BIN/mqtt-ingest" --strict --mqtt-client-id sp-t0101-strict \
	>"$TMP/strict.out" 2>"$TMP/strict.err"
strict=$LAST_PID
wait_for 10 grep -q 'subscribed' "$TMP/strict.err"
pub $T -m '{"v":"strict"}'
pub $T -m '{"v":null,"strict":1}'
wait_for 10 sh -c "! kill -0 $strict 2>/dev/null || grep -q Z /proc/$strict/stat"
stop_pid "$strict" 1
assert_eq 65 "$LAST_STATUS" "exit status with --strict and a bad payload"
assert_eq 1 "$(wc -l <"$TMP/strict.out" | tr -d ' ')" "readings before the bad one"
spawn "$SP_BIN/mqtt-ingest" --mqtt-client-id sp-t0101-strict \
	>"$TMP/strict2.out" 2>"$TMP/strict2.err"
strict_twice() {
	[ "$(grep -c 'strict' "$TMP/dead.ndjson")" -eq 2 ]
}
wait_for 10 strict_twice

# QoS 0: readings are flushed by the main thread a moment after a burst,
# so a lone message is not held back
spawn "$SP_BIN/mqtt-ingest" --mqtt-qos 0 --mqtt-client-id sp-t0101-q0 \
	>"$TMP/q0.out" 2>"$TMP/q0.err"
q0=$LAST_PID
wait_for 10 grep -q 'subscribed' "$TMP/q0.err"
mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 0 -t $T -m '{"v":"qos0"}'
wait_lines "$TMP/q0.out" 1 5
grep -q '"v":"qos0"' "$TMP/q0.out" || fail "QoS 0 reading: $(cat "$TMP/q0.out")"
stop_pid "$q0" 5
assert_eq 0 "$LAST_STATUS" "exit status of the QoS 0 instance"
