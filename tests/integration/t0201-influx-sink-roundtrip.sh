#!/bin/sh
# influx-sink against a real influxd 1.6: a table of 40 tricky readings
# (spaces, commas, equals, quotes, backslashes, Unicode, emoji, empty and
# long strings in every position; int64 extremes; 0.1, 1e-300, -0.0, 5e-324;
# booleans; string fields) is written and read back over /query (epoch=ns),
# compared value by value with the field types SHOW FIELD KEYS reports.
# Unwritable readings (a '#' measurement, a tag ending in a backslash, a
# newline in a tag) go to the dead letter. Also: alert events (--kind
# alerts) as points of "alerts"; INFLUX_PRECISION s and us (1.x needs "u":
# it reads "us" as ns) truncate the stored times; the database is created;
# --dry-run prints the line protocol and exits 74 on /dev/full.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_influxd

python3 - "$TMP" <<'EOF'
import json, sys
tmp = sys.argv[1]
base = 1795665600  # 2026-11-26T04:00:00Z
cases = []

def add(measurement, fields, tags=None, frac="", raw_fields=None):
    i = len(cases)
    secs = base + i
    import datetime
    t = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
    time = t.strftime("%Y-%m-%dT%H:%M:%S") + (("." + frac) if frac else "") + "Z"
    ns = secs * 10**9 + (int(frac.ljust(9, "0")) if frac else 0)
    cases.append({"measurement": measurement, "tags": tags or {},
                  "fields": fields, "time": time, "ns": ns,
                  "raw_fields": raw_fields})

long_s = "long " * 2000
add("env", {"temperature": 21.5}, {"sensor_id": "s-1", "site": "a"})
add("my meas,ure", {"v": 1.5})
add("a=b", {"v": 1.5})
add("\u6e29\u5ea6", {"v": 1.5}, {"sensor_id": "s-2"})
add("\U0001F321\ufe0f temp", {"v": 1.5})
add("m", {"v": 1.5}, {"site": "with space"})
add("m", {"v": 1.5}, {"site": "with,comma"})
add("m", {"v": 1.5}, {"site": "with=equals"})
add("tk", {"v": 1.5}, {"k ,=ey": "x"})
add("m", {"v": 1.5}, {"site": "back\\slash"})
add("m", {"v": 1.5}, {"site": "\"quoted\""})
add("m", {"v": 1.5}, {"site": "caf\u00e9 \U0001F680"})
add("m", {"v": 1.5}, {"site": "", "sensor_id": "s-3"})
add("m", {"v": 1.5}, {"site": "x" * 1000})
add("fk", {"a b,c=d": 1.5})
add("fq", {"a\"b": 1.5})
add("fu", {"\u6e29\u5ea6 \U0001F525": 1.5})
add("s", {"s": "say \"hi\""})
add("s", {"s": "back\\slash and trailing\\"})
add("s", {"s": ""})
add("s", {"s": long_s})
add("s", {"s": "\u00fcnic\u00f8de \U0001F600\U0001F680"})
add("s", {"s": "tab\there"})
add("i", {"n": 9223372036854775807})
add("i", {"n": -9223372036854775808})
add("i", {"n": 0, "neg": -42})
add("f", {"x": 0.1})
add("f", {"x": 1e-300})
add("f", {"x": -0.0}, raw_fields='{"x":-0.0}')
add("f", {"x": 1e300, "y": 5e-324, "z": 1.7976931348623157e308})
add("f", {"x": 21.0}, raw_fields='{"x":21.0}')
add("b", {"t": True, "f": False})
add("mixed", {"f": 2.25, "i": 7, "b": True, "s": "x y=z,w"}, {"site": "a"})
add("ns", {"v": 1.5}, frac="123456789")
add("ns", {"v": 1.5}, frac="000000001")
add("big", {"x": 9223372036854775808.0}, raw_fields='{"x":9223372036854775808}')
add("s", {"s": "m,t=1 v=2 3\nnext line"})
add("m\\x", {"v": 1.5})
add("m#1", {"v": 1.5}, {"site": "#hash"})
add("neg", {"v": 1.5})
cases[-1]["time"] = "1969-12-31T23:59:58.5Z"
cases[-1]["ns"] = -1500000000

