#!/bin/sh
# bench/pipeline.sh: the full pipeline's readings/s with journals (the
# supervisor) against plain pipes, in the same run (bench/README.md,
# "pipeline").
#
#   bench/pipeline.sh [N] [ROUNDS]     (default 50000 readings, 3 rounds)
#
# For every run, a persistent MQTT session is created and left (mosquitto_sub
# -c -E), bench/loadgen publishes N QoS 1 readings over 1000 sensors into
# it, which mosquitto queues; then the pipeline starts and drains the queue:
#
#   pipes:    mqtt-ingest | tee FIFO | influx-sink
#             FIFO -> alert-engine | tee FIFO2 | influx-sink --kind alerts
#                                    FIFO2 -> alert-api
#   journals: scripts/sensorpipe run (ingest, sink, engine, alert-sink, api)
#             through journal/readings and journal/alerts
#
# Measured from the pipeline's start until InfluxDB holds the N points
# (polled every 50 ms), and, without start-up (the supervisor registers the
# consumers and starts five stages; the pipes start at once), from when
# InfluxDB held N/10 points until it held N. With journals the run also
# waits until every consumer's lag is 0 (not timed: alert-engine commits
# its cursor with its state, every ALERT_STATE_INTERVAL). Same env for both (etc/rules.json, INFLUX_FLUSH_INTERVAL=100ms,
# journal defaults: 64 MiB segments, fsync every 1 s). The variants
# alternate, pipes first, ROUNDS times each; each run gets a fresh database.
set -eu
SP_ROOT=$(cd "$(dirname "$0")/.." && pwd)
SP_BIN=${SP_BIN:-$SP_ROOT/build/bin}
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$SP_ROOT/tests/integration/lib.sh"

N=${1:-50000}
ROUNDS=${2:-3}
SP=$SP_ROOT/scripts/sensorpipe
HZ=$(getconf CLK_TCK)

for p in mqtt-ingest influx-sink alert-engine alert-api loadgen sp-journal; do
	[ -x "$SP_BIN/$p" ] || fail "build first (make): $SP_BIN/$p missing"
done

start_mosquitto "max_inflight_messages 100" "log_type error" "log_type warning"
# the test library logs every packet; a benchmark should not
sed -i '/^log_type all$/d' "$MOSQ_CONF"
restart_mosquitto
start_influxd
API_PORT=$(free_port)

cat >"$TMP/bench.env" <<EOF
LOG_LEVEL=warn
STATS_INTERVAL=0
MQTT_URL=$MQTT_URL
MQTT_TOPICS=sensors/#
MQTT_TOPIC_TEMPLATE=sensors/{site}/{sensor_id}/{measurement}
INFLUX_URL=$INFLUX_URL
INFLUX_FLUSH_INTERVAL=100ms
ALERT_RULES_FILE=$SP_ROOT/etc/rules.json
API_LISTEN=127.0.0.1:$API_PORT
EOF

points() {
	influx_query "$1" 'SELECT count(temperature) FROM env' 2>/dev/null |
		jq -r '.results[0].series[0].values[0][1] // 0' 2>/dev/null || echo 0
}

# queue CLIENT_ID: a persistent session holding N readings
queue() {
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -c -q 1 -i "$1" \
		-t 'sensors/#' -E
	"$SP_BIN/loadgen" --url "$MQTT_URL" -n "$N" -k 1000 --qos 1 \
		--client-id "bench-pub-$1" 2>>"$TMP/loadgen.err" ||
		fail "loadgen failed: $(tail -n 2 "$TMP/loadgen.err")"
}

# cpu VARIANT ROUND SECONDS: the pipeline's CPU until InfluxDB held N points
cpu() {
	echo "cpu $1 $2 $3" >>"$TMP/results"
	printf '%-8s round %s: %s CPU s until then (every stage, tee, shell, supervisor)\n' \
		"$1" "$2" "$3"
}

