#!/bin/sh
# mqtt-publish against a real mosquitto: alert events in, the right topics
# and payloads out (a subscriber with -v prints both, compared exactly);
# payloads are the records compacted byte for byte (0.1 stays 0.1);
# MQTT_PUBLISH_FIELD publishes one value; records that cannot fill the
# template (missing key, empty value, '/', '+', '#', wrong type, not JSON)
# go to the dead letter with the reason while the stage keeps running (a
# last good record still arrives); bad templates exit 78; SIGTERM exits 0;
# MQTT 5 at QoS 0 works the same.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0501 STATS_INTERVAL=500ms \
	MQTT_PUBLISH_TOPIC='alerts/{tags.site}/{tags.sensor_id}/{rule}' \
	DEAD_LETTER_FILE="$TMP/dead.ndjson" MQTT_PERSISTENCE_DIR="$TMP/pers"

# bad templates: configuration errors, exit 78, with the reason
for tpl in 'alerts/+/{rule}' 'alerts/#' 'alerts/{rule' 'alerts/{}' \
	'alerts/rule}' '$SYS/{rule}' ''; do
	st=0
	MQTT_PUBLISH_TOPIC=$tpl "$SP_BIN/mqtt-publish" </dev/null \
		2>"$TMP/tpl.err" || st=$?
	assert_eq 78 "$st" "exit status for template '$tpl'"
	grep -q "bad MQTT_PUBLISH_TOPIC\|MQTT_PUBLISH_TOPIC" "$TMP/tpl.err" ||
		fail "no message naming MQTT_PUBLISH_TOPIC for '$tpl'"
done

# a persistent session first, so nothing published later can be missed
mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0501-sub -q 1 \
	-t 'alerts/#' -t 'vals/#' -E
spawn mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0501-sub -q 1 \
	-v -t 'alerts/#' -t 'vals/#' >"$TMP/sub.out" 2>"$TMP/sub.err"
sub=$LAST_PID

cat >"$TMP/in1.ndjson" <<'EOF'
{"id":"i1","event":"fired","status":"firing","rule":"temp-high","severity":"critical","tags":{"site":"a","sensor_id":"s-1"},"value":85.2,"threshold":80,"message":"s-1: temperature 85.2 above 80"}
{ "id" : "i1", "event" : "resolved",	"status":"resolved", "rule":"temp-high", "tags": {"site":"a", "sensor_id":"s-1"}, "value": 0.1, "message": "spaces \"stay\" inside strings" }
{"id":"i2","event":"fired","rule":"hum","tags":{"site":"b","sensor_id":42},"value":1e3,"message":"caf\u00e9 ü"}
{"id":"bad1","event":"fired","rule":"temp-high","tags":{"sensor_id":"s-1"}}
{"id":"bad2","event":"fired","rule":"","tags":{"site":"a","sensor_id":"s-1"}}
{"id":"bad3","event":"fired","rule":"a/b","tags":{"site":"a","sensor_id":"s-1"}}
{"id":"bad4","event":"fired","rule":"r+","tags":{"site":"a","sensor_id":"s-1"}}
{"id":"bad5","event":"fired","rule":"r#","tags":{"site":"a","sensor_id":"s-1"}}
{"id":"bad6","event":"fired","rule":{"x":1},"tags":{"site":"a","sensor_id":"s-1"}}
{"id":"bad7","event":"fired","rule":"r","tags":"a"}
not json
[1,2]
{"id":"last","event":"fired","rule":"temp-high","tags":{"site":"a","sensor_id":"s-9"},"value":-0.5}
EOF

# input through a FIFO kept open: the stage must keep running after the
# bad records, and exit 0 on SIGTERM, not on end of input
mkfifo "$TMP/fifo"
spawn sh -c 'exec >"$2"; cat "$1"; exec sleep 60' sh "$TMP/in1.ndjson" \
	"$TMP/fifo"
