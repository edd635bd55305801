#!/bin/sh
# Chaos: the supervised pipeline (scripts/sensorpipe: mqtt-ingest ->
# readings journal -> influx-sink and alert-engine -> alerts journal ->
# influx-sink --kind alerts and alert-api) takes 50,000 QoS 1 readings with
# source timestamps while a killer sends kill -9 to a running stage every
# 1-3 s (each stage at least 3 times), mosquitto is restarted once and
# influxd is stopped for 15 s once. Small journal segments (32 KiB) make
# rotation and cleanup happen throughout.
#
# Afterwards, once every consumer's lag is 0:
#   - InfluxDB holds exactly the 50,000 distinct points (series x time);
#   - alert-api holds every expected alert episode once (by id), with the
#     right status (100 resolved, 5 still firing) and the right start;
#   - no stage is left down (status: every stage running);
#   - each journal shrank back to its newest segment;
#   - InfluxDB holds every alert event once (measurement alerts: 205);
#   - the supervisor stops every stage cleanly (no SIGKILL).
# The counts are printed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SP=$SP_ROOT/scripts/sensorpipe
SPJ=$SP_BIN/sp-journal
NSENSORS=50
NSTEPS=1000
TOTAL=$((NSENSORS * NSTEPS))
CHUNK=1000
STAGES="ingest sink engine alert-sink api"

command -v mosquitto_pub >/dev/null || fail "mosquitto_pub missing (scripts/install-deps)"
command -v jq >/dev/null || fail "jq missing (scripts/install-deps)"

start_mosquitto
start_influxd
API_PORT=$(free_port)
API=http://127.0.0.1:$API_PORT

# ---- data ------------------------------------------------------------------
# Sensor j (s-00..s-49) reads once a second from BASE. Sensors 0-9 are at 90
# for steps 50-54 of every hundred (10 episodes each, resolved at step
# 55); sensors 0-4 are hot again for the last 5 steps (still firing at the
# end). Everything else stays at 20-29.
BASE=1764028800 # 2025-11-25T00:00:00Z
awk -v n="$NSENSORS" -v steps="$NSTEPS" -v base="$BASE" 'BEGIN {
	for (k = 0; k < steps; k++)
		for (j = 0; j < n; j++) {
			t = 20 + (k + j) % 10
			if (j < 10 && k % 100 >= 50 && k % 100 < 55)
				t = 90
			if (j < 5 && k >= steps - 5)
				t = 90
			printf "{\"sensor_id\":\"s-%02d\",\"ts\":%d000,\"temperature\":%d.5,\"humidity\":40}\n",
				j, base + k, t
		}
}' >"$TMP/readings.ndjson"
split -l "$CHUNK" -d -a 3 "$TMP/readings.ndjson" "$TMP/chunk."
# expected episodes: "SENSOR START STATUS", start in epoch seconds
awk -v n="$NSENSORS" -v steps="$NSTEPS" -v base="$BASE" 'BEGIN {
	for (j = 0; j < 10; j++)
		for (k = 50; k < steps; k += 100)
			printf "s-%02d %d resolved\n", j, base + k
	for (j = 0; j < 5; j++)
		printf "s-%02d %d firing\n", j, base + steps - 5
}' | sort >"$TMP/expected.episodes"
EXPECTED_EPISODES=$(wc -l <"$TMP/expected.episodes" | tr -d ' ')

cat >"$TMP/rules.json" <<'EOF'
{"rules": [
  {"name": "chaos-hot", "measurement": "env", "field": "temperature",
   "above": 80, "clear_below": 78, "severity": "critical",
   "message": "{sensor_id}: temperature {value} above {threshold}"}
]}
EOF

cat >"$TMP/sensorpipe.env" <<EOF
LOG_LEVEL=info
STATS_INTERVAL=5s
MQTT_URL=$MQTT_URL
MQTT_TOPICS=chaos/#
MQTT_TOPIC_TEMPLATE=chaos/{measurement}
MQTT_CLIENT_ID=sensorpipe-chaos-ingest
MQTT_RECONNECT_MAX=2s
MQTT_KEEPALIVE=10s
INFLUX_URL=$INFLUX_URL
INFLUX_DB=chaos
INFLUX_FLUSH_INTERVAL=200ms
INFLUX_RETRY_MAX=2s
INFLUX_TIMEOUT=5s
ALERT_RULES_FILE=$TMP/rules.json
ALERT_STATE_INTERVAL=200ms
ALERT_FLAP_COUNT=0
API_LISTEN=127.0.0.1:$API_PORT
JOURNAL_SEGMENT_SIZE=32KiB
DEAD_LETTER_FILE=$TMP/dead-letter.ndjson
EOF

export SENSORPIPE_HOME="$TMP/sp" SENSORPIPE_BIN="$SP_BIN"
export SENSORPIPE_ENV_FILE="$TMP/sensorpipe.env" SENSORPIPE_STAGES="$STAGES"
export SENSORPIPE_STOP_TIMEOUT=15
unset SENSORPIPE_DETACHED

