#!/bin/sh
# INFLUX_CONCURRENCY=4: four writers, four connections, and no reordering
# inside a series. 20 series each get 60 updates of the same point (same
# series and time, values 0..59) spread over many small batches; InfluxDB
# keeps the last write of a point, so every series must end at 59. The fake
# server shows four connections sharing the requests. At the buffer limit
# (a slow server, INFLUX_MAX_BUFFERED=1000, two writers) batches stay full:
# the limit must not cut them short.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

python3 -c '
for v in range(60):
    for s in range(20):
        print("{\"time\":\"2026-11-26T04:00:00Z\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%02d\"},\"fields\":{\"v\":%d}}" % (s, v))
' >"$TMP/in.ndjson"

start_influxd
"$SP_BIN/influx-sink" --influx-url "$INFLUX_URL" --influx-db t0208 \
	--influx-concurrency 4 --influx-batch-size 7 --stats-interval 0 \
	<"$TMP/in.ndjson" 2>"$TMP/err" || fail "exit status $?"
grep -q 'final stats in=1200 written=1200 rejected=0 ' "$TMP/err" ||
	fail "final stats: $(grep 'final stats' "$TMP/err")"
influx_query t0208 'SELECT last(v) FROM env GROUP BY sensor_id' |
	jq -r '.results[0].series[] | "\(.tags.sensor_id) \(.values[0][1])"' \
	>"$TMP/last"
assert_eq 20 "$(wc -l <"$TMP/last")" "series"
assert_eq "59" "$(cut -d' ' -f2 "$TMP/last" | sort -u | tr '\n' ' ' |
	sed 's/ $//')" "last value of every series"

port=$(free_port)
spawn python3 "$SP_ROOT/tests/integration/fake_influx.py" "$port" \
	"$TMP/fake.log" 2>"$TMP/fake.err"
wait_for 10 curl -sf "http://127.0.0.1:$port/ping"
"$SP_BIN/influx-sink" --influx-url "http://127.0.0.1:$port" \
	--influx-concurrency 4 --influx-batch-size 7 --stats-interval 0 \
	<"$TMP/in.ndjson" 2>"$TMP/err2" || fail "exit status $?"
assert_eq 4 "$(jq -r .peer "$TMP/fake.log" | sort -u | wc -l)" "connections"
assert_eq 1200 "$(wc -l <"$TMP/fake.log.points")" "points received"
# a slow server: 30 ms a request, the buffer limit holds the reading back
port=$(free_port)
spawn python3 "$SP_ROOT/tests/integration/fake_influx.py" "$port" \
	"$TMP/slow.log" --delay 0.03 2>"$TMP/slow.err"
wait_for 10 curl -sf "http://127.0.0.1:$port/ping"
python3 -c '
for i in range(20000):
    print("{\"time\":\"2026-11-26T04:%02d:%02d.%03dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%d\"},\"fields\":{\"v\":%d}}" % (i // 60000, i // 1000 % 60, i % 1000, i % 50, i))
' >"$TMP/many.ndjson"
"$SP_BIN/influx-sink" --influx-url "http://127.0.0.1:$port" \
	--influx-concurrency 2 --influx-batch-size 100 \
	--influx-max-buffered 1000 --stats-interval 0 \
	<"$TMP/many.ndjson" 2>"$TMP/err3" || fail "exit status $?"
assert_eq 20000 "$(wc -l <"$TMP/slow.log.points")" "points received (slow)"
short=$(jq -r 'select(.lines < 100) | .lines' "$TMP/slow.log" | wc -l)
[ "$short" -le 4 ] || fail "$short of $(wc -l <"$TMP/slow.log") requests under 100 points at the buffer limit"
note "t0208 ok"
