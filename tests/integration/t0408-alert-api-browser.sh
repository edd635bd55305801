#!/bin/sh
# alert-api status page in a real browser: headless Chromium (Debian's
# /usr/bin/chromium) driven by playwright-core (pinned in tests/browser,
# installed with `npm ci` into a cache directory on first use). The page
# loads the firing alerts and sensors with sparklines, shows a new event
# without a reload, drops a resolved one, and acknowledges from the page.
# The screenshot is kept as tests/out/alert-api-status-page.png.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

command -v node >/dev/null || fail "node missing: scripts/install-deps --all"
command -v npm >/dev/null || fail "npm missing: apt-get install npm (Debian) or a nodejs that bundles it"
[ -x /usr/bin/chromium ] || fail "chromium missing: scripts/install-deps --all"
B=$SP_ROOT/tests/browser
lock=$(sha256sum "$B/package-lock.json" | cut -c1-12)
CACHE=${SP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sensorpipe}/browser-$lock
if [ ! -f "$CACHE/node_modules/playwright-core/package.json" ]; then
	note "npm ci playwright-core into $CACHE"
	mkdir -p "$CACHE"
	cp "$B/package.json" "$B/package-lock.json" "$CACHE/"
	(cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
		fail "npm ci failed"
fi

start_influxd
api_load_sensors
now=$(date +%s)
lines=""
for m in 50 40 30 20 10 2; do
	t=$(((now - m * 60) * 1000000000))
	lines="${lines}env,sensor_id=s-1,site=a temperature=$((20 + m / 5)).5 $t
env,sensor_id=s-2,site=b temperature=$((40 - m / 10)) $t
"
done
influx_write "$lines"

mkfifo "$TMP/in"
exec 7<>"$TMP/in"
API_IN=$TMP/in
api_start --api-ack-file "$TMP/acks.ndjson"
cat "$API_EVENTS" >&7
wait_for 5 sh -c "curl -s '$API_URL/alerts' | jq -e '.items|length == 7'"

mkdir -p "$SP_ROOT/tests/out"
shot=$SP_ROOT/tests/out/alert-api-status-page.png
rm -f "$shot"
st=0
NODE_PATH=$CACHE/node_modules timeout 90 node "$B/status-page.cjs" "$API_URL" \
	"$TMP/in" "$shot" "$TMP/chromium-profile" 7>&- || st=$?
assert_eq 0 "$st" "browser test"
[ -s "$shot" ] || fail "no screenshot"
grep -q '"by":"browser-test"' "$TMP/acks.ndjson" || fail "ack not in the log"
api_stop
exec 7>&-

note "API_AUTH_READS: the page works with /#token="
API_IN=$API_EVENTS
TOKEN=browser-test-token-0123456789
API_TOKEN=$TOKEN API_AUTH_READS=true api_start
st=0
NODE_PATH=$CACHE/node_modules timeout 90 node "$B/status-page.cjs" "$API_URL" \
	--token "$TOKEN" "$SP_ROOT/tests/out/alert-api-status-page-token.png" \
	"$TMP/chromium-profile-2" || st=$?
assert_eq 0 "$st" "browser test with a token"
api_stop
note "ok, screenshot $shot"
