#!/bin/sh
# alert-api: acknowledgements survive a restart (and a kill -9): they are
# appended to API_ACK_FILE and fsynced before the answer, and replayed at
# start over the alert state rebuilt from the input.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

A=a0000000-0000-5000-8000-00000000000
ACKS=$TMP/acks.ndjson

api_start --api-ack-file "$ACKS"
expect 200 POST "/alerts/${A}1/ack" -d '{"by":"ann","comment":"on it"}'
expect 200 POST "/alerts/${A}3/ack" -d '{"by":"bob"}'
expect 200 POST "/alerts/${A}1/ack" -d '{"by":"carl","comment":"taking over"}'
assert_eq 3 "$(wc -l <"$ACKS")" "ack log lines"
assert_eq '"carl"' "$(jq -s -c '.[2].by' "$ACKS")" "log content"
api_stop

note "restart: state rebuilt from the input, acks replayed"
api_start --api-ack-file "$ACKS"
expect 200 GET "/alerts/${A}1"
assert_eq '["carl","taking over"]' "$(jbody '[.acknowledged.by,.acknowledged.comment]')" "latest ack of 1"
expect 200 GET "/alerts/${A}3"
assert_eq '["bob",null]' "$(jbody '[.acknowledged.by,.acknowledged.comment]')" "ack of 3"
expect 200 GET "/alerts/${A}2"
assert_eq null "$(jbody .acknowledged)" "2 never acked"
grep -q 'acknowledgements replayed.*acks=3 bad=0' "$TMP/api.err" || fail "replay log line"

note "kill -9 right after an ack answer loses nothing"
expect 200 POST "/alerts/${A}7/ack" -d '{"by":"dora"}'
kill -KILL "$API_PID"
stop_pid "$API_PID" 1
printf '{"id":"%s7","by":"torn' "$A" >>"$ACKS"   # a write cut by a crash
api_start --api-ack-file "$ACKS"
expect 200 GET "/alerts/${A}7"
assert_eq '"dora"' "$(jbody .acknowledged.by)" "ack after kill -9"
grep -q 'acks=4 bad=1' "$TMP/api.err" || fail "torn line not counted"
expect 200 POST "/alerts/${A}6/ack" -d '{"by":"eve"}'
api_stop
api_start --api-ack-file "$ACKS"
expect 200 GET "/alerts/${A}6"
assert_eq '"eve"' "$(jbody .acknowledged.by)" "ack after a torn line"

note "an ack log that cannot be opened stops the start (73; skipped as root)"
api_stop
chmod 0444 "$ACKS"
if [ "$(id -u)" -ne 0 ]; then
	st=0
	"$SP_BIN/alert-api" --api-listen 127.0.0.1:1 --api-ack-file "$ACKS" \
		</dev/null >/dev/null 2>"$TMP/err" || st=$?
	assert_eq 73 "$st" "unwritable ack file at start"
fi
chmod 0644 "$ACKS"
note "ok"
