#!/bin/sh
# Journal throughput next to cat of the same data (bench/README.md, "journal").
#
#	bench/journal.sh [LINES]	(default 500000 readings, ~60 MB)
#
# Measures, on the same file system (bench/out):
#   cat copy          cat data > file                     (the floor for append)
#   append 1s         sp-journal append (fsync thread, JOURNAL_FSYNC_INTERVAL=1s)
#   append 0          sp-journal append --fsync-interval 0 (fsync every batch)
#   cat read          cat segments > /dev/null            (the floor for reading)
#   follow catch-up   sp-journal follow of a written journal > /dev/null
#   cat pipe          cat data | cat > /dev/null          (a plain pipe)
#   append | follow   writer and a live follower at once, until the
#                     follower has every line
#   engine pipe       alert-engine < data > /dev/null
#   engine journal    alert-engine --in J --consumer engine --out J2 over the
#                     same data already in J, until its stats line (every
#                     20 ms) counts every line
# Every figure is lines/s and MB/s over the data's size; the two engine rows
# also give the engine's CPU seconds (its cpu_s), steadier than wall time on
# a shared machine.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SP_BIN:-$root/build/bin}
out=$root/bench/out/journal
lines=${1:-500000}
spj=$bin/sp-journal

[ -x "$spj" ] || { echo "build first: make" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
data=$out/data.ndjson
awk -v n="$lines" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"time\":\"2026-11-26T04:%02d:%02d.%06dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%04d\",\"site\":\"a\"},\"fields\":{\"temperature\":%.2f,\"humidity\":%.1f}}\n",
		int(i / 60000) % 60, int(i / 1000) % 60, i % 1000 * 1000, i % 1000,
		20 + (i % 500) / 100, 40 + (i % 300) / 10 }' >"$data"
bytes=$(wc -c <"$data" | tr -d ' ')

now() { date +%s%N; }

# report NAME START_NS END_NS
report() {
	awk -v name="$1" -v a="$2" -v b="$3" -v n="$lines" \
		-v by="$bytes" 'BEGIN {
		s = (b - a) / 1e9
		printf "%-16s %7.3f s %10.0f lines/s %8.1f MB/s\n", name, s,
			n / s, by / s / 1e6 }'
}

echo "data: $lines lines, $bytes bytes ($(awk -v b="$bytes" -v n="$lines" \
	'BEGIN { printf "%.0f", b / n }') bytes/line)"
sync

t0=$(now); cat "$data" >"$out/copy.ndjson"; t1=$(now)
report "cat copy" "$t0" "$t1"
rm -f "$out/copy.ndjson"

t0=$(now)
"$spj" append "$out/j1" --fsync-interval 1s <"$data" 2>/dev/null
t1=$(now)
report "append 1s" "$t0" "$t1"

t0=$(now)
"$spj" append "$out/j0" --fsync-interval 0 <"$data" 2>/dev/null
t1=$(now)
report "append 0" "$t0" "$t1"
rm -rf "$out/j0"

t0=$(now); cat "$out/j1"/*.ndjson >/dev/null; t1=$(now)
report "cat read" "$t0" "$t1"

# the time the follower's output held every line
until_all() {
	head -n "$lines" >/dev/null
	now >"$out/done"
	cat >/dev/null
}

t0=$(now)
"$spj" follow "$out/j1" bench --idle-exit 300ms 2>/dev/null | until_all
report "follow catch-up" "$t0" "$(cat "$out/done")"
rm -rf "$out/j1"

t0=$(now)
# shellcheck disable=SC2002 # the pipe is what is measured
cat "$data" | cat >/dev/null
t1=$(now)
report "cat pipe" "$t0" "$t1"

"$spj" register "$out/j2" live >/dev/null
"$spj" follow "$out/j2" live --idle-exit 2s 2>/dev/null | until_all &
follower=$!
t0=$(now)
"$spj" append "$out/j2" <"$data" 2>/dev/null
wait "$follower"
report "append | follow" "$t0" "$(cat "$out/done")"

cat >"$out/rules.json" <<'EOF'
{"rules": [{"name": "hot", "measurement": "env", "field": "temperature",
  "above": 24.5, "clear_below": 24, "severity": "warning"}]}
EOF
# cpu FILE: the engine's CPU seconds on its line that counted every line
cpu() {
	grep " in=$lines " "$1" | head -n 1 | sed -n 's/.* cpu_s=\([0-9.]*\).*/  cpu \1 s/p'
}

t0=$(now)
"$bin/alert-engine" --alert-rules-file "$out/rules.json" --stats-interval 0 \
	<"$data" >/dev/null 2>"$out/pipe.err"
t1=$(now)
report "engine pipe" "$t0" "$t1"
cpu "$out/pipe.err"

"$spj" register "$out/j4" engine >/dev/null
"$spj" append "$out/j4" <"$data" 2>/dev/null
t0=$(now)
"$bin/alert-engine" --alert-rules-file "$out/rules.json" --stats-interval 20ms \
	--in "$out/j4" --consumer engine --out "$out/j5" 2>"$out/engine.err" &
engine=$!
until grep -q " in=$lines " "$out/engine.err"; do
	kill -0 "$engine" 2>/dev/null || { echo "alert-engine died" >&2; exit 1; }
	sleep 0.02
done
t1=$(now)
kill "$engine"
wait "$engine" || true
report "engine journal" "$t0" "$t1"
cpu "$out/engine.err"
rm -rf "$out"
