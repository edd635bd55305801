#!/usr/bin/env python3
"""A fake OpenAI-compatible chat completions server for tests and the demo.

    fake_llm.py --port PORT [--mode MODE] [--port-file FILE]

Listens on 127.0.0.1:PORT (0: any free port, written to --port-file) and
answers POST /v1/chat/completions (any path ending in /chat/completions)
according to the mode:

    ok          200 with choices[0].message.content = a summary naming the
                rule found in the prompt
    500         HTTP 500 with an error JSON
    429         HTTP 429 with Retry-After: 1
    slow N      waits N seconds (float), then answers as ok
    malformed   200 with a body that is not JSON

Control (for tests):
    GET  /_count          {"requests": N, "ok": N, "auth": "<last Authorization>",
                           "inflight": N, "max_inflight": N, "mode": "..."}
    POST /_mode           body: a mode as above ("slow 2", "500", ...)
    GET  /_mode?m=MODE    the same

python3 standard library only; threads, so a slow answer blocks nobody.
"""
import argparse
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"mode": "ok", "requests": 0, "ok": 0, "auth": "", "last": "",
         "inflight": 0, "max_inflight": 0}
LOCK = threading.Lock()


def valid_mode(m):
    parts = m.split()
    if not parts:
        return False
    if parts[0] in ("ok", "500", "429", "malformed"):
        return len(parts) == 1
    if parts[0] == "slow" and len(parts) == 2:
        try:
            float(parts[1])
            return True
        except ValueError:
            return False
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body, ctype="application/json", extra=None):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/_count":
            with LOCK:
                body = json.dumps({k: STATE[k] for k in
                                   ("requests", "ok", "auth", "mode",
                                    "inflight", "max_inflight")})
            self.send(200, body)
        elif url.path == "/_mode":
            m = urllib.parse.parse_qs(url.query).get("m", [""])[0]
            self.set_mode(m)
        else:
            self.send(404, '{"error":"not found"}')

    def set_mode(self, m):
        m = m.strip()
        if not valid_mode(m):
            self.send(400, json.dumps({"error": "bad mode %r" % m}))
            return
        with LOCK:
            STATE["mode"] = m
        self.send(200, json.dumps({"mode": m}))

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        if self.path == "/_mode":
            self.set_mode(body)
            return
        if not self.path.endswith("/chat/completions"):
            self.send(404, '{"error":"not found"}')
            return
        with LOCK:
            STATE["requests"] += 1
            STATE["auth"] = self.headers.get("Authorization", "")
            STATE["last"] = body
            mode = STATE["mode"]
            STATE["inflight"] += 1
            STATE["max_inflight"] = max(STATE["max_inflight"],
                                        STATE["inflight"])
        try:
            self.answer(mode, body)
        finally:
            with LOCK:
                STATE["inflight"] -= 1

    def answer(self, mode, body):
        parts = mode.split()
        if parts[0] == "slow":
            time.sleep(float(parts[1]))
            parts = ["ok"]
        if parts[0] == "500":
            self.send(500, '{"error":{"message":"internal error"}}')
        elif parts[0] == "429":
            self.send(429, '{"error":{"message":"rate limited"}}',
                      extra={"Retry-After": "1"})
        elif parts[0] == "malformed":
            self.send(200, '{"choices": [ this is not json')
        else:
            rule = "unknown"
            try:
                req = json.loads(body)
                prompt = req["messages"][-1]["content"]
                m = re.search(r"Alert rule: (\S+)", prompt)
                if m:
                    rule = m.group(1)
            except (ValueError, KeyError, IndexError, TypeError):
                pass
            answer = {
                "id": "chatcmpl-fake", "object": "chat.completion",
                "model": "fake",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant",
                                         "content": "LLM summary: rule %s "
                                                    "is firing.\n" % rule}}],
            }
            with LOCK:
                STATE["ok"] += 1
            self.send(200, json.dumps(answer))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--port-file")
    a = ap.parse_args()
    if not valid_mode(a.mode):
        sys.exit("fake_llm: bad mode %r" % a.mode)
    STATE["mode"] = a.mode
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
