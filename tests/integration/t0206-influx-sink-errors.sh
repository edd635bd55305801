#!/bin/sh
# Failures a real influxd will not produce on demand, against the fake
# server: 429 with Retry-After (honoured although it is longer than the
# backoff), 503 and 500 (retried with backoff), 413 (the batch is halved
# until it fits, nothing dead-lettered), a slow server (INFLUX_TIMEOUT
# fires, the batch is sent again), 401 and a v2 404 (one clear error, the
# data kept and retried until the server side is fixed), a 400 about the
# request (not the points: nothing dead-lettered), and SIGTERM while the
# server keeps failing (exit 75 naming how many points were not written).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

python3 -c '
for i in range(1000):
    print("{\"time\":\"2026-11-26T04:00:%02d.%03dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%d\"},\"fields\":{\"v\":%d.5}}" % (i // 1000, i % 1000, i % 5, i))
' >"$TMP/in.ndjson"

# fake NAME ARGS...: a fresh fake server; FAKE_URL, FAKE_LOG
fake() {
	FAKE_LOG=$TMP/$1.log
	shift
	_port=$(free_port)
	spawn python3 "$SP_ROOT/tests/integration/fake_influx.py" "$_port" \
		"$FAKE_LOG" "$@" 2>"$FAKE_LOG.err"
	FAKE_PID=$LAST_PID
	FAKE_URL=http://127.0.0.1:$_port
	wait_for 10 curl -sf "$FAKE_URL/ping"
}

# sink NAME ARGS...: runs influx-sink on the 1,000 readings; STATUS, ERR
sink() {
	ERR=$TMP/$1.err
	shift
	STATUS=0
	"$SP_BIN/influx-sink" --influx-url "$FAKE_URL" --influx-retry-max 300ms \
		--influx-create-db false --dead-letter "$TMP/dead.ndjson" \
		--stats-interval 0 "$@" <"$TMP/in.ndjson" 2>"$ERR" || STATUS=$?
}

# all 1,000 points arrived (duplicates allowed) and the sink said so
all_written() {
	assert_eq 0 "$STATUS" "$1: exit status"
	assert_eq 1000 "$(sort -u "$FAKE_LOG.points" | wc -l)" "$1: points received"
	grep -q 'final stats in=1000 written=1000 rejected=0 ' "$ERR" ||
		fail "$1: $(grep 'final stats' "$ERR")"
	[ ! -s "$TMP/dead.ndjson" ] || fail "$1: dead letter written"
}

statuses() {
	jq -r .status "$FAKE_LOG" | tr '\n' ' ' | sed 's/ $//'
}

# -- 429 with Retry-After: 2 waits 2 s, not the 0.3 s backoff
fake r429 --script '[{"status":429,"headers":{"Retry-After":"2"},"body":"{\"error\":\"slow down\"}"}]'
sink r429
all_written 429
assert_eq "429 204" "$(statuses)" "429: statuses"
python3 - "$FAKE_LOG" <<'PY'
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])]
assert 1.9 <= t[1] - t[0] <= 3.0, "retried %.2fs after a Retry-After of 2s" % (t[1] - t[0])
PY
grep -q 'server busy (throttled): slow down.*status=429.*retry_in_ms=2000' "$ERR" ||
	fail "429: log: $(grep warn "$ERR")"

# -- 503 twice and a 500: backoff retries
fake r503 --script '[{"status":503,"body":"request throttled, queue full"},{"status":503},{"status":500,"body":"{\"error\":\"retention policy not found: nope\"}"}]'
sink r503
all_written 503
assert_eq "503 503 500 204" "$(statuses)" "503: statuses"
grep -q 'retries=3 ' "$ERR" || fail "503: retries: $(grep 'final stats' "$ERR")"

# -- 413 above 300 points: 1000 -> 500 -> 250
fake r413 --max-lines 300
sink r413
all_written 413
assert_eq "413 413 204 204 413 204 204" "$(statuses)" "413: statuses"
assert_eq "1000 500 250 250 500 250 250" "$(jq -r .lines "$FAKE_LOG" |
	tr '\n' ' ' | sed 's/ $//')" "413: request sizes"

# -- a server slower than INFLUX_TIMEOUT: the request times out, is resent
fake slow --script '[{"delay":3}]'
sink slow --influx-timeout 1s
all_written slow
grep -q 'request timed out' "$ERR" || fail "slow: no timeout logged"
# the first request is logged when its 3 s delay ends
wait_lines "$FAKE_LOG" 2 5
assert_eq 2 "$(wc -l <"$FAKE_LOG")" "slow: requests"

# -- 401 until fixed: one clear error, retried every INFLUX_RETRY_MAX
fake r401 --script '[{"status":401,"body":"{\"error\":\"authorization failed\"}"},{"status":401,"body":"{\"error\":\"authorization failed\"}"},{"status":401,"body":"{\"error\":\"authorization failed\"}"}]'
sink r401 --influx-username u --influx-password secret401
all_written 401
assert_eq "401 401 401 204" "$(statuses)" "401: statuses"
assert_eq 1 "$(grep -c 'error: cannot write.*not authorized: authorization failed (check INFLUX_USERNAME and INFLUX_PASSWORD' "$ERR")" \
	"401: one clear error line"
! grep -q secret401 "$ERR" || fail "401: the password was logged"
python3 - "$FAKE_LOG" <<'PY'
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])]
gaps = [b - a for a, b in zip(t, t[1:])]
assert all(0.2 <= g <= 0.6 for g in gaps), "401 retried after %s" % gaps
PY

# -- v2 bucket missing, then created
fake r404 --script '[{"status":404,"body":"{\"code\":\"not found\",\"message\":\"bucket \\\"b\\\" not found\"}"}]'
sink r404 --influx-api v2 --influx-org o --influx-bucket b --influx-token tok
all_written 404
grep -q 'database or bucket not found: bucket "b" not found (check INFLUX_ORG and INFLUX_BUCKET' "$ERR" ||
	fail "404: $(grep error "$ERR")"

# -- a 400 about the request is not about the points: nothing dead-lettered
fake r400 --script '[{"status":400,"body":"{\"error\":\"database is required\"}"}]'
sink r400
all_written 400
assert_eq "400 204" "$(statuses)" "400: statuses"

# -- SIGTERM while the server keeps failing: exit 75, count logged
fake down --script "[$(python3 -c 'print(",".join(["{\"status\":503}"] * 200))')]"
spawn "$SP_BIN/influx-sink" --influx-url "$FAKE_URL" --influx-retry-max 300ms \
	--influx-timeout 1s --stats-interval 0 <"$TMP/in.ndjson" 2>"$TMP/down.err"
wait_lines "$FAKE_LOG" 2 10
stop_pid "$LAST_PID" 10
assert_eq 75 "$LAST_STATUS" "exit status with points unwritten"
grep -q 'error: 1000 points were not written to InfluxDB' "$TMP/down.err" ||
	fail "down: $(grep error "$TMP/down.err")"
note "t0206 ok"
