// Host: one endpoint of a cluster, as the load balancer and the pools see it.
//
// Worker-local: each worker builds its own Host objects from the cluster
// config, so per-host counters (active requests, connections) need no atomics.
#pragma once

#include <cstdint>
#include <string>

#include "proxy/net/address.h"

namespace remora::upstream {

class Host {
 public:
  Host(net::Address address, uint32_t weight) : address_(address), weight_(weight), name_(address.toString()) {}

  const net::Address& address() const { return address_; }
  // "10.0.0.1:8080", for logs, headers and stats.
  const std::string& name() const { return name_; }
  uint32_t weight() const { return weight_; }

  // Requests currently using this host (least-request and circuit breakers read it).
  uint32_t activeRequests() const { return active_requests_; }
  void requestStarted() { ++active_requests_; }
  void requestFinished() { --active_requests_; }

 private:
  net::Address address_;
  uint32_t weight_;
  std::string name_;
  uint32_t active_requests_ = 0;
};

}  // namespace remora::upstream