feeder=$LAST_PID
spawn "$SP_BIN/mqtt-publish" <"$TMP/fifo" 2>"$TMP/pub.err"
pub=$LAST_PID
wait_lines "$TMP/sub.out" 4 20
wait_for 10 grep -q 'stats.*rejected=9' "$TMP/pub.err"
kill -0 "$pub" || fail "mqtt-publish exited after bad records"
stop_pid "$pub" 10
assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM"
stop_pid "$feeder" 2

cat >"$TMP/expect1" <<'EOF'
alerts/a/s-1/temp-high {"id":"i1","event":"fired","status":"firing","rule":"temp-high","severity":"critical","tags":{"site":"a","sensor_id":"s-1"},"value":85.2,"threshold":80,"message":"s-1: temperature 85.2 above 80"}
alerts/a/s-1/temp-high {"id":"i1","event":"resolved","status":"resolved","rule":"temp-high","tags":{"site":"a","sensor_id":"s-1"},"value":0.1,"message":"spaces \"stay\" inside strings"}
alerts/b/42/hum {"id":"i2","event":"fired","rule":"hum","tags":{"site":"b","sensor_id":42},"value":1e3,"message":"caf\u00e9 ü"}
alerts/a/s-9/temp-high {"id":"last","event":"fired","rule":"temp-high","tags":{"site":"a","sensor_id":"s-9"},"value":-0.5}
EOF
assert_file_eq "$TMP/expect1" "$TMP/sub.out"

# dead letter: one entry per bad record, with reason, detail, line, payload
jq -r '[.stage, .reason, (.line|tostring), .detail] | join(" | ")' \
	"$TMP/dead.ndjson" >"$TMP/dead.got"
cat >"$TMP/dead.expect" <<'EOF'
mqtt-publish | missing_key | 4 | {tags.site}: missing
mqtt-publish | empty_value | 5 | {rule}: empty
mqtt-publish | bad_value | 6 | {rule}: contains '/', '+', '#' or NUL
mqtt-publish | bad_value | 7 | {rule}: contains '/', '+', '#' or NUL
mqtt-publish | bad_value | 8 | {rule}: contains '/', '+', '#' or NUL
mqtt-publish | bad_type | 9 | {rule}: not a string or number
mqtt-publish | missing_key | 10 | {tags.site}: missing
mqtt-publish | bad_json | 11 | column 3: '[' or '{' expected near 'not'
mqtt-publish | bad_json | 12 | not a JSON object
EOF
assert_file_eq "$TMP/dead.expect" "$TMP/dead.got"
assert_eq "$(sed -n 4p "$TMP/in1.ndjson")" \
	"$(jq -r 'select(.line == 4) | .payload' "$TMP/dead.ndjson")" \
	"dead-letter payload of line 4"
grep -q 'final stats.*read=13 published=4 acknowledged=4 queued=0 dropped=0 rejected=9 missing_key=2 empty_value=1 bad_type=1 bad_value=3 bad_json=2' \
	"$TMP/pub.err" || fail "final stats line: $(grep 'final stats' "$TMP/pub.err")"

# MQTT_PUBLISH_FIELD: a string as its raw bytes, a number or an object as
# compact JSON; a record without the field is dead-lettered
: >"$TMP/dead.ndjson"
cat >"$TMP/in2.ndjson" <<'EOF'
{"rule":"m","tags":{"sensor_id":"s-1"},"message":"s-1: temperature 85.2 above 80","value":0.1}
{"rule":"n","tags":{"sensor_id":"s-2"},"message":{"a":[1, 2.5],"b":null}}
{"rule":"o","tags":{"sensor_id":"s-3"},"message":17}
{"rule":"p","tags":{"sensor_id":"s-4"}}
EOF
MQTT_PUBLISH_TOPIC='vals/{tags.sensor_id}/{rule}' MQTT_PUBLISH_FIELD=message \
	"$SP_BIN/mqtt-publish" <"$TMP/in2.ndjson" 2>"$TMP/pub2.err" ||
	fail "mqtt-publish with MQTT_PUBLISH_FIELD failed: $(tail -3 "$TMP/pub2.err")"
