#!/usr/bin/env python3
"""Small helpers for tests/bench/run.sh (Python stdlib only).

  free-port                      print a currently free 127.0.0.1 TCP port
  cpu-us PID                     utime+stime of PID (all threads) in microseconds
  rss-kb PID FIELD               VmRSS or VmHWM of PID in KiB
  render TEMPLATE OUT K=V...     copy TEMPLATE to OUT replacing every {{K}} with V
  h2load STDOUT LOG              one JSON line: done, succeeded, failed, errored,
                                 non-2xx, req/s, p50/p90/p99/max latency (us)
  row NAME IDLE_KB PEAK_KB FIXED_JSON FIXED_CPU_US SAT_JSON SAT_CPU_US
                                 one JSON result row (appended to a file by run.sh)
  table ROWS_FILE                print the Markdown table of all rows

free-port has the race the integration harness avoids (the port may be taken
between this check and the proxy's bind); that is acceptable for a benchmark
that is rerun by hand, and the proxies we compare cannot all report a port
bound to 0.
"""

import json
import os
import re
import socket
import sys


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])


def cpu_us(pid):
    with open("/proc/%s/stat" % pid, encoding="ascii") as stat:
        text = stat.read()
    # Field 2 (comm) may contain spaces: split after its closing parenthesis.
    fields = text[text.rindex(")") + 2:].split()
    # utime and stime are fields 14 and 15 of the whole line (1-based), i.e.
    # 12 and 13 after pid and comm; in clock ticks, covering every thread.
    ticks = int(fields[11]) + int(fields[12])
    print(ticks * 1_000_000 // os.sysconf("SC_CLK_TCK"))


def rss_kb(pid, field):
    with open("/proc/%s/status" % pid, encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                print(line.split()[1])
                return
    print(0)


def render(template, out, pairs):
    with open(template, encoding="utf-8") as source:
        text = source.read()
    for pair in pairs:
        key, _, value = pair.partition("=")
        text = text.replace("{{%s}}" % key, value)
    leftover = re.findall(r"\{\{[A-Z_]+\}\}", text)
    if leftover:
        sys.exit("render: %s: unfilled %s" % (template, ", ".join(sorted(set(leftover)))))
    with open(out, "w", encoding="utf-8") as target:
        target.write(text)


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # ceil
    return sorted_values[min(rank, len(sorted_values)) - 1]


def read_durations(log_path):
    """Request durations (us) from an h2load --log-file; [] when it is missing."""
    durations = []
    try:
        with open(log_path, encoding="ascii", errors="replace") as log:
            for line in log:
                parts = line.split("\t")
                if len(parts) >= 3 and parts[2].strip().isdigit():
                    durations.append(int(parts[2]))
    except FileNotFoundError:
        pass
    return durations


def h2load_summary(stdout_path, log_path):
    print(json.dumps(summarize_h2load(stdout_path, log_path)))


def summarize_h2load(stdout_path, log_path):
    """h2load 1.52 prints min/max/mean/sd of request time but no percentiles,
    so they come from its --log-file (start_us, status, duration_us). Also
    used by report_helper.py."""
    with open(stdout_path, encoding="utf-8", errors="replace") as out:
        text = out.read()
    result = {"done": 0, "succeeded": 0, "failed": 0, "errored": 0, "timeout": 0, "non2xx": 0, "rps": 0.0}
    match = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
    if match:
        result["rps"] = float(match.group(1))
    match = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                      r"(\d+) errored, (\d+) timeout", text)
    if match:
        (result["done"], result["succeeded"], result["failed"], result["errored"],
         result["timeout"]) = (int(match.group(i)) for i in (3, 4, 5, 6, 7))
    match = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if match:
        result["non2xx"] = sum(int(match.group(i)) for i in (2, 3, 4))
    durations = sorted(read_durations(log_path))
    result["samples"] = len(durations)
    result["p50_us"] = percentile(durations, 0.50)
    result["p90_us"] = percentile(durations, 0.90)
    result["p99_us"] = percentile(durations, 0.99)
    result["max_us"] = durations[-1] if durations else None
    return result


def row(name, idle_kb, peak_kb, fixed_json, fixed_cpu_us, sat_json, sat_cpu_us):
    fixed = json.loads(fixed_json)
    sat = json.loads(sat_json)

    def per_request(cpu, summary):
        done = summary.get("succeeded", 0)
        return round(int(cpu) / done, 1) if done else None

    print(json.dumps({
        "name": name,
        "idle_rss_kb": int(idle_kb),
        "peak_rss_kb": int(peak_kb),
        "fixed": fixed,
        "fixed_cpu_us_per_req": per_request(fixed_cpu_us, fixed),
        "sat": sat,
        "sat_cpu_us_per_req": per_request(sat_cpu_us, sat),
    }))


def fmt_ms(us):
    return "-" if us is None else "%.2f" % (us / 1000.0)


def fmt(value):
    return "-" if value is None else str(value)


def table(rows_path):
    rows = []
    with open(rows_path, encoding="utf-8") as source:
        for line in source:
            if line.strip():
                rows.append(json.loads(line))
    print("| proxy | fixed-rate req/s | CPU us/req (fixed) | p50 ms | p99 ms | errors | "
          "saturation req/s | CPU us/req (sat) | sat p99 ms | idle RSS MiB | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        f, s = r["fixed"], r["sat"]
        errors = f["failed"] + f["errored"] + f["timeout"] + f["non2xx"] + \
            s["failed"] + s["errored"] + s["timeout"] + s["non2xx"]
        print("| %s | %.0f | %s | %s | %s | %d | %.0f | %s | %s | %.1f | %.1f |" % (
            r["name"], f["rps"], fmt(r["fixed_cpu_us_per_req"]), fmt_ms(f["p50_us"]), fmt_ms(f["p99_us"]),
            errors, s["rps"], fmt(r["sat_cpu_us_per_req"]), fmt_ms(s["p99_us"]),
            r["idle_rss_kb"] / 1024.0, r["peak_rss_kb"] / 1024.0))
    remora = next((r for r in rows if r["name"] == "remora"), None)
    # Remora's own variants (remora-traced, remora-logged) are not peers.
    peers = [r for r in rows if not r["name"].startswith("remora") and r["fixed_cpu_us_per_req"]]
    print()
    if remora and remora["fixed_cpu_us_per_req"] and peers:
        best = min(peers, key=lambda r: r["fixed_cpu_us_per_req"])
        ratio = remora["fixed_cpu_us_per_req"] / best["fixed_cpu_us_per_req"]
        print("remora CPU/req at the fixed rate is %.2fx the best peer's (%s, %s us/req)." % (
            ratio, best["name"], best["fixed_cpu_us_per_req"]))
    elif not remora:
        print("remora was not measured, so there is no CPU/req ratio.")
    else:
        print("no CPU/req ratio: remora or every peer lacks a measurement.")
    # What tracing (100 % sampled) and access logs add to a request.
    for variant in rows:
        if variant["name"].startswith("remora-") and remora and remora["fixed_cpu_us_per_req"] \
                and variant["fixed_cpu_us_per_req"]:
            print("%s CPU/req at the fixed rate is %.2fx plain remora's." % (
                variant["name"], variant["fixed_cpu_us_per_req"] / remora["fixed_cpu_us_per_req"]))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "free-port":
        free_port()
    elif command == "cpu-us":
        cpu_us(args[0])
    elif command == "rss-kb":
        rss_kb(args[0], args[1])
    elif command == "render":
        render(args[0], args[1], args[2:])
    elif command == "h2load":
        h2load_summary(args[0], args[1])
    elif command == "row":
        row(*args)
    elif command == "table":
        table(args[0])
    else:
        sys.exit("unknown command %s\n%s" % (command, __doc__))


if __name__ == "__main__":
    main()
