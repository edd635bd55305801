#!/usr/bin/env python3
"""Slow clients for t0406: N connections to 127.0.0.1:PORT, half of them
send a partial request and go silent, half trickle a header line every
0.3 s. While they are open, a normal client runs REQUESTS GETs of PATH;
prints one line: served=N max_ms=M idle_closed=K trickle_open=T."""
import socket
import sys
import threading
import time

port, n, requests, path, idle_wait = (int(sys.argv[1]), int(sys.argv[2]),
                                      int(sys.argv[3]), sys.argv[4],
                                      float(sys.argv[5]))
idle, trickle = [], []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    (idle if i % 2 == 0 else trickle).append(s)

stop = False


def trickler():
    while not stop:
        for s in trickle:
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                pass
        time.sleep(0.3)


t = threading.Thread(target=trickler, daemon=True)
t.start()
start = time.monotonic()
served, worst = 0, 0.0
for i in range(requests):
    t0 = time.monotonic()
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
               % path).encode())
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.close()
    worst = max(worst, time.monotonic() - t0)
    if data.startswith(b"HTTP/1.1 200"):
        served += 1
# the silent ones must be closed by the idle timeout
time.sleep(max(0.0, idle_wait - (time.monotonic() - start)))
closed = 0
for s in idle:
    s.settimeout(0.01)
    try:
        if s.recv(1) == b"":
            closed += 1
    except socket.timeout:
        pass
    except OSError:
        closed += 1
still = 0
for s in trickle:
    try:
        s.sendall(b"X-Slow: 2\r\n")
        still += 1
    except OSError:
        pass
stop = True
print("served=%d max_ms=%d idle_closed=%d trickle_open=%d"
      % (served, worst * 1000, closed, still))