wait_lines "$TMP/sub.out" 7 20
tail -n 3 "$TMP/sub.out" >"$TMP/sub2.out"
cat >"$TMP/expect2" <<'EOF'
vals/s-1/m s-1: temperature 85.2 above 80
vals/s-2/n {"a":[1,2.5],"b":null}
vals/s-3/o 17
EOF
assert_file_eq "$TMP/expect2" "$TMP/sub2.out"
assert_eq "missing_field no key 'message'" \
	"$(jq -r '.reason + " " + .detail' "$TMP/dead.ndjson")" "dead letter for a missing field"

# MQTT 5 and QoS 0 take the same path
printf '%s\n' '{"rule":"v5","tags":{"sensor_id":"s-5"},"message":"five"}' |
	MQTT_VERSION=5 MQTT_QOS=0 MQTT_PUBLISH_TOPIC='vals/{tags.sensor_id}/{rule}' \
	MQTT_PUBLISH_FIELD=message MQTT_CLIENT_ID=sp-t0501-v5 \
	"$SP_BIN/mqtt-publish" 2>"$TMP/pub3.err" ||
	fail "mqtt-publish with MQTT 5 failed: $(tail -3 "$TMP/pub3.err")"
grep -q 'version=5' "$TMP/pub3.err" || fail "not connected with MQTT 5"
grep -q 'final stats.*published=1 acknowledged=1 ' "$TMP/pub3.err" ||
	fail "MQTT 5 final stats: $(grep 'final stats' "$TMP/pub3.err")"
wait_lines "$TMP/sub.out" 8 20
assert_eq "vals/s-5/v5 five" "$(tail -n 1 "$TMP/sub.out")" "MQTT 5 message"

# QoS 0 with MQTT_PERSISTENCE_DIR: paho 1.3.12 aborts when it persists QoS 0
# publishes (free(): invalid size; bench/publish.sh's QoS 0 disk run did it
# in 3 runs of 3 before; this broker logs every packet and is too slow to
# trigger it reliably), so the stage keeps a QoS 0 queue in memory and says
# so
awk 'BEGIN { for (i = 0; i < 5000; i++)
	printf "{\"rule\":\"q0\",\"tags\":{\"sensor_id\":\"s-%d\"},\"seq\":%d,\"message\":\"%0200d\"}\n", i % 10, i, i }' |
	MQTT_QOS=0 MQTT_PUBLISH_TOPIC='q0/{tags.sensor_id}/{rule}' \
	MQTT_CLIENT_ID=sp-t0501-q0 MQTT_PERSISTENCE_DIR="$TMP/pers-q0" \
	"$SP_BIN/mqtt-publish" 2>"$TMP/q0.err" ||
	fail "mqtt-publish at QoS 0 with MQTT_PERSISTENCE_DIR failed: $(tail -3 "$TMP/q0.err")"
grep -q 'final stats.*read=5000 published=5000 acknowledged=5000 queued=0 dropped=0' \
	"$TMP/q0.err" || fail "QoS 0 final stats: $(grep 'final stats' "$TMP/q0.err")"
grep -q 'MQTT_QOS=0: MQTT_PERSISTENCE_DIR is not used' "$TMP/q0.err" ||
	fail "no warning that QoS 0 does not use MQTT_PERSISTENCE_DIR"

# --strict: the first record that cannot fill the topic is dead-lettered,
# then the stage exits 65
st=0
printf '%s\n' '{"rule":"s","tags":{"sensor_id":"s-6"}}' \
	'{"rule":"s","tags":{}}' '{"rule":"s","tags":{"sensor_id":"s-7"}}' |
	MQTT_PUBLISH_TOPIC='vals/{tags.sensor_id}/{rule}' \
	MQTT_CLIENT_ID=sp-t0501-strict DEAD_LETTER_FILE="$TMP/strict.dead" \
	"$SP_BIN/mqtt-publish" --strict 2>"$TMP/strict.err" || st=$?
assert_eq 65 "$st" "exit status with --strict and a bad record"
assert_eq "missing_key 2" "$(jq -r '.reason + " " + (.line | tostring)' \
	"$TMP/strict.dead")" "--strict: dead letter entry"
grep -q 'bad input line with --strict' "$TMP/strict.err" ||
	fail "--strict: no reason logged"
stop_pid "$sub" 2
