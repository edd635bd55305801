#!/bin/sh
# A full offline queue stops the reading instead of dropping: with the
# broker down and MQTT_PUBLISH_QUEUE_MAX=50, mqtt-publish queues 50 of 200
# records and reads no further (the input pipe keeps the rest); when the
# broker is back it sends them all, reads on, and at end of input exits 0
# with all 200 acknowledged and dropped=0. A subscriber gets every record,
# in order (one topic).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0506 STATS_INTERVAL=200ms \
	MQTT_PUBLISH_TOPIC='alerts/{tags.sensor_id}/{rule}' \
	MQTT_PERSISTENCE_DIR="$TMP/pers" MQTT_RECONNECT_MIN=200ms \
	MQTT_RECONNECT_MAX=500ms MQTT_PUBLISH_QUEUE_MAX=50
mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0506-sub -q 1 \
	-t 'alerts/#' -E
stop_mosquitto

awk 'BEGIN { for (i = 0; i < 200; i++)
	printf "{\"seq\":%d,\"event\":\"fired\",\"rule\":\"r\",\"tags\":{\"sensor_id\":\"s-1\"}}\n", i }' \
	>"$TMP/in.ndjson"
spawn "$SP_BIN/mqtt-publish" <"$TMP/in.ndjson" 2>"$TMP/pub.err"
pub=$LAST_PID
wait_for 20 grep -q 'stats.*published=50 .*backpressure_waits=[1-9]' "$TMP/pub.err"
# a while later: still 50, nothing dropped, still running
wait_for 5 sh -c "[ \$(grep -c 'stats.*published=50 .*dropped=0' '$TMP/pub.err') -ge 5 ]"
grep 'stats' "$TMP/pub.err" | grep -qv 'published=50 \|published=[0-4]\?[0-9] ' &&
	fail "published more than MQTT_PUBLISH_QUEUE_MAX while the broker was down"
kill -0 "$pub" || fail "mqtt-publish exited with a full queue"

restart_mosquitto
wait_for 30 sh -c "! kill -0 $pub 2>/dev/null"
stop_pid "$pub" 1
assert_eq 0 "$LAST_STATUS" "exit status at end of input"
grep -q 'final stats.*read=200 published=200 acknowledged=200 queued=0 dropped=0' \
	"$TMP/pub.err" || fail "final stats: $(grep 'final stats' "$TMP/pub.err")"

mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0506-sub -q 1 \
	-t 'alerts/#' -W 3 >"$TMP/sub.out" 2>/dev/null || true
sed 's/.*"seq":\([0-9]*\).*/\1/' "$TMP/sub.out" | awk '!seen[$1]++' >"$TMP/seqs"
seq 0 199 >"$TMP/seqs.expect"
assert_file_eq "$TMP/seqs.expect" "$TMP/seqs"
