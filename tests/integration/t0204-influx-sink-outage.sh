#!/bin/sh
# influxd stopped for 10 s mid-stream, then started again: readings keep
# arriving (1,000 a second for 16 s), the sink retries with backoff, logs
# the outage and its end, and when the input ends every one of the 16,000
# points is in InfluxDB, counted exactly; exit status 0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_influxd
n=16000

mkfifo "$TMP/in"
exec 3<>"$TMP/in"
spawn "$SP_BIN/influx-sink" --influx-url "$INFLUX_URL" --influx-db t0204 \
	--influx-batch-size 500 --influx-flush-interval 200ms \
	--influx-retry-max 1s --influx-timeout 2s --stats-interval 2s \
	<"$TMP/in" 2>"$TMP/err" 3>&-
sink=$LAST_PID
spawn python3 -c '
import sys, time
n, rate = int(sys.argv[1]), int(sys.argv[2])
start = time.time()
for i in range(n):
    s = 1795665600 + i // 1000
    sys.stdout.write("{\"time\":\"2026-11-26T%02d:%02d:%02d.%03dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%d\"},\"fields\":{\"v\":%d}}\n"
                     % (4 + (s - 1795665600) // 3600, (s // 60) % 60, s % 60, i % 1000, i % 10, i))
    if i % 100 == 99:
        sys.stdout.flush()
        delay = start + (i + 1) / rate - time.time()
        if delay > 0:
            time.sleep(delay)
sys.stdout.flush()
' "$n" 1000 >&3
producer=$LAST_PID
exec 3>&-

count() {
	influx_query t0204 'SELECT COUNT(v) FROM env' |
		jq '.results[0].series[0].values[0][1] // 0'
}
has_points() {
	[ "$(count)" -gt 0 ]
}
wait_for 10 has_points
stop_influxd
note "influxd down for 10 s"
sleep 10
restart_influxd
wait_for 60 grep -q 'final stats' "$TMP/err"
stop_pid "$sink" 10
assert_eq 0 "$LAST_STATUS" "influx-sink exit status"
stop_pid "$producer" 1
assert_eq "$n" "$(count)" "points in InfluxDB"
grep -q "final stats in=$n written=$n rejected=0 bad=0 " "$TMP/err" ||
	fail "final stats: $(grep 'final stats' "$TMP/err")"
grep -q "warn: cannot write to '$INFLUX_URL/write" "$TMP/err" ||
	fail "the outage was not logged"
grep -q 'info: writes resumed' "$TMP/err" || fail "the recovery was not logged"
retries=$(sed -n 's/.*final stats.* retries=\([0-9]*\).*/\1/p' "$TMP/err")
[ "$retries" -ge 5 ] || fail "only $retries retries during a 10 s outage"
note "t0204 ok: $n points, $retries retries"
