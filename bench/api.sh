#!/bin/sh
# bench/api.sh: alert-api under wrk next to nginx serving the same bodies.
#
# Loads 10,000 alerts (bench/api_gen.py) into alert-api, saves the answers of
# GET /alerts/{id}, GET /alerts?limit=20 and GET /alerts?status=firing&
# sensor_id=X as static files for nginx (Debian's nginx-light, loopback, in
# the same run), then runs wrk (50 connections, 2 threads, DURATION s) on
# each route of both. Then loads 100,000 alerts and reports alert-api's RSS.
# Goals: alert-api >= 50% of nginx's req/s per route, p99 < 10 ms,
# RSS < 50 MiB with 100,000 alerts. Prints a table; exits 1 if a goal fails.
#
#	bench/api.sh [DURATION]		(default 5 s per run)
set -eu
SP_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export SP_ROOT
. "$SP_ROOT/tests/integration/lib.sh"
D=${1:-5}
BIN=${SP_BIN:-$SP_ROOT/build/bin}
command -v wrk >/dev/null || fail "wrk missing: scripts/install-deps --all"
command -v nginx >/dev/null || fail "nginx missing: scripts/install-deps --all"

python3 "$SP_ROOT/bench/api_gen.py" 10000 >"$TMP/10k.ndjson"
python3 "$SP_ROOT/bench/api_gen.py" 100000 >"$TMP/100k.ndjson"

# start_api FILE: alert-api on a free port with FILE on stdin, loaded
start_api() {
	API_PORT=$(free_port)
	API_URL=http://127.0.0.1:$API_PORT
	spawn "$BIN/alert-api" --api-listen "127.0.0.1:$API_PORT" \
		--stats-interval 0 --log-level warn <"$1" >/dev/null 2>>"$TMP/api.err"
	API_PID=$LAST_PID
	_last=$(tail -n 1 "$1" | sed 's/^{"id":"\([^"]*\)".*/\1/')
	wait_for 60 curl -sf "$API_URL/alerts/$_last"
}

start_api "$TMP/10k.ndjson"
ID=00001388-0000-5000-8000-000000001388		# alert 5000 (firing)
R1="/alerts/$ID"
R2="/alerts?limit=20"
R3="/alerts?status=firing&sensor_id=s-0042"
mkdir -p "$TMP/www"
curl -sf "$API_URL$R1" >"$TMP/www/alert.json"
curl -sf "$API_URL$R2" >"$TMP/www/list.json"
curl -sf "$API_URL$R3" >"$TMP/www/filter.json"
[ "$(jq '.items|length' "$TMP/www/filter.json")" -gt 0 ] || fail "empty filter answer"
chmod -R a+rX "$TMP"

NGINX_PORT=$(free_port)
cat >"$TMP/nginx.conf" <<NGX
worker_processes auto;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err warn;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/json;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $TMP/www;
	}
}
NGX
spawn nginx -p "$TMP" -c "$TMP/nginx.conf" -g 'daemon off;'
NGINX_PID=$LAST_PID
wait_for 10 curl -sf "http://127.0.0.1:$NGINX_PORT/alert.json"

# run NAME URL: wrk, then "req/s p99_ms"
run() {
	wrk -t2 -c50 -d"${D}s" --latency "$2" >"$TMP/wrk.$1" 2>&1 ||
		fail "wrk $2: $(cat "$TMP/wrk.$1")"
	_rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$TMP/wrk.$1")
	_p99=$(sed -n 's/^ *99% *\([0-9.]*\)\(us\|ms\|s\)$/\1 \2/p' "$TMP/wrk.$1" |
		awk '{ v = $1; if ($2 == "us") v /= 1000; if ($2 == "s") v *= 1000; printf "%.2f", v }')
	_non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$TMP/wrk.$1")
	[ -z "$_non2xx" ] || fail "$1: $_non2xx non-2xx answers"
	echo "$_rps $_p99"
}

status=0
printf '%-44s %12s %9s %12s %9s %7s\n' route api_req/s api_p99 nginx_req/s ngx_p99 ratio
for r in 1 2 3; do
	eval "path=\$R$r"
	case $r in 1) f=alert.json ;; 2) f=list.json ;; 3) f=filter.json ;; esac
	set -- $(run "api$r" "$API_URL$path")
	a_rps=$1 a_p99=$2
	set -- $(run "ngx$r" "http://127.0.0.1:$NGINX_PORT/$f")
	n_rps=$1 n_p99=$2
	ratio=$(awk -v a="$a_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", a / n }')
	printf '%-44s %12s %7sms %12s %7sms %7s\n' "GET $path" "$a_rps" "$a_p99" "$n_rps" "$n_p99" "$ratio"
	awk -v r="$ratio" -v p="$a_p99" 'BEGIN { exit !(r >= 0.5 && p < 10) }' || status=1
done
bytes1=$(wc -c <"$TMP/www/alert.json")
bytes2=$(wc -c <"$TMP/www/list.json")
bytes3=$(wc -c <"$TMP/www/filter.json")
echo "bodies: $bytes1 / $bytes2 / $bytes3 bytes; wrk -t2 -c50 -d${D}s; $(nproc) CPUs"
rss10=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$API_PID/status")
stop_pid "$API_PID"
stop_pid "$NGINX_PID"

start_api "$TMP/100k.ndjson"
rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$API_PID/status")
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$API_PID/status")
curl -sf "$API_URL/metrics" | grep '^alertapi_alerts{' | awk '{ s += $2 } END { print "alerts held: " s }'
echo "RSS: $((rss10 / 1024)) MiB after the 10,000-alert runs; $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB) with 100,000 alerts"
[ "$rss" -lt $((50 * 1024)) ] || status=1
stop_pid "$API_PID"
[ "$status" -eq 0 ] && echo "goals met" || echo "goals NOT met"
exit "$status"
