#!/bin/sh
# alert-api: with influxd stopped, /ready and /sensors answer 503 with a JSON
# error within INFLUX_TIMEOUT (never hang) while /alerts keeps working; a
# server that accepts but never answers is cut at INFLUX_TIMEOUT; after a
# restart of influxd everything is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

start_influxd
api_load_sensors

note "the input closing (pipe EOF) makes /ready 503"
mkfifo "$TMP/in"
exec 7<>"$TMP/in"
API_IN=$TMP/in
api_start
expect 200 GET /ready
assert_eq '"open"' "$(jbody .input)" "input open"
exec 7>&-
wait_for 5 sh -c "curl -s '$API_URL/ready' | grep -q 'alert input closed'"
expect 503 GET /ready
api_stop

API_IN=$API_EVENTS
api_start --influx-timeout 1s
expect 200 GET /ready
expect 200 GET /sensors

# timed CODE PATH MAX_MS: the request answers CODE within MAX_MS
timed() {
	t0=$(date +%s%3N)
	expect "$1" GET "$2"
	ms=$(($(date +%s%3N) - t0))
	[ "$ms" -le "$3" ] || fail "$2 took ${ms} ms (max $3)"
}

note "influxd stopped"
stop_influxd
timed 503 /ready 2500
expect_error not_ready "InfluxDB"
timed 503 /sensors 2500
expect_error influxdb_unavailable ""
timed 503 /sensors/s-1 2500
timed 503 '/sensors/s-1/readings?field=temperature' 2500
timed 200 /alerts 500
timed 200 /health 500
expect 200 GET /metrics
grep -q '^alertapi_influxdb_query_errors_total{kind="unavailable"} 3$' "$TMP/body" ||
	fail "unavailable errors not counted"

note "influxd back"
restart_influxd
expect 200 GET /ready
expect 200 GET /sensors/s-1
assert_eq 26 "$(jbody .fields.temperature)" "data after restart"
api_stop

note "a black hole (accepts, never answers): cut at INFLUX_TIMEOUT"
BH_PORT=$(free_port)
spawn python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)' "$BH_PORT"
wait_for 5 python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$BH_PORT"
INFLUX_URL=http://127.0.0.1:$BH_PORT
api_start --influx-timeout 3s
note "64 requests stuck on it (every InfluxDB worker) do not hold up the others, acks included"
i=0
while [ "$i" -lt 64 ]; do
	i=$((i + 1))
	spawn curl -s -o /dev/null -w '%{http_code}' "$API_URL/sensors" >"$TMP/stuck.$i"
	echo "$LAST_PID" >>"$TMP/stuck.pids"
done
sleep 0.5 # let them reach the black hole (nothing to poll for)
timed 200 /health 500
timed 200 '/alerts?limit=5' 500
timed 200 "/alerts/a0000000-0000-5000-8000-000000000001" 500
t0=$(date +%s%3N)
expect 200 POST "/alerts/a0000000-0000-5000-8000-000000000001/ack" \
	-H 'Content-Type: application/json' -d '{"by":"t0407"}'
ms=$(($(date +%s%3N) - t0))
[ "$ms" -le 500 ] || fail "ack took ${ms} ms with the InfluxDB workers busy"
assert_eq '"t0407"' "$(jbody .acknowledged.by)" "ack with the InfluxDB workers busy"
while read -r p; do
	wait "$p" || true
done <"$TMP/stuck.pids"
i=0
while [ "$i" -lt 64 ]; do
	i=$((i + 1))
	assert_eq 503 "$(cat "$TMP/stuck.$i")" "stuck request $i"
done
timed 503 /sensors 4500
expect_error influxdb_unavailable "Timeout"
timed 503 /ready 4500
api_stop
note "ok"
