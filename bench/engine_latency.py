#!/usr/bin/env python3
"""Latency from reading in to alert out for alert-engine (bench/engine.sh).

    engine_latency.py ALERT_ENGINE RULES_JSON RATE SECONDS [SERIES]

Feeds RATE readings per second for SECONDS over SERIES series (default
10000) to ALERT_ENGINE through a pipe, paced in 1 ms batches. Every 100th
reading is a probe (measurement "probe", field p alternating 1 and -1)
matched by an extra rule `probe-latency` (above 0) on one series, so each
probe produces exactly one event (fired or resolved), in order. One thread, select(): the time of a
probe is taken right after its batch is written, the time of its event as
soon as the line can be read. Prints p50, p99 and max in microseconds.
"""
import json
import os
import select
import subprocess
import sys
import tempfile
import time


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    engine, rules_path, rate, secs = (sys.argv[1], sys.argv[2],
                                      int(sys.argv[3]), float(sys.argv[4]))
    series = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
    rules = json.load(open(rules_path))
    rules["rules"].append({"name": "probe-latency", "measurement": "probe",
                           "field": "p", "above": 0})
    tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(rules, tmp)
    tmp.close()
    # the probe flips every time: flap detection would hold it firing
    env = dict(os.environ, ALERT_FLAP_COUNT="0")
    proc = subprocess.Popen([engine, "--alert-rules-file", tmp.name,
                             "--stats-interval", "0"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, bufsize=0)
    fin, fout = proc.stdin.fileno(), proc.stdout.fileno()
    os.set_blocking(fout, False)
    os.set_blocking(fin, False)
    base = 1764129600
    total = int(rate * secs)
    per_batch = max(1, rate // 1000)
    sent = []           # send times (ns) of probes not yet answered
    got = []            # latencies (ns)
    buf = b""
    probe_no = 0
    k = 0
    start = time.perf_counter_ns()
    tick = 0

    def drain(timeout):
        nonlocal buf
        r, _, _ = select.select([fout], [], [], max(0.0, timeout))
        if not r:
            return
        now = time.perf_counter_ns()
        try:
            data = os.read(fout, 1 << 20)
        except BlockingIOError:
            return
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if b'"probe-latency"' not in line:
                continue
            if sent:
                got.append(now - sent.pop(0))

    while k < total:
        lines = []
        probes = []
        for _ in range(per_batch):
            t = base + k // series
            if k % 100 == 99:
                probe_no += 1
                lines.append('{"time":"%s","measurement":"probe","tags":'
                             '{"sensor_id":"probe"},"fields":'
                             '{"p":%d}}\n' % (_iso(t, k),
                                              1 if probe_no % 2 else -1))
                probes.append(probe_no)
            else:
                s = k % series
                lines.append('{"time":"%s","measurement":"env","tags":'
                             '{"sensor_id":"s-%05d","site":"site-%02d"},'
                             '"fields":{"temperature":%.2f,"humidity":50}}\n'
                             % (_iso(t, k), s, (s // 100) % 100,
                                20 + (s % 7) * 0.1))
            k += 1
        out = "".join(lines).encode()
        while out:
            # never block on a full stdin while the engine waits for us to
            # read its stdout
            try:
                n = os.write(fin, out)
                out = out[n:]
            except BlockingIOError:
                pass
            if out:
                select.select([], [fin], [], 0.01)
                drain(0)
        now = time.perf_counter_ns()
        for _ in probes:
            sent.append(now)
        tick += 1
        next_at = start + tick * 1000000
        drain(0)    # even when behind schedule
        while True:
            left = (next_at - time.perf_counter_ns()) / 1e9
            if left <= 0:
                break
            drain(left)
    proc.stdin.close()
    end = time.perf_counter() + 5
    while sent and time.perf_counter() < end:
        drain(0.05)
    proc.wait(10)
    os.unlink(tmp.name)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    if not got:
        sys.exit("no probe events seen")
    got.sort()

    def pct(p):
        return got[min(len(got) - 1, int(len(got) * p))] / 1000.0

    print("readings=%d offered_rate=%d/s probes=%d lost=%d p50_us=%.0f "
          "p99_us=%.0f max_us=%.0f elapsed_s=%.1f" % (
              total, rate, len(got), len(sent), pct(0.5), pct(0.99),
              got[-1] / 1000.0, elapsed))


_ISO = {}


def _iso(t, k):
    s = _ISO.get(t)
    if s is None:
        _ISO.clear()
        s = _ISO[t] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    return s + ".%06dZ" % (k % 1000000)


if __name__ == "__main__":
    main()
