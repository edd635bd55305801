#!/bin/sh
# mqtt-publish keeps delivering while the broker restarts again and again
# under a steady stream. Paho 1.3.12 can free the topic of a publish in
# flight when a write fails on a broken connection and then resend that
# freed memory after the reconnect: mosquitto logs "malformed packet", drops
# the client, and the queue never drains (common/mqttconn.h, mqttconn_poll).
# The stage replaces its paho client after such a loss and reloads the queue
# from MQTT_PERSISTENCE_DIR, or without one from its memory store.
#
# Twice, with MQTT_PERSISTENCE_DIR and without: 5,000 records over 10
# topics at about 700/s; mosquitto is stopped (SIGTERM) and started again 5
# times while they flow. Then: mqtt-publish exits 0 at end of input with
# everything acknowledged and nothing dropped, mosquitto never saw a
# malformed packet, the client was replaced at least once, and a
# persistent-session subscriber received all 5,000 records, in order per
# topic. (Paho restores in-flight publishes sorted by message id and a new
# client numbers from id 1 again: before the stage held new publishes until
# a reload was delivered, about 1 run in 5 had a few messages first arrive
# after newer ones of their topic.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

N=5000
start_mosquitto
export MQTT_URL STATS_INTERVAL=1s \
	MQTT_PUBLISH_TOPIC='alerts/{tags.sensor_id}/{rule}' \
	MQTT_RECONNECT_MIN=100ms MQTT_RECONNECT_MAX=300ms MQTT_KEEPALIVE=2s

# record i goes to topic alerts/s-(i%10)/r and carries seq i
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"seq\":%d,\"event\":\"fired\",\"rule\":\"r\",\"tags\":{\"sensor_id\":\"s-%d\"}}\n", i, i % 10 }' \
	>"$TMP/in.ndjson"

# run_case NAME [PERSISTENCE_DIR]
run_case() {
	name=$1
	sub_id=sp-t0507-sub-$name
	mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i "$sub_id" -q 1 \
		-t 'alerts/#' -E
	rm -f "$TMP/fifo"
	mkfifo "$TMP/fifo"
	# 50 records every 70 ms
	spawn sh -c 'exec >"$1"; i=0
		while IFS= read -r l; do
			printf "%s\n" "$l"
			i=$((i + 1))
			[ $((i % 50)) -eq 0 ] && sleep 0.07
		done <"$2"' sh "$TMP/fifo" "$TMP/in.ndjson"
	feeder=$LAST_PID
	: >"$MOSQ_LOG"
	spawn env MQTT_CLIENT_ID="sp-t0507-$name" \
		MQTT_PERSISTENCE_DIR="${2:-}" \
		"$SP_BIN/mqtt-publish" <"$TMP/fifo" 2>"$TMP/pub-$name.err"
	pub=$LAST_PID
	err=$TMP/pub-$name.err
	wait_for 20 grep -q 'stats.*acknowledged=[1-9]' "$err"

	for down in 0.3 0.8 0.2 0.6 0.4; do
		stop_mosquitto
		sleep "$down"
		restart_mosquitto
		sleep 1.2
	done
	wait_for 30 sh -c "! kill -0 $feeder 2>/dev/null"
	# end of input: the stage exits once the broker acknowledged all
	wait_for 60 sh -c "! kill -0 $pub 2>/dev/null"
	stop_pid "$pub" 1
	assert_eq 0 "$LAST_STATUS" "$name: mqtt-publish exit status at end of input"
	grep -q "final stats.*read=$N published=$N acknowledged=$N queued=0 dropped=0 rejected=0" \
		"$err" || fail "$name: final stats: $(grep 'final stats' "$err")"
	if grep -q 'malformed packet' "$MOSQ_LOG"; then
		grep -B3 'malformed packet' "$MOSQ_LOG" | head -20 >&2
		fail "$name: mosquitto received a malformed packet from mqtt-publish"
	fi
	resets=$(grep -c 'replaced the MQTT client' "$err" || true)
	[ "$resets" -ge 1 ] ||
		fail "$name: no client replacement logged after 5 broker restarts"
	grep -q "final stats.*client_resets=$resets " "$err" ||
		fail "$name: client_resets in final stats is not $resets"

	mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -c -i "$sub_id" -q 1 \
		-v -t 'alerts/#' -W 5 >"$TMP/sub-$name.out" 2>/dev/null || true
	sed 's/^\([^ ]*\) .*"seq":\([0-9]*\).*/\1 \2/' "$TMP/sub-$name.out" \
		>"$TMP/got"
	cut -d' ' -f2 "$TMP/got" | sort -n -u >"$TMP/seqs"
	seq 0 $((N - 1)) >"$TMP/seqs.expect"
	assert_file_eq "$TMP/seqs.expect" "$TMP/seqs"
	awk '{ if ($2 in seen) next; seen[$2] = 1
		if (($1 in last) && $2 < last[$1]) { print "out of order: " $0; bad = 1 }
		last[$1] = $2 } END { exit bad }' "$TMP/got" ||
		fail "$name: messages out of order within a topic"
	note "$name: received $(wc -l <"$TMP/got") messages ($(($(wc -l <"$TMP/got") - N)) duplicates), $resets client replacements"
}

run_case disk "$TMP/pers"
grep -q 'reloaded the publishes not yet acknowledged from MQTT_PERSISTENCE_DIR' \
	"$TMP/pub-disk.err" || fail "disk: no reload from MQTT_PERSISTENCE_DIR logged"
run_case memory
grep -q 'reloaded the publishes not yet acknowledged from memory' \
	"$TMP/pub-memory.err" || fail "memory: no reload from memory logged"
