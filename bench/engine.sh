#!/bin/sh
# alert-engine throughput, memory and latency (bench/README.md,
# "alert-engine").
#
#	bench/engine.sh [READINGS] [SERIES] [RULES]	(1000000 10000 1000)
#
# Rules and readings come from bench/engine_gen.py: RULES rules over 100
# sites (each series matches RULES/100 of them: above with hysteresis and
# `for`, below, outside, rate over 60 s, deadman), READINGS readings
# round-robin over SERIES series, one second of event time per round. No
# LLM. Prints, for three runs of the same file, readings/s measured by the
# engine from its first read to end of input (the "done" log line) and over
# the whole process (start-up and rules included), then the state count
# and bytes per state: RSS growth during the run / states, and the bytes
# the engine itself allocated for series and states / states. Last, the
# latency from a reading written to its alert read back at 10,000
# readings/s (bench/engine_latency.py, 5 s, p50 and p99).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SP_BIN:-$root/build/bin}
n=${1:-1000000}
series=${2:-10000}
nrules=${3:-1000}
ae=$bin/alert-engine
[ -x "$ae" ] || { echo "build first: make" >&2; exit 1; }
out=$root/bench/out/engine
rm -rf "$out"
mkdir -p "$out"

python3 "$root/bench/engine_gen.py" rules "$nrules" 100 >"$out/rules.json"
python3 "$root/bench/engine_gen.py" readings "$n" "$series" 100 \
	>"$out/readings.ndjson"
echo "alert-engine: $n readings, $series series, $nrules rules ($(uname -m), $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg))"

for run in 1 2 3; do
	t0=$(date +%s%N)
	"$ae" --alert-rules-file "$out/rules.json" --stats-interval 0 \
		<"$out/readings.ndjson" >"$out/alerts.ndjson" 2>"$out/run$run.log"
	t1=$(date +%s%N)
	done_line=$(grep ' done' "$out/run$run.log")
	val() {
		echo "$done_line" | sed -n "s/.* $1=\([0-9.]*\).*/\1/p"
	}
	states=$(val states)
	rss=$(val rss_delta_kib)
	mem=$(val state_mem)
	wall_ms=$(((t1 - t0) / 1000000))
	echo "run $run: rate_in=$(val rate_in)/s (loop) $((n * 1000 / wall_ms))/s (process, ${wall_ms} ms) rate_cpu=$(val rate_cpu)/s (loop, per CPU second)" \
		"events=$(wc -l <"$out/alerts.ndjson") states=$states" \
		"rss_delta=${rss}KiB bytes/state(rss)=$((rss * 1024 / states))" \
		"bytes/state(alloc)=$((mem / states))"
done

python3 "$root/bench/engine_latency.py" "$ae" "$out/rules.json" 10000 5 \
	"$series" | sed 's/^/latency at 10000 readings\/s: /'
