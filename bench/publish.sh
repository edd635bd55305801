#!/bin/sh
# bench/publish.sh: mqtt-publish against `mosquitto_pub -l` (one message per
# stdin line) on the same broker and the same input, at QoS 0 and QoS 1.
#
#   bench/publish.sh [N [N_DISK]]   (records per run: 50000, disk runs 5000)
#
# Input: N alert events (about 250 bytes each) over 100 series. For each
# QoS, each publisher reads the file from its start to its exit:
#   mosquitto_pub -l            one topic (-t), its default in-flight window
#                               (-M 20): it does not wait for each PUBACK
#   mosquitto_pub -l -M 1       QoS 1 only, N_DISK records: one message in
#                               flight, waiting for each PUBACK
#   mqtt-publish memory         topic filled per record, no persistence
#   mqtt-publish disk           MQTT_PERSISTENCE_DIR on bench/out (the
#                               offline-queue set-up: paho writes one file
#                               per message and removes it when acked;
#                               N_DISK records: file creation is slow)
#   mqttflood                   build/bin/mqttflood (bench/mqttflood.c): no
#                               library, PUBLISH packets written straight to
#                               the socket, 1,000 QoS 1 messages in flight:
#                               what the broker itself takes (its ceiling)
# mosquitto_pub exits when everything is sent (QoS 1: acknowledged);
# mqtt-publish at end of input waits until every publish completed. A
# subscriber (QoS 0, on the broker) counts the messages of each run, which
# fails unless all N arrive. Figures: records/s, CPU seconds of the
# publisher and of mosquitto, and the ratio to mosquitto_pub at the same
# QoS.
set -eu
SP_ROOT=$(cd "$(dirname "$0")/.." && pwd)
SP_BIN=${SP_BIN:-$SP_ROOT/build/bin}
# shellcheck source=../tests/integration/lib.sh
. "$SP_ROOT/tests/integration/lib.sh"

N=${1:-50000}
N_DISK=${2:-5000}
OUT=$SP_ROOT/bench/out/publish
rm -rf "$OUT"
mkdir -p "$OUT"

start_mosquitto "log_type error" "log_type warning"
# the test library logs every packet; a benchmark should not
sed -i '/^log_type all$/d' "$MOSQ_CONF"
restart_mosquitto
export MQTT_URL STATS_INTERVAL=0 \
	MQTT_PUBLISH_TOPIC='alerts/{tags.sensor_id}/{rule}'

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"id\":\"6b0f%08d-0000-5000-8000-000000000000\",\"event\":\"fired\",\"status\":\"firing\",\"rule\":\"temp-high\",\"severity\":\"critical\",\"tags\":{\"sensor_id\":\"s-%03d\",\"site\":\"a\"},\"value\":85.2,\"threshold\":80,\"time\":\"2026-11-26T04:00:00Z\",\"message\":\"s-%03d: temperature 85.2 above 80\"}\n",
		i, i % 100, i % 100 }' >"$OUT/in.ndjson"
echo "input: $N records, $(wc -c <"$OUT/in.ndjson") bytes"

# run NAME QOS COUNT: prints "NAME qos=Q seconds records/s cpu_s"
run() {
	name=$1
	qos=$2
	n=$3
	head -n "$n" "$OUT/in.ndjson" >"$OUT/run.ndjson"
	sub_out=$OUT/sub-$name-$qos.out
	spawn mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 0 -t 'alerts/#' \
		>"$sub_out"
	sub=$LAST_PID
	# subscribed once a probe comes through
	wait_for 10 sh -c "mosquitto_pub -h 127.0.0.1 -p $MQTT_PORT -t alerts/probe -m probe -q 1 && grep -q '^probe\$' '$sub_out'"
	bcpu0=$(awk '{ print $14 + $15 }' "/proc/$MOSQ_PID/stat")
	start=$(date +%s%N)
	case $name in
	mosquitto_pub)
		/usr/bin/time -f '%U %S' -o "$OUT/time" mosquitto_pub \
			-h 127.0.0.1 -p "$MQTT_PORT" -q "$qos" -t alerts/bench -l \
			-i "bench-pub-$qos" <"$OUT/run.ndjson"
		;;
	mosquitto_pub-M1)
		/usr/bin/time -f '%U %S' -o "$OUT/time" mosquitto_pub \
			-h 127.0.0.1 -p "$MQTT_PORT" -q "$qos" -t alerts/bench -l \
			-M 1 -i "bench-pub1-$qos" <"$OUT/run.ndjson"
		;;
	mqtt-publish-memory)
		/usr/bin/time -f '%U %S' -o "$OUT/time" env MQTT_QOS="$qos" \
			MQTT_CLIENT_ID="bench-mem-$qos" "$SP_BIN/mqtt-publish" \
			<"$OUT/run.ndjson" 2>"$OUT/$name-$qos.err"
		;;
	mqttflood)
		/usr/bin/time -f '%U %S' -o "$OUT/time" "$SP_BIN/mqttflood" \
			"$MQTT_PORT" alerts/bench "$qos" 1000 <"$OUT/run.ndjson" \
			2>"$OUT/$name-$qos.err"
		;;
	mqtt-publish-disk)
		/usr/bin/time -f '%U %S' -o "$OUT/time" env MQTT_QOS="$qos" \
			MQTT_CLIENT_ID="bench-disk-$qos" \
			MQTT_PERSISTENCE_DIR="$OUT/pers" "$SP_BIN/mqtt-publish" \
			<"$OUT/run.ndjson" 2>"$OUT/$name-$qos.err"
		;;
	esac
	end=$(date +%s%N)
	bcpu1=$(awk '{ print $14 + $15 }' "/proc/$MOSQ_PID/stat")
	wait_for 60 sh -c "[ \$(grep -vc '^probe\$' '$sub_out') -ge $n ]"
	stop_pid "$sub" 1
	awk -v name="$name" -v q="$qos" -v n="$n" -v a="$start" -v b="$end" \
		-v cpu="$(awk '{ print $1 + $2 }' "$OUT/time")" \
		-v bcpu="$(((bcpu1 - bcpu0)))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		s = (b - a) / 1e9
		printf "%-20s qos=%d %8.3f s %9.0f records/s %6.2f cpu_s %6.2f broker_cpu_s\n",
			name, q, s, n / s, cpu, bcpu / hz }'
}

for qos in 0 1; do
	run mosquitto_pub "$qos" "$N"
	run mqttflood "$qos" "$N"
	run mqtt-publish-memory "$qos" "$N"
	run mqtt-publish-disk "$qos" "$N_DISK"
	[ "$qos" = 0 ] || run mosquitto_pub-M1 "$qos" "$N_DISK"
done | tee "$OUT/results.txt"
awk '{ r[$1 " " $2] = $5 } END {
	for (q = 0; q <= 1; q++) {
		base = r["mosquitto_pub qos=" q]
		printf "qos=%d: memory %.2fx, disk %.2fx, ceiling (mqttflood) %.2fx mosquitto_pub -l\n", q,
			r["mqtt-publish-memory qos=" q] / base,
			r["mqtt-publish-disk qos=" q] / base,
			r["mqttflood qos=" q] / base
	} }' "$OUT/results.txt"
