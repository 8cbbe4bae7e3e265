#!/usr/bin/env python3
"""Result rows and the table for tests/bench/mtls_path.sh (stdlib only).

The per-run measurements (free ports, CPU time, RSS, h2load summaries,
templates) come from bench_helper.py; this file adds what a two-proxy path
needs: one row per pair with each proxy's CPU and memory, and a table with a
"remora / best peer" line.

  row JSON_FILE                  read the measurements a run collected (one
                                 JSON object of raw numbers) and print a row
  table ROWS_FILE                print the Markdown table of all rows
"""

import json
import sys


def per_request(cpu_us, summary):
    done = summary.get("succeeded", 0)
    return round(cpu_us / done, 1) if done else None


def row(raw_path):
    with open(raw_path, encoding="utf-8") as source:
        raw = json.load(source)
    fixed, sat = raw["fixed"], raw["sat"]
    out = {
        "name": raw["name"],
        "hop": raw["hop"],
        "fixed": fixed,
        "sat": sat,
        "cpu_a": per_request(raw["cpu_fixed_a"], fixed),
        "cpu_b": per_request(raw["cpu_fixed_b"], fixed),
        "sat_cpu": per_request(raw["cpu_sat_a"] + raw["cpu_sat_b"], sat),
    }
    out["cpu_total"] = None if out["cpu_a"] is None else round(out["cpu_a"] + out["cpu_b"], 1)
    for key in ("idle_a", "idle_b", "load_a", "load_b", "peak_a", "peak_b"):
        out[key + "_kb"] = int(raw[key + "_kb"])
    print(json.dumps(out))


def errors(r):
    f, s = r["fixed"], r["sat"]
    return sum(x["failed"] + x["errored"] + x["timeout"] + x["non2xx"] for x in (f, s))


def ms(us):
    return None if us is None else us / 1000.0


def mib(kb):
    return kb / 1024.0


# (header, value of a row, format, lower is better?) — None: no ratio.
COLUMNS = [
    ("fixed req/s", lambda r: r["fixed"]["rps"], "%.0f", None),
    ("CPU us/req A", lambda r: r["cpu_a"], "%.1f", True),
    ("CPU us/req B", lambda r: r["cpu_b"], "%.1f", True),
    ("CPU us/req A+B", lambda r: r["cpu_total"], "%.1f", True),
    ("p50 ms", lambda r: ms(r["fixed"]["p50_us"]), "%.2f", True),
    ("p90 ms", lambda r: ms(r["fixed"].get("p90_us")), "%.2f", True),
    ("p99 ms", lambda r: ms(r["fixed"]["p99_us"]), "%.2f", True),
    ("errors", errors, "%d", None),
    ("sat req/s", lambda r: r["sat"]["rps"], "%.0f", False),
    ("sat CPU us/req A+B", lambda r: r["sat_cpu"], "%.1f", True),
    ("RSS idle A/B MiB", lambda r: (mib(r["idle_a_kb"]), mib(r["idle_b_kb"])), "%.1f", True),
    ("RSS load A/B MiB", lambda r: (mib(r["load_a_kb"]), mib(r["load_b_kb"])), "%.1f", True),
    ("RSS peak A/B MiB", lambda r: (mib(r["peak_a_kb"]), mib(r["peak_b_kb"])), "%.1f", True),
]


def cell(value, fmt):
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return " / ".join(cell(v, fmt) for v in value)
    return fmt % value


def ratio_cell(remora, peers, getter, lower_better):
    """remora's value over the best peer's (per element for A/B pairs)."""
    if lower_better is None:
        return ""
    mine = getter(remora)
    theirs = [getter(p) for p in peers]
    if isinstance(mine, tuple):
        parts = []
        for i, value in enumerate(mine):
            candidates = [t[i] for t in theirs if t is not None and t[i]]
            parts.append(ratio_cell({"v": value}, [{"v": c} for c in candidates], lambda r: r["v"], lower_better)
                         or "-")
        return " / ".join(parts)
    candidates = [t for t in theirs if t]
    if mine is None or not candidates:
        return "-"
    best = min(candidates) if lower_better else max(candidates)
    return "%.2fx" % (mine / best)


def table(rows_path):
    rows = []
    with open(rows_path, encoding="utf-8") as source:
        for line in source:
            if line.strip():
                rows.append(json.loads(line))
    print("| path (A -> B hop) | " + " | ".join(c[0] for c in COLUMNS) + " |")
    print("| --- |" + " ---: |" * len(COLUMNS))
    for r in rows:
        print("| %s (%s) | " % (r["name"], r["hop"]) +
              " | ".join(cell(c[1](r), c[2]) for c in COLUMNS) + " |")
    remora = next((r for r in rows if r["name"] == "remora"), None)
    peers = [r for r in rows if r["name"] != "remora"]
    if remora and peers:
        print("| **remora / best peer** | " +
              " | ".join(ratio_cell(remora, peers, c[1], c[3]) for c in COLUMNS) + " |")
    print()
    if not remora:
        print("remora was not measured, so there is no remora / best peer ratio.")
    elif not peers:
        print("no peer was measured, so there is no remora / best peer ratio.")
    else:
        print("Ratios: remora's value over the best peer's in that column (lowest cost, highest "
              "saturation rate); below 1.00x is better for every column but sat req/s.")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    command, arg = sys.argv[1], sys.argv[2]
    if command == "row":
        row(arg)
    elif command == "table":
        table(arg)
    else:
        sys.exit("unknown command %s\n%s" % (command, __doc__))


if __name__ == "__main__":
    main()
