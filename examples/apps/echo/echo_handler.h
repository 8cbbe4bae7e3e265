// EchoHandler: serves one request of remora-echo: the demo endpoints, the
// fault-knob control endpoints (/fault, /stats), the health endpoints
// (/healthz, grpc.health.v1.Health/Check), and applies the instance's fault
// knobs (latency, failure, reset) to every other request.
//
// Created per stream by the EchoServer; single thread (the app's loop).
#pragma once

#include <string>
#include <string_view>

#include "examples/apps/echo/fault_state.h"
#include "proxy/http/manager/stream_handler.h"

namespace remora::echo {

class EchoHandler : public http::manager::StreamHandler {
 public:
  EchoHandler(http::manager::DownstreamStream& downstream, const std::string& name, FaultState& faults)
      : downstream_(downstream), name_(name), faults_(faults) {}

  void onRequestHeaders(http::HeaderMapPtr headers, bool end_stream) override;
  void onRequestData(net::Buffer& data, bool end_stream) override;
  void onRequestTrailers(http::HeaderMapPtr) override { requestComplete(); }
  void onDownstreamReset(std::string_view) override { timer_.reset(); }

 private:
  // The whole request (headers and body) has arrived.
  void requestComplete();
  // /fault*, /stats, /healthz and the gRPC health check: never counted and
  // never faulted (only health= changes the health answers). True if served.
  bool serveControl(std::string_view path, std::string_view query);
  void serveHealth(bool grpc);
  void applyDecision(const FaultDecision& decision);
  void serveApp(std::string_view path);
  void send(uint32_t status, const std::string& body, bool echo_headers = false,
            std::string_view content_type = "text/plain");

  http::manager::DownstreamStream& downstream_;
  const std::string& name_;
  FaultState& faults_;
  http::HeaderMapPtr request_;
  net::Buffer body_;
  net::TimerPtr timer_;
};

}  // namespace remora::echo
