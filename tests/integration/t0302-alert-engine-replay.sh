#!/bin/sh
# alert-engine replay: the same capture twice gives byte-identical output
# once event_id (random) and summary are removed; ids are the documented
# UUID v5 (recomputed here in Python); bad lines are counted, dead-lettered
# and never fatal (65 with --strict); output to /dev/full exits 74.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

AE=$SP_BIN/alert-engine
GEN=$SP_ROOT/bench/engine_gen.py

python3 "$GEN" rules 50 10 >"$TMP/rules.json"
python3 "$GEN" readings 40000 200 10 >"$TMP/capture.ndjson"
# out-of-order and bad lines in the middle of the capture
{
	head -n 20000 "$TMP/capture.ndjson"
	echo 'this is not json'
	echo '{"time":"2025-11-26T04:00:00Z","measurement":"env","tags":{},"fields":{}}'
	tail -n 20000 "$TMP/capture.ndjson"
} >"$TMP/replay.ndjson"

run() {
	"$AE" --alert-rules-file "$TMP/rules.json" --stats-interval 0 \
		--dead-letter "$TMP/dead$1.ndjson" \
		<"$TMP/replay.ndjson" >"$TMP/out$1.ndjson" 2>"$TMP/err$1"
	sed -e 's/"event_id":"[^"]*",//' -e 's/"summary":"[^"]*",//' \
		"$TMP/out$1.ndjson" >"$TMP/norm$1.ndjson"
}
run 1
run 2
n=$(wc -l <"$TMP/out1.ndjson")
[ "$n" -gt 20 ] || fail "only $n events from the capture"
note "$n events"
assert_file_eq "$TMP/norm1.ndjson" "$TMP/norm2.ndjson"
cmp -s "$TMP/out1.ndjson" "$TMP/out2.ndjson" &&
	fail "event_id should differ between runs"
grep -q '"event":"fired"' "$TMP/out1.ndjson" || fail "no fired event"
grep -q '"event":"resolved"' "$TMP/out1.ndjson" || fail "no resolved event"
grep -q '"summary_source":"fallback"' "$TMP/out1.ndjson" ||
	fail "no fallback summary"

# bad lines: counted, dead-lettered with the reason, not fatal
grep -q 'rejected=2' "$TMP/err1" || fail "rejected count: $(tail -1 "$TMP/err1")"
assert_eq 2 "$(wc -l <"$TMP/dead1.ndjson")" "dead letter lines"
grep -q '"reason":"bad_json"' "$TMP/dead1.ndjson" || fail "no bad_json reason"
grep -q '"reason":"no_fields"' "$TMP/dead1.ndjson" || fail "no no_fields reason"

# ids: UUID v5 over "rule\nseries key\nstarted_at ns"; a fired and its
# resolved share the id, and every episode id is recomputed
python3 - "$TMP/out1.ndjson" <<'PY'
import json, sys, uuid, calendar
def ns(t):
    date, frac = t[:19], t[19:-1]
    secs = calendar.timegm((int(date[0:4]), int(date[5:7]), int(date[8:10]),
                            int(date[11:13]), int(date[14:16]), int(date[17:19])))
    digits = frac[1:] if frac else ""
    return secs * 10**9 + int((digits + "000000000")[:9])
open_ids = {}
n = 0
for line in open(sys.argv[1]):
    a = json.loads(line)
    key = a["measurement"] + "".join(
        ",%s=%s" % (k, v) for k, v in sorted(a["tags"].items()) if v)
    want = uuid.uuid5(uuid.NAMESPACE_URL,
                      "%s\n%s\n%d" % (a["rule"], key, ns(a["started_at"])))
    assert a["id"] == str(want), (a, str(want))
    assert uuid.UUID(a["event_id"]).version == 4
    k = (a["rule"], key)
    if a["event"] == "fired":
        assert k not in open_ids, ("fired twice", a)
        open_ids[k] = a["id"]
    elif a["event"] == "resolved":
        assert open_ids.pop(k) == a["id"], ("resolved without fired", a)
    n += 1
print("checked", n, "ids")
PY

# --strict: the first bad line exits 65
st=0
"$AE" --alert-rules-file "$TMP/rules.json" --strict <"$TMP/replay.ndjson" \
	>/dev/null 2>"$TMP/err3" || st=$?
assert_eq 65 "$st" "exit status with --strict"

# output to /dev/full: 74
st=0
"$AE" --alert-rules-file "$TMP/rules.json" <"$TMP/replay.ndjson" \
	>/dev/full 2>"$TMP/err4" || st=$?
assert_eq 74 "$st" "exit status with stdout on /dev/full"
grep -q 'cannot write output' "$TMP/err4" || fail "no write error logged"
note "replay: ok"
