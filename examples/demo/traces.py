#!/usr/bin/env python3
"""The demo's trace collector and viewer: a convenience, not a tracing backend.

  traces.py serve --listen 127.0.0.1:0 [--address-file FILE] [--max-traces N]
  traces.py list  --collector ADDR [--limit N] [--service S] [--errors] [--retried]
  traces.py show  --collector ADDR (TRACE_ID | --slowest | --retried | --error | --last)
  traces.py list  --file spans.json ...   /  traces.py show --file spans.json ...

`serve` accepts Zipkin v2 JSON spans (POST /api/v2/spans, what remora-proxy
sends with `remora-cp --tracing-collector zipkin://ADDR`), keeps the most
recent traces in memory and answers a subset of Zipkin's query API:
GET /api/v2/traces?limit=N (a list of traces, each a list of spans) and
GET /api/v2/trace/TRACE_ID. GET /api/v2/dump returns every stored span.
`list` prints one line per trace; `show` prints one trace as a text
waterfall. Anything that speaks this API works with them, and anything that
sends Zipkin v2 works with `serve`. For a real backend (Jaeger, Tempo, an
OpenTelemetry Collector) see docs/observability.md, "Tracing".

Python standard library only.
"""

import argparse
import collections
import http.server
import json
import os
import sys
import threading
import urllib.error
import urllib.request

MAX_BODY = 16 * 1024 * 1024


class Store:
    """The newest `max_traces` traces, by trace id, in arrival order."""

    def __init__(self, max_traces):
        self.max_traces = max_traces
        self.traces = collections.OrderedDict()
        self.lock = threading.Lock()
        self.spans_received = 0
        self.rejected_requests = 0

    def add(self, spans):
        with self.lock:
            for span in spans:
                trace_id = span.get("traceId")
                if not isinstance(trace_id, str) or not trace_id:
                    continue
                self.spans_received += 1
                if trace_id in self.traces:
                    self.traces[trace_id].append(span)
                    self.traces.move_to_end(trace_id)
                else:
                    self.traces[trace_id] = [span]
                    while len(self.traces) > self.max_traces:
                        self.traces.popitem(last=False)

    def recent(self, limit):
        with self.lock:
            ids = list(self.traces.keys())[-limit:] if limit > 0 else []
            return [list(self.traces[i]) for i in reversed(ids)]

    def trace(self, trace_id):
        with self.lock:
            return list(self.traces.get(trace_id, []))


def make_handler(store):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the demo owns the terminal
            pass

        def reply(self, status, body, content_type="application/json"):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            if self.path.split("?")[0] != "/api/v2/spans":
                self.reply(404, '{"error": "POST /api/v2/spans only"}')
                return
            if length <= 0 or length > MAX_BODY:
                store.rejected_requests += 1
                self.reply(400, '{"error": "a body of 1 byte to 16 MiB is required"}')
                return
            body = self.rfile.read(length)
            try:
                spans = json.loads(body)
                if not isinstance(spans, list):
                    raise ValueError("not a JSON array")
            except ValueError as e:
                store.rejected_requests += 1
                self.reply(400, json.dumps({"error": "Zipkin v2 JSON array expected: %s" % e}))
                return
            store.add([s for s in spans if isinstance(s, dict)])
            self.reply(202, "")

        def do_GET(self):
            path, _, query = self.path.partition("?")
            params = dict(p.partition("=")[::2] for p in query.split("&") if p)
            if path == "/api/v2/traces":
                try:
                    limit = int(params.get("limit", "10"))
                except ValueError:
                    self.reply(400, '{"error": "limit must be a number"}')
                    return
                self.reply(200, json.dumps(store.recent(limit)))
            elif path.startswith("/api/v2/trace/"):
                spans = store.trace(path[len("/api/v2/trace/"):])
                if spans:
                    self.reply(200, json.dumps(spans))
                else:
                    self.reply(404, '{"error": "no such trace"}')
            elif path == "/api/v2/dump":
                self.reply(200, json.dumps([s for t in store.recent(store.max_traces) for s in t]))
            elif path == "/stats":
                self.reply(200, json.dumps({"traces": len(store.traces), "spans_received": store.spans_received,
                                            "rejected_requests": store.rejected_requests}))
            else:
                self.reply(404, '{"error": "unknown path"}')

    return Handler


