// libFuzzer target for the HTTP/1 codec: the same bytes are fed to a server
// codec (as requests) and to a client codec (as the response to a request),
// split into reads of a size chosen by the first input byte, then the
// connection is closed. Besides memory errors (ASan/UBSan), it checks the
// event contract: nothing after a stream's end or reset, never both.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "proxy/http/http1/http1_client_codec.h"
#include "proxy/http/http1/http1_server_codec.h"
#include "tests/unit/fakes/fake_transport.h"

namespace {

using namespace remora;

// Aborts (a crash libFuzzer reports) when the codec breaks the event contract.
void require(bool condition) {
  if (!condition) std::abort();
}

class ContractChecker : public http::StreamCallbacks {
 public:
  void onHeaders(http::HeaderMapPtr headers, bool end_stream) override {
    require(!done() && !saw_headers && headers != nullptr);
    saw_headers = true;
    ended = end_stream;
    if (on_event) on_event(*this);
  }
  void onData(net::Buffer& data, bool end_stream) override {
    require(!done() && saw_headers);
    data.clear();
    ended = end_stream;
    if (on_event) on_event(*this);
  }
  void onTrailers(http::HeaderMapPtr trailers) override {
    require(!done() && saw_headers && trailers != nullptr);
    ended = true;
    if (on_event) on_event(*this);
  }
  void onInformational(http::HeaderMapPtr headers) override { require(!done() && !saw_headers); }
  void onReset(http::StreamResetReason, std::string_view) override {
    require(!done());
    was_reset = true;
  }
  bool done() const { return ended || was_reset; }

  http::Stream* stream = nullptr;
  bool saw_headers = false;
  bool ended = false;
  bool was_reset = false;
  void (*on_event)(ContractChecker&) = nullptr;
};

void respond(ContractChecker& c) {
  // Answer once the request ended, with a small body: exercises pipelining
  // and resuming from inside encode calls.
  if (!c.ended || c.stream == nullptr) return;
  http::HeaderMap headers;
  headers.add(":status", "200");
  c.stream->encodeHeaders(headers, false);
  net::Buffer body("ok");
  c.stream->encodeData(body, true);
  c.stream = nullptr;
}

class Server : public http::ServerCodecCallbacks {
 public:
  void onNewStream(http::Stream& stream) override {
    streams.push_back(std::make_unique<ContractChecker>());
    streams.back()->stream = &stream;
    streams.back()->on_event = respond;
    stream.setCallbacks(*streams.back());
  }
  std::vector<std::unique_ptr<ContractChecker>> streams;
};

void fuzzServer(std::string_view input, size_t step) {
  testing::FakeTransport transport;
  Server server;
  http::CodecLimits limits;
  limits.max_request_headers_kb = 4;
  limits.max_headers_count = 20;
  http::http1::Http1ServerCodec codec(transport, server, limits);
  for (size_t i = 0; i < input.size(); i += step) {
    net::Buffer data(input.substr(i, step));
    if (!codec.dispatch(data)) break;
    transport.written.clear();
    if (codec.closeNow()) break;
  }
  (void)codec.onTransportEof();
}

void fuzzClient(std::string_view input, size_t step, bool head) {
  testing::FakeTransport transport;
  http::ClientCodecCallbacks callbacks;
  http::CodecLimits limits;
  limits.max_request_headers_kb = 4;
  http::http1::Http1ClientCodec codec(transport, callbacks, limits);
  std::vector<std::unique_ptr<ContractChecker>> streams;
  auto start = [&] {
    streams.push_back(std::make_unique<ContractChecker>());
    http::Stream& s = codec.newStream(*streams.back());
    http::HeaderMap headers;
    headers.add(":method", head ? "HEAD" : "GET");
    headers.add(":authority", "fuzz");
    headers.add(":path", "/");
    s.encodeHeaders(headers, true);
  };
  start();
  for (size_t i = 0; i < input.size(); i += step) {
    net::Buffer data(input.substr(i, step));
    if (!codec.dispatch(data) || codec.closeNow()) break;
    // A finished exchange on a reusable connection: send the next request.
    if (codec.canCreateStream() && streams.size() < 64) start();
  }
  (void)codec.onTransportEof();
  for (auto& s : streams) require(!(s->ended && s->was_reset));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  // Read sizes from 1 byte to the whole input: every split point must parse alike.
  const size_t step = (mode & 0x40) ? (input.size() + 1) : (1 + (mode & 0x3f));
  fuzzServer(input, step);
  fuzzClient(input, step, (mode & 0x80) != 0);
  return 0;
}
