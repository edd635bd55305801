#!/bin/sh
# mqtt-publish loses nothing it queued: with the broker down, 500 records
# are queued on disk (MQTT_PERSISTENCE_DIR), then the stage is killed with
# SIGKILL. A second run with 200 more records is stopped with SIGTERM: it
# exits 0 within MQTT_PUBLISH_DRAIN_TIMEOUT and keeps its queue on disk.
# With the broker back, a third run (same client id, URL and directory, no
# input) restores all 700 and a persistent-session subscriber receives them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0503 STATS_INTERVAL=200ms \
	MQTT_PUBLISH_TOPIC='alerts/{tags.sensor_id}/{rule}' \
	MQTT_PERSISTENCE_DIR="$TMP/pers" MQTT_RECONNECT_MIN=200ms \
	MQTT_RECONNECT_MAX=1s MQTT_PUBLISH_DRAIN_TIMEOUT=1s
mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0503-sub -q 1 \
	-t 'alerts/#' -E
stop_mosquitto

gen() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i < b; i++)
		printf "{\"seq\":%d,\"event\":\"fired\",\"rule\":\"r\",\"tags\":{\"sensor_id\":\"s-%d\"}}\n", i, i % 7 }'
}
count_msgs() {
	find "$TMP/pers" -name 'c-*.msg' | wc -l
}

# 1. kill -9 with 500 queued
gen 0 500 >"$TMP/a.ndjson"
spawn "$SP_BIN/mqtt-publish" <"$TMP/a.ndjson" 2>"$TMP/pub1.err"
pub=$LAST_PID
wait_for 20 grep -q 'stats.*published=500 ' "$TMP/pub1.err"
assert_eq 500 "$(count_msgs)" "c-N.msg files before kill -9"
kill -KILL "$pub"
stop_pid "$pub" 1
assert_eq 137 "$LAST_STATUS" "status of the killed stage"

# 2. SIGTERM with 200 more queued: exit 0, nothing removed from disk
gen 500 700 >"$TMP/b.ndjson"
mkfifo "$TMP/fifo"
spawn sh -c 'exec >"$2"; cat "$1"; exec sleep 60' sh "$TMP/b.ndjson" \
	"$TMP/fifo"
feeder=$LAST_PID
spawn "$SP_BIN/mqtt-publish" <"$TMP/fifo" 2>"$TMP/pub2.err"
pub=$LAST_PID
wait_for 20 grep -q 'stats.*published=200 ' "$TMP/pub2.err"
grep -q 'restored=500' "$TMP/pub2.err" || fail "second run did not restore 500"
t0=$(date +%s)
stop_pid "$pub" 10
assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM with the broker down"
[ $(($(date +%s) - t0)) -le 4 ] || fail "SIGTERM took longer than the drain timeout"
grep -q '700 messages not yet acknowledged stay in MQTT_PERSISTENCE_DIR' \
	"$TMP/pub2.err" || fail "no line about the messages kept on disk"
assert_eq 700 "$(count_msgs)" "c-N.msg files after SIGTERM"
stop_pid "$feeder" 1

# 3. broker back, restart without input: all 700 delivered, then exit 0
restart_mosquitto
"$SP_BIN/mqtt-publish" </dev/null 2>"$TMP/pub3.err" ||
	fail "third run failed: $(tail -3 "$TMP/pub3.err")"
grep -q 'restored=700' "$TMP/pub3.err" || fail "third run did not restore 700"
assert_eq 0 "$(count_msgs)" "c-N.msg files after delivery"
mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0503-sub -q 1 \
	-t 'alerts/#' -W 3 >"$TMP/sub.out" 2>/dev/null || true
sed 's/.*"seq":\([0-9]*\).*/\1/' "$TMP/sub.out" | sort -n -u >"$TMP/seqs"
seq 0 699 >"$TMP/seqs.expect"
assert_file_eq "$TMP/seqs.expect" "$TMP/seqs"
note "received $(wc -l <"$TMP/sub.out") messages for 700 records"
