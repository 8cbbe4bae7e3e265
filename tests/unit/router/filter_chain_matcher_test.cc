#include "proxy/router/filter_chain_matcher.h"

#include <catch2/catch.hpp>

using remora::net::Address;
using remora::router::ConnectionFacts;
using remora::router::FilterChainMatcher;
using namespace remora::xds::resources;

namespace {

FilterChain chain(std::optional<uint32_t> port, std::vector<CidrRange> ranges = {}, std::string transport = "",
                  std::vector<std::string> alpn = {}) {
  FilterChain c;
  c.match.destination_port = port;
  c.match.prefix_ranges = std::move(ranges);
  c.match.transport_protocol = std::move(transport);
  c.match.application_protocols = std::move(alpn);
  return c;
}

int choose(const Listener& l, const std::string& destination, std::string_view transport = "raw_buffer",
           std::string_view app = "") {
  const Address address = *Address::parse(destination);
  return FilterChainMatcher(l).choose(ConnectionFacts{address, transport, app});
}

}  // namespace

TEST_CASE("a chain for the exact destination port beats the chains for any port", "[router][filter_chain]") {
  Listener l;
  l.filter_chains = {chain(std::nullopt, {{"10.0.0.0", 8}}), chain(9080)};
  CHECK(choose(l, "10.0.0.1:9080") == 1);
  CHECK(choose(l, "10.0.0.1:5432") == 0);
}

TEST_CASE("the longest matching prefix wins and chains without ranges match any IP", "[router][filter_chain]") {
  Listener l;
  l.filter_chains = {chain(80, {{"10.0.0.0", 8}}), chain(80, {{"10.96.0.0", 12}, {"192.168.1.7", 32}}), chain(80)};
  CHECK(choose(l, "10.96.3.4:80") == 1);
  CHECK(choose(l, "10.1.2.3:80") == 0);
  CHECK(choose(l, "192.168.1.7:80") == 1);
  CHECK(choose(l, "192.168.1.8:80") == 2);
}

TEST_CASE("prefixes match IPv6 destinations and IPv4-mapped ones as IPv4", "[router][filter_chain]") {
  Listener l;
  l.filter_chains = {chain(std::nullopt, {{"2001:db8::", 32}}), chain(std::nullopt, {{"10.0.0.0", 8}})};
  CHECK(choose(l, "[2001:db8::1]:80") == 0);
  CHECK(choose(l, "[::ffff:10.1.1.1]:80") == 1);
  CHECK(choose(l, "[2001:db9::1]:80") == -1);
}

TEST_CASE("a prefix with a partial last byte masks the host bits", "[router][filter_chain]") {
  Listener l;
  l.filter_chains = {chain(std::nullopt, {{"10.250.0.0", 20}})};
  CHECK(choose(l, "10.250.15.255:1") == 0);
  CHECK(choose(l, "10.250.16.0:1") == -1);
}

TEST_CASE("transport and application protocols decide after port and prefix", "[router][filter_chain]") {
  Listener l;
  l.filter_chains = {chain(std::nullopt, {}, "", {"http/1.1", "h2c"}), chain(std::nullopt, {}, "tls"),
                     chain(std::nullopt)};
  CHECK(choose(l, "10.0.0.1:80", "raw_buffer", "h2c") == 0);
  CHECK(choose(l, "10.0.0.1:80", "tls") == 1);
  CHECK(choose(l, "10.0.0.1:80", "raw_buffer", "") == 2);
}

TEST_CASE("a step that keeps no chain falls to the default chain, never to a less specific one",
          "[router][filter_chain]") {
  Listener l;
  l.filter_chains = {chain(443, {}, "tls"), chain(std::nullopt)};
  CHECK(choose(l, "10.0.0.1:443", "raw_buffer") == -1);
  l.default_filter_chain = chain(std::nullopt);
  CHECK(choose(l, "10.0.0.1:443", "raw_buffer") == 2);
  CHECK(choose(l, "10.0.0.1:443", "tls") == 0);
  CHECK(choose(l, "10.0.0.1:80", "raw_buffer") == 1);
}
