// Telemetry: the process-wide ends of tracing and access logging — one span
// exporter per distinct tracing provider and one writer per access-log path —
// shared by every worker's request observers.
//
// Owned by the Server. prepare() runs on the main thread before a snapshot is
// handed to the workers, so every exporter and writer a listener names exists
// before a worker asks for it; workers look them up (under a mutex) when they
// build a listener's filter chains, never per request. Nothing is destroyed
// before the workers stop.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/config/snapshot.h"
#include "proxy/main/proxy_stats.h"
#include "proxy/net/dispatcher.h"
#include "proxy/observability/access_log/access_log_writer.h"
#include "proxy/observability/tracing/span_exporter.h"
#include "xds/base/status.h"

namespace remora::server {

class Telemetry {
 public:
  Telemetry(net::Dispatcher& main, observability::StatsRegistry& stats, const ProxyFamilies& families);
  ~Telemetry();

  // Main thread: opens the access logs and starts the exporters `snapshot`
  // names. An access log that cannot be opened fails the snapshot.
  base::Status prepare(const config::Snapshot& snapshot);
  // Main thread: the latest snapshot, where exporters find their collector.
  void setSnapshot(std::shared_ptr<const config::Snapshot> snapshot);
  // Any thread; null when prepare() did not see it.
  tracing::SpanSink* sinkFor(const xds::resources::TracingProvider& provider);
  observability::AccessLogWriter* writerFor(const std::string& path);
  // Main thread: stops the exporters' timers and connections (after the
  // workers stopped).
  void shutdown();

 private:
  static std::string providerKey(const xds::resources::TracingProvider& provider);
  std::optional<net::Address> resolve(const std::string& cluster) const;

  net::Dispatcher& main_;
  observability::StatsRegistry& stats_;
  const ProxyFamilies& families_;
  std::shared_ptr<const config::Snapshot> snapshot_;  // main thread only
  std::mutex mutex_;  // guards the two maps (their shape, not the objects)
  std::map<std::string, std::unique_ptr<tracing::SpanExporter>> exporters_;
  std::map<std::string, std::unique_ptr<observability::AccessLogWriter>> writers_;
};

}  // namespace remora::server
