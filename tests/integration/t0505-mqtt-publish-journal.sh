#!/bin/sh
# mqtt-publish reading a journal (--in DIR --consumer NAME) commits its
# cursor only past records the broker acknowledged: with the broker down it
# reads and queues all 300 records but the cursor stays at the start; after
# kill -9 and a restart with the broker back, everything is delivered (the
# restored queue and the re-read records: at-least-once) and the cursor
# reaches the end of the journal; SIGTERM then exits 0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0505 STATS_INTERVAL=200ms \
	MQTT_PUBLISH_TOPIC='alerts/{tags.sensor_id}/{rule}' \
	MQTT_PERSISTENCE_DIR="$TMP/pers" MQTT_RECONNECT_MIN=200ms \
	MQTT_RECONNECT_MAX=1s
mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0505-sub -q 1 \
	-t 'alerts/#' -E
stop_mosquitto

J=$TMP/alerts.j
awk 'BEGIN { for (i = 0; i < 300; i++)
	printf "{\"seq\":%d,\"event\":\"fired\",\"rule\":\"r\",\"tags\":{\"sensor_id\":\"s-%d\"}}\n", i, i % 5 }' |
	"$SP_BIN/sp-journal" append "$J" 2>/dev/null
"$SP_BIN/sp-journal" register "$J" mqtt 2>/dev/null
cursor() {
	"$SP_BIN/sp-journal" list "$J" 2>/dev/null | sed -n 's/^consumer=mqtt .*lag_lines=\([0-9]*\).*/\1/p'
}
assert_eq 300 "$(cursor)" "lag before the first run"

spawn "$SP_BIN/mqtt-publish" --in "$J" --consumer mqtt 2>"$TMP/pub1.err"
pub=$LAST_PID
wait_for 20 grep -q 'stats.*read=300 published=300 acknowledged=0' "$TMP/pub1.err"
assert_eq 300 "$(cursor)" "lag with 300 records queued but none acknowledged"
kill -KILL "$pub"
stop_pid "$pub" 1

restart_mosquitto
spawn "$SP_BIN/mqtt-publish" --in "$J" --consumer mqtt 2>"$TMP/pub2.err"
pub=$LAST_PID
wait_for 30 sh -c "[ \"\$(\"$SP_BIN/sp-journal\" list '$J' 2>/dev/null | sed -n 's/^consumer=mqtt .*lag_lines=\([0-9]*\).*/\1/p')\" = 0 ]"
grep -q 'restored=300' "$TMP/pub2.err" || fail "the queue of the killed run was not restored"
wait_for 20 grep -q 'stats.*queued=0 ' "$TMP/pub2.err"
stop_pid "$pub" 10
assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM"

mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0505-sub -q 1 \
	-t 'alerts/#' -W 3 >"$TMP/sub.out" 2>/dev/null || true
sed 's/.*"seq":\([0-9]*\).*/\1/' "$TMP/sub.out" | sort -n -u >"$TMP/seqs"
seq 0 299 >"$TMP/seqs.expect"
assert_file_eq "$TMP/seqs.expect" "$TMP/seqs"
note "received $(wc -l <"$TMP/sub.out") messages for 300 records"
