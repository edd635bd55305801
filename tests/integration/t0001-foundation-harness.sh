#!/bin/sh
# The test harness itself: spawn/stop_pid, mosquitto (pub/sub, a persistent
# QoS 1 session surviving a broker restart), influxd (write, query, data kept
# across a restart) and victoria-metrics (/api/v2/write, /api/v1/export).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# -- spawn passes stdin/stdout redirections; stop_pid reports the status
printf 'a\nb\n' >"$TMP/in"
spawn cat <"$TMP/in" >"$TMP/out"
wait_lines "$TMP/out" 2 5
assert_file_eq "$TMP/in" "$TMP/out"
spawn sleep 60
stop_pid "$LAST_PID" 5
assert_eq 143 "$LAST_STATUS" "status of a process stopped by SIGTERM"
p1=$(free_port)
p2=$(free_port)
[ "$p1" != "$p2" ] || fail "free_port returned $p1 twice"
[ "$p1" -lt 32768 ] || fail "free_port returned $p1, in the ephemeral range"

# -- mosquitto: publish and receive
start_mosquitto
spawn mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t 'sp/t0001/#' -v \
	-C 1 -W 10 >"$TMP/sub1.out" 2>"$TMP/sub1.err"
sub=$LAST_PID
wait_for 10 grep -q 'SUBSCRIBE' "$MOSQ_LOG"
mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -t sp/t0001/a -m hello -q 1
wait_lines "$TMP/sub1.out" 1 10
assert_eq "sp/t0001/a hello" "$(cat "$TMP/sub1.out")" "message received"
stop_pid "$sub" 5

# -- mosquitto: a QoS 1 message queued for an offline persistent session
# survives a broker restart and is delivered on reconnect
mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -i sp-t0001 -c -q 1 \
	-t sp/t0001/persist -E
mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -t sp/t0001/persist \
	-m queued-while-offline -q 1
old_port=$MQTT_PORT
restart_mosquitto
assert_eq "$old_port" "$MQTT_PORT" "port after restart"
mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -i sp-t0001 -c -q 1 \
	-t sp/t0001/persist -C 1 -W 10 >"$TMP/sub2.out"
assert_eq "queued-while-offline" "$(cat "$TMP/sub2.out")" \
	"message queued across the restart"

# -- influxd: create, write, read back, restart, read again
start_influxd
influx_exec 'CREATE DATABASE t0001'
code=$(curl -sS -o "$TMP/write.out" -w '%{http_code}' -XPOST \
	"$INFLUX_URL/write?db=t0001" \
	--data-binary 'env,sensor_id=s-1 temperature=21.5 1795000000000000000')
assert_eq 204 "$code" "InfluxDB /write status"
got=$(influx_query t0001 'SELECT temperature FROM env' |
	jq -c '.results[0].series[0].values')
assert_eq '[[1795000000000000000,21.5]]' "$got" "point read back"
restart_influxd
got=$(influx_query t0001 'SELECT temperature FROM env' |
	jq -c '.results[0].series[0].values')
assert_eq '[[1795000000000000000,21.5]]' "$got" "point after restart"

# -- victoria-metrics: write through the InfluxDB v2 path, export
start_vm
code=$(curl -sS -o "$TMP/vmwrite.out" -w '%{http_code}' -XPOST \
	"$VM_URL/api/v2/write?bucket=b&org=o" \
	--data-binary 'env,sensor_id=s-1 temperature=42 1795000000000000000')
assert_eq 204 "$code" "VictoriaMetrics /api/v2/write status"
vm_exported() {
	curl -sS "$VM_URL/internal/force_flush" >/dev/null
	curl -sS -G "$VM_URL/api/v1/export" \
		--data-urlencode 'match[]=env_temperature' >"$TMP/export.out"
	[ -s "$TMP/export.out" ]
}
wait_for 10 vm_exported
got=$(jq -c '[.metric.sensor_id, .values, .timestamps]' "$TMP/export.out")
assert_eq '["s-1",[42],[1795000000000]]' "$got" "VictoriaMetrics export"

note "harness ok"
