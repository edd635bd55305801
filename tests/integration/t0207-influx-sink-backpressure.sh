#!/bin/sh
# Bounded memory: with influxd down, 1,000,000 readings (160 MB) are offered
# on stdin. The sink holds INFLUX_MAX_BUFFERED (100,000) points, stops
# reading (its input offset stands still), and its peak RSS stays under
# 64 MiB. When influxd comes back every one of the 1,000,000 points is
# written, counted exactly, and the sink exits 0 at EOF.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

n=1000000
bound_kib=65536
start_influxd
stop_influxd
awk -v n="$n" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"time\":\"2026-11-26T%02d:%02d:%02d.%03dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%04d\",\"site\":\"site-%d\"},\"fields\":{\"temperature\":%d.%02d,\"humidity\":%d.%d,\"n\":%d}}\n", 4 + int(i / 3600000), int(i / 60000) % 60, int(i / 1000) % 60, i % 1000, i % 1000, i % 4, 15 + i % 20, i % 100, 30 + i % 50, i % 10, i
}' >"$TMP/in.ndjson"
size=$(wc -c <"$TMP/in.ndjson")

spawn "$SP_BIN/influx-sink" --influx-url "$INFLUX_URL" --influx-db t0207 \
	--influx-retry-max 1s --stats-interval 1s <"$TMP/in.ndjson" \
	2>"$TMP/err"
sink=$LAST_PID
full() {
	grep -q 'backlog=100000 ' "$TMP/err"
}
wait_for 30 full
pos() {
	sed -n 's/^pos:[[:space:]]*//p' "/proc/$sink/fdinfo/0"
}
p1=$(pos)
sleep 2
p2=$(pos)
assert_eq "$p1" "$p2" "input offset while the buffer is full"
[ "$p2" -lt $((size / 4)) ] || fail "read $p2 of $size bytes while influxd was down"
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$sink/status")
note "holding 100000 points: read $p2 of $size bytes, peak RSS $hwm KiB"
[ "$hwm" -lt "$bound_kib" ] || fail "peak RSS $hwm KiB over $bound_kib KiB"

restart_influxd
wait_for 90 grep -q 'final stats' "$TMP/err"
stop_pid "$sink" 10
assert_eq 0 "$LAST_STATUS" "influx-sink exit status"
grep -q "final stats in=$n written=$n rejected=0 bad=0 " "$TMP/err" ||
	fail "final stats: $(grep 'final stats' "$TMP/err")"
assert_eq "$n" "$(influx_query t0207 'SELECT COUNT(n) FROM env' |
	jq '.results[0].series[0].values[0][1]')" "points in InfluxDB"
note "t0207 ok"
