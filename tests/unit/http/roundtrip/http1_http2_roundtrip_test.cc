// HTTP/1.1 -> HTTP/2 -> HTTP/1.1 and back, in memory, through the real codecs:
//
//   client bytes -> [Http1 server | Http2 client] =h2= [Http2 server | Http1 client] -> backend bytes
//   client bytes <- [Http1 server | Http2 client] =h2= [Http2 server | Http1 client] <- backend bytes
//
// Each bracket is a "gateway": the decoded events of one codec's stream are
// re-encoded into a stream of the other codec, as the proxy does, with
// back-pressure relayed (a stream whose output backs up stops reading its
// source). The test plays the original client and the backend with raw
// HTTP/1.1 bytes and checks what survives the trip.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/http/codec.h"
#include "proxy/http/http1/http1_codec.h"
#include "proxy/http/http2/http2_codec.h"
#include "tests/unit/http/http1/http1_test_util.h"

using namespace std::string_literals;
namespace http = remora::http;
namespace net = remora::net;
using remora::testing::ClientHarness;
using remora::testing::ServerHarness;
using remora::testing::StreamRecorder;

namespace {

// Queues what a codec writes; remembers whether the codec asked to stop reading.
struct Pipe : http::CodecTransport {
  void write(net::Buffer& data) override { pending.move(data); }
  void readDisable(bool disable) override {
    disabled += disable ? 1 : -1;
    if (disable) ever_disabled = true;
  }
  std::string take() {
    std::string out = pending.toString();
    pending.clear();
    return out;
  }
  net::Buffer pending;
  int disabled = 0;
  bool ever_disabled = false;
};

// Receives one stream's decoded events and encodes them into another stream.
// It also records what its stream decoded, so the test can look at the
// message in the middle of the trip.
struct Forward : http::StreamCallbacks {
  void onHeaders(http::HeaderMapPtr h, bool end_stream) override {
    seen_headers = std::make_unique<http::HeaderMap>(*h);
    if (target != nullptr) target->encodeHeaders(*h, end_stream);
  }
  void onData(net::Buffer& data, bool end_stream) override {
    bytes += data.length();
    if (target != nullptr) target->encodeData(data, end_stream);
    data.clear();
  }
  void onTrailers(http::HeaderMapPtr t) override {
    seen_trailers = std::make_unique<http::HeaderMap>(*t);
    if (target != nullptr) target->encodeTrailers(*t);
  }
  void onInformational(http::HeaderMapPtr h) override {
    if (target != nullptr) target->encodeInformational(*h);
  }
  void onReset(http::StreamResetReason reason, std::string_view) override {
    reset = true;
    http::Stream* t = target;
    target = nullptr;
    if (t != nullptr) t->resetStream(reason);
  }
  // What is encoded into this forward's own stream backs up: the stream that
  // feeds it (our target, read by the sibling forward) must stop delivering.
  void onAboveWriteBufferHighWatermark() override {
    ++above;
    if (target != nullptr) target->readDisable(true);
  }
  void onBelowWriteBufferLowWatermark() override {
    ++below;
    if (target != nullptr) target->readDisable(false);
  }

  http::Stream* target = nullptr;
  http::HeaderMapPtr seen_headers;
  http::HeaderMapPtr seen_trailers;
  size_t bytes = 0;
  bool reset = false;
  int above = 0;
  int below = 0;
};

// One proxy hop: requests decoded by `server` go out through `client`.
struct Gateway : http::ServerCodecCallbacks, http::ClientCodecCallbacks {
  struct Exchange {
    Forward request;   // callbacks of the server stream -> encodes into the client stream
    Forward response;  // callbacks of the client stream -> encodes into the server stream
  };
  void onNewStream(http::Stream& server_stream) override {
    exchanges.push_back(std::make_unique<Exchange>());
    Exchange& e = *exchanges.back();
    e.request.target = &client->newStream(e.response);
    e.response.target = &server_stream;
    server_stream.setCallbacks(e.request);
  }
  Exchange& exchange(size_t i = 0) { return *exchanges.at(i); }

