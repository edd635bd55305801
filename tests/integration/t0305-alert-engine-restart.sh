#!/bin/sh
# alert-engine restart with ALERT_STATE_FILE after kill -9: a firing alert
# is not fired again, a pending one is not lost (it fires at the end of its
# `for`, counted from before the crash), and the resolved event carries the
# episode id of the first run.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >"$TMP/rules.json" <<'R'
{"rules": [{"name": "hot", "field": "temperature", "above": 80},
           {"name": "warm", "field": "temperature", "above": 30, "for": "60s"}]}
R
STATE=$TMP/state.ndjson

# start N: an engine reading the FIFO $TMP/inN, writing $TMP/outN
start() {
	mkfifo "$TMP/in$1"
	exec 7<>"$TMP/in$1"
	ALERT_STATE_FILE=$STATE ALERT_STATE_INTERVAL=100ms \
		spawn "$SP_BIN/alert-engine" --alert-rules-file "$TMP/rules.json" \
		<"$TMP/in$1" >"$TMP/out$1" 2>"$TMP/err$1" 7>&-
	ENGINE=$LAST_PID
}
reading() {
	printf '{"time":"2026-11-26T04:%02d:%02dZ","measurement":"env","tags":{"sensor_id":"s1"},"fields":{"temperature":%s}}\n' \
		$(($1 / 60)) $(($1 % 60)) "$2" >&7
}

start 1
reading 1 85
reading 2 85
wait_lines "$TMP/out1" 1 10
grep -q '"event":"fired","status":"firing","rule":"hot"' "$TMP/out1" ||
	fail "hot did not fire: $(cat "$TMP/out1")"
# the state file holds the firing and the pending state
wait_for 10 grep -q '"rule":"warm".*"phase":"pending"' "$STATE"
wait_for 10 grep -q '"rule":"hot".*"phase":"firing"' "$STATE"
head -n 1 "$STATE" | grep -q '"in_seg":0,"in_off":[1-9]' ||
	fail "no input position in the state file: $(head -n 1 "$STATE")"
kill -KILL "$ENGINE"
stop_pid "$ENGINE" 5
assert_eq 137 "$LAST_STATUS" "status after kill -9"
exec 7>&-

start 2
reading 3 86
reading 61 86
reading 62 20
exec 7>&-
# end of input: the engine exits by itself
ended() {
	! _sp_alive "$ENGINE"
}
wait_for 10 ended
stop_pid "$ENGINE" 10
assert_eq 0 "$LAST_STATUS" "second run exit status"
grep -q 'state restored.*states=2' "$TMP/err2" ||
	fail "states not restored: $(grep state "$TMP/err2")"

python3 - "$TMP/out1" "$TMP/out2" <<'PY'
import json, sys
one = [json.loads(l) for l in open(sys.argv[1])]
two = [json.loads(l) for l in open(sys.argv[2])]
got = [(e["event"], e["rule"], e["started_at"]) for e in one + two]
want = [("fired", "hot", "2026-11-26T04:00:01Z"),
        ("fired", "warm", "2026-11-26T04:00:01Z"),
        ("resolved", "hot", "2026-11-26T04:00:01Z"),
        ("resolved", "warm", "2026-11-26T04:00:01Z")]
assert got == want, got
assert two[1]["id"] == one[0]["id"], "resolved hot has the first run's id"
assert two[0]["time"] == "2026-11-26T04:01:01Z", two[0]
print("restart: events", got)
PY
# SIGTERM: exit 0, and the state file is saved again (nothing is firing)
start 3
wait_for 10 grep -q 'state restored' "$TMP/err3"
reading 63 20
stop_pid "$ENGINE" 10
assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM"
exec 7>&-
if grep -q '"phase":"firing"' "$STATE"; then
	fail "state file still has a firing state: $(cat "$STATE")"
fi
head -n 1 "$STATE" | grep -q '"version":1' || fail "state file header"
note "restart: ok"
