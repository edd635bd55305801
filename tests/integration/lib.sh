# sensorpipe integration test library (POSIX sh). Every test starts with
#
#	. "$(dirname "$0")/lib.sh"
#
# which sets `set -eu`, SP_ROOT (the repository), SP_BIN (the programs),
# TMP (a fresh directory removed at exit) and a trap that stops every process
# the test started (by pid, TERM then KILL) and removes TMP. On failure the
# tail of each server's log is printed and TMP is kept when SP_KEEP_TMP=1.
#
# Servers listen on 127.0.0.1 only, on free ports below the ephemeral range:
#	start_mosquitto [CONF_LINE...]	MQTT_PORT MQTT_URL MOSQ_PID MOSQ_CONF MOSQ_LOG
#	stop_mosquitto / restart_mosquitto (same port, same persistence file)
#	start_influxd			INFLUX_PORT INFLUX_URL INFLUX_PID INFLUX_LOG
#	stop_influxd / restart_influxd	(same ports, same data)
#	start_vm			VM_PORT VM_URL VM_PID VM_LOG
# influxd honours INFLUXDB_<SECTION>_<KEY> variables exported before
# start_influxd (e.g. INFLUXDB_HTTP_AUTH_ENABLED=true).
#
# Helpers: influx_query DB Q, influx_exec Q, free_port, spawn CMD...,
# stop_pid PID [SECONDS], wait_for SECONDS CMD..., wait_lines FILE N SECONDS,
# fail MSG, assert_eq EXPECTED ACTUAL WHAT, assert_file_eq EXPECTED ACTUAL,
# note MSG. spawn uses file descriptor 9 for a moment: tests should not.
# shellcheck shell=sh

set -eu

