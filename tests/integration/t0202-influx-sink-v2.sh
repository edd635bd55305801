#!/bin/sh
# The InfluxDB 2.x write path (INFLUX_API=v2): 3,000 readings (3 sensors,
# float and integer fields, ms times) go to a real victoria-metrics through
# /api/v2/write and are read back through /api/v1/export, compared value by
# value. The request itself (path, org, bucket, precision names per
# INFLUX_PRECISION, "Authorization: Token", gzip) is checked against the fake
# server, and so is v1's (db, rp, precision=u for us, Basic auth).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_vm

python3 - "$TMP/in.ndjson" <<'EOF'
import sys
base = 1795665600000  # ms
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        ms = base + i * 10
        t = "2026-11-26T04:%02d:%02d.%03dZ" % (ms // 60000 % 60, ms // 1000 % 60, ms % 1000)
        f.write('{"time":"%s","measurement":"env","tags":{"sensor_id":"s-%d","site":"a b"},'
                '"fields":{"temperature":%s,"count":%d}}\n' % (t, i % 3, repr(20 + i / 8), i))
EOF

"$SP_BIN/influx-sink" --influx-api v2 --influx-url "$VM_URL" \
	--influx-org acme --influx-bucket sensors --influx-token t0202-token \
	--influx-batch-size 1000 --stats-interval 0 \
	<"$TMP/in.ndjson" 2>"$TMP/err" || {
	cat "$TMP/err" >&2
	fail "influx-sink exited $?"
}
grep -q 'final stats.*in=3000 written=3000 rejected=0' "$TMP/err" ||
	fail "final stats: $(grep 'final stats' "$TMP/err")"
curl -sS -o /dev/null "$VM_URL/internal/force_flush"
curl -sS -G "$VM_URL/api/v1/export" \
	--data-urlencode 'match[]={__name__=~"env_.*"}' >"$TMP/export.json"

python3 - "$TMP/in.ndjson" "$TMP/export.json" <<'EOF'
import json, sys, datetime
want = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    ms = int(round(t.timestamp() * 1000))
    for k, v in r["fields"].items():
        key = ("env_" + k, r["tags"]["sensor_id"], r["tags"]["site"])
        want.setdefault(key, {})[ms] = float(v)
got = {}
for line in open(sys.argv[2]):
    e = json.loads(line)
    m = e["metric"]
    key = (m["__name__"], m.get("sensor_id"), m.get("site"))
    got.setdefault(key, {}).update(zip(e["timestamps"], e["values"]))
bad = 0
if set(want) != set(got):
    print("series differ: want", sorted(want), "got", sorted(got)); bad += 1
for key in want:
    for ms, v in want[key].items():
        g = got.get(key, {}).get(ms)
        if g != v:
            bad += 1
            if bad < 10:
                print("mismatch", key, ms, "want", v, "got", g)
n = sum(len(v) for v in want.values())
print(n, "values checked,", bad, "mismatches", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

# -- what the requests look like (fake server)
port=$(free_port)
spawn python3 "$SP_ROOT/tests/integration/fake_influx.py" "$port" \
	"$TMP/fake.log" 2>"$TMP/fake.err"
wait_for 10 curl -sf "http://127.0.0.1:$port/ping"
head -n 10 "$TMP/in.ndjson" >"$TMP/ten.ndjson"
"$SP_BIN/influx-sink" --influx-api v2 --influx-url "http://127.0.0.1:$port/" \
	--influx-org 'ac me' --influx-bucket 'b/1' --influx-token t0202-token \
	--influx-precision us --stats-interval 0 <"$TMP/ten.ndjson" \
	2>"$TMP/err.fake" || fail "v2 to the fake server: exit $?"
assert_eq '{"path":"/api/v2/write","query":{"org":"ac me","bucket":"b/1","precision":"us"},"auth":"Token t0202-token","gzip":true,"lines":10}' \
	"$(jq -c '{path,query,auth,gzip,lines}' "$TMP/fake.log")" "v2 request"
: >"$TMP/fake.log"
"$SP_BIN/influx-sink" --influx-url "http://127.0.0.1:$port" \
	--influx-db 'd b' --influx-rp rp1 --influx-username u1 \
	--influx-password 'p:w' --influx-precision us --influx-gzip false \
	--influx-create-db false --stats-interval 0 <"$TMP/ten.ndjson" \
	2>"$TMP/err.fake1" || fail "v1 to the fake server: exit $?"
assert_eq '{"path":"/write","query":{"db":"d b","rp":"rp1","precision":"u"},"auth":"Basic dTE6cDp3","gzip":false,"lines":10}' \
	"$(jq -c '{path,query,auth,gzip,lines}' "$TMP/fake.log")" "v1 request"
# the points sent are the line protocol of --dry-run, precision us
"$SP_BIN/influx-sink" --dry-run --influx-precision us --stats-interval 0 \
	<"$TMP/ten.ndjson" >"$TMP/ten.lp" 2>/dev/null
tail -n 10 "$TMP/fake.log.points" >"$TMP/ten.sent"
assert_file_eq "$TMP/ten.lp" "$TMP/ten.sent"
# secrets stay out of the logs
if grep -q 't0202-token\|p:w' "$TMP/err.fake" "$TMP/err.fake1" "$TMP/err"; then
	fail "a secret appears in the log"
fi
note "t0202 ok"