def serve(args):
    host, _, port = args.listen.rpartition(":")
    store = Store(args.max_traces)
    server = http.server.ThreadingHTTPServer((host, int(port)), make_handler(store))
    server.daemon_threads = True
    address = "%s:%d" % server.server_address[:2]
    if args.address_file:
        tmp = args.address_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(address + "\n")
        os.rename(tmp, args.address_file)
    print("traces: collecting Zipkin v2 spans on http://%s/api/v2/spans" % address, file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


# ---- reading traces -------------------------------------------------------

def fetch(args, path):
    if args.file:
        with open(args.file) as f:
            spans = json.load(f)
        by_trace = collections.OrderedDict()
        for s in spans:
            by_trace.setdefault(s.get("traceId"), []).append(s)
        if path == "traces":
            return list(reversed(list(by_trace.values())))
        return by_trace.get(path, [])
    url = "http://%s/api/v2/%s" % (args.collector, "traces?limit=%d" % args.scan if path == "traces" else "trace/" + path)
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return []
        raise


def service_of(span):
    return (span.get("localEndpoint") or {}).get("serviceName", "?")


def tags_of(span):
    return span.get("tags") or {}


def is_error(span):
    return "error" in tags_of(span)


def is_retried(trace):
    return any(int(tags_of(s).get("remora.attempts", "1") or 1) > 1 for s in trace)


def trace_summary(trace):
    roots = [s for s in trace if not s.get("parentId")] or trace
    root = min(roots, key=lambda s: s.get("timestamp", 0))
    start = min(s.get("timestamp", 0) for s in trace)
    end = max(s.get("timestamp", 0) + s.get("duration", 0) for s in trace)
    return root, start, end


def describe(span):
    t = tags_of(span)
    parts = [t.get("http.request.method", ""), t.get("server.address", "") + t.get("url.path", "")]
    status = t.get("http.response.status_code")
    if status:
        parts.append(status)
    if t.get("remora.upstream.host"):
        parts.append("-> " + t["remora.upstream.host"])
    if t.get("remora.local_reply"):
        parts.append("local reply: " + t["remora.local_reply"])
    if t.get("remora.attempts") and t["remora.attempts"] != "1":
        parts.append("attempts " + t["remora.attempts"])
    if "error" in t and t["error"] != "true":
        parts.append("error: " + t["error"])
    return " ".join(p for p in parts if p)


def waterfall(trace, width=40):
    """One line per span, children under their parent, bars on one time axis."""
    root, start, end = trace_summary(trace)
    total = max(end - start, 1)
    ids = {s.get("id") for s in trace}
    children = collections.defaultdict(list)
    for s in trace:
        parent = s.get("parentId")
        children[parent if parent in ids else None].append(s)
    for kids in children.values():
        kids.sort(key=lambda s: s.get("timestamp", 0))
    lines = ["trace %s  %.1f ms  %d spans" % (root.get("traceId"), total / 1000.0, len(trace))]

    def walk(span, depth):
        offset = span.get("timestamp", 0) - start
        begin = int(offset * width / total)
        length = max(1, int(round(span.get("duration", 0) * width / total)))
        bar = " " * begin + ("!" if is_error(span) else "=") * min(length, width - begin)
        label = "%s%s %s %s" % ("  " * depth, service_of(span), span.get("kind", "").lower(), span.get("name", ""))
        lines.append("%-46s |%-*s| %8.2f ms  %s" % (label[:46], width, bar, span.get("duration", 0) / 1000.0,
                                                    describe(span)))
        for child in children.get(span.get("id"), []):
            walk(child, depth + 1)

    for top in children.get(None, []):
        walk(top, 0)
    return "\n".join(lines)


def choose(traces, args):
    if args.service:
        traces = [t for t in traces if any(service_of(s) == args.service for s in t)]
    if getattr(args, "errors", False) or getattr(args, "error", False):
        traces = [t for t in traces if any(is_error(s) for s in t)]
    if getattr(args, "retried", False):
        traces = [t for t in traces if is_retried(t)]
    return traces


def list_traces(args):
    traces = choose(fetch(args, "traces"), args)[: args.limit]
    if not traces:
        print("no traces match")
        return 1
    for t in traces:
        root, start, end = trace_summary(t)
        flags = ("error " if any(is_error(s) for s in t) else "") + ("retried" if is_retried(t) else "")
        print("%s  %8.2f ms  %2d spans  %-10s %s %s" % (root.get("traceId"), (end - start) / 1000.0, len(t),
                                                      service_of(root), describe(root), flags))
    return 0


def show(args):
    if args.trace_id:
        trace = fetch(args, args.trace_id)
    else:
        traces = choose(fetch(args, "traces"), args)
        if args.slowest and traces:
            traces.sort(key=lambda t: trace_summary(t)[2] - trace_summary(t)[1], reverse=True)
        trace = traces[0] if traces else []
    if not trace:
        print("no trace matches")
        return 1
    print(waterfall(trace))
    return 0


def main():
    parser = argparse.ArgumentParser(description="The demo's Zipkin v2 trace collector and text waterfall viewer.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="collect spans")
    s.add_argument("--listen", default="127.0.0.1:9411")
    s.add_argument("--address-file")
    s.add_argument("--max-traces", type=int, default=20000)
    for name in ("list", "show"):
        p = sub.add_parser(name, help="%s traces" % name)
        src = p.add_mutually_exclusive_group(required=True)
        src.add_argument("--collector", help="ADDR of a running `traces.py serve` (or Zipkin)")
        src.add_argument("--file", help="spans saved as a JSON array (GET /api/v2/dump)")
        p.add_argument("--service", help="only traces with a span of this service")
        p.add_argument("--scan", type=int, default=2000, help="how many recent traces to look at")
        if name == "list":
            p.add_argument("--limit", type=int, default=20)
            p.add_argument("--errors", action="store_true", help="only traces with an error span")
            p.add_argument("--retried", action="store_true", help="only traces with a retried request")
        else:
            p.add_argument("trace_id", nargs="?")
            p.add_argument("--slowest", action="store_true")
            p.add_argument("--retried", action="store_true")
            p.add_argument("--error", action="store_true")
            p.add_argument("--last", action="store_true", help="the newest trace (the default)")
    args = parser.parse_args()
    try:
        return {"serve": serve, "list": list_traces, "show": show}[args.command](args)
    except (OSError, ValueError) as e:
        print("traces: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
