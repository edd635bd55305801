#!/bin/sh
# mqtt-publish's offline queue: 1,000 records over 10 topics arrive while the
# broker is stopped for 10 s (100 before, 800 during, 100 after it is back).
# The stage keeps reading during the outage and queues on disk (the paho
# persistence directory fills with c-N.msg files), reconnects, sends the
# queue, and at end of input exits 0 once everything is acknowledged. A
# persistent-session subscriber (-c -i ID -q 1) then receives all 1,000, in
# order per topic (a QoS 1 redelivery may repeat a message; none is lost
# and none overtakes an earlier one of its topic).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0502 STATS_INTERVAL=1s \
	MQTT_PUBLISH_TOPIC='alerts/{tags.sensor_id}/{rule}' \
	MQTT_PERSISTENCE_DIR="$TMP/pers" MQTT_RECONNECT_MIN=200ms \
	MQTT_RECONNECT_MAX=1s MQTT_KEEPALIVE=2s

mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0502-sub -q 1 \
	-t 'alerts/#' -E

# record i goes to topic alerts/s-(i%10)/r and carries seq i
gen() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i < b; i++)
		printf "{\"seq\":%d,\"event\":\"fired\",\"rule\":\"r\",\"tags\":{\"sensor_id\":\"s-%d\"}}\n", i, i % 10 }'
}
gen 0 100 >"$TMP/a.ndjson"
gen 100 900 >"$TMP/b.ndjson"
gen 900 1000 >"$TMP/c.ndjson"

mkfifo "$TMP/fifo"
# the feeder waits for go files so the outage is placed exactly
spawn sh -c 'exec >"$1"; d=$2
	cat "$d/a.ndjson"
	while [ ! -f "$d/go.b" ]; do sleep 0.05; done
	# 800 records spread over about 4 s of the outage
	i=0
	while IFS= read -r l; do
		printf "%s\n" "$l"
		i=$((i + 1))
		[ $((i % 100)) -eq 0 ] && sleep 0.5
	done <"$d/b.ndjson"
	: >"$d/fed.b"
	while [ ! -f "$d/go.c" ]; do sleep 0.05; done
	cat "$d/c.ndjson"' sh "$TMP/fifo" "$TMP"
feeder=$LAST_PID
spawn "$SP_BIN/mqtt-publish" <"$TMP/fifo" 2>"$TMP/pub.err"
pub=$LAST_PID
wait_for 20 grep -q 'stats.*acknowledged=100 ' "$TMP/pub.err"

note "stopping the broker for 10 s"
stop_mosquitto
down_at=$(date +%s)
: >"$TMP/go.b"
# generous waits: on a loaded machine paho's file store takes a few ms per
# message; the outage simply lasts until all 800 are on disk, and at least
# 10 s
wait_for 40 test -f "$TMP/fed.b"
# everything read during the outage is queued on disk by paho
# Paho keeps a publish not yet sent as c-N.msg; one that was in flight when
# the connection dropped (sent, no PUBACK yet) is kept as s-N.msg instead,
# so the 800 records read during the outage are c- and s- files together.
count_msgs() {
	find "$TMP/pers" \( -name 'c-*.msg' -o -name 's-*.msg' \) | wc -l
}
wait_for 40 sh -c "[ \$(find '$TMP/pers' \\( -name 'c-*.msg' -o -name 's-*.msg' \\) | wc -l) -ge 800 ]"
note "queued on disk: $(count_msgs) c-N.msg and s-N.msg files"
grep -q 'connection to .* lost' "$TMP/pub.err" || fail "no connection-lost log line"
kill -0 "$pub" || fail "mqtt-publish exited during the outage"
while [ $(($(date +%s) - down_at)) -lt 10 ]; do sleep 0.2; done
restart_mosquitto
: >"$TMP/go.c"
wait_for 30 sh -c "! kill -0 $pub 2>/dev/null"
stop_pid "$pub" 1
assert_eq 0 "$LAST_STATUS" "mqtt-publish exit status at end of input"
grep -q 'reconnected to' "$TMP/pub.err" || fail "no reconnect log line"
grep -q 'final stats.*read=1000 published=1000 acknowledged=1000 queued=0 dropped=0 rejected=0' \
	"$TMP/pub.err" || fail "final stats: $(grep 'final stats' "$TMP/pub.err")"
assert_eq 0 "$(count_msgs)" "c-N.msg/s-N.msg files left after the queue was sent"

mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i sp-t0502-sub -q 1 \
	-v -t 'alerts/#' -W 5 >"$TMP/sub.out" 2>/dev/null || true
# topic and seq of each message received
sed 's/^\([^ ]*\) .*"seq":\([0-9]*\).*/\1 \2/' "$TMP/sub.out" >"$TMP/got"
# all 1,000 (duplicates aside)
cut -d' ' -f2 "$TMP/got" | sort -n -u >"$TMP/seqs"
seq 0 999 >"$TMP/seqs.expect"
assert_file_eq "$TMP/seqs.expect" "$TMP/seqs"
# in order per topic: each seq's first arrival comes after its topic's
# previous seq
awk '{ if ($2 in seen) next; seen[$2] = 1
	if (($1 in last) && $2 < last[$1]) { print "out of order: " $0; bad = 1 }
	last[$1] = $2 } END { exit bad }' "$TMP/got" || fail "messages out of order within a topic"
# the topic matches the record
awk '{ if ($1 != "alerts/s-" ($2 % 10) "/r") { print; bad = 1 } } END { exit bad }' \
	"$TMP/got" || fail "a message on the wrong topic"
note "received $(wc -l <"$TMP/got") messages ($(($(wc -l <"$TMP/got") - 1000)) duplicates)"
stop_pid "$feeder" 1
