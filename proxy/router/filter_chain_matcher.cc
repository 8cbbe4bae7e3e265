#include "proxy/router/filter_chain_matcher.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace remora::router {

FilterChainMatcher::Ip FilterChainMatcher::ipOf(const net::Address& address) {
  Ip ip;
  if (address.family() == AF_INET) {
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in*>(address.sockaddr())->sin_addr, 4);
    return ip;
  }
  const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(address.sockaddr())->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(ip.bytes.data(), &v6.s6_addr[12], 4);
    return ip;
  }
  ip.v6 = true;
  std::memcpy(ip.bytes.data(), &v6, 16);
  return ip;
}

FilterChainMatcher::FilterChainMatcher(const xds::resources::Listener& listener)
    : has_default_(listener.default_filter_chain.has_value()) {
  for (const auto& fc : listener.filter_chains) {
    Chain chain{fc.match.destination_port, {}, fc.match.transport_protocol, fc.match.application_protocols};
    for (const auto& range : fc.match.prefix_ranges) {
      // The converter accepted only literal IPs; a bad one cannot reach here.
      auto address = net::Address::fromIpPort(range.address, 0);
      if (!address) continue;
      const Ip ip = ipOf(*address);
      chain.ranges.push_back(Prefix{ip.v6, ip.bytes, range.prefix_len});
    }
    chains_.push_back(std::move(chain));
  }
}

bool FilterChainMatcher::covers(const Prefix& prefix, const Ip& ip) {
  if (prefix.v6 != ip.v6) return false;
  const uint32_t full = prefix.length / 8;
  if (std::memcmp(prefix.bytes.data(), ip.bytes.data(), full) != 0) return false;
  const uint32_t rest = prefix.length % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (prefix.bytes[full] & mask) == (ip.bytes[full] & mask);
}

int FilterChainMatcher::longestMatch(const Chain& chain, const Ip& ip) {
  int best = -1;
  for (const auto& p : chain.ranges) {
    if (covers(p, ip)) best = std::max(best, static_cast<int>(p.length));
  }
  return best;
}

int FilterChainMatcher::choose(const ConnectionFacts& facts) const {
  const uint32_t port = facts.destination.port();
  const Ip ip = ipOf(facts.destination);
  const auto contains = [](const std::vector<std::string>& list, std::string_view value) {
    return !value.empty() && std::find(list.begin(), list.end(), value) != list.end();
  };
  // Each step narrows the chains the previous ones kept to the most specific.
  bool exact_port = false;
  for (const auto& c : chains_) exact_port = exact_port || c.port == port;
  const auto keptByPort = [&](const Chain& c) { return exact_port ? c.port == port : !c.port; };

  int longest = -1;
  for (const auto& c : chains_) {
    if (keptByPort(c)) longest = std::max(longest, longestMatch(c, ip));
  }
  const auto keptByRange = [&](const Chain& c) {
    return keptByPort(c) && (longest >= 0 ? longestMatch(c, ip) == longest : c.ranges.empty());
  };

  bool exact_transport = false;
  for (const auto& c : chains_) exact_transport = exact_transport || (keptByRange(c) && c.transport == facts.transport);
  const auto keptByTransport = [&](const Chain& c) {
    return keptByRange(c) && (exact_transport ? c.transport == facts.transport : c.transport.empty());
  };

  bool exact_alpn = false;
  for (const auto& c : chains_) {
    exact_alpn = exact_alpn || (keptByTransport(c) && contains(c.alpn, facts.application_protocol));
  }
  for (size_t i = 0; i < chains_.size(); ++i) {
    const Chain& c = chains_[i];
    if (!keptByTransport(c)) continue;
    if (exact_alpn ? contains(c.alpn, facts.application_protocol) : c.alpn.empty()) return static_cast<int>(i);
  }
  return has_default_ ? static_cast<int>(chains_.size()) : -1;
}

}  // namespace remora::router
