#!/bin/sh
# Batching, from the requests the (fake) server saw: with
# INFLUX_BATCH_SIZE=100 and INFLUX_FLUSH_INTERVAL=5s, 250 readings at once
# give requests of 100 and 100 at once and 50 five seconds later; with a 1 s
# interval, points 0.4 s apart share a request sent 1 s after the first of
# them, even while the input stays open and idle. All requests of one
# writer use one connection (keep-alive). EOF flushes and exits 0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

port=$(free_port)
spawn python3 "$SP_ROOT/tests/integration/fake_influx.py" "$port" \
	"$TMP/fake.log" 2>"$TMP/fake.err"
wait_for 10 curl -sf "http://127.0.0.1:$port/ping"

reading() {
	printf '{"time":"2026-11-26T04:00:%02d.%03dZ","measurement":"env","tags":{"sensor_id":"s-1"},"fields":{"v":%d}}\n' \
		$(($1 / 1000 % 60)) $(($1 % 1000)) "$1"
}

now() {
	date +%s.%N
}

# -- by size, then by time (5 s)
mkfifo "$TMP/in1"
# read-write: opening never blocks; the sink gets the fifo without fd 3
exec 3<>"$TMP/in1"
spawn "$SP_BIN/influx-sink" --influx-url "http://127.0.0.1:$port" \
	--influx-batch-size 100 --influx-flush-interval 5s \
	--stats-interval 0 <"$TMP/in1" 2>"$TMP/err1" 3>&-
sink=$LAST_PID
i=0
while [ "$i" -lt 250 ]; do
	reading "$i"
	i=$((i + 1))
done >&3
wait_lines "$TMP/fake.log" 3 15
exec 3>&-
stop_pid "$sink" 10
assert_eq 0 "$LAST_STATUS" "exit status after EOF"
assert_eq "100 100 50" "$(jq -r .lines "$TMP/fake.log" | tr '\n' ' ' |
	sed 's/ $//')" "request sizes"
python3 - "$TMP/fake.log" <<'EOF'
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])]
assert t[1] - t[0] < 1.0, "second full batch waited %.2fs" % (t[1] - t[0])
gap = t[2] - t[1]
assert 4.5 <= gap <= 6.5, "partial batch sent %.2fs after the full ones, want ~5s" % gap
EOF
assert_eq 1 "$(jq -r .peer "$TMP/fake.log" | sort -u | wc -l)" \
	"connections used (keep-alive)"
assert_eq 250 "$(wc -l <"$TMP/fake.log.points")" "points received"

# -- by time (1 s) while the input is idle
: >"$TMP/fake.log"
mkfifo "$TMP/in2"
# read-write: opening never blocks; the sink gets the fifo without fd 3
exec 3<>"$TMP/in2"
spawn "$SP_BIN/influx-sink" --influx-url "http://127.0.0.1:$port" \
	--influx-batch-size 5000 --influx-flush-interval 1s \
	--stats-interval 0 <"$TMP/in2" 2>"$TMP/err2" 3>&-
sink=$LAST_PID
t0=$(now)
reading 1000 >&3
sleep 0.4
reading 1001 >&3
wait_lines "$TMP/fake.log" 1 5
t1=$(now)
reading 1002 >&3
wait_lines "$TMP/fake.log" 2 5
exec 3>&-
stop_pid "$sink" 10
assert_eq 0 "$LAST_STATUS" "exit status after EOF"
assert_eq "2 1" "$(jq -r .lines "$TMP/fake.log" | tr '\n' ' ' |
	sed 's/ $//')" "request sizes by time"
python3 - "$TMP/fake.log" "$t0" "$t1" <<'EOF'
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])]
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
d0, d1 = t[0] - t0, t[1] - t1
assert 0.97 <= d0 <= 1.6, "first batch sent %.2fs after its first point" % d0
assert 0.97 <= d1 <= 1.6, "second batch sent %.2fs after its point" % d1
print("sent %.2fs and %.2fs after the first point" % (d0, d1), file=sys.stderr)
EOF
note "t0203 ok"
