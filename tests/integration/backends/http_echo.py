#!/usr/bin/env python3
"""HTTP/1.1 echo backend for Remora's integration tests (Python stdlib only).

It shares no code with Remora's codecs, so it can catch their bugs. Binds
127.0.0.1:0 (or --host/--port) and writes the bound port to --port-file.

Endpoints (any method unless noted; HEAD answers the GET headers, no body):
  /echo            JSON: method, path, headers, trailers, body_length,
                   body_sha256, server_port (the port that answered),
                   peer (the client's address);
                   request headers x-echo-* are sent back.
  /upload          streams the request body back, chunked, 64 KiB at a time.
  /bytes/N         N bytes of a fixed pattern (byte i = ALPHABET[i % 62]),
                   chunked; ?mode=length sends Content-Length instead.
  /delay/MS        sleeps MS milliseconds, then answers 200.
  /status/N        answers status N.
  /close           answers, then closes the connection.
  /abort-mid-body  promises Content-Length: 1000000, sends 1000 bytes, closes.
  /ws              RFC 6455 handshake, then echoes every frame.
"""

import argparse
import base64
import hashlib
import http.client
import http.server
import json
import os
import socket
import socketserver
import struct
import sys
import time
import urllib.parse

# Tests of many headers must reach our proxy's limits, not Python's (100).
http.client._MAXHEADERS = 10000  # pylint: disable=protected-access

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
PIECE = 64 * 1024
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def pattern(offset, size):
    """Bytes [offset, offset+size) of the /bytes/N body."""
    period = len(ALPHABET)
    start = offset % period
    repeats = (start + size) // period + 1
    return (ALPHABET * repeats)[start:start + size]


class BadRequest(Exception):
    pass


class EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, the body
    # waits for the client's delayed ACK (40 ms) on every keep-alive response.
    disable_nagle_algorithm = True
    quiet = False

    def version_string(self):
        return "remora-test-http-echo"

    # --- dispatch: every method name reaches handle_any -------------------

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
        if not self.quiet:
            sys.stderr.write("http_echo: %s %s\n" % (self.address_string(), format % args))

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        head = self.command == "HEAD"
        route = parts[0] if parts else ""
        try:
            if route == "echo":
                self.serve_echo(url, head)
            elif route == "upload":
                self.serve_upload(head)
            elif route == "bytes" and len(parts) == 2 and parts[1].isdigit():
                self.serve_bytes(int(parts[1]), urllib.parse.parse_qs(url.query), head)
            elif route == "delay" and len(parts) == 2 and parts[1].isdigit():
                self.drain_body()
                time.sleep(int(parts[1]) / 1000.0)
                self.reply(200, b"delayed %d ms\n" % int(parts[1]), head=head)
            elif route == "status" and len(parts) == 2 and parts[1].isdigit():
                self.drain_body()
                code = int(parts[1])
                self.reply(code, b"" if code in (204, 304) or code < 200 else b"status %d\n" % code, head=head)
            elif route == "close":
                self.drain_body()
                self.reply(200, b"closing\n", head=head, extra=[("Connection", "close")])
                self.close_connection = True
            elif route == "abort-mid-body":
                self.serve_abort()
            elif route == "ws":
                self.serve_websocket()
            else:
                self.drain_body()
                self.reply(404, b"no such endpoint\n", head=head)
        except BadRequest as error:
            self.close_connection = True
            self.reply(400, ("bad request: %s\n" % error).encode(), extra=[("Connection", "close")])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # --- request bodies ---------------------------------------------------

    def is_chunked(self):
        encoding = self.headers.get("Transfer-Encoding", "")
        return encoding.strip().lower() == "chunked"

    def body_pieces(self):
        """Yields the request body in pieces of at most 64 KiB."""
        if self.is_chunked():
            yield from self.chunked_pieces()
            return
        length = self.headers.get("Content-Length")
        if length is None:
            return
        if not length.strip().isdigit():
            raise BadRequest("bad Content-Length %r" % length)
        remaining = int(length)
        while remaining > 0:
            piece = self.rfile.read(min(PIECE, remaining))
            if not piece:
                raise BadRequest("body ended %d bytes early" % remaining)
            remaining -= len(piece)
            yield piece

    def chunked_pieces(self):
        self.trailers = []
        while True:
            line = self.rfile.readline(4096)
            if not line.endswith(b"\r\n"):
                raise BadRequest("chunk size line not CRLF-terminated")
            size_text = line[:-2].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest("bad chunk size %r" % size_text) from None
            if size == 0:
                break
            while size > 0:
                piece = self.rfile.read(min(PIECE, size))
                if not piece:
                    raise BadRequest("chunk truncated")
                size -= len(piece)
                yield piece
            if self.rfile.read(2) != b"\r\n":
                raise BadRequest("chunk data not followed by CRLF")
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers.append([name.strip().lower(), value.strip()])

    def drain_body(self):
        for _ in self.body_pieces():
            pass

    # --- responses --------------------------------------------------------

    def reply(self, code, body, content_type="text/plain", head=False, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        if code not in (204, 304) and code >= 200:
            self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def start_chunked(self, code=200, content_type="application/octet-stream", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")

    # --- endpoints --------------------------------------------------------

    def serve_echo(self, url, head):
        self.trailers = []
        digest = hashlib.sha256()
        length = 0
        for piece in self.body_pieces():
            digest.update(piece)
            length += len(piece)
        headers = [[name.lower(), value] for name, value in self.headers.items()]
        document = {
            "method": self.command,
            "path": self.path,
            "query": url.query,
            "http_version": self.request_version,
            "headers": headers,
            "trailers": self.trailers,
            "body_length": length,
            "body_sha256": digest.hexdigest(),
            # Which backend answered, for load-balancing and routing tests.
            "server_port": self.server.server_address[1],
            # Who connected: behind a sidecar, the sidecar (interception tests).
            "peer": self.client_address[0],
        }
        echoed = [(name, value) for name, value in self.headers.items() if name.lower().startswith("x-echo-")]
        # One line, json.dumps' default separators: tests may search for
        # '"body_length": 5' or '["x-forwarded-proto", "http"]'.
        body = (json.dumps(document) + "\n").encode()
        self.reply(200, body, "application/json", head=head, extra=echoed)

    def serve_upload(self, head):
        if head:
            self.drain_body()
            self.start_chunked()
            return
        self.start_chunked()
        # Python's handler read the request head only: the body is streamed
        # straight back, never held whole.
        try:
            for piece in self.body_pieces():
                self.write_chunk(piece)
                self.wfile.flush()
        except BadRequest:
            # The response has started: no 400 possible. Closing without the
            # last chunk tells the client the body is incomplete.
            self.close_connection = True
            return
        self.end_chunked()

    def serve_bytes(self, size, query, head):
        self.drain_body()
        if query.get("mode", [""])[0] == "length":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if not head:
                for offset in range(0, size, PIECE):
                    self.wfile.write(pattern(offset, min(PIECE, size - offset)))
            return
        self.start_chunked()
        if head:
            return
        for offset in range(0, size, PIECE):
            self.write_chunk(pattern(offset, min(PIECE, size - offset)))
        self.end_chunked()

    def serve_abort(self):
        self.drain_body()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.wfile.write(pattern(0, 1000))
        self.wfile.flush()
        self.close_connection = True
        # A FIN right after the partial body, not an orderly keep-alive.
        self.connection.shutdown(socket.SHUT_RDWR)

    def serve_websocket(self):
        key = self.headers.get("Sec-WebSocket-Key")
        upgrade = self.headers.get("Upgrade", "").lower()
        if upgrade != "websocket" or not key:
            self.drain_body()
            self.reply(400, b"websocket upgrade required\n")
            return
        accept = base64.b64encode(hashlib.sha1((key.strip() + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while self.websocket_frame():
            pass

    def read_exact(self, size):
        data = self.rfile.read(size)
        if len(data) != size:
            raise ConnectionResetError("websocket peer closed mid-frame")
        return data

    def websocket_frame(self):
        """Echoes one frame; False after a close frame or end of stream."""
        first = self.rfile.read(2)
        if len(first) < 2:
            return False
        fin_opcode, mask_length = first[0], first[1]
        opcode = fin_opcode & 0x0F
        length = mask_length & 0x7F
        if length == 126:
            length = struct.unpack("!H", self.read_exact(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self.read_exact(8))[0]
        mask = self.read_exact(4) if mask_length & 0x80 else b""
        payload = self.read_exact(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if opcode == 0x9:  # ping -> pong
            fin_opcode = 0x80 | 0xA
        # Server frames are never masked (RFC 6455 section 5.1).
        header = bytes([fin_opcode])
        if len(payload) < 126:
            header += bytes([len(payload)])
        elif len(payload) < 65536:
            header += bytes([126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([127]) + struct.pack("!Q", len(payload))
        self.wfile.write(header + payload)
        self.wfile.flush()
        return opcode != 0x8


class EchoServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (socket.getfqdn),
        # which can stall on a machine without DNS; loopback needs none.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


def write_port_file(path, port):
    # Written under a temporary name and renamed, so a reader never sees a
    # half-written port.
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="ascii") as out:
        out.write("%d\n" % port)
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here")
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    args = parser.parse_args()

    EchoHandler.quiet = args.quiet
    if ":" in args.host:
        EchoServer.address_family = socket.AF_INET6
    server = EchoServer((args.host, args.port), EchoHandler)
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("http_echo listening on %s:%d" % (args.host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
