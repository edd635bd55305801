#!/bin/sh
# alert-api: bearer token for POST (missing, wrong, right), reads open
# without API_AUTH_READS and closed with it; start-up refusals (exit 78):
# API_AUTH_READS without a token, prod beyond loopback without a token.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

ID=a0000000-0000-5000-8000-000000000001
TOKEN=t0k3n-for-the-test-0123456789

note "API_TOKEN set, reads open"
API_TOKEN=$TOKEN api_start
expect 401 POST "/alerts/$ID/ack" -d '{"by":"ann"}'
expect_error unauthorized "missing"
code=$(curl -s -o /dev/null -D "$TMP/hdr" -w '%{http_code}' -X POST -d '{}' "$API_URL/alerts/$ID/ack")
assert_eq 401 "$code" "401 headers"
grep -qi '^WWW-Authenticate: Bearer' "$TMP/hdr" || fail "no WWW-Authenticate"
expect 401 POST "/alerts/$ID/ack" -d '{"by":"ann"}' -H "Authorization: Bearer wrong"
expect_error unauthorized "wrong"
expect 401 POST "/alerts/$ID/ack" -d '{"by":"ann"}' -H "Authorization: Bearer ${TOKEN}x"
expect 401 POST "/alerts/$ID/ack" -d '{"by":"ann"}' -H "Authorization: Bearer $(printf %.10s "$TOKEN")"
expect 401 POST "/alerts/$ID/ack" -d '{"by":"ann"}' -H "Authorization: Basic $TOKEN"
expect 401 POST "/alerts/$ID/ack" -d '{"by":"ann"}' -H "Authorization: $TOKEN"
expect 200 GET "/alerts/$ID"
assert_eq null "$(jbody .acknowledged)" "no ack went through"
expect 200 POST "/alerts/$ID/ack" -d '{"by":"ann"}' -H "Authorization: Bearer $TOKEN"
assert_eq '"ann"' "$(jbody .acknowledged.by)" "authorized ack"
for p in /health /alerts "/alerts/$ID" /metrics /; do
	expect 200 GET "$p"
done
grep -q "$TOKEN" "$TMP/api.err" && fail "the token appears in the log"
api_stop

note "API_AUTH_READS=true closes every route"
API_TOKEN=$TOKEN API_AUTH_READS=true api_start
for p in /health /ready /alerts "/alerts/$ID" /alerts/stream /sensors /sensors/s-1 /metrics; do
	expect 401 GET "$p"
	expect 401 GET "$p" -H "Authorization: Bearer nope"
done
note "the status page itself is static: open, with no alert data in it"
expect 200 GET /
grep -q 'a0000000-0000' "$TMP/body" && fail "alert data in the page"
grep -q '<title>sensorpipe alerts</title>' "$TMP/body" || fail "not the page"
for p in /health /alerts "/alerts/$ID" /metrics /; do
	expect 200 GET "$p" -H "Authorization: Bearer $TOKEN"
done
api_stop

note "start-up refusals"
st=0
API_AUTH_READS=true "$SP_BIN/alert-api" --api-listen 127.0.0.1:1 </dev/null \
	>/dev/null 2>"$TMP/err1" || st=$?
assert_eq 78 "$st" "API_AUTH_READS without token"
grep -q 'API_AUTH_READS=true needs API_TOKEN' "$TMP/err1" || fail "message"
st=0
APP_ENV=prod "$SP_BIN/alert-api" --api-listen 0.0.0.0:1 </dev/null \
	>/dev/null 2>"$TMP/err2" || st=$?
assert_eq 78 "$st" "prod, 0.0.0.0, no token"
grep -q "beyond loopback without API_TOKEN" "$TMP/err2" || fail "message 2"
note "prod on loopback without a token starts"
APP_ENV=prod api_start
expect 200 GET /health
api_stop
note "ok"
