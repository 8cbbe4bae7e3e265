#include "proxy/capture/rule_builder.h"

#include <algorithm>

namespace remora::capture {

namespace {

std::string chain(std::string_view name) { return std::string(name); }

std::string dport(uint16_t port) { return "-p tcp -m tcp --dport " + std::to_string(port); }

// Ports that must never be redirected inbound: our own listeners first (a
// connection to :15006 redirected to :15006 would be harmless, but one to
// :15001 from outside would reach the outbound listener as if the app had
// dialled it), then the user's list, without repeats.
std::vector<uint16_t> inboundExclusions(const CaptureOptions& o) {
  std::vector<uint16_t> ports = {o.inbound_port, o.outbound_port};
  for (uint16_t p : o.exclude_inbound_ports) {
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  return ports;
}

void addInbound(const CaptureOptions& o, RuleSet& set) {
  const std::string in = "-A " + chain(kInboundChain) + " ";
  for (uint16_t port : inboundExclusions(o)) set.rules.push_back(in + dport(port) + " -j RETURN");
  if (o.all_inbound_ports) {
    set.rules.push_back(in + "-p tcp -j " + chain(kInboundRedirectChain));
  } else {
    for (uint16_t port : o.inbound_ports) {
      set.rules.push_back(in + dport(port) + " -j " + chain(kInboundRedirectChain));
    }
  }
  set.rules.push_back("-A " + chain(kInboundRedirectChain) + " -p tcp -j REDIRECT --to-ports " +
                      std::to_string(o.inbound_port));
}

void addOutbound(const CaptureOptions& o, Family family, RuleSet& set) {
  const std::string out = "-A " + chain(kOutboundChain) + " ";
  // The proxy's own upstream connections: redirecting them would send the
  // proxy back into its outbound listener forever.
  set.rules.push_back(out + "-m owner --uid-owner " + std::to_string(o.proxy_uid) + " -j RETURN");
  if (o.proxy_gid) {
    set.rules.push_back(out + "-m owner --gid-owner " + std::to_string(*o.proxy_gid) + " -j RETURN");
  }
  // The app talking to something on its own loopback (a local cache, the
  // proxy's admin port) is not mesh traffic.
  std::string loopback = family == Family::kIpv4 ? "127.0.0.1/32" : "::1/128";
  set.rules.push_back(out + "-d " + loopback + " -o lo -j RETURN");
  for (const Cidr& cidr : o.exclude_outbound_cidrs) {
    if (cidr.family == family) set.rules.push_back(out + "-d " + cidr.text + " -j RETURN");
  }
  for (uint16_t port : o.exclude_outbound_ports) set.rules.push_back(out + dport(port) + " -j RETURN");
  if (o.all_outbound_cidrs) {
    set.rules.push_back(out + "-j " + chain(kOutboundRedirectChain));
  } else {
    // A family with no listed prefix gets no redirect rule at all: nothing of
    // it is captured.
    for (const Cidr& cidr : o.outbound_cidrs) {
      if (cidr.family == family) set.rules.push_back(out + "-d " + cidr.text + " -j " + chain(kOutboundRedirectChain));
    }
  }
  set.rules.push_back("-A " + chain(kOutboundRedirectChain) + " -p tcp -j REDIRECT --to-ports " +
                      std::to_string(o.outbound_port));
}

}  // namespace

const std::vector<std::string_view>& ownChains() {
  static const std::vector<std::string_view> kChains = {kInboundChain, kInboundRedirectChain, kOutboundChain,
                                                        kOutboundRedirectChain};
  return kChains;
}

RuleSet buildRuleSet(const CaptureOptions& options, Family family) {
  RuleSet set;
  set.jumps.push_back("-A PREROUTING -p tcp -j " + chain(kInboundChain));
  set.jumps.push_back("-A OUTPUT -p tcp -j " + chain(kOutboundChain));
  addInbound(options, set);
  addOutbound(options, family, set);
  return set;
}

std::string renderRestoreInput(const RuleSet& rules, const std::vector<std::string>& present_jumps) {
  std::string text = "*nat\n";
  for (std::string_view name : ownChains()) text += ":" + std::string(name) + " - [0:0]\n";
  for (const std::string& jump : rules.jumps) {
    if (std::find(present_jumps.begin(), present_jumps.end(), jump) == present_jumps.end()) text += jump + "\n";
  }
  for (const std::string& rule : rules.rules) text += rule + "\n";
  text += "COMMIT\n";
  return text;
}

std::string buildRules(const CaptureOptions& options, Family family) {
  return renderRestoreInput(buildRuleSet(options, family));
}

std::string_view familyName(Family family) { return family == Family::kIpv4 ? "IPv4" : "IPv6"; }

}  // namespace remora::capture
