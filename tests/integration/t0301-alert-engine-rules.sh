#!/bin/sh
# alert-engine rules file validation: every kind of error gives one clear
# line naming the rule, the key and the problem, and exit 78, both with
# --check-rules and at start; a valid file passes; --help works.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

AE=$SP_BIN/alert-engine

# check FILE_CONTENT EXPECTED_MESSAGE
check() {
	printf '%s\n' "$1" >"$TMP/rules.json"
	st=0
	"$AE" --check-rules "$TMP/rules.json" >"$TMP/out" 2>"$TMP/err" || st=$?
	assert_eq 78 "$st" "exit status of --check-rules for: $1"
	grep -qF -- "$2" "$TMP/err" || fail "--check-rules: no '$2' in: $(cat "$TMP/err")"
	assert_eq 1 "$(grep -c ' error: ' "$TMP/err")" "one error line for: $1"
	[ ! -s "$TMP/out" ] || fail "--check-rules wrote to stdout"
	# the same file refused at start, before reading any input
	st=0
	echo '{}' | "$AE" --alert-rules-file "$TMP/rules.json" \
		>"$TMP/out" 2>"$TMP/err" || st=$?
	assert_eq 78 "$st" "exit status at start for: $1"
	grep -qF -- "$2" "$TMP/err" || fail "start: no '$2' in: $(cat "$TMP/err")"
}

check '{"rules": [{"name":"a","field":"t","abve":80}]}' \
	"rule 'a': unknown key 'abve'"
check '{"rules": [{"name":"a","field":"t","above":80},{"field":"t","above":1}]}' \
	"rule #2: key 'name' is missing"
check '{"rules": [{"name":"a","field":"t","above":"80"}]}' \
	"rule 'a': key 'above' must be a number"
check '{"rules": [{"name":"a","field":"t","above":80,"clear_below":85}]}' \
	"rule 'a': key 'clear_below' (85) must not be above 'above' (80)"
check '{"rules": [{"name":"a","field":"t","outside":[70,20]}]}' \
	"rule 'a': key 'outside': min (70) must be below max (20)"
check '{"rules": [{"name":"a","field":"t","rate_above":5}]}' \
	"rule 'a': key 'rate_above' needs 'per'"
check '{"rules": [{"name":"a","field":"t","above":5,"for":"soon"}]}' \
	"rule 'a': key 'for': 'soon' is not a duration"
check '{"rules": [{"name":"a","above":5}]}' \
	"rule 'a': key 'field' is missing"
check '{"rules": [{"name":"a","field":"t","above":5,"below":1}]}' \
	"rule 'a': keys 'above' and 'below': a rule has exactly one condition"
check '{"rules": [{"name":"a","field":"t","above":5,"severity":"urgent"}]}' \
	"rule 'a': key 'severity': 'urgent' is not one of info, warning, critical"
check '{"rules": [{"name":"a","field":"t","above":5,"message":"{temp}"}]}' \
	"rule 'a': key 'message': unknown placeholder '{temp}'"
check '{"rules": [{"name":"a","field":"t","above":5},{"name":"a","field":"t","below":5}]}' \
	"rule 'a': key 'name': the same name as rule #1"
check '{"rules": [{"name":"a","deadman":"0s"}]}' \
	"rule 'a': key 'deadman' must be positive"
check '{"rules": [{"name":"a","field":"t","above":5,"where":{"site":3}}]}' \
	"rule 'a': key 'where.site' must be a string"
check '{"rules": [' "rules.json:2:0: "
check '{"alerts": []}' "unknown top-level key 'alerts'"

# a missing file
st=0
"$AE" --check-rules "$TMP/nope.json" 2>"$TMP/err" || st=$?
assert_eq 78 "$st" "exit status for a missing rules file"
grep -qF "cannot read rules file '$TMP/nope.json': open: No such file" \
	"$TMP/err" || fail "missing file message: $(cat "$TMP/err")"

# the shipped files are valid
for f in "$SP_ROOT/etc/rules.example.json" "$SP_ROOT/etc/rules.json"; do
	"$AE" --check-rules "$f" 2>"$TMP/err" || fail "$f: $(cat "$TMP/err")"
	grep -q "is valid rules=" "$TMP/err" || fail "no 'valid' line for $f"
done

# --help is a synopsis on stdout and exits 0
"$AE" --help >"$TMP/help"
grep -q -- '--check-rules FILE' "$TMP/help" || fail "--help lacks --check-rules"
grep -q 'ALERT_RULES_FILE' "$TMP/help" || fail "--help lacks ALERT_RULES_FILE"
note "rules errors: ok"