with open(tmp + "/in.ndjson", "w") as f:
    for c in cases:
        fields = c["raw_fields"] or json.dumps(c["fields"], ensure_ascii=False)
        f.write('{"time":%s,"measurement":%s,"tags":%s,"fields":%s}\n' % (
            json.dumps(c["time"]), json.dumps(c["measurement"], ensure_ascii=False),
            json.dumps(c["tags"], ensure_ascii=False), fields))
    # three lines that cannot become points
    f.write('{"time":"2026-11-26T05:00:00Z","measurement":"#comment","fields":{"v":1.5}}\n')
    f.write('{"time":"2026-11-26T05:00:00Z","measurement":"m","tags":{"k":"ends\\\\"},"fields":{"v":1.5}}\n')
    f.write('{"time":"2026-11-26T05:00:00Z","measurement":"m","tags":{"k":"a\\nb"},"fields":{"v":1.5}}\n')
with open(tmp + "/cases.json", "w") as f:
    json.dump(cases, f)
print(len(cases), "cases", file=sys.stderr)
EOF

# -- write: the database does not exist yet (INFLUX_CREATE_DB defaults on)
"$SP_BIN/influx-sink" --influx-url "$INFLUX_URL" --influx-db t0201 \
	--dead-letter "$TMP/dead.ndjson" --stats-interval 0 \
	<"$TMP/in.ndjson" >"$TMP/out" 2>"$TMP/err" || {
	cat "$TMP/err" >&2
	fail "influx-sink exited $?"
}
[ ! -s "$TMP/out" ] || fail "influx-sink wrote to stdout"
grep -q 'final stats.*in=40 written=40 rejected=0 bad=3 ' "$TMP/err" ||
	fail "final stats: $(grep 'final stats' "$TMP/err")"
assert_eq 3 "$(wc -l <"$TMP/dead.ndjson")" "dead letter entries"
assert_eq 3 "$(jq -r .reason "$TMP/dead.ndjson" | grep -c unwritable)" \
	"dead letter reasons"
jq -r .detail "$TMP/dead.ndjson" >"$TMP/dead.detail"
grep -q "measurement: a measurement starting with '#'" "$TMP/dead.detail" ||
	fail "no comment refusal: $(cat "$TMP/dead.detail")"
grep -q '^k: line protocol cannot carry a backslash' "$TMP/dead.detail" ||
	fail "no backslash refusal"
grep -q '^k: line protocol cannot carry CR or LF' "$TMP/dead.detail" ||
	fail "no newline refusal"

# -- read back, value by value
python3 - "$TMP" "$INFLUX_URL" t0201 <<'EOF'
import json, math, struct, sys, urllib.parse, urllib.request
tmp, url, db = sys.argv[1:4]
cases = json.load(open(tmp + "/cases.json"))

def query(q):
    u = url + "/query?" + urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})
    # numbers as their text: types decide how to read them
    return json.loads(urllib.request.urlopen(u).read(),
                      parse_int=str, parse_float=str)

