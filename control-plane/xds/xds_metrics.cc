#include "control-plane/xds/xds_metrics.h"

#include <fmt/format.h>

namespace remora::cp::xds {

std::string_view XdsMetrics::typeLabel(std::string_view type_url) {
  const size_t dot = type_url.rfind('.');
  const std::string_view name = dot == std::string_view::npos ? type_url : type_url.substr(dot + 1);
  // A client may send any type URL; only known ones become label values, so
  // the series count stays bounded.
  for (std::string_view known : {"Listener", "RouteConfiguration", "Cluster", "ClusterLoadAssignment", "Secret"}) {
    if (name == known) return known;
  }
  return "other";
}

void XdsMetrics::recordPush(std::string_view type_url, double latency_seconds) {
  const std::string_view type = typeLabel(type_url);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = pushes_.find(type);
  if (it == pushes_.end()) it = pushes_.emplace(std::string(type), 0).first;
  ++it->second;
  if (latency_seconds < 0) return;
  size_t bucket = 0;
  while (bucket < kLatencyBounds.size() && latency_seconds > kLatencyBounds[bucket]) ++bucket;
  ++buckets_[bucket];
  latency_sum_ += latency_seconds;
  ++latency_count_;
}

void XdsMetrics::recordNack(std::string_view type_url) {
  const std::string_view type = typeLabel(type_url);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = nacks_.find(type);
  if (it == nacks_.end()) it = nacks_.emplace(std::string(type), 0).first;
  ++it->second;
}

void XdsMetrics::appendMetrics(std::string& out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  out += "# HELP remora_cp_xds_pushes_total xDS responses written to proxies, by resource type.\n"
         "# TYPE remora_cp_xds_pushes_total counter\n";
  for (const auto& [type, n] : pushes_) out += fmt::format("remora_cp_xds_pushes_total{{type=\"{}\"}} {}\n", type, n);
  out += "# HELP remora_cp_xds_nacks_total xDS responses proxies rejected (NACKs received), by resource type.\n"
         "# TYPE remora_cp_xds_nacks_total counter\n";
  for (const auto& [type, n] : nacks_) out += fmt::format("remora_cp_xds_nacks_total{{type=\"{}\"}} {}\n", type, n);
  out += "# HELP remora_cp_xds_push_latency_seconds Time from a store change to its xDS response being written to a "
         "proxy.\n# TYPE remora_cp_xds_push_latency_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    cumulative += buckets_[i];
    out += fmt::format("remora_cp_xds_push_latency_seconds_bucket{{le=\"{}\"}} {}\n", kLatencyBounds[i], cumulative);
  }
  cumulative += buckets_.back();
  out += fmt::format("remora_cp_xds_push_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  out += fmt::format("remora_cp_xds_push_latency_seconds_sum {}\n", latency_sum_);
  out += fmt::format("remora_cp_xds_push_latency_seconds_count {}\n", latency_count_);
}

}  // namespace remora::cp::xds
