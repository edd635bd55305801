#!/usr/bin/env python3
"""Writes N alert events (NDJSON) for bench/api.sh: alerts over 500 sensors
and 4 rules; every alert fires, a third get an LLM summary, two thirds
resolve, so the last events leave about a third firing. Deterministic.

    bench/api_gen.py N >events.ndjson
"""
import json
import sys

n = int(sys.argv[1])
rules = [("temp-high", "critical", "temperature", 80),
         ("humidity-band", "warning", "humidity", 70),
         ("temp-jump", "info", "temperature", 5),
         ("pressure-low", "warning", "pressure", 950)]
out = sys.stdout
for i in range(n):
    rule, sev, field, thr = rules[i % 4]
    sensor = "s-%04d" % (i % 500)
    ev = {
        "id": "%08x-0000-5000-8000-%012x" % (i, i),
        "event_id": "%08x-0000-4000-8000-%012x" % (i, 3 * i),
        "event": "fired", "status": "firing", "rule": rule, "severity": sev,
        "measurement": "env", "field": field,
        "tags": {"sensor_id": sensor, "site": "site-%d" % (i % 7)},
        "value": thr + 1.5 + (i % 10), "threshold": thr,
        "started_at": "2026-11-18T%02d:%02d:%02dZ" % ((i // 3600) % 24, (i // 60) % 60, i % 60),
        "time": "2026-11-18T%02d:%02d:%02dZ" % ((i // 3600) % 24, (i // 60) % 60, i % 60),
        "message": "%s: %s %.1f above %s" % (sensor, field, thr + 1.5 + (i % 10), thr),
        "summary": "%s: %s %.1f above %s" % (sensor, field, thr + 1.5 + (i % 10), thr),
        "summary_source": "fallback",
    }
    out.write(json.dumps(ev, separators=(",", ":")) + "\n")
    if i % 3 == 0:
        ev["event"] = "summarized"
        ev["event_id"] = "%08x-0000-4000-8000-%012x" % (i, 3 * i + 1)
        ev["summary"] = ("Sensor %s reports %s well above its limit for several "
                         "minutes; check the equipment near it." % (sensor, field))
        ev["summary_source"] = "llm"
        out.write(json.dumps(ev, separators=(",", ":")) + "\n")
    if i % 3 != 2:
        ev["event"] = "resolved"
        ev["status"] = "resolved"
        ev["event_id"] = "%08x-0000-4000-8000-%012x" % (i, 3 * i + 2)
        out.write(json.dumps(ev, separators=(",", ":")) + "\n")