SP_ROOT=${SP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SP_BIN=${SP_BIN:-$SP_ROOT/build/bin}
MQTT_HOST=127.0.0.1
export SP_ROOT SP_BIN MQTT_HOST

MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
INFLUXD=${INFLUXD:-/usr/bin/influxd}
VICTORIA_METRICS=${VICTORIA_METRICS:-/usr/bin/victoria-metrics}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sp-$(basename "$0" .sh).XXXXXX")
_SP_PIDS=$TMP/.pids
_SP_PORTS=$TMP/.ports
: >"$_SP_PIDS"
: >"$_SP_PORTS"
LAST_PID=
LAST_STATUS=
MOSQ_PID=
INFLUX_PID=
VM_PID=

note() {
	printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

assert_eq() {
	if [ "$1" != "$2" ]; then
		fail "$3: expected '$1', got '$2'"
	fi
}

assert_file_eq() {
	if ! diff -u "$1" "$2" >&2; then
		fail "$2 differs from $1"
	fi
}

# Milliseconds since the epoch (GNU date).
_sp_now_ms() {
	date +%s%3N
}

# True while PID runs (a zombie, exited but not yet reaped, does not count).
_sp_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	_st=$(sed -n 's/^[0-9]* (.*) \([A-Z]\) .*/\1/p' "/proc/$1/stat" \
		2>/dev/null) || return 1
	[ "$_st" != Z ] && [ -n "$_st" ]
}

wait_for() {
	_wf_secs=$1
	shift
	_wf_end=$(($(_sp_now_ms) + _wf_secs * 1000))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(_sp_now_ms)" -ge "$_wf_end" ]; then
			fail "timed out after ${_wf_secs}s waiting for: $*"
		fi
		sleep 0.1
	done
}

_sp_has_lines() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

wait_lines() {
	_wl_end=$(($(_sp_now_ms) + $3 * 1000))
	while ! _sp_has_lines "$1" "$2"; do
		if [ "$(_sp_now_ms)" -ge "$_wl_end" ]; then
			_wl_n=0
			[ -f "$1" ] && _wl_n=$(wc -l <"$1")
			fail "timed out after $3s waiting for $2 lines in $1 (has $_wl_n)"
		fi
		sleep 0.1
	done
}

# A random number in [LOW, HIGH).
_sp_random() {
	_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $(($1 + _r % ($2 - $1)))
}

# True when nothing holds 127.0.0.1:PORT (a bind attempt, as a server does).
_sp_port_free() {
	python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
' "$1"
}

# Prints a port in 20000-31999 (below ip_local_port_range, so no outgoing
# connection can hold it) that nothing listens on and this test has not
# handed out before.
free_port() {
	_fp_try=0
	while [ "$_fp_try" -lt 200 ]; do
		_fp_try=$((_fp_try + 1))
		_fp=$(_sp_random 20000 32000)
		if grep -qx "$_fp" "$_SP_PORTS"; then
			continue
		fi
		if _sp_port_free "$_fp"; then
			echo "$_fp" >>"$_SP_PORTS"
			echo "$_fp"
			return 0
		fi
	done
	fail "free_port: no free port found"
}

# spawn CMD ARGS... [<in >out 2>err]: runs CMD in the background with the
# redirections given to spawn (stdin included: a plain `cmd &` would read
# /dev/null), registers it for cleanup and sets LAST_PID.
spawn() {
	exec 9<&0
	"$@" <&9 9<&- &
	LAST_PID=$!
	exec 9<&-
	echo "$LAST_PID" >>"$_SP_PIDS"
	_sp_wait_exec "$LAST_PID"
}

# Until a child has exec'd, it is a copy of this shell with its traps: a
# SIGTERM sent then is taken by the copy and lost at exec (dash: a
# "spawn sleep 60; stop_pid" lost it every time). So spawn returns once the
# child's name (/proc/PID/stat) differs from ours, or it is gone.
read -r _ _SP_COMM _ </proc/$$/stat || _SP_COMM=
_sp_wait_exec() {
	_we_n=0
	while [ "$_we_n" -lt 2000 ]; do
		_we_comm=
		_we_state=
		read -r _ _we_comm _we_state _ <"/proc/$1/stat" 2>/dev/null ||
			return 0
		[ "$_we_comm" = "$_SP_COMM" ] && [ "$_we_state" != Z ] || return 0
		_we_n=$((_we_n + 1))
		sleep 0.001
	done
}

_sp_unregister() {
	if [ -s "$_SP_PIDS" ]; then
		grep -vx "$1" "$_SP_PIDS" >"$_SP_PIDS.new" || true
		mv "$_SP_PIDS.new" "$_SP_PIDS"
	fi
}

# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (5), then SIGKILL.
# LAST_STATUS is the exit status (128+N for a signal; 127 when PID is not a
# child of this shell).
stop_pid() {
	_sp_pid=$1
	_sp_end=$(($(_sp_now_ms) + ${2:-5} * 1000))
	kill -TERM "$_sp_pid" 2>/dev/null || true
	while _sp_alive "$_sp_pid"; do
		if [ "$(_sp_now_ms)" -ge "$_sp_end" ]; then
			note "pid $_sp_pid still running after ${2:-5}s: SIGKILL"
			kill -KILL "$_sp_pid" 2>/dev/null || true
			break
		fi
		sleep 0.05
	done
	LAST_STATUS=0
	# shellcheck disable=SC2034 # read by tests
	wait "$_sp_pid" 2>/dev/null || LAST_STATUS=$?
	_sp_unregister "$_sp_pid"
}

# Waits until PID listens on 127.0.0.1:PORT; fails early when PID exits.
_sp_wait_listen() {
	_wl_pid=$1
	_wl_port=$2
	_wl_end=$(($(_sp_now_ms) + ${3:-20} * 1000))
	while [ -z "$(ss -Hltn "sport = :$_wl_port" 2>/dev/null)" ]; do
		_sp_alive "$_wl_pid" || return 1
		if [ "$(_sp_now_ms)" -ge "$_wl_end" ]; then
			return 1
		fi
		sleep 0.05
	done
}

# Waits until curl gets HTTP status CODE from URL; fails early when PID exits.
_sp_wait_http() {
	_wh_pid=$1
	_wh_url=$2
	_wh_code=$3
	_wh_end=$(($(_sp_now_ms) + ${4:-30} * 1000))
	while :; do
		_wh_got=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$_wh_url" \
			2>/dev/null) || true
		[ "$_wh_got" = "$_wh_code" ] && return 0
		_sp_alive "$_wh_pid" || return 1
		if [ "$(_sp_now_ms)" -ge "$_wh_end" ]; then
			return 1
		fi
		sleep 0.1
	done
}

# ---- mosquitto ------------------------------------------------------------

_sp_mosq_run() {
	spawn "$MOSQUITTO" -c "$MOSQ_CONF" >>"$MOSQ_LOG.out" 2>&1
	MOSQ_PID=$LAST_PID
	_sp_wait_listen "$MOSQ_PID" "$MQTT_PORT" 20
}

start_mosquitto() {
	mkdir -p "$TMP/mosquitto"
	chmod 1777 "$TMP/mosquitto"
	MOSQ_CONF=$TMP/mosquitto/mosquitto.conf
	MOSQ_LOG=$TMP/mosquitto/mosquitto.log
	_sm_try=0
	while :; do
		MQTT_PORT=$(free_port)
		{
			echo "listener $MQTT_PORT 127.0.0.1"
			echo "allow_anonymous true"
			echo "persistence true"
			echo "persistence_location $TMP/mosquitto/"
			echo "autosave_interval 1"
			echo "max_queued_messages 0"
			echo "log_dest file $MOSQ_LOG"
			echo "log_type all"
			echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
			# root keeps root: the files under TMP stay readable
			echo "user root"
			for _sm_line; do
				echo "$_sm_line"
			done
		} >"$MOSQ_CONF"
		if _sp_mosq_run; then
			break
		fi
		stop_pid "$MOSQ_PID" 2
		_sm_try=$((_sm_try + 1))
		if [ "$_sm_try" -ge 3 ]; then
			tail -n 20 "$MOSQ_LOG" "$MOSQ_LOG.out" >&2 || true
			fail "mosquitto did not start"
		fi
	done
	MQTT_URL=tcp://127.0.0.1:$MQTT_PORT
	note "mosquitto pid $MOSQ_PID on $MQTT_URL"
}

stop_mosquitto() {
	[ -n "$MOSQ_PID" ] || fail "stop_mosquitto: not started"
	stop_pid "$MOSQ_PID" 10
	MOSQ_PID=
}

restart_mosquitto() {
	[ -z "$MOSQ_PID" ] || stop_mosquitto
	if ! _sp_mosq_run; then
		tail -n 20 "$MOSQ_LOG" "$MOSQ_LOG.out" >&2 || true
		fail "mosquitto did not restart on port $MQTT_PORT"
	fi
	note "mosquitto restarted, pid $MOSQ_PID"
}

# ---- influxd --------------------------------------------------------------

_sp_influxd_run() {
	spawn "$INFLUXD" -config "$_SP_INFLUX_CONF" >>"$INFLUX_LOG" 2>&1
	INFLUX_PID=$LAST_PID
	_sp_wait_http "$INFLUX_PID" "$INFLUX_URL/ping" 204 60
}

start_influxd() {
	_si_dir=$TMP/influxdb
	mkdir -p "$_si_dir"
	_SP_INFLUX_CONF=$_si_dir/influxdb.conf
	INFLUX_LOG=$_si_dir/influxd.log
	_si_try=0
	while :; do
		INFLUX_PORT=$(free_port)
		_si_rpc=$(free_port)
		INFLUX_URL=http://127.0.0.1:$INFLUX_PORT
		cat >"$_SP_INFLUX_CONF" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$_si_rpc"

[meta]
  dir = "$_si_dir/meta"
  logging-enabled = false

[data]
  dir = "$_si_dir/data"
  wal-dir = "$_si_dir/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
EOF
		if _sp_influxd_run; then
			break
		fi
		stop_pid "$INFLUX_PID" 5
		_si_try=$((_si_try + 1))
		if [ "$_si_try" -ge 3 ]; then
			tail -n 20 "$INFLUX_LOG" >&2 || true
			fail "influxd did not start"
		fi
	done
	note "influxd pid $INFLUX_PID on $INFLUX_URL"
}

stop_influxd() {
	[ -n "$INFLUX_PID" ] || fail "stop_influxd: not started"
	stop_pid "$INFLUX_PID" 15
	INFLUX_PID=
}

restart_influxd() {
	[ -z "$INFLUX_PID" ] || stop_influxd
	if ! _sp_influxd_run; then
		tail -n 20 "$INFLUX_LOG" >&2 || true
		fail "influxd did not restart on port $INFLUX_PORT"
	fi
	note "influxd restarted, pid $INFLUX_PID"
}

# influx_query DB 'SELECT ...': prints the JSON answer (times in ns).
influx_query() {
	curl -sS --fail-with-body -G "$INFLUX_URL/query" \
		--data-urlencode "db=$1" --data-urlencode "q=$2" \
		--data-urlencode "epoch=ns"
}

# influx_exec 'CREATE DATABASE x': POSTs the statement; fails when the
# answer holds an error.
influx_exec() {
	_ie_out=$(curl -sS --fail-with-body -XPOST "$INFLUX_URL/query" \
		--data-urlencode "q=$1") || fail "influx_exec '$1': $_ie_out"
	case $_ie_out in
	*'"error"'*) fail "influx_exec '$1': $_ie_out" ;;
	esac
}

