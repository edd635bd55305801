#!/bin/sh
# No loss across a crash: mqtt-ingest is killed with SIGKILL while 10,000
# QoS 1 messages flow, then restarted with the same client id; every message
# is in the union of the two outputs (duplicates allowed, loss not).
# Then an output that fails (stdout is /dev/full) exits 74 without
# acknowledging the message, and the next instance receives it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0103 MQTT_TOPICS='sensors/#' \
	MQTT_TOPIC_TEMPLATE='sensors/{site}/{sensor_id}/{measurement}' \
	MQTT_RECONNECT_MIN=250ms STATS_INTERVAL=1s
spawn "$SP_BIN/mqtt-ingest" >"$TMP/out1.ndjson" 2>"$TMP/err1.log"
ing=$LAST_PID
wait_for 10 grep -q 'subscribed' "$TMP/err1.log"

spawn "$SP_BIN/loadgen" --url "$MQTT_URL" -n 10000 -k 20 --qos 1 \
	--rate 4000 --client-id sp-t0103-pub 2>"$TMP/pub.err"
pub=$LAST_PID
wait_lines "$TMP/out1.ndjson" 2000 20
kill -KILL "$ing"
stop_pid "$ing" 1
assert_eq 137 "$LAST_STATUS" "status of the killed mqtt-ingest"
n1=$(wc -l <"$TMP/out1.ndjson")
note "first instance wrote $n1 readings before SIGKILL"
[ "$n1" -lt 10000 ] || fail "all messages arrived before the kill: no test"
st=0
wait "$pub" || st=$?
assert_eq 0 "$st" "loadgen status"

spawn "$SP_BIN/mqtt-ingest" >"$TMP/out2.ndjson" 2>"$TMP/err2.log"
ing=$LAST_PID
distinct() {
	cat "$TMP/out1.ndjson" "$TMP/out2.ndjson" |
		sed -n 's/.*"seq":\([0-9]*\).*/\1/p' | sort -un | wc -l
}
all_there() {
	[ "$(distinct)" -eq 10000 ]
}
wait_for 30 all_there
note "union: $(distinct) distinct of $(cat "$TMP/out1.ndjson" "$TMP/out2.ndjson" | wc -l) readings"
# every line of both outputs is a complete reading
cat "$TMP/out1.ndjson" "$TMP/out2.ndjson" | jq -e -c 'select(.fields.seq == null)' \
	>"$TMP/bad" || true
[ ! -s "$TMP/bad" ] || fail "lines without seq: $(head -3 "$TMP/bad")"
stop_pid "$ing" 5
assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM"

# a failing output: exit 74, the message stays at the broker
spawn "$SP_BIN/mqtt-ingest" >/dev/full 2>"$TMP/err3.log"
ing=$LAST_PID
wait_for 10 grep -q 'subscribed' "$TMP/err3.log"
mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t sensors/a/s-1/env \
	-m '{"seq":424242,"v":1}'
wait_for 10 sh -c "! kill -0 $ing 2>/dev/null || grep -q Z /proc/$ing/stat"
stop_pid "$ing" 1
assert_eq 74 "$LAST_STATUS" "exit status with stdout on /dev/full"
grep -q 'cannot write readings' "$TMP/err3.log" || fail "no clear write error"
spawn "$SP_BIN/mqtt-ingest" >"$TMP/out4.ndjson" 2>"$TMP/err4.log"
wait_lines "$TMP/out4.ndjson" 1 10
grep -q '"seq":424242' "$TMP/out4.ndjson" ||
	fail "the unwritten message was not redelivered"
