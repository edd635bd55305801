#!/bin/sh
# bench/api_state.sh: alert-api's state file (API_STATE_FILE) with 100,000
# alerts read from a journal: size and time of a save, time of the load at
# a restart, and GET /alerts?limit=20 under wrk (2 threads, 50 connections,
# DURATION s) with no input (no saves), while a save runs every second
# (events keep coming into the journal), and with the same input but no
# save (API_STATE_INTERVAL 1h) to tell the cost of the saves from that of
# the input.
#
#	make && bench/api_state.sh [DURATION]
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/bin
D=${1:-5}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sp-bench-api-state.XXXXXX")
API_PID=
FEED_PID=

cleanup() {
	[ -z "$FEED_PID" ] || kill "$FEED_PID" 2>/dev/null || true
	[ -z "$API_PID" ] || kill "$API_PID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

command -v wrk >/dev/null || fail "wrk missing: scripts/install-deps --all"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
J=$TMP/alerts.j

# start_api INTERVAL
start_api() {
	"$BIN/alert-api" --api-listen "127.0.0.1:$PORT" --in "$J" \
		--consumer api --api-state-file "$TMP/state" \
		--api-state-interval "$1" --log-level debug --stats-interval 0 \
		--influx-url http://127.0.0.1:1 2>>"$TMP/api.err" &
	API_PID=$!
}

# wait_log SECONDS PATTERN
wait_log() {
	_end=$(($(date +%s) + $1))
	until grep -q "$2" "$TMP/api.err"; do
		[ "$(date +%s)" -lt "$_end" ] || fail "no '$2' in the log"
		sleep 0.1
	done
}

# wrk on /alerts?limit=20: "req/s p99 max"
run_wrk() {
	wrk -t2 -c50 -d"${D}s" --latency "$URL/alerts?limit=20" >"$TMP/wrk" 2>&1
	_rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$TMP/wrk")
	_p99=$(sed -n 's/^ *99% *\([0-9.]*[a-z]*\)$/\1/p' "$TMP/wrk")
	_max=$(awk '/Latency/ && !/Distribution/ {print $4; exit}' "$TMP/wrk")
	echo "$_rps req/s, p99 $_p99, max $_max"
}

python3 "$ROOT/bench/api_gen.py" 100000 >"$TMP/events"
"$BIN/sp-journal" append "$J" <"$TMP/events" 2>/dev/null
echo "journal: $(wc -l <"$TMP/events") events of 100,000 alerts; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

start_api 1s
wait_log 120 'state saved.*alerts=100000'
sed -n 's/.*state saved[[:space:]]*\(.*alerts=100000.*\)/first full save: \1/p' "$TMP/api.err" | head -1
echo "state file: $(wc -c <"$TMP/state") bytes"
echo "RSS: $(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$API_PID/status")"

echo "GET /alerts?limit=20 with no input (no saves): $(run_wrk)"

# a few events every 0.2 s keep the state changing: a save every second
head -n 50 "$TMP/events" >"$TMP/feed"
feed() {
	(while :; do
		"$BIN/sp-journal" append "$J" <"$TMP/feed" 2>/dev/null
		sleep 0.2
	done) &
	FEED_PID=$!
}
feed
before=$(grep -c 'state saved' "$TMP/api.err")
line=$(run_wrk)
after=$(grep -c 'state saved' "$TMP/api.err")
echo "GET /alerts?limit=20 while saving ($((after - before)) saves): $line"
kill "$FEED_PID"
wait "$FEED_PID" 2>/dev/null || true
FEED_PID=
grep 'state saved' "$TMP/api.err" | sed -n 's/.* ms=\([0-9]*\).*/\1/p' |
	sort -n | awk '{a[NR]=$1} END {print "save ms over " NR " saves: min " a[1] ", median " a[int((NR+1)/2)] ", max " a[NR]}'

kill -TERM "$API_PID"
wait "$API_PID" || fail "alert-api exit status $?"
start_api 1h
wait_log 60 'state restored'
sed -n 's/.*state restored[[:space:]]*/restart: /p' "$TMP/api.err" | sed 's/file=[^ ]* //'
feed
echo "GET /alerts?limit=20 with the same input, no save: $(run_wrk)"
kill "$FEED_PID"
wait "$FEED_PID" 2>/dev/null || true
FEED_PID=
kill -TERM "$API_PID"
wait "$API_PID" || true
API_PID=
