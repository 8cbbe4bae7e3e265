#!/usr/bin/env python3
"""A stand-in for remora-proxy that only speaks the contract ProxyProcess
relies on, so the harness can be tested before the real proxy exists:
--config FILE --admin-address-path FILE2 [--concurrency N]; writes the admin
"ip:port" into FILE2 (no newline, like Envoy); GET /ready, /listeners,
/stats; POST /quitquitquit; exits 0 on SIGTERM. With FAKE_PROXY_FAIL set it
complains and exits 1 without writing the address file.
"""

import argparse
import http.server
import json
import os
import signal
import socketserver
import sys
import threading


class Admin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    concurrency = 1

    def log_message(self, format, *args):  # noqa: A002
        sys.stderr.write("fake-proxy: %s\n" % (format % args))

    def answer(self, code, body, content_type="text/plain"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/ready":
            self.answer(200, "LIVE\n")
        elif self.path == "/listeners":
            host, port = self.server.server_address[:2]
            listeners = [
                {"name": "egress", "address": "127.0.0.1:1"},
                {"address": "%s:%d" % (host, port), "name": "ingress"},
            ]
            self.answer(200, json.dumps({"listeners": listeners}), "application/json")
        elif self.path == "/stats":
            self.answer(200, "server.concurrency: %d\nhttp.ingress.downstream_rq_total: 42\n"
                        "cluster.backend.upstream_rq_time: P0(nan,1) P25(nan,2)\n" % self.concurrency)
        else:
            self.answer(404, "not found\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        if self.path == "/quitquitquit":
            self.answer(200, "OK\n")
            threading.Thread(target=self.server.shutdown, daemon=True).start()
        else:
            self.answer(404, "not found\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--admin-address-path", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    if os.environ.get("FAKE_PROXY_FAIL"):
        sys.stderr.write("fake-proxy: refusing to start as asked\n")
        sys.exit(1)
    with open(args.config, encoding="utf-8") as config:
        if "static_resources" not in config.read():
            sys.stderr.write("fake-proxy: %s: no static_resources\n" % args.config)
            sys.exit(1)
    Admin.concurrency = args.concurrency
    server = Server(("127.0.0.1", 0), Admin)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    host, port = server.server_address[:2]
    with open(args.admin_address_path, "w", encoding="ascii") as out:
        out.write("%s:%d" % (host, port))
    server.serve_forever(poll_interval=0.05)
    server.server_close()


if __name__ == "__main__":
    main()
