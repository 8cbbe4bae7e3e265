#include "examples/apps/echo/echo_handler.h"

#include <unistd.h>

#include <cstdlib>
#include <memory>

namespace remora::echo {
namespace {

constexpr std::string_view kGrpcHealthCheckPath = "/grpc.health.v1.Health/Check";

// HealthCheckResponse{status = serving ? SERVING (1) : NOT_SERVING (2)} in one
// gRPC message frame: flag 0 (not compressed), 4-byte big-endian length, then
// field 1 as a varint (tag 0x08).
std::string grpcHealthFrame(bool serving) {
  std::string frame("\x00\x00\x00\x00\x02\x08", 6);
  frame.push_back(serving ? '\x01' : '\x02');
  return frame;
}

}  // namespace

void EchoHandler::onRequestHeaders(http::HeaderMapPtr headers, bool end_stream) {
  request_ = std::move(headers);
  if (end_stream) requestComplete();
}

void EchoHandler::onRequestData(net::Buffer& data, bool end_stream) {
  // Bodies are read whole; the sample app is not a streaming benchmark.
  body_.move(data);
  if (end_stream) requestComplete();
}

void EchoHandler::requestComplete() {
  const std::string_view target = request_->path();
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (serveControl(path, query)) return;
  const FaultDecision decision = faults_.decide(request_->method());
  if (decision.delay.count() > 0) {
    timer_ = downstream_.dispatcher().createTimer([this, decision] { applyDecision(decision); });
    timer_->enable(decision.delay);
    return;
  }
  applyDecision(decision);
}

bool EchoHandler::serveControl(std::string_view path, std::string_view query) {
  const std::string_view method = request_->method();
  if (path == "/fault" && method == "POST") {
    bool crash = false;
    const base::Status status = faults_.apply(query, crash);
    if (!status) {
      send(400, status.message() + "\n");
      return true;
    }
    // A crash answers nothing: the client sees the connection die, as it
    // would with a real crash.
    if (crash) ::_exit(3);
    send(200, faults_.knobsJson(), false, "application/json");
    return true;
  }
  if (path == "/fault/clear" && method == "POST") {
    faults_.clear();
    send(200, faults_.knobsJson(), false, "application/json");
    return true;
  }
  if (path == "/fault") {
    send(200, faults_.knobsJson(), false, "application/json");
    return true;
  }
  if (path == "/stats") {
    send(200, faults_.statsJson(), false, "application/json");
    return true;
  }
  if (path == "/healthz") {
    serveHealth(/*grpc=*/false);
    return true;
  }
  if (path == kGrpcHealthCheckPath && method == "POST") {
    serveHealth(/*grpc=*/true);
    return true;
  }
  return false;
}

void EchoHandler::serveHealth(bool grpc) {
  const HealthMode mode = faults_.knobs().health;
  // hang: the stream stays open until the checker gives up and resets it.
  if (mode == HealthMode::kHang) return;
  const bool serving = mode == HealthMode::kOk;
  if (!grpc) {
    send(serving ? 200 : 503, serving ? "ok\n" : "unhealthy\n");
    return;
  }
  auto headers = std::make_unique<http::HeaderMap>();
  headers->add(":status", "200");
  headers->add("content-type", "application/grpc");
  headers->add("x-served-by", name_);
  downstream_.encodeHeaders(std::move(headers), false);
  net::Buffer frame(grpcHealthFrame(serving));
  downstream_.encodeData(frame, false);
  auto trailers = std::make_unique<http::HeaderMap>();
  trailers->add("grpc-status", "0");
  downstream_.encodeTrailers(std::move(trailers));
}

void EchoHandler::applyDecision(const FaultDecision& decision) {
  switch (decision.action) {
    case FaultDecision::Action::kReset:
      // HTTP/1: the connection closes with no response; HTTP/2: RST_STREAM.
      downstream_.resetDownstream(base::Error::kInternal, "fault injected: reset");
      return;
    case FaultDecision::Action::kFail:
      send(decision.status, "fault injected by " + name_ + "\n");
      return;
    case FaultDecision::Action::kAnswer:
      serveApp(request_->path().substr(0, request_->path().find('?')));
      return;
  }
}

void EchoHandler::serveApp(std::string_view path_view) {
  const std::string path(path_view);
  if (path.rfind("/delay/", 0) == 0) {
    const long ms = std::strtol(path.c_str() + 7, nullptr, 10);
    timer_ = downstream_.dispatcher().createTimer([this] { send(200, "delayed\n"); });
    timer_->enable(std::chrono::milliseconds(ms < 0 ? 0 : ms));
    return;
  }
  if (path.rfind("/status/", 0) == 0) {
    const long code = std::strtol(path.c_str() + 8, nullptr, 10);
    send(code >= 200 && code <= 599 ? static_cast<uint32_t>(code) : 400, "status\n");
    return;
  }
  if (path == "/echo") {
    send(200, body_.toString(), /*echo_headers=*/true);
    return;
  }
  if (path == "/headers") {
    std::string out;
    for (const auto& f : *request_) out += f.name + ": " + f.value + "\n";
    send(200, out);
    return;
  }
  send(200, "hello from " + name_ + "\n");
}

void EchoHandler::send(uint32_t status, const std::string& body, bool echo_headers,
                       std::string_view content_type) {
  auto h = std::make_unique<http::HeaderMap>();
  h->add(":status", std::to_string(status));
  h->add("content-type", std::string(content_type));
  h->add("x-served-by", name_);
  h->add("content-length", std::to_string(body.size()));
  if (echo_headers) {
    for (const auto& f : *request_) {
      if (f.name.rfind("x-echo-", 0) == 0) h->add(f.name, f.value);
    }
  }
  const bool head = request_->method() == "HEAD";
  downstream_.encodeHeaders(std::move(h), body.empty() || head);
  if (!body.empty() && !head) {
    net::Buffer b(body);
    downstream_.encodeData(b, true);
  }
}

}  // namespace remora::echo
