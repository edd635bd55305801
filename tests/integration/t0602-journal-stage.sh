#!/bin/sh
# A stage on journals: alert-engine --in READINGS --consumer engine --out
# ALERTS, killed with -9 three times while readings arrive in chunks (the
# readings written by sp-journal append, 4 KiB segments so both journals
# rotate). Afterwards the alerts journal holds the same alert events
# (id, event, status) as one uninterrupted run over a pipe: nothing lost,
# replays only duplicate; the engine's consumer lag is 0; the readings
# journal shrank to its newest segment once its only consumer passed it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SPJ=$SP_BIN/sp-journal
R=$TMP/readings
A=$TMP/alerts

cat >"$TMP/rules.json" <<'EOF'
{"rules": [
  {"name": "hot", "measurement": "env", "field": "temperature",
   "above": 80, "clear_below": 78, "severity": "critical"}
]}
EOF

# 10 sensors x 1500 readings, one a second, crossing 80 and 78 repeatedly
awk 'BEGIN { for (i = 0; i < 1500; i++) for (s = 0; s < 10; s++)
	printf "{\"time\":\"2026-11-26T%02d:%02d:%02dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%d\"},\"fields\":{\"temperature\":%.2f}}\n",
		int(i / 3600), int(i / 60) % 60, i % 60, s,
		70 + 15 * sin((i + 7 * s) / 15) }' >"$TMP/readings.ndjson"

export JOURNAL_SEGMENT_SIZE=4KiB
engine() {
	spawn "$SP_BIN/alert-engine" --alert-rules-file "$TMP/rules.json" \
		--alert-state-file "$TMP/state.json" \
		--alert-state-interval 100ms --stats-interval 0 \
		--in "$R" --consumer engine --out "$A" 2>>"$TMP/engine.err"
	ENGINE=$LAST_PID
}

# the reference: one run over a pipe
"$SP_BIN/alert-engine" --alert-rules-file "$TMP/rules.json" \
	--stats-interval 0 <"$TMP/readings.ndjson" >"$TMP/ref.ndjson" \
	2>"$TMP/ref.err"
jq -r '[.id, .event, .status] | @tsv' "$TMP/ref.ndjson" | sort -u \
	>"$TMP/ref.events"
nref=$(wc -l <"$TMP/ref.events" | tr -d ' ')
[ "$nref" -ge 50 ] || fail "reference has only $nref alert events"

"$SPJ" register "$R" engine >/dev/null
"$SPJ" register "$A" check >/dev/null
engine
split -l 1500 "$TMP/readings.ndjson" "$TMP/chunk."
n=0
for chunk in "$TMP"/chunk.*; do
	n=$((n + 1))
	"$SPJ" append "$R" <"$chunk" 2>/dev/null
	case $n in
	2 | 5 | 8)
		kill -KILL "$ENGINE"
		stop_pid "$ENGINE" 1
		assert_eq 137 "$LAST_STATUS" "engine killed"
		engine
		;;
	esac
done

# drained: the engine's cursor reaches the end of the readings
drained() {
	"$SPJ" list "$R" >"$TMP/list.out" &&
		grep -q 'consumer=engine .* lag_lines=0 ' "$TMP/list.out"
}
wait_for 30 drained
stop_pid "$ENGINE" 10
assert_eq 0 "$LAST_STATUS" "engine exit status on SIGTERM"

"$SPJ" cat "$A" >"$TMP/alerts.ndjson"
jq -r '[.id, .event, .status] | @tsv' "$TMP/alerts.ndjson" | sort -u \
	>"$TMP/got.events"
assert_file_eq "$TMP/ref.events" "$TMP/got.events"
"$SPJ" verify "$R" >/dev/null || fail "readings journal damaged"
"$SPJ" verify "$A" >/dev/null || fail "alerts journal damaged"
"$SPJ" list "$R" >"$TMP/list.out"
segs=$(sed -n 's/^journal=.* segments=\([0-9]*\) .*/\1/p' "$TMP/list.out")
assert_eq 1 "$segs" "readings segments left after the engine passed them"
note "alert events: $nref distinct, journal held $(wc -l <"$TMP/alerts.ndjson") with replays"
