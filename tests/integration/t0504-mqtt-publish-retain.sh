#!/bin/sh
# MQTT_PUBLISH_RETAIN: each alert series has its own topic (the template
# holds the sensor and the rule), so its latest event is the retained one:
# a subscriber arriving after `fired` gets `fired` (retain flag set); after
# `resolved` on the same topic it gets `resolved`, which replaced `fired`;
# another series keeps its own retained event. Without the key nothing is
# retained.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_mosquitto
export MQTT_URL MQTT_CLIENT_ID=sp-t0504 STATS_INTERVAL=0 \
	MQTT_PERSISTENCE_DIR="$TMP/pers"

# what a subscriber arriving now gets: retain flag, topic, event
late_sub() {
	mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t "$1" -C "$2" \
		-W "${3:-5}" -F '%r %t %p' >"$TMP/late.raw" 2>/dev/null || true
	sed 's/^\([01]\) \([^ ]*\) .*"event":"\([a-z]*\)".*/\1 \2 \3/' \
		"$TMP/late.raw" | sort
}
publish() {
	printf '%s\n' "$@" | "$SP_BIN/mqtt-publish" 2>>"$TMP/pub.err" ||
		fail "mqtt-publish failed: $(tail -3 "$TMP/pub.err")"
}

export MQTT_PUBLISH_RETAIN=true
publish \
	'{"event":"fired","status":"firing","rule":"temp-high","tags":{"sensor_id":"s-1"}}' \
	'{"event":"fired","status":"firing","rule":"temp-high","tags":{"sensor_id":"s-2"}}'
late_sub 'alerts/#' 2 >"$TMP/got1"
cat >"$TMP/expect1" <<'EOF'
1 alerts/s-1/temp-high fired
1 alerts/s-2/temp-high fired
EOF
assert_file_eq "$TMP/expect1" "$TMP/got1"

publish \
	'{"event":"resolved","status":"resolved","rule":"temp-high","tags":{"sensor_id":"s-1"}}' \
	'{"event":"summarized","status":"firing","rule":"temp-high","tags":{"sensor_id":"s-2"}}'
late_sub 'alerts/#' 2 >"$TMP/got2"
cat >"$TMP/expect2" <<'EOF'
1 alerts/s-1/temp-high resolved
1 alerts/s-2/temp-high summarized
EOF
assert_file_eq "$TMP/expect2" "$TMP/got2"

# without MQTT_PUBLISH_RETAIN: delivered live, not retained
unset MQTT_PUBLISH_RETAIN
export MQTT_PUBLISH_TOPIC='live/{tags.sensor_id}/{rule}'
publish '{"event":"fired","rule":"temp-high","tags":{"sensor_id":"s-3"}}'
late_sub 'live/#' 1 2 >"$TMP/got3"
assert_eq "" "$(cat "$TMP/got3")" "retained messages without MQTT_PUBLISH_RETAIN"
