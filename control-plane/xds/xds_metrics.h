// XdsMetrics: what the ADS streams did, as remora-cp's Prometheus metrics —
// responses written per resource type (remora_cp_xds_pushes_total), how long
// a change took from the store to the proxy's stream
// (remora_cp_xds_push_latency_seconds, a histogram), and NACKs received per
// type (remora_cp_xds_nacks_total). The ControlPlane owns one and appends it
// to GET /metrics; the AdsService's streams record into it.
//
// Thread-safe: gRPC's threads record, an API thread renders (one mutex; a
// record is a map lookup and a few additions, off any proxy's data path).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace remora::cp::xds {

class XdsMetrics {
 public:
  // Upper bounds of the latency buckets in seconds; +Inf is implied. From
  // the debounce window (100 ms by default) up to a slow, large mesh.
  static constexpr std::array<double, 12> kLatencyBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

  // One response written to a proxy's stream (`type_url` is the full type
  // URL); `latency_seconds` >= 0 when the response carried a store change
  // (see docs/control-plane.md), negative for responses to requests.
  void recordPush(std::string_view type_url, double latency_seconds);
  // One request whose error_detail was set: the proxy rejected a response.
  void recordNack(std::string_view type_url);

  // The three families in Prometheus text format, HELP and TYPE included. A
  // type that saw nothing has no series, except the histogram, which always
  // has its buckets.
  void appendMetrics(std::string& out) const;

  // "Cluster" for "type.googleapis.com/envoy.config.cluster.v3.Cluster":
  // the label value, bounded to the types the server serves plus "other".
  static std::string_view typeLabel(std::string_view type_url);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t, std::less<>> pushes_;
  std::map<std::string, uint64_t, std::less<>> nacks_;
  std::array<uint64_t, kLatencyBounds.size() + 1> buckets_{};  // not cumulative; last is +Inf
  double latency_sum_ = 0;
  uint64_t latency_count_ = 0;
};

}  // namespace remora::cp::xds
