#!/usr/bin/env python3
"""Summarise rookery-bench results (one JSON line per run, label "server/key/run") into a
markdown table of medians with the ratios Rookery/Prosody, Rookery/ejabberd and
Rookery/trivial. Usage: summarise.py results.jsonl > summary.md"""

import json
import statistics
import sys
from collections import defaultdict

SERVERS = ["rookery", "trivial", "prosody", "ejabberd"]

# scenario key -> [(figure, description)]
METRICS = {
    "connect": [("conns_per_s", "connect + SASL + bind, conns/s"), ("login_p50_ms", "login p50, ms")],
    "idle": [("kib_per_conn", "server RSS per idle bound connection, KiB")],
    "muc": [
        ("deliveries_per_s", "one room, deliveries/s (saturated)"),
        ("joins_per_s", "joins/s into the room"),
        ("join_p99_ms", "join p99, ms"),
        ("latency_p50_ms", "groupchat p50, ms (saturated)"),
        ("lost", "lost deliveries"),
    ],
    "muc-paced": [
        ("latency_p50_ms", "groupchat p50, ms, paced"),
        ("latency_p99_ms", "groupchat p99, ms, paced"),
        ("lost", "lost deliveries (paced)"),
    ],
    "rooms": [
        ("deliveries_per_s", "many small rooms, deliveries/s"),
        ("joins_per_s", "many small rooms, joins/s"),
        ("latency_p50_ms", "many small rooms, groupchat p50, ms"),
        ("lost", "lost deliveries (rooms)"),
    ],
    "ws": [
        ("deliveries_per_s", "WebSocket, one room, deliveries/s"),
        ("latency_p50_ms", "WebSocket groupchat p50, ms"),
        ("lost", "lost deliveries (ws)"),
    ],
    "churn": [
        ("first_wave_cycles_per_s", "churn: first wave, cycles/s"),
        ("last_over_first", "churn: last wave / first wave rate"),
        ("rss_growth_kib", "churn: RSS growth first to last wave, KiB"),
    ],
    "join1000": [
        ("join_p99_ms", "join into a big room: p99, ms"),
        ("join_max_ms", "join into a big room: max, ms"),
    ],
}


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{int(v):,}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}×"


def main(path):
    runs = defaultdict(list)  # (key, server) -> [result]
    params = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        server, key, _run = (r.get("label", "") + "//").split("/")[:3]
        runs[(key, server)].append(r)
        params.setdefault(key, r.get("params"))
    keys = [k for k in METRICS if any((k, s) in runs for s in SERVERS)]
    out = []
    out.append("| scenario | figure | " + " | ".join(SERVERS) + " | R/Prosody | R/ejabberd | R/trivial |")
    out.append("|---|---|" + "---|" * (len(SERVERS) + 3))
    notes = []
    for key in keys:
        for fig, desc in METRICS[key]:
            med = {}
            for s in SERVERS:
                vals = [r["figures"].get(fig) for r in runs.get((key, s), [])]
                vals = [v for v in vals if isinstance(v, (int, float))]
                med[s] = statistics.median(vals) if vals else None
            cells = [fmt(med[s]) for s in SERVERS]
            out.append(
                f"| {key} | {desc} | " + " | ".join(cells) + " | "
                + " | ".join(ratio(med["rookery"], med[o]) for o in ("prosody", "ejabberd", "trivial")) + " |"
            )
        for s in SERVERS:
            errs = sum(r.get("errors", 0) for r in runs.get((key, s), []))
            if errs:
                samples = {x[:160] for r in runs[(key, s)] for x in r.get("error_samples", [])}
                notes.append(f"- {key} / {s}: {errs} errors over {len(runs[(key, s)])} runs: "
                             + "; ".join(sorted(samples)[:3]))
    out.append("")
    n_runs = max((len(v) for v in runs.values()), default=0)
    out.append(f"Medians over up to {n_runs} runs per server, each on a freshly started server. "
               "Ratios are Rookery's median over the other's (for times and memory, lower is better).")
    out.append("")
    out.append("Parameters of each scenario:")
    out.append("")
    for k in keys:
        out.append(f"- {k}: `{json.dumps(params[k], sort_keys=True)}`")
    if notes:
        out.append("")
        out.append("Errors reported by the tool:")
        out.extend(notes)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results.jsonl")
