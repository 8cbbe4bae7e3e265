// Test helpers for the HTTP/1 codec tests: recorders that turn codec events
// into readable strings, and harnesses that drive a server or client codec in
// memory over a FakeTransport. Test-only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/http1/http1_client_codec.h"
#include "proxy/http/http1/http1_server_codec.h"
#include "tests/unit/fakes/fake_transport.h"

namespace remora::testing {

inline std::string renderFields(const http::HeaderMap& headers) {
  std::string out;
  for (const auto& f : headers) {
    if (!out.empty()) out += ' ';
    out += f.name + "=" + f.value;
  }
  return out;
}

// Records one stream's decoded events as strings:
// "H <fields> end=0|1", "D <bytes> end=0|1", "T <fields>", "I <fields>", "R <reason>".
class StreamRecorder : public http::StreamCallbacks {
 public:
  void onHeaders(http::HeaderMapPtr headers, bool end_stream) override {
    events.push_back("H " + renderFields(*headers) + " end=" + (end_stream ? "1" : "0"));
    last_headers = std::move(headers);
    if (end_stream) ended = true;
    if (on_headers) on_headers(*this);
    if (end_stream && on_end) on_end(*this);
  }
  void onData(net::Buffer& data, bool end_stream) override {
    events.push_back("D " + data.toString() + " end=" + (end_stream ? "1" : "0"));
    body += data.toString();
    data.clear();
    if (end_stream) ended = true;
    if (end_stream && on_end) on_end(*this);
  }
  void onTrailers(http::HeaderMapPtr trailers) override {
    events.push_back("T " + renderFields(*trailers));
    ended = true;
    if (on_end) on_end(*this);
  }
  void onInformational(http::HeaderMapPtr headers) override { events.push_back("I " + renderFields(*headers)); }
  void onReset(http::StreamResetReason reason, std::string_view detail) override {
    events.push_back("R " + std::string(http::resetReasonName(reason)));
    reset = true;
    reset_detail = std::string(detail);
  }

  // Events with consecutive data merged, so that feeding bytes one at a time
  // and all at once can be compared.
  std::vector<std::string> normalized() const {
    std::vector<std::string> out;
    for (const std::string& e : events) {
      if (e.rfind("D ", 0) == 0 && !out.empty() && out.back().rfind("D ", 0) == 0) {
        std::string prev = out.back();
        std::string prev_bytes = prev.substr(2, prev.size() - 8);
        std::string bytes = e.substr(2, e.size() - 8);
        out.back() = "D " + prev_bytes + bytes + e.substr(e.size() - 6);
      } else {
        out.push_back(e);
      }
    }
    return out;
  }

  http::Stream* stream = nullptr;
  std::vector<std::string> events;
  std::string body;
  http::HeaderMapPtr last_headers;
  bool ended = false;
  bool reset = false;
  std::string reset_detail;
  std::function<void(StreamRecorder&)> on_headers;
  std::function<void(StreamRecorder&)> on_end;
};

// Encodes a complete response on `stream`: content-length framing when a body is given.
inline void respond(http::Stream& stream, uint32_t status, std::string_view body = "",
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
  http::HeaderMap headers;
  headers.add(":status", std::to_string(status));
  for (auto& [k, v] : extra) headers.add(k, v);
  if (!body.empty()) headers.add("content-length", std::to_string(body.size()));
  stream.encodeHeaders(headers, body.empty());
  if (!body.empty()) {
    net::Buffer data(body);
    stream.encodeData(data, true);
  }
}

class ServerHarness : public http::ServerCodecCallbacks {
 public:
  explicit ServerHarness(http::CodecLimits limits = {}) : limits_(limits) {
    codec = std::make_unique<http::http1::Http1ServerCodec>(transport, *this, limits_);
  }
  void onNewStream(http::Stream& stream) override {
    auto recorder = std::make_unique<StreamRecorder>();
    recorder->stream = &stream;
    stream.setCallbacks(*recorder);
    if (configure) configure(*recorder);
    streams.push_back(std::move(recorder));
  }
  base::Status feed(std::string_view bytes) {
    net::Buffer data(bytes);
    return codec->dispatch(data);
  }
  base::Status feedBytewise(std::string_view bytes) {
    for (char c : bytes) {
      base::Status st = feed(std::string_view(&c, 1));
      if (!st) return st;
    }
    return {};
  }
  std::vector<std::string> allEvents() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < streams.size(); ++i) {
      for (const std::string& e : streams[i]->normalized()) out.push_back(std::to_string(i) + ": " + e);
    }
    return out;
  }

  FakeTransport transport;
  std::unique_ptr<http::http1::Http1ServerCodec> codec;
  std::vector<std::unique_ptr<StreamRecorder>> streams;
  // Called for each new stream's recorder (to install hooks) before any event.
  std::function<void(StreamRecorder&)> configure;

 private:
  http::CodecLimits limits_;
};

class ClientHarness : public http::ClientCodecCallbacks {
 public:
  explicit ClientHarness(http::CodecLimits limits = {}) : limits_(limits) {
    codec = std::make_unique<http::http1::Http1ClientCodec>(transport, *this, limits_);
  }
  void onGoAway() override { ++goaways; }
  // Opens a stream and encodes a request without a body.
  http::Stream& request(std::string_view method, std::string_view path, bool end_stream = true,
                        std::vector<std::pair<std::string, std::string>> extra = {}) {
    http::Stream& stream = codec->newStream(recorder);
    recorder.stream = &stream;
    http::HeaderMap headers;
    headers.add(":method", method);
    headers.add(":scheme", "http");
    headers.add(":authority", "example.com");
    headers.add(":path", path);
    for (auto& [k, v] : extra) headers.add(k, v);
    stream.encodeHeaders(headers, end_stream);
    return stream;
  }
  base::Status feed(std::string_view bytes) {
    net::Buffer data(bytes);
    return codec->dispatch(data);
  }

  FakeTransport transport;
  std::unique_ptr<http::http1::Http1ClientCodec> codec;
  StreamRecorder recorder;
  int goaways = 0;

 private:
  http::CodecLimits limits_;
};

}  // namespace remora::testing
