// OriginalDstHosts: the hosts of one ORIGINAL_DST cluster on one worker. Such
// a cluster has no endpoints: each request or TCP session goes to its
// downstream connection's original destination (the address the client
// dialled before iptables redirected it to us). A host is made on first use
// of an address, reused while traffic keeps going there, and expired once
// unused for the cluster's cleanup_interval with nothing in flight.
//
// LocalListeners: the addresses this worker's listeners are bound to, so a
// destination that is the proxy itself (a redirect loop) is refused instead of
// being dialled.
//
// Worker-local: owned by the worker's Cluster (hosts) and ClusterManager
// (listeners); no locks. The clock is injected so tests drive expiry.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "proxy/net/address.h"
#include "proxy/upstream/host.h"

namespace remora::upstream {

class OriginalDstHosts {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  OriginalDstHosts(std::chrono::milliseconds cleanup_interval, std::optional<uint16_t> port_override, Clock now);

  // The host for a connection whose original destination is `destination`
  // (its port replaced by upstream_port_override when set); made on first
  // use. Marks it used now. The reference is valid until expire() takes it.
  Host& get(const net::Address& destination);
  // The address get() dials for `destination`.
  net::Address upstreamAddress(const net::Address& destination) const;
  // Takes out the hosts unused for cleanup_interval with no request or
  // session on them; the owner drains their pools and frees them once idle.
  std::vector<std::unique_ptr<Host>> expire();

  size_t size() const { return hosts_.size(); }
  const Host* find(const net::Address& upstream_address) const;
  // Every live host, for /clusters and the idle check.
  template <typename F>
  void forEach(F&& f) const {
    for (const auto& [address, entry] : hosts_) f(*entry.host);
  }

 private:
  struct Entry {
    std::unique_ptr<Host> host;
    std::chrono::steady_clock::time_point last_used;
  };
  struct AddressHash {
    size_t operator()(const net::Address& a) const { return a.hash(); }
  };

  std::chrono::milliseconds cleanup_interval_;
  std::optional<uint16_t> port_override_;
  Clock now_;
  std::unordered_map<net::Address, Entry, AddressHash> hosts_;
};

class LocalListeners {
 public:
  // A listener bound (or unbound) at `address`; counted, since a moved
  // listener may bind the new socket before the old one closes.
  void add(const net::Address& address) { addresses_.push_back(address); }
  void remove(const net::Address& address);
  // True when connecting to `destination` would reach one of our listeners:
  // same port, and the listener's IP, or any local IP for a listener bound
  // to 0.0.0.0 / ::.
  bool contains(const net::Address& destination) const;

 private:
  std::vector<net::Address> addresses_;
};

}  // namespace remora::upstream
