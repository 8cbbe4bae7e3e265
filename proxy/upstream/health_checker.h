// HealthChecker: active health checking of one cluster's hosts (Envoy's
// HealthCheck: HTTP, TCP or gRPC). Each host has its own timer: a check every
// interval (plus jitter from a seeded PRNG), each with a timeout, over a fresh
// connection that is closed when the check ends. A host turns unhealthy after
// unhealthy_threshold failed checks in a row and healthy again after
// healthy_threshold passes in a row; on_change is called on those
// transitions only.
//
// Hosts start healthy (Envoy starts them unhealthy until the first check
// passes; we keep traffic flowing while the first checks run).
//
// Main thread only (the owner posts the resulting kFailedActiveCheck flags to
// the workers). Owned by whoever owns the cluster's main-thread state; its
// destructor cancels every check and closes every connection.
//
// TODO(health-check): reuse one connection per host between checks, as Envoy
// does (reuse_connection); a connection per check costs a handshake each time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "proxy/net/address.h"
#include "proxy/net/dispatcher.h"
#include "proxy/upstream/transport.h"
#include "xds/resources/model.h"

namespace remora::upstream {

class HealthChecker {
 public:
  // on_change(address, healthy, reason): reason is the last check's result,
  // e.g. "HTTP 503 (expected 200)", "connect refused", "timeout after 1000 ms",
  // "HTTP 200". The callback may call setHosts() or destroy the checker.
  using ChangeCallback = std::function<void(const net::Address&, bool healthy, const std::string& reason)>;

  HealthChecker(net::Dispatcher& dispatcher, const xds::resources::HealthCheck& config, std::string cluster_name,
                TlsSettingsPtr tls, uint64_t seed, ChangeCallback on_change);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts checking new hosts (the first check after a random share of the
  // jitter, so a cluster's hosts are not probed in lockstep), stops removed
  // ones (their check in flight is cancelled). Staying hosts keep their state.
  void setHosts(const std::vector<net::Address>& hosts);

  // What the checker knows of one host (admin output, tests).
  struct HostState {
    bool healthy = true;
    uint32_t consecutive_failures = 0;
    uint32_t consecutive_passes = 0;
    uint64_t checks = 0;      // finished checks
    std::string last_result;  // reason of the last finished check
  };
  // Null when the host is not checked.
  const HostState* state(const net::Address& host) const;
  size_t hostCount() const { return hosts_.size(); }

 private:
  class HostCheck;
  friend class HostCheck;

  // Time until the next check: interval + up to interval_jitter + up to
  // interval_jitter_percent of the interval (Envoy's rule).
  std::chrono::milliseconds nextInterval();
  std::chrono::milliseconds firstDelay();
  uint64_t uniformBelow(uint64_t bound);

  net::Dispatcher& dispatcher_;
  const xds::resources::HealthCheck config_;
  const std::string cluster_name_;
  const TlsSettingsPtr tls_;
  std::mt19937_64 rng_;
  ChangeCallback on_change_;
  std::map<std::string, std::unique_ptr<HostCheck>> hosts_;  // by address text
};

}  // namespace remora::upstream
