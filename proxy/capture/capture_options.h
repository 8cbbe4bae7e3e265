// What `remora-proxy init` captures: the validated form of its flags.
//
// Built once by parseInitFlags() in the `init` subcommand (main thread, before
// anything runs) and read by the rule builder and the applier. Plain values,
// no I/O. Every failure message names the flag it came from, because the
// user's only way to fix it is to change that flag in the pod spec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xds/base/status.h"

namespace remora::capture {

enum class Family { kIpv4, kIpv6 };

// --ipv6: auto applies IPv6 rules where ip6tables works in this namespace;
// on makes a broken ip6tables a failure; off never touches IPv6.
enum class Ipv6Mode { kAuto, kOn, kOff };

// An address prefix, host bits cleared, in the exact spelling iptables-save
// prints ("10.0.0.0/8", "fd00::/8"), so the rules we print compare equal to
// what the kernel gives back.
struct Cidr {
  Family family = Family::kIpv4;
  std::string text;
};

struct CaptureOptions {
  // Connections made by this uid (and gid, when set) are the proxy's own and
  // are never captured: capturing them would loop the proxy into itself.
  uint32_t proxy_uid = 1337;
  std::optional<uint32_t> proxy_gid;
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  // Inbound: every TCP port ('*'), or only these (empty: no inbound capture).
  bool all_inbound_ports = true;
  std::vector<uint16_t> inbound_ports;
  std::vector<uint16_t> exclude_inbound_ports;
  // Outbound: every destination ('*'), or only these prefixes.
  bool all_outbound_cidrs = true;
  std::vector<Cidr> outbound_cidrs;
  std::vector<Cidr> exclude_outbound_cidrs;
  std::vector<uint16_t> exclude_outbound_ports;
  Ipv6Mode ipv6 = Ipv6Mode::kAuto;
  bool dry_run = false;
  bool cleanup = false;
};

// The flags as typed, before validation; the defaults are the contract's.
// Strings, so a bad value is reported by us with the flag's name rather than
// by the flag library.
struct InitFlags {
  std::string proxy_uid = "1337";
  std::string proxy_gid;
  std::string outbound_port = "15001";
  std::string inbound_port = "15006";
  std::string inbound_ports = "*";
  std::string exclude_inbound_ports;
  std::string outbound_cidrs = "*";
  std::string exclude_outbound_cidrs;
  std::string exclude_outbound_ports;
  std::string ipv6 = "auto";
  bool dry_run = false;
  bool cleanup = false;
};

// Validates every flag; the failure (kInvalidArgument) is one line that
// starts with the flag's name, e.g. "--outbound-port: '0' is not a port (1..65535)".
base::Result<CaptureOptions> parseInitFlags(const InitFlags& flags);

// One TCP port, 1..65535.
base::Result<uint16_t> parsePort(std::string_view flag, std::string_view value);
// Comma separated ports; "" is the empty list; duplicates are dropped,
// first occurrence kept.
base::Result<std::vector<uint16_t>> parsePortList(std::string_view flag, std::string_view value);
// An IPv4 or IPv6 prefix "ADDR/LEN"; a bare address is a host prefix (/32, /128).
base::Result<Cidr> parseCidr(std::string_view flag, std::string_view value);
// Comma separated prefixes; "" is the empty list; duplicates dropped.
base::Result<std::vector<Cidr>> parseCidrList(std::string_view flag, std::string_view value);

}  // namespace remora::capture
