// The span collector of tests/integration/trace_collector/collector.js (Node)
// as a child process: an OTLP/HTTP and Zipkin v2 endpoint that decodes what
// remora-proxy exports with code that is not Remora's (the OpenTelemetry
// project's generated protobuf definitions; the Zipkin v2 span schema via
// ajv), for the tracing tests. Test thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/harness/process.h"
#include "xds/base/status.h"

namespace remora::harness {

// One span as the collector decoded it; ids in lower-case hex.
struct CollectedSpan {
  std::string format;  // "otlp" or "zipkin"
  std::string service;
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;  // "" for a root span
  std::string name;
  std::string kind;  // "SERVER", "CLIENT", ...
  int status_code = 0;  // OTLP: 0 unset, 1 ok, 2 error
  // Attribute (OTLP) or tag (Zipkin) values, as text.
  std::map<std::string, std::string> attributes;
  std::string attribute(const std::string& key) const;
};

struct CollectorState {
  std::vector<CollectedSpan> spans;
  size_t errors = 0;  // requests it could not decode or that broke the schema
  std::string error_text;
  int otlp_requests = 0;
  int zipkin_requests = 0;
  int refused_requests = 0;  // answered 503 on purpose (--fail-first)
};

class TraceCollectorProcess {
 public:
  // `fail_first`: the first N export requests get 503.
  static base::Result<TraceCollectorProcess> start(const std::string& dir, int fail_first = 0);
  // Inside a network namespace: started under `command_prefix` (e.g. {"ip",
  // "netns", "exec", NS}) and bound to `host`; state() then asks through curl
  // under the same prefix.
  static base::Result<TraceCollectorProcess> startIn(const std::string& dir, std::vector<std::string> command_prefix,
                                                     const std::string& host);
  uint16_t port() const { return port_; }
  base::Result<CollectorState> state() const;
  // Stops it (a later export meets a closed port).
  int stop() { return process_.stop(); }

 private:
  TraceCollectorProcess(Process process, uint16_t port) : process_(std::move(process)), port_(port) {}
  static base::Result<TraceCollectorProcess> launch(const std::string& dir, int fail_first,
                                                    std::vector<std::string> command_prefix, const std::string& host);
  base::Result<std::string> spansJson() const;
  Process process_;
  uint16_t port_;
  std::vector<std::string> command_prefix_;
  std::string host_ = "127.0.0.1";
};

}  // namespace remora::harness
