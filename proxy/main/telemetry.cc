#include "proxy/main/telemetry.h"

#include <spdlog/spdlog.h>

namespace remora::server {

using xds::resources::HttpConnectionManager;
using xds::resources::TracingProvider;

Telemetry::Telemetry(net::Dispatcher& main, observability::StatsRegistry& stats, const ProxyFamilies& families)
    : main_(main), stats_(stats), families_(families) {}

Telemetry::~Telemetry() { shutdown(); }

std::string Telemetry::providerKey(const TracingProvider& p) {
  return std::to_string(static_cast<int>(p.format)) + "|" + p.cluster + "|" + p.path + "|" + p.authority + "|" +
         p.service_name + "|" + std::to_string(p.timeout.count());
}

std::optional<net::Address> Telemetry::resolve(const std::string& cluster) const {
  if (!snapshot_) return std::nullopt;
  for (const auto& c : snapshot_->clusters) {
    if (c->name != cluster) continue;
    // The first endpoint the control plane does not call unhealthy.
    for (const auto& e : c->endpoints) {
      if (e.health == xds::resources::HealthStatus::kUnhealthy || e.health == xds::resources::HealthStatus::kDraining) {
        continue;
      }
      auto a = net::Address::fromIpPort(e.address.address, static_cast<uint16_t>(e.address.port));
      if (a) return *a;
    }
  }
  return std::nullopt;
}

base::Status Telemetry::prepare(const config::Snapshot& snapshot) {
  observability::WorkerStats& main_stats = stats_.mainStats();
  std::string node_cluster = snapshot.bootstrap ? snapshot.bootstrap->node.cluster : std::string();
  auto visit = [&](const HttpConnectionManager& hcm) -> base::Status {
    if (hcm.tracing) {
      const TracingProvider& p = hcm.tracing->provider;
      const std::string key = providerKey(p);
      std::lock_guard lock(mutex_);
      if (!exporters_.contains(key)) {
        tracing::ExporterCounters counters;
        counters.spans_exported = main_stats.counter(families_.tracing_spans, {"exported"});
        counters.spans_dropped_queue_full = main_stats.counter(families_.tracing_spans, {"dropped_queue_full"});
        counters.spans_dropped_export_failed = main_stats.counter(families_.tracing_spans, {"dropped_export_failed"});
        counters.export_requests_ok = main_stats.counter(families_.tracing_export_requests, {"ok"});
        counters.export_requests_failed = main_stats.counter(families_.tracing_export_requests, {"failed"});
        std::string service = p.service_name.empty() ? node_cluster : p.service_name;
        if (service.empty()) service = "remora-proxy";
        exporters_.emplace(key, std::make_unique<tracing::SpanExporter>(
                                    main_, p, std::move(service),
                                    [this, cluster = p.cluster] { return resolve(cluster); }, counters));
      }
    }
    for (const auto& log : hcm.access_logs) {
      std::lock_guard lock(mutex_);
      if (writers_.contains(log.path)) continue;
      observability::AccessLogCounters counters;
      counters.lines_written = main_stats.counter(families_.access_log_lines, {"written"});
      counters.lines_dropped = main_stats.counter(families_.access_log_lines, {"dropped"});
      counters.write_errors = main_stats.counter(families_.access_log_write_errors);
      auto writer = observability::AccessLogWriter::open(log.path, {}, counters);
      if (!writer) {
        return base::fail(writer.error().code, "access log '" + log.path + "': " + writer.error().message);
      }
      writers_.emplace(log.path, std::move(*writer));
    }
    return {};
  };
  for (const auto& ls : snapshot.listeners) {
    const auto& l = *ls.config;
    for (const auto& chain : l.filter_chains) {
      if (const auto* hcm = std::get_if<HttpConnectionManager>(&chain.filter)) {
        if (auto s = visit(*hcm); !s) return base::fail(s.code(), "listener '" + l.name + "': " + s.message());
      }
    }
    if (l.default_filter_chain) {
      if (const auto* hcm = std::get_if<HttpConnectionManager>(&l.default_filter_chain->filter)) {
        if (auto s = visit(*hcm); !s) return base::fail(s.code(), "listener '" + l.name + "': " + s.message());
      }
    }
  }
  return {};
}

void Telemetry::setSnapshot(std::shared_ptr<const config::Snapshot> snapshot) { snapshot_ = std::move(snapshot); }

tracing::SpanSink* Telemetry::sinkFor(const TracingProvider& provider) {
  std::lock_guard lock(mutex_);
  auto it = exporters_.find(providerKey(provider));
  return it == exporters_.end() ? nullptr : it->second.get();
}

observability::AccessLogWriter* Telemetry::writerFor(const std::string& path) {
  std::lock_guard lock(mutex_);
  auto it = writers_.find(path);
  return it == writers_.end() ? nullptr : it->second.get();
}

void Telemetry::shutdown() {
  std::lock_guard lock(mutex_);
  for (auto& [key, exporter] : exporters_) exporter->shutdown();
}

}  // namespace remora::server
