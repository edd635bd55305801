# Helpers for the alert-api integration tests (t04xx), sourced after lib.sh.
#
#	api_start [ARGS...]	starts alert-api on a free port with stdin from
#				$API_IN (default: the fixed events file); sets
#				API_PORT API_URL API_PID; waits for /health
#	api_stop		SIGTERM, asserts exit status 0
#	req METHOD PATH [CURL_ARGS...]	prints the status; body in $TMP/body
#	expect CODE METHOD PATH [CURL_ARGS...]	fails unless the status is CODE
#	jbody FILTER		jq -c FILTER on the last body
#	influx_write LINES	writes line protocol (ns) to database sensors
# shellcheck shell=sh

API_EVENTS=$SP_ROOT/tests/integration/alert-api-events.ndjson
API_IN=${API_IN:-$API_EVENTS}

api_start() {
	API_PORT=$(free_port)
	API_URL=http://127.0.0.1:$API_PORT
	spawn "$SP_BIN/alert-api" --api-listen "127.0.0.1:$API_PORT" \
		--influx-url "${INFLUX_URL:-http://127.0.0.1:1}" \
		--stats-interval 0 "$@" <"$API_IN" >>"$TMP/api.out" \
		2>>"$TMP/api.err" 7>&-
	API_PID=$LAST_PID
	if ! wait_for_api; then
		cat "$TMP/api.err" >&2
		fail "alert-api did not start"
	fi
}

wait_for_api() {
	_wa_end=$(($(date +%s) + 10))
	while :; do
		if curl -s -o /dev/null -m 2 "$API_URL/health" 2>/dev/null; then
			return 0
		fi
		kill -0 "$API_PID" 2>/dev/null || return 1
		[ "$(date +%s)" -lt "$_wa_end" ] || return 1
		sleep 0.05
	done
}

api_stop() {
	stop_pid "$API_PID" 10
	assert_eq 0 "$LAST_STATUS" "alert-api exit status after SIGTERM"
}

req() {
	_rq_m=$1
	_rq_p=$2
	shift 2
	curl -s -o "$TMP/body" -w '%{http_code}' -m 20 -X "$_rq_m" "$@" \
		"$API_URL$_rq_p" || echo "curl-failed"
}

expect() {
	_ex_code=$1
	shift
	_ex_got=$(req "$@")
	if [ "$_ex_got" != "$_ex_code" ]; then
		cat "$TMP/body" >&2 || true
		fail "$*: expected HTTP $_ex_code, got $_ex_got"
	fi
}

jbody() {
	jq -c "$1" "$TMP/body"
}

# Asserts the last body is an error naming CODE and containing TEXT.
expect_error() {
	assert_eq "\"$1\"" "$(jbody .error.code)" "error code"
	case $(jbody .error.message) in
	*"$2"*) ;;
	*) fail "error message $(jbody .error.message) lacks '$2'" ;;
	esac
}

influx_write() {
	_iw_out=$(curl -sS -w '%{http_code}' -o "$TMP/iw.body" -XPOST \
		"$INFLUX_URL/write?db=sensors" --data-binary "$1")
	[ "$_iw_out" = 204 ] || fail "influx write: $_iw_out $(cat "$TMP/iw.body")"
}

# The known data of the tests: times are fixed, values chosen so each
# aggregate is different.
api_load_sensors() {
	influx_exec 'CREATE DATABASE sensors'
	influx_write "env,sensor_id=s-1,site=a temperature=20,humidity=40 1795662000000000000
env,sensor_id=s-1,site=a temperature=22 1795662030000000000
env,sensor_id=s-1,site=a temperature=30 1795662070000000000
env,sensor_id=s-1,site=a temperature=26,humidity=45 1795662120000000000
env,sensor_id=s-2,site=b temperature=50 1795662010000000000
env,sensor_id=x'\\ OR\\ 1\\=1 temperature=7 1795662000000000000"
}
