#!/bin/sh
# influx-sink against curl, into one real influxd 1.6 (bench/README.md,
# "influx-sink").
#
#	bench/sink.sh [READINGS]	(default 1000000)
#
# The same readings (4 fields, 1,000 series) go into influxd several ways,
# each into a fresh database, influxd left to settle between runs (curl
# and sink runs alternate, ROUNDS times, default 2; the summary compares
# each one's best round):
#   curl xW           the points pre-formatted as line protocol (by
#                     influx-sink --dry-run), split into 5,000-point files,
#                     posted by W curl processes (one keep-alive connection
#                     each, `--next` per request), W = 1 and 2
#   sink cN           influx-sink from NDJSON, INFLUX_CONCURRENCY=N (1, 2),
#                     batches of 5,000, INFLUX_GZIP=false (curl sends plain
#                     bodies too)
#   sink c1 gzip      the same with the default INFLUX_GZIP=true
#   dry-run           influx-sink --dry-run > /dev/null: the conversion alone
#   jq                jq -r turning the same NDJSON into (unescaped) line
#                     protocol, on the first 100,000 readings
# Rates are readings/s over the wall time until the writer exited; CPU is
# user+system seconds of the writer (getrusage via /usr/bin/time) and of
# influxd over the same span (/proc/PID/stat). Every run is checked:
# SELECT COUNT must give every reading.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
SP_ROOT=$root
SP_BIN=${SP_BIN:-$root/build/bin}
n=${1:-1000000}
sink=$SP_BIN/influx-sink
[ -x "$sink" ] || { echo "build first: make" >&2; exit 1; }
out=$root/bench/out/sink
rm -rf "$out"
mkdir -p "$out"

# lib.sh gives start_influxd and a cleanup that stops it
# shellcheck source=../tests/integration/lib.sh
. "$root/tests/integration/lib.sh"
start_influxd
hz=$(getconf CLK_TCK)

data=$out/readings.ndjson
awk -v n="$n" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"time\":\"2026-11-26T%02d:%02d:%02d.%03dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%04d\",\"site\":\"site-%d\"},\"fields\":{\"temperature\":%d.%02d,\"humidity\":%d.%d,\"battery\":%d,\"ok\":true}}\n", 4 + int(i / 3600000), int(i / 60000) % 60, int(i / 1000) % 60, i % 1000, i % 1000, i % 4, 15 + i % 20, i % 100, 30 + i % 50, i % 10, i % 100
}' >"$data"
"$sink" --dry-run --stats-interval 0 <"$data" >"$out/points.lp" 2>/dev/null
mkdir "$out/split"
split -l 5000 -a 4 "$out/points.lp" "$out/split/b"
echo "data: $n readings, $(wc -c <"$data") bytes NDJSON, $(wc -c <"$out/points.lp") bytes line protocol, $(ls "$out/split" | wc -l) batches of 5000"

now() { date +%s%N; }
ticks() { awk '{ print $14 + $15 }' "/proc/$INFLUX_PID/stat"; }

# waits until influxd uses under 10% of a CPU over half a second (30 s max)
settle() {
	_i=0
	while [ "$_i" -lt 60 ]; do
		_a=$(ticks)
		sleep 0.5
		_b=$(ticks)
		[ $((_b - _a)) -le $((hz / 20)) ] && return 0
		_i=$((_i + 1))
	done
}

count() {
	influx_query "$1" 'SELECT COUNT(battery) FROM env' |
		jq '.results[0].series[0].values[0][1]'
}

# result NAME DB START_NS END_NS TICKS0 TICKS1 CPUFILE
# prints a line for people and adds "DB rate" to $out/rates
result() {
	got=$(count "$2")
	[ "$got" = "$n" ] || echo "  WARNING: $1 wrote $got of $n points"
	read -r cpu_w <"$7"
	awk -v name="$1" -v a="$3" -v b="$4" -v t0="$5" -v t1="$6" -v hz="$hz" \
		-v n="$n" -v w="$cpu_w" 'BEGIN {
		s = (b - a) / 1e9; inf = (t1 - t0) / hz
		printf "%-14s %7.2f s %9.0f readings/s  cpu writer %6.2f s  influxd %6.2f s  writer/influxd %5.1f%%\n",
			name, s, n / s, w, inf, (inf > 0 ? 100 * w / inf : 0) }' |
		tee -a "$out/results.txt"
	awk -v db="$2" -v a="$3" -v b="$4" -v n="$n" \
		'BEGIN { printf "%s %.0f\n", db, n / ((b - a) / 1e9) }' >>"$out/rates"
}

