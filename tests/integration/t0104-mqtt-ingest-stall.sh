#!/bin/sh
# A downstream that stops reading for 2 x keepalive, then resumes: no
# message is lost and mqtt-ingest does not spin. Its output is a FIFO read by
# `cat`, which is stopped with SIGSTOP while 3,000 QoS 1 messages arrive:
# the pipe fills, the write in the message callback blocks, no PUBACK and no
# PINGREQ go out, mosquitto drops the connection after 1.5 x keepalive and
# keeps the unacknowledged messages. After SIGCONT the blocked write
# completes, mqtt-ingest reconnects and receives the rest.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0104 MQTT_TOPICS='sensors/#' \
	MQTT_TOPIC_TEMPLATE='sensors/{site}/{sensor_id}/{measurement}' \
	MQTT_KEEPALIVE=2s MQTT_RECONNECT_MIN=250ms STATS_INTERVAL=1s
mkfifo "$TMP/fifo"
# the FIFO is opened by the children (exec keeps the pid), not by this shell
spawn sh -c 'exec cat <"$1" >"$2"' sh "$TMP/fifo" "$TMP/out.ndjson"
reader=$LAST_PID
spawn sh -c 'exec "$1" >"$2" 2>"$3"' sh "$SP_BIN/mqtt-ingest" "$TMP/fifo" \
	"$TMP/err.log"
ing=$LAST_PID
wait_for 10 grep -q 'subscribed' "$TMP/err.log"

cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
kill -STOP "$reader"
t0=$(date +%s%3N)
c0=$(cpu_ticks "$ing")
"$SP_BIN/loadgen" --url "$MQTT_URL" -n 3000 -k 10 --qos 1 \
	--client-id sp-t0104-pub 2>"$TMP/pub.err"
# the broker gives up on the silent client after 1.5 x keepalive
wait_for 15 grep -q 'sp-t0104 has exceeded timeout' "$MOSQ_LOG"
stalled_4s() {
	[ $(($(date +%s%3N) - t0)) -ge 4000 ]
}
wait_for 10 stalled_4s
c1=$(cpu_ticks "$ing")
note "cpu ticks while stalled: $((c1 - c0))"
[ $((c1 - c0)) -lt 50 ] || fail "mqtt-ingest used $((c1 - c0)) ticks while blocked"
n=$(wc -l <"$TMP/out.ndjson")
[ "$n" -lt 3000 ] || fail "the stall did not hold anything back"
kill -CONT "$reader"

distinct() {
	sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/out.ndjson" | sort -un | wc -l
}
all_there() {
	[ "$(distinct)" -eq 3000 ]
}
wait_for 30 all_there
note "received $(distinct) distinct in $(wc -l <"$TMP/out.ndjson") readings ($n before the resume)"
grep -q 'reconnected to' "$TMP/err.log" || fail "no reconnect after the stall"
stop_pid "$ing" 5
assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM"
