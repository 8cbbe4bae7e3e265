#include "proxy/capture/capture_options.h"

#include <catch2/catch.hpp>

using remora::capture::Family;
using remora::capture::InitFlags;
using remora::capture::Ipv6Mode;
using remora::capture::parseCidr;
using remora::capture::parseInitFlags;
using remora::capture::parsePortList;

namespace {

// The failure message of parsing `flags`, "" when it parsed.
std::string failureOf(const InitFlags& flags) {
  auto parsed = parseInitFlags(flags);
  return parsed ? "" : parsed.error().message;
}

}  // namespace

TEST_CASE("the default flags give the contract's defaults", "[capture]") {
  auto o = parseInitFlags(InitFlags{});
  REQUIRE(o);
  CHECK(o->proxy_uid == 1337);
  CHECK_FALSE(o->proxy_gid.has_value());
  CHECK(o->outbound_port == 15001);
  CHECK(o->inbound_port == 15006);
  CHECK(o->all_inbound_ports);
  CHECK(o->all_outbound_cidrs);
  CHECK(o->exclude_inbound_ports.empty());
  CHECK(o->exclude_outbound_cidrs.empty());
  CHECK(o->exclude_outbound_ports.empty());
  CHECK(o->ipv6 == Ipv6Mode::kAuto);
  CHECK_FALSE(o->dry_run);
  CHECK_FALSE(o->cleanup);
}

TEST_CASE("port lists are comma separated, trimmed and without repeats", "[capture]") {
  auto ports = parsePortList("--exclude-inbound-ports", " 15000, 15090 ,15000");
  REQUIRE(ports);
  CHECK(*ports == std::vector<uint16_t>{15000, 15090});
  auto none = parsePortList("--exclude-inbound-ports", "");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("a port outside 1..65535 or not a number is rejected naming the flag", "[capture]") {
  for (const char* bad : {"0", "65536", "-1", "abc", "80x", "+80", ""}) {
    InitFlags flags;
    flags.outbound_port = bad;
    INFO(bad);
    CHECK(failureOf(flags).rfind("--outbound-port: '", 0) == 0);
  }
  InitFlags flags;
  flags.exclude_outbound_ports = "22,,80";
  CHECK(failureOf(flags).rfind("--exclude-outbound-ports: '22,,80' has an empty item", 0) == 0);
  flags = InitFlags{};
  flags.inbound_ports = "8080,99999";
  CHECK(failureOf(flags) == "--inbound-ports: '99999' is not a port (1..65535)");
}

TEST_CASE("the inbound and outbound ports must differ", "[capture]") {
  InitFlags flags;
  flags.inbound_port = "15001";
  CHECK(failureOf(flags).rfind("--inbound-port: ", 0) == 0);
}

TEST_CASE("uids and gids are unsigned 32-bit ids other than -1", "[capture]") {
  InitFlags flags;
  flags.proxy_uid = "root";
  CHECK(failureOf(flags).rfind("--proxy-uid: 'root' is not a uid", 0) == 0);
  flags = InitFlags{};
  flags.proxy_gid = "4294967295";
  CHECK(failureOf(flags).rfind("--proxy-gid: ", 0) == 0);
  flags.proxy_gid = "1337";
  auto o = parseInitFlags(flags);
  REQUIRE(o);
  CHECK(o->proxy_gid == 1337u);
}

TEST_CASE("CIDRs are canonicalised to what iptables-save prints", "[capture]") {
  auto v4 = parseCidr("--outbound-cidrs", "10.1.2.3/8");
  REQUIRE(v4);
  CHECK(v4->family == Family::kIpv4);
  CHECK(v4->text == "10.0.0.0/8");
  auto host = parseCidr("--outbound-cidrs", "192.168.1.7");
  REQUIRE(host);
  CHECK(host->text == "192.168.1.7/32");
  auto v6 = parseCidr("--outbound-cidrs", "FD00:0::1/8");
  REQUIRE(v6);
  CHECK(v6->family == Family::kIpv6);
  CHECK(v6->text == "fd00::/8");
  auto odd = parseCidr("--outbound-cidrs", "10.255.255.255/9");
  REQUIRE(odd);
  CHECK(odd->text == "10.128.0.0/9");
  auto zero = parseCidr("--outbound-cidrs", "0.0.0.0/0");
  REQUIRE(zero);
  CHECK(zero->text == "0.0.0.0/0");
}

TEST_CASE("a malformed CIDR is rejected naming the flag", "[capture]") {
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x", "example.com/8"}) {
    InitFlags flags;
    flags.exclude_outbound_cidrs = bad;
    INFO(bad);
    CHECK(failureOf(flags).rfind("--exclude-outbound-cidrs: '", 0) == 0);
  }
}

TEST_CASE("star means every inbound port and every outbound destination", "[capture]") {
  InitFlags flags;
  flags.inbound_ports = "9080, 9090";
  flags.outbound_cidrs = "10.0.0.0/8,fd00::/8";
  auto o = parseInitFlags(flags);
  REQUIRE(o);
  CHECK_FALSE(o->all_inbound_ports);
  CHECK(o->inbound_ports == std::vector<uint16_t>{9080, 9090});
  CHECK_FALSE(o->all_outbound_cidrs);
  REQUIRE(o->outbound_cidrs.size() == 2);
  CHECK(o->outbound_cidrs[1].family == Family::kIpv6);
  flags.inbound_ports = "";
  o = parseInitFlags(flags);
  REQUIRE(o);
  CHECK_FALSE(o->all_inbound_ports);
  CHECK(o->inbound_ports.empty());
}

TEST_CASE("the ipv6 flag accepts auto or on or off only", "[capture]") {
  InitFlags flags;
  flags.ipv6 = "on";
  REQUIRE(parseInitFlags(flags));
  CHECK(parseInitFlags(flags)->ipv6 == Ipv6Mode::kOn);
  flags.ipv6 = "off";
  CHECK(parseInitFlags(flags)->ipv6 == Ipv6Mode::kOff);
  flags.ipv6 = "yes";
  CHECK(failureOf(flags) == "--ipv6: 'yes' is not one of auto, on, off");
}