# curl_run W DB: W curl processes, each posting its share of the batches
curl_run() {
	_w=$1
	_db=$2
	influx_exec "CREATE DATABASE $_db"
	_i=0
	for f in "$out"/split/b*; do
		_cf=$out/curl.$_db.$((_i % _w))
		# `next` separates requests (a trailing one would start an
		# empty request)
		[ ! -s "$_cf" ] || echo next >>"$_cf"
		printf 'url = "%s/write?db=%s&precision=n"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
			"$INFLUX_URL" "$_db" "$f" >>"$_cf"
		_i=$((_i + 1))
	done
	settle
	_k0=$(ticks)
	_t0=$(now)
	_j=0
	_pids=
	while [ "$_j" -lt "$_w" ]; do
		/usr/bin/time -f '%U %S' -o "$out/time.$_db.$_j" \
			curl -s -K "$out/curl.$_db.$_j" >"$out/codes.$_db.$_j" &
		_pids="$_pids $!"
		_j=$((_j + 1))
	done
	# not a bare `wait`: influxd is a child of this shell too
	for _p in $_pids; do
		wait "$_p"
	done
	_t1=$(now)
	_k1=$(ticks)
	cat "$out"/time."$_db".* | awk '{ s += $1 + $2 } END { print s }' \
		>"$out/cpu.$_db"
	bad=$(cat "$out"/codes."$_db".* | grep -vc '^204$' || true)
	[ "$bad" -eq 0 ] || echo "  WARNING: $bad curl requests did not get 204"
	result "curl x$_w" "$_db" "$_t0" "$_t1" "$_k0" "$_k1" "$out/cpu.$_db"
}

# sink_run NAME DB CONCURRENCY GZIP
sink_run() {
	influx_exec "CREATE DATABASE $2"
	settle
	_k0=$(ticks)
	_t0=$(now)
	/usr/bin/time -f '%U %S' -o "$out/time.$2" "$sink" \
		--influx-url "$INFLUX_URL" --influx-db "$2" \
		--influx-concurrency "$3" --influx-gzip "$4" \
		--influx-batch-size 5000 --stats-interval 0 \
		<"$data" 2>"$out/sink.$2.err"
	_t1=$(now)
	_k1=$(ticks)
	awk '{ print $1 + $2 }' "$out/time.$2" >"$out/cpu.$2"
	result "$1" "$2" "$_t0" "$_t1" "$_k0" "$_k1" "$out/cpu.$2"
}

: >"$out/results.txt"
: >"$out/rates"
# ROUNDS rounds (default 2) of the four runs, alternating, against the
# noise of a shared machine; the summary takes each one's best round
r=1
while [ "$r" -le "${ROUNDS:-2}" ]; do
	curl_run 1 "curl1_r$r"
	sink_run "sink c1" "sink1_r$r" 1 false
	curl_run 2 "curl2_r$r"
	sink_run "sink c2" "sink2_r$r" 2 false
	r=$((r + 1))
done
sink_run "sink c1 gzip" sink1gz 1 true

# the conversion alone, and jq on the first 100,000 readings
t0=$(now)
/usr/bin/time -f '%U %S' -o "$out/time.dry" "$sink" --dry-run \
	--stats-interval 0 <"$data" >/dev/null 2>"$out/dry.err"
t1=$(now)
head -n 100000 "$data" >"$out/jq.ndjson"
j0=$(now)
jq -r '"\(.measurement),\(.tags | to_entries | map("\(.key)=\(.value)") | join(",")) \(.fields | to_entries | map("\(.key)=\(.value)") | join(",")) \(.time)"' \
	<"$out/jq.ndjson" >/dev/null
j1=$(now)
awk -v a="$t0" -v b="$t1" -v ja="$j0" -v jb="$j1" -v n="$n" 'BEGIN {
	s = (b - a) / 1e9; js = (jb - ja) / 1e9
	printf "%-14s %7.2f s %9.0f readings/s\n", "dry-run", s, n / s
	printf "%-14s %7.2f s %9.0f readings/s (100000 readings)\n", "jq", js, 100000 / js
	printf "dry-run / jq: %.1fx\n", (n / s) / (100000 / js) }' |
	tee -a "$out/results.txt"

awk '{ sub(/_r[0-9]+$/, "", $1); if ($2 > r[$1]) r[$1] = $2 } END {
	printf "sink c1 / curl x1: %.0f%%   sink c2 / curl x2: %.0f%%\n",
		100 * r["sink1"] / r["curl1"], 100 * r["sink2"] / r["curl2"] }' \
	"$out/rates" | tee -a "$out/results.txt"