# report VARIANT ROUND MS_TO_ALL MS_10_TO_100
report() {
	echo "$1 $2 $3 $4" >>"$TMP/results"
	printf '%-8s round %s: all %d points in %5d ms (%6s readings/s); 10%%->100%% in %5d ms (%6s readings/s)\n' \
		"$1" "$2" "$N" "$3" "$(rate "$3" "$N")" "$4" "$(rate "$4" $((N - N / 10)))"
}

# tree_cpu PID...: CPU seconds (user + system, with their reaped children)
# of the PIDs and every live descendant, from /proc
tree_cpu() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$*" -v hz="$HZ" '
	{
		pid = $1
		rest = $0
		sub(/^.*\) /, "", rest)
		split(rest, f, " ")
		ppid[pid] = f[2]
		cpu[pid] = f[12] + f[13] + f[14] + f[15]
	}
	END {
		n = split(roots, r, " ")
		for (i = 1; i <= n; i++)
			want[r[i]] = 1
		do {
			changed = 0
			for (p in ppid)
				if (!(p in want) && (ppid[p] in want)) {
					want[p] = 1
					changed = 1
				}
		} while (changed)
		for (p in want)
			t += cpu[p]
		printf "%.2f", t / hz
	}'
}

rate() {
	awk -v n="$2" -v ms="$1" 'BEGIN { printf "%.0f", n * 1000 / ms }'
}

now_ms() {
	date +%s%3N
}

# wait_points DB T0 PID...: prints "MS_TO_ALL MS_10_TO_100": the
# milliseconds from T0 until DB holds N points, and from when it held a
# tenth of them until it held all (the steady rate, without start-up);
# fails when a PID exits first
wait_points() {
	_db=$1
	_t0=$2
	shift 2
	_end=$(($(now_ms) + 300000))
	_t10=
	while :; do
		_n=$(points "$_db")
		_now=$(now_ms)
		[ -n "$_t10" ] || [ "$_n" -lt $((N / 10)) ] || _t10=$_now
		[ "$_n" -lt "$N" ] || break
		[ "$_now" -lt "$_end" ] || fail "run $_db: not complete after 300 s"
		for _p; do
			_sp_alive "$_p" || fail "run $_db: pid $_p exited (logs in $TMP)"
		done
		sleep 0.05
	done
	echo "$((_now - _t0)) $((_now - _t10))"
}

lags_zero() {
	for _j in readings alerts; do
		"$SP_BIN/sp-journal" list "$1/journal/$_j" >"$TMP/list" 2>/dev/null ||
			return 1
		# alert-api never commits (it rebuilds from the journal at start)
		if grep '^consumer=' "$TMP/list" | grep -v '^consumer=api ' |
			grep -qv ' lag_lines=0 '; then
			return 1
		fi
	done
}

