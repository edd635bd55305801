#!/bin/sh
# alert-api: every route and filter against the fixed events file and known
# InfluxDB data; error statuses (400 naming the parameter, 404, 405 + Allow,
# 413, 502 for a statement error inside a 200 answer); /metrics.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

start_influxd
api_load_sensors
api_start --dead-letter "$TMP/dead.ndjson"
A=a0000000-0000-5000-8000-00000000000

note "health, ready (a file read to its end counts as ready)"
expect 200 GET /health
assert_eq '{"status":"ok"}' "$(cat "$TMP/body")" "/health body"
expect 200 GET /ready
assert_eq '"done"' "$(jbody .input)" "/ready input"

note "the bad line was dead-lettered, the others applied"
wait_lines "$TMP/dead.ndjson" 1 5
grep -q "missing key 'id'" "$TMP/dead.ndjson" || fail "dead letter lacks the reason"
assert_eq 1 "$(wc -l <"$TMP/dead.ndjson")" "dead letters"

note "/alerts: newest first (by first arrival), latest state per id"
expect 200 GET /alerts
assert_eq '["7","6","5","4","3","2","1"]' \
	"$(jbody '[.items[].id[-1:]]')" "all ids, newest first"
assert_eq null "$(jbody .next_cursor)" "no next page"
assert_eq '["firing","firing","resolved","firing","firing","resolved","firing"]' \
	"$(jbody '[.items[].status]')" "statuses"
assert_eq '"summarized"' "$(jbody '.items[6].event')" "alert 1 summarized"
assert_eq '"llm"' "$(jbody '.items[6].summary_source')" "summary source"

note "/alerts filters"
expect 200 GET '/alerts?status=firing'
assert_eq '["7","6","4","3","1"]' "$(jbody '[.items[].id[-1:]]')" "status=firing"
expect 200 GET '/alerts?status=resolved'
assert_eq '["5","2"]' "$(jbody '[.items[].id[-1:]]')" "status=resolved"
expect 200 GET '/alerts?severity=critical'
assert_eq '["6","3","1"]' "$(jbody '[.items[].id[-1:]]')" "severity=critical"
expect 200 GET '/alerts?sensor_id=s-1'
assert_eq '["7","5","1"]' "$(jbody '[.items[].id[-1:]]')" "sensor_id=s-1"
expect 200 GET '/alerts?status=firing&sensor_id=s-1'
assert_eq '["7","1"]' "$(jbody '[.items[].id[-1:]]')" "firing s-1"
expect 200 GET '/alerts?rule=humidity-band'
assert_eq '["7","2"]' "$(jbody '[.items[].id[-1:]]')" "rule"
expect 200 GET '/alerts?rule=temp-high&severity=critical&status=firing&sensor_id=s-2'
assert_eq '["3"]' "$(jbody '[.items[].id[-1:]]')" "four filters"
expect 200 GET '/alerts?since=2026-11-26T04:04:00Z&until=2026-11-26T04:09:00Z'
assert_eq '["5","4","3"]' "$(jbody '[.items[].id[-1:]]')" "since/until (started_at)"
expect 200 GET '/alerts?since=-3650d'
assert_eq 7 "$(jbody '.items|length')" "relative since"
expect 200 GET '/alerts?limit=3'
assert_eq '["7","6","5"]' "$(jbody '[.items[].id[-1:]]')" "limit=3"
cur=$(jq -r .next_cursor "$TMP/body")
expect 200 GET "/alerts?limit=3&cursor=$cur"
assert_eq '["4","3","2"]' "$(jbody '[.items[].id[-1:]]')" "page 2"
cur=$(jq -r .next_cursor "$TMP/body")
expect 200 GET "/alerts?limit=3&cursor=$cur"
assert_eq '["1"]' "$(jbody '[.items[].id[-1:]]')" "page 3"
assert_eq null "$(jbody .next_cursor)" "last page"
expect 200 GET "/alerts?status=firing&limit=2&cursor=$cur"
assert_eq '["1"]' "$(jbody '[.items[].id[-1:]]')" "cursor of another filter"

note "/alerts/{id}"
expect 200 GET "/alerts/${A}1"
assert_eq '{"id":"a0000000-0000-5000-8000-000000000001","event":"summarized","status":"firing","rule":"temp-high","severity":"critical","tags":{"sensor_id":"s-1","site":"a"},"value":85,"started_at":"2026-11-26T04:01:00Z","acknowledged":null}' \
	"$(jbody '{id,event,status,rule,severity,tags,value,started_at,acknowledged}')" "alert 1"
expect 200 GET "/alerts/A0000000-0000-5000-8000-000000000001"
expect 200 GET "/alerts/${A}4"
assert_eq '[null,null,""]' "$(jbody '[.value,.threshold,.field]')" "deadman alert"
expect 404 GET "/alerts/${A}9"
expect_error not_found "no alert"
expect 400 GET /alerts/nope
expect_error bad_parameter "id:"

