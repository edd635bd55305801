#!/bin/sh
# t0701: `scripts/demo start` brings up the whole demo (mosquitto, influxd,
# the stand-in LLM, the supervised pipeline, the simulator) on free ports
# with its files in TMP, and prints a summary that reports written readings,
# the expected alerts with stand-in summaries, s-07's last minute, the
# dead-letter entry of s-19's malformed payload and the status page; a
# second `start` replaces the first run; `scripts/demo stop` leaves no
# process of the demo behind. Budget: 90 s.
. "$(dirname "$0")/lib.sh"

DEMO=$SP_ROOT/scripts/demo
DEMO_HOME=$TMP/demo
DEMO_MQTT_PORT=$(free_port)
DEMO_INFLUX_PORT=$(free_port)
DEMO_INFLUX_RPC_PORT=$(free_port)
DEMO_API_PORT=$(free_port)
DEMO_LLM_PORT=$(free_port)
export DEMO_HOME DEMO_MQTT_PORT DEMO_INFLUX_PORT DEMO_INFLUX_RPC_PORT \
	DEMO_API_PORT DEMO_LLM_PORT
API=http://127.0.0.1:$DEMO_API_PORT

# Whatever happens, stop what the demo started before lib.sh cleans up.
# shellcheck disable=SC2154 # _t_st is set inside the trap
trap '_t_st=$?; "$DEMO" stop >/dev/null 2>&1; (exit $_t_st); _sp_cleanup' EXIT

