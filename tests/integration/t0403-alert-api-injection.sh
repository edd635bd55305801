#!/bin/sh
# alert-api: hostile text in {id} and in every parameter (quotes,
# backslashes, ' OR 1=1, regex delimiters, newlines, NUL, Unicode, 10 KB)
# gets a 400 or exactly the right (often empty) answer, checked against the
# data: InfluxDB holds a sensor literally named "x' OR 1=1", whose data must
# come back alone, and the events file an alert whose sensor_id is
# it's "q" \ /x/ é.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

start_influxd
api_load_sensors
api_start

big=$(head -c 10240 /dev/zero | tr '\0' a)
# get CODE PATH NAME=VALUE...: GET with each value URL-encoded
get() {
	_g_code=$1
	_g_path=$2
	shift 2
	for _g_kv; do
		set -- "$@" --data-urlencode "$_g_kv"
		shift
	done
	_g_got=$(curl -s -o "$TMP/body" -w '%{http_code}' -G "$@" \
		"$API_URL$_g_path")
	if [ "$_g_got" != "$_g_code" ]; then
		cat "$TMP/body" >&2
		fail "GET $_g_path $*: expected $_g_code, got $_g_got"
	fi
}

# Hostile values used for every parameter.
nl='
'
set -- "x' OR 1=1" "x\" OR \"\"=\"" 'x\' '\\' '/.*/' '/s-1|.*/' "s-1${nl}DROP" \
	"s-1' OR '1'='1" 's-1); DROP DATABASE sensors; --' '$sensor' 'é' \
	'日本語' "$big"

note "alert filters: 400 or an empty list, never more"
for v; do
	for p in sensor_id rule; do
		code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G \
			--data-urlencode "$p=$v" "$API_URL/alerts")
		case $code in
		400) expect_error bad_parameter "$p" ;;
		200) assert_eq '[]' "$(jbody .items)" "$p=$(printf %.20s "$v")" ;;
		*) fail "$p=$(printf %.20s "$v"): HTTP $code" ;;
		esac
	done
	for p in status severity since until limit cursor; do
		get 400 /alerts "$p=$v"
	done
done
get 400 /alerts "sensor_id=$big"
expect_error bad_parameter "sensor_id: longer than 1024"
get 400 /alerts "rule=s-1${nl}"
expect 400 GET '/alerts?sensor_id=s-1%00x'
expect_error bad_parameter "sensor_id:"
expect 400 GET '/alerts?rule=temp-high%0A'
note "the hostile-looking sensor id of the events file matches exactly"
get 200 /alerts 'sensor_id=it'"'"'s "q" \ /x/ é'
assert_eq '["a0000000-0000-5000-8000-000000000006"]' "$(jbody '[.items[].id]')" "unicode sensor"
get 200 /alerts 'sensor_id=it'"'"'s "q" \ /x/ e'
assert_eq '[]' "$(jbody .items)" "near miss"

note "{id} of /alerts: anything but a UUID is 400"
for p in "%27%20OR%201=1" "%22" "%5C" "a0000000-0000-5000-8000-00000000000%27" \
	"a0000000-0000-5000-8000-000000000001%0A" "a0000000-0000-5000-8000-000000000001%00" \
	"%C3%A9" "$big"; do
	expect 400 GET "/alerts/$p" --path-as-is
	expect_error bad_parameter "id:"
	expect 400 POST "/alerts/$p/ack" --path-as-is -d '{"by":"x"}'
done

note "{id} of /sensors: bound parameter, matched literally"
expect 200 GET "/sensors/x'%20OR%201=1"
assert_eq '{"sensor_id":"x'"'"' OR 1=1","temperature":7}' \
	"$(jbody '{sensor_id:.tags.sensor_id,temperature:.fields.temperature}')" "literal sensor"
for p in "s-1'%20OR%20'1'='1" "s-1%22" "s-1%5C" "%2F.*%2F" "s-1%27)" "%24sensor" \
	"%C3%A9" "s-1%20" "S-1"; do
	expect 404 GET "/sensors/$p" --path-as-is
	expect_error not_found ""
done
for p in "s-1%0A" "s-1%00x" "s-1%0D" "%FF%FE" "$big"; do
	expect 400 GET "/sensors/$p" --path-as-is
	expect_error bad_parameter "id:"
	expect 400 GET "/sensors/$p/readings?field=temperature" --path-as-is
done

note "readings: hostile sensor ids give their own data or nothing"
W='field=temperature&start=2026-11-26T03:00:00Z&end=2026-11-26T03:03:00Z&every=1m&agg=max'
expect 200 GET "/sensors/x'%20OR%201=1/readings?$W"
assert_eq '[[7]]' "$(jbody '[.points[]|[.[1]]]')" "literal sensor readings"
for p in "s-1'%20OR%20'1'='1" "%2E*" "s-1%22" "%5C%5C"; do
	expect 200 GET "/sensors/$p/readings?$W" --path-as-is
	assert_eq '[]' "$(jbody .points)" "readings of $p"
done
note "readings: every parameter refuses hostile values"
for v; do
	for p in field measurement start end every agg; do
		f=field=temperature
		[ "$p" != field ] || f=agg=max
		code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G \
			--data-urlencode "$p=$v" --data-urlencode "$f" \
			"$API_URL/sensors/s-1/readings")
		assert_eq 400 "$code" "readings $p=$(printf %.20s "$v")"
	done
done
get 400 /sensors/s-1/readings 'field=temperature") FROM /.*/ --' 
expect_error bad_parameter "field:"
get 400 /sensors/s-1/readings field=temperature 'every=1m) fill(0'
expect_error bad_parameter "every:"
get 400 /sensors/s-1/readings field=temperature 'start=now() - 1000d'
expect_error bad_parameter "start:"

note "the data are intact"
expect 200 GET "/sensors/s-1/readings?$W"
assert_eq '[22,30,26]' "$(jbody '[.points[][1]]')" "s-1 still there"
out=$(influx_query sensors 'SHOW MEASUREMENTS')
case $out in
*'"env"'*) ;;
*) fail "measurements gone: $out" ;;
esac
api_stop
note "ok"
