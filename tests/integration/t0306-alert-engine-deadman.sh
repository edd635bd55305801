#!/bin/sh
# alert-engine deadman: on event time (readings of another series move the
# clock past last_seen + deadman) and on wall time (the input is live but
# silent: the engine's clock advances by the wall time since the last
# reading); the next reading of the series resolves it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >"$TMP/rules.json" <<'R'
{"rules": [{"name": "silent", "measurement": "env", "deadman": "2s",
            "message": "{sensor_id} silent for {duration}"}]}
R
mkfifo "$TMP/in"
exec 7<>"$TMP/in"
spawn "$SP_BIN/alert-engine" --alert-rules-file "$TMP/rules.json" \
	<"$TMP/in" >"$TMP/out" 2>"$TMP/err" 7>&-
ENGINE=$LAST_PID
reading() {
	printf '{"time":"2026-11-26T04:00:%sZ","measurement":"env","tags":{"sensor_id":"%s"},"fields":{"v":1}}\n' \
		"$2" "$1" >&7
}

# event time: s2 keeps reporting, s1 stops after 00
reading s1 00
reading s2 00
reading s2 01
reading s2 02.5
wait_lines "$TMP/out" 1 10
grep -q '"event":"fired".*"sensor_id":"s1".*"started_at":"2026-11-26T04:00:02Z","time":"2026-11-26T04:00:02.5Z"' \
	"$TMP/out" || fail "event-time deadman: $(cat "$TMP/out")"
grep -q '"value":null' "$TMP/out" || fail "deadman value is not null"

# wall time: nobody reports; s2 (last 02.5) fires about 2 s later
t0=$(date +%s%3N)
wait_lines "$TMP/out" 2 10
t1=$(date +%s%3N)
tail -n 1 "$TMP/out" | grep -q '"event":"fired".*"sensor_id":"s2".*"started_at":"2026-11-26T04:00:04.5Z"' ||
	fail "wall-time deadman: $(tail -n 1 "$TMP/out")"
note "wall-time deadman after $((t1 - t0)) ms of silence"
[ $((t1 - t0)) -ge 1500 ] || fail "fired too early: $((t1 - t0)) ms"

# s1 reports again: resolved, same id as its fired event
reading s1 10
wait_lines "$TMP/out" 3 10
python3 - "$TMP/out" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[2]["event"] == "resolved" and ev[2]["tags"]["sensor_id"] == "s1", ev[2]
assert ev[2]["id"] == ev[0]["id"], (ev[0], ev[2])
assert ev[0]["message"] == "s1 silent for 2.5s", ev[0]["message"]
PY
exec 7>&-
ended() {
	! _sp_alive "$ENGINE"
}
wait_for 10 ended
stop_pid "$ENGINE"
assert_eq 0 "$LAST_STATUS" "exit status at end of input"
note "deadman: ok"