# ---- victoria-metrics -----------------------------------------------------

start_vm() {
	mkdir -p "$TMP/vm"
	VM_LOG=$TMP/vm/victoria-metrics.log
	_sv_try=0
	while :; do
		VM_PORT=$(free_port)
		VM_URL=http://127.0.0.1:$VM_PORT
		spawn "$VICTORIA_METRICS" -httpListenAddr="127.0.0.1:$VM_PORT" \
			-storageDataPath="$TMP/vm/data" -search.latencyOffset=0s \
			-loggerLevel=WARN >>"$VM_LOG" 2>&1
		VM_PID=$LAST_PID
		if _sp_wait_http "$VM_PID" "$VM_URL/health" 200 30; then
			break
		fi
		stop_pid "$VM_PID" 5
		_sv_try=$((_sv_try + 1))
		if [ "$_sv_try" -ge 3 ]; then
			tail -n 20 "$VM_LOG" >&2 || true
			fail "victoria-metrics did not start"
		fi
	done
	note "victoria-metrics pid $VM_PID on $VM_URL"
}

# ---- cleanup --------------------------------------------------------------

_sp_cleanup() {
	_cu_status=$?
	set +e
	trap - EXIT INT TERM HUP
	# TERM everything first, then wait for each (KILL after 5 s).
	while read -r _cu_pid; do
		kill -TERM "$_cu_pid" 2>/dev/null
	done <"$_SP_PIDS"
	while read -r _cu_pid; do
		stop_pid "$_cu_pid" 5
	done <"$_SP_PIDS"
	if [ "$_cu_status" -ne 0 ]; then
		for _cu_log in "$TMP/mosquitto/mosquitto.log" \
			"$TMP/influxdb/influxd.log" "$TMP/vm/victoria-metrics.log"; do
			if [ -s "$_cu_log" ]; then
				echo "--- tail of $_cu_log" >&2
				tail -n 15 "$_cu_log" >&2
			fi
		done
	fi
	if [ "$_cu_status" -ne 0 ] && [ "${SP_KEEP_TMP:-0}" = 1 ]; then
		note "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$_cu_status"
}

trap _sp_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
