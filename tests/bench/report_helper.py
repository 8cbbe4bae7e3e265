#!/usr/bin/env python3
"""Rows and tables for tests/bench/report.sh (Python stdlib only).

  row WORK NAME     read WORK/NAME.vars (one "key value" per line, written by
                    report.sh) and the h2load outputs of every round,
                    WORK/NAME-rRATE-ROUND.out/.tsv and WORK/NAME-sat-ROUND.out/.tsv;
                    print one JSON row
  tables ROWS_FILE  print the report's Markdown tables from the rows

A path is "direct" (h2load straight to the backend: the baseline, no proxy)
or a pair of proxies A and B with mTLS between them. CPU figures are the
proxy's utime+stime (all threads) over one h2load run divided by the requests
that succeeded in it; the direct path has none.
"""

import glob
import json
import os
import sys

# Imported from the source tree: leave no __pycache__ there.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_helper import percentile, read_durations, summarize_h2load  # noqa: E402


def read_vars(path):
    values = {}
    with open(path, encoding="utf-8") as source:
        for line in source:
            key, _, value = line.strip().partition(" ")
            if key:
                values[key] = value
    return values


def per_request(cpu_us, summary):
    if cpu_us is None or not summary["succeeded"]:
        return None
    return round(int(cpu_us) / summary["succeeded"], 1)


def errors(summary):
    return summary["failed"] + summary["errored"] + summary["timeout"] + summary["non2xx"]


def cpu_triple(values, suffix, summary):
    """(A, B, A+B) CPU us/req for one run, or Nones for the direct path."""
    a = per_request(values.get("cpu_a_" + suffix), summary)
    b = per_request(values.get("cpu_b_" + suffix), summary)
    return {"a": a, "b": b, "ab": None if a is None or b is None else round(a + b, 1)}


def kb(values, key):
    return int(values[key]) if key in values else None


def summarize_rounds(work, stem):
    """One h2load summary over every round WORK/STEM-N.out (+ .tsv): counts
    summed, req/s averaged over the rounds (they last equally long),
    percentiles over all requests of all rounds. Rounds that did not run
    (time budget) have no file and are left out."""
    outs = sorted(glob.glob(os.path.join(work, glob.escape(stem) + "-*.out")))
    total = {"done": 0, "succeeded": 0, "failed": 0, "errored": 0, "timeout": 0, "non2xx": 0, "rps": 0.0}
    durations = []
    for out in outs:
        tsv = out[:-len(".out")] + ".tsv"
        one = summarize_h2load(out, tsv)
        for key in ("done", "succeeded", "failed", "errored", "timeout", "non2xx"):
            total[key] += one[key]
        total["rps"] += one["rps"] / len(outs)
        durations.extend(read_durations(tsv))
    durations.sort()
    total["rounds"] = len(outs)
    total["samples"] = len(durations)
    for key, fraction in (("p50_us", 0.50), ("p90_us", 0.90), ("p99_us", 0.99)):
        total[key] = percentile(durations, fraction)
    total["max_us"] = durations[-1] if durations else None
    return total


def row(work, name):
    values = read_vars(os.path.join(work, name + ".vars"))
    rates = []
    for rate in values["rates"].split():
        summary = summarize_rounds(work, "%s-r%s" % (name, rate))
        rates.append({"rate": int(rate), "h2load": summary, "cpu": cpu_triple(values, rate, summary)})
    sat = summarize_rounds(work, name + "-sat")
    out = {"name": name, "hop": values.get("hop", "-"), "rates": rates, "sat": sat,
           "sat_cpu": cpu_triple(values, "sat", sat)}
    for key in ("idle_a_kb", "idle_b_kb", "load_a_kb", "load_b_kb", "peak_a_kb", "peak_b_kb"):
        out[key] = kb(values, key)
    print(json.dumps(out))


# --- formatting ------------------------------------------------------------------

def num(value, fmt="%.1f"):
    return "-" if value is None else fmt % value


def ms(us):
    return "-" if us is None else "%.2f" % (us / 1000.0)


def mib_pair(r, prefix):
    a, b = r[prefix + "_a_kb"], r[prefix + "_b_kb"]
    if a is None:
        return "-"
    return "%.1f / %.1f" % (a / 1024.0, b / 1024.0)


def label(r):
    return "direct (no proxy)" if r["name"] == "direct" else "%s pair (%s hop)" % (r["name"], r["hop"])


def added(path_us, base_us):
    if path_us is None or base_us is None:
        return "-"
    return "%+.2f" % ((path_us - base_us) / 1000.0)


