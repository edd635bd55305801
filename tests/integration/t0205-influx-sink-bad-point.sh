#!/bin/sh
# One bad point inside a batch of 5,000, twice, against a real influxd 1.6:
# (a) a string among floats of a new measurement (influxd refuses the whole
# request: "field type conflict"), (b) a string where the field already
# holds floats (influxd answers "partial write ... dropped=1"). Each time the
# sink bisects the batch: 4,999 points are written, the bad one is in the
# dead letter with the server's message, its input line and its line
# protocol; exit status 0. Also: the database dropped under a running sink
# answers 404 "database not found"; with INFLUX_CREATE_DB the sink creates
# it again and writes the next batch. With --strict a bad input line exits
# 65 once the points read before it are written. A refused point that
# cannot be written to the dead letter exits 74, nothing after it sent.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_influxd
influx_exec 'CREATE DATABASE t0205'
# (b)'s field already exists as a float
curl -sS -XPOST "$INFLUX_URL/write?db=t0205" \
	--data-binary 'old,sensor_id=pre v=1.5 1000000000'

gen() {
	python3 - "$1" "$2" <<'PY'
import sys
m, bad = sys.argv[1], int(sys.argv[2])
for i in range(5000):
    v = '"oops"' if i == bad else "%d.5" % i
    print('{"time":"2026-11-26T04:%02d:%02d.%03dZ","measurement":"%s","tags":{"sensor_id":"s-%d"},"fields":{"v":%s}}'
          % (i // 60000, i // 1000 % 60, i % 1000, m, i % 7, v))
PY
}
gen new 2500 >"$TMP/a.ndjson"
gen old 3141 >"$TMP/b.ndjson"

for c in a b; do
	"$SP_BIN/influx-sink" --influx-url "$INFLUX_URL" --influx-db t0205 \
		--dead-letter "$TMP/dead.$c" --stats-interval 0 \
		<"$TMP/$c.ndjson" 2>"$TMP/err.$c" || {
		cat "$TMP/err.$c" >&2
		fail "case $c: exit status $?"
	}
	grep -q 'final stats in=5000 written=4999 rejected=1 bad=0 batches=1 ' \
		"$TMP/err.$c" || fail "case $c: $(grep 'final stats' "$TMP/err.$c")"
	requests=$(sed -n 's/.*final stats.* requests=\([0-9]*\).*/\1/p' \
		"$TMP/err.$c")
	[ "$requests" -le 27 ] || fail "case $c: $requests requests to isolate one point"
	assert_eq 1 "$(wc -l <"$TMP/dead.$c")" "case $c: dead letter entries"
	assert_eq refused "$(jq -r .reason "$TMP/dead.$c")" "case $c: reason"
	jq -r .detail "$TMP/dead.$c" | grep -q 'field type conflict' ||
		fail "case $c: detail: $(jq -r .detail "$TMP/dead.$c")"
done
assert_eq 2501 "$(jq -r .line "$TMP/dead.a")" "case a: input line"
assert_eq 3142 "$(jq -r .line "$TMP/dead.b")" "case b: input line"
assert_eq 'old,sensor_id=s-5 v="oops" 1795665603141000000' \
	"$(jq -r .payload "$TMP/dead.b")" "case b: payload"
assert_eq 4999 "$(influx_query t0205 'SELECT COUNT(v) FROM new' |
	jq '.results[0].series[0].values[0][1]')" "case a: points written"
assert_eq 5000 "$(influx_query t0205 'SELECT COUNT(v) FROM old' |
	jq '.results[0].series[0].values[0][1]')" "case b: points written (+1 before)"
# -- the database dropped while the sink runs: 404, CREATE DATABASE, write
mkfifo "$TMP/in"
exec 3<>"$TMP/in"
spawn "$SP_BIN/influx-sink" --influx-url "$INFLUX_URL" --influx-db t0205c \
	--influx-flush-interval 100ms --stats-interval 0 <"$TMP/in" \
	2>"$TMP/err.c" 3>&-
sink=$LAST_PID
head -n 1 "$TMP/a.ndjson" >&3
count_c() {
	influx_query t0205c 'SELECT COUNT(v) FROM new' |
		jq '.results[0].series[0].values[0][1] // 0'
}
has_one() {
	[ "$(count_c)" = 1 ]
}
wait_for 10 has_one
influx_exec 'DROP DATABASE t0205c'
sed -n '2,3p' "$TMP/a.ndjson" >&3
has_two() {
	[ "$(count_c)" = 2 ]
}
wait_for 10 has_two
exec 3>&-
stop_pid "$sink" 10
assert_eq 0 "$LAST_STATUS" "exit status after the database came back"
grep -q "info: created database 't0205c'" "$TMP/err.c" ||
	fail "no 'created database' in the log"
# -- --strict: a bad input line exits 65, after writing the points before it
{
	head -n 2 "$TMP/a.ndjson"
	echo '{"time":"2026-11-26T04:00:00Z","measurement":"new"}'
	sed -n 3p "$TMP/a.ndjson"
} >"$TMP/strict.ndjson"
st=0
"$SP_BIN/influx-sink" --strict --influx-url "$INFLUX_URL" \
	--influx-db t0205d --influx-create-db true --stats-interval 0 \
	--dead-letter "$TMP/dead.d" <"$TMP/strict.ndjson" 2>"$TMP/err.d" || st=$?
assert_eq 65 "$st" "--strict: exit status"
assert_eq "bad_record 3" "$(jq -r '.reason + " " + (.line | tostring)' \
	"$TMP/dead.d")" "--strict: dead letter"
assert_eq 2 "$(influx_query t0205d 'SELECT COUNT(v) FROM new' |
	jq '.results[0].series[0].values[0][1]')" "--strict: points before the bad line"
# -- a refused point that cannot be dead-lettered (/dev/full) stops the sink
# with 74 instead of losing it; the points after it are not sent
st=0
"$SP_BIN/influx-sink" --influx-url "$INFLUX_URL" --influx-db t0205e \
	--influx-create-db true --stats-interval 0 --dead-letter /dev/full \
	<"$TMP/a.ndjson" 2>"$TMP/err.e" || st=$?
assert_eq 74 "$st" "dead letter on /dev/full: exit status"
grep -q 'cannot write a refused point to the dead letter: .*No space left on device.*line=2501' \
	"$TMP/err.e" || fail "dead letter on /dev/full: $(grep error "$TMP/err.e")"
# (influxd itself keeps the good points of a partially refused request;
# the sink counts only what it knows was written, and holds the rest)
grep -q 'final stats in=5000 written=2500 rejected=0 .* backlog=2500 ' \
	"$TMP/err.e" || fail "dead letter on /dev/full: $(grep 'final stats' "$TMP/err.e")"
note "t0205 ok: $requests requests"