# the supervisor runs in the foreground under this test (its pid is
# registered for cleanup); stages are its children
spawn "$SP" run >"$TMP/supervisor.out" 2>&1
SUP=$LAST_PID
note "supervisor pid $SUP, home $SENSORPIPE_HOME"

api_up() {
	curl -fsS -o /dev/null "$API/health"
}
ingest_subscribed() {
	grep -q 'Received SUBSCRIBE from sensorpipe-chaos-ingest' "$MOSQ_LOG"
}
wait_for 60 api_up
wait_for 30 ingest_subscribed

# ---- the killer ------------------------------------------------------------
# kill -9 a running stage every 1-3 s until each was killed 3 times: the
# stages come in a shuffled order of three rounds; a stage that is not
# running at its turn (in backoff) is waited for.
killer() {
	order=$(for _ in 1 2 3; do for s in $STAGES; do echo "$s"; done; done |
		shuf)
	for s in $order; do
		sleep "$(_sp_random 10 31 | sed 's/\(.\)$/.\1/')"
		end=$(($(_sp_now_ms) + 60000))
		while :; do
			f=$SENSORPIPE_HOME/run/stage.$s
			st=$(sed -n 's/^state=//p' "$f" 2>/dev/null || true)
			pid=$(sed -n 's/^pid=//p' "$f" 2>/dev/null || true)
			if [ "$st" = running ] && [ -n "$pid" ] &&
				kill -KILL "$pid" 2>/dev/null; then
				echo "$(date +%H:%M:%S.%N | cut -c1-12) $s $pid" >>"$TMP/kills"
				break
			fi
			[ "$(_sp_now_ms)" -lt "$end" ] || {
				echo "never running: $s" >>"$TMP/kills"
				break
			}
			sleep 0.1
		done
	done
}
: >"$TMP/kills"
spawn killer
KILLER=$LAST_PID

# ---- publishing, with a broker restart and an influxd outage ----------------
note "publishing $TOTAL readings in chunks of $CHUNK"
n=0
influx_down_at=
for c in "$TMP"/chunk.*; do
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -i chaos-pub \
		-t chaos/env -l <"$c" >>"$TMP/pub.err" 2>&1 ||
		fail "mosquitto_pub failed on $c: $(tail -n 3 "$TMP/pub.err")"
	n=$((n + 1))
	case $n in
	12)
		note "restarting mosquitto"
		restart_mosquitto
		;;
	25)
		note "stopping influxd for 15 s"
		stop_influxd
		influx_down_at=$(_sp_now_ms)
		;;
	esac
	if [ -n "$influx_down_at" ] &&
		[ "$(($(_sp_now_ms) - influx_down_at))" -ge 15000 ]; then
		restart_influxd
		influx_down_at=
	fi
	sleep 0.4
done
if [ -n "$influx_down_at" ]; then
	left=$((15000 - ($(_sp_now_ms) - influx_down_at)))
	[ "$left" -le 0 ] || sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
	restart_influxd
fi
note "published; waiting for the killer"
wait "$KILLER" || true
_sp_unregister "$KILLER"
for s in $STAGES; do
	k=$(awk -v s="$s" '$2 == s' "$TMP/kills" | wc -l | tr -d ' ')
	[ "$k" -ge 3 ] || fail "stage $s was killed $k times, not 3: $(cat "$TMP/kills")"
done
note "kills: $(wc -l <"$TMP/kills" | tr -d ' ')"

# ---- drained ---------------------------------------------------------------
points() {
	influx_query chaos 'SELECT count(temperature) FROM env' 2>/dev/null |
		jq -r '.results[0].series[0].values[0][1] // 0'
}
# The supervisor gives alert-api API_STATE_FILE: with it alert-api commits
# its cursor like every consumer. An alert-api without that key never
# commits (it rebuilds its state from the whole journal at start): then its
# lag is no drain condition and the alerts journal does not shrink.
API_COMMITS=0
if "$SP_BIN/alert-api" --help 2>&1 | grep -q API_STATE_FILE; then
	API_COMMITS=1
fi
lags_zero() {
	for j in readings alerts; do
		"$SPJ" list "$SENSORPIPE_HOME/journal/$j" >"$TMP/list.$j" || return 1
		if grep '^consumer=' "$TMP/list.$j" |
			{ [ "$API_COMMITS" = 1 ] && cat || grep -v '^consumer=api '; } |
			grep -qv ' lag_lines=0 '; then
			return 1
		fi
	done
}
all_running() {
	for s in $STAGES; do
		grep -qx 'state=running' "$SENSORPIPE_HOME/run/stage.$s" || return 1
	done
}
drained() {
	all_running && lags_zero && [ "$(points)" = "$TOTAL" ]
}
end=$(($(_sp_now_ms) + 120000))
while ! drained; do
	if [ "$(_sp_now_ms)" -ge "$end" ]; then
		"$SP" status >&2 || true
		for s in $STAGES; do
			echo "--- tail of $s.log" >&2
			tail -n 8 "$SENSORPIPE_HOME/log/$s.log" >&2
		done
		fail "not drained after 120 s: points=$(points) of $TOTAL"
	fi
	sleep 0.5
