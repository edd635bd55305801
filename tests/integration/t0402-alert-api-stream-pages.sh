#!/bin/sh
# alert-api with a live input (a FIFO): cursor pages neither skip nor repeat
# while new alerts arrive and old ones change; /alerts/stream delivers every
# event in order, a client resuming with Last-Event-ID misses none, and an
# idle stream gets heartbeat comments.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

start_influxd
mkfifo "$TMP/in"
exec 7<>"$TMP/in"
API_IN=$TMP/in
api_start --api-conn-timeout 2s
expect 200 GET /ready
assert_eq '"open"' "$(jbody .input)" "input open"

seq_no=0
# ev N STATUS: an event of alert N (fired or resolved)
ev() {
	seq_no=$((seq_no + 1))
	_kind=fired
	[ "$2" = firing ] || _kind=resolved
	printf '{"id":"b0000000-0000-5000-8000-%012d","event_id":"c0000000-0000-4000-8000-%012d","event":"%s","status":"%s","rule":"r","severity":"warning","measurement":"env","field":"t","tags":{"sensor_id":"s-%d"},"value":1.5,"threshold":1,"started_at":"2026-11-26T04:00:00Z","time":"2026-11-26T04:00:%02dZ","message":"m","summary":"m","summary_source":"fallback"}\n' \
		"$1" "$seq_no" "$_kind" "$2" "$1" "$((seq_no % 60))" >&7
	echo "$1" >>"$TMP/written"
}

count_alerts() {
	[ "$(curl -s "$API_URL/alerts?limit=1000" | jq '.items|length')" = "$1" ]
}

# ids of the alerts in SSE data lines of FILE, in order (last digits)
sse_ids() {
	sed -n 's/^data: {"id":"b0000000-0000-5000-8000-0*\([0-9]*\)".*/\1/p' "$1" |
		tr '\n' ' '
}

note "stream client A from now"
spawn curl -s -N "$API_URL/alerts/stream" >"$TMP/sseA"
SSE_A=$LAST_PID
wait_for 5 grep -q '^retry:' "$TMP/sseA"
for i in 1 2 3 4 5 6 7 8 9 10; do
	ev "$i" firing
done
wait_for 5 count_alerts 10
wait_for 5 grep -q '^id: 10$' "$TMP/sseA"
stop_pid "$SSE_A"
assert_eq "1 2 3 4 5 6 7 8 9 10 " "$(sse_ids "$TMP/sseA")" "stream A order"
assert_eq "1 2 3 4 5 6 7 8 9 10 " \
	"$(sed -n 's/^id: //p' "$TMP/sseA" | tr '\n' ' ')" "stream A ids"

note "pages of 3 while alerts arrive and change"
pages=""
expect 200 GET '/alerts?limit=3'
pages="$pages $(jbody '[.items[].id[-2:]|tonumber]')"
cur=$(jq -r .next_cursor "$TMP/body")
ev 11 firing
ev 12 firing
ev 5 resolved
wait_for 5 count_alerts 12
expect 200 GET "/alerts?limit=3&cursor=$cur"
pages="$pages $(jbody '[.items[].id[-2:]|tonumber]')"
assert_eq '"resolved"' "$(jbody '.items[2].status')" "alert 5 shows its new state in place"
cur=$(jq -r .next_cursor "$TMP/body")
ev 13 firing
wait_for 5 count_alerts 13
expect 200 GET "/alerts?limit=3&cursor=$cur"
pages="$pages $(jbody '[.items[].id[-2:]|tonumber]')"
cur=$(jq -r .next_cursor "$TMP/body")
ev 14 firing
wait_for 5 count_alerts 14
expect 200 GET "/alerts?limit=3&cursor=$cur"
pages="$pages $(jbody '[.items[].id[-2:]|tonumber]')"
assert_eq null "$(jbody .next_cursor)" "end of pages"
assert_eq " [10,9,8] [7,6,5] [4,3,2] [1]" "$pages" "pages across inserts"

note "filtered pages (firing) across a change"
expect 200 GET '/alerts?status=firing&limit=4'
p1=$(jbody '[.items[].id[-2:]|tonumber]')
cur=$(jq -r .next_cursor "$TMP/body")
ev 15 firing
ev 10 resolved
wait_for 5 count_alerts 15
expect 200 GET "/alerts?status=firing&limit=20&cursor=$cur"
assert_eq "[14,13,12,11] [9,8,7,6,4,3,2,1]" "$p1 $(jbody '[.items[].id[-2:]|tonumber]')" "firing pages"

note "client B resumes after A's last id: gets the rest, in order"
spawn curl -s -N -H 'Last-Event-ID: 10' "$API_URL/alerts/stream" >"$TMP/sseB"
SSE_B=$LAST_PID
wait_for 5 grep -q '^id: 17$' "$TMP/sseB"
assert_eq "11 12 5 13 14 15 10 " "$(sse_ids "$TMP/sseB")" "stream B"
assert_eq "11 12 13 14 15 16 17 " \
	"$(sed -n 's/^id: //p' "$TMP/sseB" | tr '\n' ' ')" "stream B ids"
expect 200 GET /metrics
grep -q '^alertapi_sse_clients 1$' "$TMP/body" || fail "sse clients gauge"

note "an idle stream gets heartbeats (API_CONN_TIMEOUT 2s: every 1s)"
wait_for 5 grep -q '^: heartbeat' "$TMP/sseB"
ev 16 firing
wait_for 5 grep -q '^id: 18$' "$TMP/sseB"
assert_eq "11 12 5 13 14 15 10 16 " "$(sse_ids "$TMP/sseB")" "stream B after idle"
stop_pid "$SSE_B"

note "a Last-Event-ID from a previous numbering replays the ring"
expect 400 GET /alerts/stream -H 'Last-Event-ID: x1'
spawn curl -s -N -H 'Last-Event-ID: 9999' "$API_URL/alerts/stream" >"$TMP/sseC"
SSE_C=$LAST_PID
wait_for 5 grep -q '^id: 18$' "$TMP/sseC"
assert_eq 18 "$(grep -c '^id: ' "$TMP/sseC")" "whole ring"
stop_pid "$SSE_C"

note "SIGTERM ends open streams and exits 0"
spawn curl -s -N "$API_URL/alerts/stream" >"$TMP/sseD"
SSE_D=$LAST_PID
wait_for 5 grep -q '^retry:' "$TMP/sseD"
api_stop
stop_pid "$SSE_D"
exec 7>&-
note "ok"
