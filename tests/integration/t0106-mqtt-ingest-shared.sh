#!/bin/sh
# Two mqtt-ingest instances in one shared-subscription group
# ($share/ingest/sensors/#), one speaking MQTT 3.1.1 and one MQTT 5: each
# gets a part of 2,000 QoS 1 messages, together all of them, and no message
# reaches both.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_TOPICS='$share/ingest/sensors/#' \
	MQTT_TOPIC_TEMPLATE='sensors/{site}/{sensor_id}/{measurement}'
spawn "$SP_BIN/mqtt-ingest" --mqtt-client-id sp-t0106-a \
	>"$TMP/a.ndjson" 2>"$TMP/a.err"
a=$LAST_PID
spawn "$SP_BIN/mqtt-ingest" --mqtt-client-id sp-t0106-b --mqtt-version 5 \
	>"$TMP/b.ndjson" 2>"$TMP/b.err"
b=$LAST_PID
wait_for 10 grep -q 'subscribed' "$TMP/a.err"
wait_for 10 grep -q 'subscribed' "$TMP/b.err"

"$SP_BIN/loadgen" --url "$MQTT_URL" -n 2000 -k 10 --qos 1 \
	--client-id sp-t0106-pub 2>"$TMP/pub.err"
total() {
	cat "$TMP/a.ndjson" "$TMP/b.ndjson" | wc -l
}
all_there() {
	[ "$(total)" -ge 2000 ]
}
wait_for 20 all_there
stop_pid "$a" 5
assert_eq 0 "$LAST_STATUS" "exit status of instance a"
stop_pid "$b" 5
assert_eq 0 "$LAST_STATUS" "exit status of instance b"

seqs() {
	sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$1" | sort -n
}
seqs "$TMP/a.ndjson" >"$TMP/a.seq"
seqs "$TMP/b.ndjson" >"$TMP/b.seq"
na=$(wc -l <"$TMP/a.seq")
nb=$(wc -l <"$TMP/b.seq")
note "instance a got $na, instance b got $nb"
[ "$na" -gt 0 ] || fail "instance a got nothing"
[ "$nb" -gt 0 ] || fail "instance b got nothing"
assert_eq 2000 "$((na + nb))" "messages in both outputs together"
sort -n "$TMP/a.seq" "$TMP/b.seq" | uniq -d >"$TMP/dups"
[ ! -s "$TMP/dups" ] || fail "$(wc -l <"$TMP/dups") messages reached both"
assert_eq 2000 "$(sort -un "$TMP/a.seq" "$TMP/b.seq" | wc -l | tr -d ' ')" \
	"distinct messages"