done
# alert-api applies what the alerts journal holds
api_episodes() {
	curl -fsS "$API/alerts?limit=1000" >"$TMP/alerts.json" &&
		[ "$(jq '.items | length' "$TMP/alerts.json")" -ge "$EXPECTED_EPISODES" ] &&
		[ "$(jq '[.items[] | select(.status == "firing")] | length' "$TMP/alerts.json")" -le 5 ]
}
end=$(($(_sp_now_ms) + 30000))
while ! api_episodes && [ "$(_sp_now_ms)" -lt "$end" ]; do
	sleep 0.5
done

# ---- checks ----------------------------------------------------------------
"$SP" status >"$TMP/status.out" || fail "status: $(cat "$TMP/status.out")"
cat "$TMP/status.out" >&2
for s in $STAGES; do
	grep -Eq "^$s +running " "$TMP/status.out" || fail "stage $s is not running"
done

npoints=$(points)
assert_eq "$TOTAL" "$npoints" "points in InfluxDB"
nseries=$(influx_query chaos 'SHOW SERIES FROM env' | jq '.results[0].series[0].values | length')
assert_eq "$NSENSORS" "$nseries" "series in InfluxDB"
nfirst=$(influx_query chaos "SELECT count(temperature) FROM env WHERE time < '2025-11-25T00:00:00Z' OR time >= '2025-11-25T00:16:40Z'" |
	jq -r '.results[0].series[0].values[0][1] // 0')
assert_eq 0 "$nfirst" "points outside the source time range"

curl -fsS "$API/alerts?limit=1000" >"$TMP/alerts.json" || fail "GET /alerts"
jq -r '.items[] | [.tags.sensor_id, (.started_at | sub("\\.0+Z$"; "Z") | fromdateiso8601 | tostring), .status] | join(" ")' \
	"$TMP/alerts.json" | sort >"$TMP/got.episodes"
napi=$(jq '.items | length' "$TMP/alerts.json")
nids=$(jq -r '.items[].id' "$TMP/alerts.json" | sort -u | wc -l | tr -d ' ')
assert_eq "$napi" "$nids" "distinct alert ids in alert-api"
assert_file_eq "$TMP/expected.episodes" "$TMP/got.episodes"
nresolved=$(grep -c ' resolved$' "$TMP/got.episodes" || true)
nfiring=$(grep -c ' firing$' "$TMP/got.episodes" || true)
nalertpts=$(influx_query chaos 'SELECT count(value) FROM alerts' |
	jq -r '.results[0].series[0].values[0][1] // 0')
# one point per event: "fired" and "resolved" (no LLM, so no "summarized")
# differ in the status tag; replays land on the same points
assert_eq $((2 * EXPECTED_EPISODES - 5)) "$nalertpts" "alert event points in InfluxDB"

for j in readings alerts; do
	"$SPJ" verify "$SENSORPIPE_HOME/journal/$j" >"$TMP/verify.$j" 2>&1 ||
		fail "journal $j damaged: $(cat "$TMP/verify.$j")"
	"$SPJ" list "$SENSORPIPE_HOME/journal/$j" >"$TMP/list.$j"
	segs=$(sed -n 's/^journal=.* segments=\([0-9]*\) .*/\1/p' "$TMP/list.$j")
	last=$(sed -n 's/^journal=.* last=\([0-9]*\) .*/\1/p' "$TMP/list.$j")
	eval "segs_$j=\$last"
	# an alert-api that never commits keeps the alerts journal whole
	[ "$j" = alerts ] && [ "$API_COMMITS" = 0 ] && continue
	assert_eq 1 "$segs" "segments left in journal $j (newest is $last)"
done
ndead=0
[ -f "$TMP/dead-letter.ndjson" ] && ndead=$(wc -l <"$TMP/dead-letter.ndjson" | tr -d ' ')
assert_eq 0 "$ndead" "dead-lettered lines"

restarts=$(awk '$1 != "supervisor:" && $2 ~ /^(running|backoff|failed|stopped)$/ { printf "%s=%s ", $1, $5 }' "$TMP/status.out")
stop_pid "$SUP" 60
assert_eq 0 "$LAST_STATUS" "supervisor exit status on SIGTERM"
if grep -q 'did not stop in time' "$SENSORPIPE_HOME/log/supervisor.log"; then
	fail "a stage needed SIGKILL to stop: $(grep 'did not stop in time' "$SENSORPIPE_HOME/log/supervisor.log")"
fi
# shellcheck disable=SC2154 # set by eval above
note "chaos: published=$TOTAL influx_points=$npoints series=$nseries" \
	"alert_episodes=$napi/$EXPECTED_EPISODES (resolved=$nresolved firing=$nfiring)" \
	"alert_points=$nalertpts api_commits=$API_COMMITS kills=$(wc -l <"$TMP/kills" | tr -d ' ')" \
	"restarts: $restarts" \
	"segments_written: readings=$segs_readings alerts=$segs_alerts dead_letter=$ndead"
