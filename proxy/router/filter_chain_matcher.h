// FilterChainMatcher: picks the filter chain of a listener for a new
// connection, in Envoy's order: destination_port (a chain for the exact port
// beats the chains for any port), then prefix_ranges on the destination IP
// (the longest matching prefix wins; chains without ranges match any IP),
// then transport_protocol, then application_protocols. Each step keeps only
// the most specific chains that match and never falls back to a less
// specific step (as Envoy); with nothing left, the default chain serves.
// The destination is the connection's local address: its original
// destination once the listener's original_dst filter restored it.
//
// Built once per listener config generation by the worker's ActiveListener;
// immutable afterwards; choose() never allocates.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/net/address.h"
#include "xds/resources/model.h"

namespace remora::router {

struct ConnectionFacts {
  const net::Address& destination;
  std::string_view transport;             // "tls" or "raw_buffer"
  std::string_view application_protocol;  // "http/1.1", "h2c", or "" when unknown
};

class FilterChainMatcher {
 public:
  explicit FilterChainMatcher(const xds::resources::Listener& listener);
  // An index into the listener's filter_chains, filter_chains.size() for the
  // default chain, or -1 when nothing serves the connection.
  int choose(const ConnectionFacts& facts) const;

 private:
  struct Prefix {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};
    uint32_t length = 0;
  };
  struct Chain {
    std::optional<uint32_t> port;
    std::vector<Prefix> ranges;
    std::string transport;
    std::vector<std::string> alpn;
  };
  // The destination's IP as bytes (IPv4-mapped IPv6 counts as IPv4).
  struct Ip {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};
  };
  static Ip ipOf(const net::Address& address);
  static bool covers(const Prefix& prefix, const Ip& ip);
  // The longest prefix of `chain` covering `ip`, or -1.
  static int longestMatch(const Chain& chain, const Ip& ip);

  std::vector<Chain> chains_;
  bool has_default_ = false;
};

}  // namespace remora::router