def saturation_table(rows):
    print("| path | sat req/s | sat p50 ms | sat p99 ms | sat errors | CPU us/req A | CPU us/req B | "
          "CPU us/req A+B | RSS idle A / B MiB | RSS load A / B MiB | RSS peak A / B MiB |")
    print("| --- |" + " ---: |" * 10)
    for r in rows:
        s, c = r["sat"], r["sat_cpu"]
        print("| %s | %.0f | %s | %s | %d | %s | %s | %s | %s | %s | %s |" % (
            label(r), s["rps"], ms(s["p50_us"]), ms(s["p99_us"]), errors(s), num(c["a"]), num(c["b"]),
            num(c["ab"]), mib_pair(r, "idle"), mib_pair(r, "load"), mib_pair(r, "peak")))


def rates_table(rows):
    direct = next((r for r in rows if r["name"] == "direct"), None)
    base = {x["rate"]: x["h2load"] for x in direct["rates"]} if direct else {}
    print("| path | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | added p50 / p90 / p99 ms | "
          "errors | CPU us/req A | CPU us/req B | CPU us/req A+B |")
    print("| --- |" + " ---: |" * 10)
    for r in rows:
        for x in r["rates"]:
            h, c, b = x["h2load"], x["cpu"], base.get(x["rate"])
            if r["name"] == "direct" or b is None:
                extra = "-"
            else:
                extra = " / ".join(added(h[k], b[k]) for k in ("p50_us", "p90_us", "p99_us"))
            print("| %s | %d | %.0f | %s | %s | %s | %s | %d | %s | %s | %s |" % (
                label(r), x["rate"], h["rps"], ms(h["p50_us"]), ms(h["p90_us"]), ms(h["p99_us"]), extra,
                errors(h), num(c["a"]), num(c["b"]), num(c["ab"])))


def measures(rows):
    """(name, getter, format, lower is better) for the remora / best peer table."""
    out = []
    rates = [x["rate"] for x in rows[0]["rates"]] if rows else []
    for i, rate in enumerate(rates):
        out.append(("CPU us/req A+B at %d req/s" % rate,
                    lambda r, i=i: r["rates"][i]["cpu"]["ab"] if i < len(r["rates"]) else None, "%.1f", True))
    out.append(("CPU us/req A+B at saturation", lambda r: r["sat_cpu"]["ab"], "%.1f", True))
    out.append(("saturation req/s", lambda r: r["sat"]["rps"] or None, "%.0f", False))
    for i, rate in enumerate(rates):
        out.append(("p99 ms at %d req/s" % rate,
                    lambda r, i=i: (r["rates"][i]["h2load"]["p99_us"] / 1000.0
                                    if i < len(r["rates"]) and r["rates"][i]["h2load"]["p99_us"] is not None
                                    else None), "%.2f", True))
    out.append(("RSS under load A+B MiB",
                lambda r: None if r["load_a_kb"] is None else (r["load_a_kb"] + r["load_b_kb"]) / 1024.0,
                "%.1f", True))
    return out


def ratio_table(rows):
    remora = next((r for r in rows if r["name"] == "remora"), None)
    peers = [r for r in rows if r["name"] not in ("remora", "direct")]
    if not remora or not peers:
        print("No remora / best peer comparison: %s was not measured." % ("remora" if not remora else "any peer"))
        return
    print("| remora pair against the best peer pair | remora | best peer | remora / best |")
    print("| --- | ---: | ---: | ---: |")
    for name, get, fmt, lower in measures(rows):
        mine = get(remora)
        theirs = [(get(p), p["name"]) for p in peers if get(p)]
        if mine is None or not theirs:
            print("| %s | %s | - | - |" % (name, num(mine, fmt)))
            continue
        best = min(theirs) if lower else max(theirs)
        print("| %s | %s | %s (%s) | %.2fx |" % (name, fmt % mine, fmt % best[0], best[1], mine / best[0]))
    print()
    print("Below 1.00x is better for remora in every line but saturation req/s, where above is better.")


def tables(rows_path):
    rows = []
    with open(rows_path, encoding="utf-8") as source:
        for line in source:
            if line.strip():
                rows.append(json.loads(line))
    if not rows:
        print("No path was measured.")
        return
    print("**Fixed rates** (latency at the client; \"added\" is over the direct path at the same rate):")
    print()
    rates_table(rows)
    print()
    print("**Saturation and memory** (CPU us/req here is over the saturation run):")
    print()
    saturation_table(rows)
    print()
    print("**remora against the best peer**, same run:")
    print()
    ratio_table(rows)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "row" and len(args) == 2:
        row(args[0], args[1])
    elif command == "tables":
        tables(args[0])
    else:
        sys.exit("unknown command or arguments: %s\n%s" % (" ".join(sys.argv[1:]), __doc__))


if __name__ == "__main__":
    main()
