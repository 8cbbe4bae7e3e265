// RequestObserver: what happens around every HTTP request of one filter
// chain on one worker — the trace context read and written (Tracer), the
// per-request metrics (requests by direction/cluster/route/status
// class/caller, the duration histogram), the request's spans and its
// access-log lines — all at the two moments the connection manager calls it.
//
// Worker-local; one per HTTP filter chain per worker (ActiveListener owns it).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "proxy/http/manager/stream_handler.h"
#include "proxy/main/proxy_stats.h"
#include "proxy/observability/access_log/access_log_writer.h"
#include "proxy/observability/tracing/tracer.h"
#include "xds/resources/model.h"

namespace remora::server {

class RequestObserver : public http::manager::StreamObserver {
 public:
  struct AccessLogTarget {
    observability::AccessLogWriter* writer;
    xds::resources::AccessLog::Format format;
  };
  RequestObserver(observability::WorkerStats& shard, const ProxyFamilies& families, const std::string& listener,
                  std::unique_ptr<tracing::Tracer> tracer, std::vector<AccessLogTarget> access_logs);

  void onRequestHeaders(const http::HeaderMap& headers, observability::RequestRecord& record) override;
  uint64_t onUpstreamAttempt(http::HeaderMap& upstream_headers, observability::RequestRecord& record) override;
  void onStreamEnd(observability::RequestRecord& record) override;

 private:
  // The request counter and histogram for a label set: looked up in the
  // shard on first use, then kept in a small cache (a listener's requests
  // mostly share cluster, route and caller).
  struct Entry {
    std::string cluster, route, peer;
    observability::TrafficDirection direction{};
    uint32_t code_class = 0;
    observability::Counter requests;
    observability::Histogram duration;
    bool used = false;
  };
  Entry& entryFor(const observability::RequestRecord& record, uint32_t code_class);

  observability::WorkerStats& shard_;
  const ProxyFamilies& families_;
  std::unique_ptr<tracing::Tracer> tracer_;
  std::vector<AccessLogTarget> access_logs_;
  observability::Counter malformed_trace_headers_;
  std::array<Entry, 16> cache_{};
  std::string line_;  // reused for access-log lines
};

}  // namespace remora::server
