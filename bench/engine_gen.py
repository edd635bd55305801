#!/usr/bin/env python3
"""Load for bench/engine.sh: a rules file and readings for alert-engine.

  engine_gen.py rules N_RULES N_SITES           > rules.json
  engine_gen.py readings N_READINGS N_SERIES N_SITES > readings.ndjson

Series: measurement "env", tags sensor_id=s-NNNNN and site=site-NN (sensors
spread evenly over the sites), fields temperature and humidity. Readings go
round-robin over the series, one second of event time per round, values a
seeded random walk with rare spikes, so some rules fire and resolve.

Rules: rule i matches site i % N_SITES (every tenth rule uses a glob on the
site instead), and cycles over above (with clear_below and for), below,
outside on humidity, rate_above over 60s and deadman 5m, so each series has
about N_RULES / N_SITES states.
"""
import json
import random
import sys


def rules(n, sites):
    out = []
    for i in range(n):
        site = "site-%02d" % (i % sites)
        where = {"site": site}
        if i % 10 == 9:
            where = {"site": site[:-1] + "*"} if i % 20 == 19 else {"site": site}
        r = {"name": "r%04d" % i, "measurement": "env", "where": where,
             "severity": ("info", "warning", "critical")[i % 3]}
        kind = i % 5
        if kind == 0:
            r.update(field="temperature", above=30 + i % 7, clear_below=28,
                     **{"for": "5s"})
        elif kind == 1:
            r.update(field="temperature", below=5 + i % 3)
        elif kind == 2:
            r.update(field="humidity", outside=[20, 80])
        elif kind == 3:
            r.update(field="temperature", rate_above=20, per="60s")
        else:
            r.update(deadman="5m")
        out.append(r)
    return {"rules": out}


def readings(n, series, sites, out):
    rnd = random.Random(42)
    temp = [20.0 + rnd.random() * 5 for _ in range(series)]
    hum = [50.0 + rnd.random() * 10 for _ in range(series)]
    base = 1764129600  # 2025-11-26T04:00:00Z
    per_site = max(1, series // sites)
    buf = []
    for k in range(n):
        s = k % series
        rnd_v = rnd.random()
        temp[s] += (rnd_v - 0.5) * 0.5
        if rnd_v < 0.001:
            temp[s] = 40.0
        elif temp[s] > 32:
            temp[s] = 24.0
        hum[s] += (rnd.random() - 0.5)
        t = base + k // series
        frac = (k % series) * 1000000000 // series
        buf.append('{"time":"%s.%09dZ","measurement":"env","tags":'
                   '{"sensor_id":"s-%05d","site":"site-%02d"},"fields":'
                   '{"temperature":%.2f,"humidity":%.1f}}\n' % (
                       _iso(t), frac, s, (s // per_site) % sites, temp[s],
                       hum[s]))
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))


_iso_cache = {}


def _iso(t):
    import time
    v = _iso_cache.get(t)
    if v is None:
        v = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
        _iso_cache.clear()
        _iso_cache[t] = v
    return v


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "rules":
        json.dump(rules(int(sys.argv[2]), int(sys.argv[3])), sys.stdout,
                  indent=0)
        sys.stdout.write("\n")
    elif len(sys.argv) == 5 and sys.argv[1] == "readings":
        readings(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                 sys.stdout)
    else:
        sys.stderr.write(__doc__)
        sys.exit(64)


if __name__ == "__main__":
    main()