def ident(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

def same_float(a, b):
    return struct.pack("<d", a) == struct.pack("<d", b)

bad = 0
for m in sorted({c["measurement"] for c in cases}):
    types = {}
    r = query("SHOW FIELD KEYS FROM " + ident(m))["results"][0]
    for k, t in r["series"][0]["values"]:
        types[k] = t
    res = query("SELECT * FROM " + ident(m))["results"][0]
    if "series" not in res:
        print("no data for measurement", repr(m)); bad += 1; continue
    s = res["series"][0]
    rows = {}
    for v in s["values"]:
        row = dict(zip(s["columns"], v))
        t = int(row.pop("time"))
        rows[t] = {k: x for k, x in row.items() if x is not None}
    for c in [c for c in cases if c["measurement"] == m]:
        got = rows.get(c["ns"])
        if got is None:
            print("missing", repr(m), c["ns"], "have", sorted(rows)); bad += 1; continue
        want = {k: v for k, v in c["tags"].items() if v != ""}
        for k, v in want.items():
            if got.get(k) != v:
                print("tag", repr(m), repr(k), "want", repr(v), "got", repr(got.get(k))); bad += 1
        for k, v in c["fields"].items():
            g = got.get(k)
            if isinstance(v, bool):
                ok = types.get(k) == "boolean" and g is v
            elif isinstance(v, int):
                ok = types.get(k) == "integer" and int(g) == v
            elif isinstance(v, float):
                ok = types.get(k) == "float" and same_float(float(g), v)
            else:
                # a newline is stored as the two characters backslash, n
                ok = types.get(k) == "string" and g == v.replace("\n", "\\n")
            if not ok:
                print("field", repr(m), repr(k), "type", types.get(k), "want", repr(v)[:80], "got", repr(g)[:80]); bad += 1
        extra = set(got) - set(want) - set(c["fields"])
        if extra:
            print("extra columns", repr(m), extra); bad += 1
print(len(cases), "cases checked,", bad, "mismatches", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

# -- alert events: measurement "alerts", tags and fields as documented
cat >"$TMP/alerts.ndjson" <<'EOF'
{"id":"6f1c1a52-1d0e-5c39-9b43-6a0f5e0d2a11","event_id":"0b8e2a70-4f3c-4c7e-9d2b-1a2b3c4d5e6f","event":"fired","status":"firing","rule":"temp-high","severity":"critical","measurement":"env","field":"temperature","tags":{"sensor_id":"s-42","site":"a b"},"value":85.2,"threshold":80,"started_at":"2026-11-26T04:00:00Z","time":"2026-11-26T04:00:30.5Z","message":"s-42: temperature 85.2 above 80","summary":"It is \"hot\"","summary_source":"fallback"}
{"id":"6f1c1a52-1d0e-5c39-9b43-6a0f5e0d2a11","event_id":"1b8e2a70-4f3c-4c7e-9d2b-1a2b3c4d5e6f","event":"resolved","status":"resolved","rule":"temp-high","severity":"critical","measurement":"env","field":"temperature","tags":{"sensor_id":"s-42","site":"a b"},"value":77,"threshold":80,"started_at":"2026-11-26T04:00:00Z","time":"2026-11-26T04:05:00Z","message":"s-42: temperature back to 77","summary":"ok","summary_source":"llm"}
EOF
"$SP_BIN/influx-sink" --kind alerts --influx-url "$INFLUX_URL" \
	--influx-db t0201 --stats-interval 0 <"$TMP/alerts.ndjson" \
	2>"$TMP/err.alerts" || fail "influx-sink --kind alerts exited $?"
influx_query t0201 'SELECT * FROM alerts' |
	jq -c '.results[0].series[0] | [.columns, .values]' >"$TMP/alerts.got"
cat >"$TMP/alerts.want" <<'EOF'
[["time","id","message","rule","sensor_id","severity","site","status","summary","summary_source","threshold","value"],[[1795665630500000000,"6f1c1a52-1d0e-5c39-9b43-6a0f5e0d2a11","s-42: temperature 85.2 above 80","temp-high","s-42","critical","a b","firing","It is \"hot\"","fallback",80,85.2],[1795665900000000000,"6f1c1a52-1d0e-5c39-9b43-6a0f5e0d2a11","s-42: temperature back to 77","temp-high","s-42","critical","a b","resolved","ok","llm",80,77]]]
EOF
assert_file_eq "$TMP/alerts.want" "$TMP/alerts.got"
assert_eq '["threshold","float"] ["value","float"]' \
	"$(influx_query t0201 'SHOW FIELD KEYS FROM alerts' |
		jq -c '.results[0].series[0].values[] | select(.[0]=="value" or .[0]=="threshold")' |
		sort | tr '\n' ' ' | sed 's/ $//')" "alert field types"

# -- precision: s and us (1.x takes "u"; "us" would be read as ns)
for p in s us; do
	printf '%s\n' '{"time":"2026-11-26T04:00:00.123456789Z","measurement":"p","fields":{"v":1.5}}' |
		"$SP_BIN/influx-sink" --influx-url "$INFLUX_URL" \
			--influx-db "t0201_$p" --influx-precision "$p" \
			--stats-interval 0 2>"$TMP/err.$p" ||
		fail "precision $p: exit $?"
done
assert_eq 1795665600000000000 "$(influx_query t0201_s 'SELECT v FROM p' |
	jq '.results[0].series[0].values[0][0]')" "time written with precision s"
assert_eq 1795665600123456000 "$(influx_query t0201_us 'SELECT v FROM p' |
	jq '.results[0].series[0].values[0][0]')" "time written with precision us"

# -- dry run: line protocol on stdout; a full stdout is an I/O error
head -n 1 "$TMP/in.ndjson" | "$SP_BIN/influx-sink" --dry-run \
	--stats-interval 0 >"$TMP/dry.out" 2>"$TMP/dry.err"
assert_eq 'env,sensor_id=s-1,site=a temperature=21.5 1795665600000000000' \
	"$(cat "$TMP/dry.out")" "--dry-run output"
status=0
"$SP_BIN/influx-sink" --dry-run --stats-interval 0 <"$TMP/in.ndjson" \
	>/dev/full 2>"$TMP/full.err" || status=$?
assert_eq 74 "$status" "exit status with stdout on /dev/full"
note "t0201 ok"
