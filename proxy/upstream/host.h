// Host: one endpoint of a cluster, as the load balancers and the pools see it.
//
// Worker-local: each worker builds its own Host objects from the cluster
// config, so per-host counters (active requests, health flags, the latency
// estimate) need no atomics. The main thread decides health (outlier
// detection, active checks) and posts flags to every worker, which sets them
// here and calls HostSelector::refresh().
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>

#include "proxy/net/address.h"

namespace remora::upstream {

// Why a host takes no new requests; a host is healthy only when no flag is set.
enum class HostHealthFlag : uint8_t {
  kEdsUnhealthy = 1,       // the control plane said UNHEALTHY, DRAINING or TIMEOUT
  kFailedActiveCheck = 2,  // the active health checker saw it fail
  kOutlierEjected = 4,     // outlier detection ejected it
};

class Host {
 public:
  Host(net::Address address, uint32_t weight, uint32_t priority = 0)
      : address_(address), weight_(weight), priority_(priority), name_(address.toString()) {}

  const net::Address& address() const { return address_; }
  // "10.0.0.1:8080", for logs, headers and stats; also what hashing balancers
  // place on their ring/table, so every worker and every proxy agrees.
  const std::string& name() const { return name_; }
  uint32_t weight() const { return weight_; }
  // 0 is tried first; higher priorities take the load lower ones cannot.
  uint32_t priority() const { return priority_; }

  // Requests currently using this host (least-request and circuit breakers read it).
  uint32_t activeRequests() const { return active_requests_; }
  void requestStarted() { ++active_requests_; }
  void requestFinished() { --active_requests_; }

  bool healthy() const { return health_flags_ == 0; }
  uint8_t healthFlags() const { return health_flags_; }
  // The caller must HostSelector::refresh() afterwards so the per-priority
  // lists follow; until then the selector still skips the host on pick.
  void setHealthFlag(HostHealthFlag flag, bool set) {
    const auto bit = static_cast<uint8_t>(flag);
    health_flags_ = set ? static_cast<uint8_t>(health_flags_ | bit) : static_cast<uint8_t>(health_flags_ & ~bit);
  }

  // Peak-EWMA feedback (Linkerd): the router calls this when response headers
  // arrive. A sample above the estimate replaces it at once, so a host that
  // turns slow loses traffic on its first slow answer; a lower one blends in
  // with weight 1 - exp(-elapsed / decay), so recovery takes about `decay`.
  void recordLatency(std::chrono::steady_clock::time_point now, std::chrono::nanoseconds rtt) {
    const double sample = static_cast<double>(rtt.count());
    if (!has_latency_ || sample > latency_ns_) {
      latency_ns_ = sample;
    } else {
      latency_ns_ = latency_ns_ * fade(now) + sample * (1.0 - fade(now));
    }
    has_latency_ = true;
    latency_at_ = now;
  }
  bool hasLatencySample() const { return has_latency_; }
  // The round-trip estimate in nanoseconds as of `now` (0 before any
  // sample). It fades toward zero while no sample arrives (Linkerd decays on
  // every read the same way): peak-EWMA sends a slow host nothing, so
  // without the fade it would never get the request that shows it recovered.
  double latencyEstimateNanos(std::chrono::steady_clock::time_point now) const {
    return latency_ns_ * fade(now);
  }
  // Cluster's peak_ewma_decay; HostSelector sets it from the config.
  void setLatencyDecay(std::chrono::nanoseconds decay) { decay_ = decay.count() > 0 ? decay : kDefaultDecay; }

  static constexpr std::chrono::nanoseconds kDefaultDecay = std::chrono::seconds(10);

 private:
  // exp(-elapsed / decay) since the last sample: how much of it still counts.
  double fade(std::chrono::steady_clock::time_point now) const {
    if (now <= latency_at_) return 1.0;
    const auto elapsed = std::chrono::duration<double, std::nano>(now - latency_at_).count();
    return std::exp(-elapsed / static_cast<double>(decay_.count()));
  }

  net::Address address_;
  uint32_t weight_;
  uint32_t priority_;
  std::string name_;
  uint32_t active_requests_ = 0;
  uint8_t health_flags_ = 0;
  bool has_latency_ = false;
  double latency_ns_ = 0;
  std::chrono::steady_clock::time_point latency_at_{};
  std::chrono::nanoseconds decay_ = kDefaultDecay;
};

}  // namespace remora::upstream
