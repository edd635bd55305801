#!/bin/sh
# alert-api reading a journal (--in DIR --consumer api): the state is built
# from the journal, new lines appended while it runs are served, and a
# restart rebuilds the whole state (the cursor is never committed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

J=$TMP/alerts.j
head -n 5 "$API_EVENTS" | "$SP_BIN/sp-journal" append "$J"
API_IN=/dev/null
api_start --in "$J" --consumer api
count() {
	[ "$(curl -s "$API_URL/alerts" | jq '.items|length')" = "$1" ]
}
wait_for 10 count 3
tail -n +6 "$API_EVENTS" | "$SP_BIN/sp-journal" append "$J"
wait_for 10 count 7
expect 200 GET /alerts/a0000000-0000-5000-8000-000000000005
assert_eq '"resolved"' "$(jbody .status)" "alert 5 from the second append"
api_stop
note "restart: rebuilt from the journal"
api_start --in "$J" --consumer api
wait_for 10 count 7
expect 200 GET '/alerts?status=firing'
assert_eq '["7","6","4","3","1"]' "$(jbody '[.items[].id[-1:]]')" "firing after restart"
api_stop
note "ok"
