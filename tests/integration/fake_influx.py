#!/usr/bin/env python3
"""A fake InfluxDB write endpoint for influx-sink tests, for the answers a
real influxd will not give on demand: 429 with Retry-After, 503, 413 above a
size, slow answers (client timeouts), 401/404 until "fixed".

    fake_influx.py PORT LOG [--script JSON] [--max-lines N] [--delay S]

Every request to /write or /api/v2/write is logged to LOG as one JSON line:
    {"t": <unix time>, "path": ..., "query": {...}, "status": <sent>,
     "lines": <points in the body>, "bytes": <bytes on the wire>,
     "gzip": true|false, "peer": <client port>, "auth": <Authorization>}
and the points of every accepted (2xx) request are appended to LOG.points.

--script is a JSON list of answers used in order, one per write request,
then 204 for ever: {"status": 429, "headers": {"Retry-After": "2"},
"body": "...", "delay": 3.0}. --max-lines N answers 413 to a body of more
than N points (checked before the script). --delay S answers every request
after S seconds (unless its script step says otherwise). HTTP/1.1
keep-alive.
"""
import gzip
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT = int(sys.argv[1])
LOG = sys.argv[2]
SCRIPT = []
MAX_LINES = 0
DELAY = 0.0
args = sys.argv[3:]
while args:
    if args[0] == "--script":
        SCRIPT = json.loads(args[1])
        args = args[2:]
    elif args[0] == "--delay":
        DELAY = float(args[1])
        args = args[2:]
    elif args[0] == "--max-lines":
        MAX_LINES = int(args[1])
        args = args[2:]
    else:
        sys.exit("unknown argument " + args[0])

lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # keep stderr quiet
        pass

    def answer(self, status, headers=None, body=b""):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ping":
            self.answer(204)
        else:
            self.answer(404, body=b'{"error":"not here"}')

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        url = urlsplit(self.path)
        if url.path == "/query":
            self.answer(200, body=b'{"results":[{"statement_id":0}]}')
            return
        if url.path not in ("/write", "/api/v2/write"):
            self.answer(404, body=b"404 page not found")
            return
        gz = self.headers.get("Content-Encoding") == "gzip"
        body = gzip.decompress(raw) if gz else raw
        lines = [l for l in body.decode("utf-8").split("\n") if l]
        with lock:
            if MAX_LINES and len(lines) > MAX_LINES:
                step = {"status": 413,
                        "body": '{"error":"Request Entity Too Large"}'}
            elif SCRIPT:
                step = SCRIPT.pop(0)
            else:
                step = {"status": 204}
        if step.get("delay", DELAY):
            time.sleep(step.get("delay", DELAY))
        status = step.get("status", 204)
        rec = {"t": time.time(), "path": url.path,
               "query": {k: v[0] for k, v in parse_qs(url.query).items()},
               "status": status, "lines": len(lines), "bytes": len(raw),
               "gzip": gz, "peer": self.client_address[1],
               "auth": self.headers.get("Authorization", "")}
        with lock:
            with open(LOG, "a") as f:
                f.write(json.dumps(rec) + "\n")
            if 200 <= status < 300:
                with open(LOG + ".points", "a") as f:
                    f.write("".join(l + "\n" for l in lines))
        try:
            self.answer(status, step.get("headers"),
                        step.get("body", "").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