  std::unique_ptr<http::ServerCodec> server;
  std::unique_ptr<http::ClientCodec> client;
  std::vector<std::unique_ptr<Exchange>> exchanges;
};

// Sums the DATA payload of whole frames in `bytes` (skipping a client preface).
size_t dataPayload(std::string_view bytes) {
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  if (bytes.substr(0, kPreface.size()) == kPreface) bytes.remove_prefix(kPreface.size());
  size_t total = 0;
  while (bytes.size() >= 9) {
    auto u = [&](size_t i) { return static_cast<size_t>(static_cast<uint8_t>(bytes[i])); };
    const size_t len = u(0) << 16 | u(1) << 8 | u(2);
    if (bytes.size() < 9 + len) break;
    if (bytes[3] == 0x0) total += len;
    bytes.remove_prefix(9 + len);
  }
  return total;
}

// The whole trip: two gateways joined by an HTTP/2 connection.
struct Chain {
  explicit Chain(http::CodecLimits h2_limits = {}) {
    const http::CodecLimits h1_limits;
    edge.server = http::http1::makeHttp1ServerCodec(to_client, edge, h1_limits);
    edge.client = http::http2::makeHttp2ClientCodec(h2_up, edge, h2_limits);
    inner.server = http::http2::makeHttp2ServerCodec(h2_down, inner, h2_limits);
    inner.client = http::http1::makeHttp1ClientCodec(to_backend, inner, h1_limits);
    pump();
  }

  void clientSends(std::string_view bytes) {
    net::Buffer b(bytes);
    auto status = edge.server->dispatch(b);
    REQUIRE(status);
    pump();
  }
  void backendSends(std::string_view bytes) {
    net::Buffer b(bytes);
    auto status = inner.client->dispatch(b);
    REQUIRE(status);
    pump();
  }
  // Moves HTTP/2 bytes both ways until neither side has anything to say.
  void pump() {
    for (int round = 0; round < 100000; ++round) {
      bool moved = false;
      if (!h2_up.pending.empty()) {
        moved = true;
        max_data_per_flight = std::max(max_data_per_flight, dataPayload(h2_up.pending.toString()));
        ++flights_up;
        auto status = inner.server->dispatch(h2_up.pending);
        REQUIRE(status);
      }
      if (!h2_down.pending.empty()) {
        moved = true;
        max_data_per_flight = std::max(max_data_per_flight, dataPayload(h2_down.pending.toString()));
        ++flights_down;
        auto status = edge.client->dispatch(h2_down.pending);
        REQUIRE(status);
      }
      if (!moved) return;
    }
    FAIL("the HTTP/2 connection never went quiet");
  }

  Pipe to_client;   // HTTP/1.1 bytes for the original client
  Pipe h2_up;       // HTTP/2 client -> server
  Pipe h2_down;     // HTTP/2 server -> client
  Pipe to_backend;  // HTTP/1.1 bytes for the backend
  Gateway edge;     // Http1 server | Http2 client
  Gateway inner;    // Http2 server | Http1 client
  size_t max_data_per_flight = 0;
  int flights_up = 0;
  int flights_down = 0;
};

std::vector<std::string> valuesOf(const http::HeaderMap& h, std::string_view name) {
  std::vector<std::string> out;
  for (auto v : h.getAll(name)) out.emplace_back(v);
  return out;
}

// Parses the backend's bytes as a server would.
struct BackendView {
  explicit BackendView(const std::string& bytes) {
    auto status = server.feed(bytes);
    REQUIRE(status);
    REQUIRE(server.streams.size() == 1);
  }
  StreamRecorder& request() { return *server.streams[0]; }
  ServerHarness server;
};

// Parses the client's bytes as the original client would (after a request of `method`).
struct ClientView {
  ClientView(const std::string& method, const std::string& bytes) {
    client.request(method, "/");
    auto status = client.feed(bytes);
    REQUIRE(status);
  }
  StreamRecorder& response() { return client.recorder; }
  ClientHarness client;
};

std::string chunked(const std::string& body, size_t chunk) {
  std::string out;
  char size[32];
  for (size_t i = 0; i < body.size(); i += chunk) {
    const size_t n = std::min(chunk, body.size() - i);
    std::snprintf(size, sizeof(size), "%zx\r\n", n);
    out += size;
    out.append(body, i, n);
    out += "\r\n";
  }
  return out;
}

std::string pattern(size_t size, int seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 31 + seed) % 251);
  return out;
}

}  // namespace

