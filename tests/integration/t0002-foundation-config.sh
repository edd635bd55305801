#!/bin/sh
# Configuration through a real program (mqtt-ingest; nothing here reaches
# the network): --version/--help on stdout with status 0, a bad flag exits
# 64 and a bad value 78 with one error line on stderr and nothing on stdout,
# --print-config shows flag > environment > profile > base > default with
# each value's source and the password redacted, and APP_ENV=prod refuses a
# placeholder secret.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

prog=$SP_BIN/mqtt-ingest
unset SENSORPIPE_ENV_FILE APP_ENV MQTT_QOS MQTT_USERNAME MQTT_PASSWORD \
	MQTT_TOPICS MQTT_DEFAULT_MEASUREMENT LOG_FILE LOG_LEVEL || true

# -- --version and --help
"$prog" --version >"$TMP/out" 2>"$TMP/err"
assert_eq "mqtt-ingest (sensorpipe) $(sed -n 's/^VERSION = //p' "$SP_ROOT/config.mk")" \
	"$(cat "$TMP/out")" "--version line"
[ ! -s "$TMP/err" ] || fail "--version wrote to stderr"
"$prog" --help >"$TMP/out" 2>"$TMP/err"
grep -q '^Usage: mqtt-ingest' "$TMP/out" || fail "--help has no synopsis"
grep -q 'MQTT_URL (--mqtt-url)' "$TMP/out" || fail "--help lacks MQTT_URL"

# -- a bad flag: 64, one line on stderr, nothing on stdout
status=0
"$prog" --no-such-flag >"$TMP/out" 2>"$TMP/err" || status=$?
assert_eq 64 "$status" "status of an unknown flag"
[ ! -s "$TMP/out" ] || fail "stdout not empty after a usage error"
assert_eq 1 "$(wc -l <"$TMP/err")" "error lines"
grep -q "mqtt-ingest error: unknown option '--no-such-flag' (see --help)\$" \
	"$TMP/err" || fail "usage message: $(cat "$TMP/err")"

# -- a bad value in the env file: 78, naming key, file:line and the rule
printf '# sensorpipe\n\nMQTT_QOS=3\n' >"$TMP/bad.env"
status=0
"$prog" --env-file "$TMP/bad.env" >"$TMP/out" 2>"$TMP/err" || status=$?
assert_eq 78 "$status" "status of a bad value"
grep -q "error: MQTT_QOS=3 (from $TMP/bad.env:3): must be an integer from 0 to 2\$" \
	"$TMP/err" || fail "value message: $(cat "$TMP/err")"

# -- precedence and sources
cat >"$TMP/sp.env" <<'EOF'
APP_ENV=staging
MQTT_QOS=0
MQTT_TOPICS=base/#
MQTT_DEFAULT_MEASUREMENT=base
export MQTT_USERNAME='base user'
MQTT_PASSWORD=s3cr3t-pw
EOF
printf 'MQTT_TOPICS=profile/#\nMQTT_DEFAULT_MEASUREMENT=profile\n' >"$TMP/sp.env.staging"
SENSORPIPE_ENV_FILE=$TMP/sp.env MQTT_DEFAULT_MEASUREMENT=env \
	"$prog" --mqtt-qos=2 --print-config >"$TMP/out" 2>"$TMP/err"
for want in \
	"APP_ENV=staging  # $TMP/sp.env:1" \
	"MQTT_QOS=2  # flag --mqtt-qos" \
	"MQTT_TOPICS=\"profile/#\"  # $TMP/sp.env.staging:1" \
	"MQTT_DEFAULT_MEASUREMENT=env  # environment" \
	"MQTT_USERNAME=\"base user\"  # $TMP/sp.env:5" \
	"MQTT_PASSWORD=<redacted>  # $TMP/sp.env:6" \
	"MQTT_URL=tcp://127.0.0.1:1883  # default"; do
	grep -qxF "$want" "$TMP/out" || fail "--print-config lacks '$want'"
done
if grep -q 's3cr3t-pw' "$TMP/out" "$TMP/err"; then
	fail "the password was printed"
fi

# -- prod refuses a placeholder secret (and does not print it)
printf 'APP_ENV=prod\nMQTT_PASSWORD=changeme\n' >"$TMP/prod.env"
status=0
"$prog" --env-file "$TMP/prod.env" --print-config >"$TMP/out" 2>"$TMP/err" || status=$?
assert_eq 78 "$status" "status of a placeholder in prod"
grep -q "error: MQTT_PASSWORD (from $TMP/prod.env:2): placeholder value refused with APP_ENV=prod\$" \
	"$TMP/err" || fail "prod message: $(cat "$TMP/err")"
if grep -q changeme "$TMP/err"; then
	fail "the placeholder value was logged"
fi
note "config: flags, precedence, sources, redaction and prod checks hold"