# The pids of the demo's processes: its servers, the simulator, the
# supervisor and every stage (the supervisor's run/ files hold them).
demo_pids() {
	for f in "$DEMO_HOME"/run/demo/*.pid "$DEMO_HOME"/run/supervisor.pid; do
		[ -f "$f" ] && awk 'NR == 1 { print $1 }' "$f"
	done
	for f in "$DEMO_HOME"/run/stage.*; do
		[ -f "$f" ] && sed -n 's/^pid=\([0-9][0-9]*\)$/\1/p' "$f"
	done
	# and anything else whose command line names the demo's directory
	for c in /proc/[0-9]*/cmdline; do
		if tr '\0' ' ' 2>/dev/null <"$c" | grep -q -- "$DEMO_HOME"; then
			p=${c#/proc/}
			echo "${p%/cmdline}"
		fi
	done
}

run_demo() {
	t0=$(date +%s%3N)
	"$DEMO" start >"$TMP/out$1" 2>"$TMP/err$1" ||
		{ cat "$TMP/out$1" "$TMP/err$1" >&2; fail "scripts/demo start ($1) failed"; }
	took=$(($(date +%s%3N) - t0))
	note "scripts/demo start ($1) took ${took} ms"
	[ "$took" -lt 60000 ] || fail "scripts/demo start took ${took} ms (limit 60 s)"
	cat "$TMP/out$1" >&2
}

check_summary() {
	o=$TMP/out$1
	n=$(sed -n 's/^ *\([0-9][0-9]*\) readings from \([0-9]*\) sensors.*/\1/p' "$o")
	s=$(sed -n 's/^ *\([0-9][0-9]*\) readings from \([0-9]*\) sensors.*/\2/p' "$o")
	if [ -z "$n" ] || [ "$n" -le 100 ]; then
		fail "summary: readings written '$n' (want > 100)"
	fi
	assert_eq 20 "$s" "sensors with readings in the summary"
	grep -q '^   FIRING critical temp-high s-07 (site a)' "$o" ||
		fail "summary: no firing temp-high on s-07"
	grep -q '^   FIRING warning sensor-silent s-13 (site b)' "$o" ||
		fail "summary: no firing sensor-silent on s-13"
	grep -q 'summary \[llm\]: LLM summary: rule temp-high is firing' "$o" ||
		fail "summary: no stand-in LLM summary for temp-high"
	grep -q 'STAND-IN' "$o" || fail "summary: the stand-in LLM is not labelled"
	grep -q '"reason":"bad_json".*"topic":"sensors/b/s-19/env"' "$o" ||
		fail "summary: no dead-letter entry for s-19"
	grep -q "== Status page: $API/\$" "$o" || fail "summary: no status page URL"
	curl -fsS "$API/" | grep -qi '<html' || fail "the status page is not served"
	curl -fsS "$API/metrics" | grep -q '^alertapi_alerts{status="firing",severity="critical"} [1-9]' ||
		fail "/metrics does not count the critical alert"
	# s-07's last minute shows the climb to 95
	grep -Eq '^   [0-9T:-]+Z  95$' "$o" || fail "summary: s-07 never reached 95"
	# the same facts from the servers themselves
	curl -fsS "$API/alerts?status=firing&rule=temp-high&sensor_id=s-07" |
		jq -e '.items | length == 1' >/dev/null ||
		fail "alert-api: temp-high on s-07 is not firing exactly once"
	got=$(curl -fsS -G "http://127.0.0.1:$DEMO_INFLUX_PORT/query" \
		--data-urlencode db=sensors \
		--data-urlencode 'q=SELECT count("temperature") FROM "env"' |
		jq '.results[0].series[0].values[0][1]')
	[ "$got" -ge "$n" ] || fail "InfluxDB holds $got readings, fewer than the $n reported"
}

# Every InfluxQL query of the Grafana dashboard (panels, variables,
# annotations), with Grafana's macros filled in as it would ("All" is .*),
# runs without error against the demo's data, and every panel gets rows.
check_grafana() {
	jq -r '.. | objects | select(has("query")) | .query' \
		"$SP_ROOT/etc/grafana/sensorpipe.json" >"$TMP/grafana.q"
	[ "$(wc -l <"$TMP/grafana.q")" -ge 8 ] || fail "grafana: too few queries"
	# shellcheck disable=SC2016 # Grafana macros, not shell variables
	sed -e 's/\$timeFilter/time > now() - 15m/g' -e 's/\$__interval/10s/g' \
		-e 's/\$site\$/.*$/g' -e 's/\$sensor\$/.*$/g' "$TMP/grafana.q" |
		while IFS= read -r q; do
			curl -fsS -G "http://127.0.0.1:$DEMO_INFLUX_PORT/query" \
				--data-urlencode db=sensors --data-urlencode "q=$q" \
				>"$TMP/grafana.r" || fail "grafana query refused: $q"
			jq -e '.results[0].error == null' "$TMP/grafana.r" >/dev/null ||
				fail "grafana query: $q: $(cat "$TMP/grafana.r")"
			# rows for all but the annotation of resolved alerts (none
			# may have resolved yet)
			case $q in
			*"'resolved'"*) continue ;;
			esac
			jq -e '(.results[0].series | length) > 0' "$TMP/grafana.r" \
				>/dev/null || fail "grafana query without rows: $q"
		done
	note "grafana: $(wc -l <"$TMP/grafana.q") dashboard queries answered"
}

run_demo 1
check_summary 1
check_grafana
first_pids=$(demo_pids | sort -u)

# again: the first run is stopped and replaced, not duplicated
run_demo 2
check_summary 2
for p in $first_pids; do
	if kill -0 "$p" 2>/dev/null &&
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q -- "$DEMO_HOME"; then
		fail "pid $p of the first run still runs after the second start"
	fi
done
pids=$(demo_pids | sort -u)
[ "$(echo "$pids" | wc -w)" -ge 9 ] ||
	fail "expected at least 9 demo processes, found: $pids"

"$DEMO" stop >"$TMP/stop" 2>&1 || { cat "$TMP/stop" >&2; fail "scripts/demo stop failed"; }
cat "$TMP/stop" >&2
left=
for p in $pids; do
	if kill -0 "$p" 2>/dev/null; then
		left="$left $p($(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | cut -c 1-60))"
	fi
done
[ -z "$left" ] || fail "processes left after scripts/demo stop:$left"
[ -z "$(demo_pids)" ] || fail "processes naming $DEMO_HOME left after stop"
note "demo: $(echo "$pids" | wc -w) processes started and stopped"