note "POST /alerts/{id}/ack"
expect 200 POST "/alerts/${A}3/ack" -H 'Content-Type: application/json' \
	-d '{"by":"ann","comment":"looking"}'
assert_eq '["ann","looking"]' "$(jbody '[.acknowledged.by,.acknowledged.comment]')" "ack answer"
expect 200 GET "/alerts/${A}3"
assert_eq '"ann"' "$(jbody .acknowledged.by)" "ack kept"
expect 400 POST "/alerts/${A}3/ack" -d '{"comment":"x"}'
expect_error bad_body "by:"
expect 400 POST "/alerts/${A}3/ack" -d '{"by":"x","extra":1}'
expect_error bad_body "unknown key"
expect 400 POST "/alerts/${A}3/ack" -d '[1]'
expect 404 POST "/alerts/${A}9/ack" -d '{"by":"x"}'
head -c 20000 /dev/zero | tr '\0' a >"$TMP/big"
expect 413 POST "/alerts/${A}3/ack" --data-binary "@$TMP/big"
expect_error too_large "body"

note "404, 405 with Allow"
expect 404 GET /nope
expect_error not_found "route"
expect 404 GET /alerts/x/y
code=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' -X DELETE "$API_URL/alerts")
assert_eq 405 "$code" "DELETE /alerts"
grep -qi '^Allow: GET' "$TMP/hdr" || fail "405 without Allow: GET"
code=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' "$API_URL/alerts/${A}1/ack")
assert_eq 405 "$code" "GET ack"
grep -qi '^Allow: POST' "$TMP/hdr" || fail "405 without Allow: POST"
expect 405 POST /alerts -d '{}'
expect 405 PUT "/alerts/${A}1"

note "400 names the parameter"
expect 400 GET '/alerts?limit=0'
expect_error bad_parameter "limit:"
expect 400 GET '/alerts?limit=1001'
expect_error bad_parameter "limit:"
expect 400 GET '/alerts?status=open'
expect_error bad_parameter "status:"
expect 400 GET '/alerts?severity=bad'
expect_error bad_parameter "severity:"
expect 400 GET '/alerts?since=yesterday'
expect_error bad_parameter "since:"
expect 400 GET '/alerts?until=1h'
expect_error bad_parameter "until:"
expect 400 GET '/alerts?cursor=c00'
expect_error bad_parameter "cursor:"
expect 400 GET '/alerts?colour=red'
expect_error bad_parameter "colour"
expect 400 GET '/alerts?limit=1&limit=2'
expect_error bad_parameter "more than once"

note "sensors"
# an alert event written by influx-sink --kind alerts, newer than every
# reading and tagged with sensor_id: the sensor routes must not show it
influx_write 'alerts,rule=temp-high,sensor_id=s-1,severity=critical,status=firing id="x",value=99 1795662300000000000'
expect 200 GET /sensors
assert_eq '[{"sensor_id":"s-1","measurement":"env","last_seen":"2026-11-26T03:02:00Z","fields":{"humidity":45,"temperature":26}},{"sensor_id":"s-2","measurement":"env","last_seen":"2026-11-26T03:00:10Z","fields":{"temperature":50}},{"sensor_id":"x'"'"' OR 1=1","measurement":"env","last_seen":"2026-11-26T03:00:00Z","fields":{"temperature":7}}]' \
	"$(jbody '.items|sort_by(.sensor_id)')" "/sensors"
expect 200 GET /sensors/s-1
assert_eq '{"time":"2026-11-26T03:02:00Z","measurement":"env","tags":{"sensor_id":"s-1","site":"a"},"fields":{"humidity":45,"temperature":26}}' \
	"$(jbody .)" "/sensors/s-1"
expect 404 GET /sensors/s-9
expect_error not_found "s-9"
R='/sensors/s-1/readings?field=temperature&start=2026-11-26T03:00:00Z&end=2026-11-26T03:03:00Z&every=1m'
for agg in mean:21,30,26 min:20,30,26 max:22,30,26 last:22,30,26 count:2,1,1; do
	expect 200 GET "$R&agg=${agg%%:*}"
	assert_eq "[${agg#*:}]" "$(jbody '[.points[][1]]')" "agg ${agg%%:*}"
done
assert_eq '["2026-11-26T03:00:00Z","2026-11-26T03:01:00Z","2026-11-26T03:02:00Z"]' \
	"$(jbody '[.points[][0]]')" "bucket times"
assert_eq '{"sensor_id":"s-1","measurement":"env","field":"temperature","agg":"count","every":"1m","start":"2026-11-26T03:00:00Z","end":"2026-11-26T03:03:00Z","truncated":false}' \
	"$(jbody 'del(.points)')" "readings shape"
