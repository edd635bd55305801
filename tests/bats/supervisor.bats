#!/usr/bin/env bats
# scripts/sensorpipe against stand-in stages (tests/bats/fake-stage under
# each program's name) and the real sp-journal: start/status/stop, the
# graph's arguments, consumers registered before the writer, permanent
# exits, restart backoff and its reset, the lock, ensure, stop order.

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	SP=$ROOT/scripts/sensorpipe
	SPJ=${SP_BIN:-$ROOT/build/bin}/sp-journal
	[ -x "$SPJ" ] || skip_fail "sp-journal not built: $SPJ"
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/bin" "$T/ctl"
	for p in mqtt-ingest influx-sink alert-engine alert-api mqtt-publish; do
		ln -s "$BATS_TEST_DIRNAME/fake-stage" "$T/bin/$p"
	done
	ln -s "$SPJ" "$T/bin/sp-journal"
	export FAKE_CTL=$T/ctl
	export SENSORPIPE_BIN=$T/bin
	export SENSORPIPE_HOME=$T/home
	export SENSORPIPE_STOP_TIMEOUT=5
	unset SENSORPIPE_ENV_FILE SENSORPIPE_STAGES
	: >"$FAKE_CTL/events"
}

teardown() {
	"$SP" stop >/dev/null 2>&1 || true
}

skip_fail() {
	echo "$*" >&2
	return 1
}

now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo $((us / 1000))
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s.
wait_until() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$(now_ms)" -ge "$end" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

# count EVENT STAGE: how many times STAGE logged EVENT (start, term, exit).
count() {
	awk -v e="$1" -v s="$2" '$2 == e && $(NF - 1) == s { n++ } END { print n + 0 }' \
		"$FAKE_CTL/events"
}

starts_at_least() {
	[ "$(count start "$1")" -ge "$2" ]
}

# stage_field STAGE KEY: from the supervisor's state file.
stage_field() {
	sed -n "s/^$2=//p" "$SENSORPIPE_HOME/run/stage.$1"
}

stage_state_is() {
	[ "$(stage_field "$1" state)" = "$2" ]
}

all_running() {
	local s
	for s in "$@"; do
		stage_state_is "$s" running || return 1
		! dead "$(stage_field "$s" pid)" || return 1
	done
}

