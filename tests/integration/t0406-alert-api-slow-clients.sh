#!/bin/sh
# alert-api: 200 slow connections (100 silent after a partial request, 100
# trickling a header line every 0.3 s) do not stop other clients: 100
# requests are each answered within a second; the silent ones are closed by
# API_CONN_TIMEOUT (2 s); API_MAX_PER_IP closes connections past the limit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert-api-lib.sh"

api_start --api-conn-timeout 2s
out=$(python3 "$SP_ROOT/tests/integration/alert-api-slow.py" "$API_PORT" 200 100 \
	'/alerts?limit=20' 5)
note "$out"
case $out in
"served=100 max_ms="*) ;;
*) fail "not every request was served: $out" ;;
esac
ms=$(echo "$out" | sed 's/.*max_ms=\([0-9]*\).*/\1/')
[ "$ms" -lt 1000 ] || fail "a request took ${ms} ms"
case $out in
*"idle_closed=100 trickle_open=100") ;;
*) fail "timeouts: $out" ;;
esac
expect 200 GET /health

note "headers past 32 KiB: 431 from libmicrohttpd; 30 KB pass"
out=$(python3 - "$API_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
for n in (30000, 40000):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * n + b"\r\n\r\n")
    print(s.recv(100).split(b"\r\n")[0].decode())
    s.close()
PY
)
assert_eq "HTTP/1.1 200 OK
HTTP/1.1 431 Request Header Fields Too Large" "$out" "header limit"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$API_URL/alerts?limit=1")
assert_eq 200 "$code" "HEAD"
api_stop

note "API_MAX_PER_IP=4: the 5th connection is closed at once"
api_start --api-max-per-ip 4 --api-conn-timeout 5s
out=$(python3 - "$API_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
for s in held:
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
c = socket.create_connection(("127.0.0.1", port))
c.settimeout(3)
try:
    c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    print("fifth:", c.recv(100)[:12])
except OSError as e:
    print("fifth: closed", type(e).__name__)
for s in held:
    s.close()
PY
)
note "$out"
case $out in
"fifth: b''" | "fifth: closed"*) ;;
*) fail "per-IP limit not applied: $out" ;;
esac
wait_for 5 curl -sf "$API_URL/health"
api_stop
note "ok"
