#include "proxy/upstream/original_dst_hosts.h"

#include <algorithm>

#include "proxy/net/original_destination.h"

namespace remora::upstream {

OriginalDstHosts::OriginalDstHosts(std::chrono::milliseconds cleanup_interval, std::optional<uint16_t> port_override,
                                   Clock now)
    : cleanup_interval_(cleanup_interval), port_override_(port_override), now_(std::move(now)) {}

net::Address OriginalDstHosts::upstreamAddress(const net::Address& destination) const {
  return port_override_ ? destination.withPort(*port_override_) : destination;
}

Host& OriginalDstHosts::get(const net::Address& destination) {
  const net::Address address = upstreamAddress(destination);
  auto it = hosts_.find(address);
  if (it == hosts_.end()) {
    it = hosts_.emplace(address, Entry{std::make_unique<Host>(address, 1), {}}).first;
  }
  it->second.last_used = now_();
  return *it->second.host;
}

const Host* OriginalDstHosts::find(const net::Address& upstream_address) const {
  auto it = hosts_.find(upstream_address);
  return it == hosts_.end() ? nullptr : it->second.host.get();
}

std::vector<std::unique_ptr<Host>> OriginalDstHosts::expire() {
  std::vector<std::unique_ptr<Host>> out;
  const auto now = now_();
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    const Entry& e = it->second;
    // A host with a request or TCP session on it is in use, however long
    // ago it was picked.
    if (e.host->activeRequests() == 0 && now - e.last_used >= cleanup_interval_) {
      out.push_back(std::move(it->second.host));
      it = hosts_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void LocalListeners::remove(const net::Address& address) {
  auto it = std::find(addresses_.begin(), addresses_.end(), address);
  if (it != addresses_.end()) addresses_.erase(it);
}

bool LocalListeners::contains(const net::Address& destination) const {
  bool wildcard_port = false;
  for (const auto& a : addresses_) {
    if (a.port() != destination.port()) continue;
    if (a.sameEndpoint(destination)) return true;
    wildcard_port = wildcard_port || a.isAnyAddress();
  }
  // Only a destination on a wildcard listener's port costs the interface
  // lookup; other traffic never reaches it.
  return wildcard_port && net::isLocalInterfaceAddress(destination);
}

}  // namespace remora::upstream