expect 200 GET "$R&agg=max&measurement=env"
assert_eq '[22,30,26]' "$(jbody '[.points[][1]]')" "measurement=env"
expect 200 GET "$R&agg=max&measurement=other"
assert_eq '[]' "$(jbody .points)" "other measurement: empty"
expect 200 GET '/sensors/s-1/readings?field=temperature&start=-1h'
assert_eq '"1m"' "$(jbody .every)" "default every"
expect 400 GET '/sensors/s-1/readings?start=-1h'
expect_error bad_parameter "field: required"
expect 400 GET "$R&agg=sum"
expect_error bad_parameter "agg:"
expect 400 GET "$R&every=5x"
expect_error bad_parameter "every:"
expect 400 GET "/sensors/s-1/readings?field=temperature&start=-1h&every=1ms"
expect_error bad_parameter "every: too small"
expect 400 GET "/sensors/s-1/readings?field=temperature&start=now&end=-1h"
expect_error bad_parameter "end:"
expect 400 GET "/sensors/s-1/readings?field=temperature&start=2026-13-01T00:00:00Z"
expect_error bad_parameter "start:"

note "point cap: API_MAX_POINTS=2 truncates"
api_stop
api_start --api-max-points 2
expect 200 GET "/sensors/s-1/readings?field=temperature&start=2026-11-26T03:00:00Z&end=2026-11-26T03:01:00Z&every=30s"
assert_eq '[[20,"2026-11-26T03:00:00Z"],[22,"2026-11-26T03:00:30Z"],false]' \
	"$(jbody '[[.points[0][1],.points[0][0]],[.points[1][1],.points[1][0]],.truncated]')" "2 buckets fit"
# 61 s at 30 s is 2 buckets by the count, but 3 aligned buckets hold data
influx_write "env,sensor_id=s-3 temperature=1 1795662010000000000
env,sensor_id=s-3 temperature=2 1795662040000000000
env,sensor_id=s-3 temperature=3 1795662065000000000"
expect 200 GET "/sensors/s-3/readings?field=temperature&start=2026-11-26T03:00:05Z&end=2026-11-26T03:01:06Z&every=30s"
assert_eq '[[1,2],true]' "$(jbody '[[.points[][1]],.truncated]')" "truncated at the cap"
expect 400 GET "$R&agg=max"
expect_error bad_parameter "at most 2"
api_stop

note "a statement error inside a 200 answer is reported (502)"
api_start --influx-db nosuchdb
expect 502 GET /sensors
expect_error influxdb_error "database not found"
expect 502 GET /sensors/s-1/readings?field=temperature

note "/metrics"
expect 200 GET /metrics
grep -q '^alertapi_requests_total{route="/sensors",status="502"} 1$' "$TMP/body" ||
	fail "metrics: /sensors 502 not counted"
grep -q '^alertapi_alerts{status="firing",severity="critical"} 3$' "$TMP/body" ||
	fail "metrics: firing critical alerts"
grep -q '^alertapi_influxdb_query_errors_total{kind="statement"} 2$' "$TMP/body" ||
	fail "metrics: statement errors"
grep -q '^alertapi_request_duration_seconds_count [0-9]' "$TMP/body" ||
	fail "metrics: latency histogram"
grep -q '^alertapi_sse_clients 0$' "$TMP/body" || fail "metrics: sse clients"
api_stop

note "--strict: the bad line of the events file stops it with 65"
st=0
"$SP_BIN/alert-api" --strict --api-listen "127.0.0.1:$(free_port)" \
	<"$API_EVENTS" >"$TMP/strict.out" 2>"$TMP/strict.err" || st=$?
assert_eq 65 "$st" "--strict exit status"
grep -q "missing key 'id'" "$TMP/strict.err" || fail "--strict: no reason logged"
assert_eq 0 "$(wc -c <"$TMP/strict.out")" "nothing on stdout"

note "a line over 1 MiB is dead-lettered as bad_line (--strict: then 65)"
python3 -c 'print("{\"id\":\"" + "x" * (1 << 20) + "\"}")' >"$TMP/long.ndjson"
st=0
"$SP_BIN/alert-api" --strict --api-listen "127.0.0.1:$(free_port)" \
	--dead-letter "$TMP/long.dead" <"$TMP/long.ndjson" \
	>"$TMP/long.out" 2>"$TMP/long.err" || st=$?
assert_eq 65 "$st" "--strict exit status on a too long line"
assert_eq bad_line "$(jq -r .reason "$TMP/long.dead")" "too long line: reason"
assert_eq 1 "$(jq -r .line "$TMP/long.dead")" "too long line: line number"

note "a dead letter that cannot be written exits 74"
st=0
"$SP_BIN/alert-api" --api-listen "127.0.0.1:$(free_port)" \
	--dead-letter /dev/full <"$API_EVENTS" >"$TMP/full.out" \
	2>"$TMP/full.err" || st=$?
assert_eq 74 "$st" "exit status with the dead letter on /dev/full"
grep -q "cannot write to dead-letter file '/dev/full'" "$TMP/full.err" ||
	fail "no message naming the dead-letter file"
note "ok"