# dead PID: gone or a zombie (not every init reaps at once)
dead() {
	! kill -0 "$1" 2>/dev/null ||
		[ "$(sed -n 's/^[0-9]* (.*) \([A-Z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

suplog_has() {
	grep -q -- "$1" "$SENSORPIPE_HOME/log/supervisor.log"
}

@test "start, status and stop run the whole graph with the env file" {
	printf 'LOG_LEVEL=debug\n' >"$T/sp.env"
	run "$SP" -e "$T/sp.env" start
	[ "$status" -eq 0 ]
	[[ $output == *"started, pid"* ]]
	wait_until 5 all_running ingest sink engine alert-sink api

	run "$SP" status
	[ "$status" -eq 0 ]
	[[ $output == *"supervisor: running"* ]]
	for s in ingest sink engine alert-sink api; do
		echo "$output" | grep -Eq "^$s +running +[0-9]+ "
	done
	[[ $output == *"consumer=engine"* ]]
	[[ $output == *"consumer=api"* ]]
	[[ $output == *"journal readings: disk="* ]]

	# the graph: inputs, consumers, outputs, the env file for everyone
	J=$SENSORPIPE_HOME/journal
	[ "$(cat "$FAKE_CTL/ingest.args")" = "--out $J/readings --env-file $T/sp.env" ]
	[ "$(cat "$FAKE_CTL/sink.args")" = "--in $J/readings --consumer influx --env-file $T/sp.env" ]
	[[ $(cat "$FAKE_CTL/engine.args") == "--in $J/readings --consumer engine --out $J/alerts --alert-state-file "*" --env-file $T/sp.env" ]]
	[ "$(cat "$FAKE_CTL/alert-sink.args")" = "--kind alerts --in $J/alerts --consumer influx --env-file $T/sp.env" ]
	[[ $(cat "$FAKE_CTL/api.args") == "--in $J/alerts --consumer api --api-ack-file "*" --env-file $T/sp.env" ]]
	# alert-api gets a state file (so it commits its cursor) through its
	# environment; no other stage does
	[ "$(cat "$FAKE_CTL/api.api_state_file")" = "$SENSORPIPE_HOME/state/alert-api.state" ]
	[ -z "$(cat "$FAKE_CTL/sink.api_state_file")" ]

	# every consumer was registered before the writer (ingest) started
	[ -f "$J/readings/cursor.influx" ]
	[ -f "$J/readings/cursor.engine" ]
	[ -f "$J/alerts/cursor.influx" ]
	[ -f "$J/alerts/cursor.api" ]
	reg=$(grep -n 'consumer registered' "$SENSORPIPE_HOME/log/supervisor.log" | tail -n 1 | cut -d: -f1)
	ing=$(grep -n 'stage started.*stage=ingest' "$SENSORPIPE_HOME/log/supervisor.log" | cut -d: -f1)
	[ "$reg" -lt "$ing" ]

	run "$SP" logs
	[ "$status" -eq 0 ]
	[[ $output == *"supervisor started"* ]]
	run "$SP" logs ingest
	[ "$status" -eq 0 ]
	[[ $output == *"starting stage ingest"* ]]
	run "$SP" logs nosuch
	[ "$status" -eq 64 ]

	run "$SP" stop
	[ "$status" -eq 0 ]
	[[ $output == *stopped* ]]
	for s in ingest sink engine alert-sink api; do
		[ "$(count start "$s")" -eq 1 ]
		[ "$(count exit "$s")" -eq 1 ]
		! kill -0 "$(stage_field "$s" pid)" 2>/dev/null || [ -z "$(stage_field "$s" pid)" ]
	done
	run "$SP" status
	[ "$status" -eq 3 ]
	[[ $output == *"not running"* ]]
	run "$SP" stop
	[ "$status" -eq 0 ]
	[[ $output == *"not running"* ]]
}

@test "SENSORPIPE_STAGES runs a subset; bad usage and configuration are refused" {
	export SENSORPIPE_STAGES="ingest engine"
	run "$SP" start
	[ "$status" -eq 0 ]
	wait_until 5 all_running ingest engine
	[ ! -e "$SENSORPIPE_HOME/run/stage.sink" ]
	# only the consumers of the stages that run are registered
	[ -f "$SENSORPIPE_HOME/journal/readings/cursor.engine" ]
	[ ! -e "$SENSORPIPE_HOME/journal/readings/cursor.influx" ]
	"$SP" stop

	run "$SP" frobnicate
	[ "$status" -eq 64 ]
	run "$SP" -e "$T/missing.env" status
	[ "$status" -eq 78 ]
	SENSORPIPE_STAGES="ingest nosuch" run "$SP" start
	[ "$status" -eq 78 ]
	rm "$T/bin/alert-api"
	SENSORPIPE_STAGES= run "$SP" run
	[ "$status" -eq 78 ]
	suplog_has "program not found.*stage=api"
}

@test "exits 64, 65 and 78 are permanent; the other stages keep running" {
	echo "exit 78" >"$FAKE_CTL/api.mode"
	echo "exit 64" >"$FAKE_CTL/alert-sink.mode"
	echo "exit-after 300 65" >"$FAKE_CTL/sink.mode"
	"$SP" start
	wait_until 5 stage_state_is sink failed
	wait_until 5 stage_state_is api failed
	wait_until 5 stage_state_is alert-sink failed
	sleep 2.5 # longer than the first restart delay: nothing comes back
	[ "$(count start api)" -eq 1 ]
	[ "$(count start alert-sink)" -eq 1 ]
	[ "$(count start sink)" -eq 1 ]
	all_running ingest engine
	[ "$(count start ingest)" -eq 1 ]
	suplog_has "stage failed permanently, not restarted.*stage=api status=78 (configuration error)"
	suplog_has "stage=alert-sink status=64 (usage error)"
	suplog_has "stage=sink status=65 (data error)"
	run "$SP" status
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^api +failed +- +- +0 +78 \(configuration error\)'
	echo "$output" | grep -Eq '^ingest +running'
}

@test "a crashing stage is restarted after 1, 2, 4 s" {
	echo "exit 75" >"$FAKE_CTL/sink.mode"
	"$SP" start
	wait_until 12 starts_at_least sink 4
	awk '$2 == "start" && $3 == "sink" { print $1 }' "$FAKE_CTL/events" |
		head -n 4 >"$T/starts"
	mapfile -t t <"$T/starts"
	g1=$((t[1] - t[0]))
	g2=$((t[2] - t[1]))
	g3=$((t[3] - t[2]))
	echo "gaps: $g1 $g2 $g3 ms" >&3
	[ "$g1" -ge 950 ] && [ "$g1" -le 1700 ]
	[ "$g2" -ge 1950 ] && [ "$g2" -le 2800 ]
	[ "$g3" -ge 3950 ] && [ "$g3" -le 4900 ]
	suplog_has "stage=sink status=75 (temporary failure) uptime=0s delay_ms=4000 restarts=3"
	run "$SP" status
	echo "$output" | grep -Eq '^sink +(backoff|running) .* [3-9] +75 \(temporary failure\)'
	all_running ingest engine alert-sink api
}

@test "kill -9 and an unasked exit 0 are restarted; the delay resets after a long run" {
	export SENSORPIPE_BACKOFF_RESET_MS=1000
	echo "exit-after 1200 0" >"$FAKE_CTL/ingest.mode"
	"$SP" start
	wait_until 5 all_running engine
	pid=$(stage_field engine pid)
	kill -KILL "$pid"
	wait_until 3 starts_at_least engine 2
	suplog_has "stage=engine status=137 (killed by signal 9 SIGKILL)"
	wait_until 3 all_running engine
	[ "$(stage_field engine pid)" != "$pid" ]
	# ingest exits 0 after 1.2 s up each time: restarted, and since it ran
	# longer than the reset time, always after the first delay (1 s)
	wait_until 12 starts_at_least ingest 3
	suplog_has "stage=ingest status=0 (exit 0 unasked, treated as 75)"
	! grep -q 'stage=ingest .*delay_ms=2000' "$SENSORPIPE_HOME/log/supervisor.log"
	[ "$(grep -c 'stage=ingest .*delay_ms=1000' "$SENSORPIPE_HOME/log/supervisor.log")" -ge 2 ]
}

@test "the lock refuses a second supervisor" {
	"$SP" start
	wait_until 5 all_running ingest
	run "$SP" run
	[ "$status" -eq 75 ]
	[[ $output == *"another supervisor runs"* ]]
	run "$SP" start
	[ "$status" -eq 75 ]
	[[ $output == *"already running"* ]]
	[ "$(count start ingest)" -eq 1 ]
	[ "$(count start engine)" -eq 1 ]
	run "$SP" status
	[ "$status" -eq 0 ]
}

@test "ensure is idempotent and recovers from a killed supervisor" {
	run "$SP" ensure
	[ "$status" -eq 0 ]
	wait_until 5 all_running ingest sink engine alert-sink api
	pid=$(cat "$SENSORPIPE_HOME/run/supervisor.pid")
	run "$SP" ensure
	[ "$status" -eq 0 ]
	run "$SP" ensure
	[ "$status" -eq 0 ]
	[ "$(cat "$SENSORPIPE_HOME/run/supervisor.pid")" = "$pid" ]
	[ "$(count start ingest)" -eq 1 ]

	# kill -9 leaves the stages running without a supervisor; the next
	# ensure starts one, which stops those orphans before starting anew
	old=$(stage_field ingest pid)
	kill -KILL "$pid"
	wait_until 5 dead "$pid"
	run "$SP" ensure
	[ "$status" -eq 0 ]
	[ "$(cat "$SENSORPIPE_HOME/run/supervisor.pid")" != "$pid" ]
	wait_until 10 all_running ingest sink engine alert-sink api
	dead "$old"
	[ "$(count start ingest)" -eq 2 ]
	[ "$(count exit ingest)" -eq 1 ]
	suplog_has "stopping a stage left by a previous supervisor.*stage=ingest pid=$old"
}

@test "stop: ingest first, then the engine, then the rest; a stuck stage is killed" {
	export SENSORPIPE_STOP_TIMEOUT=1
	echo "slow-stop 300" >"$FAKE_CTL/ingest.mode"
	echo "slow-stop 300" >"$FAKE_CTL/engine.mode"
	echo "slow-stop 5000" >"$FAKE_CTL/api.mode"
	"$SP" start
	wait_until 5 all_running ingest sink engine alert-sink api
	run "$SP" stop
	[ "$status" -eq 0 ]
	awk '$2 == "term" || $2 == "exit" { print $2, $(NF - 1) }' \
		"$FAKE_CTL/events" >"$T/order"
	cat "$T/order" >&3
	# the first four events: ingest stops completely before the engine
	[ "$(sed -n 1,4p "$T/order" | tr '\n' ' ')" = "term ingest exit ingest term engine exit engine " ]
	# then the sinks and the API get SIGTERM; the API did not finish in
	# time and was killed
	grep -qx 'term sink' "$T/order"
	grep -qx 'term alert-sink' "$T/order"
	grep -qx 'term api' "$T/order"
	! grep -qx 'exit api' "$T/order"
	suplog_has "stage did not stop in time, SIGKILL.*stage=api"
	suplog_has "stage stopped.*stage=api status=137"
	[ "$(stage_field api state)" = stopped ]
}

@test "restart stops everything in order and starts a new supervisor" {
	"$SP" start
	wait_until 5 all_running ingest sink engine alert-sink api
	pid=$(cat "$SENSORPIPE_HOME/run/supervisor.pid")
	run "$SP" restart
	[ "$status" -eq 0 ]
	[[ $output == *stopped*started* ]]
	[ "$(cat "$SENSORPIPE_HOME/run/supervisor.pid")" != "$pid" ]
	wait_until 5 all_running ingest sink engine alert-sink api
	for s in ingest sink engine alert-sink api; do
		[ "$(count start "$s")" -eq 2 ]
		[ "$(count exit "$s")" -eq 1 ]
	done
	# the restart counters start again with the new supervisor
	[ "$(stage_field ingest restarts)" = 0 ]
}
