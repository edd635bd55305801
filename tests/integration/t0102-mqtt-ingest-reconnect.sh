#!/bin/sh
# mqtt-ingest reconnects with exponential backoff, and loses nothing:
#  1. the first connect follows the policy: started while the broker is
#     down, it retries (attempt 1, 2, ...) and connects when it comes up;
#  2. the broker is stopped: the log shows the delays 250, 500, 1000, 2000,
#     4000, 4000 ms (MQTT_RECONNECT_MIN/MAX, +-20% jitter), and the gaps
#     between attempts match them; QoS 1 messages published while mqtt-ingest
#     is away (broker back, stage still in its backoff) are all received
#     through the persistent session, as are those sent before the outage;
#  3. MQTT_MAX_RETRIES failures in a row exit 69.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
stop_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0102 MQTT_TOPICS='sensors/#' \
	MQTT_RECONNECT_MIN=250ms MQTT_RECONNECT_MAX=4s MQTT_KEEPALIVE=2s \
	MQTT_TOPIC_TEMPLATE='sensors/{site}/{sensor_id}/{measurement}' \
	STATS_INTERVAL=1s
spawn "$SP_BIN/mqtt-ingest" >"$TMP/out.ndjson" 2>"$TMP/err.log"
ing=$LAST_PID

# 1. first connect with the broker down
wait_for 10 grep -q 'cannot connect to.*attempt=2 ' "$TMP/err.log"
restart_mosquitto
wait_for 10 grep -q 'connected to .*attempts=[3-9]' "$TMP/err.log"
wait_for 10 grep -q 'subscribed' "$TMP/err.log"

"$SP_BIN/loadgen" --url "$MQTT_URL" -n 100 -k 5 --qos 1 \
	--client-id sp-t0102-pub1 2>"$TMP/pub1.err"
wait_lines "$TMP/out.ndjson" 100 10

# 2. a connection up for MQTT_RECONNECT_MAX is stable: the backoff starts
# again at 250 ms. Then the broker is away until five attempts failed
# (250+500+1000+2000 ms of backoff), and back while mqtt-ingest waits its
# next delay (4 s).
wait_for 10 grep -Eq 'stats.*connected_s=([5-9]|[1-9][0-9])\.' "$TMP/err.log"
: >"$TMP/err.mark"
nbefore=$(grep -c 'cannot connect to' "$TMP/err.log" || true)
stop_mosquitto
wait_for 20 sh -c "[ \$(grep -c 'cannot connect to' '$TMP/err.log') -ge $((nbefore + 5)) ]"
restart_mosquitto
"$SP_BIN/loadgen" --url "$MQTT_URL" -n 500 -k 5 --qos 1 \
	--client-id sp-t0102-pub2 2>"$TMP/pub2.err"
grep -q 'reconnected' "$TMP/err.log" &&
	fail "reconnected before the outage messages were published: test too slow"
wait_for 15 grep -q 'reconnected to .*attempts=6' "$TMP/err.log"
wait_lines "$TMP/out.ndjson" 600 15

# every message once or more: seq 0..99 then 0..499
jq -r '.fields.seq' "$TMP/out.ndjson" | sort -n | uniq | wc -l >"$TMP/n"
assert_eq 500 "$(tr -d ' ' <"$TMP/n")" "distinct seqs received"
assert_eq 600 "$(wc -l <"$TMP/out.ndjson" | tr -d ' ')" "readings received"

# the delays after the loss: the line "connection ... lost ... next_delay_ms"
# then one "cannot connect ... next_delay_ms" per failed attempt
sed -n '/connection to .* lost/,$p' "$TMP/err.log" |
	grep -E 'lost|cannot connect' |
	sed -n 's/^\([^ ]*\) .*next_delay_ms=\([0-9]*\).*/\1 \2/p' >"$TMP/delays"
note "delays: $(cut -d' ' -f2 "$TMP/delays" | tr '\n' ' ')"
python3 - "$TMP/delays" <<'PY' || fail "backoff sequence out of tolerance"
import sys, datetime
rows = [l.split() for l in open(sys.argv[1])]
nominal = [250, 500, 1000, 2000, 4000, 4000]
if len(rows) < 5:
    sys.exit("only %d delays" % len(rows))
t = [datetime.datetime.fromisoformat(r[0].replace("Z", "+00:00")).timestamp()
     for r in rows]
ok = True
for i, (r, nom) in enumerate(zip(rows, nominal)):
    d = int(r[1])
    if not (nom * 0.8 - 1 <= d <= nom * 1.2 + 1):
        print("delay %d: %d ms, nominal %d" % (i, d, nom)); ok = False
    if i + 1 < len(rows):
        gap = (t[i + 1] - t[i]) * 1000
        # the next attempt fails at once (connection refused)
        if not (d - 20 <= gap <= d + 400):
            print("gap %d: %.0f ms after a delay of %d" % (i, gap, d)); ok = False
sys.exit(0 if ok else 1)
PY
grep -q 'reconnected to .*down_s=' "$TMP/err.log" || fail "no reconnect line"
wait_for 5 grep -q 'stats.*reconnects=1 ' "$TMP/err.log"
stop_pid "$ing" 5
assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM"

# 3. MQTT_MAX_RETRIES=3 against nothing: exit 69 after 3 attempts
port=$(free_port)
st=0
MQTT_URL=tcp://127.0.0.1:$port MQTT_MAX_RETRIES=3 \
	"$SP_BIN/mqtt-ingest" >"$TMP/out3" 2>"$TMP/err3.log" || st=$?
assert_eq 69 "$st" "exit status after MQTT_MAX_RETRIES"
grep -q 'after 3 attempts' "$TMP/err3.log" || fail "no clear retry message"
