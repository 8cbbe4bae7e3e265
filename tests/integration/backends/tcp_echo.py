#!/usr/bin/env python3
"""TCP echo backend for Remora's integration tests (Python stdlib only).

Binds 127.0.0.1:0 (or --host/--port) and writes the bound port to --port-file.
Each connection gets its bytes echoed back. When the client half-closes (EOF
on our read side) the server sends "bye\\n" and then closes, so a test can
tell that the proxy forwarded the half-close rather than tearing the whole
connection down.

--server-first sends a banner line ("220 remora-test ready\\r\\n") as soon as
a connection is accepted, before reading anything (like SMTP): a proxy that
waits for client bytes to sniff the protocol must time out and pass the
connection through as opaque TCP.
"""

import argparse
import os
import socket
import socketserver
import sys

BANNER = b"220 remora-test ready\r\n"


class EchoHandler(socketserver.BaseRequestHandler):
    server_first = False

    def handle(self):
        sock = self.request
        try:
            if self.server_first:
                sock.sendall(BANNER)
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                sock.sendall(data)
            sock.sendall(b"bye\n")
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def write_port_file(path, port):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="ascii") as out:
        out.write("%d\n" % port)
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here")
    parser.add_argument("--server-first", action="store_true", help="send a banner before reading")
    args = parser.parse_args()

    EchoHandler.server_first = args.server_first
    if ":" in args.host:
        EchoServer.address_family = socket.AF_INET6
    server = EchoServer((args.host, args.port), EchoHandler)
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("tcp_echo listening on %s:%d%s" % (args.host, port, " (server first)" if args.server_first else ""),
          flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
