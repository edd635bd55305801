#!/bin/sh
# A journal input (--in DIR --consumer NAME) and the commit rule: the
# cursor moves only past points InfluxDB took. With influxd down the sink
# reads 3,000 readings and is killed (SIGKILL): the cursor has not moved.
# With influxd back, a new sink writes all 3,000, SIGTERM exits 0 and the
# cursor is at the end. 2,000 more appended are written by the next run,
# and only those: 5,000 points in InfluxDB.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

gen() {
	python3 -c '
import sys
a, b = int(sys.argv[1]), int(sys.argv[2])
for i in range(a, b):
    print("{\"time\":\"2026-11-26T04:%02d:%02d.%03dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%d\"},\"fields\":{\"v\":%d.5}}" % (i // 60000, i // 1000 % 60, i % 1000, i % 5, i))
' "$1" "$2"
}
J=$TMP/journal
start_influxd
stop_influxd
gen 0 3000 | "$SP_BIN/sp-journal" append "$J" 2>/dev/null

run_sink() {
	spawn "$SP_BIN/influx-sink" --in "$J" --consumer sink \
		--influx-url "$INFLUX_URL" --influx-db t0209 \
		--influx-retry-max 500ms --stats-interval 300ms 2>"$TMP/err.$1"
	SINK=$LAST_PID
}
lag() {
	"$SP_BIN/sp-journal" list "$J" 2>/dev/null |
		sed -n 's/^consumer=sink .*lag_lines=\([0-9]*\).*/\1/p'
}

run_sink 1
wait_for 20 grep -q 'stats in=3000 .*backlog=3000 ' "$TMP/err.1"
kill -KILL "$SINK"
stop_pid "$SINK" 5
assert_eq 3000 "$(lag)" "cursor lag after SIGKILL with nothing written"

restart_influxd
run_sink 2
wait_for 20 grep -q 'stats in=3000 written=3000 ' "$TMP/err.2"
stop_pid "$SINK" 10
assert_eq 0 "$LAST_STATUS" "exit status on SIGTERM"
assert_eq 0 "$(lag)" "cursor lag once written"

gen 3000 5000 | "$SP_BIN/sp-journal" append "$J" 2>/dev/null
run_sink 3
wait_for 20 grep -q 'stats in=2000 written=2000 ' "$TMP/err.3"
stop_pid "$SINK" 10
assert_eq 0 "$LAST_STATUS" "exit status on SIGTERM"
assert_eq 0 "$(lag)" "cursor lag at the end"
assert_eq 5000 "$(influx_query t0209 'SELECT COUNT(v) FROM env' |
	jq '.results[0].series[0].values[0][1]')" "points in InfluxDB"
note "t0209 ok"
