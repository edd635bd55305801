#!/bin/sh
# alert-api on a journal with API_STATE_FILE: the state is saved with the
# input position and the cursor follows it, so consumed segments are
# deleted; after kill -9 a restart answers the same alerts with the same
# statuses and acknowledgements, and events appended while it was down are
# applied (the answer equals a full rebuild from every event). A cursor
# behind the state file (a crash between save and commit) skips the lines
# the state already has; a damaged state file starts empty with a warning.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

J=$TMP/alerts.j
STATE=$TMP/api.state
ACKS=$TMP/acks.ndjson

# gen FROM TO EVENT STATUS SEVERITY: one alert event per id FROM..TO
gen() {
	awk -v from="$1" -v to="$2" -v ev="$3" -v st="$4" -v sev="$5" 'BEGIN {
		k = ev == "fired" ? 1 : (ev == "summarized" ? 2 : 3)
		for (i = from; i <= to; i++) {
			s = i % 7
			printf "{\"id\":\"a0000000-0000-5000-8000-%012d\",", i
			printf "\"event_id\":\"e000000%d-0000-4000-8000-%012d\",", k, i
			printf "\"event\":\"%s\",\"status\":\"%s\",", ev, st
			printf "\"rule\":\"temp-high\",\"severity\":\"%s\",", sev
			printf "\"measurement\":\"env\",\"field\":\"temperature\","
			printf "\"tags\":{\"sensor_id\":\"s-%d\",\"site\":\"a\"},", s
			printf "\"value\":%d.5,\"threshold\":80,", 80 + i % 20
			printf "\"started_at\":\"2026-11-26T04:%02d:%02dZ\",", i / 60 % 60, i % 60
			printf "\"time\":\"2026-11-26T05:%02d:%02dZ\",", i / 60 % 60, i % 60
			printf "\"message\":\"s-%d: temperature above 80\",", s
			printf "\"summary\":\"%s\",", ev == "summarized" ? "cooling failed" : "s-" s ": temperature above 80"
			printf "\"summary_source\":\"%s\"}\n", ev == "summarized" ? "llm" : "fallback"
		}
	}'
}

append() {
	"$SP_BIN/sp-journal" append "$J" --segment-size 4KiB 2>>"$TMP/append.err"
}

count() {
	[ "$(curl -s "$API_URL/alerts?limit=1000" | jq '.items|length')" = "$1" ]
}

segments() {
	find "$J" -name '*.ndjson' | wc -l | tr -d ' '
}

# The cursor of consumer api is at the end of the journal and only the
# newest segment is left.
drained() {
	"$SP_BIN/sp-journal" list "$J" >"$TMP/list" 2>/dev/null || return 1
	grep -q 'consumer=api .*lag_lines=0 ' "$TMP/list" && [ "$(segments)" = 1 ]
}

snapshot_alerts() {
	curl -s "$API_URL/alerts?limit=1000" | jq -S . >"$1"
}

api_journal() {
	API_IN=/dev/null
	api_start --in "$J" --consumer api --api-state-file "$STATE" \
		--api-state-interval 200ms --api-ack-file "$ACKS"
}

gen 1 60 fired firing warning >"$TMP/batch1"
gen 1 30 resolved resolved warning >"$TMP/batch2"
gen 31 40 summarized firing critical >>"$TMP/batch2"
gen 61 80 fired firing info >>"$TMP/batch2"
gen 81 100 fired firing critical >"$TMP/batch3"
gen 61 70 resolved resolved info >>"$TMP/batch3"

append <"$TMP/batch1"
[ "$(segments)" -gt 5 ] || fail "expected several 4 KiB segments, got $(segments)"
api_journal
grep -q 'API_STATE_FILE is not set' "$TMP/api.err" &&
	fail "warned about API_STATE_FILE although it is set"
wait_for 10 count 60
note "cursor follows the saved state; consumed segments are deleted"
wait_for 10 drained
[ -s "$STATE" ] || fail "no state file"

for i in 5 31; do
	id=$(printf 'a0000000-0000-5000-8000-%012d' "$i")
	expect 200 POST "/alerts/$id/ack" -d "{\"by\":\"ann\",\"comment\":\"ack $i\"}"
done
append <"$TMP/batch2"
wait_for 10 count 80
wait_for 10 drained
expect 200 POST /alerts/a0000000-0000-5000-8000-000000000062/ack -d '{"by":"bob","comment":null}'
snapshot_alerts "$TMP/before.json"
assert_eq 2 "$(jq '[.items[]|select(.acknowledged.by=="ann")]|length' "$TMP/before.json")" "acks by ann before the kill"
assert_eq 30 "$(jq '[.items[]|select(.status=="resolved")]|length' "$TMP/before.json")" "resolved before the kill"

note "kill -9, restart: the same answer"
kill -9 "$API_PID"
wait "$API_PID" 2>/dev/null || true
api_journal
wait_for 10 count 80
snapshot_alerts "$TMP/after.json"
assert_file_eq "$TMP/before.json" "$TMP/after.json"
grep -q 'state restored.*alerts=80' "$TMP/api.err" || fail "state not restored from the file"

note "kill -9, events appended while down are applied"
kill -9 "$API_PID"
wait "$API_PID" 2>/dev/null || true
append <"$TMP/batch3"
[ "$(segments)" -gt 1 ] || fail "appending while down should add segments"
api_journal
wait_for 10 count 100
wait_for 10 drained
snapshot_alerts "$TMP/after3.json"
assert_eq 10 "$(jq '[.items[]|select(.status=="resolved" and .severity=="info")]|length' "$TMP/after3.json")" "61..70 resolved while down"
assert_eq '"bob"' "$(jq -c '.items[]|select(.id|endswith("000000000062"))|.acknowledged.by' "$TMP/after3.json")" "ack of 62 kept"

# the reference: a full rebuild from every event with the same acks
cp "$ACKS" "$TMP/acks-ref.ndjson"
cat "$TMP/batch1" "$TMP/batch2" "$TMP/batch3" >"$TMP/all"
SAVED_URL=$API_URL
SAVED_PID=$API_PID
API_IN=$TMP/all
api_start --api-ack-file "$TMP/acks-ref.ndjson"
wait_for 10 count 100
snapshot_alerts "$TMP/ref.json"
api_stop
API_URL=$SAVED_URL
API_PID=$SAVED_PID
assert_file_eq "$TMP/ref.json" "$TMP/after3.json"

note "a cursor behind the state file: the lines it holds are skipped"
api_stop
"$SP_BIN/sp-journal" reset "$J" api --to-start >/dev/null 2>&1
api_journal
wait_for 10 drained
snapshot_alerts "$TMP/after-reset.json"
assert_file_eq "$TMP/ref.json" "$TMP/after-reset.json"
api_stop
grep -q 'state file.*skipped=[1-9]' "$TMP/api.err" || fail "no line was skipped"

note "a damaged state file: warned, started empty, the journal after the cursor is read"
printf 'garbage\n' >>"$STATE"
gen 101 101 fired firing info | append
api_journal
wait_for 10 count 1
grep -q 'state file.*damaged\|data after the end line' "$TMP/api.err" ||
	fail "no warning about the damaged state file"
api_stop
note "ok"