TEST_CASE("a request and its response survive HTTP/1.1 to HTTP/2 to HTTP/1.1 and back", "[http][roundtrip]") {
  Chain chain;
  chain.clientSends(
      "POST /api/v1/items?q=1 HTTP/1.1\r\n"
      "Host: example.com:8080\r\n"
      "User-Agent: roundtrip-test\r\n"
      "X-Custom: one\r\n"
      "X-Custom: two\r\n"
      "Connection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\n"
      "Proxy-Connection: keep-alive\r\n"
      "Upgrade: h2c\r\n"
      "TE: gzip\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n"
      "5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: abc\r\n\r\n");

  // In the middle, as the HTTP/2 server decoded it: pseudo-headers, no
  // connection-specific fields.
  Forward& middle = chain.inner.exchange().request;
  REQUIRE(middle.seen_headers != nullptr);
  const http::HeaderMap& h2_request = *middle.seen_headers;
  CHECK(h2_request.method() == "POST");
  CHECK(h2_request.path() == "/api/v1/items?q=1");
  CHECK(h2_request.authority() == "example.com:8080");
  CHECK(h2_request.scheme() == "http");
  for (const char* hop : {"host", "connection", "keep-alive", "proxy-connection", "upgrade", "te", "transfer-encoding"}) {
    INFO("field " << hop);
    CHECK_FALSE(h2_request.has(hop));
  }
  REQUIRE(middle.seen_trailers != nullptr);
  CHECK(middle.seen_trailers->get("x-checksum") == "abc");

  // At the backend: an HTTP/1.1 request again, chunked (no length was known).
  const std::string wire = chain.to_backend.take();
  CHECK(wire.rfind("POST /api/v1/items?q=1 HTTP/1.1\r\n", 0) == 0);
  CHECK_THAT(wire, Catch::Contains("host: example.com:8080\r\n"));
  CHECK_THAT(wire, Catch::Contains("transfer-encoding: chunked\r\n"));
  BackendView backend(wire);
  StreamRecorder& request = backend.request();
  REQUIRE(request.last_headers != nullptr);
  const http::HeaderMap& got = *request.last_headers;
  CHECK(got.method() == "POST");
  CHECK(got.path() == "/api/v1/items?q=1");
  CHECK(got.authority() == "example.com:8080");
  CHECK(got.get("user-agent") == "roundtrip-test");
  CHECK(valuesOf(got, "x-custom") == std::vector<std::string>{"one", "two"});
  for (const char* hop : {"keep-alive", "proxy-connection", "upgrade", "te"}) {
    INFO("field " << hop);
    CHECK_FALSE(got.has(hop));
  }
  CHECK(request.body == "hello, world");
  REQUIRE(request.events.size() >= 2);
  CHECK(request.events.back() == "T x-checksum=abc");

  // The response goes back the same way.
  chain.backendSends(
      "HTTP/1.1 201 Created\r\n"
      "Content-Type: text/plain\r\n"
      "Set-Cookie: a=1\r\n"
      "Set-Cookie: b=2\r\n"
      "Connection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n"
      "4\r\nresp\r\n6\r\nonse!!\r\n0\r\nX-Trailer: done\r\n\r\n");
  Forward& middle_back = chain.edge.exchange().response;
  REQUIRE(middle_back.seen_headers != nullptr);
  CHECK(middle_back.seen_headers->status() == 201);
  CHECK_FALSE(middle_back.seen_headers->has("connection"));
  CHECK_FALSE(middle_back.seen_headers->has("keep-alive"));

  const std::string back = chain.to_client.take();
  CHECK(back.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  CHECK_THAT(back, Catch::Contains("transfer-encoding: chunked\r\n"));
  ClientView client("POST", back);
  StreamRecorder& response = client.response();
  REQUIRE(response.last_headers != nullptr);
  CHECK(response.last_headers->status() == 201);
  CHECK(response.last_headers->get("content-type") == "text/plain");
  // Set-Cookie must stay two fields: it cannot be joined with commas.
  CHECK(valuesOf(*response.last_headers, "set-cookie") == std::vector<std::string>{"a=1", "b=2"});
  CHECK_FALSE(response.last_headers->has("keep-alive"));
  CHECK(response.body == "response!!");
  CHECK(response.events.back() == "T x-trailer=done");
  CHECK_FALSE(response.reset);
}

TEST_CASE("a gRPC exchange keeps te trailers, its binary frames and grpc-status trailers", "[http][roundtrip][grpc]") {
  // One length-prefixed gRPC message each way (flag byte, 4-byte length, payload).
  const std::string request_msg = std::string("\0\0\0\0\x07", 5) + "ping\0\1\2"s;
  const std::string response_msg = std::string("\0\0\0\0\x06", 5) + "pong\xff\x00"s;
  Chain chain;
  chain.clientSends(
      "POST /echo.Echo/Say HTTP/1.1\r\n"
      "Host: grpc.local\r\n"
      "Content-Type: application/grpc\r\n"
      "TE: trailers\r\n"
      "grpc-timeout: 1S\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n" +
      chunked(request_msg, 1024) + "0\r\n\r\n");

  CHECK(chain.inner.exchange().request.seen_headers->get("te") == "trailers");
  BackendView backend(chain.to_backend.take());
  const http::HeaderMap& got = *backend.request().last_headers;
  CHECK(got.path() == "/echo.Echo/Say");
  CHECK(got.get("content-type") == "application/grpc");
  CHECK(got.get("te") == "trailers");
  CHECK(got.get("grpc-timeout") == "1S");
  CHECK(backend.request().body == request_msg);

  chain.backendSends(
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: application/grpc\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n" +
      chunked(response_msg, 1024) + "0\r\ngrpc-status: 0\r\ngrpc-message: OK\r\n\r\n");
  Forward& middle_back = chain.edge.exchange().response;
  REQUIRE(middle_back.seen_trailers != nullptr);
  CHECK(middle_back.seen_trailers->get("grpc-status") == "0");

  ClientView client("POST", chain.to_client.take());
  StreamRecorder& response = client.response();
  REQUIRE(response.last_headers != nullptr);
  CHECK(response.last_headers->status() == 200);
  CHECK(response.last_headers->get("content-type") == "application/grpc");
  CHECK(response.body == response_msg);
  CHECK(response.events.back() == "T grpc-status=0 grpc-message=OK");
}

TEST_CASE("a gRPC error status in trailers survives the round trip", "[http][roundtrip][grpc]") {
  Chain chain;
  chain.clientSends(
      "POST /echo.Echo/Fail HTTP/1.1\r\nHost: grpc.local\r\nContent-Type: application/grpc\r\n"
      "TE: trailers\r\nContent-Length: 5\r\n\r\n" +
      std::string("\0\0\0\0\0", 5));
  BackendView backend(chain.to_backend.take());
  CHECK(backend.request().body.size() == 5);
  chain.backendSends(
      "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\ngrpc-status: 14\r\ngrpc-message: upstream%20unavailable\r\n\r\n");
  ClientView client("POST", chain.to_client.take());
  CHECK(client.response().body.empty());
  CHECK(client.response().events.back() == "T grpc-status=14 grpc-message=upstream%20unavailable");
}

TEST_CASE("a 1 MB body each way crosses small HTTP/2 windows intact, with back-pressure to the source",
          "[http][roundtrip][flow-control]") {
  http::CodecLimits h2_limits;
  h2_limits.initial_stream_window_size = 65535;
  h2_limits.initial_connection_window_size = 65535;
  h2_limits.stream_buffer_limit = 64 * 1024;
  Chain chain(h2_limits);
  const size_t size = 1024 * 1024;
  const std::string upload = pattern(size, 7);
  chain.clientSends("PUT /blob HTTP/1.1\r\nHost: store.local\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    chunked(upload, 8 * 1024) + "0\r\n\r\n");

  BackendView backend(chain.to_backend.take());
  CHECK(backend.request().ended);
  CHECK(backend.request().body.size() == size);
  CHECK(backend.request().body == upload);
  // The window held the sender: never more than one window of DATA in flight,
  // and the HTTP/2 stream's backlog paused the HTTP/1 reader until it drained.
  CHECK(chain.max_data_per_flight <= 65535);
  CHECK(chain.flights_up >= static_cast<int>(size / 65535));
  const Forward& edge_response = chain.edge.exchange().response;  // callbacks of the HTTP/2 client stream
  CHECK(edge_response.above >= 1);
  CHECK(edge_response.below == edge_response.above);
  CHECK(chain.to_client.ever_disabled);
  CHECK(chain.to_client.disabled == 0);

  const std::string download = pattern(size, 11);
  // Chunked in 8 KB pieces, so the HTTP/1 client codec delivers the body
  // piece by piece and can be paused part way through its input.
  chain.backendSends("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(download, 8 * 1024) +
                     "0\r\n\r\n");
  const Forward& inner_request = chain.inner.exchange().request;  // callbacks of the HTTP/2 server stream
  CHECK(inner_request.above >= 1);
  CHECK(inner_request.below == inner_request.above);
  CHECK(chain.to_backend.ever_disabled);
  CHECK(chain.to_backend.disabled == 0);

  const std::string back = chain.to_client.take();
  CHECK_THAT(back, Catch::StartsWith("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"));
  ClientView client("PUT", back);
  CHECK(client.response().ended);
  CHECK(client.response().body == download);
}

// RFC 9110 7.6.1 requires an intermediary to remove every field named in
// Connection (RFC 9113 8.2.2 repeats it for HTTP/1 -> HTTP/2): the HTTP/1
// codec strips them as it decodes, so "X-Hop" never reaches the backend.
TEST_CASE("fields named in Connection do not cross to HTTP/2", "[http][roundtrip]") {
  Chain chain;
  chain.clientSends(
      "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nX-End: kept\r\n\r\n");
  BackendView backend(chain.to_backend.take());
  const http::HeaderMap& got = *backend.request().last_headers;
  CHECK(got.get("x-end") == "kept");
  CHECK_FALSE(got.has("x-hop"));
}

TEST_CASE("a body with a content-length crosses in one piece and keeps its length", "[http][roundtrip]") {
  Chain chain;
  chain.clientSends("GET /file HTTP/1.1\r\nHost: example.com\r\n\r\n");
  BackendView backend(chain.to_backend.take());
  CHECK(backend.request().ended);
  const std::string file = pattern(200 * 1024, 3);
  chain.backendSends("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(file.size()) + "\r\n\r\n" + file);
  const std::string back = chain.to_client.take();
  // HTTP/2 carried content-length through, so the client gets a length, not chunks.
  CHECK_THAT(back, Catch::StartsWith("HTTP/1.1 200 OK\r\ncontent-length: 204800\r\n\r\n"));
  ClientView client("GET", back);
  CHECK(client.response().ended);
  CHECK(client.response().body == file);
}

TEST_CASE("a reset from the backend side reaches the original client as a closed connection", "[http][roundtrip]") {
  Chain chain;
  chain.clientSends("GET /reset HTTP/1.1\r\nHost: example.com\r\n\r\n");
  BackendView backend(chain.to_backend.take());
  // The backend's response is cut short: HTTP/1 cannot end a message early.
  chain.backendSends("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
  auto eof = chain.inner.client->onTransportEof();
  CHECK(eof);
  chain.pump();
  CHECK(chain.inner.exchange().response.reset);
  CHECK(chain.edge.exchange().response.reset);  // RST_STREAM crossed the HTTP/2 hop
  // The HTTP/1 client saw a 200 with a body shorter than its length, and
  // its connection must now close.
  const std::string back = chain.to_client.take();
  CHECK(back.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK_THAT(back, Catch::EndsWith("short"));
  CHECK(chain.edge.server->closeNow());
}