run_pipes() {
	db=bench_pipes_$1
	id=bench-pipes-$1
	queue "$id"
	d=$TMP/pipes-$1
	mkdir -p "$d"
	mkfifo "$d/readings" "$d/alerts"
	t0=$(now_ms)
	# the FIFOs are opened inside the children: opening one blocks until
	# its other end is opened
	# shellcheck disable=SC2016 # expanded by the inner sh
	spawn env INFLUX_DB="$db" sh -c 'exec "$1" --env-file "$2" <"$3"' \
		sh "$SP_BIN/alert-api" "$TMP/bench.env" "$d/alerts" \
		2>>"$d/api.err"
	api=$LAST_PID
	# shellcheck disable=SC2016 # expanded by the inner sh
	spawn env INFLUX_DB="$db" sh -c '"$1" --env-file "$2" <"$3" |
		tee "$4" | "$5" --kind alerts --env-file "$2"' \
		sh "$SP_BIN/alert-engine" "$TMP/bench.env" "$d/readings" \
		"$d/alerts" "$SP_BIN/influx-sink" >/dev/null 2>>"$d/engine.err"
	engine=$LAST_PID
	# shellcheck disable=SC2016 # expanded by the inner sh
	spawn env INFLUX_DB="$db" MQTT_CLIENT_ID="$id" sh -c '"$1" --env-file "$2" |
		tee "$3" | "$4" --env-file "$2"' \
		sh "$SP_BIN/mqtt-ingest" "$TMP/bench.env" "$d/readings" \
		"$SP_BIN/influx-sink" >/dev/null 2>>"$d/ingest.err"
	ingest=$LAST_PID
	res=$(wait_points "$db" "$t0" "$ingest" "$engine" "$api")
	cpu pipes "$1" "$(tree_cpu "$ingest" "$engine" "$api")"
	# shellcheck disable=SC2086 # two numbers
	report pipes "$1" $res
	# ingest's shell first: EOF flows down the pipes
	kill -TERM "$(pgrep -P "$ingest" -f mqtt-ingest)" 2>/dev/null || true
	stop_pid "$ingest" 10
	stop_pid "$engine" 10
	stop_pid "$api" 10
}

run_journals() {
	db=bench_journals_$1
	id=bench-journals-$1
	queue "$id"
	home=$TMP/journals-$1
	t0=$(now_ms)
	spawn env SENSORPIPE_HOME="$home" SENSORPIPE_BIN="$SP_BIN" \
		SENSORPIPE_ENV_FILE="$TMP/bench.env" MQTT_CLIENT_ID="$id" \
		INFLUX_DB="$db" "$SP" run >>"$TMP/supervisor-$1.log" 2>&1
	sup=$LAST_PID
	res=$(wait_points "$db" "$t0" "$sup")
	cpu journals "$1" "$(tree_cpu "$sup")"
	# shellcheck disable=SC2086 # two numbers
	report journals "$1" $res
	_end=$(($(now_ms) + 120000))
	while ! lags_zero "$home"; do
		[ "$(now_ms)" -lt "$_end" ] || fail "journals $1: consumers not drained"
		sleep 0.1
	done
	stop_pid "$sup" 60
}

note "N=$N readings, $ROUNDS rounds; mosquitto $MQTT_URL, influxd $INFLUX_URL"
: >"$TMP/results"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	run_pipes "$r"
	run_journals "$r"
	r=$((r + 1))
done
# median over the rounds: this machine's load from other work moves single
# runs by +-50%
median() {
	awk -v v="$1" -v c="$2" '$1 == v { print $c }' "$TMP/results" | sort -n |
		awk '{ x[NR] = $1 } END { if (NR % 2) print x[(NR + 1) / 2];
			else print (x[NR / 2] + x[NR / 2 + 1]) / 2 }'
}
pa=$(rate "$(median pipes 3)" "$N")
ja=$(rate "$(median journals 3)" "$N")
ps=$(rate "$(median pipes 4)" $((N - N / 10)))
js=$(rate "$(median journals 4)" $((N - N / 10)))
pc=$(awk '$1 == "cpu" && $2 == "pipes" { print $4 }' "$TMP/results" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
jc=$(awk '$1 == "cpu" && $2 == "journals" { print $4 }' "$TMP/results" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
awk -v pa="$pa" -v ja="$ja" -v ps="$ps" -v js="$js" -v pc="$pc" -v jc="$jc" 'BEGIN {
	printf "median CPU per run: pipes %.2f s, journals %.2f s: the journal costs %.1f%% more CPU\n",
		pc, jc, 100 * (jc - pc) / pc
	printf "median, start to end: pipes %d readings/s, journals %d readings/s: the journal costs %.1f%%\n",
		pa, ja, 100 * (pa - ja) / pa
	printf "median, steady (10%%->100%%): pipes %d readings/s, journals %d readings/s: the journal costs %.1f%%\n",
		ps, js, 100 * (ps - js) / ps
}'
