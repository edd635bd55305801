#!/bin/sh
# bench/ingest.sh: mqtt-ingest against `mosquitto_sub -F '%j'` on the same
# broker and the same load, at QoS 0 and QoS 1.
#
#   bench/ingest.sh [N]        (N messages per run, default 50000)
#
# For each QoS and each consumer: the consumer subscribes once with a
# persistent session and goes away; bench/loadgen publishes N readings over
# 20 sensor topics, which mosquitto queues for the session; the consumer is
# started again and drains the queue to a file. Measured from its start to
# the N-th line: readings/s, CPU seconds (utime+stime from /proc/PID/stat)
# and peak RSS (VmHWM from /proc/PID/status). Both consumers write to a file
# on the same disk; mqtt-ingest does the full conversion to readings.
# Needs a built tree (make) and mosquitto; uses the test library for the
# broker (free loopback port, stopped at exit).
set -eu
SP_ROOT=$(cd "$(dirname "$0")/.." && pwd)
SP_BIN=${SP_BIN:-$SP_ROOT/build/bin}
# shellcheck source=../tests/integration/lib.sh
. "$SP_ROOT/tests/integration/lib.sh"

N=${1:-50000}
HZ=$(getconf CLK_TCK)

start_mosquitto "queue_qos0_messages true" "max_inflight_messages 100" \
	"log_type error" "log_type warning"
# the test library logs every packet; a benchmark should not
sed -i '/^log_type all$/d' "$MOSQ_CONF"
restart_mosquitto
export MQTT_URL STATS_INTERVAL=0 \
	MQTT_TOPIC_TEMPLATE='sensors/{site}/{sensor_id}/{measurement}'

cpu_s() {
	awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
hwm_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}
lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# run NAME QOS: prints "NAME qos=Q readings/s cpu_s rss_kib"
run() {
	name=$1
	qos=$2
	id=bench-$name-$qos
	out=$TMP/$id.out
	case $name in
	mosquitto_sub)
		mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i "$id" -c -q "$qos" \
			-t 'sensors/#' -E
		;;
	mqtt-ingest)
		"$SP_BIN/mqtt-ingest" --mqtt-client-id "$id" --mqtt-qos "$qos" \
			>/dev/null 2>"$TMP/$id.sub.err" &
		sp=$!
		wait_for 10 grep -q subscribed "$TMP/$id.sub.err"
		kill -TERM "$sp"
		wait "$sp"
		;;
	esac
	"$SP_BIN/loadgen" --url "$MQTT_URL" -n "$N" -k 20 --qos "$qos" \
		--client-id "bench-pub-$qos" 2>"$TMP/$id.pub.err"
	start=$(date +%s%N)
	case $name in
	mosquitto_sub)
		spawn mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i "$id" -c \
			-q "$qos" -t 'sensors/#' -F '%j' >"$out"
		;;
	mqtt-ingest)
		spawn "$SP_BIN/mqtt-ingest" --mqtt-client-id "$id" \
			--mqtt-qos "$qos" >"$out" 2>"$TMP/$id.err"
		;;
	esac
	pid=$LAST_PID
	while [ "$(lines "$out")" -lt "$N" ]; do
		if [ $(($(date +%s%N) - start)) -gt 120000000000 ]; then
			fail "$name qos $qos: only $(lines "$out") of $N after 120 s"
		fi
		sleep 0.02
	done
	end=$(date +%s%N)
	cpu=$(cpu_s "$pid")
	rss=$(hwm_kib "$pid")
	stop_pid "$pid" 5
	awk -v n="$N" -v s="$start" -v e="$end" -v name="$name" -v q="$qos" \
		-v cpu="$cpu" -v rss="$rss" 'BEGIN {
		secs = (e - s) / 1e9
		printf "%-14s qos=%s readings=%d secs=%.2f rate=%.0f/s cpu_s=%s peak_rss_kib=%s\n",
			name, q, n, secs, n / secs, cpu, rss }'
}

note "N=$N messages per run, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for qos in 0 1; do
	run mosquitto_sub "$qos"
	run mqtt-ingest "$qos"
done
